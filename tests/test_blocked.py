"""The exact algorithms by blocks of rows (attngrad/blocked.py) against the unblocked ones.

* float64 / float32: blocked and unblocked results each lie within the rounding-error bound of
  tests/helpers.error_bounds (the blocked one with every sum charged gamma_K, K = 4 (n + d),
  which covers any summation order and the online-softmax rescalings of the tiled path), so
  they differ by at most twice the sum of the two bounds;
* mpmath at 50 digits: blocked and unblocked agree to 10^-40 relative to the condition-aware
  magnitude (tests/helpers.mp_tol), and every element is an mpf;
* block sizes that divide n and that do not (1, 7, n, n + 5, pairs of rows x cols);
* bad ``block`` values raise ValueError / TypeError naming ``block``;
* memory: tracemalloc's peak for n = 2^14 is a few block x n tiles, far below one n x n matrix
  (and for the unblocked algorithm at n = 2^11 it is at least one n x n matrix, so the
  measurement sees numpy's allocations).
"""
from __future__ import annotations


import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import attngrad
from attngrad import blocked
from attngrad.backend import MpmathNamespace, NumpyNamespace

from .conftest import CupyStandIn
from .helpers import (ETA32, ETA64, NAMES, U32, U64, all_mpf, args, assert_within,
                      attention_bound, error_bounds, instance, instances, magnitudes, mp_tol,
                      peak_bytes)
from .profiles import examples

BLOCKS = [1, 7, "n", "n+5", (7, 3), (1, 1), (5, "n")]


def _block(spec, n):
    """A block argument from a spec where "n" stands for the instance's n."""
    def one(v):
        return {"n": n, "n+5": n + 5}.get(v, v) if isinstance(v, str) else v
    return tuple(one(v) for v in spec) if isinstance(spec, tuple) else one(spec)


def _reorder_K(n, d):
    """gamma_K covering any order of any sum of the algorithm (n + d terms at most) plus
    one rounding per online-softmax rescaling (at most n column tiles)."""
    return 4 * (n + d)


def _results(a, **kw):
    A1, A2, A3 = a[0], a[1], a[2]
    return {"grad_X": attngrad.gradient(*a, **kw),
            "grad_Y": attngrad.gradient(*a, wrt="Y", **kw),
            "loss": attngrad.loss(*a, **kw),
            "attention": attngrad.attention(A1, A2, A3, **kw)}


def _check_float(inst, block, scale=None, dtype=np.float64):
    n, d = inst["A1"].shape
    u, eta = (U64, ETA64) if dtype == np.float64 else (U32, ETA32)
    a = args(inst, lambda v: v.astype(dtype))
    exact = {k: v.astype(np.float64) for k, v in zip(NAMES, a)}  # the inputs as given
    got = _results(a, scale=scale, block=block)
    ref = _results(a, scale=scale, block=n)          # one block: the unblocked algorithm
    Kg = _reorder_K(n, d)
    b1 = error_bounds(exact, scale, u=u, eta=eta)
    bK = error_bounds(exact, scale, u=u, eta=eta, K=Kg)
    att1 = attention_bound(exact["A1"], exact["A2"], exact["A3"], scale, u, eta)
    attK = attention_bound(exact["A1"], exact["A2"], exact["A3"], scale, u, eta, Kg)
    tol = {"grad_X": bK["grad_X"] + b1["grad_X"], "grad_Y": bK["grad_Y"] + b1["grad_Y"],
           "loss": bK["loss"] + b1["loss"], "attention": attK + att1}
    for name, v in got.items():
        assert np.asarray(v).dtype == dtype, (name, np.asarray(v).dtype)
        assert np.shape(v) == np.shape(ref[name]), name
        assert_within(f"{name} block={block!r}", v, ref[name], 2 * tol[name])


# --- float64 and float32 -------------------------------------------------------------

