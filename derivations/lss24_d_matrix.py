"""LSS24 Appendix D (Matrix View): Lemmas D.1 to D.14, Definitions D.15, D.16, Lemma D.17.

Lemma D.1 (cited from [DSXY23]) gives ds(X)_{i0,j0}/dX_{i1,j1} as eight scalar pieces C1..C8;
Lemmas D.3 to D.14 rearrange them into matrices, Lemma D.17 collects the five terms of
dL/dT_{i-1}. The checks:

* Lemma D.1 against SymPy's derivative of Definition C.10's s (exp kept as an unevaluated
  function, n = d = 2, every index) and against central differences at 90 digits (n = 5, d = 3);
* the rearrangements (D.3 to D.7, D.10 to D.14, D.16, D.17's z's) as polynomial identities in
  independent symbols f, s, h, X, W, W_V, G (n = 3, d = 2): they hold, given the printed pieces;
* the result (D.8, D.9, D.17) against the derivative: it fails, since D.1's pieces use f_{i1,i0}
  where a row-softmax needs f_{i0,i1} and W where the exponent X W X^T needs W^T (and the other
  way round). The corrected pieces give dL/dX = f^T G W_V^T + p X W^T + p^T X W (appendix
  model, no 1/d), and with Definition C.3's 1/d, f^T G W_V^T + (p X W^T + p^T X W) / d, which is
  what attngrad.transformer computes.
"""
from __future__ import annotations

import itertools

import mpmath
import numpy as np
import sympy

from . import lss24 as L
from .core import Erratum, Statement, Step
from .lss24_model import _canon, _fd_entries

PAPER = L.PAPER
SYM_N, SYM_D = 3, 2          # sizes of the generic-symbol identities


# ---------------------------------------------------------------------------
# the pieces C1..C8 of Lemma D.1, as printed and corrected (m: f, h, s, X, W, W_V)


def _ip(a, b):
    return sum((a[k] * b[k] for k in range(len(a))), 0 * a[0])


def printed_c(m, i0, j0, i1, j1):
    """The printed C1 + ... + C5 (i0 = i1) or C6 + C7 + C8 (i0 != i1)."""
    f, h, s, X, W, WV = (m[k] for k in ("f", "h", "s", "X", "W", "WV"))
    if i0 == i1:
        return (-s[i0, j0] * f[i0, i0] * _ip(W[j1, :], X[i0, :])
                - s[i0, j0] * _ip(f[i0, :], X @ W[:, j1])
                + f[i0, i0] * h[i0, j0] * _ip(W[j1, :], X[i0, :])
                + _ip(f[i0, :] * (X @ W[:, j1]), h[:, j0])
                + f[i0, i0] * WV[j1, j0])
    return (-s[i0, j0] * f[i1, i0] * _ip(W[j1, :], X[i0, :])
            + f[i1, i0] * h[i1, j0] * _ip(W[j1, :], X[i0, :])
            + f[i1, i0] * WV[j1, j0])


def corrected_c(m, i0, j0, i1, j1):
    """The pieces with W^T where X W X^T needs it and f_{i0,i1} in Part 2."""
    f, h, s, X, W, WV = (m[k] for k in ("f", "h", "s", "X", "W", "WV"))
    if i0 == i1:
        return (-s[i0, j0] * f[i0, i0] * _ip(W[:, j1], X[i0, :])
                - s[i0, j0] * _ip(f[i0, :], X @ W[j1, :])
                + f[i0, i0] * h[i0, j0] * _ip(W[:, j1], X[i0, :])
                + _ip(f[i0, :] * (X @ W[j1, :]), h[:, j0])
                + f[i0, i0] * WV[j1, j0])
    return (-s[i0, j0] * f[i0, i1] * _ip(W[:, j1], X[i0, :])
            + f[i0, i1] * h[i1, j0] * _ip(W[:, j1], X[i0, :])
            + f[i0, i1] * WV[j1, j0])


def _indices(n, d, part):
    for i0, j0, i1, j1 in itertools.product(range(n), range(d), range(n), range(d)):
        if (i0 == i1) == (part == 1):
            yield i0, j0, i1, j1


def _d1_symbolic(pieces, part, transpose_w=False, n=2, d=2):
    """pieces(model) vs SymPy's ds_{i0,j0}/dX_{i1,j1} of Definition C.10 (no 1/d)."""
    def compute():
        m = L.sym_model(n, d, transpose_w)
        lhs, rhs, labels = [], [], []
        for i0, j0, i1, j1 in _indices(n, d, part):
            lhs.append(sympy.diff(m["s"][i0, j0], m["X"][i1, j1]))
            rhs.append(pieces(m, i0, j0, i1, j1))
            labels.append(f"i0={i0 + 1},j0={j0 + 1},i1={i1 + 1},j1={j1 + 1}")
        Ls, Rs = _canon(np.array([lhs], dtype=object), np.array([rhs], dtype=object))
        return [(f"n={n},d={d},{lab}", Ls[k], Rs[k]) for k, lab in enumerate(labels)]
    return compute


@mpmath.workdps(90)
def _jacobian_s(n, d, seed, which):
    """ds(X)/dX by central differences at 90 digits: J[i0, j0, i1, j1]."""
    inst = L.instance(n, d, seed)
    X, W, WV = inst["X"], inst["W"], inst["WV"]
    t = L.scale(inst, which)
    step = mpmath.mpf(2) ** -100
    J = np.empty((n, d, n, d), dtype=object)
    for i1, j1 in itertools.product(range(n), range(d)):
        E = X * 0
        E[i1, j1] = step
        up, dn = L.s_loops(X + E, W, WV, t), L.s_loops(X - E, W, WV, t)
        for i0, j0 in itertools.product(range(n), range(d)):
            J[i0, j0, i1, j1] = (up[i0][j0] - dn[i0][j0]) / (2 * step)
    return J


_JAC = {}


def jacobian_s(n, d, seed, which="C.6"):
    key = (n, d, seed, which)
    if key not in _JAC:
        _JAC[key] = _jacobian_s(n, d, seed, which)
    return _JAC[key]


def _num_model(n, d, seed, which="C.6"):
    inst, ob = L.instance(n, d, seed), L.objs(n, d, seed, which)
    m = {k: inst[k] for k in ("X", "W", "WV", "G")}
    m.update(f=ob["f"], h=ob["h"], s=ob["s"])
    return m


