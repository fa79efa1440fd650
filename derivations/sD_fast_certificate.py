"""The fast path's certificate (ours): Lemmas D.8, D.9, D.11, D.12 and Theorem D.10.

attngrad/fast/certificate.py bounds the error of the fast gradient by inequalities that follow
the data. Here each inequality is a step: the library runs in float64 (as users run it) on exact
dyadic instances, and each right-hand side it computes is compared with the left-hand side
evaluated at 50 digits from the same float64 intermediates (computed features, alpha~, c~, r~,
...) and from the exact inputs. So every step is checked with the float64 rounding it claims
to cover, on instances built to stress it:

* "uniform":       dyadic entries in [-1, 1];
* "peaked":        one key aligned with every query: rows of f nearly one-hot;
* "rowsums":       keys >= 0 and queries of alternating sign: huge and tiny row sums alpha;
* "dominant-h":    one column of Y 64 times the others: h with one dominant column;
* "cancel":        rows of A1 and A3 in +- pairs: the gradient's sums cancel;
* "zero-residual": E = f h rounded to float64: c ~ 0, only the errors of c~ are left.

The degrees are low, so that the polynomial's error dominates and the bounds are tested where
they are tight.
"""
from __future__ import annotations

from functools import lru_cache

import mpmath
import numpy as np

import attngrad
from attngrad.backend import NumpyNamespace
from attngrad.fast import api as fast_api, certificate as C, contractions as lowrank
from attngrad.fast.degree import interval_of
from attngrad.fast.features import coef_vector, features, monomial_plan
from attngrad.fast.instance import attention_instance, centre_keys
from attngrad.poly import exp_poly

from .core import Statement, Step
from .instances import NAMES, as_float64, dyadic_instance

# kind, n, d, seed, degree
CASES = (("uniform", 12, 2, 1, 2), ("peaked", 12, 2, 2, 9), ("rowsums", 12, 2, 3, 6),
         ("dominant-h", 12, 2, 4, 2), ("cancel", 12, 2, 5, 2), ("zero-residual", 12, 2, 6, 2))
F64 = NumpyNamespace(np.dtype(np.float64))


def _raw(kind, n, d, seed):
    """float64 inputs (exact dyadic numbers) of one case."""
    nums, bits = dyadic_instance(n, d, seed=seed)
    one = 2 ** bits
    if kind == "peaked":
        nums["A2"][0, :] = 3 * one
        nums["A1"][:, :] = np.abs(nums["A1"]) + one
        nums["X"][:, :] = one * np.eye(d, dtype=np.int64)
    elif kind == "rowsums":
        nums["A2"][:, :] = np.abs(nums["A2"])
        nums["A1"][:, :] = np.where(np.arange(n)[:, None] % 2 == 0, 2, -2) * one
        nums["X"][:, :] = one * np.eye(d, dtype=np.int64)
    elif kind == "dominant-h":
        nums["Y"][:, 0] *= 64
    elif kind == "cancel":
        nums["A1"][1::2] = -nums["A1"][0::2][:len(nums["A1"][1::2])]
        nums["A3"][1::2] = -nums["A3"][0::2][:len(nums["A3"][1::2])]
    raw = as_float64((nums, bits))
    if kind == "zero-residual":
        raw["E"] = attngrad.attention(raw["A1"] @ raw["X"], raw["A2"], raw["A3"] @ raw["Y"])
    return raw


def _mp(a):
    return attngrad.to_mpmath(np.asarray(a, dtype=np.float64))


def _mpabs(a):
    return np.asarray(np.frompyfunc(abs, 1, 1)(a), dtype=object)


def _mpsqrt(a):
    return np.asarray(np.frompyfunc(mpmath.sqrt, 1, 1)(a), dtype=object)


def _exact(raw):
    """The exact quantities of Section D at the working precision (mpmath)."""
    A1, A2, A3, E, X, Y = (_mp(raw[k]) for k in NAMES)
    d = A1.shape[1]
    s = mpmath.mpf(1) / d
    S = (A1 @ X) @ A2.T * s
    f = attngrad.f(A1, A2, X)
    h = A3 @ Y
    c = f @ h - E
    r = np.sum(f * (c @ h.T), axis=1)
    p = f * (c @ h.T) - r[:, None] * f
    return dict(A1=A1, A2=A2, A3=A3, E=E, X=X, Y=Y, s=s, S=S, f=f, h=h, c=c, r=r, p=p,
                G=(A1.T @ p @ A2) * s, GY=(f @ A3).T @ c, T=f @ A3)


