"""Section D: the almost-linear algorithm (Lemmas D.1 to D.5, Theorem D.6).

Every "eps/poly(n)" of the paper is replaced by an explicit bound (the library's own,
data-following certificate is proven in derivations/sD_fast_certificate.py): with eta the certified relative error of f~ (f~_ij = f_ij (1 + e_ij), |e_ij| <= eta),
H_m = max_j |h_jm|, Q_i = sum_m |c~_im| H_m and Dq_i = sum_m |c~_im - c_im| H_m,

  |f~ - f|_ij <= eta f_ij                                   (Lemma D.1)
  |c~ - c|_im <= eta sum_j f_ij |h_jm| <= eta H_m            (Lemma D.2)
  |q~ - q|_ij <= Dq_i <= eta sum_m H_m^2                     (Lemma D.3)
  |p1~ - p1|_ij <= f_ij (eta Q_i + Dq_i)                     (Lemma D.4)
  |p2~ - p2|_ij <= f_ij (eta |r~_i| + eta Q_i + Dq_i)        (Lemma D.5)
  |g~ - g|_ab <= s max_j|A2_jb| sum_i |A1_ia| (eta (2 Q_i + |r~_i|) + 2 Dq_i) (+ rounding)

The chains run in mpmath at 50 digits on exact dyadic instances (one uniform, one whose
queries are all equal, so all rows of f are equal), at a low polynomial degree so that
the approximation errors are large enough to test the bounds.
"""
from __future__ import annotations

import math
from functools import lru_cache

import mpmath
import numpy as np

import attngrad
from attngrad import fast
from attngrad.backend import MpmathNamespace
from attngrad.fast import certificate, degree as fast_degree
from attngrad.fast.features import coef_vector, features, monomial_plan
from attngrad.fast.instance import centre_keys, gradient_instance
from attngrad.kron import rowwise_kron, vec
from attngrad.poly import abs_sum, exp_poly

from .core import MATMUL_SHAPES, Erratum, Statement, Step
from .gpu import from_device, on_device
from .instances import adversarial_instance, as_mpmath, dyadic_instance

# n, d, seed, kind, degree; kind: None (dyadic), an adversarial kind, or "zero-residual"
# (dyadic, then E := f h at the working precision, so c ~ 0 and only the error of c~ is left)
CASES = ((10, 2, 1, None, 2), (7, 3, 5, "rankone", 2), (10, 2, 1, "zero-residual", 2))


def _mpabs(a):
    return np.asarray(np.frompyfunc(abs, 1, 1)(a), dtype=object)


@lru_cache(maxsize=None)
def _chain(n, d, seed, kind, degree, dps):
    """Every quantity of Section D for one instance, in mpmath (dps digits)."""
    with mpmath.workdps(dps):
        raw = dyadic_instance(n, d, seed=seed) if kind in (None, "zero-residual") else \
            adversarial_instance(n, d, seed=seed, kind=kind)
        m = as_mpmath(raw)
        A1, A2, A3, E, X, Y = (m[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))
        if kind == "zero-residual":
            E = attngrad.f(A1, A2, X) @ (A3 @ Y)
        ns = MpmathNamespace()
        s = mpmath.mpf(1) / d
        Q = (A1 @ X) * s
        Kc = centre_keys(ns, A2)                         # the library's keys: A2 - kappa
        inst = gradient_instance(ns, A1, A2, A3, E, X, Y, s, Q, A3 @ Y, "check", Kc)
        lo, hi = fast_degree.interval_of(inst.scores)   # the library's interval for P
        poly = exp_poly("chebyshev", degree, lo, hi, prec=mpmath.mp.prec)
        plan = monomial_plan(d, degree)
        k1 = len(plan[0])
        coef = coef_vector(ns, poly, plan)
        U0 = features(ns, Q, plan, coef).T               # n x k1
        V0 = features(ns, Kc, plan).T                    # n x k1
        alpha_t = U0 @ (V0.T @ ns.ones((n,)))
        U1 = U0 / alpha_t[:, None]
        V1 = V0
        ft = U1 @ V1.T
        f = attngrad.f(A1, A2, X)                        # 1/d inside exp, as in Section D
        h = A3 @ Y
        c = f @ h - E
        q = c @ h.T
        p1 = f * q
        r = np.sum(p1, axis=1)
        p2 = r[:, None] * f
        p = p1 - p2
        ct = U1 @ (V1.T @ h) - E
        qt = ct @ h.T
        U2, V2 = ct, h
        U3, V3 = rowwise_kron(U1, U2), rowwise_kron(V1, V2)
        rt = np.array([(U1[j] @ (V1.T @ V2)) @ U2[j] for j in range(n)], dtype=object)
        U4, V4 = rt[:, None] * U1, V1
        p1t, p2t = U3 @ V3.T, U4 @ V4.T
        G = attngrad.gradient(A1, A2, A3, E, X, Y)
        gt = (A1.T @ (p1t - p2t) @ A2) * s
        eta = mpmath.mpf(certificate.poly_terms(inst, poly, abs_sum(poly.coeffs, inst.scores.Rabs),
                                                k1, n + 1).eta)
        H = np.max(_mpabs(h), axis=0)
        Qi = _mpabs(ct) @ H
        Dq = _mpabs(ct - c) @ H
        lib = fast.gradient_fixed_degree(A1, A2, A3, E, X, Y, degree=degree, return_info=True)
        GY = attngrad.gradient(A1, A2, A3, E, X, Y, wrt="Y")
        libY = fast.gradient_fixed_degree(A1, A2, A3, E, X, Y, degree=degree, wrt="Y",
                                          return_info=True)
        return dict(GY=GY, libY=libY, n=n, d=d, k1=k1, degree=degree, s=s, A1=A1, A2=A2, A3=A3, E=E, X=X, Y=Y,
                    U1=U1, V1=V1, U2=U2, V2=V2, U3=U3, V3=V3, U4=U4, V4=V4, ft=ft, f=f, h=h,
                    c=c, q=q, p1=p1, p2=p2, p=p, r=r, ct=ct, qt=qt, rt=rt, p1t=p1t, p2t=p2t,
                    G=G, gt=gt, eta=eta, H=H, Qi=Qi, Dq=Dq, poly=poly, lo=lo, hi=hi, lib=lib,
                    inst=inst, Q=Q, Kc=Kc)


