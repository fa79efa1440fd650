"""LSS24 Appendices J (residual connections: Definitions J.1, J.2, Lemmas J.3 to J.5) and K
(multi-head attention: Definition K.1, Lemma K.2).

The definitions against attngrad.transformer (residual=True, mlp_residual=True, heads=h) and the
loops of derivations/model_loops.py; Lemma J.3's identity dL/dX_R = dL/dY_R + dL/dY_R dH/dX_R
and its error factor; the chains of Lemmas J.4, J.5 with the corrected closed forms against
central differences; Lemma K.2's sum over heads against attngrad.transformer's single heads.
The 1/poly(n) claims are asymptotic (gaps), as in Lemma H.4.
"""
from __future__ import annotations

import itertools

import mpmath
import numpy as np
import sympy

from attngrad import transformer as tr

from . import lss24 as L
from .core import Erratum, Statement, Step
from .lss24_h_model import chain_vs_fd
from .lss24_model import _fd_entries, _rand_dyadic, _softmax_loops

PAPER = L.PAPER


def _res_case(n, d, seed):
    rng = np.random.default_rng(1700 + seed)
    T = _rand_dyadic(rng, (n, d), 1.0)
    WQ, WK, WV, Wg = (_rand_dyadic(rng, (d, d), 0.5) for _ in range(4))
    dY = _rand_dyadic(rng, (n, d), 1.0)
    return T, WQ, WK, WV, Wg, dY


def _j1(n, d, seed):
    T, WQ, WK, WV, _, _ = _res_case(n, d, seed)
    lib = tr.forward(T, [tr.Layer(WQ, WK, WV, residual=True)])
    return lib, T + L._attn_loops(T, WQ, WK, WV)


DEF_J1 = Statement(
    id="LSS24 Definition J.1",
    paper=PAPER,
    summary="Z_i = T_{i-1} + Attn_i(T_{i-1})",
    printed=("Definition J.1 (Residual connection over Attn_i): T_i as Definition 3.3, Attn_i as "
             "Definition C.3; Z_i := T_{i-1} + Attn_i(T_{i-1})."),
    steps=[Step("attngrad residual", "attngrad.transformer.forward with residual=True (no MLP) "
                "= T + Attn(T), Attn by loops (50 digits)", "mpmath", L.each_case(_j1))],
)


def _j2(n, d, seed):
    T, WQ, WK, WV, Wg, _ = _res_case(n, d, seed)
    layer = tr.Layer(WQ, WK, WV, W_g=Wg, phi="tanh", residual=True, mlp_residual=True)
    Z = T + L._attn_loops(T, WQ, WK, WV)
    return tr.forward(T, [layer]), Z + L._TANH(Z @ Wg)


DEF_J2 = Statement(
    id="LSS24 Definition J.2",
    paper=PAPER,
    summary="T_i = Z_i + g_i(Z_i) (replaces Definition 3.3's T_i, which it also cites)",
    printed=("Definition J.2 (Residual connection over g_i): 'Let the intermediate variable T_i "
             "be defined as Definition 3.3'; Z_i as Definition J.1. Then T_i, the output of the "
             "i-th layer with the residual connection, is T_i = Z_i + g_i(Z_i)."),
    steps=[Step("attngrad residuals", "attngrad.transformer.forward with residual=True, "
                "mlp_residual=True, g(Z) = tanh(Z W_g) = Z + g(Z) with Z = T + Attn(T) by "
                "loops (50 digits)", "mpmath", L.each_case(_j2))],
)


# ---------------------------------------------------------------------------
# Lemma J.3


def _j3_attn(n, d, seed):
    """H = Attn: dL/dX_R of the residual layer = dL/dY_R + dL/dY_R dAttn/dX_R (attngrad with
    and without the residual)."""
    T, WQ, WK, WV, _, dY = _res_case(n, d, seed)
    res = tr.gradient(T, [tr.Layer(WQ, WK, WV, residual=True)], dY).X
    plain = tr.gradient(T, [tr.Layer(WQ, WK, WV)], dY).X
    return res, dY + plain


