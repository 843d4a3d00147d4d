"""Snakemake entry point: train one network to one checkpoint, resuming the previous one."""

from pathlib import Path

from twinnets.checkpoints import format_epoch, train_checkpoint
from twinnets.network import TrainConfig
from twinnets.workflow import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    train_checkpoint(
        TrainConfig.from_dict(sm.params.settings),
        mnist_dir=Path(sm.input.mnist[0]).parent,
        out=sm.output[0],
        resume=sm.input.resume or None,
        on_epoch=lambda m: print(format_epoch(m), flush=True),
    )
