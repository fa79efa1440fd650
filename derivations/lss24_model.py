"""LSS24's model, exact: the closed forms behind attngrad.transformer as statements of ours.

LSS24 (Liang, Sha, Shi, Song, Zhou) states its gradients for the model it approximates, but the
exact backward pass attngrad.transformer computes (multi-head, causal mask, residual, MLP with
any of five activations, two losses, every weight) is our own derivation. Each closed form is a
statement with checked steps:

* Lemma T.1 (ours): the masked row-softmax's backward pass is Definition C.5's p with q = dL/df;
* Lemma T.2 (ours): one head's backward pass (dL/dQ = s p K, dL/dK = s p^T Q, dL/dV = f^T c)
  and its computation by blocks of rows;
* Lemma T.3 (ours): one layer's backward pass (MLP with phi', residuals, the projections);
* Lemma T.4 (ours): the whole model (every layer, every weight, the input) for both losses;
* Lemma T.5 (ours): the one-layer case is Definition 1.2 of the first paper;
* Lemma T.6 (ours): the built-in losses' gradients.

Checks: ``symbolic`` steps differentiate the definition with SymPy at small sizes (exp kept
symbolic as in derivations/sC_quadratic.py: only exp' = exp is used, and exponentials become
independent positive symbols before the rational functions are compared); the library's own
functions run on SymPy object arrays (attngrad.transformer's per-block functions take the
namespace). ``mpmath`` steps compare the library at 50 digits with central finite differences of
an independent forward pass (written here with plain loops) at 90 digits, step 2^-100, along
random directions through every parameter at once and entry by entry on one instance.
"""
from __future__ import annotations

import mpmath
import numpy as np
import sympy

import attngrad
from attngrad import transformer as tr
from attngrad.backend import MpmathNamespace
from attngrad.transformer import activations as act
from attngrad.transformer import attention as attn
from attngrad.transformer import backprop as bp
from attngrad.transformer import losses

from .core import Statement, Step
from .model_loops import FD_DPS, directional, leaves_of, loss_loops, model_loss
from .sC_quadratic import Ex, SympyNamespace

PAPER = "LSS24"
MPNS = MpmathNamespace()


class SymNS(SympyNamespace):
    """SymPy object arrays with the functions the model's backward pass uses."""

    def _apply(self, fn, a):
        return np.asarray(np.frompyfunc(fn, 1, 1)(a), dtype=object)

    def tanh(self, a):
        return self._apply(sympy.tanh, a)

    def erf(self, a):
        return self._apply(sympy.erf, a)

    def sqrt(self, a):
        return self._apply(sympy.sqrt, a)

    def pi(self):
        return sympy.pi

    def row_argmax(self, a):
        """Any column: the symbolic row sums that zero_row_sums subtracts are exactly 0."""
        return np.zeros(a.shape[0], dtype=int)

    def zeros(self, shape):
        out = np.empty(shape, dtype=object)
        out.fill(sympy.Integer(0))
        return out

    def ones(self, shape):
        out = np.empty(shape, dtype=object)
        out.fill(sympy.Integer(1))
        return out


SNS = SymNS()


# ---------------------------------------------------------------------------
# symbolic helpers


def _syms(name, rows, cols):
    return np.array([[sympy.Symbol(f"{name}_{i + 1}{j + 1}", real=True) for j in range(cols)]
                     for i in range(rows)], dtype=object)


def _canon(*arrays, exp_symbols=True):
    """Each Ex(...) atom -> a positive symbol (the same atom, the same symbol), then cancel:
    sound, since only exp' = exp was used and the symbols are then independent. With
    ``exp_symbols=False`` (activations, where SymPy's own erf' brings exp) Ex is exp."""
    atoms = set()
    for a in arrays:
        for e in np.asarray(a, dtype=object).reshape(-1):
            atoms |= sympy.sympify(e).atoms(Ex)
    rep = {a: (sympy.Symbol(f"U{k}", positive=True) if exp_symbols else sympy.exp(a.args[0]))
           for k, a in enumerate(sorted(atoms, key=sympy.default_sort_key))}
    out = []
    for a in arrays:
        flat = [sympy.cancel(sympy.sympify(e).xreplace(rep))
                for e in np.asarray(a, dtype=object).reshape(-1)]
        out.append(sympy.Matrix(np.asarray(a).shape[0], int(np.prod(np.asarray(a).shape[1:])),
                                flat))
    return out