def _j3_mlp(n, d, seed):
    """H = g (tanh MLP): d<dY, Z + g(Z)>/dZ by central differences = dY + (dY o g'(Z W_g))
    W_g^T (Lemma H.2)."""
    T, _, _, _, Wg, dY = _res_case(n, d, seed)

    def value(leaves):
        Z = leaves["Z"]
        return mpmath.fsum((dY * (Z + L._TANH(Z @ Wg))).reshape(-1))

    return _fd_entries(value, {"Z": T}, "Z"), dY + (dY * L._DTANH(T @ Wg)) @ Wg.T


n_ = sympy.Symbol("n", positive=True)


def _j3_equation(printed):
    """'(n d poly(n) + 1)(1/poly(n)) = poly(n)': with poly(n) = n^a for the magnification and
    1/poly(n) = n^-b for the error, the product tends to 0 whenever b > a + 2 (d <= n), i.e. it
    is 1/poly(n); it grows like a polynomial only if b < a + 1."""
    def compute():
        out = []
        for a, b in ((1, 4), (2, 6), (3, 8)):
            lim = sympy.limit((n_ * sympy.log(n_) * n_ ** a + 1) * n_ ** -b, n_, sympy.oo)
            out.append((f"a={a},b={b}", lim, sympy.oo if printed else sympy.Integer(0)))
        return out
    return compute


def _j3_factor():
    """An error delta in dL/dY_R reaches dL/dX_R as delta + delta dH/dX_R: at most
    (n d ||dH/dX_R||_inf + 1) ||delta|| (H = Attn, dH/dX_R by central differences)."""
    out = []
    for n, d, seed in ((4, 2, 1), (3, 3, 2)):
        T, WQ, WK, WV, _, _ = _res_case(n, d, seed)
        step = mpmath.mpf(2) ** -100
        jac = mpmath.mpf(0)
        with mpmath.workdps(90):
            for a, b in itertools.product(range(n), range(d)):
                E = T * 0
                E[a, b] = step
                col = (L._attn_loops(T + E, WQ, WK, WV) - L._attn_loops(T - E, WQ, WK, WV)) / (
                    2 * step)
                jac = max(jac, max(abs(v) for v in col.reshape(-1)))
        for s in range(2):
            delta = _rand_dyadic(np.random.default_rng(90 + s), (n, d), 1.0)
            moved = tr.gradient(T, [tr.Layer(WQ, WK, WV, residual=True)], delta).X
            out.append((f"n={n},d={d},delta {s}", max(abs(v) for v in moved.reshape(-1)),
                        (n * d * jac + 1) * max(abs(v) for v in delta.reshape(-1))))
    return out


