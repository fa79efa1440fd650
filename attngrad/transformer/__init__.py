"""Attention as models write it: the multi-layer transformer of LSS24 (Liang, Sha, Shi, Song,
Zhou, "Multi-Layer Transformers Gradient Can be Approximated in Almost Linear Time"), exact, in
every number system of attngrad (numpy float32/float64, mpmath object arrays, CuPy).

    Layer(W_Q, W_K, W_V, *, W_g=None, phi="identity", heads=1, causal=False, residual=False,
          mlp_residual=False)
    forward(X, layers, *, scale=None, block=None)                       -> T_m (n x d)
    gradient(X, layers, dT, *, scale=None, method="exact", block=None)   -> TransformerGradient
    loss_and_gradient(X, layers, *, target=None, labels=None, head=None, scale=None,
                      method="exact", block=None, reduction="sum")      -> (L, TransformerGradient)

The model is described in attngrad/transformer/model.py, the backward pass in attention.py and
backprop.py; each closed form is a checked statement of derivations/lss24_model.py.

Correspondence with the first paper (Definition 1.2; "Lemma T.5 (ours)"): one layer, one head,
no mask, no residual, no MLP, ``scale=None`` (s = 1/d), target E:
L = 0.5 ||softmax(X W_Q W_K^T X^T / d) X W_V - E||_F^2 is AS24's L with A1 = A2 = A3 = X,
X_paper = W_Q W_K^T, Y = W_V; so dL/dW_Q = G W_K, dL/dW_K = G^T W_Q and dL/dW_V = dL/dY with
G = attngrad.gradient(X, X, X, E, W_Q W_K^T, W_V) (and dL/dY from wrt="Y").
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import validate
from . import backprop, losses
from .model import Layer, check_model

__all__ = ["Layer", "TransformerGradient", "forward", "gradient", "loss_and_gradient"]

METHODS = {"exact", "fast"}
FAST_OPTIONS = {"eps", "degree", "basis", "max_rank"}


@dataclass
class TransformerGradient:
    """Every gradient of the model, in the caller's number system.

    X:      dL/dX (n x d)
    layers: one dict per layer: "W_Q", "W_K", "W_V" (d x d) and, with an MLP, "W_g"
    head:   dL/dW_head (d x vocab) for the cross-entropy loss, else None
    bound:  method="fast": a proven bound on the largest absolute error of every array above
            (None for method="exact"); ``bounds`` per array, ``degrees`` per layer and head
    """

    X: object
    layers: list
    head: object = None
    bound: float | None = None
    bounds: dict | None = None
    degrees: list | None = None

    def arrays(self):
        """(name, array) for every gradient: "X", "layers[0].W_Q", ..., "head"."""
        out = [("X", self.X)]
        for i, g in enumerate(self.layers):
            out += [(f"layers[{i}].{k}", v) for k, v in g.items()]
        if self.head is not None:
            out.append(("head", self.head))
        return out


def _options(method, block, options=None):
    """The fast path's options checked (eps, degree, basis, max_rank), or none for exact."""
    validate.choice("method", method, METHODS)
    if block is not None:
        validate.integer("block", block)
    options = dict(options or {})
    unknown = set(options) - (FAST_OPTIONS if method == "fast" else set())
    if unknown:
        raise TypeError(f"method={method!r}: unexpected keyword(s) {sorted(unknown)}"
                        + (f"; its options are {sorted(FAST_OPTIONS)}" if method == "fast" else ""))
    if method != "fast":
        return None
    from ..fast.api import DEFAULT_MAX_RANK, _check_eps
    from ..poly import BASES

    eps, degree = options.get("eps"), options.get("degree")
    if eps is None and degree is None:
        raise ValueError("eps: method='fast' needs eps (the accuracy to certify) or a degree")
    out = {"eps": None if eps is None else _check_eps(eps),
           "degree": None if degree is None else validate.integer("degree", degree, minimum=0),
           "basis": validate.choice("basis", options.get("basis", "chebyshev"), set(BASES)),
           "max_rank": validate.integer("max_rank", options.get("max_rank", DEFAULT_MAX_RANK))}
    return out


def _finite(ns, what, *arrays):
    for a in arrays:
        if not ns.isfinite_all(a):
            raise ValueError(f"{what}: the result overflowed in {ns.name} {ns.dtype} (inputs too "
                             "large for this dtype); use float64 or mpmath object arrays")


