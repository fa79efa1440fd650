"""LSS24 Appendices F, G and H.1: the gradients on W = W_Q W_K^T (Lemmas F.3 to F.5), on W_V
(Lemmas G.1 to G.4) and through g_i(Z) = phi(Z W_g) (Lemmas H.1, H.2). The fast Lemmas F.5, G.4
run on the low-rank machinery of derivations/lss24_e_fast.py (ball arithmetic, certified).

Oracles as in derivations/lss24.py: central differences at 90 digits of <G, s(X)> (Definition
C.10, no 1/d) and attngrad.transformer (Definition C.3's layer, with the 1/d, or with scale 1).
Lemma F.4's X^T p X is the gradient of the unscaled model; Definition C.3's layer has
(1/d) X^T p X. Lemma G.3's X^T f G is wrong at any scale: X^T f^T G.
"""
from __future__ import annotations

import itertools

import mpmath
import numpy as np
import sympy

from attngrad import opcount
from attngrad.kron import kron, rowwise_kron, vec
from attngrad.transformer import backprop as bp

from . import lss24 as L
from .core import Erratum, Statement, Step
from .lss24_e_fast import D, K, N, _count, _library_dx, _nrm, d_, k_, n_
from .lss24_model import _fd_entries, _grad, _rand_dyadic, _syms

PAPER = L.PAPER


# ---------------------------------------------------------------------------
# Lemma F.3, F.4: dL/dW


def _blocks(X):
    """A_{j0} (n x d^2): rows j0 n .. (j0 + 1) n - 1 of A = X (x) X (Definition F.1 with
    A1 = A2 = X, Remark F.2; the block order of the first paper, row-major vec)."""
    n = X.shape[0]
    A = kron(X, X)
    return [A[j0 * n:(j0 + 1) * n, :] for j0 in range(n)]


