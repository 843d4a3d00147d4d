"""Snakemake entry point: train a block of networks to one checkpoint, resuming the previous."""

from pathlib import Path

from twinnets.checkpoints import format_epoch, train_checkpoints
from twinnets.grid import parse_weights_path
from twinnets.network import TrainConfig
from twinnets.workflow import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    # the output paths name the networks: the settings they share, plus their own seeds
    seeds = [parse_weights_path(out) for out in sm.output]
    configs = [
        TrainConfig.from_dict({**sm.params.settings, "init_seed": int(s["init_seed"]),
                               "order_seed": int(s["order_seed"])})
        for s in seeds
    ]  # fmt: skip
    train_checkpoints(
        configs,
        mnist_dir=Path(sm.input.mnist[0]).parent,
        outs=list(sm.output),
        resume=list(sm.input.resume) or None,
        on_epoch=lambda k, m: print(
            f"init_seed={configs[k].init_seed} order_seed={configs[k].order_seed}  "
            f"{format_epoch(m)}",
            flush=True,
        ),
    )
