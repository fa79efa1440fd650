"""The certificate of the fast multi-layer gradient (attngrad/transformer/certificate.py) as
statements of ours, each inequality a step checked on runs of the fast path.

Instances: small models (every layer option, both losses) run in float64 by
attngrad.transformer's fast path at low degrees (so the polynomial's error is visible), and the
exact model's quantities at 50 digits (attngrad.transformer's exact path on mpmath arrays, the
same quantities built from the fast path's own float64 queries and keys where a lemma speaks of
them). A step holds if every inequality holds entrywise (``<=`` in mpmath at 50 digits), so a
wrong term fails the step that states it:

* LSS24 Lemma T.7 (ours), one head forward: the score error Delta, the normaliser's lower
  bound D and relative error tau, the output bound E_O.
* LSS24 Lemma T.8 (ours), one head backward: f^ = f (1 + e) + z with |e| <= eta,
  |z| <= gamma' Pabs / alpha~; column sums CF; E_dQ, E_dK, E_dV.
* LSS24 Lemma T.9 (ours), a layer: the activations' Lipschitz constants (interval arithmetic
  over the real line), the bounds on T_i and on dL/dT_i carried through every layer.
* LSS24 Lemma T.10 (ours), the model: the bound of every returned gradient (and the head's).
"""
from __future__ import annotations

from functools import lru_cache

import mpmath
import numpy as np

import attngrad
from attngrad import transformer as tr
from attngrad.backend import MpmathNamespace, NumpyNamespace
from attngrad.transformer import backprop as bp
from attngrad.transformer import certificate as C
from attngrad.transformer import fast as F
from attngrad.transformer.model import check_model

from .core import Statement, Step

PAPER = "LSS24"
MPNS = MpmathNamespace()
NS64 = NumpyNamespace(np.dtype(np.float64))


def _dyadic(rng, shape, bound, bits=10):
    top = int(bound * 2 ** bits)
    return rng.integers(-top, top + 1, size=shape) / 2.0 ** bits


# (label, n, d, layer specs, loss, degree, weight bound, seed)
CASES = (
    ("2 layers, 2 heads, causal, residual, gelu MLP, squared", 12, 4,
     [dict(heads=2, causal=True, residual=True, phi="gelu", mlp_residual=True)] * 2,
     "squared", 2, 0.5, 1),
    ("2 layers, tanh and relu MLPs, cross-entropy", 10, 4,
     [dict(heads=1, phi="tanh", residual=True), dict(heads=2, causal=True, phi="relu",
                                                     mlp_residual=True)], "ce", 1, 0.5, 2),
    ("3 layers, d_h = 1, gelu_tanh, cross-entropy (mean)", 9, 3,
     [dict(heads=3, causal=True, phi="gelu_tanh")] * 3, "ce_mean", 3, 0.6, 3),
    ("1 layer, plain attention, degree 0", 8, 2, [dict(heads=1)], "squared", 0, 0.4, 4),
)


class Run:
    """One instance: the fast pass in float64 with its bounds, and the exact model at 50
    digits."""

    def __init__(self, k):
        case = CASES[k]
        label, n, d, specs, loss, degree, bound, seed = case
        self.label = label
        X, layers, extra, self.labels = _instance(case)
        self.kind = "squared" if loss == "squared" else "ce"
        self.reduction = "mean" if loss == "ce_mean" else "sum"
        # the fast pass (float64), its trace and its bounds
        chk = check_model(X, layers, extra)
        engine = F.FastAttention(chk.ns, "chebyshev", degree=degree)
        T, cache = bp.forward(chk.ns, chk, None, None, engine=engine)
        L, dT, gH, spec = F._loss(chk.ns, chk, T, self._loss(chk))
        trace = {}
        dX, grads = bp.backward(chk.ns, chk, cache, dT, None, trace, engine)
        self.record = []
        self.E = F.model_bounds(chk.ns, chk, cache, trace, spec, record=self.record)
        self.chk, self.cache, self.trace = chk, cache, trace
        self.got = dict(tr.TransformerGradient(dX, grads, gH).arrays())
        self.mcache, self.mtrace, self.exact = _exact(k)

    def _loss(self, chk):
        if self.kind == "squared":
            return ("squared", chk.extra["target"])
        return ("ce", (chk.extra["head"], self.labels, self.reduction))

    def heads(self):
        """(layer, head, cache entry, its head dict, the HeadForward of its bound)."""
        for i, (entry, rec) in enumerate(zip(self.cache, self.record)):
            for l, (h, hf) in enumerate(zip(entry["heads"], rec["heads"])):
                yield i, l, entry, h, hf


