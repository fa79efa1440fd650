"""The certified error bound of the fast path: it follows the data, and it is proven.

Each inequality below is a statement with checked steps in derivations/sD_fast_certificate.py
(``attngrad check`` runs them); the names follow Section D (f, h, c, q, r, p).

Lemma D.8 (ours), the relative error of f~. On the scores' interval [lo, hi]
(attngrad/fast/instance.py) the polynomial P has certified relative error eps_P
(attngrad/poly.py). With the computed features' products U'_ij = sum_alpha Phi_ia Psi_ja and
the computed row sums alpha~ (the rounding of both bounded as in attngrad/fast/rounding.py),
f~ = diag(alpha~)^{-1} U' satisfies |f~_ij - f_ij| <= eta f_ij with

    delta_u = (eps_P + delta_F) e^sigma + expm1(sigma),  delta_F = (gamma_F P_abs + P_uf) e^-lo,
    delta_a = delta_u + gamma_{Nn+k} P_absF e^(sigma - lo),   eta = (delta_u + delta_a) / (1 - delta_a)

(a relative error delta on every entry of exp gives about 2 delta on f: the normalisation).

Lemma D.9 (ours), per-row errors. For a column group w of a query pass (w = h, |h|, ...), the
computed (f~ w)^c_i = T^c_i / alpha~_i differs from (f~ w)_i by at most

    xi_i = gamma_{Nn+k+2} P_absF (sum_j |w_j|) / alpha~_i  (+ underflow),

the size of the actual operands (sum_j |w_j|), not n max |w|. The f-weighted sums the bound
needs (f|h|, f (h o h), f (||h|| o |A2|), f|A2|, f ||h||^2, f (A2 o A2); f|A3|, f A3, f (A3 o A3);
f|V|, f (V o V)) come from one pass at a low degree (sampled polynomial error <= 1e-3, its own
eta_c): sum_j f_ij w_j <= ((f~_c w)_i + xi_i) / (1 - eta_c) for w >= 0, since f <= f~ / (1 - eta).
The rows of f~ - f nearly sum to 0 (|sum_j (f~ - f)_ij| <= xi1_i, the rounding of alpha~), so
|((f~ - f) w)_i| <= min(eta f|w|, eta sd_f(w)_i + |mu_i| xi1_i) for any mu with |f w - mu| <= D
(sd_f(w)^2 <= f(w^2) - mu^2 + 2 |mu| D): a constant part of w cancels. With beta >= |h^c - h|:
    |(f~h)~ - f h| <= Dfh = xi + min(eta f|h|, eta sd_f(h) + |m~| xi1) + beta,
    |c~ - c| <= Dc = Dfh + u'|c~|,
    |r~ - r| <= rho = tau + sum_m Dfh_m |c~_m| + sum_m ((f|h|)_m + beta_m) Dc_m,
tau >= the rounding of r~ = <(f~h)~, c~>.

Theorem D.10 (ours), dL/dX. With q_ij = <c_i, h_j>, p = f o (q - r 1^T), p~' the same with f~
and the computed c~, r~ (exact arithmetic), and m~ = (f~h)~:
    |p~' - p|_ij <= f_ij (a_i ||h_j|| + b_i),          a_i = eta ||c~_i|| + ||Dc_i||,
                                                   b_i = eta |r~_i| + sum_m (|c~| + Dc)_im beta_m + rho_i,
    |p~' - p|_ij <= f_ij (a_i ||h_j - m~_i|| + b2_i),  b2_i = (1 + eta) tau_i
                                                          + sum_m (|c~| + Dc)_im (beta_m + Dfh_im),
(the second as q~ - r~ = <c~, h_j - m~> - tau: centred, small on nearly one-hot rows), non-
negative matrices with f's low-rank structure, so their contractions with |A1| and |A2| cost
O(n k1 d) like the gradient itself (Cauchy-Schwarz in j for the centred one):
    |g~' - g|_ab <= s sum_i |A1_ia| min(a_i (f (||h|| o |A2|))_ib + b_i (f|A2|)_ib,
                                        a_i sqrt(Vn_i) sqrt(f A2^2)_ib + b2_i (f|A2|)_ib),
Vn_i >= sum_j f_ij ||h_j - m~_i||^2. The rounding of the final contractions is bounded by the
sums that occur:
    gamma_N1 P_absF s (|A1|^T (|c~| / alpha~)) (sum_j |h_j| |A2_j|^T)
  + gamma_N2 P_absF s (|A1|^T (|r~| / alpha~)) (sum_j |A2_j|) + gamma_3 s (|G1| + |G2|).

Lemma D.11 (ours), dL/dY = A3^T f^T c: |g~_Y' - g_Y|_lm <= sum_i E_il |c~_im| + (f|A3|)_il Dc_im,
E >= |(f~ - f) A3| as above, plus gamma_NY P_absF (sum_j |A3_jl|) sum_i |c~_im| / alpha~_i.

Lemma D.12 (ours), the forward pass: |T~ - f V|_im <= xi^V_im + |((f~ - f) V)_im|.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .features import feature_consts
from .rounding import SLACK, U_FLOOR, gamma, max_entry, scaled_up, scaled_up_rows, sup, to64


@dataclass
class PolyTerms:
    """What the bound needs of one polynomial and its blocked evaluation."""

    eta: float        # Lemma D.8: |f~ - f| <= eta f
    PabsF: float      # >= sum_alpha |Phi_ia Psi_ja| (computed features)
    Nn: int           # longest blocked sum over rows: b + n/b
    k: int            # rank k1
    feat: tuple = None  # (Cc, SPhi, Mk) for the underflow terms (numpy dtypes), else None
    delta_u: float = math.inf   # >= |U'_ij / e^{S_ij} - 1|
    delta_a: float = math.inf   # >= |alpha~_i / alpha_i - 1|


def exp_up(x):
    """e^x as a float64 upper bound (inf past the float64 range)."""
    return math.exp(x) * (1 + 4e-16) if x < 709 else math.inf


def poly_terms(inst, poly, Pabs, k, Nn, rel_error=None):
    """:class:`PolyTerms` of the polynomial ``poly`` (degree g, certified relative error
    ``poly.rel_error`` on an interval holding [lo, hi]) and P_abs >= sum_m |a_m| Rabs^m;
    ``rel_error`` replaces poly.rel_error (0: the rounding floor no degree can beat)."""
    sc, u, g = inst.scores, inst.u, poly.degree
    gF = gamma(2 * g + 3, u)
    feat, P_uf, uf_alpha = None, 0.0, 0.0
    if inst.omega:
        Cc, SPhi, Mk, P_uf = feature_consts(poly.coeffs, inst.d, g, k, sc.qm, sc.km, inst.omega)
        feat = (Cc, SPhi, Mk)
        uf_alpha = k * inst.omega
    PabsF = Pabs * (1 + gF) + scaled_up(P_uf, inst.omega_exp)
    if not (sc.hi + sc.sigma < 700 and math.isfinite(PabsF)):
        return PolyTerms(math.inf, PabsF, Nn, k, feat)
    e_lo = exp_up(sc.sigma - sc.lo)                 # >= 1 / min_ij e^{S_ij}
    eps_P = poly.rel_error if rel_error is None else rel_error
    delta_F = (gF * Pabs + scaled_up(P_uf + uf_alpha, inst.omega_exp)) * e_lo
    delta_u = (eps_P * exp_up(sc.sigma) + delta_F * exp_up(sc.sigma) + math.expm1(sc.sigma))
    delta_a = delta_u + gamma(Nn + k, u) * PabsF * e_lo
    eta = (delta_u + delta_a) / (1 - delta_a) if delta_a < 0.5 else math.inf
    if not eta < 1:   # f <= f~ / (1 - eta) is used: no certificate from eta >= 1
        return PolyTerms(math.inf, PabsF, Nn, k, feat, delta_u, delta_a)
    return PolyTerms(max(eta, U_FLOOR), PabsF, Nn, k, feat, delta_u, delta_a)


# ---------------------------------------------------------------------------
# per-row errors (Lemma D.9, ours)


def to_rows64(ns, rows, what):
    """The query pass's per-row arrays in float64 on the bound's device."""
    return {key: to64(ns, v, f"{key}~", what) for key, v in rows.items()}


def _uf_col(inst, pt, alpha):
    """Underflow of one column (f~ w)_i: omega (n / alpha~_i (SPhi + k) + 1), scaled up."""
    if pt.feat is None:
        return 0.0
    return scaled_up_rows(inst.xb, 1.1 * inst.omega * (inst.n / alpha * (pt.feat[1] + pt.k) + 1),
                          inst.omega_exp)[:, None]


def column_error(inst, pt, alpha, Sw):
    """xi_im >= |(f~ w)^c_im - (f~ w)_im| for a column group w with sum_j |w_jm| <= Sw_m."""
    return (gamma(pt.Nn + pt.k + 2, inst.u) * pt.PabsF) * inst.xb.asarray(Sw)[None, ...] \
        / alpha[:, None] + _uf_col(inst, pt, alpha)


def weighted_sum(inst, pt, alpha, G, Sw):
    """An upper bound of sum_j f_ij w_jm (w >= 0 exact) from the computed (f~ w)^c = G:
    (G + xi) / (1 - eta), since f <= f~ / (1 - eta)."""
    return (G + column_error(inst, pt, alpha, Sw)) / (1 - pt.eta)


def weighted_product_sum(inst, pt, alpha, G, Sw):
    """As :func:`weighted_sum` for weights computed as products fl(x y) in the working precision
    (>= (1 - u) x y - omega) of exact x y >= 0: the sum of the exact x y."""
    u = inst.u
    return (weighted_sum(inst, pt, alpha, G, Sw * (1 + 8 * u))
            + scaled_up(inst.omega, inst.omega_exp)) / (1 - u)


def variance(xb, F_sq, mu_sq, cross):
    """An upper bound of sum_j f_ij ||w_j - mu_i||^2 = sum f ||w||^2 - ||mu||^2 - 2 <mu, f w - mu>
    (the rows of f sum to 1) from F_sq >= sum_j f_ij ||w_j||^2, mu_sq = ||mu_i||^2 and
    cross >= |<mu_i, (f w)_i - mu_i>|; the float64 cancellation in F_sq - mu_sq is charged
    explicitly (not to SLACK)."""
    v = F_sq - mu_sq + 2 * cross
    return xb.maximum(v + 4 * 2.0 ** -53 * (F_sq + mu_sq + 2 * cross), 0.0)


def centred(inst, pt, rows, mu, D, F_abs, F_sq):
    """A bound of |((f~ - f) w)_i|: min(eta f|w|, eta sd_f(w)_i + |mu_i| xi1_i), with mu the
    computed f~ w (|f w - mu| <= D), sd_f(w)_i^2 <= variance(F_sq, mu, D) and xi1_i >=
    |sum_j (f~ - f)_ij| (the rounding of alpha~): the rows of f~ - f nearly sum to 0, so a
    constant part of w cancels (nearly one-hot rows, w with a common offset)."""
    xi1 = column_error(inst, pt, rows["alpha"], inst.xb.asarray([float(inst.n)]))
    sd = inst.xb.sqrt(variance(inst.xb, F_sq, mu * mu, abs(mu) * D))
    return inst.xb.minimum(pt.eta * F_abs, pt.eta * sd + abs(mu) * xi1)


def c_error(inst, pt, rows, cert):
    """(Dfh, Dc, Fh_abs): Dfh_im >= |(f~ h)^c_im - (f h)_im|, Dc_im >= |c~_im - c_im|, and
    Fh_abs_im >= (f |h^c|)_im (Lemma D.9, ours). ``cert`` = (PolyTerms, rows) of the
    certificate's pass (the f~-weighted sums at a low degree)."""
    u1 = inst.u / (1 - inst.u)
    ptc, rc = cert
    alpha, mu = rows["alpha"], rows["h"]
    xi = column_error(inst, pt, alpha, inst.Sh)
    Fh_abs = weighted_sum(inst, ptc, rc["alpha"], rc["habs"], inst.Sh)
    plain = xi + pt.eta * Fh_abs + inst.beta[None, :]
    F_sq = weighted_product_sum(inst, ptc, rc["alpha"], rc["hsq"], inst.Sh2)
    Dfh = xi + centred(inst, pt, rows, mu, plain, Fh_abs, F_sq) + inst.beta[None, :]
    return Dfh, Dfh + u1 * abs(rows["c"]), Fh_abs


