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
``ball``       Arb balls (python-flint): "<=" holds iff lhs - rhs <= 0 is certain; "==" iff
               the certified max |lhs - rhs| <= tol * max(1, |rhs|) (tol 2^-(prec-30) if None)
``gpu``        as float64 on CuPy results; skipped when no GPU is present
=============  ==============================================================

A step's ``compute`` returns ``(lhs, rhs)`` or a list of ``(label, lhs, rhs)``
cases; the step holds iff every case holds, and the first failing case is kept
as the counterexample.

A step's ``basis`` says what its holding is worth: ``checked`` (the default: its two
sides are computed independently, so it could fail), ``by construction`` (it holds
because of how its objects were built, e.g. the rank of a factor that was built with
that many columns: it is run, but is no evidence) or ``cited`` (a result the paper
cites and that is not re-proved here: not run). derivations/independence.py flags a
checked step whose two sides are the same object or the same expression.

Errata: an :class:`Erratum` names the printed step it refutes. A statement is

* ``failed``    if a printed step fails that no erratum names, an erratum's printed
  step holds after all or fails by raising (or comparing nothing) rather than by a
  comparison (unless it declares that exception ``ill_formed``), or a step of the corrected
  chain fails; otherwise
* ``partly established`` if the statement lists ``gaps`` (what the checks do not
  establish, each said in the note);
* ``cited``     if it rests on a cited step;
* ``corrected`` if the printed steps fail exactly at the steps its errata name;
* ``by construction`` if no checked step holds, only steps by construction;
* ``verified``  otherwise: every printed step holds, and at least one is checked.
"""
from __future__ import annotations

import re
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

import mpmath
import numpy as np
import sympy

METHODS = ("symbolic", "exact", "mpmath", "float64", "interval", "ball", "gpu")
RELATIONS = ("==", "<=")
BASES = ("checked", "by construction", "cited")
STATUSES = ("verified", "corrected", "partly established", "cited", "by construction", "failed")


class Skip(Exception):
    """Raised by a step's compute when it cannot run here (e.g. no GPU)."""


@dataclass
class Step:
    """One relation of a proof chain.

    name:    unique within the statement ("step 2", "Part 5")
    text:    what the paper says justifies it ("follows from Fact A.1")
    method:  one of METHODS
    compute: () -> (lhs, rhs) or [(label, lhs, rhs), ...]; None for a cited step
    relation: "==" or "<="
    tol:     tolerance for float64 / gpu steps (relative); mpmath uses 10^-(dps-10) if None
    basis:   one of BASES (see the module docstring)
    ill_formed: (exception type, regex) for a printed step that cannot be evaluated as printed
             (an undefined name, factors whose shapes do not multiply): raising exactly this
             exception, with a message matching the regex, is its refutation; any other
             exception is a broken step (derivations/core.py, _status)
    """

    name: str
    text: str
    method: str
    compute: Callable[[], Any] | None
    relation: str = "=="
    tol: float | None = None
    basis: str = "checked"
    ill_formed: tuple | None = None

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"step {self.name!r}: method must be one of {METHODS}")
        if self.relation not in RELATIONS:
            raise ValueError(f"step {self.name!r}: relation must be one of {RELATIONS}")
        if self.method in ("float64", "gpu") and self.tol is None:
            raise ValueError(f"step {self.name!r}: float64/gpu steps must state tol")
        if self.basis not in BASES:
            raise ValueError(f"step {self.name!r}: basis must be one of {BASES}")
        if (self.compute is None) != (self.basis == "cited"):
            raise ValueError(f"step {self.name!r}: a cited step has no compute, every other "
                             "step has one")


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


# ``ill_formed`` of the printed steps that cannot be evaluated as printed
MATMUL_SHAPES = (ValueError, "^matmul: Input operand 1 has a mismatch in its core dimension 0")


def undefined(name):
    """``ill_formed`` of a printed step that uses a name nothing defines (a KeyError)."""
    return (KeyError, f"^'{re.escape(name)}'$")


@dataclass
class StepResult:
    name: str
    text: str
    method: str
    ok: bool | None  # None: skipped, or cited
    error: float | None
    detail: str
    seconds: float
    basis: str = "checked"
    raised: bool = False  # failed by an exception or by comparing nothing, not by a comparison

    @property
    def status(self) -> str:
        if self.ok is None:
            return "cited" if self.basis == "cited" else "skipped"
        if not self.ok:
            return "failed"
        return "by construction" if self.basis == "by construction" else "verified"

    def as_dict(self, chain: str, refuted: bool = False):
        return {"chain": chain, "name": self.name, "method": self.method, "basis": self.basis,
                "status": "refuted (erratum)" if refuted and self.ok is False else self.status}


