"""Snakemake entry point: a group's tables, its shards' pairs merged in the unsharded
order beside the per-network table."""

from pathlib import Path

import pandas as pd

from twinnets._io import write_frame
from twinnets.compare.shards import analyze_networks, merge_shards
from twinnets.pipeline.jobs import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    for table in ("pairs", "curves"):
        merged = merge_shards([pd.read_parquet(p) for p in sm.input[table]])
        write_frame(merged, sm.output[table])
    networks = analyze_networks(
        sm.input.weights,
        mnist_dir=Path(sm.input.mnist[0]).parent,
        model_name=sm.params.model,
        unseen_variance=sm.params.unseen_variance,
    )
    write_frame(networks, sm.output.networks)
