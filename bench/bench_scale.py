"""Benchmark: how long Snakemake takes to plan grids of thousands of networks, what the
analysis costs per pair, and what a 10,000-network grid would take on a cluster.

What it measures
    1. Planning: wall time of ``snakemake -n`` (a dry run: parse the workflow, validate the
       config, build the DAG of every job, print the plan) on an empty results folder, for
       square ``crossed`` grids of 1,024, 4,096 and 16,384 networks ([784, 30, 10], 1,000
       training images, checkpoints 0 and 1, blocks of 8): the time before a cluster run
       submits its first job, and that every cluster job pays again when it reads the
       workflow. Issue #17's targets: at most 60 s for 4,096 networks and 4 min for 16,384.
    2. Analysis (``--analysis-networks``, default 128; 0 skips it): real groups of that many
       [784, 30, 10] networks (1,000 training images, init seed = order seed, so every init
       is distinct and no null is shared; trained once and cached under ``--cache``,
       training not timed), at checkpoints 1 and 0, cut in two tiles: the CPU seconds (one
       BLAS thread, as a job runs it) of a diagonal shard and an off-diagonal one
       (``twinnets.compare.shards.analyze_shard``, no barriers), and of an off-diagonal
       shard of half the tile; hence seconds per 10,000 pairs, and (from the two
       off-diagonal shards) the cost per network and per pair of a shard; one pair's loss
       barrier; and the group's pair plan (``plan_pairs``), per pair. From those, the
       projected wall time of all pairs of 1,024 networks at checkpoints 0 and 1 on 2 cores
       (issue #17's case) in the default tiles, for networks with distinct inits: a crossed
       grid's nulls are shared by the pairs of the same two init seeds and measured once
       (``pair_batch.measure_networks``), so its real run is faster (README, "Run on a
       cluster").
    3. A projection from those unit costs: ``--project-networks`` networks (10,000) trained
       for ``--project-epochs`` (30) on 50,000 images, their pairs analysed (one group, the
       last checkpoint: N (N - 1) / 2 = 5 x 10^7 pairs, or ``--max-pairs`` per kind for 4
       kinds), on ``--nodes`` (100) nodes of ``--cores-per-node`` (32) cores, every core
       busy (no queue waits, no failed jobs). Training per network from
       ``twinnets.pipeline.resources.train_seconds`` (unit costs measured on the 2-core
       reference VM, no safety factor).

How
    A private copy of the workflow per planning run (so no results or locks interfere), one
    run per size, one after the other; ``--sizes`` picks the sizes (``--sizes`` with no value
    skips planning). The machine is shared: run it twice when numbers look noisy.

Usage
    python bench/bench_scale.py --mnist DIR [--sizes 1024 4096 16384]
        [--analysis-networks 128] [--nodes 100 --cores-per-node 32] [--max-pairs N]
        [--out results/bench/scale.csv]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from threadpoolctl import threadpool_limits

from twinnets.compare import shards
from twinnets.dumps.checkpoints import train_checkpoint
from twinnets.pipeline import resources
from twinnets.train.network import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ("Snakefile", "workflow", "scripts", "config", "envs")


def grid_config(networks: int) -> dict:
    """A square crossed grid of ``networks`` MLPs on the smoke config's data."""
    side = math.isqrt(networks)
    if side * side != networks:
        raise SystemExit(f"--sizes: {networks} is not a square number of networks")
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config["grid"].update(
        init_seeds=list(range(side)),
        order_seeds=list(range(side)),
        epochs=[0, 1],
        block_size=8,
        models=[{"name": "mlp"}],
    )
    return config


