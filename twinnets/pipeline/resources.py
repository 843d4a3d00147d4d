"""What each workflow job asks a scheduler for: memory and wall time, derived from its work.

A cluster scheduler kills a job that runs past its ``runtime`` or (with cgroups) grows
past its ``mem_mb``, and a job that asks for far more waits longer in the queue and
blocks others. So the workflow's rules do not ask for constants: every value here is
computed from what the job does (network size, training-set size, epochs trained,
number of networks and pairs compared), with the cost per unit of work measured on the
reference machine (a 2-core VM, one thread per network, float64; see ``tests/test_resources.py``
and the README's cluster section), then multiplied by a safety factor for slower or busier
nodes, plus a fixed allowance for what every job pays whatever its size. A retried job
(``attempt`` 2, 3, ...) asks for ``attempt`` times as much, so a job killed for time or
memory gets through on its retry.

Group jobs: Snakemake sums ``mem_mb`` over the jobs of a group that run side by side
and ``runtime`` over the jobs that run one after another (see profiles/slurm/README.md),
so each value here is for one job alone.

Units are Snakemake's: ``runtime`` in whole minutes, ``mem_mb`` in MB.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

# ----------------------------------------------------------------- measured costs
#: Seconds of one SGD epoch per (training image x parameter) in the compiled sparse
#: kernel (twinnets.train.kernels; one thread per network). Measured on this 2-core machine,
#: 2026-12-02, float64, mini-batch 10: 0.15 ns for [784, 30, 10], 0.11-0.13 ns for
#: [784, 100, 10], 0.24-0.32 ns for [784, 30, 30, 10] (its dense second hidden layer costs
#: more per parameter than the sparse first), 0.18-0.33 ns for [784, 10].
SGD_SECONDS_PER_SAMPLE_PARAM = 0.3e-9
#: Seconds per mini-batch and per layer (the update of the touched columns and the
#: deeper layers): [784, 10] with batch size 1 costs 2 us per mini-batch.
SGD_SECONDS_PER_BATCH_LAYER = 1e-6
#: Seconds per (image x parameter) of an evaluation (the kernels' sparse forward pass):
#: after every epoch the trainer computes the cost on the training set and the accuracy
#: on the 10,000 validation and 10,000 test images. Measured 0.04-0.15 ns.
EVAL_SECONDS_PER_SAMPLE_PARAM = 0.15e-9
#: Seconds a training job spends before its first epoch beyond the job overhead:
#: converting the images to their sparse form (0.2-0.5 s) and, where the node has no
#: cached compiled kernels yet, compiling them (12.1-12.2 s measured per dtype on this
#: 2-core machine, 2026-12-03; 0.26 s to load them from the cache).
TRAIN_STARTUP_SECONDS = 13.0
#: Validation and test images evaluated after every epoch.
HELD_OUT_IMAGES = 20_000
#: Analysis: seconds per group (the training images' pixel covariance and its eigen-
#: decomposition, 2.2 s measured for 50,000 images), per network (reading its dump, its
#: and its rebuilt init's activations on the held-out images), per pair (distances,
#: three alignments, CKA, function similarity, pre-activation distances, for the
#: trained pair and again for its inits: 27 ms measured, 56 ms on a loaded machine,
#: for [784, 30, 10]), and per pair with a loss barrier (eight 25-point curves: raw and
#: three alignments, trained and untrained, on the training and test images: 2.5 s
#: measured on a loaded machine with 50,000 training images), all for a [784, 30, 10]
#: network and scaled by the parameter count.
ANALYSIS_SECONDS_PER_GROUP = 3.0
ANALYSIS_SECONDS_PER_NETWORK = 0.1
ANALYSIS_SECONDS_PER_PAIR = 0.03
ANALYSIS_SECONDS_PER_BARRIER = 1.0
#: The many-pairs path of a shard (``twinnets.compare.pair_batch``: one hidden layer of
#: sigmoid or tanh units): seconds per network (its activations and outputs, trained and
#: init: 49 ms measured) and per pair (both sides: 0.97 ms measured, about half of it the
#: Gram products) for [784, 30, 10], with every init distinct (``bench/bench_scale.py``,
#: 2026-12-02). A pair's cost grows with the hidden width h as h^2 (the Gram products) to
#: h^3 (the assignments); ``batched_pair_factor`` takes the cube, and never less than h/30.
BATCHED_SECONDS_PER_NETWORK = 0.05
BATCHED_SECONDS_PER_PAIR = 0.001
REFERENCE_HIDDEN = 30
#: Sharded analysis (``twinnets.compare.shards``): every shard job reads the metadata of
#: all its group's dumps (a Parquet schema each) and plans all the group's pairs (their
#: kinds and the group-wide barrier choice: about 2 us a pair in Python), and the per-group
#: job merges the shards' pair tables (pandas concat and sort, ~20 us a pair).
ANALYSIS_SECONDS_PER_HEADER = 0.005
ANALYSIS_SECONDS_PER_PLANNED_PAIR = 5e-6
ANALYSIS_SECONDS_PER_MERGED_PAIR = 1e-4
#: Bytes per pair of the group-wide plan: a tuple of two ints, its kind, list slots.
PLAN_BYTES_PER_PAIR = 200
REFERENCE_PARAMS = 784 * 30 + 30 + 30 * 10 + 10  # [784, 30, 10]: 23,860
REFERENCE_BARRIER_IMAGES = 50_000 + 10_000

#: Bytes of the MNIST images as the loader holds them (uint8, all 70,000 images).
MNIST_BYTES = 70_000 * 784
#: Bytes per training, validation or test image in the trainer's sparse form: about
#: 150 non-zero pixels of 3 bytes each (twinnets.train.network.sparse_images), and its index.
SPARSE_BYTES_PER_IMAGE = 600
#: Resident memory of a Python process with numpy, scipy, pandas and pyarrow loaded
#: (about 150 MB measured; a training job's whole script peaked at 210-260 MB).
PYTHON_MB = 150
#: Memory numba and LLVM take while compiling the trainer's kernels, which the first job
#: on a machine (an empty kernel cache) pays: its script peaked at 400 MB measured, against
#: 210-260 MB with the cache filled.
COMPILE_MB = 200
#: Bytes per parameter while a dump is read or written: the tidy Parquet layout holds
#: a row (layer, param, row, col, value) per parameter, in pandas and Arrow at once.
DUMP_BYTES_PER_PARAM = 100
#: Float64 copies of each network's parameters that a training job holds: the stack
#: trained in place, its gradients and SGD buffers, each member's own copy and results.
PARAM_COPIES = 8
#: Bytes per row of the pair tables (about 40 columns) while they are gathered.
TABLE_BYTES_PER_PAIR = 2_000

# ----------------------------------------------------------------- allowances
#: Memory of the Snakemake processes that run inside every cluster job around the
#: script (the job's own Snakemake and the one srun starts: 178 MB each, measured).
SNAKEMAKE_MB = 400
#: Seconds every job pays whatever its size: Snakemake starting inside the cluster job
#: (5-9 s measured on a local SLURM), Python imports and reading MNIST (about 1 s),
#: with room for a slow shared filesystem. Snakemake adds up the runtimes of the jobs
#: that a group runs one after another, so this is paid per job, not per submission.
JOB_OVERHEAD_SECONDS = 30
#: Factor on the estimated compute time: nodes slower or busier than the reference.
TIME_SAFETY = 3.0
#: Factor on the estimated memory of the job's script.
MEM_SAFETY = 1.5


def parameter_count(sizes: Sequence[int]) -> int:
    """Weights and biases of a fully connected network with layer widths ``sizes``."""
    return sum(n_in * n_out + n_out for n_in, n_out in itertools.pairwise(sizes))


def minutes(seconds: float, attempt: int = 1) -> int:
    """Whole minutes for ``seconds`` of estimated compute: overhead, safety, retries.

    Rounds up, so no estimate becomes a limit shorter than itself; at least 1 minute.
    """
    total = JOB_OVERHEAD_SECONDS + TIME_SAFETY * seconds
    return max(1, math.ceil(total / 60)) * _attempt(attempt)


def megabytes(script_mb: float, attempt: int = 1) -> int:
    """MB for a job whose script needs ``script_mb``: safety factor, Snakemake, retries.

    Rounded up to a multiple of 100 MB, which keeps requests readable.
    """
    total = SNAKEMAKE_MB + MEM_SAFETY * script_mb
    return math.ceil(total / 100) * 100 * _attempt(attempt)


def train_seconds(settings: Mapping[str, Any], start_epoch: int = 0) -> float:
    """Estimated compute seconds of training ``settings`` from ``start_epoch`` on.

    ``settings`` is a ``TrainConfig.to_dict()`` (``sizes``, ``n_train``, ``epochs``,
    ``batch_size``). Each epoch costs one SGD pass over the training set and one
    evaluation of the training, validation and test sets; a network trained from
    scratch (``start_epoch`` 0) is also evaluated once at its initialisation.
    """
    sizes = settings["sizes"]
    n_train = int(settings["n_train"])
    params = parameter_count(sizes)
    epochs = max(0, int(settings["epochs"]) - start_epoch)
    batches = math.ceil(n_train / int(settings["batch_size"]))
    sgd = (
        n_train * params * SGD_SECONDS_PER_SAMPLE_PARAM
        + batches * (len(sizes) - 1) * SGD_SECONDS_PER_BATCH_LAYER
    )
    evaluation = (n_train + HELD_OUT_IMAGES) * params * EVAL_SECONDS_PER_SAMPLE_PARAM
    evaluations = epochs + (1 if start_epoch == 0 else 0)
    return epochs * sgd + evaluations * evaluation


def train_runtime(
    settings: Mapping[str, Any],
    start_epoch: int = 0,
    attempt: int = 1,
    networks: int = 1,
    threads: int = 1,
) -> int:
    """Minutes for a job training ``networks`` networks on ``threads`` threads.

    A checkpoint resumed from the previous one trains only ``epochs - start_epoch``
    epochs, so the 30-epoch job after a 5-epoch checkpoint is timed for 25 epochs. A
    block's networks run side by side, each on one thread (``network.train_block``), so
    a job takes as long as its busiest thread: ceil(networks / threads) networks.
    """
    per_thread = math.ceil(networks / max(1, min(threads, networks)))
    return minutes(
        TRAIN_STARTUP_SECONDS + per_thread * train_seconds(settings, start_epoch), attempt
    )


def train_mem_mb(settings: Mapping[str, Any], attempt: int = 1, networks: int = 1) -> int:
    """MB for a job training ``networks`` networks: images, their sparse form, logits, dumps.

    Allows for compiling the kernels (``COMPILE_MB``: a job may meet an empty kernel
    cache). Does not grow with epochs (each epoch reuses the same arrays); grows with the
    output width (the logits of every evaluated image, per network evaluated at once),
    the parameter count (one dump read or written at a time) and, barely, with the
    networks of a block (``PARAM_COPIES`` copies of each one's parameters).
    """
    sizes = settings["sizes"]
    n_train = int(settings["n_train"])
    params = parameter_count(sizes)
    evaluated = n_train + HELD_OUT_IMAGES
    images = MNIST_BYTES + evaluated * SPARSE_BYTES_PER_IMAGE
    # the logits of every evaluated image and the cost's temporaries, for two networks
    # evaluated at once (a train job's threads)
    logits = 2 * evaluated * sizes[-1] * 8 * 2
    dumps = params * DUMP_BYTES_PER_PARAM
    block = networks * params * PARAM_COPIES * 8
    total = PYTHON_MB + COMPILE_MB + (images + logits + dumps + block) / 2**20
    return megabytes(total, attempt)


def analyze_seconds(
    sizes: Sequence[int], n_networks: int, n_train: int, barrier_pairs: int
) -> float:
    """Estimated compute seconds of comparing ``n_networks`` networks pairwise.

    Grows with the number of pairs, n (n - 1) / 2, and with the loss barriers computed
    (at most ``barrier_pairs``, each evaluated on the training and test images).
    """
    scale = parameter_count(sizes) / REFERENCE_PARAMS
    pairs = n_networks * (n_networks - 1) // 2
    barriers = min(barrier_pairs, pairs)
    barrier_images = (n_train + 10_000) / REFERENCE_BARRIER_IMAGES
    return scale * (
        ANALYSIS_SECONDS_PER_GROUP * n_train / 50_000
        + n_networks * ANALYSIS_SECONDS_PER_NETWORK
        + pairs * ANALYSIS_SECONDS_PER_PAIR
        + barriers * ANALYSIS_SECONDS_PER_BARRIER * barrier_images
    )


def analyze_runtime(
    sizes: Sequence[int], n_networks: int, n_train: int, barrier_pairs: int, attempt: int = 1
) -> int:
    """Minutes for the analysis of one group of networks (see ``analyze_seconds``)."""
    return minutes(analyze_seconds(sizes, n_networks, n_train, barrier_pairs), attempt)


def analyze_mem_mb(
    sizes: Sequence[int], n_networks: int, n_train: int, barrier_pairs: int, attempt: int = 1
) -> int:
    """MB for the analysis of one group: held-out images, per-network activations, grams.

    Measured for [784, 30, 10]: 420 MB for 2 networks, 820 MB for 64, and 1,150 MB for
    64 with 45 barriers on 50,000 training images (the script alone).
    """
    hidden = sum(sizes[1:-1])
    held_out = HELD_OUT_IMAGES * sizes[0] * 8  # validation and test images, float64
    # each network and its rebuilt init: activations of every layer on the held-out
    # images, and the dump
    per_network = (
        HELD_OUT_IMAGES * sum(sizes[1:]) * 8 + 2 * parameter_count(sizes) * DUMP_BYTES_PER_PARAM
    )
    grams = (n_networks * hidden) ** 2 * 8 * 2  # activation grams, all layers at once
    pairs = n_networks * (n_networks - 1) // 2 * TABLE_BYTES_PER_PAIR
    barriers = (n_train + 10_000) * sizes[0] * 8 if barrier_pairs > 0 and n_networks > 1 else 0
    covariance = n_train * sizes[0] * 8 * 2  # the training images in float64, and a product
    total = MNIST_BYTES + held_out + 2 * n_networks * per_network + grams + pairs + barriers
    total += covariance
    return megabytes(PYTHON_MB + total / 2**20, attempt)


def shard_seconds(
    sizes: Sequence[int],
    group_networks: int,
    networks: int,
    pairs: int,
    n_train: int,
    barrier_pairs: int,
    batched: bool = False,
) -> float:
    """Estimated compute seconds of one analysis shard: ``pairs`` pairs of its ``networks``
    networks, out of a group of ``group_networks``.

    As ``analyze_seconds`` for its own networks and pairs, with at most
    ``min(barrier_pairs, pairs)`` barriers (the group-wide budget may all fall in one
    shard), plus planning the whole group's pairs (which every shard does alike).
    ``batched``: the shard's networks take the many-pairs path (``pair_batch.applies``).
    """
    scale = parameter_count(sizes) / REFERENCE_PARAMS
    group_pairs = group_networks * (group_networks - 1) // 2
    barrier_images = (n_train + 10_000) / REFERENCE_BARRIER_IMAGES
    if batched:
        work = (
            networks * BATCHED_SECONDS_PER_NETWORK * scale
            + pairs * BATCHED_SECONDS_PER_PAIR * batched_pair_factor(sizes)
        )
    else:
        work = scale * (networks * ANALYSIS_SECONDS_PER_NETWORK + pairs * ANALYSIS_SECONDS_PER_PAIR)
    return (
        work
        + scale
        * (
            ANALYSIS_SECONDS_PER_GROUP * n_train / 50_000
            + min(barrier_pairs, pairs) * ANALYSIS_SECONDS_PER_BARRIER * barrier_images
        )
        + group_networks * ANALYSIS_SECONDS_PER_HEADER
        + group_pairs * ANALYSIS_SECONDS_PER_PLANNED_PAIR
    )


def batched_pair_factor(sizes: Sequence[int]) -> float:
    """A batched pair's cost relative to [784, 30, 10]'s: (h / 30)^3, at least h / 30."""
    ratio = sum(sizes[1:-1]) / REFERENCE_HIDDEN
    return max(ratio, ratio**3)


def shard_runtime(
    sizes: Sequence[int],
    group_networks: int,
    networks: int,
    pairs: int,
    n_train: int,
    barrier_pairs: int,
    batched: bool = False,
    attempt: int = 1,
) -> int:
    """Minutes for one analysis shard (see ``shard_seconds``)."""
    seconds = shard_seconds(sizes, group_networks, networks, pairs, n_train, barrier_pairs, batched)
    return minutes(seconds, attempt)


def shard_mem_mb(
    sizes: Sequence[int],
    group_networks: int,
    networks: int,
    pairs: int,
    n_train: int,
    barrier_pairs: int,
    batched: bool = False,
    attempt: int = 1,
) -> int:
    """MB for one analysis shard: ``analyze_mem_mb``'s terms for its own networks (the
    Gram matrices over them only) and pairs, plus the group-wide plan of pairs. The same for
    both paths (``batched`` or not): the many-pairs path's stacked activations and its cost,
    Gram and correlation blocks fit in it (3.5 GB measured, 10.8 GB asked, for two tiles of
    256 [784, 30, 10] networks)."""
    hidden = sum(sizes[1:-1])
    per_network = (
        HELD_OUT_IMAGES * sum(sizes[1:]) * 8 + 2 * parameter_count(sizes) * DUMP_BYTES_PER_PARAM
    )
    plan = group_networks * (group_networks - 1) // 2 * PLAN_BYTES_PER_PAIR
    total = (
        MNIST_BYTES
        + HELD_OUT_IMAGES * sizes[0] * 8
        + 2 * networks * per_network
        + (networks * hidden) ** 2 * 8 * 2
        + pairs * TABLE_BYTES_PER_PAIR
        + ((n_train + 10_000) * sizes[0] * 8 if barrier_pairs > 0 and pairs > 0 else 0)
        + n_train * sizes[0] * 8 * 2
        + plan
    )
    return megabytes(PYTHON_MB + total / 2**20, attempt)


def plan_seconds(group_networks: int) -> float:
    """Estimated seconds of a group's pair plan: every dump's header, every pair's kind."""
    group_pairs = group_networks * (group_networks - 1) // 2
    return (
        group_networks * ANALYSIS_SECONDS_PER_HEADER
        + group_pairs * ANALYSIS_SECONDS_PER_PLANNED_PAIR
    )


