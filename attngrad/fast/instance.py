"""What the certificate knows about one instance: O(n d) magnitudes, taken once.

Everything here is float64 on the bound's device (numpy or CuPy; numpy for mpmath) and is an
upper bound (or, for ``lo``, a lower bound) of the quantity it names, the float64 evaluation's own
rounding included (the margins below, or the final SLACK of attngrad/fast/rounding.py).

Centred keys (Lemma D.8, ours): the keys are k_j = (A2)_j - kappa, kappa the midpoint of each
column's range. Then <q_i, k_j> = S_ij - <q_i, kappa> differs from the score by a constant per
row, which the softmax removes (Definition 3.4): f is unchanged, and the scores the polynomial
must approximate lose the part that only shifts rows (a common offset of the keys, a key
aligned with every query). The subtraction's rounding is charged to sigma.

The score interval (Lemma D.8, ours): the computed queries q^c_i (rows of fl(s A1 X)) and the
centred keys k_j give scores S^c_ij = <q^c_i, k_j> with, for every j,

    box:       sum_a min(q_ia kmax_a, q_ia kmin_a) <= S^c_ij <= sum_a max(q_ia kmax_a, q_ia kmin_a)
    Cauchy-Schwarz:            |S^c_ij| <= ||q^c_i|| max_j ||k_j||

(kmax_a, kmin_a: the largest and smallest entry of column a of the keys), so [lo, hi] with
lo = min_i of the larger lower bound and hi = max_i of the smaller upper bound holds every score;
the rows whose bounds are the largest then get their exact extreme scores (a few rows times n,
capped), which tightens hi and lo to the data's own range where a few rows hold the extremes,
and Rabs = max_i min(sum_a |q_ia| max_j |k_ja|, ||q^c_i|| max_j ||k_j||) bounds <|q^c_i|, |k_j|>,
which bounds every sum of absolute values of the features (attngrad/fast/features.py). The
polynomial is certified on [lo, hi], the range the data occupy, not on the worst case
[-R, R] of the norms.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .rounding import (bound_xp, check_range, gamma, max_entry, max_row_norm, omega_of, scaled_up,
                       to64, u_of)


@dataclass
class Scores:
    """Bounds on the scores S^c_ij = <q^c_i, k_j> of the computed queries (float64)."""

    lo: float      # <= every S^c_ij
    hi: float      # >= every S^c_ij
    Rabs: float    # >= every <|q^c_i|, |k_j|>
    sigma: float   # >= every |S^c_ij - S_ij| (the rounding of the queries)
    qm: float      # max |q^c_ia|
    km: float      # max |k_ja|

    @property
    def R(self):
        """max(|lo|, |hi|): the largest score magnitude the bound admits."""
        return max(abs(self.lo), abs(self.hi))


# rows of exact scores the interval refinement may compute: rows x n <= this (O(n d) work)
REFINE_ENTRIES = 1 << 27


def score_bounds(xb, q64, k64):
    """(lo, hi, Rabs) of the module docstring from float64 images of the queries and keys (an
    image may carry a relative error 2^-53 per entry: mpmath inputs), hi and lo refined by
    :func:`_refine`."""
    d = q64.shape[1]
    kmax, kmin = k64.max(axis=0), k64.min(axis=0)
    kabs = xb.maximum(kmax, -kmin)
    qpos, qneg = xb.maximum(q64, 0.0), xb.minimum(q64, 0.0)
    box_hi = qpos @ kmax + qneg @ kmin
    box_lo = qpos @ kmin + qneg @ kmax
    box_abs = abs(q64) @ kabs
    cs = xb.sqrt((q64 * q64).sum(axis=1)) * math.sqrt(float((k64 * k64).sum(axis=1).max()))
    # float64 rounding of these length-d sums and square roots, and the images' own error
    margin = (8 * (d + 4) * 2.0 ** -53) * (box_abs + cs)
    hi_rows = xb.minimum(box_hi, cs) + margin
    lo_rows = xb.maximum(box_lo, -cs) - margin
    Rabs = float((xb.minimum(box_abs, cs) + margin).max())
    hi = _refine(xb, q64, k64, hi_rows, margin, 1.0)
    lo = -_refine(xb, q64, k64, -lo_rows, margin, -1.0)
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(Rabs)):
        return -math.inf, math.inf, math.inf   # products beyond float64: refused downstream
    return lo, hi, max(Rabs, abs(lo), abs(hi))


def _refine(xb, q64, k64, bound_rows, margin, sign):
    """max_i (sign S_i)max: the rows with the largest bounds get their exact maximum (float64,
    plus their rounding margin) until the next row's bound is below the best exact one, or
    REFINE_ENTRIES scores have been computed; the rest keep their bounds. A bound on
    max_ij sign <q_i, k_j> as tight as the data allow where a few rows hold the extremes."""
    n = q64.shape[0]
    order = xb.argsort(-bound_rows)
    best, done = -math.inf, 0
    step = max(1, min(n, (1 << 23) // max(k64.shape[0], 1)))   # rows per product: 2^23 scores
    while done < n and done * k64.shape[0] < REFINE_ENTRIES:
        if not float(bound_rows[order[done]]) > best:
            return best
        rows = order[done:done + step]
        S = (q64[rows] @ k64.T) * sign
        best = max(best, float((S.max(axis=1) + margin[rows]).max()))
        done += step
    return max(best, float(bound_rows[order[done]])) if done < n else best


def query_error(xb, AXabs, s, d, u, om, oe, knorm):
    """sigma >= |S^c_ij - S_ij|: q^c - q comes from a length-d dot product (A1 X, entries of
    |A1| |X| = ``AXabs``), the product with s_c and s_c's own rounding (gamma_{d+2}), plus
    (d + 1) omega of underflow per entry."""
    infl = 1 + 8 * (d + 4) * 2.0 ** -53 + 8 * u
    dq = gamma(d + 2, u) * s * max_row_norm(AXabs) * infl * (1 + 4e-16)
    dq += scaled_up(1.1 * (d + 1) * om * math.sqrt(d), oe)
    return dq * knorm * infl


@dataclass
class Instance:
    """float64 magnitudes of one gradient instance (see the module docstring)."""

    n: int
    d: int
    u: float
    s: float
    scores: Scores
    A1abs: object       # n x d: |A1|
    beta: object        # d: max_j |h^c_jm - h_jm| (the rounding of h = A3 Y)
    H: object           # d: max_j |h^c_jm|
    Sh: object          # d: sum_j |h^c_jm|
    nh: object          # n: >= ||h^c_j||_2
    Sh2: object         # d: sum_j (h^c_jm)^2
    SA: object          # d: sum_j |A2_jb|
    SnA: object         # d: sum_j nh_j |A2_jb|
    Snh2: float         # sum_j nh_j^2
    SA2sq: object       # d: sum_j A2_jb^2
    SHA: object         # d x d: sum_j |h^c_jm| |A2_jb|
    SA3: object         # d: sum_j |A3_jl|
    SA3sq: object       # d: sum_j A3_jl^2
    K3: object          # d: max_j |A3_jl|
    omega: float = 0.0  # omega * 2^omega_exp (see rounding.omega_of)
    omega_exp: int = 0
    xb: object = np


def _arithmetic(ns, s_val, what):
    """(u, omega, omega's exponent, the bound's array module, |s|) of the namespace, with |s|
    range-checked."""
    s = abs(float(s_val))
    check_range(what, {"scale": s})
    om, oe = omega_of(ns)
    return u_of(ns), om, oe, bound_xp(ns), s


def _signed(ns, a, name, what, xb):
    """a in float64 (range-checked): its magnitudes are what the bound may hold."""
    a64 = to64(ns, a, name, what)
    check_range(what, {name: abs(a64)}, xb)
    return a64


def centre_keys(ns, K):
    """K - kappa, kappa_a = (max_j K_ja + min_j K_ja) / 2 (in the namespace): the centred keys
    the features are built from (see the module docstring)."""
    xp = ns.xp
    kappa = (xp.max(K, axis=0) + xp.min(K, axis=0)) / ns.scalar(2)
    return K - kappa[None, :]


def gradient_instance(ns, A1, A2, A3, E, X, Y, s_val, Qc, hc, what, Kc):
    """The :class:`Instance` of (A1, A2, A3, E, X, Y) with the computed queries Qc = fl(s A1 X),
    values hc = fl(A3 Y) and centred keys Kc (:func:`centre_keys`) the algorithm uses; refuses
    magnitudes the float64 bound cannot hold (:func:`attngrad.fast.rounding.check_range`)."""
    u, om, oe, xb, s = _arithmetic(ns, s_val, what)
    n, d = A1.shape
    a1, k64, xabs, yabs, a3 = (abs(_signed(ns, v, k, what, xb)) if k != "A2" else
                               _signed(ns, v, k, what, xb) for k, v in
                               (("A1", A1), ("A2", A2), ("X", X), ("Y", Y), ("A3", A3)))
    _signed(ns, E, "E", what, xb)
    q64 = _signed(ns, Qc, "A1 X", what, xb)
    habs = abs(_signed(ns, hc, "h", what, xb))
    a2 = abs(k64)
    sc = query_scores(xb, q64, _signed(ns, Kc, "A2 - kappa", what, xb), a1, xabs, s, d, u, om, oe)
    infl = 1 + 8 * (d + 4) * 2.0 ** -53 + 8 * u
    beta = gamma(d, u) * (a3 @ yabs).max(axis=0) * infl + scaled_up(1.1 * d * om, oe)
    nh = xb.sqrt((habs * habs).sum(axis=1)) * (1 + (d + 4) * 2.0 ** -52)
    return Instance(n, d, u, s, sc, a1, beta, habs.max(axis=0), habs.sum(axis=0), nh,
                    (habs * habs).sum(axis=0), a2.sum(axis=0), nh @ a2, float((nh * nh).sum()),
                    (a2 * a2).sum(axis=0), habs.T @ a2, a3.sum(axis=0), (a3 * a3).sum(axis=0),
                    a3.max(axis=0), om, oe, xb)


def query_scores(xb, q64, k64, a1, xabs, s, d, u, om, oe):
    """The :class:`Scores` of computed queries q64 = fl(s A1 X) (``a1`` = |A1|, ``xabs`` = |X|;
    for the forward pass A1 = Q and X = I) against computed centred keys k64 (one rounding
    each, |k^c - k| <= u/(1-u) |k^c|: sigma adds u/(1-u) Rabs)."""
    lo, hi, Rabs = score_bounds(xb, q64, k64)
    knorm = math.sqrt(float((k64 * k64).sum(axis=1).max())) * (1 + 8 * (d + 4) * 2.0 ** -53)
    sigma = query_error(xb, a1 if xabs is None else a1 @ xabs, s, d, u, om, oe, knorm)
    sigma += u / (1 - u) * Rabs * (1 + 1e-12)
    return Scores(lo, hi, Rabs, sigma, max_entry(abs(q64)), max_entry(abs(k64)))


@dataclass
class AttentionInstance:
    """float64 magnitudes of one forward instance D^{-1} exp(s Q K^T) V."""

    n: int
    d: int
    u: float
    scores: Scores
    SV: object          # dv: sum_j |V_jm|
    SVsq: object        # dv: sum_j V_jm^2
    omega: float = 0.0
    omega_exp: int = 0
    xb: object = np


def attention_instance(ns, Q, K, V, s_val, Qc, what, Kc):
    """The :class:`AttentionInstance` of (Q, K, V) with Qc = fl(s Q) and centred keys Kc."""
    u, om, oe, xb, s = _arithmetic(ns, s_val, what)
    n, d = Q.shape
    qraw, _, v64 = (_signed(ns, a, name, what, xb) for name, a in (("Q", Q), ("K", K), ("V", V)))
    q64 = _signed(ns, Qc, "Q * scale", what, xb)
    sc = query_scores(xb, q64, _signed(ns, Kc, "K - kappa", what, xb), abs(qraw), None, s, d, u,
                      om, oe)
    return AttentionInstance(n, d, u, sc, abs(v64).sum(axis=0), (v64 * v64).sum(axis=0), om, oe,
                             xb)
