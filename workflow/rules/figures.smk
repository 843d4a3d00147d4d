# The figures of a run (SVG for the report, PNG for the README) and the report's pages.
# All drawing is in twinnets/report/figures.py; scripts/plot.py calls the function that the
# rule's `figure` param names ("module:function"), which is also an entry of the rule's code
# hash: editing one figure's code reruns that figure only. `snakemake --report
# results/report.html` collects every output marked with report(), captions in
# workflow/report/.

FIGURES = "results/figures"
FIGURE_NAMES = [
    "1-question",
    "2-receptive-fields",
    "3-distance-matrices",
    "4-over-training",
    "5-barriers",
    "6-similarity-vs-distance",
    "7-convex-control",
    "8-accuracy-grid",
]
ALL_FIGURES = expand(
    f"{FIGURES}/{{name}}.{{ext}}", name=FIGURE_NAMES, ext=["svg", "png"]
)

# Figures 1 and 2 draw two MLP networks at the largest checkpoint, chosen from the tables
# (twinnets.report.figures.choose_pair): they depend on every dump that could be chosen.
HEADLINE_DUMPS = grid.headline_dumps(config)


rule figure_question:
    input:
        pairs=rules.gather_tables.output.pairs,
        networks=rules.gather_tables.output.networks,
        weights=HEADLINE_DUMPS,
    output:
        report(
            f"{FIGURES}/1-question.svg",
            caption="../report/question.rst",
            category="1. The question",
        ),
        f"{FIGURES}/1-question.png",
    log:
        "logs/figures/1-question.log",
    benchmark:
        "benchmarks/figures/1-question.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="twinnets.report.figures:question",
        options={"rows": 10},
        code=code("plot.py", "twinnets.report.figures:question"),
    script:
        "../../scripts/plot.py"


rule figure_receptive_fields:
    input:
        pairs=rules.gather_tables.output.pairs,
        networks=rules.gather_tables.output.networks,
        weights=HEADLINE_DUMPS,
        mnist=rules.download_mnist.output,
    output:
        report(
            f"{FIGURES}/2-receptive-fields.svg",
            caption="../report/receptive_fields.rst",
            category="2. Receptive fields",
        ),
        f"{FIGURES}/2-receptive-fields.png",
    log:
        "logs/figures/2-receptive-fields.log",
    benchmark:
        "benchmarks/figures/2-receptive-fields.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=5,
    params:
        figure="twinnets.report.figures:receptive_fields",
        options={},
        code=code("plot.py", "twinnets.report.figures:receptive_fields"),
    script:
        "../../scripts/plot.py"


rule figure_distance_matrices:
    input:
        pairs=rules.gather_tables.output.pairs,
    output:
        report(
            f"{FIGURES}/3-distance-matrices.svg",
            caption="../report/distance_matrices.rst",
            category="3. Distance matrices",
        ),
        f"{FIGURES}/3-distance-matrices.png",
    log:
        "logs/figures/3-distance-matrices.log",
    benchmark:
        "benchmarks/figures/3-distance-matrices.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="twinnets.report.figures:distance_matrices",
        options={},
        code=code("plot.py", "twinnets.report.figures:distance_matrices"),
    script:
        "../../scripts/plot.py"


rule figure_over_training:
    input:
        pairs=rules.gather_tables.output.pairs,
        networks=rules.gather_tables.output.networks,
    output:
        report(
            f"{FIGURES}/4-over-training.svg",
            caption="../report/over_training.rst",
            category="4. Over training",
        ),
        f"{FIGURES}/4-over-training.png",
    log:
        "logs/figures/4-over-training.log",
    benchmark:
        "benchmarks/figures/4-over-training.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="twinnets.report.figures:over_training",
        options={},
        code=code("plot.py", "twinnets.report.figures:over_training"),
    script:
        "../../scripts/plot.py"


rule figure_barriers:
    input:
        curves=rules.gather_tables.output.curves,
        pairs=rules.gather_tables.output.pairs,
        networks=rules.gather_tables.output.networks,
    output:
        report(
            f"{FIGURES}/5-barriers.svg",
            caption="../report/barriers.rst",
            category="5. Barriers",
        ),
        f"{FIGURES}/5-barriers.png",
    log:
        "logs/figures/5-barriers.log",
    benchmark:
        "benchmarks/figures/5-barriers.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="twinnets.report.figures:barrier_curves",
        options={},
        code=code("plot.py", "twinnets.report.figures:barrier_curves"),
    script:
        "../../scripts/plot.py"


rule figure_similarity:
    input:
        pairs=rules.gather_tables.output.pairs,
    output:
        report(
            f"{FIGURES}/6-similarity-vs-distance.svg",
            caption="../report/similarity.rst",
            category="6. Similarity vs distance",
        ),
        f"{FIGURES}/6-similarity-vs-distance.png",
    log:
        "logs/figures/6-similarity-vs-distance.log",
    benchmark:
        "benchmarks/figures/6-similarity-vs-distance.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="twinnets.report.figures:similarity_vs_distance",
        options={},
        code=code("plot.py", "twinnets.report.figures:similarity_vs_distance"),
    script:
        "../../scripts/plot.py"


rule figure_convex_control:
    input:
        pairs=rules.gather_tables.output.pairs,
    output:
        report(
            f"{FIGURES}/7-convex-control.svg",
            caption="../report/convex_control.rst",
            category="7. Convex control",
        ),
        f"{FIGURES}/7-convex-control.png",
    log:
        "logs/figures/7-convex-control.log",
    benchmark:
        "benchmarks/figures/7-convex-control.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="twinnets.report.figures:convex_control",
        options={},
        code=code("plot.py", "twinnets.report.figures:convex_control"),
    script:
        "../../scripts/plot.py"


rule figure_accuracy_grid:
    input:
        networks=rules.gather_tables.output.networks,
    output:
        report(
            f"{FIGURES}/8-accuracy-grid.svg",
            caption="../report/accuracy_grid.rst",
            category="8. Accuracy grid",
        ),
        f"{FIGURES}/8-accuracy-grid.png",
    log:
        "logs/figures/8-accuracy-grid.log",
    benchmark:
        "benchmarks/figures/8-accuracy-grid.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="twinnets.report.figures:accuracy_grid",
        options={},
        code=code("plot.py", "twinnets.report.figures:accuracy_grid"),
    script:
        "../../scripts/plot.py"


rule report_tables:
    input:
        answer=rules.answer.output[0],
        summary=rules.gather_tables.output.summary,
    output:
        answer=report(
            "results/report/answer.html",
            caption="../report/answer.rst",
            category="0. The answer",
        ),
        summary=report(
            "results/report/summary.html",
            caption="../report/summary.rst",
            category="0. The answer",
        ),
        summary_csv=report(
            "results/report/summary.csv",
            caption="../report/summary_csv.rst",
            category="0. The answer",
        ),
    log:
        "logs/report_tables.log",
    benchmark:
        "benchmarks/report_tables.tsv"
    group:
        "analysis"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code("plot_tables.py"),
    script:
        "../../scripts/plot_tables.py"
