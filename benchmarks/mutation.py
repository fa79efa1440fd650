"""Mutation testing of attngrad with mutmut (3.8.x): how many small faults planted in each
module the tests catch.

For each module this makes a temporary copy of the project (the files git tracks, plus
untracked ones it does not ignore), writes mutmut's configuration into the copy's
pyproject.toml (that module alone mutated, the module's fast test subset below), runs
``mutmut run --max-children JOBS`` there and reads ``mutmut results --all true`` back into a
table. The checkout it is run from is never written to.

What makes the run repeatable and meaningful:

* ``process_isolation = "forkserver"``: each mutant's tests run in a process forked from a
  server that never ran the suite. With mutmut's default (fork from the process that
  collected the stats) the workers inherit the lru_caches filled by the clean run
  (poly.exp_poly, the certificates), and a mutant of a cached function is never executed.
* CI=1: tests/profiles.py then derandomizes hypothesis (the same examples for every
  mutant). The copy's addopts lose ``-n auto``: pytest runs in one process (``-p no:xdist``),
  mutmut parallelises over mutants (--jobs).
* benchmarks/mutation_cache_reset.py (a pytest plugin) empties attngrad's lru_caches before
  every test, so that mutmut ties each test to every function it uses (a cached result would
  hide the call, and the mutants of that function would skip the test).
* mutmut's own forced-fail check (a run with every trampoline set to fail must fail) shows
  that the tests import the mutated copy and not an installed attngrad; a module whose
  mutants are nearly all survivors is reported as suspect as well.

Usage (from the repository root, with mutmut 3.8 installed next to the test dependencies):

    python benchmarks/mutation.py                       # every module, one worker (hours)
    python benchmarks/mutation.py --modules fast --max-minutes 30 --timeout-multiplier 5
    python benchmarks/mutation.py --modules poly kron --jobs 2
    python benchmarks/mutation.py --modules poly --mutants 'attngrad.poly.x_grid_radius__mutmut_3'
    python benchmarks/mutation.py --list

The per-module table is printed (Markdown) and, with --out DIR, written there together
with each survivor's diff (``mutmut show``).
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Module:
    mutate: list          # only_mutate globs (paths relative to the repository root)
    tests: list           # pytest arguments: the module's fast test subset
    sources: list = field(default_factory=lambda: ["attngrad"])   # mutmut's source_paths


# test_blocked's two memory measurements take 20 s of its 25: left out (the tiling they
# watch is pinned by the tests of the blocks' shapes)
NO_MEMORY = ["-k", "not test_memory_is_o_nd_plus_tile and not test_memory_of_the_other_functions"]
# test_hard without its SAT-solver comparisons (35 s of its 85) and without the tests that run
# the CLI in a subprocess: the child process imports the mutated copy from another working
# directory, where mutmut's trampolines cannot find their configuration, so the clean run
# fails as soon as a module the CLI uses (reduction.py, ov.py) is mutated
HARD_FAST = ["-k", "dimacs_round_trip or dimacs_errors or generators_are_seeded or split_and_list"
             " or attention_instance_shape or gradient_instance_is or oracle_within"
             " or wrong_oracle or broken_oracle or paper_parameters or budget_is_printed"
             " or save_load or memory_estimate or hard_pins"]
# ... with the SAT-solver comparisons, the decoder's own check
# (and the GPU path of decide on the CuPy stand-in)
HARD_DECODER = [HARD_FAST[0], HARD_FAST[1] + " or decoder_agrees or f_derivatives or gpu_path"]

# The fast subsets: the test files that exercise the module directly, in the quick
# hypothesis profile (derandomized). Each is part of the README's test command.
MODULES = {
    "formulas": Module(["attngrad/formulas.py"],
                       ["tests/test_kron.py", "tests/test_invariances.py",
                        "tests/test_number_systems.py", "tests/test_opcount.py",
                        "tests/test_accuracy.py", "tests/test_oracle.py",
                        "tests/test_finite_differences.py", "tests/test_blocked.py",
                        "tests/test_bad_input.py::test_bad_scale", *NO_MEMORY]),
    "kron": Module(["attngrad/kron.py"], ["tests/test_kron.py", "tests/test_accuracy.py"]),
    "blocked": Module(["attngrad/blocked.py"], ["tests/test_blocked.py", *NO_MEMORY]),
    "poly": Module(["attngrad/poly.py"],
                   ["tests/test_poly.py", "tests/test_fast_degree.py",
                    "tests/test_fast.py::test_poly_certificate_covers_samples",
                    "tests/test_fast_certificate.py"]),
    "fast": Module(["attngrad/fast/certificate.py", "attngrad/fast/rounding.py",
                    "attngrad/fast/degree.py", "attngrad/fast/features.py"],
                   ["tests/test_fast_certificate.py", "tests/test_fast_certificate_terms.py",
                    "tests/test_fast_degree.py", "tests/test_fast.py", "tests/test_poly.py",
                    "tests/test_cupy_standin.py::test_fast_float32_on_the_device_is_refused_not_certified",
                    # 9 s of test_fast's 20: the same checks as its float64 case
                    "-k", "not test_public_attention_fast_within_eps"]),
    # the two smaller files of "fast" alone (284 mutants of its 1987)
    "fast-small": Module(["attngrad/fast/rounding.py", "attngrad/fast/features.py"],
                         ["tests/test_fast_certificate.py", "tests/test_fast_certificate_terms.py",
                          "tests/test_fast_degree.py", "tests/test_fast.py", "-k",
                          "not test_public_attention_fast_within_eps"]),
    "fast-rest": Module(["attngrad/fast/api.py", "attngrad/fast/contractions.py",
                         "attngrad/fast/instance.py"],
                        ["tests/test_fast.py", "tests/test_fast_degree.py",
                         "tests/test_fast_parts.py"]),
    "hard": Module(["attngrad/hard/bounds.py"],
                   ["tests/test_hard.py", "tests/test_hard_pins.py", *HARD_FAST]),
    "hard-rest": Module(["attngrad/hard/cnf.py", "attngrad/hard/decoder.py",
                         "attngrad/hard/instances.py", "attngrad/hard/memory.py",
                         "attngrad/hard/ov.py", "attngrad/hard/reduction.py"],
                        ["tests/test_hard.py", "tests/test_hard_pins.py", *HARD_DECODER]),
    # the derivations of both papers (every step's two sides), against each statement's
    # verdict as the README's pytest runs it (the slow statements skipped); use --sample:
    # 17525 mutants, each judged by its statement's evaluation
    "derivations": Module(["derivations/s[1-9A-E]*.py", "derivations/lss24_*.py"],
                          ["proofs_check/test_statements.py"], sources=["attngrad", "derivations"]),
}

STATUSES = ("killed", "survived", "timeout", "suspicious", "no tests", "skipped",
            "segfault", "not checked")


def project_files(root):
    """The files of the checkout: tracked, plus untracked ones git does not ignore."""
    try:
        out = subprocess.run(["git", "-C", str(root), "ls-files", "-co", "--exclude-standard",
                              "-z"], check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", "mutants", "__pycache__", ".hypothesis", ".pytest_cache"}
        return [p.relative_to(root) for p in root.rglob("*")
                if p.is_file() and not skip & set(p.relative_to(root).parts)]
    return [Path(p) for p in out.decode().split("\0") if p]


def toml_list(xs):
    return "[" + ", ".join(json.dumps(str(x)) for x in xs) + "]"


def make_copy(module, dest, timeout_multiplier=None):
    for rel in project_files(ROOT):
        src = ROOT / rel
        if not src.is_file():   # deleted in the work tree but still tracked
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    py = dest / "pyproject.toml"
    text = py.read_text()
    # one pytest process per mutant: mutmut itself runs the mutants in parallel
    text, n = re.subn(r'(?m)^addopts = .*$', 'addopts = "-ra -p no:xdist"', text)
    if n != 1:
        raise SystemExit("pyproject.toml: expected one addopts line")
    # a test file named in a subset but absent from this checkout (an older one) is left out;
    # options (-k and its expression) are kept
    module.tests = [t for t in module.tests
                    if not t.startswith("tests/") or (dest / t.split("::")[0]).exists()]
    # the plugin that empties the caches before each test, importable from mutants/
    shutil.copy2(ROOT / "benchmarks" / "mutation_cache_reset.py", dest / "mutation_cache_reset.py")
    also = [p for p in ("conftest.py", "derivations", "proofs_check", "README.md", "ERRATA.md",
                        "mutation_cache_reset.py") if (dest / p).exists()]
    text += f"""