def _softmax_def(S, causal):
    """f of LSS24 Definitions 1.2 / I.5 from the definition: f_ij = exp(S_ij) / sum_{k kept}
    exp(S_ik), 0 where j > i under the causal mask."""
    n, m = S.shape
    f = np.empty((n, m), dtype=object)
    for i in range(n):
        kept = [j for j in range(m) if not causal or j <= i]
        den = sum((Ex(S[i, k]) for k in kept), sympy.Integer(0))
        for j in range(m):
            f[i, j] = Ex(S[i, j]) / den if j in kept else sympy.Integer(0)
    return f


def _grad(phi, params):
    """d phi / d params, entry by entry, as an object array of params' shape."""
    out = np.empty(params.shape, dtype=object)
    for idx in np.ndindex(params.shape):
        out[idx] = sympy.diff(phi, params[idx])
    return out


def _sym_cases(build, sizes, exp_symbols=True):
    def compute():
        cases = []
        for size in sizes:
            for label, lhs, rhs in build(*size):
                L, R = _canon(lhs, rhs, exp_symbols=exp_symbols)
                cases.append((label, L, R))
        return cases
    return compute


# ---------------------------------------------------------------------------
# Lemma T.1: the masked softmax


def _t1_sym(n, causal):
    S, G = _syms("S", n, n), _syms("G", n, n)
    f = _softmax_def(S, causal)
    phi = sum((G[i, j] * f[i, j] for i in range(n) for j in range(n)), sympy.Integer(0))
    lib = attngrad.formulas.p(SNS, f, G)          # Definition C.5 with q = G
    yield f"n={n},causal={causal}", _grad(phi, S), lib


def _rand_dyadic(rng, shape, bound=1.0, bits=10):
    """Entries k / 2^bits in [-bound, bound] as mpf (exact in every number system)."""
    top = int(bound * 2 ** bits)
    ints = rng.integers(-top, top + 1, size=shape)
    out = np.empty(shape, dtype=object)
    out.reshape(-1)[:] = [mpmath.ldexp(mpmath.mpf(int(k)), -bits) for k in ints.reshape(-1)]
    return out


def _softmax_loops(S, causal):
    """f at the working precision, by plain loops from the definition (no max subtracted)."""
    n, m = S.shape
    f = np.empty((n, m), dtype=object)
    for i in range(n):
        kept = [j for j in range(m) if not causal or j <= i]
        den = mpmath.fsum(mpmath.exp(S[i, k]) for k in kept)
        for j in range(m):
            f[i, j] = mpmath.exp(S[i, j]) / den if j in kept else mpmath.mpf(0)
    return f


T1_MP = ((12, False, 1.0, 1), (12, True, 1.0, 2), (9, True, 400.0, 3), (16, True, 8.0, 4))


def _t1_lib_vs_def():
    cases = []
    for n, causal, bound, seed in T1_MP:
        S = _rand_dyadic(np.random.default_rng(seed), (n, n), bound)
        with mpmath.workdps(50):
            keep = attn.causal_keep(MPNS, 0, n) if causal else None
            lib = attn.softmax_rows(MPNS, S, keep)
            ref = _softmax_loops(S, causal)
        cases.append((f"n={n},causal={causal},|S|<={bound:g}", lib, ref))
    return cases


def _fd_entries(value, leaves, name):
    """Central differences of value(leaves) in every entry of leaves[name] (90 digits)."""
    arr = leaves[name]
    fd = np.empty(arr.shape, dtype=object)
    for idx in np.ndindex(arr.shape):
        unit = MPNS.zeros(arr.shape)
        unit[idx] = mpmath.mpf(1)
        fd[idx] = directional(value, leaves, {name: unit})
    return fd


