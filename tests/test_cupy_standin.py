"""The CuPy stand-in of tests/conftest.py is strict, and the fast method (Section D) runs on it.

* The stand-in refuses what CuPy refuses (np.asarray of a device array, host arrays among
  device operands) and, stricter than CuPy, every numpy function or ufunc applied to a device
  array; operators, methods and ``cupy.*`` functions work and give device arrays. A copy of
  softmax_rows with one numpy call leaked into it fails, so the stand-in can catch such a call.
* gradient(method="fast"), attention(method="fast") and fast.gradient_fixed_degree on device
  arrays return device arrays that agree with the numpy results within the sum of the two
  certified bounds (each result is within its bound of the exact value). They run twice:
  ``strict`` (numpy calls on device arrays refused) and ``dispatch`` (numpy calls forwarded to
  the device as real CuPy does, so a failure there is a failure on a GPU too).
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

import attngrad
from attngrad import fast, formulas
from attngrad.backend import get_namespace

from .conftest import CupyStandIn
from .helpers import NAMES


@pytest.fixture(params=["strict", "dispatch"])
def device(request, cupy_stand_in, monkeypatch):
    """cupy_stand_in, in the strict mode or in CuPy's own (numpy calls dispatched to the device)."""
    monkeypatch.setattr(CupyStandIn, "numpy_dispatch", request.param == "dispatch")
    return cupy_stand_in


def _pair(cupy_stand_in):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 4))
    return a, b, cupy_stand_in(a), cupy_stand_in(b)


NUMPY_CALLS = {
    "asarray": lambda x: np.asarray(x), "array": lambda x: np.array(x),
    "asarray_dtype": lambda x: np.asarray(x, dtype=np.float64), "float64": lambda x: np.float64(x),
    "max": lambda x: np.max(x), "sum": lambda x: np.sum(x, axis=1), "abs": lambda x: np.abs(x),
    "exp": lambda x: np.exp(x), "isfinite": lambda x: np.isfinite(x),
    "concatenate": lambda x: np.concatenate([x, x]), "outer": lambda x: np.outer(x, x),
    "maximum": lambda x: np.maximum(x, 0.0), "multiply": lambda x: np.multiply(x, 2.0),
    "matmul": lambda x: np.matmul(x, x.T), "host_left": lambda x: np.ones((4, 3)) + x,
    "host_right": lambda x: x * np.ones((4, 3)), "host_0d": lambda x: x + np.array(1.0),
    "host_inplace": lambda x: x.__iadd__(np.ones((4, 3))),
    "host_matmul": lambda x: x @ np.ones((3, 2)),
    "cupy_fn_of_host": lambda x: sys.modules["cupy"].exp(np.ones(3)),
}


@pytest.mark.parametrize("call", sorted(NUMPY_CALLS))
def test_numpy_on_a_device_array_raises(cupy_stand_in, call):
    x = _pair(cupy_stand_in)[2]
    with pytest.raises(TypeError):
        NUMPY_CALLS[call](x)


@pytest.mark.parametrize("call", ["asarray", "array", "float64", "host_left", "host_right",
                                  "host_0d", "host_inplace", "host_matmul", "cupy_fn_of_host"])
def test_what_cupy_itself_refuses_is_refused_with_dispatch(device, call):
    x = device(np.ones((4, 3)))
    with pytest.raises(TypeError):
        NUMPY_CALLS[call](x)


def test_dispatch_mode_behaves_like_cupy(cupy_stand_in, monkeypatch):
    """Real CuPy forwards numpy functions and ufuncs to its own: device arrays come back."""
    monkeypatch.setattr(CupyStandIn, "numpy_dispatch", True)
    a, _, x, _ = _pair(cupy_stand_in)
    for got, want in ((np.max(x, axis=0), a.max(axis=0)), (np.exp(x), np.exp(a)),
                      (np.concatenate([x, x]), np.concatenate([a, a]))):
        assert type(got) is CupyStandIn
        np.testing.assert_array_equal(got.get(), want)


def test_operators_methods_and_functions_stay_on_the_device(cupy_stand_in):
    cp = sys.modules["cupy"]
    a, b, x, y = _pair(cupy_stand_in)
    pairs = {
        "+": (x + 1, a + 1), "r+": (1.5 + x, 1.5 + a), "-": (x - x, a - a), "r-": (2 - x, 2 - a),
        "*": (x * np.float32(2), a * np.float32(2)), "r* numpy scalar": (np.float64(2) * x, 2 * a),
        "/": (x / 3, a / 3), "r/": (1 / (x + 10), 1 / (a + 10)), "**": (x ** 2, a ** 2),
        "r**": (2.0 ** x, 2.0 ** a), "@": (x @ y, a @ b), "neg": (-x, -a), "abs": (abs(x), abs(a)),
        "<": (x < 0.5, a < 0.5), "r<": (np.float64(0.5) < x, 0.5 < a), "==": (x == x, a == a),
        ".T": (x.T, a.T), "reshape": (x.reshape(-1), a.reshape(-1)),
        "transpose": (x.transpose(1, 0), a.T),
        "astype": (x.astype(np.float32), a.astype(np.float32)),
        "copy": (x.copy(), a), "sum": (x.sum(axis=1), a.sum(axis=1)), "max": (x.max(), a.max()),
        "min": (x.min(axis=0, keepdims=True), a.min(axis=0, keepdims=True)),
        "any": ((x > 1).any(axis=1), (a > 1).any(axis=1)), "all": ((x > -9).all(), True),
        "row": (x[1], a[1]), "column": (x[:, 2], a[:, 2]),
        "new axis": (x[:, None, 0], a[:, None, 0]),
        "mask": (x[x > 0], a[a > 0]), "cupy.max": (cp.max(x, axis=1), a.max(axis=1)),
        "cupy.exp": (cp.exp(x), np.exp(a)), "cupy.concatenate": (cp.concatenate([x, x], axis=1),
                                                                 np.concatenate([a, a], axis=1)),
        "cupy.zeros": (cp.zeros((2, 3), dtype=np.float32), np.zeros((2, 3), np.float32)),
        "cupy.multiply out": (cp.multiply(x, 2, out=cp.zeros((4, 3))), 2 * a),
    }
    for name, (got, want) in pairs.items():
        assert type(got) is CupyStandIn, name
        assert got.dtype == np.asarray(want).dtype, name
        np.testing.assert_array_equal(got.get(), want, err_msg=name)
    z = x.copy()
    z += y.T
    z[0] = x[1]
    z[:, 0] *= 2
    want = a + b.T
    want[0] = a[1]
    want[:, 0] *= 2
    assert type(z) is CupyStandIn
    np.testing.assert_array_equal(z.get(), want)
    assert x.shape == (4, 3) and x.ndim == 2 and x.size == 12 and x.dtype == np.float64
    assert float(x.sum()) == a.sum() and int(x[0, 0] > 0) == int(a[0, 0] > 0)
    assert bool((x > -9).all()) and [r.get().tolist() for r in x] == a.tolist()
    assert type(x.get()) is np.ndarray and cp.asnumpy(x).tolist() == a.tolist()
    host = a.copy()
    w = cupy_stand_in(host)
    host += 1  # host and device memory are separate: copies both ways
    w.get()[0] += 1
    assert w.get().tolist() == a.tolist()
    with pytest.raises(ValueError):
        bool(x > 0)  # more than one element, as in numpy and CuPy


