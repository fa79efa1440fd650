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


# LSS24: its checks compare against attngrad.transformer, certified bounds and literal algorithms;
# each is broken once here and the statement must fail.


def test_lss24_closed_forms_meet_the_library(monkeypatch):
    import mpmath

    from derivations import lss24

    real = lss24.library_gradients

    def off(*a, **kw):  # the library's dL/dX 1e-6 off in one entry
        g = dict(real(*a, **kw))
        X = g["X"].copy()
        X[0, 0] += mpmath.mpf("1e-6")
        g["X"] = X
        return g
    monkeypatch.setattr(lss24, "library_gradients", off)
    for sid in ("LSS24 Lemma D.17", "LSS24 Lemma D.9"):
        r = _status(sid)
        assert r.status == "failed" and "attngrad.transformer" in r.note, (sid, r.note)


def test_lss24_symbolic_pieces_can_fail(monkeypatch):
    from derivations import lss24

    real = lss24.sym_model
    # the model with the other exponent: the corrected pieces fail, the printed Part 1 holds
    monkeypatch.setattr(lss24, "sym_model", lambda n, d, tw=False: real(n, d, not tw))
    assert _status("LSS24 Lemma D.1").status == "failed"


def test_lss24_lowrank_bound_is_certified(monkeypatch):
    from derivations import lss24

    real = lss24.taylor_eta
    lss24.lowrank.cache_clear()
    monkeypatch.setattr(lss24, "taylor_eta", lambda B, g: real(B, g) / 1000)
    try:
        r = _status("LSS24 Lemma C.13")
        assert r.status == "failed" and "construction" in r.note, r.note
    finally:
        lss24.lowrank.cache_clear()


def test_lss24_error_chains_are_certified(monkeypatch):
    from derivations import lss24_e_fast

    real = lss24_e_fast._e11_bound
    monkeypatch.setattr(lss24_e_fast, "_e11_bound", lambda c: real(c) * 1e-12)
    r = _status("LSS24 Lemma E.11")
    assert r.status == "failed" and "corrected step(s) fail" in r.note, r.note


def test_lss24_algorithm_2_runs_literally(monkeypatch):
    from derivations import lss24_i_causal as I

    real = I.algorithm2

    def wrong(U0, V0, v, zeros=None):  # the last output entry off by one
        out = real(U0, V0, v, zeros)
        out[-1] = out[-1] + 1
        return out
    monkeypatch.setattr(I, "algorithm2", wrong)
    for sid in ("LSS24 Algorithm 2", "LSS24 Lemma I.3", "LSS24 Lemma I.4"):
        assert _status(sid).status == "failed", sid
    monkeypatch.setattr(I, "algorithm2", real)
    monkeypatch.setattr(I, "algorithm2_transposed", lambda U0, V0, v: real(U0, V0, v))
    assert _status("LSS24 Lemma I.7").status == "failed"


def test_lss24_amplification_is_measured(monkeypatch):
    from derivations import lss24

    real = lss24.layer_map

    def small(case, i):
        J, kappa = real(case, i)
        return J, kappa / 10
    monkeypatch.setattr(lss24, "layer_map", small)
    assert _status("LSS24 Lemma H.4").status == "failed"


def _fresh_lss24_fast(monkeypatch):
    """derivations.lss24_fast with its cached fast runs cleared (they hold bounds computed by
    the code under test; the exact models stay cached)."""
    from derivations import lss24_fast

    lss24_fast.runs.cache_clear()
    return lss24_fast


def _status_of(module, statement):
    module.runs.cache_clear()
    r = statement.run(gpu=False)
    module.runs.cache_clear()
    return r


def test_fast_certificate_terms_are_needed(monkeypatch):
    """The multi-layer certificate's lemmas fail when a term is dropped: the polynomial's error
    (T.7 and the model, T.10), the softmax's relative error eta in the backward pass (T.8), a
    Lipschitz constant below gelu's (T.9)."""
    from attngrad.transformer import certificate as C
    from attngrad.transformer import fast as F

    m = _fresh_lss24_fast(monkeypatch)
    for st in m.STATEMENTS:
        assert _status_of(m, st).status == "verified", st.id
    original = C.HeadForward.__init__
    scaled = F._Scaled.__init__

    def no_poly_error(self, poly, scale):
        scaled(self, poly, 0.0)

    with monkeypatch.context() as ctx:
        ctx.setattr(F._Scaled, "__init__", no_poly_error)
        assert _status_of(m, m.LEMMA_T7).status == "failed"
        assert _status_of(m, m.LEMMA_T10).status == "failed"

    def no_eta(self, *args):
        original(self, *args)
        self.eta = self.eta * 0

    with monkeypatch.context() as ctx:
        ctx.setattr(C.HeadForward, "__init__", no_eta)
        assert _status_of(m, m.LEMMA_T8).status == "failed"
    with monkeypatch.context() as ctx:
        ctx.setitem(C.LIPSCHITZ, "gelu", (1.12, 0.7979))
        assert _status_of(m, m.LEMMA_T9).status == "failed"
