"""Operation counting: run attngrad's own algorithms and record every scalar operation.

The complexity statements of Appendix C (Lemmas C.1, C.2, C.4, C.6, C.8) are
claims about how many scalar operations the quadratic-time algorithm performs.
This module counts them on the library's code itself, without a second copy
of any algorithm: :class:`CountingNamespace` is a namespace in the sense of
:mod:`attngrad.backend` whose arrays are a numpy subclass,
:class:`CountingArray`, that intercepts every numpy ufunc call
(``@``, ``*``, ``/``, ``+``, ``-``, ``np.sum``, ``np.max`` and ``exp``) and
logs it before running it on the plain values.

Counting rules (one unit per scalar operation):

* ``matmul`` of an m x k by a k x p matrix: m k p multiply-adds, the classical
  T_mat(m, k, p) of Definition A.3 (a matrix-vector product has p = 1);
* element-wise ufuncs (``mul``, ``div``, ``add``, ``exp``, ``max``): one per
  output entry, after broadcasting;
* reductions (``np.sum``, ``np.max`` along an axis): one per input entry
  beyond the first of each output entry (n - 1 additions per length-n row).

Shapes, not values, determine the counts, so float64 arrays are enough; the
inner namespace can be any other one (the mpmath namespace works too).

:func:`symbolic` turns a log into a polynomial in the dimensions: run with
dimensions that are distinct primes (n = 7, d = 3, say) and every array size
factors uniquely into a monomial n^a d^b.

Example::

    from attngrad import formulas as F
    from attngrad.opcount import CountingNamespace

    ns = CountingNamespace()
    A3, Y = ns.wrap(a3), ns.wrap(y)
    F.h(ns, A3, Y)
    ns.log          # [Op(kind='matmul', ufunc='matmul', count=n*d*d, mkp=(n, d, d), ...)]
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from .backend import Namespace, NumpyNamespace

# ufunc -> kind. Anything not listed raises, so no operation escapes the count.
_KINDS = {
    "matmul": "matmul",
    "multiply": "mul",
    "divide": "div",
    "true_divide": "div",
    "add": "add",
    "subtract": "add",
    "negative": "add",
    "exp": "exp",
    "maximum": "max",
    "minimum": "max",
}
KINDS = ("matmul", "mul", "div", "add", "exp", "max")


@dataclass(frozen=True)
class Op:
    """One logged operation.

    kind:   one of KINDS
    ufunc:  the numpy ufunc's name (or "exp" for the namespace's exp)
    method: "__call__" or "reduce"
    shapes: input shapes; out: output shape
    count:  scalar operations (multiply-adds for a matmul)
    mkp:    (m, k, p) for a matmul, else None
    """

    kind: str
    ufunc: str
    method: str
    shapes: tuple
    out: tuple
    count: int
    mkp: tuple | None = None


class CountingArray(np.ndarray):
    """A numpy array that reports every ufunc applied to it to its namespace's log."""

    _log = None  # the list of Op to append to, shared by all arrays of one namespace

    def __array_finalize__(self, obj):
        if obj is not None:
            self._log = getattr(obj, "_log", None)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        log = next((x._log for x in inputs if isinstance(x, CountingArray)), None)
        if kwargs.get("out") is not None:
            raise NotImplementedError("CountingArray: out= is not supported (it hides a count)")
        plain = [np.asarray(x) if isinstance(x, CountingArray) else x for x in inputs]
        result = getattr(ufunc, method)(*plain, **kwargs)
        if log is not None:
            log.append(_op(ufunc.__name__, method, plain, result, kwargs))
        return _wrap(result, log)


def _wrap(result, log):
    if isinstance(result, np.ndarray) and result.dtype != bool:
        out = result.view(CountingArray)
        out._log = log
        return out
    return result


def _shape(x):
    return tuple(np.shape(x))


