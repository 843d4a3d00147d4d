# The figures of a run (SVG for the report, PNG for the README) and the report's pages.
# Every figure is declared once, in twinnets/pipeline/figures.py (FIGURES): its rule, files,
# caption, report category and drawing function follow from its name. scripts/plot.py
# draws the function that the rule's `figure` param names (a dotted path into
# twinnets/report/figures/). `snakemake --report results/report.html` collects every
# output marked with report(), captions in workflow/report/.

from twinnets.pipeline import figures as figure_specs

# A sweep's figures (config/converge.yaml) only where the config has the sweep.
ALL_FIGURES = figure_specs.targets(config)

# Figures 1 and 2 draw two MLP networks at the largest checkpoint, chosen from the tables
# (twinnets.report.figures.pair.choose_pair): they depend on every dump that could be chosen.
HEADLINE_DUMPS = grid.headline_dumps(config)

# What a figure may read (figure_specs.INPUTS), by its function's parameter name.
FIGURE_INPUTS = {
    "curves": rules.gather_tables.output.curves,
    "pairs": rules.gather_tables.output.pairs,
    "networks": rules.gather_tables.output.networks,
    "weights": HEADLINE_DUMPS,
    "mnist": rules.download_mnist.output,
    "summary": rules.gather_tables.output.summary,
}


for spec in figure_specs.FIGURES:

    rule:
        name:
            spec.rule
        input:
            **{key: FIGURE_INPUTS[key] for key in spec.inputs},
        output:
            report(
                spec.path("svg"),
                caption=f"../report/{spec.caption}",
                category=spec.category,
            ),
            spec.path("png"),
        log:
            spec.log,
        benchmark:
            spec.benchmark
        group:
            "analysis"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=spec.mem_mb,
            runtime=spec.runtime,
        params:
            figure=spec.function,
            options=spec.options,
            code=code("plot.py", spec.function),
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
