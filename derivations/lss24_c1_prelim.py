"""LSS24 Appendix C.1 to C.3 and C.5: Facts C.1, C.2, Definition C.3, Lemma C.4, Definitions
C.6 to C.12, Lemmas C.17 to C.19.

The definitions are checked against attngrad (attngrad.transformer for the layer, AS24's
attngrad.alpha / h / q / p for the pieces, which are the same objects); the objects of
derivations/lss24.py (matrix operations) and the loops of derivations/model_loops.py are the
other side. Definition C.6 drops the 1/d of Definitions 1.2 and C.3: the erratum is recorded
there, and every gradient of Appendices D to G inherits it (Lemma D.2, F.4).
"""
from __future__ import annotations

import dataclasses
import itertools

import mpmath
import numpy as np
import sympy

import attngrad
from attngrad import formulas as F
from attngrad import transformer as tr

from . import lss24 as L
from .core import Erratum, Statement, Step
from .lss24_1_main import _CHAIN_TEXT, _chain
from .lss24_model import _fd_entries, _rand_dyadic, _syms
from .sA_facts import FACT_A_2, _a1_first, _a1_second, _vec

PAPER = L.PAPER


# ---------------------------------------------------------------------------
# Fact C.1, Fact C.2


def _c1_second():
    out = []
    for n in range(1, 5):
        x, y, z = _vec("x", n), _vec("y", n), _vec("z", n)
        lhs = x.dot(y.multiply_elementwise(z))
        out += [(f"n={n}: <y, x o z>", lhs, y.dot(x.multiply_elementwise(z))),
                (f"n={n}: <z, y o x>", lhs, z.dot(y.multiply_elementwise(x)))]
    return out


FACT_C1 = Statement(
    id="LSS24 Fact C.1",
    paper=PAPER,
    summary="<x o y, z> = x^T diag(y) z; <x, y o z> = <y, x o z> = <z, y o x>; "
            "<x, y> = <x o y, 1_n>",
    printed=("Fact C.1: Let x, y, z in R^n. Then <x o y, z> = x^T diag(y) z; "
             "<x, (y o z)> = <y, (x o z)> = <z, (y o x)>; <x, y> = <x o y, 1_n>."),
    steps=[
        Step("first bullet", "<x o y, z> = x^T diag(y) z, symbolic, n = 1..5", "symbolic",
             _a1_first),
        Step("second bullet", "<x, y o z> = <y, x o z> = <z, y o x>, symbolic, n = 1..4",
             "symbolic", _c1_second),
        Step("third bullet", "<x, y> = <x o y, 1_n>, symbolic, n = 1..5", "symbolic",
             _a1_second),
    ],
)

FACT_C2 = dataclasses.replace(
    FACT_A_2, id="LSS24 Fact C.2", paper=PAPER,
    summary="(U1 V1^T) o (U2 V2^T) = (U1 (/) U2)(V1 (/) V2)^T; printed 'U_{i,l2}' is "
            "(U2)_{i,l2} (the first paper's Fact A.2, word for word)",
    printed=("Fact C.2 (Folklore, [AS24a]): Let U1, V1 in R^{n x k1}, U2, V2 in R^{n x k2}. Then "
             "(U1 V1^T) o (U2 V2^T) = (U1 (/) U2)(V1 (/) V2)^T, where (U1 (/) U2)_{i, l1 + "
             "(l2-1) k1} := (U1)_{i,l1} U_{i,l2} for all i in [n], l1 in [k1], l2 in [k2]. "
             "(The same text and the same checks as the first paper's Fact A.2.)"),
    errata=[dataclasses.replace(
        FACT_A_2.errata[0],
        location="LSS24 Fact C.2 (Appendix C.1), definition of the row-wise Kronecker product",
        evidence=FACT_A_2.errata[0].evidence.replace("Fact A.2", "LSS24 Fact C.2")
        + " (the typo of the first paper's Fact A.2, copied)")],
)


# ---------------------------------------------------------------------------
# Definition C.3


