"""Sections 3.3 and 3.4: Definitions 3.2 to 3.7 (u, alpha, f, h, c, L entry by entry).

Each definition is printed per block: A_{j0} is block j0 (rows (j0-1)n+1 .. j0 n)
of A = A1 (x) A2, x = vec(X) (row-major, see Fact 3.8), and

    u(x)_{j0} = exp(A_{j0} x)                 alpha(x)_{j0} = <exp(A_{j0} x), 1_n>
    f(x)_{j0} = alpha(x)_{j0}^{-1} u(x)_{j0}  h(y)_{i0} = A3 Y_{*,i0}
    c(x)_{j0,i0} = <f(x)_{j0}, h(y)_{i0}> - E_{j0,i0}    L(x)_{j0,i0} = 0.5 c(x)_{j0,i0}^2

and attngrad computes the matrix form (exp(A1 X A2^T), its row sums, the row
softmax, A3 Y, f h - E). Sections 3 to C drop the 1/d of Definition 1.2, so
attngrad is called with ``scale=1`` throughout.

Every definition is checked three ways:

* symbolic: the per-block form built literally from A1 (x) A2 equals the matrix
  form, with fully symbolic entries at (n, d) in {(2, 1), (2, 2), (3, 2)};
* mpmath: the per-block form at 50 digits equals attngrad's function on mpmath
  arrays at n up to 64, on random dyadic and adversarial instances;
* float64: attngrad's float64 result equals its mpmath result within a bound
  derived from float64 rounding (see :func:`float64_tol`);
* gpu: the same with attngrad on CuPy float64 arrays (cuBLAS sums in its own order and CUDA's
  double exp is within 1 ulp, which the bound already allows); skipped without a GPU.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import mpmath
import numpy as np
import sympy

import attngrad
from attngrad.kron import kron, unvec, vec

from .core import Statement, Step
from .balls import workprec
from .gpu import from_device, on_device
from .instances import (as_float64, as_mpmath, instance, label, sym_kron, sym_unvec, sym_vec,
                        symbolic_instance)
from .s3_notation import sym_canonical, sym_matrix

# ---------------------------------------------------------------------------
# instances

SYM_SIZES = ((2, 1), (2, 2), (3, 1), (3, 2))

# (kind, n, d, seed) for instances.instance: "dyadic", or an adversarial kind
CASES = (("dyadic", 8, 2, 11), ("dyadic", 64, 3, 12), ("peaked", 32, 2, 13),
         ("flat", 16, 2, 14), ("large", 64, 2, 15), ("rankone", 32, 3, 16))


def entry_bound(case):
    """B = the largest |entry| of the six inputs (exact, from the integer numerators)."""
    nums, bits = instance(*case)
    return max(int(np.abs(v).max()) for v in nums.values()) / 2 ** bits


def max_score(case):
    """max |A1 X A2^T| computed exactly in integers (a precondition, not a result)."""
    nums, bits = instance(*case)
    S = (nums["A1"].astype(object) @ nums["X"].astype(object)) @ nums["A2"].T.astype(object)
    return max(abs(int(v)) for v in S.reshape(-1)) / 2 ** (3 * bits)


# ---------------------------------------------------------------------------
# float64 tolerances: a forward error analysis in the standard model
# fl(a op b) = (a op b)(1 + delta), |delta| <= U = 2^-53, and fl(exp(a)) = exp(a)(1 + delta),
# |delta| <= 2U (numpy validates float64 exp to 1 ulp). On these dyadic instances
# (10 fractional bits, entries <= B, 2 d^2 B^3 < 2^23) S = A1 X A2^T, S - max and A3 Y are exact in
# float64 (checked by the step "scores exact in float64"). compare() measures
# max|lhs - rhs| / max(1, max|rhs|); rounding the 50-digit reference to float64 adds U.

U = 2.0 ** -53


def float64_tol(quantity, cases):
    """The largest over ``cases`` of the a-priori bound on the scaled float64 error.

    u:     exp(S) to 1 ulp (2U) + reference rounding (U)                      -> 4U
    alpha: n exps (2U) summed in any order (gamma_{n-1}) + U                    -> (n+4)U
    f:     w = exp(S - max) (2U; S - max exact), sum (2U + gamma_{n-1}), divide (U),
           reference (U); f <= 1                                                -> (n+6)U
    h:     A3 Y exact (every partial sum representable), reference exact         -> 0
    c:     (f h)_{ji} with f off by (n+4)U relative and a length-n inner product (gamma_n),
           sum_k f_jk = 1 and |h| <= H = d B^2; minus E (U); reference (U)       -> ((2n+5)H + 4)U
    L:     entries 0.5 c^2: |c| eps_c + squaring (2U) + reference, |c| <= 2 max(1, L)
                                                                           -> (2(2n+5)H + 8)U
    loss:  0.5 sum c^2: sum |c| eps_c + gamma_{nd} L with sum |c| <= sqrt(2 n d) max(1, L)
                                                              -> ((2n+5)H sqrt(2nd) + nd + 8)U
    The O(U^2) terms are covered by the last U of each bound.
    """
    out = 0.0
    for case in cases:
        _, n, d, _ = case
        H = d * entry_bound(case) ** 2
        tol = {"u": 4.0,
               "alpha": n + 4.0,
               "f": n + 6.0,
               "h": 0.0,
               "c": (2 * n + 5) * H + 4,
               "L": 2 * (2 * n + 5) * H + 8,
               "loss": (2 * n + 5) * H * float(np.sqrt(2 * n * d)) + n * d + 8}[quantity] * U
        out = max(out, tol)
    return out


def exp_finite_cases():
    """Cases where exp(A1 X A2^T) has no entry above float64's range (u, alpha in float64)."""
    return tuple(c for c in CASES if max_score(c) < 700)


