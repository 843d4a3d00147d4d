"""The analysis of a group of networks, the answer written from it, and `twinnets compare`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twinnets.cli import main
from twinnets.compare.alignment import apply_transforms, random_transforms
from twinnets.compare.groups import analyze_group, pair_kind
from twinnets.compare.summary import summarise
from twinnets.data.mnist import FILES, load_mnist
from twinnets.dumps.storage import Dump, write_dump
from twinnets.report.answer import answer_markdown
from twinnets.train.network import TrainConfig, TrainedNetwork, train

N_TRAIN = 2_000


@pytest.fixture(scope="module")
def group(mnist_workdir, tmp_path_factory):
    """Four networks, crossed seeds {0, 1} x {0, 1}."""
    root = tmp_path_factory.mktemp("group")
    data = load_mnist(mnist_workdir, n_train=N_TRAIN)
    paths = []
    for init_seed in (0, 1):
        for order_seed in (0, 1):
            config = TrainConfig(
                n_train=N_TRAIN, epochs=2, init_seed=init_seed, order_seed=order_seed
            )
            path = root / f"{init_seed}-{order_seed}-2.parquet"
            write_dump(path, train(config, data), FILES)
            paths.append(path)
    return {"paths": paths, "data": data, "root": root}


@pytest.fixture(scope="module")
def analysis(group, mnist_workdir):
    return analyze_group(group["paths"], mnist_workdir)


def test_one_row_per_pair_with_every_metric(analysis):
    pairs = analysis.pairs
    assert len(pairs) == 6
    assert sorted(pairs.pair_kind.value_counts().items()) == [
        ("both_differ", 2), ("same_init", 2), ("same_order", 2),
    ]  # fmt: skip
    for column in (
        "relative_all", "cosine_all", "distance_weight1_dead", "null_relative_all",
        "relative_permutation", "relative_signed", "relative_activation", "cka_linear",
        "cka_debiased", "matched_corr_mean", "agreement", "a_errors_shared", "tv_distance",
        "barrier_test_error_raw", "barrier_test_error_aligned", "barrier_train_cost_aligned",
        "null_relative_signed", "null_cka_linear", "null_agreement", "independent_agreement",
        "init_part_signed", "training_part_signed", "cross_term_signed", "unseen_sq_weight1_signed",
        "preactivation_relative_signed", "null_barrier_test_error_aligned",
        "endpoint_test_error_raw", "barrier_aligned_method",
    ):  # fmt: skip
        assert pairs[column].notna().all(), column


def test_dead_pixel_columns_are_the_inits(analysis):
    pairs = analysis.pairs
    same_init = pairs[pairs.pair_kind == "same_init"]
    assert (same_init.distance_weight1_dead == 0).all()  # never trained: still the shared init
    differ = pairs[pairs.pair_kind != "same_init"]
    assert (differ.distance_weight1_dead > 0).all()
    # never trained: bit for bit the inits' difference on those columns
    assert (differ.distance_weight1_dead == differ.null_distance_weight1_dead).all()


def test_init_null_and_distance_from_init(analysis):
    pairs, networks = analysis.pairs, analysis.networks
    differ = pairs[pairs.pair_kind != "same_init"]
    assert np.allclose(differ.null_relative_all, np.sqrt(2), atol=0.02)  # two random networks
    assert (pairs[pairs.pair_kind == "same_init"].null_distance_all == 0).all()
    assert (networks.distance_from_init > 0).all()
    assert (networks.relative_from_init < 0.5).all()  # two epochs move a network a little
    assert (networks.dead_pixels > 67).all()  # 2,000 images leave more pixels unseen
    assert networks.null_test_accuracy.between(0.02, 0.25).all()  # a random net guesses


def test_nulls_equal_a_direct_computation_on_fresh_inits(analysis, group):
    """The null columns are the same statistics for the pair's rebuilt initialisations."""
    from twinnets.compare.alignment import align
    from twinnets.compare.distances import flatten, relative_distance
    from twinnets.compare.similarity import linear_cka
    from twinnets.dumps.storage import read_dump
    from twinnets.train.network import hidden_activations, init_params

    pairs = analysis.pairs
    row = pairs[(pairs.a_init_seed == 0) & (pairs.b_init_seed == 1)].iloc[0]
    a0 = init_params(TrainConfig(n_train=N_TRAIN, epochs=0, init_seed=0))
    b0 = init_params(TrainConfig(n_train=N_TRAIN, epochs=0, init_seed=1))
    # rebuilt bitwise: the protocol's draw is the dump's own init
    assert np.array_equal(flatten(a0), flatten(init_params(read_dump(group["paths"][0]).config)))
    assert row.null_relative_all == pytest.approx(
        relative_distance(flatten(a0), flatten(b0)), rel=1e-12
    )
    b0_signed, _ = align(a0, b0, "signed")
    assert row.null_relative_signed == pytest.approx(
        relative_distance(flatten(a0), flatten(b0_signed)), rel=1e-12
    )
    x = group["data"].validation.images("float64")
    (ha,), (hb,) = hidden_activations(a0, x), hidden_activations(b0, x)
    assert row.null_cka_linear == pytest.approx(linear_cka(ha, hb), rel=1e-9)


