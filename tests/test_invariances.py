"""Identities the mathematics guarantees, one test each, in mpmath (50 digits, 10^-40 relative
to the condition-aware magnitude) and, where stated, in float64 (twice the rounding-error bound
of each side).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import attngrad
from attngrad import formulas
from attngrad.backend import MpmathNamespace, NumpyNamespace

from .helpers import (ENTRY, abs_diff, args, assert_within, error_bounds, instance, instances, magnitudes,
                      mp_tol, to_mp)
from .profiles import examples
from .test_accuracy import check_float_vs_mpmath

SYSTEMS = ["mpmath", "float64"]
MP = "mpmath"


def _tol(system, inst, name, *others):
    """Tolerance for comparing quantity ``name`` of ``inst`` with the same of ``others``."""
    if system == MP:
        return mp_tol(magnitudes(inst)[name]) + sum(mp_tol(magnitudes(o)[name]) for o in others)
    return 2 * error_bounds(inst)[name] + sum(2 * error_bounds(o)[name] for o in others)


def _args(inst, system):
    return args(inst, to_mp) if system == MP else args(inst)


def _run(system, fn):
    if system == MP:
        with mpmath.workdps(50):
            return fn()
    return fn()


# --- f does not see a constant added to a row of scores -----------------------------------

@settings(max_examples=examples(25), deadline=None)
@given(instances(), st.floats(-3, 3), st.sampled_from(SYSTEMS))
@example(instance(1, 1, seed=0), 2.5, MP)
def test_row_shift_through_a_constant_column_of_A2(inst, kappa, system):
    """A2[:, -1] = kappa makes X[:, -1] shift row i of the scores by s kappa (A1 dX[:, -1])_i:
    f, c and L do not change, and dL/dX[:, -1] = s kappa A1^T (p 1_n) = 0 since p 1_n = 0."""
    inst = dict(inst)
    inst["A2"] = inst["A2"].copy()
    inst["A2"][:, -1] = kappa
    moved = dict(inst)
    moved["X"] = inst["X"].copy()
    moved["X"][:, -1] = np.linspace(-1, 1.5, inst["X"].shape[0])
    a, b = _args(inst, system), _args(moved, system)
    for name, fn in (("f", lambda z: attngrad.f(z[0], z[1], z[4])), ("c", lambda z: attngrad.c(*z)),
                     ("loss", lambda z: attngrad.loss(*z))):
        assert_within(f"{name} after a row shift ({system})", _run(system, lambda: fn(a)),
                      _run(system, lambda: fn(b)), _tol(system, inst, name, moved))
    for z, which in ((a, inst), (b, moved)):
        G = _run(system, lambda: attngrad.gradient(*z))
        assert_within(f"dL/dX[:, -1] ({system})", G[:, -1], np.zeros(G.shape[0]),
                      _tol(system, which, "grad_X")[:, -1])


@settings(max_examples=examples(25), deadline=None)
@given(st.data(), st.sampled_from(SYSTEMS))
def test_softmax_rows_ignores_row_constants(data, system):
    n = data.draw(st.integers(1, 6))
    m = data.draw(st.integers(1, 6))
    S = data.draw(hnp.arrays(np.float64, (n, m), elements=st.floats(-50, 50)))
    shift = data.draw(hnp.arrays(np.float64, (n, 1), elements=st.floats(-100, 100)))
    if system == MP:
        with mpmath.workdps(50):
            ns = MpmathNamespace()
            got = formulas.softmax_rows(ns, to_mp(S) + to_mp(shift))
            ref = formulas.softmax_rows(ns, to_mp(S))
        assert_within("softmax shift (mpmath)", got, ref, 1e-40 * ref.astype(float))
    else:
        ns = NumpyNamespace(np.dtype(np.float64))
        got, ref = formulas.softmax_rows(ns, S + shift), formulas.softmax_rows(ns, S)
        # S + shift is rounded: |delta| <= u |S + shift| per entry, which softmax turns into a
        # relative error of at most expm1(2 max |delta|); evaluating softmax(T) costs at most
        # 2 u (max T - min T) (the subtraction of the row max) + (m + 4) u (exp, sum, divide)
        # on each side; 2 u^-1 eta for entries that underflow.
        u = 2.0 ** -53
        T = S + shift

        def side(Z):
            return 2 * u * np.ptp(Z, axis=1, keepdims=True) + (m + 4) * u

        delta = u * np.abs(T).max(axis=1, keepdims=True)
        rel = np.expm1(2 * delta) + side(S) + side(T)
        assert_within("softmax shift (float64)", got, ref, 2 * rel * ref + 2.0 ** -1070)


# --- rows of f are probability vectors ----------------------------------------------------

@settings(max_examples=examples(30), deadline=None)
@given(instances(), st.sampled_from(SYSTEMS))
@example(instance(1, 1, seed=0), "float64")
def test_rows_of_f_are_positive_and_sum_to_one(inst, system):
    F = _run(system, lambda: attngrad.f(*_args(inst, system)[:2], _args(inst, system)[4]))
    n = F.shape[0]
    assert all(x > 0 for x in F.reshape(-1).tolist())  # scores here are at most 32 in size
    sums = _run(system, lambda: F.sum(axis=1))
    if system == MP:
        tol = 1e-40 * np.ones(n)
    else:
        u = 2.0 ** -53  # the sum of n entries adds gamma_(n-1) sum f = (n - 1) u / (1 - (n - 1) u)
        tol = 2 * error_bounds(inst)["f"].sum(axis=1) + (n - 1) * u / (1 - (n - 1) * u)
    assert_within(f"row sums of f ({system})", sums, np.ones(n), tol)


# --- large scores ------------------------------------------------------------------------

def _with_scores(inst, target):
    """Rescale X so that the largest |score| is ``target`` (scale 1/d)."""
    S = (inst["A1"] @ inst["X"] @ inst["A2"].T) / inst["X"].shape[0]
    big = np.abs(S).max()
    out = dict(inst)
    out["X"] = inst["X"] * (target / big)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("target", [40.0, 1e3])
@pytest.mark.parametrize("nd", [(1, 1), (4, 3), (5, 2)])
def test_large_scores_are_finite_and_correct(target, nd, dtype):
    """Scores of size 40 and 1000: f, c, p, L and both gradients are finite and within the
    rounding bound of mpmath; u and alpha, which overflow at 1000, raise ValueError instead."""
    n, d = nd
    inst = _with_scores(instance(n, d, seed=n * d, bound=1.0), target)
    check_float_vs_mpmath(inst, dtype=dtype)


# --- dL/dY --------------------------------------------------------------------------------

@settings(max_examples=examples(20), deadline=None)
@given(instances(max_n=4, max_d=3), st.sampled_from(SYSTEMS))
def test_dL_dY_is_fA3_transposed_times_c(inst, system):
    a = _args(inst, system)
    G = _run(system, lambda: attngrad.gradient(*a, wrt="Y"))
    ref = _run(system, lambda: (attngrad.f(a[0], a[1], a[4]) @ a[2]).T @ attngrad.c(*a))
    assert_within(f"dL/dY = (f A3)^T c ({system})", G, ref, _tol(system, inst, "grad_Y", inst))


@settings(max_examples=examples(20), deadline=None)
@given(instances(max_n=4, max_d=3), st.data())
def test_dL_dY_is_linear_in_the_residual(inst, data):
    """c = f A3 Y - E, so changing E by D changes dL/dY by -(f A3)^T D (mpmath)."""
    D = data.draw(hnp.arrays(np.float64, inst["E"].shape, elements=ENTRY))
    moved = dict(inst, E=inst["E"] + D)
    with mpmath.workdps(50):
        a, b = args(inst, to_mp), args(inst, to_mp)
        b[3] = to_mp(inst["E"]) + to_mp(D)
        lhs = attngrad.gradient(*a, wrt="Y") - attngrad.gradient(*b, wrt="Y")
        rhs = (attngrad.f(a[0], a[1], a[4]) @ a[2]).T @ to_mp(D)
    assert_within("dL/dY(E) - dL/dY(E + D)", lhs, rhs,
                  mp_tol(magnitudes(inst)["grad_Y"] + magnitudes(moved)["grad_Y"]) + 1e-40 * abs(rhs.astype(float)))


def test_abs_diff_keeps_the_precision_of_its_inputs():
    """The case that once failed: two 50-digit values 2.6e-51 apart, compared at the default
    15 digits, rounded to different 53-bit floats and differed by 2^-52."""
    with mpmath.workdps(50):
        x = mpmath.mpf("1.6573705208855341597384835949924308806657791137695339")
        y = mpmath.mpf("1.6573705208855341597384835949924308806657791137695313")
    err = abs_diff(np.array([x], dtype=object), np.array([y], dtype=object))[0]
    assert 2e-51 < err < 3e-51


# --- the scale -----------------------------------------------------------------------------

@settings(max_examples=examples(20), deadline=None)
@given(instances(max_n=4, max_d=4), st.sampled_from([1, 0.5, 3]))
@example(instance(2, 3, seed=0), 1)
def test_scale_t_at_X_equals_default_scale_at_t_d_X(inst, t):
    """s A1 X A2^T with s = t equals (1/d) A1 (t d X) A2^T: f, c, L agree, dL/dX scales by t d."""
    d = inst["X"].shape[0]
    moved = dict(inst, X=inst["X"] * (t * d))  # exact in mpmath (t d is a small dyadic)
    with mpmath.workdps(50):
        a = args(inst, to_mp)
        b = args(inst, to_mp)
        b[4] = to_mp(inst["X"]) * (mpmath.mpf(t) * d)
        pairs = {
            "f": (attngrad.f(a[0], a[1], a[4], scale=t), attngrad.f(b[0], b[1], b[4])),
            "c": (attngrad.c(*a, scale=t), attngrad.c(*b)),
            "loss": (attngrad.loss(*a, scale=t), attngrad.loss(*b)),
            "grad_X": (attngrad.gradient(*a, scale=t), attngrad.gradient(*b) * (mpmath.mpf(t) * d)),
            "grad_Y": (attngrad.gradient(*a, wrt="Y", scale=t), attngrad.gradient(*b, wrt="Y")),
        }
    m1, m2 = magnitudes(inst, t), magnitudes(moved)
    for name, (lhs, rhs) in pairs.items():
        k = t * d if name == "grad_X" else 1
        assert_within(f"scale={t} vs default ({name})", lhs, rhs, mp_tol(m1[name] + k * m2[name]))


def test_default_scale_is_one_over_d():
    inst = instance(3, 4, seed=2)
    with mpmath.workdps(50):
        a = args(inst, to_mp)
        assert_within("scale=None vs scale=1/d", attngrad.gradient(*a),
                      attngrad.gradient(*a, scale=mpmath.mpf(1) / 4), 1e-45)


# --- permutations ------------------------------------------------------------------------

@settings(max_examples=examples(20), deadline=None)
@given(instances(), st.randoms(use_true_random=False), st.sampled_from(SYSTEMS))
def test_permuting_rows_of_A1_and_E(inst, rnd, system):
    """Rows of A1 and E permuted together: rows of f and c permuted, L, dL/dX, dL/dY unchanged."""
    n = inst["A1"].shape[0]
    perm = list(range(n))
    rnd.shuffle(perm)
    moved = dict(inst, A1=inst["A1"][perm], E=inst["E"][perm])
    a, b = _args(inst, system), _args(moved, system)
    fa, fb = (_run(system, lambda z=z: attngrad.f(z[0], z[1], z[4])) for z in (a, b))
    assert_within("f rows", fb, fa[perm], _tol(system, moved, "f", inst))
    ca, cb = (_run(system, lambda z=z: attngrad.c(*z)) for z in (a, b))
    assert_within("c rows", cb, ca[perm], _tol(system, moved, "c", inst))
    for name, fn in (("loss", attngrad.loss), ("grad_X", attngrad.gradient),
                     ("grad_Y", lambda *z: attngrad.gradient(*z, wrt="Y"))):
        assert_within(f"{name} ({system})", _run(system, lambda: fn(*b)), _run(system, lambda: fn(*a)),
                      _tol(system, moved, name, inst))


@settings(max_examples=examples(20), deadline=None)
@given(instances(), st.randoms(use_true_random=False), st.sampled_from(SYSTEMS))
def test_permuting_rows_of_A2_and_A3(inst, rnd, system):
    """Keys and values permuted together: L (and both gradients) unchanged, columns of f permuted."""
    n = inst["A1"].shape[0]
    perm = list(range(n))
    rnd.shuffle(perm)
    moved = dict(inst, A2=inst["A2"][perm], A3=inst["A3"][perm])
    a, b = _args(inst, system), _args(moved, system)
    fa, fb = (_run(system, lambda z=z: attngrad.f(z[0], z[1], z[4])) for z in (a, b))
    assert_within("f columns", fb, fa[:, perm], _tol(system, moved, "f", inst))
    for name, fn in (("loss", attngrad.loss), ("grad_X", attngrad.gradient),
                     ("grad_Y", lambda *z: attngrad.gradient(*z, wrt="Y"))):
        assert_within(f"{name} ({system})", _run(system, lambda: fn(*b)), _run(system, lambda: fn(*a)),
                      _tol(system, moved, name, inst))


# --- Y = 0 --------------------------------------------------------------------------------

@settings(max_examples=examples(20), deadline=None)
@given(instances(), st.sampled_from(["mpmath", "float64", "float32"]))
@example(instance(1, 1, seed=0), "float32")
def test_Y_zero_gives_c_equal_minus_E(inst, system):
    """h = A3 0 = 0 exactly, so c = -E, L = ||E||^2 / 2 and dL/dX = 0, all exactly."""
    inst = dict(inst, Y=np.zeros_like(inst["Y"]))
    conv = {"mpmath": to_mp, "float64": None, "float32": lambda v: v.astype(np.float32)}[system]
    a = args(inst, conv)
    c = _run(system, lambda: attngrad.c(*a))
    assert all(x == -y for x, y in zip(c.reshape(-1).tolist(), a[3].reshape(-1).tolist()))
    G = _run(system, lambda: attngrad.gradient(*a))
    assert all(x == 0 for x in G.reshape(-1).tolist())
    L = _run(system, lambda: attngrad.loss(*a))
    E2 = _run(system, lambda: (a[3] * a[3]).sum() / 2)
    # the same sum, possibly in another order: at most gamma_(nd) ||E||^2 / 2 apart
    u = 2.0 ** -169 if system == MP else 2.0 ** -(np.finfo(a[3].dtype).nmant + 1)  # 169 bits = 50 digits
    assert _run(system, lambda: abs(L - E2) <= 2 * inst["E"].size * u * abs(E2))
