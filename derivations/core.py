"""Statements of the paper as chains of checked steps.

A :class:`Statement` carries its paper label ("Lemma C.7"), the text as printed,
and the proof as the paper gives it: a list of :class:`Step` objects, each a
relation ``lhs REL rhs`` between two computed objects, checked by one method:

=============  ==============================================================
method         comparison
=============  ==============================================================
``symbolic``   SymPy: ``simplify(lhs - rhs) == 0`` entry by entry
``exact``      exact equality / inequality of integers, Rationals, Fractions
``mpmath``     max |lhs - rhs| <= tol * max(1, |rhs|), tol = 10^-(dps-10)
``float64``    as mpmath, with a tolerance the step states (a same-precision baseline)
``interval``   mpmath.iv: "<=" holds iff sup(lhs) <= inf(rhs); "==" iff they overlap
``gpu``        as float64 on CuPy results; skipped when no GPU is present
=============  ==============================================================

A step's ``compute`` returns ``(lhs, rhs)`` or a list of ``(label, lhs, rhs)``
cases; the step holds iff every case holds, and the first failing case is kept
as the counterexample.

Errata: an :class:`Erratum` names the printed step it refutes. A statement is

* ``verified``  if every printed step holds and no erratum is recorded;
* ``corrected`` if the printed steps fail exactly at the steps its errata name
  and every step of the corrected chain holds;
* ``failed``    otherwise (an unexpected failing step, or an erratum whose
  printed step holds after all).

So breaking any one step on purpose (``mutate=`` in :meth:`Statement.run`)
turns exactly that statement to ``failed`` and names the step.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import mpmath
import numpy as np
import sympy

METHODS = ("symbolic", "exact", "mpmath", "float64", "interval", "gpu")
RELATIONS = ("==", "<=")


class Skip(Exception):
    """Raised by a step's compute when it cannot run here (e.g. no GPU)."""


@dataclass
class Step:
    """One relation of a proof chain.

    name:    unique within the statement ("step 2", "Part 5")
    text:    what the paper says justifies it ("follows from Fact A.1")
    method:  one of METHODS
    compute: () -> (lhs, rhs) or [(label, lhs, rhs), ...]
    relation: "==" or "<="
    tol:     tolerance for float64 / gpu steps (relative); mpmath uses 10^-(dps-10) if None
    """

    name: str
    text: str
    method: str
    compute: Callable[[], Any]
    relation: str = "=="
    tol: float | None = None

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"step {self.name!r}: method must be one of {METHODS}")
        if self.relation not in RELATIONS:
            raise ValueError(f"step {self.name!r}: relation must be one of {RELATIONS}")
        if self.method in ("float64", "gpu") and self.tol is None:
            raise ValueError(f"step {self.name!r}: float64/gpu steps must state tol")


@dataclass
class Erratum:
    """A printed statement or proof step that is false, with its correction.

    step: the name of the printed step this erratum refutes.
    """

    location: str
    printed: str
    corrected: str
    evidence: str
    step: str

    def as_dict(self):
        return {"location": self.location, "printed": self.printed,
                "corrected": self.corrected, "evidence": self.evidence}


@dataclass
class StepResult:
    name: str
    text: str
    method: str
    ok: bool | None  # None: skipped
    error: float | None
    detail: str
    seconds: float


@dataclass
class Result:
    id: str
    status: str
    methods: list
    max_error: float | None
    note: str
    printed: list
    corrected: list

    def as_dict(self):
        return {"id": self.id, "status": self.status, "methods": self.methods,
                "max_error": self.max_error, "note": self.note}

    def report(self):
        lines = [f"{self.id}: {self.status} -- {self.note}"]
        for title, chain in (("printed", self.printed), ("corrected", self.corrected)):
            for s in chain:
                mark = {True: "ok  ", False: "FAIL", None: "skip"}[s.ok]
                lines.append(f"  [{title}] {mark} {s.name} ({s.method}): {s.text}"
                             + (f" | error {s.error:.3g}" if s.error is not None else "")
                             + (f" | {s.detail}" if s.detail else ""))
        return "\n".join(lines)


