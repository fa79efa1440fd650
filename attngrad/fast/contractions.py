"""The low-rank products of Section D, by blocks of rows, written once against ``ns``.

With the features of attngrad/fast/features.py (U0 = Phi^T of the queries, with the polynomial's
coefficients; V0 = Psi^T of the keys), every product with f~ = diag(alpha~)^{-1} U0 V0^T is taken
as U0 (V0^T W) and never forms an n x n matrix:

* key pass:   Z = V0^T W, W = [1, h, |h|, ...] the value columns built per block of key rows
              (rows of Z per degree level, so a higher degree adds rows and keeps the others);
* query pass: T = U0 Z[:, cheap] per block of query rows gives alpha~ = U0 V0^T 1 (Lemma D.1),
              f~ h, hence c~ = f~ h - E (Lemma D.2) and r~ = <f~ h, c~> (Lemma D.5); the same
              passes at a low degree, with other columns, give the f~-weighted sums the
              certificate needs (attngrad/fast/certificate.py);
* dL/dX (Theorem D.6, corrected): with p1~ = f~ o (c~ h^T) (Lemmas D.3, D.4) and
  p2~ = diag(r~) f~ (Lemma D.5), A1^T p1~ A2 = sum_m (A1 o c~_m)^T U1 . V1^T (h_m o A2): the
  query pass sums L = U0^T [A1 o c~_m / alpha~, A1 r~ / alpha~] (k1 x (d^2 + d)) and
  g~ = s (L1 Z_{h o A2} - L2 Z_{A2}): O(n k1 d^2), no row-wise Kronecker product;
* dL/dY (Lemma D.7, ours): g~_Y = (V1^T A3)^T (U1^T c~), O(n k1 d);
* the forward pass (AS23): D~^{-1} U0 V0^T V = T / alpha~.

Blocks hold up to BLOCK_ENTRIES features or value columns, so each block is a few large matrix
products (fast with many BLAS threads), and the rounding model counts a blocked sum of n terms
as b + n/b roundings (attngrad/fast/certificate.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from .features import features, monomial_plan

# entries of one block (k1 x b features, or b x w value columns, whichever is wider): large on
# the CPU too, since BLAS threads need few large products, not hundreds of small ones (measured
# on 2 cores, d = 8, degree 5, n = 2^14, with a second job on the machine: 2 threads took 1.5x
# the time of 1 thread with 2^18-entry blocks and as long as 1 thread with 2^22; without the
# second job 2^22 costs 15 % over 2^18); on a GPU large, since each block costs a fixed number
# of kernel launches. Blocks are capped at 2^15 rows: a block of b rows is one sum of length b
# in the rounding bound (gamma_{b + n/b}).
BLOCK_ENTRIES = {"numpy": 1 << 22, "mpmath": 1 << 16, "cupy": 1 << 25}
BLOCK_ROWS_MAX = 1 << 15


def blocking(ns, n, k, width, block=None):
    """(number of blocks, rows per block) for n rows of k features and ``width`` value columns
    built per block; ``block`` overrides."""
    entries = BLOCK_ENTRIES.get(ns.name, BLOCK_ENTRIES["numpy"])
    rows = min(n, BLOCK_ROWS_MAX, entries // max(k, width, 1))
    b = min(block or int(max(64, rows)), max(n, 1))
    return -(-n // b), b


def _concat(ns, parts):
    return ns.xp.concatenate(parts, axis=1)


@dataclass
class Layout:
    """The value columns of one problem: ``groups`` maps a name to its columns of W (and of Z);
    the first ``cheap`` columns are the ones the query pass multiplies at every degree."""

    groups: dict
    cheap: int
    width: int


# (name, width: 1, "d" columns, "dd" = d^2, "v" = dv) of the value columns; "|" ends the cheap
# ones. "main": the columns of the result at the chosen degree; "cert": the certificate's
# f~-weighted sums and variances (attngrad/fast/certificate.py), taken once at a low degree.
_COLUMNS = {
    ("X", "main"): [("one", 1), ("h", "d"), "|", ("A2", "d"), ("hA2", "dd")],
    ("Y", "main"): [("one", 1), ("h", "d"), "|", ("A3", "d")],
    ("attention", "main"): [("one", 1), ("V", "v"), "|"],
    ("X", "cert"): [("one", 1), ("habs", "d"), ("hsq", "d"), ("w1", "d"), ("w0", "d"),
                    ("nh2", 1), ("A2sq", "d"), "|"],
    ("Y", "cert"): [("one", 1), ("habs", "d"), ("hsq", "d"), ("A3abs", "d"), ("A3", "d"),
                    ("A3sq", "d"), "|"],
    ("attention", "cert"): [("one", 1), ("Vabs", "v"), ("Vsq", "v"), "|"],
}


def layout(kind, part, d, dv=None):
    """Columns of W for dL/dX ("X"), dL/dY ("Y") or the forward pass ("attention"), ``part``
    "main" (1, h; then A2 and h_m o A2, d^2 columns, for dL/dX's final contraction, or A3 for
    dL/dY) or "cert" (|h|, h o h, ||h_j|| |A2|, |A2|, ||h_j||^2, A2 o A2 for X; |h|, h o h,
    |A3|, A3, A3 o A3 for Y; |V|, V o V for the forward pass)."""
    size = {1: 1, "d": d, "dd": d * d, "v": dv}
    groups, pos, cheap = {}, 0, None
    for item in _COLUMNS[kind, part]:
        if item == "|":
            cheap = pos
            continue
        name, w = item
        groups[name] = slice(pos, pos + size[w])
        pos += size[w]
    return Layout(groups, cheap, pos)


def value_columns(ns, kind, part, hc=None, A2=None, A3=None, V=None, nh=None):
    """(s0, s1) -> the rows s0:s1 of W (see :func:`layout`), built one block at a time;
    ``nh`` (n, in the namespace) holds upper bounds of the row norms ||h_j||."""
    xp = ns.xp

    def block(s0, s1):
        one = ns.ones((s1 - s0, 1))
        if kind == "attention":
            v = V[s0:s1]
            return _concat(ns, [one, v] if part == "main" else [one, xp.abs(v), v * v])
        h = hc[s0:s1]
        if kind == "Y":
            a3 = A3[s0:s1]
            if part == "main":
                return _concat(ns, [one, h, a3])
            return _concat(ns, [one, xp.abs(h), h * h, xp.abs(a3), a3, a3 * a3])
        a2 = A2[s0:s1]
        if part == "main":
            return _concat(ns, [one, h, a2, (h[:, :, None] * a2[:, None, :]).reshape(s1 - s0, -1)])
        nb, a2abs = nh[s0:s1, None], xp.abs(a2)
        return _concat(ns, [one, xp.abs(h), h * h, nb * a2abs, a2abs, nb * nb, a2 * a2])

    return block


class KeySums:
    """Z = V0^T W (Lemma D.1's V0 = key monomials, no coefficients), its rows added degree level
    by degree level: raising the degree reuses every row already summed."""

    def __init__(self, ns, K, columns, width, block=None):
        self.ns, self.K, self.columns, self.width, self.block = ns, K, columns, width, block
        self.Z = None
        self.Nn = 0      # the longest blocked sum so far: b + n/b

    def ensure(self, degree):
        """Z for every monomial of degree <= ``degree``; returns it (k1 x width)."""
        ns, K = self.ns, self.K
        n, d = K.shape
        plan = monomial_plan(d, degree)
        k_new, k_old = len(plan[0]), (0 if self.Z is None else self.Z.shape[0])
        if k_new <= k_old:
            return self.Z[:k_new]
        nb, b = blocking(ns, n, k_new, self.width, self.block)
        self.Nn = max(self.Nn, b + nb)
        part = None
        for s0 in range(0, n, b):
            s1 = min(n, s0 + b)
            PsiT = features(ns, K[s0:s1], plan)[k_old:]            # new levels only
            p = PsiT @ self.columns(s0, s1)
            part = p if part is None else part + p
        self.Z = part if self.Z is None else ns.xp.concatenate([self.Z, part], axis=0)
        return self.Z


def query_pass(ns, Qc, plan, coef, Zc, row_fn, width, block=None):
    """For each block of query rows: U0 block (Phi^T, k1 x b) and T = U0 Zc (b x w, or None when
    Zc is None); row_fn(s0, s1, PhiT, T) does the rest. Returns b + n/b."""
    n = Qc.shape[0]
    nb, b = blocking(ns, n, len(plan[0]), width, block)
    for s0 in range(0, n, b):
        s1 = min(n, s0 + b)
        PhiT = features(ns, Qc[s0:s1], plan, coef)
        row_fn(s0, s1, PhiT, None if Zc is None else PhiT.T @ Zc)
    return b + nb


def rows_pass(ns, E, lay):
    """row_fn of the query pass: alpha~ (Lemma D.1), every cheap column group divided by alpha~
    (f~ h, f~ |h|, ... under the group's name) and, with values h, c~ = f~ h - E (Lemma D.2) and
    r~ = <f~ h, c~> (Lemma D.5). Returns (row_fn, done): row_fn returns the block's rows, done()
    the dict of n x ... arrays."""
    parts = {}
    names = [g for g in lay.groups if g != "one" and lay.groups[g].stop <= lay.cheap]

    def row_fn(s0, s1, PhiT, T):
        alpha = T[:, 0].copy()   # copies: views would keep the whole block alive
        out = {"alpha": alpha}
        for g in names:
            out[g] = T[:, lay.groups[g]] / alpha[:, None]
        if E is not None and "h" in out:
            out["c"] = out["h"] - E[s0:s1]                         # c~_i       (Lemma D.2)
            out["r"] = ns.xp.sum(out["h"] * out["c"], axis=1)      # r~_i       (Lemma D.5)
        for key, v in out.items():
            parts.setdefault(key, []).append(v)
        return out

    return row_fn, lambda: {k: ns.xp.concatenate(v, axis=0) for k, v in parts.items()}


class FinalX:
    """The final contraction of dL/dX (Theorem D.6, corrected chain): L = U0^T [A1 o c~_m /
    alpha~, A1 r~ / alpha~] (k1 x (d^2 + d)) summed over query blocks, then
    g~ = s (L1 Z_{h o A2} - L2 Z_{A2}): O(n k1 d^2), no row-wise Kronecker product. ``add`` runs
    inside a query pass (the one that computes c~, r~, or a later one)."""

    def __init__(self, ns, A1):
        self.ns, self.A1, self.LT = ns, A1, None

    def add(self, s0, s1, PhiT, alpha, c, r):
        d = self.A1.shape[1]
        a1, al = self.A1[s0:s1], alpha[:, None]
        W1 = (a1[:, :, None] * (c / al)[:, None, :]).reshape(s1 - s0, d * d)
        W2 = a1 * (r[:, None] / al)
        LT = PhiT @ _concat(self.ns, [W1, W2])                     # k1 x (d^2 + d)
        self.LT = LT if self.LT is None else self.LT + LT

    def result(self, Z, lay, s):
        """(g~, G1, G2) with g~ = s (G1 - G2) as computed."""
        d = self.A1.shape[1]
        k = self.LT.shape[0]
        L = self.LT.T
        ZA = Z[:k, lay.groups["A2"]]                               # V1^T A2
        Zm = Z[:k, lay.groups["hA2"]]                              # V1^T (h_m o A2), (m, b)
        L1 = L[:d * d].reshape(d, d, k).reshape(d, d * k)          # (a, (m, alpha))
        Zm3 = Zm.reshape(k, d, d).transpose(1, 0, 2).reshape(d * k, d)  # ((m, alpha), b)
        G1 = L1 @ Zm3                                              # A1^T (f~ o q~) A2
        G2 = L[d * d:] @ ZA                                        # A1^T diag(r~) f~ A2
        return (G1 - G2) * s, G1, G2


class FinalY:
    """g~_Y = (V1^T A3)^T (U1^T c~) (Lemma D.7, ours): U1^T c~ summed over the query blocks."""

    def __init__(self, ns):
        self.M = None

    def add(self, s0, s1, PhiT, alpha, c, r=None):
        MT = PhiT @ (c / alpha[:, None])                           # U1^T c~, this block
        self.M = MT if self.M is None else self.M + MT

    def result(self, Z, lay, s=None):
        return Z[:self.M.shape[0], lay.groups["A3"]].T @ self.M


def final_pass(ns, Qc, plan, coef, rows, final, width, block=None):
    """A query pass that only feeds ``final`` (FinalX or FinalY) from stored rows."""
    alpha, c, r = rows["alpha"], rows["c"], rows.get("r")

    def row_fn(s0, s1, PhiT, _):
        final.add(s0, s1, PhiT, alpha[s0:s1], c[s0:s1], None if r is None else r[s0:s1])

    query_pass(ns, Qc, plan, coef, None, row_fn, width, block)
