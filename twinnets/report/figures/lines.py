"""Lines that several figures draw the same way: statistics over training on a readable
epoch axis, each a mean with its min-max band, against the distance of two random
networks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.ticker import NullLocator

#: The relative distance of two independent random vectors: where untrained pairs sit.
SQRT2 = math.sqrt(2.0)
RANDOM_PAIR = "two random networks (sqrt 2)"


def epoch_axis(ax: Any, epochs: Sequence[int]) -> None:
    """Checkpoints 0, 1, 5, 30 evenly readable: linear below 1 epoch, log above."""
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.5)
    ticks = sorted({int(e) for e in epochs})
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(ticks[0] - 0.15 if ticks[0] == 0 else ticks[0] * 0.9, ticks[-1] * 1.12)
    ax.set_xlabel("epochs of training (log scale above 1)")


def mean_band(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Mean, minimum and maximum of ``value`` per ``keys``: the line and its band."""
    return (
        frame.groupby(keys, sort=True)[value]
        .agg(["mean", "min", "max", "count"])
        .reset_index()
        .sort_values(keys)
    )


def plot_mean_band(ax: Any, stats: pd.DataFrame, x: str, colour: str, **line: Any) -> None:
    """The mean as a line with markers over its min-max band: the spread stays visible."""
    ax.fill_between(stats[x], stats["min"], stats["max"], color=colour, alpha=0.18, lw=0)
    ax.plot(stats[x], stats["mean"], color=colour, marker="o", ms=3.5, **line)
