"""Each hidden activation's symmetries, as data: what can be done to a hidden unit without
changing the network's function.

Like Git Re-Basin's ``PermutationSpec``, a small declarative description that the
alignment code (``twinnets.compare.alignment``) reads instead of assuming one activation.
Every activation allows permuting a hidden layer's units; beyond that:

* sigmoid: sign flips. sigmoid(-z) = 1 - sigmoid(z), so flipping unit j negates its
  incoming weights and bias and its outgoing column, and adds ``offset`` = 1 times the
  old outgoing column to the next layer's bias.
* tanh: sign flips, with ``offset`` 0: tanh(-z) = -tanh(z) (odd), no bias correction.
* relu: positive rescaling. relu(c z) = c relu(z) for every c > 0, so unit j's incoming
  weights and bias may be multiplied by c and its outgoing column divided by c. No sign
  flips: relu(-z) is not a function of relu(z).

Networks with different activations compute different functions of the same parameters
and have different symmetries, so they are never compared (``shared_activation``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from twinnets.train.network import ACTIVATIONS


@dataclasses.dataclass(frozen=True)
class Symmetry:
    """The symmetry group of a hidden layer of ``activation`` units, beyond permutations."""

    activation: str
    #: f(-z) = flip_offset - f(z), so sign flips are symmetries; None: they are not.
    flip_offset: float | None
    #: f(c z) = c f(z) for every c > 0, so positive per-unit rescalings are symmetries.
    rescaling: bool
    #: Where weight matching compares two networks, so that the group's moves act there as
    #: plain permutations and sign changes of rows and columns: "tanh" coordinates (sigmoid:
    #: the bias correction of a flip absorbed), "stored" parameters, or the "canonical" form
    #: (every unit's incoming weights and bias of unit norm: no rescaling left).
    coordinates: str
    #: The identity behind it, for the prose.
    identity: str

    @property
    def sign_flips(self) -> bool:
        return self.flip_offset is not None

    @property
    def moves(self) -> str:
        """What the group does to a unit besides renumbering it, e.g. 'sign flips'."""
        return "sign flips" if self.sign_flips else "positive rescaling"

    @property
    def move(self) -> str:
        """What may be done to one unit besides renumbering it, e.g. 'flipped'."""
        return "flipped" if self.sign_flips else "rescaled by any c > 0"

    @property
    def done(self) -> str:
        """The same as a past participle, for labels: 'sign-flipped' or 'rescaled'."""
        return "sign-flipped" if self.sign_flips else "rescaled"


#: One description per activation the trainer knows (``network.ACTIVATIONS``, tested).
SYMMETRIES = {
    "sigmoid": Symmetry("sigmoid", 1.0, False, "tanh", "sigmoid(-z) = 1 - sigmoid(z)"),
    "tanh": Symmetry("tanh", 0.0, False, "stored", "tanh(-z) = -tanh(z)"),
    "relu": Symmetry("relu", None, True, "canonical", "relu(c z) = c relu(z) for c > 0"),
}

#: How each kind of matching coordinates is named in the prose.
COORDINATE_WORDS = {
    "tanh": "weight matching in tanh coordinates",
    "stored": "weight matching on the stored parameters",
    "canonical": "weight matching in the canonical form, every unit's incoming weights and "
    "bias scaled to unit norm",
}


def symmetry(activation: str) -> Symmetry:
    """The symmetries of ``activation`` hidden units; a ValueError naming the known ones."""
    try:
        return SYMMETRIES[activation]
    except KeyError:
        raise ValueError(
            f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}"
        ) from None


def shared_activation(activations: Mapping[str, str]) -> str:
    """The one activation of networks to be compared (``{name: activation}``).

    Networks of different activations have different functions and symmetries: comparing
    them is refused with an error that names each network's activation.
    """
    found = set(activations.values())
    if not found:
        raise ValueError("no networks to compare")
    if len(found) > 1:
        listed = ", ".join(f"{name} is {act}" for name, act in activations.items())
        raise ValueError(
            f"networks with different hidden activations cannot be compared ({listed}): their "
            "parameters compute different functions and have different symmetries; compare "
            "networks of one activation"
        )
    (activation,) = found
    symmetry(activation)  # known
    return activation
