"""The fast path's pieces (attngrad/fast/contractions.py, instance.py, api.py) pinned where the
end-to-end tests cannot see a change: the value columns of the certificate's pass, the length
of the blocked sums the rounding bound charges, the refined score maxima, the instance's sums,
the result's fields and messages (BENCHMARKS.md, "Mutation testing": the survivors of
fast-rest were such changes)."""
import math

import numpy as np
import pytest

import attngrad
from attngrad.backend import NumpyNamespace
from attngrad.fast import contractions, instance
from attngrad.fast.features import monomial_plan

F64 = NumpyNamespace(np.dtype(np.float64))


def _arrays(n, d, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (n, d)) for _ in range(4)] + \
        [rng.uniform(-1, 1, (d, d)) for _ in range(2)]


def test_value_columns_of_the_certificates_pass():
    """dL/dX: [1, |h|, h^2, ||h|| |A2|, |A2|, ||h||^2, A2^2]; dL/dY: [1, |h|, h^2, |A3|, A3,
    A3^2]; attention: [1, |V|, V^2] (the weights of the f-weighted sums, Lemma D.9)."""
    rng = np.random.default_rng(3)
    h, A2, A3, V = (rng.uniform(-2, 2, (6, 3)) for _ in range(4))
    nh = np.linalg.norm(h, axis=1)
    one = np.ones((2, 1))
    got = contractions.value_columns(F64, "X", "cert", hc=h, A2=A2, nh=nh)(2, 4)
    want = np.hstack([one, abs(h[2:4]), h[2:4] ** 2, nh[2:4, None] * abs(A2[2:4]), abs(A2[2:4]),
                      nh[2:4, None] ** 2, A2[2:4] ** 2])
    np.testing.assert_array_equal(got, want)
    got = contractions.value_columns(F64, "Y", "cert", hc=h, A3=A3)(2, 4)
    want = np.hstack([one, abs(h[2:4]), h[2:4] ** 2, abs(A3[2:4]), A3[2:4], A3[2:4] ** 2])
    np.testing.assert_array_equal(got, want)
    got = contractions.value_columns(F64, "attention", "cert", V=V)(2, 4)
    np.testing.assert_array_equal(got, np.hstack([one, abs(V[2:4]), V[2:4] ** 2]))


@pytest.mark.parametrize("n,block", [(50, 10), (50, 7), (50, None), (3, 64)])
def test_query_pass_returns_the_longest_blocked_sum(n, block):
    """b + n/b: a block's rows (b) plus the number of blocks (each row sum adds one partial sum
    per block), counted from the blocks the pass actually visits."""
    rng = np.random.default_rng(1)
    Q = rng.uniform(-1, 1, (n, 2))
    plan = monomial_plan(2, 2)
    coef = np.ones(len(plan[0]))
    seen = []
    Nn = contractions.query_pass(F64, Q, plan, coef, None, lambda s0, s1, P, T: seen.append(s1 - s0),
                                 4, block)
    assert Nn == seen[0] + len(seen) and sum(seen) == n


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_refined_score_maximum_is_above_every_score(seed):
    """_refine with every row's bound equal (nothing to skip): the exact maximum of all n rows,
    not of the first ones."""
    rng = np.random.default_rng(seed)
    q, k = rng.uniform(-1, 1, (40, 3)), rng.uniform(-1, 1, (30, 3))
    S = q @ k.T
    for sign in (1.0, -1.0):
        got = instance._refine(np, q, k, np.full(40, 10.0), np.zeros(40), sign)
        assert got == pytest.approx(float((sign * S).max()), rel=1e-14)


def test_the_instance_sums():
    """Snh2 = sum_j nh_j^2 and SnA = nh^T |A2|, with nh >= ||h_j|| (Lemma D.9's row sums)."""
    A1, A2, A3, E, X, Y = _arrays(20, 3, 4)
    hc = A3 @ Y
    Qc = A1 @ X / 3
    Kc = instance.centre_keys(F64, A2)
    inst = instance.gradient_instance(F64, A1, A2, A3, E, X, Y, 1 / 3, Qc, hc, "g", Kc)
    nh = np.linalg.norm(hc, axis=1)
    assert np.all(inst.nh >= nh) and np.all(inst.nh <= nh * (1 + 1e-12))
    assert inst.Snh2 == pytest.approx(float((inst.nh ** 2).sum()), rel=1e-14)
    np.testing.assert_allclose(inst.SnA, inst.nh @ abs(A2), rtol=1e-14)


def test_a_magnitude_the_bound_cannot_hold_is_named():
    """A non-zero entry below 2^-80 in A3 is refused, naming A3 (the instance's range check)."""
    A1, A2, A3, E, X, Y = _arrays(20, 3, 5)
    A3 = A3.copy()
    A3[2, 1] = 1e-30
    with pytest.raises(attngrad.ApproximationError, match="^g: cannot certify: A3 has"):
        instance.gradient_instance(F64, A1, A2, A3, E, X, Y, 1 / 3, A1 @ X / 3, A3 @ Y, "g",
                                   instance.centre_keys(F64, A2))


def test_fast_results_carry_their_degree_rank_and_parts():
    """attention and gradient: degree g, rank binom(g + d, d), parts with d; the refusal names
    the call."""
    A1, A2, A3, E, X, Y = _arrays(40, 3, 6)
    for res in (attngrad.attention(A1, A2, A3, method="fast", eps=1e-6, return_bound=True),
                attngrad.gradient(A1, A2, A3, E, X, Y, method="fast", eps=1e-6, return_bound=True)):
        assert res.rank == math.comb(res.degree + 3, 3) and res.parts["d"] == 3
    with pytest.raises(attngrad.ApproximationError, match=r"^gradient\(method='fast'\)"):
        attngrad.gradient(10 * A1, 10 * A2, A3, E, 10 * X, Y, method="fast", eps=1e-12,
                          max_rank=10)


def test_a_given_block_is_the_block_used():
    """block= sets the rows per block of the query pass (and with it the length b + n/b of the
    blocked sums the rounding bound charges): blocks of 5 of 200 rows give sums of length
    5 + 40, the default single block 200 + 1, so a smaller rounding term."""
    from attngrad.fast import gradient_fixed_degree
    a = _arrays(200, 3, 8)
    whole = gradient_fixed_degree(*a, degree=4, return_info=True)
    small = gradient_fixed_degree(*a, degree=4, return_info=True, block=5)
    assert small.parts["rounding"] < 0.5 * whole.parts["rounding"]
    np.testing.assert_allclose(small.value, whole.value, rtol=1e-12, atol=1e-15)
