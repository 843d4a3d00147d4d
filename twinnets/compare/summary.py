"""Every number the answer quotes, per pair kind, beside its null, with a bootstrap interval.

**Per pair kind, never across.** Pairs that share their init, pairs that share their
data order and pairs whose seeds both differ answer different questions; a mean over
all of them describes none. Every statistic here is taken within one kind.

**Shares are ratios of sums.** A share such as "symmetry explains X% of the squared
distance" is ``sum over the kind's pairs of the part / sum of the whole``, never a
mean of per-pair ratios, which near-identical pairs (tiny denominators) dominate.

**Intervals come from resampling seeds, not pairs.** Pairs share networks (each of 9
networks is in 8 of the 36 pairs), so they are not independent draws. A bootstrap
replicate draws the init seeds and, independently, the order seeds with replacement
(one draw over networks when the grid is not crossed). A pair is weighted by the
product, over the two factors, of its seeds' multiplicities, c(u1) c(u2) for two
different seeds and c(u) for a shared one, so a pair whose seeds were drawn k times
counts as the k pairs it stands for; pairs of a seed with its own copy, which do not
exist, are never formed. Replicates in which a kind has no pair left (e.g. one init
seed drawn every time, for pairs whose inits differ) are dropped and counted.

**Forked children are a third factor.** A group of children forked at one epoch
(``TrainConfig.fork_epoch``) resamples their fork seeds too, independently of the
parents' seeds: siblings (one parent, two fork seeds) are weighted c(u) for their
shared parent seeds times c(f1) c(f2) for their fork seeds. Its rows carry the group's
``fork_epoch`` (a column only runs with children have) and are never pooled with the
parents' group.

**The interval is widened for few seeds.** With n seeds the bootstrap's spread
underestimates the sampling spread by about sqrt((n - 1) / n), and the normal
quantile is too small: with 3 seeds per factor the plain 2.5-97.5 percentile interval
covered a known mean in only 57-77% of synthetic groups. So the interval is
``value +- t(n - 1) sqrt(n / (n - 1)) sd_boot``, with Student's t quantile and n the
fewest seeds of a factor that varies; on the same synthetic groups it covered the
mean in 93-99% of cases (``tests/test_summary.py`` checks the rate).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from twinnets._io import write_frame

N_BOOT = 2000
LEVEL = 0.95
#: The fewest seeds per varying factor for which an interval is given.
MIN_UNITS = 3
GROUP_KEYS = ["model", "family", "sizes", "eta", "epochs", "init", "lmbda"]
#: A group key of runs with forked children (empty for the parents' groups).
FORK_KEY = "fork_epoch"
NETWORKS_KIND = "networks"


INF = float("inf")
#: The ranges an interval is clipped to: a rate or share, a non-negative size.
UNIT = (0.0, 1.0)
POSITIVE = (0.0, INF)


@dataclass(frozen=True)
class Statistic:
    """How one quoted number is computed from a kind's rows.

    ``terms`` are ``(column, power)``. ``mean``: the mean of the first term; ``rms``:
    the root of the mean of its square (so that quoted norms add up as their squares
    do); ``share``: the sum of the first term over the sum of the second;
    ``complement``: 1 - that share. ``null``: the same statistic on the ``null_``
    columns exists. ``baseline``: the same statistic on other columns (e.g. what
    independent errors would give). ``bounds``: the values the statistic can take,
    to which its interval is clipped.
    """

    name: str
    kind: str
    terms: tuple[tuple[str, int], ...]
    null: bool = True
    table: str = "pairs"
    barrier: bool = False
    baseline: tuple[tuple[str, int], ...] | None = None
    bounds: tuple[float, float] = (-INF, INF)

    def columns(self, prefix: str = "") -> list[str]:
        return [prefix + column for column, _ in self.terms]

    def available(self, frame: pd.DataFrame) -> bool:
        needed = self.columns() + (self.columns("null_") if self.null else [])
        needed += [column for column, _ in self.baseline or ()]
        return all(c in frame for c in needed)

    def parts(self, frame: pd.DataFrame, prefix: str = "") -> tuple[np.ndarray, np.ndarray]:
        """(numerator, denominator) per row: the weighted sums of these give the statistic."""
        values = [
            frame[prefix + column].to_numpy(np.float64) ** power for column, power in self.terms
        ]
        if self.kind == "mean":
            return values[0], np.ones(len(frame))
        if self.kind == "rms":
            return values[0] ** 2, np.ones(len(frame))
        return values[0], values[1]

    def finish(self, ratio: np.ndarray) -> np.ndarray:
        if self.kind == "rms":
            return np.sqrt(ratio)
        return 1.0 - ratio if self.kind == "complement" else ratio

    def baseline_statistic(self) -> Statistic | None:
        if self.baseline is None:
            return None
        return Statistic(f"{self.name}_baseline", self.kind, self.baseline, null=False)


def _mean(name: str, column: str | None = None, **kw) -> Statistic:
    return Statistic(name, "mean", ((column or name, 1),), **kw)


def _rms(name: str, column: str, **kw) -> Statistic:
    return Statistic(name, "rms", ((column, 1),), bounds=POSITIVE, **kw)


STATISTICS: tuple[Statistic, ...] = (
    _mean("relative_all", bounds=POSITIVE),
    _mean("cosine_all", bounds=(-1.0, 1.0)),
    _mean("relative_signed", bounds=POSITIVE),
    _mean("relative_permutation", bounds=POSITIVE),
    _mean("relative_activation", bounds=POSITIVE),
    Statistic("symmetry_share", "complement", (("distance_signed", 2), ("distance_all", 2)),
              bounds=(-INF, 1.0)),
    _mean("flips_signed", bounds=POSITIVE),
    Statistic("dead_share", "share", (("distance_weight1_dead", 2), ("distance_all", 2)),
              bounds=UNIT),
    Statistic("gauge_share", "share", (("gauge_sq", 1), ("distance_all", 2)), bounds=UNIT),
    Statistic("unseen_share_raw", "share",
              (("unseen_sq_weight1_raw", 1), ("distance_weight1", 2)), bounds=UNIT),
    Statistic("unseen_share", "share",
              (("unseen_sq_weight1_signed", 1), ("distance_weight1_signed", 2)), bounds=UNIT),
    _mean("preactivation_relative_raw", bounds=POSITIVE),
    _mean("preactivation_relative_signed", bounds=POSITIVE),
    # the decomposition, quoted as root-mean-square norms and a mean cross term, so that
    # rms(d)^2 = rms(d_init)^2 + rms(d_train)^2 + 2 mean(cross) holds exactly
    _rms("init_part", "init_part_signed", null=False),
    _rms("training_part", "training_part_signed", null=False),
    _mean("cross_term", "cross_term_signed", null=False),
    _rms("distance_signed", "distance_signed"),
    Statistic("training_share", "complement", (("init_part_signed", 2), ("distance_signed", 2)),
              null=False, bounds=(-INF, 1.0)),
    _rms("init_part_raw", "init_part_raw", null=False),
    _rms("training_part_raw", "training_part_raw", null=False),
    _mean("cross_term_raw", null=False),
    _rms("distance_all", "distance_all"),
    Statistic("training_share_raw", "complement", (("init_part_raw", 2), ("distance_all", 2)),
              null=False, bounds=(-INF, 1.0)),
    _mean("cka_linear", bounds=UNIT),
    _mean("cka_debiased", bounds=(-1.0, 1.0)),
    _mean("matched_corr_mean", bounds=(-1.0, 1.0)),
    _mean("matched_corr_share_above_0_9", bounds=UNIT),
    _mean("agreement", baseline=(("independent_agreement", 1),), bounds=UNIT),
    # errors both networks make, over the mean of their error counts: symmetric in A and B
    Statistic("errors_shared", "share", (("errors_both", 1), ("errors_mean", 1)),
              baseline=(("independent_errors_both", 1), ("errors_mean", 1)), bounds=UNIT),
    _mean("tv_distance", bounds=UNIT),
    *(
        _mean(f"{prefix}_{curve}_{name}", barrier=True, bounds=POSITIVE)
        for prefix in ("barrier", "endpoint")
        for curve in ("test_error", "train_cost")
        for name in ("raw", "aligned")
    ),
    _mean("test_accuracy", table="networks", bounds=UNIT),
    _mean("relative_from_init", table="networks", null=False, bounds=POSITIVE),
    _mean("cosine_to_init", table="networks", null=False, bounds=(-1.0, 1.0)),
    _mean("relative_to_minimiser", table="networks", null=False, bounds=POSITIVE),
    _mean("minimiser_bound", table="networks", null=False, bounds=POSITIVE),
)  # fmt: skip
BY_NAME = {s.name: s for s in STATISTICS}


# --------------------------------------------------------------------------- resampling


@dataclass(frozen=True)
class Design:
    """The resampling units of a group: init and order seeds (crossed), or networks; and
    for forked children their fork seeds."""

    crossed: bool
    init_seeds: tuple[int, ...]
    order_seeds: tuple[int, ...]
    networks: tuple[tuple[int, int], ...]
    fork_seeds: tuple[int, ...] = ()

    @classmethod
    def of(cls, networks: Sequence[tuple[int, int]], fork_seeds: Sequence[int] = ()) -> Design:
        """Crossed (init and order seeds resampled apart) unless the grid is paired.

        A paired grid, where each init seed goes with exactly one order seed and vice
        versa, resamples its networks. A crossed grid with a network missing stays
        crossed: the missing network simply forms no pairs. ``networks`` are the
        (parents') seeds of the group's networks; ``fork_seeds`` the children's, if any.
        """
        nets = tuple(sorted(set(networks)))
        inits = tuple(sorted({i for i, _ in nets}))
        orders = tuple(sorted({o for _, o in nets}))
        paired = len(nets) == len(inits) == len(orders) and len(nets) > 1
        return cls(not paired, inits, orders, nets, tuple(sorted(set(fork_seeds))))

    def factors(self) -> list[tuple]:
        """The units of each factor resampled independently."""
        seeds = [self.init_seeds, self.order_seeds] if self.crossed else [self.networks]
        return seeds + ([self.fork_seeds] if self.fork_seeds else [])

    def counts(self, n_boot: int, rng: np.random.Generator) -> list[tuple[dict, np.ndarray]]:
        """Per factor: (unit -> column, multiplicities (n_boot, n_units)), row 0 all ones."""
        factors = self.factors()
        out = []
        for units in factors:
            n = len(units)
            draws = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
            out.append(({u: k for k, u in enumerate(units)}, np.vstack([np.ones(n), draws])))
        return out

    @property
    def n_units(self) -> int:
        """The fewest units of a factor that varies: the degrees of freedom + 1 of the interval."""
        varying = [n for n in map(len, self.factors()) if n > 1]
        return min(varying) if varying else 1

    def unit_keys(
        self, init: np.ndarray, order: np.ndarray, fork: np.ndarray | None = None
    ) -> list[list]:
        """Each row's unit in each factor."""
        keys = [list(init), list(order)] if self.crossed else [list(zip(init, order, strict=True))]
        if self.fork_seeds:
            if fork is None:
                raise ValueError("a design with fork seeds needs each row's fork seed")
            keys.append(list(fork))
        return keys

    def frame_keys(self, frame: pd.DataFrame, prefix: str = "") -> list[list]:
        """``unit_keys`` of a table's rows, from its ``{prefix}init_seed``, ... columns."""
        fork = frame[f"{prefix}fork_seed"].to_numpy() if self.fork_seeds else None
        return self.unit_keys(
            frame[f"{prefix}init_seed"].to_numpy(), frame[f"{prefix}order_seed"].to_numpy(), fork
        )


def pair_weights(
    design: Design, counts: list[tuple[dict, np.ndarray]], pairs: pd.DataFrame
) -> np.ndarray:
    """(1 + n_boot, n_pairs): c(u1) c(u2) per factor for distinct units, c(u) for a shared one."""
    a = design.frame_keys(pairs, "a_")
    b = design.frame_keys(pairs, "b_")
    weights = np.ones((counts[0][1].shape[0], len(pairs)))
    for (index, c), ua, ub in zip(counts, a, b, strict=True):
        ia = np.array([index[u] for u in ua], dtype=int)
        ib = np.array([index[u] for u in ub], dtype=int)
        weights *= np.where(ia == ib, c[:, ia], c[:, ia] * c[:, ib])
    return weights


def network_weights(
    design: Design, counts: list[tuple[dict, np.ndarray]], networks: pd.DataFrame
) -> np.ndarray:
    """(1 + n_boot, n_networks): the product of each network's units' multiplicities."""
    keys = design.frame_keys(networks)
    weights = np.ones((counts[0][1].shape[0], len(networks)))
    for (index, c), units in zip(counts, keys, strict=True):
        weights *= c[:, np.array([index[u] for u in units], dtype=int)]
    return weights


def weighted(weights: np.ndarray, numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """sum w num / sum w den per replicate; NaN where a replicate keeps no row."""
    keep = np.isfinite(numerator) & np.isfinite(denominator)
    w = weights[:, keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ numerator[keep]) / (w @ denominator[keep])


def interval(
    replicates: np.ndarray,
    n_units: int,
    bounds: tuple[float, float] = (-INF, INF),
    level: float = LEVEL,
) -> tuple[float, float, int]:
    """``value +- t(n - 1) sqrt(n / (n - 1)) sd`` of the replicates (row 0: the sample),
    clipped to the values the statistic can take.

    NaN when fewer than two replicates are usable or fewer than MIN_UNITS seeds vary: with
    two init and two order seeds, every replicate that keeps a pair whose seeds both
    differ is the sample itself, so the spread would be a meaningless 0.
    """
    reps = replicates[1:]
    reps = reps[np.isfinite(reps)]
    if len(reps) < 2 or n_units < MIN_UNITS or not np.isfinite(replicates[0]):
        return float("nan"), float("nan"), len(reps)
    half = stats.t.ppf(0.5 + level / 2, n_units - 1) * np.sqrt(n_units / (n_units - 1))
    half *= float(np.std(reps, ddof=1))
    low, high = np.clip([replicates[0] - half, replicates[0] + half], *bounds)
    return float(low), float(high), len(reps)


# --------------------------------------------------------------------------- summary


def _rows_for(
    stat: Statistic, frame: pd.DataFrame, weights: np.ndarray, n_units: int
) -> dict[str, object]:
    """The statistic, its null and baseline, each with an interval, and the paired
    differences value - null and value - baseline (same replicates, so the seeds'
    shared variation cancels: these decide whether a value differs from its null)."""
    rows = frame
    if stat.barrier:
        keep = frame.barrier_computed.to_numpy(bool)
        rows, weights = frame[keep], weights[:, keep]
    variants: dict[str, tuple[Statistic, str]] = {"value": (stat, "")}
    if stat.null:
        variants["null"] = (stat, "null_")
    baseline = stat.baseline_statistic()
    if baseline is not None:
        variants["baseline"] = (baseline, "")
    parts = {label: s.parts(rows, prefix) for label, (s, prefix) in variants.items()}
    finite = np.ones(len(rows), bool)  # the same pairs for the value and its null
    for numerator, denominator in parts.values():
        finite &= np.isfinite(numerator) & np.isfinite(denominator)
    out: dict[str, object] = {"statistic": stat.name, "n": int(finite.sum())}
    if not finite.any():
        return out
    reps = {}
    for label, (s, _) in variants.items():
        numerator, denominator = parts[label]
        reps[label] = s.finish(weighted(weights[:, finite], numerator[finite], denominator[finite]))
        low, high, n_valid = interval(reps[label], n_units, stat.bounds)
        out.update({label: float(reps[label][0]), f"{label}_low": low, f"{label}_high": high})
        if label == "value":
            out["n_boot"] = n_valid
    for label, other in (("diff", "null"), ("diff_baseline", "baseline")):
        if other in reps:
            low, high, _ = interval(reps["value"] - reps[other], n_units)
            out.update(
                {label: out["value"] - out[other], f"{label}_low": low, f"{label}_high": high}
            )
    return out


def summarise(
    pairs: pd.DataFrame, networks: pd.DataFrame, n_boot: int = N_BOOT, seed: int = 0
) -> pd.DataFrame:
    """One row per (group, pair kind, statistic): value, null, baseline, 95% intervals.

    Network statistics (accuracy, distance moved from init) are in rows whose
    ``pair_kind`` is "networks". Deterministic: each group's replicates are drawn from
    ``default_rng(seed)``, shared by all its statistics and kinds. Tables with forked
    children group by ``fork_epoch`` too (empty for the parents).
    """
    keys = GROUP_KEYS + ([FORK_KEY] if FORK_KEY in networks else [])
    rows = []
    for key, nets in networks.groupby(keys, sort=True, dropna=False):
        forked = "fork_seed" in nets and nets["fork_seed"].notna().any()
        design = Design.of(
            list(zip(nets.init_seed, nets.order_seed, strict=True)),
            nets["fork_seed"].tolist() if forked else (),
        )
        counts = design.counts(n_boot, np.random.default_rng(seed))
        head = dict(zip(keys, key, strict=True))
        seeds = {"n_init_seeds": len(design.init_seeds), "n_order_seeds": len(design.order_seeds)}
        if forked:
            seeds["n_fork_seeds"] = len(design.fork_seeds)
        w_nets = network_weights(design, counts, nets)
        for stat in STATISTICS:
            if stat.table == "networks" and stat.available(nets):
                rows.append(
                    {
                        **head,
                        "pair_kind": NETWORKS_KIND,
                        **seeds,
                        **_rows_for(stat, nets, w_nets, design.n_units),
                    }
                )
        mask = np.ones(len(pairs), bool)
        for column, value in head.items():  # a missing value (no fork) matches missing ones
            same = pairs[column].isna() if pd.isna(value) else pairs[column] == value
            mask &= same.to_numpy()
        for kind, group in pairs[mask].groupby("pair_kind", sort=True):
            w_pairs = pair_weights(design, counts, group)
            for stat in STATISTICS:
                if stat.table == "pairs" and stat.available(group):
                    rows.append(
                        {
                            **head,
                            "pair_kind": kind,
                            **seeds,
                            **_rows_for(stat, group, w_pairs, design.n_units),
                        }
                    )
    return pd.DataFrame(rows)


def gather_tables(
    pair_paths: Sequence[str | os.PathLike],
    network_paths: Sequence[str | os.PathLike],
    curve_paths: Sequence[str | os.PathLike],
    out: object,
) -> None:
    """Concatenate the groups' tables; write pairs, networks, curves and the summary.

    ``out`` has attributes ``pairs``, ``networks``, ``curves`` (Parquet), ``pairs_csv``
    and ``summary`` (CSV), as a Snakemake output object does.
    """
    pairs = pd.concat([pd.read_parquet(p) for p in pair_paths], ignore_index=True)
    networks = pd.concat([pd.read_parquet(p) for p in network_paths], ignore_index=True)
    curves = pd.concat([pd.read_parquet(p) for p in curve_paths], ignore_index=True)
    write_frame(pairs, out.pairs)
    write_frame(pairs, out.pairs_csv)
    write_frame(networks, out.networks)
    write_frame(curves, out.curves)
    write_frame(summarise(pairs, networks), out.summary)
