"""Refuse, never crash or hang (issue: the fast path under hostile input): every call of the
fast methods returns a value within eps (and within its bound) or raises ApproximationError
with a reason, quickly. The once-failing inputs are pinned as examples."""
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import attngrad
from tests.fuzz_inputs import Case, hostile_case, judge, reference
from tests.profiles import examples


def _m(v):
    return np.array([[v]])


_Q, _K = np.random.default_rng(0).uniform(-1, 1, (2, 46, 2))
# once an OverflowError (score radius 280), once minutes of degree search with a NaN bound
# (A3 = 0, V = 0): now the exact answer at once
R280 = Case("gradient", "X", "large-scores",
            (_m(280.), _m(1.), _m(1.), _m(0.), _m(1.), _m(1.)), 1e-2)
ZERO_A3 = Case("gradient", "Y", "zero-A3", (_m(.2), _m(8.), _m(0.), _m(.2), _m(.2), _m(.2)), 1e-6)
ZERO_V = Case("attention", "X", "zero-V", (_Q, _K, np.zeros((46, 2))), 1e-6)


@settings(max_examples=examples(60), deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.builds(lambda seed: hostile_case(seed, max_n=40, max_d=5),
                      st.integers(0, 2 ** 32 - 1)))
@example(case=R280)
@example(case=ZERO_A3)
@example(case=ZERO_V)
def test_fast_methods_answer_within_eps_or_refuse(case):
    ref = reference(case)
    outcome, seconds, detail = judge(case, ref)
    assert outcome in ("met", "refused"), (case.kind, case.method, case.wrt, case.eps, detail)
    if outcome == "refused":
        assert seconds < 2.0, (case.kind, seconds)   # refusals come at once (1 s on an idle CPU)


@pytest.mark.parametrize("case", [R280, ZERO_A3, ZERO_V], ids=["R280", "zero-A3", "zero-V"])
def test_reproducers_give_the_exact_answer(case):
    """The exact results here are 0 (n = 1: f = 1, so p = 0; A3 = 0; V = 0): returned exactly."""
    res = case.call(return_bound=True)
    assert np.all(res.value == 0) and res.bound <= case.eps


def test_eps_must_be_a_number():
    args = R280.args
    with pytest.raises(ValueError, match="^eps: must be"):
        attngrad.gradient(*args, method="fast", eps="1e-6")
    with pytest.raises(ValueError, match="^eps: must be"):
        attngrad.attention(*args[:3], method="fast", eps="1e-6")


@pytest.mark.parametrize("call", ["gradient", "attention"])
def test_unknown_keyword_names_the_public_function(call):
    args = R280.args
    fn = attngrad.gradient if call == "gradient" else attngrad.attention
    with pytest.raises(TypeError, match=rf"^{call}\(method='fast'\): unexpected keyword.*'foo'"):
        fn(*(args if call == "gradient" else args[:3]), method="fast", eps=1e-3, foo=1)
