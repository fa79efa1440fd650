"""Argument checking shared by every public function.

Each check raises ValueError or TypeError naming the argument, so a bad input
never turns into a silent NaN or a wrong answer.
"""
from __future__ import annotations

import importlib
import operator
import os
import sys
from collections import Counter

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
    every use of a symbol must agree. Each symbol takes the size most of its uses
    agree on, so the error names the argument that is out of line; without a
    majority it names every argument involved. Returns (ns, dims, arrays-in-order).
    """
    ns = get_namespace(**named)
    out = [_as_2d(ns, name, a) for name, a in named.items()]
    uses = {}  # symbol -> [(argument, size), ...], one vote per argument
    for name, a in zip(named, out):
        own = {}
        for sym, size in zip(shapes[name], a.shape):
            if own.setdefault(sym, size) != size:  # e.g. X must be square
                spelled = ", ".join(shapes[name])
                raise ValueError(f"{name}: expected shape ({spelled}), got {tuple(a.shape)}")
        for sym, size in own.items():
            uses.setdefault(sym, []).append((name, size))
    dims = {}
    for sym, pairs in uses.items():
        ranked = Counter(size for _, size in pairs).most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:  # no majority: name them all
            said = ", ".join(f"{name} has {sym} = {size}" for name, size in pairs)
            raise ValueError(f"shapes disagree on {sym}: {said}")
        dims[sym] = ranked[0][0]
    for name, a in zip(named, out):
        want = tuple(dims[sym] for sym in shapes[name])
        if tuple(a.shape) != want:
            spelled = ", ".join(shapes[name])
            raise ValueError(f"{name}: expected shape ({spelled}) = {want}, got {tuple(a.shape)}")
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


def integer(name, value, *, minimum=1, maximum=None, maximum_name=None):
    """``value`` as an int in [minimum, maximum]: TypeError if it is not an integer (bool
    and float included, numpy integers accepted), ValueError if out of range; both name it."""
    if isinstance(value, bool):
        raise TypeError(f"{name}: expected an integer, got bool {value!r}")
    try:
        k = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}") from None
    if k < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {k}")
    if maximum is not None and k > maximum:
        bound = f"{maximum_name} = {maximum}" if maximum_name else str(maximum)
        raise ValueError(f"{name}: must be at most {bound}, got {k}")
    return k


def load_callable(argname, spec, hint=""):
    """The callable named by ``spec`` = "module:function" (dotted attributes allowed);
    ValueError/TypeError naming ``argname`` (``hint`` is added to the message on a bad form).

    The one rule for every plug-in (``decide --oracle``, ``stress --methods``, the stress
    harness): the module is imported as a script run in the current directory would import
    it, the current directory first, then the installed packages. (``python -m`` puts the
    current directory on sys.path, the ``attngrad`` console script does not.)
    """
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"{argname}: expected module:function, got {spec!r}{hint}")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, "")
    try:
        obj = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"{argname}: cannot import module {module!r} of {spec!r} (looked in "
                         f"the current directory, then the installed packages): {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - the module's own code failed (SyntaxError, ...)
        raise ValueError(f"{argname}: importing module {module!r} of {spec!r} raised "
                         f"{type(exc).__name__}: {exc}") from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{argname}: module {module!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{argname}: {spec!r} is not callable (it is a {type(obj).__name__})")
    return obj
