"""An independent reference: Definition 1.2 and the paper's definitions as plain loops over mpmath.

Nothing here calls attngrad; every quantity is a nested list of mpmath numbers,
computed at the current ``mpmath.mp`` precision straight from the definitions
(no max-subtraction: mpmath does not overflow). The gradients come from the
chain rule written out by hand:

* S_{il} = s sum_{a,b} A1_{ia} X_{ab} A2_{lb}, f_{il} = exp(S_{il}) / sum_j exp(S_{ij}),
  so d f_{il} / d X_{ab} = f_{il} (s A1_{ia} A2_{lb} - sum_j f_{ij} s A1_{ia} A2_{jb});
* L = 1/2 sum_{i,k} c_{ik}^2 with c = f h - E, h = A3 Y, hence
  dL/dX_{ab} = s sum_i A1_{ia} sum_l f_{il} A2_{lb} sum_k c_{ik} (h_{lk} - sum_j f_{ij} h_{jk}),
  dL/dY_{ab} = sum_i c_{ib} sum_l f_{il} A3_{la}.
"""
from __future__ import annotations

import mpmath


def _mp(a):
    """Nested lists of mpf from a numpy array (float or object) or nested lists: exact."""
    if hasattr(a, "tolist"):
        a = a.tolist()
    return [[mpmath.mpf(x) for x in row] for row in a]


def _scale(d, scale):
    return mpmath.mpf(1) / d if scale is None else mpmath.mpf(scale)


def scores(A1, A2, X, scale=None):
    A1, A2, X = _mp(A1), _mp(A2), _mp(X)
    n, d = len(A1), len(A1[0])
    s = _scale(d, scale)
    return [[s * mpmath.fsum(A1[i][a] * X[a][b] * A2[l][b] for a in range(d) for b in range(d))
             for l in range(n)] for i in range(n)]


def u(A1, A2, X, scale=None):
    """Definition 3.2: u(x)_{j0} = exp(A_{j0} x), i.e. entry-wise exp of the scores (Fact 3.9)."""
    return [[mpmath.exp(v) for v in row] for row in scores(A1, A2, X, scale)]


def alpha(A1, A2, X, scale=None):
    """Definition 3.3: alpha(x)_{j0} = <u(x)_{j0}, 1_n>."""
    return [mpmath.fsum(row) for row in u(A1, A2, X, scale)]


def f(A1, A2, X, scale=None):
    """Definition 3.4: f(x)_{j0} = alpha(x)_{j0}^{-1} u(x)_{j0}."""
    U = u(A1, A2, X, scale)
    return [[v / mpmath.fsum(row) for v in row] for row in U]


def h(A3, Y):
    """Definition 3.5: column i0 of h(y) is A3 Y_{*,i0}."""
    A3, Y = _mp(A3), _mp(Y)
    n, d = len(A3), len(A3[0])
    return [[mpmath.fsum(A3[l][a] * Y[a][k] for a in range(d)) for k in range(d)] for l in range(n)]


def c(A1, A2, A3, E, X, Y, scale=None):
    """Definition 3.6: c(x)_{j0,i0} = <f(x)_{j0}, h(y)_{i0}> - E_{j0,i0}."""
    F, H, E = f(A1, A2, X, scale), h(A3, Y), _mp(E)
    n, d = len(F), len(H[0])
    return [[mpmath.fsum(F[i][l] * H[l][k] for l in range(n)) - E[i][k] for k in range(d)]
            for i in range(n)]


def q(A1, A2, A3, E, X, Y, scale=None):
    """Definition C.3: q(x) = c(x) h(y)^T."""
    C, H = c(A1, A2, A3, E, X, Y, scale), h(A3, Y)
    n, d = len(C), len(C[0])
    return [[mpmath.fsum(C[i][k] * H[l][k] for k in range(d)) for l in range(n)] for i in range(n)]


