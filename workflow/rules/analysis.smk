# A group's pairs in shards (twinnets.compare.shards, config analysis.shard_networks): each
# analyze_shard job compares the pairs between two tiles of networks; analyze merges them
# in the unsharded order and adds the per-network table.
rule analyze_shard:
    input:
        weights=group_weights,
        mnist=rules.download_mnist.output,
    output:
        pairs=SHARD_TABLE.format(table="pairs"),
        curves=SHARD_TABLE.format(table="curves"),
    log:
        "logs/analyze_shard/model={model}/sizes={sizes}/eta={eta}/epochs={epochs}/shard={shard}.log",
    benchmark:
        "benchmarks/analyze_shard/model={model}/sizes={sizes}/eta={eta}/epochs={epochs}/shard={shard}.tsv"
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
        shard_networks=config["analysis"]["shard_networks"],
        barrier_pairs=config["analysis"]["barrier_pairs"],
        max_pairs=config["analysis"]["max_pairs"],
        unseen_variance=config["analysis"]["unseen_variance"],
        code=code("analyze_shard.py"),
    script:
        "../../scripts/analyze_shard.py"


rule analyze:
    input:
        weights=group_weights,
        mnist=rules.download_mnist.output,
        pairs=shard_tables("pairs"),
        curves=shard_tables("curves"),
    output:
        pairs=GROUP_TABLE.format(table="pairs"),
        networks=GROUP_TABLE.format(table="networks"),
        curves=GROUP_TABLE.format(table="curves"),
    log:
        "logs/analyze/model={model}/sizes={sizes}/eta={eta}/epochs={epochs}.log",
    benchmark:
        "benchmarks/analyze/model={model}/sizes={sizes}/eta={eta}/epochs={epochs}.tsv"
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
