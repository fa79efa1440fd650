"""Appendix A: Facts A.1, A.2 and A.4 and Definition A.3.

Fact A.1 (inner products and Hadamard products) and Fact A.2 (the row-wise
Kronecker product turns a Hadamard product of low-rank matrices into a low-rank
matrix) are identities, checked with fully symbolic entries and, for Fact A.2,
with attngrad.rowwise_kron at 50 digits. The index formula of the row-wise
Kronecker product is evaluated literally as printed.

Definition A.3 and Fact A.4 are about running time T_mat(n1, n2, n3). What is
checked: the schoolbook algorithm (the only one the paper uses) computes the
product with exactly n1 n2 n3 multiplications, a count that is symmetric in
(n1, n2, n3); (AB)^T = B^T A^T turns an (n1 x n2)(n2 x n3) algorithm into an
(n3 x n2)(n2 x n1) one; and the matrix multiplication tensor <n1, n2, n3> is
carried onto <n2, n3, n1> by a cyclic shift of its three factors, which with the
transposition generates all six permutations. That rank (and so the time of
bilinear algorithms, up to constants) is invariant under these symmetries is
the cited result of [BCS97, Blä13] and is not re-proved here.
"""
from __future__ import annotations

import itertools
from fractions import Fraction

import mpmath
import numpy as np
import sympy

from attngrad.kron import rowwise_kron

from .core import Erratum, Statement, Step, undefined
from .s3_notation import sym_matrix


def _vec(name, n):
    return sympy.Matrix(n, 1, lambda i, _: sympy.Symbol(f"{name}_{i + 1}", real=True))


# ---------------------------------------------------------------------------
# Fact A.1

def _a1_first():
    cases = []
    for n in range(1, 6):
        x, y, z = _vec("x", n), _vec("y", n), _vec("z", n)
        cases.append((f"n={n}", x.multiply_elementwise(y).dot(z),
                      (x.T * sympy.diag(*y) * z)[0, 0]))
    return cases


def _a1_second():
    cases = []
    for n in range(1, 6):
        x, y = _vec("x", n), _vec("y", n)
        cases.append((f"n={n}", x.dot(y), x.multiply_elementwise(y).dot(sympy.ones(n, 1))))
    return cases


FACT_A_1 = Statement(
    id="Fact A.1",
    summary="<x o y, z> = x^T diag(y) z and <x, y> = <x o y, 1_n>",
    printed=("Fact A.1: Let x, y, z in R^n. Then <x o y, z> = x^T diag(y) z and "
             "<x, y> = <x o y, 1_n>. (Section 3.1 also states <x o y, 1_n> = <x, y>.)"),
    steps=[
        Step("first bullet", "<x o y, z> = x^T diag(y) z, symbolic x, y, z, n = 1..5",
             "symbolic", _a1_first),
        Step("second bullet", "<x, y> = <x o y, 1_n>, symbolic x, y, n = 1..5",
             "symbolic", _a1_second),
    ],
)


# ---------------------------------------------------------------------------
# Fact A.2

A2_SIZES = ((2, 1, 2), (2, 2, 3), (3, 2, 2))  # (n, k1, k2)


def printed_rowwise_kron(mats, first, second):
    """(first (/) second)_{i, l1 + (l2-1) k1} := (U1)_{i,l1} U_{i,l2}, literally as printed:
    the second factor is looked up under the printed name "U" in ``mats``."""
    P, Q = mats[first], mats[second]
    n, k1, k2 = P.rows, P.cols, Q.cols
    out = sympy.zeros(n, k1 * k2)
    for i in range(n):
        for l1, l2 in itertools.product(range(1, k1 + 1), range(1, k2 + 1)):
            out[i, l1 + (l2 - 1) * k1 - 1] = P[i, l1 - 1] * mats["U"][i, l2 - 1]
    return out


