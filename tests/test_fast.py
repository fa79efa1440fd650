"""The fast gradient of Section D: error <= certified bound <= eps, or ApproximationError."""
import math

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import attngrad
from attngrad.fast import (attention_fast, features, gradient_fast, gradient_fixed_degree,
                           monomial_plan, rank_for)
from attngrad.poly import exp_poly
from attngrad.backend import NumpyNamespace

from .profiles import examples

KINDS = ("uniform", "peaked", "rankone", "flat", "onehot-E", "aligned", "zero-residual")


def make(n, d, seed, scale, kind):
    """Instances, including ones built to be worst cases for the bound's ingredients."""
    rng = np.random.default_rng(seed)
    A1, A2, A3, E = (rng.uniform(-1, 1, (n, d)) * scale for _ in range(4))
    X, Y = (rng.uniform(-1, 1, (d, d)) for _ in range(2))
    if kind == "peaked":      # one key aligned with every query: scores hit +-R
        A2[0] = scale
        A1[:] = np.abs(A1) + scale / 2
        X = np.eye(d)
    elif kind == "rankone":   # all rows of f equal
        A1[:] = A1[:1]
    elif kind == "flat":      # X = 0: f = 1/n exactly, scores 0
        X[:] = 0
    elif kind == "onehot-E":  # large residual c concentrated in one column
        E[:] = 0
        E[:, 0] = 3 * scale
    elif kind == "aligned":   # queries and keys parallel: Cauchy-Schwarz is tight
        v = rng.uniform(-1, 1, d)
        A1[:] = np.outer(rng.uniform(-1, 1, n), v) * scale
        A2[:] = np.outer(rng.uniform(-1, 1, n), v) * scale
        X = np.eye(d)
    elif kind == "zero-residual":  # E = f A3 Y: c ~ 0, so only the error of c~ itself is left
        A3 = np.abs(A3)
        E = attngrad.attention(A1 @ X, A2, A3 @ Y)
    return A1, A2, A3, E, X, Y


def exact_mp(args, wrt="X", dps=30):
    """The exact gradient at dps digits, as float64."""
    with mpmath.workdps(dps):
        return attngrad.to_float64(attngrad.gradient(*[attngrad.to_mpmath(a) for a in args],
                                                     wrt=wrt))


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 10), d=st.integers(1, 3), seed=st.integers(0, 10 ** 6),
       scale=st.sampled_from([0.05, 0.3, 1.0, 2.0, 4.0]), kind=st.sampled_from(KINDS),
       eps=st.sampled_from([1e-2, 1e-5, 1e-8, 1e-11]), basis=st.sampled_from(["chebyshev", "taylor"]))
@example(n=2, d=1, seed=0, scale=4.0, kind="peaked", eps=1e-11, basis="taylor")
@example(n=10, d=3, seed=1, scale=2.0, kind="aligned", eps=1e-5, basis="chebyshev")
@example(n=10, d=3, seed=1, scale=2.0, kind="onehot-E", eps=1e-5, basis="chebyshev")
@pytest.mark.parametrize("wrt", ["X", "Y"])
def test_error_below_bound_below_eps(wrt, n, d, seed, scale, kind, eps, basis):
    args = make(n, d, seed, scale, kind)
    try:
        res = gradient_fast(*args, wrt=wrt, eps=eps, basis=basis, return_bound=True,
                            max_rank=2000)
    except attngrad.ApproximationError as exc:
        assert "eps" in str(exc)
        # small entries (|scores| <= 0.3^2 d for every kind) are always certifiable at these
        # eps: a refusal there is a bug, not a property (else "always raise" would pass)
        assert scale > 0.3, f"refused at scale {scale}: {exc}"
        return
    err = float(np.max(np.abs(res.value - exact_mp(args, wrt))))
    assert err <= res.bound <= eps
    assert res.value.shape == (d, d) and res.rank == rank_for(d, res.degree)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(2, 10), d=st.integers(1, 3), seed=st.integers(0, 10 ** 6),
       scale=st.sampled_from([0.3, 1.0, 2.0]), kind=st.sampled_from(KINDS),
       degree=st.integers(0, 4), basis=st.sampled_from(["chebyshev", "taylor"]))