[tool.mutmut]
source_paths = {toml_list(module.sources)}
only_mutate = {toml_list(module.mutate)}
also_copy = {toml_list(also)}
pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "mutation_cache_reset"]
pytest_add_cli_args_test_selection = {toml_list(module.tests)}
process_isolation = "forkserver"
use_git_change_detection = false
"""
    if timeout_multiplier:
        text += f"timeout_multiplier = {float(timeout_multiplier)}\n"
    py.write_text(text)


def run_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS"))}
    env.update(CI="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONDONTWRITEBYTECODE="1")
    return env


def mutmut_cmd():
    exe = Path(sys.executable).with_name("mutmut")
    return [str(exe)] if exe.exists() else ["mutmut"]


def parse_results(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s+(\S+): (.+)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def draw_sample(work, env, size, seed):
    """A uniform random sample of ``size`` of the module's mutants (seeded), split into those
    some test of the subset reaches and those none reaches ("no tests").

    mutmut generates every mutant and runs the clean tests for its statistics first; a run
    filtered for a name that matches nothing stops right after (an assertion), leaving the
    mutants and the statistics for ``mutmut results`` and the sampled run to reuse."""
    with open(work / "mutmut-run.log", "w") as fh:
        subprocess.run(mutmut_cmd() + ["run", "--max-children", "1", "no-such-mutant"], cwd=work,
                       env=env, stdout=fh, stderr=subprocess.STDOUT)
    res = subprocess.run(mutmut_cmd() + ["results", "--all", "true"], cwd=work, env=env,
                         capture_output=True, text=True)
    names = sorted(parse_results(res.stdout))
    if not names:
        raise SystemExit(f"mutmut generated no mutants:\n{(work / 'mutmut-run.log').read_text()}")
    stats = json.loads((work / "mutants" / "mutmut-stats.json").read_text())
    reached = {k for k, v in stats["tests_by_mangled_function_name"].items() if v}
    picked = random.Random(seed).sample(names, min(size, len(names)))
    tested = sorted(k for k in picked if k.partition("__mutmut_")[0] in reached)
    return tested, sorted(set(picked) - set(tested)), len(names)


def run_module(name, module, jobs, mutants, out_dir, keep, max_minutes=None,
               timeout_multiplier=None, sample=None, seed=0):
    work = Path(tempfile.mkdtemp(prefix=f"attngrad-mut-{name}-"))
    env = run_env()
    started = time.monotonic()
    try:
        make_copy(module, work, timeout_multiplier)
        # PYTHONPATH must not lead to the checkout: the tests have to import mutants/
        env.pop("PYTHONPATH", None)
        logf = work / "mutmut-run.log"
        untested, population = [], None
        if sample:
            mutants, untested, population = draw_sample(work, env, sample, seed)
            if not mutants:   # mutmut run without names would run every mutant
                raise SystemExit(f"[{name}] no test of the subset reaches the sampled mutants")
        with open(logf, "a") as fh:
            proc = subprocess.Popen(mutmut_cmd() + ["run", "--max-children", str(jobs), *mutants],
                                    cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                proc.wait(timeout=max_minutes * 60 if max_minutes else None)
            except subprocess.TimeoutExpired:   # stop the run (its own process group); the
                os.killpg(proc.pid, signal.SIGTERM)  # mutants not reached stay "not checked"
                proc.wait()
        log = logf.read_text(errors="replace")
        res = subprocess.run(mutmut_cmd() + ["results", "--all", "true"], cwd=work, env=env,
                             capture_output=True, text=True)
        status = parse_results(res.stdout)
        if mutants:   # names or mutmut's patterns (fnmatch)
            status = {k: v for k, v in status.items()
                      if any(fnmatch.fnmatchcase(k, pat) for pat in mutants)}
        status.update({k: "no tests" for k in untested})
        survivors = sorted(k for k, v in status.items() if v not in ("killed", "not checked"))
        diffs = {}
        for k in survivors:
            show = subprocess.run(mutmut_cmd() + ["show", k], cwd=work, env=env,
                                  capture_output=True, text=True)
            diffs[k] = show.stdout
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / f"{name}.log").write_text(log)
            (out_dir / f"{name}.json").write_text(json.dumps(
                {"module": name, "mutate": module.mutate, "tests": module.tests,
                 "sample": sample, "seed": seed, "population": population,
                 "returncode": proc.returncode, "status": status}, indent=1, sort_keys=True))
            (out_dir / f"{name}.survivors.diff").write_text("".join(diffs[k] + "\n"
                                                                    for k in survivors))
    finally:
        if keep:
            print(f"[{name}] copy kept at {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    counts = {s: 0 for s in STATUSES}
    for v in status.values():
        counts[v if v in counts else "suspicious"] += 1
    stopped = proc.returncode == -signal.SIGTERM
    ok = (proc.returncode == 0 or stopped) and "Unable to force test failures" not in log
    if not status or not ok:
        print(f"[{name}] mutmut failed (exit {proc.returncode}):\n{log[-3000:]}",
              file=sys.stderr)
    elif counts["killed"] < 0.2 * (len(status) - counts["not checked"]):
        print(f"[{name}] warning: only {counts['killed']} of the mutants checked killed: "
              "are the tests importing the mutated copy?", file=sys.stderr)
    return {"module": name, "generated": len(status), "population": population,
            "counts": counts,
            "survivors": survivors, "diffs": diffs, "ok": ok,
            "seconds": time.monotonic() - started}


def wilson(k, n, z=1.96):
    """Wilson's 95% interval for a proportion k / n (the module's score from a sample)."""
    if not n:
        return 0.0, 1.0
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


def table(rows):
    head = ("| module | generated | killed | survived | timeout | suspicious | no tests | "
            "not checked | score | time |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        c, g = r["counts"], r["generated"]
        done = g - c["not checked"]   # the score of the mutants checked
        score = f"{100 * c['killed'] / done:.1f}%" if done else "-"
        module = r["module"]
        if r.get("population"):   # a sample: the score estimates the module's
            lo, hi = wilson(c["killed"], done)
            score += f" [{100 * lo:.1f}, {100 * hi:.1f}]"
            module += f" (sample of {r['population']})"
        lines.append(f"| {module} | {g} | {c['killed']} | {c['survived']} | {c['timeout']} "
                     f"| {c['suspicious'] + c['segfault']} | {c['no tests']} "
                     f"| {c['not checked']} | {score} | {r['seconds'] / 60:.1f} min |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modules", nargs="+", default=list(MODULES), choices=list(MODULES))
    ap.add_argument("--jobs", type=int, default=1, help="mutmut --max-children (default 1)")
    ap.add_argument("--mutants", nargs="+", default=[],
                    help="run only these mutants (names as mutmut prints them)")
    ap.add_argument("--max-minutes", type=float,
                    help="stop a module's run after this long (the rest: not checked)")
    ap.add_argument("--timeout-multiplier", type=float,
                    help="mutmut's timeout_multiplier (its default: 15 times the clean "
                         "tests' time)")
    ap.add_argument("--sample", type=int,
                    help="run a uniform random sample of this many of each module's mutants "
                         "(the score then estimates the module's; its 95%% interval is printed)")
    ap.add_argument("--seed", type=int, default=0, help="the sample's seed (default 0)")
    ap.add_argument("--out", type=Path, help="write logs, results and survivor diffs here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copies")
    ap.add_argument("--list", action="store_true", help="print the modules and test subsets")
    args = ap.parse_args(argv)
    if args.list:
        for name, m in MODULES.items():
            print(f"{name}: mutate {' '.join(m.mutate)}; tests {' '.join(m.tests)}")
        return 0
    rows = []
    for name in args.modules:
        mutants = [k for k in args.mutants if any(
            fnmatch.fnmatchcase(k, p.removesuffix(".py").replace("/", ".") + ".*")
            for p in MODULES[name].mutate)]
        if args.mutants and not mutants:
            continue
        r = run_module(name, MODULES[name], args.jobs, mutants, args.out, args.keep,
                       args.max_minutes, args.timeout_multiplier, args.sample, args.seed)
        rows.append(r)
        print(table([r]).splitlines()[-1], flush=True)
        for k in r["survivors"]:
            print(f"    {k}", flush=True)
    print(table(rows))
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
