"""Benchmark: K networks trained in one process, against one at a time and per sample.

What it measures
    Seconds per network-epoch (50,000 images, eta 3.0, mini-batches of 10, one BLAS
    thread) for: the book's per-sample ``network.py`` (as published, float64), the
    single-network trainer (``network.sgd_epoch``), and the batched trainer
    (``network.sgd_epoch_stacked``, as ``batched.train_batched`` runs it) for K in {1, 4, 8, 16, 32}, in float64 and float32;
    each with its ratio to the per-sample reference. Also the FLOP floor: the two
    784-wide matrix products per mini-batch (the arithmetic that cannot be avoided),
    timed as single-core float64 and float32 matmul throughput in the same run.

How
    Contestants alternate within each round (the order rotates), the median over
    rounds is reported. Every batched member is also checked to equal the single
    trainer bit for bit on the first epoch (the protocol's promise; see the tests).
    Writes ``results/bench/batched.csv``.

Run: ``python bench/bench_batched.py --mnist DIR`` (about 1 to 2 minutes).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_trainer import (
    PublishedNetwork,
    machine_info,
    reference_training_data,
    write_csv,
)

from twinnets.batched import stack, unstack
from twinnets.distances import flatten
from twinnets.mnist import load_mnist
from twinnets.network import TrainConfig, epoch_order, init_params, sgd_epoch, sgd_epoch_stacked

KS = (1, 4, 8, 16, 32)
DTYPES = ("float64", "float32")


def floor_seconds(dtype: str, n_batches: int, rng: np.random.Generator) -> float:
    """Seconds per epoch of the two unavoidable products, (10,784)@(784,30) and (30,10)@(10,784)."""
    w1 = rng.standard_normal((30, 784)).astype(dtype)
    x = rng.random((10, 784)).astype(dtype)
    d1 = rng.standard_normal((10, 30)).astype(dtype)
    calls = 2000
    started = time.perf_counter()
    for _ in range(calls):
        x @ w1.T
        d1.T @ x
    return (time.perf_counter() - started) / calls * n_batches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", required=True, help="folder holding the four MNIST .gz files")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=Path("results/bench/batched.csv"))
    args = parser.parse_args(argv)

    data = load_mnist(args.mnist, n_train=args.n_train)
    pixels, labels = data.train.pixels, data.train.labels
    base = TrainConfig(n_train=args.n_train)
    n_batches = -(-args.n_train // base.batch_size)
    order0 = epoch_order(0, 1, args.n_train)
    reference_data = reference_training_data(pixels, labels, 10)
    rng = np.random.default_rng(0)
    print(machine_info())

    def reference() -> float:
        net = PublishedNetwork(init_params(base))
        started = time.perf_counter()
        with np.errstate(over="ignore"):
            net.sgd_epoch(reference_data, order0, base.batch_size, base.eta)
        return time.perf_counter() - started

    def single(dtype: str) -> float:
        config = dataclasses.replace(base, dtype=dtype)
        params = init_params(config)
        onehot = np.eye(10, dtype=dtype)[labels]
        started = time.perf_counter()
        sgd_epoch(params, pixels, onehot, order0, config)
        return time.perf_counter() - started

    identical: dict[tuple[str, int], bool] = {}

    def batched(dtype: str, k: int) -> float:
        configs = [
            dataclasses.replace(base, dtype=dtype, init_seed=s, order_seed=s) for s in range(k)
        ]
        stacked = stack([init_params(c) for c in configs])
        onehot = np.eye(10, dtype=dtype)[labels]
        orders = np.stack([epoch_order(c.order_seed, 1, args.n_train) for c in configs])
        started = time.perf_counter()
        sgd_epoch_stacked(stacked, pixels, onehot, orders, configs[0])
        seconds = (time.perf_counter() - started) / k
        if (dtype, k) not in identical:  # bit-for-bit check of member 0, untimed
            alone = init_params(configs[0])
            sgd_epoch(alone, pixels, onehot, orders[0], configs[0])
            identical[dtype, k] = flatten(unstack(stacked)[0]).tobytes() == flatten(alone).tobytes()
        return seconds

    contestants = {"per-sample network.py (float64)": reference}
    for dtype in DTYPES:
        contestants[f"single ({dtype})"] = lambda d=dtype: single(d)
        for k in KS:
            contestants[f"batched K={k} ({dtype})"] = lambda d=dtype, k=k: batched(d, k)
    times: dict[str, list[float]] = {name: [] for name in contestants}
    floors: dict[str, list[float]] = {d: [] for d in DTYPES}
    names = list(contestants)
    with threadpool_limits(1):
        for round_ in range(args.rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                times[name].append(contestants[name]())
            for dtype in DTYPES:
                floors[dtype].append(floor_seconds(dtype, n_batches, rng))

    ref = statistics.median(times[names[0]])
    rows = []
    print(f"{'trainer':34s} {'s/network-epoch':>16s} {'speed-up':>9s}  bitwise")
    for name in names:
        median = statistics.median(times[name])
        key = next(((d, k) for (d, k) in identical if name == f"batched K={k} ({d})"), None)
        same = "" if key is None else ("yes" if identical[key] else "NO")
        print(f"{name:34s} {median:16.3f} {ref / median:8.2f}x  {same}")
        rows.append({"trainer": name, "seconds_per_network_epoch": f"{median:.4f}",
                     "speedup_vs_reference": f"{ref / median:.2f}", "bitwise_identical": same})  # fmt: skip
    for dtype in DTYPES:
        floor = statistics.median(floors[dtype])
        print(f"{'floor: matmuls alone (' + dtype + ')':34s} {floor:16.3f} {ref / floor:8.2f}x")
        rows.append({"trainer": f"floor ({dtype})", "seconds_per_network_epoch": f"{floor:.4f}",
                     "speedup_vs_reference": f"{ref / floor:.2f}", "bitwise_identical": ""})  # fmt: skip
    write_csv(args.out, rows)
    print(f"wrote {args.out}")
    return 0 if all(identical.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
