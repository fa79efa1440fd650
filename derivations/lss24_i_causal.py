"""LSS24 Appendix I (causal attention mask): Definitions I.2, I.5, Lemmas I.3, I.4, I.6 to I.8
and Algorithm 2. (Lemma I.1 is with the low-rank lemmas, derivations/lss24_c2_lowrank.py.)

Algorithm 2 is run literally (prefix sums of V0's rows times v, then inner products with U0's
rows), on exact rationals and on counted arrays (attngrad.opcount): 3 n k operations. Lemma I.6's
three identities (diagonal scaling through o, associativity, Fact C.2 under the mask) are checked
on instances; the lemma states no error bound (a gap), so ours is added: with the entrywise
relative error eta of U0 V0^T, the masked and renormalised f~ keeps relative error
2 eta / (1 - eta) (certified).

The gradient terms of Lemmas I.7, I.8 are Lemma D.17's, so they carry its errors; under the
mask the correction matters more: f~^T is upper triangular, and Algorithm 2 (a lower-triangular
product) does not compute f~^T H. Its transpose, (M o U0 V0^T)^T v, is Algorithm 2 on the rows
in reverse order (suffix sums; ours), checked against the explicit product and against
attngrad.transformer's causal gradient.
"""
from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

from attngrad.kron import rowwise_kron
from attngrad.transformer import attention as attn

from . import lss24 as L
from .balls import abs_array
from .core import Erratum, Statement, Step

PAPER = L.PAPER


# ---------------------------------------------------------------------------
# Algorithm 2 and its transpose


def algorithm2(U0, V0, v, zeros=None):
    """Algorithm 2 (CausalMask), literally: c_j = c_{j-1} + (V0)_{j,*} v_j; Y_j = <(U0)_{j,*},
    c_j>. ``zeros(k)`` makes c_0 (numpy zeros of the inputs' kind by default)."""
    n, k = U0.shape
    c = zeros(k) if zeros is not None else V0[0] * 0
    Y = []
    for j in range(n):
        b = V0[j] * v[j]
        c = c + b
        Y.append((U0[j:j + 1] @ c)[0])
    return np.array(Y, dtype=object)


def algorithm2_transposed(U0, V0, v):
    """(M o U0 V0^T)^T v: entry j is sum_{l >= j} <U0_l, V0_j> v_l, i.e. Algorithm 2 with the
    roles of U0, V0 exchanged on the rows in reverse order (suffix sums)."""
    return algorithm2(V0[::-1], U0[::-1], v[::-1])[::-1]


def _frac(rng, shape, bits=6):
    a = rng.integers(-2 ** bits, 2 ** bits + 1, size=shape)
    out = np.empty(shape, dtype=object)
    out.reshape(-1)[:] = [Fraction(int(x), 2 ** bits) for x in a.reshape(-1)]
    return out


ALG_CASES = ((1, 1, 1), (7, 3, 2), (16, 5, 3), (23, 2, 4))   # (n, k, seed)


def _alg2_exact(transposed=False):
    def compute():
        out = []
        for n, k, seed in ALG_CASES:
            rng = np.random.default_rng(seed)
            U0, V0, v = _frac(rng, (n, k)), _frac(rng, (n, k)), _frac(rng, (n,))
            Mprod = L.causal_mask(n) * (U0 @ V0.T)
            if transposed:
                out.append((f"n={n},k={k}", algorithm2_transposed(U0, V0, v), Mprod.T @ v))
            else:
                out.append((f"n={n},k={k}", algorithm2(U0, V0, v), Mprod @ v))
        return out
    return compute


def _alg2_count(per_column=1):
    """attngrad.opcount on Algorithm 2 (k_H columns of H, Lemma I.4): 3 n k k_H operations
    (k multiplications and k additions per prefix step, k per inner product)."""
    def compute():
        from attngrad import opcount
        out = []
        for n, k, kH in ((5, 3, 1), (11, 7, 1), (8, 4, 3), (13, 2, per_column)):
            ns = opcount.CountingNamespace()
            rng = np.random.default_rng(n)
            U0, V0 = ns.wrap(rng.standard_normal((n, k))), ns.wrap(rng.standard_normal((n, k)))
            H = ns.wrap(rng.standard_normal((n, kH)))
            for col in range(kH):
                algorithm2(U0, V0, H[:, col], zeros=ns.zeros)
            out.append((f"n={n},k={k},k_H={kH}", opcount.total(ns.log), 3 * n * k * kH))
        return out
    return compute


