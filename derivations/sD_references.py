"""Section D: the references inside the proofs, and the basis of Section D's steps.

Amendments to the statements of derivations/sD_fast.py (the registry applies them):

* Theorem D.6's proof recalls "p1(x) (see Lemma D.5) and p2(x) (Lemma D.4)": the objects the
  cited lemmas define, put in p = p1 - p2, must give Definition C.5's p;
* Lemma D.3's "k2 = max{d, k} + d" uses a k no lemma defines;
* Lemma D.5's proof defines "r(x)_j0 is f(x)_j0 q(x)_j0", a product of two column vectors;
* the steps of Section D that hold by how the factors were built (a factor's number of
  columns, the algebraic identity behind Lemma D.2, Lemma D.3's printed factorisation) are
  marked "by construction".
"""
from __future__ import annotations

import math
import re

import mpmath
import numpy as np

import attngrad

from .core import MATMUL_SHAPES, Erratum, Step, undefined
from .instances import as_mpmath, dyadic_instance
from .registry import Amendment, get

CASES = ((10, 2, 1), (7, 3, 5))  # dyadic instances (n, d, seed), as in sD_fast


def _args(case):
    n, d, seed = case
    m = as_mpmath(dyadic_instance(n, d, seed=seed))
    return [m[k] for k in ("A1", "A2", "A3", "E", "X", "Y")]


# ---------------------------------------------------------------------------
# Theorem D.6: which lemma defines p1 and p2

_OBJECTS = {"p1": attngrad.p1, "p2": attngrad.p2}


def defined_in(lemma: str) -> str:
    """The object ("p1" or "p2") that the printed text of ``lemma`` defines."""
    found = [k for k in _OBJECTS if re.search(rf"\b{k}\(x\) (:=|is)", get(lemma).printed)]
    if len(found) != 1:
        raise ValueError(f"{lemma} defines {found or 'none'} of p1, p2")
    return found[0]


def _p_from(cited_p1, cited_p2):
    """p1 - p2 with p1 (p2) the object the lemma cited for it defines, against Definition C.5's
    p (attngrad.p, 1/d of Section D)."""
    def compute():
        out = []
        for case in CASES:
            a = _args(case)
            p1 = _OBJECTS[defined_in(cited_p1)](*a)
            p2 = _OBJECTS[defined_in(cited_p2)](*a)
            out.append((f"n={case[0]} d={case[1]}", p1 - p2, attngrad.p(*a)))
        return out
    return compute


THEOREM_D6 = Amendment(
    "Theorem D.6",
    steps=[Step("p1 (Lemma D.5), p2 (Lemma D.4)", "'Recall definition of n x n matrices p(x) "
                "(Definition C.5), p1(x) (see Lemma D.5) and p2(x) (Lemma D.4) ... p(x) = p1(x) - "
                "p2(x)': with p1, p2 the objects the cited lemmas define (50 digits)", "mpmath",
                _p_from("Lemma D.5", "Lemma D.4"))],
    corrected=[Step("p1 (Lemma D.4), p2 (Lemma D.5)", "p1 defined in Lemma D.4 (f o q), p2 in "
                    "Lemma D.5 (diag(r) f): p1 - p2 = p (50 digits)", "mpmath",
                    _p_from("Lemma D.4", "Lemma D.5"))],
    errata=[Erratum(
        location="Theorem D.6, proof (first line)",
        printed="p1(x) (see Lemma D.5) and p2(x) (Lemma D.4)",
        corrected="p1(x) (see Lemma D.4) and p2(x) (Lemma D.5)",
        evidence="Lemma D.4 defines p1(x) := f(x) o q(x) and Lemma D.5 defines p2(x); with the "
                 "cited lemmas' objects p1 - p2 is -p (n = 10, d = 2, dyadic seed 1, 50 digits). "
                 "Rerun: attngrad check --only \"Theorem D.6\"",
        step="p1 (Lemma D.5), p2 (Lemma D.4)")],
    basis={},
)

# ---------------------------------------------------------------------------
# Lemma D.3: k2 = max{d, k} + d

# (degree g, d) of the low-rank f of Lemma D.1: k1 = binom(g + d, d)
RANKS = ((2, 2), (2, 3), (4, 8))
# the names Lemma D.3 and the lemmas before it define (k1: Lemma D.1; k2: Lemma D.3)
DEFINED = ("n", "d", "k1", "k2")


def _printed_k2(names: dict) -> int:
    """'k2 = max{d, k} + d', evaluated with the names the lemmas define."""
    return max(names["d"], names["k"]) + names["d"]


def _k2_printed():
    out = []
    for g, d in RANKS:
        k1 = math.comb(g + d, d)
        names = dict(zip(DEFINED, (None, d, k1, None)))
        out.append((f"g={g} d={d}", k1 + d, _printed_k2(names)))
    return out


