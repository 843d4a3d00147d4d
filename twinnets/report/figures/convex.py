"""Figures 7 and 8: every model of the run side by side, the MLP and the convex controls.

The convex control shows when seeds *do* converge (a unique minimum, with L2); the
accuracy grid shows that every network compared is a good classifier. Both order and
style the models by the tables' ``family`` and ``lmbda`` columns, never by their names.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import LogFormatter

from twinnets.report.figures.labels import eta_text
from twinnets.report.figures.lines import RANDOM_PAIR, SQRT2, epoch_axis, mean_band
from twinnets.report.figures.style import (
    OKABE_ITO,
    SEQUENTIAL,
    Out,
    new_figure,
    save,
    seaborn,
    style,
)
from twinnets.report.figures.tables import Table, headline_pairs, read_table

MARKERS = ("o", "s", "^", "D", "v")


def with_l2(frame: pd.DataFrame) -> set[str]:
    """The models trained with L2 (lmbda > 0): drawn dashed, after their plain variants."""
    if "lmbda" not in frame.columns:
        return set()
    return set(frame.loc[frame["lmbda"] > 0, "model"])


def model_order(frame: pd.DataFrame) -> list[str]:
    """Models by family (MLP first), each family's plain variants before its L2 variants."""
    family = frame.groupby("model")["family"].first()
    families = list(dict.fromkeys(["mlp", *sorted(family)]))
    l2 = with_l2(frame)
    return sorted(family.index, key=lambda m: (families.index(family[m]), m in l2, m))


def _several_sizes(frame: pd.DataFrame) -> bool:
    """Whether a model comes in several sizes, so that labels must name the sizes."""
    return bool(frame.groupby("model")["sizes"].nunique().max() > 1)


# --------------------------------------------------------------------------- 7. convex control


def convex_control(pairs: Table, out: Out) -> Figure:
    """Distance between seeds over training, for the MLP and the convex models.

    A convex model (softmax or linear regression, no hidden layer) with L2 has one
    minimum: its seeds must converge, so their distance falls with training. The MLP's
    seeds stay far apart. One line per model and learning rate (each model trains at
    its own), colour by model family, dashed with L2; log scale, so that a steady
    convergence is a straight fall.
    """
    table = read_table(pairs)
    table = pd.concat(
        [headline_pairs(group) for _, group in table.groupby("model", sort=True)],
        ignore_index=True,
    )
    table = table[table["relative_all"] > 0]  # log scale: identical networks cannot show
    models = model_order(table)
    families = list(dict.fromkeys(table.set_index("model").loc[models, "family"]))
    colours = {f: OKABE_ITO[k % len(OKABE_ITO)] for k, f in enumerate(families)}
    l2 = with_l2(table)
    several_sizes = _several_sizes(table)
    with style():
        fig = new_figure(10.5, 5.2)
        ax = fig.subplots()
        for model in models:
            mine = table[table["model"] == model]
            colour = colours[str(mine["family"].iloc[0])]
            _model_lines(ax, mine, model, colour, model in l2, several_sizes)
        ax.axhline(SQRT2, color="0.4", lw=0.8, ls=":", label=RANDOM_PAIR)
        _log_distance_axis(ax, sorted(table["epochs"].unique()))
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Patch(color="0.3", alpha=0.15))
        labels.append("band: min to max over pairs")
        fig.legend(handles, labels, loc="outside right center", frameon=False,
                   title="model, learning rate\n(dashed: with L2)")  # fmt: skip
        missing = "" if len(models) > 1 else "\n(this run has no convex models: the MLP only)"
        fig.suptitle(
            "Convex control: do differently seeded runs end at the same weights?\n"
            f"Pairs whose init and order both differ; line = mean over pairs{missing}"
        )
        save(fig, out)
    return fig


def _model_lines(
    ax: Any, mine: pd.DataFrame, model: str, colour: str, dashed: bool, several_sizes: bool
) -> None:
    """One model's mean distance over training with its band, a line per sizes and eta."""
    for k, ((sizes, eta), part) in enumerate(mine.groupby(["sizes", "eta"])):
        stats = mean_band(part, ["epochs"], "relative_all")
        label = f"{model}{f' {sizes}' if several_sizes else ''}, eta {eta_text(eta)}"
        ax.fill_between(stats["epochs"], stats["min"], stats["max"],
                        color=colour, alpha=0.12, lw=0)  # fmt: skip
        ax.plot(stats["epochs"], stats["mean"], color=colour, ls="--" if dashed else "-",
                marker=MARKERS[k % len(MARKERS)], ms=4, label=label)  # fmt: skip


def _log_distance_axis(ax: Any, epochs: list[int]) -> None:
    """Distance on a log scale (a steady convergence falls straight) over the epochs."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
    ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))
    epoch_axis(ax, epochs)
    ax.set_ylabel(
        "relative distance between seeds (log scale)\n||A - B|| / sqrt(||A|| ||B||), all parameters"
    )


# --------------------------------------------------------------------------- 8. accuracy grid


def accuracy_grid(networks: Table, out: Out) -> Figure:
    """Mean test accuracy for every model, learning rate and checkpoint.

    Context for every other figure: the networks compared are all good classifiers
    (the last columns), however far apart their weights are.
    """
    nets = read_table(networks)
    nets = nets.assign(percent=100 * nets["test_accuracy"])
    models = model_order(nets)
    mean, spread, count = _accuracy_rows(nets, models)
    text = mean.map(lambda v: "" if pd.isna(v) else f"{v:.1f}") + spread.map(
        lambda v: f"\n\u00b1{v:.2f}"
    )
    norm = Normalize(float(nets["percent"].min()), float(nets["percent"].max()))
    with style():
        fig = new_figure(max(6.0, 1.15 * mean.shape[1] + 4.0), 0.6 * len(mean) + 1.8)
        ax = fig.subplots()
        seaborn().heatmap(
            mean,
            ax=ax,
            cmap=SEQUENTIAL,
            norm=norm,
            annot=text.to_numpy(),
            fmt="",
            annot_kws={"fontsize": 7.5},
            cbar_kws={"label": "test accuracy (%)"},
            linewidths=0.5,
            linecolor="white",
        )
        ax.set_xlabel("epochs of training")
        ax.set_ylabel("" if len(models) > 1 else "learning rate")
        ax.tick_params(length=0)
        ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
        sizes = ", ".join(sorted(nets["sizes"].unique()))
        fig.suptitle(
            "Test accuracy (%) on the 10,000 test images, per learning rate and epochs\n"
            f"mean \u00b1 standard deviation over up to {count} networks ({sizes})"
        )
        save(fig, out)
    return fig


def _accuracy_rows(nets: pd.DataFrame, models: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Per model, sizes and eta (a row) and checkpoint (a column): the mean test accuracy,
    its standard deviation, and the most networks any cell averages."""
    several_sizes = _several_sizes(nets)
    rows, labels = [], []
    for model in models:
        mine = nets[nets["model"] == model]
        for (sizes, eta), part in mine.groupby(["sizes", "eta"]):
            rows.append(part.groupby("epochs")["percent"].agg(["mean", "std", "count"]))
            name = "" if len(models) == 1 else f"{model}{f' {sizes}' if several_sizes else ''}, "
            labels.append(f"{name}eta {eta_text(eta)}")
    mean = pd.DataFrame([r["mean"] for r in rows], index=labels)
    spread = pd.DataFrame([r["std"] for r in rows], index=labels).fillna(0.0)
    return mean, spread, int(max(r["count"].max() for r in rows))
