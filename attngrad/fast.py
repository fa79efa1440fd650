"""Section D: the almost-linear-time gradient and forward pass, with a certified error.

Construction (Lemmas D.1 to D.5, Theorem D.6, with the corrections recorded in
derivations/sD_fast.py):

* Lemma D.1 (AS23, Section 3). The scores are S_ij = <q_i, k_j> with q_i = s (A1 X)_{i,*}
  and k_j = (A2)_{j,*}, s = 1/d. A polynomial P(t) = sum_m a_m t^m approximating exp on
  [-R, R], R = max_i ||q_i||_2 max_j ||k_j||_2 >= max |S_ij| (Cauchy-Schwarz), gives
  P(<q, k>) = sum_{|alpha| <= g} a_{|alpha|} multinom(alpha) q^alpha k^alpha, so
  exp(S) ~ U0 V0^T with rank k1 = binom(g + d, d) (monomial features, built in O(n k1)).
  Normalising: alpha~ = U0 (V0^T 1_n), U1 = diag(alpha~)^{-1} U0, V1 = V0, f~ = U1 V1^T.
* Lemma D.2: c~ = U1 (V1^T h) - E (n x d, O(n k1 d)).
* Lemma D.3: q~ = c~ h^T, so U2 = c~, V2 = h and k2 = d.
* Lemma D.4: p1~ = f~ o q~ = (U1 (/) U2)(V1 (/) V2)^T (Fact A.2), k3 = k1 d.
* Lemma D.5: r~_j = (U1)_{j,*} (V1^T V2) (U2)_{j,*}^T = <(f~ h)_j, c~_j>, p2~ = diag(r~) f~,
  so U4 = diag(r~) U1, V4 = V1, k4 = k1.
* Theorem D.6: g~ = s A1^T (U3 V3^T - U4 V4^T) A2. The row-wise Kronecker products are
  never formed: A1^T U3 V3^T A2 = sum_m (A1 o c~_{*,m})^T U1 . V1^T (h_{*,m} o A2), and all
  sums over rows run in blocks (the d^2 columns h_{*,m} o A2 too), so memory is
  O(b (k1 + d^2) + n d + k1 d^2) for a block of b rows.
  No n x n matrix is formed. Time O(n k1 d^2).
* Lemma D.7 (ours; the paper treats dL/dX only): dL/dY = A3^T f^T c, so
  g~_Y = (V1^T A3)^T (U1^T c~), time O(n k1 d) (:func:`_grad_core_Y`).

Certified error (``eps`` means ||g~ - dL/dX||_inf <= eps, as in Definition 1.4, or the same for
dL/dY): see :func:`_gradient_bound` and :func:`_gradient_bound_Y`. The bound combines

1. the polynomial's certified relative error on [-R, R] (attngrad/poly.py, interval
   arithmetic), which makes f~_ij = f_ij (1 + e_ij) with |e_ij| <= eta (normalisation
   costs at most a factor (2 + ...) since alpha~ carries the same relative error);
2. an exact propagation lemma through c~, q~, r~, p1~, p2~ and s A1^T (.) A2;
3. floating-point rounding, bounded a priori in the standard model.

Assumptions of the rounding bound (the only non-interval part): the arithmetic of the
namespace rounds to nearest with unit roundoff u (2^-53 float64, 2^-24 float32,
2^-prec for mpmath), so every +, -, *, / satisfies fl(a op b) = (a op b)(1 + t), |t| <= u,
and every dot product or sum of length k, in any order (BLAS blocking, FMA), has error at
most gamma_k = k u / (1 - k u) times the sum of absolute values of its terms. Underflow (numpy
and CuPy float64, numpy float32): gradual, so a product or quotient whose result is subnormal
errs by at most omega = u * (smallest normal) in absolute value and sums stay exact; each
such operation is charged omega (see :func:`_omega_of`). CuPy float32 flushes subnormals to
zero, outside this model: the fast methods refuse to certify it. Overflow is detected
(non-finite results raise). Non-zero magnitudes below 2^-80 are refused, so the bound itself,
evaluated in float64 (on the input's device) and multiplied by (1 + 1e-6), neither underflows
nor loses more than that slack to its own rounding for n < 10^9.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import mpmath
import numpy as np

from . import formulas as F
from . import validate
from .errors import ApproximationError
from .poly import BASES, ExpPoly, exp_poly, grid_radius, rel_error_estimate

DEFAULT_MAX_RANK = 32768
# entries of one block (k1 x b features, or b x w value columns, whichever is wider):
# cache-sized on the CPU (2 MiB in float64); on a GPU large, since each block costs a fixed
# number of kernel launches. GPU blocks are capped at 2^15 rows: a block of b rows is one sum of
# length b in the rounding bound (gamma_{b + n/b}), so all n rows in one block would certify
# much less (at n = 2^20: 2^15 + 32 against 2^20 + 1).
_BLOCK_ENTRIES = {"numpy": 1 << 18, "mpmath": 1 << 18, "cupy": 1 << 25}
_BLOCK_ROWS_MAX = {"cupy": 1 << 15}
_SLACK = 1.0 + 1e-6


@dataclass
class FastResult:
    """What the fast algorithm returns with ``return_bound=True``.

    value:    the d x d gradient (or the n x dv attention output), in the input's number system
    bound:    a proven upper bound on ||value - exact||_inf (<= eps when eps was given)
    degree:   degree g of the polynomial P
    rank:     k1 = binom(g + d, d), the number of monomial features (rank of U1 V1^T)
    basis:    "chebyshev" or "taylor"
    interval: (-R, R), the interval the scores are proven to lie in (P is certified there)
    poly_rel_error: certified sup |P(t) e^{-t} - 1| on the interval
    eta:      certified max |f~_ij / f_ij - 1|, floating-point effects included
    parts:    the bound's components (polynomial / propagation part and rounding part)
    """

    value: object
    bound: float
    degree: int
    rank: int
    basis: str
    interval: tuple
    poly_rel_error: float
    eta: float
    parts: dict = field(default_factory=dict)

    @property
    def ranks(self):
        """(k1, k2, k3, k4) of Lemmas D.1, D.3, D.4, D.5 as this construction realises them."""
        d = self.parts.get("d")
        return (self.rank, d, self.rank * d, self.rank) if d else (self.rank, None, None, None)


# ---------------------------------------------------------------------------
# monomial features (Lemma D.1)


@lru_cache(maxsize=64)
def monomial_plan(d: int, degree: int):
    """Exponents alpha (|alpha| <= degree), graded by degree, with a recursion plan.

    Within degree m the exponents are grouped by their last non-zero variable v; the
    group v is {e + e_v : e of degree m-1 whose last variable is <= v}, and those e form a
    prefix of degree m-1. So each group is a prefix of the previous level times z_v: no
    gathers. Returns (exponents, levels, multinomials) with levels[m-1] = (start, groups),
    groups = ((v, prefix_length), ...).
    """
    levels_exps = [[(0,) * d]]
    last = [-1]
    levels = []
    for m in range(1, degree + 1):
        prev, prev_last = levels_exps[-1], last
        cur, cur_last, groups = [], [], []
        for v in range(d):
            plen = sum(1 for L in prev_last if L <= v)  # a prefix, by induction
            for e in prev[:plen]:
                ee = list(e)
                ee[v] += 1
                cur.append(tuple(ee))
                cur_last.append(v)
            groups.append((v, plen))
        levels.append((sum(len(x) for x in levels_exps), tuple(groups)))
        levels_exps.append(cur)
        last = cur_last
    exps = tuple(e for lev in levels_exps for e in lev)
    multinom = [math.factorial(sum(e)) // math.prod(math.factorial(x) for x in e) for e in exps]
    return exps, tuple(levels), tuple(multinom)


def rank_for(d: int, degree: int) -> int:
    """k1 = binom(degree + d, d): the number of monomials of degree <= g in d variables."""
    return math.comb(degree + d, d)


def features(ns, Z, plan, coef=None):
    """Rows z_i -> (z_i^alpha)_alpha (times coef_alpha): the factor matrix of Lemma D.1.

    Returned transposed (k1 x b, one feature per row); each degree is built from the
    previous one by contiguous slices (see :func:`monomial_plan`), in O(b k1).
    """
    xp = ns.xp
    exps, levels, _ = plan
    ZT = Z.T
    out = xp.empty((len(exps), Z.shape[0]), dtype=ns.dtype)  # every row is written below
    out[0:1] = ns.ones((1, Z.shape[0]))
    pstart = 0
    for start, groups in levels:
        pos = start
        for v, plen in groups:
            xp.multiply(out[pstart:pstart + plen], ZT[v][None, :], out=out[pos:pos + plen])
            pos += plen
        pstart = start
    if coef is not None:
        out *= coef[:, None]
    return out


def _coef_vector(ns, poly: ExpPoly, plan):
    """coef_alpha = a_{|alpha|} multinom(alpha), rounded once into the namespace."""
    exps, _, multinom = plan
    with mpmath.workprec(_prec_of(ns)):  # one rounding, at the precision the bound assumes
        vals = [poly.coeffs[sum(e)] * multinom[i] for i, e in enumerate(exps)]
    if ns.name == "mpmath":
        return ns.asarray(np.array([+mpmath.mpf(v) for v in vals], dtype=object))
    return ns.asarray(np.array([float(v) for v in vals], dtype=np.float64))


def _blocking(ns, n, k, width, block=None):
    """(number of blocks, rows per block) for n rows of k features and ``width`` value columns
    built per block; ``block`` overrides."""
    entries = _BLOCK_ENTRIES.get(ns.name, _BLOCK_ENTRIES["numpy"])
    rows = min(n, _BLOCK_ROWS_MAX.get(ns.name, n), entries // max(k, width, 1))
    b = block or int(max(64, rows))
    return -(-n // b), b


def _value_width(wrt, d, dv=None):
    """Columns built per block of rows: [1, h, A2, h o A2] for dL/dX, [1, h, A3] for dL/dY,
    [1, V] for the forward pass."""
    return {"X": 1 + 2 * d + d * d, "Y": 1 + 2 * d, "attention": 1 + (dv or 0)}[wrt]


# ---------------------------------------------------------------------------
# the algorithm (written once against ns)


_U_FLOOR = 2.0 ** -200   # the bound is evaluated in float64: u, eta are floored here (sound)
_MAG_MIN = 2.0 ** -80    # smallest non-zero magnitude the float64 evaluation of the bound accepts


def _u_of(ns):
    if ns.name == "mpmath":
        return max(2.0 ** (-mpmath.mp.prec), _U_FLOOR)
    return float(np.finfo(ns.dtype).eps) / 2


def _flushes_subnormals(ns) -> bool:
    """CuPy compiles its kernels with -ftz=true: float32 subnormals are flushed to zero, so an
    underflowing sum or product can lose up to the smallest normal, outside the rounding model
    below (float64 is not flushed)."""
    return ns.name == "cupy" and np.dtype(ns.dtype) == np.float32


def _refuse_flushed(ns, what):
    if _flushes_subnormals(ns):
        raise ApproximationError(
            f"{what}: cannot certify CuPy float32: CuPy's kernels flush float32 subnormals to "
            f"zero (-ftz=true), which the rounding bound does not model; needed: float64 "
            f"(or attngrad.fast.gradient_fixed_degree for an uncertified result)")


def _omega_of(ns):
    """(omega * 2^e, e): omega = u * (smallest normal) is the largest absolute error of one
    underflowing product or quotient (sums and differences are exact under gradual
    underflow); scaled to 2^-75, since 2^-1075 (float64) is not a float64. mpmath has no
    underflow: (0, 0)."""
    if ns.name == "mpmath":
        return 0.0, 0
    fi = np.finfo(ns.dtype)
    log2_omega = int(fi.minexp) - int(fi.nmant) - 1   # u = 2^-(nmant+1), tiny = 2^minexp
    return 2.0 ** -75, -75 - log2_omega


def _scaled_up(x, e):
    """x * 2^-e rounded up (x >= 0): a float64 >= the real number."""
    if not x > 0:
        return 0.0 if x == 0 else math.inf
    if not math.isfinite(x):
        return math.inf
    return math.nextafter(math.ldexp(x, -e), math.inf)


def _scaled_up_rows(xb, x, e):
    """:func:`_scaled_up` of every entry of a float64 array x >= 0 (on its own device)."""
    return xb.nextafter(xb.ldexp(x, -e), math.inf)


def _check_range(what, named, xb=np):
    """The float64 evaluation of the bound multiplies up to two scalars (>= 2^-200) and seven
    magnitudes; it cannot underflow if every non-zero magnitude is >= 2^-80. Smaller ones are
    refused (ApproximationError) rather than certified wrongly. ``named`` maps names to
    non-negative floats or float64 arrays (numpy or CuPy)."""
    for name, a in named.items():
        if isinstance(a, (int, float)):
            low = float(a) if a != 0 else math.inf
        elif a.size == 0:
            continue
        else:
            low = float(xb.where(a != 0, a, math.inf).min())
        if low < _MAG_MIN:
            raise ApproximationError(
                f"{what}: cannot certify: {name} has a non-zero magnitude {low:.3g} "
                f"< 2^-80, where floating-point underflow (subnormals) escapes the rounding bound "
                f"evaluated in float64; needed: rescale the inputs")


def _bound_xp(ns):
    """The array module the bound is evaluated with, in float64: the device's own (numpy or
    CuPy), so a CuPy run moves no n x d array to the host; numpy for mpmath."""
    return ns.xp if ns.name != "mpmath" else np


def _to64(ns, a, name, what):
    """a in float64 on the bound's device (:func:`_bound_xp`); a non-zero mpmath entry outside
    float64's normal range is refused."""
    if ns.name != "mpmath":
        return ns.xp.asarray(a, dtype=np.float64)
    out = ns.to_numpy(a, np.float64)
    flat = np.asarray(a, dtype=object).reshape(-1)
    lost = (out.reshape(-1) == 0) & np.array([x != 0 for x in flat.tolist()], dtype=bool)
    if np.any(lost):
        raise ApproximationError(
            f"{what}: cannot certify: {name} has non-zero entries below float64's range, "
            f"where the bound (evaluated in float64) would lose them; needed: rescale the inputs")
    return out