LEMMA_J3 = Statement(
    id="LSS24 Lemma J.3",
    paper=PAPER,
    summary="Y_R = X_R + H(X_R): dL/dX_R = dL/dY_R + dL/dY_R dH/dX_R; an error in dL/dY_R grows "
            "by at most n d ||dH/dX_R|| + 1",
    printed=("Lemma J.3 (Analysis of the residual connection): Y_R = X_R + H(X_R), H some layer "
             "(MLP, Attn, ...); dL/dY_R given and dL/dY_R dH(X_R)/dX_R computable in n^{1+o(1)}. "
             "Then dL/dX_R in n^{1+o(1)} time, and a 1/poly(n) error in dL/dY_R gives a "
             "1/poly(n) error in dL/dX_R. Proof: dL/dX_R = dL/dY_R (I + dH/dX_R) = dL/dY_R + "
             "dL/dY_R dH/dX_R (Eq. 32); 'the approximation error will not be magnified by more "
             "than (n d poly(n) + 1). Since (n d poly(n) + 1)(1/poly(n)) = poly(n), the "
             "approximation error on dL/dX_R can be bounded by 1/poly(n).'"),
    steps=[
        Step("Eq. (32), H = Attn", "attngrad.transformer's dL/dX_R with the residual = dL/dY_R + "
             "its dL/dX_R without (50 digits)", "mpmath", L.each_case(_j3_attn)),
        Step("Eq. (32), H = MLP", "central differences of <dY, Z + tanh(Z W_g)> = dY + (dY o "
             "tanh'(Z W_g)) W_g^T (90 digits)", "mpmath", L.each_case(_j3_mlp)),
        Step("magnification", "an error delta in dL/dY_R reaches dL/dX_R as at most "
             "(n d ||dH/dX_R||_inf + 1) ||delta||_inf (H = Attn)", "mpmath", _j3_factor,
             relation="<="),
        Step("'(n d poly(n) + 1)(1/poly(n)) = poly(n)'", "with poly(n) = n^a, 1/poly(n) = n^-b "
             "(b > a + 2, d <= log n): the product grows without bound, as printed (SymPy "
             "limit)", "symbolic", _j3_equation(True)),
    ],
    corrected=[
        Step("= 1/poly(n)", "the product tends to 0: it is 1/poly(n), as the conclusion needs "
             "(SymPy limit)", "symbolic", _j3_equation(False)),
    ],
    errata=[Erratum(
        location="LSS24 Lemma J.3, proof (last sentence)",
        printed="(n d poly(n) + 1)(1/poly(n)) = poly(n)",
        corrected="(n d poly(n) + 1)(1/poly(n')) = 1/poly(n) when the second polynomial's degree "
                  "exceeds the first's by more than one (d <= n); the magnification itself needs "
                  "||dH/dX_R||_inf <= poly(n), which for H = Attn takes bounded entries",
        evidence="with poly(n) = n^a and 1/poly(n) = n^-b, b > a + 2, SymPy's limit of "
                 "(n log(n) n^a + 1) n^-b is 0, not infinity (a = 1, 2, 3). "
                 + L.rerun("LSS24 Lemma J.3"),
        step="'(n d poly(n) + 1)(1/poly(n)) = poly(n)'")],
    gaps=["the factor n d ||dH/dX_R||_inf + 1 is 'poly(n)' only if ||dH/dX_R||_inf <= poly(n), "
          "assumed, not shown (for H = Attn it needs bounded entries); the hypothesis asks for "
          "dL/dY_R dH/dX_R exactly, while the conclusion allows an approximate dL/dY_R"],
)


LEMMA_J4 = Statement(
    id="LSS24 Lemma J.4",
    paper=PAPER,
    summary="single layer with both residual connections: dL/dX in n^{1+o(1)} time, error "
            "1/poly(n)",
    printed=("Lemma J.4 (Fast gradient computation for single-layer transformer with residual "
             "connection): T_0 = g_0(X), Z_1 = T_0 + Attn_1(T_0), T_1 = Z_1 + g_1(Z_1). Part 1: "
             "dL/dX in n^{1+o(1)}; Part 2: ||g~_r1 - dL(X)/dX||_inf <= 1/poly(n). Proof: Step 1 "
             "dL/dT_1 'in n d time' (Definition 3.1); Step 2 dL/dZ_1 (Lemma H.2 meets Lemma "
             "J.3's assumption); Step 3 dL/dT_0 (Lemma E.11, Lemma J.3), error 1/poly(n); Step 4 "
             "dL/dX by Lemma H.2, error (n d)(1/poly(n)) = 1/poly(n)."),
    steps=[Step("Steps 1 to 4 (exact closed forms)", "dL/dZ_1 = dL/dT_1 + (dL/dT_1 o g_1') "
                "W_g^T, dL/dT_0 = dL/dZ_1 + Lemma E.11's term (Lemma D.17 corrected), dL/dX by "
                "Lemma H.2 on g_0 = central differences of the model by loops (90 digits)",
                "mpmath", chain_vs_fd(((1, 4, 2, 3, True), (1, 3, 3, 4, True))))],
    gaps=["1/poly(n): asymptotic, through Lemma E.11 (whose printed closed form is wrong; "
          "corrected above) and the poly(n) factors of Lemma J.3 and Step 4",
          "Step 1's 'n d time' for dL/dT_1 does not follow from Definition 3.1 for a general L; "
          "Step 4 applies Lemma H.2 to g_0, which is not assumed of the form phi(X W_g)"],
)

