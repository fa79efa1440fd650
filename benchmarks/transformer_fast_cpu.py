#!/usr/bin/env python3
"""CPU: the fast multi-layer gradient (attngrad.transformer, method="fast") against the exact one.

Two measurements, markdown on stdout (machine and date first):

* ``table``: d = 16 (``--d``), 1 to 4 layers, 1 and 4 heads, causal and not, n = 2^10 ..
  (``--sizes``): time of the exact and the fast gradient (forward and backward, every weight and
  the input, squared loss), the fast result's largest error against the exact float64 gradient,
  its certified bound, the degrees chosen per layer and head, and the slope of log time against
  log n. eps is relative: ``--rel-eps`` times the exact gradient's largest entry. Above
  ``--exact-max`` the exact gradient is not run: no error is measured, and the largest entry is
  bounded from below by an untimed fast run at degree 4 (its max |g~| minus its bound).
* ``layers``: how the error, the bound and the needed degree grow with the number of layers (1 to
  8) at fixed n and weight scale, with a figure (``--figure``).
* ``sweep``: where it breaks as the entry bound grows (weight scales, the scores they give, the
  degrees needed, or the refusal).

The model: residual attention (scale 1/d_h) and a GELU MLP with its residual; weights
N(0, (w / sqrt(d))^2) with w = ``--weight``; inputs N(0, 1/4).

    python benchmarks/transformer_fast_cpu.py table --sizes 10 12 14 16
    python benchmarks/transformer_fast_cpu.py layers --n 4096 --figure docs/transformer_layers.png
"""
from __future__ import annotations

import argparse
import datetime
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

try:
    import attngrad
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import attngrad
from attngrad import transformer as tr
from attngrad.machine import cpu_model
from attngrad.stress.model import max_abs, max_abs_difference


def model(n, d, m, heads, causal, weight, seed):
    rng = np.random.default_rng(seed)

    def w():
        return rng.normal(0, weight / math.sqrt(d), (d, d))

    layers = [tr.Layer(w(), w(), w(), W_g=w(), phi="gelu", heads=heads, causal=causal,
                       residual=True, mlp_residual=True) for _ in range(m)]
    return rng.normal(0, 0.5, (n, d)), layers, rng.normal(0, 1, (n, d))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def header():
    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs; "
          f"date {datetime.date.today().isoformat()}; numpy {np.__version__}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print()


def run_one(X, layers, target, rel_eps, exact=True):
    """(t_exact or None, t_fast, err or None, bound, degrees, eps, refusal or None)."""
    ge = None
    if exact:
        te, (_, ge) = timed(lambda: tr.loss_and_gradient(X, layers, target=target))
        scale = max_abs(ge)
    else:  # the scale from a fast run at degree 4: max |g~| - its bound <= max |g| (untimed)
        te = None
        _, g0 = tr.loss_and_gradient(X, layers, target=target, method="fast", degree=4)
        scale = max_abs(g0) - g0.bound
    eps = rel_eps * (scale if scale > 0 else 1.0)
    try:
        tf, (_, gf) = timed(lambda: tr.loss_and_gradient(X, layers, target=target,
                                                         method="fast", eps=eps))
    except attngrad.ApproximationError as exc:
        return te, None, None, None, None, eps, str(exc).split(": ", 1)[-1][:90]
    err = None
    if ge is not None:
        err = max_abs_difference(ge, gf)
    return te, tf, err, gf.bound, gf.degrees, eps, None


