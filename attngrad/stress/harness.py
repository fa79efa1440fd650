"""The stress run: every (approximator, family, n, B, budget), error against the exact gradient.

``run(config)`` returns a dict with

* ``records``: one per run, {"method", "family", "n", "d", "B", "ratio", "budget",
  "budget_kind", "rel_error", "abs_error", "seconds", "status", ...}; the reference is
  attngrad.gradient (Lemma C.8) on the same arrays, recorded as method "exact";
  rel_error = ||g~ - g||_inf / ||g||_inf (entry-wise max, as in Definition 1.4);
* ``budget_needed``: the smallest budget that reached ``target`` relative error;
* ``crossings``: the B / sqrt(ln n) at which each (method, budget) crosses ``target``;
* ``claim``: the polynomial method's error on hard instances against easy ones.
"""
from __future__ import annotations

import inspect
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from .. import validate
from ..backend import to_float64
from ..machine import cpu_model, gpu_name, require_gpu
from . import approximators as ap
from . import families as fam


# --------------------------------------------------------------------------
# methods


@dataclass
class Method:
    """An approximator f(A1, A2, A3, E, X, Y, *, scale=None, <budget_kw>=b[, seed=...])."""

    name: str
    fn: object
    budget_kw: str | None = None
    budgets: tuple = (None,)
    seeded: bool = False
    prepare: object = None      # work shared by all budgets (timed and added to each)
    prepare_kw: str | None = None

    def __call__(self, arrays, budget, seed, state=None):
        kw = {}
        if self.budget_kw is not None:
            kw[self.budget_kw] = budget
        if self.seeded:
            kw["seed"] = seed
        if self.prepare_kw is not None:
            kw[self.prepare_kw] = state
        return self.fn(*arrays, **kw)


BUILTIN = {
    "polynomial": dict(fn=ap.polynomial_gradient, budget_kw="degree", budgets=(1, 2, 3)),
    "random-features": dict(fn=ap.random_features_gradient, budget_kw="features",
                            budgets=(16, 64, 256, 1024), seeded=True),
    "truncated-svd": dict(fn=ap.svd_gradient, budget_kw="rank", budgets=(4, 16, 64, 256),
                          prepare=ap.svd_of_f, prepare_kw="svd"),
    "top-k": dict(fn=ap.topk_gradient, budget_kw="k", budgets=(4, 16, 64, 256)),
}


def resolve_method(spec, budgets=None):
    """A :class:`Method` from a built-in name or ``module:function``.

    A user function takes attngrad.gradient's arguments (A1, A2, A3, E, X, Y, scale=...);
    if it has a parameter named ``budget``, each of ``budgets`` is passed as budget=b.
    """
    if spec in BUILTIN:
        entry = dict(BUILTIN[spec])
        if budgets is not None:
            entry["budgets"] = tuple(budgets)
        return Method(spec, **entry)
    fn = validate.load_callable("--methods", spec,
                                hint=f" (nor a built-in method: {', '.join(BUILTIN)})")
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    takes_budget = "budget" in params
    if budgets is not None and not takes_budget:
        raise ValueError(f"--budget: {spec!r} has no parameter named 'budget', so it cannot "
                         "take budgets")
    if takes_budget:
        default = params["budget"].default
        if budgets is None and default is inspect.Parameter.empty:
            raise ValueError(f"--budget: {spec!r} needs a budget; give --budget {spec}=B1,B2,...")
        return Method(spec, fn, "budget", tuple(budgets) if budgets is not None else (default,))
    return Method(spec, fn)


# --------------------------------------------------------------------------
# configuration


