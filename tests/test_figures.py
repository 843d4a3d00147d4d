"""Every figure function on small inputs: synthetic tables of the default grid's shape and
a few tiny dumps; each figure is written as SVG and PNG and checked for what it shows."""

from __future__ import annotations

import inspect
import itertools
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from unittest import mock

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox
from PIL import Image

from twinnets.compare.alignment import Transform, apply_transforms
from twinnets.compare.groups import dead_pixels
from twinnets.data.mnist import file_checksums, load_mnist
from twinnets.dumps.storage import write_dump
from twinnets.pipeline import codehash
from twinnets.pipeline.figures import FIGURES, INPUTS
from twinnets.report import pages
from twinnets.report.figures.barriers import barriers
from twinnets.report.figures.convex import accuracy_grid, convex_control
from twinnets.report.figures.distances import distance_matrices, over_training
from twinnets.report.figures.drawing import draw, resolve
from twinnets.report.figures.pair import choose_pair, find_dump
from twinnets.report.figures.similarity import similarity_vs_distance
from twinnets.report.figures.tables import SEED_COLUMNS, mlp_rows, read_table
from twinnets.report.figures.weights import question, receptive_fields
from twinnets.train.network import EpochMetrics, TrainConfig, TrainedNetwork, init_params

ETAS = (0.5, 3.0)
EPOCHS = (0, 1, 5, 30)
SEEDS = list(itertools.product(range(3), range(3)))  # the default grid: crossed 3 x 3
SIZES = "784-5-10"  # five hidden units: small dumps, same code paths


# --------------------------------------------------------------------------- synthetic tables


def kind(a: tuple[int, int], b: tuple[int, int]) -> str:
    if a[0] == b[0]:
        return "same_init"
    return "same_order" if a[1] == b[1] else "both_differ"


def make_pairs(sizes: str = SIZES, model: str | None = None, family: str = "mlp") -> pd.DataFrame:
    """A pairs table shaped like the analysis's: every pair of every group."""
    rng = np.random.default_rng(0)
    rows = []
    for eta, epochs in itertools.product(ETAS, EPOCHS):
        for a, b in itertools.combinations(SEEDS, 2):
            k = kind(a, b)
            raw = 0.1 * epochs**0.5 * eta if k == "same_init" else 1.41
            rows.append(
                {
                    "sizes": sizes,
                    "eta": eta,
                    "epochs": epochs,
                    "a_init_seed": a[0],
                    "a_order_seed": a[1],
                    "b_init_seed": b[0],
                    "b_order_seed": b[1],
                    "pair_kind": k,
                    "relative_all": raw + 0.01 * rng.random(),
                    "relative_signed": raw * (0.85 if k != "same_init" else 1.0),
                    "null_relative_all": 0.0 if k == "same_init" else 1.414,
                    "cka_linear": 0.9 if k == "same_init" else 0.78 + 0.02 * rng.random(),
                    "agreement": 0.96 if k == "same_init" else 0.94 + 0.01 * rng.random(),
                    "barrier_computed": True,
                    "barrier_train_cost_raw": 0.3,
                    "barrier_train_cost_aligned": 0.05,
                    "barrier_test_error_raw": 0.4,
                    "barrier_test_error_aligned": 0.03,
                }
            )
    pairs = pd.DataFrame(rows)
    return pairs if model is None else pairs.assign(model=model, family=family)


