"""The answer's wording, rendered from synthetic tables that take each branch."""

from __future__ import annotations

import pandas as pd
import pytest

from twinnets.report.answer import BASIN_RELATIVE, Quote, answer_markdown, one_basin

CELL = {"model": "mlp", "family": "mlp", "sizes": "784-30-10", "eta": 3.0, "epochs": 30,
        "init": "nielsen", "lmbda": 0.0}  # fmt: skip
SCALED = {**CELL, "model": "mlp-scaled", "init": "scaled"}


def _row(cell: dict, kind: str, statistic: str, value: float, half: float = 0.01,
         null: float | None = None, baseline: float | None = None) -> dict:  # fmt: skip
    row = {**cell, "pair_kind": kind, "statistic": statistic, "value": value,
           "value_low": value - half, "value_high": value + half, "n": 18, "n_boot": 1600,
           "n_init_seeds": 3, "n_order_seeds": 3}  # fmt: skip
    if null is not None:
        row.update(null=null, null_low=null - half, null_high=null + half)
        diff = value - null  # the paired difference: narrower than either interval
        row.update(diff=diff, diff_low=diff - half, diff_high=diff + half)
    if baseline is not None:
        row.update(baseline=baseline, baseline_low=baseline - half, baseline_high=baseline + half)
        diff = value - baseline
        row.update(
            diff_baseline=diff, diff_baseline_low=diff - half, diff_baseline_high=diff + half
        )
    return row


def tables(
    symmetry: float, symmetry_null: float, barrier_aligned: float, scaled: bool = True,
    barrier_half: float = 0.01,
):  # fmt: skip
    """Summary, networks and pairs of a run with the headline cell (and a scaled-init twin)."""
    rows: list[dict] = []
    for cell, training_share in [(CELL, 0.11)] + ([(SCALED, 0.8)] if scaled else []):
        stats = {
            "relative_all": (1.405, 1.416), "cosine_all": (0.01, 0.0),
            "relative_signed": (1.22, 1.36), "relative_permutation": (1.3, 1.37),
            "relative_activation": (1.25, 1.39), "symmetry_share": (symmetry, symmetry_null),
            "flips_signed": (13.0, 15.0), "dead_share": (0.058, 0.058),
            "unseen_share": (0.40, 0.41), "preactivation_relative_signed": (0.92, 1.34),
            "preactivation_relative_raw": (1.3, 1.4), "cka_linear": (0.78, 0.3),
            "cka_debiased": (0.77, 0.29), "matched_corr_mean": (0.6, 0.25),
            "tv_distance": (0.05, 0.4), "barrier_test_error_raw": (0.40, 0.002),
            "barrier_test_error_aligned": (barrier_aligned, 0.001),
            "barrier_train_cost_raw": (0.2, 0.1), "barrier_train_cost_aligned": (0.02, 0.01),
            "endpoint_test_error_raw": (0.05, 0.9), "endpoint_train_cost_raw": (0.01, 2.0),
            "distance_signed": (180.0, 190.0),
        }  # fmt: skip
        for kind in ("both_differ", "same_order", "same_init"):
            for name, (value, null) in stats.items():
                half = barrier_half if name == "barrier_test_error_aligned" else 0.01
                rows.append(_row(cell, kind, name, value, half=half, null=null))
            rows.append(_row(cell, kind, "agreement", 0.947, null=0.1, baseline=0.905))
            rows.append(_row(cell, kind, "errors_shared", 0.5, null=0.9, baseline=0.05))
            rows.append(_row(cell, kind, "init_part", 215.9))
            rows.append(_row(cell, kind, "training_part", 145.3))
            rows.append(_row(cell, kind, "cross_term", -7000.0, half=100))
            rows.append(_row(cell, kind, "training_share", training_share))
        rows.append(_row(cell, "networks", "test_accuracy", 0.95, null=0.1))
        rows.append(_row(cell, "networks", "relative_from_init", 0.85))
    summary = pd.DataFrame(rows)
    networks = pd.DataFrame(
        [{**cell, "init_seed": i, "order_seed": o, "test_accuracy": 0.95, "dead_pixels": 67,
          "unseen_directions": 302} for cell in ([CELL, SCALED] if scaled else [CELL])
         for i in range(3) for o in range(3)]
    )  # fmt: skip
    pairs = pd.DataFrame(
        [{**CELL, "pair_kind": "both_differ", "barrier_computed": True,
          "barrier_aligned_method": "activation", "unseen_variance": 1e-3}] * 18
    )  # fmt: skip
    return summary, networks, pairs


def test_one_basin_rule():
    ends = Quote(pd.Series({"value": 0.05}))
    small = Quote(pd.Series({"value": 0.002, "value_low": 0.001, "value_high": 0.004}))
    large = Quote(pd.Series({"value": 0.023, "value_low": 0.02, "value_high": 0.026}))
    wide = Quote(pd.Series({"value": 0.02, "value_low": 0.0, "value_high": 0.04}))
    none = Quote(pd.Series({"value": 0.002}))
    assert one_basin(small, ends) is True  # whole interval below 10% of 5% = 0.5 points
    assert one_basin(large, ends) is False  # whole interval above it
    assert one_basin(wide, ends) is None  # straddles it: a wide interval proves nothing
    assert one_basin(none, ends) is None  # no interval: no verdict
    assert BASIN_RELATIVE == 0.10


