"""Shared pieces of the tests: input strategies, conversions, and rounding-error bounds.

Tolerances are not guessed. :func:`error_bounds` runs a first-order forward error
analysis of the library's algorithm (the standard model fl(a op b) = (a op b)(1 + delta),
|delta| <= u, and |fl(sum of k terms) - sum| <= gamma_k sum |terms|, gamma_k = k u / (1 - k u))
next to the computation, entry by entry, and returns for each quantity an array that bounds
|computed - exact| for a system with unit roundoff u: 2^-53 for float64, 2^-24 for float32,
2^-prec for mpmath. Comparisons allow twice that bound (the factor 2 covers the neglected
second-order terms and the rounding of the bound itself), plus the bound of the reference.
"""
from __future__ import annotations


import mpmath
import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

NAMES = ("A1", "A2", "A3", "E", "X", "Y")
U64 = 2.0 ** -53
U32 = 2.0 ** -24
ETA64 = 2.0 ** -1074  # gradual underflow: absolute error of one rounding near zero
ETA32 = 2.0 ** -149


def shapes(n, d):
    return {"A1": (n, d), "A2": (n, d), "A3": (n, d), "E": (n, d), "X": (d, d), "Y": (d, d)}


def peak_bytes(fn):
    """tracemalloc's peak while ``fn()`` runs (numpy reports its buffers to tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- strategies ---------------------------------------------------------------

ENTRY = st.floats(-2, 2, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def instances(draw, max_n=5, max_d=4, elements=ENTRY):
    """A dict of the six inputs of Definition 1.2 as float64 arrays; n, d >= 1 (odd sizes included)."""
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(1, max_d))
    return {k: draw(hnp.arrays(np.float64, s, elements=elements)) for k, s in shapes(n, d).items()}


def args(inst, convert=None):
    """The six inputs in order, optionally converted."""
    return [convert(inst[k]) if convert else inst[k] for k in NAMES]


def instance(n, d, seed, bound=1.0):
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(-bound, bound, s) for k, s in shapes(n, d).items()}


# --- conversions and comparisons ------------------------------------------------

def to_mp(a):
    """Exact object array of mpf from floats (or from nested lists of mpf).

    An mpf is kept as it is: mpmath.mpf(x) would round it to the precision of the moment.
    """
    arr = np.asarray(a)
    out = np.empty(arr.shape, dtype=object)
    out.reshape(-1)[:] = [x if isinstance(x, mpmath.mpf) else mpmath.mpf(x)
                          for x in arr.reshape(-1).tolist()]  # tolist: Python floats
    return out


def abs_diff(a, b):
    """|a - b| entry-wise as float64, the difference taken exactly in mpmath (whatever the
    precision of the moment: two 50-digit values compared after their workdps has ended)."""
    a, b = to_mp(a), to_mp(b)
    return np.array([float(abs(mpmath.fsub(x, y, exact=True)))
                     for x, y in zip(a.reshape(-1), b.reshape(-1))],
                    dtype=np.float64).reshape(a.shape)


def assert_within(name, got, ref, tol):
    """|got - ref| <= tol entry-wise (tol broadcasts); reports the worst entry."""
    err = abs_diff(got, ref)
    tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), err.shape)
    bad = err > tol
    if np.any(bad):
        i = np.unravel_index(np.argmax(np.where(bad, err / np.maximum(tol, 1e-300), 0)), err.shape)
        raise AssertionError(f"{name}: |got - ref| = {err[i]:.3e} > tol {tol[i]:.3e} at {i} "
                             f"({int(bad.sum())} of {err.size} entries)")


def all_mpf(a):
    """Every element is an mpmath.mpf (and nothing else: no float, no mpc)."""
    if isinstance(a, mpmath.mpf):
        return True
    a = np.asarray(a)
    return a.dtype == object and all(type(x) is mpmath.mpf for x in a.reshape(-1).tolist())


# --- rounding-error bounds ---------------------------------------------------------

class _Q:
    """A computed quantity: value v (float64, used for magnitudes only) and error bound e."""

    __slots__ = ("v", "e")

    def __init__(self, v, e=None):
        self.v = np.asarray(v, dtype=np.float64)
        self.e = np.zeros_like(self.v) if e is None else np.asarray(e, dtype=np.float64)


class _Model:
    """First-order rounding-error propagation for unit roundoff u (eta: underflow quantum).
    With K every sum is charged gamma_K instead of gamma_(its length)."""

    def __init__(self, u, eta, K=None):
        self.u, self.eta, self.K = u, eta, K

    def g(self, k):
        k = max(k, 1) if self.K is None else self.K
        return k * self.u / (1 - k * self.u)

    def matmul(self, A, B):
        k = A.v.shape[-1]
        aA, aB = np.abs(A.v), np.abs(B.v)
        e = A.e @ aB + aA @ B.e + A.e @ B.e + self.g(k) * (aA @ aB) + 2 * k * self.eta
        return _Q(A.v @ B.v, e)

    def add(self, A, B, sign=1):
        v = A.v + sign * B.v
        return _Q(v, A.e + B.e + self.u * np.abs(v))

    def mul(self, A, B):
        v = A.v * B.v
        e = A.e * np.abs(B.v) + np.abs(A.v) * B.e + A.e * B.e + self.u * np.abs(v) + self.eta
        return _Q(v, e)

    def rowsum(self, A):
        k = A.v.shape[-1]
        return _Q(A.v.sum(axis=-1), A.e.sum(axis=-1) + self.g(k - 1) * np.abs(A.v).sum(axis=-1))

    def exp(self, S):
        with np.errstate(over="ignore"):
            v = np.exp(S.v)
            e = v * (np.expm1(S.e) + 2 * self.u) + self.eta  # exp: within 2 ulps
        return _Q(v, e)

    def softmax(self, S):
        """f = D^{-1} exp(S) computed as w = exp(S - rowmax S), w / (w 1).

        Perturbing S by delta multiplies f_ij by exp(delta_ij) / sum_k f_ik exp(delta_ik), so the
        propagated part is f_ij expm1(|delta_ij| + max_k |delta_ik|); the evaluation adds
        u |S_ij - m| (subtraction) + 2u (exp) for w_ij, the same for the worst w_ik plus
        gamma_{n-1} in the row sum, and u for the division.
        """
        n = S.v.shape[-1]
        m = S.v.max(axis=-1, keepdims=True)
        w = np.exp(S.v - m)
        v = w / w.sum(axis=-1, keepdims=True)
        loc = self.u * np.abs(S.v - m) + 2 * self.u
        rel = (np.expm1(S.e + S.e.max(axis=-1, keepdims=True))
               + loc + loc.max(axis=-1, keepdims=True) + self.g(n - 1) + self.u)
        return _Q(v, v * rel + 2 * (n + 1) * self.eta)


def error_bounds(inst, scale=None, u=U64, eta=ETA64, K=None):
    """Bounds on |computed - exact| for every quantity of the library, for unit roundoff u.

    ``inst`` holds the six inputs (exactly representable; given as float arrays). ``scale``
    as in the library. With ``K`` every sum is charged gamma_K instead of gamma_(its length):
    a bound that also covers a different summation order (used for method="naive").
    Returns a dict of float64 arrays: S, u, alpha, f, h, c, q, p1, r, p2, p, loss, grad_X, grad_Y.
    """
    M = _Model(u, eta, K)
    A1, A2, A3, E, X, Y = (_Q(np.asarray(inst[k], dtype=np.float64)) for k in NAMES)
    d = A1.v.shape[1]
    if scale is None:
        s = _Q(1.0 / d, u / d)                 # 1/d rounded once
    else:
        s = _Q(float(scale))                   # converted exactly
    T = M.matmul(M.matmul(A1, X), _Q(A2.v.T, A2.e.T))
    S = M.mul(T, _Q(np.full_like(T.v, s.v), np.full_like(T.v, s.e)))
    out = {"S": S}
    uq = M.exp(S)
    out["u"] = uq
    out["alpha"] = M.rowsum(uq)
    f = M.softmax(S)
    out["f"] = f
    hq = M.matmul(A3, Y)
    out["h"] = hq
    c = M.add(M.matmul(f, hq), E, sign=-1)
    out["c"] = c
    q = M.matmul(c, _Q(hq.v.T, hq.e.T))
    out["q"] = q
    p1 = M.mul(f, q)
    out["p1"] = p1
    r = M.rowsum(p1)
    out["r"] = r
    p2 = M.mul(_Q(r.v[:, None] * np.ones_like(f.v), r.e[:, None] * np.ones_like(f.v)), f)
    out["p2"] = p2
    p = M.add(p1, p2, sign=-1)
    out["p"] = p
    cc = M.mul(c, c)
    tot = _Q(cc.v.sum(), cc.e.sum() + M.g(cc.v.size - 1) * np.abs(cc.v).sum())
    out["loss"] = _Q(0.5 * tot.v, 0.5 * tot.e)
    G = M.matmul(M.matmul(_Q(A1.v.T), p), A2)
    out["grad_X"] = M.mul(G, _Q(np.full_like(G.v, s.v), np.full_like(G.v, s.e)))
    fa3 = M.matmul(f, A3)
    out["grad_Y"] = M.matmul(_Q(fa3.v.T, fa3.e.T), M.add(M.matmul(fa3, Y), E, sign=-1))
    return {k: v.e for k, v in out.items()}


def attention_bound(Q, K, V, scale=None, u=U64, eta=ETA64, Kg=None):
    """error_bounds' model for D^{-1} exp(s Q K^T) V (every sum charged gamma_Kg if given)."""
    M = _Model(u, eta, Kg)
    Qq, Kq, Vq = _Q(Q), _Q(K), _Q(V)
    d = Qq.v.shape[1]
    s = _Q(1.0 / d, u / d) if scale is None else _Q(float(scale))
    T = M.matmul(Qq, _Q(Kq.v.T))
    S = M.mul(T, _Q(np.full_like(T.v, s.v), np.full_like(T.v, s.e)))
    return M.matmul(M.softmax(S), Vq).e


