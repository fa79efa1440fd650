"""pytest plugin for the mutation runs of benchmarks/mutation.py: empty the lru_caches of
attngrad, derivations and the tests (proofs_check's evaluated statements among them) before
every test.

mutmut ties each test to the functions it runs (its clean run records the calls) and runs a
mutant against those tests only. A result cached by an earlier test hides the call: the test
that checks, say, ExpPoly.abs_sum would not be tied to poly._certify if an earlier test had
certified the same polynomial, and _certify's mutants would skip it. Emptied caches make every
test compute what it uses."""
import sys


def pytest_runtest_setup(item):
    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] in ("attngrad", "derivations", "tests", "proofs_check"):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()
