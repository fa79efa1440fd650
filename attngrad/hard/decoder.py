"""The decoder: decide OV (and so SAT) from a gradient oracle alone.

Contract. Given a :class:`~attngrad.hard.reduction.GradientInstance` and any
callable ``oracle(A1, A2, A3, E, X, Y)`` returning a d x d approximation of
dL/dX (attngrad.gradient's signature and default scale 1/d), the decoder

1. evaluates f'(lambda) = 2 <oracle(..., lambda X, ...), X>_F at quadrature
   nodes in [0, 1] (f = 2 L(lambda X), see reduction.py);
2. integrates: f(1) ~ f(0) + sum_k w_k f'(lambda_k), where f(0) = N sum_l mean(V_l)^2
   needs only A3 (at lambda = 0 the softmax is uniform);
3. compares with the yes/no gap of Lemma E.6 (ours): f(1) >= L_yes on yes
   instances, f(1) <= U_no on no instances.

It never forms the scores or the attention matrix. Its error budget is
E_tot = Q_err + 2 d eps (quadrature bound plus eps per gradient entry on the
trace); it refuses (status "refused") when 2 E_tot >= L_yes - U_no, and also
when the oracle fails an identity that every exact gradient satisfies:

* at lambda = 0 the gradient has the closed form (s/N) (A1^T C)((H - 1 hbar^T)^T A2)
  (uniform softmax), checked to within eps;
* a column j of A2 that is constant over the rows gives a zero column j of
  dL/dX (p(x) has zero row sums), and a zero column i of A1 a zero row i;
* two quadrature rules (m and m + 1 Gauss nodes) must agree to within their budgets;
* the estimate of f(1) must fall in the yes window or the no window, and in [0, N d_V].

These checks catch noise, bias and rescaling of the gradient; an adversarial
oracle that is exact at lambda = 0, keeps the zero rows and columns, and errs
smoothly elsewhere can pass them, so beyond eps the decoder's answer is only as
good as the oracle's guarantee (as in any reduction).

Rules:

* ``"gauss"`` (default): Gauss-Legendre. Certified by Lemma E.6 (ours): f' is
  analytic with |f'| <= M = 12 N d_V R on the strip |Im lambda| <= pi / (3 R), so on
  the Bernstein ellipse of [0, 1] with rho = 2h + sqrt(1 + 4h^2), h = pi / (3 R), and
  the m-point rule errs by at most (8/3) M rho^(-2m) / (1 - 1/rho).
* ``"riemann"``: Lemma E.4's left Riemann sum with Theorem E.5's parameters
  (m = ceil(ln(N)^4) points, eps = 1 / ln(N)^4), certified by b / m with b the
  corrected Lemma E.3 bound |f''| <= N d_V R^2 / 2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

RULES = ("gauss", "riemann")
PHI = math.pi / 3  # phase allowance on the strip: cos(PHI) = 1/2


class OracleError(RuntimeError):
    """The oracle returned something that is not a d x d finite matrix."""


@dataclass
class Decision:
    status: str                  # "decided" or "refused"
    answer: str | None           # "SAT" / "UNSAT" (OV yes / no), None when refused
    reason: str
    budget: dict = field(default_factory=dict)
    estimates: list = field(default_factory=list)
    calls: int = 0
    checks: dict = field(default_factory=dict)

    @property
    def satisfiable(self):
        return None if self.answer is None else self.answer == "SAT"

    def report(self) -> str:
        b = self.budget
        lines = ["decoder error budget:"]
        for key, label in (("rule", "rule"), ("points", "points per rule"),
                           ("f2_bound", "|f''| bound (Lemma E.3 corrected)"),
                           ("fprime_strip_bound", "|f'| bound on the strip (Lemma E.6)"),
                           ("rho", "Bernstein ellipse rho"),
                           ("quadrature_error", "quadrature error bound"),
                           ("eps", "oracle error per entry (assumed)"),
                           ("eps_allowed", "oracle error per entry allowed"),
                           ("oracle_error", "oracle error on f(1) = 2 d eps"),
                           ("total_error", "total error E_tot"),
                           ("f0", "f(0) (from A3)"),
                           ("U_no", "f(1) upper bound on no instances"),
                           ("L_yes", "f(1) lower bound on yes instances"),
                           ("gap", "gap to resolve L_yes - U_no")):
            if key in b:
                v = b[key]
                lines.append(f"  {label:<40} {v:.6g}" if isinstance(v, float) else
                             f"  {label:<40} {v}")
        if self.estimates:
            lines.append("  f(1) estimates                          "
                         + ", ".join(f"{e:.6g}" for e in self.estimates))
        lines.append(f"  oracle calls                             {self.calls}")
        for name, ok in self.checks.items():
            lines.append(f"  check {name:<34} {'ok' if ok else 'FAILED'}")
        lines.append(f"{self.status}: {self.reason}")
        lines.append(self.answer if self.answer else "REFUSED")
        return "\n".join(lines)


def _legendre(x, m):
    """(P_{m-1}(x), P_m(x)) by the three-term recurrence."""
    p_prev, p = np.ones_like(x), x.copy()
    for k in range(2, m + 1):
        p_prev, p = p, ((2 * k - 1) * x * p - (k - 1) * p_prev) / k
    return p_prev, p


@lru_cache(maxsize=16)
def gauss_nodes(m: int):
    """Gauss-Legendre nodes and weights on [0, 1] (weights sum to 1).

    Newton's method on P_m from the guesses cos(pi (i - 1/4) / (m + 1/2)), with P_m and
    P_m' from the three-term recurrence: O(m^2) work, where numpy's leggauss solves a
    dense m x m eigenproblem (O(m^3); seconds at the m ~ 2000 the decoder uses).
    """
    if m < 1:
        raise ValueError(f"m: need at least one node, got {m}")
    x = np.cos(np.pi * (np.arange(1, m + 1) - 0.25) / (m + 0.5))
    for _ in range(100):
        p_prev, p = _legendre(x, m)
        dx = p / (m * (x * p - p_prev) / (x * x - 1))
        x = x - dx
        if np.max(np.abs(dx)) < 1e-15:
            break
    p_prev, p = _legendre(x, m)
    dp = m * (x * p - p_prev) / (x * x - 1)
    return (1 - x) / 2, 1 / ((1 - x * x) * dp * dp)


def bernstein_rho(R: float) -> float:
    """rho = 2h + sqrt(1 + 4h^2), h = PHI / R: the Bernstein ellipse of [0, 1] inside the strip
    |Im lambda| <= PHI / R (Lemma E.6 (ours), part 2)."""
    h = PHI / R
    return 2 * h + math.sqrt(1 + 4 * h * h)


def gauss_error_bound(m: int, M: float, R: float) -> float:
    """(8/3) M rho^(-2m) / (1 - 1/rho): the m-point Gauss rule on [0, 1] for g analytic with
    |g| <= M on |Im lambda| <= PHI / R (Lemma E.6 (ours), parts 2 and 3)."""
    rho = bernstein_rho(R)
    return (8.0 / 3.0) * M * math.exp(-2 * m * math.log(rho)) / (1 - 1 / rho)


def gauss_points_needed(target: float, M: float, R: float) -> int:
    rho = bernstein_rho(R)
    m = max(1, math.ceil(math.log((8.0 / 3.0) * M / ((1 - 1 / rho) * target)) / (2 * math.log(rho))))
    while gauss_error_bound(m, M, R) > target:
        m += 1
    return m


def exact_oracle(A1, A2, A3, E, X, Y):
    import attngrad

    return attngrad.gradient(A1, A2, A3, E, X, Y)


def gradient_at_zero(A1, A2, A3, E, Y):
    """dL/dX at X = 0 in O(N d^2) (uniform softmax; scale 1/d): the decoder's spot check."""
    N, d = A1.shape
    H = A3 @ Y
    hbar = H.mean(axis=0)
    C = hbar[None, :] - E
    return ((A1.T @ C) @ ((H - hbar[None, :]).T @ A2)) / (N * d)


