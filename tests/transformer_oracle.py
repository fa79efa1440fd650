"""An independent gradient of the multi-layer model: the forward pass written with autograd.numpy
(no attngrad code) and differentiated by autograd's reverse mode, in the dtype of its inputs
(float64 or float32). Causal masking by -inf before the row maximum, as frameworks do it.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

ag = pytest.importorskip("autograd")
import autograd.numpy as anp  # noqa: E402  (after the skip)
from autograd.scipy.special import erf as aerf  # noqa: E402

_PHI = {
    "identity": lambda x: x,
    "relu": lambda x: anp.where(x > 0, x, 0 * x),
    "tanh": anp.tanh,
    "gelu": lambda x: x * 0.5 * (1 + aerf(x / math.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + anp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
}


def forward(X, params, layers, scale=None):
    n, d = X.shape
    T = X
    for (WQ, WK, WV, Wg), layer in zip(params, layers):
        dh = d // layer.heads
        s = 1.0 / dh if scale is None else scale
        outs = []
        for l in range(layer.heads):
            c = slice(l * dh, (l + 1) * dh)
            S = (T @ WQ[:, c]) @ (T @ WK[:, c]).T * s
            if layer.causal:
                S = anp.where(np.tril(np.ones((n, n), dtype=bool)), S, -np.inf)
            S = S - anp.max(S, axis=1, keepdims=True)
            w = anp.exp(S)
            outs.append((w / anp.sum(w, axis=1, keepdims=True)) @ (T @ WV[:, c]))
        A = anp.concatenate(outs, axis=1)
        Z = T + A if layer.residual else A
        if layer.W_g is None:
            T = Z
        else:
            G = _PHI[layer.phi](Z @ Wg)
            T = Z + G if layer.mlp_residual else G
    return T


def _params(layers, dtype):
    return [[np.asarray(w if w is not None else np.zeros_like(L.W_Q), dtype=dtype)
             for w in (L.W_Q, L.W_K, L.W_V, L.W_g)] for L in layers]


def loss_and_grads(X, layers, *, target=None, labels=None, head=None, reduction="sum",
                   dtype=np.float64):
    """(L, {"X": ..., "layers[i].W_Q": ..., "head": ...}) by autograd, in ``dtype``."""
    X = np.asarray(X, dtype=dtype)
    params = _params(layers, dtype)

    def loss(X_, params_, head_):
        T = forward(X_, params_, layers)
        if target is not None:
            return 0.5 * anp.sum((T - np.asarray(target, dtype=dtype)) ** 2)
        Z = T @ head_
        m = anp.max(Z, axis=1, keepdims=True)
        per_row = m[:, 0] + anp.log(anp.sum(anp.exp(Z - m), axis=1)) - Z[np.arange(len(Z)), labels]
        total = anp.sum(per_row)
        return total / len(Z) if reduction == "mean" else total

    if head is None:
        value, (gX, gP) = ag.value_and_grad(lambda a, b: loss(a, b, None), (0, 1))(X, params)
        gH = None
    else:
        H = np.asarray(head, dtype=dtype)
        value, (gX, gP, gH) = ag.value_and_grad(loss, (0, 1, 2))(X, params, H)
    out = {"X": gX}
    for i, L in enumerate(layers):
        for k, g in zip(("W_Q", "W_K", "W_V", "W_g"), gP[i]):
            if k != "W_g" or L.W_g is not None:
                out[f"layers[{i}].{k}"] = g
    if head is not None:
        out["head"] = gH
    return value, out
