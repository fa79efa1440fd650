"""OV -> attention (the shape of Lemma E.2) -> gradient instance (Theorem E.5).

Attention instance (:func:`ov_to_attention`). With n = max(|A|, |B|) (the
shorter list is padded by repeating its vectors, which changes no answer),
N = 2n tokens and dim = m OV coordinates, each query/key row has
d = k^2 >= 2m + 1 columns laid out as

  ====================  ======================  =====================  ==========
  rows                  block 1 (m columns)     block 2 (m columns)    gap column
  ====================  ======================  =====================  ==========
  query a (twice)       sqrt(beta) (1 - a)      sqrt(beta) a           sqrt(gamma)
  real key b            sqrt(beta) 1            sqrt(beta) (1 - b)     sqrt(gamma)
  padding key (n rows)  sqrt(beta) 1            sqrt(beta) 1           0
  ====================  ======================  =====================  ==========

(then zero columns up to k^2). Scores S = Q K^T: a real pair scores
beta (m - <a, b>) + gamma, a padding key scores beta m. With gamma = 0 (shape
"E.2") every score lies in [0, R], R = beta m, an orthogonal pair scores R, and
the n padding keys of every row score R: the shape of Lemma E.2 with V in
{0,1} (V = indicator of the real keys in column 0, zero elsewhere). With
gamma > 0 (shape "gap") the padding keys sit gamma below an orthogonal pair's
score, which widens the yes/no gap of f(1) from order 1/n^2 to order 1.

Gradient instance (:func:`attention_to_gradient`): Theorem E.5 takes
A1 = Q, A2 = K, A3 = V, E = 0, Y = I, X = lambda I, but Definition 1.2 divides
by d inside exp, so that choice gives the scores lambda S / d, not lambda S.
We take A1 = k Q and A2 = k K (d = k^2, k an integer, so entries stay dyadic
rationals): then A1 (lambda I) A2^T / d = lambda S exactly. The price is a
factor k = sqrt(d) on the entry bound of Definition 1.4:
||A1 X||_inf, ||A2||_inf <= sqrt(d) max(sqrt(beta), sqrt(gamma)) for lambda in [0, 1].

With E = 0 and Y = I, L(lambda I) = 0.5 || D^{-1} exp(lambda S) V ||_F^2 = f(lambda) / 2
for the f of Lemma E.3 (with A = S), so f'(lambda) = 2 <dL/dX, I> = 2 trace(dL/dX).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .ov import OV

SHAPES = ("E.2", "gap")
GRID = 8  # sqrt(beta), sqrt(gamma) are multiples of 1/GRID: O(log n)-bit dyadic rationals


def _dyadic_sqrt_ceil(x: float) -> float:
    """The smallest multiple q of 1/GRID with q^2 >= x (x >= 0)."""
    q = math.ceil(math.sqrt(max(x, 0.0)) * GRID) / GRID
    while q * q < x:
        q += 1 / GRID
    return q


def side(m: int) -> int:
    """The least k with d = k^2 >= 2m + 1 columns (k integer keeps sqrt(d) rational)."""
    k = math.isqrt(2 * m + 1)
    return k + (k * k < 2 * m + 1)


def _l_yes(n: int, gamma: float) -> float:
    return 2.0 * (math.exp(gamma) / (n + math.exp(gamma))) ** 2


def gap_bounds(n: int, beta: float, gamma: float):
    """(L_yes, U_no) for f(1) (Lemma E.6 (ours), part 1).

    Query row a: y_a = S_a / (n + S_a) with S_a = sum_b exp(gamma - beta <a, b>).
    Yes: some a has an orthogonal partner, S_a >= e^gamma, and its row appears
    twice: f(1) >= L_yes = 2 (e^gamma / (n + e^gamma))^2.
    No: every <a, b> >= 1, S_a <= n e^(gamma - beta), y_a <= e^(gamma - beta) on
    all 2n query rows: f(1) <= U_no = 2 n e^(2 (gamma - beta)).
    """
    return _l_yes(n, gamma), 2.0 * n * math.exp(2.0 * (gamma - beta))


def choose_parameters(n: int, shape: str):
    """(sqrt_beta, sqrt_gamma): gamma = 0 ("E.2") or gamma >= ln n ("gap"); beta the least
    grid value with U_no <= L_yes / 4."""
    if shape not in SHAPES:
        raise ValueError(f"shape: must be one of {SHAPES}, got {shape!r}")
    sg = 0.0 if shape == "E.2" else _dyadic_sqrt_ceil(math.log(n)) if n > 1 else 1.0
    gamma = sg * sg
    beta_min = gamma + 0.5 * math.log(8.0 * n / _l_yes(n, gamma))
    sb = _dyadic_sqrt_ceil(beta_min)
    while True:  # guard against rounding: the chosen grid value must satisfy the inequality
        L, U = gap_bounds(n, sb * sb, gamma)
        if U <= L / 4:
            return sb, sg
        sb += 1.0 / GRID


@dataclass
class AttentionInstance:
    """Q, K (N x d), V (N x d, 0/1) and the parameters of the construction."""

    Q: np.ndarray
    K: np.ndarray
    V: np.ndarray
    params: dict = field(default_factory=dict)


def _pad_rows(M, n):
    reps = -(-n // M.shape[0])
    return np.tile(M, (reps, 1))[:n]


def ov_to_attention(ov: OV, *, shape: str = "E.2") -> AttentionInstance:
    """The attention instance of the table in the module docstring (contract there)."""
    if not isinstance(ov, OV):
        raise TypeError(f"ov: expected attngrad.hard.OV, got {type(ov).__name__}")
    n = max(ov.A.shape[0], ov.B.shape[0])
    A, B = _pad_rows(ov.A, n), _pad_rows(ov.B, n)
    m = ov.dim
    sb, sg = choose_parameters(n, shape)
    k = side(m)
    d = k * k
    N = 2 * n
    Q = np.zeros((N, d))
    K = np.zeros((N, d))
    V = np.zeros((N, d))
    for rows in (slice(0, n), slice(n, N)):
        Q[rows, :m] = sb * (1 - A)
        Q[rows, m:2 * m] = sb * A
        Q[rows, 2 * m] = sg
    K[:, :m] = sb
    K[:n, m:2 * m] = sb * (1 - B)
    K[n:, m:2 * m] = sb
    K[:n, 2 * m] = sg
    V[:n, 0] = 1.0
    beta, gamma = sb * sb, sg * sg
    L_yes, U_no = gap_bounds(n, beta, gamma)
    params = {"shape": shape, "n": n, "N": N, "d": d, "k": k, "dim": m,
              "sqrt_beta": sb, "sqrt_gamma": sg, "beta": beta, "gamma": gamma,
              "R": beta * m + gamma, "padding_score": beta * m, "orthogonal_score": beta * m + gamma,
              "L_yes": L_yes, "U_no": U_no}
    return AttentionInstance(Q, K, V, params)


def attained_bounds(att: AttentionInstance) -> dict:
    """The constants the instance actually attains (computed from Q, K, V, for reports).

    Only the instance builder and the reports use this; the decoder never does.
    """
    S = att.Q @ att.K.T
    N, d = att.Q.shape
    top = S.max()
    frac = float(np.min(np.mean(np.isclose(S, top, rtol=0, atol=1e-9), axis=1)))
    lnN = math.log(N) if N > 1 else 1.0
    qk = float(max(np.abs(att.Q).max(), np.abs(att.K).max()))
    return {"N": N, "d": d, "d_over_lnN": d / lnN,
            "max_abs_QK": qk, "max_abs_QK_over_sqrt_lnN": qk / math.sqrt(lnN),
            "score_min": float(S.min()), "score_max": float(top),
            "score_max_over_ln2N": float(top) / lnN ** 2,
            "min_row_fraction_at_score_max": frac,
            "V_is_01": bool(np.isin(att.V, (0.0, 1.0)).all())}


@dataclass
class GradientInstance:
    """The six inputs of Definition 1.2 (X is the direction: the oracle gets lambda X) and metadata."""

    A1: np.ndarray
    A2: np.ndarray
    A3: np.ndarray
    E: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    meta: dict = field(default_factory=dict)

    NAMES = ("A1", "A2", "A3", "E", "X", "Y")

    def arrays(self) -> dict:
        return {k: getattr(self, k) for k in self.NAMES}

    def args(self, lam: float):
        """(A1, A2, A3, E, lam X, Y): the oracle's arguments at lambda = lam."""
        return self.A1, self.A2, self.A3, self.E, lam * self.X, self.Y


def attention_to_gradient(att: AttentionInstance) -> GradientInstance:
    """A1 = k Q, A2 = k K, A3 = V, E = 0, Y = I, X = I (so X(lambda) = lambda I); see module doc."""
    N, d = att.Q.shape
    k = math.isqrt(d)
    if k * k != d:
        raise ValueError(f"att: d = {d} must be a perfect square so that sqrt(d) scaling stays rational")
    p = att.params
    lnN = math.log(N) if N > 1 else 1.0
    entry = k * max(p["sqrt_beta"], p["sqrt_gamma"])
    meta = {"reduction": dict(p),
            "definition_1_4": {"B_entry": entry, "B_entry_over_sqrt_lnN": entry / math.sqrt(lnN),
                               "max_abs_A3": 1.0,
                               "note": "||A1 X||_inf and ||A2||_inf <= sqrt(d) max(sqrt(beta), "
                                       "sqrt(gamma)) for X = lambda I, lambda in [0, 1]"}}
    return GradientInstance(k * att.Q, k * att.K, att.V.copy(), np.zeros((N, d)),
                            np.eye(d), np.eye(d), meta)
