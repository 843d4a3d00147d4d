"""Figures 1 and 2: the weights of A and B themselves, raw and with B aligned to A.

They show the question (the first layers look unrelated) and what alignment finds (units
that look for the same strokes), so both start from the same aligned pair.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import matplotlib
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure, SubFigure

from twinnets.compare.alignment import Transform, align
from twinnets.compare.distances import relative_distance
from twinnets.compare.groups import dead_pixels
from twinnets.compare.similarity import cross_correlation
from twinnets.compare.symmetry import shared_activation, symmetry
from twinnets.data.mnist import load_mnist
from twinnets.report.figures.pair import Dumps, Pair, choose_pair, read_pair
from twinnets.report.figures.style import DIVERGING, MASKED, Out, new_figure, save, style
from twinnets.report.figures.tables import Table
from twinnets.train.network import Params, hidden_activations

#: One panel of figure 1: title, matrix, y tick labels, y label.
Panel = tuple[str, np.ndarray, list[str], str]


@dataclasses.dataclass(frozen=True)
class AlignedPair:
    """A and B in float64, and B with its hidden units matched to A's (the whole symmetry
    group of their activation: weight matching with sign flips, or rescaling for ReLU)."""

    pair: Pair
    n_train: int
    a: Params
    b: Params
    b_aligned: Params
    transform: Transform  # of the first hidden layer
    activation: str = "sigmoid"


def aligned_pair(pairs: Table, networks: Table, weights: Dumps) -> AlignedPair:
    """The chosen A and B (:func:`~twinnets.report.figures.pair.choose_pair`), aligned."""
    pair = choose_pair(pairs, networks)
    dump_a, dump_b = read_pair(weights, pair)
    activation = shared_activation({str(d.path): d.config.activation for d in (dump_a, dump_b)})
    a, b = dump_a.params.astype(np.float64), dump_b.params.astype(np.float64)
    b_aligned, transforms = align(a, b, "signed", activation=activation)
    return AlignedPair(pair, dump_a.config.n_train, a, b, b_aligned, transforms[0], activation)


# --------------------------------------------------------------------------- 1. question


def question(pairs: Table, networks: Table, weights: Dumps, out: Out, rows: int = 10) -> Figure:
    """The question as a picture: the first rows of W1 of A and of B, raw and aligned.

    Left, B as trained: its weights look unrelated to A's. Right, B's hidden units
    renumbered and sign-flipped to match A's (signed weight matching): what the
    symmetries explain, and what they leave.
    """
    ab = aligned_pair(pairs, networks, weights)
    n = min(rows, ab.a.weights[0].shape[0])
    shown = np.concatenate([ab.a.weights[0][:n].ravel(), ab.b.weights[0][:n].ravel()])
    vmax = float(np.percentile(np.abs(shown), 99.5))
    norm = Normalize(-vmax, vmax)
    with style():
        fig = new_figure(12.5, 7.2)
        axes = fig.subplots(3, 2, sharex=True)
        for col, aligned in enumerate((False, True)):
            _draw_rows_column(axes[:, col], *_question_column(ab, n, aligned), norm)
        fig.colorbar(
            axes[2, 1].images[0],
            ax=axes,
            label="weight (dimensionless; 0 = white)",
            extend="both",
            shrink=0.6,
        )
        fig.suptitle(
            f"The question: the first {n} rows of the first-layer weights W1 of two networks "
            f"trained alike ({ab.pair.setting()})"
        )
        save(fig, out)
    return fig


def _question_column(ab: AlignedPair, n: int, aligned: bool) -> tuple[str, list[Panel]]:
    """A column of figure 1: its heading and panels A, B (raw or aligned) and A - B."""
    if aligned:
        title = (
            f"aligned: B's hidden units renumbered and {symmetry(ab.activation).done} to match A"
        )
        other, units, signs = ab.b_aligned, ab.transform.perm[:n], ab.transform.sign[:n]
    else:
        title = "raw: B as trained"
        other, units, signs = ab.b, np.arange(n), np.ones(n)
    w_a, w_b = ab.a.weights[0][:n], other.weights[0][:n]
    rel = relative_distance(ab.a.weights[0].ravel(), other.weights[0].ravel())
    numbers = [str(j) for j in range(n)]
    panels = [
        (ab.pair.describe("A"), w_a, numbers, "A's hidden unit"),
        (
            ab.pair.describe("B") + (", aligned" if aligned else ""),
            w_b,
            [f"{u}{'' if s > 0 else ' (-)'}" for u, s in zip(units, signs)],
            "B's hidden unit" + (", (-) = sign-flipped" if aligned else ""),
        ),
        (f"A - B: relative distance of all of W1 = {rel:.3f}", w_a - w_b, numbers, "row"),
    ]
    return title, panels


def _draw_rows_column(axes: Any, title: str, panels: list[Panel], norm: Normalize) -> None:
    """One column of weight rows as images, one panel per axes, under its heading."""
    n = len(panels[0][2])
    for ax, (label, matrix, ticks, ylabel) in zip(axes, panels):
        ax.imshow(matrix, cmap=DIVERGING, norm=norm, aspect="auto")
        ax.set_title(label, loc="left")
        ax.set_yticks(range(n))
        ax.set_yticklabels(ticks, fontsize=7)
        ax.set_ylabel(ylabel)
    axes[0].annotate(
        title, xy=(0.5, 1.28), xycoords="axes fraction", ha="center", fontsize=10.5,
        fontweight="bold",
    )  # fmt: skip
    axes[-1].set_xlabel("input pixel (0-783: the 28 x 28 image row by row)")
    axes[-1].set_xticks(range(0, 785, 112))


# --------------------------------------------------------------------------- 2. receptive fields


def receptive_fields(
    pairs: Table,
    networks: Table,
    weights: Dumps,
    mnist_dir: str | os.PathLike,
    out: Out,
    columns: int | None = None,
) -> Figure:
    """Every hidden unit of A beside its match in B, as 28 x 28 weight images.

    Shows what alignment pairs up: units that look for the same strokes, with the
    never-trained pixels (grey) masked since their weights are still the random init.
    Each pair is labelled with two correlations: of the units' outputs on the
    validation images (r_out) and of their weights over the trained pixels (r_w).
    """
    ab = aligned_pair(pairs, networks, weights)
    data = load_mnist(mnist_dir, n_train=ab.n_train)
    dead = dead_pixels(data, ab.n_train)
    r_out, r_w = _unit_correlations(ab, data.validation.images("float64"), ~dead)
    w_a, w_b = ab.a.weights[0], ab.b_aligned.weights[0]
    n_hidden = w_a.shape[0]
    vmax = float(np.percentile(np.abs(np.concatenate([w_a[:, ~dead], w_b[:, ~dead]])), 99))
    norm = Normalize(-vmax, vmax)
    cmap = matplotlib.colormaps[DIVERGING].with_extremes(bad=MASKED)
    ncols = columns or max(1, min(n_hidden, round(math.sqrt(n_hidden * 1.3))))
    nrows = math.ceil(n_hidden / ncols)
    with style():
        fig = new_figure(max(12.0, 1.95 * ncols + 1.1), 1.3 * nrows + 1.3)
        grid_fig, bar_fig = fig.subfigures(1, 2, width_ratios=[max(10.9, 1.95 * ncols), 1.1])
        cells = np.atleast_1d(grid_fig.subfigures(nrows, ncols, wspace=0.02, hspace=0.02))
        cells = cells.reshape(nrows, ncols)
        for k, j in enumerate(np.argsort(-r_out, kind="stable")):  # best match first
            cell = cells[k // ncols, k % ncols]
            _unit_label(cell, ab.transform, j, r_out[j], r_w[j])
            for ax, w in zip(cell.subplots(1, 2), (w_a[j], w_b[j])):
                _unit_image(ax, _as_image(w, dead), cmap, norm)
        _weight_bar(bar_fig, norm, cmap)
        fig.suptitle(_fields_title(ab.pair, n_hidden), fontsize=10)
        save(fig, out)
    return fig


def _unit_correlations(
    ab: AlignedPair, images: np.ndarray, live: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per unit of A and its match in B: the correlation of their outputs on ``images``
    and of their weights over the ``live`` (trained) pixels."""
    r_out = np.diag(
        cross_correlation(
            hidden_activations(ab.a, images, ab.activation)[0],
            hidden_activations(ab.b_aligned, images, ab.activation)[0],
        )
    )
    w_a, w_b = ab.a.weights[0][:, live], ab.b_aligned.weights[0][:, live]
    return r_out, np.diag(cross_correlation(w_a.T, w_b.T))