ALGORITHM2 = Statement(
    id="LSS24 Algorithm 2",
    paper=PAPER,
    summary="CausalMask(U0, V0, v): prefix sums c_j = c_{j-1} + V0_j v_j, Y_j = <U0_j, c_j>, "
            "= (M o U0 V0^T) v in O(n k)",
    printed=("Algorithm 2 (Causal attention mask algorithm, Algorithm 4 in [LLS+24d]): procedure "
             "CausalMask(U0 in R^{n x k}, V0 in R^{n x k}, v in R^n): c_0 <- 0_k; for j = 1 -> n: "
             "b_j <- (V0^T)_j v_j ('(V0^T)_j denote the j-th row of V0'); c_j <- c_{j-1} + b_j; "
             "for j = 1 -> n: Y_j <- <(U0^T)_j, c_j>; return Y in R^n."),
    steps=[
        Step("output", "Algorithm 2 run literally on exact rationals = (M o U0 V0^T) v with M "
             "of Definition I.2 (n = 1, 7, 16, 23; k = 1..5)", "exact", _alg2_exact()),
        Step("O(n k) (counted)", "attngrad.opcount on the literal run: exactly 3 n k "
             "operations", "exact", _alg2_count()),
    ],
)

LEMMA_I3 = Statement(
    id="LSS24 Lemma I.3",
    paper=PAPER,
    summary="Y = (M o (U0 V0^T)) v in O(n k) time (Algorithm 2)",
    printed=("Lemma I.3 (Fast computation for causal attention mask on tensor, [LLS+24d]): M "
             "of Definition I.2, U0, V0 in R^{n x k}, v in R^n. There is an algorithm (Algorithm "
             "2) whose output is Y = (M o (U0 V0^T)) v, in O(n k) time."),
    steps=[
        Step("Algorithm 2's output", "Algorithm 2 = (M o U0 V0^T) v, exact rationals",
             "exact", _alg2_exact()),
        Step("O(n k) (counted)", "3 n k operations (attngrad.opcount)", "exact", _alg2_count()),
    ],
)


def _i4_exact():
    out = []
    for n, k, seed in ALG_CASES[1:]:
        rng = np.random.default_rng(seed + 50)
        U0, V0, H = _frac(rng, (n, k)), _frac(rng, (n, k)), _frac(rng, (n, 3))
        Z = np.stack([algorithm2(U0, V0, H[:, c]) for c in range(3)], axis=1)
        out.append((f"n={n},k={k},k_H=3", Z, (L.causal_mask(n) * (U0 @ V0.T)) @ H))
    return out


LEMMA_I4 = Statement(
    id="LSS24 Lemma I.4",
    paper=PAPER,
    summary="Z = (M o (U0 V0^T)) H, H with k_H columns, in O(n k k_H) time (column by column)",
    printed=("Lemma I.4 (Fast computation for causal attention mask on matrix): M of Definition "
             "I.2; U0, V0 in R^{n x k}, k = n^{o(1)}; H in R^{n x k_H}, k_H = n^{o(1)}. There is "
             "an algorithm with output Z = (M o (U0 V0^T)) H in n^{1+o(1)} time. Proof: Lemma I.3 "
             "per column, O(n k k_H)."),
    steps=[
        Step("column by column", "Algorithm 2 on each column of H = (M o U0 V0^T) H, exact",
             "exact", _i4_exact),
        Step("O(n k k_H) (counted)", "3 n k k_H operations (attngrad.opcount)", "exact",
             _alg2_count(per_column=4)),
    ],
)


# ---------------------------------------------------------------------------
# Definitions I.2, I.5


def _i2():
    out = []
    for n in (1, 2, 5, 9):
        keep = attn.causal_keep(L.MPNS, 0, n)
        M = [[int(i >= j) for j in range(n)] for i in range(n)]
        out.append((f"n={n}", np.asarray(keep, dtype=int), np.array(M)))
    return out


