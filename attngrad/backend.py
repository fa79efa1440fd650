"""Number systems: one small namespace of operations per system.

Every algorithm in attngrad is written once against a :class:`Namespace`
(``ns``), the way mpmath writes functions against a context. A namespace
supplies the array module ``ns.xp`` (numpy or CuPy; mpmath uses numpy object
arrays of ``mpf``), the element-wise transcendental functions, and conversion
of constants into the system, so that no float ever leaks into an mpmath
computation.

Systems:

* ``numpy``  -- float32 / float64 numpy arrays (integer and bool inputs are
  promoted to float64).
* ``mpmath`` -- numpy ``dtype=object`` arrays whose every element is an
  ``mpmath.mpf``; arithmetic runs at the current ``mpmath.mp`` precision.
* ``cupy``   -- CuPy float32 / float64 arrays; results stay on the device.
  CuPy is imported lazily, only when a CuPy array is seen.
* ``arb``    -- numpy ``dtype=object`` arrays of ``flint.arb`` balls (attngrad/ball.py):
  every result is a ball that contains the exact value. python-flint is imported lazily,
  only when a ball is seen.
"""
from __future__ import annotations

import numpy as np
import mpmath

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Namespace:
    """Operations an algorithm may use. Subclasses fill in one number system."""

    name: str = "abstract"
    xp = np  # array module: matmul (@), sum, max, broadcasting, reshape ...

    def __init__(self, dtype=None):
        self.dtype = dtype

    # --- constants and conversion -------------------------------------
    def scalar(self, v):
        """The number ``v`` (int, Fraction-like or str) in this system."""
        raise NotImplementedError

    def asarray(self, a):
        raise NotImplementedError

    def to_numpy(self, a, dtype=np.float64):
        """A float numpy copy, for reporting errors (never used inside algorithms)."""
        raise NotImplementedError

    # --- element-wise functions ----------------------------------------
    def exp(self, a):
        raise NotImplementedError

    def abs(self, a):
        return self.xp.abs(a)

    # tanh, erf, log, sqrt and pi serve the multi-layer model (activations, cross-entropy)
    def tanh(self, a):
        raise NotImplementedError

    def erf(self, a):
        raise NotImplementedError

    def log(self, a):
        raise NotImplementedError

    def sqrt(self, a):
        raise NotImplementedError

    def pi(self):
        """The constant pi in this system."""
        raise NotImplementedError

    def row_argmax(self, a):
        """The column of each row's largest entry (an integer array on a's device)."""
        return self.xp.argmax(a, axis=1)

    def isfinite_all(self, a) -> bool:
        raise NotImplementedError

    # --- constructors ----------------------------------------------------
    def zeros(self, shape):
        raise NotImplementedError

    def ones(self, shape):
        raise NotImplementedError

    def eye(self, n):
        raise NotImplementedError

    def __repr__(self):
        return f"<attngrad namespace {self.name} {self.dtype}>"


class NumpyNamespace(Namespace):
    name = "numpy"
    xp = np

    def scalar(self, v):
        return self.dtype.type(float(v)) if not isinstance(v, str) else self.dtype.type(v)

    def asarray(self, a):
        return np.asarray(a, dtype=self.dtype)

    def to_numpy(self, a, dtype=np.float64):
        return np.asarray(a, dtype=dtype)

    def exp(self, a):
        with np.errstate(over="ignore"):
            return np.exp(a)

    def tanh(self, a):
        return np.tanh(a)

    def erf(self, a):
        from scipy.special import erf  # lazy: only the GELU activation needs it

        return erf(a)

    def log(self, a):
        return np.log(a)

    def sqrt(self, a):
        return np.sqrt(a)

    def pi(self):
        return self.dtype.type(np.pi)

    def isfinite_all(self, a) -> bool:
        return bool(np.all(np.isfinite(a)))

    def zeros(self, shape):
        return np.zeros(shape, dtype=self.dtype)

    def ones(self, shape):
        return np.ones(shape, dtype=self.dtype)

    def eye(self, n):
        return np.eye(n, dtype=self.dtype)


