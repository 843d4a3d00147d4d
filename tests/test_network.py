"""The trainer: Nielsen's arithmetic, the randomness protocol, resume and determinism."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from scipy.special import expit
from threadpoolctl import threadpool_limits

from twinnets.data.mnist import load_mnist, scale_pixels
from twinnets.train.network import (
    Params,
    TrainConfig,
    TrainingDiverged,
    epoch_order,
    init_params,
    sgd_epoch,
    step_schedule,
    step_size,
    train,
)

SMALL = 3_000


@pytest.fixture(scope="module")
def small_data(mnist_workdir):
    return load_mnist(mnist_workdir, n_train=SMALL)


@pytest.fixture(scope="module")
def full_data(mnist_workdir):
    return load_mnist(mnist_workdir)


def assert_bitwise_equal(a: Params, b: Params) -> None:
    for x, y in zip(a.weights + a.biases, b.weights + b.biases, strict=True):
        assert x.dtype == y.dtype
        assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"batch_size": 7, "lmbda": 5.0, "eta": 0.37},
        {"schedule": "1/t", "tau": 3.3, "eta": 0.5, "lmbda": 0.3, "batch_size": 33},
        {"schedule": "1/t", "tau": 1000.0, "batch_size": 1},
    ],
)
def test_the_step_schedule_is_the_scalar_rule_bit_for_bit(settings, dtype):
    """``step_schedule`` computes every mini-batch's eta/m and decay at once; they are
    the scalar ``step_size`` rule's bits (a partial last mini-batch, a later epoch)."""
    config = TrainConfig(n_train=1_000, **settings)
    for n, first_step in [(1_000, 0), (997, 12_345)]:
        steps, decays = step_schedule(config, n, first_step, np.dtype(dtype))
        m = config.batch_size
        etas = [step_size(config, first_step + b) for b in range(-(-n // m))]
        sizes = [min(m, n - b * m) for b in range(len(etas))]
        expected = np.array([eta / size for eta, size in zip(etas, sizes)]).astype(dtype)
        assert steps.dtype == np.dtype(dtype) and steps.tobytes() == expected.tobytes()
        if config.lmbda:
            lmbda, n_train = config.lmbda, config.n_train
            expected = np.array([1.0 - eta * lmbda / n_train for eta in etas]).astype(dtype)
            assert decays.tobytes() == expected.tobytes()
        else:
            assert decays.shape == (0,)


def test_init_follows_the_documented_protocol():
    config = TrainConfig(sizes=(784, 30, 10), init_seed=7)
    rng = np.random.default_rng(7)
    biases = [rng.standard_normal(30), rng.standard_normal(10)]
    weights = [rng.standard_normal((30, 784)), rng.standard_normal((10, 30))]
    assert_bitwise_equal(init_params(config), Params(weights, biases))
    scaled = init_params(dataclasses.replace(config, init="scaled"))
    assert np.array_equal(scaled.weights[0], weights[0] / np.sqrt(784))
    assert np.array_equal(scaled.biases[1], biases[1])


def test_epoch_order_follows_the_documented_protocol():
    config = TrainConfig(order_seed=3, n_train=100)
    expected = np.random.default_rng([3, 5]).permutation(100)
    assert np.array_equal(epoch_order(config, 5), expected)
    assert not np.array_equal(epoch_order(config, 5), epoch_order(config, 6))
    # a child forked at epoch 5 with fork seed 7: its parent's order up to 5, then seed 7's
    child = dataclasses.replace(config, fork_epoch=5, fork_seed=7)
    assert np.array_equal(epoch_order(child, 5), expected)
    assert np.array_equal(epoch_order(child, 6), np.random.default_rng([7, 6]).permutation(100))


#: The hidden activations and their derivatives from their outputs, written out plainly.
REFERENCE_ACTIVATIONS = {
    "sigmoid": (expit, lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(float)),
}


def reference_epoch(params: Params, pixels, labels, order, config: TrainConfig) -> Params:
    """Nielsen's update_mini_batch/backprop, one sample at a time, column vectors (hidden
    layers of ``config.activation``, sigmoid outputs, either cost; no L2)."""
    hidden, derivative = REFERENCE_ACTIVATIONS[config.activation]
    w = [x.copy() for x in params.weights]
    b = [x.copy()[:, None] for x in params.biases]
    for start in range(0, len(order), config.batch_size):
        batch = order[start : start + config.batch_size]
        nabla_w = [np.zeros_like(x) for x in w]
        nabla_b = [np.zeros_like(x) for x in b]
        for i in batch:
            a = scale_pixels(pixels[i], "float64")[:, None]
            y = np.zeros((10, 1))
            y[labels[i]] = 1.0
            activations = [a]
            for layer, (wl, bl) in enumerate(zip(w, b)):
                f = expit if layer == len(w) - 1 else hidden
                activations.append(f(wl @ activations[-1] + bl))
            out = activations[-1]
            delta = out - y
            if config.cost == "quadratic":
                delta = delta * out * (1 - out)
            for layer in range(len(w) - 1, -1, -1):
                nabla_w[layer] += delta @ activations[layer].T
                nabla_b[layer] += delta
                if layer:
                    delta = (w[layer].T @ delta) * derivative(activations[layer])
        w = [x - (config.eta / len(batch)) * nw for x, nw in zip(w, nabla_w)]
        b = [x - (config.eta / len(batch)) * nb for x, nb in zip(b, nabla_b)]
    return Params(w, [x[:, 0] for x in b])


def test_vectorised_epoch_matches_nielsens_per_sample_loop(small_data):
    config = TrainConfig(n_train=300, epochs=1)
    order = epoch_order(config, 1)
    pixels = small_data.train.pixels[: config.n_train]
    labels = small_data.train.labels[: config.n_train]
    start = init_params(config)
    expected = reference_epoch(start, pixels, labels, order, config)
    got = start.copy()
    sgd_epoch(got, pixels, np.eye(10)[labels], order, config)
    for x, y in zip(got.weights + got.biases, expected.weights + expected.biases):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-10)
    # and the update really moved the parameters (a no-op trainer would pass the above otherwise)
    assert np.abs(got.weights[1] - start.weights[1]).max() > 1e-2


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(sizes=(784, 30, 20, 10), activation="tanh", init="scaled", eta=0.5),
        TrainConfig(sizes=(784, 30, 10), activation="tanh", init="scaled", eta=0.5),
        TrainConfig(
            sizes=(784, 30, 20, 10), activation="relu", init="scaled", cost="cross-entropy", eta=0.1
        ),
        TrainConfig(sizes=(784, 30, 10), activation="relu", init="scaled", eta=0.5),
    ],
    ids=["tanh-deep", "tanh", "relu-deep-cross-entropy", "relu"],
)
def test_tanh_and_relu_epochs_match_a_dense_per_sample_loop(small_data, config):
    """300 SGD steps (batches of 2 over 600 images) of the kernels' own tanh and ReLU against
    NumPy's, with the derivatives written from the activations' outputs."""
    config = dataclasses.replace(config, n_train=600, epochs=1, batch_size=2)
    order = epoch_order(config, 1)
    pixels = small_data.train.pixels[: config.n_train]
    labels = small_data.train.labels[: config.n_train]
    start = init_params(config)
    expected = reference_epoch(start, pixels, labels, order, config)
    got = start.copy()
    sgd_epoch(got, pixels, np.eye(10)[labels], order, config)
    for x, y in zip(got.weights + got.biases, expected.weights + expected.biases):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-10)  # measured: 5e-15
    assert np.abs(got.weights[1] - start.weights[1]).max() > 1e-2
    # the activation matters: the sigmoid's epoch from the same start is another network
    sigmoid = start.copy()
    sgd_epoch(
        sigmoid,
        pixels,
        np.eye(10)[labels],
        order,
        dataclasses.replace(config, activation="sigmoid"),
    )
    assert np.abs(sigmoid.weights[1] - got.weights[1]).max() > 1e-2


