"""Read CQC "Latest ratings" files and the HEEC GP practice ratings file.

:func:`read_cqc_ratings` reads a user-supplied CQC ratings file (CSV, XLSX or ODS;
Locations or Providers sheet; every known header variant) into the canonical long
frame declared by :data:`CQC_RATINGS`: one row per (level, provider, location,
service or population group, key question). :func:`read_gp_practices` reads the
embedded HEEC GP practice file into :data:`GP_PRACTICES`.

Both readers follow the same rules:

- every cell is read as text first (spreadsheets through calamine/fastexcel, only
  the publication date may arrive as a date cell); headers and labels are matched
  case- and whitespace-insensitively;
- "Insufficient evidence to rate", "Not rated", "Inspected but not rated", "No published
  rating" (every label of :data:`~ics_model.ratings.NO_RATING_LABELS`) and blanks become
  a null rating with a ``rating_status`` saying why, never a score;
- a key published twice with different dates (or years) keeps the latest as the
  current rating and moves the earlier rows to ``Loaded.superseded`` with a
  ``reason``; the same key twice with the same latest date is a duplicate;
- problems (unknown labels, unparseable dates, duplicates, nulls where a value is
  required) raise one :class:`~ics_model.contracts.DataContractError` listing all
  of them in ``"strict"`` mode, or move the rows to ``Loaded.quarantine`` with a
  reason in ``"lenient"`` mode;
- rows are conserved: ``n_input_rows == frame.height + quarantine.height +
  superseded.height``. Wholly blank rows are not data rows; the notes count them.

``source_row`` is the row number a spreadsheet shows: header = 1, first data row =
2 (for CSV one row per CSV record, blank lines included).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import fastexcel
import polars as pl

from ics_model.contracts import (
    Column,
    Contract,
    Mode,
    require_columns,
)
from ics_model.data.base import Loaded, source_name
from ics_model.data.cqc_tables import (
    DMY_DATE,
    ISO_DATE,
    date_from_text,
    distinct_values,
    file_format,
    map_headers,
    norm_header,
    parse_violations,
    read_table,
    resolve,
    text_frame,
    yes_no,
)
from ics_model.ratings import (
    KeyQuestionEnum,
    RatingEnum,
    RatingStatusEnum,
    key_question_expr_from_text,
    rating_expr_from_text,
)

logger = logging.getLogger(__name__)

LevelEnum: Final = pl.Enum(["provider", "location"])
REPORT_TYPES: Final = frozenset({"Provider", "Location", "CoreService", "Service"})

_GEO = r"(?:ccg|sub ?-? ?icb(?: location)?|sicbl?)"
# canonical name -> full-match pattern on the normalised header (see norm_header)
_CQC_HEADERS: Final[dict[str, str]] = {
    "provider_id": r"provider id",
    "location_id": r"location id",
    "service": r"service ?/ ?population group|service population group",
    "key_question": r"domain|key question",
    "rating": r"latest rating",
    "publication_date": r"publication date",
    "report_type": r"report type",
    "inherited": r"inherited rating(?: .*)?",
    # optional, kept when present
    "provider_name": r"provider name",
    "location_name": r"location name",
    "location_ods_code": r"location ods code",
    "location_type": r"location type(?: ?/ ?sector)?",
    "location_primary_inspection_category": r"location primary inspection category",
    "location_onspd_ccg_code": rf"location onspd {_GEO} code",
    "location_onspd_ccg": rf"location onspd {_GEO}(?: name)?",
    "location_region": r"location region",
    "location_local_authority": r"location local authority",
    "care_home": r"care home\??",
    "provider_type": r"provider type(?: ?/ ?sector)?",
    "provider_primary_inspection_category": r"provider primary inspection category",
    "brand_id": r"brand id",
    "brand_name": r"brand name",
    "url": r"url",
}
# required canonical name -> how messages name it
_CQC_REQUIRED: Final[dict[str, str]] = {
    "provider_id": "Provider ID",
    "service": "Service / Population Group",
    "key_question": "Domain (or Key Question)",
    "rating": "Latest Rating",
    "publication_date": "Publication Date",
    "report_type": "Report Type",
}
OPTIONAL_CQC_COLUMNS: Final = tuple(list(_CQC_HEADERS)[8:])

CQC_RATINGS: Final = Contract(
    name="cqc_ratings",
    description="CQC latest ratings, long: one row per (level, provider, location, service, "
    "key question), the current (latest) publication of each key.",
    key=("level", "provider_id", "location_id", "service", "key_question"),
    columns=(
        Column("provider_id", pl.String, nullable=False, description="ODS code for NHS trusts"),
        Column("location_id", pl.String, description="null on the Providers sheet"),
        Column("level", LevelEnum, nullable=False, description="which sheet"),
        Column("service", pl.String, nullable=False, description="Service / Population Group"),
        Column("key_question", KeyQuestionEnum, nullable=False, description="Domain"),
        Column("rating", RatingEnum, description="null when the cell is not a rating"),
        Column("rating_status", RatingStatusEnum, nullable=False, description="why null"),
        Column("publication_date", pl.Date),
        Column("report_type", pl.String, nullable=False, allowed=REPORT_TYPES),
        Column("inherited", pl.Boolean, description="Inherited Rating (Y/N)"),
        *(Column(name, pl.String, required=False) for name in OPTIONAL_CQC_COLUMNS),
        Column("source_row", pl.Int64, nullable=False, description="row in the file, header 1"),
    ),
)

_GP_HEADERS: Final[dict[str, str]] = {
    "practice_code": r"practice code",
    "practice_name": r"location name|practice name",
    "publication_year": r"year",
    "key_question": r"domain|key question",
    "service": r"service population group",
    "rating": r"latest rating",
    "inherited": r"inherited rating(?: .*)?",
    "imd_score": r"imd(?: score)?",
    "imd_quintile_source": r"imd quintile",
    "icb_name_source": r"icb name",
}
_GP_REQUIRED: Final[dict[str, str]] = {
    "practice_code": "Practice.Code",
    "publication_year": "Year",
    "rating": "latest_rating",
    "imd_score": "IMD",
    "imd_quintile_source": "IMD_quintile",
    "icb_name_source": "ICB_NAME",
}

GP_PRACTICES: Final = Contract(
    name="gp_practices",
    description="CQC overall ratings of GP practices with practice IMD (HEEC cqc.csv).",
    key=("practice_code", "service", "key_question"),
    columns=(
        Column("practice_code", pl.String, description="ODS practice code; null when absent"),
        Column("practice_name", pl.String),
        Column("publication_year", pl.Int32, nullable=False, min_value=2010, max_value=2100),
        Column("key_question", KeyQuestionEnum, nullable=False),
        Column("service", pl.String, nullable=False),
        Column("rating", RatingEnum),
        Column("rating_status", RatingStatusEnum, nullable=False),
        Column("inherited", pl.Boolean),
        Column(
            "imd_score",
            pl.Float64,
            finite=True,
            description="IMD 2019 score; higher = more deprived",
        ),
        Column("imd_quintile", pl.Int8, min_value=1, max_value=5, description="1 = most deprived"),
        Column("imd_quintile_source", pl.Int8, min_value=1, max_value=5, description="as in file"),
        Column("icb_name_source", pl.String, description="the file's short ICB name"),
        Column("source_row", pl.Int64, nullable=False),
    ),
)

# ----------------------------------------------------------------------------- CQC


def sheet_named(path: str | Path, wanted: str) -> str | None:
    """Return the sheet of a workbook called ``wanted`` (case-insensitive), or None.

    None for CSV files and workbooks without such a sheet, so that
    ``read_cqc_ratings(path, sheet=sheet_named(path, "Providers"))`` reads the Providers
    sheet of a full CQC download and falls back to the default choice otherwise.
    """
    p = Path(path)
    if not p.is_file() or file_format(p) == "csv":
        return None
    try:
        names = fastexcel.read_excel(str(p)).sheet_names
    except Exception:  # unreadable: read_cqc_ratings reports it with the file name
        return None
    return next((n for n in names if n.strip().lower() == wanted.strip().lower()), None)


def read_cqc_ratings(
    path: str | Path,
    *,
    sheet: str | None = None,
    mode: Mode = "strict",
    prefer: str | None = None,
) -> Loaded:
    """Read a CQC "Latest ratings" file (Locations or Providers sheet) into :data:`CQC_RATINGS`.

    Parameters
    ----------
    path : a ``.csv``, ``.xlsx`` or ``.ods`` file (other names are sniffed by content).
        CSV text may be UTF-8 (with or without BOM), UTF-16 with a BOM, or cp1252; it
        is read by polars and checked by :mod:`ics_model.data.delimited`.
    sheet : the sheet to read. ``None`` picks "Locations" if present, else "Providers",
        else the only sheet. For CSV it may name the kind ("Locations"/"Providers");
        otherwise a "Location ID" column means a Locations sheet.
    prefer : with ``sheet=None``, the sheet to read when the workbook has it
        (case-insensitive), else the default choice; ignored for CSV. E.g.
        ``prefer="Providers"`` reads the Providers sheet of a full CQC download and the
        only sheet of a Providers-only file, opening the workbook once (unlike
        :func:`sheet_named`, which opens it to list its sheets: for ODS, a full read).
    mode : ``"strict"`` raises one :class:`DataContractError` listing every problem;
        ``"lenient"`` moves the offending rows to ``Loaded.quarantine`` with a reason.

    Returns
    -------
    Loaded
        ``frame`` satisfies :data:`CQC_RATINGS` (optional columns absent from the file
        are null); ``variant`` is ``"<kind>/<key-question header>/<dates>/<format>"``
        with dates one of date-cells, datetime-cells (a time of day seen), text-dates,
        mixed-dates, e.g. ``"providers/key_question/date-cells/xlsx"``;
        ``superseded`` holds earlier publications of a key, with a ``reason``.

    Raises
    ------
    SourceReadError
        The file is missing, a directory, empty, truncated or not the format it claims;
        a CSV record with the wrong number of fields, a quote out of place, NUL bytes or
        text not in its encoding (the message names the line and the column).
    DataContractError
        A required column is missing (the message lists missing and found columns),
        two headers match one field, or (strict mode) rows break the contract:
        unknown rating or key-question label, unparseable date, duplicate key.
    """
    p = Path(path)
    src = source_name(p)
    table = read_table(p, sheet, _CQC_HEADERS["publication_date"], prefer)
    headers = [c for c in table.frame.columns if c != "source_row"]
    mapping = map_headers(headers, _CQC_HEADERS, src)
    hint = norm_header((table.sheet if table.fmt != "csv" else sheet) or "")
    kind = hint if hint in ("locations", "providers") else ""
    kind = kind or ("locations" if "location_id" in mapping else "providers")
    required = {**_CQC_REQUIRED, **({"location_id": "Location ID"} if kind == "locations" else {})}
    missing = [lab for c, lab in required.items() if c not in mapping]
    require_columns(headers, missing, src, recognised=len(required) - len(missing))
    notes = list(table.notes)
    if kind == "providers" and "location_id" in mapping:
        notes.append(f"{mapping.pop('location_id')!r} ignored on a Providers sheet")
    absent = [c for c in OPTIONAL_CQC_COLUMNS if c not in mapping]
    if absent:
        notes.append(f"optional columns not in the file (left null): {', '.join(absent)}")
    geo = mapping.get("location_onspd_ccg_code", "")
    if "icb" in geo.lower():
        notes.append(f"sub-ICB geography: {geo!r} read as location_onspd_ccg_code")

    text, blank = text_frame(table.frame, mapping, list(_CQC_HEADERS))
    rating, status, known = rating_expr_from_text("rating")
    # labels, dates and flags are parsed once per distinct text
    parsed = pl.concat(
        [
            distinct_values(
                text, "rating", {"_rating": rating, "_status": status, "_known": known}
            ),
            distinct_values(
                text, "key_question", {"_kq": key_question_expr_from_text("key_question")}
            ),
            distinct_values(
                text, "publication_date", {"_date": date_from_text("publication_date")}
            ),
            distinct_values(text, "inherited", {"_inherited": yes_no("inherited")}),
        ],
        how="horizontal",
    )
    with_parsed = pl.concat([text, parsed], how="horizontal")
    canon = with_parsed.with_columns(
        pl.lit(kind[:-1], LevelEnum).alias("level"),
        pl.lit(None, pl.String).alias("location_id") if kind == "providers" else "location_id",
        pl.col("_kq").alias("key_question"),
        pl.col("_rating").alias("rating"),
        pl.col("_status").alias("rating_status"),
        pl.col("_date").alias("publication_date"),
        pl.col("_inherited").alias("inherited"),
        *(pl.when(pl.col(c) != "-").then(pl.col(c)).alias(c) for c in ("brand_id", "brand_name")),
    ).drop("_rating", "_status", "_known", "_kq", "_date", "_inherited")
    header = mapping.get
    parse = parse_violations(
        with_parsed,
        [
            (
                "rating",
                pl.when("_known").then(True),
                f"unknown rating label ({header('rating')!r})",
            ),
            (
                "key_question",
                pl.col("_kq"),
                f"unknown key question label ({header('key_question')!r})",
            ),
            (
                "publication_date",
                pl.col("_date"),
                "unparseable date (want a date, dd/mm/yyyy, yyyy-mm-dd)",
            ),
            ("inherited", pl.col("_inherited"), "unknown inherited flag (expected Y or N)"),
        ],
        CQC_RATINGS.name,
    )
    frame, quarantine, superseded = resolve(
        canon, text, parse, CQC_RATINGS, "publication_date", ("location_id",), mode, src
    )
    kq_name = "domain" if norm_header(mapping["key_question"]) == "domain" else "key_question"
    if table.dates in ("text-dates", "mixed-dates"):
        d = pl.col("publication_date")
        n_dmy, n_iso = text.select(
            d.str.contains(DMY_DATE).sum().alias("dmy"),
            d.str.contains(ISO_DATE).sum().alias("iso"),
        ).row(0)
        notes.append(f"text dates: {n_dmy} dd/mm/yyyy, {n_iso} yyyy-mm-dd (or date cells)")
    if blank:
        notes.append(f"{blank} wholly blank row(s) skipped (not counted as input rows)")
    if superseded.height:
        notes.append(f"{superseded.height} row(s) superseded by a later publication of their key")
    variant = f"{kind}/{kq_name}/{table.dates}/{table.fmt}"
    counts = (frame.height, superseded.height, quarantine.height)
    logger.info("%s: %s; %d kept, %d superseded, %d quarantined", src, variant, *counts)
    return Loaded(
        frame=frame,
        source=src,
        n_input_rows=text.height,
        variant=variant,
        quarantine=quarantine,
        superseded=superseded,
        notes=tuple(notes),
    )


# ----------------------------------------------------------------------------- GP practices


def read_gp_practices(path: str | Path, *, mode: Mode = "strict") -> Loaded:
    """Read the HEEC GP practice ratings file (``cqc.csv``) into :data:`GP_PRACTICES`.

    One row per practice: its CQC Overall rating, the year of publication, the
    practice's IMD 2019 score and quintile, and the short ICB name. The literal ``NA``
    means missing. Service and key question default to "Overall" when the file has no
    ``service_population_group`` / ``domain`` columns.

    **Deprivation direction.** The file's ``IMD_quintile`` runs 1 = *least* deprived to
    5 = most deprived (mean IMD score rises with it). ``imd_quintile`` is recoded to the
    IoD convention, **1 = most deprived, 5 = least deprived**, as ``6 - IMD_quintile``;
    the original value is kept as ``imd_quintile_source``. ``imd_score`` is unchanged
    (higher = more deprived).

    Rows without a practice code are kept (``practice_code`` null) for a later mapping
    step to report as unmapped. A practice listed for several years keeps the latest
    year as current; earlier rows go to ``Loaded.superseded``. The same practice twice
    in its latest year is a duplicate.

    Parameters
    ----------
    path : the CSV file.
    mode : ``"strict"`` or ``"lenient"``, as in :func:`read_cqc_ratings`.

    Returns
    -------
    Loaded
        ``variant`` is ``"heec-gp-practices/<format>"`` (``csv`` for the HEEC file).

    Raises
    ------
    SourceReadError, DataContractError
        As in :func:`read_cqc_ratings`.
    """
    p = Path(path)
    src = source_name(p)
    table = read_table(p, None, r"$^")
    headers = [c for c in table.frame.columns if c != "source_row"]
    mapping = map_headers(headers, _GP_HEADERS, src)
    missing = [lab for c, lab in _GP_REQUIRED.items() if c not in mapping]
    require_columns(headers, missing, src, recognised=len(_GP_REQUIRED) - len(missing))
    text, blank = text_frame(table.frame, mapping, list(_GP_HEADERS), nulls=("NA",))
    text = text.with_columns(pl.col("service", "key_question").fill_null("Overall"))
    rating, status, known = rating_expr_from_text("rating")
    kq = key_question_expr_from_text("key_question")
    year = pl.col("publication_year").cast(pl.Int32, strict=False)
    inherited = yes_no("inherited")
    imd = pl.col("imd_score").cast(pl.Float64, strict=False)
    q_src = pl.col("imd_quintile_source").cast(pl.Int8, strict=False)
    canon = text.with_columns(
        year.alias("publication_year"),
        kq.alias("key_question"),
        rating.alias("rating"),
        status.alias("rating_status"),
        inherited.alias("inherited"),
        imd.alias("imd_score"),
        q_src.alias("imd_quintile_source"),
        pl.when(q_src.is_between(1, 5)).then(6 - q_src).cast(pl.Int8).alias("imd_quintile"),
    )
    parse = parse_violations(
        text,
        [
            ("rating", pl.when(known).then(True), "unknown rating label"),
            ("key_question", kq, "unknown key question label"),
            ("publication_year", year, "not a whole year"),
            ("inherited", inherited, "unknown inherited flag (expected Y or N)"),
            ("imd_score", imd, "not a number"),
            ("imd_quintile_source", q_src, "not a whole number"),
        ],
        GP_PRACTICES.name,
    )
    frame, quarantine, superseded = resolve(
        canon, text, parse, GP_PRACTICES, "publication_year", (), mode, src
    )
    codes = frame["practice_code"]
    notes = [
        *table.notes,
        "imd_quintile = 6 - IMD_quintile (now 1 = most deprived); original in imd_quintile_source",
        f"{codes.null_count()} current row(s) without a practice code (kept, unmappable)",
        f"{frame['imd_score'].null_count()} current row(s) without an IMD score",
        f"{frame['icb_name_source'].null_count()} current row(s) without an ICB name",
        f"{(codes.str.len_chars() != 6).sum()} practice code(s) not 6 characters long",
    ]
    if superseded.height:
        which = ", ".join(sorted(superseded["practice_code"].unique().to_list()))
        notes.append(f"{superseded.height} earlier publication(s) superseded: {which}")
    if blank:
        notes.append(f"{blank} wholly blank row(s) skipped (not counted as input rows)")
    counts = (frame.height, superseded.height, quarantine.height)
    logger.info("%s: %d kept, %d superseded, %d quarantined", src, *counts)
    return Loaded(
        frame=frame,
        source=src,
        n_input_rows=text.height,
        variant=f"heec-gp-practices/{table.fmt}",
        quarantine=quarantine,
        superseded=superseded,
        notes=tuple(notes),
    )
