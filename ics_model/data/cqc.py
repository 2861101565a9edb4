"""Read CQC "Latest ratings" files and the HEEC GP practice ratings file.

:func:`read_cqc_ratings` reads a user-supplied CQC ratings file (CSV, XLSX or ODS;
Locations or Providers sheet; every known header variant) into the canonical long
frame declared by :data:`CQC_RATINGS`: one row per (level, provider, location,
service or population group, key question). :func:`read_gp_practices` reads the
embedded HEEC GP practice file into :data:`GP_PRACTICES`.

Both readers follow the same rules:

- every cell is read as text first (spreadsheets through calamine/fastexcel);
  labels are matched case- and whitespace-insensitively;
- "Insufficient evidence to rate", "Not rated" and blanks become a null rating
  with a ``rating_status`` saying why, never a score;
- a key published twice with different dates (or years) keeps the latest as the
  current rating and moves the earlier rows to ``Loaded.superseded`` with a reason;
  the same key with the same (latest) date twice is a duplicate;
- problems (unknown labels, unparseable dates, duplicates, nulls where a value is
  required) raise one :class:`~ics_model.contracts.DataContractError` listing all of
  them in ``"strict"`` mode, or move the rows to ``Loaded.quarantine`` with a reason
  in ``"lenient"`` mode;
- rows are conserved: ``n_input_rows == frame.height + quarantine.height +
  superseded.height``; wholly blank rows are not data rows and are only counted in
  the notes.

``source_row`` is the row number in the file as a spreadsheet shows it: header = 1,
first data row = 2 (for CSV, one row per CSV record, blank lines included).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import fastexcel
import polars as pl

from ics_model.contracts import (
    VIOLATION_SCHEMA,
    Column,
    Contract,
    DataContractError,
    Mode,
    find_violations,
    require_columns,
    to_quarantine,
    validate,
)
from ics_model.data.base import Loaded, SourceReadError, source_name
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

_OPTIONAL = (
    ("provider_name", "Provider Name"),
    ("location_name", "Location Name"),
    ("location_ods_code", "Location ODS Code"),
    ("location_type", "Location Type"),
    ("location_primary_inspection_category", "Location Primary Inspection Category"),
    ("location_onspd_ccg_code", "Location ONSPD CCG (or sub-ICB) Code: GSS E38"),
    ("location_onspd_ccg", "Location ONSPD CCG (or sub-ICB) name"),
    ("location_region", "Location Region"),
    ("location_local_authority", "Location Local Authority"),
    ("care_home", "Care Home? (Y/N)"),
    ("provider_type", "Provider Type"),
    ("provider_primary_inspection_category", "Provider Primary Inspection Category"),
    ("brand_id", "Brand ID ('-' in the file becomes null)"),
    ("brand_name", "Brand Name ('-' in the file becomes null)"),
    ("url", "URL"),
)
OPTIONAL_CQC_COLUMNS: Final = tuple(name for name, _ in _OPTIONAL)

CQC_RATINGS: Final = Contract(
    name="cqc_ratings",
    description="CQC latest ratings, long: one row per (level, provider, location, service, "
    "key question); the current (latest) publication of each key.",
    key=("level", "provider_id", "location_id", "service", "key_question"),
    columns=(
        Column(
            "provider_id",
            pl.String,
            nullable=False,
            description="Provider ID (ODS code for NHS trusts)",
        ),
        Column("location_id", pl.String, description="Location ID; null on the Providers sheet"),
        Column("level", LevelEnum, nullable=False, description="which sheet: provider or location"),
        Column("service", pl.String, nullable=False, description="Service / Population Group"),
        Column(
            "key_question", KeyQuestionEnum, nullable=False, description="Domain / Key Question"
        ),
        Column("rating", RatingEnum, description="null when not a rating"),
        Column("rating_status", RatingStatusEnum, nullable=False, description="why rating is null"),
        Column("publication_date", pl.Date),
        Column("report_type", pl.String, nullable=False, allowed=REPORT_TYPES),
        Column("inherited", pl.Boolean, description="Inherited Rating (Y/N)"),
        *(Column(name, pl.String, required=False, description=d) for name, d in _OPTIONAL),
        Column("source_row", pl.Int64, nullable=False, description="row in the file, header = 1"),
    ),
)

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
        Column("imd_score", pl.Float64, description="IMD 2019 score; higher = more deprived"),
        Column("imd_quintile", pl.Int8, min_value=1, max_value=5, description="1 = most deprived"),
        Column("imd_quintile_source", pl.Int8, min_value=1, max_value=5, description="as in file"),
        Column("icb_name_source", pl.String, description="the file's short ICB name"),
        Column("source_row", pl.Int64, nullable=False),
    ),
)


@dataclass(frozen=True)
class _Field:
    name: str  # canonical (raw-text) column name
    pattern: str  # full match on the normalised header
    label: str  # how messages name it


_GEO = r"(?:ccg|sub ?-? ?icb(?: location)?|sicbl?)"
_CQC_FIELDS: Final = (
    _Field("provider_id", r"provider id", "Provider ID"),
    _Field("location_id", r"location id", "Location ID"),
    _Field(
        "service",
        r"service ?/ ?population group|service population group",
        "Service / Population Group",
    ),
    _Field("key_question", r"domain|key question", "Domain (or Key Question)"),
    _Field("rating", r"latest rating", "Latest Rating"),
    _Field("publication_date", r"publication date", "Publication Date"),
    _Field("report_type", r"report type", "Report Type"),
    _Field("inherited", r"inherited rating(?: .*)?", "Inherited Rating (Y/N)"),
    _Field("provider_name", r"provider name", "Provider Name"),
    _Field("location_name", r"location name", "Location Name"),
    _Field("location_ods_code", r"location ods code", "Location ODS Code"),
    _Field("location_type", r"location type(?: ?/ ?sector)?", "Location Type"),
    _Field("location_primary_inspection_category", r"location primary inspection category", ""),
    _Field("location_onspd_ccg_code", rf"location onspd {_GEO} code", "Location ONSPD CCG Code"),
    _Field("location_onspd_ccg", rf"location onspd {_GEO}(?: name)?", "Location ONSPD CCG"),
    _Field("location_region", r"location region", "Location Region"),
    _Field("location_local_authority", r"location local authority", "Location Local Authority"),
    _Field("care_home", r"care home\??", "Care Home?"),
    _Field("provider_type", r"provider type(?: ?/ ?sector)?", "Provider Type"),
    _Field("provider_primary_inspection_category", r"provider primary inspection category", ""),
    _Field("brand_id", r"brand id", "Brand ID"),
    _Field("brand_name", r"brand name", "Brand Name"),
    _Field("url", r"url", "URL"),
)
_CQC_REQUIRED: Final = (
    "provider_id",
    "service",
    "key_question",
    "rating",
    "publication_date",
    "report_type",
)

_GP_FIELDS: Final = (
    _Field("practice_code", r"practice code", "Practice.Code"),
    _Field("publication_year", r"year", "Year"),
    _Field("practice_name", r"location name|practice name", "location_name"),
    _Field("service", r"service population group", "service_population_group"),
    _Field("key_question", r"domain|key question", "domain"),
    _Field("rating", r"latest rating", "latest_rating"),
    _Field("inherited", r"inherited rating(?: .*)?", "inherited_rating_y_n"),
    _Field("imd_score", r"imd(?: score)?", "IMD"),
    _Field("imd_quintile_source", r"imd quintile", "IMD_quintile"),
    _Field("icb_name_source", r"icb name", "ICB_NAME"),
)
_GP_REQUIRED: Final = (
    "practice_code",
    "publication_year",
    "rating",
    "imd_score",
    "imd_quintile_source",
    "icb_name_source",
)

_SPREADSHEET_SUFFIXES: Final = {
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xlsb": "xlsb",
    ".xls": "xls",
    ".ods": "ods",
}
_ISO_DATE = r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_DMY_DATE = r"^\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?)?$"
_YES = ("y", "yes", "true")
_NO = ("n", "no", "false")


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Table:
    """A file read as text: original headers, String columns, plus ``source_row``."""

    frame: pl.DataFrame
    fmt: str
    sheet: str | None
    dates: str  # date-cells, datetime-cells, text-dates, mixed-dates, no-dates
    notes: tuple[str, ...]


def _norm_header(header: str) -> str:
    return " ".join(str(header).replace("_", " ").replace(".", " ").split()).lower()


def _check_path(path: Path) -> None:
    if not path.exists():
        raise SourceReadError(path, "no such file")
    if path.is_dir():
        raise SourceReadError(path, "is a directory, not a file")


def _file_format(path: Path) -> str:
    fmt = _SPREADSHEET_SUFFIXES.get(path.suffix.lower())
    if fmt is not None:
        return fmt
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise SourceReadError(path, str(exc)) from exc
    if head.startswith(b"PK\x03\x04"):
        return "ods" if b"opendocument.spreadsheet" in head else "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    return "csv"


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """Text of a CSV file and the encoding used: UTF-8 (BOM or not), UTF-16 with BOM, cp1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:8192]:
        raise SourceReadError(path, "binary content (NUL bytes): not a CSV text file")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise SourceReadError(path, f"UTF-8 byte-order mark but invalid UTF-8: {exc}") from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise SourceReadError(path, f"text is neither UTF-8 nor cp1252: {exc}") from exc


