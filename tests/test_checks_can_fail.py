"""Checks that carry a claimed constant or a certified bound must fail when the constant or the
bound is changed to a wrong one: each test below breaks one on purpose and runs the statement."""
import sympy

from derivations import registry, sE_lower_bound


def _status(sid):
    return registry.get(sid).run(gpu=False)


def test_lemma_e3_constants_are_evidenced(monkeypatch):
    assert _status("Lemma E.3").status == "corrected"
    for name, wrong in (("E3_FPRIME", sympy.Rational(7, 27)),    # below the attained value
                        ("E3_FPRIME", sympy.Rational(9, 27)),    # above it: no longer attained
                        ("E3_FSECOND", sympy.Rational(1, 4))):   # below what the proof gives
        with monkeypatch.context() as m:
            m.setattr(sE_lower_bound, name, wrong)
            r = _status("Lemma E.3")
            assert r.status == "failed", (name, wrong, r.note)


def test_lemma_e6_strip_bound_is_certified_on_the_whole_contour(monkeypatch):
    # |f'| reaches about 24 on the ellipse of the 6-variable instance, where 12 N R = 9216;
    # a factor 0.01 (bound 7.7) must fail however finely the contour is cut
    monkeypatch.setattr(sE_lower_bound, "E6_STRIP", 0.01)
    r = _status("Lemma E.6 (ours)")
    assert r.status == "failed" and "part 2: |f'| on the ellipse" in r.note


def test_theorem_e5_entry_bound_is_theta_log(monkeypatch):
    monkeypatch.setattr(sE_lower_bound, "E5_B_HIGH", 5.5)
    assert _status("Theorem E.5").status == "failed"
