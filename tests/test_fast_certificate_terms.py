"""Each term of the fast path's certificate (attngrad/fast/certificate.py) against its formula
as the module doc prints it (Lemmas D.8, D.9, D.11, D.12, Theorem D.10; ours), written here
entry by entry in plain Python on a small instance with hand-set magnitudes.

The soundness checks (derivations/sD_fast_certificate.py, tests/test_fast_certificate.py)
show that each inequality holds and that dropping a term breaks one; they cannot see a term
that is a few times too large or too small, since the worst-case rounding terms sit far above
the rounding that occurs. These tests pin the terms themselves (BENCHMARKS.md, "Mutation
testing": the survivors of certificate.py were such changes)."""
import math
from dataclasses import replace

import numpy as np
import pytest

from attngrad.fast import certificate as C
from attngrad.fast.instance import AttentionInstance, Instance, Scores
from attngrad.fast.rounding import SLACK, gamma

N, D, K, NN = 5, 3, 7, 9
U = 2.0 ** -24          # float32's unit roundoff: the rounding terms are not negligible
RTOL = 1e-13


def _pos(rng, *shape, lo=0.25, hi=4.0):
    return rng.uniform(lo, hi, size=shape)


@pytest.fixture
def case():
    """A float32-sized Instance, the PolyTerms of the gradient's pass (pt) and of the
    certificate's pass (ptc), and the per-row arrays of both (rows, rc): arbitrary positive
    magnitudes, signed where the library takes absolute values."""
    rng = np.random.default_rng(7)
    sc = Scores(lo=-1.5, hi=2.0, Rabs=2.5, sigma=1e-6, qm=1.0, km=1.25)
    inst = Instance(n=N, d=D, u=U, s=0.5, scores=sc, A1abs=_pos(rng, N, D), beta=_pos(rng, D) * 1e-6,
                    H=_pos(rng, D), Sh=_pos(rng, D) * N, nh=_pos(rng, N), Sh2=_pos(rng, D) * N,
                    SA=_pos(rng, D) * N, SnA=_pos(rng, D) * N, Snh2=7.5, SA2sq=_pos(rng, D) * N,
                    SHA=_pos(rng, D, D) * N, SA3=_pos(rng, D) * N, SA3sq=_pos(rng, D) * N,
                    K3=_pos(rng, D))
    pt = C.PolyTerms(eta=3e-4, PabsF=6.0, Nn=NN, k=K)
    ptc = C.PolyTerms(eta=2e-3, PabsF=5.0, Nn=NN, k=4)
    sign = np.where(rng.uniform(size=(N, D)) < 0.5, -1.0, 1.0)
    rows = {"alpha": _pos(rng, N) * N, "h": sign * _pos(rng, N, D), "c": -sign * _pos(rng, N, D),
            "r": np.where(np.arange(N) % 2 == 0, -1.0, 1.0) * _pos(rng, N), "V": sign * _pos(rng, N, D)}
    rc = {key: _pos(rng, N, D) for key in ("habs", "hsq", "w1", "w0", "A2sq", "A3abs", "A3sq",
                                           "Vabs", "Vsq")}
    rc["alpha"] = _pos(rng, N) * N
    rc["nh2"] = _pos(rng, N, 1)
    rc["A3"] = sign * _pos(rng, N, D)
    return inst, pt, ptc, rows, rc


def _xi(inst, pt, alpha, Sw):
    """Lemma D.9: xi_im = gamma_{Nn+k+2} P_absF Sw_m / alpha~_i (no underflow term: omega = 0)."""
    g = (pt.Nn + pt.k + 2) * inst.u / (1 - (pt.Nn + pt.k + 2) * inst.u)
    return np.array([[g * pt.PabsF * Sw[m] / alpha[i] for m in range(len(Sw))]
                     for i in range(len(alpha))])


def _wsum(inst, pt, alpha, G, Sw):
    """sum_j f_ij w_j <= ((f~ w)^c + xi) / (1 - eta)."""
    xi = _xi(inst, pt, alpha, Sw)
    return np.array([[(G[i, m] + xi[i, m]) / (1 - pt.eta) for m in range(G.shape[1])]
                     for i in range(G.shape[0])])


