"""Imported networks in the workflow: groups from the config's ``imported`` key.

Each group lists network files (paths or globs, any format of ``twinnets.dumps.formats``).
Every file becomes a dump ``results/imported/<group>/weights/<stem>.parquet``; the
group is analysed like a group of the grid, and its tables, summary, answer and figure
land in ``results/imported/<group>/``. Imported networks have no seeds, eta or epochs, so the
tables say so: those columns are empty (NaN), ``pair_kind`` is ``unknown_seeds``, and
the networks are named by their files (``network``, ``a_network``, ``b_network``).
"""

from __future__ import annotations

import glob
import math
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # the rule files import this module: keep the analysis out of parsing
    from twinnets.compare.groups import GroupAnalysis
    from twinnets.dumps.storage import Dump

ROOT = "results/imported/{group}"
WEIGHTS = ROOT + "/weights/{network}.parquet"
TABLE = ROOT + "/tables/{table}.parquet"
SUMMARY = ROOT + "/tables/summary.csv"
ANSWER = ROOT + "/answer.md"
FIGURE = ROOT + "/figures/distances.{ext}"
WILDCARD_PATTERNS = {"group": r"[a-z0-9][a-z0-9_-]*", "network": r"[A-Za-z0-9][A-Za-z0-9_.-]*"}
SEEDS = ("init_seed", "order_seed")


class ImportedConfigError(ValueError):
    """An ``imported`` entry of the workflow config is wrong; the message names it."""


def _patterns(entry: Mapping[str, Any]) -> list[str]:
    files = entry["files"]
    return [files] if isinstance(files, str) else list(files)


@cache
def _expand(patterns: tuple[str, ...]) -> tuple[str, ...]:
    paths: list[str] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        paths += [p for p in found if p not in paths]
    return tuple(paths)


