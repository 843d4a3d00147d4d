"""The convex controls: where parameters of networks trained on the same data do converge.

Two components of a single-layer model's parameters are invisible to gradient
descent: the weights of input pixels that are zero in every training image (their
gradient is exactly zero), and, for softmax regression, the gauge (adding the same
vector to every class's weights changes no prediction, and SGD preserves the sum
over classes). Without L2 both stay at the random init forever. With L2 the loss is
strictly convex and has one minimiser; for the linear model it has a closed form.
"""

from __future__ import annotations

import numpy as np

from twinnets.mnist import Split, scale_pixels
from twinnets.network import Params


def linear_minimiser(train: Split, lmbda: float, l2: str = "all", n_out: int = 10) -> Params:
    """The unique minimiser of the L2-regularised squared error of the linear model.

    Minimises (1/n) [sum_i 1/2 ||W x_i + b - y_i||^2 + lmbda/2 (||W||^2 (+ ||b||^2))],
    Nielsen's L2 convention, through the normal equations in float64:
    (X~^T X~ + lmbda D) [W | b]^T = X~^T Y, with X~ = [X | 1] and D the identity
    (``l2='all'``) or the identity without the bias entry (``l2='weights'``).
    """
    if lmbda <= 0:
        raise ValueError("the minimiser is unique only with L2 (lmbda > 0)")
    x = scale_pixels(train.pixels, "float64")
    xt = np.column_stack([x, np.ones(len(x))])
    y = np.eye(n_out)[train.labels]
    penalty = np.full(xt.shape[1], float(lmbda))
    if l2 == "weights":
        penalty[-1] = 0.0
    gram = xt.T @ xt
    gram[np.diag_indices_from(gram)] += penalty
    theta = np.linalg.solve(gram, xt.T @ y).T  # (n_out, n_in + 1)
    return Params([np.ascontiguousarray(theta[:, :-1])], [theta[:, -1].copy()])


def components(a: Params, b: Params, dead: np.ndarray) -> dict[str, float]:
    """Split a single-layer pair's squared difference into orthogonal parts.

    dead: the dead-pixel columns of W; gauge: the class-mean of the live columns and
    of the bias (the direction softmax cannot see); rest: everything else. The
    three shares add up to 1.
    """
    dw = a.weights[-1].astype(np.float64) - b.weights[-1].astype(np.float64)
    db = a.biases[-1].astype(np.float64) - b.biases[-1].astype(np.float64)
    dead_sq = float(np.sum(dw[:, dead] ** 2))
    live = dw[:, ~dead]
    gauge_sq = float(live.shape[0] * np.sum(live.mean(axis=0) ** 2) + len(db) * db.mean() ** 2)
    total = float(np.sum(dw**2) + np.sum(db**2))
    if total == 0:
        return {"dead_share": float("nan"), "gauge_share": float("nan"), "rest_share": float("nan")}
    return {
        "dead_share": dead_sq / total,
        "gauge_share": gauge_sq / total,
        "rest_share": (total - dead_sq - gauge_sq) / total,
    }


def class_sums(params: Params) -> tuple[np.ndarray, float]:
    """Sum over classes of the output layer's weights (per input) and biases.

    SGD on softmax regression without L2 never changes them: each step's gradient
    sums to zero over classes, since the softmax outputs and the one-hot target
    both sum to 1.
    """
    return params.weights[-1].sum(axis=0), float(params.biases[-1].sum())
