"""Figures 3 and 4: how far apart the networks are, pair by pair and over training.

Both read the MLP's pairs and set every distance against sqrt 2, the distance of two
random networks, since "far" means nothing without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from twinnets.report.figures.labels import epochs_text, eta_text
from twinnets.report.figures.lines import (
    RANDOM_PAIR,
    SQRT2,
    epoch_axis,
    mean_band,
    plot_mean_band,
)
from twinnets.report.figures.style import (
    OKABE_ITO,
    SEQUENTIAL,
    Out,
    new_figure,
    save,
    seaborn,
    style,
)
from twinnets.report.figures.tables import Table, mlp_rows, read_table

# --------------------------------------------------------------------------- 3. distance matrices


def distance_matrices(pairs: Table, out: Out) -> Figure:
    """Every pair's relative distance at init, trained, and trained after alignment.

    One row per learning rate, at the largest epochs. The block structure shows which
    seed matters: pairs that share the init stay close; all others are as far apart as
    two random networks (sqrt 2), and alignment brings them only part of the way.
    """
    table = mlp_rows(read_table(pairs))
    epochs = int(table["epochs"].max())
    cells = table[table["epochs"] == epochs]
    groups = sorted(cells.groupby(["sizes", "eta"]).groups)
    columns = (
        ("null_relative_all", "at initialisation"),
        ("relative_all", f"after {epochs_text(epochs)}, raw"),
        ("relative_signed", f"after {epochs_text(epochs)}, aligned"),
    )
    norm = Normalize(0.0, max(SQRT2 * 1.04, float(cells[[c for c, _ in columns]].max().max())))
    n_nets = len(set(zip(cells["a_init_seed"], cells["a_order_seed"]))) + 1
    panel = max(2.9, 0.3 * n_nets)
    with style():
        fig = new_figure(3 * panel + 1.2, panel * len(groups) + 0.9)
        axes = np.atleast_2d(fig.subplots(len(groups), 3, squeeze=False))
        for row, (sizes, eta) in enumerate(groups):
            cell = cells[(cells["sizes"] == sizes) & (cells["eta"] == eta)]
            for col, (column, title) in enumerate(columns):
                ax = axes[row, col]
                _distance_heatmap(ax, *_square(cell, column), norm, annotate=n_nets <= 12)
                if row == 0:
                    ax.set_title(title, fontsize=10.5, fontweight="bold")
                ax.set_xlabel("network (init seed / order seed)")
                ax.set_ylabel(
                    f"{sizes}, eta {eta_text(eta)}\nnetwork (init seed / order seed)"
                    if col == 0
                    else ""
                )
        _distance_bar(fig, axes, norm)
        fig.suptitle(
            "Distance between every two networks of a group: at initialisation, trained, and "
            "trained after factoring out\nthe symmetries (hidden units renumbered and "
            "sign-flipped to match); 0/1 = init seed 0, order seed 1"
        )
        save(fig, out)
    return fig


def _square(cell: pd.DataFrame, column: str) -> tuple[np.ndarray, list[str]]:
    """A group's pairs as a symmetric network-by-network matrix, with the networks' labels."""
    a = list(zip(cell["a_init_seed"], cell["a_order_seed"]))
    b = list(zip(cell["b_init_seed"], cell["b_order_seed"]))
    nets = sorted(set(a) | set(b))
    index = {net: k for k, net in enumerate(nets)}
    matrix = np.zeros((len(nets), len(nets)))
    for x, y, value in zip(a, b, cell[column]):
        matrix[index[x], index[y]] = matrix[index[y], index[x]] = value
    return matrix, [f"{i}/{o}" for i, o in nets]


def _distance_heatmap(
    ax: Any, matrix: np.ndarray, labels: list[str], norm: Normalize, annotate: bool
) -> None:
    """One matrix on the shared colour scale, values written in while they stay legible."""
    seaborn().heatmap(
        matrix,
        ax=ax,
        cmap=SEQUENTIAL,
        norm=norm,
        cbar=False,
        square=True,
        annot=annotate,
        fmt=".2f",
        annot_kws={"fontsize": 5.5},
        xticklabels=labels,
        yticklabels=labels,
        linewidths=0.3,
        linecolor="white",
    )
    ax.tick_params(labelsize=7, length=0)


def _distance_bar(fig: Figure, axes: Any, norm: Normalize) -> None:
    """The matrices' one colour bar, with sqrt 2 (a random pair) marked and named."""
    bar = fig.colorbar(
        ScalarMappable(norm, SEQUENTIAL),
        ax=axes,
        shrink=0.8,
        label="relative distance ||A - B|| / sqrt(||A|| ||B||), all parameters",
    )
    bar.ax.axhline(SQRT2, color="white", lw=2)
    bar.ax.axhline(SQRT2, color="black", lw=0.8)
    bar.set_ticks([0.0, 0.25, 0.5, 0.75, 1.0, SQRT2])
    bar.set_ticklabels(["0", "0.25", "0.5", "0.75", "1", "\u221a2: random pair"])


