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

from twinnets.data.mnist import Split, scale_pixels
from twinnets.train.network import Params, feedforward


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
    of the bias (the direction softmax cannot see); rest: everything else. The three
    squared norms add up to ||a - b||^2; shares are taken as ratios of sums over a
    kind's pairs (``twinnets.compare.summary``), never as means of per-pair ratios.
    """
    dw = a.weights[-1].astype(np.float64) - b.weights[-1].astype(np.float64)
    db = a.biases[-1].astype(np.float64) - b.biases[-1].astype(np.float64)
    dead_sq = float(np.sum(dw[:, dead] ** 2))
    live = dw[:, ~dead]
    gauge_sq = float(live.shape[0] * np.sum(live.mean(axis=0) ** 2) + len(db) * db.mean() ** 2)
    total = float(np.sum(dw**2) + np.sum(db**2))
    return {"dead_sq": dead_sq, "gauge_sq": gauge_sq, "rest_sq": total - dead_sq - gauge_sq}


def class_sums(params: Params) -> tuple[np.ndarray, float]:
    """Sum over classes of the output layer's weights (per input) and biases.

    SGD on softmax regression without L2 never changes them: each step's gradient
    sums to zero over classes, since the softmax outputs and the one-hot target
    both sum to 1.
    """
    return params.weights[-1].sum(axis=0), float(params.biases[-1].sum())


def minimiser_distance_bound(params: Params, train: Split, config) -> float:
    """An upper bound on ||theta - theta*||, theta* the unique minimiser of the L2 loss.

    With L2 on every parameter (``l2='all'``) the training objective
    F = mean cost + lmbda / (2 n) ||theta||^2 of a single-layer model (softmax or
    linear) is (lmbda / n)-strongly convex, so ||theta - theta*|| <= ||grad F|| n / lmbda.
    This measures, rather than asserts, how close SGD came to the one minimiser.
    """
    if config.model not in ("softmax", "linear") or config.l2 != "all" or config.lmbda <= 0:
        raise ValueError("the bound needs a softmax or linear model with L2 on all parameters")
    x = scale_pixels(train.pixels, "float64")
    params = params.astype(np.float64)
    w, b = params.weights[-1], params.biases[-1]
    outputs = feedforward(params, x, config.model)  # softmax probabilities, or linear outputs
    residual = outputs - np.eye(w.shape[0])[train.labels]
    mu = config.lmbda / config.n_train
    grad_w = residual.T @ x / len(x) + mu * w
    grad_b = residual.mean(axis=0) + mu * b
    return float(np.sqrt(np.sum(grad_w**2) + np.sum(grad_b**2)) / mu)
