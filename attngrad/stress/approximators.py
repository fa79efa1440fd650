"""Fast approximations of dL/dX, each a function with attngrad.gradient's signature.

Every approximator here builds an approximation f~ of f(x) = D^{-1} exp(s A1 X A2^T)
(Definition 3.4) and then runs the backward formulas of Appendix C with f~ in
place of f (Definitions 3.6, C.3, C.5, Lemma C.7):

    c~ = f~ h - E,   q~ = c~ h^T,   p~ = f~ o q~ - diag(r~) f~,   dL/dX ~ s A1^T p~ A2.

For factored f~ (low rank U V^T, or k entries per row) the same gradient is
computed without forming any n x n matrix (:func:`backward_factored`), in the
way Section D does for the polynomial method; :func:`backward_dense` runs
``attngrad.formulas`` verbatim on a materialised f~ and serves as the cross-check.

Methods (all in one code path for numpy and CuPy; the random features also run
on mpmath object arrays):

* :func:`random_features_gradient` -- positive random features of the softmax
  kernel (Performer / FAVOR+), ``features`` = m samples, rank m.
* :func:`svd_gradient` -- best rank-``rank`` approximation of f (truncated SVD
  of the exact f: an oracle lower bound for every rank-``rank`` method, not a
  fast method itself).
* :func:`topk_gradient` -- softmax restricted to the ``k`` largest scores of
  each row (an oracle for sparse attention: the top k are found exactly).
* :func:`polynomial_gradient` -- the project's polynomial method (Lemma D.1) at a
  fixed degree, from :mod:`attngrad.fast`.
"""
from __future__ import annotations

import numpy as np

from .. import formulas as F
from .. import validate


# --------------------------------------------------------------------------
# argument checking


def _setup(A1, A2, A3, E, X, Y, scale):
    ns, dims, (A1, A2, A3, E, X, Y) = validate.loss_args(A1, A2, A3, E, X, Y)
    s = F.scale_value(ns, scale, dims["d"])
    return ns, dims, (A1, A2, A3, E, X, Y), s


def _float_only(ns, who):
    if ns.name == "mpmath":
        raise TypeError(f"{who}: needs numpy or CuPy float arrays (it uses an SVD / sort "
                        "that has no mpmath version); convert with attngrad.to_float64")


# --------------------------------------------------------------------------
# the backward pass for an approximate f


def backward_dense(ns, f_tilde, A1, A2, hy, E, s):
    """dL/dX with f replaced by the n x n matrix ``f_tilde``: Lemma C.7 via attngrad.formulas.

    c~ = f~ h - E (Def 3.6), q~ = c~ h^T (Def C.3), p~ = f~ o q~ - diag(r~) f~ (Def C.5),
    result s A1^T p~ A2.
    """
    cx = F.c(ns, f_tilde, hy, E)
    qx = F.q(ns, cx, hy)
    return ((A1.T @ F.p(ns, f_tilde, qx)) @ A2) * s


def backward_factored(ns, apply_f, A1, A2, hy, E, s):
    """The same gradient as :func:`backward_dense` from products M -> f~ M only.

    ``apply_f(M)`` returns f~ M for an n x m matrix M. With h = h(y) (n x d) and
    h_b its column b:

    * c~ = f~ h - E                                             (Def 3.6)
    * r~_j = <f~_j, q~_j> = sum_b c~_{j,b} (f~ h)_{j,b}          (Lemma D.5, since q~ = c~ h^T)
    * p1~ A2 = (f~ o c~ h^T) A2 = sum_b diag(c~_{*,b}) f~ diag(h_b) A2   (Lemma D.4, Fact A.2)
    * p2~ A2 = diag(r~) f~ A2                                   (Lemma D.5)
    * dL/dX ~ s A1^T (p1~ A2 - p2~ A2)                         (Lemma C.7, Theorem D.6)

    One call of ``apply_f`` on n x (2d + d^2) columns: O(n k d^2) for rank k, no n x n matrix.
    """
    xp = ns.xp
    d = A2.shape[1]
    dh = hy.shape[1]
    blocks = [hy, A2] + [hy[:, b:b + 1] * A2 for b in range(dh)]
    FM = apply_f(xp.concatenate(blocks, axis=1))
    fh = FM[:, :dh]
    fA2 = FM[:, dh:dh + d]
    cx = fh - E
    rx = xp.sum(cx * fh, axis=1)
    p1A2 = None
    for b in range(dh):
        start = dh + d + b * d
        term = cx[:, b:b + 1] * FM[:, start:start + d]
        p1A2 = term if p1A2 is None else p1A2 + term
    pA2 = p1A2 - rx[:, None] * fA2
    return (A1.T @ pA2) * s


