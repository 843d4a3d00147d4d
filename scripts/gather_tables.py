"""Snakemake entry point: all groups' tables as one, plus the per-kind summary."""

from twinnets.compare.summary import gather_tables
from twinnets.pipeline.jobs import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    gather_tables(sm.input.pairs, sm.input.networks, sm.input.curves, sm.output)
