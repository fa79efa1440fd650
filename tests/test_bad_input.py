"""Bad input raises TypeError or ValueError whose message names the argument; never a NaN."""
from __future__ import annotations

import re
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import attngrad

from .helpers import NAMES, args, instance, shapes, to_mp
from .profiles import examples

N, D = 3, 2
INST = instance(N, D, seed=0)


def six_arg_calls():
    """(label, function of the six inputs) for every public function taking all six."""
    calls = [(k, getattr(attngrad, k)) for k in ("loss", "c", "q", "p", "p1", "p2", "r")]
    calls += [("gradient", attngrad.gradient),
              ("gradient naive", lambda *a: attngrad.gradient(*a, method="naive")),
              ("gradient Y", lambda *a: attngrad.gradient(*a, wrt="Y"))]
    return calls


def calls_using(name):
    """Every public call that takes argument ``name`` (by its name in Definition 1.2)."""
    out = list(six_arg_calls())
    if name in ("A1", "A2", "X"):
        out += [(k, lambda *a, k=k: getattr(attngrad, k)(a[0], a[1], a[4])) for k in ("u", "alpha", "f")]
    if name in ("A3", "Y"):
        out.append(("h", lambda *a: attngrad.h(a[2], a[5])))
    return out


def with_arg(name, value, base=None):
    a = dict(INST if base is None else base)
    a[name] = value
    return args(a)


def assert_names(exc, name):
    msg = str(exc.value)
    assert re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", msg), \
        f"message does not name {name!r}: {msg}"


CASES = [(name, label, fn) for name in NAMES for label, fn in calls_using(name)]
IDS = [f"{name}-{label}" for name, label, _ in CASES]


# --- shapes -------------------------------------------------------------------------------

def wrong_shapes(name):
    r, c = shapes(N, D)[name]
    return [(r + 1, c), (r, c + 1), (r + 1, c + 1)] + ([(r, r + 1)] if r == c else [(c + 2, c)])


@pytest.mark.parametrize("name,label,fn", CASES, ids=IDS)
def test_shape_mismatch_names_the_argument(name, label, fn):
    for shape in wrong_shapes(name):
        if label == "h" and name == "A3" and shape[1] == D:
            continue  # h(A3, Y) alone does not fix n
        with pytest.raises(ValueError) as exc:
            fn(*with_arg(name, np.ones(shape)))
        assert_names(exc, name)


@pytest.mark.parametrize("name,label,fn", CASES, ids=IDS)
@pytest.mark.parametrize("shape", [(D,), (N * D,), (N, D, 1), (1, N, D), (2, 2, 2)])
def test_1d_and_3d_inputs_are_refused(name, label, fn, shape):
    with pytest.raises(ValueError) as exc:
        fn(*with_arg(name, np.ones(shape)))
    assert_names(exc, name)
    assert "2-D" in str(exc.value)


@pytest.mark.parametrize("name", NAMES)
def test_scalars_are_refused(name):
    for value in (np.float64(1.0), 1.0, mpmath.mpf(1), np.array(1.0)):
        with pytest.raises((TypeError, ValueError)) as exc:
            attngrad.loss(*with_arg(name, value))
        assert_names(exc, name)


@pytest.mark.parametrize("name", NAMES)
def test_ragged_nested_lists_name_the_argument(name):
    r, c = shapes(N, D)[name]
    ragged = [[0.25] * c for _ in range(r - 1)] + [[0.25] * (c + 1)]
    for fn in (attngrad.gradient, attngrad.loss):
        with pytest.raises(ValueError) as exc:
            fn(*with_arg(name, ragged))
        assert_names(exc, name)
        assert "ragged" in str(exc.value)


@pytest.mark.parametrize("name,label,fn", CASES, ids=IDS)
def test_empty_arrays_are_refused(name, label, fn):
    r, c = shapes(N, D)[name]
    for shape in ((0, c), (r, 0), (0, 0)):
        with pytest.raises(ValueError) as exc:
            fn(*with_arg(name, np.ones(shape)))
        assert_names(exc, name)
    a = {k: to_mp(v) for k, v in INST.items()}
    a[name] = np.empty((0, c), dtype=object)  # an empty mpmath array
    with pytest.raises(ValueError) as exc:
        fn(*args(a))
    assert_names(exc, name)


# --- values -------------------------------------------------------------------------------

@pytest.mark.parametrize("name,label,fn", CASES, ids=IDS)
@pytest.mark.parametrize("bad", ["inf", "-inf", "nan"])
@pytest.mark.parametrize("system", ["float64", "float32", "mpmath"])
def test_non_finite_values_are_refused(name, label, fn, bad, system):
    conv = {"float64": lambda v: np.array(v, dtype=np.float64),
            "float32": lambda v: np.array(v, dtype=np.float32), "mpmath": to_mp}[system]
    a = {k: conv(v) for k, v in INST.items()}
    a[name] = a[name].copy()
    a[name][-1, 0] = mpmath.mpf(bad) if system == "mpmath" else float(bad)
    with pytest.raises(ValueError) as exc:
        fn(*args(a))
    assert_names(exc, name)
    assert "non-finite" in str(exc.value)


