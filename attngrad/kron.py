"""Vectorisation and Kronecker products in the paper's conventions (Sections 3.1, A.2).

``vec`` is row-major (it stacks the rows of a matrix): with this convention
Fact 3.8 reads vec(A1 X A2^T) = (A1 (x) A2) vec(X); the column-major vec of
most linear-algebra texts would need A2 (x) A1 instead. The checks of Fact 3.8
in derivations/ settle this.
"""
from __future__ import annotations


def vec(X):
    """Row-major vectorisation: x[(i0-1) d + i1] = X[i0, i1] (1-based, as in the paper)."""
    return X.reshape(-1)


def unvec(x, rows, cols):
    """Inverse of :func:`vec`."""
    return x.reshape(rows, cols)


def kron(X, Y):
    """Kronecker product (X (x) Y)_{(j0-1) n1 + j1, (i0-1) m1 + i1} = X_{j0,i0} Y_{j1,i1}.

    Written with broadcasting so it runs on every number system.
    """
    n0, m0 = X.shape
    n1, m1 = Y.shape
    return (X[:, None, :, None] * Y[None, :, None, :]).reshape(n0 * n1, m0 * m1)


def rowwise_kron(U1, U2):
    """Row-wise Kronecker product of Fact A.2: (U1 (/) U2)_{i, l1 + (l2-1) k1} = (U1)_{i,l1} (U2)_{i,l2}.

    The column index runs over l1 fastest, as printed.
    """
    n, k1 = U1.shape
    n2, k2 = U2.shape
    if n != n2:
        raise ValueError(f"rowwise_kron: U1 has {n} rows but U2 has {n2}")
    return (U2[:, :, None] * U1[:, None, :]).reshape(n, k1 * k2)