def _softmax_rows_leaking_numpy(ns, S):
    """formulas.softmax_rows with one numpy call (np.max) in place of ns.xp's."""
    w = ns.exp(S - np.max(S, axis=1, keepdims=True))
    return w / ns.xp.sum(w, axis=1, keepdims=True)


def test_a_numpy_call_leaked_into_an_algorithm_is_caught(cupy_stand_in):
    a = np.random.default_rng(4).uniform(-1, 1, (5, 5))
    x = cupy_stand_in(a)
    ns = get_namespace(S=x)
    good = formulas.softmax_rows(ns, x)
    assert type(good) is CupyStandIn
    np.testing.assert_array_equal(good.get(), formulas.softmax_rows(get_namespace(S=a), a))
    with pytest.raises(TypeError, match="numpy.max"):
        _softmax_rows_leaking_numpy(ns, x)


# --- the fast method (Section D) on device arrays ---------------------------------------

N, D = 64, 3
EPS = 1e-6 * N


def _instance(seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-0.5, 0.5, (D, D) if k in ("X", "Y") else (N, D)) for k in NAMES]


def _agree(what, dev, host):
    """dev (device) and host (numpy) FastResults: device value, within the two certified bounds."""
    assert type(dev.value) is CupyStandIn, (what, type(dev.value))
    assert dev.value.dtype == np.float64, what
    assert 0 <= dev.bound <= EPS and 0 <= host.bound <= EPS, (what, dev.bound, host.bound)
    err = float(np.max(np.abs(dev.value.get() - host.value)))
    assert err <= dev.bound + host.bound, (what, err, dev.bound, host.bound)
    # the stand-in computes with numpy and, at N = 64 rows, both use one block: the bound the
    # device path evaluates (on the device) must be the host's, to the last bit
    assert dev.bound == host.bound, (what, dev.bound, host.bound)


def test_fast_gradient_on_the_device(device):
    a = _instance(5)
    dev = attngrad.gradient(*[device(v) for v in a], method="fast", eps=EPS, return_bound=True)
    _agree("gradient", dev, attngrad.gradient(*a, method="fast", eps=EPS, return_bound=True))


def test_fast_gradient_Y_on_the_device(device):
    a = _instance(8)
    dev = attngrad.gradient(*[device(v) for v in a], wrt="Y", method="fast", eps=EPS,
                            return_bound=True)
    _agree("gradient Y", dev,
           attngrad.gradient(*a, wrt="Y", method="fast", eps=EPS, return_bound=True))


def test_fast_float32_on_the_device_is_refused_not_certified(device):
    """CuPy flushes float32 subnormals (-ftz=true), outside the rounding model: refused."""
    a = [v.astype(np.float32) for v in _instance(9)]
    dev = [device(v) for v in a]
    for call in (lambda: attngrad.gradient(*dev, method="fast", eps=1.0),
                 lambda: attngrad.gradient(*dev, wrt="Y", method="fast", eps=1.0),
                 lambda: attngrad.attention(dev[0], dev[1], dev[2], method="fast", eps=1.0)):
        with pytest.raises(attngrad.ApproximationError, match="flush float32 subnormals"):
            call()
    res = fast.gradient_fixed_degree(*dev, degree=3, return_info=True)
    assert type(res.value) is CupyStandIn and res.value.dtype == np.float32
    assert np.isnan(res.bound)
    assert attngrad.gradient(*a, method="fast", eps=1.0, return_bound=True).bound <= 1.0  # numpy


def test_fast_attention_on_the_device(device):
    Q, K, V = _instance(6)[:3]
    dev = attngrad.attention(device(Q), device(K), device(V), method="fast", eps=EPS,
                             return_bound=True)
    _agree("attention", dev, attngrad.attention(Q, K, V, method="fast", eps=EPS, return_bound=True))


def test_fixed_degree_gradient_on_the_device(device):
    a = _instance(7)
    dev = fast.gradient_fixed_degree(*[device(v) for v in a], degree=6, return_info=True)
    _agree("fixed degree", dev, fast.gradient_fixed_degree(*a, degree=6, return_info=True))
