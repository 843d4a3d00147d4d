"""The many-pairs path of the analysis (``twinnets.compare.pair_batch``) against the
per-pair definition (``groups._compare``), and its parts against their plain NumPy forms."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from twinnets.compare import alignment, groups, pair_batch, similarity
from twinnets.compare.input_space import ImageGeometry, preactivations
from twinnets.data.mnist import FILES, load_mnist
from twinnets.dumps.storage import write_dump
from twinnets.train.network import Params, TrainConfig, init_params, train

N_TRAIN = 1_000
SEEDS = ((0, 0), (0, 1), (1, 0), (1, 1), (2, 3))


def _group(root, data, **settings):
    """Networks of crossed seeds (some share an init: measured once, ``distinct_networks``)."""
    paths = []
    for init_seed, order_seed in SEEDS:
        config = TrainConfig(
            n_train=N_TRAIN, init_seed=init_seed, order_seed=order_seed, **{"epochs": 1, **settings}
        )
        path = root / f"{init_seed}-{order_seed}.parquet"
        write_dump(path, train(config, data), FILES)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def data(mnist_workdir):
    return load_mnist(mnist_workdir, n_train=N_TRAIN)


@pytest.fixture(scope="module")
def sigmoid_group(data, tmp_path_factory):
    return _group(tmp_path_factory.mktemp("sigmoid"), data)


@pytest.fixture(scope="module")
def tanh_group(data, tmp_path_factory):
    return _group(tmp_path_factory.mktemp("tanh"), data, activation="tanh", init="scaled", eta=0.5)


def _per_pair(monkeypatch, paths, mnist, barrier_pairs):
    """The analysis with every pair measured one at a time (the definition), each pair on
    its own: no sharing between pairs of the same distinct networks (``_Compared``)."""
    with monkeypatch.context() as patch:
        patch.setattr(pair_batch, "applies", lambda *args: False)
        patch.setattr(groups, "_Compared", lambda *sides: groups._compare)
        return groups.analyze_group(paths, mnist, barrier_pairs=barrier_pairs)


def assert_same_table(fast: pd.DataFrame, reference: pd.DataFrame) -> None:
    """Same columns in the same order; numbers equal to rounding, the rest exactly."""
    assert list(fast.columns) == list(reference.columns)
    assert len(fast) == len(reference)
    for column in reference.columns:
        got, want = fast[column], reference[column]
        if want.dtype.kind in "fiu" and want.dtype != bool:
            np.testing.assert_allclose(
                got.to_numpy(float), want.to_numpy(float), rtol=1e-9, atol=1e-12, err_msg=column
            )
        else:
            assert got.isna().tolist() == want.isna().tolist(), column
            assert got[want.notna()].tolist() == want[want.notna()].tolist(), column


@pytest.mark.parametrize("barrier_pairs", [10, 2])  # the first row with a barrier, or not
def test_batched_equals_per_pair_sigmoid(sigmoid_group, mnist_workdir, monkeypatch, barrier_pairs):
    calls = []
    with monkeypatch.context() as patch:
        barriers_of = groups._barriers
        patch.setattr(groups, "_barriers", lambda *a: calls.append(1) or barriers_of(*a))
        fast = groups.analyze_group(sigmoid_group, mnist_workdir, barrier_pairs=barrier_pairs)
    if barrier_pairs == 10:
        # every pair's trained barrier; the nulls of the 5 distinct pairs of inits (seeds
        # 0, 0, 1, 1, 2: pairs 00, 01, 02, 11, 12), not of all 10 pairs
        assert len(calls) == 10 + 5
    reference = _per_pair(monkeypatch, sigmoid_group, mnist_workdir, barrier_pairs)
    assert_same_table(fast.pairs, reference.pairs)
    pd.testing.assert_frame_equal(fast.curves, reference.curves, rtol=1e-9)
    pd.testing.assert_frame_equal(fast.networks, reference.networks)
    assert fast.pairs.barrier_computed.sum() == barrier_pairs
    # the alignments found are the per-pair ones: a different permutation would move these
    assert (fast.pairs.flips_signed == reference.pairs.flips_signed).all()


def test_batched_equals_per_pair_tanh_and_untrained(
    tanh_group, data, mnist_workdir, monkeypatch, tmp_path
):
    fast = groups.analyze_group(tanh_group, mnist_workdir, barrier_pairs=1)
    assert_same_table(fast.pairs, _per_pair(monkeypatch, tanh_group, mnist_workdir, 1).pairs)
    # checkpoint 0: the networks are their own nulls, measured once
    untrained = _group(tmp_path, data, epochs=0)
    fast = groups.analyze_group(untrained, mnist_workdir, barrier_pairs=10).pairs
    assert_same_table(fast, _per_pair(monkeypatch, untrained, mnist_workdir, 10).pairs)
    assert (fast.relative_signed == fast.null_relative_signed).all()
    assert (fast.training_part_raw == 0).all()


def test_the_per_pair_path_measures_a_distinct_pair_once_to_the_same_tables(
    data, mnist_workdir, monkeypatch, tmp_path
):
    """Networks ``pair_batch`` does not take (here ReLU) go pair by pair, each distinct pair
    of networks once (``_Compared``): bit for bit the tables of every pair on its own."""
    relu = dict(activation="relu", init="scaled", cost="cross-entropy", eta=0.1, sizes=(784, 8, 10))
    paths = _group(tmp_path, data, **relu)
    calls = []
    with monkeypatch.context() as patch:
        compare = groups._compare
        patch.setattr(groups, "_compare", lambda *a: calls.append(1) or compare(*a))
        shared = groups.analyze_group(paths, mnist_workdir, barrier_pairs=10)
    assert len(calls) == 10 + 5  # every trained pair; the 5 distinct pairs of inits
    alone = _per_pair(monkeypatch, paths, mnist_workdir, 10)
    pd.testing.assert_frame_equal(shared.pairs, alone.pairs, check_exact=True)
    pd.testing.assert_frame_equal(shared.curves, alone.curves, check_exact=True)


def test_applies_only_to_one_hidden_layer_of_signed_permutations():
    assert pair_batch.applies((784, 30, 10), "mlp", "sigmoid")
    assert pair_batch.applies((784, 100, 10), "mlp", "tanh")
    assert not pair_batch.applies((784, 30, 10), "mlp", "relu")  # rescaling: per pair
    assert not pair_batch.applies((784, 30, 30, 10), "mlp", "sigmoid")  # weight matching sweeps
    assert not pair_batch.applies((784, 10), "softmax", "sigmoid")


# --------------------------------------------------------------------------- the parts


def _random_params(rng, sizes=(20, 6, 4)) -> Params:
    return Params(
        [rng.standard_normal((b, a)) for a, b in itertools.pairwise(sizes)],
        [rng.standard_normal(b) for b in sizes[1:]],
    )


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_compiled_sums_equal_numpy_under_every_transform(activation):
    rng = np.random.default_rng(3)
    nets = [_random_params(rng) for _ in range(4)]
    inits = [_random_params(rng) for _ in range(4)]
    pairs = np.array([[0, 1], [0, 3], [2, 1], [3, 3]])
    h, n_in = 6, 20
    transforms = [[alignment.Transform.identity(h)]]
    transforms += [alignment.random_transforms((n_in, h, 4), rng, activation) for _ in range(2)]
    perms = np.array([[t[0].perm for t in transforms]] * len(pairs))
    signs = np.array([[t[0].sign for t in transforms]] * len(pairs))

    def features(params):
        return np.stack(
            [np.column_stack([p.weights[0], p.biases[0], p.weights[1].T]) for p in params]
        )

    f, f0 = features(nets), features(inits)
    b, b0 = np.stack([p.biases[1] for p in nets]), np.stack([p.biases[1] for p in inits])
    blocks = np.array([0] * 5 + [1] * 15 + [2] + [3] * 4)
    units = np.zeros((len(pairs), len(transforms), 2, 4))
    pair_batch._unit_sums(f, f, pairs, perms, signs, blocks, units)
    out_bias = np.zeros((len(pairs), len(transforms), 3))
    offset = 1.0 if activation == "sigmoid" else 0.0
    pair_batch._out_bias_sums(b, b, f[:, :, n_in + 1 :], pairs, perms, signs, offset, out_bias)
    decomposed = np.zeros((len(pairs), len(transforms), 3))
    pair_batch._decomposition_sums(
        f, f0, b, b0, f, f0, b, b0, n_in + 1, pairs, perms, signs, offset, decomposed
    )
    for p, (i, j) in enumerate(pairs):
        for m, t in enumerate(transforms):
            moved = alignment.apply_transforms(nets[j], t, activation)
            a, mb = nets[i], moved
            w1 = a.weights[0] - mb.weights[0]
            assert units[p, m, 0, 0] == pytest.approx(np.sum(w1[:, :5] ** 2), rel=1e-12)
            assert units[p, m, 0, 1] == pytest.approx(np.sum(w1[:, 5:] ** 2), rel=1e-12)
            assert units[p, m, 0, 2] == pytest.approx(np.sum((a.biases[0] - mb.biases[0]) ** 2))
            assert units[p, m, 0, 3] == pytest.approx(np.sum((a.weights[1] - mb.weights[1]) ** 2))
            assert units[p, m, 1, 3] == pytest.approx(np.sum(a.weights[1] * mb.weights[1]))
            assert out_bias[p, m] == pytest.approx(
                [
                    np.sum((a.biases[1] - mb.biases[1]) ** 2),
                    a.biases[1] @ mb.biases[1],
                    mb.biases[1] @ mb.biases[1],
                ],
                rel=1e-12,
            )
            moved0 = alignment.apply_transforms(inits[j], t, activation)
            want = groups.decomposition(a, moved, inits[i], moved0, "x")
            assert np.sqrt(decomposed[p, m, :2]) == pytest.approx(
                [want["init_part_x"], want["training_part_x"]], rel=1e-12
            )
            assert decomposed[p, m, 2] == pytest.approx(want["cross_term_x"], rel=1e-10)


def test_image_geometry_gives_the_preactivation_distances(data):
    images = data.validation.images("float64")[:2_000]
    geometry = ImageGeometry.from_images(images)
    a, b = (init_params(TrainConfig(init_seed=seed)) for seed in (0, 1))
    za, zb = (preactivations(p.weights[0], p.biases[0], images) for p in (a, b))
    ca, cb = (geometry.coordinates(p.weights[0], p.biases[0]) for p in (a, b))
    assert np.linalg.norm(ca) == pytest.approx(np.linalg.norm(za), rel=1e-12)
    assert np.linalg.norm(ca - cb) == pytest.approx(np.linalg.norm(za - zb), rel=1e-12)
    # a difference only in pixels that no image lights has no effect on the images
    dead = (images == 0).all(axis=0)
    moved = a.weights[0].copy()
    moved[:, dead] += 5.0
    assert np.linalg.norm(geometry.coordinates(moved, a.biases[0]) - ca) < 1e-9 * np.linalg.norm(ca)


def test_cross_gram_equals_the_blocks_of_the_full_one():
    rng = np.random.default_rng(5)
    acts = [rng.random((300, 4)) for _ in range(5)]
    acts[2][:, 1] = 0.5  # a unit without variance
    full = similarity.activation_gram(acts)
    linear, debiased = similarity.cka_matrices(full)
    correlations = similarity.correlation_blocks(full)
    a, offsets_a = similarity.stack_activations(acts[:2])
    b, offsets_b = similarity.stack_activations(acts[2:])
    cross = similarity.cross_activation_gram(a, offsets_a, b, offsets_b)
    np.testing.assert_allclose(cross.cka[0], linear[:2, 2:], rtol=1e-12)
    np.testing.assert_allclose(cross.cka[1], debiased[:2, 2:], rtol=1e-12)
    np.testing.assert_allclose(cross.correlations(), correlations[:8, 8:], rtol=1e-12, atol=1e-15)
    assert (cross.correlations()[:, 1] == 0).all()  # acts[2] is B's first network