def forward(X, layers, *, scale=None, block=None):
    """T_m: the output of the layers on input X (n x d), in X's number system.

    scale: the factor of the scores, None for 1/d_h (d_h = d / heads, LSS24's convention).
    block: rows per block (None: attngrad.blocked.auto_block; under the causal mask at most
           n / 8), memory O(m n d + block n).
    """
    _options("exact", block)
    chk = check_model(X, layers)
    T, _ = backprop.forward(chk.ns, chk, scale, block, keep_cache=False)
    _finite(chk.ns, "forward", T)
    return T


def gradient(X, layers, dT, *, scale=None, method="exact", block=None, **options):
    """Every gradient of the model for any loss, given dT = dL/dT_m (n x d).

    Returns a :class:`TransformerGradient` (``.X``, ``.layers[i]["W_Q"]`` ...), arrays in the
    caller's number system. method="exact": time O(m (n^2 d + n d^2)), memory
    O(m n d + block n). method="fast": LSS24's almost-linear gradient (attngrad/transformer/
    fast.py), options ``eps`` (the certified accuracy: ``.bound <= eps``), or ``degree`` (every
    head at that degree; ``.bound`` still certified), ``basis`` ("chebyshev" or "taylor") and
    ``max_rank``; ApproximationError, naming the layer and head, when eps cannot be certified.
    """
    fast = _options(method, block, options)
    chk = check_model(X, layers, {"dT": (dT, ("n", "d"))})
    ns = chk.ns
    if fast is not None:
        from .fast import run

        return run(chk, scale, block, ("given", chk.extra["dT"]), what="gradient(method='fast')",
                   **fast)[1]
    T, cache = backprop.forward(ns, chk, scale, block)
    _finite(ns, "forward", T)
    dX, grads = backprop.backward(ns, chk, cache, chk.extra["dT"], block)
    result = TransformerGradient(dX, grads)
    _finite(ns, "gradient", *(a for _, a in result.arrays()))
    return result


def loss_and_gradient(X, layers, *, target=None, labels=None, head=None, scale=None,
                      method="exact", block=None, reduction="sum", **options):
    """(L, TransformerGradient) for a built-in loss:

    * ``target`` (n x d): L = 0.5 ||T_m - target||_F^2;
    * ``labels`` (n integers in [0, vocab)) with ``head`` (d x vocab): cross-entropy of the
      logits T_m head, summed over rows (``reduction="mean"``: averaged); the result's
      ``.head`` is dL/dhead.

    ``method`` and its options as in :func:`gradient` (with method="fast" the loss is that of
    the fast forward pass; ``.bound`` covers the gradients).
    """
    fast = _options(method, block, options)
    validate.choice("reduction", reduction, {"sum", "mean"})
    if (target is None) == (labels is None):
        raise ValueError("target, labels: give exactly one (target for the squared loss, "
                         "labels with head for cross-entropy)")
    if labels is not None and head is None:
        raise ValueError("head: cross-entropy (labels) needs a d x vocab head")
    if target is not None and head is not None:
        raise ValueError("head: only the cross-entropy loss (labels) uses a head")
    if target is not None and reduction != "sum":
        raise ValueError("reduction: the squared loss is 0.5 ||T_m - target||_F^2 (sum only)")
    chk = check_model(X, layers, {"target": (target, ("n", "d")), "head": (head, ("d", "vocab"))})
    ns = chk.ns
    if fast is not None:
        from .fast import run

        if target is not None:
            loss = ("squared", chk.extra["target"])
        else:
            H = chk.extra["head"]
            loss = ("ce", (H, losses.check_labels(labels, chk.n, H.shape[1]), reduction))
        return run(chk, scale, block, loss, what="loss_and_gradient(method='fast')", **fast)
    T, cache = backprop.forward(ns, chk, scale, block)
    _finite(ns, "forward", T)
    g_head = None
    if target is not None:
        L, dT = losses.squared(ns, T, chk.extra["target"])
    else:
        H = chk.extra["head"]
        y = losses.check_labels(labels, chk.n, H.shape[1])
        L, dT, g_head = losses.cross_entropy(ns, T, H, y, reduction)
    dX, grads = backprop.backward(ns, chk, cache, dT, block)
    result = TransformerGradient(dX, grads, g_head)
    _finite(ns, "loss", L)
    _finite(ns, "gradient", *(a for _, a in result.arrays()))
    return L, result
