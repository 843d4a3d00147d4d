"""How every figure looks and how it is written: one palette, one set of rc settings, one
save, so that the report's figures match and a rerun writes the same bytes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

from twinnets._io import atomic_write

Out = str | os.PathLike | Sequence[str | os.PathLike]

#: Okabe & Ito's palette: distinguishable with every common colour-vision deficiency.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Signed values (weights, differences): ColorBrewer's colour-blind-safe diverging map,
#: white at zero.
DIVERGING = "RdBu_r"
#: Unsigned values (distances, accuracies): perceptually uniform, colour-blind safe.
SEQUENTIAL = "viridis"
#: Masked pixels (never trained: zero in every training image).
MASKED = "#b0b0b0"

KIND_ORDER = ("same_init", "same_order", "both_differ", "identical_seeds")
KIND_COLOURS = dict(zip(KIND_ORDER, (OKABE_ITO[2], OKABE_ITO[0], OKABE_ITO[3], OKABE_ITO[7])))
ALIGNMENT_COLOURS = {"raw": OKABE_ITO[3], "aligned": OKABE_ITO[0]}

_RC = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "savefig.dpi": 150,
    "svg.hashsalt": "twinnets",  # stable element ids: same run, same SVG bytes
    "image.interpolation": "nearest",
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The figures' rc settings, for the drawing inside the block only (no global state)."""
    with matplotlib.rc_context(_RC):
        yield


def seaborn() -> Any:
    """seaborn, imported on first use: it costs a second that most figures need not pay."""
    import seaborn

    return seaborn


def new_figure(width: float, height: float) -> Figure:
    """A figure outside pyplot, laid out by matplotlib so that labels do not collide."""
    return Figure(figsize=(width, height), layout="constrained")


def _paths(out: Out) -> list[Path]:
    if isinstance(out, str | os.PathLike):
        return [Path(out)]
    return [Path(p) for p in out]


def save(fig: Figure, out: Out) -> None:
    """Write ``fig`` to every path of ``out`` atomically, in the format of its suffix.

    No date or software version in the file: the same run writes the same bytes.
    """
    for path in _paths(out):
        fmt = path.suffix.lstrip(".").lower()
        if fmt not in ("svg", "png", "pdf"):
            raise ValueError(f"{path}: figures are written as .svg, .png or .pdf")
        metadata = {"Date": None} if fmt in ("svg", "pdf") else {"Software": None}
        with atomic_write(path) as fh:
            fig.savefig(fh, format=fmt, metadata=metadata)