DEF_I2 = Statement(
    id="LSS24 Definition I.2",
    paper=PAPER,
    summary="M in {0,1}^{n x n}, M_ij = 1 iff i >= j (lower triangular, diagonal included)",
    printed=("Definition I.2 (Causal attention mask, [LLS+24d]): M in {0,1}^{n x n}, M_{i,j} = 1 "
             "if i >= j and M_{i,j} = 0 otherwise."),
    steps=[Step("attngrad's mask", "attngrad.transformer's causal mask (attention.causal_keep) "
                "is M, n = 1, 2, 5, 9", "exact", _i2)],
)


def _i5(n, d, seed):
    inst, ob = L.instance(n, d, seed), L.objs(n, d, seed, "C.3", causal=True)
    from attngrad import transformer as tr
    eye = np.eye(d, dtype=int).astype(object) * mpmath.mpf(1)
    lib = tr.forward(inst["X"], [tr.Layer(inst["W"], eye, inst["WV"], causal=True)])
    return ob["f"] @ (inst["X"] @ inst["WV"]), lib


DEF_I5 = Statement(
    id="LSS24 Definition I.5",
    paper=PAPER,
    summary="f~(X) := D^{-1} (M o A), A = exp(X W X^T / d), D = diag((M o A) 1_n) (with the 1/d)",
    printed=("Definition I.5: M the causal mask (Definition I.2); f~(X) := D^{-1} (M o A) with "
             "A := exp(X W X^T / d) and D := diag((M o A) 1_n). (The accent on f is lost in the "
             "extracted text; Section B.3 uses the same definition.)"),
    steps=[Step("f~ X W_V = causal Attn", "D^{-1}(M o A) X W_V (matrix operations, 50 digits) = "
                "attngrad.transformer.forward with causal=True (default scale 1/d), d = 3, 2, 1",
                "mpmath", L.each_case(_i5))],
)


# ---------------------------------------------------------------------------
# Lemma I.6


def _masked(ctx):
    """Ball quantities under the mask: exact f~ and the low-rank one of Lemma I.6."""
    n = ctx["n"]
    M = L.causal_mask(n)
    A = np.asarray(np.frompyfunc(lambda v: v.exp(), 1, 1)(ctx["S"]), dtype=object) * M
    f = A / A.sum(axis=1)[:, None]
    At = (ctx["U0"] @ ctx["V0"].T) * M
    ones = np.array([ctx["U0"][0, 0] * 0 + 1] * n, dtype=object)
    Dt = algorithm2(ctx["U0"], ctx["V0"], ones)
    return {"M": M, "f": f, "At": At, "Dt": Dt, "ft": At / Dt[:, None]}


def _i6_normaliser(ctx):
    m = _masked(ctx)
    return [("D~ by Algorithm 2 = (M o U0 V0^T) 1_n", m["Dt"], m["At"].sum(axis=1))]


def _i6_error(ctx):
    m = _masked(ctx)
    eta = ctx["eta"]
    return (abs_array(m["ft"] - m["f"]), (2 * eta / (1 - eta)) * m["f"])


def _i6_identities():
    """Part 2's three steps on exact rationals: (D^{-1}(M o B)) o C = (M o (D^{-1} B)) o C
    = M o ((D^{-1} B) o C), and (D^{-1} U0 V0^T) o (U V^T) = ((D^{-1} U0) (/) U)(V0 (/) V)^T."""
    out = []
    for n, k, seed in ALG_CASES[1:]:
        rng = np.random.default_rng(seed + 90)
        U0, V0, U, V = (_frac(rng, (n, k)) for _ in range(4))
        Dinv = L.diag(_frac(rng, (n,)))
        M = L.causal_mask(n)
        B, C = U0 @ V0.T, U @ V.T
        lab = f"n={n},k={k}"
        out += [(lab + " D(A o B) = (DA) o B", (Dinv @ (M * B)) * C, (M * (Dinv @ B)) * C),
                (lab + " associativity", (M * (Dinv @ B)) * C, M * ((Dinv @ B) * C)),
                (lab + " Fact C.2", (Dinv @ B) * C,
                 rowwise_kron(Dinv @ U0, U) @ rowwise_kron(V0, V).T)]
    return out


