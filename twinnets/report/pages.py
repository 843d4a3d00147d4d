"""The report's pages that are not figures: the answer and the summary table as HTML.

Kept apart from the figures (and free of matplotlib) so that editing a figure does not
rebuild the pages, nor editing a page redraw the figures.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from twinnets._io import atomic_write_text
from twinnets.report.figures.labels import eta_text
from twinnets.report.figures.tables import Table, read_table
from twinnets.report.selection import FORK_COLUMN, KIND_WORDS

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 1.5rem auto;
       padding: 0 1rem; line-height: 1.5; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.85rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }}
th {{ background: #f0f0f0; }}
td:first-child, th:first-child {{ text-align: left; }}
code {{ background: #f4f4f4; padding: 0 0.2rem; }}
</style></head><body>
{body}
</body></html>
"""

# --------------------------------------------------------------------------- the answer


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"(?<![\w/])_(.+?)_(?![\w/])", r"<em>\1</em>", text)


def _table_html(lines: list[str]) -> str:
    """A pipe table (its ``---`` rule dropped) as an HTML table."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    rows = [r for r in rows if not all(re.fullmatch(r":?-+:?", c) for c in r)]
    head = "".join(f"<th>{_inline(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def markdown_html(markdown: str) -> str:
    """The subset of Markdown that ``answer.md`` uses (headings, paragraphs, bold,
    italics, code, pipe tables) as HTML: no extra dependency for one generated file."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = block.strip().splitlines()
        if all(line.strip().startswith("|") for line in lines):
            out.append(_table_html(lines))
        elif m := re.match(r"(#{1,6})\s+(.*)", lines[0]):
            level = len(m[1])
            out.append(f"<h{level}>{_inline(m[2])}</h{level}>")
            if lines[1:]:
                out.append(f"<p>{_inline(' '.join(lines[1:]))}</p>")
        else:
            out.append(f"<p>{_inline(' '.join(line.strip() for line in lines))}</p>")
    return "\n".join(out)


def answer_page(answer: str | os.PathLike, out: str | os.PathLike) -> None:
    """``answer.md`` as a self-contained HTML page for the report."""
    text = Path(answer).read_text()
    title = text.splitlines()[0].lstrip("# ").strip() if text else "answer"
    atomic_write_text(out, _PAGE.format(title=html.escape(title), body=markdown_html(text)))


# --------------------------------------------------------------------------- the summary

#: The statistics a reader needs first (summary.csv has them all), with their labels.
SUMMARY_STATISTICS = {
    "relative_all": ("relative distance, raw", "{:.3f}"),
    "relative_signed": ("aligned", "{:.3f}"),
    "symmetry_share": ("symmetry share", "{:.1%}"),
    "training_share": ("training's net share", "{:.1%}"),
    "dead_share": ("share of dead pixels", "{:.1%}"),
    "cka_linear": ("linear CKA", "{:.3f}"),
    "agreement": ("agreement", "{:.1%}"),
    "barrier_test_error_raw": ("test-error barrier, raw (points)", "{:.1f}"),
    "barrier_test_error_aligned": ("aligned (points)", "{:.1f}"),
}

_SUMMARY_INTRO = (
    "<h1>Summary: each statistic per group and pair kind</h1>\n"
    "<p>Each cell is <em>value [95% interval]</em>, the interval a bootstrap over init and "
    "order seeds (never over pairs, which share networks), and in brackets the same "
    "statistic for the pairs' own untrained initialisations. Relative distance is "
    "||A - B|| / sqrt(||A|| ||B||) over all parameters (sqrt 2 = 1.414 for two independent "
    "random vectors); <em>aligned</em> after factoring out hidden-unit permutations and "
    "sign flips (positive rescaling for ReLU networks). Shares are ratios of sums over the kind's pairs. Barriers are the rise "
    "of test error above the straight line between the two networks, in percentage "
    "points. Every statistic, with its interval, null and independence baseline, is in "
    "<code>summary.csv</code>.</p>\n"
)


def _with_interval(row: pd.Series, prefix: str, fmt: str, points: bool) -> str:
    scale = 100.0 if points else 1.0
    value, low, high = (row.get(prefix + s, np.nan) for s in ("", "_low", "_high"))
    if pd.isna(value):
        return ""
    text = fmt.format(scale * value)
    if not pd.isna(low):
        text += f" [{fmt.format(scale * low)}, {fmt.format(scale * high)}]"
    return text


def _summary_row(head: dict, group: pd.DataFrame) -> dict:
    """One group and pair kind: its coordinates, pairs, and each statistic with its null."""
    row = {**head, "pairs": int(group["n"].max())}
    row["pair_kind"] = KIND_WORDS.get(row["pair_kind"], row["pair_kind"])
    row["eta"] = eta_text(row["eta"])
    if FORK_COLUMN in row:  # the groups of forked children; empty for the grid's own
        row[FORK_COLUMN] = "" if pd.isna(row[FORK_COLUMN]) else str(int(row[FORK_COLUMN]))
    for _, stat in group.iterrows():
        label, fmt = SUMMARY_STATISTICS[stat["statistic"]]
        points = "points" in label
        shown = _with_interval(stat, "value", fmt, points)
        null = _with_interval(stat, "null", fmt, points)
        row[label] = f"{shown} (untrained {null})" if null else shown
    return row


def summary_page(summary: Table, out: str | os.PathLike) -> None:
    """The key statistics per group and pair kind, each with its interval and null."""
    frame = read_table(summary, forks=True)
    keys = [k for k in ("model", "sizes", "eta", "epochs", FORK_COLUMN, "pair_kind") if k in frame]
    frame = frame[frame["statistic"].isin(SUMMARY_STATISTICS)]
    shown = pd.DataFrame(
        [
            _summary_row(dict(zip(keys, key, strict=True)), group)
            for key, group in frame.groupby(keys, sort=True, dropna=False)
        ]
    ).rename(columns={FORK_COLUMN: "forked at epoch"})
    keys = ["forked at epoch" if k == FORK_COLUMN else k for k in keys]
    order = [k for k in keys if k in shown] + ["pairs"]
    labels = [label for label, _ in SUMMARY_STATISTICS.values() if label in shown]
    shown = shown[order + labels] if len(shown) else shown
    body = _SUMMARY_INTRO + shown.to_html(index=False, border=0, escape=True)
    atomic_write_text(out, _PAGE.format(title="twinnets summary", body=body))
