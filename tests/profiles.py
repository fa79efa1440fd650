"""Hypothesis profiles: "quick" for the default run, "thorough" for `pytest --thorough` (CI).

Every property test runs in both, with fewer examples in the quick one. A test that sets its
own number writes the thorough number through :func:`examples`,
``@settings(max_examples=examples(60))``, which scales it to the active profile (15 in the
quick one); a test that sets none gets the profile's own max_examples.
Under the environment variable CI both are derandomized: a landing does not hinge on a random
draw, while local runs keep searching new examples (and pin what they find with @example).
"""
import math
import os

from hypothesis import settings

THOROUGH = 100  # hypothesis's default: what every test ran before the quick profile
QUICK = 25


def register():
    derandomize = bool(os.environ.get("CI"))
    settings.register_profile("quick", max_examples=QUICK, derandomize=derandomize)
    settings.register_profile("thorough", max_examples=THOROUGH, derandomize=derandomize)


def load(thorough):
    settings.load_profile("thorough" if thorough else "quick")


def examples(thorough):
    """max_examples for a test that runs ``thorough`` examples in the thorough profile, scaled
    to the active profile (at least 1)."""
    return max(1, math.ceil(thorough * settings().max_examples / THOROUGH))