@lru_cache(maxsize=None)
def _chain(kind, n, d, seed, degree, wrt, dps):
    """The library's float64 run (intermediates and bounds) next to the exact quantities."""
    with mpmath.workdps(dps):
        raw = _raw(kind, n, d, seed)
        ex = _exact(raw)
        prob = fast_api._gradient_problem(*(raw[k] for k in NAMES), wrt, None, None, "check")
        lo, hi = interval_of(prob.scores)
        poly = exp_poly("chebyshev", degree, lo, hi, 53)
        gc = fast_api._cert_degree("chebyshev", lo, hi, 53, degree)
        polyc = exp_poly("chebyshev", gc, lo, hi, 53)
        ptc, rc64 = prob.ensure_cert(polyc)           # the certificate's low-degree pass
        final = fast_api._final(prob)
        rows, plan, coef = prob.query_rows(poly, final)
        pt = prob.terms(poly)
        rows64 = C.to_rows64(F64, rows, "check")
        out = dict(ex, kind=kind, wrt=wrt, raw=raw, prob=prob, inst=prob.inst, pt=pt, poly=poly,
                   ptc=ptc, polyc=polyc, rows=rows, rows64=rows64, rc64=rc64, cert=prob.cert,
                   Qc=_mp(prob.Qc), hc=_mp(prob.hc), Kc=_mp(prob.Kc), n=n, d=d)
        for key, p_, a_ in (("ft", poly, _mp(rows["alpha"])), ("ftc", polyc, _mp(rc64["alpha"]))):
            pl = monomial_plan(d, p_.degree)          # f~ = diag(alpha~)^-1 U', exact sums of
            Phi = features(F64, prob.Qc, pl, coef_vector(F64, p_, pl))   # the computed features
            Psi = features(F64, prob.Kc, pl)          # centred keys, as the library's
            out[key] = (_mp(Phi).T @ _mp(Psi)) / a_[:, None]
            out["U" if key == "ft" else "Uc"] = out[key] * a_[:, None]
        out["alpha"] = _mp(rows["alpha"])
        out["W"] = _mp(prob.keys.columns(0, n))       # the value columns as computed
        out["Wc"] = _mp(prob.ckeys.columns(0, n))
        # the centred scores S'_ij = <q_i, A2_j - kappa>, exact: S minus a constant per row
        kappa = _mp(raw["A2"][0] - prob.Kc[0])
        out["Sc_exact"] = (out["A1"] @ out["X"]) * out["s"] @ (out["A2"] - kappa[None, :]).T
        res = final.result(prob.keys.ensure(degree), prob.lay, prob.s)
        if wrt == "X":
            G, G1, G2 = res
            out.update(Gc=_mp(G), G1=abs(G1), G2=abs(G2),
                       terms=C.terms_X(prob.inst, pt, rows64, prob.cert))
            out["bound"] = C.gradient_X_bound(prob.inst, pt, rows64, prob.cert, abs(G1), abs(G2))[0]
        else:
            out.update(Gc=_mp(res), termsY=C.terms_Y(prob.inst, pt, rows64, prob.cert))
            out["bound"] = C.gradient_Y_bound(prob.inst, pt, rows64, prob.cert)[0]
        return out


def _each(fn, wrt="X"):
    """A step over every case: fn(chain) -> (lhs, rhs) or a list of (label, lhs, rhs)."""
    def compute():
        out = []
        for kind, n, d, seed, degree in CASES:
            ch = _chain(kind, n, d, seed, degree, wrt, mpmath.mp.dps)
            res = fn(ch)
            res = res if isinstance(res, list) else [("", *res)]
            out.extend((f"{kind} g={degree} {lab}".strip(), lhs, rhs) for lab, lhs, rhs in res)
        return out
    return compute


def _bcast(v, shape):
    return np.broadcast_to(np.asarray(v, dtype=object), shape)


# ---------------------------------------------------------------------------
# Lemma D.8 (ours): the scores' interval and the relative error of f~

