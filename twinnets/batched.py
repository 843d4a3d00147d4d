"""Train K networks in one process, each bit for bit as if trained alone.

At Nielsen's mini-batch size of 10 an epoch is dominated by per-call overhead,
not arithmetic. Stacking K networks of the same shape into arrays laid out as
(K, n_out, n_in) pays that overhead once per step for all K: every NumPy call
below does K networks' work. Each member keeps its own init and its own
mini-batch order (the randomness protocol), and every batched operation performs,
for each member, exactly the floating-point operations of the single trainer
(``network.sgd_epoch_stacked``, which ``network.train`` runs as a stack of one), so
the parameters are bitwise those of ``network.train``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import numpy as np

from twinnets.mnist import Mnist
from twinnets.network import (
    EpochMetrics,
    Params,
    TrainConfig,
    TrainedNetwork,
    TrainingDiverged,
    batches_per_epoch,
    epoch_order,
    evaluate,
    init_params,
    sgd_epoch_stacked,
)


def check_batchable(configs: Sequence[TrainConfig]) -> None:
    """Members may differ only in their seeds (and are trained to the same epochs)."""
    if not configs:
        raise ValueError("a batch needs at least one network")
    first = dataclasses.replace(configs[0], init_seed=0, order_seed=0)
    for c in configs[1:]:
        if dataclasses.replace(c, init_seed=0, order_seed=0) != first:
            raise ValueError(
                "networks trained together must share every setting but the seeds:\n"
                f"  {configs[0].describe()}\n  {c.describe()}"
            )


def stack(params: Sequence[Params]) -> Params:
    """K networks' parameters as (K, n_out, n_in) weights and (K, n_out) biases."""
    return Params(
        [np.stack([p.weights[i] for p in params]) for i in range(len(params[0].weights))],
        [np.stack([p.biases[i] for p in params]) for i in range(len(params[0].biases))],
    )


def unstack(stacked: Params) -> list[Params]:
    """Member k's parameters, as contiguous copies."""
    return [
        Params([w[k].copy() for w in stacked.weights], [b[k].copy() for b in stacked.biases])
        for k in range(stacked.weights[0].shape[0])
    ]


def train_batched(
    configs: Sequence[TrainConfig],
    data: Mnist,
    resume: Sequence[TrainedNetwork] | None = None,
    on_epoch: Callable[[int, EpochMetrics], None] | None = None,
) -> list[TrainedNetwork]:
    """Train every config together; member k's result is bitwise ``network.train(configs[k])``.

    ``resume[k]`` continues member k from an earlier checkpoint of the same network;
    all members must resume from the same number of epochs.
    """
    check_batchable(configs)
    config = configs[0]
    if len(data.train) < config.n_train:
        raise ValueError(
            f"n_train={config.n_train} but the data holds only {len(data.train)} training images"
        )
    pixels = data.train.pixels[: config.n_train]
    onehot = np.eye(config.sizes[-1], dtype=config.dtype)[data.train.labels[: config.n_train]]
    if resume is None:
        members = [TrainedNetwork(c, init_params(c), []) for c in configs]
        for k, member in enumerate(members):
            member.metrics.append(
                EpochMetrics(0, *evaluate(member.params, data, member.config), 0.0)
            )
            if on_epoch:
                on_epoch(k, member.metrics[-1])
        done = 0
    else:
        if len(resume) != len(configs):
            raise ValueError(f"{len(configs)} networks but {len(resume)} to resume from")
        done_set = {r.config.epochs for r in resume}
        if len(done_set) != 1:
            raise ValueError(f"members resume from different epochs: {sorted(done_set)}")
        done = done_set.pop()
        for c, r in zip(configs, resume, strict=True):
            if not c.same_network(r.config):
                raise ValueError(
                    "cannot resume: the dump was trained with different settings.\n"
                    f"  dump:      {r.config.describe()}\n  requested: {c.describe()}"
                )
        if done > config.epochs:
            raise ValueError(
                f"cannot resume: the dump has {done} epochs, more than the {config.epochs} requested"
            )
        members = [
            TrainedNetwork(c, r.params.astype(c.dtype), list(r.metrics))
            for c, r in zip(configs, resume, strict=True)
        ]
    stacked = stack([m.params for m in members])
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(done + 1, config.epochs + 1):
            orders = np.stack([epoch_order(c.order_seed, epoch, c.n_train) for c in configs])
            started = time.perf_counter()
            sgd_epoch_stacked(
                stacked, pixels, onehot, orders, config, (epoch - 1) * batches_per_epoch(config)
            )
            seconds = (time.perf_counter() - started) / len(configs)
            for k, (member, params) in enumerate(zip(members, unstack(stacked), strict=True)):
                if not params.all_finite():
                    raise TrainingDiverged(
                        f"parameters became non-finite in epoch {epoch} "
                        f"({member.config.describe()}); lower eta (or lmbda)"
                    )
                member.params = params
                member.metrics.append(
                    EpochMetrics(epoch, *evaluate(params, data, member.config), seconds)
                )
                if on_epoch:
                    on_epoch(k, member.metrics[-1])
    return [dataclasses.replace(m, config=c) for m, c in zip(members, configs, strict=True)]