def plan(networks: int, mnist: str) -> dict:
    """Time one dry run of a fresh workflow copy on the grid of ``networks``."""
    with tempfile.TemporaryDirectory(prefix="twinnets-scale-") as tmp:
        work = Path(tmp)
        for part in WORKFLOW_PARTS:
            src = ROOT / part
            (shutil.copytree if src.is_dir() else shutil.copy)(src, work / part)
        (work / "config" / "scale.yaml").write_text(yaml.safe_dump(grid_config(networks)))
        env = {**os.environ, "TWINNETS_MNIST_MIRROR": mnist}
        cmd = [sys.executable, "-m", "snakemake", "-n", "--cores", "2"]
        cmd += ["--configfile", "config/scale.yaml"]
        start = time.perf_counter()
        run = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"snakemake -n failed for {networks} networks:\n{run.stderr[-3000:]}")
    text = run.stdout + run.stderr
    stats = text.split("Job stats:")[1]
    jobs = int(re.search(r"^total\s+(\d+)", stats, re.M)[1])
    rules = len(re.findall(r"^train_\w+\s+\d+\s*$", stats, re.M))
    return {"networks": networks, "train_rules": rules, "jobs": jobs, "seconds": seconds}


def ensure_networks(cache: Path, mnist: str, n: int, n_train: int, epochs: int = 1) -> list[Path]:
    """``n`` networks of one group (``epochs`` on ``n_train`` images), trained once and cached."""
    paths = []
    for seed in range(n):
        path = cache / f"n_train={n_train}" / f"seed={seed}" / f"epochs={epochs}.parquet"
        if not path.exists():
            config = TrainConfig(epochs=epochs, n_train=n_train, init_seed=seed, order_seed=seed)
            train_checkpoint(config, mnist, path)
        paths.append(path)
    return paths


def _cpu_seconds(run) -> float:
    """CPU seconds of this process for ``run()``: on a shared machine wall time would
    count the other users' load too (BLAS on one thread, as an analyze_shard job runs it)."""
    started = time.process_time()
    run()
    return time.process_time() - started


def measure_analysis(mnist: str, n: int, n_train: int, cache: Path) -> dict:
    """Unit costs of the analysis, measured on real groups of ``n`` networks in tiles of
    ``n / 2``: a diagonal shard (one tile) and an off-diagonal one (two tiles), the shards
    a big group is made of, at checkpoint 1 (trained networks and their inits: two sides)
    and checkpoint 0 (networks that are their own inits: one side)."""
    tile = n // 2
    started = time.perf_counter()
    groups = {epochs: ensure_networks(cache, mnist, n, n_train, epochs) for epochs in (1, 0)}
    print(f"{n} networks ready in {time.perf_counter() - started:.1f} s (not timed)", flush=True)
    row: dict = {"networks": n, "tile": tile, "n_train": n_train}
    with threadpool_limits(1):
        for epochs, paths in groups.items():
            for shard in ("0-0", "0-1"):
                row[f"shard_{shard}_epochs_{epochs}_seconds"] = _cpu_seconds(
                    lambda p=paths, s=shard: shards.analyze_shard(
                        p, mnist, s, tile, barrier_pairs=0
                    )
                )
            # an off-diagonal shard of half the tile: a quarter of the pairs, half the
            # networks, so that per-network and per-pair costs can be told apart
            row[f"shard_half_epochs_{epochs}_seconds"] = _cpu_seconds(
                lambda p=paths: shards.analyze_shard(
                    p[:tile], mnist, "0-1", tile // 2, barrier_pairs=0
                )
            )
        two = groups[1][:2]
        row["barrier_seconds"] = _cpu_seconds(
            lambda: shards.analyze_shard(two, mnist, "0-0", tile=2, barrier_pairs=1)
        ) - _cpu_seconds(lambda: shards.analyze_shard(two, mnist, "0-0", tile=2, barrier_pairs=0))
    headers = [shards.read_header(p) for p in groups[1]]
    all_pairs = n * (n - 1) // 2
    row["plan_seconds_per_pair"] = _cpu_seconds(lambda: shards.plan_pairs(headers)) / all_pairs
    off = row["shard_0-1_epochs_1_seconds"]
    row["seconds_per_10k_pairs"] = off / tile**2 * 10_000
    print(
        f"analysis shards of {n} networks in tiles of {tile} ({n_train:,} training images, no "
        f"barriers, 1 thread, CPU seconds): checkpoint 1: diagonal ({tile * (tile - 1) // 2:,} "
        f"pairs) {row['shard_0-0_epochs_1_seconds']:.1f} s, off-diagonal ({tile**2:,} pairs) "
        f"{off:.1f} s = {row['seconds_per_10k_pairs']:.0f} s per 10,000 pairs; checkpoint 0: "
        f"{row['shard_0-0_epochs_0_seconds']:.1f} s and {row['shard_0-1_epochs_0_seconds']:.1f} s; "
        f"one loss barrier {row['barrier_seconds']:.2f} s; the group's pair plan "
        f"{row['plan_seconds_per_pair'] * 1e6:.1f} us per pair",
        flush=True,
    )
    return row