def _each(fn):
    """A step over every case of CASES: fn(chain) -> (lhs, rhs) or a list of them."""
    def compute():
        out = []
        for case in CASES:
            ch = _chain(*case, mpmath.mp.dps)
            res = fn(ch)
            res = res if isinstance(res, list) else [("", *res)]
            label = f"n={ch['n']},d={ch['d']},g={ch['degree']}"
            out.extend((f"{label} {lab}".strip(), lhs, rhs) for lab, lhs, rhs in res)
        return out
    return compute


def _col(v):
    return np.asarray(v, dtype=object)[:, None]


# ---------------------------------------------------------------------------
# Lemma D.1

def _d1_printed_hyp(ch):
    A1, X = ch["A1"], ch["X"]
    B = max(abs(v) for v in (A1.T @ X).ravel())  # as printed: ||A1^T X||_inf
    return B, B


def _d1_corrected_hyp(ch):
    A1, A2, X = ch["A1"], ch["A2"], ch["X"]
    B = max(max(abs(v) for v in (A1 @ X).ravel()), max(abs(v) for v in A2.ravel()))
    S = (A1 @ X @ A2.T) * ch["s"]
    return [("max|S| <= B^2", max(abs(v) for v in S.ravel()), B * B),
            ("R <= B^2 (the scores' bound)", mpmath.mpf(ch["inst"].scores.R), B * B)]


def _d1_scores_in_interval(ch):
    S = ch["Q"] @ ch["Kc"].T    # the scores less <q_i, kappa> per row (f unchanged)
    return [("max S <= hi", max(S.ravel()), mpmath.mpf(ch["hi"])),
            ("lo <= min S", mpmath.mpf(ch["lo"]), min(S.ravel()))]


def _d1_poly_certificate(ch):
    poly, lo, hi = ch["poly"], mpmath.mpf(ch["lo"]), mpmath.mpf(ch["hi"])
    coeffs = list(reversed(poly.coeffs))
    worst = max(abs(mpmath.polyval(coeffs, t) * mpmath.exp(-t) - 1)
                for t in mpmath.linspace(lo, hi, 401))
    return worst, mpmath.mpf(poly.rel_error)