def _d8_interval(ch):
    Sc = ch["Qc"] @ ch["Kc"].T
    sc = ch["inst"].scores
    absdot = _mpabs(ch["Qc"]) @ _mpabs(ch["Kc"]).T
    return [("max S~ <= hi", max(Sc.ravel()), mpmath.mpf(sc.hi)),
            ("lo <= min S~", mpmath.mpf(sc.lo), min(Sc.ravel())),
            ("<|q~|,|k|> <= Rabs", max(absdot.ravel()), mpmath.mpf(sc.Rabs))]


def _d8_sigma(ch):
    Sc = ch["Qc"] @ ch["Kc"].T
    return max(_mpabs(Sc - ch["Sc_exact"]).ravel()), mpmath.mpf(ch["inst"].scores.sigma)


def _d8_absfeatures(ch):
    plan = monomial_plan(ch["d"], ch["poly"].degree)
    Phi = _mpabs(_mp(features(F64, ch["prob"].Qc, plan, coef_vector(F64, ch["poly"], plan))))
    Psi = _mpabs(_mp(features(F64, ch["prob"].Kc, plan)))
    return max((Phi.T @ Psi).ravel()), mpmath.mpf(ch["pt"].PabsF)


def _d8_exp(ch):
    expS = np.asarray(np.frompyfunc(mpmath.exp, 1, 1)(ch["Sc_exact"]), dtype=object)
    return max(_mpabs(ch["U"] / expS - 1).ravel()), mpmath.mpf(ch["pt"].delta_u)


def _d8_alpha(ch):
    expS = np.asarray(np.frompyfunc(mpmath.exp, 1, 1)(ch["Sc_exact"]), dtype=object)
    a = np.sum(expS, axis=1)
    return max(_mpabs(ch["alpha"] / a - 1)), mpmath.mpf(ch["pt"].delta_a)


LEMMA_D8 = Statement(
    id="Lemma D.8 (ours)",
    summary="scores in the data's interval lo..hi; |f~ - f| <= eta f with eta from the "
            "polynomial's error on lo..hi and the float64 rounding",
    printed=("Lemma D.8 (ours): with q~_i the computed rows of s A1 X and k_j the rows of A2, "
             "the box and Cauchy-Schwarz bounds give lo <= <q~_i, k_j> <= hi and "
             "<|q~_i|, |k_j|> <= Rabs; |S~ - S| <= sigma; if sup_[lo,hi] |P e^-t - 1| <= eps_P, "
             "the computed features' products U' satisfy |U'/e^S - 1| <= delta_u = (eps_P + "
             "delta_F) e^sigma + expm1(sigma), the computed row sums |alpha~/alpha - 1| <= delta_a, "
             "and f~ = diag(alpha~)^-1 U' has |f~ - f| <= eta f, eta = (delta_u + delta_a) / "
             "(1 - delta_a)."),
    steps=[
        Step("scores in [lo, hi]", "box and Cauchy-Schwarz bounds of the computed queries and "
             "centred keys k = A2 - kappa hold every score <q~, k> and every <|q~|, |k|>", "mpmath",
             _each(_d8_interval), relation="<="),
        Step("query rounding", "|<q~_i, k~_j> - <q_i, k_j>| <= sigma (rounding of s A1 X and of "
             "A2 - kappa); <q_i, k_j> = S_ij - <q_i, kappa> leaves f unchanged", "mpmath",
             _each(_d8_sigma), relation="<="),
        Step("features' absolute sums", "sum_alpha |Phi_ia Psi_ja| <= P_absF = P_abs(Rabs)(1 + "
             "gamma_F) for the computed features", "mpmath", _each(_d8_absfeatures),
             relation="<="),
        Step("relative error of exp~", "|U'_ij / e^{S'_ij} - 1| <= delta_u, S' = <q, A2 - kappa> "
             "(polynomial on [lo, hi], feature rounding, query rounding)", "mpmath", _each(_d8_exp), relation="<="),
        Step("row sums", "|alpha~_i / alpha_i - 1| <= delta_a, alpha = e^{S'} 1 (adds the "
             "rounding of the blocked sums)", "mpmath", _each(_d8_alpha), relation="<="),
        Step("|f~ - f| <= eta f", "normalisation: a relative error delta on every entry of exp "
             "is at most about 2 delta on f", "mpmath",
             _each(lambda ch: [("main", _mpabs(ch["ft"] - ch["f"]), mpmath.mpf(ch["pt"].eta) * ch["f"]),
                               ("certificate's pass", _mpabs(ch["ftc"] - ch["f"]),
                                mpmath.mpf(ch["ptc"].eta) * ch["f"])]),
             relation="<="),
    ],
)


