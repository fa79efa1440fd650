"""The certified error of the fast multi-layer gradient: entrywise bounds carried through the
layers, forward then backward (LSS24 Lemma H.4's induction, made explicit and rigorous).

Every computed array X~ of the fast pass (attngrad/transformer/fast.py) is paired with a
float64 array E_X >= |X~ - X| entrywise, X the exact model's value (attngrad.transformer's
definitions in real arithmetic). The inequalities (statements "LSS24 Lemma T.7 (ours)" to
"T.10 (ours)", derivations/lss24_fast.py) are, with gamma_k = k u / (1 - k u) and u the unit
roundoff of the namespace:

Products (projections, MLP, losses): for C~ = fl(A~ B) with E_A and exact B,
    E_C = E_A |B| + gamma_k |A~| |B|;   for C~ = fl(A~^T B~): E_A^T (|B~| + E_B) + |A~|^T E_B
    + gamma_k |A~|^T |B~|;  sums and element-wise products add u |C~|.

One head, forward (Lemma T.7). Queries z_i = fl(s q~_i), centred keys kc~_j (a shift of the keys
is a per-row constant of the scores, which softmax does not see), values v~_j. N(i) = the keys
row i sees (j <= i under the causal mask). The score error
    Delta_i = sum_a [(s E_Q_ia + 3 u s |q~_ia|) kap_ia + s (|q~_ia| + E_Q_ia) epsk_ia]
        >= max_{j in N(i)} |<z_i, kc~_j> - s <q_i, kc_j>|,
with kap_ia = max_{N(i)} |kc~_ja|, epsk_ia = max_{N(i)} (E_K_ja + u |kc~_ja|). The polynomial P
has relative error delta on the scores' interval; the features' products and the low-rank sums
err by at most gamma_F Pabs(rho_i) per key, Pabs(t) = sum_m |a_m| t^m, rho_i = <|z_i|, kap_i>,
so with A_i = |N(i)| Pabs(rho_i) (1 + gamma_F):
    D_i = (alpha~_i - gamma_F A_i) / (1 + delta) <= sum_{N(i)} e^{<z_i, kc~_j>},
    tau_i = delta + gamma_F A_i / D_i,
    E_O_im = ((delta + tau_i) M_im + gamma_F A_i M_im / D_i) / (1 - tau_i) + u |O~_im|
             + expm1(2 Delta_i) M_im + max_{N(i)} E_V_jm,       M_im = max_{N(i)} |v~_jm|.

One head, backward (Lemma T.8). With f^ = (computed features' products) / alpha~ the softmax the
low-rank passes use exactly, f^_ij = f_ij (1 + e_ij) + z_ij with |e_ij| <= eta_i,
|z_ij| <= gamma' Pabs(rho_i) / alpha~_i, where rho'_i = gamma_F A_i e^Delta_i / D_i and
    eta_i = max(e^Delta (1 + delta) / (e^-Delta (1 - delta) - rho') - 1,
                1 - e^-Delta (1 - delta) / (e^Delta (1 + delta) + rho')).
Row sums of f are 1, so sum_j f_ij w_ij <= max_j w_ij; column sums are bounded through the
computed colsum~_j = sum_i f^_ij: CF_j = (colsum~_j + (gamma' + gamma_C) CA_j) / (1 - max eta)
>= sum_i f_ij (while max eta < 1; at most the number of rows that see key j in any case),
CA_j = sum_{i: j in N(i)} Pabs(rho_i) / alpha~_i (1 + gamma'). With
y_ij = <c_i, v_j> - r_i (so p = f o y), r~_i = fl(<c~_i, O~_i>):
    E_r_i  = sum_m E_c_im |O~_im| + (|c~_im| + E_c_im) E_O_im + gamma_dh |c~_im| |O~_im|,
    Yt_i   = sum_m |c~_im| (M_im + (1 + gamma_dh) |O~_im|)          >= |y~_ij|,
    T2_i   = sum_m E_c_im M_im + (|c~_im| + E_c_im) max_{N(i)} E_V_jm + E_r_i  >= |y~_ij - y_ij|,
    Yb_i   = Yt_i + T2_i                                           >= |y_ij|,
    E_dQ_ia = s ((eta_i + (gamma' + 2 gamma_C) A_i / alpha~_i) Yt_i kap_ia + (T2_i + u Yb_i) kap_ia
              + (1 + u) Yb_i epsk_ia) (1 + 4u) + 2 u |dQ~_ia|,
    E_dK_ja = s (CF_j max_{i: j in N(i)} ((eta_i Yt_i + T2_i + u Yb_i) |q~_ia| + Yb_i (1 + u) E_Q_ia)
              + (gamma' + 2 gamma_C) CA_j max_i Yt_i |q~_ia|) (1 + 4u) + 2 u |dK~_ja|,
    E_dV_jm = CF_j max_i (eta_i |c~_im| + E_c_im) + (gamma' + gamma_C) CA_j max_i |c~_im|
              + u |dV~_jm|.

Layers (Lemma T.9): residual sums add their bounds; the MLP's phi has Lipschitz constant L and
phi' has L' (relu: phi' may flip where |P~| <= E_P); library activations are taken to err by at
most 32 u (1 + |x|) (a model assumption, like the standard model for + - * /). The loss
(Lemma T.10): squared E_dT = E_T + u |dT~|; cross-entropy through the softmax of the logits.

The bound is evaluated in float64 on the input's device from non-negative terms; each layer's
arrays are multiplied by SLACK (attngrad/fast/rounding.py) for that evaluation's own rounding.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ApproximationError
from ..fast.rounding import SLACK, gamma

# Lipschitz constants of phi and phi' (max |phi'|, max |phi''|), certified in
# derivations/lss24_fast.py (tanh's 1 with room for the interval check): gelu' peaks at
# x = sqrt(2) (1.1289...), gelu'' at 0 (2 phi(0)).
LIPSCHITZ = {"identity": (1.0, 0.0), "relu": (1.0, None), "tanh": (1.000001, 0.7699),
             "gelu": (1.1290, 0.7979), "gelu_tanh": (1.1290, 0.8)}
FN_ULPS = 32     # library tanh, erf, exp: at most 32 u (1 + |x|) absolute (model assumption)


def prefix_max(xb, a, reverse=False):
    """Running maximum down the rows (up the rows with ``reverse``): row i holds the maximum of
    rows 0..i (i..n-1)."""
    if reverse:
        return prefix_max(xb, a[::-1])[::-1]
    try:
        return xb.maximum.accumulate(a, axis=0)
    except (AttributeError, NotImplementedError, TypeError):   # a CuPy without accumulate
        host = np.maximum.accumulate(xb.asnumpy(a), axis=0)
        return xb.asarray(host)


def seen_max(xb, a, causal, reverse=False):
    """max over the rows each row sees: all rows, or (causal) rows up to it (from it with
    ``reverse``, the queries that see a key)."""
    if causal:
        return prefix_max(xb, a, reverse)
    return xb.broadcast_to(a.max(axis=0, keepdims=True), a.shape)


def pabs(xb, coeffs_abs, t):
    """sum_m |a_m| t^m for t >= 0 (Horner on non-negative terms), rounded up by its own gamma."""
    out = xb.zeros_like(t)
    for a in reversed(coeffs_abs):
        out = out * t + a
    return out * (1 + gamma(2 * len(coeffs_abs) + 2, 2.0 ** -53))


def product(xb, u, EA, A, B, k=None):
    """E of fl(A~ B) for exact B: E_A |B| + gamma_k |A~| |B|."""
    Babs = abs(B)
    return EA @ Babs + gamma(k or A.shape[1], u) * (abs(A) @ Babs)


def product_both(xb, u, EA, A, EB, B):
    """E of fl(A~^T B~) summed as backprop.gram sums it: E_A^T (|B~| + E_B) + |A~|^T E_B
    + gamma_L |A~|^T |B~|, L = backprop.gram_length(n)."""
    from .backprop import gram_length

    Aa, Ba = abs(A), abs(B)
    return EA.T @ (Ba + EB) + Aa.T @ EB + gamma(gram_length(A.shape[0]), u) * (Aa.T @ Ba)


class HeadForward:
    """A head's forward bound (Lemma T.7) and what its backward bound (Lemma T.8) reuses."""

    def __init__(self, xb, u, n, causal, s, z, q, kc, v, EQ, EK, EV, O, alpha, poly, gF, gP):
        self.causal, self.s, self.u = causal, s, u
        self.q, self.EQ = q, EQ
        kabs = abs(kc)
        self.kap = seen_max(xb, kabs, causal)                         # n x dh
        self.epsk = seen_max(xb, EK + u * kabs, causal)
        self.M = seen_max(xb, abs(v), causal)
        self.MEV = seen_max(xb, EV, causal)
        qabs = abs(q)
        self.Delta = ((s * EQ + 3 * u * s * qabs) * self.kap).sum(axis=1) + \
            (s * (qabs + EQ) * self.epsk).sum(axis=1)
        count = (xb.arange(n) + 1.0) if causal else xb.full((n,), float(n))
        rho = (abs(z) * self.kap).sum(axis=1) * (1 + 2.0 ** -50)
        coeffs_abs = [abs(float(a)) for a in poly.coeffs]
        self.Pabs = pabs(xb, coeffs_abs, rho) * (1 + gP)
        self.A = count * self.Pabs
        delta = float(poly.rel_error)
        self.delta, self.gF, self.gP = delta, gF, gP
        self.alpha = alpha
        self.D = (alpha - gF * self.A) / (1 + delta)
        if not bool((self.D > 0).all()):
            raise ApproximationError("the features' rounding exceeds the softmax normaliser "
                                     "(scores too large for this precision)")
        self.tau = delta + gF * self.A / self.D
        if not bool((self.tau < 1).all()):
            raise ApproximationError("the normaliser's relative error reaches 1")
        tau = self.tau[:, None]
        self.EO = ((delta + tau) * self.M + gF * (self.A / self.D)[:, None] * self.M) / (1 - tau) \
            + u * abs(O) + xb.expm1(2 * self.Delta)[:, None] * self.M + self.MEV
        self.O = O
        ed = xb.exp(self.Delta)
        rho2 = gF * self.A * ed / self.D
        lo_den = (1 - delta) / ed - rho2
        if not bool((lo_den > 0).all()):
            raise ApproximationError("the softmax's relative error reaches 1")
        self.eta = xb.maximum(ed * (1 + delta) / lo_den - 1,
                              1 - (1 - delta) / ed / (ed * (1 + delta) + rho2))

    def backward(self, xb, c, Ec, dQ, dK, dV, colsum, gC, n):
        """(E_dQ, E_dK, E_dV) of Lemma T.8 for c~ = dL/dO~ (n x dh) with E_c."""
        u, s, causal = self.u, self.s, self.causal
        cabs, Oabs = abs(c), abs(self.O)
        gd = gamma(c.shape[1], u)
        Er = (Ec * Oabs + (cabs + Ec) * self.EO).sum(axis=1) + gd * (cabs * Oabs).sum(axis=1)
        Yt = (cabs * (self.M + (1 + gd) * Oabs)).sum(axis=1)
        T2 = (Ec * self.M + (cabs + Ec) * self.MEV).sum(axis=1) + Er
        Yb = Yt + T2
        eta = self.eta
        gp = self.gP
        ratio = self.A / self.alpha
        EdQ = s * (((eta + (gp + 2 * gC) * ratio) * Yt + T2 + u * Yb)[:, None] * self.kap
                   + Yb[:, None] * (1 + u) * self.epsk) * (1 + 4 * u) + 2 * u * abs(dQ)
        # column sums: colsum~ bounds sum_i f_ij through CF, CA (queries i that see key j)
        inv = self.Pabs / self.alpha * (1 + gp)
        CA = (xb.cumsum(inv[::-1])[::-1] if causal else xb.full((n,), float(inv.sum())))
        # sum_i f_ij <= the number of rows that see key j, whatever eta
        rows_seeing = (n - xb.arange(n)) * 1.0 if causal else xb.full((n,), float(n))
        top = float(eta.max())
        CF = (xb.minimum((colsum + (gp + gC) * CA) / (1 - top), rows_seeing) if top < 1
              else rows_seeing)
        qabs = abs(self.q)
        wK = ((eta * Yt + T2 + u * Yb)[:, None] * qabs + Yb[:, None] * (1 + u) * self.EQ)
        EdK = s * (CF[:, None] * seen_max(xb, wK, causal, reverse=True)
                   + (gp + 2 * gC) * CA[:, None] * seen_max(xb, Yt[:, None] * qabs, causal,
                                                             reverse=True)) * (1 + 4 * u) \
            + 2 * u * abs(dK)
        EdV = CF[:, None] * seen_max(xb, eta[:, None] * cabs + Ec, causal, reverse=True) \
            + (gp + gC) * CA[:, None] * seen_max(xb, cabs, causal, reverse=True) + u * abs(dV)
        return EdQ, EdK, EdV


def activation_bounds(xb, u, name, P, EP, G=None):
    """(E of phi~(P~) against phi(P), and of phi~'(P~) against phi'(P)) for the activation."""
    L1, L2 = LIPSCHITZ[name]
    fn = FN_ULPS * u * (1 + abs(P))
    if name == "identity":
        return EP, xb.zeros_like(P)
    if name == "relu":   # phi' may flip only where P's sign is uncertain (E_P = 0: P~ = P)
        flip = ((abs(P) <= EP) & (EP > 0)) * 1.0
        return EP, flip
    return L1 * EP + fn, L2 * EP + fn


def finite(E, what):
    """A bound must be finite (inf or nan: no certificate)."""
    v = float(E.max()) if E.size else 0.0
    if not math.isfinite(v):
        raise ApproximationError(f"{what}: the error bound is not finite (no certificate)")
    return E * SLACK