LEMMA_D1 = Statement(
    id="Lemma D.1",
    summary="low-rank U1 V1^T ~ f with |f~ - f| <= eta f (polynomial method)",
    printed=("Lemma D.1 (Section 3 of [AS23]): for any B = o(sqrt(log n)) there is k1 = n^{o(1)} such "
             "that if ||A1^T X||_inf <= B and ||A2||_inf <= B, there are U1, V1 in R^{n x k1} with "
             "||U1 V1^T - f(x)||_inf <= eps/poly(n), f(x) = D^{-1} exp(A1 X A2^T / d); built in "
             "n^{1+o(1)} time."),
    steps=[
        Step("hypothesis ||A1^T X||_inf", "the hypothesis as printed: A1^T X must be defined",
             "mpmath", _each(_d1_printed_hyp), ill_formed=MATMUL_SHAPES),
        Step("scores in [lo, hi]", "the library's interval (box and Cauchy-Schwarz bounds with "
             "centred keys, Lemma D.8 (ours)) holds every score less its row's shift",
             "mpmath", _each(_d1_scores_in_interval), relation="<="),
        Step("polynomial certificate", "sampled sup |P(t) e^-t - 1| on [lo, hi] <= the interval "
             "certificate of attngrad.poly", "mpmath", _each(_d1_poly_certificate), relation="<="),
        Step("||U1 V1^T - f|| explicit", "|U1 V1^T - f|_ij <= eta f_ij, eta from the certificate "
             "(replaces eps/poly(n))", "mpmath",
             _each(lambda ch: (_mpabs(ch["ft"] - ch["f"]), ch["eta"] * ch["f"])), relation="<="),
        Step("k1 = binom(g + d, d)", "U1, V1 have one column per monomial of degree <= g",
             "exact", _each(lambda ch: [("U1", ch["U1"].shape[1], math.comb(ch["degree"] + ch["d"], ch["d"])),
                                        ("V1", ch["V1"].shape[1], math.comb(ch["degree"] + ch["d"], ch["d"]))])),
    ],
    corrected=[
        Step("hypothesis ||A1 X||_inf", "with ||A1 X||_inf, ||A2||_inf <= B every score "
             "|(A1 X A2^T)_ij| / d <= B^2, and so is R", "mpmath", _each(_d1_corrected_hyp),
             relation="<="),
    ],
    errata=[Erratum(
        location="Lemma D.1, hypothesis",
        printed="||A1^T X||_inf <= B",
        corrected="||A1 X||_inf <= B (as in Definition 1.4); then every score of A1 X A2^T / d "
                  "lies in [-B^2, B^2]",
        evidence="A1^T X is a (d x n)(d x d) product, undefined unless n = d: at n = 10, d = 2 "
                 "evaluating the printed hypothesis raises a shape error. Rerun: "
                 "attngrad check --only \"Lemma D.1\"",
        step="hypothesis ||A1^T X||_inf")],
)


# ---------------------------------------------------------------------------
# Lemma D.2

LEMMA_D2 = Statement(
    id="Lemma D.2",
    summary="c~ = U1 V1^T h - E with |c~ - c|_im <= eta H_m",
    printed=("Lemma D.2: d = O(log n), E and h(y) O(log n)-bit: ||U1 V1^T h(y) - E - c(x)||_inf <= "
             "eps/poly(n). Proof: = ||(U1 V1^T - f(x)) h(y)||_inf <= eps/poly(n)."),
    steps=[
        Step("identity", "U1 V1^T h - E - c = (U1 V1^T - f) h, since c = f h - E "
             "(c = attngrad.c with the 1/d of Section D)", "mpmath",
             _each(lambda ch: (ch["U1"] @ ch["V1"].T @ ch["h"] - ch["E"]
                               - attngrad.c(ch["A1"], ch["A2"], ch["A3"], ch["E"], ch["X"], ch["Y"]),
                               (ch["ft"] - ch["f"]) @ ch["h"]))),
        Step("explicit bound", "|(f~ - f) h|_im <= eta sum_j f_ij |h_jm| <= eta max_j |h_jm| "
             "(replaces eps/poly(n); no factor n)", "mpmath",
             _each(lambda ch: [("row sums", _mpabs(ch["ct"] - ch["c"]), ch["eta"] * (ch["f"] @ _mpabs(ch["h"]))),
                               ("H_m", _mpabs(ch["ct"] - ch["c"]),
                                np.array([list(ch["eta"] * ch["H"])] * ch["n"], dtype=object))]),
             relation="<="),
    ],
)


# ---------------------------------------------------------------------------
# Lemma D.3

def _d3_printed_rank(ch):
    """Columns of the printed low-rank factors of q~ = h (U1 V1^T h - E)^T, measured on the
    factors themselves (their product is the step "printed factorisation")."""
    h, U1, V1, E = ch["h"], ch["U1"], ch["V1"], ch["E"]
    bound = max(ch["d"], ch["k1"]) + ch["d"]
    return [("columns of [h h^T V1, -h]", np.hstack([h @ (h.T @ V1), -h]).shape[1], bound),
            ("columns of [U1, E]", np.hstack([U1, E]).shape[1], bound)]