# ---------------------------------------------------------------------------
# Lemma D.9 (ours): per-row errors from the sums that occur

# column group, its pass, sum_j |w_j| (attngrad.fast.instance), computed as a product
_GROUPS_X = (("h", "main", "Sh", False), ("habs", "cert", "Sh", False),
             ("hsq", "cert", "Sh2", True), ("w1", "cert", "SnA", True),
             ("w0", "cert", "SA", False), ("A2sq", "cert", "SA2sq", True))


def _d9_columns(ch):
    inst = ch["inst"]
    out = []
    for group, part, Sname, product in _GROUPS_X:
        Sw = getattr(inst, Sname) * (1 + 8 * inst.u if product else 1)
        pt, rows, ft, W, lay = ((ch["pt"], ch["rows64"], ch["ft"], ch["W"], ch["prob"].lay)
                                if part == "main" else
                                (ch["ptc"], ch["rc64"], ch["ftc"], ch["Wc"], ch["prob"].layc))
        xi = C.column_error(inst, pt, rows["alpha"], Sw)
        lhs = _mpabs(_mp(rows[group]) - ft @ W[:, lay.groups[group]])
        out.append((f"(f~ {group})", lhs, _mp(xi)))
    return out


def _d9_rowsums(ch):
    """The rows of f~ - f nearly sum to 0: |sum_j (f~ - f)_ij| <= xi1_i (rounding of alpha~)."""
    xi1 = C.column_error(ch["inst"], ch["pt"], ch["rows64"]["alpha"], np.array([float(ch["n"])]))
    return _mpabs(np.sum(ch["ft"] - ch["f"], axis=1))[:, None], _mp(xi1)


def _d9_variance(ch):
    """sum_j f_ij (h~_jm - m~_im)^2 <= the library's variance bound (m~ = computed f~ h)."""
    inst, pt, rows64, ptc, rc = ch["inst"], ch["pt"], ch["rows64"], ch["ptc"], ch["rc64"]
    alpha, m = rows64["alpha"], rows64["h"]
    Fh_abs = C.weighted_sum(inst, ptc, rc["alpha"], rc["habs"], inst.Sh)
    D = C.column_error(inst, pt, alpha, inst.Sh) + pt.eta * Fh_abs + inst.beta[None, :]
    F_sq = C.weighted_product_sum(inst, ptc, rc["alpha"], rc["hsq"], inst.Sh2)
    V = C.variance(np, F_sq, m * m, abs(m) * D)
    mm = _mp(m)
    lhs = np.array([[sum(ch["f"][i, j] * (ch["hc"][j, c] - mm[i, c]) ** 2 for j in range(ch["n"]))
                     for c in range(ch["d"])] for i in range(ch["n"])], dtype=object)
    return lhs, _mp(V)


def _d9_weighted(ch):
    t, f, hc, A2 = ch["terms"], ch["f"], ch["hc"], ch["A2"]
    nh = _mpsqrt(np.sum(hc * hc, axis=1))
    return [("f|h~|", f @ _mpabs(hc), _mp(t["Fh_abs"])),
            ("f (||h~|| |A2|)", f @ (nh[:, None] * _mpabs(A2)), _mp(t["F1"])),
            ("f |A2|", f @ _mpabs(A2), _mp(t["F0"]))]


def _d9_fh(ch):
    return _mpabs(_mp(ch["rows"]["h"]) - ch["f"] @ ch["h"]), _mp(ch["terms"]["Dfh"])


def _d9_c(ch):
    return _mpabs(_mp(ch["rows"]["c"]) - ch["c"]), _mp(ch["terms"]["Dc"])


def _d9_r(ch):
    return _mpabs(_mp(ch["rows"]["r"]) - ch["r"]), _mp(ch["terms"]["rho"])