def r_rounding(inst, pt, rows):
    """tau_i >= |r~_i - <(f~h)^c_i, c~_i>|: the rounding of the length-d dot product."""
    tau = gamma(inst.d, inst.u) * (abs(rows["h"]) * abs(rows["c"])).sum(axis=1)
    if pt.feat is not None:
        tau = tau + scaled_up(1.1 * inst.d * inst.omega, inst.omega_exp)
    return tau


def r_error(inst, pt, rows, Dfh, Dc, Fh_abs):
    """rho_i >= |r~_i - r_i|, r~_i = fl(<(f~ h)^c_i, c~_i>), r_i = <(f h)_i, c_i>."""
    absc = abs(rows["c"])
    return r_rounding(inst, pt, rows) + (Dfh * absc).sum(axis=1) \
        + ((Fh_abs + inst.beta[None, :]) * Dc).sum(axis=1)


# ---------------------------------------------------------------------------
# the bounds


def _finite_rows(inst, rows, cert):
    """Both passes certifiable: eta < 1 and every alpha~ finite and > 0."""
    for pt, r in ((None, rows), cert):
        a = r["alpha"]
        if not (bool(inst.xb.isfinite(a).all() and (a > 0).all())
                and (pt is None or math.isfinite(pt.eta))):
            return False
    return True


