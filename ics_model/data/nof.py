"""NHS Oversight Framework (NOF) 2025/26 segments of NHS trusts, as a provider-level source.

:func:`read_nof_segments` reads NHS England's NOF segmentation from the trust profiles
table (the embedded Q3 2025/26 compilation, data month March 2026, or a file with the
same columns). NOF scores every metric 1 (best) to 4 (worst); a trust's **average metric
score** is cut into **segments** 1 (best) to 4, a trust in financial deficit can be no
better than segment 3 (the *adjusted* segment), and segment 5 is for trusts in intensive
support (NHS England, *NHS Oversight Framework 2025/26*, segmentation and league tables).
**Lower is better** for every score, rank and segment here.

The ``rating_*`` columns of the trust profiles are one hospital site's CQC rating, not a
trust rating, and are never read.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, Mode, require_columns
from ics_model.data.base import Loaded, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.readers import read_csv_records, rule_hits, validate_with_rules
from ics_model.ratings import NOF_DOMAINS

logger = logging.getLogger(__name__)

_ODS_CODE: Final = r"[A-Z0-9]{3,6}"
#: segments 1 (best) to 4, and 5 (intensive support)
_SEGMENT: Final = {"min_value": 1, "max_value": 5}
#: metric and domain scores run from 1 (best) to 4
_SCORE: Final = {"min_value": 1.0, "max_value": 4.0, "finite": True}
_LOWER: Final = " (lower is better)"

#: column of the trust profiles -> column of :data:`NOF_SEGMENTS`, numeric ones
_NUMERIC: Final[dict[str, tuple[str, pl.DataType]]] = {
    "overall_adjusted_segment": ("adjusted_segment", pl.Int64()),
    "overall_avg_metric_score": ("avg_metric_score", pl.Float64()),
    "lt_rank": ("league_rank", pl.Int64()),
    "lt_segment": ("league_segment", pl.Int64()),
    "lt_avg_score": ("league_avg_score", pl.Float64()),
    **{f"domain_score_{d}": (f"domain_score_{d}", pl.Float64()) for d in NOF_DOMAINS},
    **{f"domain_segment_{d}": (f"domain_segment_{d}", pl.Int64()) for d in NOF_DOMAINS},
}
_FLAGS: Final[dict[str, str]] = {
    "lt_in_deficit": "league_in_deficit",
    "fin_in_deficit": "in_deficit",
}

NOF_SEGMENTS: Final = Contract(
    name="nof_segments",
    description=(
        "NHS Oversight Framework 2025/26 segmentation, one row per organisation in the "
        "trust profiles; scores, ranks and segments: lower is better."
    ),
    key=("org_code",),
    columns=(
        Column.text("org_code", "ODS code", pattern=_ODS_CODE),
        Column.text("org_name", "organisation name", nullable=True),
        Column.text("nhs_trust_type", "NHS England's trust type", nullable=True),
        Column.text("data_month", "NOF data month (YYYY-MM)", pattern=r"\d{4}-\d{2}"),
        Column(
            "adjusted_segment",
            pl.Int64,
            **_SEGMENT,
            description="NOF segment after the financial adjustment" + _LOWER,
        ),
        Column(
            "avg_metric_score",
            pl.Float64,
            **_SCORE,
            description="average of the trust's NOF metric scores" + _LOWER,
        ),
        Column("league_rank", pl.Int64, min_value=1, description="league-table rank" + _LOWER),
        Column("league_segment", pl.Int64, **_SEGMENT, description="league-table segment" + _LOWER),
        Column("league_avg_score", pl.Float64, **_SCORE, description="league-table score" + _LOWER),
        Column("league_in_deficit", pl.Boolean, description="in deficit (league table)"),
        Column("in_deficit", pl.Boolean, description="in financial deficit (finance data)"),
        *(
            Column(f"domain_score_{d}", pl.Float64, **_SCORE, description=f"{d} score" + _LOWER)
            for d in NOF_DOMAINS
        ),
        *(
            Column(f"domain_segment_{d}", pl.Int64, **_SEGMENT, description=f"{d} segment" + _LOWER)
            for d in NOF_DOMAINS
        ),
        Column("source_row", pl.Int64, nullable=False),
    ),
)


def _number(column: str, dtype: pl.DataType) -> pl.Expr:
    """Parse a text cell as a number; whole-number columns accept ``"3.0"``."""
    value = pl.col(column).str.strip_chars().cast(pl.Float64, strict=False)
    if dtype == pl.Int64():
        return (pl.when(value == value.round(0)).then(value).cast(pl.Int64, strict=False)).alias(
            column
        )
    return value.alias(column)


def _flag(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return (
        pl.when(text.is_in(["1", "1.0", "True", "true"]))
        .then(pl.lit(True))
        .when(text.is_in(["0", "0.0", "False", "false"]))
        .then(pl.lit(False))
        .alias(column)
    )


def read_nof_segments(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read NHS Oversight Framework 2025/26 segments and scores of NHS trusts.

    Parameters
    ----------
    path : a CSV with the trust-profile columns ``org_code``, ``org_name``, ``data_month``,
        ``Trust_type``, ``overall_adjusted_segment``, ``overall_avg_metric_score``,
        ``lt_rank``, ``lt_segment``, ``lt_avg_score``, ``lt_in_deficit``,
        ``fin_in_deficit`` and ``domain_score_*`` / ``domain_segment_*`` for the five NOF
        domains (:data:`~ics_model.ratings.NOF_DOMAINS`); default the embedded NOF
        2025/26 Q3 trust profiles (221 organisations, 150 segmented, data month 2026-03).
    mode : ``"strict"`` raises one :class:`~ics_model.contracts.DataContractError`
        listing every problem; ``"lenient"`` quarantines the bad rows with the reasons.

    Returns
    -------
    Loaded
        Frame per :data:`NOF_SEGMENTS`: one row per organisation, segments as integers
        (1 best ... 4 worst, 5 = intensive support), scores 1 (best) to 4, deficit flags
        as booleans; organisations without a segment keep null NOF columns (they are
        reported when placed, never dropped).

    Raises
    ------
    DataContractError
        Strict mode: a missing column, a non-numeric score, a segment that is not a whole
        number in 1-5, a score outside 1-4, a duplicated code.
    """
    path = raw_or(path, "nof", "nof_2025-26_q3_trustpulse", "trust_profiles.csv")
    name = source_name(path)
    header, raw = read_csv_records(path)
    require_columns(
        header, ["org_code", "org_name", "data_month", "Trust_type", *_NUMERIC, *_FLAGS], name
    )
    parsed = raw.select(
        "org_code",
        "org_name",
        pl.col("Trust_type").alias("nhs_trust_type"),
        "data_month",
        *(_number(c, dtype) for c, (_, dtype) in _NUMERIC.items()),
        *(_flag(c) for c in _FLAGS),
        "source_row",
    )
    problems = {
        c: (new, "not a number" if dtype == pl.Float64() else "not a whole number")
        for c, (new, dtype) in _NUMERIC.items()
    } | {c: (new, "not a deficit flag (expected 0 or 1)") for c, new in _FLAGS.items()}
    # a non-blank cell that did not parse
    hits = [
        rule_hits(
            raw,
            new,
            pl.col(c).str.strip_chars().ne("") & parsed.get_column(c).is_null(),
            pl.col(c),
            problem,
        )
        for c, (new, problem) in problems.items()
    ]
    frame = parsed.rename({c: new for c, (new, _) in _NUMERIC.items()} | dict(_FLAGS)).select(
        NOF_SEGMENTS.column_names
    )
    checked = validate_with_rules(frame, NOF_SEGMENTS, hits, mode=mode, source=name)
    out = checked.frame
    n_seg = out["adjusted_segment"].is_not_null().sum()
    n_league = out["league_rank"].is_not_null().sum()
    months = sorted(out["data_month"].unique().to_list())
    notes = [
        f"{out.height} organisations: {n_seg} with an adjusted NOF segment, {n_league} on "
        f"the acute league table; data month {', '.join(months)}; lower is better"
    ]
    logger.info("read %s: %s", path, notes[0])
    return loaded_from(path, checked, raw.height, "nof-trust-profiles", notes)
