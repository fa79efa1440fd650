"""CNF -> Orthogonal Vectors by split-and-list, and a brute-force OV solver.

Contract of :func:`cnf_to_ov`: the variables are split into a first half
(x1..x_h, h = ceil(v/2)) and a second half. Every assignment alpha of the first
half gives a vector a in {0,1}^m with a[c] = 1 iff clause c has no literal made
true by alpha; likewise b for the second half. Then <a, b> = 0 iff every clause
is satisfied by alpha or by beta, i.e. iff (alpha, beta) satisfies the CNF.
So an orthogonal pair exists iff the CNF is satisfiable, and the pair's indices
spell the assignment (:meth:`OV.assignment`). Empty clauses give a coordinate
that is 1 in every vector (no orthogonal pair); a CNF with no clauses gives
m = 0 and every pair is orthogonal.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cnf import CNF, _rng


@dataclass
class OV:
    """Two lists of 0/1 vectors (rows of A and B, each with `dim` columns)."""

    A: np.ndarray
    B: np.ndarray
    first_half: int = 0   # number of variables enumerated by A (0 when not from a CNF)
    second_half: int = 0
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("A", "B"):
            a = np.asarray(getattr(self, name))
            if a.ndim != 2 or a.shape[0] == 0:
                raise ValueError(f"{name}: expected a non-empty 2-D 0/1 array, got shape {a.shape}")
            if not np.isin(a, (0, 1)).all():
                raise ValueError(f"{name}: entries must be 0 or 1")
            setattr(self, name, a.astype(np.int64))
        if self.A.shape[1] != self.B.shape[1]:
            raise ValueError(f"B: dimension {self.B.shape[1]} differs from A's {self.A.shape[1]}")

    @property
    def dim(self) -> int:
        return self.A.shape[1]

    def orthogonal_pairs(self):
        """All (i, j) with <A_i, B_j> = 0, by the O(|A| |B| dim) brute force."""
        G = self.A @ self.B.T
        return [tuple(int(t) for t in ij) for ij in np.argwhere(G == 0)]

    def assignment(self, i: int, j: int):
        """The assignment (x1..xv as bools) encoded by the pair (A_i, B_j)."""
        h, r = self.first_half, self.second_half
        return _bits(i, h) + _bits(j, r)


def _bits(index, width):
    """Bit t of index (least significant first) is the value of the t-th variable."""
    return [bool((index >> t) & 1) for t in range(width)]


def _falsified(cnf: CNF, lo: int, width: int) -> np.ndarray:
    """Row k, column c: 1 iff assignment k of variables lo+1..lo+width satisfies no literal of c."""
    rows = 1 << width
    bits = (np.arange(rows)[:, None] >> np.arange(width)[None, :]) & 1  # rows x width
    out = np.ones((rows, cnf.num_clauses), dtype=np.int64)
    for c, clause in enumerate(cnf.clauses):
        sat = np.zeros(rows, dtype=bool)
        for lit in clause:
            v = abs(lit) - 1 - lo
            if 0 <= v < width:
                sat |= bits[:, v] == (1 if lit > 0 else 0)
        out[sat, c] = 0
    return out


def cnf_to_ov(cnf: CNF) -> OV:
    """Split-and-list (see the module docstring): |A| = 2^ceil(v/2), |B| = 2^floor(v/2)."""
    if not isinstance(cnf, CNF):
        raise TypeError(f"cnf: expected attngrad.hard.CNF, got {type(cnf).__name__}")
    h = (cnf.num_vars + 1) // 2
    r = cnf.num_vars - h
    return OV(_falsified(cnf, 0, h), _falsified(cnf, h, r), h, r,
              meta={"source": "cnf", "num_vars": cnf.num_vars, "num_clauses": cnf.num_clauses})


def random_ov(n: int, dim: int, *, seed: int, planted: bool = False, density: float = 0.5) -> OV:
    """n random vectors per side in {0,1}^dim (each entry 1 with probability `density`).

    planted=True makes one random pair orthogonal (clearing, in the B vector, the
    coordinates where the A vector is 1), so the answer is yes.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: must be a positive integer, got {n!r}")
    if not isinstance(dim, (int, np.integer)) or dim < 0:
        raise ValueError(f"dim: must be a non-negative integer, got {dim!r}")
    if not 0 <= density <= 1:
        raise ValueError(f"density: must be in [0, 1], got {density!r}")
    rng = _rng(seed)
    A = (rng.random((n, dim)) < density).astype(np.int64)
    B = (rng.random((n, dim)) < density).astype(np.int64)
    if planted:
        i, j = rng.integers(0, n, size=2)
        B[j, A[i] == 1] = 0
    return OV(A, B, meta={"source": "random-ov", "seed": int(seed), "planted": bool(planted)})
