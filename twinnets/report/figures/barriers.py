"""Figure 5: the loss along the straight line from A to B, raw and with B aligned to A.

Why two distant networks compute the same function: once aligned, the path between them
stays low. The other pairs of the same kind are drawn faintly, so A and B are seen as
typical or not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from twinnets.report.figures.pair import Pair, choose_pair, pair_row
from twinnets.report.figures.style import ALIGNMENT_COLOURS, Out, new_figure, save, style
from twinnets.report.figures.tables import SEED_COLUMNS, Table, headline_pairs, read_table

#: Per panel: the curves' column, its axis label, the barrier's name in the pairs table,
#: and how the title writes the barrier.
PANELS = (
    ("train_cost", "training cost (data loss, mean per image)", "train_cost", "{:.3f}"),
    ("test_percent", "test error (%)", "test_error", "{:.1f} points"),
)


def barriers(curves: Table, pairs: Table, networks: Table, out: Out) -> Figure:
    """Training cost and test error on the straight line from A to B, raw vs aligned.

    Raw, the midpoint of two good networks is a bad network: a barrier. After
    aligning B's hidden units to A's (the alignment with the lowest barrier), the path
    stays far lower; ``answer.md`` says by a stated rule whether that is one basin.
    Faint lines: every other pair of the same kind in the group.
    """
    pair = choose_pair(pairs, networks)
    table, is_ab = _group_curves(read_table(curves), pair)
    n_other = len(table[~is_ab][SEED_COLUMNS].drop_duplicates())
    ab_row = pair_row(read_table(pairs), pair)
    with style():
        fig = new_figure(11, 4.2)
        axes = fig.subplots(1, 2)
        for ax, (column, label, name, fmt) in zip(axes, PANELS):
            _curves(ax, table, is_ab, column)
            _path_axes(ax, label)
            ax.set_title(_barrier_title(ab_row, label, name, fmt))
        fig.legend(handles=_legend(n_other), loc="outside right center", frameon=False)
        fig.suptitle(
            f"Loss barrier between A and B ({pair.describe('A')}; {pair.describe('B')}; "
            f"{pair.setting()})"
        )
        save(fig, out)
    return fig


def _group_curves(table: pd.DataFrame, pair: Pair) -> tuple[pd.DataFrame, pd.Series]:
    """The curves of ``pair``'s group and kind (test error in %), and which are A-B's."""
    table = table[
        (table["model"] == pair.model)
        & (table["sizes"] == pair.sizes)
        & np.isclose(table["eta"], pair.eta)
        & (table["epochs"] == pair.epochs)
    ]
    table = headline_pairs(table)
    is_ab = (
        (table["a_init_seed"] == pair.a[0])
        & (table["a_order_seed"] == pair.a[1])
        & (table["b_init_seed"] == pair.b[0])
        & (table["b_order_seed"] == pair.b[1])
    )
    return table.assign(test_percent=100 * table["test_error"]), is_ab


def _curves(ax: Any, table: pd.DataFrame, is_ab: pd.Series, column: str) -> None:
    """Per alignment, every other pair's curve faintly and A-B's boldly, with markers."""
    for alignment, colour in ALIGNMENT_COLOURS.items():
        part = table[table["alignment"] == alignment]
        for _, curve in part[~is_ab[part.index]].groupby(SEED_COLUMNS):
            ax.plot(curve["alpha"], curve[column], color=colour, lw=0.6, alpha=0.25)
        ab = part[is_ab[part.index]].sort_values("alpha")
        ax.plot(ab["alpha"], ab[column], color=colour, lw=2.4, marker="o", ms=3)


def _path_axes(ax: Any, label: str) -> None:
    """The path from A (alpha 0) to B (alpha 1), the loss from zero."""
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("alpha: position on the path (1 - alpha) A + alpha B")
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.set_xticklabels(["0\nA", "0.25", "0.5", "0.75", "1\nB"])
    ax.set_ylabel(label)


def _barrier_title(ab_row: pd.Series, label: str, name: str, fmt: str) -> str:
    """A panel's title: A-B's barrier, raw and aligned, as the pairs table has it."""
    raw, aligned = (ab_row.get(f"barrier_{name}_{a}", np.nan) for a in ("raw", "aligned"))
    if name == "test_error":  # a difference of error rates: percentage points
        raw, aligned = 100 * raw, 100 * aligned
    return (
        f"{label.split(' (')[0]}: A-B barrier {fmt.format(raw)} raw, {fmt.format(aligned)} aligned"
    )


def _legend(n_other: int) -> list[Line2D]:
    """Colours for raw and aligned, line weights for A-B and the other pairs."""
    return [
        Line2D([], [], color=ALIGNMENT_COLOURS["raw"], lw=2.4, label="raw: B as trained"),
        Line2D([], [], color=ALIGNMENT_COLOURS["aligned"], lw=2.4,
               label="aligned: B's hidden units\nmatched to A's"),
        Line2D([], [], color="0.3", lw=2.4, marker="o", ms=3, label="A and B"),
        Line2D([], [], color="0.3", lw=0.6, alpha=0.5,
               label=f"the group's {n_other} other\npairs of this kind"),
    ]  # fmt: skip
