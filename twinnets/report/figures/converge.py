"""Figures 9-11: when do twins converge? The sweep of config/converge.yaml, by activation.

Every point is a statistic of ``summary.csv`` with its 95% bootstrap interval (over seeds:
``twinnets.compare.summary``), for one pair kind, never pooled across kinds; grey, the same
statistic for the pairs' own untrained initialisations (the null). One panel per hidden
activation, since each is aligned under its own symmetries. A run without the sweep (the
default grid: one width, no forks) gets a panel that says so instead of an empty axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from twinnets.report.figures.labels import eta_text
from twinnets.report.figures.style import OKABE_ITO, Out, new_figure, save, style
from twinnets.report.figures.tables import Table, read_table
from twinnets.report.selection import (
    FORK_COLUMN,
    HEADLINE_KINDS,
    KIND_WORDS,
    sweep_rows,
)

ACTIVATIONS = ("sigmoid", "tanh", "relu")
INIT_LABELS = {"nielsen": "N(0, 1)", "scaled": "N(0, 1/n_in)"}
INIT_STYLES = {"nielsen": ("o", "-"), "scaled": ("s", "--")}
NULL_COLOUR = "#8c8c8c"
#: Statistics drawn in percentage points of test error.
POINTS = ("barrier_test_error_raw", "barrier_test_error_aligned")


def read_summary(summary: Table, networks: Table) -> pd.DataFrame:
    """summary.csv with the sweep's coordinates, the activation read from the networks
    table (``twinnets.report.selection.sweep_rows``)."""
    frame = summary.copy() if isinstance(summary, pd.DataFrame) else pd.read_csv(summary)
    nets = read_table(networks, forks=True)
    return sweep_rows(frame, nets)


def _no_data(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no such data in this run:\n{what}", ha="center", va="center",
            transform=ax.transAxes, fontsize=8.5, color="#555555", wrap=True)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def _errorbar(ax: Any, x: np.ndarray, rows: pd.DataFrame, prefix: str, scale: float,
              **kw: Any) -> None:  # fmt: skip
    """Values with their intervals; a value with no interval is drawn without a bar."""
    value = rows[prefix].to_numpy(float) * scale
    low = rows.get(f"{prefix}_low", pd.Series(np.nan, index=rows.index)).to_numpy(float) * scale
    high = rows.get(f"{prefix}_high", pd.Series(np.nan, index=rows.index)).to_numpy(float) * scale
    err = np.vstack(
        [np.where(np.isnan(low), 0, value - low), np.where(np.isnan(high), 0, high - value)]
    )
    ax.errorbar(x, value, yerr=err, capsize=2.5, ms=4, lw=1.2, **kw)


def _panels(fig: Figure, rows: int, activations: list[str]) -> np.ndarray:
    axes = fig.subplots(rows, len(activations), squeeze=False, sharey="row")
    for ax, activation in zip(axes[0], activations, strict=True):
        ax.set_title(f"{activation} hidden units")
    return axes


def _activations(frame: pd.DataFrame) -> list[str]:
    present = [a for a in ACTIVATIONS if a in set(frame.get("activation", []))]
    return present or ["sigmoid"]


def _headline_kind(rows: pd.DataFrame) -> str:
    kinds = set(rows.pair_kind)
    return next((k for k in HEADLINE_KINDS if k in kinds), "both_differ")


# --------------------------------------------------------------------------- 9. width


def converge_width(summary: Table, networks: Table, out: Out) -> Figure:
    """Aligned distance and aligned test-error barrier against the hidden width.

    Entezari et al. 2021: the barrier left after the best permutation shrinks as layers
    widen. Top row: the relative distance after alignment under the activation's
    symmetries; bottom row: the aligned barrier in points of test error. One line per
    init (and eta, where a model has several), the grid's own networks (no forked
    children) at their longest training, over the pairs whose seeds both differ.
    """
    frame = read_summary(summary, networks)
    parents = frame[frame[FORK_COLUMN].isna()] if FORK_COLUMN in frame else frame
    parents = parents[parents.epochs == parents.epochs.max()] if len(parents) else parents
    activations = _activations(parents)
    stats = (("relative_signed", "aligned relative distance", 1.0),
             ("barrier_test_error_aligned", "aligned barrier (points of test error)", 100.0))  # fmt: skip
    with style():
        fig = new_figure(3.4 * len(activations) + 0.6, 5.6)
        axes = _panels(fig, 2, activations)
        for col, activation in enumerate(activations):
            mine = parents[parents.activation == activation]
            widths = sorted(set(mine.width))
            for row, (stat, label, scale) in enumerate(stats):
                ax = axes[row, col]
                if len(widths) < 2:
                    _no_data(ax, f"{activation} at one hidden width only "
                                 f"({', '.join(map(str, widths)) or 'none'})")  # fmt: skip
                    continue
                kind = _headline_kind(mine)
                for k, ((init, eta), rows) in enumerate(mine.groupby(["init", "eta"], sort=True)):
                    rows = rows[(rows.pair_kind == kind) & (rows.statistic == stat)]
                    rows = rows.sort_values("width")
                    if rows.empty:
                        continue
                    marker, line = INIT_STYLES.get(init, ("o", "-"))
                    x = rows.width.to_numpy(float)
                    _errorbar(ax, x, rows, "value", scale, color=OKABE_ITO[k % 8], marker=marker,
                              ls=line, label=f"{INIT_LABELS.get(init, init)}, eta {eta_text(eta)}")  # fmt: skip
                    if "null" in rows and rows["null"].notna().any():
                        _errorbar(ax, x * 1.04, rows, "null", scale, color=NULL_COLOUR,
                                  marker=marker, ls=":", mfc="white",
                                  label=f"untrained, {INIT_LABELS.get(init, init)}")  # fmt: skip
                ax.set_xscale("log")
                ax.set_xticks(widths, [str(w) for w in widths])
                ax.minorticks_off()
                ax.set_xlabel("hidden units")
                if col == 0:
                    ax.set_ylabel(label)
                if row == 0:
                    ax.legend(title=KIND_WORDS.get(kind, kind), frameon=False, fontsize=7)
        fig.suptitle("Do wider twins come together? Aligned distance and barrier against width")
    save(fig, out)
    return fig


# --------------------------------------------------------------------------- 10. fork epoch


def converge_fork(summary: Table, networks: Table, out: Out) -> Figure:
    """The barrier between siblings against the epoch they were forked at.

    Frankle et al. 2020's instability curve: children of one parent share its init and
    first K epochs, then follow their own data orders; siblings forked early end apart
    (a barrier on the straight line between them), forked later they may end in one
    basin. Siblings share their init, so the raw line needs no alignment; the aligned
    barrier is drawn beside it. One line per width and eta; grey, untrained.
    """
    frame = read_summary(summary, networks)
    forks = frame[frame[FORK_COLUMN].notna()] if FORK_COLUMN in frame else frame.iloc[0:0]
    forks = forks[forks.pair_kind == "siblings"]
    activations = _activations(forks if len(forks) else frame)
    with style():
        fig = new_figure(3.4 * len(activations) + 0.6, 3.6)
        axes = _panels(fig, 1, activations)
        for col, activation in enumerate(activations):
            ax = axes[0, col]
            mine = forks[forks.activation == activation] if len(forks) else forks
            if mine.empty or mine[FORK_COLUMN].nunique() < 2:
                _no_data(ax, f"no siblings of {activation} networks forked at two or more epochs")
                continue
            mine = mine[mine.epochs == mine.epochs.max()]
            settings = mine.groupby(["width", "init", "eta"], sort=True)
            for k, ((width, init, eta), rows) in enumerate(settings):
                colour = OKABE_ITO[k % 8]
                for stat, line, words in (("barrier_test_error_raw", "-", "raw"),
                                          ("barrier_test_error_aligned", "--", "aligned")):  # fmt: skip
                    got = rows[rows.statistic == stat].sort_values(FORK_COLUMN)
                    if got.empty:
                        continue
                    x = got[FORK_COLUMN].to_numpy(float)
                    _errorbar(ax, x, got, "value", 100.0, color=colour, marker="o", ls=line,
                              label=f"{width} units, {INIT_LABELS.get(init, init)}, eta {eta_text(eta)}, {words}")  # fmt: skip
                    if stat == "barrier_test_error_raw" and got["null"].notna().any():
                        _errorbar(ax, x + 0.08, got, "null", 100.0, color=NULL_COLOUR,
                                  marker="o", ls=":", mfc="white", label="untrained (shared init)")  # fmt: skip
            epochs = sorted(int(e) for e in mine[FORK_COLUMN].unique())
            ax.set_xticks(epochs, [str(e) for e in epochs])
            ax.set_xlabel(f"fork epoch K (of {int(mine.epochs.max())})")
            if col == 0:
                ax.set_ylabel("barrier between siblings (points of test error)")
            ax.axhline(0, color="#cccccc", lw=0.6)
            ax.legend(frameon=False, fontsize=7)
        fig.suptitle(
            "The instability curve: siblings' barrier against the epoch they were forked at"
        )
    save(fig, out)
    return fig


# --------------------------------------------------------------------------- 11. init scale


def converge_init(summary: Table, networks: Table, out: Out) -> Figure:
    """The share of the aligned difference inherited from the inits, against the init scale.

    ``1 - training_share``: ||d_init||^2 / ||d||^2 of the aligned difference d between
    two networks, d_init the difference of their inits aligned the same way. With N(0, 1)
    weights most of it is inherited; with N(0, 1/n_in) most of it is what training did.
    One line per width; the grid's own networks at their longest training. It has no
    null: it is measured against the init itself.
    """
    frame = read_summary(summary, networks)
    parents = frame[frame[FORK_COLUMN].isna()] if FORK_COLUMN in frame else frame
    parents = parents[parents.epochs == parents.epochs.max()] if len(parents) else parents
    parents = parents[parents.statistic == "training_share"]
    activations = _activations(parents if len(parents) else frame)
    inits = [i for i in INIT_LABELS if i in set(parents.get("init", []))]
    with style():
        fig = new_figure(3.4 * len(activations) + 0.6, 3.6)
        axes = _panels(fig, 1, activations)
        for col, activation in enumerate(activations):
            ax = axes[0, col]
            mine = parents[parents.activation == activation]
            if mine.empty:
                _no_data(ax, f"no {activation} networks with their inits' share")
                continue
            kind = _headline_kind(mine)
            mine = mine[mine.pair_kind == kind]
            for k, ((width, eta), rows) in enumerate(mine.groupby(["width", "eta"], sort=True)):
                rows = rows.assign(order=rows["init"].map(inits.index)).sort_values("order")
                inherited = rows.assign(
                    value=1 - rows["value"], value_low=1 - rows["value_high"],
                    value_high=1 - rows["value_low"])  # fmt: skip
                _errorbar(ax, rows.order.to_numpy(float) + 0.04 * k, inherited, "value", 100.0,
                          color=OKABE_ITO[k % 8], marker="o",
                          label=f"{width} units, eta {eta_text(eta)}")  # fmt: skip
            ax.set_xticks(range(len(inits)), [INIT_LABELS[i] for i in inits])
            ax.set_xlim(-0.5, len(inits) - 0.5)
            ax.set_xlabel("initial weights")
            if col == 0:
                ax.set_ylabel("inherited from the inits (% of ||d||^2)")
            ax.legend(title=KIND_WORDS.get(kind, kind), frameon=False, fontsize=7)
        fig.suptitle("How much of the aligned difference is inherited from the init?")
    save(fig, out)
    return fig