def plan_runtime(group_networks: int, attempt: int = 1) -> int:
    """Minutes for a group's pair plan (see ``plan_seconds``)."""
    return minutes(plan_seconds(group_networks), attempt)


def plan_mem_mb(group_networks: int, attempt: int = 1) -> int:
    """MB for a group's pair plan: the pairs, their kinds and flags, and the table written."""
    plan = group_networks * (group_networks - 1) // 2 * PLAN_BYTES_PER_PAIR
    return megabytes(PYTHON_MB + 2 * plan / 2**20, attempt)


def networks_seconds(sizes: Sequence[int], n_networks: int, pairs: int, n_train: int) -> float:
    """Estimated compute seconds of a group's per-network table and of merging its shards'
    ``pairs`` rows: reading every dump and its init's outputs, the consensus alignment."""
    scale = parameter_count(sizes) / REFERENCE_PARAMS
    return (
        scale
        * (
            ANALYSIS_SECONDS_PER_GROUP * n_train / 50_000
            + n_networks * ANALYSIS_SECONDS_PER_NETWORK
        )
        + pairs * ANALYSIS_SECONDS_PER_MERGED_PAIR
    )


def networks_runtime(
    sizes: Sequence[int], n_networks: int, pairs: int, n_train: int, attempt: int = 1
) -> int:
    """Minutes for a group's per-network table and merge (see ``networks_seconds``)."""
    return minutes(networks_seconds(sizes, n_networks, pairs, n_train), attempt)