def _t1_fd():
    """Central differences of phi(S) = <G, f(S)> at 90 digits vs the library's p."""
    cases = []
    for n, causal, bound, seed in T1_MP[:2]:
        rng = np.random.default_rng(seed + 100)
        S, G = _rand_dyadic(rng, (n, n), bound), _rand_dyadic(rng, (n, n))
        with mpmath.workdps(50):
            keep = attn.causal_keep(MPNS, 0, n) if causal else None
            p = attngrad.formulas.p(MPNS, attn.softmax_rows(MPNS, S, keep), G)

        def value(leaves, G=G, causal=causal):
            return mpmath.fsum(G.reshape(-1) * _softmax_loops(leaves["S"], causal).reshape(-1))

        cases.append((f"n={n},causal={causal}", p, _fd_entries(value, {"S": S}, "S")))
    return cases


LEMMA_T1 = Statement(
    id="LSS24 Lemma T.1 (ours)",
    paper=PAPER,
    summary="masked row-softmax backward: d<G, f(S)>/dS = f o G - diag((f o G) 1) f (Def. C.5's "
            "p with q = G); masked entries have f = p = 0",
    printed=("Ours (LSS24 Definition I.5 defines the causal mask; its gradients are stated for "
             "the unmasked softmax in the first paper's Lemma C.7). For f = row-softmax(S) with "
             "row i restricted to the kept columns (j <= i under the causal mask, f_ij = 0 "
             "elsewhere) and any G, d<G, f>/dS_ij = f_ij (G_ij - sum_k f_ik G_ik), i.e. p of "
             "Definition C.5 with q = G."),
    steps=[
        Step("derivative (symbolic)", "SymPy's d<G, f(S)>/dS of the definition equals "
             "attngrad.formulas.p(f, G) (n = 2, 3; with and without the mask)", "symbolic",
             _sym_cases(_t1_sym, [(n, c) for n in (2, 3) for c in (False, True)])),
        Step("masked softmax (mpmath)", "attngrad.transformer's masked softmax (row maximum "
             "subtracted, masked entries filled) equals the definition by loops, at 50 digits, "
             "scores up to 400", "mpmath", _t1_lib_vs_def),
        Step("derivative (finite differences)", "the library's p equals central differences "
             "of <G, f(S)> at 90 digits (step 2^-100), every entry of S", "mpmath", _t1_fd),
    ],
)


# ---------------------------------------------------------------------------
# Lemma T.2: one head


def _t2_sym(n, dh, causal):
    Q, K, V, c = (_syms(k, n, dh) for k in ("Q", "K", "V", "c"))
    s = sympy.Symbol("s", positive=True)
    S = np.array([[sympy.expand(s * sum(Q[i, a] * K[j, a] for a in range(dh)))
                   for j in range(n)] for i in range(n)], dtype=object)
    f = _softmax_def(S, causal)
    O = f @ V
    phi = sum((c[i, a] * O[i, a] for i in range(n) for a in range(dh)), sympy.Integer(0))
    dQ, dK, dV = attn.head_backward_block(SNS, f, Q, K, V, c, s)
    tag = f"n={n},d_h={dh},causal={causal}"
    yield tag + ",dQ", _grad(phi, Q), dQ
    yield tag + ",dK", _grad(phi, K), dK
    yield tag + ",dV", _grad(phi, V), dV


T2_SIZES = [(n, dh, c) for n, dh in ((2, 1), (2, 2), (3, 1)) for c in (False, True)]


def _t2_blocks():
    """attention.backward by blocks of 1, 2, 5 rows (and n not a multiple) equals one block."""
    cases = []
    for n, heads, causal, seed in ((7, 2, True, 5), (7, 1, False, 6), (12, 3, True, 7)):
        rng = np.random.default_rng(seed)
        d = 2 * heads
        Q, K, V, dO = (_rand_dyadic(rng, (n, d)) for _ in range(4))
        with mpmath.workdps(50):
            whole = attn.backward(MPNS, Q, K, V, dO, heads, causal, mpmath.mpf(1) / 2, n)
            for rows in (1, 2, 5):
                parts = attn.backward(MPNS, Q, K, V, dO, heads, causal, mpmath.mpf(1) / 2, rows)
                cases.append((f"n={n},heads={heads},causal={causal},rows={rows}",
                              np.concatenate(parts, axis=1), np.concatenate(whole, axis=1)))
    return cases


