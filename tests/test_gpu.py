"""CuPy: the same algorithms on the GPU, results on the device.

Tests marked ``gpu`` are skipped (by the conftest hook, with the reason) unless CuPy imports and
sees a CUDA device. Tolerances are twice the rounding-error bounds of tests/helpers.error_bounds
with every sum charged gamma_K (K = 4 (n + d)): cuBLAS and CuPy's reductions sum in their own
order, and the blocked path regroups sums. The last test dry-runs benchmarks/gpu_bench.py with
numpy on the CPU, so the benchmark's logic is checked without a GPU.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import mpmath
import numpy as np
import pytest

import attngrad
from attngrad import blocked

from .helpers import (ETA32, ETA64, NAMES, U32, U64, args, assert_within, error_bounds, instance)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cp():
    import cupy

    return cupy


def _K(n, d):
    return 4 * (n + d)


def _on_device(cp, inst, dtype):
    return [cp.asarray(inst[k], dtype=dtype) for k in NAMES]


def _all(a, **kw):
    return {"grad_X": attngrad.gradient(*a, **kw),
            "grad_Y": attngrad.gradient(*a, wrt="Y", **kw),
            "loss": attngrad.loss(*a, **kw),
            "attention": attngrad.attention(a[0], a[1], a[2], **kw)}


@pytest.mark.gpu
@pytest.mark.parametrize("dtype,u,eta", [(np.float64, U64, ETA64), (np.float32, U32, ETA32)])
@pytest.mark.parametrize("block", [None, 3, (3, 4)], ids=str)
def test_cupy_matches_mpmath_at_small_n(cp, dtype, u, eta, block):
    n, d = 11, 3
    inst = {k: v.astype(dtype).astype(np.float64) for k, v in instance(n, d, seed=21).items()}
    got = _all(_on_device(cp, inst, dtype), block=block)
    with mpmath.workdps(50):
        ref = _all(args(inst, attngrad.to_mpmath))
    b = error_bounds(inst, u=u, eta=eta, K=_K(n, d))
    for name in ("grad_X", "grad_Y", "loss"):
        assert_within(f"cupy {np.dtype(dtype)} {name}", attngrad.to_float64(got[name]),
                      attngrad.to_float64(ref[name]), 2 * b[name])
    # attention = f(A1 I A2^T) A3 is c + E for X = I, Y = I, E = 0
    eye = dict(inst, X=np.eye(d), Y=np.eye(d), E=np.zeros((n, d)))
    assert_within(f"cupy {np.dtype(dtype)} attention", attngrad.to_float64(got["attention"]),
                  attngrad.to_float64(ref["attention"]),
                  2 * error_bounds(eye, u=u, eta=eta, K=_K(n, d))["c"])


@pytest.mark.gpu
def test_cupy_matches_numpy_at_mid_n(cp):
    n, d = 1000, 8
    inst = instance(n, d, seed=22)
    got = _all(_on_device(cp, inst, np.float64))
    ref = _all(args(inst))
    b = error_bounds(inst, K=_K(n, d))
    for name in ("grad_X", "grad_Y", "loss"):
        assert_within(f"cupy vs numpy {name}", attngrad.to_float64(got[name]), ref[name],
                      4 * b[name])


@pytest.mark.gpu
@pytest.mark.parametrize("block", [1, 7, 300, 305, (7, 64), (64, 7)], ids=str)
def test_cupy_blocked_matches_unblocked(cp, block):
    n, d = 300, 4
    inst = instance(n, d, seed=23)
    a = _on_device(cp, inst, np.float64)
    got, ref = _all(a, block=block), _all(a, block=n)
    b = error_bounds(inst, K=_K(n, d))
    for name in ("grad_X", "grad_Y", "loss"):
        assert_within(f"cupy blocked {name}", attngrad.to_float64(got[name]),
                      attngrad.to_float64(ref[name]), 4 * b[name])


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("block", [None, 5, (5, 6)], ids=str)
def test_cupy_results_stay_on_the_device_with_their_dtype(cp, dtype, block):
    a = _on_device(cp, instance(17, 3, seed=24), dtype)
    for name, v in _all(a, block=block).items():
        assert isinstance(v, cp.ndarray), (name, type(v))
        assert v.dtype == dtype, (name, v.dtype)


@pytest.mark.gpu
def test_cupy_fast_within_eps_of_exact(cp):
    if importlib.util.find_spec("attngrad.fast") is None:
        pytest.skip("attngrad.fast (Section D) is not available")
    n, d, eps = 512, 4, 1e-6
    inst = instance(n, d, seed=25, bound=0.5)
    a = _on_device(cp, inst, np.float64)
    G = attngrad.gradient(*a, method="fast", eps=eps)
    assert isinstance(G, cp.ndarray) and G.dtype == np.float64
    with mpmath.workdps(30):
        exact = attngrad.gradient(*args(inst, attngrad.to_mpmath))
        b = error_bounds(inst, u=2.0 ** -mpmath.mp.prec, eta=0.0)["grad_X"]
    assert_within("fast vs exact", attngrad.to_float64(G), attngrad.to_float64(exact), eps + 2 * b)


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cupy_n_2_20_runs_in_o_nd_memory(cp, dtype):
    """n = 2^20, d = 8: the exact gradient by row blocks, finite, on the device, and the memory
    pool holds a few tiles (auto block: 2^26 entries), far below one n x n matrix (8 TiB)."""
    n, d = 2 ** 20, 8
    rng = np.random.default_rng(26)
    a = [cp.asarray(rng.uniform(-1, 1, s), dtype=dtype)
         for s in [(n, d)] * 4 + [(d, d)] * 2]
    pool = cp.get_default_memory_pool()
    pool.free_all_blocks()
    G = attngrad.gradient(*a)
    assert isinstance(G, cp.ndarray) and G.dtype == dtype and G.shape == (d, d)
    assert bool(cp.all(cp.isfinite(G)))
    item = np.dtype(dtype).itemsize
    assert pool.total_bytes() <= 8 * blocked.AUTO_TILE_ELEMENTS["cupy"] * item + 32 * n * d * item


# --- the benchmark script, dry-run on the CPU -----------------------------------------------

def test_gpu_bench_cpu_smoke(tmp_path, capsys):
    import math

    spec = importlib.util.spec_from_file_location("gpu_bench", ROOT / "benchmarks" / "gpu_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    sizes, exact_max = (16, 23, 40), 32  # n = 40: eps from the certified pilot, no exact run
    assert bench.main(["--cpu-smoke", "--out", str(tmp_path), "--exact-max-n", str(exact_max),
                       "--smoke-sizes", *map(str, sizes)]) == 0
    doc = json.loads((tmp_path / bench.JSON_NAME).read_text())
    assert doc["meta"]["backend"] == "numpy" and doc["meta"]["cpu_smoke"] is True
    recs = {(r["impl"], r["dtype"], r["n"], r["d"]): r for r in doc["records"]}
    for n in sizes:
        for d in (4, 8):
            ref = recs[("attngrad", "float64", n, d)]
            assert ref["status"] == "ok" and ref["seconds"] > 0 and ref["peak_bytes"] > 0
            f32 = recs[("attngrad", "float32", n, d)]
            assert f32["status"] == "ok"
            # the float32 error against the float64 reference: within the float32 bound
            inst = bench.make_instance(n, d, seed=n + d)
            G64 = attngrad.gradient(*args(inst))
            bound = 2 * float(np.max(error_bounds(inst, u=U32, eta=ETA32, K=_K(n, d))["grad_X"]))
            assert 0 < f32["max_abs_err"] <= bound + 2 * float(np.max(
                error_bounds(inst, K=_K(n, d))["grad_X"]))
            assert f32["rel_err"] == pytest.approx(f32["max_abs_err"] / np.max(np.abs(G64)),
                                                   rel=1e-6)
            # the fast gradient (float64): certified within eps, eps <= 1e-6 max |dL/dX|
            fast = recs[("attngrad-fast", "float64", n, d)]
            assert fast["status"] == "ok" and fast["family"] != "unit", fast["status"]
            assert fast["seconds"] > 0 and fast["first_seconds"] > 0 and fast["core_seconds"] > 0
            assert fast["bound"] <= fast["eps"] and fast["rel_bound"] <= fast["rel_target"] == 1e-6
            assert fast["rank"] == math.comb(fast["degree"] + d, d)
            finst = bench.make_fast_instance(n, d, seed=n + d + 1)
            G_ref = attngrad.gradient(*args(finst))
            assert fast["eps"] <= 1e-6 * float(np.max(np.abs(G_ref))) * (1 + 1e-12)
            if n <= exact_max:  # eps and the error from the exact float64 run of the instance
                assert fast["eps_source"].startswith("exact")
                assert fast["ref_max_abs"] == pytest.approx(float(np.max(np.abs(G_ref))), rel=1e-12)
                assert fast["rel_err"] <= fast["bound"] / fast["ref_max_abs"]
                assert fast["exact_seconds"] > 0
            else:  # a proven lower bound on max |dL/dX| in place of the exact gradient
                assert fast["eps_source"].startswith("a-priori") and fast["rel_err"] is None
                assert 0 < fast["lower_max_abs"] <= float(np.max(np.abs(G_ref)))
            f32 = recs[("attngrad-fast", "float32", n, d)]
            assert f32["status"] == "ok" or f32["status"].startswith("refused: "), f32["status"]
            if f32["status"] == "ok":
                assert f32["bound"] <= f32["eps"]
    # the report: heading with device and date, the two target lines, one row per record
    out = capsys.readouterr().out
    n = max(sizes)
    text = bench.report(doc, fast_n=n, exact_n=n)
    assert text in out
    head = text.splitlines()[0]
    assert head.startswith("### ") and doc["meta"]["device"] in head
    assert doc["meta"]["date"][:10] in head
    fast = recs[("attngrad-fast", "float64", n, 8)]
    met = fast["seconds"] <= 0.02 and fast["rel_bound"] <= 1e-6
    assert (f"- Target: fast gradient d=8 float64 <= 1e-06 rel error under 20 ms at n={n}: "
            f"{'met' if met else 'not met'} ({fast['seconds'] * 1e3:.3g} ms warm") in text
    torch_rows = [r for r in doc["records"] if r["impl"] == "torch-sdpa" and r["n"] == n]
    line = [x for x in text.splitlines() if "exact blocked float32 within 2x" in x]
    assert len(line) == 1 and line[0].startswith("- Target: ")
    if not torch_rows:
        assert line[0].endswith(f"at n={n}: not measured")
    assert sum(x.startswith("| ") for x in text.splitlines()) == len(doc["records"]) + 1
    default = bench.report(doc)  # n = 2^20 and 2^17 were not run
    assert "at n=2^20: not measured" in default and "at n=2^17: not measured" in default
    # the exact target from records: met iff attngrad float32 <= 2 x torch float32 at n
    for t_attn, t_torch in ((0.3, 0.2), (0.5, 0.2)):
        fake = {"meta": {}, "records": [
            {"impl": i, "dtype": "float32", "n": 2 ** 17, "d": 8, "status": "ok", "seconds": t}
            for i, t in (("attngrad", t_attn), ("torch-sdpa", t_torch))]}
        verdict = "met" if t_attn <= 2 * t_torch else "not met"
        assert (f"at n=2^17: {verdict} (d=8: {t_attn / t_torch:.2f}x"
                in bench.report(fake)), bench.report(fake)
    # the fast target from records: met iff certified rel bound and error <= 1e-6 and <= 20 ms
    for sec, rel_bound, rel_err in ((0.01, 5e-7, 1e-9), (0.03, 5e-7, 1e-9), (0.01, 2e-6, 1e-9),
                                    (0.01, 5e-7, None)):
        fake = {"meta": {}, "records": [dict(
            impl="attngrad-fast", dtype="float64", n=2 ** 20, d=8, status="ok", seconds=sec,
            repeats=3, first_seconds=1.0, core_seconds=sec / 2, rel_bound=rel_bound,
            rel_bound_of="m", rel_err=rel_err, degree=4, rank=495)]}
        verdict = "met" if sec <= 0.02 and rel_bound <= 1e-6 else "not met"
        assert f"at n=2^20: {verdict} ({sec * 1e3:.3g} ms warm" in bench.report(fake)
    # a second run appends (same keys replaced, not duplicated)
    assert bench.main(["--cpu-smoke", "--out", str(tmp_path), "--smoke-sizes", "16"]) == 0
    doc2 = json.loads((tmp_path / bench.JSON_NAME).read_text())
    assert len(doc2["records"]) == len(doc["records"])
    # --report reads the JSON, writes the markdown and redraws the figure
    png = tmp_path / bench.PNG_NAME
    png.unlink(missing_ok=True)
    capsys.readouterr()
    assert bench.main(["--report", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == (tmp_path / bench.MD_NAME).read_text()
    if importlib.util.find_spec("matplotlib") is not None:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_gpu_bench_cpu_mode_runs_the_given_sizes(tmp_path):
    """--cpu: the same measurements with numpy at --sizes (for a CPU figure), labelled CPU."""
    spec = importlib.util.spec_from_file_location("gpu_bench", ROOT / "benchmarks" / "gpu_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--cpu", "--out", str(tmp_path), "--sizes", "5", "6", "--dims", "2",
                       "--repeats", "1"]) == 0
    doc = json.loads((tmp_path / bench.JSON_NAME).read_text())
    assert doc["meta"]["cpu"] is True and doc["meta"]["backend"] == "numpy"
    assert {r["n"] for r in doc["records"]} == {32, 64}
    assert all(r["status"] == "ok" for r in doc["records"] if r["dtype"] == "float64")
    assert bench.report(doc).startswith("### CPU: ")
