"""Degree selection: the lowest degree whose certified bound meets eps, or a refusal at once.

The search starts at a low degree g0 (the first whose sampled polynomial error on the scores'
interval is below 5 %), runs the query pass there (a product of rank binom(g0 + d, d), small)
and evaluates the certificate. If the bound misses eps, the same per-row data predict the bound
of every higher degree: the bound is about floor + A eta, with floor the bound of an exact
polynomial (rounding only) and eta about twice the polynomial's error, so the search jumps (by
bisection on the sampled errors, then a full prediction) to the first degree predicted to meet
0.8 eps. The key sums of the lower degrees are kept (attngrad/fast/contractions.py, KeySums);
only the degree finally chosen is certified again by interval arithmetic. It refuses, with the
reason, as soon as no degree can help: the floor is above eps, the rank cap comes first, or the
scores' range is beyond float64 (e^hi).
"""
from __future__ import annotations

import math

from ..errors import ApproximationError
from ..poly import exp_poly, grid_interval, rel_error_estimate, sampled_rel_error
from .features import rank_for

MAX_DEGREE = 200
_MARGIN = 0.8    # jump to a degree predicted to meet 0.8 eps: the rows move by O(eta)


def interval_of(scores, what="gradient_fixed_degree"):
    """The grid interval the polynomial is certified on: it holds [lo, hi]."""
    if not (math.isfinite(scores.lo) and math.isfinite(scores.hi)):
        raise ApproximationError(f"{what}: the scores' bounds pass float64's range (entries too "
                                 f"large for the polynomial method); needed: smaller entries")
    return grid_interval(scores.lo, scores.hi)


def _why(scores):
    return (f"the scores lie in [{scores.lo:.3g}, {scores.hi:.3g}] (bounds from the rows of "
            f"A1 X and the centred A2)")


def max_degree(d, max_rank):
    """The largest degree whose rank binom(g + d, d) is <= max_rank (at most MAX_DEGREE)."""
    g = 0
    while g < MAX_DEGREE and rank_for(d, g + 1) <= max_rank:
        g += 1
    return g if rank_for(d, g) <= max_rank else -1


def first_degree(basis, lo, hi, prec, g_from, g_to, target):
    """The smallest g in [g_from, g_to] whose sampled relative error is <= target, by bisection
    (the error falls with the degree), or None. The analytic estimate (an overestimate by up to
    e^(hi - lo)) caps the range first, so high degrees are not even built when not needed."""
    if not target > 0:
        return None
    rho = (hi - lo) / 2
    top = g_from
    while top < g_to and rel_error_estimate(basis, top, rho) > target:
        top += 1
    if g_from > g_to or not sampled_rel_error(basis, top, lo, hi, prec) <= target:
        return None
    a, b = g_from, top
    while a < b:
        mid = (a + b) // 2
        if sampled_rel_error(basis, mid, lo, hi, prec) <= target:
            b = mid
        else:
            a = mid + 1
    return a


