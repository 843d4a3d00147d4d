"""The grid's blocks of networks: every network in exactly one block, growth incremental."""

from __future__ import annotations

import pytest

from twinnets.pipeline import grid


def blocks(design: str, inits: list[int], orders: list[int], size: int) -> list[list]:
    g = {"design": design, "init_seeds": inits, "order_seeds": orders, "block_size": size}
    return [list(b.members) for b in grid.seed_blocks(g)]


@pytest.mark.parametrize("design", ["crossed", "paired"])
@pytest.mark.parametrize("size", [1, 2, 3, 8])
def test_every_network_is_in_exactly_one_block_of_at_most_block_size(design, size):
    inits, orders = [0, 1, 2, 7], [3, 0, 5, 9]
    g = {"design": design, "init_seeds": inits, "order_seeds": orders, "block_size": size}
    members = [m for b in blocks(design, inits, orders, size) for m in b]
    assert sorted(members) == sorted(grid.seed_pairs(g))
    assert all(1 <= len(b) <= size for b in blocks(design, inits, orders, size))


def test_crossed_blocks_share_the_init_seed_and_follow_the_order_list():
    assert blocks("crossed", [0, 1], [5, 3, 4], 2) == [
        [(0, 5), (0, 3)], [(0, 4)], [(1, 5), (1, 3)], [(1, 4)],
    ]  # fmt: skip
    assert blocks("paired", [0, 1, 2], [0, 1, 2], 2) == [[(0, 0), (1, 1)], [(2, 2)]]


@pytest.mark.parametrize("design", ["crossed", "paired"])
def test_appending_seeds_changes_only_the_last_blocks(design):
    before = blocks(design, [0, 1, 2, 3], [0, 1, 2, 3], 2)
    after = blocks(design, [0, 1, 2, 3, 4], [0, 1, 2, 3, 4], 2)
    kept = [b for b in before if b in after]
    if design == "paired":
        assert kept == before  # the last block was full: a new block takes the new pair
    else:  # each init seed's full blocks stay; only new ones appear
        assert kept == before and len(after) == 5 * 3


def test_block_names_and_paths():
    block = grid.Block(((0, 0), (0, 1), (0, 2)))
    assert block.name == "i0o0-i0o2" and grid.Block(((3, 4),)).name == "i3o4"
    paths = block.weights(model="mlp", sizes="784-30-10", eta="3.0")
    assert paths[2] == (
        "results/weights/model=mlp/sizes=784-30-10/eta=3.0/init_seed=0/order_seed=2"
        "/epochs={epochs}/weights.parquet"
    )  # epochs stays a Snakemake wildcard


def grid_config(models: list[dict], inits=(0, 1), orders=(0, 1, 2), size=2) -> dict:
    return {
        "data": {"n_train": 100},
        "train": {"batch_size": 10},
        "grid": {
            "sizes": [[784, 30, 10]], "etas": [3.0], "epochs": [0, 1], "design": "crossed",
            "init_seeds": list(inits), "order_seeds": list(orders), "block_size": size,
            "models": models,
        },
    }  # fmt: skip


def test_every_train_rule_fixes_its_setting_so_its_outputs_have_their_own_prefix():
    config = grid_config([{"name": "mlp", "etas": [0.5, 3.0]}, {"name": "lin", "model": "linear"}])
    rules = grid.train_rules(config)
    assert [name for name, _, _ in rules][:2] == [
        "train_mlp_784_30_10_eta0_5_i0o0_to_i0o1", "train_mlp_784_30_10_eta0_5_i0o2",
    ]  # fmt: skip
    assert len(rules) == 3 * 2 * 2  # 3 settings x 2 init seeds x 2 blocks each
    # Snakemake's output index finds a producer by the path up to the first wildcard:
    # every output's prefix is a different network's, so one rule matches a dump
    prefixes = [
        path.split("{")[0]
        for _, setting, block in rules
        for path in block.weights(**setting.wildcards())
    ]
    assert len(prefixes) == len(set(prefixes)) == 3 * 2 * 3
    assert all(p.endswith("/epochs=") for p in prefixes)


def test_models_whose_train_rules_would_share_a_name_are_refused():
    config = grid_config([{"name": "mlp-l2", "lmbda": 1.0}, {"name": "mlp_l2"}])
    with pytest.raises(grid.ConfigError, match=r"grid.models: .*mlp-l2.*mlp_l2.*rename a model"):
        grid.check_config(config)


def test_shared_settings_leave_out_the_seeds():
    config = {
        "data": {"n_train": 100},
        "grid": {"models": [{"name": "mlp"}]},
        "train": {"batch_size": 10},
    }
    settings = grid.shared_settings(config, {"model": "mlp", "sizes": "784-30-10", "eta": "3.0",
                                             "epochs": 5})  # fmt: skip
    assert "init_seed" not in settings and "order_seed" not in settings
    assert settings["eta"] == 3.0 and settings["epochs"] == 5 and settings["n_train"] == 100


