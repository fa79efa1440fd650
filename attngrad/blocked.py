"""Exact loss, gradients and attention by blocks of rows (FlashAttention-style).

The exact algorithm of Lemma C.8 forms n x n matrices (f, q, p), so its memory
is O(n^2). Every one of them is computed row by row: row j0 of f(x), c(x), q(x)
and p(x) needs only row j0 of A1 and of E (Definitions 3.4, 3.6, C.3, C.5). So
the rows can be taken b at a time, with the per-block functions of
attngrad/formulas.py (the unblocked path is the case of one block):

    S_b = s A1_b X A2^T,  f_b = softmax(S_b),  c_b = f_b h - E_b,  q_b = c_b h^T,
    p_b = f_b o q_b - r_b f_b,   dL/dX = s sum_b A1_b^T p_b A2          (Lemma C.7)

The whole-row blocks use the fused forms of attngrad/formulas.py (f never divided out: products
with exp(S - max) divided afterwards by the row sums, in-place passes), the same quantities in
fewer passes over the tile. Only two block x n tiles are alive at a time: memory O(n d +
block n). The
block results (d x d matrices, or scalars for the loss) are added by pairwise
summation, so rounding grows with log(number of blocks), not with their number.

Two-level tiling (``block=(rows, cols)``) also cuts the columns, so only
rows x cols tiles are alive: memory O(n d + rows cols). A row of f is then never
whole; two passes over the column tiles do it (online softmax, as in
FlashAttention). Pass 1 keeps, per row, the running maximum m, the running sum
l = sum exp(S - m) and the running product o = exp(S - m) V, rescaling by
exp(m_old - m_new) when m grows; at the end f_b V = o / l. For the gradient,
V = h gives c_b = f_b h - E_b and

    r_b = <f_b, q_b> = sum_k f_{b,k} sum_i0 c_{b,i0} h_{k,i0} = (c_b o (f_b h)) 1_d,

so r needs no tile. Pass 2 recomputes f_{b,j} = exp(S_{b,j} - m) / l on each
tile j, forms q_{b,j} = c_b h_j^T and p_{b,j} = f_{b,j} o q_{b,j} - r_b f_{b,j},
and adds A1_b^T p_{b,j} A2_j.

Block sizes: an int B means row blocks of B rows (B >= n is one block, the
unblocked algorithm); a pair (B, C) means B x C tiles; None picks a size by
:func:`auto_block`. Everything is written against the namespace ``ns``, so it
runs on numpy float32 / float64, mpmath object arrays and CuPy alike.
"""
from __future__ import annotations

from . import formulas as F
from . import validate

#: Elements in one tile of scores that ``block=None`` allows, per number system.
#: numpy: 2^20 (8 MiB in float64: the fused blocks keep two tiles, and smaller tiles stay in
#: cache; measured on 2 cores, n = 2^14, d = 8: 2^20 took 0.8 of the time of 2^22);
#: CuPy: 2^26 (512 MiB in float64, so several live temporaries fit a 16 GiB GPU);
#: mpmath and arb: 2^18 (an mpf or a ball is ~100 bytes).
AUTO_TILE_ELEMENTS = {"numpy": 2 ** 20, "cupy": 2 ** 26, "mpmath": 2 ** 18, "arb": 2 ** 18}


