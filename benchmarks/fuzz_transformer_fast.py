#!/usr/bin/env python3
"""The fast multi-layer gradient's property test at many examples: the certified bound contains
the error on every model hypothesis draws (any shape, 1 to 3 layers, every layer option, every
loss, degree 0 to 6, causal blocks that do not divide n), or the fast path refuses.

    python benchmarks/fuzz_transformer_fast.py --examples 2000 --seed 1

Runs tests/test_transformer_fast.py's test_bound_contains_the_error_at_any_degree with
max_examples = --examples (the suite runs 15 or 4), counts its outcomes, and prints one line of
markdown. Exit status 1 if an error exceeded its bound (hypothesis then prints the case).
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import math  # noqa: E402

from hypothesis import HealthCheck, seed, settings  # noqa: E402

import attngrad  # noqa: E402
from attngrad.machine import cpu_model  # noqa: E402
from tests import profiles  # noqa: E402

SUITE = 15  # the test's own number of examples in the thorough profile (tests/profiles.py)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    counts = {"certified": 0, "refused": 0}

    def counting(*a, **kw):
        try:
            out = real(*a, **kw)
        except attngrad.ApproximationError:
            counts["refused"] += 1
            raise
        counts["certified"] += 1
        return out

    # The test scales its number of examples to the active profile when it is imported
    settings.register_profile("fuzz", max_examples=math.ceil(args.examples * profiles.THOROUGH
                                                             / SUITE),
                              database=None, suppress_health_check=list(HealthCheck))
    settings.load_profile("fuzz")
    from tests import test_transformer_fast as T

    real = T.fast
    T.fast = counting
    test = seed(args.seed)(T.test_bound_contains_the_error_at_any_degree)
    t0 = time.perf_counter()
    status = 0
    try:
        test()
    except AssertionError:
        status = 1
    finally:
        T.fast = real
    print(f"| {datetime.date.today().isoformat()} | {cpu_model()} | {args.examples} | "
          f"{args.seed} | {counts['certified'] + counts['refused']} | {counts['certified']} | "
          f"{counts['refused']} | {'none' if status == 0 else 'FOUND (see above)'} | "
          f"{time.perf_counter() - t0:.0f} s |")
    return status


if __name__ == "__main__":
    sys.exit(main())
