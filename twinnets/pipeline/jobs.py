"""Support for the workflow's entry scripts: each job logs to its rule's log file
and runs BLAS with exactly the threads that the scheduler gave it."""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator
from typing import Any

from threadpoolctl import threadpool_limits


@contextlib.contextmanager
def job(snakemake: Any) -> Iterator[None]:
    """Run one Snakemake job's body with output to ``log[0]`` and BLAS at ``threads``."""
    with (
        open(snakemake.log[0], "w") as log,
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
        threadpool_limits(snakemake.threads),
    ):
        try:
            yield
        except BaseException:
            traceback.print_exc(file=log)
            raise
        finally:
            log.flush()
    sys.stderr.flush()
