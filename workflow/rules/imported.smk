# Imported networks (config key `imported`, twinnets.pipeline.imported): each file of a group
# becomes a dump, and the group is analysed like a group of the grid. Its outputs land in
# results/imported/<group>/; nothing here runs unless the config lists a group.

IMPORTED = imported.RuleFunctions(config)
IMPORTED_ROOT = "results/imported/{imported_group}"


wildcard_constraints:
    **{f"imported_{k}": v for k, v in imported.WILDCARD_PATTERNS.items()},


rule import_network:
    input:
        src=IMPORTED.source,
        mnist=rules.download_mnist.output,
    output:
        f"{IMPORTED_ROOT}/weights/{{imported_network}}.parquet",
    log:
        "logs/imported/{imported_group}/import/{imported_network}.log",
    benchmark:
        "benchmarks/imported/{imported_group}/import/{imported_network}.tsv"
    group:
        "imported"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=5,
    params:
        format=IMPORTED.setting("format"),
        activation=IMPORTED.setting("activation"),
        code=code("import_network.py"),
    script:
        "../../scripts/import_network.py"


rule analyze_imported:
    input:
        weights=IMPORTED.weights,
        mnist=rules.download_mnist.output,
    output:
        pairs=f"{IMPORTED_ROOT}/tables/pairs.parquet",
        networks=f"{IMPORTED_ROOT}/tables/networks.parquet",
        curves=f"{IMPORTED_ROOT}/tables/curves.parquet",
        summary=f"{IMPORTED_ROOT}/tables/summary.csv",
    log:
        "logs/imported/{imported_group}/analyze.log",
    benchmark:
        "benchmarks/imported/{imported_group}/analyze.tsv"
    group:
        "imported"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=IMPORTED.mem_mb,
        runtime=IMPORTED.runtime,
    params:
        group=lambda wildcards: wildcards.imported_group,
        barrier_pairs=config["analysis"]["barrier_pairs"],
        unseen_variance=config["analysis"]["unseen_variance"],
        code=code("analyze_imported.py"),
    script:
        "../../scripts/analyze_imported.py"


rule answer_imported:
    input:
        summary=rules.analyze_imported.output.summary,
        pairs=rules.analyze_imported.output.pairs,
        networks=rules.analyze_imported.output.networks,
    output:
        answer=f"{IMPORTED_ROOT}/answer.md",
        svg=f"{IMPORTED_ROOT}/figures/distances.svg",
        png=f"{IMPORTED_ROOT}/figures/distances.png",
    log:
        "logs/imported/{imported_group}/answer.log",
    benchmark:
        "benchmarks/imported/{imported_group}/answer.tsv"
    group:
        "imported"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        group=lambda wildcards: wildcards.imported_group,
        code=code("answer_imported.py"),
    script:
        "../../scripts/answer_imported.py"


rule all_imported:
    # `snakemake all_imported`: only the imported groups, without training the grid
    input:
        imported.targets(config),