def _d1_fd(pieces, part):
    def fn(n, d, seed):
        m, J = _num_model(n, d, seed), jacobian_s(n, d, seed)
        idx = list(_indices(n, d, part))
        return (np.array([pieces(m, *ix) for ix in idx], dtype=object),
                np.array([J[ix] for ix in idx], dtype=object))
    return L.each_case(fn, L.CASES[:1])


_D1_PRINTED = ("Lemma D.1 (Gradient of s(X)_{i0,j0}, Lemma B.16 in [DSXY23]): s(X) of Definition "
               "C.10. Part 1: for i0 = i1, ds(X)_{i0,j0}/dX_{i1,j1} = C1 + C2 + C3 + C4 + C5 with "
               "C1 := -s_{i0,j0} f_{i0,i0} <W_{j1,*}, X_{i0,*}>, C2 := -s_{i0,j0} <f_{i0,*}, "
               "X W_{*,j1}>, C3 := f_{i0,i0} h_{i0,j0} <W_{j1,*}, X_{i0,*}>, C4 := <f_{i0,*} o "
               "(X W_{*,j1}), h_{*,j0}>, C5 := f_{i0,i0} (W_V)_{j1,j0}. Part 2: for i0 != i1 "
               "(printed 'i0 = i1' in the extracted text), = C6 + C7 + C8 with C6 := -s_{i0,j0} "
               "f_{i1,i0} <W_{j1,*}, X_{i0,*}>, C7 := f_{i1,i0} h_{i1,j0} <W_{j1,*}, X_{i0,*}>, "
               "C8 := f_{i1,i0} (W_V)_{j1,j0}. (Cited; no proof.)")

LEMMA_D1 = Statement(
    id="LSS24 Lemma D.1",
    paper=PAPER,
    summary="ds_{i0,j0}/dX_{i1,j1} = C1+..+C5 (i0 = i1), C6+C7+C8 (i0 != i1): W where W^T "
            "belongs, f_{i1,i0} where f_{i0,i1} belongs",
    printed=_D1_PRINTED,
    steps=[
        Step("Part 1 (symbolic)", "C1 + ... + C5 as printed = SymPy's ds_{i0,j0}/dX_{i0,j1} of "
             "Definition C.10 (u = exp(X W X^T)), n = d = 2, every i0, j0, j1", "symbolic",
             _d1_symbolic(printed_c, 1)),
        Step("Part 2 (symbolic)", "C6 + C7 + C8 as printed = SymPy's ds_{i0,j0}/dX_{i1,j1}, "
             "i1 != i0, n = d = 2, every index", "symbolic", _d1_symbolic(printed_c, 2)),
    ],
    corrected=[
        Step("Part 1, W^T (symbolic)", "with <W_{*,j1}, X_{i0,*}> for <W_{j1,*}, X_{i0,*}> and "
             "X W^T_{*,j1} = X (W_{j1,*})^T for X W_{*,j1}: = SymPy's derivative, n = d = 2",
             "symbolic", _d1_symbolic(corrected_c, 1)),
        Step("Part 2, f_{i0,i1} and W^T (symbolic)", "with f_{i0,i1} for f_{i1,i0} and "
             "<W_{*,j1}, X_{i0,*}>: = SymPy's derivative, n = d = 2", "symbolic",
             _d1_symbolic(corrected_c, 2)),
        Step("Part 1 as printed is for X W^T X^T (symbolic)", "the printed C1 + ... + C5 is the "
             "derivative when the exponent is X W^T X^T (all of Part 1's error is W vs W^T), "
             "n = d = 2", "symbolic", _d1_symbolic(printed_c, 1, transpose_w=True)),
        Step("corrected Parts (finite differences)", "the corrected pieces against central "
             "differences of s at 90 digits, n = 5, d = 3, every index (Parts 1 and 2)",
             "mpmath", lambda: _d1_fd(corrected_c, 1)() + _d1_fd(corrected_c, 2)()),
    ],
    errata=[
        Erratum(location="LSS24 Lemma D.1, Part 1 (C1 to C4)",
                printed="C1 = -s f_{i0,i0} <W_{j1,*}, X_{i0,*}>, C2 = -s <f_{i0,*}, X W_{*,j1}>, "
                        "C3 = f_{i0,i0} h_{i0,j0} <W_{j1,*}, X_{i0,*}>, C4 = <f_{i0,*} o "
                        "(X W_{*,j1}), h_{*,j0}>",
                corrected="W transposed in each: <W_{*,j1}, X_{i0,*}> in C1, C3 and "
                          "(X W^T)_{*,j1} in C2, C4 (the printed pieces are those of the "
                          "exponent X W^T X^T)",
                evidence="SymPy's derivative of Definition C.10's s (n = d = 2, exp kept "
                         "symbolic) differs from the printed C1 + ... + C5 at i0 = i1 = 1, "
                         "j0 = j1 = 1 and agrees with the transposed pieces at every index; the "
                         "printed sum is the derivative for the exponent X W^T X^T. "
                         + L.rerun("LSS24 Lemma D.1"),
                step="Part 1 (symbolic)"),
        Erratum(location="LSS24 Lemma D.1, Part 2 (C6 to C8)",
                printed="C6 = -s f_{i1,i0} <W_{j1,*}, X_{i0,*}>, C7 = f_{i1,i0} h_{i1,j0} "
                        "<W_{j1,*}, X_{i0,*}>, C8 = f_{i1,i0} (W_V)_{j1,j0}",
                corrected="f_{i0,i1} (row i0 of the row-stochastic f, the weight of token i1 "
                          "in output i0) and <W_{*,j1}, X_{i0,*}>: C6 = -s f_{i0,i1} "
                          "<W_{*,j1}, X_{i0,*}>, C7 = f_{i0,i1} h_{i1,j0} <W_{*,j1}, X_{i0,*}>, "
                          "C8 = f_{i0,i1} (W_V)_{j1,j0}",
                evidence="SymPy's derivative (n = d = 2) differs from the printed C6 + C7 + C8 "
                         "at i0 = 1, i1 = 2 and agrees with the corrected pieces at every index; "
                         "central differences at 90 digits confirm at n = 5, d = 3. Even C8 "
                         "(no W) is wrong: ds_{i0,j0}/dX_{i1,j1} along the value path is "
                         "f_{i0,i1} (W_V)_{j1,j0}. " + L.rerun("LSS24 Lemma D.1"),
                step="Part 2 (symbolic)"),
    ],
)


# ---------------------------------------------------------------------------
# Lemma D.2


