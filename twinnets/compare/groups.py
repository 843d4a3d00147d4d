"""Why the weights differ: every metric for every pair of networks in a group, beside its null.

A group is all networks that share sizes, eta and epochs; they differ only in their
init and order seeds (and forked children, which the workflow groups per fork epoch
apart from their parents, in their fork seeds). Per pair: raw distances (with the never-trained dead-pixel
columns split out), distances after factoring out the symmetries three ways, the
aligned difference split into the inits' part, training's part and their cross term,
distances through the data (first-layer pre-activations on real images, and the
share of the first-layer difference in input directions the images barely probe),
representation similarity (CKA, matched-unit correlations), function similarity,
and loss barriers under every alignment.

**Nulls.** A statistic means little without its value for networks that never
trained. Every pair's own initialisations are rebuilt from the randomness protocol
(init seed and scheme are in each dump's metadata) and compared by exactly the same
code, aligned by the same method: those are the ``null_`` columns (at checkpoint 0 the
networks are their inits, bit for bit, and each pair is compared once: its nulls are its
values). Agreement and
shared errors also get the rate expected if the two networks erred independently
given their accuracies (``independent_`` columns).

Everything expensive is done once per network (activations, outputs, first-layer
products) or once per group (one Gram matrix for all CKAs), not once per pair. Networks of
one hidden layer of sigmoid or tanh units (this tool's [784, h, 10]) are measured many pairs
at once by ``twinnets.compare.pair_batch``, each distinct network and pair once; ``_compare``
below is the definition it is tested against, and measures every other network, each
distinct pair once (``_Compared``).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from twinnets.compare import alignment, barriers, convex, pair_batch, similarity
from twinnets.compare.distances import flatten, raw_distances, relative_distance
from twinnets.compare.input_space import (
    UNSEEN_VARIANCE,
    ImageGeometry,
    InputSpace,
    preactivation_relative_distance,
    preactivations,
)
from twinnets.compare.symmetry import shared_activation, symmetry
from twinnets.data.mnist import Mnist, Split, load_mnist
from twinnets.dumps.storage import Dump, read_dump
from twinnets.train.network import (
    Params,
    epoch_seed,
    hidden_activations,
    init_params,
    output_probabilities,
)

ALIGNMENTS = alignment.METHODS  # permutation, signed, activation
BARRIER_PAIRS = 45
BARRIER_CURVES = ("train_cost", "test_error")

#: Pair columns that get a ``null_`` twin: the same statistic for the pair's inits.
NULL_COLUMNS = (
    "distance_all",
    "relative_all",
    "cosine_all",
    "distance_weight1",
    "distance_weight1_dead",
    *(f"{kind}_{method}" for method in ALIGNMENTS for kind in ("distance", "relative")),
    "distance_weight1_signed",
    "flips_signed",
    "unseen_sq_weight1_raw",
    "unseen_sq_weight1_signed",
    "preactivation_relative_raw",
    "preactivation_relative_signed",
    "matched_corr_mean",
    "matched_corr_median",
    "matched_corr_share_above_0_9",
    "cka_linear",
    "cka_debiased",
    *similarity.FUNCTION_METRICS,
    "errors_both",
    "errors_mean",
    "dead_sq",
    "gauge_sq",
    *(
        f"{prefix}_{curve}_{alignment_name}"
        for prefix in ("barrier", "endpoint")
        for curve in BARRIER_CURVES
        for alignment_name in ("raw", "aligned")
    ),
    "barrier_aligned_method",
)


#: Columns that split a pair's difference by its own inits: undefined where one is unknown.
DECOMPOSITION_COLUMNS = tuple(
    f"{part}_{suffix}"
    for part in ("init_part", "training_part", "cross_term")
    for suffix in ("raw", "signed")
)


@dataclasses.dataclass
class GroupAnalysis:
    """The three tables of one group: one row per pair, per network, per curve point."""

    pairs: pd.DataFrame
    networks: pd.DataFrame
    curves: pd.DataFrame


#: The kind of a pair whose seeds are not all known (networks made elsewhere).
UNKNOWN_KIND = "unknown_seeds"


#: Children of one parent (same init and, before a fork past 0, the same order seed)
#: that differ in their fork seeds: Frankle et al. 2020's spawned pair.
SIBLINGS = "siblings"
#: Pairs of children of different parents by (same init, same order before the fork, same
#: order after it). Shared in every epoch or none: the kinds of unforked networks.
FORK_KINDS = {
    (True, False, False): "same_init",
    (False, True, True): "same_order",
    (False, False, False): "both_differ",
    (False, True, False): "same_order_until_fork",
    (False, False, True): "same_order_after_fork",
    (True, False, True): "same_init_same_order_after_fork",
}
#: Two networks forked at different epochs (``twinnets compare`` only: no group mixes them).
DIFFERENT_FORKS = "different_fork_epochs"


def pair_kind(a: Dump, b: Dump) -> str:
    """Which source of randomness separates the pair: init, order, or both.

    For forked children (``TrainConfig.fork_epoch``) the order has two parts, before and
    after the fork: a pair that shares its parent (the init and, for a fork past epoch 0,
    the order seed) and differs after the fork is ``siblings``; other pairs are named by
    what they share (``FORK_KINDS``). A network that is not a child counts as the child
    of itself whose fork seed is its order seed, so a parent and its child are siblings.
    """
    if {"init_seed", "order_seed"} & (a.unknown | b.unknown):
        return UNKNOWN_KIND
    ca, cb = a.config, b.config
    same_init = ca.init_seed == cb.init_seed
    same_order = ca.order_seed == cb.order_seed
    fork_epochs = {c.fork_epoch for c in (ca, cb)} - {None}
    if not fork_epochs:
        if same_init and same_order:
            return "identical_seeds"
        if same_init:
            return "same_init"
        if same_order:
            return "same_order"
        return "both_differ"
    if len(fork_epochs) > 1:
        return DIFFERENT_FORKS
    (fork,) = fork_epochs
    after = epoch_seed(ca, fork + 1) == epoch_seed(cb, fork + 1)
    if same_init and (fork == 0 or same_order):  # one parent
        return "identical_seeds" if after else SIBLINGS
    before = after if fork == 0 else same_order  # at 0 the whole order is after the fork
    return FORK_KINDS[(same_init, before, after)]


def group_columns(dump: Dump, model_name: str | None = None) -> dict[str, object]:
    """The group's coordinates (model: the grid's name for it) and what sets it apart;
    for forked children also ``fork_epoch`` (a column only tables with children have)."""
    c = dump.config
    columns: dict[str, object] = {
        "model": model_name or c.model,
        "family": c.model,
        "activation": c.activation,
        "sizes": "-".join(map(str, c.sizes)),
        "eta": c.eta,
        "epochs": c.epochs,
        "init": c.init,
        "lmbda": c.lmbda,
    }
    if c.forked:
        columns["fork_epoch"] = c.fork_epoch
    return columns


def seed_columns(dump: Dump, prefix: str = "") -> dict[str, object]:
    """A network's seeds: init and order seed, and a child's fork seed."""
    c = dump.config
    columns: dict[str, object] = {
        f"{prefix}init_seed": c.init_seed,
        f"{prefix}order_seed": c.order_seed,
    }
    if c.forked:
        columns[f"{prefix}fork_seed"] = c.fork_seed
    return columns


def dead_pixels(data: Mnist, n_train: int) -> np.ndarray:
    """Input pixels that are zero in every training image: no gradient ever reaches them."""
    return (data.train.pixels[:n_train] == 0).all(axis=0)


def first_layer_split(a: Params, b: Params, dead: np.ndarray) -> dict[str, float]:
    """The first layer's distance, split into dead-pixel and live columns."""
    diff = a.weights[0].astype(np.float64) - b.weights[0].astype(np.float64)
    dead_sq = float(np.sum(diff[:, dead] ** 2))
    live_sq = float(np.sum(diff[:, ~dead] ** 2))
    return {"distance_weight1_dead": np.sqrt(dead_sq), "distance_weight1_live": np.sqrt(live_sq)}


