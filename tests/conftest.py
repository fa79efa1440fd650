"""Fixtures shared by the test modules.

``cupy_stand_in`` runs the CuPy code path on the CPU: a module named ``cupy`` whose arrays
(``CupyStandIn``) hold a numpy array as "device memory" and, like CuPy's, are not numpy arrays.
As in CuPy: ``np.asarray(x)`` / ``np.array(x)`` / ``np.float64(x)`` raise TypeError (no
``__array__``, ``__array_interface__`` or buffer); the host sees data only through ``.get()``,
``cupy.asnumpy``, ``.item()``, ``.tolist()``, ``float/int/bool()``; host arrays among device
operands (``x + np.ones(3)``, ``cupy.exp(host)``) raise TypeError; operators, methods and
``cupy.*`` give device arrays (reductions 0-d device arrays, not numpy scalars).
Stricter than CuPy, on purpose: any numpy function or ufunc on a device array (``np.max(x)``,
``np.exp(x)``) raises TypeError, since attngrad must use ``ns.xp``; real CuPy dispatches those
to its own function of the same name, and so does ``CupyStandIn.numpy_dispatch = True`` (which
takes every top-level numpy function to exist in CuPy), to tell real GPU failures apart.
Gaps: ``np.multiply(np.float64(2), x)`` passes (numpy's scalar operators make that very call);
host index arrays and host values in ``x[i] = v`` pass (CuPy transfers them); dtype rules,
NaN handling and summation order are numpy's; synchronisation cost is not checked.
"""
import operator
import sys
import types

import numpy as np
import pytest

_SCALARS = (bool, int, float, complex, np.generic)


def _operand(x):
    """Device data of an operand: a scalar as is; a host array raises as in CuPy; other types
    give NotImplemented (so Python tries the other operand)."""
    if isinstance(x, CupyStandIn):
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")  # CuPy's message
    return x if isinstance(x, _SCALARS) else NotImplemented


def _unwrap(x):  # arguments of cupy.* functions and methods (lists of arrays included)
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v) for v in x)
    return _operand(x) if isinstance(x, (CupyStandIn, np.ndarray)) else x


def _wrap(r):
    if isinstance(r, (np.ndarray, np.generic)):
        return CupyStandIn(np.asarray(r))
    return tuple(_wrap(v) for v in r) if isinstance(r, tuple) else r


def _on_device(fn):
    return lambda *a, **k: _wrap(fn(*_unwrap(a), **{n: _unwrap(v) for n, v in k.items()}))


def _index(key):
    if isinstance(key, tuple):
        return tuple(_index(k) for k in key)
    return key._a if isinstance(key, CupyStandIn) else key


class CupyStandIn:
    """A CuPy-like device array on the CPU (see the module docstring)."""

    __slots__ = ("_a",)
    __hash__ = None
    numpy_dispatch = False  # True: numpy calls on device arrays dispatch, as in real CuPy

    def __init__(self, a):
        self._a = a

    def get(self):
        return self._a.copy()

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        first = inputs[0]
        if (ufunc in _OPERATOR_UFUNCS and method == "__call__" and not kwargs and len(inputs) == 2
                and inputs[1] is self and isinstance(first, (np.generic, np.ndarray))):
            # `np.float64(2) * x`: numpy's scalar operators call the ufunc (comparisons pass the
            # scalar as a 0-d array, which CuPy turns back into a scalar)
            if isinstance(first, np.ndarray) and first.ndim == 0 and ufunc in _COMPARE.values():
                first = first[()]
            return _wrap(ufunc(_operand(first), self._a))
        if self.numpy_dispatch and method == "__call__" and hasattr(np, ufunc.__name__):
            return _on_device(ufunc)(*inputs, **kwargs)
        raise TypeError(f"numpy.{ufunc.__name__} applied to a cupy array: use ns.xp / ns.exp")

    def __array_function__(self, func, types_, args, kwargs):
        if self.numpy_dispatch and func.__module__ == "numpy":
            return _on_device(func)(*args, **kwargs)
        raise TypeError(f"numpy.{func.__name__} applied to a cupy array: use ns.xp")

    def __getattr__(self, name):  # ndarray's methods and attributes, computed on the device
        if name.startswith("_"):  # no __array_interface__, __array_struct__ ...: host access
            raise AttributeError(name)
        attr = getattr(self._a, name)
        return _on_device(attr) if callable(attr) else _wrap(attr)

    def __getitem__(self, key):
        return _wrap(self._a[_index(key)])

    def __setitem__(self, key, value):
        self._a[_index(key)] = value._a if isinstance(value, CupyStandIn) else value

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        return f"CupyStandIn({self._a!r})"

    # size-1 arrays to Python scalars: allowed in CuPy (they synchronise)
    __float__ = lambda self: float(self._a)  # noqa: E731
    __int__ = lambda self: int(self._a)  # noqa: E731
    __bool__ = lambda self: bool(self._a)  # noqa: E731
    __format__ = lambda self, spec: format(self._a, spec)  # noqa: E731