@example(n=3, d=2, seed=5, scale=2.0, kind="peaked", degree=1, basis="chebyshev")
@pytest.mark.parametrize("wrt", ["X", "Y"])
def test_low_degree_bound_holds(wrt, n, d, seed, scale, kind, degree, basis):
    """Low degrees make the polynomial error large, so the bound is tested where it is tight."""
    args = make(n, d, seed, scale, kind)
    res = gradient_fixed_degree(*args, degree=degree, wrt=wrt, basis=basis, return_info=True)
    err = float(np.max(np.abs(res.value - exact_mp(args, wrt))))
    assert err <= res.bound
    assert res.value.shape == (d, d)


def test_bound_is_not_vacuous():
    """At a moderate degree the bound is within a few orders of magnitude of the error."""
    args = make(8, 2, 3, 1.0, "uniform")
    res = gradient_fixed_degree(*args, degree=3, return_info=True)
    ref = exact_mp(args)
    err = float(np.max(np.abs(res.value - ref)))
    assert 0 < err <= res.bound <= 1e4 * err


@pytest.mark.parametrize("wrt", ["X", "Y"])
def test_mpmath_path(wrt):
    args = make(6, 2, 11, 1.0, "uniform")
    with mpmath.workdps(40):
        mp_args = [attngrad.to_mpmath(a) for a in args]
        res = attngrad.gradient(*mp_args, wrt=wrt, method="fast", eps=1e-25, return_bound=True)
        assert res.value.dtype == object
        assert all(isinstance(v, mpmath.mpf) for v in res.value.ravel())
        G = attngrad.gradient(*mp_args, wrt=wrt)
        err = max(abs(a - b) for a, b in zip(res.value.ravel(), G.ravel()))
    assert err <= res.bound <= 1e-25


def test_float64_medium_and_api():
    args = make(300, 4, 2, 0.5, "uniform")
    res = attngrad.gradient(*args, method="fast", eps=1e-6, return_bound=True)
    G = attngrad.gradient(*args)
    assert float(np.max(np.abs(res.value - G))) <= res.bound <= 1e-6
    plain = attngrad.gradient(*args, method="fast", eps=1e-6)
    assert isinstance(plain, np.ndarray) and plain.shape == (4, 4)
    k1, k2, k3, k4 = res.ranks
    assert (k2, k3, k4) == (4, 4 * k1, k1)


def test_blocks_do_not_change_result():
    args = make(200, 3, 4, 0.5, "uniform")
    a = gradient_fixed_degree(*args, degree=4, block=7, return_info=True)
    b = gradient_fixed_degree(*args, degree=4, block=200, return_info=True)
    assert np.max(np.abs(a.value - b.value)) <= a.bound + b.bound


@pytest.mark.parametrize("eps", [0, -1.0, float("nan"), float("inf"), None, "x", True])
def test_bad_eps(eps):
    """Refused by the argument check, not later as an ApproximationError (a ValueError whose
    message also mentions eps, so match="eps" alone would pass without any check)."""
    args = make(4, 2, 0, 1.0, "uniform")
    with pytest.raises(ValueError, match="^eps: must be") as info:
        attngrad.gradient(*args, method="fast", eps=eps)
    assert not isinstance(info.value, attngrad.ApproximationError)
    with pytest.raises(ValueError, match="^eps: must be") as info:
        attngrad.attention(args[0], args[1], args[2], method="fast", eps=eps)
    assert not isinstance(info.value, attngrad.ApproximationError)


def test_fast_takes_no_block_and_exact_attention_takes_no_eps():
    args = make(6, 2, 0, 0.5, "uniform")
    with pytest.raises(ValueError, match="^block: only method='exact'"):
        attngrad.gradient(*args, method="fast", eps=1e-3, block=2)
    with pytest.raises(ValueError, match="^block: only method='exact'"):
        attngrad.attention(args[0], args[1], args[2], method="fast", eps=1e-3, block=2)
    with pytest.raises(TypeError, match="eps"):
        attngrad.attention(args[0], args[1], args[2], eps=1e-3)
    with pytest.raises(ValueError, match="^method"):
        attngrad.attention(args[0], args[1], args[2], method="naive")


