"""The question and its answer in plain words, every number taken from a run's tables.

Every number is quoted as ``value [low, high]`` (a 95% bootstrap interval over seeds,
``twinnets.compare.summary``), per pair kind, beside its null: the same statistic for the
pairs' own untrained initialisations. Every sentence that draws a conclusion is
chosen by an interval, never assumed: whether a value differs from its null is read
from the interval of their paired difference (the same bootstrap replicates), and the
rules for "one basin" and "provably near the minimiser" are stated in the text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from twinnets import __version__
from twinnets.compare.barriers import N_ALPHA
from twinnets.compare.summary import MIN_UNITS, N_BOOT
from twinnets.compare.symmetry import COORDINATE_WORDS, symmetry
from twinnets.report.selection import (
    FORK_COLUMN,
    KIND_PAIRS,
    KIND_WORDS,
    headline_group,
    headline_kind,
    init_contrast,
    only_forks,
    without_forks,
)

#: Shown in place of an interval where the seeds are too few (summary.MIN_UNITS).
NO_INTERVAL = "no interval"
#: "One basin" when the aligned barrier's whole interval lies below this share of the
#: endpoints' mean test error (and at least BASIN_FLOOR); "not one basin" when it lies above.
BASIN_RELATIVE = 0.10
BASIN_FLOOR = 1e-4
#: "Provably near the minimiser" when every network's certified bound is below this.
MINIMISER_TOLERANCE = 0.05
GAUGE_FAMILIES = ("softmax",)
INIT_WORDS = {
    "nielsen": "Nielsen's init, weights N(0, 1)",
    "scaled": "scaled init, weights N(0, 1/n_in)",
}


def _nan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _f(x: float, digits: int = 3) -> str:
    return "n/a" if _nan(x) else f"{x:.{digits}f}"


def _pct(x: float, digits: int = 1) -> str:
    return "n/a" if _nan(x) else f"{100 * x:.{digits}f}%"


def _pts(x: float, digits: int = 1) -> str:
    """A difference of two error rates, in percentage points."""
    return "n/a" if _nan(x) else f"{100 * x:.{digits}f}"


def _md_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


@dataclass(frozen=True)
class Quote:
    """One statistic of one group and kind: value, null, baseline and their intervals."""

    row: pd.Series | None

    def __bool__(self) -> bool:
        return self.row is not None and not _nan(self.row.get("value"))

    def get(self, key: str) -> float:
        return float("nan") if self.row is None else float(self.row.get(key, float("nan")))

    @property
    def value(self) -> float:
        return self.get("value")

    @property
    def null(self) -> float:
        return self.get("null")

    def _fmt(self, prefix: str, style: str, digits: int | None) -> str:
        fmt = {"f": _f, "pct": _pct, "pts": _pts}[style]
        digits = {"f": 3, "pct": 1, "pts": 1}[style] if digits is None else digits
        v, lo, hi = (self.get(prefix + s) for s in ("", "_low", "_high"))
        if _nan(v):
            return "n/a"
        if _nan(lo):
            return f"{fmt(v, digits)} [{NO_INTERVAL}]"
        return f"{fmt(v, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"

    def ci(self, style: str = "f", digits: int | None = None) -> str:
        return self._fmt("value", style, digits)

    def null_ci(self, style: str = "f", digits: int | None = None) -> str:
        return self._fmt("null", style, digits)

    def baseline_ci(self, style: str = "f", digits: int | None = None) -> str:
        return self._fmt("baseline", style, digits)

    def diff_ci(self, style: str = "f", digits: int | None = None) -> str:
        return self._fmt("diff", style, digits)

    @property
    def has_interval(self) -> bool:
        return not _nan(self.get("value_low"))

    def sign_of(self, prefix: str) -> str:
        """'above' (interval above 0), 'below', 'within' (contains 0) or 'unknown'."""
        low, high = self.get(f"{prefix}_low"), self.get(f"{prefix}_high")
        if _nan(low):
            return "unknown"
        return "above" if low > 0 else "below" if high < 0 else "within"

    def compared_to_null(self) -> str:
        """Where the value lies against its null, by the paired difference's interval."""
        return self.sign_of("diff")

    def compared_to_baseline(self) -> str:
        return self.sign_of("diff_baseline")


class Summary:
    """Look-ups into the summary table (``twinnets.compare.summary.summarise``)."""

    def __init__(self, summary: pd.DataFrame) -> None:
        self.frame = summary

    def quote(self, group: dict, kind: str, statistic: str) -> Quote:
        mask = (self.frame.pair_kind == kind) & (self.frame.statistic == statistic)
        for column, value in group.items():
            mask &= self.frame[column] == value
        rows = self.frame[mask]
        return Quote(rows.iloc[0] if len(rows) else None)

    def groups(self, model: str) -> pd.DataFrame:
        keys = ["model", "sizes", "eta", "epochs"]
        return self.frame[self.frame.model == model][keys].drop_duplicates().sort_values(keys)


