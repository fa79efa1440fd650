"""The SETH reduction (attngrad.hard): CNF -> OV -> attention -> gradient -> decoder."""
import itertools
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pathlib import Path

import attngrad
from attngrad import hard as H

from .helpers import peak_bytes
from .profiles import examples

pycosat = pytest.importorskip("pycosat")


def brute_force_sat(cnf):
    return any(cnf.satisfied_by(a) for a in itertools.product((False, True), repeat=cnf.num_vars))


# --------------------------------------------------------------------------- CNF input

def test_dimacs_round_trip_and_edge_cases():
    text = "c a comment\np cnf 3 4\n1 -2\n 3 0\n-1 0\n0\n2 3 0\n"
    cnf = H.parse_dimacs(text)
    assert cnf.num_vars == 3 and cnf.clauses == ((1, -2, 3), (-1,), (), (2, 3))
    assert H.parse_dimacs(cnf.to_dimacs()) == cnf
    assert H.parse_dimacs("p cnf 2 1\n1 2 0\n%\n0\n").clauses == ((1, 2),)
    assert H.parse_dimacs("p cnf 4 0\n") == H.CNF(4, ())


@pytest.mark.parametrize("text, words", [
    ("1 2 0\n", "before the 'p cnf' header"),
    ("p cnf 2 1\n1 3 0\n", "literal 3 outside"),
    ("p cnf 2 2\n1 2 0\n", "header says 2 clauses, found 1"),
    ("p cnf 2 1\n1 x 0\n", "not an integer"),
    ("c nothing\n", "no 'p cnf V M' header"),
    ("p cnf 2 1\np cnf 2 1\n", "repeated header"),
])
def test_dimacs_errors_name_the_problem(text, words):
    with pytest.raises(ValueError, match=words):
        H.parse_dimacs(text)


def test_generators_are_seeded_and_planted_is_satisfiable():
    assert H.random_kcnf(3, 9, 40, seed=4) == H.random_kcnf(3, 9, 40, seed=4)
    assert H.random_kcnf(3, 9, 40, seed=4) != H.random_kcnf(3, 9, 40, seed=5)
    for seed in range(5):
        assert H.solve(H.random_kcnf(3, 8, 60, seed=seed, planted=True)) is not None
    assert H.solve(H.pigeonhole(3)) is None
    with pytest.raises(TypeError, match="seed"):
        H.random_kcnf(3, 5, 5, seed=None)
    with pytest.raises(ValueError, match="k"):
        H.random_kcnf(4, 3, 5, seed=0)


def test_cnfgen_families_if_installed():
    cnfgen = pytest.importorskip("cnfgen")
    cnf = H.from_cnfgen(cnfgen.PigeonholePrinciple(3, 2))
    assert cnf.num_vars == 6 and H.solve(cnf) is None
    assert H.decide_cnf(cnf).answer == "UNSAT"


# --------------------------------------------------------------------------- CNF -> OV

cnfs = st.integers(0, 7).flatmap(lambda v: st.lists(
    st.lists(st.integers(1, max(v, 1)).flatmap(lambda x: st.sampled_from([x, -x])), max_size=3)
    if v else st.just([]), max_size=12).map(lambda cl: H.CNF(v, tuple(tuple(c) for c in cl))))


