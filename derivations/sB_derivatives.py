"""Appendix B: Lemma B.1, Parts 1 to 8 (derivatives with respect to x_i).

Setting (Sections 3 and B, which drop the 1/d: ``scale=1`` in attngrad):
x = vec(X) is the row-major vectorisation (Fact 3.8), A = A1 (x) A2, A_{j0} is
block j0 (n rows) of A, A_{j0,i} its i-th column, i in [d^2];
u(x)_{j0} = exp(A_{j0} x), alpha(x)_{j0} = <u(x)_{j0}, 1_n>,
f(x)_{j0} = alpha(x)_{j0}^{-1} u(x)_{j0}, h(y)_{i0} = A3 Y_{*,i0},
c(x)_{j0,i0} = <f(x)_{j0}, h(y)_{i0}> - E_{j0,i0}, L(x)_{j0,i0} = 0.5 c(x)_{j0,i0}^2.

Each Part is checked three ways:

1. ``symbolic``: SymPy differentiates the definition with fully symbolic A1, A2,
   A3, E, X, Y at n in {2, 3}, d in {1, 2}, for every j0, i (and i0), and the
   printed right-hand side must agree with it.
2. the proof as printed, one ``symbolic`` step per equality, citing what the
   paper cites.
3. ``mpmath`` (50 digits): the printed right-hand side, evaluated from
   attngrad's u, alpha, f, h, c (``scale=1``) and the Kronecker blocks of
   attngrad.kron, against a central finite difference (90 digits, step
   2^-100, so truncation and rounding errors stay far below 1e-40) of the left-hand side
   computed from the definitions with an independently written Kronecker
   product, on random dyadic and adversarial instances with n up to 64.

Symbolic comparisons: after differentiation, every exp(A_{j0} x)_k is replaced
by a positive symbol U_{j0,k} and every alpha(x)_{j0} by 1/W_{j0} with a new
symbol W_{j0}, and both sides are expanded as polynomials. Equal expansions in
these independent symbols imply equality at the actual values (U = exp(A_{j0} x),
W = 1/sum_k U_{j0,k}), so this is a sufficient (sound) test; the comparison in
derivations.core then simplifies the difference of the two canonical forms.

Part 8 also checks that its sum over j0, i0 is dL(X)/dx_i: symbolically, and in
mpmath against attngrad.gradient(method="naive"/"exact", scale=1) and a finite
difference of attngrad.loss(scale=1).

The printed statements of Parts 1-8 hold. Errata are typos: the preamble's
A_{j0} in R^{n x d} (Part 2), Eq. (1) of the proof of Part 7 (h(y) for
h(y)_{i0}) and the chain-rule step of the proof of Part 8 (dc(.)/dx_i for
dc(.)_{j0,i0}/dx_i). The proofs also cite the wrong Parts twice (Part 7's third
step "by Part 4" is Part 6; Part 8's last step "by Part 5" is Part 7): the
steps hold, the step texts say so and the errata mention it.
"""
from __future__ import annotations

from functools import lru_cache

import mpmath
import numpy as np
import sympy
from sympy import QQ
from sympy.polys.rings import ring

import attngrad
from attngrad.kron import kron

from .core import Erratum, Statement, Step
from .instances import args, as_mpmath, instance, label, sym_kron, symbolic_instance

SIZES = ((2, 1), (2, 2), (3, 1), (3, 2))  # symbolic (n, d)

# mpmath instances: (kind, n, d, seed); kind "random" or an adversarial kind
INSTANCES = (
    ("random", 64, 2, 11),
    ("random", 12, 3, 12),
    ("peaked", 32, 2, 13),
    ("flat", 16, 2, 14),
    ("large", 32, 2, 15),
    ("rankone", 16, 3, 16),
)
FD_DPS = 90                  # working precision of the finite differences
FD_STEP_EXP = -100           # step 2^-100: x_i +- step is exact for dyadic x


# ---------------------------------------------------------------------------
# symbolic side


def _dot(a, b):
    """<a, b> of two sympy column vectors."""
    return (a.T * b)[0, 0]


def _had(a, b):
    """a o b (entry-wise product) of two sympy column vectors."""
    return a.multiply_elementwise(b)


