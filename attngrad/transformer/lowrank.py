"""One head's attention, forward and backward, through a low-rank softmax, by blocks of rows.

With feature maps Phi (queries, already scaled by s) and Psi (keys) such that
exp(s <q_i, k_j>) ~ Phi_i . Psi_j (the polynomial method: LSS24 Lemma C.13, AS24 Lemma D.1),
the softmax is f~ = diag(alpha~)^{-1} U V^T with U = Phi(Q), V = Psi(K) and alpha~ = U V^T 1
(causal: f~_ij = 0 for j > i, LSS24 Definition I.5). Every product the exact backward pass forms
(attngrad/transformer/attention.py: O = f V, q = c V^T, p = f o (q - r), dQ = s p K,
dK = s p^T Q, dV = f^T c) goes through the factors, never as an n x n matrix (LSS24 Lemmas E.x,
F.x, G.x; AS24 Theorem D.6's Kronecker trick for the Hadamard product):

    O_i    = Phi_i^T Z1[:, 1:] / alpha~_i,  alpha~_i = Phi_i^T Z1[:, 0],  Z1 = sum_j Psi_j [1, v_j]^T
    r_i    = <c_i, O_i>
    dQ_i   = s / alpha~_i (sum_m c_im Phi_i^T ZM_m - r_i Phi_i^T ZK),
             ZM_m = sum_j Psi_j v_jm k_j^T,  ZK = sum_j Psi_j k_j^T
    dK_j   = s (sum_m v_jm Psi_j^T AM_m - Psi_j^T AR),
             AM_m = sum_i Phi_i c_im q_i^T / alpha~_i,  AR = sum_i Phi_i r_i q_i^T / alpha~_i
    dV_j   = Psi_j^T AC,  AC = sum_i Phi_i c_i^T / alpha~_i

Time O(n k d_h^2) per head for k features. Under the causal mask the sums over j run over j <= i
(prefix sums, in row order) and those over i over i >= j (suffix sums, in reverse order); within
a block of b rows the b x b lower triangle of f~ is formed explicitly, so the cost is
O(n k d_h^2 + n b k) (the blocked causal product of linear attention; LSS24 Algorithm 2 is its
b = 1 case). Written once against the namespace ``ns``.
"""
from __future__ import annotations

from .attention import causal_keep


def _blocks(n, rows):
    return [(r0, min(r0 + rows, n)) for r0 in range(0, n, rows)]


def _outer_rows(ns, a, b):
    """Row-wise Kronecker product: row i is a_i (x) b_i, flattened (b x (|a_i| |b_i|))."""
    return (a[:, :, None] * b[:, None, :]).reshape(a.shape[0], a.shape[1] * b.shape[1])


def _local(ns, PhiT, PsiT, r0, r1):
    """The block's own lower triangle: (Phi_b^T Psi_b) o mask (b x b, rows r0..r1-1)."""
    xp = ns.xp
    return xp.where(causal_keep(ns, r0, r1)[:, r0:r1], PhiT.T @ PsiT, ns.scalar(0))


def forward(ns, feats, Q, K, V, s, causal, rows):
    """(O~, alpha~): the head's output f~ V (n x d_h) and the normalisers alpha~ (n)."""
    xp = ns.xp
    n, dh = V.shape
    O = ns.zeros((n, dh))
    alpha = ns.zeros((n,))
    ones = ns.ones((n, 1))
    if not causal:
        Z1 = None
        for r0, r1 in _blocks(n, rows):
            part = feats.key(ns, K[r0:r1]) @ xp.concatenate([ones[r0:r1], V[r0:r1]], axis=1)
            Z1 = part if Z1 is None else Z1 + part
    else:
        Z1 = ns.zeros((feats.rank, 1 + dh))      # sum over the blocks already passed
    for r0, r1 in _blocks(n, rows):
        PhiT = feats.query(ns, Q[r0:r1] * s)
        T = PhiT.T @ Z1
        if causal:
            PsiT = feats.key(ns, K[r0:r1])
            P = _local(ns, PhiT, PsiT, r0, r1)
            T = T + xp.concatenate([xp.sum(P, axis=1, keepdims=True), P @ V[r0:r1]], axis=1)
            Z1 = Z1 + PsiT @ xp.concatenate([ones[r0:r1], V[r0:r1]], axis=1)
        alpha[r0:r1] = T[:, 0]
        O[r0:r1] = T[:, 1:] / T[:, :1]
    return O, alpha


