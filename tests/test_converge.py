"""When do twins converge? The sweep's answer section and figures, from small synthetic
summary tables whose numbers are chosen to take each branch of the wording."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
import yaml

from twinnets.pipeline.figures import FIGURES, targets
from twinnets.report.converge import TITLE, answer_with_converge, converge_section
from twinnets.report.figures.converge import converge_fork, converge_init, converge_width

ROOT = Path(__file__).resolve().parents[1]
MODELS = {  # name: (activation, init, eta)
    "mlp": ("sigmoid", "nielsen", 3.0),
    "mlp-scaled": ("sigmoid", "scaled", 3.0),
    "mlp-relu": ("relu", "scaled", 0.1),
}
WIDTHS = (30, 100, 300)
EPOCHS = 10
ENDPOINT = 0.05  # the endpoints' test error: the rule's tolerance is 10% of it, 0.5 points


def row(model: str, width: int, kind: str, statistic: str, value: float, half: float = 0.001,
        null: float | None = None, fork: float = math.nan, interval: bool = True) -> dict:  # fmt: skip
    _, init, eta = MODELS[model]
    out = {"model": model, "family": "mlp", "sizes": f"784-{width}-10", "eta": eta,
           "epochs": EPOCHS, "init": init, "lmbda": 0.0, "fork_epoch": fork, "pair_kind": kind,
           "statistic": statistic, "value": value, "n": 3, "n_boot": 2000, "n_init_seeds": 3,
           "n_order_seeds": 3, "n_fork_seeds": 3 if not math.isnan(fork) else math.nan}  # fmt: skip
    low, high = (value - half, value + half) if interval else (math.nan, math.nan)
    out.update(value_low=low, value_high=high)
    if null is not None:
        out.update(null=null, null_low=null - half, null_high=null + half)
        diff = value - null
        low, high = (diff - half, diff + half) if interval else (math.nan, math.nan)
        out.update(diff=diff, diff_low=low, diff_high=high)
    return out


def group_rows(model: str, width: int, kind: str, barrier: float, half: float = 0.001,
               fork: float = math.nan, share: float = 0.5, interval: bool = True) -> list[dict]:  # fmt: skip
    """One kind of one group: distance, barriers, endpoints and training's share."""
    kw = {"fork": fork, "interval": interval}
    return [
        row(model, width, kind, "relative_signed", 1.0, null=1.3, **kw),
        row(model, width, kind, "relative_all", 1.2, null=1.4, **kw),
        row(model, width, kind, "barrier_test_error_aligned", barrier, half, null=0.0005, **kw),
        row(model, width, kind, "barrier_test_error_raw", barrier, half, null=0.0, **kw),
        row(model, width, kind, "endpoint_test_error_raw", ENDPOINT, null=0.9, **kw),
        row(model, width, kind, "training_share", share, 0.02, **kw),
    ]


def networks_table(models=MODELS, forks: bool = False) -> pd.DataFrame:
    rows = [{"model": m, "family": "mlp", "activation": a, "sizes": f"784-{w}-10",
             "fork_epoch": math.nan} for m, (a, _, _) in models.items() for w in WIDTHS]  # fmt: skip
    if forks:
        rows += [{**r, "fork_epoch": 1.0} for r in rows]
    return pd.DataFrame(rows)


def sweep_summary(barriers: dict[tuple[str, int], tuple[float, float]],
                  forks: dict[int, tuple[float, float]] | None = None,
                  interval: bool = True) -> pd.DataFrame:  # fmt: skip
    """Parents' groups per (model, width) with the aligned barrier (value, half-width of its
    interval); siblings of the relu model at 30 units per fork epoch."""
    rows = []
    for (model, width), (barrier, half) in barriers.items():
        share = 0.1 if MODELS[model][1] == "nielsen" else 0.9
        rows += group_rows(model, width, "both_differ", barrier, half, share=share,
                           interval=interval)  # fmt: skip
    for k, (barrier, half) in (forks or {}).items():
        rows += group_rows("mlp-relu", 30, "siblings", barrier, half, fork=float(k))
    return pd.DataFrame(rows)


ALL = {(m, w): (0.02, 0.002) for m in MODELS for w in WIDTHS}  # not one basin anywhere


def section(summary: pd.DataFrame, networks: pd.DataFrame | None = None) -> str:
    return "\n".join(
        converge_section(summary, networks if networks is not None else networks_table())
    )


# --------------------------------------------------------------------------- the wording


def test_a_barrier_that_falls_with_width_into_one_basin_is_said_so():
    barriers = {**ALL, ("mlp", 30): (0.03, 0.002), ("mlp", 100): (0.004, 0.003),
                ("mlp", 300): (0.001, 0.001)}  # fmt: skip
    text = section(sweep_summary(barriers))
    line = next(x for x in text.splitlines() if x.startswith("- **`mlp`: sigmoid, N(0, 1) init"))
    assert "from 3.0 [2.8, 3.2] points at 30 hidden units (untrained 0.1 [-0.1, 0.2])" in line
    assert "falls with width (the intervals at the two ends are apart)" in line
    # 100 units: 0.4 [0.1, 0.7] straddles the tolerance 0.5 points -> cannot tell
    assert "30 units: not one basin; 100 units: cannot tell; 300 units: one basin" in line


