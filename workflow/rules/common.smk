import functools

from snakemake.utils import validate

from twinnets.pipeline import grid
from twinnets.pipeline import imported
from twinnets.data.mnist import DEFAULT_MIRRORS, FILES as MNIST_FILES
from twinnets.pipeline.codehash import source_hash
from twinnets.compare import pair_batch
from twinnets.compare import shards as pairshards

validate(config, schema="../schemas/config.schema.yaml", set_default=True)
config["mnist"].setdefault("mirrors", list(DEFAULT_MIRRORS))
grid.check_config(config)
imported.check_config(config)


wildcard_constraints:
    **grid.WILDCARD_PATTERNS,
    shard=pairshards.SHARD_PATTERN,


ENV = "../../envs/twinnets.yaml"
SCRIPTS = Path(workflow.basedir) / "scripts"


@functools.cache  # one hash per script and entries, however many rules run them
def code(script, *entries):
    """Hash of the code that the script runs (and that entries "module:function" reach)."""
    return source_hash(SCRIPTS / script, *entries)


def all_weights(config):
    return grid.all_weights(config)


@functools.cache  # a group's paths once, however many of its shards' functions ask
def _group_paths(group):
    return tuple(grid.weights_paths(config, group))


def group_weights(wildcards):
    """The dumps compared in one (model, sizes, eta, epochs) group, or in one group of
    children forked at an epoch (wildcard fork_epoch)."""
    return list(_group_paths(grid.Group.of(wildcards)))


def group_size(wildcards):
    return len(_group_paths(grid.Group.of(wildcards)))


# Training: one job per setting (model, sizes, eta), block of seeds (a parent block, or
# its children at one fork) and checkpoint (grid.train_rules). The functions below that
# take a setting and a block return the input, param or resource function of that block's
# rule; its wildcard is the checkpoint.


def resume_from(setting, block):
    """The block's dumps at the previous checkpoint, which its training continues (for
    children at the fork: their parents' dumps, so the shared epochs train once)."""

    def dumps(wildcards):
        epochs = int(wildcards.epochs)
        return block.resume_weights(config["grid"], epochs, **setting.wildcards())

    return dumps


def train_settings(setting, block):
    """What the block's networks share: all settings but their seeds (children: the fork)."""
    fork = {} if block.fork is None else block.fork.wildcards()

    def settings(wildcards):
        wildcards = {**setting.wildcards(), **fork, **wildcards}
        return grid.shared_settings(config, wildcards)

    return settings


def group_tables(table):
    """One table of every group: (model, sizes, eta, epochs), and the forked children's."""
    return [group.table(table) for group in grid.groups(config)]


# Analysis shards (twinnets.compare.shards): a group's networks cut into tiles of
# analysis.shard_networks (more where a group would have over shards.MAX_TILES tiles); the
# plan job packs each tile's dumps into one file, one analyze_shard job per pair of tiles
# reads its two, and the group's analyze job merges them and makes the per-network table.
def shard_table(folder, table):
    """The path pattern of one shard's table ``table`` of the groups in ``folder``."""
    return f"results/tables/groups/{folder}/shards/{{shard}}/{table}.parquet"


def shard_plan(folder):
    """The path pattern of the folder of the pair plan of the groups in ``folder``: one
    part per shard."""
    return f"results/tables/groups/{folder}/shards/plan"


def shard_tiles(folder):
    """The path pattern of the folder of the group's packed tiles: copies of its dumps that
    stay on disk. Were they temporary, rerunning one shard would remake them with the plan
    job, and so rerun every shard of the group."""
    return f"results/tables/groups/{folder}/shards/tiles"


def group_tile(wildcards):
    """Networks per tile of the group."""
    return pairshards.tile_size(
        group_size(wildcards), config["analysis"]["shard_networks"]
    )


