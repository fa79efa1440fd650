#!/usr/bin/env python3
"""CPU: the exact multi-layer gradient (attngrad.transformer) against torch autograd, same run.

The model: ``--layers`` layers of d = 64, 4 heads, causal attention, residual, a GELU MLP with
its residual, squared loss; forward + backward (every weight and the input). torch builds the same
model with scaled_dot_product_attention(is_causal=True) and nn.functional.gelu, and backpropagates
with autograd (a benchmark peer only: ``pip install torch==2.13.0 --index-url
https://download.pytorch.org/whl/cpu``). For n in 2^10 .. 2^14 (``--sizes``) it prints a markdown
table: seconds (best of ``--repeats``; one run from 2^13 on), attngrad float64 over torch float64,
attngrad float32 over torch float32, and the largest difference of every gradient relative to its
largest entry. Both use the machine's default threads unless ``--threads`` is given.

    python benchmarks/transformer_cpu.py --layers 2 4
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np

try:
    from attngrad import transformer as tr
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from attngrad import transformer as tr
from attngrad.machine import cpu_model

D, HEADS = 64, 4


def model(n, m, seed, dtype):
    rng = np.random.default_rng(seed)

    def w():
        return (rng.standard_normal((D, D)) / np.sqrt(D)).astype(dtype)

    layers = [tr.Layer(w(), w(), w(), W_g=w(), phi="gelu", heads=HEADS, causal=True,
                       residual=True, mlp_residual=True) for _ in range(m)]
    X = rng.standard_normal((n, D)).astype(dtype)
    target = rng.standard_normal((n, D)).astype(dtype)
    return X, layers, target


def attngrad_run(X, layers, target):
    _, g = tr.loss_and_gradient(X, layers, target=target)
    return dict(g.arrays())


def torch_run(torch, X, layers, target):
    """The same model and loss by torch autograd; gradients by the names of attngrad's."""
    n = X.shape[0]
    leaves = {"X": torch.tensor(X, requires_grad=True)}
    for i, L in enumerate(layers):
        for k, v in L.weights.items():
            leaves[f"layers[{i}].{k}"] = torch.tensor(v, requires_grad=True)
    T = leaves["X"]
    dh = D // HEADS
    for i in range(len(layers)):
        W = {k: leaves[f"layers[{i}].{k}"] for k in ("W_Q", "W_K", "W_V", "W_g")}
        q, k, v = ((T @ W[k_]).view(n, HEADS, dh).transpose(0, 1) for k_ in ("W_Q", "W_K", "W_V"))
        A = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                             scale=1.0 / dh)
        Z = T + A.transpose(0, 1).reshape(n, D)
        T = Z + torch.nn.functional.gelu(Z @ W["W_g"])
    loss = 0.5 * ((T - torch.tensor(target)) ** 2).sum()
    loss.backward()
    return {k: v.grad.numpy() for k, v in leaves.items()}


def best_of(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 11, 12, 13, 14], help="log2 n")
    ap.add_argument("--layers", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--repeats", type=int, default=3, help="timing runs below 2^13; 1 above")
    ap.add_argument("--threads", type=int, default=None, help="BLAS and torch threads")
    args = ap.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    print(f"machine: {cpu_model()}, {os.cpu_count()} logical CPUs; "
          f"date {datetime.date.today().isoformat()}; numpy {np.__version__}; "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"model: d = {D}, {HEADS} heads, causal, residual, GELU MLP with residual, squared loss; "
          "forward + backward, every gradient")
    print()
    print("| layers | n | attngrad f64 s | torch f64 s | attngrad / torch f64 | attngrad f32 s "
          "| torch f32 s | attngrad / torch f32 | max rel diff f64 | max rel diff f32 |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m in args.layers:
        for k in args.sizes:
            n = 2 ** k
            reps = args.repeats if n < 2 ** 13 else 1
            row = [f"{m}", f"2^{k}"]
            ratios, diffs = [], []
            for dtype in (np.float64, np.float32):
                X, layers, target = model(n, m, seed=k, dtype=dtype)
                ta, ga = best_of(lambda: attngrad_run(X, layers, target), reps)
                tt, gt = best_of(lambda: torch_run(torch, X, layers, target), reps)
                row += [f"{ta:.3g}", f"{tt:.3g}"]
                ratios.append(f"{ta / tt:.2f}")
                diffs.append(max(float(np.max(np.abs(ga[name] - gt[name]))
                                       / np.max(np.abs(gt[name]))) for name in ga))
                row.append(ratios[-1])
            row += [f"{diffs[0]:.1e}", f"{diffs[1]:.1e}"]
            print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