class MpmathNamespace(Namespace):
    """numpy object arrays of mpmath.mpf at the current mp precision."""

    name = "mpmath"
    xp = np

    def __init__(self, dtype=np.dtype(object)):
        super().__init__(dtype)
        self._exp = np.frompyfunc(mpmath.exp, 1, 1)
        self._fn = {name: np.frompyfunc(getattr(mpmath, name), 1, 1)
                    for name in ("tanh", "erf", "log", "sqrt")}
        self._abs = np.frompyfunc(abs, 1, 1)
        self._isfinite = np.frompyfunc(mpmath.isfinite, 1, 1)
        self._float = np.frompyfunc(float, 1, 1)

    def scalar(self, v):
        return mpmath.mpf(v)

    def asarray(self, a):
        """Convert exactly (every binary float and every int is an mpf) to an object array of mpf."""
        arr = np.asarray(a)
        out = np.empty(arr.shape, dtype=object)
        out.reshape(-1)[:] = [_exact_mpf(x) for x in arr.reshape(-1).tolist()]
        return out

    def to_numpy(self, a, dtype=np.float64):
        return np.asarray(self._float(np.asarray(a, dtype=object)), dtype=dtype)

    def exp(self, a):
        return np.asarray(self._exp(a), dtype=object)

    def tanh(self, a):
        return np.asarray(self._fn["tanh"](a), dtype=object)

    def erf(self, a):
        return np.asarray(self._fn["erf"](a), dtype=object)

    def log(self, a):
        return np.asarray(self._fn["log"](a), dtype=object)

    def sqrt(self, a):
        return np.asarray(self._fn["sqrt"](a), dtype=object)

    def pi(self):
        return +mpmath.pi

    def abs(self, a):
        return np.asarray(self._abs(a), dtype=object)

    def isfinite_all(self, a) -> bool:
        return all(mpmath.isfinite(x) for x in np.asarray(a, dtype=object).reshape(-1).tolist())

    def zeros(self, shape):
        out = np.empty(shape, dtype=object)
        out.fill(mpmath.mpf(0))
        return out

    def ones(self, shape):
        out = np.empty(shape, dtype=object)
        out.fill(mpmath.mpf(1))
        return out

    def eye(self, n):
        out = self.zeros((n, n))
        for i in range(n):
            out[i, i] = mpmath.mpf(1)
        return out


def _exact_mpf(x):
    """mpf(x) without rounding for floats and ints, whatever the working precision:
    an mpf keeps the bits it was made with; rounding happens only in later arithmetic."""
    if isinstance(x, mpmath.mpf):
        return x
    if isinstance(x, float):
        bits = 53
    elif isinstance(x, int):
        bits = x.bit_length()
    else:  # str, Fraction, ...: rounded at the working precision
        bits = 0
    with mpmath.workprec(max(bits, mpmath.mp.prec)):
        return mpmath.mpf(x)


class CupyNamespace(NumpyNamespace):
    """CuPy arrays on the GPU; the numpy code path with ``xp = cupy``."""

    name = "cupy"

    def __init__(self, dtype):
        import cupy  # lazy: CPU-only installs never import it

        super().__init__(dtype)
        self.xp = cupy

    def asarray(self, a):
        return self.xp.asarray(a, dtype=self.dtype)

    def to_numpy(self, a, dtype=np.float64):
        return np.asarray(self.xp.asnumpy(a), dtype=dtype)

    def exp(self, a):
        return self.xp.exp(a)

    def tanh(self, a):
        return self.xp.tanh(a)

    def erf(self, a):
        from cupyx.scipy.special import erf  # CuPy's own kernel

        return erf(a)

    def log(self, a):
        return self.xp.log(a)

    def sqrt(self, a):
        return self.xp.sqrt(a)

    def isfinite_all(self, a) -> bool:
        return bool(self.xp.all(self.xp.isfinite(a)))

    def zeros(self, shape):
        return self.xp.zeros(shape, dtype=self.dtype)

    def ones(self, shape):
        return self.xp.ones(shape, dtype=self.dtype)

    def eye(self, n):
        return self.xp.eye(n, dtype=self.dtype)


