"""attngrad.transformer.lowrank: one head through a low-rank softmax equals the same softmax
formed densely (f~ = (Phi Psi^T, masked) / its row sums) and pushed through the exact backward
pass, by blocks of any size, causal or not: to 1e-45 at 50 digits, and in float64 within the
dense computation's own rounding."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import attngrad
from attngrad.backend import MpmathNamespace, NumpyNamespace
from attngrad.fast import monomial_plan
from attngrad.poly import exp_poly
from attngrad.transformer import attention as attn
from attngrad.transformer import lowrank as lr


def features(ns, dh, degree, R):
    """Taylor features of exp on [-R, R] (uncertified: only the algebra is under test)."""
    plan = monomial_plan(dh, degree)
    poly = exp_poly("taylor", degree, -R, R, 170, certify=False)
    vals = [mpmath.mpf(poly.coeffs[sum(e)]) * plan[2][i] for i, e in enumerate(plan[0])]
    coef = (np.array(vals, dtype=object) if ns.name == "mpmath"
            else np.array([float(v) for v in vals]))
    return lr.Features(plan, coef), poly


def dense(ns, poly, Q, K, s, causal):
    """f~ = P(s Q K^T) (masked) / row sums, formed entry by entry."""
    S = (Q @ K.T) * s
    P = ns.zeros(S.shape)
    for m, a in enumerate(poly.coeffs):
        P = P + (S ** m) * (mpmath.mpf(a) if ns.name == "mpmath" else float(a))
    if causal:
        P = np.where(np.tril(np.ones(S.shape, dtype=bool)), P, ns.scalar(0))
    return P / np.sum(P, axis=1, keepdims=True)


def _max_diff(a, b):
    return float(max(abs(x - y) for x, y in zip(np.asarray(a).reshape(-1), np.asarray(b).reshape(-1))))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("rows", [1, 3, 7, 11, 20])
def test_low_rank_equals_dense_at_50_digits(causal, rows):
    ns, mp = MpmathNamespace(), attngrad.to_mpmath
    rng = np.random.default_rng(rows + 100 * causal)
    n, dh, s = 11, 2, mpmath.mpf(1) / 2
    Q, K, V, c = (mp(rng.uniform(-1, 1, (n, dh))) for _ in range(4))
    with mpmath.workdps(50):
        F, poly = features(ns, dh, 3, 2)
        O, alpha = lr.forward(ns, F, Q, K, V, s, causal, rows)
        *got, colsum = lr.backward(ns, F, Q, K, V, O, alpha, c, s, causal, rows)
        f = dense(ns, poly, Q, K, s, causal)
        want = attn.head_backward_block(ns, f.copy(), Q, K, V, c, s)
        tol = mpmath.mpf(10) ** -45
        assert _max_diff(O, f @ V) <= tol
        assert _max_diff(colsum, np.sum(f, axis=0)) <= tol
        for name, a, b in zip(("dQ", "dK", "dV"), got, want):
            assert _max_diff(a, b) <= tol, name


@pytest.mark.parametrize("causal", [False, True])
def test_low_rank_float64_matches_dense(causal):
    """n = 300 (not a multiple of the 64-row blocks), d_h = 4, degree 4: the blocked low-rank
    passes against the dense f~ in float64, within 2^10 units of roundoff of each result's scale
    (both are float computations of the same numbers; the 50-digit test above pins the algebra)."""
    ns = NumpyNamespace(np.dtype(np.float64))
    rng = np.random.default_rng(5 + causal)
    n, dh, s = 300, 4, 0.25
    Q, K, V, c = (rng.uniform(-1, 1, (n, dh)) for _ in range(4))
    F, poly = features(ns, dh, 4, 2)
    O, alpha = lr.forward(ns, F, Q, K, V, s, causal, 64)
    *got, _ = lr.backward(ns, F, Q, K, V, O, alpha, c, s, causal, 64)
    f = dense(ns, poly, Q, K, s, causal)
    want = attn.head_backward_block(ns, f.copy(), Q, K, V, c, s)
    u = 2.0 ** -53
    for name, a, b in (("O", O, f @ V),) + tuple(zip(("dQ", "dK", "dV"), got, want)):
        assert np.max(np.abs(a - b)) <= 2 ** 10 * u * np.max(np.abs(b)), name
