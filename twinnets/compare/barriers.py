"""Loss barriers on the straight line between two networks' parameters.

For networks A and B, ``theta(alpha) = (1 - alpha) theta_A + alpha theta_B`` is
evaluated at evenly spaced ``alpha`` in [0, 1]: the training cost on a fixed subset
of the training images (data loss only, no L2 term) and the test error
(1 - accuracy). The barrier of a curve L is
``max over alpha of L(alpha) - ((1 - alpha) L(0) + alpha L(1))``: how far the path
rises above the chord between the endpoints (0 when the path never does, since the
endpoints themselves count).

Speed: the first layer is linear in its parameters, so its pre-activation at alpha
is exactly ``(1 - alpha) Z_A + alpha Z_B`` with ``Z = X W1^T + b1`` computed once
per network (:func:`first_layer`); it differs from the naive
``X W1(alpha)^T + b1(alpha)`` only by rounding. An aligned network (a hidden-unit
permutation of B with sign flips or positive rescaling) needs no new product either:
:func:`permute_first_layer` rearranges B's ``Z``. Only the small later layers are
computed from interpolated parameters at each alpha, with the networks' hidden activation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinnets.compare.input_space import preactivations
from twinnets.data.mnist import Mnist
from twinnets.train.network import (
    ACTIVATIONS,
    COSTS,
    Params,
    data_cost,
    hidden_activation_inplace,
)

#: Points on the line between two networks, alpha = np.linspace(0, 1, N_ALPHA).
N_ALPHA = 25

#: Size of the fixed training subset on which the training cost is measured.
N_TRAIN_SUBSET = 10_000

#: First-layer pre-activations ``(Z_train, Z_test)`` of one network, each (n, n_hidden).
FirstLayer = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)  # arrays: compare by identity
class BarrierData:
    """The images every point of every curve is evaluated on, as float64 arrays.

    Held once for a whole analysis so that pixels are scaled once, and so that every
    network is measured on exactly the same images.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __post_init__(self) -> None:
        for name in ("x_train", "x_test"):
            object.__setattr__(
                self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            )
        for name in ("y_train", "y_test"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        for x, y, split in (
            (self.x_train, self.y_train, "train"),
            (self.x_test, self.y_test, "test"),
        ):
            if x.ndim != 2 or y.shape != (len(x),) or len(x) == 0:
                raise ValueError(
                    f"{split}: need images (n, n_in) and labels (n,) with n >= 1, "
                    f"got {x.shape} and {y.shape}"
                )
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise ValueError(
                f"train and test images differ in width: {self.x_train.shape[1]} "
                f"vs {self.x_test.shape[1]}"
            )

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        return len(self.y_test)

    @classmethod
    def from_mnist(
        cls,
        data: Mnist,
        n_train_subset: int = N_TRAIN_SUBSET,
        n_train_available: int | None = None,
    ) -> BarrierData:
        """The first ``min(n_train_subset, n_train_available)`` training images and the test set.

        The subset is fixed and deterministic (a prefix, no sampling), so every pair
        and every rerun sees the same images. ``n_train_available`` is the number of
        training images the networks were trained on (their ``n_train``); it
        defaults to all of ``data.train``.
        """
        available = len(data.train) if n_train_available is None else int(n_train_available)
        if available > len(data.train):
            raise ValueError(
                f"n_train_available={available} but the data holds only "
                f"{len(data.train)} training images"
            )
        n = min(int(n_train_subset), available)
        if n < 1:
            raise ValueError(f"the training subset must hold at least 1 image, got {n}")
        rows = slice(0, n)
        return cls(
            x_train=data.train.images("float64", rows),
            y_train=data.train.labels[rows],
            x_test=data.test.images("float64"),
            y_test=data.test.labels,
        )


def first_layer(params: Params, data: BarrierData) -> FirstLayer:
    """``Z = X W1^T + b1`` on the training subset and the test set, in float64.

    Computed once per network and reused for every alpha of every pair it is in:
    this is the only product with the 784-wide input.
    """
    w, b = params.weights[0], params.biases[0]
    return preactivations(w, b, data.x_train), preactivations(w, b, data.x_test)


def permute_first_layer(
    z: FirstLayer, perm: np.ndarray, signs: np.ndarray | None = None
) -> FirstLayer:
    """``first_layer`` of a network whose hidden units were permuted and sign-flipped or
    rescaled.

    Convention: new unit j is old unit ``perm[j]`` multiplied by ``signs[j]`` (+1 or
    -1, or for a rescaled ReLU unit its factor, ``alignment.Transform.factor``), i.e.
    ``W1' = signs[:, None] * W1[perm]`` and ``b1' = signs * b1[perm]``. Saves the
    784-wide product for an aligned network.
    """
    perm = np.asarray(perm)
    if signs is None:
        return z[0][:, perm], z[1][:, perm]
    signs = np.asarray(signs, dtype=np.float64)
    return z[0][:, perm] * signs, z[1][:, perm] * signs


def interpolate_params(a: Params, b: Params, alpha: float) -> Params:
    """``(1 - alpha) a + alpha b``, layer by layer, in float64 (exactly a or b at 0 or 1)."""
    return Params(
        [_mix(wa, wb, alpha) for wa, wb in zip(a.weights, b.weights, strict=True)],
        [_mix(ba, bb, alpha) for ba, bb in zip(a.biases, b.biases, strict=True)],
    )


def _mix(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    return (1.0 - alpha) * x.astype(np.float64) + alpha * y.astype(np.float64)


def _check_first_layer(z: FirstLayer, params: Params, data: BarrierData, name: str) -> None:
    """Shapes, plus a few rows recomputed: catches a Z that belongs to another network.

    Passing B's Z with aligned B' parameters (forgetting the permutation) would
    otherwise silently give a wrong curve; checking 4 rows per split costs nothing.
    """
    w, b = params.weights[0], params.biases[0]
    n_hidden = w.shape[0]
    for zs, x, split in ((z[0], data.x_train, "train"), (z[1], data.x_test, "test")):
        if zs.shape != (len(x), n_hidden):
            raise ValueError(
                f"{name}: first-layer {split} values have shape {zs.shape}, "
                f"expected {(len(x), n_hidden)}"
            )
        rows = np.unique(np.linspace(0, len(x) - 1, 4).astype(int))
        if not np.allclose(zs[rows], preactivations(w, b, x[rows]), rtol=1e-9, atol=1e-9):
            raise ValueError(
                f"{name}: the precomputed first-layer values do not belong to these "
                "parameters (for an aligned network, use permute_first_layer)"
            )


def _check_curve(
    a: Params, b: Params, data: BarrierData, cost: str, n_alpha: int, activation: str
) -> None:
    """The settings and shapes of a curve, checked before any product is computed."""
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if n_alpha < 2:
        raise ValueError(f"n_alpha must be at least 2, got {n_alpha}")
    if a.sizes != b.sizes:
        raise ValueError(f"the networks differ in shape: {a.sizes} vs {b.sizes}")
    if a.sizes[0] != data.x_train.shape[1]:
        raise ValueError(
            f"the networks take {a.sizes[0]} inputs, the images have {data.x_train.shape[1]}"
        )


def _first_layer_of(
    params: Params, data: BarrierData, z: FirstLayer | None, name: str
) -> FirstLayer:
    """The given first-layer values, checked, or computed when not given."""
    if z is None:
        return first_layer(params, data)
    _check_first_layer(z, params, data, name)
    return z


def interpolation_curve(
    a: Params,
    b: Params,
    data: BarrierData,
    cost: str,
    za: FirstLayer | None = None,
    zb: FirstLayer | None = None,
    n_alpha: int = N_ALPHA,
    model: str = "mlp",
    activation: str = "sigmoid",
) -> pd.DataFrame:
    """Training cost and test error along ``(1 - alpha) a + alpha b``.

    ``model``, ``cost`` and ``activation`` (the hidden layers') are the networks'
    ``TrainConfig`` fields; the training cost
    is the data loss only (``network.data_cost``). ``za``/``zb`` are the networks'
    :func:`first_layer` values, computed here when not given: pass them to reuse
    one network's product across all its pairs. Any number of hidden layers works;
    only the first layer takes the linear shortcut.

    Returns one row per alpha = np.linspace(0, 1, n_alpha): columns ``alpha``,
    ``train_cost``, ``test_error``.
    """
    _check_curve(a, b, data, cost, n_alpha, activation)
    za = _first_layer_of(a, data, za, "za")
    zb = _first_layer_of(b, data, zb, "zb")

    # The forward pass again, not network.output_logits: the first layer is mixed from
    # Z_A and Z_B and the activation is computed in place, for speed (rounding differs).
    # Train and test stacked: one pass of each operation per alpha.
    n_train = data.n_train
    n_layers = len(a.weights)
    z_a = np.concatenate([za[0], za[1]])
    z_b = np.concatenate([zb[0], zb[1]])
    onehot = np.eye(a.sizes[-1])[data.y_train]
    h = np.empty_like(z_a)
    tmp = np.empty_like(z_a)
    alphas = np.linspace(0.0, 1.0, n_alpha)
    train_cost = np.empty(n_alpha)
    test_error = np.empty(n_alpha)
    with np.errstate(over="ignore"):
        for i, alpha in enumerate(alphas):
            # (1 - alpha) Z_A + alpha Z_B: exactly Z_A at 0 and Z_B at 1.
            np.multiply(z_a, 1.0 - alpha, out=h)
            np.multiply(z_b, alpha, out=tmp)
            np.add(h, tmp, out=h)
            z_out = h  # with no hidden layer, the first layer is the output
            for layer in range(1, n_layers):
                hidden_activation_inplace(z_out, activation)
                weight = _mix(a.weights[layer], b.weights[layer], alpha)
                z_out = z_out @ weight.T + _mix(a.biases[layer], b.biases[layer], alpha)
            train_cost[i] = data_cost(z_out[:n_train], onehot, model, cost)
            test_error[i] = 1.0 - float(np.mean(np.argmax(z_out[n_train:], axis=1) == data.y_test))
    return pd.DataFrame({"alpha": alphas, "train_cost": train_cost, "test_error": test_error})


def barrier(curve_values: np.ndarray, alphas: np.ndarray) -> float:
    """``max over alpha of L(alpha) - ((1 - alpha) L(0) + alpha L(1))``.

    ``curve_values[0]`` and ``[-1]`` are the endpoints (alphas running from 0 to 1);
    they are included in the max, so a barrier is never negative: a path that stays
    below its chord has barrier 0. NaN anywhere gives NaN.
    """
    values = np.asarray(curve_values, dtype=np.float64)
    alphas = np.asarray(alphas, dtype=np.float64)
    if values.ndim != 1 or values.shape != alphas.shape or len(values) < 2:
        raise ValueError(
            f"need matching 1-d curve values and alphas (2 or more), got {values.shape} "
            f"and {alphas.shape}"
        )
    if alphas[0] != 0.0 or alphas[-1] != 1.0:
        raise ValueError(f"alphas must run from 0 to 1, got {alphas[0]} to {alphas[-1]}")
    chord = (1.0 - alphas) * values[0] + alphas * values[-1]
    return float(np.max(values - chord))


def curve_barriers(curve: pd.DataFrame) -> dict[str, float]:
    """Both barriers of an :func:`interpolation_curve`: ``train_cost`` and ``test_error``."""
    alphas = curve["alpha"].to_numpy()
    return {
        column: barrier(curve[column].to_numpy(), alphas) for column in ("train_cost", "test_error")
    }


def select_barrier_pairs(
    pairs: Sequence[tuple[int, int]], kinds: Sequence[str], budget: int
) -> list[int]:
    """Indices (sorted) of the pairs whose curves to compute, at most ``budget`` of them.

    All pairs when they fit. Otherwise exactly ``budget``, balanced across kinds so
    that a rare kind of pair (e.g. same init, different order) is not crowded out:
    quotas are dealt one at a time, round-robin over the kinds in sorted order,
    skipping a kind once all its pairs are taken; within a kind the chosen pairs are
    evenly spaced over its pairs in their given order (not just the first ones).
    Deterministic: no randomness, the same inputs give the same indices.
    """
    if len(pairs) != len(kinds):
        raise ValueError(f"{len(pairs)} pairs but {len(kinds)} kinds")
    if budget < 0:
        raise ValueError(f"budget must be 0 or more, got {budget}")
    if len(pairs) <= budget:
        return list(range(len(pairs)))
    members: dict[str, list[int]] = {}
    for index, kind in enumerate(kinds):
        members.setdefault(kind, []).append(index)
    order = sorted(members)
    quota = dict.fromkeys(order, 0)
    left = budget
    while left:
        for kind in order:
            if left and quota[kind] < len(members[kind]):
                quota[kind] += 1
                left -= 1
    chosen: list[int] = []
    for kind in order:
        n, q = len(members[kind]), quota[kind]
        # Centre of each of q equal slices of the kind's n pairs: distinct as q <= n.
        chosen.extend(members[kind][((2 * i + 1) * n) // (2 * q)] for i in range(q))
    return sorted(chosen)