def _d2_attn_is_s(n, d, seed):
    """Definition C.3's Attn (attngrad.transformer, 1/d) vs Definition C.10's s (no 1/d)."""
    inst = L.instance(n, d, seed)
    eye = np.eye(d, dtype=int).astype(object) * mpmath.mpf(1)
    from attngrad import transformer as tr
    return tr.forward(inst["X"], [tr.Layer(inst["W"], eye, inst["WV"])]), L.objs(n, d, seed)["s"]


def _d2_chain(n, d, seed):
    """dL/dT_{i-1} (attngrad.transformer, Definition C.3's layer) = sum_{i0,j0} G(i0,j0)
    ds_{i0,j0}/dX with s := Attn (u with 1/d), the Jacobian by central differences."""
    inst = L.instance(n, d, seed)
    J = jacobian_s(n, d, seed, "C.3")
    G = inst["G"]
    rhs = np.empty((n, d), dtype=object)
    for i1, j1 in itertools.product(range(n), range(d)):
        rhs[i1, j1] = mpmath.fsum(G[i0, j0] * J[i0, j0, i1, j1]
                                  for i0, j0 in itertools.product(range(n), range(d)))
    return L.library_gradients(n, d, seed, "C.3")["X"], rhs


LEMMA_D2 = Statement(
    id="LSS24 Lemma D.2",
    paper=PAPER,
    summary="dL/dT_{i-1}(X)_{i1,j1} = sum_{i0,j0} G_i(i0,j0) ds_{i0,j0}/dX_{i1,j1}, via "
            "'Attn_i(T_{i-1}(X)) = s(T_{i-1}(X))' (false without the 1/d)",
    printed=("Lemma D.2 (Gradient for T_i(X)): Attn_i as Definition C.3, s(X) as Definition "
             "C.10, G_i = dL(X)/dAttn_i(T_{i-1}(X)). Then dL(X)/dT_{i-1}(X)_{i1,j1} = "
             "sum_{i0=1}^n sum_{j0=1}^d G_i(i0,j0) ds(X)_{i0,j0}/dX_{i1,j1}. Proof: Lemma C.4; "
             "'By Definition C.3 and Definition C.10, we have Attn_i(T_{i-1}(X)) = "
             "s(T_{i-1}(X))'; combining and substituting T_{i-1}(X) = X."),
    steps=[
        Step("Attn_i = s (Definitions C.3, C.10)", "Definition C.3's Attn (attngrad.transformer, "
             "exponent X W X^T / d) equals Definition C.10's s (exponent X W X^T), 50 digits",
             "mpmath", L.each_case(_d2_attn_is_s, L.CASES[:2])),
    ],
    corrected=[
        Step("with s := Attn", "with u = exp(X W X^T / d) (Definition C.6 corrected) the "
             "claimed sum of G(i0,j0) ds_{i0,j0}/dX (Jacobian of s by central differences, "
             "90 digits) is attngrad.transformer's dL/dT_{i-1}", "mpmath",
             L.each_case(_d2_chain)),
    ],
    errata=[Erratum(
        location="LSS24 Lemma D.2, proof ('By Definition C.3 and Definition C.10, we have "
                 "Attn_i(T_{i-1}(X)) = s(T_{i-1}(X))')",
        printed="Attn_i(T_{i-1}(X)) = s(T_{i-1}(X)) with s of Definition C.10 (exponent X W X^T)",
        corrected="true only with Definition C.6's u corrected to exp(X W X^T / d); then the "
                  "lemma holds (it is the chain rule of Lemma C.4)",
        evidence="attngrad.transformer's Attn and Definition C.10's s differ at n = 5, d = 3 "
                 "and n = 4, d = 2 (dyadic instances, 50 digits); with the 1/d the lemma's sum "
                 "equals attngrad.transformer's gradient at d = 3, 2, 1. Consequence of the "
                 "erratum of Definition C.6. " + L.rerun("LSS24 Lemma D.2"),
        step="Attn_i = s (Definitions C.3, C.10)")],
)


# ---------------------------------------------------------------------------
# Lemmas D.3 to D.7: matrix views of the pieces (generic symbols)


def _b_matrices(m, i0, j0):
    """The printed B6, B7, B8 (n x d) and B2, B4 (d-vectors) of Lemmas D.3 to D.7."""
    f, h, s, X, W, WV = (m[k] for k in ("f", "h", "s", "X", "W", "WV"))
    wx = W @ X[i0, :]
    return {"B6": -s[i0, j0] * np.outer(f[:, i0], wx),
            "B7": np.outer(f[:, i0] * h[:, j0], wx),
            "B8": np.outer(f[:, i0], WV[:, j0]),
            "B2": -s[i0, j0] * (W.T @ X.T @ f[i0, :]),
            "B4": W.T @ X.T @ (f[i0, :] * h[:, j0])}


def _c_entries(m, i0, j0, k):
    """The printed C_k(X, i1, j1) of Lemma D.1 over every (i1, j1) (k = 6, 7, 8) or j1 (2, 4)."""
    f, h, s, X, W, WV = (m[k_] for k_ in ("f", "h", "s", "X", "W", "WV"))
    n, d = m["n"], m["d"]
    if k in (2, 4):
        return np.array([-s[i0, j0] * _ip(f[i0, :], X @ W[:, j1]) if k == 2 else
                         _ip(f[i0, :] * (X @ W[:, j1]), h[:, j0]) for j1 in range(d)],
                        dtype=object)
    out = np.empty((n, d), dtype=object)
    for i1, j1 in itertools.product(range(n), range(d)):
        out[i1, j1] = {6: -s[i0, j0] * f[i1, i0] * _ip(W[j1, :], X[i0, :]),
                       7: f[i1, i0] * h[i1, j0] * _ip(W[j1, :], X[i0, :]),
                       8: f[i1, i0] * WV[j1, j0]}[k]
    return out


def _matrix_view(k):
    def compute():
        m = L.generic(SYM_N, SYM_D)
        out = []
        for i0, j0 in itertools.product(range(SYM_N), range(SYM_D)):
            B = _b_matrices(m, i0, j0)[f"B{k}"]
            out.append((f"n={SYM_N},d={SYM_D},i0={i0 + 1},j0={j0 + 1}",
                        sympy.Matrix(np.atleast_2d(_c_entries(m, i0, j0, k))).expand(),
                        sympy.Matrix(np.atleast_2d(B)).expand()))
        return out
    return compute


