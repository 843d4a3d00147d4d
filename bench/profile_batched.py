"""Profile: where an epoch of the batched trainer spends its time, line by line.

Runs ``network.sgd_epoch_stacked`` for K = 8 networks (one BLAS thread) under
line_profiler, in float64 and float32, and prints each line's share of the epoch. The
lines that multiply matrices are the floor that no layout can lower without changing
the members' bits (each member must run the single trainer's own products); the rest
(gathering the mini-batch, the sigmoid, the elementwise updates) is what batching
amortises. Writes ``results/bench/profile_batched.txt``.

Run: ``pip install line_profiler && python bench/profile_batched.py --mnist DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
from pathlib import Path

import numpy as np
from line_profiler import LineProfiler
from threadpoolctl import threadpool_limits

from twinnets.batched import stack
from twinnets.mnist import load_mnist
from twinnets.network import TrainConfig, epoch_order, init_params, sgd_epoch_stacked


def profile(dtype: str, k: int, data, n_train: int) -> tuple[str, list[tuple[int, float, str]]]:
    """line_profiler's report of one epoch, and (line, share of the epoch, code) per line."""
    base = TrainConfig(n_train=n_train, dtype=dtype)
    configs = [dataclasses.replace(base, init_seed=s, order_seed=s) for s in range(k)]
    stacked = stack([init_params(c) for c in configs])
    onehot = np.eye(10, dtype=dtype)[data.train.labels]
    orders = np.stack([epoch_order(c.order_seed, 1, n_train) for c in configs])
    profiler = LineProfiler(sgd_epoch_stacked)
    with threadpool_limits(1):
        profiler.runcall(sgd_epoch_stacked, stacked, data.train.pixels, onehot, orders, base)
    stats = profiler.get_stats()
    (((_, _, _), timings),) = stats.timings.items()
    total = sum(t for _, _, t in timings)
    source = Path(sgd_epoch_stacked.__code__.co_filename).read_text().splitlines()
    lines = [(n, t / total, source[n - 1].strip()) for n, _, t in timings]
    out = io.StringIO()
    profiler.print_stats(stream=out)
    return out.getvalue(), lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", required=True, help="folder holding the four MNIST .gz files")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=Path("results/bench/profile_batched.txt"))
    args = parser.parse_args(argv)
    data = load_mnist(args.mnist, n_train=args.n_train)
    report = []
    for dtype in ("float64", "float32"):
        full, lines = profile(dtype, args.k, data, args.n_train)
        report.append(f"## K = {args.k}, {dtype}: share of the epoch per line\n")
        for number, share, code in sorted(lines, key=lambda x: -x[1]):
            if share >= 0.005:
                report.append(f"{share:6.1%}  line {number:4d}  {code}")
        matmul = sum(share for _, share, code in lines if "@" in code or "matmul" in code)
        report.append(f"\nlines with a matrix product: {matmul:.1%} of the epoch\n")
        report.append(full)
    text = "\n".join(report)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