def _i6_count():
    """U_M = (D^{-1} U0) (/) U, V_M = V0 (/) V (n k + 2 n k^2), then Lemma I.4 on H with k_H
    columns (3 n k^2 k_H): counted at three n, collinear."""
    from attngrad import opcount

    def total(n, k=3, kH=2):
        ns = opcount.CountingNamespace()
        rng = np.random.default_rng(n)
        U0, V0, U, V = (ns.wrap(rng.standard_normal((n, k))) for _ in range(4))
        dinv, H = ns.wrap(rng.standard_normal(n)), ns.wrap(rng.standard_normal((n, kH)))
        UM, VM = rowwise_kron(dinv[:, None] * U0, U), rowwise_kron(V0, V)
        for c in range(kH):
            algorithm2(ns.wrap(UM), ns.wrap(VM), H[:, c], zeros=ns.zeros)
        return opcount.total(ns.log)
    return [(f"n={n}", total(n), n * 3 + 2 * n * 9 + 3 * n * 9 * 2) for n in (4, 9, 20)]


LEMMA_I6 = Statement(
    id="LSS24 Lemma I.6",
    paper=PAPER,
    summary="f~ H and (f~ o U V^T) H approximated in n^{1+o(1)} time through D~^{-1}(M o U0 "
            "V0^T) (no error bound stated)",
    printed=("Lemma I.6: f~ of Definition I.5; U, V in R^{n x k}, H in R^{n x k_H} (k, k_H = "
             "n^{o(1)}). Then approximating Part 1 f~(X) H and Part 2 (f~(X) o (U V^T)) H takes "
             "n^{1+o(1)} time. Proof: A ~ U0 V0^T (Lemma I.1); f~ ~ D~^{-1}(M o U0 V0^T), D~ = "
             "diag((M o U0 V0^T) 1_n) by Lemma I.3; Part 1 by Lemma I.4; Part 2: "
             "((D~^{-1}(M o U0 V0^T)) o (U V^T)) H = ((M o (D~^{-1} U0 V0^T)) o (U V^T)) H = "
             "(M o ((D~^{-1} U0 V0^T) o (U V^T))) H = (M o ((D~^{-1} U0) (/) U)(V0 (/) V)^T) H; "
             "U_M = (D~^{-1} U0) (/) U in nk + O(n k^2), V_M = V0 (/) V in O(n k^2); Lemma I.4."),
    steps=[
        Step("D~ (Lemma I.3)", "D~ computed by Algorithm 2 with v = 1_n = (M o U0 V0^T) 1_n "
             "(ball, Taylor factors at scale 1/d)", "ball",
             L.each_lowrank(_i6_normaliser, which="C.3"), tol=1e-30),
        Step("Part 2's three steps", "diagonal scaling through o, associativity of o, and Fact "
             "C.2 under the mask, exact rationals", "exact", _i6_identities),
        Step("time (counted)", "U_M, V_M and Lemma I.4 with k_H = 2, k = 3: n k + 2 n k^2 + "
             "3 n k^2 k_H operations (attngrad.opcount)", "exact", _i6_count),
        Step("error (ours)", "if |U0 V0^T - A| <= eta A entrywise, the masked, renormalised "
             "D~^{-1}(M o U0 V0^T) is within 2 eta / (1 - eta) f~ of f~ entrywise, whatever the "
             "mask leaves of each row (certified)", "ball",
             L.each_lowrank(_i6_error, which="C.3"), relation="<="),
    ],
    gaps=["the lemma states no accuracy ('approximating ... takes n^{1+o(1)} time'); an additive "
          "eps on A would not survive the normalisation of short rows (row 1 keeps one entry), a "
          "relative one does (the step 'error (ours)')"],
)


# ---------------------------------------------------------------------------
# Lemmas I.7, I.8 (the gradient terms under the mask; scale 1, as Appendix D)


def _causal_case(n, d, seed, which="C.6"):
    inst, ob = L.instance(n, d, seed), L.objs(n, d, seed, which, causal=True)
    return inst, ob, L.library_gradients(n, d, seed, which, causal=True)


def _i7_part4(transpose):
    def fn(n, d, seed):
        inst, ob, lib = _causal_case(n, d, seed)
        f = ob["f"].T if transpose else ob["f"]
        return inst["X"].T @ f @ inst["G"], lib["WV"]
    return L.each_case(fn)