def _d4_hypothesis(printed):
    """D.4's hypothesis writes h(X)_{j0,i1}; evaluated literally (n = d = 2, where the index
    exists) against Lemma D.1's C7 (h(X)_{i1,j0}); printed=False: the proof's h(X)_{i1,j0}."""
    def compute():
        return _d4_cases(printed)
    return compute


def _d4_cases(printed):
    m = L.generic(2, 2)
    f, h, X, W = m["f"], m["h"], m["X"], m["W"]
    out = []
    for i0, j0, i1, j1 in itertools.product(range(2), repeat=4):
        hv = h[j0, i1] if printed else h[i1, j0]
        lit = f[i1, i0] * hv * _ip(W[j1, :], X[i0, :])
        out.append((f"i0={i0 + 1},j0={j0 + 1},i1={i1 + 1},j1={j1 + 1}",
                    sympy.expand(lit), sympy.expand(_c_entries(m, i0, j0, 7)[i1, j1])))
    return out


def _view_statement(k, name, printed, typo=None):
    steps = [Step(f"B{k} = matrix of C{k}", f"the printed closed form of B{k} equals, entry by "
                  f"entry, Lemma D.1's printed C{k} (independent symbols f, s, h, X, W, W_V; "
                  f"n = {SYM_N}, d = {SYM_D}, every i0, j0)", "symbolic", _matrix_view(k))]
    kw = {}
    if typo:
        steps.insert(0, typo["step"])
        kw = {"corrected": [Step("C7 with h(X)_{i1,j0}", "with the proof's h(X)_{i1,j0} the "
                                 "hypothesis's C7 is Lemma D.1's C7 (n = d = 2)", "symbolic",
                                 _d4_hypothesis(False))],
              "errata": [typo["erratum"]]}
    return Statement(
        id=f"LSS24 Lemma D.{k - 3 if k in (6, 7, 8) else {2: 6, 4: 7}[k]}", paper=PAPER,
        summary=f"matrix view of C{k}: {name} (algebra holds; inherits Lemma D.1's errors)",
        printed=printed, steps=steps, **kw)


LEMMA_D3 = _view_statement(6, "B6 = -s_{i0,j0} f_{*,i0} (W X_{i0,*})^T", (
    "Lemma D.3 (Matrix view of C6(X)): C6(X, i1, j1) := -s_{i0,j0} f_{i1,i0} <W_{j1,*}, "
    "X_{i0,*}> (Lemma D.1); B6(i1, j1) := C6(X, i1, j1). Then B6(X) = -s(X)_{i0,j0} f(X)_{*,i0} "
    "(W X_{i0,*})^T. Proof: <a, b> = a^T b; row i1 is -s f_{i1,i0} W X_{i0,*}."))
LEMMA_D4 = _view_statement(7, "B7 = (f_{*,i0} o h_{*,j0}) (W X_{i0,*})^T", (
    "Lemma D.4 (Matrix view of C7(X)): C7(X, i1, j1) := f(X)_{i1,i0} h(X)_{j0,i1} <W_{j1,*}, "
    "X_{i0,*}> (Lemma D.1); B7(i1, j1) := C7. Then B7(X) = (f_{*,i0} o h_{*,j0}) (W X_{i0,*})^T. "
    "Proof: C7 = f_{i1,i0} h_{i1,j0} W_{j1,*}^T X_{i0,*}; row i1 is f_{i1,i0} h_{i1,j0} "
    "W X_{i0,*}."), typo={
        "step": Step("hypothesis C7 (h(X)_{j0,i1})", "the hypothesis's C7, with h(X)_{j0,i1} as "
                     "printed (defined only when n = d; here n = d = 2), equals Lemma D.1's C7 "
                     "(h(X)_{i1,j0})", "symbolic", _d4_hypothesis(True)),
        "erratum": Erratum(
            location="LSS24 Lemma D.4, hypothesis",
            printed="C7(X, i1, j1) := f(X)_{i1,i0} h(X)_{j0,i1} <W_{j1,*}, X_{i0,*}>",
            corrected="h(X)_{i1,j0}, as in Lemma D.1 and the lemma's own proof",
            evidence="h(X) is n x d, so h(X)_{j0,i1} (j0 in [d], i1 in [n]) is undefined "
                     "unless n = d; at n = d = 2 (independent symbols) it differs from Lemma "
                     "D.1's C7, e.g. at i0 = 1, j0 = 1, i1 = 2. " + L.rerun("LSS24 Lemma D.4"),
            step="hypothesis C7 (h(X)_{j0,i1})")})
LEMMA_D5 = _view_statement(8, "B8 = f_{*,i0} (W_V)_{*,j0}^T", (
    "Lemma D.5 (Matrix view of C8(X)): C8(X, i1, j1) := f(X)_{i1,i0} (W_V)_{j1,j0} (Lemma D.1); "
    "B8(i1, j1) := C8. Then B8(X) = f(X)_{*,i0} (W_V)_{*,j0}^T. Proof: 'from the choice of "
    "C7(X)' (C8 is meant); row i1 is f_{i1,i0} (W_V)_{*,j0}."))
LEMMA_D6 = _view_statement(2, "B2 = -s_{i0,j0} W^T X^T f_{i0,*}", (
    "Lemma D.6 (Matrix view of C2(X)): C2(X, j1) := -s_{i0,j0} <f_{i0,*}, X W_{*,j1}>; B2 in "
    "R^d with entries C2(X, j1). Then B2(X) = -s(X)_{i0,j0} W^T X^T f(X)_{i0,*}. Proof: "
    "<a, b> = a^T b; -s (X W_{*,j1})^T f_{i0,*} = -s W_{*,j1}^T X^T f_{i0,*}."))
LEMMA_D7 = _view_statement(4, "B4 = W^T X^T (f_{i0,*} o h_{*,j0})", (
    "Lemma D.7 (Matrix view of C4(X)): C4(X, j1) := <f_{i0,*} o (X W_{*,j1}), h_{*,j0}>; B4 in "
    "R^d with entries C4(X, j1). Then B4(X) = W^T X^T (f(X)_{i0,*} o h(X)_{*,j0}). Proof: "
    "Fact C.1, then (X W_{*,j1})^T (f_{i0,*} o h_{*,j0})."))


# ---------------------------------------------------------------------------
# Lemmas D.8, D.9: the assembled gradient


