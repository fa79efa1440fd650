"""Section 1: the problem as posed (Definitions 1.1, 1.2, 1.4) and the main theorems in their
informal versions (Theorems 1.5, 1.6), compared with their formal versions (E.5, D.6).

Definitions 1.1 and 1.2 are checked against a literal evaluation (explicit diagonal matrices,
the Frobenius norm as a sum of squares) at 50 digits and against ball enclosures. Definition
1.4's hypotheses are checked for what they imply (the scores' range) and on the instances of
attngrad.hard (the bit complexity). The theorems' parameters are compared with the formal
versions as printed; what the library establishes of each is said in its status.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import mpmath
import numpy as np
import sympy

import attngrad
from attngrad import hard as H

from .balls import balls, workprec
from .core import Erratum, Statement, Step
from .instances import as_mpmath, instance, label

CASES = (("dyadic", 8, 2, 51), ("dyadic", 32, 3, 52), ("large", 16, 2, 53), ("peaked", 16, 2, 54))


def _inst(case):
    return as_mpmath(instance(*case))


def _diag_inv(v):
    n = len(v)
    out = np.empty((n, n), dtype=object)
    out[:] = mpmath.mpf(0)
    for i, x in enumerate(v):
        out[i, i] = 1 / x
    return out


def _literal_softmax_times(S, M):
    """D^{-1} exp(S) M with D = diag(exp(S) 1_n), as printed: explicit matrices."""
    A = np.asarray(np.frompyfunc(mpmath.exp, 1, 1)(S), dtype=object)
    return _diag_inv(A @ np.full(A.shape[1], mpmath.mpf(1), dtype=object)) @ A @ M


# ---------------------------------------------------------------------------
# Definition 1.1

def _layer(case):
    """E_l (n x d) and Q, K, V (d x d) from one dyadic instance: E_l = A1, Q = X, K = Y,
    V = the first d rows of A2 (d <= n)."""
    m = _inst(case)
    d = m["A1"].shape[1]
    return m["A1"], m["X"], m["Y"], m["A2"][:d, :]


def _d11_forward():
    out = []
    for c in CASES:
        El, Q, K, V = _layer(c)
        d = El.shape[1]
        literal = _literal_softmax_times(El @ Q @ K.T @ El.T / d, El @ V)
        out.append((label(*c), literal, attngrad.attention(El @ Q, El @ K, El @ V)))
    return out


def _d11_renaming():
    """Definition 1.2's inner matrix D(X)^{-1} exp(A1 X A2^T / d) A3 Y at A1 = A2 = A3 = E_l,
    X = Q K^T, Y = V is E_{l+1} (attngrad.c with the target E := 0 against attngrad.attention)."""
    out = []
    for c in CASES:
        El, Q, K, V = _layer(c)
        zero = np.empty(El.shape, dtype=object)
        zero[:] = mpmath.mpf(0)
        out.append((label(*c), attngrad.c(El, El, El, zero, Q @ K.T, V),
                    attngrad.attention(El @ Q, El @ K, El @ V)))
    return out


DEF_1_1 = Statement(
    id="Definition 1.1",
    summary="l-th layer forward: E_{l+1} = D^{-1} exp(E_l Q K^T E_l^T / d) E_l V",
    printed=("Definition 1.1 (l-th layer forward computation): given weights Q, K, V in R^{d x d} "
             "and E_l in R^{n x d}, E_{l+1} in R^{n x d} is E_{l+1} <- D^{-1} exp(E_l Q K^T E_l^T / d) "
             "E_l V with D := diag(exp(E_l Q K^T E_l^T / d) 1_n), exp entry-wise. Definition 1.2 "
             "renames Q K^T to X and V to Y."),
    steps=[
        Step("E_{l+1}", "the printed formula with explicit D^{-1} equals attngrad.attention"
             "(E_l Q, E_l K, E_l V) (1/d by default; 50 digits, dyadic and adversarial)", "mpmath",
             _d11_forward),
        Step("renaming to X, Y", "D(X)^{-1} exp(A1 X A2^T / d) A3 Y of Definition 1.2 at "
             "A1 = A2 = A3 = E_l, X = Q K^T, Y = V is E_{l+1} (50 digits)", "mpmath",
             _d11_renaming),
    ],
)

# ---------------------------------------------------------------------------
# Definition 1.2


def _d12_printed_y():
    """The printed 'Y in R': a scalar has no entries to index; Y Y of the loss is d x d."""
    c = CASES[0]
    return list(_inst(c)["Y"].shape), []


def _d12_y_square():
    return [(label(*c), list(_inst(c)["Y"].shape), [c[2], c[2]]) for c in CASES]


def _d12_loss():
    out = []
    for c in CASES:
        m = _inst(c)
        A1, A2, A3, E, X, Y = (m[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))
        d = A1.shape[1]
        R = _literal_softmax_times(A1 @ X @ A2.T / d, A3 @ Y) - E
        literal = sum(v * v for v in R.reshape(-1)) / 2
        out.append((label(*c), literal, attngrad.loss(A1, A2, A3, E, X, Y)))
    return out


def _d12_loss_ball():
    """attngrad.loss on Arb balls (an enclosure) against the literal loss at 50 digits."""
    out = []
    for (lab, literal, _), c in zip(_d12_loss(), CASES):
        m = _inst(c)
        with workprec():
            enc = attngrad.loss(*balls(*(m[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))))
        out.append((lab, literal, enc))
    return out


DEF_1_2 = Statement(
    id="Definition 1.2",
    summary="L(X) = 0.5 ||D(X)^{-1} exp(A1 X A2^T / d) A3 Y - E||_F^2; printed 'Y in R' is R^{d x d}",
    printed=("Definition 1.2 (Attention optimization): given four n x d matrices A1, A2, A3 and "
             "E in R^{n x d}, suppose that a d x d size square matrix Y in R is also given. "
             "min_{X in R^{d x d}} L(X) := 0.5 ||D(X)^{-1} exp(A1 X A2^T / d) A3 Y - E||_F^2, "
             "D(X) := diag(exp(A1 X A2^T / d) 1_n), ||A||_F^2 := sum_{i,j} A_{i,j}^2."),
    steps=[
        Step("Y in R", "the printed membership: Y is 'a d x d size square matrix Y in R'; its "
             "shape against that of an element of R (none)", "exact", _d12_printed_y),
        Step("L(X)", "the printed loss with explicit D(X)^{-1} and the Frobenius norm as a sum "
             "of squares = attngrad.loss (50 digits, dyadic and adversarial)", "mpmath", _d12_loss),
        Step("L(X) enclosed", "the literal loss at 50 digits lies in the ball that attngrad.loss "
             "returns on ball inputs (certified: relative distance <= 2^-(prec-30))", "ball",
             _d12_loss_ball),
    ],
    corrected=[
        Step("Y in R^{d x d}", "Y is d x d, as the loss needs (A3 Y with A3 n x d)", "exact",
             _d12_y_square, basis="by construction"),
        Step("L(X) with Y in R^{d x d}", "the printed loss, as above (50 digits)", "mpmath",
             _d12_loss),
    ],
    errata=[Erratum(
        location="Definition 1.2",
        printed="'a d x d size square matrix Y in R is also given'",
        corrected="Y in R^{d x d}",
        evidence="R holds scalars, while Y is called d x d and multiplies A3 (n x d) on the right; "
                 "the printed set has no room for the d^2 entries (shape (2, 2) against a "
                 "scalar's ()). A typo. Rerun: attngrad check --only \"Definition 1.2\"",
        step="Y in R")],
)

# ---------------------------------------------------------------------------
# Definition 1.4


def _grad(m, X):
    return attngrad.gradient(m["A1"], m["A2"], m["A3"], m["E"], X, m["Y"])


def _d14_printed_inputs():
    """The listed inputs (A1, A2, A3, E, Y) with two values of X: the gradient differs."""
    out = []
    for c in CASES[:2]:
        m = _inst(c)
        zero = m["X"] * 0
        out.append((label(*c), _grad(m, zero), _grad(m, m["X"])))
    return out


def _d14_fd():
    """With X an input: dL/dX (attngrad, Lemma C.8) = central differences of L(X) (90 digits,
    step 2^-80; error O(step^2))."""
    out = []
    for c in CASES[:2]:
        with mpmath.workdps(90):
            m = _inst(c)
            A1, A2, A3, E, X, Y = (m[k] for k in ("A1", "A2", "A3", "E", "X", "Y"))
            d = X.shape[0]
            t = mpmath.ldexp(mpmath.mpf(1), -80)
            fd = np.empty((d, d), dtype=object)
            for a in range(d):
                for b in range(d):
                    e = X * 0
                    e[a, b] = t
                    fd[a, b] = (attngrad.loss(A1, A2, A3, E, X + e, Y)
                                - attngrad.loss(A1, A2, A3, E, X - e, Y)) / (2 * t)
        out.append((label(*c), fd, _grad(m, X)))
    return out


def _scores_within_b_squared():
    """||A1 X||_inf <= B and ||A2||_inf <= B give |(A1 X A2^T)_ij| / d <= B^2 (each score is
    a mean of d products of numbers of size <= B): exact rationals, B the larger of the two."""
    out = []
    for c in CASES:
        nums, bits = instance(*c)
        o = {k: v.astype(object) for k, v in nums.items()}
        A1X = o["A1"] @ o["X"]                       # numerators over 2^(2 bits)
        S = A1X @ o["A2"].T                          # over 2^(3 bits)
        d = nums["A1"].shape[1]
        B = max(Fraction(int(abs(A1X).max()), 2 ** (2 * bits)),
                Fraction(int(abs(o["A2"]).max()), 2 ** bits))
        out.append((label(*c), Fraction(int(abs(S).max()), 2 ** (3 * bits) * d), B * B))
    return out


@lru_cache(maxsize=None)
def _hard_family(v):
    cnf = H.random_kcnf(3, v, round(4.3 * v), seed=v)
    return H.from_cnf(cnf)


BIT_FACTOR = 4


def _bits(x):
    q = Fraction(float(x))
    return abs(q.numerator).bit_length() + q.denominator.bit_length()


def _log_bits():
    """Every entry of attngrad.hard's gradient instances (A1, A2, A3, E, X, Y) is a rational
    p/q with bits(p) + bits(q) <= BIT_FACTOR log2 N (v = 4..12 variables, 4.3 v clauses)."""
    out = []
    for v in (4, 6, 8, 10, 12):
        inst = _hard_family(v)
        N = inst.A1.shape[0]
        most = max(_bits(x) for a in inst.arrays().values() for x in np.unique(a))
        out.append((f"v={v} N={N}", most, BIT_FACTOR * (N.bit_length() - 1)))
    return out


DEF_1_4 = Statement(
    id="Definition 1.4",
    summary="AAttLGC(n, d, eps): ||g~ - dL/dX||_inf <= eps given ||A1 X||, ||A2|| <= B and "
            "O(log n)-bit entries; X must be an input",
    printed=("Definition 1.4 (AAttLGC(n, d, eps)): given four n x d matrices A1, A2, A3, E and a "
             "square matrix Y in R^{d x d}, which we think of as fixed matrices. Assume that "
             "||A1 X||_inf <= B, ||A2||_inf <= B for a positive parameter B. Further assume that "
             "all the entries of these matrices can be represented as O(log n)-bit rational "
             "numbers. Let L(X) be defined as Definition 1.2. Let dL(X)/dX denote the gradient "
             "of loss function L(x). The goal is to output a vector g~ such that "
             "||g~ - dL(X)/dX||_inf <= eps, where ||A||_inf := max_{i,j} |A_{i,j}|."),
    steps=[
        Step("the inputs", "the listed inputs A1, A2, A3, E, Y determine the answer: the "
             "gradient with the same listed inputs at two values of X (X = 0 and a dyadic X) "
             "must agree (50 digits)", "mpmath", _d14_printed_inputs),
        Step("entry bounds", "||A1 X||_inf <= B and ||A2||_inf <= B bound every score: "
             "max |A1 X A2^T| / d <= B^2 (exact rationals, dyadic and adversarial instances)",
             "exact", _scores_within_b_squared, relation="<="),
        Step("O(log n)-bit entries", f"attngrad.hard's gradient instances (v = 4..12 "
             f"variables): every entry is p/q with bits(p) + bits(q) <= {BIT_FACTOR} log2 N "
             "(exact)", "exact", _log_bits, relation="<="),
    ],
    corrected=[
        Step("X an input", "with X among the inputs (Theorem E.5 gives X = lambda I) the answer "
             "is determined: dL/dX (Lemma C.8) equals central differences of L(X) (90 digits)",
             "mpmath", _d14_fd),
    ],
    errata=[Erratum(
        location="Definition 1.4",
        printed="'given four n x d size matrices A1, A2, A3, E and a square matrix Y ... which we "
                "think of as fixed matrices' (X is not an input, yet ||A1 X||_inf <= B and "
                "dL(X)/dX depend on it)",
        corrected="X in R^{d x d} is an input too (the point at which the gradient is asked, as "
                  "Theorem E.5's X = lambda I shows); the entry-bound and bit-complexity "
                  "hypotheses apply to X as well",
        evidence="the same listed inputs give different gradients at X = 0 and at a dyadic X "
                 "(n = 8, d = 2, 50 digits), so the output is not determined by them. Rerun: "
                 "attngrad check --only \"Definition 1.4\"",
        step="the inputs")],
)

# ---------------------------------------------------------------------------
# Theorems 1.5 and 1.6: informal versions against E.5 and D.6 as printed

n_ = sympy.Symbol("n", positive=True)

# the parameters as printed (None: not stated)
PRINTED = {
    "Theorem 1.5": {"d": "O(log n)", "B": "omega(sqrt(log n))", "eps": None},
    "Theorem E.5": {"d": "O(log n)", "B": "0", "eps": "O(1/(log n)^4)"},
    "Theorem 1.6": {"d": "O(log n)", "B": "o(sqrt(log n))", "accuracy": "1/poly(n)",
                    "time": "n^{1+o(1)}"},
    "Theorem D.6": {"d": "O(log n)", "B": "o(sqrt(log n))", "accuracy": "1/poly(n)",
                    "time": "n^{1+o(1)}"},
}


def _same_as(informal, formal, keys):
    def compute():
        return [(k, PRINTED[informal][k], PRINTED[formal][k]) for k in keys]
    return compute


def _is_omega_sqrt_log(B):
    """B(n) / sqrt(log n) -> infinity (the meaning of B = omega(sqrt(log n)))."""
    return sympy.limit(B / sympy.sqrt(sympy.log(n_)), n_, sympy.oo)


def _t15_b():
    """E.5 prints B = 0: 0 / sqrt(log n) tends to 0, not to infinity."""
    return _is_omega_sqrt_log(sympy.Integer(0)), sympy.oo


def _t15_repaired_b():
    """The repaired chain's B = c ln N (c >= 5, Theorem E.5's step 'B = Theta(log n)') is
    omega(sqrt(log n))."""
    return _is_omega_sqrt_log(5 * sympy.log(2 * n_)), sympy.oo


def _t15_entry_bound():
    from .sE_lower_bound import _entry_bound_theta_log

    return _entry_bound_theta_log()


THEOREM_1_5 = Statement(
    id="Theorem 1.5",
    summary="lower bound, informal E.5: no O(n^{2-q}) for AAttLGC(n, d = O(log n), "
            "B = omega(sqrt(log n))) under SETH; holds at B = Theta(log n)",
    printed=("Theorem 1.5 (Main result, Lower bound, informal version of Theorem E.5): assuming "
             "SETH, there is no algorithm running in time O(n^{2-q}) for any q > 0 for the "
             "AAttLGC(n, d = O(log n), B = omega(sqrt(log n))) (see Definition 1.4)."),
    steps=[
        Step("d as in E.5", "d = O(log n) in both (as printed)", "exact",
             _same_as("Theorem 1.5", "Theorem E.5", ["d"])),
        Step("B as in E.5", "Theorem E.5 as printed has B = 0: is it omega(sqrt(log n))? "
             "(SymPy's limit of B / sqrt(log n) against infinity)", "exact", _t15_b),
        Step("eps as in E.5", "Theorem E.5 states eps = O(1/(log n)^4); Theorem 1.5 states no "
             "accuracy (as printed; without one no hardness holds: the zero output answers any "
             "eps >= ||dL/dX||_inf)", "exact", _same_as("Theorem 1.5", "Theorem E.5", ["eps"])),
    ],
    corrected=[
        Step("B = Theta(log n) is omega(sqrt(log n))", "B = c ln N with c >= 5 over sqrt(log n) "
             "tends to infinity (SymPy's limit)", "exact", _t15_repaired_b),
        Step("the repaired chain's B", "B lies in [5 ln N, 7 ln N] for v = 10..200 (the step "
             "'B = Theta(log n)' of Theorem E.5, certified)", "ball", _t15_entry_bound,
             relation="<="),
    ],
    errata=[
        Erratum(location="Theorem 1.5 against Theorem E.5 (its formal version)",
                printed="B = omega(sqrt(log n)) (Theorem 1.5); 'B = 0' (Theorem E.5)",
                corrected="Theorem E.5's 'B = 0' is a typo for E = 0 (see Theorem E.5); the "
                          "repaired reduction attains B = Theta(log n) = omega(sqrt(log n))",
                evidence="0 / sqrt(log n) -> 0, so Theorem E.5 as printed is not an instance of "
                         "B = omega(sqrt(log n)). Rerun: attngrad check --only \"Theorem 1.5\"",
                step="B as in E.5"),
        Erratum(location="Theorem 1.5 against Theorem E.5 (accuracy)",
                printed="AAttLGC(n, d = O(log n), B = omega(sqrt(log n))), no eps",
                corrected="AAttLGC(n, d = O(log n), B = omega(sqrt(log n)), eps = O(1/(log n)^4)) "
                          "as in Theorem E.5 (Definition 1.4's problem takes eps)",
                evidence="Definition 1.4 defines AAttLGC(n, d, eps) and Theorem E.5 gives "
                         "eps = O(1/(log n)^4); Theorem 1.5 drops it, and no hardness holds for "
                         "every eps (the zero output answers any eps >= ||dL/dX||_inf)",
                step="eps as in E.5"),
    ],
    gaps=["hardness for every B = omega(sqrt(log n)): only B = Theta(log n) is reached (see "
          "Theorem E.5, partly established)"],
)


T16_SIZES = (64, 128)


def _t16_accuracy():
    """attngrad.gradient(method='fast', eps=1/n^2) at B = 0.5 (below sqrt(ln n)): its error,
    certified against the ball enclosure of dL/dX, is at most 1/n^2."""
    out = []
    for n in T16_SIZES:
        rng = np.random.default_rng(n)
        d = 4
        A1, A2, A3, E = (np.ldexp(rng.integers(-512, 513, (n, d)).astype(float), -10)
                         for _ in range(4))
        X = Y = np.eye(d)
        g = attngrad.gradient(A1, A2, A3, E, X, Y, method="fast", eps=1.0 / n ** 2)
        out.append((f"n={n} d={d}", attngrad.certify_gradient(g, A1, A2, A3, E, X, Y),
                    Fraction(1, n * n)))
    return out


THEOREM_1_6 = Statement(
    id="Theorem 1.6",
    summary="upper bound, informal D.6: n^{1+o(1)} time for AAttLGC(n, d = O(log n), "
            "B = o(sqrt(log n))) to 1/poly(n); accuracy certified, time not yet counted",
    printed=("Theorem 1.6 (Main result, Upper bound, informal version of Theorem D.6): assuming "
             "entries are bounded, there is a n^{1+o(1)} time algorithm to solve AAttLGC(n, "
             "d = O(log n), B = o(sqrt(log n))) (see Definition 1.4) up to 1/poly(n) accuracy."),
    steps=[
        Step("parameters as in D.6", "d, B, accuracy and time as printed in Theorem 1.6 and "
             "Theorem D.6 (D.6 assumes O(log n)-bit entries, 1.6 'bounded' entries)", "exact",
             _same_as("Theorem 1.6", "Theorem D.6", ["d", "B", "accuracy", "time"])),
        Step("1/poly(n) accuracy", "attngrad's almost-linear gradient (Section D) with "
             "eps = 1/n^2, n = 64, 128, entries <= 0.5: error certified against the ball "
             "enclosure of dL/dX", "ball", _t16_accuracy, relation="<="),
    ],
    gaps=["the n^{1+o(1)} running time (k1 = n^{o(1)} for B = o(sqrt(log n))): Section D's "
          "operation counts are not checked in the registry"],
)

STATEMENTS = [DEF_1_1, DEF_1_2, DEF_1_4, THEOREM_1_5, THEOREM_1_6]
