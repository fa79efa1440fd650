"""LSS24 Appendix H.2, H.3: the single-layer (Lemma H.3) and multi-layer (Lemma H.4)
gradient approximations.

What code can check:

* the chains the proofs describe (G_i by Lemma H.2, dL/dT_{i-1} by Lemma E.11 -- with Lemma
  D.17's corrected closed form, since the printed one is wrong --, dL/dX through g_0 by Lemma
  H.2 again), written out in derivations/lss24.py's :func:`closed_form_gradient` and compared
  with central differences of the model by loops;
* the error-propagation inequalities the proofs print, on perturbations;
* Eq. (28)'s composition;
* the factor by which one layer's backward pass can amplify an error: the infinity norm of the
  linear map dL/dT_i -> dL/dT_{i-1}, computed exactly from attngrad.transformer.

What it cannot: the 1/poly(n) claims are asymptotic, and the induction of Lemma H.4 multiplies
the error by a poly(n) factor per layer; the gaps say where the argument is incomplete. How the
error of a fast multi-layer gradient grows with the number of layers will be measured once that
gradient exists (attngrad.transformer has the exact method only).
"""
from __future__ import annotations

import mpmath
import numpy as np

from attngrad import transformer as tr

from . import lss24 as L
from .core import Statement, Step
from .lss24_model import _rand_dyadic
from .model_loops import forward_loops

PAPER = L.PAPER


def chain_vs_fd(cases):
    """The proof's chain with the corrected closed forms = central differences (90 digits)."""
    def compute():
        out = []
        for args in cases:
            case = L.stack_case(*args)
            out.append((f"m={args[0]},n={args[1]},d={args[2]}" + (",residual" if len(args) > 4
                                                                    and args[4] else ""),
                        L.closed_form_gradient(case), L.fd_model_gradient(case)))
        return out
    return compute


def _h3_propagation():
    """Step 4: for an error delta in dL/dT_0, the error of G~_0 = g~_t0 dT_0/dX is
    (delta o phi'(X W_g0)) W_g0^T, of size <= n d ||delta|| ||dT_0/dX||_inf (as printed) and
    <= d ||delta|| ||dT_0/dX||_inf (ours), ||dT_0/dX||_inf = max |phi'(X W_g0)_{ij} (W_g0)_{bj}|."""
    out = []
    for seed in (1, 2):
        case = L.stack_case(1, 5, 3, seed)
        X, Wg0 = case["X"], case["Wg0"]
        n, d = X.shape
        delta = _rand_dyadic(np.random.default_rng(40 + seed), (n, d), 1.0) * mpmath.mpf(2) ** -20
        dphi = L._DTANH(X @ Wg0)
        err = max(abs(v) for v in ((delta * dphi) @ Wg0.T).reshape(-1))
        jac = max(abs(dphi[i, j] * Wg0[b, j]) for i in range(n) for j in range(d)
                  for b in range(d))
        nd = max(abs(v) for v in delta.reshape(-1))
        out += [(f"seed={seed}: <= n d ||delta|| ||dT0/dX||", err, n * d * nd * jac),
                (f"seed={seed}: <= d ||delta|| ||dT0/dX|| (ours)", err, d * nd * jac)]
    return out


LEMMA_H3 = Statement(
    id="LSS24 Lemma H.3",
    paper=PAPER,
    summary="single layer: dL/dX by G_1 (Lemma H.2), dL/dT_0 (Lemma E.11), g_0's chain "
            "(Lemma H.2), error 1/poly(n)",
    printed=("Lemma H.3 (Single-layer transformer gradient approximation): L as Definition 3.1; "
             "g_i(Z) = phi(Z W_g); a single-layer transformer g_1 o Attn_1 o g_0(X). Part 1: "
             "dL(X)/dX in n^{1+o(1)} time. Part 2: the output g~_1 satisfies ||g~_1 - "
             "dL(X)/dX||_inf <= 1/poly(n). Proof: G_1 = dL/dT_1 dT_1/dAttn_1 (Eq. 26) by Lemma "
             "H.2; Lemmas E.11, F.5, G.4 for dL/dT_0, dL/dW_1, dL/dW_V1; Lemma H.2 again for "
             "dL/dX. 'By Lemma H.2 and Eq. (26), there is no approximation error when computing "
             "G_1'; ||g~_t0 - dL/dT_0|| <= 1/poly(n) (Eq. 27); G~_0 = g~_t0 dT_0(X)/dX, "
             "||G~_0 - G_0|| <= n d ||g~_t0 - dL/dT_0|| ||dT_0/dX||_inf <= 1/poly(n) ('each "
             "entry can be written by O(log n) bits'); g~_1 = G~_0."),
    steps=[
        Step("the chain (exact closed forms)", "G_1 by Lemma H.2, dL/dT_0 by Lemma E.11's "
             "closed form (Lemma D.17 corrected: the printed one is wrong), dL/dX by Lemma H.2 on "
             "g_0 = central differences of the model by loops (90 digits); g_0, g_1 tanh MLPs",
             "mpmath", chain_vs_fd(((1, 4, 2, 1), (1, 3, 3, 2)))),
        Step("Step 4's error propagation", "an error delta in dL/dT_0 moves G~_0 by at most "
             "n d ||delta|| ||dT_0/dX||_inf (printed; d suffices)", "mpmath", _h3_propagation,
             relation="<="),
    ],
    gaps=["1/poly(n): asymptotic; it rests on Lemmas E.11, F.5, G.4 (corrected, see their "
          "errata) with exact G_1, which needs the exact forward values Attn_1 (inside phi') and "
          "s (inside K): their approximation error is never analysed",
          "||dT_0/dX||_inf <= poly(n) needs phi' bounded on the range of X W_g; phi is 'any "
          "element-wise activation function' and O(log n)-bit entries do not bound phi'",
          "the proof calls dL/dX 'G_0', a G_i with no Attn_0"],
)