def _as_image(w: np.ndarray, dead: np.ndarray) -> np.ndarray:
    """A unit's input weights as a square image, never-trained pixels NaN (drawn grey)."""
    side = math.isqrt(w.size)
    if side * side != w.size:
        raise ValueError(f"receptive fields need square images, got {w.size} inputs")
    return np.where(dead, np.nan, w).reshape(side, side)


def _unit_label(cell: SubFigure, t: Transform, j: int, r_out: float, r_w: float) -> None:
    """Which unit of B matches A's unit ``j``, whether flipped, and how well."""
    flipped = t.sign[j] < 0
    cell.suptitle(
        f"A {j} | B {t.perm[j]}{' flipped' if flipped else ''}\nr_out {r_out:.2f}   r_w {r_w:.2f}",
        fontsize=7,
    )


def _unit_image(ax: Any, image: np.ndarray, cmap: Colormap, norm: Normalize) -> None:
    """One unit's weights, framed by a thin box and no ticks."""
    ax.imshow(image, cmap=cmap, norm=norm)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_linewidth(0.4)


def _weight_bar(bar_fig: SubFigure, norm: Normalize, cmap: Colormap) -> None:
    """The colour bar of every unit's image, in its own narrow subfigure."""
    cax = bar_fig.add_axes((0.12, 0.1, 0.22, 0.75))
    bar = bar_fig.colorbar(ScalarMappable(norm, cmap), cax=cax, extend="both")
    bar.set_label("weight (dimensionless)")


def _fields_title(pair: Pair, n_hidden: int) -> str:
    """What figure 2 shows, which networks, and how to read each label."""
    return (
        f"Receptive fields: each of A's {n_hidden} hidden units (left) beside its match in B "
        f"(right), best match first\n{pair.describe('A')}; {pair.describe('B')}; "
        f"{pair.setting()}\nB's units keep their numbers; 'flipped' = sign-flipped; grey = "
        "pixel 0 in every training image (never trained)\nr_out: correlation of the two "
        "units' outputs on the validation images; r_w: of their weights on trained pixels"
    )
