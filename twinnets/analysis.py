"""Why the weights differ: every metric for every pair of networks in a group.

A group is all networks that share sizes, eta and epochs; they differ only in their
init and order seeds. Per pair: raw distances (with the never-trained dead-pixel
columns split out), the same pair's distance at init, distances after factoring out
the symmetries three ways, representation similarity (CKA, matched-unit
correlations), function similarity, and loss barriers. Per network: accuracy,
distance from its own init and from the group's consensus.

Everything expensive is done once per network (activations, outputs, first-layer
products) or once per group (one Gram matrix for all CKAs), not once per pair.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from twinnets import alignment, barriers, convex, similarity
from twinnets._io import write_frame
from twinnets.distances import flatten, raw_distances, relative_distance
from twinnets.dumps import Dump, read_dump
from twinnets.mnist import Mnist, load_mnist
from twinnets.network import Params, output_probabilities

ALIGNMENTS = alignment.METHODS  # permutation, signed, activation
BARRIER_PAIRS = 45


@dataclasses.dataclass
class GroupAnalysis:
    """The three tables of one group: one row per pair, per network, per curve point."""

    pairs: pd.DataFrame
    networks: pd.DataFrame
    curves: pd.DataFrame


def pair_kind(a: Dump, b: Dump) -> str:
    """Which source of randomness separates the pair: init, order, or both."""
    same_init = a.config.init_seed == b.config.init_seed
    same_order = a.config.order_seed == b.config.order_seed
    if same_init and same_order:
        return "identical_seeds"
    if same_init:
        return "same_init"
    if same_order:
        return "same_order"
    return "both_differ"


def group_columns(dump: Dump, model_name: str | None = None) -> dict[str, object]:
    """The group's coordinates: model (the grid's name for it), family, sizes, eta, epochs."""
    c = dump.config
    return {
        "model": model_name or c.model,
        "family": c.model,
        "sizes": "-".join(map(str, c.sizes)),
        "eta": c.eta,
        "epochs": c.epochs,
    }


def dead_pixels(data: Mnist, n_train: int) -> np.ndarray:
    """Input pixels that are zero in every training image: no gradient ever reaches them."""
    return (data.train.pixels[:n_train] == 0).all(axis=0)


def first_layer_split(a: Params, b: Params, dead: np.ndarray) -> dict[str, float]:
    """The first layer's raw distance, split into dead-pixel and live columns."""
    diff = a.weights[0].astype(np.float64) - b.weights[0].astype(np.float64)
    dead_sq = float(np.sum(diff[:, dead] ** 2))
    live_sq = float(np.sum(diff[:, ~dead] ** 2))
    total = dead_sq + live_sq
    return {
        "distance_weight1_dead": np.sqrt(dead_sq),
        "distance_weight1_live": np.sqrt(live_sq),
        "dead_share_weight1": dead_sq / total if total else float("nan"),
        "dead_share_all": dead_sq / float(np.sum((flatten(a) - flatten(b)) ** 2))
        if total
        else float("nan"),
    }


def aligned_distances(a: Params, b_aligned: Params, method: str) -> dict[str, float]:
    fa, fb = flatten(a), flatten(b_aligned)
    w1a, w1b = a.weights[0].ravel(), b_aligned.weights[0].ravel()
    return {
        f"distance_{method}": float(np.linalg.norm(fa - fb)),
        f"relative_{method}": relative_distance(fa, fb),
        f"relative_weight1_{method}": relative_distance(w1a, w1b),
    }


@dataclasses.dataclass
class _Network:
    """What the analysis needs of one network, computed once."""

    dump: Dump
    init: Params
    hidden_validation: list[np.ndarray]
    outputs_test: np.ndarray
    first_layer: barriers.FirstLayer | None = None