def _group(model: str, sizes: str, eta: float, epochs: int) -> dict:
    return {"model": model, "sizes": sizes, "eta": eta, "epochs": epochs}


def _seeds_phrase(summary: Summary, group: dict, kind: str) -> str:
    q = summary.quote(group, kind, "relative_all")
    if not q:
        return ""
    inits, orders = int(q.get("n_init_seeds")), int(q.get("n_order_seeds"))
    return (
        f"{int(q.get('n'))} pairs of this kind from {inits} init seeds x {orders} order seeds; "
        f"{int(q.get('n_boot'))} of {N_BOOT} bootstrap replicates kept"
    )


# --------------------------------------------------------------------------- sections


def _far_apart(s: Summary, group: dict, kind: str, nets: pd.DataFrame) -> list[str]:
    rel = s.quote(group, kind, "relative_all")
    cos = s.quote(group, kind, "cosine_all")
    acc = s.quote(group, "networks", "test_accuracy")
    verdict = {
        "within": "not distinguishable from their own random initialisations (the interval of "
        f"the difference, {rel.diff_ci()}, contains 0): by their parameters alone, nothing shows "
        "that they were trained on the same data",
        "below": f"closer than their own random initialisations were (difference {rel.diff_ci()})",
        "above": f"farther apart than their own random initialisations were (difference "
        f"{rel.diff_ci()})",
        "unknown": "compared with their own random initialisations without an interval (too "
        "few seeds to tell them apart)",
    }[rel.compared_to_null()]
    return [
        "## How far apart are they?",
        "",
        f"Relative distance ||A - B|| / sqrt(||A|| ||B||) over all parameters: "
        f"**{rel.ci()}** (untrained: {rel.null_ci()}; two independent random vectors of equal "
        f"norm give sqrt(2) = 1.414); cosine similarity {cos.ci()} (untrained {cos.null_ci()}). "
        f"The trained networks are {verdict}. Yet each reaches "
        f"{_pct(nets.test_accuracy.min(), 2)} to {_pct(nets.test_accuracy.max(), 2)} test accuracy "
        f"(mean {acc.ci('pct', 2)}; untrained {acc.null_ci('pct', 2)}).",
    ]


def _symmetry(
    s: Summary, group: dict, kind: str, hidden: list[str], activation: str = "sigmoid"
) -> list[str]:
    if not hidden:
        return []
    sym = symmetry(activation)
    signed = s.quote(group, kind, "relative_signed")
    share = s.quote(group, kind, "symmetry_share")
    flips = s.quote(group, kind, "flips_signed")
    verdict = {
        "above": f"more than it removes from their untrained initialisations "
        f"({share.null_ci('pct')}; difference {share.diff_ci('pts')} points): alignment finds "
        "structure that training put there, beyond what it finds between random networks",
        "within": f"not distinguishable from what it removes from their untrained "
        f"initialisations ({share.null_ci('pct')}; difference {share.diff_ci('pts')} points): "
        "alignment finds no more shared structure than it finds between random networks",
        "below": f"less than it removes from their untrained initialisations "
        f"({share.null_ci('pct')}; difference {share.diff_ci('pts')} points)",
        "unknown": f"against {share.null_ci('pct')} for their untrained initialisations (too "
        "few seeds to compare the two)",
    }[share.compared_to_null()]
    flipped = (
        f" {flips.ci(digits=1)} of the {'+'.join(hidden)} hidden units are matched with a sign "
        f"flip (untrained {flips.null_ci(digits=1)})."
        if sym.sign_flips
        else ""
    )
    return [
        "",
        "## How much of it is symmetry?",
        "",
        f"A hidden unit can be renumbered, and {sym.move} ({sym.identity}), without "
        f"changing the function. Factoring out the best permutation and {sym.moves} "
        f"({COORDINATE_WORDS[sym.coordinates]}) brings the relative distance to **{signed.ci()}** "
        f"(the untrained pairs, aligned the same way: {signed.null_ci()}); permutations alone "
        f"{s.quote(group, kind, 'relative_permutation').ci()}; matching units by their activations "
        f"{s.quote(group, kind, 'relative_activation').ci()}. Alignment removes "
        f"**{share.ci('pct')}** of the squared distance, {verdict}.{flipped}",
    ]


