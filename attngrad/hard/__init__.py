"""The SETH reduction of Appendix E, executable: CNF -> OV -> attention -> gradient -> decision.

* :mod:`.cnf`        CNF formulas (DIMACS, seeded generators, cnfgen, pycosat)
* :mod:`.ov`         CNF -> Orthogonal Vectors by split-and-list
* :mod:`.reduction`  OV -> attention (Lemma E.2's shape) -> gradient instance (Theorem E.5)
* :mod:`.decoder`    decide OV from a gradient oracle alone, with a printed error budget
* :mod:`.instances`  build / save / load instances with their metadata record
"""
from .cnf import CNF, from_cnfgen, parse_dimacs, pigeonhole, random_kcnf, read_dimacs, solve
from .decoder import Decision, OracleError, decide, exact_oracle, plan
from .instances import from_cnf, from_ov, load, ov_instance, reduction_instance, save
from .ov import OV, cnf_to_ov, random_ov
from .reduction import (AttentionInstance, GradientInstance, attained_bounds,
                        attention_to_gradient, ov_to_attention)


def decide_cnf(cnf, oracle=None, *, shape="E.2", **options) -> Decision:
    """CNF -> ... -> decoder: the whole chain (SAT iff the decision is "SAT")."""
    return decide(from_cnf(cnf, shape=shape), oracle, **options)


__all__ = ["CNF", "OV", "AttentionInstance", "Decision", "GradientInstance", "OracleError",
           "attained_bounds", "attention_to_gradient", "cnf_to_ov", "decide", "decide_cnf",
           "exact_oracle", "from_cnf", "from_cnfgen", "from_ov", "load", "ov_instance",
           "ov_to_attention", "parse_dimacs", "pigeonhole", "plan", "random_kcnf", "random_ov",
           "read_dimacs", "reduction_instance", "save", "solve"]
