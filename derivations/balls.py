"""Ball arithmetic for the checks (method "ball" in derivations/core.py).

Inputs become exact Arb balls (attngrad.to_ball); attngrad's own algorithms run on them at
PREC bits, so every result is an enclosure of the exact value and an inequality between
two results is decided with certainty, not within a tolerance.
"""
from __future__ import annotations

import numpy as np

import attngrad

PREC = 160


def workprec(prec: int = PREC):
    """flint's working precision as a context manager."""
    import flint

    return flint.ctx.workprec(prec)


def balls(*arrays):
    """Each array as an object array of exact balls."""
    return [attngrad.to_ball(a) for a in arrays]


def arb(v):
    """One number as a ball (exact for ints, floats, fractions; strings are rounded)."""
    import flint

    return flint.arb(v) if isinstance(v, str) else attngrad.ball.to_arb(v)


def abs_array(a):
    """Entrywise |a| of an object array of balls."""
    return np.asarray(np.frompyfunc(abs, 1, 1)(np.asarray(a, dtype=object)), dtype=object)


def max_upper(values):
    """An exact ball >= every value: the largest upper endpoint."""
    ups = [v.upper() for v in np.asarray(values, dtype=object).reshape(-1)]
    top = ups[0]
    for u in ups[1:]:
        if u > top:
            top = u
    return top