def terms_X(inst, pt, rows, cert):
    """The per-row terms of Theorem D.10 (ours), float64: Dfh, Dc, Fh_abs (Lemma D.9), rho,
    F1 >= f (||h|| o |A2|), F0 >= f |A2|, a, b with |p~' - p|_ij <= f_ij (a_i ||h_j|| + b_i);
    the centred form b2, Vn, Fsq with |p~' - p|_ij <= f_ij (a_i ||h_j - m~_i|| + b2_i),
    sum_j f_ij ||h_j - m~_i||^2 <= Vn_i, sum_j f_ij A2_jb^2 <= Fsq_ib (m~ = the computed f~ h);
    and rowsum_ib >= sum_j |p~' - p|_ij |A2_jb|, the smaller of the two."""
    xb, eta = inst.xb, pt.eta
    ptc, rc = cert
    absc, absr, m = abs(rows["c"]), abs(rows["r"]), rows["h"]
    Dfh, Dc, Fh_abs = c_error(inst, pt, rows, cert)
    rho = r_error(inst, pt, rows, Dfh, Dc, Fh_abs)
    F1 = weighted_product_sum(inst, ptc, rc["alpha"], rc["w1"], inst.SnA)
    F0 = weighted_sum(inst, ptc, rc["alpha"], rc["w0"], inst.SA)
    a = eta * xb.sqrt((absc * absc).sum(axis=1)) + xb.sqrt((Dc * Dc).sum(axis=1))
    b = eta * absr + ((absc + Dc) * inst.beta[None, :]).sum(axis=1) + rho
    # centred: q~_ij - r~_i = <c~_i, h_j - m~_i> - tau_i
    Fn2 = weighted_product_sum(inst, ptc, rc["alpha"], rc["nh2"], xb.asarray([inst.Snh2]))[:, 0]
    Vn = variance(xb, Fn2, (m * m).sum(axis=1), (abs(m) * Dfh).sum(axis=1))
    Fsq = weighted_product_sum(inst, ptc, rc["alpha"], rc["A2sq"], inst.SA2sq)
    b2 = (1 + eta) * r_rounding(inst, pt, rows) \
        + ((absc + Dc) * (inst.beta[None, :] + Dfh)).sum(axis=1)
    rowsum = xb.minimum(a[:, None] * F1 + b[:, None] * F0,
                        a[:, None] * xb.sqrt(Vn)[:, None] * xb.sqrt(Fsq) + b2[:, None] * F0)
    return dict(Dfh=Dfh, Dc=Dc, Fh_abs=Fh_abs, rho=rho, F1=F1, F0=F0, a=a, b=b, b2=b2, Vn=Vn,
                Fsq=Fsq, rowsum=rowsum)