LEMMA_D3 = Statement(
    id="Lemma D.3",
    summary="q~ = c~ h^T, rank k2 = d, |q~ - q|_ij <= eta sum_m H_m^2",
    printed=("Lemma D.3: k2 = n^{o(1)}; q(x) := h(y) c(x)^T; U2, V2 in R^{n x k2} with "
             "||U2 V2^T - q(x)||_inf <= eps/poly(n), via q~(x) = h(y)(U1 V1^T h(y) - E)^T = "
             "h h^T V1 U1^T - h E^T; k2 = max{d, k} + d; error <= d ||h||_inf ||c~ - c||_inf."),
    steps=[
        Step("q := h c^T", "the printed q(x) = h(y) c(x)^T is Definition C.3's q(x) = c(x) h(y)^T",
             "mpmath", _each(lambda ch: (ch["h"] @ ch["c"].T, ch["q"]))),
        Step("printed factorisation", "h (U1 V1^T h - E)^T = h h^T V1 U1^T - h E^T", "mpmath",
             _each(lambda ch: (ch["h"] @ (ch["U1"] @ ch["V1"].T @ ch["h"] - ch["E"]).T,
                               ch["h"] @ ch["h"].T @ ch["V1"] @ ch["U1"].T - ch["h"] @ ch["E"].T))),
        Step("printed error step", "||q~ - q||_inf <= d ||h||_inf ||c~ - c||_inf", "mpmath",
             _each(lambda ch: (max(abs(v) for v in (ch["qt"] - ch["q"]).ravel()),
                               ch["d"] * max(abs(v) for v in ch["h"].ravel())
                               * max(abs(v) for v in (ch["ct"] - ch["c"]).ravel()))),
             relation="<="),
        Step("k2 = max{d, k} + d suffices", "the printed factors [h h^T V1, -h], [U1, E] "
             "(built; their product is the printed factorisation) have k1 + d <= max{d, k1} + d "
             "columns", "exact", _each(_d3_printed_rank), relation="<="),
    ],
    corrected=[
        Step("q = c h^T", "Definition C.3: q = c h^T is attngrad.q (1/d of Section D), and "
             "U2 V2^T (U2 = c~, V2 = h) = (U1 V1^T h - E) h^T expanded as U1 (V1^T h) h^T - E h^T",
             "mpmath",
             _each(lambda ch: [("q", ch["c"] @ ch["h"].T,
                                attngrad.q(ch["A1"], ch["A2"], ch["A3"], ch["E"], ch["X"], ch["Y"])),
                               ("q~", ch["U2"] @ ch["V2"].T,
                                ch["U1"] @ ((ch["V1"].T @ ch["h"]) @ ch["h"].T) - ch["E"] @ ch["h"].T)])),
        Step("k2 = d", "U2 = c~ and V2 = h have d columns: d <= max{d, k1} + d, so the printed "
             "rank is sufficient but not needed", "exact",
             _each(lambda ch: [("U2", ch["U2"].shape[1], ch["d"]), ("V2", ch["V2"].shape[1], ch["d"])])),
        Step("explicit bound", "|q~ - q|_ij <= sum_m |c~_im - c_im| |h_jm| = Dq_i <= eta sum_m H_m^2",
             "mpmath", _each(lambda ch: [
                 ("Dq", _mpabs(ch["qt"] - ch["q"]), np.array([list(ch["Dq"])] * ch["n"], dtype=object).T),
                 ("eta H^2", ch["Dq"], np.array([ch["eta"] * sum(v * v for v in ch["H"])] * ch["n"],
                                                dtype=object))]), relation="<="),
    ],
    errata=[Erratum(
        location="Lemma D.3, statement and proof",
        printed="q(x) := h(y) c(x)^T, q~(x) = h(y)(U1 V1^T h(y) - E)^T",
        corrected="q(x) := c(x) h(y)^T (Definition C.3), q~(x) = (U1 V1^T h(y) - E) h(y)^T = "
                  "U2 V2^T with U2 = c~ (n x d), V2 = h(y): k2 = d",
        evidence="h c^T is the transpose of Definition C.3's q = c h^T and differs from it: at "
                 "n = 10, d = 2 (dyadic seed 1) the step 'q := h c^T' fails in mpmath. Rerun: "
                 "attngrad check --only \"Lemma D.3\"",
        step="q := h c^T")],
)


# ---------------------------------------------------------------------------
# Lemma D.4

LEMMA_D4 = Statement(
    id="Lemma D.4",
    summary="p1~ = (U1 (/) U2)(V1 (/) V2)^T = f~ o q~, k3 = k1 k2",
    printed=("Lemma D.4: p1(x) := f(x) o q(x); U3 = U1 (/) U2, V3 = V1 (/) V2 give "
             "||U3 V3^T - p1(x)||_inf <= eps/poly(n), built in n^{1+o(1)} time."),
    steps=[
        Step("Fact A.2", "(U1 (/) U2)(V1 (/) V2)^T = (U1 V1^T) o (U2 V2^T) = f~ o q~", "mpmath",
             _each(lambda ch: (ch["p1t"], ch["ft"] * ch["qt"]))),
        Step("explicit bound", "|f~ q~ - f q| <= |f~ - f| |q~| + f |q~ - q| <= f_ij (eta Q_i + Dq_i)",
             "mpmath", _each(lambda ch: (_mpabs(ch["p1t"] - ch["p1"]),
                                         ch["f"] * _col(ch["eta"] * ch["Qi"] + ch["Dq"]))),
             relation="<="),
        Step("k3 = k1 k2", "U3, V3 have k1 k2 = k1 d columns", "exact",
             _each(lambda ch: (ch["U3"].shape[1], ch["k1"] * ch["d"]))),
    ],
)


