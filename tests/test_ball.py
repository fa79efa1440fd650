"""Ball arithmetic (attngrad/ball.py): enclosures that contain the exact result.

The oracle is tests/oracle.py (plain mpmath loops from the definitions, no attngrad code) at
120 digits; its own error is below 1e-100, far inside the enclosures' widths (~1e-36), so a
ball that misses it by more than 1e-100 misses the truth.
"""
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import attngrad
from attngrad.ball import Enclosure, float_up

from . import oracle
from .helpers import NAMES, args, instance, instances
from .profiles import examples

SLACK = mpmath.mpf(10) ** -100  # the oracle's own error at 120 digits, with room


def _oracle(fn, *a, **kw):
    with mpmath.workdps(120):
        return np.array(fn(*a, **kw), dtype=object)


def _inside(enc_lo, enc_hi, ref):
    with mpmath.workdps(150):  # lo - SLACK must not round back above lo
        return all(lo - SLACK <= r <= hi + SLACK
                   for lo, hi, r in zip(enc_lo.reshape(-1), enc_hi.reshape(-1), ref.reshape(-1)))


@settings(max_examples=examples(25), deadline=None)
@given(instances(max_n=6, max_d=3), st.sampled_from(["X", "Y"]))
@example({k: np.full(s, 1.5) for k, s in zip(NAMES, [(1, 1)] * 6)}, "X")
def test_enclosure_contains_the_oracle_gradient(inst, wrt):
    enc = attngrad.enclose(*args(inst), wrt=wrt, prec=128)
    ref = _oracle(oracle.grad_X if wrt == "X" else oracle.grad_Y, *args(inst))
    assert _inside(enc.lo, enc.hi, ref)
    assert all(lo <= hi for lo, hi in zip(enc.lo.reshape(-1), enc.hi.reshape(-1)))


def test_enclosure_is_narrow_at_128_bits_for_n_256_d_8():
    inst = instance(256, 8, seed=3)
    for wrt in ("X", "Y"):
        enc = attngrad.enclose(*args(inst), wrt=wrt, prec=128)
        assert enc.width <= mpmath.mpf(10) ** -30, (wrt, enc.width)
        assert all(isinstance(v, mpmath.mpf) for v in enc.lo.reshape(-1))


def test_width_shrinks_with_precision():
    inst = instance(16, 3, seed=4)
    w = [attngrad.enclose(*args(inst), prec=p).width for p in (64, 128, 256)]
    assert w[0] > w[1] > w[2] > 0
    assert w[2] < mpmath.mpf(2) ** -200


def test_certify_a_float64_gradient():
    inst = instance(64, 4, seed=5, bound=0.5)
    G = attngrad.gradient(*args(inst))
    bound = attngrad.certify_gradient(G, *args(inst))
    assert bound <= 1e-10
    # the bound is at least the true error (oracle at 120 digits)
    ref = _oracle(oracle.grad_X, *args(inst))
    with mpmath.workdps(120):
        true = max(abs(mpmath.mpf(float(g)) - r) for g, r in zip(G.reshape(-1), ref.reshape(-1)))
    assert true <= bound


@pytest.mark.parametrize("wrt", ["X", "Y"])
def test_a_gradient_wrong_in_one_entry_is_caught(wrt):
    """Entry (1, 2) set to the float just above (exact + 1e-6): wrong by at least 1e-6, so the
    bound must be at least 1e-6; the other entries are attngrad's float64 gradient."""
    inst = instance(32, 4, seed=6)
    G = attngrad.gradient(*args(inst), wrt=wrt)
    hi = attngrad.enclose(*args(inst), wrt=wrt).hi[1, 2]
    with mpmath.workprec(200):
        target = hi + mpmath.mpf("1e-6")
        wrong = float(target)
        if mpmath.mpf(wrong) < target:
            wrong = float(np.nextafter(wrong, np.inf))
    G[1, 2] = wrong
    bound = attngrad.certify_gradient(G, *args(inst), wrt=wrt)
    assert 1e-6 <= bound <= 1e-6 * (1 + 1e-6)