def make_networks(sizes: str = SIZES, model: str | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = [
        {
            "sizes": sizes,
            "eta": eta,
            "epochs": epochs,
            "init_seed": i,
            "order_seed": o,
            "test_accuracy": 0.1 if epochs == 0 else 0.95 - 0.05 / epochs / eta,
            "relative_from_init": 0.02 * epochs**0.7 * eta + 0.001 * rng.random(),
        }
        for eta, epochs in itertools.product(ETAS, EPOCHS)
        for i, o in SEEDS
    ]
    networks = pd.DataFrame(rows)
    return networks if model is None else networks.assign(model=model, family="mlp")


def make_curves(pairs: pd.DataFrame) -> pd.DataFrame:
    alphas = np.linspace(0, 1, 25)
    bump = np.sin(np.pi * alphas)
    frames = []
    for _, row in pairs[pairs["epochs"] == max(EPOCHS)].iterrows():
        for alignment, height in (("raw", 0.4), ("aligned", 0.03)):
            frames.append(
                pd.DataFrame(
                    {
                        "alpha": alphas,
                        "train_cost": 0.02 + height * bump,
                        "test_error": 0.05 + height * bump,
                        "alignment": alignment,
                        **{c: row[c] for c in ["sizes", "eta", "epochs", "pair_kind",
                                               *SEED_COLUMNS]},
                    }
                )
            )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


#: Per model variant of the convex grid: its etas (its family and lmbda: :func:`variant`).
CONVEX_MODELS = {
    "mlp": (0.5, 3.0),
    "mlp-l2": (0.5,),
    "softmax": (0.5,),
    "softmax-l2": (0.5,),
    "linear": (0.01,),
    "linear-l2": (0.01,),
}


def variant(model: str) -> dict[str, object]:
    """The columns the analysis writes for a model: its family (the trainer's model) and lmbda."""
    return {"family": model.removesuffix("-l2"), "lmbda": 5.0 if model.endswith("-l2") else 0.0}


def make_convex_pairs() -> pd.DataFrame:
    """The pairs table the convex control will produce: several models, own etas and sizes."""
    rows = []
    for model, etas in CONVEX_MODELS.items():
        sizes = "784-30-10" if model.startswith("mlp") else "784-10"
        for eta, epochs in itertools.product(etas, EPOCHS):
            for a, b in itertools.combinations(SEEDS[:4], 2):
                k = kind(a, b)
                if model.startswith("mlp"):
                    value = 1.41 if k != "same_init" else 0.1 * epochs
                else:
                    value = 1.41 * np.exp(-(0.2 if model.endswith("l2") else 0.02) * epochs)
                rows.append(
                    {
                        "model": model,
                        **variant(model),
                        "sizes": sizes,
                        "eta": eta,
                        "epochs": epochs,
                        **dict(zip(SEED_COLUMNS, [*a, *b])),
                        "pair_kind": k,
                        "relative_all": value,
                    }
                )
    return pd.DataFrame(rows)


def make_convex_networks() -> pd.DataFrame:
    rows = []
    for model, etas in CONVEX_MODELS.items():
        sizes = "784-30-10" if model.startswith("mlp") else "784-10"
        for eta, epochs, (i, o) in itertools.product(etas, EPOCHS, SEEDS[:4]):
            rows.append(
                {"model": model, **variant(model), "sizes": sizes, "eta": eta, "epochs": epochs,
                 "init_seed": i, "order_seed": o, "test_accuracy": 0.1 if epochs == 0 else 0.9}
            )  # fmt: skip
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- tiny dumps

#: B is A with its hidden units renumbered and two of them sign-flipped: the same function.
B_FROM_A = Transform(np.array([3, 0, 4, 1, 2]), np.array([1.0, -1.0, 1.0, 1.0, -1.0]))


def dump_path(root: Path, init: int, order: int, model_level: bool = True) -> Path:
    hive = f"sizes={SIZES}/eta=3.0/init_seed={init}/order_seed={order}/epochs=30"
    return root / ("model=mlp/" if model_level else "") / hive / "weights.parquet"


def write_tiny_dump(path: Path, params, init: int, order: int) -> None:
    config = TrainConfig(
        sizes=(784, 5, 10), eta=3.0, epochs=30, init_seed=init, order_seed=order, n_train=1000
    )
    metrics = [EpochMetrics(30, 0.1, 0.9, 0.9, 0.1)]
    write_dump(path, TrainedNetwork(config, params, metrics), file_checksums())


@pytest.fixture(scope="module")
def dumps(tmp_path_factory) -> Path:
    """Network A (init 0, order 0) and B (init 1, order 1) = A's units renumbered and flipped.

    Every other network of the grid is a fresh random one, so the folder looks like a run.
    """
    root = tmp_path_factory.mktemp("weights")
    a = init_params(TrainConfig(sizes=(784, 5, 10), init_seed=0))
    for init, order in SEEDS:
        if (init, order) == (0, 0):
            params = a
        elif (init, order) == (1, 1):
            params = apply_transforms(a, [B_FROM_A])
        else:
            params = init_params(TrainConfig(sizes=(784, 5, 10), init_seed=10 + 3 * init + order))
        write_tiny_dump(dump_path(root, init, order), params, init, order)
    return root


# --------------------------------------------------------------------------- checks


def check_files(paths: list[Path]) -> None:
    for path in paths:
        assert path.stat().st_size > 0
        if path.suffix == ".svg":
            assert ET.parse(path).getroot().tag.endswith("svg")
        else:
            with Image.open(path) as image:
                image.verify()
                assert image.format == "PNG" and min(image.size) > 300


def overlapping_texts(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of drawn labels whose boxes overlap, and labels cut off by the figure's edge.

    Records every text as it is drawn (ticks outside the view are never drawn), except
    values written inside heatmap cells, and compares their boxes pairwise.
    """
    canvas = FigureCanvasAgg(fig)
    drawn: list[tuple[str, Bbox]] = []
    original = Text.draw

    def draw(self: Text, renderer) -> None:
        original(self, renderer)
        inside_cell = self.axes is not None and self in self.axes.texts
        if self.get_visible() and self.get_text().strip() and not inside_cell:
            drawn.append((self.get_text(), self.get_window_extent(renderer)))

    with mock.patch.object(Text, "draw", draw):
        canvas.draw()
    page = fig.bbox.padded(1)
    cut = [(text, "outside the figure") for text, box in drawn if not page.contains(box.x0, box.y0)
           or not page.contains(box.x1, box.y1)]  # fmt: skip
    return cut + [
        (s1, s2)
        for (s1, b1), (s2, b2) in itertools.combinations(drawn, 2)
        if min(b1.x1, b2.x1) - max(b1.x0, b2.x0) > 1 and min(b1.y1, b2.y1) - max(b1.y0, b2.y0) > 1
    ]


def outputs(tmp_path: Path, name: str) -> list[Path]:
    return [tmp_path / f"{name}.svg", tmp_path / f"{name}.png"]


def axis_labels(fig: Figure) -> list[str]:
    return [ax.get_xlabel() for ax in fig.axes] + [ax.get_ylabel() for ax in fig.axes]


# --------------------------------------------------------------------------- A and B


def test_a_and_b_are_chosen_by_rule():
    pairs, networks = make_pairs(), make_networks()
    pair = choose_pair(pairs, networks)
    # the best eta at the largest epochs; the answer's kind: init and order seeds both differ
    assert (pair.model, pair.sizes, pair.eta, pair.epochs) == ("mlp", SIZES, 3.0, 30)
    assert (pair.a, pair.b, pair.kind) == ((0, 0), (1, 1), "both_differ")
    # a pair without a barrier curve is passed over
    no_curve = (
        (pairs.a_init_seed == 0) & (pairs.a_order_seed == 0)
        & (pairs.b_init_seed == 1) & (pairs.b_order_seed == 1)
    )  # fmt: skip
    pairs.loc[no_curve, "barrier_computed"] = False
    chosen = choose_pair(pairs, networks)
    assert chosen.kind == "both_differ" and (chosen.a, chosen.b) != ((0, 0), (1, 1))


def test_tables_without_a_model_column_are_the_mlp():
    table = read_table(make_pairs())
    assert set(table.model) == {"mlp"} and set(table.family) == {"mlp"}
    assert set(mlp_rows(read_table(make_convex_pairs())).model) == {"mlp"}
    # a model's family is read from the table, never guessed from its name
    with pytest.raises(ValueError, match="'family'"):
        read_table(make_convex_pairs().drop(columns="family"))
    with pytest.raises(ValueError, match="no MLP"):
        mlp_rows(read_table(make_convex_pairs()).query("family != 'mlp'"))


def test_a_variant_is_drawn_by_its_family_not_its_name(tmp_path):
    # an MLP variant with any name is the MLP of the figures about hidden units...
    wide = make_pairs(model="mlp-wide")
    assert set(mlp_rows(read_table(wide)).model) == {"mlp-wide"}
    assert choose_pair(wide, make_networks(model="mlp-wide")).model == "mlp-wide"
    fig = distance_matrices(wide, tmp_path / "distances.svg")
    assert len([ax for ax in fig.axes if ax.collections and ax.get_xlabel()]) == len(ETAS) * 3
    # ...and in the convex control, coloured as an MLP; dashed when its lmbda says L2
    decay = make_pairs(model="mlp-decay").assign(lmbda=5.0)
    convex = pd.concat([make_convex_pairs(), wide.assign(lmbda=0.0), decay])
    fig = convex_control(convex, tmp_path / "convex.svg")
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert lines["mlp-wide, eta 3"].get_color() == lines["mlp, eta 3"].get_color()
    assert lines["mlp-wide, eta 3"].get_linestyle() == "-"
    assert lines["mlp-decay, eta 3"].get_linestyle() == "--"
    labels = [label for label in lines if label.startswith("mlp")]
    assert labels.index("mlp-wide, eta 3") < labels.index("mlp-decay, eta 3")  # plain first


def test_dumps_are_found_with_or_without_the_model_level(tmp_path, dumps):
    pair = choose_pair(make_pairs(), make_networks())
    assert find_dump(dumps, pair, "B") == dump_path(dumps, 1, 1)
    old = dump_path(tmp_path, 1, 1, model_level=False)
    old.parent.mkdir(parents=True)
    old.write_bytes(b"")
    assert find_dump([old], pair, "B") == old
    with pytest.raises(FileNotFoundError, match="init seed 1, order seed 1"):
        find_dump([dump_path(dumps, 0, 0)], pair, "B")


def test_figures_draw_the_parents_never_their_forked_children(tmp_path):
    pairs, networks = make_pairs(), make_networks()
    # a group of children with the parents' (model, sizes, eta, epochs): a mix would show
    children = pairs.assign(fork_epoch=5, a_fork_seed=0, b_fork_seed=1, pair_kind="siblings",
                            relative_all=0.01)  # fmt: skip
    mixed = pd.concat([pairs, children], ignore_index=True)
    table = read_table(mixed)
    assert len(table) == len(pairs) and "fork_epoch" not in table and "a_fork_seed" not in table
    assert len(read_table(mixed, forks=True)) == 2 * len(pairs)
    assert choose_pair(mixed, networks) == choose_pair(pairs, networks)
    # a child's dump holds its parent's seeds: never taken for the parent's
    pair = choose_pair(pairs, networks)
    child = dump_path(tmp_path, 1, 1).parent.parent / "fork_epoch=5/fork_seed=0/epochs=30"
    with pytest.raises(FileNotFoundError):
        find_dump([child / "weights.parquet"], pair, "B")


# --------------------------------------------------------------------------- the figures


def test_1_question_shows_raw_and_aligned_rows(tmp_path, dumps):
    out = outputs(tmp_path, "question")
    fig = question(make_pairs(), make_networks(), dumps, out, rows=4)
    check_files(out)
    assert len(fig.axes) == 6 + 1  # A, B, A - B, raw and aligned, and the colour bar
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert "A: init seed 0, order seed 0" in titles
    assert "B: init seed 1, order seed 1, aligned" in titles
    # B is A rearranged: raw it differs, aligned it is A exactly
    raw, aligned = (t for t in titles if t.startswith("A - B"))
    assert not raw.endswith("= 0.000") and aligned.endswith("= 0.000")
    b_aligned = next(ax for ax in fig.axes if ax.get_title(loc="left").endswith("aligned"))
    ticks = [t.get_text() for t in b_aligned.get_yticklabels()]
    inverse = np.argsort(B_FROM_A.perm)  # A's unit j is B's unit inverse[j]
    assert ticks == [
        f"{inverse[j]}{' (-)' if B_FROM_A.sign[inverse[j]] < 0 else ''}" for j in range(4)
    ]
    bar = fig.axes[-1]
    assert bar.get_ylim()[0] == pytest.approx(-bar.get_ylim()[1])  # centred at zero
    assert "input pixel" in " ".join(axis_labels(fig))
    assert overlapping_texts(fig) == []


def test_2_receptive_fields_pairs_units_and_masks_dead_pixels(tmp_path, dumps, mnist_workdir):
    out = outputs(tmp_path, "fields")
    fig = receptive_fields(make_pairs(), make_networks(), dumps, mnist_workdir, out)
    check_files(out)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2 * 5  # every hidden unit of A beside its match in B
    dead = dead_pixels(load_mnist(mnist_workdir, n_train=1000), 1000)
    for image in images:
        assert image.get_array().shape == (28, 28)
        assert np.array_equal(np.ma.getmaskarray(image.get_array()).ravel(), dead)
    a_side, b_side = images[0::2], images[1::2]
    for a, b in zip(a_side, b_side):  # B is A rearranged: matched units are identical
        assert np.ma.allclose(a.get_array(), b.get_array())
    labels = [sf._suptitle.get_text() for sf in fig.subfigs[0].subfigs if sf._suptitle]
    assert len(labels) == 5 and all("r_out 1.00" in label for label in labels)
    assert sum("flipped" in label for label in labels) == 2
    assert overlapping_texts(fig) == []


def test_3_distance_matrices(tmp_path):
    out = outputs(tmp_path, "distances")
    fig = distance_matrices(make_pairs(), out)
    check_files(out)
    heatmaps = [ax for ax in fig.axes if ax.collections and ax.get_xlabel()]
    assert len(heatmaps) == len(ETAS) * 3  # at init, raw, aligned per eta
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["at initialisation", "after 30 epochs, raw", "after 30 epochs, aligned"]
    first = heatmaps[0].collections[0].get_array().reshape(9, 9)
    assert np.allclose(np.diag(first), 0) and np.allclose(first, first.T)
    assert first[0, 1] == 0 and first[0, 3] == pytest.approx(1.414)  # same init, other init
    bar = fig.axes[-1]
    assert "\u221a2: random pair" in [t.get_text() for t in bar.get_yticklabels()]
    assert overlapping_texts(fig) == []


def test_4_over_training(tmp_path):
    out = outputs(tmp_path, "training")
    fig = over_training(make_pairs(), make_networks(), out)
    check_files(out)
    assert [ax.get_title() for ax in fig.axes] == [
        "between networks, raw",
        "between networks, aligned",
        "each network from its own init",
        "test accuracy",
    ]
    for ax in fig.axes:
        assert ax.get_xscale() == "symlog" and ax.get_xlabel().startswith("epochs")
        assert [t.get_text() for t in ax.get_xticklabels()] == [str(e) for e in EPOCHS]
    # one mean line per eta (and per init-sharing for the pair panels), plus the sqrt 2 line
    assert len(fig.axes[0].get_lines()) == 2 * len(ETAS) + 1
    assert len(fig.axes[3].get_lines()) == len(ETAS)
    assert fig.axes[3].get_ylabel() == "test accuracy (%)"
    accuracy = fig.axes[3].get_lines()[1].get_ydata()
    assert accuracy[-1] == pytest.approx(100 * (0.95 - 0.05 / 30 / 3.0))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert {"eta 0.5", "eta 3"} <= set(legend)
    assert overlapping_texts(fig) == []


def test_5_barriers(tmp_path):
    pairs = make_pairs()
    out = outputs(tmp_path, "barriers")
    fig = barriers(make_curves(pairs), pairs, make_networks(), out)
    check_files(out)
    assert len(fig.axes) == 2
    cost, error = fig.axes
    assert cost.get_title() == "training cost: A-B barrier 0.300 raw, 0.050 aligned"
    assert error.get_title() == "test error: A-B barrier 40.0 points raw, 3.0 points aligned"
    # the 18 pairs whose init and order both differ at eta 3, 30 epochs: raw and aligned
    assert len(error.get_lines()) == 2 * 18
    assert max(max(line.get_ydata()) for line in error.get_lines()) == pytest.approx(45.0)
    assert error.get_ylabel() == "test error (%)"
    assert overlapping_texts(fig) == []


def test_6_similarity_vs_distance(tmp_path):
    out = outputs(tmp_path, "similarity")
    fig = similarity_vs_distance(make_pairs(), out)
    check_files(out)
    assert len(fig.axes) == 2
    at_30 = 2 * 36  # pairs at the largest epochs, both etas
    for ax in fig.axes:
        assert sum(len(c.get_offsets()) for c in ax.collections) == at_30
        assert "after alignment" in ax.get_xlabel()
    assert "CKA" in fig.axes[0].get_ylabel() and "(%)" in fig.axes[1].get_ylabel()
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert {"same init, different order", "same order, different init", "both differ"} <= set(
        legend
    )
    assert overlapping_texts(fig) == []


def test_7_convex_control_draws_every_model(tmp_path):
    out = outputs(tmp_path, "convex")
    fig = convex_control(make_convex_pairs(), out)
    check_files(out)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    expected = [f"{m}, eta {e:g}" for m, etas in CONVEX_MODELS.items() for e in etas]
    assert set(expected) <= set(lines)
    assert lines["softmax-l2, eta 0.5"].get_linestyle() == "--"
    assert lines["softmax, eta 0.5"].get_linestyle() == "-"
    assert lines["softmax, eta 0.5"].get_color() == lines["softmax-l2, eta 0.5"].get_color()
    # with L2 the seeds converge: the line falls by orders of magnitude
    falling = lines["softmax-l2, eta 0.5"].get_ydata()
    assert falling[-1] < 1e-2 * falling[0]
    assert "no convex models" not in fig._suptitle.get_text()
    assert overlapping_texts(fig) == []


def test_7_convex_control_before_the_convex_models_exist(tmp_path):
    fig = convex_control(make_pairs(), tmp_path / "convex.svg")
    assert [line.get_label() for line in fig.axes[0].get_lines()][:2] == [
        "mlp, eta 0.5",
        "mlp, eta 3",
    ]
    assert "no convex models" in fig._suptitle.get_text()


def test_8_accuracy_grid(tmp_path):
    out = outputs(tmp_path, "accuracy")
    fig = accuracy_grid(make_networks(), out)
    check_files(out)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["eta 0.5", "eta 3"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(e) for e in EPOCHS]
    values = [t.get_text() for t in ax.texts]
    assert len(values) == len(ETAS) * len(EPOCHS)
    assert values[-1].startswith(f"{100 * (0.95 - 0.05 / 30 / 3.0):.1f}")
    assert overlapping_texts(fig) == []
    several = accuracy_grid(make_convex_networks(), tmp_path / "several.png")
    rows = [t.get_text() for t in several.axes[0].get_yticklabels()]
    assert rows[:3] == ["mlp, eta 0.5", "mlp, eta 3", "mlp-l2, eta 0.5"]
    assert len(rows) == 7 and "linear-l2, eta 0.01" in rows


def test_draw_runs_a_figure_from_a_rules_inputs(tmp_path):
    pairs, networks = tmp_path / "pairs.parquet", tmp_path / "networks.csv"
    make_pairs().to_parquet(pairs)
    make_networks().to_csv(networks, index=False)
    fig = draw(
        "twinnets.report.figures.distances:over_training",
        {"pairs": str(pairs), "networks": str(networks)},
        [tmp_path / "f.svg"],
    )
    assert len(fig.axes) == 4 and (tmp_path / "f.svg").exists()
    with pytest.raises(ValueError, match=r"\.svg, \.png"):
        accuracy_grid(make_networks(), tmp_path / "f.jpg")


@pytest.mark.parametrize(
    "path",
    [
        "twinnets.report.figures.distances:no_such_figure",
        "twinnets.report.figures.no_such_module:over_training",
        "twinnets.report.figures.distances.over_training",
        "twinnets.report.figures.distances:SQRT2",
    ],
)
def test_draw_names_a_figure_path_that_does_not_exist(path):
    with pytest.raises(ValueError, match=re.escape(repr(path))):
        draw(path, {}, "f.svg")


# --------------------------------------------------------------------------- the declarations


def test_every_declared_figure_has_its_function_caption_and_inputs():
    root = Path(__file__).resolve().parents[1]
    assert [f.number for f in FIGURES] == list(range(1, len(FIGURES) + 1))
    assert len({f.name for f in FIGURES}) == len(FIGURES)
    for figure in FIGURES:
        function = resolve(figure.function)
        assert function.__name__ == figure.rule.removeprefix("figure_")
        assert (root / "workflow" / "report" / figure.caption).is_file()
        arguments = [{"mnist": "mnist_dir"}.get(name, name) for name in figure.inputs]
        parameters = inspect.signature(function).parameters
        assert set(arguments) <= set(parameters) and set(figure.options) <= set(parameters)
        required = {n for n, p in parameters.items() if p.default is p.empty} - {"out"}
        assert required == set(arguments), figure.name
    assert set(INPUTS) == {name for f in FIGURES for name in f.inputs}


def test_the_plot_script_depends_on_no_figure():
    """scripts/plot.py resolves its figure by path: its code hash covers no figure module."""
    root = Path(__file__).resolve().parents[1]
    reached = {key.split(":")[0] for key in codehash.covered(root / "scripts" / "plot.py")}
    modules = {resolve(f.function).__module__ for f in FIGURES}
    assert "twinnets.report.figures.drawing" in reached and not modules & reached


# --------------------------------------------------------------------------- report pages


def test_answer_page_renders_the_markdown(tmp_path):
    answer = tmp_path / "answer.md"
    answer.write_text(
        "# Title\n\n_Generated_ from `results/tables/`.\n\n**Bold** text\nover two lines.\n\n"
        "## Section\n\n| a | b |\n| --- | --- |\n| 1 | x < y |\n"
    )
    pages.answer_page(answer, tmp_path / "answer.html")
    page = (tmp_path / "answer.html").read_text()
    assert "<title>Title</title>" in page and "<h1>Title</h1>" in page
    assert "<em>Generated</em> from <code>results/tables/</code>" in page
    assert "<p><strong>Bold</strong> text over two lines.</p>" in page
    assert "<th>a</th><th>b</th>" in page and "<td>x &lt; y</td>" in page
    assert "---" not in page


def test_summary_page_shows_the_key_columns(tmp_path):
    summary = pd.DataFrame(
        {
            "sizes": ["784-30-10"] * 2,
            "eta": [3.0] * 2,
            "epochs": [30] * 2,
            "pair_kind": ["same_init"] * 2,
            "statistic": ["relative_all", "agreement"],
            "n": [9, 9],
            "value": [0.5912, 0.952],
            "value_low": [0.58, 0.95],
            "value_high": [0.60, 0.954],
            "null": [0.0, 0.1],
            "null_low": [0.0, 0.09],
            "null_high": [0.0, 0.11],
        }
    )
    summary.to_csv(tmp_path / "summary.csv", index=False)
    pages.summary_page(tmp_path / "summary.csv", tmp_path / "summary.html")
    page = (tmp_path / "summary.html").read_text()
    assert "same init, different order" in page
    assert "<td>0.591 [0.580, 0.600] (untrained 0.000 [0.000, 0.000])</td>" in page
    assert "95.2% [95.0%, 95.4%] (untrained 10.0% [9.0%, 11.0%])" in page
    assert "relative distance, raw" in page
