"""attngrad.transformer's fast gradient (method="fast"): the certified bound contains the error.

The error is measured against the exact model at 30 digits (mpmath), so the reference's own
error (1e-30) is far below every bound tested. Models cover every layer option, both losses and
a given dT, causal blocks that do not divide n, peaked softmax rows, ReLU kinks and the mpmath
and CuPy (stand-in) number systems; dropping a term of the bound on purpose lets the error
through, and hostile inputs are refused at once, naming the layer and head.
"""
from __future__ import annotations

import time

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attngrad
from attngrad import transformer as tr
from attngrad.transformer import certificate as C

from .profiles import examples
from .test_transformer import PHIS, convert_kw, converted, dyadic, make_layers, make_loss


def reference(X, layers, kw, dT=None):
    """name -> the exact model's gradient at 30 digits, as float64."""
    mp = attngrad.to_mpmath
    with mpmath.workdps(30):
        if dT is not None:
            g = tr.gradient(mp(X), converted(layers, mp), mp(dT))
        else:
            g = tr.loss_and_gradient(mp(X), converted(layers, mp), **convert_kw(kw, mp))[1]
    return {name: attngrad.to_float64(a) for name, a in g.arrays()}


def fast(X, layers, kw, dT=None, **options):
    if dT is not None:
        return tr.gradient(X, layers, dT, method="fast", **options)
    return tr.loss_and_gradient(X, layers, method="fast", **kw, **options)[1]


def assert_contained(got, ref):
    """Every array within its own bound, and the bound within the total ``got.bound``."""
    arrays = dict(got.arrays())
    for name, r in ref.items():
        err = float(np.max(np.abs(np.asarray(arrays[name], dtype=np.float64) - r)))
        assert err <= got.bounds[name] <= got.bound, (name, err, got.bounds[name])


CASES = [  # (n, d, specs, loss, eps, scale of the weights)
    (20, 4, [dict(heads=2, causal=True, residual=True, phi="gelu", mlp_residual=True)] * 2,
     "squared", 1e-6, 0.5),
    (24, 6, [dict(heads=3, phi="tanh"), dict(heads=1, causal=True, residual=True)], "ce", 1e-4,
     0.5),
    (17, 4, [dict(heads=1, causal=True, residual=True, phi="relu", mlp_residual=True)] * 3,
     "ce_mean", 1e-8, 0.4),
    (12, 8, [dict(heads=4, phi="gelu_tanh", residual=True, mlp_residual=True)], "given", 1e-5,
     0.5),
    (9, 2, [dict(heads=2, causal=True), dict(heads=1, phi="identity", mlp_residual=True)],
     "squared", 1e-10, 0.5),
]


def _model(n, d, specs, loss, scale, seed):
    rng = np.random.default_rng(seed)
    X = dyadic(rng, (n, d))
    layers = make_layers(rng, d, specs, bound=scale)
    dT = dyadic(rng, (n, d)) if loss == "given" else None
    kw = {} if loss == "given" else make_loss(rng, n, d, loss)
    return X, layers, kw, dT


@pytest.mark.parametrize("case", range(len(CASES)))
def test_bound_contains_the_error(case):
    n, d, specs, loss, eps, scale = CASES[case]
    X, layers, kw, dT = _model(n, d, specs, loss, scale, seed=case)
    got = fast(X, layers, kw, dT, eps=eps)
    assert got.bound <= eps
    assert len(got.degrees) == len(layers)
    assert_contained(got, reference(X, layers, kw, dT))


SPEC = st.fixed_dictionaries({
    "heads": st.sampled_from(("1", "d")), "causal": st.booleans(), "residual": st.booleans(),
    "phi": st.sampled_from((None,) + PHIS), "mlp_residual": st.booleans()}).map(
    lambda s: s if s["phi"] else {**s, "mlp_residual": False})


@settings(max_examples=examples(15), deadline=None)
@given(n=st.integers(1, 24), d=st.integers(1, 6), specs=st.lists(SPEC, min_size=1, max_size=3),
       loss=st.sampled_from(("squared", "ce", "ce_mean", "given")),
       degree=st.integers(0, 6), seed=st.integers(0, 2 ** 32 - 1))
def test_bound_contains_the_error_at_any_degree(n, d, specs, loss, degree, seed):
    """Any shape and layer stack, at a fixed degree (0 included: a constant polynomial): the
    bound, whatever its size, contains the error."""
    X, layers, kw, dT = _model(n, d, specs, loss, 0.5, seed)
    try:
        got = fast(X, layers, kw, dT, degree=degree)
    except attngrad.ApproximationError:
        return   # a refusal (no certificate at this degree) is allowed, a wrong bound is not
    assert_contained(got, reference(X, layers, kw, dT))