def _dedupe(headers: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        name = h if h not in seen else f"{h}_{seen[h]}"
        seen[h] = seen.get(h, 0) + 1
        out.append(name)
    return out


def _read_csv(path: Path, null_values: Sequence[str] = ()) -> _Table:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceReadError(path, str(exc)) from exc
    if not data.strip():
        raise SourceReadError(path, "empty file")
    text, encoding = _decode(path, data)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise SourceReadError(path, f"malformed CSV: {exc}") from exc
    headers = _dedupe([h.strip() for h in records[0]])
    width = len(headers)
    columns: list[list[str | None]] = [[] for _ in headers]
    nulls = {"", *null_values}
    for number, rec in enumerate(records[1:], start=2):
        if len(rec) > width and any(v.strip() for v in rec[width:]):
            raise SourceReadError(path, f"row {number} has {len(rec)} fields, header has {width}")
        for i in range(width):
            value = rec[i].strip() if i < len(rec) else ""
            columns[i].append(None if value in nulls else value)
    frame = pl.DataFrame(
        {h: pl.Series(h, col, dtype=pl.String) for h, col in zip(headers, columns, strict=True)}
    ).with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("source_row"))
    notes = (f"CSV decoded as {encoding}" + (", tab-separated" if delimiter == "\t" else ""),)
    return _Table(frame, "csv", None, "text-dates", notes)