def _i7_routes():
    """Parts 1 and 3 computed as the proof orders them (f~ applied to diag(K) X, to G), with
    f~'s low rank U0, V0 and Algorithm 2, = the explicit matrices of the same factors."""
    def fn(ctx):
        m = _masked(ctx)
        U0, V0 = ctx["U0"], ctx["V0"]

        def apply(H):          # f~_approx H by Lemma I.6 Part 1: Algorithm 2 per column
            Z = np.stack([algorithm2(U0, V0, H[:, c]) for c in range(H.shape[1])], axis=1)
            return Z / m["Dt"][:, None]
        KX = ctx["K"][:, None] * ctx["X"]
        return [("Part 1: f~ (diag(K) X)", apply(KX), m["ft"] @ KX),
                ("Part 3: f~ G", apply(ctx["G"]), m["ft"] @ ctx["G"]),
                ("f~^T G by suffix sums (ours)",
                 np.stack([algorithm2_transposed(U0, V0, ctx["G"][:, c] / m["Dt"])
                           for c in range(ctx["d"])], axis=1), m["ft"].T @ ctx["G"]),
                ]
    return L.each_lowrank(fn, which="C.3")


LEMMA_I7 = Statement(
    id="LSS24 Lemma I.7",
    paper=PAPER,
    summary="with the mask, -f~ diag(K) X W^T, -diag(K) f~ X W, f~ G W_V^T and X^T f~ G in "
            "almost linear time; the last is not dL/dW_V (X^T f~^T G: an upper-triangular "
            "product, the transposed Algorithm 2)",
    printed=("Lemma I.7 (Components for dot product): f~ of Definition I.5; D6 = -f(X) diag(K) "
             "X W^T, D2 = -diag(K) f(X) X W, D8 = f(X) G_i W_V^T (Lemma D.17); g_v := X^T f(X) "
             "G_i, the gradient on W_Vi (Lemma G.3). Then Part 1 D~6 = -f~ diag(K) X W^T, Part 2 "
             "D~2 = -diag(K) f~ X W, Part 3 D~8 = f~ G_i W_V^T, Part 4 g~_v := X^T f~ G_i can be "
             "approximated in almost linear time (Lemma I.6 Part 1 for f~ (.), then products "
             "with W, W_V, X^T)."),
    steps=[
        Step("the proof's order", "f~ (diag(K) X) and f~ G through Algorithm 2 with f~'s "
             "factors (Lemma I.6 Part 1) = the explicit products of the same factors (ball)",
             "ball", _i7_routes(), tol=1e-30),
        Step("Part 4 is dL/dW_V", "X^T f~ G = attngrad.transformer's causal dL/dW_V (scale 1, "
             "Appendix D's convention), d = 3, 2, 1", "mpmath", _i7_part4(False)),
    ],
    corrected=[
        Step("X^T f~^T G", "X^T f~^T G = attngrad.transformer's causal dL/dW_V, d = 3, 2, 1",
             "mpmath", _i7_part4(True)),
        Step("f~^T H by suffix sums (ours)", "(M o U0 V0^T)^T v by Algorithm 2 on the reversed "
             "rows (roles of U0, V0 exchanged) = the explicit product, exact rationals",
             "exact", _alg2_exact(transposed=True)),
    ],
    errata=[Erratum(
        location="LSS24 Lemma I.7, Part 4 (inherits Lemma G.3) and Parts 1, 3 (Lemma D.17)",
        printed="g~_v := X^T f~(X) G_i (and D~6 = -f~ diag(K) X W^T, D~8 = f~ G_i W_V^T)",
        corrected="g~_v := X^T f~(X)^T G_i (likewise -f~^T diag(K) X W and f~^T G_i W_V^T, "
                  "Lemma D.17's correction); f~^T is upper triangular, so f~^T H needs the "
                  "transposed causal product: Algorithm 2 on the rows in reverse order (suffix "
                  "sums), O(n k) as well",
        evidence="X^T f~ G differs from attngrad.transformer's causal dL/dW_V (first at n = 5, "
                 "d = 3; 50 digits), X^T f~^T G equals it at d = 3, 2, 1; the reversed Algorithm "
                 "2 equals (M o U0 V0^T)^T v on exact rationals. "
                 + L.rerun("LSS24 Lemma I.7"),
        step="Part 4 is dL/dW_V")],
)


def _i8_gw(n, d, seed):
    inst, ob, lib = _causal_case(n, d, seed)
    return inst["X"].T @ (ob["p1"] - ob["p2"]) @ inst["X"], lib["W"]


def _i8_dx(corrected):
    def fn(n, d, seed):
        from .lss24_d_matrix import corrected_terms, printed_terms
        inst, ob, lib = _causal_case(n, d, seed)
        terms = corrected_terms(ob, inst) if corrected else printed_terms(ob, inst)
        return sum(terms.values()), lib["X"]
    return L.each_case(fn)


