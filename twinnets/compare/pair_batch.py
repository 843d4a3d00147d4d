"""Every metric of many pairs at once: the fast path of ``groups.pair_tables`` for networks
with one hidden layer whose symmetries are signed permutations (sigmoid and tanh MLPs).

``groups._compare`` defines each statistic pair by pair, for any network. For the networks
this tool is about, [784, h, 10], this module computes the same statistics for thousands
of pairs at a time and agrees with it to rounding (``tests/test_pair_batch.py``):

* **each network's products once**, as stacked matrix products over all networks of the
  batch: hidden activations on the validation images, outputs on the test images, the
  first layer in the images' coordinates (``input_space.ImageGeometry``) and in the
  unseen input directions;
* **every pair's matching costs** are blocks of one product of all hidden units'
  [W1 | b1 | W2^T] rows (for sigmoid, the tanh coordinates' costs are these over 4, so
  both weight matchings read the same block); unit correlations and CKA come from one
  Gram product of the stacked activations, and only its cross blocks where the pairs join
  two disjoint sets of networks (a shard's two tiles);
* only the three assignments per pair are a Python loop (``alignment.assignment``); every
  distance under every alignment is a compiled pass over the two networks' units in a
  fixed order (``_unit_sums``), with no difference of large squares (no cancellation for
  nearly equal networks).

Other networks (deeper, ReLU, no hidden layer) take the per-pair path.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence

import numpy as np
from numba import njit

from twinnets.compare import alignment, similarity
from twinnets.compare.input_space import ImageGeometry, InputSpace
from twinnets.compare.symmetry import symmetry
from twinnets.train.network import (
    Params,
    hidden_activation_inplace,
    normalise_outputs,
    output_activation,
)

#: The alignments of a pair, in the order of the transforms axis: the identity first.
TRANSFORMS = ("raw", *alignment.METHODS)
#: Column blocks of a unit's [W1 | b1 | W2^T] row, for the per-block sums.
W1_LIVE, W1_DEAD, B1, W2 = range(4)
#: Networks per stacked product on the test images: bounds the (n, chunk h) temporary.
OUTPUT_CHUNK = 32
#: Images per block of a stacked first-layer product (``_hidden``).
IMAGE_CHUNK = 2048


def applies(sizes: Sequence[int], model: str, activation: str) -> bool:
    """Whether this fast path measures such networks: one hidden layer, signed permutations."""
    group = symmetry(activation)
    return model == "mlp" and len(sizes) == 3 and group.sign_flips and not group.rescaling


# --------------------------------------------------------------------------- per network


@dataclasses.dataclass
class Stack:
    """One side (trained networks, or their inits) of a batch, as stacked arrays."""

    #: each hidden unit's [W1 row | b1 | W2 column], float64: (N, h, n_in + 1 + K)
    features: np.ndarray
    out_bias: np.ndarray  # (N, K)
    #: the first layer in the validation images' coordinates (N, h, lit pixels + 1)
    image: np.ndarray
    unseen: np.ndarray  # the first layer in the unseen input directions (N, h, k)
    predictions: np.ndarray  # on the test images (N, n_test)
    distributions: np.ndarray  # normalised outputs on the test images (N, n_test K)
    #: hidden activations on the validation images, side by side (n_val, N h); the Gram
    #: centres them in place
    hidden: np.ndarray

    @property
    def n_in(self) -> int:
        return self.features.shape[2] - 1 - self.out_bias.shape[1]

    def norms(self) -> dict[str, np.ndarray]:
        """Each network's norm per parameter block, of all its parameters, and of its
        first layer seen by the images: (N,) arrays."""
        n, n_in = len(self.features), self.n_in
        squares = {
            "weight1": np.einsum("nij,nij->n", self.features[:, :, :n_in], self.features[:, :, :n_in]),
            "bias1": np.einsum("ni,ni->n", self.features[:, :, n_in], self.features[:, :, n_in]),
            "weight2": np.einsum("nij,nij->n", self.features[:, :, n_in + 1 :], self.features[:, :, n_in + 1 :]),
            "bias2": np.einsum("nk,nk->n", self.out_bias, self.out_bias),
        }  # fmt: skip
        norms = {name: np.sqrt(sq) for name, sq in squares.items()}
        norms["all"] = np.sqrt(sum(squares.values()))
        norms["image"] = np.linalg.norm(self.image.reshape(n, -1), axis=1)
        return norms


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare by identity
class HeldOut:
    """The validation and test images, each with a last pixel of 1 (a bias is then one more
    weight of the product), made once for both sides of a batch."""

    validation: np.ndarray
    test: np.ndarray

    @classmethod
    def of(cls, x_val: np.ndarray, x_test: np.ndarray) -> HeldOut:
        return cls(_with_ones(x_val), _with_ones(x_test))


def stack(
    params: Sequence[Params],
    activation: str,
    images: HeldOut,
    geometry: ImageGeometry,
    space: InputSpace,
) -> Stack:
    """A side's ``Stack``: one product with the validation images for all its networks, and
    the test images' in chunks of ``OUTPUT_CHUNK`` networks."""
    w1 = np.stack([p.weights[0] for p in params]).astype(np.float64)  # (N, h, n_in)
    b1 = np.stack([p.biases[0] for p in params]).astype(np.float64)
    w2 = np.stack([p.weights[1] for p in params]).astype(np.float64)  # (N, K, h)
    b2 = np.stack([p.biases[1] for p in params]).astype(np.float64)
    n_nets, h, n_in = w1.shape
    first = np.concatenate([w1, b1[..., None]], axis=2).reshape(n_nets, h * (n_in + 1))
    hidden = _hidden(images.validation, first, activation)
    x_test = images.test
    n_test, n_classes = len(x_test), b2.shape[1]
    predictions = np.empty((n_nets, n_test), dtype=np.int64)
    distributions = np.empty((n_nets, n_test * n_classes))
    for start in range(0, n_nets, OUTPUT_CHUNK):
        nets = range(start, min(start + OUTPUT_CHUNK, n_nets))
        chunk = _hidden(x_test, first[nets], activation)
        for k, net in enumerate(nets):
            logits = chunk[:, k * h : (k + 1) * h] @ w2[net].T + b2[net]
            outputs = normalise_outputs(output_activation(logits, "mlp"))
            predictions[net] = outputs.argmax(axis=1)
            distributions[net] = outputs.ravel()
    return Stack(
        features=np.concatenate([w1, b1[..., None], w2.transpose(0, 2, 1)], axis=2),
        out_bias=b2,
        image=geometry.coordinates(w1, b1),
        unseen=w1 @ space.unseen,
        predictions=predictions,
        distributions=distributions,
        hidden=hidden,
    )


