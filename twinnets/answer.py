"""The question and its answer in plain words, every number taken from a run's tables.

Every number is quoted as ``value [low, high]`` (a 95% bootstrap interval over seeds,
``twinnets.summary``), per pair kind, beside its null: the same statistic for the
pairs' own untrained initialisations. Every sentence that draws a conclusion is
chosen by comparing intervals, never assumed; the rules are stated in the text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from twinnets import __version__
from twinnets.selection import KIND_PAIRS, KIND_WORDS, headline_cell, headline_kind, init_contrast
from twinnets.summary import MIN_UNITS

#: Shown in place of an interval where the seeds are too few (summary.MIN_UNITS).
NO_INTERVAL = "no interval"
#: "One basin" when the aligned barrier's interval reaches this (0.01 points of test error)...
BASIN_ZERO = 1e-4
#: ...or its upper end stays below this share of the endpoints' mean test error.
BASIN_RELATIVE = 0.10
GAUGE_FAMILIES = ("softmax",)


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

    @property
    def has_interval(self) -> bool:
        return not _nan(self.get("value_low"))

    def compared_to_null(self) -> str:
        """'above', 'below', 'within' (the intervals overlap) or 'unknown' (no interval)."""
        if not self.has_interval or _nan(self.get("null_low")):
            return "unknown"
        if self.get("value_low") > self.get("null_high"):
            return "above"
        if self.get("value_high") < self.get("null_low"):
            return "below"
        return "within"


class Summary:
    """Look-ups into the summary table (``twinnets.summary.summarise``)."""

    def __init__(self, summary: pd.DataFrame) -> None:
        self.frame = summary

    def quote(self, cell: dict, kind: str, statistic: str) -> Quote:
        mask = (self.frame.pair_kind == kind) & (self.frame.statistic == statistic)
        for column, value in cell.items():
            mask &= self.frame[column] == value
        rows = self.frame[mask]
        return Quote(rows.iloc[0] if len(rows) else None)

    def cells(self, model: str) -> pd.DataFrame:
        keys = ["model", "sizes", "eta", "epochs"]
        return self.frame[self.frame.model == model][keys].drop_duplicates().sort_values(keys)


def _cell(model: str, sizes: str, eta: float, epochs: int) -> dict:
    return {"model": model, "sizes": sizes, "eta": eta, "epochs": epochs}


def _seeds_phrase(summary: Summary, cell: dict, kind: str) -> str:
    q = summary.quote(cell, kind, "relative_all")
    if not q:
        return ""
    inits, orders = int(q.get("n_init_seeds")), int(q.get("n_order_seeds"))
    kept = int(q.get("n_boot"))
    return (
        f"{int(q.get('n'))} pairs of this kind from {inits} init seeds x {orders} order seeds; "
        f"{kept} bootstrap replicates kept of those drawn"
    )


# --------------------------------------------------------------------------- sections


def _far_apart(s: Summary, cell: dict, kind: str, nets: pd.DataFrame) -> list[str]:
    rel = s.quote(cell, kind, "relative_all")
    cos = s.quote(cell, kind, "cosine_all")
    acc = s.quote(cell, "networks", "test_accuracy")
    where = rel.compared_to_null()
    verdict = {
        "within": "as far apart as their own random initialisations were: by their parameters "
        "alone, nothing shows that they were trained on the same data",
        "below": "closer than their own random initialisations were",
        "above": "farther apart than their own random initialisations were",
        "unknown": "compared with their own random initialisations without an interval (too "
        "few seeds to tell them apart)",
    }[where]
    return [
        "## How far apart are they?",
        "",
        f"Relative distance ||A - B|| / sqrt(||A|| ||B||) over all parameters: "
        f"**{rel.ci()}** (untrained: {rel.null_ci()}; two independent random vectors of equal "
        f"norm give sqrt(2) = 1.414); cosine similarity {cos.ci()} (untrained {cos.null_ci()}). "
        f"The trained networks are {verdict}, yet each reaches "
        f"{_pct(nets.test_accuracy.min(), 2)} to {_pct(nets.test_accuracy.max(), 2)} test accuracy "
        f"(mean {acc.ci('pct', 2)}; untrained {acc.null_ci('pct', 2)}).",
    ]


def _symmetry(s: Summary, cell: dict, kind: str, hidden: list[str]) -> list[str]:
    signed = s.quote(cell, kind, "relative_signed")
    if not hidden:
        return []
    share = s.quote(cell, kind, "symmetry_share")
    flips = s.quote(cell, kind, "flips_signed")
    where = share.compared_to_null()
    verdict = {
        "above": f"more than it removes from their untrained initialisations "
        f"({share.null_ci('pct')}): the alignment finds structure that training put there, "
        f"{_pts(share.value - share.null)} points beyond what it finds between random networks",
        "within": f"no more than it removes from their untrained initialisations "
        f"({share.null_ci('pct')}): any two random networks can be aligned that much, so "
        "symmetry does not explain the difference",
        "below": f"less than it removes from their untrained initialisations "
        f"({share.null_ci('pct')})",
        "unknown": f"against {share.null_ci('pct')} for their untrained initialisations (too "
        "few seeds to compare the two)",
    }[where]
    return [
        "",
        "## How much of it is symmetry?",
        "",
        "A hidden unit can be renumbered, and flipped (sigmoid(-z) = 1 - sigmoid(z)), without "
        "changing the function. Factoring out the best permutation and sign flips (weight matching "
        f"in tanh coordinates) brings the relative distance to **{signed.ci()}** (the untrained "
        f"pairs, aligned the same way: {signed.null_ci()}); permutations alone "
        f"{s.quote(cell, kind, 'relative_permutation').ci()}; matching units by their activations "
        f"{s.quote(cell, kind, 'relative_activation').ci()}. Alignment removes "
        f"**{share.ci('pct')}** of the squared distance, {verdict}. "
        f"{flips.ci(digits=1)} of the {'+'.join(hidden)} hidden units are matched with a sign "
        f"flip (untrained {flips.null_ci(digits=1)}).",
    ]


def _data_sees(s: Summary, cell: dict, kind: str, nets: pd.DataFrame) -> list[str]:
    dead = s.quote(cell, kind, "dead_share")
    unseen = s.quote(cell, kind, "unseen_share")
    pre = s.quote(cell, kind, "preactivation_relative_signed")
    pre_raw = s.quote(cell, kind, "preactivation_relative_raw")
    lines = [
        "",
        "## What can the data see?",
        "",
        f"{int(nets.dead_pixels.max())} of 784 input pixels are zero in every training image, so "
        "no gradient ever reaches their weights: those stay at their random initial values, bit "
        f"for bit. They hold **{dead.ci('pct')}** of the squared raw distance (untrained "
        f"{dead.null_ci('pct')}).",
    ]
    if unseen:
        threshold = float(nets.get("unseen_variance", pd.Series([float("nan")])).max())
        lines[-1] += (
            f" They are the extreme case of input directions the images barely probe: the "
            f"{int(nets.unseen_directions.max())} eigen-directions of the training images' pixel "
            f"covariance with variance below {threshold:g} (the dead pixels among them) hold "
            f"**{unseen.ci('pct')}** of the aligned first-layer squared difference (untrained "
            f"{unseen.null_ci('pct')}). Through the data, the aligned first layers' "
            f"pre-activations on the validation images are at relative distance **{pre.ci()}** "
            f"(raw {pre_raw.ci()}; untrained, aligned {pre.null_ci()})."
        )
    return lines


def _decomposition_sentence(s: Summary, cell: dict, kind: str, label: str) -> str:
    init = s.quote(cell, kind, "init_part")
    train = s.quote(cell, kind, "training_part")
    cross = s.quote(cell, kind, "cross_term")
    total = s.quote(cell, kind, "distance_signed")
    share = s.quote(cell, kind, "training_share")
    moved = s.quote(cell, "networks", "relative_from_init")
    if not init:
        return ""
    cosine = cross.value / (init.value * train.value) if init.value * train.value else math.nan
    if not share.has_interval:
        net = "too few seeds to say whether it differs from zero"
    elif share.get("value_low") > 0:
        net = "training added to the difference the inits left"
    elif share.get("value_high") < 0:
        net = "on net, training brought the pair closer than their inits were"
    else:
        net = "not distinguishable from zero: on net, training neither added to nor removed from the inits' difference"
    return (
        f"**{label}**: each network moves {moved.ci()} of its initial norm. The aligned "
        f"difference d (||d|| = {total.ci(digits=1)}) is the inits' difference d_init plus what "
        f"training added, d_train: ||d_init|| = **{init.ci(digits=1)}**, ||d_train|| = "
        f"**{train.ci(digits=1)}**, cross term <d_init, d_train> = {cross.ci(digits=1)} (cosine "
        f"{_f(cosine, 2)}: the parts {'partly cancel' if cosine < 0 else 'add up'}), so that "
        "||d||^2 = ||d_init||^2 + ||d_train||^2 + 2 <d_init, d_train>. Training's net share of "
        f"||d||^2, 1 - ||d_init||^2 / ||d||^2, is **{share.ci('pct')}**: {net}."
    )


def _inherited(s: Summary, cell: dict, kind: str, contrast: dict | None) -> list[str]:
    lines = [
        "",
        "## How much is inherited from the init?",
        "",
        _decomposition_sentence(s, cell, kind, "Nielsen's init, weights N(0, 1)"),
    ]
    same_init = s.quote(cell, "same_init", "relative_all")
    if same_init:
        lines += [
            "",
            f"Two networks that share the init and differ only in data order end at relative "
            f"distance {same_init.ci()} (against {s.quote(cell, kind, 'relative_all').ci()} for "
            f"{KIND_PAIRS[kind]}).",
        ]
    if contrast is None:
        lines += ["", "(Add an MLP variant with `init: scaled` to contrast the init scale.)"]
        return lines
    lines += ["", _decomposition_sentence(s, contrast, kind, "Scaled init, weights N(0, 1/n_in)")]
    mine = s.quote(cell, kind, "training_share")
    theirs = s.quote(contrast, kind, "training_share")
    if mine and theirs and mine.has_interval and theirs.has_interval:
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


def _shared(s: Summary, cell: dict, kind: str) -> list[str]:
    cka = s.quote(cell, kind, "cka_linear")
    agreement = s.quote(cell, kind, "agreement")
    errors = s.quote(cell, kind, "a_errors_shared")
    parts = []
    if cka:
        parts.append(
            f"**Representations**: linear CKA of the hidden activations on the validation set "
            f"{cka.ci()} (untrained {cka.null_ci()}), debiased "
            f"{s.quote(cell, kind, 'cka_debiased').ci()} (untrained "
            f"{s.quote(cell, kind, 'cka_debiased').null_ci()}); units paired by activation "
            f"matching correlate {s.quote(cell, kind, 'matched_corr_mean').ci()} on average "
            f"(untrained {s.quote(cell, kind, 'matched_corr_mean').null_ci()})."
        )
    beyond = {
        "above": ", more often than independence predicts",
        "within": ", about as often as independence predicts",
        "below": ", less often than independence predicts",
        "unknown": "",
    }[_against_baseline(agreement)]
    parts.append(
        f"**Function**: they predict the same label on {agreement.ci('pct')} of test images "
        f"(untrained {agreement.null_ci('pct')}; expected if their errors were independent given "
        f"their accuracies: {agreement.baseline_ci('pct')}){beyond}; "
        f"{errors.ci('pct')} of one network's errors are errors of the other too (independent: "
        f"{errors.baseline_ci('pct')}); total-variation distance between their output "
        f"distributions {s.quote(cell, kind, 'tv_distance').ci()} (untrained "
        f"{s.quote(cell, kind, 'tv_distance').null_ci()})."
    )
    return ["", "## What do they share?", "", " ".join(parts)]


def _against_baseline(q: Quote) -> str:
    if not q.has_interval or _nan(q.get("baseline_low")):
        return "unknown"
    if q.get("value_low") > q.get("baseline_high"):
        return "above"
    if q.get("value_high") < q.get("baseline_low"):
        return "below"
    return "within"


def one_basin(aligned: Quote, endpoints: Quote) -> bool | None:
    """The rule the answer states: the aligned barrier's interval reaches 0, or its upper
    end is below BASIN_RELATIVE of the endpoints' mean test error; None without an interval."""
    if not aligned.has_interval:
        return None
    return aligned.get("value_low") <= BASIN_ZERO or (
        aligned.get("value_high") < BASIN_RELATIVE * endpoints.value
    )