@pytest.mark.parametrize("system", ["float64", "mpmath"])
def test_public_attention_fast_within_eps(system):
    """attngrad.attention(method="fast") through the public API, float64 and mpmath inputs:
    certified, error <= bound <= eps against the exact attention at 60 digits."""
    rng = np.random.default_rng(12)
    Q, K = rng.uniform(-1, 1, (2, 40, 3))
    V = rng.uniform(-1, 1, (40, 2))
    eps = 1e-7 if system == "float64" else 1e-20
    with mpmath.workdps(40):
        conv = attngrad.to_mpmath if system == "mpmath" else (lambda a: a)
        res = attngrad.attention(conv(Q), conv(K), conv(V), method="fast", eps=eps,
                                 return_bound=True)
        plain = attngrad.attention(conv(Q), conv(K), conv(V), method="fast", eps=eps)
    assert res.value.shape == plain.shape == (40, 2)
    if system == "mpmath":
        assert all(type(v) is mpmath.mpf for v in res.value.ravel().tolist())
    with mpmath.workdps(60):
        T = attngrad.attention(*[attngrad.to_mpmath(a) for a in (Q, K, V)])
        err = max(abs(mpmath.mpf(a) - b) for a, b in zip(res.value.ravel().tolist(), T.ravel()))
    assert 0 < err <= mpmath.mpf(res.bound) <= eps


def test_bad_options():
    args = make(4, 2, 0, 1.0, "uniform")
    with pytest.raises(ValueError, match="basis"):
        gradient_fast(*args, eps=1e-3, basis="pade")
    with pytest.raises(ValueError, match="max_rank"):
        gradient_fast(*args, eps=1e-3, max_rank=0)
    with pytest.raises(ValueError, match="degree"):
        gradient_fixed_degree(*args, degree=-1)
    with pytest.raises(ValueError, match="interval"):
        gradient_fixed_degree(*args, degree=2, interval=(1.0, -1.0))
    with pytest.raises(ValueError, match="^wrt"):
        attngrad.gradient(*args, method="fast", eps=1e-3, wrt="Z")
    with pytest.raises(ValueError, match="^wrt"):
        gradient_fixed_degree(*args, degree=2, wrt="x")


@pytest.mark.parametrize("scale,max_rank,eps,reason", [(1.5, 30, 1e-3, "max_rank"),
                                                       (8.0, 10 ** 4, 1e-8, "rounding alone")])
def test_large_entries_raise_with_reason(scale, max_rank, eps, reason):
    args = make(64, 4, 1, scale, "peaked")
    with pytest.raises(attngrad.ApproximationError, match=reason) as info:
        attngrad.gradient(*args, method="fast", eps=eps, max_rank=max_rank)
    assert isinstance(info.value, ValueError)
    assert "needed" in str(info.value) and "scores lie in" in str(info.value)


def test_float32_certifies_or_raises():
    args = [a.astype(np.float32) for a in make(50, 2, 9, 0.5, "uniform")]
    for eps in (1e-1, 1e-9):
        try:
            res = attngrad.gradient(*args, method="fast", eps=eps, return_bound=True)
        except attngrad.ApproximationError:
            assert eps == 1e-9
            continue
        ref = exact_mp([a.astype(np.float64) for a in args])
        assert float(np.max(np.abs(res.value.astype(np.float64) - ref))) <= res.bound <= eps


@settings(max_examples=examples(20), deadline=None)
@given(n=st.integers(2, 12), d=st.integers(1, 3), dv=st.integers(1, 3), seed=st.integers(0, 999),
       scale=st.sampled_from([0.2, 1.0, 2.5]), eps=st.sampled_from([1e-3, 1e-9]))