def _data_sees(s: Summary, group: dict, kind: str, nets: pd.DataFrame, lmbda: float) -> list[str]:
    dead = s.quote(group, kind, "dead_share")
    unseen = s.quote(group, kind, "unseen_share")
    pre = s.quote(group, kind, "preactivation_relative_signed")
    pre_raw = s.quote(group, kind, "preactivation_relative_raw")
    weight1 = s.quote(group, kind, "relative_signed")
    never = (
        "those stay at their random initial values, bit for bit"
        if lmbda == 0
        else "L2 decay only shrinks them towards 0, with no data in it"
    )
    lines = [
        "",
        "## What can the data see?",
        "",
        f"{int(nets.dead_pixels.max())} of 784 input pixels are zero in every training image, so "
        f"no gradient from the data ever reaches their weights: {never}. They hold "
        f"**{dead.ci('pct')}** of the squared raw distance (untrained {dead.null_ci('pct')}).",
    ]
    if unseen:
        threshold = float(nets.get("unseen_variance", pd.Series([float("nan")])).max())
        n_unseen = int(nets.unseen_directions.max())
        lines[-1] += (
            f" They are the extreme case of input directions the images barely probe: the "
            f"{n_unseen} eigen-directions of the training images' pixel covariance with variance "
            f"below {threshold:g} (the dead pixels among them) hold **{unseen.ci('pct')}** of the "
            f"aligned first-layer squared difference (untrained {unseen.null_ci('pct')}; a "
            f"difference spread evenly over all 784 directions would put {_pct(n_unseen / 784)} "
            f"there). Through the data, the aligned first layers' pre-activations on the "
            f"validation images are at relative distance **{pre.ci()}** (raw {pre_raw.ci()}; "
            f"untrained, aligned {pre.null_ci()}), against {weight1.ci()} for all parameters."
        )
    return lines


def _decomposition_sentence(s: Summary, group: dict, kind: str, label: str) -> str:
    init = s.quote(group, kind, "init_part")
    train = s.quote(group, kind, "training_part")
    cross = s.quote(group, kind, "cross_term")
    total = s.quote(group, kind, "distance_signed")
    share = s.quote(group, kind, "training_share")
    moved = s.quote(group, "networks", "relative_from_init")
    if not init:
        return ""
    parts = {
        "below": "the parts partly cancel",
        "above": "the parts reinforce each other",
        "within": "the cross term is not distinguishable from 0",
        "unknown": "too few seeds to tell the cross term's sign",
    }[cross.sign_of("value")]
    if not share.has_interval:
        net = "too few seeds to say whether it differs from zero"
    elif share.get("value_low") > 0:
        net = "training added to the difference the inits left"
    elif share.get("value_high") < 0:
        net = "on net, training brought the pair closer than their inits were"
    else:
        net = (
            "not distinguishable from zero: on net, training neither added to nor removed "
            "from the inits' difference"
        )
    return (
        f"**{label}**: each network moves {moved.ci()} of its initial norm. The aligned "
        f"difference d is the inits' difference d_init plus what training added, d_train. "
        f"Root-mean-square over the pairs: ||d|| = {total.ci(digits=1)}, ||d_init|| = "
        f"**{init.ci(digits=1)}**, ||d_train|| = **{train.ci(digits=1)}**, and the mean cross "
        f"term <d_init, d_train> = {cross.ci(digits=1)} ({parts}); these add up as "
        "||d||^2 = ||d_init||^2 + ||d_train||^2 + 2 <d_init, d_train>. Training's net share of "
        f"||d||^2, 1 - ||d_init||^2 / ||d||^2, is **{share.ci('pct')}**: {net}."
    )


def _inherited(s: Summary, group: dict, kind: str, contrast: dict | None, init: str) -> list[str]:
    lines = [
        "",
        "## How much is inherited from the init?",
        "",
        _decomposition_sentence(s, group, kind, INIT_WORDS.get(init, init)),
    ]
    same_init = s.quote(group, "same_init", "relative_all")
    if same_init:
        lines += [
            "",
            f"Two networks that share the init and differ only in data order end at relative "
            f"distance {same_init.ci()} (their inits: {same_init.null_ci()}; against "
            f"{s.quote(group, kind, 'relative_all').ci()} for {KIND_PAIRS[kind]}).",
        ]
    if contrast is None:
        lines += ["", "(Add an MLP variant with `init: scaled` to contrast the init scale.)"]
        return lines
    lines += ["", _decomposition_sentence(s, contrast, kind, INIT_WORDS["scaled"])]
    mine = s.quote(group, kind, "training_share")
    theirs = s.quote(contrast, kind, "training_share")
    if mine.has_interval and theirs.has_interval:
        if mine.get("value_high") < 0.5 < theirs.get("value_low"):
            verdict = (
                "The explanation depends on the init scale: with N(0, 1) weights most of the "
                "difference is inherited from the two random inits, with N(0, 1/n_in) weights "
                "most of it is what training did."
            )
        elif theirs.get("value_low") > mine.get("value_high"):
            verdict = (
                "With the smaller init, training's share of the difference is larger: the "
                "init scale decides how much of the answer is 'they started apart'."
            )
        else:
            verdict = "The init scale does not change training's share beyond the intervals."
        lines += ["", verdict]
    return lines


