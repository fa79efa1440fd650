"""The almost-linear gradient of the multi-layer model (LSS24 Algorithm 1, corrected), certified.

Every head of every layer replaces its softmax by the polynomial method's low-rank form
(attngrad/transformer/lowrank.py: LSS24 Lemma C.13 with the keys centred, which softmax does not
see), forward and backward; the layers around attention are the exact path's
(attngrad/transformer/backprop.py with :class:`FastAttention` as its engine). Nothing n x n is
formed: time O(m n k d_h^2) for k features per head.

The error of every returned array is bounded by attngrad/transformer/certificate.py, composed
through the layers forward (the activations are approximate too: the forward pass is the
low-rank one) and backward. Degrees: each head takes the first degree whose polynomial meets a
common relative-error target on its own scores' interval; the target starts at 1e-3, and the
bound's split into a rounding floor (the bound with an exact polynomial) and a part about
proportional to the target sets the next target, until the bound meets eps (at most
``MAX_TRIES`` passes) or no target can (the floor, the rank cap, or scores beyond the method's
regime: ApproximationError naming the layer and head).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ApproximationError
from ..fast.contractions import blocking
from ..fast.degree import first_degree, max_degree
from ..fast.features import coef_vector, monomial_plan
from ..fast.instance import centre_keys, score_bounds
from ..fast.rounding import bound_xp, check_range, gamma, prec_of, refuse_flushed, to64, u_of
from ..poly import exp_poly, grid_interval
from . import backprop, losses
from . import certificate as C
from . import lowrank
from .attention import _heads

MAX_TRIES = 5
FIRST_TARGET = 1e-3
_IMG = 2.0 ** -51        # float64 images of mpmath values: relative error <= 2^-53, with room


class FastAttention:
    """The engine of backprop.forward/backward for the fast path: low-rank heads, with what the
    certificate needs kept in each layer's cache entry (entry["heads"])."""

    def __init__(self, ns, basis, target=None, degree=None, max_rank=None, what="fast"):
        self.ns, self.basis, self.target, self.degree = ns, basis, target, degree
        self.max_rank, self.what = max_rank, what
        self.xb = bound_xp(ns)
        self.prec = prec_of(ns)

    def _poly(self, i, l, z, Kc, dh):
        xb, what = self.xb, f"{self.what}: layer {i}, head {l}"
        lo, hi, _ = score_bounds(xb, to64(self.ns, z, "queries", what),
                                 to64(self.ns, Kc, "keys", what))
        if not (math.isfinite(lo) and math.isfinite(hi) and hi - lo < 700):
            raise ApproximationError(f"{what}: the scores span [{lo:.3g}, {hi:.3g}], beyond the "
                                     "polynomial method's regime (bounded entries, LSS24 Lemma "
                                     "C.13); needed: smaller activations or weights")
        lo, hi = grid_interval(lo, hi)
        if self.degree is not None:
            g = self.degree
        else:
            gmax = max_degree(dh, self.max_rank)
            g = first_degree(self.basis, lo, hi, self.prec, 0, max(gmax, 0), self.target)
            if g is None or gmax < 0:
                raise ApproximationError(
                    f"{what}: no degree within max_rank={self.max_rank} reaches the relative "
                    f"error {self.target:.3g} on the scores' interval [{lo:.3g}, {hi:.3g}]; "
                    f"needed: a larger max_rank or eps, or smaller entries")
        return exp_poly(self.basis, g, lo, hi, self.prec)  # certified at a fixed degree too

    def _rows(self, n, k, dh, causal):
        """Rows per block: a sum over n keys is then b + n / b terms long in the rounding bound
        (at most 1024 rows), and under the mask the local b x b triangle costs about what the
        d_h^2 columns of the low-rank part cost (b ~ d_h^2)."""
        _, b = blocking(self.ns, n, k, dh + dh * dh + dh + 1)
        return max(64, min(b, dh * dh)) if causal else min(b, 1024)

    def forward(self, ns, i, layer, Q, K, V, s, rows, entry):
        n, d = Q.shape
        out = ns.zeros((n, d))
        heads = []
        for l, hc in enumerate(_heads(d, layer.heads)):
            dh = hc.stop - hc.start
            z, Kc = Q[:, hc] * s, centre_keys(ns, K[:, hc])
            poly = self._poly(i, l, z, Kc, dh)
            plan = monomial_plan(dh, poly.degree)
            feats = lowrank.Features(plan, coef_vector(ns, poly, plan))
            rows_h = self._rows(n, feats.rank, dh, layer.causal)
            O, alpha = lowrank.forward(ns, feats, Q[:, hc], Kc, V[:, hc], s, layer.causal, rows_h)
            out[:, hc] = O
            heads.append({"hc": hc, "z": z, "Kc": Kc, "poly": poly, "feats": feats, "O": O,
                          "alpha": alpha, "rows": rows_h})
        entry["heads"] = heads
        return out

    def backward(self, ns, i, layer, Q, K, V, dO, s, rows, entry):
        n, d = Q.shape
        dQ, dK, dV = ns.zeros((n, d)), ns.zeros((n, d)), ns.zeros((n, d))
        for h in entry["heads"]:
            hc = h["hc"]
            dQ[:, hc], dK[:, hc], dV[:, hc], h["colsum"] = lowrank.backward(
                ns, h["feats"], Q[:, hc], h["Kc"], V[:, hc], h["O"], h["alpha"], dO[:, hc], s,
                layer.causal, h["rows"])
        return dQ, dK, dV

    def degrees(self, cache):
        return [[h["poly"].degree for h in entry["heads"]] for entry in cache]