def _barriers(s: Summary, cell: dict, kind: str, methods: pd.Series) -> list[str]:
    raw = s.quote(cell, kind, "barrier_test_error_raw")
    if not raw:
        return []
    aligned = s.quote(cell, kind, "barrier_test_error_aligned")
    ends = s.quote(cell, kind, "endpoint_test_error_raw")
    cost_raw = s.quote(cell, kind, "barrier_train_cost_raw")
    cost_aligned = s.quote(cell, kind, "barrier_train_cost_aligned")
    cost_ends = s.quote(cell, kind, "endpoint_train_cost_raw")
    used = ", ".join(f"{m} {n}" for m, n in methods.value_counts().sort_index().items())
    lines = [
        "",
        "## Is there a barrier between them?",
        "",
        f"Along the straight line between the two parameter vectors (25 points, {int(raw.get('n'))} "
        f"pairs of this kind), test error rises up to **{raw.ci('pts')} percentage points** above "
        f"the chord between the endpoints, whose mean test error is {ends.ci('pct')} (untrained "
        f"pairs: {raw.null_ci('pts')} points). The training-cost barrier is {cost_raw.ci()} "
        f"against an endpoints' cost of {cost_ends.ci()}.",
    ]
    if aligned.get("value") == raw.get("value") and methods.eq("none").all():
        return lines  # nothing to align
    rel = aligned.value / ends.value if ends.value else math.nan
    basin = one_basin(aligned, ends)
    lines += [
        "",
        f"Under the best alignment of each pair (the lowest barrier among weight matching with "
        f"and without sign flips and activation matching; chosen: {used}), the test-error barrier "
        f"is **{aligned.ci('pts')} points**, {_pct(rel, 0)} of the endpoints' error (untrained "
        f"pairs: {aligned.null_ci('pts')}), and the training-cost barrier {cost_aligned.ci()} "
        f"against the endpoints' {cost_ends.ci()}. Rule: two networks count as one basin up to "
        f"symmetry when the aligned barrier's interval reaches 0 or its upper end stays below "
        f"{_pct(BASIN_RELATIVE, 0)} of the endpoints' mean test error. "
        + (
            "Too few seeds for an interval, so the rule cannot be applied."
            if basin is None
            else "By that rule they lie in one basin up to symmetry."
            if basin
            else f"By that rule they do not: aligning removes "
            f"{_pct(1 - aligned.value / raw.value if raw.value else math.nan, 0)} of the raw "
            "barrier, but a barrier remains."
        ),
    ]
    return lines


