"""Nielsen's network (``network.py``, with ``network2.py``'s options): the model's home.

The arithmetic follows the book exactly: sigmoid in every layer (or tanh or ReLU in the
hidden layers, ``TrainConfig.activation``; the output layer stays a sigmoid), mini-batch SGD
with ``w <- (1 - eta*lmbda/n) w - (eta/m) * sum of dC/dw`` and N(0, 1) init. The
trainer runs it sample by sample in compiled kernels over each image's non-zero
pixels (``twinnets.train.kernels``, which fixes every operation's order, so the bits are
the same on every machine); this module holds the settings, the parameters, the
protocol, the data's sparse form and the training loop. The dense NumPy functions
(``hidden_activations``, ``output_logits``, ``feedforward``, ``split_logits``, ...)
serve the analysis: every dense forward pass of the package is one of them.

Randomness protocol (documented in the README, so anyone can rebuild a network):

* init: ``rng = numpy.random.default_rng(init_seed)``; biases first,
  ``[rng.standard_normal(n) for n in sizes[1:]]``, then the weights,
  ``[rng.standard_normal((n_out, n_in)) ...]`` layer by layer; the ``scaled`` init
  divides the same weight draws by sqrt(n_in).
* order: epoch k (1, 2, ...) visits the training set in the order
  ``numpy.random.default_rng([order_seed, k]).permutation(n_train)``; mini-batches
  are consecutive slices of that order.
* fork: a child forked from its parent at epoch K with fork seed F (``fork_epoch``,
  ``fork_seed``) follows its parent's order (its ``order_seed``) in epochs 1..K and
  ``numpy.random.default_rng([F, k]).permutation(n_train)`` in every epoch k > K. So
  children of one parent share its init and first K epochs and differ only in their
  fork seeds (Frankle et al. 2020's spawning); at K = 0 they are children of the init,
  and the order seed plays no part. ``epoch_order`` is the one home of this rule.

Because epoch k's order depends only on (order_seed, fork, k), training resumes exactly,
from a dump of the same arithmetic (``kernels.ARITHMETIC_VERSION``); a child resumes
from its parent's dump at epoch K or earlier (``TrainConfig.resume_refusal``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, logsumexp, softmax

from twinnets.data.mnist import Mnist, Split, scale_pixels
from twinnets.train import kernels
from twinnets.train.kernels import ARITHMETIC_VERSION

MODELS = ("mlp", "softmax", "linear")
#: The hidden layers' activation of an MLP (the output layer is a sigmoid whatever it is).
ACTIVATIONS = ("sigmoid", "tanh", "relu")
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
    activation: str = "sigmoid"
    l2: str = "weights"
    schedule: str = "constant"
    tau: float = 1000.0
    #: Forked from its parent after this many epochs (None: not a child; see ``epoch_order``).
    fork_epoch: int | None = None
    #: The seed of the child's data order after the fork (set with ``fork_epoch``).
    fork_seed: int | None = None

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
        if self.activation not in ACTIVATIONS:
            problems.append(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        elif self.activation != "sigmoid" and (self.model != "mlp" or len(self.sizes) < 3):
            what = f"a {self.model} model" if self.model != "mlp" else f"sizes {self.sizes}"
            problems.append(
                f"{what} has no hidden layer, so activation {self.activation!r} would change "
                "nothing: leave activation at 'sigmoid' (it names the hidden layers' activation)"
            )
        if self.l2 not in L2_TARGETS:
            problems.append(f"l2 must be one of {L2_TARGETS}, got {self.l2!r}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not (math.isfinite(self.tau) and self.tau > 0):
            problems.append(f"tau must be a positive number of steps, got {self.tau}")
        problems += self._fork_problems()
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))

    def _fork_problems(self) -> list[str]:
        """A child needs both its fork epoch and its fork seed, each 0 or more."""
        if (self.fork_epoch is None) != (self.fork_seed is None):
            given, missing = (
                ("fork_epoch", "fork_seed")
                if self.fork_seed is None
                else ("fork_seed", "fork_epoch")
            )
            return [
                f"{given} is set but {missing} is not: a forked child needs both "
                "(fork_epoch: the epochs shared with its parent, fork_seed: its data order "
                "after them); set both or neither"
            ]
        problems = []
        if self.fork_epoch is not None and self.fork_epoch < 0:
            problems.append(f"fork_epoch must be 0 or more, got {self.fork_epoch}")
        if self.fork_seed is not None and self.fork_seed < 0:
            problems.append(f"fork_seed must be 0 or more, got {self.fork_seed}")
        return problems

    @property
    def forked(self) -> bool:
        return self.fork_epoch is not None

    def to_dict(self) -> dict:
        """Every setting; the fork only for a child, so a network that is not one has the
        same settings (in its dump, in the workflow's params) as before forks existed."""
        d = dataclasses.asdict(self)
        d["sizes"] = list(self.sizes)
        if not self.forked:
            del d["fork_epoch"], d["fork_seed"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def same_network(self, other: TrainConfig) -> bool:
        """True when ``other`` differs at most in ``epochs``: one is a prefix of the other."""
        return dataclasses.replace(self, epochs=0) == dataclasses.replace(other, epochs=0)

    def parent(self) -> TrainConfig:
        """The network a child was forked from (itself, if it is not a child)."""
        return dataclasses.replace(self, fork_epoch=None, fork_seed=None)

    def resume_refusal(self, dump: TrainConfig) -> str | None:
        """Why this network cannot continue a dump trained with ``dump``; None if it can.

        It can continue an earlier checkpoint of itself, and a child can continue its
        parent's dump up to the fork (epochs <= fork_epoch): those are bitwise the
        child's own first epochs. A parent past the fork, another child (another fork
        epoch or seed) or a child for its parent are refused.
        """
        if self.same_network(dump):
            return None
        if not self.parent().same_network(dump.parent()):
            return "the dump was trained with different settings"
        if self.forked and not dump.forked:
            if dump.epochs <= self.fork_epoch:
                return None
            return (
                f"the dump is the parent after {dump.epochs} epochs, past the fork at epoch "
                f"{self.fork_epoch}: a child resumes from its parent's dump at epoch "
                f"{self.fork_epoch} or earlier"
            )
        if dump.forked and not self.forked:
            return (
                f"the dump is a child (fork_epoch={dump.fork_epoch}, fork_seed={dump.fork_seed}) "
                "and the requested network its parent: a parent never continues a child"
            )
        return (
            f"the dump is another child (fork_epoch={dump.fork_epoch}, "
            f"fork_seed={dump.fork_seed}) than the requested one (fork_epoch="
            f"{self.fork_epoch}, fork_seed={self.fork_seed}); resume from its parent's dump"
        )

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
    #: The trainer arithmetic that produced the parameters (``kernels.ARITHMETIC_VERSION``).
    arithmetic: str = ARITHMETIC_VERSION


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


def epoch_seed(config: TrainConfig, epoch: int) -> int:
    """The seed of epoch ``epoch``'s order: the order seed, or after a child's fork its fork seed."""
    if config.forked and epoch > config.fork_epoch:
        return config.fork_seed
    return config.order_seed


def epoch_order(config: TrainConfig, epoch: int) -> np.ndarray:
    """The order in which epoch ``epoch`` (1-based) visits the network's training set.

    ``default_rng([epoch_seed(config, epoch), epoch]).permutation(config.n_train)``: the one
    home of the order protocol, for the trainer, the benchmarks and the tests alike.
    """
    return np.random.default_rng([epoch_seed(config, epoch), epoch]).permutation(config.n_train)


# --------------------------------------------------------------------------- maths


def output_activation(z: np.ndarray, model: str = "mlp") -> np.ndarray:
    """The output layer's activation: sigmoid (MLP), softmax, or identity (linear)."""
    if model == "mlp":
        return expit(z)
    if model == "softmax":
        return softmax(z, axis=-1)
    return z


def feedforward(
    params: Params, x: np.ndarray, model: str = "mlp", activation: str = "sigmoid"
) -> np.ndarray:
    """Output activations for a batch of inputs ``x`` of shape (n, n_in); ``activation`` is
    the hidden layers' (the network's ``TrainConfig.activation``)."""
    return output_activation(output_logits(params, x, activation), model)


def normalise_outputs(a: np.ndarray) -> np.ndarray:
    """Non-negative outputs (n, K) scaled to sum to 1 per image; an all-zero row becomes uniform.

    Sigmoid outputs are not a distribution; normalising them is the simplest way to
    compare two networks' "beliefs" beyond the argmax. The one home of that rule:
    ``output_probabilities`` and ``twinnets.compare.similarity`` both use it.
    """
    total = a.sum(axis=-1, keepdims=True)
    return np.divide(a, total, out=np.full_like(a, 1.0 / a.shape[-1]), where=total > 0)


def output_probabilities(
    params: Params, x: np.ndarray, model: str = "mlp", activation: str = "sigmoid"
) -> np.ndarray:
    """Outputs scaled to sum to 1 per sample, so any two models' functions compare.

    Sigmoid outputs are normalised, softmax outputs already sum to 1, and the linear
    model's outputs are clipped at 0 first (uniform where all are <= 0).
    """
    a = feedforward(params, x, model, activation)
    if model == "linear":
        a = np.clip(a, 0.0, None)
    return normalise_outputs(a)


def hidden_activation(z: np.ndarray, activation: str = "sigmoid") -> np.ndarray:
    """A hidden layer's outputs from its weighted inputs ``z``, in ``z``'s dtype (NumPy's
    functions: the dense analysis, not the trainer's own arithmetic)."""
    if activation == "sigmoid":
        return expit(z)
    if activation == "tanh":
        return np.tanh(z)
    if activation == "relu":
        return np.maximum(z, z.dtype.type(0))
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


def hidden_activation_inplace(z: np.ndarray, activation: str) -> np.ndarray:
    """``hidden_activation`` in place, for the analysis's large products (loss barriers, many
    networks' activations at once): the sigmoid as ``sigmoid_inplace``."""
    if activation == "sigmoid":
        return sigmoid_inplace(z)
    if activation == "tanh":
        return np.tanh(z, out=z)
    return np.maximum(z, 0.0, out=z)


def sigmoid_inplace(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))`` in place: 3x faster than ``expit`` on the hidden layer.

    NumPy's vectorised ``exp`` makes this the cheapest form; it agrees with
    ``scipy.special.expit`` (the trainer's sigmoid) to a few ulp (relative 1e-15),
    except below z = -709 where it gives 0 instead of a subnormal.
    """
    np.negative(z, out=z)
    with np.errstate(over="ignore"):  # exp(-z) = inf below z = -709: the sigmoid is 0
        np.exp(z, out=z)
    np.add(z, 1.0, out=z)
    return np.reciprocal(z, out=z)


def hidden_activations(
    params: Params, x: np.ndarray, activation: str = "sigmoid", first: np.ndarray | None = None
) -> list[np.ndarray]:
    """Every hidden layer's outputs for inputs ``x`` (n, n_in): the dense forward pass that
    ``output_logits`` continues, so representations and outputs agree bitwise.

    ``activation`` is the network's (``TrainConfig.activation``; read it from the dump).
    ``first``: the first layer's weighted inputs ``x @ W1.T + b1``, where the caller has
    them already (the analysis keeps them), so the largest product is not done twice.
    """
    acts = []
    a = x
    for layer, (w, b) in enumerate(zip(params.weights[:-1], params.biases[:-1], strict=True)):
        z = first if layer == 0 and first is not None else a @ w.T + b
        a = hidden_activation(z, activation)
        acts.append(a)
    return acts


def output_logits(params: Params, x: np.ndarray, activation: str = "sigmoid") -> np.ndarray:
    """The last layer's weighted inputs z, from which costs are computed stably."""
    hidden = hidden_activations(params, x, activation)
    a = hidden[-1] if hidden else x
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


def split_logits(
    params: Params, split: Split, chunk: int = 2_000, activation: str = "sigmoid"
) -> np.ndarray:
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
        logits.append(output_logits(params, x, activation))
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


# --------------------------------------------------------------------------- kernels


@dataclass(frozen=True)
class SparseImages:
    """Images as CSR: image i's non-zero pixels are ``indices[indptr[i]:indptr[i + 1]]``
    (ascending) with raw values ``values[...]`` (uint8); 3 bytes per non-zero pixel."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.indptr) - 1


def sparse_images(pixels: np.ndarray, chunk: int = 5_000) -> SparseImages:
    """The CSR form of uint8 ``pixels`` (n, 784), built once per data set.

    A chunk of images at a time, so the temporary index arrays stay small.
    """
    counts = np.count_nonzero(pixels, axis=1)
    indptr = np.zeros(len(pixels) + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(indptr[-1], np.uint16)
    values = np.empty(indptr[-1], np.uint8)
    for start in range(0, len(pixels), chunk):
        rows = pixels[start : start + chunk]
        lo, hi = indptr[start], indptr[start + len(rows)]
        flat = np.flatnonzero(rows)  # row-major: ascending pixel index within each image
        indices[lo:hi] = flat % rows.shape[1]
        values[lo:hi] = rows.ravel()[flat]
    return SparseImages(indptr, indices, values)


@dataclass(frozen=True)
class KernelLayout:
    """Where each layer lives in a network's flat parameter vector (``twinnets.train.kernels``)."""

    sizes: np.ndarray
    stride: int
    woff: np.ndarray
    boff: np.ndarray
    aoff: np.ndarray
    size: int

    @classmethod
    def of(cls, sizes: tuple[int, ...]) -> KernelLayout:
        lanes = kernels.LANES
        stride = -(-sizes[1] // lanes) * lanes  # first-layer columns padded with zeros
        woff, boff, at = [], [], 0
        for layer, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            n_weights = n_in * (stride if layer == 0 else n_out)
            woff.append(at)
            boff.append(at + n_weights)
            at += n_weights + n_out
        aoff = np.concatenate([[0], np.cumsum(sizes[1:-1], dtype=np.int64)])
        as_int = lambda v: np.asarray(v, np.int64)  # noqa: E731
        return cls(as_int(sizes), stride, as_int(woff), as_int(boff), as_int(aoff), at)

    def pack(self, params: Params) -> np.ndarray:
        """The flat vector: first-layer weights transposed, the others as they are."""
        w0 = params.weights[0]
        first = np.zeros((w0.shape[1], self.stride), w0.dtype)
        first[:, : w0.shape[0]] = w0.T
        parts = [first.ravel(), params.biases[0]]
        for w, b in zip(params.weights[1:], params.biases[1:]):
            parts += [w.ravel(), b]
        return np.ascontiguousarray(np.concatenate(parts))

    def unpack(self, theta: np.ndarray) -> Params:
        """Contiguous copies of the layers of ``theta``, in ``Params``' layout."""
        weights, biases = [], []
        for layer, (n_in, n_out) in enumerate(itertools.pairwise(self.sizes.tolist())):
            w = theta[self.woff[layer] : self.boff[layer]]
            w = w.reshape(n_in, self.stride)[:, :n_out].T if layer == 0 else w.reshape(n_out, n_in)
            weights.append(np.ascontiguousarray(w))
            biases.append(theta[self.boff[layer] : self.boff[layer] + n_out].copy())
        return Params(weights, biases)


def pixel_table(dtype: str | np.dtype) -> np.ndarray:
    """``scale_pixels`` of every uint8 value: the kernels look pixels up here."""
    return scale_pixels(np.arange(256, dtype=np.uint8), dtype)


def sparse_logits(
    theta: np.ndarray, layout: KernelLayout, images: SparseImages, n_out: int, activation: str
) -> np.ndarray:
    """Output logits of every image, by the kernels' sparse forward pass (no BLAS), with
    ``activation`` in the hidden layers."""
    dtype = theta.dtype
    out = np.empty((len(images), n_out), dtype)
    kernels.logits(
        theta,
        layout.sizes,
        layout.woff,
        layout.boff,
        layout.aoff,
        images.indptr,
        images.indices,
        images.values,
        pixel_table(dtype),
        out,
        dtype.type(1),
        kernels.ACTIVATION_CODES[activation],
    )
    return out


def step_schedule(
    config: TrainConfig, n: int, first_step: int, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Per mini-batch of an epoch over ``n`` samples: eta / m and 1 - eta lmbda / n_train."""
    m = config.batch_size
    b = np.arange(-(-n // m))
    # step_size for every mini-batch at once: the same IEEE operations in float64
    if config.schedule == "constant":
        etas = np.full(len(b), float(config.eta))
    else:
        etas = config.eta / (1.0 + (first_step + b) / config.tau)
    sizes = np.minimum(m, n - b * m)
    steps = (etas / sizes).astype(dtype)
    if not config.lmbda:
        return steps, np.empty(0, dtype)
    decays = (1.0 - etas * config.lmbda / config.n_train).astype(dtype)
    return steps, decays


def sgd_epoch_flat(
    theta: np.ndarray,
    layout: KernelLayout,
    images: SparseImages,
    labels: np.ndarray,
    order: np.ndarray,
    config: TrainConfig,
    first_step: int = 0,
) -> None:
    """One epoch of SGD on the flat vector ``theta`` in place (``twinnets.train.kernels``)."""
    dtype = theta.dtype
    steps, decays = step_schedule(config, len(order), first_step, dtype)
    kernels.sgd_epoch(
        theta,
        layout.sizes,
        layout.woff,
        layout.boff,
        layout.aoff,
        images.indptr,
        images.indices,
        images.values,
        pixel_table(dtype),
        np.ascontiguousarray(labels, np.int64),
        np.ascontiguousarray(order, np.int64),
        config.batch_size,
        steps,
        decays,
        kernels.MODEL_CODES[config.model],
        kernels.ACTIVATION_CODES[config.activation],
        config.model == "mlp" and config.cost == "quadratic",
        config.l2 == "all",
        dtype.type(1),
    )


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
    A convenience around the kernel for one network (the trainer keeps its data sparse
    and its parameters flat across epochs instead).
    """
    layout = KernelLayout.of(params.sizes)
    theta = layout.pack(params)
    labels = np.argmax(onehot, axis=1)
    sgd_epoch_flat(theta, layout, sparse_images(pixels), labels, order, config, first_step)
    for target, source in zip(
        params.weights + params.biases, (u := layout.unpack(theta)).weights + u.biases
    ):
        target[...] = source


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class EvalSets:
    """The data of a training run, sparse, built once: training images and labels, and
    the validation and test sets that every epoch is evaluated on."""

    train: SparseImages
    train_labels: np.ndarray
    validation: SparseImages
    validation_labels: np.ndarray
    test: SparseImages
    test_labels: np.ndarray

    @classmethod
    def of(cls, data: Mnist, n_train: int) -> EvalSets:
        return cls(
            sparse_images(data.train.pixels[:n_train]),
            np.asarray(data.train.labels[:n_train], np.int64),
            sparse_images(data.validation.pixels),
            np.asarray(data.validation.labels),
            sparse_images(data.test.pixels),
            np.asarray(data.test.labels),
        )


def evaluate_flat(
    theta: np.ndarray, layout: KernelLayout, sets: EvalSets, config: TrainConfig
) -> tuple[float, float, float]:
    """(training cost, validation accuracy, test accuracy), from the sparse forward pass."""
    n_out, activation = config.sizes[-1], config.activation
    params = layout.unpack(theta)
    return (
        total_cost(
            params,
            sparse_logits(theta, layout, sets.train, n_out, activation),
            sets.train_labels,
            config,
        ),
        accuracy(
            sparse_logits(theta, layout, sets.validation, n_out, activation),
            sets.validation_labels,
        ),
        accuracy(sparse_logits(theta, layout, sets.test, n_out, activation), sets.test_labels),
    )


def evaluate(params: Params, data: Mnist, config: TrainConfig) -> tuple[float, float, float]:
    """(training cost, validation accuracy, test accuracy) of ``params``, as the trainer
    computes them every epoch."""
    layout = KernelLayout.of(params.sizes)
    return evaluate_flat(layout.pack(params), layout, EvalSets.of(data, config.n_train), config)


def check_batchable(configs: Sequence[TrainConfig]) -> None:
    """Members may differ only in their seeds (and are trained to the same epochs)."""
    if not configs:
        raise ValueError("a batch needs at least one network")
    first = dataclasses.replace(configs[0], init_seed=0, order_seed=0)
    for c in configs[1:]:
        if dataclasses.replace(c, init_seed=0, order_seed=0) != first:
            raise ValueError(
                "networks trained together must share every setting but the seeds:\n"
                f"  {configs[0].describe()}\n  {c.describe()}"
            )


def _resumed_epochs(configs: Sequence[TrainConfig], resume: Sequence[TrainedNetwork]) -> int:
    """The epochs every member resumes from, after checking that resuming is sound."""
    if len(resume) != len(configs):
        raise ValueError(f"{len(configs)} networks but {len(resume)} to resume from")
    done_set = {r.config.epochs for r in resume}
    if len(done_set) != 1:
        raise ValueError(f"members resume from different epochs: {sorted(done_set)}")
    done = done_set.pop()
    for c, r in zip(configs, resume, strict=True):
        refusal = c.resume_refusal(r.config)
        if refusal:
            raise ValueError(
                f"cannot resume: {refusal}.\n"
                f"  dump:      {r.config.describe()}\n  requested: {c.describe()}"
            )
        if r.arithmetic != ARITHMETIC_VERSION:
            raise ValueError(
                f"cannot resume: the dump was trained with arithmetic {r.arithmetic!r}, this "
                f"trainer's is {ARITHMETIC_VERSION!r} (the same settings give other bits); "
                "train it again from scratch"
            )
    if done > configs[0].epochs:
        raise ValueError(
            f"cannot resume: the dump has {done} epochs, more than the {configs[0].epochs} "
            "requested"
        )
    return done


def train_block(
    configs: Sequence[TrainConfig],
    data: Mnist,
    resume: Sequence[TrainedNetwork] | None = None,
    on_epoch: Callable[[int, EpochMetrics], None] | None = None,
    threads: int = 1,
    sets: EvalSets | None = None,
) -> list[TrainedNetwork]:
    """Train networks that share every setting but their seeds, on ``threads`` threads.

    Each member runs sequentially in a compiled kernel (``twinnets.train.kernels``) on its own
    flat parameters; members run side by side on a thread pool (the kernels release the
    GIL), so member k's bits are those of ``train(configs[k])`` whatever the block or the
    thread count. ``resume[k]`` continues member k from an earlier checkpoint of the same
    network; all members must resume from the same number of epochs. ``sets``, the
    data's sparse form (``EvalSets.of(data, n_train)``), is built when not given.
    """
    check_batchable(configs)
    config = configs[0]
    if len(data.train) < config.n_train:
        raise ValueError(
            f"n_train={config.n_train} but the data holds only {len(data.train)} training images"
        )
    members, done = _start_members(configs, resume)
    layout = KernelLayout.of(config.sizes)
    sets = sets or EvalSets.of(data, config.n_train)
    thetas = [layout.pack(m.params) for m in members]

    def run(k: int, epoch: int) -> EpochMetrics:
        return _run_epoch(thetas[k], layout, sets, configs[k], epoch)

    epochs = range(done + 1, config.epochs + 1) if resume else range(config.epochs + 1)
    workers = max(1, min(int(threads), len(configs)))
    with (
        ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool,
        np.errstate(over="ignore", invalid="ignore"),
    ):
        for epoch in epochs:
            ks = range(len(configs))
            results = list(
                pool.map(run, ks, [epoch] * len(ks)) if pool else map(run, ks, [epoch] * len(ks))
            )
            for k, (member, metrics) in enumerate(zip(members, results, strict=True)):
                if not np.isfinite(thetas[k]).all():
                    raise TrainingDiverged(
                        f"parameters became non-finite in epoch {epoch} "
                        f"({member.config.describe()}); lower eta (or lmbda)"
                    )
                member.metrics.append(metrics)
                if on_epoch:
                    on_epoch(k, metrics)
    for member, theta in zip(members, thetas, strict=True):
        member.params = layout.unpack(theta)
    return [
        dataclasses.replace(m, config=c, arithmetic=ARITHMETIC_VERSION)
        for m, c in zip(members, configs, strict=True)
    ]


def _start_members(
    configs: Sequence[TrainConfig], resume: Sequence[TrainedNetwork] | None
) -> tuple[list[TrainedNetwork], int]:
    """Each member at its start, fresh from its init or resumed, and the epochs done."""
    if resume is None:
        return [TrainedNetwork(c, init_params(c), []) for c in configs], 0
    done = _resumed_epochs(configs, resume)
    members = [
        TrainedNetwork(c, r.params.astype(c.dtype), list(r.metrics))
        for c, r in zip(configs, resume, strict=True)
    ]
    return members, done


def _run_epoch(
    theta: np.ndarray, layout: KernelLayout, sets: EvalSets, config: TrainConfig, epoch: int
) -> EpochMetrics:
    """One member's SGD epoch on ``theta`` in place (none for epoch 0) and its evaluation.

    A member whose parameters diverged is not evaluated: its metrics are NaN, and the
    block stops with ``TrainingDiverged``.
    """
    seconds = 0.0
    if epoch:
        started = time.perf_counter()
        order = epoch_order(config, epoch)
        first_step = (epoch - 1) * batches_per_epoch(config)
        sgd_epoch_flat(theta, layout, sets.train, sets.train_labels, order, config, first_step)
        seconds = time.perf_counter() - started
        if not np.isfinite(theta).all():
            return EpochMetrics(epoch, math.nan, math.nan, math.nan, seconds)
    return EpochMetrics(epoch, *evaluate_flat(theta, layout, sets, config), seconds)


def train(
    config: TrainConfig,
    data: Mnist,
    resume: TrainedNetwork | None = None,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
) -> TrainedNetwork:
    """Train ``config.epochs`` epochs, or continue ``resume`` up to that many.

    Continuing an E-epoch network to E' epochs gives bitwise the parameters of
    training E' epochs straight, because each epoch's order depends only on its number.
    One network is a block of one (``train_block``).
    """
    (network,) = train_block(
        [config],
        data,
        resume=[resume] if resume else None,
        on_epoch=(lambda _, metrics: on_epoch(metrics)) if on_epoch else None,
    )
    return network
