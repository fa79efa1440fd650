"""The ``attngrad`` command: one subparser per subcommand (check and errata here, the others
registered from their modules through ``_EXTENSIONS``); refusals are one line on stderr with
the exit statuses of attngrad/cliutil.py."""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from . import cliutil
from .progress import Bar

DESCRIPTION = """\
attngrad: a machine-checked reference for the gradient of attention loss
(Alman & Song, NeurIPS 2024). Each command has its own help: attngrad COMMAND --help."""


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
        paper_of = {s.id: s.paper for s in sts}
        print(json.dumps({"lemmas": [r.as_dict() | {"paper": paper_of[r.id]} for r in results],
                          "errata": errata}, indent=2))
    else:
        paper_of = {s.id: s.paper for s in sts}
        for paper, title in registry.PAPERS.items():
            mine = [r for r in results if paper_of[r.id] == paper]
            if mine:
                _table(mine, {s.id: s.summary for s in sts}, f"{paper}: {title}")
        from derivations.core import STATUSES

        counts = [f"{sum(r.status == s for r in results)} {s}" for s in STATUSES
                  if s != "failed" and any(r.status == s for r in results)]
        print(f"{cliutil.count(len(results), 'statement')}: " + ", ".join(counts)
              + f", {len(failed)} failed (errata: ERRATA.md; notes: --json)")
        for r in failed:
            print(r.report())
    return 1 if failed else 0


def _table(results, summaries, title):
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"attngrad check: {title}, statement by statement")
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
        path = cliutil.output_file(args.write, "--write")
        with cliutil.writing("--write", path):
            path.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Lists the subcommands one a line, without argparse's line for the COMMAND metavar."""

    def _format_action(self, action):
        text = super()._format_action(action)
        if action.nargs == argparse.PARSER:
            text = text.split("\n", 1)[1]
        return text


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="attngrad", description=DESCRIPTION,
                                 epilog=cliutil.exit_codes_text(), formatter_class=_Formatter)
    sub = ap.add_subparsers(dest="cmd", required=True, title="commands", metavar="COMMAND")
    c = sub.add_parser("check", help="verify the paper's statements, one table row each "
                                     "(exit 1 if one fails)")
    c.add_argument("--json", action="store_true", help="print JSON instead of a table")
    c.add_argument("--only", nargs="+", metavar="ID", help="check only these statement ids")
    c.add_argument("--slow", action="store_true", help="include statements marked slow")
    c.add_argument("--no-gpu", action="store_true", help="skip GPU steps")
    c.set_defaults(fn=_check)
    e = sub.add_parser("errata", help="print the errata found by the checks as Markdown "
                                      "(--write FILE: into FILE, e.g. ERRATA.md)")
    e.add_argument("--write", metavar="FILE", help="write to FILE (ERRATA.md) instead of stdout")
    e.set_defaults(fn=_errata)
    for path in _EXTENSIONS:
        module, _, fn = path.partition(":")
        getattr(importlib.import_module(module), fn)(sub)
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return cliutil.run(args.cmd, args.fn, args)


# Subcommands contributed by other modules, as "module:function"; the function
# takes the subparsers object, adds its parser and sets ``fn``.
_EXTENSIONS: list = ["attngrad.hard.cli:register", "attngrad.stress.cli:register",
                     "attngrad.bench:register"]


if __name__ == "__main__":
    sys.exit(main())
