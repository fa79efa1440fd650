"""Public functions: validate, pick the namespace, run the one algorithm.

Every function returns arrays of the number system it was given (numpy float,
numpy object arrays of mpmath.mpf, or CuPy). ``scale`` is the factor in front
of A1 X A2^T: ``None`` means 1/d as in Definition 1.2; Sections 3 to C of the
paper use ``scale=1``.
"""
from __future__ import annotations

import inspect

from . import blocked as B
from . import formulas as F
from . import validate


def _finite(ns, what, out):
    if not ns.isfinite_all(out):
        raise ValueError(
            f"{what}: the result overflowed in {ns.name} {ns.dtype} (inputs too large for "
            "this dtype); use float64 or mpmath object arrays")
    return out


def _fast_options(caller, fn, options, handled):
    """TypeError naming ``caller(method='fast')`` for a keyword the fast method does not take
    (its keyword-only parameters, less those ``caller`` passes itself), before dispatch."""
    accepted = {name for name, prm in inspect.signature(fn).parameters.items()
                if prm.kind is prm.KEYWORD_ONLY} - set(handled)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(f"{caller}(method='fast'): unexpected keyword(s) {unknown}; "
                        f"its options are {sorted(accepted)}")


def _forward_f(A1, A2, X, scale):
    ns, dims, (A1, A2, X) = validate.arrays({"A1": ("n", "d"), "A2": ("n", "d"), "X": ("d", "d")},
                                     A1=A1, A2=A2, X=X)
    s = F.scale_value(ns, scale, dims["d"])
    return ns, F.scores(ns, A1, A2, X, s)


def u(A1, A2, X, *, scale=None):
    """u(x) of Definition 3.2 as an n x n matrix: row j0 is u(x)_{j0} = exp(A_{j0} x) (Fact 3.9)."""
    ns, S = _forward_f(A1, A2, X, scale)
    return _finite(ns, "u", F.u(ns, S))


def alpha(A1, A2, X, *, scale=None):
    """alpha(x) of Definition 3.3: alpha(x)_{j0} = <u(x)_{j0}, 1_n>, a length-n vector."""
    ns, S = _forward_f(A1, A2, X, scale)
    return _finite(ns, "alpha", ns.xp.sum(F.u(ns, S), axis=1))


def f(A1, A2, X, *, scale=None):
    """f(x) of Definition 3.4: D^{-1} exp(scale A1 X A2^T), rows f(x)_{j0}^T (stable softmax)."""
    ns, S = _forward_f(A1, A2, X, scale)
    return _finite(ns, "f", F.softmax_rows(ns, S))


def h(A3, Y):
    """h(y) of Definition 3.5: the n x d matrix A3 Y, column i0 is h(y)_{i0} = A3 Y_{*,i0}."""
    ns, _, (A3, Y) = validate.arrays({"A3": ("n", "d"), "Y": ("d", "d")}, A3=A3, Y=Y)
    return _finite(ns, "h", F.h(ns, A3, Y))


def _chain(A1, A2, A3, E, X, Y, scale):
    ns, dims, (A1, A2, A3, E, X, Y) = validate.loss_args(A1, A2, A3, E, X, Y)
    s = F.scale_value(ns, scale, dims["d"])
    fx = F.softmax_rows(ns, F.scores(ns, A1, A2, X, s))
    hy = F.h(ns, A3, Y)
    cx = F.c(ns, fx, hy, E)
    return ns, fx, hy, cx


def c(A1, A2, A3, E, X, Y, *, scale=None):
    """c(x) of Definition 3.6: f(x) h(y) - E, an n x d matrix."""
    ns, _, _, cx = _chain(A1, A2, A3, E, X, Y, scale)
    return _finite(ns, "c", cx)


def q(A1, A2, A3, E, X, Y, *, scale=None):
    """q(x) of Definition C.3: c(x) h(y)^T, an n x n matrix."""
    ns, _, hy, cx = _chain(A1, A2, A3, E, X, Y, scale)
    return _finite(ns, "q", F.q(ns, cx, hy))


def p1(A1, A2, A3, E, X, Y, *, scale=None):
    """p1(x) of Lemma D.4: f(x) o q(x)."""
    ns, fx, hy, cx = _chain(A1, A2, A3, E, X, Y, scale)
    return _finite(ns, "p1", F.p1(ns, fx, F.q(ns, cx, hy)))


def r(A1, A2, A3, E, X, Y, *, scale=None):
    """r(x) of Lemma D.5: r(x)_{j0} = <f(x)_{j0}, q(x)_{j0}>, a length-n vector."""
    ns, fx, hy, cx = _chain(A1, A2, A3, E, X, Y, scale)
    return _finite(ns, "r", F.r(ns, fx, F.q(ns, cx, hy)))


def p2(A1, A2, A3, E, X, Y, *, scale=None):
    """p2(x) of Lemma D.5: row j0 is f(x)_{j0} f(x)_{j0}^T q(x)_{j0} = r(x)_{j0} f(x)_{j0}."""
    ns, fx, hy, cx = _chain(A1, A2, A3, E, X, Y, scale)
    return _finite(ns, "p2", F.p2(ns, fx, F.r(ns, fx, F.q(ns, cx, hy))))


