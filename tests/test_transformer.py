"""attngrad.transformer: the exact multi-layer model against independent oracles.

* mpmath finite differences (derivations/model_loops.py: the model by plain loops, no attngrad
  code) at 90 digits, step 2^-100, along random directions through every parameter, against the
  library at 50 digits: 1e-40 relative (n <= 6, d <= 4), over every option of a layer and loss;
* autograd (tests/transformer_oracle.py), float64 and float32: against the 50-digit result,
  the worst error over all gradient arrays, each relative to the magnitude of the final
  contraction that forms it (|T|^T |dQ| for dL/dW_Q: what the standard model of rounding
  charges it however much it cancels), compared with autograd's own (a same-precision baseline,
  as FlashAttention's tests set theirs): in distribution over 60 random small models, and
  instance by instance at n = 48; at n = 256 the two agree to 1e-9 relative;
* the blocked computation against one block, the CuPy code path on the CPU stand-in, the
  one-layer correspondence with attngrad.gradient, bad input, and unmodified inputs.
"""
from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attngrad
from attngrad import transformer as tr
from derivations.model_loops import directional, leaves_of, model_loss

from tests import transformer_oracle as oracle
from tests.profiles import examples

PHIS = ("identity", "relu", "tanh", "gelu", "gelu_tanh")
LOSSES = ("squared", "ce", "ce_mean")
U64, U32 = 2.0 ** -53, 2.0 ** -24


# --- building models ----------------------------------------------------------------------

def dyadic(rng, shape, bound=1.0, bits=10):
    """Entries k / 2^bits in [-bound, bound]: the same numbers in float64 and mpmath."""
    top = int(bound * 2 ** bits)
    return rng.integers(-top, top + 1, size=shape) / 2.0 ** bits


def layer_configs():
    """Every option of one layer: heads 1 or d, causal, residual, no MLP or an MLP with each
    phi, with and without its residual (88 configurations)."""
    out = []
    for heads, causal, residual in itertools.product(("1", "d"), (False, True), (False, True)):
        out.append(dict(heads=heads, causal=causal, residual=residual, phi=None))
        for phi, mres in itertools.product(PHIS, (False, True)):
            out.append(dict(heads=heads, causal=causal, residual=residual, phi=phi,
                            mlp_residual=mres))
    return out


def make_layers(rng, d, specs, bound=0.5, convert=None):
    convert = convert or (lambda a: a)
    layers = []
    for spec in specs:
        W = [convert(dyadic(rng, (d, d), bound)) for _ in range(3)]
        Wg = convert(dyadic(rng, (d, d), bound)) if spec.get("phi") else None
        heads = {"d": d, "1": 1}.get(spec.get("heads", 1), spec.get("heads", 1))
        layers.append(tr.Layer(*W, W_g=Wg, phi=spec.get("phi") or "identity", heads=heads,
                               causal=spec.get("causal", False),
                               residual=spec.get("residual", False),
                               mlp_residual=spec.get("mlp_residual", False)))
    return layers


def converted(layers, convert):
    """The same model with every weight converted (e.g. to mpmath or float32)."""
    return [tr.Layer(*(convert(w) for w in (L.W_Q, L.W_K, L.W_V)),
                     W_g=None if L.W_g is None else convert(L.W_g), phi=L.phi, heads=L.heads,
                     causal=L.causal, residual=L.residual, mlp_residual=L.mlp_residual)
            for L in layers]


def make_loss(rng, n, d, kind, vocab=3):
    """Keyword arguments of loss_and_gradient for a loss kind."""
    if kind == "squared":
        return {"target": dyadic(rng, (n, d))}
    return {"labels": rng.integers(0, vocab, size=n), "head": dyadic(rng, (d, vocab)),
            "reduction": "mean" if kind == "ce_mean" else "sum"}


def loss_spec(kw):
    """The loss in derivations.model_loops' form."""
    if "target" in kw:
        return ("squared", kw["target"])
    return ("ce", (kw["head"], kw["labels"], kw["reduction"]))


def convert_kw(kw, convert):
    return {k: (convert(v) if k in ("target", "head") else v) for k, v in kw.items()}


def mp_run(X, layers, kw):
    """The library at 50 digits on exact mpmath copies."""
    mp = attngrad.to_mpmath
    with mpmath.workdps(50):
        return tr.loss_and_gradient(mp(X), converted(layers, mp), **convert_kw(kw, mp))


