#!/usr/bin/env python3
"""Fuzz the fast methods with hostile inputs: every call answers within eps or refuses, quickly.

Draws ``--examples`` cases from tests/fuzz_inputs.py (seeds ``--seed`` onwards): gradient(method=
"fast") wrt X and Y and attention(method="fast"), n = 1 .. ``--max-n``, d = 1 .. 8, float32 and
float64, eps from 1e-2 to 1e-12, peaked, one-hot, duplicated, zero, huge and tiny entries.
Each value returned is compared with a reference: the exact result at 30 digits for n <= 16,
else the exact float64 path, whose own error is bounded by tests/helpers.py's rounding model
(twice its bound, as in the tests). Prints the counts (examples, met, refused, violated, other
exceptions), the slowest refusal, and the first failures in full, with the machine and date.

    OPENBLAS_NUM_THREADS=1 python benchmarks/fuzz_fast.py --examples 20000
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import attngrad  # noqa: E402
from attngrad.machine import cpu_model  # noqa: E402
from tests.fuzz_inputs import hostile_case, judge, reference  # noqa: E402
from tests.helpers import attention_bound, error_bounds  # noqa: E402


def float64_reference(case):
    """(exact float64 result, a bound on its own error) for larger n."""
    a = [np.asarray(x, dtype=np.float64) for x in case.args]
    with np.errstate(all="ignore"):
        if case.method == "attention":
            return attngrad.attention(*a), 2 * attention_bound(*a)
        inst = dict(zip(("A1", "A2", "A3", "E", "X", "Y"), a))
        return (attngrad.gradient(*a, wrt=case.wrt),
                2 * error_bounds(inst)["grad_" + case.wrt])


def run(examples, seed, max_n, report_every=0):
    counts, slowest, failures = Counter(), (0.0, None), []
    t_start = time.perf_counter()
    for i in range(examples):
        case = hostile_case(seed + i, max_n=max_n)
        n = case.args[0].shape[0]
        try:
            ref, ref_err = (reference(case), 0.0) if n <= 16 else float64_reference(case)
        except (ValueError, OverflowError, FloatingPointError):
            ref, ref_err = None, 0.0      # no finite reference: judge the bound alone
        outcome, sec, detail = judge(case, None if ref is None else ref)
        if outcome == "violated" and ref is not None and np.all(np.isfinite(ref_err)):
            # the float64 reference's own error may account for the difference: recheck
            res = case.call(return_bound=True)
            diff = np.abs(np.asarray(res.value, dtype=np.float64) - ref)
            if np.all(diff <= res.bound + ref_err + 2.0 ** -52 * np.abs(ref)):
                outcome = "met"
        counts[outcome] += 1
        if outcome == "refused" and sec > slowest[0]:
            slowest = (sec, f"seed {seed + i} ({case.kind}, {case.method} {case.wrt}, n={n}, "
                            f"eps={case.eps:.1e})")
        if outcome in ("violated", "error") and len(failures) < 10:
            failures.append((seed + i, case.kind, case.method, case.wrt, n, outcome, detail))
        if report_every and (i + 1) % report_every == 0:
            print(f"  {i + 1} examples, {dict(counts)}, {time.perf_counter() - t_start:.0f} s",
                  file=sys.stderr, flush=True)
    return counts, slowest, failures, time.perf_counter() - t_start


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-n", type=int, default=600)
    args = ap.parse_args(argv)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    counts, slowest, failures, wall = run(args.examples, args.seed, args.max_n,
                                          report_every=max(1, args.examples // 20))
    print(f"CPU: {cpu_model()}; numpy {np.__version__}; {date}; seeds {args.seed} .. "
          f"{args.seed + args.examples - 1}, n <= {args.max_n}; {wall:.0f} s\n")
    print("| examples | met | refused | violated | other exceptions | slowest refusal |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.examples} | {counts['met']} | {counts['refused']} | {counts['violated']} | "
          f"{counts['error']} | {slowest[0]:.3f} s ({slowest[1]}) |")
    for f in failures:
        print("failure:", f)
    return 0 if not (counts["violated"] or counts["error"]) else 1


if __name__ == "__main__":
    sys.exit(main())
