"""``attngrad stress --model``: the fast multi-layer gradient (LSS24) as the entry bound grows.

For each n and each B = ratio sqrt(ln n) the run builds a model (``layers`` layers of
``heads``-head attention, causal or not, with its residual and a GELU MLP with its residual,
LSS24 Definitions 1.3, I.5, J.1) in which **every head of every layer** sees largest |score|
exactly B on the exact forward pass: W_Q's columns of each head are rescaled, layer after layer,
on the activations the earlier (already rescaled) layers produce. B is the entry bound of
LSS24's hypothesis, measured where it applies (the scores), not on the inputs.

Then, against the exact gradient (every weight and the input, squared loss):

* the fast gradient at each degree (``degrees``): its error, its certified bound, its time;
* the certified fast gradient at eps = target x max |exact gradient|: the degrees it chose per
  layer and head, or its refusal and the reason.

``run(config)`` returns a dict: ``records`` (one per run), ``breaks`` (per degree the smallest
ratio whose error exceeds the target; for the certified run the smallest ratio it refuses) and
``sound`` (every returned error within its bound: the verdict).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .. import transformer as tr
from ..errors import ApproximationError
from ..machine import cpu_model

QUICK = dict(sizes=(256, 512), degrees=(2, 4, 6), ratios=(0.25, 0.5, 1.0, 1.5, 2.0, 3.0))
FULL = dict(sizes=(256, 1024, 4096), degrees=(2, 3, 4, 6, 8),
            ratios=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0))


@dataclass
class ModelStressConfig:
    sizes: tuple = QUICK["sizes"]
    d: int = 16
    layers: int = 2
    heads: int = 4
    causal: bool = True
    degrees: tuple = QUICK["degrees"]
    ratios: tuple = QUICK["ratios"]
    target: float = 1e-3
    seed: int = 0

    def check(self):
        for name, lo in (("d", 1), ("layers", 1), ("heads", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name}: must be an integer >= {lo}, got {v!r}")
        if self.d % self.heads:
            raise ValueError(f"heads: must divide d = {self.d}, got {self.heads}")
        if not self.sizes or any(isinstance(n, bool) or not isinstance(n, (int, np.integer))
                                 or n < 2 for n in self.sizes):
            raise ValueError(f"sizes: each n must be an integer >= 2, got {self.sizes!r}")
        if not self.degrees or any(isinstance(g, bool) or not isinstance(g, (int, np.integer))
                                   or g < 1 for g in self.degrees):
            raise ValueError(f"--budget fast=...: degrees must be integers >= 1, "
                             f"got {self.degrees!r}")
        if not self.ratios or any(not (r > 0 and math.isfinite(r)) for r in self.ratios):
            raise ValueError(f"--ratios model=...: need positive finite B / sqrt(ln n) values, "
                             f"got {self.ratios!r}")
        if not (0 < self.target < 1):
            raise ValueError(f"target: must be in (0, 1), got {self.target!r}")
        return self


def head_score_max(T, W_Q, W_K, heads, causal, rows=1024):
    """Per head l, max |S_l| with S_l = (1/d_h) (T W_Q^l)(T W_K^l)^T (the model's default scale),
    over the entries the causal mask keeps; computed by blocks of rows (never n x n at once)."""
    n, d = T.shape
    dh = d // heads
    Q, K = T @ W_Q, T @ W_K
    out = np.zeros(heads)
    for l in range(heads):
        c = slice(l * dh, (l + 1) * dh)
        for r0 in range(0, n, rows):
            S = (Q[r0:r0 + rows, c] @ K[:, c].T) / dh
            if causal:
                S = np.where(np.arange(n)[None, :] <= np.arange(r0, r0 + S.shape[0])[:, None],
                             S, 0.0)
            out[l] = max(out[l], float(np.abs(S).max()))
    return out


def calibrated_model(n, d, layers, heads, causal, B, seed):
    """(X, layers, target): every head of every layer has largest |score| B (see the module)."""
    return _calibrate(n, d, layers, heads, causal, B, seed)[:3]


def _calibrate(n, d, layers, heads, causal, B, seed):
    """calibrated_model's result and the largest |score| over every head, measured again on
    each layer's input after the rescaling (the input is at hand here: no second forward)."""
    rng = np.random.default_rng([seed, n, layers, heads, int(causal)])
    X = rng.normal(0, 0.5, (n, d))
    target = rng.normal(0, 1, (n, d))
    dh = d // heads
    built, T, measured = [], X, 0.0
    for _ in range(layers):
        W_Q, W_K, W_V, W_g = (rng.normal(0, 1 / math.sqrt(d), (d, d)) for _ in range(4))
        top = head_score_max(T, W_Q, W_K, heads, causal)
        if not np.all(top > 0):
            raise ValueError("calibrated_model: a head has all scores zero; change the seed")
        for l in range(heads):
            W_Q[:, l * dh:(l + 1) * dh] *= B / top[l]  # scores are linear in W_Q
        measured = max(measured, float(head_score_max(T, W_Q, W_K, heads, causal).max()))
        layer = tr.Layer(W_Q, W_K, W_V, W_g=W_g, phi="gelu", heads=heads, causal=causal,
                         residual=True, mlp_residual=True)
        built.append(layer)
        T = tr.forward(T, [layer])
    return X, built, target, measured


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def max_abs(g):
    """The largest |entry| over every array of a TransformerGradient."""
    return max(float(np.max(np.abs(a))) for _, a in g.arrays())


def max_abs_difference(ge, gf):
    """The largest |entry| of ge - gf over every array of two TransformerGradients."""
    return max(float(np.max(np.abs(a - b))) for (_, a), (_, b) in zip(ge.arrays(), gf.arrays()))


def run(config: ModelStressConfig, progress=None):
    """Run the model stress test; ``progress(total)`` returns a step(description) callable."""
    config.check()
    t_start = time.perf_counter()
    total = len(config.sizes) * len(config.ratios) * (2 + len(config.degrees))
    step = progress(total) if progress is not None else None
    records = []
    for n in config.sizes:
        root = math.sqrt(math.log(n))
        for ratio in config.ratios:
            B = ratio * root
            X, layers, target, measured = _calibrate(n, config.d, config.layers, config.heads,
                                                     config.causal, B, config.seed)
            (_, ge), t_exact = _timed(lambda: tr.loss_and_gradient(X, layers, target=target))
            scale = max_abs(ge)
            base = {"n": n, "B": B, "ratio": ratio, "max_score": measured,
                    "max_abs_gradient": scale, "exact_seconds": t_exact}
            if step:
                step(f"n={n} ratio={ratio:g} exact")
            runs = [("degree", g, dict(degree=g)) for g in config.degrees]
            runs.append(("certified", None, dict(eps=config.target * scale)))
            for kind, g, opts in runs:
                rec = dict(base, kind=kind, degree=g, eps=opts.get("eps"))
                try:
                    (_, gf), secs = _timed(lambda: tr.loss_and_gradient(
                        X, layers, target=target, method="fast", **opts))
                except ApproximationError as exc:
                    rec.update(status="refused", reason=str(exc))
                else:
                    err = max_abs_difference(ge, gf)
                    rec.update(status="ok", seconds=secs, abs_error=err, bound=gf.bound,
                               rel_error=err / scale, rel_bound=gf.bound / scale,
                               degrees=[list(map(int, h)) for h in gf.degrees],
                               within_bound=bool(err <= gf.bound))
                records.append(rec)
                if step:
                    step(f"n={n} ratio={ratio:g} {kind} {g or ''}")
    return {"statement": "LSS24 Theorem 1.4 (fast multi-layer gradient), certificate of "
                         "attngrad.transformer.gradient(method='fast')",
            "config": dict(vars(config), sizes=list(config.sizes), degrees=list(config.degrees),
                           ratios=list(config.ratios)),
            "machine": f"cpu ({cpu_model()})",
            "records": records, "breaks": breaks(records, config),
            "sound": all(r["within_bound"] for r in records if r["status"] == "ok"),
            "elapsed_seconds": time.perf_counter() - t_start}


def breaks(records, config):
    """Per n and degree, the smallest ratio whose relative error exceeds the target (None: never
    in the grid); for the certified run, the smallest ratio it refused."""
    out = []
    for n in config.sizes:
        for kind, g in [("degree", g) for g in config.degrees] + [("certified", None)]:
            rs = [r for r in records if r["n"] == n and r["kind"] == kind and r["degree"] == g]
            if kind == "degree":
                bad = [r["ratio"] for r in rs
                       if r["status"] != "ok" or r["rel_error"] > config.target]
            else:
                bad = [r["ratio"] for r in rs if r["status"] != "ok"]
            out.append({"n": n, "kind": kind, "degree": g,
                        "breaks_at_ratio": min(bad) if bad else None})
    return out


def figure(result, path):
    """PNG: relative error (solid) and certified bound (dashed) against B / sqrt(ln n), one
    colour per degree, at the largest n; the certified run's errors as stars, its refusals as
    crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = result["config"]
    n = max(cfg["sizes"])
    recs = [r for r in result["records"] if r["n"] == n]
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    for g in cfg["degrees"]:
        pts = [(r["ratio"], r["rel_error"], r["rel_bound"]) for r in recs
               if r["kind"] == "degree" and r["degree"] == g and r["status"] == "ok"]
        if pts:
            xs, es, bs = zip(*pts)
            es = [max(e, 1e-17) for e in es]  # exact zeros drawn at the floor
            line, = ax.semilogy(xs, es, "o-", label=f"degree {g}: error")
            ax.semilogy(xs, bs, "s--", color=line.get_color(), alpha=0.6,
                        label=f"degree {g}: bound")
    cert = [(r["ratio"], max(r["rel_error"], 1e-17)) for r in recs
            if r["kind"] == "certified" and r["status"] == "ok"]
    if cert:
        ax.semilogy(*zip(*cert), "k*", ms=9, label="certified run (eps = target): error")
    refused = [r["ratio"] for r in recs if r["kind"] == "certified" and r["status"] != "ok"]
    if refused:
        ax.plot(refused, [cfg["target"]] * len(refused), "kx", ms=9,
                label="certified run refused")
    ax.axhline(cfg["target"], color="grey", lw=0.8, ls=":")
    ax.axvline(1.0, color="grey", lw=0.8, ls="-.")
    ax.set_xlabel("B / sqrt(ln n)  (B: largest |score| of every head)")
    ax.set_ylabel("relative to max |exact gradient|")
    ax.set_title(f"fast multi-layer gradient: n = {n}, d = {cfg['d']}, {cfg['layers']} layers, "
                 f"{cfg['heads']} heads{', causal' if cfg['causal'] else ''}", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