LEMMA_D9 = Statement(
    id="Lemma D.9 (ours)",
    summary="per-row errors of f~ h, c~, r~ and the f-weighted sums, from the sums that occur",
    printed=("Lemma D.9 (ours): for a value column w, the computed (f~ w)_i errs by at most "
             "xi_i = gamma_{Nn+k+2} P_absF (sum_j |w_j|) / alpha~_i (+ underflow); sum_j f_ij w_j "
             "<= ((f~ w)_i + xi_i) / (1 - eta) for w >= 0; |(f~h)~ - f h| <= Dfh = xi + eta f|h| + "
             "beta, |c~ - c| <= Dc = Dfh + u'|c~|, |r~ - r| <= rho = gamma_d sum |(f~h)~ c~| + "
             "sum Dfh |c~| + sum (f|h| + beta) Dc."),
    steps=[
        Step("(f~ w) within xi", "each column group of the query pass against its exact value "
             "with the same computed features and alpha~", "mpmath", _each(_d9_columns),
             relation="<="),
        Step("f-weighted sums", "f <= f~ / (1 - eta): the computed f~-weighted sums bound the "
             "f-weighted ones", "mpmath", _each(_d9_weighted), relation="<="),
        Step("rows of f~ - f", "|sum_j (f~ - f)_ij| = |sum_j U'_ij / alpha~_i - 1| <= the rounding "
             "of alpha~ (xi of the column of ones)", "mpmath", _each(_d9_rowsums), relation="<="),
        Step("variance", "sum_j f_ij (h_jm - m~_im)^2 = f(h^2) - m~^2 - 2 m~ (f h - m~) <= "
             "F(h^2) - m~^2 + 2 |m~| D (the rows of f sum to 1)", "mpmath", _each(_d9_variance),
             relation="<="),
        Step("|(f~h)~ - f h| <= Dfh", "rounding xi, f~ - f (eta f|h|) and h~ - h (beta)",
             "mpmath", _each(_d9_fh), relation="<="),
        Step("|c~ - c| <= Dc", "Dfh plus the rounding of the subtraction of E", "mpmath",
             _each(_d9_c), relation="<="),
        Step("|r~ - r| <= rho", "r = <f h, c>: the three differences", "mpmath", _each(_d9_r),
             relation="<="),
    ],
)


# ---------------------------------------------------------------------------
# Theorem D.10 (ours): the dL/dX bound

def _p_prime(ch):
    ft, c1, r1, hc = ch["ft"], _mp(ch["rows"]["c"]), _mp(ch["rows"]["r"]), ch["hc"]
    return ft * (c1 @ hc.T) - r1[:, None] * ft


def _entrywise_rhs(ch):
    t, hc = ch["terms"], ch["hc"]
    nh = _mpsqrt(np.sum(hc * hc, axis=1))
    return ch["f"] * (_mp(t["a"])[:, None] * nh[None, :] + _mp(t["b"])[:, None])


def _centred_norms(ch):
    """||h~_j - m~_i|| (n x n), m~ the computed f~ h."""
    m, hc = _mp(ch["rows"]["h"]), ch["hc"]
    return np.array([[mpmath.sqrt(sum((hc[j, c] - m[i, c]) ** 2 for c in range(ch["d"])))
                      for j in range(ch["n"])] for i in range(ch["n"])], dtype=object)


def _entrywise_centred_rhs(ch):
    t = ch["terms"]
    return ch["f"] * (_mp(t["a"])[:, None] * _centred_norms(ch) + _mp(t["b2"])[:, None])


def _d10_centred_rows(ch):
    lhs = np.sum(ch["f"] * _centred_norms(ch) ** 2, axis=1)
    return lhs, _mp(ch["terms"]["Vn"])


def _d10_rowsums(ch):
    """sum_j (the smaller entrywise bound) |A2_jb| <= the library's row sums (F1, F0 and the
    Cauchy-Schwarz of the centred form)."""
    A2 = _mpabs(ch["A2"])
    plain, cent = _entrywise_rhs(ch) @ A2, _entrywise_centred_rhs(ch) @ A2
    dense = np.array([[min(a, b) for a, b in zip(r1, r2)] for r1, r2 in zip(plain, cent)],
                     dtype=object)
    return dense, _mp(ch["terms"]["rowsum"])


def _prop(ch):
    return ch["inst"].s * (ch["inst"].A1abs.T @ ch["terms"]["rowsum"])


def _d10_contraction(ch):
    dense = (_mpabs(ch["A1"]).T @ _mpabs(_p_prime(ch) - ch["p"]) @ _mpabs(ch["A2"])) * ch["s"]
    return dense, _mp(_prop(ch))


