"""Degree selection (attngrad/fast/degree.py) and the reuse of lower-degree work."""
import math

import numpy as np
import pytest

import attngrad
from attngrad.backend import NumpyNamespace
from attngrad.fast import contractions, gradient_fixed_degree
from attngrad.fast.features import features, monomial_plan

F64 = NumpyNamespace(np.dtype(np.float64))


def _inst(n, d, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.5, 0.5, (n, d)) for _ in range(4)] + \
        [rng.uniform(-0.5, 0.5, (d, d)) for _ in range(2)]


@pytest.mark.parametrize("wrt", ["X", "Y"])
@pytest.mark.parametrize("n,d,eps", [(300, 4, 1e-6), (300, 3, 1e-9), (200, 2, 1e-4)])
def test_the_chosen_degree_is_the_first_that_meets_eps(n, d, eps, wrt):
    """The degree returned meets eps and the one below it does not meet 0.8 eps (the margin the
    search aims at: it jumps to the first degree predicted to meet 0.8 eps)."""
    a = _inst(n, d, 7)
    res = attngrad.gradient(*a, wrt=wrt, method="fast", eps=eps, return_bound=True)
    assert res.bound <= eps
    if res.degree > 0:
        below = gradient_fixed_degree(*a, wrt=wrt, degree=res.degree - 1, return_info=True)
        assert below.bound > 0.8 * eps, (res.degree, below.bound)


def test_key_sums_reuse_the_lower_degrees():
    """Raising the degree adds rows to Z = V0^T W and keeps the others: the rows equal those of
    one sweep at the higher degree, blocked the same way."""
    rng = np.random.default_rng(3)
    K, W = rng.uniform(-1, 1, (50, 3)), rng.uniform(-1, 1, (50, 4))
    keys = contractions.KeySums(F64, K, lambda s0, s1: W[s0:s1], 4, block=50)
    keys.ensure(2)
    Z3 = keys.ensure(4)
    plan = monomial_plan(3, 4)
    whole = features(F64, K, plan) @ W
    np.testing.assert_allclose(Z3, whole, rtol=1e-13, atol=1e-13)
    assert Z3.shape[0] == len(plan[0])
    assert keys.ensure(3).shape[0] == len(monomial_plan(3, 3)[0])   # a prefix, not recomputed


@pytest.mark.parametrize("wrt", ["X", "Y"])
def test_the_bound_by_chunks_of_rows_is_the_whole_bound(wrt, monkeypatch):
    """The bound's per-row terms are row-local and its sums add over rows: evaluated by chunks
    of 7 rows it equals the one-chunk value up to the float64 summation order (far below the
    10^-6 slack it carries)."""
    from attngrad.fast import certificate

    a = _inst(60, 3, 2)
    whole = gradient_fixed_degree(*a, wrt=wrt, degree=3, return_info=True).bound
    monkeypatch.setattr(certificate, "CHUNK_ROWS", 7)
    chunked = gradient_fixed_degree(*a, wrt=wrt, degree=3, return_info=True).bound
    assert chunked == pytest.approx(whole, rel=1e-12)
    Q, K, V = a[:3]
    t = attngrad.attention(Q, K, V, method="fast", eps=1e-6, return_bound=True).bound
    monkeypatch.setattr(certificate, "CHUNK_ROWS", 1 << 14)
    assert t == pytest.approx(attngrad.attention(Q, K, V, method="fast", eps=1e-6,
                                                 return_bound=True).bound, rel=1e-12)


class _Problem:
    """A stand-in for the fast path's problem (attngrad/fast/api.py) as _predict sees it: the
    bound is floor + slope * eta with eta = 2 eps_P, and no degree below ``ok_from`` meets
    0.8 eps whatever its error (as when the rows' terms grow with the rank); ``floor_above``
    = (degree, floor): the floor from that degree on."""

    def __init__(self, eps, floor=0.0, slope=1.0, ok_from=0, floor_above=None):
        self.eps, self.floor, self.slope, self.ok_from, self.calls = eps, floor, slope, ok_from, 0
        self.floor_above = floor_above

    def terms(self, poly, rel_error=None):
        from types import SimpleNamespace
        eps_P = poly.rel_error if rel_error is None else rel_error
        return SimpleNamespace(eta=2 * eps_P, degree=poly.degree)

    def bound(self, rows, pt):
        self.calls += 1
        floor = self.floor
        if self.floor_above and pt.degree >= self.floor_above[0]:
            floor = self.floor_above[1]
        b = floor + self.slope * pt.eta
        return b if pt.degree >= self.ok_from or pt.eta == 0 else max(b, self.eps)