def _wpsum(inst, pt, alpha, G, Sw):
    """The weights are products fl(x y) >= (1 - u) x y: their sums Sw grow by (1 + 8u) and the
    total by 1 / (1 - u)."""
    Sw = [v * (1 + 8 * inst.u) for v in Sw]
    return _wsum(inst, pt, alpha, G, Sw) / (1 - inst.u)


def _var(F_sq, mu_sq, cross):
    v = F_sq - mu_sq + 2 * cross
    return max(v + 4 * 2.0 ** -53 * (F_sq + mu_sq + 2 * cross), 0.0)


def _centred(inst, pt, alpha, mu, Dm, F_abs, F_sq):
    """min(eta f|w|, eta sd + |mu| xi1), xi1 the rounding of alpha~ (Sw = n)."""
    xi1 = _xi(inst, pt, alpha, [float(inst.n)])[:, 0]
    out = np.empty_like(mu)
    for i in range(mu.shape[0]):
        for m in range(mu.shape[1]):
            sd = math.sqrt(_var(F_sq[i, m], mu[i, m] ** 2, abs(mu[i, m]) * Dm[i, m]))
            out[i, m] = min(pt.eta * F_abs[i, m], pt.eta * sd + abs(mu[i, m]) * xi1[i])
    return out


def _c_error(inst, pt, ptc, rows, rc):
    xi = _xi(inst, pt, rows["alpha"], inst.Sh)
    Fh_abs = _wsum(inst, ptc, rc["alpha"], rc["habs"], inst.Sh)
    F_sq = _wpsum(inst, ptc, rc["alpha"], rc["hsq"], inst.Sh2)
    plain = xi + pt.eta * Fh_abs + inst.beta[None, :]
    Dfh = xi + _centred(inst, pt, rows["alpha"], rows["h"], plain, Fh_abs, F_sq) + inst.beta[None, :]
    Dc = Dfh + inst.u / (1 - inst.u) * np.abs(rows["c"])
    return Dfh, Dc, Fh_abs


def _tau(inst, rows):
    gd = inst.d * inst.u / (1 - inst.d * inst.u)
    return np.array([gd * sum(abs(rows["h"][i, m]) * abs(rows["c"][i, m]) for m in range(D))
                     for i in range(N)])


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=0)


def test_column_and_weighted_sums(case):
    inst, pt, ptc, rows, rc = case
    _close(C.column_error(inst, pt, rows["alpha"], inst.Sh), _xi(inst, pt, rows["alpha"], inst.Sh))
    _close(C.weighted_sum(inst, ptc, rc["alpha"], rc["habs"], inst.Sh),
           _wsum(inst, ptc, rc["alpha"], rc["habs"], inst.Sh))
    _close(C.weighted_product_sum(inst, ptc, rc["alpha"], rc["hsq"], inst.Sh2),
           _wpsum(inst, ptc, rc["alpha"], rc["hsq"], inst.Sh2))


@pytest.mark.parametrize("F_sq,mu_sq,cross", [(3.0, 1.0, 0.25), (1.0, 1.0, 0.0), (1.0, 4.0, 0.5)])
def test_variance(F_sq, mu_sq, cross):
    """f(w^2) - mu^2 + 2 |mu| D, with the float64 cancellation charged; never negative."""
    got = C.variance(np, np.array([F_sq]), np.array([mu_sq]), np.array([cross]))[0]
    assert got == pytest.approx(_var(F_sq, mu_sq, cross), rel=RTOL, abs=0)


def test_centred_takes_the_smaller_form(case):
    inst, pt, ptc, rows, rc = case
    F_abs, F_sq = rc["habs"], rc["hsq"] * 4
    Dm = np.full((N, D), 1e-3)
    want = _centred(inst, pt, rows["alpha"], rows["h"], Dm, F_abs, F_sq)
    _close(C.centred(inst, pt, rows, rows["h"], Dm, F_abs, F_sq), want)
    # both forms are taken somewhere on this instance: the test sees either being changed
    plain = pt.eta * F_abs
    assert (want < plain).any() and (want == plain).any()