def select(problem, basis, eps, max_rank, prec, what, final=None, cert_degree=None):
    """(degree, poly, pt, rows): the first degree whose a-posteriori bound is <= eps, found as the
    module docstring says. ``problem`` (attngrad/fast/api.py) supplies terms(poly) -> PolyTerms,
    rows(poly, pt, final) -> (rows, bound), bound(rows, pt) -> float and ensure_cert(poly) (the
    certificate's pass, at cert_degree(basis, lo, hi, prec, cap)); ``final()`` makes the
    accumulator of the final contraction, fed in the same pass at a degree predicted to pass
    (problem.last_final is the one fed at the degree returned, or None)."""
    sc, d = problem.scores, problem.d
    if not sc.hi + sc.sigma < 700:    # e^S itself would overflow float64
        raise ApproximationError(
            f"{what}: eps={eps:g} cannot be certified: {_why(sc)}, and e^{sc.hi:.3g} "
            f"overflows float64; needed: smaller entries (B = o(sqrt(log n)) in Theorem D.6)")
    lo, hi = interval_of(sc, what)
    # any accurate P has sum_m |a_m| Rabs^m >= P(hi) ~ e^hi, while the smallest value it must
    # resolve is e^lo: the features' rounding alone is u e^(hi - lo), whatever the degree
    if not problem.u * math.exp(min(sc.hi - sc.lo, 700)) < 0.25:
        return _refuse_rounding(what, eps, sc, problem.u, math.inf)
    g_max = max_degree(d, max_rank)
    g = first_degree(basis, lo, hi, prec, 0, g_max, max(0.05, min(eps, 0.5)))
    if g is None:
        return _refuse(what, eps, sc, max_rank, None, "a larger max_rank")
    gc = cert_degree(basis, lo, hi, prec, min(g + 1, g_max))
    problem.ensure_cert(exp_poly(basis, gc, lo, hi, prec))
    best, predicted = None, False
    while True:
        poly = exp_poly(basis, g, lo, hi, prec)
        pt = problem.terms(poly)
        if not math.isfinite(pt.eta):
            if not math.isfinite(problem.terms(poly, rel_error=0.0).eta):
                return _refuse_rounding(what, eps, sc, problem.u, math.inf)
            g = first_degree(basis, lo, hi, prec, g + 1, g_max, poly.rel_error / 4)
            if g is None:
                return _refuse(what, eps, sc, max_rank, best, "a larger max_rank")
            continue
        acc = final() if (final is not None and predicted) else None
        rows, bound = problem.rows(poly, pt, acc)
        if bound <= eps:
            problem.last_final = acc
            return g, poly, pt, rows
        best = (g, bound) if best is None or bound < best[1] else best
        floor = problem.bound(rows, problem.terms(poly, rel_error=0.0))
        if not floor <= eps:
            return _refuse_rounding(what, eps, sc, problem.u, floor)
        g, floor = _predict(problem, rows, basis, g, lo, hi, prec, eps, g_max, bound, pt.eta,
                            floor)
        predicted = True
        if g is None and floor > eps:
            return _refuse_rounding(what, eps, sc, problem.u, floor)
        if g is None:
            return _refuse(what, eps, sc, max_rank, best, "a larger max_rank")


def _predict(problem, rows, basis, g, lo, hi, prec, eps, g_max, bound, eta, floor):
    """(g2, floor2): the first degree above g predicted (on these rows, with sampled polynomial
    errors) to meet _MARGIN eps, or None if it lies past the rank cap or the rounding floor
    (which grows with the rank) passes eps first."""
    slope = max(bound - floor, 0.0) / eta                  # bound ~ floor + slope eta
    room = _MARGIN * eps - floor if _MARGIN * eps > floor else eps - floor
    if not room > 0:
        return None, floor
    want = room / slope if slope > 0 else math.inf
    g2 = first_degree(basis, lo, hi, prec, g + 1, g_max, want / 2.5)   # eta ~ 2 eps_P
    tries = 0
    while g2 is not None and g2 <= g_max and tries < 6:
        poly = exp_poly(basis, g2, lo, hi, prec, certify=False)
        floor = problem.bound(rows, problem.terms(poly, rel_error=0.0))
        est = 1.1 * sampled_rel_error(basis, g2, lo, hi, prec)   # samples hit the peaks
        b2 = problem.bound(rows, problem.terms(poly, rel_error=est))
        if b2 <= _MARGIN * eps or (floor > _MARGIN * eps and b2 <= eps):
            return g2, floor
        if floor > eps:                                    # no higher degree can help
            break
        g2, tries = g2 + 1, tries + 1
    return None, floor


def _refuse(what, eps, sc, max_rank, best, need):
    said = (f"; the best certified bound is {best[1]:.3g} at degree {best[0]}" if best else "")
    raise ApproximationError(
        f"{what}: eps={eps:g} cannot be certified within max_rank={max_rank}: {_why(sc)}{said}; "
        f"needed: {need}, smaller entries (B = o(sqrt(log n)) in Theorem D.6), or a larger eps")


def _refuse_rounding(what, eps, sc, u, floor):
    said = (f"bounds the error by {floor:.3g} on this instance, whatever the degree"
            if math.isfinite(floor) else
            f"cannot be bounded: the features' rounding is about u e^(hi - lo) = "
            f"{u * math.exp(min(sc.hi - sc.lo, 700)):.3g} of the smallest value they must resolve")
    raise ApproximationError(
        f"{what}: eps={eps:g} cannot be certified: {_why(sc)}, and with unit roundoff {u:.3g} "
        f"the rounding alone {said}; needed: smaller entries (B = o(sqrt(log n)) in "
        f"Theorem D.6), a higher precision (float64 or mpmath), or a larger eps")
