"""The convex controls: what SGD can never change, and where seeds do converge."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from twinnets.compare.convex import class_sums, components, linear_minimiser
from twinnets.compare.distances import flatten, relative_distance
from twinnets.data.mnist import Split, load_mnist
from twinnets.train.network import (
    Params,
    TrainConfig,
    batches_per_epoch,
    epoch_order,
    init_params,
    sgd_epoch,
    step_size,
    train,
)

LINEAR = TrainConfig(sizes=(784, 10), model="linear", eta=0.01, epochs=1)
SOFTMAX = TrainConfig(sizes=(784, 10), model="softmax", cost="cross-entropy", eta=0.5, epochs=1)


@pytest.fixture(scope="module")
def full_data(mnist_workdir):
    return load_mnist(mnist_workdir)


@pytest.fixture(scope="module")
def small_data(mnist_workdir):
    return load_mnist(mnist_workdir, n_train=2_000)


def run_epochs(config: TrainConfig, data, epochs: int) -> Params:
    """The trainer's own SGD epochs, without the per-epoch evaluation (for long runs)."""
    params = init_params(config)
    pixels = data.train.pixels[: config.n_train]
    onehot = np.eye(10)[data.train.labels[: config.n_train]]
    for epoch in range(1, epochs + 1):
        order = epoch_order(config, epoch)
        sgd_epoch(params, pixels, onehot, order, config, (epoch - 1) * batches_per_epoch(config))
    return params


def test_linear_dead_pixel_weights_stay_at_init_exactly(full_data):
    dead = (full_data.train.pixels == 0).all(axis=0)
    trained = train(LINEAR, full_data).params
    start = init_params(LINEAR)
    assert trained.weights[0][:, dead].tobytes() == start.weights[0][:, dead].tobytes()
    assert not np.array_equal(trained.weights[0][:, ~dead], start.weights[0][:, ~dead])
    assert trained.weights[0].shape == (10, 784)


def test_softmax_preserves_the_class_sums(full_data):
    net = train(SOFTMAX, full_data)
    start = init_params(SOFTMAX)
    w_sum, b_sum = class_sums(net.params)
    w0, b0 = class_sums(start)
    np.testing.assert_allclose(w_sum, w0, rtol=0, atol=1e-12)
    assert abs(b_sum - b0) <= 1e-12
    assert np.abs(net.params.weights[0] - start.weights[0]).max() > 0.1  # it did train
    assert net.metrics[-1].test_accuracy > 0.85


def test_l2_on_all_parameters_breaks_the_class_sum(small_data):
    config = dataclasses.replace(SOFTMAX, n_train=2_000, lmbda=50.0, l2="all")
    w_sum, _ = class_sums(train(config, small_data).params)
    assert not np.allclose(w_sum, class_sums(init_params(config))[0], atol=1e-6)


def test_l2_all_decays_biases_and_dead_weights_by_the_schedule(small_data):
    config = dataclasses.replace(
        LINEAR, n_train=2_000, lmbda=100.0, l2="all", schedule="1/t", tau=50.0
    )
    dead = (small_data.train.pixels[:2_000] == 0).all(axis=0)
    trained = run_epochs(config, small_data, 2)
    expected = init_params(config).weights[0][:, dead].copy()
    for k in range(2 * batches_per_epoch(config)):
        expected *= 1.0 - step_size(config, k) * config.lmbda / config.n_train
    assert trained.weights[0][:, dead].tobytes() == expected.tobytes()


def test_step_size_schedule():
    config = dataclasses.replace(LINEAR, schedule="1/t", tau=100.0)
    assert step_size(config, 0) == config.eta
    assert step_size(config, 100) == pytest.approx(config.eta / 2)
    assert step_size(LINEAR, 10**6) == LINEAR.eta


def test_resume_with_a_decaying_step_is_bitwise(small_data):
    config = dataclasses.replace(
        SOFTMAX, n_train=2_000, epochs=3, lmbda=5.0, l2="all", schedule="1/t", tau=200.0
    )
    straight = train(config, small_data)
    resumed = train(
        config, small_data, resume=train(dataclasses.replace(config, epochs=1), small_data)
    )
    assert flatten(straight.params).tobytes() == flatten(resumed.params).tobytes()


def test_minimiser_solves_the_regularised_problem(small_data):
    split = Split(small_data.train.pixels, small_data.train.labels)
    for l2 in ("all", "weights"):
        best = linear_minimiser(split, 10.0, l2)
        x = split.images()
        y = np.eye(10)[split.labels]
        w, b = best.weights[0], best.biases[0]
        residual = x @ w.T + b - y
        n = len(x)
        grad_w = residual.T @ x / n + 10.0 / n * w
        grad_b = residual.mean(axis=0) + (10.0 / n * b if l2 == "all" else 0)
        assert np.abs(grad_w).max() < 1e-12 and np.abs(grad_b).max() < 1e-12


def test_seeds_converge_to_the_minimiser_with_l2_and_a_decaying_step(small_data):
    n = 2_000
    config = dataclasses.replace(
        LINEAR, n_train=n, eta=0.02, lmbda=1000.0, l2="all", schedule="1/t", tau=300.0
    )
    best = flatten(
        linear_minimiser(Split(small_data.train.pixels, small_data.train.labels), 1000.0)
    )
    nets = [
        flatten(run_epochs(dataclasses.replace(config, init_seed=s, order_seed=s), small_data, 400))
        for s in (0, 1)
    ]
    assert relative_distance(nets[0], nets[1]) < 1e-3
    for net in nets:
        assert np.linalg.norm(net - best) / np.linalg.norm(best) < 1e-3
    # without L2 the same two seeds stay apart: the dead pixels keep their inits
    free = dataclasses.replace(config, lmbda=0.0, schedule="constant")
    apart = [
        flatten(run_epochs(dataclasses.replace(free, init_seed=s, order_seed=s), small_data, 2))
        for s in (0, 1)
    ]
    assert relative_distance(*apart) > 1.0


def test_components_split_the_squared_difference():
    rng = np.random.default_rng(0)
    dead = np.zeros(784, bool)
    dead[:67] = True
    a = Params([rng.standard_normal((10, 784))], [rng.standard_normal(10)])
    b = Params([rng.standard_normal((10, 784))], [rng.standard_normal(10)])
    parts = components(a, b, dead)
    total = float(
        np.sum((a.weights[0] - b.weights[0]) ** 2) + np.sum((a.biases[0] - b.biases[0]) ** 2)
    )
    assert sum(parts.values()) == pytest.approx(total, rel=1e-12)  # the parts add up
    assert parts["dead_sq"] / total == pytest.approx(67 / 785, rel=0.2)
    # a pure gauge shift: the same vector added to every class
    shift = rng.standard_normal(784)
    shift[dead] = 0
    gauge = Params([a.weights[0] + shift], [a.biases[0] + 3.0])
    pure = components(gauge, a, dead)
    assert pure["gauge_sq"] == pytest.approx(sum(pure.values()), rel=1e-12)
    assert abs(pure["rest_sq"]) < 1e-9 * pure["gauge_sq"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": "softmax", "sizes": (784, 30, 10), "cost": "cross-entropy"}, "one layer"),
        ({"model": "softmax", "sizes": (784, 10)}, "cost is cross-entropy"),
        ({"model": "perceptron"}, "model must be one of"),
        ({"schedule": "cosine"}, "schedule must be one of"),
        ({"l2": "biases"}, "l2 must be one of"),
        ({"tau": 0.0}, "tau must be"),
    ],
)
def test_bad_model_settings_are_named(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)
