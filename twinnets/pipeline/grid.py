"""The experiment grid: which networks and checkpoints a workflow config asks for.

Paths are hive-style (``key=value`` folders) so that every dump tree reads as one
table with pyarrow.dataset or DuckDB, and values are formatted canonically so that
one network has exactly one path.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from twinnets.train.network import CONVEX_COSTS, TrainConfig

WEIGHTS = (
    "results/weights/model={model}/sizes={sizes}/eta={eta}/init_seed={init_seed}"
    "/order_seed={order_seed}/epochs={epochs}/weights.parquet"
)
#: A forked child's dump (grid.fork_epochs, grid.fork_seeds): its parent's folder, then the
#: fork. Only its checkpoints past the fork have one; up to the fork its dumps are the parent's.
CHILD_WEIGHTS = (
    "results/weights/model={model}/sizes={sizes}/eta={eta}/init_seed={init_seed}"
    "/order_seed={order_seed}/fork_epoch={fork_epoch}/fork_seed={fork_seed}/epochs={epochs}"
    "/weights.parquet"
)

#: Regular expressions for the wildcards, so that no path is ambiguous.
WILDCARD_PATTERNS = {
    "model": r"[a-z0-9][a-z0-9_-]*",
    "sizes": r"[1-9][0-9]*(-[1-9][0-9]*)+",
    "eta": r"[0-9][0-9.e+-]*",
    "init_seed": r"[0-9]+",
    "order_seed": r"[0-9]+",
    "fork_epoch": r"[0-9]+",
    "fork_seed": r"[0-9]+",
    "epochs": r"[0-9]+",
}

#: Where a group's tables go (``{table}``: pairs, networks, curves), its analysis log and
#: benchmark, below ``results/tables/groups/``, ``logs/analyze/``, ``benchmarks/analyze/``:
#: one layout for the grid's groups and one for the groups of children forked at an epoch.
GROUP_FOLDER = "model={model}/sizes={sizes}/eta={eta}/epochs={epochs}"
FORK_GROUP_FOLDER = "model={model}/sizes={sizes}/eta={eta}/fork_epoch={fork_epoch}/epochs={epochs}"
GROUP_TABLE = "results/tables/groups/{folder}/{table}.parquet"


class ConfigError(ValueError):
    """A workflow config value that the JSON schema cannot express is wrong."""


def format_sizes(sizes: list[int] | tuple[int, ...]) -> str:
    return "-".join(str(int(s)) for s in sizes)


def parse_sizes(text: str) -> tuple[int, ...]:
    return tuple(int(s) for s in text.split("-"))


def format_eta(eta: float) -> str:
    """The canonical text of a learning rate: Python's shortest round-trip repr."""
    return repr(float(eta))


def check_config(config: Mapping[str, Any]) -> None:
    """Checks beyond the JSON schema, each naming the key at fault."""
    grid = config["grid"]
    for i, sizes in enumerate(grid["sizes"]):
        if sizes[-1] != 10:
            raise ConfigError(
                f"grid.sizes[{i}] = {sizes}: the last layer must have 10 neurons (one per digit)"
            )
    if grid["design"] == "paired" and len(grid["init_seeds"]) != len(grid["order_seeds"]):
        raise ConfigError(
            "grid.design is 'paired' but grid.init_seeds and grid.order_seeds differ in length "
            f"({len(grid['init_seeds'])} vs {len(grid['order_seeds'])}); "
            "give equal lists or use design: crossed"
        )
    names = [m["name"] for m in grid["models"]]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"grid.models: the name {name!r} is used twice; names must be unique")
        try:
            for sizes in model_sizes(config, name):
                train_config(config, {"model": name, "sizes": format_sizes(sizes), "eta": "1.0",
                                      "epochs": 0, "init_seed": 0, "order_seed": 0})  # fmt: skip
        except ValueError as exc:
            raise ConfigError(f"grid.models.{name}: {exc}") from None
    check_forks(config["grid"])
    check_analysed_epochs(config)
    train_rules(config)  # rule names must be unique


