"""Factor out the symmetries of a sigmoid MLP before comparing two networks.

Each hidden layer has exactly two symmetries: permuting its units, and flipping a
unit's sign, since sigmoid(-z) = 1 - sigmoid(z). Flipping unit j of hidden layer l
maps W_l[j,:] -> -W_l[j,:], b_l[j] -> -b_l[j], W_{l+1}[:,j] -> -W_{l+1}[:,j] and
b_{l+1} -> b_{l+1} + W_{l+1}[:,j] (the old column), and leaves the function unchanged.

In tanh coordinates (sigmoid(z) = (1 + tanh(z/2)) / 2) flips become plain sign
changes, so the L2-optimal signed permutation is a linear assignment on |C|
(``scipy.optimize.linear_sum_assignment``). Several hidden layers are matched by
Git Re-Basin's weight matching: coordinate descent over layers until none improves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from twinnets.train.network import Params

METHODS = ("permutation", "signed", "activation")


@dataclasses.dataclass(frozen=True)
class Transform:
    """A signed permutation of one hidden layer: new unit j is old unit ``perm[j]``,
    flipped where ``sign[j]`` is -1."""

    perm: np.ndarray
    sign: np.ndarray

    @classmethod
    def identity(cls, n: int) -> Transform:
        return cls(np.arange(n), np.ones(n))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Transform)
            and np.array_equal(self.perm, other.perm)
            and np.array_equal(self.sign, other.sign)
        )

    def __hash__(self) -> int:
        return hash((self.perm.tobytes(), self.sign.tobytes()))


# --------------------------------------------------------------------------- acting on networks


def apply_transforms(params: Params, transforms: Sequence[Transform]) -> Params:
    """The network that computes the same function with its hidden units rearranged.

    ``transforms[l]`` acts on hidden layer l + 1, in original (sigmoid) coordinates.
    """
    weights = [w.copy() for w in params.weights]
    biases = [b.copy() for b in params.biases]
    for layer, t in enumerate(transforms):
        w_in, b_in, w_out = weights[layer], biases[layer], weights[layer + 1]
        w_in, b_in, w_out = w_in[t.perm], b_in[t.perm], w_out[:, t.perm]
        flipped = t.sign < 0
        biases[layer + 1] = biases[layer + 1] + w_out[:, flipped].sum(axis=1)
        w_in[flipped] *= -1
        b_in[flipped] *= -1
        w_out[:, flipped] *= -1
        weights[layer], biases[layer], weights[layer + 1] = w_in, b_in, w_out
    return Params(weights, biases)


def random_transforms(sizes: Sequence[int], rng: np.random.Generator) -> list[Transform]:
    """A random signed permutation of every hidden layer (for tests and null models)."""
    return [Transform(rng.permutation(n), rng.choice([-1.0, 1.0], size=n)) for n in sizes[1:-1]]


# --------------------------------------------------------------------------- coordinates


def tanh_coordinates(params: Params) -> list[np.ndarray]:
    """Each layer as [W' | b'] in tanh coordinates, where sign flips are sign changes.

    With t_l = tanh(z_l / 2) the hidden units' outputs: t_1 = tanh(W1/2 x + b1/2),
    t_l = tanh(W_l/4 t_{l-1} + b_l/2 + W_l 1/4), output z = W_L/2 t + b_L + W_L 1/2.
    """
    mats = []
    n_layers = len(params.weights)
    for layer, (w, b) in enumerate(zip(params.weights, params.biases, strict=True)):
        w = w.astype(np.float64)
        b = b.astype(np.float64)
        if layer == 0:
            w_t, b_t = w / 2, b / 2
        elif layer < n_layers - 1:
            w_t, b_t = w / 4, b / 2 + w.sum(axis=1) / 4
        else:
            w_t, b_t = w / 2, b + w.sum(axis=1) / 2
        if n_layers == 1:  # no hidden layer: nothing to align, keep the raw parameters
            w_t, b_t = w, b
        mats.append(np.column_stack([w_t, b_t]))
    return mats


def sigmoid_coordinates(params: Params) -> list[np.ndarray]:
    """Each layer as [W | b], as stored."""
    return [
        np.column_stack([w.astype(np.float64), b.astype(np.float64)])
        for w, b in zip(params.weights, params.biases, strict=True)
    ]


def _transform_mats(mats: list[np.ndarray], transforms: Sequence[Transform]) -> list[np.ndarray]:
    """Apply signed permutations in coordinates where they act linearly."""
    out = [m.copy() for m in mats]
    for layer, t in enumerate(transforms):
        out[layer] = out[layer][t.perm] * t.sign[:, None]
        nxt = out[layer + 1]
        nxt[:, :-1] = nxt[:, :-1][:, t.perm] * t.sign[None, :]
    return out


# --------------------------------------------------------------------------- matching


def _assign(cost: np.ndarray, signed: bool) -> Transform:
    """Maximise sum_j s_j C[j, perm[j]] over permutations (and signs, if ``signed``)."""
    score = np.abs(cost) if signed else cost
    rows, cols = linear_sum_assignment(score, maximize=True)
    perm = cols[np.argsort(rows)]
    if signed:
        sign = np.where(cost[np.arange(len(perm)), perm] < 0, -1.0, 1.0)
    else:
        sign = np.ones(len(perm))
    return Transform(perm, sign)


def match_weights(
    a_mats: list[np.ndarray], b_mats: list[np.ndarray], signed: bool, max_sweeps: int = 100
) -> list[Transform]:
    """Transforms of B's hidden layers that bring its [W | b] matrices closest to A's.

    One hidden layer is solved exactly by one assignment. Several are solved by
    coordinate descent over layers (Git Re-Basin weight matching), each step an exact
    assignment given the other layers, until a sweep changes nothing.
    """
    n_hidden = len(a_mats) - 1
    transforms = [Transform.identity(m.shape[0]) for m in a_mats[:-1]]
    for _ in range(max_sweeps):
        changed = False
        for layer in range(n_hidden):
            # B with every other layer's transform applied; this layer's left as is
            others = list(transforms)
            others[layer] = Transform.identity(a_mats[layer].shape[0])
            b_t = _transform_mats(b_mats, others)
            incoming = a_mats[layer] @ b_t[layer].T
            outgoing = a_mats[layer + 1][:, :-1].T @ b_t[layer + 1][:, :-1]
            best = _assign(incoming + outgoing, signed)
            if best != transforms[layer]:
                transforms[layer], changed = best, True
        if not changed or n_hidden == 1:
            break
    return transforms


def match_activations(correlations: Sequence[np.ndarray], signed: bool = True) -> list[Transform]:
    """Transforms pairing each of A's hidden units with B's most correlated unit.

    ``correlations[l][j, k]`` is the correlation of A's unit j and B's unit k of hidden
    layer l over the same inputs. A flipped unit outputs 1 - h, so its correlations
    change sign: with ``signed`` the assignment is on |corr| and negative pairs flip.
    """
    return [_assign(np.nan_to_num(c), signed) for c in correlations]


def align(
    a: Params,
    b: Params,
    method: str = "signed",
    correlations: Sequence[np.ndarray] | None = None,
) -> tuple[Params, list[Transform]]:
    """B rearranged to be as close to A as its symmetries allow, and the transforms used.

    ``permutation``: weight matching over permutations only, L2 in stored coordinates;
    ``signed``: permutations and sign flips, L2 in tanh coordinates;
    ``activation``: hidden activations' correlations (pass ``correlations``).
    The result computes the same function as B, up to rounding.
    """
    if len(a.weights) == 1:
        return b.copy(), []
    if method == "permutation":
        transforms = match_weights(sigmoid_coordinates(a), sigmoid_coordinates(b), signed=False)
    elif method == "signed":
        transforms = match_weights(tanh_coordinates(a), tanh_coordinates(b), signed=True)
    elif method == "activation":
        if correlations is None:
            raise ValueError("activation matching needs the hidden units' correlations")
        transforms = match_activations(correlations)
    else:
        raise ValueError(f"unknown alignment method {method!r}; use one of {METHODS}")
    return apply_transforms(b, transforms), transforms


# --------------------------------------------------------------------------- consensus


def consensus(networks: Sequence[Params], max_sweeps: int = 50) -> tuple[list[Params], Params, int]:
    """Align every network of a group to a common reference.

    Start from the alignment of all to the first network; then, in sweeps, re-align
    each network to the mean of the others (signed weight matching in tanh
    coordinates) until no assignment changes. Returns the aligned networks, their
    mean (the consensus, stored coordinates) and the number of sweeps.
    """
    if len(networks[0].weights) == 1 or len(networks) < 2:
        mean = _mean_params(list(networks))
        return [n.copy() for n in networks], mean, 0
    coords = [tanh_coordinates(n) for n in networks]
    transforms = [match_weights(coords[0], c, signed=True) for c in coords]
    aligned = [_transform_mats(c, t) for c, t in zip(coords, transforms, strict=True)]
    sweeps, changed = 0, True
    while changed and sweeps < max_sweeps:
        sweeps += 1
        changed = False
        total = [sum(layer) for layer in zip(*aligned, strict=True)]
        for i, c in enumerate(coords):
            others = [
                (t - own) / (len(coords) - 1) for t, own in zip(total, aligned[i], strict=True)
            ]
            new = match_weights(others, c, signed=True)
            if new != transforms[i]:
                changed = True
                total = [t - own for t, own in zip(total, aligned[i], strict=True)]
                transforms[i] = new
                aligned[i] = _transform_mats(c, new)
                total = [t + own for t, own in zip(total, aligned[i], strict=True)]
    result = [apply_transforms(n, t) for n, t in zip(networks, transforms, strict=True)]
    return result, _mean_params(result), sweeps


def _mean_params(networks: list[Params]) -> Params:
    return Params(
        [
            np.mean([n.weights[i].astype(np.float64) for n in networks], axis=0)
            for i in range(len(networks[0].weights))
        ],
        [
            np.mean([n.biases[i].astype(np.float64) for n in networks], axis=0)
            for i in range(len(networks[0].biases))
        ],
    )