# ---------------------------------------------------------------------------
# Lemma D.5

def _d5_columns(ch):
    n = ch["n"]
    P2 = np.empty((n, n), dtype=object)
    for j0 in range(n):  # "j0-th column p2(x)_{j0} = f_{j0} f_{j0}^T q_{j0}"
        P2[:, j0] = ch["f"][j0] * (ch["f"][j0] @ ch["q"][j0])
    return ch["p1"] - P2, ch["p"]


def _d5_rows(ch):
    n = ch["n"]
    P2 = np.empty((n, n), dtype=object)
    for j0 in range(n):
        P2[j0, :] = ch["f"][j0] * (ch["f"][j0] @ ch["q"][j0])
    return ch["p1"] - P2, ch["p"]


def _d5_printed_r(ch):
    U1V1 = ch["U1"] @ ch["V1"]  # as printed: (U1 V1)
    U2V2 = ch["U2"] @ ch["V2"]
    return np.array([U1V1[j] @ U2V2[j] for j in range(ch["n"])], dtype=object), ch["rt"]


def _d5_printed_v1v2(ch):
    M = ch["V1"] @ ch["V2"].T  # as printed: V1 V2^T, claimed k1 x k2
    return np.array(M.shape), np.array((ch["k1"], ch["d"]))


LEMMA_D5 = Statement(
    id="Lemma D.5",
    summary="p2~ = diag(r~) f~, r~_j = (U1)_j (V1^T V2) (U2)_j^T, k4 = k1",
    printed=("Lemma D.5: p2(x) is an n x n where j0-th column p2(x)_{j0} = f(x)_{j0} f(x)_{j0}^T q(x)_{j0}; "
             "proof: r(x) in R^n where r(x)_{j0} is f(x)_{j0} q(x)_{j0}; "
             "r~(x)_{j0} := <f~(x)_{j0}, q~(x)_{j0}> = (U1 V1)_{j0,*} (U2 V2)_{j0,*}^T = "
             "(U1)_{j0,*} V1 V2^T (U2)_{j0,*}^T with V1 V2^T (k1 x k2) computed first, O(n k1 k2); "
             "p2~(x) = f~(x) diag(r~(x)); U4 = U1 and V4 = diag(r~(x)) V1."),
    steps=[
        Step("j0-th column", "p2 with columns f_{j0} f_{j0}^T q_{j0} gives p = p1 - p2 (Definition C.5)",
             "mpmath", _each(_d5_columns)),
        Step("(U1 V1)(U2 V2)^T", "r~_{j0} = (U1 V1)_{j0,*} (U2 V2)_{j0,*}^T as printed", "mpmath",
             _each(_d5_printed_r), ill_formed=MATMUL_SHAPES),
        Step("V1 V2^T is k1 x k2", "the shape of V1 V2^T as printed", "exact",
             _each(_d5_printed_v1v2), ill_formed=MATMUL_SHAPES),
        Step("U4 = U1, V4 = diag(r~) V1", "U1 (diag(r~) V1)^T = diag(r~) f~, the row-scaled f~ "
             "the printed error proof uses (row j0 is f~_{j0} r~_{j0})", "mpmath",
             _each(lambda ch: (ch["U1"] @ (ch["rt"][:, None] * ch["V1"]).T, ch["p2t"]))),
        Step("explicit bound", "|r~_i f~_ij - r_i f_ij| <= f_ij (eta |r~_i| + eta Q_i + Dq_i)",
             "mpmath", _each(lambda ch: (_mpabs(ch["p2t"] - ch["p2"]), ch["f"] * _col(
                 ch["eta"] * _mpabs(ch["rt"]) + ch["eta"] * ch["Qi"] + ch["Dq"]))), relation="<="),
        Step("k4 = k1", "U4 = diag(r~) U1 and V4 = V1 have k1 columns", "exact",
             _each(lambda ch: (ch["U4"].shape[1], ch["k1"]))),
    ],
    corrected=[
        Step("j0-th row", "p2 has ROW j0 = r_{j0} f_{j0}^T = (f_{j0} f_{j0}^T q_{j0})^T: p = p1 - p2",
             "mpmath", _each(_d5_rows)),
        Step("(U1 V1^T)(U2 V2^T)^T", "r~_{j0} = (U1)_{j0,*} (V1^T V2) (U2)_{j0,*}^T = <f~_{j0}, q~_{j0}>",
             "mpmath", _each(lambda ch: (ch["rt"], np.sum(ch["ft"] * ch["qt"], axis=1)))),
        Step("V1^T V2 is k1 x k2", "V1^T V2 is k1 x k2 (k2 = d), so r~ costs O(n k1 k2)", "exact",
             _each(lambda ch: (np.array((ch["V1"].T @ ch["V2"]).shape), np.array((ch["k1"], ch["d"]))))),
        Step("U4 = diag(r~) U1, V4 = V1", "U4 V4^T = diag(r~) f~ = p2~, r~_{j0} = <f~_{j0}, q~_{j0}> "
             "taken from the dense f~ o q~", "mpmath",
             _each(lambda ch: ((ch["rt"][:, None] * ch["U1"]) @ ch["V1"].T,
                               np.sum(ch["ft"] * ch["qt"], axis=1)[:, None] * ch["ft"]))),
    ],
    errata=[
        Erratum(location="Lemma D.5, statement", printed="p2(x) has j0-th column f_{j0} f_{j0}^T q_{j0}",
                corrected="j0-th row: p2(x) = diag(r(x)) f(x), row j0 = (f_{j0} f_{j0}^T q_{j0})^T",
                evidence="with columns, p1 - p2 differs from Definition C.5's p at n = 10, d = 2 "
                         "(dyadic seed 1); with rows it equals p. Rerun: attngrad check --only \"Lemma D.5\"",
                step="j0-th column"),
        Erratum(location="Lemma D.5, proof (r~)", printed="r~_{j0} = (U1 V1)_{j0,*} (U2 V2)_{j0,*}^T",
                corrected="r~_{j0} = (U1 V1^T)_{j0,*} (U2 V2^T)_{j0,*}^T = (U1)_{j0,*} (V1^T V2) (U2)_{j0,*}^T",
                evidence="U1 V1 is an (n x k1)(n x k1) product, undefined unless n = k1: at n = 10, "
                         "k1 = 6 it raises a shape error. Rerun: attngrad check --only \"Lemma D.5\"",
                step="(U1 V1)(U2 V2)^T"),
        Erratum(location="Lemma D.5, proof (precomputation)", printed="V1 V2^T (k1 x k2) computed first",
                corrected="V1^T V2 (k1 x k2)",
                evidence="V1 V2^T is (n x k1)(k2 x n): undefined unless k1 = k2, and n x n when defined "
                         "(at n = 10, k1 = 6, k2 = d = 2 it raises a shape error). Rerun: "
                         "attngrad check --only \"Lemma D.5\"",
                step="V1 V2^T is k1 x k2"),
        Erratum(location="Lemma D.5, proof (U4, V4)", printed="p2~ = f~ diag(r~); U4 = U1, V4 = diag(r~) V1",
                corrected="p2~ = diag(r~) f~ (rows scaled, as the error proof uses); U4 = diag(r~) U1, V4 = V1",
                evidence="U1 (diag(r~) V1)^T = f~ diag(r~) scales columns and differs from diag(r~) f~ at "
                         "n = 10, d = 2 (dyadic seed 1). Rerun: attngrad check --only \"Lemma D.5\"",
                step="U4 = U1, V4 = diag(r~) V1"),
    ],
)