def aligned_distances(a: Params, b_aligned: Params, method: str) -> dict[str, float]:
    fa, fb = flatten(a), flatten(b_aligned)
    w1a, w1b = a.weights[0].ravel(), b_aligned.weights[0].ravel()
    return {
        f"distance_{method}": float(np.linalg.norm(fa - fb)),
        f"relative_{method}": relative_distance(fa, fb),
        f"distance_weight1_{method}": float(np.linalg.norm(w1a - w1b)),
        f"relative_weight1_{method}": relative_distance(w1a, w1b),
    }


def decomposition(
    a: Params, b: Params, init_a: Params, init_b: Params, suffix: str
) -> dict[str, float]:
    """Split ``d = A - B`` into the inits' difference and what training added.

    ``d_init = A0 - B0`` and ``d_train = (A - A0) - (B - B0)``, with B and B0 under the
    same transform (the symmetries act linearly), so ``d = d_init + d_train`` and
    ``||d||^2 = ||d_init||^2 + ||d_train||^2 + 2 <d_init, d_train>`` exactly: the two
    parts are not orthogonal, and the cross term says how much they cancel.
    """
    fa, fb, fa0, fb0 = (flatten(p) for p in (a, b, init_a, init_b))
    d_init = fa0 - fb0
    d_train = (fa - fa0) - (fb - fb0)
    return {
        f"init_part_{suffix}": float(np.linalg.norm(d_init)),
        f"training_part_{suffix}": float(np.linalg.norm(d_train)),
        f"cross_term_{suffix}": float(d_init @ d_train),
    }


def independent_baselines(
    accuracy_a: float, accuracy_b: float, n_classes: int, n_images: int
) -> dict[str, float]:
    """Agreement and shared errors expected if the two networks erred independently.

    Given only the accuracies, and wrong predictions spread evenly over the other
    classes: P(same prediction) = acc_a acc_b + (1 - acc_a)(1 - acc_b) / (K - 1); both
    wrong on n (1 - acc_a)(1 - acc_b) of n images; the share of A's errors that B also
    makes is B's error rate.
    """
    wrong_a, wrong_b = 1.0 - accuracy_a, 1.0 - accuracy_b
    return {
        "independent_agreement": accuracy_a * accuracy_b + wrong_a * wrong_b / (n_classes - 1),
        "independent_errors_both": n_images * wrong_a * wrong_b,
        "independent_a_errors_shared": wrong_b,
        "independent_b_errors_shared": wrong_a,
    }


# --------------------------------------------------------------------------- per network


