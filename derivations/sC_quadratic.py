"""Appendix C: the quadratic-time algorithm (Lemmas C.1, C.2, C.4, C.6, C.7, C.8;
Definitions C.3, C.5).

Sections B and C drop the 1/d of Definition 1.2, so attngrad is called with
``scale=1`` throughout. ``vec`` is row-major (attngrad.vec; Fact 3.8).

Definitions C.3 and C.5 and Lemma C.7 are identities. Each is checked

* symbolically at (n, d) in {(2, 1), (2, 2), (3, 1), (3, 2)}: the exponentials
  are kept symbolic (the function ``Ex`` below is exp with only the property
  exp' = exp, so SymPy never merges exp(a)^2 into exp(2a)); expressions are
  brought to a canonical form by writing U_{j0,k} for exp((A_{j0} x)_k) and
  W_{j0} for 1 / alpha(x)_{j0} and expanding in a polynomial ring;
  attngrad.formulas' own functions (q, p, p1, r, p2) run on SymPy object arrays
  through a small SymPy namespace;
* at 50 digits with mpmath up to n = 64 on random dyadic and adversarial
  instances (derivations/instances.py), against attngrad's public functions.

Lemma C.7's result is also compared with independent derivatives: SymPy's
differentiation of L(X) at small sizes and central finite differences of
attngrad.loss(scale=1) at 120 digits at n = 64.

Lemmas C.1, C.2, C.4, C.6 and C.8 are running-time statements. They are
checked by counting the scalar operations of attngrad.formulas' own code with
attngrad.opcount (every matmul's m k p multiply-adds, every element-wise
operation, exp and reduction): exactly on a grid n in {1, 2, 5, 16, 64},
d in {1, 3, 8}, and symbolically as polynomials in n, d (read off a run at the
primes n = 7, d = 3 and confirmed against every grid point). A bound
count <= C * T for all n, d >= 1 is certified by substituting n = 1 + a,
d = 1 + b and checking that every coefficient of C * T - count is >= 0.
T_mat(a, b, c) = a b c (the classical product, Definition A.3).
"""
from __future__ import annotations

from functools import lru_cache

import mpmath
import numpy as np
import sympy
from sympy import QQ
from sympy.polys.rings import ring

import attngrad
from attngrad import formulas as F
from attngrad import opcount
from attngrad.backend import MpmathNamespace, Namespace
from attngrad.kron import kron, vec

from .core import Erratum, Statement, Step
from .instances import as_mpmath, instance, sym_kron, symbolic_instance

SYM_SIZES = ((2, 1), (2, 2), (3, 1), (3, 2))
DERIV_SIZES = SYM_SIZES   # where SymPy differentiates L


# ---------------------------------------------------------------------------
# symbolic side


class Ex(sympy.Function):
    """exp, kept unevaluated: its only property used is d/dz Ex(z) = Ex(z)."""

    def fdiff(self, argindex=1):
        return self


class SympyNamespace(Namespace):
    """numpy object arrays of SymPy expressions, so attngrad.formulas run symbolically."""

    name = "sympy"
    xp = np

    def __init__(self):
        super().__init__(np.dtype(object))
        self._exp = np.frompyfunc(Ex, 1, 1)

    def scalar(self, v):
        return sympy.Rational(v)

    def exp(self, a):
        return np.asarray(self._exp(a), dtype=object)


SNS = SympyNamespace()


def _obj(M):
    """A SymPy matrix (or column) as a numpy object array."""
    out = np.empty(M.shape, dtype=object)
    for i in range(M.rows):
        for j in range(M.cols):
            out[i, j] = M[i, j]
    return out


def _mat(a):
    a = np.asarray(a, dtype=object)
    if a.ndim == 1:
        a = a[:, None]
    return sympy.Matrix(a.shape[0], a.shape[1], list(a.reshape(-1)))


def _dot(a, b):
    return sum((a[k] * b[k] for k in range(a.rows)), sympy.Integer(0))


class SymCtx:
    """Fully symbolic A1, A2, A3, E, X, Y at one (n, d) with the objects of Sections 3 and C.

    Per-block (Kronecker) form, as the paper defines it: A_{j0} = rows j0 of A1 (x) A2,
    u(x)_{j0} = Ex(A_{j0} x), alpha(x)_{j0} = <u, 1>, f(x)_{j0} = u / alpha,
    h(y)_{i0} = A3 Y_{*, i0}, c(x)_{j0,i0} = <f_{j0}, h_{i0}> - E_{j0,i0}.
    """

    def __init__(self, n, d):
        s = symbolic_instance(n, d)
        self.n, self.d = n, d
        self.A1, self.A2, self.A3, self.E, self.X, self.Y = (
            s[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))
        self.xs = list(self.X)                      # row-major vec
        self.x = sympy.Matrix(self.xs)
        self.A = sym_kron(self.A1, self.A2)
        self.H = (self.A3 * self.Y).applyfunc(sympy.expand)
        self.Aj, self.f, self.rep, self.W = [], [], {}, []
        for j0 in range(n):
            Aj = self.A[j0 * n:(j0 + 1) * n, :]
            S = (Aj * self.x).applyfunc(sympy.expand)
            u = S.applyfunc(Ex)
            alpha = sum(u)
            W = sympy.Symbol(f"W_{j0 + 1}", positive=True)
            self.rep[alpha] = 1 / W
            for k in range(n):
                self.rep[u[k]] = sympy.Symbol(f"U_{j0 + 1}{k + 1}", positive=True)
            self.Aj.append(Aj)
            self.f.append(u / alpha)
            self.W.append(W)
        self.f_mat = sympy.Matrix(n, n, lambda j, k: self.f[j][k])
        gens = set(self.xs) | set(self.W) | {v for v in self.rep.values() if v.is_Symbol}
        for m in (self.A1, self.A2, self.A3, self.E, self.Y):
            gens |= set(m)
        self.ring = ring(sorted(gens, key=str), QQ)[0]

    def h(self, i0):
        return self.H[:, i0]

    def c(self, j0, i0):
        return _dot(self.f[j0], self.h(i0)) - self.E[j0, i0]

    def c_mat(self):
        return sympy.Matrix(self.n, self.d, lambda j, i: self.c(j, i))

    def loss_matrix_form(self):
        """L(X) of Definition 1.2, 1/d dropped: 0.5 ||D^{-1} exp(A1 X A2^T) A3 Y - E||_F^2."""
        M = (self.A1 * self.X * self.A2.T).applyfunc(sympy.expand).applyfunc(Ex)
        D_inv = sympy.diag(*[1 / sum(M.row(j)) for j in range(self.n)])
        C = D_inv * M * self.A3 * self.Y - self.E
        return sympy.Rational(1, 2) * sum(v ** 2 for v in C)

    def canon(self, expr):
        """Ex((A_{j0} x)_k) -> U_{j0,k}, alpha_{j0} -> 1/W_{j0}, expanded in a polynomial ring."""
        if isinstance(expr, sympy.MatrixBase):
            return expr.applyfunc(self.canon)
        if isinstance(expr, np.ndarray):
            return _mat(expr).applyfunc(self.canon)
        out = sympy.sympify(expr).xreplace(self.rep)
        if out.has(Ex):
            raise AssertionError(f"an exponential survived the substitution: {out}")
        return self.ring.from_expr(out).as_expr()


