"""The reduction family: gradient instances of the SETH reduction of Theorem E.5.

Built by attngrad.hard (OV -> attention in the shape of Lemma E.2 -> gradient instance):
for size n, a random Orthogonal Vectors instance with n/2 vectors per side in
{0,1}^m, m = ceil(log2(n/2)), with one planted orthogonal pair (a yes instance),
in both of attngrad.hard's shapes ("E.2": gamma = 0; "gap": gamma >= ln n), taken at
lambda = 1 (X = I, the hardest point of the proof's interval [0, 1]).
"""
from __future__ import annotations

import math

SHAPES = ("E.2", "gap")


def reduction_instances(n, rng):
    """Instances with n rows (n even; odd n gives n - 1), one per shape."""
    from ..hard import ov_instance
    from .families import Instance

    side = n // 2
    if side < 2:
        raise ValueError(f"n: the reduction family needs n >= 4, got {n}")
    dim = max(1, math.ceil(math.log2(side)))
    out = []
    for shape in SHAPES:
        seed = int(rng.integers(2**31))
        arrays, meta = ov_instance(side, dim, seed, planted=True, shape=shape)
        six = tuple(arrays[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))
        out.append(Instance("reduction", six,
                            {"source": f"attngrad.hard.ov_instance(n={side}, dim={dim}, "
                                       f"seed={seed}, planted=True, shape={shape!r})",
                             "shape": shape, "lambda": 1.0}))
    return out