@dataclass
class Statement:
    """A labelled statement of the paper with its proof chain(s)."""

    id: str
    summary: str
    printed: str
    steps: list
    corrected: list = field(default_factory=list)
    errata: list = field(default_factory=list)
    slow: bool = False
    dps: int = 50
    paper: str = "AS24"   # "AS24" (Alman & Song) or "LSS24" (Liang, Sha, Shi, Song, Zhou)

    def __post_init__(self):
        for chain in (self.steps, self.corrected):
            names = [s.name for s in chain]
            if len(set(names)) != len(names):
                raise ValueError(f"{self.id}: duplicate step names {names}")
        printed_names = {s.name for s in self.steps}
        for e in self.errata:
            if e.step not in printed_names:
                raise ValueError(f"{self.id}: erratum names unknown printed step {e.step!r}")
        if self.errata and not self.corrected:
            raise ValueError(f"{self.id}: an erratum needs a corrected chain to verify")

    def run(self, *, mutate: str | None = None, gpu: bool = True) -> Result:
        """Check every step. ``mutate`` breaks the named step's relation on purpose
        (prefix "corrected:" to target the corrected chain)."""
        return self.judge(self.evaluate(gpu=gpu), mutate=mutate)

    def evaluate(self, *, gpu: bool = True):
        """Compute both sides of every step once (the expensive part)."""
        with mpmath.workdps(self.dps):
            return ([_compute(s, gpu) for s in self.steps],
                    [_compute(s, gpu) for s in self.corrected])

    def judge(self, evaluated, *, mutate: str | None = None) -> Result:
        """Compare the computed sides; ``mutate`` as in :meth:`run`."""
        printed_out, corrected_out = evaluated
        with mpmath.workdps(self.dps):
            printed = [_assess(s, o, mutate == s.name)
                       for s, o in zip(self.steps, printed_out)]
            corrected = [_assess(s, o, mutate == f"corrected:{s.name}")
                         for s, o in zip(self.corrected, corrected_out)]
        return _judge(self, printed, corrected)


def _judge(st: Statement, printed, corrected) -> Result:
    failed = {r.name for r in printed if r.ok is False}
    expected = {e.step for e in st.errata}
    corr_failed = [r.name for r in corrected if r.ok is False]
    if failed == expected and not corr_failed:
        status = "corrected" if expected else "verified"
    else:
        status = "failed"
    notes = []
    if failed - expected:
        notes.append("printed step(s) fail: " + ", ".join(sorted(failed - expected)))
    if expected - failed:
        notes.append("erratum recorded but printed step(s) hold: "
                     + ", ".join(sorted(expected - failed)))
    if corr_failed:
        notes.append("corrected step(s) fail: " + ", ".join(corr_failed))
    if status == "corrected":
        notes.append("printed fails at " + ", ".join(sorted(expected))
                     + "; corrected chain holds (see errata)")
    if status == "verified":
        notes.append(f"{len(printed)} step(s) hold")
    counted = [r for r in printed if r.name not in expected] + list(corrected)
    ran = [r for r in counted if r.ok is not None]
    skipped = [r.name for r in counted if r.ok is None]
    if skipped:
        notes.append("skipped: " + ", ".join(skipped))
    methods = sorted({r.method for r in ran}, key=METHODS.index)
    errs = [r.error for r in ran if r.error is not None]
    return Result(st.id, status, methods, max(errs) if errs else None,
                  "; ".join(notes), printed, corrected)


def _compute(step: Step, gpu: bool):
    """(kind, payload, seconds): kind is "ok", "skip" or "error"."""
    t0 = time.perf_counter()
    if step.method == "gpu" and not gpu:
        return "skip", "gpu disabled", 0.0
    try:
        out = step.compute()
    except Skip as exc:
        return "skip", str(exc), time.perf_counter() - t0
    except Exception as exc:  # a step that cannot even be evaluated is a failed step
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return "error", f"raised {tb}", time.perf_counter() - t0
    return "ok", out, time.perf_counter() - t0


def _assess(step: Step, computed, mutate: bool) -> StepResult:
    kind, out, seconds = computed
    if kind != "ok":
        return StepResult(step.name, step.text, step.method, None if kind == "skip" else False,
                          None, out, seconds)
    cases = out if isinstance(out, list) else [("", out[0], out[1])]
    if not cases:  # a step that compares nothing must not pass
        return StepResult(step.name, step.text, step.method, False, None, "no cases", seconds)
    worst, detail, ok = None, "", True
    for label, lhs, rhs in cases:
        if mutate:
            rhs = _mutate(step, lhs, rhs)
        good, err, why = compare(step, lhs, rhs)
        if err is not None:
            worst = err if worst is None else max(worst, err)
        if not good and ok:
            ok = False
            detail = (f"case {label}: " if label else "") + why
    if ok:
        detail = f"{len(cases)} case(s)"
    return StepResult(step.name, step.text, step.method, ok, worst, detail, seconds)


# ---------------------------------------------------------------------------
# comparison


def _entries(x):
    """Flatten sympy matrices, numpy arrays, lists and scalars into a list."""
    if isinstance(x, sympy.MatrixBase):
        return list(x)
    if isinstance(x, mpmath.matrix):
        return [x[i, j] for i in range(x.rows) for j in range(x.cols)]
    if hasattr(x, "get") and type(x).__module__.split(".")[0] == "cupy":
        x = x.get()
    if isinstance(x, np.ndarray):
        return x.reshape(-1).tolist()
    if isinstance(x, (list, tuple)):
        out = []
        for e in x:
            out.extend(_entries(e))
        return out
    return [x]


def _shape(x):
    if isinstance(x, sympy.MatrixBase):
        return tuple(x.shape)
    if isinstance(x, mpmath.matrix):
        return (x.rows, x.cols)
    if hasattr(x, "shape"):
        return tuple(x.shape)
    return ()


