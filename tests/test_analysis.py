"""The analysis of a group of networks, the answer written from it, and `twinnets compare`."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from twinnets.alignment import apply_transforms, random_transforms
from twinnets.analysis import analyze_group, summary_table
from twinnets.answer import answer_markdown
from twinnets.cli import main
from twinnets.dumps import write_dump
from twinnets.mnist import FILES, load_mnist
from twinnets.network import TrainConfig, TrainedNetwork, train

N_TRAIN = 2_000


@pytest.fixture(scope="module")
def group(mnist_workdir, tmp_path_factory):
    """Four networks, crossed seeds {0, 1} x {0, 1}, with their epochs=0 dumps."""
    root = tmp_path_factory.mktemp("group")
    data = load_mnist(mnist_workdir, n_train=N_TRAIN)
    paths, inits = [], []
    for init_seed in (0, 1):
        for order_seed in (0, 1):
            config = TrainConfig(
                n_train=N_TRAIN, epochs=2, init_seed=init_seed, order_seed=order_seed
            )
            net = train(config, data)
            for epochs, target in ((2, paths), (0, inits)):
                path = root / f"{init_seed}-{order_seed}-{epochs}.parquet"
                if epochs == 0:
                    zero = dataclasses.replace(config, epochs=0)
                    write_dump(path, train(zero, data), FILES)
                else:
                    write_dump(path, net, FILES)
                target.append(path)
    return {"paths": paths, "inits": inits, "data": data, "root": root}


@pytest.fixture(scope="module")
def analysis(group, mnist_workdir):
    return analyze_group(group["paths"], mnist_workdir, init_paths=group["inits"])


def test_one_row_per_pair_with_every_metric(analysis):
    pairs = analysis.pairs
    assert len(pairs) == 6
    assert sorted(pairs.pair_kind.value_counts().items()) == [
        ("both_differ", 2), ("same_init", 2), ("same_order", 2),
    ]  # fmt: skip
    for column in (
        "relative_all", "cosine_all", "distance_weight1_dead", "dead_share_all", "relative_all_init",
        "relative_permutation", "relative_signed", "relative_activation", "cka_linear",
        "cka_debiased", "matched_corr_mean", "agreement", "a_errors_shared", "tv_distance",
        "barrier_test_error_raw", "barrier_test_error_aligned", "barrier_train_cost_aligned",
    ):  # fmt: skip
        assert pairs[column].notna().all(), column


def test_dead_pixel_columns_are_the_inits(analysis):
    pairs = analysis.pairs
    same_init = pairs[pairs.pair_kind == "same_init"]
    assert (same_init.distance_weight1_dead == 0).all()  # never trained: still the shared init
    differ = pairs[pairs.pair_kind != "same_init"]
    assert (differ.distance_weight1_dead > 0).all()
    # and their share equals that of the init difference on those columns
    assert differ.dead_share_weight1.between(0.05, 0.5).all()


def test_init_baseline_and_distance_from_init(analysis):
    pairs, networks = analysis.pairs, analysis.networks
    differ = pairs[pairs.pair_kind != "same_init"]
    assert np.allclose(differ.relative_all_init, np.sqrt(2), atol=0.02)  # two random networks
    assert (pairs[pairs.pair_kind == "same_init"].distance_all_init == 0).all()
    assert (networks.distance_from_init > 0).all()
    assert (networks.relative_from_init < 0.5).all()  # two epochs move a network a little
    assert (networks.dead_pixels > 67).all()  # 2,000 images leave more pixels unseen


def test_alignment_helps_different_inits(analysis):
    differ = analysis.pairs[analysis.pairs.pair_kind != "same_init"]
    assert (differ.relative_signed < differ.relative_all).all()
    assert (differ.flips_signed > 0).all()
    split = differ.distance_signed_init_part
    assert (split > differ.distance_signed_training_part).all()  # the init dominates early on


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
    assert small.pairs[~small.pairs.barrier_computed].barrier_test_error_raw.isna().all()
    assert small.pairs.distance_all_init.isna().all()  # no init dumps given
    assert len(small.curves) == 3 * 2 * 25


def test_a_shuffled_copy_is_the_same_network(group, mnist_workdir, tmp_path):
    from twinnets.dumps import read_dump

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


def test_summary_means_per_kind(analysis):
    summary = summary_table(analysis.pairs)
    assert len(summary) == 3 and (summary.n_pairs == 2).all()
    same = summary[summary.pair_kind == "same_init"].iloc[0]
    expected = analysis.pairs[analysis.pairs.pair_kind == "same_init"].relative_all.mean()
    assert same.relative_all_mean == pytest.approx(expected)
    assert "relative_all_std" in summary.columns


def test_answer_quotes_the_tables(analysis):
    text = answer_markdown(analysis.pairs, analysis.networks)
    differ = analysis.pairs[analysis.pairs.pair_kind != "same_init"]
    assert f"**{differ.relative_all.mean():.3f}**" in text
    assert f"**{differ.relative_signed.mean():.3f}**" in text
    assert f"{int(analysis.networks.dead_pixels.max())} of 784 input pixels" in text
    assert "## Sources of randomness" in text
    assert "| 784-30-10 | 3.00 | 2 |" in text


def test_compare_prints_json_with_the_documented_keys(group, mnist_workdir, capsys):
    a, b = (str(p) for p in group["paths"][:2])
    assert main(["compare", a, b, "--mnist", str(mnist_workdir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "raw_distance",
        "aligned_distance",
        "cka",
        "agreement",
        "barrier_raw",
        "barrier_aligned",
    ):
        assert isinstance(out[key], float)
    assert out["aligned_distance"] <= out["raw_distance"]
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
