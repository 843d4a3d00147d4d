"""The answer's section "When do twins converge?": the sweep of config/converge.yaml in words.

For each setting of the sweep (hidden width, init scale, activation, fork epoch) it says
whether twins come together, every number quoted with its interval and its null, per
pair kind and never across kinds. "Together" is the answer's one-basin rule
(:func:`twinnets.report.answer.one_basin`): one basin when the aligned barrier's whole
interval lies below 10% of the endpoints' mean test error, not one basin when it lies
wholly above, otherwise the run cannot tell; a trend is claimed only when the intervals
at its two ends are apart. A run without the sweep (one hidden width, no forked
children) gets no section: there is nothing to compare.
"""

from __future__ import annotations

import pandas as pd

from twinnets.report.answer import (
    BASIN_RELATIVE,
    NO_INTERVAL,
    Quote,
    Summary,
    _f,
    _md_table,
    _pct,
    answer_markdown,
    one_basin,
)
from twinnets.report.selection import FORK_COLUMN, KIND_PAIRS, KIND_WORDS, sweep_rows

TITLE = "## When do twins converge?"
INIT_NAMES = {"nielsen": "N(0, 1)", "scaled": "N(0, 1/n_in)"}
#: The verdict of the one-basin rule, as a table cell; NOT_TRAINED where the endpoints'
#: test error is not below their untrained initialisations': a barrier between two
#: networks that have not learned says nothing about where training ends.
NOT_TRAINED = "not trained"
VERDICT = {
    True: "one basin",
    False: "not one basin",
    None: "cannot tell",
    NOT_TRAINED: "no verdict (endpoints not better than untrained)",
}
#: Where a value lies against its null (the paired difference's interval).
AGAINST_NULL = {
    "below": "below untrained",
    "above": "above untrained",
    "within": "not distinguishable from untrained",
    "unknown": "cannot tell (no interval)",
}
SETTING_KEYS = ["activation", "init", "eta", "width"]


def answer_with_converge(summary: pd.DataFrame, networks: pd.DataFrame, pairs: pd.DataFrame) -> str:
    """``results/answer.md``: the answer (:func:`~twinnets.report.answer.answer_markdown`),
    then "When do twins converge?" where the run has the sweep."""
    text = answer_markdown(summary, networks, pairs)
    section = converge_section(summary, networks)
    return text if not section else text + "\n".join(section) + "\n"


def has_sweep(frame: pd.DataFrame) -> bool:
    """Several hidden widths in one activation, or forked children: what the section compares."""
    parents = frame[frame[FORK_COLUMN].isna()]
    widths = parents.groupby("activation")["width"].nunique()
    return bool((widths > 1).any() or frame[FORK_COLUMN].notna().any())


def converge_section(summary: pd.DataFrame, networks: pd.DataFrame) -> list[str]:
    """The section's lines; none for a run without the sweep (:func:`has_sweep`)."""
    frame = sweep_rows(summary, networks)
    if frame.empty or not has_sweep(frame):
        return []
    parents = frame[frame[FORK_COLUMN].isna()]
    parents = parents[parents.epochs == parents.epochs.max()]
    forks = frame[frame[FORK_COLUMN].notna() & (frame.pair_kind == "siblings")]
    lines = [
        "",
        TITLE,
        "",
        "The same question across settings: hidden width, init scale, activation and the epoch "
        "at which two twins part (forked children). Twins *come together* when the test-error "
        "barrier on the straight line between them, under the best alignment, passes the "
        f"one-basin rule above: one basin when its whole interval lies below "
        f"{_pct(BASIN_RELATIVE, 0)} of the endpoints' mean test error, not one basin when it "
        "lies wholly above, otherwise the run cannot tell. Each number is quoted with its 95% "
        "interval and beside its null, the same statistic for the pairs' untrained "
        "initialisations (aligned the same way); every row is one pair kind, never an average "
        f"over kinds. '{NO_INTERVAL}': too few seeds for an interval, so no verdict is drawn "
        "from it. Where the endpoints' test error is not shown to be below that of their "
        "untrained initialisations, the networks have not learned and no verdict is drawn "
        "either. A trend across settings is claimed only where the intervals at its ends "
        "do not overlap.",
    ]
    if len(parents):
        lines += _settings(Summary(parents), parents)
    if len(forks):
        lines += _forks(Summary(forks), forks)
    return lines


