"""Snakemake entry point: gather the per-group tables into one, as Parquet and CSV."""

import pandas as pd

from twinnets._io import write_frame
from twinnets.workflow import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    table = pd.concat([pd.read_parquet(path) for path in sm.input], ignore_index=True)
    for path in sm.output:
        write_frame(table, path)
