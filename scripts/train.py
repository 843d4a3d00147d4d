"""Snakemake entry point: train a block of networks to one checkpoint, resuming the previous."""

from pathlib import Path

from twinnets.dumps.checkpoints import format_epoch, seeds_label, train_checkpoints
from twinnets.pipeline.jobs import job
from twinnets.train.network import TrainConfig

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    # the settings the block's networks share, plus each one's seeds (in output order)
    configs = [TrainConfig.from_dict({**sm.params.settings, **seeds}) for seeds in sm.params.seeds]
    train_checkpoints(
        configs,
        mnist_dir=Path(sm.input.mnist[0]).parent,
        outs=list(sm.output),
        resume=list(sm.input.resume) or None,
        threads=sm.threads,
        on_epoch=lambda k, m: print(f"{seeds_label(configs[k])}  {format_epoch(m)}", flush=True),
    )
