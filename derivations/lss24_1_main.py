"""LSS24 Sections 1 and 3: Definitions 1.1 to 1.3, 3.1 (with Remark 3.2), 3.3 and Lemma 3.4
(its formal version, Lemma C.4, is in derivations/lss24_c1_prelim.py and shares the check).

The model definitions are checked against attngrad.transformer (attngrad/transformer/model.py),
the other side being derivations/model_loops.py's forward pass by loops. Where they describe
different objects the statements say so: Definition 1.3 applies a g_0 before the first layer,
which attngrad.transformer leaves to the caller (shown below: feed g_0(X), then chain dL/dX
through g_0 by Lemma H.2); its g_i is "components other than self-attention", of which the
library has the MLP phi(Z W_g) per layer (Lemma H.1's form, where LSS24 writes one W_g for all
layers) and the residual connections (Definitions J.1, J.2); multi-head concatenation is inside
attention (Definition K.1); layer norm, dropout and positional encoding are not modelled.
"""
from __future__ import annotations

import mpmath
import numpy as np

from attngrad import transformer as tr
from attngrad.transformer import attention as attn

from . import lss24 as L
from .core import Statement, Step
from .lss24_model import _fd_entries, _rand_dyadic, _softmax_loops
from .model_loops import _phi_scalar, forward_loops

PAPER = L.PAPER


# ---------------------------------------------------------------------------
# Definitions 1.1, 1.2


def _d11():
    out = []
    for n, bound, seed in ((1, 1.0, 1), (6, 3.0, 2), (9, 400.0, 3)):
        z = _rand_dyadic(np.random.default_rng(seed), (1, n), bound)
        lib = attn.softmax_rows(L.MPNS, z)
        ez = [mpmath.exp(v) for v in z[0]]
        tot = mpmath.fsum(ez)
        out.append((f"n={n},|z|<={bound:g}", lib[0], np.array([e / tot for e in ez],
                                                               dtype=object)))
    return out


DEF_11 = Statement(
    id="LSS24 Definition 1.1",
    paper=PAPER,
    summary="Softmax(z) := exp(z) / <exp(z), 1_n>",
    printed="Definition 1.1 (Softmax): z in R^n; Softmax(z) := exp(z) / <exp(z), 1_n>, exp "
            "entry-wise.",
    steps=[Step("attngrad's softmax", "attngrad.transformer's row softmax (maximum subtracted) "
                "= exp(z) / sum exp(z) at 50 digits, |z| up to 400", "mpmath", _d11)],
)


def _layer_case(n, d, seed):
    rng = np.random.default_rng(1200 + seed)
    X = _rand_dyadic(rng, (n, d), 2.0)
    WQ, WK, WV = (_rand_dyadic(rng, (d, d), 1.0) for _ in range(3))
    return X, WQ, WK, WV


def _d12_attn(n, d, seed):
    X, WQ, WK, WV = _layer_case(n, d, seed)
    lib = tr.forward(X, [tr.Layer(WQ, WK, WV)])
    ref = forward_loops(X, [(WQ, WK, WV, None)], [tr.Layer(WQ, WK, WV)])
    return lib, np.array(ref, dtype=object)


def _d12_f(n, d, seed):
    """f = D^{-1} A with A = exp(X W_Q W_K^T X^T / d), D = diag(A 1_n), built as printed."""
    X, WQ, WK, WV = _layer_case(n, d, seed)
    A = np.asarray(np.frompyfunc(mpmath.exp, 1, 1)(X @ WQ @ WK.T @ X.T / d), dtype=object)
    Dinv = L.diag(np.array([1 / v for v in A.sum(axis=1)], dtype=object))
    return (Dinv @ A) @ X @ WV, tr.forward(X, [tr.Layer(WQ, WK, WV)])


D12_CASES = ((6, 3, 1), (1, 2, 2), (8, 4, 3), (5, 1, 4))

DEF_12 = Statement(
    id="LSS24 Definition 1.2",
    paper=PAPER,
    summary="Attn(X) = Softmax(X W_Q W_K^T X^T / d) X W_V = f(X) X W_V, f = D^{-1} A: "
            "attngrad.transformer's one-head layer (scale 1/d)",
    printed=("Definition 1.2 (Self-attention module): X in R^{n x d}; W_Q, W_K, W_V in "
             "R^{d x d}. Attn(X) = Softmax(X W_Q W_K^T X^T / d) X W_V (Softmax row-wise) = "
             "f(X) X W_V with A := exp(X W_Q W_K^T X^T / d), D := diag(A 1_n), f(X) := D^{-1} A. "
             "(Q = X W_Q and K = X W_K are never named; Definition K.1 uses them.)"),
    steps=[
        Step("Attn", "attngrad.transformer.forward (one layer, one head, default scale "
             "1/d_h = 1/d) = the definition by loops at 50 digits (n = 1..8, d = 1..4, entries "
             "of X up to 2)", "mpmath", L.each_case(_d12_attn, D12_CASES)),
        Step("= f(X) X W_V", "D^{-1} A X W_V with A, D built as printed = "
             "attngrad.transformer.forward", "mpmath", L.each_case(_d12_f, D12_CASES)),
    ],
)