# --------------------------------------------------------------------------- 4. over training


def over_training(pairs: Table, networks: Table, out: Out) -> Figure:
    """Distances, distance from init and accuracy as training goes on, one line per eta.

    Accuracy saturates within a few epochs while networks whose seeds both differ stay
    as far apart as random ones; alignment shrinks that gap a little more each epoch,
    and each network moves away from its own init only slowly.
    """
    table = mlp_rows(read_table(pairs))
    kind = table["pair_kind"]
    table = table.assign(
        share=np.where(
            kind == "same_init", "same", np.where(kind == "both_differ", "different", "")
        )
    )
    nets = mlp_rows(read_table(networks))
    nets = nets.assign(test_percent=100 * nets["test_accuracy"])
    etas = sorted(nets["eta"].unique())
    colours = {eta: OKABE_ITO[k % len(OKABE_ITO)] for k, eta in enumerate(etas)}
    sizes_all = sorted(nets["sizes"].unique())
    epochs = sorted(nets["epochs"].unique())
    panels = (
        ("relative_all", "between networks, raw", "relative distance", table, True),
        ("relative_signed", "between networks, aligned", "relative distance", table, True),
        ("relative_from_init", "each network from its own init",
         "relative distance ||W - W0|| / ||W0||", nets, False),
        ("test_percent", "test accuracy", "test accuracy (%)", nets, False),
    )  # fmt: skip
    with style():
        fig = new_figure(11, 7.0 * len(sizes_all) + 0.6)
        axes = fig.subplots(2 * len(sizes_all), 2, squeeze=False)
        for row, sizes in enumerate(sizes_all):
            for col, (column, title, label, frame, by_pair) in enumerate(panels):
                ax = axes[2 * row + col // 2, col % 2]
                _training_lines(ax, frame[frame["sizes"] == sizes], column, colours, by_pair)
                epoch_axis(ax, epochs)
                ax.set_ylabel(label)
                ax.set_title(title if len(sizes_all) == 1 else f"{sizes}: {title}")
        fig.legend(handles=_training_legend(colours), loc="outside right center", frameon=False)
        fig.suptitle(
            f"Over training ({', '.join(sizes_all)}): how far apart the networks are, how far "
            "each moved from its init,\nand how well it classifies. Relative distance: "
            "||A - B|| / sqrt(||A|| ||B||), all parameters; line = mean"
        )
        save(fig, out)
    return fig


def _training_lines(
    ax: Any, frame: pd.DataFrame, column: str, colours: dict[float, str], by_pair: bool
) -> None:
    """One mean line per eta over training; for pairs, one per whether they share the init
    (solid: they do not), against sqrt 2."""
    for eta, colour in colours.items():
        at_eta = frame[np.isclose(frame["eta"], eta)]
        if not by_pair:
            plot_mean_band(ax, mean_band(at_eta, ["epochs"], column), "epochs", colour)
            continue
        for share, dash in (("different", "-"), ("same", "--")):
            part = at_eta[at_eta["share"] == share]
            if not part.empty:
                stats = mean_band(part, ["epochs"], column)
                plot_mean_band(ax, stats, "epochs", colour, ls=dash)
    if by_pair:
        ax.axhline(SQRT2, color="0.4", lw=0.8, ls=":")
        ax.set_ylim(bottom=0)


def _training_legend(colours: dict[float, str]) -> list[Any]:
    """Colours for the etas, line styles for the pair kinds, the band and sqrt 2."""
    return [
        Line2D([], [], color=colour, marker="o", ms=3.5, label=f"eta {eta_text(eta)}")
        for eta, colour in colours.items()
    ] + [
        Line2D([], [], color="0.3", ls="-", label="pairs whose init and\norder both differ"),
        Line2D([], [], color="0.3", ls="--", label="pairs sharing the init"),
        Line2D([], [], color="0.4", ls=":", label=RANDOM_PAIR),
        Patch(color="0.3", alpha=0.18, label="band: min to max over\npairs or networks"),
    ]