def test_attention_fast(n, d, dv, seed, scale, eps):
    rng = np.random.default_rng(seed)
    Q, K = rng.uniform(-scale, scale, (2, n, d))
    V = rng.uniform(-1, 1, (n, dv))
    try:
        res = attention_fast(Q, K, V, eps=eps, return_bound=True, max_rank=2000)
    except attngrad.ApproximationError as exc:
        assert scale > 1.0, f"refused at scale {scale}: {exc}"  # small entries must certify
        return
    with mpmath.workdps(30):
        T = attngrad.to_float64(attngrad.attention(*[attngrad.to_mpmath(a) for a in (Q, K, V)]))
    assert float(np.max(np.abs(res.value - T))) <= res.bound <= eps


@pytest.mark.parametrize("d,g", [(1, 5), (2, 4), (3, 3), (4, 2)])
def test_features_are_the_monomials(d, g):
    exps, levels, multinom = plan = monomial_plan(d, g)
    assert len(exps) == len(set(exps)) == rank_for(d, g) == math.comb(g + d, d)
    Z = np.random.default_rng(d).uniform(-1, 1, (5, d))
    got = features(NumpyNamespace(np.dtype(np.float64)), Z, plan)
    want = np.array([[np.prod(z ** np.array(e)) for z in Z] for e in exps])
    assert np.allclose(got, want, rtol=1e-14, atol=0)
    # sum_alpha multinom(alpha) q^alpha k^alpha = <q, k>^m, degree by degree
    q, k = Z[0], Z[1]
    for m in range(g + 1):
        s = sum(c * np.prod(q ** np.array(e)) * np.prod(k ** np.array(e))
                for e, c in zip(exps, multinom) if sum(e) == m)
        assert math.isclose(s, float(q @ k) ** m, rel_tol=1e-12, abs_tol=1e-15)


@settings(max_examples=examples(15), deadline=None)
@given(deg=st.integers(0, 8), lo=st.floats(-3, 0.9), width=st.floats(0.1, 3),
       basis=st.sampled_from(["chebyshev", "taylor"]))
@example(deg=8, lo=-2.45334784383878, width=0.1, basis="chebyshev")  # once beat a 30-digit sample
def test_poly_certificate_covers_samples(deg, lo, width, basis):
    """Samples evaluated at 80 digits: the certificate can be tight to ~1e-31 relative (it is
    rounded up to the next float only), so a 30-digit evaluation of |P e^-t - 1| is too coarse to judge."""
    p = exp_poly(basis, deg, lo, lo + width)
    with mpmath.workdps(80):
        worst = max(abs(mpmath.polyval(list(reversed(p.coeffs)), t) * mpmath.exp(-t) - 1)
                    for t in mpmath.linspace(lo, lo + width, 301))
    assert float(worst) <= p.rel_error


def _err_mp(value, args, dps=60):
    with mpmath.workdps(dps):
        G = attngrad.gradient(*[a if a.dtype == object else attngrad.to_mpmath(a) for a in args])
        vals = [v if isinstance(v, mpmath.mpf) else mpmath.mpf(float(v)) for v in value.ravel()]
        return max(abs(a - b) for a, b in zip(vals, G.ravel()))


@pytest.mark.parametrize("tiny", [1e-160, 1e-170])
def test_tiny_entries_raise_or_certify(tiny):
    """Once a counterexample: with A1, A2 ~ 1e-160 the gradient is subnormal, the computation
    underflows and the bound (evaluated in float64) came out 0 < error. Now: raise or certify."""
    rng = np.random.default_rng(0)
    A1, A2 = (rng.uniform(-1, 1, (4, 2)) * tiny for _ in range(2))
    A3, E = (rng.uniform(-1, 1, (4, 2)) for _ in range(2))
    X, Y = rng.uniform(-1, 1, (2, 2, 2))
    args = (A1, A2, A3, E, X, Y)
    try:
        res = gradient_fast(*args, eps=1e-8, return_bound=True)
    except attngrad.ApproximationError as exc:
        assert "underflow" in str(exc)
        return
    with mpmath.workdps(60):
        assert _err_mp(res.value, args) <= mpmath.mpf(res.bound) <= 1e-8


