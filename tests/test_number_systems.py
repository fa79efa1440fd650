"""Results come back in the number system they were given, and mpmath means mpmath all the way.

* float32 in -> float32 out, float64 -> float64, integer and bool -> float64 (backend.py);
* object arrays of mpf -> object arrays whose every element is an mpf (loss: an mpf), and the
  digits are real: at mp.dps = 50 the results agree with the oracle at 90 digits within the
  rounding-error bound for unit roundoff 2^-prec, which a float anywhere inside would break
  (checked by leaking one on purpose);
* the CuPy code path, exercised on the CPU through a stand-in ``cupy`` module whose arrays, like
  CuPy's, refuse numpy calls and implicit conversion to numpy (tests/conftest.py; the real thing
  is tested when CuPy and a GPU are present).
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings

import attngrad
from attngrad import backend, formulas

from . import oracle
from .conftest import CupyStandIn
from .helpers import all_mpf, args, assert_within, error_bounds, instance, instances, to_mp
from .profiles import examples


def every_result(a, **kw):
    """name -> result of every public function on the six inputs ``a``."""
    A1, A2, A3, E, X, Y = a
    out = {k: getattr(attngrad, k)(A1, A2, X, **kw) for k in ("u", "alpha", "f")}
    out["h"] = attngrad.h(A3, Y)
    out.update({k: getattr(attngrad, k)(*a, **kw) for k in ("c", "q", "p", "p1", "p2", "r", "loss")})
    out["grad_X"] = attngrad.gradient(*a, **kw)
    out["grad_naive"] = attngrad.gradient(*a, method="naive", **kw)
    out["grad_Y"] = attngrad.gradient(*a, wrt="Y", **kw)
    out["attention"] = attngrad.attention(A1, A2, A3, **kw)
    return out


EXPECTED_SHAPES = lambda n, d: {  # noqa: E731
    "u": (n, n), "alpha": (n,), "f": (n, n), "h": (n, d), "c": (n, d), "q": (n, n), "p": (n, n),
    "p1": (n, n), "p2": (n, n), "r": (n,), "loss": (), "grad_X": (d, d), "grad_naive": (d, d),
    "grad_Y": (d, d), "attention": (n, d)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd", [(1, 1), (3, 2), (2, 5)])
def test_float_dtype_is_kept(dtype, nd):
    n, d = nd
    inst = instance(n, d, seed=n + d)
    res = every_result(args(inst, lambda v: v.astype(dtype)))
    for name, v in res.items():
        assert isinstance(v, (np.ndarray, np.generic)), name
        assert v.dtype == dtype, (name, v.dtype)
        assert np.shape(v) == EXPECTED_SHAPES(n, d)[name], name


@pytest.mark.parametrize("kind", ["int64", "int8", "uint16", "bool"])
def test_integer_and_bool_inputs_compute_in_float64(kind):
    rng = np.random.default_rng(1)
    inst = {k: rng.integers(0, 2 if kind == "bool" else 3, size=v.shape).astype(kind)
            for k, v in instance(3, 2, seed=0).items()}
    res = every_result(args(inst))
    ref = every_result(args(inst, lambda v: v.astype(np.float64)))
    for name, v in res.items():
        assert v.dtype == np.float64, (name, v.dtype)
        np.testing.assert_array_equal(v, ref[name], err_msg=name)


def test_float32_with_float64_computes_in_float64():
    inst = instance(3, 2, seed=0)
    a = args(inst)
    a[0] = a[0].astype(np.float32)
    assert attngrad.gradient(*a).dtype == np.float64
    assert attngrad.loss(*a).dtype == np.float64


def test_nested_lists_are_accepted():
    inst = instance(2, 2, seed=3)
    got = attngrad.loss(*args(inst, lambda v: v.tolist()))
    assert got == attngrad.loss(*args(inst))
    with mpmath.workdps(30):
        assert all_mpf(attngrad.loss(*args(inst, lambda v: to_mp(v).tolist())))


@settings(max_examples=examples(15), deadline=None)
@given(instances(max_n=4, max_d=3))
@example(instance(1, 1, seed=0))
def test_mpmath_results_hold_only_mpf(inst):
    with mpmath.workdps(50):
        res = every_result(args(inst, to_mp))
    n, d = inst["A1"].shape
    for name, v in res.items():
        assert all_mpf(v), (name, {type(x).__name__ for x in np.asarray(v).reshape(-1).tolist()})
        assert np.shape(v) == EXPECTED_SHAPES(n, d)[name], name
    assert isinstance(res["loss"], mpmath.mpf)


def digits_check(inst, dps=50, names=("loss", "grad_X", "grad_Y", "f", "c", "p")):
    """Library at ``dps`` against the oracle at dps + 40, within the bound for u = 2^-prec."""
    with mpmath.workdps(dps):
        b = error_bounds(inst, u=2.0 ** -mpmath.mp.prec, eta=0.0)
        a = args(inst, to_mp)
        got = {"loss": attngrad.loss(*a), "grad_X": attngrad.gradient(*a),
               "grad_Y": attngrad.gradient(*a, wrt="Y"), "f": attngrad.f(a[0], a[1], a[4]),
               "c": attngrad.c(*a), "p": attngrad.p(*a)}
    with mpmath.workdps(dps + 40):
        a = args(inst, to_mp)
        ref = {"loss": oracle.loss(*a), "grad_X": oracle.grad_X(*a), "grad_Y": oracle.grad_Y(*a),
               "f": oracle.f(a[0], a[1], a[4]), "c": oracle.c(*a), "p": oracle.p(*a)}
        for name in names:
            assert_within(f"{name} at {dps} digits", got[name], ref[name], 2 * b[name])


@settings(max_examples=examples(15), deadline=None)
@given(instances(max_n=4, max_d=3))
@example(instance(3, 3, seed=1, bound=2.0))
def test_mpmath_at_50_digits_gives_about_50_digits(inst):
    digits_check(inst)


@pytest.mark.parametrize("dps", [20, 80])
def test_precision_follows_mp_dps(dps):
    digits_check(instance(3, 3, seed=dps, bound=2.0), dps=dps)


def test_a_leaked_float_is_detected(monkeypatch):
    """Break the mpmath path on purpose: exp through a float keeps the type, loses the digits."""
    inst = instance(3, 3, seed=1, bound=2.0)
    digits_check(inst)
    float_exp = np.frompyfunc(lambda x: mpmath.mpf(math.exp(float(x))), 1, 1)
    monkeypatch.setattr(backend.MpmathNamespace, "exp",
                        lambda self, a: np.asarray(float_exp(a), dtype=object))
    with mpmath.workdps(50):
        assert all_mpf(attngrad.f(*args(inst, to_mp)[:2], to_mp(inst["X"])))  # types still fine
    with pytest.raises(AssertionError):
        digits_check(inst)


def test_a_leaked_float_constant_is_detected(monkeypatch):
    """The default scale 1/d computed as a float (d = 3) is caught as well."""
    inst = instance(3, 3, seed=1, bound=2.0)
    real = formulas.scale_value
    monkeypatch.setattr(formulas, "scale_value",
                        lambda ns, scale, d: ns.scalar(1 / d) if scale is None else real(ns, scale, d))
    with pytest.raises(AssertionError):
        digits_check(inst)


# --- to_mpmath / to_float64 ---------------------------------------------------------------

def _fraction(x):
    """The exact rational value of a float or an mpf."""
    from fractions import Fraction

    if isinstance(x, mpmath.mpf):  # (mpf.man_exp drops the sign; to_rational keeps it)
        return Fraction(*mpmath.libmp.to_rational(x._mpf_))
    return Fraction(float(x))


@pytest.mark.parametrize("dps", [15, 50])
@settings(max_examples=examples(30), deadline=None)
@given(inst=instances(max_n=3, max_d=3))
@example(inst=instance(1, 1, seed=0))
def test_to_mpmath_is_exact_and_to_float64_inverts_it(dps, inst):
    """to_mpmath keeps every float64 / float32 / integer value exactly (object array of mpf,
    same shape); to_float64 gives them back bit for bit, from mpmath, float32 and lists."""
    rng = np.random.default_rng(dps)
    cases = [inst["A1"], inst["X"].astype(np.float32), rng.integers(-2 ** 31, 2 ** 31, (2, 3)),
             np.array([[0.1, -1e-300, 5e-324, 1.7976931348623157e308]])]
    with mpmath.workdps(dps):
        for a in cases:
            m = attngrad.to_mpmath(a)
            assert m.dtype == object and m.shape == a.shape and all_mpf(m)
            assert all(_fraction(x) == _fraction(y)
                       for x, y in zip(m.reshape(-1).tolist(), a.reshape(-1).tolist()))
            back = attngrad.to_float64(m)
            assert back.dtype == np.float64 and back.shape == a.shape
            np.testing.assert_array_equal(back, a.astype(np.float64))
            np.testing.assert_array_equal(attngrad.to_float64(a), a.astype(np.float64))
    assert attngrad.to_float64(inst["E"].tolist()).dtype == np.float64


def test_to_float64_rounds_to_nearest():
    with mpmath.workdps(50):
        third = mpmath.mpf(1) / 3
        m = np.array([[third, -third, mpmath.mpf(2) ** -1080]], dtype=object)
        got = attngrad.to_float64(m)
    np.testing.assert_array_equal(got, [[1 / 3, -1 / 3, 2.0 ** -1080]])


# --- the CuPy code path, on the CPU ----------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cupy_path_keeps_arrays_on_the_device(cupy_stand_in, dtype):
    inst = instance(4, 3, seed=5)
    res = every_result(args(inst, lambda v: cupy_stand_in(v.astype(dtype))))
    ref = every_result(args(inst, lambda v: v.astype(dtype)))
    for name, v in res.items():
        assert type(v) is CupyStandIn, (name, type(v))  # the loss too: a 0-d device array
        assert v.dtype == dtype, name
        np.testing.assert_array_equal(v.get(), ref[name], err_msg=name)
    assert attngrad.to_float64(res["f"]).dtype == np.float64


def test_cupy_path_checks_its_inputs(cupy_stand_in):
    a = args(instance(3, 2, seed=1), cupy_stand_in)
    bad = list(a)
    bad[4] = cupy_stand_in(np.full((2, 2), np.inf))
    with pytest.raises(ValueError, match="X"):
        attngrad.loss(*bad)
    bad = list(a)
    bad[2] = cupy_stand_in(np.ones((3, 2), dtype=np.complex128))
    with pytest.raises(TypeError, match="A3"):
        attngrad.loss(*bad)
    bad = list(a)
    bad[5] = np.ones((2, 2))  # a host array among device arrays
    with pytest.raises(TypeError, match="Y=numpy"):
        attngrad.loss(*bad)


@pytest.mark.gpu
def test_real_cupy_matches_numpy():
    cupy = pytest.importorskip("cupy")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - no driver / no device
        pytest.skip("no CUDA device")
    inst = instance(8, 4, seed=2)
    G = attngrad.gradient(*args(inst, cupy.asarray))
    assert isinstance(G, cupy.ndarray) and G.dtype == np.float64
    b = error_bounds(inst, K=2 * (8 + 16) + 8)["grad_X"]
    assert_within("cupy vs numpy", cupy.asnumpy(G), attngrad.gradient(*args(inst)), 4 * b)



def test_to_mpmath_is_exact_below_53_bits_of_working_precision():
    """Pinned: to_mpmath once rounded floats and large ints to the working precision."""
    with mpmath.workprec(20):
        a = attngrad.to_mpmath(np.array([0.1, 2.0 ** 60 + 2.0 ** 8]))
        b = attngrad.to_mpmath(np.array([2 ** 60 + 1], dtype=object))
    assert a[0] == mpmath.mpf(0.1)  # mpf comparison is exact; mpf(0.1) at 53 bits is 0.1
    assert a[1] == 2 ** 60 + 2 ** 8
    assert int(b[0]) == 2 ** 60 + 1
