"""The GPU route: steps with method "gpu" run attngrad on CuPy arrays (the same code path as
numpy, with ``xp = cupy``) and compare with the 50-digit reference.

Without CuPy or a CUDA device such a step raises :class:`derivations.core.Skip`, with the
reason from :func:`attngrad.machine.gpu_unavailable`; ``attngrad check`` reports it skipped.
"""
from __future__ import annotations

import numpy as np

from attngrad.machine import gpu_unavailable

from .core import Skip


def on_device(arrays: dict, dtype=np.float64) -> dict:
    """The same arrays as CuPy arrays of ``dtype`` (Skip when no GPU can be used)."""
    why = gpu_unavailable()
    if why:
        raise Skip(why)
    import cupy

    return {k: cupy.asarray(v, dtype=dtype) for k, v in arrays.items()}


def from_device(a):
    """A CuPy result back as float64 numpy, after checking it stayed on the device: a result
    that came back as numpy means the CuPy path left the GPU."""
    if type(a).__module__.split(".")[0] != "cupy":
        raise TypeError(f"expected a CuPy array from the CuPy path, got {type(a).__name__}")
    return np.asarray(a.get(), dtype=np.float64)