def _shared(s: Summary, group: dict, kind: str) -> list[str]:
    cka = s.quote(group, kind, "cka_linear")
    debiased = s.quote(group, kind, "cka_debiased")
    matched = s.quote(group, kind, "matched_corr_mean")
    agreement = s.quote(group, kind, "agreement")
    errors = s.quote(group, kind, "errors_shared")
    parts = []
    if cka:
        parts.append(
            f"**Representations**: linear CKA of the hidden activations on the validation set "
            f"{cka.ci()} (untrained {cka.null_ci()}), debiased {debiased.ci()} (untrained "
            f"{debiased.null_ci()}); units paired by activation matching correlate "
            f"{matched.ci()} on average (untrained {matched.null_ci()})."
        )
    beyond = {
        "above": ", more often than independence predicts",
        "within": ", not distinguishably more or less often than independence predicts",
        "below": ", less often than independence predicts",
        "unknown": "",
    }[agreement.compared_to_baseline()]
    parts.append(
        f"**Function**: they predict the same label on {agreement.ci('pct')} of test images "
        f"(untrained {agreement.null_ci('pct')}; expected if their errors were independent given "
        f"their accuracies: {agreement.baseline_ci('pct')}){beyond}. Of the test images either "
        f"network gets wrong (the mean of their error counts), both get {errors.ci('pct')} wrong "
        f"(untrained {errors.null_ci('pct')}; independent errors {errors.baseline_ci('pct')}); "
        "total-variation distance between their output distributions "
        f"{s.quote(group, kind, 'tv_distance').ci()} (untrained "
        f"{s.quote(group, kind, 'tv_distance').null_ci()})."
    )
    return ["", "## What do they share?", "", " ".join(parts)]


def basin_tolerance(endpoints: Quote) -> float:
    return max(BASIN_FLOOR, BASIN_RELATIVE * endpoints.value)


def one_basin(aligned: Quote, endpoints: Quote) -> bool | None:
    """The rule the answer states: True when the aligned barrier's whole interval lies
    below the tolerance, False when it lies above, None when it straddles it or there is
    no interval (the run cannot tell)."""
    if not aligned.has_interval or _nan(endpoints.value):
        return None
    tolerance = basin_tolerance(endpoints)
    if aligned.get("value_high") < tolerance:
        return True
    if aligned.get("value_low") > tolerance:
        return False
    return None


def _barriers(
    s: Summary, group: dict, kind: str, methods: pd.Series, activation: str = "sigmoid"
) -> list[str]:
    raw = s.quote(group, kind, "barrier_test_error_raw")
    if not raw:
        return []
    aligned = s.quote(group, kind, "barrier_test_error_aligned")
    ends = s.quote(group, kind, "endpoint_test_error_raw")
    cost_raw = s.quote(group, kind, "barrier_train_cost_raw")
    cost_aligned = s.quote(group, kind, "barrier_train_cost_aligned")
    cost_ends = s.quote(group, kind, "endpoint_train_cost_raw")
    used = ", ".join(f"{m} {n}" for m, n in methods.value_counts().sort_index().items())
    lines = [
        "",
        "## Is there a barrier between them?",
        "",
        f"Along the straight line between the two parameter vectors ({N_ALPHA} points, "
        f"{int(raw.get('n'))} pairs of this kind), test error rises up to **{raw.ci('pts')} "
        f"percentage points** above the chord between the endpoints, whose mean test error is "
        f"{ends.ci('pct')} (untrained pairs: {raw.null_ci('pts')} points). The training-cost "
        f"barrier is {cost_raw.ci()} against an endpoints' cost of {cost_ends.ci()}.",
    ]
    if methods.eq("none").all():
        return lines  # no hidden layer: nothing to align
    tolerance = basin_tolerance(ends)
    basin = one_basin(aligned, ends)
    verdict = {
        True: "By that rule they lie in one basin up to symmetry.",
        False: "By that rule they do not: aligning removes "
        f"{_pct(1 - aligned.value / raw.value if raw.value else math.nan, 0)} of the raw "
        "barrier, but a barrier remains.",
        None: "By that rule the run cannot tell: the interval reaches both sides of the "
        "tolerance (or there is none).",
    }[basin]
    lines += [
        "",
        f"Under the best alignment of each pair (the lowest test-error barrier among weight "
        f"matching with and without {symmetry(activation).moves} and activation matching, chosen "
        "on the same test "
        f"images, so slightly optimistic; chosen: {used}), the test-error barrier is "
        f"**{aligned.ci('pts')} points** (untrained pairs: {aligned.null_ci('pts')}), and the "
        f"training-cost barrier under the same alignment {cost_aligned.ci()} against the "
        f"endpoints' {cost_ends.ci()}. Rule: two networks count as one basin up to symmetry when "
        f"the aligned barrier's whole interval lies below {_pts(tolerance, 2)} points "
        f"({_pct(BASIN_RELATIVE, 0)} of the endpoints' mean test error), and not one basin when it "
        f"lies wholly above. {verdict}",
    ]
    return lines


