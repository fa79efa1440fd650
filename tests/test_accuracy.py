"""Accuracy: float64 / float32 against mpmath at 50 digits, exact against naive gradients.

Every float tolerance is twice the rounding-error bound of tests/helpers.error_bounds for the
system's unit roundoff (plus the reference's own bound); mpmath agreement uses the team's
10^-(dps-10) relative to the same condition-aware magnitudes.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import attngrad

from .helpers import (ETA32, ETA64, NAMES, U32, args, assert_within, error_bounds, instance, instances, magnitudes,
                      mp_tol, to_mp)
from .profiles import examples

FORWARD = ("u", "alpha", "f")           # take (A1, A2, X)
CHAIN = ("c", "q", "p", "p1", "p2", "r")  # take all six
QUANTITIES = FORWARD + ("h",) + CHAIN + ("loss", "grad_X", "grad_Y")

# A pinned instance: n = 1 (f = 1 exactly, p = 0) and d = 1.
N1D1 = {"A1": np.array([[0.5]]), "A2": np.array([[-1.5]]), "A3": np.array([[2.0]]),
        "E": np.array([[0.25]]), "X": np.array([[1.0]]), "Y": np.array([[-0.75]])}
# Odd sizes, scores of order 30 (entries 2, n = 3, d = 5 would exceed the strategy; d = 3 here).
ODD = {k: np.full(s, 2.0) * np.where(np.indices(s).sum(axis=0) % 2, 1, -1)
       for k, s in {"A1": (3, 3), "A2": (3, 3), "A3": (3, 3), "E": (3, 3), "X": (3, 3),
                    "Y": (3, 3)}.items()}


def compute(name, a, scale=None):
    """One quantity through the public API; ``a`` is the list of six inputs."""
    A1, A2, A3, E, X, Y = a
    if name in FORWARD:
        return getattr(attngrad, name)(A1, A2, X, scale=scale)
    if name == "h":
        return attngrad.h(A3, Y)
    if name in CHAIN or name == "loss":
        return getattr(attngrad, name)(*a, scale=scale)
    if name == "grad_X":
        return attngrad.gradient(*a, scale=scale)
    if name == "grad_Y":
        return attngrad.gradient(*a, wrt="Y", scale=scale)
    raise KeyError(name)


def finite_in_float64(bound):
    return np.all(np.isfinite(bound))


def check_float_vs_mpmath(inst, scale=None, dtype=np.float64, names=QUANTITIES):
    """Each quantity in float64 (or float32) against the library's mpmath path at 50 digits."""
    u, eta = (2.0 ** -53, 2.0 ** -1074) if dtype == np.float64 else (U32, ETA32)
    inst = {k: np.asarray(v, dtype=dtype) for k, v in inst.items()}
    b = error_bounds({k: v.astype(np.float64) for k, v in inst.items()}, scale, u=u, eta=eta)
    mag = magnitudes({k: v.astype(np.float64) for k, v in inst.items()}, scale)
    with mpmath.workdps(50):
        a_mp = args(inst, to_mp)
        for name in names:
            ref = compute(name, a_mp, scale)
            if not finite_in_float64(b[name]) or not np.all(np.isfinite(
                    np.asarray(attngrad.to_float64(np.asarray(ref)), dtype=np.float64))):
                # the float result would overflow: the library must say so, not return inf
                # the message must be the overflow report of this very result (a bare
                # match=name would accept almost any message: "u", "f", "c" are single letters)
                what = "gradient" if name.startswith("grad") else name
                with pytest.raises(ValueError, match=rf"^{what}: the result overflowed"):
                    compute(name, args(inst), scale)
                continue
            got = compute(name, args(inst), scale)
            assert np.asarray(got).dtype == dtype, (name, np.asarray(got).dtype)
            assert_within(f"{name} ({np.dtype(dtype).name})", got, ref,
                          2 * b[name] + mp_tol(mag[name]))


@settings(max_examples=examples(40), deadline=None)
@given(instances())
@example(N1D1)
@example(ODD)
def test_float64_matches_mpmath_every_quantity(inst):
    check_float_vs_mpmath(inst)


@settings(max_examples=examples(15), deadline=None)
@given(instances(max_n=4, max_d=3), st.sampled_from([1, 0.5, 3]))
def test_float64_matches_mpmath_with_scale(inst, scale):
    check_float_vs_mpmath(inst, scale=scale, names=("f", "c", "loss", "grad_X", "grad_Y"))


@settings(max_examples=examples(20), deadline=None)
@given(instances(max_n=4, max_d=3))
@example(N1D1)
def test_float32_matches_mpmath(inst):
    check_float_vs_mpmath(inst, dtype=np.float32, names=("f", "c", "p", "loss", "grad_X", "grad_Y"))