def _i8_route(ctx):
    """Part 2's order: (f~ o (G h^T)) X through U_M = (D~^{-1} U0) (/) G, V_M = V0 (/) h and
    Algorithm 2 = the explicit product of the same factors (ball)."""
    m = _masked(ctx)
    UM = rowwise_kron(ctx["U0"] / m["Dt"][:, None], ctx["G"])
    VM = rowwise_kron(ctx["V0"], ctx["h"])
    Z = np.stack([algorithm2(UM, VM, ctx["X"][:, c]) for c in range(ctx["d"])], axis=1)
    return [("", Z, (m["ft"] * (ctx["G"] @ ctx["h"].T)) @ ctx["X"])]


LEMMA_I8 = Statement(
    id="LSS24 Lemma I.8",
    paper=PAPER,
    summary="with the mask, (f~ o h G^T) X W^T, (f~ o G h^T) X W and X^T (p~1 - p~2) X in almost "
            "linear time; with I.7 the D-terms are Lemma D.17's, not dL/dT_{i-1}",
    printed=("Lemma I.8 (Components for Hadamard product): f~ of Definition I.5; D7 = (f o (h "
             "G_i^T)) X W^T, D4 = (f o (G_i h^T)) X W (Lemma D.17); g_w := X^T p X = X^T (p1 - "
             "p2) X (Lemma F.5). Then Part 1 D~7 = (f~ o (h G_i^T)) X W^T, Part 2 D~4 = (f~ o (G_i "
             "h^T)) X W ('For D7' in the proof), Part 3 g~_w := X^T (p~1 - p~2) X with p~1 = f~ o "
             "q, p~2 = diag(p~1 1_n) f~, can be approximated in almost linear time (Lemma I.6 "
             "Part 2, then products; p~1 1_n and f~ X by Lemma I.6)."),
    steps=[
        Step("the proof's order", "(f~ o (G h^T)) X through Lemma I.6 Part 2's factors and "
             "Algorithm 2 = the explicit product (ball)", "ball",
             L.each_lowrank(_i8_route, which="C.3"), tol=1e-30),
        Step("Part 3 is dL/dW", "X^T (p1 - p2) X with the masked f = attngrad.transformer's "
             "causal dL/dW (scale 1, the appendix's convention; Lemma F.4's 1/d otherwise)",
             "mpmath", L.each_case(_i8_gw)),
        Step("I.7 + I.8 give dL/dT_{i-1}", "D~6 + D~7 + D~8 + D~2 + D~4 (Lemma D.17's forms with "
             "the masked f) = attngrad.transformer's causal dL/dT_{i-1} (scale 1)", "mpmath",
             _i8_dx(False)),
    ],
    corrected=[
        Step("corrected terms under the mask", "Lemma D.17's corrected terms with the masked f "
             "(f^T upper triangular) = attngrad.transformer's causal dL/dT_{i-1}, d = 3, 2, 1",
             "mpmath", _i8_dx(True)),
    ],
    errata=[Erratum(
        location="LSS24 Lemmas I.7 Parts 1-3 and I.8 Parts 1-2 (the D-terms under the mask; "
                 "inherits Lemma D.17)",
        printed="dL/dT_{i-1} = -f~ diag(K) X W^T + (f~ o h G^T) X W^T + f~ G W_V^T "
                "- diag(K) f~ X W + (f~ o G h^T) X W",
        corrected="-f~^T diag(K) X W + (f~^T o h G^T) X W + f~^T G W_V^T - diag(K) f~ X W^T + "
                  "(f~ o G h^T) X W^T: three of the five terms apply the upper-triangular f~^T "
                  "(the transposed Algorithm 2)",
        evidence="the printed sum with the masked f differs from attngrad.transformer's causal "
                 "dL/dT_{i-1} (first at n = 5, d = 3; scale 1, 50 digits); the corrected sum "
                 "equals it at d = 3, 2, 1. " + L.rerun("LSS24 Lemma I.8"),
        step="I.7 + I.8 give dL/dT_{i-1}")],
)


STATEMENTS = [DEF_I2, LEMMA_I3, ALGORITHM2, LEMMA_I4, DEF_I5, LEMMA_I6, LEMMA_I7, LEMMA_I8]
