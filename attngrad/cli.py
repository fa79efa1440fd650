"""The ``attngrad`` command.

  attngrad check [--json] [--only ID ...] [--slow] [--no-gpu]
      verify the paper's statements and print a table (exit 1 if any fails)
  attngrad errata [--write]
      print (or write ERRATA.md from) the errata registry
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from .progress import Bar


def _check(args) -> int:
    from derivations import registry

    sts = [s for s in registry.statements()
           if (not args.only or s.id in args.only) and (args.slow or not s.slow or args.only)]
    if args.only:
        unknown = set(args.only) - {s.id for s in sts}
        if unknown:
            print(f"unknown statement id(s): {sorted(unknown)}", file=sys.stderr)
            return 2
    results = []
    bar = Bar("checking", enabled=not args.json)
    bar.start(len(sts))
    try:
        for s in sts:
            bar.advance(s.id)
            results.append(s.run(gpu=not args.no_gpu))
    finally:
        bar.stop()
    ids = {s.id for s in sts}
    errata = [e.as_dict() | {"statement": sid} for sid, e in registry.errata() if sid in ids]
    failed = [r for r in results if r.status == "failed"]
    if args.json:
        print(json.dumps({"lemmas": [r.as_dict() for r in results], "errata": errata}, indent=2))
    else:
        _table(results, {s.id: s.summary for s in sts})
        from derivations.core import STATUSES

        counts = [f"{sum(r.status == s for r in results)} {s}" for s in STATUSES
                  if s != "failed" and any(r.status == s for r in results)]
        print(f"{len(results)} statements: " + ", ".join(counts)
              + f", {len(failed)} failed (errata: ERRATA.md; notes: --json)")
        for r in failed:
            print(r.report())
    return 1 if failed else 0


def _table(results, summaries):
    from rich.console import Console
    from rich.table import Table

    t = Table(title="attngrad check: Alman & Song (NeurIPS 2024), statement by statement")
    for col in ("id", "statement", "methods", "status", "max error"):
        t.add_column(col)
    colour = {"verified": "green", "corrected": "yellow", "partly established": "magenta",
              "cited": "cyan", "by construction": "blue", "failed": "bold red"}
    for r in results:
        err = "-" if r.max_error is None else f"{r.max_error:.1e}"
        t.add_row(r.id, summaries[r.id], ", ".join(r.methods),
                  f"[{colour[r.status]}]{r.status}[/]", err)
    Console(width=160).print(t)


def _errata(args) -> int:
    from derivations import registry

    text = registry.errata_markdown()
    if args.write:
        with open(args.write, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="attngrad", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="verify the paper's statements")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.add_argument("--only", nargs="+", metavar="ID", help="check only these statement ids")
    c.add_argument("--slow", action="store_true", help="include statements marked slow")
    c.add_argument("--no-gpu", action="store_true", help="skip GPU steps")
    c.set_defaults(fn=_check)
    e = sub.add_parser("errata", help="print the errata registry as Markdown")
    e.add_argument("--write", metavar="FILE", help="write to FILE (ERRATA.md)")
    e.set_defaults(fn=_errata)
    for path in _EXTENSIONS:
        module, _, fn = path.partition(":")
        getattr(importlib.import_module(module), fn)(sub)
    args = ap.parse_args(argv)
    return args.fn(args)


# Subcommands contributed by other modules, as "module:function"; the function
# takes the subparsers object, adds its parser and sets ``fn``.
_EXTENSIONS: list = ["attngrad.stress.cli:register", "attngrad.hard.cli:register",
                     "attngrad.bench:register"]


if __name__ == "__main__":
    sys.exit(main())