def _abs64(ns, a, name, what):
    return abs(_to64(ns, a, name, what))


def _prec_of(ns):
    if ns.name == "mpmath":
        return int(mpmath.mp.prec)
    return int(np.finfo(ns.dtype).nmant) + 1


def _concat(ns, parts):
    return ns.xp.concatenate(parts, axis=1)


def _fast_pass(ns, Qc, K, W_v, plan, coef, row_fn, width, block=None):
    """The two blocked passes shared by the gradient and the forward pass.

    Pass 1 (V side): Z = V0^T [1, W_v] summed over blocks of rows of K (k1 x (1 + w)).
    Pass 2 (U side): for each block of rows of Q, T = U0 [1, W_v]-columns of Z, i.e.
    alpha~ (first column) and (exp~ W_v) (rest); row_fn(start, stop, U0 block, alpha~, rest)
    does the rest. W_v is an n x w array or a function (start, stop) -> its rows, so wide
    value columns are built one block at a time. Returns (Z, nblocks_V, block).
    """
    n = K.shape[0]
    nblocks, b = _blocking(ns, n, len(plan[0]), width, block)
    values = W_v if callable(W_v) else (lambda s0, s1: W_v[s0:s1])
    Z = None
    for s0 in range(0, n, b):
        PsiT = features(ns, K[s0:s0 + b], plan)                    # k1 x b (V0^T block)
        s1 = s0 + PsiT.shape[1]
        Wb = _concat(ns, [ns.ones((s1 - s0, 1)), values(s0, s1)])
        part = PsiT @ Wb
        Z = part if Z is None else Z + part
    m = Qc.shape[0]
    for s0 in range(0, m, b):
        PhiT = features(ns, Qc[s0:s0 + b], plan, coef)             # k1 x b (U0^T block)
        T = PhiT.T @ Z
        # alpha~ copied: a view would keep the whole b x (1 + w) block alive when stored
        row_fn(s0, s0 + PhiT.shape[1], PhiT, T[:, 0].copy(), T[:, 1:])
    return Z, nblocks, b


