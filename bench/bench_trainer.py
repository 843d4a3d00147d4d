"""Benchmark: the sparse compiled trainer against Nielsen's per-sample network.py and the
dense NumPy trainer it replaced, in one run.

What it measures
    Seconds per epoch of Nielsen's [784, 30, 10] network (quadratic cost, sigmoid, eta
    3.0, mini-batches of 10, float64 unless ``--dtype``) on the 50,000 MNIST training
    images, one thread, for:

    * ``per-sample network.py``: the book's ``network.py`` as published, written out
      below (Python 3, and a given order in place of ``random.shuffle``);
    * ``dense NumPy``: the vectorised trainer twinnets used before arithmetic
      ``sparse-1``, kept here only for the ratio (``dense_sgd_epoch_stacked``: one BLAS
      product per layer per mini-batch, for a stack of K networks), with its per-epoch
      evaluation (``network.split_logits``: dense products);
    * ``sparse kernel``: ``twinnets.train.network.train_block``'s epoch, the compiled kernel of
      ``twinnets.train.kernels`` over the non-zero pixels, with its sparse evaluation.

    Rows: SGD alone, and SGD plus the per-epoch evaluation (the cost on the training
    set, the accuracy on the 10,000 validation and 10,000 test images), each with its
    ratio to the per-sample epoch (which evaluates nothing); then blocks of K = 1 and 8
    networks (seconds per network-epoch, SGD plus evaluation) on 1 and 2 threads for
    the kernel, and K = 1 and 8 for the dense stack (one BLAS thread).

Agreement
    From the same initial parameters and order, one epoch of the kernel and of the
    per-sample reference should agree to 1e-6 (they differ only in rounding). The
    script also reports a control: the kernel against itself with one initial weight
    moved by one ulp, which shows how far rounding alone carries after 5,000 steps.
    Exit status 1 when the kernel differs from the reference by more than 1e-6 and
    more than 10x the control, or by more than 1e-3 in any case (float64 only: the
    reference is float64, and float32's rounding grows to O(0.1) over an epoch).

How
    One process; BLAS limited to one thread (threadpoolctl); contestants interleaved
    within each round, the order rotated every round, the median over rounds
    reported. The kernels are compiled (or loaded from numba's cache) before the
    clock starts. The machine is shared: run it twice when numbers look noisy.

Usage
    python bench/bench_trainer.py --mnist DIR [--rounds 3] [--n-train 50000]
        [--dtype float64] [--out results/bench/trainer.csv]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.special import expit
from threadpoolctl import threadpool_info, threadpool_limits

from twinnets.data.mnist import Mnist, Split, load_mnist, scale_pixels
from twinnets.train.network import (
    EvalSets,
    KernelLayout,
    Params,
    TrainConfig,
    TrainedNetwork,
    accuracy,
    epoch_order,
    evaluate_flat,
    init_params,
    output_activation,
    sgd_epoch_flat,
    split_logits,
    step_size,
    total_cost,
    train_block,
)

TOLERANCE = 1e-6  # the target for the max abs difference after one epoch
CHAOS_FACTOR = 10.0  # a difference within this factor of the 1-ulp control is rounding chaos
HARD_LIMIT = 1e-3  # beyond this, a difference is never rounding (a wrong rule gives >= 1e-2)
TARGET_SGD = 25.0  # the targets against the per-sample epoch
TARGET_WITH_EVAL = 12.0
EPOCH = 1

REFERENCE = "per-sample network.py"
DENSE = "dense NumPy"
SPARSE = "sparse kernel"


# --------------------------------------------------------------------------- dense trainer


def dense_sgd_epoch_stacked(
    stacked: Params,
    pixels: np.ndarray,
    onehot: np.ndarray,
    orders: np.ndarray,
    config: TrainConfig,
    first_step: int = 0,
) -> None:
    """The dense trainer before arithmetic ``sparse-1`` (twinnets 9da1587), verbatim:
    one epoch for K networks at once, in place: weights (K, n_out, n_in), biases (K, n_out)."""
    weights, biases = stacked.weights, stacked.biases
    n_layers = len(weights)
    dtype = weights[0].dtype
    model = config.model
    sigmoid_delta = model == "mlp" and config.cost == "quadratic"
    decay_biases = config.l2 == "all"
    m = config.batch_size
    grads = [np.empty_like(w) for w in weights]
    for k, start in enumerate(range(0, orders.shape[1], m), start=first_step):
        batch = orders[:, start : start + m]
        eta = step_size(config, k)
        step = dtype.type(eta / batch.shape[1])
        decay = dtype.type(1.0 - eta * config.lmbda / config.n_train)
        activations = [scale_pixels(pixels[batch], dtype)]
        for w, b in zip(weights[:-1], biases[:-1]):
            activations.append(expit(activations[-1] @ w.transpose(0, 2, 1) + b[:, None, :]))
        z = activations[-1] @ weights[-1].transpose(0, 2, 1) + biases[-1][:, None, :]
        a = output_activation(z, model)
        activations.append(a)
        delta = a - onehot[batch]
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
            grad_w *= step
            w -= grad_w
            biases[layer] -= step * grad_b


def dense_evaluate(params: Params, data: Mnist, config: TrainConfig) -> tuple[float, float, float]:
    """The dense trainer's per-epoch evaluation (BLAS products, a chunk at a time)."""
    train = Split(data.train.pixels[: config.n_train], data.train.labels[: config.n_train])
    return (
        total_cost(params, split_logits(params, train), train.labels, config),
        accuracy(split_logits(params, data.validation), data.validation.labels),
        accuracy(split_logits(params, data.test), data.test.labels),
    )


