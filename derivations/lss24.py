"""LSS24's objects on instances, shared by the lss24_* statement modules (no statements here).

LSS24 (Liang, Sha, Shi, Song, Zhou, arXiv 2408.13233) states one layer as
Attn(X) = Softmax(X W X^T / d) X W_V with W = W_Q W_K^T (Definitions 1.2, C.3), but its
Appendix C drops the 1/d (Definition C.6: u(X) = exp(X W X^T)) and derives every gradient in
that unscaled model. The exponent's factor is ``t`` here: t = 1 is the appendix's model
(Definitions C.6 to C.12), t = 1/d Definition C.3's (attngrad.transformer's default scale for
one head).

G is the upstream gradient dL/dAttn (Lemma C.4). Every appendix lemma holds for any G: by
Lemma C.4's chain rule the layer's gradients are those of the scalar <G, Attn(X)> with G
fixed, so the instances draw G at random like X, W, W_V.

Oracles:

* :func:`fd_gradients`: central differences at 90 digits (step 2^-100) of <G, s(X)>, with s
  written out by loops (derivations/lss24_model.py's softmax by loops), for X, W and W_V;
* :func:`library_gradients`: attngrad.transformer.gradient on the layer (W_Q, W_K) = (W, I), so
  that its dL/dW_Q is dL/dW.

Low-rank f (Lemma C.13): :func:`lowrank` builds AS23's factors with the Taylor polynomial of
exp (our construction, independent of attngrad.fast): exp(<q, k>) ~ sum_{|a| <= g} q^a k^a / a!
with q_i = t (X W)_{i,*}, k_j = X_{j,*}, rank binom(g + d, d); its relative error is at most
eta = B^{g+1} e^{2B} / (g+1)! for scores |S_ij| <= B (Lagrange's remainder), so
|f~ - f| <= 2 eta / (1 - eta) f entrywise after normalisation. It runs in ball arithmetic, so
every bound checked on it is certified.
"""
from __future__ import annotations

import itertools
import math
from functools import lru_cache

import mpmath
import numpy as np
import sympy

from attngrad import transformer as tr
from attngrad.backend import MpmathNamespace

from .lss24_model import _fd_entries, _rand_dyadic, _softmax_def, _softmax_loops, _syms

PAPER = "LSS24"
MPNS = MpmathNamespace()
# (n, d, seed): the instances of the closed-form checks (d = 1 is where 1/d and W^T do not show)
CASES = ((5, 3, 1), (4, 2, 2), (3, 1, 3))


def rerun(sid: str) -> str:
    return f"Rerun: attngrad check --only \"{sid}\""


# ---------------------------------------------------------------------------
# instances and the objects of Appendix C


@lru_cache(maxsize=None)
def instance(n, d, seed, bound=1.0):
    """Exact dyadic X (n x d, entries <= bound), W, W_V (d x d, <= 1/2), G (n x d, <= 1)."""
    rng = np.random.default_rng(1000 + seed)
    X = _rand_dyadic(rng, (n, d), bound)
    W, WV = _rand_dyadic(rng, (d, d), 0.5), _rand_dyadic(rng, (d, d), 0.5)
    G = _rand_dyadic(rng, (n, d), 1.0)
    return {"X": X, "W": W, "WV": WV, "G": G, "n": n, "d": d}


def scale(inst, which):
    """t: 1 for the appendix's model ("C.6"), 1/d for Definition C.3's ("C.3")."""
    return mpmath.mpf(1) if which == "C.6" else mpmath.mpf(1) / inst["d"]


def causal_mask(n):
    """M of Definition I.2: M_ij = 1 if i >= j, else 0 (integers)."""
    return np.tril(np.ones((n, n), dtype=int))


def objects(X, W, WV, G, t, exp=None, causal=False):
    """Appendix C's objects (Definitions C.6 to C.12, D.16, Lemma D.17's z's) by matrix
    operations on object arrays (mpf or arb); exp: the elementwise exp (mpmath's default);
    causal: u = M o exp(S), so f = D^{-1} (M o A) (Definition I.5)."""
    exp = exp or np.frompyfunc(mpmath.exp, 1, 1)
    S = (X @ W @ X.T) * t
    u = np.asarray(exp(S), dtype=object)               # Definition C.6 (t = 1)
    if causal:
        u = u * causal_mask(X.shape[0])
    alpha = u.sum(axis=1)                               # Definition C.7
    f = u / alpha[:, None]                              # Definition C.8
    h = X @ WV                                          # Definition C.9
    s = f @ h                                           # Definition C.10
    q = G @ h.T                                         # Definition C.11
    p1 = f * q                                          # Definition C.12
    p2 = p1.sum(axis=1)[:, None] * f
    K = (G * s).sum(axis=1)                             # Definition D.16
    return dict(S=S, u=u, alpha=alpha, f=f, h=h, s=s, q=q, p1=p1, p2=p2, p=p1 - p2, K=K,
                z6=f * K[None, :], z7=f * (h @ G.T), z2=K[:, None] * f, z4=f * q)


