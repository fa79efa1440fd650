"""The registry: every statement module of derivations/ and its errata.

Statement modules are the modules of this package that define ``STATEMENTS``
(a list of :class:`derivations.core.Statement`). The first paper's (AS24) are named by
section (s1_..., s3_..., s4_..., sA_..., sB_..., sC_..., sD_..., sE_...) and LSS24's
lss24_..., so that sorting by paper, then module name, keeps each paper's order.

A module may also define ``AMENDMENTS``: :class:`Amendment` objects that add steps and
errata to a statement defined elsewhere, or set the basis of some of its steps (e.g. the
references inside Section D's proofs, kept apart from the algorithm's checks).
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from functools import lru_cache

import derivations


@dataclass
class Amendment:
    """Steps, corrected steps and errata added to the statement ``id``; ``basis`` maps names
    of its existing steps (prefix "corrected:" for the corrected chain) to a basis."""

    id: str
    steps: list = field(default_factory=list)
    corrected: list = field(default_factory=list)
    errata: list = field(default_factory=list)
    basis: dict = field(default_factory=dict)


def _rebased(steps, basis, prefix):
    out = []
    for s in steps:
        key = prefix + s.name
        out.append(dataclasses.replace(s, basis=basis.pop(key)) if key in basis else s)
    return out


def amend(st, a: Amendment):
    """A new statement: ``st`` with the amendment's steps, errata and bases."""
    basis = dict(a.basis)
    steps = _rebased(st.steps, basis, "") + list(a.steps)
    corrected = _rebased(st.corrected, basis, "corrected:") + list(a.corrected)
    if basis:
        raise ValueError(f"{st.id}: an amendment names unknown steps {sorted(basis)}")
    return dataclasses.replace(st, steps=steps, corrected=corrected,
                               errata=list(st.errata) + list(a.errata))


@lru_cache(maxsize=None)
def statements() -> tuple:
    out, amendments = [], []
    names = [m.name for m in pkgutil.iter_modules(derivations.__path__)]
    for name in sorted(n for n in names if n.startswith("s")) + sorted(
            n for n in names if n.startswith("lss24_")):
        mod = importlib.import_module(f"derivations.{name}")
        out.extend(getattr(mod, "STATEMENTS", []))
        amendments.extend(getattr(mod, "AMENDMENTS", []))
    ids = [s.id for s in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise RuntimeError(f"duplicate statement ids: {dup}")
    for a in amendments:
        if a.id not in ids:
            raise RuntimeError(f"an amendment names an unknown statement {a.id!r}")
        k = ids.index(a.id)
        out[k] = amend(out[k], a)
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
