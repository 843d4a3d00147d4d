"""Sharded pairwise analysis: the same tables as one job over the whole group."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from twinnets._io import write_frame
from twinnets.compare import shards
from twinnets.compare.groups import analyze_group, pair_kind
from twinnets.compare.shards import Shard
from twinnets.compare.summary import summarise
from twinnets.data.mnist import FILES, load_mnist
from twinnets.dumps.storage import read_dump, write_dump
from twinnets.train.network import TrainConfig, train

N_TRAIN = 1_000
TILE = 2  # 3 networks' seeds x 2: tiles {0, 1}, {2, 3}, {4, 5}: 6 shards
BARRIERS = 3


@pytest.fixture(scope="module")
def group(mnist_workdir, tmp_path_factory):
    """Six networks, crossed init seeds {0, 1, 2} x order seeds {0, 1}, one epoch."""
    root = tmp_path_factory.mktemp("shards")
    data = load_mnist(mnist_workdir, n_train=N_TRAIN)
    paths = []
    for init_seed, order_seed in itertools.product(range(3), range(2)):
        config = TrainConfig(n_train=N_TRAIN, epochs=1, init_seed=init_seed, order_seed=order_seed)
        paths.append(root / f"{init_seed}-{order_seed}.parquet")
        write_dump(paths[-1], train(config, data), FILES)
    return paths


@pytest.fixture(scope="module")
def both(group, mnist_workdir, tmp_path_factory):
    """The unsharded analysis, and the shards' tables through Parquet, as the workflow runs."""
    full = analyze_group(group, mnist_workdir, barrier_pairs=BARRIERS)
    root = tmp_path_factory.mktemp("shard-tables")
    tables: dict[str, list[pd.DataFrame]] = {"pairs": [], "curves": []}
    plan = root / "plan"  # as the workflow does: one plan job, shards read their parts
    shards.write_plan(group, plan, TILE, barrier_pairs=BARRIERS)
    shards.write_tiles(group, root / "tiles", TILE)
    for shard in shards.shards(len(group), TILE):
        pairs, curves = shards.analyze_planned_shard(root / "tiles", plan, mnist_workdir, shard)
        alone = shards.analyze_shard(group, mnist_workdir, shard.name, TILE, barrier_pairs=BARRIERS)
        pd.testing.assert_frame_equal(pairs, alone[0])  # the plan from a file is the same plan
        pd.testing.assert_frame_equal(curves, alone[1])
        for name, table in (("pairs", pairs), ("curves", curves)):
            write_frame(table, root / f"{shard.name}-{name}.parquet")
            tables[name].append(pd.read_parquet(root / f"{shard.name}-{name}.parquet"))
    merged = {name: shards.merge_shards(t) for name, t in tables.items()}
    networks = shards.analyze_networks(group, mnist_workdir)
    return full, merged, networks, len(tables["pairs"])


def test_a_shard_refuses_tiles_cut_otherwise(group, mnist_workdir, tmp_path):
    shards.write_plan(group, tmp_path / "plan", TILE, barrier_pairs=0)
    shards.write_tiles(group, tmp_path / "tiles", 3)
    with pytest.raises(ValueError, match=r"tile=0.parquet: holds the networks \[0, 1, 2\]"):
        shards.analyze_planned_shard(tmp_path / "tiles", tmp_path / "plan", mnist_workdir, "0-1")
    with pytest.raises(FileNotFoundError, match=r"no part for shard 0-3; rerun"):
        shards.analyze_planned_shard(tmp_path / "tiles", tmp_path / "plan", mnist_workdir, "0-3")


def test_each_shard_reads_its_own_part_of_the_plan(group, tmp_path):
    headers = [shards.read_header(p) for p in group]
    whole = shards.plan_pairs(headers, barrier_pairs=BARRIERS)
    shards.write_plan(group, tmp_path / "plan", TILE, barrier_pairs=BARRIERS)
    parts = [shards.read_plan(tmp_path / "plan", s) for s in shards.shards(6, TILE)]
    assert {tuple(h.items()) for _, h in parts} == {
        (("n_networks", 6), ("tile", TILE), ("n_train_max", N_TRAIN), ("n_train_min", N_TRAIN))
    }
    index = [k for part, _ in parts for k in part.index]
    assert sorted(index) == list(range(len(whole.pairs)))  # every analysed pair once
    for (part, _), shard in zip(parts, shards.shards(6, TILE), strict=True):
        assert part.pairs == shard.pairs(6, TILE)
        assert part.pairs == [whole.pairs[k] for k in part.index]
        assert part.kinds == [whole.kinds[k] for k in part.index]
        assert part.barrier == [whole.barrier[k] for k in part.index]


def test_a_tile_holds_its_dumps_bitwise(group, tmp_path):
    shards.write_tiles(group, tmp_path / "tiles", 4)
    assert sorted(p.name for p in (tmp_path / "tiles").iterdir()) == [
        "tile=0.parquet",
        "tile=1.parquet",
    ]
    packed = shards.read_tile(tmp_path / "tiles", 0, 6, 4) + shards.read_tile(
        tmp_path / "tiles", 1, 6, 4
    )
    for dump, path in zip(packed, group, strict=True):
        alone = read_dump(path)
        assert dump.path == alone.path and dump.metadata == alone.metadata
        for x, y in zip(dump.params.weights + dump.params.biases,
                        alone.params.weights + alone.params.biases, strict=True):  # fmt: skip
            assert x.dtype == y.dtype and x.tobytes() == y.tobytes()