@lru_cache(maxsize=None)
def objs(n, d, seed, which="C.6", causal=False):
    inst = instance(n, d, seed)
    with mpmath.workdps(50):
        return objects(inst["X"], inst["W"], inst["WV"], inst["G"], scale(inst, which),
                       causal=causal)


def s_loops(X, W, WV, t):
    """s(X) = f(X) h(X) by plain loops (the oracle's forward)."""
    n, d = X.shape
    S = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(n):
            S[i, j] = t * mpmath.fsum(X[i, a] * W[a, b] * X[j, b]
                                      for a in range(d) for b in range(d))
    f = _softmax_loops(S, False)
    return [[mpmath.fsum(f[i, k] * mpmath.fsum(X[k, a] * WV[a, j] for a in range(d))
                         for k in range(n)) for j in range(d)] for i in range(n)]


@lru_cache(maxsize=None)
def fd_gradients(n, d, seed, which="C.6"):
    """d<G, s>/dX, dW, dW_V by central differences at 90 digits (entry by entry)."""
    inst = instance(n, d, seed)
    t = scale(inst, which)
    G = inst["G"]

    def value(leaves):
        s = s_loops(leaves["X"], leaves["W"], leaves["WV"], t)
        return mpmath.fsum(G[i, j] * s[i][j] for i in range(n) for j in range(d))

    leaves = {k: inst[k] for k in ("X", "W", "WV")}
    return {k: _fd_entries(value, leaves, k) for k in leaves}


@lru_cache(maxsize=None)
def library_gradients(n, d, seed, which="C.6", causal=False):
    """attngrad.transformer.gradient of <G, Attn> for the layer (W_Q, W_K, W_V) = (W, I, W_V)
    with the exponent's factor t (and the causal mask): dL/dX, dL/dW (= dL/dW_Q as W_K = I),
    dL/dW_V."""
    inst = instance(n, d, seed)
    eye = np.empty((d, d), dtype=object)
    for a, b in itertools.product(range(d), range(d)):
        eye[a, b] = mpmath.mpf(int(a == b))
    with mpmath.workdps(50):
        g = tr.gradient(inst["X"], [tr.Layer(inst["W"], eye, inst["WV"], causal=causal)],
                        inst["G"], scale=scale(inst, which))
    return {"X": g.X, "W": g.layers[0]["W_Q"], "WV": g.layers[0]["W_V"]}


def cases_compute(cases, run, tag_of):
    """A step's compute: run(case) -> (lhs, rhs) or [(label, lhs, rhs)] for every case, each
    label prefixed with tag_of(case)."""
    def compute():
        out = []
        for case in cases:
            res = run(case)
            res = res if isinstance(res, list) else [("", *res)]
            tag = tag_of(case)
            out.extend(((f"{tag} {lab}".strip()), lhs, rhs) for lab, lhs, rhs in res)
        return out
    return compute


def each_case(fn, cases=CASES):
    """A step's compute over CASES: fn(n, d, seed) -> (lhs, rhs) or [(label, lhs, rhs)]."""
    return cases_compute(cases, lambda case: fn(*case), lambda case: f"n={case[0]},d={case[1]}")


def diag(v):
    """diag(v) of an object vector."""
    out = np.empty((len(v), len(v)), dtype=object)
    out.fill(0 * v[0])
    for i, x in enumerate(v):
        out[i, i] = x
    return out


# ---------------------------------------------------------------------------
# symbolic model (tiny sizes)


def sym_model(n, d, transpose_w=False):
    """Symbolic X, W, W_V and s(X) of Definitions C.6 to C.10 (exp kept as Ex); with
    ``transpose_w`` the exponent is X W^T X^T instead of X W X^T."""
    X, W, WV = _syms("X", n, d), _syms("W", d, d), _syms("V", d, d)
    Wx = W.T if transpose_w else W
    S = np.array([[sympy.expand(sum(X[i, a] * Wx[a, b] * X[k, b]
                                    for a in range(d) for b in range(d)))
                   for k in range(n)] for i in range(n)], dtype=object)
    f = _softmax_def(S, False)
    h = X @ WV
    return {"X": X, "W": W, "WV": WV, "f": f, "h": h, "s": f @ h, "n": n, "d": d}


