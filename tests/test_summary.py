"""Statistics per pair kind: ratio-of-sums shares, seed-bootstrap weights, interval coverage."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from twinnets.compare.summary import BY_NAME, Design, interval, pair_weights, summarise, weighted

SEEDS = ["a_init_seed", "a_order_seed", "b_init_seed", "b_order_seed"]


def crossed_pairs(n_init: int, n_order: int) -> tuple[list, pd.DataFrame]:
    nets = [(i, o) for i in range(n_init) for o in range(n_order)]
    rows = [(*a, *b) for a, b in itertools.combinations(nets, 2)]
    return nets, pd.DataFrame(rows, columns=SEEDS)


def test_shares_are_ratios_of_sums_not_means_of_ratios():
    pairs = pd.DataFrame({"distance_weight1_dead": [1.0, 0.0], "distance_all": [1.0, 10.0]})
    stat = BY_NAME["dead_share"]
    numerator, denominator = stat.parts(pairs)
    share = weighted(np.ones((1, 2)), numerator, denominator)[0]
    assert share == pytest.approx(1 / 101)  # a mean of the ratios would say 0.5
    symmetry = BY_NAME["symmetry_share"]
    pairs = pd.DataFrame({"distance_signed": [1.0, 6.0], "distance_all": [2.0, 8.0]})
    ratio = weighted(np.ones((1, 2)), *symmetry.parts(pairs))
    assert symmetry.finish(ratio)[0] == pytest.approx(1 - 37 / 68)


def test_pair_weights_count_each_resampled_pair_once():
    nets, pairs = crossed_pairs(2, 2)
    design = Design.of(nets)
    assert design.crossed and design.n_units == 2
    # one replicate: init seed 0 drawn twice, 1 never; order seeds 0 and 1 once each
    counts = [({0: 0, 1: 1}, np.array([[1.0, 1.0], [2.0, 0.0]])),
              ({0: 0, 1: 1}, np.array([[1.0, 1.0], [1.0, 1.0]]))]  # fmt: skip
    weights = pair_weights(design, counts, pairs)
    assert (weights[0] == 1).all()  # row 0: the sample itself
    by_pair = dict(zip(map(tuple, pairs[SEEDS].to_numpy()), weights[1], strict=True))
    assert by_pair[(0, 0, 0, 1)] == 2  # same init: c_I(0) = 2 copies of this pair
    assert by_pair[(0, 0, 1, 1)] == 0  # init seed 1 was not drawn
    assert by_pair[(0, 0, 1, 0)] == 0


def test_a_paired_design_resamples_networks():
    design = Design.of([(0, 0), (1, 1), (2, 2)])
    assert not design.crossed and design.n_units == 3


def test_interval_is_nan_without_variation():
    assert np.isnan(interval(np.array([1.0, 1.0, 1.0]), n_units=1)[0])
    low, high, n = interval(np.array([1.0, 0.9, 1.1, 1.0]), n_units=4)
    assert low < 1.0 < high and n == 3


def _synthetic_group(
    rng: np.random.Generator, n_seeds: int, kind: str, init_sd: float, order_sd: float
) -> pd.DataFrame:
    """Pair values of one kind with init-seed, order-seed and pair effects around a mean of 1."""
    init_effect = rng.normal(0, init_sd, n_seeds)
    order_effect = rng.normal(0, order_sd, n_seeds)
    _, pairs = crossed_pairs(n_seeds, n_seeds)
    same_init = pairs.a_init_seed == pairs.b_init_seed
    same_order = pairs.a_order_seed == pairs.b_order_seed
    pairs = (
        pairs[same_init & ~same_order] if kind == "same_init" else pairs[~same_init & ~same_order]
    )
    value = (
        1.0
        + init_effect[pairs.a_init_seed] + init_effect[pairs.b_init_seed]
        + order_effect[pairs.a_order_seed] + order_effect[pairs.b_order_seed]
        + rng.normal(0, 0.1, len(pairs))
    )  # fmt: skip
    return pairs.assign(relative_all=value, null_relative_all=value)


@pytest.mark.parametrize(
    ("n_seeds", "kind", "init_sd", "order_sd"),
    [(3, "both_differ", 0.3, 0.2), (5, "both_differ", 0.3, 0.2), (4, "same_init", 0.3, 0.2),
     (5, "both_differ", 0.3, 0.0)],
)  # fmt: skip
def test_intervals_cover_a_known_mean_at_about_the_stated_rate(n_seeds, kind, init_sd, order_sd):
    """95% intervals from the seed bootstrap cover the population mean in 88-99.5% of groups
    where seeds drive the variation (with pair noise alone they are conservative)."""
    rng = np.random.default_rng(2026)
    n_groups, hits = 200, 0
    for k in range(n_groups):
        pairs = _synthetic_group(rng, n_seeds, kind, init_sd, order_sd)
        design = Design.of([(i, o) for i in range(n_seeds) for o in range(n_seeds)])
        counts = design.counts(300, np.random.default_rng(k))
        reps = weighted(
            pair_weights(design, counts, pairs), pairs.relative_all.to_numpy(), np.ones(len(pairs))
        )
        low, high, _ = interval(reps, design.n_units)
        hits += low <= 1.0 <= high
    assert 0.88 <= hits / n_groups <= 0.995


def test_a_crossed_grid_missing_a_network_stays_crossed():
    nets = [(i, o) for i in range(3) for o in range(3) if (i, o) != (2, 2)]
    assert Design.of(nets).crossed


def test_summary_has_one_row_per_group_kind_and_statistic():
    nets, pairs = crossed_pairs(3, 3)
    pairs = pairs.assign(
        model="mlp", family="mlp", sizes="784-30-10", eta=3.0, epochs=30, init="nielsen", lmbda=0.0
    )
    kind = np.where(
        pairs.a_init_seed == pairs.b_init_seed,
        "same_init",
        np.where(pairs.a_order_seed == pairs.b_order_seed, "same_order", "both_differ"),
    )
    pairs = pairs.assign(pair_kind=kind, relative_all=1.0 + 0.01 * np.arange(len(pairs)))
    pairs["null_relative_all"] = 1.414
    networks = pd.DataFrame(nets, columns=["init_seed", "order_seed"]).assign(
        model="mlp", family="mlp", sizes="784-30-10", eta=3.0, epochs=30, init="nielsen",
        lmbda=0.0, test_accuracy=0.95, null_test_accuracy=0.1,
    )  # fmt: skip
    summary = summarise(pairs, networks, n_boot=100)
    rel = summary[summary.statistic == "relative_all"].set_index("pair_kind")
    assert sorted(rel.index) == ["both_differ", "same_init", "same_order"]
    for kind_name, rows in pairs.groupby("pair_kind"):
        assert rel.loc[kind_name, "value"] == pytest.approx(rows.relative_all.mean())
        assert rel.loc[kind_name, "n"] == len(rows)
    assert np.allclose(rel.null, 1.414) and (rel.value_low < rel.value).all()
    acc = summary[summary.statistic == "test_accuracy"].iloc[0]
    assert acc.pair_kind == "networks" and acc.value == pytest.approx(0.95)
    assert acc.null == pytest.approx(0.1)


def test_fork_seeds_are_resampled_as_a_third_factor():
    nets = [(i, 0) for i in range(3)]
    design = Design.of(nets * 3, fork_seeds=[0, 1, 2] * 3)  # each parent's 3 children
    assert design.fork_seeds == (0, 1, 2) and design.n_units == 3  # the order seed never varies
    siblings = pd.DataFrame(
        [(0, 0, 0, 0, 0, 1), (0, 0, 1, 1, 0, 2)],
        columns=["a_init_seed", "a_order_seed", "a_fork_seed", "b_init_seed", "b_order_seed",
                 "b_fork_seed"],
    )  # fmt: skip
    # one replicate: init seed 0 drawn twice; fork seed 0 twice, 1 never, 2 once
    counts = [({0: 0, 1: 1, 2: 2}, np.array([[1.0, 1, 1], [2, 1, 0]])),
              ({0: 0}, np.array([[1.0], [3]])),
              ({0: 0, 1: 1, 2: 2}, np.array([[1.0, 1, 1], [2, 0, 1]]))]  # fmt: skip
    weights = pair_weights(design, counts, siblings)
    assert (weights[0] == 1).all()
    # siblings (0, 0; forks 0, 1): c_I(0) c_O(0) c_F(0) c_F(1) = 2 * 3 * 2 * 0
    # cousins (0 vs 1; forks 1, 2): c_I(0) c_I(1) c_O(0) c_F(1) c_F(2) = 2 * 1 * 3 * 0 * 1
    assert list(weights[1]) == [0.0, 0.0]
    counts[2] = ({0: 0, 1: 1, 2: 2}, np.array([[1.0, 1, 1], [1, 1, 1]]))
    assert list(pair_weights(design, counts, siblings)[1]) == [2 * 3, 2 * 1 * 3]
    with pytest.raises(ValueError, match="fork seed"):
        design.unit_keys(np.array([0]), np.array([0]))


def test_groups_of_children_are_summarised_apart_from_their_parents():
    group = {"model": "mlp", "family": "mlp", "sizes": "784-30-10", "eta": 3.0, "epochs": 30,
             "init": "nielsen", "lmbda": 0.0}  # fmt: skip
    nets, pairs = crossed_pairs(3, 3)
    kind = np.where(pairs.a_init_seed == pairs.b_init_seed, "same_init", "other")
    parents = pairs.assign(**group, pair_kind=kind, relative_all=1.4, null_relative_all=1.4)
    networks = pd.DataFrame(nets, columns=["init_seed", "order_seed"]).assign(**group)
    children = [(i, o, f) for i, o in nets for f in range(3)]
    rows = [(*a, *b) for a, b in itertools.combinations(children, 2)]
    columns = ["a_init_seed", "a_order_seed", "a_fork_seed", "b_init_seed", "b_order_seed",
               "b_fork_seed"]  # fmt: skip
    child_pairs = pd.DataFrame(rows, columns=columns).assign(**group, fork_epoch=2)
    one_parent = (child_pairs.a_init_seed == child_pairs.b_init_seed) & (
        child_pairs.a_order_seed == child_pairs.b_order_seed
    )
    child_pairs = child_pairs.assign(
        pair_kind=np.where(one_parent, "siblings", "same_init"),  # "same_init": another value
        relative_all=np.where(one_parent, 0.2, 0.9),
        null_relative_all=np.where(one_parent, 0.0, 1.4),
    )
    child_nets = pd.DataFrame(children, columns=["init_seed", "order_seed", "fork_seed"])
    summary = summarise(
        pd.concat([parents, child_pairs], ignore_index=True),
        pd.concat([networks, child_nets.assign(**group, fork_epoch=2)], ignore_index=True),
        n_boot=100,
    )
    rel = summary[summary.statistic == "relative_all"]
    # the parents' rows have no fork epoch (None below)
    by = {(None if np.isnan(row.fork_epoch) else row.fork_epoch, row.pair_kind): row
          for _, row in rel.iterrows()}  # fmt: skip
    assert set(by) == {(None, "same_init"), (None, "other"), (2, "siblings"), (2, "same_init")}
    assert by[(None, "same_init")].value == pytest.approx(1.4)  # never pooled with children
    assert by[(2, "same_init")].value == pytest.approx(0.9)
    assert by[(2, "siblings")].value == pytest.approx(0.2) and by[(2, "siblings")].n == 27
    assert by[(2, "siblings")].n_fork_seeds == 3 and not np.isnan(by[(2, "siblings")].value_low)
    assert np.isnan(by[(None, "other")].n_fork_seeds)
