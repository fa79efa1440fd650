"""Stress testing of fast gradient approximations against easy and hard instances.

The paper predicts a threshold at entry size B ~ sqrt(log n) (Theorems 1.5, 1.6):
below it a low-rank polynomial approximation is accurate in almost-linear time,
above it no truly sub-quadratic algorithm is (under SETH). ``attngrad stress``
measures where each approximation breaks.

* :mod:`.approximators` -- random features, truncated SVD, top-k, polynomial method,
  each with attngrad.gradient's signature;
* :mod:`.families` -- easy, sweep, planted-pair and reduction instances;
* :mod:`.harness` -- :func:`run` over (method, family, n, B, budget) and the summaries;
* :mod:`.plot` -- the figure; :mod:`.cli` -- the ``attngrad stress`` command.
"""
from .approximators import (polynomial_gradient, random_features_gradient, svd_gradient,
                            topk_gradient)
from .harness import StressConfig, run
from .cli import register, write

__all__ = ["StressConfig", "polynomial_gradient", "random_features_gradient", "register", "run",
           "svd_gradient", "topk_gradient", "write"]
