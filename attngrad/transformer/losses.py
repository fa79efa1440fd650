"""The two built-in losses of the multi-layer model and their gradients dL/dT_m.

* squared:        L = 0.5 ||T_m - target||_F^2,       dL/dT_m = T_m - target
  (Definition 1.2 of the first paper with E = target);
* cross-entropy:  logits Z = T_m W_head (n x vocab), L = sum_i (log sum_v exp(Z_iv) - Z_{i,y_i})
  (``reduction="mean"`` divides by n), dL/dZ = softmax(Z) - onehot(y) (rows summed to zero),
  dL/dT_m = dL/dZ W_head^T, dL/dW_head = T_m^T dL/dZ.
"""
from __future__ import annotations

import operator

import numpy as np

from .. import formulas as F
from .attention import zero_row_sums


def squared(ns, T, target):
    """(L, dL/dT)."""
    diff = T - target
    return F.loss_from_c(ns, diff), diff


def check_labels(labels, n, vocab):
    """labels as a host int array of length n with values in [0, vocab), or ValueError/TypeError
    naming ``labels``."""
    if type(labels).__module__.split(".")[0] == "cupy":
        labels = labels.get()
    arr = np.asarray(labels)
    if arr.dtype == object:
        try:
            arr = np.array([operator.index(v) for v in arr.reshape(-1)], dtype=np.int64).reshape(
                arr.shape)
        except TypeError:
            raise TypeError("labels: expected integers") from None
    if arr.dtype.kind not in "iu":
        raise TypeError(f"labels: expected an integer array, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"labels: expected shape ({n},) (one label per row of X), "
                         f"got {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= vocab):
        bad = int(arr[(arr < 0) | (arr >= vocab)][0])
        raise ValueError(f"labels: every label must be in [0, {vocab}) (the head has {vocab} "
                         f"columns), got {bad}")
    return arr.astype(np.int64)


def cross_entropy(ns, T, head, labels, reduction, parts=False):
    """(L, dL/dT, dL/dW_head); ``labels`` from :func:`check_labels`. With ``parts``, also
    dL/dZ (after the row-sum correction) and each row's largest logit's column (the fast path's
    certificate uses them)."""
    xp = ns.xp
    Z = T @ head
    n = Z.shape[0]
    m = xp.max(Z, axis=1, keepdims=True)
    w = ns.exp(Z - m)
    total = xp.sum(w, axis=1, keepdims=True)
    rows, y = xp.arange(n), xp.asarray(labels)   # index arrays on the arrays' device
    L = xp.sum(m[:, 0] + ns.log(total[:, 0]) - Z[rows, y])
    dZ = w / total
    dZ[rows, y] -= ns.scalar(1)
    zero_row_sums(ns, dZ, w)          # rows of softmax - onehot sum to 0
    if reduction == "mean":
        L, dZ = L / ns.scalar(n), dZ / ns.scalar(n)
    from .backprop import gram

    if parts:
        return L, dZ @ head.T, gram(T, dZ), dZ, ns.row_argmax(w)
    return L, dZ @ head.T, gram(T, dZ)
