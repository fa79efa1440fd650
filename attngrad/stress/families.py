"""Instance families for the stress test, indexed by the entry size B.

B is the bound of Definition 1.4, B = max(||A1 X||_inf, ||A2||_inf); every family
reports the measured value and the ratio B / sqrt(ln n), the quantity whose size
decides between Theorem 1.6 (B = o(sqrt(log n)): almost-linear time) and
Theorem 1.5 (B = omega(sqrt(log n)): no truly sub-quadratic algorithm under SETH).

* ``easy``    -- random sign entries with B well below sqrt(ln n) (ratios 0.1, 0.2).
* ``sweep``   -- the same random sign entries with B swept through sqrt(ln n).
* ``planted`` -- random +-1 vectors with one planted near pair (Hamming distance 1, the
  unique closest pair), the shape of the hard close-pair instances behind Lemma E.2.
* ``reduction`` -- the instances of the SETH reduction (attngrad.hard, see .reduction).

All arrays are numpy float64, generated from a numpy Generator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FAMILIES = ("easy", "sweep", "planted", "reduction")
EASY_RATIOS = (0.1, 0.2)
SWEEP_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
PLANTED_RATIOS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)


@dataclass
class Instance:
    """Six inputs of Definition 1.2 and what they are."""

    family: str
    arrays: tuple                    # A1, A2, A3, E, X, Y (numpy float64)
    meta: dict = field(default_factory=dict)

    @property
    def n(self):
        return self.arrays[0].shape[0]

    @property
    def d(self):
        return self.arrays[0].shape[1]

    @property
    def B(self):
        """max(||A1 X||_inf, ||A2||_inf), entry-wise (Definition 1.4)."""
        A1, A2, _, _, X, _ = self.arrays
        return float(max(np.abs(A1 @ X).max(), np.abs(A2).max()))

    @property
    def ratio(self):
        """B / sqrt(ln n): 1 is the threshold of Theorems 1.5 and 1.6."""
        return self.B / math.sqrt(math.log(self.n))


def entry_size(n, ratio):
    """B = ratio * sqrt(ln n)."""
    return ratio * math.sqrt(math.log(n))


def random_signs(n, d, B, rng):
    """A1, A2 with entries +-B (so ||A1||_inf = ||A2||_inf = B exactly), X = Y = I,
    A3 and E uniform in [-1, 1]."""
    A1 = B * rng.choice([-1.0, 1.0], size=(n, d))
    A2 = B * rng.choice([-1.0, 1.0], size=(n, d))
    A3 = rng.uniform(-1.0, 1.0, (n, d))
    E = rng.uniform(-1.0, 1.0, (n, d))
    return A1, A2, A3, E, np.eye(d), np.eye(d)


def planted_dimension(n, d):
    """Dimension for the planted family: max(d, 2 ceil(log2 n) + 4), enough for random pairs to
    sit near Hamming distance dim / 2 with few (resampled) exceptions near the planted pair."""
    return max(d, 2 * math.ceil(math.log2(n)) + 4)


def planted_pair(n, d, B, rng, distance=1):
    """Random +-1 vectors a_1..a_n (queries) and b_1..b_n (keys) with b_{j*} = a_{i*} up to
    ``distance`` flipped coordinates; A1 = B a, A2 = B b, X = Y = I.

    Keys (or queries) that come within Hamming distance ``distance`` of the other side by
    chance are redrawn, so the planted pair is the unique closest pair. Scores s <B a_i, B b_j> =
    B^2 (1 - 2 Ham(a_i, b_j) / d): the planted pair scores B^2 (1 - 2 distance / d), a
    random pair about B^2 N(0, 1/d). A3 = V in {0,1}^{n x d} is the indicator of the planted
    key (row j* all ones), E = 0, so the output row j0 is f(x)_{j0, j*} 1^T: finding the
    pair is what the loss and its gradient measure.
    """
    if not 0 <= distance < d / 2:
        raise ValueError(f"distance: must be in [0, d/2) = [0, {d / 2}), got {distance}")
    a = rng.choice([-1.0, 1.0], size=(n, d))
    b = rng.choice([-1.0, 1.0], size=(n, d))
    i_star, j_star = (int(v) for v in rng.integers(0, n, size=2))
    b[j_star] = a[i_star]
    b[j_star, rng.choice(d, size=distance, replace=False)] *= -1.0
    redrawn = 0
    for _ in range(1000):
        ham = (d - a @ b.T) / 2.0
        ham[i_star, j_star] = np.inf
        rows, cols = np.nonzero(ham <= distance)
        if rows.size == 0:
            break
        keys = np.unique(cols[cols != j_star])           # redraw chance-close keys ...
        queries = np.unique(rows[cols == j_star])        # ... or queries close to b_{j*}
        b[keys] = rng.choice([-1.0, 1.0], size=(keys.size, d))
        a[queries] = rng.choice([-1.0, 1.0], size=(queries.size, d))
        redrawn += int(keys.size + queries.size)
    else:
        raise ValueError(f"d: {d} is too small for a unique planted pair among n = {n}")
    ham = (d - a @ b.T) / 2.0
    ham[i_star, j_star] = np.inf
    A3 = np.zeros((n, d))
    A3[j_star] = 1.0
    meta = {"i_star": i_star, "j_star": j_star, "planted_distance": int(distance),
            "min_random_distance": int(ham.min()), "redrawn_keys": redrawn,
            "unique": bool(ham.min() > distance)}
    return (B * a, B * b, A3, np.zeros((n, d)), np.eye(d), np.eye(d)), meta


def make(family, n, d, rng, ratios=None):
    """The instances of ``family`` at size n (a list). ``ratios`` overrides the B grid."""
    if family == "easy":
        grid = EASY_RATIOS if ratios is None else ratios
        return [Instance("easy", random_signs(n, d, entry_size(n, t), rng), {"target_ratio": t})
                for t in grid]
    if family == "sweep":
        grid = SWEEP_RATIOS if ratios is None else ratios
        return [Instance("sweep", random_signs(n, d, entry_size(n, t), rng), {"target_ratio": t})
                for t in grid]
    if family == "planted":
        grid = PLANTED_RATIOS if ratios is None else ratios
        dp = planted_dimension(n, d)
        out = []
        for t in grid:
            arrays, meta = planted_pair(n, dp, entry_size(n, t), rng)
            out.append(Instance("planted", arrays, {"target_ratio": t, **meta}))
        return out
    if family == "reduction":
        from .reduction import reduction_instances

        return reduction_instances(n, rng)
    raise ValueError(f"family: must be one of {list(FAMILIES)}, got {family!r}")