def test_tiny_mpmath_entries_raise_or_certify():
    """Once a counterexample: mpmath entries ~1e-200 vanished in the float64 bound (bound 0)."""
    rng = np.random.default_rng(0)
    raw = [rng.uniform(-1, 1, (4, 2)) for _ in range(4)] + [rng.uniform(-1, 1, (2, 2)) for _ in range(2)]
    with mpmath.workdps(30):
        args = [attngrad.to_mpmath(a) for a in raw]
        args[0], args[1] = args[0] * mpmath.mpf("1e-200"), args[1] * mpmath.mpf("1e-200")
        try:
            res = gradient_fast(*args, eps=1e-20, return_bound=True)
        except attngrad.ApproximationError:
            return
    with mpmath.workdps(60):
        assert _err_mp(res.value, args) <= mpmath.mpf(res.bound)


@pytest.mark.parametrize("dps", [2, 3])
def test_float64_bound_ignores_global_mpmath_precision(dps):
    """Once a counterexample: with mpmath.mp.dps = 2 the float64 path rounded the polynomial's
    coefficients (a_m times the multinomials) at the global mpmath precision, so the error
    (3.6e-8) exceeded the bound (8.5e-9). The coefficients now round at the namespace's own
    precision and the interval ends are converted exactly."""
    rng = np.random.default_rng(7)
    args = tuple(rng.uniform(-1, 1, (6, 2)) for _ in range(4)) + tuple(rng.uniform(-1, 1, (2, 2, 2)))
    with mpmath.workdps(dps):
        res = gradient_fixed_degree(*args, degree=8, basis="taylor", return_info=True)
    with mpmath.workdps(60):
        assert _err_mp(res.value, args) <= mpmath.mpf(res.bound)


def test_attention_tiny_v_raises_or_certifies():
    rng = np.random.default_rng(1)
    Q, K = rng.uniform(-1, 1, (2, 5, 2))
    V = rng.uniform(-1, 1, (5, 2)) * 1e-300
    try:
        res = attention_fast(Q, K, V, eps=1e-6, return_bound=True)
    except attngrad.ApproximationError as exc:
        assert "underflow" in str(exc)
        return
    with mpmath.workdps(60):
        T = attngrad.attention(*[attngrad.to_mpmath(a) for a in (Q, K, V)])
        err = max(abs(mpmath.mpf(float(a)) - b) for a, b in zip(res.value.ravel(), T.ravel()))
        assert err <= mpmath.mpf(res.bound)


@pytest.mark.parametrize("factor", [50.0, 1e200])
def test_huge_entries_raise_approximation_error(factor):
    """Once an OverflowError (math.exp / grid_radius of an overflowing R): now ApproximationError."""
    args = [a * factor for a in make(4, 2, 0, 1.0, "uniform")]
    with np.errstate(all="ignore"):
        with pytest.raises(attngrad.ApproximationError, match="eps"):
            attngrad.gradient(*args, method="fast", eps=1e-3)
        with pytest.raises(attngrad.ApproximationError, match="eps"):
            attngrad.attention(args[0], args[1], args[2], method="fast", eps=1e-3)


def test_fixed_degree_without_certificate_is_the_same_gradient():
    """certify=False changes only what is claimed (no bound), never the value."""
    args = make(24, 3, 5, 0.4, "uniform")
    a = gradient_fixed_degree(*args, degree=4, return_info=True)
    b = gradient_fixed_degree(*args, degree=4, return_info=True, certify=False)
    assert np.array_equal(a.value, b.value)
    assert math.isfinite(a.bound) and math.isnan(b.bound) and math.isnan(b.poly_rel_error)
    with pytest.raises(TypeError, match="^certify"):
        gradient_fixed_degree(*args, degree=4, certify="no")


# --- dL/dY (Lemma D.7, ours) ----------------------------------------------------------------