def generic(n, d):
    """Independent symbols for the objects the matrix views rearrange (no softmax needed:
    Lemmas D.3 to D.17 are algebra on f, s, h, X, W, W_V, G)."""
    return {"f": _syms("f", n, n), "s": _syms("s", n, d), "h": _syms("h", n, d),
            "X": _syms("X", n, d), "W": _syms("W", d, d), "WV": _syms("V", d, d),
            "G": _syms("G", n, d), "n": n, "d": d}


# ---------------------------------------------------------------------------
# low-rank f: AS23's polynomial method with the Taylor polynomial (Lemma C.13)


def exponents(d, degree):
    """Every a in N^d with |a| <= degree (one column of U0, V0 each)."""
    return [a for a in itertools.product(range(degree + 1), repeat=d) if sum(a) <= degree]


def taylor_factors(Q, K, degree, one=None):
    """U0, V0 with (U0 V0^T)_ij = sum_{m <= g} <q_i, k_j>^m / m!: U0[:, a] = q^a / a!,
    V0[:, a] = k^a (multinomial theorem), one column per a in N^d with |a| <= g, built by
    element-wise products only (so attngrad.opcount counts them): O(n g binom(g + d, d))."""
    cols = exponents(Q.shape[1], degree)

    def feat(Z, with_factorial):
        out = []
        for a in cols:
            col = Z[:, 0] * 0 + 1
            for m, power in enumerate(a):
                for _ in range(power):
                    col = col * Z[:, m]
            if with_factorial:
                col = col / math.prod(math.factorial(x) for x in a)
            out.append(col)
        return np.stack(out, axis=1)
    return feat(Q, True), feat(K, False)


def taylor_eta(B, degree):
    """An upper bound (a ball's upper end) of sup_{|x| <= B} |T_g(x) e^{-x} - 1|:
    B^{g+1} e^{2B} / (g+1)!."""
    import flint
    B = flint.arb(B) if not hasattr(B, "upper") else B
    return (B ** (degree + 1) * (2 * B).exp() / math.factorial(degree + 1)).upper()


LOWRANK_CASES = ((12, 2, 4, 3), (9, 3, 5, 2))   # (n, d, seed, Taylor degree g)


@lru_cache(maxsize=None)
def lowrank(n, d, seed, degree, which="C.6"):
    """Everything Appendices C.4, E, F.4, G.3 need, in ball arithmetic (160 bits): the instance,
    the exact objects, U1, V1 (Lemma C.13) and eps1 = max |U1 V1^T - f|."""
    import flint

    from attngrad.ball import BallNamespace, to_ball

    inst = instance(n, d, seed, 0.5)
    bns = BallNamespace()
    with flint.ctx.workprec(160):
        X, W, WV, G = (to_ball(inst[k]) for k in ("X", "W", "WV", "G"))
        t = flint.arb(1) if which == "C.6" else flint.arb(1) / d
        ob = objects(X, W, WV, G, t, exp=bns.exp)
        U0, V0 = taylor_factors((X @ W) * t, X, degree)
        alpha_t = U0 @ V0.sum(axis=0)                    # (U0 V0^T) 1_n in O(n k1)
        U1, V1 = U0 / alpha_t[:, None], V0
        ft = U1 @ V1.T
        B = max(abs(v).upper() for v in ob["S"].reshape(-1))
        eta = taylor_eta(B, degree)
        eps1 = max(abs(v).upper() for v in (ft - ob["f"]).reshape(-1))
    return dict(ob, X=X, W=W, WV=WV, G=G, t=t, U0=U0, V0=V0, U1=U1, V1=V1, ft=ft, B=B,
                eta=eta, eps1=eps1, n=n, d=d, degree=degree, k1=U0.shape[1])


def each_lowrank(fn, cases=LOWRANK_CASES, which="C.6"):
    """A step's compute over LOWRANK_CASES: fn(ctx) -> (lhs, rhs) or [(label, lhs, rhs)]."""
    def run(case):
        import flint
        ctx = lowrank(*case, which=which)
        with flint.ctx.workprec(160):
            return fn(ctx)
    return cases_compute(cases, run, lambda case: f"n={case[0]},d={case[1]},g={case[3]}")


