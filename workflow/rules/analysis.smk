rule analyze:
    input:
        weights=group_weights,
        mnist=rules.download_mnist.output,
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
