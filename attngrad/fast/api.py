"""The fast methods' entry points: validate, measure the instance, choose the degree, contract,
certify (attngrad.gradient(method="fast"), attngrad.attention(method="fast"))."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import mpmath
import numpy as np

from .. import formulas as F
from .. import validate
from ..errors import ApproximationError
from ..poly import BASES, abs_sum, exp_poly
from . import certificate as C
from . import contractions as lowrank
from .degree import first_degree, interval_of, select
from .features import coef_vector, monomial_plan
from .instance import attention_instance, centre_keys, gradient_instance
from .rounding import flushes_subnormals, prec_of, refuse_flushed, to64, up_in

DEFAULT_MAX_RANK = 32768


@dataclass
class FastResult:
    """What the fast algorithm returns with ``return_bound=True``.

    value:    the d x d gradient (or the n x dv attention output), in the input's number system
    bound:    a proven upper bound on ||value - exact||_inf (<= eps when eps was given)
    degree:   degree g of the polynomial P
    rank:     k1 = binom(g + d, d), the number of monomial features (rank of U1 V1^T)
    basis:    "chebyshev" or "taylor"
    interval: (lo, hi), the interval P is certified on; it holds every score
    poly_rel_error: certified sup |P(t) e^{-t} - 1| on the interval
    eta:      certified max |f~_ij / f_ij - 1|, floating-point effects included
    parts:    the bound's components (propagation, rounding, underflow; d)
    """

    value: object
    bound: float
    degree: int
    rank: int
    basis: str
    interval: tuple
    poly_rel_error: float
    eta: float
    parts: dict = field(default_factory=dict)

    @property
    def ranks(self):
        """(k1, k2, k3, k4) of Lemmas D.1, D.3, D.4, D.5 as this construction realises them."""
        d = self.parts.get("d")
        return (self.rank, d, self.rank * d, self.rank) if d else (self.rank, None, None, None)


class _Problem:
    """One fast computation on one instance: dL/dX ("X"), dL/dY ("Y") or the forward pass
    ("attention"). Holds the key sums across degrees (the work a higher degree reuses) and the
    certificate's f~-weighted sums, taken once at a low degree (``cert``)."""

    def __init__(self, ns, kind, inst, Qc, Kc, columns, E, block, what, dv=None):
        self.ns, self.kind, self.inst, self.Qc, self.E, self.block, self.what = \
            ns, kind, inst, Qc, E, block, what
        self.scores, self.d, self.u, self.n = inst.scores, inst.d, inst.u, inst.n
        self.lay = lowrank.layout(kind, "main", self.d, dv)
        self.layc = lowrank.layout(kind, "cert", self.d, dv)
        self.keys = lowrank.KeySums(ns, Kc, columns("main"), self.lay.width, block)
        self.ckeys = lowrank.KeySums(ns, Kc, columns("cert"), self.layc.width, block)
        self.cert = None    # (PolyTerms, float64 rows) of the certificate's pass
        self.last = None    # the main pass's rows at the last degree tried (namespace arrays)
        self.last_final = None   # the final contraction fed in that pass, if it was
        self.A1 = self.s = self.hc = self.Kc = None   # the gradient's own inputs (X and Y)

    def _terms(self, poly, keys, width, rel_error=None):
        k = len(monomial_plan(self.d, poly.degree)[0])
        nb, b = lowrank.blocking(self.ns, self.n, k, width, self.block)
        Pabs = abs_sum(poly.coeffs, self.scores.Rabs)
        return C.poly_terms(self.inst, poly, Pabs, k, max(keys.Nn, nb + b), rel_error=rel_error)

    def terms(self, poly, rel_error=None):
        """:class:`certificate.PolyTerms` of ``poly`` at the main passes; ``rel_error``
        replaces its certified error (0: the floor no degree can beat; an estimate: a
        prediction)."""
        return self._terms(poly, self.keys, self.lay.width, rel_error)

    def ensure_cert(self, poly):
        """The certificate's pass at ``poly``'s degree (once): f~-weighted sums of |h|, h o h,
        ... and their rounding, for every degree of the main passes."""
        if self.cert is None:
            rows, _, _ = self._pass(poly, self.ckeys, self.layc, None)
            ptc = self._terms(poly, self.ckeys, self.layc.width)   # Nn of the pass just made
            self.cert = (ptc, C.to_rows64(self.ns, rows, self.what))
        return self.cert

    def _pass(self, poly, keys, lay, E, final=None):
        ns, g = self.ns, poly.degree
        plan = monomial_plan(self.d, g)
        coef = coef_vector(ns, poly, plan)
        Z = keys.ensure(g)
        row_fn, done = lowrank.rows_pass(ns, E, lay)
        if final is not None:   # the final contraction in the same pass: features built once
            inner = row_fn

            def row_fn(s0, s1, PhiT, T):
                out = inner(s0, s1, PhiT, T)
                final.add(s0, s1, PhiT, out["alpha"], out["c"], out.get("r"))

        lowrank.query_pass(ns, self.Qc, plan, coef, Z[:, :lay.cheap], row_fn, lay.width,
                           self.block)
        return done(), plan, coef

    def query_rows(self, poly, final=None):
        """The main query pass at ``poly``'s degree: per-row arrays in the namespace."""
        return self._pass(poly, self.keys, self.lay, self.E, final)

    def bound(self, rows64, pt, finals=None):
        cert = self.cert
        if self.kind == "X":
            return C.gradient_X_bound(self.inst, pt, rows64, cert, *(finals or (None, None)))[0]
        if self.kind == "Y":
            return C.gradient_Y_bound(self.inst, pt, rows64, cert)[0]
        return C.attention_bound(self.inst, pt, rows64, cert)[0]

    def rows(self, poly, pt, final=None):
        rows, _, _ = self.query_rows(poly, final)
        rows64 = C.to_rows64(self.ns, rows, self.what)
        self.last = rows
        return rows64, self.bound(rows64, pt)