def test_the_hidden_activation_is_the_mlps_and_a_variant_may_set_its_own():
    config = grid_config(
        [
            {"name": "mlp"},
            {"name": "mlp-relu", "activation": "relu"},
            {"name": "lin", "model": "linear"},
        ]
    )
    config["train"]["activation"] = "tanh"
    grid.check_config(config)
    wildcards = {"sizes": "784-30-10", "eta": "3.0", "epochs": 1, "init_seed": 0, "order_seed": 0}
    assert grid.train_config(config, {**wildcards, "model": "mlp"}).activation == "tanh"
    assert grid.train_config(config, {**wildcards, "model": "mlp-relu"}).activation == "relu"
    linear = grid.train_config(config, {**wildcards, "model": "lin", "sizes": "784-10"})
    assert linear.activation == "sigmoid"  # no hidden layer: train.activation is not its


def test_a_convex_variant_with_another_activation_is_refused_by_name():
    config = grid_config([{"name": "lin", "model": "linear", "activation": "relu"}])
    with pytest.raises(grid.ConfigError, match=r"grid.models.lin: .*a linear model has no hidden"):
        grid.check_config(config)


# --------------------------------------------------------------------------- forked children

SETTING = {"model": "mlp", "sizes": "784-30-10", "eta": "3.0"}


def fork_config(fork_epochs=(1,), fork_seeds=(0, 1), epochs=(0, 1, 2), models=None) -> dict:
    config = grid_config(models or [{"name": "mlp"}, {"name": "lin", "model": "linear"}])
    config["grid"].update(
        epochs=list(epochs), fork_epochs=list(fork_epochs), fork_seeds=list(fork_seeds)
    )
    return config


def test_without_forks_every_path_rule_and_group_is_as_before():
    config = fork_config(fork_epochs=(), fork_seeds=())
    before = fork_config()
    for key in ("fork_epochs", "fork_seeds"):
        del before["grid"][key]  # a config from before forks existed
    assert grid.train_rules(config) == grid.train_rules(before)
    assert grid.all_weights(config) == grid.all_weights(before)
    assert list(grid.groups(config)) == list(grid.groups(before))
    assert all(g.fork_epoch is None for g in grid.groups(config))
    assert grid.Group("mlp", "784-30-10", "3.0", 5).table("pairs") == (
        "results/tables/groups/model=mlp/sizes=784-30-10/eta=3.0/epochs=5/pairs.parquet"
    )
    assert "fork_epoch" not in grid.shared_settings(config, {**SETTING, "epochs": 1})


def test_children_have_their_own_train_rules_each_with_its_own_prefix():
    config = fork_config()
    rules = grid.train_rules(config)
    children = [(name, block) for name, _, block in rules if block.fork is not None]
    # 2 settings x (2 init seeds x 2 blocks) x 1 fork epoch x 2 fork seeds
    assert len(rules) == 2 * 4 + len(children) and len(children) == 2 * 4 * 2
    name, block = children[0]
    assert name == "train_mlp_784_30_10_eta3_0_i0o0_to_i0o1_fork1_seed0"
    assert block.name == "i0o0-i0o1-fork1-seed0"
    assert block.weights(**SETTING)[1] == (
        "results/weights/model=mlp/sizes=784-30-10/eta=3.0/init_seed=0/order_seed=1"
        "/fork_epoch=1/fork_seed=0/epochs={epochs}/weights.parquet"
    )
    prefixes = [
        path.split("{")[0]
        for _, setting, block in rules
        for path in block.weights(**setting.wildcards())
    ]
    assert len(prefixes) == len(set(prefixes)) == 2 * 6 * 3  # parents and 2 children each
    assert all(p.endswith("/epochs=") for p in prefixes)


def test_a_child_block_resumes_its_parents_at_the_fork_then_itself():
    parents = grid.Block(((0, 0), (0, 1)))
    children = parents.forked(grid.Fork(1, 0))
    g = {"epochs": [0, 1, 2, 4]}
    assert children.resume_weights(g, 2, **SETTING) == parents.weights(**SETTING, epochs=1)
    assert children.resume_weights(g, 4, **SETTING) == children.weights(**SETTING, epochs=2)
    assert parents.resume_weights(g, 2, **SETTING) == parents.weights(**SETTING, epochs=1)
    with pytest.raises(grid.ConfigError, match="epochs 1 <= its fork epoch 1 is its parent's"):
        children.resume_weights(g, 1, **SETTING)