LEMMA_J5 = Statement(
    id="LSS24 Lemma J.5",
    paper=PAPER,
    summary="m layers with residual connections: dL/dX in n^{1+o(1)} time, error 1/poly(n), by "
            "induction (as Lemma H.4)",
    printed=("Lemma J.5 (Fast gradient computation for multi-layer transformer with residual "
             "connection): Part 1: dL/dX in n^{1+o(1)}; Part 2: ||g~_r - dL(X)/dX||_inf <= "
             "1/poly(n). Proof by induction: Lemma J.4; 'we assume for any k'; the model as "
             "(F_k o g_0)(X), T_0, Z_1, T_1; F_{k+1}(X) = F_k(T_1); 'similar proof of Lemma J.4'."),
    steps=[Step("the chain over m layers", "Lemma J.4's steps repeated layer by layer (exact "
                "closed forms) = central differences of the model by loops, m = 2, 3",
                "mpmath", chain_vs_fd(((2, 4, 2, 5, True), (3, 3, 2, 6, True))))],
    gaps=["the induction has Lemma H.4's gap: each layer multiplies the error (by at least "
          "n d ||dH/dX_R|| + 1 > 1 with the residual, Lemma J.3), so m = n^{o(1)} layers need "
          "eps = n^{-Theta(m)} per layer; not established",
          "notation: F_k excludes g_0 in '(F_k o g_0)(X)' but F_{k+1} includes it in "
          "'F_{k+1}(X) = F_k(T_1)'"],
)


# ---------------------------------------------------------------------------
# Appendix K


def _mh_case(n, d, h, seed):
    rng = np.random.default_rng(1900 + seed)
    X = _rand_dyadic(rng, (n, d), 1.0)
    WQ, WK, WV = (_rand_dyadic(rng, (d, d), 1.0) for _ in range(3))
    G = _rand_dyadic(rng, (n, d), 1.0)
    return X, WQ, WK, WV, G


MH_CASES = ((5, 4, 2, 1), (4, 6, 3, 2), (3, 4, 4, 3))


def _k1(n, d, h, seed):
    """Concatenated heads: Q_l = X W_Q^l etc. (columns l d_h .. (l+1) d_h - 1), f_l =
    Softmax(Q_l K_l^T / d_h), s_l = f_l V_l, by loops per head."""
    X, WQ, WK, WV, _ = _mh_case(n, d, h, seed)
    dh = d // h
    Q, K, V = X @ WQ, X @ WK, X @ WV
    parts = []
    for l in range(h):
        cols = slice(l * dh, (l + 1) * dh)
        S = Q[:, cols] @ K[:, cols].T / dh
        parts.append(_softmax_loops(S, False) @ V[:, cols])
    return tr.forward(X, [tr.Layer(WQ, WK, WV, heads=h)]), np.concatenate(parts, axis=1)


def _tuple(fn):
    def compute():
        out = []
        for n, d, h, seed in MH_CASES:
            out.append((f"n={n},d={d},h={h}", *fn(n, d, h, seed)))
        return out
    return compute


