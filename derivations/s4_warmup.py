"""Section 4: Lemma 4.1 (the warm-up, informal version of Lemma C.8) and its sketch.

Checked as Appendix C's running-time lemmas are (derivations/sC_quadratic.py): by counting
the scalar operations of attngrad.formulas' own code, exactly on a grid and as polynomials in
n, d with coefficient certificates for all n, d >= 1.
"""
from __future__ import annotations

import sympy

import attngrad

from .core import Erratum, Statement, Step
from .instances import as_float64, dyadic_instance
from .sC_quadratic import GRID_TEXT, T, _cubic_part, _grid_bound, _poly, _sym_bound, d_, n_

C_F = 7  # Lemma C.1's constant for f


def _c_and_q():
    return (_sym_bound("c", lambda n, d: 2 * T(n, n, d))()
            + _sym_bound("q", lambda n, d: T(n, n, d))())


def _writing_a():
    """A = A1 (x) A2 has n^2 d^2 entries (attngrad.kron on dyadic A1, A2)."""
    out = []
    for n, d in ((4, 2), (8, 3)):
        inst = as_float64(dyadic_instance(n, d, seed=n + d))
        out.append((f"n={n} d={d}", attngrad.kron(inst["A1"], inst["A2"]).size, n * n * d * d))
    return out


def _f_needs_n2d():
    """The count of f has the monomial n^2 d (T_mat(n, d, n), the scores), so it is not
    O(n d^2) (coefficient >= 1)."""
    P = sympy.Poly(_cubic_part(_poly("f")), n_, d_)
    return 1, P.coeff_monomial(n_ ** 2 * d_)


LEMMA_4_1 = Statement(
    id="Lemma 4.1",
    summary="warm-up (informal C.8): the gradient in O(n^2 d + n d^2) time; the sketch's "
            "'f(x) in O(n d^2)' is O(n^2 d + n d^2)",
    printed=("Lemma 4.1 (Warmup, informal version of Lemma C.8): given n x d matrices E, A1, A2, "
             "A3 and d x d matrices X, Y, let g = dL(X)/dX. Then g can be calculated in "
             "O(n^2 d + n d^2) time. Sketch: the straightforward way takes O(n^2 d^2) time to "
             "write down A; 'We first compute f(x) in O(nd^2) time, then show c(x) and q(x) can "
             "be computed in O(n^2 d) time. Using these, we compute p(x) in (n^2) time, then "
             "putting in all together, we compute g in O(n^2 d + nd^2) time.'"),
    steps=[
        Step("g in O(n^2 d + n d^2)", "count(gradient) <= 15 (n^2 d + n d^2) for all n, d >= 1 "
             "(coefficient certificate on attngrad.formulas' count)", "symbolic",
             _sym_bound("gradient", lambda n, d: 15 * (T(n, d, n) + T(n, d, d))), relation="<="),
        Step("A in O(n^2 d^2)", "writing A = A1 (x) A2 means n^2 d^2 entries", "exact",
             _writing_a, basis="by construction"),
        Step("f(x) in O(n d^2)", f"as printed, with Lemma C.1's constant: count(f) <= {C_F} n d^2 "
             f"at {GRID_TEXT} (exact counts)", "exact",
             _grid_bound("f", lambda n, d: C_F * n * d * d), relation="<="),
        Step("c(x), q(x) in O(n^2 d)", "count(c) + count(q) <= 3 n^2 d (certificates)", "symbolic",
             _c_and_q, relation="<="),
        Step("p(x) in (n^2)", "count(p) <= 5 n^2 (certificate; the printed '(n^2)' means O(n^2))",
             "symbolic", _sym_bound("p", lambda n, d: 5 * n ** 2), relation="<="),
    ],
    corrected=[
        Step("f(x) in O(n^2 d + n d^2)", f"count(f) <= {C_F} (n^2 d + n d^2) for all n, d >= 1 "
             "(certificate; Lemma C.1)", "symbolic",
             _sym_bound("f", lambda n, d: C_F * (T(n, d, n) + T(n, d, d))), relation="<="),
        Step("f needs n^2 d", "the count of f has the monomial n^2 d (the scores, T_mat(n, d, n)): "
             "no constant makes it O(n d^2)", "symbolic", _f_needs_n2d, relation="<="),
        Step("on the grid", f"count(f) <= {C_F} (n^2 d + n d^2) at {GRID_TEXT} (exact counts)",
             "exact", _grid_bound("f", lambda n, d: C_F * (T(n, d, n) + T(n, d, d))),
             relation="<="),
    ],
    errata=[Erratum(
        location="Section 4, proof sketch of Lemma 4.1",
        printed="'We first compute f(x) in O(nd^2) time' (and 'p(x) in (n^2) time')",
        corrected="f(x) in O(n^2 d + n d^2) time, T_mat(n, d, n) + T_mat(n, d, d) as Lemma C.1 "
                  "says (f is n x n); p(x) in O(n^2) time",
        evidence=f"f is n x n: counted on attngrad.formulas, f costs n^2 d + n d^2 + 6 n^2 - 2n "
                 f"scalar operations, which exceeds {C_F} n d^2 already at n = 2, d = 1 (26 > 14) "
                 "and any C n d^2 for large n (the monomial n^2 d). The lemma's statement "
                 "O(n^2 d + n d^2) holds. Rerun: attngrad check --only \"Lemma 4.1\"",
        step="f(x) in O(n d^2)")],
)

STATEMENTS = [LEMMA_4_1]