def _wq_wk_case(n, d, seed):
    rng = np.random.default_rng(300 + seed)
    X = _rand_dyadic(rng, (n, d), 1.0)
    WQ, WK, WV = (_rand_dyadic(rng, (d, d), 0.5) for _ in range(3))
    G = _rand_dyadic(rng, (n, d), 1.0)
    return X, WQ, WK, WV, G


def _c3_attn(n, d, seed):
    """attngrad.transformer on (W_Q, W_K, W_V) = Softmax(X W X^T / d) X W_V with W = W_Q W_K^T,
    the product formed first (loops)."""
    X, WQ, WK, WV, _ = _wq_wk_case(n, d, seed)
    lib = tr.forward(X, [tr.Layer(WQ, WK, WV)])
    s = L.s_loops(X, WQ @ WK.T, WV, mpmath.mpf(1) / d)
    return lib, np.array(s, dtype=object)


def _c3_dwq(n, d, seed):
    """dL/dW_Q = dL/dW W_K (printed) and dL/dW_K = (dL/dW)^T W_Q (ours): the library's
    gradients vs central differences of <G, Attn> in W (loops, 90 digits) times W_K, W_Q."""
    X, WQ, WK, WV, G = _wq_wk_case(n, d, seed)
    g = tr.gradient(X, [tr.Layer(WQ, WK, WV)], G)
    t = mpmath.mpf(1) / d

    def value(leaves):
        s = L.s_loops(X, leaves["W"], WV, t)
        return mpmath.fsum(G[i, j] * s[i][j] for i in range(n) for j in range(d))

    dW = _fd_entries(value, {"W": WQ @ WK.T}, "W")
    return [("dL/dW_Q = dL/dW W_K", g.layers[0]["W_Q"], dW @ WK),
            ("dL/dW_K = (dL/dW)^T W_Q (ours)", g.layers[0]["W_K"], dW.T @ WQ)]


DEF_C3 = Statement(
    id="LSS24 Definition C.3",
    paper=PAPER,
    summary="Attn(X) = Softmax(X W X^T / d) X W_V with W = W_Q W_K^T; dL/dW_Q = dL/dW W_K",
    printed=("Definition C.3: X in R^{n x d}; W_V in R^{d x d}; W := W_Q W_K^T in R^{d x d}. "
             "Attn(X) = Softmax(X W X^T / d) X W_V = f(X) X W_V with A := exp(X W X^T / d), "
             "D := diag(A 1_n), f(X) := D^{-1} A. Following text: dL(X)/dW_Q = dL(X)/dW dW/dW_Q "
             "= dL(X)/dW W_K (chain rule, basic calculus)."),
    steps=[
        Step("Attn with W = W_Q W_K^T", "attngrad.transformer.forward on the layer (W_Q, W_K, "
             "W_V) (one head, default scale 1/d) = the definition by loops with W = W_Q W_K^T "
             "(50 digits; n = 5, d = 3 and n = 4, d = 2)", "mpmath",
             L.each_case(_c3_attn, L.CASES[:2])),
        Step("dL/dW_Q = dL/dW W_K", "attngrad.transformer's dL/dW_Q = (central differences of "
             "<G, Attn> in W at 90 digits) W_K; and dL/dW_K = (dL/dW)^T W_Q, which the text "
             "leaves out", "mpmath", L.each_case(_c3_dwq, L.CASES[:2])),
    ],
)


LEMMA_C4 = Statement(
    id="LSS24 Lemma C.4",
    paper=PAPER,
    summary="dL/dT_{i-1}, dL/dW_i (W_i = W_Qi W_Ki^T), dL/dW_Vi = sum_{i2,j2} G_i(i2,j2) times "
            "the gradient of Attn_i's (i2,j2) entry (chain rule)",
    printed=("Lemma C.4 (Close form of gradient components, formal version of Lemma 3.4): "
             "W_i := W_Qi W_Ki^T; G_i = dL(X)/dAttn_i(T_{i-1}(X)). Part 1: dL(X)/dT_{i-1}(X) = "
             "sum_{i2,j2} G_i(i2,j2) dAttn_i(T_{i-1}(X))_{i2,j2}/dT_{i-1}(X). Part 2: the same for "
             "dL(X)/dW_i. Part 3: the same for dL(X)/dW_Vi. Proof: shapes, then 'simply applying "
             "chain rule'."),
    steps=[
        Step("Part 1", _CHAIN_TEXT.format("T_0"), "mpmath", _chain(["T"])),
        Step("Part 2", _CHAIN_TEXT.format("W_1 (the layer as (W_1, I))"), "mpmath",
             _chain(["W"])),
        Step("Part 3", _CHAIN_TEXT.format("W_V"), "mpmath", _chain(["WV"])),
    ],
)


