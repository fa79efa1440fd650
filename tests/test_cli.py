"""The ``attngrad`` command: errata, check (one fast statement), bench at a tiny size, stress --quick.

generate and decide are tested in tests/test_hard.py, the stress options in tests/test_stress.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_help_lists_every_subcommand_with_its_purpose_and_the_exit_statuses(capsys):
    """`attngrad --help`: plain text (no RST markup), a line per subcommand saying what it is
    for, and the exit statuses of attngrad/cliutil.py."""
    from attngrad import cli, cliutil

    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "`" not in text and "::" not in text
    lines = text.splitlines()
    for sub in ("check", "errata", "generate", "decide", "stress", "bench"):
        line = next((ln for ln in lines if ln.split()[:1] == [sub]), None)
        assert line is not None and len(line.split()) >= 4, (sub, text)
    assert "--write FILE" in text
    for code, what in cliutil.EXIT_CODES:
        assert f"{code:>3}  {what}" in text


def test_errata_help_names_the_file(capsys):
    from attngrad import cli

    with pytest.raises(SystemExit):
        cli.main(["errata", "--help"])
    assert "[--write FILE]" in capsys.readouterr().out


@pytest.mark.parametrize("argv, flag", [
    (["errata", "--write", "{tmp}/missing/E.md"], "--write"),
    (["errata", "--write", "{tmp}"], "--write"),
    (["bench", "--log2-min", "4", "--log2-max", "4", "--out-json", "{tmp}/missing/b.json"],
     "--out-json"),
    (["stress", "--out", "{tmp}/a_file", "--n", "8"], "--out"),
])
def test_file_errors_are_one_line_with_status_5(tmp_path, capsys, argv, flag):
    """Output files are checked before any work: one line naming the option, exit status 5."""
    from attngrad import cli, cliutil

    (tmp_path / "a_file").write_text("")
    assert cli.main([a.format(tmp=tmp_path) for a in argv]) == cliutil.FILE_ERROR == 5
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"attngrad {argv[0]}: {flag} "), err


@pytest.mark.parametrize("text, size", [("4G", 4 * 2 ** 30), ("512MiB", 512 * 2 ** 20),
                                        ("1.5T", 3 * 2 ** 39), ("100", 100), ("2kb", 2048)])
def test_sizes(text, size):
    from attngrad import cliutil

    assert cliutil.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-1G", "4X", "G", "1.2.3M"])
def test_bad_sizes(text):
    import argparse

    from attngrad import cliutil

    with pytest.raises(argparse.ArgumentTypeError):
        cliutil.parse_size(text)


@pytest.mark.parametrize("nbytes, text", [(0, "0 bytes"), (1536, "1.5 KiB"), (2 ** 43, "8.0 TiB"),
                                          (2 ** 61, "2.0 EiB"), (2 ** 135 + 1, "2^135 bytes")])
def test_format_size(nbytes, text):
    from attngrad import cliutil

    assert cliutil.format_size(nbytes) == text


def test_memory_error_and_interrupt_are_one_line(capsys):
    from attngrad import cliutil

    def raises(exc):
        def fn(args):
            raise exc
        return fn

    assert cliutil.run("x", raises(MemoryError()), None) == cliutil.TOO_LARGE
    assert cliutil.run("x", raises(KeyboardInterrupt()), None) == cliutil.INTERRUPTED
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith("attngrad x: ran out of memory")


def test_errata_write_matches_stdout(tmp_path):
    from derivations import registry

    path = tmp_path / "E.md"
    out = run_cli("errata", "--write", str(path))
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    written = path.read_text(encoding="utf-8")
    assert written == registry.errata_markdown() == run_cli("errata").stdout
    assert written.startswith("# Errata")


def test_check_table_names_the_statement_and_its_status():
    out = run_cli("check", "--only", "Fact 3.8", "--no-gpu")
    assert out.returncode == 0, out.stderr
    assert "Fact 3.8" in out.stdout
    assert "1 statement: " in out.stdout and "0 failed" in out.stdout  # singular


def test_bench_at_a_tiny_size(tmp_path, capsys):
    """`attngrad bench` end to end at n = 16, 32: certified error <= bound <= eps in every row,
    the exact path timed up to --exact-max only, and a Markdown table with machine and date."""
    from attngrad import cli

    js, md = tmp_path / "b.json", tmp_path / "b.md"
    rc = cli.main(["bench", "--log2-min", "4", "--log2-max", "5", "--d", "2", "--repeats", "1",
                   "--exact-max", "4", "--slope-from", "4", "--eps", "1e-6",
                   "--out-json", str(js), "--out-md", str(md)])
    assert rc == 0
    doc = json.loads(js.read_text())
    rows = {r["n"]: r for r in doc["rows"]}
    assert set(rows) == {16, 32}
    for r in rows.values():
        assert r["d"] == 2 and r["eps"] == 1e-6
        assert 0 <= r["error"] <= r["bound"] <= 1e-6, r
        assert r["fast_s"] > 0 and r["rank"] == (r["degree"] + 1) * (r["degree"] + 2) // 2
    assert rows[16]["exact_s"] > 0 and rows[16]["reference"] == "exact"
    assert rows[32]["exact_s"] is None and rows[32]["reference"] == "exact (untimed)"
    assert set(doc["slopes"]) == {"2"}
    text = md.read_text()
    assert text.startswith("Machine: ") and "date " in text and "| 2^4 | 2 |" in text
    assert "| 2^5 | 2 | untimed |" in text
    assert "d = 2" in capsys.readouterr().out


def test_stress_quick_preset(tmp_path, monkeypatch):
    """`attngrad stress --quick` uses the README's small sizes (n = 256, 512) and the quick
    grids; the run itself is done here at n = 16 (the preset's full run takes minutes)."""
    import dataclasses

    from attngrad import cli
    from attngrad.stress import harness

    seen = []
    real_run = harness.run

    def tiny_run(config, progress=None):
        seen.append(config)
        return real_run(dataclasses.replace(config, sizes=(16,)), progress=progress)

    monkeypatch.setattr(harness, "run", tiny_run)
    out = tmp_path / "q"
    rc = cli.main(["stress", "--quick", "--out", str(out), "--no-progress", "--no-figure"])
    assert len(seen) == 1
    config = seen[0]
    assert config.sizes == harness.QUICK["sizes"] == (256, 512)
    assert config.d == 16 and config.ratios == harness.QUICK["ratios"]
    assert set(config.methods) == set(harness.BUILTIN)
    data = json.loads((out / "stress.json").read_text())
    assert not (out / "stress.png").exists()
    assert {r["n"] for r in data["records"]} == {16}
    assert {r["method"] for r in data["records"]} >= set(harness.BUILTIN)
    assert rc == (1 if data["claim"]["pass"] is False else 0)