# ---------------------------------------------------------------------------
# Definitions 1.3, 3.3


def _stack(n, d, seed, phis=("tanh", "gelu", "identity")):
    rng = np.random.default_rng(1300 + seed)
    X = _rand_dyadic(rng, (n, d), 1.0)
    params, layers = [], []
    for phi in phis:
        W = [_rand_dyadic(rng, (d, d), 0.5) for _ in range(4)]
        params.append(tuple(W))
        layers.append(tr.Layer(*W[:3], W_g=W[3], phi=phi))
    Wg0 = _rand_dyadic(rng, (d, d), 0.5)
    return X, params, layers, Wg0


def _d13_compose(n, d, seed):
    X, params, layers, _ = _stack(n, d, seed)
    return tr.forward(X, layers), np.array(forward_loops(X, params, layers), dtype=object)


def _g0(X, Wg0):
    return np.frompyfunc(lambda v: _phi_scalar("tanh", v), 1, 1)(X @ Wg0)


def _d13_g0(n, d, seed):
    """F_m with g_0(X) = tanh(X W_{g,0}) before the first layer: attngrad.transformer on g_0(X),
    dL/dX = (dL/dT_0 o phi'(X W_{g,0})) W_{g,0}^T (Lemma H.2 on g_0) vs central differences of
    the loops model with g_0 (90 digits), L = <E, F_m(X)>."""
    X, params, layers, Wg0 = _stack(n, d, seed)
    E = _rand_dyadic(np.random.default_rng(77 + seed), (n, d), 1.0)
    T0 = _g0(X, Wg0)
    g = tr.gradient(T0, layers, E)
    P = X @ Wg0
    dphi = np.frompyfunc(lambda v: 1 - mpmath.tanh(v) ** 2, 1, 1)(P)
    lib = (g.X * dphi) @ Wg0.T

    def value(leaves):
        T = forward_loops(_g0(leaves["X"], Wg0), params, layers)
        return mpmath.fsum(E[i, j] * T[i][j] for i in range(n) for j in range(d))

    return lib, _fd_entries(value, {"X": X}, "X")


DEF_13 = Statement(
    id="LSS24 Definition 1.3",
    paper=PAPER,
    summary="F_m = g_m o Attn_m o ... o g_1 o Attn_1 o g_0: attngrad.transformer with g_0 = "
            "identity and g_i(Z) = phi(Z W_g,i)",
    printed=("Definition 1.3 (Multi-layer transformer): m layers; g_i the components other than "
             "self-attention in layer i, 'forward and backward computations ... in time linear "
             "in its input sequence length'; Attn_i with weights W_Qi, W_Ki, W_Vi; F_m(X) := g_m "
             "o Attn_m o g_{m-1} o Attn_{m-1} o ... o g_1 o Attn_1 o g_0(X). (Text: g_i includes "
             "layer norm, MLP, residual connection, dropout, positional encoding, multi-head "
             "concatenation.)"),
    steps=[
        Step("composition", "attngrad.transformer.forward on three layers (tanh, gelu, identity "
             "MLPs; g_0 = identity) = the composition by loops (50 digits)", "mpmath",
             L.each_case(_d13_compose, ((4, 2, 1), (3, 3, 2)))),
        Step("g_0 before layer 1", "with g_0(X) = tanh(X W_g,0): attngrad.transformer on "
             "g_0(X) and dL/dX = (dL/dT_0 o phi'(X W_g,0)) W_g,0^T = central differences of the "
             "loops model with g_0 (90 digits)", "mpmath",
             L.each_case(_d13_g0, ((4, 2, 1), (3, 3, 2)))),
    ],
    gaps=["g_i is any 'component other than self-attention' with linear-time forward and "
          "backward; checked only for the MLP phi(Z W_g) (+ residual) that attngrad.transformer "
          "offers and Lemma H.1 assumes. A residual connection or a multi-head concatenation is "
          "not of the form g_i o Attn_i (it needs Attn_i's input, or changes Attn_i): Appendices "
          "J and K treat them apart"],
)


def _d33(n, d, seed):
    """T_i = (g_i o Attn_i)(T_{i-1}): attngrad.transformer on the first i layers = one layer by
    loops applied to attngrad's T_{i-1}, i = 1, 2, 3 (T_0 = X: g_0 is the identity)."""
    X, params, layers, _ = _stack(n, d, seed)
    out = []
    prev = X
    for i in range(1, len(layers) + 1):
        Ti = tr.forward(X, layers[:i])
        step = np.array(forward_loops(prev, params[i - 1:i], layers[i - 1:i]), dtype=object)
        out.append((f"i={i}", Ti, step))
        prev = Ti
    return out


