"""attngrad: a machine-checked reference for the gradient of attention loss.

Implements and verifies Alman & Song, "The Fine-Grained Complexity of Gradient
Computation for Training Large Language Models" (NeurIPS 2024).
"""
from .api import alpha, attention, c, f, gradient, h, loss, p, p1, p2, q, r, u
from .ball import Enclosure, certify_gradient, enclose, to_ball
from .backend import get_namespace, to_float64, to_mpmath
from .errors import ApproximationError
from .kron import kron, rowwise_kron, unvec, vec

__version__ = "0.1.0"

__all__ = [
    "ApproximationError", "Enclosure", "alpha", "attention", "c", "certify_gradient",
    "enclose", "f", "get_namespace", "gradient", "h", "kron", "loss", "p", "p1", "p2", "q", "r",
    "rowwise_kron", "to_ball", "to_float64", "to_mpmath", "u", "unvec", "vec", "__version__",
]