@mpmath.workdps(90)
def _ds_dw(n, d, seed):
    """ds(X)_{j0,i0}/dw_i (w = vec(W), row-major) by central differences at 90 digits."""
    inst = L.instance(n, d, seed)
    X, W, WV = inst["X"], inst["W"], inst["WV"]
    step = mpmath.mpf(2) ** -100
    J = np.empty((n, d, d * d), dtype=object)
    for i in range(d * d):
        E = W * 0
        E[i // d, i % d] = step
        up, dn = L.s_loops(X, W + E, WV, 1), L.s_loops(X, W - E, WV, 1)
        for j0, i0 in itertools.product(range(n), range(d)):
            J[j0, i0, i] = (up[j0][i0] - dn[j0][i0]) / (2 * step)
    return J


def _f3(n, d, seed):
    inst, ob = L.instance(n, d, seed), L.objs(n, d, seed)
    A = _blocks(inst["X"])
    f, h = ob["f"], ob["h"]
    J = _ds_dw(n, d, seed)
    lhs = np.empty((n, d, d * d), dtype=object)
    for j0, i0, i in itertools.product(range(n), range(d), range(d * d)):
        a = A[j0][:, i]
        lhs[j0, i0, i] = (mpmath.fsum(a * f[j0] * h[:, i0])
                          - mpmath.fsum(f[j0] * h[:, i0]) * mpmath.fsum(a * f[j0]))
    return lhs, J


LEMMA_F3 = Statement(
    id="LSS24 Lemma F.3",
    paper=PAPER,
    summary="ds_{j0,i0}/dw_i = <A_{j0,i} o f_{j0}, h_{i0}> - <f_{j0}, h_{i0}> <A_{j0,i}, f_{j0}> "
            "(A = X (x) X, w = vec(W); no 1/d)",
    printed=("Lemma F.3 (Gradient of s(X) on W, Lemma B.1 in [AS24a]): A as Definition F.1 "
             "(A = A1 (x) A2, A_{j0} its n x d^2 sub-blocks; A1 = A2 = X by Remark F.2), A_{j0,i} "
             "the i-th column of A_{j0}; f, h, s as Definitions C.8 to C.10; w in R^{d^2} the "
             "vector representation of W. Then for i in [d^2], j0 in [n], i0 in [d]: "
             "ds(X)_{j0,i0}/dw_i = <A_{j0,i} o f(X)_{j0}, h(X)_{i0}> - <f(X)_{j0}, h(X)_{i0}> "
             "<A_{j0,i}, f(X)_{j0}>. (Cited.)"),
    steps=[Step("derivative (finite differences)", "the right side (A_{j0} = rows j0 of "
                "attngrad.kron(X, X), w row-major, h_{i0} the i0-th column of h) = central "
                "differences of s at 90 digits in each w_i, d = 3, 2, 1", "mpmath",
                L.each_case(_f3))],
)


def _f4_printed(n, d, seed):
    inst, ob = L.instance(n, d, seed), L.objs(n, d, seed)
    return inst["X"].T @ ob["p"] @ inst["X"], L.fd_gradients(n, d, seed)["W"]


def _f4_eq14(n, d, seed):
    """Eq. (14): sum_{j0,i0} G(j0,i0) A_{j0}^T (diag(f_{j0}) - f_{j0} f_{j0}^T) h_{i0}, and the
    tensor trick: = sum_{j0} A_{j0}^T p_{j0} = vec(X^T p X)."""
    inst, ob = L.instance(n, d, seed), L.objs(n, d, seed)
    A, f, h, G, p = _blocks(inst["X"]), ob["f"], ob["h"], inst["G"], ob["p"]
    eq14 = sum(G[j0, i0] * (A[j0].T @ ((L.diag(f[j0]) - np.outer(f[j0], f[j0])) @ h[:, i0]))
               for j0, i0 in itertools.product(range(n), range(d)))
    trick = sum(A[j0].T @ p[j0] for j0 in range(n))
    return [("Eq. (14) = sum A_{j0}^T p_{j0}", eq14, trick),
            ("sum A_{j0}^T p_{j0} = vec(X^T p X)", trick, vec(inst["X"].T @ p @ inst["X"])),
            ("Eq. (14) = vec(dL/dW) (finite differences)", eq14, vec(L.fd_gradients(n, d,
                                                                                    seed)["W"]))]


def _f4_library(which, factor):
    def fn(n, d, seed):
        inst, ob = L.instance(n, d, seed), L.objs(n, d, seed, which)
        t = L.scale(inst, which) if factor else 1
        return L.library_gradients(n, d, seed, "C.3")["W"], inst["X"].T @ ob["p"] @ inst["X"] * t
    return L.each_case(fn)


LEMMA_F4 = Statement(
    id="LSS24 Lemma F.4",
    paper=PAPER,
    summary="dL/dW_i = X^T p(X) X: the gradient of the unscaled model; Definition C.3's layer "
            "has (1/d) X^T p X",
    printed=("Lemma F.4 (Gradient of L(X) on W): L as Definition 3.1, W, X as Definition C.3, "
             "p(X) as Definition C.12. Then dL(X)/dW_i = X^T p(X) X. Proof: Lemma F.3 (Eq. 11); "
             "Fact C.1 gives Eq. (12) ds_{j0,i0}/dW = A_{j0}^T (diag(f_{j0}) - f_{j0} f_{j0}^T) "
             "h_{i0}; Lemma C.4 (Eq. 13) with s(X) = Attn_i(T_{i-1}(X)) gives Eq. (14); "
             "Eqs. (15), (16) (q, p); 'the tensor tricks'."),
    steps=[
        Step("proof, Eqs. (14) to the end", "Eq. (14) = sum_{j0} A_{j0}^T p_{j0} = "
             "vec(X^T p X), and Eq. (14) = central differences of <G, s> in W (no 1/d), "
             "d = 3, 2, 1", "mpmath", L.each_case(_f4_eq14)),
        Step("X^T p X (appendix model)", "X^T p X = d<G, s>/dW by central differences (90 "
             "digits), s of Definition C.10", "mpmath", L.each_case(_f4_printed)),
        Step("dL/dW_i for Definition C.3's layer", "attngrad.transformer's dL/dW (layer (W, I, "
             "W_V), default 1/d) = X^T p X with p of Definition C.12 (no 1/d)", "mpmath",
             _f4_library("C.6", False)),
    ],
    corrected=[
        Step("(1/d) X^T p X", "with Definition C.3's 1/d (f, p at X W X^T / d): "
             "attngrad.transformer's dL/dW = (1/d) X^T p X, d = 3, 2, 1", "mpmath",
             _f4_library("C.3", True)),
    ],
    errata=[Erratum(
        location="LSS24 Lemma F.4 (and Lemma F.5, Algorithm 1 line 19, which use it)",
        printed="dL(X)/dW_i = X^T p(X) X, for the layer of Definition C.3 (its proof uses "
                "s(X) = Attn_i(T_{i-1}(X)))",
        corrected="dL(X)/dW_i = (1/d) X^T p(X) X with f (and so p) at X W X^T / d; X^T p X is "
                  "the gradient of the model without the 1/d (Definition C.6's)",
        evidence="attngrad.transformer's dL/dW differs from X^T p X (first at n = 5, d = 3; "
                 "50 digits) and equals (1/d) X^T p X with the 1/d in f at d = 3, 2, 1; the "
                 "proof's steps hold for the unscaled model (central differences at 90 "
                 "digits). Consequence of Definition C.6's erratum. "
                 + L.rerun("LSS24 Lemma F.4"),
        step="dL/dW_i for Definition C.3's layer")],
)


# ---------------------------------------------------------------------------
# Lemma F.5: fast dL/dW (the machinery of derivations/lss24_e_fast.py)


def _p_factors(c):
    U3, V3 = rowwise_kron(c["U1"], c["G"]), rowwise_kron(c["V1"], c["h"])
    rt = U3 @ V3.sum(axis=0)
    return U3, V3, rt[:, None] * c["U1"], c["V1"]


def _f5_gw(c):
    U3, V3, U4, V4 = _p_factors(c)
    X = c["X"]
    return (X.T @ U3) @ (V3.T @ X) - (X.T @ U4) @ (V4.T @ X)


def _f5_chain(c):
    U3, V3, U4, V4 = _p_factors(c)
    X, n = c["X"], c["n"]
    e1 = _nrm(X.T @ (U3 @ V3.T - c["p1"]) @ X)
    e2 = _nrm(X.T @ (U4 @ V4.T - c["p2"]) @ X)
    nx2 = _nrm(X) ** 2
    return [("Eq. (18)", e1, n * n * nx2 * _nrm(U3 @ V3.T - c["p1"])),
            ("Eq. (19)", e2, n * n * nx2 * _nrm(U4 @ V4.T - c["p2"])),
            ("triangle", _nrm(_f5_gw(c) - X.T @ c["p"] @ X), e1 + e2)]


def _f5_bound(c):
    U3, V3, U4, V4 = _p_factors(c)
    n = c["n"]
    return n * n * _nrm(c["X"]) ** 2 * (_nrm(U3 @ V3.T - c["p1"]) + _nrm(U4 @ V4.T - c["p2"]))


def _f5_vs_library(scaled):
    def fn(c):
        t = c["t"] if scaled else 1
        return [("", _nrm(_f5_gw(c) * t - _library_dx(c, "C.3")["W"]), _f5_bound(c) * t)]
    return L.each_lowrank(fn, which="C.3")


def _f5_count():
    def fn(ns, X, U3, V3, U4, V4):
        (X.T @ U3) @ (V3.T @ X) - (X.T @ U4) @ (V4.T @ X)
    # U3, V3: n x (k d); U4, V4: n x k
    c = L.op_count(fn, [(N, D), (N, K * D), (N, K * D), (N, K), (N, K)])
    return [("degree in n", L.n_degree(c), 1),
            ("count", c, 2 * (n_ * d_ * k_ * d_) + d_ * k_ * d_ * d_ + 2 * n_ * k_ * d_
             + d_ * k_ * d_ + d_ ** 2)]


LEMMA_F5 = Statement(
    id="LSS24 Lemma F.5",
    paper=PAPER,
    summary="g~_w = X^T (U3 V3^T - U4 V4^T) X approximates dL/dW_i in n^{1+o(1)} time (the "
            "gradient of Definition C.3's layer is 1/d of it: Lemma F.4)",
    printed=("Lemma F.5 (Fast computation for dL(X)/dW_i): W_i = W_Qi W_Ki^T. Then g~_w with "
             "||g~_w - dL(X)/dW_i||_inf <= 1/poly(n) in n^{1+o(1)} time. Proof: p1, p2 have low "
             "rank U3 V3^T, U4 V4^T (Lemmas C.15, C.16); dL/dW_i = X^T p X = X^T (p1 - p2) X "
             "(Lemma F.4, Eq. 17); X^T U3, then (X^T U3) V3^T, then (.) X (similarly for p2, "
             "then a d x d difference); Eq. (18) ||X^T p~1 X - X^T p1 X|| <= n^2 ||X||^2 "
             "||p~1 - p1||; Eq. (19) likewise; triangle inequality; eps = 1/poly(n)."),
    steps=[
        Step("Eqs. (18), (19), triangle", "the error chain with p~1 = U3 V3^T, p~2 = U4 V4^T "
             "(Lemmas C.15, C.16) against X^T p X (certified)", "ball",
             L.each_lowrank(_f5_chain), relation="<="),
        Step("time (counted)", "(X^T U3)(V3^T X) - (X^T U4)(V4^T X): linear in n (exact "
             "polynomial; the printed order X^T U3 V3^T first costs d k n too)", "symbolic",
             _f5_count),
        Step("||g~_w - dL/dW_i||", "g~_w is within the chain's bound of attngrad.transformer's "
             "dL/dW (Definition C.3's layer, factors at X W X^T / d; certified)", "ball",
             _f5_vs_library(False), relation="<="),
    ],
    corrected=[
        Step("(1/d) g~_w", "(1/d) g~_w is within (1/d) times the bound of attngrad."
             "transformer's dL/dW (certified)", "ball", _f5_vs_library(True), relation="<="),
    ],
    errata=[Erratum(
        location="LSS24 Lemma F.5 (inherits Lemma F.4's missing 1/d)",
        printed="g~_w = X^T (p~1 - p~2) X approximates dL(X)/dW_i",
        corrected="(1/d) X^T (p~1 - p~2) X, f's factors built at X W X^T / d",
        evidence="for Definition C.3's layer g~_w misses attngrad.transformer's dL/dW by about "
                 "(d - 1)/d of g~_w, far beyond the chain's bound (n = 12, d = 2, Taylor degree "
                 "3; certified); (1/d) g~_w is within the bound. "
                 + L.rerun("LSS24 Lemma F.5"),
        step="||g~_w - dL/dW_i||")],
)


# ---------------------------------------------------------------------------
# Lemmas G.1 to G.3: dL/dW_V


def _g1():
    out = []
    for n, d in ((2, 2), (3, 2)):
        X, WV = _syms("X", n, d), _syms("V", d, d)
        h = X @ WV
        for i0, j0, i1, j1 in itertools.product(range(n), range(d), range(d), range(d)):
            rhs = X[i0, i1] if j0 == j1 else sympy.Integer(0)
            out.append((f"n={n},d={d},i0={i0 + 1},j0={j0 + 1},i1={i1 + 1},j1={j1 + 1}",
                        sympy.diff(h[i0, j0], WV[i1, j1]), rhs))
    return out


LEMMA_G1 = Statement(
    id="LSS24 Lemma G.1",
    paper=PAPER,
    summary="dh(X)_{i0,j0}/d(W_V)_{i1,j1} = X_{i0,i1} if j0 = j1, else 0",
    printed=("Lemma G.1 (Gradient of h(X) on W_V): for i0 in [n], j0 in [d], i1, j1 in [d], "
             "dh(X)_{i0,j0}/d(W_V)_{i1,j1} = X_{i0,i1} if j0 = j1 and 0 if j0 != j1. Proof: "
             "h_{i0,j0} = X_{i0,*}^T (W_V)_{*,j0} depends only on (W_V)_{*,j0}."),
    steps=[Step("derivative (symbolic)", "SymPy's derivative of h = X W_V, every index "
                "(n = 2, 3; d = 2)", "symbolic", _g1)],
)


@mpmath.workdps(90)
def _ds_dwv(n, d, seed):
    inst = L.instance(n, d, seed)
    X, W, WV = inst["X"], inst["W"], inst["WV"]
    step = mpmath.mpf(2) ** -100
    J = np.empty((n, d, d, d), dtype=object)
    for i1, j1 in itertools.product(range(d), range(d)):
        E = WV * 0
        E[i1, j1] = step
        up, dn = L.s_loops(X, W, WV + E, 1), L.s_loops(X, W, WV - E, 1)
        for i2, j2 in itertools.product(range(n), range(d)):
            J[i2, j2, i1, j1] = (up[i2][j2] - dn[i2][j2]) / (2 * step)
    return J


def _g2(part, upper=None):
    def fn(n, d, seed):
        inst, ob = L.instance(n, d, seed), L.objs(n, d, seed)
        X, f = inst["X"], ob["f"]
        J = _ds_dwv(n, d, seed)
        top = n if upper is None else min(upper(n, d), n)
        out = []
        for i2, j2 in itertools.product(range(n), range(d)):
            if part == 1:
                lhs = np.empty((d, d), dtype=object)
                for i1, j1 in itertools.product(range(d), range(d)):
                    lhs[i1, j1] = (mpmath.fsum(f[i2, i3] * X[i3, i1] for i3 in range(top))
                                   if j1 == j2 else mpmath.mpf(0))
            else:
                e = np.array([mpmath.mpf(int(k == j2)) for k in range(d)], dtype=object)
                lhs = np.outer(X.T @ f[i2], e)
            out.append((f"i2={i2 + 1},j2={j2 + 1}", lhs, J[i2, j2]))
        return out
    return L.each_case(fn, L.CASES[:2])


LEMMA_G2 = Statement(
    id="LSS24 Lemma G.2",
    paper=PAPER,
    summary="ds_{i2,j2}/d(W_V)_{i1,j1} = f_{i2,*}^T X_{*,i1} if j1 = j2; ds_{i2,j2}/dW_V = "
            "X^T f_{i2,*} e_{j2}^T (the proof's sum over i3 runs to d for n)",
    printed=("Lemma G.2 (Gradient of s(X) on W_V): Part 1: ds(X)_{i2,j2}/d(W_V)_{i1,j1} = "
             "f(X)_{i2,*}^T X_{*,i1} if j2 = j1, 0 otherwise. Part 2: ds(X)_{i2,j2}/dW_V = X^T "
             "f(X)_{i2,*} e_{j2}^T (d x d). Proof: Eq. (20) s_{i2,j2} = f_{i2,*}^T h_{*,j2}; "
             "Eq. (21) ds_{i2,j2}/dh_{i3,j2} = f_{i2,i3}; Eq. (22) by the chain rule "
             "ds_{i2,j2}/d(W_V)_{i1,j2} = sum_{i3=1}^{d} f_{i2,i3} X_{i3,i1} = "
             "f_{i2,*}^T X_{*,i1}."),
    steps=[
        Step("Eq. (22), sum to d", "sum_{i3=1}^{d} f_{i2,i3} X_{i3,i1} (as printed; n > d) = "
             "central differences of s in W_V at 90 digits", "mpmath",
             _g2(1, upper=lambda n, d: d)),
        Step("Part 1", "f_{i2,*}^T X_{*,i1} [j1 = j2] = central differences, every index",
             "mpmath", _g2(1)),
        Step("Part 2", "X^T f_{i2,*} e_{j2}^T = central differences, every i2, j2", "mpmath",
             _g2(2)),
    ],
    corrected=[
        Step("Eq. (22), sum to n", "sum_{i3=1}^{n} f_{i2,i3} X_{i3,i1} = central differences "
             "(i3 runs over the rows of h)", "mpmath", _g2(1, upper=lambda n, d: n)),
    ],
    errata=[Erratum(
        location="LSS24 Lemma G.2, proof, Eq. (22)",
        printed="ds(X)_{i2,j2}/d(W_V)_{i1,j2} = sum_{i3=1}^{d} f(X)_{i2,i3} X_{i3,i1}",
        corrected="sum_{i3=1}^{n} f(X)_{i2,i3} X_{i3,i1} (i3 indexes the n rows of h); the "
                  "lemma's statement is right",
        evidence="with the sum stopped at d the right side misses the central differences of s "
                 "(n = 5, d = 3; 90 digits); with the sum to n it agrees, as do Parts 1 and 2. "
                 + L.rerun("LSS24 Lemma G.2"),
        step="Eq. (22), sum to d")],
)


def _g3_step6(n, d, seed):
    inst, ob = L.instance(n, d, seed), L.objs(n, d, seed)
    X, f, G = inst["X"], ob["f"], inst["G"]
    return sum(np.outer(X.T @ f[i2], G[i2]) for i2 in range(n)), L.fd_gradients(n, d, seed)["WV"]


def _g3_printed(n, d, seed):
    inst, ob = L.instance(n, d, seed), L.objs(n, d, seed)
    return inst["X"].T @ ob["f"] @ inst["G"], L.fd_gradients(n, d, seed)["WV"]


def _g3_corrected(which):
    def fn(n, d, seed):
        inst, ob = L.instance(n, d, seed), L.objs(n, d, seed, which)
        return inst["X"].T @ ob["f"].T @ inst["G"], L.library_gradients(n, d, seed, which)["WV"]
    return L.each_case(fn)


LEMMA_G3 = Statement(
    id="LSS24 Lemma G.3",
    paper=PAPER,
    summary="dL/dW_Vi = X^T f(X) G_i as printed; it is X^T f(X)^T G_i",
    printed=("Lemma G.3 (Gradient of L(X) on W_V): dL(X)/dW_Vi = X^T f(X) G_i (d x d). Proof: "
             "Lemma G.2 (Eq. 23), Lemma C.4 (Eq. 24), s(X) = Attn_i(T_{i-1}(X)); = sum_{i2,j2} "
             "G_i(i2,j2) X^T f_{i2,*} e_{j2}^T = sum_{i2} X^T f_{i2,*} G_i(i2,*)^T = X^T f(X) "
             "G_i ('basic linear algebra')."),
    steps=[
        Step("sum_{i2} X^T f_{i2,*} G_i(i2,*)^T", "the proof's last sum = d<G, s>/dW_V by "
             "central differences (90 digits), d = 3, 2, 1", "mpmath", L.each_case(_g3_step6)),
        Step("= X^T f G", "X^T f G = the central differences (last step, 'basic linear "
             "algebra')", "mpmath", L.each_case(_g3_printed)),
    ],
    corrected=[
        Step("X^T f^T G (scale 1)", "sum_{i2} X^T f_{i2,*} G_{i2,*}^T = X^T f^T G (f_{i2,*} is "
             "row i2 of f): equals attngrad.transformer's dL/dW_V with scale 1", "mpmath",
             _g3_corrected("C.6")),
        Step("X^T f^T G (Definition C.3)", "with the 1/d inside f: attngrad.transformer's "
             "dL/dW_V = X^T f^T G (no 1/d outside: W_V is not in the exponent)", "mpmath",
             _g3_corrected("C.3")),
    ],
    errata=[Erratum(
        location="LSS24 Lemma G.3, last step of the proof (used by Lemmas G.4, I.7 Part 4 and "
                 "Algorithm 1 line 22)",
        printed="sum_{i2} X^T f(X)_{i2,*} G_i(i2,*)^T = X^T f(X) G_i",
        corrected="= X^T f(X)^T G_i (f(X)_{i2,*} is the i2-th row of f); dL/dW_Vi = "
                  "X^T f(X)^T G_i = (f(X) X)^T G_i, as s = f X W_V",
        evidence="the sum before the last step equals central differences of <G, s> in W_V "
                 "(90 digits) while X^T f G does not (first at n = 5, d = 3); X^T f^T G equals "
                 "attngrad.transformer's dL/dW_V with and without the 1/d, d = 3, 2, 1. "
                 + L.rerun("LSS24 Lemma G.3"),
        step="= X^T f G")],
)


# ---------------------------------------------------------------------------
# Lemma G.4: fast dL/dW_V


def _g4(transpose):
    def fn(c):
        X, G = c["X"], c["G"]
        gv = (X.T @ c["V1"]) @ (c["U1"].T @ G) if transpose else (X.T @ c["U1"]) @ (c["V1"].T @ G)
        n = c["n"]
        return [("", _nrm(gv - _library_dx(c, "C.3")["WV"]),
                 n * n * _nrm(X) * c["eps1"] * _nrm(G))]
    return L.each_lowrank(fn, which="C.3")


def _g4_chain(c):
    X, G, n = c["X"], c["G"], c["n"]
    return [("", _nrm(X.T @ (c["ft"] - c["f"]) @ G), n * n * _nrm(X) * c["eps1"] * _nrm(G))]


LEMMA_G4 = Statement(
    id="LSS24 Lemma G.4",
    paper=PAPER,
    summary="g~_v = X^T U1 V1^T G_i approximates dL/dW_Vi (printed target X^T f G, Lemma "
            "G.3's error); X^T V1 U1^T G_i does",
    printed=("Lemma G.4 (Fast computation for dL(X)/d(W_V)_i): g~_v with ||g~_v - dL(X)/dW_Vi||"
             "_inf <= 1/poly(n) in n^{1+o(1)} time. Proof: f~ = U1 V1^T (Lemma C.13); dL/dW_Vi = "
             "X^T f G_i (Lemma G.3); X^T U1, then (X^T U1) V1^T, then (.) G_i (d^2 n time); "
             "||X^T f~ G - X^T f G|| <= n^2 ||X|| ||f~ - f|| ||G|| <= eps/poly(n); g~_v = "
             "X^T f~ G_i, eps = 1/poly(n)."),
    steps=[
        Step("error chain", "||X^T (U1 V1^T - f) G|| <= n^2 ||X|| eps1 ||G|| (certified)",
             "ball", L.each_lowrank(_g4_chain, which="C.3"), relation="<="),
        Step("time (counted)", "(X^T U1)(V1^T G): 2 n k1 d + d k1 d (exact polynomial)",
             "symbolic", _count(lambda ns, X, U, V, G: (X.T @ U) @ (V.T @ G),
                                [(N, D), (N, K), (N, K), (N, D)],
                                2 * n_ * k_ * d_ + k_ * d_ ** 2)),
        Step("||g~_v - dL/dW_V||", "g~_v = (X^T U1)(V1^T G) is within n^2 ||X|| eps1 ||G|| of "
             "attngrad.transformer's dL/dW_V (certified)", "ball", _g4(False), relation="<="),
    ],
    corrected=[
        Step("(X^T V1)(U1^T G)", "g~_v = (X^T V1)(U1^T G) = X^T f~^T G is within the same bound "
             "of attngrad.transformer's dL/dW_V (certified)", "ball", _g4(True),
             relation="<="),
    ],
    errata=[Erratum(
        location="LSS24 Lemma G.4 (inherits Lemma G.3; Algorithm 1 line 22, Lemma I.7 Part 4)",
        printed="g~_v = X^T f~ G_i = (X^T U1)(V1^T G_i) approximates dL(X)/dW_Vi",
        corrected="g~_v = X^T f~^T G_i = (X^T V1)(U1^T G_i)",
        evidence="(X^T U1)(V1^T G) misses attngrad.transformer's dL/dW_V by more than n^2 ||X|| "
                 "eps1 ||G|| (n = 12, d = 2, Taylor degree 3; certified), (X^T V1)(U1^T G) is "
                 "within it. " + L.rerun("LSS24 Lemma G.4"),
        step="||g~_v - dL/dW_V||")],
)


# ---------------------------------------------------------------------------
# Lemmas H.1, H.2: through g(Z) = phi(Z W_g)

PHI = sympy.Function("phi")


def _h1():
    out = []
    y = sympy.Symbol("y")
    for n, d in ((2, 2), (2, 1)):
        A, Wg = _syms("A", n, d), _syms("Wg", d, d)
        P = A @ Wg
        for i4, j4, i5, j5 in itertools.product(range(n), range(d), range(n), range(d)):
            dphi = sympy.diff(PHI(y), y).subs(y, P[i4, j4])
            rhs = dphi * Wg[j5, j4] if i4 == i5 else sympy.Integer(0)
            out.append((f"n={n},d={d},i4={i4 + 1},j4={j4 + 1},i5={i5 + 1},j5={j5 + 1}",
                        sympy.diff(PHI(P[i4, j4]), A[i5, j5]), rhs))
    return out


def _h1_part2():
    out = []
    y = sympy.Symbol("y")
    n, d = 2, 2
    A, Wg = _syms("A", n, d), _syms("Wg", d, d)
    P = A @ Wg
    for i4, j4 in itertools.product(range(n), range(d)):
        dphi = sympy.diff(PHI(y), y).subs(y, P[i4, j4])
        e = sympy.Matrix([int(k == i4) for k in range(n)])
        rhs = dphi * e * sympy.Matrix(Wg[:, j4]).T
        out.append((f"i4={i4 + 1},j4={j4 + 1}", sympy.Matrix(_grad(PHI(P[i4, j4]), A)), rhs))
    return out


LEMMA_H1 = Statement(
    id="LSS24 Lemma H.1",
    paper=PAPER,
    summary="dT_i(i4,j4)/dAttn_i(i5,j5) = phi'(Attn_i(i4,*)^T W_g(*,j4)) W_g(j5,j4) if i4 = i5, "
            "else 0",
    printed=("Lemma H.1 (Gradient of T_i on Attn_i): g_i(Z) = phi(Z W_g), W_g in R^{d x d}, phi "
             "any element-wise activation, phi' its derivative. Part 1: dT_i(i4,j4)/"
             "dAttn_i(i5,j5) = phi'(Attn_i(i4,*)^T W_g(*,j4)) W_g(j5,j4) if i4 = i5, 0 otherwise. "
             "Part 2: dT_i(i4,j4)/dAttn_i = phi'(Attn_i(i4,*)^T W_g(*,j4)) e_{i4} W_g(*,j4)^T. "
             "(Proof: 'for i4 in [d], j4 in [n]' -- the ranges are swapped in print.)"),
    steps=[
        Step("Part 1 (symbolic)", "SymPy's derivative of phi((A W_g)_{i4,j4}) with phi an "
             "undefined function, every index (n = 2, d = 2, 1)", "symbolic", _h1),
        Step("Part 2 (symbolic)", "the n x d matrix of derivatives = phi'(.) e_{i4} "
             "W_g(*,j4)^T (n = d = 2)", "symbolic", _h1_part2),
    ],
)


def _h2_sym():
    out = []
    for n, d in ((2, 2), (3, 1)):
        A, Wg, gT = _syms("A", n, d), _syms("Wg", d, d), _syms("g", n, d)
        P = A @ Wg
        phi = sum((gT[i, j] * PHI(P[i, j]) for i in range(n) for j in range(d)),
                  sympy.Integer(0))
        y = sympy.Symbol("y")
        dphi = np.array([[sympy.diff(PHI(y), y).subs(y, P[i, j]) for j in range(d)]
                         for i in range(n)], dtype=object)
        out.append((f"n={n},d={d}", sympy.Matrix(_grad(phi, A)),
                    sympy.Matrix((gT * dphi) @ Wg.T)))
    return out


def _h2_cases():
    for n, d, seed in ((5, 3, 1), (4, 2, 2)):
        rng = np.random.default_rng(700 + seed)
        yield n, d, _rand_dyadic(rng, (n, d), 1.0), _rand_dyadic(rng, (d, d), 1.0), \
            _rand_dyadic(rng, (n, d), 1.0)


def _h2_mp():
    """G_i = (g_T o phi'(Attn W_g)) W_g^T with phi = tanh (phi' = 1 - tanh^2): vs central
    differences of <g_T, tanh(Attn W_g)> at 90 digits and vs attngrad.transformer's
    backprop.mlp_backward."""
    out = []
    for n, d, A, Wg, gT in _h2_cases():
        P = A @ Wg
        dphi = np.frompyfunc(lambda x: 1 - mpmath.tanh(x) ** 2, 1, 1)(P)
        printed = (gT * dphi) @ Wg.T

        def value(leaves, gT=gT, Wg=Wg):
            Pm = leaves["A"] @ Wg
            return mpmath.fsum((gT * np.frompyfunc(mpmath.tanh, 1, 1)(Pm)).reshape(-1))

        lib, _ = bp.mlp_backward(L.MPNS, "tanh", Wg, A, P, gT, False)
        out += [(f"n={n},d={d} finite differences", printed, _fd_entries(value, {"A": A}, "A")),
                (f"n={n},d={d} attngrad mlp_backward", printed, lib)]
    return out


def _h2_count():
    """Operations of Eq. (25) as evaluated: (g_T o phi') then (.) W_g^T; plus Attn_i W_g (the
    argument of phi', not counted in print): n d + n d^2, and n d^2 more."""
    n_, d_ = sympy.symbols("n d", positive=True)
    ns = opcount.CountingNamespace()
    n, d = 7, 3
    gT, dphi, A, Wg = (ns.wrap(np.ones(s)) for s in ((n, d), (n, d), (n, d), (d, d)))
    (gT * dphi) @ Wg.T
    eq25 = opcount.symbolic(ns.log, {n_: 7, d_: 3})["total"]
    ns.reset()
    A @ Wg
    arg = opcount.symbolic(ns.log, {n_: 7, d_: 3})["total"]
    return [("Eq. (25) as printed: n d + d^2 n", eq25, n_ * d_ + d_ ** 2 * n_),
            ("Attn_i W_g (not in print): n d^2", arg, n_ * d_ ** 2)]


LEMMA_H2 = Statement(
    id="LSS24 Lemma H.2",
    paper=PAPER,
    summary="G_i = (g_{T_i} o phi'(Attn_i W_g)) W_g^T, in n d + n d^2 operations (plus n d^2 "
            "for Attn_i W_g)",
    printed=("Lemma H.2 (Computation time for G_i, formal version of Lemma 5.4): G_i = "
             "dL(X)/dAttn_i(T_{i-1}(X)); assume dL(X)/dT_i(X) given and g_i(Z) = phi(Z W_g). "
             "Then G_i can be computed in n^{1+o(1)} time. Proof: g_{T_i} := dL/dT_i; G_i = "
             "sum_{i4,j4} g_{T_i}(i4,j4) dT_i(i4,j4)/dAttn_i (chain rule, Lemma H.1) = "
             "(g_{T_i} o phi'(Attn_i W_g)) W_g^T (Eq. 25); computing g_{T_i} o phi'(Attn_i W_g) "
             "takes n d time and the product with W_g^T d^2 n."),
    steps=[
        Step("Eq. (25) (symbolic)", "SymPy's d<g_T, phi(A W_g)>/dA (phi undefined) = "
             "(g_T o phi'(A W_g)) W_g^T, n = 2, d = 2 and n = 3, d = 1", "symbolic", _h2_sym),
        Step("Eq. (25) (mpmath)", "with phi = tanh: = central differences at 90 digits and = "
             "attngrad.transformer's backprop.mlp_backward (50 digits)", "mpmath", _h2_mp),
        Step("running time (counted)", "attngrad.opcount on the evaluation: Eq. (25) costs "
             "n d + n d^2 as printed; Attn_i W_g, needed inside phi', costs n d^2 more "
             "(exact polynomials in n, d)", "symbolic", _h2_count),
    ],
)


STATEMENTS = [LEMMA_F3, LEMMA_F4, LEMMA_F5, LEMMA_G1, LEMMA_G2, LEMMA_G3, LEMMA_G4, LEMMA_H1,
              LEMMA_H2]