def test_resume_is_bitwise_identical_to_training_straight(small_data):
    config = TrainConfig(n_train=SMALL, epochs=3)
    straight = train(config, small_data)
    first = train(dataclasses.replace(config, epochs=1), small_data)
    resumed = train(config, small_data, resume=first)
    assert_bitwise_equal(straight.params, resumed.params)
    assert [m.epoch for m in resumed.metrics] == [0, 1, 2, 3]
    assert resumed.metrics[3].test_accuracy == straight.metrics[3].test_accuracy


def test_resume_refuses_other_settings(small_data):
    first = train(TrainConfig(n_train=SMALL, epochs=1), small_data)
    with pytest.raises(ValueError, match=r"different settings(.|\n)*eta=0.5"):
        train(TrainConfig(n_train=SMALL, epochs=2, eta=0.5), small_data, resume=first)
    with pytest.raises(ValueError, match="more than the 0 requested"):
        train(TrainConfig(n_train=SMALL, epochs=0), small_data, resume=first)
    with pytest.raises(ValueError, match=r"different settings(.|\n)*activation=tanh"):
        train(TrainConfig(n_train=SMALL, epochs=2, activation="tanh"), small_data, resume=first)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_same_bits_whatever_the_blas_thread_count(small_data, dtype):
    config = TrainConfig(n_train=SMALL, epochs=2, dtype=dtype, init_seed=1, order_seed=2)
    results = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            results.append(train(config, small_data).params)
    assert results[0].weights[0].dtype == np.dtype(dtype)
    assert_bitwise_equal(*results)


