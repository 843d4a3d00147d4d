"""Snakemake entry point: draw the figure that the rule's ``figure`` param names."""

from twinnets.pipeline.jobs import job
from twinnets.report import figures

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    figures.draw(sm.params.figure, dict(sm.input.items()), list(sm.output), **sm.params.options)