def test_overlapping_intervals_claim_no_trend_and_no_interval_no_verdict():
    barriers = {**ALL, ("mlp", 30): (0.02, 0.01), ("mlp", 300): (0.015, 0.01)}
    line = next(x for x in section(sweep_summary(barriers)).splitlines()
                if x.startswith("- **`mlp`: sigmoid, N(0, 1) init"))  # fmt: skip
    assert "is not shown to change with width (the intervals at the two ends overlap)" in line
    text = section(sweep_summary(ALL, interval=False))
    assert "cannot be compared across widths (no interval)" in text
    assert "units: one basin" not in text and "| one basin |" not in text
    assert "30 units: cannot tell; 100 units: cannot tell; 300 units: cannot tell" in text
    assert "[no interval]" in text


def test_every_row_is_one_pair_kind_with_its_null():
    summary = sweep_summary(ALL)
    same_order = [{**r, "pair_kind": "same_order"} for r in summary.to_dict("records")]
    text = section(pd.concat([summary, pd.DataFrame(same_order)], ignore_index=True))
    table = [
        x for x in text.splitlines() if x.startswith("| mlp | sigmoid | N(0, 1) | 3.00 | 30 |")
    ]
    assert [x.split(" | ")[5] for x in table] == ["both differ", "same order, different init"]
    assert "| 1.000 [0.999, 1.001] | 1.300 [1.299, 1.301] | below untrained |" in table[0]


def test_init_scale_contrast_follows_the_intervals():
    text = section(sweep_summary(ALL))
    line = next(x for x in text.splitlines() if x.startswith("- **sigmoid, 30 hidden units**"))
    # inherited share = 1 - training share: 90% [88%, 92%] (nielsen) vs 10% [8%, 12%]
    assert "90.0% [88.0%, 92.0%] with N(0, 1) weights" in line
    assert "10.0% [8.0%, 12.0%] with N(0, 1/n_in) weights" in line
    assert "more of the difference is inherited with the larger init" in line
    assert "- relu: this run trains one init scale only" in text


def test_siblings_one_basin_from_a_fork_epoch_on_and_cannot_tell_branches():
    forks = {0: (0.05, 0.005), 1: (0.004, 0.003), 2: (0.001, 0.0005), 5: (0.0005, 0.0003)}
    text = section(sweep_summary(ALL, forks), networks_table(forks=True))
    line = next(
        x for x in text.splitlines() if x.startswith("- **relu, N(0, 1/n_in) init, eta 0.10, 30")
    )
    assert "siblings forked at epoch 2 or later end in one basin; forked earlier, not shown" in line
    assert "forked at 0: not one basin; forked at 1: cannot tell; forked at 2: one basin" in line
    assert "| relu | N(0, 1/n_in) | 0.10 | 30 | 5 | 3 |" in text
    straddle = {0: (0.005, 0.004), 5: (0.005, 0.004)}
    text = section(sweep_summary(ALL, straddle), networks_table(forks=True))
    assert "the run cannot tell at any fork epoch" in text
    late = {0: (0.05, 0.005), 5: (0.03, 0.005)}
    text = section(sweep_summary(ALL, late), networks_table(forks=True))
    assert "no fork epoch of this run from which on siblings are shown to be one basin" in text


def test_no_section_without_a_sweep():
    one_width = {("mlp", 30): (0.02, 0.002), ("mlp-scaled", 30): (0.02, 0.002)}
    assert converge_section(sweep_summary(one_width), networks_table()) == []


def test_the_answer_gains_the_section_only_with_the_sweep():
    from test_answer import tables  # the default run's shape: one width, no forks

    summary, networks, pairs = tables(0.2, 0.07, 0.02)
    networks = networks.assign(activation="sigmoid")
    assert TITLE not in answer_with_converge(summary, networks, pairs)


# --------------------------------------------------------------------------- the figures


def test_width_figure_draws_each_activation_with_intervals_and_nulls(tmp_path):
    fig = converge_width(
        sweep_summary(ALL), networks_table(), [tmp_path / "w.svg", tmp_path / "w.png"]
    )
    assert (tmp_path / "w.svg").is_file() and (tmp_path / "w.png").is_file()
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["sigmoid hidden units", "relu hidden units"]
    top = fig.axes[0]  # sigmoid, aligned distance: two inits, each with its null
    labels = top.get_legend_handles_labels()[1]
    assert labels == ["N(0, 1), eta 3", "untrained, N(0, 1)", "N(0, 1/n_in), eta 3",
                      "untrained, N(0, 1/n_in)"]  # fmt: skip
    assert [t.get_text() for t in top.get_xticklabels()] == ["30", "100", "300"]


