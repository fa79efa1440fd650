#!/usr/bin/env python3
"""GPU benchmark: attngrad's exact gradient by row blocks (CuPy) against PyTorch.

For L(X) = 0.5 || softmax(s A1 X A2^T) A3 Y - E ||_F^2 (Definition 1.2, s = 1/d) it times

* ``attngrad`` exact dL/dX (Lemma C.8 by row blocks, attngrad/blocked.py) on CuPy arrays in
  float32 and float64 (the float64 run is the reference for the errors);
* ``torch-sdpa``: torch.nn.functional.scaled_dot_product_attention on Q = A1 X, K = A2,
  V = A3 Y, the same loss, and autograd for dL/dX, in float32 and bfloat16, restricted to
  the flash / memory-efficient kernels (the math kernel would form n x n matrices);

at n in {2^14, 2^16, 2^17, 2^18, 2^20} and d in {8, 16}, and writes ``gpu_bench.json`` (one
record per implementation, dtype, n, d: seconds, relative max error against the float64
reference, peak device memory) and ``gpu_bench.png`` (log-log time and error against n).

Inputs are multiples of 2^-7 in [-1, 1], so float64, float32 and bfloat16 all hold them
exactly and the errors are those of the arithmetic. GPU timings use CUDA events (CuPy) and
torch.cuda.synchronize around perf_counter (PyTorch); kernels are warmed up at n = 1024 first.

Runs append to an existing JSON in ``--out`` (same implementation / dtype / n / d replaced), so a
10-minute command limit can be met by splitting, e.g.::

    python benchmarks/gpu_bench.py --out results --sizes 14 16 17 18
    python benchmarks/gpu_bench.py --out results --sizes 20 --dims 8
    python benchmarks/gpu_bench.py --out results --sizes 20 --dims 16

``--cpu-smoke`` runs the same logic with numpy on the CPU at tiny n (PyTorch on the CPU if it is
installed), so the script can be checked without a GPU.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

try:
    import attngrad
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import attngrad
from attngrad.machine import cpu_model, gpu_name

NAMES = ("A1", "A2", "A3", "E", "X", "Y")
JSON_NAME, PNG_NAME = "gpu_bench.json", "gpu_bench.png"


def make_instance(n, d, seed):
    """The six inputs as float64 numpy arrays of multiples of 2^-7 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    shape = {"X": (d, d), "Y": (d, d)}
    return {k: rng.integers(-128, 129, shape.get(k, (n, d))).astype(np.float64) / 128
            for k in NAMES}


# --- devices: where attngrad runs and how it is timed --------------------------------------

class CupyDevice:
    name = "cupy"

    def __init__(self):
        import cupy

        self.cp = cupy
        self.description = gpu_name(cupy)

    def put(self, a, dtype):
        return self.cp.asarray(a, dtype=dtype)

    def get(self, a):
        return self.cp.asnumpy(a).astype(np.float64)

    def timed(self, fn):
        """(result, seconds by CUDA events, bytes held by CuPy's memory pool afterwards)."""
        pool = self.cp.get_default_memory_pool()
        pool.free_all_blocks()
        start, end = self.cp.cuda.Event(), self.cp.cuda.Event()
        start.record()
        out = fn()
        end.record()
        end.synchronize()
        return out, self.cp.cuda.get_elapsed_time(start, end) / 1e3, int(pool.total_bytes())


class NumpyDevice:
    name = "numpy"
    description = cpu_model()

    def put(self, a, dtype):
        return np.asarray(a, dtype=dtype)

    def get(self, a):
        return np.asarray(a, dtype=np.float64)

    def timed(self, fn):
        """(result, seconds by perf_counter, tracemalloc peak bytes)."""
        tracemalloc.start()
        try:
            t0 = time.perf_counter()
            out = fn()
            seconds = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return out, seconds, int(peak)


# --- the implementations -------------------------------------------------------------------

def attngrad_runner(dev, inst, dtype, block):
    a = [dev.put(inst[k], dtype) for k in NAMES]
    return lambda: attngrad.gradient(*a, block=block)