def test_lemma_D9_c_and_r(case):
    inst, pt, ptc, rows, rc = case
    Dfh, Dc, Fh_abs = _c_error(inst, pt, ptc, rows, rc)
    got = C.c_error(inst, pt, rows, (ptc, rc))
    for g, w in zip(got, (Dfh, Dc, Fh_abs)):
        _close(g, w)
    tau = _tau(inst, rows)
    _close(C.r_rounding(inst, pt, rows), tau)
    rho = [tau[i] + sum(Dfh[i, m] * abs(rows["c"][i, m])
                        + (Fh_abs[i, m] + inst.beta[m]) * Dc[i, m] for m in range(D))
           for i in range(N)]
    _close(C.r_error(inst, pt, rows, Dfh, Dc, Fh_abs), rho)


def _terms_X(inst, pt, ptc, rows, rc):
    """Theorem D.10 (ours): a, b, b2, Vn, F1, F0, Fsq and the row sums, entry by entry."""
    eta = pt.eta
    Dfh, Dc, Fh_abs = _c_error(inst, pt, ptc, rows, rc)
    tau = _tau(inst, rows)
    absc, absr, m_ = np.abs(rows["c"]), np.abs(rows["r"]), rows["h"]
    rho = [tau[i] + sum(Dfh[i, m] * absc[i, m] + (Fh_abs[i, m] + inst.beta[m]) * Dc[i, m]
                        for m in range(D)) for i in range(N)]
    F1 = _wpsum(inst, ptc, rc["alpha"], rc["w1"], inst.SnA)
    F0 = _wsum(inst, ptc, rc["alpha"], rc["w0"], inst.SA)
    Fsq = _wpsum(inst, ptc, rc["alpha"], rc["A2sq"], inst.SA2sq)
    Fn2 = _wpsum(inst, ptc, rc["alpha"], rc["nh2"], [inst.Snh2])[:, 0]
    out = {"F1": F1, "F0": F0, "Fsq": Fsq, "rho": np.array(rho)}
    a, b, b2, Vn = (np.empty(N) for _ in range(4))
    for i in range(N):
        a[i] = eta * math.sqrt(sum(absc[i, m] ** 2 for m in range(D))) \
            + math.sqrt(sum(Dc[i, m] ** 2 for m in range(D)))
        b[i] = eta * absr[i] + sum((absc[i, m] + Dc[i, m]) * inst.beta[m] for m in range(D)) + rho[i]
        b2[i] = (1 + eta) * tau[i] + sum((absc[i, m] + Dc[i, m]) * (inst.beta[m] + Dfh[i, m])
                                         for m in range(D))
        Vn[i] = _var(Fn2[i], sum(m_[i, m] ** 2 for m in range(D)),
                     sum(abs(m_[i, m]) * Dfh[i, m] for m in range(D)))
    rowsum = np.array([[min(a[i] * F1[i, c] + b[i] * F0[i, c],
                            a[i] * math.sqrt(Vn[i]) * math.sqrt(Fsq[i, c]) + b2[i] * F0[i, c])
                        for c in range(D)] for i in range(N)])
    out.update(a=a, b=b, b2=b2, Vn=Vn, rowsum=rowsum, Dfh=Dfh, Dc=Dc, Fh_abs=Fh_abs)
    return out


def test_theorem_D10_terms(case):
    inst, pt, ptc, rows, rc = case
    rc = dict(rc, nh2=rc["nh2"] + np.r_[1e4, np.zeros(N - 1)][:, None])  # row 0: a wide spread
    got = C.terms_X(inst, pt, rows, (ptc, rc))
    want = _terms_X(inst, pt, ptc, rows, rc)
    assert set(got) == set(want)
    for key in want:
        _close(got[key], want[key])
    # both forms of the row sums are the smaller one somewhere
    plain = want["a"][:, None] * want["F1"] + want["b"][:, None] * want["F0"]
    assert (want["rowsum"] < plain).any() and (want["rowsum"] == plain).any()