@dataclass
class Result:
    id: str
    status: str
    methods: list
    max_error: float | None
    note: str
    printed: list
    corrected: list
    refuted: frozenset = frozenset()  # printed steps named by errata

    def as_dict(self):
        steps = ([s.as_dict("printed", s.name in self.refuted) for s in self.printed]
                 + [s.as_dict("corrected") for s in self.corrected])
        return {"id": self.id, "status": self.status, "methods": self.methods,
                "max_error": self.max_error, "note": self.note, "steps": steps}

    def report(self):
        lines = [f"{self.id}: {self.status} -- {self.note}"]
        for title, chain in (("printed", self.printed), ("corrected", self.corrected)):
            for s in chain:
                mark = {"verified": "ok  ", "failed": "FAIL", "skipped": "skip", "cited": "cite",
                        "by construction": "bc  "}[s.status]
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
    gaps: list = field(default_factory=list)  # what the checks do not establish
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

    def run(self, *, gpu: bool = True) -> Result:
        """Check every step."""
        return self.judge(self.evaluate(gpu=gpu))

    def evaluate(self, *, gpu: bool = True):
        """Compute both sides of every step once (the expensive part)."""
        with mpmath.workdps(self.dps):
            return ([_compute(s, gpu) for s in self.steps],
                    [_compute(s, gpu) for s in self.corrected])

    def judge(self, evaluated) -> Result:
        """Compare the computed sides."""
        printed_out, corrected_out = evaluated
        with mpmath.workdps(self.dps):
            printed = [_assess(s, o) for s, o in zip(self.steps, printed_out)]
            corrected = [_assess(s, o) for s, o in zip(self.corrected, corrected_out)]
        return _judge(self, printed, corrected)


def passing_status(st: Statement) -> str:
    """The status ``st`` gets when its check passes, read off its structure (gaps, cited steps,
    errata, step bases) without running it; proofs_check tests that the run agrees."""
    if st.gaps:
        return "partly established"
    expected = {e.step for e in st.errata}
    steps = [s for s in st.steps if s.name not in expected] + list(st.corrected)
    if any(s.basis == "cited" for s in steps):
        return "cited"
    if expected:
        return "corrected"
    if not any(s.basis == "checked" for s in steps):
        return "by construction"
    return "verified"


def _status(st: Statement, printed, corrected, expected, unrefuted) -> str:
    failed = {r.name for r in printed if r.ok is False}
    if failed != expected or any(r.ok is False for r in corrected):
        return "failed"
    # an erratum's printed step is refuted by a comparison that fails, not by an exception (a
    # broken step would otherwise pass as the erratum it names)
    if unrefuted:
        return "failed"
    if st.gaps:
        return "partly established"
    steps = [r for r in printed if r.name not in expected] + list(corrected)
    if any(r.basis == "cited" for r in steps):
        return "cited"
    if expected:
        return "corrected"
    if not any(r.ok and r.basis == "checked" for r in steps):
        return "by construction"
    return "verified"


def _judge(st: Statement, printed, corrected) -> Result:
    failed = {r.name for r in printed if r.ok is False}
    expected = {e.step for e in st.errata}
    corr_failed = [r.name for r in corrected if r.ok is False]
    unrefuted = sorted(r.name for r in printed if r.name in expected and r.raised)
    status = _status(st, printed, corrected, expected, unrefuted)
    notes = []
    if failed - expected:
        notes.append("printed step(s) fail: " + ", ".join(sorted(failed - expected)))
    if expected - failed:
        notes.append("erratum recorded but printed step(s) hold: "
                     + ", ".join(sorted(expected - failed)))
    if unrefuted:
        notes.append("erratum's printed step(s) raised or compared nothing instead of failing a "
                     "comparison: " + ", ".join(unrefuted))
    if corr_failed:
        notes.append("corrected step(s) fail: " + ", ".join(corr_failed))
    counted = [r for r in printed if r.name not in expected] + list(corrected)
    if status != "failed":
        if expected:
            notes.append("printed fails at " + ", ".join(sorted(expected))
                         + "; corrected chain holds (see errata)")
        checked = sum(bool(r.ok) and r.basis == "checked" for r in counted)
        built = [r.name for r in counted if r.ok and r.basis == "by construction"]
        notes.append(f"{checked} checked step(s) hold")
        if built:
            notes.append(f"{len(built)} hold by construction, not counted as evidence: "
                         + ", ".join(built))
        cited = [r.text for r in counted if r.basis == "cited"]
        if cited:
            notes.append("rests on, not re-proved here: " + "; ".join(cited))
        if st.gaps:
            notes.append("not established: " + "; ".join(st.gaps))
    ran = [r for r in counted if r.ok is not None]
    skipped = [r.name for r in counted if r.ok is None and r.basis != "cited"]
    if skipped:
        notes.append("skipped: " + ", ".join(skipped))
    methods = sorted({r.method for r in ran}, key=METHODS.index)
    errs = [r.error for r in ran if r.error is not None]
    return Result(st.id, status, methods, max(errs) if errs else None,
                  "; ".join(notes), printed, corrected, frozenset(expected))