def _grad_core(ns, A1, A2, A3, E, Qc, hc, s, plan, coef, block=None):
    """g~ of Theorem D.6 (corrected chain) and the per-row quantities the bound needs;
    Qc = s A1 X and hc = A3 Y as the bound saw them."""
    xp = ns.xp
    n, d = A1.shape

    def W_v(s0, s1):  # columns: h | A2 | h o A2 (h_{*,m} o A2_{*,b}: d^2 columns, per block)
        h, a2 = hc[s0:s1], A2[s0:s1]
        return _concat(ns, [h, a2, (h[:, :, None] * a2[:, None, :]).reshape(s1 - s0, d * d)])

    k = len(plan[0])
    store = {"alpha": [], "c": [], "r": [], "Fh": []}
    acc = {}

    def row_fn(s0, s1, PhiT, alpha, rest):
        Fh = rest[:, :d] / alpha[:, None]                          # (f~ h)_i   (Lemma D.2)
        cb = Fh - E[s0:s1]                                         # c~_i
        rb = xp.sum(Fh * cb, axis=1)                               # r~_i       (Lemma D.5)
        a1 = A1[s0:s1]
        W1 = (a1[:, :, None] * (cb / alpha[:, None])[:, None, :]).reshape(s1 - s0, d * d)
        W2 = a1 * (rb / alpha)[:, None]
        LT = PhiT @ _concat(ns, [W1, W2])                          # k1 x (d^2 + d)
        acc["LT"] = LT if "LT" not in acc else acc["LT"] + LT
        store["alpha"].append(alpha)
        store["c"].append(cb)
        store["r"].append(rb)
        store["Fh"].append(Fh)

    Z, nblocks, b = _fast_pass(ns, Qc, A2, W_v, plan, coef, row_fn, _value_width("X", d), block)
    L = acc["LT"].T
    ZA = Z[:, 1 + d:1 + 2 * d]                                     # V1^T A2
    Zm = Z[:, 1 + 2 * d:]                                          # V1^T (h_m o A2), (m, b)
    L1 = L[:d * d].reshape(d, d, k).reshape(d, d * k)              # (a, (m, alpha))
    Zm3 = Zm.reshape(k, d, d).transpose(1, 0, 2).reshape(d * k, d)  # ((m, alpha), b)
    G1 = L1 @ Zm3                                                  # A1^T (f~ o q~) A2
    G2 = L[d * d:] @ ZA                                            # A1^T diag(r~) f~ A2
    G = (G1 - G2) * s
    info = {k_: xp.concatenate(v) for k_, v in store.items()}
    info.update(nblocks=nblocks, block=b)
    return G, info