def rounding_sums(inst, pt, rows, F1=None, F0=None):
    """The row sums of the rounding bound (additive over blocks of rows): e1, e2 (the blocked
    sums and products of the final contractions) and, from F1, F0, the magnitudes g1, g2 that
    bound |G1|, |G2| before they are computed."""
    u, d, eta = inst.u, inst.d, pt.eta
    alpha, absc, absr = rows["alpha"], abs(rows["c"]), abs(rows["r"])
    N1 = 2 * pt.Nn + d * pt.k + 3
    N2 = 2 * pt.Nn + pt.k + 2
    e1 = (gamma(N1, u) * pt.PabsF) * ((inst.A1abs.T @ (absc / alpha[:, None])) @ inst.SHA)
    e2 = (gamma(N2, u) * pt.PabsF) * inst.xb.outer(inst.A1abs.T @ (absr / alpha), inst.SA)
    g1 = g2 = None
    if F1 is not None:   # |G1|, |G2| <= their terms' magnitudes (f~ <= (1 + eta) f)
        g1 = (1 + eta) * (inst.A1abs.T @ (inst.xb.sqrt((absc * absc).sum(axis=1))[:, None] * F1))
        g2 = (1 + eta) * (inst.A1abs.T @ (absr[:, None] * F0))
    return [e1, e2, g1, g2]


