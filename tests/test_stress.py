"""attngrad.stress: approximators, families, harness, CLI (tiny sizes)."""
from __future__ import annotations

import json
import math
import sys
import textwrap

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import attngrad
from attngrad import formulas as F
from attngrad.backend import get_namespace
from attngrad.cli import main
from attngrad.stress import approximators as ap
from attngrad.stress import families as fam
from attngrad.stress import harness

from .profiles import examples

U64 = 2.0 ** -53


def _inputs(n, d, seed, B=1.0):
    rng = np.random.default_rng(seed)
    A1, A2 = (B * rng.uniform(-1, 1, (n, d)) for _ in range(2))
    A3, E = (rng.uniform(-1, 1, (n, d)) for _ in range(2))
    X, Y = (rng.uniform(-1, 1, (d, d)) for _ in range(2))
    return A1, A2, A3, E, X, Y


def _magnitude(F_, A1, A2, hy, E, s):
    """s |A1|^T (|F| o (|C| |h|^T) + diag(rowsum(|C| o |F| |h|)) |F|) |A2| with |C| = |F||h| + |E|:
    the sum of absolute values of the terms of the gradient for the matrix F (rounding bounds)."""
    aF, ah = np.abs(F_), np.abs(hy)
    aC = aF @ ah + np.abs(E)
    P = aF * (aC @ ah.T) + np.sum(aC * (aF @ ah), axis=1)[:, None] * aF
    return abs(s) * (np.abs(A1).T @ P @ np.abs(A2))


def _tol(F_, A1, A2, hy, E, s, k=0):
    """First-order float64 bound: every term passes through at most K = 2n + d^2 + 2d + k
    roundings of sums and products; errors in c~ enter p~ linearly, bounded by the |C| used in
    _magnitude. 6 gamma_K covers c~, q~ / r~, p~, and the two products with A1, A2. For a
    factored F = U V^T pass F_ = |U| |V|^T and the rank k: the factored path never forms F, so
    its rounding is that of the k-term products, however much they cancel in F."""
    n, d = A1.shape
    K = 2 * n + d * d + 2 * d + k
    gamma = K * U64 / (1 - K * U64)
    return 6 * gamma * _magnitude(F_, A1, A2, hy, E, s)


# --------------------------------------------------------------------------
# the backward pass


@settings(max_examples=examples(25), deadline=None)
@given(n=st.integers(1, 9), d=st.integers(1, 4), k=st.integers(1, 5), seed=st.integers(0, 2**31))
@example(n=1, d=1, k=1, seed=0)
@example(n=1, d=2, k=5, seed=1025)   # F = U V^T cancels to 0.0016 from terms of size 1
def test_backward_factored_equals_dense_formulas(n, d, k, seed):
    """For any U, V (not only a softmax), the factored backward equals attngrad.formulas on U V^T."""
    A1, A2, A3, E, X, Y = _inputs(n, d, seed)
    rng = np.random.default_rng(seed + 1)
    U, V = rng.uniform(-1, 1, (n, k)), rng.uniform(-1, 1, (n, k))
    ns = get_namespace(A1=A1)
    s = F.scale_value(ns, None, d)
    hy = A3 @ Y
    op = ap.LowRank(U, V)
    dense = ap.backward_dense(ns, op.dense(), A1, A2, hy, E, s)
    fact = ap.backward_factored(ns, op.apply, A1, A2, hy, E, s)
    assert np.all(np.abs(dense - fact) <= 2 * _tol(np.abs(U) @ np.abs(V).T, A1, A2, hy, E, s, k))


def test_backward_factored_mpmath_equals_lemma_c8():
    """At 50 digits, the factored backward with f~ = f is the exact gradient (Lemma C.8)."""
    n, d = 7, 3
    args = [attngrad.to_mpmath(a) for a in _inputs(n, d, 3)]
    A1, A2, A3, E, X, Y = args
    ns = get_namespace(A1=A1)
    with mpmath.workdps(50):
        s = F.scale_value(ns, None, d)
        f = ap.exact_f(ns, A1, A2, X, s)
        got = ap.backward_factored(ns, lambda M: f @ M, A1, A2, F.h(ns, A3, Y), E, s)
        ref = F.gradient_exact_X(ns, A1, A2, A3, E, X, Y, s)
        scale = max(abs(v) for v in ref.ravel())
        err = max(abs(a - b) for a, b in zip(got.ravel(), ref.ravel()))
        assert err <= mpmath.mpf(10) ** (-40) * scale