LO, HI = -2.0, 2.0


def _sampled(g):
    from attngrad.poly import sampled_rel_error
    return sampled_rel_error("chebyshev", g, LO, HI, 53)


def _first_at_most(target, g_from):
    g = g_from
    while _sampled(g) > target:
        g += 1
    return g


def _predict(problem, g, eps, slope=1.0, g_max=60):
    from attngrad.fast import degree
    # bound = slope * eta at degree g (floor 0): _predict reads the slope off these two
    return degree._predict(problem, None, "chebyshev", g, LO, HI, 53, eps, g_max, slope, 1.0,
                           problem.floor)


@pytest.mark.parametrize("k0", [6, 9])
def test_predict_jumps_to_the_first_degree_meeting_the_margin(k0):
    """The jump: the first degree above g whose sampled error is <= (0.8 eps - floor) /
    (2.5 slope), checked with two bound evaluations (floor and estimate); eps is set so that
    degree k0 misses that target and would meet (eps - floor) / (2.5 slope)."""
    eps = 0.9 * _sampled(k0) * 2.5 / 0.8
    problem = _Problem(eps)
    g2, floor = _predict(problem, 1, eps)
    assert g2 == _first_at_most(0.8 * eps / 2.5, 2) and g2 > k0
    assert floor == 0.0 and problem.calls == 2


def test_predict_starts_above_the_degree_it_was_given():
    """A degree g whose own sampled error is small enough (its bound missed for other reasons)
    is not proposed again: the search starts at g + 1."""
    eps = 1e-6
    g = _first_at_most(0.8 * eps / 2.5, 0) + 1
    assert _predict(_Problem(eps), g, eps)[0] == g + 1


@pytest.mark.parametrize("extra,found", [(3, True), (5, True), (6, False)])
def test_predict_tries_six_degrees(extra, found):
    """When the predicted degree misses, the next ones are tried, six in all."""
    eps = 1e-6
    first = _first_at_most(0.8 * eps / 2.5, 2)
    problem = _Problem(eps, ok_from=first + extra)
    g2, _ = _predict(problem, 1, eps)
    assert g2 == (first + extra if found else None)
    assert problem.calls == 2 * (extra + 1 if found else 6)


def test_predict_with_a_flat_bound_takes_the_next_degree():
    """bound = floor at degree g (slope 0): any degree is predicted to meet eps; no division."""
    eps = 1e-6
    problem = _Problem(eps, floor=1e-9, slope=0.0)
    g2, _ = _predict(problem, 4, eps, slope=problem.floor)
    assert g2 == 5


def test_select_refuses_scores_at_e700():
    """e^(hi + sigma) must stay below e^700 (float64's range): at exactly 700 it refuses."""
    from types import SimpleNamespace

    from attngrad.errors import ApproximationError
    from attngrad.fast import degree
    from attngrad.fast.instance import Scores

    sc = Scores(lo=-1.0, hi=699.5, Rabs=700.0, sigma=0.5, qm=1.0, km=1.0)
    problem = SimpleNamespace(scores=sc, d=2, u=2.0 ** -53)
    with pytest.raises(ApproximationError, match="overflows float64"):
        degree.select(problem, "chebyshev", 1e-3, 100, 53, "gradient")