@dataclasses.dataclass
class _View:
    """What the analysis needs of one parameter vector (trained or initial), computed once:
    per pair, only products of these small arrays or of the pair's parameters remain."""

    params: Params
    hidden_validation: list[np.ndarray]
    #: the first layer in the validation images' coordinates (``ImageGeometry``), whose
    #: differences are the pre-activations' differences: (n_hidden, n_in + 1)
    preactivation_coordinates: np.ndarray
    preactivation_norm: float
    outputs_test: np.ndarray
    predictions_test: np.ndarray
    first_layer: barriers.FirstLayer | None = None
    #: first-layer weights in the unseen input directions (``_unseen_coordinates``)
    weight1_unseen: np.ndarray | None = None

    @classmethod
    def of(
        cls,
        params: Params,
        model: str,
        activation: str,
        x_val: np.ndarray,
        x_test: np.ndarray,
        geometry: ImageGeometry,
    ) -> _View:
        params = params.astype(np.float64)
        z = preactivations(params.weights[0], params.biases[0], x_val)
        # representations up to the activation's symmetry: a ReLU unit's scale is arbitrary
        # (relu(c z) = c relu(z)) and linear CKA is not invariant to it, so its activations
        # are those of the canonical form (every unit's incoming weights and bias of norm 1)
        if symmetry(activation).rescaling:
            hidden = hidden_activations(alignment.canonical_form(params), x_val, activation)
        else:
            hidden = hidden_activations(params, x_val, activation, first=z)
        outputs = output_probabilities(params, x_test, model, activation)
        coordinates = geometry.coordinates(params.weights[0], params.biases[0])
        return cls(
            params=params,
            hidden_validation=hidden,
            preactivation_coordinates=coordinates,
            preactivation_norm=float(np.linalg.norm(coordinates)),
            outputs_test=outputs,
            predictions_test=outputs.argmax(axis=1),
        )


@dataclasses.dataclass
class _Side:
    """All networks of a group on one side (trained, or their inits), with the all-pairs
    matrices that every pair's representation and function metrics read from."""

    views: list[_View]
    grams: list[similarity.ActivationGram]
    ckas: list[tuple[np.ndarray, np.ndarray]]
    correlations: list[np.ndarray]
    function: dict[str, np.ndarray]

    @classmethod
    def of(cls, views: list[_View], labels: np.ndarray) -> _Side:
        n_hidden = len(views[0].hidden_validation)
        grams = [
            similarity.activation_gram([v.hidden_validation[layer] for v in views])
            for layer in range(n_hidden)
        ]
        return cls(
            views=views,
            grams=grams,
            ckas=[similarity.cka_matrices(g) for g in grams],
            correlations=[similarity.correlation_blocks(g) for g in grams],
            function=similarity.function_matrices([v.outputs_test for v in views], labels),
        )

    def pair_correlations(self, i: int, j: int) -> list[np.ndarray]:
        return [g.block(c, i, j) for g, c in zip(self.grams, self.correlations, strict=True)]


@dataclasses.dataclass(frozen=True)
class _Context:
    """What every pair of a group is measured against."""

    dead: np.ndarray
    space: InputSpace
    #: the validation images, for pre-activation distances without them (per pair)
    geometry: ImageGeometry
    barrier_data: barriers.BarrierData | None
    test_labels: np.ndarray
    model: str
    cost: str
    activation: str


#: Seeds of the fresh initialisations that stand in for unknown ones: network k of a
#: group gets FRESH_SEED + k, apart from the small seeds a grid uses.
FRESH_SEED = 1_000_000


def initial_params(dump: Dump, index: int) -> Params:
    """The network's own initialisation, rebuilt bitwise from its seed and init scheme;
    for a network made elsewhere, a fresh one of its sizes (``Dump.null_init_config``)."""
    return init_params(dump.null_init_config(FRESH_SEED + index))


# --------------------------------------------------------------------------- per pair


def _compare(
    side: _Side, i: int, j: int, ctx: _Context, with_barrier: bool
) -> tuple[dict[str, object], dict[str, alignment.Transform | list], list[pd.DataFrame]]:
    """Every metric of networks i and j of one side; the same code serves trained and null."""
    a, b = side.views[i], side.views[j]
    pa, pb = a.params, b.params
    n_hidden = len(pa.weights) - 1
    row: dict[str, object] = {
        **raw_distances(pa, pb),
        **first_layer_split(pa, pb, ctx.dead),
        **(convex.components(pa, pb, ctx.dead) if n_hidden == 0 else {}),
    }
    pair_corr = side.pair_correlations(i, j)
    transforms: dict[str, list] = {}
    aligned: dict[str, Params] = {}
    for method in ALIGNMENTS:
        aligned[method], transforms[method] = alignment.align(
            pa, pb, method, correlations=pair_corr, activation=ctx.activation
        )
        row.update(aligned_distances(pa, aligned[method], method))
    t_signed = transforms["signed"]
    row["flips_signed"] = sum(int((t.sign < 0).sum()) for t in t_signed)
    row.update(_through_data(a, b, t_signed, ctx))
    row.update(_representation(side, i, j, pair_corr, transforms["activation"]))
    for key in similarity.FUNCTION_METRICS:
        row[key] = float(side.function[key][i, j])
    wrong_a = a.predictions_test != ctx.test_labels
    wrong_b = b.predictions_test != ctx.test_labels
    row["errors_both"] = float(np.sum(wrong_a & wrong_b))
    row["errors_mean"] = (float(wrong_a.sum()) + float(wrong_b.sum())) / 2
    curves: list[pd.DataFrame] = []
    if with_barrier:
        assert ctx.barrier_data is not None
        za, zb = _first_layer(a, ctx.barrier_data), _first_layer(b, ctx.barrier_data)
        barrier_row, curves = _barriers(pa, za, pb, zb, aligned, transforms, ctx)
        row.update(barrier_row)
    return row, transforms, curves


