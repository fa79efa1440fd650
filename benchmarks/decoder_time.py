"""Run time of the decoder (``attngrad decide``) with the exact oracle, by number of variables.

For each v: a seeded random 3-CNF with round(4.3 v) clauses, its instance (E.2 shape), and
``hard.decide`` with the default exact oracle, timed once on ``--threads`` BLAS threads.
Prints a Markdown table (machine and date first) for BENCHMARKS.md.

  python benchmarks/decoder_time.py --vars 6 8 10 12 14 --threads 1
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import time

from threadpoolctl import threadpool_limits

from attngrad import hard
from attngrad.machine import cpu_model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vars", type=int, nargs="+", default=[6, 8, 10, 12, 14])
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--note", default="shared with other work")
    args = ap.parse_args(argv)
    date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores ({args.note}); BLAS threads: "
          f"{args.threads}; Python {platform.python_version()}; date {date}.\n")
    print("| variables v | clauses | N tokens | d | Gauss points m | oracle calls | seconds "
          "| ms per call | answer |")
    print("|---|---|---|---|---|---|---|---|---|")
    with threadpool_limits(limits=args.threads):
        for v in args.vars:
            m = round(4.3 * v)
            inst = hard.from_cnf(hard.random_kcnf(3, v, m, seed=args.seed))
            t0 = time.perf_counter()
            dec = hard.decide(inst)
            sec = time.perf_counter() - t0
            N, d = inst.A1.shape
            print(f"| {v} | {m} | {N} | {d} | {dec.budget['points']} | {dec.calls} | {sec:.2f} "
                  f"| {1000 * sec / dec.calls:.2f} | {dec.answer or 'REFUSED'} |", flush=True)


if __name__ == "__main__":
    main()