@lru_cache(maxsize=None)
def _exact(k):
    """The exact model of CASES[k] at 50 digits: (cache, backward trace, gradients by name);
    kept apart from the fast runs, which depend on the code under test."""
    case = CASES[k]
    label, n, d, specs, loss, degree, bound, seed = case
    proto = Run.__new__(Run)
    proto.kind = "squared" if loss == "squared" else "ce"
    proto.reduction = "mean" if loss == "ce_mean" else "sum"
    X, layers, extra, labels = _instance(case)
    proto.labels = labels
    mp = attngrad.to_mpmath
    with mpmath.workdps(50):
        mchk = check_model(mp(X), [tr.Layer(*(mp(w) for w in (L_.W_Q, L_.W_K, L_.W_V)),
                                            W_g=None if L_.W_g is None else mp(L_.W_g),
                                            phi=L_.phi, heads=L_.heads, causal=L_.causal,
                                            residual=L_.residual, mlp_residual=L_.mlp_residual)
                                   for L_ in layers],
                           {k: (mp(a), sh) for k, (a, sh) in extra.items()})
        Tm, mcache = bp.forward(MPNS, mchk, None, None)
        _, mdT, mgH, _ = F._loss(MPNS, mchk, Tm, proto._loss(mchk))
        mtrace = {}
        mdX, mgrads = bp.backward(MPNS, mchk, mcache, mdT, None, mtrace)
    return mcache, mtrace, dict(tr.TransformerGradient(mdX, mgrads, mgH).arrays())


def _instance(case):
    """(X, layers, extra arrays for check_model, labels or None) of ``case``."""
    label, n, d, specs, loss, degree, bound, seed = case
    rng = np.random.default_rng(seed)
    X = _dyadic(rng, (n, d), 1.0)
    layers = []
    for sp in specs:
        W = [_dyadic(rng, (d, d), bound) for _ in range(3)]
        Wg = _dyadic(rng, (d, d), bound) if sp.get("phi") else None
        layers.append(tr.Layer(*W, W_g=Wg, phi=sp.get("phi") or "identity",
                               heads=sp.get("heads", 1), causal=sp.get("causal", False),
                               residual=sp.get("residual", False),
                               mlp_residual=sp.get("mlp_residual", False)))
    if loss == "squared":
        return X, layers, {"target": (_dyadic(rng, (n, d), 1.0), ("n", "d"))}, None
    extra = {"head": (_dyadic(rng, (d, 3), 1.0), ("d", "vocab"))}
    return X, layers, extra, rng.integers(0, 3, size=n)


@lru_cache(maxsize=None)
def runs():
    return tuple(Run(k) for k in range(len(CASES)))


def _mp(a):
    return attngrad.to_mpmath(np.asarray(a, dtype=np.float64))


def _cases(fn):
    """A step's cases: fn(run) -> [(label, lhs, rhs), ...] over every instance, at 50 digits."""
    def compute():
        out = []
        with mpmath.workdps(50):
            for r in runs():
                out += [(f"{r.label}: {lab}", lhs, rhs) for lab, lhs, rhs in fn(r)]
        return out
    return compute


# --------------------------------------------------------------------------------------------
# Lemma T.7


def _scores(r, i, h):
    """(computed z k~c^T (exact products), exact model scores s q kc^T, the mask) at 50 digits."""
    z, Kc = _mp(h["z"]), _mp(h["Kc"])
    hc = h["hc"]
    mq, mk = r.mcache[i]["Q"][:, hc], r.mcache[i]["K"][:, hc]
    K = r.cache[i]["K"][:, hc]
    mid = _mp(((K.max(axis=0) + K.min(axis=0)) / 2)[None, :])   # the centre the fast path used
    S_comp = z @ Kc.T
    S_model = (mq @ (mk - mid).T) * r.mcache[i]["s"]
    n = z.shape[0]
    keep = np.tril(np.ones((n, n), dtype=bool)) if r.chk.layers[i].causal else \
        np.ones((n, n), dtype=bool)
    return S_comp, S_model, keep