@pytest.mark.parametrize("name", NAMES)
def test_overflow_in_float32_raises(name):
    """A huge entry in float32 (fine in float64) raises ValueError naming the result, never NaN/inf."""
    a = {k: v.astype(np.float32) for k, v in INST.items()}
    a[name] = a[name] * np.float32(1e30)
    for label, fn in calls_using(name):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out = fn(*args(a))
        except ValueError as exc:
            assert "overflow" in str(exc) and "float32" in str(exc), (label, str(exc))
        else:
            assert np.all(np.isfinite(out)), (label, out)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("label,fn", six_arg_calls() + [("attention", None)])
def test_all_huge_float32_inputs_raise(label, fn):
    a = [v.astype(np.float32) * np.float32(1e20) for v in args(INST)]
    with pytest.raises(ValueError, match="overflow"):
        if fn is None:
            attngrad.attention(a[0], a[1], a[2])
        else:
            fn(*a)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=examples(60), deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.data())
@example(1, 1, None)
def test_float32_never_returns_nan_or_inf(n, d, data):
    """Entries anywhere in float32's range: a finite result or ValueError, for loss and gradients."""
    if data is None:  # pinned: entries at the float32 maximum
        a = [np.full(s, np.finfo(np.float32).max, dtype=np.float32) for s in shapes(n, d).values()]
    else:
        elems = st.floats(width=32, allow_nan=False, allow_infinity=False)
        a = [data.draw(hnp.arrays(np.float32, s, elements=elems)) for s in shapes(n, d).values()]
    for fn in (attngrad.loss, attngrad.gradient, lambda *z: attngrad.gradient(*z, wrt="Y"),
               attngrad.p, attngrad.q):
        try:
            out = fn(*a)
        except ValueError as exc:
            assert "overflow" in str(exc)
        else:
            assert np.all(np.isfinite(out)) and np.asarray(out).dtype == np.float32


def test_overflow_in_float64_raises():
    a = args(INST)
    a[4] = a[4] * 1e300
    with pytest.raises(ValueError, match="u: .*overflow"):
        attngrad.u(a[0], a[1], a[4])


# --- number systems -------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_one_mpmath_argument_among_numpy(name):
    with pytest.raises(TypeError) as exc:
        attngrad.loss(*with_arg(name, to_mp(INST[name])))
    assert f"{name}=mpmath" in str(exc.value) and "mix" in str(exc.value)


@pytest.mark.parametrize("name", NAMES)
def test_one_numpy_argument_among_mpmath(name):
    a = {k: to_mp(v) for k, v in INST.items()}
    a[name] = INST[name]
    with pytest.raises(TypeError) as exc:
        attngrad.gradient(*args(a))
    assert f"{name}=numpy" in str(exc.value)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("intruder", [0.5, 1, mpmath.mpc(1, 2), "1", np.float64(0.5), None])
def test_object_arrays_must_hold_only_mpf(name, intruder):
    a = {k: to_mp(v) for k, v in INST.items()}
    a[name] = a[name].copy()
    a[name][0, 0] = intruder
    with pytest.raises(TypeError) as exc:
        attngrad.loss(*args(a))
    assert_names(exc, name)
    assert "mpmath.mpf" in str(exc.value)


class _FakeCupyArray:
    """Looks like a CuPy array to the backend (its type lives in a module named 'cupy')."""

    def __init__(self, a):
        self._a = np.asarray(a)
        self.dtype, self.shape, self.ndim = self._a.dtype, self._a.shape, self._a.ndim


_FakeCupyArray.__module__ = "cupy.fake"


@pytest.mark.parametrize("name", NAMES)
def test_a_cupy_array_among_numpy_arrays(name):
    with pytest.raises(TypeError) as exc:
        attngrad.loss(*with_arg(name, _FakeCupyArray(INST[name])))
    assert f"{name}=cupy" in str(exc.value)


@pytest.mark.parametrize("name", NAMES)
def test_a_cupy_array_of_unsupported_dtype(name):
    with pytest.raises(TypeError) as exc:
        attngrad.loss(*with_arg(name, _FakeCupyArray(INST[name].astype(np.complex64))))
    assert_names(exc, name)


UNSUPPORTED = [np.complex64, np.complex128, np.float16, "U3", "S3", "datetime64[s]", "timedelta64[s]"]
if np.dtype(np.longdouble) != np.dtype(np.float64):
    UNSUPPORTED.append(np.longdouble)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", UNSUPPORTED, ids=str)
def test_unsupported_dtypes(name, dtype):
    value = np.ones(shapes(N, D)[name]).astype(dtype) if not str(dtype).startswith(("datetime", "timedelta")) \
        else np.zeros(shapes(N, D)[name], dtype=dtype)
    with pytest.raises(TypeError) as exc:
        attngrad.gradient(*with_arg(name, value))
    assert_names(exc, name)
    assert "dtype" in str(exc.value)