def _through_data(a: _View, b: _View, t_signed: list, ctx: _Context) -> dict[str, float]:
    """Pre-activation distances on validation images, and the unseen input directions' share.

    Both from each network's own products (``_View``): B's units moved as the signed
    alignment moves them (a unit's row of W1 and of its image coordinates are permuted and
    scaled alike), so no image is touched per pair."""
    za, zb = a.preactivation_coordinates, b.preactivation_coordinates
    ua, ub = _unseen_coordinates(a, ctx.space), _unseen_coordinates(b, ctx.space)
    zb_signed, ub_signed, norm_b = zb, ub, b.preactivation_norm
    if t_signed:
        factor = t_signed[0].factor
        zb_signed = zb[t_signed[0].perm] * factor[:, None]
        ub_signed = ub[t_signed[0].perm] * factor[:, None]
        if not np.all(np.abs(factor) == 1):  # ReLU's rescaling changes the norm
            norm_b = float(np.linalg.norm(zb_signed))
    return {
        "preactivation_relative_raw": preactivation_relative_distance(
            za, zb, a.preactivation_norm, b.preactivation_norm
        ),
        "preactivation_relative_signed": preactivation_relative_distance(
            za, zb_signed, a.preactivation_norm, norm_b
        ),
        "unseen_sq_weight1_raw": float(np.sum((ua - ub) ** 2)),
        "unseen_sq_weight1_signed": float(np.sum((ua - ub_signed) ** 2)),
    }


def _unseen_coordinates(view: _View, space: InputSpace) -> np.ndarray:
    """W1 in the unseen input directions (``InputSpace.unseen_coordinates``), once per view:
    ``space.unseen_sq`` of a difference is the squared norm of the difference of these."""
    if view.weight1_unseen is None:
        view.weight1_unseen = space.unseen_coordinates(view.params.weights[0])
    return view.weight1_unseen


def _representation(
    side: _Side, i: int, j: int, pair_corr: list[np.ndarray], t_act: list
) -> dict[str, float]:
    """CKA and the correlations of the units that activation matching pairs."""
    if not pair_corr:
        return {
            **similarity.matched_correlation_stats(np.array([])),
            "cka_linear": np.nan,
            "cka_debiased": np.nan,
        }
    matched = np.concatenate(
        [c[np.arange(len(t.perm)), t.perm] * t.sign for c, t in zip(pair_corr, t_act, strict=True)]
    )
    return {
        **similarity.matched_correlation_stats(matched),
        "cka_linear": float(np.mean([m[0][i, j] for m in side.ckas])),
        "cka_debiased": float(np.mean([m[1][i, j] for m in side.ckas])),
    }


def _first_layer(view: _View, data: barriers.BarrierData) -> barriers.FirstLayer:
    if view.first_layer is None:
        view.first_layer = barriers.first_layer(view.params, data)
    return view.first_layer


def _barriers(
    a: Params,
    za: barriers.FirstLayer,
    b: Params,
    zb: barriers.FirstLayer,
    aligned: dict[str, Params],
    transforms: dict[str, list],
    ctx: _Context,
) -> tuple[dict[str, object], list[pd.DataFrame]]:
    """Barriers raw and under each alignment; 'aligned' is the lowest test-error barrier.
    ``za``, ``zb``: each network's ``barriers.first_layer``, computed once per distinct
    network."""
    data = ctx.barrier_data
    assert data is not None
    methods = ALIGNMENTS if transforms["signed"] else ()
    candidates = {"raw": (b, zb)}
    for method in methods:
        t = transforms[method][0]
        candidates[method] = (aligned[method], barriers.permute_first_layer(zb, t.perm, t.factor))
    row: dict[str, object] = {}
    curves: dict[str, pd.DataFrame] = {}
    for name, (other, z_other) in candidates.items():
        curve = barriers.interpolation_curve(
            a,
            other,
            data,
            ctx.cost,
            za=za,
            zb=z_other,
            model=ctx.model,
            activation=ctx.activation,
        )
        curves[name] = curve
        for curve_name, value in barriers.curve_barriers(curve).items():
            row[f"barrier_{curve_name}_{name}"] = value
    best = min(methods, key=lambda m: row[f"barrier_test_error_{m}"]) if methods else "raw"
    row["barrier_aligned_method"] = best if methods else "none"
    for alignment_name, source in (("raw", "raw"), ("aligned", best)):
        curve = curves[source]
        for curve_name in BARRIER_CURVES:
            row[f"barrier_{curve_name}_{alignment_name}"] = row[f"barrier_{curve_name}_{source}"]
            row[f"endpoint_{curve_name}_{alignment_name}"] = float(
                (curve[curve_name].iloc[0] + curve[curve_name].iloc[-1]) / 2
            )
    return row, [curves["raw"].assign(alignment="raw"), curves[best].assign(alignment="aligned")]


def _no_barriers() -> dict[str, object]:
    row: dict[str, object] = {
        f"{prefix}_{curve}_{name}": float("nan")
        for prefix in ("barrier", "endpoint")
        for curve in BARRIER_CURVES
        for name in ("raw", "aligned")
    }
    row["barrier_aligned_method"] = None
    return row