def backward(ns, feats, Q, K, V, O, alpha, c, s, causal, rows):
    """(dL/dQ, dL/dK, dL/dV, colsum) of the head (each n x d_h; colsum_j = sum_i f~_ij, what the
    certificate needs, from one more column) from c = dL/dO~ (n x d_h), through f~."""
    xp = ns.xp
    n, dh = V.shape
    r = xp.sum(c * O, axis=1)                                  # r_i = <c_i, O~_i>
    ca = c / alpha[:, None]
    ra = r / alpha
    dQ, dK, dV = ns.zeros((n, dh)), ns.zeros((n, dh)), ns.zeros((n, dh))
    blocks = _blocks(n, rows)

    def key_sums(r0, r1, PsiT):        # [ZK | ZM] of the rows r0..r1-1
        return PsiT @ xp.concatenate([K[r0:r1], _outer_rows(ns, V[r0:r1], K[r0:r1])], axis=1)

    inv = (ns.ones((n,)) / alpha)[:, None]

    def query_sums(r0, r1, PhiT):      # [AR | AM | AC | 1/alpha~] of the rows r0..r1-1
        q = Q[r0:r1]
        return PhiT @ xp.concatenate([q * ra[r0:r1, None], _outer_rows(ns, ca[r0:r1], q),
                                      ca[r0:r1], inv[r0:r1]], axis=1)

    def dq_rows(r0, r1, PhiT, ZKM):    # s / alpha~_i (sum_m c_im Phi_i^T ZM_m - r_i Phi_i^T ZK)
        T = PhiT.T @ ZKM
        TM = T[:, dh:].reshape(r1 - r0, dh, dh)
        return (xp.sum(ca[r0:r1, :, None] * TM, axis=1) - ra[r0:r1, None] * T[:, :dh]) * s

    def dk_dv_rows(r0, r1, PsiT, A):   # s (sum_m v_jm Psi_j^T AM_m - Psi_j^T AR), Psi_j^T AC
        T = PsiT.T @ A
        TM = T[:, dh:dh + dh * dh].reshape(r1 - r0, dh, dh)
        dk = (xp.sum(V[r0:r1, :, None] * TM, axis=1) - T[:, :dh]) * s
        return dk, T[:, dh + dh * dh:-1], T[:, -1]

    if not causal:
        ZKM = None
        for r0, r1 in blocks:
            part = key_sums(r0, r1, feats.key(ns, K[r0:r1]))
            ZKM = part if ZKM is None else ZKM + part
        A = None
        for r0, r1 in blocks:
            PhiT = feats.query(ns, Q[r0:r1] * s)
            dQ[r0:r1] = dq_rows(r0, r1, PhiT, ZKM)
            part = query_sums(r0, r1, PhiT)
            A = part if A is None else A + part
        colsum = ns.zeros((n,))
        for r0, r1 in blocks:
            dK[r0:r1], dV[r0:r1], colsum[r0:r1] = dk_dv_rows(r0, r1, feats.key(ns, K[r0:r1]), A)
        return dQ, dK, dV, colsum

    # causal: prefix sums of keys for dQ (forward order), suffix sums of queries for dK, dV
    # (reverse order); each block's own lower triangle explicitly, as the exact path's p
    ZKM = ns.zeros((feats.rank, dh + dh * dh))
    colsum = ns.zeros((n,))
    for r0, r1 in blocks:
        PhiT, PsiT = feats.query(ns, Q[r0:r1] * s), feats.key(ns, K[r0:r1])
        Fl = _local(ns, PhiT, PsiT, r0, r1) / alpha[r0:r1, None]    # f~ on the block's triangle
        pl = Fl * (c[r0:r1] @ V[r0:r1].T - r[r0:r1, None])           # p~ there
        dQ[r0:r1] = dq_rows(r0, r1, PhiT, ZKM) + (pl @ K[r0:r1]) * s
        dK[r0:r1] = (pl.T @ Q[r0:r1]) * s
        dV[r0:r1] = Fl.T @ c[r0:r1]
        colsum[r0:r1] = xp.sum(Fl, axis=0)
        ZKM = ZKM + key_sums(r0, r1, PsiT)
    A = ns.zeros((feats.rank, dh + dh * dh + dh + 1))
    for r0, r1 in reversed(blocks):
        PsiT = feats.key(ns, K[r0:r1])
        dk, dv, cs = dk_dv_rows(r0, r1, PsiT, A)
        dK[r0:r1] = dK[r0:r1] + dk
        dV[r0:r1] = dV[r0:r1] + dv
        colsum[r0:r1] = colsum[r0:r1] + cs
        A = A + query_sums(r0, r1, feats.query(ns, Q[r0:r1] * s))
    return dQ, dK, dV, colsum


class Features:
    """The factor maps of LSS24 Lemma C.13 for one head: Phi(q) = (coef_alpha q^alpha)_alpha,
    Psi(k) = (k^alpha)_alpha over the monomials of a plan (attngrad.fast.monomial_plan), so
    Phi(s q) . Psi(k) = P(s <q, k>) for the polynomial P whose coefficients give ``coef``."""

    def __init__(self, plan, coef):
        self.plan, self.coef = plan, coef
        self.rank = len(plan[0])

    def query(self, ns, Qs):
        from ..fast import features

        return features(ns, Qs, self.plan, self.coef)

    def key(self, ns, K):
        from ..fast import features

        return features(ns, K, self.plan)
