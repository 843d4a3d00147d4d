"""Snakemake entry point: draw the figure that the rule's ``figure`` param names."""

from twinnets import figures
from twinnets.workflow import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    figures.draw(sm.params.figure, dict(sm.input.items()), list(sm.output), **sm.params.options)