@lru_cache(maxsize=None)
def sym(n, d):
    return SymCtx(n, d)


@lru_cache(maxsize=None)
def sym_formulas(n, d):
    """attngrad.formulas run on the symbolic instance: q, p1, r, p2, p (object arrays)."""
    ctx = sym(n, d)
    f, hy = _obj(ctx.f_mat), _obj(ctx.H)
    cx = F.c(SNS, f, hy, _obj(ctx.E))
    qx = F.q(SNS, cx, hy)
    rx = F.r(SNS, f, qx)
    return {"c": cx, "q": qx, "p1": F.p1(SNS, f, qx), "r": rx, "p2": F.p2(SNS, f, rx),
            "p": F.p(SNS, f, qx)}


def _sym_cases(pair, sizes=SYM_SIZES, rows=True):
    """pair(ctx, j0) -> (lhs, rhs): canonical forms of both sides, per size (and row)."""
    def compute():
        cases = []
        for n, d in sizes:
            ctx = sym(n, d)
            for j0 in (range(n) if rows else (None,)):
                lhs, rhs = pair(ctx, j0)
                label = f"n={n},d={d}" + ("" if j0 is None else f",j0={j0 + 1}")
                cases.append((label, ctx.canon(lhs), ctx.canon(rhs)))
        return cases
    return compute


# ---------------------------------------------------------------------------
# mpmath side

# (kind, n, d, seed) for instances.instance: "dyadic", or an adversarial kind
MP_CASES = (("dyadic", 2, 1, 31), ("dyadic", 16, 3, 32), ("flat", 16, 2, 35),
            ("peaked", 32, 2, 34), ("rankone", 32, 3, 37), ("dyadic", 64, 2, 33),
            ("large", 64, 2, 36))
SMALL_CASES = tuple(c for c in MP_CASES if c[1] <= 32)   # for the O(n^3 d^2) forms
FD_CASES = (("dyadic", 64, 2, 33), ("large", 16, 2, 39), ("peaked", 32, 2, 34),
            ("dyadic", 8, 3, 38))
ROWS_AT_MOST = 32   # beyond this n the explicit n x n bracket is formed for 8 rows j0 only


def _label(case):
    kind, n, d, seed = case
    return f"{kind} n={n} d={d} seed={seed}"


