"""Instances for the checks: exact dyadic random inputs, adversarial ones, symbolic ones.

Random entries are multiples of 2^-10, so one instance is exactly the same
number in SymPy (Rational), mpmath (mpf) and float64.
"""
from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import sympy

NAMES = ("A1", "A2", "A3", "E", "X", "Y")


def _shapes(n, d):
    return {"A1": (n, d), "A2": (n, d), "A3": (n, d), "E": (n, d), "X": (d, d), "Y": (d, d)}


def dyadic_instance(n, d, *, seed, bound=1.0, bits=10):
    """Integer numerators of entries k / 2^bits in [-bound, bound], as int64 arrays."""
    rng = np.random.default_rng(seed)
    top = int(bound * 2 ** bits)
    return {k: rng.integers(-top, top + 1, size=s) for k, s in _shapes(n, d).items()}, bits


def adversarial_instance(n, d, *, seed, kind):
    """Instances built to stress the formulas.

    kind:
      "peaked":   one score per row far above the rest (f nearly one-hot)
      "flat":     X = 0, so f is exactly uniform (1/n)
      "large":    entries up to 8, scores of order 64 d (cancellation in p)
      "rankone":  A1 with identical rows (all rows of f equal)
    """
    nums, bits = dyadic_instance(n, d, seed=seed)
    if kind == "peaked":
        nums["A2"][0, :] = 6 * 2 ** bits
        nums["A1"][:, :] = np.abs(nums["A1"]) + 2 ** bits
        nums["X"][:, :] = 2 ** bits * np.eye(d, dtype=np.int64)
    elif kind == "flat":
        nums["X"][:, :] = 0
    elif kind == "large":
        nums = {k: v * 8 for k, v in nums.items()}
    elif kind == "rankone":
        nums["A1"][:, :] = nums["A1"][:1, :]
    else:
        raise ValueError(f"kind: unknown adversarial kind {kind!r}")
    return nums, bits


def as_mpmath(inst):
    nums, bits = inst
    out = {}
    for k, v in nums.items():
        a = np.empty(v.shape, dtype=object)
        a.reshape(-1)[:] = [mpmath.ldexp(mpmath.mpf(int(x)), -bits) for x in v.reshape(-1)]
        out[k] = a
    return out


def as_float64(inst):
    nums, bits = inst
    return {k: np.ldexp(v.astype(np.float64), -bits) for k, v in nums.items()}


def as_sympy(inst):
    nums, bits = inst
    return {k: sympy.Matrix(v.shape[0], v.shape[1],
                            [sympy.Rational(int(x), 2 ** bits) for x in v.reshape(-1)])
            for k, v in nums.items()}


def as_fraction(inst):
    nums, bits = inst
    return {k: [[Fraction(int(x), 2 ** bits) for x in row] for row in v] for k, v in nums.items()}


def symbolic_instance(n, d):
    """Fully symbolic A1, A2, A3, E (n x d) and X, Y (d x d) with real symbols."""
    def mat(name, r, c):
        return sympy.Matrix(r, c, lambda i, j: sympy.Symbol(f"{name}_{i + 1}{j + 1}", real=True))

    s = _shapes(n, d)
    return {k: mat(k.lower(), *s[k]) for k in NAMES}


def instance(kind, n, d, seed):
    """A dyadic instance ("dyadic" or "random") or an adversarial one (see adversarial_instance)."""
    if kind in ("dyadic", "random"):
        return dyadic_instance(n, d, seed=seed)
    return adversarial_instance(n, d, seed=seed, kind=kind)


def label(kind, n, d, seed):
    return f"{kind} n={n} d={d} seed={seed}"


# SymPy counterparts of attngrad.kron / attngrad.vec, written from the paper's index maps
# (0-based here) and independent of the library's broadcasting code.

def sym_kron(X, Y):
    """X (x) Y with the index map (row (j0-1) n1 + j1, column (i0-1) m1 + i1)."""
    return sympy.Matrix(X.rows * Y.rows, X.cols * Y.cols,
                        lambda r, c: X[r // Y.rows, c // Y.cols] * Y[r % Y.rows, c % Y.cols])


def sym_vec(M):
    """Row-major vec (stacks the rows): the convention under which Fact 3.8 holds."""
    return sympy.Matrix(M.rows * M.cols, 1, list(M))  # list(M) is row-major in SymPy


def sym_vec_colmajor(M):
    """Column-major vec (stacks the columns), for showing that Fact 3.8 fails with it."""
    return sympy.Matrix(M.rows * M.cols, 1, list(M.T))


def sym_unvec(v, rows, cols):
    """Inverse of :func:`sym_vec`."""
    return sympy.Matrix(rows, cols, list(v))


def args(inst):
    """The six arrays in the order of attngrad.loss / attngrad.gradient."""
    return tuple(inst[k] for k in NAMES)