@settings(max_examples=examples(60), deadline=None)
@given(cnfs)
@example(H.CNF(0, ()))
@example(H.CNF(1, ((1,), (-1,))))
@example(H.CNF(3, ((1, 2), ())))
@example(H.CNF(5, ((1, -1), (2, 3), (-4,))))
def test_split_and_list(cnf):
    ov = H.cnf_to_ov(cnf)
    assert ov.A.shape == (2 ** ((cnf.num_vars + 1) // 2), cnf.num_clauses)
    assert ov.B.shape == (2 ** (cnf.num_vars // 2), cnf.num_clauses)
    pairs = ov.orthogonal_pairs()
    assert bool(pairs) == brute_force_sat(cnf)
    for i, j in pairs:  # every orthogonal pair spells a satisfying assignment
        assert cnf.satisfied_by(ov.assignment(i, j))


# --------------------------------------------------------------------------- OV -> attention -> gradient

@pytest.mark.parametrize("shape", ["E.2", "gap"])
@pytest.mark.parametrize("cnf", [H.random_kcnf(3, 7, 25, seed=1), H.pigeonhole(2), H.CNF(3, ())],
                         ids=["3cnf", "php", "noclauses"])
def test_attention_instance_shape(cnf, shape):
    ov = H.cnf_to_ov(cnf)
    att = H.ov_to_attention(ov, shape=shape)
    p = att.params
    S = att.Q @ att.K.T
    n, N, m = p["n"], p["N"], ov.dim
    assert att.Q.shape == (N, p["d"]) and p["d"] == p["k"] ** 2 >= 2 * m + 1
    assert S.min() >= 0 and S.max() <= p["R"] + 1e-9
    assert np.isin(att.V, (0, 1)).all()
    # padding keys score beta m; a real pair beta (m - <a, b>) + gamma
    A = np.tile(ov.A, (-(-n // ov.A.shape[0]), 1))[:n]
    Bv = np.tile(ov.B, (-(-n // ov.B.shape[0]), 1))[:n]
    assert np.allclose(S[:n, n:], p["beta"] * m)
    assert np.allclose(S[:n, :n], p["beta"] * (m - A @ Bv.T) + p["gamma"])
    bounds = H.attained_bounds(att)
    if shape == "E.2":
        assert bounds["min_row_fraction_at_score_max"] >= 0.5  # the shape of Lemma E.2
    # entries are dyadic (multiples of 1/8): exact O(log n)-bit rationals
    assert np.all(att.Q * 8 == np.round(att.Q * 8)) and np.all(att.K * 8 == np.round(att.K * 8))


def test_gradient_instance_is_theorem_E5_with_the_1_over_d_handled():
    att = H.ov_to_attention(H.cnf_to_ov(H.random_kcnf(3, 6, 20, seed=3)))
    inst = H.attention_to_gradient(att)
    S = att.Q @ att.K.T
    from attngrad.hard.bounds import f_derivatives
    for lam in (0.0, 0.4, 1.0):
        f, fp, _ = f_derivatives(S, att.V, lam)
        assert np.isclose(2 * attngrad.loss(*inst.args(lam)), f, rtol=1e-12)
        assert np.isclose(2 * np.trace(attngrad.gradient(*inst.args(lam))), fp, rtol=1e-9, atol=1e-12)
    assert np.all(inst.E == 0) and np.all(inst.Y == np.eye(inst.Y.shape[0]))


# --------------------------------------------------------------------------- the decoder

def corpus():
    out = [H.random_kcnf(3, v, round(4.3 * v), seed=s) for v, s in ((5, 0), (6, 1), (7, 2), (8, 3))]
    out += [H.random_kcnf(3, v, 8 * v, seed=s) for v, s in ((5, 4), (7, 5))]  # over-constrained
    out += [H.random_kcnf(3, 7, 20, seed=6, planted=True), H.pigeonhole(2),
            H.CNF(3, ()), H.CNF(0, ()), H.CNF(2, ((1,), (-1,))), H.CNF(3, ((1, 2), ())),
            H.CNF(1, ((1,),)), H.CNF(5, ((1, 2, 3), (-1,), (-2,), (-3,)))]
    return out


@pytest.mark.parametrize("shape", ["E.2", "gap"])
def test_decoder_agrees_with_a_sat_solver(shape):
    answers = [(H.decide_cnf(cnf, shape=shape).answer, H.solve(cnf) is not None) for cnf in corpus()]
    assert all(a == ("SAT" if sat else "UNSAT") for a, sat in answers), answers
    assert {sat for _, sat in answers} == {True, False}


def noisy(scale, seed=0):
    """The exact gradient plus independent uniform noise in [-scale, scale] per entry and call."""
    rng = np.random.default_rng(seed)

    def oracle(*args):
        G = attngrad.gradient(*args)
        return G + rng.uniform(-scale, scale, G.shape)
    return oracle


@pytest.mark.parametrize("cnf", [H.random_kcnf(3, 6, 40, seed=1), H.random_kcnf(3, 6, 12, seed=2, planted=True)],
                         ids=["unsat", "sat"])
def test_oracle_within_its_allowance_still_decides(cnf):
    inst = H.from_cnf(cnf)
    eps = H.plan(inst)["eps"]
    d = H.decide(inst, noisy(0.99 * eps))
    assert d.answer == ("SAT" if H.solve(cnf) else "UNSAT"), d.report()


@pytest.mark.parametrize("oracle_name", ["noise 1e-3", "noise 1", "scaled", "biased", "trace only"])
@pytest.mark.parametrize("cnf", [H.random_kcnf(3, 6, 40, seed=1), H.random_kcnf(3, 6, 12, seed=2, planted=True)],
                         ids=["unsat", "sat"])
def test_wrong_oracle_is_refused_not_believed(cnf, oracle_name):
    truth = "SAT" if H.solve(cnf) else "UNSAT"

    def scaled(*a):
        return 0.8 * attngrad.gradient(*a)

    def biased(*a):
        return attngrad.gradient(*a) + 1e-3

    def trace_only(*a):
        G = attngrad.gradient(*a)
        return G + np.eye(G.shape[0]) * 1e-2

    oracle = {"noise 1e-3": noisy(1e-3), "noise 1": noisy(1.0), "scaled": scaled,
              "biased": biased, "trace only": trace_only}[oracle_name]
    d = H.decide(H.from_cnf(cnf), oracle)
    assert d.status == "refused" or d.answer == truth, d.report()
    assert d.status == "refused", d.report()  # these perturbations are far beyond eps


def test_broken_oracle_fails_visibly():
    inst = H.from_cnf(H.random_kcnf(3, 4, 10, seed=0))
    with pytest.raises(H.OracleError, match="shape"):
        H.decide(inst, lambda *a: np.zeros((2, 2)))
    with pytest.raises(H.OracleError, match="non-finite"):
        H.decide(inst, lambda *a: attngrad.gradient(*a) * np.nan)
    with pytest.raises(TypeError, match="oracle"):
        H.decide(inst, "not callable")


def test_paper_parameters_refuse():
    """Theorem E.5's m = ln^4 N points and eps = 1/ln^4 N: the budget does not separate."""
    inst = H.from_cnf(H.random_kcnf(3, 8, 34, seed=1))
    d = H.decide(inst, rule="riemann")
    assert d.status == "refused" and d.calls == 0
    assert d.budget["quadrature_error"] > d.budget["gap"]
    assert "does not separate" in d.reason and d.report().splitlines()[-1] == "REFUSED"


def test_budget_is_printed():
    d = H.decide(H.from_cnf(H.pigeonhole(2)))
    text = d.report()
    for words in ("|f''| bound", "quadrature error bound", "oracle error per entry allowed",
                  "gap to resolve", "oracle calls"):
        assert words in text
    assert text.splitlines()[-1] == "UNSAT"
    assert d.calls == d.budget["calls"]


# --------------------------------------------------------------------------- files and the CLI

def test_save_load_validates(tmp_path):
    arrays, meta = H.reduction_instance(6, seed=2)
    assert set(arrays) == {"A1", "A2", "A3", "E", "X", "Y"}
    assert meta["ground_truth"]["satisfiable"] == (H.solve(H.random_kcnf(3, 6, 26, seed=2)) is not None)
    json.dumps(meta)
    inst = H.GradientInstance(**arrays, meta=meta)
    path = H.save(inst, tmp_path / "i.npz")
    back = H.load(path)
    assert all(np.array_equal(getattr(back, k), arrays[k]) for k in arrays)
    raw = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        H.load(tmp_path / "cut.npz")
    altered = dict(arrays)
    altered["A3"] = arrays["A3"].copy()
    altered["A3"][0, 0] = 0.0
    np.savez(tmp_path / "alt.npz", meta=np.array(json.dumps(meta)), **altered)
    with pytest.raises(ValueError, match="SHA-256"):
        H.load(tmp_path / "alt.npz")
    with zipfile.ZipFile(tmp_path / "foreign.npz", "w") as z:
        z.writestr("x.npy", b"")
    with pytest.raises(ValueError, match="attngrad instance|corrupt"):
        H.load(tmp_path / "foreign.npz")


ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, cwd=None):
    """``python -m attngrad.cli ...`` in a subprocess (the checkout importable from any cwd)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "attngrad.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env)


def test_cli_generate_and_decide(tmp_path):
    out = tmp_path / "r.npz"
    r = run_cli("generate", "--random-ksat", "3", "6", "26", "--seed", "2", "-o", str(out))
    assert r.returncode == 0, r.stderr
    meta = json.loads(r.stdout)
    assert meta["source"]["seed"] == 2 and "attained" in meta and "schedule" in meta
    assert json.loads((tmp_path / "r.json").read_text()) == meta == H.load(out).meta  # the sidecar
    r = run_cli("decide", str(out))
    truth = "SAT" if meta["ground_truth"]["satisfiable"] else "UNSAT"
    assert r.returncode == {"SAT": 10, "UNSAT": 20}[truth], r.stderr
    assert r.stdout.strip().splitlines()[-1] == truth
    cnf = tmp_path / "php.cnf"
    cnf.write_text(H.pigeonhole(2).to_dimacs())
    r = run_cli("generate", "--cnf", str(cnf), "-o", str(tmp_path / "php.npz"))
    assert r.returncode == 0 and json.loads(r.stdout)["ground_truth"]["satisfiable"] is False
    r = run_cli("generate", "--ov", "8", "12", "--seed", "1", "--planted", "-o", str(tmp_path / "ov.npz"))
    assert r.returncode == 0 and json.loads(r.stdout)["ground_truth"]["satisfiable"] is True


def test_cli_decide_with_a_plugged_oracle(tmp_path):
    (tmp_path / "myoracle.py").write_text(
        "import attngrad\n"
        "def grad(A1, A2, A3, E, X, Y, **kw):\n"
        "    return attngrad.gradient(A1, A2, A3, E, X, Y)\n"
        "def bad(A1, A2, A3, E, X, Y, **kw):\n"
        "    return attngrad.gradient(A1, A2, A3, E, X, Y) + 0.5\n"
        "def raises(*args):\n"
        "    raise RuntimeError('no gradient today\\nhere')\n")
    cnf = tmp_path / "f.cnf"
    formula = H.random_kcnf(3, 5, 40, seed=3)
    cnf.write_text(formula.to_dimacs())
    r = run_cli("decide", str(cnf), "--oracle", "myoracle:grad", cwd=tmp_path)
    truth = "SAT" if H.solve(formula) else "UNSAT"
    assert r.returncode == {"SAT": 10, "UNSAT": 20}[truth], r.stderr
    assert r.stdout.strip().splitlines()[-1] == truth
    r = run_cli("decide", str(cnf), "--oracle", "myoracle:bad", cwd=tmp_path)
    assert r.returncode == 3 and r.stdout.strip().splitlines()[-1] == "REFUSED"
    r = run_cli("decide", str(cnf), "--oracle", "nosuchmodule:f", cwd=tmp_path)
    assert r.returncode == 2 and "--oracle" in r.stderr
    (tmp_path / "brokenmod.py").write_text("def f(:\n")
    r = run_cli("decide", str(cnf), "--oracle", "brokenmod:f", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith(
        "attngrad decide: --oracle: importing module 'brokenmod' of 'brokenmod:f' raised SyntaxError")
    assert r.stderr.count("\n") == 1
    r = run_cli("decide", str(cnf), "--oracle", "myoracle:raises", cwd=tmp_path)
    assert r.returncode == 6 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[-1] == ("attngrad decide: --oracle myoracle:raises raised "
                                         "RuntimeError: no gradient today here")


@pytest.mark.parametrize("cnf", [H.random_kcnf(3, 6, 40, seed=1), H.random_kcnf(3, 6, 12, seed=2, planted=True)],
                         ids=["unsat", "sat"])
def test_decide_on_the_gpu_path_gives_the_cpu_answer(cnf, cupy_stand_in, monkeypatch):
    from attngrad import machine

    monkeypatch.setattr(machine, "gpu_unavailable", lambda: None)
    inst = H.from_cnf(cnf)
    seen = []

    def oracle(*a):  # the default oracle, watched: it must be handed device arrays
        seen.append({type(x).__module__ for x in a})
        return attngrad.gradient(*a)

    cpu, gpu = H.decide(inst), H.decide(inst, oracle, device="gpu")
    assert gpu.status == "decided" and gpu.answer == cpu.answer == ("SAT" if H.solve(cnf) else "UNSAT")
    assert seen and all(mods == {"cupy"} for mods in seen)
    assert gpu.estimates == pytest.approx(cpu.estimates, rel=1e-9)


def test_decide_on_the_gpu_needs_a_gpu(monkeypatch):
    from attngrad import machine

    monkeypatch.setattr(machine, "gpu_unavailable", lambda: "gpu: CuPy is not installed")
    inst = H.from_cnf(H.random_kcnf(3, 5, 20, seed=4))
    with pytest.raises(ValueError, match="^device: 'gpu' cannot be used here"):
        H.decide(inst, device="gpu")
    with pytest.raises(ValueError, match="^device: must be"):
        H.decide(inst, device="tpu")


def test_cli_decide_device_gpu_without_a_gpu_is_a_clear_error(tmp_path):
    from attngrad.machine import gpu_unavailable

    if gpu_unavailable() is None:
        pytest.skip("a GPU is usable here")
    cnf = tmp_path / "f.cnf"
    cnf.write_text(H.random_kcnf(3, 5, 20, seed=4).to_dimacs())
    r = run_cli("decide", str(cnf), "--device", "gpu")
    assert r.returncode == 2 and "device: 'gpu' cannot be used here" in r.stderr, r.stderr


# --------------------------------------------------------------------------- the commands: refusals
# In process (attngrad.cli.main), so each costs milliseconds; refusals come before any work.


def cli_main(capsys, *argv):
    """(exit status, stdout, stderr) of ``attngrad ARGV`` run in this process."""
    from attngrad.cli import main

    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def one_line(err, prefix):
    assert err.count("\n") == 1 and err.startswith(prefix), err
    return err


@pytest.mark.parametrize("argv, flag", [
    (["generate", "--cnf", "{tmp}/v40.cnf"], "--cnf {tmp}/v40.cnf (40 variables, 1 clause: N = 2^21"),
    (["generate", "--cnf", "{tmp}/v1e8.cnf"], "--cnf {tmp}/v1e8.cnf (100000000 variables, 1 clause: "
                                              "N = 2^50000001 tokens"),
    (["generate", "--random-ksat", "3", "60", "10", "--seed", "1"], "--random-ksat 3 60 10 "),
    (["generate", "--ov", "100000000", "2", "--seed", "1"], "--ov 100000000 2 (N = 200000000 tokens"),
    (["decide", "{tmp}/small.cnf", "--points", "10000000000"], "--points 10000000000 needs about"),
    (["generate", "--random-ksat", "3", "6", "10", "--seed", "1", "--max-memory", "1M"],
     "--random-ksat 3 6 10 "),
])
def test_what_does_not_fit_is_refused_in_one_line(tmp_path, capsys, argv, flag):
    """issue 15: each of these used to end in a MemoryError traceback (8 TiB, 8 GiB, 1.5 GiB,
    74.5 GiB) or "Maximum allowed size exceeded"; now one line naming the option and the size,
    exit status 4, nothing written."""
    (tmp_path / "v40.cnf").write_text("p cnf 40 1\n1 0\n")
    (tmp_path / "v1e8.cnf").write_text("p cnf 100000000 1\n1 0\n")
    (tmp_path / "small.cnf").write_text("p cnf 2 1\n1 2 0\n")
    out = ["-o", tmp_path / "x.npz"] if argv[0] == "generate" else []
    rc, _, err = cli_main(capsys, *[a.format(tmp=tmp_path) for a in argv], *out)
    assert rc == 4
    one_line(err, f"attngrad {argv[0]}: " + flag.format(tmp=tmp_path))
    assert " over --max-memory " in err and "raise it with --max-memory SIZE" in err
    assert not (tmp_path / "x.npz").exists()


def test_max_memory_raises_the_limit(tmp_path, capsys):
    from attngrad.hard.memory import cnf_bytes

    need = cnf_bytes(6, 10, 3)
    argv = ["generate", "--random-ksat", "3", "6", "10", "--seed", "1", "-o", tmp_path / "x.npz"]
    assert cli_main(capsys, *argv, "--max-memory", need - 1)[0] == 4
    assert cli_main(capsys, *argv, "--max-memory", need)[0] == 0


@pytest.mark.parametrize("out, status, words", [
    ("{tmp}/missing/x.npz", 5, "the directory '{tmp}/missing' does not exist"),
    ("{tmp}", 5, "is a directory; give a file name"),
    ("{tmp}/inst", 2, "the name must end in .npz"),
    ("{tmp}/inst.cnf", 2, "the name must end in .npz"),
])
def test_generate_output_errors(tmp_path, capsys, out, status, words):
    out = out.format(tmp=tmp_path)
    rc, _, err = cli_main(capsys, "generate", "--random-ksat", "3", "6", "10", "--seed", "1",
                          "-o", out)
    assert rc == status
    one_line(err, f"attngrad generate: -o {out}: {words.format(tmp=tmp_path)}")


def test_file_errors_of_the_inputs(tmp_path, capsys):
    rc, _, err = cli_main(capsys, "decide", tmp_path / "nope.cnf")
    assert rc == 5 and one_line(err, f"attngrad decide: FILE {tmp_path}/nope.cnf: no such file")
    rc, _, err = cli_main(capsys, "decide", tmp_path)
    assert rc == 5 and one_line(err, f"attngrad decide: FILE {tmp_path}: is a directory")
    rc, _, err = cli_main(capsys, "generate", "--cnf", tmp_path / "nope.cnf", "-o", tmp_path / "x.npz")
    assert rc == 5 and one_line(err, f"attngrad generate: --cnf {tmp_path}/nope.cnf: no such file")


@pytest.mark.parametrize("argv, words", [
    (["--random-ksat", "3", "6", "10", "--seed", "-1"], "argument --seed: must be an integer >= 0"),
    (["--ov", "4", "3", "--seed", "x"], "argument --seed: must be an integer >= 0"),
    (["--random-ksat", "3", "6", "10"], "attngrad generate: --seed: required"),
    (["--random-ksat", "3", "2", "10", "--seed", "1"], "--random-ksat K V M: need V, M >= 0 and 1 <= K <= V"),
    (["--ov", "0", "3", "--seed", "1"], "--ov N DIM: need N >= 1"),
    (["--random-ksat", "3", "6", "10", "--seed", "1", "--max-memory", "lots"], "argument --max-memory"),
])
def test_bad_values_name_their_option(tmp_path, capsys, argv, words):
    from attngrad.cli import main

    try:
        rc = main(["generate", *argv, "-o", str(tmp_path / "x.npz")])
    except SystemExit as exc:  # argparse's own refusals
        rc = exc.code
    assert rc == 2 and words in capsys.readouterr().err


def test_a_renamed_instance_is_not_read_as_dimacs(tmp_path, capsys):
    """decide tells a saved instance by its content (a zip), whatever its name."""
    formula = H.random_kcnf(3, 4, 10, seed=5)
    (tmp_path / "f.cnf").write_text(formula.to_dimacs())
    assert cli_main(capsys, "generate", "--cnf", tmp_path / "f.cnf", "-o", tmp_path / "i.npz")[0] == 0
    (tmp_path / "i.npz").rename(tmp_path / "instance")
    rc, out, err = cli_main(capsys, "decide", tmp_path / "instance")
    truth = "SAT" if H.solve(formula) else "UNSAT"
    assert rc == {"SAT": 10, "UNSAT": 20}[truth] and out.splitlines()[-1] == truth, err


def test_decide_shows_progress_off_a_terminal(tmp_path, capsys):
    """A line after the first oracle call (with the time left) and one per tenth, on stderr."""
    (tmp_path / "f.cnf").write_text(H.random_kcnf(3, 4, 10, seed=5).to_dimacs())
    rc, out, err = cli_main(capsys, "decide", tmp_path / "f.cnf")
    calls = int(out.split("oracle calls")[1].split()[0])
    first, *lines = err.splitlines()
    assert first.startswith(f"decide: {calls} oracle calls (gauss rule, m = ")
    assert lines[0].startswith(f"oracle calls: 1/{calls}, ") and "s left" in lines[0]
    assert lines[-1].startswith(f"oracle calls: {calls}/{calls}, ") and 5 <= len(lines) <= 12


def test_decide_help_states_the_run_time_with_the_right_call_counts(capsys):
    import re

    from attngrad.cli import main
    from attngrad.hard.decoder import budget_for_cnf

    with pytest.raises(SystemExit):
        main(["decide", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 10 SAT, 20 UNSAT" in text and "3 REFUSED" in text
    counts = re.findall(r"(\d+) calls for (\d+) variables|(\d+) for (\d+)\)", text)
    assert len(counts) == 2
    for a, b, c, e in counts:
        calls, v = int(a or c), int(b or e)
        assert calls == budget_for_cnf(v, round(4.3 * v))["calls"], (calls, v)


@pytest.mark.parametrize("v, m", [(16, 3), (2, 300), (12, 52)])
def test_memory_estimate_of_a_cnf_instance_bounds_itspeak_bytes(v, m):
    """The estimate behind --max-memory contains tracemalloc's peak (numpy reports its buffers)
    and is within a factor 4 of it: the N x N scores (16, 3), the d x d arrays (2, 300)."""
    from attngrad.hard.memory import cnf_bytes

    cnf = H.random_kcnf(min(3, v), v, m, seed=1)
    peak = peak_bytes(lambda: H.from_cnf(cnf))
    assert peak <= cnf_bytes(v, m, 3) <= 4 * peak


def test_memory_estimates_of_ov_and_the_decoder_bound_their_peaks(tmp_path):
    from attngrad.hard import decoder as D
    from attngrad.hard import memory as M

    peak = peak_bytes(lambda: H.ov_instance(256, 10, seed=1))
    assert peak <= M.random_ov_bytes(256, 10) <= 4 * peak
    D.gauss_nodes.cache_clear()
    peak = peak_bytes(lambda: (D.gauss_nodes(3000), D.gauss_nodes(3001)))
    assert peak <= M.nodes_bytes(3000) <= 4 * peak
    inst = H.from_cnf(H.random_kcnf(3, 14, 10, seed=1))
    N, d = inst.A1.shape
    peak = peak_bytes(lambda: D.exact_oracle(*inst.args(0.5)))
    assert peak <= M.oracle_bytes(N, d) <= 4 * peak
    H.save(inst, tmp_path / "i.npz")
    peak = peak_bytes(lambda: H.load(tmp_path / "i.npz"))
    assert peak <= M.saved_instance_bytes(tmp_path / "i.npz") <= 4 * peak
    assert M.saved_instance_bytes(tmp_path / "nothing.npz") is None


def test_f_derivatives_match_central_differences():
    """f' and f'' of Lemma E.3 (attngrad/hard/bounds.py) against central differences of f and
    f' at 40 digits, and float64 against mpmath."""
    import mpmath

    from attngrad.hard.bounds import f_derivatives

    rng = np.random.default_rng(3)
    S, V = rng.uniform(-2, 2, (5, 5)), rng.uniform(-1, 1, (5, 2))
    Sm, Vm = attngrad.to_mpmath(S), attngrad.to_mpmath(V)
    with mpmath.workdps(40):
        lam, h = mpmath.mpf("0.7"), mpmath.mpf(10) ** -12
        f0, f1, f2 = f_derivatives(Sm, Vm, lam)
        up, down = f_derivatives(Sm, Vm, lam + h), f_derivatives(Sm, Vm, lam - h)
        assert abs((up[0] - down[0]) / (2 * h) - f1) < 1e-18
        assert abs((up[1] - down[1]) / (2 * h) - f2) < 1e-18
        assert abs(f2) > 1e-3     # not a vacuous case
    got = f_derivatives(S, V, 0.7)
    for a, b in zip(got, (f0, f1, f2)):
        assert abs(float(a) - float(b)) <= 1e-13 * max(1.0, abs(float(b)))