# ---------------------------------------------------------------------------
# Theorem D.6

def _contracted(ch):
    """A1^T p1~ A2 without the row-wise Kronecker product: sum_m (A1 o c~_m)^T U1 V1^T (h_m o A2)."""
    A1, A2, U1, V1, ct, h = ch["A1"], ch["A2"], ch["U1"], ch["V1"], ch["ct"], ch["h"]
    tot = None
    for m in range(ch["d"]):
        term = ((A1 * ct[:, m:m + 1]).T @ U1) @ (V1.T @ (h[:, m:m + 1] * A2))
        tot = term if tot is None else tot + term
    return tot, A1.T @ ch["p1t"] @ A2


def _explicit_grad_bound(ch):
    A1abs = _mpabs(ch["A1"])
    Kb = np.max(_mpabs(ch["A2"]), axis=0)
    eta, Qi, Dq, rt = ch["eta"], ch["Qi"], ch["Dq"], _mpabs(ch["rt"])
    T = eta * (2 * Qi + rt) + 2 * Dq
    bound = ch["s"] * np.outer(A1abs.T @ T, Kb)
    return _mpabs(ch["gt"] - ch["G"]), bound


def _certified(wrt, gpu=False):
    """Step: the error of attngrad.fast's g~ (dL/dX or dL/dY) against the 50-digit gradient is
    below the bound it returns. With ``gpu`` the same algorithm runs on CuPy float64 (the
    inputs are dyadic, so exact in float64) and certifies its bound on the device."""
    ref_key, lib_key = ("G", "lib") if wrt == "X" else ("GY", "libY")

    def step(ch):
        if not gpu:
            res, value = ch[lib_key], ch[lib_key].value
        else:
            names = ("A1", "A2", "A3", "E", "X", "Y")
            dev = on_device({k: attngrad.to_float64(ch[k]) for k in names})
            res = fast.gradient_fixed_degree(*(dev[k] for k in names), degree=ch["degree"],
                                             wrt=wrt, return_info=True)
            value = [mpmath.mpf(float(a)) for a in from_device(res.value).ravel()]
        err = max(abs(a - b) for a, b in zip(np.ravel(value), ch[ref_key].ravel()))
        return err, mpmath.mpf(res.bound)
    return step