def _parameters(inst):
    try:
        r = inst.meta["reduction"]
        return float(r["R"]), float(r["L_yes"]), float(r["U_no"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"instance: metadata lacks the reduction parameters ({exc})") from None


def plan(inst, *, rule="gauss", points=None, eps=None) -> dict:
    """The error budget of :func:`decide` before any oracle call (no scores are formed)."""
    N, d = inst.A1.shape
    R, L_yes, U_no = _parameters(inst)
    d_V = int(np.count_nonzero(np.any(inst.A3 != 0, axis=0)))
    f0 = float(N * np.sum(np.mean(inst.A3 @ inst.Y, axis=0) ** 2))
    return budget(N, d, d_V, R, L_yes, U_no, f0, rule=rule, points=points, eps=eps)


def budget(N, d, d_V, R, L_yes, U_no, f0, *, rule="gauss", points=None, eps=None) -> dict:
    """The decoder's error budget from the reduction's parameters alone.

    gauss: m = least points with quadrature bound <= gap / 8, eps (default) = gap / (16 d);
    riemann: Theorem E.5's m = ceil(ln(N)^4), eps = 1 / ln(N)^4, bound b / m (Lemma E.4).
    """
    if rule not in RULES:
        raise ValueError(f"rule: must be one of {RULES}, got {rule!r}")
    if points is not None and (not isinstance(points, (int, np.integer)) or points < 1):
        raise ValueError(f"points: must be a positive integer, got {points!r}")
    if eps is not None and not eps >= 0:
        raise ValueError(f"eps: must be a non-negative number, got {eps!r}")
    R = max(float(R), 1e-12)
    gap = L_yes - U_no
    b = {"rule": rule, "N": N, "d": d, "d_V": d_V, "R": R, "f0": float(f0),
         "U_no": U_no, "L_yes": L_yes, "gap": gap,
         "f2_bound": 0.5 * N * d_V * R * R}
    lnN = math.log(N)
    if rule == "gauss":
        M = 12.0 * N * d_V * R
        b["fprime_strip_bound"] = M
        b["rho"] = bernstein_rho(R)
        if points is None:
            points = gauss_points_needed(gap / 8, M, R)
        b["points"] = int(points)
        b["quadrature_error"] = max(gauss_error_bound(points, M, R),
                                    gauss_error_bound(points + 1, M, R))
        default_eps = gap / (16 * d)
        b["calls"] = 2 * int(points) + 2
    else:
        if points is None:
            points = math.ceil(lnN ** 4)
        b["points"] = int(points)
        b["quadrature_error"] = b["f2_bound"] / points
        default_eps = 1.0 / lnN ** 4
        b["calls"] = int(points) + 1
    b["eps"] = float(default_eps if eps is None else eps)
    b["eps_allowed"] = max(0.0, (gap / 2 - b["quadrature_error"]) / (2 * d))
    b["oracle_error"] = 2 * d * b["eps"]
    b["total_error"] = b["quadrature_error"] + b["oracle_error"]
    b["separates"] = bool(2 * b["total_error"] < gap)
    return b


def budget_for_cnf(num_vars: int, num_clauses: int, *, shape: str = "E.2", **options) -> dict:
    """The budget the chain would have for any CNF with these counts (no instance is built)."""
    from .reduction import choose_parameters, gap_bounds, side

    n = 2 ** ((num_vars + 1) // 2)
    sb, sg = choose_parameters(n, shape)
    k = side(num_clauses)
    beta, gamma = sb * sb, sg * sg
    L_yes, U_no = gap_bounds(n, beta, gamma)
    out = budget(2 * n, k * k, 1, beta * num_clauses + gamma, L_yes, U_no, n / 2, **options)
    out.update({"n": n, "beta": beta, "gamma": gamma, "B_entry": k * max(sb, sg)})
    return out


def on_gpu(oracle):
    """The oracle, called with CuPy float64 copies of the instance's arrays (the CuPy path of
    attngrad for the default oracle); ValueError naming ``device`` when no GPU can be used."""
    from ..machine import require_gpu

    cp = require_gpu("device")
    return lambda *arrays: oracle(*(cp.asarray(a, dtype=np.float64) for a in arrays))


def _call(oracle, inst, lam):
    G = oracle(*inst.args(lam))
    if type(G).__module__.split(".")[0] == "cupy":  # a device result: copied to the host once
        G = G.get()
    try:
        G = np.asarray(G, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OracleError(f"oracle returned a non-numeric result at lambda={lam}: {exc}") from None
    d = inst.A1.shape[1]
    if G.shape != (d, d):
        raise OracleError(f"oracle returned shape {G.shape} at lambda={lam}, expected ({d}, {d})")
    if not np.all(np.isfinite(G)):
        raise OracleError(f"oracle returned non-finite entries at lambda={lam}")
    return G


def decide(inst, oracle=None, *, rule="gauss", points=None, eps=None, progress=None,
           device="cpu") -> Decision:
    """Decide the OV instance behind ``inst`` from gradients alone (see the module docstring).

    progress: optional callable progress(done, total) called after each oracle call.
    device:   "cpu" (numpy arrays) or "gpu": the oracle gets CuPy arrays (:func:`on_gpu`).
    """
    oracle = exact_oracle if oracle is None else oracle
    if not callable(oracle):
        raise TypeError(f"oracle: expected a callable, got {type(oracle).__name__}")
    if device not in ("cpu", "gpu"):
        raise ValueError(f"device: must be 'cpu' or 'gpu', got {device!r}")
    if device == "gpu":
        oracle = on_gpu(oracle)
    b = plan(inst, rule=rule, points=points, eps=eps)
    if not b["separates"]:
        return Decision("refused", None,
                        f"the budget does not separate yes from no: 2 E_tot = {2 * b['total_error']:.3g}"
                        f" >= gap = {b['gap']:.3g}", b)
    eps_ = b["eps"]
    m = b["points"]
    if rule == "gauss":
        rules = [gauss_nodes(m), gauss_nodes(m + 1)]
    else:
        rules = [(np.arange(m) / m, np.full(m, 1.0 / m))]
    total = 1 + sum(len(x) for x, _ in rules)
    done = 0
    checks = {}
    # constant columns of A2 -> zero columns of dL/dX; zero columns of A1 -> zero rows
    const_cols = np.flatnonzero(np.all(inst.A2 == inst.A2[:1, :], axis=0))
    zero_rows = np.flatnonzero(np.all(inst.A1 == 0, axis=0))
    X = inst.X

    def structural_ok(G):
        return (np.all(np.abs(G[:, const_cols]) <= eps_)
                and np.all(np.abs(G[zero_rows, :]) <= eps_))

    G0 = _call(oracle, inst, 0.0)
    done += 1
    progress and progress(done, total)
    checks["gradient at lambda=0"] = bool(
        np.max(np.abs(G0 - gradient_at_zero(inst.A1, inst.A2, inst.A3, inst.E, inst.Y))) <= eps_)
    struct = bool(structural_ok(G0))
    estimates = []
    for nodes, weights in rules:
        s = 0.0
        for lam, w in zip(nodes, weights):
            G = _call(oracle, inst, float(lam))
            struct &= bool(structural_ok(G))
            s += w * 2.0 * float(np.sum(G * X))
            done += 1
            progress and progress(done, total)
        estimates.append(b["f0"] + s)
    checks["zero rows/columns of dL/dX"] = struct
    E_tot = b["total_error"]
    if len(estimates) > 1:
        checks["two quadrature rules agree"] = bool(abs(estimates[0] - estimates[1]) <= 2 * E_tot)
    answers = set()
    for f1 in estimates:
        if f1 <= b["U_no"] + E_tot:
            answers.add("UNSAT")
        elif f1 >= b["L_yes"] - E_tot:
            answers.add("SAT")
        else:
            answers.add(None)
    checks["estimate in the yes or the no window"] = None not in answers
    f_max = b["N"] * b["d_V"]  # every entry of D^{-1} exp(.) V lies in [0, 1]
    checks["0 <= f(1) <= N d_V"] = all(-E_tot <= f1 <= f_max + E_tot for f1 in estimates)
    calls = done
    if not all(checks.values()):
        failed = ", ".join(k for k, ok in checks.items() if not ok)
        return Decision("refused", None, f"the oracle fails a check every exact gradient passes "
                        f"({failed}); its error exceeds the allowance eps = {eps_:.3g}",
                        b, estimates, calls, checks)
    if len(answers) != 1:
        return Decision("refused", None, "the quadrature rules disagree", b, estimates, calls, checks)
    ans = answers.pop()
    return Decision("decided", ans,
                    f"f(1) ~ {estimates[0]:.6g} is {'above' if ans == 'SAT' else 'below'} the "
                    f"threshold; error budget {E_tot:.3g} < gap/2 = {b['gap'] / 2:.3g}",
                    b, estimates, calls, checks)