def test_big_groups_get_bigger_tiles_not_more_shards():
    assert shards.tile_size(9) == shards.tile_size(16_384) == 256  # 64 tiles of 256
    assert shards.tile_size(16_385) == 257
    assert shards.tile_size(4097, shard_networks=64) == 65
    for n in (10, 4096, 4097, 16_384, 16_385, 100_000):
        assert len(shards.shards(n, shards.tile_size(n))) <= 64 * 65 // 2
    assert shards.tile_size(100, shard_networks=8, max_tiles=10) == 10
    with pytest.raises(ValueError, match="at least one network"):
        shards.tile_size(100, shard_networks=0)


def test_the_shards_cover_every_pair_once():
    for n, tile in ((6, 2), (7, 3), (8, 8), (5, 1), (64, 64), (10, 4)):
        cut = shards.shards(n, tile)
        covered = [pair for s in cut for pair in s.pairs(n, tile)]
        every = list(itertools.combinations(range(n), 2))
        assert sorted(covered) == every
        for s in cut:
            pairs = s.pairs(n, tile)
            assert pairs == sorted(pairs)  # the group's order within a shard
            assert {m for p in pairs for m in p} <= set(s.networks(n, tile))
            assert len(s.networks(n, tile)) <= 2 * tile
            assert shards.shard_size(n, tile, s) == (len(s.networks(n, tile)), len(pairs))
            assert [shards.pair_position(i, j, n) for i, j in pairs] == [
                every.index(p) for p in pairs
            ]
    assert len(shards.shards(64)) == 1  # the default keeps a 64-network group whole
    assert [s.name for s in shards.shards(6, 2)] == ["0-0", "0-1", "0-2", "1-1", "1-2", "2-2"]
    assert Shard.parse("3-7") == Shard(3, 7)
    with pytest.raises(ValueError):
        Shard(2, 1)


def test_sharded_tables_equal_the_unsharded_ones(both):
    """Bitwise, but for the Gram-based columns (CKA, matched correlations, the activation
    alignment they drive): a smaller BLAS product may change their last bits (1e-12)."""
    full, merged, _, n_shards = both
    assert n_shards == 6
    pairs = merged["pairs"]
    assert list(pairs.columns) == list(full.pairs.columns)
    assert (pairs.dtypes == full.pairs.dtypes).all()
    gram = [c for c in pairs if any(k in c for k in ("cka", "matched_corr", "activation"))]
    assert "cka_linear" in gram and "null_relative_activation" in gram
    rest = [c for c in pairs if c not in gram]
    pd.testing.assert_frame_equal(pairs[rest], full.pairs[rest], check_exact=True)
    pd.testing.assert_frame_equal(
        pairs[gram], full.pairs[gram], check_exact=False, rtol=0, atol=1e-12
    )
    assert pairs.barrier_computed.sum() == BARRIERS  # chosen group-wide, as unsharded
    pd.testing.assert_frame_equal(merged["curves"], full.curves, check_exact=True)


def test_the_network_table_is_the_unsharded_one(both):
    full, _, networks, _ = both
    pd.testing.assert_frame_equal(networks, full.networks, check_exact=True)


def test_a_shard_reads_only_its_networks(group, mnist_workdir, monkeypatch):
    read = []
    original = shards.read_dump
    monkeypatch.setattr(shards, "read_dump", lambda p: read.append(p) or original(p))
    pairs, curves = shards.analyze_shard(group, mnist_workdir, "0-2", TILE, barrier_pairs=0)
    assert sorted(read) == sorted(group[k] for k in (0, 1, 4, 5))
    assert list(pairs.pair_index) == [shards.pair_position(i, j, 6) for i in (0, 1) for j in (4, 5)]
    assert len(curves) == 0 and not pairs.barrier_computed.any()


def test_subsampling_is_seeded_per_kind_and_shared_by_the_shards(group):
    headers = [shards.read_header(p) for p in group]
    every = shards.plan_pairs(headers, barrier_pairs=4)
    assert every.pairs == list(itertools.combinations(range(6), 2))
    assert every.kinds == [pair_kind(headers[i], headers[j]) for i, j in every.pairs]
    some = shards.plan_pairs(headers, barrier_pairs=4, max_pairs=3)
    again = shards.plan_pairs(headers, barrier_pairs=4, max_pairs=3)
    assert some == again  # every shard draws the same subset
    counts = pd.Series(some.kinds).value_counts()
    # 3 same_init, 6 same_order and 6 both_differ pairs: at most 3 of each kept
    assert counts.to_dict() == {"both_differ": 3, "same_init": 3, "same_order": 3}
    assert some.pairs == sorted(some.pairs) and set(some.pairs) <= set(every.pairs)
    assert sum(some.barrier) == 4
    other = shards.plan_pairs(headers, max_pairs=3, seed=1)
    assert other.pairs != some.pairs


def test_the_summary_takes_a_subsample_of_pairs(both):
    """The seed bootstrap weights the pairs that are there: a subset of pairs gives
    replicates of the same statistic (an interval needs 3 seeds of each factor; 2 here)."""
    full, _, _, _ = both
    keep = shards.subsample(list(full.pairs.pair_kind), max_pairs=4, seed=0)
    subset = full.pairs.iloc[keep].reset_index(drop=True)
    summary = summarise(subset, full.networks, n_boot=100)
    row = summary[(summary.statistic == "relative_all") & (summary.pair_kind == "same_order")]
    assert row.n.iloc[0] == 4
    expected = subset[subset.pair_kind == "same_order"].relative_all.mean()
    assert row.value.iloc[0] == pytest.approx(expected)
    assert row.n_boot.iloc[0] > 50  # replicates that keep a pair of the kind