def check_forks(grid: Mapping[str, Any]) -> None:
    """Forks need both lists, and each fork epoch a checkpoint with one after it: children
    resume their parent's dump at the fork epoch, and train to the checkpoints past it."""
    epochs, seeds = grid.get("fork_epochs", []), grid.get("fork_seeds", [])
    if bool(epochs) != bool(seeds):
        given, missing = ("fork_epochs", "fork_seeds") if epochs else ("fork_seeds", "fork_epochs")
        raise ConfigError(
            f"grid.{given} is set but grid.{missing} is empty: forked children need both "
            "(the epochs they share with their parent, and the seeds of their data order "
            "after it); give both lists or neither"
        )
    points = checkpoints(grid)
    for k in epochs:
        if k not in points:
            raise ConfigError(
                f"grid.fork_epochs: {k} is not a checkpoint; add it to grid.epochs (the "
                "children resume their parent's dump at the fork epoch)"
            )
        if k >= points[-1]:
            raise ConfigError(
                f"grid.fork_epochs: {k} is not below the last checkpoint {points[-1]}, so the "
                "children would never train past the fork; add a larger checkpoint to grid.epochs"
            )
    sizes = grid.get("fork_sizes")
    for i, entry in enumerate(sizes or []):
        if list(entry) not in [list(s) for s in grid["sizes"]]:
            raise ConfigError(
                f"grid.fork_sizes[{i}] = {list(entry)} is not one of grid.sizes: only networks "
                "of the grid can have forked children"
            )


def check_analysed_epochs(config: Mapping[str, Any]) -> None:
    """analysis.epochs must be checkpoints and include the last one: the grid is trained to
    the checkpoints its groups need, so leaving out the last would leave training short."""
    epochs = analysed_epochs(config)
    if epochs is None:
        return
    points = checkpoints(config["grid"])
    for e in sorted(epochs):
        if e not in points:
            raise ConfigError(f"analysis.epochs: {e} is not a checkpoint of grid.epochs {points}")
    if points[-1] not in epochs:
        raise ConfigError(
            f"analysis.epochs must include the last checkpoint {points[-1]} (the grid is "
            "trained only as far as its compared groups need)"
        )


def analysed_epochs(config: Mapping[str, Any]) -> set[int] | None:
    """The checkpoints whose groups are compared (analysis.epochs); None: every checkpoint.

    A sweep that forks at several epochs needs those epochs as checkpoints, but its question
    is about the end of training: comparing every checkpoint's group would cost an analysis
    job each (3 per group, the fixed part dominating on small groups) for tables no figure
    of the sweep reads.
    """
    epochs = config.get("analysis", {}).get("epochs")
    return None if epochs is None else {int(e) for e in epochs}


def forked_sizes(grid: Mapping[str, Any], sizes: str) -> bool:
    """Whether networks of ``sizes`` ("784-30-10") have forked children: grid.fork_sizes
    (absent or null: every size). Forking every width of a width sweep multiplies its
    cost by the children's; the fork curve needs one width."""
    chosen = grid.get("fork_sizes")
    return chosen is None or sizes in {format_sizes(s) for s in chosen}


