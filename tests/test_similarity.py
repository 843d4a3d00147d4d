"""Representation (CKA, unit correlations) and function similarity between networks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from twinnets.compare.similarity import (
    FUNCTION_METRICS,
    ActivationGram,
    activation_gram,
    cka_matrices,
    correlation_blocks,
    cross_correlation,
    debiased_cka,
    function_matrices,
    function_metrics,
    linear_cka,
    matched_correlation_stats,
    output_distribution,
)

# --------------------------------------------------------------------------- references


def naive_hsic1(k: np.ndarray, lk: np.ndarray) -> float:
    """Song et al.'s unbiased HSIC written out with n x n matrices."""
    n = k.shape[0]
    k, lk = k.copy(), lk.copy()
    np.fill_diagonal(k, 0.0)
    np.fill_diagonal(lk, 0.0)
    one = np.ones(n)
    return (
        np.trace(k @ lk)
        + (one @ k @ one) * (one @ lk @ one) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * (one @ k @ lk @ one)
    ) / (n * (n - 3))


def naive_debiased_cka(x: np.ndarray, y: np.ndarray) -> float:
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    k, lk = xc @ xc.T, yc @ yc.T
    return naive_hsic1(k, lk) / np.sqrt(naive_hsic1(k, k) * naive_hsic1(lk, lk))