def test_peaked_rows_relu_kinks_and_causal_blocks():
    """Larger scores (up to 1.9), ReLU inputs at 0 (W_g = 0) and near it, n = 130 under the mask
    (blocks of 64 rows leave 2), cross-entropy with large logits."""
    rng = np.random.default_rng(40)
    n, d = 130, 4
    layers = make_layers(rng, d, [dict(heads=1, causal=True, residual=True, phi="relu",
                                       mlp_residual=True)] * 2, bound=1.0)
    layers[0] = tr.Layer(layers[0].W_Q, layers[0].W_K, layers[0].W_V, W_g=np.zeros((d, d)),
                         phi="relu", causal=True, residual=True, mlp_residual=True)
    X = dyadic(rng, (n, d))
    kw = {"labels": rng.integers(0, 5, n), "head": 4 * dyadic(rng, (d, 5))}
    got = tr.loss_and_gradient(X, layers, method="fast", eps=1e-3, **kw)[1]
    assert_contained(got, reference(X, layers, kw))


def test_mpmath_fast_path():
    """At 40 digits the rounding floor is far below float64's: eps = 1e-20 is certified."""
    rng = np.random.default_rng(41)
    n, d = 10, 4
    X, layers = dyadic(rng, (n, d)), make_layers(rng, d, [dict(heads=2, causal=True,
                                                              phi="tanh")] * 2)
    target = dyadic(rng, (n, d))
    mp = attngrad.to_mpmath
    with mpmath.workdps(40):
        got = tr.loss_and_gradient(mp(X), converted(layers, mp), target=mp(target),
                                   method="fast", eps=1e-20)[1]
    assert got.bound <= 1e-20
    with mpmath.workdps(60):
        ref = tr.loss_and_gradient(mp(X), converted(layers, mp), target=mp(target))[1]
    for (name, a), (_, b) in zip(got.arrays(), ref.arrays()):
        with mpmath.workdps(60):
            err = max(abs(x - y) for x, y in zip(a.reshape(-1), b.reshape(-1)))
        assert err <= got.bounds[name], name


def test_cupy_code_path(cupy_stand_in):
    rng = np.random.default_rng(42)
    n, d = 40, 4
    X, layers = dyadic(rng, (n, d)), make_layers(rng, d, [dict(heads=2, causal=True,
                                                              residual=True, phi="gelu")] * 2)
    target = dyadic(rng, (n, d))
    host = tr.loss_and_gradient(X, layers, target=target, method="fast", eps=1e-6)[1]
    dev = tr.loss_and_gradient(cupy_stand_in(X), converted(layers, cupy_stand_in),
                               target=cupy_stand_in(target), method="fast", eps=1e-6)[1]
    assert dev.bound == pytest.approx(host.bound, rel=1e-9)
    for (name, a), (_, b) in zip(host.arrays(), dev.arrays()):
        assert type(b).__module__ == "cupy"
        np.testing.assert_allclose(b.get(), a, rtol=1e-12, atol=1e-15, err_msg=name)


# --- the bound's terms are needed ---------------------------------------------------------------

def _low_degree_case():
    rng = np.random.default_rng(43)
    n, d = 24, 4
    X = dyadic(rng, (n, d))
    layers = make_layers(rng, d, [dict(heads=1, causal=True, residual=True, phi="gelu")] * 2,
                         bound=0.5)
    return X, layers, {"target": dyadic(rng, (n, d))}


def test_dropping_the_polynomial_term_fails():
    """Without the polynomial's relative error (only rounding), the bound of a degree-1 fast
    gradient is far below its error: the delta terms of Lemmas T.7 and T.8 are needed."""
    from attngrad.transformer import backprop, fast as F, losses
    from attngrad.transformer.model import check_model

    X, layers, kw = _low_degree_case()
    ref = reference(X, layers, kw)
    chk = check_model(X, layers, {"target": (kw["target"], ("n", "d"))})
    engine = F.FastAttention(chk.ns, "chebyshev", degree=1)
    T, cache = backprop.forward(chk.ns, chk, None, None, engine=engine)
    _, dT = losses.squared(chk.ns, T, chk.extra["target"])
    trace = {}
    dX, grads = backprop.backward(chk.ns, chk, cache, dT, None, trace, engine)
    got = tr.TransformerGradient(dX, grads)
    full = F.model_bounds(chk.ns, chk, cache, trace, ("squared", None), 1.0)
    floor = F.model_bounds(chk.ns, chk, cache, trace, ("squared", None), 0.0)
    errs = {name: float(np.max(np.abs(a - ref[name]))) for name, a in got.arrays()}
    assert all(errs[k] <= float(full[k].max()) for k in errs)
    assert any(errs[k] > float(floor[k].max()) for k in errs)