# ---------------------------------------------------------------------------
# the per-block form, built literally (cached: several statements share it)

def _blocks(inst):
    """Per-block quantities of Definitions 3.2-3.7 as n x n / n x d arrays, in the number
    system of ``inst`` (mpmath at the working precision, or Arb balls)."""
    A1, A2, A3, E, X, Y = (inst[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))
    n, d = A1.shape
    ns = attngrad.get_namespace(A1=A1)
    A = kron(A1, A2)                         # n^2 x d^2
    x = vec(X)                               # row-major vec
    one = ns.ones((n,))
    half = ns.scalar(1) / ns.scalar(2)
    blocks = [A[j0 * n:(j0 + 1) * n, :] for j0 in range(n)]
    u = [ns.exp(Aj0 @ x) for Aj0 in blocks]                     # Def 3.2
    alpha = [ns.exp(Aj0 @ x) @ one for Aj0 in blocks]           # Def 3.3
    f = [u[j0] / alpha[j0] for j0 in range(n)]                  # Def 3.4
    h = [A3 @ Y[:, i0] for i0 in range(d)]                      # Def 3.5
    c = [[f[j0] @ h[i0] - E[j0, i0] for i0 in range(d)] for j0 in range(n)]  # Def 3.6
    L = [[half * c[j0][i0] ** 2 for i0 in range(d)] for j0 in range(n)]      # Def 3.7
    return {"inst": inst, "n": n, "d": d,
            "u": np.array(u, dtype=object), "alpha": np.array(alpha, dtype=object),
            "f": np.array(f, dtype=object), "h": np.array(h, dtype=object).T,
            "c": np.array(c, dtype=object), "L": np.array(L, dtype=object)}


@lru_cache(maxsize=None)
def mp_blocks(case, dps):
    """The per-block quantities at ``dps`` digits (mpmath)."""
    with mpmath.workdps(dps):
        return _blocks(as_mpmath(instance(*case)))


@lru_cache(maxsize=None)
def ball_blocks(case):
    """The per-block quantities as Arb balls: enclosures of the exact values."""
    f64 = as_float64(instance(*case))  # dyadic: exact in float64
    with workprec():
        return _blocks({k: attngrad.to_ball(v) for k, v in f64.items()})


