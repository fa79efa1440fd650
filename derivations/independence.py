"""Are a step's two sides computed independently?

A checked step is evidence only if its two sides come from different computations: a step
that compares an array with itself, or an expression with a copy of the same expression,
holds whatever the library or the paper says. Two detectors:

* :func:`same_expression` (static): the step's compute function, and the functions it
  closes over (a lambda handed to a helper such as ``_each(lambda ch: (lhs, rhs))``), are
  parsed; every pair it returns -- ``(lhs, rhs)``, ``(label, lhs, rhs)`` in a return, an
  ``append``, a list or a comprehension -- whose two sides are the same syntax tree is
  reported.
* :func:`same_object` (dynamic, on computed sides): a case whose two sides are the same
  Python object, numpy arrays sharing memory, or object arrays whose numbers are the very
  same objects entry by entry (a copy, not a recomputation) is reported.

Steps whose basis is "by construction" or "cited" are not evidence and are exempt; a step
an erratum refutes is evidence by failing and is exempt too.
"""
from __future__ import annotations

import ast
import types
from functools import lru_cache

import mpmath
import numpy as np
import sympy

from .core import cases_of

_MAX_DEPTH = 3


@lru_cache(maxsize=None)
def _module_tree(filename: str):
    with open(filename, encoding="utf-8") as fh:
        return ast.parse(fh.read(), filename)


def _function_node(fn):
    """The ast node (FunctionDef or Lambda) of a Python function defined in a file."""
    code = fn.__code__
    try:
        tree = _module_tree(code.co_filename)
    except (OSError, SyntaxError):
        return None
    first = code.co_firstlineno
    kinds = (ast.Lambda,) if fn.__name__ == "<lambda>" else (ast.FunctionDef,)
    nodes = [n for n in ast.walk(tree) if isinstance(n, kinds) and n.lineno == first
             and (isinstance(n, ast.Lambda) or n.name == fn.__name__)]
    if len(nodes) > 1:  # several lambdas on one line: the one that holds the code's positions
        pos = [(p[0], p[2]) for p in code.co_positions() if p[0] is not None and p[2] is not None]

        def inside(n):
            return sum((n.lineno, n.col_offset) <= q <= (n.end_lineno, n.end_col_offset)
                       for q in pos)
        best = max(inside(n) for n in nodes)
        nodes = [n for n in nodes if inside(n) == best]
    return nodes[0] if len(nodes) == 1 else None


def _pairs(node):
    """(lhs, rhs) syntax trees of the pairs a function returns or collects."""
    out = []

    def pair_of(t):
        if isinstance(t, ast.Tuple) and len(t.elts) in (2, 3):
            out.append(tuple(t.elts[-2:]))

    if isinstance(node, ast.Lambda):
        pair_of(node.body)
    for sub in ast.walk(node):
        if isinstance(sub, ast.Return) and sub.value is not None:
            pair_of(sub.value)
            if isinstance(sub.value, ast.List):
                for e in sub.value.elts:
                    pair_of(e)
        elif isinstance(sub, (ast.ListComp, ast.GeneratorExp)):
            pair_of(sub.elt)
        elif (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)
              and sub.func.attr in ("append", "extend") and sub.args):
            pair_of(sub.args[0])
            if isinstance(sub.args[0], ast.List):
                for e in sub.args[0].elts:
                    pair_of(e)
    return out


def _functions(fn, depth=0, seen=None):
    """fn and the project functions it closes over (lambdas handed to helpers)."""
    seen = set() if seen is None else seen
    if not isinstance(fn, types.FunctionType) or id(fn) in seen or depth > _MAX_DEPTH:
        return []
    seen.add(id(fn))
    out = [fn]
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        out += _functions(value, depth + 1, seen)
    return out


def _dump(node):
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def same_expression(step) -> list:
    """Reasons (empty if none) why the step's two sides are the same expression."""
    if step.compute is None:
        return []
    reasons = []
    for fn in _functions(step.compute):
        node = _function_node(fn)
        if node is None:
            continue
        for lhs, rhs in _pairs(node):
            if _dump(lhs) == _dump(rhs):
                text = ast.unparse(lhs)
                reasons.append(f"both sides are the expression {text!r} "
                               f"({fn.__code__.co_filename.split('/')[-1]}:{lhs.lineno})")
    return reasons


_NUMBERS = (float, mpmath.mpf, mpmath.mpc)


# Values Python or SymPy may hand out as one shared object however they were computed (small
# ints, strings, hash-consed SymPy expressions): identity says nothing about how they were made.
_SHARED_ANYWAY = (int, str, bool, type(None), sympy.Basic)


def _shared(lhs, rhs) -> str:
    if lhs is rhs and not isinstance(lhs, _SHARED_ANYWAY):
        return "the two sides are the same object"
    if isinstance(lhs, np.ndarray) and isinstance(rhs, np.ndarray):
        if lhs.dtype != object and rhs.dtype != object and lhs.size and np.shares_memory(lhs, rhs):
            return "the two sides share memory"
        if lhs.dtype == object and rhs.dtype == object and lhs.shape == rhs.shape and lhs.size:
            a, b = lhs.reshape(-1).tolist(), rhs.reshape(-1).tolist()
            numbers = [(x, y) for x, y in zip(a, b) if isinstance(x, _NUMBERS) or _is_ball(x)]
            if numbers and len(numbers) == len(a) and all(x is y for x, y in numbers):
                return "every entry of the two sides is the same object (a copy)"
    if isinstance(lhs, (list, tuple)) and isinstance(rhs, (list, tuple)) and lhs and len(lhs) == len(rhs):
        if all(x is y and isinstance(x, _NUMBERS + (np.ndarray,)) for x, y in zip(lhs, rhs)):
            return "every entry of the two sides is the same object"
    return ""


def _is_ball(x):
    t = type(x)
    return t.__module__.split(".")[0] == "flint"


def same_object(computed) -> list:
    """Reasons (empty if none) why computed sides were not computed independently."""
    kind, out, _ = computed
    if kind != "ok":
        return []
    reasons = []
    for label, lhs, rhs in cases_of(out):
        why = _shared(lhs, rhs)
        if why:
            reasons.append((f"case {label}: " if label else "") + why)
    return reasons


def exempt(statement, step) -> bool:
    """Steps that need not be evidence: by construction, cited, or refuted by an erratum."""
    refuted = {e.step for e in statement.errata}
    return step.basis != "checked" or (step in statement.steps and step.name in refuted)


def issues(statement, evaluated=None) -> dict:
    """{step name: reasons} over the statement's checked steps; ``evaluated`` (from
    Statement.evaluate) adds the dynamic check. Corrected-chain names carry "corrected:"."""
    out = {}
    chains = [("", statement.steps), ("corrected:", statement.corrected)]
    for k, (prefix, steps) in enumerate(chains):
        for i, step in enumerate(steps):
            if exempt(statement, step):
                continue
            reasons = same_expression(step)
            if evaluated is not None:
                reasons += same_object(evaluated[k][i])
            if reasons:
                out[prefix + step.name] = reasons
    return out