# --------------------------------------------------------------------------- settings


def _group(row: pd.Series | dict) -> dict:
    keys = ["model", "sizes", "eta", "epochs"] + ([FORK_COLUMN] if FORK_COLUMN in row else [])
    group = {k: row[k] for k in keys}
    if FORK_COLUMN in group and pd.isna(group[FORK_COLUMN]):
        del group[FORK_COLUMN]
    return group


def _cells(s: Summary, group: dict, kind: str) -> dict[str, str]:
    """One kind's numbers in one group, each beside its null, and the rule's verdict."""
    distance = s.quote(group, kind, "relative_signed")
    barrier = s.quote(group, kind, "barrier_test_error_aligned")
    ends = s.quote(group, kind, "endpoint_test_error_raw")
    share = s.quote(group, kind, "training_share")
    return {
        "pairs": KIND_WORDS.get(kind, kind),
        "n": str(int(distance.get("n"))) if distance else "0",
        "aligned distance": distance.ci(),
        "untrained": distance.null_ci(),
        "against untrained": AGAINST_NULL[distance.compared_to_null()] if distance else "n/a",
        "aligned barrier (points)": barrier.ci("pts"),
        "untrained (points)": barrier.null_ci("pts"),
        "endpoints' error": ends.ci("pct"),
        "by the rule": VERDICT[verdict(barrier, ends)] if barrier else "no barriers",
        "inherited from the inits": _inherited(share),
    }


def verdict(barrier: Quote, ends: Quote) -> bool | str | None:
    """The one-basin rule (:func:`~twinnets.report.answer.one_basin`), unless the endpoints'
    test error is not shown to be below their untrained initialisations' (NOT_TRAINED)."""
    against = ends.compared_to_null()
    if against in ("above", "within"):
        return NOT_TRAINED
    if against == "unknown":  # not shown to have learned: no verdict either way
        return None
    return one_basin(barrier, ends)


def _inherited(share: Quote) -> str:
    """1 - training's net share, with the interval mirrored: ||d_init||^2 / ||d||^2."""
    if not share:
        return "n/a"
    value = 1 - share.value
    if not share.has_interval:
        return f"{_pct(value)} [{NO_INTERVAL}]"
    return (
        f"{_pct(value)} [{_pct(1 - share.get('value_high'))}, {_pct(1 - share.get('value_low'))}]"
    )


def _settings(s: Summary, parents: pd.DataFrame) -> list[str]:
    rows, verdicts = [], []
    settings = parents[[*SETTING_KEYS, "model", "sizes", "epochs"]].drop_duplicates()
    settings = settings.sort_values(SETTING_KEYS, key=_setting_order)
    for setting in settings.to_dict("records"):
        group = _group(setting)
        kinds = sorted(set(parents.loc[_mask(parents, group), "pair_kind"]) - {"networks"})
        for kind in kinds:
            cells = _cells(s, group, kind)
            rows.append(
                {
                    "model": setting["model"],
                    "activation": setting["activation"],
                    "init": INIT_NAMES.get(setting["init"], setting["init"]),
                    "eta": _f(setting["eta"], 2),
                    "hidden units": int(setting["width"]),
                    **cells,
                }
            )
            verdicts.append({**setting, "kind": kind, "group": group})
    if not rows:
        return []
    epochs = int(parents.epochs.max())
    return [
        "",
        f"### Width, init scale and activation ({epochs} epochs)",
        "",
        "The grid's own networks (no forked children) at their longest training. 'Inherited "
        "from the inits' is ||d_init||^2 / ||d||^2 of the aligned difference (one minus "
        "training's net share; it has no untrained null, being measured against the init "
        "itself; above 100% where training brought the pair closer than their inits were).",
        "",
        _md_table(pd.DataFrame(rows)),
        "",
        *_width_sentences(s, verdicts),
        *_init_sentences(s, verdicts),
    ]


def _setting_order(column: pd.Series) -> pd.Series:
    if column.name == "activation":
        return column.map({"sigmoid": 0, "tanh": 1, "relu": 2}).fillna(3)
    if column.name == "init":
        return column.map({"nielsen": 0, "scaled": 1}).fillna(2)
    return column


def _mask(frame: pd.DataFrame, group: dict) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for key, value in group.items():
        mask &= frame[key] == value
    return mask


