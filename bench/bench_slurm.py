"""Benchmark: a grid through SLURM, with the profile's grouping and without.

What it measures
    For each mode, on a fresh private copy of the workflow (as tests/test_workflow.py
    makes one): the number of sbatch submissions (SLURM jobs named by the plugin's run
    ID, from ``squeue --states=all``) and the wall time of
    ``snakemake --profile profiles/slurm`` from start to end. "grouped" is the
    profile as it is; "ungrouped" removes the ``group:`` directives from the copy's
    rules and ``group-components`` from its profile, so that every job is its own
    submission. Also reported: the SLURM jobs' summed elapsed time (time spent on the
    node, Snakemake's start-up in each job included).

How
    Needs a SLURM cluster where the runs can submit: the local one of the tests
    (``sudo bash tests/cluster/slurm_up.sh``; ``--start`` starts and stops it here),
    with that cluster's site values (no slurmdbd, no accounts) given on the command line.

Run: ``python bench/bench_slurm.py --mnist DIR [--configfile config/smoke.yaml]
[--start]`` (about 2 minutes grouped and 3 ungrouped for the smoke grid on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("Snakefile", "workflow", "scripts", "config", "envs", "profiles", "twinnets")
SITE_ARGS = (
    "--slurm-status-command=squeue",
    "--slurm-no-account",
    "--slurm-keep-successful-logs",
    "--slurm-init-seconds-before-status-checks=2",
)


def make_copy(dest: Path, configfile: Path, mnist: Path, grouped: bool) -> Path:
    for part in PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / part)
    config = yaml.safe_load(configfile.read_text())
    config["mnist"] = {"mirrors": [str(mnist)]}
    (dest / "config" / "bench.yaml").write_text(yaml.safe_dump(config))
    if not grouped:
        for rules in (dest / "workflow" / "rules").glob("*.smk"):
            text = re.sub(r'\n( *)group:\n\1    "[^"]*"', "", rules.read_text())
            rules.write_text(text)
        profile = dest / "profiles" / "slurm" / "config.v8+.yaml"
        settings = yaml.safe_load(profile.read_text())
        settings.pop("group-components", None)
        profile.write_text(yaml.safe_dump(settings))
    return dest


def seconds(text: str) -> int:
    """squeue's elapsed time ('0:59', '1:02:03', '1-00:00:00') in seconds."""
    days, _, clock = text.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    return int(days or 0) * 86400 + sum(p * 60**k for k, p in enumerate(reversed(parts)))


def run(workdir: Path, timeout: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(workdir)}
    env.pop("TWINNETS_MNIST_MIRROR", None)
    cmd = [
        *("timeout", "-k", "15", str(timeout), sys.executable, "-m", "snakemake"),
        *("--profile", "profiles/slurm", "--configfile", "config/bench.yaml", *SITE_ARGS),
    ]
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    log = result.stdout + result.stderr
    if result.returncode != 0:
        raise SystemExit(f"snakemake failed ({result.returncode}):\n{log[-5000:]}")
    run_id = re.search(r"SLURM run ID: (\S+)", log)[1]
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%T|%M"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    states = [line.split("|") for line in out]
    assert all(state == "COMPLETED" for state, _ in states), states
    return {
        "submissions": len(states),
        "wall_s": wall,
        "node_s": sum(seconds(elapsed) for _, elapsed in states),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", type=Path, required=True, help="folder of the MNIST .gz files")
    parser.add_argument("--configfile", type=Path, default=ROOT / "config" / "smoke.yaml")
    parser.add_argument("--modes", nargs="+", default=["grouped", "ungrouped"])
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per run")
    parser.add_argument("--start", action="store_true", help="start and stop the local SLURM")
    args = parser.parse_args(argv)

    cluster = ROOT / "tests" / "cluster"
    if args.start:
        subprocess.run(["bash", str(cluster / "slurm_up.sh")], check=True)
    try:
        rows = []
        for mode in args.modes:
            with tempfile.TemporaryDirectory(prefix=f"bench-slurm-{mode}-") as tmp:
                workdir = make_copy(
                    Path(tmp), args.configfile.resolve(), args.mnist.resolve(), mode == "grouped"
                )
                result = run(workdir, args.timeout)
            rows.append((mode, result))
            print(
                f"{mode}: {result['submissions']} sbatch submissions, "
                f"wall {result['wall_s']:.0f} s, on the node {result['node_s']:.0f} s",
                flush=True,
            )
    finally:
        if args.start:
            subprocess.run(["bash", str(cluster / "slurm_down.sh")], check=False)
    print(f"\n{args.configfile.name}, {os.cpu_count()} CPUs")
    print("| mode | sbatch submissions | wall time | SLURM jobs' summed elapsed time |")
    print("| --- | --- | --- | --- |")
    for mode, r in rows:
        print(f"| {mode} | {r['submissions']} | {r['wall_s']:.0f} s | {r['node_s']:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
