from snakemake.utils import validate

from twinnets import grid
from twinnets.mnist import FILES as MNIST_FILES
from twinnets.codehash import source_hash

validate(config, schema="../schemas/config.schema.yaml", set_default=True)
grid.check_config(config)


wildcard_constraints:
    **grid.WILDCARD_PATTERNS,


ENV = "../../envs/twinnets.yaml"
SCRIPTS = Path(workflow.basedir) / "scripts"


def code(script):
    """Hash of the script and the twinnets modules it imports: edits rerun its rule."""
    return source_hash(SCRIPTS / script)


def all_weights(config):
    return grid.all_weights(config)


def group_weights(wildcards):
    """The dumps compared in one (sizes, eta, epochs) group."""
    return grid.weights_paths(config, grid.Cell(**wildcards))


def resume_from(wildcards):
    """The dump of the previous checkpoint of the same network, if any."""
    previous = grid.previous_checkpoint(config["grid"], int(wildcards.epochs))
    if previous is None:
        return []
    return grid.WEIGHTS.format(**{**wildcards, "epochs": previous})


def train_settings(wildcards):
    return grid.train_config(config, wildcards).to_dict()


def group_inits(wildcards):
    """The epochs=0 dumps of the same networks: each one's own initialisation."""
    return grid.weights_paths(config, grid.Cell(**{**wildcards, "epochs": 0}))


GROUP_TABLE = "results/tables/groups/sizes={{sizes}}/eta={{eta}}/epochs={{epochs}}/{table}.parquet"


def group_tables(table):
    """One table of every (sizes, eta, epochs) group."""
    pattern = GROUP_TABLE.format(table=table)
    return [pattern.format(**cell.wildcards()) for cell in grid.cells(config)]
