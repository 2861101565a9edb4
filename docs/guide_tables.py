"""Tables the guides show, computed from the embedded data when the site is built.

A guide writes ``<!-- table: NAME -->`` on a line of its own; the build hook replaces it
with the Markdown table :data:`TABLES` ``[NAME]`` returns, so the numbers in the guides are
the library's own on the embedded data, never typed by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import polars as pl

MARKER = re.compile(r"^<!-- table: ([a-z_]+) -->$", re.M)


def _markdown(frame: pl.DataFrame, floats: int = 3) -> str:
    cols = frame.columns
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.iter_rows():
        cells = [
            f"{v:.{floats}f}" if isinstance(v, float) else ("" if v is None else str(v))
            for v in row
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def icbs() -> str:
    """The 42 ICBs of the embedded boundaries: ODS code, GSS code and name."""
    from ics_model.data.build import load_processed

    frame = load_processed("icb_codes").select(
        pl.col("icb_code").alias("ICB code"),
        pl.col("icb_gss").alias("GSS code"),
        pl.col("icb_short_name").alias("name"),
    )
    return _markdown(frame)


def rule_sets() -> str:
    """Every rule set shipped: name, kind, version and description."""
    from ics_model.rules import available_rule_sets, get_rule_set

    rows = []
    for name in available_rule_sets():
        rs = get_rule_set(name)
        rows.append((rs.name, rs.kind, rs.version, " ".join(rs.description.split())))
    return _markdown(
        pl.DataFrame(rows, schema=["rule set", "kind", "version", "what it does"], orient="row")
    )


def rules_check() -> str:
    """Agreement of the CQC principles rule set with CQC's published 2018 aggregates."""
    from ics_model.data.build import load_processed
    from ics_model.rules import check_against_published

    summary = check_against_published(load_processed("cqc_trust_ratings"), "cqc_principles").summary
    return _markdown(summary)


def nof_check() -> str:
    """Agreement of the NOF 2025/26 rule set with the published segments."""
    from ics_model.data.nof import read_nof_segments
    from ics_model.rules.nof import check_nof

    return _markdown(check_nof(read_nof_segments().frame).summary)


TABLES: dict[str, Callable[[], str]] = {
    "icbs": icbs,
    "rule_sets": rule_sets,
    "rules_check": rules_check,
    "nof_check": nof_check,
}


def fill(markdown: str) -> str:
    """Replace every table marker of a page by its table (an unknown name is an error)."""

    def table(match: re.Match) -> str:
        name = match.group(1)
        if name not in TABLES:
            raise KeyError(f"unknown guide table {name!r}; known: {', '.join(TABLES)}")
        return TABLES[name]()

    return MARKER.sub(table, markdown)