def stack(params: list[Params]) -> Params:
    return Params(
        [np.stack([p.weights[i] for p in params]) for i in range(len(params[0].weights))],
        [np.stack([p.biases[i] for p in params]) for i in range(len(params[0].biases))],
    )


def member(stacked: Params, k: int) -> Params:
    return Params([w[k].copy() for w in stacked.weights], [b[k].copy() for b in stacked.biases])


# --------------------------------------------------------------------------- references


def published_sigmoid(z):
    """network.py's ``sigmoid``, verbatim."""
    return 1.0 / (1.0 + np.exp(-z))


def published_sigmoid_prime(z):
    """network.py's ``sigmoid_prime``, verbatim."""
    return published_sigmoid(z) * (1 - published_sigmoid(z))


def nielsen_network(sigmoid: Callable, sigmoid_prime: Callable) -> type:
    """network.py's ``Network`` (quadratic cost) using the given sigmoid functions.

    The methods are the book's, line for line; ``__init__`` takes twinnets'
    ``Params`` instead of drawing its own, and ``sgd_epoch`` is one pass of the
    book's ``SGD`` loop with ``random.shuffle`` replaced by a given order.
    """

    class Network:
        def __init__(self, params: Params) -> None:
            self.num_layers = len(params.sizes)
            self.sizes = list(params.sizes)
            self.weights = [w.copy() for w in params.weights]
            self.biases = [b.reshape(-1, 1).copy() for b in params.biases]

        def to_params(self) -> Params:
            return Params([w.copy() for w in self.weights], [b.ravel().copy() for b in self.biases])

        def sgd_epoch(self, training_data, order, mini_batch_size, eta):
            training_data = [training_data[i] for i in order]  # random.shuffle(training_data)
            n = len(training_data)
            mini_batches = [
                training_data[k : k + mini_batch_size] for k in range(0, n, mini_batch_size)
            ]
            for mini_batch in mini_batches:
                self.update_mini_batch(mini_batch, eta)

        def update_mini_batch(self, mini_batch, eta):
            nabla_b = [np.zeros(b.shape) for b in self.biases]
            nabla_w = [np.zeros(w.shape) for w in self.weights]
            for x, y in mini_batch:
                delta_nabla_b, delta_nabla_w = self.backprop(x, y)
                nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
                nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
            self.weights = [
                w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)
            ]
            self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

        def backprop(self, x, y):
            nabla_b = [np.zeros(b.shape) for b in self.biases]
            nabla_w = [np.zeros(w.shape) for w in self.weights]
            # feedforward
            activation = x
            activations = [x]  # list to store all the activations, layer by layer
            zs = []  # list to store all the z vectors, layer by layer
            for b, w in zip(self.biases, self.weights):
                z = np.dot(w, activation) + b
                zs.append(z)
                activation = sigmoid(z)
                activations.append(activation)
            # backward pass
            delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
            nabla_b[-1] = delta
            nabla_w[-1] = np.dot(delta, activations[-2].transpose())
            for l in range(2, self.num_layers):  # noqa: E741 (the book's name)
                z = zs[-l]
                sp = sigmoid_prime(z)
                delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
                nabla_b[-l] = delta
                nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
            return (nabla_b, nabla_w)

        def cost_derivative(self, output_activations, y):
            return output_activations - y

    return Network


PublishedNetwork = nielsen_network(published_sigmoid, published_sigmoid_prime)


def reference_training_data(pixels: np.ndarray, labels: np.ndarray, n_out: int) -> list:
    """The book loader's layout: a list of (x (784, 1), y (10, 1)) float64 column vectors."""
    images = scale_pixels(pixels, "float64")
    eye = np.eye(n_out)
    return [(images[i].reshape(-1, 1), eye[labels[i]].reshape(-1, 1)) for i in range(len(labels))]