def _prepare(dump: Dump, init: Dump | None, x_val: np.ndarray, x_test: np.ndarray) -> _Network:
    params = dump.params.astype(np.float64)
    nan = Params(
        [np.full_like(w, np.nan) for w in params.weights],
        [np.full_like(b, np.nan) for b in params.biases],
    )
    return _Network(
        dump=dataclasses.replace(dump, network=dataclasses.replace(dump.network, params=params)),
        init=init.params.astype(np.float64) if init is not None else nan,
        hidden_validation=alignment.hidden_activations(params, x_val),
        outputs_test=output_probabilities(params, x_test, dump.config.model),
    )


def analyze_group(
    dump_paths: Sequence[str | os.PathLike],
    mnist_dir: str | os.PathLike,
    init_paths: Sequence[str | os.PathLike] | None = None,
    barrier_pairs: int = BARRIER_PAIRS,
    model_name: str | None = None,
) -> GroupAnalysis:
    """All metrics of a group of networks of the same sizes (usually same eta and epochs).

    ``init_paths[i]``, the epochs=0 dump of network i, adds the distances from init;
    without it those columns are NaN. ``model_name`` is the grid's name of the model
    variant (e.g. "softmax-l2"), recorded in the ``model`` column.
    """
    dumps = [read_dump(p) for p in dump_paths]
    inits = [read_dump(p) for p in init_paths] if init_paths is not None else None
    _check_group(dumps, inits)
    config = dumps[0].config
    # pixels dead for every network: zero in the largest training set used
    n_train = max(d.config.n_train for d in dumps)
    data = load_mnist(mnist_dir, n_train=n_train)
    x_val = data.validation.images("float64")
    x_test = data.test.images("float64")
    nets = [_prepare(d, inits[k] if inits else None, x_val, x_test) for k, d in enumerate(dumps)]
    dead = dead_pixels(data, n_train)
    n_hidden = len(config.sizes) - 2

    grams = [
        similarity.activation_gram([n.hidden_validation[layer] for n in nets])
        for layer in range(n_hidden)
    ]
    ckas = [similarity.cka_matrices(g) for g in grams]
    correlations = [similarity.correlation_blocks(g) for g in grams]
    function = similarity.function_matrices([n.outputs_test for n in nets], data.test.labels)

    index_pairs = list(itertools.combinations(range(len(nets)), 2))
    kinds = [pair_kind(nets[i].dump, nets[j].dump) for i, j in index_pairs]
    with_barrier = set(barriers.select_barrier_pairs(index_pairs, kinds, barrier_pairs))
    barrier_data = (
        barriers.BarrierData.from_mnist(
            data, n_train_available=min(d.config.n_train for d in dumps)
        )
        if with_barrier
        else None
    )

    rows, curves = [], []
    for index, ((i, j), kind) in enumerate(zip(index_pairs, kinds, strict=True)):
        a, b = nets[i], nets[j]
        pa, pb = a.dump.params, b.dump.params
        row: dict[str, object] = {
            **group_columns(a.dump, model_name),
            "a_init_seed": a.dump.config.init_seed,
            "a_order_seed": a.dump.config.order_seed,
            "b_init_seed": b.dump.config.init_seed,
            "b_order_seed": b.dump.config.order_seed,
            "pair_kind": kind,
            **raw_distances(pa, pb),
            **first_layer_split(pa, pb, dead),
            **(convex.components(pa, pb, dead) if n_hidden == 0 else {}),
        }
        init_a, init_b = flatten(a.init), flatten(b.init)
        row["distance_all_init"] = float(np.linalg.norm(init_a - init_b))
        row["relative_all_init"] = relative_distance(init_a, init_b)

        pair_corr = [grams[layer].block(correlations[layer], i, j) for layer in range(n_hidden)]
        aligned: dict[str, tuple[Params, list[alignment.Transform]]] = {}
        for method in ALIGNMENTS:
            aligned[method] = alignment.align(pa, pb, method, correlations=pair_corr)
            row.update(aligned_distances(pa, aligned[method][0], method))
        b_signed, t_signed = aligned["signed"]
        row["flips_signed"] = sum(int((t.sign < 0).sum()) for t in t_signed)
        # the aligned difference = the inits' difference + what training added
        b_init_signed = alignment.apply_transforms(b.init, t_signed)
        row["distance_signed_init_part"] = float(np.linalg.norm(init_a - flatten(b_init_signed)))
        row["distance_signed_training_part"] = float(
            np.linalg.norm((flatten(pa) - init_a) - (flatten(b_signed) - flatten(b_init_signed)))
        )
        _, t_act = aligned["activation"]
        matched = (
            np.concatenate(
                [
                    c[np.arange(len(t.perm)), t.perm] * t.sign
                    for c, t in zip(pair_corr, t_act, strict=True)
                ]
            )
            if n_hidden
            else np.array([])
        )
        row.update(similarity.matched_correlation_stats(matched))
        row["cka_linear"] = float(np.mean([m[0][i, j] for m in ckas])) if n_hidden else np.nan
        row["cka_debiased"] = float(np.mean([m[1][i, j] for m in ckas])) if n_hidden else np.nan
        for key, matrix in function.items():
            row[key] = float(matrix[i, j])

        row["barrier_computed"] = index in with_barrier
        for alignment_name in ("raw", "aligned"):
            for curve_name in ("train_cost", "test_error"):
                row[f"barrier_{curve_name}_{alignment_name}"] = float("nan")
        if index in with_barrier:
            assert barrier_data is not None
            za = _first_layer(a, barrier_data)
            zb = _first_layer(b, barrier_data)
            zb_signed = (
                barriers.permute_first_layer(zb, t_signed[0].perm, t_signed[0].sign)
                if n_hidden
                else zb
            )
            for alignment_name, other, z_other in (
                ("raw", pb, zb),
                ("aligned", b_signed, zb_signed),
            ):
                curve = barriers.interpolation_curve(
                    pa, other, barrier_data, config.cost, za=za, zb=z_other, model=config.model
                )
                for curve_name, value in barriers.curve_barriers(curve).items():
                    row[f"barrier_{curve_name}_{alignment_name}"] = value
                curves.append(
                    curve.assign(
                        **{
                            k: row[k]
                            for k in (
                                "model",
                                "family",
                                "sizes",
                                "eta",
                                "epochs",
                                "a_init_seed",
                                "a_order_seed",
                                "b_init_seed",
                                "b_order_seed",
                                "pair_kind",
                            )
                        },
                        alignment=alignment_name,
                    )
                )
        rows.append(row)

    pairs = pd.DataFrame(rows)
    networks = _network_table(nets, model_name).assign(dead_pixels=int(dead.sum()))
    if config.model == "linear" and config.lmbda > 0:
        networks["relative_to_minimiser"] = _relative_to_minimiser(nets, data, config)
    curves_table = pd.concat(curves, ignore_index=True) if curves else _empty_curves()
    return GroupAnalysis(pairs, networks, curves_table)