LEMMA_T2 = Statement(
    id="LSS24 Lemma T.2 (ours)",
    paper=PAPER,
    summary="one head: with c = dL/dO, q = c V^T, p = f o q - diag(r) f: dL/dQ = s p K, "
            "dL/dK = s p^T Q, dL/dV = f^T c; by blocks of rows",
    printed=("Ours (the first paper's Lemma C.7 for A1 X -> Q, A2 -> K, h -> V, c -> dL/dO). "
             "For O = f V with f = row-softmax(s Q K^T) (causal or not) and c = dL/dO: "
             "dL/dQ = s p K, dL/dK = s p^T Q, dL/dV = f^T c, where q = c V^T (Definition C.3) "
             "and p = f o q - diag((f o q) 1) f (Definition C.5). Row block b contributes "
             "dL/dQ_b = s p_b K, s p_b^T Q_b to dL/dK and f_b^T c_b to dL/dV."),
    steps=[
        Step("dQ, dK, dV (symbolic)", "SymPy's derivatives of <c, f V> with respect to Q, K, "
             "V equal attngrad.transformer.attention.head_backward_block (symbolic s; n <= 3, "
             "d_h <= 2; with and without the mask)", "symbolic", _sym_cases(_t2_sym, T2_SIZES)),
        Step("by blocks (mpmath)", "the sum over row blocks (1, 2, 5 rows; n = 7, 12; causal "
             "tiles of rows x r1) equals the one-block result at 50 digits", "mpmath",
             _t2_blocks),
    ],
)


class ModelCase:
    """One model instance: X, the layers (mpf weights), a loss; the library's gradient at 50
    digits and finite differences of derivations.model_loops.forward_loops at 90."""

    def __init__(self, label, n, d, specs, loss, seed, bound=0.5):
        rng = np.random.default_rng(seed)
        self.label = label
        self.X = _rand_dyadic(rng, (n, d), 1.0)
        self.layers = []
        for spec in specs:
            W = [_rand_dyadic(rng, (d, d), bound) for _ in range(3)]
            Wg = _rand_dyadic(rng, (d, d), bound) if spec.get("mlp") else None
            self.layers.append(tr.Layer(*W, W_g=Wg, phi=spec.get("phi", "identity"),
                                        heads=spec.get("heads", 1),
                                        causal=spec.get("causal", False),
                                        residual=spec.get("residual", False),
                                        mlp_residual=spec.get("mlp_residual", False)))
        if loss == "squared":
            self.loss = ("squared", _rand_dyadic(rng, (n, d), 1.0))
        else:
            vocab = 3
            labels = rng.integers(0, vocab, size=n)
            self.loss = ("ce", (_rand_dyadic(rng, (d, vocab), 1.0), labels, loss[3:] or "sum"))
        self.leaves = leaves_of(self.X, self.layers)

    def library(self):
        with mpmath.workdps(50):
            kind, data = self.loss
            if kind == "squared":
                return tr.loss_and_gradient(self.X, self.layers, target=data)
            head, labels, reduction = data
            return tr.loss_and_gradient(self.X, self.layers, labels=labels, head=head,
                                        reduction=reduction)

    def value(self, leaves=None):
        return model_loss(self.leaves if leaves is None else leaves, self.layers, self.loss)

    def directional(self, direction):
        """Central difference of L along ``direction`` at 90 digits."""
        return directional(self.value, self.leaves, direction)


def _directions(case, count, seed):
    rng = np.random.default_rng(seed)
    return [{name: _rand_dyadic(rng, a.shape, 1.0) for name, a in case.leaves.items()}
            for _ in range(count)]


