"""Train K networks in one process, each bit for bit as if trained alone.

A block's networks share every setting but their seeds; each keeps its own init and
mini-batch order (the randomness protocol) and runs sequentially in the compiled
kernel (``twinnets.train.kernels``), so its parameters are bitwise those of
``network.train``, however the networks are grouped and whatever the thread count.
What a block shares is the process: Python start-up, the data and its sparse form,
the compiled kernels, and the threads of a job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from twinnets.data.mnist import Mnist
from twinnets.train.network import (
    EpochMetrics,
    TrainConfig,
    TrainedNetwork,
    check_batchable,
    train_block,
)

__all__ = ["check_batchable", "train_batched"]


def train_batched(
    configs: Sequence[TrainConfig],
    data: Mnist,
    resume: Sequence[TrainedNetwork] | None = None,
    on_epoch: Callable[[int, EpochMetrics], None] | None = None,
    threads: int = 1,
) -> list[TrainedNetwork]:
    """Train every config together; member k's result is bitwise ``network.train(configs[k])``.

    ``resume[k]`` continues member k from an earlier checkpoint of the same network
    (trained by the same arithmetic); all members must resume from the same number of
    epochs. Members run on ``threads`` threads, each one sequentially.
    """
    return train_block(configs, data, resume=resume, on_epoch=on_epoch, threads=threads)
