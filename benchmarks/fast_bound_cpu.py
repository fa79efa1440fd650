#!/usr/bin/env python3
"""CPU: how narrow is the fast gradient's certified bound? (Theorem D.6, numpy float64)

For the family of ``attngrad bench`` (entries uniform in [-0.5, 0.5]), d = ``--d``, each n = 2^k
of ``--sizes`` and each polynomial degree g of ``--degrees``, runs
``attngrad.fast.gradient_fixed_degree`` (the certified bound at that degree) next to the exact
gradient and prints a markdown table of

* the measured error ||g~ - g||_inf / ||g||_inf,
* the certified bound / ||g||_inf (``bound``; the interval [g~ - bound, g~ + bound] contains g),
* their ratio (how much the proof gives away),
* the rounding part of the bound alone / ||g||_inf (no degree can certify below it),

with the machine, date and numpy version. Also the fast path's tracemalloc peak at n = 2^20,
d = ``--mem-d`` and degree ``--mem-degree`` against the inputs' size (``--mem`` to run it).

    OPENBLAS_NUM_THREADS=2 python benchmarks/fast_bound_cpu.py --sizes 10 12 14 --degrees 2 3 4 5 6
"""
from __future__ import annotations

import argparse
import datetime
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
from attngrad import fast
from attngrad.bench import instance
from attngrad.machine import cpu_model


def bound_rows(sizes, d, degrees, seed):
    for k in sizes:
        n = 2 ** k
        a = instance(n, d, seed + k)
        G = attngrad.gradient(*a)
        gmax = float(np.max(np.abs(G)))
        for g in degrees:
            r = fast.gradient_fixed_degree(*a, degree=g, return_info=True)
            err = float(np.max(np.abs(r.value - G)))
            if not err <= r.bound:  # the whole point: the interval must contain the truth
                raise AssertionError(f"n=2^{k}, degree {g}: error {err:.3g} > bound {r.bound:.3g}")
            yield {"n": n, "k": k, "degree": g, "rank": r.rank, "rel_err": err / gmax,
                   "rel_bound": r.bound / gmax, "ratio": r.bound / err if err else float("inf"),
                   "rel_rounding": r.parts["rounding"] / gmax}


def memory_row(k, d, degree, seed):
    n = 2 ** k
    a = instance(n, d, seed)
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        r = fast.gradient_fixed_degree(*a, degree=degree, return_info=True)
        sec = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    inputs = sum(x.nbytes for x in a)
    return {"n": n, "k": k, "d": d, "degree": degree, "rank": r.rank, "seconds": sec,
            "peak": peak, "inputs": inputs}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 12, 14], help="log2 n")
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--degrees", type=int, nargs="+", default=[2, 3, 4, 5, 6])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mem", action="store_true", help="also the n = 2^20 memory row")
    ap.add_argument("--mem-d", type=int, default=16)
    ap.add_argument("--mem-degree", type=int, default=2)
    args = ap.parse_args(argv)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    print(f"CPU: {cpu_model()}; numpy {np.__version__}; {date}; d = {args.d}, entries uniform "
          f"in [-0.5, 0.5]\n")
    print("| n | degree | rank | error / max|g| | bound / max|g| | bound / error | "
          "rounding part / max|g| |")
    print("|---|---|---|---|---|---|---|")
    for r in bound_rows(args.sizes, args.d, args.degrees, args.seed):
        print(f"| 2^{r['k']} | {r['degree']} | {r['rank']} | {r['rel_err']:.2e} | "
              f"{r['rel_bound']:.2e} | {r['ratio']:.1e} | {r['rel_rounding']:.2e} |", flush=True)
    if args.mem:
        m = memory_row(20, args.mem_d, args.mem_degree, args.seed)
        print(f"\nn = 2^20, d = {m['d']}, degree {m['degree']} (rank {m['rank']}): "
              f"{m['seconds']:.1f} s, tracemalloc peak {m['peak'] / 2**20:.0f} MiB, "
              f"inputs {m['inputs'] / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