# --------------------------------------------------------------------------- helpers


def max_abs_diff(a: Params, b: Params) -> float:
    pairs = [*zip(a.weights, b.weights), *zip(a.biases, b.biases)]
    return max(float(np.max(np.abs(x - y))) for x, y in pairs)


def nudged_one_ulp(params: Params) -> Params:
    """A copy of ``params`` with the first output weight moved up by one ulp."""
    nudged = params.copy()
    w = nudged.weights[-1]
    w[0, 0] = np.nextafter(w[0, 0], w.dtype.type(np.inf))
    return nudged


def agreement_verdict(diff: float, control: float) -> tuple[bool, str]:
    """(passes, reason) for a reference's difference from twinnets, per the docstring."""
    if not diff <= HARD_LIMIT:  # also catches NaN
        return False, f"> {HARD_LIMIT:g}, too large for rounding: the update rules differ"
    if diff <= TOLERANCE:
        return True, f"<= {TOLERANCE:g}, the issue's target"
    if diff <= CHAOS_FACTOR * control:
        return True, (
            f"> {TOLERANCE:g} but <= {CHAOS_FACTOR:g}x the 1-ulp control "
            f"({CHAOS_FACTOR * control:.1e}): explained by rounding chaos"
        )
    return False, (
        f"> {TOLERANCE:g} and > {CHAOS_FACTOR:g}x the 1-ulp control "
        f"({CHAOS_FACTOR * control:.1e}): not explained by rounding"
    )


