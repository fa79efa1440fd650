"""An independent forward pass of the multi-layer model by plain loops over mpmath numbers.

Nothing here calls attngrad.transformer: the model of attngrad/transformer/model.py (LSS24
Definitions 1.2, 1.3, I.5, J.1, J.2, K.1, Section H.1's MLP) and its two losses are written out
entry by entry, with no maximum subtracted (mpmath does not overflow), so that central
differences of it are an oracle for the library's gradients (derivations/lss24_model.py and
tests/test_transformer.py).
"""
from __future__ import annotations

import mpmath

FD_DPS = 90                          # working precision of the finite differences
FD_STEP = mpmath.mpf(2) ** -100      # x +- step is exact for dyadic x


def forward_loops(X, params, layers, scale=None):
    """T_m of the model, from the definitions of attngrad/transformer/model.py, by loops."""
    n, d = X.shape
    T = [[X[i, a] for a in range(d)] for i in range(n)]
    for (WQ, WK, WV, Wg), layer in zip(params, layers):
        h = layer.heads
        dh = d // h
        s = mpmath.mpf(1) / dh if scale is None else mpmath.mpf(scale)
        proj = [[[mpmath.fsum(T[i][k] * W[k, a] for k in range(d)) for a in range(d)]
                 for i in range(n)] for W in (WQ, WK, WV)]
        Qm, Km, Vm = proj
        A = [[None] * d for _ in range(n)]
        for l in range(h):
            cols = range(l * dh, (l + 1) * dh)
            for i in range(n):
                kept = [j for j in range(n) if not layer.causal or j <= i]
                e = {j: mpmath.exp(s * mpmath.fsum(Qm[i][a] * Km[j][a] for a in cols))
                     for j in kept}
                den = mpmath.fsum(e.values())
                for a in cols:
                    A[i][a] = mpmath.fsum(e[j] * Vm[j][a] for j in kept) / den
        Z = [[T[i][a] + A[i][a] if layer.residual else A[i][a] for a in range(d)]
             for i in range(n)]
        if Wg is None:
            T = Z
            continue
        P = [[mpmath.fsum(Z[i][k] * Wg[k, a] for k in range(d)) for a in range(d)]
             for i in range(n)]
        G = [[_phi_scalar(layer.phi, P[i][a]) for a in range(d)] for i in range(n)]
        T = [[Z[i][a] + G[i][a] if layer.mlp_residual else G[i][a] for a in range(d)]
             for i in range(n)]
    return T


def _phi_scalar(name, x):
    """The activations from their textbook definitions (mpmath)."""
    if name == "identity":
        return x
    if name == "relu":
        return x if x > 0 else mpmath.mpf(0)
    if name == "tanh":
        return mpmath.tanh(x)
    if name == "gelu":
        return x * (1 + mpmath.erf(x / mpmath.sqrt(2))) / 2
    k = mpmath.sqrt(2 / mpmath.pi)
    return x * (1 + mpmath.tanh(k * (x + mpmath.mpf("0.044715") * x ** 3))) / 2


def loss_loops(T, loss):
    """(kind, data): ("squared", target) or ("ce", (head, labels, reduction))."""
    kind, data = loss
    n, d = len(T), len(T[0])
    if kind == "squared":
        return mpmath.fsum((T[i][a] - data[i, a]) ** 2 for i in range(n) for a in range(d)) / 2
    head, labels, reduction = data
    total = mpmath.mpf(0)
    for i in range(n):
        z = [mpmath.fsum(T[i][k] * head[k, v] for k in range(d)) for v in range(head.shape[1])]
        total += mpmath.log(mpmath.fsum(mpmath.exp(v) for v in z)) - z[labels[i]]
    return total / n if reduction == "mean" else total


def leaves_of(X, layers):
    """Every parameter by the names of TransformerGradient.arrays(): "X", "layers[i].W_Q", ..."""
    out = {"X": X}
    for i, L in enumerate(layers):
        for k in ("W_Q", "W_K", "W_V", "W_g"):
            if getattr(L, k) is not None:
                out[f"layers[{i}].{k}"] = getattr(L, k)
    return out


def model_loss(leaves, layers, loss, scale=None):
    """L of the model at the parameters ``leaves`` (see :func:`leaves_of`); ``layers`` give the
    options; ``loss`` as in :func:`loss_loops`."""
    params = [tuple(leaves.get(f"layers[{i}].{k}") for k in ("W_Q", "W_K", "W_V", "W_g"))
              for i in range(len(layers))]
    return loss_loops(forward_loops(leaves["X"], params, layers, scale), loss)


def directional(value, leaves, direction, step=FD_STEP, dps=FD_DPS):
    """Central difference of ``value(moved leaves)`` along ``direction`` (name -> array), with
    ``leaves`` name -> array; computed at ``dps`` digits."""
    with mpmath.workdps(dps):
        vals = []
        for sign in (1, -1):
            moved = {k: a + (sign * step) * direction[k] if k in direction else a
                     for k, a in leaves.items()}
            vals.append(value(moved))
        return (vals[0] - vals[1]) / (2 * step)

