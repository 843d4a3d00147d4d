# A group's pairs in shards (twinnets.compare.shards, config analysis.shard_networks): the
# plan job reads every dump once, fixes which pairs are analysed and which get barriers
# (one part of the plan per shard), and packs the dumps into one file per tile; each shard
# job reads its part of the plan and its own two tiles only (two inputs, however large the
# group: the DAG grows with the shards) and compares the pairs between them; the group's
# job merges them in the unsharded order and adds the per-network table. The plan job is
# in a group of its own: were it in the shards' group, a group's shards would be one
# connected component, and Snakemake checks a group's components in time quadratic in
# their size (4,096 networks: minutes). Two kinds of group (grid.groups): the grid's
# (model, sizes, eta, epochs), and the children forked at an epoch (fork_epoch=).
for name, folder in (
    ("analyze", grid.GROUP_FOLDER),
    ("analyze_forks", grid.FORK_GROUP_FOLDER),
):

    rule:
        name:
            f"{name}_plan"
        input:
            weights=group_weights,
        output:
            plan=directory(shard_plan(folder)),
            tiles=directory(shard_tiles(folder)),
        log:
            f"logs/{name}_plan/{folder}.log",
        benchmark:
            f"benchmarks/{name}_plan/{folder}.tsv"
        group:
            "plans"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=plan_mem_mb,
            runtime=plan_runtime,
        params:
            barrier_pairs=config["analysis"]["barrier_pairs"],
            max_pairs=config["analysis"]["max_pairs"],
            tile=group_tile,
            code=code("plan_pairs.py"),
        script:
            "../../scripts/plan_pairs.py"

    rule:
        name:
            f"{name}_shard"
        input:
            plan=shard_plan(folder),
            tiles=shard_tiles(folder),
            mnist=rules.download_mnist.output,
        output:
            pairs=shard_table(folder, "pairs"),
            curves=shard_table(folder, "curves"),
        log:
            f"logs/{name}_shard/{folder}/shard={{shard}}.log",
        benchmark:
            f"benchmarks/{name}_shard/{folder}/shard={{shard}}.tsv"
        group:
            "shards"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=shard_mem_mb,
            runtime=shard_runtime,
        params:
            model=lambda wildcards: wildcards.model,
            unseen_variance=config["analysis"]["unseen_variance"],
            code=code("analyze_shard.py"),
        script:
            "../../scripts/analyze_shard.py"

    rule:
        name:
            name
        input:
            weights=group_weights,
            mnist=rules.download_mnist.output,
            pairs=shard_tables(folder, "pairs"),
            curves=shard_tables(folder, "curves"),
        output:
            pairs=grid.GROUP_TABLE.format(folder=folder, table="pairs"),
            networks=grid.GROUP_TABLE.format(folder=folder, table="networks"),
            curves=grid.GROUP_TABLE.format(folder=folder, table="curves"),
        log:
            f"logs/{name}/{folder}.log",
        benchmark:
            f"benchmarks/{name}/{folder}.tsv"
        group:
            "analysis"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=networks_mem_mb,
            runtime=networks_runtime,
        params:
            model=lambda wildcards: wildcards.model,
            unseen_variance=config["analysis"]["unseen_variance"],
            code=code("analyze_group.py"),
        script:
            "../../scripts/analyze_group.py"


rule gather_tables:
    input:
        pairs=group_tables("pairs"),
        networks=group_tables("networks"),
        curves=group_tables("curves"),
    output:
        pairs="results/tables/pairs.parquet",
        pairs_csv="results/tables/pairs.csv",
        networks="results/tables/networks.parquet",
        curves="results/tables/curves.parquet",
        summary="results/tables/summary.csv",
    log:
        "logs/gather_tables.log",
    benchmark:
        "benchmarks/gather_tables.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=tables_mem_mb,
        runtime=tables_runtime,
    params:
        code=code("gather_tables.py"),
    script:
        "../../scripts/gather_tables.py"


rule answer:
    input:
        summary=rules.gather_tables.output.summary,
        networks=rules.gather_tables.output.networks,
        pairs=rules.gather_tables.output.pairs,
    output:
        "results/answer.md",
    log:
        "logs/answer.log",
    benchmark:
        "benchmarks/answer.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=tables_mem_mb,
        runtime=tables_runtime,
    params:
        code=code("answer.py"),
    script:
        "../../scripts/answer.py"
