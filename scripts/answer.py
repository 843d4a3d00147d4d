"""Snakemake entry point: results/answer.md, generated from the run's tables (with "When do
twins converge?" where the run has the sweep)."""

import pandas as pd

from twinnets._io import atomic_write_text
from twinnets.pipeline.jobs import job
from twinnets.report.converge import answer_with_converge

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    text = answer_with_converge(
        pd.read_csv(sm.input.summary),
        pd.read_parquet(sm.input.networks),
        pd.read_parquet(sm.input.pairs),
    )
    atomic_write_text(sm.output[0], text)