def _rounding_X(inst, pt, rows, F1, F0, G1=None, G2=None):
    """gamma_N1 P_absF s (|A1|^T (|c~| / alpha~)) SHA + gamma_N2 P_absF s (|A1|^T (|r~| /
    alpha~)) SA^T + gamma_3 s (|G1| + |G2|), N1 = 2 Nn + d k + 3, N2 = 2 Nn + k + 2; G1, G2
    bounded by their terms' magnitudes (1 + eta) ... before they are computed."""
    u, s, eta, A1 = inst.u, inst.s, pt.eta, inst.A1abs
    g1_, g2_ = gamma(2 * pt.Nn + D * pt.k + 3, u), gamma(2 * pt.Nn + pt.k + 2, u)
    absc, absr, alpha = np.abs(rows["c"]), np.abs(rows["r"]), rows["alpha"]
    e1, e2, g1, g2 = (np.zeros((D, D)) for _ in range(4))
    for a_ in range(D):
        for b_ in range(D):
            for i in range(N):
                e1[a_, b_] += g1_ * pt.PabsF * A1[i, a_] * sum(
                    absc[i, m] / alpha[i] * inst.SHA[m, b_] for m in range(D))
                e2[a_, b_] += g2_ * pt.PabsF * A1[i, a_] * absr[i] / alpha[i] * inst.SA[b_]
                g1[a_, b_] += (1 + eta) * A1[i, a_] * math.sqrt(sum(absc[i] ** 2)) * F1[i, b_]
                g2[a_, b_] += (1 + eta) * A1[i, a_] * absr[i] * F0[i, b_]
    if G1 is None:
        G1, G2 = g1 + e1, g2 + e2
    return s * (e1 + e2) + gamma(3, u) * s * (np.abs(G1) + np.abs(G2)), (e1, e2, g1, g2)


def test_theorem_D10_rounding_of_the_contractions(case):
    inst, pt, ptc, rows, rc = case
    t = _terms_X(inst, pt, ptc, rows, rc)
    want, sums = _rounding_X(inst, pt, rows, t["F1"], t["F0"])
    for g, w in zip(C.rounding_sums(inst, pt, rows, t["F1"], t["F0"]), sums):
        _close(g, w)
    _close(C.rounding_X(inst, pt, rows, F1=t["F1"], F0=t["F0"]), want)
    G1, G2 = -np.ones((D, D)), 2 * np.ones((D, D))        # computed: their sizes are used
    _close(C.rounding_X(inst, pt, rows, G1, G2), _rounding_X(inst, pt, rows, t["F1"], t["F0"],
                                                            G1, G2)[0])


def _check_bound(got, prop, rnd, eta):
    """(bound, parts) of a certificate: bound = max(prop + rnd) SLACK, the parts the maxima of
    prop and rnd, no underflow term (omega = 0), the eta it was built with."""
    total, parts = got
    assert total == pytest.approx(float((prop + rnd).max()) * SLACK, rel=RTOL)
    assert parts["propagation"] == pytest.approx(float(prop.max()), rel=RTOL)
    assert parts["rounding"] == pytest.approx(float(rnd.max()), rel=RTOL)
    assert parts["underflow"] == 0.0 and parts["eta"] == eta and len(parts) == 4


def _att(inst):
    """The attention instance with V's sums taken from inst's A3 sums."""
    return AttentionInstance(n=N, d=D, u=U, scores=inst.scores, SV=inst.SA3, SVsq=inst.SA3sq)


@pytest.mark.parametrize("chunk", [C.CHUNK_ROWS, 2])
def test_theorem_D10_bound(case, chunk, monkeypatch):
    """bound = max(s |A1|^T rowsum + rounding) SLACK (omega = 0: no underflow term), the same
    when the rows are taken in chunks of 2."""
    inst, pt, ptc, rows, rc = case
    monkeypatch.setattr(C, "CHUNK_ROWS", chunk)
    t = _terms_X(inst, pt, ptc, rows, rc)
    prop = inst.s * inst.A1abs.T @ t["rowsum"]
    rnd, _ = _rounding_X(inst, pt, rows, t["F1"], t["F0"])
    _check_bound(C.gradient_X_bound(inst, pt, rows, (ptc, rc)), prop, rnd, pt.eta)