def _check_eps(eps):
    real = isinstance(eps, (numbers.Real, mpmath.mpf)) and not isinstance(eps, bool)
    ok = real and eps > 0 and math.isfinite(float(eps))
    if not ok:
        raise ValueError(f"eps: must be a finite number > 0 (the accuracy ||g~ - g||_inf <= eps), "
                         f"got {eps!r}")
    return float(eps)


def _check_opts(basis, max_rank, block):
    validate.choice("basis", basis, set(BASES))
    validate.integer("max_rank", max_rank)
    if block is not None:
        validate.integer("block", block)


def _finite(ns, what, out):
    if not ns.isfinite_all(out):
        raise ApproximationError(f"{what}: the fast computation overflowed in {ns.name} {ns.dtype}")
    return out


def _gradient_problem(A1, A2, A3, E, X, Y, wrt, scale, block, what):
    ns, dims, (A1, A2, A3, E, X, Y) = validate.loss_args(A1, A2, A3, E, X, Y)
    d = dims["d"]
    s = F.scale_value(ns, scale, d)
    Qc = (A1 @ X) * s
    hc = A3 @ Y
    Kc = centre_keys(ns, A2)
    inst = gradient_instance(ns, A1, A2, A3, E, X, Y, s, Qc, hc, what, Kc)
    nh = up_in(ns, inst.nh) if wrt == "X" else None
    prob = _Problem(ns, wrt, inst, Qc, Kc, lambda part: lowrank.value_columns(
        ns, wrt, part, hc=hc, A2=A2, A3=A3, nh=nh), E, block, what)
    prob.A1, prob.s, prob.hc, prob.Kc = A1, s, hc, Kc
    return prob


def _final(prob):
    return lowrank.FinalX(prob.ns, prob.A1) if prob.kind == "X" else lowrank.FinalY(prob.ns)


def _cert_degree(basis, lo, hi, prec, cap):
    """The certificate pass's degree: the first whose sampled error is <= 1e-3 (its sums then
    bound the f-weighted ones within about 0.2 %), at most ``cap``."""
    g = first_degree(basis, lo, hi, prec, 0, cap, 1e-3)
    return cap if g is None else g