def table(args):
    header()
    print(f"d = {args.d}; eps = {args.rel_eps:g} x max |exact gradient|; exact above "
          f"2^{int(math.log2(args.exact_max))} not run")
    print()
    print("| layers | heads | causal | n | exact s | fast s | exact / fast | error | bound "
          "| bound / error | degrees |")
    print("| ---: | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for m in args.layers:
        for heads in args.heads:
            for causal in (False, True):
                times = []
                for k in args.sizes:
                    n = 2 ** k
                    X, layers, target = model(n, args.d, m, heads, causal, args.weight, k)
                    te, tf, err, bound, deg, eps, why = run_one(
                        X, layers, target, args.rel_eps, exact=n <= args.exact_max)
                    row = [str(m), str(heads), "yes" if causal else "no", f"2^{k}",
                           "-" if te is None else f"{te:.3g}"]
                    if why:
                        row += ["refused", "-", "-", "-", "-", why]
                    else:
                        times.append((n, tf))
                        row += [f"{tf:.3g}", "-" if te is None else f"{te / tf:.1f}",
                                "-" if err is None else f"{err:.2g}", f"{bound:.2g}",
                                "-" if not err else f"{bound / err:.2g}",
                                " ".join("/".join(map(str, g)) for g in deg)]
                    print("| " + " | ".join(row) + " |", flush=True)
                if len(times) >= 2:
                    (n0, t0), (n1, t1) = times[0], times[-1]
                    print(f"| | | | slope of log fast time vs log n, 2^{int(math.log2(n0))} to "
                          f"2^{int(math.log2(n1))}: {math.log(t1 / t0) / math.log(n1 / n0):.2f} "
                          "| | | | | | | |", flush=True)


def layers_growth(args):
    header()
    print(f"n = {args.n}, d = {args.d}, {args.heads_one} heads, causal, weight scale "
          f"{args.weight}; the same degree for every head")
    print()
    print("| layers | degree | max error | bound | bound / error | max |gradient| |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = []
    for m in range(1, args.max_layers + 1):
        X, layers, target = model(args.n, args.d, m, args.heads_one, True, args.weight, 7)
        _, ge = tr.loss_and_gradient(X, layers, target=target)
        scale = max_abs(ge)
        for g in args.degrees:
            try:
                _, gf = tr.loss_and_gradient(X, layers, target=target, method="fast", degree=g)
            except attngrad.ApproximationError:
                print(f"| {m} | {g} | refused | - | - | {scale:.3g} |", flush=True)
                continue
            err = max_abs_difference(ge, gf)
            rows.append((m, g, err, gf.bound, scale))
            print(f"| {m} | {g} | {err:.2g} | {gf.bound:.2g} | {gf.bound / err:.2g} | "
                  f"{scale:.3g} |", flush=True)
    if args.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for g in args.degrees:
            pts = [(m, e / s, b / s) for m, gg, e, b, s in rows if gg == g]
            if pts:
                ms, es, bs = zip(*pts)
                line, = ax.semilogy(ms, es, "o-", label=f"degree {g}: error")
                ax.semilogy(ms, bs, "s--", color=line.get_color(), label=f"degree {g}: bound")
        ax.set_xlabel("layers")
        ax.set_ylabel("relative to max |gradient|")
        ax.set_title(f"fast multi-layer gradient, n = {args.n}, d = {args.d}, causal")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.figure, dpi=120)


def sweep(args):
    """Where the fast multi-layer gradient breaks as the entry bound grows: for weight scales w
    (``--weights``), the largest score magnitude any head sees, the degrees the certificate
    needs for eps (relative ``--rel-eps``), the bound and the error, or the refusal."""
    header()
    print(f"n = {args.n}, d = {args.d}, {args.m} layers, {args.heads_one} heads, causal; "
          f"eps = {args.rel_eps:g} x max |exact gradient|")
    print()
    print("| weight scale | max |score| | max |score| / sqrt(ln n) | degrees | error | bound "
          "| fast s | exact s |")
    print("| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
    for w in args.weights:
        X, layers, target = model(args.n, args.d, args.m, args.heads_one, True, w, 11)
        radius = max_score(X, layers)
        te, tf, err, bound, deg, eps, why = run_one(X, layers, target, args.rel_eps)
        cells = [f"{w:g}", f"{radius:.3g}", f"{radius / math.sqrt(math.log(args.n)):.2f}"]
        if why:
            cells += [f"refused: {why}", "-", "-", "-", f"{te:.3g}"]
        else:
            cells += [" ".join("/".join(map(str, g)) for g in deg), f"{err:.2g}", f"{bound:.2g}",
                      f"{tf:.3g}", f"{te:.3g}"]
        print("| " + " | ".join(cells) + " |", flush=True)


def max_score(X, layers):
    """The largest |score| of any head of any layer on the exact forward pass."""
    from attngrad.transformer import backprop
    from attngrad.transformer.model import check_model

    chk = check_model(X, layers)
    _, cache = backprop.forward(chk.ns, chk, None, None)
    top = 0.0
    for layer, c in zip(layers, cache):
        dh = X.shape[1] // layer.heads
        for l in range(layer.heads):
            hc = slice(l * dh, (l + 1) * dh)
            S = (c["Q"][:, hc] @ c["K"][:, hc].T) * float(c["s"])
            top = max(top, float(np.max(np.abs(S))))
    return top


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    t = sub.add_parser("table")
    t.add_argument("--sizes", type=int, nargs="+", default=[10, 12, 14, 16], help="log2 n")
    t.add_argument("--layers", type=int, nargs="+", default=[1, 2, 4])
    t.add_argument("--heads", type=int, nargs="+", default=[1, 4])
    t.add_argument("--exact-max", type=int, default=2 ** 16)
    g = sub.add_parser("layers")
    g.add_argument("--n", type=int, default=4096)
    g.add_argument("--max-layers", type=int, default=8)
    g.add_argument("--heads-one", type=int, default=4)
    g.add_argument("--degrees", type=int, nargs="+", default=[2, 4, 6])
    g.add_argument("--figure", default=None)
    w = sub.add_parser("sweep")
    w.add_argument("--n", type=int, default=1024)
    w.add_argument("--m", type=int, default=2)
    w.add_argument("--heads-one", type=int, default=4)
    w.add_argument("--weights", type=float, nargs="+",
                   default=[0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0])
    for p in (t, g, w):
        p.add_argument("--d", type=int, default=16)
        p.add_argument("--weight", type=float, default=0.3)
        p.add_argument("--rel-eps", type=float, default=1e-6)
    args = ap.parse_args(argv)
    {"table": table, "layers": layers_growth, "sweep": sweep}[args.what](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