def norm_inf(a):
    """||a||_inf (largest |entry|) of an object array of balls, as a ball's upper end."""
    return max(abs(v).upper() for v in np.asarray(a, dtype=object).reshape(-1))


# ---------------------------------------------------------------------------
# operation counts (attngrad.opcount on the evaluation orders the proofs print)

n_, d_, k_ = sympy.symbols("n d k", positive=True)
COUNT_DIMS = {n_: 11, d_: 3, k_: 5}     # distinct primes: every size factors into n, d, k


def op_count(fn, shapes, dims=None):
    """Scalar operations of fn(ns, *arrays) on counted float64 arrays of the given shapes, as
    a SymPy polynomial in n, d, k (shapes written with the primes of COUNT_DIMS)."""
    from attngrad import opcount

    dims = dims or COUNT_DIMS
    ns = opcount.CountingNamespace()
    rng = np.random.default_rng(0)
    fn(ns, *[ns.wrap(rng.standard_normal(s)) for s in shapes])
    return opcount.symbolic(ns.log, dims)["total"]


def n_degree(poly):
    """The degree in n of a count polynomial."""
    return sympy.Poly(poly, n_).degree()


# ---------------------------------------------------------------------------
# Lemma 3.4 / C.4: the chain rule on a two-layer model


def _attn_loops(T, WQ, WK, WV):
    """Attn(T) (one head, scale 1/d) by derivations/model_loops.py's loops, as an array."""
    from .model_loops import forward_loops
    layer = tr.Layer(WQ, WK, WV)
    return np.array(forward_loops(T, [(WQ, WK, WV, None)], [layer]), dtype=object)


@lru_cache(maxsize=None)
def chain_case(n=3, d=2, seed=5):
    """Two layers with tanh MLPs, L = <E, T_2>. Layer 1's G_1 = dL/dAttn_1 by central
    differences of the rest of the model (loops, 90 digits); then sum_{j,k} G_1(j,k)
    dAttn_1(T_0)_{j,k}/dZ for Z = T_0, W_1 = W_Q W_K^T, W_Q, W_K, W_V (central differences of
    <G_1, Attn_1>), against attngrad.transformer's gradients (50 digits)."""
    from .model_loops import forward_loops
    rng = np.random.default_rng(900 + seed)
    X, E = _rand_dyadic(rng, (n, d), 1.0), _rand_dyadic(rng, (n, d), 1.0)
    Wq, Wk, Wv, Wg = (_rand_dyadic(rng, (d, d), 0.5) for _ in range(4))
    top = [_rand_dyadic(rng, (d, d), 0.5) for _ in range(4)]
    layer2 = tr.Layer(*top[:3], W_g=top[3], phi="tanh")
    eye = np.empty((d, d), dtype=object)
    for a, b in itertools.product(range(d), range(d)):
        eye[a, b] = mpmath.mpf(int(a == b))

    def rest(A):
        T1 = np.frompyfunc(mpmath.tanh, 1, 1)(A @ Wg)
        T2 = forward_loops(T1, [tuple(top)], [layer2])
        return mpmath.fsum(E[i, j] * T2[i][j] for i in range(n) for j in range(d))

    with mpmath.workdps(50):
        A1 = _attn_loops(X, Wq, Wk, Wv)
    G1 = _fd_entries(lambda lv: rest(lv["A"]), {"A": A1}, "A")

    def pairing(leaves):
        A = _attn_loops(leaves["T"], leaves["WQ"], leaves["WK"], leaves["WV"])
        return mpmath.fsum((G1 * A).reshape(-1))

    leaves = {"T": X, "WQ": Wq, "WK": Wk, "WV": Wv}
    rhs = {k: _fd_entries(pairing, leaves, k) for k in leaves}
    W1 = Wq @ Wk.T
    rhs["W"] = _fd_entries(lambda lv: mpmath.fsum((G1 * _attn_loops(X, lv["W"], eye, Wv))
                                                  .reshape(-1)), {"W": W1}, "W")
    with mpmath.workdps(50):
        top_layer = [layer2]
        g = tr.gradient(X, [tr.Layer(Wq, Wk, Wv, W_g=Wg, phi="tanh")] + top_layer, E)
        gW = tr.gradient(X, [tr.Layer(W1, eye, Wv, W_g=Wg, phi="tanh")] + top_layer, E)
    lhs = {"T": g.X, "WQ": g.layers[0]["W_Q"], "WK": g.layers[0]["W_K"],
           "WV": g.layers[0]["W_V"], "W": gW.layers[0]["W_Q"]}
    return lhs, rhs


