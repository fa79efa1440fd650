"""dL/dX and dL/dY against central finite differences of L, in mpmath at 60 digits.

Step h = 2^-66 (about 1.4e-20, a power of two so X +- h E_ab is exact). The central
difference has truncation error h^2/6 |L'''| (about 3e-41 |L'''|) and rounding error about
10^-60 |L| / h (about 1e-40 |L|); for entries in [-2, 2] the third derivatives are far below
10^7, so a tolerance of 1e-33 (1 + |L| + max |grad|) has room for both and still sees a
gradient that is off by 1e-12 relative (checked below).
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings

import attngrad

from .helpers import args, instance, instances, to_mp
from .profiles import examples

DPS = 60
STEP = mpmath.ldexp(1, -66)


def central_differences(inst, wrt):
    """The d x d matrix of (L(Z + h E_ab) - L(Z - h E_ab)) / 2h, Z = X or Y, at the current precision."""
    a = args(inst, to_mp)
    k = 4 if wrt == "X" else 5
    d = a[k].shape[0]
    out = np.empty((d, d), dtype=object)
    for i in range(d):
        for j in range(d):
            plus, minus = list(a), list(a)
            plus[k], minus[k] = a[k].copy(), a[k].copy()
            plus[k][i, j] += STEP
            minus[k][i, j] -= STEP
            out[i, j] = (attngrad.loss(*plus) - attngrad.loss(*minus)) / (2 * STEP)
    return out


def assert_matches_fd(inst, grad, wrt):
    with mpmath.workdps(DPS):
        L = attngrad.loss(*args(inst, to_mp))
        fd = central_differences(inst, wrt)
        g = np.asarray(grad, dtype=object)
        tol = mpmath.mpf("1e-33") * (1 + abs(L) + max(abs(x) for x in g.reshape(-1)))
        err = max(abs(x - y) for x, y in zip(g.reshape(-1), fd.reshape(-1)))
        assert err <= tol, f"dL/d{wrt}: |grad - central difference| = {mpmath.nstr(err, 5)} > {mpmath.nstr(tol, 5)}"


def gradient_mp(inst, wrt, **kw):
    with mpmath.workdps(DPS):
        return attngrad.gradient(*args(inst, to_mp), wrt=wrt, **kw)


@settings(max_examples=examples(12), deadline=None)
@given(instances(max_n=4, max_d=3))
@example(instance(1, 1, seed=0, bound=2.0))
@example(instance(3, 3, seed=5, bound=2.0))
def test_gradient_X_matches_central_differences(inst):
    assert_matches_fd(inst, gradient_mp(inst, "X"), "X")


@settings(max_examples=examples(12), deadline=None)
@given(instances(max_n=4, max_d=3))
@example(instance(1, 1, seed=0, bound=2.0))
def test_gradient_Y_matches_central_differences(inst):
    assert_matches_fd(inst, gradient_mp(inst, "Y"), "Y")


@settings(max_examples=examples(6), deadline=None)
@given(instances(max_n=3, max_d=2))
def test_naive_gradient_matches_central_differences(inst):
    assert_matches_fd(inst, gradient_mp(inst, "X", method="naive"), "X")


@pytest.mark.parametrize("wrt", ["X", "Y"])
def test_finite_differences_see_a_relative_error_of_1e_12(wrt):
    """The check can fail: the true gradient times (1 + 1e-12) is rejected."""
    inst = instance(3, 2, seed=11, bound=1.5)
    g = gradient_mp(inst, wrt)
    assert_matches_fd(inst, g, wrt)
    with mpmath.workdps(DPS):
        bad = g * (1 + mpmath.mpf("1e-12"))
    with pytest.raises(AssertionError):
        assert_matches_fd(inst, bad, wrt)


def test_float64_gradient_matches_central_differences_to_float64_accuracy():
    """The float64 gradient, compared with the 60-digit differences (the float64 bound of helpers)."""
    from .helpers import assert_within, error_bounds

    inst = instance(4, 3, seed=2, bound=2.0)
    b = error_bounds(inst)
    for wrt, key in (("X", "grad_X"), ("Y", "grad_Y")):
        with mpmath.workdps(DPS):
            fd = central_differences(inst, wrt)
        assert_within(f"float64 dL/d{wrt}", attngrad.gradient(*args(inst), wrt=wrt), fd, 2 * b[key])
