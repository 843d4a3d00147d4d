"""Representation and function similarity between trained networks.

Raw parameter distances (``twinnets.compare.distances``) cannot tell two networks that compute
the same thing with permuted hidden units from two that compute different things. This
module compares what networks *do* instead:

* **Representation similarity**: linear CKA (Kornblith et al. 2019) and debiased CKA (the
  unbiased HSIC estimator of Song et al. 2012, as in Kornblith's and Nguyen et al.'s code)
  between the activations of two networks on the same inputs. Both are invariant to
  orthogonal transforms (so to permutations and sign flips of units) and to isotropic
  scaling. Linear CKA is biased upwards for finite n (about d/n for independent features);
  debiased CKA removes that bias, so it is the one to trust for "how far from unrelated".
* **Unit-by-unit correlations**, for matching the hidden units of two networks.
* **Function similarity**: agreement of predictions, shared errors and total-variation
  distance between the normalised outputs.

Every pairwise function has a vectorised all-pairs counterpart (``cka_matrices``,
``correlation_blocks``, ``function_matrices``) that analyses 64 networks (2,016 pairs) on
10,000 test images in about 0.6 s on 2 cores: one Gram matrix of all networks'
centred activations serves every pair's CKA and every unit correlation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg.blas import dsyrk
from scipy.spatial.distance import cdist

from twinnets.train.network import normalise_outputs

FUNCTION_METRICS = ("agreement", "a_errors_shared", "b_errors_shared", "tv_distance")
"""Keys of ``function_metrics`` and ``function_matrices``."""


# --------------------------------------------------------------------------- helpers


def _as_matrix(x: np.ndarray, name: str = "activations") -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n, d) array, got shape {x.shape}")
    return x


def _constant_columns(x: np.ndarray) -> np.ndarray:
    """Columns whose values are all identical (e.g. a saturated sigmoid unit)."""
    if x.shape[0] == 0:
        return np.ones(x.shape[1], dtype=bool)
    return np.all(x == x[:1], axis=0)


def _centre(x: np.ndarray) -> np.ndarray:
    """Subtract each column's mean; constant columns become exactly zero.

    ``x - x.mean(0)`` leaves rounding noise (about 1e-17) in a constant column, which
    would turn a unit without variance into a unit with a meaningless correlation.
    """
    xc = x - x.mean(axis=0)
    xc[:, _constant_columns(x)] = 0.0
    return xc


def _check_same_n(x: np.ndarray, y: np.ndarray) -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"activations must be on the same inputs: {x.shape[0]} rows vs {y.shape[0]}"
        )


def _hsic1(
    tr_kl: np.ndarray | float,
    sum_k: np.ndarray | float,
    sum_l: np.ndarray | float,
    k1_l1: np.ndarray | float,
    n: int,
) -> np.ndarray | float:
    """Unbiased HSIC from its four ingredients (K~, L~: kernels with zeroed diagonal).

    ``tr_kl`` = tr(K~ L~), ``sum_k`` = 1^T K~ 1, ``sum_l`` = 1^T L~ 1,
    ``k1_l1`` = 1^T K~ L~ 1 = (K~ 1) . (L~ 1).
    """
    return (tr_kl + sum_k * sum_l / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * k1_l1) / (n * (n - 3))


def _check_debiased_n(n: int) -> None:
    if n < 4:
        raise ValueError(f"debiased CKA needs at least 4 inputs, got {n}")


# --------------------------------------------------------------------------- CKA, pairwise


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA between activations ``x`` (n, d1) and ``y`` (n, d2) on the same inputs.

    ||Xc^T Yc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F) with column-centred Xc, Yc: 1 for
    representations equal up to rotation and scale, near d/n (not 0) for unrelated ones.
    NaN when either side has no variance at all. The straightforward reference.
    """
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    _check_same_n(x, y)
    xc, yc = _centre(x), _centre(y)
    cross = np.sum((xc.T @ yc) ** 2)
    denominator = np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)
    return float(cross / denominator) if denominator > 0 else float("nan")