def _corrected_b(m, i0, j0):
    """B's from the corrected pieces: f_{i0,*} for f_{*,i0} in B6..B8, W^T for W."""
    f, h, s, X, W, WV = (m[k] for k in ("f", "h", "s", "X", "W", "WV"))
    wx = W.T @ X[i0, :]
    return {"B6": -s[i0, j0] * np.outer(f[i0, :], wx),
            "B7": np.outer(f[i0, :] * h[:, j0], wx),
            "B8": np.outer(f[i0, :], WV[:, j0]),
            "B2": -s[i0, j0] * (W @ X.T @ f[i0, :]),
            "B4": W @ X.T @ (f[i0, :] * h[:, j0])}


def _assembled(m, i0, j0, bs):
    B = bs(m, i0, j0)
    e = np.zeros(m["n"], dtype=object) * m["f"][0, 0]
    e[i0] = 1 + 0 * m["f"][0, 0]
    return B["B6"] + B["B7"] + B["B8"] + np.outer(e, B["B2"] + B["B4"])


def _d8_cases():
    """C1 = C6, C3 = C7, C5 = C8 at i1 = i0 (the proof's 'corresponding parts')."""
    m = L.generic(SYM_N, SYM_D)
    out = []
    for i0, j0, j1 in itertools.product(range(SYM_N), range(SYM_D), range(SYM_D)):
        f, h, s, X, W, WV = (m[k] for k in ("f", "h", "s", "X", "W", "WV"))
        c1 = -s[i0, j0] * f[i0, i0] * _ip(W[j1, :], X[i0, :])
        c3 = f[i0, i0] * h[i0, j0] * _ip(W[j1, :], X[i0, :])
        c5 = f[i0, i0] * WV[j1, j0]
        lab = f"i0={i0 + 1},j0={j0 + 1},j1={j1 + 1}"
        out += [(lab + " C1=C6", sympy.expand(c1), sympy.expand(_c_entries(m, i0, j0, 6)[i0, j1])),
                (lab + " C3=C7", sympy.expand(c3), sympy.expand(_c_entries(m, i0, j0, 7)[i0, j1])),
                (lab + " C5=C8", sympy.expand(c5), sympy.expand(_c_entries(m, i0, j0, 8)[i0, j1]))]
    return out


def _d8_vs_fd(bs):
    def fn(n, d, seed):
        m, J = _num_model(n, d, seed), jacobian_s(n, d, seed)
        m.update(n=n, d=d)
        out = []
        for i0, j0 in itertools.product(range(n), range(d)):
            G = m["G"][i0, j0]
            out.append((f"i0={i0 + 1},j0={j0 + 1}", G * _assembled(m, i0, j0, bs),
                        G * J[i0, j0]))
        return out
    return L.each_case(fn, L.CASES[:1])


LEMMA_D8 = Statement(
    id="LSS24 Lemma D.8",
    paper=PAPER,
    summary="G(i0,j0) ds_{i0,j0}/dX = G(i0,j0) (B6 + B7 + B8 + e_{i0} (B2 + B4)^T): the "
            "assembly holds, the result inherits Lemma D.1's errors",
    printed=("Lemma D.8 (Matrix view of single entry of gradient): for any i0 in [n], j0 in [d], "
             "G_i(i0,j0) ds(X)_{i0,j0}/dX = G_i(i0,j0) (B6 + B7 + B8 + e_{i0} (B2 + B4)^T). Proof: "
             "Lemma D.1 Parts 1, 2; Case 1 (row i0): C6, C7, C8 'are the corresponding parts of "
             "C1, C3, C5'; Case 2 (the other n - 1 rows): Part 2; combine."),
    steps=[
        Step("corresponding parts", "C1, C3, C5 are C6, C7, C8 at i1 = i0 (independent "
             "symbols, every i0, j0, j1)", "symbolic", _d8_cases),
        Step("result (finite differences)", "G(i0,j0) (B6 + B7 + B8 + e_{i0}(B2 + B4)^T) with "
             "the printed B's = G(i0,j0) ds_{i0,j0}/dX by central differences of s (90 digits), "
             "n = 5, d = 3, every i0, j0", "mpmath", _d8_vs_fd(_b_matrices)),
    ],
    corrected=[
        Step("result with corrected B's", "with the B's of the corrected pieces (f_{i0,*}, W^T) "
             "the assembly equals the central differences, every i0, j0", "mpmath",
             _d8_vs_fd(_corrected_b)),
    ],
    errata=[Erratum(
        location="LSS24 Lemma D.8 (inherited from Lemma D.1)",
        printed="G(i0,j0) ds(X)_{i0,j0}/dX = G(i0,j0) (B6 + B7 + B8 + e_{i0}(B2 + B4)^T) with "
                "B6 = -s f_{*,i0}(W X_{i0,*})^T, B7 = (f_{*,i0} o h_{*,j0})(W X_{i0,*})^T, "
                "B8 = f_{*,i0} (W_V)_{*,j0}^T, B2 = -s W^T X^T f_{i0,*}, "
                "B4 = W^T X^T (f_{i0,*} o h_{*,j0})",
        corrected="B6 = -s f_{i0,*} (W^T X_{i0,*})^T, B7 = (f_{i0,*} o h_{*,j0})(W^T X_{i0,*})^T, "
                  "B8 = f_{i0,*} (W_V)_{*,j0}^T, B2 = -s W X^T f_{i0,*}, "
                  "B4 = W X^T (f_{i0,*} o h_{*,j0})",
        evidence="the printed assembly differs from central differences of s (n = 5, d = 3, "
                 "90 digits) at i0 = j0 = 1; the assembly step itself holds (C1, C3, C5 are C6, "
                 "C7, C8 at i1 = i0): the error is Lemma D.1's. " + L.rerun("LSS24 Lemma D.8"),
        step="result (finite differences)")],
)


def _d9(bs, which="C.6", oracle="fd"):
    def fn(n, d, seed):
        m = _num_model(n, d, seed, which)
        m.update(n=n, d=d)
        if which == "C.3":      # the 1/d of Definition C.3 goes with W in every W-term
            m["W"] = m["W"] / d
        total = sum(m["G"][i0, j0] * _assembled(m, i0, j0, bs)
                    for i0, j0 in itertools.product(range(n), range(d)))
        ref = (L.fd_gradients(n, d, seed)["X"] if oracle == "fd"
               else L.library_gradients(n, d, seed, which)["X"])
        return total, ref
    return L.each_case(fn)