# ---------------------------------------------------------------------------
# the whole model by the corrected closed forms (Lemmas H.2, J.3 and D.17 corrected)

_TANH = np.frompyfunc(mpmath.tanh, 1, 1)
_DTANH = np.frompyfunc(lambda v: 1 - mpmath.tanh(v) ** 2, 1, 1)


@lru_cache(maxsize=None)
def stack_case(m, n, d, seed, residual=False, g0=True):
    """X, E (L = <E, F_m(X)>), g_0's W_g0 and m layers (tanh MLPs; residuals around attention
    and MLP if ``residual``), exact dyadic."""
    rng = np.random.default_rng(1500 + seed)
    X, E = _rand_dyadic(rng, (n, d), 1.0), _rand_dyadic(rng, (n, d), 1.0)
    Wg0 = _rand_dyadic(rng, (d, d), 0.5) if g0 else None
    params, layers = [], []
    for _ in range(m):
        W = tuple(_rand_dyadic(rng, (d, d), 0.5) for _ in range(4))
        params.append(W)
        layers.append(tr.Layer(*W[:3], W_g=W[3], phi="tanh", residual=residual,
                               mlp_residual=residual))
    return {"X": X, "E": E, "Wg0": Wg0, "params": params, "layers": layers, "n": n, "d": d}


def closed_form_gradient(case, upstream=None):
    """dL/dX of the model by the paper's chain with the corrected closed forms: per layer from
    the top, dP = dT o phi'(P), dZ = dP W_g^T (+ dT) (Lemmas H.2, J.3), G = dZ, dT_{i-1} = f^T G
    W_V^T + (p T W^T + p^T T W) / d (+ dZ) (Lemma D.17 corrected, J.3); then g_0 by Lemma H.2."""
    X, Wg0 = case["X"], case["Wg0"]
    d = case["d"]
    T = _TANH(X @ Wg0) if Wg0 is not None else X
    cache = []
    for (WQ, WK, WV, Wg), layer in zip(case["params"], case["layers"]):
        W = WQ @ WK.T
        S = (T @ W @ T.T) / d
        f = _softmax_loops(S, False)
        Z = f @ T @ WV + (T if layer.residual else 0)
        P = Z @ Wg
        cache.append((T, W, WV, Wg, f, P, layer))
        T = _TANH(P) + (Z if layer.mlp_residual else 0)
    dT = case["E"] if upstream is None else upstream
    for T, W, WV, Wg, f, P, layer in reversed(cache):
        dZ = (dT * _DTANH(P)) @ Wg.T + (dT if layer.mlp_residual else 0)
        q = dZ @ (T @ WV).T
        p = f * q - (f * q).sum(axis=1)[:, None] * f
        dT = f.T @ dZ @ WV.T + (p @ T @ W.T + p.T @ T @ W) / d + (dZ if layer.residual else 0)
    if Wg0 is not None:
        dT = (dT * _DTANH(X @ Wg0)) @ Wg0.T
    return dT


def fd_model_gradient(case):
    """dL/dX by central differences (90 digits) of the loops model with g_0 (tanh(X W_g0))."""
    from .model_loops import forward_loops
    n, d, E, Wg0 = case["n"], case["d"], case["E"], case["Wg0"]

    def value(leaves):
        T0 = _TANH(leaves["X"] @ Wg0) if Wg0 is not None else leaves["X"]
        T = forward_loops(T0, case["params"], case["layers"])
        return mpmath.fsum(E[i, j] * T[i][j] for i in range(n) for j in range(d))

    return _fd_entries(value, {"X": case["X"]}, "X")


def layer_map(case, i):
    """The n d x n d matrix of the linear map dL/dT_i -> dL/dT_{i-1} of layer i (1-based),
    from attngrad.transformer on unit upstream gradients, and its infinity norm (largest
    absolute row sum): the factor by which layer i can amplify an error in dL/dT_i."""
    n, d = case["n"], case["d"]
    T = case["X"]
    if i > 1:
        T = tr.forward(T, case["layers"][:i - 1])
    layer = case["layers"][i - 1:i]
    cols = []
    for a, b in itertools.product(range(n), range(d)):
        e = np.empty((n, d), dtype=object)
        e.fill(mpmath.mpf(0))
        e[a, b] = mpmath.mpf(1)
        cols.append(tr.gradient(T, layer, e).X.reshape(-1))
    J = np.stack(cols, axis=1)
    kappa = max(mpmath.fsum(abs(v) for v in row) for row in J)
    return J, kappa
