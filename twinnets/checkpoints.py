"""Train a network to an epochs checkpoint, resuming from an earlier checkpoint's dump."""

from __future__ import annotations

import os
from collections.abc import Callable

from twinnets.dumps import read_dump, write_dump
from twinnets.mnist import load_mnist
from twinnets.network import EpochMetrics, TrainConfig, TrainedNetwork, train


def format_epoch(m: EpochMetrics) -> str:
    """One human-readable line per epoch, as the CLI and the workflow logs print it."""
    return (
        f"epoch {m.epoch:3d}  cost {m.train_cost:.5f}  validation {m.validation_accuracy:.4f}"
        f"  test {m.test_accuracy:.4f}  {m.seconds:.2f}s"
    )


def train_checkpoint(
    config: TrainConfig,
    mnist_dir: str | os.PathLike,
    out: str | os.PathLike,
    resume: str | os.PathLike | None = None,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
) -> TrainedNetwork:
    """Train ``config`` (continuing the dump ``resume`` if given) and dump it to ``out``.

    Only the epochs beyond ``resume``'s are trained; the result is bitwise that of
    training straight, so checkpoints can be added to a grid later at no extra cost.
    """
    data = load_mnist(mnist_dir, n_train=config.n_train)
    start = read_dump(resume).network if resume else None
    network = train(config, data, resume=start, on_epoch=on_epoch)
    write_dump(out, network, data.sha256)
    return network
