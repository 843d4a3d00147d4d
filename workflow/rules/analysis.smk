rule divergence:
    input:
        group_weights,
    output:
        parquet="results/tables/divergence/sizes={sizes}/eta={eta}/epochs={epochs}/divergence.parquet",
    log:
        "logs/divergence/sizes={sizes}/eta={eta}/epochs={epochs}.log",
    benchmark:
        "benchmarks/divergence/sizes={sizes}/eta={eta}/epochs={epochs}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code("divergence.py"),
    script:
        "../../scripts/divergence.py"


rule divergence_table:
    input:
        group_tables(
            "results/tables/divergence/sizes={sizes}/eta={eta}/epochs={epochs}/divergence.parquet"
        ),
    output:
        parquet="results/tables/divergence.parquet",
        csv="results/tables/divergence.csv",
    log:
        "logs/divergence_table.log",
    benchmark:
        "benchmarks/divergence_table.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code("concat_tables.py"),
    script:
        "../../scripts/concat_tables.py"
