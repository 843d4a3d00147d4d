"""The figures of a run, declared once: each figure's rule, files, caption, report category
and drawing function follow from its one name, so they cannot drift apart.

workflow/rules/figures.smk makes one rule per entry of :data:`FIGURES`; the rule's
``figure`` param is :attr:`FigureSpec.function`, which scripts/plot.py draws
(:func:`twinnets.report.figures.drawing.draw`). This module holds names only: it imports
no figure, so the workflow parses without matplotlib.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

#: The package whose modules draw the figures.
PACKAGE = "twinnets.report.figures"
FOLDER = "results/figures"
FORMATS = ("svg", "png")  # the report's vector image, the README's bitmap
#: What a figure may read, by the name of its function's parameter (``mnist`` becomes
#: ``mnist_dir``: the folder of the MNIST files).
INPUTS = ("curves", "pairs", "networks", "weights", "mnist", "summary")
#: When a figure is one of a run's targets (:attr:`FigureSpec.needs`), by what the config
#: varies: a sweep's figures are drawn only for runs that have the sweep (their rules
#: exist always, and draw a "no such data" panel if asked for by name).
NEEDS = ("", "widths", "forks")


@dataclasses.dataclass(frozen=True)
class FigureSpec:
    """One figure: ``name`` in kebab case gives everything else, e.g. "distance-matrices"
    is rule ``figure_distance_matrices``, files ``results/figures/3-distance-matrices.*``,
    caption ``workflow/report/distance_matrices.rst`` and function
    ``twinnets.report.figures.<module>:distance_matrices``."""

    name: str
    number: int  # its place in the report and in the file names
    module: str  # the module of twinnets.report.figures that draws it
    inputs: tuple[str, ...]  # of INPUTS
    title: str = ""  # the report category's words; default: the name in words
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # keyword arguments
    mem_mb: int = 1000
    runtime: int = 5  # minutes
    needs: str = ""  # of NEEDS: what the config must vary for the figure to be a target

    def __post_init__(self) -> None:
        unknown = set(self.inputs) - set(INPUTS)
        if unknown:
            raise ValueError(f"figure {self.name!r}: unknown inputs {sorted(unknown)}")
        if self.needs not in NEEDS:
            raise ValueError(f"figure {self.name!r}: needs {self.needs!r} is not one of {NEEDS}")

    def wanted(self, config: Mapping[str, Any] | None) -> bool:
        """Whether a run of ``config`` draws this figure (None: every figure)."""
        if config is None or not self.needs:
            return True
        grid = config["grid"]
        if self.needs == "forks":
            return bool(grid.get("fork_epochs"))
        hidden = {tuple(s) for s in grid["sizes"] if len(s) > 2}
        return len(hidden) > 1

    @property
    def snake(self) -> str:
        return self.name.replace("-", "_")

    @property
    def rule(self) -> str:
        return f"figure_{self.snake}"

    @property
    def function(self) -> str:
        """The dotted path of the function that draws it, as the rule's ``figure`` param."""
        return f"{PACKAGE}.{self.module}:{self.snake}"

    @property
    def stem(self) -> str:
        return f"{self.number}-{self.name}"

    def path(self, fmt: str) -> str:
        return f"{FOLDER}/{self.stem}.{fmt}"

    @property
    def paths(self) -> list[str]:
        return [self.path(fmt) for fmt in FORMATS]

    @property
    def caption(self) -> str:
        """The caption's file name, in workflow/report/."""
        return f"{self.snake}.rst"

    @property
    def category(self) -> str:
        """The report's category: "3. Distance matrices"."""
        words = self.title or self.name.replace("-", " ").capitalize()
        return f"{self.number}. {words}"

    @property
    def log(self) -> str:
        return f"logs/figures/{self.stem}.log"

    @property
    def benchmark(self) -> str:
        return f"benchmarks/figures/{self.stem}.tsv"


FIGURES = (
    FigureSpec("question", 1, "weights", ("pairs", "networks", "weights"),
               title="The question", options={"rows": 10}),
    FigureSpec("receptive-fields", 2, "weights", ("pairs", "networks", "weights", "mnist"),
               mem_mb=1500),
    FigureSpec("distance-matrices", 3, "distances", ("pairs",)),
    FigureSpec("over-training", 4, "distances", ("pairs", "networks")),
    FigureSpec("barriers", 5, "barriers", ("curves", "pairs", "networks")),
    FigureSpec("similarity-vs-distance", 6, "similarity", ("pairs",)),
    FigureSpec("convex-control", 7, "convex", ("pairs",)),
    FigureSpec("accuracy-grid", 8, "convex", ("networks",)),
    FigureSpec("converge-width", 9, "converge", ("summary", "networks"), needs="widths",
               title="When do twins converge? Width"),
    FigureSpec("converge-fork", 10, "converge", ("summary", "networks"), needs="forks",
               title="When do twins converge? Fork epoch"),
    FigureSpec("converge-init", 11, "converge", ("summary", "networks"), needs="widths",
               title="When do twins converge? Init scale"),
)  # fmt: skip


def targets(config: Mapping[str, Any] | None = None) -> list[str]:
    """Every figure file of a run of ``config`` (None: of every figure): a sweep's figures
    only where the config has the sweep (:meth:`FigureSpec.wanted`), so the default grid
    makes its eight figures and no empty ones."""
    return [path for figure in FIGURES if figure.wanted(config) for path in figure.paths]