DEF_33 = Statement(
    id="LSS24 Definition 3.3",
    paper=PAPER,
    summary="T_0 = g_0(X), T_i = (g_i o Attn_i)(T_{i-1}) (redefined with residuals in J.2)",
    printed=("Definition 3.3 (Intermediate variables T_i): for i in {0, 1, ..., m}, T_i(X) = "
             "g_0(X) if i = 0 and (g_i o Attn_i)(T_{i-1}(X)) if i in [m]."),
    steps=[Step("T_i from T_{i-1}", "attngrad.transformer.forward on the first i layers = "
                "layer i by loops on attngrad's T_{i-1} (i = 1, 2, 3; T_0 = X)", "mpmath",
                L.each_case(_d33, ((4, 2, 1), (3, 3, 2))))],
)


# ---------------------------------------------------------------------------
# Definition 3.1 (and Remark 3.2)


def _d31(n, d, seed):
    """The built-in losses as sums of one-unit losses: squared, l_{j,k} = (T - E)_{jk}^2 / 2;
    cross-entropy (Remark 3.2), l_{j,1} = -sum_v (Y_gt)_{j,v} log (Y_pred)_{j,v}, others 0."""
    X, params, layers, _ = _stack(n, d, seed)
    rng = np.random.default_rng(500 + seed)
    E = _rand_dyadic(rng, (n, d), 1.0)
    head = _rand_dyadic(rng, (d, 4), 1.0)
    labels = rng.integers(0, 4, size=n)
    T = forward_loops(X, params, layers)
    sq = mpmath.fsum((T[j][k] - E[j, k]) ** 2 / 2 for j in range(n) for k in range(d))
    ce = mpmath.mpf(0)
    for j in range(n):
        z = np.array([mpmath.fsum(T[j][a] * head[a, v] for a in range(d)) for v in range(4)],
                     dtype=object)
        ypred = _softmax_loops(z[None, :], False)[0]
        ce -= mpmath.log(ypred[labels[j]])      # Y_gt one-hot: one term of the inner sum
    Lsq, _ = tr.loss_and_gradient(X, layers, target=E)
    Lce, _ = tr.loss_and_gradient(X, layers, labels=labels, head=head)
    return [("squared", Lsq, sq), ("cross-entropy", Lce, ce)]


DEF_31 = Statement(
    id="LSS24 Definition 3.1",
    paper=PAPER,
    summary="L(X) = sum_{j,k} l(X)_{j,k}; the squared loss and Remark 3.2's cross-entropy are "
            "such sums",
    printed=("Definition 3.1 (Loss function L(X)): one-unit losses l(X)_{j,k}: R^{n x d} -> R, "
             "j in [n], k in [d], differentiable; L(X) = sum_{j=1}^n sum_{k=1}^d l(X)_{j,k}. "
             "Remark 3.2: the cross-entropy L = -sum_j sum_{k=1}^{d_voc} (Y_gt)_{j,k} "
             "log((Y_pred)_{j,k}), Y_pred the output after a d x d_voc linear layer."),
    steps=[Step("attngrad's losses", "attngrad.transformer.loss_and_gradient's squared loss "
                "and cross-entropy (through a d x 4 head) = the sums of one-unit losses by loops "
                "(50 digits)", "mpmath", L.each_case(_d31, ((4, 2, 1), (3, 3, 2))))],
)


# ---------------------------------------------------------------------------
# Lemma 3.4 (informal) and Lemma C.4 (formal)


def _chain(keys):
    def compute():
        lhs, rhs = L.chain_case()
        return [(k, lhs[k], rhs[k]) for k in keys]
    return compute


_CHAIN_TEXT = ("on two layers with tanh MLPs and L = <E, T_2>: G_1 = dL/dAttn_1 by central "
               "differences of the rest of the model, then sum_{{j,k}} G_1(j,k) dAttn_1_{{j,k}}/d"
               "{} by central differences of <G_1, Attn_1> (90 digits) = attngrad.transformer's "
               "gradient (50 digits)")

LEMMA_34 = Statement(
    id="LSS24 Lemma 3.4",
    paper=PAPER,
    summary="dL/dT_{i-1} and dL/dW_{*i} (W_Q, W_K, W_V) are sums of G_i(j,k) times the "
            "gradients of Attn_i's entries (informal; C.4 uses W_i = W_Q W_K^T)",
    printed=("Lemma 3.4 (Closed form of gradient components, informal version of Lemma C.4): "
             "G_i = dL(X)/dAttn_i(T_{i-1}(X)). Part 1: dL(X)/dT_{i-1}(X) = sum_{j,k} G_i(j,k) "
             "dAttn_i(T_{i-1}(X))_{j,k}/dT_{i-1}(X). Part 2: for W_{*i} in {W_Qi, W_Ki, W_Vi}, "
             "dL(X)/dW_{*i} = sum_{j,k} G_i(j,k) dAttn_i(T_{i-1}(X))_{j,k}/dW_{*i}. ('Our main "
             "results are based on the above closed forms of four gradient components': three "
             "are listed.)"),
    steps=[
        Step("Part 1", _CHAIN_TEXT.format("T_0"), "mpmath", _chain(["T"])),
        Step("Part 2", _CHAIN_TEXT.format("W for W_Q, W_K, W_V"), "mpmath",
             _chain(["WQ", "WK", "WV"])),
    ],
)

STATEMENTS = [DEF_11, DEF_12, DEF_13, DEF_31, DEF_33, LEMMA_34]