def auto_block(ns, n: int) -> int:
    """The row block used when ``block=None``.

    If the whole n x n score matrix has at most ``AUTO_TILE_ELEMENTS[ns.name]``
    entries, one block (the unblocked algorithm, n <= 1024 for numpy); otherwise
    ``max(1, AUTO_TILE_ELEMENTS // n)`` rows, so a tile has at most that many entries
    (numpy: n = 2^14 -> 64 rows, n = 2^20 -> 1 row; CuPy: n = 2^20 -> 64 rows).
    """
    tile = AUTO_TILE_ELEMENTS.get(ns.name, AUTO_TILE_ELEMENTS["numpy"])
    if n * n <= tile:
        return n
    return max(1, tile // n)


def check_block(block):
    """Validate ``block`` (None, a positive int, or a pair of them) without knowing n.

    ValueError for values < 1, TypeError for other types; both name ``block``.
    """
    if block is None:
        return None
    if isinstance(block, (tuple, list)):
        if len(block) != 2:
            raise ValueError(f"block: a pair (rows, cols) is expected, got {len(block)} values")
        return (validate.integer("block (rows)", block[0]),
                validate.integer("block (cols)", block[1]))
    return validate.integer("block", block)


def resolve(ns, n: int, block):
    """(rows, cols) for an n x n score matrix; cols is None for whole rows."""
    block = check_block(block)
    if block is None:
        return auto_block(ns, n), None
    if isinstance(block, tuple):
        rows, cols = min(block[0], n), min(block[1], n)
        return rows, (None if cols >= n else cols)
    return min(block, n), None


def pairwise_sum(terms):
    """Sum an iterable by pairwise (binary-counter) summation; one term is returned as is."""
    stack = []  # (level, partial sum of 2^level terms)
    for t in terms:
        level = 0
        while stack and stack[-1][0] == level:
            t = stack.pop()[1] + t
            level += 1
        stack.append((level, t))
    if not stack:
        raise ValueError("pairwise_sum: no terms")
    total = stack.pop()[1]
    while stack:
        total = stack.pop()[1] + total
    return total


def _slices(n, size):
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


# --- two-level tiles: online softmax ------------------------------------------

def _online_softmax_product(ns, Qb, K, V, s, cols):
    """(m, l, o) for rows b: softmax(s Q_b K^T) V = o / l[:, None] over column tiles.

    m: running row maximum of the scores, l: sum of exp(S - m), o: exp(S - m) V.
    Only a len(b) x cols tile of scores is alive.
    """
    xp = ns.xp
    m = l = o = None
    for j in _slices(K.shape[0], cols):
        S = (Qb @ K[j].T) * s
        if m is None:
            m_new = xp.max(S, axis=1)
        else:
            m_new = xp.maximum(m, xp.max(S, axis=1))
        w = ns.exp(S - m_new[:, None])
        if m is None:
            l, o = xp.sum(w, axis=1), w @ V[j]
        else:
            corr = ns.exp(m - m_new)
            l = l * corr + xp.sum(w, axis=1)
            o = o * corr[:, None] + w @ V[j]
        m = m_new
    return m, l, o


def _tiled_attention_block(ns, Qb, K, V, s, cols):
    _, l, o = _online_softmax_product(ns, Qb, K, V, s, cols)
    return o / l[:, None]


def _tiled_gradient_X_block(ns, A1b, A2, Eb, X, hy, s, cols):
    """A1_b^T p_b A2 (without s) with rows x cols tiles: the two passes of the module doc."""
    xp = ns.xp
    Qb = A1b @ X
    m, l, o = _online_softmax_product(ns, Qb, A2, hy, s, cols)
    fh = o / l[:, None]                 # f_b h
    cb = fh - Eb                        # c_b, Definition 3.6
    rb = xp.sum(cb * fh, axis=1)        # r_b = <f_b, q_b>, Lemma D.5
    parts = []
    for j in _slices(A2.shape[0], cols):
        fbj = ns.exp((Qb @ A2[j].T) * s - m[:, None]) / l[:, None]
        qbj = cb @ hy[j].T              # q_{b,j}, Definition C.3
        pbj = fbj * qbj - rb[:, None] * fbj   # p_{b,j}, Definition C.5
        parts.append((A1b.T @ pbj) @ A2[j])
    return pairwise_sum(parts)


def _tiled_gradient_Y_block(ns, A1b, A2, A3, Eb, X, Y, s, cols):
    _, l, o = _online_softmax_product(ns, A1b @ X, A2, A3, s, cols)
    fa3 = o / l[:, None]
    return fa3.T @ (fa3 @ Y - Eb)


def _tiled_loss_block(ns, A1b, A2, Eb, X, hy, s, cols):
    _, l, o = _online_softmax_product(ns, A1b @ X, A2, hy, s, cols)
    return F.loss_from_c(ns, o / l[:, None] - Eb)


# --- public algorithms (validated arrays of one system in, same system out) ----

def _summed_over_row_blocks(ns, n, block, whole, tiled, block_args):
    """pairwise_sum over row blocks b of whole(*block_args(b)), or of tiled(*block_args(b), cols)
    when ``block`` also cuts the columns."""
    rows, cols = resolve(ns, n, block)
    if cols is None:
        return pairwise_sum(whole(*block_args(b)) for b in _slices(n, rows))
    return pairwise_sum(tiled(*block_args(b), cols) for b in _slices(n, rows))


def gradient_X(ns, A1, A2, A3, E, X, Y, s, block=None):
    """dL/dX = s sum_b A1_b^T p_b A2 (Lemmas C.7, C.8) by blocks; memory O(n d + tile)."""
    hy = F.h(ns, A3, Y)
    return _summed_over_row_blocks(
        ns, A1.shape[0], block, F.fused_gradient_X_block, _tiled_gradient_X_block,
        lambda b: (ns, A1[b], A2, E[b], X, hy, s)) * s


def gradient_Y(ns, A1, A2, A3, E, X, Y, s, block=None):
    """dL/dY = sum_b (f_b A3)^T (f_b A3 Y - E_b) by blocks."""
    return _summed_over_row_blocks(
        ns, A1.shape[0], block, F.fused_gradient_Y_block, _tiled_gradient_Y_block,
        lambda b: (ns, A1[b], A2, A3, E[b], X, Y, s))


def loss(ns, A1, A2, A3, E, X, Y, s, block=None):
    """L = sum_b 0.5 ||f_b h - E_b||_F^2 (Lemma 3.10) by blocks."""
    hy = F.h(ns, A3, Y)
    return _summed_over_row_blocks(
        ns, A1.shape[0], block, F.fused_loss_block, _tiled_loss_block,
        lambda b: (ns, A1[b], A2, E[b], X, hy, s))


def attention(ns, Q, K, V, s, block=None):
    """D^{-1} exp(s Q K^T) V, one block of rows at a time (rows stacked at the end)."""
    n = Q.shape[0]
    rows, cols = resolve(ns, n, block)
    if rows >= n and cols is None:
        return F.fused_attention_block(ns, Q, K, V, s)
    out = ns.zeros((n, V.shape[1]))
    for b in _slices(n, rows):
        if cols is None:
            out[b] = F.fused_attention_block(ns, Q[b], K, V, s)
        else:
            out[b] = _tiled_attention_block(ns, Q[b], K, V, s, cols)
    return out
