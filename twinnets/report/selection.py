"""Which group and pairs the prose and the figures speak of, chosen by rule.

Kept apart from the answer's wording and the figures' drawing so that editing one
does not rerun the other.
"""

from __future__ import annotations

import pandas as pd

KIND_WORDS = {
    "same_init": "same init, different order",
    "same_order": "same order, different init",
    "both_differ": "both differ",
    "identical_seeds": "identical seeds",
    # forked children (twinnets.compare.groups.pair_kind), in groups of their own
    "siblings": "siblings (one parent, different fork seeds)",
    "same_order_until_fork": "same order until the fork, different init",
    "same_order_after_fork": "same order after the fork only, different init",
    "same_init_same_order_after_fork": "same init, same order after the fork only",
}
#: The same kinds as a noun phrase for prose ("over the ...").
KIND_PAIRS = {
    "both_differ": "pairs whose init and data order both differ",
    "same_order": "pairs with the same data order and different inits",
    "same_init": "pairs with the same init and different data orders",
    "identical_seeds": "pairs with identical seeds",
    "siblings": "sibling pairs (children of one parent that differ in their fork seeds)",
    "same_order_until_fork": "pairs of children with different inits whose data order is the "
    "same until the fork only",
    "same_order_after_fork": "pairs of children with different inits whose data order is the "
    "same after the fork only",
    "same_init_same_order_after_fork": "pairs of children with the same init whose data order "
    "is the same after the fork only",
}
#: The group key of forked children (``twinnets.compare.summary.FORK_KEY``), and the
#: columns only their rows fill.
FORK_COLUMN = "fork_epoch"
FORK_COLUMNS = (FORK_COLUMN, "fork_seed", "a_fork_seed", "b_fork_seed", "n_fork_seeds")
#: The kind the prose speaks of first: two independent trainings, if the grid has them.
HEADLINE_KINDS = ("both_differ", "same_order", "same_init", "identical_seeds")


def headline_model(networks: pd.DataFrame) -> str:
    """The MLP variant the prose and the figures of hidden units speak of: 'mlp' if present,
    else the first MLP variant (by the ``family`` column, whatever the variant's name)."""
    models = list(dict.fromkeys(networks.model))
    mlps = [m for m in models if (networks[networks.model == m].family == "mlp").all()]
    if "mlp" in mlps:
        return "mlp"
    return (mlps or models)[0]


def headline_group(networks: pd.DataFrame) -> tuple[str, str, float, int]:
    """The (model, sizes, eta, epochs) the prose speaks of: the MLP, longest training, and
    the eta with the best mean validation accuracy (chosen on validation images, so the
    test accuracy it quotes is not picked for being high)."""
    model = headline_model(networks)
    mine = networks[networks.model == model]
    last = mine[mine.epochs == mine.epochs.max()]
    score = "validation_accuracy" if "validation_accuracy" in last else "test_accuracy"
    best = last.groupby(["sizes", "eta"])[score].mean().idxmax()
    return model, best[0], float(best[1]), int(mine.epochs.max())


def headline_kind(kinds: set[str]) -> str:
    """The pair kind the prose speaks of: both seeds differing, if the grid has such pairs."""
    return next((k for k in HEADLINE_KINDS if k in kinds), HEADLINE_KINDS[0])


def init_contrast(
    networks: pd.DataFrame, model: str, sizes: str, eta: float, epochs: int
) -> dict | None:
    """The group of an MLP variant like ``model`` (same activation) but with the scaled init,
    if the run has one."""
    base = networks[networks.model == model]
    candidates = networks[
        (networks.family == "mlp") & (networks["init"] == "scaled") & (networks.sizes == sizes)
        & (networks.eta == eta) & (networks.epochs == epochs)
        & (networks.lmbda == (base.lmbda.iloc[0] if len(base) else 0.0))
    ]  # fmt: skip
    if "activation" in networks.columns and len(base):
        # a tanh or ReLU variant is no init contrast for sigmoid units: other symmetries
        candidates = candidates[candidates["activation"] == base["activation"].iloc[0]]
    if candidates.empty or (len(base) and (base["init"] == "scaled").all()):
        return None
    return {"model": candidates.model.iloc[0], "sizes": sizes, "eta": eta, "epochs": epochs}


def without_forks(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the grid's own groups, none of a group of forked children: a child's group
    shares (model, sizes, eta, epochs) with its parents', so a selection by those would mix
    them. The prose and the figures speak of the parents; the children have their own table."""
    if FORK_COLUMN not in frame.columns:
        return frame
    rows = frame[frame[FORK_COLUMN].isna()]
    return rows.drop(columns=[c for c in FORK_COLUMNS if c in rows.columns])


def only_forks(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the groups of forked children (none in a run without them)."""
    if FORK_COLUMN not in frame.columns:
        return frame.iloc[0:0]
    return frame[frame[FORK_COLUMN].notna()]


def hidden_width(sizes: str) -> int | None:
    """The width of a network's (first) hidden layer, "784-300-10" -> 300; None without one."""
    layers = str(sizes).split("-")
    return int(layers[1]) if len(layers) > 2 else None


def sweep_rows(summary: pd.DataFrame, networks: pd.DataFrame) -> pd.DataFrame:
    """The summary's rows of networks with a hidden layer, with their ``activation`` and
    ``width``: the coordinates of the converge sweep (config/converge.yaml).

    The summary's groups are (model, sizes, eta, epochs, ...); a model variant's hidden
    activation is read from the networks table, which records it per network (tables from
    before activations: sigmoid). Rows of forked children keep their ``fork_epoch``; the
    column is added, empty, to runs without children.
    """
    frame = summary.copy()
    if FORK_COLUMN not in frame.columns:
        frame[FORK_COLUMN] = float("nan")
    frame["sizes"] = frame["sizes"].astype(str)
    frame["width"] = frame["sizes"].map(hidden_width)
    frame = frame[frame["width"].notna()].copy()
    frame["width"] = frame["width"].astype(int)
    if "activation" in networks.columns and "model" in networks.columns:
        activation = networks.drop_duplicates("model").set_index("model")["activation"]
        frame["activation"] = frame["model"].map(activation).fillna("sigmoid")
    else:
        frame["activation"] = "sigmoid"
    if "init" not in frame.columns:
        frame["init"] = "nielsen"
    return frame