def _grad_core_Y(ns, A1, A2, A3, E, Qc, hc, s, plan, coef, block=None):
    """g~_Y = (V1^T A3)^T (U1^T c~) (Lemma D.7, ours): dL/dY = A3^T f^T c with f ~ U1 V1^T, in
    O(n k1 d) time; V1^T A3 rides along in the first pass, U1^T c~ is summed in the second."""
    xp = ns.xp
    d = A1.shape[1]
    store = {"alpha": [], "c": []}
    acc = {}

    def row_fn(s0, s1, PhiT, alpha, rest):
        cb = rest[:, :d] / alpha[:, None] - E[s0:s1]               # c~_i (Lemma D.2)
        MT = PhiT @ (cb / alpha[:, None])                          # U1^T c~ (k1 x d), this block
        acc["M"] = MT if "M" not in acc else acc["M"] + MT
        store["alpha"].append(alpha)
        store["c"].append(cb)

    Z, nblocks, b = _fast_pass(ns, Qc, A2, _concat(ns, [hc, A3]), plan, coef, row_fn,
                               _value_width("Y", d), block)
    G = Z[:, 1 + d:].T @ acc["M"]                                  # (V1^T A3)^T (U1^T c~)
    info = {k_: xp.concatenate(v) for k_, v in store.items()}
    info.update(nblocks=nblocks, block=b)
    return G, info


# ---------------------------------------------------------------------------
# certified bounds


def _gamma(k, u):
    ku = k * u
    if ku >= 0.5:
        return math.inf
    return ku / (1 - ku)


@dataclass
class _Instance:
    """float64 magnitudes of one instance, computed once (O(n d)), on the array module ``xb``
    (see :func:`_bound_xp`)."""

    n: int
    d: int
    u: float
    s: float
    R: float          # proven bound on max_ij |<q^c_i, k_j>|
    sigma: float      # proven bound on max_ij |<q^c_i - q_i, k_j>|
    A1abs: object      # n x d
    Kb: object         # max_j |A2_jb|
    H: object          # max_j |h^c_jm|
    beta: object       # max_j |h^c_jm - h_jm|
    Eabs: object       # n x d
    omega: float = 0.0  # omega * 2^omega_exp (see _omega_of)
    omega_exp: int = 0
    qm: float = 0.0     # max |q^c_ia|
    km: float = 0.0     # max |k_jb|
    xb: object = np     # numpy or CuPy
    K3: object = None   # max_j |A3_jl| (the dL/dY bound)


def _max_row_norm(a):
    """max_i ||a_i||_2 of a float64 matrix (before the inflation for its own rounding)."""
    return math.sqrt(float((a * a).sum(axis=1).max()))


def _sup(a):
    """max of a bound's array, as a float; nan (an infinite gamma times a zero magnitude) is
    read as inf: no certificate, never a silent nan."""
    v = float(a.max())
    return math.inf if math.isnan(v) else v


def _max_entry(a):
    return float(a.max()) if a.size else 0.0


def _instance(ns, A1, A2, A3, E, X, Y, s_val, Qc=None, hc=None,
              what="gradient(method='fast')"):
    u = _u_of(ns)
    om, oe = _omega_of(ns)
    n, d = A1.shape
    if Qc is None:
        Qc = (A1 @ X) * s_val
    if hc is None:
        hc = A3 @ Y
    xb = _bound_xp(ns)
    s = abs(float(s_val))
    stats = {}

    def magnitudes(name, a, keep=False):
        """|a| in float64, range-checked; reduced at once unless kept (one n x d array alive
        at a time: the bound's memory stays a few n x d arrays)."""
        m = _abs64(ns, a, name, what)
        _check_range(what, {name: m}, xb)
        if keep:
            return m
        stats[name] = (_max_row_norm(m), m.max(axis=0), _max_entry(m))
        return None

    a1 = magnitudes("A1", A1, keep=True)
    magnitudes("A2", A2)
    xabs, yabs = magnitudes("X", X, keep=True), magnitudes("Y", Y, keep=True)
    a3 = magnitudes("A3", A3, keep=True)
    beta_raw = (a3 @ yabs).max(axis=0)
    K3 = a3.max(axis=0)
    del a3
    magnitudes("A1 X", Qc)
    magnitudes("h", hc)
    e64 = magnitudes("E", E, keep=True)
    _check_range(what, {"scale": s})
    infl = 1 + 8 * (d + 4) * 2.0 ** -53 + 8 * u
    qn = stats["A1 X"][0] * infl
    kn = stats["A2"][0] * infl
    R = qn * kn * infl
    # q^c - q: (A1 X) rounds in a length-d dot product, then * s_c (s_c itself rounded);
    # underflow adds at most (d + 1) omega per entry
    dq = _gamma(d + 2, u) * s * _max_row_norm(a1 @ xabs) * infl * (1 + 4e-16)
    dq += _scaled_up(1.1 * (d + 1) * om * math.sqrt(d), oe)
    sigma = dq * kn * infl
    H = stats["h"][1] * (1 + 4e-16)
    beta = _gamma(d, u) * beta_raw * infl + _scaled_up(1.1 * d * om, oe)
    return _Instance(n, d, u, s, R, sigma, a1, stats["A2"][1], H, beta, e64, om, oe,
                     stats["A1 X"][2], stats["A2"][2], xb, K3)


def _feature_consts(inst, poly_abs_coeffs, degree, k):
    """(Cc, SPhi, Mk, P_uf): Cc >= sum_alpha |coef_alpha| = sum_m |a_m| d^m, SPhi >= sum_alpha
    |Phi_i alpha| (computed features), Mk >= |Psi_j alpha|, and P_uf >= the absolute error of
    one P~_ij from underflow in the features (each chain of <= g products loses <= omega
    times the remaining factors, <= max(1, |z|)^g)."""
    Cc = sum(abs(float(a)) * float(inst.d) ** m for m, a in enumerate(poly_abs_coeffs)) * (1 + 1e-12)
    Mq = max(1.0, inst.qm) ** degree
    Mk = max(1.0, inst.km) ** degree * 1.01
    SPhi = 2 * Cc * Mq
    P_uf = 1.1 * (2 * degree * Cc + k) * Mq * Mk * inst.omega  # times 2^-omega_exp
    return Cc, SPhi, Mk, P_uf


def _eta(inst: _Instance, poly_rel, poly_abs, degree, k, nblocks, block, coeffs=None):
    """Certified max |f~_ij / f_ij - 1| (see the module docstring, step 1) and helpers.

    coeffs (the polynomial's coefficients) adds the underflow of the features (P_uf) and of
    the k products of alpha~; without them (a-priori estimates only) it is left out."""
    u, R, sig = inst.u, inst.R, inst.sigma
    gF = _gamma(2 * degree + 3, u)
    PabsF = poly_abs * (1 + gF)
    if not R + sig < 700:
        return math.inf, math.inf, block + nblocks
    eR = math.exp(R + sig)
    uf = 0.0
    if coeffs is not None and inst.omega:
        uf = _scaled_up((_feature_consts(inst, coeffs, degree, k)[3] + k * inst.omega) * eR,
                        inst.omega_exp)
    delta_u = gF * poly_abs * eR + poly_rel * math.exp(sig) + math.expm1(sig) + uf
    Nn = block + nblocks
    delta_a = delta_u + _gamma(Nn + k, u) * PabsF * eR
    if delta_a >= 0.5:
        return math.inf, PabsF, Nn
    return max((delta_u + delta_a) / (1 - delta_a), _U_FLOOR), PabsF, Nn