@pytest.mark.parametrize("k", [1, 3, 11])
def test_backward_sparse_equals_dense(k):
    n, d = 11, 3
    A1, A2, A3, E, X, Y = _inputs(n, d, k, B=2.0)
    ns = get_namespace(A1=A1)
    s = F.scale_value(ns, None, d)
    op = ap.topk_factors(ns, F.scores(ns, A1, A2, X, s), k)
    dense_f = op.dense()
    assert np.allclose(dense_f.sum(axis=1), 1.0, rtol=0, atol=n * U64 * 4)
    assert np.all((dense_f > 0).sum(axis=1) == k)
    hy = A3 @ Y
    got = ap.backward_sparse(ns, op, A1, A2, hy, E, s)
    ref = ap.backward_dense(ns, dense_f, A1, A2, hy, E, s)
    assert np.all(np.abs(got - ref) <= 2 * _tol(dense_f, A1, A2, hy, E, s))


# --------------------------------------------------------------------------
# the approximators


@pytest.mark.parametrize("fn, kw", [(ap.svd_gradient, "rank"), (ap.topk_gradient, "k")])
def test_full_budget_is_exact(fn, kw):
    n, d = 12, 3
    args = _inputs(n, d, 5, B=2.0)
    g = attngrad.gradient(*args)
    got = fn(*args, **{kw: n})
    ns = get_namespace(A1=args[0])
    s = F.scale_value(ns, None, d)
    f = ap.exact_f(ns, args[0], args[1], args[4], s)
    tol = 2 * _tol(f, args[0], args[1], args[2] @ args[5], args[3], s)
    if fn is ap.svd_gradient:  # the SVD reconstructs f to a backward-stable few n u ||f||_2
        tol = tol + 2 * (n * n * U64) * np.linalg.norm(f, 2) * _magnitude(
            np.ones_like(f), args[0], args[1], args[2] @ args[5], args[3], s)
    assert np.all(np.abs(got - g) <= tol)


def test_svd_error_decreases_with_rank_and_shared_svd():
    args = _inputs(20, 3, 6, B=2.0)
    g = attngrad.gradient(*args)
    svd = ap.svd_of_f(*args)
    errs = []
    for r in (1, 2, 5, 10, 20):
        a = ap.svd_gradient(*args, rank=r)
        b = ap.svd_gradient(*args, rank=r, svd=svd)
        assert np.array_equal(a, b)
        errs.append(np.abs(a - g).max())
    assert errs[-1] < errs[0]