CupyStandIn.__module__ = "cupy"  # what attngrad.backend._is_cupy looks at
_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "truediv": np.true_divide,
           "floordiv": np.floor_divide, "mod": np.remainder, "pow": np.power, "matmul": np.matmul,
           "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}
_COMPARE = {"lt": np.less, "le": np.less_equal, "eq": np.equal, "ne": np.not_equal,
            "gt": np.greater, "ge": np.greater_equal}
_OPERATOR_UFUNCS = set(_BINARY.values()) | set(_COMPARE.values())


def _operator(uf, reflected=False, inplace=False):
    def op(self, other):
        o = _operand(other)
        if o is NotImplemented:
            return o
        if inplace:
            uf(self._a, o, out=self._a)
            return self
        return _wrap(uf(o, self._a) if reflected else uf(self._a, o))
    return op


for _name, _uf in {**_BINARY, **_COMPARE}.items():
    setattr(CupyStandIn, f"__{_name}__", _operator(_uf))
    if _name in _BINARY:
        setattr(CupyStandIn, f"__r{_name}__", _operator(_uf, reflected=True))
        setattr(CupyStandIn, f"__i{_name}__", _operator(_uf, inplace=True))
for _name, _fn in {"neg": operator.neg, "pos": operator.pos, "abs": abs,
                   "invert": operator.invert}.items():
    setattr(CupyStandIn, f"__{_name}__", lambda self, _fn=_fn: _wrap(_fn(self._a)))


class _StandInCupy(types.ModuleType):
    """Module ``cupy``: numpy's functions, computed on the device; dtypes (cupy.float64 is
    numpy.float64), constants and classes are numpy's own."""

    ndarray = CupyStandIn

    def __getattr__(self, name):
        obj = getattr(np, name)
        return _on_device(obj) if callable(obj) and not isinstance(obj, type) else obj

    @staticmethod
    def asarray(a, dtype=None):  # host -> device (a copy); a device array as is
        if isinstance(a, CupyStandIn):
            return a if dtype is None or a.dtype == dtype else a.astype(dtype)
        return CupyStandIn(np.array(a, dtype=dtype))

    @staticmethod
    def array(a, dtype=None):  # always a new device array
        return CupyStandIn(np.array(a._a if isinstance(a, CupyStandIn) else a, dtype=dtype))

    @staticmethod
    def asnumpy(a):
        return a.get() if isinstance(a, CupyStandIn) else np.asarray(a)


@pytest.fixture
def cupy_stand_in(monkeypatch):
    """Installs the stand-in module named cupy; returns a function that copies an array onto
    the stand-in "device"."""
    mod = _StandInCupy("cupy")
    monkeypatch.setitem(sys.modules, "cupy", mod)
    # cupyx.scipy.special.erf (the GELU activation): scipy's erf, computed on the device
    special = types.ModuleType("cupyx.scipy.special")
    special.erf = _on_device(__import__("scipy.special", fromlist=["erf"]).erf)
    for name, module in (("cupyx", types.ModuleType("cupyx")),
                         ("cupyx.scipy", types.ModuleType("cupyx.scipy")),
                         ("cupyx.scipy.special", special)):
        monkeypatch.setitem(sys.modules, name, module)
    return mod.asarray