def test_different_seeds_give_different_networks(small_data):
    a = train(TrainConfig(n_train=SMALL, epochs=1, init_seed=0, order_seed=0), small_data)
    b = train(TrainConfig(n_train=SMALL, epochs=1, init_seed=0, order_seed=1), small_data)
    assert not np.array_equal(a.params.weights[0], b.params.weights[0])


def test_dead_pixels_keep_their_initial_weights(full_data):
    dead = (full_data.train.pixels == 0).all(axis=0)
    assert dead.sum() == 67
    config = TrainConfig(epochs=1)
    trained = train(config, full_data)
    start = init_params(config)
    w, w0 = trained.params.weights[0], start.weights[0]
    assert w[:, dead].tobytes() == w0[:, dead].tobytes()
    assert (w[:, ~dead] != w0[:, ~dead]).mean() > 0.99


def test_learns_and_reports_metrics(small_data):
    config = TrainConfig(n_train=SMALL, epochs=3)
    net = train(config, small_data)
    assert [m.epoch for m in net.metrics] == [0, 1, 2, 3]
    assert net.metrics[0].test_accuracy < 0.2
    assert net.metrics[-1].validation_accuracy > 0.6
    assert net.metrics[-1].train_cost < net.metrics[0].train_cost
    assert all(m.seconds > 0 for m in net.metrics[1:])


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_l2_and_costs_train(small_data, cost):
    net = train(
        TrainConfig(n_train=SMALL, epochs=2, cost=cost, lmbda=5.0, init="scaled"), small_data
    )
    assert net.metrics[-1].validation_accuracy > 0.6
    unregularised = train(
        TrainConfig(n_train=SMALL, epochs=2, cost=cost, init="scaled"), small_data
    )
    # L2 shrinks the weights, including the dead-pixel columns that no gradient touches
    assert np.linalg.norm(net.params.weights[0]) < np.linalg.norm(unregularised.params.weights[0])


def test_divergence_stops_with_the_settings_named(small_data):
    config = TrainConfig(n_train=500, epochs=2, eta=1e200, lmbda=1e200, cost="cross-entropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow must not spray RuntimeWarnings
        with pytest.raises(TrainingDiverged, match=r"non-finite in epoch 1 .*eta=1e\+200"):
            train(config, small_data)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("eta", 0.0, "eta must be a positive"),
        ("eta", float("nan"), "eta must be a positive"),
        ("batch_size", 0, "batch_size"),
        ("epochs", -1, "epochs"),
        ("cost", "hinge", "cost must be one of"),
        ("init", "xavier", "init must be one of"),
        ("dtype", "float16", "dtype must be one of"),
        ("sizes", (784,), "sizes"),
        ("lmbda", -1.0, "lmbda"),
        ("activation", "gelu", r"activation must be one of \('sigmoid', 'tanh', 'relu'\)"),
    ],
)
def test_bad_settings_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"model": "softmax", "sizes": (784, 10), "cost": "cross-entropy"}, "a softmax model"),
        ({"model": "linear", "sizes": (784, 10)}, "a linear model"),
        ({"sizes": (784, 10)}, r"sizes \(784, 10\)"),
    ],
)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_an_activation_without_hidden_layers_is_refused(settings, named, activation):
    with pytest.raises(
        ValueError, match=f"{named} has no hidden layer, so activation '{activation}'"
    ):
        TrainConfig(**settings, activation=activation)
    assert TrainConfig(**settings).activation == "sigmoid"  # the default is fine


def test_n_train_beyond_the_data_is_an_error(small_data):
    with pytest.raises(ValueError, match="holds only 3000"):
        train(TrainConfig(n_train=SMALL + 1, epochs=1), small_data)


# --------------------------------------------------------------------------- forked twins

PARENT = TrainConfig(n_train=1_000, epochs=3, init_seed=2, order_seed=5)


def child_of(parent: TrainConfig, fork_epoch: int, fork_seed: int, **changes) -> TrainConfig:
    return dataclasses.replace(parent, fork_epoch=fork_epoch, fork_seed=fork_seed, **changes)


@pytest.fixture(scope="module")
def family(small_data):
    """A parent at the fork (epoch 1) and after 3 epochs; two children forked at 1, straight."""
    return {
        "parent_at_fork": train(dataclasses.replace(PARENT, epochs=1), small_data),
        "parent": train(PARENT, small_data),
        **{f"child{f}": train(child_of(PARENT, 1, f), small_data) for f in (0, 1)},
    }