def _in_short(s: Summary, group: dict, kind: str, contrast: dict | None) -> list[str]:
    rel = s.quote(group, kind, "relative_all")
    share = s.quote(group, kind, "symmetry_share")
    train = s.quote(group, kind, "training_share")
    agreement = s.quote(group, kind, "agreement")
    aligned = s.quote(group, kind, "barrier_test_error_aligned")
    ends = s.quote(group, kind, "endpoint_test_error_raw")
    sentences = [
        f"By their parameters the networks are at relative distance {rel.ci()}, against "
        f"{rel.null_ci()} for their own random initialisations."
    ]
    if share:
        sentences.append(
            f"Aligning their hidden units removes {share.ci('pct')} of the squared distance "
            f"(untrained pairs: {share.null_ci('pct')})."
        )
    if train:
        other = s.quote(contrast, kind, "training_share") if contrast else Quote(None)
        sentences.append(
            f"Of the aligned difference, training's net share is {train.ci('pct')}"
            + (f"; with the scaled init, {other.ci('pct')}." if other else ".")
        )
    sentences.append(
        f"Yet they predict the same label on {agreement.ci('pct')} of test images "
        f"(untrained {agreement.null_ci('pct')}, independent errors {agreement.baseline_ci('pct')})."
    )
    if aligned:
        basin = one_basin(aligned, ends)
        tail = {
            True: "(one basin by the rule above).",
            False: f"on an endpoints' error of {ends.ci('pct')}: not one basin by the rule above.",
            None: f"on an endpoints' error of {ends.ci('pct')}: the rule above cannot tell.",
        }[basin]
        sentences.append(
            f"Once aligned, the test-error barrier between them is {aligned.ci('pts')} points {tail}"
        )
    return ["", "## In short", "", " ".join(sentences)]


def _kinds_table(s: Summary, group: dict) -> list[str]:
    rows = []
    for kind in ("both_differ", "same_order", "same_init"):
        q = s.quote(group, kind, "relative_all")
        if not q:
            continue
        signed = s.quote(group, kind, "relative_signed")
        cka = s.quote(group, kind, "cka_linear")
        barrier = s.quote(group, kind, "barrier_test_error_aligned")
        rows.append(
            {
                "pairs": KIND_WORDS[kind],
                "n": int(q.get("n")),
                "relative distance": q.ci(),
                "untrained": q.null_ci(),
                "aligned": signed.ci(),
                "untrained, aligned": signed.null_ci(),
                "CKA": cka.ci(),
                "untrained CKA": cka.null_ci(),
                "agreement": s.quote(group, kind, "agreement").ci("pct"),
                "aligned barrier (points)": barrier.ci("pts"),
                "untrained (points)": barrier.null_ci("pts"),
            }
        )
    if len(rows) < 2:
        return []
    return [
        "",
        f"## By pair kind (eta {_f(group['eta'], 2)}, {group['epochs']} epochs)",
        "",
        _md_table(pd.DataFrame(rows)),
    ]


def _trend_table(s: Summary, model: str, kind: str) -> list[str]:
    rows = []
    for group in s.groups(model).to_dict("records"):
        q = s.quote(group, kind, "relative_all")
        if not q:
            continue
        signed = s.quote(group, kind, "relative_signed")
        cka = s.quote(group, kind, "cka_linear")
        rows.append(
            {
                "sizes": group["sizes"],
                "eta": _f(group["eta"], 2),
                "epochs": group["epochs"],
                "test accuracy": s.quote(group, "networks", "test_accuracy").ci("pct"),
                "relative distance": q.ci(),
                "untrained": q.null_ci(),
                "aligned": signed.ci(),
                "untrained, aligned": signed.null_ci(),
                "CKA": cka.ci(),
                "untrained CKA": cka.null_ci(),
                "agreement": s.quote(group, kind, "agreement").ci("pct"),
                "barrier raw (points)": s.quote(group, kind, "barrier_test_error_raw").ci("pts"),
                "barrier aligned (points)": s.quote(group, kind, "barrier_test_error_aligned").ci(
                    "pts"
                ),
            }
        )
    return [
        "",
        f"## What changes with eta and epochs ({KIND_PAIRS[kind]})",
        "",
        _md_table(pd.DataFrame(rows)),
    ]