def _fd_directional(cases, count=2):
    """<grad L, v> from the library (50 digits) vs the directional central difference, for
    random directions v through every parameter at once."""
    def compute():
        out = []
        for k, case in enumerate(cases):
            L, g = case.library()
            grads = dict(g.arrays())
            for j, v in enumerate(_directions(case, count, 1000 + k)):
                with mpmath.workdps(50):
                    lib = mpmath.fsum(mpmath.fsum((grads[name] * v[name]).reshape(-1))
                                      for name in v)
                out.append((f"{case.label}, direction {j}", lib, case.directional(v)))
            with mpmath.workdps(FD_DPS):
                ref = case.value()
            out.append((f"{case.label}, loss value", L, ref))
        return out
    return compute


def _fd_every_entry(case):
    """Every entry of every gradient vs its own central difference (one instance)."""
    def compute():
        _, g = case.library()
        return [(f"{case.label}: {name}", lib, _fd_entries(case.value, case.leaves, name))
                for name, lib in g.arrays()]
    return compute


# ---------------------------------------------------------------------------
# Lemma T.3: one layer


def _t3_phi_sym():
    """phi' of the library (run on SymPy arrays) = SymPy's derivative of the textbook phi, and
    the library's phi = the textbook phi."""
    x = sympy.Symbol("x", real=True)
    xs = np.array([[x]], dtype=object)
    k = sympy.sqrt(2 / sympy.pi)
    textbook = {
        "identity": x,
        "tanh": sympy.tanh(x),
        "gelu": x * (1 + sympy.erf(x / sympy.sqrt(2))) / 2,
        "gelu_tanh": x * (1 + sympy.tanh(k * (x + sympy.Rational(44715, 10 ** 6) * x ** 3))) / 2,
    }
    cases = []
    for name, phi in textbook.items():
        for what, lib, ref in (("phi", act.phi(SNS, name, xs), phi),
                               ("phi'", act.phi_prime(SNS, name, xs), sympy.diff(phi, x))):
            L, R = _canon(lib, np.array([[ref]], dtype=object), exp_symbols=False)
            cases.append((f"{name}: {what}", L, R))
    return cases


def _t3_relu_exact():
    """relu and relu' at exact rationals either side of 0 (and 0 itself: phi' = 0 there)."""
    pts = [sympy.Rational(v) for v in ("-3", "-1/1024", "0", "1/1024", "5/2")]
    xs = np.array([pts], dtype=object)
    lib, dlib = act.phi(SNS, "relu", xs)[0], act.phi_prime(SNS, "relu", xs)[0]
    return [(f"x={p}", [lib[i], dlib[i]], [max(p, 0), 1 if p > 0 else 0])
            for i, p in enumerate(pts)]


def _t3_mlp_sym(d, name, mlp_residual):
    Z, Wg, dT = _syms("Z", 2, d), _syms("Wg", d, d), _syms("g", 2, d)
    P = Z @ Wg
    G = act.phi(SNS, name, P)
    Tn = Z + G if mlp_residual else G
    phi = sum((dT[i, a] * Tn[i, a] for i in range(2) for a in range(d)), sympy.Integer(0))
    dZ, dWg = bp.mlp_backward(SNS, name, Wg, Z, P, dT, mlp_residual)
    tag = f"d={d},{name},mlp_residual={mlp_residual}"
    yield tag + ",dZ", _grad(phi, Z), dZ
    yield tag + ",dW_g", _grad(phi, Wg), dWg


def _t3_proj_sym(d):
    T, dQ, dK, dV = (_syms(k, 2, d) for k in ("T", "a", "b", "c"))
    W = {k: _syms(k, d, d) for k in ("W_Q", "W_K", "W_V")}
    Q, K, V = T @ W["W_Q"], T @ W["W_K"], T @ W["W_V"]
    phi = sum((dQ[i, a] * Q[i, a] + dK[i, a] * K[i, a] + dV[i, a] * V[i, a]
               for i in range(2) for a in range(d)), sympy.Integer(0))
    dT, gQ, gK, gV = bp.projections_backward(SNS, T, W, dQ, dK, dV)
    yield f"d={d},dT", _grad(phi, T), dT
    for k, g in (("W_Q", gQ), ("W_K", gK), ("W_V", gV)):
        yield f"d={d},d{k}", _grad(phi, W[k]), g


