"""The floating-point model the certificate assumes, and how the bound itself is evaluated.

Model: the arithmetic of the namespace rounds to nearest with unit roundoff u (2^-53 float64,
2^-24 float32, 2^-prec for mpmath), so every +, -, *, / satisfies fl(a op b) = (a op b)(1 + t),
|t| <= u, and every dot product or sum of length k, in any order (BLAS blocking, FMA), errs by
at most gamma_k = k u / (1 - k u) times the sum of the absolute values of its terms. Underflow
(numpy and CuPy float64, numpy float32) is gradual: a product or quotient whose result is
subnormal errs by at most omega = u * (smallest normal) in absolute value, and sums stay exact;
each such operation is charged omega (:func:`omega_of`). CuPy float32 flushes subnormals to
zero, outside this model: the certified methods refuse it. Overflow is detected (non-finite
results raise).

The bound is evaluated in float64 (on the input's device: numpy or CuPy) from non-negative
terms by sums, products, square roots and divisions by numbers in (0, 1]; non-zero magnitudes
below 2^-80 are refused (:func:`check_range`), so nothing in it underflows, and its own
rounding is below a relative 10^-6 for n < 10^9: the total is multiplied by SLACK.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np

from ..errors import ApproximationError

SLACK = 1.0 + 1e-6
U_FLOOR = 2.0 ** -200   # the bound is evaluated in float64: u, eta are floored here (sound)
MAG_MIN = 2.0 ** -80    # smallest non-zero magnitude the float64 evaluation of the bound accepts


def u_of(ns):
    """Unit roundoff of the namespace's arithmetic."""
    if ns.name == "mpmath":
        return max(2.0 ** (-mpmath.mp.prec), U_FLOOR)
    return float(np.finfo(ns.dtype).eps) / 2


def prec_of(ns):
    """Bits of the namespace's significand (the precision the polynomial is rounded to)."""
    if ns.name == "mpmath":
        return int(mpmath.mp.prec)
    return int(np.finfo(ns.dtype).nmant) + 1


def gamma(k, u):
    """gamma_k = k u / (1 - k u), or inf once k u >= 1/2 (no certificate)."""
    ku = k * u
    if ku >= 0.5:
        return math.inf
    return ku / (1 - ku)


def flushes_subnormals(ns) -> bool:
    """CuPy compiles its kernels with -ftz=true: float32 subnormals are flushed to zero, so an
    underflowing sum or product can lose up to the smallest normal, outside the model above
    (float64 is not flushed)."""
    return ns.name == "cupy" and np.dtype(ns.dtype) == np.float32


def refuse_flushed(ns, what):
    if flushes_subnormals(ns):
        raise ApproximationError(
            f"{what}: cannot certify CuPy float32: CuPy's kernels flush float32 subnormals to "
            f"zero (-ftz=true), which the rounding bound does not model; needed: float64 "
            f"(or attngrad.fast.gradient_fixed_degree for an uncertified result)")


def omega_of(ns):
    """(omega * 2^e, e): omega = u * (smallest normal) is the largest absolute error of one
    underflowing product or quotient (sums and differences are exact under gradual
    underflow); scaled to 2^-75, since 2^-1075 (float64) is not a float64. mpmath has no
    underflow: (0, 0)."""
    if ns.name == "mpmath":
        return 0.0, 0
    fi = np.finfo(ns.dtype)
    log2_omega = int(fi.minexp) - int(fi.nmant) - 1   # u = 2^-(nmant+1), tiny = 2^minexp
    return 2.0 ** -75, -75 - log2_omega


def scaled_up(x, e):
    """x * 2^-e rounded up (x >= 0): a float64 >= the real number."""
    if not x > 0:
        return 0.0 if x == 0 else math.inf
    if not math.isfinite(x):
        return math.inf
    return math.nextafter(math.ldexp(x, -e), math.inf)


def scaled_up_rows(xb, x, e):
    """:func:`scaled_up` of every entry of a float64 array x >= 0 (on its own device)."""
    return xb.nextafter(xb.ldexp(x, -e), math.inf)


def check_range(what, named, xb=np):
    """Refuse (ApproximationError) any non-zero magnitude below 2^-80, where the float64
    evaluation of the bound could underflow. ``named`` maps names to non-negative floats or
    float64 arrays (numpy or CuPy)."""
    for name, a in named.items():
        if isinstance(a, (int, float)):
            low = float(a) if a != 0 else math.inf
        elif a.size == 0:
            continue
        else:
            low = float(xb.where(a != 0, a, math.inf).min())
        if low < MAG_MIN:
            raise ApproximationError(
                f"{what}: cannot certify: {name} has a non-zero magnitude {low:.3g} "
                f"< 2^-80, where floating-point underflow (subnormals) escapes the rounding bound "
                f"evaluated in float64; needed: rescale the inputs")


def bound_xp(ns):
    """The array module the bound is evaluated with, in float64: the device's own (numpy or
    CuPy), so a CuPy run moves no n x d array to the host; numpy for mpmath."""
    return ns.xp if ns.name != "mpmath" else np


def to64(ns, a, name, what):
    """a in float64 on the bound's device (:func:`bound_xp`); a non-zero mpmath entry outside
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


def up_in(ns, x64):
    """A float64 array x64 >= 0 (on the bound's device) in the namespace, rounded up: every
    entry of the result is >= the entry of x64 (the weights of the certificate's sums)."""
    if ns.name == "mpmath":
        return ns.asarray(np.asarray(x64))          # float64 -> mpf is exact
    if np.dtype(ns.dtype) == np.float64:
        return ns.xp.asarray(x64)
    lo = x64.astype(ns.dtype)                       # round to nearest, then one step up
    return ns.xp.nextafter(lo, ns.xp.asarray(np.inf, dtype=ns.dtype)).astype(ns.dtype)


def sup(a):
    """max of a bound's array, as a float; nan (an infinite gamma times a zero magnitude) is
    read as inf: no certificate, never a silent nan."""
    v = float(a.max()) if a.size else 0.0
    return math.inf if math.isnan(v) else v


def max_entry(a):
    return float(a.max()) if a.size else 0.0


def max_row_norm(a):
    """max_i ||a_i||_2 of a float64 matrix (before any inflation for its own rounding)."""
    return math.sqrt(float((a * a).sum(axis=1).max()))