def _in_short(s: Summary, cell: dict, kind: str, contrast: dict | None) -> list[str]:
    rel = s.quote(cell, kind, "relative_all")
    share = s.quote(cell, kind, "symmetry_share")
    train = s.quote(cell, kind, "training_share")
    agreement = s.quote(cell, kind, "agreement")
    aligned = s.quote(cell, kind, "barrier_test_error_aligned")
    ends = s.quote(cell, kind, "endpoint_test_error_raw")
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
        sentences.append(
            f"Of the aligned difference, training's net share is {train.ci('pct')}"
            + (
                f" with Nielsen's N(0, 1) init and {s.quote(contrast, kind, 'training_share').ci('pct')} "
                "with the scaled init."
                if contrast and s.quote(contrast, kind, "training_share")
                else "."
            )
        )
    sentences.append(
        f"Yet they predict the same label on {agreement.ci('pct')} of test images "
        f"(untrained {agreement.null_ci('pct')}, independent errors {agreement.baseline_ci('pct')})."
    )
    if aligned:
        basin = one_basin(aligned, ends)
        sentences.append(
            f"Once aligned, the test-error barrier between them is {aligned.ci('pts')} points "
            + (
                f"on an endpoints' error of {ends.ci('pct')}."
                if basin is None
                else "(one basin by the rule above)."
                if basin
                else f"on an endpoints' error of {ends.ci('pct')}: not one basin by the rule above."
            )
        )
    return ["", "## In short", "", " ".join(sentences)]