def test_decomposition_adds_up(analysis):
    pairs = analysis.pairs
    for suffix, distance in (("signed", "distance_signed"), ("raw", "distance_all")):
        total = pairs[distance] ** 2
        parts = (
            pairs[f"init_part_{suffix}"] ** 2
            + pairs[f"training_part_{suffix}"] ** 2
            + 2 * pairs[f"cross_term_{suffix}"]
        )
        assert np.allclose(parts, total, rtol=1e-9, atol=0)
    assert (pairs.init_part_raw == pairs.null_distance_all).all()


def test_alignment_helps_different_inits(analysis):
    differ = analysis.pairs[analysis.pairs.pair_kind != "same_init"]
    assert (differ.relative_signed < differ.relative_all).all()
    assert (differ.flips_signed > 0).all()
    assert (differ.init_part_signed > differ.training_part_signed).all()  # early on


def test_best_barrier_is_at_most_each_method(analysis):
    pairs = analysis.pairs[analysis.pairs.barrier_computed]
    for method in ("permutation", "signed", "activation"):
        assert (pairs.barrier_test_error_aligned <= pairs[f"barrier_test_error_{method}"]).all()
    chosen = [
        row[f"barrier_test_error_{row.barrier_aligned_method}"] for _, row in pairs.iterrows()
    ]
    assert np.array_equal(chosen, pairs.barrier_test_error_aligned)
    assert (pairs.endpoint_test_error_raw > 0).all()


def test_independent_baselines_follow_the_accuracies(analysis):
    nets = analysis.networks.set_index(["init_seed", "order_seed"]).test_accuracy
    row = analysis.pairs.iloc[0]
    acc_a = nets[(row.a_init_seed, row.a_order_seed)]
    acc_b = nets[(row.b_init_seed, row.b_order_seed)]
    assert row.independent_agreement == pytest.approx(
        acc_a * acc_b + (1 - acc_a) * (1 - acc_b) / 9, abs=1e-4
    )
    assert row.independent_a_errors_shared == pytest.approx(1 - acc_b, abs=1e-4)


def test_networks_table_and_consensus(analysis):
    networks = analysis.networks
    assert len(networks) == 4
    assert list(networks.init_seed) == [0, 0, 1, 1]
    assert (networks.relative_to_consensus > 0).all()
    assert (networks.consensus_sweeps >= 1).all()


def test_curves_have_25_points_raw_and_aligned(analysis):
    curves = analysis.curves
    assert len(curves) == 6 * 2 * 25
    one = curves[
        (curves.a_init_seed == 0) & (curves.b_init_seed == 1) & (curves.alignment == "raw")
    ]
    assert len(one) == 25 * 4  # four such pairs
    assert one.alpha.min() == 0 and one.alpha.max() == 1


def test_barrier_budget_is_respected_and_balanced(group, mnist_workdir):
    small = analyze_group(group["paths"], mnist_workdir, barrier_pairs=3)
    computed = small.pairs[small.pairs.barrier_computed]
    assert len(computed) == 3
    assert sorted(computed.pair_kind) == ["both_differ", "same_init", "same_order"]
    skipped = small.pairs[~small.pairs.barrier_computed]
    assert skipped.barrier_test_error_raw.isna().all()
    assert skipped.null_barrier_test_error_raw.isna().all()
    assert len(small.curves) == 3 * 2 * 25