def _gradient_bound(inst: _Instance, eta, PabsF, Nn, k, n_over_alpha, absc, absr, absFh,
                    feat=None):
    """Upper bound on ||g~ - dL/dX||_inf (float), from per-row magnitudes.

    n_over_alpha: n / alpha~_i (n);  absc: |c~| (n x d);  absr: |r~| (n);  absFh: |f~ h| (n x d).
    Exact propagation (Theorem D.6, corrected): with w_ij = f_ij (q_ij - r_i),
      |g~ - g|_ab <= s K_b sum_i |A1_ia| T_i + (rounding of the final contractions),
      T_i = eta (2 Q_i + |r~_i|) + 2 Dq_i + rho_i,
      Q_i = sum_m |c~_im| H_m >= max_j |q~_ij|,
      Dq_i = sum_m (Dc_im H_m + (|c~_im| + Dc_im) beta_m) >= max_j |q~_ij - q_ij|,
      Dc_im = eta H_m + beta_m + xi_im + u/(1-u) |c~_im| >= |c~_im - c_im|,
      xi_im = gamma_{Nn+k+2} H_m n P_abs / alpha~_i  (rounding of (f~ h)_im),
      rho_i = (1 + gamma_d) sum_m xi_im |c~_im| + gamma_d sum_m |(f~h)_im| |c~_im|.
    Underflow (numpy dtypes; omega = u * smallest normal per product or quotient, sums exact):
    feat = (Cc, SPhi, Mk) of :func:`_feature_consts` adds omega (n/alpha~_i (SPhi + k) + 1)
    to xi_im, d omega to rho_i, and a crude absolute term for the final contractions
    (each product of W1, W2, L, Zm, ZA, G; see uf_final below).
    """
    u, d, s = inst.u, inst.d, inst.s
    H, beta, Kb = inst.H, inst.beta, inst.Kb
    if not math.isfinite(eta):
        return math.inf, {}
    mag, xi, Dc = _row_errors(inst, eta, PabsF, Nn, k, n_over_alpha, absc, feat)
    om = inst.omega if feat is not None else 0.0
    uf_final = 0.0
    if om:
        Cc, SPhi, Mk = feat
        oe = inst.omega_exp
        n, am = inst.n, float(n_over_alpha.max())
        a1m, km, Hm = _max_entry(inst.A1abs), inst.km, _max_entry(H)
        cm, rm = _max_entry(absc), _max_entry(absr)
        dG1 = d * n * om * ((k + SPhi * (1 + a1m)) * 2 * n * Mk * Hm * km
                            + SPhi * a1m * cm * am * (2 * Mk + 1)) + d * k * om
        dG2 = n * om * ((k + SPhi * (1 + a1m)) * 2 * n * Mk * km
                        + SPhi * a1m * rm * am * (2 * Mk + 1)) + k * om
        uf_final = _scaled_up(1.1 * (s * (dG1 + dG2) + om), oe)
    Q = absc @ H
    Dq = Dc @ H + (absc + Dc) @ beta
    gd = _gamma(d, u)
    rho = (1 + gd) * (xi * absc).sum(axis=1) + gd * (absFh * absc).sum(axis=1)
    if om:
        rho = rho + _scaled_up(1.1 * d * om, inst.omega_exp)
    T = eta * (2 * Q + absr) + 2 * Dq + rho
    outer = inst.xb.outer
    prop = inst.s * outer(inst.A1abs.T @ T, Kb)
    N1 = 2 * Nn + d * k + 3
    N2 = 2 * Nn + k + 2
    e1 = _gamma(N1, u) * outer(inst.A1abs.T @ (Q * mag[:, 0]), Kb)
    e2 = _gamma(N2, u) * outer(inst.A1abs.T @ (absr * mag[:, 0]), Kb)
    g1 = outer(inst.A1abs.T @ (Q * (1 + eta)), Kb) + e1
    g2 = outer(inst.A1abs.T @ (absr * (1 + eta)), Kb) + e2
    fin = _gamma(3, u) * s * (g1 + g2)
    rnd = s * (e1 + e2) + fin
    total = _sup(prop + rnd) * _SLACK + uf_final
    return total, {"propagation": _sup(prop), "rounding": _sup(rnd),
                   "underflow": uf_final, "eta": eta}


def _row_errors(inst: _Instance, eta, PabsF, Nn, k, n_over_alpha, absc, feat=None):
    """(mag, xi, Dc) shared by the dL/dX and dL/dY bounds (see :func:`_gradient_bound`):
    mag_i >= sum_j sum_alpha |Phi_i alpha Psi_j alpha| / alpha~_i, xi_im >= the rounding (and
    underflow) of (f~ h)_im, Dc_im >= |c~_im - c_im|."""
    u, H = inst.u, inst.H
    mag = n_over_alpha[:, None] * PabsF
    xi = _gamma(Nn + k + 2, u) * H[None, :] * mag
    if feat is not None and inst.omega:
        SPhi = feat[1]
        xi = xi + _scaled_up_rows(inst.xb, 1.1 * inst.omega * (n_over_alpha * (SPhi + k) + 1),
                                  inst.omega_exp)[:, None]
    Dc = eta * H[None, :] + inst.beta[None, :] + xi + (u / (1 - u)) * absc
    return mag, xi, Dc