LEMMA_D9 = Statement(
    id="LSS24 Lemma D.9",
    paper=PAPER,
    summary="dL/dT_{i-1} = sum_{i0,j0} G(i0,j0) (B6 + B7 + B8 + e_{i0}(B2 + B4)^T): false as "
            "printed (Lemma D.1's errors)",
    printed=("Lemma D.9 (Matrix view of T_i(X) gradient): dL(X)/dT_{i-1}(X) = sum_{i0=1}^n "
             "sum_{j0=1}^d G_i(i0,j0) (B6 + B7 + B8 + e_{i0} (B2 + B4)^T). Proof: Lemma D.8 and "
             "Lemma C.4."),
    steps=[
        Step("result (finite differences)", "the sum with the printed B's = d<G, s>/dX by "
             "central differences at 90 digits (Definition C.10's s, no 1/d), d = 3, 2, 1",
             "mpmath", _d9(_b_matrices)),
    ],
    corrected=[
        Step("corrected B's (finite differences)", "the sum with the corrected B's = the central "
             "differences, d = 3, 2, 1", "mpmath", _d9(_corrected_b)),
        Step("with 1/d: attngrad.transformer", "with Definition C.3's 1/d (f at X W X^T / d and "
             "W / d in the B's) the sum is attngrad.transformer's dL/dT_{i-1}", "mpmath",
             _d9(_corrected_b, "C.3", "library")),
    ],
    errata=[Erratum(
        location="LSS24 Lemma D.9 (inherited from Lemma D.1)",
        printed="dL/dT_{i-1} = sum_{i0,j0} G_i(i0,j0) (B6 + B7 + B8 + e_{i0}(B2 + B4)^T) with "
                "the B's of Lemmas D.3 to D.7",
        corrected="the same sum with the B's of the corrected pieces (Lemma D.8's correction); "
                  "with Definition C.3's 1/d, W / d in every B and f at X W X^T / d",
        evidence="the printed sum differs from central differences of <G, s> (first at n = 5, "
                 "d = 3; 90 digits); the corrected sum agrees at d = 3, 2, 1, and with the 1/d "
                 "equals attngrad.transformer's gradient. "
                 + L.rerun("LSS24 Lemma D.9"),
        step="result (finite differences)")],
)


# ---------------------------------------------------------------------------
# Lemmas D.10 to D.14: the sums over i0, j0 (generic symbols)


def _sum_b(m, k):
    n, d = m["n"], m["d"]
    tot = None
    for i0, j0 in itertools.product(range(n), range(d)):
        B = _b_matrices(m, i0, j0)[f"B{k}"]
        term = m["G"][i0, j0] * (B if k in (6, 7, 8) else np.outer(np.eye(n, dtype=int)[i0], B))
        tot = term if tot is None else tot + term
    return tot


def _z_columns(m):
    """z6, z7 by columns (D.10, D.11) and z2, z4 by rows (D.13, D.14), as printed."""
    f, h, s, G = m["f"], m["h"], m["s"], m["G"]
    n = m["n"]
    z6, z7, z2, z4 = (np.empty((n, n), dtype=object) for _ in range(4))
    for i0 in range(n):
        Ki0 = _ip(G[i0, :], s[i0, :])
        z6[:, i0] = Ki0 * f[:, i0]                 # D.10: column i0
        z7[:, i0] = f[:, i0] * (h @ G[i0, :])      # D.11: column i0
        z2[i0, :] = Ki0 * f[i0, :]                 # D.13: row i0
        z4[i0, :] = f[i0, :] * (h @ G[i0, :])      # D.14: row i0
    return {"z6": z6, "z7": z7, "z2": z2, "z4": z4}


def _d_closed(m):
    z = _z_columns(m)
    X, W, WV, G, f = m["X"], m["W"], m["WV"], m["G"], m["f"]
    return {6: -z["z6"] @ X @ W.T, 7: z["z7"] @ X @ W.T, 8: f @ G @ WV.T,
            2: -z["z2"] @ X @ W, 4: z["z4"] @ X @ W}


def _term_view(k):
    def compute():
        m = L.generic(SYM_N, SYM_D)
        return [(f"n={SYM_N},d={SYM_D}", sympy.Matrix(_sum_b(m, k)).expand(),
                 sympy.Matrix(_d_closed(m)[k]).expand())]
    return compute


_TERM = {6: ("D.10", "sum G B6 = -z6 X W^T, z6_{*,i0} = (G_{i0,*}^T s_{i0,*}) f_{*,i0}"),
         7: ("D.11", "sum G B7 = z7 X W^T, z7_{*,i0} = f_{*,i0} o (h G_{i0,*})"),
         8: ("D.12", "sum G B8 = f G W_V^T"),
         2: ("D.13", "sum G e_{i0} B2^T = -z2 X W, z2_{i0,*} = (G_{i0,*}^T s_{i0,*}) f_{i0,*}"),
         4: ("D.14", "sum G e_{i0} B4^T = z4 X W, z4_{i0,*} = f_{i0,*} o (h G_{i0,*})")}


def _term_statement(k, printed):
    num, summ = _TERM[k]
    return Statement(
        id=f"LSS24 Lemma {num}", paper=PAPER,
        summary=summ + " (the algebra holds; the printed B" + str(k) + " inherits Lemma D.1's "
                "errors)",
        printed=printed,
        steps=[Step("sum over i0, j0", f"sum_{{i0,j0}} G(i0,j0) B{k} (printed B{k}) equals the "
                    f"printed closed form, independent symbols f, s, h, X, W, W_V, G "
                    f"(n = {SYM_N}, d = {SYM_D})", "symbolic", _term_view(k))])


LEMMA_D10 = _term_statement(6, (
    "Lemma D.10 (Matrix view of B6(X) term): B6 = -s_{i0,j0} f_{*,i0} (W X_{i0,*})^T (Lemma "
    "D.3); z6(X)_{*,i0} = (G_i(i0,*)^T s(X)_{i0,*}) f(X)_{*,i0}. Then sum_{i0,j0} G_i(i0,j0) "
    "B6(X) = -z6(X) X W^T. Proof: basic algebra, a^T b = sum a_i b_i, (AB)^T = B^T A^T, the "
    "choice of z6."))
LEMMA_D11 = _term_statement(7, (
    "Lemma D.11 (Matrix view of B7(X) term): B7 = (f_{*,i0} o h_{*,j0})(W X_{i0,*})^T (Lemma "
    "D.4); z7(X)_{*,i0} = f(X)_{*,i0} o (h(X) G_i(i0,*)). Then sum_{i0,j0} G_i(i0,j0) B7(X) = "
    "z7(X) X W^T."))
