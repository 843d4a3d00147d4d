"""The smoke workflow through a real SLURM cluster on localhost, with the project's profile.

A module fixture starts munged, slurmctld and slurmd (tests/cluster/slurm_up.sh) and
stops them afterwards (slurm_down.sh); the tests are skipped only where SLURM is not
installed (``sudo bash tests/cluster/install.sh``) or where they cannot start it (not
root, or a slurm.conf that the script did not write). The workflow runs in a private
copy, as in test_workflow.py, through ``snakemake --profile profiles/slurm`` with the
site values of this cluster given on the command line, then once more, and is compared
with a local run of the same config.

To keep it short the run is the smoke grid cut down (``slim``: the MLP only, init seed
0 with order seeds 0 and 1, checkpoints 0 and 1, one barrier per group) and asks for
``TARGETS``: the tables, the answer, the summary page and one figure. That still has
jobs of every group (train, plans, shards, analysis, figures included) and of every
kind of rule (train, plan, shard, analyze, tables, answer, figure, page), which is what
these tests are about; the full smoke run is test_workflow.py's.
"""

from __future__ import annotations

import collections
import concurrent.futures
import math
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_workflow import make_copy, set_config, snakemake

import twinnets
from twinnets.dumps.storage import read_dump

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "tests" / "cluster"
PROFILE = ROOT / "profiles" / "slurm" / "config.v8+.yaml"
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo")
#: Seconds a whole Snakemake run through SLURM may take before it is killed.
RUN_TIMEOUT = 360
#: What this test cluster needs beyond the profile (its SITE values): no slurmdbd, so
#: job states come from squeue; no accounts; every SLURM log kept, to be counted; a
#: first status check after 2 s instead of 40 s.
SITE_ARGS = (
    "--slurm-status-command=squeue",
    "--slurm-no-account",
    "--slurm-keep-successful-logs",
    "--slurm-init-seconds-before-status-checks=2",
)

#: What the runs ask for: a job of every rule kind in every group (the module docstring).
TARGETS = ("gather_tables", "answer", "report_tables", "figure_over_training")

pytestmark = pytest.mark.slurm


def slim(workdir: Path) -> Path:
    """The smoke config cut down: one model, one block of two networks, two checkpoints,
    one barrier per group."""
    set_config(
        workdir,
        "test.yaml",
        grid__models=[{"name": "mlp"}],
        grid__init_seeds=[0],
        grid__epochs=[0, 1],
        analysis__barrier_pairs=1,
    )
    return workdir


@pytest.fixture(scope="module")
def slurm_cluster():
    """A single-node SLURM cluster on localhost, up for this module's tests."""
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        pytest.skip(
            f"SLURM is not installed ({', '.join(missing)} not found); "
            f"install it with: sudo bash {CLUSTER / 'install.sh'}"
        )
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld and slurmd for the test cluster needs root")
    up = subprocess.run(
        ["timeout", "-k", "10", "120", "bash", str(CLUSTER / "slurm_up.sh")],
        capture_output=True,
        text=True,
    )
    if up.returncode == 3:
        pytest.skip(up.stderr.strip())
    try:
        assert up.returncode == 0, f"slurm_up.sh failed:\n{up.stdout}\n{up.stderr}"
        yield up.stdout
    finally:
        down = subprocess.run(
            ["timeout", "-k", "10", "60", "bash", str(CLUSTER / "slurm_down.sh")],
            capture_output=True,
            text=True,
        )
        print(down.stdout, down.stderr)


@dataclass
class Run:
    """One ``snakemake --profile profiles/slurm`` run and the SLURM jobs it submitted."""

    result: subprocess.CompletedProcess
    seconds: float
    run_id: str
    jobs: pd.DataFrame  # squeue --states=all: one row per submission of this run

    @property
    def log(self) -> str:
        return self.result.stdout + self.result.stderr


