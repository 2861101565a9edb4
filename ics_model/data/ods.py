"""NHS ODS organisation files: NHS trusts (``etr``), sub-ICB locations (``eccg``), successors.

The ODS "GP and other organisation" downloads are headerless CSV files. ``etr``
and ``eccg`` share the standard 27-column layout named in :data:`ODS_COLUMNS`;
``succ`` has 5 columns. Dates are ``YYYYMMDD`` text and become ``pl.Date``; an
empty close date means the organisation is open.

Row numbers (``source_row``) count records from 1 in headerless files and
from 2 (header = row 1) in files with a header.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Literal

import polars as pl

from ics_model.contracts import (
    Column,
    Contract,
    Mode,
)
from ics_model.data.base import Loaded, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.readers import (
    parse_yyyymmdd,
    read_csv_records,
    rule_hits,
    validate_with_rules,
)

logger = logging.getLogger(__name__)

#: Names of the 27 columns of the standard headerless ODS layout (``etr``, ``eccg``, ...).
#: ``organisation_sub_type_code`` is empty in ``etr``; in ``eccg`` it holds ODS role
#: codes (``RO319`` sub-ICB location, ``RO218`` commissioning hub, ``RO327`` sub-ICB
#: reporting entity, ``RO326`` an extra role of the six sub-ICB locations that have
#: reporting entities), ``|``-separated when there are several.
ODS_COLUMNS: Final[tuple[str, ...]] = (
    "organisation_code",
    "name",
    "national_grouping",
    "high_level_health_geography",
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "address_line_4",
    "address_line_5",
    "postcode",
    "open_date",
    "close_date",
    "null_12",
    "organisation_sub_type_code",
    "null_14",
    "null_15",
    "null_16",
    "contact_telephone_number",
    "null_18",
    "null_19",
    "null_20",
    "amended_record_indicator",
    "null_22",
    "gor_code",
    "null_24",
    "null_25",
    "null_26",
)

#: Columns of the headerless ODS successor file ``succ``.
SUCC_COLUMNS: Final[tuple[str, ...]] = (
    "predecessor_code",
    "successor_code",
    "reserved",
    "effective_date",
    "indicator",
)

ORG_CODE_PATTERN: Final = r"[A-Z0-9]{3}(?:[A-Z0-9]{2})?"
#: ICB ODS codes: ``Q..`` (2022-2026 ICBs) or the 5-character April 2026 codes (``Z9B2Z``).
ICB_CODE_PATTERN: Final = r"Q[A-Z0-9]{2}|[A-Z][0-9][A-Z][0-9][A-Z]"
REGION_CODE_PATTERN: Final = r"Y[0-9]{2}"
POSTCODE_PATTERN: Final = r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}"
#: Government Office Region letters used by ODS for English organisations (W = Wales).
ENGLISH_GOR_CODES: Final = frozenset("ABDEFGHJK")

#: Kinds of organisation in ``eccg``, classified from the role code and the name.
SUB_ICB_KINDS: Final[tuple[str, ...]] = (
    "sub_icb_location",
    "reporting_entity",
    "commissioning_hub",
    "icb",
    "ccg",
)
SubIcbKind: Final = pl.Enum(list(SUB_ICB_KINDS))

TrustVintage = Literal["2025", "2026"]

TRUST_VINTAGES: Final[dict[str, tuple[str, ...]]] = {
    "2025": ("ods_trusts", "etr_2025_jhau-nhs-spend", "etr.csv"),
    "2026": ("ods_trusts", "etr_2026-07_riyaburman", "etr.csv"),
}

_S = pl.String


def _text(name: str, nullable: bool = True, **kw) -> Column:
    return Column(name, _S, nullable=nullable, **kw)


_DATES = (
    Column("open_date", pl.Date, nullable=False, description="ODS open date"),
    Column("close_date", pl.Date, description="ODS close date; null while open"),
    Column("is_open", pl.Boolean, nullable=False, description="close_date is null"),
)
_SOURCE_ROW = Column("source_row", pl.Int64, nullable=False, description="record number in file")

TRUSTS_CONTRACT: Final = Contract(
    name="ods_trusts",
    description="NHS trusts from the ODS etr file, one row per organisation code.",
    key=("org_code",),
    columns=(
        _text("org_code", False, pattern=ORG_CODE_PATTERN, description="ODS trust code"),
        _text("name", False),
        _text("region_code", pattern=REGION_CODE_PATTERN, description="NHS England region"),
        _text("icb_code", pattern=ICB_CODE_PATTERN, description="host ICB; null in Wales"),
        _text("postcode", pattern=POSTCODE_PATTERN),
        *_DATES,
        _text("country", allowed=frozenset({"England", "Wales"})),
        _text("gor_code", pattern=r"[A-Z]"),
        _text("amended_record_indicator", allowed=frozenset({"0", "1"})),
        _SOURCE_ROW,
    ),
)

SUB_ICBS_CONTRACT: Final = Contract(
    name="ods_sub_icbs",
    description="CCGs, sub-ICB locations, reporting entities and hubs from ODS eccg.",
    key=("org_code",),
    columns=(
        _text("org_code", False, pattern=ORG_CODE_PATTERN),
        _text("name", False),
        Column("kind", SubIcbKind, nullable=False, description="classified from role and name"),
        _text("icb_code", pattern=ICB_CODE_PATTERN, description="parent ICB (QWO for hubs)"),
        _text("region_code", pattern=REGION_CODE_PATTERN),
        _text("postcode", pattern=POSTCODE_PATTERN),
        *_DATES,
        _text("organisation_sub_type_code", pattern=r"RO[0-9]+(?:\|RO[0-9]+)*"),
        _SOURCE_ROW,
    ),
)

SUCCESSORS_CONTRACT: Final = Contract(
    name="ods_successors",
    description="ODS successor organisations: one row per predecessor-successor pair.",
    key=("predecessor_code", "successor_code"),
    columns=(
        _text("predecessor_code", False, pattern=r"[A-Z0-9]{3,9}"),
        _text("successor_code", False, pattern=r"[A-Z0-9]{3,9}"),
        _text("reserved"),
        Column("effective_date", pl.Date, nullable=False),
        Column("indicator", pl.Int8, nullable=False, allowed=frozenset({"0", "1"})),
        _SOURCE_ROW,
    ),
)


# ---------------------------------------------------------------------------
# the standard 27-column layout
# ---------------------------------------------------------------------------


def _read_ods_standard(path: Path) -> tuple[str, pl.DataFrame, list[str], list[str]]:
    """Read a 27-column file: (file name, raw text frame, reserved columns kept, notes)."""
    raw = read_csv_records(path, columns=ODS_COLUMNS)[1]
    kept, notes = _reserved_columns(raw)
    return source_name(path), raw, kept, notes


def _open_close() -> list[pl.Expr]:
    """``open_date`` and ``close_date`` as dates, and ``is_open`` (no close date)."""
    close = parse_yyyymmdd("close_date")
    return [
        parse_yyyymmdd("open_date").alias("open_date"),
        close.alias("close_date"),
        close.is_null().alias("is_open"),
    ]


def _date_rules(raw: pl.DataFrame, names: Sequence[str]) -> list[pl.DataFrame]:
    """Non-empty date text that is not ``YYYYMMDD``."""
    return [
        rule_hits(
            raw,
            n,
            pl.col(n).is_not_null() & parse_yyyymmdd(n).is_null(),
            pl.col(n),
            "not a date in YYYYMMDD form",
        )
        for n in names
    ]


def _open_close_rules(raw: pl.DataFrame) -> list[pl.DataFrame]:
    """Open and close dates that are not ``YYYYMMDD``, and a close before the open."""
    order = rule_hits(
        raw,
        "close_date",
        parse_yyyymmdd("close_date") < parse_yyyymmdd("open_date"),
        pl.format("{} < open {}", pl.col("close_date"), pl.col("open_date")),
        "close date before open date",
    )
    return [*_date_rules(raw, ("open_date", "close_date")), order]


def _reserved_columns(raw: pl.DataFrame) -> tuple[list[str], list[str]]:
    """Reserved (``null_*``) columns that hold values are kept; empty ones are dropped."""
    reserved = [c for c in ODS_COLUMNS if c.startswith("null_")]
    used = [c for c in reserved if raw[c].is_not_null().any()]
    notes = [f"reserved column {c} holds values: kept" for c in used]
    return used, notes


def read_ods_trusts(
    path: str | Path | None = None, *, vintage: TrustVintage = "2025", mode: Mode = "strict"
) -> Loaded:
    """Read an ODS NHS trusts file (``etr``).

    Parameters
    ----------
    path : the headerless 27-column ``etr.csv``; default the embedded file of ``vintage``.
    vintage : ``"2025"`` (42-ICB geography, 2022-2026) or ``"2026"`` (the April 2026
        36-ICB codes). Only chooses the default file; with ``path`` it is a label.
    mode : ``"strict"`` raises on any contract violation; ``"lenient"`` quarantines rows.

    Returns
    -------
    Loaded
        Frame per :data:`TRUSTS_CONTRACT`: ``org_code, name, region_code`` (national
        grouping, Y56-Y63), ``icb_code`` (high level health geography; null for Welsh
        trusts), ``postcode, open_date, close_date, is_open, country`` ("England" or
        "Wales", from the GOR letter or the presence of an ICB code), then the other
        raw ODS columns (address lines, phone, sub-type, amended indicator,
        ``gor_code``) and ``source_row``. Reserved columns that are empty are dropped.

    Raises
    ------
    SourceReadError
        Missing, unreadable or ragged/truncated file.
    DataContractError
        Strict mode, any violation (bad dates cite their record number).
    """
    if vintage not in TRUST_VINTAGES:
        raise ValueError(f"vintage must be one of {sorted(TRUST_VINTAGES)}, got {vintage!r}")
    path = raw_or(path, *TRUST_VINTAGES[vintage])
    name, raw, kept, notes = _read_ods_standard(path)
    frame = raw.select(
        pl.col("organisation_code").alias("org_code"),
        "name",
        pl.col("national_grouping").alias("region_code"),
        pl.col("high_level_health_geography").alias("icb_code"),
        "postcode",
        *_open_close(),
        pl.when(pl.col("gor_code") == "W")
        .then(pl.lit("Wales"))
        .when(
            pl.col("gor_code").is_in(sorted(ENGLISH_GOR_CODES))
            | pl.col("high_level_health_geography").is_not_null()
        )
        .then(pl.lit("England"))
        .alias("country"),
        *[f"address_line_{i}" for i in range(1, 6)],
        "contact_telephone_number",
        "organisation_sub_type_code",
        "amended_record_indicator",
        "gor_code",
        *kept,
        "source_row",
    )
    hits = _open_close_rules(raw)
    checked = validate_with_rules(frame, TRUSTS_CONTRACT, hits, mode=mode, source=name)
    out = checked.frame
    n_unknown = out.filter(pl.col("country").is_null()).height
    if n_unknown:
        notes.append(f"{n_unknown} trust(s) with no GOR letter and no ICB: country unknown")
    open_eng = out.filter(pl.col("is_open") & (pl.col("country") == "England"))
    notes.append(
        f"vintage {vintage}: {out.height} trusts, {out['is_open'].sum()} open, "
        f"{open_eng.height} open in England with {open_eng['icb_code'].n_unique()} ICB codes"
    )
    logger.info("read %s: %s", path, notes[-1])
    return loaded_from(path, checked, raw.height, "ods-headerless-27", notes)


def _classify_sub_icb(name: pl.Expr, roles: pl.Expr) -> pl.Expr:
    """Return the kind of an ``eccg`` organisation, from its ODS roles first and its name second."""
    r = roles.fill_null("")
    has = lambda code: r.str.contains(rf"(?:^|\|){code}(?:\||$)")  # noqa: E731
    return (
        pl.when(has("RO218") | name.str.contains(r"COMMISSIONING HUB$"))
        .then(pl.lit("commissioning_hub"))
        .when(has("RO327") | name.str.contains(r"SUB-ICB REPORTING ENTITY$"))
        .then(pl.lit("reporting_entity"))
        .when(has("RO319") | name.str.contains(r"^NHS .+ ICB - [A-Z0-9]{3,5}$"))
        .then(pl.lit("sub_icb_location"))
        .when(has("RO318") | name.str.contains(r"(?:INTEGRATED CARE BOARD| ICB)$"))
        .then(pl.lit("icb"))
        .when(has("RO98") | name.str.contains(r" CCG$"))
        .then(pl.lit("ccg"))
        .cast(SubIcbKind)
    )


def read_ods_sub_icbs(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read the ODS ``eccg`` file: CCGs, sub-ICB locations, reporting entities, hubs.

    Parameters
    ----------
    path : the headerless 27-column ``eccg.csv``; default the embedded 2025 file.
    mode : ``"strict"`` or ``"lenient"``.

    Returns
    -------
    Loaded
        Frame per :data:`SUB_ICBS_CONTRACT`: ``org_code, name, kind, icb_code,
        region_code, postcode, open_date, close_date, is_open,
        organisation_sub_type_code`` (raw ODS roles), ``source_row``. ``kind`` is
        ``sub_icb_location`` (role RO319, "NHS ... ICB - 00L"), ``reporting_entity``
        (RO327, "... - SUB-ICB REPORTING ENTITY"), ``commissioning_hub`` (RO218),
        ``icb`` (RO318 or an ICB name) or ``ccg`` (pre-2022 CCGs, all closed); a row
        that fits none is a violation.
    """
    path = raw_or(path, *TRUST_VINTAGES["2025"][:2], "eccg.csv")
    name, raw, _, notes = _read_ods_standard(path)
    frame = raw.select(
        pl.col("organisation_code").alias("org_code"),
        "name",
        _classify_sub_icb(pl.col("name"), pl.col("organisation_sub_type_code")).alias("kind"),
        pl.col("high_level_health_geography").alias("icb_code"),
        pl.col("national_grouping").alias("region_code"),
        "postcode",
        *_open_close(),
        "organisation_sub_type_code",
        "source_row",
    )
    unclassified = rule_hits(
        frame, "kind", pl.col("kind").is_null(), pl.col("name"), "cannot classify this name"
    )
    hits = [*_open_close_rules(raw), unclassified]
    checked = validate_with_rules(frame, SUB_ICBS_CONTRACT, hits, mode=mode, source=name)
    out = checked.frame
    counts = out.filter("is_open").group_by("kind").len().sort("kind").iter_rows()
    notes.append(f"{out['is_open'].sum()} open: " + ", ".join(f"{n} {k}" for k, n in counts))
    logger.info("read %s: %s", path, notes[-1])
    return loaded_from(path, checked, raw.height, "ods-headerless-27", notes)