LEMMA_D12 = _term_statement(8, (
    "Lemma D.12 (Matrix view of B8(X) term): B8 = f(X)_{*,i0} (W_V)_{*,j0}^T (Lemma D.5). Then "
    "sum_{i0,j0} G_i(i0,j0) B8(X) = f(X) G_i W_V^T."))
LEMMA_D13 = _term_statement(2, (
    "Lemma D.13 (Matrix view of B2(X) term): B2 = -s_{i0,j0} W^T X^T f(X)_{i0,*} (Lemma D.6); "
    "z2(X)_{i0,*} = (G_i(i0,*)^T s(X)_{i0,*}) f(X)_{i0,*}. Then sum_{i0,j0} G_i(i0,j0) e_{i0} "
    "B2(X)^T = -z2(X) X W."))
LEMMA_D14 = _term_statement(4, (
    "Lemma D.14 (Matrix view of B4(X) term): B4 = W^T X^T (f(X)_{i0,*} o h(X)_{*,j0}) (Lemma "
    "D.7); z4(X)_{i0,*} = f(X)_{i0,*} o (h(X) G_i(i0,*)). Then sum_{i0,j0} G_i(i0,j0) e_{i0} "
    "B4(X)^T = z4(X) X W."))


# ---------------------------------------------------------------------------
# Definitions D.15, D.16 and Lemma D.17


def _d15_shapes():
    m = L.generic(SYM_N, SYM_D)
    return [(f"D{k}", list(_sum_b(m, k).shape), [SYM_N, SYM_D]) for k in (6, 7, 8, 2, 4)]


DEF_D15 = Statement(
    id="LSS24 Definition D.15",
    paper=PAPER,
    summary="D_k := sum_{i0,j0} G(i0,j0) B_k (k = 6, 7, 8), sum G(i0,j0) e_{i0} B_k^T "
            "(k = 2, 4), all n x d (the symbol D clashes with D = diag(A 1_n))",
    printed=("Definition D.15 (Definition of D_k): for k1 in {6, 7, 8}, D_{k1} := sum_{i0,j0} "
             "G_i(i0,j0) B_{k1}(X); for k2 in {2, 4}, D_{k2} := sum_{i0,j0} G_i(i0,j0) e_{i0} "
             "B_{k2}(X)^T; D_k in R^{n x d}."),
    steps=[Step("D_k in R^{n x d}", "the five sums are n x d (by how they are built)", "exact",
                _d15_shapes, basis="by construction")],
)


def _d16():
    m = L.generic(SYM_N, SYM_D)
    rows = [_ip(m["G"][i, :], m["s"][i, :]) for i in range(SYM_N)]
    return [("K", sympy.Matrix(rows), sympy.Matrix(list((m["G"] * m["s"]) @ np.ones(SYM_D,
                                                                                    dtype=int))))]


DEF_D16 = Statement(
    id="LSS24 Definition D.16",
    paper=PAPER,
    summary="K_{i0} := G_i(i0,*)^T s(X)_{i0,*}; K = (G_i o s(X)) 1_d",
    printed=("Definition D.16 (Definition of K): K in R^n, K_{i0} = G_i(i0,*)^T s(X)_{i0,*}. "
             "Furthermore K = (G_i o s(X)) 1_d."),
    steps=[Step("K = (G o s) 1_d", "the row-wise inner products equal (G o s) 1_d "
                "(independent symbols)", "symbolic", _d16)],
)


def _d17_z():
    m = L.generic(SYM_N, SYM_D)
    z = _z_columns(m)
    f, h, G, s = m["f"], m["h"], m["G"], m["s"]
    K = (G * s).sum(axis=1)
    mats = {"z6": f @ L.diag(K), "z7": f * (h @ G.T), "z2": L.diag(K) @ f, "z4": f * (G @ h.T)}
    return [(k, sympy.Matrix(z[k]).expand(), sympy.Matrix(mats[k]).expand()) for k in mats]


def printed_terms(ob, inst):
    X, W, WV, G, f = inst["X"], inst["W"], inst["WV"], inst["G"], ob["f"]
    return {6: -ob["z6"] @ X @ W.T, 7: ob["z7"] @ X @ W.T, 8: f @ G @ WV.T,
            2: -ob["z2"] @ X @ W, 4: ob["z4"] @ X @ W}


def corrected_terms(ob, inst, t=1):
    """-f^T diag(K) X W, (f^T o h G^T) X W, f^T G W_V^T, -diag(K) f X W^T, z4 X W^T (t: the
    exponent's factor, 1/d for Definition C.3, multiplies the four W-terms)."""
    X, W, WV, G, f = inst["X"], inst["W"], inst["WV"], inst["G"], ob["f"]
    return {6: -ob["z2"].T @ X @ W * t, 7: ob["z4"].T @ X @ W * t, 8: f.T @ G @ WV.T,
            2: -ob["z2"] @ X @ W.T * t, 4: ob["z4"] @ X @ W.T * t}


def _d17_sum(terms, which="C.6", oracle="fd"):
    def fn(n, d, seed):
        inst, ob = L.instance(n, d, seed), L.objs(n, d, seed, which)
        args = (ob, inst) if terms is printed_terms else (ob, inst, L.scale(inst, which))
        total = sum(terms(*args).values())
        ref = (L.fd_gradients(n, d, seed)["X"] if oracle == "fd"
               else L.library_gradients(n, d, seed, which)["X"])
        return total, ref
    return L.each_case(fn)


def _d17_p_form():
    """sum of the corrected terms = f^T G W_V^T + p X W^T + p^T X W, with s := f h
    (independent symbols f, h, X, W, W_V, G; p = f o q - diag((f o q) 1) f, q = G h^T)."""
    m = L.generic(SYM_N, SYM_D)
    f, h, X, W, WV, G = (m[k] for k in ("f", "h", "X", "W", "WV", "G"))
    s = f @ h
    K = (G * s).sum(axis=1)
    ob = {"f": f, "z2": L.diag(K) @ f, "z4": f * (G @ h.T)}
    inst = {"X": X, "W": W, "WV": WV, "G": G}
    total = sum(corrected_terms(ob, inst).values())
    q = G @ h.T
    p = f * q - (f * q).sum(axis=1)[:, None] * f
    return [("", sympy.Matrix(total).expand(),
             sympy.Matrix(f.T @ G @ WV.T + p @ X @ W.T + p.T @ X @ W).expand())]