class _Sym:
    """Fully symbolic instance at one (n, d), with the objects of Definitions 3.2-3.7.

    Two forms of each definition:
      * Kronecker form: u_{j0} = exp(A_{j0} x) etc. (Definitions 3.2-3.7 as printed);
      * matrix form: rows of exp(A1 X A2^T), D(X)^{-1} exp(A1 X A2^T), f(x) h(y) - E
        (Definition 1.2 with the 1/d dropped; what attngrad computes).
    """

    def __init__(self, n, d):
        s = symbolic_instance(n, d)
        self.n, self.d = n, d
        A1, A2, A3, E, X, Y = (s[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))
        self.xs = list(X)                      # x = vec(X): sympy's list(M) is row-major
        self.x = sympy.Matrix(self.xs)
        self.A = sym_kron(A1, A2)             # n^2 x d^2
        self.H = (A3 * Y).applyfunc(sympy.expand)   # h(y), n x d (Def 3.5)
        self.E = E
        M = (A1 * X * A2.T).applyfunc(sympy.expand)  # scores, matrix form
        self.u_mat = M.applyfunc(sympy.exp)
        self.f_mat = sympy.Matrix(n, n, lambda j, k: self.u_mat[j, k] / sum(self.u_mat.row(j)))
        self.c_mat = self.f_mat * self.H - E            # Def 3.6, matrix form
        self.Aj, self.S, self.u, self.alpha, self.f, self.W = [], [], [], [], [], []
        rep = {}
        for j0 in range(n):
            Aj = self.A[j0 * n:(j0 + 1) * n, :]
            S = (Aj * self.x).applyfunc(sympy.expand)
            u = S.applyfunc(sympy.exp)          # Def 3.2
            alpha = sum(u)                      # Def 3.3: <u, 1_n>
            self.Aj.append(Aj)
            self.S.append(S)
            self.u.append(u)
            self.alpha.append(alpha)
            self.f.append(u / alpha)            # Def 3.4
            W = sympy.Symbol(f"W_{j0 + 1}", positive=True)   # stands for 1/alpha(x)_{j0}
            rep[alpha] = 1 / W
            self.W.append(W)
            for k in range(n):
                rep[u[k]] = sympy.Symbol(f"U_{j0 + 1}{k + 1}", positive=True)
        self.rep = rep
        gens = set(self.xs) | set(self.W) | {v for v in rep.values() if v.is_Symbol}
        for m in (A1, A2, A3, E, Y):
            gens |= set(m)
        self.ring = ring(sorted(gens, key=str), QQ)[0]

    # Definitions 3.5-3.7 in Kronecker form
    def h(self, i0):
        return self.H[:, i0]

    def c(self, j0, i0):
        return _dot(self.f[j0], self.h(i0)) - self.E[j0, i0]

    def L(self, j0, i0):
        return sympy.Rational(1, 2) * self.c(j0, i0) ** 2

    def col(self, j0, i):
        """A_{j0,i}: the i-th column of A_{j0}."""
        return self.Aj[j0][:, i]

    def e(self, i):
        return sympy.Matrix(self.d * self.d, 1, lambda r, _: 1 if r == i else 0)

    def dx(self, expr, i):
        return sympy.diff(expr, self.xs[i])

    def canon(self, expr):
        """exp(A_{j0} x)_k -> U_{j0,k}, alpha(x)_{j0} -> 1/W_{j0}, expanded (see module doc)."""
        if isinstance(expr, sympy.MatrixBase):
            return expr.applyfunc(self.canon)
        return _canon(self, sympy.sympify(expr))


@lru_cache(maxsize=None)
def _canon_cached(key, expr):
    ctx = _sym(*key)
    out = expr.xreplace(ctx.rep)
    if out.has(sympy.exp):
        raise AssertionError(f"an exp survived the substitution: {out}")
    try:  # a polynomial in the entries, U and W: expand in a sparse polynomial ring (fast)
        return ctx.ring.from_expr(out).as_expr()
    except ValueError:
        pass
    out = sympy.expand(out)
    for p in out.atoms(sympy.Pow):
        if p.exp.is_negative and p.base not in ctx.W:
            raise AssertionError(f"a denominator other than alpha: {p}")
    return out


def _canon(ctx, expr):
    return _canon_cached((ctx.n, ctx.d), expr)


@lru_cache(maxsize=None)
def _sym(n, d):
    return _Sym(n, d)


def _label(n, d, **idx):
    return ",".join([f"n={n}", f"d={d}"] + [f"{k}={v + 1}" for k, v in idx.items()])


def _symbolic(pair, *, over=("j0", "i"), sizes=SIZES, canon=True):
    """A step's compute: pair(ctx, **indices) -> (lhs, rhs) for every size and index.

    over: which of j0 in [n], i in [d^2], i0 in [d] to range over (1-based in labels).
    """
    def compute():
        cases = []
        for n, d in sizes:
            ctx = _sym(n, d)
            ranges = {"j0": range(n), "i": range(d * d), "i0": range(d)}
            for idx in _product({k: ranges[k] for k in over}):
                lhs, rhs = pair(ctx, **idx)
                if canon and _sym_shape(lhs) == _sym_shape(rhs):  # else the shapes already differ
                    lhs, rhs = ctx.canon(lhs), ctx.canon(rhs)
                cases.append((_label(n, d, **idx), lhs, rhs))
        return cases
    return compute


def _sym_shape(x):
    return tuple(x.shape) if isinstance(x, sympy.MatrixBase) else ()


def _product(ranges):
    out = [{}]
    for k, r in ranges.items():
        out = [dict(o, **{k: v}) for o in out for v in r]
    return out


# ---------------------------------------------------------------------------
# mpmath side: the definitions, evaluated independently of attngrad


def _kron_literal(P, Q):
    """(P (x) Q)_{(j0-1) n1 + j1, (i0-1) m1 + i1} = P_{j0,i0} Q_{j1,i1}, entry by entry."""
    n0, m0 = P.shape
    n1, m1 = Q.shape
    out = np.empty((n0 * n1, m0 * m1), dtype=object)
    for j0 in range(n0):
        for i0 in range(m0):
            for j1 in range(n1):
                for i1 in range(m1):
                    out[j0 * n1 + j1, i0 * m1 + i1] = P[j0, i0] * Q[j1, i1]
    return out


_EXP = np.frompyfunc(mpmath.exp, 1, 1)


def _definitions(A, x, n, H, E):
    """u, alpha, f, <f,h>, c, L at x, from Definitions 3.2-3.7 in Kronecker form."""
    S = (A @ x).reshape(n, n)                       # row j0 is A_{j0} x
    u = np.asarray(_EXP(S), dtype=object)           # u(x)_{j0} = exp(A_{j0} x)
    alpha = u.sum(axis=1)                           # <u(x)_{j0}, 1_n>
    f = u / alpha[:, None]                          # alpha^{-1} u
    fh = f @ H                                      # <f(x)_{j0}, h(y)_{i0}>
    c = fh - E
    L = c * c / 2
    return {"x": x.copy(), "S": S, "u": u, "alpha": alpha, "f": f, "fh": fh, "c": c, "L": L}


