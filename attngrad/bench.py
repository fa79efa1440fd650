"""``attngrad bench``: exact versus fast (Section D) gradient on the CPU, side by side.

For each d and n = 2^k the same instance (entries uniform in [-0.5, 0.5]) is run through
``gradient(method="exact")`` (Lemma C.8, O(n^2 d)) and ``gradient(method="fast", eps=...)``
(Theorem D.6, certified). Reported: wall time of each (median of ``--repeats``), the
fast path's first call (which includes certifying the polynomial), the error
||g~ - g||_inf against the exact gradient, the certified bound, degree and rank, and
the least-squares slope of log(time) against log(n) over the chosen range.

The exact path is timed up to n = 2^``--exact-max``; above it the exact gradient is
still computed once as the reference for the error column (the exact path runs by row
blocks, so memory is no obstacle, only time) and the exact time is left blank.

  python -m attngrad.bench --out-json bench.json --out-md table.md
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np

from .machine import cpu_model


def machine_info(threads):
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "blas_threads": threads,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def instance(n, d, seed):
    rng = np.random.default_rng(seed)
    A1, A2, A3, E = (rng.uniform(-0.5, 0.5, (n, d)) for _ in range(4))
    X, Y = (rng.uniform(-0.5, 0.5, (d, d)) for _ in range(2))
    return A1, A2, A3, E, X, Y


def _timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, times


def run(ns_exp, ds, eps, repeats, exact_max, basis, seed=0, progress=None, on_row=None):
    import attngrad
    from attngrad.errors import ApproximationError

    rows = []
    for d in ds:
        for k in ns_exp:
            n = 2 ** k
            args = instance(n, d, seed + 1000 * d + k)
            row = {"n": n, "d": d, "eps": eps, "basis": basis}
            if progress:
                progress(f"d={d} n=2^{k}: fast")
            try:
                first, t_first = _timed(lambda: attngrad.gradient(
                    *args, method="fast", eps=eps, basis=basis, return_bound=True), 1)
                res, times = _timed(lambda: attngrad.gradient(
                    *args, method="fast", eps=eps, basis=basis, return_bound=True), repeats)
                row.update(fast_s=statistics.median(times), fast_first_s=t_first[0],
                           degree=res.degree, rank=res.rank, bound=res.bound)
                G_fast = res.value
            except ApproximationError as exc:
                row.update(fast_s=None, error_msg=str(exc))
                G_fast = None
            if progress:
                progress(f"d={d} n=2^{k}: exact")
            if n <= 2 ** exact_max:
                G, times = _timed(lambda: attngrad.gradient(*args, method="exact"),
                                  max(1, min(repeats, 3 if n <= 4096 else 1)))
                row.update(exact_s=statistics.median(times), reference="exact")
            else:
                G = attngrad.gradient(*args, method="exact")
                row.update(exact_s=None, reference="exact (untimed)")
            if G_fast is not None:
                row["error"] = float(np.max(np.abs(G_fast - G)))
                row["grad_max"] = float(np.max(np.abs(G)))
                if row.get("exact_s"):
                    row["speedup"] = row["exact_s"] / row["fast_s"]
            rows.append(row)
            if on_row:
                on_row(rows)
    return rows


def slopes(rows, lo, hi):
    out = {}
    for d in sorted({r["d"] for r in rows}):
        pts = [(math.log(r["n"]), math.log(r["fast_s"])) for r in rows
               if r["d"] == d and r.get("fast_s") and lo <= r["n"] <= hi]
        if len(pts) >= 2:
            x, y = np.array(pts).T
            out[d] = float(np.polyfit(x, y, 1)[0])
    return out


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def markdown(rows, info, sl, lo, hi, note):
    lines = [f"Machine: {info['cpu']}, {info['cores']} cores ({note}); BLAS threads: "
             f"{info['blas_threads']}; numpy {info['numpy']}, Python {info['python']}; "
             f"date {info['date']}.", "",
             "| n | d | exact s | fast s (median) | fast s (first call) | speedup | "
             "error vs exact | certified bound | eps | degree | rank |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ex = _fmt(r.get("exact_s"), ".3f") if r.get("exact_s") is not None else "untimed"
        lines.append(
            f"| 2^{int(math.log2(r['n']))} | {r['d']} | {ex} | {_fmt(r.get('fast_s'), '.4f')} | "
            f"{_fmt(r.get('fast_first_s'), '.4f')} | {_fmt(r.get('speedup'), '.0f' if (r.get('speedup') or 0) >= 10 else '.2g')} | "
            f"{_fmt(r.get('error'), '.2e')} | {_fmt(r.get('bound'), '.2e')} | {r['eps']:g} | "
            f"{r.get('degree', '-')} | {r.get('rank', '-')} |")
    lines.append("")
    for d, s in sl.items():
        lines.append(f"Slope of log(fast time) against log(n), n = 2^{int(math.log2(lo))} to "
                     f"2^{int(math.log2(hi))}, d = {d}: {s:.3f}")
    return "\n".join(lines) + "\n"


def rich_table(rows, info, sl):
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"attngrad bench -- {info['cpu']}, {info['cores']} cores, {info['date']}")
    for col in ("n", "d", "exact s", "fast s", "first s", "speedup", "error", "bound", "deg",
                "rank"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(f"2^{int(math.log2(r['n']))}", str(r["d"]),
                  _fmt(r.get("exact_s"), ".3f") if r.get("exact_s") is not None
                  else "untimed",
                  _fmt(r.get("fast_s"), ".4f"), _fmt(r.get("fast_first_s"), ".4f"),
                  _fmt(r.get("speedup"), ".0f"), _fmt(r.get("error"), ".1e"),
                  _fmt(r.get("bound"), ".1e"), str(r.get("degree", "-")), str(r.get("rank", "-")))
    con = Console()
    con.print(t)
    for d, s in sl.items():
        con.print(f"d = {d}: slope of log time vs log n = {s:.3f}")


def _limit_threads(threads):
    if not threads:
        return "default", None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "default (threadpoolctl not installed)", None
    return threads, threadpool_limits(limits=threads)


def main_args(args) -> int:
    from .cliutil import output_file

    for flag, path in (("--out-json", args.out_json), ("--out-md", args.out_md)):
        if path:  # checked before the run, which takes minutes
            output_file(path, flag)
    threads, ctx = _limit_threads(args.threads)
    info = machine_info(threads)
    ns_exp = list(range(args.log2_min, args.log2_max + 1))

    def progress(msg):
        print(msg, file=sys.stderr, flush=True)

    lo, hi = 2 ** max(args.log2_min, args.slope_from), 2 ** args.log2_max

    def write(rows):  # after every row, so a long run leaves partial results
        sl = slopes(rows, lo, hi)
        if args.out_json:
            with open(args.out_json, "w", encoding="utf-8") as fh:
                json.dump({"machine": info, "rows": rows, "slopes": sl}, fh, indent=2)
        if args.out_md:
            with open(args.out_md, "w", encoding="utf-8") as fh:
                fh.write(markdown(rows, info, sl, lo, hi, args.note))
        return sl

    rows = run(ns_exp, args.d, args.eps, args.repeats, args.exact_max, args.basis,
               progress=progress if args.verbose else None, on_row=write)
    rich_table(rows, info, write(rows))
    if ctx is not None:
        ctx.restore_original_limits()
    return 0


def add_arguments(p):
    p.add_argument("--log2-min", type=int, default=10, help="smallest n = 2^k (default 10)")
    p.add_argument("--log2-max", type=int, default=16, help="largest n = 2^k (default 16)")
    p.add_argument("--d", type=int, nargs="+", default=[4, 8], help="head dimensions (default 4 8)")
    p.add_argument("--eps", type=float, default=1e-6, help="accuracy of the fast gradient")
    p.add_argument("--basis", default="chebyshev", choices=["chebyshev", "taylor"])
    p.add_argument("--repeats", type=int, default=3, help="timed repeats (median reported)")
    p.add_argument("--exact-max", type=int, default=14,
                   help="largest log2 n at which the exact path is timed (it is O(n^2 d))")
    p.add_argument("--slope-from", type=int, default=12, help="fit the slope from n = 2^k")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS threads for both paths (0 = library default)")
    p.add_argument("--note", default="shared with other work",
                   help="a note on the machine's load, printed with the table")
    p.add_argument("--out-json", metavar="FILE")
    p.add_argument("--out-md", metavar="FILE", help="write the Markdown table (for BENCHMARKS.md)")
    p.add_argument("--verbose", action="store_true", help="progress on stderr")


def register(subparsers):
    """The ``bench`` subcommand of the ``attngrad`` CLI."""
    p = subparsers.add_parser("bench", help="time exact vs fast (Section D) gradients")
    add_arguments(p)
    p.set_defaults(fn=main_args)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m attngrad.bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    from .cliutil import run

    return run("bench", main_args, ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
