"""The registry itself: coverage of the paper, errata with evidence, ERRATA.md in sync,
and every step able to fail."""
from pathlib import Path

import pytest

from derivations import registry

ROOT = Path(__file__).resolve().parents[1]

# Statement ids the project promises to check (issues 3, 4, 6).
REQUIRED = (
    ["Fact 3.8", "Fact 3.9", "Fact A.1", "Fact A.2", "Fact A.4", "Lemma 3.10"]
    + [f"Definition {k}" for k in ("3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "C.3", "C.5")]
    + [f"Lemma B.1 Part {k}" for k in range(1, 9)]
    + [f"Lemma C.{k}" for k in (1, 2, 4, 6, 7, 8)]
    + ["Section 3.1 (Kronecker product)", "Definition A.3"]
    + ["Lemma E.3", "Lemma E.4", "Theorem E.5", "Lemma E.6 (ours)"]
    + [f"Lemma D.{k}" for k in range(1, 6)] + ["Theorem D.6", "Lemma D.7 (ours)"]
    + ["Lemma D.8 (ours)", "Lemma D.9 (ours)", "Theorem D.10 (ours)", "Lemma D.11 (ours)",
       "Lemma D.12 (ours)"]
)


def test_ids_unique_and_nonempty():
    ids = registry.ids()
    assert len(ids) == len(set(ids))
    for s in registry.statements():
        assert s.steps, f"{s.id} has no steps"
        assert s.printed.strip(), f"{s.id} has no printed text"


@pytest.mark.parametrize("sid", REQUIRED)
def test_required_statement_present(sid):
    assert sid in registry.ids(), f"{sid} is not in the registry"


def test_every_statement_has_a_test():
    """test_statements.py parametrizes over the registry; check the collected ids match."""
    from proofs_check import test_statements

    assert [s.id for s in test_statements.STATEMENTS] == registry.ids()


def test_errata_md_in_sync():
    path = ROOT / "ERRATA.md"
    assert path.read_text(encoding="utf-8") == registry.errata_markdown(), (
        "ERRATA.md is stale: run `attngrad errata --write ERRATA.md`")


def test_errata_are_complete():
    for sid, e in registry.errata():
        for field in ("location", "printed", "corrected", "evidence"):
            assert getattr(e, field).strip(), f"{sid}: erratum without {field}"


def _fast_statements():
    return [s for s in registry.statements() if not s.slow]


@pytest.mark.parametrize("statement", [pytest.param(s, id=s.id) for s in _fast_statements()])
def test_breaking_any_step_fails_exactly_that_statement(statement):
    """Mutate each step that holds (printed and corrected chains): the statement must fail
    and the report must name the broken step."""
    evaluated = statement.evaluate()
    base = statement.judge(evaluated)
    expected = {e.step for e in statement.errata}
    targets = [r.name for r in base.printed if r.ok and r.name not in expected]
    targets += [f"corrected:{r.name}" for r in base.corrected if r.ok]
    for name in targets:
        broken = statement.judge(evaluated, mutate=name)
        assert broken.status == "failed", f"{statement.id}: breaking {name!r} went unnoticed"
        assert name.removeprefix("corrected:") in broken.note, broken.note