def test_lemma_D11_dL_dY(case):
    """|g~_Y' - g_Y| <= E^T |c~| + (f|A3|)^T Dc, E the centred (f~ - f) A3 with mu = f~ A3 of
    the certificate's pass; rounding gamma_{2Nn+k+4} P_absF SA3 (sum_i |c~_i| / alpha~_i)^T."""
    inst, pt, ptc, rows, rc = case
    _, Dc, _ = _c_error(inst, pt, ptc, rows, rc)
    F3 = _wsum(inst, ptc, rc["alpha"], rc["A3abs"], inst.SA3)
    D3 = _xi(inst, ptc, rc["alpha"], inst.SA3) + ptc.eta * F3
    F_sq = _wpsum(inst, ptc, rc["alpha"], rc["A3sq"], inst.SA3sq)
    Ed = _centred(inst, pt, rows["alpha"], rc["A3"], D3, F3, F_sq)
    absc = np.abs(rows["c"])
    prop = np.array([[sum(Ed[i, l] * absc[i, m] + F3[i, l] * Dc[i, m] for i in range(N))
                      for m in range(D)] for l in range(D)])
    gN = gamma(2 * pt.Nn + pt.k + 4, inst.u)
    rnd = np.array([[gN * pt.PabsF * inst.SA3[l] * sum(absc[i, m] / rows["alpha"][i]
                                                       for i in range(N))
                     for m in range(D)] for l in range(D)])
    p_, r_ = C.terms_Y(inst, pt, rows, (ptc, rc))
    _close(p_, prop)
    _close(r_, rnd)
    _check_bound(C.gradient_Y_bound(inst, pt, rows, (ptc, rc)), prop, rnd, pt.eta)


def test_lemma_D12_attention(case):
    """|T~ - f V| <= xi^V + centred((f~ - f) V) with mu = T~ (the computed output)."""
    inst, pt, ptc, rows, rc = case
    att = _att(inst)
    xi = _xi(att, pt, rows["alpha"], att.SV)
    FV = _wsum(att, ptc, rc["alpha"], rc["Vabs"], att.SV)
    F_sq = _wpsum(att, ptc, rc["alpha"], rc["Vsq"], att.SVsq)
    pr = _centred(att, pt, rows["alpha"], rows["V"], xi + pt.eta * FV, FV, F_sq)
    got_xi, got_pr = C.terms_attention(att, pt, rows, (ptc, rc))
    _close(got_xi, xi)
    _close(got_pr, pr)
    _check_bound(C.attention_bound(att, pt, rows, (ptc, rc)), pr, xi, pt.eta)


def test_no_certificate_from_an_infinite_eta_or_a_bad_row_sum(case):
    inst, pt, ptc, rows, rc = case
    for f, ins in ((C.gradient_X_bound, inst), (C.gradient_Y_bound, inst),
                   (C.attention_bound, _att(inst))):
        assert f(ins, pt, rows, (ptc, rc))[0] < math.inf
        assert f(ins, replace(pt, eta=math.inf), rows, (ptc, rc)) == (math.inf, {})
        assert f(ins, pt, rows, (replace(ptc, eta=math.inf), rc)) == (math.inf, {})
        for bad in (0.0, -1.0, math.inf, math.nan):
            r2 = dict(rows, alpha=np.r_[rows["alpha"][:-1], bad])
            assert f(ins, pt, r2, (ptc, rc)) == (math.inf, {})
            c2 = dict(rc, alpha=np.r_[bad, rc["alpha"][1:]])
            assert f(ins, pt, rows, (ptc, c2)) == (math.inf, {})


class _Poly:
    """The three attributes of an ExpPoly that poly_terms reads."""

    def __init__(self, degree, rel_error):
        self.degree, self.rel_error, self.coeffs = degree, rel_error, ()