def _gradient_bound_Y(inst: _Instance, eta, PabsF, Nn, k, n_over_alpha, absc, feat=None):
    """Upper bound on ||g~_Y - dL/dY||_inf, dL/dY = A3^T f^T c (Lemma D.7, ours).

    g~_Y = (V1^T A3)^T (U1^T c~) = A3^T f~^T c~ in exact arithmetic, and
      A3^T (f~^T c~ - f^T c) = A3^T ((f~ - f)^T c~ + f^T (c~ - c)),
    with |f~ - f| <= eta f, f >= 0 and sum_j f_ij = 1:
      |g~_Y - g_Y|_lm <= K3_l sum_i (eta |c~_im| + Dc_im) + (rounding), K3_l = max_j |A3_jl|.
    Rounding: each term Psi_j alpha A3_jl Phi_i alpha c~_im / alpha~_i passes through at most
    N = 2 Nn + k + 4 roundings (two blocked sums of n terms, the sum over alpha, four products or
    quotients), so it adds gamma_N K3_l sum_i |c~_im| mag_i. Underflow (numpy dtypes; omega per
    product or quotient, sums exact): the quotients c~/alpha~ give K3_l omega n^2 P_abs, the
    products in U1^T c~ give K3_l omega k n^2 Mk, those in V1^T A3 give n omega SPhi
    sum_i |c~_im| / alpha~_i, the last products k omega.
    """
    u = inst.u
    if not math.isfinite(eta):
        return math.inf, {}
    mag, _, Dc = _row_errors(inst, eta, PabsF, Nn, k, n_over_alpha, absc, feat)
    outer = inst.xb.outer
    prop = outer(inst.K3, (eta * absc + Dc).sum(axis=0))
    gN = _gamma(2 * Nn + k + 4, u)
    if not math.isfinite(gN):  # the sums are too long for this precision: nothing to certify
        return math.inf, {"propagation": _sup(prop), "rounding": math.inf, "underflow": 0.0,
                          "eta": eta}
    rnd = gN * outer(inst.K3, (absc * mag).sum(axis=0))
    uf = 0.0
    if feat is not None and inst.omega:
        _, SPhi, Mk = feat
        n, om = inst.n, inst.omega
        c_over_alpha = float((absc * n_over_alpha[:, None]).sum(axis=0).max()) / n
        uf = _scaled_up(1.1 * om * (_max_entry(inst.K3) * n * n * (PabsF + k * Mk)
                                    + n * SPhi * c_over_alpha + k), inst.omega_exp)
    total = _sup(prop + rnd) * _SLACK + uf
    return total, {"propagation": _sup(prop), "rounding": _sup(rnd),
                   "underflow": uf, "eta": eta}


def _apriori_rows(inst: _Instance, eta, PabsF, Nn, k):
    """Upper bounds on n/alpha~, |c~|, |r~|, |f~ h| before running (for choosing the degree)."""
    u, R, sig = inst.u, inst.R, inst.sigma
    n_over_alpha = inst.xb.full(inst.n, math.exp(R + sig) / max(1 - min(2 * eta, 0.5), 0.5))
    mag = n_over_alpha[:, None] * PabsF
    xi = _gamma(Nn + k + 2, u) * inst.H[None, :] * mag
    absFh = (1 + eta) * inst.H[None, :] + xi
    c_true = inst.H[None, :] + inst.beta[None, :] + inst.Eabs
    absc = (c_true + eta * inst.H[None, :] + inst.beta[None, :] + xi) / (1 - 2 * u)
    Q = absc @ inst.H
    gd = _gamma(inst.d, u)
    rho = (1 + gd) * (xi * absc).sum(axis=1) + gd * (absFh * absc).sum(axis=1)
    absr = (1 + eta) * Q + rho
    return n_over_alpha, absc, absr, absFh


def _choose_degree(inst, eps, basis, max_rank, prec, nblocks_of, total_of, what):
    """Smallest degree whose a-priori certified bound is <= eps (or ApproximationError)."""
    d = inst.d
    why = f"the scores lie in [-{inst.R:.3g}, {inst.R:.3g}] (R = max||q_i|| max||k_j||)"
    if not inst.R + inst.sigma < 700:  # e^R would overflow float64: nothing can be certified
        raise ApproximationError(
            f"{what}: eps={eps:g} cannot be certified: {why}, and the bound grows like e^(2R); "
            f"needed: smaller entries (B = o(sqrt(log n)) in Theorem D.6)")
    R = grid_radius(inst.R)
    nb1, b1 = nblocks_of(1)
    probe = 1e-3
    C = total_of(probe, math.exp(R), b1 + nb1, 1) / probe  # the bound is about eta * C
    target = eps / (3 * C) if C > 0 and math.isfinite(C) else 0.0
    g0 = 0
    while g0 < 200 and rel_error_estimate(basis, g0, R) > target:
        g0 += 1
    g = max(0, g0 - 1)
    # the rounding floor: the bound with an exact polynomial (no degree can beat it)
    nbf, bf = nblocks_of(rank_for(d, g))
    floor = total_of(*_eta(inst, 0.0, math.exp(R), g, rank_for(d, g), nbf, bf)[:1],
                     math.exp(R), bf + nbf, rank_for(d, g))
    if not floor <= eps:
        raise ApproximationError(
            f"{what}: eps={eps:g} cannot be certified: {why}, and with unit roundoff "
            f"{inst.u:.3g} the rounding alone (amplified by about e^(2R)) contributes "
            f"{floor:.3g} on this instance; needed: smaller entries (B = o(sqrt(log n)) in "
            f"Theorem D.6), a higher precision (float64 or mpmath), or a larger eps")
    best = None
    while True:
        k = rank_for(d, g)
        if k > max_rank:
            break
        poly = exp_poly(basis, g, -R, R, prec)
        nb, block = nblocks_of(k)
        eta, PabsF, Nn = _eta(inst, poly.rel_error, poly.abs_sum, g, k, nb, block)
        total = total_of(eta, PabsF, Nn, k)
        if total <= eps:
            return g, poly
        if best is not None and total > 0.9 * best[2]:
            best = (g, k, min(total, best[2]))
            break  # no longer improving: the polynomial is not the limiting term
        best = (g, k, total)
        g += 1
        if g > 200:
            break
    if best is None:
        raise ApproximationError(
            f"{what}: eps={eps:g} cannot be certified within max_rank={max_rank}: {why}, so the "
            f"polynomial needs degree >= {g} (estimated), i.e. rank {rank_for(d, g)}; needed: a "
            f"larger max_rank, smaller entries (B = o(sqrt(log n)) in Theorem D.6), or a larger eps")
    g, k, total = best
    need = ("a larger max_rank" if total < math.inf and rank_for(d, g + 1) > max_rank
            else "smaller entries (B = o(sqrt(log n)) in Theorem D.6) or higher precision")
    raise ApproximationError(
        f"{what}: eps={eps:g} cannot be certified within max_rank={max_rank}: {why}; "
        f"the best certified bound is {total:.3g} at degree {g} (rank {k}); "
        f"needed: {need}, or a larger eps")


def _check_eps(eps):
    try:
        ok = eps is not None and not isinstance(eps, bool) and float(eps) > 0 and math.isfinite(float(eps))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"eps: must be a finite number > 0 (the accuracy ||g~ - g||_inf <= eps), "
                         f"got {eps!r}")
    return float(eps)


