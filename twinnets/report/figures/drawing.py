"""Draw one figure named by its dotted path, from a workflow rule's inputs.

A rule names its figure's function (``"twinnets.report.figures.distances:over_training"``)
and this module imports it only then: scripts/plot.py refers to no figure, so the code
that a figure job depends on (its hash decides reruns) is its own figure's, not all of
them. The paths are declared in :mod:`twinnets.pipeline.figures`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from twinnets.report.figures.style import Out


def resolve(path: str) -> Callable[..., Figure]:
    """The function at ``path`` ("package.module:function"); an error names the path."""
    module_name, colon, name = path.partition(":")
    if not (colon and module_name and name):
        raise ValueError(f"figure {path!r}: expected 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name + ".").startswith(exc.name + "."):
            raise  # the module exists but one of its own imports is missing
        raise ValueError(f"figure {path!r}: no module {module_name!r}") from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"figure {path!r}: module {module_name!r} has no function {name!r}")
    return function


def figure_arguments(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's named inputs as a figure function's arguments: the MNIST files become the
    folder that holds them (``mnist_dir``), a single dump a list of one."""
    kwargs = dict(inputs)
    if "mnist" in kwargs:
        files = kwargs.pop("mnist")
        first = files if isinstance(files, str | os.PathLike) else files[0]
        kwargs["mnist_dir"] = Path(first).parent
    if "weights" in kwargs and isinstance(kwargs["weights"], str | os.PathLike):
        kwargs["weights"] = [kwargs["weights"]]
    return kwargs


def draw(path: str, inputs: Mapping[str, Any], out: Out, **options: Any) -> Figure:
    """Draw the figure at ``path`` from a rule's named inputs into ``out``."""
    return resolve(path)(**figure_arguments(inputs), out=out, **options)