THEOREM_D6 = Statement(
    id="Theorem D.6",
    summary="g~ = (1/d) A1^T (p1~ - p2~) A2 within the explicit bound (n^{1+o(1)} time)",
    printed=("Theorem D.6: n^{1+o(1)} time for AAttLGC(n, d = O(log n), B = o(sqrt(log n))) up to "
             "1/poly(n): p = p1 - p2; dL/dx = vec(A1^T p(x) A2) (Lemma C.7); g~ = vec(A1^T (U3 V3^T - "
             "U4 V4^T) A2); ||A1^T (p - p~) A2||_inf <= ||A1||_inf ||A2||_inf n^2 (||p1 - p1~||_inf + "
             "||p2 - p2~||_inf) <= eps/poly(n)."),
    steps=[
        Step("p = p1 - p2", "Definition C.5 with p1 = f o q and p2 = diag(r) f", "mpmath",
             _each(lambda ch: (ch["p1"] - ch["p2"], attngrad.p(ch["A1"], ch["A2"], ch["A3"], ch["E"],
                                                               ch["X"], ch["Y"])))),
        Step("dL/dx = vec(A1^T p A2)", "Lemma C.7 as cited, with the 1/d of Section D inside f", "mpmath",
             _each(lambda ch: (vec(ch["A1"].T @ ch["p"] @ ch["A2"]), vec(ch["G"])))),
        Step("no row-wise Kronecker product", "A1^T U3 V3^T A2 = sum_m (A1 o c~_m)^T U1 . V1^T (h_m o A2), "
             "the contraction attngrad.fast uses (O(n k1 d^2), no n x k1 k2 matrix)", "mpmath",
             _each(_contracted)),
        Step("printed final inequality", "||A1^T (p - p~) A2||_inf <= ||A1|| ||A2|| n^2 (||p1 - p1~|| + "
             "||p2 - p2~||)", "mpmath", _each(lambda ch: (
                 max(abs(v) for v in (ch["A1"].T @ (ch["p"] - ch["p1t"] + ch["p2t"]) @ ch["A2"]).ravel()),
                 max(abs(v) for v in ch["A1"].ravel()) * max(abs(v) for v in ch["A2"].ravel()) * ch["n"] ** 2
                 * (max(abs(v) for v in (ch["p1"] - ch["p1t"]).ravel())
                    + max(abs(v) for v in (ch["p2"] - ch["p2t"]).ravel())))), relation="<="),
        Step("explicit bound", "|g~ - g|_ab <= s max_j|A2_jb| sum_i |A1_ia| (eta (2 Q_i + |r~_i|) + 2 Dq_i) "
             "(replaces eps/poly(n); the n^2 of the printed step is not needed)", "mpmath",
             _each(_explicit_grad_bound), relation="<="),
        Step("library value = g~", "attngrad.fast.gradient_fixed_degree computes the same g~ "
             "(50 digits)", "mpmath", _each(lambda ch: (ch["lib"].value, ch["gt"]))),
        Step("certified eps", "the error of attngrad.fast's g~ is below the bound it returns",
             "mpmath", _each(_certified("X")), relation="<="),
        Step("certified eps on the GPU", "attngrad.fast on CuPy float64: its error against the "
             "50-digit gradient is below the bound it returns (rounding included)", "gpu",
             _each(_certified("X", gpu=True)), relation="<=", tol=0.0),
    ],
    corrected=[
        Step("dL/dx = (1/d) vec(A1^T p A2)", "with exp(A1 X A2^T / d) the chain rule gives the factor 1/d",
             "mpmath", _each(lambda ch: (vec(ch["A1"].T @ ch["p"] @ ch["A2"]) * ch["s"], vec(ch["G"])))),
    ],
    errata=[Erratum(
        location="Theorem D.6, proof",
        printed="dL/dx = vec(A1^T p(x) A2) (Lemma C.7), g~ = vec(A1^T (U3 V3^T - U4 V4^T) A2)",
        corrected="Section D keeps the 1/d inside exp, so dL/dx = (1/d) vec(A1^T p(x) A2) and "
                  "g~ = (1/d) vec(A1^T (U3 V3^T - U4 V4^T) A2); Lemma C.7 was proved with the 1/d dropped",
        evidence="at n = 10, d = 2 (dyadic seed 1) vec(A1^T p A2) is d = 2 times the gradient of "
                 "Definition 1.2. Rerun: attngrad check --only \"Theorem D.6\"",
        step="dL/dx = vec(A1^T p A2)")],
)

