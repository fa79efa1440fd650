#!/usr/bin/env python3
"""CPU: the targets of "Speed where users feel it", measured side by side in one run.

Tables (markdown, with machine, date, BLAS threads and the load average before each table):

1. tightness: certified bound / actual error of gradient(method="fast") for d = 4, 8, 16,
   eps = 1e-4 .. 1e-10, on uniform and peaked-softmax instances (n = 2^``--tight-n``); the
   error against the exact float64 gradient, counted only where it is above 100 units of
   roundoff of ||g||_inf (below that the float64 reference cannot tell);
2. speed: exact (Lemma C.8 by fused row blocks) against fast (eps = 1e-6) for d = 4, 8, 16 and
   n in ``--sizes``, with degree, rank, error, bound and bound / error;
3. threads: the fast gradient with 1 and with all BLAS threads (threadpoolctl), alone and with
   a second job (a busy process) on the machine;
4. exact against torch: torch.nn.functional.scaled_dot_product_attention + autograd (dL/dX of
   the same loss) and attngrad's exact gradient, float64 and float32, d = 4 .. 64, torch as a
   peer only (the ``bench`` extra).

    python benchmarks/targets_cpu.py --sizes 14 16 --torch-sizes 12 13
"""
from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import attngrad  # noqa: E402
from attngrad.bench import instance  # noqa: E402
from attngrad.machine import cpu_model  # noqa: E402


def peaked(n, d, seed, scale=0.5):
    """One key aligned with every query: nearly one-hot softmax rows (tests/test_fast.py)."""
    A1, A2, A3, E, X, Y = (np.array(a) for a in instance(n, d, seed))
    A2[0] = 2 * scale * 2
    A1 = np.abs(A1) + scale / 2
    return A1, A2, A3, E, np.eye(d), Y


def best(fn, repeats):
    out, ts = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return min(ts), out


def header(title):
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\n### {title}\n\nload average before: {load}\n", flush=True)


def fast(a, eps):
    try:
        return attngrad.gradient(*a, method="fast", eps=eps, return_bound=True), None
    except attngrad.ApproximationError as exc:
        return None, str(exc)


def tightness(k, ds, epss, seed):
    header(f"1. tightness (n = 2^{k})")
    print("| d | instance | eps | degree | rank | error | bound | bound / error |")
    print("|---|---|---|---|---|---|---|---|")
    for d in ds:
        for name, make in (("uniform", lambda: instance(2 ** k, d, seed + d)),
                           ("peaked", lambda: peaked(2 ** k, d, seed + d))):
            a = make()
            G = attngrad.gradient(*a)
            floor = 100 * 2.0 ** -53 * float(np.max(np.abs(G)))
            for eps in epss:
                res, why = fast(a, eps)
                if res is None:
                    print(f"| {d} | {name} | {eps:.0e} | - | - | - | - | refused: "
                          f"{why[:90]} |", flush=True)
                    continue
                err = float(np.max(np.abs(res.value - G)))
                ratio = f"{res.bound / err:.2e}" if err > floor else "(error at roundoff)"
                print(f"| {d} | {name} | {eps:.0e} | {res.degree} | {res.rank} | {err:.2e} | "
                      f"{res.bound:.2e} | {ratio} |", flush=True)