@pytest.mark.parametrize("g,eps_P,rel", [(4, 1e-5, None), (9, 1e-5, 0.0), (2, 3e-3, None)])
def test_lemma_D8_eta(case, g, eps_P, rel):
    """delta_F = gamma_{2g+3} P_abs e^{sigma - lo}, delta_u = (eps_P + delta_F) e^sigma +
    expm1(sigma), delta_a = delta_u + gamma_{Nn+k} P_absF e^{sigma - lo}, eta = (delta_u +
    delta_a) / (1 - delta_a); ``rel`` replaces eps_P (0: the rounding floor)."""
    inst = case[0]
    sc, u, Pabs = inst.scores, inst.u, 3.5
    gF = gamma(2 * g + 3, u)
    PabsF = Pabs * (1 + gF)
    e_lo = math.exp(sc.sigma - sc.lo)
    eps = eps_P if rel is None else rel
    delta_u = (eps + gF * Pabs * e_lo) * math.exp(sc.sigma) + math.expm1(sc.sigma)
    delta_a = delta_u + gamma(NN + K, u) * PabsF * e_lo
    pt = C.poly_terms(inst, _Poly(g, eps_P), Pabs, K, NN, rel_error=rel)
    assert (pt.k, pt.Nn, pt.feat) == (K, NN, None)
    assert pt.PabsF == pytest.approx(PabsF, rel=RTOL)
    assert pt.delta_u == pytest.approx(delta_u, rel=1e-12)
    assert pt.delta_a == pytest.approx(delta_a, rel=1e-12)
    assert pt.eta == pytest.approx((delta_u + delta_a) / (1 - delta_a), rel=1e-12)


def test_exp_up_is_inf_past_float64():
    assert C.exp_up(709.5) >= math.exp(709.5) and C.exp_up(709.9) == math.inf
    assert C.exp_up(1.0) == pytest.approx(math.e * (1 + 4e-16), rel=1e-16)


def test_lemma_D8_refuses_what_it_cannot_certify(case):
    """eta = inf when the scores reach e^700, when delta_a >= 1/2 or when eta >= 1 (f <= f~ /
    (1 - eta) is used); the smallest eta is 2^-200 (the float64 evaluation's floor)."""
    inst = case[0]
    hot = replace(inst, scores=replace(inst.scores, hi=700.0, sigma=0.0))
    assert C.poly_terms(hot, _Poly(3, 1e-6), 2.0, K, NN).eta == math.inf
    assert C.poly_terms(inst, _Poly(3, 0.5), 2.0, K, NN).eta == math.inf      # delta_a > 1/2
    assert C.poly_terms(inst, _Poly(3, 1.2), 2.0, K, NN).eta == math.inf      # delta_a > 1
    refused = C.poly_terms(inst, _Poly(3, 0.34), 2.0, K, NN)                  # eta ~ 0.68 / 0.66
    assert refused.eta == math.inf and (refused.Nn, refused.k) == (NN, K)
    # what was computed is kept (the derivations report delta_u, delta_a of refused degrees)
    assert refused.delta_u == pytest.approx(0.34, rel=1e-4) and refused.delta_a > refused.delta_u
    assert C.poly_terms(inst, _Poly(3, 0.33), 2.0, K, NN).eta < 1             # eta ~ 0.66 / 0.67
    exact = replace(inst, u=0.0, scores=replace(inst.scores, sigma=0.0))
    assert C.poly_terms(exact, _Poly(3, 0.0), 2.0, K, NN).eta == 2.0 ** -200


def _up(x, e):
    """x 2^-e, one float above (the library's scaled_up, independently)."""
    return np.nextafter(np.ldexp(np.asarray(x, dtype=float), -e), np.inf)


