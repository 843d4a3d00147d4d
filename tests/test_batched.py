"""Training many networks in one process, on any number of threads, gives each one's bits."""

from __future__ import annotations

import dataclasses

import pytest

from twinnets.compare.distances import flatten
from twinnets.data.mnist import load_mnist
from twinnets.train.batched import train_batched
from twinnets.train.network import TrainConfig, train

N_TRAIN = 500

CONFIGS = {
    "mlp": TrainConfig(n_train=N_TRAIN, epochs=2),
    "deep-l2": TrainConfig(
        sizes=(784, 20, 15, 10), n_train=N_TRAIN, epochs=2, cost="cross-entropy", lmbda=1.0
    ),
    "softmax-1/t": TrainConfig(
        sizes=(784, 10),
        model="softmax",
        cost="cross-entropy",
        eta=0.5,
        n_train=N_TRAIN,
        epochs=2,
        lmbda=5.0,
        l2="all",
        schedule="1/t",
        tau=100.0,
    ),
    "linear": TrainConfig(sizes=(784, 10), model="linear", eta=0.05, n_train=N_TRAIN, epochs=2),
}


@pytest.fixture(scope="module")
def data(mnist_workdir):
    return load_mnist(mnist_workdir, n_train=N_TRAIN)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("k", [1, 3, 8])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_member_is_bitwise_the_network_trained_alone(data, name, k, dtype):
    base = dataclasses.replace(CONFIGS[name], dtype=dtype)
    configs = [dataclasses.replace(base, init_seed=s, order_seed=(3 * s + 1) % 7) for s in range(k)]
    together = train_batched(configs, data)
    for config, member in zip(configs, together, strict=True):
        alone = train(config, data)
        assert member.config == config
        assert member.params.weights[0].dtype == alone.params.weights[0].dtype
        assert flatten(member.params).tobytes() == flatten(alone.params).tobytes()
        assert [m.test_accuracy for m in member.metrics] == [m.test_accuracy for m in alone.metrics]


def test_resuming_a_batch_is_bitwise(data):
    configs = [dataclasses.replace(CONFIGS["mlp"], init_seed=s, order_seed=s) for s in range(3)]
    first = train_batched([dataclasses.replace(c, epochs=1) for c in configs], data)
    resumed = train_batched(configs, data, resume=first)
    for config, member in zip(configs, resumed, strict=True):
        assert flatten(member.params).tobytes() == flatten(train(config, data).params).tobytes()
        assert [m.epoch for m in member.metrics] == [0, 1, 2]


def test_members_must_share_all_but_the_seeds(data):
    with pytest.raises(ValueError, match="share every setting but the seeds"):
        train_batched([CONFIGS["mlp"], dataclasses.replace(CONFIGS["mlp"], eta=1.0)], data)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_same_bits_whatever_the_thread_count(data, dtype):
    base = dataclasses.replace(CONFIGS["deep-l2"], dtype=dtype)
    configs = [dataclasses.replace(base, init_seed=s, order_seed=s + 1) for s in range(3)]
    one, two = (train_batched(configs, data, threads=t) for t in (1, 2))
    for a, b in zip(one, two, strict=True):
        assert flatten(a.params).tobytes() == flatten(b.params).tobytes()
        assert a.metrics == [dataclasses.replace(m, seconds=a_m.seconds) for m, a_m in
                             zip(b.metrics, a.metrics, strict=True)]  # fmt: skip
