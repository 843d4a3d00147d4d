"""Benchmark: how long Snakemake takes to plan grids of thousands of networks.

What it measures
    Wall time of ``snakemake -n`` (a dry run: parse the workflow, validate the config,
    build the DAG of every job, print the plan) on an empty results folder, for square
    ``crossed`` grids of 1,024, 4,096 and 16,384 networks ([784, 30, 10], 1,000 training
    images, checkpoints 0 and 1, blocks of 8): the time before a cluster run submits its
    first job, and that every cluster job pays again when it reads the workflow. Issue
    #17's targets: at most 60 s for 4,096 networks and 4 min for 16,384.

How
    A private copy of the workflow per run (so no results or locks interfere), one run
    per size, one after the other; ``--sizes`` picks the sizes. The machine is shared:
    run it twice when numbers look noisy.

Usage
    python bench/bench_scale.py --mnist DIR [--sizes 1024 4096 16384]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", required=True, help="folder holding the four MNIST .gz files")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 16384])
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
    with args.out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