def networks(config: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """group -> {network name (the file's stem) -> file}, globs expanded, in sorted order."""
    groups: dict[str, dict[str, str]] = {}
    for i, entry in enumerate(config.get("imported", [])):
        name = entry["name"]
        where = f"imported[{i}] ({name})"
        if name in groups:
            raise ImportedConfigError(f"{where}: the name {name!r} is used twice")
        members: dict[str, str] = {}
        for path in _expand(tuple(_patterns(entry))):
            stem = Path(path).stem
            if not re.fullmatch(WILDCARD_PATTERNS["network"], stem):
                raise ImportedConfigError(
                    f"{where}: file {path}: its name {stem!r} must be letters, digits, '.', '_' "
                    "or '-' (it names the network's dump)"
                )
            if stem in members:
                raise ImportedConfigError(
                    f"{where}: {members[stem]} and {path} would both be network {stem!r}; "
                    "rename one"
                )
            if not Path(path).is_file():
                raise ImportedConfigError(f"{where}: file {path} does not exist")
            members[stem] = path
        if len(members) < 2:
            raise ImportedConfigError(
                f"{where}: files {entry['files']!r} match {len(members)} file(s); "
                "a group needs at least two networks to compare"
            )
        groups[name] = members
    return groups


def check_config(config: Mapping[str, Any]) -> None:
    """Checks of the ``imported`` key beyond the schema (files exist, names unique)."""
    networks(config)


def entry(config: Mapping[str, Any], group: str) -> Mapping[str, Any]:
    """The config's entry of ``group``."""
    for item in config.get("imported", []):
        if item["name"] == group:
            return item
    raise ImportedConfigError(f"imported has no group named {group!r}")


def weights(config: Mapping[str, Any], group: str) -> list[str]:
    """The dumps of one imported group."""
    return [WEIGHTS.format(group=group, network=n) for n in networks(config)[group]]


def targets(config: Mapping[str, Any]) -> list[str]:
    """Everything the imported groups produce: tables, summary, answer, figure."""
    out = []
    for group in networks(config):
        out += [TABLE.format(group=group, table=t) for t in ("pairs", "networks", "curves")]
        out += [SUMMARY.format(group=group), ANSWER.format(group=group)]
        out += [FIGURE.format(group=group, ext=ext) for ext in ("svg", "png")]
    return out


@cache
def file_sizes(path: str, fmt: str = "auto") -> tuple[int, ...]:
    """A network file's layer sizes (for resource estimates before it is imported)."""
    from twinnets.dumps.formats import read_network

    return read_network(path, fmt).sizes


class RuleFunctions:
    """The input, params and resource functions of ``workflow/rules/imported.smk``.

    Rule files hold rules only (``snakemake --lint``); these close over the config.
    Wildcards are ``imported_group`` and ``imported_network``.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.groups = networks(config)

    def source(self, wildcards: Any) -> str:
        """The file that a group's network was imported from."""
        return self.groups[wildcards.imported_group][wildcards.imported_network]

    def setting(self, key: str) -> Callable[[Any], Any]:
        """A params function: the group's ``format`` or ``activation``."""
        return lambda wildcards: entry(self.config, wildcards.imported_group)[key]

    def weights(self, wildcards: Any) -> list[str]:
        return weights(self.config, wildcards.imported_group)

    def work(self, wildcards: Any) -> tuple:
        """What the group's analysis compares: sizes, networks, training images, barriers.

        Imported networks are evaluated on all 50,000 training images (their own
        training set is unknown).
        """
        group = wildcards.imported_group
        first = next(iter(self.groups[group].values()))
        sizes = file_sizes(first, entry(self.config, group)["format"])
        return sizes, len(self.groups[group]), 50_000, self.config["analysis"]["barrier_pairs"]

    def runtime(self, wildcards: Any, attempt: int) -> int:
        from twinnets.pipeline import resources

        return resources.analyze_runtime(*self.work(wildcards), attempt=attempt)

    def mem_mb(self, wildcards: Any, attempt: int) -> int:
        from twinnets.pipeline import resources

        return resources.analyze_mem_mb(*self.work(wildcards), attempt=attempt)


# --------------------------------------------------------------------------- tables

#: Group columns that an imported network may not know: emptied rather than defaulted.
UNKNOWN_NUMBERS = ("eta", "epochs", "lmbda")
UNKNOWN_WORDS = ("init",)


def _na_where(values: list[Any], unknown: list[bool]) -> pd.Series:
    return pd.Series(
        [pd.NA if u else v for v, u in zip(values, unknown, strict=True)], dtype="Int64"
    )


def mark_unknown(result: GroupAnalysis, dumps: Sequence[Dump]) -> GroupAnalysis:
    """The group's tables with what imported networks do not know left empty, not defaulted.

    ``analyze_group`` reads ``Dump.config``, which fills unknown settings with defaults;
    here those columns become NaN (eta, epochs, lmbda), None (init) or <NA> (seeds),
    and networks are named by file. (The analysis itself already gives pairs with
    unknown seeds the kind ``unknown_seeds`` and uses fresh inits for their nulls.)
    """
    from twinnets.compare.groups import GroupAnalysis

    names = [d.name for d in dumps]
    n = len(dumps)
    index_pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]  # analyze_group's order
    pairs = result.pairs.copy()
    networks_table = result.networks.copy()
    pairs.insert(0, "a_network", [names[i] for i, _ in index_pairs])
    pairs.insert(1, "b_network", [names[j] for _, j in index_pairs])
    networks_table.insert(0, "network", names)
    networks_table["source_format"] = [(d.source or {}).get("format", "dump") for d in dumps]
    networks_table["source_sha256"] = [(d.source or {}).get("sha256") for d in dumps]
    for column in (*UNKNOWN_NUMBERS, *UNKNOWN_WORDS):
        empty = math.nan if column in UNKNOWN_NUMBERS else None
        unknown = [column in d.unknown for d in dumps]
        networks_table[column] = [
            empty if u else v for v, u in zip(networks_table[column], unknown, strict=True)
        ]
        pairs[column] = [
            empty if unknown[i] or unknown[j] else v
            for v, (i, j) in zip(pairs[column], index_pairs, strict=True)
        ]
    for seed in SEEDS:
        unknown = [seed in d.unknown for d in dumps]
        networks_table[seed] = _na_where(list(networks_table[seed]), unknown)
        for side, k in (("a", 0), ("b", 1)):
            column = f"{side}_{seed}"
            flags = [unknown[p[k]] for p in index_pairs]
            pairs[column] = _na_where(list(pairs[column]), flags)
    curves = result.curves.copy()
    if len(curves):
        curves = _name_curves(curves, result.pairs, pairs)
    return GroupAnalysis(pairs, networks_table, curves)