def _rounding(inst, e1, e2, g1, g2, G1, G2):
    u, s = inst.u, inst.s
    if G1 is None:   # not computed yet: bounded by the magnitudes of their terms
        G1, G2 = g1 + e1, g2 + e2
    return s * (e1 + e2) + gamma(3, u) * s * (abs(G1) + abs(G2))


def rounding_X(inst, pt, rows, G1=None, G2=None, F1=None, F0=None):
    """Bound on |G~ - g~'| (the computed g~ against the exact sum of its terms): the rounding
    of the final contractions (Theorem D.10, ours). G1, G2: |A1^T p1~ A2|, |A1^T p2~ A2| as
    computed; before the final pass (degree selection) they are bounded from F1, F0."""
    return _rounding(inst, *rounding_sums(inst, pt, rows, F1, F0), G1, G2)


# rows per chunk when the bound is evaluated: its n x d temporaries stay a few MiB
CHUNK_ROWS = 1 << 14


def _chunks(inst, rows, cert):
    """(inst with its rows s0:s1, rows s0:s1, cert with rows s0:s1) for every chunk: every
    per-row term is row-local, and the bound adds or maximises them over rows."""
    n = inst.n
    ptc, rc = cert
    for s0 in range(0, n, CHUNK_ROWS):
        sl = slice(s0, min(n, s0 + CHUNK_ROWS))
        a1 = getattr(inst, "A1abs", None)
        sub = replace(inst, A1abs=a1[sl]) if a1 is not None else inst
        yield (sub, {k: v[sl] for k, v in rows.items()},
               (ptc, {k: v[sl] for k, v in rc.items()}))


def gradient_X_bound(inst, pt, rows, cert, G1=None, G2=None):
    """(bound, parts): bound >= ||g~ - dL/dX||_inf (Theorem D.10, ours). rows: float64 per-row
    arrays of the query pass; G1, G2: the computed A1^T p1~ A2 and A1^T p2~ A2 (float64), or
    None before the final pass (degree selection). Evaluated by chunks of rows."""
    if not (math.isfinite(pt.eta) and _finite_rows(inst, rows, cert)):
        return math.inf, {}
    prop, sums = 0.0, None
    for sub, r, c in _chunks(inst, rows, cert):
        t = terms_X(sub, pt, r, c)
        prop = prop + inst.s * (sub.A1abs.T @ t["rowsum"])
        part = rounding_sums(sub, pt, r, t["F1"], t["F0"])
        sums = part if sums is None else [a + b for a, b in zip(sums, part)]
    rnd = _rounding(inst, *sums, G1, G2)
    uf = _underflow_X(inst, pt, rows["alpha"], abs(rows["c"]), abs(rows["r"]))
    total = sup(prop + rnd) * SLACK + uf
    return total, {"propagation": sup(prop), "rounding": sup(rnd), "underflow": uf,
                   "eta": pt.eta}


def _underflow_X(inst, pt, alpha, absc, absr):
    """Underflow (numpy dtypes) in the final contractions W1, W2, L, Z, G: each product or
    quotient that underflows errs by omega, propagated by the remaining factors (crude, but
    negligible unless the gradient itself is near the underflow range)."""
    if pt.feat is None:
        return 0.0
    Cc, SPhi, Mk = pt.feat
    n, d, k, om, s = inst.n, inst.d, pt.k, inst.omega, inst.s
    am = float((inst.n / alpha).max())
    a1m, km, Hm = max_entry(inst.A1abs), inst.scores.km, max_entry(inst.H)
    cm, rm = max_entry(absc), max_entry(absr)
    dG1 = d * n * om * ((k + SPhi * (1 + a1m)) * 2 * n * Mk * Hm * km
                        + SPhi * a1m * cm * am * (2 * Mk + 1)) + d * k * om
    dG2 = n * om * ((k + SPhi * (1 + a1m)) * 2 * n * Mk * km
                    + SPhi * a1m * rm * am * (2 * Mk + 1)) + k * om
    return scaled_up(1.1 * (s * (dG1 + dG2) + om), inst.omega_exp)


