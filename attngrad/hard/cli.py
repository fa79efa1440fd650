"""``attngrad generate`` and ``attngrad decide`` (registered in attngrad/cli.py).

  attngrad generate (--cnf FILE | --random-ksat K V M | --ov N DIM) [--seed S] [--planted]
                    [--shape {E.2,gap}] -o OUT.npz
  attngrad decide FILE.cnf|FILE.npz [--oracle module:function] [--rule {gauss,riemann}]
                  [--points M] [--eps EPS] [--shape {E.2,gap}] [--device {cpu,gpu}]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ..progress import Bar


def register(sub):
    g = sub.add_parser("generate", help="write a reduction instance (.npz with metadata)")
    src = g.add_mutually_exclusive_group(required=True)
    src.add_argument("--cnf", metavar="FILE", help="a DIMACS CNF file")
    src.add_argument("--random-ksat", nargs=3, type=int, metavar=("K", "V", "M"),
                     help="random K-CNF with V variables and M clauses")
    src.add_argument("--ov", nargs=2, type=int, metavar=("N", "DIM"),
                     help="random Orthogonal Vectors instance, N vectors per side")
    g.add_argument("--seed", type=int, help="seed (required with --random-ksat and --ov)")
    g.add_argument("--planted", action="store_true", help="plant a solution (yes instance)")
    g.add_argument("--shape", choices=("E.2", "gap"), default="E.2",
                   help="padding keys at the top score (Lemma E.2) or below it (wider gap)")
    g.add_argument("-o", "--out", required=True, metavar="OUT.npz", help="output file")
    g.set_defaults(fn=_generate)

    d = sub.add_parser("decide", help="decide a CNF (or a saved instance) through the gradient decoder")
    d.add_argument("file", metavar="FILE", help="FILE.cnf (DIMACS) or FILE.npz (from generate)")
    d.add_argument("--oracle", metavar="MODULE:FUNCTION",
                   help="gradient code with attngrad.gradient's signature (default: the exact one)")
    d.add_argument("--rule", choices=("gauss", "riemann"), default="gauss",
                   help="gauss: certified Gauss-Legendre (Lemma E.6); riemann: Lemma E.4 with "
                        "Theorem E.5's parameters")
    d.add_argument("--points", type=int, help="quadrature points (default: what the budget needs)")
    d.add_argument("--eps", type=float, help="the oracle's accuracy per gradient entry")
    d.add_argument("--shape", choices=("E.2", "gap"), default="E.2", help="as for generate")
    d.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                   help="gpu: the oracle gets CuPy arrays (attngrad's CuPy path by default)")
    d.set_defaults(fn=_decide)


def _generate(args) -> int:
    from . import cnf as C
    from . import instances as I

    try:
        if args.cnf:
            cnf = C.read_dimacs(args.cnf)
            inst = I.from_cnf(cnf, shape=args.shape, source={"file": Path(args.cnf).name})
        else:
            if args.seed is None:
                raise ValueError("--seed: required with --random-ksat and --ov")
            if args.random_ksat:
                k, v, m = args.random_ksat
                cnf = C.random_kcnf(k, v, m, seed=args.seed, planted=args.planted)
                inst = I.from_cnf(cnf, shape=args.shape,
                                  source={"generator": "random_kcnf", "k": k, "seed": args.seed,
                                          "planted": args.planted})
            else:
                n, dim = args.ov
                arrays, meta = I.ov_instance(n, dim, args.seed, planted=args.planted, shape=args.shape)
                inst = I.GradientInstance(**arrays, meta=meta)
    except (ValueError, TypeError) as exc:
        print(f"attngrad generate: {exc}", file=sys.stderr)
        return 2
    I.save(inst, args.out)
    print(json.dumps(inst.meta, indent=2, sort_keys=True))
    print(I.summary(inst), file=sys.stderr)
    return 0


def load_oracle(spec: str):
    """The callable named by "module:function" (the current directory is importable)."""
    from ..validate import load_callable

    if "" not in sys.path:
        sys.path.insert(0, "")
    return load_callable("--oracle", spec)


def _decide(args) -> int:
    from . import cnf as C
    from . import instances as I
    from .decoder import OracleError, decide

    try:
        oracle = load_oracle(args.oracle) if args.oracle else None
        if args.file.endswith(".npz"):
            inst = I.load(args.file)
        else:
            inst = I.from_cnf(C.read_dimacs(args.file), shape=args.shape,
                              source={"file": Path(args.file).name})
    except (ValueError, TypeError) as exc:
        print(f"attngrad decide: {exc}", file=sys.stderr)
        return 2
    print(I.summary(inst))
    bar = Bar("oracle calls")
    try:
        result = decide(inst, oracle, rule=args.rule, points=args.points, eps=args.eps,
                        progress=bar.update, device=args.device)
    except ValueError as exc:  # --device gpu where no GPU can be used
        bar.stop()
        print(f"attngrad decide: {exc}", file=sys.stderr)
        return 2
    except OracleError as exc:
        bar.stop()
        print(f"attngrad decide: the oracle failed: {exc}", file=sys.stderr)
        print("REFUSED")
        return 3
    finally:
        bar.stop()
    print(result.report())
    return 0 if result.status == "decided" else 3