def test_a_child_resumed_from_its_parent_at_the_fork_is_the_child_trained_straight(
    small_data, family
):
    resumed = train(child_of(PARENT, 1, 0), small_data, resume=family["parent_at_fork"])
    assert_bitwise_equal(resumed.params, family["child0"].params)
    assert resumed.config == child_of(PARENT, 1, 0)
    assert [m.epoch for m in resumed.metrics] == [0, 1, 2, 3]
    assert resumed.metrics[3].test_accuracy == family["child0"].metrics[3].test_accuracy
    # and from the parent's init (epoch 0 <= the fork) as well
    init = train(dataclasses.replace(PARENT, epochs=0), small_data)
    from_init = train(child_of(PARENT, 1, 0), small_data, resume=init)
    assert_bitwise_equal(from_init.params, family["child0"].params)


def test_a_child_is_its_parent_up_to_the_fork_and_differs_after(small_data, family):
    at_fork = train(child_of(PARENT, 1, 0, epochs=1), small_data)
    assert_bitwise_equal(at_fork.params, family["parent_at_fork"].params)
    parent, child0, child1 = (family[k].params for k in ("parent", "child0", "child1"))
    assert not np.array_equal(child0.weights[0], parent.weights[0])
    assert not np.array_equal(child0.weights[0], child1.weights[0])  # siblings differ
    assert [m.test_accuracy for m in family["child0"].metrics[:2]] == [
        m.test_accuracy for m in family["parent"].metrics[:2]
    ]
    # a fork seed equal to the parent's order seed follows the parent's order throughout
    assert_bitwise_equal(train(child_of(PARENT, 1, PARENT.order_seed), small_data).params, parent)


def test_children_forked_at_0_are_children_of_the_init(small_data):
    config = dataclasses.replace(PARENT, epochs=2)
    child = train(child_of(config, 0, 7), small_data).params
    # the order seed plays no part: every epoch follows the fork seed
    assert_bitwise_equal(child, train(dataclasses.replace(config, order_seed=7), small_data).params)
    assert_bitwise_equal(child, train(child_of(config, 0, 7, order_seed=9), small_data).params)
    sibling = train(child_of(config, 0, 8), small_data).params
    assert not np.array_equal(child.weights[0], sibling.weights[0])


def test_resume_refuses_a_parent_past_the_fork_and_other_children(small_data, family):
    child = child_of(PARENT, 1, 0)
    with pytest.raises(ValueError, match=r"past the fork at epoch 1(.|\n)*dump: .*epochs=3"
                       r"(.|\n)*requested: .*fork_epoch=1, fork_seed=0"):  # fmt: skip
        train(child, small_data, resume=family["parent"])
    with pytest.raises(ValueError, match=r"another child \(fork_epoch=1, fork_seed=1\) than the "
                       r"requested one \(fork_epoch=1, fork_seed=0\)"):  # fmt: skip
        train(dataclasses.replace(child, epochs=4), small_data, resume=family["child1"])
    with pytest.raises(ValueError, match="another child"):
        train(child_of(PARENT, 2, 0), small_data, resume=family["child0"])
    with pytest.raises(ValueError, match="a parent never continues a child"):
        train(dataclasses.replace(PARENT, epochs=4), small_data, resume=family["child0"])
    with pytest.raises(ValueError, match=r"different settings(.|\n)*eta=0.5"):
        train(child_of(PARENT, 1, 0, eta=0.5), small_data, resume=family["parent_at_fork"])


@pytest.mark.parametrize(
    ("fork", "message"),
    [
        ({"fork_epoch": 2}, "fork_epoch is set but fork_seed is not"),
        ({"fork_seed": 0}, "fork_seed is set but fork_epoch is not"),
        ({"fork_epoch": -1, "fork_seed": 0}, "fork_epoch must be 0 or more"),
        ({"fork_epoch": 1, "fork_seed": -3}, "fork_seed must be 0 or more"),
    ],
)
def test_fork_settings_go_together_and_are_named(fork, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**fork)


def test_only_a_child_records_a_fork():
    assert "fork_epoch" not in PARENT.to_dict() and "fork_seed" not in PARENT.to_dict()
    child = child_of(PARENT, 1, 0)
    assert child.to_dict()["fork_epoch"] == 1 and TrainConfig.from_dict(child.to_dict()) == child
    assert TrainConfig.from_dict(PARENT.to_dict()) == PARENT and child.parent() == PARENT
