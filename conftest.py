"""Shared pytest options: --runslow enables tests marked slow; tests marked gpu are skipped
unless CuPy imports and sees a CUDA device. The Python examples of README.md are collected as
tests (sybil: a ```python block runs as a script, one with >>> lines as a doctest; the blocks
of the file share one namespace, in order)."""
import os

import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

from attngrad.machine import gpu_unavailable

pytest_collect_file = Sybil(parsers=[PythonCodeBlockParser(), SkipParser()],
                            patterns=["README.md"]).pytest()


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    why = gpu_unavailable() if gpu_items else None
    for item in gpu_items if why else ():
        item.add_marker(pytest.mark.skip(reason=why))
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if item.get_closest_marker("slow") is not None:  # the marker, not a parameter id "slow"
            item.add_marker(skip)


# CI runs the same hypothesis examples every time (derandomized), so a landing does not hinge on
# a random draw; local runs keep searching new examples (and pin what they find with @example).
if os.environ.get("CI"):
    from hypothesis import settings as _hyp_settings

    _hyp_settings.register_profile("ci", derandomize=True)
    _hyp_settings.load_profile("ci")