def _finish_gradient(prob, poly, pt, rows, final, certified=True):
    """The gradient from the final contraction (already fed, or fed now by one more pass) and
    its a-posteriori bound."""
    ns, what, d = prob.ns, prob.what, prob.d
    plan = monomial_plan(d, poly.degree)
    Z = prob.keys.ensure(poly.degree)
    if final is None:
        final = _final(prob)
        lowrank.final_pass(ns, prob.Qc, plan, coef_vector(ns, poly, plan), rows, final,
                           prob.lay.width, prob.block)
    out = final.result(Z, prob.lay, prob.s)
    G = out[0] if prob.kind == "X" else out
    _finite(ns, what, G)
    k = len(plan[0])
    if not certified:
        return FastResult(G, math.nan, poly.degree, k, poly.basis,
                          (float(poly.lo), float(poly.hi)), math.nan, math.nan, {"d": d})
    pt = prob.terms(poly) if pt is None else pt
    rows64 = C.to_rows64(ns, rows, what)
    if prob.kind == "X":
        finals = (abs(to64(ns, out[1], "G1", what)), abs(to64(ns, out[2], "G2", what)))
        bound, parts = C.gradient_X_bound(prob.inst, pt, rows64, prob.cert, *finals)
    else:
        bound, parts = C.gradient_Y_bound(prob.inst, pt, rows64, prob.cert)
    parts["d"] = d
    return FastResult(G, bound, poly.degree, k, poly.basis, (float(poly.lo), float(poly.hi)),
                      poly.rel_error, pt.eta, parts)


def gradient_fast(A1, A2, A3, E, X, Y, *, wrt="X", scale=None, eps=None, basis="chebyshev",
                  max_rank=DEFAULT_MAX_RANK, return_bound=False, block=None):
    """dL/dX to within eps in O(n k1 d^2) time (Theorem D.6, corrected), certified; with
    ``wrt="Y"`` dL/dY = A3^T f^T c in O(n k1 d) time (Lemma D.7, ours), certified the same way.

    eps:          required: the result g~ satisfies ||g~ - dL/dX||_inf <= eps (dL/dY for
                  ``wrt="Y"``), proven for this instance (attngrad/fast/certificate.py).
    basis:        "chebyshev" (default, near-optimal degree) or "taylor".
    max_rank:     largest k1 = binom(g + d, d) allowed; if eps needs more,
                  :class:`attngrad.ApproximationError` says why and what would be needed.
    return_bound: return a :class:`FastResult` (value, bound, degree, rank, basis, interval, ...)
                  instead of the d x d array.
    block:        rows per block (default: see attngrad/fast/contractions.py). Larger blocks mean
                  fewer, larger products but a larger rounding term.
    """
    what = "gradient(method='fast')"
    validate.choice("wrt", wrt, {"X", "Y"})
    eps = _check_eps(eps)
    _check_opts(basis, max_rank, block)
    prob = _gradient_problem(A1, A2, A3, E, X, Y, wrt, scale, block, what)
    refuse_flushed(prob.ns, what)
    g, poly, pt, _ = select(prob, basis, eps, max_rank, prec_of(prob.ns), what,
                            final=lambda: _final(prob), cert_degree=_cert_degree)
    res = _finish_gradient(prob, poly, pt, prob.last, prob.last_final)
    if not res.bound <= eps:   # the selection bounded |G1|, |G2| from above: not expected
        raise ApproximationError(
            f"{what}: the a-posteriori bound {res.bound:.3g} exceeds eps={eps:g} at degree {g}; "
            f"retry with a larger max_rank or eps")
    return res if return_bound else res.value


