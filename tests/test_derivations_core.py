"""The statement framework itself (derivations/core.py): comparisons, statuses, mutation."""
import mpmath
import numpy as np
import pytest
import sympy

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


def test_mutation_breaks_exactly_the_named_step():
    st = _statement(printed_holds=False, erratum=True)
    ev = st.evaluate()
    assert st.judge(ev).status == "corrected"
    for target in ("good", "corrected:fixed"):
        r = st.judge(ev, mutate=target)
        assert r.status == "failed" and target.removeprefix("corrected:") in r.note


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