@lru_cache(maxsize=None)
def _finite_differences(key):
    """Central differences d/dx_i of every definition, at FD_DPS digits, for all i.

    Returns a dict name -> object array with a leading axis i in [d^2].
    """
    kind, n, d, seed = key
    with mpmath.workdps(FD_DPS):
        inst = as_mpmath(instance(*key))
        A1, A2, A3, E, X, Y = args(inst)
        A = _kron_literal(A1, A2)                   # n^2 x d^2
        H = A3 @ Y                                  # Def 3.5: column i0 is A3 Y_{*,i0}
        x0 = np.array([X[r, s] for r in range(d) for s in range(d)], dtype=object)
        step = mpmath.ldexp(mpmath.mpf(1), FD_STEP_EXP)
        out = {}
        for i in range(d * d):
            xp, xm = x0.copy(), x0.copy()
            xp[i] = xp[i] + step
            xm[i] = xm[i] - step
            plus, minus = _definitions(A, xp, n, H, E), _definitions(A, xm, n, H, E)
            for name in plus:
                out.setdefault(name, []).append((plus[name] - minus[name]) / (2 * step))
        deriv = {k: np.array(v, dtype=object) for k, v in out.items()}
        # dL(X)/dx_i of the whole loss (Definition 1.2 with scale 1), through attngrad.loss
        g = []
        for i in range(d * d):
            Xp, Xm = X.copy(), X.copy()
            Xp[i // d, i % d] = Xp[i // d, i % d] + step
            Xm[i // d, i % d] = Xm[i // d, i % d] - step
            g.append((attngrad.loss(A1, A2, A3, E, Xp, Y, scale=1)
                      - attngrad.loss(A1, A2, A3, E, Xm, Y, scale=1)) / (2 * step))
        deriv["loss"] = np.array(g, dtype=object)
    return deriv


class _Printed:
    """The printed right-hand sides, from attngrad's f, h, c, u, alpha (scale=1) and kron."""

    def __init__(self, key):
        kind, n, d, seed = key
        inst = as_mpmath(instance(*key))
        self.args = args(inst)
        A1, A2, A3, E, X, Y = self.args
        self.n, self.d = n, d
        A = kron(A1, A2)
        # Ab[j0, k, i] = (A_{j0})_{k,i}: entry k of the column A_{j0,i}
        self.Ab = A.reshape(n, n, d * d)
        self.u = attngrad.u(A1, A2, X, scale=1)
        self.alpha = attngrad.alpha(A1, A2, X, scale=1)
        self.f = attngrad.f(A1, A2, X, scale=1)
        self.h = attngrad.h(A3, Y)
        self.c = attngrad.c(A1, A2, A3, E, X, Y, scale=1)

    def col(self, i):
        """A_{., i}: an n x n array whose row j0 is A_{j0,i}."""
        return self.Ab[:, :, i]

    def stack(self, fn):
        return np.array([fn(i) for i in range(self.d * self.d)], dtype=object)

    # Part 2: A_{j0,i}
    def part2(self):
        return self.stack(lambda i: self.col(i))

    # Part 3: A_{j0,i} o u(x)_{j0}
    def part3(self):
        return self.stack(lambda i: self.col(i) * self.u)

    # Part 4: <A_{j0,i}, u(x)_{j0}>
    def part4(self):
        return self.stack(lambda i: (self.col(i) * self.u).sum(axis=1))

    def _Af(self, i):
        """<A_{j0,i}, f(x)_{j0}> for all j0."""
        return (self.col(i) * self.f).sum(axis=1)

    # Part 5: A_{j0,i} o f(x)_{j0} - <A_{j0,i}, f(x)_{j0}> f(x)_{j0}
    def part5(self):
        return self.stack(lambda i: self.col(i) * self.f - self._Af(i)[:, None] * self.f)

    # Part 6: <h_{i0}, A_{j0,i} o f_{j0}> - <h_{i0}, f_{j0}> <A_{j0,i}, f_{j0}>
    def part6(self):
        fh = self.f @ self.h
        return self.stack(lambda i: (self.col(i) * self.f) @ self.h - fh * self._Af(i)[:, None])

    # Part 7: <A_{j0,i} o f_{j0}, h_{i0}> - <f_{j0}, h_{i0}> <A_{j0,i}, f_{j0}>
    def part7(self):
        fh = self.f @ self.h
        return self.stack(lambda i: (self.col(i) * self.f) @ self.h - fh * self._Af(i)[:, None])

    # Part 8: (<h_{i0}, A_{j0,i} o f_{j0}> - <f_{j0}, A_{j0,i}> <h_{i0}, f_{j0}>) c_{j0,i0}
    def part8(self):
        fh = self.f @ self.h
        return self.stack(
            lambda i: ((self.col(i) * self.f) @ self.h - self._Af(i)[:, None] * fh) * self.c)


@lru_cache(maxsize=None)
def _printed_cached(key, dps):
    return _Printed(key)


def _printed(key):
    """The printed right-hand sides of one instance at the current mpmath precision."""
    return _printed_cached(key, mpmath.mp.dps)


def _numeric(part, fd_name):
    """mpmath step: printed right-hand side of ``part`` vs finite differences of fd_name."""
    def compute():
        cases = []
        for key in INSTANCES:
            fd = _finite_differences(key)[fd_name]
            rhs = getattr(_printed(key), part)()
            cases.append((label(*key), fd, rhs))
        return cases
    return compute


def _numeric_part1():
    cases = []
    for key in INSTANCES:
        d = key[2]
        eye = attngrad.to_mpmath(np.eye(d * d, dtype=np.int64))
        cases.append((label(*key), _finite_differences(key)["x"], eye))
    return cases


def _mp_step(k, fd_name, what):
    return Step(f"Part {k} in mpmath", f"printed right-hand side from {what} at 50 digits vs "
                "a central finite difference (90 digits, step 2^-100) of the definition, "
                "random dyadic and adversarial instances, n up to 64",
                "mpmath", _numeric(f"part{k}", fd_name) if k != 1 else _numeric_part1)


# ---------------------------------------------------------------------------
# Part 1

PART_1 = Statement(
    id="Lemma B.1 Part 1",
    summary="dx/dx_i = e_i",
    printed="Lemma B.1 Part 1: dx/dx_i = e_i (i in [d^2], x = vec(X)).",
    steps=[
        Step("Part 1 as printed", "SymPy: d vec(X)/dx_i = e_i (the whole printed proof)",
             "symbolic", _symbolic(lambda s, i: (s.dx(s.x, i), s.e(i)), over=("i",),
                                   sizes=((2, 1), (2, 2), (3, 2)), canon=False)),
        _mp_step(1, "x", "the identity matrix"),
    ],
)


# ---------------------------------------------------------------------------
# Part 2


def _preamble_shape(printed):
    def compute():
        cases = []
        for n, d in SIZES:
            ctx = _sym(n, d)
            want = (n, d) if printed else (n, d * d)
            cases.append((_label(n, d), tuple(ctx.Aj[0].shape), want))
        for key in INSTANCES:
            _, n, d, _ = key
            Ab = _printed(key).Ab
            want = (n, d) if printed else (n, d * d)
            cases.append((label(*key), (Ab.shape[1], Ab.shape[2]), want))
        return cases
    return compute


PART_2_STEPS = [
    Step("Part 2 as printed", "SymPy: d(A_{j0} x)/dx_i = (A_{j0})_i = A_{j0,i}",
         "symbolic", _symbolic(lambda s, j0, i: (s.dx(s.Aj[j0] * s.x, i), s.col(j0, i)))),
    Step("proof step 1", "d(A_{j0} x)/dx_i = A_{j0} dx/dx_i (A_{j0} does not depend on x)",
         "symbolic", _symbolic(lambda s, j0, i: (s.dx(s.Aj[j0] * s.x, i),
                                                 s.Aj[j0] * s.dx(s.x, i)))),
    Step("proof step 2", "A_{j0} dx/dx_i = A_{j0} e_i (Part 1)",
         "symbolic", _symbolic(lambda s, j0, i: (s.Aj[j0] * s.dx(s.x, i), s.Aj[j0] * s.e(i)))),
    Step("proof step 3", "A_{j0} e_i = A_{j0,i}",
         "symbolic", _symbolic(lambda s, j0, i: (s.Aj[j0] * s.e(i), s.col(j0, i)))),
    _mp_step(2, "S", "the Kronecker blocks of attngrad.kron"),
]

PART_2 = Statement(
    id="Lemma B.1 Part 2",
    summary="d(A_{j0} x)/dx_i = A_{j0,i}",
    printed=("Lemma B.1 (preamble): for every i in [d^2], A_{j0,i} in R^n is the i-th column "
             "of A_{j0} in R^{n x d}. Part 2: for each j0 in [n], d(A_{j0} x)/dx_i = (A_{j0})_i."),
    steps=[Step("preamble: A_{j0} in R^{n x d}",
                "the shape the preamble prints for A_{j0}, vs Definition 3.2's block of "
                "A1 (x) A2", "exact", _preamble_shape(True))] + PART_2_STEPS,
    corrected=[Step("preamble: A_{j0} in R^{n x d^2}",
                    "A_{j0} is n x d^2 (Definition 3.2; the proof of Part 2 annotates it so)",
                    "exact", _preamble_shape(False))] + PART_2_STEPS[:-1],
    errata=[Erratum(
        location="Appendix B, Lemma B.1, preamble",
        printed="define A_{j0,i} in R^n to be the i-th column for A_{j0} in R^{n x d}",
        corrected="A_{j0} in R^{n x d^2} (Definition 3.2), so that its i-th column exists "
                  "for every i in [d^2]",
        evidence="Definition 3.2 makes A_{j0} a block of n rows of A1 (x) A2 in "
                 "R^{n^2 x d^2}: at n = 2, d = 2 it is 2 x 4, not 2 x 2, and columns "
                 "i = 3, 4 of a 2 x 2 matrix do not exist although the lemma takes every "
                 "i in [d^2] = [4]. The printed proof of Part 2 itself annotates A_{j0} as "
                 "n x d^2. A typo (d for d^2). Rerun: attngrad check --only \"Lemma B.1 Part 2\".",
        step="preamble: A_{j0} in R^{n x d}")],
)


# ---------------------------------------------------------------------------
# Part 3

PART_3 = Statement(
    id="Lemma B.1 Part 3",
    summary="du(x)_{j0}/dx_i = A_{j0,i} o u(x)_{j0}",
    printed="Lemma B.1 Part 3: for each j0 in [n], du(x)_{j0}/dx_i = A_{j0,i} o u(x)_{j0}.",
    steps=[
        Step("Part 3 as printed", "SymPy: d exp(A_{j0} x)/dx_i = A_{j0,i} o u(x)_{j0}",
             "symbolic", _symbolic(lambda s, j0, i: (s.dx(s.u[j0], i),
                                                     _had(s.col(j0, i), s.u[j0])))),
        Step("proof step 1", "du(x)_{j0}/dx_i = d exp(A_{j0} x)/dx_i; u(x)_{j0} taken as row j0 "
             "of exp(A1 X A2^T) (Definition 3.2 with Fact 3.9)",
             "symbolic", _symbolic(lambda s, j0, i: (s.dx(s.u_mat.row(j0).T, i),
                                                     s.dx(s.S[j0].applyfunc(sympy.exp), i)))),
        Step("proof step 2", "d exp(A_{j0} x)/dx_i = exp(A_{j0} x) o d(A_{j0} x)/dx_i "
             "(chain rule; exp is entry-wise)",
             "symbolic", _symbolic(lambda s, j0, i: (s.dx(s.S[j0].applyfunc(sympy.exp), i),
                                                     _had(s.S[j0].applyfunc(sympy.exp),
                                                          s.dx(s.S[j0], i))))),
        Step("proof step 3", "exp(A_{j0} x) o d(A_{j0} x)/dx_i = exp(A_{j0} x) o A_{j0,i} "
             "(Part 2)",
             "symbolic", _symbolic(lambda s, j0, i: (_had(s.S[j0].applyfunc(sympy.exp),
                                                          s.dx(s.S[j0], i)),
                                                     _had(s.S[j0].applyfunc(sympy.exp),
                                                          s.col(j0, i))))),
        Step("proof step 4", "exp(A_{j0} x) o A_{j0,i} = u(x)_{j0} o A_{j0,i} (definition of u)",
             "symbolic", _symbolic(lambda s, j0, i: (_had(s.S[j0].applyfunc(sympy.exp),
                                                          s.col(j0, i)),
                                                     _had(s.u_mat.row(j0).T, s.col(j0, i))))),
        _mp_step(3, "u", "attngrad.u and attngrad.kron"),
    ],
)


# ---------------------------------------------------------------------------
# Part 4

def _ones(s):
    return sympy.ones(s.n, 1)

PART_4 = Statement(
    id="Lemma B.1 Part 4",
    summary="dalpha(x)_{j0}/dx_i = <A_{j0,i}, u(x)_{j0}>",
    printed="Lemma B.1 Part 4: for each j0 in [n], dalpha(x)_{j0}/dx_i = <A_{j0,i}, u(x)_{j0}>.",
    steps=[
        Step("Part 4 as printed", "SymPy: d<exp(A_{j0} x), 1_n>/dx_i = <A_{j0,i}, u(x)_{j0}>",
             "symbolic", _symbolic(lambda s, j0, i: (s.dx(s.alpha[j0], i),
                                                     _dot(s.col(j0, i), s.u[j0])))),
        Step("proof step 1", "dalpha/dx_i = d<u(x)_{j0}, 1_n>/dx_i (definition of alpha; alpha "
             "taken as the j0-th diagonal entry of D(X))",
             "symbolic", _symbolic(lambda s, j0, i: (s.dx(sum(s.u_mat.row(j0)), i),
                                                     s.dx(_dot(s.u[j0], _ones(s)), i)))),
        Step("proof step 2", "d<u(x)_{j0}, 1_n>/dx_i = <u(x)_{j0} o A_{j0,i}, 1_n> (Part 3)",
             "symbolic", _symbolic(lambda s, j0, i: (s.dx(_dot(s.u[j0], _ones(s)), i),
                                                     _dot(_had(s.u[j0], s.col(j0, i)),
                                                          _ones(s))))),
        Step("proof step 3", "<u(x)_{j0} o A_{j0,i}, 1_n> = <u(x)_{j0}, A_{j0,i}> (Fact A.1)",
             "symbolic", _symbolic(lambda s, j0, i: (_dot(_had(s.u[j0], s.col(j0, i)), _ones(s)),
                                                     _dot(s.u[j0], s.col(j0, i))))),
        _mp_step(4, "alpha", "attngrad.u and attngrad.kron"),
    ],
)


# ---------------------------------------------------------------------------
# Part 5


def _inv_alpha(s, j0):
    return s.alpha[j0] ** -1


def _part5_rhs(s, j0, i):
    f, a = s.f[j0], s.col(j0, i)
    return _had(a, f) - _dot(a, f) * f


PART_5 = Statement(
    id="Lemma B.1 Part 5",
    summary="df(x)_{j0}/dx_i = A_{j0,i} o f(x)_{j0} - <A_{j0,i}, f(x)_{j0}> f(x)_{j0}",
    printed=("Lemma B.1 Part 5: for each j0 in [n], df(x)_{j0}/dx_i = A_{j0,i} o f(x)_{j0} "
             "- <A_{j0,i}, f(x)_{j0}> f(x)_{j0}."),
    steps=[
        Step("Part 5 as printed", "SymPy: d(alpha^{-1} u)/dx_i = A_{j0,i} o f - <A_{j0,i}, f> f",
             "symbolic", _symbolic(lambda s, j0, i: (s.dx(s.f[j0], i), _part5_rhs(s, j0, i)))),
        Step("proof step 1", "df(x)_{j0}/dx_i = d(alpha^{-1} u)/dx_i (Definition 3.4; f taken "
             "as row j0 of D(X)^{-1} exp(A1 X A2^T))",
             "symbolic", _symbolic(lambda s, j0, i: (s.dx(s.f_mat.row(j0).T, i),
                                                     s.dx(_inv_alpha(s, j0) * s.u[j0], i)))),
        Step("proof step 2", "d(alpha^{-1} u)/dx_i = alpha^{-1} du/dx_i + (dalpha^{-1}/dx_i) u "
             "(product rule)",
             "symbolic", _symbolic(lambda s, j0, i: (
                 s.dx(_inv_alpha(s, j0) * s.u[j0], i),
                 _inv_alpha(s, j0) * s.dx(s.u[j0], i) + s.dx(_inv_alpha(s, j0), i) * s.u[j0]))),
        Step("first term, step 1", "alpha^{-1} du/dx_i = alpha^{-1} u o A_{j0,i} (Part 3)",
             "symbolic", _symbolic(lambda s, j0, i: (
                 _inv_alpha(s, j0) * s.dx(s.u[j0], i),
                 _inv_alpha(s, j0) * _had(s.u[j0], s.col(j0, i))))),
        Step("first term, step 2", "alpha^{-1} u o A_{j0,i} = f o A_{j0,i} (definition of f)",
             "symbolic", _symbolic(lambda s, j0, i: (
                 _inv_alpha(s, j0) * _had(s.u[j0], s.col(j0, i)),
                 _had(s.f[j0], s.col(j0, i))))),
        Step("second term, step 1", "(dalpha^{-1}/dx_i) u = -alpha^{-2} (dalpha/dx_i) u "
             "(basic calculus)",
             "symbolic", _symbolic(lambda s, j0, i: (
                 s.dx(_inv_alpha(s, j0), i) * s.u[j0],
                 -s.alpha[j0] ** -2 * s.dx(s.alpha[j0], i) * s.u[j0]))),
        Step("second term, step 2", "-alpha^{-2} (dalpha/dx_i) u = -alpha^{-2} <u, A_{j0,i}> u "
             "(Part 4)",
             "symbolic", _symbolic(lambda s, j0, i: (
                 -s.alpha[j0] ** -2 * s.dx(s.alpha[j0], i) * s.u[j0],
                 -s.alpha[j0] ** -2 * _dot(s.u[j0], s.col(j0, i)) * s.u[j0]))),
        Step("second term, step 3", "-alpha^{-2} <u, A_{j0,i}> u = -f <f, A_{j0,i}> "
             "(definition of f)",
             "symbolic", _symbolic(lambda s, j0, i: (
                 -s.alpha[j0] ** -2 * _dot(s.u[j0], s.col(j0, i)) * s.u[j0],
                 -s.f[j0] * _dot(s.f[j0], s.col(j0, i))))),
        Step("together", "alpha^{-1} du/dx_i + (dalpha^{-1}/dx_i) u = f o A_{j0,i} "
             "- f <f, A_{j0,i}> (using all of the results above)",
             "symbolic", _symbolic(lambda s, j0, i: (
                 _inv_alpha(s, j0) * s.dx(s.u[j0], i) + s.dx(_inv_alpha(s, j0), i) * s.u[j0],
                 _had(s.f[j0], s.col(j0, i)) - s.f[j0] * _dot(s.f[j0], s.col(j0, i))))),
        _mp_step(5, "f", "attngrad.f and attngrad.kron"),
    ],
)


# ---------------------------------------------------------------------------
# Part 6


def _part6_rhs(s, j0, i, i0):
    f, a, h = s.f[j0], s.col(j0, i), s.h(i0)
    return _dot(h, _had(a, f)) - _dot(h, f) * _dot(a, f)


_OVER3 = ("j0", "i", "i0")

PART_6 = Statement(
    id="Lemma B.1 Part 6",
    summary="d<f(x)_{j0}, h(y)_{i0}>/dx_i = <h, A_{j0,i} o f> - <h, f> <A_{j0,i}, f>",
    printed=("Lemma B.1 Part 6: for each j0 in [n], i0 in [d], d<f(x)_{j0}, h(y)_{i0}>/dx_i = "
             "<h(y)_{i0}, A_{j0,i} o f(x)_{j0}> - <h(y)_{i0}, f(x)_{j0}> <A_{j0,i}, f(x)_{j0}>."),
    steps=[
        Step("Part 6 as printed", "SymPy: d<f(x)_{j0}, h(y)_{i0}>/dx_i = printed right-hand side",
             "symbolic", _symbolic(lambda s, j0, i, i0: (s.dx(_dot(s.f[j0], s.h(i0)), i),
                                                         _part6_rhs(s, j0, i, i0)), over=_OVER3)),
        Step("proof step 1", "d<f, h(y)_{i0}>/dx_i = <h(y)_{i0}, df/dx_i> (h(y) does not "
             "depend on x; the printed proof: 'it follows Part 5 directly')",
             "symbolic", _symbolic(lambda s, j0, i, i0: (s.dx(_dot(s.f[j0], s.h(i0)), i),
                                                         _dot(s.h(i0), s.dx(s.f[j0], i))),
                                   over=_OVER3)),
        Step("proof step 2", "<h(y)_{i0}, df/dx_i> = <h(y)_{i0}, A_{j0,i} o f - <A_{j0,i}, f> f> "
             "(Part 5)",
             "symbolic", _symbolic(lambda s, j0, i, i0: (_dot(s.h(i0), s.dx(s.f[j0], i)),
                                                         _dot(s.h(i0), _part5_rhs(s, j0, i))),
                                   over=_OVER3)),
        Step("proof step 3", "<h, A_{j0,i} o f - <A_{j0,i}, f> f> = <h, A_{j0,i} o f> "
             "- <h, f> <A_{j0,i}, f> (bilinearity)",
             "symbolic", _symbolic(lambda s, j0, i, i0: (_dot(s.h(i0), _part5_rhs(s, j0, i)),
                                                         _part6_rhs(s, j0, i, i0)), over=_OVER3)),
        _mp_step(6, "fh", "attngrad.f, attngrad.h and attngrad.kron"),
    ],
)


# ---------------------------------------------------------------------------
# Part 7


def _part7_rhs(s, j0, i, i0):
    f, a, h = s.f[j0], s.col(j0, i), s.h(i0)
    return _dot(_had(a, f), h) - _dot(f, h) * _dot(a, f)


def _part7_proof_rhs(s, j0, i, i0):
    """As the proof prints it: <f o A_{j0,i}, h> - <f, h> <f, A_{j0,i}>."""
    f, a, h = s.f[j0], s.col(j0, i), s.h(i0)
    return _dot(_had(f, a), h) - _dot(f, h) * _dot(f, a)


def _eq1(printed):
    """Eq. (1): c(x)_{j0,i0} = <f(x)_{j0}, h(y)[_{i0}]> - E_{j0,i0}, c from c(x) = f(x)h(y) - E.

    As printed, h(y) has no subscript i0: <f(x)_{j0}, h(y)> is the 1 x d row f(x)_{j0}^T h(y).
    """
    def pair(s, j0, i0):
        lhs = sympy.Matrix([[s.c_mat[j0, i0]]])
        if printed:
            rhs = s.f[j0].T * s.H - s.E[j0, i0] * sympy.ones(1, s.d)
        else:
            rhs = sympy.Matrix([[_dot(s.f[j0], s.h(i0)) - s.E[j0, i0]]])
        return lhs, rhs
    return pair


def _part7_chain(cite):
    return [
        Step("proof step 1", "dc(x)_{j0,i0}/dx_i = d(<f, h(y)_{i0}> - E_{j0,i0})/dx_i (Eq. (1))",
             "symbolic", _symbolic(lambda s, j0, i, i0: (s.dx(s.c_mat[j0, i0], i),
                                                         s.dx(s.c(j0, i0), i)), over=_OVER3)),
        Step("proof step 2", "d(<f, h(y)_{i0}> - E_{j0,i0})/dx_i = d<f, h(y)_{i0}>/dx_i "
             "(dE_{j0,i0}/dx_i = 0)",
             "symbolic", _symbolic(lambda s, j0, i, i0: (s.dx(s.c(j0, i0), i),
                                                         s.dx(_dot(s.f[j0], s.h(i0)), i)),
                                   over=_OVER3)),
        Step("proof step 3", "d<f, h(y)_{i0}>/dx_i = <f o A_{j0,i}, h(y)_{i0}> - <f, h(y)_{i0}> "
             f"<f, A_{{j0,i}}> ({cite})",
             "symbolic", _symbolic(lambda s, j0, i, i0: (s.dx(_dot(s.f[j0], s.h(i0)), i),
                                                         _part7_proof_rhs(s, j0, i, i0)),
                                   over=_OVER3)),
    ]


PART_7 = Statement(
    id="Lemma B.1 Part 7",
    summary="dc(x)_{j0,i0}/dx_i = <A_{j0,i} o f, h> - <f, h> <A_{j0,i}, f>",
    printed=("Lemma B.1 Part 7: for each j0 in [n], i0 in [d], dc(x)_{j0,i0}/dx_i = "
             "<A_{j0,i} o f(x)_{j0}, h(y)_{i0}> - <f(x)_{j0}, h(y)_{i0}> <A_{j0,i}, f(x)_{j0}>. "
             "Proof, Eq. (1): c(.)_{j0,i0} := <f(.)_{j0}, h(y)> - E_{j0,i0}; the 3rd step "
             "'is followed by Part 4'."),
    steps=[
        Step("Part 7 as printed", "SymPy: d(<f, h(y)_{i0}> - E_{j0,i0})/dx_i = printed "
             "right-hand side",
             "symbolic", _symbolic(lambda s, j0, i, i0: (s.dx(s.c(j0, i0), i),
                                                         _part7_rhs(s, j0, i, i0)), over=_OVER3)),
        Step("Eq. (1) as printed", "c(x)_{j0,i0} = <f(x)_{j0}, h(y)> - E_{j0,i0} with h(y) "
             "the n x d matrix, as printed (no subscript i0)",
             "symbolic", _symbolic(_eq1(True), over=("j0", "i0"))),
    ] + _part7_chain("the paper cites Part 4, which is dalpha/dx_i; the step is Part 6")
      + [_mp_step(7, "c", "attngrad.f, attngrad.h and attngrad.kron")],
    corrected=[
        Step("Eq. (1), h(y)_{i0}", "c(x)_{j0,i0} = <f(x)_{j0}, h(y)_{i0}> - E_{j0,i0} "
             "(Definition 3.6)",
             "symbolic", _symbolic(_eq1(False), over=("j0", "i0"))),
    ] + _part7_chain("Part 6"),
    errata=[Erratum(
        location="Appendix B, proof of Lemma B.1 Part 7, Eq. (1)",
        printed="c(.)_{j0,i0} := <f(.)_{j0}, h(y)> - E_{j0,i0}",
        corrected="c(.)_{j0,i0} := <f(.)_{j0}, h(y)_{i0}> - E_{j0,i0} (Definition 3.6). "
                  "Also, the proof's third step follows from Part 6 (or Part 5), not from "
                  "Part 4 as printed.",
        evidence="h(y) is the n x d matrix of Definition 3.5, so <f(x)_{j0}, h(y)> = "
                 "f(x)_{j0}^T h(y) has d entries while c(x)_{j0,i0} is a scalar: at d = 2 "
                 "(n = 2, 3, symbolic entries) the two sides have shapes 1 x 1 and 1 x 2. A typo "
                 "(the next line of the proof uses h(y)_{i0}). Rerun: attngrad check --only "
                 "\"Lemma B.1 Part 7\".",
        step="Eq. (1) as printed")],
)


# ---------------------------------------------------------------------------
# Part 8


def _part8_rhs(s, j0, i, i0):
    f, a, h = s.f[j0], s.col(j0, i), s.h(i0)
    return (_dot(h, _had(a, f)) - _dot(f, a) * _dot(h, f)) * s.c(j0, i0)


def _eq2():
    def pair(s, j0, i0):
        return sympy.Rational(1, 2) * s.c_mat[j0, i0] ** 2, s.L(j0, i0)
    return pair


def _part8_chain(printed):
    if printed:
        name, text = ("proof step 2 as printed",
                      "d(0.5 c_{j0,i0}^2)/dx_i = c(.)_{j0,i0} dc(.)/dx_i, with dc(.)/dx_i the "
                      "n x d matrix as printed (no subscript)")

        def step2(s, j0, i, i0):
            lhs = sympy.Matrix([[s.dx(s.L(j0, i0), i)]])
            return lhs, s.c(j0, i0) * s.dx(s.c_mat, i)
        cite = "the paper cites Part 5; the step is Part 7"
    else:
        name, text = ("proof step 2, dc(x)_{j0,i0}/dx_i",
                      "d(0.5 c_{j0,i0}^2)/dx_i = c_{j0,i0} dc(x)_{j0,i0}/dx_i (chain rule)")

        def step2(s, j0, i, i0):
            return s.dx(s.L(j0, i0), i), s.c(j0, i0) * s.dx(s.c(j0, i0), i)
        cite = "Part 7"
    return [
        Step("Eq. (2)", "L(x)_{j0,i0} = 0.5 c(x)_{j0,i0}^2 (Definition 3.7), with c(x) = "
             "f(x) h(y) - E in matrix form",
             "symbolic", _symbolic(_eq2(), over=("j0", "i0"))),
        Step("proof step 1", "dL(x)_{j0,i0}/dx_i = d(0.5 c(x)_{j0,i0}^2)/dx_i (Eq. (2))",
             "symbolic", _symbolic(lambda s, j0, i, i0: (
                 s.dx(sympy.Rational(1, 2) * s.c_mat[j0, i0] ** 2, i), s.dx(s.L(j0, i0), i)),
                 over=_OVER3)),
        Step(name, text, "symbolic", _symbolic(step2, over=_OVER3)),
        Step("proof step 3", "c_{j0,i0} dc_{j0,i0}/dx_i = c_{j0,i0} (<f o A_{j0,i}, h(y)_{i0}> "
             f"- <f, h(y)_{{i0}}> <f, A_{{j0,i}}>) ({cite})",
             "symbolic", _symbolic(lambda s, j0, i, i0: (
                 s.c(j0, i0) * s.dx(s.c(j0, i0), i),
                 s.c(j0, i0) * _part7_proof_rhs(s, j0, i, i0)), over=_OVER3)),
    ]


def _sum_part8():
    """Sum over j0 in [n], i0 in [d] of the printed Part 8, as a d^2 vector, per instance."""
    out = []
    for key in INSTANCES:
        P = _printed(key)
        out.append((key, P, P.part8().sum(axis=(1, 2))))
    return out


def _sum_vs_gradient(method):
    def compute():
        return [(label(*key), total,
                 attngrad.gradient(*P.args, method=method, scale=1).reshape(-1))
                for key, P, total in _sum_part8()]
    return compute


def _sum_vs_loss_fd():
    return [(label(*key), total, _finite_differences(key)["loss"])
            for key, P, total in _sum_part8()]


def _sym_sum_vs_loss():
    """Symbolic: sum_{j0,i0} printed Part 8 = dL(X)/dx_i, L(X) of Definition 1.2 (scale 1)."""
    cases = []
    for n, d in ((2, 1), (2, 2), (3, 1)):
        s = _sym(n, d)
        LX = sympy.Rational(1, 2) * sum(e ** 2 for e in s.c_mat)
        for i in range(d * d):
            total = sum(_part8_rhs(s, j0, i, i0) for j0 in range(n) for i0 in range(d))
            cases.append((_label(n, d, i=i), s.canon(s.dx(LX, i)), s.canon(total)))
    return cases


_PART_8_TAIL = [
    _mp_step(8, "L", "attngrad.f, attngrad.h, attngrad.c and attngrad.kron"),
    Step("sum = dL(X)/dx_i (symbolic)", "SymPy: sum over j0, i0 of the printed Part 8 is "
         "dL(X)/dx_i for L(X) = 0.5 ||D(X)^{-1} exp(A1 X A2^T) A3 Y - E||_F^2 (Lemma 3.10 and "
         "linearity), n in {2, 3}, d in {1, 2} but not (3, 2)",
         "symbolic", _sym_sum_vs_loss),
    Step("sum = gradient naive", "sum over j0, i0 of the printed Part 8 (mpmath) = "
         "attngrad.gradient(method='naive', scale=1), row-major vec",
         "mpmath", _sum_vs_gradient("naive")),
    Step("sum = gradient exact", "sum over j0, i0 of the printed Part 8 (mpmath) = "
         "attngrad.gradient(method='exact', scale=1) (Lemma C.8), row-major vec",
         "mpmath", _sum_vs_gradient("exact")),
    Step("sum = dL/dx by finite differences", "sum over j0, i0 of the printed Part 8 = "
         "central finite difference (90 digits, step 2^-100) of attngrad.loss(scale=1)",
         "mpmath", _sum_vs_loss_fd),
]

PART_8 = Statement(
    id="Lemma B.1 Part 8",
    summary="dL(x)_{j0,i0}/dx_i = (<h, A_{j0,i} o f> - <f, A_{j0,i}> <h, f>) c(x)_{j0,i0}",
    printed=("Lemma B.1 Part 8: for each j0 in [n], i0 in [d], dL(x)_{j0,i0}/dx_i = "
             "(<h(y)_{i0}, A_{j0,i} o f(x)_{j0}> - <f(x)_{j0}, A_{j0,i}> <h(y)_{i0}, f(x)_{j0}>) "
             "c(x)_{j0,i0}. Proof: dL/dx_i = d(0.5 c(.)^2_{j0,i0})/dx_i = c(.)_{j0,i0} "
             "dc(.)/dx_i = ..., 'the last step followed by Part 5'."),
    steps=[
        Step("Part 8 as printed", "SymPy: d(0.5 c(x)_{j0,i0}^2)/dx_i = printed right-hand side",
             "symbolic", _symbolic(lambda s, j0, i, i0: (s.dx(s.L(j0, i0), i),
                                                         _part8_rhs(s, j0, i, i0)), over=_OVER3)),
    ] + _part8_chain(True) + _PART_8_TAIL,
    corrected=_part8_chain(False),
    errata=[Erratum(
        location="Appendix B, proof of Lemma B.1 Part 8, second step",
        printed="d(0.5 c(.)^2_{j0,i0})/dx_i = c(.)_{j0,i0} dc(.)/dx_i",
        corrected="= c(.)_{j0,i0} dc(.)_{j0,i0}/dx_i (chain rule). Also, the last step "
                  "follows from Part 7, not from Part 5 as printed.",
        evidence="c(.) = c(x) is the n x d matrix of Definition 3.6, so c(.)_{j0,i0} dc(.)/dx_i "
                 "is an n x d matrix while dL(x)_{j0,i0}/dx_i is a scalar: shapes 1 x 1 vs "
                 "n x d at every symbolic size (n = 2, d = 1 included). A typo (missing "
                 "subscript). Rerun: attngrad check --only \"Lemma B.1 Part 8\".",
        step="proof step 2 as printed")],
)

STATEMENTS = [PART_1, PART_2, PART_3, PART_4, PART_5, PART_6, PART_7, PART_8]