@dataclass
class StressConfig:
    sizes: tuple = (256, 1024)
    d: int = 16
    methods: tuple = tuple(BUILTIN)
    budgets: dict = field(default_factory=dict)      # method name -> budgets
    families: tuple = fam.FAMILIES
    ratios: dict = field(default_factory=dict)       # family -> B / sqrt(ln n) grid
    target: float = 1e-3
    claim_factor: float = 100.0
    hard_ratio: float = 2.0
    seed: int = 0
    device: str = "cpu"

    def check(self):
        if not self.sizes:
            raise ValueError("sizes: give at least one n")
        for n in self.sizes:
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
                raise ValueError(f"sizes: each n must be an integer >= 2, got {n!r}")
        if isinstance(self.d, bool) or not isinstance(self.d, (int, np.integer)) or self.d < 1:
            raise ValueError(f"d: must be a positive integer, got {self.d!r}")
        for f in self.families:
            if f not in fam.FAMILIES:
                raise ValueError(f"families: must be among {list(fam.FAMILIES)}, got {f!r}")
        for f, grid in self.ratios.items():
            if f not in fam.FAMILIES or f == "reduction":
                raise ValueError(f"ratios: no B grid for family {f!r}")
            if not grid or any(not (t > 0 and math.isfinite(t)) for t in grid):
                raise ValueError(f"ratios: {f} needs positive finite B / sqrt(ln n) values")
        if not (0 < self.target < 1):
            raise ValueError(f"target: must be in (0, 1), got {self.target!r}")
        if self.device not in ("cpu", "gpu"):
            raise ValueError(f"device: must be 'cpu' or 'gpu', got {self.device!r}")
        unknown = set(self.budgets) - set(self.methods)
        if unknown:
            raise ValueError(f"--budget: {sorted(unknown)} not among the methods run "
                             f"({', '.join(self.methods)})")
        for name, bs in self.budgets.items():
            if not bs:
                raise ValueError(f"--budget: no budgets given for {name!r}")
        return self