def _debiased_terms(xc: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Per-network ingredients of the unbiased HSIC for the linear kernel K = X X^T.

    Returns the squared row norms r (= diag K), 1^T K~ 1 and K~ 1, all without
    forming the n x n kernel.
    """
    r = np.einsum("ij,ij->i", xc, xc)
    s = xc.sum(axis=0)
    return r, float(s @ s - r.sum()), xc @ s - r


def debiased_cka(x: np.ndarray, y: np.ndarray) -> float:
    """CKA from the unbiased HSIC estimator: about 0 for unrelated representations.

    Same normalisation as ``linear_cka`` but HSIC_1 (Song et al. 2012) of the linear
    kernels of the centred features, computed in feature space in O(n d1 d2), never with
    n x n matrices. Needs n >= 4. Can be slightly negative; NaN when a self-HSIC is not
    positive (no variance).
    """
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    _check_same_n(x, y)
    n = x.shape[0]
    _check_debiased_n(n)
    xc, yc = _centre(x), _centre(y)
    rx, sum_x, ux = _debiased_terms(xc)
    ry, sum_y, uy = _debiased_terms(yc)
    hsic_xy = _hsic1(np.sum((xc.T @ yc) ** 2) - rx @ ry, sum_x, sum_y, ux @ uy, n)
    hsic_xx = _hsic1(np.sum((xc.T @ xc) ** 2) - rx @ rx, sum_x, sum_x, ux @ ux, n)
    hsic_yy = _hsic1(np.sum((yc.T @ yc) ** 2) - ry @ ry, sum_y, sum_y, uy @ uy, n)
    denominator = hsic_xx * hsic_yy
    return float(hsic_xy / np.sqrt(denominator)) if denominator > 0 else float("nan")


def cross_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of every unit of ``x`` with every unit of ``y``: (d1, d2).

    A unit without variance (e.g. saturated) correlates 0 with everything, not NaN, so
    that matching never pairs units on noise.
    """
    x, y = _as_matrix(x, "x"), _as_matrix(y, "y")
    _check_same_n(x, y)
    xc, yc = _centre(x), _centre(y)
    return _normalise_gram(xc.T @ yc, np.linalg.norm(xc, axis=0), np.linalg.norm(yc, axis=0))


def _normalise_gram(gram: np.ndarray, norm_rows: np.ndarray, norm_cols: np.ndarray) -> np.ndarray:
    inv_rows = np.divide(1.0, norm_rows, out=np.zeros_like(norm_rows), where=norm_rows > 0)
    inv_cols = np.divide(1.0, norm_cols, out=np.zeros_like(norm_cols), where=norm_cols > 0)
    corr = gram * inv_rows[:, None] * inv_cols[None, :]
    return np.clip(corr, -1.0, 1.0, out=corr)


# --------------------------------------------------------------------------- CKA, all pairs


@dataclass(frozen=True)
class ActivationGram:
    """Everything all-pairs CKA and unit correlations need, from one pass over the data.

    The activations of N networks (n, d_i) are centred and stacked column-wise into H
    (n, D), D = sum d_i; ``gram`` = H^T H (D, D). Network i's units are columns
    ``offsets[i]:offsets[i + 1]``. The debiased-CKA ingredients are already reduced to
    N x N: ``row_sq_cross`` = R^T R with R[:, i] the squared row norms of network i
    (diag K_i), ``k1_cross`` = U^T U with U[:, i] = K~_i 1, ``k_sum[i]`` = 1^T K~_i 1.
    Build it with ``activation_gram`` and pass it to ``cka_matrices`` and
    ``correlation_blocks`` to compute the Gram matrix once for both.
    """

    gram: np.ndarray
    offsets: np.ndarray
    n: int
    row_sq_cross: np.ndarray
    k1_cross: np.ndarray
    k_sum: np.ndarray

    @property
    def n_networks(self) -> int:
        return len(self.offsets) - 1

    def units(self, i: int) -> slice:
        """Network ``i``'s columns (rows) in ``gram`` and in ``correlation_blocks``."""
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def block(self, matrix: np.ndarray, i: int, j: int) -> np.ndarray:
        """Block (i, j) of a (D, D) matrix such as ``correlation_blocks``: (d_i, d_j)."""
        return matrix[self.units(i), self.units(j)]


def activation_gram(acts: Sequence[np.ndarray]) -> ActivationGram:
    """Centre, stack and multiply once: the shared basis of all-pairs CKA and correlations.

    ``acts``: N networks' activations on the same n inputs, each (n, d_i), d_i >= 1.
    Costs one (D, n) x (n, D) symmetric product (about 0.4 s for 64 x (10000, 30) on
    2 cores) and holds the (n, D) stack in float64 while it runs.
    """
    stacked, offsets = stack_activations(acts)
    return stacked_activation_gram(stacked, offsets)


def stack_activations(acts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """N networks' activations (n, d_i) side by side, (n, D), and each one's first column."""
    if len(acts) == 0:
        raise ValueError("need the activations of at least one network")
    mats = [_as_matrix(a, f"acts[{i}]") for i, a in enumerate(acts)]
    n = mats[0].shape[0]
    for i, m in enumerate(mats):
        if m.shape[0] != n:
            raise ValueError(f"acts[{i}] has {m.shape[0]} rows, acts[0] has {n}")
        if m.shape[1] < 1:
            raise ValueError(f"acts[{i}] has no units")
    offsets = np.concatenate([[0], np.cumsum([m.shape[1] for m in mats])])
    stacked = np.empty((n, int(offsets[-1])))
    for i, m in enumerate(mats):
        stacked[:, offsets[i] : offsets[i + 1]] = m
    return stacked, offsets


@dataclass(frozen=True)
class _OwnTerms:
    """What each network's CKA needs of its own centred activations: the squared row norms
    (n, N), 1^T K~ 1 (N,), K~ 1 (n, N) of ``_debiased_terms``, ||Xc^T Xc||_F^2 (N,), and
    each unit's squared norm (D,)."""

    row_sq: np.ndarray
    k_sum: np.ndarray
    k1: np.ndarray
    self_cross: np.ndarray
    unit_sq: np.ndarray


def _centre_own(stacked: np.ndarray, offsets: np.ndarray) -> _OwnTerms:
    """Centre every column of ``stacked`` in place (``_centre``: a constant column becomes
    exactly 0) and collect each network's own terms from its (n, d_i) block."""
    constant = _constant_columns(stacked)
    stacked -= stacked.mean(axis=0)
    stacked[:, constant] = 0.0
    n, n_nets = stacked.shape[0], len(offsets) - 1
    row_sq, k1 = np.empty((n, n_nets)), np.empty((n, n_nets))
    k_sum, self_cross = np.empty(n_nets), np.empty(n_nets)
    unit_sq = np.empty(stacked.shape[1])
    for i in range(n_nets):
        units = slice(offsets[i], offsets[i + 1])
        xc = stacked[:, units]
        row_sq[:, i], k_sum[i], k1[:, i] = _debiased_terms(xc)
        own = xc.T @ xc
        self_cross[i] = np.sum(own**2)
        unit_sq[units] = np.diag(own)
    return _OwnTerms(row_sq, k_sum, k1, self_cross, unit_sq)


def stacked_activation_gram(stacked: np.ndarray, offsets: np.ndarray) -> ActivationGram:
    """``activation_gram`` of activations already side by side (``stack_activations``):
    centres ``stacked`` in place, so a caller that built it pays no copy."""
    own = _centre_own(stacked, offsets)
    # BLAS syrk computes only one triangle of H^T H: half the flops of a general product
    # (numpy's ``stacked.T @ stacked`` does not reliably take that path). ``stacked.T``
    # is Fortran-ordered, so it reaches BLAS without a copy.
    upper = dsyrk(1.0, stacked.T)
    gram = np.triu(upper) + np.triu(upper, 1).T
    return ActivationGram(
        gram=gram,
        offsets=offsets,
        n=stacked.shape[0],
        row_sq_cross=_symmetric(own.row_sq.T @ own.row_sq),
        k1_cross=_symmetric(own.k1.T @ own.k1),
        k_sum=own.k_sum,
    )


@dataclass(frozen=True)
class CrossGram:
    """The Gram blocks between two disjoint sets of networks, A and B: all that CKA and unit
    correlations of every (A, B) pair need, without the (A, A) and (B, B) blocks that
    ``activation_gram`` of both would also compute (half the work for two equal sets).

    ``gram`` = Ha^T Hb (D_A, D_B) of the centred stacks; ``norms_a``, ``norms_b``: each
    unit's norm; ``cka``: (linear, debiased), each (N_A, N_B).
    """

    gram: np.ndarray
    offsets_a: np.ndarray
    offsets_b: np.ndarray
    norms_a: np.ndarray
    norms_b: np.ndarray
    cka: tuple[np.ndarray, np.ndarray]

    def correlations(self) -> np.ndarray:
        """Pearson correlations of every A unit with every B unit (``correlation_blocks``)."""
        return _normalise_gram(self.gram, self.norms_a, self.norms_b)


def cross_activation_gram(
    stacked_a: np.ndarray, offsets_a: np.ndarray, stacked_b: np.ndarray, offsets_b: np.ndarray
) -> CrossGram:
    """``CrossGram`` of two stacks (``stack_activations``), each centred in place."""
    _check_same_n(stacked_a, stacked_b)
    own_a, own_b = _centre_own(stacked_a, offsets_a), _centre_own(stacked_b, offsets_b)
    gram = stacked_a.T @ stacked_b
    cross = np.add.reduceat(
        np.add.reduceat(gram * gram, offsets_a[:-1], axis=0), offsets_b[:-1], axis=1
    )
    cka = _cka(cross, own_a.self_cross, own_b.self_cross, own_a, own_b, stacked_a.shape[0])
    return CrossGram(
        gram=gram,
        offsets_a=offsets_a,
        offsets_b=offsets_b,
        norms_a=np.sqrt(own_a.unit_sq),
        norms_b=np.sqrt(own_b.unit_sq),
        cka=cka,
    )


def _cka(
    cross: np.ndarray,
    self_a: np.ndarray,
    self_b: np.ndarray,
    own_a: _OwnTerms,
    own_b: _OwnTerms,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(linear, debiased) CKA of every (a, b) from ||Xa^T Xb||_F^2 (``cross``) and each
    network's own terms."""
    with np.errstate(divide="ignore", invalid="ignore"):
        linear = cross / np.sqrt(np.outer(self_a, self_b))
        if n < 4:
            return linear, np.full_like(linear, np.nan)
        hsic = _hsic1(
            cross - own_a.row_sq.T @ own_b.row_sq,
            own_a.k_sum[:, None],
            own_b.k_sum[None, :],
            own_a.k1.T @ own_b.k1,
            n,
        )
        self_hsic_a = _hsic1(
            self_a - np.einsum("ij,ij->j", own_a.row_sq, own_a.row_sq),
            own_a.k_sum, own_a.k_sum, np.einsum("ij,ij->j", own_a.k1, own_a.k1), n,
        )  # fmt: skip
        self_hsic_b = _hsic1(
            self_b - np.einsum("ij,ij->j", own_b.row_sq, own_b.row_sq),
            own_b.k_sum, own_b.k_sum, np.einsum("ij,ij->j", own_b.k1, own_b.k1), n,
        )  # fmt: skip
        debiased = hsic / np.sqrt(np.outer(self_hsic_a, self_hsic_b))
    return linear, debiased


def _symmetric(m: np.ndarray) -> np.ndarray:
    return 0.5 * (m + m.T)


def _gram_of(source: Sequence[np.ndarray] | ActivationGram) -> ActivationGram:
    return source if isinstance(source, ActivationGram) else activation_gram(source)


def cka_matrices(
    acts: Sequence[np.ndarray] | ActivationGram,
) -> tuple[np.ndarray, np.ndarray]:
    """(linear CKA, debiased CKA), each N x N, for every pair of N networks at once.

    ``acts``: N arrays (n, d_i) on the same inputs, or their ``activation_gram``. Every
    pair's ||X_i^T X_j||_F^2 is a block sum of the squared Gram matrix, and the debiased
    cross terms come from one (N, n) x (n, N) product each, so the result equals
    ``linear_cka``/``debiased_cka`` pair by pair (to rounding) at a fraction of the cost.
    """
    g = _gram_of(acts)
    starts = g.offsets[:-1]
    cross = np.add.reduceat(np.add.reduceat(g.gram * g.gram, starts, axis=0), starts, axis=1)
    cross = _symmetric(cross)  # summation order differs by a rounding; keep it symmetric
    with np.errstate(divide="ignore", invalid="ignore"):
        self_norm = np.sqrt(np.diag(cross))
        linear = cross / np.outer(self_norm, self_norm)
        if g.n >= 4:
            hsic = _hsic1(
                cross - g.row_sq_cross, g.k_sum[:, None], g.k_sum[None, :], g.k1_cross, g.n
            )
            self_hsic = np.diag(hsic)
            debiased = hsic / np.sqrt(np.outer(self_hsic, self_hsic))
        else:
            debiased = np.full_like(linear, np.nan)
    return linear, debiased


def correlation_blocks(acts: Sequence[np.ndarray] | ActivationGram) -> np.ndarray:
    """Pearson correlations between all units of all networks: (D, D), D = sum d_i.

    Block (i, j), i.e. ``C[o[i]:o[i+1], o[j]:o[j+1]]`` with ``o = gram.offsets`` (or
    ``gram.block(C, i, j)``), is ``cross_correlation(acts[i], acts[j])``: row k, column l
    is the correlation of unit k of network i with unit l of network j over the inputs,
    ready for matching units (e.g. ``scipy.optimize.linear_sum_assignment(-C_ij)``). A
    unit without variance correlates 0 with every unit, itself included. Pass an
    ``activation_gram`` to share its Gram matrix with ``cka_matrices``.
    """
    g = _gram_of(acts)
    norms = np.sqrt(np.diag(g.gram))
    return _normalise_gram(g.gram, norms, norms)


def matched_correlation_stats(corr: np.ndarray) -> dict[str, float]:
    """Summary of the correlations of matched unit pairs (a 1-D array).

    ``matched_corr_mean``, ``matched_corr_median`` and ``matched_corr_share_above_0_9``
    (strictly above): how many hidden units of one network have a near-copy in the
    other. NaN for an empty array; NaN correlations are an error (they would silently
    count as "not above 0.9").
    """
    corr = np.asarray(corr, dtype=np.float64).ravel()
    if np.isnan(corr).any():
        raise ValueError("matched correlations contain NaN")
    if corr.size == 0:
        nan = float("nan")
        return {
            "matched_corr_mean": nan,
            "matched_corr_median": nan,
            "matched_corr_share_above_0_9": nan,
        }
    return {
        "matched_corr_mean": float(np.mean(corr)),
        "matched_corr_median": float(np.median(corr)),
        "matched_corr_share_above_0_9": float(np.mean(corr > 0.9)),
    }


# --------------------------------------------------------------------------- function


def _as_outputs(out: np.ndarray, name: str) -> np.ndarray:
    out = np.asarray(out, dtype=np.float64)
    if out.ndim != 2:
        raise ValueError(f"{name} must be (n, n_classes) output activations, got {out.shape}")
    if (out < 0).any():
        raise ValueError(f"{name} has negative outputs; expected sigmoid activations")
    return out


def output_distribution(out: np.ndarray) -> np.ndarray:
    """``network.normalise_outputs`` of checked outputs (n, K): an error, not a wrong
    distribution, when they are negative or not 2-D."""
    return normalise_outputs(_as_outputs(out, "out"))


def _shared(count_both: float, count_a: float) -> float:
    return count_both / count_a if count_a > 0 else float("nan")


def function_metrics(out_a: np.ndarray, out_b: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """How alike two networks behave on the same images, beyond their accuracies.

    ``out_a``, ``out_b``: (n, K) output activations (non-negative); ``labels``: (n,).
    Returns ``agreement`` (share of images with the same argmax prediction),
    ``a_errors_shared`` (share of A's errors that B also gets wrong; NaN if A makes
    none), ``b_errors_shared`` (vice versa) and ``tv_distance`` (mean over images of
    0.5 * sum |p_a - p_b|, p = ``output_distribution``).
    """
    out_a, out_b = _as_outputs(out_a, "out_a"), _as_outputs(out_b, "out_b")
    labels = np.asarray(labels)
    if out_a.shape != out_b.shape or labels.shape != out_a.shape[:1]:
        raise ValueError(
            f"shapes differ: out_a {out_a.shape}, out_b {out_b.shape}, labels {labels.shape}"
        )
    if labels.shape[0] == 0:
        raise ValueError("need at least one image")
    pred_a, pred_b = out_a.argmax(axis=1), out_b.argmax(axis=1)
    wrong_a, wrong_b = pred_a != labels, pred_b != labels
    both = float(np.sum(wrong_a & wrong_b))
    p_a, p_b = output_distribution(out_a), output_distribution(out_b)
    return {
        "agreement": float(np.mean(pred_a == pred_b)),
        "a_errors_shared": _shared(both, float(wrong_a.sum())),
        "b_errors_shared": _shared(both, float(wrong_b.sum())),
        "tv_distance": float(0.5 * np.abs(p_a - p_b).sum(axis=1).mean()),
    }


def function_matrices(outputs: Sequence[np.ndarray], labels: np.ndarray) -> dict[str, np.ndarray]:
    """``function_metrics`` for every pair of N networks at once: N x N arrays.

    ``M[key][i, j]`` is ``function_metrics(outputs[i], outputs[j], labels)[key]``, so
    ``a_errors_shared[i, j]`` is the share of network i's errors that j also makes and
    ``b_errors_shared`` is its transpose. Agreement comes from prediction comparisons,
    shared errors from one product of the (N, n) error indicators, TV distances from one
    L1 ``cdist`` over the flattened distributions (about 0.2 s for 64 x (10000, 10)).
    """
    if len(outputs) == 0:
        raise ValueError("need the outputs of at least one network")
    outs = [_as_outputs(o, f"outputs[{i}]") for i, o in enumerate(outputs)]
    labels = np.asarray(labels)
    for i, o in enumerate(outs):
        if o.shape != outs[0].shape or labels.shape != o.shape[:1]:
            raise ValueError(
                f"outputs[{i}] has shape {o.shape}, outputs[0] {outs[0].shape}, "
                f"labels {labels.shape}"
            )
    if labels.shape[0] == 0:
        raise ValueError("need at least one image")
    predictions = np.stack([o.argmax(axis=1) for o in outs])  # (N, n)
    distributions = np.stack([output_distribution(o).ravel() for o in outs])  # (N, n*K)
    matrices = cross_function_matrices(
        predictions, distributions, predictions, distributions, labels
    )
    return {key: matrices[key] for key in FUNCTION_METRICS}


def cross_function_matrices(
    predictions_a: np.ndarray,
    distributions_a: np.ndarray,
    predictions_b: np.ndarray,
    distributions_b: np.ndarray,
    labels: np.ndarray,
) -> dict[str, np.ndarray]:
    """``function_matrices`` between two sets of networks: ``M[key][i, j]`` for A's network
    i and B's network j, from their predictions (N, n) and their ``output_distribution``s
    flattened (N, n K); plus ``errors_both``, the count of images both get wrong."""
    n = labels.shape[0]
    agreement = np.empty((len(predictions_a), len(predictions_b)))
    for i, own in enumerate(predictions_a):
        agreement[i] = np.mean(own == predictions_b, axis=1)
    wrong_a = (predictions_a != labels).astype(np.float64)
    wrong_b = (predictions_b != labels).astype(np.float64)
    both = wrong_a @ wrong_b.T  # exact counts
    n_wrong_a, n_wrong_b = wrong_a.sum(axis=1), wrong_b.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shared_a = np.where(n_wrong_a[:, None] > 0, both / n_wrong_a[:, None], np.nan)
        shared_b = np.where(n_wrong_b[None, :] > 0, both / n_wrong_b[None, :], np.nan)
    # the same sum per pair as pdist: a network's TV distance to itself is exactly 0
    tv = cdist(distributions_a, distributions_b, "cityblock") * (0.5 / n)
    return {
        "agreement": agreement,
        "a_errors_shared": shared_a,
        "b_errors_shared": shared_b,
        "tv_distance": tv,
        "errors_both": both,
    }