def _t7_delta(r):
    out = []
    for i, l, entry, h, hf in r.heads():
        S_comp, S_model, keep = _scores(r, i, h)
        gap = np.where(keep, np.abs(S_comp - S_model), mpmath.mpf(0)).max(axis=1)
        out.append((f"layer {i} head {l}", gap, _mp(hf.Delta)))
    return out


def _t7_normaliser(r):
    out = []
    for i, l, entry, h, hf in r.heads():
        S_comp, _, keep = _scores(r, i, h)
        Dtrue = np.where(keep, MPNS.exp(S_comp), mpmath.mpf(0)).sum(axis=1)
        alpha = _mp(h["alpha"])
        out.append((f"layer {i} head {l}: D <= sum exp", _mp(hf.D), Dtrue))
        out.append((f"layer {i} head {l}: |alpha~/D - 1| <= tau", np.abs(alpha / Dtrue - 1),
                    _mp(hf.tau)))
    return out


def _t7_output(r):
    out = []
    for i, l, entry, h, hf in r.heads():
        exact = r.mcache[i]["A"][:, h["hc"]]
        out.append((f"layer {i} head {l}", np.abs(_mp(h["O"]) - exact), _mp(hf.EO)))
    return out


LEMMA_T7 = Statement(
    id="LSS24 Lemma T.7 (ours)",
    paper=PAPER,
    summary="one head forward through the low-rank softmax: score error Delta, normaliser "
            "bounds D, tau, and |O~ - O| <= E_O (polynomial, rounding and the inputs' errors)",
    printed=("Ours (LSS24 Lemma C.13 and Section 5 assume exact activations; the fast path's "
             "are approximate). With the quantities of attngrad/transformer/certificate.py: "
             "Delta_i >= max_j |<z_i, kc~_j> - s <q_i, kc_j>|; D_i <= sum_j e^{<z_i, kc~_j>}; "
             "|alpha~_i / sum_j e^{<z_i, kc~_j>} - 1| <= tau_i; |O~ - O| <= E_O entrywise."),
    steps=[
        Step("Delta", "the score error against the exact model's scores (centred keys)",
             "mpmath", _cases(_t7_delta), relation="<="),
        Step("D and tau", "the normaliser's lower bound and relative error against the exact "
             "sum of e^{<z_i, kc~_j>} over the keys row i sees", "mpmath",
             _cases(_t7_normaliser), relation="<="),
        Step("E_O", "the head's output against the exact model's attention output",
             "mpmath", _cases(_t7_output), relation="<="),
    ],
)


# --------------------------------------------------------------------------------------------
# Lemma T.8


def _f_hat(r, i, h):
    """f^ = (computed features' products) / alpha~, exactly, and the exact model's f."""
    feats = h["feats"]
    Phi = _mp(feats.query(NS64, h["z"]))
    Psi = _mp(feats.key(NS64, h["Kc"]))
    S_comp, S_model, keep = _scores(r, i, h)
    P = np.where(keep, Phi.T @ Psi, mpmath.mpf(0))
    fhat = P / _mp(h["alpha"])[:, None]
    e = np.where(keep, MPNS.exp(S_model - S_model.max(axis=1, keepdims=True)), mpmath.mpf(0))
    return fhat, e / e.sum(axis=1, keepdims=True), keep


def _t8_fhat(r):
    out = []
    for i, l, entry, h, hf in r.heads():
        fhat, f, keep = _f_hat(r, i, h)
        zb = _mp(hf.gP * hf.Pabs / h["alpha"])[:, None]
        lhs = np.abs(fhat - f)
        rhs = _mp(hf.eta)[:, None] * f + np.where(keep, zb, mpmath.mpf(0))
        out.append((f"layer {i} head {l}", lhs, rhs))
    return out


def _t8_colsum(r):
    out = []
    for i, l, entry, h, hf in r.heads():
        _, f, _ = _f_hat(r, i, h)
        n = f.shape[0]
        # recompute CF as HeadForward.backward does (the bound it multiplies)
        inv = hf.Pabs / h["alpha"] * (1 + hf.gP)
        CA = np.cumsum(inv[::-1])[::-1] if hf.causal else np.full(n, inv.sum())
        rows = (n - np.arange(n)) * 1.0 if hf.causal else np.full(n, float(n))
        top = float(hf.eta.max())
        CF = (np.minimum((h["colsum"] + (hf.gP + hf.gC) * CA) / (1 - top), rows) if top < 1
              else rows)
        out.append((f"layer {i} head {l}", f.sum(axis=0), _mp(CF)))
    return out


