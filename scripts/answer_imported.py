"""Snakemake entry point: an imported group's answer and distance figure, from its tables."""

import pandas as pd

from twinnets._io import atomic_write_text
from twinnets.pipeline import imported
from twinnets.pipeline.jobs import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    pairs, networks = pd.read_parquet(sm.input.pairs), pd.read_parquet(sm.input.networks)
    summary = pd.read_csv(sm.input.summary)
    text = imported.answer_markdown(sm.params.group, summary, pairs, networks)
    atomic_write_text(sm.output.answer, text)
    imported.distance_figure(pairs, networks, [sm.output.svg, sm.output.png])
