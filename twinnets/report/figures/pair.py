"""The two networks "A" and "B" that figures 1, 2 and 5 show: chosen from the tables by a
rule, so that reruns and readers agree, and found among the dumps by their path."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from twinnets.dumps.storage import Dump, read_dump
from twinnets.report.figures.labels import epochs_text, eta_text
from twinnets.report.figures.tables import (
    SEED_COLUMNS,
    Table,
    headline_pairs,
    mlp_rows,
    read_table,
)
from twinnets.report.selection import headline_group

Dumps = str | os.PathLike | Sequence[str | os.PathLike]


@dataclasses.dataclass(frozen=True)
class Pair:
    """Two networks of one group: seeds of A and B and the group they belong to."""

    model: str
    sizes: str
    eta: float
    epochs: int
    a: tuple[int, int]
    b: tuple[int, int]
    kind: str

    def describe(self, which: str) -> str:
        """A's or B's seeds, as the figures label them."""
        init, order = self.a if which == "A" else self.b
        return f"{which}: init seed {init}, order seed {order}"

    def setting(self) -> str:
        """The group both belong to, as the figures' titles name it."""
        return f"{self.sizes}, eta {eta_text(self.eta)}, {epochs_text(self.epochs)}"


def choose_pair(pairs: Table, networks: Table) -> Pair:
    """The networks A and B of figures 1, 2 and 5, chosen by rule so that reruns agree.

    The group is the one ``answer.md`` speaks of (MLP, the largest epochs, the eta with
    the best mean validation accuracy). In it, among the pairs of the kind the answer
    speaks of (init and order seeds both differ, if the grid has such pairs; those with a
    barrier curve, if any), the first by (A init, A order, B init, B order): on the
    default grid, init seeds 0 and 1 with order seeds 0 and 1.
    """
    nets = mlp_rows(read_table(networks))
    table = mlp_rows(read_table(pairs))
    model, sizes, eta, epochs = headline_group(nets)
    cell = table[
        (table["sizes"] == sizes) & np.isclose(table["eta"], eta) & (table["epochs"] == epochs)
    ]
    if cell.empty:
        raise ValueError(f"no pairs at {sizes}, eta {eta}, {epochs} epochs")
    candidates = headline_pairs(cell)
    if "barrier_computed" in candidates and candidates["barrier_computed"].any():
        candidates = candidates[candidates["barrier_computed"].astype(bool)]
    row = candidates.sort_values(SEED_COLUMNS).iloc[0]
    return Pair(
        model=model,
        sizes=sizes,
        eta=float(eta),
        epochs=int(epochs),
        a=(int(row["a_init_seed"]), int(row["a_order_seed"])),
        b=(int(row["b_init_seed"]), int(row["b_order_seed"])),
        kind=str(row["pair_kind"]),
    )


def pair_row(pairs: pd.DataFrame, pair: Pair) -> pd.Series:
    """The pairs table's row of ``pair``: its statistics for titles."""
    match = pairs[
        (pairs["model"] == pair.model)
        & (pairs["sizes"] == pair.sizes)
        & np.isclose(pairs["eta"], pair.eta)
        & (pairs["epochs"] == pair.epochs)
        & (pairs[SEED_COLUMNS] == [*pair.a, *pair.b]).all(axis=1)
    ]
    if match.empty:
        raise ValueError(f"no row for {pair} in the pairs table")
    return match.iloc[0]


def hive_keys(path: str | os.PathLike) -> dict[str, str]:
    """The ``key=value`` folders of a dump's path, e.g. ``{"eta": "3.0", ...}``."""
    return dict(part.split("=", 1) for part in Path(path).parts if "=" in part)


def _dump_paths(weights: Dumps) -> list[Path]:
    """Dump paths as a rule passes them, or every dump under a folder."""
    if isinstance(weights, str | os.PathLike):
        path = Path(weights)
        return sorted(path.rglob("weights.parquet")) if path.is_dir() else [path]
    return [Path(p) for p in weights]


def _is_dump_of(path: Path, pair: Pair, seeds: tuple[int, int]) -> bool:
    """Whether ``path`` is the dump of the network with ``seeds`` in ``pair``'s group
    (dumps from before the convex controls have no ``model=`` level: the MLP)."""
    keys = hive_keys(path)
    try:
        return (
            "fork_epoch" not in keys  # a forked child shares its parent's seeds
            and keys.get("model", "mlp") == pair.model
            and keys["sizes"] == pair.sizes
            and float(keys["eta"]) == pair.eta
            and (int(keys["init_seed"]), int(keys["order_seed"])) == seeds
            and int(keys["epochs"]) == pair.epochs
        )
    except (KeyError, ValueError):
        return False


def find_dump(weights: Dumps, pair: Pair, which: str) -> Path:
    """The dump of network A or B of ``pair``, among dump paths (or under a folder)."""
    seeds = pair.a if which == "A" else pair.b
    for path in _dump_paths(weights):
        if _is_dump_of(path, pair, seeds):
            return path
    raise FileNotFoundError(f"no dump of {pair.describe(which)} at {pair.setting()}")


def read_pair(weights: Dumps, pair: Pair) -> tuple[Dump, Dump]:
    """The dumps of A and B."""
    return read_dump(find_dump(weights, pair, "A")), read_dump(find_dump(weights, pair, "B"))