# ---------------------------------------------------------------------------
# Definition C.6 (the 1/d dropped)


def _c6_u_vs_a(d_cases):
    def fn(n, d, seed):
        inst = L.instance(n, d, seed)
        X, W = inst["X"], inst["W"]
        u = np.frompyfunc(mpmath.exp, 1, 1)(X @ W @ X.T)          # Definition C.6 as printed
        A = np.empty((n, n), dtype=object)                        # Definition C.3 by loops
        for i, j in itertools.product(range(n), range(n)):
            A[i, j] = mpmath.exp(mpmath.fsum(X[i, a] * W[a, b] * X[j, b] for a in range(d)
                                             for b in range(d)) / d)
        return np.asarray(u, dtype=object), A
    return L.each_case(fn, d_cases)


def _c6_corrected_u():
    def fn(n, d, seed):
        inst = L.instance(n, d, seed)
        ob = L.objs(n, d, seed, "C.3")
        lib = F.u(L.MPNS, F.scores(L.MPNS, inst["X"], inst["X"], inst["W"], mpmath.mpf(1) / d))
        return ob["u"], lib
    return L.each_case(fn)


def _c6_s_is_attn(n, d, seed):
    """With u = exp(X W X^T / d), Definition C.10's s = f h is Definition C.3's Attn
    (attngrad.transformer.forward on (W, I, W_V))."""
    inst = L.instance(n, d, seed)
    eye = np.eye(d, dtype=int).astype(object) * mpmath.mpf(1)
    lib = tr.forward(inst["X"], [tr.Layer(inst["W"], eye, inst["WV"])])
    return L.objs(n, d, seed, "C.3")["s"], lib


DEF_C6 = Statement(
    id="LSS24 Definition C.6",
    paper=PAPER,
    summary="u(X) := exp(X W X^T): the 1/d of Definitions 1.2 and C.3 is dropped",
    printed=("Definition C.6 (Exponential function u): X in R^{n x d}, W := W_Q W_K^T in "
             "R^{d x d}; u(X) := exp(X W X^T). Introduced as 'the exponential matrix in the "
             "attention mechanism' (Definition C.3's A = exp(X W X^T / d))."),
    steps=[
        Step("u is A of Definition C.3", "the printed u(X) = exp(X W X^T) equals Definition "
             "C.3's A = exp(X W X^T / d), by loops at 50 digits (d = 3, 2)", "mpmath",
             _c6_u_vs_a(L.CASES[:2])),
    ],
    corrected=[
        Step("u with 1/d", "u(X) := exp(X W X^T / d) equals attngrad's exp of the scores "
             "(attngrad.formulas with A1 = A2 = X, scale 1/d), d = 3, 2, 1", "mpmath",
             _c6_corrected_u()),
        Step("then s is Attn", "with that u, Definition C.10's s = f h equals "
             "attngrad.transformer.forward (Definition C.3's Attn), d = 3, 2, 1", "mpmath",
             L.each_case(_c6_s_is_attn)),
        Step("d = 1", "at d = 1 the printed u is Definition C.3's A (the only d where the two "
             "agree)", "mpmath", _c6_u_vs_a(L.CASES[2:])),
    ],
    errata=[Erratum(
        location="LSS24 Definition C.6 (Appendix C.3)",
        printed="u(X) := exp(X W X^T)",
        corrected="u(X) := exp(X W X^T / d), Definition C.3's A. Equivalently, every formula of "
                  "Appendices C.3 to H holds for Definition C.3's layer with W replaced by W / d "
                  "in the exponent: dL/dW gains a factor 1/d (Lemma F.4) and so do the four "
                  "W-terms of dL/dT_{i-1} (Lemma D.17)",
        evidence="exp(X W X^T) and Definition C.3's exp(X W X^T / d) differ (dyadic X, W; "
                 "first at n = 5, d = 3; 50 digits) and agree at d = 1 only; with the 1/d, "
                 "Definition C.10's s equals attngrad.transformer's Attn. The statements that "
                 "use it (Lemma C.13, D.1 to D.17, F.3, F.4) carry no 1/d either. "
                 + L.rerun("LSS24 Definition C.6"),
        step="u is A of Definition C.3")],
)