def compare(step: Step, lhs, rhs):
    """(holds, error, why) for ``lhs step.relation rhs`` under ``step.method``."""
    if _shape(lhs) != _shape(rhs):
        return False, None, f"shapes differ: {_shape(lhs)} vs {_shape(rhs)}"
    L, R = _entries(lhs), _entries(rhs)
    if len(L) != len(R):  # lists have no shape: zip() would silently drop the extra entries
        return False, None, f"lhs has {len(L)} entries, rhs {len(R)}"
    if not L:
        return False, None, "nothing to compare (no entries)"
    m = step.method
    if m == "symbolic":
        for i, (a, b) in enumerate(zip(L, R)):
            diff = sympy.simplify(sympy.sympify(a) - sympy.sympify(b))
            if step.relation == "==" and diff != 0:
                return False, None, f"entry {i}: lhs - rhs simplifies to {diff}"
            if step.relation == "<=" and not (diff <= 0) == sympy.true:
                return False, None, f"entry {i}: cannot show lhs - rhs = {diff} <= 0"
        return True, 0.0, ""
    if m == "exact":
        for i, (a, b) in enumerate(zip(L, R)):
            if isinstance(a, float) or isinstance(b, float):
                return False, None, f"entry {i}: a float in an exact step"
            holds = (a == b) if step.relation == "==" else (a <= b)
            if not holds:
                return False, None, f"entry {i}: {a} {step.relation} {b} is false"
        return True, 0.0, ""
    if m == "interval":
        for i, (a, b) in enumerate(zip(L, R)):
            a, b = mpmath.iv.mpf(a), mpmath.iv.mpf(b)
            if step.relation == "<=":
                holds = a.b <= b.a
            else:
                holds = not (a.b < b.a or b.b < a.a)
            if not holds:
                return False, None, f"entry {i}: {a} {step.relation} {b} not certified"
        return True, 0.0, ""
    # numeric: mpmath, float64, gpu
    if m == "mpmath":
        tol = mpmath.mpf(10) ** (-(mpmath.mp.dps - 10)) if step.tol is None else step.tol
        conv = mpmath.mpf
    else:
        tol = step.tol
        conv = float
    La, Ra = [conv(a) for a in L], [conv(b) for b in R]
    if not all(mpmath.isfinite(v) for v in La + Ra):
        return False, None, "non-finite value"
    scale = max([abs(b) for b in Ra] + [conv(1)])
    if step.relation == "==":
        err = max(abs(a - b) for a, b in zip(La, Ra)) / scale if La else conv(0)
        holds = err <= tol
        why = f"relative error {float(err):.3g} > tol {float(tol):.3g}"
    else:
        excess = max(a - b for a, b in zip(La, Ra)) / scale if La else conv(-1)
        err = max(excess, conv(0))
        holds = excess <= tol
        i = max(range(len(La)), key=lambda k: La[k] - Ra[k]) if La else 0
        why = f"entry {i}: {float(La[i]):.6g} <= {float(Ra[i]):.6g} is false"
    return bool(holds), float(err), ("" if holds else why)


def _mutate(step: Step, lhs, rhs):
    """A deliberately broken rhs: the relation must then fail."""
    if type(lhs).__module__.split(".")[0] == "cupy":
        lhs, rhs = lhs.get(), rhs.get()
    if step.relation == "<=":
        # push rhs below lhs everywhere
        if step.method == "symbolic":
            return _map(lhs, lambda a: a - 1 - abs(a))
        if step.method == "interval":
            return _map(lhs, lambda a: mpmath.iv.mpf(a).a - 1 - abs(mpmath.iv.mpf(a).a))
        return _map(lhs, lambda a: a - 1 - abs(a))
    if step.method == "symbolic":
        z = sympy.Symbol("broken_on_purpose")
        return _map_first(rhs, lambda b: b + z)
    if step.method == "exact":
        return _map_first(rhs, lambda b: b + 1)
    if step.method == "interval":
        return _map_first(rhs, lambda b: mpmath.iv.mpf(b) + 1)
    return _map_first(rhs, lambda b: b + (abs(b) + 1) * 1e-6)


def _map(x, fn):
    if isinstance(x, sympy.MatrixBase):
        return x.applyfunc(fn)
    if isinstance(x, np.ndarray):
        out = np.empty(x.shape, dtype=object)
        out.reshape(-1)[:] = [fn(v) for v in x.reshape(-1).tolist()]
        return out
    if isinstance(x, (list, tuple)):
        return type(x)(_map(v, fn) for v in x)
    return fn(x)


def _map_first(x, fn):
    """Change only the first entry, so a single wrong entry is enough to be caught."""
    if isinstance(x, sympy.MatrixBase):
        y = x.copy()
        y[0] = fn(y[0])
        return y
    if isinstance(x, np.ndarray):
        y = np.array(x, dtype=object).reshape(-1).copy()
        y[0] = fn(y[0])
        return y.reshape(x.shape)
    if isinstance(x, (list, tuple)) and x:
        return type(x)([_map_first(x[0], fn), *x[1:]])
    return fn(x)