# --- finite differences at 90 digits -------------------------------------------------------

def assert_fd(X, layers, kw, seed, directions=2):
    """<grad, v> of the library (50 digits) = the directional central difference (90 digits)
    to 1e-40 relative, for random v through every parameter (and the head)."""
    mp = attngrad.to_mpmath
    L, g = mp_run(X, layers, kw)
    grads = dict(g.arrays())
    mlayers = converted(layers, mp)
    leaves = leaves_of(mp(X), mlayers)
    spec = loss_spec(convert_kw(kw, mp))
    if "head" in kw:
        leaves["head"] = spec[1][0]

    def value(lv):
        s = spec if "head" not in lv else ("ce", (lv["head"],) + spec[1][1:])
        return model_loss(lv, mlayers, s)

    rng = np.random.default_rng(seed)
    for _ in range(directions):
        v = {k: mp(dyadic(rng, a.shape)) for k, a in leaves.items()}
        fd = directional(value, leaves, v)
        with mpmath.workdps(50):
            lib = mpmath.fsum(mpmath.fsum((grads[k] * v[k]).reshape(-1)) for k in v)
            assert abs(lib - fd) <= mpmath.mpf(10) ** -40 * max(1, abs(fd)), (lib, fd)
    with mpmath.workdps(90):
        assert abs(L - value(leaves)) <= mpmath.mpf(10) ** -40 * max(1, abs(L))


CONFIGS = layer_configs()


