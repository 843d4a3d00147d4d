"""The figures of a run, and the report pages that hold its tables.

One public function per figure. Each takes the run's tables (paths or DataFrames) and,
where it needs parameters, the weight dumps; draws with matplotlib and seaborn; writes
every path in ``out`` (the suffix picks the format: SVG for the report, PNG for the
README); and returns the matplotlib ``Figure`` so that tests can check what it shows.
Figures are built as plain ``Figure`` objects, never through pyplot, so drawing keeps
no global state and needs no display (Agg).

Tables may carry a ``model`` column (``mlp`` and the convex controls); without one,
every row is the MLP. Figures about hidden units (1, 2, 5) and about the MLP's
symmetries (3, 4, 6) draw MLP networks only; the convex control (7) and the accuracy
grid (8) draw every model.

Which two networks are "A" and "B" (figures 1, 2, 5) is a rule, not a choice by hand:
see :func:`choose_pair`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import importlib
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import LogFormatter, NullLocator

from twinnets._io import atomic_write, atomic_write_text
from twinnets.compare.alignment import align, hidden_activations
from twinnets.compare.distances import relative_distance
from twinnets.compare.groups import dead_pixels
from twinnets.compare.similarity import cross_correlation
from twinnets.data.mnist import load_mnist
from twinnets.dumps.storage import Dump, read_dump
from twinnets.report.selection import KIND_WORDS, headline_cell, headline_kind
from twinnets.train.network import Params

Table = pd.DataFrame | str | os.PathLike
Out = str | os.PathLike | Sequence[str | os.PathLike]

#: Okabe & Ito's palette: distinguishable with every common colour-vision deficiency.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Signed values (weights, differences): ColorBrewer's colour-blind-safe diverging map,
#: white at zero.
DIVERGING = "RdBu_r"
#: Unsigned values (distances, accuracies): perceptually uniform, colour-blind safe.
SEQUENTIAL = "viridis"
#: Masked pixels (never trained: zero in every training image).
MASKED = "#b0b0b0"
SQRT2 = math.sqrt(2.0)
RANDOM_PAIR = "two random networks (sqrt 2)"

KIND_ORDER = ("same_init", "same_order", "both_differ", "identical_seeds")
KIND_COLOURS = dict(zip(KIND_ORDER, (OKABE_ITO[2], OKABE_ITO[0], OKABE_ITO[3], OKABE_ITO[7])))
ALIGNMENT_COLOURS = {"raw": OKABE_ITO[3], "aligned": OKABE_ITO[0]}
SEED_COLUMNS = ["a_init_seed", "a_order_seed", "b_init_seed", "b_order_seed"]

_RC = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "savefig.dpi": 150,
    "svg.hashsalt": "twinnets",  # stable element ids: same run, same SVG bytes
    "image.interpolation": "nearest",
}


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(_RC):
        yield


def _seaborn() -> Any:
    """seaborn, imported on first use: it costs a second that most figures need not pay."""
    import seaborn

    return seaborn


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _paths(out: Out) -> list[Path]:
    if isinstance(out, str | os.PathLike):
        return [Path(out)]
    return [Path(p) for p in out]


def save(fig: Figure, out: Out) -> None:
    """Write ``fig`` to every path of ``out`` atomically, in the format of its suffix."""
    for path in _paths(out):
        fmt = path.suffix.lstrip(".").lower()
        if fmt not in ("svg", "png", "pdf"):
            raise ValueError(f"{path}: figures are written as .svg, .png or .pdf")
        metadata = {"Date": None} if fmt in ("svg", "pdf") else {"Software": None}
        with atomic_write(path) as fh:
            fig.savefig(fh, format=fmt, metadata=metadata)


def model_family(model: str) -> str:
    """The model a grid name stands for, without its variant suffix: "softmax-l2" -> "softmax"."""
    return re.sub(r"[-_]l2$", "", model)


def read_table(table: Table) -> pd.DataFrame:
    """A DataFrame, read from Parquet or CSV by suffix, with ``model`` and ``family`` columns.

    Tables from before the convex controls have neither: every row is then the MLP.
    """
    if isinstance(table, pd.DataFrame):
        frame = table.copy()
    else:
        path = Path(table)
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    if "model" not in frame.columns:
        frame["model"] = "mlp"
    if "family" not in frame.columns:
        frame["family"] = frame["model"].map(model_family)
    frame["sizes"] = frame["sizes"].astype(str)
    return frame


def _has_hidden(sizes: pd.Series) -> pd.Series:
    return sizes.str.count("-") >= 2


def reference_model(frame: pd.DataFrame) -> str:
    """The MLP that figures about hidden units draw: "mlp", else the first MLP variant."""
    mlps = frame[(frame["family"] == "mlp") & _has_hidden(frame["sizes"])]
    if mlps.empty:
        raise ValueError("the table holds no MLP networks with a hidden layer")
    names = list(dict.fromkeys(mlps["model"]))
    return "mlp" if "mlp" in names else names[0]


def mlp_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the reference MLP (:func:`reference_model`), which has hidden units."""
    return frame[(frame["model"] == reference_model(frame)) & _has_hidden(frame["sizes"])]


