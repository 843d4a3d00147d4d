"""Loss barriers: the first-layer shortcut against naive interpolation, endpoints, selection."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from twinnets.compare.barriers import (
    BarrierData,
    barrier,
    curve_barriers,
    first_layer,
    interpolate_params,
    interpolation_curve,
    permute_first_layer,
    select_barrier_pairs,
)
from twinnets.data.mnist import load_mnist
from twinnets.train.network import (
    COSTS,
    Params,
    TrainConfig,
    accuracy,
    init_params,
    output_logits,
    sigmoid_inplace,
    total_cost,
)

N_IN = 20


def random_data(seed: int = 0, n_in: int = N_IN, n_train: int = 300, n_test: int = 200):
    rng = np.random.default_rng(seed)
    return BarrierData(
        x_train=rng.random((n_train, n_in)),
        y_train=rng.integers(0, 10, n_train),
        x_test=rng.random((n_test, n_in)),
        y_test=rng.integers(0, 10, n_test),
    )


def net(seed: int, sizes: tuple[int, ...] = (N_IN, 8, 10), init: str = "scaled") -> Params:
    return init_params(TrainConfig(sizes=sizes, init_seed=seed, init=init))


def own_cost(params: Params, data: BarrierData, cost: str, activation: str = "sigmoid") -> float:
    """Training cost by twinnets.train.network alone: total_cost without the L2 term."""
    config = TrainConfig(sizes=params.sizes, cost=cost, lmbda=0.0)
    logits = output_logits(params, data.x_train, activation)
    return total_cost(params, logits, data.y_train, config)


def own_error(params: Params, data: BarrierData, activation: str = "sigmoid") -> float:
    return 1.0 - accuracy(output_logits(params, data.x_test, activation), data.y_test)


def naive_curve(
    a: Params, b: Params, data: BarrierData, cost: str, n_alpha: int = 25, activation="sigmoid"
):
    """Interpolate every parameter, then evaluate with twinnets.train.network: no shortcut."""
    rows = []
    for alpha in np.linspace(0, 1, n_alpha):
        p = interpolate_params(a, b, alpha)
        rows.append((alpha, own_cost(p, data, cost, activation), own_error(p, data, activation)))
    return pd.DataFrame(rows, columns=["alpha", "train_cost", "test_error"])


@pytest.fixture(scope="module")
def data() -> BarrierData:
    return random_data()


# --------------------------------------------------------------------------- curves


@pytest.mark.parametrize("cost", COSTS)
def test_a_network_with_itself_is_flat_at_its_own_cost_and_barrier_0(data, cost):
    a = net(1)
    curve = interpolation_curve(a, a, data, cost)
    assert list(curve.columns) == ["alpha", "train_cost", "test_error"]
    assert np.array_equal(curve["alpha"], np.linspace(0, 1, 25))
    assert np.allclose(curve["train_cost"], own_cost(a, data, cost), rtol=1e-12, atol=0)
    assert np.allclose(curve["test_error"], own_error(a, data), rtol=0, atol=1e-15)
    assert curve_barriers(curve) == pytest.approx({"train_cost": 0.0, "test_error": 0.0}, abs=1e-12)


@pytest.mark.parametrize("cost", COSTS)
def test_endpoints_are_each_networks_own_cost_and_error(data, cost):
    a, b = net(1), net(2)
    curve = interpolation_curve(a, b, data, cost)
    assert curve["train_cost"].iloc[0] == pytest.approx(own_cost(a, data, cost), rel=1e-12)
    assert curve["train_cost"].iloc[-1] == pytest.approx(own_cost(b, data, cost), rel=1e-12)
    assert curve["test_error"].iloc[0] == pytest.approx(own_error(a, data), abs=1e-15)
    assert curve["test_error"].iloc[-1] == pytest.approx(own_error(b, data), abs=1e-15)
    assert own_cost(a, data, cost) != pytest.approx(own_cost(b, data, cost))


@pytest.mark.parametrize("cost", COSTS)
@pytest.mark.parametrize(
    "sizes", [(N_IN, 8, 10), (N_IN, 8, 6, 10), (N_IN, 10)], ids=["1-hidden", "2-hidden", "0-hidden"]
)
@pytest.mark.parametrize("init", ["nielsen", "scaled"])
def test_shortcut_equals_naive_parameter_interpolation(data, cost, sizes, init):
    a, b = net(3, sizes, init), net(4, sizes, init)
    fast = interpolation_curve(a, b, data, cost)
    slow = naive_curve(a, b, data, cost)
    assert np.array_equal(fast["alpha"], slow["alpha"])
    assert np.allclose(fast["train_cost"], slow["train_cost"], rtol=0, atol=1e-10)
    # An argmax could flip on a rounding-level tie; with random data none is that close.
    assert np.allclose(fast["test_error"], slow["test_error"], rtol=0, atol=1e-10)
    # The curve is not trivially flat: the test means something.
    assert np.ptp(fast["train_cost"]) > 1e-3


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("sizes", [(N_IN, 8, 10), (N_IN, 8, 6, 10)], ids=["1-hidden", "2-hidden"])
def test_the_curve_uses_the_networks_hidden_activation(data, activation, sizes):
    a, b = net(3, sizes), net(4, sizes)
    fast = interpolation_curve(a, b, data, "cross-entropy", activation=activation)
    slow = naive_curve(a, b, data, "cross-entropy", activation=activation)
    assert np.allclose(fast["train_cost"], slow["train_cost"], rtol=0, atol=1e-10)
    assert np.allclose(fast["test_error"], slow["test_error"], rtol=0, atol=1e-10)
    sigmoid = interpolation_curve(a, b, data, "cross-entropy")
    assert np.abs(fast["train_cost"] - sigmoid["train_cost"]).max() > 1e-3  # it matters


def test_first_layer_of_a_rescaled_relu_network_is_a_scaled_column_permutation(data):
    from twinnets.compare.alignment import apply_transforms, random_transforms

    b = net(7, (N_IN, 8, 6, 10))
    (t, _) = moves = random_transforms(b.sizes, np.random.default_rng(1), "relu")
    moved = apply_transforms(b, moves, "relu")
    z_moved = permute_first_layer(first_layer(b, data), t.perm, t.factor)
    for got, want in zip(z_moved, first_layer(moved, data), strict=True):
        assert np.allclose(got, want, rtol=1e-13, atol=1e-13)
    a = net(8, (N_IN, 8, 6, 10))
    curve = interpolation_curve(a, moved, data, "quadratic", zb=z_moved, activation="relu")
    slow = naive_curve(a, moved, data, "quadratic", activation="relu")
    assert np.allclose(curve["train_cost"], slow["train_cost"], rtol=0, atol=1e-10)


def test_precomputed_first_layer_is_reused_and_gives_the_same_curve(data):
    a, b = net(5), net(6)
    za, zb = first_layer(a, data), first_layer(b, data)
    assert za[0].shape == (data.n_train, 8) and za[1].shape == (data.n_test, 8)
    given = interpolation_curve(a, b, data, "quadratic", za=za, zb=zb)
    computed = interpolation_curve(a, b, data, "quadratic")
    pd.testing.assert_frame_equal(given, computed)


def test_first_layer_of_an_aligned_network_is_a_column_permutation(data):
    b = net(7, (N_IN, 8, 6, 10))
    rng = np.random.default_rng(0)
    perm, signs = rng.permutation(8), rng.choice([-1.0, 1.0], 8)
    aligned = b.copy()
    aligned.weights[0] = signs[:, None] * b.weights[0][perm]
    aligned.biases[0] = signs * b.biases[0][perm]
    # Output-preserving sign flip: sigmoid(-z) = 1 - sigmoid(z).
    w2 = b.weights[1][:, perm]
    aligned.biases[1] = b.biases[1] + (w2 * (signs < 0)).sum(axis=1)
    aligned.weights[1] = w2 * signs
    assert np.allclose(output_logits(aligned, data.x_test), output_logits(b, data.x_test))
    z_perm = permute_first_layer(first_layer(b, data), perm, signs)
    for got, want in zip(z_perm, first_layer(aligned, data), strict=True):
        assert np.allclose(got, want, rtol=1e-13, atol=1e-13)
    a = net(8, (N_IN, 8, 6, 10))
    curve = interpolation_curve(a, aligned, data, "cross-entropy", zb=z_perm)
    slow = naive_curve(a, aligned, data, "cross-entropy")
    assert np.allclose(curve["train_cost"], slow["train_cost"], rtol=0, atol=1e-10)


def test_first_layer_values_of_another_network_are_refused(data):
    a, b = net(1), net(2)
    with pytest.raises(ValueError, match="do not belong"):
        interpolation_curve(a, b, data, "quadratic", zb=first_layer(a, data))
    with pytest.raises(ValueError, match="shape"):
        interpolation_curve(a, b, data, "quadratic", za=first_layer(a, random_data(n_train=10)))


def test_bad_arguments_are_refused(data):
    a = net(1)
    with pytest.raises(ValueError, match="cost"):
        interpolation_curve(a, a, data, "hinge")
    with pytest.raises(ValueError, match="activation must be one of"):
        interpolation_curve(a, a, data, "quadratic", activation="gelu")
    with pytest.raises(ValueError, match="shape"):
        interpolation_curve(a, net(2, (N_IN, 9, 10)), data, "quadratic")
    with pytest.raises(ValueError, match="inputs"):
        interpolation_curve(net(1, (N_IN + 1, 8, 10)), net(2, (N_IN + 1, 8, 10)), data, "quadratic")


def test_float32_networks_are_evaluated_in_float64(data):
    config = TrainConfig(sizes=(N_IN, 8, 10), init="scaled", init_seed=1, dtype="float32")
    a32 = init_params(config)
    curve = interpolation_curve(a32, a32, data, "quadratic")
    assert curve["train_cost"].iloc[0] == pytest.approx(
        own_cost(a32.astype("float64"), data, "quadratic"), rel=1e-12
    )


def test_fast_sigmoid_agrees_with_expit():
    z = np.concatenate([np.linspace(-700, 700, 100_001), [-1e-300, 0.0, 1e-300, 800.0]])
    with np.errstate(over="ignore"):
        fast = sigmoid_inplace(z.copy())
    assert np.allclose(fast, expit(z), rtol=2e-15, atol=0)
    with np.errstate(over="ignore"):
        assert sigmoid_inplace(np.array([-800.0, np.inf, -np.inf]))[1:].tolist() == [1.0, 0.0]


# --------------------------------------------------------------------------- barrier


def test_barrier_on_a_hand_made_curve():
    alphas = np.linspace(0, 1, 5)  # 0, .25, .5, .75, 1
    values = np.array([1.0, 2.0, 4.0, 3.0, 3.0])
    # chord: 1, 1.5, 2, 2.5, 3 -> excess 0, .5, 2, .5, 0
    assert barrier(values, alphas) == pytest.approx(2.0)
    # Below the chord everywhere: the endpoints count, so 0, never negative.
    assert barrier(np.array([1.0, 0.0, 0.0, 0.0, 3.0]), alphas) == 0.0
    assert barrier(np.full(5, 0.7), alphas) == 0.0
    curve = pd.DataFrame({"alpha": alphas, "train_cost": values, "test_error": values[::-1]})
    assert curve_barriers(curve) == pytest.approx({"train_cost": 2.0, "test_error": 2.0})


def test_barrier_refuses_mismatched_input():
    with pytest.raises(ValueError):
        barrier(np.zeros(3), np.linspace(0, 1, 4))
    with pytest.raises(ValueError, match="0 to 1"):
        barrier(np.zeros(3), np.linspace(0, 2, 3))


# --------------------------------------------------------------------------- data


def test_barrier_data_from_mnist_is_a_fixed_prefix_and_the_full_test_set(mnist_workdir):
    mnist = load_mnist(mnist_workdir, n_train=1_000)
    data = BarrierData.from_mnist(mnist, n_train_subset=500)
    assert data.n_train == 500 and data.n_test == 10_000
    assert data.x_train.dtype == np.float64 and data.x_train.shape == (500, 784)
    assert np.array_equal(data.x_train, mnist.train.pixels[:500] / 255.0)
    assert np.array_equal(data.y_train, mnist.train.labels[:500])
    assert np.array_equal(data.x_test, mnist.test.pixels / 255.0)
    assert np.array_equal(data.y_test, mnist.test.labels)
    assert BarrierData.from_mnist(mnist, 500, n_train_available=300).n_train == 300
    assert BarrierData.from_mnist(mnist).n_train == 1_000  # min(10,000, what is there)
    with pytest.raises(ValueError, match="n_train_available"):
        BarrierData.from_mnist(mnist, n_train_available=2_000)


# --------------------------------------------------------------------------- selection


def kinds_of(counts: dict[str, int]) -> tuple[list[tuple[int, int]], list[str]]:
    """Pairs in an interleaved order, with ``counts[kind]`` pairs of each kind."""
    kinds = [k for k, n in counts.items() for _ in range(n)]
    kinds = [kinds[i] for i in np.random.default_rng(0).permutation(len(kinds))]
    return [(i, i + 1) for i in range(len(kinds))], kinds


def test_selection_takes_all_pairs_within_budget():
    pairs, kinds = kinds_of({"order": 3, "init": 5})
    assert select_barrier_pairs(pairs, kinds, 8) == list(range(8))
    assert select_barrier_pairs(pairs, kinds, 100) == list(range(8))
    assert select_barrier_pairs([], [], 0) == []


@pytest.mark.parametrize("budget", [0, 1, 2, 5, 10, 20, 29])
def test_selection_is_exact_balanced_sorted_and_deterministic(budget):
    pairs, kinds = kinds_of({"init": 12, "order": 10, "both": 8})
    chosen = select_barrier_pairs(pairs, kinds, budget)
    assert len(chosen) == budget == len(set(chosen))
    assert chosen == sorted(chosen)
    assert chosen == select_barrier_pairs(pairs, kinds, budget)
    counts = Counter(kinds[i] for i in chosen)
    quotas = [counts[k] for k in ("both", "init", "order")]
    if budget <= 3 * 8:  # every kind has enough pairs
        assert max(quotas) - min(quotas) <= 1
    # Round-robin in sorted order: earlier kinds get the remainder.
    assert quotas == sorted(quotas, reverse=True) or budget > 24


def test_selection_spreads_within_a_kind():
    pairs, kinds = [(i, i) for i in range(20)], ["init"] * 20
    chosen = select_barrier_pairs(pairs, kinds, 4)
    assert chosen == [2, 7, 12, 17]
    assert select_barrier_pairs(pairs, kinds, 1) == [10]


def test_a_kind_with_few_pairs_gives_all_and_the_others_fill_the_budget():
    pairs, kinds = kinds_of({"order": 2, "init": 30, "both": 13})
    chosen = select_barrier_pairs(pairs, kinds, 20)
    counts = Counter(kinds[i] for i in chosen)
    assert len(chosen) == 20
    assert counts["order"] == 2  # all of them
    assert abs(counts["init"] - counts["both"]) <= 1 and counts["init"] + counts["both"] == 18
    assert {i for i, k in enumerate(kinds) if k == "order"} <= set(chosen)


def test_selection_refuses_mismatched_input():
    with pytest.raises(ValueError):
        select_barrier_pairs([(0, 1)], ["a", "b"], 1)
    with pytest.raises(ValueError):
        select_barrier_pairs([(0, 1)], ["a"], -1)