def lib(name, inst):
    """attngrad's matrix form, Sections 3-C convention (scale=1)."""
    A1, A2, A3, E, X, Y = (inst[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))
    if name in ("u", "alpha", "f"):
        return getattr(attngrad, name)(A1, A2, X, scale=1)
    if name == "h":
        return attngrad.h(A3, Y)
    if name == "c":
        return attngrad.c(A1, A2, A3, E, X, Y, scale=1)
    if name == "L":
        cx = attngrad.c(A1, A2, A3, E, X, Y, scale=1)
        return cx * cx / 2
    if name == "loss":
        return attngrad.loss(A1, A2, A3, E, X, Y, scale=1)
    raise KeyError(name)


def mp_route(name):
    def compute():
        cases = []
        for case in CASES:
            b = mp_blocks(case, mpmath.mp.dps)
            cases.append((label(*case), b[name], lib(name, b["inst"])))
        return cases
    return compute


def float64_route(name, cases, gpu=False):
    """attngrad in float64 (on CuPy arrays with ``gpu``) against the per-block form: the ball
    enclosure of the exact value (a certified verdict), or for the GPU the 50-digit values.
    The reference is the per-block definitions, not attngrad's own code in another number
    system, so a formula error shared by both cannot cancel out."""
    def compute():
        out = []
        for case in cases:
            inst = as_float64(instance(*case))
            if gpu:
                ref = np.asarray(attngrad.to_float64(mp_blocks(case, mpmath.mp.dps)[name]))
                out.append((label(*case), from_device(lib(name, on_device(inst))), ref))
            else:
                out.append((label(*case), lib(name, inst), ball_blocks(case)[name]))
        return out
    return compute


def _scores_exact():
    """Precondition of the float64 bounds: float64 A1 X A2^T and A3 Y are exact on CASES."""
    out = []
    for case in CASES:
        nums, bits = instance(*case)
        f64 = as_float64((nums, bits))
        S64 = (f64["A1"] @ f64["X"]) @ f64["A2"].T
        H64 = f64["A3"] @ f64["Y"]
        o = lambda M: M.astype(object)  # noqa: E731
        S = (o(nums["A1"]) @ o(nums["X"])) @ o(nums["A2"]).T
        H = o(nums["A3"]) @ o(nums["Y"])
        out.append((label(*case) + " S", [Fraction(float(v)) for v in S64.reshape(-1)],
                    [Fraction(int(v), 2 ** (3 * bits)) for v in S.reshape(-1)]))
        out.append((label(*case) + " A3 Y", [Fraction(float(v)) for v in H64.reshape(-1)],
                    [Fraction(int(v), 2 ** (2 * bits)) for v in H.reshape(-1)]))
    return out


# ---------------------------------------------------------------------------
# the symbolic route

@lru_cache(maxsize=None)
def sym_forms(n, d):
    """(per-block, matrix) forms of u, alpha, f, h, c, L with fully symbolic entries."""
    s = symbolic_instance(n, d)
    A1, A2, A3, E, X, Y = (s[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))
    A, x = sym_kron(A1, A2), sym_vec(X)
    ones = sympy.ones(n, 1)
    blocks = [A[j0 * n:(j0 + 1) * n, :] for j0 in range(n)]
    u = [(Aj0 * x).applyfunc(sympy.exp) for Aj0 in blocks]
    alpha = [(Aj0 * x).applyfunc(sympy.exp).dot(ones) for Aj0 in blocks]
    f = [u[j0] / alpha[j0] for j0 in range(n)]
    h = [A3 * Y[:, i0] for i0 in range(d)]
    c = sympy.Matrix(n, d, lambda j0, i0: f[j0].dot(h[i0]) - E[j0, i0])
    block = {"u": sympy.Matrix.hstack(*u).T, "alpha": sympy.Matrix(alpha),
             "f": sympy.Matrix.hstack(*f).T, "h": sympy.Matrix.hstack(*h), "c": c}
    U_ = (A1 * X * A2.T).applyfunc(sympy.exp)
    D = sympy.diag(*(U_ * ones))
    F = D.inv() * U_
    H = A3 * Y
    C = F * H - E
    matrix = {"u": U_, "alpha": U_ * ones, "f": F, "h": H, "c": C}
    return block, matrix