def _check_opts(basis, max_rank, block):
    validate.choice("basis", basis, set(BASES))
    validate.integer("max_rank", max_rank)
    if block is not None:
        validate.integer("block", block)


def _finite(ns, what, out):
    if not ns.isfinite_all(out):
        raise ApproximationError(f"{what}: the fast computation overflowed in {ns.name} {ns.dtype}")
    return out


# ---------------------------------------------------------------------------
# public entry points


def gradient_fast(A1, A2, A3, E, X, Y, *, wrt="X", scale=None, eps=None, basis="chebyshev",
                  max_rank=DEFAULT_MAX_RANK, return_bound=False, block=None):
    """dL/dX to within eps in O(n k1 d^2) time (Theorem D.6, corrected), certified; with
    ``wrt="Y"`` dL/dY = A3^T f^T c in O(n k1 d) time (Lemma D.7, ours), certified the same way.

    eps:          required: the result g~ satisfies ||g~ - dL/dX||_inf <= eps (dL/dY for
                  ``wrt="Y"``), proven for this
                  instance (polynomial error by interval arithmetic, propagation exactly,
                  rounding in the standard model; see the module docstring).
    basis:        "chebyshev" (default, near-optimal degree) or "taylor".
    max_rank:     largest k1 = binom(g + d, d) allowed; if eps needs more,
                  :class:`attngrad.ApproximationError` says why and what would be needed.
    return_bound: return a :class:`FastResult` (value, bound, degree, rank, basis, interval, ...)
                  instead of the d x d array.
    block:        rows per block (default: up to 2^18 entries per block of features or value
                  columns on numpy and mpmath, 2^25 entries and 2^15 rows on CuPy; at least 64
                  rows). Larger blocks mean fewer kernel launches but a larger rounding term.
    """
    validate.choice("wrt", wrt, {"X", "Y"})
    eps = _check_eps(eps)
    _check_opts(basis, max_rank, block)
    ns, dims, (A1, A2, A3, E, X, Y) = validate.loss_args(A1, A2, A3, E, X, Y)
    _refuse_flushed(ns, "gradient(method='fast')")
    n, d = dims["n"], dims["d"]
    s = F.scale_value(ns, scale, d)
    Qc = (A1 @ X) * s
    hc = A3 @ Y
    inst = _instance(ns, A1, A2, A3, E, X, Y, s, Qc, hc)
    prec = _prec_of(ns)

    def total_of(eta, PabsF, Nn, k):
        n_over_alpha, absc, absr, absFh = _apriori_rows(inst, eta, PabsF, Nn, k)
        if wrt == "Y":
            return _gradient_bound_Y(inst, eta, PabsF, Nn, k, n_over_alpha, absc)[0]
        return _gradient_bound(inst, eta, PabsF, Nn, k, n_over_alpha, absc, absr, absFh)[0]

    g, poly = _choose_degree(inst, eps, basis, max_rank, prec,
                             lambda k: _blocking(ns, n, k, _value_width(wrt, d), block),
                             total_of, "gradient(method='fast')")
    res = _run_gradient(ns, A1, A2, A3, E, Qc, hc, s, inst, poly, block, wrt)
    if not res.bound <= eps:
        raise ApproximationError(
            f"gradient(method='fast'): the a-posteriori bound {res.bound:.3g} exceeds eps={eps:g} "
            f"at degree {g}; retry with a larger max_rank or eps")
    return res if return_bound else res.value


def _run_gradient(ns, A1, A2, A3, E, Qc, hc, s, inst, poly, block, wrt="X"):
    d = inst.d
    plan = monomial_plan(d, poly.degree)
    k = len(plan[0])
    coef = _coef_vector(ns, poly, plan)
    core = _grad_core_Y if wrt == "Y" else _grad_core
    G, info = core(ns, A1, A2, A3, E, Qc, hc, s, plan, coef, block)
    _finite(ns, "gradient(method='fast')", G)
    if math.isnan(poly.rel_error):  # an uncertified polynomial: no bound to compute
        return FastResult(G, math.nan, poly.degree, k, poly.basis,
                          (float(poly.lo), float(poly.hi)), math.nan, math.nan, {"d": d})
    eta, PabsF, Nn = _eta(inst, poly.rel_error, poly.abs_sum, poly.degree, k,
                          info["nblocks"], info["block"], poly.coeffs)
    what = "gradient(method='fast')"
    alpha = _to64(ns, info["alpha"], "alpha~", what)
    if not bool((alpha > 0).all()):
        bound, parts = math.inf, {}
    elif wrt == "Y":
        absc = _abs64(ns, info["c"], "c~", what)
        n_over_alpha = inst.n / alpha * (1 + 1e-15)
        _check_range(what, {"c~": absc, "n / alpha~": n_over_alpha, "P_abs": PabsF}, inst.xb)
        feat = _feature_consts(inst, poly.coeffs, poly.degree, k)[:3]
        bound, parts = _gradient_bound_Y(inst, eta, PabsF, Nn, k, n_over_alpha, absc, feat)
    else:
        absc, absr, absFh = (_abs64(ns, info[key], name, what) for key, name in
                             (("c", "c~"), ("r", "r~"), ("Fh", "f~ h")))
        n_over_alpha = inst.n / alpha * (1 + 1e-15)
        _check_range(what, {"c~": absc, "r~": absr, "f~ h": absFh, "n / alpha~": n_over_alpha,
                            "P_abs": PabsF}, inst.xb)
        feat = _feature_consts(inst, poly.coeffs, poly.degree, k)[:3]
        bound, parts = _gradient_bound(inst, eta, PabsF, Nn, k, n_over_alpha, absc, absr, absFh,
                                       feat)
    parts["d"] = d
    return FastResult(G, bound, poly.degree, k, poly.basis, (-float(poly.hi), float(poly.hi)),
                      poly.rel_error, eta, parts)


