"""README.md says what the code does: its counts come from the registry, its tables from the
code, its shell commands parse. (Its Python blocks run as tests themselves: conftest.py.)"""
from __future__ import annotations

import math
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}


def text():
    return " ".join(README.read_text(encoding="utf-8").split())


def blocks(lang):
    return re.findall(rf"^```{lang}\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)


def counts_sentence():
    """The README's sentence on what `attngrad check` runs, from the statement registry (the
    statuses a passing check gives: proofs_check tests that the run agrees)."""
    from derivations import registry
    from derivations.core import STATUSES, passing_status

    sts = registry.statements()
    parts = []
    for paper in registry.PAPERS:
        mine = [s for s in sts if s.paper == paper]
        ours = sum("(ours)" in s.id for s in mine)
        parts.append(f"{len(mine)} of {paper} ({WORDS.get(ours, ours)} of them our own)")
    status = [passing_status(s) for s in sts]
    by = [f"{status.count(k)} {k}" for k in STATUSES if k != "failed" and status.count(k)]
    return (f"It runs {len(sts)} statements, {' and '.join(parts)}: "
            f"{', '.join(by[:-1])} and {by[-1]}.")


def test_statement_counts_match_the_registry():
    want = counts_sentence()
    assert want in text(), f"README.md should say: {want}"


def _close(printed: str, value: float) -> bool:
    """``printed`` is ``value`` rounded to the digits shown ("2.1e6", "26.3", "116648")."""
    mant = printed.split("e")[0]
    exp = int(printed.split("e")[1]) if "e" in printed else 0
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return abs(float(printed) - value) <= 0.5001 * 10.0 ** (exp - decimals)


def test_decoder_budget_table_matches_the_code():
    from attngrad.hard.decoder import budget_for_cnf

    rows = re.findall(r"^\| (\d+) \| (\S+) \| (\d+) \| (E\.2|gap) \| (\S+) \| (\S+) \| (\S+) \| "
                      r"(\S+) = (\S+) ln N \|$", README.read_text(encoding="utf-8"), re.M)
    assert len(rows) == 6
    for v, N, d, shape, m, calls, eps, B, B_lnN in rows:
        b = budget_for_cnf(int(v), round(4.3 * int(v)), shape=shape)
        assert int(d) == b["d"], (v, shape)
        for printed, value in ((N, b["N"]), (m, b["points"]), (calls, b["calls"]), (eps, b["eps"]),
                               (B, b["B_entry"]), (B_lnN, b["B_entry"] / math.log(b["N"]))):
            assert _close(printed, value), (v, shape, printed, value)


def test_exit_status_table_matches_the_code():
    from attngrad.cliutil import EXIT_CODES

    rows = re.findall(r"^\| (\d+) \| ([^|]+?) \|$", README.read_text(encoding="utf-8"), re.M)
    assert [(int(c), w) for c, w in rows] == list(EXIT_CODES)


def test_memory_figure_matches_the_estimate():
    from attngrad.cliutil import format_size
    from attngrad.hard.memory import cnf_bytes

    size = format_size(cnf_bytes(40, round(4.3 * 40), 3))
    assert f"40 variables would need {size.replace('.0 ', ' ')}" in text()


@pytest.mark.parametrize("line", [ln for b in blocks("sh") for ln in b.splitlines()
                                  if ln.startswith("attngrad ")])
def test_shell_commands_parse(line):
    """Every `attngrad ...` line of the README's shell blocks is a valid command line (parsed,
    not run: decide and stress take minutes; tests/test_hard.py and test_stress.py run them)."""
    from attngrad.cli import build_parser

    args = build_parser().parse_args(shlex.split(line, comments=True)[1:])
    assert callable(args.fn)


def test_every_block_is_python_or_shell():
    """A block in another language (or none) would silently escape the two tests above."""
    fences = re.findall(r"^```(\S*)\n", README.read_text(encoding="utf-8"), re.M)
    opening = fences[0::2]  # fences alternate: opening (with the language), closing
    assert opening and set(opening) <= {"python", "sh"} and set(fences[1::2]) == {""}, fences
    assert blocks("python") and blocks("sh")