def speed(sizes, ds, eps, seed, exact_max):
    header(f"2. speed, eps = {eps:g}")
    print("| d | n | exact s | fast s | exact / fast | degree | rank | error | bound | "
          "bound / error |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for d in ds:
        for k in sizes:
            a = instance(2 ** k, d, seed + 1000 * d + k)
            tf, (res, why) = best(lambda: fast(a, eps), 2)
            te, G = best(lambda: attngrad.gradient(*a), 1) if k <= exact_max else (None, None)
            if res is None:
                print(f"| {d} | 2^{k} | {te:.2f} | refused in {tf:.2f} s | - | - | - | - | - | "
                      f"{why[:80]} |", flush=True)
                continue
            err = float(np.max(np.abs(res.value - G))) if G is not None else float("nan")
            print(f"| {d} | 2^{k} | {te:.2f} | {tf:.3f} | {te / tf:.0f} | {res.degree} | "
                  f"{res.rank} | {err:.1e} | {res.bound:.1e} | {res.bound / err:.1e} |",
                  flush=True)


def _busy(seconds):
    t0 = time.time()
    while time.time() - t0 < seconds:
        pass


def threads(sizes, d, eps, seed):
    from threadpoolctl import threadpool_limits

    cores = os.cpu_count()
    header(f"3. threads (d = {d}, eps = {eps:g}; {cores} cores)")
    print(f"| n | load | 1 thread s | {cores} threads s | {cores} threads / 1 |")
    print("|---|---|---|---|---|")
    for k in sizes:
        a = instance(2 ** k, d, seed + k)
        fast(a, eps)      # certificates cached
        for load in ("alone", "with a second job"):
            job = None
            if load != "alone":
                job = multiprocessing.Process(target=_busy, args=(120,))
                job.start()
            t = {}
            try:
                for nt in (1, cores):
                    with threadpool_limits(limits=nt, user_api="blas"):
                        t[nt] = best(lambda: fast(a, eps), 3)[0]
            finally:
                if job is not None:
                    job.terminate()
                    job.join()
            print(f"| 2^{k} | {load} | {t[1]:.3f} | {t[cores]:.3f} | {t[cores] / t[1]:.2f} |",
                  flush=True)


def exact_vs_torch(sizes, ds, seed):
    import torch

    header(f"4. exact dL/dX against torch {torch.__version__} (SDPA + autograd), "
           f"{torch.get_num_threads()} threads")
    print("| d | n | dtype | torch s | attngrad s | attngrad / torch | max diff |")
    print("|---|---|---|---|---|---|---|")
    for d in ds:
        for k in sizes:
            for dt, tdt in ((np.float64, torch.float64), (np.float32, torch.float32)):
                a = [x.astype(dt) for x in instance(2 ** k, d, seed + k)]

                def tgrad():
                    A1, A2, A3, E, X, Y = (torch.from_numpy(x) for x in a)
                    X = X.clone().requires_grad_(True)
                    out = torch.nn.functional.scaled_dot_product_attention(
                        (A1 @ X)[None], A2[None], (A3 @ Y)[None], scale=1.0 / d)
                    (0.5 * ((out[0] - E) ** 2).sum()).backward()
                    return X.grad.numpy()

                tt, Gt = best(tgrad, 3)
                ta, Ga = best(lambda: attngrad.gradient(*a), 3)
                print(f"| {d} | 2^{k} | {np.dtype(dt).name} | {tt:.3f} | {ta:.3f} | "
                      f"{ta / tt:.2f} | {np.abs(Gt - Ga).max():.1e} |", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tight-n", type=int, default=12)
    ap.add_argument("--sizes", type=int, nargs="+", default=[14, 16])
    ap.add_argument("--exact-max", type=int, default=16)
    ap.add_argument("--torch-sizes", type=int, nargs="+", default=[12, 13])
    ap.add_argument("--torch-d", type=int, nargs="+", default=[4, 8, 16, 64])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip", nargs="*", default=[], help="tables to skip: 1 2 3 4")
    args = ap.parse_args(argv)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores; numpy {np.__version__}; {date}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")
    if "1" not in args.skip:
        tightness(args.tight_n, (4, 8, 16), (1e-4, 1e-6, 1e-8, 1e-10), args.seed)
    if "2" not in args.skip:
        speed(args.sizes, (4, 8, 16), 1e-6, args.seed, args.exact_max)
    if "3" not in args.skip:
        threads(args.sizes, 8, 1e-6, args.seed)
    if "4" not in args.skip:
        exact_vs_torch(args.torch_sizes, args.torch_d, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
