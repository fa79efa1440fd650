"""Multi-head attention of one layer, forward and backward, exact, by blocks of rows.

For head l with Q = T W_Q^l, K = T W_K^l, V = T W_V^l (n x d_h) and the upstream gradient
c = dL/dO_l (n x d_h), the backward pass is the first paper's Appendix C with A1 X -> Q,
A2 -> K, h -> V and c -> dL/dO_l ("Lemma T.2 (ours)", derivations/lss24_model.py):

    f = softmax(s Q K^T)  (causal: entries j > i of row i excluded, so f_ij = 0 there)
    q = c V^T                              Definition C.3 with h = V
    p = f o q - diag(r) f,  r = (f o q) 1   Definition C.5 (p = dL/dS)
    dL/dQ = s p K,   dL/dK = s p^T Q,   dL/dV = f^T c
    dL/dW_Q^l = T^T dL/dQ, ...,  dL/dT = dL/dQ W_Q^l^T + dL/dK W_K^l^T + dL/dV W_V^l^T

Every row of f, q and p needs only its own row of Q and c, so the rows are taken ``rows`` at a
time: only a rows x n tile of scores is alive (memory O(n d + rows n)), as in
attngrad/blocked.py. Under the causal mask a block of rows r0..r1-1 sees only the columns
0..r1-1, so the tile is rows x r1; blocks of at most n / 8 rows skip most of the masked half.
"""
from __future__ import annotations

from .. import formulas as F


def causal_keep(ns, r0, r1):
    """The (r1 - r0) x r1 boolean mask of rows r0..r1-1: True where column j <= row i."""
    xp = ns.xp
    return xp.arange(r1)[None, :] <= xp.arange(r0, r1)[:, None]


def softmax_rows(ns, S, keep=None):
    """Row-softmax of S (b x m); with ``keep`` (rows r0.. of the causal mask), masked entries
    get probability 0 and the rest sum to 1 (LSS24 Definition I.5).

    Masked scores become -inf (exp gives exactly 0 in every number system); each row keeps its
    diagonal, so its maximum is finite.
    """
    if keep is None:
        return F.softmax_rows(ns, S)
    xp = ns.xp
    Sf = xp.where(keep, S, ns.scalar("-inf"))
    w = ns.exp(Sf - xp.max(Sf, axis=1, keepdims=True))
    return w / xp.sum(w, axis=1, keepdims=True)


def head_f(ns, Qb, K, s, keep=None):
    """f_b: rows b of softmax(s Q K^T) against the keys K given (masked if ``keep``)."""
    return softmax_rows(ns, (Qb @ K.T) * s, keep)


def zero_row_sums(ns, g, f):
    """g with each row's sum subtracted at the row's largest f: exact for a g whose rows sum to 0.

    Both p (Definition C.5: (diag(f_j) - f_j f_j^T) 1 = 0 as the row f_j sums to 1) and the
    cross-entropy's softmax(Z) - onehot have rows summing to 0 (the gradient is blind to adding a
    constant to a row of scores). Computed rows sum to O(u) times their size instead; autodiff
    frameworks remove that sum through the gradient of the softmax's max-subtraction; without
    the same correction the 90th percentile of the float64 error on random small models was 18
    times autograd's (tests/test_transformer.py::test_as_accurate_as_autograd). One
    subtraction per row, at the entry with the largest f, restores the property to a rounding.
    """
    xp = ns.xp
    rows = xp.arange(g.shape[0])
    g[rows, ns.row_argmax(f)] -= xp.sum(g, axis=1)
    return g


def head_backward_block(ns, fb, Qb, K, V, cb, s):
    """Rows b of one head's backward pass: (dL/dQ_b, the rows' share of dL/dK, of dL/dV).

    q_b = c_b V^T (Definition C.3), p_b = f_b o q_b - diag(r_b) f_b (Definition C.5, rows
    summed to zero by :func:`zero_row_sums`), dL/dQ_b = s p_b K, dL/dK += s p_b^T Q_b,
    dL/dV += f_b^T c_b.
    """
    pb = zero_row_sums(ns, F.p(ns, fb, F.q(ns, cb, V)), fb)
    return (pb @ K) * s, (pb.T @ Qb) * s, fb.T @ cb


def _blocks(n, rows):
    return [(r0, min(r0 + rows, n)) for r0 in range(0, n, rows)]


def _heads(d, heads):
    dh = d // heads
    return [slice(l * dh, (l + 1) * dh) for l in range(heads)]


def _tile(ns, r0, r1, n, causal):
    """(number of key rows the block sees, its mask or None)."""
    return (r1, causal_keep(ns, r0, r1)) if causal else (n, None)


def causal_rows(n, rows):
    """Rows per block under the causal mask: at most n / 8 (at least 64), so the tiles above the
    diagonal that are skipped are most of that half of the scores."""
    return min(rows, max(64, -(-n // 8)))


def forward(ns, Q, K, V, heads, causal, s, rows):
    """The concatenated head outputs [f_1 V_1, ..., f_h V_h] (n x d)."""
    n, d = Q.shape
    rows = causal_rows(n, rows) if causal else rows
    out = ns.zeros((n, d))
    for r0, r1 in _blocks(n, rows):
        m, keep = _tile(ns, r0, r1, n, causal)
        for hc in _heads(d, heads):
            fb = head_f(ns, Q[r0:r1, hc], K[:m, hc], s, keep)
            out[r0:r1, hc] = fb @ V[:m, hc]
    return out


def backward(ns, Q, K, V, dO, heads, causal, s, rows):
    """(dL/dQ, dL/dK, dL/dV), each n x d (head l in its columns), from dL/dO (n x d)."""
    n, d = Q.shape
    rows = causal_rows(n, rows) if causal else rows
    dQ, dK, dV = ns.zeros((n, d)), ns.zeros((n, d)), ns.zeros((n, d))
    for r0, r1 in _blocks(n, rows):
        m, keep = _tile(ns, r0, r1, n, causal)
        for hc in _heads(d, heads):
            Qb, Kh, Vh = Q[r0:r1, hc], K[:m, hc], V[:m, hc]
            fb = head_f(ns, Qb, Kh, s, keep)
            gq, gk, gv = head_backward_block(ns, fb, Qb, Kh, Vh, dO[r0:r1, hc], s)
            dQ[r0:r1, hc] = gq
            dK[:m, hc] += gk
            dV[:m, hc] += gv
    return dQ, dK, dV
