"""One home per fact: the config schema, its documentation and the package agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from twinnets.data.mnist import DEFAULT_MIRRORS
from twinnets.dumps import formats as interop
from twinnets.train import network

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())


def schema_keys(node: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    """Every key of the schema as a dotted path (``[]`` for the items of a list)."""
    for key, value in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        yield path, value
        yield from schema_keys(value, path + ".")
        items = value.get("items")
        if isinstance(items, dict):
            yield from schema_keys(items, path + "[].")


def test_config_readme_documents_every_schema_key():
    readme = (ROOT / "config" / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    missing = []
    for path, _ in schema_keys(SCHEMA):
        parent, _, leaf = path.rpartition(".")
        documented = any(f"`{path}`" in row for row in rows) or any(
            f"`{parent}.{leaf}`" in row or (f"`{parent}." in row and f"`.{leaf}`" in row)
            for row in rows
        )
        if not documented:
            missing.append(path)
    assert not missing, f"config/README.md does not document {missing}"


@pytest.mark.parametrize(
    ("key", "names"),
    [
        ("model", network.MODELS), ("cost", network.COSTS), ("init", network.INITS),
        ("dtype", network.DTYPES), ("l2", network.L2_TARGETS), ("schedule", network.SCHEDULES),
        ("activation", network.ACTIVATIONS),
    ],
)  # fmt: skip
def test_schema_enums_are_the_package_names(key, names):
    enums = [value["enum"] for path, value in schema_keys(SCHEMA)
             if path.rpartition(".")[2] == key and "enum" in value]  # fmt: skip
    assert enums, f"the schema has no enum for {key}"
    for enum in enums:
        assert tuple(enum) == tuple(names)


def test_import_formats_and_activations_are_the_package_names():
    imported = dict(schema_keys(SCHEMA))
    assert tuple(imported["imported[].format"]["enum"]) == ("auto", *interop.FORMATS)
    assert tuple(imported["imported[].activation"]["enum"]) == network.ACTIVATIONS
    assert interop.ACTIVATIONS is network.ACTIVATIONS  # one home


def test_every_activation_key_is_in_the_schema():
    keys = dict(schema_keys(SCHEMA))
    for key in ("train.activation", "grid.models[].activation", "imported[].activation"):
        assert tuple(keys[key]["enum"]) == network.ACTIVATIONS, key
    assert keys["train.activation"]["default"] == "sigmoid"


def test_the_mirror_list_lives_in_the_package_only():
    mirrors = dict(schema_keys(SCHEMA))["mnist.mirrors"]
    assert "default" not in mirrors  # the workflow fills in twinnets.data.mnist.DEFAULT_MIRRORS
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert "mirrors" not in config.get("mnist", {})
    assert DEFAULT_MIRRORS and all("://" in m for m in DEFAULT_MIRRORS)


def merged(*names: str) -> dict:
    """The config Snakemake runs with ``--configfile`` on top of the Snakefile's: dictionaries
    merged key by key, lists replaced (snakemake.utils.update_config), then validated with
    the schema's defaults."""
    from snakemake.utils import update_config, validate

    config: dict = {}
    for name in names:
        update_config(config, yaml.safe_load((ROOT / "config" / name).read_text()))
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"), set_default=True)
    return config


def test_the_converge_sweep_takes_nothing_of_the_default_grid():
    from twinnets.pipeline import grid

    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    sweep = yaml.safe_load((ROOT / "config" / "converge.yaml").read_text())
    config = merged("config.yaml", "converge.yaml")
    # the same config whether Snakemake loads config/config.yaml first (run from the
    # repository) or skips it (with --directory runs/converge it is not found there)
    assert config == merged("converge.yaml")
    assert set(default["grid"]) <= set(sweep["grid"])
    assert [m["name"] for m in config["grid"]["models"]] == [
        "mlp", "mlp-scaled", "mlp-tanh", "mlp-relu"]  # fmt: skip
    grid.check_config(config)
    assert {g.sizes for g in grid.groups(config)} == {"784-30-10", "784-100-10", "784-300-10"}
    assert {g.fork_epoch for g in grid.groups(config)} == {None, 0, 1, 2, 5}
    assert {g.epochs for g in grid.groups(config)} == {10}
    # at least 3 networks and 3 fork seeds: the bootstrap gives an interval (summary.MIN_UNITS)
    assert len(grid.seed_pairs(config["grid"])) >= 3 and len(config["grid"]["fork_seeds"]) >= 3