def test_a_shuffled_copy_is_the_same_network(group, mnist_workdir, tmp_path):
    from twinnets.dumps.storage import read_dump

    original = read_dump(group["paths"][0]).network
    shuffled = apply_transforms(
        original.params, random_transforms(original.config.sizes, np.random.default_rng(4))
    )
    copy = tmp_path / "copy.parquet"
    write_dump(copy, TrainedNetwork(original.config, shuffled, original.metrics), FILES)
    row = analyze_group([group["paths"][0], copy], mnist_workdir).pairs.iloc[0]
    assert row.relative_all > 0.5
    assert row.distance_signed <= 1e-10
    assert row.barrier_test_error_aligned == 0 and row.barrier_train_cost_aligned <= 1e-12
    assert row.agreement == 1 and row.tv_distance <= 1e-12
    assert row.cka_linear == pytest.approx(1, abs=1e-10)
    assert row.matched_corr_mean == pytest.approx(1, abs=1e-10)
    assert row.preactivation_relative_signed <= 1e-10


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(n_train=N_TRAIN, epochs=1, activation="tanh", init="scaled", eta=0.5),
        TrainConfig(
            n_train=N_TRAIN, epochs=1, activation="relu", init="scaled", cost="cross-entropy",
            eta=0.1,
        ),
    ],
    ids=["tanh", "relu"],
)  # fmt: skip
def test_a_moved_copy_is_the_same_network_under_its_activations_symmetry(
    group, mnist_workdir, tmp_path, config
):
    activation = config.activation
    original = train(config, group["data"])
    moved = apply_transforms(
        original.params,
        random_transforms(config.sizes, np.random.default_rng(4), activation),
        activation,
    )
    paths = [tmp_path / "original.parquet", tmp_path / "moved.parquet"]
    write_dump(paths[0], original, FILES)
    write_dump(paths[1], TrainedNetwork(config, moved, original.metrics), FILES)
    result = analyze_group(paths, mnist_workdir)
    row = result.pairs.iloc[0]
    assert row.activation == activation and set(result.networks.activation) == {activation}
    assert row.relative_all > 0.3
    assert row.distance_signed <= 1e-10 and row.preactivation_relative_signed <= 1e-10
    assert row.barrier_test_error_aligned <= 1e-12 and row.barrier_train_cost_aligned <= 1e-12
    assert row.agreement == 1 and row.tv_distance <= 1e-12
    assert row.cka_linear == pytest.approx(1, abs=1e-10)
    assert (row.flips_signed > 0) == (activation == "tanh")  # ReLU units are never flipped
    assert result.networks.distance_to_consensus.max() <= 1e-10
    # the same files read as sigmoid networks are two different functions
    sigmoid = tmp_path / "as-sigmoid.parquet"
    as_sigmoid = dataclasses.replace(config, activation="sigmoid", cost="quadratic")
    write_dump(sigmoid, TrainedNetwork(as_sigmoid, moved, original.metrics), FILES)
    with pytest.raises(
        ValueError, match=f"original.parquet is {activation}, .*as-sigmoid.parquet is sigmoid"
    ):
        analyze_group([paths[0], sigmoid], mnist_workdir)


def test_summary_per_kind_with_intervals(analysis):
    summary = summarise(analysis.pairs, analysis.networks, n_boot=200)
    assert set(summary.pair_kind) == {"both_differ", "same_init", "same_order", "networks"}
    rel = summary[(summary.statistic == "relative_all") & (summary.pair_kind == "same_init")].iloc[
        0
    ]
    expected = analysis.pairs[analysis.pairs.pair_kind == "same_init"].relative_all.mean()
    assert rel.value == pytest.approx(expected) and rel.n == 2
    assert rel.n_init_seeds == 2 and rel.n_order_seeds == 2
    assert np.isnan(rel.value_low) and np.isnan(rel.value_high)  # 2 seeds: no honest interval


def test_quoted_decomposition_adds_up(analysis):
    """The summary quotes root-mean-square norms, so the quoted numbers add up too."""
    summary = summarise(analysis.pairs, analysis.networks, n_boot=50)
    for kind, rows in summary.groupby("pair_kind"):
        if kind == "networks" or kind == "same_init":
            continue
        value = rows.set_index("statistic").value
        total = value.init_part**2 + value.training_part**2 + 2 * value.cross_term
        assert total == pytest.approx(value.distance_signed**2, rel=1e-9)


