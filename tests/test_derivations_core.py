"""The statement framework itself (derivations/core.py, derivations/independence.py):
comparisons, statuses, step bases, independent sides."""
import mpmath
import numpy as np
import pytest
import sympy

from derivations import independence
from derivations.core import Erratum, Skip, Statement, Step, compare

x = sympy.Symbol("x", real=True)


def step(method, lhs, rhs, relation="==", tol=None, name="s"):
    return Step(name, "test", method, lambda: (lhs, rhs), relation=relation, tol=tol)


@pytest.mark.parametrize("method,lhs,rhs,holds", [
    ("symbolic", sympy.sin(x) ** 2 + sympy.cos(x) ** 2, sympy.Integer(1), True),
    ("symbolic", sympy.exp(2 * x), sympy.exp(x) ** 2, True),
    ("symbolic", sympy.exp(2 * x), sympy.exp(x) * 2, False),
    ("exact", sympy.Rational(1, 3), sympy.Rational(2, 6), True),
    ("exact", sympy.Rational(1, 3), sympy.Rational(1, 3) + sympy.Rational(1, 10 ** 60), False),
    ("exact", 0.5, sympy.Rational(1, 2), False),  # a float is never exact
    ("mpmath", mpmath.mpf(1) / 3, mpmath.mpf(1) / 3, True),
])
def test_equality(method, lhs, rhs, holds):
    with mpmath.workdps(50):
        assert compare(step(method, lhs, rhs), lhs, rhs)[0] is holds


def test_mpmath_tolerance_follows_working_precision():
    third = mpmath.mpf(1) / 3
    with mpmath.workdps(50):
        assert compare(step("mpmath", third, third), third, third + mpmath.mpf(10) ** -45)[0]
        assert not compare(step("mpmath", third, third), third, third + mpmath.mpf(10) ** -35)[0]


def test_float64_needs_a_stated_tolerance():
    with pytest.raises(ValueError, match="tol"):
        Step("s", "t", "float64", lambda: (1.0, 1.0))
    s = step("float64", 1.0, 1.0 + 1e-12, tol=1e-13)
    assert not compare(s, 1.0, 1.0 + 1e-12)[0]


def test_inequalities():
    assert compare(step("exact", 1, 2, "<="), 1, 2)[0]
    assert not compare(step("exact", 3, 2, "<="), 3, 2)[0]
    lo, hi = mpmath.iv.mpf([1, 2]), mpmath.iv.mpf([2.5, 3])
    assert compare(step("interval", lo, hi, "<="), lo, hi)[0]
    overlap = mpmath.iv.mpf([1.5, 2.6])
    assert not compare(step("interval", overlap, hi, "<="), overlap, hi)[0]  # not certified


def test_shape_and_length_mismatch_fail():
    a, b = np.ones((2, 2), dtype=object), np.ones((2, 3), dtype=object)
    assert not compare(step("mpmath", a, b), a, b)[0]
    assert not compare(step("exact", [1, 2], [1, 2, 3]), [1, 2], [1, 2, 3])[0]
    assert not compare(step("exact", [], []), [], [])[0]


def _statement(printed_holds=True, corrected_holds=True, erratum=False, skip=False):
    good = step("exact", 1, 1, name="good")
    printed = step("exact", 1, 1 if printed_holds else 2, name="printed")
    steps = [good, printed]
    if skip:
        def raise_skip():
            raise Skip("no device")
        steps.append(Step("gpu", "t", "gpu", raise_skip, tol=1e-6))
    corrected = [step("exact", 2, 2 if corrected_holds else 3, name="fixed")] if erratum else []
    errata = [Erratum("here", "p", "c", "e", step="printed")] if erratum else []
    return Statement("Test 1", "t", "t", steps, corrected=corrected, errata=errata)


@pytest.mark.parametrize("kwargs,status", [
    (dict(), "verified"),
    (dict(printed_holds=False), "failed"),                        # unexpected failure
    (dict(printed_holds=False, erratum=True), "corrected"),
    (dict(printed_holds=True, erratum=True), "failed"),           # erratum without evidence
    (dict(printed_holds=False, erratum=True, corrected_holds=False), "failed"),
    (dict(skip=True), "verified"),                                # skipped steps do not count
])
def test_status_logic(kwargs, status):
    assert _statement(**kwargs).run().status == status


def test_skipped_step_is_reported_and_not_a_method():
    r = _statement(skip=True).run()
    assert "skipped: gpu" in r.note and "gpu" not in r.methods