# ---------------------------------------------------------------------------
# Definitions C.7 to C.12


def _vs(key, lib_fn, which="C.6"):
    def fn(n, d, seed):
        inst = L.instance(n, d, seed)
        ob = L.objs(n, d, seed, which)
        return ob[key], lib_fn(inst, ob, L.scale(inst, which))
    return L.each_case(fn)


def _lib_alpha(inst, ob, t):
    return attngrad.alpha(inst["X"], inst["X"], inst["W"], scale=t)


def _lib_f(inst, ob, t):
    return tr.attention.head_f(L.MPNS, inst["X"] @ inst["W"], inst["X"], t)


def _lib_h(inst, ob, t):
    return attngrad.h(inst["X"], inst["WV"])


def _lib_s(inst, ob, t):
    eye = np.eye(inst["d"], dtype=int).astype(object) * mpmath.mpf(1)
    return tr.forward(inst["X"], [tr.Layer(inst["W"], eye, inst["WV"])], scale=t)


def _lib_q(inst, ob, t):
    return F.q(L.MPNS, inst["G"], ob["h"])


def _c12_rows():
    """p(X)_{j0} := (diag(f_{j0}) - f_{j0} f_{j0}^T) q_{j0}, row by row, = p1 - p2 with
    p1 = f o q, p2 = diag(p1 1_n) f: generic symbols f, q (no row sums assumed)."""
    out = []
    for n in (2, 3):
        f, q = _syms("f", n, n), _syms("q", n, n)
        rows = []
        for j in range(n):
            fj, qj = sympy.Matrix(f[j]), sympy.Matrix(q[j])
            rows.append(list((sympy.diag(*fj) - fj * fj.T) * qj))
        p1 = f * q
        p2 = p1.sum(axis=1)[:, None] * f
        out.append((f"n={n}", sympy.Matrix(rows), sympy.Matrix((p1 - p2).tolist()).expand()))
    return out


def _c12_library(n, d, seed):
    ob = L.objs(n, d, seed)
    rows = np.array([list((L.diag(ob["f"][j]) - np.outer(ob["f"][j], ob["f"][j])) @ ob["q"][j])
                     for j in range(n)], dtype=object)
    return [("rows = attngrad p", rows, F.p(L.MPNS, ob["f"], ob["q"])),
            ("p1 - p2 = rows", ob["p1"] - ob["p2"], rows)]


def _definition(sid, summary, printed, step_name, text, compute, **kw):
    return Statement(id=sid, paper=PAPER, summary=summary, printed=printed,
                     steps=[Step(step_name, text, kw.pop("method", "mpmath"), compute)], **kw)


DEF_C7 = _definition(
    "LSS24 Definition C.7", "alpha(X) := u(X) 1_n",
    "Definition C.7 (Sum function of softmax alpha): alpha(X) := u(X) 1_n in R^n.",
    "alpha = attngrad.alpha", "u(X) 1_n (Definition C.6, no 1/d) equals attngrad.alpha with "
    "A1 = A2 = X, X_paper = W, scale 1 (50 digits)", _vs("alpha", _lib_alpha))
