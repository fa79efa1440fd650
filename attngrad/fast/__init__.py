"""Section D: the almost-linear-time gradient and forward pass, with a certified error.

The fast path in rooms with one job each:

* :mod:`.features`      Lemma D.1's monomial features (graded by degree);
* :mod:`.contractions`  the low-rank products of Lemmas D.2 to D.5, Theorem D.6 and
                        Lemma D.7 (ours), and the forward pass, by blocks of rows;
* :mod:`.instance`      the O(n d) magnitudes and the score interval the certificate uses;
* :mod:`.rounding`      the floating-point model and how the bound itself is evaluated;
* :mod:`.certificate`   the bound (Lemmas D.8, D.9, D.11, D.12 and Theorem D.10, ours): it
                        follows the data and is proven step by step in derivations/;
* :mod:`.degree`        degree selection: the lowest degree whose bound meets eps;
* :mod:`.api`           the entry points below.

The construction (with the corrections recorded in derivations/sD_fast.py): the scores are
S_ij = <q_i, k_j>, q_i = s (A1 X)_i, k_j = (A2)_j, s = 1/d. A polynomial P approximating exp on
the scores' interval [lo, hi] gives P(<q, k>) = sum_alpha a_{|alpha|} multinom(alpha) q^alpha
k^alpha, so exp(S) ~ U0 V0^T of rank k1 = binom(g + d, d); f~ = diag(U0 V0^T 1)^{-1} U0 V0^T,
c~ = f~ h - E, q~ = c~ h^T, p1~ = f~ o q~, r~ = <f~ h, c~>, p2~ = diag(r~) f~ and
g~ = s A1^T (p1~ - p2~) A2 in O(n k1 d^2) time, g~_Y = (V1^T A3)^T (U1^T c~) in O(n k1 d).
"""
from .api import DEFAULT_MAX_RANK, FastResult, attention_fast, gradient_fast, gradient_fixed_degree
from .features import features, monomial_plan, rank_for

__all__ = ["DEFAULT_MAX_RANK", "FastResult", "attention_fast", "features", "gradient_fast",
           "gradient_fixed_degree", "monomial_plan", "rank_for"]