QUICK = dict(sizes=(256, 512), d=16,
             ratios={"sweep": (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
                     "planted": (0.5, 1.0, 1.5, 2.0, 3.0)})
FULL = dict(sizes=(256, 1024, 4096), d=16,
            budgets={"polynomial": (1, 2, 3, 4), "random-features": (16, 64, 256, 1024, 4096),
                     "truncated-svd": (4, 16, 64, 256, 1024), "top-k": (4, 16, 64, 256, 1024)},
            ratios={"sweep": (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0)})


# --------------------------------------------------------------------------
# the run


class _Device:
    """Moves numpy instances to the chosen device and times with synchronisation."""

    def __init__(self, device):
        self.device = device
        self.cp = require_gpu("device") if device == "gpu" else None

    def put(self, arrays):
        if self.cp is None:
            return arrays
        return tuple(self.cp.asarray(a) for a in arrays)

    def sync(self):
        if self.cp is not None:
            self.cp.cuda.Device().synchronize()

    def timed(self, fn):
        self.sync()
        t0 = time.perf_counter()
        out = fn()
        self.sync()
        return out, time.perf_counter() - t0

    def describe(self):
        if self.cp is None:
            return f"cpu ({cpu_model()}, {os.cpu_count()} cores)"
        return f"gpu ({gpu_name(self.cp)})"


def _error(g_tilde, g_exact, d, name):
    """(rel_error, abs_error, status) of an approximate gradient."""
    try:
        gt = to_float64(g_tilde)
    except Exception as exc:
        raise TypeError(f"{name}: returned {type(g_tilde).__name__}, not an array") from exc
    if gt.shape != (d, d):
        raise ValueError(f"{name}: returned shape {gt.shape}, expected the d x d gradient ({d}, {d})")
    if not np.all(np.isfinite(gt)):
        return None, None, "nonfinite"
    abs_err = float(np.abs(gt - g_exact).max())
    scale = float(np.abs(g_exact).max())
    return (abs_err / scale if scale > 0 else abs_err), abs_err, "ok"


def _instances(config, n):
    """The instances at size n; each family's generator is seeded by (seed, n, family), so a
    record does not depend on which other sizes or families are run."""
    out = []
    for family in config.families:
        rng = np.random.default_rng([config.seed, n, fam.FAMILIES.index(family)])
        out.extend(fam.make(family, n, config.d, rng, config.ratios.get(family)))
    return out


def run(config: StressConfig, progress=None):
    """Run the stress test; ``progress(total)`` returns a step(description) callable or None."""
    config.check()
    methods = [resolve_method(m, config.budgets.get(m)) for m in config.methods]
    device = _Device(config.device)

    t_start = time.perf_counter()
    plan = [(n, _instances(config, n)) for n in config.sizes]
    total = sum(len(insts) * (1 + sum(len(m.budgets) for m in methods)) for _, insts in plan)
    step = progress(total) if progress is not None else None
    records, failures = [], []
    for n, insts in plan:
        for i_inst, inst in enumerate(insts):
            arrays = device.put(inst.arrays)
            base = {"family": inst.family, "n": inst.n, "d": inst.d, "B": inst.B,
                    "ratio": inst.ratio, "instance": i_inst,
                    **{k: v for k, v in inst.meta.items() if k in ("target_ratio", "unique",
                                                                   "min_random_distance",
                                                                   "planted_distance", "source",
                                                                   "shape")}}
            if step:
                step(f"n={n} {inst.family} B/sqrt(ln n)={inst.ratio:.2f}: exact")
            from ..api import gradient

            g, secs = device.timed(lambda: gradient(*arrays))
            g = to_float64(g)
            records.append({**base, "method": "exact", "budget": None, "budget_kind": None,
                            "rel_error": 0.0, "abs_error": 0.0, "seconds": secs, "status": "ok"})
            for m in methods:
                state, shared, shared_error = None, 0.0, None
                if m.prepare is not None:
                    try:
                        state, shared = device.timed(lambda: m.prepare(*arrays))
                    except Exception as exc:  # recorded for every budget below
                        shared_error = f"{type(exc).__name__}: {exc}"
                for budget in m.budgets:
                    if step:
                        step(f"n={n} {inst.family} B/sqrt(ln n)={inst.ratio:.2f}: {m.name} {budget}")
                    rec = {**base, "method": m.name, "budget": budget, "budget_kind": m.budget_kw}
                    if m.budget_kw in ("rank", "k") and budget is not None and budget >= inst.n:
                        records.append({**rec, "rel_error": None, "abs_error": None,
                                        "seconds": None, "status": "skipped: budget >= n (exact)"})
                        continue
                    seed = int(np.random.default_rng([config.seed, n, i_inst]).integers(2**31))
                    try:
                        if shared_error is not None:
                            raise RuntimeError(shared_error)
                        gt, secs = device.timed(lambda: m(arrays, budget, seed, state))
                    except Exception as exc:  # recorded and reported, the run goes on
                        msg = f"{type(exc).__name__}: {exc}"
                        failures.append(f"{m.name} budget={budget} on {inst.family} n={n}: {msg}")
                        records.append({**rec, "rel_error": None, "abs_error": None,
                                        "seconds": None, "status": "error: " + msg[:300]})
                        continue
                    rel, abs_err, status = _error(gt, g, inst.d, m.name)
                    records.append({**rec, "rel_error": rel, "abs_error": abs_err,
                                    "seconds": shared + secs, "shared_seconds": shared,
                                    "status": status})
    elapsed = time.perf_counter() - t_start
    result = {
        "config": {"sizes": list(config.sizes), "d": config.d, "methods": list(config.methods),
                   "budgets": {m.name: list(m.budgets) for m in methods},
                   "families": list(config.families), "target": config.target,
                   "seed": config.seed, "device": device.describe(),
                   "hard_ratio": config.hard_ratio, "claim_factor": config.claim_factor},
        "elapsed_seconds": elapsed,
        "failures": failures,
        "records": records,
    }
    result["budget_needed"] = budget_needed(records, config.target)
    result["crossings"] = crossings(records, config.target)
    result["claim"] = hard_vs_easy(records, config.hard_ratio, config.claim_factor)
    return result


# --------------------------------------------------------------------------
# summaries


def _ok(records):
    return [r for r in records if r["status"] == "ok" and r["method"] != "exact"]


def budget_needed(records, target):
    """For each (method, family, n, instance): the smallest budget with rel_error <= target."""
    groups = {}
    for r in _ok(records):
        if r["budget"] is None:
            continue
        key = (r["method"], r["family"], r["n"], r["instance"])
        groups.setdefault(key, []).append(r)
    out = []
    for (method, family, n, _), rs in sorted(groups.items(), key=lambda kv: (kv[0], )):
        good = sorted(r["budget"] for r in rs if r["rel_error"] <= target)
        out.append({"method": method, "family": family, "n": n, "d": rs[0]["d"], "B": rs[0]["B"],
                    "ratio": rs[0]["ratio"], "budget_kind": rs[0]["budget_kind"],
                    "target": target, "budget": good[0] if good else None,
                    "largest_tried": max(r["budget"] for r in rs)})
    return out


def crossing_points(points, target):
    """Where the error crosses ``target`` along (ratio, error) points (error None = non-finite,
    counted as above): a list of {"ratio", "direction" ("up": becomes worse than target,
    "down": becomes better), "how"}, interpolating log10(error) linearly in the ratio."""
    pts = sorted(points, key=lambda p: p[0])
    out = []
    for (x0, e0), (x1, e1) in zip(pts, pts[1:]):
        below0 = e0 is not None and e0 <= target
        below1 = e1 is not None and e1 <= target
        if below0 == below1:
            continue
        direction = "up" if below0 else "down"
        if e0 is None or e1 is None:
            out.append({"ratio": x1 if e1 is None else x0, "direction": direction,
                        "how": "next to a non-finite result"})
            continue
        l0, l1, lt = (math.log10(max(v, 1e-300)) for v in (e0, e1, target))
        x = x0 if l1 == l0 else x0 + (x1 - x0) * (lt - l0) / (l1 - l0)
        out.append({"ratio": x, "direction": direction, "how": "interpolated"})
    return out


def describe_crossings(points, target, cross):
    """One line: where on the grid the error is below ``target``."""
    pts = sorted(points, key=lambda p: p[0])
    below = [e is not None and e <= target for _, e in pts]
    if all(below):
        return f"below target on the whole grid ({pts[0][0]:.2f} to {pts[-1][0]:.2f})"
    if not any(below):
        return f"above target on the whole grid ({pts[0][0]:.2f} to {pts[-1][0]:.2f})"
    parts = [f"{'worse' if c['direction'] == 'up' else 'better'} than target from "
             f"{c['ratio']:.2f}" for c in cross]
    return ("below" if below[0] else "above") + f" target at {pts[0][0]:.2f}; " + ", ".join(parts)


CURVES = {"random": ("easy", "sweep"), "planted": ("planted",)}


def crossings(records, target):
    """For each (method, budget, curve, n): where rel_error crosses ``target`` as B / sqrt(ln n)
    grows. Curves: "random" (the easy and sweep families together: the same random sign
    entries) and "planted"."""
    groups = {}
    for r in records:
        if r["method"] == "exact" or r["status"] not in ("ok", "nonfinite"):
            continue
        for curve, fams in CURVES.items():
            if r["family"] in fams:
                key = (r["method"], r["budget"], curve, r["n"])
                groups.setdefault(key, []).append((r["ratio"], r["rel_error"]))
    out = []
    for (method, budget, curve, n), pts in groups.items():
        cross = crossing_points(pts, target)
        first_up = next((c["ratio"] for c in cross if c["direction"] == "up"), None)
        out.append({"method": method, "budget": budget, "family": curve, "n": n,
                    "target": target, "crossings": cross, "first_up": first_up,
                    "summary": describe_crossings(pts, target, cross)})
    return out


def hard_vs_easy(records, hard_ratio, factor):
    """The polynomial method at the same n and degree: min error on hard instances over max
    error on easy ones. Hard = planted instances with B >= hard_ratio sqrt(ln n), and the
    reduction's instances."""
    poly = [r for r in records if r["method"] == "polynomial" and r["status"] in ("ok", "nonfinite")]
    cases = []
    for n in sorted({r["n"] for r in poly}):
        for g in sorted({r["budget"] for r in poly if r["n"] == n}):
            rs = [r for r in poly if r["n"] == n and r["budget"] == g]
            easy = [r["rel_error"] for r in rs if r["family"] == "easy"]
            hard = [r for r in rs if r["family"] == "reduction"
                    or (r["family"] == "planted" and r["ratio"] >= hard_ratio)]
            if not easy or not hard:
                continue
            hard_err = [math.inf if r["rel_error"] is None else r["rel_error"] for r in hard]
            e_max, h_min = max(easy), min(hard_err)
            ratio = math.inf if e_max == 0 else h_min / e_max
            cases.append({"n": n, "degree": g, "easy_max_rel_error": e_max,
                          "hard_min_rel_error": None if math.isinf(h_min) else h_min,
                          "hard_families": sorted({r["family"] for r in hard}),
                          "factor": None if math.isinf(ratio) else ratio,
                          "pass": bool(ratio >= factor)})
    return {"statement": f"polynomial method, same n and degree: error on every hard instance "
                         f">= {factor:g} x error on every easy instance",
            "hard": f"planted pair with B >= {hard_ratio:g} sqrt(ln n); reduction instances",
            "cases": cases,
            "pass": (all(c["pass"] for c in cases) if cases else None)}
