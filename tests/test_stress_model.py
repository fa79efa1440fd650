"""attngrad stress --model: the fast multi-layer gradient as the entry bound grows (tiny sizes)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from attngrad import transformer as tr
from attngrad.cli import main
from attngrad.stress import model as sm


def _scores_by_loops(T, W_Q, W_K, heads, causal):
    """Per head, max |score| from the full n x n matrix (the module computes it by row blocks)."""
    n, d = T.shape
    dh = d // heads
    out = []
    for l in range(heads):
        c = slice(l * dh, (l + 1) * dh)
        S = (T @ W_Q[:, c]) @ (T @ W_K[:, c]).T / dh
        keep = np.tril(np.ones((n, n), bool)) if causal else np.ones((n, n), bool)
        out.append(np.abs(S[keep]).max())
    return np.array(out)


@pytest.mark.parametrize("causal", [True, False])
def test_every_head_of_every_layer_sees_score_B(causal):
    B = 1.7
    X, layers, _ = sm.calibrated_model(13, 8, 3, 2, causal, B, seed=4)
    T = X
    for ly in layers:
        np.testing.assert_allclose(_scores_by_loops(T, ly.W_Q, ly.W_K, 2, causal), B, rtol=1e-12)
        T = tr.forward(T, [ly])


def test_row_blocks_give_the_whole_maximum():
    rng = np.random.default_rng(0)
    T, W_Q, W_K = rng.normal(size=(37, 4)), rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    for causal in (True, False):
        np.testing.assert_allclose(sm.head_score_max(T, W_Q, W_K, 2, causal, rows=5),
                                   _scores_by_loops(T, W_Q, W_K, 2, causal), rtol=1e-14)


def _tiny(**kw):
    base = dict(sizes=(24,), d=8, layers=2, heads=2, degrees=(2, 6), ratios=(0.25, 4.0),
                target=1e-3, seed=0)
    return sm.ModelStressConfig(**{**base, **kw})


def test_records_errors_bounds_and_breaks():
    cfg = _tiny()
    res = sm.run(cfg)
    assert len(res["records"]) == len(cfg.ratios) * (len(cfg.degrees) + 1)
    ok = [r for r in res["records"] if r["status"] == "ok"]
    assert ok and res["sound"]
    for r in ok:  # the error recomputed here, against the exact gradient
        X, layers, target = sm.calibrated_model(24, 8, 2, 2, True, r["B"], 0)
        _, ge = tr.loss_and_gradient(X, layers, target=target)
        opts = dict(degree=r["degree"]) if r["kind"] == "degree" else dict(eps=r["eps"])
        _, gf = tr.loss_and_gradient(X, layers, target=target, method="fast", **opts)
        err = max(float(np.abs(a - b).max()) for (_, a), (_, b) in zip(ge.arrays(), gf.arrays()))
        assert r["abs_error"] == err <= r["bound"] == gf.bound
        assert r["max_score"] == pytest.approx(r["ratio"] * math.sqrt(math.log(24)), rel=1e-12)
    # B = 4 sqrt(ln n): far outside the regime, the certified run refuses and says why
    cert = {r["ratio"]: r for r in res["records"] if r["kind"] == "certified"}
    assert cert[4.0]["status"] == "refused" and "layer" in cert[4.0]["reason"]
    for b in res["breaks"]:
        rs = [r for r in res["records"] if r["kind"] == b["kind"] and r["degree"] == b["degree"]]
        bad = [r["ratio"] for r in rs if r["status"] != "ok"
               or (b["kind"] == "degree" and r["rel_error"] > cfg.target)]
        assert b["breaks_at_ratio"] == (min(bad) if bad else None)


def test_an_error_beyond_its_bound_fails_the_verdict(monkeypatch, tmp_path, capsys):
    """The verdict can fail: a fast result moved by 10 x its bound in one entry."""
    real = tr.loss_and_gradient

    def wrong(*a, **kw):
        L, g = real(*a, **kw)
        if kw.get("method") == "fast":
            g.X[0, 0] += 10 * g.bound + 1e-3
        return L, g

    monkeypatch.setattr(sm.tr, "loss_and_gradient", wrong)
    assert sm.run(_tiny(ratios=(0.25,), degrees=(6,)))["sound"] is False
    rc = main(["stress", "--model", "--out", str(tmp_path), "--n", "24", "--d", "8",
               "--layers", "1", "--heads", "2", "--budget", "fast=6", "--ratios", "model=0.25",
               "--no-figure", "--no-progress"])
    assert rc == 1 and "FAIL" in capsys.readouterr().out


def test_cli_writes_json_and_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "o"
    rc = main(["stress", "--model", "--out", str(out), "--n", "16", "--d", "4", "--layers", "2",
               "--heads", "2", "--non-causal", "--budget", "fast=2,4", "--ratios",
               "model=0.5,1", "--no-progress"])
    assert rc == 0
    data = json.loads((out / "stress_model.json").read_text())
    assert data["sound"] is True and data["config"]["causal"] is False
    assert {(r["kind"], r["degree"]) for r in data["records"]} == {
        ("degree", 2), ("degree", 4), ("certified", None)}
    assert (out / "stress_model.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, match", [
    (["--heads", "3"], "heads"),
    (["--layers", "0"], "layers"),
    (["--budget", "polynomial=2"], "fast=DEGREES"),
    (["--ratios", "sweep=1"], "model="),
    (["--ratios", "model=-1"], "ratios"),
    (["--methods", "top-k"], "--methods"),
    (["--n", "1"], "sizes"),
    (["--target", "2"], "target"),
])
def test_cli_bad_arguments(tmp_path, capsys, argv, match):
    rc = main(["stress", "--model", "--out", str(tmp_path), "--quick", "--no-progress", *argv])
    assert rc == 2
    assert match in capsys.readouterr().err
