"""Factor out the symmetries of an MLP's hidden units before comparing two networks.

Each hidden layer's units can be permuted; what else the group allows depends on the
activation (``twinnets.compare.symmetry``, the one description of each group):

* sigmoid: sign flips, sigmoid(-z) = 1 - sigmoid(z). Flipping unit j of hidden layer l
  maps W_l[j,:] -> -W_l[j,:], b_l[j] -> -b_l[j], W_{l+1}[:,j] -> -W_{l+1}[:,j] and
  b_{l+1} -> b_{l+1} + W_{l+1}[:,j] (the old column). In tanh coordinates (sigmoid(z) =
  (1 + tanh(z/2)) / 2) flips become plain sign changes.
* tanh: sign flips with no bias correction (odd): plain sign changes of the stored
  parameters.
* relu: positive rescaling, relu(c z) = c relu(z): unit j's incoming weights and bias
  times c > 0, its outgoing column divided by c. No flips. Both networks are brought to
  a canonical form (every unit's incoming weights and bias of unit norm, the scale moved
  into the next layer, layer by layer), matched there by permutations, and B is then
  put in A's scale (A's canonical rescaling undone), so that a rescaled copy of A aligns
  back onto A itself.

The L2-optimal (signed) permutation of one layer is a linear assignment
(``scipy.optimize.linear_sum_assignment``; on |C| where flips are allowed). Several hidden
layers are matched by Git Re-Basin's weight matching: coordinate descent over layers
until none improves. Every transform leaves the function unchanged (up to rounding).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from twinnets.compare.symmetry import Symmetry, symmetry
from twinnets.train.network import Params

METHODS = ("permutation", "signed", "activation")


@dataclasses.dataclass(frozen=True, eq=False)
class Transform:
    """A symmetry of one hidden layer: new unit j is old unit ``perm[j]``, flipped where
    ``sign[j]`` is -1, its incoming weights and bias times ``scale[j]`` > 0 and its
    outgoing column divided by it (``scale`` all ones unless given: ReLU only)."""

    perm: np.ndarray
    sign: np.ndarray
    scale: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.scale is None:
            object.__setattr__(self, "scale", np.ones(len(self.perm)))

    @classmethod
    def identity(cls, n: int) -> Transform:
        return cls(np.arange(n), np.ones(n))

    @property
    def factor(self) -> np.ndarray:
        """What each new unit's weighted input is, times the old unit's: sign * scale."""
        return self.sign * self.scale

    def rescales(self) -> bool:
        return bool(np.any(self.scale != 1.0))

    def then(self, other: Transform) -> Transform:
        """This transform followed by ``other`` (acting on the result), as one transform."""
        return Transform(
            self.perm[other.perm], other.sign * self.sign[other.perm],
            other.scale * self.scale[other.perm],
        )  # fmt: skip

    def inverse(self) -> Transform:
        """The transform that undoes this one."""
        back = np.argsort(self.perm)
        return Transform(back, self.sign[back], 1.0 / self.scale[back])

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Transform)
            and np.array_equal(self.perm, other.perm)
            and np.array_equal(self.sign, other.sign)
            and np.array_equal(self.scale, other.scale)
        )

    def __hash__(self) -> int:
        return hash((self.perm.tobytes(), self.sign.tobytes(), self.scale.tobytes()))


# --------------------------------------------------------------------------- acting on networks


def apply_transforms(
    params: Params, transforms: Sequence[Transform], activation: str = "sigmoid"
) -> Params:
    """The network that computes the same function with its hidden units rearranged.

    ``transforms[l]`` acts on hidden layer l + 1, in stored coordinates; ``activation``
    is the hidden units' (it decides a flip's bias correction, and which moves are
    symmetries at all: a move outside the activation's group is a ValueError).
    """
    group = symmetry(activation)
    weights = [w.copy() for w in params.weights]
    biases = [b.copy() for b in params.biases]
    for layer, t in enumerate(transforms):
        flipped = t.sign < 0
        if flipped.any() and not group.sign_flips:
            raise ValueError(f"{activation} units cannot be sign-flipped: {group.identity} only")
        if t.rescales() and not group.rescaling:
            raise ValueError(f"{activation} units cannot be rescaled: only permuted and flipped")
        w_in, b_in, w_out = weights[layer], biases[layer], weights[layer + 1]
        w_in, b_in, w_out = w_in[t.perm], b_in[t.perm], w_out[:, t.perm]
        if group.flip_offset:  # f(-z) = offset - f(z): the next layer's bias makes up for it
            correction = w_out[:, flipped].sum(axis=1)
            if group.flip_offset != 1.0:
                correction = group.flip_offset * correction
            biases[layer + 1] = biases[layer + 1] + correction
        w_in[flipped] *= -1
        b_in[flipped] *= -1
        w_out[:, flipped] *= -1
        if t.rescales():
            w_in *= t.scale[:, None]
            b_in *= t.scale
            w_out /= t.scale[None, :]
        weights[layer], biases[layer], weights[layer + 1] = w_in, b_in, w_out
    return Params(weights, biases)


def random_transforms(
    sizes: Sequence[int], rng: np.random.Generator, activation: str = "sigmoid"
) -> list[Transform]:
    """A random element of every hidden layer's group (for tests and null models): a
    permutation with random sign flips, or, for ReLU, with random scales in [e^-1.5, e^1.5]."""
    group = symmetry(activation)
    if group.rescaling:
        return [
            Transform(rng.permutation(n), np.ones(n), np.exp(rng.uniform(-1.5, 1.5, size=n)))
            for n in sizes[1:-1]
        ]
    return [Transform(rng.permutation(n), rng.choice([-1.0, 1.0], size=n)) for n in sizes[1:-1]]


def canonical_transforms(params: Params) -> list[Transform]:
    """The positive rescaling that puts a ReLU network in its canonical form.

    Layer by layer: hidden layer l's incoming weights (its columns already divided by the
    previous layer's scales) and bias are scaled to unit norm per unit (a unit with none
    keeps scale 1). Two networks that differ by a rescaling (and a permutation) have the
    same canonical form (up to that permutation, and rounding).
    """
    transforms = []
    previous = None
    for w, b in zip(params.weights[:-1], params.biases[:-1], strict=True):
        w = w.astype(np.float64)
        if previous is not None:
            w = w / previous[None, :]
        norm = np.sqrt(np.sum(w**2, axis=1) + b.astype(np.float64) ** 2)
        scale = np.where(norm > 0, 1.0 / np.where(norm > 0, norm, 1.0), 1.0)
        transforms.append(Transform(np.arange(len(norm)), np.ones(len(norm)), scale))
        previous = scale
    return transforms


def canonical_form(params: Params) -> Params:
    """A ReLU network rescaled to its canonical form (``canonical_transforms``)."""
    return apply_transforms(params, canonical_transforms(params), "relu")


# --------------------------------------------------------------------------- coordinates


def tanh_coordinates(params: Params) -> list[np.ndarray]:
    """A sigmoid network's layers as [W' | b'] in tanh coordinates, where flips are sign changes.

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