def corrected_rowwise_kron(P, Q):
    """(P (/) Q)_{i, l1 + (l2-1) k1} := P_{i,l1} Q_{i,l2} (1-based)."""
    n, k1, k2 = P.rows, P.cols, Q.cols
    return sympy.Matrix(n, k1 * k2,
                        lambda i, col: P[i, col % k1] * Q[i, col // k1])


def _a2_mats(n, k1, k2):
    return {"U1": sym_matrix("u1", n, k1), "V1": sym_matrix("v1", n, k1),
            "U2": sym_matrix("u2", n, k2), "V2": sym_matrix("v2", n, k2)}


def _hadamard_side(m):
    return (m["U1"] * m["V1"].T).multiply_elementwise(m["U2"] * m["V2"].T)


def _a2_printed():
    cases = []
    for n, k1, k2 in A2_SIZES:
        m = _a2_mats(n, k1, k2)
        rhs = printed_rowwise_kron(m, "U1", "U2") * printed_rowwise_kron(m, "V1", "V2").T
        cases.append((f"n={n},k1={k1},k2={k2}", _hadamard_side(m), rhs))
    return cases


def _a2_corrected():
    cases = []
    for n, k1, k2 in A2_SIZES:
        m = _a2_mats(n, k1, k2)
        rhs = corrected_rowwise_kron(m["U1"], m["U2"]) * corrected_rowwise_kron(m["V1"], m["V2"]).T
        cases.append((f"n={n},k1={k1},k2={k2}", _hadamard_side(m), rhs.expand()))
    return cases


def _a2_which_reading():
    """Read the printed "U" as each of U1, U2, V1, V2 (in the U factor; V factor likewise):
    1 iff the identity then holds at n=2, k1=1, k2=2 with symbolic entries."""
    names = ("U1", "U2", "V1", "V2")
    m = _a2_mats(2, 1, 2)
    lhs = _hadamard_side(m)
    holds = []
    for name in names:
        try:
            U = printed_rowwise_kron(dict(m, U=m[name]), "U1", "U")
            Vname = {"U1": "V1", "U2": "V2", "V1": "U1", "V2": "U2"}[name]
            V = printed_rowwise_kron(dict(m, U=m[Vname]), "V1", "U")
            diff = (lhs - U * V.T).expand()
            holds.append(int(diff == sympy.zeros(*diff.shape)))
        except (ValueError, sympy.ShapeError, IndexError):
            holds.append(0)  # shapes do not fit
    return holds, [int(k == "U2") for k in names]


def _a2_attngrad_symbolic():
    cases = []
    for n, k1, k2 in A2_SIZES:
        m = _a2_mats(n, k1, k2)
        lib = rowwise_kron(np.array(m["U1"].tolist(), dtype=object),
                           np.array(m["U2"].tolist(), dtype=object))
        cases.append((f"n={n},k1={k1},k2={k2}", sympy.Matrix(lib.tolist()),
                      corrected_rowwise_kron(m["U1"], m["U2"])))
    return cases


def _a2_mpmath():
    cases = []
    for n, k1, k2, seed in ((64, 5, 7, 1), (33, 3, 4, 2)):
        rng = np.random.default_rng(seed)

        def mat(k):
            return np.array([[mpmath.ldexp(int(v), -10) for v in row]
                             for row in rng.integers(-1024, 1025, size=(n, k))], dtype=object)
        U1, V1, U2, V2 = mat(k1), mat(k1), mat(k2), mat(k2)
        cases.append((f"n={n},k1={k1},k2={k2}", (U1 @ V1.T) * (U2 @ V2.T),
                      rowwise_kron(U1, U2) @ rowwise_kron(V1, V2).T))
    return cases


FACT_A_2 = Statement(
    id="Fact A.2",
    summary="(U1 V1^T) o (U2 V2^T) = (U1 (/) U2)(V1 (/) V2)^T; printed 'U_{i,l2}' is (U2)_{i,l2}",
    printed=("Fact A.2 (Folklore): Let U1, V1 in R^{n x k1}, U2, V2 in R^{n x k2}. Then "
             "(U1 V1^T) o (U2 V2^T) = (U1 (/) U2)(V1 (/) V2)^T. Here U1 (/) U2 in R^{n x k1 k2} "
             "is the row-wise Kronecker product, (U1 (/) U2)_{i, l1 + (l2-1)k1} := "
             "(U1)_{i,l1} U_{i,l2} for all i in [n], l1 in [k1], l2 in [k2]."),
    steps=[
        Step("printed (/)", "the identity with (/) evaluated literally from the printed index "
             "formula (factor 'U_{i,l2}'), symbolic (n,k1,k2) in {(2,1,2),(2,2,3),(3,2,2)}",
             "symbolic", _a2_printed, ill_formed=undefined("U")),
    ],
    corrected=[
        Step("(/) with (U2)_{i,l2}", "with (U1 (/) U2)_{i,l1+(l2-1)k1} = (U1)_{i,l1} (U2)_{i,l2} "
             "the identity holds: both sides have entry (i, j) = sum_{l1,l2} (U1)_{i,l1} "
             "(V1)_{j,l1} (U2)_{i,l2} (V2)_{j,l2}; symbolic, same sizes", "symbolic",
             _a2_corrected),
        Step("only U2 fits", "reading 'U' as U1, U2, V1 or V2 (and V's factor alike): the "
             "identity holds only for U2 (1 = holds; n=2, k1=1, k2=2, symbolic)", "exact",
             _a2_which_reading),
        Step("attngrad.rowwise_kron", "attngrad.rowwise_kron follows the corrected index "
             "formula, l1 fastest (symbolic entries)", "symbolic", _a2_attngrad_symbolic),
        Step("mpmath", "the identity with attngrad.rowwise_kron on random dyadic U1, V1, U2, V2 "
             "at n = 64, k1 = 5, k2 = 7 and n = 33, k1 = 3, k2 = 4 (50 digits)", "mpmath",
             _a2_mpmath),
    ],
    errata=[Erratum(
        location="Fact A.2 (Appendix A.2), definition of the row-wise Kronecker product",
        printed="(U1 (/) U2)_{i, l1 + (l2-1)k1} := (U1)_{i,l1} U_{i,l2}",
        corrected="(U1 (/) U2)_{i, l1 + (l2-1)k1} := (U1)_{i,l1} (U2)_{i,l2}",
        evidence=("U is not defined in Fact A.2 (only U1, V1, U2, V2), so the printed index "
                  "formula cannot be evaluated (KeyError 'U'). Reading U as U1, V1 or V2 (and the "
                  "V factor alike) makes the identity false at n = 2, k1 = 1, k2 = 2 "
                  "(symbolic entries); only U2 makes it hold, "
                  "symbolically at (n, k1, k2) in {(2,1,2), (2,2,3), (3,2,2)} and with "
                  "attngrad.rowwise_kron at n = 64 (50 digits). "
                  "Rerun: attngrad check --only \"Fact A.2\""),
        step="printed (/)",
    )],
)


# ---------------------------------------------------------------------------
# Definition A.3 and Fact A.4

class _Counter:
    mul = 0
    add = 0


def schoolbook(P, Q, counter):
    """The straightforward algorithm, counting scalar multiplications and additions."""
    n1, n2 = len(P), len(P[0])
    n3 = len(Q[0])
    out = [[None] * n3 for _ in range(n1)]
    for i in range(n1):
        for k in range(n3):
            acc = None
            for j in range(n2):
                term = P[i][j] * Q[j][k]
                counter.mul += 1
                if acc is None:
                    acc = term
                else:
                    acc = acc + term
                    counter.add += 1
            out[i][k] = acc
    return out


SIZES = list(itertools.product((1, 2, 3, 4), repeat=3))


def _rational_matrix(rows, cols, seed):
    rng = np.random.default_rng(seed)
    return [[Fraction(int(v), 7) for v in row] for row in rng.integers(-20, 21, size=(rows, cols))]


def _a3_product():
    cases = []
    for n1, n2, n3 in SIZES:
        P = _rational_matrix(n1, n2, n1 * 100 + n2 * 10 + n3)
        Q = _rational_matrix(n2, n3, n1 + n2 * 10 + n3 * 100)
        out = schoolbook(P, Q, _Counter())
        ref = sympy.Matrix(P) * sympy.Matrix(Q)
        cases.append((f"{n1}x{n2}x{n3}", [sympy.Rational(v.numerator, v.denominator)
                                           for row in out for v in row], list(ref)))
    return cases


def _a3_count():
    cases = []
    for n1, n2, n3 in SIZES:
        cnt = _Counter()
        schoolbook(_rational_matrix(n1, n2, 1), _rational_matrix(n2, n3, 2), cnt)
        cases.append((f"{n1}x{n2}x{n3}", [cnt.mul, cnt.add], [n1 * n2 * n3, n1 * (n2 - 1) * n3]))
    return cases


DEF_A_3 = Statement(
    id="Definition A.3",
    summary="T_mat(n1,n2,n3): the straightforward algorithm uses n1 n2 n3 multiplications",
    printed=("Definition A.3: T_mat(n1, n2, n3) denotes the time of multiplying an n1 x n2 "
             "matrix with an n2 x n3 matrix. The straightforward algorithm following the "
             "definition of matrix multiplication gives T_mat(n1, n2, n3) <= O(n1 n2 n3)."),
    steps=[
        Step("straightforward algorithm", "the schoolbook triple loop returns the matrix "
             "product (exact rationals, all sizes in [1,4]^3)", "exact", _a3_product),
        Step("operation count", "it performs exactly n1 n2 n3 multiplications and "
             "n1 (n2-1) n3 additions, so T_mat(n1,n2,n3) <= O(n1 n2 n3) (counted, [1,4]^3)",
             "exact", _a3_count),
    ],
)


def _a4_symmetric_count():
    """Multiplications the schoolbook algorithm actually performs on an (n1 x n2)(n2 x n3)
    product, against those it performs on each permuted problem (counted, [1,4]^3)."""
    def count(a, b, c):
        cnt = _Counter()
        schoolbook(_rational_matrix(a, b, 5), _rational_matrix(b, c, 6), cnt)
        return cnt.mul

    cases = []
    for sizes in SIZES:
        base = count(*sizes)
        for perm in itertools.permutations(sizes):
            cases.append((f"{sizes} vs {perm}", base, count(*perm)))
    return cases


def _a4_transpose_identity():
    cases = []
    for n1, n2, n3 in ((1, 2, 3), (2, 3, 1), (3, 1, 2), (2, 2, 3)):
        P = sym_matrix("p", n3, n2)   # the (n3 x n2)(n2 x n1) problem
        Q = sym_matrix("q", n2, n1)
        cases.append((f"({n3}x{n2})({n2}x{n1}) via ({n1}x{n2})({n2}x{n3})",
                      P * Q, (Q.T * P.T).T))
    return cases


def _a4_transpose_count():
    """Computing the (n3 x n2)(n2 x n1) product as (Q^T P^T)^T costs the schoolbook count of
    the (n1 x n2)(n2 x n3) product: n1 n2 n3 multiplications."""
    cases = []
    for n1, n2, n3 in SIZES:
        P = _rational_matrix(n3, n2, 3)
        Q = _rational_matrix(n2, n1, 4)
        cnt = _Counter()
        QT = [list(r) for r in zip(*Q)]   # n1 x n2
        PT = [list(r) for r in zip(*P)]   # n2 x n3
        out = schoolbook(QT, PT, cnt)     # n1 x n3
        direct = sympy.Matrix(P) * sympy.Matrix(Q)
        cases.append((f"{n1},{n2},{n3} count", cnt.mul, n1 * n2 * n3))
        cases.append((f"{n1},{n2},{n3} value",
                      [sympy.Rational(v.numerator, v.denominator) for row in zip(*out) for v in row],
                      list(direct)))
    return cases


def _mm_tensor_support(n1, n2, n3):
    """Support of <n1,n2,n3> = sum_{i,j,k} e_{ij} (x) e_{jk} (x) e_{ki} as index triples."""
    return {((i, j), (j, k), (k, i))
            for i in range(n1) for j in range(n2) for k in range(n3)}


def _a4_cyclic():
    """Cyclically shifting the three factors of <n1,n2,n3> gives <n2,n3,n1> exactly."""
    cases = []
    for n1, n2, n3 in SIZES:
        shifted = sorted((b, c, a) for a, b, c in _mm_tensor_support(n1, n2, n3))
        cases.append((f"<{n1},{n2},{n3}>", shifted, sorted(_mm_tensor_support(n2, n3, n1))))
    return cases


def _a4_generates_s3():
    """The cyclic shift and the reversal (n1,n2,n3) -> (n3,n2,n1) generate all 6 permutations."""
    cyc = (1, 2, 0)
    rev = (2, 1, 0)
    group = {(0, 1, 2)}
    while True:
        new = {tuple(g[s[i]] for i in range(3)) for g in group for s in (cyc, rev)} | group
        if new == group:
            break
        group = new
    return [("closure", sorted(group), sorted(itertools.permutations(range(3))))]


FACT_A_4 = Statement(
    id="Fact A.4",
    summary="T_mat is symmetric under permuting (n1, n2, n3) up to constants: cited from "
            "[BCS97]; count, transposition and tensor symmetry checked",
    printed=("Fact A.4 ([BCS97, Blä13]): for positive integers n1, n2, n3, T_mat(n1,n2,n3) = "
             "O(T_mat(n1,n3,n2)) = O(T_mat(n2,n1,n3)) = O(T_mat(n2,n3,n1)) = "
             "O(T_mat(n3,n1,n2)) = O(T_mat(n3,n2,n1))."),
    steps=[
        Step("every algorithm", "[BCS97, Blä13]: the tensor rank of <n1,n2,n3>, and so the time "
             "of bilinear matrix multiplication up to constants, is invariant under the six "
             "permutations (the Fact as stated, for every algorithm)", "exact", None,
             basis="cited"),
        Step("schoolbook count symmetric", "the multiplications the straightforward algorithm "
             "(Definition A.3) performs are the same for all six permutations of (n1, n2, n3) "
             "(counted, [1,4]^3)", "exact", _a4_symmetric_count),
        Step("transposition", "(AB)^T = B^T A^T: an (n3 x n2)(n2 x n1) product is the "
             "transpose of an (n1 x n2)(n2 x n3) one, so T_mat(n3,n2,n1) <= T_mat(n1,n2,n3) + "
             "O(transposes) (symbolic)", "symbolic", _a4_transpose_identity),
        Step("transposition count", "computed that way the schoolbook algorithm uses "
             "n1 n2 n3 multiplications and returns P Q (exact, [1,4]^3)", "exact",
             _a4_transpose_count),
        Step("tensor cyclic symmetry", "the matrix multiplication tensor <n1,n2,n3> with its "
             "factors shifted cyclically is <n2,n3,n1> (exact index sets, [1,4]^3); tensor "
             "rank is invariant under this, the basis of [BCS97]'s argument", "exact",
             _a4_cyclic),
        Step("generates all permutations", "the cyclic shift and the transposition generate "
             "all six permutations of (n1, n2, n3)", "exact", _a4_generates_s3),
    ],
)

STATEMENTS = [FACT_A_1, FACT_A_2, DEF_A_3, FACT_A_4]