def test_bool_is_allowed_and_means_0_and_1():
    """backend.py promotes bool (like integers) to float64."""
    a = {k: (v > 0) for k, v in INST.items()}
    got = attngrad.loss(*args(a))
    assert got.dtype == np.float64
    assert got == attngrad.loss(*args({k: v.astype(np.float64) for k, v in a.items()}))


# --- options -----------------------------------------------------------------------------

@pytest.mark.parametrize("wrt", ["x", "Z", "XY", "", None, 1, ["X"], ("X",), b"X"])
def test_wrong_wrt(wrt):
    with pytest.raises(ValueError) as exc:
        attngrad.gradient(*args(INST), wrt=wrt)
    assert_names(exc, "wrt")


@pytest.mark.parametrize("method", ["Exact", "slow", "", None, 0, ["exact"], {"exact"}])
def test_wrong_method(method):
    with pytest.raises(ValueError) as exc:
        attngrad.gradient(*args(INST), method=method)
    assert_names(exc, "method")


def test_naive_has_no_Y_gradient():
    with pytest.raises(ValueError) as exc:
        attngrad.gradient(*args(INST), wrt="Y", method="naive")
    assert_names(exc, "method")


@pytest.mark.parametrize("method", ["exact", "naive"])
@pytest.mark.parametrize("option", ["eps", "tol", "seed", "scale_"])
def test_unknown_options_of_gradient(method, option):
    with pytest.raises(TypeError) as exc:
        attngrad.gradient(*args(INST), method=method, **{option: 0.1})
    assert_names(exc, option)


@pytest.mark.parametrize("label, call", [
    ("gradient", lambda **kw: attngrad.gradient(*args(INST), method="fast", eps=1e-3, **kw)),
    ("gradient", lambda **kw: attngrad.gradient(*args(INST), wrt="Y", method="fast", eps=1e-3, **kw)),
    ("attention", lambda **kw: attngrad.attention(INST["A1"], INST["A2"], INST["A3"],
                                                  method="fast", eps=1e-3, **kw))])
def test_unknown_options_of_the_fast_method(label, call):
    """The public function and method are named, not the internal gradient_fast()."""
    with pytest.raises(TypeError) as exc:
        call(bogus=1)
    assert_names(exc, "bogus")
    assert str(exc.value).startswith(f"{label}(method='fast'): unexpected keyword(s) ['bogus']")
    assert "_fast" not in str(exc.value) and "'eps'" in str(exc.value)


@pytest.mark.parametrize("label,fn", six_arg_calls()[:7])
@pytest.mark.parametrize("option", ["wrt", "method", "eps"])
def test_unknown_options_elsewhere(label, fn, option):
    with pytest.raises(TypeError) as exc:
        fn(*args(INST), **{option: "X"})
    assert_names(exc, option)


@pytest.mark.parametrize("fn", [attngrad.u, attngrad.alpha, attngrad.f])
def test_unknown_option_of_forward_functions(fn):
    with pytest.raises(TypeError) as exc:
        fn(INST["A1"], INST["A2"], INST["X"], temperature=2)
    assert_names(exc, "temperature")


@pytest.mark.parametrize("system", ["float64", "mpmath"])
@pytest.mark.parametrize("scale,exc_type", [(float("nan"), ValueError), (float("inf"), ValueError),
                                            (-float("inf"), ValueError), ("abc", TypeError),
                                            (1j, TypeError), ([1.0], TypeError), (None, None)])
def test_bad_scale(system, scale, exc_type):
    a = args(INST, to_mp if system == "mpmath" else None)
    if exc_type is None:
        attngrad.loss(*a, scale=scale)
        return
    for fn in (attngrad.loss, attngrad.gradient, lambda *z, **k: attngrad.f(z[0], z[1], z[4], **k)):
        with pytest.raises(exc_type) as exc:
            fn(*a, scale=scale)
        assert_names(exc, "scale")


# --- attention and rowwise_kron ----------------------------------------------------------------

def test_attention_bad_inputs_name_the_argument():
    Q, K, V = INST["A1"], INST["A2"], INST["A3"]
    for kw, name in ((dict(V=np.ones((N + 1, 4))), "V"), (dict(K=np.ones((N, D + 1))), "K"),
                     (dict(Q=np.ones(N)), "Q"), (dict(V=np.full((N, 2), np.nan)), "V")):
        call = dict(Q=Q, K=K, V=V) | kw
        with pytest.raises(ValueError) as exc:
            attngrad.attention(**call)
        assert_names(exc, name)
    with pytest.raises(TypeError) as exc:
        attngrad.attention(Q, K, to_mp(V))
    assert "V=mpmath" in str(exc.value)


def test_rowwise_kron_row_mismatch():
    with pytest.raises(ValueError) as exc:
        attngrad.rowwise_kron(np.ones((2, 3)), np.ones((3, 3)))
    assert_names(exc, "U1")
    assert_names(exc, "U2")