def model_variant(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The grid.models entry called ``name``."""
    for variant in config["grid"]["models"]:
        if variant["name"] == name:
            return variant
    raise ConfigError(f"grid.models has no model named {name!r}")


def model_settings(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A model variant's training settings: the ``train`` section, then its overrides."""
    variant = dict(model_variant(config, name))
    for key in ("name", "etas"):
        variant.pop(key, None)
    settings = {**config["train"], **variant}
    family = settings.setdefault("model", "mlp")
    if family in CONVEX_COSTS:
        settings["cost"] = CONVEX_COSTS[family]  # the one cost each convex control has
        if "activation" not in variant:  # train.activation is the MLPs' (no hidden layer here)
            settings.pop("activation", None)
    return settings


def model_sizes(config: Mapping[str, Any], name: str) -> list[list[int]]:
    """The MLP takes grid.sizes; the convex controls have the single layer [784, 10]."""
    family = model_variant(config, name).get("model", "mlp")
    return config["grid"]["sizes"] if family == "mlp" else [[784, 10]]


def model_etas(config: Mapping[str, Any], name: str) -> list[float]:
    return model_variant(config, name).get("etas", config["grid"]["etas"])


def seed_pairs(grid: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(init_seed, order_seed) of every network of one group."""
    if grid["design"] == "paired":
        return list(zip(grid["init_seeds"], grid["order_seeds"], strict=True))
    return list(itertools.product(grid["init_seeds"], grid["order_seeds"]))


@dataclasses.dataclass(frozen=True)
class Fork:
    """Where children leave their parents: after ``epoch`` epochs, with order seed ``seed``."""

    epoch: int
    seed: int

    def wildcards(self) -> dict[str, int]:
        return {"fork_epoch": self.epoch, "fork_seed": self.seed}


@dataclasses.dataclass(frozen=True)
class Block:
    """The networks of a group that one workflow job trains together.

    Members are (init_seed, order_seed) pairs. Every group of the grid has the same
    blocks, because the seeds are grid-wide; a block's job trains its members for
    one (model, sizes, eta) to one checkpoint, resuming their previous one. A block
    with a ``fork`` holds the children of the members forked at ``fork.epoch`` with
    seed ``fork.seed`` (``forked``): a parent block's twin, one per fork.
    """

    members: tuple[tuple[int, int], ...]
    fork: Fork | None = None

    @property
    def name(self) -> str:
        """``i0o0-i0o7``: its first and last member, which identify it within a grid;
        ``i0o0-i0o7-fork2-seed0`` for its children forked at epoch 2 with seed 0."""
        first, last = (f"i{i}o{o}" for i, o in (self.members[0], self.members[-1]))
        name = first if len(self.members) == 1 else f"{first}-{last}"
        return name if self.fork is None else f"{name}-fork{self.fork.epoch}-seed{self.fork.seed}"

    def forked(self, fork: Fork) -> Block:
        """The children of this block's members at ``fork``."""
        return Block(self.members, fork)

    @property
    def parents(self) -> Block:
        """The block its members were forked from (itself, if not forked)."""
        return Block(self.members)

    def weights(self, **wildcards: Any) -> list[str]:
        """The members' dumps; wildcards not given stay Snakemake wildcards."""
        keys = ("model", "sizes", "eta", "epochs")
        fields = {key: wildcards.get(key, f"{{{key}}}") for key in keys}
        if self.fork is not None:
            fields.update(self.fork.wildcards())
        pattern = WEIGHTS if self.fork is None else CHILD_WEIGHTS
        return [pattern.format(**fields, init_seed=i, order_seed=o) for i, o in self.members]

    def resume_weights(self, grid: Mapping[str, Any], epochs: int, **wildcards: Any) -> list[str]:
        """The dumps that training to checkpoint ``epochs`` continues: the previous
        checkpoint's, which for children at or below the fork are their parents' (so the
        shared stretch is trained once); none from scratch."""
        previous = previous_checkpoint(grid, epochs)
        if previous is None:
            return []
        if self.fork is not None:
            if epochs <= self.fork.epoch:
                raise ConfigError(
                    f"{self.name}: a child's dump at epochs {epochs} <= its fork epoch "
                    f"{self.fork.epoch} is its parent's; ask for the parent's path instead"
                )
            if previous <= self.fork.epoch:
                return self.parents.weights(**wildcards, epochs=previous)
        return self.weights(**wildcards, epochs=previous)


def seed_blocks(grid: Mapping[str, Any]) -> list[Block]:
    """The blocks of every group: the seed pairs cut into runs of ``grid.block_size``.

    Cut so that a grid grows incrementally: ``crossed`` cuts each init seed's networks,
    in the order of ``order_seeds``; ``paired`` cuts the list of pairs. Appending seeds
    to the lists therefore changes at most the last block of each init seed (crossed)
    or the last block (paired); every other block, and its dumps, stays as it is.
    """
    size = grid["block_size"]
    if grid["design"] == "paired":
        runs = [seed_pairs(grid)]
    else:
        runs = [[(i, o) for o in grid["order_seeds"]] for i in grid["init_seeds"]]
    return [Block(tuple(run[k : k + size])) for run in runs for k in range(0, len(run), size)]


@dataclasses.dataclass(frozen=True)
class Setting:
    """What one train rule fixes: (model, sizes, eta); the checkpoint stays a wildcard.

    There is a train rule per setting and block, not per block with the setting as
    wildcards: then every rule's outputs have a constant path prefix up to the seeds,
    and Snakemake's output index finds a dump's producer by that prefix instead of
    testing the pattern of every train rule, so planning grows about linearly with the
    grid (with the setting as wildcards, 4,096 networks took minutes to plan).
    """

    model: str
    sizes: str
    eta: str

    def wildcards(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    def rule_name(self, block: Block) -> str:
        """``train_mlp_784_30_10_eta3_0_i0o0_to_i0o7``: a Python identifier (children:
        ``..._i0o0_to_i0o7_fork2_seed0``)."""
        members = Block(block.members).name.replace("-", "_to_")
        fork = [] if block.fork is None else [f"fork{block.fork.epoch}", f"seed{block.fork.seed}"]
        words = (self.model, self.sizes, f"eta{self.eta}", members, *fork)
        return "train_" + re.sub(r"[^A-Za-z0-9]", "_", "_".join(words))


def forks(grid: Mapping[str, Any]) -> list[Fork]:
    """Every (fork epoch, fork seed) of the grid; none without grid.fork_epochs."""
    return [
        Fork(k, f)
        for k, f in itertools.product(grid.get("fork_epochs", []), grid.get("fork_seeds", []))
    ]


def train_blocks(grid: Mapping[str, Any], sizes: str | None = None) -> list[Block]:
    """Every block a setting trains: the seed blocks, then each one's children per fork
    (none for ``sizes`` that grid.fork_sizes leaves out).

    A child block is its parent block forked at one (epoch, seed), so appending fork
    seeds or epochs adds blocks and never changes one.
    """
    parents = seed_blocks(grid)
    if sizes is not None and not forked_sizes(grid, sizes):
        return parents
    return parents + [block.forked(fork) for fork in forks(grid) for block in parents]


def train_rules(config: Mapping[str, Any]) -> list[tuple[str, Setting, Block]]:
    """(rule name, setting, block) of every train rule, settings in the order of ``groups``."""
    settings = dict.fromkeys(Setting(g.model, g.sizes, g.eta) for g in groups(config))
    rules: dict[str, tuple[Setting, Block]] = {}
    for setting in settings:
        for block in train_blocks(config["grid"], setting.sizes):
            name = setting.rule_name(block)
            if name in rules:
                other = rules[name][0]
                raise ConfigError(
                    f"grid.models: model {other.model!r} (sizes {other.sizes}, eta {other.eta}) "
                    f"and model {setting.model!r} (sizes {setting.sizes}, eta {setting.eta}) "
                    f"would share the train rule {name} (rule names keep only letters and "
                    "digits); rename a model"
                )
            rules[name] = (setting, block)
    return [(name, setting, block) for name, (setting, block) in rules.items()]


def checkpoints(grid: Mapping[str, Any]) -> list[int]:
    """The epochs checkpoints, sorted, always including 0 (the initialisation)."""
    return sorted({0, *grid["epochs"]})


def previous_checkpoint(grid: Mapping[str, Any], epochs: int) -> int | None:
    """The largest checkpoint below ``epochs``, from which its training resumes."""
    below = [e for e in checkpoints(grid) if e < epochs]
    return below[-1] if below else None


@dataclasses.dataclass(frozen=True)
class Group:
    """One group of networks compared pairwise: same model, sizes, eta and epochs.

    With a ``fork_epoch``, the group of every child forked at that epoch (each parent of
    the grid x each fork seed), apart from the parents' group: its pairs include the
    siblings, children of one parent that differ only in their fork seeds
    (``twinnets.compare.groups.pair_kind``).
    """

    model: str
    sizes: str
    eta: str
    epochs: int
    fork_epoch: int | None = None

    @classmethod
    def of(cls, wildcards: Mapping[str, Any]) -> Group:
        """The group that a table path's wildcards name."""
        fork = wildcards.get("fork_epoch")
        return cls(
            str(wildcards["model"]),
            str(wildcards["sizes"]),
            str(wildcards["eta"]),
            int(wildcards["epochs"]),
            None if fork is None else int(fork),
        )

    def wildcards(self) -> dict[str, Any]:
        fields = dataclasses.asdict(self)
        if self.fork_epoch is None:
            del fields["fork_epoch"]
        return fields

    def table(self, table: str) -> str:
        """The path of this group's table ``table`` (pairs, networks or curves)."""
        folder = GROUP_FOLDER if self.fork_epoch is None else FORK_GROUP_FOLDER
        return GROUP_TABLE.format(folder=folder.format(**self.wildcards()), table=table)


def groups(config: Mapping[str, Any]) -> Iterator[Group]:
    """Every group of the grid: each model variant's sizes x etas x checkpoints, then per
    fork epoch K the children's groups at each checkpoint past K (for the sizes of
    grid.fork_sizes); only the checkpoints of analysis.epochs, if it is set."""
    grid = config["grid"]
    settings = [
        (name, format_sizes(sizes), format_eta(eta))
        for name in (m["name"] for m in grid["models"])
        for sizes, eta in itertools.product(model_sizes(config, name), model_etas(config, name))
    ]
    analysed = analysed_epochs(config)
    points = [e for e in checkpoints(grid) if analysed is None or e in analysed]
    for setting in settings:
        for epochs in points:
            yield Group(*setting, epochs)
    for setting in settings:
        if not forked_sizes(grid, setting[1]):
            continue
        for k in grid.get("fork_epochs", []):
            for epochs in (e for e in points if e > k):
                yield Group(*setting, epochs, k)


def weights_paths(config: Mapping[str, Any], group: Group) -> list[str]:
    """The dumps of every network in ``group``: its parents', or their children's at the
    group's fork epoch with every fork seed."""
    grid = config["grid"]
    fields = {"model": group.model, "sizes": group.sizes, "eta": group.eta, "epochs": group.epochs}
    if group.fork_epoch is None:
        return [WEIGHTS.format(**fields, init_seed=i, order_seed=o) for i, o in seed_pairs(grid)]
    return [
        CHILD_WEIGHTS.format(
            **fields, init_seed=i, order_seed=o, **Fork(group.fork_epoch, f).wildcards()
        )
        for i, o in seed_pairs(grid)
        for f in grid.get("fork_seeds", [])
    ]


def all_weights(config: Mapping[str, Any]) -> list[str]:
    return [path for group in groups(config) for path in weights_paths(config, group)]


def headline_dumps(config: Mapping[str, Any]) -> list[str]:
    """Every dump with a hidden layer at the largest checkpoint: the networks that the
    figures of hidden units may choose their pair A, B from."""
    last = checkpoints(config["grid"])[-1]
    return [
        path
        for group in groups(config)
        if group.fork_epoch is None and group.epochs == last and len(parse_sizes(group.sizes)) > 2
        for path in weights_paths(config, group)
    ]


def shared_settings(config: Mapping[str, Any], wildcards: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that a block's networks share: all but their init and order seeds
    (a child block's fork among them)."""
    settings = train_config(config, {**wildcards, "init_seed": 0, "order_seed": 0}).to_dict()
    del settings["init_seed"], settings["order_seed"]
    return settings


def train_config(config: Mapping[str, Any], wildcards: Mapping[str, Any]) -> TrainConfig:
    """The TrainConfig of the network that a weights path names (a child's: with its fork)."""
    fork = {key: int(wildcards[key]) for key in ("fork_epoch", "fork_seed") if key in wildcards}
    return TrainConfig(
        sizes=parse_sizes(wildcards["sizes"]),
        eta=float(wildcards["eta"]),
        epochs=int(wildcards["epochs"]),
        init_seed=int(wildcards["init_seed"]),
        order_seed=int(wildcards["order_seed"]),
        n_train=config["data"]["n_train"],
        **model_settings(config, wildcards["model"]),
        **fork,
    )
