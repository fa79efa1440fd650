"""The registry itself: coverage of the paper, errata with evidence, ERRATA.md in sync,
and every checked step computing its two sides independently (derivations/independence.py)."""
from pathlib import Path

import pytest

from derivations import independence, registry

from .evaluated import evaluated

ROOT = Path(__file__).resolve().parents[1]

# Statement ids the project promises to check (issues 3, 4, 6, 18).
REQUIRED = (
    [f"Definition {k}" for k in ("1.1", "1.2", "1.4", "E.1")]
    + ["Theorem 1.5", "Theorem 1.6", "Lemma 4.1", "Lemma E.2"]
    + ["Fact 3.8", "Fact 3.9", "Fact A.1", "Fact A.2", "Fact A.4", "Lemma 3.10"]
    + [f"Definition {k}" for k in ("3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "C.3", "C.5")]
    + [f"Lemma B.1 Part {k}" for k in range(1, 9)]
    + [f"Lemma C.{k}" for k in (1, 2, 4, 6, 7, 8)]
    + ["Section 3.1 (Kronecker product)", "Definition A.3"]
    + ["Lemma E.3", "Lemma E.4", "Theorem E.5", "Lemma E.6 (ours)"]
    + [f"Lemma D.{k}" for k in range(1, 6)] + ["Theorem D.6", "Lemma D.7 (ours)"]
    + ["Lemma D.8 (ours)", "Lemma D.9 (ours)", "Theorem D.10 (ours)", "Lemma D.11 (ours)",
       "Lemma D.12 (ours)"]
    + [f"LSS24 Lemma T.{k} (ours)" for k in range(1, 11)]  # the multi-layer model, exact and fast
    # LSS24 as printed (issue 14): definitions, closed forms, low-rank constructions, causal
    # mask, residual and multi-head, the error induction and the main results
    + [f"LSS24 Definition {k}" for k in ("1.1", "1.2", "1.3", "3.1", "3.3", "C.3", "C.6", "C.7",
                                         "C.8", "C.9", "C.10", "C.11", "C.12", "D.15", "D.16",
                                         "I.2", "I.5", "J.1", "J.2", "K.1")]
    + ["LSS24 Fact C.1", "LSS24 Fact C.2", "LSS24 Lemma 3.4", "LSS24 Algorithm 1",
       "LSS24 Algorithm 2"]
    + [f"LSS24 Theorem {k}" for k in ("1.4", "4.1", "4.2")]
    + [f"LSS24 Lemma C.{k}" for k in (4, 13, 14, 15, 16, 17, 18, 19)]
    + [f"LSS24 Lemma D.{k}" for k in range(1, 15)] + ["LSS24 Lemma D.17"]
    + [f"LSS24 Lemma E.{k}" for k in range(1, 12)]
    + [f"LSS24 Lemma {k}" for k in ("F.3", "F.4", "F.5", "G.1", "G.2", "G.3", "G.4", "H.1",
                                    "H.2", "H.3", "H.4", "I.1", "I.3", "I.4", "I.6", "I.7",
                                    "I.8", "J.3", "J.4", "J.5", "K.2")]
)


def test_papers_known_and_in_order():
    """Every statement belongs to a known paper, the first paper's statements first."""
    papers = [s.paper for s in registry.statements()]
    assert set(papers) <= set(registry.PAPERS)
    assert papers == sorted(papers, key=list(registry.PAPERS).index)


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
def test_checked_steps_compute_their_sides_independently(statement):
    """A checked step whose two sides are the same object or the same expression would hold
    whatever the library or the paper says: it must be declared "by construction" instead."""
    found = independence.issues(statement, evaluated(statement.id))
    assert not found, f"{statement.id}: {found}"


def test_no_step_compares_an_expression_with_itself():
    """The static half of the check, for every statement (slow ones included)."""
    found = {s.id: independence.issues(s) for s in registry.statements()}
    assert not {k: v for k, v in found.items() if v}


def test_every_cited_step_names_its_source():
    for s in registry.statements():
        for step in s.steps + s.corrected:
            if step.basis == "cited":
                assert "[" in step.text and "]" in step.text, (s.id, step.name)


# Statuses that must stay honest: a cited claim is not "verified", a partial repair is not
# "corrected", and steps that hold by construction are labelled so.
HONEST = {"Fact A.4": "cited", "Lemma E.2": "cited", "Theorem E.5": "partly established",
          "Theorem 1.5": "partly established", "Theorem 1.6": "partly established",
          "LSS24 Lemma C.13": "partly established", "LSS24 Lemma H.4": "partly established",
          "LSS24 Theorem 4.1": "partly established", "LSS24 Theorem 4.2": "partly established",
          "LSS24 Algorithm 1": "partly established", "LSS24 Lemma D.17": "corrected",
          "LSS24 Lemma G.3": "corrected", "LSS24 Lemma F.4": "corrected"}
BY_CONSTRUCTION = {
    "Lemma D.1": ["k1 = binom(g + d, d)"], "Lemma D.2": ["identity"],
    "Lemma D.3": ["printed factorisation", "k2 = max{d, k} + d suffices", "k2 = d"],
    "Lemma D.4": ["k3 = k1 k2"], "Lemma D.5": ["k4 = k1", "V1^T V2 is k1 x k2"],
    "Definition 3.7": ["L symbolic", "L mpmath"],
    "LSS24 Lemma C.13": ["k1 = binom(g + d, d)"], "LSS24 Definition D.15": ["D_k in R^{n x d}"],
}


@pytest.mark.parametrize("sid", sorted(HONEST))
def test_honest_statuses(sid):
    st = registry.get(sid)
    result = st.judge(evaluated(sid))
    assert result.status == HONEST[sid], result.note
    if result.status == "partly established":
        assert "not established: " in result.note


@pytest.mark.parametrize("sid", sorted(BY_CONSTRUCTION))
def test_steps_that_cannot_fail_are_labelled(sid):
    st = registry.get(sid)
    built = [s.name for s in st.steps + st.corrected if s.basis == "by construction"]
    assert sorted(built) == sorted(BY_CONSTRUCTION[sid])
    steps = {s["name"]: s for s in st.judge(evaluated(sid)).as_dict()["steps"]}
    assert all(steps[name]["status"] == "by construction" for name in built)


def test_an_amendment_naming_an_unknown_step_is_refused():
    st = registry.get("Lemma D.2")
    with pytest.raises(ValueError, match="unknown steps"):
        registry.amend(st, registry.Amendment("Lemma D.2", basis={"no such step": "cited"}))


def _erratum_statement(compute, ill_formed=None):
    from derivations.core import Erratum, Statement, Step
    return Statement(
        "Test 1", "a printed step and its correction", "x = y",
        steps=[Step("printed", "as printed", "exact", compute, ill_formed=ill_formed)],
        corrected=[Step("corrected", "as corrected", "exact", lambda: (1, 1))],
        errata=[Erratum("here", "x = y", "x = x", "the printed step fails", "printed")])


def test_an_erratum_is_refuted_by_a_comparison_not_by_a_crash():
    """A printed step that fails its comparison is refuted; one that raises is a broken step
    (the statement fails), unless it is declared ill-formed and raises exactly that."""
    from derivations.core import undefined

    def undefined_k():
        return {}["k"]

    assert _erratum_statement(lambda: (1, 2)).run().status == "corrected"
    assert _erratum_statement(lambda: []).run().status == "failed"        # compares nothing
    assert _erratum_statement(undefined_k).run().status == "failed"
    assert _erratum_statement(undefined_k, undefined("k")).run().status == "corrected"
    assert _erratum_statement(undefined_k, undefined("m")).run().status == "failed"
    assert _erratum_statement(undefined_k, (ValueError, "k")).run().status == "failed"
    note = _erratum_statement(undefined_k).run().note
    assert "raised or compared nothing instead of failing a comparison: printed" in note