def _with_ones(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((len(x), 1))], axis=1)


def _hidden(x: np.ndarray, first: np.ndarray, activation: str) -> np.ndarray:
    """Hidden activations on images ``x`` (with ones, ``HeldOut``) of networks whose first
    layers [W1 | b1] are the rows of ``first`` (N, h (n_in + 1)): (n, N h), one product,
    made ``IMAGE_CHUNK`` images at a time so that each block's activation runs in cache
    (twice as fast as over the whole array)."""
    units = first.reshape(first.size // x.shape[1], x.shape[1])
    hidden = np.empty((len(x), len(units)))
    for start in range(0, len(x), IMAGE_CHUNK):
        block = hidden[start : start + IMAGE_CHUNK]
        np.matmul(x[start : start + IMAGE_CHUNK], units.T, out=block)
        hidden_activation_inplace(block, activation)
    return hidden


# --------------------------------------------------------------------------- all pairs' matrices


@dataclasses.dataclass
class _Matrices:
    """A side's all-pairs matrices, indexed by the batch's network positions: matching
    costs and unit correlations per pair (h, h), and CKA and function metrics per pair."""

    cost: Callable[[int, int], np.ndarray]
    correlations: Callable[[int, int], np.ndarray]
    values: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def _matrices(side: Stack, pairs: np.ndarray, labels: np.ndarray) -> _Matrices:
    """The products every pair reads, over the pairs' two sets of networks where those are
    disjoint (first members all before ``split``, second members from it on), else over all."""
    n_nets, h, width = side.features.shape
    firsts, seconds = pairs[:, 0], pairs[:, 1]
    split = int(seconds.min()) if int(firsts.max()) < int(seconds.min()) else 0
    rows = range(0, split) if split else range(n_nets)
    cols = range(split, n_nets)
    units = side.features.reshape(-1, width)
    cost = units[rows.start * h : rows.stop * h] @ units[cols.start * h :].T
    offsets = np.arange(n_nets + 1) * h
    if split:
        gram = similarity.cross_activation_gram(
            side.hidden[:, : split * h], offsets[: split + 1],
            side.hidden[:, split * h :], offsets[split:] - split * h,
        )  # fmt: skip
        correlations, (cka_linear, cka_debiased) = gram.correlations(), gram.cka
    else:
        full = similarity.stacked_activation_gram(side.hidden, offsets)
        correlations = similarity.correlation_blocks(full)
        cka_linear, cka_debiased = similarity.cka_matrices(full)
    side.hidden = np.empty((0, 0))  # the largest array: done with
    function = similarity.cross_function_matrices(
        side.predictions[rows], side.distributions[rows],
        side.predictions[cols], side.distributions[cols], labels,
    )  # fmt: skip
    r0, c0 = rows.start, cols.start

    def block(matrix: np.ndarray) -> Callable[[int, int], np.ndarray]:
        return lambda i, j: matrix[(i - r0) * h : (i - r0 + 1) * h, (j - c0) * h : (j - c0 + 1) * h]

    def entries(matrix: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        return lambda i, j: matrix[i - r0, j - c0]

    values = {"cka_linear": entries(cka_linear), "cka_debiased": entries(cka_debiased)}
    values.update({key: entries(matrix) for key, matrix in function.items()})
    return _Matrices(block(cost), block(correlations), values)


def _alignments(
    matrices: _Matrices, pairs: np.ndarray, h: int, signed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair's transforms of B (``TRANSFORMS``: perms (P, 4, h), signs (P, 4, h)) and
    the correlations of the units that activation matching pairs (P, h)."""
    n_pairs = len(pairs)
    perms = np.empty((n_pairs, len(TRANSFORMS), h), dtype=np.int64)
    signs = np.ones((n_pairs, len(TRANSFORMS), h))
    perms[:, 0] = np.arange(h)
    matched = np.empty((n_pairs, h))
    units = np.arange(h)
    for p, (i, j) in enumerate(pairs.tolist()):
        cost = matrices.cost(i, j)
        perms[p, 1], _ = alignment.assignment(cost, signed=False)
        perms[p, 2], signs[p, 2] = alignment.assignment(cost, signed)
        corr = matrices.correlations(i, j)
        # as ``alignment.match_activations``: NaN (a diverged network's) never pairs units
        perms[p, 3], signs[p, 3] = alignment.assignment(np.nan_to_num(corr), signed)
        matched[p] = corr[units, perms[p, 3]] * signs[p, 3]
    return perms, signs, matched


# --------------------------------------------------------------------------- compiled sums


@njit(cache=True, nogil=True)
def _unit_sums(xa, xb, pairs, perms, signs, blocks, out):  # pragma: no cover - compiled
    """``out[p, m, 0, k]``: sum over column block k of (A - T_m B)^2, ``out[p, m, 1, k]``:
    of A * T_m B, where T_m moves B's unit ``perms[p, m, u]`` to unit u times
    ``signs[p, m, u]``. Per pair and transform, columns accumulate over units one by one
    (vectorised across columns, a fixed order), then over columns in index order."""
    n_units, width = xa.shape[1], xa.shape[2]
    sq = np.empty(width)
    dot = np.empty(width)
    for p in range(pairs.shape[0]):
        a_net, b_net = pairs[p, 0], pairs[p, 1]
        for m in range(perms.shape[1]):
            sq[:] = 0.0
            dot[:] = 0.0
            for u in range(n_units):
                a = xa[a_net, u]
                b = xb[b_net, perms[p, m, u]]
                s = signs[p, m, u]
                for c in range(width):
                    tb = s * b[c]
                    d = a[c] - tb
                    sq[c] += d * d
                    dot[c] += a[c] * tb
            for c in range(width):
                out[p, m, 0, blocks[c]] += sq[c]
                out[p, m, 1, blocks[c]] += dot[c]


@njit(cache=True, nogil=True)
def _moved_out_bias(b_out, w_cols, perm, sign, offset, result):  # pragma: no cover - compiled
    """B's output bias once its hidden units are moved: each flipped unit adds ``offset``
    times its old outgoing column (``alignment.apply_transforms``; 0 for tanh)."""
    result[:] = 0.0
    for u in range(perm.shape[0]):
        if sign[u] < 0:
            result += w_cols[perm[u]]
    for k in range(result.shape[0]):
        result[k] = b_out[k] + offset * result[k]


@njit(cache=True, nogil=True)
def _out_bias_sums(ba, bb, wb, pairs, perms, signs, offset, out):  # pragma: no cover
    """``out[p, m]`` = (sum (a - T_m b)^2, sum a * T_m b, sum (T_m b)^2) over the output bias;
    ``wb``: B's outgoing columns (N, h, K)."""
    moved = np.empty(ba.shape[1])
    for p in range(pairs.shape[0]):
        a_net, b_net = pairs[p, 0], pairs[p, 1]
        for m in range(perms.shape[1]):
            _moved_out_bias(bb[b_net], wb[b_net], perms[p, m], signs[p, m], offset, moved)
            for k in range(moved.shape[0]):
                d = ba[a_net, k] - moved[k]
                out[p, m, 0] += d * d
                out[p, m, 1] += ba[a_net, k] * moved[k]
                out[p, m, 2] += moved[k] * moved[k]


@njit(cache=True, nogil=True)
def _decomposition_sums(
    fa, fa0, ba, ba0, fb, fb0, bb, bb0, w2, pairs, perms, signs, offset, out
):  # pragma: no cover
    """``groups.decomposition`` for every pair under each transform m of B (and of B's init,
    alike): ``out[p, m]`` = (||d_init||^2, ||d_train||^2, <d_init, d_train>) with
    d_init = A0 - T B0 and d_train = (A - A0) - (T B - T B0). ``w2``: where each unit's
    outgoing column starts in the feature rows."""
    n_units, width = fa.shape[1], fa.shape[2]
    n_out = ba.shape[1]
    ii = np.empty(width)
    tt = np.empty(width)
    it = np.empty(width)
    moved = np.empty(n_out)
    moved0 = np.empty(n_out)
    for p in range(pairs.shape[0]):
        a_net, b_net = pairs[p, 0], pairs[p, 1]
        for m in range(perms.shape[1]):
            ii[:] = 0.0
            tt[:] = 0.0
            it[:] = 0.0
            for u in range(n_units):
                a, a0 = fa[a_net, u], fa0[a_net, u]
                b, b0 = fb[b_net, perms[p, m, u]], fb0[b_net, perms[p, m, u]]
                s = signs[p, m, u]
                for c in range(width):
                    x = a0[c] - s * b0[c]
                    y = (a[c] - a0[c]) - (s * b[c] - s * b0[c])
                    ii[c] += x * x
                    tt[c] += y * y
                    it[c] += x * y
            _moved_out_bias(bb[b_net], fb[b_net, :, w2:], perms[p, m], signs[p, m], offset, moved)
            _moved_out_bias(
                bb0[b_net], fb0[b_net, :, w2:], perms[p, m], signs[p, m], offset, moved0
            )
            s_ii = s_tt = s_it = 0.0
            for c in range(width):
                s_ii += ii[c]
                s_tt += tt[c]
                s_it += it[c]
            for k in range(n_out):
                x = ba0[a_net, k] - moved0[k]
                y = (ba[a_net, k] - ba0[a_net, k]) - (moved[k] - moved0[k])
                s_ii += x * x
                s_tt += y * y
                s_it += x * y
            out[p, m, 0] = s_ii
            out[p, m, 1] = s_tt
            out[p, m, 2] = s_it


# --------------------------------------------------------------------------- one side


@dataclasses.dataclass
class SideMeasures:
    """A side's per-pair columns (``groups._compare``'s, without barriers, in its order) and
    the transforms of B that produced them (``TRANSFORMS``: perms and signs (P, 4, h))."""

    columns: dict[str, np.ndarray]
    perms: np.ndarray
    signs: np.ndarray
    accuracy: np.ndarray  # each network's, on the test images (N,)

    def transforms(self, p: int, method: str) -> list[alignment.Transform]:
        """Pair ``p``'s transform of B under ``method``, as ``alignment.align`` returns it."""
        m = TRANSFORMS.index(method)
        return [alignment.Transform(self.perms[p, m].copy(), self.signs[p, m].copy())]


def measure(
    side: Stack, pairs: np.ndarray, labels: np.ndarray, dead: np.ndarray, activation: str
) -> SideMeasures:
    """Every pair's metrics on one side: the columns of ``groups._compare`` but barriers."""
    group = symmetry(activation)
    matrices = _matrices(side, pairs, labels)
    perms, signs, matched = _alignments(matrices, pairs, side.features.shape[1], group.sign_flips)
    columns = _distance_columns(side, pairs, perms, signs, dead, group.flip_offset or 0.0)
    columns["matched_corr_mean"] = matched.mean(axis=1)
    columns["matched_corr_median"] = np.median(matched, axis=1)
    columns["matched_corr_share_above_0_9"] = (matched > 0.9).mean(axis=1)
    first, second = pairs[:, 0], pairs[:, 1]
    for key in ("cka_linear", "cka_debiased", *similarity.FUNCTION_METRICS):
        columns[key] = matrices.values[key](first, second)
    columns["errors_both"] = matrices.values["errors_both"](first, second)
    wrong = (side.predictions != labels).sum(axis=1).astype(np.float64)
    columns["errors_mean"] = (wrong[first] + wrong[second]) / 2
    accuracy = (side.predictions == labels).mean(axis=1)
    return SideMeasures(columns, perms, signs, accuracy)


def _distance_columns(
    side: Stack,
    pairs: np.ndarray,
    perms: np.ndarray,
    signs: np.ndarray,
    dead: np.ndarray,
    offset: float,
) -> dict[str, np.ndarray]:
    """The distance columns of ``groups._compare`` (raw per block, the dead-pixel split, under
    each alignment, through the data), from the compiled sums."""
    n_pairs, n_in, width = len(pairs), side.n_in, side.features.shape[2]
    norms = side.norms()
    a_norm = {key: value[pairs[:, 0]] for key, value in norms.items()}
    b_norm = {key: value[pairs[:, 1]] for key, value in norms.items()}
    blocks = np.full(width, W2, dtype=np.int64)
    blocks[:n_in] = np.where(dead, W1_DEAD, W1_LIVE)
    blocks[n_in] = B1
    units = np.zeros((n_pairs, len(TRANSFORMS), 2, 4))
    _unit_sums(side.features, side.features, pairs, perms, signs, blocks, units)
    out_bias = np.zeros((n_pairs, len(TRANSFORMS), 3))
    w_out = side.features[:, :, n_in + 1 :]
    _out_bias_sums(side.out_bias, side.out_bias, w_out, pairs, perms, signs, offset, out_bias)
    raw_signed = [0, TRANSFORMS.index("signed")]
    seen = _one_block_sums(side.image, pairs, perms[:, raw_signed], signs[:, raw_signed])
    unseen = _one_block_sums(side.unseen, pairs, perms[:, raw_signed], signs[:, raw_signed])
    sq = {
        "weight1": units[:, :, 0, W1_LIVE] + units[:, :, 0, W1_DEAD],
        "bias1": units[:, :, 0, B1],
        "weight2": units[:, :, 0, W2],
        "bias2": out_bias[:, :, 0],
    }
    dot = {
        "weight1": units[:, 0, 1, W1_LIVE] + units[:, 0, 1, W1_DEAD],
        "bias1": units[:, 0, 1, B1],
        "weight2": units[:, 0, 1, W2],
        "bias2": out_bias[:, 0, 1],
    }
    total_sq = sum(sq.values())
    columns: dict[str, np.ndarray] = {}
    for name in sq:
        distance = columns[f"distance_{name}"] = np.sqrt(sq[name][:, 0])
        columns[f"relative_{name}"] = _relative(distance, a_norm[name], b_norm[name])
        columns[f"cosine_{name}"] = _cosine(dot[name], a_norm[name], b_norm[name])
    columns["distance_all"] = np.sqrt(total_sq[:, 0])
    columns["relative_all"] = _relative(columns["distance_all"], a_norm["all"], b_norm["all"])
    columns["cosine_all"] = _cosine(sum(dot.values()), a_norm["all"], b_norm["all"])
    columns["distance_weight1_dead"] = np.sqrt(units[:, 0, 0, W1_DEAD])
    columns["distance_weight1_live"] = np.sqrt(units[:, 0, 0, W1_LIVE])
    # B's norm once moved: only the output bias changes (a flip's correction)
    kept = b_norm["weight1"] ** 2 + b_norm["bias1"] ** 2 + b_norm["weight2"] ** 2
    for m, method in enumerate(TRANSFORMS[1:], start=1):
        distance = columns[f"distance_{method}"] = np.sqrt(total_sq[:, m])
        moved_norm = np.sqrt(kept + out_bias[:, m, 2])
        columns[f"relative_{method}"] = _relative(distance, a_norm["all"], moved_norm)
        distance = columns[f"distance_weight1_{method}"] = np.sqrt(sq["weight1"][:, m])
        columns[f"relative_weight1_{method}"] = _relative(
            distance, a_norm["weight1"], b_norm["weight1"]
        )
    columns["flips_signed"] = (signs[:, raw_signed[1]] < 0).sum(axis=1)
    for k, name in enumerate(("raw", "signed")):
        columns[f"preactivation_relative_{name}"] = _relative(
            np.sqrt(seen[:, k]), a_norm["image"], b_norm["image"]
        )
    columns["unseen_sq_weight1_raw"] = unseen[:, 0]
    columns["unseen_sq_weight1_signed"] = unseen[:, 1]
    return columns


def _one_block_sums(
    x: np.ndarray, pairs: np.ndarray, perms: np.ndarray, signs: np.ndarray
) -> np.ndarray:
    """Sum of (A - T B)^2 over all of ``x``'s columns per pair and transform: (P, M)."""
    out = np.zeros((len(pairs), perms.shape[1], 2, 1))
    _unit_sums(x, x, pairs, perms, signs, np.zeros(x.shape[2], dtype=np.int64), out)
    return out[:, :, 0, 0]


def _relative(distance: np.ndarray, norm_a: np.ndarray, norm_b: np.ndarray) -> np.ndarray:
    """``distances.relative_distance``, elementwise: NaN where a norm is 0."""
    scale = np.sqrt(norm_a * norm_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, distance / scale, np.nan)


def _cosine(dot: np.ndarray, norm_a: np.ndarray, norm_b: np.ndarray) -> np.ndarray:
    """``distances.cosine_similarity``, elementwise: NaN where a norm is 0."""
    denominator = norm_a * norm_b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, dot / denominator, np.nan)


def decompositions(
    trained: Measured, untrained: Measured, pairs: np.ndarray, activation: str
) -> dict[str, np.ndarray]:
    """``groups.decomposition`` of every pair, raw and under the trained side's signed
    alignment (the same transform moves B and B's init)."""
    chosen = [0, TRANSFORMS.index("signed")]
    perms = np.ascontiguousarray(trained.measures.perms[:, chosen])
    signs = np.ascontiguousarray(trained.measures.signs[:, chosen])
    out = np.zeros((len(pairs), 2, 3))
    offset = symmetry(activation).flip_offset or 0.0
    # each network's own rows (the stacks hold each distinct network once)
    f, b = trained.stack.features[trained.network], trained.stack.out_bias[trained.network]
    f0, b0 = (
        untrained.stack.features[untrained.network],
        untrained.stack.out_bias[untrained.network],
    )
    _decomposition_sums(
        f, f0, b, b0, f, f0, b, b0, trained.stack.n_in + 1, pairs, perms, signs, offset, out
    )
    columns = {}
    for m, suffix in enumerate(("raw", "signed")):
        columns[f"init_part_{suffix}"] = np.sqrt(out[:, m, 0])
        columns[f"training_part_{suffix}"] = np.sqrt(out[:, m, 1])
        columns[f"cross_term_{suffix}"] = out[:, m, 2]
    return columns


# --------------------------------------------------------------------------- distinct networks


@dataclasses.dataclass
class Measured:
    """A side measured: the stack of its distinct networks, each network's row in it, and
    every pair's columns (``measure``'s, in the caller's pair order)."""

    stack: Stack
    network: np.ndarray
    measures: SideMeasures


def measure_networks(
    params: Sequence[Params],
    pairs: np.ndarray,
    images: HeldOut,
    geometry: ImageGeometry,
    space: InputSpace,
    labels: np.ndarray,
    dead: np.ndarray,
    activation: str,
) -> Measured:
    """``measure`` of ``pairs`` of ``params``, with each distinct network (bitwise) stacked
    once and each distinct pair of them measured once: the inits of a crossed grid depend
    on the init seed alone, so the nulls of its N^2 pairs are those of a few distinct pairs
    (the same numbers: identical parameters give the same statistics)."""
    distinct, network = distinct_networks(params)
    side = stack(distinct, activation, images, geometry, space)
    unique, back = np.unique(network[pairs], axis=0, return_inverse=True)
    back = back.reshape(-1)
    once = measure(side, unique, labels, dead, activation)
    measures = SideMeasures(
        columns={key: value[back] for key, value in once.columns.items()},
        perms=once.perms[back],
        signs=once.signs[back],
        accuracy=once.accuracy[network],
    )
    return Measured(side, network, measures)


def distinct_networks(params: Sequence[Params]) -> tuple[list[Params], np.ndarray]:
    """The bitwise-distinct parameter vectors of ``params`` in order of first appearance, and
    each network's index among them."""
    first: dict[bytes, int] = {}
    distinct: list[Params] = []
    network = np.empty(len(params), dtype=np.int64)
    for k, p in enumerate(params):
        digest = hashlib.blake2b(digest_size=32)
        for array in (*p.weights, *p.biases):
            digest.update(str((array.dtype, array.shape)).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        key = digest.digest()
        if key not in first:
            first[key] = len(distinct)
            distinct.append(p)
        network[k] = first[key]
    return distinct, network
