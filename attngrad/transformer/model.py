"""The multi-layer model of LSS24 (Definitions 1.2, 1.3, 3.1, I.5, J.1, J.2, K.1): its layers and
the checks that turn a caller's (X, layers) into arrays of one number system.

Layer i maps T_{i-1} (n x d) to T_i:

    head l:  S_l = s (T W_Q^l)(T W_K^l)^T,  f_l = row-softmax(S_l)  (causal: j > i excluded),
             O_l = f_l T W_V^l  (n x d_h); Attn(T) = [O_1, ..., O_h]  (n x d)
    Z_i = T_{i-1} + Attn(T_{i-1})  (residual)  or  Attn(T_{i-1})
    T_i = Z_i + phi(Z_i W_g)  (mlp_residual),  phi(Z_i W_g)  (MLP),  or  Z_i  (no MLP)

W^l is the block of columns l d_h .. (l+1) d_h - 1 of W (d_h = d / h), and s = 1/d_h unless
``scale`` says otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import validate
from .activations import PHIS


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer: attention with ``heads`` heads, an optional residual, an optional MLP.

    W_Q, W_K, W_V: d x d (head l uses columns l d_h .. (l+1) d_h - 1; d_h = d / heads).
    W_g:           d x d, the MLP's weight (None: no MLP); ``phi`` its activation, one of
                   "identity", "relu", "tanh", "gelu" (erf form), "gelu_tanh" (tanh form).
    causal:        row i attends to columns j <= i only (LSS24 Definition I.5).
    residual:      Z = T + Attn(T) (LSS24 Definition J.1) instead of Z = Attn(T).
    mlp_residual:  T' = Z + phi(Z W_g) instead of phi(Z W_g) (needs W_g).

    The arrays are kept as given (any of attngrad's number systems, all layers and X in the
    same one); shapes are checked against X when the model runs.
    """

    W_Q: object
    W_K: object
    W_V: object
    W_g: object = None
    phi: str = "identity"
    heads: int = 1
    causal: bool = False
    residual: bool = False
    mlp_residual: bool = False

    def __post_init__(self):
        validate.choice("phi", self.phi, set(PHIS))
        validate.integer("heads", self.heads)
        for flag in ("causal", "residual", "mlp_residual"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag}: expected True or False, got {getattr(self, flag)!r}")
        if self.W_g is None and self.mlp_residual:
            raise ValueError("mlp_residual: needs an MLP (W_g is None)")
        if self.W_g is None and self.phi != "identity":
            raise ValueError(f"phi: {self.phi!r} needs an MLP (W_g is None)")

    @property
    def weights(self) -> dict:
        """The layer's weight matrices by name (W_g only with an MLP)."""
        out = {"W_Q": self.W_Q, "W_K": self.W_K, "W_V": self.W_V}
        if self.W_g is not None:
            out["W_g"] = self.W_g
        return out


@dataclass
class Checked:
    """(X, layers) validated: the namespace, the arrays in it, and the model's sizes."""

    ns: object
    X: object
    weights: list   # one dict per layer, arrays of ns
    layers: list    # the Layer objects (for their options)
    n: int
    d: int
    extra: dict     # the extra named arrays (dT, target, ...), arrays of ns


def check_model(X, layers, extra=None) -> Checked:
    """Validate X (n x d), ``layers`` (a non-empty list of :class:`Layer`) and ``extra``
    (name -> (array or None, shape symbols such as ("n", "d") or ("d", "vocab"))), all in one
    number system.

    Every error names the argument and, for weights, the layer index ("layers[2].W_K").
    """
    if isinstance(layers, Layer):
        raise TypeError("layers: expected a list of Layer, got one Layer (wrap it in a list)")
    try:
        layers = list(layers)
    except TypeError:
        raise TypeError(f"layers: expected a list of Layer, got {type(layers).__name__}") from None
    if not layers:
        raise ValueError("layers: at least one Layer is needed")
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(f"layers[{i}]: expected an attngrad.transformer.Layer, "
                            f"got {type(layer).__name__}")
    named, shapes = {"X": X}, {"X": ("n", "d")}
    for i, layer in enumerate(layers):
        for name, W in layer.weights.items():
            named[f"layers[{i}].{name}"] = W
            shapes[f"layers[{i}].{name}"] = ("d", "d")
    for name, (a, shape) in (extra or {}).items():
        if a is not None:
            named[name], shapes[name] = a, shape
    ns, dims, arrays = validate.arrays(shapes, **named)
    by_name = dict(zip(named, arrays))
    n, d = dims["n"], dims["d"]
    weights = []
    for i, layer in enumerate(layers):
        if d % layer.heads:
            raise ValueError(f"layers[{i}].heads: d = {d} is not divisible by heads = "
                             f"{layer.heads}")
        weights.append({name: by_name[f"layers[{i}].{name}"] for name in layer.weights})
    return Checked(ns, by_name["X"], weights, layers, n, d,
                   {k: by_name[k] for k in named if k != "X" and not k.startswith("layers[")})
