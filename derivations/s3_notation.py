"""Section 3.1 (repeated verbatim in Section A.1): the Kronecker product as printed.

The paper defines, for X in R^{n0 x m0} and Y in R^{n1 x m1},

    (X (x) Y)_{(j0-1)n1 + j1, (i0-1)m2 + i1} = X_{j0,i0} Y_{j1,i1},

with j0 in [n0], i0 in [m0], j1 in [n1], i1 in [m1]. The definition carries no
label in the paper; its id here is "Section 3.1 (Kronecker product)".

The printed index map is evaluated literally: its sizes are looked up by name
among those the definition introduces (n0, m0, n1, m1), so a size that is never
defined cannot be evaluated and the step fails.

This module also holds the SymPy functions (Kronecker product, row-major vec)
shared by the Section 3 statements.
"""
from __future__ import annotations

import itertools

import numpy as np
import sympy

from attngrad.kron import kron

from .core import Erratum, Statement, Step, undefined
from .instances import sym_kron

# ---------------------------------------------------------------------------
# shared SymPy functions (0-based Python indices; the paper's are 1-based)


def sym_canonical(M):
    """Canonical form of each entry: exp arguments expanded, then sympy.cancel (one fraction
    p/q of expanded polynomials in the symbols and the exp(...) terms, common factors
    removed). Two rational expressions in the same exp terms are equal iff their canonical
    forms coincide, so a symbolic step whose sides are both put in this form (each side
    independently) is decided at once, and cheaply re-judged by the mutation tests."""
    def one(e):
        e = sympy.sympify(e).replace(sympy.exp, lambda a: sympy.exp(sympy.expand(a)))
        return sympy.cancel(e)
    if isinstance(M, sympy.MatrixBase):
        return M.applyfunc(one)
    return one(M)


