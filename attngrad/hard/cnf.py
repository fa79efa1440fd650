"""CNF formulas: DIMACS input/output and seeded generators.

A :class:`CNF` is ``num_vars`` and a tuple of clauses, each a tuple of non-zero
integers in DIMACS convention (``3`` is x3, ``-3`` is not x3). Empty clauses are
allowed (they make the formula unsatisfiable), and so is a formula with no
clauses (satisfiable). Families come from the project's own seeded generators;
``from_cnfgen`` accepts any formula built with cnfgen's Python API
(``pip install "attngrad[cnf]"``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class CNF:
    """A formula in conjunctive normal form over variables 1..num_vars."""

    num_vars: int
    clauses: tuple

    def __post_init__(self):
        if not isinstance(self.num_vars, (int, np.integer)) or self.num_vars < 0:
            raise ValueError(f"num_vars: must be a non-negative integer, got {self.num_vars!r}")
        clauses = []
        for k, c in enumerate(self.clauses):
            lits = tuple(int(x) for x in c)
            for x in lits:
                if x == 0 or abs(x) > self.num_vars:
                    raise ValueError(f"clauses: clause {k} has literal {x}, outside "
                                     f"+-1..{self.num_vars}")
            clauses.append(lits)
        object.__setattr__(self, "num_vars", int(self.num_vars))
        object.__setattr__(self, "clauses", tuple(clauses))

    @property
    def num_clauses(self) -> int:
        return len(self.clauses)

    def satisfied_by(self, assignment) -> bool:
        """True iff ``assignment`` (a sequence of num_vars booleans, x1 first) satisfies every clause."""
        if len(assignment) != self.num_vars:
            raise ValueError(f"assignment: expected {self.num_vars} values, got {len(assignment)}")
        return all(any(bool(assignment[abs(x) - 1]) == (x > 0) for x in c) for c in self.clauses)

    def to_dimacs(self) -> str:
        lines = [f"p cnf {self.num_vars} {self.num_clauses}"]
        lines += [" ".join(str(x) for x in c + (0,)) for c in self.clauses]
        return "\n".join(lines) + "\n"

    def sha256(self) -> str:
        """Hash of the canonical DIMACS text (the instance's source hash)."""
        return hashlib.sha256(self.to_dimacs().encode()).hexdigest()


def parse_dimacs(text: str, *, name: str = "input") -> CNF:
    """Parse DIMACS CNF text: ``c`` comments, one ``p cnf V M`` header, clauses ended by 0.

    Clauses may span lines; a lone ``0`` is the empty clause; a ``%`` line ends the
    input (SATLIB style). Raises ValueError naming the line for malformed input,
    a missing header, a literal outside 1..V, or a clause count that disagrees
    with the header.
    """
    num_vars = num_clauses = None
    clauses, current = [], []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("c"):
            continue
        if line.startswith("%"):
            break
        if line.startswith("p"):
            parts = line.split()
            if num_vars is not None or len(parts) != 4 or parts[1] != "cnf":
                raise ValueError(f"{name}: line {lineno}: bad or repeated header {line!r}")
            try:
                num_vars, num_clauses = int(parts[2]), int(parts[3])
            except ValueError:
                raise ValueError(f"{name}: line {lineno}: bad header {line!r}") from None
            if num_vars < 0 or num_clauses < 0:
                raise ValueError(f"{name}: line {lineno}: negative count in header {line!r}")
            continue
        if num_vars is None:
            raise ValueError(f"{name}: line {lineno}: clause before the 'p cnf' header")
        for tok in line.split():
            try:
                lit = int(tok)
            except ValueError:
                raise ValueError(f"{name}: line {lineno}: not an integer: {tok!r}") from None
            if lit == 0:
                clauses.append(tuple(current))
                current = []
            elif abs(lit) > num_vars:
                raise ValueError(f"{name}: line {lineno}: literal {lit} outside +-1..{num_vars}")
            else:
                current.append(lit)
    if num_vars is None:
        raise ValueError(f"{name}: no 'p cnf V M' header")
    if current:
        clauses.append(tuple(current))  # last clause without its terminating 0
    if len(clauses) != num_clauses:
        raise ValueError(f"{name}: header says {num_clauses} clauses, found {len(clauses)}")
    return CNF(num_vars, tuple(clauses))


def read_dimacs(path) -> CNF:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read a DIMACS file ({exc})") from None
    return parse_dimacs(text, name=str(path))


def _rng(seed):
    if seed is None or isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an integer, got {seed!r}")
    return np.random.default_rng(int(seed))


def random_kcnf(k: int, num_vars: int, num_clauses: int, *, seed: int,
                planted: bool = False) -> CNF:
    """Uniform random k-CNF: each clause has k distinct variables with random signs.

    planted=True first draws a hidden assignment and redraws every clause it
    falsifies, so the formula is satisfiable (the assignment is a witness).
    """
    for name, v in (("k", k), ("num_vars", num_vars), ("num_clauses", num_clauses)):
        if not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name}: must be a non-negative integer, got {v!r}")
    if k > num_vars or (k == 0 and num_clauses):
        raise ValueError(f"k: need 1 <= k <= num_vars = {num_vars} to draw clauses, got {k}")
    rng = _rng(seed)
    hidden = rng.integers(0, 2, size=num_vars).astype(bool) if planted else None
    clauses = []
    while len(clauses) < num_clauses:
        vars_ = rng.choice(num_vars, size=k, replace=False) + 1
        signs = rng.integers(0, 2, size=k)
        clause = tuple(int(v) if s else -int(v) for v, s in zip(vars_, signs))
        if hidden is not None and not any(hidden[abs(x) - 1] == (x > 0) for x in clause):
            continue
        clauses.append(clause)
    return CNF(num_vars, tuple(clauses))


def pigeonhole(holes: int) -> CNF:
    """PHP(holes+1, holes): holes+1 pigeons in `holes` holes, unsatisfiable for holes >= 1.

    Variable p*holes + h + 1 says pigeon p sits in hole h.
    """
    if not isinstance(holes, (int, np.integer)) or holes < 0:
        raise ValueError(f"holes: must be a non-negative integer, got {holes!r}")
    var = lambda p, h: p * holes + h + 1  # noqa: E731
    clauses = [tuple(var(p, h) for h in range(holes)) for p in range(holes + 1)]
    for h in range(holes):
        for p in range(holes + 1):
            for q in range(p + 1, holes + 1):
                clauses.append((-var(p, h), -var(q, h)))
    return CNF((holes + 1) * holes, tuple(clauses))


def from_cnfgen(formula) -> CNF:
    """Convert a cnfgen formula (cnfgen.CNF, e.g. ``cnfgen.RandomKCNF(3, 10, 43, seed=1)``)."""
    try:
        return parse_dimacs(formula.to_dimacs(), name="cnfgen formula")
    except AttributeError:
        raise TypeError(f"formula: expected a cnfgen CNF, got {type(formula).__name__}") from None


def solve(cnf: CNF):
    """A satisfying assignment (list of bools) or None, by pycosat (the test extra)."""
    import pycosat

    if any(len(c) == 0 for c in cnf.clauses):
        return None
    sol = pycosat.solve([list(c) for c in cnf.clauses], vars=cnf.num_vars)
    if sol == "UNSAT":
        return None
    val = {abs(x): x > 0 for x in sol}
    return [val.get(v, False) for v in range(1, cnf.num_vars + 1)]