def _name_curves(
    curves: pd.DataFrame, raw_pairs: pd.DataFrame, pairs: pd.DataFrame
) -> pd.DataFrame:
    """Each curve point gets its pair's network names; unknown settings are emptied as in pairs."""
    keys = ["a_init_seed", "a_order_seed", "b_init_seed", "b_order_seed"]
    computed = raw_pairs.index[raw_pairs["barrier_computed"]]
    # curves come in analyze_group's pair order, 2 alignments x points per pair
    per_pair = len(curves) // len(computed)
    rows = np.repeat(computed.to_numpy(), per_pair)
    out = curves.reset_index(drop=True).copy()
    out.insert(0, "a_network", pairs["a_network"].to_numpy()[rows])
    out.insert(1, "b_network", pairs["b_network"].to_numpy()[rows])
    for column in (*UNKNOWN_NUMBERS, *UNKNOWN_WORDS, "pair_kind", *keys):
        out[column] = pairs[column].to_numpy()[rows]
    return out


#: Stand-ins for unknown group columns while the summary groups by them.
_FILL = {"eta": -1.0, "epochs": -1, "lmbda": -1.0, "init": "unknown"}


def summary(pairs: pd.DataFrame, networks_table: pd.DataFrame) -> pd.DataFrame:
    """``summary.summarise`` for an imported group: every network is its own resampling unit.

    Imported networks carry no seeds to resample, so the bootstrap draws networks (a
    pair counts c(A) c(B) times); unknown group columns stay empty in the result.
    """
    from twinnets.compare.summary import summarise

    unit = {name: k for k, name in enumerate(networks_table["network"])}
    nets = networks_table.assign(
        init_seed=networks_table["network"].map(unit),
        order_seed=networks_table["network"].map(unit),
    )
    table = pairs.assign(
        a_init_seed=pairs["a_network"].map(unit), a_order_seed=pairs["a_network"].map(unit),
        b_init_seed=pairs["b_network"].map(unit), b_order_seed=pairs["b_network"].map(unit),
    )  # fmt: skip
    out = summarise(table.fillna(_FILL), nets.fillna(_FILL))
    for column, stand_in in _FILL.items():
        out[column] = out[column].where(out[column] != stand_in)
    return out


# --------------------------------------------------------------------------- answer


def answer_markdown(
    group: str, summary_table: pd.DataFrame, pairs: pd.DataFrame, networks_table: pd.DataFrame
) -> str:
    """``results/imported/<group>/answer.md``: every number from its tables, beside its null."""
    from twinnets.report.answer import _md_table

    kinds = summary_table["pair_kind"]
    activation = _activation(networks_table)
    lines = [
        *_answer_preamble(group, networks_table),
        *(
            line
            for kind in dict.fromkeys(kinds[kinds != "networks"])
            for line in _kind_section(summary_table, kind, activation)
        ),
        "",
        "## Every pair",
        "",
        _md_table(_pair_rows(pairs)),
        *_unknown_section(networks_table),
    ]
    return "\n".join(lines) + "\n"


def _activation(networks_table: pd.DataFrame) -> str:
    """The group's hidden activation (tables from before it was recorded: sigmoid)."""
    if "activation" not in networks_table:
        return "sigmoid"
    return str(networks_table["activation"].iloc[0])