def test_softmax_groups_get_gauge_and_dead_shares(mnist_workdir, tmp_path):
    data = load_mnist(mnist_workdir, n_train=1000)
    paths = []
    for init_seed in (0, 1, 2):
        config = TrainConfig(
            sizes=(784, 10), model="softmax", cost="cross-entropy", eta=0.5, n_train=1000,
            epochs=1, init_seed=init_seed, order_seed=init_seed,
        )  # fmt: skip
        paths.append(tmp_path / f"{init_seed}.parquet")
        write_dump(paths[-1], train(config, data), FILES)
    result = analyze_group(paths, mnist_workdir, barrier_pairs=0)
    summary = summarise(result.pairs, result.networks, n_boot=50)
    assert {"gauge_share", "dead_share", "errors_shared"} <= set(summary.statistic)
    gauge = summary[summary.statistic == "gauge_share"].iloc[0]
    assert 0 < gauge.value < 1 and 0 < gauge.null < 1


def test_answer_quotes_the_tables(analysis):
    summary = summarise(analysis.pairs, analysis.networks, n_boot=200)
    text = answer_markdown(summary, analysis.networks, analysis.pairs)
    both = summary[
        (summary.pair_kind == "both_differ") & (summary.statistic == "relative_all")
    ].iloc[0]
    assert f"**{both.value:.3f} [no interval]**" in text  # 2 x 2 seeds
    assert f"(untrained: {both.null:.3f} [no interval]" in text
    assert f"{int(analysis.networks.dead_pixels.max())} of 784 input pixels" in text
    assert "## By pair kind" in text
    assert "| 784-30-10 | 3.00 | 2 |" in text