def _first_layer(net: _Network, data: barriers.BarrierData) -> barriers.FirstLayer:
    if net.first_layer is None:
        net.first_layer = barriers.first_layer(net.dump.params, data)
    return net.first_layer


def _relative_to_minimiser(nets: list[_Network], data: Mnist, config) -> list[float]:
    """Each linear model's distance to the closed-form minimiser, relative to its norm."""
    from twinnets.mnist import Split

    train = Split(data.train.pixels[: config.n_train], data.train.labels[: config.n_train])
    best = flatten(convex.linear_minimiser(train, config.lmbda, config.l2))
    return [
        float(np.linalg.norm(flatten(n.dump.params) - best) / np.linalg.norm(best)) for n in nets
    ]


def _network_table(nets: list[_Network], model_name: str | None) -> pd.DataFrame:
    aligned, consensus_mean, sweeps = alignment.consensus([n.dump.params for n in nets])
    rows = []
    for net, member in zip(nets, aligned, strict=True):
        params, init = net.dump.params, net.init
        last = net.dump.network.metrics[-1]
        flat, flat_init = flatten(params), flatten(init)
        to_consensus = flatten(member) - flatten(consensus_mean)
        rows.append(
            {
                **group_columns(net.dump, model_name),
                "init_seed": net.dump.config.init_seed,
                "order_seed": net.dump.config.order_seed,
                "test_accuracy": last.test_accuracy,
                "validation_accuracy": last.validation_accuracy,
                "train_cost": last.train_cost,
                "norm": float(np.linalg.norm(flat)),
                "distance_from_init": float(np.linalg.norm(flat - flat_init)),
                "relative_from_init": float(
                    np.linalg.norm(flat - flat_init) / np.linalg.norm(flat_init)
                ),
                "cosine_to_init": float(
                    flat @ flat_init / (np.linalg.norm(flat) * np.linalg.norm(flat_init))
                ),
                "distance_to_consensus": float(np.linalg.norm(to_consensus)),
                "relative_to_consensus": float(np.linalg.norm(to_consensus) / np.linalg.norm(flat)),
                "consensus_sweeps": sweeps,
            }
        )
    return pd.DataFrame(rows)


