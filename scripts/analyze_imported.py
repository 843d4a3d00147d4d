"""Snakemake entry point: every metric of an imported group, with unknown settings left empty."""

from pathlib import Path

from twinnets._io import write_frame
from twinnets.compare.groups import analyze_group
from twinnets.dumps.storage import read_dump
from twinnets.pipeline import imported
from twinnets.pipeline.jobs import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    result = analyze_group(
        sm.input.weights,
        mnist_dir=Path(sm.input.mnist[0]).parent,
        barrier_pairs=sm.params.barrier_pairs,
        model_name=sm.params.group,
        unseen_variance=sm.params.unseen_variance,
    )
    result = imported.mark_unknown(result, [read_dump(p) for p in sm.input.weights])
    write_frame(result.pairs, sm.output.pairs)
    write_frame(result.networks, sm.output.networks)
    write_frame(result.curves, sm.output.curves)
    write_frame(imported.summary(result.pairs, result.networks), sm.output.summary)
