"""Blocks: the networks of one grid cell that one workflow job trains together.

A block is a list of (init_seed, order_seed) members of one (model, sizes, eta)
cell, named by its members (``0-0_0-1_0-2``), so that a block's outputs never
depend on anything but its own networks. Blocks are formed so that the grid grows
incrementally: with the ``crossed`` design each init seed's networks are cut, in
the order of ``grid.order_seeds``, into blocks of ``block_size``; with ``paired``
the networks are cut in the order of the seed lists. Appending a seed to a list
therefore changes at most the last block of each init seed (crossed) or the last
block (paired), and no other block is trained again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from twinnets.batched import train_batched
from twinnets.checkpoints import format_epoch
from twinnets.dumps import read_dump, write_dump
from twinnets.mnist import load_mnist
from twinnets.network import TrainConfig

Member = tuple[int, int]


def seed_blocks(grid: Mapping[str, Any], block_size: int) -> list[list[Member]]:
    """The (init_seed, order_seed) members of each block of one grid cell."""
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, got {block_size}")
    if grid["design"] == "paired":
        pairs = list(zip(grid["init_seeds"], grid["order_seeds"], strict=True))
        return [pairs[i : i + block_size] for i in range(0, len(pairs), block_size)]
    orders = list(grid["order_seeds"])
    return [
        [(init, order) for order in orders[i : i + block_size]]
        for init in grid["init_seeds"]
        for i in range(0, len(orders), block_size)
    ]


def block_name(members: Sequence[Member]) -> str:
    return "_".join(f"{i}-{o}" for i, o in members)


def parse_block(name: str) -> list[Member]:
    members = []
    for part in name.split("_"):
        init, order = part.split("-")
        members.append((int(init), int(order)))
    return members


def member_path(block_dir: str | os.PathLike, member: Member) -> Path:
    """Where a member's dump lies inside its block's folder."""
    return (
        Path(block_dir) / f"init_seed={member[0]}" / f"order_seed={member[1]}" / "weights.parquet"
    )


def train_block(
    configs: Sequence[TrainConfig],
    mnist_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    resume: Sequence[str | os.PathLike] | None = None,
) -> None:
    """Train a block's networks together and write each one's dump into ``out_dir``.

    The folder appears complete or not at all: the dumps are written into a
    temporary folder beside it, which is then renamed.
    """
    out_dir = Path(out_dir)
    config = configs[0]
    data = load_mnist(mnist_dir, n_train=config.n_train)
    start = [read_dump(p).network for p in resume] if resume else None
    networks = train_batched(
        configs,
        data,
        resume=start,
        on_epoch=lambda k, m: print(
            f"init_seed={configs[k].init_seed} order_seed={configs[k].order_seed}  {format_epoch(m)}",
            flush=True,
        ),
    )
    tmp = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        for network in networks:
            member = (network.config.init_seed, network.config.order_seed)
            write_dump(member_path(tmp, member), network, data.sha256)
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