def group_shards(wildcards):
    """The names of the group's shards ("0-0", "0-1", ...), in the group's pair order."""
    shards = pairshards.shards(group_size(wildcards), group_tile(wildcards))
    return [s.name for s in shards]


def shard_tables(folder, table):
    """One table of every shard of the group."""

    def tables(wildcards):
        pattern = shard_table(folder, table)
        return [
            pattern.format(**dict(wildcards.items()), shard=s)
            for s in group_shards(wildcards)
        ]

    return tables


# Resources a cluster scheduler can trust: derived from each job's work by
# twinnets.pipeline.resources (its docstrings say how), and scaled by `attempt` on retries.
from twinnets.pipeline import resources as jobres


def start_epoch(wildcards):
    """The epochs of the checkpoint that a train job resumes from (0: from scratch)."""
    return grid.previous_checkpoint(config["grid"], int(wildcards.epochs)) or 0


#: Threads of a train job: its block's networks run side by side, one per thread, each
#: bitwise as if trained alone (twinnets.train.network.train_block).
TRAIN_THREADS = 2


def train_threads(block):
    return min(TRAIN_THREADS, len(block.members))


def train_runtime(setting, block):
    def runtime(wildcards, attempt):
        settings = train_settings(setting, block)(wildcards)
        start = start_epoch(wildcards)
        return jobres.train_runtime(
            settings, start, attempt, len(block.members), train_threads(block)
        )

    return runtime


def train_mem_mb(setting, block):
    def mem_mb(wildcards, attempt):
        settings = train_settings(setting, block)(wildcards)
        return jobres.train_mem_mb(settings, attempt, len(block.members))

    return mem_mb


def shard_work(wildcards):
    """What one analyze_shard job compares: sizes, the group's networks, its own networks
    and pairs, training images, barriers, and whether it takes the many-pairs path."""
    n = group_size(wildcards)
    tile = group_tile(wildcards)
    networks, pairs = pairshards.shard_size(
        n, tile, pairshards.Shard.parse(wildcards.shard)
    )
    analysis = config["analysis"]
    sizes = grid.parse_sizes(wildcards.sizes)
    settings = grid.model_settings(config, wildcards.model)
    return (
        sizes,
        n,
        networks,
        pairs,
        config["data"]["n_train"],
        analysis["barrier_pairs"],
        pair_batch.applies(
            sizes, settings["model"], settings.get("activation", "sigmoid")
        ),
    )


def shard_runtime(wildcards, attempt):
    return jobres.shard_runtime(*shard_work(wildcards), attempt=attempt)


def shard_mem_mb(wildcards, attempt):
    return jobres.shard_mem_mb(*shard_work(wildcards), attempt=attempt)


def plan_runtime(wildcards, attempt):
    return jobres.plan_runtime(group_size(wildcards), attempt=attempt)


def plan_mem_mb(wildcards, attempt):
    return jobres.plan_mem_mb(group_size(wildcards), attempt=attempt)


def networks_work(wildcards):
    """What one group's analyze job does: the per-network table and the merge of its pairs."""
    n = group_size(wildcards)
    return (
        grid.parse_sizes(wildcards.sizes),
        n,
        n * (n - 1) // 2,
        config["data"]["n_train"],
    )


def networks_runtime(wildcards, attempt):
    return jobres.networks_runtime(*networks_work(wildcards), attempt=attempt)


def networks_mem_mb(wildcards, attempt):
    return jobres.networks_mem_mb(*networks_work(wildcards), attempt=attempt)


def all_pairs():
    """Pairs of networks compared over all groups: the rows of the gathered tables."""
    sizes = [len(_group_paths(group)) for group in grid.groups(config)]
    return sum(n * (n - 1) // 2 for n in sizes)


def tables_runtime(wildcards, attempt):
    return jobres.tables_runtime(all_pairs(), attempt)


def tables_mem_mb(wildcards, attempt):
    return jobres.tables_mem_mb(all_pairs(), attempt)