def _minimiser_note(name: str, nets: pd.DataFrame) -> str | None:
    """The certified bound's verdict, from every network's own bound (not their mean)."""
    if "minimiser_bound" not in nets or nets.minimiser_bound.isna().all():
        return None
    largest = float(nets.minimiser_bound.max())
    verdict = "is provably near" if largest < MINIMISER_TOLERANCE else "is not shown to be near"
    return (
        f"`{name}` {verdict} the unique minimiser theta*: by strong convexity (L2 on all "
        "parameters), ||theta - theta*|| <= ||grad F(theta)|| n / lmbda, and for every one of "
        f"its {len(nets)} networks this bound is at most {_f(largest, 4)} ||theta|| (the rule: "
        f"below {_f(MINIMISER_TOLERANCE, 2)} ||theta|| for all of them)."
    )


def _controls(s: Summary, networks: pd.DataFrame, kind: str) -> list[str]:
    """When do parameters converge? Every model variant at its longest training."""
    models = list(dict.fromkeys(networks.model))
    if len(models) < 2:
        return []
    rows, kinds_rows, notes, closer, told = [], [], [], [], True
    for name, family, group, nets in _longest_groups(networks, models):
        q = s.quote(group, kind, "relative_all")
        if not q:
            continue
        rows.append(_control_row(s, group, kind, family, nets))
        kinds_rows.append(
            {
                "model": f"`{name}`",
                "eta": _f(group["eta"], 3),
                **{
                    KIND_WORDS[k]: s.quote(group, k, "relative_all").ci(digits=4)
                    for k in ("both_differ", "same_order", "same_init")
                },
            }
        )
        same_order = s.quote(group, "same_order", "relative_all")
        told &= same_order.has_interval and q.has_interval
        if same_order.has_interval and same_order.get("value_high") < q.get("value_low"):
            closer.append(f"`{name}` ({same_order.ci(digits=4)} against {q.ci(digits=4)})")
        note = _minimiser_note(name, nets)
        if note:
            notes.append(note)
    if not rows:
        return []
    closer_text = (
        ", ".join(closer)
        if closer
        else "no model of this run"
        if told
        else "no model the intervals can tell (too few seeds)"
    )
    return _controls_section(kind, rows, kinds_rows, notes, closer_text)


def _longest_groups(
    networks: pd.DataFrame, models: list[str]
) -> Iterator[tuple[str, str, dict, pd.DataFrame]]:
    """(name, family, group, its networks) of every model's groups at its longest training,
    in the order the tables list them."""
    for name in models:
        mine = networks[networks.model == name]
        epochs = int(mine.epochs.max())
        family = mine.family.iloc[0]
        for sizes, eta in sorted(set(zip(mine.sizes, mine.eta, strict=True))):
            nets = mine[(mine.sizes == sizes) & (mine.eta == eta) & (mine.epochs == epochs)]
            yield name, family, _group(name, sizes, eta, epochs), nets


def _control_row(s: Summary, group: dict, kind: str, family: str, nets: pd.DataFrame) -> dict:
    """One model's line of the convex-control table; '-' where a column does not apply."""
    q = s.quote(group, kind, "relative_all")
    exact = s.quote(group, "networks", "relative_to_minimiser")
    bound = nets["minimiser_bound"].max() if "minimiser_bound" in nets else math.nan
    accuracy = s.quote(group, "networks", "test_accuracy")
    dead = s.quote(group, kind, "dead_share")
    return {
        "model": f"`{group['model']}`",
        "eta": _f(group["eta"], 3),
        "epochs": group["epochs"],
        "relative distance": q.ci(digits=4),
        "untrained": q.null_ci(digits=4),
        "aligned": s.quote(group, kind, "relative_signed").ci(digits=4)
        if family == "mlp"
        else "(no symmetry)",
        "dead-pixel share (untrained)": f"{dead.ci('pct')} ({dead.null_ci('pct')})",
        "gauge share": s.quote(group, kind, "gauge_share").ci("pct")
        if family in GAUGE_FAMILIES
        else "-",
        "to the minimiser (exact, mean)": exact.ci(digits=4) if exact else "-",
        "to the minimiser (largest bound)": "-" if _nan(bound) else f"<= {_f(bound, 4)}",
        "test accuracy (untrained)": f"{accuracy.ci('pct')} ({accuracy.null_ci('pct')})",
    }