def sym_matrix(name, rows, cols):
    return sympy.Matrix(rows, cols,
                        lambda i, j: sympy.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


# ---------------------------------------------------------------------------
# the index map, as printed and corrected (1-based, as in the paper)

def printed_kron_index(sizes, j0, j1, i0, i1):
    """The printed map: ((j0-1) n1 + j1, (i0-1) m2 + i1); sizes holds n0, m0, n1, m1."""
    return ((j0 - 1) * sizes["n1"] + j1, (i0 - 1) * sizes["m2"] + i1)


def corrected_kron_index(sizes, j0, j1, i0, i1, col_size="m1"):
    """The map with m1 (or, to test other readings, the size named ``col_size``) for m2."""
    return ((j0 - 1) * sizes["n1"] + j1, (i0 - 1) * sizes[col_size] + i1)


SIZE_GRID = [dict(zip(("n0", "m0", "n1", "m1"), s))
             for s in itertools.product((1, 2, 3), repeat=4)]


def _images(index, sizes):
    n0, m0, n1, m1 = (sizes[k] for k in ("n0", "m0", "n1", "m1"))
    return sorted(index(sizes, j0, j1, i0, i1)
                  for j0 in range(1, n0 + 1) for j1 in range(1, n1 + 1)
                  for i0 in range(1, m0 + 1) for i1 in range(1, m1 + 1))


def _full_grid(sizes):
    rows = sizes["n0"] * sizes["n1"]
    cols = sizes["m0"] * sizes["m1"]
    return sorted((r, c) for r in range(1, rows + 1) for c in range(1, cols + 1))


def _bijection_cases(index):
    def compute():
        return [(str(s), _images(index, s), _full_grid(s)) for s in SIZE_GRID]
    return compute


def _is_bijection(index, sizes):
    try:
        return _images(index, sizes) == _full_grid(sizes)
    except (KeyError, IndexError):
        return False


def _which_reading():
    """For each defined size name read in place of m2: 1 iff the map is a bijection on the grid."""
    names = ("n0", "m0", "n1", "m1")
    lhs = [int(all(_is_bijection(lambda s, *a, _k=k: corrected_kron_index(s, *a, col_size=_k), s)
                   for s in SIZE_GRID)) for k in names]
    return lhs, [int(k == "m1") for k in names]


def _from_index_map(index, X, Y):
    """The matrix whose entry at index(j0, j1, i0, i1) is X_{j0,i0} Y_{j1,i1}."""
    sizes = {"n0": X.rows, "m0": X.cols, "n1": Y.rows, "m1": Y.cols}
    M = sympy.zeros(X.rows * Y.rows, X.cols * Y.cols)
    for j0, j1, i0, i1 in itertools.product(range(1, X.rows + 1), range(1, Y.rows + 1),
                                            range(1, X.cols + 1), range(1, Y.cols + 1)):
        r, c = index(sizes, j0, j1, i0, i1)
        M[r - 1, c - 1] = X[j0 - 1, i0 - 1] * Y[j1 - 1, i1 - 1]
    return M


KRON_SHAPES = ((2, 3, 3, 2), (3, 2, 2, 3), (2, 2, 1, 3))


def _agrees_with_attngrad():
    cases = []
    for n0, m0, n1, m1 in KRON_SHAPES:
        X, Y = sym_matrix("x", n0, m0), sym_matrix("y", n1, m1)
        mine = _from_index_map(corrected_kron_index, X, Y)
        lib = kron(np.array(X.tolist(), dtype=object), np.array(Y.tolist(), dtype=object))
        cases.append((f"{n0}x{m0} (x) {n1}x{m1}", mine, sympy.Matrix(lib.tolist())))
        cases.append((f"sym_kron {n0}x{m0} (x) {n1}x{m1}", mine, sym_kron(X, Y)))
    return cases


def _mixed_product():
    """(X (x) Y)(Z (x) W) = (XZ) (x) (YW): the defining property the tensor trick relies on."""
    X, Y = sym_matrix("x", 2, 3), sym_matrix("y", 2, 2)
    Z, W = sym_matrix("z", 3, 2), sym_matrix("w", 2, 1)
    return (sym_kron(X, Y) * sym_kron(Z, W)).expand(), sym_kron(X * Z, Y * W).expand()


def _collision_example():
    """A concrete collision when m2 is read as n1 (sizes n0=1, m0=2, n1=2, m1=3)."""
    s = {"n0": 1, "m0": 2, "n1": 2, "m1": 3}
    a = corrected_kron_index(s, 1, 1, 1, 3, col_size="n1")
    b = corrected_kron_index(s, 1, 1, 2, 1, col_size="n1")
    return [("(i0,i1)=(1,3) and (2,1) with m2 := n1", a[1], b[1])]


KRONECKER = Statement(
    id="Section 3.1 (Kronecker product)",
    summary="(X (x) Y)_{(j0-1)n1+j1, (i0-1)m1+i1} = X_{j0,i0} Y_{j1,i1}; printed m2 is m1",
    printed=("Section 3.1 and Section A.1 (unlabelled definition): for X in R^{n0 x m0} and "
             "Y in R^{n1 x m1}, X (x) Y in R^{n0 n1 x m0 m1} is defined by "
             "(X (x) Y)_{(j0-1)n1 + j1, (i0-1)m2 + i1} = X_{j0,i0} Y_{j1,i1}, "
             "j0 in [n0], i0 in [m0], j1 in [n1], i1 in [m1]."),
    steps=[
        Step("printed index map", "the printed map, evaluated literally with the sizes the "
             "definition names (n0, m0, n1, m1), is a bijection onto [n0 n1] x [m0 m1] for all "
             "sizes in {1,2,3}^4", "exact", _bijection_cases(printed_kron_index),
             ill_formed=undefined("m2")),
    ],
    corrected=[
        Step("index map with m1", "with m1 in place of m2 the map is a bijection onto "
             "[n0 n1] x [m0 m1] for all sizes in {1,2,3}^4, so every entry is defined once",
             "exact", _bijection_cases(corrected_kron_index)),
        Step("only m1 fits", "reading m2 as n0, m0, n1 or m1: only m1 gives a bijection on "
             "the whole size grid (1 = bijection)", "exact", _which_reading),
        Step("m2 := n1 collides", "e.g. reading m2 as n1 (n1=2, m1=3) sends two different "
             "(i0, i1) to the same column", "exact", _collision_example),
        Step("attngrad.kron", "the corrected map builds the same matrix as attngrad.kron and "
             "the SymPy function used by Facts 3.8 and 3.9 (symbolic entries)",
             "symbolic", _agrees_with_attngrad),
        Step("mixed product", "with the corrected map, (X (x) Y)(Z (x) W) = (XZ) (x) (YW) "
             "(symbolic 2x3, 2x2, 3x2, 2x1)", "symbolic", _mixed_product),
    ],
    errata=[Erratum(
        location="Section 3.1 and Section A.1, definition of the Kronecker product",
        printed="(X (x) Y)_{(j0-1)n1 + j1, (i0-1)m2 + i1} = X_{j0,i0} Y_{j1,i1}",
        corrected="(X (x) Y)_{(j0-1)n1 + j1, (i0-1)m1 + i1} = X_{j0,i0} Y_{j1,i1}",
        evidence=("m2 is not defined: the definition introduces only n0, m0, n1, m1, so the "
                  "printed index map cannot be evaluated (KeyError 'm2'). Of the four defined "
                  "sizes only m1 makes the map a bijection onto [n0 n1] x [m0 m1] for all sizes "
                  "in {1,2,3}^4; e.g. reading m2 as n1 with n0=1, m0=2, n1=2, m1=3 sends "
                  "(i0, i1) = (1, 3) and (2, 1) both to column 3. With m1 the map builds "
                  "attngrad.kron. Rerun: attngrad check --only \"Section 3.1 (Kronecker product)\""),
        step="printed index map",
    )],
)

STATEMENTS = [KRONECKER]
