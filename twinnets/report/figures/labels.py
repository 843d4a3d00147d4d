"""How figures and report pages write a grid's coordinates, so that titles, legends and
tables name the same setting the same way (and the pages need no matplotlib for it)."""

from __future__ import annotations


def eta_text(value: float) -> str:
    """A learning rate as the config writes it: 3.0 -> "3", 0.01 -> "0.01"."""
    return f"{value:g}"


def epochs_text(n: int) -> str:
    """A checkpoint in words: "1 epoch", "30 epochs"."""
    return f"{n} epoch{'' if n == 1 else 's'}"