def _answer_preamble(group: str, networks_table: pd.DataFrame) -> list[str]:
    """Title, how to read the numbers, and the networks with their accuracies."""
    from twinnets.report.answer import _md_table, _pct

    sizes = networks_table["sizes"].iloc[0]
    table = pd.DataFrame(
        {
            "network": [f"`{n}`" for n in networks_table["network"]],
            "format": networks_table["source_format"],
            "test accuracy": networks_table["test_accuracy"].map(_pct),
            "init": [
                "own (rebuilt from its seed)" if k else "unknown (null: a fresh init)"
                for k in networks_table["init_known"].astype(bool)
            ],
        }
    )
    return [
        f"# Imported networks `{group}`: how different are they really?",
        "",
        f"_Generated by twinnets from `results/imported/{group}/tables/`; every number is computed "
        "from the imported networks, none is typed by hand. Each is quoted as `value [95% "
        "interval]`, the interval a bootstrap that resamples the networks (the files carry no "
        "seeds to resample); 'untrained' is the same statistic for the networks' own "
        "initialisations where their files say how they were drawn, and otherwise for fresh "
        "random initialisations of the same sizes (Nielsen's N(0, 1) scheme): what two "
        "unrelated networks of this shape give._",
        "",
        f"**The networks.** {len(networks_table)} networks of sizes {sizes} "
        f"({_activation(networks_table)} hidden units), evaluated "
        "by twinnets on MNIST's test set.",
        "",
        _md_table(table),
    ]


def _kind_section(frame: pd.DataFrame, kind: str, activation: str = "sigmoid") -> list[str]:
    """One pair kind's distances, symmetry, never-seen pixels, shared function and barriers."""
    from twinnets.compare.symmetry import symmetry
    from twinnets.report.answer import KIND_PAIRS, Quote, one_basin

    def quote(statistic: str) -> Quote:
        rows = frame[(frame["pair_kind"] == kind) & (frame["statistic"] == statistic)]
        return Quote(rows.iloc[0] if len(rows) else None)

    rel, signed = quote("relative_all"), quote("relative_signed")
    share, agreement = quote("symmetry_share"), quote("agreement")
    raw, aligned = quote("barrier_test_error_raw"), quote("barrier_test_error_aligned")
    ends = quote("endpoint_test_error_raw")
    words = KIND_PAIRS.get(kind, "pairs whose seeds are not all known")
    basin = one_basin(aligned, ends)
    lines = [
        "",
        f"## Over the {words} ({int(rel.get('n'))} pairs)",
        "",
        f"- **How far apart?** Relative distance ||A - B|| / sqrt(||A|| ||B||) over all "
        f"parameters **{rel.ci()}** (untrained {rel.null_ci()}).",
        f"- **Symmetry**: after the best hidden-unit permutation and {symmetry(activation).moves} "
        f"**{signed.ci()}** (untrained, aligned the same way: {signed.null_ci()}); alignment "
        f"removes {share.ci('pct')} of the squared distance (untrained {share.null_ci('pct')}).",
        f"- **Never-seen pixels**: {quote('dead_share').ci('pct')} of the squared raw "
        "distance lies in the weights of pixels that are zero in every training image "
        f"(untrained {quote('dead_share').null_ci('pct')}).",
        f"- **What they share**: the same label on {agreement.ci('pct')} of test images "
        f"(untrained {agreement.null_ci('pct')}; independent errors "
        f"{agreement.baseline_ci('pct')}); linear CKA of the hidden layers "
        f"{quote('cka_linear').ci()} (untrained {quote('cka_linear').null_ci()}).",
    ]
    if raw:
        lines.append(
            f"- **Barriers** ({int(raw.get('n'))} pairs): test error rises "
            f"{raw.ci('pts')} percentage points above the straight line between the two, "
            f"{aligned.ci('pts')} points under the best alignment (endpoints' error "
            f"{ends.ci('pct')}; untrained {aligned.null_ci('pts')} points)"
            + (
                "."
                if basin is None
                else ": one basin up to symmetry by the rule of twinnets' answer."
                if basin
                else ": not one basin by the rule of twinnets' answer (aligned barrier "
                "interval reaching 0, or below 10% of the endpoints' error)."
            )
        )
    return lines


