"""attngrad.opcount: counting changes no value and misses no operation."""
import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from attngrad import formulas as F
from attngrad import opcount
from attngrad.backend import MpmathNamespace, NumpyNamespace

from .profiles import examples

dims = st.integers(min_value=1, max_value=9)


def _inputs(n, d, seed):
    rng = np.random.default_rng(seed)
    return ([rng.standard_normal((n, d)) for _ in range(4)]
            + [rng.standard_normal((d, d)) for _ in range(2)])


@settings(max_examples=examples(40), deadline=None)
@given(m=dims, k=dims, p=dims)
def test_matmul_counts_mkp(m, k, p):
    ns = opcount.CountingNamespace()
    a, b = ns.wrap(np.ones((m, k))), ns.wrap(np.ones((k, p)))
    out = a @ b
    assert opcount.matmuls(ns.log) == [(m, k, p)]
    assert opcount.total(ns.log) == m * k * p
    assert np.array_equal(np.asarray(out), np.ones((m, k)) @ np.ones((k, p)))


@settings(max_examples=examples(40), deadline=None)
@given(n=dims, d=dims)
def test_elementwise_and_reductions(n, d):
    ns = opcount.CountingNamespace()
    a = ns.wrap(np.arange(n * d, dtype=float).reshape(n, d))
    ns.xp.sum(a * a, axis=1)            # n d multiplications, n (d - 1) additions
    ns.xp.max(ns.exp(a - 1), axis=0)    # n d subtractions, n d exps, (n - 1) d comparisons
    kinds = opcount.by_kind(ns.log)
    assert kinds == {"matmul": 0, "mul": n * d, "div": 0, "add": n * d + n * (d - 1),
                     "exp": n * d, "max": (n - 1) * d}


@settings(max_examples=examples(25), deadline=None)
@given(n=dims, d=dims, seed=st.integers(0, 2 ** 16))
def test_counted_gradient_is_the_plain_gradient(n, d, seed):
    """Wrapping the arrays changes no value: same float64 bits as the plain namespace."""
    args = _inputs(n, d, seed)
    ns = opcount.CountingNamespace()
    counted = F.gradient_exact_X(ns, *[ns.wrap(a) for a in args], ns.scalar(1))
    plain = F.gradient_exact_X(NumpyNamespace(np.dtype(np.float64)), *args, np.float64(1))
    assert np.array_equal(np.asarray(counted), plain)
    assert opcount.total(ns.log) > 0


def test_counts_do_not_depend_on_the_number_system():
    n, d = 5, 3
    args = _inputs(n, d, 1)
    logs = []
    for inner in (None, MpmathNamespace()):
        ns = opcount.CountingNamespace(inner)
        with mpmath.workdps(30):
            F.gradient_exact_X(ns, *[ns.wrap(a) for a in args], ns.scalar(1))
        logs.append([(op.kind, op.count, op.mkp) for op in ns.log])
    assert logs[0] == logs[1]


def test_symbolic_reads_monomials_off_prime_dimensions():
    n, d = sympy.symbols("n d")
    ns = opcount.CountingNamespace()
    A3, Y = ns.wrap(np.ones((7, 3))), ns.wrap(np.ones((3, 3)))
    F.h(ns, A3, Y)
    assert opcount.symbolic(ns.log, {n: 7, d: 3})["total"] == n * d ** 2
    with pytest.raises(ValueError, match="dims"):
        opcount.symbolic(ns.log, {n: 7, d: 7})
    with pytest.raises(ValueError, match="dims"):
        opcount.symbolic(ns.log, {n: 5, d: 2})   # 7 is not a product of 5 and 2


def test_uncounted_operations_raise():
    ns = opcount.CountingNamespace()
    a = ns.wrap(np.ones((3, 3)))
    with pytest.raises(NotImplementedError):
        np.sqrt(a)
    with pytest.raises(NotImplementedError):
        np.add.accumulate(a, axis=0)
    with pytest.raises(NotImplementedError):
        np.multiply(a, a, out=np.empty((3, 3)))


def test_inner_must_be_numpy_based():
    class Fake(NumpyNamespace):
        xp = object()

    with pytest.raises(TypeError, match="inner"):
        opcount.CountingNamespace(Fake(np.dtype(np.float64)))