def _trend(first: Quote, last: Quote) -> str:
    """'falls', 'rises' (intervals apart), 'overlap' or 'unknown' (no interval)."""
    if not (first.has_interval and last.has_interval):
        return "unknown"
    if last.get("value_high") < first.get("value_low"):
        return "falls"
    if last.get("value_low") > first.get("value_high"):
        return "rises"
    return "overlap"


def _width_sentences(s: Summary, verdicts: list[dict]) -> list[str]:
    """Per activation, init, eta and kind with two widths or more: the barrier's trend
    from the narrowest to the widest, and which widths the rule calls one basin."""
    sentences = []
    frame = pd.DataFrame(verdicts)
    for (model, activation, init, eta, kind), rows in frame.groupby(
        ["model", "activation", "init", "eta", "kind"], sort=False
    ):
        rows = rows.sort_values("width")
        if len(rows) < 2:
            continue
        narrow, wide = rows.iloc[0], rows.iloc[-1]
        first = s.quote(narrow.group, kind, "barrier_test_error_aligned")
        last = s.quote(wide.group, kind, "barrier_test_error_aligned")
        if not (first and last):
            continue
        trend = {
            "falls": "falls with width (the intervals at the two ends are apart)",
            "rises": "rises with width (the intervals at the two ends are apart)",
            "overlap": "is not shown to change with width (the intervals at the two ends overlap)",
            "unknown": "cannot be compared across widths (no interval)",
        }[_trend(first, last)]
        untrained = [
            int(r.width)
            for r in (narrow, wide)
            if verdict(first if r is narrow else last,
                       s.quote(r.group, kind, "endpoint_test_error_raw")) == NOT_TRAINED
        ]  # fmt: skip
        if untrained:
            trend = (
                "cannot be compared across widths (at "
                + " and ".join(map(str, untrained))
                + " units the endpoints' test error is not below their untrained inits')"
            )
        by_rule = "; ".join(
            f"{int(r.width)} units: "
            + VERDICT[
                verdict(
                    s.quote(r.group, kind, "barrier_test_error_aligned"),
                    s.quote(r.group, kind, "endpoint_test_error_raw"),
                )
            ]
            for r in rows.itertuples()
        )
        sentences.append(
            f"- **`{model}`: {activation}, {INIT_NAMES.get(init, init)} init, eta {_f(eta, 2)}** "
            f"({KIND_PAIRS.get(kind, kind)}): the aligned barrier goes from {first.ci('pts')} "
            f"points at {int(narrow.width)} hidden units (untrained {first.null_ci('pts')}) to "
            f"{last.ci('pts')} at {int(wide.width)} (untrained {last.null_ci('pts')}): it "
            f"{trend}. By the rule: {by_rule}."
        )
    if not sentences:
        return []
    return ["**Width.**", "", *sentences, ""]


def _init_sentences(s: Summary, verdicts: list[dict]) -> list[str]:
    """Per activation, width and kind with both inits: the inherited share under each."""
    frame = pd.DataFrame(verdicts)
    sentences = []
    for (activation, width, kind), rows in frame.groupby(
        ["activation", "width", "kind"], sort=False
    ):
        if rows.init.duplicated().any():  # several variants per init: no single contrast
            continue
        by_init = {r.init: r for r in rows.itertuples()}
        if not {"nielsen", "scaled"} <= set(by_init):
            continue
        big = s.quote(by_init["nielsen"].group, kind, "training_share")
        small = s.quote(by_init["scaled"].group, kind, "training_share")
        if not (big and small):
            continue
        if not (big.has_interval and small.has_interval):
            said = "the run cannot tell whether the init scale changes it (no interval)"
        elif big.get("value_high") < small.get("value_low"):
            said = (
                "more of the difference is inherited with the larger init (the intervals are apart)"
            )
        elif big.get("value_low") > small.get("value_high"):
            said = (
                "less of the difference is inherited with the larger init (the intervals are apart)"
            )
        else:
            said = "the run does not show the init scale changing it (the intervals overlap)"
        sentences.append(
            f"- **{activation}, {int(width)} hidden units** ({KIND_PAIRS.get(kind, kind)}): "
            f"inherited from the inits {_inherited(big)} with N(0, 1) weights "
            f"(`{by_init['nielsen'].model}`, eta {_f(by_init['nielsen'].eta, 2)}), "
            f"{_inherited(small)} with N(0, 1/n_in) weights (`{by_init['scaled'].model}`, eta "
            f"{_f(by_init['scaled'].eta, 2)}): {said}."
        )
    only = sorted(
        {a for a in frame.activation if frame[frame.activation == a]["init"].nunique() < 2}
    )
    if only:
        sentences.append(
            f"- {', '.join(only)}: this run trains one init scale only, so the init's part is "
            "in the table above but not contrasted."
        )
    if not sentences:
        return []
    return ["**Init scale.**", "", *sentences, ""]