def _d10_gprime(ch):
    gp = (ch["A1"].T @ _p_prime(ch) @ ch["A2"]) * ch["s"]
    return _mpabs(gp - ch["G"]), _mp(_prop(ch))


def _d10_rounding(ch):
    gp = (ch["A1"].T @ _p_prime(ch) @ ch["A2"]) * ch["s"]
    rnd = C.rounding_X(ch["inst"], ch["pt"], ch["rows64"], ch["G1"], ch["G2"])
    return _mpabs(ch["Gc"] - gp), _mp(rnd)


THEOREM_D10 = Statement(
    id="Theorem D.10 (ours)",
    summary="||g~ - dL/dX|| <= s |A1|^T (a f(||h|| o |A2|) + b f|A2|) + rounding of the sums "
            "that occur: a bound with f's low-rank structure, O(n k1 d)",
    printed=("Theorem D.10 (ours): with p~' = f~ o (c~ h~^T) - diag(r~) f~ (the computed vectors, "
             "exact arithmetic), |p~' - p|_ij <= f_ij (a_i ||h~_j|| + b_i), a_i = eta ||c~_i|| + "
             "||Dc_i||, b_i = eta |r~_i| + sum_m (|c~_im| + Dc_im) beta_m + rho_i, and also "
             "|p~' - p|_ij <= f_ij (a_i ||h~_j - m~_i|| + b2_i), m~ = f~ h as computed, b2_i = "
             "(1 + eta) tau_i + sum_m (|c~_im| + Dc_im)(beta_m + Dfh_im); so |s A1^T p~' A2 - g|_ab "
             "<= s sum_i |A1_ia| min(a_i (f (||h~|| o |A2|))_ib + b_i (f|A2|)_ib, a_i sqrt(Vn_i) "
             "sqrt(f A2^2)_ib + b2_i (f|A2|)_ib); the computed g~ differs from s A1^T p~' A2 by at "
             "most gamma_N1 P_absF s "
             "(|A1|^T |c~|/alpha~) (|h~|^T |A2|) + gamma_N2 P_absF s (|A1|^T |r~|/alpha~) "
             "(1^T |A2|) + gamma_3 s (|G1| + |G2|)."),
    steps=[
        Step("entrywise", "|p~' - p|_ij <= f_ij (a_i ||h~_j|| + b_i) (triangle and "
             "Cauchy-Schwarz on q = c h^T)", "mpmath",
             _each(lambda ch: (_mpabs(_p_prime(ch) - ch["p"]), _entrywise_rhs(ch))),
             relation="<="),
        Step("entrywise, centred", "|p~' - p|_ij <= f_ij (a_i ||h~_j - m~_i|| + b2_i): q~ - r~ = "
             "<c~, h~_j - m~> - tau, as r~ = <c~, m~> + tau", "mpmath",
             _each(lambda ch: (_mpabs(_p_prime(ch) - ch["p"]), _entrywise_centred_rhs(ch))),
             relation="<="),
        Step("centred rows", "sum_j f_ij ||h~_j - m~_i||^2 <= Vn_i (the variance bound)", "mpmath",
             _each(_d10_centred_rows), relation="<="),
        Step("row sums", "sum_j (entrywise bound)_ij |A2_jb|, the smaller of the two forms, <= "
             "a F1 + b F0 or a sqrt(Vn) sqrt(f A2^2) + b2 F0 (Cauchy-Schwarz in j)", "mpmath",
             _each(_d10_rowsums), relation="<="),
        Step("contraction", "s |A1|^T |p~' - p| |A2| <= the library's propagation term "
             "s |A1|^T rowsum: O(n k1 d) instead of n^2", "mpmath", _each(_d10_contraction),
             relation="<="),
        Step("|g~' - g| <= propagation", "the exact-arithmetic gradient of the computed vectors "
             "against dL/dX", "mpmath", _each(_d10_gprime), relation="<="),
        Step("rounding of the final contractions", "|g~ (float64) - g~'| <= the running bound "
             "from the sums that occur", "mpmath", _each(_d10_rounding), relation="<="),
        Step("certified", "||g~ - dL/dX||_inf <= the bound attngrad.fast returns (float64)",
             "mpmath", _each(lambda ch: (max(_mpabs(ch["Gc"] - ch["G"]).ravel()),
                                         mpmath.mpf(ch["bound"]))), relation="<="),
    ],
)