def run_profile(workdir: Path) -> Run:
    env = {**os.environ, "PYTHONPATH": str(workdir)}
    env.pop(twinnets.data.mnist.MIRROR_ENV, None)
    cmd = [
        *("timeout", "-k", "15", str(RUN_TIMEOUT)),
        *(sys.executable, "-m", "snakemake", *TARGETS, "--profile", "profiles/slurm"),
        *("--configfile", "config/test.yaml", *SITE_ARGS),
    ]
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"snakemake through SLURM failed ({result.returncode}):\n{log}"
    run_id = re.search(r"SLURM run ID: (\S+)", log)[1]
    return Run(result, seconds, run_id, submitted_jobs(run_id))


def submitted_jobs(run_id: str) -> pd.DataFrame:
    """Every SLURM job the run submitted (the plugin names them all by its run ID)."""
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--name", run_id, "--format=%i|%T|%C|%m|%l"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    jobs = pd.DataFrame(rows, columns=["jobid", "state", "cpus", "mem", "limit"])
    jobs["cpus"] = jobs.cpus.astype(int)
    jobs["mem_mb"] = jobs["mem"].map(slurm_mb)
    jobs["minutes"] = jobs["limit"].map(slurm_minutes)
    return jobs


def slurm_mb(text: str) -> int:
    """squeue's memory ('900M', '2G') in MB."""
    return int(float(text[:-1]) * {"M": 1, "G": 1024, "T": 1024**2}[text[-1]])


def slurm_minutes(text: str) -> int:
    """squeue's time limit ('24:00', '1:05:00', '1-00:00:00') in whole minutes."""
    days, _, clock = text.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    seconds = sum(p * 60**k for k, p in enumerate(reversed(parts)))
    return int(days or 0) * 1440 + seconds // 60


def planned_submissions(log: str) -> list[tuple[int, int]]:
    """(runtime, mem_mb) that each submitted job should ask for, from Snakemake's log.

    A group job lists its jobs with their own resources; with the profile's one core
    per submission they all run one after another, so the submission must ask for the
    sum of their runtimes and the largest of their memories, not a sum of memories.
    """
    planned, group = [], None
    for line in log.splitlines():
        if "Group job" in line:
            group = []
            planned.append(group)
        elif re.match(r"\[.*\]$", line) or line.startswith(("localrule", "Job ")):
            if not line.startswith("["):
                group = None
        elif line.startswith("rule "):  # a job submitted on its own
            group = []
            planned.append(group)
        elif group is not None and line.strip().startswith("resources:"):
            res = dict(re.findall(r"(\w+)=([^,\s]+)", line))
            group.append((int(res["runtime"]), int(res["mem_mb"])))
    return sorted((sum(r for r, _ in g), max(m for _, m in g)) for g in planned if g)


@pytest.fixture(scope="module")
def runs(slurm_cluster, tmp_path_factory, mnist_dir) -> tuple[Path, Run, Run, Path]:
    """The slim workflow through SLURM, then the same command a second time; and a
    local run of the same config and targets, for comparison, done meanwhile (the SLURM
    run spends most of its time waiting for the plugin's next status check)."""
    local = slim(make_copy(tmp_path_factory.mktemp("local"), mnist_dir))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        local_run = pool.submit(snakemake, local, targets=TARGETS, timeout=RUN_TIMEOUT)
        workdir = slim(make_copy(tmp_path_factory.mktemp("slurm"), mnist_dir))
        shutil.copytree(ROOT / "profiles", workdir / "profiles")
        first = run_profile(workdir)
        second = run_profile(workdir)
        local_run.result()
    print(
        f"\nthrough SLURM: {len(first.jobs)} sbatch submissions, {first.seconds:.0f} s; "
        f"second run: {len(second.jobs)} submissions, {second.seconds:.0f} s"
    )
    return workdir, first, second, local


@pytest.fixture(scope="module")
def on_slurm(runs) -> tuple[Path, Run, Run]:
    return runs[:3]


@pytest.fixture(scope="module")
def local(runs) -> Path:
    return runs[3]


