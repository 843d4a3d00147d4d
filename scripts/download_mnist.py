"""Snakemake entry point: fetch and verify MNIST into the rule's output folder."""

from pathlib import Path

from twinnets.data.mnist import fetch_mnist
from twinnets.pipeline.jobs import job

with job(snakemake):  # noqa: F821 (injected by Snakemake)
    fetch_mnist(Path(snakemake.output[0]).parent, snakemake.params.mirrors)  # noqa: F821
