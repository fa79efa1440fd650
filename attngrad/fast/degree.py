"""Degree selection: the lowest degree whose certified bound meets eps, or a refusal at once.

The search starts at a low degree g0 (the first whose estimated polynomial error is below
5 %), runs the query pass there (its cost is that of a rank binom(g0 + d, d) product, small) and
evaluates the certificate. If the bound misses eps, the same per-row data predict the bound of
every higher degree (only eta changes with the polynomial; the rows move by O(eta)), and the
search jumps to the first degree predicted to meet eps with a margin; the key sums of the lower
degrees are kept (attngrad/fast/contractions.py, KeySums). It refuses, with the reason, as soon
as no degree can help: the bound with an exact polynomial (eta's polynomial part 0) is above
eps (rounding), the rank cap is reached, or the scores' range is beyond float64 (e^hi).
"""
from __future__ import annotations

import math

from ..errors import ApproximationError
from ..poly import exp_poly, grid_interval, rel_error_estimate
from .features import rank_for

MAX_DEGREE = 200
_MARGIN = 0.7    # jump to a degree predicted to meet 0.7 eps: the rows move by O(eta)


def interval_of(scores, what="gradient_fixed_degree"):
    """The grid interval the polynomial is certified on: it holds [lo, hi]."""
    if not (math.isfinite(scores.lo) and math.isfinite(scores.hi)):
        raise ApproximationError(f"{what}: the scores' bounds pass float64's range (entries too "
                                 f"large for the polynomial method); needed: smaller entries")
    return grid_interval(scores.lo, scores.hi)


def _why(scores):
    return (f"the scores lie in [{scores.lo:.3g}, {scores.hi:.3g}] (bounds from the rows of "
            f"A1 X and A2)")


def start_degree(basis, scores, eps, max_rank, d, what):
    """g0: the first degree whose estimated relative error is below 5 % (or eps, if larger)."""
    if not scores.hi + scores.sigma < 700:    # e^S itself would overflow float64
        raise ApproximationError(
            f"{what}: eps={eps:g} cannot be certified: {_why(scores)}, and e^{scores.hi:.3g} "
            f"overflows float64; needed: smaller entries (B = o(sqrt(log n)) in Theorem D.6)")
    rho = (scores.hi - scores.lo) / 2
    for g in range(MAX_DEGREE + 1):
        if rank_for(d, g) > max_rank:
            break
        if rel_error_estimate(basis, g, rho) <= max(0.05, min(eps, 0.5)):
            return g
    raise ApproximationError(
        f"{what}: eps={eps:g} cannot be certified within max_rank={max_rank}: {_why(scores)}, "
        f"a width {2 * rho:.3g} that no polynomial of rank <= {max_rank} approximates; needed: "
        f"a larger max_rank, smaller entries (B = o(sqrt(log n)) in Theorem D.6), or a larger eps")


def select(problem, basis, eps, max_rank, prec, what):
    """(degree, poly, pt, rows): the first degree whose a-posteriori bound is <= eps, found as the
    module docstring says. ``problem`` (attngrad/fast/api.py) supplies terms(poly) -> PolyTerms,
    rows(poly, pt) -> (rows, bound) and bound(rows, pt) -> float."""
    sc, d = problem.scores, problem.d
    g = start_degree(basis, sc, eps, max_rank, d, what)
    lo, hi = interval_of(sc, what)
    best = None
    while True:
        if rank_for(d, g) > max_rank:
            return _refuse(what, eps, sc, max_rank, best, "a larger max_rank")
        poly = exp_poly(basis, g, lo, hi, prec)
        pt = problem.terms(poly)
        if not math.isfinite(pt.eta):
            if not math.isfinite(problem.terms(poly, exact_poly=True).eta):
                return _refuse_rounding(what, eps, sc, problem.u, math.inf)
            g += 1           # the polynomial's error is still above 1/2: go on
            if g > MAX_DEGREE:
                return _refuse(what, eps, sc, max_rank, best, "smaller entries")
            continue
        rows, bound = problem.rows(poly, pt)
        if bound <= eps:
            return g, poly, pt, rows
        best = (g, bound) if best is None or bound < best[1] else best
        floor = problem.bound(rows, problem.terms(poly, exact_poly=True))
        if not floor <= eps:
            return _refuse_rounding(what, eps, sc, problem.u, floor)
        g = _predict(problem, rows, basis, g, lo, hi, prec, eps, max_rank, d)
        if g is None:
            return _refuse(what, eps, sc, max_rank, best, "a larger max_rank")


def _predict(problem, rows, basis, g, lo, hi, prec, eps, max_rank, d):
    """The first degree above g whose bound, evaluated on these rows, is <= _MARGIN eps (or
    stops improving below eps); None if the rank cap comes first."""
    prev = math.inf
    for g2 in range(g + 1, MAX_DEGREE + 1):
        if rank_for(d, g2) > max_rank:
            return None
        b2 = problem.bound(rows, problem.terms(exp_poly(basis, g2, lo, hi, prec)))
        if b2 <= _MARGIN * eps or (b2 <= eps and b2 > 0.9 * prev):
            return g2
        prev = min(prev, b2)
    return None


def _refuse(what, eps, sc, max_rank, best, need):
    said = (f"; the best certified bound is {best[1]:.3g} at degree {best[0]}" if best else "")
    raise ApproximationError(
        f"{what}: eps={eps:g} cannot be certified within max_rank={max_rank}: {_why(sc)}{said}; "
        f"needed: {need}, smaller entries (B = o(sqrt(log n)) in Theorem D.6), or a larger eps")


def _refuse_rounding(what, eps, sc, u, floor):
    raise ApproximationError(
        f"{what}: eps={eps:g} cannot be certified: {_why(sc)}, and with unit roundoff {u:.3g} "
        f"the rounding alone (amplified by e^(hi - lo) = {math.exp(min(sc.hi - sc.lo, 700)):.3g}) "
        f"bounds the error by {floor:.3g} on this instance, whatever the degree; needed: "
        f"smaller entries (B = o(sqrt(log n)) in Theorem D.6), a higher precision (float64 or "
        f"mpmath), or a larger eps")
