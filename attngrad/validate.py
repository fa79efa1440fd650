"""Argument checking shared by every public function.

Each check raises ValueError or TypeError naming the argument, so a bad input
never turns into a silent NaN or a wrong answer.
"""
from __future__ import annotations

from .backend import get_namespace


def _as_2d(ns, name, a):
    a = ns.asarray(a)
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D matrix, got {a.ndim} dimension(s) "
                         f"with shape {tuple(a.shape)}")
    if 0 in a.shape:
        raise ValueError(f"{name}: empty array of shape {tuple(a.shape)}")
    if not ns.isfinite_all(a):
        raise ValueError(f"{name}: contains non-finite values (inf or nan)")
    return a


def arrays(shapes: dict, **named):
    """Validate named arrays against symbolic shapes.

    ``shapes`` maps each name to a pair of dimension symbols such as ("n", "d");
    every use of a symbol must agree. Returns (ns, dims, arrays-in-order).
    """
    ns = get_namespace(**named)
    out, dims, where = [], {}, {}
    for name, a in named.items():
        a = _as_2d(ns, name, a)
        for axis, (sym, size) in enumerate(zip(shapes[name], a.shape)):
            if sym in dims and dims[sym] != size:
                first = where[sym]
                raise ValueError(
                    f"{name}: shape {tuple(a.shape)} does not match: axis {axis} should be "
                    f"{sym} = {dims[sym]} (set by {first}), got {size}")
            dims.setdefault(sym, size)
            where.setdefault(sym, name)
        out.append(a)
    return ns, dims, out


LOSS_SHAPES = {"A1": ("n", "d"), "A2": ("n", "d"), "A3": ("n", "d"), "E": ("n", "d"),
               "X": ("d", "d"), "Y": ("d", "d")}


def loss_args(A1, A2, A3, E, X, Y):
    """Validate the six inputs of Definition 1.2: A1, A2, A3, E n x d; X, Y d x d."""
    return arrays(LOSS_SHAPES, A1=A1, A2=A2, A3=A3, E=E, X=X, Y=Y)


def choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}: must be one of {sorted(allowed)}, got {value!r}")
    return value