@pytest.mark.parametrize("spec", BLOCKS, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_matches_unblocked(spec, dtype):
    inst = instance(23, 4, seed=3)
    _check_float(inst, _block(spec, 23), dtype=dtype)


@settings(max_examples=examples(40), deadline=None)
@given(inst=instances(max_n=13, max_d=4),
       block=st.one_of(st.integers(1, 16), st.tuples(st.integers(1, 16), st.integers(1, 16))),
       scale=st.sampled_from([None, 1]))
@example(inst=instance(1, 1, seed=0), block=1, scale=None)
@example(inst=instance(13, 2, seed=1, bound=2.0), block=(4, 5), scale=1)
def test_blocked_matches_unblocked_property(inst, block, scale):
    _check_float(inst, block, scale=scale)


def test_block_equal_or_above_n_is_the_unblocked_algorithm():
    """block >= n is one block: the same operations as the fused one-block formulas, so the same
    bits; and those agree with the literal Lemma C.8 algorithm (gradient_exact_X, softmax_rows)
    within the rounding model of tests/helpers.py."""
    inst = instance(17, 3, seed=4)
    a = args(inst)
    A1, A2, A3, E, X, Y = a
    from attngrad import formulas as F
    ns = NumpyNamespace(np.dtype(np.float64))
    s = ns.scalar(1) / ns.scalar(3)
    one_X = F.fused_gradient_X_block(ns, A1, A2, E, X, A3 @ Y, s) * s
    one_Y = F.fused_gradient_Y_block(ns, A1, A2, A3, E, X, Y, s)
    one_T = F.fused_attention_block(ns, A1, A2, A3, s)
    for block in (17, 18, 1000):
        np.testing.assert_array_equal(attngrad.gradient(*a, block=block), one_X)
        np.testing.assert_array_equal(attngrad.gradient(*a, wrt="Y", block=block), one_Y)
        np.testing.assert_array_equal(attngrad.attention(A1, A2, A3, block=block), one_T)
    # and the automatic block is one block for small n
    np.testing.assert_array_equal(attngrad.gradient(*a), one_X)
    bounds = error_bounds(inst)
    assert_within("fused X", one_X, F.gradient_exact_X(ns, *a, s), 4 * bounds["grad_X"])
    assert_within("fused Y", one_Y, F.gradient_exact_Y(ns, *a, s), 4 * bounds["grad_Y"])
    # the literal loss and attention blocks (Lemma 3.10, Definition 1.1) against the fused ones
    hy = A3 @ Y
    assert_within("fused loss", F.fused_loss_block(ns, A1, A2, E, X, hy, s),
                  F.loss_block(ns, A1, A2, E, X, hy, s), 4 * bounds["loss"])
    assert_within("fused attention", one_T, F.attention_block(ns, A1, A2, A3, s),
                  4 * attention_bound(A1, A2, A3))


def test_large_scores_stay_finite_in_every_tile():
    """Online softmax subtracts the running maximum: scores near 700 (exp overflows) are fine."""
    inst = instance(20, 2, seed=6, bound=1.0)
    inst["X"] = inst["X"] * 0 + np.array([[700.0, 0], [0, 700.0]])
    inst["A1"] = np.abs(inst["A1"]) + 1
    inst["A2"] = np.abs(inst["A2"]) + 1
    _check_float(inst, (3, 4), scale=1)


# --- mpmath --------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [1, 5, "n", "n+5", (5, 4), (1, 1)], ids=str)
def test_blocked_mpmath_matches_unblocked(spec):
    n, d = 12, 3
    inst = instance(n, d, seed=7)
    block = _block(spec, n)
    with mpmath.workdps(50):
        a = args(inst, attngrad.to_mpmath)
        got = _results(a, block=block)
        ref = _results(a, block=n)
        for name, v in got.items():
            assert all_mpf(v), name
    mag = magnitudes(inst)
    att_mag = attention_bound(inst["A1"], inst["A2"], inst["A3"], None, 2.0 ** -100, 0.0) \
        / 2.0 ** -100
    tol = {"grad_X": mp_tol(mag["grad_X"]), "grad_Y": mp_tol(mag["grad_Y"]),
           "loss": mp_tol(mag["loss"]), "attention": mp_tol(att_mag)}
    for name, v in got.items():
        assert_within(f"mpmath {name} block={block!r}", v, ref[name], tol[name])


# --- the CuPy code path on the CPU (a stand-in module named cupy) -------------------------

@pytest.mark.parametrize("spec", [7, (7, 5)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_cupy_path_stays_on_the_device(cupy_stand_in, spec, dtype):
    inst = instance(19, 3, seed=8)
    got = _results(args(inst, lambda v: cupy_stand_in(v.astype(dtype))), block=spec)
    ref = _results(args(inst, lambda v: v.astype(dtype)), block=spec)
    for name, v in got.items():
        assert type(v) is CupyStandIn, (name, type(v))  # the loss too: a 0-d device array
        assert v.dtype == dtype, name
        np.testing.assert_array_equal(v.get(), ref[name], err_msg=name)


# --- the block argument -----------------------------------------------------------------

@pytest.mark.parametrize("bad", [0, -1, (0, 4), (4, -2), (1, 2, 3), ()])
def test_bad_block_values_raise_value_error(bad):
    a = args(instance(6, 2, seed=9))
    for call in (lambda: attngrad.gradient(*a, block=bad),
                 lambda: attngrad.gradient(*a, wrt="Y", block=bad),
                 lambda: attngrad.loss(*a, block=bad),
                 lambda: attngrad.attention(a[0], a[1], a[2], block=bad)):
        with pytest.raises(ValueError, match=r"^block\b"):
            call()


@pytest.mark.parametrize("bad", [2.5, 2.0, "8", True, 1j, (3, 1.5)])
def test_bad_block_types_raise_type_error(bad):
    a = args(instance(6, 2, seed=9))
    for call in (lambda: attngrad.gradient(*a, block=bad),
                 lambda: attngrad.gradient(*a, wrt="Y", block=bad),
                 lambda: attngrad.loss(*a, block=bad),
                 lambda: attngrad.attention(a[0], a[1], a[2], block=bad)):
        with pytest.raises(TypeError, match=r"^block\b"):
            call()


def test_block_only_for_the_exact_method():
    a = args(instance(6, 2, seed=9))
    with pytest.raises(ValueError, match="^block: only method='exact'"):
        attngrad.gradient(*a, method="naive", block=2)


def test_numpy_integers_are_accepted_as_block():
    a = args(instance(9, 2, seed=10))
    np.testing.assert_array_equal(attngrad.gradient(*a, block=np.int64(4)),
                                  attngrad.gradient(*a, block=4))


def test_auto_block_rule():
    ns, mp = NumpyNamespace(np.dtype(np.float64)), MpmathNamespace()
    tile = blocked.AUTO_TILE_ELEMENTS
    assert blocked.auto_block(ns, 1) == 1
    assert blocked.auto_block(ns, 1024) == 1024                # 1024^2 = 2^20 entries: one block
    assert blocked.auto_block(ns, 1025) == tile["numpy"] // 1025
    assert blocked.auto_block(ns, 2 ** 14) == 64
    assert blocked.auto_block(ns, 2 ** 19) == 2
    assert blocked.auto_block(ns, 2 ** 21) == 1                # never below one row
    assert blocked.auto_block(mp, 2 ** 10) == tile["mpmath"] // 2 ** 10
    for n in (1, 100, 3000, 2 ** 14, 2 ** 20, 2 ** 23):
        b = blocked.auto_block(ns, n)
        assert 1 <= b <= n and (b == n or b == 1 or b * n <= tile["numpy"])


def test_pairwise_sum():
    for k in range(1, 40):
        terms = [mpmath.mpf(i) ** 2 for i in range(k)]
        assert blocked.pairwise_sum(terms) == sum(terms)
    x = np.float32(1.0)
    assert blocked.pairwise_sum([x]) is x
    with pytest.raises(ValueError, match="^pairwise_sum: no terms$"):
        blocked.pairwise_sum([])
    # 2^16 float32 terms: the pairwise error is at most gamma_17 times the sum of |terms|
    # (17 levels), which plain sequential float32 summation of these terms exceeds
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1, 2 ** 16).astype(np.float32)
    exact = float(np.sum(t.astype(np.float64)))        # 2^16 terms: float64 error < 2^-36 rel
    bound = 17 * U32 / (1 - 17 * U32) * exact
    assert abs(float(blocked.pairwise_sum(list(t))) - exact) <= bound
    seq = np.float32(0)
    for x in t:
        seq = np.float32(seq + x)
    assert abs(float(seq) - exact) > bound


# --- memory ---------------------------------------------------------------------------------

def test_memory_is_o_nd_plus_tile():
    """n = 2^14, d = 8, float64, row blocks of 64: peak <= 8 tiles + 16 n d entries,
    about 2% of the 2 GiB of one n x n matrix."""
    n, d, b = 2 ** 14, 8, 64
    a = args(instance(n, d, seed=11))
    peak = peak_bytes(lambda: attngrad.gradient(*a, block=b))
    assert peak <= 8 * b * n * 8 + 16 * n * d * 8, peak
    assert peak <= n * n * 8 / 32, peak


_N13, _D = 2 ** 13, 8  # n and d of the cases below (float64: one n x n matrix is 512 MiB)
_TILE_CASES = {  # name -> (call on the six inputs, entries of a tile, part of n^2 or None)
    "loss": (lambda a: attngrad.loss(*a, block=64), 64 * _N13, 1 / 16),
    "grad_Y": (lambda a: attngrad.gradient(*a, wrt="Y", block=64), 64 * _N13, 1 / 16),
    "attention": (lambda a: attngrad.attention(a[0], a[1], a[2], block=64), 64 * _N13, 1 / 16),
    # rows x cols tiles of 128 x 512 entries
    "grad_X 128x512": (lambda a: attngrad.gradient(*a, block=(128, 512)), 128 * 512, None),
    "loss 128x512": (lambda a: attngrad.loss(*a, block=(128, 512)), 128 * 512, None),
    # block=None above n = 2048: tiles of AUTO_TILE_ELEMENTS entries
    "grad_X auto": (lambda a: attngrad.gradient(*a), blocked.AUTO_TILE_ELEMENTS["numpy"], 1 / 2),
}


@pytest.mark.parametrize("name", list(_TILE_CASES))
def test_memory_of_the_other_functions_of_tiles_and_of_the_auto_block(name):
    """n = 2^13, d = 8, float64: peak <= 8 tiles + 16 n d entries, and below a part of one
    n x n matrix (one case a test, so that they run in parallel)."""
    call, tile, part = _TILE_CASES[name]
    a = args(instance(_N13, _D, seed=12))
    peak = peak_bytes(lambda: call(a))
    assert peak <= 8 * tile * 8 + 16 * _N13 * _D * 8, (name, peak)
    assert part is None or peak <= part * _N13 * _N13 * 8, (name, peak)


def test_memory_measurement_sees_the_unblocked_matrices():
    """Sanity check of the method: one block at n = 2^11 holds n x n matrices."""
    n, d = 2 ** 11, 8
    a = args(instance(n, d, seed=13))
    assert peak_bytes(lambda: attngrad.gradient(*a, block=n)) >= n * n * 8


# --- the tiles themselves -------------------------------------------------------------------

_SHAPE_CALLS = {
    "grad_X": lambda a, block: attngrad.gradient(*a, block=block),
    "grad_Y": lambda a, block: attngrad.gradient(*a, wrt="Y", block=block),
    "loss": lambda a, block: attngrad.loss(*a, block=block),
    "attention": lambda a, block: attngrad.attention(a[0], a[1], a[2], block=block),
}


@pytest.mark.parametrize("name", list(_SHAPE_CALLS))
@pytest.mark.parametrize("block,tile", [(5, (5, 20)), ((5, 7), (5, 7)), ((20, 7), (20, 7)),
                                        ((7, 30), (7, 20)), (40, (20, 20)), (None, (20, 20))])
def test_the_tiles_have_the_shape_block_asks_for(name, block, tile, monkeypatch):
    """Every exp of scores is one tile: rows x n for block=rows, rows x cols for a pair (each
    capped at n), the whole n x n matrix for one block; so the tiles are what the memory
    bound of the module doc counts (the memory tests measure it at scale, this pins it at
    n = 20)."""
    from attngrad import backend

    shapes = []
    for attr in ("exp", "exp_inplace"):
        orig = getattr(backend.NumpyNamespace, attr)

        def spy(self, x, _orig=orig):
            if getattr(x, "ndim", 0) == 2:
                shapes.append(x.shape)
            return _orig(self, x)

        monkeypatch.setattr(backend.NumpyNamespace, attr, spy)
    out = _SHAPE_CALLS[name](args(instance(20, 3, seed=5)), block)
    assert shapes and max(shapes) == tile and all(s[0] <= tile[0] and s[1] <= tile[1]
                                                  for s in shapes), (shapes, tile)
    ref = _SHAPE_CALLS[name](args(instance(20, 3, seed=5)), 20)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-14)


def test_auto_block_of_an_unknown_system_is_numpys():
    """A namespace missing from AUTO_TILE_ELEMENTS gets numpy's tile; n x n within a tile is
    one block, above it tile // n rows (at least 1)."""
    class Other:
        name = "other"

    tile = blocked.AUTO_TILE_ELEMENTS["numpy"]
    assert blocked.auto_block(Other(), 1000) == 1000
    assert blocked.auto_block(Other(), 3000) == tile // 3000
    assert blocked.auto_block(Other(), tile * 2) == 1


@pytest.mark.parametrize("name", list(_SHAPE_CALLS))
def test_a_pair_whose_cols_cover_n_is_whole_rows(name):
    """block=(rows, cols) with cols >= n is block=rows (resolve: cols None): the fused
    whole-row path, so the same bits, not the online softmax over one column tile."""
    a = args(instance(20, 3, seed=5))
    ref = _SHAPE_CALLS[name](a, 7)
    for cols in (20, 30):
        np.testing.assert_array_equal(_SHAPE_CALLS[name](a, (7, cols)), ref)
    if name != "loss":   # the other path rounds differently here (the loss happens to agree)
        assert not np.array_equal(_SHAPE_CALLS[name](a, (7, 19)), ref)