# ---------------------------------------------------------------------------------------------
# the certificate over the model


class _Images:
    """float64 images on the bound's device: magnitudes rounded up (mpmath values carry a
    relative error up to 2^-53 in float64)."""

    def __init__(self, ns, what):
        self.ns, self.what, self.xb = ns, what, bound_xp(ns)
        self.up = (1 + _IMG) if ns.name == "mpmath" else 1.0

    def abs(self, a, name):
        m = abs(to64(self.ns, a, name, self.what)) * self.up
        check_range(self.what, {name: m}, self.xb)
        return m

    def low(self, a, name):
        """a >= 0 rounded down (alpha~)."""
        return to64(self.ns, a, name, self.what) * (2 - self.up)

    def high(self, a, name):
        return to64(self.ns, a, name, self.what) * self.up

    def scalar(self, v):
        return float(v) * self.up


def model_bounds(ns, chk, cache, trace, loss, delta_scale=1.0, what="fast", record=None):
    """{array name: E array} for dL/dX, every weight gradient and the head (cross-entropy), from
    the fast pass's cache and backward trace (certificate.py's lemmas, layer by layer).
    ``loss``: ("given", None), ("squared", None) or ("ce", (head, labels, reduction, dZ, amax)).
    ``delta_scale`` multiplies every polynomial's relative error (0: the rounding floor).
    ``record`` (a list) receives each layer's forward bounds {"ET": input, "EA": attention
    output, "EZ", "ET_next"} and backward bounds {"EdT": of the output's gradient, "EdZ",
    "EdQ", "EdK", "EdV"} (for the checks in derivations/ and the tests)."""
    img = _Images(ns, what)
    xb, u = img.xb, u_of(ns)
    n, d = chk.n, chk.d
    ET = xb.zeros((n, d))
    fwd = []
    for i, (layer, W, c) in enumerate(zip(chk.layers, chk.weights, cache)):
        T = img.abs(c["T"], f"T_{i}")
        Wa = {k: img.abs(w, f"layers[{i}].{k}") for k, w in W.items()}
        E = {k: C.finite(C.product(xb, u, ET, T, Wa[f"W_{k}"]), what) for k in "QKV"}
        Q64, V64 = img.abs(c["Q"], "Q"), img.abs(c["V"], "V")
        EA = xb.zeros((n, d))
        heads = []
        for l, h in enumerate(c["heads"]):
            hc, poly = h["hc"], h["poly"]
            g, k = poly.degree, h["feats"].rank
            nb = -(-n // h["rows"])
            try:
                hf = C.HeadForward(
                    xb, u, n, layer.causal, img.scalar(c["s"]), img.abs(h["z"], "queries"),
                    Q64[:, hc], img.abs(h["Kc"], "keys"), V64[:, hc], E["Q"][:, hc],
                    E["K"][:, hc], E["V"][:, hc], img.abs(h["O"], "O~"),
                    img.low(h["alpha"], "alpha~"), _Scaled(poly, delta_scale),
                    gamma(h["rows"] + nb + k + 2 * g + 8, u), gamma(2 * g + 4, u))
            except ApproximationError as exc:
                raise ApproximationError(f"{what}: layer {i}, head {l}: {exc}") from None
            hf.gC = gamma(2 * h["rows"] + nb + k + (hc.stop - hc.start) + 8, u)
            EA[:, hc] = hf.EO
            heads.append(hf)
        Z = img.abs(c["Z"], "Z")
        EZ = C.finite(ET + EA + u * Z if layer.residual else EA, what)
        EP = Edphi = None
        if "W_g" in W:
            P = img.abs(c["P"], "P")
            EP = C.product(xb, u, EZ, Z, Wa["W_g"])
            EG, Edphi = C.activation_bounds(xb, u, layer.phi, P, EP)
            ET_next = EZ + EG + u * img.abs(c["Tn"], "T") if layer.mlp_residual else EG
        else:
            ET_next = EZ
        fwd.append({"ET": ET, "T": T, "Wa": Wa, "heads": heads, "EZ": EZ, "Z": Z, "EP": EP,
                    "Edphi": Edphi})
        ET = C.finite(ET_next, what)
        if record is not None:
            record.append({"ET": fwd[-1]["ET"], "EA": EA, "EZ": EZ, "ET_next": ET,
                           "heads": heads})
    out = {}
    EdT = _loss_bound(img, xb, u, n, ET, cache[-1]["Tn"], trace[len(cache) - 1]["dT"], loss,
                      out, what)
    for i in reversed(range(len(cache))):
        layer, f, t = chk.layers[i], fwd[i], trace[i]
        dT = img.abs(t["dT"], "dT")
        if f["EP"] is not None:
            Wg = f["Wa"]["W_g"]
            dphi = img.abs(_phi_prime(ns, layer.phi, cache[i]["P"]), "phi'")
            dP = dT * dphi
            EdP = EdT * dphi + (dT + EdT) * f["Edphi"] + u * dP
            out[f"layers[{i}].W_g"] = C.finite(C.product_both(xb, u, f["EZ"], f["Z"], EdP, dP),
                                              what)
            EdZ = C.product(xb, u, EdP, dP, Wg.T)
            if layer.mlp_residual:
                EdZ = EdZ + EdT + u * img.abs(t["dZ"], "dZ")
        else:
            EdZ = EdT
        EdZ = C.finite(EdZ, what)
        dZ = img.abs(t["dZ"], "dZ")
        dQ, dK, dV = (img.abs(t[k], k) for k in ("dQ", "dK", "dV"))
        EdQ, EdK, EdV = xb.zeros((n, d)), xb.zeros((n, d)), xb.zeros((n, d))
        for h, hf in zip(cache[i]["heads"], f["heads"]):
            hc = h["hc"]
            EdQ[:, hc], EdK[:, hc], EdV[:, hc] = hf.backward(
                xb, dZ[:, hc], EdZ[:, hc], dQ[:, hc], dK[:, hc], dV[:, hc],
                img.high(h["colsum"], "colsum~"), hf.gC, n)
        if record is not None:
            record[i].update(EdT=EdT, EdZ=EdZ, EdQ=EdQ, EdK=EdK, EdV=EdV)
        T, Wa = f["T"], f["Wa"]
        for k, Eg, g in (("W_Q", EdQ, dQ), ("W_K", EdK, dK), ("W_V", EdV, dV)):
            out[f"layers[{i}].{k}"] = C.finite(C.product_both(xb, u, f["ET"], T, Eg, g), what)
        terms = dQ @ Wa["W_Q"].T + dK @ Wa["W_K"].T + dV @ Wa["W_V"].T
        EdTp = EdQ @ Wa["W_Q"].T + EdK @ Wa["W_K"].T + EdV @ Wa["W_V"].T
        if layer.residual:
            EdTp, terms = EdTp + EdZ, terms + dZ
        EdT = C.finite(EdTp + gamma(3 * d + 3, u) * terms, what)
    out["X"] = EdT
    return out


def _loss_bound(img, xb, u, n, ET, Tm, dTm, loss, out, what):
    """E of dL/dT_m (and of dL/dhead into ``out``): Lemma T.10 (ours)."""
    kind, data = loss
    if kind == "given":
        return xb.zeros(ET.shape)
    if kind == "squared":                     # dT = fl(T_m - target)
        return C.finite(ET + u * img.abs(dTm, "dT"), what)
    H, labels, reduction, dZl, amax = data
    Ha, T = img.abs(H, "head"), img.abs(Tm, "T_m")
    EZl = C.product(xb, u, ET, T, Ha)                     # the logits T_m H
    dZa = img.abs(dZl, "dL/dlogits")
    vocab = Ha.shape[1]
    scale = float(n) if reduction == "mean" else 1.0
    onehot = (xb.arange(vocab)[None, :] == xb.asarray(labels)[:, None])
    sm = dZa * scale + onehot                              # >= the computed softmax
    # softmax~ within gamma_{V+8} of softmax(logits~), which is within e^{2 max E_Zl} of the model's
    eps = (1 + gamma(vocab + 8, u)) ** 2 * xb.exp(2 * EZl.max(axis=1)) - 1
    E = (eps * (1 + eps))[:, None] * sm + u * (dZa * scale + onehot)
    # the row-sum correction moved the largest logit's entry by |computed row sum|
    corr = E.sum(axis=1) + gamma(vocab + 2, u) * (dZa * scale).sum(axis=1)
    E[xb.arange(n), xb.asarray(amax)] += corr * (1 + eps)
    E = E / scale + u * dZa
    out["head"] = C.finite(C.product_both(xb, u, ET, T, E, dZa), what)
    return C.finite(C.product(xb, u, E, dZa, Ha.T), what)


def run(chk, scale, block, loss, *, eps, degree, basis, max_rank, what):
    """(L or None, TransformerGradient with .bound, .bounds, .degrees): the fast pass, certified.

    ``loss``: ("given", dT), ("squared", target) or ("ce", (head, labels, reduction)), arrays
    of chk.ns. With ``degree`` every head uses that degree (the bound is still computed; eps, if
    given, is then only checked); else the degrees are chosen as the module docstring says."""
    from . import TransformerGradient

    ns = chk.ns
    refuse_flushed(ns, what)
    target, tries = FIRST_TARGET, (1 if degree is not None else MAX_TRIES)
    best = None
    for _ in range(tries):
        engine = FastAttention(ns, basis, target=target, degree=degree, max_rank=max_rank,
                               what=what)
        T, cache = backprop.forward(ns, chk, scale, block, engine=engine)
        if not ns.isfinite_all(T):
            raise ApproximationError(f"{what}: the fast forward pass overflowed in {ns.name}")
        L, dT, g_head, spec = _loss(ns, chk, T, loss)
        trace = {}
        dX, grads = backprop.backward(ns, chk, cache, dT, block, trace, engine)
        result = TransformerGradient(dX, grads, g_head)
        for name, a in result.arrays():
            if not ns.isfinite_all(a):
                raise ApproximationError(f"{what}: {name} overflowed in {ns.name}")
        with np.errstate(over="ignore", invalid="ignore"):   # an infinite bound is refused
            E = model_bounds(ns, chk, cache, trace, spec, 1.0, what)
        bounds = {name: float(e.max()) for name, e in E.items()}
        result.bound, result.bounds = max(bounds.values()), bounds
        result.degrees = engine.degrees(cache)
        if degree is not None or result.bound <= eps:
            if eps is not None and not result.bound <= eps:
                raise ApproximationError(
                    f"{what}: at degree {degree} the certified bound is {result.bound:.3g} > "
                    f"eps={eps:g} (largest on {max(bounds, key=bounds.get)})")
            return L, result
        with np.errstate(over="ignore", invalid="ignore"):
            floor = max(float(e.max()) for e in model_bounds(ns, chk, cache, trace, spec, 0.0,
                                                              what).values())
        worst = max(bounds, key=bounds.get)
        best = (result.bound, floor, worst, result.degrees)
        if not floor < 0.8 * eps:
            raise ApproximationError(
                f"{what}: eps={eps:g} cannot be certified: rounding alone (an exact polynomial) "
                f"bounds the error by {floor:.3g} (largest on {worst}, degrees per layer and "
                f"head {result.degrees}); needed: a larger eps, higher precision, or smaller "
                f"entries")
        target *= 0.5 * max(1e-8, (0.8 * eps - floor) / (result.bound - floor))
    bound, floor, worst, degrees = best
    raise ApproximationError(
        f"{what}: eps={eps:g} not certified after {tries} passes: the best bound is {bound:.3g} "
        f"(rounding floor {floor:.3g}, largest on {worst}, degrees {degrees}); needed: a larger "
        f"eps or max_rank, or smaller entries")


def _loss(ns, chk, T, loss):
    """(L, dL/dT_m, dL/dhead, the certificate's loss spec) at the computed T_m."""
    kind, data = loss
    if kind == "given":
        return None, data, None, ("given", None)
    if kind == "squared":
        L, dT = losses.squared(ns, T, data)
        return L, dT, None, ("squared", None)
    head, labels, reduction = data
    L, dT, gH, dZ, amax = losses.cross_entropy(ns, T, head, labels, reduction, parts=True)
    return L, dT, gH, ("ce", (head, labels, reduction, dZ, amax))


class _Scaled:
    """A polynomial whose certified relative error is scaled (0: the rounding floor)."""

    def __init__(self, poly, scale):
        self.coeffs, self.degree = poly.coeffs, poly.degree
        self.rel_error = float(poly.rel_error) * scale


def _phi_prime(ns, name, P):
    from .activations import phi_prime

    return phi_prime(ns, name, P)