def _d17_f_transposed_only():
    """The transposes of f alone do not repair the printed sum: f^T in D6, D7, D8 with W left
    as printed still misses the central differences by more than 1e-3."""
    out = []
    for n, d, seed in L.CASES[:2]:
        inst, ob = L.instance(n, d, seed), L.objs(n, d, seed)
        X, W, WV, G = inst["X"], inst["W"], inst["WV"], inst["G"]
        total = (-ob["z2"].T @ X @ W.T + ob["z4"].T @ X @ W.T + ob["f"].T @ G @ WV.T
                 - ob["z2"] @ X @ W + ob["z4"] @ X @ W)
        miss = max(abs(v) for v in (total - L.fd_gradients(n, d, seed)["X"]).reshape(-1))
        out.append((f"n={n},d={d}", mpmath.mpf("1e-3"), miss))
    return out


def _d17_symmetric_w():
    """Evidence that the f-index error alone breaks the printed sum: with W symmetric (where W
    and W^T agree) the printed sum still misses the central differences by more than 1e-3."""
    out = []
    for n, d, seed in L.CASES[:2]:
        inst = dict(L.instance(n, d, seed))
        inst["W"] = (inst["W"] + inst["W"].T) / 2
        ob = L.objects(inst["X"], inst["W"], inst["WV"], inst["G"], mpmath.mpf(1))
        G = inst["G"]

        def value(leaves, inst=inst, G=G, n=n, d=d):
            s = L.s_loops(leaves["X"], inst["W"], inst["WV"], 1)
            return mpmath.fsum(G[i, j] * s[i][j] for i in range(n) for j in range(d))

        fd = _fd_entries(value, {"X": inst["X"]}, "X")
        miss = max(abs(v) for v in (sum(printed_terms(ob, inst).values()) - fd).reshape(-1))
        out.append((f"n={n},d={d}", mpmath.mpf("1e-3"), miss))
    return out


LEMMA_D17 = Statement(
    id="LSS24 Lemma D.17",
    paper=PAPER,
    summary="D6 = -z6 X W^T, D7 = z7 X W^T, D8 = f G W_V^T, D2 = -z2 X W, D4 = z4 X W: their "
            "sum is not dL/dT_{i-1} (f for f^T in D6, D7, D8; W for W^T in D6, D7, D2, D4)",
    printed=("Lemma D.17 (Close form of D_k): z6 = f(X) diag(K), z7 = f(X) o (h(X) G_i^T), "
             "z2 = diag(K) f(X), z4 = f(X) o (G_i h(X)^T); D6 = -z6 X W^T, D7 = z7 X W^T, "
             "D8 = f(X) G_i W_V^T, D2 = -z2 X W, D4 = z4 X W. Proof: Lemmas D.10 to D.14. "
             "With Lemma D.9 (and Lemma E.11), dL/dT_{i-1} = D6 + D7 + D8 + D2 + D4."),
    steps=[
        Step("z matrices", "f diag(K), f o (h G^T), diag(K) f, f o (G h^T) equal the column / row "
             "definitions of Lemmas D.10, D.11, D.13, D.14 (independent symbols)", "symbolic",
             _d17_z),
        Step("dL/dT_{i-1} = D6 + D7 + D8 + D2 + D4", "the printed sum = d<G, s>/dX by central "
             "differences at 90 digits (Definition C.10's s, no 1/d), d = 3, 2, 1", "mpmath",
             _d17_sum(printed_terms)),
    ],
    corrected=[
        Step("corrected terms (finite differences)", "-f^T diag(K) X W + (f^T o h G^T) X W + "
             "f^T G W_V^T - diag(K) f X W^T + z4 X W^T = the central differences, d = 3, 2, 1",
             "mpmath", _d17_sum(corrected_terms)),
        Step("= f^T G W_V^T + p X W^T + p^T X W", "the corrected sum in terms of Definition "
             "C.12's p (p = z4 - z2 when s = f h), independent symbols", "symbolic",
             _d17_p_form),
        Step("with 1/d: attngrad.transformer", "with Definition C.3's 1/d, f^T G W_V^T + "
             "(p X W^T + p^T X W) / d (f, p at X W X^T / d) is attngrad.transformer's "
             "dL/dT_{i-1}, d = 3, 2, 1", "mpmath", _d17_sum(corrected_terms, "C.3", "library")),
        Step("W symmetric: still wrong", "with W = W^T the printed sum still misses the central "
             "differences by more than 1e-3 (the f-index error alone)", "mpmath",
             _d17_symmetric_w, relation="<="),
        Step("f^T alone: still wrong", "with f^T in D6, D7, D8 but W as printed the sum still "
             "misses the central differences by more than 1e-3 (the W-transposes alone)",
             "mpmath", _d17_f_transposed_only, relation="<="),
    ],
    errata=[Erratum(
        location="LSS24 Lemma D.17 (closed form of dL/dT_{i-1}; used by Lemma E.11, Lemmas I.7, "
                 "I.8 and Algorithm 1, line 16)",
        printed="dL/dT_{i-1} = -f diag(K) X W^T + (f o h G^T) X W^T + f G W_V^T - diag(K) f X W "
                "+ (f o G h^T) X W",
        corrected="dL/dT_{i-1} = -f^T diag(K) X W + (f^T o h G^T) X W + f^T G W_V^T "
                  "- diag(K) f X W^T + (f o G h^T) X W^T = f^T G W_V^T + p X W^T + p^T X W "
                  "(p of Definition C.12); with Definition C.3's 1/d: "
                  "f^T G W_V^T + (p X W^T + p^T X W) / d",
        evidence="the printed sum differs from central differences of <G, s(X)> at 90 digits "
                 "(first at n = 5, d = 3), and still does with W symmetric, and with f^T but W "
                 "as printed (by more than 1e-3 at n = 5, d = 3 and n = 4, d = 2): both changes "
                 "are needed; the corrected sum agrees at d = 3, 2, 1, and with the 1/d equals "
                 "attngrad.transformer's gradient. " + L.rerun("LSS24 Lemma D.17"),
        step="dL/dT_{i-1} = D6 + D7 + D8 + D2 + D4")],
)


STATEMENTS = [LEMMA_D1, LEMMA_D2, LEMMA_D3, LEMMA_D4, LEMMA_D5, LEMMA_D6, LEMMA_D7, LEMMA_D8,
              LEMMA_D9, LEMMA_D10, LEMMA_D11, LEMMA_D12, LEMMA_D13, LEMMA_D14, DEF_D15, DEF_D16,
              LEMMA_D17]