ONE_LAYER = [
    ModelCase("1 layer, 2 heads, causal, residual, gelu MLP with residual", 5, 4,
              [dict(heads=2, causal=True, residual=True, mlp=True, phi="gelu",
                    mlp_residual=True)], "squared", 21),
    ModelCase("1 layer, tanh MLP, no residuals", 4, 3,
              [dict(mlp=True, phi="tanh")], "squared", 22),
    ModelCase("1 layer, relu MLP, residual", 5, 2,
              [dict(residual=True, mlp=True, phi="relu", mlp_residual=True)], "squared", 23),
    ModelCase("1 layer, 3 heads (d_h = 1), causal, gelu_tanh MLP", 4, 3,
              [dict(heads=3, causal=True, mlp=True, phi="gelu_tanh")], "squared", 24),
]


LEMMA_T3 = Statement(
    id="LSS24 Lemma T.3 (ours)",
    paper=PAPER,
    summary="one layer: dP = dT' o phi'(P), dW_g = Z^T dP, dZ = dP W_g^T (+ dT'); "
            "dW_Q = T^T dQ, ..., dT = dQ W_Q^T + dK W_K^T + dV W_V^T (+ dZ)",
    printed=("Ours (LSS24 Definitions 1.3, J.1, J.2 define the layer: residual connections "
             "around attention and the MLP g(Z) = phi(Z W_g)). With P = Z W_g, "
             "T' = phi(P) (+ Z): dL/dP = dL/dT' o phi'(P), dL/dW_g = Z^T dL/dP, "
             "dL/dZ = dL/dP W_g^T (+ dL/dT'); with Q = T W_Q, K = T W_K, V = T W_V and "
             "Z = Attn(T) (+ T): dL/dW_Q = T^T dL/dQ (same for K, V) and "
             "dL/dT = dL/dQ W_Q^T + dL/dK W_K^T + dL/dV W_V^T (+ dL/dZ)."),
    steps=[
        Step("phi and phi' (symbolic)", "the library's phi equals the textbook activation and "
             "its phi' equals SymPy's derivative (identity, tanh, gelu, gelu_tanh)", "symbolic",
             _t3_phi_sym),
        Step("relu (exact)", "relu(x) = max(x, 0), relu'(x) = [x > 0] at rationals around 0",
             "exact", _t3_relu_exact),
        Step("MLP backward (symbolic)", "SymPy's derivatives of <dT', phi(Z W_g) (+ Z)> equal "
             "attngrad.transformer.backprop.mlp_backward (d <= 2, every smooth phi)", "symbolic",
             _sym_cases(_t3_mlp_sym, [(d, name, r) for d in (1, 2)
                                      for name in ("identity", "tanh", "gelu", "gelu_tanh")
                                      for r in (False, True)], exp_symbols=False)),
        Step("projections backward (symbolic)", "SymPy's derivatives of <dQ, T W_Q> + "
             "<dK, T W_K> + <dV, T W_V> equal backprop.projections_backward (d = 1, 2)",
             "symbolic", _sym_cases(_t3_proj_sym, [(1,), (2,)])),
        Step("one layer (finite differences)", "attngrad.transformer.loss_and_gradient on one "
             "layer (each option) against central differences of an independent forward pass "
             "at 90 digits, along random directions through every parameter", "mpmath",
             _fd_directional(ONE_LAYER)),
    ],
)


# ---------------------------------------------------------------------------
# Lemma T.4: the whole model


