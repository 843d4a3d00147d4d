"""Snakemake entry point: every metric for every pair and network of one group."""

from pathlib import Path

from twinnets._io import write_frame
from twinnets.compare.groups import analyze_group
from twinnets.pipeline.jobs import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    result = analyze_group(
        sm.input.weights,
        mnist_dir=Path(sm.input.mnist[0]).parent,
        barrier_pairs=sm.params.barrier_pairs,
        model_name=sm.params.model,
        unseen_variance=sm.params.unseen_variance,
    )
    write_frame(result.pairs, sm.output.pairs)
    write_frame(result.networks, sm.output.networks)
    write_frame(result.curves, sm.output.curves)
