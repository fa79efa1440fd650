"""Memory the reduction and the decoder need, estimated before anything is built.

The commands ``attngrad generate`` and ``decide`` compare these with ``--max-memory`` and
refuse what would not fit, instead of failing inside numpy. Each estimate is the peak of the
step that dominates, in float64 words per entry, counting the temporaries numpy makes:

* :func:`instances.from_ov` on n vectors per side of dimension m (N = 2n tokens, d = side(m)^2
  columns): the N x d arrays Q, K, V, A1, A2, A3, E; the d x d arrays X, Y; the n x m OV
  vectors; the n x n Gram matrix of the brute-force OV solver and its list of orthogonal pairs;
  and the N x N scores that :func:`reduction.attained_bounds` forms for the report (the decoder
  itself never forms them);
* the decoder: its Gauss-Legendre nodes (Newton's method on m-vectors) and the default exact
  oracle, whose row blocks keep a tile of at most max(N, 2^22) scores alive.

tests/test_hard.py checks each estimate against tracemalloc's peak (numpy reports its buffers
to tracemalloc), from above and within a small factor.
"""
from __future__ import annotations

import zipfile

import numpy as np

from .reduction import side

WORD = 8             # bytes per float64 / int64 entry
BASE = 2 ** 21       # Python objects, the metadata record, the JSON text
MAX_HALF = 64        # 2^64 vectors per side is beyond any memory: larger halves are capped


def shape(n: int, dim: int):
    """(N, d) of the instance built from n vectors per side of dimension dim."""
    return 2 * n, side(dim) ** 2


def instance_bytes(n: int, dim: int) -> int:
    """Peak bytes of :func:`instances.from_ov` on n vectors per side of dimension dim."""
    N, d = shape(n, dim)
    return WORD * (6 * N * N + 4 * N * d + 4 * d * d + 4 * n * dim) + BASE


def cnf_bytes(num_vars: int, num_clauses: int, width: int) -> int:
    """Peak bytes of :func:`instances.from_cnf` on a CNF with these counts and clauses of at most
    ``width`` literals: split and list (2^ceil(v/2) assignments per half), then
    :func:`instance_bytes`. Halves above MAX_HALF variables are counted as MAX_HALF (a lower
    bound, far beyond any memory)."""
    h = min((num_vars + 1) // 2, MAX_HALF)
    n = 1 << h
    clauses = num_clauses * (64 + 36 * width)  # a tuple of ints per clause
    return instance_bytes(n, num_clauses) + WORD * n * (h + 2 * num_clauses) + clauses


def random_ov_bytes(n: int, dim: int) -> int:
    """Peak bytes of :func:`instances.ov_instance`: the random draws, then :func:`instance_bytes`."""
    return WORD * 3 * n * dim + instance_bytes(n, dim)


def nodes_bytes(points: int) -> int:
    """Bytes of the decoder's two Gauss rules, of ``points`` and ``points + 1`` nodes, found by
    Newton's method on vectors of that length."""
    return WORD * 12 * (points + 2)


def oracle_bytes(N: int, d: int) -> int:
    """Bytes of one call of the default exact oracle, whose row blocks keep a tile of at most
    max(N, 2^22) scores alive."""
    return WORD * (8 * N * d + 6 * min(N * N, max(N, 2 ** 22))) + BASE // 8


def decoder_bytes(N: int, d: int, points: int) -> int:
    """Bytes the decoder adds to the instance: its nodes and the exact oracle's calls."""
    return nodes_bytes(points) + oracle_bytes(N, d)


def saved_instance_bytes(path) -> int | None:
    """Bytes to load a saved instance (its six arrays, and a copy of one at a time for their
    hash), from the array headers inside the .npz alone; None if the file cannot be read that
    way (load then says why)."""
    from .reduction import GradientInstance

    total = 0
    try:
        with zipfile.ZipFile(path) as z:
            for name in GradientInstance.NAMES:
                with z.open(name + ".npy") as fh:
                    version = np.lib.format.read_magic(fh)
                    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                            else np.lib.format.read_array_header_2_0)
                    dims = read(fh)[0]
                total += WORD * int(np.prod(dims, dtype=object))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return 2 * total + BASE // 8