def test_random_features_seeded_and_consistent():
    args = _inputs(15, 4, 7)
    a = ap.random_features_gradient(*args, features=32, seed=1)
    b = ap.random_features_gradient(*args, features=32, seed=1)
    c = ap.random_features_gradient(*args, features=32, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # the random-feature f~ is a row-stochastic matrix with positive entries
    ns = get_namespace(A1=args[0])
    W = ap.gaussian_directions(4, 32, 1)
    op = ap.random_feature_factors(ns, args[0] @ args[4] / 2, args[1] / 2, W)
    fd = op.dense()
    assert np.all(fd > 0) and np.allclose(fd.sum(axis=1), 1, rtol=0, atol=64 * U64)


def test_random_features_unbiased_kernel():
    """E_w[phi(q) phi(k)] = exp(<q, k>): the Monte Carlo mean over many directions converges."""
    rng = np.random.default_rng(0)
    q, k = rng.uniform(-0.5, 0.5, 3), rng.uniform(-0.5, 0.5, 3)
    W = ap.gaussian_directions(3, 300000, 0, orthogonal=False)
    phi = np.exp(W @ q - q @ q / 2) * np.exp(W @ k - k @ k / 2)
    # standard error of the mean, 5 sigma
    assert abs(phi.mean() - math.exp(q @ k)) <= 5 * phi.std() / math.sqrt(len(phi))


def test_orthogonal_directions_are_orthogonal_in_blocks():
    W = ap.gaussian_directions(4, 8, 3)
    for blk in (W[:4], W[4:]):
        G = blk @ blk.T
        assert np.allclose(G - np.diag(np.diag(G)), 0, atol=1e-12)


def test_random_features_mpmath_matches_float():
    args = _inputs(6, 2, 8)
    got = ap.random_features_gradient(*[attngrad.to_mpmath(a) for a in args], features=4, seed=0)
    ref = ap.random_features_gradient(*args, features=4, seed=0)
    assert got.dtype == object and isinstance(got[0, 0], mpmath.mpf)
    assert np.abs(attngrad.to_float64(got) - ref).max() <= 1e-12 * np.abs(ref).max()


@pytest.mark.parametrize("fn, kw, bad, exc", [
    (ap.svd_gradient, "rank", 0, ValueError), (ap.svd_gradient, "rank", 13, ValueError),
    (ap.topk_gradient, "k", 2.5, TypeError), (ap.topk_gradient, "k", True, TypeError),
    (ap.random_features_gradient, "features", -1, ValueError),
    (ap.polynomial_gradient, "degree", "3", TypeError)])
def test_bad_budgets_name_the_argument(fn, kw, bad, exc):
    with pytest.raises(exc, match=rf"^{kw}: "):  # "k" alone would match almost any message
        fn(*_inputs(12, 2, 0), **{kw: bad})


def test_svd_and_topk_refuse_mpmath():
    args = [attngrad.to_mpmath(a) for a in _inputs(4, 2, 0)]
    with pytest.raises(TypeError, match="to_float64"):
        ap.svd_gradient(*args, rank=2)


# --------------------------------------------------------------------------
# families


def test_random_sign_family_entry_size():
    n = 64
    for inst in fam.make("sweep", n, 8, np.random.default_rng(0), (0.5, 2.0)):
        t = inst.meta["target_ratio"]
        assert inst.B == pytest.approx(t * math.sqrt(math.log(n)), rel=1e-15)
        assert inst.ratio == pytest.approx(t, rel=1e-15)


def test_planted_pair_is_unique_closest():
    n = 128
    for inst in fam.make("planted", n, 8, np.random.default_rng(1), (0.5, 3.0)):
        A1, A2, A3, E, X, Y = inst.arrays
        d = inst.d
        assert d == fam.planted_dimension(n, 8) >= 2 * math.log2(n)
        a, b = np.sign(A1), np.sign(A2)
        ham = (d - a @ b.T) / 2
        i, j = inst.meta["i_star"], inst.meta["j_star"]
        assert ham[i, j] == 1 and inst.meta["unique"]
        ham[i, j] = np.inf
        assert ham.min() > 1 and ham.min() == inst.meta["min_random_distance"]
        assert np.array_equal(np.nonzero(A3.any(axis=1))[0], [j]) and not E.any()


def test_reduction_family():
    pytest.importorskip("attngrad.hard")
    insts = fam.make("reduction", 32, 8, np.random.default_rng(0))
    assert [i.meta["shape"] for i in insts] == ["E.2", "gap"]
    for inst in insts:
        assert inst.n == 32 and inst.ratio > 1


def test_unknown_family():
    with pytest.raises(ValueError, match="family"):
        fam.make("nope", 8, 2, np.random.default_rng(0))


# --------------------------------------------------------------------------
# the harness


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    (tmp_path / "stress_plugins.py").write_text(textwrap.dedent('''
        import numpy as np
        import attngrad

        def perturbed(A1, A2, A3, E, X, Y, *, scale=None, budget=3):
            g = attngrad.gradient(A1, A2, A3, E, X, Y, scale=scale)
            out = g.copy()
            out[0, 0] += 10.0 ** -budget * np.abs(g).max()
            return out

        def wrong_shape(A1, A2, A3, E, X, Y, *, scale=None):
            return np.zeros((2, 3))

        def broken(A1, A2, A3, E, X, Y, *, scale=None):
            raise RuntimeError("boom")

        not_a_function = 3
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("stress_plugins", None)
    yield "stress_plugins"
    sys.modules.pop("stress_plugins", None)


def _config(**kw):
    base = dict(sizes=(16,), d=3, methods=("attngrad:gradient",), families=("easy", "sweep"),
                ratios={"sweep": (0.5, 2.0)})
    base.update(kw)
    return harness.StressConfig(**base)


RECORD_KEYS = {"method", "family", "n", "d", "B", "budget", "rel_error", "seconds"}


def test_perfect_approximator_has_zero_error():
    res = harness.run(_config())
    recs = [r for r in res["records"] if r["method"] == "attngrad:gradient"]
    assert len(recs) == 4 and all(r["rel_error"] == 0.0 and r["status"] == "ok" for r in recs)
    for r in res["records"]:
        assert RECORD_KEYS <= set(r)
    assert json.loads(json.dumps(res, allow_nan=False)) == res


def test_perturbed_approximator_has_the_planted_error(plugins):
    res = harness.run(_config(methods=(f"{plugins}:perturbed",),
                              budgets={f"{plugins}:perturbed": (2, 4)}))
    recs = [r for r in res["records"] if r["method"] != "exact"]
    assert {r["budget"] for r in recs} == {2, 4}
    for r in recs:
        # rel_error = 10^-b exactly up to the rounding of one addition and one division
        assert r["rel_error"] == pytest.approx(10.0 ** -r["budget"], rel=8 * U64 / 10.0 ** -r["budget"])
    need = {(b["family"], b["budget"]) for b in res["budget_needed"]}
    assert all(b["budget"] == 4 for b in res["budget_needed"])  # 1e-4 <= 1e-3 < 1e-2
    assert ("easy", 4) in need


def test_plugin_default_budget(plugins):
    res = harness.run(_config(methods=(f"{plugins}:perturbed",), families=("easy",)))
    recs = [r for r in res["records"] if r["method"] != "exact"]
    assert {r["budget"] for r in recs} == {3}


@pytest.mark.parametrize("spec, exc, match", [
    ("nosuchmethod", ValueError, "module:function"),
    ("no_such_module_xyz:f", ValueError, "cannot import"),
    ("attngrad:no_such_function", ValueError, "no attribute"),
    ("attngrad:__version__", TypeError, "not callable"),
])
def test_bad_methods(spec, exc, match):
    with pytest.raises(exc, match=match):
        harness.run(_config(methods=(spec,)))


def test_plugin_errors(plugins):
    with pytest.raises(ValueError, match="wrong_shape.*shape"):
        harness.run(_config(methods=(f"{plugins}:wrong_shape",)))
    res = harness.run(_config(methods=(f"{plugins}:broken",)))
    assert res["failures"] and all("boom" in f for f in res["failures"])
    with pytest.raises(ValueError, match="budget"):
        harness.run(_config(methods=(f"{plugins}:broken",), budgets={f"{plugins}:broken": (1,)}))


@pytest.mark.parametrize("kw, match", [
    (dict(sizes=(1,)), "sizes"), (dict(sizes=()), "sizes"), (dict(d=0), "d"),
    (dict(target=2.0), "target"), (dict(families=("nope",)), "families"),
    (dict(ratios={"sweep": (-1.0,)}), "ratios"), (dict(device="tpu"), "device"),
    (dict(budgets={"top-k": (2,)}), "budget")])
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=rf"^(--)?{match}: "):  # "d" alone matches anything
        harness.run(_config(**kw))


def test_crossing_points_interpolate_in_log_error():
    pts = [(0.1, 1e-5), (0.2, 1e-4), (0.4, 1e-2), (1.0, 1.0), (2.0, 1e-4)]
    cross = harness.crossing_points(pts, 1e-3)
    assert [c["direction"] for c in cross] == ["up", "down"]
    assert cross[0]["ratio"] == pytest.approx(0.3, rel=1e-12)
    assert cross[1]["ratio"] == pytest.approx(1.0 + 1.0 * (3 - 0) / 4, rel=1e-12)
    assert harness.crossing_points([(0.1, None), (0.2, 1e-6)], 1e-3)[0]["direction"] == "down"
    assert harness.crossing_points([(0.1, 1e-6), (0.2, 1e-5)], 1e-3) == []


def test_hard_vs_easy_summary():
    def rec(family, ratio, err, n=8, g=1):
        return {"method": "polynomial", "family": family, "ratio": ratio, "rel_error": err,
                "n": n, "budget": g, "status": "ok"}
    records = [rec("easy", 0.1, 1e-6), rec("easy", 0.2, 1e-5), rec("planted", 1.0, 1e-5),
               rec("planted", 2.0, 2e-3), rec("reduction", 5.0, 0.5)]
    c = harness.hard_vs_easy(records, 2.0, 100)
    assert c["pass"] and c["cases"][0]["factor"] == pytest.approx(200)
    c = harness.hard_vs_easy(records, 2.0, 1000)
    assert c["pass"] is False
    assert harness.hard_vs_easy(records[:2], 2.0, 100)["pass"] is None


def test_claim_holds_at_small_n():
    """The paper's prediction at n = 128: the polynomial method at a fixed degree is >= 100x
    worse on planted pairs with B >= 2 sqrt(ln n) than on random entries with B <= 0.2 sqrt(ln n)."""
    pytest.importorskip("attngrad.fast")
    res = harness.run(harness.StressConfig(
        sizes=(128,), d=4, methods=("polynomial",), budgets={"polynomial": (1, 2)},
        families=("easy", "planted"), ratios={"planted": (2.0, 3.0)}))
    assert res["claim"]["pass"] is True and len(res["claim"]["cases"]) == 2


# --------------------------------------------------------------------------
# the command


def test_cli_writes_json_and_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "o"
    rc = main(["stress", "--out", str(out), "--n", "16", "--d", "3", "--no-progress",
               "--methods", "truncated-svd", "top-k", "random-features", "attngrad:gradient",
               "--budget", "truncated-svd=2,4", "--budget", "top-k=2", "--budget",
               "random-features=8", "--families", "easy", "sweep", "planted",
               "--ratios", "sweep=0.5,1,2"])
    assert rc == 0
    data = json.loads((out / "stress.json").read_text())
    assert {"config", "records", "budget_needed", "crossings", "claim"} <= set(data)
    assert data["claim"]["pass"] is None  # no polynomial method in this run
    methods = {r["method"] for r in data["records"]}
    assert methods == {"exact", "truncated-svd", "top-k", "random-features", "attngrad:gradient"}
    assert (out / "stress.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, match", [
    (["--methods", "nosuch"], "module:function"),
    (["--n", "1"], "sizes"),
    (["--budget", "top-k=2", "--methods", "truncated-svd"], "budget"),
    (["--target", "0"], "target"),
])
def test_cli_bad_arguments(tmp_path, capsys, argv, match):
    rc = main(["stress", "--out", str(tmp_path), "--quick", "--no-progress", *argv])
    assert rc == 2
    assert match in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--budget", "top-k"], ["--budget", "top-k=a,b"],
                                  ["--ratios", "sweep"], ["--families", "nope"]])
def test_cli_malformed_options(tmp_path, argv):
    with pytest.raises(SystemExit) as e:
        main(["stress", "--out", str(tmp_path), *argv])
    assert e.value.code == 2


def test_cli_gpu_without_cupy(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    rc = main(["stress", "--out", str(tmp_path), "--n", "8", "--device", "gpu", "--no-progress",
               "--methods", "top-k", "--families", "easy"])
    assert rc == 2 and "CuPy" in capsys.readouterr().err


@pytest.mark.gpu
def test_gpu_matches_cpu():
    cupy = pytest.importorskip("cupy")
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception:
        pytest.skip("no CUDA device")
    args = _inputs(64, 4, 0, B=2.0)
    dev = [cupy.asarray(a) for a in args]
    for fn, kw in ((ap.svd_gradient, {"rank": 8}), (ap.topk_gradient, {"k": 8}),
                   (ap.random_features_gradient, {"features": 16, "seed": 0})):
        got = fn(*dev, **kw)
        assert type(got).__module__.startswith("cupy")
        ref = fn(*args, **kw)
        assert np.abs(cupy.asnumpy(got) - ref).max() <= 1e-10 * max(1.0, np.abs(ref).max())


def test_methods_plugin_is_found_in_the_current_directory(tmp_path, capsys, monkeypatch):
    """One plug-in rule (issue 17): `attngrad stress --methods mymodule:fn` finds mymodule.py
    in the current directory, as `decide --oracle` does, even where the current directory is
    not on sys.path (the console script)."""
    (tmp_path / "cwd_plugin_mod.py").write_text(
        "import attngrad\n"
        "def grad(A1, A2, A3, E, X, Y, *, scale=None):\n"
        "    return attngrad.gradient(A1, A2, A3, E, X, Y, scale=scale)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "cwd_plugin_mod", raising=False)
    rc = main(["stress", "--out", "o", "--n", "8", "--d", "2", "--no-progress", "--no-figure",
               "--methods", "cwd_plugin_mod:grad", "--families", "easy"])
    assert rc == 0, capsys.readouterr().err
    records = json.loads((tmp_path / "o" / "stress.json").read_text())["records"]
    assert {r["method"] for r in records} == {"exact", "cwd_plugin_mod:grad"}


def test_cli_seed_must_be_non_negative(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["stress", "--out", str(tmp_path), "--seed", "-1"])
    assert e.value.code == 2 and "argument --seed: must be an integer >= 0" in capsys.readouterr().err
