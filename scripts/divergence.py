"""Snakemake entry point: the pairwise divergence table of one group of networks."""

from twinnets._io import write_frame
from twinnets.divergence import divergence_table
from twinnets.workflow import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    write_frame(divergence_table(sm.input), sm.output.parquet)
