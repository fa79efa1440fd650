"""The registry: every statement module of derivations/ and its errata.

Statement modules are the modules of this package that define ``STATEMENTS``
(a list of :class:`derivations.core.Statement`). The first paper's (AS24) are named by
section (s3_..., sA_..., sB_..., sC_..., sD_..., sE_...) and LSS24's lss24_..., so that
sorting by paper, then module name, keeps each paper's order.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

import derivations


@lru_cache(maxsize=None)
def statements() -> tuple:
    out = []
    names = [m.name for m in pkgutil.iter_modules(derivations.__path__)]
    for name in sorted(n for n in names if n.startswith("s")) + sorted(
            n for n in names if n.startswith("lss24_")):
        mod = importlib.import_module(f"derivations.{name}")
        out.extend(getattr(mod, "STATEMENTS", []))
    ids = [s.id for s in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise RuntimeError(f"duplicate statement ids: {dup}")
    return tuple(out)


#: paper -> short citation, in the order `attngrad check` reports them
PAPERS = {"AS24": "Alman & Song (NeurIPS 2024)",
          "LSS24": "Liang, Sha, Shi, Song & Zhou (arXiv 2408.13233)"}


def get(sid: str):
    for s in statements():
        if s.id == sid:
            return s
    raise KeyError(sid)


def ids() -> list:
    return [s.id for s in statements()]


def errata() -> list:
    """All errata, in paper order, as (statement id, Erratum)."""
    return [(s.id, e) for s in statements() for e in s.errata]


def errata_markdown() -> str:
    """The text of ERRATA.md, generated from the registry."""
    lines = ["# Errata",
             "",
             "Generated from the statement registry in derivations/ by "
             "`attngrad errata --write`; do not edit by hand.",
             "Each entry was found by a check that runs the printed statement and fails; "
             "`attngrad check --only ID` reruns it.",
             ""]
    for sid, e in errata():
        lines += [f"## {e.location}", "",
                  f"- Statement: {sid} (printed step `{e.step}`)",
                  f"- As printed: {e.printed}",
                  f"- Corrected: {e.corrected}",
                  f"- Evidence: {e.evidence}", ""]
    if not errata():
        lines.append("No errata recorded.")
    return "\n".join(lines).rstrip() + "\n"