class _Compared:
    """``_compare`` once per pair of bitwise-distinct networks of a side
    (``pair_batch.distinct_networks``): the inits of a crossed grid depend on the init seed
    alone, so its nulls are a few distinct pairs, and identical inputs give identical rows."""

    def __init__(self, *sides: _Side) -> None:
        self.distinct = {
            id(side): pair_batch.distinct_networks([v.params for v in side.views])[1]
            for side in sides
        }
        self.done: dict[tuple, tuple[dict[str, object], dict, list[pd.DataFrame]]] = {}

    def __call__(
        self, side: _Side, i: int, j: int, ctx: _Context, with_barrier: bool
    ) -> tuple[dict[str, object], dict[str, alignment.Transform | list], list[pd.DataFrame]]:
        distinct = self.distinct[id(side)]
        key = (id(side), int(distinct[i]), int(distinct[j]), with_barrier)
        if key not in self.done:
            self.done[key] = _compare(side, i, j, ctx, with_barrier)
        row, transforms, curves = self.done[key]
        return dict(row), transforms, curves


def _pair_row(
    trained: _Side,
    untrained: _Side,
    i: int,
    j: int,
    ctx: _Context,
    with_barrier: bool,
    compare: Callable[..., tuple] = _compare,
) -> tuple[dict[str, object], list[pd.DataFrame]]:
    """One pair's trained metrics, their nulls, and the decompositions that tie them
    (``compare``: ``_compare``, or a ``_Compared`` that measures each distinct pair once)."""
    row, transforms, curves = compare(trained, i, j, ctx, with_barrier)
    # untrained networks (checkpoint 0) are their own nulls: the same code on the same views
    null = dict(row) if untrained is trained else compare(untrained, i, j, ctx, with_barrier)[0]
    if not with_barrier:
        row.update(_no_barriers())
        null.update(_no_barriers())
    row.update({f"null_{key}": null[key] for key in NULL_COLUMNS if key in null})
    a, b = trained.views[i].params, trained.views[j].params
    a0, b0 = untrained.views[i].params, untrained.views[j].params
    t_signed = transforms["signed"]
    row.update(decomposition(a, b, a0, b0, "raw"))
    row.update(
        decomposition(
            a,
            alignment.apply_transforms(b, t_signed, ctx.activation),
            a0,
            alignment.apply_transforms(b0, t_signed, ctx.activation),
            "signed",
        )
    )
    accuracy = [
        float(np.mean(trained.views[k].predictions_test == ctx.test_labels)) for k in (i, j)
    ]
    row.update(independent_baselines(*accuracy, a.sizes[-1], len(ctx.test_labels)))
    return row, curves


# --------------------------------------------------------------------------- per group

#: The columns that name a pair in every table that has one row per pair or curve point
#: (pairs of forked children also have ``fork_epoch``, ``a_fork_seed`` and ``b_fork_seed``).
PAIR_KEYS = (
    "model", "family", "activation", "sizes", "eta", "epochs", "init", "lmbda",
    "a_init_seed", "a_order_seed", "b_init_seed", "b_order_seed", "pair_kind",
)  # fmt: skip


def analyze_group(
    dump_paths: Sequence[str | os.PathLike],
    mnist_dir: str | os.PathLike,
    barrier_pairs: int = BARRIER_PAIRS,
    model_name: str | None = None,
    unseen_variance: float = UNSEEN_VARIANCE,
) -> GroupAnalysis:
    """All metrics of a group of networks of the same sizes (usually same eta and epochs).

    ``model_name`` is the grid's name of the model variant (e.g. "softmax-l2"),
    recorded in the ``model`` column; ``unseen_variance`` the pixel-variance threshold
    below which an input direction counts as unseen (``twinnets.compare.input_space``).
    """
    dumps = [read_dump(p) for p in dump_paths]
    _check_group(dumps)
    # pixels dead for every network: zero in the largest training set used
    data = load_mnist(mnist_dir, n_train=max(d.config.n_train for d in dumps))
    index_pairs = list(itertools.combinations(range(len(dumps)), 2))
    kinds = [pair_kind(dumps[i], dumps[j]) for i, j in index_pairs]
    with_barrier = set(barriers.select_barrier_pairs(index_pairs, kinds, barrier_pairs))
    ctx = _context(dumps, data, bool(with_barrier), unseen_variance)
    flags = [index in with_barrier for index in range(len(index_pairs))]
    pairs, curves_table = pair_tables(dumps, data, ctx, index_pairs, kinds, flags, model_name)
    return GroupAnalysis(pairs, network_table(dumps, data, ctx, model_name), curves_table)


#: Columns of the pairs table that are the group's, not the pair's: set after its rows, last.
GROUP_PAIR_COLUMNS = ("unseen_directions", "unseen_variance")