def _kinds_table(s: Summary, cell: dict) -> list[str]:
    rows = []
    for kind in ("both_differ", "same_order", "same_init"):
        q = s.quote(cell, kind, "relative_all")
        if not q:
            continue
        rows.append(
            {
                "pairs": KIND_WORDS[kind],
                "n": int(q.get("n")),
                "relative distance": q.ci(),
                "untrained": q.null_ci(),
                "aligned": s.quote(cell, kind, "relative_signed").ci(),
                "untrained, aligned": s.quote(cell, kind, "relative_signed").null_ci(),
                "CKA": s.quote(cell, kind, "cka_linear").ci(),
                "agreement": s.quote(cell, kind, "agreement").ci("pct"),
                "aligned barrier (points)": s.quote(cell, kind, "barrier_test_error_aligned").ci(
                    "pts"
                ),
            }
        )
    if len(rows) < 2:
        return []
    return [
        "",
        f"## By pair kind (eta {_f(cell['eta'], 2)}, {cell['epochs']} epochs)",
        "",
        _md_table(pd.DataFrame(rows)),
    ]


def _trend_table(s: Summary, model: str, kind: str) -> list[str]:
    rows = []
    for cell in s.cells(model).to_dict("records"):
        q = s.quote(cell, kind, "relative_all")
        if not q:
            continue
        rows.append(
            {
                "sizes": cell["sizes"],
                "eta": _f(cell["eta"], 2),
                "epochs": cell["epochs"],
                "test accuracy": s.quote(cell, "networks", "test_accuracy").ci("pct"),
                "relative distance (untrained)": f"{q.ci()} ({_f(q.null)})",
                "aligned (untrained)": f"{s.quote(cell, kind, 'relative_signed').ci()} "
                f"({_f(s.quote(cell, kind, 'relative_signed').null)})",
                "CKA (untrained)": f"{s.quote(cell, kind, 'cka_linear').ci()} "
                f"({_f(s.quote(cell, kind, 'cka_linear').null)})",
                "agreement": s.quote(cell, kind, "agreement").ci("pct"),
                "barrier raw (points)": s.quote(cell, kind, "barrier_test_error_raw").ci("pts"),
                "barrier aligned (points)": s.quote(cell, kind, "barrier_test_error_aligned").ci(
                    "pts"
                ),
            }
        )
    return [
        "",
        f"## What changes with eta and epochs ({KIND_PAIRS[kind]}; untrained in brackets)",
        "",
        _md_table(pd.DataFrame(rows)),
    ]


