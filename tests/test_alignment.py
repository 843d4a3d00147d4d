"""Symmetry-aware alignment: it must undo any signed permutation and never change a function."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from twinnets.compare.alignment import (
    Transform,
    align,
    apply_transforms,
    consensus,
    hidden_activations,
    random_transforms,
    tanh_coordinates,
)
from twinnets.compare.distances import flatten
from twinnets.compare.similarity import cross_correlation
from twinnets.data.mnist import load_mnist
from twinnets.train.network import Params, TrainConfig, feedforward, train

N_TRAIN = 2_000


@pytest.fixture(scope="module")
def data(mnist_workdir):
    return load_mnist(mnist_workdir, n_train=N_TRAIN)


@pytest.fixture(scope="module")
def test_x(data):
    return data.test.images("float64")


@pytest.fixture(scope="module")
def nets(data) -> dict[str, Params]:
    """Trained networks: two of one hidden layer, two of two."""
    base = TrainConfig(n_train=N_TRAIN, epochs=2)
    deep = dataclasses.replace(base, sizes=(784, 20, 16, 10), init="scaled", eta=1.0)
    return {
        "a": train(base, data).params,
        "b": train(dataclasses.replace(base, init_seed=1, order_seed=1), data).params,
        "deep_a": train(deep, data).params,
        "deep_b": train(dataclasses.replace(deep, init_seed=1, order_seed=1), data).params,
    }


def hidden_correlations(a: Params, b: Params, x: np.ndarray) -> list[np.ndarray]:
    return [
        cross_correlation(ha, hb)
        for ha, hb in zip(hidden_activations(a, x), hidden_activations(b, x), strict=True)
    ]


def distance(a: Params, b: Params) -> float:
    return float(np.linalg.norm(flatten(a) - flatten(b)))


def tanh_distance(a: Params, b: Params) -> float:
    return float(
        np.sqrt(sum(np.sum((x - y) ** 2) for x, y in zip(tanh_coordinates(a), tanh_coordinates(b))))
    )


def max_output_change(a: Params, b: Params, x: np.ndarray) -> float:
    return float(np.abs(feedforward(a, x) - feedforward(b, x)).max())


@pytest.mark.parametrize("name", ["a", "deep_a"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_signed_permutations_preserve_the_function(nets, test_x, name, seed):
    net = nets[name]
    shuffled = apply_transforms(net, random_transforms(net.sizes, np.random.default_rng(seed)))
    assert distance(net, shuffled) > 10  # it really moved the parameters
    assert max_output_change(net, shuffled, test_x) <= 1e-12


@pytest.mark.parametrize("name", ["a", "deep_a"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_signed_alignment_undoes_a_signed_permutation(nets, test_x, name, seed):
    net = nets[name]
    shuffled = apply_transforms(net, random_transforms(net.sizes, np.random.default_rng(seed)))
    aligned, _ = align(net, shuffled, "signed")
    assert distance(net, aligned) <= 1e-10
    assert max_output_change(net, aligned, test_x) <= 1e-12


@pytest.mark.parametrize("seed", [0, 1])
def test_activation_matching_undoes_a_signed_permutation(nets, data, test_x, seed):
    net = nets["a"]
    shuffled = apply_transforms(net, random_transforms(net.sizes, np.random.default_rng(seed)))
    x = data.validation.images("float64")
    corr = hidden_correlations(net, shuffled, x)
    aligned, _ = align(net, shuffled, "activation", correlations=corr)
    assert distance(net, aligned) <= 1e-10


def test_permutation_only_undoes_a_permutation_but_not_a_flip(nets):
    net = nets["a"]
    rng = np.random.default_rng(5)
    perm = Transform(rng.permutation(30), np.ones(30))
    aligned, _ = align(net, apply_transforms(net, [perm]), "permutation")
    assert distance(net, aligned) <= 1e-10
    flips = Transform(np.arange(30), np.where(np.arange(30) % 3 == 0, -1.0, 1.0))
    aligned, _ = align(net, apply_transforms(net, [flips]), "permutation")
    assert distance(net, aligned) > 1.0  # permutations alone cannot undo a flip


@pytest.mark.parametrize("pair", [("a", "b"), ("deep_a", "deep_b")])
def test_alignment_of_different_networks_keeps_function_and_shrinks_distance(
    nets, data, test_x, pair
):
    a, b = nets[pair[0]], nets[pair[1]]
    x = data.validation.images("float64")
    corr = hidden_correlations(a, b, x)
    results = {}
    for method in ("permutation", "signed", "activation"):
        aligned, transforms = align(a, b, method, correlations=corr)
        assert max_output_change(b, aligned, test_x) <= 1e-12, method
        for t, n in zip(transforms, b.sizes[1:-1]):
            assert sorted(t.perm) == list(range(n))
        results[method] = aligned
    # each method optimises its own objective, and the identity is always a candidate
    assert distance(a, results["permutation"]) < distance(a, b)
    assert tanh_distance(a, results["signed"]) <= tanh_distance(a, results["permutation"]) + 1e-9
    assert tanh_distance(a, results["signed"]) < tanh_distance(a, b)
    flips = sum(int((t.sign < 0).sum()) for t in align(a, b, "signed")[1])
    assert flips > 0  # independent networks do use the sign symmetry


def test_consensus_of_shuffled_copies_is_the_network(nets):
    net = nets["a"]
    rng = np.random.default_rng(11)
    copies = [apply_transforms(net, random_transforms(net.sizes, rng)) for _ in range(4)]
    aligned, mean, sweeps = consensus(copies)
    assert sweeps >= 1
    for member in aligned:
        assert distance(member, aligned[0]) <= 1e-10
        assert distance(member, mean) <= 1e-10


def test_consensus_brings_different_networks_closer(nets, data):
    group = [
        nets["a"],
        nets["b"],
        apply_transforms(nets["a"], random_transforms(nets["a"].sizes, np.random.default_rng(3))),
    ]
    aligned, mean, _ = consensus(group)
    raw_mean = Params(
        [np.mean([n.weights[i] for n in group], axis=0) for i in range(2)],
        [np.mean([n.biases[i] for n in group], axis=0) for i in range(2)],
    )
    assert sum(distance(n, mean) for n in aligned) < sum(distance(n, raw_mean) for n in group)
    assert distance(aligned[0], aligned[2]) <= 1e-10  # the shuffled copy found its twin
