"""Train networks to an epochs checkpoint, resuming from an earlier checkpoint's dumps."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from twinnets.data.mnist import load_mnist
from twinnets.dumps.storage import read_dump, write_dump
from twinnets.train.batched import train_batched
from twinnets.train.network import EpochMetrics, TrainConfig, TrainedNetwork


def format_epoch(m: EpochMetrics) -> str:
    """One human-readable line per epoch, as the CLI and the workflow logs print it."""
    return (
        f"epoch {m.epoch:3d}  cost {m.train_cost:.5f}  validation {m.validation_accuracy:.4f}"
        f"  test {m.test_accuracy:.4f}  {m.seconds:.2f}s"
    )


def seeds_label(config: TrainConfig) -> str:
    """``init_seed=0 order_seed=1`` (a child: ``... fork_epoch=2 fork_seed=0``), as the
    workflow's train logs name each network of a block."""
    label = f"init_seed={config.init_seed} order_seed={config.order_seed}"
    if config.forked:
        label += f" fork_epoch={config.fork_epoch} fork_seed={config.fork_seed}"
    return label


def train_checkpoints(
    configs: Sequence[TrainConfig],
    mnist_dir: str | os.PathLike,
    outs: Sequence[str | os.PathLike],
    resume: Sequence[str | os.PathLike] | None = None,
    on_epoch: Callable[[int, EpochMetrics], None] | None = None,
    threads: int = 1,
) -> list[TrainedNetwork]:
    """Train ``configs`` together (continuing the dumps ``resume``) and dump each to ``outs``.

    The networks share every setting but their seeds (``twinnets.train.batched``); each one's
    dump is bitwise that of training it alone and straight, so checkpoints can be
    added to a grid later, and networks grouped into jobs any way, at no cost in bits.
    ``on_epoch(k, metrics)`` reports network k's epochs; ``threads`` run the networks side
    by side (their bits do not depend on it).
    """
    if len(outs) != len(configs) or (resume and len(resume) != len(configs)):
        raise ValueError(
            f"{len(configs)} networks need as many outputs ({len(outs)} given) "
            f"and dumps to resume from ({len(resume or [])} given)"
        )
    data = load_mnist(mnist_dir, n_train=configs[0].n_train)
    start = [read_dump(path).network for path in resume] if resume else None
    networks = train_batched(configs, data, resume=start, on_epoch=on_epoch, threads=threads)
    for network, out in zip(networks, outs, strict=True):
        write_dump(out, network, data.sha256)
    return networks


def train_checkpoint(
    config: TrainConfig,
    mnist_dir: str | os.PathLike,
    out: str | os.PathLike,
    resume: str | os.PathLike | None = None,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
) -> TrainedNetwork:
    """``train_checkpoints`` for one network."""
    (network,) = train_checkpoints(
        [config],
        mnist_dir,
        [out],
        resume=[resume] if resume else None,
        on_epoch=(lambda _, m: on_epoch(m)) if on_epoch else None,
    )
    return network
