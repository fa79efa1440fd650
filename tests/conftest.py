"""Fixtures shared by the test modules."""
import sys
import types

import numpy as np
import pytest


class CupyStandIn(np.ndarray):
    """A numpy array that the backend takes for a CuPy array (its type lives in module 'cupy'),
    so the CuPy code path runs on the CPU."""

    def get(self):
        return np.asarray(self)


CupyStandIn.__module__ = "cupy"


def _stand_in_module():
    mod = types.ModuleType("cupy")

    def wrap(fn):
        return lambda *a, **k: np.asarray(fn(*a, **k)).view(CupyStandIn)

    mod.ndarray = CupyStandIn
    mod.asarray = wrap(lambda a, dtype=None: np.asarray(a, dtype=dtype))
    mod.asnumpy = lambda a: np.asarray(a)
    for name in ("zeros", "ones", "eye"):
        setattr(mod, name, wrap(getattr(np, name)))
    for name in ("exp", "isfinite", "all", "max", "maximum", "sum", "abs"):
        setattr(mod, name, getattr(np, name))
    return mod


@pytest.fixture
def cupy_stand_in(monkeypatch):
    """Installs a module named cupy backed by numpy; returns a function that moves an array
    onto the stand-in "device"."""
    monkeypatch.setitem(sys.modules, "cupy", _stand_in_module())
    return lambda a: np.asarray(a).view(CupyStandIn)