@pytest.mark.parametrize("k", range(0, len(CONFIGS), 2))
def test_finite_differences_every_layer_option(k):
    """Two-layer models cover every layer configuration (consecutive pairs), the loss cycling
    through squared, cross-entropy (sum) and cross-entropy (mean); n = 5, d = 4 (d_h = 1 with
    heads = d)."""
    rng = np.random.default_rng(k)
    n, d = 5, 4
    layers = make_layers(rng, d, CONFIGS[k:k + 2])
    assert_fd(dyadic(rng, (n, d)), layers, make_loss(rng, n, d, LOSSES[(k // 2) % 3]), seed=k)


@pytest.mark.slow
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("k", range(len(CONFIGS)))
def test_finite_differences_every_combination(k, loss):
    """The full product: every layer configuration with every loss (n = 6, d = 4)."""
    rng = np.random.default_rng(1000 + k)
    n, d = 6, 4
    layers = make_layers(rng, d, [CONFIGS[k]])
    assert_fd(dyadic(rng, (n, d)), layers, make_loss(rng, n, d, loss), seed=k, directions=1)


def test_finite_differences_odd_shapes():
    """n = 1 (a causal row sees only itself), d = 1, d = 3 with 3 heads, n = 6 with 2 heads."""
    for n, d, specs, loss, seed in (
            (1, 1, [dict(causal=True, phi="tanh")], "squared", 1),
            (1, 2, [dict(heads="d", residual=True), dict(phi="gelu")], "ce", 2),
            (6, 3, [dict(heads="d", causal=True, phi="relu", mlp_residual=True)], "ce_mean", 3),
            (6, 2, [dict(heads="d", causal=True)] * 3, "squared", 4)):
        rng = np.random.default_rng(seed)
        assert_fd(dyadic(rng, (n, d)), make_layers(rng, d, specs), make_loss(rng, n, d, loss),
                  seed=seed)


HEADS_OF = st.sampled_from(("1", "d"))
FD_SPEC = st.fixed_dictionaries({
    "heads": HEADS_OF, "causal": st.booleans(), "residual": st.booleans(),
    "phi": st.sampled_from((None,) + PHIS), "mlp_residual": st.booleans()}).map(
    lambda s: s if s["phi"] else {**s, "mlp_residual": False})


@settings(max_examples=examples(20), deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 4), specs=st.lists(FD_SPEC, min_size=1, max_size=3),
       kind=st.sampled_from(LOSSES), seed=st.integers(0, 2 ** 32 - 1))
def test_finite_differences_any_shape(n, d, specs, kind, seed):
    """Hypothesis over shapes (n = 1 and d = 1 included, heads 1 or d) and layer stacks: the
    50-digit gradient against 90-digit central differences, 1e-40 relative."""
    rng = np.random.default_rng(seed)
    assert_fd(dyadic(rng, (n, d)), make_layers(rng, d, specs), make_loss(rng, n, d, kind),
              seed=seed, directions=1)


# --- autograd, float64 and float32 ---------------------------------------------------------

def contraction_scale(X, layers, kw):
    """name -> max of |A|^T |B| (or |A| |B|^T) over the final contraction that forms that
    gradient (dL/dW_Q = T^T dQ, dL/dW_g = Z^T dP, dL/dX = dQ W_Q^T + dK W_K^T + dV W_V^T (+ dZ),
    dL/dhead = T_m^T dZ), at 50 digits: by the standard model, rounding that contraction alone
    costs up to gamma_k times it, however much the gradient itself cancels."""
    from attngrad.backend import MpmathNamespace
    from attngrad.transformer import backprop as bp
    from attngrad.transformer.activations import phi_prime
    from attngrad.transformer.model import check_model

    ns, mp = MpmathNamespace(), attngrad.to_mpmath
    out = {}

    def put(name, M):
        out[name] = float(np.max(attngrad.to_float64(M)))

    with mpmath.workdps(50):
        chk = check_model(mp(X), converted(layers, mp))
        T, cache = bp.forward(ns, chk, None, None)
        a = ns.abs
        if "target" in kw:
            dT = T - mp(kw["target"])
        else:
            H = mp(kw["head"])
            _, dT, _ = __import__("attngrad.transformer.losses", fromlist=["x"]).cross_entropy(
                ns, T, H, kw["labels"], kw["reduction"])
            Z = T @ H
            w = ns.exp(Z)
            dZ = w / np.sum(w, axis=1, keepdims=True)
            dZ[np.arange(len(Z)), kw["labels"]] -= 1
            put("head", a(T).T @ a(dZ))
        trace = {}
        bp.backward(ns, chk, cache, dT, None, trace)
        for i, (L, W) in enumerate(zip(chk.layers, chk.weights)):
            c, t = cache[i], trace[i]
            for k, g in (("W_Q", "dQ"), ("W_K", "dK"), ("W_V", "dV")):
                put(f"layers[{i}].{k}", a(c["T"]).T @ a(t[g]))
            if "W_g" in W:
                put(f"layers[{i}].W_g", a(c["Z"]).T @ a(t["dT"] * phi_prime(ns, L.phi, c["P"])))
        t, W = trace[0], chk.weights[0]
        M = a(t["dQ"]) @ a(W["W_Q"]).T + a(t["dK"]) @ a(W["W_K"]).T + a(t["dV"]) @ a(W["W_V"]).T
        put("X", M + a(t["dZ"]) if chk.layers[0].residual else M)
    return out


def worst_error(arrays, ref, scale):
    """The worst error over the model's gradient arrays, each relative to its contraction scale."""
    return max(float(np.max(np.abs(np.asarray(arrays[name], dtype=np.float64) - r)))
               / (scale[name] or 1.0) for name, r in ref.items())


def collapsed(X, layers, spread=1e-3):
    """True if the rows of some layer's input activation T_i coincide to within ``spread`` of
    its largest entry in every column (n >= 2). Averaging layers drive rows together; then the
    query and key gradients cancel to that level and follow the last bits of T_i, and the error
    of a float implementation on that instance is luck (the 50-digit tests cover them)."""
    if X.shape[0] < 2:
        return False
    for i in range(len(layers)):
        T = tr.forward(X, layers[:i]) if i else X
        width = np.max(T, axis=0) - np.min(T, axis=0)
        if np.max(width) < spread * max(np.max(np.abs(T)), 1e-300):
            return True
    return False


FLOATS = {np.float64: U64, np.float32: U32}  # dtype -> unit roundoff


def errors_against_autograd(rng, n, d, specs, kind):
    """dtype -> (ours, autograd's) worst relative errors (:func:`worst_error`) against the
    50-digit result (computed once for every dtype of FLOATS), or None for a collapsed model."""
    X = dyadic(rng, (n, d))
    layers = make_layers(rng, d, specs)
    kw = make_loss(rng, n, d, kind)
    if collapsed(X, layers):
        return None
    _, ref = mp_run(X, layers, kw)
    ref = {name: attngrad.to_float64(a) for name, a in ref.arrays()}
    scale = contraction_scale(X, layers, kw)
    scale = {name: max(scale[name], float(np.max(np.abs(r)))) for name, r in ref.items()}
    out = {}
    for dtype in FLOATS:
        cast = (lambda a: np.asarray(a, dtype=dtype))
        _, got = tr.loss_and_gradient(cast(X), converted(layers, cast), **convert_kw(kw, cast))
        got = dict(got.arrays())
        assert all(g.dtype == dtype for g in got.values())
        _, base = oracle.loss_and_grads(X, layers, dtype=dtype, **kw)
        out[dtype] = worst_error(got, ref, scale), worst_error(base, ref, scale)
    return out


def random_model(rng):
    """(n, d, specs, loss) of a random small model: n <= 6, d <= 4, 1 to 3 layers."""
    n, d = int(rng.integers(1, 7)), int(rng.integers(1, 5))
    specs = []
    for _ in range(int(rng.integers(1, 4))):
        phi = (None,) + PHIS
        spec = dict(heads=("1", "d")[rng.integers(2)], causal=bool(rng.integers(2)),
                    residual=bool(rng.integers(2)), phi=phi[rng.integers(len(phi))])
        spec["mlp_residual"] = bool(spec["phi"]) and bool(rng.integers(2))
        specs.append(spec)
    return n, d, specs, LOSSES[rng.integers(3)]


def test_as_accurate_as_autograd():
    """On 60 random small models (collapsed ones left out), in float64 and in float32: the
    median and the 90th percentile of the library's worst relative error are at most 1.5 and
    2 times autograd's (plus 16 u).
    The comparison is of distributions: on one tiny instance either implementation can be the
    luckier by a factor of 10 (both compute the same quantities; given the same float inputs
    their attention backward passes err alike)."""
    rng = np.random.default_rng(2024)
    pairs = []
    while len(pairs) < 60:
        n, d, specs, kind = random_model(rng)
        out = errors_against_autograd(np.random.default_rng(rng.integers(2 ** 32)), n, d, specs,
                                      kind)
        if out is not None:
            pairs.append(out)
    failed = []
    for dtype, u in FLOATS.items():
        ours, theirs = np.array([p[dtype] for p in pairs]).T
        for q, factor in ((0.5, 1.5), (0.9, 2.0)):
            a, b = np.quantile(ours, q), np.quantile(theirs, q)
            if not a <= factor * b + 16 * u:
                failed.append(f"{np.dtype(dtype)} quantile {q}: {a / u:.3g} u against "
                              f"autograd's {b / u:.3g} u")
    assert not failed, failed


def test_n48_against_autograd():
    """A larger case, where the worst error over many entries is a stable statistic: n = 48,
    d = 8, causal with 2 heads and 4 heads: at most 3 times autograd's plus 16 u, in float64
    and in float32."""
    specs = [dict(heads=2, causal=True, residual=True, phi="gelu", mlp_residual=True),
             dict(heads=4, phi="tanh", residual=True)]
    out = errors_against_autograd(np.random.default_rng(7), 48, 8, specs, "ce")
    failed = {np.dtype(dtype).name: (ours / FLOATS[dtype], theirs / FLOATS[dtype])
              for dtype, (ours, theirs) in out.items() if not ours <= 3 * theirs + 16 * FLOATS[dtype]}
    assert not failed, failed


def test_n256_agrees_with_autograd():
    """n = 256, d = 8, 2 heads, 2 layers, causal: every gradient within 1e-9 of autograd's,
    relative to its largest entry."""
    rng = np.random.default_rng(8)
    n, d = 256, 8
    specs = [dict(heads=2, causal=True, residual=True, phi="gelu", mlp_residual=True)] * 2
    X, layers, kw = dyadic(rng, (n, d)), make_layers(rng, d, specs), make_loss(rng, n, d, "ce")
    L, got = tr.loss_and_gradient(X, layers, **kw)
    Lb, base = oracle.loss_and_grads(X, layers, **kw)
    assert abs(L - Lb) <= 1e-9 * abs(Lb)
    for name, g in got.arrays():
        assert np.max(np.abs(g - base[name])) <= 1e-9 * np.max(np.abs(base[name])), name


# --- blocks, number systems, the first paper ----------------------------------------------

def test_blocks_agree_with_one_block():
    """Row blocks of 1, 3, 7 rows (n = 10, not a multiple) equal one block: to 1e-45 at 50
    digits, and in float64 their worst relative error is within 3 times one block's."""
    rng = np.random.default_rng(9)
    n, d = 10, 4
    specs = [dict(heads=2, causal=True, residual=True, phi="relu", mlp_residual=True),
             dict(heads=1, causal=False, phi="gelu")]
    X, layers, kw = dyadic(rng, (n, d)), make_layers(rng, d, specs), make_loss(rng, n, d, "ce")
    mp = attngrad.to_mpmath
    _, ref = mp_run(X, layers, kw)
    ref64 = {name: attngrad.to_float64(a) for name, a in ref.arrays()}
    scale = contraction_scale(X, layers, kw)
    one = worst_error(dict(tr.loss_and_gradient(X, layers, **kw)[1].arrays()), ref64, scale)
    for block in (1, 3, 7):
        with mpmath.workdps(50):
            _, g = tr.loss_and_gradient(mp(X), converted(layers, mp), block=block,
                                        **convert_kw(kw, mp))
            for (name, a), (_, b) in zip(g.arrays(), ref.arrays()):
                assert max(abs(x - y) for x, y in zip(a.reshape(-1), b.reshape(-1))) <= \
                    mpmath.mpf(10) ** -45 * max(1, max(abs(y) for y in b.reshape(-1))), name
        _, g64 = tr.loss_and_gradient(X, layers, block=block, **kw)
        assert worst_error(dict(g64.arrays()), ref64, scale) <= 3 * one + 16 * U64


def test_forward_matches_loss():
    """forward() is the T_m the losses see: 0.5||forward - target||^2 = the squared loss."""
    rng = np.random.default_rng(10)
    X = dyadic(rng, (7, 4))
    layers = make_layers(rng, 4, [dict(heads=2, causal=True, phi="tanh", residual=True)])
    target = dyadic(rng, (7, 4))
    T = tr.forward(X, layers)
    L, _ = tr.loss_and_gradient(X, layers, target=target)
    assert L == pytest.approx(0.5 * np.sum((T - target) ** 2), rel=1e-14)
    assert np.max(np.abs(T - oracle.forward(X, [[L_.W_Q, L_.W_K, L_.W_V, L_.W_g]
                                                for L_ in layers], layers))) <= 1e-14


def test_gradient_with_given_dT_is_linear():
    """gradient(X, layers, dT) is the vector-Jacobian product: linear in dT, and for
    dT = T_m - target the squared loss's gradient."""
    rng = np.random.default_rng(11)
    n, d = 6, 4
    X = dyadic(rng, (n, d))
    layers = make_layers(rng, d, [dict(heads=2, causal=True, phi="gelu", mlp_residual=True)] * 2)
    target = dyadic(rng, (n, d))
    _, ref = tr.loss_and_gradient(X, layers, target=target)
    g = tr.gradient(X, layers, tr.forward(X, layers) - target)
    for (name, a), (_, b) in zip(g.arrays(), ref.arrays()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    A, B = dyadic(rng, (n, d)), dyadic(rng, (n, d))
    gA, gB, gAB = (tr.gradient(X, layers, D) for D in (A, B, 2 * A - B))
    for (name, a), (_, b), (_, ab) in zip(gA.arrays(), gB.arrays(), gAB.arrays()):
        np.testing.assert_allclose(ab, 2 * a - b, rtol=0, atol=64 * U64 * np.max(np.abs(ab)) + 1e-300,
                                   err_msg=name)


def test_one_layer_is_definition_1_2():
    """LSS24 Lemma T.5 (ours) in float64: dL/dW_Q = G W_K, dL/dW_K = G^T W_Q, dL/dW_V = dL/dY
    with G = attngrad.gradient(X, X, X, E, W_Q W_K^T, W_V) (scale 1/d)."""
    rng = np.random.default_rng(12)
    n, d = 9, 3
    X, WQ, WK, WV, E = (dyadic(rng, s) for s in ((n, d), (d, d), (d, d), (d, d), (n, d)))
    L, g = tr.loss_and_gradient(X, [tr.Layer(WQ, WK, WV)], target=E)
    G = attngrad.gradient(X, X, X, E, WQ @ WK.T, WV)
    GY = attngrad.gradient(X, X, X, E, WQ @ WK.T, WV, wrt="Y")
    assert L == pytest.approx(float(attngrad.loss(X, X, X, E, WQ @ WK.T, WV)), rel=1e-14)
    scale = np.max(np.abs(G)) * np.max(np.abs(WQ) + np.abs(WK))
    for got, want in ((g.layers[0]["W_Q"], G @ WK), (g.layers[0]["W_K"], G.T @ WQ),
                      (g.layers[0]["W_V"], GY)):
        np.testing.assert_allclose(got, want, rtol=0, atol=64 * U64 * scale)


def test_mpmath_results_are_mpf_and_exact_inputs_kept():
    rng = np.random.default_rng(13)
    X = attngrad.to_mpmath(dyadic(rng, (3, 2)))
    layers = converted(make_layers(rng, 2, [dict(heads="d", phi="gelu")]), attngrad.to_mpmath)
    with mpmath.workdps(30):
        L, g = tr.loss_and_gradient(X, layers, target=attngrad.to_mpmath(dyadic(rng, (3, 2))))
    assert isinstance(L, mpmath.mpf)
    for name, a in g.arrays():
        assert a.dtype == object and all(isinstance(v, mpmath.mpf) for v in a.reshape(-1)), name


def test_cupy_code_path(cupy_stand_in):
    """The CuPy path (on the CPU stand-in): device arrays in, device arrays out, the same numbers
    as numpy (the stand-in computes with numpy), every activation and both losses."""
    rng = np.random.default_rng(14)
    n, d = 6, 4
    specs = [dict(heads=2, causal=True, residual=True, phi=phi, mlp_residual=True)
             for phi in PHIS]
    X, layers = dyadic(rng, (n, d)), make_layers(rng, d, specs)
    dev = converted(layers, cupy_stand_in)
    for kind in ("squared", "ce"):
        kw = make_loss(rng, n, d, kind)
        L, g = tr.loss_and_gradient(X, layers, **kw)
        Ld, gd = tr.loss_and_gradient(cupy_stand_in(X), dev, **convert_kw(kw, cupy_stand_in))
        assert float(Ld) == pytest.approx(float(L), rel=1e-14)
        for (name, a), (_, b) in zip(g.arrays(), gd.arrays()):
            assert type(b).__module__ == "cupy", name
            np.testing.assert_allclose(b.get(), a, rtol=1e-13, atol=1e-15, err_msg=name)
    T = tr.forward(cupy_stand_in(X), dev)
    assert type(T).__module__ == "cupy"


@pytest.mark.gpu
def test_gpu_matches_numpy():
    import cupy

    rng = np.random.default_rng(15)
    n, d = 512, 16
    specs = [dict(heads=4, causal=True, residual=True, phi="gelu", mlp_residual=True)] * 2
    X, layers, kw = dyadic(rng, (n, d)), make_layers(rng, d, specs), make_loss(rng, n, d, "ce")
    _, g = tr.loss_and_gradient(X, layers, **kw)
    _, gd = tr.loss_and_gradient(cupy.asarray(X), converted(layers, cupy.asarray),
                                 **convert_kw(kw, cupy.asarray))
    for (name, a), (_, b) in zip(g.arrays(), gd.arrays()):
        np.testing.assert_allclose(cupy.asnumpy(b), a, rtol=1e-10, atol=1e-12, err_msg=name)


# --- bad input -------------------------------------------------------------------------------

def _ok_model(rng=None, n=4, d=4):
    rng = rng or np.random.default_rng(0)
    return dyadic(rng, (n, d)), make_layers(rng, d, [dict(heads=2, phi="tanh")] * 2)


@pytest.mark.parametrize("bad, exc, words", [
    (lambda X, Ls: (X, [Ls[0], tr.Layer(np.ones((4, 3)), Ls[1].W_K, Ls[1].W_V)]), ValueError,
     "layers[1].W_Q"),
    (lambda X, Ls: (X, [Ls[0], tr.Layer(Ls[1].W_Q, Ls[1].W_K, np.ones((5, 5)))]), ValueError,
     "layers[1].W_V"),
    (lambda X, Ls: (X, [tr.Layer(Ls[0].W_Q, Ls[0].W_K, Ls[0].W_V, heads=3), Ls[1]]), ValueError,
     "layers[0].heads"),
    (lambda X, Ls: (np.ones((4, 3)), Ls), ValueError, "X"),
    (lambda X, Ls: (np.where(np.eye(4) > 0, np.nan, X), Ls), ValueError, "X"),
    (lambda X, Ls: (X, [Ls[0], tr.Layer(Ls[1].W_Q, np.full((4, 4), np.inf), Ls[1].W_V)]),
     ValueError, "layers[1].W_K"),
    (lambda X, Ls: (attngrad.to_mpmath(X), Ls), TypeError, "layers[0].W_Q=numpy"),
    (lambda X, Ls: (X, Ls[0]), TypeError, "layers"),
    (lambda X, Ls: (X, []), ValueError, "layers"),
    (lambda X, Ls: (X, [Ls[0], "not a layer"]), TypeError, "layers[1]"),
])
def test_bad_model_named(bad, exc, words):
    X, Ls = _ok_model()
    Xb, Lb = bad(X, Ls)
    with pytest.raises(exc) as info:
        tr.forward(Xb, Lb)
    assert words in str(info.value)
    with pytest.raises(exc) as info:
        tr.gradient(Xb, Lb, np.ones((4, 4)))
    assert words in str(info.value)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(phi="swish"), ValueError, "phi"),
    (dict(phi="relu"), ValueError, "phi"),                    # needs W_g
    (dict(mlp_residual=True), ValueError, "mlp_residual"),    # needs W_g
    (dict(heads=0), ValueError, "heads"),
    (dict(heads=2.0), TypeError, "heads"),
    (dict(causal=1), TypeError, "causal"),
    (dict(residual="yes"), TypeError, "residual"),
])
def test_bad_layer_named(kwargs, exc, words):
    W = np.eye(4)
    with pytest.raises(exc, match=words):
        tr.Layer(W, W, W, **kwargs)


def test_bad_loss_arguments_named():
    X, Ls = _ok_model()
    head = np.ones((4, 5))
    cases = [
        (dict(), ValueError, "target, labels"),
        (dict(target=np.ones((4, 4)), labels=[0, 1, 2, 3], head=head), ValueError, "target, labels"),
        (dict(labels=[0, 1, 2, 3]), ValueError, "head"),
        (dict(labels=[0, 1, 2, 5], head=head), ValueError, "labels"),
        (dict(labels=[0, 1, 2, -1], head=head), ValueError, "labels"),
        (dict(labels=[0, 1, 2], head=head), ValueError, "labels"),
        (dict(labels=[0.0, 1, 2, 3], head=head), TypeError, "labels"),
        (dict(labels=[0, 1, 2, 3], head=np.ones((3, 5))), ValueError, "head"),
        (dict(target=np.ones((4, 3))), ValueError, "target"),
        (dict(target=np.ones((4, 4)), head=head), ValueError, "head"),
        (dict(labels=[0, 1, 2, 3], head=head, reduction="max"), ValueError, "reduction"),
        (dict(target=np.ones((4, 4)), method="fastest"), ValueError, "method"),
        (dict(target=np.ones((4, 4)), block=0), ValueError, "block"),
        (dict(target=attngrad.to_mpmath(np.ones((4, 4)))), TypeError, "target=mpmath"),
    ]
    for kw, exc, words in cases:
        with pytest.raises(exc) as info:
            tr.loss_and_gradient(X, Ls, **kw)
        assert words in str(info.value), (kw, str(info.value))
    with pytest.raises(ValueError, match="dT"):
        tr.gradient(X, Ls, np.ones((4, 3)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy reports the overflow too
def test_overflow_is_an_error_not_nan():
    X = np.full((3, 2), 1e200)
    layers = [tr.Layer(np.eye(2), np.eye(2), np.eye(2), W_g=np.eye(2), phi="tanh")]
    with pytest.raises(ValueError, match="overflow"):
        tr.gradient(X, layers, np.ones((3, 2)))


def test_inputs_are_not_modified():
    rng = np.random.default_rng(16)
    n, d = 6, 4
    X = dyadic(rng, (n, d))
    layers = make_layers(rng, d, [dict(heads=2, causal=True, residual=True, phi="relu",
                                       mlp_residual=True)] * 2)
    kw = make_loss(rng, n, d, "ce")
    before = [a.copy() for a in [X, kw["head"], kw["labels"]]
              + [w for L in layers for w in L.weights.values()]]
    tr.loss_and_gradient(X, layers, block=2, **kw)
    tr.gradient(X, layers, np.ones((n, d)), block=3)
    after = [X, kw["head"], kw["labels"]] + [w for L in layers for w in L.weights.values()]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
