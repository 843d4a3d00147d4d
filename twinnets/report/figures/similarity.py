"""Figure 6: what the networks compute against how far apart their weights are.

The answer's core contrast in one picture: pairs far apart in weights are nearly as
similar in representation and prediction as pairs that share their init.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from twinnets.report.figures.labels import epochs_text, eta_text
from twinnets.report.figures.style import (
    KIND_COLOURS,
    KIND_ORDER,
    Out,
    new_figure,
    save,
    seaborn,
    style,
)
from twinnets.report.figures.tables import Table, mlp_rows, read_table
from twinnets.report.selection import KIND_WORDS

#: Per panel: the column, the panel's title and its axis label.
PANELS = (
    (
        "cka_linear",
        "representations",
        "linear CKA of hidden activations\n(validation images; 1 = same up to rotation and scale)",
    ),
    ("agreement_percent", "predictions", "prediction agreement on the test images (%)"),
)
KIND = "the pair's seeds"
ETA = "learning rate"


def similarity_vs_distance(pairs: Table, out: Out) -> Figure:
    """What the networks compute against how far apart their aligned weights are.

    One point per pair at the largest epochs. Pairs that differ in init are far apart
    in weights yet nearly as similar in representation (CKA) and prediction as pairs
    that share it: weight distance says little about function.
    """
    sns = seaborn()
    table = mlp_rows(read_table(pairs))
    epochs = int(table["epochs"].max())
    table = _legend_columns(table[table["epochs"] == epochs])
    kinds = [k for k in KIND_ORDER if k in set(table["pair_kind"])]
    hue_order = [KIND_WORDS.get(k, k) for k in kinds]
    palette = {KIND_WORDS.get(k, k): KIND_COLOURS[k] for k in kinds}
    style_order = [f"eta {eta_text(e)}" for e in sorted(table["eta"].unique())]
    with style():
        fig = new_figure(11.5, 4.4)
        axes = fig.subplots(1, 2)
        for k, (ax, (column, title, label)) in enumerate(zip(axes, PANELS)):
            sns.scatterplot(
                data=table,
                x="relative_signed",
                y=column,
                hue=KIND,
                hue_order=hue_order,
                palette=palette,
                style=ETA,
                style_order=style_order,
                s=42,
                alpha=0.85,
                edgecolor="white",
                linewidth=0.4,
                ax=ax,
                legend=k == 1,
            )
            ax.set_xlabel(
                "relative weight distance after alignment\n||A - B'|| / sqrt(||A|| ||B'||)"
            )
            ax.set_ylabel(label)
            ax.set_title(f"{title}: {label.split(chr(10))[0].split(' (')[0]}")
        sns.move_legend(axes[1], "upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        fig.suptitle(
            f"Similar function, distant weights: one point per pair of networks after "
            f"{epochs_text(epochs)}, against the distance of their weights after alignment"
        )
        save(fig, out)
    return fig


def _legend_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The columns seaborn names its legends after, and agreement in %."""
    return table.assign(
        seeds=table["pair_kind"].map(lambda k: KIND_WORDS.get(k, k)),
        eta_label=table["eta"].map(lambda e: f"eta {eta_text(e)}"),
        agreement_percent=100 * table["agreement"],
    ).rename(columns={"seeds": KIND, "eta_label": ETA})
