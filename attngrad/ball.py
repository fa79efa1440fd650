"""Ball arithmetic (Arb, through python-flint): rigorous enclosures of the exact results.

One more number system of the namespace (backend.py): numpy ``dtype=object`` arrays whose
every element is a ``flint.arb``, a ball [m +/- r] that contains a real number. Arb rounds
every operation outward, so the ball attngrad returns for a loss, a gradient or an attention
contains the exact value of the formula for the exact inputs the balls hold. The working
precision is flint's (``flint.ctx.prec``), as mpmath arrays use ``mpmath.mp.prec``.

For users:

* :func:`enclose` -- lo <= dL/dX (or dL/dY) <= hi entrywise, proven, from float or mpmath inputs;
* :func:`certify_gradient` -- a float that provably bounds max |G - dL/dX| for a gradient G
  computed anywhere (numpy, torch, jax, ...).

python-flint is imported here only when a ball is needed (``import attngrad`` does not load it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from .backend import Namespace


def flint():
    """The python-flint module (ImportError that says what to install)."""
    try:
        import flint as _flint
    except ImportError as exc:  # pragma: no cover - python-flint is a dependency
        raise ImportError("ball arithmetic needs python-flint: pip install python-flint") from exc
    return _flint


def is_arb(x) -> bool:
    """True for a flint.arb, without importing flint."""
    t = type(x)
    return t.__name__ == "arb" and t.__module__.split(".")[0] == "flint"


def mpf_to_arb(x):
    """The exact value of a finite mpmath.mpf as an exact (radius 0) ball."""
    sign, man, exp, _ = x._mpf_
    if not man and exp:  # inf, -inf, nan
        raise ValueError(f"cannot enclose the non-finite value {x}")
    return flint().arb(((-1) ** sign * man, exp))


def to_arb(v):
    """One number as a ball that contains it: exact for ints, floats, mpf, fractions and balls."""
    fl = flint()
    if is_arb(v):
        return v
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"expected a number, got bool {v!r}")
    if isinstance(v, (int, np.integer)):
        return fl.arb(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            raise ValueError(f"cannot enclose the non-finite value {v}")
        return fl.arb(float(v))
    if isinstance(v, mpmath.mpf):
        return mpf_to_arb(v)
    num, den = getattr(v, "numerator", None), getattr(v, "denominator", None)
    if isinstance(num, int) and isinstance(den, int):  # fractions.Fraction and the like
        return fl.arb(fl.fmpq(num, den))
    raise TypeError(f"expected a real number, got {type(v).__name__}")


def arb_to_mpf(x):
    """An exact ball's value (e.g. x.lower()) as an mpf holding every bit of it."""
    man, exp = x.man_exp()
    man = int(man)
    with mpmath.workprec(max(man.bit_length(), 1)):
        return mpmath.ldexp(mpmath.mpf(man), int(exp))


def float_up(x) -> float:
    """The least float >= the exact ball value x (rounding up, so a bound stays a bound)."""
    f = float(x)
    if not flint().arb(f) >= x:
        f = math.nextafter(f, math.inf)
    return f


class BallNamespace(Namespace):
    """numpy object arrays of flint.arb at the current flint precision."""

    name = "arb"
    xp = np

    def __init__(self, dtype=np.dtype(object)):
        super().__init__(dtype)
        self.flint = flint()
        self._exp = np.frompyfunc(lambda a: a.exp(), 1, 1)
        self._abs = np.frompyfunc(abs, 1, 1)

    def scalar(self, v):
        if isinstance(v, str):
            return self.flint.arb(v)
        return to_arb(v)

    def asarray(self, a):
        arr = np.asarray(a, dtype=object)
        out = np.empty(arr.shape, dtype=object)
        out.reshape(-1)[:] = [to_arb(x) for x in arr.reshape(-1).tolist()]
        return out

    def to_numpy(self, a, dtype=np.float64):
        return np.asarray([float(x) for x in np.asarray(a, dtype=object).reshape(-1).tolist()],
                          dtype=dtype).reshape(np.shape(a))

    def exp(self, a):
        return np.asarray(self._exp(a), dtype=object)

    def abs(self, a):
        return np.asarray(self._abs(a), dtype=object)

    def isfinite_all(self, a) -> bool:
        return all(x.is_finite() for x in np.asarray(a, dtype=object).reshape(-1).tolist())

    def zeros(self, shape):
        out = np.empty(shape, dtype=object)
        out.fill(self.flint.arb(0))
        return out

    def ones(self, shape):
        out = np.empty(shape, dtype=object)
        out.fill(self.flint.arb(1))
        return out

    def eye(self, n):
        out = self.zeros((n, n))
        for i in range(n):
            out[i, i] = self.flint.arb(1)
        return out