def _op(name, method, inputs, result, kwargs) -> Op:
    if name not in _KINDS:
        raise NotImplementedError(f"CountingArray: no counting rule for ufunc {name!r}")
    kind = _KINDS[name]
    shapes = tuple(_shape(x) for x in inputs)
    out = _shape(result)
    if method == "__call__":
        if kind == "matmul":
            a, b = shapes
            if len(a) != 2 or len(b) not in (1, 2):
                raise NotImplementedError(f"CountingArray: matmul of shapes {a} @ {b}")
            m, k = a
            p = b[1] if len(b) == 2 else 1
            return Op(kind, name, method, shapes, out, m * k * p, (m, k, p))
        return Op(kind, name, method, shapes, out, prod(out))
    if method == "reduce":
        if kind not in ("add", "max") or name == "subtract":
            raise NotImplementedError(f"CountingArray: no counting rule for {name}.reduce")
        return Op(kind, name, method, shapes, out, prod(shapes[0]) - prod(out))
    raise NotImplementedError(f"CountingArray: no counting rule for {name}.{method}")


class CountingNamespace(Namespace):
    """The inner namespace's operations, with every scalar operation logged in ``self.log``.

    ``inner`` defaults to float64 numpy. Arrays must be wrapped with :meth:`wrap`
    (or come out of :meth:`zeros` / :meth:`ones` / :meth:`eye`) to be counted.
    """

    name = "counting"
    xp = np

    def __init__(self, inner: Namespace | None = None):
        inner = inner if inner is not None else NumpyNamespace(np.dtype(np.float64))
        if inner.xp is not np:
            raise TypeError("inner: counting needs a numpy-based namespace (numpy or mpmath)")
        super().__init__(inner.dtype)
        self.inner = inner
        self.log: list[Op] = []

    def wrap(self, a):
        """``a`` as a counted array of the inner number system."""
        return _wrap(np.asarray(self.inner.asarray(a)), self.log)

    def reset(self):
        self.log.clear()

    # --- Namespace interface -------------------------------------------
    def scalar(self, v):
        return self.inner.scalar(v)

    def asarray(self, a):
        return self.wrap(a)

    def to_numpy(self, a, dtype=np.float64):
        return self.inner.to_numpy(np.asarray(a), dtype)

    def exp(self, a):
        plain = np.asarray(a)
        result = np.asarray(self.inner.exp(plain))
        self.log.append(Op("exp", "exp", "__call__", (plain.shape,), result.shape, result.size))
        return _wrap(result, self.log)

    def isfinite_all(self, a) -> bool:
        return self.inner.isfinite_all(np.asarray(a))

    def zeros(self, shape):
        return _wrap(np.asarray(self.inner.zeros(shape)), self.log)

    def ones(self, shape):
        return _wrap(np.asarray(self.inner.ones(shape)), self.log)

    def eye(self, n):
        return _wrap(np.asarray(self.inner.eye(n)), self.log)


# ---------------------------------------------------------------------------
# summaries


def total(log, kinds=KINDS) -> int:
    """Scalar operations of the given kinds in a log."""
    return sum(op.count for op in log if op.kind in kinds)


def matmuls(log) -> list:
    """The (m, k, p) of every matrix product, in the order performed."""
    return [op.mkp for op in log if op.kind == "matmul"]


def by_kind(log) -> dict:
    return {k: total(log, (k,)) for k in KINDS}


def symbolic(log, dims: dict):
    """The log's counts as SymPy polynomials in the dimension symbols.

    ``dims`` maps SymPy symbols to the distinct primes the run used
    (e.g. {n: 7, d: 3}); each array size must factor into those primes, and the
    factorisation names the monomial. Returns {"total": poly, kind: poly, ...}.
    """
    import sympy

    primes = list(dims.values())
    if len(set(primes)) != len(primes) or not all(sympy.isprime(p) for p in primes):
        raise ValueError(f"dims: the values must be distinct primes, got {primes}")

    def mono(size):
        size = int(size)
        out = sympy.Integer(1)
        for sym, p in dims.items():
            while size % p == 0:
                size //= p
                out *= sym
        if size != 1:
            raise ValueError(f"dims: size {size} is not a product of {primes}")
        return out

    def size_of(shape):
        return sympy.Mul(*[mono(s) for s in shape])

    out = {k: sympy.Integer(0) for k in ("total",) + KINDS}
    for op in log:
        if op.kind == "matmul":
            c = sympy.Mul(*[mono(s) for s in op.mkp])
        elif op.method == "reduce":
            c = size_of(op.shapes[0]) - size_of(op.out)
        else:
            c = size_of(op.out)
        out[op.kind] += c
        out["total"] += c
    return {k: sympy.expand(v) for k, v in out.items()}
