"""Snakemake entry point: every metric for the pairs of one shard of a group."""

from pathlib import Path

from twinnets._io import write_frame
from twinnets.compare.shards import analyze_shard
from twinnets.pipeline.jobs import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    pairs, curves = analyze_shard(
        sm.input.weights,
        mnist_dir=Path(sm.input.mnist[0]).parent,
        shard=sm.wildcards.shard,
        tile=sm.params.shard_networks,
        barrier_pairs=sm.params.barrier_pairs,
        model_name=sm.params.model,
        unseen_variance=sm.params.unseen_variance,
        max_pairs=sm.params.max_pairs,
    )
    write_frame(pairs, sm.output.pairs)
    write_frame(curves, sm.output.curves)