def gradient_fixed_degree(A1, A2, A3, E, X, Y, *, degree, wrt="X", basis="chebyshev",
                          interval=None, scale=None, return_info=False, block=None, certify=True):
    """The same algorithm at a fixed polynomial degree, without certification.

    degree:   the degree g of P (rank k1 = binom(g + d, d), see :func:`rank_for`).
    interval: (lo, hi) or a radius R for [-R, R] on which P approximates exp; default the
              proven score interval [-R, R], R = max||q_i|| max||k_j||.
    wrt:      "X" (Theorem D.6) or "Y" (Lemma D.7, ours).
    Returns the d x d gradient, or with ``return_info=True`` a :class:`FastResult` (rank in
    ``.rank``) whose ``bound`` is the certified bound when the default interval is used, and
    ``nan`` otherwise or for CuPy float32 (its flushed subnormals are outside the bound's model). ``certify=False`` skips the polynomial's interval-arithmetic
    certificate and the bound (``bound`` is nan): the cost of the algorithm alone.
    """
    validate.integer("degree", degree, minimum=0)
    validate.choice("wrt", wrt, {"X", "Y"})
    if not isinstance(certify, bool):
        raise TypeError(f"certify: expected True or False, got {certify!r}")
    _check_opts(basis, DEFAULT_MAX_RANK, block)
    ns, dims, (A1, A2, A3, E, X, Y) = validate.loss_args(A1, A2, A3, E, X, Y)
    d = dims["d"]
    s = F.scale_value(ns, scale, d)
    Qc = (A1 @ X) * s
    hc = A3 @ Y
    inst = _instance(ns, A1, A2, A3, E, X, Y, s, Qc, hc)
    if interval is None:
        lo, hi, certified = -grid_radius(inst.R), grid_radius(inst.R), True
    else:
        try:
            if np.ndim(interval) == 0:
                lo, hi = -float(interval), float(interval)
            else:
                lo, hi = (float(v) for v in interval)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"interval: need a radius R > 0 or a pair lo < hi, "
                            f"got {interval!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"interval: need a radius R > 0 or a pair lo < hi, got {interval!r}")
        certified = lo <= -inst.R and hi >= inst.R
    # only a symmetric interval that covers every score is certified (else the bound is nan)
    certified = certify and certified and lo == -hi and not _flushes_subnormals(ns)
    poly = exp_poly(basis, degree, lo, hi, _prec_of(ns), certify=certified)
    res = _run_gradient(ns, A1, A2, A3, E, Qc, hc, s, inst, poly, block, wrt)
    res.interval = (lo, hi)
    return res if return_info else res.value


def attention_fast(Q, K, V, *, scale=None, eps=None, basis="chebyshev", max_rank=DEFAULT_MAX_RANK,
                   return_bound=False, block=None):
    """D^{-1} exp(Q K^T / d) V to within eps (entry-wise) in O(n k1 d_v) time (AS23 via Lemma D.1).

    Bound: |T~ - T|_im <= max_j |V_jm| (eta + gamma_{Nn+k+2} n P_abs / alpha~_i), with eta as
    for the gradient (f~ = f (1 + e), |e| <= eta) and the rounding of (f~ V).
    """
    eps = _check_eps(eps)
    _check_opts(basis, max_rank, block)
    ns, dims, (Q, K, Vv) = validate.arrays(
        {"Q": ("n", "d"), "K": ("n", "d"), "V": ("n", "dv")}, Q=Q, K=K, V=V)
    _refuse_flushed(ns, "attention(method='fast')")
    n, d = dims["n"], dims["d"]
    width = _value_width("attention", d, dims["dv"])
    s = F.scale_value(ns, scale, d)
    u = _u_of(ns)
    om, oe = _omega_of(ns)
    what = "attention(method='fast')"
    Qc = Q * s
    xb = _bound_xp(ns)
    q64, k64 = _abs64(ns, Qc, "Q * scale", what), _abs64(ns, K, "K", what)
    infl = 1 + 8 * (d + 4) * 2.0 ** -53 + 8 * u
    qn = _max_row_norm(q64) * infl
    kn = _max_row_norm(k64) * infl
    sraw = abs(float(s))
    qraw = _abs64(ns, Q, "Q", what)
    sigma = _gamma(2, u) * sraw * _max_row_norm(qraw) * kn * infl
    sigma += _scaled_up(2.2 * om * math.sqrt(d), oe) * kn * infl   # underflow of Q * s
    vabs = _abs64(ns, Vv, "V", what)
    _check_range(what, {"Q": qraw, "K": k64, "Q * scale": q64, "V": vabs, "scale": sraw}, xb)
    inst = _Instance(n, d, u, sraw, qn * kn * infl, sigma, None, None, None, None, None, om, oe,
                     _max_entry(q64), _max_entry(k64), xb)
    Vmax = _max_entry(vabs)

    def bound_of(eta, PabsF, Nn, k, max_n_over_alpha, uf_row=0.0):
        if not math.isfinite(eta):
            return math.inf
        per_row = eta + _gamma(Nn + k + 2, u) * max_n_over_alpha * PabsF
        return per_row * Vmax * _SLACK + uf_row

    def total_of(eta, PabsF, Nn, k):
        return bound_of(eta, PabsF, Nn, k, math.exp(inst.R + sigma) * 2.0)

    g, poly = _choose_degree(inst, eps, basis, max_rank, _prec_of(ns),
                             lambda k: _blocking(ns, n, k, width, block), total_of,
                             "attention(method='fast')")
    plan = monomial_plan(d, poly.degree)
    k = len(plan[0])
    coef = _coef_vector(ns, poly, plan)
    out = []
    alphas = []

    def row_fn(s0, s1, PhiT, alpha, rest):
        out.append(rest / alpha[:, None])
        alphas.append(alpha)

    _, nb, b = _fast_pass(ns, Qc, K, Vv, plan, coef, row_fn, width, block)
    T = ns.xp.concatenate(out, axis=0)
    _finite(ns, "attention(method='fast')", T)
    eta, PabsF, Nn = _eta(inst, poly.rel_error, poly.abs_sum, poly.degree, k, nb, b, poly.coeffs)
    alpha = _to64(ns, ns.xp.concatenate(alphas), "alpha~", what)
    if bool((alpha > 0).all()):
        n_over_alpha = n / alpha * (1 + 1e-15)
        _check_range(what, {"n / alpha~": n_over_alpha, "P_abs": PabsF}, xb)
        max_noa = float(n_over_alpha.max())
        # underflow (numpy dtypes): the products Psi V, Phi Z and the quotient by alpha~
        SPhi = _feature_consts(inst, poly.coeffs, poly.degree, k)[1]
        uf_row = _scaled_up(1.1 * om * (max_noa * (SPhi + k) + 1), oe) if om else 0.0
        bound = bound_of(eta, PabsF, Nn, k, max_noa, uf_row)
    else:
        bound = math.inf
    if not bound <= eps:
        raise ApproximationError(
            f"attention(method='fast'): the a-posteriori bound {bound:.3g} exceeds eps={eps:g}")
    res = FastResult(T, bound, poly.degree, k, poly.basis, (-float(poly.hi), float(poly.hi)),
                     poly.rel_error, eta, {"d": d})
    return res if return_bound else res.value
