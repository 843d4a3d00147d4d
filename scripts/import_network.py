"""Snakemake entry point: one network file of an imported group as a twinnets dump."""

from pathlib import Path

from twinnets.data.mnist import load_mnist
from twinnets.dumps.formats import import_to_dump
from twinnets.pipeline.jobs import job

sm = snakemake  # noqa: F821 (injected by Snakemake)
with job(sm):
    data = load_mnist(Path(sm.input.mnist[0]).parent)
    dump = import_to_dump(sm.input.src, sm.output[0], sm.params.format, sm.params.activation, data)
    m = dump.network.metrics[-1]
    print(f"{sm.input.src}: {dump.source['format']}, sha256 {dump.source['sha256']}, sizes "
          f"{list(dump.config.sizes)}, test accuracy {m.test_accuracy:.4f}; unknown settings: "
          f"{', '.join(sorted(dump.unknown))}")  # fmt: skip
