# twinnets: two networks trained on the same data end with very different weights.
# Why, and how different are they really? See README.md; the DAG is in workflow/rules/.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/imported.smk"


rule all:
    default_target: True
    input:
        all_weights(config),
        rules.gather_tables.output,
        rules.answer.output,
        ALL_FIGURES,
        rules.report_tables.output,
        imported.targets(config),
