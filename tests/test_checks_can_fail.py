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


def test_lemma_e2_constants_are_checked(monkeypatch):
    from derivations import sE_hardness

    assert _status("Lemma E.2").status == "cited"
    for name, wrong in (("C_D", 20), ("C_B", 12), ("C_QK", 1.1)):
        with monkeypatch.context() as m:
            m.setattr(sE_hardness, name, wrong)
            assert _status("Lemma E.2").status == "failed", name


def test_definition_1_4_bit_bound_is_checked(monkeypatch):
    from derivations import s1_problem

    monkeypatch.setattr(s1_problem, "BIT_FACTOR", 1)
    assert _status("Definition 1.4").status == "failed"


def test_lemma_4_1_constant_is_checked(monkeypatch):
    from derivations import s4_warmup

    monkeypatch.setattr(s4_warmup, "C_F", 0.5)
    assert _status("Lemma 4.1").status == "failed"


def test_theorem_1_6_accuracy_is_certified(monkeypatch):
    import attngrad

    real = attngrad.gradient

    def off(*a, **kw):  # a fast gradient 1e-3 off in one entry
        g = real(*a, **kw)
        if kw.get("method") == "fast":
            g = g.copy()
            g[0, 0] += 1e-3
        return g
    monkeypatch.setattr(attngrad, "gradient", off)
    assert _status("Theorem 1.6").status == "failed"
