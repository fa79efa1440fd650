"""The ``attngrad`` command: errata and check --json (one fast statement)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*argv):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return subprocess.run([sys.executable, "-m", "attngrad.cli", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_errata_runs():
    out = run_cli("errata")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# Errata")


def test_check_json_has_lemmas_and_errata():
    out = run_cli("check", "--json", "--only", "Fact 3.8")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report) >= {"lemmas", "errata"}
    assert [lem["id"] for lem in report["lemmas"]] == ["Fact 3.8"]
    assert report["lemmas"][0]["status"] in ("verified", "corrected")
    assert isinstance(report["errata"], list)


def test_check_unknown_id_exits_2():
    out = run_cli("check", "--json", "--only", "Lemma Z.99")
    assert out.returncode == 2
    assert "Lemma Z.99" in out.stderr


def test_in_process_main(capsys):
    from attngrad import cli

    assert cli.main(["check", "--json", "--only", "Fact 3.8"]) == 0
    assert json.loads(capsys.readouterr().out)["lemmas"][0]["id"] == "Fact 3.8"