def _compute(step: Step, gpu: bool):
    """(kind, payload, seconds): kind is "ok", "skip", "cited", "ill-formed" (the exception its
    ``ill_formed`` names: a refutation) or "error"."""
    t0 = time.perf_counter()
    if step.basis == "cited":
        return "cited", "cited, not re-proved here", 0.0
    if step.method == "gpu" and not gpu:
        return "skip", "gpu disabled", 0.0
    try:
        out = step.compute()
    except Skip as exc:
        return "skip", str(exc), time.perf_counter() - t0
    except Exception as exc:  # a step that cannot even be evaluated is a failed step
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        if step.ill_formed and type(exc) is step.ill_formed[0] \
                and re.search(step.ill_formed[1], str(exc)):
            return "ill-formed", f"ill-formed as printed: raised {tb}", time.perf_counter() - t0
        return "error", f"raised {tb}", time.perf_counter() - t0
    return "ok", out, time.perf_counter() - t0


def cases_of(out):
    """The (label, lhs, rhs) cases of a step's computed output."""
    return out if isinstance(out, list) else [("", out[0], out[1])]


def _assess(step: Step, computed) -> StepResult:
    kind, out, seconds = computed
    if kind != "ok":
        ok = False if kind in ("error", "ill-formed") else None
        return StepResult(step.name, step.text, step.method, ok, None, out, seconds, step.basis,
                          raised=kind == "error")
    cases = cases_of(out)
    if not cases:  # a step that compares nothing must not pass
        return StepResult(step.name, step.text, step.method, False, None, "no cases", seconds,
                          step.basis, raised=True)
    worst, detail, ok = None, "", True
    for label, lhs, rhs in cases:
        good, err, why = compare(step, lhs, rhs)
        if err is not None:
            worst = err if worst is None else max(worst, err)
        if not good and ok:
            ok = False
            detail = (f"case {label}: " if label else "") + why
    if ok:
        detail = f"{len(cases)} case(s)"
    return StepResult(step.name, step.text, step.method, ok, worst, detail, seconds, step.basis)


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
    if m == "ball":
        return _compare_balls(step, L, R)
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


def _ball(x):
    """x as an Arb ball that contains it (exact for ints, floats, mpf, rationals)."""
    from fractions import Fraction

    import flint

    if isinstance(x, flint.arb):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise TypeError("a bool in a ball step")
    if isinstance(x, (int, np.integer, sympy.Integer)):
        return flint.arb(int(x))
    if isinstance(x, (float, np.floating)):
        return flint.arb(float(x))
    if isinstance(x, Fraction):
        return flint.arb(flint.fmpq(x.numerator, x.denominator))
    if isinstance(x, sympy.Rational):
        return flint.arb(flint.fmpq(int(x.p), int(x.q)))
    if isinstance(x, mpmath.mpf):
        from attngrad.ball import mpf_to_arb

        return mpf_to_arb(x)
    if isinstance(x, mpmath.ctx_iv.ivmpf):
        return _ball(x.a).union(_ball(x.b))
    raise TypeError(f"a {type(x).__name__} in a ball step (exact numbers or arb only)")


def _compare_balls(step: Step, L, R):
    """Certified verdicts: "<=" iff every lhs - rhs <= 0 is certain; "==" iff the upper bound
    of every |lhs - rhs| is at most tol * max(1, |rhs|)."""
    import flint

    prec = max(flint.ctx.prec, mpmath.mp.prec)
    with flint.ctx.workprec(prec):
        La, Ra = [_ball(a) for a in L], [_ball(b) for b in R]
        if not all(v.is_finite() for v in La + Ra):
            return False, None, "non-finite ball"
        if step.relation == "<=":
            diffs = [a - b for a, b in zip(La, Ra)]
            for i, diff in enumerate(diffs):
                if not diff <= 0:
                    return False, None, (f"entry {i}: {La[i].str(10, radius=True)} <= "
                                         f"{Ra[i].str(10, radius=True)} not certified")
            return True, 0.0, ""
        tol = flint.arb(2) ** (30 - prec) if step.tol is None else flint.arb(step.tol)
        scale = max([abs(b).lower() for b in Ra] + [flint.arb(1)], key=float)  # <= max |rhs|
        worst = max((abs(a - b).upper() for a, b in zip(La, Ra)), key=float) / scale
        holds = bool(worst <= tol)
        err = float(worst.upper())
        return holds, err, "" if holds else f"certified relative error {err:.3g} > tol {float(tol):.3g}"
