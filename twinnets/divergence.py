"""Divergence tables: how far apart every pair of networks in a group ends."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence

import pandas as pd

from twinnets.distances import raw_distances
from twinnets.dumps import Dump, read_dump


def pair_kind(a: Dump, b: Dump) -> str:
    """Which source of randomness separates the pair: init, order, or both."""
    same_init = a.config.init_seed == b.config.init_seed
    same_order = a.config.order_seed == b.config.order_seed
    if same_init and same_order:
        return "identical_seeds"
    if same_init:
        return "same_init"
    if same_order:
        return "same_order"
    return "both_differ"


def divergence_table(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """One row per pair of the dumps in ``paths``, which must share sizes, eta and epochs."""
    dumps = [read_dump(p) for p in paths]
    keys = {(d.config.sizes, d.config.eta, d.config.epochs) for d in dumps}
    if len(keys) > 1:
        raise ValueError(f"dumps of one group must share sizes, eta and epochs, got {sorted(keys)}")
    rows = []
    for a, b in itertools.combinations(dumps, 2):
        rows.append(
            {
                "sizes": "-".join(map(str, a.config.sizes)),
                "eta": a.config.eta,
                "epochs": a.config.epochs,
                "a_init_seed": a.config.init_seed,
                "a_order_seed": a.config.order_seed,
                "b_init_seed": b.config.init_seed,
                "b_order_seed": b.config.order_seed,
                "pair_kind": pair_kind(a, b),
                **raw_distances(a.params, b.params),
            }
        )
    return pd.DataFrame(rows)