def _empty_curves() -> pd.DataFrame:
    return pd.DataFrame(
        columns=["alpha", "train_cost", "test_error", "model", "family", "sizes", "eta", "epochs", "a_init_seed",
                 "a_order_seed", "b_init_seed", "b_order_seed", "pair_kind", "alignment"]
    )  # fmt: skip


def _check_group(dumps: list[Dump], inits: list[Dump] | None) -> None:
    if len(dumps) < 2:
        raise ValueError("comparing needs at least two networks")
    sizes = {d.config.sizes for d in dumps}
    if len(sizes) != 1:
        raise ValueError(f"only networks of the same sizes can be compared, got {sorted(sizes)}")
    if inits is None:
        return
    if len(dumps) != len(inits):
        raise ValueError(f"{len(dumps)} dumps but {len(inits)} init dumps")
    for d, i in zip(dumps, inits, strict=True):
        if i.config.epochs != 0 or not d.config.same_network(i.config):
            raise ValueError(f"{i.path} is not the epochs=0 dump of {Path(d.path)}")


# --------------------------------------------------------------------------- summaries


def summary_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of every pair metric per (sizes, eta, epochs, pair kind)."""
    keys = ["model", "family", "sizes", "eta", "epochs", "pair_kind"]
    seeds = ["a_init_seed", "a_order_seed", "b_init_seed", "b_order_seed"]
    numeric = [
        c for c in pairs.columns
        if c not in keys + seeds and pd.api.types.is_numeric_dtype(pairs[c]) and pairs[c].dtype != bool
    ]  # fmt: skip
    grouped = pairs.groupby(keys, sort=True)[numeric]
    mean = grouped.mean().add_suffix("_mean")
    std = grouped.std().add_suffix("_std")
    counts = pairs.groupby(keys, sort=True).size().rename("n_pairs")
    out = pd.concat([counts, mean, std], axis=1).reset_index()
    return out


def gather_tables(
    pair_paths: Sequence[str | os.PathLike],
    network_paths: Sequence[str | os.PathLike],
    curve_paths: Sequence[str | os.PathLike],
    out: object,
) -> None:
    """Concatenate the groups' tables; write pairs, networks, curves and the summary.

    ``out`` has attributes ``pairs``, ``networks``, ``curves`` (Parquet), ``pairs_csv``
    and ``summary`` (CSV), as a Snakemake output object does.
    """
    pairs = pd.concat([pd.read_parquet(p) for p in pair_paths], ignore_index=True)
    networks = pd.concat([pd.read_parquet(p) for p in network_paths], ignore_index=True)
    curves = pd.concat([pd.read_parquet(p) for p in curve_paths], ignore_index=True)
    write_frame(pairs, out.pairs)
    write_frame(pairs, out.pairs_csv)
    write_frame(networks, out.networks)
    write_frame(curves, out.curves)
    write_frame(summary_table(pairs), out.summary)
