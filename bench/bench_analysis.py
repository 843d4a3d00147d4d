"""Benchmark: the full analysis of one large group of networks.

What it measures
    Wall time of ``twinnets.compare.groups.analyze_group`` on 64 networks of [784, 30, 10]
    trained at one (eta, epochs): 2,016 pairs, every metric for every pair (raw and
    aligned distances three ways, dead-pixel and unseen-direction splits, the
    init/training decomposition, pre-activation distances, CKA, matched-unit
    correlations, function similarity) and the same metrics for the pairs' rebuilt
    initialisations (the nulls), the per-network table with the consensus alignment,
    and loss barriers (25-point curves, raw and under each of three alignments, for
    the trained networks and their inits) for the default budget of 45 pairs. The
    target is under 60 s on this 2-core machine.

How
    The 64 networks (init seed = order seed = 0..63, eta 3.0, 1 epoch on the full
    training set) are trained once and cached under
    ``--cache``; training is not timed. Then the analysis runs ``--rounds`` times with
    the default BLAS threads, and the script prints each round, the median, and where
    the time goes (a cProfile of the last round, top functions by cumulative time).

Run: ``python bench/bench_analysis.py --mnist DIR`` (about 1 minute of training the
first time, then well under a minute per round).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from pathlib import Path

from twinnets.compare.groups import analyze_group
from twinnets.dumps.checkpoints import train_checkpoint
from twinnets.train.network import TrainConfig


def ensure_networks(cache: Path, mnist: str, n: int, epochs: int) -> list[Path]:
    paths = []
    for seed in range(n):
        path = cache / f"seed={seed}" / f"epochs={epochs}.parquet"
        if not path.exists():
            train_checkpoint(
                TrainConfig(epochs=epochs, init_seed=seed, order_seed=seed), mnist, path
            )
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", required=True, help="folder holding the four MNIST .gz files")
    parser.add_argument("--networks", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("results/bench/analysis-networks"))
    args = parser.parse_args(argv)

    started = time.perf_counter()
    paths = ensure_networks(args.cache, args.mnist, args.networks, args.epochs)
    print(f"{len(paths)} networks ready in {time.perf_counter() - started:.1f} s (not timed)")

    times = []
    profile = cProfile.Profile()
    for round_ in range(1, args.rounds + 1):
        last = round_ == args.rounds
        started = time.perf_counter()
        if last:
            profile.enable()
        result = analyze_group(paths, args.mnist)
        if last:
            profile.disable()
        times.append(time.perf_counter() - started)
        computed = int(result.pairs.barrier_computed.sum())
        print(
            f"round {round_}: {times[-1]:.1f} s for {len(result.pairs)} pairs "
            f"({computed} with barriers), {len(result.networks)} networks"
            + ("  (profiled: slower)" if last and args.rounds > 1 else "")
        )
    unprofiled = times[:-1] or times
    median = statistics.median(unprofiled)
    print(f"median {median:.1f} s (target < 60 s): {'met' if median < 60 else 'NOT met'}")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(18)
    print("where the time goes (last round, cumulative):")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:4000])
    return 0 if median < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