def test_certify_a_float32_gradient_bounds_its_error():
    inst = instance(16, 3, seed=7)
    G32 = attngrad.gradient(*args(inst, lambda a: a.astype(np.float32)))
    bound = attngrad.certify_gradient(G32, *args(inst, lambda a: a.astype(np.float32)))
    ref = _oracle(oracle.grad_X, *args(inst, lambda a: a.astype(np.float32)))
    with mpmath.workdps(120):
        true = max(abs(mpmath.mpf(float(g)) - r) for g, r in zip(G32.reshape(-1), ref.reshape(-1)))
    # the bound is a float64 rounded up (float_up): above the true error by at most one ulp of
    # float64 (2^-52 relative), plus the enclosure's width (2^-128 relative, below 1e-30 here)
    assert true <= bound <= true * (1 + 2.0 ** -52) + 1e-30


def test_loss_attention_and_intermediates_on_balls_contain_the_oracle():
    import flint

    inst = instance(5, 2, seed=8)
    balls = args(inst, attngrad.to_ball)
    with flint.ctx.workprec(200):
        got = {"loss": np.array([attngrad.loss(*balls)], dtype=object),
               "attention": attngrad.attention(*balls[:3]), "p": attngrad.p(*balls)}
        for name, fn, a in (("loss", oracle.loss, args(inst)), ("p", oracle.p, args(inst)),
                            ("attention", oracle.attention, args(inst)[:3])):
            ref = np.array(_oracle(fn, *a), dtype=object).reshape(-1)
            g = got[name].reshape(-1)
            assert all(isinstance(b, flint.arb) for b in g), name
            assert _inside(np.array([ballmpf(b.lower()) for b in g]),
                           np.array([ballmpf(b.upper()) for b in g]), ref), name


def ballmpf(x):
    from attngrad.ball import arb_to_mpf

    return arb_to_mpf(x)


def test_mpmath_inputs_are_taken_exactly():
    inst = instance(6, 2, seed=9)
    mp = args(inst, attngrad.to_mpmath)
    a, b = attngrad.enclose(*args(inst)), attngrad.enclose(*mp)
    assert all(x == y for x, y in zip(a.lo.reshape(-1), b.lo.reshape(-1)))


def test_contains():
    inst = instance(4, 2, seed=10)
    enc = attngrad.enclose(*args(inst))
    mid = np.array([float(b.mid()) for b in enc.balls.reshape(-1)]).reshape(enc.balls.shape)
    assert isinstance(enc, Enclosure)
    assert not enc.contains(mid + 1e-3).any()
    with pytest.raises(ValueError, match="value"):
        enc.contains(np.zeros(3))


def test_float_up_rounds_up():
    import flint

    with flint.ctx.workprec(200):
        x = (flint.arb(1) / 3).upper()
    up = float_up(x)
    assert up == np.nextafter(1 / 3, 1)  # 1/3 rounds down to nearest; the bound must round up
    assert float_up(flint.arb(0.5)) == 0.5


@pytest.mark.parametrize("kwargs,exc,name", [
    (dict(wrt="Z"), ValueError, "wrt"),
    (dict(prec=0), ValueError, "prec"),
    (dict(prec=1.5), TypeError, "prec"),
])
def test_bad_options_name_the_argument(kwargs, exc, name):
    inst = instance(3, 2, seed=11)
    with pytest.raises(exc, match=name):
        attngrad.enclose(*args(inst), **kwargs)


def test_bad_inputs_name_the_argument():
    inst = instance(3, 2, seed=12)
    a = args(inst)
    G = attngrad.gradient(*a)
    with pytest.raises(ValueError, match="G"):
        attngrad.certify_gradient(G[:1], *a)
    bad = G.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="G"):
        attngrad.certify_gradient(bad, *a)
    a2 = list(a)
    a2[0] = a2[0].copy()
    a2[0][0, 0] = np.inf
    with pytest.raises(ValueError, match="A1"):
        attngrad.enclose(*a2)
    a3 = list(a)
    a3[4] = np.array([["x", "y"], ["z", "w"]])
    with pytest.raises(TypeError, match="X"):
        attngrad.enclose(*a3)


def test_balls_do_not_mix_with_floats():
    inst = instance(3, 2, seed=13)
    a = args(inst)
    mixed = [attngrad.to_ball(a[0])] + a[1:]
    with pytest.raises(TypeError, match="mix"):
        attngrad.gradient(*mixed)


def test_import_attngrad_does_not_load_flint():
    code = "import sys, attngrad; print('flint' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    assert out.stdout.strip() == "False"