def _eq28(n, d, seed):
    """F_{k+1}(X) = F_k(Attn(g(X))): F_k's own g_0 becomes the new layer's MLP, so the
    (k+1)-layer model is attngrad.transformer on g(X) with the new attention and MLP g_0 first."""
    case = L.stack_case(2, n, d, seed)
    rng = np.random.default_rng(60 + seed)
    Wg = _rand_dyadic(rng, (d, d), 0.5)                       # the new input map g
    WQ, WK, WV = (_rand_dyadic(rng, (d, d), 0.5) for _ in range(3))
    gX = L._TANH(case["X"] @ Wg)
    A = L._attn_loops(gX, WQ, WK, WV)
    Fk = forward_loops(L._TANH(A @ case["Wg0"]), case["params"], case["layers"])
    new = tr.Layer(WQ, WK, WV, W_g=case["Wg0"], phi="tanh")
    return tr.forward(gX, [new] + case["layers"]), np.array(Fk, dtype=object)


def _amplification():
    """One layer's backward map dL/dT_i -> dL/dT_{i-1} is linear; its infinity norm kappa_i
    (largest absolute row sum, exact from attngrad.transformer) bounds how much an error in
    dL/dT_i grows: ||J delta|| <= kappa_i ||delta|| on random delta, and kappa_i > 1 here."""
    case = L.stack_case(3, 3, 2, 2, True)
    out = []
    for i in (1, 2, 3):
        J, kappa = L.layer_map(case, i)
        for s in range(3):
            delta = _rand_dyadic(np.random.default_rng(80 + 10 * i + s), (J.shape[0],), 1.0)
            out.append((f"layer {i}, delta {s}", max(abs(v) for v in J @ delta),
                        kappa * max(abs(v) for v in delta)))
        out.append((f"layer {i}: 1 < kappa_i", mpmath.mpf(1), kappa))
    return out


LEMMA_H4 = Statement(
    id="LSS24 Lemma H.4",
    paper=PAPER,
    summary="m layers: dL/dX in n^{1+o(1)} time with error 1/poly(n), by induction on the "
            "layers (called 'Theorem H.4' in Lemma 5.5)",
    printed=("Lemma H.4 (Multi-layer transformer gradient approximation, formal version of Lemma "
             "5.5): gradient components per layer by Lemmas E.11, F.5, G.4; g_i(Z) = phi(Z W_g); "
             "an m-layer transformer. Part 1: dL(X)/dX in n^{1+o(1)} time. Part 2: ||g~ - "
             "dL(X)/dX||_inf <= 1/poly(n). Proof by induction: Step 1 Lemma H.3; Step 2 'we "
             "assume for any k' the claim for k layers; Step 3: the added layer at the beginning, "
             "F_{k+1}(X) = F_k o Attn o g(X) (Eq. 28), T_0 := g(X), ||g~_k - dL/dAttn(T_0)|| <= "
             "1/poly(n) (Eq. 29); Step 3.2: 'By Lemma E.11 ... the approximation error will not be "
             "magnified by more than poly(n)', ||g~_t0 - dL/dg(X)|| <= poly(n) ||g~_k - dL/dT(X)|| "
             "<= 1/poly(n) (Eq. 30); ||g~ - dL/dX|| <= n d ||g~_t0 - dL/dg(X)|| ||dg/dX|| <= "
             "1/poly(n)."),
    steps=[
        Step("Eq. (28)", "F_k(Attn(g(X))) by loops = attngrad.transformer on g(X) with the new "
             "attention and F_k's g_0 as its MLP, then F_k's layers (k = 2)", "mpmath",
             L.each_case(_eq28, ((4, 2, 1), (3, 3, 2)))),
        Step("the chain over m layers", "the proof's chain (Lemma H.2, Lemma E.11 corrected, "
             "per layer, then g_0) = central differences of the model by loops, m = 2, 3",
             "mpmath", chain_vs_fd(((2, 4, 2, 1), (3, 3, 2, 2)))),
        Step("amplification per layer", "one layer's backward map has infinity norm kappa_i: "
             "||J_i delta|| <= kappa_i ||delta||, and kappa_i > 1 on this instance (three layers "
             "with residuals), so errors can grow geometrically in m", "mpmath", _amplification,
             relation="<="),
    ],
    gaps=["the induction (Step 3.2) lets each layer multiply the error by 'poly(n)' and "
          "concludes 1/poly(n) again: m = n^{o(1)} such steps give a factor prod kappa_i "
          "(kappa_i > 1 measured above), n^{Theta(m)} in the bound, so the first layer's eps "
          "must be n^{-Theta(m)}, and by Lemma I.1 the rank of C.13 grows with log(1/eps): "
          "k1 = n^{o(1)} is not shown for m = n^{o(1)}; the measured growth of the error with "
          "the number of layers awaits a fast multi-layer gradient (attngrad.transformer has "
          "only the exact method)",
          "Step 3.2 attributes to Lemma E.11 a stability claim it does not state: E.11 assumes "
          "the exact G_i, while every layer below the top gets an approximate one",
          "only dL/dX is bounded; the weight gradients of the lower layers (Lemmas F.5, G.4 "
          "with an approximate G_i) are not, though Theorem 4.2 claims them",
          "the forward activations of every layer are taken as exact"],
)


STATEMENTS = [LEMMA_H3, LEMMA_H4]
