"""Polynomials for exp with a certified relative error: the ingredient of Lemma D.1.

AS23 (Alman & Song, "Fast Attention Requires Bounded Entries", Section 3) replace
exp(t) on the interval that the scores can occupy by a low-degree polynomial P, so
that exp(<q_i, k_j>) ~ P(<q_i, k_j>) factors through monomial features (see
attngrad/fast/features.py). Two choices of P are offered:

* ``"taylor"``    -- the degree-g Taylor polynomial of exp at the centre of the interval;
* ``"chebyshev"`` -- interpolation of exp at the g+1 Chebyshev points of the interval
  (within a small factor of the best uniform approximation of degree g).

Whatever P is, its coefficients are rounded to the working precision first (so the
polynomial certified is exactly the one the computation uses), and then its error is
certified with interval arithmetic (mpmath.iv):

    rel_error >= sup_{t in [lo, hi]} |P(t) e^{-t} - 1|.

Certificate: with t = m + rho x (x in [-1, 1]) and the Taylor expansion
e^{-t} = e^{-m} (T_N(x) + R_N(x)), |R_N(x)| <= (rho^{N+1} / (N+1)!) e^{rho},
the polynomial G(x) = e^{-m} P(m + rho x) T_N(x) - 1 is expanded in the Chebyshev basis
(every |T_k| <= 1 on [-1, 1]) so sup |G| <= sum_k |b_k|; the tail adds
sup |P| e^{-m} rho^{N+1} e^{rho} / (N+1)!. Every operation is an interval operation,
so the certificate is rigorous (no floating-point assumption).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np

from . import validate

BASES = ("chebyshev", "taylor")


@dataclass(frozen=True)
class ExpPoly:
    """P(t) = sum_m coeffs[m] t^m approximating exp on [lo, hi], with certified bounds.

    coeffs:    exact binary numbers (mpmath.mpf with ``prec`` bits) -- the polynomial used.
    rel_error: upper bound on sup_{t in [lo,hi]} |P(t) e^{-t} - 1| (interval arithmetic).
    abs_sum:   upper bound on sup_{|t| <= max(|lo|,|hi|)} sum_m |coeffs[m]| |t|^m
               (the polynomial with absolute coefficients; it bounds every feature sum).
    """

    basis: str
    degree: int
    lo: mpmath.mpf
    hi: mpmath.mpf
    prec: int
    coeffs: tuple
    rel_error: float
    abs_sum: float


def _round(v, prec):
    with mpmath.workprec(prec):
        return +mpmath.mpf(v)


def _about(cks, m):
    """Monomial coefficients (in t) of sum_k cks[k] (t - m)^k (at the caller's precision)."""
    a = [mpmath.mpf(0)] * len(cks)
    for k, ck in enumerate(cks):
        for j in range(k + 1):  # (t - m)^k = sum_j binom(k, j) t^j (-m)^{k-j}
            a[j] += ck * mpmath.binomial(k, j) * (-m) ** (k - j)
    return a


def _taylor_coeffs(degree, lo, hi, work):
    """Monomial coefficients (in t) of sum_k e^m (t - m)^k / k!, m = (lo + hi) / 2."""
    with mpmath.workprec(work):
        m = (mpmath.mpf(lo) + mpmath.mpf(hi)) / 2
        em = mpmath.exp(m)
        return _about([em / mpmath.factorial(k) for k in range(degree + 1)], m)


def _cheb_to_monomial(cheb):
    """sum_k cheb[k] T_k(x) -> monomial coefficients in x (exact recurrence)."""
    n = len(cheb)
    T = [[mpmath.mpf(1)], [mpmath.mpf(0), mpmath.mpf(1)]]
    while len(T) < n:
        a, b = T[-1], T[-2]
        nxt = [mpmath.mpf(0)] + [2 * v for v in a]
        for i, v in enumerate(b):
            nxt[i] -= v
        T.append(nxt)
    out = [mpmath.mpf(0)] * n
    for k, ck in enumerate(cheb):
        for i, v in enumerate(T[k]):
            out[i] += ck * v
    return out


def _chebyshev_coeffs(degree, lo, hi, work):
    """Monomial coefficients (in t) of the interpolant of exp at the Chebyshev points of [lo, hi]."""
    with mpmath.workprec(work):
        g = degree
        m = (mpmath.mpf(lo) + mpmath.mpf(hi)) / 2
        rho = (mpmath.mpf(hi) - mpmath.mpf(lo)) / 2
        xs = [mpmath.cos(mpmath.pi * (k + mpmath.mpf(1) / 2) / (g + 1)) for k in range(g + 1)]
        fs = [mpmath.exp(m + rho * x) for x in xs]
        cheb = []
        for j in range(g + 1):
            cj = 2 * mpmath.fsum(f * mpmath.cos(j * mpmath.pi * (k + mpmath.mpf(1) / 2) / (g + 1))
                                 for k, f in enumerate(fs)) / (g + 1)
            cheb.append(cj / 2 if j == 0 else cj)
        px = _cheb_to_monomial(cheb)  # in x = (t - m) / rho
        # t-coefficients: sum_k px[k] ((t - m)/rho)^k
        return _about([px[k] / rho ** k for k in range(g + 1)], m)


def _iv_poly_mul(p, q):
    out = [mpmath.iv.mpf(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return out


def _iv_cheb_abs_sum(px):
    """Upper bound of sup_{[-1,1]} |sum_k px[k] x^k| via the Chebyshev expansion.

    x^k = 2^{1-k} sum'_{j <= k/2} binom(k, j) T_{k-2j}(x), the T_0 term halved.
    """
    n = len(px)
    b = [mpmath.iv.mpf(0)] * n
    for k, a in enumerate(px):
        scale = mpmath.iv.mpf(2) ** (1 - k)
        for j in range(k // 2 + 1):
            w = scale * mpmath.iv.mpf(math.comb(k, j))
            if k - 2 * j == 0:
                w = w / 2
            b[k - 2 * j] += a * w
    total = mpmath.iv.mpf(0)
    for v in b:
        total += abs(v)
    return total


def certify(coeffs, lo, hi, dps=40):
    """(rel_error, abs_sum) upper bounds for P = sum coeffs[m] t^m on [lo, hi] (see module doc)."""
    iv = mpmath.iv
    old = iv.prec
    iv.dps = dps
    try:
        with mpmath.workdps(dps):
            return _certify(iv, coeffs, lo, hi, dps)
    finally:
        iv.prec = old


def _certify(iv, coeffs, lo, hi, dps):
    lo_i, hi_i = iv.mpf(lo), iv.mpf(hi)
    m = (lo_i + hi_i) / 2
    rho = (hi_i - lo_i) / 2
    # P(m + rho x) in x: expand each t^k
    deg = len(coeffs) - 1
    px = [iv.mpf(0)] * (deg + 1)
    for k, a in enumerate(coeffs):
        a = iv.mpf(a)
        for j in range(k + 1):
            px[j] += a * iv.mpf(math.comb(k, j)) * m ** (k - j) * rho ** j
    # Taylor of e^{-rho x} to order N with a negligible tail
    N = _taylor_order(deg, _float_up(rho.b), dps)
    tn = [(-rho) ** k / iv.mpf(math.factorial(k)) for k in range(N + 1)]  # exact integers
    em = iv.exp(-m)
    G = [em * v for v in _iv_poly_mul(px, tn)]
    G[0] -= 1
    rel = _iv_cheb_abs_sum(G) + _taylor_tail(iv, px, em, rho, N)
    R = iv.mpf(max(abs(lo_i).b, abs(hi_i).b))
    absum = iv.mpf(0)
    for k, a in enumerate(coeffs):
        absum += abs(iv.mpf(a)) * R ** k
    return _float_up(rel.b), _float_up(absum.b)


def _taylor_order(deg, rho_up, dps):
    """The order N of the Taylor polynomial T_N of e^{-rho x} in the certificate: the first of
    deg + 8, deg + 12, ... (at most 400) at which the Lagrange bound of the remainder,
    rho^{N+1} e^{rho} / (N+1)!, falls below 10^-(dps-2) (rho <= rho_up): the tail is then
    negligible next to the main term at dps digits, and every higher order would cost time."""
    N = deg + 8
    while N < 400 and rho_up > 0 and (
            (N + 1) * math.log(rho_up) - math.lgamma(N + 2) + rho_up
            > -math.log(10) * (dps - 2)):
        N += 4
    return N


def _taylor_tail(iv, px, em, rho, N):
    """An interval above sup_{|x| <= 1} |P(m + rho x) e^{-m} R_N(x)|, the part of the relative
    error that the truncated Taylor polynomial T_N of e^{-rho x} leaves out: px are the
    coefficients of P(m + rho x) in x (so sup |P| <= sum_j |px_j|), em = e^{-m}, and the
    Lagrange form of the remainder gives |R_N(x)| <= rho^{N+1} e^{rho} / (N+1)! (the (N+1)-th
    derivative of e^{-rho x} is at most rho^{N+1} e^{rho} in size on [-1, 1])."""
    supP = iv.mpf(0)
    for v in px:
        supP += abs(v)
    return supP * em * rho ** (N + 1) * iv.exp(rho) / iv.mpf(math.factorial(N + 1))


def _float_up(x):
    """The smallest float64 >= the mpf x (x >= 0): never rounds down, also in the subnormal
    range (float() rounds to nearest, so at most one step up is needed)."""
    x = mpmath.mpf(x)
    f = float(x)
    while mpmath.mpf(f) < x:
        f = math.nextafter(f, math.inf)
    return f


@lru_cache(maxsize=512)
def _exp_poly_cached(basis, degree, lo, hi, prec, certified):
    work = max(prec, 53) + 64
    if basis == "taylor":
        raw = _taylor_coeffs(degree, lo, hi, work)
    else:
        raw = _chebyshev_coeffs(degree, lo, hi, work)
    coeffs = tuple(_round(a, prec) for a in raw)
    if not certified:  # the bounds are nan: nothing is claimed
        return ExpPoly(basis, degree, lo, hi, prec, coeffs, math.nan, math.nan)
    dps = max(40, int(prec * 0.302) + 20)
    rel, absum = certify(coeffs, lo, hi, dps=dps)
    return ExpPoly(basis, degree, lo, hi, prec, coeffs, rel, absum)


def exp_poly(basis: str, degree: int, lo, hi, prec: int = 53, certify: bool = True) -> ExpPoly:
    """The degree-``degree`` approximation of exp on [lo, hi] with ``prec``-bit coefficients.

    lo, hi: numbers (float, int, str or mpf; taken exactly). Results are cached.
    certify=False skips the interval-arithmetic certificate (rel_error, abs_sum are nan).
    """
    validate.choice("basis", basis, set(BASES))
    validate.integer("degree", degree, minimum=0)
    lo_m, hi_m = _exact(lo), _exact(hi)
    if not (mpmath.isfinite(lo_m) and mpmath.isfinite(hi_m)) or not lo_m < hi_m:
        raise ValueError(f"interval: need finite lo < hi, got [{lo}, {hi}]")
    return _exp_poly_cached(basis, degree, lo_m, hi_m, int(prec), bool(certify))


def _exact(v):
    """v as an mpf without rounding to the global mpmath precision (floats, ints, mpfs)."""
    if isinstance(v, mpmath.mpf):
        return v
    bits = 53 if isinstance(v, float) else 4096
    if isinstance(v, int):
        bits = max(53, abs(v).bit_length())
    with mpmath.workprec(max(bits, mpmath.mp.prec)):
        return mpmath.mpf(v)


def grid_radius(R: float) -> float:
    """R rounded up to the grid 2^(k/16), so certificates can be cached and reused."""
    if R <= 2.0 ** -30:
        return 2.0 ** -30
    k = math.ceil(16 * math.log2(R) - 1e-12)
    out = 2.0 ** (k / 16)
    while out < R:
        k += 1
        out = 2.0 ** (k / 16)
    return out


def _grid_up(x: float) -> float:
    """The smallest point >= x of the grid {0} and +-2^(k/16), |k/16| <= 30 below, (no cap above)."""
    if x <= 0:
        return -_grid_down(-x)
    if x <= 2.0 ** -30:
        return 2.0 ** -30
    k = math.ceil(16 * math.log2(x) - 1e-12)
    while 2.0 ** (k / 16) < x:
        k += 1
    return 2.0 ** (k / 16)


def _grid_down(x: float) -> float:
    """The largest grid point <= x (see :func:`_grid_up`)."""
    if x < 0:
        return -_grid_up(-x)
    if x < 2.0 ** -30:
        return 0.0
    k = math.floor(16 * math.log2(x) + 1e-12)
    while 2.0 ** (k / 16) > x:
        k -= 1
    return 2.0 ** (k / 16)


def grid_interval(lo: float, hi: float) -> tuple:
    """[lo, hi] widened to grid points (0 and +-2^(k/16)), so that certificates are cached and
    reused across instances; never empty."""
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f"interval: need finite lo <= hi, got [{lo}, {hi}]")
    a, b = _grid_down(lo), _grid_up(hi)
    if a >= b:
        b = _grid_up(math.nextafter(b, math.inf))
    return a, b


@lru_cache(maxsize=1024)
def abs_sum(coeffs: tuple, R: float) -> float:
    """An upper bound (float64, rounded up; inf past float64) of sum_m |a_m| R^m, the
    polynomial with absolute coefficients at R >= 0: it bounds every sum of absolute values of
    the features (Lemma D.1) whose arguments satisfy <|q|, |k|> <= R."""
    iv = mpmath.iv
    old = iv.prec
    iv.prec = 80
    try:
        Ri, tot = iv.mpf(R), iv.mpf(0)
        for m, a in enumerate(coeffs):
            tot += abs(iv.mpf(a)) * Ri ** m
        up = mpmath.mpf(tot.b)
    finally:
        iv.prec = old
    return _float_up(up) if up < mpmath.mpf(2) ** 1020 else math.inf


@lru_cache(maxsize=1024)
def sampled_rel_error(basis: str, degree: int, lo: float, hi: float, prec: int = 53) -> float:
    """max |P(t) e^{-t} - 1| over 257 points of [lo, hi] (Chebyshev points and the ends), in
    float64: an uncertified estimate (it can miss a peak between samples) used to choose among
    degrees before the one chosen is certified. inf where float64 cannot evaluate it."""
    p = exp_poly(basis, degree, lo, hi, prec, certify=False)
    m, r = (hi + lo) / 2, (hi - lo) / 2
    if prec > 53:   # errors below float64's resolution: sample fewer points, in mpmath
        with mpmath.workprec(prec + 30):
            ts = [mpmath.mpf(lo), mpmath.mpf(hi)] + [
                m + r * mpmath.cos(mpmath.pi * (k + 0.5) / 63) for k in range(63)]
            coeffs = list(reversed(p.coeffs))
            out = max(abs(mpmath.polyval(coeffs, t) * mpmath.exp(-t) - 1) for t in ts)
            return float(out) if mpmath.isfinite(out) else math.inf
    t = np.concatenate([m + r * np.cos(np.pi * (np.arange(255) + 0.5) / 255), [lo, hi]])
    c = np.array([float(a) for a in p.coeffs], dtype=np.float64)
    with np.errstate(all="ignore"):
        v = np.polyval(c[::-1], t) * np.exp(-t) - 1
    out = float(np.max(np.abs(v)))
    return out if math.isfinite(out) else math.inf


def rel_error_estimate(basis: str, degree: int, R: float) -> float:
    """A quick (uncertified) estimate of the relative error on an interval of half-width R,
    used to start searches; inf (never an OverflowError) where it passes float64's range."""
    g = degree + 1
    lg = math.lgamma(g + 1)
    if basis == "chebyshev":
        log_est = math.log(2) + g * math.log(max(R, 1e-300) / 2) - lg + 2 * R
    else:
        log_est = g * math.log(max(R, 1e-300)) - lg + 2 * R
    return math.exp(log_est) if log_est < 700 else math.inf