def _pick_sheet(path: Path, names: Sequence[str], sheet: str | None) -> str:
    lookup = {n.strip().lower(): n for n in names}
    if sheet is not None:
        if sheet.strip().lower() in lookup:
            return lookup[sheet.strip().lower()]
        raise SourceReadError(path, f"no sheet named {sheet!r}; sheets: {', '.join(names)}")
    for wanted in ("locations", "providers"):
        if wanted in lookup:
            return lookup[wanted]
    if len(names) == 1:
        return names[0]
    raise SourceReadError(
        path, f"no 'Locations' or 'Providers' sheet; pass sheet= one of: {', '.join(names)}"
    )


def _read_spreadsheet(path: Path, fmt: str, sheet: str | None, date_pattern: str) -> _Table:
    """Read one sheet with calamine: every column as text, the date column typed if it can be."""
    try:
        reader = fastexcel.read_excel(str(path))
        name = _pick_sheet(path, reader.sheet_names, sheet)
        headers = [c.name for c in reader.load_sheet(name, n_rows=0).available_columns()]
        date_idx = [i for i, h in enumerate(headers) if re.fullmatch(date_pattern, _norm_header(h))]
        as_text = {i: "string" for i in range(len(headers)) if i not in date_idx[:1]}
        opts = {"whitespace_as_null": True, "skip_whitespace_tail_rows": True}
        try:
            frame = reader.load_sheet(
                name, dtypes=as_text, dtype_coercion="strict", schema_sample_rows=None, **opts
            ).to_polars()
            mixed = False
        except fastexcel.UnsupportedColumnTypeCombinationError:
            frame = reader.load_sheet(name, dtypes="string", **opts).to_polars()
            mixed = True
    except SourceReadError:
        raise
    except (fastexcel.FastExcelError, OSError, ValueError, pl.exceptions.PolarsError) as exc:
        raise SourceReadError(path, f"not a readable {fmt} workbook: {exc}".strip()) from exc
    dates, notes = "no-dates", [f"sheet {name!r}"]
    if date_idx:
        col = frame.columns[date_idx[0]]
        dtype = frame.schema[col]
        if mixed:
            dates = "mixed-dates"
            notes.append("publication dates mix date cells and text")
        elif isinstance(dtype, pl.Datetime):
            timed = frame.select((pl.col(col).dt.time() != dt.time(0)).sum()).item()
            dates = "datetime-cells" if timed else "date-cells"
            if timed:
                notes.append(f"{timed} publication date(s) carry a time of day; date part kept")
            frame = frame.with_columns(pl.col(col).dt.date())
        elif dtype == pl.Date:
            dates = "date-cells"
        elif dtype == pl.String:
            dates = "text-dates"
        frame = frame.with_columns(pl.col(col).cast(pl.String))
    frame = frame.with_columns(pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("source_row"))
    return _Table(frame, fmt, name, dates, tuple(notes))