def magnitudes(inst, scale=None):
    """Condition-aware magnitudes: error_bounds per unit roundoff, in the linear regime.

    |computed - exact| <= K u magnitude for small u; used for relative tolerances such
    as 10^-(dps-10) at mpmath precision.
    """
    tiny = 2.0 ** -100
    return {k: v / tiny for k, v in error_bounds(inst, scale, u=tiny, eta=0.0).items()}


def mp_tol(mag, dps=50):
    """The team's mpmath tolerance 10^-(dps-10), relative to the condition-aware magnitude."""
    return 10.0 ** -(dps - 10) * np.asarray(mag)



def abs_scale(inst, scale=None):
    """The size of each quantity without cancellation: its formula evaluated on absolute values.

    (f and u are positive already; S_abs = |s| |A1| |X| |A2|^T enters through exp only.)
    Used as the scale of relative tolerances such as "1e-9 relative" in float64.
    """
    A1, A2, A3, E, X, Y = (np.abs(np.asarray(inst[k], dtype=np.float64)) for k in NAMES)
    n, d = A1.shape
    s = 1.0 / d if scale is None else abs(float(scale))
    S = s * (np.asarray(inst["A1"], dtype=np.float64) @ np.asarray(inst["X"], dtype=np.float64)
             @ np.asarray(inst["A2"], dtype=np.float64).T)
    with np.errstate(over="ignore"):
        uu = np.exp(S)
    w = np.exp(S - S.max(axis=1, keepdims=True))
    f = w / w.sum(axis=1, keepdims=True)
    h = A3 @ Y
    c = f @ h + E
    q = c @ h.T
    p1 = f * q
    r = p1.sum(axis=1)
    p2 = r[:, None] * f
    p = p1 + p2
    return {"S": s * (A1 @ X @ A2.T), "u": uu, "alpha": uu.sum(axis=1), "f": f, "h": h, "c": c,
            "q": q, "p1": p1, "r": r, "p2": p2, "p": p, "loss": 0.5 * (c * c).sum(),
            "grad_X": s * (A1.T @ p @ A2), "grad_Y": (f @ A3).T @ (f @ A3 @ Y + E)}