class LowRank:
    """f~ = U V^T (n x k factors), applied as U (V^T M)."""

    def __init__(self, U, V):
        self.U, self.V = U, V

    @property
    def rank(self):
        return self.U.shape[1]

    def apply(self, M):
        return self.U @ (self.V.T @ M)

    def dense(self):
        return self.U @ self.V.T


class RowSparse:
    """f~ with k entries per row: f~[j, idx[j, t]] = w[j, t]."""

    def __init__(self, ns, idx, w, chunk_elements=1 << 22):
        self.ns, self.idx, self.w = ns, idx, w
        self.chunk_elements = chunk_elements

    def _chunks(self, width):
        n, k = self.idx.shape
        rows = max(1, self.chunk_elements // max(1, k * width))
        return range(0, n, rows), rows

    def apply(self, M):
        xp = self.ns.xp
        starts, rows = self._chunks(M.shape[1])
        return xp.concatenate([xp.sum(self.w[a:a + rows, :, None] * M[self.idx[a:a + rows]], axis=1)
                               for a in starts], axis=0)

    def dense(self):
        xp = self.ns.xp
        n, k = self.idx.shape
        out = self.ns.zeros((n, n))
        out[xp.arange(n)[:, None], self.idx] = self.w
        return out


def backward_sparse(ns, op, A1, A2, hy, E, s):
    """The gradient of :func:`backward_dense` for a row-sparse f~, on its support only.

    With the support idx (k per row) and weights w: c~ = f~ h - E (Def 3.6);
    q~_{j,t} = <c~_j, h_{idx[j,t]}> (Def C.3, only where f~ is nonzero);
    r~_j = sum_t w_{j,t} q~_{j,t}; p~_{j,t} = w_{j,t} (q~_{j,t} - r~_j) (Def C.5);
    dL/dX ~ s A1^T (p~ A2) (Lemma C.7). O(n k d) time, no n x n matrix.
    """
    xp = ns.xp
    starts, rows = op._chunks(hy.shape[1] + A2.shape[1])
    parts = []
    for a in starts:
        idx, w = op.idx[a:a + rows], op.w[a:a + rows]
        hg = hy[idx]                                             # rows x k x d
        cx = xp.sum(w[:, :, None] * hg, axis=1) - E[a:a + rows]
        qs = xp.sum(hg * cx[:, None, :], axis=2)                 # rows x k
        rx = xp.sum(w * qs, axis=1)
        ps = w * (qs - rx[:, None])
        parts.append(xp.sum(ps[:, :, None] * A2[idx], axis=1))
    return (A1.T @ xp.concatenate(parts, axis=0)) * s


# --------------------------------------------------------------------------
# random features (Performer / FAVOR+ positive features)


def gaussian_directions(d, m, seed, orthogonal=True):
    """m x d Gaussian directions (numpy float64, drawn on the host from ``seed``).

    With ``orthogonal``, blocks of d rows are orthogonal and rescaled to the norms of
    independent Gaussian vectors (orthogonal random features); each row is still
    N(0, I_d) in distribution.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if not orthogonal:
        return rng.standard_normal((m, d))
    blocks = []
    for _ in range(-(-m // d)):
        Qm, Rm = np.linalg.qr(rng.standard_normal((d, d)))
        Qm = Qm * np.sign(np.diag(Rm))[None, :]
        norms = np.linalg.norm(rng.standard_normal((d, d)), axis=1)
        blocks.append(Qm.T * norms[:, None])
    return np.concatenate(blocks, axis=0)[:m]


def random_feature_factors(ns, Q, K, W):
    """Positive random features: exp(<q, k>) = E_w[phi(q) phi(k)], phi(x) = exp(<w, x> - |x|^2 / 2).

    Returns a :class:`LowRank` with f~ = diag(Phi_q Phi_k^T 1)^{-1} Phi_q Phi_k^T. A
    per-row constant on the query side and one constant on the key side cancel in
    the normalisation, so each is taken out of the exponent first (no overflow).
    """
    xp = ns.xp
    half = ns.scalar(1) / ns.scalar(2)
    lq = Q @ W.T - half * xp.sum(Q * Q, axis=1)[:, None]
    lk = K @ W.T - half * xp.sum(K * K, axis=1)[:, None]
    phi_q = ns.exp(lq - xp.max(lq, axis=1, keepdims=True))
    phi_k = ns.exp(lk - xp.max(lk))
    denom = phi_q @ xp.sum(phi_k, axis=0)
    return LowRank(phi_q / denom[:, None], phi_k)


def random_features_gradient(A1, A2, A3, E, X, Y, *, features, seed=0, orthogonal=True,
                             scale=None):
    """dL/dX with f approximated by ``features`` positive random features (FAVOR+).

    exp(s <a1_j X, a2_l>) = exp(<q_j, k_l>) with q = sqrt(s) A1 X, k = sqrt(s) A2;
    the directions are Gaussian (orthogonal blocks by default), drawn on the host from
    ``seed`` (an int or a numpy Generator) and moved into the inputs' number system.
    """
    ns, dims, (A1, A2, A3, E, X, Y), s = _setup(A1, A2, A3, E, X, Y, scale)
    m = validate.integer("features", features)
    root = s ** (ns.scalar(1) / ns.scalar(2))
    W = ns.asarray(gaussian_directions(dims["d"], m, seed, orthogonal))
    op = random_feature_factors(ns, (A1 @ X) * root, A2 * root, W)
    return backward_factored(ns, op.apply, A1, A2, F.h(ns, A3, Y), E, s)


# --------------------------------------------------------------------------
# truncated SVD and top-k (oracles)


def exact_f(ns, A1, A2, X, s):
    """f(x) of Definition 3.4 (row-max-stabilised softmax of s A1 X A2^T)."""
    return F.softmax_rows(ns, F.scores(ns, A1, A2, X, s))


def svd_of_f(A1, A2, A3, E, X, Y, *, scale=None):
    """(U, S, Vt), the SVD of f(x) (Definition 3.4), for reuse across ranks in svd_gradient."""
    ns, dims, (A1, A2, A3, E, X, Y), s = _setup(A1, A2, A3, E, X, Y, scale)
    _float_only(ns, "svd_of_f")
    return _svd_of_f(ns, A1, A2, X, s)


def _svd_of_f(ns, A1, A2, X, s):
    return ns.xp.linalg.svd(exact_f(ns, A1, A2, X, s), full_matrices=False)


def svd_factors(svd, rank):
    """The best rank-``rank`` approximation U V^T of f (Eckart-Young) from its SVD."""
    U, S, Vt = svd
    return LowRank(U[:, :rank] * S[None, :rank], Vt[:rank].T)


def svd_gradient(A1, A2, A3, E, X, Y, *, rank, svd=None, scale=None):
    """dL/dX with f replaced by its truncated SVD of rank ``rank``.

    Not a fast algorithm (it forms f and its SVD): it is the best any rank-``rank``
    approximation of f can do in the Frobenius and spectral norms, so it shows whether
    a low-rank f~ is possible at all on an instance. ``svd``: the output of
    :func:`svd_of_f` on the same inputs, to share one SVD between several ranks.
    """
    ns, dims, (A1, A2, A3, E, X, Y), s = _setup(A1, A2, A3, E, X, Y, scale)
    _float_only(ns, "svd_gradient")
    k = validate.integer("rank", rank, maximum=dims["n"], maximum_name="n")
    if svd is None:
        svd = _svd_of_f(ns, A1, A2, X, s)
    elif len(svd) != 3 or svd[0].shape != (dims["n"], dims["n"]):
        raise ValueError(f"svd: expected (U, S, Vt) of the n x n matrix f from svd_of_f, n = {dims['n']}")
    op = svd_factors(svd, k)
    return backward_factored(ns, op.apply, A1, A2, F.h(ns, A3, Y), E, s)


def topk_factors(ns, S, k):
    """Row-sparse f~: the softmax of each row's k largest scores, zero elsewhere."""
    xp = ns.xp
    n = S.shape[1]
    if k >= n:
        idx = xp.broadcast_to(xp.arange(n)[None, :], S.shape)
    else:
        idx = xp.argpartition(-S, k - 1, axis=1)[:, :k]
    vals = xp.take_along_axis(S, idx, axis=1)
    return RowSparse(ns, idx, F.softmax_rows(ns, vals))


def topk_gradient(A1, A2, A3, E, X, Y, *, k, scale=None):
    """dL/dX with each row of f restricted to its ``k`` largest scores and renormalised.

    The top k are found exactly (O(n^2) scores): this is the best case of sparse
    attention (what an ideal LSH or clustering scheme would find), not a fast method.
    """
    ns, dims, (A1, A2, A3, E, X, Y), s = _setup(A1, A2, A3, E, X, Y, scale)
    _float_only(ns, "topk_gradient")
    k = validate.integer("k", k, maximum=dims["n"], maximum_name="n")
    op = topk_factors(ns, F.scores(ns, A1, A2, X, s), k)
    return backward_sparse(ns, op, A1, A2, F.h(ns, A3, Y), E, s)


# --------------------------------------------------------------------------
# the polynomial method


def polynomial_gradient(A1, A2, A3, E, X, Y, *, degree, basis="chebyshev", scale=None):
    """dL/dX by the polynomial method of Section D at a fixed ``degree`` (uncertified).

    Delegates to ``attngrad.fast.gradient_fixed_degree``; the rank of its factors is
    binom(degree + d, d).
    """
    from ..fast import gradient_fixed_degree
    degree = validate.integer("degree", degree)
    # certify=False: time the algorithm, not the interval-arithmetic certificate
    return gradient_fixed_degree(A1, A2, A3, E, X, Y, degree=degree, basis=basis, scale=scale,
                                 certify=False)
