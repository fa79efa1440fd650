"""Build, save and load reduction instances (the six arrays of Definition 1.2 plus metadata).

A saved instance is one ``.npz`` file (no pickles) holding A1, A2, A3, E, X, Y
and ``meta``, a JSON record: format, attngrad version, source (kind, parameters,
seed, SHA-256 of the source), the reduction's parameters, the bounds the
instance actually attains, the lambda schedule, ground truth where known, and
the SHA-256 of the six arrays. :func:`load` recomputes the hash and refuses a
truncated or altered file with a ValueError that says so.
"""
from __future__ import annotations

import hashlib
import json
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .cnf import CNF, random_kcnf
from .ov import OV, cnf_to_ov, random_ov
from .reduction import GradientInstance, attained_bounds, attention_to_gradient, ov_to_attention

FORMAT = "attngrad.hard/1"
NAMES = GradientInstance.NAMES


def arrays_sha256(arrays: dict) -> str:
    h = hashlib.sha256()
    for k in NAMES:
        a = np.ascontiguousarray(arrays[k], dtype=np.float64)
        h.update(k.encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def from_ov(ov: OV, *, shape: str = "E.2", source: dict | None = None) -> GradientInstance:
    """OV -> attention -> gradient instance, with the metadata record filled in."""
    import attngrad
    from .decoder import plan

    att = ov_to_attention(ov, shape=shape)
    inst = attention_to_gradient(att)
    pairs = ov.orthogonal_pairs()
    truth = {"satisfiable": bool(pairs), "method": "brute force over the OV instance",
             "orthogonal_pair": list(pairs[0]) if pairs else None}
    if pairs and (ov.first_half or ov.second_half):
        truth["assignment"] = ov.assignment(*pairs[0])
    b = plan(inst)
    inst.meta.update({
        "format": FORMAT,
        "attngrad_version": attngrad.__version__,
        "source": dict(source or ov.meta),
        "ov": {"size_A": int(ov.A.shape[0]), "size_B": int(ov.B.shape[0]), "dim": ov.dim,
               "first_half": ov.first_half, "second_half": ov.second_half},
        "attained": attained_bounds(att),
        "schedule": {"X": "lambda * X, lambda in [0, 1]",
                     "rule": "gauss-legendre on [0, 1], m and m + 1 points, plus lambda = 0",
                     "points": b["points"], "eps_allowed": b["eps_allowed"]},
        "ground_truth": truth,
    })
    inst.meta["arrays_sha256"] = arrays_sha256(inst.arrays())
    return inst


def from_cnf(cnf: CNF, *, shape: str = "E.2", source: dict | None = None) -> GradientInstance:
    src = {"kind": "cnf", "num_vars": cnf.num_vars, "num_clauses": cnf.num_clauses,
           "sha256": cnf.sha256()}
    src.update(source or {})
    return from_ov(cnf_to_ov(cnf), shape=shape, source=src)


def reduction_instance(num_vars: int, seed: int, *, k: int = 3, num_clauses: int | None = None,
                       planted: bool = False, shape: str = "E.2"):
    """A reduction instance from a seeded random k-CNF: (arrays, meta).

    arrays: dict with the six float64 arrays A1, A2, A3, E, X, Y of Definition 1.2
    (N = 2 * 2^ceil(num_vars/2) rows; X is the direction, the hard inputs are
    lambda X for lambda in [0, 1]); meta: the JSON-serialisable metadata record.
    num_clauses defaults to round(4.3 num_vars) (the 3-SAT threshold ratio).
    """
    m = round(4.3 * num_vars) if num_clauses is None else num_clauses
    cnf = random_kcnf(k, num_vars, m, seed=seed, planted=planted)
    inst = from_cnf(cnf, shape=shape, source={"generator": "random_kcnf", "k": k, "seed": seed,
                                              "planted": planted})
    return inst.arrays(), inst.meta


def ov_instance(n: int, dim: int, seed: int, *, planted: bool = False, shape: str = "E.2"):
    """As reduction_instance, from a random OV instance with n vectors per side."""
    ov = random_ov(n, dim, seed=seed, planted=planted)
    src = {"kind": "ov", "n": n, "dim": dim, "seed": seed, "planted": planted,
           "sha256": hashlib.sha256(ov.A.tobytes() + ov.B.tobytes()).hexdigest()}
    inst = from_ov(ov, shape=shape, source=src)
    return inst.arrays(), inst.meta


def save(inst: GradientInstance, path) -> Path:
    path = Path(path)
    meta = json.dumps(inst.meta, sort_keys=True)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, meta=np.array(meta), **inst.arrays())
    return path


def load(path) -> GradientInstance:
    """Load and validate a saved instance; ValueError on a truncated, altered or foreign file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            arrays = {k: np.asarray(z[k], dtype=np.float64) for k in NAMES if k in files}
            meta = json.loads(str(z["meta"])) if "meta" in files else None
    except (zipfile.BadZipFile, EOFError, OSError, json.JSONDecodeError, zlib.error,
            ValueError) as exc:
        raise ValueError(f"{path}: truncated or corrupt instance file ({type(exc).__name__}: {exc})") from None
    missing = [k for k in NAMES if k not in arrays] + ([] if meta is not None else ["meta"])
    if missing or not isinstance(meta, dict):
        raise ValueError(f"{path}: not an attngrad instance (missing {missing or ['meta record']})")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown format {meta.get('format')!r}, expected {FORMAT!r}")
    if arrays_sha256(arrays) != meta.get("arrays_sha256"):
        raise ValueError(f"{path}: the arrays do not match the recorded SHA-256 (file altered)")
    N, d = arrays["A1"].shape
    for k, shp in (("A2", (N, d)), ("A3", (N, d)), ("E", (N, d)), ("X", (d, d)), ("Y", (d, d))):
        if arrays[k].shape != shp:
            raise ValueError(f"{path}: {k} has shape {arrays[k].shape}, expected {shp}")
    return GradientInstance(**arrays, meta=meta)


def summary(inst: GradientInstance) -> str:
    """A short human-readable summary of the metadata."""
    r, a = inst.meta["reduction"], inst.meta["attained"]
    lnN = math.log(r["N"])
    return (f"N = {r['N']} tokens (n = {r['n']}), d = {r['d']}, OV dim = {r['dim']}, shape {r['shape']}; "
            f"|Q|,|K| <= {a['max_abs_QK']:g} = {a['max_abs_QK_over_sqrt_lnN']:.3g} sqrt(ln N); "
            f"scores in [{a['score_min']:g}, {a['score_max']:g}] ({a['score_max'] / lnN ** 2:.3g} ln^2 N); "
            f"row fraction at max >= {a['min_row_fraction_at_score_max']:.3g}; "
            f"Def 1.4 entry bound {inst.meta['definition_1_4']['B_entry']:g}")
