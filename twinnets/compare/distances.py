"""Distances between networks' parameters, per layer and parameter kind."""

from __future__ import annotations

import numpy as np

from twinnets.train.network import Params


def parameter_blocks(params: Params) -> dict[str, np.ndarray]:
    """Each layer's weights and biases as float64 vectors, keyed like ``weight1``."""
    blocks = {}
    for layer, (w, b) in enumerate(zip(params.weights, params.biases), start=1):
        blocks[f"weight{layer}"] = w.astype(np.float64).ravel()
        blocks[f"bias{layer}"] = b.astype(np.float64).ravel()
    return blocks


def flatten(params: Params) -> np.ndarray:
    """All parameters as one float64 vector (layer by layer, weights before biases)."""
    return np.concatenate(list(parameter_blocks(params).values()))


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frobenius (Euclidean) distance."""
    return float(np.linalg.norm(a - b))


def relative_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / sqrt(||a|| ||b||): sqrt(2) for independent random vectors of equal norm."""
    scale = np.sqrt(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else float("nan")


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denominator) if denominator > 0 else float("nan")


def raw_distances(a: Params, b: Params) -> dict[str, float]:
    """Distance, relative distance and cosine similarity per block and over all parameters."""
    blocks_a, blocks_b = parameter_blocks(a), parameter_blocks(b)
    row: dict[str, float] = {}
    for name in blocks_a:
        x, y = blocks_a[name], blocks_b[name]
        row[f"distance_{name}"] = distance(x, y)
        row[f"relative_{name}"] = relative_distance(x, y)
        row[f"cosine_{name}"] = cosine_similarity(x, y)
    x, y = flatten(a), flatten(b)
    row["distance_all"] = distance(x, y)
    row["relative_all"] = relative_distance(x, y)
    row["cosine_all"] = cosine_similarity(x, y)
    return row
