"""The exact forward and backward passes through the layers (validated arrays of one system).

Forward, layer i (attngrad/transformer/model.py): Q, K, V = T W_Q, T W_K, T W_V; A = Attn(T);
Z = T + A or A; P = Z W_g; T' = Z + phi(P), phi(P) or Z. The cache keeps T, Q, K, V, Z, P of
every layer (O(m n d) memory); the n x n scores are recomputed by blocks in the backward pass.

Backward, layer i, from dT' = dL/dT' ("Lemma T.3 (ours)", derivations/lss24_model.py):

    MLP:       dP = dT' o phi'(P),  dL/dW_g = Z^T dP,  dZ = dP W_g^T (+ dT' with mlp_residual)
    no MLP:    dZ = dT'
    attention: (dQ, dK, dV) from dL/dA = dZ (attention.backward),
               dL/dW_Q = T^T dQ,  dL/dW_K = T^T dK,  dL/dW_V = T^T dV,
               dL/dT = dQ W_Q^T + dK W_K^T + dV W_V^T (+ dZ with the residual)
"""
from __future__ import annotations

from .. import blocked as B
from .. import formulas as F
from . import attention as attn
from .activations import phi, phi_prime


def head_scale(ns, scale, d, heads):
    """s of LSS24: 1/d_h (d_h = d / heads) for ``scale=None``, else ``scale``."""
    return F.scale_value(ns, scale, d // heads)


def rows_of(ns, n, block):
    """Rows per block: ``block`` (an int) or attngrad.blocked.auto_block's choice."""
    return B.auto_block(ns, n) if block is None else min(block, n)


class ExactAttention:
    """The layers' attention computed exactly (attngrad/transformer/attention.py). The fast path
    (attngrad/transformer/fast.py) supplies an object with the same two methods, so the layers
    around attention (projections, residuals, MLP) are one code path for both."""

    def forward(self, ns, i, layer, Q, K, V, s, rows, entry):
        return attn.forward(ns, Q, K, V, layer.heads, layer.causal, s, rows)

    def backward(self, ns, i, layer, Q, K, V, dO, s, rows, entry):
        return attn.backward(ns, Q, K, V, dO, layer.heads, layer.causal, s, rows)


EXACT = ExactAttention()


def forward(ns, chk, scale, block, keep_cache=True, engine=EXACT):
    """(T_m, cache): the model's output and, per layer, what the backward pass needs."""
    rows = rows_of(ns, chk.n, block)
    T, cache = chk.X, []
    for i, (layer, W) in enumerate(zip(chk.layers, chk.weights)):
        s = head_scale(ns, scale, chk.d, layer.heads)
        Q, K, V = T @ W["W_Q"], T @ W["W_K"], T @ W["W_V"]
        entry = {"T": T, "Q": Q, "K": K, "V": V, "s": s}
        A = engine.forward(ns, i, layer, Q, K, V, s, rows, entry)
        Z = T + A if layer.residual else A
        P = None
        if "W_g" in W:
            P = Z @ W["W_g"]
            G = phi(ns, layer.phi, P)
            T_next = Z + G if layer.mlp_residual else G
        else:
            T_next = Z
        entry.update(A=A, Z=Z, P=P, Tn=T_next)
        if keep_cache:
            cache.append(entry)
        T = T_next
    return T, cache


GRAM_ROWS = 1024   # rows per block of the weight gradients' sums over n (see gram)


def gram(A, C, rows=GRAM_ROWS):
    """A^T C summed over blocks of ``rows`` rows by pairwise summation: each entry is a sum of
    n terms whose rounding error is at most gamma_{rows + ceil(log2(n / rows))} of the sum of
    their magnitudes, not gamma_n (what the fast path's certificate charges)."""
    n = A.shape[0]
    if n <= rows:
        return A.T @ C
    return B.pairwise_sum(A[r:r + rows].T @ C[r:r + rows] for r in range(0, n, rows))


def gram_length(n, rows=GRAM_ROWS):
    """The gamma index of :func:`gram`'s sums over n rows."""
    if n <= rows:
        return n
    return rows + (-(-n // rows) - 1).bit_length()


def mlp_backward(ns, phi_name, W_g, Z, P, dT, mlp_residual):
    """(dL/dZ, dL/dW_g) through T' = phi(Z W_g) (+ Z with mlp_residual), P = Z W_g."""
    dP = dT * phi_prime(ns, phi_name, P)
    dZ = dP @ W_g.T
    return (dZ + dT if mlp_residual else dZ), gram(Z, dP)


def projections_backward(ns, T, W, dQ, dK, dV):
    """(dL/dT, dL/dW_Q, dL/dW_K, dL/dW_V) through Q = T W_Q, K = T W_K, V = T W_V."""
    dT = dQ @ W["W_Q"].T + dK @ W["W_K"].T + dV @ W["W_V"].T
    return dT, gram(T, dQ), gram(T, dK), gram(T, dV)


def backward(ns, chk, cache, dT, block, trace=None, engine=EXACT):
    """(dL/dX, [per-layer dict of weight gradients]) from dT = dL/dT_m.

    ``trace``: a dict that receives, per layer i, {"dQ", "dK", "dV", "dZ", "dT"} (dT: the
    gradient of the layer's output), for error analyses in the tests."""
    rows = rows_of(ns, chk.n, block)
    grads = [None] * len(chk.layers)
    for i in reversed(range(len(chk.layers))):
        layer, W, c = chk.layers[i], chk.weights[i], cache[i]
        g = {}
        dT_out = dT
        if "W_g" in W:
            dZ, g["W_g"] = mlp_backward(ns, layer.phi, W["W_g"], c["Z"], c["P"], dT,
                                        layer.mlp_residual)
        else:
            dZ = dT
        dQ, dK, dV = engine.backward(ns, i, layer, c["Q"], c["K"], c["V"], dZ, c["s"], rows, c)
        if trace is not None:
            trace[i] = {"dQ": dQ, "dK": dK, "dV": dV, "dZ": dZ, "dT": dT_out}
        dT, g["W_Q"], g["W_K"], g["W_V"] = projections_backward(ns, c["T"], W, dQ, dK, dV)
        if layer.residual:
            dT = dT + dZ
        grads[i] = {k: g[k] for k in ("W_Q", "W_K", "W_V", "W_g") if k in g}
    return dT, grads
