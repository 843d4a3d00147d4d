"""Snakemake entry point: every metric for the pairs of one shard of a group."""

from pathlib import Path

from twinnets._io import write_frame
from twinnets.compare.shards import analyze_planned_shard
from twinnets.pipeline.jobs import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    pairs, curves = analyze_planned_shard(
        sm.input.tiles,
        sm.input.plan,
        mnist_dir=Path(sm.input.mnist[0]).parent,
        shard=sm.wildcards.shard,
        model_name=sm.params.model,
        unseen_variance=sm.params.unseen_variance,
    )
    write_frame(pairs, sm.output.pairs)
    write_frame(curves, sm.output.curves)