def _controls(s: Summary, networks: pd.DataFrame, kind: str) -> list[str]:
    """When do parameters converge? Every model variant at its longest training."""
    models = list(dict.fromkeys(networks.model))
    if len(models) < 2:
        return []
    rows, kinds_rows, notes, closer = [], [], [], []
    for name in models:
        mine = networks[networks.model == name]
        epochs = int(mine.epochs.max())
        for sizes, eta in sorted(set(zip(mine.sizes, mine.eta, strict=True))):
            cell = _cell(name, sizes, eta, epochs)
            q = s.quote(cell, kind, "relative_all")
            if not q:
                continue
            family = mine.family.iloc[0]
            exact = s.quote(cell, "networks", "relative_to_minimiser")
            bound = s.quote(cell, "networks", "minimiser_bound")
            rows.append(
                {
                    "model": f"`{name}`",
                    "eta": _f(eta, 3),
                    "epochs": epochs,
                    "relative distance": q.ci(digits=4),
                    "untrained": _f(q.null, 4),
                    "aligned": s.quote(cell, kind, "relative_signed").ci(digits=4)
                    if family == "mlp"
                    else "(no symmetry)",
                    "dead-pixel share": s.quote(cell, kind, "dead_share").ci("pct"),
                    "gauge share": s.quote(cell, kind, "gauge_share").ci("pct")
                    if family in GAUGE_FAMILIES
                    else "-",
                    "to the minimiser (exact)": exact.ci(digits=4) if exact else "-",
                    "to the minimiser (bound)": f"<= {bound.ci(digits=4)}" if bound else "-",
                    "test accuracy": s.quote(cell, "networks", "test_accuracy").ci("pct"),
                }
            )
            kinds_rows.append(
                {
                    "model": f"`{name}`",
                    **{
                        KIND_WORDS[k]: s.quote(cell, k, "relative_all").ci(digits=4)
                        for k in ("both_differ", "same_order", "same_init")
                    },
                }
            )
            same_order = s.quote(cell, "same_order", "relative_all")
            if same_order.has_interval and same_order.get("value_high") < q.get("value_low"):
                closer.append(f"`{name}` ({same_order.ci(digits=4)} against {q.ci(digits=4)})")
            if bound:
                upper = bound.get("value_high") if bound.has_interval else bound.value
                verdict = "is provably within" if upper < 0.05 else "is not shown to be within"
                notes.append(
                    f"`{name}` {verdict} 5% of the unique minimiser: by strong convexity "
                    f"(L2 on all parameters), ||theta - theta*|| <= ||grad F(theta)|| n / lmbda, "
                    f"here {bound.ci(digits=4)} of the network's norm."
                )
    if not rows:
        return []
    return [
        "",
        "## The convex control: when do parameters converge?",
        "",
        "The same seeds and protocol train convex models beside the MLP: `softmax` (784 -> 10, "
        "softmax, cross-entropy) and `linear` (784 -> 10, identity, squared error), with and "
        f"without L2. First, the {KIND_PAIRS[kind]}, at each model's longest training; "
        "shares are ratios of sums of the pairs' squared differences. The never-seen pixels' "
        "weights get no gradient, and neither does softmax's class-mean (gauge) component: "
        "without L2 both keep each seed's random init. With L2 on all parameters the loss has "
        "one minimiser; 'to the minimiser' is each network's distance to it relative to its "
        "norm, exact for the linear model (normal equations) and a certified upper bound from "
        "the full-batch gradient otherwise.",
        "",
        _md_table(pd.DataFrame(rows)),
        *(["", *notes] if notes else []),
        "",
        "The same relative distance per pair kind. Pairs that share their data order end "
        "closer than pairs whose seeds both differ (intervals apart) for "
        + (", ".join(closer) if closer else "no model of this run")
        + ".",
        "",
        _md_table(pd.DataFrame(kinds_rows)),
    ]


