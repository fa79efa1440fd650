#!/usr/bin/env python3
"""CPU: the exact dL/dX by row blocks against the unblocked algorithm (numpy float64).

For n in 2^10 .. 2^14 (``--sizes``), d = 8, prints a markdown table: seconds (best of
``--repeats``, perf_counter) and tracemalloc peak (a separate run) for ``block=n`` (the
unblocked algorithm, one block) and ``block=B`` (default 256 rows), with the machine, date and
numpy version. Set OPENBLAS_NUM_THREADS to fix the BLAS thread count.

    OPENBLAS_NUM_THREADS=1 python benchmarks/blocked_cpu.py
"""
from __future__ import annotations

import argparse
import datetime
import os
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
from attngrad.machine import cpu_model


def measure(a, block, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        attngrad.gradient(*a, block=block)
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    try:
        attngrad.gradient(*a, block=block)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return best, peak


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 11, 12, 13, 14], help="log2 n")
    ap.add_argument("--d", type=int, default=8)
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3, help="timing runs for n <= 2^12; 1 above")
    args = ap.parse_args(argv)
    d, B = args.d, args.block
    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs; "
          f"date {datetime.date.today().isoformat()}; numpy {np.__version__}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print()
    print(f"| n | unblocked s | blocked (B={B}) s | unblocked peak MiB | blocked peak MiB "
          "| n x n float64 MiB | max rel diff |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rng = np.random.default_rng(0)
    for k in args.sizes:
        n = 2 ** k
        a = [rng.uniform(-1, 1, (n, d)) for _ in range(4)] + \
            [rng.uniform(-1, 1, (d, d)) for _ in range(2)]
        reps = args.repeats if n <= 2 ** 12 else 1
        tu, pu = measure(a, n, reps)
        tb, pb = measure(a, B, reps)
        Gu, Gb = attngrad.gradient(*a, block=n), attngrad.gradient(*a, block=B)
        rel = float(np.max(np.abs(Gu - Gb)) / np.max(np.abs(Gu)))
        print(f"| 2^{k} | {tu:.3g} | {tb:.3g} | {pu / 2**20:.1f} | {pb / 2**20:.1f} "
              f"| {n * n * 8 / 2**20:.0f} | {rel:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