def _is_cupy(a) -> bool:
    return type(a).__module__.split(".")[0] == "cupy"


def _is_arb_type(t) -> bool:
    return t.__name__ == "arb" and t.__module__.split(".")[0] == "flint"


def _system_of(name: str, a):
    """(system, dtype) of one argument, or TypeError naming the argument."""
    if _is_cupy(a):
        if a.dtype not in _FLOAT_DTYPES:
            raise TypeError(f"{name}: unsupported CuPy dtype {a.dtype}; use float32 or float64")
        return "cupy", a.dtype
    if isinstance(a, (list, tuple)):
        try:
            a = np.asarray(a)
        except ValueError:  # numpy's words ("inhomogeneous shape") do not name the argument
            raise ValueError(f"{name}: the nested lists are ragged (rows of different lengths); "
                             "expected a rectangular matrix") from None
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name}: expected a numpy or CuPy array, got {type(a).__name__}")
    if a.dtype == object:
        kinds = {type(x) for x in a.ravel().tolist()}
        if kinds and all(_is_arb_type(k) for k in kinds):
            return "arb", np.dtype(object)
        if kinds and kinds != {mpmath.mpf}:
            bad = sorted(k.__name__ for k in kinds - {mpmath.mpf})
            raise TypeError(
                f"{name}: object arrays must hold only mpmath.mpf, or only flint.arb balls "
                f"(found {', '.join(bad)}); convert with attngrad.to_mpmath or attngrad.to_ball")
        return "mpmath", np.dtype(object)
    if a.dtype in _FLOAT_DTYPES:
        return "numpy", a.dtype
    if a.dtype.kind in "biu":
        return "numpy", np.dtype(np.float64)
    raise TypeError(f"{name}: unsupported dtype {a.dtype}; use float32, float64 or "
                    "an object array of mpmath.mpf")


def get_namespace(**named_arrays) -> Namespace:
    """The namespace shared by all arguments; TypeError if they mix systems.

    Keyword names are the argument names, so errors can name the culprit.
    float32 mixed with float64 computes in float64.
    """
    systems = {}
    for name, a in named_arrays.items():
        systems[name] = _system_of(name, a)
    kinds = {s for s, _ in systems.values()}
    if len(kinds) > 1:
        desc = ", ".join(f"{n}={s}" for n, (s, _) in systems.items())
        raise TypeError(f"arguments mix number systems ({desc}); pass all of them as one "
                        "kind (numpy float, mpmath object arrays, flint.arb object arrays, "
                        "or CuPy)")
    kind = kinds.pop()
    if kind == "mpmath":
        return MpmathNamespace()
    if kind == "arb":
        from .ball import BallNamespace

        return BallNamespace()
    dtype = np.result_type(*[d for _, d in systems.values()])
    if kind == "cupy":
        return CupyNamespace(dtype)
    return NumpyNamespace(dtype)


def to_mpmath(a):
    """An object array of mpmath.mpf holding the exact values of ``a``."""
    return MpmathNamespace().asarray(a)


def to_float64(a):
    """A float64 numpy array (from numpy, mpmath object or CuPy arrays)."""
    if _is_cupy(a):
        return np.asarray(a.get(), dtype=np.float64)
    a = np.asarray(a)
    if a.dtype == object:
        return MpmathNamespace().to_numpy(a)
    return a.astype(np.float64)


def _exp_inplace_numpy(self, a):
    """exp(a) written into a (float arrays: one pass, no temporary)."""
    with np.errstate(over="ignore"):
        return np.exp(a, out=a)


def _exp_inplace_cupy(self, a):
    return self.xp.exp(a, out=a)


def _exp_inplace_default(self, a):
    return self.exp(a)


# exp_inplace(a): exp of a, overwriting a where the system allows (object arrays of mpf get a
# new array); used by the fused exact blocks of attngrad/formulas.py
Namespace.exp_inplace = _exp_inplace_default
NumpyNamespace.exp_inplace = _exp_inplace_numpy
CupyNamespace.exp_inplace = _exp_inplace_cupy
