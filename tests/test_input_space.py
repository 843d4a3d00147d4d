"""Distances through the data: pre-activations on images and the unseen input directions."""

from __future__ import annotations

import numpy as np
import pytest

from twinnets.compare.input_space import InputSpace, preactivation_relative_distance, preactivations


def test_preactivation_distance_matches_the_direct_formula():
    rng = np.random.default_rng(0)
    x = rng.random((50, 12))
    wa, wb = rng.standard_normal((4, 12)), rng.standard_normal((4, 12))
    ba, bb = rng.standard_normal(4), rng.standard_normal(4)
    za, zb = preactivations(wa, ba, x), preactivations(wb, bb, x)
    direct_a = np.array([[x[n] @ wa[j] + ba[j] for j in range(4)] for n in range(50)])
    assert np.allclose(za, direct_a, rtol=1e-13)
    expected = np.sqrt(np.sum((za - zb) ** 2)) / np.sqrt(np.sqrt(np.sum(za**2) * np.sum(zb**2)))
    assert preactivation_relative_distance(za, zb) == pytest.approx(expected, rel=1e-13)
    assert preactivation_relative_distance(za, za) == 0


def test_unseen_directions_hold_what_the_images_cannot_probe():
    rng = np.random.default_rng(1)
    x = rng.random((400, 6))
    x[:, 2] = 0.0  # a dead pixel
    x[:, 4] = 0.5 + 1e-3 * rng.standard_normal(400)  # a pixel that barely varies
    space = InputSpace.from_images(x, threshold=1e-3)
    assert space.n_unseen == 2
    dead_only = np.zeros((3, 6))
    dead_only[:, 2] = rng.standard_normal(3)
    assert space.unseen_sq(dead_only) == pytest.approx(np.sum(dead_only**2), rel=1e-10)
    seen_only = np.zeros((3, 6))
    seen_only[:, 0] = 1.0
    assert space.unseen_sq(seen_only) < 1e-4 * np.sum(seen_only**2)
    both = dead_only + seen_only
    assert space.unseen_sq(both) == pytest.approx(space.unseen_sq(dead_only), rel=1e-3)


def test_input_space_refuses_bad_input():
    with pytest.raises(ValueError, match="at least two images"):
        InputSpace.from_images(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="threshold"):
        InputSpace.from_images(np.zeros((3, 4)), threshold=-1)