DEF_C8 = _definition(
    "LSS24 Definition C.8", "f(X) := diag(alpha(X))^{-1} u(X) (row softmax of X W X^T)",
    "Definition C.8 (Softmax probability function f): f(X) := diag(alpha(X))^{-1} u(X), "
    "f(X)_{j0}^T in R^n the j0-th row of f(X).",
    "f = attngrad.transformer's softmax", "diag(alpha)^{-1} u equals the row softmax of "
    "attngrad.transformer (head_f with queries X W, keys X, scale 1) at 50 digits; with "
    "Definition C.6's u it is Definition C.3's f only at d = 1 (see C.6)", _vs("f", _lib_f))
DEF_C9 = _definition(
    "LSS24 Definition C.9", "h(X) := X W_V",
    "Definition C.9 (Value function h): h(X) = X W_V in R^{n x d}.",
    "h = attngrad.h", "X W_V equals attngrad.h(X, W_V) (the first paper's h(y) = A3 Y)",
    _vs("h", _lib_h))
DEF_C10 = _definition(
    "LSS24 Definition C.10", "s(X) := f(X) h(X), 'the output of the attention mechanism'",
    "Definition C.10 (Self-attention output s): s(X) = f(X) h(X) in R^{n x d}.",
    "s = attngrad.transformer.forward (scale 1)", "f h equals attngrad.transformer.forward on "
    "(W, I, W_V) with scale 1 (Definition C.6's exponent); with Definition C.3's 1/d it is the "
    "corrected step of Definition C.6", _vs("s", _lib_s))
DEF_C11 = _definition(
    "LSS24 Definition C.11", "q(X) := G_i h(X)^T",
    "Definition C.11 (Definition of q(X)): G_i = dL(X)/dAttn_i(T_{i-1}(X)) in R^{n x d}; "
    "q(X) = G_i h(X)^T in R^{n x n}, q(X)_{j0}^T its j0-th row.",
    "q = attngrad q", "G h^T equals attngrad.formulas.q(G, h) (the first paper's q = c h^T "
    "with c -> G)", _vs("q", _lib_q))

DEF_C12 = Statement(
    id="LSS24 Definition C.12",
    paper=PAPER,
    summary="p(X)_{j0} := (diag(f_{j0}) - f_{j0} f_{j0}^T) q_{j0} = (p1 - p2)_{j0}, "
            "p1 = f o q, p2 = diag(p1 1_n) f",
    printed=("Definition C.12 (Definition of p(X), Definition C.5 in [AS24a]): for every "
             "j0 in [n], p(X)_{j0} := (diag(f(X)_{j0}) - f(X)_{j0} f(X)_{j0}^T) q(X)_{j0}. "
             "Furthermore p1(X) = f(X) o q(X), p2(X) = diag(p1(X) 1_n) f(X), and "
             "p(X) = p1(X) - p2(X)."),
    steps=[
        Step("p = p1 - p2 (symbolic)", "row by row (diag(f_j) - f_j f_j^T) q_j = (f o q - "
             "diag((f o q) 1) f)_j, generic symbols f, q (n = 2, 3)", "symbolic", _c12_rows),
        Step("p = attngrad p (mpmath)", "the rows equal attngrad.formulas.p(f, q) (what "
             "attngrad.transformer's backward pass uses), and p1 - p2 equals the rows, "
             "50 digits", "mpmath", L.each_case(_c12_library)),
    ],
)


# ---------------------------------------------------------------------------
# Lemmas C.17 to C.19: bounded entries (ball arithmetic on the exact instances)

def _balls(n, d, seed, bound):
    import flint

    from attngrad.ball import BallNamespace, to_ball

    inst = L.instance(n, d, seed, bound)
    with flint.ctx.workprec(160):
        X, W, WV, G = (to_ball(inst[k]) for k in ("X", "W", "WV", "G"))
        ob = L.objects(X, W, WV, G, flint.arb(1), exp=BallNamespace().exp)
    return dict(ob, X=X, WV=WV, n=n, d=d)


BOUND_CASES = ((5, 3, 1, 1.0), (8, 2, 6, 8.0), (6, 4, 7, 4.0))   # entries up to 8: peaked f