class MpCase:
    """One instance at 50 digits: the paper's per-block objects built literally from
    A1 (x) A2 (Definitions 3.2-3.6), and attngrad's matrices (computed on first use)."""

    def __init__(self, case):
        kind, n, d, seed = case
        ints = instance(kind, n, d, seed)
        self.n, self.d = n, d
        self._lib = {}
        with mpmath.workdps(50):
            inst = as_mpmath(ints)
            ns = MpmathNamespace()
            self.args = tuple(inst[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))
            A1, A2, A3, E, X, Y = self.args
            A = kron(A1, A2)
            x = vec(X)
            self.blocks, self.f = [], []
            for j0 in range(n):
                Aj = A[j0 * n:(j0 + 1) * n, :]             # Def 3.2: block j0 of A
                u = ns.exp(Aj @ x)                        # u(x)_{j0}
                self.f.append(u / np.sum(u))              # Defs 3.3, 3.4
                self.blocks.append(Aj)
            self.h = [A3 @ Y[:, i0] for i0 in range(d)]    # Def 3.5
            self.c = [[self.f[j0] @ self.h[i0] - E[j0, i0] for i0 in range(d)]
                      for j0 in range(n)]                  # Def 3.6
        self.rows = (list(range(n)) if n <= ROWS_AT_MOST
                     else sorted({0, 1, 2, n // 3, n // 2, n - 3, n - 2, n - 1}))

    def __getitem__(self, name):
        if name not in self._lib:
            with mpmath.workdps(50):
                self._lib[name] = getattr(attngrad, name)(*self.args, scale=1)
        return self._lib[name]


@lru_cache(maxsize=None)
def mp_case(case):
    return MpCase(case)


def _bracket(fj):
    """diag(f_{j0}) - f_{j0} f_{j0}^T as an explicit n x n object array."""
    M = -np.outer(fj, fj)
    for k in range(len(fj)):
        M[k, k] = M[k, k] + fj[k]
    return M


def _q_row(m, j0):
    """Eq. (5): q(x)_{j0} = sum_{i0} c(x)_{j0,i0} h(y)_{i0}."""
    out = m.c[j0][0] * m.h[0]
    for i0 in range(1, m.d):
        out = out + m.c[j0][i0] * m.h[i0]
    return out


def _mp_cases(pair, cases=MP_CASES):
    def compute():
        out = []
        with mpmath.workdps(50):
            for case in cases:
                lhs, rhs = pair(mp_case(case))
                out.append((_label(case), lhs, rhs))
        return out
    return compute


def _stack(rows):
    return np.array([list(r) for r in rows], dtype=object)


# ---------------------------------------------------------------------------
# Definition C.3


def _c3_sym(ctx, j0):
    """Row j0 of attngrad's q = c h^T (formulas on SymPy arrays) vs sum_{i0} c_{j0,i0} h_{i0}."""
    q_row = sym_formulas(ctx.n, ctx.d)["q"][j0, :]
    paper = sum((ctx.c(j0, i0) * ctx.h(i0) for i0 in range(ctx.d)), sympy.zeros(ctx.n, 1))
    return _mat(q_row), paper


def _c3_sym_def(ctx, _j0):
    """q := c(x) h(y)^T with c from Definition 3.6 per entry (n x n)."""
    return _mat(sym_formulas(ctx.n, ctx.d)["q"]), ctx.c_mat() * ctx.H.T


DEF_C_3 = Statement(
    id="Definition C.3",
    summary="q(x) = c(x) h(y)^T (n x n); row j0 is q(x)_{j0}^T = sum_i0 c_{j0,i0} h(y)_{i0}^T",
    printed=("Definition C.3: define c(x) in R^{n x d} as in Definition 3.6 and h(y) in "
             "R^{n x d} as in Definition 3.5. We define q(x) in R^{n x n} as q(x) := c(x) "
             "h(y)^T. Then we use q(x)_{j0}^T to denote the j0-th row of q(x)."),
    steps=[
        Step("matrix form (symbolic)", "attngrad.formulas.q on symbolic c (Def 3.6 entry by "
             "entry) and h equals c(x) h(y)^T, n x n (symbolic, exp kept symbolic)",
             "symbolic", _sym_cases(_c3_sym_def, rows=False)),
        Step("row j0 (symbolic)", "row j0 of q is sum_{i0} c(x)_{j0,i0} h(y)_{i0} "
             "(symbolic, every j0)", "symbolic", _sym_cases(_c3_sym)),
        Step("row j0 (mpmath)", "row j0 of attngrad.q(scale=1) equals sum_{i0} c(x)_{j0,i0} "
             "h(y)_{i0} built per block from A1 (x) A2 (50 digits, n up to 64, random and "
             "adversarial)", "mpmath",
             _mp_cases(lambda m: (m["q"], _stack(_q_row(m, j) for j in range(m.n))))),
    ],
)


# ---------------------------------------------------------------------------
# Definition C.5


def _c5_sym(name):
    def pair(ctx, j0):
        fs = sym_formulas(ctx.n, ctx.d)
        fj = ctx.f[j0]
        qj = _mat(fs["q"][j0, :])
        if name == "p":
            return _mat(fs["p"][j0, :]), (sympy.diag(*fj) - fj * fj.T) * qj
        if name == "p1":
            return _mat(fs["p1"][j0, :]), sympy.diag(*fj) * qj
        if name == "p2":
            return _mat(fs["p2"][j0, :]), fj * fj.T * qj
        return sympy.Matrix([fs["r"][j0]]), fj.T * qj          # r
    return pair


def _c5_mp(name):
    """Rows j0 of attngrad's p, p1, p2, r vs the printed per-row forms (explicit n x n matrices)."""
    def pair(m):
        rows = []
        for j0 in m.rows:
            fj, qj = m.f[j0], _q_row(m, j0)
            if name == "p":
                rows.append(_bracket(fj) @ qj)
            elif name == "p1":
                rows.append(_diag(fj) @ qj)
            elif name == "p2":
                rows.append(np.outer(fj, fj) @ qj)
            else:
                rows.append([fj @ qj])
        lib = m[name] if name != "r" else m["r"][:, None]
        return lib[m.rows, :], _stack(rows)
    return pair


def _diag(v):
    M = np.array([[mpmath.mpf(0)] * len(v) for _ in v], dtype=object)
    for k in range(len(v)):
        M[k, k] = v[k]
    return M


DEF_C_5 = Statement(
    id="Definition C.5",
    summary="p(x)_{j0} = (diag(f_{j0}) - f_{j0} f_{j0}^T) q_{j0}; p = p1 - p2, "
            "p1 = f o q, p2 = diag(r) f, r_{j0} = <f_{j0}, q_{j0}>",
    printed=("Definition C.5: for every index j0 in [n], we define p(x)_{j0} in R^n as "
             "p(x)_{j0} := (diag(f(x)_{j0}) - f(x)_{j0} f(x)_{j0}^T) q(x)_{j0}. We define "
             "p(x) in R^{n x n} in the sense that p(x)_{j0}^T is the j0-th row of p(x)."),
    steps=[
        Step("row j0 of p (symbolic)", "row j0 of attngrad.formulas.p is "
             "(diag(f_{j0}) - f_{j0} f_{j0}^T) q_{j0} (symbolic, every j0)", "symbolic",
             _sym_cases(_c5_sym("p"))),
        Step("p1 = f o q (symbolic)", "row j0 of p1 is diag(f_{j0}) q_{j0}", "symbolic",
             _sym_cases(_c5_sym("p1"))),
        Step("r (symbolic)", "r_{j0} = f_{j0}^T q_{j0}", "symbolic", _sym_cases(_c5_sym("r"))),
        Step("p2 = diag(r) f (symbolic)", "row j0 of p2 is f_{j0} f_{j0}^T q_{j0}", "symbolic",
             _sym_cases(_c5_sym("p2"))),
        Step("row j0 of p (mpmath)", "attngrad.p(scale=1) row j0 = the explicit n x n matrix "
             "(diag(f_{j0}) - f_{j0} f_{j0}^T) times q_{j0} (50 digits, n up to 64)", "mpmath",
             _mp_cases(_c5_mp("p"))),
        Step("p1, r, p2 (mpmath)", "attngrad.p1, attngrad.r, attngrad.p2 per row against "
             "diag(f_{j0}) q_{j0}, f_{j0}^T q_{j0}, f_{j0} f_{j0}^T q_{j0} (explicit, 50 digits)",
             "mpmath",
             lambda: (_mp_cases(_c5_mp("p1"))() + _mp_cases(_c5_mp("r"))()
                      + _mp_cases(_c5_mp("p2"))())),
    ],
)


# ---------------------------------------------------------------------------
# Lemma C.7


def _eq3_entry(ctx, j0, i0, i):
    """Eq. (3) as printed: c (<f o A_{j0,i}, h> - <f, h> <f, A_{j0,i}>)."""
    f, a, h = ctx.f[j0], ctx.Aj[j0][:, i], ctx.h(i0)
    return ctx.c(j0, i0) * (_dot(f.multiply_elementwise(a), h) - _dot(f, h) * _dot(f, a))


def _c7_eq3():
    """Eq. (3) (from Lemma B.1 Part 8) = SymPy's derivative of L(x)_{j0,i0} = 0.5 c^2."""
    cases = []
    for n, d in DERIV_SIZES:
        ctx = sym(n, d)
        for j0 in range(n):
            for i0 in range(d):
                L = sympy.Rational(1, 2) * ctx.c(j0, i0) ** 2
                lhs = sympy.Matrix([sympy.diff(L, xi) for xi in ctx.xs])
                rhs = sympy.Matrix([_eq3_entry(ctx, j0, i0, i) for i in range(d * d)])
                cases.append((f"n={n},d={d},j0={j0 + 1},i0={i0 + 1}",
                              ctx.canon(lhs), ctx.canon(rhs)))
    return cases


def _vectors(n, tag):
    return sympy.Matrix(n, 1, lambda k, _: sympy.Symbol(f"{tag}_{k + 1}", real=True))


def _fact_a1_first():
    cases = []
    for n in (2, 3, 4):
        f, a, h = _vectors(n, "f"), _vectors(n, "a"), _vectors(n, "h")
        cases.append((f"n={n}", _dot(f.multiply_elementwise(a), h),
                      (a.T * sympy.diag(*f) * h)[0, 0]))
    return cases


def _fact_a1_second(printed):
    def compute():
        cases = []
        for n in (2, 3, 4):
            f, a, h, v = (_vectors(n, t) for t in ("f", "a", "h", "v"))
            left = _dot(f, v if printed else h) * _dot(f, a)
            cases.append((f"n={n}", sympy.expand(left), sympy.expand((a.T * f * f.T * h)[0, 0])))
        # the counterexample of the erratum, exact: f = (1/4, 3/4), A_{j0,i} = h = e_1, v = e_2
        f = sympy.Matrix([sympy.Rational(1, 4), sympy.Rational(3, 4)])
        a = h = sympy.Matrix([1, 0])
        v = sympy.Matrix([0, 1])
        cases.append(("n=2 exact", _dot(f, v if printed else h) * _dot(f, a),
                      (a.T * f * f.T * h)[0, 0]))
        return cases
    return compute


def _eq4_generic():
    """Eq. (4): c (A^T diag(f) h - A^T f f^T h) = c A^T (diag(f) - f f^T) h, generic vectors."""
    cases = []
    for n in (2, 3, 4):
        f, a, h = _vectors(n, "f"), _vectors(n, "a"), _vectors(n, "h")
        c = sympy.Symbol("c", real=True)
        eq3 = c * (_dot(f.multiply_elementwise(a), h) - _dot(f, h) * _dot(f, a))
        eq4 = c * (a.T * (sympy.diag(*f) - f * f.T) * h)[0, 0]
        cases.append((f"n={n}", sympy.expand(eq3), sympy.expand(eq4)))
    return cases


# the proof's chain, E1 = ... = E5, per instance


def _e1_sym(ctx):
    """sum_{j0,i0} dL(x)_{j0,i0}/dx by Eq. (3) entry by entry."""
    return sympy.Matrix([sum(_eq3_entry(ctx, j0, i0, i) for j0 in range(ctx.n)
                             for i0 in range(ctx.d)) for i in range(ctx.d ** 2)])


def _e2_sym(ctx):
    """sum_{j0,i0} c_{j0,i0} A_{j0}^T (diag(f_{j0}) - f_{j0} f_{j0}^T) h_{i0}."""
    out = sympy.zeros(ctx.d ** 2, 1)
    for j0 in range(ctx.n):
        fj = ctx.f[j0]
        B = ctx.Aj[j0].T * (sympy.diag(*fj) - fj * fj.T)
        for i0 in range(ctx.d):
            out += ctx.c(j0, i0) * (B * ctx.h(i0))
    return out


def _e3_sym(ctx):
    """sum_{j0} A_{j0}^T (diag(f_{j0}) - f_{j0} f_{j0}^T) q_{j0}, q from attngrad.formulas.q."""
    q = sym_formulas(ctx.n, ctx.d)["q"]
    out = sympy.zeros(ctx.d ** 2, 1)
    for j0 in range(ctx.n):
        fj = ctx.f[j0]
        out += ctx.Aj[j0].T * ((sympy.diag(*fj) - fj * fj.T) * _mat(q[j0, :]))
    return out


def _e4_sym(ctx):
    """sum_{j0} A_{j0}^T p_{j0}, p from attngrad.formulas.p."""
    p = sym_formulas(ctx.n, ctx.d)["p"]
    out = sympy.zeros(ctx.d ** 2, 1)
    for j0 in range(ctx.n):
        out += ctx.Aj[j0].T * _mat(p[j0, :])
    return out


def _e5_sym(ctx):
    """vec(A1^T p A2), row-major, p from attngrad.formulas.p."""
    G = (_obj(ctx.A1).T @ sym_formulas(ctx.n, ctx.d)["p"]) @ _obj(ctx.A2)
    return _mat(vec(G))


def _e0_sym(ctx):
    """dL(x)/dx by SymPy: differentiate L(X) of Definition 1.2 (1/d dropped), row-major x."""
    L = ctx.loss_matrix_form()
    return sympy.Matrix([sympy.diff(L, xi) for xi in ctx.xs])


def _e1_direct_sym(ctx):
    """sum_{j0,i0} SymPy's derivative of L(x)_{j0,i0} (Definition 3.7)."""
    return sympy.Matrix([sum(sympy.diff(sympy.Rational(1, 2) * ctx.c(j0, i0) ** 2, xi)
                             for j0 in range(ctx.n) for i0 in range(ctx.d)) for xi in ctx.xs])


def _chain_sym(left, right, sizes=SYM_SIZES):
    return _sym_cases(lambda ctx, _j0: (left(ctx), right(ctx)), sizes=sizes, rows=False)


def _e1_mp(m):
    n, d = m.n, m.d
    out = []
    for i in range(d * d):
        tot = mpmath.mpf(0)
        for j0 in range(n):
            fj, a = m.f[j0], m.blocks[j0][:, i]
            fa = fj @ a
            for i0 in range(d):
                h = m.h[i0]
                tot += m.c[j0][i0] * ((fj * a) @ h - (fj @ h) * fa)
        out.append(tot)
    return np.array(out, dtype=object)


def _e2_mp(m):
    n, d = m.n, m.d
    out = np.array([mpmath.mpf(0)] * (d * d), dtype=object)
    Hm = np.stack(m.h, axis=1)                    # n x d, columns h_{i0}
    for j0 in range(n):
        BH = m.blocks[j0].T @ (_bracket(m.f[j0]) @ Hm)     # d^2 x d
        out = out + BH @ np.array(m.c[j0], dtype=object)
    return out


def _e3_mp(m):
    out = np.array([mpmath.mpf(0)] * (m.d ** 2), dtype=object)
    for j0 in range(m.n):
        out = out + m.blocks[j0].T @ (_bracket(m.f[j0]) @ m["q"][j0, :])
    return out


def _e4_mp(m):
    out = np.array([mpmath.mpf(0)] * (m.d ** 2), dtype=object)
    for j0 in range(m.n):
        out = out + m.blocks[j0].T @ m["p"][j0, :]
    return out


def _e5_mp(m):
    A1, A2 = m.args[0], m.args[1]
    return vec((A1.T @ m["p"]) @ A2)


def _fd_gradient(args, scale=1, h_exp=30, dps=120):
    """Central differences of attngrad.loss(scale=...) in every X entry, at dps digits
    (scale=None is Definition 1.2's 1/d)."""
    A1, A2, A3, E, X, Y = args
    d = X.shape[0]
    out = []
    with mpmath.workdps(dps):
        step = mpmath.mpf(10) ** (-h_exp)
        for a in range(d):
            for b in range(d):
                Xp, Xm = X.copy(), X.copy()
                Xp[a, b] = X[a, b] + step
                Xm[a, b] = X[a, b] - step
                lp = attngrad.loss(A1, A2, A3, E, Xp, Y, scale=scale)
                lm = attngrad.loss(A1, A2, A3, E, Xm, Y, scale=scale)
                out.append((lp - lm) / (2 * step))
    return np.array(out, dtype=object)


def _c7_fd():
    cases = []
    with mpmath.workdps(50):
        for case in FD_CASES:
            m = mp_case(case)
            cases.append((_label(case), _e5_mp(m), _fd_gradient(m.args)))
    return cases


def _c7_library():
    cases = []
    with mpmath.workdps(50):
        for case in MP_CASES:
            m = mp_case(case)
            lhs = _e5_mp(m)
            for method in ("exact", "naive"):
                if method == "naive" and m.n > 32:
                    continue
                g = attngrad.gradient(*m.args, method=method, scale=1)
                cases.append((f"{_label(case)} {method}", lhs, g.reshape(-1)))
    return cases


def _c7_one_over_d():
    """Definition 1.2 keeps the 1/d: dL/dx = (1/d) vec(A1^T p_{1/d} A2),
    p_{1/d} built from f = softmax(A1 X A2^T / d)."""
    cases = []
    with mpmath.workdps(50):
        for case in (("dyadic", 8, 3, 38), ("dyadic", 16, 3, 32)):
            m = mp_case(case)
            A1, A2 = m.args[0], m.args[1]
            d = m.d
            p_d = attngrad.p(*m.args)                  # scale = 1/d (Definition 1.2)
            rhs = vec((A1.T @ p_d) @ A2) / mpmath.mpf(d)
            cases.append((_label(case), _fd_gradient(m.args, scale=None), rhs))
    return cases


_SMALL = SMALL_CASES

LEMMA_C_7 = Statement(
    id="Lemma C.7",
    summary="dL(x)/dx = vec(A1^T p(x) A2) (row-major vec, 1/d dropped as in Section C)",
    printed=("Lemma C.7: define f(x), c(x), h(y), q(x), p(x) as in Definitions 3.4, 3.6, 3.5, "
             "C.3 and C.5; A = A1 (x) A2; L(x) as in Definition 1.2, L(x)_{j0,i0} as in "
             "Definition 3.7. Then dL(x)/dx = vec(A1^T p(x) A2). Proof: Eq. (3) "
             "dL_{j0,i0}/dx_i = c (<f o A_{j0,i}, h_{i0}> - <f, h_{i0}> <f, A_{j0,i}>); by Fact "
             "A.1 <f o A_{j0,i}, h_{i0}> = A_{j0,i}^T diag(f) h_{i0} and <f, v> <f, A_{j0,i}> = "
             "A_{j0,i}^T f f^T h_{i0}; Eq. (4) dL_{j0,i0}/dx_i = c A_{j0,i}^T (diag(f) - f f^T) "
             "h_{i0}; Eq. (5) q_{j0} = sum_{i0} c_{j0,i0} h_{i0}; Eq. (6) p_{j0} = (diag(f) - "
             "f f^T) q_{j0}; dL/dx = sum_{j0} sum_{i0} dL_{j0,i0}/dx = sum sum c A_{j0}^T "
             "(diag(f) - f f^T) h_{i0} = sum_{j0} A_{j0}^T (diag(f) - f f^T) q_{j0} = "
             "sum_{j0} A_{j0}^T p_{j0} = vec(A1^T p A2) (tensor trick)."),
    steps=[
        Step("Eq. (3)", "dL(x)_{j0,i0}/dx_i = c (<f o A_{j0,i}, h> - <f, h> <f, A_{j0,i}>) "
             "(Lemma B.1 Part 8) equals SymPy's derivative of 0.5 c(x)_{j0,i0}^2, every j0, i0, i",
             "symbolic", _c7_eq3),
        Step("Fact A.1, first", "<f o A_{j0,i}, h> = A_{j0,i}^T diag(f) h (generic vectors)",
             "symbolic", _fact_a1_first),
        Step("Fact A.1, second (as printed)", "<f, v> <f, A_{j0,i}> = A_{j0,i}^T f f^T h(y)_{i0}, "
             "with the v printed in the proof (generic vectors)", "symbolic",
             _fact_a1_second(printed=True)),
        Step("Eq. (4)", "c (A^T diag(f) h - A^T f f^T h) = c A^T (diag(f) - f f^T) h "
             "(generic vectors: 'simple algebra')", "symbolic", _eq4_generic),
        Step("Eq. (5) (symbolic)", "q(x)_{j0} (row j0 of q = c h^T, attngrad.formulas.q) = "
             "sum_{i0} c_{j0,i0} h_{i0}", "symbolic", _sym_cases(_c3_sym)),
        Step("Eq. (5) (mpmath)", "row j0 of attngrad.q = sum_{i0} c_{j0,i0} h_{i0} "
             "(50 digits, n up to 64)", "mpmath",
             _mp_cases(lambda m: (m["q"], _stack(_q_row(m, j) for j in range(m.n))))),
        Step("step 1 (symbolic)", "dL(x)/dx (SymPy, L of Definition 1.2 without 1/d) = "
             "sum_{j0,i0} dL(x)_{j0,i0}/dx (SymPy per term): Lemma 3.10 and linearity",
             "symbolic", _chain_sym(_e0_sym, _e1_direct_sym, sizes=DERIV_SIZES)),
        Step("step 2 (symbolic)", "sum_{j0,i0} Eq. (3) = sum_{j0,i0} c A_{j0}^T (diag(f) - "
             "f f^T) h_{i0} (by Eq. (4))", "symbolic", _chain_sym(_e1_sym, _e2_sym)),
        Step("step 2 (mpmath)", "the same at 50 digits, A_{j0} the blocks of attngrad.kron",
             "mpmath", _mp_cases(lambda m: (_e1_mp(m), _e2_mp(m)), cases=_SMALL)),
        Step("step 3 (symbolic)", "= sum_{j0} A_{j0}^T (diag(f) - f f^T) q_{j0} (by Eq. (5))",
             "symbolic", _chain_sym(_e2_sym, _e3_sym)),
        Step("step 3 (mpmath)", "the same at 50 digits", "mpmath",
             _mp_cases(lambda m: (_e2_mp(m), _e3_mp(m)), cases=_SMALL)),
        Step("step 4 (symbolic)", "= sum_{j0} A_{j0}^T p_{j0} (by Eq. (6))", "symbolic",
             _chain_sym(_e3_sym, _e4_sym)),
        Step("step 4 (mpmath)", "the same at 50 digits", "mpmath",
             _mp_cases(lambda m: (_e3_mp(m), _e4_mp(m)), cases=_SMALL)),
        Step("step 5 (symbolic)", "= vec(A1^T p A2), row-major vec (tensor trick)", "symbolic",
             _chain_sym(_e4_sym, _e5_sym)),
        Step("step 5 (mpmath)", "the same at 50 digits, n up to 64", "mpmath",
             _mp_cases(lambda m: (_e4_mp(m), _e5_mp(m)))),
        Step("result vs SymPy", "vec(A1^T p A2) (attngrad.formulas on SymPy arrays) = SymPy's "
             "derivative of L(X)", "symbolic", _chain_sym(_e5_sym, _e0_sym, sizes=DERIV_SIZES)),
        Step("result vs finite differences", "vec(A1^T attngrad.p A2) = central differences of "
             "attngrad.loss(scale=1), step 1e-30 at 120 digits (n = 8, 64; random, peaked, "
             "large)", "mpmath", _c7_fd),
        Step("result vs attngrad.gradient", "vec(A1^T p A2) = attngrad.gradient(method='exact' "
             "and 'naive', scale=1).reshape(-1) (50 digits)", "mpmath", _c7_library),
        Step("remark (ours): with the 1/d of Definition 1.2", "the statement cites Definition 1.2, "
             "which keeps 1/d; then dL/dx = (1/d) vec(A1^T p A2) with f = softmax(A1 X A2^T / d) "
             "(finite differences of attngrad.loss with its default scale)", "mpmath",
             _c7_one_over_d),
    ],
    corrected=[
        Step("Fact A.1, second (v = h(y)_{i0})", "<f, h(y)_{i0}> <f, A_{j0,i}> = "
             "A_{j0,i}^T f f^T h(y)_{i0} (generic vectors)", "symbolic",
             _fact_a1_second(printed=False)),
    ],
    errata=[
        Erratum(
            location="Appendix C.5, proof of Lemma C.7, the second identity from Fact A.1",
            printed=("<f(x)_{j0}, v> * <f(x)_{j0}, A_{j0,i}> = "
                     "A_{j0,i}^T f(x)_{j0} f(x)_{j0}^T h(y)_{i0}"),
            corrected="<f(x)_{j0}, h(y)_{i0}> * <f(x)_{j0}, A_{j0,i}> = "
                      "A_{j0,i}^T f(x)_{j0} f(x)_{j0}^T h(y)_{i0} (v is a typo for h(y)_{i0}; "
                      "Eq. (3) and Eq. (4) are right)",
            evidence="v is not defined anywhere in the proof; read as a free vector the identity "
                     "is false: lhs - rhs = <f, A_{j0,i}> (<f, v> - <f, h>). Exact counterexample "
                     "n = 2: f = (1/4, 3/4), A_{j0,i} = (1, 0), h = (1, 0), v = (0, 1) gives "
                     "lhs = 3/16, rhs = 1/16. Rerun: attngrad check --only \"Lemma C.7\"",
            step="Fact A.1, second (as printed)"),
    ],
)


# ---------------------------------------------------------------------------
# operation counts (Lemmas C.1, C.2, C.4, C.6, C.8)

n_, d_ = sympy.symbols("n d", positive=True, integer=True)
a_, b_ = sympy.symbols("a b", nonnegative=True, integer=True)
PRIMES = {n_: 7, d_: 3}
GRID = [(n, d) for n in (1, 2, 5, 16, 64) for d in (1, 3, 8)]


def T(a, b, c):
    """T_mat(a, b, c) of the classical algorithm (Definition A.3)."""
    return a * b * c


def _inputs(ns, n, d, seed=0):
    rng = np.random.default_rng(seed + 7 * n + d)
    w = ns.wrap
    A1, A2, A3, E = (w(rng.standard_normal((n, d))) for _ in range(4))
    X, Y = (w(rng.standard_normal((d, d)) / np.sqrt(d)) for _ in range(2))
    return A1, A2, A3, E, X, Y


def _stages(n, d):
    """Run attngrad.formulas stage by stage on counted arrays: one log per stage.

    Each stage gets its inputs from the previous ones (computed uncounted), as the
    lemmas assume them given.
    """
    logs = {}
    ns = opcount.CountingNamespace()
    A1, A2, A3, E, X, Y = _inputs(ns, n, d)
    s = F.scale_value(ns, 1, d)

    def run(name, fn):
        ns.reset()
        out = fn()
        logs[name] = list(ns.log)
        return out

    f = run("f", lambda: F.softmax_rows(ns, F.scores(ns, A1, A2, X, s)))   # Lemma C.1
    hy = run("h", lambda: F.h(ns, A3, Y))                                 # Lemma C.1
    cx = run("c", lambda: F.c(ns, f, hy, E))                              # Lemma C.2
    qx = run("q", lambda: F.q(ns, cx, hy))                                # Lemma C.4
    px = run("p", lambda: F.p(ns, f, qx))                                 # Lemma C.6
    run("p row", lambda: F.p(ns, f[:1, :], qx[:1, :]))                    # one row j0
    run("step 5", lambda: ((A1.T @ px) @ A2) * s)                         # Lemma C.8 step 5
    run("gradient", lambda: F.gradient_exact_X(ns, A1, A2, A3, E, X, Y, s))  # Lemma C.8
    return logs


@lru_cache(maxsize=None)
def stage_logs(n, d):
    return _stages(n, d)


@lru_cache(maxsize=None)
def polys():
    """Count polynomials in n, d of every stage, read off the run at the primes (7, 3)."""
    logs = stage_logs(PRIMES[n_], PRIMES[d_])
    return {k: opcount.symbolic(v, PRIMES) for k, v in logs.items()}


def _poly(stage, kind="total"):
    return polys()[stage][kind]


def _certificate(count, bound):
    """Coefficients of count - bound after n = 1 + a, d = 1 + b: all <= 0 proves count <= bound
    for every n, d >= 1."""
    e = sympy.expand((count - bound).subs({n_: 1 + a_, d_: 1 + b_}, simultaneous=True))
    coeffs = sympy.Poly(e, a_, b_).coeffs() if e != 0 else [sympy.Integer(0)]
    return coeffs


def _cubic_part(poly):
    P = sympy.Poly(poly, n_, d_)
    return sympy.expand(sum((c * n_ ** i * d_ ** j for (i, j), c in P.terms() if i + j == 3),
                            sympy.Integer(0)))


def _grid_matches_poly(stages):
    """The count measured at every grid point equals the polynomial read off at (7, 3)."""
    def compute():
        cases = []
        for n, d in GRID:
            logs = stage_logs(n, d)
            for st in stages:
                cases.append((f"{st} n={n} d={d}", sympy.Integer(opcount.total(logs[st])),
                              _poly(st).subs({n_: n, d_: d})))
        return cases
    return compute


def _matmuls(stage, expected):
    """The multiset of (m, k, p) of the stage's products equals the proof's list
    (compared as [number of products, m1, k1, p1, m2, ...], sorted)."""
    def flat(triples):
        return np.array([len(triples)] + [v for t in sorted(triples) for v in t], dtype=object)

    def compute():
        return [(f"n={n} d={d}", flat(opcount.matmuls(stage_logs(n, d)[stage])),
                 flat(expected(n, d))) for n, d in GRID]
    return compute


def _grid_bound(stage, bound, kinds=opcount.KINDS):
    """count(stage) <= bound(n, d) at every grid point (exact integers)."""
    def compute():
        return [(f"n={n} d={d}", opcount.total(stage_logs(n, d)[stage], kinds), bound(n, d))
                for n, d in GRID]
    return compute


def _sym_bound(stage, bound, kind="total"):
    """count polynomial <= bound for all n, d >= 1 (coefficient certificate)."""
    def compute():
        coeffs = _certificate(_poly(stage, kind), bound(n_, d_))
        return [(f"coefficient {k}", c, sympy.Integer(0)) for k, c in enumerate(coeffs)]
    return compute


def _nonmatmul(stage):
    return _poly(stage) - _poly(stage, "matmul")


GRID_TEXT = "n in {1,2,5,16,64}, d in {1,3,8}"

LEMMA_C_1 = Statement(
    id="Lemma C.1",
    summary="f(x) in T_mat(n,d,n) + T_mat(n,d,d) + O(n^2) <= 7 (T_mat(n,d,n) + T_mat(n,d,d)); "
            "h(y) in exactly T_mat(n,d,d) (counted on attngrad.formulas)",
    printed=("Lemma C.1: f(x) can be calculated in time of T_mat(n,d,n) + T_mat(n,d,d); h(y) can "
             "be calculated in time of T_mat(n,d,d). Proof: computing exp(A1 X A2^T) takes "
             "T_mat(n,d,d) and T_mat(n,d,n); D takes O(n^2); D^{-1} exp(A1 X A2^T) takes O(n^2); "
             "overall T_mat(n,d,d) + T_mat(n,d,n) + O(n^2) = O(T_mat(n,d,d) + T_mat(n,d,n)). "
             "h(y) = A3 Y takes T_mat(n,d,d)."),
    steps=[
        Step("count polynomial", f"the counts of f and h measured at {GRID_TEXT} equal the "
             "polynomials read off at n = 7, d = 3", "exact", _grid_matches_poly(("f", "h"))),
        Step("exp(A1 X A2^T): products", "the products attngrad performs for f are exactly "
             "T_mat(n,d,d) and T_mat(n,d,n): (A1 X) A2^T", "exact",
             _matmuls("f", lambda n, d: [(n, d, d), (n, d, n)])),
        Step("D, D^{-1} exp(.): O(n^2)", "everything else in f (scale, row max, subtract, exp, "
             "row sums, divide) is <= 6 n^2 operations (symbolic, all n, d >= 1)", "symbolic",
             _sym_bound("f", lambda n, d: 6 * n ** 2 + _poly("f", "matmul")), relation="<="),
        Step("f: leading term", "the cubic part of f's count is exactly T_mat(n,d,n) + "
             "T_mat(n,d,d) = n^2 d + n d^2 (symbolic)", "symbolic",
             lambda: (_cubic_part(_poly("f")), T(n_, d_, n_) + T(n_, d_, d_))),
        Step("f: O(.) with C = 7", "count(f) <= 7 (T_mat(n,d,n) + T_mat(n,d,d)) for all "
             "n, d >= 1 (symbolic certificate)", "symbolic",
             _sym_bound("f", lambda n, d: 7 * (T(n, d, n) + T(n, d, d))), relation="<="),
        Step("f: O(.) on the grid", f"the same at {GRID_TEXT} (exact counts)", "exact",
             _grid_bound("f", lambda n, d: 7 * (T(n, d, n) + T(n, d, d))), relation="<="),
        Step("h = A3 Y: products", "h is one product T_mat(n,d,d)", "exact",
             _matmuls("h", lambda n, d: [(n, d, d)])),
        Step("h: exactly T_mat(n,d,d)", "count(h) = n d^2 (symbolic)", "symbolic",
             lambda: (_poly("h"), T(n_, d_, d_))),
    ],
)

LEMMA_C_2 = Statement(
    id="Lemma C.2",
    summary="c(x) in T_mat(n,n,d) + n d <= 2 T_mat(n,n,d) (counted on attngrad.formulas)",
    printed=("Lemma C.2: given E, f(x), h(y), one can compute c(x) in T_mat(n,n,d) time. "
             "Proof: f(x) h(y) takes T_mat(n,n,d), f(x) h(y) - E takes O(nd); overall "
             "T_mat(n,n,d) + O(nd)."),
    steps=[
        Step("count polynomial", f"the counts of c at {GRID_TEXT} equal the polynomial read "
             "off at n = 7, d = 3", "exact", _grid_matches_poly(("c",))),
        Step("f(x) h(y): products", "c performs exactly one product, T_mat(n,n,d)", "exact",
             _matmuls("c", lambda n, d: [(n, n, d)])),
        Step("- E: O(nd)", "the rest is <= n d operations (symbolic, all n, d >= 1)",
             "symbolic", _sym_bound("c", lambda n, d: n * d + _poly("c", "matmul")), relation="<="),
        Step("leading term", "the cubic part of c's count is exactly T_mat(n,n,d) = n^2 d",
             "symbolic", lambda: (_cubic_part(_poly("c")), T(n_, n_, d_))),
        Step("O(.) with C = 2", "count(c) <= 2 T_mat(n,n,d) for all n, d >= 1 (certificate)",
             "symbolic", _sym_bound("c", lambda n, d: 2 * T(n, n, d)), relation="<="),
        Step("O(.) on the grid", f"count(c) <= 2 T_mat(n,n,d) at {GRID_TEXT}", "exact",
             _grid_bound("c", lambda n, d: 2 * T(n, n, d)), relation="<="),
    ],
)

LEMMA_C_4 = Statement(
    id="Lemma C.4",
    summary="q(x) = c h^T in exactly T_mat(n,d,n) = T_mat(n,n,d) multiply-adds (C = 1)",
    printed=("Lemma C.4: given c(x), h(y), we can compute q(x) in O(T_mat(n,n,d)). Proof: "
             "q(x) = c(x) h(y)^T takes T_mat(n,d,n) = O(T_mat(n,n,d))."),
    steps=[
        Step("count polynomial", f"the counts of q at {GRID_TEXT} equal the polynomial read "
             "off at n = 7, d = 3", "exact", _grid_matches_poly(("q",))),
        Step("c h^T: products", "q is one product T_mat(n,d,n)", "exact",
             _matmuls("q", lambda n, d: [(n, d, n)])),
        Step("exactly T_mat(n,n,d)", "count(q) = T_mat(n,d,n) = T_mat(n,n,d) = n^2 d "
             "(symbolic; the classical count is symmetric, Fact A.4 with C = 1)", "symbolic",
             lambda: [("T_mat(n,d,n)", _poly("q"), T(n_, d_, n_)),
                      ("T_mat(n,n,d)", _poly("q"), T(n_, n_, d_))]),
    ],
)

LEMMA_C_6 = Statement(
    id="Lemma C.6",
    summary="p(x) from f, q in <= 5 n^2 operations, <= 5 n per row, no matrix product",
    printed=("Lemma C.6: given f(x), q(x), we can compute p(x) in O(n^2) time. Proof: "
             "diag(f_{j0}) is diagonal and f_{j0} f_{j0}^T rank one, so p(x)_{j0} takes O(n) "
             "for each j0; n x O(n) = O(n^2) in total."),
    steps=[
        Step("count polynomial", f"the counts of p and of one row of p at {GRID_TEXT} equal "
             "the polynomials read off at n = 7, d = 3", "exact",
             _grid_matches_poly(("p", "p row"))),
        Step("no product", "attngrad's p performs no matrix product (diagonal plus rank one, "
             "never the n x n matrix)", "exact", _matmuls("p", lambda n, d: [])),
        Step("one row: O(n)", "one row p(x)_{j0} costs <= 5 n operations (symbolic, all n >= 1)",
             "symbolic", _sym_bound("p row", lambda n, d: 5 * n), relation="<="),
        Step("n x O(n)", "the whole of p costs exactly n times one row (symbolic)", "symbolic",
             lambda: (_poly("p"), sympy.expand(n_ * _poly("p row")))),
        Step("O(n^2) with C = 5", "count(p) <= 5 n^2 for all n, d >= 1 (certificate)",
             "symbolic", _sym_bound("p", lambda n, d: 5 * n ** 2), relation="<="),
        Step("O(n^2) on the grid", f"count(p) <= 5 n^2 at {GRID_TEXT}", "exact",
             _grid_bound("p", lambda n, d: 5 * n ** 2), relation="<="),
    ],
)

# the proof of Lemma C.8, step by step: (stage, its products, its printed bound)
C8_PRODUCTS = {
    "f": lambda n, d: [(n, d, d), (n, d, n)],
    "h": lambda n, d: [(n, d, d)],
    "c": lambda n, d: [(n, n, d)],
    "q": lambda n, d: [(n, d, n)],
    "p": lambda n, d: [],
    "step 5": lambda n, d: [(d, n, n), (d, n, d)],
}
C8_STAGES = tuple(C8_PRODUCTS)
C8_C = 15


def _c8_products_all(n, d):
    return [t for st in C8_STAGES for t in C8_PRODUCTS[st](n, d)]


def _c8_sum_of_stages():
    cases = []
    for n, d in GRID:
        logs = stage_logs(n, d)
        for kind in opcount.KINDS:
            cases.append((f"{kind} n={n} d={d}", opcount.total(logs["gradient"], (kind,)),
                          sum(opcount.total(logs[st], (kind,)) for st in C8_STAGES)))
    return cases


def _c8_leading():
    """Cubic part of the count = the sum of the proof's products (each T_mat = m k p)."""
    want = sympy.expand(sum(T(*t) for t in _c8_products_all(n_, d_)))
    claimed = T(n_, d_, n_) + T(n_, d_, d_)
    got = _cubic_part(_poly("gradient"))
    return [("cubic part = proof's products", got, want),
            ("same monomials as the claim",
             np.array(sorted(sympy.Poly(got, n_, d_).monoms()), dtype=object),
             np.array(sorted(sympy.Poly(claimed, n_, d_).monoms()), dtype=object))]


LEMMA_C_8 = Statement(
    id="Lemma C.8",
    summary=f"gradient in O(T_mat(n,d,n) + T_mat(n,d,d)): counted 4 n^2 d + 3 n d^2 + O(n^2 + nd "
            f"+ d^2) <= {C8_C} (T_mat(n,d,n) + T_mat(n,d,d))",
    printed=("Lemma C.8: the gradient g = dL(X)/dx in R^{d^2} can be computed in "
             "T_mat(n,d,n) + T_mat(n,d,d) time. Proof: Step 1 f(x), h(y) in O(T_mat(n,n,d) + "
             "T_mat(n,d,d)) (Lemma C.1); Step 2 c(x) in O(T_mat(n,n,d) + T_mat(n,d,d)) (Lemma "
             "C.2); Step 3 q(x) in O(T_mat(n,n,d)) (Lemma C.4); Step 4 p(x) in O(n^2) (Lemma "
             "C.6); Step 5 vec(A1^T p(x) A2) (Lemma C.7) in O(T_mat(n,n,d) + T_mat(n,d,d)). "
             "Overall O(T_mat(n,d,d) + T_mat(n,d,n))."),
    steps=[
        Step("count polynomial", f"the counts of the gradient and of each step at {GRID_TEXT} "
             "equal the polynomials read off at n = 7, d = 3", "exact",
             _grid_matches_poly(("gradient",) + C8_STAGES)),
        Step("steps 1-5 are the algorithm", "attngrad.formulas.gradient_exact_X performs "
             "exactly the operations of steps 1-5 run one by one (f, h, c, q, p, A1^T p A2, "
             "and the scale), kind by kind, on the grid", "exact", _c8_sum_of_stages),
        Step("products", "its products are exactly those of the proof: T_mat(n,d,d), "
             "T_mat(n,d,n) (f), T_mat(n,d,d) (h), T_mat(n,n,d) (c), T_mat(n,d,n) (q), "
             "T_mat(d,n,n), T_mat(d,n,d) (step 5)", "exact",
             _matmuls("gradient", _c8_products_all)),
        Step("step 1", "count(f) + count(h) <= 7 (T_mat(n,n,d) + T_mat(n,d,d)) + T_mat(n,d,d) "
             "(certificate)", "symbolic",
             lambda: _sym_bound("f", lambda n, d: 7 * (T(n, n, d) + T(n, d, d)))()
             + _sym_bound("h", lambda n, d: T(n, d, d))(), relation="<="),
        Step("step 2", "count(c) <= 2 T_mat(n,n,d) (certificate)", "symbolic",
             _sym_bound("c", lambda n, d: 2 * T(n, n, d)), relation="<="),
        Step("step 3", "count(q) <= T_mat(n,n,d) (certificate)", "symbolic",
             _sym_bound("q", lambda n, d: T(n, n, d)), relation="<="),
        Step("step 4", "count(p) <= 5 n^2 (certificate)", "symbolic",
             _sym_bound("p", lambda n, d: 5 * n ** 2), relation="<="),
        Step("step 5", "count(A1^T p A2, scaled) <= T_mat(n,n,d) + 2 T_mat(n,d,d) "
             "(certificate)", "symbolic",
             _sym_bound("step 5", lambda n, d: T(n, n, d) + 2 * T(n, d, d)), relation="<="),
        Step("leading term", "the cubic part of the count is the sum of the proof's products, "
             "4 n^2 d + 3 n d^2: the monomials of T_mat(n,d,n) + T_mat(n,d,d), constant 4 "
             "(symbolic)", "symbolic", _c8_leading),
        Step(f"O(.) with C = {C8_C}", f"count(gradient) <= {C8_C} (T_mat(n,d,n) + T_mat(n,d,d)) "
             "for all n, d >= 1 (certificate)", "symbolic",
             _sym_bound("gradient", lambda n, d: C8_C * (T(n, d, n) + T(n, d, d))), relation="<="),
        Step("O(.) on the grid", f"the same at {GRID_TEXT} (exact counts)", "exact",
             _grid_bound("gradient", lambda n, d: C8_C * (T(n, d, n) + T(n, d, d))), relation="<="),
    ],
)

STATEMENTS = [LEMMA_C_1, LEMMA_C_2, DEF_C_3, LEMMA_C_4, DEF_C_5, LEMMA_C_6, LEMMA_C_7, LEMMA_C_8]