def stored_coordinates(params: Params) -> list[np.ndarray]:
    """Each layer as [W | b], as stored."""
    return [
        np.column_stack([w.astype(np.float64), b.astype(np.float64)])
        for w, b in zip(params.weights, params.biases, strict=True)
    ]


def _gauge(params: Params, group: Symmetry) -> list[Transform] | None:
    """The rescaling to the canonical form where the group has one (ReLU), else None."""
    return canonical_transforms(params) if group.rescaling else None


def matching_coordinates(
    params: Params, group: Symmetry, gauge: list[Transform] | None = None
) -> list[np.ndarray]:
    """Each layer as [W' | b'] where the group's remaining moves (permutations, flips) are
    plain permutations and sign changes of rows and columns (``Symmetry.coordinates``)."""
    if group.coordinates == "tanh":
        return tanh_coordinates(params)
    if group.coordinates == "canonical":
        gauge = gauge if gauge is not None else canonical_transforms(params)
        return stored_coordinates(apply_transforms(params, gauge, group.activation))
    return stored_coordinates(params)


def _through(
    gauge_b: list[Transform] | None, moves: list[Transform], gauge_a: list[Transform] | None
) -> list[Transform]:
    """B's gauge, then the matched moves, then A's gauge undone: one transform per layer."""
    if gauge_b is None or gauge_a is None:
        return moves
    return [
        gb.then(m).then(ga.inverse()) for gb, m, ga in zip(gauge_b, moves, gauge_a, strict=True)
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


def assignment(cost: np.ndarray, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(perm, sign)`` maximising sum_j s_j C[j, perm[j]] over permutations (and signs, if
    ``signed``): the one assignment rule of every alignment (``twinnets.compare.pair_batch``
    calls it for thousands of pairs without building a ``Transform``)."""
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"an assignment of units needs a square cost matrix, got {cost.shape}")
    score = np.abs(cost) if signed else cost
    # a square matrix's rows come back as 0..n-1, so its columns are the permutation
    _, perm = linear_sum_assignment(score, maximize=True)
    if signed:
        sign = np.where(cost[np.arange(len(perm)), perm] < 0, -1.0, 1.0)
    else:
        sign = np.ones(len(perm))
    return perm, sign


def _assign(cost: np.ndarray, signed: bool) -> Transform:
    return Transform(*assignment(cost, signed))


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
    activation: str = "sigmoid",
) -> tuple[Params, list[Transform]]:
    """B rearranged to be as close to A as its symmetries allow, and the transforms used.

    ``activation`` is both networks' (their ``TrainConfig.activation``; networks of
    different activations are never compared: ``symmetry.shared_activation``).
    ``permutation``: weight matching over permutations only, L2 in stored coordinates;
    ``signed``: the activation's whole group (permutations and sign flips, or positive
    rescaling), L2 in its matching coordinates (``Symmetry.coordinates``);
    ``activation``: hidden activations' correlations (pass ``correlations``), flips
    where the group has them (ReLU: then B put in A's scale, as for ``signed``).
    The result computes the same function as B, up to rounding.
    """
    group = symmetry(activation)
    if len(a.weights) == 1:
        return b.copy(), []
    if method == "permutation":
        transforms = match_weights(stored_coordinates(a), stored_coordinates(b), signed=False)
    elif method in ("signed", "activation"):
        gauge_a, gauge_b = _gauge(a, group), _gauge(b, group)
        if method == "signed":
            moves = match_weights(
                matching_coordinates(a, group, gauge_a),
                matching_coordinates(b, group, gauge_b),
                signed=group.sign_flips,
            )
        elif correlations is None:
            raise ValueError("activation matching needs the hidden units' correlations")
        else:
            moves = match_activations(correlations, signed=group.sign_flips)
        transforms = _through(gauge_b, moves, gauge_a)
    else:
        raise ValueError(f"unknown alignment method {method!r}; use one of {METHODS}")
    return apply_transforms(b, transforms, activation), transforms


# --------------------------------------------------------------------------- consensus


def consensus(
    networks: Sequence[Params], max_sweeps: int = 50, activation: str = "sigmoid"
) -> tuple[list[Params], Params, int]:
    """Align every network of a group to a common reference.

    Start from the alignment of all to the first network; then, in sweeps, re-align
    each network to the mean of the others (weight matching in the activation's matching
    coordinates, with flips where its group has them) until no assignment changes.
    Returns the aligned networks, their mean (the consensus, stored coordinates; for
    ReLU in the canonical form) and the number of sweeps.
    """
    if len(networks[0].weights) == 1 or len(networks) < 2:
        mean = _mean_params(list(networks))
        return [n.copy() for n in networks], mean, 0
    group = symmetry(activation)
    signed = group.sign_flips
    gauges = [_gauge(n, group) for n in networks]
    coords = [matching_coordinates(n, group, g) for n, g in zip(networks, gauges, strict=True)]
    transforms = [match_weights(coords[0], c, signed=signed) for c in coords]
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
            new = match_weights(others, c, signed=signed)
            if new != transforms[i]:
                changed = True
                total = [t - own for t, own in zip(total, aligned[i], strict=True)]
                transforms[i] = new
                aligned[i] = _transform_mats(c, new)
                total = [t + own for t, own in zip(total, aligned[i], strict=True)]
    result = [
        apply_transforms(n, t if g is None else [gl.then(tl) for gl, tl in zip(g, t)], activation)
        for n, t, g in zip(networks, transforms, gauges, strict=True)
    ]
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