@lru_cache(maxsize=None)
def sym_canonical_forms(n, d):
    """:func:`sym_forms` with every entry in canonical form (each side on its own); L is
    0.5 c^2 of the canonical c, so Definition 3.7 reduces to c entry by entry."""
    half = sympy.Rational(1, 2)
    out = []
    for forms in sym_forms(n, d):
        canon = {k: sym_canonical(v) for k, v in forms.items()}
        canon["L"] = canon["c"].applyfunc(lambda v: half * v ** 2)
        out.append(canon)
    return tuple(out)


def sym_route(name, sizes=SYM_SIZES):
    def compute():
        return [(f"n={n},d={d}", sym_canonical_forms(n, d)[0][name],
                 sym_canonical_forms(n, d)[1][name]) for n, d in sizes]
    return compute


def _blocks_of_A():
    cases = []
    for n, d in SYM_SIZES:
        A1, A2 = sym_matrix("a1", n, d), sym_matrix("a2", n, d)
        A = sym_kron(A1, A2)
        cases.append((f"n={n},d={d} shape", [A.rows, A.cols], [n * n, d * d]))
        cases.append((f"n={n},d={d} n blocks of n rows", [A.rows // n, A.rows % n], [n, 0]))
        for j0 in range(n):
            cases.append((f"n={n},d={d},j0={j0 + 1}", A[j0 * n:(j0 + 1) * n, :],
                          sym_kron(A1[j0, :], A2)))
    return cases


def _y_columns():
    """Y = matrix representation of y = vec(Y): Y_{*,i0} = (y_{(k-1)d + i0})_{k in [d]}."""
    cases = []
    for d in (1, 2, 3):
        y = sympy.Matrix(d * d, 1, lambda i, _: sympy.Symbol(f"y{i + 1}", real=True))
        Y = sym_unvec(y, d, d)
        for i0 in range(d):
            cases.append((f"d={d},i0={i0 + 1}", Y[:, i0],
                          sympy.Matrix([y[k * d + i0] for k in range(d)])))
        cases.append((f"d={d} vec(unvec(y))", sym_vec(Y), y))
    # attngrad.unvec / vec use the same convention
    yv = np.array(list(range(1, 10)), dtype=object)
    cases.append(("attngrad.unvec", sympy.Matrix(unvec(yv, 3, 3).tolist()),
                  sym_unvec(sympy.Matrix(yv.tolist()), 3, 3)))
    return cases


TEXT_SYM = ("per-block form = matrix form, symbolic entries (both sides in canonical form), "
            "(n, d) in {2,3} x {1,2}")
TEXT_MP = ("per-block form at 50 digits = attngrad (scale=1) on dyadic and adversarial "
           "instances, n up to 64")


TOL_FORMULA = {"u": "4U", "alpha": "(n+4)U", "f": "(n+6)U", "h": "0",
               "c": "((2n+5)dB^2 + 4)U", "L": "(2(2n+5)dB^2 + 8)U",
               "loss": "((2n+5)dB^2 sqrt(2nd) + nd + 8)U"}


def _f64_text(q):
    return ("attngrad float64 = the per-block definitions (ball enclosures of the exact values) "
            f"within the a-priori rounding bound {TOL_FORMULA[q]}, U = 2^-53, B = largest |input "
            "entry|, maximised over the instances: a certified verdict")


def _gpu_text(q):
    return ("attngrad on CuPy float64 = the per-block definitions at 50 digits within the "
            f"a-priori rounding bound {TOL_FORMULA[q]} (cuBLAS sums in its own order, CUDA's exp "
            "is within 1 ulp; both are in the bound)")


DEF_3_2 = Statement(
    id="Definition 3.2",
    summary="u(x)_{j0} = exp(A_{j0} x), A_{j0} = block j0 of A1 (x) A2: row j0 of exp(A1 X A2^T)",
    printed=("Definition 3.2: Let A1, A2 in R^{n x d}, A = A1 (x) A2 in R^{n^2 x d^2}; A_{j0} in "
             "R^{n x d^2} is an n x d^2 sub-block of A (there are n such sub-blocks). For every "
             "j0 in [n], u(x)_{j0}: R^{d^2} -> R^n is u(x)_{j0} := exp(A_{j0} x)."),
    steps=[
        Step("blocks of A", "A is n^2 x d^2 and splits into n blocks of n rows; block j0 is "
             "(A1)_{j0,*} (x) A2 (symbolic)", "symbolic", _blocks_of_A),
        Step("u symbolic", "exp(A_{j0} x) is row j0 of exp(A1 X A2^T) (Facts 3.8, 3.9); "
             + TEXT_SYM, "symbolic", sym_route("u")),
        Step("u mpmath", "rows of attngrad.u: " + TEXT_MP, "mpmath", mp_route("u")),
        Step("scores exact in float64", "precondition of the float64 bounds: on these dyadic "
             "instances float64 A1 X A2^T and A3 Y are exact (compared as rationals)",
             "exact", _scores_exact),
        Step("u float64", _f64_text("u") + "; instances with max A1 X A2^T < 700",
             "ball", float64_route("u", exp_finite_cases()),
             tol=float64_tol("u", exp_finite_cases())),
    ],
)

DEF_3_3 = Statement(
    id="Definition 3.3",
    summary="alpha(x)_{j0} = <exp(A_{j0} x), 1_n>: the row sums of exp(A1 X A2^T)",
    printed=("Definition 3.3: A1, A2 in R^{n x d}, A_{j0} in R^{n x d^2} the sub-block of "
             "A = A1 (x) A2. For every j0 in [n], alpha(x)_{j0}: R^{d^2} -> R is "
             "alpha(x)_{j0} := <exp(A_{j0} x), 1_n>."),
    steps=[
        Step("alpha symbolic", "<exp(A_{j0} x), 1_n> = (exp(A1 X A2^T) 1_n)_{j0}; " + TEXT_SYM,
             "symbolic", sym_route("alpha")),
        Step("alpha mpmath", "attngrad.alpha: " + TEXT_MP, "mpmath", mp_route("alpha")),
        Step("alpha float64", _f64_text("alpha") + "; instances with max A1 X A2^T < 700",
             "ball", float64_route("alpha", exp_finite_cases()),
             tol=float64_tol("alpha", exp_finite_cases())),
    ],
)

DEF_3_4 = Statement(
    id="Definition 3.4",
    summary="f(x)_{j0} = alpha(x)_{j0}^{-1} u(x)_{j0}; f(x) = D^{-1} exp(A1 X A2^T) row by row",
    printed=("Definition 3.4: for a fixed j0 in [n], f(x)_{j0}: R^{d^2} -> R^n, "
             "f(x)_{j0} := alpha(x)_{j0}^{-1} u(x)_{j0}. Let f(x) in R^{n x n} denote the matrix "
             "whose j0-th row is (f(x)_{j0})^T."),
    steps=[
        Step("f symbolic", "alpha^{-1} u stacked as rows = D^{-1} exp(A1 X A2^T), "
             "D = diag(exp(A1 X A2^T) 1_n); " + TEXT_SYM, "symbolic", sym_route("f")),
        Step("f mpmath", "attngrad.f (row maximum subtracted first): " + TEXT_MP,
             "mpmath", mp_route("f")),
        Step("f float64", _f64_text("f"), "ball", float64_route("f", CASES),
             tol=float64_tol("f", CASES)),
        Step("f gpu", _gpu_text("f"), "gpu",
             float64_route("f", CASES, gpu=True), tol=float64_tol("f", CASES)),
    ],
)

DEF_3_5 = Statement(
    id="Definition 3.5",
    summary="h(y)_{i0} = A3 Y_{*,i0}; h(y) = A3 Y column by column",
    printed=("Definition 3.5: for every i0 in [d], h()_{i0}: R^{d^2} -> R^n, "
             "h(y)_{i0} := A3 Y_{*,i0}. Here Y in R^{d x d} is the matrix representation of "
             "y in R^{d^2}. h(y) in R^{n x d} is the matrix whose i0-th column is h(y)_{i0}."),
    steps=[
        Step("Y from y", "Y is the matrix representation of y = vec(Y) (row-major, as for x): "
             "Y_{*,i0} = (y_{(k-1)d+i0})_k, d in {1,2,3}; attngrad.unvec agrees",
             "symbolic", _y_columns),
        Step("h symbolic", "A3 Y_{*,i0} is column i0 of A3 Y; " + TEXT_SYM,
             "symbolic", sym_route("h")),
        Step("h mpmath", "attngrad.h: " + TEXT_MP, "mpmath", mp_route("h")),
        Step("h float64", "attngrad float64 = the per-block A3 Y_{*,i0} at 50 digits exactly "
             "(tol 0): dyadic inputs, "
             "every partial sum of A3 Y is representable", "ball",
             float64_route("h", CASES), tol=float64_tol("h", CASES)),
    ],
)

DEF_3_6 = Statement(
    id="Definition 3.6",
    summary="c(x)_{j0,i0} = <f(x)_{j0}, h(y)_{i0}> - E_{j0,i0}, equivalently c(x) = f(x) h(y) - E",
    printed=("Definition 3.6: for every j0 in [n], i0 in [d], c(x)_{j0,i0}: R^{d^2} x R^{d^2} "
             "-> R, c(x)_{j0,i0} := <f(x)_{j0}, h(y)_{i0}> - E_{j0,i0}. This is equivalent to "
             "c(x) = f(x) h(y) - E (n x d)."),
    steps=[
        Step("c symbolic", "the entries <f_{j0}, h_{i0}> - E_{j0,i0} form f(x) h(y) - E "
             "(the printed 'equivalently'); " + TEXT_SYM, "symbolic", sym_route("c")),
        Step("c mpmath", "attngrad.c: " + TEXT_MP, "mpmath", mp_route("c")),
        Step("c float64", _f64_text("c"), "ball", float64_route("c", CASES),
             tol=float64_tol("c", CASES)),
        Step("c gpu", _gpu_text("c"), "gpu",
             float64_route("c", CASES, gpu=True), tol=float64_tol("c", CASES)),
    ],
)

DEF_3_7 = Statement(
    id="Definition 3.7",
    summary="L(x)_{j0,i0} = 0.5 c(x)_{j0,i0}^2: the matrix 0.5 c(x) o c(x)",
    printed=("Definition 3.7: for every j0 in [n], for every i0 in [d], "
             "L(x)_{j0,i0} := 0.5 c(x)_{j0,i0}^2."),
    steps=[
        Step("L symbolic", "0.5 c_{j0,i0}^2 from the per-block chain = 0.5 c o c from the "
             "matrix chain; " + TEXT_SYM + " (Definition 3.6's check, squared)", "symbolic",
             sym_route("L"), basis="by construction"),
        Step("L mpmath", "0.5 attngrad.c o attngrad.c: " + TEXT_MP + " (Definition 3.6's "
             "check, squared)", "mpmath", mp_route("L"), basis="by construction"),
        Step("L float64", _f64_text("L"), "ball", float64_route("L", CASES),
             tol=float64_tol("L", CASES)),
        Step("L gpu", _gpu_text("L"), "gpu",
             float64_route("L", CASES, gpu=True), tol=float64_tol("L", CASES)),
    ],
)

STATEMENTS = [DEF_3_2, DEF_3_3, DEF_3_4, DEF_3_5, DEF_3_6, DEF_3_7]
