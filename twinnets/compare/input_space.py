"""What the data can see: distances measured through the images, not the parameters.

A first-layer weight only matters through its products with images. Two networks
whose first-layer weights differ along input directions that (almost) no training
image has any variance in compute (almost) the same pre-activations, however far
apart those weights are. The 67 pixels that are zero in every MNIST training image
are the extreme case; hundreds more directions carry a pixel variance below 1e-3.

This module measures both sides of that: the first layer's pre-activations
``Z = X W1^T + b1`` compared on real images (``preactivation_relative_distance``),
and the split of a first-layer weight difference into the span of the training
images' high-variance eigen-directions and the rest (``InputSpace.unseen_sq``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Pixel-covariance eigenvalues (pixels scaled to [0, 1]) below this count as unseen.
UNSEEN_VARIANCE = 1e-3


@dataclass(frozen=True, eq=False)  # arrays: compare by identity
class InputSpace:
    """The training images' pixel covariance, split at a variance threshold.

    ``unseen`` (n_in, k) is an orthonormal basis of the eigen-directions whose
    variance is below ``threshold``; every dead pixel's coordinate direction lies in
    its span (a pixel without variance is an eigenvector of eigenvalue 0).
    """

    variances: np.ndarray
    unseen: np.ndarray
    threshold: float

    @classmethod
    def from_images(cls, x: np.ndarray, threshold: float = UNSEEN_VARIANCE) -> InputSpace:
        """Eigen-decompose the covariance of images ``x`` (n, n_in), pixels in [0, 1]."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"need at least two images as an (n, n_in) array, got {x.shape}")
        if not (np.isfinite(threshold) and threshold >= 0):
            raise ValueError(f"the variance threshold must be 0 or more, got {threshold}")
        mean = x.mean(axis=0)
        covariance = (x.T @ x - len(x) * np.outer(mean, mean)) / (len(x) - 1)
        variances, vectors = np.linalg.eigh(covariance)
        variances = np.clip(variances, 0.0, None)  # rounding can make zeros slightly negative
        return cls(variances, np.ascontiguousarray(vectors[:, variances < threshold]), threshold)

    @property
    def n_unseen(self) -> int:
        return self.unseen.shape[1]

    def unseen_coordinates(self, weights: np.ndarray) -> np.ndarray:
        """First-layer weights (n_hidden, n_in) in the unseen basis (n_hidden, k): linear, so
        the analysis keeps each network's and differences them per pair."""
        return np.asarray(weights, dtype=np.float64) @ self.unseen

    def unseen_sq(self, weight_difference: np.ndarray) -> float:
        """Squared norm of a first-layer weight difference (n_hidden, n_in) in the unseen span."""
        return float(np.sum(self.unseen_coordinates(weight_difference) ** 2))


@dataclass(frozen=True, eq=False)  # arrays: compare by identity
class ImageGeometry:
    """Where two first layers differ as seen by a set of images, without the images.

    With ``X~ = [X | 1]`` (n, n_in + 1) and ``X~^T X~ = R R^T`` (``root``, from its
    eigen-decomposition), two first layers' pre-activations differ on the images by
    ``||X~ (A - B)^T||_F = ||(A - B) R||_F`` for A, B = [W1 | b1]. So each network's
    ``coordinates`` (n_hidden, lit pixels + 1) are computed once, and a pair's pre-activation
    distance (under any hidden-unit permutation and sign flips, which act on their rows) is
    a difference of two small arrays, not of two (n, n_hidden) products. Equal to the
    direct ``||Z_A - Z_B||`` in exact arithmetic; in floating point the two agree to
    rounding (about 1e-13, relative), and neither cancels: no difference of large squares.
    """

    root: np.ndarray

    @classmethod
    def from_images(cls, x: np.ndarray) -> ImageGeometry:
        """The factored second moments of images ``x`` (n, n_in)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(f"need images as an (n, n_in) array, got {x.shape}")
        # a pixel no image lights adds exactly nothing: its row of R is exactly 0, not the
        # square root of an eigenvalue that rounding left at 1e-12 instead of 0
        lit = np.flatnonzero(np.any(x != 0, axis=0))
        lit_x = x[:, lit]
        moments = np.empty((len(lit) + 1,) * 2)
        moments[:-1, :-1] = lit_x.T @ lit_x
        moments[:-1, -1] = moments[-1, :-1] = lit_x.sum(axis=0)
        moments[-1, -1] = len(x)
        values, vectors = np.linalg.eigh(moments)
        root = np.zeros((x.shape[1] + 1, len(lit) + 1))
        # rounding can make tiny eigenvalues slightly negative
        root[np.append(lit, x.shape[1])] = vectors * np.sqrt(np.clip(values, 0.0, None))
        return cls(root)

    def coordinates(self, weights: np.ndarray, biases: np.ndarray) -> np.ndarray:
        """``[W | b] R``: first layers (..., n_hidden, n_in) and biases (..., n_hidden) in the
        images' coordinates, (..., n_hidden, lit pixels + 1); their norm is ``||Z||_F``."""
        weights = np.asarray(weights, dtype=np.float64)
        biases = np.asarray(biases, dtype=np.float64)
        return np.concatenate([weights, biases[..., None]], axis=-1) @ self.root


def preactivations(weights: np.ndarray, biases: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The first layer's weighted inputs ``Z = X W^T + b`` (n, n_out), in float64."""
    return x @ weights.astype(np.float64).T + biases.astype(np.float64)


def preactivation_relative_distance(
    za: np.ndarray, zb: np.ndarray, norm_a: float | None = None, norm_b: float | None = None
) -> float:
    """``||Za - Zb|| / sqrt(||Za|| ||Zb||)``: the parameters' relative distance, seen by images
    (``norm_a``, ``norm_b``: the norms, where the caller keeps them for many pairs)."""
    norm_a = np.linalg.norm(za) if norm_a is None else norm_a
    norm_b = np.linalg.norm(zb) if norm_b is None else norm_b
    scale = np.sqrt(norm_a * norm_b)
    difference = (za - zb).ravel()  # a vector's norm is one BLAS dot, a matrix's is not
    return float(np.sqrt(difference @ difference) / scale) if scale > 0 else float("nan")