def _pair_rows(pairs: pd.DataFrame) -> pd.DataFrame:
    """Every pair's distances, agreement and barriers, beside the untrained values."""
    from twinnets.report.answer import _pct

    return pd.DataFrame(
        {
            "A": [f"`{n}`" for n in pairs["a_network"]],
            "B": [f"`{n}`" for n in pairs["b_network"]],
            "relative distance (untrained)": [
                f"{a:.3f} ({b:.3f})"
                for a, b in zip(pairs.relative_all, pairs.null_relative_all, strict=True)
            ],
            "aligned (untrained)": [
                f"{a:.3f} ({b:.3f})"
                for a, b in zip(pairs.relative_signed, pairs.null_relative_signed, strict=True)
            ],
            "agreement": pairs["agreement"].map(_pct),
            "barrier raw (points)": (100 * pairs["barrier_test_error_raw"]).map(
                lambda v: f"{v:.1f}"
            ),
            "barrier aligned (points)": (100 * pairs["barrier_test_error_aligned"]).map(
                lambda v: f"{v:.1f}"
            ),
        }
    )


def _unknown_section(networks_table: pd.DataFrame) -> list[str]:
    """What the files do not say, when some networks' inits are unknown."""
    unknown = networks_table[~networks_table["init_known"].astype(bool)]["network"].tolist()
    if not unknown:
        return []
    return [
        "",
        "## What the files do not say",
        "",
        "The files carry parameters, not how they were trained: "
        + ", ".join(f"`{n}`" for n in unknown)
        + " have unknown initialisations, seeds, learning rate and epochs (null in their "
        "dumps' metadata). Their nulls use fresh initialisations of the same sizes, so they "
        "say what two unrelated random networks give, not where these networks started; the "
        "split of a difference into the inits' part and training's part is not computed.",
    ]


# --------------------------------------------------------------------------- figure


def distance_figure(pairs: pd.DataFrame, networks_table: pd.DataFrame, out: Sequence[str]) -> None:
    """Raw and aligned relative distance and agreement of every pair, as three matrices."""
    from matplotlib.figure import Figure

    from twinnets.report.figures.style import save, style

    names = list(networks_table["network"])
    index = {n: k for k, n in enumerate(names)}
    panels = [
        ("relative_all", "raw", 0.0, math.sqrt(2)),
        ("relative_signed", "aligned", 0.0, math.sqrt(2)),
        ("agreement", "agreement", 0.5, 1.0),
    ]
    with style():
        size = 1.2 + 0.35 * len(names)
        fig = Figure(figsize=(3 * size + 1.5, size + 0.6), layout="constrained")
        axes = fig.subplots(1, 3)
        for ax, (column, title, low, high) in zip(axes, panels, strict=True):
            matrix = np.full((len(names), len(names)), 1.0 if column == "agreement" else 0.0)
            for r in pairs.itertuples():
                i, j = index[r.a_network], index[r.b_network]
                matrix[i, j] = matrix[j, i] = getattr(r, column)
            image = ax.imshow(matrix, vmin=low, vmax=high, cmap="viridis")
            if len(names) <= 12:
                for (i, j), value in np.ndenumerate(matrix):
                    colour = "black" if value > low + 0.6 * (high - low) else "white"
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", color=colour,
                            fontsize=7)  # fmt: skip
            ax.set_title(title)
            ax.set_xticks(range(len(names)), names, rotation=90)
            ax.set_yticks(range(len(names)), names)
            fig.colorbar(image, ax=ax, shrink=0.8)
        fig.suptitle(
            "Relative distance ||A - B|| / sqrt(||A|| ||B||), raw and after hidden-unit alignment; "
            "agreement on test labels"
        )
        save(fig, list(out))