MANY_LAYERS = [
    ModelCase("3 layers: causal 2 heads + gelu MLP / tanh MLP / residual, squared loss", 5, 4,
              [dict(heads=2, causal=True, mlp=True, phi="gelu", mlp_residual=True),
               dict(mlp=True, phi="tanh", residual=True),
               dict(heads=4, residual=True)], "squared", 31),
    ModelCase("2 layers, relu and gelu_tanh MLPs, cross-entropy (sum)", 6, 2,
              [dict(residual=True, mlp=True, phi="relu", mlp_residual=True),
               dict(heads=2, causal=True, mlp=True, phi="gelu_tanh")], "ce", 32),
    ModelCase("2 layers, n = 1, cross-entropy (mean)", 1, 2,
              [dict(causal=True, residual=True), dict(mlp=True, phi="tanh")], "ce_mean", 33),
]
EVERY_ENTRY = ModelCase("2 layers, causal, residual, gelu MLP, every entry", 3, 2,
                        [dict(heads=2, causal=True, residual=True, mlp=True, phi="gelu",
                              mlp_residual=True), dict(mlp=True, phi="tanh")], "squared", 34)


LEMMA_T4 = Statement(
    id="LSS24 Lemma T.4 (ours)",
    paper=PAPER,
    summary="the model's gradient: Lemmas T.1-T.3 chained backwards through the layers give "
            "dL/dX and every weight's gradient, for both losses",
    printed=("Ours (LSS24 Definition 3.1 composes the layers; its Lemma H.4 / Theorem 4.1 "
             "approximate this gradient). Starting from dL/dT_m and applying Lemma T.3 for "
             "i = m, ..., 1 (Lemma T.2 inside each layer) gives dL/dT_0 = dL/dX and every "
             "dL/dW of every layer."),
    steps=[
        Step("every parameter (finite differences)", "loss_and_gradient on 1 to 3 layers with "
             "mixed options and both losses against central differences of an independent "
             "forward pass at 90 digits, along random directions through every parameter",
             "mpmath", _fd_directional(MANY_LAYERS)),
        Step("every entry (finite differences)", "each entry of dL/dX and of every weight "
             "gradient against its own central difference (n = 3, d = 2, two layers)",
             "mpmath", _fd_every_entry(EVERY_ENTRY)),
    ],
)


# ---------------------------------------------------------------------------
# Lemma T.5: the correspondence with the first paper


def _t5_cases():
    cases = []
    for n, d, seed in ((6, 3, 41), (9, 2, 42), (1, 1, 43)):
        rng = np.random.default_rng(seed)
        X, WQ, WK, WV = (_rand_dyadic(rng, s) for s in ((n, d), (d, d), (d, d), (d, d)))
        E = _rand_dyadic(rng, (n, d))
        with mpmath.workdps(50):
            L, g = tr.loss_and_gradient(X, [tr.Layer(WQ, WK, WV)], target=E)
            Xp = WQ @ WK.T
            G = attngrad.gradient(X, X, X, E, Xp, WV)
            GY = attngrad.gradient(X, X, X, E, Xp, WV, wrt="Y")
            L1 = attngrad.loss(X, X, X, E, Xp, WV)
        tag = f"n={n},d={d}"
        cases += [(tag + ": L", L, L1),
                  (tag + ": dL/dW_Q = G W_K", g.layers[0]["W_Q"], G @ WK),
                  (tag + ": dL/dW_K = G^T W_Q", g.layers[0]["W_K"], G.T @ WQ),
                  (tag + ": dL/dW_V = dL/dY", g.layers[0]["W_V"], GY)]
    return cases


LEMMA_T5 = Statement(
    id="LSS24 Lemma T.5 (ours)",
    paper=PAPER,
    summary="one layer, one head, no mask, no residual, no MLP, s = 1/d, target E is the first "
            "paper's Definition 1.2 with A1 = A2 = A3 = X, X_paper = W_Q W_K^T, Y = W_V",
    printed=("Ours. L = 0.5 ||softmax(X W_Q W_K^T X^T / d) X W_V - E||_F^2 is L(X_paper) of "
             "AS24 Definition 1.2 at A1 = A2 = A3 = X, X_paper = W_Q W_K^T, Y = W_V; by the "
             "chain rule dL/dW_Q = G W_K, dL/dW_K = G^T W_Q, dL/dW_V = dL/dY, where G is AS24's "
             "dL/dX_paper."),
    steps=[
        Step("loss and weight gradients (mpmath)", "attngrad.transformer on one plain layer vs "
             "attngrad.loss / attngrad.gradient (wrt X and Y) at 50 digits", "mpmath",
             _t5_cases),
    ],
)


