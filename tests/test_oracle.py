"""The library against tests/oracle.py, an independent loop-by-loop reading of the definitions.

At 50 digits the tolerance is 10^-40 relative, in float64 10^-9 relative; "relative" means
relative to helpers.abs_scale, the quantity's formula evaluated on absolute values, so
cancellation in p = p1 - p2 or in the gradient neither hides an error nor makes the test
fail spuriously. (Rounding errors are at most about (n + d^2)(1 + |S|) u times that scale.)
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import attngrad

from . import oracle
from .helpers import abs_scale, args, assert_within, instance, instances, to_mp
from .profiles import examples

ORACLE = {
    "loss": lambda a, s: oracle.loss(*a, scale=s),
    "grad_X": lambda a, s: oracle.grad_X(*a, scale=s),
    "grad_Y": lambda a, s: oracle.grad_Y(*a, scale=s),
}
LIBRARY = {
    "loss": lambda a, s: attngrad.loss(*a, scale=s),
    "grad_X": lambda a, s: attngrad.gradient(*a, scale=s),
    "grad_Y": lambda a, s: attngrad.gradient(*a, wrt="Y", scale=s),
}
INTERMEDIATE = {
    "u": (lambda a, s: oracle.u(a[0], a[1], a[4], s), lambda a, s: attngrad.u(a[0], a[1], a[4], scale=s)),
    "alpha": (lambda a, s: oracle.alpha(a[0], a[1], a[4], s),
              lambda a, s: attngrad.alpha(a[0], a[1], a[4], scale=s)),
    "f": (lambda a, s: oracle.f(a[0], a[1], a[4], s), lambda a, s: attngrad.f(a[0], a[1], a[4], scale=s)),
    "h": (lambda a, s: oracle.h(a[2], a[5]), lambda a, s: attngrad.h(a[2], a[5])),
    **{k: (lambda a, s, k=k: getattr(oracle, k)(*a, scale=s),
           lambda a, s, k=k: getattr(attngrad, k)(*a, scale=s))
       for k in ("c", "q", "p", "p1", "p2", "r")},
}


def _check(inst, names, system, scale=None):
    mag = abs_scale(inst, scale)
    rel = 1e-40 if system == "mpmath" else 1e-9
    with mpmath.workdps(50):
        a_mp = args(inst, to_mp)
        a = a_mp if system == "mpmath" else args(inst)
        for name in names:
            if name in ORACLE:
                ref, got = ORACLE[name](a_mp, scale), LIBRARY[name](a, scale)
            else:
                ref, got = INTERMEDIATE[name][0](a_mp, scale), INTERMEDIATE[name][1](a, scale)
            assert_within(f"{name} ({system})", got, ref, rel * mag[name])


@settings(max_examples=examples(30), deadline=None)
@given(instances(max_n=4, max_d=3), st.sampled_from(["mpmath", "float64"]))
@example(instance(1, 1, seed=3, bound=2.0), "mpmath")
@example(instance(1, 1, seed=3, bound=2.0), "float64")
@example(instance(5, 4, seed=4, bound=2.0), "mpmath")
def test_loss_and_gradients_match_the_oracle(inst, system):
    _check(inst, ("loss", "grad_X", "grad_Y"), system)


@settings(max_examples=examples(10), deadline=None)
@given(instances(max_n=4, max_d=3), st.sampled_from([1, 0.5]))
def test_loss_and_gradients_match_the_oracle_with_scale(inst, scale):
    _check(inst, ("loss", "grad_X", "grad_Y"), "mpmath", scale=scale)


@settings(max_examples=examples(15), deadline=None)
@given(instances(max_n=4, max_d=3))
@example(instance(1, 1, seed=3, bound=2.0))
def test_intermediates_match_the_oracle(inst):
    _check(inst, tuple(INTERMEDIATE), "mpmath")


@settings(max_examples=examples(15), deadline=None)
@given(instances(max_n=4, max_d=3))
def test_attention_matches_the_oracle(inst):
    Q, K, V = inst["A1"], inst["A2"], np.hstack([inst["A3"], inst["E"]])
    with mpmath.workdps(50):
        got = attngrad.attention(to_mp(Q), to_mp(K), to_mp(V))
        ref = oracle.attention(Q, K, V)
    scale = max(1.0, float(np.abs(V).max()))
    assert_within("attention", got, ref, 1e-40 * scale)


def test_the_oracle_check_can_fail():
    """A gradient off by 1e-30 relative at 50 digits is rejected (so is 1e-7 in float64, where the scale is about 20 |grad|)."""
    inst = instance(3, 2, seed=9, bound=1.5)
    mag = abs_scale(inst)["grad_X"]
    with mpmath.workdps(50):
        g = attngrad.gradient(*args(inst, to_mp))
        ref = oracle.grad_X(*args(inst, to_mp))
        assert_within("ok", g, ref, 1e-40 * mag)
        with pytest.raises(AssertionError):
            assert_within("perturbed", g * (1 + mpmath.mpf("1e-30")), ref, 1e-40 * mag)
        g64 = attngrad.gradient(*args(inst))
        with pytest.raises(AssertionError):
            assert_within("perturbed float64", g64 * (1 + 1e-7), ref, 1e-9 * mag)
