"""The derivations' GPU route (steps with method "gpu"), run on the CuPy stand-in.

Without a GPU these steps are skipped, with the reason; on the stand-in they run attngrad's
CuPy code path, must hold, and must fail when the device's result is wrong.
"""
import sys

import pytest

from derivations import gpu, registry

GPU_STATEMENTS = ("Definition 3.4", "Definition 3.6", "Definition 3.7", "Theorem D.6",
                  "Lemma D.7 (ours)")


def _gpu_steps(result):
    return [r for r in result.printed + result.corrected if r.method == "gpu"]


@pytest.mark.parametrize("sid", GPU_STATEMENTS)
def test_gpu_steps_skip_with_the_reason_when_no_gpu_is_usable(sid, monkeypatch):
    monkeypatch.setattr(gpu, "gpu_unavailable", lambda: "gpu: CuPy is not installed")
    st = registry.get(sid)
    res = st.judge(st.evaluate())
    steps = _gpu_steps(res)
    assert steps and all(r.ok is None and "CuPy is not installed" in r.detail for r in steps)
    assert res.status in ("verified", "corrected")


@pytest.mark.parametrize("sid", GPU_STATEMENTS)
def test_gpu_steps_hold_on_the_cupy_path_and_fail_when_broken(sid, cupy_stand_in, monkeypatch):
    monkeypatch.setattr(gpu, "gpu_unavailable", lambda: None)
    st = registry.get(sid)
    evaluated = st.evaluate()
    res = st.judge(evaluated)
    steps = _gpu_steps(res)
    assert steps and all(r.ok for r in steps), [(r.name, r.detail) for r in steps]
    assert res.status in ("verified", "corrected") and "gpu" in res.methods
    real = gpu.from_device

    def wrong(a):  # the device's first entry far off
        out = real(a)
        out.reshape(-1)[0] += 1e6 * (1 + abs(out.reshape(-1)[0]))
        return out
    for mod in list(sys.modules.values()):  # every derivations module that imported it
        if getattr(mod, "__name__", "").startswith("derivations.") and \
                getattr(mod, "from_device", None) is real:
            monkeypatch.setattr(mod, "from_device", wrong)
    broken = st.judge(st.evaluate())
    assert broken.status == "failed"
    assert all(r.ok is False for r in _gpu_steps(broken)), [(r.name, r.ok) for r in _gpu_steps(broken)]


def test_from_device_refuses_a_result_that_left_the_device():
    import numpy as np

    with pytest.raises(TypeError, match="left the GPU|CuPy array"):
        gpu.from_device(np.zeros(2))
