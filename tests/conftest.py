"""Shared fixtures: where the real MNIST files are, and a safe place to load them from."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from twinnets.data.mnist import FILES, MIRROR_ENV, Mnist, load_mnist

#: The real data beside the project: <root>/../shared/data/mnist (treat it as read-only).
DEFAULT_MNIST_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def _mnist_candidates() -> Iterator[Path]:
    """Folders named in $TWINNETS_MNIST_MIRROR first (URLs are ignored), then the default."""
    for entry in os.environ.get(MIRROR_ENV, "").split(os.pathsep):
        path = Path(entry.strip()).expanduser()
        if entry.strip() and path.is_dir():
            yield path
    yield DEFAULT_MNIST_DIR


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The folder holding the four real MNIST .gz files; skips the test when there is none.

    Treat it as read-only and never pass it to ``load_mnist`` directly: as root,
    ``os.access`` calls every folder writable, so the loader would write its cache
    into it. Use ``mnist_workdir`` (or ``mnist_data``) to load.
    """
    looked: list[str] = []
    for folder in _mnist_candidates():
        missing = [name for name in FILES if not (folder / name).is_file()]
        if not missing:
            return folder
        looked.append(f"{folder} (missing {', '.join(missing)})")
    pytest.skip(
        "real MNIST data not found: looked in " + "; ".join(looked) + f". Set {MIRROR_ENV} to "
        "a folder holding the four MNIST .gz files to run these tests."
    )


def link_mnist(source: Path, folder: Path) -> Path:
    """Make ``folder`` a writable folder of symlinks to the four files in ``source``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        (folder / name).symlink_to(source / name)
    return folder


@pytest.fixture(scope="session")
def mnist_workdir(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable folder of symlinks to the real files: loading it caches inside it only."""
    return link_mnist(mnist_dir, tmp_path_factory.mktemp("mnist-work"))


@pytest.fixture(scope="session")
def mnist_data(mnist_workdir: Path) -> Mnist:
    """The real MNIST with Nielsen's split, loaded once per session; its arrays are read-only."""
    data = load_mnist(mnist_workdir)
    for split in (data.train, data.validation, data.test):
        split.pixels.flags.writeable = False
        split.labels.flags.writeable = False
    return data


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Path:
    """The smoke workflow (config/smoke.yaml in a private copy, tests/test_workflow.py's
    ``make_copy``) run once per session to its default target: every dump, table, figure
    and the answer. Shared by the modules that read a complete run (test_workflow.py,
    test_report.py); a test may add config files and dry-run it, but copies it to change
    anything else.

    Its barrier budget is one group's pairs (6): every pair of the grid's groups still
    gets its barrier, and the groups of forked children that test_workflow.py adds (28
    pairs) get 6, not 28 (barriers are not what that test is about)."""
    from test_workflow import make_copy, set_config, snakemake

    workdir = make_copy(tmp_path_factory.mktemp("smoke"), mnist_dir)
    set_config(workdir, "test.yaml", analysis__barrier_pairs=6)
    snakemake(workdir)
    return workdir