# ---------------------------------------------------------------------------
# Lemma D.7 (ours): dL/dY

def _loss_at_Y(ch, Y):
    return attngrad.loss(ch["A1"], ch["A2"], ch["A3"], ch["E"], ch["X"], Y)


def _d7_central_differences(ch):
    """L is quadratic in Y, so the central difference (L(Y + t e) - L(Y - t e)) / 2t is its
    derivative exactly (no truncation error), whatever t: an oracle independent of the formula."""
    d, t = ch["d"], mpmath.mpf(1) / 8
    fd = np.empty((d, d), dtype=object)
    for l in range(d):
        for m in range(d):
            step = np.zeros((d, d), dtype=object)
            step[:] = mpmath.mpf(0)
            step[l, m] = t
            fd[l, m] = (_loss_at_Y(ch, ch["Y"] + step) - _loss_at_Y(ch, ch["Y"] - step)) / (2 * t)
    return fd, ch["GY"]


def _d7_explicit_bound(ch):
    """|A3^T f~^T c~ - A3^T f^T c|_lm <= K3_l sum_i (eta |c~_im| + |c~_im - c_im|), with eta the
    true max |f~_ij / f_ij - 1| (the lemma holds for any eta above it; the tightest one makes
    the step able to fail)."""
    A3 = ch["A3"]
    gtY = A3.T @ ch["ft"].T @ ch["ct"]
    K3 = np.max(_mpabs(A3), axis=0)
    eta = max(abs(a / b - 1) for a, b in zip(ch["ft"].ravel(), ch["f"].ravel()))
    S = np.sum(eta * _mpabs(ch["ct"]) + _mpabs(ch["ct"] - ch["c"]), axis=0)
    return _mpabs(gtY - ch["GY"]), np.outer(K3, S)


LEMMA_D7 = Statement(
    id="Lemma D.7 (ours)",
    summary="dL/dY = A3^T f^T c within an explicit bound in O(n k1 d) time: "
            "(V1^T A3)^T (U1^T c~), no n x n matrix",
    printed=("Lemma D.7 (ours; the paper treats dL/dX only): dL/dY = A3^T f(x)^T c(x) with "
             "c(x) = f(x) A3 Y - E; with f~ = U1 V1^T (Lemma D.1) and c~ (Lemma D.2), "
             "g~_Y = (V1^T A3)^T (U1^T c~) costs O(n k1 d) and |g~_Y - dL/dY|_lm <= "
             "max_j |A3_jl| sum_i (eta |c~_im| + |c~_im - c_im|)."),
    steps=[
        Step("dL/dY = A3^T f^T c", "L is quadratic in Y: exact central differences of attngrad.loss "
             "equal attngrad.gradient(wrt='Y') (50 digits)", "mpmath", _each(_d7_central_differences)),
        Step("the formula", "attngrad.gradient(wrt='Y') = A3^T f^T c from the chain's f, c",
             "mpmath", _each(lambda ch: (ch["GY"], ch["A3"].T @ ch["f"].T @ ch["c"]))),
        Step("no n x n matrix", "A3^T (U1 V1^T)^T c~ = (V1^T A3)^T (U1^T c~): k1 x d factors only",
             "mpmath", _each(lambda ch: (ch["A3"].T @ ch["ft"].T @ ch["ct"],
                                         (ch["V1"].T @ ch["A3"]).T @ (ch["U1"].T @ ch["ct"])))),
        Step("explicit bound", "|f~ - f| <= eta f, f >= 0 with unit row sums: |g~_Y - g_Y|_lm <= "
             "max_j|A3_jl| sum_i (eta |c~_im| + |c~_im - c_im|), eta = max |f~/f - 1|", "mpmath",
             _each(_d7_explicit_bound), relation="<="),
        Step("library value = g~_Y", "attngrad.fast.gradient_fixed_degree(wrt='Y') computes the "
             "same g~_Y (50 digits)", "mpmath",
             _each(lambda ch: (ch["libY"].value,
                               (ch["V1"].T @ ch["A3"]).T @ (ch["U1"].T @ ch["ct"])))),
        Step("certified eps", "the error of attngrad.fast's g~_Y is below the bound it returns",
             "mpmath", _each(_certified("Y")), relation="<="),
        Step("certified eps on the GPU", "the same on CuPy float64 (rounding included)", "gpu",
             _each(_certified("Y", gpu=True)), relation="<=", tol=0.0),
    ],
)

STATEMENTS = [LEMMA_D1, LEMMA_D2, LEMMA_D3, LEMMA_D4, LEMMA_D5, THEOREM_D6, LEMMA_D7]