def test_every_job_went_through_sbatch_grouped(on_slurm):
    workdir, first, _ = on_slurm
    jobs = first.jobs
    assert len(jobs) >= 2 and (jobs.state == "COMPLETED").all(), jobs
    # the plugin's own record agrees with SLURM's: one log per submission, by group
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", first.log)
    assert sorted(submitted, key=int) == sorted(jobs.jobid, key=int)
    logs = sorted((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert sorted(p.stem for p in logs) == sorted(jobs.jobid)
    by_kind = collections.Counter(p.relative_to(workdir / ".snakemake/slurm_logs").parts[0]
                                  for p in logs)  # fmt: skip
    # training: each submission trains up to group-components blocks, whole chains of
    # checkpoints (one train log per block and cell at its first checkpoint)
    chains = len(list((workdir / "logs" / "train").rglob("epochs=0.log")))
    per_submission = yaml.safe_load(PROFILE.read_text())["group-components"]["train"]
    # the plugin names each submission's log folder by its group and rules
    submissions = sum(n for kind, n in by_kind.items() if kind.startswith("group_train_"))
    assert submissions == math.ceil(chains / per_submission), by_kind
    # analysis shards: up to group-components of them per submission
    shards = len(list((workdir / "logs" / "analyze_shard").rglob("*.log")))
    per_shards = yaml.safe_load(PROFILE.read_text())["group-components"]["shards"]
    assert shards and sum(
        n for kind, n in by_kind.items() if kind.startswith("group_shards_")
    ) == math.ceil(shards / per_shards), by_kind
    # pair plans: their own group (in the shards' group, a plan would join all its
    # group's shards into one component), up to group-components of them per submission
    plans = len(list((workdir / "logs" / "analyze_plan").rglob("*.log")))
    per_plans = yaml.safe_load(PROFILE.read_text())["group-components"]["plans"]
    assert plans and sum(
        n for kind, n in by_kind.items() if kind.startswith("group_plans_")
    ) == math.ceil(plans / per_plans), by_kind
    # the analysis (analyze, gather_tables, answer, the figure and page): one submission
    assert sum(n for kind, n in by_kind.items() if kind.startswith("group_analysis_")) == 1
    assert not any(kind.startswith("rule_") for kind in by_kind), by_kind
    # and nothing else: every job ran in one of those (the figure and the page included)
    groups = ("group_train_", "group_plans_", "group_shards_", "group_analysis_")
    assert all(kind.startswith(groups) for kind in by_kind), by_kind
    assert (workdir / "logs/figures/4-over-training.log").exists()
    assert (workdir / "logs/report_tables.log").exists()


def test_each_submission_asks_for_what_its_jobs_need_once(on_slurm):
    _, first, _ = on_slurm
    # one core per submission (the profile's `cores`), whatever the group's size
    assert (first.jobs.cpus == 1).all(), first.jobs
    asked = sorted(zip(first.jobs.minutes, first.jobs.mem_mb))
    assert asked == planned_submissions(first.log)


def test_outputs_equal_a_local_run_bit_for_bit(on_slurm, local):
    workdir, _, _ = on_slurm
    dumps = sorted(p.relative_to(local) for p in (local / "results/weights").rglob("*.parquet"))
    assert dumps and dumps == sorted(
        p.relative_to(workdir) for p in (workdir / "results/weights").rglob("*.parquet")
    )
    for path in dumps:
        a, b = read_dump(local / path), read_dump(workdir / path)
        assert a.config == b.config, path
        for x, y in zip(
            a.params.weights + a.params.biases, b.params.weights + b.params.biases, strict=True
        ):
            assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), path
    # the analysis shards' tiles are the dumps, byte for byte (with their run times): above
    tables = sorted(
        p.relative_to(local)
        for p in (local / "results/tables").rglob("*.parquet")
        if "tiles" not in p.parts
    )
    assert tables and any("plan" in p.parts for p in tables)
    for path in tables:
        assert pd.read_parquet(local / path).equals(pd.read_parquet(workdir / path)), path
    for path in [*(local / "results/tables").rglob("*.csv"), local / "results/answer.md"]:
        rel = path.relative_to(local)
        assert path.read_bytes() == (workdir / rel).read_bytes(), rel


def test_a_second_run_submits_nothing(on_slurm):
    workdir, first, second = on_slurm
    assert "Nothing to be done" in second.log
    assert "submitted with SLURM jobid" not in second.log
    assert len(second.jobs) == 0
    logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(logs) == len(first.jobs)