# --------------------------------------------------------------------------- forks


def _forks(s: Summary, forks: pd.DataFrame) -> list[str]:
    rows, sentences = [], []
    keys = ["activation", "init", "eta", "width", "model", "sizes"]
    last = forks[forks.epochs == forks.epochs.max()]
    order = last[keys].drop_duplicates().sort_values(SETTING_KEYS, key=_setting_order)
    for setting in order.itertuples(index=False):
        mine = last[_mask(last, dict(zip(keys, setting, strict=True)))]
        named = dict(zip(keys, setting, strict=True))
        verdicts = []
        for k in sorted(mine[FORK_COLUMN].unique()):
            group = _group({**named, "epochs": int(mine.epochs.max()), FORK_COLUMN: k})
            raw = s.quote(group, "siblings", "barrier_test_error_raw")
            aligned = s.quote(group, "siblings", "barrier_test_error_aligned")
            ends = s.quote(group, "siblings", "endpoint_test_error_raw")
            distance = s.quote(group, "siblings", "relative_all")
            said = verdict(raw, ends) if raw else None
            verdicts.append((int(k), said, raw))
            rows.append(
                {
                    "activation": named["activation"],
                    "init": INIT_NAMES.get(named["init"], named["init"]),
                    "eta": _f(named["eta"], 2),
                    "hidden units": int(named["width"]),
                    "forked at epoch": int(k),
                    "sibling pairs": str(int(distance.get("n"))) if distance else "0",
                    "relative distance": distance.ci(),
                    "untrained": distance.null_ci(),
                    "raw barrier (points)": raw.ci("pts"),
                    "untrained (points)": raw.null_ci("pts"),
                    "aligned barrier (points)": aligned.ci("pts"),
                    "endpoints' error": ends.ci("pct"),
                    "by the rule (raw)": VERDICT[said] if raw else "no barriers",
                }
            )
        sentences.append(_fork_sentence(named, verdicts))
    if not rows:
        return []
    return [
        "",
        f"### Fork epoch: siblings ({int(forks.epochs.max())} epochs)",
        "",
        f"The {KIND_PAIRS['siblings']}: they share their parent's init and its first K epochs, "
        "then follow their own data orders. They share the init, so the straight line between "
        "them needs no alignment and the rule is applied to the raw barrier (Frankle et al. "
        "2020's test); their untrained null is one network against itself. The other kinds of "
        "pairs of children are in `summary.csv`.",
        "",
        _md_table(pd.DataFrame(rows)),
        "",
        "**Fork epoch.**",
        "",
        *sentences,
    ]


def _fork_sentence(named: dict, verdicts: list[tuple[int, bool | None, Quote]]) -> str:
    """From which fork epoch on the siblings are one basin, if the rule says so for every
    later fork epoch of the run; otherwise each fork epoch's verdict."""
    head = (
        f"- **{named['activation']}, {INIT_NAMES.get(named['init'], named['init'])} init, eta "
        f"{_f(named['eta'], 2)}, {int(named['width'])} hidden units**: "
    )
    listed = "; ".join(f"forked at {k}: {VERDICT[v]}" for k, v, _ in verdicts)
    onward = [
        k for i, (k, _, _) in enumerate(verdicts) if all(v is True for _, v, _ in verdicts[i:])
    ]
    if onward and onward[0] == verdicts[0][0]:
        return head + f"siblings end in one basin at every fork epoch of this run ({listed})."
    if onward:
        return (
            head + f"siblings forked at epoch {onward[0]} or later end in one basin; forked "
            f"earlier, not shown to ({listed})."
        )
    if not any(v is True or v is False for _, v, _ in verdicts):
        return head + f"the run cannot tell at any fork epoch ({listed})."
    return head + (
        f"no fork epoch of this run from which on siblings are shown to be one basin ({listed})."
    )
