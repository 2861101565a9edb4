"""NHS ODS ePCN: GP practice membership of Primary Care Networks (PCNs), with its history.

:func:`read_epcn` reads the "PCN Core Partner Details" sheet of an ODS ``ePCN.xlsx``
download (or a CSV export of that sheet): one row per **membership spell**, a practice's
relationship with one PCN from a start date to an end date (blank while it lasts). A
practice that moved PCN, or whose PCN was re-coded or merged, has several spells. The
"PCNDetails" sheet (PCN addresses, open and close dates) is not read: every PCN code,
name and sub-ICB location the exposures use is on the membership sheet.

**End dates are inclusive**: ODS ends a spell on the last day of membership (a spell
ending 2020-03-31 is followed by one starting 2020-04-01), so a practice is a member on
day ``t`` when ``start_date <= t <= end_date`` (or ``end_date`` is null).

The sub-ICB locations are those of the **extract date** (ODS's current view), not of the
time of each spell; older spells carry today's codes. Headers contain line breaks in the
ODS workbook and are matched whitespace- and case-insensitively; the CCG-era wording
("Practice Parent CCG Code") is recognised as well.

Reference: NHS England Organisation Data Service, "ePCN" (Primary Care Networks and their
core partners), part of the GP and GP practice related data downloads.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, Mode, require_columns
from ics_model.data.base import Loaded, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.cqc_tables import date_from_text, map_headers, read_table, text_frame, yes_no
from ics_model.data.ods import ORG_CODE_PATTERN
from ics_model.data.readers import parse_yyyymmdd, rule_hits, validate_with_rules

logger = logging.getLogger(__name__)

#: ODS GP practice codes: one letter and five digits (``A81001``).
PRACTICE_CODE_PATTERN: Final = r"[A-Z][0-9]{5}"
#: ODS PCN codes: ``U`` and five digits (``U89141``).
PCN_CODE_PATTERN: Final = r"U[0-9]{5}"
#: the sheet of the ODS workbook that holds the memberships
EPCN_SHEET: Final = "PCN Core Partner Details"
#: the embedded vintages: name -> folder under ``datasets/raw/pcn``
EPCN_VINTAGES: Final[dict[str, str]] = {
    "2024-10": "epcn_2024-10_efejiroe",
    "2023-01": "epcn_2023-01_blackwellrd",
}

_GEO = r"(?:sub icb loc(?:ation)?|ccg)"
#: canonical name -> full-match pattern on the normalised header
_HEADERS: Final[dict[str, str]] = {
    "practice_code": r"partner organisation code",
    "practice_name": r"partner name",
    "practice_sub_icb_code": rf"practice parent {_GEO} code",
    "practice_sub_icb_name": rf"practice parent {_GEO} name",
    "pcn_code": r"pcn code",
    "pcn_name": r"pcn name",
    "pcn_sub_icb_code": rf"pcn parent {_GEO} code",
    "pcn_sub_icb_name": rf"pcn parent {_GEO} name",
    "start_date": r"practice to pcn relationship start date",
    "end_date": r"practice to pcn relationship end date",
    "sub_icb_match": rf"practice {_GEO} and pcn {_GEO} match",
}
#: required canonical name -> how messages name it
_REQUIRED: Final[dict[str, str]] = {
    "practice_code": "Partner Organisation Code",
    "practice_sub_icb_code": "Practice Parent Sub ICB Loc Code",
    "pcn_code": "PCN Code",
    "pcn_sub_icb_code": "PCN Parent Sub ICB Loc Code",
    "start_date": "Practice to PCN Relationship Start Date",
    "end_date": "Practice to PCN Relationship End Date",
}

EPCN_MEMBERSHIPS: Final = Contract(
    name="epcn_memberships",
    description=(
        "ODS ePCN: one row per GP practice x PCN membership spell; end dates inclusive, "
        "null while the practice is still a member; sub-ICB codes of the extract date."
    ),
    key=("practice_code", "pcn_code", "start_date"),
    columns=(
        Column.text("practice_code", "ODS GP practice code", pattern=PRACTICE_CODE_PATTERN),
        Column.text("practice_name", "practice name", nullable=True),
        Column.text(
            "practice_sub_icb_code",
            "practice's parent sub-ICB location (at the extract date)",
            pattern=ORG_CODE_PATTERN,
        ),
        Column.text("practice_sub_icb_name", "its name", nullable=True),
        Column.text("pcn_code", "ODS PCN code", pattern=PCN_CODE_PATTERN),
        Column.text("pcn_name", "PCN name", nullable=True),
        Column.text(
            "pcn_sub_icb_code",
            "PCN's parent sub-ICB location (at the extract date)",
            pattern=ORG_CODE_PATTERN,
        ),
        Column.text("pcn_sub_icb_name", "its name", nullable=True),
        Column("start_date", pl.Date, nullable=False, description="first day of membership"),
        Column("end_date", pl.Date, description="last day of membership; null = still a member"),
        Column(
            "sub_icb_match",
            pl.Boolean,
            nullable=False,
            description="practice and PCN in the same sub-ICB location (the file's flag)",
        ),
        Column("source_row", pl.Int64, nullable=False, description="spreadsheet row, header 1"),
    ),
)


def _date(column: str) -> pl.Expr:
    """Parse ``YYYYMMDD`` (ODS) or an ISO date (a date cell read as text)."""
    return pl.coalesce(parse_yyyymmdd(column), date_from_text(column)).alias(column)


def read_epcn(
    path: str | Path | None = None, *, vintage: str = "2024-10", mode: Mode = "strict"
) -> Loaded:
    """Read the practice-to-PCN membership spells of an ODS ePCN workbook.

    Parameters
    ----------
    path : an ``ePCN.xlsx`` (its "PCN Core Partner Details" sheet) or a CSV export of
        that sheet; default the embedded vintage ``vintage``.
    vintage : which embedded file to read when ``path`` is None: ``"2024-10"`` (ODS
        extract of about 25 October 2024, full history from October 2019; the default) or
        ``"2023-01"`` (about 26 January 2023, an untouched ODS copy used to cross-check
        the later file). Ignored when ``path`` is given.
    mode : ``"strict"`` raises one :class:`~ics_model.contracts.DataContractError`
        listing every problem; ``"lenient"`` quarantines the bad rows with the reasons.

    Returns
    -------
    Loaded
        Frame per :data:`EPCN_MEMBERSHIPS`, one row per spell, in file order. The notes
        give the spells, practices and PCNs, the spells still open, the latest start and
        end dates (which date the extract) and the practices with overlapping spells.

    Raises
    ------
    SourceReadError
        The file or the sheet cannot be read.
    DataContractError
        A missing column; a code that is not an ODS practice, PCN or sub-ICB code; a
        start or end date that is not ``YYYYMMDD``; an end date before the start date;
        a Match flag that is not true/false or disagrees with the two sub-ICB codes; a
        spell listed twice.

    Examples
    --------
    >>> loaded = read_epcn()
    >>> loaded.frame.height, loaded.frame["practice_code"].n_unique()
    (7705, 6813)
    """
    if path is None and vintage not in EPCN_VINTAGES:
        raise ValueError(f"vintage must be one of {sorted(EPCN_VINTAGES)}, got {vintage!r}")
    path = raw_or(path, "pcn", EPCN_VINTAGES.get(vintage, ""), "ePCN.xlsx")
    name = source_name(path)
    table = read_table(path, EPCN_SHEET, r"$^", prefer=EPCN_SHEET)
    headers = [c for c in table.frame.columns if c != "source_row"]
    mapping = map_headers(headers, _HEADERS, name)
    require_columns(headers, [lab for c, lab in _REQUIRED.items() if c not in mapping], name)
    text, blank = text_frame(table.frame, mapping, list(_HEADERS))
    text = text.drop("_index")
    flag = yes_no("sub_icb_match")
    same = pl.col("practice_sub_icb_code") == pl.col("pcn_sub_icb_code")
    parsed = text.with_columns(
        _date("start_date"),
        _date("end_date"),
        # an absent Match column is derived from the two codes
        (flag if "sub_icb_match" in mapping else same).alias("sub_icb_match"),
    )
    hits = [
        rule_hits(
            text,
            c,
            pl.col(c).is_not_null() & parsed[c].is_null(),
            pl.col(c),
            "not a date (expected YYYYMMDD)",
        )
        for c in ("start_date", "end_date")
    ]
    hits.append(
        rule_hits(
            text,
            "sub_icb_match",
            pl.col("sub_icb_match").is_not_null() & flag.is_null(),
            pl.col("sub_icb_match"),
            "not a Match flag (expected true or false)",
        )
    )
    hits.append(
        rule_hits(
            parsed,
            "end_date",
            pl.col("end_date") < pl.col("start_date"),
            pl.col("end_date").cast(pl.String),
            "end date before the start date",
        )
    )
    hits.append(
        rule_hits(
            parsed,
            "sub_icb_match",
            pl.col("sub_icb_match") != same,
            pl.col("sub_icb_match").cast(pl.String),
            "Match flag disagrees with the practice and PCN sub-ICB codes",
        )
    )
    frame = parsed.select(EPCN_MEMBERSHIPS.column_names)
    checked = validate_with_rules(frame, EPCN_MEMBERSHIPS, hits, mode=mode, source=name)
    notes = [*table.notes, *_notes(checked.frame)]
    if blank:
        notes.append(f"{blank} wholly blank row(s) skipped (not counted as input rows)")
    logger.info("read %s: %s", path, notes[-1] if blank else notes[1])
    return loaded_from(path, checked, text.height, "ods-epcn", notes)


def _notes(spells: pl.DataFrame) -> list[str]:
    """Return notes: counts and dates of the spells, practices with overlapping spells."""
    if spells.is_empty():
        return ["no membership spells"]
    open_ = spells["end_date"].is_null().sum()
    ordered = spells.sort("practice_code", "start_date")
    prev_end = pl.col("end_date").shift(1).over("practice_code")
    has_prev = pl.col("start_date").shift(1).over("practice_code").is_not_null()
    overlap = ordered.filter(has_prev & (prev_end.is_null() | (pl.col("start_date") <= prev_end)))
    notes = [
        f"{spells.height} spells: {spells['practice_code'].n_unique()} practices, "
        f"{spells['pcn_code'].n_unique()} PCNs, {open_} spells still open",
        f"start dates {spells['start_date'].min()} to {spells['start_date'].max()}; "
        f"latest end date {spells['end_date'].max()} (the extract is a little later)",
        f"{(~spells['sub_icb_match']).sum()} spells with the practice and its PCN in "
        "different sub-ICB locations",
    ]
    if overlap.height:
        which = ", ".join(sorted(overlap["practice_code"].unique().to_list())[:10])
        notes.append(
            f"{overlap['practice_code'].n_unique()} practice(s) with overlapping spells "
            f"(e.g. {which}): on a day in two spells, the later start counts"
        )
    return notes


__all__ = [
    "EPCN_MEMBERSHIPS",
    "EPCN_SHEET",
    "EPCN_VINTAGES",
    "PCN_CODE_PATTERN",
    "PRACTICE_CODE_PATTERN",
    "read_epcn",
]