def test_Y_bound_is_not_vacuous_and_api():
    args = make(300, 4, 2, 0.5, "uniform")
    G = attngrad.gradient(*args, wrt="Y")
    res = attngrad.gradient(*args, wrt="Y", method="fast", eps=1e-6, return_bound=True)
    err = float(np.max(np.abs(res.value - G)))
    assert 0 < err <= res.bound <= 1e-6
    low = gradient_fixed_degree(*args, degree=3, wrt="Y", return_info=True)
    err3 = float(np.max(np.abs(low.value - G)))
    assert 0 < err3 <= low.bound <= 1e5 * err3


def test_Y_float32():
    args = make(6, 2, 11, 1.0, "uniform")
    a32 = [a.astype(np.float32) * np.float32(0.5) for a in args]
    r32 = gradient_fast(*a32, wrt="Y", eps=1e-2, return_bound=True)
    assert r32.value.dtype == np.float32
    assert float(np.max(np.abs(r32.value - exact_mp([a.astype(np.float64) for a in a32], "Y")))) \
        <= r32.bound <= 1e-2


def test_Y_tiny_entries_raise_or_certify():
    """Underflow in the features and in c~ / alpha~ must be covered (or refused)."""
    rng = np.random.default_rng(1)
    A1, A2 = (rng.uniform(-1, 1, (4, 2)) * 1e-160 for _ in range(2))
    A3, E = (rng.uniform(-1, 1, (4, 2)) * 1e-150 for _ in range(2))
    X, Y = rng.uniform(-1, 1, (2, 2, 2))
    args = (A1, A2, A3, E, X, Y)
    try:
        res = gradient_fast(*args, wrt="Y", eps=1e-290, return_bound=True)
    except attngrad.ApproximationError as exc:
        assert "eps" in str(exc) or "underflow" in str(exc)
        return
    with mpmath.workdps(60):
        G = attngrad.gradient(*[attngrad.to_mpmath(a) for a in args], wrt="Y")
        err = max(abs(mpmath.mpf(float(a)) - b) for a, b in zip(res.value.ravel(), G.ravel()))
    assert err <= mpmath.mpf(res.bound) <= 1e-290


def test_mpmath_entries_below_float64_range_are_refused():
    """The bound is evaluated in float64: mpmath entries it cannot represent are refused."""
    rng = np.random.default_rng(0)
    raw = [rng.uniform(-1, 1, (4, 2)) for _ in range(4)] + [rng.uniform(-1, 1, (2, 2)) for _ in range(2)]
    with mpmath.workdps(30):
        args = [attngrad.to_mpmath(a) for a in raw]
        args[3] = args[3] * mpmath.mpf("1e-400")
        for wrt in ("X", "Y"):
            with pytest.raises(attngrad.ApproximationError, match="below float64's range"):
                gradient_fast(*args, wrt=wrt, eps=1e-10)


@pytest.mark.parametrize("degree", [1, 3, 6])
def test_Y_float32_subnormal_gradient_within_bound(degree):
    """float32 with A3, E ~ 2^-66: dL/dY ~ 1e-40 is subnormal, so the products of the fast path
    underflow; the bound (its underflow terms included) still holds against 60 digits."""
    rng = np.random.default_rng(3)
    n, d = 40, 2
    A1, A2 = (rng.uniform(-0.5, 0.5, (n, d)).astype(np.float32) for _ in range(2))
    A3, E = ((rng.uniform(-1, 1, (n, d)) * 2.0 ** -66).astype(np.float32) for _ in range(2))
    X, Y = (rng.uniform(-1, 1, (d, d)).astype(np.float32) for _ in range(2))
    args = (A1, A2, A3, E, X, Y)
    res = gradient_fixed_degree(*args, degree=degree, wrt="Y", return_info=True)
    assert res.parts["underflow"] > 0
    with mpmath.workdps(60):
        G = attngrad.gradient(*[attngrad.to_mpmath(a) for a in args], wrt="Y")
        assert max(abs(v) for v in G.ravel()) < np.finfo(np.float32).tiny
        err = max(abs(mpmath.mpf(float(a)) - b) for a, b in zip(res.value.ravel(), G.ravel()))
    assert 0 < err <= res.bound


