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

Every quantity above is computed row by row (row j0 of f, c, q, p needs only row
j0 of A1 and E), so the exact algorithms are written per row block
(``*_block`` below, A1_b / E_b / Q_b = a slice of rows). The whole matrix is one
block; attngrad/blocked.py runs the same functions over many blocks so that only
a block x n tile of scores is alive at a time.
"""
from __future__ import annotations


def scale_value(ns, scale, d):
    """The factor multiplying A1 X A2^T: 1/d by default (Definition 1.2)."""
    if scale is None:
        return ns.scalar(1) / ns.scalar(d)
    try:
        s = ns.scalar(scale)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"scale: expected a real number or None, got {scale!r}") from exc
    if not ns.isfinite_all(s):
        raise ValueError(f"scale: must be finite, got {scale!r}")
    return s


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
    """p(x) of Definition C.5, row j0 = (diag(f_j0) - f_j0 f_j0^T) q_j0, in O(n^2) (Lemma C.6).

    p1 = f o q is formed once; r = p1 1_n is the same sum as :func:`r`.
    """
    p1x = p1(ns, f, qx)
    return p1x - p2(ns, f, ns.xp.sum(p1x, axis=1))


def loss_from_c(ns, cx):
    """L = 0.5 ||c||_F^2 (Lemma 3.10)."""
    return ns.scalar(1) / ns.scalar(2) * ns.xp.sum(cx * cx)


def gradient_X_block(ns, A1b, A2, Eb, X, hy, s):
    """Lemma C.8 on the rows b of A1 and E: A1_b^T p_b A2, without the factor s.

    S_b = s A1_b X A2^T, f_b = softmax(S_b), c_b = f_b h - E_b, q_b = c_b h^T,
    p_b = f_b o q_b - r_b f_b; dL/dX = s sum_b A1_b^T p_b A2 (Lemma C.7).
    """
    fb = softmax_rows(ns, scores(ns, A1b, A2, X, s))
    qb = q(ns, c(ns, fb, hy, Eb), hy)
    return (A1b.T @ p(ns, fb, qb)) @ A2


def gradient_Y_block(ns, A1b, A2, A3, Eb, X, Y, s):
    """Rows b of dL/dY = (f A3)^T c: (f_b A3)^T (f_b A3 Y - E_b)."""
    fa3 = softmax_rows(ns, scores(ns, A1b, A2, X, s)) @ A3
    return fa3.T @ (fa3 @ Y - Eb)


def loss_block(ns, A1b, A2, Eb, X, hy, s):
    """Rows b of L (Lemma 3.10): 0.5 ||f_b h - E_b||_F^2."""
    return loss_from_c(ns, c(ns, softmax_rows(ns, scores(ns, A1b, A2, X, s)), hy, Eb))


def attention_block(ns, Qb, K, V, s):
    """Rows b of D^{-1} exp(s Q K^T) V: softmax(s Q_b K^T) V."""
    return softmax_rows(ns, (Qb @ K.T) * s) @ V


def gradient_exact_X(ns, A1, A2, A3, E, X, Y, s):
    """Lemma C.8: dL/dX = s A1^T p A2 in T_mat(n,d,n) + T_mat(n,d,d) time (one block)."""
    return gradient_X_block(ns, A1, A2, E, X, h(ns, A3, Y), s) * s


def gradient_exact_Y(ns, A1, A2, A3, E, X, Y, s):
    """dL/dY = (f A3)^T c: L is quadratic in Y through c = f A3 Y - E (one block)."""
    return gradient_Y_block(ns, A1, A2, A3, E, X, Y, s)


def gradient_naive_X(ns, A1, A2, A3, E, X, Y, s):
    """Sum of Lemma B.1 Part 8 over j0, i0 and i in [d^2], block by block of A = A1 (x) A2.

    Deliberately literal: for each j0 it forms A_{j0} (n x d^2), x = vec(X),
    f(x)_{j0} from exp(A_{j0} x) (Fact 3.9, Def 3.4), and the d^2 x d matrix of
    Part 8's bracket. O(n^2 d^3) time. The 1/d of Definition 1.2 is the factor s
    in A = s (A1 (x) A2).
    """
    from .kron import kron, vec, unvec

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


# --- fused blocks: the same quantities in fewer passes over the block x n tile ----------------
#
# With w = exp(S - rowmax S) (in place) and l = w 1, f = diag(l)^{-1} w is never formed: the
# products with f are products with w divided afterwards by l (b x d numbers, not b x n), and
# p = f o (q - r) = w o (c h^T / l - r / l) takes one product into a fresh tile and two in-place
# passes. Per block: 3 matrix products on the tile and 4 passes (max, subtract, exp, sum, then
# subtract and multiply on the second tile), against 9 passes for the literal formulas above.


def softmax_parts(ns, Qb, K):
    """(w, l) with f_b = diag(l)^{-1} w for scores Qb K^T (the queries already scaled):
    w = exp(S - rowmax S) computed in place of S, l = w 1 (Definitions 3.3, 3.4)."""
    xp = ns.xp
    S = Qb @ K.T
    S -= xp.max(S, axis=1, keepdims=True)
    w = ns.exp_inplace(S)
    return w, xp.sum(w, axis=1)


def fused_gradient_X_block(ns, A1b, A2, Eb, X, hy, s):
    """:func:`gradient_X_block` (Lemma C.8 on rows b, without the factor s) in fewer passes:
    c_b = (w h) / l - E_b, r_b = <c_b, f_b h>, p_b = w o (c_b h^T / l - r_b / l)."""
    xp = ns.xp
    w, l = softmax_parts(ns, (A1b @ X) * s, A2)
    fh = (w @ hy) / l[:, None]                  # f_b h
    cb = fh - Eb                                # c_b, Definition 3.6
    rb = xp.sum(cb * fh, axis=1)                # r_b = <f_b, q_b>, Lemma D.5
    P = (cb / l[:, None]) @ hy.T                # q_b / l
    P -= (rb / l)[:, None]
    P *= w                                      # p_b = f_b o (q_b - r_b), Definition C.5
    return (A1b.T @ P) @ A2


def fused_gradient_Y_block(ns, A1b, A2, A3, Eb, X, Y, s):
    """:func:`gradient_Y_block` in fewer passes: f_b A3 = (w A3) / l."""
    w, l = softmax_parts(ns, (A1b @ X) * s, A2)
    fa3 = (w @ A3) / l[:, None]
    return fa3.T @ (fa3 @ Y - Eb)


def fused_loss_block(ns, A1b, A2, Eb, X, hy, s):
    """:func:`loss_block` in fewer passes."""
    w, l = softmax_parts(ns, (A1b @ X) * s, A2)
    return loss_from_c(ns, (w @ hy) / l[:, None] - Eb)


def fused_attention_block(ns, Qb, K, V, s):
    """:func:`attention_block` in fewer passes: (w V) / l."""
    w, l = softmax_parts(ns, Qb * s, K)
    return (w @ V) / l[:, None]
