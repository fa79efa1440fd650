"""Lemma D.1's factors: monomial features of the queries and keys (AS23, Section 3).

A polynomial P(t) = sum_m a_m t^m of degree g gives, for t = <q, k>,

    P(<q, k>) = sum_{|alpha| <= g} a_{|alpha|} multinom(alpha) q^alpha k^alpha,

so exp(S) ~ U0 V0^T with U0 = (a_{|alpha|} multinom(alpha) q_i^alpha) and V0 = (k_j^alpha), of
rank k1 = binom(g + d, d). The monomials are graded by degree, so the features of degree <= g
are a prefix of those of degree <= g + 1 (what degree selection reuses, attngrad/fast/degree.py).
"""
from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np

from .rounding import prec_of


@lru_cache(maxsize=64)
def monomial_plan(d: int, degree: int):
    """Exponents alpha (|alpha| <= degree), graded by degree, with a recursion plan.

    Within degree m the exponents are grouped by their last non-zero variable v; the
    group v is {e + e_v : e of degree m-1 whose last variable is <= v}, and those e form a
    prefix of degree m-1. So each group is a prefix of the previous level times z_v: no
    gathers. Returns (exponents, levels, multinomials) with levels[m-1] = (start, groups),
    groups = ((v, prefix_length), ...). The plan of degree g is a prefix of that of g + 1.
    """
    levels_exps = [[(0,) * d]]
    last = [-1]
    levels = []
    for m in range(1, degree + 1):
        prev, prev_last = levels_exps[-1], last
        cur, cur_last, groups = [], [], []
        for v in range(d):
            plen = sum(1 for L in prev_last if L <= v)  # a prefix, by induction
            for e in prev[:plen]:
                ee = list(e)
                ee[v] += 1
                cur.append(tuple(ee))
                cur_last.append(v)
            groups.append((v, plen))
        levels.append((sum(len(x) for x in levels_exps), tuple(groups)))
        levels_exps.append(cur)
        last = cur_last
    exps = tuple(e for lev in levels_exps for e in lev)
    multinom = [math.factorial(sum(e)) // math.prod(math.factorial(x) for x in e) for e in exps]
    return exps, tuple(levels), tuple(multinom)


def rank_for(d: int, degree: int) -> int:
    """k1 = binom(degree + d, d): the number of monomials of degree <= g in d variables."""
    return math.comb(degree + d, d)


def features(ns, Z, plan, coef=None):
    """Rows z_i -> (z_i^alpha)_alpha (times coef_alpha): the factor matrix of Lemma D.1.

    Returned transposed (k1 x b, one feature per row); each degree is built from the
    previous one by contiguous slices (see :func:`monomial_plan`), in O(b k1).
    """
    xp = ns.xp
    exps, levels, _ = plan
    ZT = Z.T
    out = xp.empty((len(exps), Z.shape[0]), dtype=ns.dtype)  # every row is written below
    out[0:1] = ns.ones((1, Z.shape[0]))
    pstart = 0
    for start, groups in levels:
        pos = start
        for v, plen in groups:
            xp.multiply(out[pstart:pstart + plen], ZT[v][None, :], out=out[pos:pos + plen])
            pos += plen
        pstart = start
    if coef is not None:
        out *= coef[:, None]
    return out


def coef_vector(ns, poly, plan):
    """coef_alpha = a_{|alpha|} multinom(alpha), rounded once into the namespace."""
    exps, _, multinom = plan
    with mpmath.workprec(prec_of(ns)):  # one rounding, at the precision the bound assumes
        vals = [poly.coeffs[sum(e)] * multinom[i] for i, e in enumerate(exps)]
    if ns.name == "mpmath":
        return ns.asarray(np.array([+mpmath.mpf(v) for v in vals], dtype=object))
    return ns.asarray(np.array([float(v) for v in vals], dtype=np.float64))


def feature_consts(coeffs, d, degree, k, qm, km, omega):
    """(Cc, SPhi, Mk, P_uf) for the underflow terms of the certificate (numpy dtypes):
    Cc >= sum_alpha |coef_alpha| = sum_m |a_m| d^m; SPhi >= sum_alpha |Phi_i alpha| (computed
    query features, |q| <= qm); Mk >= |Psi_j alpha| (|k| <= km); P_uf >= the absolute error of one
    sum_alpha Phi_i alpha Psi_j alpha from underflow in the features (each chain of <= g
    products loses <= omega times the remaining factors, <= max(1, |z|)^g). ``omega`` is the
    scaled omega of :func:`attngrad.fast.rounding.omega_of`, so P_uf is scaled the same way."""
    Cc = sum(abs(float(a)) * float(d) ** m for m, a in enumerate(coeffs)) * (1 + 1e-12)
    Mq = max(1.0, qm) ** degree
    Mk = max(1.0, km) ** degree * 1.01
    SPhi = 2 * Cc * Mq
    P_uf = 1.1 * (2 * degree * Cc + k) * Mq * Mk * omega
    return Cc, SPhi, Mk, P_uf