def _epochs(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def _eta(value: float) -> str:
    return f"{value:g}"


def _eta_colours(etas: Sequence[float]) -> dict[float, str]:
    return {eta: OKABE_ITO[k % len(OKABE_ITO)] for k, eta in enumerate(sorted(etas))}


def _epoch_axis(ax: Any, epochs: Sequence[int]) -> None:
    """Checkpoints 0, 1, 5, 30 evenly readable: linear below 1 epoch, log above."""
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.5)
    ticks = sorted({int(e) for e in epochs})
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(ticks[0] - 0.15 if ticks[0] == 0 else ticks[0] * 0.9, ticks[-1] * 1.12)
    ax.set_xlabel("epochs of training (log scale above 1)")


def _headline_kind(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairs of the kind the answer speaks of (both seeds differ, if any): a line or
    band never mixes pair kinds."""
    return pairs[pairs["pair_kind"] == headline_kind(set(pairs["pair_kind"]))]


def _mean_band(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Mean, minimum and maximum of ``value`` per ``keys``: the line and its band."""
    return (
        frame.groupby(keys, sort=True)[value]
        .agg(["mean", "min", "max", "count"])
        .reset_index()
        .sort_values(keys)
    )


def _plot_mean_band(ax: Any, stats: pd.DataFrame, x: str, colour: str, **line: Any) -> None:
    ax.fill_between(stats[x], stats["min"], stats["max"], color=colour, alpha=0.18, lw=0)
    ax.plot(stats[x], stats["mean"], color=colour, marker="o", ms=3.5, **line)


# --------------------------------------------------------------------------- A and B


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
        init, order = self.a if which == "A" else self.b
        return f"{which}: init seed {init}, order seed {order}"

    def setting(self) -> str:
        return f"{self.sizes}, eta {_eta(self.eta)}, {_epochs(self.epochs)}"


def choose_pair(pairs: Table, networks: Table) -> Pair:
    """The networks A and B of figures 1, 2 and 5, chosen by rule so that reruns agree.

    The group is the one ``answer.md`` speaks of (MLP, the largest epochs, the eta with
    the best mean test accuracy). In it, among the pairs of the kind the answer speaks
    of (init and order seeds both differ, if the grid has such pairs; those with a
    barrier curve, if any), the first by (A init, A order, B init, B order): on the
    default grid, init seeds 0 and 1 with order seeds 0 and 1.
    """
    nets = mlp_rows(read_table(networks))
    table = mlp_rows(read_table(pairs))
    model, sizes, eta, epochs = headline_cell(nets)
    cell = table[
        (table["sizes"] == sizes) & np.isclose(table["eta"], eta) & (table["epochs"] == epochs)
    ]
    if cell.empty:
        raise ValueError(f"no pairs at {sizes}, eta {eta}, {epochs} epochs")
    candidates = _headline_kind(cell)
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


def hive_keys(path: str | os.PathLike) -> dict[str, str]:
    """The ``key=value`` folders of a dump's path, e.g. ``{"eta": "3.0", ...}``."""
    return dict(part.split("=", 1) for part in Path(path).parts if "=" in part)


def _dump_paths(weights: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    if isinstance(weights, str | os.PathLike) and Path(weights).is_dir():
        return sorted(Path(weights).rglob("weights.parquet"))
    return _paths(weights)


def find_dump(
    weights: str | os.PathLike | Sequence[str | os.PathLike],
    pair: Pair,
    which: str,
) -> Path:
    """The dump of network A or B of ``pair``, among dump paths (or under a folder)."""
    init, order = pair.a if which == "A" else pair.b
    for path in _dump_paths(weights):
        keys = hive_keys(path)
        try:
            if (
                keys.get("model", "mlp") == pair.model
                and keys["sizes"] == pair.sizes
                and float(keys["eta"]) == pair.eta
                and int(keys["init_seed"]) == init
                and int(keys["order_seed"]) == order
                and int(keys["epochs"]) == pair.epochs
            ):
                return path
        except (KeyError, ValueError):
            continue
    raise FileNotFoundError(f"no dump of {pair.describe(which)} at {pair.setting()}")


def _pair_row(pairs: pd.DataFrame, pair: Pair) -> pd.Series:
    """The pairs table's row of ``pair``."""
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


def _read_pair(weights: Any, pair: Pair) -> tuple[Dump, Dump]:
    return read_dump(find_dump(weights, pair, "A")), read_dump(find_dump(weights, pair, "B"))


def _float64(params: Params) -> Params:
    return params.astype(np.float64)


# --------------------------------------------------------------------------- 1. question


def question(pairs: Table, networks: Table, weights: Any, out: Out, rows: int = 10) -> Figure:
    """The question as a picture: the first rows of W1 of A and of B, raw and aligned.

    Left, B as trained: its weights look unrelated to A's. Right, B's hidden units
    renumbered and sign-flipped to match A's (signed weight matching): what the
    symmetries explain, and what they leave.
    """
    pair = choose_pair(pairs, networks)
    dump_a, dump_b = _read_pair(weights, pair)
    pa, pb = _float64(dump_a.params), _float64(dump_b.params)
    pb_aligned, transforms = align(pa, pb, "signed")
    t = transforms[0]
    n = min(rows, pa.weights[0].shape[0])
    w_a = pa.weights[0][:n]
    shown = np.concatenate([w_a.ravel(), pb.weights[0][:n].ravel()])
    vmax = float(np.percentile(np.abs(shown), 99.5))
    norm = Normalize(-vmax, vmax)

    with _style():
        fig = _figure(12.5, 7.2)
        axes = fig.subplots(3, 2, sharex=True)
        columns = (
            ("raw: B as trained", pb, np.arange(n), np.ones(n)),
            ("aligned: B's hidden units renumbered and sign-flipped to match A", pb_aligned,
             t.perm[:n], t.sign[:n]),
        )  # fmt: skip
        for col, (title, other, units, signs) in enumerate(columns):
            w_b = other.weights[0][:n]
            rel = relative_distance(pa.weights[0].ravel(), other.weights[0].ravel())
            panels = (
                (pair.describe("A"), w_a, [str(j) for j in range(n)], "A's hidden unit"),
                (
                    pair.describe("B") + ("" if col == 0 else ", aligned"),
                    w_b,
                    [f"{u}{'' if s > 0 else ' (-)'}" for u, s in zip(units, signs)],
                    "B's hidden unit" + ("" if col == 0 else ", (-) = sign-flipped"),
                ),
                (
                    f"A - B: relative distance of all of W1 = {rel:.3f}",
                    w_a - w_b,
                    [str(j) for j in range(n)],
                    "row",
                ),
            )
            for row, (label, matrix, ticks, ylabel) in enumerate(panels):
                ax = axes[row, col]
                image = ax.imshow(matrix, cmap=DIVERGING, norm=norm, aspect="auto")
                ax.set_title(label, loc="left")
                ax.set_yticks(range(n))
                ax.set_yticklabels(ticks, fontsize=7)
                ax.set_ylabel(ylabel)
                if row == 0:
                    ax.annotate(
                        title,
                        xy=(0.5, 1.28),
                        xycoords="axes fraction",
                        ha="center",
                        fontsize=10.5,
                        fontweight="bold",
                    )
            axes[2, col].set_xlabel("input pixel (0-783: the 28 x 28 image row by row)")
            axes[2, col].set_xticks(range(0, 785, 112))
        fig.colorbar(
            image, ax=axes, label="weight (dimensionless; 0 = white)", extend="both", shrink=0.6
        )
        fig.suptitle(
            f"The question: the first {n} rows of the first-layer weights W1 of two networks "
            f"trained alike ({pair.setting()})"
        )
        save(fig, out)
    return fig


# --------------------------------------------------------------------------- 2. receptive fields


def receptive_fields(
    pairs: Table,
    networks: Table,
    weights: Any,
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
    pair = choose_pair(pairs, networks)
    dump_a, dump_b = _read_pair(weights, pair)
    pa, pb = _float64(dump_a.params), _float64(dump_b.params)
    pb_aligned, transforms = align(pa, pb, "signed")
    t = transforms[0]
    n_train = dump_a.config.n_train
    data = load_mnist(mnist_dir, n_train=n_train)
    dead = dead_pixels(data, n_train)
    live = ~dead
    w_a, w_b = pa.weights[0], pb_aligned.weights[0]
    r_w = np.diag(cross_correlation(w_a[:, live].T, w_b[:, live].T))
    x_val = data.validation.images("float64")
    r_out = np.diag(
        cross_correlation(
            hidden_activations(pa, x_val)[0], hidden_activations(pb_aligned, x_val)[0]
        )
    )
    order = np.argsort(-r_out, kind="stable")
    n_hidden, n_in = w_a.shape
    side = math.isqrt(n_in)
    if side * side != n_in:
        raise ValueError(f"receptive fields need square images, got {n_in} inputs")
    vmax = float(np.percentile(np.abs(np.concatenate([w_a[:, live], w_b[:, live]])), 99))
    cmap = matplotlib.colormaps[DIVERGING].with_extremes(bad=MASKED)
    ncols = columns or max(1, min(n_hidden, round(math.sqrt(n_hidden * 1.3))))
    nrows = math.ceil(n_hidden / ncols)

    def image(w: np.ndarray) -> np.ndarray:
        return np.where(dead, np.nan, w).reshape(side, side)

    with _style():
        fig = _figure(max(12.0, 1.95 * ncols + 1.1), 1.3 * nrows + 1.3)
        grid_fig, bar_fig = fig.subfigures(1, 2, width_ratios=[max(10.9, 1.95 * ncols), 1.1])
        cells = grid_fig.subfigures(nrows, ncols, wspace=0.02, hspace=0.02)
        cells = np.atleast_1d(cells).reshape(nrows, ncols)
        norm = Normalize(-vmax, vmax)
        for k in range(nrows * ncols):
            cell = cells[k // ncols, k % ncols]
            if k >= n_hidden:
                continue
            j = order[k]
            flipped = t.sign[j] < 0
            cell.suptitle(
                f"A {j} | B {t.perm[j]}{' flipped' if flipped else ''}\n"
                f"r_out {r_out[j]:.2f}   r_w {r_w[j]:.2f}",
                fontsize=7,
            )
            for ax, w in zip(cell.subplots(1, 2), (w_a[j], w_b[j])):
                ax.imshow(image(w), cmap=cmap, norm=norm)
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_visible(True)
                    spine.set_linewidth(0.4)
        cax = bar_fig.add_axes((0.12, 0.1, 0.22, 0.75))
        bar = bar_fig.colorbar(ScalarMappable(norm, cmap), cax=cax, extend="both")
        bar.set_label("weight (dimensionless)")
        fig.suptitle(
            f"Receptive fields: each of A's {n_hidden} hidden units (left) beside its match in B "
            f"(right), best match first\n{pair.describe('A')}; {pair.describe('B')}; "
            f"{pair.setting()}\nB's units keep their numbers; 'flipped' = sign-flipped; grey = "
            "pixel 0 in every training image (never trained)\nr_out: correlation of the two "
            "units' outputs on the validation images; r_w: of their weights on trained pixels",
            fontsize=10,
        )
        save(fig, out)
    return fig


# --------------------------------------------------------------------------- 3. distance matrices


def _square(cell: pd.DataFrame, column: str) -> tuple[np.ndarray, list[str]]:
    a = list(zip(cell["a_init_seed"], cell["a_order_seed"]))
    b = list(zip(cell["b_init_seed"], cell["b_order_seed"]))
    nets = sorted(set(a) | set(b))
    index = {net: k for k, net in enumerate(nets)}
    matrix = np.zeros((len(nets), len(nets)))
    for x, y, value in zip(a, b, cell[column]):
        matrix[index[x], index[y]] = matrix[index[y], index[x]] = value
    return matrix, [f"{i}/{o}" for i, o in nets]


def distance_matrices(pairs: Table, out: Out) -> Figure:
    """Every pair's relative distance at init, trained, and trained after alignment.

    One row per learning rate, at the largest epochs. The block structure shows which
    seed matters: pairs that share the init stay close; all others are as far apart as
    two random networks (sqrt 2), and alignment brings them only part of the way.
    """
    sns = _seaborn()
    table = mlp_rows(read_table(pairs))
    epochs = int(table["epochs"].max())
    cells = table[table["epochs"] == epochs]
    groups = sorted(cells.groupby(["sizes", "eta"]).groups)
    columns = (
        ("null_relative_all", "at initialisation"),
        ("relative_all", f"after {_epochs(epochs)}, raw"),
        ("relative_signed", f"after {_epochs(epochs)}, aligned"),
    )
    vmax = max(SQRT2 * 1.04, float(cells[[c for c, _ in columns]].max().max()))
    norm = Normalize(0.0, vmax)
    n_nets = len(set(zip(cells["a_init_seed"], cells["a_order_seed"]))) + 1
    annotate = n_nets <= 12
    panel = max(2.9, 0.3 * n_nets)

    with _style():
        fig = _figure(3 * panel + 1.2, panel * len(groups) + 0.9)
        axes = np.atleast_2d(fig.subplots(len(groups), 3, squeeze=False))
        for row, (sizes, eta) in enumerate(groups):
            cell = cells[(cells["sizes"] == sizes) & (cells["eta"] == eta)]
            for col, (column, title) in enumerate(columns):
                matrix, labels = _square(cell, column)
                ax = axes[row, col]
                sns.heatmap(
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
                if row == 0:
                    ax.set_title(title, fontsize=10.5, fontweight="bold")
                ax.set_xlabel("network (init seed / order seed)")
                ax.set_ylabel(
                    f"{sizes}, eta {_eta(eta)}\nnetwork (init seed / order seed)"
                    if col == 0
                    else ""
                )
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
        fig.suptitle(
            "Distance between every two networks of a group: at initialisation, trained, and "
            "trained after factoring out\nthe symmetries (hidden units renumbered and "
            "sign-flipped to match); 0/1 = init seed 0, order seed 1"
        )
        save(fig, out)
    return fig


# --------------------------------------------------------------------------- 4. over training


def over_training(pairs: Table, networks: Table, out: Out) -> Figure:
    """Distances, distance from init and accuracy as training goes on, one line per eta.

    Accuracy saturates within a few epochs while networks whose seeds both differ stay
    as far apart as random ones; alignment shrinks that gap a little more each epoch,
    and each network moves away from its own init only slowly.
    """
    table = mlp_rows(read_table(pairs))
    nets = mlp_rows(read_table(networks))
    kind = table["pair_kind"]
    table = table.assign(
        share=np.where(
            kind == "same_init", "same", np.where(kind == "both_differ", "different", "")
        )
    )
    nets = nets.assign(test_percent=100 * nets["test_accuracy"])
    etas = sorted(nets["eta"].unique())
    colours = _eta_colours(etas)
    sizes_all = sorted(nets["sizes"].unique())
    epochs = sorted(nets["epochs"].unique())
    panels = (
        ("relative_all", "between networks, raw", "relative distance", table, True),
        ("relative_signed", "between networks, aligned", "relative distance", table, True),
        ("relative_from_init", "each network from its own init",
         "relative distance ||W - W0|| / ||W0||", nets, False),
        ("test_percent", "test accuracy", "test accuracy (%)", nets, False),
    )  # fmt: skip
    with _style():
        fig = _figure(11, 7.0 * len(sizes_all) + 0.6)
        axes = fig.subplots(2 * len(sizes_all), 2, squeeze=False)
        for row, sizes in enumerate(sizes_all):
            for col, (column, title, label, frame, by_pair) in enumerate(panels):
                ax = axes[2 * row + col // 2, col % 2]
                sub = frame[frame["sizes"] == sizes]
                for eta in etas:
                    at_eta = sub[np.isclose(sub["eta"], eta)]
                    if by_pair:
                        for share, dash in (("different", "-"), ("same", "--")):
                            part = at_eta[at_eta["share"] == share]
                            if not part.empty:
                                stats = _mean_band(part, ["epochs"], column)
                                _plot_mean_band(ax, stats, "epochs", colours[eta], ls=dash)
                    else:
                        stats = _mean_band(at_eta, ["epochs"], column)
                        _plot_mean_band(ax, stats, "epochs", colours[eta])
                if by_pair:
                    ax.axhline(SQRT2, color="0.4", lw=0.8, ls=":")
                    ax.set_ylim(bottom=0)
                _epoch_axis(ax, epochs)
                ax.set_ylabel(label)
                ax.set_title(title if len(sizes_all) == 1 else f"{sizes}: {title}")
        handles = [
            Line2D([], [], color=colours[e], marker="o", ms=3.5, label=f"eta {_eta(e)}")
            for e in etas
        ] + [
            Line2D([], [], color="0.3", ls="-", label="pairs whose init and\norder both differ"),
            Line2D([], [], color="0.3", ls="--", label="pairs sharing the init"),
            Line2D([], [], color="0.4", ls=":", label=RANDOM_PAIR),
            Patch(color="0.3", alpha=0.18, label="band: min to max over\npairs or networks"),
        ]
        fig.legend(handles=handles, loc="outside right center", frameon=False)
        fig.suptitle(
            f"Over training ({', '.join(sizes_all)}): how far apart the networks are, how far "
            "each moved from its init,\nand how well it classifies. Relative distance: "
            "||A - B|| / sqrt(||A|| ||B||), all parameters; line = mean"
        )
        save(fig, out)
    return fig


# --------------------------------------------------------------------------- 5. barriers


def barrier_curves(curves: Table, pairs: Table, networks: Table, out: Out) -> Figure:
    """Training cost and test error on the straight line from A to B, raw vs aligned.

    Raw, the midpoint of two good networks is a bad network: a barrier. After
    aligning B's hidden units to A's (the alignment with the lowest barrier), the path
    stays far lower; ``answer.md`` says by a stated rule whether that is one basin.
    Faint lines: every other pair of the same kind in the group.
    """
    pair = choose_pair(pairs, networks)
    table = read_table(curves)
    table = table[
        (table["model"] == pair.model)
        & (table["sizes"] == pair.sizes)
        & np.isclose(table["eta"], pair.eta)
        & (table["epochs"] == pair.epochs)
    ]
    table = _headline_kind(table)
    is_ab = (
        (table["a_init_seed"] == pair.a[0])
        & (table["a_order_seed"] == pair.a[1])
        & (table["b_init_seed"] == pair.b[0])
        & (table["b_order_seed"] == pair.b[1])
    )
    table = table.assign(test_percent=100 * table["test_error"])
    n_other = len(table[~is_ab][SEED_COLUMNS].drop_duplicates())
    ab_row = _pair_row(read_table(pairs), pair)
    panels = (
        ("train_cost", "training cost (data loss, mean per image)", "train_cost", "{:.3f}"),
        ("test_percent", "test error (%)", "test_error", "{:.1f} points"),
    )
    with _style():
        fig = _figure(11, 4.2)
        axes = fig.subplots(1, 2)
        for ax, (column, label, name, fmt) in zip(axes, panels):
            for alignment, colour in ALIGNMENT_COLOURS.items():
                part = table[table["alignment"] == alignment]
                for _, curve in part[~is_ab[part.index]].groupby(SEED_COLUMNS):
                    ax.plot(curve["alpha"], curve[column], color=colour, lw=0.6, alpha=0.25)
                ab = part[is_ab[part.index]].sort_values("alpha")
                ax.plot(ab["alpha"], ab[column], color=colour, lw=2.4, marker="o", ms=3)
            ax.set_xlim(0, 1)
            ax.set_ylim(bottom=0)
            ax.set_xlabel("alpha: position on the path (1 - alpha) A + alpha B")
            ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
            ax.set_xticklabels(["0\nA", "0.25", "0.5", "0.75", "1\nB"])
            ax.set_ylabel(label)
            raw, aligned = (ab_row.get(f"barrier_{name}_{a}", np.nan) for a in ("raw", "aligned"))
            if name == "test_error":  # a difference of error rates: percentage points
                raw, aligned = 100 * raw, 100 * aligned
            ax.set_title(
                f"{label.split(' (')[0]}: A-B barrier {fmt.format(raw)} raw, "
                f"{fmt.format(aligned)} aligned"
            )
        handles = [
            Line2D([], [], color=ALIGNMENT_COLOURS["raw"], lw=2.4, label="raw: B as trained"),
            Line2D([], [], color=ALIGNMENT_COLOURS["aligned"], lw=2.4,
                   label="aligned: B's hidden units\nmatched to A's"),
            Line2D([], [], color="0.3", lw=2.4, marker="o", ms=3, label="A and B"),
            Line2D([], [], color="0.3", lw=0.6, alpha=0.5,
                   label=f"the group's {n_other} other\npairs of this kind"),
        ]  # fmt: skip
        fig.legend(handles=handles, loc="outside right center", frameon=False)
        fig.suptitle(
            f"Loss barrier between A and B ({pair.describe('A')}; {pair.describe('B')}; "
            f"{pair.setting()})"
        )
        save(fig, out)
    return fig


# --------------------------------------------------------------------------- 6. similarity


def similarity_vs_distance(pairs: Table, out: Out) -> Figure:
    """What the networks compute against how far apart their aligned weights are.

    One point per pair at the largest epochs. Pairs that differ in init are far apart
    in weights yet nearly as similar in representation (CKA) and prediction as pairs
    that share it: weight distance says little about function.
    """
    sns = _seaborn()
    table = mlp_rows(read_table(pairs))
    epochs = int(table["epochs"].max())
    table = table[table["epochs"] == epochs]
    table = table.assign(
        seeds=table["pair_kind"].map(lambda k: KIND_WORDS.get(k, k)),
        eta_label=table["eta"].map(lambda e: f"eta {_eta(e)}"),
        agreement_percent=100 * table["agreement"],
    ).rename(columns={"seeds": "the pair's seeds", "eta_label": "learning rate"})
    kinds = [k for k in KIND_ORDER if k in set(table["pair_kind"])]
    palette = {KIND_WORDS.get(k, k): KIND_COLOURS[k] for k in kinds}
    hue_order = [KIND_WORDS.get(k, k) for k in kinds]
    style_order = [f"eta {_eta(e)}" for e in sorted(table["eta"].unique())]
    panels = (
        (
            "cka_linear",
            "representations",
            "linear CKA of hidden activations\n(validation images; 1 = same up to rotation and scale)",
        ),
        ("agreement_percent", "predictions", "prediction agreement on the test images (%)"),
    )
    with _style():
        fig = _figure(11.5, 4.4)
        axes = fig.subplots(1, 2)
        for k, (ax, (column, title, label)) in enumerate(zip(axes, panels)):
            sns.scatterplot(
                data=table,
                x="relative_signed",
                y=column,
                hue="the pair's seeds",
                hue_order=hue_order,
                palette=palette,
                style="learning rate",
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
            f"{_epochs(epochs)}, against the distance of their weights after alignment"
        )
        save(fig, out)
    return fig


# --------------------------------------------------------------------------- 7. convex control


def _has_l2(model: str) -> bool:
    return model_family(model) != model


def _model_order(frame: pd.DataFrame) -> list[str]:
    """Models by family (MLP first), each family's plain variant before its L2 variant."""
    family = frame.groupby("model")["family"].first()
    families = list(dict.fromkeys(["mlp", *sorted(family)]))
    return sorted(family.index, key=lambda m: (families.index(family[m]), _has_l2(m), m))


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
        [_headline_kind(group) for _, group in table.groupby("model", sort=True)],
        ignore_index=True,
    )
    table = table[table["relative_all"] > 0]
    models = _model_order(table)
    families = list(dict.fromkeys(table.set_index("model").loc[models, "family"]))
    colours = {f: OKABE_ITO[k % len(OKABE_ITO)] for k, f in enumerate(families)}
    markers = ("o", "s", "^", "D", "v")
    several_sizes = table.groupby("model")["sizes"].nunique().max() > 1
    epochs = sorted(table["epochs"].unique())
    with _style():
        fig = _figure(10.5, 5.2)
        ax = fig.subplots()
        for model in models:
            mine = table[table["model"] == model]
            family = str(mine["family"].iloc[0])
            for k, ((sizes, eta), part) in enumerate(mine.groupby(["sizes", "eta"])):
                stats = _mean_band(part, ["epochs"], "relative_all")
                label = f"{model}{f' {sizes}' if several_sizes else ''}, eta {_eta(eta)}"
                ax.fill_between(stats["epochs"], stats["min"], stats["max"],
                                color=colours[family], alpha=0.12, lw=0)  # fmt: skip
                ax.plot(stats["epochs"], stats["mean"], color=colours[family],
                        ls="--" if _has_l2(model) else "-", marker=markers[k % len(markers)],
                        ms=4, label=label)  # fmt: skip
        ax.axhline(SQRT2, color="0.4", lw=0.8, ls=":", label=RANDOM_PAIR)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
        ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))
        _epoch_axis(ax, epochs)
        ax.set_ylabel(
            "relative distance between seeds (log scale)\n"
            "||A - B|| / sqrt(||A|| ||B||), all parameters"
        )
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


# --------------------------------------------------------------------------- 8. accuracy grid


def accuracy_grid(networks: Table, out: Out) -> Figure:
    """Mean test accuracy for every model, learning rate and checkpoint.

    Context for every other figure: the networks compared are all good classifiers
    (the last columns), however far apart their weights are.
    """
    sns = _seaborn()
    nets = read_table(networks)
    nets = nets.assign(percent=100 * nets["test_accuracy"])
    models = _model_order(nets)
    several_sizes = nets.groupby("model")["sizes"].nunique().max() > 1
    rows, labels = [], []
    for model in models:
        mine = nets[nets["model"] == model]
        for (sizes, eta), part in mine.groupby(["sizes", "eta"]):
            rows.append(part.groupby("epochs")["percent"].agg(["mean", "std", "count"]))
            name = "" if len(models) == 1 else f"{model}{f' {sizes}' if several_sizes else ''}, "
            labels.append(f"{name}eta {_eta(eta)}")
    mean = pd.DataFrame([r["mean"] for r in rows], index=labels)
    spread = pd.DataFrame([r["std"] for r in rows], index=labels).fillna(0.0)
    count = int(max(r["count"].max() for r in rows))
    text = mean.map(lambda v: "" if pd.isna(v) else f"{v:.1f}") + spread.map(
        lambda v: f"\n\u00b1{v:.2f}"
    )
    norm = Normalize(float(nets["percent"].min()), float(nets["percent"].max()))
    with _style():
        fig = _figure(max(6.0, 1.15 * mean.shape[1] + 4.0), 0.6 * len(mean) + 1.8)
        ax = fig.subplots()
        sns.heatmap(
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


# --------------------------------------------------------------------------- report pages

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 1.5rem auto;
       padding: 0 1rem; line-height: 1.5; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.85rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }}
th {{ background: #f0f0f0; }}
td:first-child, th:first-child {{ text-align: left; }}
code {{ background: #f4f4f4; padding: 0 0.2rem; }}
</style></head><body>
{body}
</body></html>
"""


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![\w/])_(.+?)_(?![\w/])", r"<em>\1</em>", text)


def markdown_html(markdown: str) -> str:
    """The subset of Markdown that ``answer.md`` uses (headings, paragraphs, bold,
    italics, code, pipe tables) as HTML: no extra dependency for one generated file."""
    out: list[str] = []
    blocks = re.split(r"\n\s*\n", markdown.strip())
    for block in blocks:
        lines = block.strip().splitlines()
        if all(line.strip().startswith("|") for line in lines):
            rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
            rows = [r for r in rows if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
            body = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows[1:]
            )
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif m := re.match(r"(#{1,6})\s+(.*)", lines[0]):
            level = len(m[1])
            out.append(f"<h{level}>{_inline(m[2])}</h{level}>")
            if lines[1:]:
                out.append(f"<p>{_inline(' '.join(lines[1:]))}</p>")
        else:
            out.append(f"<p>{_inline(' '.join(line.strip() for line in lines))}</p>")
    return "\n".join(out)


def answer_page(answer: str | os.PathLike, out: str | os.PathLike) -> None:
    """``answer.md`` as a self-contained HTML page for the report."""
    text = Path(answer).read_text()
    title = text.splitlines()[0].lstrip("# ").strip() if text else "answer"
    atomic_write_text(out, _PAGE.format(title=html.escape(title), body=markdown_html(text)))


#: The statistics a reader needs first (summary.csv has them all), with their labels.
SUMMARY_STATISTICS = {
    "relative_all": ("relative distance, raw", "{:.3f}"),
    "relative_signed": ("aligned", "{:.3f}"),
    "symmetry_share": ("symmetry share", "{:.1%}"),
    "training_share": ("training's net share", "{:.1%}"),
    "dead_share": ("share of dead pixels", "{:.1%}"),
    "cka_linear": ("linear CKA", "{:.3f}"),
    "agreement": ("agreement", "{:.1%}"),
    "barrier_test_error_raw": ("test-error barrier, raw (points)", "{:.1f}"),
    "barrier_test_error_aligned": ("aligned (points)", "{:.1f}"),
}


def _with_interval(row: pd.Series, prefix: str, fmt: str, points: bool) -> str:
    scale = 100.0 if points else 1.0
    value, low, high = (row.get(prefix + s, np.nan) for s in ("", "_low", "_high"))
    if pd.isna(value):
        return ""
    text = fmt.format(scale * value)
    if not pd.isna(low):
        text += f" [{fmt.format(scale * low)}, {fmt.format(scale * high)}]"
    return text


def summary_page(summary: Table, out: str | os.PathLike) -> None:
    """The key statistics per group and pair kind, each with its interval and null."""
    frame = read_table(summary)
    keys = [k for k in ("model", "sizes", "eta", "epochs", "pair_kind") if k in frame]
    frame = frame[frame["statistic"].isin(SUMMARY_STATISTICS)]
    rows = []
    for key, group in frame.groupby(keys, sort=True):
        head = dict(zip(keys, key, strict=True))
        row = {**head, "pairs": int(group["n"].max())}
        row["pair_kind"] = KIND_WORDS.get(row["pair_kind"], row["pair_kind"])
        row["eta"] = _eta(row["eta"])
        for _, stat in group.iterrows():
            label, fmt = SUMMARY_STATISTICS[stat["statistic"]]
            points = "points" in label
            shown = _with_interval(stat, "value", fmt, points)
            null = _with_interval(stat, "null", fmt, points)
            row[label] = f"{shown} (untrained {null})" if null else shown
        rows.append(row)
    shown = pd.DataFrame(rows)
    order = [k for k in keys if k in shown] + ["pairs"]
    labels = [label for label, _ in SUMMARY_STATISTICS.values() if label in shown]
    shown = shown[order + labels] if len(shown) else shown
    body = (
        "<h1>Summary: each statistic per group and pair kind</h1>\n"
        "<p>Each cell is <em>value [95% interval]</em>, the interval a bootstrap over init and "
        "order seeds (never over pairs, which share networks), and in brackets the same "
        "statistic for the pairs' own untrained initialisations. Relative distance is "
        "||A - B|| / sqrt(||A|| ||B||) over all parameters (sqrt 2 = 1.414 for two independent "
        "random vectors); <em>aligned</em> after factoring out hidden-unit permutations and "
        "sign flips. Shares are ratios of sums over the kind's pairs. Barriers are the rise "
        "of test error above the straight line between the two networks, in percentage "
        "points. Every statistic, with its interval, null and independence baseline, is in "
        "<code>summary.csv</code>.</p>\n" + shown.to_html(index=False, border=0, escape=True)
    )
    atomic_write_text(out, _PAGE.format(title="twinnets summary", body=body))


# --------------------------------------------------------------------------- entry point


def figure_function(path: str) -> Callable[..., Figure]:
    """The figure function that ``path`` (``"package.module:function"``) names.

    Looked up by name at run time, so that a figure rule's code hash covers its own
    figure's code (the rule names the same path as a code entry) and not every figure's.
    """
    module_name, _, name = path.partition(":")
    if not module_name or not name:
        raise ValueError(f"figure {path!r}: expected 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is None or not (module_name + ".").startswith(error.name + "."):
            raise  # the module exists, something it imports does not
        raise ValueError(f"figure {path!r}: no module {module_name!r}") from error
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"figure {path!r}: module {module_name!r} has no function {name!r}")
    return function


def draw(path: str, inputs: Mapping[str, Any], out: Out, **options: Any) -> Figure:
    """Draw with the figure function at ``path`` from a rule's named inputs.

    ``mnist`` (the MNIST files) becomes the folder that holds them, a single ``weights``
    path a list of one.
    """
    kwargs = dict(inputs)
    if "mnist" in kwargs:
        files = kwargs.pop("mnist")
        first = files if isinstance(files, str | os.PathLike) else files[0]
        kwargs["mnist_dir"] = Path(first).parent
    if "weights" in kwargs and isinstance(kwargs["weights"], str | os.PathLike):
        kwargs["weights"] = [kwargs["weights"]]
    return figure_function(path)(**kwargs, out=out, **options)
