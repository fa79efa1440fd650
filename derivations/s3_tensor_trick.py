"""Section 3: the tensor trick (Fact 3.8, Fact 3.9).

Sections 3 to C drop the 1/d inside exp; these checks use scale = 1.
"""
from __future__ import annotations

import numpy as np
import sympy

import attngrad
from attngrad.kron import kron, vec

from .core import Erratum, Statement, Step
from .instances import as_mpmath, dyadic_instance, symbolic_instance


def _sym_vec_rowmajor(M):
    return sympy.Matrix(M.rows * M.cols, 1, list(M))  # sympy's list(M) is row-major


def _sym_vec_colmajor(M):
    return sympy.Matrix(M.rows * M.cols, 1, list(M.T))


def _sym_kron(X, Y):
    return sympy.Matrix(X.rows * Y.rows, X.cols * Y.cols,
                        lambda r, c: X[r // Y.rows, c // Y.cols] * Y[r % Y.rows, c % Y.cols])


def _fact_3_8_symbolic(vecfn):
    def compute():
        cases = []
        for n, d in ((2, 1), (2, 2), (3, 2)):
            s = symbolic_instance(n, d)
            A1, A2, X = s["A1"], s["A2"], s["X"]
            cases.append((f"n={n},d={d}", vecfn(A1 * X * A2.T), _sym_kron(A1, A2) * vecfn(X)))
        return cases
    return compute


def _fact_3_8_mpmath():
    cases = []
    for n, d in ((16, 3), (64, 4)):
        inst = as_mpmath(dyadic_instance(n, d, seed=n + d))
        A1, A2, X = inst["A1"], inst["A2"], inst["X"]
        cases.append((f"n={n},d={d}", vec((A1 @ X) @ A2.T), kron(A1, A2) @ vec(X)))
    return cases


FACT_3_8 = Statement(
    id="Fact 3.8",
    summary="vec(A1 X A2^T) = (A1 (x) A2) x",
    printed="Fact 3.8 (tensor trick): vec(A1 X A2^T) = A x with A = A1 (x) A2 and x = vec(X).",
    steps=[
        Step("row-major vec", "vec stacks rows: both sides at symbolic n in {2,3}, d in {1,2}",
             "symbolic", _fact_3_8_symbolic(_sym_vec_rowmajor)),
        Step("attngrad.kron", "attngrad.kron / attngrad.vec agree at n = 16, 64 (50 digits)",
             "mpmath", _fact_3_8_mpmath),
    ],
)


def _fact_3_9_mpmath():
    cases = []
    for n, d in ((8, 2), (64, 3)):
        inst = as_mpmath(dyadic_instance(n, d, seed=7 * n + d))
        A1, A2, X = inst["A1"], inst["A2"], inst["X"]
        U = attngrad.u(A1, A2, X, scale=1)
        A = kron(A1, A2)
        x = vec(X)
        for j0 in (0, n - 1):
            cases.append((f"n={n},j0={j0}", U[j0, :],
                          attngrad.get_namespace(A=A).exp(A[j0 * n:(j0 + 1) * n, :] @ x)))
    return cases


def _fact_3_9_symbolic():
    s = symbolic_instance(2, 2)
    A1, A2, X = s["A1"], s["A2"], s["X"]
    lhs = (A1 * X * A2.T).applyfunc(sympy.exp)
    A = _sym_kron(A1, A2)
    rhs = (A * _sym_vec_rowmajor(X)).applyfunc(sympy.exp)
    return [("vec", _sym_vec_rowmajor(lhs), rhs),
            ("row j0=1", lhs[0, :].T, (A[0:2, :] * _sym_vec_rowmajor(X)).applyfunc(sympy.exp))]


FACT_3_9 = Statement(
    id="Fact 3.9",
    summary="vec(exp(A1 X A2^T)) = exp(A x); row j0 is exp(A_{j0} x)",
    printed="Fact 3.9: vec(exp(A1 X A2^T)) = exp(A x); (exp(A1 X A2^T)_{j0,*})^T = exp(A_{j0} x).",
    steps=[
        Step("symbolic", "exp is entry-wise, so it commutes with vec and with taking rows",
             "symbolic", _fact_3_9_symbolic),
        Step("attngrad.u", "rows of attngrad.u equal exp(A_{j0} x) at n = 8, 64",
             "mpmath", _fact_3_9_mpmath),
    ],
)

STATEMENTS = [FACT_3_8, FACT_3_9]