def _each_ball(fn):
    def compute():
        out = []
        for case in BOUND_CASES:
            b = _balls(*case)
            for lab, lhs, rhs in fn(b):
                out.append((f"n={case[0]},d={case[1]},|X|<={case[3]:g} {lab}".strip(), lhs,
                            rhs))
        return out
    return compute


def _c17(b):
    return [("f <= 1", L.norm_inf(b["f"]), 1)]


def _c18(b):
    nX, nV = L.norm_inf(b["X"]), L.norm_inf(b["WV"])
    return [("||h|| <= n ||X|| ||W_V||", L.norm_inf(b["h"]), b["n"] * nX * nV)]


def _c18_d(b):
    return [("||h|| <= d ||X|| ||W_V||", L.norm_inf(b["h"]),
             b["d"] * L.norm_inf(b["X"]) * L.norm_inf(b["WV"]))]


def _c19(b):
    return [("||s|| <= n ||f|| ||h||", L.norm_inf(b["s"]),
             b["n"] * L.norm_inf(b["f"]) * L.norm_inf(b["h"]))]


def _c19_h(b):
    return [("||s|| <= ||h||", L.norm_inf(b["s"]), L.norm_inf(b["h"]))]


LEMMA_C17 = Statement(
    id="LSS24 Lemma C.17",
    paper=PAPER,
    summary="||f(X)||_inf <= 1",
    printed=("Lemma C.17 (Bounded entries of f(X)): f(X) of Definition C.8 has ||f(X)||_inf <= 1. "
             "Proof: f = diag(alpha)^{-1} u, alpha = u 1_n; combining, ||f||_inf <= 1."),
    steps=[Step("||f|| <= 1", "every entry of f is at most 1, certified in ball arithmetic "
                "(entries of X up to 8: rows of f close to one-hot)", "ball", _each_ball(_c17),
                relation="<=")],
)

LEMMA_C18 = Statement(
    id="LSS24 Lemma C.18",
    paper=PAPER,
    summary="||h(X)||_inf <= n ||X||_inf ||W_V||_inf <= poly(n)",
    printed=("Lemma C.18 (Bounded entries of h(X)): each entry of X, W, W_V has O(log n) bits; "
             "then ||h(X)||_inf <= poly(n). Proof: ||X W_V||_inf <= n ||X||_inf ||W_V||_inf "
             "(basic linear algebra) <= poly(n) (O(log n)-bit entries)."),
    steps=[
        Step("basic linear algebra", "||X W_V||_inf <= n ||X||_inf ||W_V||_inf, certified "
             "(ball)", "ball", _each_ball(_c18), relation="<="),
        Step("d suffices (ours)", "the inner dimension is d: ||X W_V||_inf <= "
             "d ||X||_inf ||W_V||_inf, certified (ball)", "ball", _each_ball(_c18_d),
             relation="<="),
    ],
)

LEMMA_C19 = Statement(
    id="LSS24 Lemma C.19",
    paper=PAPER,
    summary="||s(X)||_inf <= n ||f||_inf ||h||_inf <= poly(n)",
    printed=("Lemma C.19 (Bounded entries of s(X)): ||s(X)||_inf = ||f(X) h(X)||_inf <= "
             "n ||f(X)||_inf ||h(X)||_inf <= poly(n); 'the 1st step is from the definition of "
             "c(X)' (s(X) is meant), the 3rd from Lemmas C.17, C.18."),
    steps=[
        Step("basic linear algebra", "||f h||_inf <= n ||f||_inf ||h||_inf, certified (ball)",
             "ball", _each_ball(_c19), relation="<="),
        Step("rows of f average h (ours)", "each row of f is a probability vector, so "
             "||s||_inf <= ||h||_inf: no factor n (certified)", "ball", _each_ball(_c19_h),
             relation="<="),
    ],
)


STATEMENTS = [FACT_C1, FACT_C2, DEF_C3, LEMMA_C4, DEF_C6, DEF_C7, DEF_C8, DEF_C9, DEF_C10, DEF_C11,
              DEF_C12, LEMMA_C17, LEMMA_C18, LEMMA_C19]