def gradient_fixed_degree(A1, A2, A3, E, X, Y, *, degree, wrt="X", basis="chebyshev",
                          interval=None, scale=None, return_info=False, block=None, certify=True):
    """The same algorithm at a fixed polynomial degree, without a target eps.

    degree:   the degree g of P (rank k1 = binom(g + d, d), see
              :func:`attngrad.fast.features.rank_for`).
    interval: (lo, hi) or a radius R for [-R, R] on which P approximates exp; default the
              proven score interval of the data (attngrad/fast/instance.py), on a grid.
    wrt:      "X" (Theorem D.6) or "Y" (Lemma D.7, ours).
    Returns the d x d gradient, or with ``return_info=True`` a :class:`FastResult` whose
    ``bound`` is the certified bound when the interval holds every score, and ``nan`` otherwise
    or for CuPy float32 (its flushed subnormals are outside the bound's model).
    ``certify=False`` skips the polynomial's interval-arithmetic certificate and the bound
    (``bound`` is nan): the cost of the algorithm alone.
    """
    validate.integer("degree", degree, minimum=0)
    validate.choice("wrt", wrt, {"X", "Y"})
    if not isinstance(certify, bool):
        raise TypeError(f"certify: expected True or False, got {certify!r}")
    _check_opts(basis, DEFAULT_MAX_RANK, block)
    what = "gradient_fixed_degree"
    prob = _gradient_problem(A1, A2, A3, E, X, Y, wrt, scale, block, what)
    lo, hi = interval_of(prob.scores)
    if interval is not None:
        try:
            if np.ndim(interval) == 0:
                ilo, ihi = -float(interval), float(interval)
            else:
                ilo, ihi = (float(v) for v in interval)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"interval: need a radius R > 0 or a pair lo < hi, "
                            f"got {interval!r}") from None
        if not (math.isfinite(ilo) and math.isfinite(ihi) and ilo < ihi):
            raise ValueError(f"interval: need a radius R > 0 or a pair lo < hi, got {interval!r}")
        certified = ilo <= prob.scores.lo and ihi >= prob.scores.hi
        lo, hi = ilo, ihi
    else:
        certified = True
    certified = certify and certified and not flushes_subnormals(prob.ns)
    prec = prec_of(prob.ns)
    poly = exp_poly(basis, degree, lo, hi, prec, certify=certified)
    if certified:
        prob.ensure_cert(exp_poly(basis, _cert_degree(basis, lo, hi, prec, degree), lo, hi, prec))
    final = _final(prob)
    rows, _, _ = prob.query_rows(poly, final)
    res = _finish_gradient(prob, poly, None, rows, final, certified)
    res.interval = (lo, hi)
    return res if return_info else res.value


def attention_fast(Q, K, V, *, scale=None, eps=None, basis="chebyshev",
                   max_rank=DEFAULT_MAX_RANK, return_bound=False, block=None):
    """D^{-1} exp(Q K^T / d) V to within eps (entry-wise) in O(n k1 d_v) time (AS23 via
    Lemma D.1), certified by Lemma D.12 (ours): |T~ - f V| <= xi + eta f |V|."""
    what = "attention(method='fast')"
    eps = _check_eps(eps)
    _check_opts(basis, max_rank, block)
    ns, dims, (Q, K, Vv) = validate.arrays(
        {"Q": ("n", "d"), "K": ("n", "d"), "V": ("n", "dv")}, Q=Q, K=K, V=V)
    refuse_flushed(ns, what)
    d = dims["d"]
    s = F.scale_value(ns, scale, d)
    Qc = Q * s
    Kc = centre_keys(ns, K)
    inst = attention_instance(ns, Q, K, Vv, s, Qc, what, Kc)
    prob = _Problem(ns, "attention", inst, Qc, Kc,
                    lambda part: lowrank.value_columns(ns, "attention", part, V=Vv), None, block,
                    what, dims["dv"])
    g, poly, pt, rows64 = select(prob, basis, eps, max_rank, prec_of(ns), what,
                                 cert_degree=_cert_degree)
    T = _finite(ns, what, prob.last["V"])
    bound, parts = C.attention_bound(inst, pt, rows64, prob.cert)
    if not bound <= eps:
        raise ApproximationError(f"{what}: the a-posteriori bound {bound:.3g} exceeds eps={eps:g}")
    parts["d"] = d
    res = FastResult(T, bound, g, len(monomial_plan(d, g)[0]), poly.basis,
                     (float(poly.lo), float(poly.hi)), poly.rel_error, pt.eta, parts)
    return res if return_bound else res.value