def test_compare_prints_json_with_the_documented_keys(group, mnist_workdir, capsys):
    a, b = (str(p) for p in group["paths"][:2])
    assert main(["compare", a, b, "--mnist", str(mnist_workdir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "raw_distance", "aligned_distance", "cka", "agreement", "barrier_raw", "barrier_aligned",
        "null_aligned_relative_distance", "null_cka", "init_part", "training_part", "cross_term",
        "preactivation_relative_distance", "unseen_share",
    ):  # fmt: skip
        assert isinstance(out[key], float), key
    assert out["aligned_distance"] <= out["raw_distance"]
    assert out["barrier_aligned_method"] in ("permutation", "signed", "activation")
    parts = out["init_part"] ** 2 + out["training_part"] ** 2 + 2 * out["cross_term"]
    assert parts == pytest.approx(out["aligned_distance"] ** 2, rel=1e-9)
    assert 0 < out["unseen_share"] < 1
    assert main(["compare", a, b, "--mnist", str(mnist_workdir)]) == 0
    table = capsys.readouterr().out
    assert "aligned_distance" in table and "barrier_raw" in table


def test_compare_refuses_different_sizes(group, mnist_workdir, tmp_path, capsys):
    data = group["data"]
    other = tmp_path / "other.parquet"
    net = train(TrainConfig(sizes=(784, 20, 10), n_train=N_TRAIN, epochs=0), data)
    write_dump(other, net, FILES)
    code = main(["compare", str(group["paths"][0]), str(other), "--mnist", str(mnist_workdir)])
    assert code == 2
    assert "same sizes" in capsys.readouterr().err


# --------------------------------------------------------------------------- forked children


def _kind(a: tuple, b: tuple) -> str:
    """The kind of two networks given as (init seed, order seed[, fork epoch, fork seed])."""

    def dump(seeds: tuple) -> Dump:
        fork = dict(zip(("fork_epoch", "fork_seed"), seeds[2:], strict=False))
        config = TrainConfig(init_seed=seeds[0], order_seed=seeds[1], **fork)
        return Dump(Path("x.parquet"), TrainedNetwork(config, None), {})

    return pair_kind(dump(a), dump(b))


@pytest.mark.parametrize(
    ("a", "b", "kind"),
    [
        ((0, 0, 1, 0), (0, 0, 1, 1), "siblings"),  # one parent, two fork seeds
        ((0, 0, 1, 0), (0, 0, 1, 0), "identical_seeds"),
        ((0, 0, 1, 0), (0, 1, 1, 1), "same_init"),  # order differs in every epoch
        ((0, 0, 1, 0), (1, 0, 1, 0), "same_order"),  # order shared in every epoch
        ((0, 0, 1, 0), (1, 1, 1, 1), "both_differ"),
        ((0, 0, 1, 0), (1, 0, 1, 1), "same_order_until_fork"),
        ((0, 0, 1, 0), (1, 1, 1, 0), "same_order_after_fork"),
        ((0, 0, 1, 0), (0, 1, 1, 0), "same_init_same_order_after_fork"),
        # forked at 0, children of the init: the order seed plays no part
        ((0, 0, 0, 0), (0, 1, 0, 1), "siblings"),
        ((0, 0, 0, 0), (0, 1, 0, 0), "identical_seeds"),
        ((0, 0, 0, 0), (1, 1, 0, 0), "same_order"),
        ((0, 0, 0, 0), (1, 0, 0, 1), "both_differ"),
        # a parent and its child (twinnets compare): the parent is its own child
        ((0, 0), (0, 0, 1, 1), "siblings"),
        ((0, 0), (0, 0, 1, 0), "identical_seeds"),
        ((0, 0), (1, 0, 1, 1), "same_order_until_fork"),
        ((0, 0, 1, 0), (0, 0, 2, 0), "different_fork_epochs"),
        # networks that are not children keep their kinds
        ((0, 0), (0, 1), "same_init"),
        ((0, 0), (1, 0), "same_order"),
        ((0, 0), (1, 1), "both_differ"),
    ],
)
def test_pair_kinds_of_forked_children(a, b, kind):
    assert _kind(a, b) == kind and _kind(b, a) == kind


@pytest.fixture(scope="module")
def children(group, mnist_workdir):
    """The children of two of the group's networks, forked at epoch 1 with fork seeds 0 and 1."""
    paths = []
    for init_seed in (0, 1):
        for fork_seed in (0, 1):
            config = TrainConfig(n_train=N_TRAIN, epochs=2, init_seed=init_seed, order_seed=0,
                                 fork_epoch=1, fork_seed=fork_seed)  # fmt: skip
            path = group["root"] / f"{init_seed}-0-fork1-{fork_seed}-2.parquet"
            write_dump(path, train(config, group["data"]), FILES)
            paths.append(path)
    return analyze_group(paths, mnist_workdir, barrier_pairs=2)


def test_a_group_of_children_names_its_siblings_and_its_fork(children):
    pairs, networks = children.pairs, children.networks
    # parents (0, 0) and (1, 0) share their order seed: their children share the order
    # before the fork, and after it where their fork seeds agree
    assert sorted(pairs.pair_kind) == [
        "same_order", "same_order", "same_order_until_fork", "same_order_until_fork",
        "siblings", "siblings",
    ]  # fmt: skip
    assert (pairs.fork_epoch == 1).all() and (networks.fork_epoch == 1).all()
    siblings = pairs[pairs.pair_kind == "siblings"]
    assert (siblings.a_init_seed == siblings.b_init_seed).all()
    assert (siblings.a_fork_seed != siblings.b_fork_seed).all()
    assert (siblings.null_distance_all == 0).all()  # one init
    assert (siblings.distance_all > 0).all()
    # after one shared epoch, siblings are far closer than children of different inits
    cousins = pairs[pairs.pair_kind != "siblings"]
    assert siblings.relative_all.max() < cousins.relative_all.min()
    assert sorted(networks.fork_seed) == [0, 0, 1, 1]
    assert set(children.curves.pair_kind) <= set(pairs.pair_kind)


def test_children_are_summarised_apart_and_the_answer_keeps_its_prose(analysis, children):
    pairs = pd.concat([analysis.pairs, children.pairs], ignore_index=True)
    networks = pd.concat([analysis.networks, children.networks], ignore_index=True)
    summary = summarise(pairs, networks, n_boot=200)
    rel = summary[summary.statistic == "relative_all"].set_index(["fork_epoch", "pair_kind"])
    expected = children.pairs[children.pairs.pair_kind == "siblings"].relative_all.mean()
    assert rel.loc[(1.0, "siblings"), "value"] == pytest.approx(expected)
    assert rel.loc[(1.0, "siblings"), "n_fork_seeds"] == 2
    parents = analysis.pairs[analysis.pairs.pair_kind == "same_init"].relative_all.mean()
    parent_rows = summary[summary.fork_epoch.isna()].drop(columns=["fork_epoch", "n_fork_seeds"])
    alone = summarise(analysis.pairs, analysis.networks, n_boot=200)
    # the parents' rows are those of a run without forks
    pd.testing.assert_frame_equal(parent_rows.reset_index(drop=True), alone, check_dtype=False)
    assert rel.loc[(np.nan, "same_init"), "value"] == pytest.approx(parents)

    text = answer_markdown(summary, networks, pairs)
    without = answer_markdown(alone, analysis.networks, analysis.pairs)
    prose, twins = text.split("\n## Forked twins\n")
    assert prose == without  # the prose speaks of the parents, as before
    assert "sibling pairs" in twins and f"| `mlp` | 3.00 | 2 | 1 | 2 | 2 | {expected:.3f}" in twins