def to_ball(a, name="a"):
    """An object array of flint.arb holding the exact values of ``a`` (numpy, mpmath or CuPy
    arrays, nested lists); TypeError / ValueError naming ``name`` otherwise."""
    if type(a).__module__.split(".")[0] == "cupy":
        a = a.get()
    elif hasattr(a, "detach") and hasattr(a, "cpu"):  # a torch tensor
        a = a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.dtype != object and arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: unsupported dtype {arr.dtype}; use float or integer arrays, "
                        "or object arrays of mpmath.mpf / flint.arb")
    out = np.empty(arr.shape, dtype=object)
    try:
        out.reshape(-1)[:] = [to_arb(x) for x in arr.reshape(-1).tolist()]
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from None
    return out


@dataclass
class Enclosure:
    """Proven bounds: lo <= the exact value <= hi entrywise (numpy object arrays of mpmath.mpf).

    ``balls`` holds the Arb balls themselves; ``width`` is max(hi - lo), an mpf.
    """

    lo: np.ndarray
    hi: np.ndarray
    balls: np.ndarray
    prec: int

    @property
    def width(self):
        """max(hi - lo), computed exactly (mpf subtraction at enough bits)."""
        with mpmath.workprec(2 * self.prec + 64):
            return max((h - l for h, l in zip(self.hi.reshape(-1), self.lo.reshape(-1))),
                       default=mpmath.mpf(0))

    def contains(self, value) -> np.ndarray:
        """Entrywise: does the exact value of ``value`` (floats, mpf, ...) lie in [lo, hi]?"""
        v = to_ball(value, "value")
        if v.shape != self.balls.shape:
            raise ValueError(f"value: expected shape {self.balls.shape}, got {v.shape}")
        return np.array([b.contains(x) for b, x in zip(self.balls.reshape(-1), v.reshape(-1))],
                        dtype=bool).reshape(v.shape)


_NAMES = ("A1", "A2", "A3", "E", "X", "Y")


def _balls(arrays, prec):
    from . import validate

    prec = validate.integer("prec", prec, minimum=16)
    balls = {k: to_ball(a, k) for k, a in zip(_NAMES, arrays)}
    return prec, balls


def gradient_balls(A1, A2, A3, E, X, Y, *, wrt="X", prec=128, scale=None):
    """dL/dX (or dL/dY) of Definition 1.2 as Arb balls computed at ``prec`` bits."""
    from . import api, validate

    validate.choice("wrt", wrt, {"X", "Y"})
    prec, b = _balls((A1, A2, A3, E, X, Y), prec)
    with flint().ctx.workprec(prec):
        G = api.gradient(*(b[k] for k in _NAMES), wrt=wrt, scale=scale)
    return G, prec


def enclose(A1, A2, A3, E, X, Y, *, wrt="X", prec=128, scale=None) -> Enclosure:
    """Proven bounds on the exact gradient: lo <= dL/dX (``wrt="Y"``: dL/dY) <= hi entrywise.

    The inputs are taken at their exact values (floats, ints, mpmath.mpf, flint.arb balls);
    the exact gradient algorithm (Lemma C.8) runs in ball arithmetic at ``prec`` bits, so the
    widths shrink like 2^-prec (about 1e-33 at 128 bits for n = 256, d = 8 on inputs of order 1).
    ``scale`` as in :func:`attngrad.gradient` (None: the 1/d of Definition 1.2).
    """
    G, prec = gradient_balls(A1, A2, A3, E, X, Y, wrt=wrt, prec=prec, scale=scale)
    flat = G.reshape(-1).tolist()
    with flint().ctx.workprec(prec):  # endpoints are rounded outward at this precision
        lo = np.array([arb_to_mpf(g.lower()) for g in flat], dtype=object).reshape(G.shape)
        hi = np.array([arb_to_mpf(g.upper()) for g in flat], dtype=object).reshape(G.shape)
    return Enclosure(lo, hi, G, prec)


def certify_gradient(G, A1, A2, A3, E, X, Y, *, wrt="X", prec=128, scale=None) -> float:
    """A float b with max |G - exact dL/dX| <= b, proven (``wrt="Y"``: dL/dY).

    G is the user's own d x d gradient (numpy, mpmath, CuPy or CPU torch), taken at its exact
    value. b is the largest distance from G to the far end of the enclosure, rounded up; it
    exceeds the true error by at most the enclosure's width.
    """
    exact, prec = gradient_balls(A1, A2, A3, E, X, Y, wrt=wrt, prec=prec, scale=scale)
    g = to_ball(G, "G")
    if g.shape != exact.shape:
        raise ValueError(f"G: expected a {exact.shape[0]} x {exact.shape[1]} gradient, "
                         f"got shape {g.shape}")
    with flint().ctx.workprec(prec):
        far = [abs(a - b).upper() for a, b in zip(g.reshape(-1), exact.reshape(-1))]
        worst = far[0]
        for v in far[1:]:
            if v > worst:  # exact points: the comparison is decided
                worst = v
        return float_up(worst)