def _t8_gradients(r):
    out = []
    for i, l, entry, h, hf in r.heads():
        hc = h["hc"]
        for k in ("dQ", "dK", "dV"):
            lhs = np.abs(_mp(r.trace[i][k][:, hc]) - r.mtrace[i][k][:, hc])
            out.append((f"layer {i} head {l}: {k}", lhs, _mp(r.record[i][f"E{k}"][:, hc])))
    return out


LEMMA_T8 = Statement(
    id="LSS24 Lemma T.8 (ours)",
    paper=PAPER,
    summary="one head backward through the low-rank softmax: |f^ - f| <= eta f + gamma' Pabs / "
            "alpha~, column sums <= CF, and |dQ~ - dQ|, |dK~ - dK|, |dV~ - dV| within E_dQ, "
            "E_dK, E_dV",
    printed=("Ours (LSS24 Lemmas E.11, F.5, G.4 bound the low-rank gradients' error assuming "
             "exact inputs and G_i). f^ = (computed features' products) / alpha~ satisfies "
             "|f^_ij - f_ij| <= eta_i f_ij + gamma' Pabs(rho_i) / alpha~_i; sum_i f_ij <= CF_j; "
             "and the computed dL/dQ, dL/dK, dL/dV of the head are within E_dQ, E_dK, E_dV of "
             "the exact model's, whatever the error E_c of the incoming dL/dO~."),
    steps=[
        Step("f^ against f", "the low-rank softmax the passes use, entry by entry, against the "
             "exact model's softmax", "mpmath", _cases(_t8_fhat), relation="<="),
        Step("column sums", "sum_i f_ij <= CF_j", "mpmath", _cases(_t8_colsum), relation="<="),
        Step("E_dQ, E_dK, E_dV", "the head's gradients against the exact model's", "mpmath",
             _cases(_t8_gradients), relation="<="),
    ],
)


# --------------------------------------------------------------------------------------------
# Lemma T.9


def _lipschitz():
    """max |phi'| <= L and max |phi''| <= L' on the real line, by interval arithmetic on
    [-8, 8] (cells of 1/32); beyond, |phi'| is within e^-30 of 0 or 1 and |phi''| below e^-30
    (x^2 e^(-x^2/2) and x sech^2(kx) decay), which the tail terms charge."""
    iv = mpmath.iv

    def erf(x):
        """erf on an interval: increasing, so [erf(a), erf(b)] widened by 2^-70 (mpmath's erf
        is accurate to the 80-bit working precision)."""
        w = mpmath.mpf(2) ** -70
        with mpmath.workprec(90):
            return iv.mpf([mpmath.erf(x.a) - w, mpmath.erf(x.b) + w])

    def tanh(x):
        return 1 - 2 / (iv.exp(2 * x) + 1)      # x occurs once: no dependency widening

    def gelu_d(x):
        Phi = (1 + erf(x / iv.sqrt(2))) / 2
        return Phi + x * iv.exp(-x * x / 2) / iv.sqrt(2 * iv.pi)

    def gelu_dd(x):
        return iv.exp(-x * x / 2) / iv.sqrt(2 * iv.pi) * (2 - x * x)

    def gt_d(x):
        t = tanh(k * (x + c * x ** 3))
        return (1 + t) / 2 + x * (1 - t * t) * k * (1 + 3 * c * x * x) / 2

    def gt_dd(x):
        u_ = k * (x + c * x ** 3)
        t = tanh(u_)
        du = k * (1 + 3 * c * x * x)
        sech2 = 1 - t * t
        return sech2 * du + x * (-2 * t * sech2 * du * du + sech2 * k * 6 * c * x) / 2

    def tanh_dd(x):
        t = tanh(x)
        return -2 * t * (1 - t * t)

    fns = {"gelu": (gelu_d, gelu_dd), "gelu_tanh": (gt_d, gt_dd),
           "tanh": (lambda x: 1 - tanh(x) ** 2, tanh_dd)}
    out = []
    old = iv.prec
    iv.prec = 80
    try:
        k = iv.sqrt(2 / iv.pi)
        c = iv.mpf("0.044715")
        tail = mpmath.exp(-30)
        for name, (d1, d2) in fns.items():
            for what, fn, L, floor in (("phi'", d1, C.LIPSCHITZ[name][0], 1 + tail),
                                       ("phi''", d2, C.LIPSCHITZ[name][1], tail)):
                top = max(_cover(fn, mpmath.mpf(L)), floor)
                out.append((f"{name}: max |{what}|", top, mpmath.mpf(L)))
    finally:
        iv.prec = old
    return out


