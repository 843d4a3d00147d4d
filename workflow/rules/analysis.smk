# One analysis job per group (grid.groups): the grid's (model, sizes, eta, epochs) groups,
# and the groups of children forked at an epoch (their own rule, paths with fork_epoch=).
for name, folder in (
    ("analyze", grid.GROUP_FOLDER),
    ("analyze_forks", grid.FORK_GROUP_FOLDER),
):

    rule:
        name:
            name
        input:
            weights=group_weights,
            mnist=rules.download_mnist.output,
        output:
            pairs=grid.GROUP_TABLE.format(folder=folder, table="pairs"),
            networks=grid.GROUP_TABLE.format(folder=folder, table="networks"),
            curves=grid.GROUP_TABLE.format(folder=folder, table="curves"),
        log:
            f"logs/analyze/{folder}.log",
        benchmark:
            f"benchmarks/analyze/{folder}.tsv"
        group:
            "analysis"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=analyze_mem_mb,
            runtime=analyze_runtime,
        params:
            model=lambda wildcards: wildcards.model,
            barrier_pairs=config["analysis"]["barrier_pairs"],
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
