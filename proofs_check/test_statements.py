"""One test per statement of the paper: the statement's check must pass.

A statement passes unless it is "failed" (derivations/core.py: a printed step fails that no
erratum names, an erratum's printed step holds or fails only by raising, or a corrected step
fails).
"""
import pytest

from derivations import registry
from derivations.core import passing_status

from .evaluated import evaluated

STATEMENTS = registry.statements()


@pytest.mark.parametrize(
    "statement",
    [pytest.param(s, id=s.id, marks=[pytest.mark.slow] if s.slow else []) for s in STATEMENTS])
def test_statement(statement):
    result = statement.judge(evaluated(statement.id))
    assert result.status != "failed", result.report()
    # the status the README counts (derivations.core.passing_status) is the one the run gives,
    # unless a GPU step was skipped and left only steps by construction
    assert result.status == passing_status(statement) or "skipped" in result.note, result.report()