def shard_model(unit: dict, epochs: int) -> tuple[float, float]:
    """CPU seconds per network and per pair of an off-diagonal shard at checkpoint
    ``epochs``, fitted to the two measured off-diagonal shards (c = a networks + b pairs;
    tiles of t and t / 2: 2 t networks and t^2 pairs, t networks and t^2 / 4 pairs): a shard
    computes each of its networks' activations and outputs once (a), and each pair's metrics
    and its share of the Gram products (b), so the fit projects shards of any tile size."""
    tile = unit["tile"]
    n_o, p_o, c_o = 2 * tile, tile * tile, unit[f"shard_0-1_epochs_{epochs}_seconds"]
    n_h, p_h, c_h = tile, (tile // 2) ** 2, unit[f"shard_half_epochs_{epochs}_seconds"]
    per_pair = (c_o - c_h * n_o / n_h) / (p_o - p_h * n_o / n_h)
    return (c_o - per_pair * p_o) / n_o, per_pair


def group_seconds(unit: dict, epochs: int, networks: int, tile: int) -> float:
    """Projected CPU seconds of all shards of a group of ``networks`` in tiles of ``tile``."""
    per_network, per_pair = shard_model(unit, epochs)
    n_tiles = math.ceil(networks / tile)
    # every tile is read by the n_tiles shards of its row and column (a diagonal shard's
    # Gram, over one tile, costs what its pairs would cost across two: an upper bound)
    return per_network * networks * n_tiles + per_pair * networks * (networks - 1) / 2


def project_group(unit: dict, networks: int, cores: int) -> list[str]:
    """All pairs of one grid of ``networks`` at checkpoints 0 and 1 (issue #17's case) on
    ``cores`` cores, in the default tiles, from the per-network and per-pair costs."""
    tile = shards.tile_size(networks)
    n_tiles = math.ceil(networks / tile)
    cpu = {e: group_seconds(unit, e, networks, tile) for e in (0, 1)}
    plan = 2 * unit["plan_seconds_per_pair"] * networks * (networks - 1) // 2
    total = sum(cpu.values()) + plan
    fits = ", ".join(
        f"checkpoint {e}: {a * 1e3:.1f} ms per network, {b * 1e6:.0f} us per pair"
        for e in (1, 0)
        for a, b in [shard_model(unit, e)]
    )
    lines = [
        f"shard costs ({fits})",
        f"projection: all {networks * (networks - 1) // 2:,} pairs of {networks:,} networks at "
        f"checkpoints 0 and 1 (tiles of {tile}: {n_tiles * (n_tiles + 1) // 2} shards each), "
        f"{cores} cores: shards {cpu[0]:,.0f} + {cpu[1]:,.0f} CPU-s, plans {plan:,.0f} CPU-s: "
        f"{total / cores / 60:.1f} min wall (every core busy; merge jobs not counted)",
    ]
    print("\n".join(lines), flush=True)
    return lines


def project(unit: dict, args: argparse.Namespace) -> list[str]:
    """What a grid of ``args.project_networks`` networks would take on the cluster."""
    n, cores = args.project_networks, args.nodes * args.cores_per_node
    settings = {
        "sizes": [784, 30, 10],
        "n_train": 50_000,
        "epochs": args.project_epochs,
        "batch_size": 10,
    }
    train_cpu = n * resources.train_seconds(settings)
    all_pairs = n * (n - 1) // 2
    pairs = all_pairs if args.max_pairs is None else min(all_pairs, 4 * args.max_pairs)
    tile = shards.tile_size(n, args.shard_networks)
    n_tiles = math.ceil(n / tile)
    per_network, per_pair = shard_model(unit, 1)
    # a barrier is evaluated on at most 10,000 training images and the 10,000 test images
    images = (min(unit["n_train"], 10_000) + 10_000, 20_000)
    analysis_cpu = (
        per_network * n * n_tiles
        + pairs * per_pair
        + 45 * unit["barrier_seconds"] * images[1] / images[0]
    )
    plan_cpu = all_pairs * unit["plan_seconds_per_pair"]
    lines = [
        f"projection: {n:,} networks x {args.project_epochs} epochs on 50,000 images, "
        f"{args.nodes} nodes x {args.cores_per_node} cores = {cores:,} cores",
        f"  training: {resources.train_seconds(settings):.0f} s per network "
        f"(resources.train_seconds), {train_cpu / 3600:,.0f} CPU-hours, "
        f"{train_cpu / cores / 3600:.2f} h wall",
        f"  analysis: {pairs:,} pairs in {n_tiles * (n_tiles + 1) // 2:,} shards (tiles of "
        f"{tile}): {per_pair * 1e6:.0f} us per pair and {per_network * 1e3:.0f} ms per network "
        f"in each of its {n_tiles} shards (fitted to the measured shards of a 1,000-image group; "
        f"neither depends on the training set) + 45 barriers: "
        f"{analysis_cpu / 3600:,.0f} CPU-hours, {analysis_cpu / cores / 3600:.2f} h wall",
        f"  pair plan: one job reads {n:,} headers and plans {all_pairs:,} pairs: "
        f"{plan_cpu / 60:,.0f} CPU-minutes",
        f"  total: {(train_cpu + analysis_cpu) / cores / 3600 + plan_cpu / 3600:.2f} h wall "
        "(one group, the last checkpoint; each further checkpoint adds its analysis; the "
        "plan runs before the shards, on one core)",
    ]
    print("\n".join(lines), flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", required=True, help="folder holding the four MNIST .gz files")
    parser.add_argument("--sizes", type=int, nargs="*", default=[1024, 4096, 16384])
    parser.add_argument("--analysis-networks", type=int, default=128)
    parser.add_argument("--analysis-n-train", type=int, default=1_000)
    parser.add_argument("--cache", type=Path, default=Path("results/bench/scale-networks"))
    parser.add_argument("--project-networks", type=int, default=10_000)
    parser.add_argument("--project-epochs", type=int, default=30)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--cores-per-node", type=int, default=32)
    parser.add_argument("--shard-networks", type=int, default=shards.SHARD_NETWORKS)
    parser.add_argument("--max-pairs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=Path("results/bench/scale.csv"))
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    rows = []
    for networks in args.sizes:
        row = plan(networks, str(Path(args.mnist).resolve()))
        rows.append(row)
        print(
            f"{row['networks']:>7,} networks  {row['train_rules']:>5} train rules  "
            f"{row['jobs']:>6,} jobs  snakemake -n {row['seconds']:7.1f} s",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if rows:
        with args.out.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {args.out}")
    if args.analysis_networks:
        mnist = str(Path(args.mnist).resolve())
        unit = measure_analysis(mnist, args.analysis_networks, args.analysis_n_train, args.cache)
        lines = project_group(unit, 1_024, 2) + project(unit, args)
        out = args.out.with_name(args.out.stem + "-analysis.txt")
        out.write_text("\n".join([f"{k}: {v}" for k, v in unit.items()] + lines) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
