"""Nielsen's network (``network.py``, with ``network2.py``'s options), vectorised.

The arithmetic follows the book exactly: sigmoid in every layer, mini-batch SGD
with ``w <- (1 - eta*lmbda/n) w - (eta/m) * sum of dC/dw`` and N(0, 1) init. Only
the loop over a mini-batch's samples became matrix products.

Randomness protocol (documented in the README, so anyone can rebuild a network):

* init: ``rng = numpy.random.default_rng(init_seed)``; biases first,
  ``[rng.standard_normal(n) for n in sizes[1:]]``, then the weights,
  ``[rng.standard_normal((n_out, n_in)) ...]`` layer by layer; the ``scaled`` init
  divides the same weight draws by sqrt(n_in).
* order: epoch k (1, 2, ...) visits the training set in the order
  ``numpy.random.default_rng([order_seed, k]).permutation(n_train)``; mini-batches
  are consecutive slices of that order.

Because epoch k's order depends only on (order_seed, k), training resumes exactly.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, logsumexp, softmax

from twinnets.mnist import Mnist, Split, scale_pixels

MODELS = ("mlp", "softmax", "linear")
COSTS = ("quadratic", "cross-entropy")
INITS = ("nielsen", "scaled")
DTYPES = ("float64", "float32")
L2_TARGETS = ("weights", "all")
SCHEDULES = ("constant", "1/t")

#: The convex controls have one layer and one cost each.
CONVEX_COSTS = {"softmax": "cross-entropy", "linear": "quadratic"}


class TrainingDiverged(FloatingPointError):
    """Parameters became non-finite; the message names the settings."""


@dataclass(frozen=True)
class TrainConfig:
    """Every setting that determines a trained network's parameters."""

    sizes: tuple[int, ...] = (784, 30, 10)
    eta: float = 3.0
    batch_size: int = 10
    epochs: int = 30
    cost: str = "quadratic"
    lmbda: float = 0.0
    init: str = "nielsen"
    init_seed: int = 0
    order_seed: int = 0
    dtype: str = "float64"
    n_train: int = 50_000
    model: str = "mlp"
    l2: str = "weights"
    schedule: str = "constant"
    tau: float = 1000.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        problems = []
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            problems.append(f"sizes must list at least two positive layer sizes, got {self.sizes}")
        if not (math.isfinite(self.eta) and self.eta > 0):
            problems.append(f"eta must be a positive number, got {self.eta}")
        if self.batch_size < 1:
            problems.append(f"batch_size must be at least 1, got {self.batch_size}")
        if self.epochs < 0:
            problems.append(f"epochs must be 0 or more, got {self.epochs}")
        if self.cost not in COSTS:
            problems.append(f"cost must be one of {COSTS}, got {self.cost!r}")
        if not (math.isfinite(self.lmbda) and self.lmbda >= 0):
            problems.append(f"lmbda must be 0 or more, got {self.lmbda}")
        if self.init not in INITS:
            problems.append(f"init must be one of {INITS}, got {self.init!r}")
        if self.dtype not in DTYPES:
            problems.append(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.init_seed < 0 or self.order_seed < 0:
            problems.append("init_seed and order_seed must be 0 or more")
        if self.n_train < 1:
            problems.append(f"n_train must be at least 1, got {self.n_train}")
        if self.model not in MODELS:
            problems.append(f"model must be one of {MODELS}, got {self.model!r}")
        elif self.model in CONVEX_COSTS:
            if len(self.sizes) != 2:
                problems.append(f"a {self.model} model has one layer: sizes must be [784, 10]")
            if self.cost != CONVEX_COSTS[self.model]:
                problems.append(
                    f"a {self.model} model's cost is {CONVEX_COSTS[self.model]}, got {self.cost!r}"
                )
        if self.l2 not in L2_TARGETS:
            problems.append(f"l2 must be one of {L2_TARGETS}, got {self.l2!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not (math.isfinite(self.tau) and self.tau > 0):
            problems.append(f"tau must be a positive number of steps, got {self.tau}")
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["sizes"] = list(self.sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def same_network(self, other: TrainConfig) -> bool:
        """True when ``other`` differs at most in ``epochs``: one is a prefix of the other."""
        return dataclasses.replace(self, epochs=0) == dataclasses.replace(other, epochs=0)

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.to_dict().items())


@dataclass
class Params:
    """Weights ``(n_out, n_in)`` (Nielsen's layout) and biases ``(n_out,)`` per layer."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def copy(self) -> Params:
        return Params([w.copy() for w in self.weights], [b.copy() for b in self.biases])

    def astype(self, dtype: str | np.dtype) -> Params:
        return Params(
            [w.astype(dtype) for w in self.weights], [b.astype(dtype) for b in self.biases]
        )

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.weights[0].shape[1], *(w.shape[0] for w in self.weights))

    def all_finite(self) -> bool:
        return all(np.isfinite(a).all() for a in (*self.weights, *self.biases))


@dataclass
class EpochMetrics:
    epoch: int
    train_cost: float
    validation_accuracy: float
    test_accuracy: float
    seconds: float


@dataclass
class TrainedNetwork:
    config: TrainConfig
    params: Params
    metrics: list[EpochMetrics] = field(default_factory=list)


# --------------------------------------------------------------------------- protocol


def init_params(config: TrainConfig) -> Params:
    """Draw the initial parameters by the documented protocol (float64, then cast)."""
    rng = np.random.default_rng(config.init_seed)
    sizes = config.sizes
    biases = [rng.standard_normal(n) for n in sizes[1:]]
    weights = [rng.standard_normal((n_out, n_in)) for n_in, n_out in itertools.pairwise(sizes)]
    if config.init == "scaled":
        weights = [w / np.sqrt(w.shape[1]) for w in weights]
    return Params(weights, biases).astype(config.dtype)


def epoch_order(order_seed: int, epoch: int, n_train: int) -> np.ndarray:
    """The order in which epoch ``epoch`` (1-based) visits the training set."""
    return np.random.default_rng([order_seed, epoch]).permutation(n_train)


# --------------------------------------------------------------------------- maths


def output_activation(z: np.ndarray, model: str = "mlp") -> np.ndarray:
    """The output layer's activation: sigmoid (MLP), softmax, or identity (linear)."""
    if model == "mlp":
        return expit(z)
    if model == "softmax":
        return softmax(z, axis=-1)
    return z


def feedforward(params: Params, x: np.ndarray, model: str = "mlp") -> np.ndarray:
    """Output activations for a batch of inputs ``x`` of shape (n, n_in)."""
    return output_activation(output_logits(params, x), model)


def output_probabilities(params: Params, x: np.ndarray, model: str = "mlp") -> np.ndarray:
    """Outputs scaled to sum to 1 per sample, so any two models' functions compare.

    Sigmoid outputs are normalised, softmax outputs already sum to 1, and the linear
    model's outputs are clipped at 0 first (uniform where all are <= 0).
    """
    a = feedforward(params, x, model)
    if model == "linear":
        a = np.clip(a, 0.0, None)
    total = a.sum(axis=1, keepdims=True)
    return np.divide(a, total, out=np.full_like(a, 1.0 / a.shape[1]), where=total > 0)


def output_logits(params: Params, x: np.ndarray) -> np.ndarray:
    """The last layer's weighted inputs z, from which costs are computed stably."""
    a = x
    for w, b in zip(params.weights[:-1], params.biases[:-1]):
        a = expit(a @ w.T + b)
    return a @ params.weights[-1].T + params.biases[-1]


def data_cost(
    z: np.ndarray, onehot: np.ndarray, model: str = "mlp", cost: str = "quadratic"
) -> float:
    """Mean per-sample cost from output logits ``z`` (no L2 term), computed stably."""
    z = z.astype(np.float64)
    if model == "softmax":  # -sum y ln softmax(z)
        per_sample = logsumexp(z, axis=1) - np.sum(onehot * z, axis=1)
    elif model == "linear":
        per_sample = 0.5 * np.sum((z - onehot) ** 2, axis=1)
    elif cost == "quadratic":
        per_sample = 0.5 * np.sum((expit(z) - onehot) ** 2, axis=1)
    else:  # -y ln a - (1-y) ln(1-a), written stably in terms of z
        per_sample = np.sum(np.logaddexp(0.0, z) - onehot * z, axis=1)
    return float(np.mean(per_sample))


def split_logits(params: Params, split: Split, chunk: int = 2_000) -> np.ndarray:
    """``output_logits`` over a whole split, converting pixels a chunk at a time.

    One small buffer is reused for every chunk: allocating fresh float arrays (page
    faults) used to cost as much as the products themselves.
    """
    dtype = params.weights[0].dtype
    n = len(split)
    buffer = np.empty((min(chunk, n), split.pixels.shape[1]), dtype)
    logits = []
    for start in range(0, n, chunk):
        rows = split.pixels[start : start + chunk]
        x = np.divide(rows, 255.0, out=buffer[: len(rows)], dtype=dtype)
        logits.append(output_logits(params, x))
    return np.concatenate(logits)


def total_cost(params: Params, z: np.ndarray, y: np.ndarray, config: TrainConfig) -> float:
    """Nielsen's ``total_cost`` from output logits ``z``: mean cost plus the L2 term."""
    cost = data_cost(z, np.eye(z.shape[1])[y], config.model, config.cost)
    penalised = params.weights + (params.biases if config.l2 == "all" else [])
    l2 = (
        0.5
        * (config.lmbda / config.n_train)
        * sum(float(np.sum(p.astype(np.float64) ** 2)) for p in penalised)
    )
    return cost + l2


def accuracy(z: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose largest output (logit) is the label."""
    return float(np.mean(np.argmax(z, axis=1) == y))


def step_size(config: TrainConfig, step: int) -> float:
    """eta at SGD step ``step`` (0-based, counted over all epochs): constant or eta/(1 + k/tau)."""
    if config.schedule == "constant":
        return config.eta
    return config.eta / (1.0 + step / config.tau)


def batches_per_epoch(config: TrainConfig) -> int:
    return -(-config.n_train // config.batch_size)


def sgd_epoch(
    params: Params,
    pixels: np.ndarray,
    onehot: np.ndarray,
    order: np.ndarray,
    config: TrainConfig,
    first_step: int = 0,
) -> None:
    """One epoch of mini-batch SGD over ``pixels[order]``, updating ``params`` in place.

    ``first_step`` is the number of SGD steps taken before this epoch, for the schedule.
    One network is a stack of one: the arithmetic is ``sgd_epoch_stacked``'s.
    """
    stacked = Params([w[None] for w in params.weights], [b[None] for b in params.biases])
    sgd_epoch_stacked(stacked, pixels, onehot, order[None], config, first_step)
    for target, source in zip(params.weights + params.biases, stacked.weights + stacked.biases):
        target[...] = source[0]


def sgd_epoch_stacked(
    stacked: Params,
    pixels: np.ndarray,
    onehot: np.ndarray,
    orders: np.ndarray,
    config: TrainConfig,
    first_step: int = 0,
) -> None:
    """One epoch for K networks at once, in place: weights (K, n_out, n_in), biases
    (K, n_out), ``orders[k]`` member k's order.

    Every operation acts on the whole stack, and does for each member exactly the
    floating-point operations of training it alone (``np.matmul`` on a stack calls the
    same BLAS kernel per slice), so members keep their bits however they are grouped.
    """
    weights, biases = stacked.weights, stacked.biases
    n_layers = len(weights)
    dtype = weights[0].dtype
    model = config.model
    sigmoid_delta = model == "mlp" and config.cost == "quadratic"
    decay_biases = config.l2 == "all"
    m = config.batch_size
    grads = [np.empty_like(w) for w in weights]  # reused: no allocation per mini-batch
    for k, start in enumerate(range(0, orders.shape[1], m), start=first_step):
        batch = orders[:, start : start + m]  # (K, m)
        eta = step_size(config, k)
        step = dtype.type(eta / batch.shape[1])
        decay = dtype.type(1.0 - eta * config.lmbda / config.n_train)
        activations = [scale_pixels(pixels[batch], dtype)]  # (K, m, n_in)
        for w, b in zip(weights[:-1], biases[:-1]):
            activations.append(expit(activations[-1] @ w.transpose(0, 2, 1) + b[:, None, :]))
        z = activations[-1] @ weights[-1].transpose(0, 2, 1) + biases[-1][:, None, :]
        a = output_activation(z, model)
        activations.append(a)
        delta = a - onehot[batch]  # cross-entropy (sigmoid or softmax) and linear
        if sigmoid_delta:
            delta *= a * (1 - a)
        for layer in range(n_layers - 1, -1, -1):
            w = weights[layer]
            grad_w = np.matmul(delta.transpose(0, 2, 1), activations[layer], out=grads[layer])
            grad_b = delta.sum(axis=1)
            if layer:
                a_prev = activations[layer]
                delta = (delta @ w) * (a_prev * (1 - a_prev))
            if config.lmbda:
                w *= decay
                if decay_biases:
                    biases[layer] *= decay
            grad_w *= step  # then w -= grad_w: the same two roundings as w -= step * grad_w
            w -= grad_w
            biases[layer] -= step * grad_b


# --------------------------------------------------------------------------- training


def evaluate(params: Params, data: Mnist, config: TrainConfig) -> tuple[float, float, float]:
    """(training cost, validation accuracy, test accuracy) of ``params``."""
    train = Split(data.train.pixels[: config.n_train], data.train.labels[: config.n_train])
    return (
        total_cost(params, split_logits(params, train), train.labels, config),
        accuracy(split_logits(params, data.validation), data.validation.labels),
        accuracy(split_logits(params, data.test), data.test.labels),
    )


def train(
    config: TrainConfig,
    data: Mnist,
    resume: TrainedNetwork | None = None,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
) -> TrainedNetwork:
    """Train ``config.epochs`` epochs, or continue ``resume`` up to that many.

    Continuing an E-epoch network to E' epochs gives bitwise the parameters of
    training E' epochs straight, because each epoch's order depends only on its number.
    One network is a block of one: ``batched.train_batched`` runs the loop.
    """
    from twinnets.batched import train_batched  # batched builds on this module

    (network,) = train_batched(
        [config],
        data,
        resume=[resume] if resume else None,
        on_epoch=(lambda _, metrics: on_epoch(metrics)) if on_epoch else None,
    )
    return network
