"""f(lambda) of Lemma E.3 and its first two derivatives, written once for every number system.

For an N x N score matrix S and V (N x d), P = softmax_rows(lambda S), y = P V and
f(lambda) = ||y||_F^2. With s_i = sum_j P_ij S_ij (the row mean of the scores under P):

  y'_il  = sum_j P_ij (S_ij - s_i) V_jl                     (a covariance)
  y''_il = sum_j P_ij (S_ij - s_i)^2 (V_jl - y_il)          (a third mixed moment)
  f'  = 2 sum y y',   f'' = 2 sum (y'^2 + y y'').

Used by the checks of Lemmas E.3, E.4, E.6 (these do look at the scores; the
decoder never does).
"""
from __future__ import annotations

from .. import formulas as F
from ..backend import get_namespace


def f_derivatives(S, V, lam):
    """(f, f', f'') at lam, in the number system of S and V."""
    ns = get_namespace(S=S, V=V)
    lam = ns.scalar(lam) if not hasattr(lam, "dtype") else lam
    xp = ns.xp
    P = F.softmax_rows(ns, S * lam)
    y = P @ V
    s = xp.sum(P * S, axis=1, keepdims=True)
    D = S - s
    y1 = (P * D) @ V
    y2 = (P * D * D) @ V - xp.sum(P * D * D, axis=1, keepdims=True) * y
    two = ns.scalar(2)
    return xp.sum(y * y), two * xp.sum(y * y1), two * xp.sum(y1 * y1 + y * y2)