def test_children_are_grouped_per_fork_epoch_apart_from_their_parents():
    config = fork_config(fork_epochs=(0, 1), epochs=(0, 1, 3), models=[{"name": "mlp"}])
    groups = list(grid.groups(config))
    assert [g.epochs for g in groups if g.fork_epoch is None] == [0, 1, 3]
    forked = [(g.fork_epoch, g.epochs) for g in groups if g.fork_epoch is not None]
    assert forked == [(0, 1), (0, 3), (1, 3)]  # only checkpoints past the fork
    group = groups[-1]
    paths = grid.weights_paths(config, group)
    assert len(paths) == 6 * 2 and all("/fork_epoch=1/fork_seed=" in p for p in paths)
    assert all(p.endswith("/epochs=3/weights.parquet") for p in paths)
    assert group.table("pairs") == (
        "results/tables/groups/model=mlp/sizes=784-30-10/eta=3.0/fork_epoch=1/epochs=3"
        "/pairs.parquet"
    )
    assert grid.Group.of({**SETTING, "fork_epoch": "1", "epochs": "3"}) == group
    # every child's dump is planned, the parents' figures never pick one
    assert set(paths) <= set(grid.all_weights(config))
    assert not any("fork_epoch" in p for p in grid.headline_dumps(config))
    wildcards = {**SETTING, "epochs": 3, "fork_epoch": 1, "fork_seed": 0}
    settings = grid.shared_settings(config, wildcards)
    assert (settings["fork_epoch"], settings["fork_seed"]) == (1, 0)
    config_of = grid.train_config(config, {**wildcards, "init_seed": "0", "order_seed": "2"})
    assert (config_of.fork_epoch, config_of.fork_seed, config_of.order_seed) == (1, 0, 2)


@pytest.mark.parametrize(
    ("forks", "message"),
    [
        ({"fork_epochs": [1], "fork_seeds": []}, r"grid.fork_epochs is set but grid.fork_seeds"),
        ({"fork_epochs": [], "fork_seeds": [0]}, r"grid.fork_seeds is set but grid.fork_epochs"),
        ({"fork_epochs": [3]}, r"grid.fork_epochs: 3 is not a checkpoint; add it to grid.epochs"),
        ({"fork_epochs": [2]}, r"grid.fork_epochs: 2 is not below the last checkpoint 2"),
    ],
)
def test_bad_forks_are_refused_with_the_key_named(forks, message):
    config = fork_config()
    config["grid"].update(forks)
    with pytest.raises(grid.ConfigError, match=message):
        grid.check_config(config)


# --------------------------------------------------------------------------- sweeps


def test_fork_sizes_fork_only_the_named_widths():
    config = fork_config(models=[{"name": "mlp"}])
    config["grid"]["sizes"] = [[784, 30, 10], [784, 100, 10]]
    everything = grid.train_rules(config)
    config["grid"]["fork_sizes"] = [[784, 30, 10]]
    grid.check_config(config)
    rules = grid.train_rules(config)
    forked = {setting.sizes for _, setting, block in rules if block.fork is not None}
    assert forked == {"784-30-10"}
    # the wide parents keep their rules; only their children are gone
    assert [r for r in everything if r[1].sizes == "784-100-10" and r[2].fork is None] == [
        r for r in rules if r[1].sizes == "784-100-10"
    ]
    groups = list(grid.groups(config))
    assert {g.sizes for g in groups if g.fork_epoch is not None} == {"784-30-10"}
    assert {g.sizes for g in groups if g.fork_epoch is None} == {"784-30-10", "784-100-10"}
    assert not any("784-100-10" in p and "fork_epoch" in p for p in grid.all_weights(config))
    config["grid"]["fork_sizes"] = None  # null: every size, as without the key
    assert grid.train_rules(config) == everything


def test_a_fork_size_outside_the_grid_is_refused():
    config = fork_config()
    config["grid"]["fork_sizes"] = [[784, 100, 10]]
    with pytest.raises(grid.ConfigError, match=r"grid.fork_sizes\[0\] = \[784, 100, 10\]"):
        grid.check_config(config)


def test_analysis_epochs_compare_only_those_checkpoints_but_train_them_all():
    config = fork_config(fork_epochs=(0, 1), epochs=(0, 1, 3), models=[{"name": "mlp"}])
    everything = list(grid.groups(config))
    config["analysis"] = {"epochs": [3]}
    grid.check_config(config)
    groups = list(grid.groups(config))
    assert [(g.fork_epoch, g.epochs) for g in groups] == [(None, 3), (0, 3), (1, 3)]
    assert set(groups) < set(everything)
    # the dumps at the other checkpoints are still made: the train rules are unchanged
    assert grid.train_rules(config) == grid.train_rules(fork_config(
        fork_epochs=(0, 1), epochs=(0, 1, 3), models=[{"name": "mlp"}]))  # fmt: skip
    config["analysis"] = {"epochs": None}
    assert list(grid.groups(config)) == everything


@pytest.mark.parametrize(
    ("epochs", "message"),
    [
        ([4], r"analysis.epochs: 4 is not a checkpoint"),
        ([1], r"analysis.epochs must include the last checkpoint 2"),
    ],
)
def test_bad_analysis_epochs_are_refused_with_the_key_named(epochs, message):
    config = fork_config()
    config["analysis"] = {"epochs": epochs}
    with pytest.raises(grid.ConfigError, match=message):
        grid.check_config(config)
