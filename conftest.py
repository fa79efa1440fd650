"""Shared pytest options: --runslow enables tests marked slow; --thorough runs every property
test at its full number of examples (the hypothesis profile "thorough", tests/profiles.py)
and the slow tests, as CI does; tests marked gpu are skipped unless CuPy imports and sees a
CUDA device. The Python examples of README.md are collected as tests (sybil: a ```python
block runs as a script, one with >>> lines as a doctest; the blocks of the file share one
namespace, in order).

The run is spread over the CPU cores by pytest-xdist (``-n auto`` in pyproject.toml; ``-n 0``
runs in one process): test by test, except tests that must share a process, which go to one
worker together (:func:`shared_process`). Each worker's BLAS runs one thread, since the
workers already take the cores."""
import os

if os.environ.get("PYTEST_XDIST_WORKER"):  # before numpy is imported
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import pytest  # noqa: E402
from sybil import Sybil  # noqa: E402
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser  # noqa: E402

from attngrad.machine import gpu_unavailable  # noqa: E402

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


def shared_process(nodeid):
    """The name of the tests that must run in one process with the test ``nodeid``, or None:
    a Markdown file's blocks (they share one namespace, in order), and in proofs_check the
    tests of one statement (its id is their parameter's: proofs_check/evaluated.py evaluates
    each statement once per process)."""
    path, _, name = nodeid.partition("::")
    if path.endswith(".md"):
        return path
    if path.startswith("proofs_check/") and name.endswith("]"):
        return "statement " + name[name.index("[") + 1:-1]
    return None


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``-n`` with xdist's default ``--dist load``: one test at a time to the first free worker,
    a group of :func:`shared_process` as one unit. (Not xdist's ``loadgroup`` marks: with
    pytest 9.2 they are silently ignored, pytest-dev/pytest-xdist#1386.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedProcessScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return shared_process(nodeid) or nodeid

    return SharedProcessScheduling(config, log)