def test_the_underflow_terms(case):
    """With gradual underflow each underflowing product errs by omega (here omega 2^e with
    omega = 3, e = 10, so the terms are visible): per column 1.1 omega (n / alpha~_i (SPhi + k)
    + 1), in r~ 1.1 d omega, in dL/dX and dL/dY the crude sums of the module (1.1 times)."""
    inst, pt, ptc, rows, rc = case
    om, e = 3.0, 10
    inst = replace(inst, omega=om, omega_exp=e)
    Cc, SPhi, Mk = 2.0, 5.0, 1.5
    pt = replace(pt, feat=(Cc, SPhi, Mk))
    alpha = rows["alpha"]
    uf_col = _up(1.1 * om * (N / alpha * (SPhi + K) + 1), e)[:, None]
    _close(C.column_error(inst, pt, alpha, inst.Sh), _xi(inst, pt, alpha, inst.Sh) + uf_col)
    _close(C.r_rounding(inst, pt, rows), _tau(inst, rows) + _up(1.1 * D * om, e))
    absc, absr = np.abs(rows["c"]), np.abs(rows["r"])
    am, a1m, km, Hm = float((N / alpha).max()), inst.A1abs.max(), inst.scores.km, inst.H.max()
    cm, rm = absc.max(), absr.max()
    dG1 = D * N * om * ((K + SPhi * (1 + a1m)) * 2 * N * Mk * Hm * km
                        + SPhi * a1m * cm * am * (2 * Mk + 1)) + D * K * om
    dG2 = N * om * ((K + SPhi * (1 + a1m)) * 2 * N * Mk * km
                    + SPhi * a1m * rm * am * (2 * Mk + 1)) + K * om
    uf_X = _up(1.1 * (inst.s * (dG1 + dG2) + om), e)
    assert C._underflow_X(inst, pt, alpha, absc, absr) == pytest.approx(float(uf_X), rel=RTOL)
    _, parts = C.gradient_X_bound(inst, pt, rows, (ptc, rc))
    assert parts["underflow"] == pytest.approx(float(uf_X), rel=RTOL)
    c_over_alpha = float((absc / alpha[:, None]).sum(axis=0).max())
    uf_Y = _up(1.1 * om * (inst.K3.max() * N * N * (pt.PabsF + K * Mk) + N * SPhi * c_over_alpha
                           + K), e)
    _, parts = C.gradient_Y_bound(inst, pt, rows, (ptc, rc))
    assert parts["underflow"] == pytest.approx(float(uf_Y), rel=RTOL)


def test_weighted_product_sum_charges_the_underflow():
    """With gradual underflow each weight fl(x y) >= (1 - u) x y - omega: the sum grows by
    omega (scaled by 2^-e) before the division by 1 - u."""
    rng = np.random.default_rng(1)
    sc = Scores(lo=-1.0, hi=1.0, Rabs=1.0, sigma=0.0, qm=1.0, km=1.0)
    att = AttentionInstance(n=N, d=D, u=U, scores=sc, SV=_pos(rng, D), SVsq=_pos(rng, D),
                            omega=3.0, omega_exp=10)
    pt = C.PolyTerms(eta=1e-3, PabsF=2.0, Nn=NN, k=K)
    alpha, G, Sw = _pos(rng, N) * N, _pos(rng, N, D), _pos(rng, D)
    base = C.weighted_sum(att, pt, alpha, G, Sw * (1 + 8 * U))
    want = (base + float(_up(3.0, 10))) / (1 - U)
    _close(C.weighted_product_sum(att, pt, alpha, G, Sw), want)


def test_the_rounding_model_helpers():
    """gamma_k is inf from k u = 1/2 on; the significands have 53 and 24 bits; an empty array's
    largest entry is 0; a scalar magnitude below 2^-80 is refused (0 is not); infinite score
    bounds are refused before any polynomial is built."""
    from attngrad.backend import NumpyNamespace
    from attngrad.errors import ApproximationError
    from attngrad.fast import rounding
    from attngrad.fast.degree import interval_of

    assert rounding.gamma(2, 0.25) == math.inf and rounding.gamma(1, 0.25) == pytest.approx(1 / 3)
    assert rounding.prec_of(NumpyNamespace(np.dtype(np.float64))) == 53
    assert rounding.prec_of(NumpyNamespace(np.dtype(np.float32))) == 24
    assert rounding.max_entry(np.zeros(0)) == 0.0 and rounding.max_entry(np.ones(2)) == 1.0
    rounding.check_range("f", {"v": 0.0, "w": 2.0 ** -79})
    with pytest.raises(ApproximationError, match="^f: cannot certify: v has a non-zero magnitude"):
        rounding.check_range("f", {"v": 2.0 ** -81})
    for lo, hi in ((-math.inf, 1.0), (-1.0, math.inf)):
        with pytest.raises(ApproximationError, match="the scores' bounds pass float64's range"):
            interval_of(Scores(lo=lo, hi=hi, Rabs=1.0, sigma=0.0, qm=1.0, km=1.0))
