"""attngrad.hard pinned where the end-to-end tests cannot see a change: the decoder's error
budget against the formulas of its docstring and of Lemma E.6 (ours), the generators'
counts and signs, the instance files' metadata, the report's labels (BENCHMARKS.md,
"Mutation testing": the survivors of hard/ were such changes)."""
import json
import math

import numpy as np
import pytest

from attngrad import hard as H
from attngrad.hard import decoder, instances

N, D, D_V, R, L_YES, U_NO, F0 = 64, 4, 3, 0.5, 10.0, 2.0, 3.0


def _q(m, M, R):
    """(8/3) M rho^(-2m) / (1 - 1/rho), rho the Bernstein ellipse of [0, 1] in the strip
    |Im lambda| <= (pi/3) / R: rho = 2h + sqrt(1 + 4 h^2), h = (pi/3) / R (Lemma E.6, ours)."""
    h = (math.pi / 3) / R
    rho = 2 * h + math.sqrt(1 + 4 * h * h)
    return 8 / 3 * M / rho ** (2 * m) / (1 - 1 / rho)


def test_hard_pins_gauss_budget():
    """Gauss: M = 12 N d_V R on the strip, m the least points with quadrature bound <= gap / 8,
    the bound of m and m + 1 points, eps = gap / (16 d), oracle error 2 d eps on f(1)."""
    b = decoder.budget(N, D, D_V, R, L_YES, U_NO, F0)
    gap = L_YES - U_NO
    M = 12 * N * D_V * R
    m = 1
    while _q(m, M, R) > gap / 8:
        m += 1
    assert decoder.gauss_points_needed(gap / 8, M, R) == m
    assert decoder.gauss_error_bound(m, M, R) == pytest.approx(_q(m, M, R), rel=1e-12)
    want = {"rule": "gauss", "N": N, "d": D, "d_V": D_V, "R": R, "f0": F0, "U_no": U_NO,
            "L_yes": L_YES, "gap": gap, "f2_bound": 0.5 * N * D_V * R * R,
            "fprime_strip_bound": M, "points": m, "calls": 2 * m + 2,
            "quadrature_error": max(_q(m, M, R), _q(m + 1, M, R)), "eps": gap / (16 * D)}
    want["eps_allowed"] = (gap / 2 - want["quadrature_error"]) / (2 * D)
    want["oracle_error"] = 2 * D * want["eps"]
    want["total_error"] = want["quadrature_error"] + want["oracle_error"]
    want["separates"] = 2 * want["total_error"] < gap
    assert b.pop("rho") == pytest.approx(2 * (math.pi / 3) / R
                                         + math.sqrt(1 + 4 * ((math.pi / 3) / R) ** 2), rel=1e-12)
    assert b.pop("rule") == want.pop("rule") and b.pop("separates") == want.pop("separates")
    assert b == pytest.approx(want, rel=1e-12)


def test_hard_pins_riemann_budget_and_points():
    """Theorem E.5's rule: m = ceil(ln(N)^4), eps = 1 / ln(N)^4, bound f2 / m; points = 1 is a
    valid choice, 0 is not."""
    b = decoder.budget(N, D, D_V, R, L_YES, U_NO, F0, rule="riemann")
    m = math.ceil(math.log(N) ** 4)
    f2 = 0.5 * N * D_V * R * R
    assert (b["points"], b["calls"]) == (m, m + 1)
    assert b["quadrature_error"] == pytest.approx(f2 / m, rel=1e-12)
    assert b["eps"] == pytest.approx(1 / math.log(N) ** 4, rel=1e-12)
    assert decoder.budget(N, D, D_V, R, L_YES, U_NO, F0, points=1)["points"] == 1
    with pytest.raises(ValueError, match="^points: must be a positive integer"):
        decoder.budget(N, D, D_V, R, L_YES, U_NO, F0, points=0)


def test_hard_pins_decide_uses_the_points_it_is_given():
    inst = H.from_ov(H.random_ov(4, 3, seed=1, planted=True))
    assert H.decide(inst, points=3).budget["points"] == 3


def test_hard_pins_random_kcnf_counts_and_signs():
    """Exactly num_clauses clauses of k distinct variables, both signs drawn; a bad k is named."""
    f = H.random_kcnf(3, 12, 40, seed=5)
    assert len(f.clauses) == 40 and all(len({abs(x) for x in c}) == 3 for c in f.clauses)
    lits = [x for c in f.clauses for x in c]
    assert min(lits) < 0 < max(lits)
    p = H.random_kcnf(3, 12, 40, seed=5, planted=True)
    assert len(p.clauses) == 40 and min(x for c in p.clauses for x in c) < 0
    with pytest.raises(ValueError, match="^k: must be a non-negative integer"):
        H.random_kcnf(-1, 12, 40, seed=5)


def test_hard_pins_random_ov_metadata():
    assert H.random_ov(4, 3, seed=2, planted=True).meta == {
        "source": "random-ov", "seed": 2, "planted": True}


def test_hard_pins_the_arrays_hash_reads_values_and_shapes():
    """The hash is of float64 values (an int array of the same values hashes alike) and of the
    shapes (the same bytes in another shape do not)."""
    inst = H.from_ov(H.random_ov(4, 3, seed=1))
    arrays = inst.arrays()
    h = instances.arrays_sha256(arrays)
    as_int = dict(arrays, X=arrays["X"].astype(np.int64))
    assert np.array_equal(as_int["X"], arrays["X"]) and instances.arrays_sha256(as_int) == h
    flat = dict(arrays, X=arrays["X"].reshape(1, -1))
    assert instances.arrays_sha256(flat) != h