def read_ods_successors(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read the ODS successor file ``succ`` (old organisation code -> new code).

    Parameters
    ----------
    path : the headerless 5-column ``succ.csv``; default the embedded file.
    mode : ``"strict"`` or ``"lenient"``.

    Returns
    -------
    Loaded
        Frame per :data:`SUCCESSORS_CONTRACT`: ``predecessor_code, successor_code,
        reserved`` (empty in ODS), ``effective_date`` (Date), ``indicator`` (Int8,
        0/1, the ODS succession indicator, kept as published), ``source_row``. The
        key is the (predecessor, successor) pair: a predecessor can have several
        successors (splits, e.g. QNQ -> S0E4D, S9B9J, QRL in April 2026) and a
        successor several predecessors (mergers).
    """
    path = raw_or(path, "ods_trusts", "succ.csv")
    name = source_name(path)
    _, raw = read_csv_records(path, columns=SUCC_COLUMNS)
    frame = raw.select(
        "predecessor_code",
        "successor_code",
        "reserved",
        parse_yyyymmdd("effective_date").alias("effective_date"),
        pl.col("indicator").cast(pl.Int8, strict=False),
        "source_row",
    )
    hits = [
        *_date_rules(raw, ("effective_date",)),
        rule_hits(
            raw,
            "indicator",
            pl.col("indicator").is_not_null()
            & pl.col("indicator").cast(pl.Int8, strict=False).is_null(),
            pl.col("indicator"),
            "not an integer",
        ),
    ]
    checked = validate_with_rules(frame, SUCCESSORS_CONTRACT, hits, mode=mode, source=name)
    out = checked.frame
    n_split = out.group_by("predecessor_code").len().filter(pl.col("len") > 1).height
    notes = [
        f"{out.height} pairs; {n_split} predecessors have more than one successor",
        f"effective dates {out['effective_date'].min()} to {out['effective_date'].max()}",
    ]
    logger.info("read %s: %s", path, notes[0])
    return loaded_from(path, checked, raw.height, "ods-succ-5", notes)
