"""Snakemake entry point: draw the figure whose function the rule's ``figure`` param names."""

from twinnets.pipeline.jobs import job
from twinnets.report.figures import draw

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    draw(sm.params.figure, dict(sm.input.items()), list(sm.output), **sm.params.options)