def naive_linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kernel form: HSIC with the centring matrix, tr(K H L H), on raw features."""
    n = x.shape[0]
    h = np.eye(n) - 1.0 / n
    k, lk = h @ (x @ x.T) @ h, h @ (y @ y.T) @ h
    return np.sum(k * lk) / np.sqrt(np.sum(k * k) * np.sum(lk * lk))


def related(rng: np.random.Generator, n: int, widths: list[int], noise: float = 1.0):
    """Sigmoid features of a shared latent plus per-network noise: partly similar nets."""
    latent = rng.standard_normal((n, 4))
    return [
        expit(latent @ rng.standard_normal((4, d)) + noise * rng.standard_normal((n, d)))
        for d in widths
    ]


def random_orthogonal(rng: np.random.Generator, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


CKAS = [linear_cka, debiased_cka]


# --------------------------------------------------------------------------- CKA


@pytest.mark.parametrize("cka", CKAS)
def test_cka_of_a_representation_with_itself_is_one(cka):
    x = related(np.random.default_rng(0), 500, [20])[0]
    assert cka(x, x) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("cka", CKAS)
def test_cka_is_invariant_to_orthogonal_maps_scaling_and_shifts(cka):
    rng = np.random.default_rng(1)
    x, y = related(rng, 400, [12, 9])
    reference = cka(x, y)
    assert 0.1 < reference < 0.99  # a non-trivial value, so invariance means something
    q = random_orthogonal(rng, 9)
    assert cka(x, y @ q) == pytest.approx(reference, abs=1e-10)
    assert cka(x @ random_orthogonal(rng, 12), y) == pytest.approx(reference, abs=1e-10)
    assert cka(3.7 * x, 0.01 * y) == pytest.approx(reference, abs=1e-10)
    assert cka(x + 5.0, y - 2.0) == pytest.approx(reference, abs=1e-10)
    # permutation and sign flips of units are special orthogonal maps
    assert cka(x[:, ::-1] * -1.0, y) == pytest.approx(reference, abs=1e-10)
    # but not to stretching one direction more than others
    stretch = np.ones(12)
    stretch[0] = 30.0
    assert abs(cka(x * stretch, y) - reference) > 1e-3


def test_linear_cka_matches_the_kernel_form():
    x, y = related(np.random.default_rng(2), 60, [5, 7])
    assert linear_cka(x, y) == pytest.approx(naive_linear_cka(x, y), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_debiased_cka_of_independent_features_is_near_zero_linear_cka_is_not(seed):
    rng = np.random.default_rng(seed)
    n, d = 2000, 30
    x, y = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    assert abs(debiased_cka(x, y)) < 0.005
    assert linear_cka(x, y) > 0.01  # biased: about d / n = 0.015
    # fewer inputs, larger bias; the debiased value still centres on 0
    x, y = x[:200], y[:200]
    assert abs(debiased_cka(x, y)) < 0.05
    assert linear_cka(x, y) > 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_debiased_feature_space_formula_equals_naive_kernel_formula(seed):
    rng = np.random.default_rng(seed)
    x, y = related(rng, 40, [6, 3])
    assert debiased_cka(x, y) == pytest.approx(naive_debiased_cka(x, y), abs=1e-10)
    x, y = rng.standard_normal((25, 4)) + 3.0, rng.standard_normal((25, 8))
    assert debiased_cka(x, y) == pytest.approx(naive_debiased_cka(x, y), abs=1e-10)


def test_cka_rejects_mismatched_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same inputs"):
        linear_cka(rng.random((10, 2)), rng.random((11, 2)))
    with pytest.raises(ValueError, match="at least 4"):
        debiased_cka(rng.random((3, 2)), rng.random((3, 2)))


def with_constant_unit(acts: list[np.ndarray], net: int, value: float) -> list[np.ndarray]:
    acts = [a.copy() for a in acts]
    acts[net][:, 0] = value
    return acts


def test_cka_matrices_equal_pairwise_functions():
    rng = np.random.default_rng(3)
    widths = [3, 7, 1, 5, 4, 30]
    acts = related(rng, 300, widths, noise=0.7)
    acts.append(acts[1] @ random_orthogonal(rng, 7))  # CKA 1 with network 1
    acts = with_constant_unit(acts, 3, 0.1)  # a saturated-like unit must not disturb
    linear, debiased = cka_matrices(acts)
    n_nets = len(acts)
    assert linear.shape == debiased.shape == (n_nets, n_nets)
    for i in range(n_nets):
        for j in range(n_nets):
            assert linear[i, j] == pytest.approx(linear_cka(acts[i], acts[j]), abs=1e-10)
            assert debiased[i, j] == pytest.approx(debiased_cka(acts[i], acts[j]), abs=1e-10)
    np.testing.assert_allclose(np.diag(linear), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.diag(debiased), 1.0, atol=1e-12)
    assert linear[1, n_nets - 1] == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_array_equal(linear, linear.T)
    # off the diagonal the values are spread out, so the comparison is not trivial
    off = debiased[~np.eye(n_nets, dtype=bool)]
    assert off.min() < 0.5 < off.max()
    # a precomputed Gram gives the same
    gram = activation_gram(acts)
    assert isinstance(gram, ActivationGram)
    linear2, debiased2 = cka_matrices(gram)
    np.testing.assert_array_equal(linear2, linear)
    np.testing.assert_array_equal(debiased2, debiased)


def test_cka_matrices_reject_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rows"):
        cka_matrices([rng.random((10, 2)), rng.random((9, 2))])
    with pytest.raises(ValueError, match="no units"):
        cka_matrices([rng.random((10, 2)), rng.random((10, 0))])
    with pytest.raises(ValueError, match="at least one"):
        cka_matrices([])


# --------------------------------------------------------------------------- correlations


def test_correlation_blocks_equal_corrcoef_and_blocks_address_pairs():
    rng = np.random.default_rng(4)
    acts = related(rng, 250, [4, 6, 2])
    corr = correlation_blocks(acts)
    np.testing.assert_allclose(corr, np.corrcoef(np.hstack(acts), rowvar=False), atol=1e-12)
    gram = activation_gram(acts)
    assert gram.n_networks == 3
    np.testing.assert_array_equal(gram.offsets, [0, 4, 10, 12])
    np.testing.assert_array_equal(correlation_blocks(gram), corr)
    block = gram.block(corr, 1, 2)
    assert block.shape == (6, 2)
    np.testing.assert_allclose(block, cross_correlation(acts[1], acts[2]), atol=1e-12)
    np.testing.assert_allclose(
        block, np.corrcoef(acts[1], acts[2], rowvar=False)[:6, 6:], atol=1e-12
    )


@pytest.mark.parametrize("value", [0.1, 1.0, 0.0])
def test_a_unit_without_variance_correlates_zero_not_nan(value):
    rng = np.random.default_rng(5)
    acts = with_constant_unit(related(rng, 333, [5, 3]), 0, value)
    if value == 0.1:  # plain mean-centring leaves noise here: the case that needs care
        assert np.any(acts[0][:, 0] - acts[0][:, 0].mean() != 0)
    corr = correlation_blocks(acts)
    assert np.isfinite(corr).all()
    np.testing.assert_array_equal(corr[0], 0.0)
    np.testing.assert_array_equal(corr[:, 0], 0.0)
    rest = np.hstack(acts)[:, 1:]
    np.testing.assert_allclose(corr[1:, 1:], np.corrcoef(rest, rowvar=False), atol=1e-12)
    pair = cross_correlation(acts[0], acts[1])
    np.testing.assert_array_equal(pair[0], 0.0)
    assert np.isfinite(pair).all()
    linear, debiased = cka_matrices(acts)
    assert np.isfinite(linear).all() and np.isfinite(debiased).all()


def test_matched_correlation_stats():
    stats = matched_correlation_stats(np.array([0.95, 0.5, 0.99, 0.2, 0.9]))
    assert stats == pytest.approx(
        {
            "matched_corr_mean": 0.708,
            "matched_corr_median": 0.9,
            "matched_corr_share_above_0_9": 0.4,  # 0.9 itself is not above
        }
    )
    empty = matched_correlation_stats(np.array([]))
    assert set(empty) == set(stats) and all(np.isnan(v) for v in empty.values())
    with pytest.raises(ValueError, match="NaN"):
        matched_correlation_stats(np.array([0.5, np.nan]))


# --------------------------------------------------------------------------- function


LABELS = np.array([0, 1, 2, 2])
OUT_A = np.array(  # predicts 0, 1, 2, 0: wrong on image 3
    [[0.9, 0.1, 0.0], [0.2, 0.6, 0.2], [0.0, 0.0, 1.0], [0.5, 0.25, 0.25]]
)
OUT_B = np.array(  # predicts 0, 2, 1, 0: wrong on images 1, 2, 3
    [[0.9, 0.1, 0.0], [0.1, 0.1, 0.8], [0.0, 3.0, 1.0], [1.0, 0.5, 0.5]]
)


def test_function_metrics_on_a_hand_made_example():
    metrics = function_metrics(OUT_A, OUT_B, LABELS)
    assert set(metrics) == set(FUNCTION_METRICS)
    assert metrics["agreement"] == pytest.approx(0.5)  # images 0 and 3
    assert metrics["a_errors_shared"] == pytest.approx(1.0)  # B also misses image 3
    assert metrics["b_errors_shared"] == pytest.approx(1 / 3)  # A misses only 3 of 1, 2, 3
    # per image: 0, 0.5 * (0.1 + 0.5 + 0.6), 0.5 * (0.75 + 0.75), 0 (same after normalising)
    assert metrics["tv_distance"] == pytest.approx((0.6 + 0.75) / 4)
    swapped = function_metrics(OUT_B, OUT_A, LABELS)
    assert swapped["a_errors_shared"] == pytest.approx(1 / 3)
    assert swapped["b_errors_shared"] == pytest.approx(1.0)


def test_function_metrics_edge_cases():
    perfect = np.eye(3)[LABELS]
    metrics = function_metrics(perfect, OUT_A, LABELS)
    assert np.isnan(metrics["a_errors_shared"])  # no errors to share
    assert metrics["b_errors_shared"] == pytest.approx(0.0)
    assert function_metrics(OUT_A, OUT_A, LABELS)["tv_distance"] == 0.0
    np.testing.assert_array_equal(output_distribution(np.zeros((2, 4))), 0.25)
    with pytest.raises(ValueError, match="negative"):
        function_metrics(-OUT_A, OUT_B, LABELS)
    with pytest.raises(ValueError, match="shapes"):
        function_metrics(OUT_A, OUT_B[:3], LABELS)


def test_function_matrices_equal_pairwise_function():
    rng = np.random.default_rng(6)
    n, k = 400, 10
    labels = rng.integers(0, k, n)
    signal = 3.0 * np.eye(k)[labels]
    outputs = [expit(signal + s * rng.standard_normal((n, k)) - 2.0) for s in (1, 1.5, 2, 3)]
    outputs.append(np.eye(k)[labels])  # no errors: NaN shares
    outputs.append(outputs[0].copy())
    matrices = function_matrices(outputs, labels)
    assert set(matrices) == set(FUNCTION_METRICS)
    for i, a in enumerate(outputs):
        for j, b in enumerate(outputs):
            expected = function_metrics(a, b, labels)
            for key in FUNCTION_METRICS:
                np.testing.assert_allclose(
                    matrices[key][i, j], expected[key], atol=1e-12, err_msg=f"{key} {i} {j}"
                )
    assert 0.3 < matrices["agreement"][0, 3] < 0.95  # spread, so the test can tell
    assert matrices["tv_distance"][0, 5] == 0.0
    np.testing.assert_array_equal(matrices["b_errors_shared"], matrices["a_errors_shared"].T)


def test_function_matrices_of_one_network():
    matrices = function_matrices([OUT_A], LABELS)
    assert all(m.shape == (1, 1) for m in matrices.values())
    assert matrices["agreement"][0, 0] == 1.0
    assert matrices["tv_distance"][0, 0] == 0.0
