"""Hostile inputs for the fast methods, and how one call is judged (tests/test_fast_fuzz.py and
benchmarks/fuzz_fast.py).

A case is drawn from a seed: gradient (dL/dX or dL/dY) or attention, n and d, float32 or
float64, eps from 1e-2 to 1e-12, and one of the kinds below; entries are scaled by a factor
from 1e-3 to 1e3 (some kinds go far beyond). The promise judged: the fast method returns a
value within eps of the exact one (and within its own bound), or raises ApproximationError
with a reason; never another exception, never a wrong value.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import mpmath
import numpy as np

import attngrad

KINDS = ("uniform", "peaked", "onehot", "duplicated", "zero-A3", "zero-E", "zero-X", "zero-Y",
         "huge", "tiny", "mixed-rows", "large-scores", "constant")


@dataclass
class Case:
    method: str          # "gradient" or "attention"
    wrt: str             # "X" or "Y" (gradient only)
    kind: str
    args: tuple          # six inputs (gradient) or Q, K, V (attention)
    eps: float

    def call(self, **kw):
        if self.method == "attention":
            return attngrad.attention(*self.args, method="fast", eps=self.eps, **kw)
        return attngrad.gradient(*self.args, wrt=self.wrt, method="fast", eps=self.eps, **kw)


def hostile_case(seed, max_n=600, max_d=8):
    """The case of ``seed`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    method = "attention" if rng.random() < 0.3 else "gradient"
    wrt = "Y" if rng.random() < 0.4 else "X"
    n = int(min(max_n, max(1, np.exp(rng.uniform(0, np.log(max_n + 1))))))
    d = int(rng.integers(1, max_d + 1))
    kind = KINDS[int(rng.integers(len(KINDS)))]
    scale = 10.0 ** rng.uniform(-3, 3) if rng.random() < 0.3 else rng.uniform(0.05, 1.5)
    eps = 10.0 ** -rng.uniform(2, 12)
    dtype = np.float32 if rng.random() < 0.3 else np.float64
    A1, A2, A3, E = (rng.uniform(-1, 1, (n, d)) * scale for _ in range(4))
    X, Y = (rng.uniform(-1, 1, (d, d)) for _ in range(2))
    if kind == "peaked":            # one key aligned with every query: nearly one-hot rows
        A2[0] = 4 * scale
        A1 = np.abs(A1) + scale / 2
        X = np.eye(d)
    elif kind == "onehot":          # one-hot queries and keys
        A1 = np.eye(d)[rng.integers(d, size=n)] * scale * 8
        A2 = np.eye(d)[rng.integers(d, size=n)] * scale
    elif kind == "duplicated":      # repeated rows
        A1[:] = A1[0]
        A2[: n // 2 + 1] = A2[0]
    elif kind == "zero-A3":
        A3[:] = 0
    elif kind == "zero-E":
        E[:] = 0
    elif kind == "zero-X":
        X[:] = 0
    elif kind == "zero-Y":
        Y[:] = 0
    top = 30 if dtype == np.float32 else 200      # huge, but finite in the dtype
    if kind == "huge":
        A1, A2 = A1 * 10.0 ** rng.uniform(1, top), A2 * 10.0 ** rng.uniform(0, top / 2)
    elif kind == "tiny":
        A1, A3 = A1 * 10.0 ** -rng.uniform(20, top * 1.5), A3 * 10.0 ** -rng.uniform(0, top / 2)
    elif kind == "mixed-rows":      # rows of very different norms: huge and tiny row sums
        A1 *= 10.0 ** rng.uniform(-4, 1.5, (n, 1))
    elif kind == "large-scores":    # score radius past what float64's exp can certify
        A1 = A1 * rng.uniform(20, 400)
    elif kind == "constant":        # every key equal: f is exactly uniform
        A2[:] = A2[0]
    with np.errstate(all="ignore"):
        args = tuple(np.asarray(a, dtype=dtype) for a in (A1, A2, A3, E, X, Y))
    if method == "attention":
        args = (args[0], args[1], args[2])
    return Case(method, wrt, kind, args, float(eps))


def reference(case, dps=30):
    """The exact result at ``dps`` digits, as float64 (small n only)."""
    with mpmath.workdps(dps):
        mp = [attngrad.to_mpmath(np.asarray(a, dtype=np.float64)) for a in case.args]
        if case.method == "attention":
            out = attngrad.attention(*mp)
        else:
            out = attngrad.gradient(*mp, wrt=case.wrt)
        return attngrad.to_float64(out)


def judge(case, ref=None):
    """(outcome, seconds, detail): outcome "met" (value within eps of ``ref`` and of its bound;
    without ref, within its own bound <= eps), "refused" (ApproximationError with a reason),
    "violated" (a value farther than eps or than its bound), or "error" (any other exception)."""
    t0 = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            res = case.call(return_bound=True)
    except attngrad.ApproximationError as exc:
        sec = time.perf_counter() - t0
        ok = "eps" in str(exc) or "cannot" in str(exc)
        return ("refused" if ok else "error"), sec, str(exc)
    except Exception as exc:  # noqa: BLE001 - judged, not hidden: any other exception is a bug
        return "error", time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"
    sec = time.perf_counter() - t0
    if not res.bound <= case.eps:
        return "violated", sec, f"bound {res.bound} > eps {case.eps}"
    if ref is not None:
        diff = np.abs(np.asarray(res.value, dtype=np.float64) - ref)
        # the reference is rounded to float64: allow its half ulp (and the subtraction's)
        if not np.all(diff <= res.bound + 2.0 ** -52 * np.abs(ref)):
            err = float(diff.max())
            return "violated", sec, f"error {err} > bound {res.bound}"
    return "met", sec, ""