DEF_K1 = Statement(
    id="LSS24 Definition K.1",
    paper=PAPER,
    summary="h heads: split Q, K, V into d_h = d/h columns each, f_l = Softmax(Q_l K_l^T / d_h), "
            "s_l = f_l V_l, s = concat(s_1, ..., s_h) (Q = X W_Q etc., never defined in C.3)",
    printed=("Definition K.1 (Multi-head attention): h heads, d_h = d/h; 'Q, K, V in R^{n x d} "
             "defined as Definition C.3' (which defines only W = W_Q W_K^T and W_V); Step 1 split "
             "Q, K, V into Q_l, K_l, V_l in R^{n x d_h}; Step 2 f_l := Softmax(Q_l K_l^T / d_h), "
             "s_l := f_l V_l; Step 3 concatenate the s_l into s in R^{n x d}."),
    steps=[Step("attngrad's heads", "attngrad.transformer.forward with heads = h (Q = X W_Q, "
                "K = X W_K, V = X W_V; scale 1/d_h, no output projection) = the definition by "
                "loops per head (50 digits; h = 2, 3, 4)", "mpmath", _tuple(_k1))],
)


def _k2(n, d, h, seed):
    """dL/dX_m = sum_l (dL/dY_m dY_m/ds) ds_l/dX_m: attngrad's h-head gradient = the sum of h
    single-head gradients, head l's weights zero outside its d_h columns, scale 1/d_h."""
    X, WQ, WK, WV, G = _mh_case(n, d, h, seed)
    dh = d // h
    total = None
    for l in range(h):
        keep = np.zeros((d, d), dtype=int)
        keep[:, l * dh:(l + 1) * dh] = 1
        g = tr.gradient(X, [tr.Layer(WQ * keep, WK * keep, WV * keep)], G,
                        scale=mpmath.mpf(1) / dh).X
        total = g if total is None else total + g
    return tr.gradient(X, [tr.Layer(WQ, WK, WV, heads=h)], G).X, total


LEMMA_K2 = Statement(
    id="LSS24 Lemma K.2",
    paper=PAPER,
    summary="dL/dX_m = sum over heads of the per-head chains, in n^{1+o(1)} time; a 1/poly(n) "
            "error in dL/dY_m stays 1/poly(n)",
    printed=("Lemma K.2 (Analysis of the multi-head attention): Attn as Definition C.3, "
             "multi-head as Definition K.1, Y_m, X_m the output and input. Then dL/dX_m in "
             "n^{1+o(1)} time, and a 1/poly(n) error in dL/dY_m gives a 1/poly(n) error in "
             "dL/dX_m. Proof: dL/dX_m = dL/dY_m dY_m/ds ds/dX_m = sum_{l=1}^h dL/dY_m dY_m/ds "
             "ds_l/dX_m; Step 1 dL/dY_m in n d time; Step 2 dL/dY_m dY_m/ds by Lemma H.2; Step 3 "
             "each head by Lemma E.11 (h 'viewed as a constant'); error magnified by at most "
             "n^2 d d_h poly(n) per head, h n^2 d d_h poly(n)(1/poly(n)) = 1/poly(n)."),
    steps=[Step("sum over heads", "attngrad.transformer's dL/dX_m with h heads = the sum of "
                "the h single-head gradients (head l's columns of W_Q, W_K, W_V, scale 1/d_h), "
                "50 digits", "mpmath", _tuple(_k2))],
    gaps=["Y_m is not defined apart from s (Definition K.1's output is s, so dY_m/ds is the "
          "identity); Step 2's use of Lemma H.2 is unexplained",
          "Step 3 applies Lemma E.11 per head, but E.11 is stated for one d x d layer with no "
          "scale (Definition C.6): head l needs W_l = W_Q^l (W_K^l)^T of rank d_h, the 1/d_h, "
          "and the corrected closed form (Lemma D.17)",
          "the error factor 'n^2 d d_h poly(n)' per head is asserted, not derived; the "
          "multi-layer multi-head claim is one closing sentence (Lemmas H.3, H.4's gaps apply)"],
)


STATEMENTS = [DEF_J1, DEF_J2, LEMMA_J3, LEMMA_J4, LEMMA_J5, DEF_K1, LEMMA_K2]