def _cover(fn, L, depth=14):
    """The largest certified |fn| over [-8, 8]: cells of 1/32 bisected (at most ``depth`` times)
    while their interval bound exceeds L (interval arithmetic overestimates wide cells)."""
    iv = mpmath.iv
    top = mpmath.mpf(0)
    stack = [(iv.mpf([mpmath.mpf(j) / 32, mpmath.mpf(j + 1) / 32]), 0) for j in range(-256, 256)]
    while stack:
        x, k = stack.pop()
        y = abs(fn(x))
        b = mpmath.mpf(y.b)
        if mpmath.mpf(y.a) > L:       # |fn| certainly exceeds L in this cell: no need to go on
            return b
        if b <= L or k >= depth:
            top = max(top, b)
            continue
        mid = (mpmath.mpf(x.a) + mpmath.mpf(x.b)) / 2
        stack += [(iv.mpf([mpmath.mpf(x.a), mid]), k + 1), (iv.mpf([mid, mpmath.mpf(x.b)]), k + 1)]
    return top


def _t9_layers(r):
    """Each layer's output T~_i and the gradient of its output dT~_i within E_T, E_dT."""
    out = []
    for i, rec in enumerate(r.record):
        lhs = np.abs(_mp(r.cache[i]["Tn"]) - r.mcache[i]["Tn"])
        out.append((f"T_{i + 1}", lhs, _mp(rec["ET_next"])))
        lhs = np.abs(_mp(r.trace[i]["dT"]) - r.mtrace[i]["dT"])
        out.append((f"dL/dT_{i + 1}", lhs, _mp(rec["EdT"])))
    return out


LEMMA_T9 = Statement(
    id="LSS24 Lemma T.9 (ours)",
    paper=PAPER,
    summary="a layer: the activations' Lipschitz constants (certified), and every layer's output "
            "and output gradient within E_T, E_dT carried through residuals and the MLP",
    printed=("Ours (LSS24 Lemma H.4's induction, made explicit): with the Lipschitz constants "
             "L = max|phi'|, L' = max|phi''| of attngrad/transformer/certificate.py, each "
             "layer's computed output is within E_T of the exact model's and the gradient of "
             "its output within E_dT."),
    steps=[
        Step("Lipschitz constants", "interval arithmetic over [-8, 8] in cells of 1/32, tails "
             "beyond", "interval", _lipschitz, relation="<="),
        Step("E_T and E_dT", "every layer's output and output gradient against the exact "
             "model's", "mpmath", _cases(_t9_layers), relation="<="),
    ],
)


# --------------------------------------------------------------------------------------------
# Lemma T.10


def _t10_model(r):
    out = []
    for name, exact in r.exact.items():
        out.append((name, np.abs(_mp(r.got[name]) - exact), _mp(r.E[name])))
    return out


LEMMA_T10 = Statement(
    id="LSS24 Lemma T.10 (ours)",
    paper=PAPER,
    summary="the model: every returned gradient (dL/dX, every weight, the head) within its "
            "certified bound, for both losses",
    printed=("Ours (the explicit form of LSS24 Lemma H.4 / Theorem 4.2's error claim): "
             "attngrad.transformer.gradient(method='fast') returns .bounds[name] >= the "
             "largest error of that array against the exact model's gradient."),
    steps=[
        Step("every gradient", "each array of the fast gradient against the exact model's at "
             "50 digits", "mpmath", _cases(_t10_model), relation="<="),
    ],
)


STATEMENTS = [LEMMA_T7, LEMMA_T8, LEMMA_T9, LEMMA_T10]