def torch_runner(torch, device, inst, dtype, d):
    """dL/dX by scaled_dot_product_attention and autograd, in ``dtype`` throughout."""
    t = {k: torch.tensor(inst[k], device=device, dtype=dtype) for k in NAMES}
    X = t["X"].clone().requires_grad_(True)
    sdpa = torch.nn.functional.scaled_dot_product_attention
    kernels = _sdpa_kernels(torch) if device == "cuda" else None

    def run():
        X.grad = None
        Q = t["A1"] @ X
        V = t["A3"] @ t["Y"]
        if kernels is None:
            O = sdpa(Q[None, None], t["A2"][None, None], V[None, None], scale=1.0 / d)
        else:
            with kernels():
                O = sdpa(Q[None, None], t["A2"][None, None], V[None, None], scale=1.0 / d)
        L = 0.5 * ((O[0, 0] - t["E"]) ** 2).sum()
        L.backward()
        return X.grad

    return run


def _sdpa_kernels(torch):
    """A context manager allowing only the flash and memory-efficient SDPA kernels."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        return lambda: sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION])
    except ImportError:  # torch < 2.3
        return lambda: torch.backends.cuda.sdp_kernel(enable_flash=True, enable_mem_efficient=True,
                                                      enable_math=False)


def torch_timed(torch, device, fn):
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        return out, time.perf_counter() - t0, int(torch.cuda.max_memory_allocated())
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0, None


# --- the run ----------------------------------------------------------------------------------

def _rel_err(G, ref):
    scale = float(np.max(np.abs(ref)))
    err = float(np.max(np.abs(G - ref)))
    return err / scale if scale > 0 else err, err


def _best(timed, fn, repeats):
    """Best of ``repeats`` timed runs: (result, seconds, peak bytes of that run)."""
    best = None
    for _ in range(repeats):
        out, sec, peak = timed(fn)
        if best is None or sec < best[1]:
            best = (out, sec, peak)
    return best


def run(args):
    dev = NumpyDevice() if args.cpu_smoke else CupyDevice()
    torch, tdev = None, None
    try:
        import torch  # noqa: F811
        tdev = "cpu" if args.cpu_smoke else "cuda"
    except ImportError:
        torch = None
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / JSON_NAME
    doc = json.loads(path.read_text()) if path.exists() else {"records": []}
    doc["meta"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": dev.description, "backend": dev.name, "numpy": np.__version__,
        "attngrad": attngrad.__version__, "python": platform.python_version(),
        "cupy": getattr(getattr(dev, "cp", None), "__version__", None),
        "torch": getattr(torch, "__version__", None), "cpu_smoke": bool(args.cpu_smoke)}
    records = {(r["impl"], r["dtype"], r["n"], r["d"]): r for r in doc["records"]}

    def save():
        doc["records"] = sorted(records.values(),
                                key=lambda r: (r["d"], r["impl"], r["dtype"], r["n"]))
        path.write_text(json.dumps(doc, indent=1))

    sizes = [2 ** k for k in args.sizes] if not args.cpu_smoke else args.smoke_sizes
    impls = [("attngrad", "float64"), ("attngrad", "float32")]
    if torch is not None:
        impls += [("torch-sdpa", "float32"), ("torch-sdpa", "bfloat16")]

    def runner(impl, dtype, inst, d):
        if impl == "attngrad":
            return (attngrad_runner(dev, inst, np.dtype(dtype), args.block),
                    dev.timed, dev.get)
        tdtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
        return (torch_runner(torch, tdev, inst, tdtype, d),
                lambda fn: torch_timed(torch, tdev, fn),
                lambda G: G.detach().to(torch.float64).cpu().numpy())

    for d in args.dims:
        warm = make_instance(min(1024, min(sizes)), d, seed=0)
        for impl, dtype in impls:  # compile kernels once, outside the timed runs
            try:
                fn, timed, _ = runner(impl, dtype, warm, d)
                timed(fn)
            except Exception:  # noqa: BLE001 - reported by the timed run below
                pass
        for n in sizes:
            inst = make_instance(n, d, seed=n + d)
            ref = None
            for impl, dtype in impls:
                rec = {"impl": impl, "dtype": dtype, "n": n, "d": d,
                       "block": args.block if impl == "attngrad" else None}
                repeats = args.repeats if n <= args.repeat_below else 1
                try:
                    fn, timed, get = runner(impl, dtype, inst, d)
                    G, sec, peak = _best(timed, fn, repeats)
                    G = get(G)
                    if not np.all(np.isfinite(G)):
                        raise FloatingPointError("non-finite gradient")
                    rec.update(status="ok", seconds=sec, repeats=repeats, peak_bytes=peak)
                    if impl == "attngrad" and dtype == "float64":
                        ref = G
                        rec.update(rel_err=None, max_abs_err=None, reference=True)
                    elif ref is not None:
                        rel, err = _rel_err(G, ref)
                        rec.update(rel_err=rel, max_abs_err=err)
                except Exception as e:  # noqa: BLE001 - OOM, missing kernel: record and go on
                    rec.update(status=f"error: {type(e).__name__}: {str(e)[:300]}")
                records[(impl, dtype, n, d)] = rec
                save()
                print(json.dumps(rec), flush=True)
    save()
    png = plot(doc, out_dir / PNG_NAME)
    return doc, png


def plot(doc, png_path):
    """Log-log time and error against n; None if matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot", file=sys.stderr)
        return None
    fig, (ax_t, ax_e) = plt.subplots(1, 2, figsize=(12, 4.5))
    series = {}
    for r in doc["records"]:
        if r.get("status") == "ok":
            series.setdefault((r["impl"], r["dtype"], r["d"]), []).append(r)
    for (impl, dtype, d), rs in sorted(series.items()):
        rs = sorted(rs, key=lambda r: r["n"])
        label = f"{impl} {dtype} d={d}"
        ax_t.loglog([r["n"] for r in rs], [r["seconds"] for r in rs], "o-", label=label)
        errs = [(r["n"], r["rel_err"]) for r in rs if r.get("rel_err")]
        if errs:
            ax_e.loglog(*zip(*errs), "o-", label=label)
    meta = doc.get("meta", {})
    ax_t.set(xlabel="n", ylabel="seconds (dL/dX)", title=f"time, {meta.get('device', '')}")
    ax_e.set(xlabel="n", ylabel="max |G - G_f64| / max |G_f64|",
             title="error against attngrad float64")
    for ax in (ax_t, ax_e):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"exact dL/dX: attngrad (row blocks) vs torch SDPA + autograd, "
                 f"{meta.get('date', '')}", fontsize=9)
    fig.tight_layout()
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return png_path


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for gpu_bench.json and gpu_bench.png")
    ap.add_argument("--sizes", type=int, nargs="+", default=[14, 16, 17, 18, 20],
                    help="log2 of n (default: 14 16 17 18 20)")
    ap.add_argument("--dims", type=int, nargs="+", default=[8, 16], help="d (default: 8 16)")
    ap.add_argument("--block", type=int, default=None,
                    help="attngrad row block (default: attngrad.blocked.auto_block)")
    ap.add_argument("--repeats", type=int, default=3, help="best of this many runs ...")
    ap.add_argument("--repeat-below", type=int, default=2 ** 17,
                    help="... for n up to this; one run above (default 2^17)")
    ap.add_argument("--cpu-smoke", action="store_true",
                    help="numpy on the CPU at tiny n (--smoke-sizes), to check the script")
    ap.add_argument("--smoke-sizes", type=int, nargs="+", default=[32, 48])
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.cpu_smoke and args.dims == [8, 16]:
        args.dims = [4, 8]
    if args.cpu_smoke and args.block is None:
        args.block = 7  # several blocks, one of them partial
    doc, png = run(args)
    print(f"wrote {Path(args.out) / JSON_NAME}" + (f" and {png}" if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
