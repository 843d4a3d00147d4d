"""What each job asks a scheduler for: derived from its work, and enough for it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
import yaml
from test_workflow import make_copy, snakemake
from threadpoolctl import threadpool_info, threadpool_limits

from twinnets.pipeline import grid, resources
from twinnets.pipeline.jobs import job
from twinnets.train.batched import train_batched
from twinnets.train.network import TrainConfig

NIELSEN = [784, 30, 10]


def settings(**overrides) -> dict:
    return TrainConfig(**{"sizes": NIELSEN, "epochs": 30, **overrides}).to_dict()


def test_parameter_count():
    assert resources.parameter_count(NIELSEN) == 784 * 30 + 30 + 30 * 10 + 10 == 23_860
    assert resources.parameter_count([784, 10]) == 7_850


def test_minutes_round_up_and_grow_with_attempts():
    overhead = resources.JOB_OVERHEAD_SECONDS
    assert resources.minutes(0) == max(1, -(-overhead // 60))
    assert resources.minutes(100) == -(-(overhead + resources.TIME_SAFETY * 100) // 60)
    assert resources.minutes(100, attempt=3) == 3 * resources.minutes(100)
    assert resources.megabytes(1000) % 100 == 0
    assert resources.megabytes(1000) >= resources.SNAKEMAKE_MB + 1000
    assert resources.megabytes(1000, attempt=2) == 2 * resources.megabytes(1000)
    with pytest.raises(ValueError, match="attempt"):
        resources.minutes(1, attempt=0)


def test_train_time_follows_the_work_not_a_constant():
    t = resources.train_seconds
    # a checkpoint resumed from the previous one is timed for the epochs it trains
    assert t(settings(epochs=30), start_epoch=5) == pytest.approx(
        t(settings(epochs=25), start_epoch=0) - t(settings(epochs=0), start_epoch=0)
    )
    assert t(settings(epochs=30), 5) < t(settings(epochs=30), 0)
    assert t(settings(epochs=0)) > 0  # the evaluation of the initialisation
    # more images, wider networks, smaller mini-batches: more time
    assert t(settings(n_train=50_000)) > 5 * t(settings(n_train=1_000))
    assert t(settings(sizes=[784, 100, 10])) > 2 * t(settings())
    assert t(settings(batch_size=1)) > t(settings(batch_size=10))
    # and the limit that a scheduler gets follows
    assert resources.train_runtime(settings(sizes=[784, 1000, 10])) > resources.train_runtime(
        settings()
    )
    assert resources.train_runtime(settings(), 5, attempt=2) == 2 * resources.train_runtime(
        settings(), 5
    )


def test_train_memory_follows_the_network_not_the_epochs():
    m = resources.train_mem_mb
    assert m(settings(epochs=1)) == m(settings(epochs=300))
    assert m(settings(sizes=[784, 1000, 10])) > m(settings())
    assert m(settings(), attempt=2) == 2 * m(settings())


def test_a_block_asks_for_its_networks():
    big = settings(sizes=[784, 1000, 10], epochs=30)
    assert resources.train_runtime(big, networks=8) > resources.train_runtime(big, networks=1)
    # its networks run side by side on the job's threads
    two = resources.train_runtime(big, networks=8, threads=2)
    assert (
        resources.train_runtime(big, networks=4) == two < resources.train_runtime(big, networks=8)
    )
    assert resources.train_mem_mb(big, networks=64) > resources.train_mem_mb(big, networks=1)
    # at most a few MB per [784, 30, 10] network: the images dominate
    assert (
        resources.train_mem_mb(settings(), networks=8) <= resources.train_mem_mb(settings()) + 100
    )


@pytest.mark.parametrize("networks", [1, 4])
def test_the_time_estimate_covers_a_real_training(mnist_data, networks):
    """The compute estimate, before its safety factor, is already above the measured
    time of a short training of a block on this machine (one BLAS thread, as in the
    workflow)."""
    configs = [TrainConfig(sizes=NIELSEN, epochs=2, n_train=5_000, order_seed=k)
               for k in range(networks)]  # fmt: skip
    with threadpool_limits(1):
        started = time.perf_counter()
        train_batched(configs, mnist_data)
        measured = time.perf_counter() - started
    # the start-up: the sparse images and, with a cold numba cache, the compilation
    estimate = resources.TRAIN_STARTUP_SECONDS + networks * resources.train_seconds(
        configs[0].to_dict()
    )
    assert measured < estimate * resources.TIME_SAFETY, (measured, estimate)


MEASURE_RSS = """
import json, sys
from twinnets.dumps.checkpoints import train_checkpoints
from twinnets.train.network import TrainConfig
from threadpoolctl import threadpool_limits
settings, mnist, out, networks = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
configs = [TrainConfig(**{**settings, "order_seed": k}) for k in range(networks)]
with threadpool_limits(1):
    train_checkpoints(configs, mnist, [f"{out}/{k}.parquet" for k in range(networks)])