def test_dropping_the_forward_error_fails(monkeypatch):
    """Layer 0 at degree 1 (a large forward error), layer 1 at degree 8: layer 1's attention
    output is within its bound E_A, and without the forward error in layer 1's queries, keys and
    values (E_Q = E_K = E_V = 0 in Lemma T.7) it is not."""
    from attngrad.backend import MpmathNamespace
    from attngrad.transformer import backprop, fast as F, losses
    from attngrad.transformer.model import check_model

    X, layers, kw = _low_degree_case()
    mp = attngrad.to_mpmath
    with mpmath.workdps(30):
        mchk = check_model(mp(X), converted(layers, mp))
        _, mcache = backprop.forward(MpmathNamespace(), mchk, None, None)
    exact_A1 = attngrad.to_float64(mcache[1]["A"])
    choose = F.FastAttention._poly

    def by_layer(self, i, l, z, Kc, dh):
        self.degree = 1 if i == 0 else 8
        return choose(self, i, l, z, Kc, dh)

    monkeypatch.setattr(F.FastAttention, "_poly", by_layer)

    def layer1_bound():
        chk = check_model(X, layers, {"target": (kw["target"], ("n", "d"))})
        engine = F.FastAttention(chk.ns, "chebyshev", degree=1)
        T, cache = backprop.forward(chk.ns, chk, None, None, engine=engine)
        _, dT = losses.squared(chk.ns, T, chk.extra["target"])
        trace, record = {}, []
        backprop.backward(chk.ns, chk, cache, dT, None, trace, engine)
        F.model_bounds(chk.ns, chk, cache, trace, ("squared", None), record=record)
        return np.abs(cache[1]["A"] - exact_A1), record[1]["EA"]

    err, EA = layer1_bound()
    assert (err <= EA).all() and err.max() > 1e-6
    original = C.HeadForward.__init__

    def no_forward_error(self, xb, u, n, causal, s, z, q, kc, v, EQ, EK, EV, *rest):
        original(self, xb, u, n, causal, s, z, q, kc, v, EQ * 0, EK * 0, EV * 0, *rest)

    monkeypatch.setattr(C.HeadForward, "__init__", no_forward_error)
    err, EA = layer1_bound()
    assert (err > EA).any()


# --- options and refusals -----------------------------------------------------------------------

def test_refusals_name_the_layer_and_head_at_once():
    rng = np.random.default_rng(44)
    n, d = 200, 4
    X = dyadic(rng, (n, d))
    layers = make_layers(rng, d, [dict(heads=2)] * 2)
    big = [layers[0], tr.Layer(1e4 * layers[1].W_Q, 1e4 * layers[1].W_K, layers[1].W_V,
                               heads=2)]
    t0 = time.perf_counter()
    with pytest.raises(attngrad.ApproximationError, match=r"layer 1, head \d"):
        tr.gradient(X, big, np.ones((n, d)), method="fast", eps=1e-6)
    with pytest.raises(attngrad.ApproximationError, match="rounding alone"):
        tr.gradient(X, layers, np.ones((n, d)), method="fast", eps=1e-300)
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("options, exc, words", [
    (dict(), ValueError, "eps"),
    (dict(eps="1e-6"), ValueError, "eps"),
    (dict(eps=-1.0), ValueError, "eps"),
    (dict(eps=1e-6, basis="legendre"), ValueError, "basis"),
    (dict(degree=-1), ValueError, "degree"),
    (dict(eps=1e-6, max_rank=0), ValueError, "max_rank"),
    (dict(eps=1e-6, bogus=1), TypeError, "bogus"),
])
def test_bad_options_named(options, exc, words):
    X, layers = dyadic(np.random.default_rng(0), (4, 4)), make_layers(
        np.random.default_rng(1), 4, [dict(heads=2)])
    with pytest.raises(exc, match=words):
        tr.gradient(X, layers, np.ones((4, 4)), method="fast", **options)
    with pytest.raises(TypeError, match="eps"):
        tr.gradient(X, layers, np.ones((4, 4)), eps=1e-6)      # exact takes no eps


def test_fixed_degree_reports_its_bound():
    X, layers, kw, dT = _model(*CASES[0][:4], 0.5, seed=0)
    got = fast(X, layers, kw, dT, degree=3)
    assert got.degrees == [[3, 3], [3, 3]] and got.bound > 0
    with pytest.raises(attngrad.ApproximationError, match="degree 0"):
        fast(X, layers, kw, dT, degree=0, eps=1e-12)
