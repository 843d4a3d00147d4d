"""Snakemake entry point: a group's plan of pairs (kinds, barriers) and its packed tiles."""

from twinnets.compare.shards import write_plan, write_tiles
from twinnets.pipeline.jobs import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    write_plan(
        sm.input.weights,
        sm.output.plan,
        tile=sm.params.tile,
        barrier_pairs=sm.params.barrier_pairs,
        max_pairs=sm.params.max_pairs,
    )
    write_tiles(sm.input.weights, sm.output.tiles, sm.params.tile)
