"""Snakemake entry point: the answer and the summary table as pages of the report."""

from pathlib import Path

from twinnets._io import atomic_write_bytes
from twinnets.pipeline.jobs import job
from twinnets.report import pages

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    pages.answer_page(sm.input.answer, sm.output.answer)
    pages.summary_page(sm.input.summary, sm.output.summary)
    atomic_write_bytes(sm.output.summary_csv, Path(sm.input.summary).read_bytes())