def terms_Y(inst, pt, rows, cert):
    """(prop, rnd) of Lemma D.11 (ours): |g~_Y' - g_Y| <= prop = E^T |c~| + (f|A3|)^T Dc with
    E_il >= |((f~ - f) A3)_il| (:func:`centred`), and the rounding |G~_Y - g~_Y'| <= rnd."""
    alpha, absc = rows["alpha"], abs(rows["c"])
    ptc, rc = cert
    _, Dc, _ = c_error(inst, pt, rows, cert)
    F3 = weighted_sum(inst, ptc, rc["alpha"], rc["A3abs"], inst.SA3)
    # mu = f~ A3 of the certificate's pass: |f A3 - mu| <= its xi + its eta f|A3|
    D3 = column_error(inst, ptc, rc["alpha"], inst.SA3) + ptc.eta * F3
    F_sq = weighted_product_sum(inst, ptc, rc["alpha"], rc["A3sq"], inst.SA3sq)
    Ed = centred(inst, pt, rows, rc["A3"], D3, F3, F_sq)
    prop = Ed.T @ absc + F3.T @ Dc
    gN = gamma(2 * pt.Nn + pt.k + 4, inst.u)
    if not math.isfinite(gN):   # the sums are too long for this precision: no certificate
        return prop, prop * 0 + math.inf
    return prop, (gN * pt.PabsF) * inst.xb.outer(inst.SA3, (absc / alpha[:, None]).sum(axis=0))


def gradient_Y_bound(inst, pt, rows, cert):
    """(bound, parts): bound >= ||g~_Y - dL/dY||_inf (Lemma D.11, ours)."""
    if not (math.isfinite(pt.eta) and _finite_rows(inst, rows, cert)):
        return math.inf, {}
    prop = rnd = 0.0
    for sub, r, c in _chunks(inst, rows, cert):
        p_, r_ = terms_Y(sub, pt, r, c)
        prop, rnd = prop + p_, rnd + r_
    uf = 0.0
    if pt.feat is not None:
        _, SPhi, Mk = pt.feat
        n, om = inst.n, inst.omega
        c_over_alpha = float((abs(rows["c"]) / rows["alpha"][:, None]).sum(axis=0).max())
        uf = scaled_up(1.1 * om * (max_entry(inst.K3) * n * n * (pt.PabsF + pt.k * Mk)
                                   + n * SPhi * c_over_alpha + pt.k), inst.omega_exp)
    total = sup(prop + rnd) * SLACK + uf
    return total, {"propagation": sup(prop), "rounding": sup(rnd), "underflow": uf,
                   "eta": pt.eta}


def terms_attention(inst, pt, rows, cert):
    """(xi, prop) of Lemma D.12 (ours): |T~ - f~ V| <= xi, |f~ V - f V| <= prop (:func:`centred`)."""
    ptc, rc = cert
    xi = column_error(inst, pt, rows["alpha"], inst.SV)
    FV = weighted_sum(inst, ptc, rc["alpha"], rc["Vabs"], inst.SV)
    F_sq = weighted_product_sum(inst, ptc, rc["alpha"], rc["Vsq"], inst.SVsq)
    return xi, centred(inst, pt, rows, rows["V"], xi + pt.eta * FV, FV, F_sq)


def attention_bound(inst, pt, rows, cert):
    """(bound, parts): bound >= max_im |T~_im - (f V)_im| (Lemma D.12, ours)."""
    if not (math.isfinite(pt.eta) and _finite_rows(inst, rows, cert)):
        return math.inf, {}
    total, prop, rnd = 0.0, 0.0, 0.0
    for sub, r, c in _chunks(inst, rows, cert):
        xi, pr = terms_attention(sub, pt, r, c)
        total = max(total, sup(xi + pr) * SLACK)
        prop, rnd = max(prop, sup(pr)), max(rnd, sup(xi))
    return total, {"propagation": prop, "rounding": rnd, "underflow": 0.0, "eta": pt.eta}
