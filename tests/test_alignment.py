"""Symmetry-aware alignment: it must undo any element of the activation's symmetry group
(signed permutations for sigmoid and tanh, rescaled permutations for ReLU) and never change
a function."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from twinnets.compare.alignment import (
    Transform,
    align,
    apply_transforms,
    canonical_form,
    canonical_transforms,
    consensus,
    matching_coordinates,
    random_transforms,
    tanh_coordinates,
)
from twinnets.compare.distances import flatten
from twinnets.compare.similarity import cross_correlation
from twinnets.compare.symmetry import SYMMETRIES, shared_activation, symmetry
from twinnets.data.mnist import load_mnist
from twinnets.train.network import (
    ACTIVATIONS,
    Params,
    TrainConfig,
    feedforward,
    hidden_activations,
    train,
)

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


# --------------------------------------------------------------------------- tanh and ReLU

#: Trained networks of each new activation, one and two hidden layers (sensible settings).
OTHER = {
    "tanh": TrainConfig(n_train=N_TRAIN, epochs=1, activation="tanh", init="scaled", eta=0.5),
    "relu": TrainConfig(
        n_train=N_TRAIN, epochs=1, activation="relu", init="scaled", cost="cross-entropy", eta=0.1
    ),
}


@pytest.fixture(scope="module")
def other_nets(data) -> dict[tuple[str, str], Params]:
    """(activation, "a" | "b" | "deep_a" | "deep_b") -> a trained network."""
    out = {}
    for activation, base in OTHER.items():
        deep = dataclasses.replace(base, sizes=(784, 20, 16, 10))
        for name, config in (("a", base), ("deep_a", deep)):
            out[activation, name] = train(config, data).params
            twin = dataclasses.replace(config, init_seed=1, order_seed=1)
            out[activation, name.replace("a", "b")] = train(twin, data).params
    return out


def outputs_change(a: Params, b: Params, x: np.ndarray, activation: str) -> float:
    return float(
        np.abs(feedforward(a, x, "mlp", activation) - feedforward(b, x, "mlp", activation)).max()
    )


def test_every_activation_has_its_symmetry_described():
    assert tuple(SYMMETRIES) == ACTIVATIONS
    assert symmetry("tanh").sign_flips and symmetry("tanh").flip_offset == 0
    assert symmetry("relu").rescaling and not symmetry("relu").sign_flips
    with pytest.raises(ValueError, match="unknown activation 'gelu'; expected one of sigmoid"):
        symmetry("gelu")


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("name", ["a", "deep_a"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_groups_moves_preserve_the_function(other_nets, test_x, activation, name, seed):
    net = other_nets[activation, name]
    moves = random_transforms(net.sizes, np.random.default_rng(seed), activation)
    if activation == "tanh":
        assert any((t.sign < 0).any() for t in moves) and not any(t.rescales() for t in moves)
    else:
        assert all(t.rescales() and (t.sign > 0).all() for t in moves)
    moved = apply_transforms(net, moves, activation)
    assert distance(net, moved) > 1  # it really moved the parameters
    assert outputs_change(net, moved, test_x, activation) <= 1e-12


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("name", ["a", "deep_a"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alignment_undoes_any_move_of_the_group(other_nets, test_x, activation, name, seed):
    net = other_nets[activation, name]
    moves = random_transforms(net.sizes, np.random.default_rng(seed), activation)
    moved = apply_transforms(net, moves, activation)
    aligned, found = align(net, moved, "signed", activation=activation)
    assert distance(net, aligned) <= 1e-10
    assert outputs_change(net, aligned, test_x, activation) <= 1e-12
    for t, move in zip(found, moves, strict=True):  # found = the move undone
        undo = move.inverse()
        assert np.array_equal(t.perm, undo.perm) and np.array_equal(t.sign, undo.sign)
        np.testing.assert_allclose(t.scale, undo.scale, rtol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_activation_matching_undoes_any_move_of_the_group(other_nets, data, test_x, activation):
    net = other_nets[activation, "a"]
    moves = random_transforms(net.sizes, np.random.default_rng(7), activation)
    moved = apply_transforms(net, moves, activation)
    x = data.validation.images("float64")
    (h_net,), (h_moved,) = (
        hidden_activations(net, x, activation),
        hidden_activations(moved, x, activation),
    )
    aligned, (found,) = align(
        net,
        moved,
        "activation",
        correlations=[cross_correlation(h_net, h_moved)],
        activation=activation,
    )
    assert outputs_change(net, aligned, test_x, activation) <= 1e-12
    live = h_net.std(axis=0) > 0
    if activation == "tanh":
        assert live.all() and distance(net, aligned) <= 1e-10
    else:  # ReLU units that never fire on the images have no activations to match by
        assert 0 < (~live).sum() < 10
    undo = moves[0].inverse()
    assert np.array_equal(found.perm[live], undo.perm[live])
    np.testing.assert_allclose(found.scale[live], undo.scale[live], rtol=1e-12)
    for w_net, w_aligned in (
        (net.weights[0], aligned.weights[0]),
        (net.weights[1].T, aligned.weights[1].T),
    ):
        np.testing.assert_allclose(w_aligned[live], w_net[live], rtol=0, atol=1e-12)


def test_tanh_flips_need_no_bias_correction_and_sigmoid_flips_do(other_nets, test_x):
    net = other_nets["tanh", "a"]
    flips = [Transform(np.arange(30), np.where(np.arange(30) % 2 == 0, -1.0, 1.0))]
    as_tanh = apply_transforms(net, flips, "tanh")
    assert np.array_equal(as_tanh.biases[1], net.biases[1])
    assert outputs_change(net, as_tanh, test_x, "tanh") <= 1e-12
    as_sigmoid = apply_transforms(net, flips, "sigmoid")  # the wrong group for this network
    assert not np.array_equal(as_sigmoid.biases[1], net.biases[1])
    assert outputs_change(net, as_sigmoid, test_x, "tanh") > 1e-2


def test_moves_outside_the_group_are_refused(other_nets, nets):
    flip = [Transform(np.arange(30), -np.ones(30))]
    with pytest.raises(ValueError, match="relu units cannot be sign-flipped"):
        apply_transforms(other_nets["relu", "a"], flip, "relu")
    rescale = [Transform(np.arange(30), np.ones(30), np.full(30, 2.0))]
    for activation in ("sigmoid", "tanh"):
        with pytest.raises(ValueError, match=f"{activation} units cannot be rescaled"):
            apply_transforms(nets["a"], rescale, activation)


@pytest.mark.parametrize("name", ["a", "deep_a"])
def test_relu_canonical_form_is_unique_and_idempotent(other_nets, test_x, name):
    net = other_nets["relu", name]
    canon = canonical_form(net)
    for w, b in zip(canon.weights[:-1], canon.biases[:-1], strict=True):
        np.testing.assert_allclose(np.sqrt((w**2).sum(axis=1) + b**2), 1.0, rtol=1e-14)
    assert distance(canonical_form(canon), canon) <= 1e-12  # idempotent
    assert all(np.allclose(t.scale, 1.0, rtol=1e-14) for t in canonical_transforms(canon))
    assert outputs_change(net, canon, test_x, "relu") <= 1e-12
    # a rescaled copy has the same canonical form: only the rescaling is taken out
    rescaled = [
        Transform(np.arange(n), np.ones(n), np.exp(np.linspace(-1, 1, n))) for n in net.sizes[1:-1]
    ]
    moved = apply_transforms(net, rescaled, "relu")
    assert distance(moved, net) > 1
    assert distance(canonical_form(moved), canon) <= 1e-10


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("pair", [("a", "b"), ("deep_a", "deep_b")])
def test_tanh_and_relu_alignment_of_different_networks_keeps_function_and_shrinks_distance(
    other_nets, data, test_x, activation, pair
):
    a, b = other_nets[activation, pair[0]], other_nets[activation, pair[1]]
    x = data.validation.images("float64")
    corr = [
        cross_correlation(ha, hb)
        for ha, hb in zip(
            hidden_activations(a, x, activation), hidden_activations(b, x, activation)
        )
    ]
    group = symmetry(activation)

    def coordinate_distance(p: Params, q: Params) -> float:
        pairs = zip(matching_coordinates(p, group), matching_coordinates(q, group), strict=True)
        return float(np.sqrt(sum(np.sum((u - v) ** 2) for u, v in pairs)))

    results = {}
    for method in ("permutation", "signed", "activation"):
        aligned, transforms = align(a, b, method, correlations=corr, activation=activation)
        assert outputs_change(b, aligned, test_x, activation) <= 1e-12, method
        for t, n in zip(transforms, b.sizes[1:-1]):
            assert sorted(t.perm) == list(range(n))
            assert group.sign_flips or (t.sign > 0).all()
        results[method] = aligned
    assert distance(a, results["permutation"]) < distance(a, b)
    # "signed" optimises the distance in the group's matching coordinates, from the identity
    assert coordinate_distance(a, results["signed"]) < coordinate_distance(a, b)
    assert (
        coordinate_distance(a, results["signed"])
        <= coordinate_distance(a, results["permutation"]) + 1e-9
    )
    if activation == "tanh":
        assert sum(int((t.sign < 0).sum()) for t in align(a, b, "signed", activation="tanh")[1]) > 0


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_consensus_of_moved_copies_is_the_network(other_nets, activation):
    net = other_nets[activation, "deep_a"]
    rng = np.random.default_rng(12)
    copies = [
        apply_transforms(net, random_transforms(net.sizes, rng, activation), activation)
        for _ in range(4)
    ]
    aligned, mean, sweeps = consensus(copies, activation=activation)
    assert sweeps >= 1
    for member in aligned:
        assert distance(member, aligned[0]) <= 1e-10
        assert distance(member, mean) <= 1e-10
    if activation == "relu":  # the consensus lives in the canonical form, up to renumbering
        canon = canonical_form(net)
        assert distance(canon, align(canon, mean, "permutation", activation="relu")[0]) <= 1e-10


def test_transforms_compose_and_invert():
    rng = np.random.default_rng(3)
    t = Transform(rng.permutation(6), np.ones(6), np.exp(rng.normal(size=6)))
    u = Transform(rng.permutation(6), rng.choice([-1.0, 1.0], size=6))
    both = t.then(u)
    w = rng.normal(size=(6, 4))
    once = w[t.perm] * t.factor[:, None]
    np.testing.assert_allclose(
        w[both.perm] * both.factor[:, None], once[u.perm] * u.factor[:, None]
    )
    back = both.then(both.inverse())
    assert np.array_equal(back.perm, np.arange(6)) and np.array_equal(back.sign, np.ones(6))
    np.testing.assert_allclose(back.scale, 1.0, rtol=1e-15)


def test_networks_of_different_activations_are_not_compared():
    assert shared_activation({"a.parquet": "tanh", "b.parquet": "tanh"}) == "tanh"
    with pytest.raises(
        ValueError,
        match=r"different hidden activations cannot be compared \(a.parquet is tanh, b.parquet is relu\)",
    ):
        shared_activation({"a.parquet": "tanh", "b.parquet": "relu"})
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        shared_activation({"a.parquet": "swish"})
