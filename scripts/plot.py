"""Snakemake entry point: draw the figure whose dotted path the rule's ``figure`` param holds.

It names no figure itself, so that the code a figure job depends on is its own figure's.
"""

from twinnets.pipeline.jobs import job
from twinnets.report.figures.drawing import draw

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    draw(sm.params.figure, dict(sm.input.items()), list(sm.output), **sm.params.options)