# --------------------------------------------------------------------------- the answer


def answer_markdown(summary: pd.DataFrame, networks: pd.DataFrame, pairs: pd.DataFrame) -> str:
    """``results/answer.md``: generated, so it can never disagree with the tables."""
    s = Summary(summary)
    model, sizes, eta, epochs = headline_cell(networks)
    cell = _cell(model, sizes, eta, epochs)
    kinds_here = set(s.frame[(s.frame.model == model) & (s.frame.epochs == epochs)].pair_kind)
    kind = headline_kind(kinds_here)
    contrast = init_contrast(networks, model, sizes, eta, epochs)
    nets = networks[
        (networks.model == model) & (networks.sizes == sizes) & (networks.eta == eta)
        & (networks.epochs == epochs)
    ]  # fmt: skip
    at = pairs[
        (pairs.model == model) & (pairs.sizes == sizes) & (pairs.eta == eta)
        & (pairs.epochs == epochs) & (pairs.pair_kind == kind)
    ]  # fmt: skip
    methods = at[at.barrier_computed.astype(bool)].barrier_aligned_method
    nets = nets.assign(unseen_variance=at.unseen_variance.max() if len(at) else float("nan"))
    n_nets = len(networks[["model", "sizes", "eta", "init_seed", "order_seed"]].drop_duplicates())
    hidden = sizes.split("-")[1:-1]
    lines = [
        "# Two networks, same data, different weights: the answer from this run",
        "",
        f"_Generated by twinnets {__version__} from `results/tables/`; every number below is "
        "computed from this run's networks, none is typed by hand. Each is quoted as "
        "`value [95% interval]`, the interval a bootstrap that resamples init seeds and order "
        "seeds (pairs share networks, so pairs are never resampled). 'Untrained' is the same "
        "statistic for the same pairs' own initialisations, rebuilt from their seeds and "
        "measured the same way (aligned by the same method): the null every number is read "
        f"against. An interval needs at least {MIN_UNITS} init and {MIN_UNITS} order seeds; "
        f"with fewer it reads '{NO_INTERVAL}'._",
        "",
        "**The question.** Train the same network twice on the same data: the two end with very "
        "different weights and biases. Why, and how different are they really?",
        "",
        f"**This run.** {n_nets} networks in all; the prose speaks of the `{model}` model "
        f"({sizes}) at eta {_f(eta, 2)} after {epochs} epochs, over the "
        f"{KIND_PAIRS[kind]} ({_seeds_phrase(s, cell, kind)}). The other pair kinds are in the "
        "tables; no number averages over kinds.",
        "",
        *_far_apart(s, cell, kind, nets),
        *_symmetry(s, cell, kind, hidden),
        *_data_sees(s, cell, kind, nets),
        *_inherited(s, cell, kind, contrast),
        *_shared(s, cell, kind),
        *_barriers(s, cell, kind, methods),
        *_in_short(s, cell, kind, contrast),
        *_kinds_table(s, cell),
        *_trend_table(s, model, kind),
        *_controls(s, networks, kind),
    ]
    return "\n".join(lines) + "\n"
