"""attngrad.kron, rowwise_kron, vec, unvec against the paper's index formulas (1-based, as printed).

Entries are Python integers in object arrays, so every comparison is exact.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import attngrad
from attngrad import kron, rowwise_kron, unvec, vec

from .profiles import examples

DIM = st.integers(1, 4)


def int_matrix(draw, rows, cols):
    vals = draw(st.lists(st.integers(-9, 9), min_size=rows * cols, max_size=rows * cols))
    out = np.empty((rows, cols), dtype=object)
    out.reshape(-1)[:] = vals
    return out


@st.composite
def matrices(draw, rows=DIM, cols=DIM):
    return int_matrix(draw, draw(rows), draw(cols))


def entry(M, i, j):
    """M_{i,j}, 1-based."""
    return M[i - 1, j - 1]


@settings(max_examples=examples(60), deadline=None)
@given(matrices(), matrices())
@example(np.array([[2]], dtype=object), np.array([[3]], dtype=object))
def test_kron_as_printed(X, Y):
    """(X (x) Y)_{(j0-1) n1 + j1, (i0-1) m1 + i1} = X_{j0,i0} Y_{j1,i1} (Section 3.1; "m2" read as m1)."""
    n0, m0 = X.shape
    n1, m1 = Y.shape
    K = kron(X, Y)
    assert K.shape == (n0 * n1, m0 * m1)
    for j0 in range(1, n0 + 1):
        for j1 in range(1, n1 + 1):
            for i0 in range(1, m0 + 1):
                for i1 in range(1, m1 + 1):
                    assert entry(K, (j0 - 1) * n1 + j1, (i0 - 1) * m1 + i1) == entry(X, j0, i0) * entry(Y, j1, i1)


@settings(max_examples=examples(30), deadline=None)
@given(matrices(), matrices())
def test_kron_agrees_with_numpy_kron(X, Y):
    np.testing.assert_array_equal(kron(X.astype(float), Y.astype(float)), np.kron(X.astype(float), Y.astype(float)))


@st.composite
def same_rows(draw, count):
    n = draw(DIM)
    return [int_matrix(draw, n, draw(DIM)) for _ in range(count)]


@settings(max_examples=examples(60), deadline=None)
@given(same_rows(2))
def test_rowwise_kron_as_printed(pair):
    """(U1 (/) U2)_{i, l1 + (l2-1) k1} = (U1)_{i,l1} (U2)_{i,l2} (Fact A.2, the "U_{i,l2}" read as U2)."""
    U1, U2 = pair
    n, k1 = U1.shape
    k2 = U2.shape[1]
    W = rowwise_kron(U1, U2)
    assert W.shape == (n, k1 * k2)
    for i in range(1, n + 1):
        for l1 in range(1, k1 + 1):
            for l2 in range(1, k2 + 1):
                assert entry(W, i, l1 + (l2 - 1) * k1) == entry(U1, i, l1) * entry(U2, i, l2)


@settings(max_examples=examples(60), deadline=None)
@given(same_rows(2), same_rows(2))
def test_fact_A2(us, vs):
    """(U1 V1^T) o (U2 V2^T) = (U1 (/) U2)(V1 (/) V2)^T, exactly, for k1, k2 >= 1."""
    U1, U2 = us
    V1, V2 = vs
    k1, k2 = U1.shape[1], U2.shape[1]
    V1 = V1[:, :1].repeat(k1, axis=1) + np.arange(k1)  # V1 must have k1 columns, V2 k2
    V2 = V2[:, :1].repeat(k2, axis=1) - np.arange(k2)
    lhs = (U1 @ V1.T) * (U2 @ V2.T)
    rhs = rowwise_kron(U1, U2) @ rowwise_kron(V1, V2).T
    assert (lhs == rhs).all()


@settings(max_examples=examples(60), deadline=None)
@given(matrices())
def test_vec_is_row_major_and_unvec_inverts_it(M):
    """vec: x_{(i0-1) m + i1} = M_{i0,i1} (rows stacked); unvec(vec(M)) = M."""
    r, m = M.shape
    x = vec(M)
    assert x.shape == (r * m,)
    for i0 in range(1, r + 1):
        for i1 in range(1, m + 1):
            assert x[(i0 - 1) * m + i1 - 1] == entry(M, i0, i1)
    assert (unvec(x, r, m) == M).all()
    assert (vec(unvec(x, r, m)) == x).all()


@settings(max_examples=examples(40), deadline=None)
@given(st.data())
def test_fact_3_8_tensor_trick(data):
    """vec(A1 X A2^T) = (A1 (x) A2) vec(X), exactly (row-major vec)."""
    n, d = data.draw(DIM), data.draw(DIM)
    A1, A2 = (int_matrix(data.draw, n, d) for _ in range(2))
    X = int_matrix(data.draw, d, d)
    assert (vec(A1 @ X @ A2.T) == kron(A1, A2) @ vec(X)).all()


def test_column_major_vec_would_need_the_other_order():
    """The convention matters: with the column-major vec, Fact 3.8 needs A2 (x) A1 instead."""
    A1 = np.array([[1, 2], [3, 5]], dtype=object)
    A2 = np.array([[7, 0], [1, 1]], dtype=object)
    X = np.array([[1, 0], [0, 0]], dtype=object)
    colvec = lambda M: M.T.reshape(-1)  # noqa: E731
    assert not (colvec(A1 @ X @ A2.T) == kron(A1, A2) @ colvec(X)).all()
    assert (colvec(A1 @ X @ A2.T) == kron(A2, A1) @ colvec(X)).all()


def test_kron_in_mpmath_holds_mpf():
    with mpmath.workdps(50):
        X = attngrad.to_mpmath(np.array([[0.5, -1.0]]))
        Y = attngrad.to_mpmath(np.array([[3.0], [0.25]]))
        K = kron(X, Y)
        W = rowwise_kron(attngrad.to_mpmath(np.ones((2, 2))), attngrad.to_mpmath(np.eye(2)))
    assert all(type(v) is mpmath.mpf for v in K.reshape(-1).tolist() + W.reshape(-1).tolist())


def test_index_checks_can_fail(monkeypatch):
    """With the factors (or the column order) swapped, the printed index formulas fail."""
    import sys

    me = sys.modules[__name__]
    X = np.array([[1, 2], [0, 1]], dtype=object)
    Y = np.array([[3, 0], [4, 5]], dtype=object)
    U1 = np.array([[1, 2], [3, 4]], dtype=object)
    U2 = np.array([[5, 6, 7], [8, 9, 10]], dtype=object)
    test_kron_as_printed.hypothesis.inner_test(X, Y)
    test_rowwise_kron_as_printed.hypothesis.inner_test([U1, U2])
    monkeypatch.setattr(me, "kron", lambda A, B: np.kron(B, A))
    with pytest.raises(AssertionError):
        test_kron_as_printed.hypothesis.inner_test(X, Y)
    monkeypatch.setattr(me, "rowwise_kron",
                        lambda A, B: (A[:, :, None] * B[:, None, :]).reshape(A.shape[0], -1))
    with pytest.raises(AssertionError):
        test_rowwise_kron_as_printed.hypothesis.inner_test([U1, U2])


def test_rowwise_kron_of_mismatched_rows_says_which():
    """U1 and U2 of Fact A.2 share their rows; the error names both counts."""
    with pytest.raises(ValueError, match="U1 has 3 rows but U2 has 2"):
        rowwise_kron(np.ones((3, 2)), np.ones((2, 2)))
