"""The run's tables as the figures read them, and which of their rows a figure draws.

A model's family comes from the tables' ``family`` column (the trainer's model, written by
:func:`twinnets.compare.groups.group_columns`), never from its grid name: a variant may be
called anything. Which MLP the figures of hidden units draw is the one the answer speaks
of (:func:`twinnets.report.selection.headline_model`), so prose and figures agree.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from twinnets.report.selection import headline_kind, headline_model, without_forks

Table = pd.DataFrame | str | os.PathLike

#: The columns that name a pair's two networks.
SEED_COLUMNS = ["a_init_seed", "a_order_seed", "b_init_seed", "b_order_seed"]


def read_table(table: Table, forks: bool = False) -> pd.DataFrame:
    """A DataFrame, read from Parquet or CSV by suffix, with ``model`` and ``family`` columns.

    Tables from before the convex controls have neither: every row is then the MLP. Since
    then every table has both, so a ``model`` without its ``family`` is an error. The
    rows of forked children's groups are left out unless ``forks``: the figures draw the
    grid's networks, and a child shares its group's (model, eta, epochs) with its parents.
    """
    if isinstance(table, pd.DataFrame):
        frame = table.copy()
    else:
        path = Path(table)
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    if not forks:
        frame = without_forks(frame)
    if "model" not in frame.columns:
        frame["model"] = "mlp"
        if "family" not in frame.columns:
            frame["family"] = "mlp"
    if "family" not in frame.columns:
        raise ValueError(
            "the table has a 'model' column but no 'family' column: a model's family is "
            "read from the table, never guessed from its name"
        )
    frame["sizes"] = frame["sizes"].astype(str)
    return frame


def has_hidden(sizes: pd.Series) -> pd.Series:
    """Which rows' networks have a hidden layer ("784-30-10": yes, "784-10": no)."""
    return sizes.str.count("-") >= 2


def mlp_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the MLP that figures about hidden units draw: the answer's
    (:func:`~twinnets.report.selection.headline_model`)."""
    rows = frame[(frame["model"] == headline_model(frame)) & has_hidden(frame["sizes"])]
    if rows.empty:
        raise ValueError("the table holds no MLP networks with a hidden layer")
    return rows


def headline_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairs of the kind the answer speaks of (both seeds differ, if any): a line or
    band never mixes pair kinds."""
    return pairs[pairs["pair_kind"] == headline_kind(set(pairs["pair_kind"]))]