def _read_table(path: str | Path, sheet: str | None, date_pattern: str, nulls=()) -> _Table:
    p = Path(path)
    _check_path(p)
    fmt = _file_format(p)
    if fmt == "csv":
        return _read_csv(p, nulls)
    return _read_spreadsheet(p, fmt, sheet, date_pattern)


def _map_headers(headers: Sequence[str], fields: Sequence[_Field], source: str) -> dict[str, str]:
    """Canonical name -> header in the file; two headers for one field is an error."""
    found: dict[str, list[str]] = {}
    for h in headers:
        norm = _norm_header(h)
        for f in fields:
            if re.fullmatch(f.pattern, norm):
                found.setdefault(f.name, []).append(h)
                break
    clashes = {k: v for k, v in found.items() if len(v) > 1}
    if clashes:
        v = pl.DataFrame(
            {
                "contract": [source] * len(clashes),
                "row": [None] * len(clashes),
                "column": [", ".join(hs) for hs in clashes.values()],
                "value": [None] * len(clashes),
                "problem": [f"several headers match the field {k!r}" for k in clashes],
            },
            schema=VIOLATION_SCHEMA,
        )
        raise DataContractError(source, v, source)
    return {k: v[0] for k, v in found.items()}


def _require(headers: Sequence[str], mapping: dict[str, str], required, fields, source) -> None:
    labels = {f.name: f.label for f in fields}
    missing = [labels[name] for name in required if name not in mapping]
    require_columns([h for h in headers if h != "source_row"], missing, source)


# ----------------------------------------------------------------------------- parsing