def networks_mem_mb(
    sizes: Sequence[int], n_networks: int, pairs: int, n_train: int, attempt: int = 1
) -> int:
    """MB for a group's per-network table and merge: each network's parameters, its init's
    and the init's test outputs (no activations, no Gram matrices), and the pair tables."""
    per_network = 2 * parameter_count(sizes) * DUMP_BYTES_PER_PARAM + 10_000 * sizes[-1] * 8
    total = (
        MNIST_BYTES
        + HELD_OUT_IMAGES * sizes[0] * 8
        + n_train * sizes[0] * 8 * 2
        + n_networks * per_network
        + pairs * TABLE_BYTES_PER_PAIR * 4
    )
    return megabytes(PYTHON_MB + total / 2**20, attempt)


def tables_runtime(n_pairs: int, attempt: int = 1) -> int:
    """Minutes for gathering or summarising the tables of ``n_pairs`` pairs in all."""
    return minutes(n_pairs * 0.001, attempt)


def tables_mem_mb(n_pairs: int, attempt: int = 1) -> int:
    """MB for gathering or summarising the tables of ``n_pairs`` pairs in all.

    The pair table, and the barrier curves of some pairs (50 rows each), held in
    pandas and Arrow at once.
    """
    return megabytes(PYTHON_MB + n_pairs * TABLE_BYTES_PER_PAIR * 4 / 2**20, attempt)


def _attempt(attempt: int) -> int:
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    return int(attempt)
