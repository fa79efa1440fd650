"""``attngrad stress``: fast gradient approximations against easy and hard instances."""
from __future__ import annotations

import argparse
import json
import os
import sys

from .. import cliutil
from ..progress import Bar
from . import families as fam
from . import harness


def _budget(text):
    name, sep, values = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--budget: expected METHOD=B1,B2,..., got {text!r}")
    try:
        bs = [int(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--budget: budgets must be integers, got {values!r}")
    if not bs or any(b < 1 for b in bs):
        raise argparse.ArgumentTypeError(f"--budget: budgets must be positive integers, got {values!r}")
    return name, tuple(bs)


def _ratios(text):
    fam_name, sep, values = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--ratios: expected FAMILY=R1,R2,..., got {text!r}")
    try:
        rs = tuple(float(v) for v in values.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--ratios: values must be numbers, got {values!r}")
    return fam_name, rs


def register(subparsers):
    p = subparsers.add_parser(
        "stress", help="fast gradient approximations against easy and hard instances",
        description=(
            "Run fast approximations of dL/dX (polynomial method, random features, truncated "
            "SVD, top-k, or module:function) on instance families indexed by the entry size B, "
            "and write stress.json and stress.png to --out. Error = ||g~ - g||_inf / ||g||_inf "
            "against attngrad.gradient."))
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created, with its "
                                                               "parents, before the run)")
    p.add_argument("--quick", action="store_true",
                   help="small sizes (n = 256, 512), under 2 minutes on a CPU")
    p.add_argument("--n", type=int, nargs="+", metavar="N", help="sizes n (overrides the preset)")
    p.add_argument("--d", type=int, help="head dimension d (default 16; the planted family uses "
                                         "max(d, 2 log2 n + 4))")
    p.add_argument("--methods", nargs="+", metavar="M",
                   help=f"built-in ({', '.join(harness.BUILTIN)}) or module:function "
                        "with attngrad.gradient's signature (module looked up in the current "
                        "directory first, as for decide --oracle)")
    p.add_argument("--budget", type=_budget, action="append", default=[], metavar="METHOD=B1,B2",
                   help="budgets for a method (degree / features / rank / k / budget=)")
    p.add_argument("--families", nargs="+", metavar="F", choices=fam.FAMILIES,
                   help=f"instance families (default all: {', '.join(fam.FAMILIES)})")
    p.add_argument("--ratios", type=_ratios, action="append", default=[], metavar="FAMILY=R1,R2",
                   help="grid of B / sqrt(ln n) for easy, sweep or planted")
    p.add_argument("--target", type=float, default=1e-3, help="relative error target (1e-3)")
    p.add_argument("--hard-ratio", type=float, default=2.0,
                   help="planted instances with B >= this x sqrt(ln n) count as hard (2)")
    p.add_argument("--seed", type=cliutil.seed, default=0, help="seed >= 0 (default 0)")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                   help="gpu: CuPy arrays through the same code")
    p.add_argument("--no-figure", action="store_true", help="write the JSON only")
    m = p.add_argument_group(
        "the multi-layer model (--model)",
        "Stress the fast multi-layer gradient (LSS24) instead: every head of every layer gets "
        "largest |score| B = ratio sqrt(ln n); the fast gradient at each degree (--budget "
        "fast=2,4,6) and the certified one at eps = --target x max |gradient| against the "
        "exact one. Writes stress_model.json and stress_model.png; exit status 1 if an error "
        "exceeds its certified bound. Grid: --ratios model=R1,R2,...")
    m.add_argument("--model", action="store_true", help="run the multi-layer model stress")
    m.add_argument("--layers", type=int, default=2, help="layers (default 2)")
    m.add_argument("--heads", type=int, default=4, help="heads, dividing d (default 4)")
    m.add_argument("--non-causal", action="store_true", help="no causal mask (default: causal)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(fn=_stress)
    return p


def _progress(bar):
    """harness.run's progress hook: called with the total, returns the step callable."""
    def start(total):
        bar.start(total)
        return bar.advance
    return start if bar.enabled else None


def config_from_args(args):
    preset = dict(harness.FULL if not args.quick else harness.QUICK)
    if args.n:
        preset["sizes"] = tuple(args.n)
    if args.d is not None:
        preset["d"] = args.d
    budgets = dict(preset.get("budgets", {}))
    methods = tuple(args.methods) if args.methods else tuple(harness.BUILTIN)
    budgets = {k: v for k, v in budgets.items() if k in methods}
    for name, bs in args.budget:
        budgets[name] = bs
    ratios = dict(preset.get("ratios", {}))
    for name, rs in args.ratios:
        ratios[name] = rs
    return harness.StressConfig(
        sizes=preset["sizes"], d=preset["d"], methods=methods, budgets=budgets,
        families=tuple(args.families) if args.families else fam.FAMILIES, ratios=ratios,
        target=args.target, hard_ratio=args.hard_ratio, seed=args.seed,
        device=args.device).check()


def write(result, out, figure=True, stem="stress", draw=None):
    """Write STEM.json (and STEM.png, drawn by ``draw``: the stress figure by default) into
    ``out``; returns the paths."""
    os.makedirs(out, exist_ok=True)
    path_json = os.path.join(out, f"{stem}.json")
    with open(path_json, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1, allow_nan=False)
        fh.write("\n")
    paths = [path_json]
    if figure:
        if draw is None:
            from .plot import figure as draw

        paths.append(draw(result, os.path.join(out, f"{stem}.png")))
    return paths


def _report(result, paths):
    """Print the tables and the claim; returns the exit status (1: the claim failed)."""
    from rich.console import Console
    from rich.table import Table

    con = Console(width=120)
    claim = result["claim"]
    t = Table(title="polynomial method: hard vs easy at the same n and degree")
    for col in ("n", "degree", "easy max rel err", "hard min rel err", "factor", "pass"):
        t.add_column(col)
    for c in claim["cases"]:
        t.add_row(str(c["n"]), str(c["degree"]), f"{c['easy_max_rel_error']:.2e}",
                  "non-finite" if c["hard_min_rel_error"] is None else f"{c['hard_min_rel_error']:.2e}",
                  "inf" if c["factor"] is None else f"{c['factor']:.1e}",
                  "[green]yes[/]" if c["pass"] else "[bold red]no[/]")
    if claim["cases"]:
        con.print(t)
    n_max = max(c["n"] for c in result["crossings"]) if result["crossings"] else None
    t2 = Table(title=f"where the relative error crosses {result['config']['target']:g} "
                     f"(random sign entries, n = {n_max}); x = B / sqrt(ln n)")
    for col in ("method", "budget", "where"):
        t2.add_column(col)
    for c in result["crossings"]:
        if c["family"] == "random" and c["n"] == n_max:
            t2.add_row(c["method"], str(c["budget"]), c["summary"])
    if result["crossings"]:
        con.print(t2)
    for f in result["failures"]:
        con.print(f"[red]failed[/]: {f}")
    verdict = {True: "[green]PASS[/]", False: "[bold red]FAIL[/]", None: "[yellow]not checked[/]"}
    con.print(f"claim ({claim['statement']}): {verdict[claim['pass']]}")
    con.print(f"{len(result['records'])} records in {result['elapsed_seconds']:.1f} s; wrote "
              + ", ".join(paths))
    return 1 if claim["pass"] is False else 0


def model_config_from_args(args):
    from . import model

    if args.methods or args.families or args.device != "cpu":
        raise ValueError("--model: --methods, --families and --device gpu do not apply "
                         "(the model stress runs the fast multi-layer gradient on the CPU)")
    preset = dict(model.FULL if not args.quick else model.QUICK)
    degrees, ratios = preset["degrees"], preset["ratios"]
    for name, bs in args.budget:
        if name != "fast":
            raise ValueError(f"--budget: with --model only fast=DEGREES, got {name!r}")
        degrees = bs
    for name, rs in args.ratios:
        if name != "model":
            raise ValueError(f"--ratios: with --model only model=R1,R2,..., got {name!r}")
        ratios = rs
    return model.ModelStressConfig(
        sizes=tuple(args.n) if args.n else preset["sizes"], d=16 if args.d is None else args.d,
        layers=args.layers, heads=args.heads, causal=not args.non_causal,
        degrees=tuple(degrees), ratios=tuple(ratios), target=args.target,
        seed=args.seed).check()


def _model_report(result, paths):
    """Print the table and the breaks; returns the exit status (1: an error beyond its bound)."""
    from rich.console import Console
    from rich.table import Table

    con = Console(width=120)
    cfg = result["config"]
    n = max(cfg["sizes"])
    t = Table(title=f"fast multi-layer gradient at n = {n}: relative error / certified bound "
                    f"by B / sqrt(ln n)")
    ratios = cfg["ratios"]
    t.add_column("run")
    for r in ratios:
        t.add_column(f"{r:g}")
    recs = {(r["kind"], r["degree"], r["ratio"]): r for r in result["records"] if r["n"] == n}
    for kind, g in [("degree", g) for g in cfg["degrees"]] + [("certified", None)]:
        cells = []
        for ratio in ratios:
            r = recs[(kind, g, ratio)]
            cells.append("refused" if r["status"] != "ok" else
                         f"{r['rel_error']:.1e} / {r['rel_bound']:.1e}")
        t.add_row(f"degree {g}" if g else f"eps {cfg['target']:g}", *cells)
    con.print(t)
    for b in result["breaks"]:
        if b["n"] == n:
            what = f"degree {b['degree']}" if b["degree"] else "certified"
            at = "never in the grid" if b["breaks_at_ratio"] is None else \
                f"from B / sqrt(ln n) = {b['breaks_at_ratio']:g}"
            con.print(f"{what}: {'refuses' if not b['degree'] else 'misses the target'} {at}")
    verdict = "[green]PASS[/]" if result["sound"] else "[bold red]FAIL[/]"
    con.print(f"every error within its certified bound: {verdict}")
    con.print(f"{len(result['records'])} records in {result['elapsed_seconds']:.1f} s; wrote "
              + ", ".join(paths))
    return 0 if result["sound"] else 1


def _stress(args) -> int:
    cliutil.output_dir(args.out, "--out")  # before the run, which takes minutes
    if args.model:
        from . import model

        make, run, label, stem, draw, report = (model_config_from_args, model.run,
                                                "stress --model", "stress_model", model.figure,
                                                _model_report)
    else:
        make, run, label, stem, draw, report = (config_from_args, harness.run, "stress",
                                                "stress", None, _report)
    try:
        config = make(args)
        bar = Bar(label, enabled=not args.no_progress)
        try:
            result = run(config, progress=_progress(bar))
        finally:
            bar.stop()
    except (ValueError, TypeError) as exc:
        print(f"attngrad stress: {exc}", file=sys.stderr)
        return 2
    with cliutil.writing("--out", args.out):
        paths = write(result, args.out, figure=not args.no_figure, stem=stem, draw=draw)
    return report(result, paths)