def _text(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.strip_chars()


def _date_from_text(col: str) -> pl.Expr:
    s = _text(col)
    iso = s.str.extract(r"^(\d{4}-\d{1,2}-\d{1,2})").str.to_date("%Y-%m-%d", strict=False)
    dmy = s.str.extract(r"^(\d{1,2}/\d{1,2}/\d{4})").str.to_date("%d/%m/%Y", strict=False)
    return pl.when(s.str.contains(_ISO_DATE)).then(iso).when(s.str.contains(_DMY_DATE)).then(dmy)


def _yes_no(col: str) -> pl.Expr:
    s = _text(col).str.to_lowercase()
    return pl.when(s.is_in(_YES)).then(True).when(s.is_in(_NO)).then(False).otherwise(None)


def _unparsed(col: str, parsed: pl.Expr) -> pl.Expr:
    """A cell that holds text the parser could not read."""
    return pl.col(col).is_not_null() & parsed.is_null()


def _flag(
    text: pl.DataFrame, mask: pl.Expr, column: str, problem: str, contract: str
) -> pl.DataFrame:
    """Violations (with ``_index``) for rows of the text frame where ``mask`` holds."""
    return text.filter(mask).select(
        pl.lit(contract).alias("contract"),
        pl.col("source_row").alias("row"),
        pl.lit(column).alias("column"),
        pl.col(column).cast(pl.String).alias("value"),
        pl.lit(problem).alias("problem"),
        pl.col("_index").cast(pl.Int64),
    )


def _resolve(
    canon: pl.DataFrame,
    raw: pl.DataFrame,
    parse_violations: list[pl.DataFrame],
    contract: Contract,
    order: str,
    fill_keys: Sequence[str],
    mode: Mode,
    source: str,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Check rows, split superseded publications off, find duplicates; strict raises.

    ``canon`` and ``raw`` (the file's text under canonical names, for quarantine
    records) share ``_index`` and ``source_row``. Returns (frame, quarantine, superseded).
    """
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode must be 'strict' or 'lenient', got {mode!r}")
    checks = find_violations(canon.drop("_index"), replace(contract, key=()))
    if checks["_index"].null_count():
        raise DataContractError(contract.name, checks.drop("_index"), source)
    bad = pl.concat([*parse_violations, checks], how="vertical")
    ok = canon.filter(~pl.col("_index").is_in(bad["_index"].implode()))
    keys = list(contract.key)
    k = [pl.col(c).fill_null("") if c in fill_keys else pl.col(c) for c in keys]
    keyed = pl.all_horizontal([pl.col(c).is_not_null() for c in keys if c not in fill_keys])
    latest = pl.col(order).max().over(k)
    old = keyed & pl.col(order).is_not_null() & (pl.col(order) < latest)
    ok = ok.with_columns(_latest=latest, _old=old.fill_null(False))
    superseded = ok.filter("_old")
    current = ok.filter(~pl.col("_old"))
    dup = (keyed & (pl.len().over(k) > 1)).fill_null(False)
    dup_rows = current.filter(dup)
    key_text = pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("<null>") for c in keys], separator=" | "
    )
    dups = dup_rows.select(
        pl.lit(contract.name).alias("contract"),
        pl.col("source_row").alias("row"),
        pl.lit("+".join(keys)).alias("column"),
        key_text.alias("value"),
        pl.format(
            "duplicate key: {} rows with this key and the same latest {} ({})",
            pl.len().over(k),
            pl.lit(order),
            pl.col(order).cast(pl.String).fill_null("missing"),
        ).alias("problem"),
        pl.col("_index"),
    )
    violations = pl.concat([bad, dups], how="vertical").sort("row", "column")
    if violations.height and mode == "strict":
        raise DataContractError(contract.name, violations.drop("_index"), source)
    reasons = violations.group_by("_index").agg(
        pl.format("{}: {} ({})", "column", pl.col("value").fill_null("<null>"), "problem")
        .str.join("; ")
        .alias("reason")
    )
    q_rows = raw.join(reasons, on="_index", how="inner").sort("_index")
    quarantine = to_quarantine(q_rows.drop("_index", "reason"), source, q_rows["reason"])
    if quarantine.height:
        logger.warning("%s: %d row(s) quarantined", source, quarantine.height)
    names = [c.name for c in contract.columns]
    frame = current.filter(~dup).select(names)
    reason = pl.format("superseded by publication of {}", pl.col("_latest").cast(pl.String))
    superseded = superseded.select(*names, reason.alias("reason"))
    validate(frame, contract, mode="strict", source=source)
    return frame, quarantine, superseded


def _drop_blank_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    data = [c for c in frame.columns if c != "source_row"]
    if not data:
        return frame, 0
    kept = frame.filter(~pl.all_horizontal([pl.col(c).is_null() for c in data]))
    return kept, frame.height - kept.height


# ----------------------------------------------------------------------------- CQC


def read_cqc_ratings(
    path: str | Path, *, sheet: str | None = None, mode: Mode = "strict"
) -> Loaded:
    """Read a CQC "Latest ratings" file (Locations or Providers sheet) into :data:`CQC_RATINGS`.

    Parameters
    ----------
    path : a ``.csv``, ``.xlsx`` or ``.ods`` file (other names are sniffed by content).
        CSV may be UTF-8 (with or without BOM) or cp1252.
    sheet : the sheet to read. ``None`` picks "Locations" if present, else "Providers",
        else the only sheet. For CSV it may name the kind ("Locations"/"Providers");
        otherwise a "Location ID" column means a Locations sheet.
    mode : ``"strict"`` raises one :class:`DataContractError` listing every problem;
        ``"lenient"`` moves the offending rows to ``Loaded.quarantine`` with a reason.

    Returns
    -------
    Loaded
        ``frame`` satisfies :data:`CQC_RATINGS` (all optional columns present, null
        when absent from the file); ``variant`` is ``"<kind>/<key-question
        header>/<date representation>/<format>"``, e.g.
        ``"providers/key_question/date-cells/xlsx"``; ``superseded`` holds earlier
        publications of a key with a ``reason``.

    Raises
    ------
    SourceReadError
        The file is missing, a directory, empty, truncated or not the format it claims.
    DataContractError
        A required column is missing (the message lists missing and found columns),
        two headers match one field, or (strict mode) rows break the contract:
        unknown rating or key-question label, unparseable date, duplicate key.
    """
    p = Path(path)
    src = source_name(p)
    table = _read_table(p, sheet, r"publication date")
    raw, blank = _drop_blank_rows(table.frame)
    headers = [c for c in raw.columns if c != "source_row"]
    mapping = _map_headers(headers, _CQC_FIELDS, src)
    kind_hint = (table.sheet if table.fmt != "csv" else sheet) or ""
    kind = _norm_header(kind_hint) if _norm_header(kind_hint) in ("locations", "providers") else ""
    kind = kind or ("locations" if "location_id" in mapping else "providers")
    required = _CQC_REQUIRED + (("location_id",) if kind == "locations" else ())
    _require(headers, mapping, required, _CQC_FIELDS, src)
    notes = list(table.notes)
    if kind == "providers" and "location_id" in mapping:
        notes.append("Location ID column ignored on a Providers sheet")
        del mapping["location_id"]
    absent = [c for c in OPTIONAL_CQC_COLUMNS if c not in mapping]
    if absent:
        notes.append(f"optional columns not in the file (left null): {', '.join(absent)}")
    geo = mapping.get("location_onspd_ccg_code", "")
    if re.search(r"icb", geo, re.IGNORECASE):
        notes.append(f"sub-ICB geography: {geo!r} read as location_onspd_ccg_code")

    # raw text under canonical names (quarantine records show what the file said)
    cols = [f.name for f in _CQC_FIELDS]
    text = raw.with_row_index("_index").select(
        pl.col("_index").cast(pl.Int64),
        *((_text(mapping[c]) if c in mapping else pl.lit(None, pl.String)).alias(c) for c in cols),
        "source_row",
    )
    rating, status, known = rating_expr_from_text("rating")
    kq = key_question_expr_from_text("key_question")
    date = _date_from_text("publication_date")
    inherited = _yes_no("inherited")
    dash_null = [
        pl.when(pl.col(c) == "-").then(None).otherwise(pl.col(c)).alias(c)
        for c in ("brand_id", "brand_name")
    ]
    canon = text.with_columns(
        pl.lit(kind[:-1], LevelEnum).alias("level"),
        kq.alias("key_question"),
        rating.alias("rating"),
        status.alias("rating_status"),
        date.alias("publication_date"),
        inherited.alias("inherited"),
        *dash_null,
    )
    if kind == "providers":
        canon = canon.with_columns(pl.lit(None, pl.String).alias("location_id"))
    name = CQC_RATINGS.name
    parse = [
        _flag(text, ~known, "rating", f"unknown rating label (column {mapping['rating']!r})", name),
        _flag(
            text,
            _unparsed("key_question", kq),
            "key_question",
            f"unknown key question label (column {mapping['key_question']!r})",
            name,
        ),
        _flag(
            text,
            _unparsed("publication_date", date),
            "publication_date",
            "unparseable date (expected a date cell, dd/mm/yyyy or yyyy-mm-dd)",
            name,
        ),
        _flag(
            text,
            _unparsed("inherited", inherited),
            "inherited",
            "unknown inherited flag (expected Y or N)",
            name,
        ),
    ]
    frame, quarantine, superseded = _resolve(
        canon, text, parse, CQC_RATINGS, "publication_date", ("location_id",), mode, src
    )
    kq = "domain" if _norm_header(mapping["key_question"]) == "domain" else "key_question"
    dates = table.dates
    if table.fmt == "csv" or dates == "text-dates":
        fmts = text.select(
            pl.col("publication_date").str.contains(_DMY_DATE).sum().alias("dd/mm/yyyy"),
            pl.col("publication_date").str.contains(_ISO_DATE).sum().alias("yyyy-mm-dd"),
        ).row(0, named=True)
        notes.append("text dates: " + ", ".join(f"{k} {v}" for k, v in fmts.items()))
    if blank:
        notes.append(f"{blank} wholly blank row(s) skipped (not counted as input rows)")
    if superseded.height:
        notes.append(f"{superseded.height} row(s) superseded by a later publication of their key")
    variant = f"{kind}/{kq}/{dates}/{table.fmt}"
    logger.info(
        "%s: %s, %d rows kept, %d superseded, %d quarantined",
        src,
        variant,
        frame.height,
        superseded.height,
        quarantine.height,
    )
    return Loaded(
        frame=frame,
        source=src,
        n_input_rows=raw.height,
        variant=variant,
        quarantine=quarantine,
        superseded=superseded,
        notes=tuple(notes),
    )


# ----------------------------------------------------------------------------- GP practices


def read_gp_practices(path: str | Path, *, mode: Mode = "strict") -> Loaded:
    """Read the HEEC GP practice ratings file (``cqc.csv``) into :data:`GP_PRACTICES`.

    One row per practice with its CQC Overall rating, the year of publication, the
    practice's IMD 2019 score and quintile, and the short ICB name. The literal
    ``NA`` means missing.

    **Deprivation direction.** The file's ``IMD_quintile`` runs 1 = *least* deprived
    to 5 = most deprived (mean IMD score rises with it). ``imd_quintile`` is recoded
    to the IoD convention, **1 = most deprived, 5 = least deprived**, as
    ``6 - IMD_quintile``; the original value is kept as ``imd_quintile_source``.
    ``imd_score`` is unchanged (higher = more deprived).

    Rows without a practice code are kept (``practice_code`` null) so that a later
    mapping step can report them; a practice listed for several years keeps the
    latest year as current and the earlier rows go to ``Loaded.superseded``; the same
    practice twice in one (latest) year is a duplicate.

    Parameters
    ----------
    path : the CSV file.
    mode : ``"strict"`` or ``"lenient"``, as in :func:`read_cqc_ratings`.

    Returns
    -------
    Loaded
        ``variant`` is ``"heec-gp-practices/csv"``.

    Raises
    ------
    SourceReadError, DataContractError
        As in :func:`read_cqc_ratings`.
    """
    p = Path(path)
    src = source_name(p)
    table = _read_table(p, None, r"$^", nulls=("NA",))
    raw, blank = _drop_blank_rows(table.frame)
    headers = [c for c in raw.columns if c != "source_row"]
    mapping = _map_headers(headers, _GP_FIELDS, src)
    _require(headers, mapping, _GP_REQUIRED, _GP_FIELDS, src)
    cols = [f.name for f in _GP_FIELDS]
    text = raw.with_row_index("_index").select(
        pl.col("_index").cast(pl.Int64),
        *((_text(mapping[c]) if c in mapping else pl.lit(None, pl.String)).alias(c) for c in cols),
        "source_row",
    )
    text = text.with_columns(
        pl.col("service").fill_null("Overall"), pl.col("key_question").fill_null("Overall")
    )
    rating, status, known = rating_expr_from_text("rating")
    kq = key_question_expr_from_text("key_question")
    year = pl.col("publication_year").cast(pl.Int32, strict=False)
    inherited = _yes_no("inherited")
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
    name = GP_PRACTICES.name
    parse = [
        _flag(text, ~known, "rating", "unknown rating label", name),
        _flag(text, _unparsed("key_question", kq), "key_question", "unknown key question", name),
        _flag(text, _unparsed("publication_year", year), "publication_year", "not a year", name),
        _flag(
            text,
            _unparsed("inherited", inherited),
            "inherited",
            "unknown inherited flag (expected Y or N)",
            name,
        ),
        _flag(text, _unparsed("imd_score", imd), "imd_score", "not a number", name),
        _flag(
            text,
            _unparsed("imd_quintile_source", q_src),
            "imd_quintile_source",
            "not a whole number",
            name,
        ),
    ]
    frame, quarantine, superseded = _resolve(
        canon, text, parse, GP_PRACTICES, "publication_year", (), mode, src
    )
    codes = frame["practice_code"]
    notes = [
        *table.notes,
        "imd_quintile recoded to 1 = most deprived (6 - IMD_quintile); source kept as "
        "imd_quintile_source",
        f"{codes.null_count()} current row(s) without a practice code (kept, unmappable)",
        f"{frame['imd_score'].null_count()} current row(s) without an IMD score",
        f"{frame['icb_name_source'].null_count()} current row(s) without an ICB name",
        f"{(codes.str.len_chars() != 6).sum()} practice code(s) not 6 characters long",
    ]
    if superseded.height:
        dropped = ", ".join(sorted(superseded["practice_code"].unique().to_list()))
        notes.append(f"{superseded.height} earlier publication(s) superseded: {dropped}")
    if blank:
        notes.append(f"{blank} wholly blank row(s) skipped (not counted as input rows)")
    logger.info(
        "%s: %d rows kept, %d superseded, %d quarantined",
        src,
        frame.height,
        superseded.height,
        quarantine.height,
    )
    return Loaded(
        frame=frame,
        source=src,
        n_input_rows=raw.height,
        variant="heec-gp-practices/csv",
        quarantine=quarantine,
        superseded=superseded,
        notes=tuple(notes),
    )
