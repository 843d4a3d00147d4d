"""The experiment grid: which networks and checkpoints a workflow config asks for.

Paths are hive-style (``key=value`` folders) so that every dump tree reads as one
table with pyarrow.dataset or DuckDB, and values are formatted canonically so that
one network has exactly one path.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from twinnets.network import TrainConfig

WEIGHTS = (
    "results/weights/sizes={sizes}/eta={eta}/init_seed={init_seed}/order_seed={order_seed}"
    "/epochs={epochs}/weights.parquet"
)

#: Regular expressions for the wildcards, so that no path is ambiguous.
WILDCARD_PATTERNS = {
    "sizes": r"[1-9][0-9]*(-[1-9][0-9]*)+",
    "eta": r"[0-9][0-9.e+-]*",
    "init_seed": r"[0-9]+",
    "order_seed": r"[0-9]+",
    "epochs": r"[0-9]+",
}


class ConfigError(ValueError):
    """A workflow config value that the JSON schema cannot express is wrong."""


def format_sizes(sizes: list[int] | tuple[int, ...]) -> str:
    return "-".join(str(int(s)) for s in sizes)


def parse_sizes(text: str) -> tuple[int, ...]:
    return tuple(int(s) for s in text.split("-"))


def format_eta(eta: float) -> str:
    """The canonical text of a learning rate: Python's shortest round-trip repr."""
    return repr(float(eta))


def check_config(config: Mapping[str, Any]) -> None:
    """Checks beyond the JSON schema, each naming the key at fault."""
    for i, sizes in enumerate(config["grid"]["sizes"]):
        if sizes[-1] != 10:
            raise ConfigError(
                f"grid.sizes[{i}] = {sizes}: the last layer must have 10 neurons (one per digit)"
            )
    grid = config["grid"]
    if grid["design"] == "paired" and len(grid["init_seeds"]) != len(grid["order_seeds"]):
        raise ConfigError(
            "grid.design is 'paired' but grid.init_seeds and grid.order_seeds differ in length "
            f"({len(grid['init_seeds'])} vs {len(grid['order_seeds'])}); "
            "give equal lists or use design: crossed"
        )


def seed_pairs(grid: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(init_seed, order_seed) of every network of one grid cell."""
    if grid["design"] == "paired":
        return list(zip(grid["init_seeds"], grid["order_seeds"], strict=True))
    return list(itertools.product(grid["init_seeds"], grid["order_seeds"]))


def checkpoints(grid: Mapping[str, Any]) -> list[int]:
    """The epochs checkpoints, sorted, always including 0 (the initialisation)."""
    return sorted({0, *grid["epochs"]})


def previous_checkpoint(grid: Mapping[str, Any], epochs: int) -> int | None:
    """The largest checkpoint below ``epochs``, from which its training resumes."""
    below = [e for e in checkpoints(grid) if e < epochs]
    return below[-1] if below else None


@dataclasses.dataclass(frozen=True)
class Cell:
    """One group of networks that are compared pairwise: same sizes, eta and epochs."""

    sizes: str
    eta: str
    epochs: int

    def wildcards(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def cells(config: Mapping[str, Any]) -> Iterator[Cell]:
    grid = config["grid"]
    for sizes, eta, epochs in itertools.product(grid["sizes"], grid["etas"], checkpoints(grid)):
        yield Cell(format_sizes(sizes), format_eta(eta), epochs)


def weights_paths(config: Mapping[str, Any], cell: Cell) -> list[str]:
    """The dumps of every network in ``cell``."""
    return [
        WEIGHTS.format(**cell.wildcards(), init_seed=i, order_seed=o)
        for i, o in seed_pairs(config["grid"])
    ]


def all_weights(config: Mapping[str, Any]) -> list[str]:
    return [path for cell in cells(config) for path in weights_paths(config, cell)]


def train_config(config: Mapping[str, Any], wildcards: Mapping[str, Any]) -> TrainConfig:
    """The TrainConfig of the network that a weights path names."""
    return TrainConfig(
        sizes=parse_sizes(wildcards["sizes"]),
        eta=float(wildcards["eta"]),
        epochs=int(wildcards["epochs"]),
        init_seed=int(wildcards["init_seed"]),
        order_seed=int(wildcards["order_seed"]),
        n_train=config["data"]["n_train"],
        **config["train"],
    )