def p(A1, A2, A3, E, X, Y, scale=None):
    """Definition C.5: p(x)_{j0} = (diag(f(x)_{j0}) - f(x)_{j0} f(x)_{j0}^T) q(x)_{j0}."""
    F, Q = f(A1, A2, X, scale), q(A1, A2, A3, E, X, Y, scale)
    n = len(F)
    out = []
    for j0 in range(n):
        M = [[(F[j0][a] if a == b else 0) - F[j0][a] * F[j0][b] for b in range(n)] for a in range(n)]
        out.append([mpmath.fsum(M[a][b] * Q[j0][b] for b in range(n)) for a in range(n)])
    return out


def p1(A1, A2, A3, E, X, Y, scale=None):
    """Lemma D.4: p1(x) = f(x) o q(x)."""
    F, Q = f(A1, A2, X, scale), q(A1, A2, A3, E, X, Y, scale)
    return [[F[i][l] * Q[i][l] for l in range(len(F))] for i in range(len(F))]


def r(A1, A2, A3, E, X, Y, scale=None):
    """Lemma D.5: r(x)_{j0} = <f(x)_{j0}, q(x)_{j0}>."""
    F, Q = f(A1, A2, X, scale), q(A1, A2, A3, E, X, Y, scale)
    return [mpmath.fsum(F[i][l] * Q[i][l] for l in range(len(F))) for i in range(len(F))]


def p2(A1, A2, A3, E, X, Y, scale=None):
    """Lemma D.5: row j0 of p2(x) is f(x)_{j0} f(x)_{j0}^T q(x)_{j0}."""
    F, R = f(A1, A2, X, scale), r(A1, A2, A3, E, X, Y, scale)
    return [[R[i] * F[i][l] for l in range(len(F))] for i in range(len(F))]


def loss(A1, A2, A3, E, X, Y, scale=None):
    """Definition 1.2: 0.5 || D^{-1} exp(s A1 X A2^T) A3 Y - E ||_F^2."""
    C = c(A1, A2, A3, E, X, Y, scale)
    return mpmath.fsum(v * v for row in C for v in row) / 2


def grad_X(A1, A2, A3, E, X, Y, scale=None):
    """dL/dX by the chain rule (module docstring)."""
    F, H, C = f(A1, A2, X, scale), h(A3, Y), c(A1, A2, A3, E, X, Y, scale)
    A1m, A2m = _mp(A1), _mp(A2)
    n, d = len(A1m), len(A1m[0])
    s = _scale(d, scale)
    fh = [[mpmath.fsum(F[i][j] * H[j][k] for j in range(n)) for k in range(d)] for i in range(n)]
    # w[i][l] = f_{il} sum_k c_{ik} (h_{lk} - (f h)_{ik})
    w = [[F[i][l] * mpmath.fsum(C[i][k] * (H[l][k] - fh[i][k]) for k in range(d)) for l in range(n)]
         for i in range(n)]
    return [[s * mpmath.fsum(A1m[i][a] * w[i][l] * A2m[l][b] for i in range(n) for l in range(n))
             for b in range(d)] for a in range(d)]


def grad_Y(A1, A2, A3, E, X, Y, scale=None):
    """dL/dY_{ab} = sum_i c_{ib} (f A3)_{ia}."""
    F, C, A3m = f(A1, A2, X, scale), c(A1, A2, A3, E, X, Y, scale), _mp(A3)
    n, d = len(F), len(A3m[0])
    fa3 = [[mpmath.fsum(F[i][l] * A3m[l][a] for l in range(n)) for a in range(d)] for i in range(n)]
    return [[mpmath.fsum(C[i][b] * fa3[i][a] for i in range(n)) for b in range(d)] for a in range(d)]


def attention(Q, K, V, scale=None):
    """AS23: D^{-1} exp(s Q K^T) V, s = 1/d by default."""
    Q, K, V = _mp(Q), _mp(K), _mp(V)
    n, d, dv = len(Q), len(Q[0]), len(V[0])
    s = _scale(d, scale)
    W = [[mpmath.exp(s * mpmath.fsum(Q[i][a] * K[j][a] for a in range(d))) for j in range(n)]
         for i in range(n)]
    return [[mpmath.fsum(W[i][j] * V[j][k] for j in range(n)) / mpmath.fsum(W[i])
             for k in range(dv)] for i in range(n)]