# ---------------------------------------------------------------------------
# Lemma T.6: the built-in losses


def _t6_ce_sym():
    """d/dZ of sum_i (log sum_v exp(Z_iv) - Z_{i,y_i}) = softmax(Z) - onehot(y), symbolic."""
    cases = []
    for n, vocab, labels in ((2, 2, (1, 0)), (3, 3, (2, 2, 0))):
        Z = _syms("Z", n, vocab)
        L = sum((sympy.log(sum((sympy.exp(Z[i, v]) for v in range(vocab)), sympy.Integer(0)))
                 - Z[i, labels[i]] for i in range(n)), sympy.Integer(0))
        rhs = np.empty((n, vocab), dtype=object)
        for i in range(n):
            den = sum((sympy.exp(Z[i, v]) for v in range(vocab)), sympy.Integer(0))
            for v in range(vocab):
                rhs[i, v] = sympy.exp(Z[i, v]) / den - (1 if v == labels[i] else 0)
        cases.append((f"n={n},vocab={vocab}", sympy.Matrix(_grad(L, Z)), sympy.Matrix(rhs)))
    return cases


def _t6_lib():
    """The library's cross-entropy (stable, 50 digits): L against the loops, dL/dT and
    dL/dhead against central differences."""
    cases = []
    for n, d, vocab, reduction, seed in ((5, 3, 4, "sum", 51), (4, 2, 3, "mean", 52)):
        rng = np.random.default_rng(seed)
        T, head = _rand_dyadic(rng, (n, d), 4.0), _rand_dyadic(rng, (d, vocab), 4.0)
        labels = rng.integers(0, vocab, size=n)
        with mpmath.workdps(50):
            L, dT, dH = losses.cross_entropy(MPNS, T, head, labels, reduction)
        data = ("ce", (head, labels, reduction))

        def value(leaves, labels=labels, reduction=reduction):
            T_ = [list(r) for r in leaves["T"]]
            return loss_loops(T_, ("ce", (leaves["head"], labels, reduction)))

        leaves = {"T": T, "head": head}
        cases += [(f"{reduction}: dL/dT", dT, _fd_entries(value, leaves, "T")),
                  (f"{reduction}: dL/dhead", dH, _fd_entries(value, leaves, "head"))]
        with mpmath.workdps(FD_DPS):
            ref = loss_loops([list(r) for r in T], data)
        cases.append((f"{reduction}: L", L, ref))
    return cases


LEMMA_T6 = Statement(
    id="LSS24 Lemma T.6 (ours)",
    paper=PAPER,
    summary="built-in losses: squared 0.5||T - target||^2 gives dT = T - target; cross-entropy "
            "through a head gives dZ = softmax(Z) - onehot(y), dT = dZ head^T, dhead = T^T dZ",
    printed=("Ours (LSS24 allows any loss; Definition 1.2 of the first paper is the squared "
             "loss). For Z = T W_head and L = sum_i (log sum_v exp(Z_iv) - Z_{i,y_i}): "
             "dL/dZ = softmax(Z) - onehot(y), dL/dT = dL/dZ W_head^T, "
             "dL/dW_head = T^T dL/dZ (divided by n for the mean)."),
    steps=[
        Step("cross-entropy derivative (symbolic)", "SymPy's d/dZ of the cross-entropy equals "
             "softmax(Z) - onehot(y)", "symbolic", _t6_ce_sym),
        Step("library cross-entropy (mpmath)", "attngrad.transformer.losses.cross_entropy at 50 "
             "digits: L against the definition by loops, dL/dT and dL/dhead against central "
             "differences at 90 digits (sum and mean)", "mpmath", _t6_lib),
    ],
)


STATEMENTS = [LEMMA_T1, LEMMA_T2, LEMMA_T3, LEMMA_T4, LEMMA_T5, LEMMA_T6]