def test_scaled_up_rows_matches_the_scalar_rounding_up():
    """The vectorised x * 2^-e rounded up (the underflow terms of the bound, on the device)
    agrees with the scalar one and never rounds down."""
    from attngrad.fast.rounding import scaled_up as _scaled_up, scaled_up_rows as _scaled_up_rows

    x = np.array([1.0, 3.0, 1e-300, 7.5e200, math.pi, 2.0 ** -1000])
    for e in (-75, 0, 75, 1000):
        got = _scaled_up_rows(np, x, e)
        want = np.array([_scaled_up(float(v), e) for v in x])
        np.testing.assert_array_equal(got, want)
        with mpmath.workprec(2000):
            assert all(mpmath.mpf(float(g)) >= mpmath.ldexp(mpmath.mpf(float(v)), -e)
                       for g, v in zip(got, x))


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_Y_zero_residual_needs_the_error_of_c(degree, monkeypatch):
    """E = f A3 Y (c ~ 0): the eta |c~| part of the dL/dY bound is then nearly 0 and the error
    is that of c~ itself. The bound holds; the same bound without its Dc term (the error of c~)
    does not, so the term is needed and this test would see it go."""
    from attngrad.fast import certificate

    cases = []
    for seed in range(3):
        args = make(20, 2, seed, 1.0, "zero-residual")
        res = gradient_fixed_degree(*args, degree=degree, wrt="Y", return_info=True)
        err = float(np.max(np.abs(res.value - exact_mp(args, "Y"))))
        assert err <= res.bound
        cases.append((args, err))
    c_error = certificate.c_error

    def without_dc(*a, **k):
        Dfh, Dc, Fh_abs = c_error(*a, **k)
        return 0 * Dfh, 0 * Dc, Fh_abs   # noqa: the error of c~ dropped on purpose

    monkeypatch.setattr(certificate, "c_error", without_dc)
    assert all(err > gradient_fixed_degree(*args, degree=degree, wrt="Y", return_info=True).bound
               for args, err in cases)


def test_Y_float32_underflow_term_is_needed():
    """Pinned: float32, A1 ~ 2^-30, A3, E ~ 2^-70, degree 0 (seed 0). The error exceeds the
    bound without its underflow term, and stays within the whole bound."""
    rng = np.random.default_rng(0)
    n, d = 4, 2
    A1 = (rng.uniform(-1, 1, (n, d)) * 2.0 ** -30).astype(np.float32)
    A2 = rng.uniform(-1, 1, (n, d)).astype(np.float32)
    A3, E = ((rng.uniform(-1, 1, (n, d)) * 2.0 ** -70).astype(np.float32) for _ in range(2))
    X, Y = (rng.uniform(-1, 1, (d, d)).astype(np.float32) for _ in range(2))
    args = (A1, A2, A3, E, X, Y)
    res = gradient_fixed_degree(*args, degree=0, wrt="Y", return_info=True)
    with mpmath.workdps(60):
        G = attngrad.gradient(*[attngrad.to_mpmath(a) for a in args], wrt="Y")
        err = max(abs(mpmath.mpf(float(a)) - b) for a, b in zip(res.value.ravel(), G.ravel()))
    assert res.bound - res.parts["underflow"] < err <= res.bound


@pytest.mark.parametrize("wrt", ["X", "Y"])
def test_no_certificate_is_inf_not_nan(wrt):
    """Once a nan: at 11 bits with 510 blocks of one row, gamma is infinite, and infinity times
    a zero column of A3 gave a nan bound. A bound that cannot be certified is inf."""
    args = list(make(510, 2, 0, 0.05, "uniform"))
    args[2][:, 1] = 0
    args[4][:] = 0
    with mpmath.workprec(11):
        mp = [attngrad.to_mpmath(a) for a in args]
        res = gradient_fixed_degree(*mp, degree=0, wrt=wrt, return_info=True, block=1)
    assert res.bound == math.inf
    assert not any(isinstance(v, float) and math.isnan(v) for v in res.parts.values())