def p(A1, A2, A3, E, X, Y, *, scale=None):
    """p(x) of Definition C.5: row j0 is (diag(f(x)_{j0}) - f(x)_{j0} f(x)_{j0}^T) q(x)_{j0}."""
    ns, fx, hy, cx = _chain(A1, A2, A3, E, X, Y, scale)
    return _finite(ns, "p", F.p(ns, fx, F.q(ns, cx, hy)))


def loss(A1, A2, A3, E, X, Y, *, scale=None, block=None):
    """L(X) of Definition 1.2: 0.5 || D(X)^{-1} exp(A1 X A2^T / d) A3 Y - E ||_F^2.

    Returns a 0-d array (numpy / CuPy) or an mpmath.mpf. ``block``: rows per block
    (int), rows x cols tiles (pair), or None for :func:`attngrad.blocked.auto_block`;
    memory O(n d + tile) (see attngrad/blocked.py).
    """
    B.check_block(block)
    ns, dims, args = validate.loss_args(A1, A2, A3, E, X, Y)
    s = F.scale_value(ns, scale, dims["d"])
    return _finite(ns, "loss", B.loss(ns, *args, s, block=block))


def attention(Q, K, V, *, scale=None, block=None, method="exact", **options):
    """D^{-1} exp(Q K^T / d) V with D = diag(exp(Q K^T / d) 1_n), the forward problem of AS23.

    Q and K are n x d, V is n x d_v; d is Q's column count. ``block`` as in :func:`loss`.
    method="fast" (needs ``eps``): the polynomial method of AS23 / Lemma D.1 with a
    certified entry-wise error <= eps (:func:`attngrad.fast.attention_fast`).
    """
    validate.choice("method", method, {"exact", "fast"})
    if method == "fast":
        if block is not None:
            raise ValueError("block: only method='exact' computes by blocks, got method='fast'")
        from .fast import attention_fast  # AS23 via Lemma D.1

        _fast_options("attention", attention_fast, options, ("scale", "block"))
        return attention_fast(Q, K, V, scale=scale, **options)
    if options:
        raise TypeError(f"attention: unexpected keyword(s) {sorted(options)} for method={method!r}")
    B.check_block(block)
    ns, dims, (Q, K, Vv) = validate.arrays(
        {"Q": ("n", "d"), "K": ("n", "d"), "V": ("n", "dv")}, Q=Q, K=K, V=V)
    s = F.scale_value(ns, scale, dims["d"])
    return _finite(ns, "attention", B.attention(ns, Q, K, Vv, s, block=block))


_EXACT = {"X": B.gradient_X, "Y": B.gradient_Y}  # Lemma C.8 by row blocks
def gradient(A1, A2, A3, E, X, Y, *, wrt="X", method="exact", scale=None, block=None,
             **options):
    """dL/dX (or dL/dY with ``wrt="Y"``) of Definition 1.2 as a d x d matrix.

    The paper's vectorised gradient dL(x)/dx in R^{d^2} (Lemma C.7) is the
    row-major vec of this matrix: ``gradient(...).reshape(-1)``; with the 1/d of
    Definition 1.2 it equals (1/d) vec(A1^T p(x) A2).

    method:
      * ``"exact"``: Lemma C.8, O(n^2 d + n d^2) time, by row blocks of ``block`` rows
        (or ``(rows, cols)`` tiles; None: :func:`attngrad.blocked.auto_block`), so
        memory is O(n d + tile) (see attngrad/blocked.py).
      * ``"naive"``: Lemma B.1 Part 8 summed over the Kronecker blocks A_{j0},
        O(n^2 d^3); a slow, literal cross-check (wrt="X" only).
      * ``"fast"``: the almost-linear polynomial method of Section D (needs ``eps``).
    """
    validate.choice("wrt", wrt, {"X", "Y"})
    validate.choice("method", method, {"exact", "naive", "fast"})
    if B.check_block(block) is not None and method != "exact":
        raise ValueError(f"block: only method='exact' computes by blocks, got method={method!r}")
    if method == "fast":
        from .fast import gradient_fast  # Section D

        _fast_options("gradient", gradient_fast, options, ("wrt", "scale", "block"))
        return gradient_fast(A1, A2, A3, E, X, Y, wrt=wrt, scale=scale, **options)
    if options:
        raise TypeError(f"gradient: unexpected keyword(s) {sorted(options)} for method={method!r}")
    if method == "naive" and wrt != "X":
        raise ValueError(f"method: {method!r} is only available for wrt='X'")
    ns, dims, args = validate.loss_args(A1, A2, A3, E, X, Y)
    s = F.scale_value(ns, scale, dims["d"])
    if method == "naive":
        return _finite(ns, "gradient", F.gradient_naive_X(ns, *args, s))
    return _finite(ns, "gradient", _EXACT[wrt](ns, *args, s, block=block))
