#!/usr/bin/env bash
# The GPU run, one step per command, each well under 10 minutes (a step stops itself at about
# 8 minutes: `timeout` on every command and --budget-s on the benchmark):
#
#   bash benchmarks/run_gpu.sh env          OUTDIR   # versions, device (seconds)
#   bash benchmarks/run_gpu.sh tests        OUTDIR   # gpu-marked tests incl. slow ones
#   bash benchmarks/run_gpu.sh bench-small  OUTDIR   # n = 2^14, 2^16, 2^17, 2^18; d = 8, 16
#   bash benchmarks/run_gpu.sh bench-20-8   OUTDIR   # n = 2^20, d = 8
#   bash benchmarks/run_gpu.sh bench-20-16  OUTDIR   # n = 2^20, d = 16
#   bash benchmarks/run_gpu.sh report       OUTDIR   # OUTDIR/gpu_bench.md (+ .png if matplotlib)
#   bash benchmarks/run_gpu.sh bench OUTDIR ARGS...  # gpu_bench.py with other arguments
#
# Run from the repository root. Every bench step appends to OUTDIR/gpu_bench.json, so OUTDIR must
# hold the JSON of the earlier steps (bring it along if the machine was restarted in between).
#
# Needs on the GPU machine: Python >= 3.10 with numpy, sympy, mpmath, CuPy, PyTorch, pytest.
# attngrad is used from the checkout (PYTHONPATH), nothing is installed. The tests import
# hypothesis (tests/helpers.py); where it is missing and there is no network, bring pure-Python
# copies prepared elsewhere:
#
#   pip install --no-deps --target build/pydeps hypothesis attrs sortedcontainers exceptiongroup
#
# build/pydeps (git-ignored) is put on PYTHONPATH when hypothesis is not installed. matplotlib
# is optional: without it no PNG is drawn on the GPU machine;
# `python benchmarks/gpu_bench.py --report --out OUTDIR` anywhere with matplotlib redraws it.
set -u
STEP=${1:?usage: run_gpu.sh STEP OUTDIR [ARGS...]}
OUTDIR=${2:?usage: run_gpu.sh STEP OUTDIR [ARGS...]}
shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
mkdir -p "$OUTDIR"
PY=${PYTHON:-python3}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
if [ -d "$ROOT/build/pydeps" ] && ! "$PY" -c "import hypothesis" 2>/dev/null; then
    export PYTHONPATH="$PYTHONPATH:$ROOT/build/pydeps"
fi
LIMIT=${STEP_LIMIT_S:-480}        # hard limit per command (seconds)
BUDGET=${BENCH_BUDGET_S:-400}     # the benchmark starts no new measurement after this
BENCH=(timeout -k 20 "$LIMIT" "$PY" benchmarks/gpu_bench.py --out "$OUTDIR" --budget-s "$BUDGET")

case "$STEP" in
env)
    {
        date -u +"%Y-%m-%dT%H:%M:%SZ"
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || true
        "$PY" - <<'EOF'
import importlib, platform
print("python", platform.python_version())
for m in ("numpy", "cupy", "torch", "pytest", "sympy", "mpmath", "hypothesis", "matplotlib", "rich"):
    try:
        print(m, getattr(importlib.import_module(m), "__version__", "?"))
    except Exception as e:  # noqa: BLE001
        print(m, "MISSING", type(e).__name__, e)
try:
    import cupy
    from attngrad.machine import gpu_name
    print("device", gpu_name(cupy), "count", cupy.cuda.runtime.getDeviceCount())
except Exception as e:  # noqa: BLE001
    print("cupy device: unavailable", type(e).__name__, e)
EOF
    } 2>&1 | tee "$OUTDIR/env.txt"
    ;;
tests)
    # --continue-on-collection-errors: a module that cannot be imported here (a missing
    # optional package) is reported, the others still run; -o addopts: one process (one
    # device, and no pytest-xdist needed)
    timeout -k 20 "$LIMIT" "$PY" -m pytest -o addopts= -m gpu --runslow -rs tests proofs_check -q \
        --continue-on-collection-errors --junitxml "$OUTDIR/tests.xml" "$@" 2>&1 \
        | tee "$OUTDIR/tests.txt"
    exit "${PIPESTATUS[0]}"
    ;;
bench-small)
    "${BENCH[@]}" --sizes 14 16 17 18 --dims 8 16 "$@" 2>&1 | tee -a "$OUTDIR/bench.log"
    exit "${PIPESTATUS[0]}"
    ;;
bench-20-8)
    "${BENCH[@]}" --sizes 20 --dims 8 "$@" 2>&1 | tee -a "$OUTDIR/bench.log"
    exit "${PIPESTATUS[0]}"
    ;;
bench-20-16)
    "${BENCH[@]}" --sizes 20 --dims 16 "$@" 2>&1 | tee -a "$OUTDIR/bench.log"
    exit "${PIPESTATUS[0]}"
    ;;
bench)
    "${BENCH[@]}" "$@" 2>&1 | tee -a "$OUTDIR/bench.log"
    exit "${PIPESTATUS[0]}"
    ;;
report)
    "$PY" benchmarks/gpu_bench.py --out "$OUTDIR" --report "$@"
    ;;
*)
    echo "unknown step: $STEP (env, tests, bench-small, bench-20-8, bench-20-16, bench, report)" >&2
    exit 2
    ;;
esac
