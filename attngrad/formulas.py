"""The paper's quantities as algorithms over a namespace ``ns`` (see backend.py).

These functions take already-validated arrays of one number system and return
arrays of the same system. Names and shapes follow the paper:

* scores  S = scale * A1 X A2^T        (n x n; scale = 1/d in Def 1.2, 1 in Sections 3-C)
* u       = exp(S)                     Def 3.2 (row j0 is u(x)_{j0}, by Fact 3.9)
* alpha   = u 1_n                      Def 3.3
* f       = diag(alpha)^{-1} u         Def 3.4 (computed with the row max subtracted)
* h       = A3 Y                       Def 3.5 (column i0 is h(y)_{i0})
* c       = f h - E                    Def 3.6
* q       = c h^T                      Def C.3
* p1      = f o q,  r = (f o q) 1_n,  p2 = diag(r) f,  p = p1 - p2     Def C.5, Lemma D.4/D.5
* dL/dX   = scale * A1^T p A2          Lemma C.7 (with the chain rule for scale)
"""
from __future__ import annotations


def scale_value(ns, scale, d):
    """The factor multiplying A1 X A2^T: 1/d by default (Definition 1.2)."""
    if scale is None:
        return ns.scalar(1) / ns.scalar(d)
    return ns.scalar(scale)


def scores(ns, A1, A2, X, s):
    return ((A1 @ X) @ A2.T) * s


def u(ns, S):
    return ns.exp(S)


def softmax_rows(ns, S):
    """f = D^{-1} exp(S): row maximum subtracted first, so large scores stay finite."""
    xp = ns.xp
    w = ns.exp(S - xp.max(S, axis=1, keepdims=True))
    return w / xp.sum(w, axis=1, keepdims=True)


def h(ns, A3, Y):
    return A3 @ Y


def c(ns, f, hy, E):
    return f @ hy - E


def q(ns, cx, hy):
    return cx @ hy.T


def p1(ns, f, qx):
    return f * qx


def r(ns, f, qx):
    return ns.xp.sum(f * qx, axis=1)


def p2(ns, f, rx):
    return rx[:, None] * f


def p(ns, f, qx):
    """p(x) of Definition C.5, row j0 = (diag(f_j0) - f_j0 f_j0^T) q_j0, in O(n^2) (Lemma C.6)."""
    return p1(ns, f, qx) - p2(ns, f, r(ns, f, qx))


def loss_from_c(ns, cx):
    """L = 0.5 ||c||_F^2 (Lemma 3.10)."""
    return ns.scalar(1) / ns.scalar(2) * ns.xp.sum(cx * cx)


def gradient_exact_X(ns, A1, A2, A3, E, X, Y, s):
    """Lemma C.8: dL/dX = s A1^T p A2 in T_mat(n,d,n) + T_mat(n,d,d) time."""
    f = softmax_rows(ns, scores(ns, A1, A2, X, s))
    hy = h(ns, A3, Y)
    qx = q(ns, c(ns, f, hy, E), hy)
    return ((A1.T @ p(ns, f, qx)) @ A2) * s


def gradient_exact_Y(ns, A1, A2, A3, E, X, Y, s):
    """dL/dY = (f A3)^T c: L is quadratic in Y through c = f A3 Y - E."""
    f = softmax_rows(ns, scores(ns, A1, A2, X, s))
    fa3 = f @ A3
    return fa3.T @ (fa3 @ Y - E)


def gradient_naive_X(ns, A1, A2, A3, E, X, Y, s):
    """Sum of Lemma B.1 Part 8 over j0, i0 and i in [d^2], block by block of A = A1 (x) A2.

    Deliberately literal: for each j0 it forms A_{j0} (n x d^2), x = vec(X),
    f(x)_{j0} from exp(A_{j0} x) (Fact 3.9, Def 3.4), and the d^2 x d matrix of
    Part 8's bracket. O(n^2 d^3) time. The 1/d of Definition 1.2 is the factor s
    in A = s (A1 (x) A2).
    """
    from .kron import kron, vec, unvec

    xp = ns.xp
    n, d = A1.shape
    x = vec(X)
    hy = h(ns, A3, Y)
    A = kron(A1, A2) * s
    grad = ns.zeros((d * d,))
    for j0 in range(n):
        Aj0 = A[j0 * n:(j0 + 1) * n, :]              # n x d^2
        fj0 = softmax_rows(ns, (Aj0 @ x)[None, :])[0]  # f(x)_{j0}
        cj0 = fj0 @ hy - E[j0, :]                     # c(x)_{j0, i0} for all i0
        # <h_{i0}, A_{j0,i} o f_{j0}> for all (i, i0)
        t1 = (Aj0 * fj0[:, None]).T @ hy              # d^2 x d
        # <f_{j0}, A_{j0,i}> <h_{i0}, f_{j0}>
        t2 = (fj0 @ Aj0)[:, None] * (fj0 @ hy)[None, :]
        grad = grad + (t1 - t2) @ cj0
    return unvec(grad, d, d)