def test_bound_check_detects_a_relative_error_of_1e_10():
    """The float64 tolerance is tight enough to see an error of 1e-10 relative."""
    inst = instance(4, 3, seed=1)
    b = error_bounds(inst)
    G = attngrad.gradient(*args(inst))
    with mpmath.workdps(50):
        ref = attngrad.gradient(*args(inst, to_mp))
    assert_within("grad_X", G, ref, 2 * b["grad_X"])
    with pytest.raises(AssertionError):
        assert_within("grad_X", G * (1 + 1e-10), ref, 2 * b["grad_X"])


# --- exact (Lemma C.8) against naive (Lemma B.1 Part 8) --------------------------------

# Subnormal products: A2 = 2^-149 against A3 = 3.2e-276 (the naive method's extra products
# underflow where the exact path's do not).
SUBNORMAL = {"A1": np.ones((4, 4)), "A2": np.full((4, 4), 2.0 ** -149),
             "A3": np.full((4, 4), 3.16833806e-276), "E": np.ones((4, 4)),
             "X": np.ones((4, 4)), "Y": np.ones((4, 4))}


@settings(max_examples=examples(40), deadline=None)
@given(instances())
@example(N1D1)
@example(ODD)
@example(SUBNORMAL)
def test_exact_matches_naive_float64(inst):
    n, d = inst["A1"].shape
    # Either summation order: every sum charged gamma_K with K = longest chain of both algorithms.
    K = 2 * (n + d * d) + 8
    b = error_bounds(inst, K=K)["grad_X"]
    # error_bounds charges underflow along the exact path's products; the naive method forms
    # A1 (x) A2 and its blocks' products too: each of the at most 4 n^2 d^2 products feeding
    # an entry may lose the underflow quantum ETA64
    under = 4 * n * n * d * d * ETA64
    exact = attngrad.gradient(*args(inst), method="exact")
    naive = attngrad.gradient(*args(inst), method="naive")
    assert exact.dtype == naive.dtype == np.float64
    assert_within("exact vs naive", exact, naive, 2 * (b + b) + under)


@settings(max_examples=examples(20), deadline=None)
@given(instances(max_n=4, max_d=3))
@example(N1D1)
def test_exact_matches_naive_mpmath(inst):
    mag = magnitudes(inst)["grad_X"]
    with mpmath.workdps(50):
        a = args(inst, to_mp)
        exact = attngrad.gradient(*a, method="exact")
        naive = attngrad.gradient(*a, method="naive")
    assert_within("exact vs naive (50 digits)", exact, naive, mp_tol(mag))


@settings(max_examples=examples(15), deadline=None)
@given(instances(max_n=4, max_d=3), st.sampled_from([1, 0.25]))
def test_exact_matches_naive_with_scale(inst, scale):
    mag = magnitudes(inst, scale)["grad_X"]
    with mpmath.workdps(50):
        a = args(inst, to_mp)
        assert_within("exact vs naive, scale", attngrad.gradient(*a, scale=scale),
                      attngrad.gradient(*a, method="naive", scale=scale), mp_tol(mag))


# --- attention (AS23) ------------------------------------------------------------------

@settings(max_examples=examples(25), deadline=None)
@given(st.data())
def test_attention_float64_matches_mpmath(data):
    from hypothesis.extra import numpy as hnp

    from .helpers import ENTRY, attention_bound, to_mp as mp

    n = data.draw(st.integers(1, 5))
    d = data.draw(st.integers(1, 4))
    dv = data.draw(st.integers(1, 3))
    Q, K = (data.draw(hnp.arrays(np.float64, (n, d), elements=ENTRY)) for _ in range(2))
    V = data.draw(hnp.arrays(np.float64, (n, dv), elements=ENTRY))
    got = attngrad.attention(Q, K, V)
    assert got.shape == (n, dv) and got.dtype == np.float64
    with mpmath.workdps(50):
        ref = attngrad.attention(mp(Q), mp(K), mp(V))
    tiny = 2.0 ** -100
    mag = attention_bound(Q, K, V, u=tiny, eta=0.0) / tiny
    assert_within("attention", got, ref, 2 * attention_bound(Q, K, V) + mp_tol(mag))


NOT_QUANTITIES = {"ApproximationError", "attention", "get_namespace", "gradient", "kron",
                  "rowwise_kron", "to_float64", "to_mpmath", "unvec", "vec", "__version__",
                  "Enclosure", "certify_gradient", "enclose", "to_ball"}  # tests/test_ball.py


def test_names_cover_the_library():
    """Every quantity the library exports (attngrad.__all__) is compared above: a new export
    that is neither a quantity compared here nor in NOT_QUANTITIES (each tested elsewhere) fails."""
    exported = set(attngrad.__all__)
    assert NOT_QUANTITIES <= exported
    quantities = exported - NOT_QUANTITIES
    assert quantities | {"grad_X", "grad_Y"} == set(QUANTITIES)
    for k in quantities:
        assert callable(getattr(attngrad, k)), k
    assert set(NAMES) == {"A1", "A2", "A3", "E", "X", "Y"}
