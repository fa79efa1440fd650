"""Shared pytest options: --runslow enables tests marked slow; --thorough runs every property
test at its full number of examples (the hypothesis profile "thorough", tests/profiles.py)
and the slow tests, as CI does; tests marked gpu are skipped unless CuPy imports and sees a
CUDA device. The Python examples of README.md are collected as tests (sybil: a ```python
block runs as a script, one with >>> lines as a doctest; the blocks of the file share one
namespace, in order)."""
import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

from attngrad.machine import gpu_unavailable

try:
    from tests import profiles
except ImportError:  # no hypothesis: the modules that use it report so, the others run
    profiles = None
else:
    profiles.register()

pytest_collect_file = Sybil(parsers=[PythonCodeBlockParser(), SkipParser()],
                            patterns=["README.md"]).pytest()


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")
    parser.addoption("--thorough", action="store_true",
                     help="the thorough hypothesis profile and the slow tests (what CI runs)")


@pytest.hookimpl(tryfirst=True)  # before hypothesis' own --hypothesis-profile, which then wins
def pytest_configure(config):
    if profiles is not None:
        profiles.load(config.getoption("--thorough"))


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    why = gpu_unavailable() if gpu_items else None
    for item in gpu_items if why else ():
        item.add_marker(pytest.mark.skip(reason=why))
    if config.getoption("--runslow") or config.getoption("--thorough"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow or --thorough")
    for item in items:
        if item.get_closest_marker("slow") is not None:  # the marker, not a parameter id "slow"
            item.add_marker(skip)

