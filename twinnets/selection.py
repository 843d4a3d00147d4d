"""Which group and pairs the prose and the figures speak of, chosen by rule.

Kept apart from the answer's wording and the figures' drawing so that editing one
does not rerun the other.
"""

from __future__ import annotations

import pandas as pd

DIFFERENT_INIT = ("both_differ", "same_order")
KIND_WORDS = {
    "same_init": "same init, different order",
    "same_order": "same order, different init",
    "both_differ": "both differ",
    "identical_seeds": "identical seeds",
}


def headline_model(networks: pd.DataFrame) -> str:
    """The MLP variant the prose speaks of: 'mlp' if present, else the first MLP variant."""
    models = list(dict.fromkeys(networks.model))
    mlps = [m for m in models if (networks[networks.model == m].family == "mlp").all()]
    if "mlp" in mlps:
        return "mlp"
    return (mlps or models)[0]


def headline_cell(networks: pd.DataFrame) -> tuple[str, str, float, int]:
    """The (model, sizes, eta, epochs) the prose speaks of: the MLP, longest training, best eta."""
    model = headline_model(networks)
    mine = networks[networks.model == model]
    last = mine[mine.epochs == mine.epochs.max()]
    best = last.groupby(["sizes", "eta"]).test_accuracy.mean().idxmax()
    return model, best[0], float(best[1]), int(mine.epochs.max())
