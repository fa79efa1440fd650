"""LSS24 Appendix C.4 and Lemma I.1: the low-rank representations (Lemmas C.13 to C.16) and
AS23's low-rank approximation as LSS24 restates it.

LSS24 cites these (C.13 from [AS23] Section 3 / [AS24a] Lemma D.1, C.15 and C.16 from [AS24a]
Lemmas D.4, D.5, I.1 from [AS23]) and proves only C.14. What is checked, on exact instances in
ball arithmetic (derivations/lss24.py's :func:`lowrank`, AS23's construction with the Taylor
polynomial of exp, degree g, rank binom(g + d, d)):

* the factorisations (row-wise Kronecker products, diagonal scalings) as identities;
* every printed inequality, with eps replaced by the measured eps1 = ||U1 V1^T - f||_inf, and
  the construction's own bound |U1 V1^T - f| <= 2 eta / (1 - eta) f;
* the ranks, and the running time by counting the construction's operations (attngrad.opcount):
  affine in n for a fixed rank.

What the asymptotic claims (k1 = n^{o(1)} for every R = o(sqrt(log n)), eps/poly(n)) rest on is
AS23's theorem, cited; the gaps say so.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from attngrad.kron import rowwise_kron

from . import lss24 as L
from .balls import abs_array
from .core import Statement, Step

PAPER = L.PAPER
EQ_TOL = 1e-30     # ball equalities: two computations of one identity at 160 bits


def _scores_attained():
    """Under ||X W||_inf <= R and ||X||_inf <= R (Lemma C.13, no 1/d) a score X W X^T can be
    d R^2: X = R 1 1^T, W = 1 1^T / d gives X W = R 1 1^T and every score d R^2 (exact)."""
    out = []
    for n, d, R in ((4, 3, Fraction(2)), (3, 8, Fraction(1, 2)), (5, 16, Fraction(3))):
        X = np.full((n, d), R, dtype=object)
        W = np.full((d, d), Fraction(1, d), dtype=object)
        XW = X @ W
        S = XW @ X.T
        assert max(abs(v) for v in XW.reshape(-1)) <= R
        out.append((f"n={n},d={d},R={R}: max score = d R^2", max(abs(v) for v in S.reshape(-1)),
                    d * R * R))
    return out


def _relative(ctx):
    """|U1 V1^T - f| <= 2 eta / (1 - eta) f entrywise (the Taylor construction's bound)."""
    eta = ctx["eta"]
    return (abs_array(ctx["ft"] - ctx["f"]), (2 * eta / (1 - eta)) * ctx["f"])


def _count_construction(degree, d):
    """Operations of building U0, V0, alpha~ = U0 (V0^T 1) and U1 = diag(alpha~)^{-1} U0 at
    three n: exactly affine in n (collinear counts)."""
    def counts(n):
        from attngrad import opcount
        ns = opcount.CountingNamespace()
        rng = np.random.default_rng(0)
        Q, K = ns.wrap(rng.standard_normal((n, d))), ns.wrap(rng.standard_normal((n, d)))
        U0, V0 = L.taylor_factors(Q, K, degree)
        U0, V0 = ns.wrap(U0), ns.wrap(V0)
        alpha = U0 @ V0.sum(axis=0)
        U0 / alpha[:, None]
        return opcount.total(ns.log)
    c = [counts(n) for n in (16, 64, 256)]
    return (c[1] - c[0]) * (256 - 16), (c[2] - c[0]) * (64 - 16)


LEMMA_C13 = Statement(
    id="LSS24 Lemma C.13",
    paper=PAPER,
    summary="U1 V1^T ~ f(X) = D^{-1} exp(X W X^T) with k1 = n^{o(1)} columns when ||X W||_inf, "
            "||X||_inf <= R = o(sqrt(log n)) (cited [AS23]); without the 1/d the scores reach "
            "d R^2",
    printed=("Lemma C.13 (Low rank representation to f, Section 3 of [AS23], Lemma D.1 of "
             "[AS24a]): For any A = o(sqrt(log n)), there exists a k1 = n^{o(1)} such that: Let "
             "X in R^{n x d} and W in R^{d x d}. If ||X W||_inf <= R, ||X||_inf <= R, then there "
             "are U1, V1 in R^{n x k1} with ||U1 V1^T - f(X)||_inf <= eps/poly(n), where f(X) = "
             "D^{-1} exp(X W X^T), D = diag(exp(X W X^T) 1_n). U1, V1 can be constructed in "
             "n^{1+o(1)} time. (No proof.)"),
    steps=[
        Step("[AS23] Section 3", "AS23's theorem: for scores bounded by o(log n) (entries of "
             "Q = X W / d, K = X bounded by R = o(sqrt(log n)), d = O(log n)) a rank-n^{o(1)} "
             "approximation with error 1/poly(n) is built in n^{1+o(1)} time [AS23]", "mpmath",
             None, basis="cited"),
        Step("scores under the printed hypotheses", "with the printed exponent (no 1/d) the "
             "hypotheses allow scores d R^2, attained (exact rationals): d times AS23's R^2",
             "exact", _scores_attained),
        Step("construction: |U1 V1^T - f| <= 2 eta/(1 - eta) f", "AS23's construction with "
             "the degree-g Taylor polynomial (derivations/lss24.py): entrywise relative error "
             "of f~ within 2 eta / (1 - eta), eta = B^{g+1} e^{2B} / (g+1)! for scores <= B "
             "(ball arithmetic; n = 12, d = 2, g = 3 and n = 9, d = 3, g = 2)", "ball",
             L.each_lowrank(_relative), relation="<="),
        Step("k1 = binom(g + d, d)", "one column per exponent a with |a| <= g", "exact",
             L.each_lowrank(lambda c: [("U1", c["U1"].shape[1], math.comb(c["degree"] + c["d"],
                                                                           c["d"]))]),
             basis="by construction"),
        Step("time: affine in n", "attngrad.opcount on the construction (features, alpha~ = "
             "U0 (V0^T 1_n), U1 = diag(alpha~)^{-1} U0) at n = 16, 64, 256: the three counts "
             "are collinear (d = 2, g = 3)", "exact", lambda: [("", *_count_construction(3, 2))]),
    ],
    gaps=["k1 = n^{o(1)} for every R = o(sqrt(log n)) and the eps/poly(n) accuracy: AS23's "
          "asymptotic theorem, cited, not re-proved; eps is never quantified and k1 grows with "
          "log(1/eps) (Lemma I.1)",
          "as printed, the exponent X W X^T has no 1/d, so the hypotheses bound the scores by "
          "d R^2 (attained), not by AS23's R^2: with d = Theta(log n) and R = omega(1) that is "
          "omega(log n), outside AS23's regime; with "
          "Definition C.3's 1/d the scores are at most R^2",
          "'For any A = o(sqrt(log n))' quantifies an A the statement never uses (R is meant)"],
)


def _c14(ctx):
    lhs = ctx["ft"] @ ctx["h"] - ctx["s"]
    return [("= (U1 V1^T - f) h", lhs, (ctx["ft"] - ctx["f"]) @ ctx["h"])]


def _c14_bound(ctx):
    return [("<= n eps1 ||h||", L.norm_inf(ctx["ft"] @ ctx["h"] - ctx["s"]),
             ctx["n"] * ctx["eps1"] * L.norm_inf(ctx["h"]))]


LEMMA_C14 = Statement(
    id="LSS24 Lemma C.14",
    paper=PAPER,
    summary="||U1 V1^T h(X) - s(X)||_inf <= n ||U1 V1^T - f||_inf ||h||_inf <= eps/poly(n)",
    printed=("Lemma C.14 (Low rank representation to s): d = O(log n), h(X) with O(log n)-bit "
             "entries, s(X) as Definition C.10. Then there are U1, V1 in R^{n x k1} with "
             "||U1 V1^T h(X) - s(X)||_inf <= eps/poly(n). Proof: = ||(U1 V1^T - f(X)) h(X)||_inf "
             "<= n ||U1 V1^T - f(X)||_inf ||h(X)||_inf <= n ||U1 V1^T - f(X)||_inf poly(n) <= "
             "eps/poly(n) (from ||U1 V1^T - f(X)||_inf <= eps/poly(n))."),
    steps=[
        Step("AC - BC = (A - B) C", "U1 V1^T h - s = (U1 V1^T - f) h (ball arithmetic)", "ball",
             L.each_lowrank(_c14), tol=EQ_TOL),
        Step("basic linear algebra", "||(U1 V1^T - f) h||_inf <= n eps1 ||h||_inf, eps1 = "
             "||U1 V1^T - f||_inf measured (certified)", "ball", L.each_lowrank(_c14_bound),
             relation="<="),
    ],
)


def _c15_identity(ctx):
    U3, V3 = rowwise_kron(ctx["U1"], ctx["G"]), rowwise_kron(ctx["V1"], ctx["h"])
    return [("(U1 (/) G)(V1 (/) h)^T = U1 V1^T o q", U3 @ V3.T, ctx["ft"] * ctx["q"]),
            ("k3 = k1 d", U3.shape[1], ctx["k1"] * ctx["d"])]


def _c15_bound(ctx):
    p1t = ctx["ft"] * ctx["q"]
    return [("<= eps1 ||q||", L.norm_inf(p1t - ctx["p1"]), ctx["eps1"] * L.norm_inf(ctx["q"])),
            ("||q|| <= d ||G|| ||h||", L.norm_inf(ctx["q"]),
             ctx["d"] * L.norm_inf(ctx["G"]) * L.norm_inf(ctx["h"]))]


def _c15_count():
    def fn(ns, U1, V1, G, h):
        rowwise_kron(U1, G), rowwise_kron(V1, h)
    c = L.op_count(fn, [(11, 5), (11, 5), (11, 3), (11, 3)])
    return [("2 n k1 d", c, 2 * L.n_ * L.k_ * L.d_)]


LEMMA_C15 = Statement(
    id="LSS24 Lemma C.15",
    paper=PAPER,
    summary="p1 = f o q ~ U3 V3^T with U3 = U1 (/) U2, V3 = V1 (/) V2 (k3 = k1 k2, never defined)",
    printed=("Lemma C.15 (Low rank representation to p1(X), Lemma D.4 of [AS24a]): k1, k2 = "
             "n^{o(1)}; p1(X) := f(X) o q(X); U1, V1 in R^{n x k1} with ||U1 V1^T - f||_inf <= "
             "eps/poly(n); U2, V2 in R^{n x k2} with ||U2 V2^T - q||_inf <= eps/poly(n). Then "
             "there are U3, V3 in R^{n x k3} with ||U3 V3^T - p1(X)||_inf <= eps/poly(n), "
             "constructed in n^{1+o(1)} time. (No proof; k3 is not defined.)"),
    steps=[
        Step("Fact C.2 factorisation", "with q = G h^T exactly (U2 = G, V2 = h, k2 = d): "
             "(U1 (/) G)(V1 (/) h)^T = (U1 V1^T) o q, and k3 = k1 k2 (ball; the rank by "
             "construction is part of the same case list)", "ball",
             L.each_lowrank(_c15_identity), tol=EQ_TOL),
        Step("error", "||(U1 V1^T) o q - p1||_inf <= eps1 ||q||_inf <= d eps1 ||G|| ||h|| "
             "(certified): eps/poly(n) needs ||G||, ||h|| <= poly(n), which the lemma does not "
             "assume", "ball", L.each_lowrank(_c15_bound), relation="<="),
        Step("time (counted)", "building U3 and V3 costs 2 n k1 d multiplications (exact "
             "polynomial, attngrad.opcount)", "symbolic", _c15_count),
    ],
)


def _c16(ctx):
    U3, V3 = rowwise_kron(ctx["U1"], ctx["G"]), rowwise_kron(ctx["V1"], ctx["h"])
    rt = U3 @ V3.sum(axis=0)                 # r~ = (U3 V3^T) 1_n in O(n k3)
    U4, V4 = rt[:, None] * ctx["U1"], ctx["V1"]
    r = ctx["p1"].sum(axis=1)
    f = ctx["f"]
    rows = np.array([list(f[j] * (f[j] @ ctx["q"][j])) for j in range(ctx["n"])], dtype=object)
    return {"U4V4": U4 @ V4.T, "rt": rt, "r": r, "rows": rows}


def _c16_rows(ctx):
    v = _c16(ctx)
    return [("f_j f_j^T q_j = (diag(p1 1) f)_j", v["rows"], ctx["p2"])]


def _c16_bound(ctx):
    v = _c16(ctx)
    return [("||U4 V4^T - p2|| <= ||r~ - r|| ||f~|| + ||r|| eps1",
             L.norm_inf(v["U4V4"] - ctx["p2"]),
             L.norm_inf(v["rt"] - v["r"]) * L.norm_inf(ctx["ft"])
             + L.norm_inf(v["r"]) * ctx["eps1"])]


def _c16_count():
    def fn(ns, U3, V3, U1):
        rt = U3 @ V3.sum(axis=0)
        rt[:, None] * U1
    # k3 = k1 d: U3, V3 are n x (k d)
    c = L.op_count(fn, [(11, 15), (11, 15), (11, 5)])
    n, k, d = L.n_, L.k_, L.d_
    return [("n k d + (n - 1) k d + n k", c, n * k * d + (n - 1) * k * d + n * k)]


LEMMA_C16 = Statement(
    id="LSS24 Lemma C.16",
    paper=PAPER,
    summary="p2 = diag(p1 1_n) f ~ U4 V4^T with U4 = diag(r~) U1, V4 = V1, r~ = U3 (V3^T 1_n)",
    printed=("Lemma C.16 (Low rank representation p2(X), Lemma D.5 of [AS24a]): k1, k2, k4 = "
             "n^{o(1)}; p2(X) has rows p2(X)_{j0} = f(X)_{j0} f(X)_{j0}^T q(X)_{j0}; U1, V1 and "
             "U2, V2 as in Lemma C.15. Then there are U4, V4 in R^{n x k4} with ||U4 V4^T - "
             "p2(X)||_inf <= eps/poly(n), constructed in n^{1+o(1)} time. (No proof.)"),
    steps=[
        Step("rows of p2", "f_j f_j^T q_j (this lemma) = row j of diag(p1 1_n) f (Definition "
             "C.12), ball", "ball", L.each_lowrank(_c16_rows), tol=EQ_TOL),
        Step("error", "with r~ = U3 (V3^T 1_n), U4 = diag(r~) U1, V4 = V1 (k4 = k1): "
             "||U4 V4^T - p2|| <= ||r~ - r|| ||U1 V1^T|| + ||r|| eps1 (certified)", "ball",
             L.each_lowrank(_c16_bound), relation="<="),
        Step("time (counted)", "r~ and U4 cost n k1 d + (n - 1) k1 d (the column sums of V3) + "
             "n k1 operations: affine in n (exact polynomial, attngrad.opcount)", "symbolic",
             _c16_count),
    ],
)


# ---------------------------------------------------------------------------
# Lemma I.1 (AS23, restated in LSS24's causal section)


def _i1_rank_bound():
    return [(f"g={g},d={d}", math.comb(g + d, d), math.comb(2 * (g + d), 2 * g))
            for g in range(0, 9) for d in (1, 2, 3, 8, 16)]


def _i1_relative(ctx):
    """|U0 V0^T - A| <= eta A entrywise, A = exp(Q K^T / d) (AS23's (eps, r)-approximation)."""
    A = np.asarray(np.frompyfunc(lambda v: v.exp(), 1, 1)(ctx["S"]), dtype=object)
    return (abs_array(ctx["U0"] @ ctx["V0"].T - A), ctx["eta"] * A)


LEMMA_I1 = Statement(
    id="LSS24 Lemma I.1",
    paper=PAPER,
    summary="A = exp(Q K^T / d), ||Q||, ||K|| <= R: an (eps, r)-approximation with "
            "g = O(max(log(1/eps)/log(log(1/eps)/R), R^2)), r <= binom(2(g + d), 2g) (cited "
            "[AS23]; '(eps, r)-approximation' undefined here)",
    printed=("Lemma I.1 (Low-rank approximation, [AS23]): Q, K in R^{n x d}, ||Q||_inf <= R, "
             "||K||_inf <= R, A := exp(Q K^T / d). For accuracy eps in (0, 1) there is a "
             "positive integer g = O(max(log(1/eps) / log(log(1/eps)/R), R^2)) and a positive "
             "integer r <= binom(2(g + d), 2g) such that there is a matrix A~ that is an "
             "(eps, r)-approximation of A; U0, V0 defining A~ can be computed in O(n r) time."),
    steps=[
        Step("[AS23], Section 3", "the degree bound g = O(max(...)) and the existence of the "
             "(eps, r)-approximation [AS23]", "mpmath", None, basis="cited"),
        Step("r <= binom(2(g + d), 2g)", "the monomial features of degree <= g have rank "
             "binom(g + d, d) <= binom(2(g + d), 2g), g = 0..8, d = 1, 2, 3, 8, 16 (exact)",
             "exact", _i1_rank_bound, relation="<="),
        Step("(eps, r)-approximation, AS23's sense", "with the Taylor features at scale 1/d: "
             "|U0 V0^T - A| <= eta A entrywise (certified), eta = B^{g+1} e^{2B}/(g+1)!", "ball",
             L.each_lowrank(_i1_relative, which="C.3"), relation="<="),
    ],
    gaps=["'(eps, r)-approximation' is not defined in LSS24 (AS23: rank r and entrywise "
          "|A~ - A| <= eps A); the relative reading is the one checked here",
          "the degree bound's O() and the O(n r) time are AS23's, cited; LSS24 states neither "
          "the regime (R = o(sqrt(log n)), d = O(log n), eps = 1/poly(n)) that makes "
          "r = n^{o(1)} nor that Q = X, K = X W^T must meet ||.||_inf <= R for A = exp(X W X^T "
          "/ d)"],
)


STATEMENTS = [LEMMA_C13, LEMMA_C14, LEMMA_C15, LEMMA_C16, LEMMA_I1]