def _k2_as_k1():
    out = []
    for g, d in RANKS:
        k1 = math.comb(g + d, d)
        out.append((f"g={g} d={d}", k1 + d, _printed_k2({"d": d, "k": k1})))
    return out


def _k2_as_k2():
    """Reading k as k2 itself: k2 = max{d, k2} + d has no solution (its right side exceeds k2)."""
    out = []
    for _, d in RANKS:
        solutions = [k2 for k2 in range(1, 10_000) if k2 == _printed_k2({"d": d, "k": k2})]
        out.append((f"d={d}", len(solutions), 0))
    return out


LEMMA_D3 = Amendment(
    "Lemma D.3",
    steps=[Step("k2 = max{d, k} + d", "the printed rank, evaluated with the names Lemmas D.1 to "
                "D.3 define (n, d, k1, k2), must cover the k1 + d columns of the printed factors",
                "exact", _k2_printed, relation="<=", ill_formed=undefined("k"))],
    corrected=[Step("k := k1", "reading k as Lemma D.1's k1: max{d, k1} + d >= k1 + d", "exact",
                    _k2_as_k1, relation="<="),
               Step("not k := k2", "reading k as k2 makes k2 = max{d, k2} + d, which no k2 solves",
                    "exact", _k2_as_k2)],
    errata=[Erratum(
        location="Lemma D.3, proof (the rank k2)",
        printed="k2 = max{d, k} + d = n^{o(1)}",
        corrected="k2 = max{d, k1} + d (k1 of Lemma D.1); the factors U2 = c~, V2 = h of the "
                  "corrected lemma need only k2 = d",
        evidence="k is not defined in Lemmas D.1 to D.3 (they define n, d, k1, k2): evaluating the "
                 "printed formula raises KeyError 'k'; read as k2 it has no solution, read as k1 it "
                 "covers the printed factors' k1 + d columns. Rerun: attngrad check --only \"Lemma D.3\"",
        step="k2 = max{d, k} + d")],
    basis={"printed factorisation": "by construction",
           "k2 = max{d, k} + d suffices": "by construction",
           "corrected:k2 = d": "by construction"},
)

# ---------------------------------------------------------------------------
# Lemma D.5: r(x)_j0


def _r_printed():
    """'r(x)_j0 is f(x)_j0 q(x)_j0': the product of the column vectors f(x)_j0, q(x)_j0 (n x 1)."""
    out = []
    for case in CASES:
        a = _args(case)
        f, q = attngrad.f(a[0], a[1], a[4]), attngrad.q(*a)
        r = attngrad.r(*a)
        out.append((f"n={case[0]} d={case[1]}",
                    np.array([(f[j][:, None] @ q[j][:, None])[0, 0] for j in range(len(r))]), r))
    return out


def _r_inner():
    """r(x)_j0 = <f(x)_j0, q(x)_j0> (mpmath.fdot) = attngrad.r (50 digits)."""
    out = []
    for case in CASES:
        a = _args(case)
        f, q = attngrad.f(a[0], a[1], a[4]), attngrad.q(*a)
        out.append((f"n={case[0]} d={case[1]}",
                    np.array([mpmath.fdot(f[j], q[j]) for j in range(f.shape[0])], dtype=object),
                    attngrad.r(*a)))
    return out


LEMMA_D5 = Amendment(
    "Lemma D.5",
    steps=[Step("r(x)_j0 is f(x)_j0 q(x)_j0", "the printed definition, with f(x)_j0, q(x)_j0 the "
                "column vectors of R^n, against attngrad.r", "mpmath", _r_printed,
                ill_formed=MATMUL_SHAPES)],
    corrected=[Step("r(x)_j0 = <f(x)_j0, q(x)_j0>", "the inner product (mpmath.fdot) = attngrad.r "
                    "(50 digits)", "mpmath", _r_inner)],
    errata=[Erratum(
        location="Lemma D.5, proof (definition of r)",
        printed="r(x)_{j0} is f(x)_{j0} q(x)_{j0}",
        corrected="r(x)_{j0} := <f(x)_{j0}, q(x)_{j0}> (the next line uses the inner product)",
        evidence="f(x)_{j0} and q(x)_{j0} are both in R^n: the product of two n x 1 columns is "
                 "undefined for n >= 2 (a shape error at n = 10). Rerun: attngrad check --only "
                 "\"Lemma D.5\"",
        step="r(x)_j0 is f(x)_j0 q(x)_j0")],
    basis={"k4 = k1": "by construction", "corrected:V1^T V2 is k1 x k2": "by construction"},
)

AMENDMENTS = [
    Amendment("Lemma D.1", basis={"k1 = binom(g + d, d)": "by construction"}),
    Amendment("Lemma D.2", basis={"identity": "by construction"}),
    LEMMA_D3,
    Amendment("Lemma D.4", basis={"k3 = k1 k2": "by construction"}),
    LEMMA_D5,
    THEOREM_D6,
]