def test_a_barrier_left_after_alignment_is_not_called_one_basin():
    text = answer_markdown(*tables(symmetry=0.23, symmetry_null=0.075, barrier_aligned=0.023))
    assert "By that rule they do not" in text
    assert "one basin up to symmetry." not in text
    assert "**2.3 [1.3, 3.3] points**" in text  # percentage points, named so
    assert "not one basin by the rule above" in text


def test_a_small_aligned_barrier_is_one_basin():
    text = answer_markdown(
        *tables(symmetry=0.23, symmetry_null=0.075, barrier_aligned=0.002, barrier_half=0.001)
    )
    assert "By that rule they lie in one basin up to symmetry." in text
    assert "(one basin by the rule above)" in text


def test_symmetry_share_above_its_null():
    text = answer_markdown(*tables(symmetry=0.23, symmetry_null=0.075, barrier_aligned=0.02))
    assert "**23.0% [22.0%, 24.0%]** of the squared distance, more than it removes" in text
    assert "difference 15.5 [14.5, 16.5] points): alignment finds structure" in text


def test_symmetry_share_within_its_null():
    text = answer_markdown(*tables(symmetry=0.08, symmetry_null=0.075, barrier_aligned=0.02))
    assert "not distinguishable from what it removes from their untrained" in text
    assert "no more shared structure than it finds between random networks" in text


def test_init_scale_contrast_and_decomposition():
    text = answer_markdown(*tables(symmetry=0.23, symmetry_null=0.075, barrier_aligned=0.02))
    assert "||d_init|| = **215.9 [215.9, 215.9]**" in text
    assert (
        "cross term <d_init, d_train> = -7000.0 [-7100.0, -6900.0] (the parts partly cancel)"
        in text
    )
    assert "**Nielsen's init, weights N(0, 1)**" in text
    assert "**scaled init, weights N(0, 1/n_in)**" in text
    assert "The explanation depends on the init scale" in text
    assert "agreement" not in text or "expected if their errors were independent" in text


def test_without_the_scaled_variant_the_answer_says_so():
    text = answer_markdown(*tables(0.23, 0.075, 0.02, scaled=False))
    assert "Add an MLP variant with `init: scaled`" in text


@pytest.mark.parametrize("kind", ["both_differ"])
def test_every_quoted_number_has_an_interval(kind):
    text = answer_markdown(*tables(symmetry=0.23, symmetry_null=0.075, barrier_aligned=0.02))
    prose = text.split("## By pair kind")[0]
    assert "pairs whose init and data order both differ" in prose
    assert prose.count("[") >= 40 and "n/a" not in prose


def test_a_wide_barrier_interval_gives_no_verdict():
    text = answer_markdown(
        *tables(symmetry=0.23, symmetry_null=0.075, barrier_aligned=0.004, barrier_half=0.01)
    )
    assert "By that rule the run cannot tell" in text
    assert "one basin up to symmetry." not in text and "By that rule they do not" not in text


@pytest.mark.parametrize(
    ("activation", "says", "never"),
    [
        (None, "and flipped (sigmoid(-z) = 1 - sigmoid(z))", "rescaled"),
        ("tanh", "and flipped (tanh(-z) = -tanh(z)), without changing", "tanh coordinates"),
        ("relu", "and rescaled by any c > 0 (relu(c z) = c relu(z) for c > 0)", "sign flip"),
    ],
)
def test_the_symmetry_section_names_the_activations_group(activation, says, never):
    summary, networks, pairs = tables(symmetry=0.23, symmetry_null=0.075, barrier_aligned=0.02)
    if activation:  # tables from before the column existed are sigmoid networks
        networks = networks.assign(activation=activation)
    text = answer_markdown(summary, networks, pairs)
    section = text.split("## How much of it is symmetry?")[1].split("##")[0]
    assert says in section and never not in section
    if activation == "relu":
        assert "best permutation and positive rescaling (weight matching in the canonical" in text


def test_forked_children_get_a_table_of_their_own_and_leave_the_prose_alone():
    summary, networks, pairs = tables(symmetry=0.23, symmetry_null=0.075, barrier_aligned=0.02)
    plain = answer_markdown(summary, networks, pairs)
    fork = {**CELL, "fork_epoch": 2}
    stats = {"relative_all": (0.5, 0.0), "relative_signed": (0.5, 0.0), "agreement": (0.97, 1.0),
             "barrier_test_error_raw": (0.001, 0.0), "barrier_test_error_aligned": (0.001, 0.0),
             "endpoint_test_error_raw": (0.05, 0.9)}  # fmt: skip
    rows = [
        {**_row(fork, kind, name, value, half=0.001, null=null), "n_fork_seeds": 3}
        for kind in ("siblings", "both_differ", "same_init")  # the children's other kinds too
        for name, (value, null) in stats.items()
    ]
    children = networks[networks.model == "mlp"].assign(fork_epoch=2, fork_seed=0)
    text = answer_markdown(
        pd.concat([summary, pd.DataFrame(rows)], ignore_index=True),
        pd.concat([networks, children], ignore_index=True),
        pd.concat([pairs, pairs.assign(fork_epoch=2, pair_kind="siblings")], ignore_index=True),
    )
    prose, twins = text.split("\n## Forked twins\n")
    assert prose == plain  # not a number of the children in the prose
    assert "This run also forked 9 children" in twins
    assert "| `mlp` | 3.00 | 30 | 2 | 18 | 3 | 0.500 [0.499, 0.501] |" in twins
    assert twins.rstrip().endswith("| one basin |")  # at most 0.2 points: below 10% of 5%
