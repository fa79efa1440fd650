"""Degree selection (attngrad/fast/degree.py) and the reuse of lower-degree work."""
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