# ---------------------------------------------------------------------------
# Lemma D.11 (ours): the dL/dY bound

def _gY_prime(ch):
    return (ch["ft"] @ ch["A3"]).T @ _mp(ch["rows"]["c"])


LEMMA_D11 = Statement(
    id="Lemma D.11 (ours)",
    summary="||g~_Y - dL/dY|| <= (f|A3|)^T (eta |c~| + Dc) + the rounding of the sums that occur",
    printed=("Lemma D.11 (ours): with g~_Y' = A3^T f~^T c~ (computed c~, exact arithmetic), "
             "|g~_Y' - A3^T f^T c|_lm <= sum_i (f|A3|)_il (eta |c~_im| + Dc_im), and the computed "
             "g~_Y differs from g~_Y' by at most gamma_NY P_absF (sum_j |A3_jl|) sum_i |c~_im| / "
             "alpha~_i."),
    steps=[
        Step("|g~_Y' - g_Y| <= propagation", "A3^T (f~ - f)^T c~ + A3^T f^T (c~ - c) with "
             "|f~ - f| <= eta f", "mpmath",
             _each(lambda ch: (_mpabs(_gY_prime(ch) - ch["GY"]), _mp(ch["termsY"][0])), "Y"),
             relation="<="),
        Step("rounding", "|g~_Y (float64) - g~_Y'| <= the running bound", "mpmath",
             _each(lambda ch: (_mpabs(ch["Gc"] - _gY_prime(ch)), _mp(ch["termsY"][1])), "Y"),
             relation="<="),
        Step("certified", "||g~_Y - dL/dY||_inf <= the bound attngrad.fast returns", "mpmath",
             _each(lambda ch: (max(_mpabs(ch["Gc"] - ch["GY"]).ravel()),
                               mpmath.mpf(ch["bound"])), "Y"), relation="<="),
    ],
)


# ---------------------------------------------------------------------------
# Lemma D.12 (ours): the forward pass


@lru_cache(maxsize=None)
def _attention(kind, n, d, seed, degree, dps):
    with mpmath.workdps(dps):
        raw = _raw(kind, n, d, seed)
        Q, K, V = raw["A1"], raw["A2"], raw["A3"]
        s = 1.0 / d
        Kc = centre_keys(F64, K)
        inst = attention_instance(F64, Q, K, V, s, Q * s, "check", Kc)
        prob = fast_api._Problem(F64, "attention", inst, Q * s, Kc, lambda part: lowrank.
                                 value_columns(F64, "attention", part, V=V), None, None, "check", d)
        lo, hi = interval_of(inst.scores)
        poly = exp_poly("chebyshev", degree, lo, hi, 53)
        prob.ensure_cert(exp_poly("chebyshev", fast_api._cert_degree("chebyshev", lo, hi, 53,
                                                                     degree), lo, hi, 53))
        rows, _, _ = prob.query_rows(poly)
        pt = prob.terms(poly)
        xi, prop = C.terms_attention(inst, pt, C.to_rows64(F64, rows, "check"), prob.cert)
        T = attngrad.attention(_mp(Q), _mp(K), _mp(V))
        return _mpabs(_mp(rows["V"]) - T), _mp(xi + prop)


LEMMA_D12 = Statement(
    id="Lemma D.12 (ours)",
    summary="forward pass: |T~ - f V| <= xi + eta f|V| entry by entry",
    printed=("Lemma D.12 (ours): the computed T~ = (U0 V0^T V) / alpha~ satisfies |T~ - f V|_im "
             "<= xi_im + eta (f|V|)_im, xi from the sums that occur (Lemma D.9), f|V| bounded by "
             "the computed f~|V| / (1 - eta)."),
    steps=[
        Step("entrywise", "|T~ - f V| <= xi + eta f|V| (Q = A1, K = A2, V = A3 of each case)",
             "mpmath", lambda: [(f"{c[0]} g={c[4]}", *_attention(*c, mpmath.mp.dps))
                                for c in CASES], relation="<="),
    ],
)

STATEMENTS = [LEMMA_D8, LEMMA_D9, THEOREM_D10, LEMMA_D11, LEMMA_D12]