def test_fork_and_init_figures(tmp_path):
    forks = {0: (0.05, 0.005), 1: (0.004, 0.003), 5: (0.0005, 0.0003)}
    fig = converge_fork(sweep_summary(ALL, forks), networks_table(forks=True), tmp_path / "f.svg")
    relu = next(ax for ax in fig.axes if ax.get_title() == "relu hidden units")
    assert [t.get_text() for t in relu.get_xticklabels()] == ["0", "1", "5"]
    line = relu.lines[0]
    assert list(line.get_ydata()) == pytest.approx([5.0, 0.4, 0.05])  # points of test error
    fig = converge_init(sweep_summary(ALL), networks_table(), tmp_path / "i.svg")
    sigmoid = fig.axes[0]
    assert [t.get_text() for t in sigmoid.get_xticklabels()] == ["N(0, 1)", "N(0, 1/n_in)"]
    assert list(sigmoid.lines[0].get_ydata()) == pytest.approx([90.0, 10.0])


def test_figures_without_the_sweep_say_so(tmp_path):
    one_width = sweep_summary({("mlp", 30): (0.02, 0.002)})
    nets = networks_table({"mlp": MODELS["mlp"]})
    for draw in (converge_width, converge_fork):
        fig = draw(one_width, nets, tmp_path / "x.svg")
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert any(t.startswith("no such data in this run") for t in texts), draw.__name__


def test_sweep_figures_are_targets_only_where_the_config_has_the_sweep():
    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    sweep = yaml.safe_load((ROOT / "config" / "converge.yaml").read_text())
    eight = [p for f in FIGURES[:8] for p in f.paths]
    assert targets(default) == eight
    assert targets(sweep) == targets() == [p for f in FIGURES for p in f.paths]
    forks_only = {"grid": {**default["grid"], "fork_epochs": [1], "fork_seeds": [0]}}
    assert [p for p in targets(forks_only) if p not in eight] == [
        p for f in FIGURES if f.name == "converge-fork" for p in f.paths]  # fmt: skip


def test_the_init_contrast_is_never_another_activation():
    from twinnets.report.selection import init_contrast

    cell = {"family": "mlp", "sizes": "784-30-10", "eta": 3.0, "epochs": 10, "lmbda": 0.0}
    networks = pd.DataFrame(
        [{**cell, "model": "mlp", "init": "nielsen", "activation": "sigmoid"},
         {**cell, "model": "mlp-tanh", "init": "scaled", "activation": "tanh"}]
    )  # fmt: skip
    assert init_contrast(networks, "mlp", "784-30-10", 3.0, 10) is None
    scaled = {**cell, "model": "mlp-scaled", "init": "scaled", "activation": "sigmoid"}
    networks = pd.concat([networks, pd.DataFrame([scaled])], ignore_index=True)
    assert init_contrast(networks, "mlp", "784-30-10", 3.0, 10)["model"] == "mlp-scaled"


def test_no_verdict_where_the_endpoints_have_not_learned():
    summary = sweep_summary(ALL)
    at_chance = (summary.model == "mlp") & (summary.sizes == "784-300-10")
    ends = at_chance & (summary.statistic == "endpoint_test_error_raw")
    summary.loc[ends, ["value", "value_low", "value_high"]] = [0.9, 0.899, 0.901]
    summary.loc[ends, ["diff", "diff_low", "diff_high"]] = [0.0, -0.001, 0.001]
    low = at_chance & (summary.statistic == "barrier_test_error_aligned")
    summary.loc[low, ["value", "value_low", "value_high"]] = [0.001, 0.0, 0.002]
    text = section(summary)
    row = next(
        x for x in text.splitlines() if x.startswith("| mlp | sigmoid | N(0, 1) | 3.00 | 300 |")
    )
    assert "| no verdict (endpoints not better than untrained) |" in row
    line = next(x for x in text.splitlines() if x.startswith("- **`mlp`: sigmoid, N(0, 1) init"))
    assert "cannot be compared across widths (at 300 units the endpoints' test error" in line
    assert "300 units: one basin" not in line


def test_variants_that_share_a_setting_are_never_mixed(monkeypatch):
    """Two variants of one activation, init and eta (e.g. with and without L2): each width
    trend runs within one variant, and no init contrast picks one of them silently."""
    monkeypatch.setitem(MODELS, "mlp-l2", MODELS["mlp"])
    barriers = {**ALL, **{("mlp-l2", w): (0.001, 0.0005) for w in WIDTHS}}
    text = section(sweep_summary(barriers), networks_table(MODELS))
    lines = [x for x in text.splitlines() if x.startswith("- **`mlp")]
    mlp = next(x for x in lines if x.startswith("- **`mlp`: sigmoid, N(0, 1) init"))
    l2 = next(x for x in lines if x.startswith("- **`mlp-l2`: sigmoid, N(0, 1) init"))
    assert "from 2.0 [1.8, 2.2] points at 30" in mlp and "to 2.0 [1.8, 2.2] at 300" in mlp
    assert "from 0.1 [0.1, 0.1] points at 30" in l2 and "to 0.1 [0.1, 0.1] at 300" in l2
    assert mlp.count("30 units:") == 1 and l2.count("30 units:") == 1
    assert "- **sigmoid, 30 hidden units**" not in text  # two N(0, 1) variants: no contrast