def _basis_statement(*bases, gaps=()):
    steps = [Step(f"s{k}", "[Ref] t" if b == "cited" else "t", "exact",
                  None if b == "cited" else (lambda: (1, 1 + 0)), basis=b)
             for k, b in enumerate(bases)]
    return Statement("Test 4", "t", "t", steps, gaps=list(gaps))


@pytest.mark.parametrize("bases,gaps,status", [
    (("checked",), (), "verified"),
    (("checked", "by construction"), (), "verified"),
    (("by construction",), (), "by construction"),   # nothing that could fail held
    (("checked", "cited"), (), "cited"),
    (("checked",), ("the time bound",), "partly established"),
])
def test_bases_and_gaps_give_honest_statuses(bases, gaps, status):
    r = _basis_statement(*bases, gaps=gaps).run()
    assert r.status == status
    assert {s["basis"] for s in r.as_dict()["steps"]} == set(bases)
    if gaps:
        assert "not established: the time bound" in r.note


def test_a_failing_step_by_construction_still_fails_the_statement():
    st = Statement("Test 5", "t", "t", [Step("s", "t", "exact", lambda: (1, 2), basis="by construction")])
    assert st.run().status == "failed"


def test_cited_steps_have_no_computation_and_others_need_one():
    with pytest.raises(ValueError, match="cited"):
        Step("s", "t", "exact", lambda: (1, 1), basis="cited")
    with pytest.raises(ValueError, match="cited"):
        Step("s", "t", "exact", None)
    with pytest.raises(ValueError, match="basis"):
        Step("s", "t", "exact", lambda: (1, 1), basis="trusted")


def test_json_marks_refuted_steps():
    r = _statement(printed_holds=False, erratum=True).run()
    steps = {s["name"]: s["status"] for s in r.as_dict()["steps"]}
    assert steps == {"good": "verified", "printed": "refuted (erratum)", "fixed": "verified"}


def _each(fn):
    def compute():
        return [("a", *fn({"a": np.arange(3.0)}))]
    return compute


def _collects_the_same_expression():
    cases = []
    for k in range(2):
        v = np.arange(3.0) * k
        cases.append((f"k={k}", v + 1, v + 1))
    return cases


def test_self_comparisons_are_flagged():
    """Each of these steps holds whatever the library computes; the independence check must
    name it, statically (same expression) or on its computed sides (same object)."""
    arr = np.arange(3.0)
    st = Statement("Test 6", "t", "t", [
        Step("lambda", "t", "exact", lambda: (arr * 2, arr * 2)),
        Step("helper", "t", "mpmath", _each(lambda ch: (ch["a"], ch["a"]))),
        Step("loop", "t", "exact", _collects_the_same_expression),
        Step("copy", "t", "mpmath", lambda: (attngrad_copy(arr), arr_mp)),
        Step("fine", "t", "exact", lambda: (arr * 2, arr + arr)),
        Step("built", "t", "exact", lambda: (arr, arr), basis="by construction"),
    ])
    found = independence.issues(st, st.evaluate())
    assert set(found) == {"lambda", "helper", "loop", "copy"}
    assert any("same object" in why for why in found["helper"])
    assert any("same object" in why for why in found["copy"])


arr_mp = np.array([mpmath.mpf(1) / 3, mpmath.mpf(2)], dtype=object)


def attngrad_copy(_):
    return arr_mp.copy()  # an object-array copy holds the very same mpf objects


def test_ball_comparisons_are_certified():
    import flint

    third = flint.arb(1) / 3
    le = step("ball", third, mpmath.mpf(1) / 2, "<=")
    assert compare(le, third, mpmath.mpf(1) / 2)[0]
    assert not compare(le, third, third)[0]          # overlapping balls: not certain
    eq = step("ball", third, third)
    with mpmath.workdps(50):
        assert compare(eq, mpmath.mpf(1) / 3, sympy.Rational(1, 3))[0]
        assert not compare(eq, mpmath.mpf(1) / 3, sympy.Rational(1, 3) + sympy.Rational(1, 10 ** 30))[0]
    with pytest.raises(TypeError, match="ball step"):
        compare(eq, sympy.sqrt(2), sympy.sqrt(2))


def test_a_step_that_raises_fails():
    def boom():
        raise ValueError("shapes do not compose")
    st = Statement("Test 2", "t", "t", [Step("s", "t", "exact", boom)])
    r = st.run()
    assert r.status == "failed" and "shapes do not compose" in r.printed[0].detail


def test_erratum_must_name_a_printed_step():
    with pytest.raises(ValueError, match="unknown printed step"):
        Statement("Test 3", "t", "t", [step("exact", 1, 1, name="a")], corrected=[step("exact", 1, 1)],
                  errata=[Erratum("l", "p", "c", "e", step="b")])