class _SelectProblem(_Problem):
    """The stand-in for select: scores in [-2, 2]; the bound is floor + slope * eta at every
    degree; eta is infinite for polynomials whose certified error is above ``eta_inf_above``
    (and at rel_error 0 too when ``rounding_inf``)."""

    def __init__(self, eps, floor=0.0, slope=1.0, eta_inf_above=math.inf, rounding_inf=False,
                 floor_above=None):
        super().__init__(eps, floor, slope, floor_above=floor_above)
        from attngrad.fast.instance import Scores
        self.scores = Scores(lo=-2.0, hi=2.0, Rabs=4.0, sigma=0.0, qm=1.0, km=2.0)
        self.d, self.u = 2, 2.0 ** -53
        self.eta_inf_above, self.rounding_inf = eta_inf_above, rounding_inf
        self.tried, self.certs, self.polys = [], [], []

    def terms(self, poly, rel_error=None):
        if rel_error is None:
            self.polys.append(poly.degree)
        pt = super().terms(poly, rel_error)
        if pt.eta / 2 > self.eta_inf_above or (self.rounding_inf and pt.eta == 0):
            pt.eta = math.inf
        return pt

    def rows(self, poly, pt, acc):
        self.tried.append(poly.degree)
        return None, self.floor + self.slope * pt.eta

    def ensure_cert(self, poly):
        self.certs.append(poly.degree)


def _select(problem, eps, max_rank=10 ** 6):
    from attngrad.fast import degree
    caps = []

    def cert_degree(basis, lo, hi, prec, cap):
        caps.append(cap)
        return 1
    out = degree.select(problem, "chebyshev", eps, max_rank, 53, "gradient",
                        cert_degree=cert_degree)
    return out, caps


def _g0(target=0.05):
    from attngrad.fast.degree import first_degree
    return first_degree("chebyshev", LO, HI, 53, 0, 200, target)


def test_select_returns_the_first_degree_that_passes_and_caps_the_certificates_pass():
    """The first degree tried is g0 (sampled error <= 5 %); the certificate's pass is built at
    a degree capped at g0 + 1; a bound within eps at g0 returns g0."""
    problem = _SelectProblem(1e-3, slope=1e-3)
    (g, poly, pt, rows), caps = _select(problem, 1e-3)
    assert g == _g0() and problem.tried == [g] and caps == [g + 1] and problem.certs == [1]


def test_select_jumps_past_polynomials_without_a_certificate():
    """eta = inf at the polynomial's own error (but not at 0): the next degree is the first
    whose sampled error is a quarter of that polynomial's certified error."""
    from attngrad.fast.degree import first_degree
    from attngrad.poly import exp_poly
    problem = _SelectProblem(1e-3, slope=1e-3, eta_inf_above=1e-6)
    (g, _, _, _), _ = _select(problem, 1e-3)
    seq = [_g0()]
    while exp_poly("chebyshev", seq[-1], LO, HI, 53).rel_error > 1e-6:
        seq.append(first_degree("chebyshev", LO, HI, 53, seq[-1] + 1, 200,
                                exp_poly("chebyshev", seq[-1], LO, HI, 53).rel_error / 4))
    assert g == seq[-1] and problem.tried == [g] and problem.polys == seq and len(seq) > 2


def test_select_refusals_name_their_reason():
    """No certificate even for an exact polynomial: the rounding alone; a floor above eps: the
    rounding alone bounds the error by the floor; a floor at eps exactly is not above it: the
    search goes on and ends at the rank cap."""
    from attngrad.errors import ApproximationError
    with pytest.raises(ApproximationError, match="the rounding alone cannot be bounded"):
        _select(_SelectProblem(1e-3, eta_inf_above=0.0, rounding_inf=True), 1e-3)
    with pytest.raises(ApproximationError, match="the rounding alone bounds the error by 0.002"):
        _select(_SelectProblem(1e-3, floor=2e-3), 1e-3)
    with pytest.raises(ApproximationError, match="within max_rank=10000"):
        _select(_SelectProblem(1e-3, floor=1e-3), 1e-3, max_rank=10 ** 4)
    with pytest.raises(ApproximationError, match="within max_rank=3: .* a larger max_rank"):
        _select(_SelectProblem(1e-3, eta_inf_above=1e-12), 1e-3, max_rank=3)
    # the floor passes eps only at the degrees the prediction tries (it grows with the rank)
    with pytest.raises(ApproximationError, match="the rounding alone bounds the error by 0.005"):
        _select(_SelectProblem(1e-3, slope=1.0, floor_above=(_g0() + 1, 5e-3)), 1e-3)