def pair_tables(
    dumps: Sequence[Dump],
    data: Mnist,
    ctx: _Context,
    index_pairs: Sequence[tuple[int, int]],
    kinds: Sequence[str],
    with_barrier: Sequence[bool],
    model_name: str | None,
    positions: Sequence[int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairs and curves tables of ``index_pairs`` (indices into ``dumps``), in their
    given order: the whole group here, one shard in ``twinnets.compare.shards``.

    ``positions``: each dump's position in its whole group (``_sides``). Networks of one
    hidden layer of sigmoid or tanh units are measured many pairs at once
    (``twinnets.compare.pair_batch``), others pair by pair (``_pair_row``): the same
    statistics, equal to rounding."""
    config = dumps[0].config if dumps else None
    batched = config and pair_batch.applies(config.sizes, config.model, config.activation)
    rows = _batched_rows if index_pairs and batched else _per_pair_rows
    pairs, curves = rows(dumps, data, ctx, index_pairs, kinds, with_barrier, model_name, positions)
    pairs["unseen_directions"] = ctx.space.n_unseen
    pairs["unseen_variance"] = ctx.space.threshold
    curves_table = pd.concat(curves, ignore_index=True) if curves else _empty_curves()
    return pairs, curves_table


def _per_pair_rows(
    dumps: Sequence[Dump],
    data: Mnist,
    ctx: _Context,
    index_pairs: Sequence[tuple[int, int]],
    kinds: Sequence[str],
    with_barrier: Sequence[bool],
    model_name: str | None,
    positions: Sequence[int] | None,
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """``pair_tables``' rows, one ``_pair_row`` at a time."""
    records, curves = [], []
    if index_pairs:
        trained, untrained = _sides(list(dumps), data, ctx.geometry, positions)
        compare = _Compared(trained, untrained)
    for (i, j), kind, barrier in zip(index_pairs, kinds, with_barrier, strict=True):
        names = _pair_names(dumps[i], dumps[j], kind, model_name)
        row, pair_curves = _pair_row(trained, untrained, i, j, ctx, barrier, compare)
        if not (dumps[i].init_known and dumps[j].init_known):  # fresh inits: not theirs
            row.update(dict.fromkeys(DECOMPOSITION_COLUMNS, float("nan")))
        records.append({**names, **row, "barrier_computed": barrier})
        curves += [c.assign(**names) for c in pair_curves]
    return pd.DataFrame(records), curves


def _batched_rows(
    dumps: Sequence[Dump],
    data: Mnist,
    ctx: _Context,
    index_pairs: Sequence[tuple[int, int]],
    kinds: Sequence[str],
    with_barrier: Sequence[bool],
    model_name: str | None,
    positions: Sequence[int] | None,
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """``pair_tables``' rows from ``pair_batch``: the columns ``_pair_row`` gives, in the
    order ``pd.DataFrame`` of its rows would put them; barriers once per distinct pair
    (``_batched_barrier_rows``)."""
    images = pair_batch.HeldOut.of(data.validation.images("float64"), data.test.images("float64"))
    pairs = np.asarray(index_pairs, dtype=np.int64).reshape(-1, 2)

    def measure(params: list[Params]) -> pair_batch.Measured:
        return pair_batch.measure_networks(
            params, pairs, images, ctx.geometry, ctx.space, ctx.test_labels, ctx.dead,
            ctx.activation,
        )  # fmt: skip

    trained_params = [d.params.astype(np.float64) for d in dumps]
    trained = measure(trained_params)
    inits = _inits(dumps, positions)
    if inits is None:  # checkpoint 0: the networks are their own nulls
        untrained, inits = trained, trained_params
    else:
        inits = [p.astype(np.float64) for p in inits]
        untrained = measure(inits)
    measured, null = trained.measures, untrained.measures
    decomposed = pair_batch.decompositions(trained, untrained, pairs, ctx.activation)
    # ||A0 - B0|| is the null's raw distance: one number, not two roundings of it
    decomposed["init_part_raw"] = null.columns["distance_all"]
    distinct = (trained.network, untrained.network)
    del trained, untrained
    names = pd.DataFrame(
        [_pair_names(dumps[i], dumps[j], k, model_name) for (i, j), k in zip(index_pairs, kinds)]
    )
    barrier_rows, curves = _batched_barrier_rows(
        (trained_params, inits), distinct, measured, null, index_pairs, with_barrier, names, ctx
    )
    accuracy = measured.accuracy
    independent = independent_baselines(
        accuracy[pairs[:, 0]], accuracy[pairs[:, 1]],
        dumps[0].config.sizes[-1], len(ctx.test_labels),
    )  # fmt: skip
    known = np.array([d.init_known for d in dumps])
    unknown = ~(known[pairs[:, 0]] & known[pairs[:, 1]])
    if unknown.any():  # fresh inits are not theirs
        decomposed = {key: np.where(unknown, np.nan, value) for key, value in decomposed.items()}
    frame = _batched_frame(
        names, measured, null, barrier_rows, decomposed, independent, list(with_barrier)
    )
    return frame, curves


def _batched_barrier_rows(
    params: tuple[list[Params], list[Params]],
    distinct: tuple[np.ndarray, np.ndarray],
    measured: pair_batch.SideMeasures,
    null: pair_batch.SideMeasures,
    index_pairs: Sequence[tuple[int, int]],
    with_barrier: Sequence[bool],
    names: pd.DataFrame,
    ctx: _Context,
) -> tuple[dict[int, tuple[dict, dict]], list[pd.DataFrame]]:
    """The barrier rows (trained, null) of the pairs that get barriers, and their curves.

    ``params``: the trained networks and their inits; ``distinct``: each one's index among
    the bitwise-distinct networks of its side (``pair_batch.measure_networks``). A pair of
    distinct networks has one barrier, whichever pairs share it: the inits of a crossed
    grid depend on the init seed alone, so its nulls (and all of checkpoint 0, where the
    networks are their inits) are a few curves, not one per pair."""
    first_layers: dict[tuple[int, int], barriers.FirstLayer] = {}
    done: dict[tuple[int, int, int], tuple[dict[str, object], list[pd.DataFrame]]] = {}

    def of(side: int, measures: pair_batch.SideMeasures, i: int, j: int, p: int):
        key = (side, int(distinct[side][i]), int(distinct[side][j]))
        if key not in done:
            done[key] = _batched_barriers(
                params[side], side, distinct[side], measures, i, j, p, ctx, first_layers
            )
        return done[key]

    barrier_rows: dict[int, tuple[dict, dict]] = {}
    curves: list[pd.DataFrame] = []
    for p in np.flatnonzero(with_barrier).tolist():
        i, j = index_pairs[p]
        row, pair_curves = of(0, measured, i, j, p)
        null_row = row if null is measured else of(1, null, i, j, p)[0]
        barrier_rows[p] = (row, null_row)
        curves += [c.assign(**names.iloc[p].to_dict()) for c in pair_curves]
    return barrier_rows, curves


def _batched_frame(
    names: pd.DataFrame,
    measured: pair_batch.SideMeasures,
    null: pair_batch.SideMeasures,
    barrier_rows: dict[int, tuple[dict, dict]],
    decomposed: dict[str, np.ndarray],
    independent: dict[str, np.ndarray],
    with_barrier: list[bool],
) -> pd.DataFrame:
    """The pairs table from its columns, in the order ``pd.DataFrame`` of ``_pair_row``'s
    rows would put them: the first row's keys, then the other kind's new ones."""
    n_pairs = len(names)
    plain = _no_barriers()
    curve_keys = list(next(iter(barrier_rows.values()))[0]) if barrier_rows else []

    def barrier_column(key: str, side: int) -> list:
        values = [plain.get(key, np.nan)] * n_pairs
        for p, rows in barrier_rows.items():
            values[p] = rows[side][key]
        return values

    columns: dict[str, object] = dict(measured.columns)
    columns.update({key: barrier_column(key, 0) for key in dict.fromkeys([*plain, *curve_keys])})
    null_keys = [k for k in NULL_COLUMNS if k in measured.columns or k in plain]
    for key in null_keys:
        columns[f"null_{key}"] = (
            null.columns[key] if key in null.columns else barrier_column(key, 1)
        )
    columns.update(decomposed)
    columns.update(independent)
    columns["barrier_computed"] = with_barrier
    frame = pd.concat([names, pd.DataFrame(columns)], axis=1)
    rest = [*(f"null_{k}" for k in null_keys), *decomposed, *independent, "barrier_computed"]
    compare = list(measured.columns)
    without = [*names.columns, *compare, *plain, *rest]
    within = [*names.columns, *compare, *curve_keys, *rest]
    first, other = (
        (within, without) if with_barrier[0] else (without, within if barrier_rows else [])
    )
    return frame[list(dict.fromkeys([*first, *other]))]


def _batched_barriers(
    params: list[Params],
    side: int,
    distinct: np.ndarray,
    measures: pair_batch.SideMeasures,
    i: int,
    j: int,
    p: int,
    ctx: _Context,
    first_layers: dict[tuple[int, int], barriers.FirstLayer],
) -> tuple[dict[str, object], list[pd.DataFrame]]:
    """``_barriers`` of pair ``p`` (networks i, j) under the transforms ``measures`` found;
    each distinct network's first layer computed once (``first_layers``, keyed by side and
    ``distinct`` index)."""
    assert ctx.barrier_data is not None
    for k in (i, j):
        if (side, distinct[k]) not in first_layers:
            first_layers[side, distinct[k]] = barriers.first_layer(params[k], ctx.barrier_data)
    transforms = {method: measures.transforms(p, method) for method in ALIGNMENTS}
    aligned = {
        method: alignment.apply_transforms(params[j], t, ctx.activation)
        for method, t in transforms.items()
    }
    za, zb = first_layers[side, distinct[i]], first_layers[side, distinct[j]]
    return _barriers(params[i], za, params[j], zb, aligned, transforms, ctx)


def _sides(
    dumps: list[Dump], data: Mnist, geometry: ImageGeometry, indices: Sequence[int] | None = None
) -> tuple[_Side, _Side]:
    """The trained networks and their own initialisations, each seen on the held-out images.

    ``indices``: each dump's position in its whole group (default: its position here),
    which seeds the fresh init standing in for an unknown one, so a shard rebuilds the same."""
    model, activation = dumps[0].config.model, dumps[0].config.activation
    x_val = data.validation.images("float64")
    x_test = data.test.images("float64")

    def side(params: list[Params]) -> _Side:
        views = [_View.of(p, model, activation, x_val, x_test, geometry) for p in params]
        return _Side.of(views, data.test.labels)

    inits = _inits(dumps, indices)
    trained = side([d.params for d in dumps])
    if inits is None:
        return trained, trained  # checkpoint 0: the networks are their inits (_pair_row)
    return trained, side(inits)


def _inits(dumps: Sequence[Dump], indices: Sequence[int] | None) -> list[Params] | None:
    """Each network's own initialisation (``initial_params``; ``indices``: its position in
    the group), or None where every network is its init, bit for bit (checkpoint 0)."""
    positions = range(len(dumps)) if indices is None else indices
    inits = [initial_params(d, k) for k, d in zip(positions, dumps, strict=True)]
    if all(_bitwise_equal(d.params, p) for d, p in zip(dumps, inits, strict=True)):
        return None
    return inits


def _bitwise_equal(a: Params, b: Params) -> bool:
    arrays = zip(a.weights + a.biases, b.weights + b.biases, strict=True)
    return all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in arrays)


def _context(
    dumps: list[Dump],
    data: Mnist,
    with_barrier: bool,
    unseen_variance: float,
    n_train: tuple[int, int] | None = None,
) -> _Context:
    """Dead pixels of the largest training set; input space and barrier images of the smallest,
    so that every network was trained on them. ``n_train``: the whole group's (largest,
    smallest) training set, where ``dumps`` are only some of its networks (a shard)."""
    config = dumps[0].config
    largest, n_used = n_train or (max(d.config.n_train for d in dumps), _shared_n_train(dumps))
    return _Context(
        dead=dead_pixels(data, largest),
        space=InputSpace.from_images(
            data.train.images("float64", slice(0, n_used)), unseen_variance
        ),
        geometry=ImageGeometry.from_images(data.validation.images("float64")),
        barrier_data=barriers.BarrierData.from_mnist(data, n_train_available=n_used)
        if with_barrier
        else None,
        test_labels=data.test.labels,
        model=config.model,
        cost=config.cost,
        activation=config.activation,
    )


def _shared_n_train(dumps: list[Dump]) -> int:
    """Training images that every network of the group was trained on (a prefix)."""
    return min(d.config.n_train for d in dumps)


def _pair_names(a: Dump, b: Dump, kind: str, model_name: str | None) -> dict[str, object]:
    """The ``PAIR_KEYS`` columns of one pair: its group, both networks' seeds and its kind."""
    return {
        **group_columns(a, model_name),
        **seed_columns(a, "a_"),
        **seed_columns(b, "b_"),
        "pair_kind": kind,
    }


def network_table(
    dumps: Sequence[Dump], data: Mnist, ctx: _Context, model_name: str | None
) -> pd.DataFrame:
    """The group's per-network table (accuracy, distance from init, the consensus alignment,
    the convex controls' distance to their minimiser): O(N), no all-pairs matrices."""
    config = dumps[0].config
    x_test = data.test.images("float64")
    params = [d.params.astype(np.float64) for d in dumps]
    inits = [initial_params(d, k).astype(np.float64) for k, d in enumerate(dumps)]
    init_outputs = [output_probabilities(p, x_test, config.model, config.activation) for p in inits]
    networks = _network_table(list(dumps), params, inits, init_outputs, ctx, model_name)
    networks = networks.assign(
        dead_pixels=int(ctx.dead.sum()), unseen_directions=ctx.space.n_unseen
    )
    _add_convex_columns(networks, params, data, list(dumps))
    return networks


def _add_convex_columns(
    networks: pd.DataFrame, params: list[Params], data: Mnist, dumps: list[Dump]
) -> None:
    """How near the convex controls with L2 are to their one minimiser (none for the MLP)."""
    config = dumps[0].config
    n_used = _shared_n_train(dumps)
    if config.model != "mlp" and config.lmbda > 0 and config.l2 == "all":
        networks["minimiser_bound"] = _minimiser_bounds(params, data, config, n_used)
    if config.model == "linear" and config.lmbda > 0:
        networks["relative_to_minimiser"] = _relative_to_minimiser(params, data, config)


def _minimiser_bounds(params: list[Params], data: Mnist, config, n_used: int) -> list[float]:
    """A certified bound on each convex model's distance to the unique minimiser, relative
    to its norm: the L2 term makes the loss (lmbda / n)-strongly convex."""
    train = Split(data.train.pixels[:n_used], data.train.labels[:n_used])
    return [
        convex.minimiser_distance_bound(p, train, config) / np.linalg.norm(flatten(p))
        for p in params
    ]


def _relative_to_minimiser(params: list[Params], data: Mnist, config) -> list[float]:
    """Each linear model's distance to the closed-form minimiser, relative to its norm."""
    train = Split(data.train.pixels[: config.n_train], data.train.labels[: config.n_train])
    best = flatten(convex.linear_minimiser(train, config.lmbda, config.l2))
    return [float(np.linalg.norm(flatten(p) - best) / np.linalg.norm(best)) for p in params]


def _network_table(
    dumps: list[Dump],
    params: list[Params],
    inits: list[Params],
    init_outputs: list[np.ndarray],
    ctx: _Context,
    model_name: str | None,
) -> pd.DataFrame:
    aligned, consensus_mean, sweeps = alignment.consensus(params, activation=ctx.activation)
    labels = ctx.test_labels
    rows = []
    for dump, own, init, init_output, member in zip(
        dumps, params, inits, init_outputs, aligned, strict=True
    ):
        last = dump.network.metrics[-1]
        flat, flat_init = flatten(own), flatten(init)
        if not dump.init_known:  # a fresh init is a null, not where this network started
            flat_init = np.full_like(flat_init, np.nan)
        to_consensus = flatten(member) - flatten(consensus_mean)
        rows.append(
            {
                "init_known": dump.init_known,
                **group_columns(dump, model_name),
                **seed_columns(dump),
                "test_accuracy": last.test_accuracy,
                "null_test_accuracy": float(np.mean(init_output.argmax(axis=1) == labels)),
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
    return pd.DataFrame(columns=["alpha", *BARRIER_CURVES, "alignment", *PAIR_KEYS])


def _check_group(dumps: list[Dump]) -> None:
    if len(dumps) < 2:
        raise ValueError("comparing needs at least two networks")
    sizes = {d.config.sizes for d in dumps}
    if len(sizes) != 1:
        raise ValueError(f"only networks of the same sizes can be compared, got {sorted(sizes)}")
    shared_activation({str(d.path): d.config.activation for d in dumps})
