"""One test per statement of the paper: the statement's check must pass.

A statement passes when it is "verified" (every printed step holds) or
"corrected" (the printed steps fail exactly where its errata say, and the
corrected chain holds).
"""
import pytest

from derivations import registry

STATEMENTS = registry.statements()


@pytest.mark.parametrize(
    "statement",
    [pytest.param(s, id=s.id, marks=[pytest.mark.slow] if s.slow else []) for s in STATEMENTS])
def test_statement(statement):
    result = statement.run()
    assert result.status in ("verified", "corrected"), result.report()