# VmHWM is this process's own peak; ru_maxrss can carry the parent's over exec
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(int(hwm.split()[1]) // 1024)
"""


@pytest.mark.parametrize(
    ("sizes", "networks", "cold"),
    [(NIELSEN, 1, True), (NIELSEN, 16, False), ([784, 300, 10], 8, False)],
)
def test_the_memory_estimate_covers_a_real_training(sizes, networks, cold, mnist_workdir, tmp_path):
    """A training job's script peaks below its estimate (the Snakemake allowance aside),
    even when it meets an empty kernel cache and compiles the kernels first. The
    compiler's memory does not grow with the block, so the one-network job, whose
    estimate is the smallest, is the one that compiles (12 s); the others load the
    kernels from the cache."""
    config = settings(sizes=sizes, epochs=1, n_train=10_000)
    args = [json.dumps(config), str(mnist_workdir), str(tmp_path), str(networks)]
    env = dict(os.environ)
    if cold:
        env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")  # compile afresh
    out = subprocess.run(
        [sys.executable, "-c", MEASURE_RSS, *args],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    peak_mb = int(out.stdout.split()[-1])
    assert peak_mb < resources.train_mem_mb(config, 1, networks) - resources.SNAKEMAKE_MB, peak_mb


def test_analysis_follows_networks_pairs_and_barriers():
    s, m = resources.analyze_seconds, resources.analyze_mem_mb
    assert s(NIELSEN, 64, 50_000, 0) > 3 * s(NIELSEN, 16, 50_000, 0)  # pairs: n(n-1)/2
    assert s(NIELSEN, 16, 50_000, 45) > s(NIELSEN, 16, 50_000, 0)
    # barriers: at most one per pair
    assert s(NIELSEN, 3, 50_000, 45) == s(NIELSEN, 3, 50_000, 3)
    assert s(NIELSEN, 16, 1_000, 45) < s(NIELSEN, 16, 50_000, 45)
    assert s([784, 100, 10], 16, 50_000, 45) > s(NIELSEN, 16, 50_000, 45)
    assert m(NIELSEN, 64, 50_000, 45) > m(NIELSEN, 8, 50_000, 45) > m(NIELSEN, 8, 50_000, 0)
    # measured for 64 networks with 45 barriers: 1,150 MB for the script alone
    assert m(NIELSEN, 64, 50_000, 45) - resources.SNAKEMAKE_MB > 1_150
    assert resources.analyze_runtime(NIELSEN, 64, 50_000, 45) >= 1
    assert resources.tables_mem_mb(10_000) > resources.tables_mem_mb(10)
    assert resources.tables_runtime(10**6) > resources.tables_runtime(10)


def test_batched_shards_ask_for_what_they_measured():
    s = resources.shard_seconds
    # two tiles of 256 [784, 30, 10] networks of a 1,024-network group, one epoch on 1,000
    # images: 56-64 s of CPU measured (README, "Run on a cluster"); pair by pair, 50 x more
    batched = s(NIELSEN, 1024, 512, 65_536, 1_000, 45, batched=True)
    assert 64 <= batched <= 3 * 64
    assert s(NIELSEN, 1024, 512, 65_536, 1_000, 45) > 10 * batched
    assert resources.shard_runtime(NIELSEN, 1024, 512, 65_536, 1_000, 45, batched=True) <= 10
    # wider networks: the Gram products grow as h^2 and the assignments as h^3
    wide = s([784, 100, 10], 1024, 512, 65_536, 1_000, 45, batched=True)
    assert wide > 20 * batched


def test_shards_follow_their_own_pairs_and_the_group_plan():
    s, m = resources.shard_seconds, resources.shard_mem_mb
    # one shard of all 64 networks costs what the unsharded analysis does, plus the plan
    whole = s(NIELSEN, 64, 64, 2016, 50_000, 45)
    assert whole == pytest.approx(
        resources.analyze_seconds(NIELSEN, 64, 50_000, 45)
        + 64 * resources.ANALYSIS_SECONDS_PER_HEADER
        + 2016 * resources.ANALYSIS_SECONDS_PER_PLANNED_PAIR
    )
    # a 1,024-network group in tiles of 64: an off-diagonal shard of 4,096 pairs
    shard = s(NIELSEN, 1024, 128, 4096, 50_000, 45)
    assert shard > s(NIELSEN, 1024, 64, 2016, 50_000, 45)  # diagonal: half the pairs
    assert shard < resources.analyze_seconds(NIELSEN, 1024, 50_000, 45) / 50
    assert resources.shard_runtime(NIELSEN, 1024, 128, 4096, 50_000, 45) < 15  # minutes
    # memory is bounded by the shard's networks, not the group's (but for the plan)
    assert (
        m(NIELSEN, 1024, 128, 4096, 50_000, 45)
        < resources.analyze_mem_mb(NIELSEN, 1024, 50_000, 45) / 5
    )
    assert m(NIELSEN, 16_384, 128, 4096, 50_000, 45) > m(NIELSEN, 1024, 128, 4096, 50_000, 45)
    assert m(NIELSEN, 64, 64, 2016, 50_000, 45, attempt=2) == 2 * m(
        NIELSEN, 64, 64, 2016, 50_000, 45
    )
    n = resources.networks_mem_mb
    assert n(NIELSEN, 1024, 523_776, 50_000) < resources.analyze_mem_mb(NIELSEN, 1024, 50_000, 45)
    assert resources.networks_runtime(NIELSEN, 1024, 523_776, 50_000) > resources.networks_runtime(
        NIELSEN, 64, 2016, 50_000
    )


@pytest.mark.parametrize("threads", [1, 2])
def test_jobs_run_blas_with_the_threads_they_were_given(tmp_path, threads):
    sm = SimpleNamespace(log=[str(tmp_path / "job.log")], threads=threads)
    with job(sm):
        blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == threads for lib in blas)


def test_the_workflow_asks_for_what_the_functions_derive(tmp_path, mnist_dir):
    """The rules' resources come from twinnets.pipeline.resources, job by job (a dry run)."""
    workdir = make_copy(tmp_path, mnist_dir)
    out = snakemake(workdir, "-n")
    jobs, rule, wildcards, networks, sizes = {}, None, "", 0, None
    for line in (out.stdout + out.stderr).splitlines():
        if m := re.match(r"\s*(?:local)?rule (\w+):", line):
            rule, wildcards, networks = m[1], "", 0
        elif m := re.match(r"\s*output: (.*)", line):
            networks = m[1].count("weights.parquet")
            # a train rule's setting is in its paths, not its wildcards (only epochs)
            sizes = re.search(r"sizes=([0-9-]+)", m[1])
        elif m := re.match(r"\s*wildcards: (.*)", line):
            wildcards = m[1]
        elif (m := re.match(r"\s*resources: (.*)", line)) and rule:
            jobs[rule, wildcards] = dict(
                re.findall(r"(\w+)=([^,\s]+)", m[1]),
                networks=networks,
                sizes=sizes[1] if sizes else None,
            )
    trains = {k: v for k, v in jobs.items() if k[0].startswith("train_")}
    assert trains and {res["networks"] for res in trains.values()} == {2}  # blocks of 2
    config = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    for (_, wildcards), res in trains.items():
        w = dict(re.findall(r"(\w+)=([^,\s]+)", wildcards))
        epochs = int(w["epochs"])
        work = {
            "sizes": [int(n) for n in res["sizes"].split("-")],
            "n_train": config["data"]["n_train"],
            "epochs": epochs,
            "batch_size": config.get("train", {}).get("batch_size", 10),
        }
        start = grid.previous_checkpoint(config["grid"], epochs) or 0
        n = res["networks"]
        runtime = resources.train_runtime(work, start, 1, n, min(2, n))  # common.smk's threads
        assert int(res["runtime"]) == runtime, (wildcards, res)
        assert int(res["mem_mb"]) == resources.train_mem_mb(work, 1, n), (wildcards, res)
    analyses = [v for k, v in jobs.items() if k[0] in ("analyze", "analyze_shard")]
    assert {k[0] for k in jobs} >= {"analyze", "analyze_shard"}
    for res in analyses:
        assert int(res["mem_mb"]) >= resources.SNAKEMAKE_MB
