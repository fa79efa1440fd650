"""``attngrad generate`` and ``attngrad decide`` (registered in attngrad/cli.py).

  attngrad generate (--cnf FILE | --random-ksat K V M | --ov N DIM) [--seed S] [--planted]
                    [--shape {E.2,gap}] [--max-memory SIZE] -o OUT.npz
  attngrad decide FILE [--oracle module:function] [--rule {gauss,riemann}] [--points M]
                  [--eps EPS] [--shape {E.2,gap}] [--device {cpu,gpu}] [--max-memory SIZE]

Both estimate the memory of what they build (attngrad/hard/memory.py) and refuse, before
building, what exceeds --max-memory; refusals are one line with the statuses of
attngrad/cliutil.py.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..cliutil import (FILE_ERROR, REFUSED, SAT, UNSAT, USAGE, CommandError, add_max_memory,
                       count, input_file, output_file, plugin, require_memory, seed, writing)
from ..progress import Bar

_DECIDE_EPILOG = """\
exit status: 10 SAT, 20 UNSAT (the SAT-solver convention), 3 REFUSED; 2 bad input,
4 over --max-memory, 5 a file cannot be read, 6 the --oracle raised.

run time: the decoder makes 2m + 2 oracle calls with the Gauss rule (m points, printed in
its budget; with 4.3 v clauses: 3416 calls for 10 variables, 5512 for 12), each a full
gradient at N = 2^(ceil(v/2) + 1) tokens, so each 2 more variables take 4 to 6 times longer
(measured times in BENCHMARKS.md). After the first call it prints the number of calls and
the time left, and again after each tenth of them.
"""


def register(sub):
    g = sub.add_parser(
        "generate", help="write a hard instance of the SETH reduction (OUT.npz + OUT.json)",
        description="Build the gradient instance of Appendix E's reduction (CNF -> OV -> "
                    "attention -> gradient) and write it to OUT.npz, with its provenance record "
                    "in OUT.json beside it (the same record is printed on stdout).")
    src = g.add_mutually_exclusive_group(required=True)
    src.add_argument("--cnf", metavar="FILE", help="a DIMACS CNF file")
    src.add_argument("--random-ksat", nargs=3, type=int, metavar=("K", "V", "M"),
                     help="random K-CNF with V variables and M clauses")
    src.add_argument("--ov", nargs=2, type=int, metavar=("N", "DIM"),
                     help="random Orthogonal Vectors instance, N vectors per side")
    g.add_argument("--seed", type=seed, help="seed >= 0 (required with --random-ksat and --ov)")
    g.add_argument("--planted", action="store_true", help="plant a solution (yes instance)")
    g.add_argument("--shape", choices=("E.2", "gap"), default="E.2",
                   help="padding keys at the top score (Lemma E.2) or below it (wider gap)")
    g.add_argument("-o", "--out", required=True, metavar="OUT.npz",
                   help="output file; its name must end in .npz (decide reads any other name "
                        "as DIMACS); the provenance is written to OUT.json")
    add_max_memory(g)
    g.set_defaults(fn=_generate)

    d = sub.add_parser(
        "decide", help="decide a CNF from gradients alone (exit 10 SAT, 20 UNSAT, 3 REFUSED)",
        description="Run the decoder of Appendix E on FILE: evaluate f'(lambda) = 2 trace(dL/dX) "
                    "through a gradient oracle at Gauss-Legendre nodes, integrate, and compare "
                    "f(1) with the yes/no gap. The last line printed is SAT, UNSAT or REFUSED.",
        epilog=_DECIDE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("file", metavar="FILE",
                   help="a saved instance (.npz from generate; recognised by its content) or a "
                        "DIMACS CNF file")
    d.add_argument("--oracle", metavar="MODULE:FUNCTION",
                   help="gradient code with attngrad.gradient's signature (default: the exact "
                        "one); MODULE is looked up in the current directory first")
    d.add_argument("--rule", choices=("gauss", "riemann"), default="gauss",
                   help="gauss: certified Gauss-Legendre (Lemma E.6); riemann: Lemma E.4 with "
                        "Theorem E.5's parameters")
    d.add_argument("--points", type=int, help="quadrature points (default: what the budget needs)")
    d.add_argument("--eps", type=float, help="the oracle's accuracy per gradient entry")
    d.add_argument("--shape", choices=("E.2", "gap"), default="E.2", help="as for generate")
    d.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                   help="gpu: the oracle gets CuPy arrays (attngrad's CuPy path by default)")
    add_max_memory(d)
    d.set_defaults(fn=_decide)


def _usage(exc) -> CommandError:
    return CommandError(str(exc), USAGE)


def _read_cnf(args, path, flag):
    """The CNF in ``path``, after checking that its instance fits in --max-memory."""
    from . import cnf as C

    try:
        cnf = C.read_dimacs(input_file(path, flag))
    except ValueError as exc:
        raise _usage(exc) from None
    _require_cnf(args, cnf.num_vars, cnf.num_clauses, max(map(len, cnf.clauses), default=0),
                 f"{flag} {path}")
    return cnf


def _require_cnf(args, v, m, width, what):
    from .memory import MAX_HALF, cnf_bytes, shape

    h = (v + 1) // 2
    sizes = f"{count(v, 'variable')}, {count(m, 'clause')}: N = 2^{h + 1} tokens, d = {shape(1, m)[1]}"
    require_memory(args, cnf_bytes(v, m, width), f"{what} ({sizes})", at_least=h > MAX_HALF)


def _build(args):
    from . import cnf as C
    from . import instances as I
    from .memory import random_ov_bytes, shape

    if args.cnf:
        cnf = _read_cnf(args, args.cnf, "--cnf")
        return I.from_cnf(cnf, shape=args.shape, source={"file": Path(args.cnf).name})
    if args.seed is None:
        raise CommandError("--seed: required with --random-ksat and --ov")
    if args.random_ksat:
        k, v, m = args.random_ksat
        if v < 0 or m < 0 or not (1 <= k <= v or (k == 0 and m == 0)):
            raise CommandError(f"--random-ksat K V M: need V, M >= 0 and 1 <= K <= V, "
                               f"got K = {k}, V = {v}, M = {m}")
        _require_cnf(args, v, m, k, f"--random-ksat {k} {v} {m}")
        cnf = C.random_kcnf(k, v, m, seed=args.seed, planted=args.planted)
        return I.from_cnf(cnf, shape=args.shape,
                          source={"generator": "random_kcnf", "k": k, "seed": args.seed,
                                  "planted": args.planted})
    n, dim = args.ov
    if n < 1 or dim < 0:
        raise CommandError(f"--ov N DIM: need N >= 1 and DIM >= 0, got N = {n}, DIM = {dim}")
    N, d = shape(n, dim)
    require_memory(args, random_ov_bytes(n, dim), f"--ov {n} {dim} (N = {N} tokens, d = {d})")
    arrays, meta = I.ov_instance(n, dim, args.seed, planted=args.planted, shape=args.shape)
    return I.GradientInstance(**arrays, meta=meta)


def _generate(args) -> int:
    from . import instances as I

    out = output_file(args.out, "-o", suffix=".npz")
    sidecar = output_file(out.with_suffix(".json"), "-o (provenance)")
    inst = _build(args)
    record = json.dumps(inst.meta, indent=2, sort_keys=True)
    with writing("-o", out):
        I.save(inst, out)
    with writing("-o (provenance)", sidecar):
        sidecar.write_text(record + "\n", encoding="utf-8")
    print(record)
    print(I.summary(inst), file=sys.stderr)
    return 0


def load_oracle(spec: str):
    """The callable named by "module:function" (validate.load_callable's rule: the current
    directory first), guarded so that an exception it raises is one line and exit status 6."""
    try:
        return plugin("--oracle", spec)
    except (ValueError, TypeError) as exc:
        raise _usage(exc) from None


def _is_saved_instance(path: Path) -> bool:
    """A .npz name, or a zip file whatever its name (a renamed instance is not read as DIMACS)."""
    if path.suffix == ".npz":
        return True
    with path.open("rb") as fh:
        return fh.read(4) == b"PK\x03\x04"


def _load(args):
    from . import instances as I
    from .memory import saved_instance_bytes

    path = input_file(args.file, "FILE")
    try:
        if not _is_saved_instance(path):
            cnf = _read_cnf(args, path, "FILE")
            return I.from_cnf(cnf, shape=args.shape, source={"file": path.name})
        need = saved_instance_bytes(path)
        if need is not None:
            require_memory(args, need, f"FILE {args.file}")
        return I.load(path)
    except OSError as exc:
        raise CommandError(f"FILE {args.file}: cannot read ({exc.strerror or exc})",
                           FILE_ERROR) from None
    except ValueError as exc:
        raise _usage(exc) from None


def _decide(args) -> int:
    from .decoder import OracleError, decide, plan
    from .instances import summary
    from .memory import decoder_bytes

    oracle = load_oracle(args.oracle) if args.oracle else None
    if args.points is not None:
        if args.points < 1:
            raise CommandError(f"--points: must be a positive integer, got {args.points}")
        require_memory(args, decoder_bytes(1, 1, args.points), f"--points {args.points}")
    inst = _load(args)
    N, d = inst.A1.shape
    try:
        b = plan(inst, rule=args.rule, points=args.points, eps=args.eps)
    except ValueError as exc:
        raise _usage(exc) from None
    what = f"--points {args.points}" if args.points else f"the decoder's {b['points']} points"
    require_memory(args, decoder_bytes(N, d, b["points"]), f"{what} (N = {N}, d = {d})")
    print(summary(inst))
    print(f"decide: {b['calls']} oracle calls ({args.rule} rule, m = {b['points']} points)",
          file=sys.stderr, flush=True)
    bar = Bar("oracle calls", lines=True)
    try:
        result = decide(inst, oracle, rule=args.rule, points=args.points, eps=args.eps,
                        progress=bar.update, device=args.device)
    except ValueError as exc:  # --device gpu where no GPU can be used
        raise _usage(exc) from None
    except OracleError as exc:
        print("REFUSED")
        raise CommandError(f"the oracle failed: {exc}", REFUSED) from None
    finally:
        bar.stop()
    print(result.report())
    if result.status != "decided":
        return REFUSED
    return SAT if result.answer == "SAT" else UNSAT