def _controls_section(
    kind: str, rows: list[dict], kinds_rows: list[dict], notes: list[str], closer_text: str
) -> list[str]:
    """The section's prose around its two tables (model by model, and per pair kind)."""
    return [
        "",
        "## The convex control: when do parameters converge?",
        "",
        "The same seeds and protocol train convex models beside the MLP: `softmax` (784 -> 10, "
        "softmax, cross-entropy) and `linear` (784 -> 10, identity, squared error), with and "
        f"without L2. First, the {KIND_PAIRS[kind]}, at each model's longest training; "
        "shares are ratios of sums of the pairs' squared differences. The never-seen pixels' "
        "weights get no gradient from the data, and neither does softmax's class-mean (gauge) "
        "component: without L2 both keep each seed's random init. With L2 on all parameters the "
        "loss has one minimiser; 'to the minimiser' is each network's distance to it relative to "
        "its norm, exact for the linear model (normal equations) and, for every L2 model, a "
        "certified upper bound from the full-batch gradient (the largest over the networks).",
        "",
        _md_table(pd.DataFrame(rows)),
        *(["", *notes] if notes else []),
        "",
        "The same relative distance per pair kind. Pairs that share their data order end "
        f"closer than pairs whose seeds both differ (intervals apart) for {closer_text}.",
        "",
        _md_table(pd.DataFrame(kinds_rows)),
    ]


# --------------------------------------------------------------------------- the answer


def _forked_twins(forks: pd.DataFrame, children: pd.DataFrame) -> list[str]:
    """The siblings of every group of forked children, in a table of their own."""
    if forks.empty:
        return []
    s = Summary(forks)
    keys = ["model", "sizes", "eta", "epochs", FORK_COLUMN]
    siblings = forks[forks.pair_kind == "siblings"]
    rows = []
    for group in siblings[keys].drop_duplicates().sort_values(keys).to_dict("records"):
        q = s.quote(group, "siblings", "relative_all")
        if not q:
            continue
        raw = s.quote(group, "siblings", "barrier_test_error_raw")
        ends = s.quote(group, "siblings", "endpoint_test_error_raw")
        verdict = {True: "one basin", False: "not one basin", None: "cannot tell"}
        rows.append(
            {
                "model": f"`{group['model']}`",
                "eta": _f(group["eta"], 2),
                "epochs": int(group["epochs"]),
                "forked at epoch": int(group[FORK_COLUMN]),
                "pairs": int(q.get("n")),
                "fork seeds": int(q.get("n_fork_seeds")),
                "relative distance": q.ci(),
                "aligned": s.quote(group, "siblings", "relative_signed").ci(),
                "agreement": s.quote(group, "siblings", "agreement").ci("pct"),
                "raw barrier (points)": raw.ci("pts"),
                "aligned barrier (points)": s.quote(
                    group, "siblings", "barrier_test_error_aligned"
                ).ci("pts"),
                "endpoints' error": ends.ci("pct"),
                "by the rule, raw path": verdict[one_basin(raw, ends)] if raw else "n/a",
            }
        )
    if not rows:
        return []
    keys = ["model", "sizes", "eta", "init_seed", "order_seed", FORK_COLUMN, "fork_seed"]
    n_children = len(children[keys].drop_duplicates())
    return [
        "",
        "## Forked twins",
        "",
        f"This run also forked {n_children} children from its networks (grid.fork_epochs): "
        "children of one parent share its init and its first epochs up to the fork, then each "
        f"follows the data order of its own fork seed. The {KIND_PAIRS['siblings']} are quoted "
        "here and nowhere above; every number of the sections above is the parents'. Siblings "
        "share their init, so the straight line between them needs no alignment: the rule "
        "above is applied to the raw barrier (Frankle et al. 2020's test of stability). The "
        "bootstrap resamples fork seeds as a third factor, so an interval needs "
        f"{MIN_UNITS} fork seeds or more. Every other pair of children, by kind, is in "
        "`summary.csv` (rows with a `fork_epoch`).",
        "",
        _md_table(pd.DataFrame(rows)),
    ]