def machine_info() -> str:
    blas = [
        f"{i.get('prefix')} {i.get('version')} ({i.get('architecture')}, "
        f"{i.get('threading_layer')}, {i.get('num_threads')} threads)"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return (
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"BLAS: {'; '.join(blas) or 'none found'}, {platform.machine()}"
    )


def write_csv(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` to ``path`` atomically: a temporary file beside it, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("x", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mnist", required=True, help="folder holding the four MNIST .gz files")
    p.add_argument("--rounds", type=int, default=3, help="rounds per contestant (default 3)")
    p.add_argument("--n-train", type=int, default=50_000, help="training images (default 50,000)")
    p.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results/bench/trainer.csv"),
        help="CSV to write the table to (default results/bench/trainer.csv, relative to cwd)",
    )
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = TrainConfig(eta=3.0, n_train=args.n_train, dtype=args.dtype, epochs=EPOCH)
    data = load_mnist(args.mnist, n_train=config.n_train)
    pixels = data.train.pixels[: config.n_train]
    labels = data.train.labels[: config.n_train]
    onehot = np.eye(10, dtype=config.dtype)[labels]
    ref_data = reference_training_data(pixels, labels, 10)
    init = init_params(config)
    order = epoch_order(config, EPOCH)
    layout = KernelLayout.of(config.sizes)
    sets = EvalSets.of(data, config.n_train)
    block = [dataclasses.replace(config, init_seed=k, order_seed=k) for k in range(8)]

    def reference() -> tuple[float, Params]:
        net = PublishedNetwork(init.astype("float64"))
        with np.errstate(over="ignore"):
            started = time.perf_counter()
            net.sgd_epoch(ref_data, order, config.batch_size, config.eta)
            return time.perf_counter() - started, net.to_params()

    def dense(evaluate: bool, k: int = 1) -> tuple[float, Params]:
        starts = [init] if k == 1 else [init_params(c) for c in block[:k]]
        orders = np.stack([order] if k == 1 else [epoch_order(c, EPOCH) for c in block[:k]])
        stacked = stack(starts)
        started = time.perf_counter()
        dense_sgd_epoch_stacked(stacked, pixels, onehot, orders, config)
        if evaluate:
            for i in range(k):
                dense_evaluate(member(stacked, i), data, config)
        return (time.perf_counter() - started) / k, member(stacked, 0)

    def sparse(start: Params = init) -> tuple[float, Params]:
        theta = layout.pack(start)
        started = time.perf_counter()
        sgd_epoch_flat(theta, layout, sets.train, sets.train_labels, order, config)
        return time.perf_counter() - started, layout.unpack(theta)

    def sparse_block(k: int, threads: int) -> tuple[float, Params]:
        configs = block[:k] if k > 1 else [config]
        start = [TrainedNetwork(dataclasses.replace(c, epochs=0), init_params(c)) for c in configs]
        started = time.perf_counter()  # the epoch and its evaluation, as train_block runs them
        nets = train_block(configs, data, resume=start, threads=threads, sets=sets)
        return (time.perf_counter() - started) / k, nets[0].params

    def sparse_with_eval() -> tuple[float, Params]:
        theta = layout.pack(init)
        started = time.perf_counter()
        sgd_epoch_flat(theta, layout, sets.train, sets.train_labels, order, config)
        evaluate_flat(theta, layout, sets, config)
        return time.perf_counter() - started, layout.unpack(theta)

    contestants: dict[str, Callable[[], tuple[float, Params]]] = {
        f"{REFERENCE}, SGD": reference,
        f"{DENSE}, SGD": lambda: dense(False),
        f"{SPARSE}, SGD": sparse,
        f"{DENSE}, SGD + evaluation": lambda: dense(True),
        f"{SPARSE}, SGD + evaluation": sparse_with_eval,
        f"{DENSE}, block of 8, 1 thread": lambda: dense(True, 8),
        f"{SPARSE}, block of 1, 1 thread": lambda: sparse_block(1, 1),
        f"{SPARSE}, block of 1, 2 threads": lambda: sparse_block(1, 2),
        f"{SPARSE}, block of 8, 1 thread": lambda: sparse_block(8, 1),
        f"{SPARSE}, block of 8, 2 threads": lambda: sparse_block(8, 2),
    }
    names = list(contestants)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    with threadpool_limits(limits=1):
        machine = machine_info()
        print(machine)
        print(
            f"config: sizes {list(config.sizes)}, eta {config.eta}, batch {config.batch_size}, "
            f"{config.cost} cost, {config.dtype}, n_train {config.n_train}, {args.rounds} rounds, "
            "1 BLAS thread",
            flush=True,
        )
        sparse_block(1, 1)  # compile (or load) the kernels before the clock
        results: dict[str, Params] = {}
        for r in range(args.rounds):
            turn = names[r % len(names) :] + names[: r % len(names)]
            for name in turn:
                elapsed, results[name] = contestants[name]()
                seconds[name].append(elapsed)
            print(
                f"round {r + 1}: " + ", ".join(f"{n} {seconds[n][-1]:.3f} s" for n in turn),
                flush=True,
            )
        trained = results[f"{SPARSE}, SGD"]
        diff = max_abs_diff(results[f"{REFERENCE}, SGD"], trained.astype("float64"))
        ulp_diff = max_abs_diff(trained, sparse(nudged_one_ulp(init))[1])
        moved = max_abs_diff(init, trained)

    median = {name: statistics.median(s) for name, s in seconds.items()}
    ref = median[f"{REFERENCE}, SGD"]
    width = max(len(n) for n in names)
    print()
    print(f"{'trainer':<{width}} {'s/epoch (median)':>16} {'min':>7} {'max':>7} {'ref/this':>9}")
    for name in names:
        print(
            f"{name:<{width}} {median[name]:>16.3f} {min(seconds[name]):>7.3f} "
            f"{max(seconds[name]):>7.3f} {ref / median[name]:>8.1f}x"
        )
    sgd_ratio = ref / median[f"{SPARSE}, SGD"]
    eval_ratio = ref / median[f"{SPARSE}, SGD + evaluation"]
    print(
        f"sparse kernel vs per-sample: SGD {sgd_ratio:.1f}x (target >= {TARGET_SGD:g}x: "
        f"{'met' if sgd_ratio >= TARGET_SGD else 'NOT met'}), SGD + evaluation "
        f"{eval_ratio:.1f}x (target >= {TARGET_WITH_EVAL:g}x: "
        f"{'met' if eval_ratio >= TARGET_WITH_EVAL else 'NOT met'})"
    )
    ok, why = agreement_verdict(diff, ulp_diff)
    if config.dtype != "float64":  # the reference is float64: float32's rounding grows
        ok, why = True, "float32 against the float64 reference: not a check, see the control"
    print(
        f"max abs difference, kernel vs per-sample after one epoch: {diff:.3e} ({why}); "
        f"1-ulp control {ulp_diff:.3e}; largest change from init {moved:.3f}"
    )
    rows = [
        {
            "trainer": name,
            "dtype": config.dtype,
            "n_train": config.n_train,
            "rounds": args.rounds,
            "median_s_per_epoch": f"{median[name]:.4f}",
            "min_s": f"{min(seconds[name]):.4f}",
            "max_s": f"{max(seconds[name]):.4f}",
            "reference_over_this": f"{ref / median[name]:.2f}",
            "max_abs_diff_kernel_vs_reference": f"{diff:.3e}",
            "ulp_control_diff": f"{ulp_diff:.3e}",
            "numpy": np.__version__,
            "machine": machine,
        }
        for name in names
    ]
    write_csv(args.out, rows)
    print(f"wrote {args.out}")
    if not ok:
        print("FAIL: the kernel differs from the reference by more than rounding", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