def test_hard_pins_the_ground_truth_of_a_one_variable_formula():
    """A CNF with one variable puts it all in the first half: the assignment is still given."""
    f = H.CNF(1, [(1,)])
    inst = H.from_ov(H.cnf_to_ov(f))
    truth = inst.meta["ground_truth"]
    assert truth["satisfiable"] and truth["assignment"] == [True]


def test_hard_pins_save_and_load_keep_the_metadata(tmp_path):
    """The metadata round-trips; it is stored with sorted keys (the same file whatever the
    order it was built in); a file without it, or with a record that is not a dict, is
    refused by name."""
    inst = H.from_ov(H.random_ov(4, 3, seed=1))
    back = H.load(H.save(inst, tmp_path / "a.npz"))
    assert back.meta == inst.meta
    with np.load(tmp_path / "a.npz") as z:
        assert str(z["meta"]) == json.dumps(inst.meta, sort_keys=True)
    np.savez(tmp_path / "nometa.npz", **inst.arrays())
    with pytest.raises(ValueError, match=r"not an attngrad instance \(missing \['meta'\]\)"):
        H.load(tmp_path / "nometa.npz")
    np.savez(tmp_path / "listmeta.npz", meta=np.array("[1]"), **inst.arrays())
    with pytest.raises(ValueError, match=r"missing \['meta record'\]"):
        H.load(tmp_path / "listmeta.npz")


def test_hard_pins_the_report():
    """Every budget entry under its label, the estimates, the calls, each check, the verdict."""
    b = {"rule": "gauss", "points": 3, "f2_bound": 1.5, "total_error": 0.25, "gap": 2.0}
    d = decoder.Decision("decided", "SAT", "f(1) above", b, [7.5], 9, {"x": True, "y": False})
    assert d.report().splitlines() == [
        "decoder error budget:",
        "  rule                                     gauss",
        "  points per rule                          3",
        "  |f''| bound (Lemma E.3 corrected)        1.5",
        "  total error E_tot                        0.25",
        "  gap to resolve L_yes - U_no              2",
        "  f(1) estimates                          7.5",
        "  oracle calls                             9",
        "  check x                                  ok",
        "  check y                                  FAILED",
        "decided: f(1) above",
        "SAT"]


@pytest.mark.parametrize("num_vars,num_clauses", [(6, 26), (5, 9)])
def test_hard_pins_the_budget_for_counts_is_the_budget_of_a_built_instance(num_vars, num_clauses):
    """budget_for_cnf (no instance built) gives the budget that plan() computes on an instance
    of a formula with these counts: the same points, eps and errors."""
    f = H.random_kcnf(3, num_vars, num_clauses, seed=4)
    built = decoder.plan(H.from_cnf(f))
    counted = decoder.budget_for_cnf(num_vars, num_clauses)
    for key in ("N", "d", "d_V", "R", "L_yes", "U_no", "gap", "points", "eps", "f2_bound",
                "quadrature_error", "total_error", "separates"):
        assert counted[key] == pytest.approx(built[key], rel=1e-12), key
    assert decoder.budget_for_cnf(num_vars, num_clauses, rule="riemann")["rule"] == "riemann"


@pytest.mark.parametrize("M,R", [(10.0, 0.5), (3e4, 2.0), (1.0, 8.0)])
def test_hard_pins_gauss_points_are_the_least(M, R):
    """gauss_points_needed returns the least m whose bound meets the target, over targets
    spanning twelve orders of magnitude."""
    for target in np.geomspace(1e-12, 1.0, 25):
        m = decoder.gauss_points_needed(float(target), M, R)
        assert _q(m, M, R) <= target * (1 + 1e-12) and (m == 1 or _q(m - 1, M, R) > target)


def test_hard_pins_ov_records():
    f = H.CNF(4, [(1, -2), (3, 4, -1)])
    assert H.cnf_to_ov(f).meta == {"source": "cnf", "num_vars": 4, "num_clauses": 2}
    with pytest.raises(ValueError, match="^B: dimension 4 differs from A's 3$"):
        H.OV(np.zeros((2, 3), dtype=int), np.zeros((2, 4), dtype=int))


def test_hard_pins_the_reduction_records():
    """The parameters the reduction records, and Definition 1.4's entry bound over sqrt(ln N)
    (N = 2 tokens here: ln 2)."""
    from attngrad.hard.reduction import attention_to_gradient, ov_to_attention
    att = ov_to_attention(H.random_ov(1, 4, seed=3))
    p = att.params
    assert p["orthogonal_score"] == p["R"] == p["beta"] * p["dim"] + p["gamma"]
    assert p["padding_score"] == p["beta"] * p["dim"]
    g = attention_to_gradient(att)
    rec = g.meta["definition_1_4"]
    assert att.Q.shape[0] == 2
    assert rec["B_entry_over_sqrt_lnN"] == pytest.approx(rec["B_entry"] / math.sqrt(math.log(2)))
    assert rec["note"].endswith("for X = lambda I, lambda in [0, 1]")