def answer_markdown(summary: pd.DataFrame, networks: pd.DataFrame, pairs: pd.DataFrame) -> str:
    """``results/answer.md``: generated, so it can never disagree with the tables.

    The prose speaks of the grid's own networks; forked children (groups with a
    ``fork_epoch``) are kept out of it and quoted in a section of their own.
    """
    forks, children = only_forks(summary), only_forks(networks)
    summary, networks, pairs = (without_forks(f) for f in (summary, networks, pairs))
    s = Summary(summary)
    h = _headline(s, networks, pairs)
    group, kind = h.group, h.kind
    lines = [
        *_preamble(s, h, networks),
        *_far_apart(s, group, kind, h.nets),
        *_symmetry(s, group, kind, h.hidden, h.activation),
        *_data_sees(s, group, kind, h.nets, h.lmbda),
        *_inherited(s, group, kind, h.contrast, h.init),
        *_shared(s, group, kind),
        *_barriers(s, group, kind, h.methods, h.activation),
        *_in_short(s, group, kind, h.contrast),
        *_kinds_table(s, group),
        *_trend_table(s, h.model, kind),
        *_controls(s, networks, kind),
        *_forked_twins(forks, children),
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, eq=False)  # data frames: compare by identity
class _Headline:
    """The group and pair kind that the prose speaks of, and their rows of the tables."""

    model: str
    sizes: str
    eta: float
    epochs: int
    kind: str
    #: The same group with the scaled init, if the run has one.
    contrast: dict | None
    #: The group's networks, with the pairs' pixel-variance threshold beside them.
    nets: pd.DataFrame
    #: The alignment chosen for each of the kind's pairs with a barrier.
    methods: pd.Series

    @property
    def group(self) -> dict:
        return _group(self.model, self.sizes, self.eta, self.epochs)

    @property
    def hidden(self) -> list[str]:
        return self.sizes.split("-")[1:-1]

    @property
    def activation(self) -> str:
        """The hidden units' activation (tables from before it was recorded: sigmoid)."""
        nets = self.nets
        return str(nets["activation"].iloc[0]) if "activation" in nets and len(nets) else "sigmoid"

    @property
    def init(self) -> str:
        nets = self.nets
        return str(nets["init"].iloc[0]) if "init" in nets and len(nets) else "nielsen"

    @property
    def lmbda(self) -> float:
        nets = self.nets
        return float(nets["lmbda"].iloc[0]) if "lmbda" in nets and len(nets) else 0.0


def _headline(s: Summary, networks: pd.DataFrame, pairs: pd.DataFrame) -> _Headline:
    """Chosen by ``twinnets.report.selection``'s rules, never by hand."""
    model, sizes, eta, epochs = headline_group(networks)
    kinds_here = set(s.frame[(s.frame.model == model) & (s.frame.epochs == epochs)].pair_kind)
    kind = headline_kind(kinds_here)
    nets = networks[
        (networks.model == model) & (networks.sizes == sizes) & (networks.eta == eta)
        & (networks.epochs == epochs)
    ]  # fmt: skip
    at = pairs[
        (pairs.model == model) & (pairs.sizes == sizes) & (pairs.eta == eta)
        & (pairs.epochs == epochs) & (pairs.pair_kind == kind)
    ]  # fmt: skip
    return _Headline(
        model=model,
        sizes=sizes,
        eta=eta,
        epochs=epochs,
        kind=kind,
        contrast=init_contrast(networks, model, sizes, eta, epochs),
        nets=nets.assign(unseen_variance=at.unseen_variance.max() if len(at) else float("nan")),
        methods=at[at.barrier_computed.astype(bool)].barrier_aligned_method,
    )


def _preamble(s: Summary, h: _Headline, networks: pd.DataFrame) -> list[str]:
    """Title, how to read the numbers, the question, and what this run holds."""
    n_nets = len(networks[["model", "sizes", "eta", "init_seed", "order_seed"]].drop_duplicates())
    return [
        "# Two networks, same data, different weights: the answer from this run",
        "",
        f"_Generated by twinnets {__version__} from `results/tables/`; every number below is "
        "computed from this run's networks, none is typed by hand. Each is quoted as "
        "`value [95% interval]`, the interval a bootstrap that resamples init seeds and order "
        "seeds (pairs share networks, so pairs are never resampled). 'Untrained' is the same "
        "statistic for the same pairs' own initialisations, rebuilt from their seeds and "
        "measured the same way (aligned by the same method): the null a number is read "
        "against, where it has one (how far a network moved from its init, and the split of a "
        "difference into the inits' part and training's, are measured against the init itself). "
        "Whether a value differs from its null is read from the interval of their paired "
        "difference. An interval needs at least "
        f"{MIN_UNITS} seeds in each factor that varies (or {MIN_UNITS} networks where seeds are "
        f"not crossed); with fewer it reads '{NO_INTERVAL}'._",
        "",
        "**The question.** Train the same network twice on the same data: the two end with very "
        "different weights and biases. Why, and how different are they really?",
        "",
        f"**This run.** {n_nets} networks in all; the prose speaks of the `{h.model}` model "
        f"({h.sizes}) at eta {_f(h.eta, 2)} (the best mean validation accuracy) after {h.epochs} "
        f"epochs, over the {KIND_PAIRS[h.kind]} ({_seeds_phrase(s, h.group, h.kind)}). The other "
        "pair kinds are in the tables; no number averages over kinds.",
        "",
    ]
