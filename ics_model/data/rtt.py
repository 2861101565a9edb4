"""NHS England Referral to Treatment (RTT) full CSV extract -> provider x commissioner flows.

The monthly "full CSV data file" has one row per provider x commissioner x
RTT part x treatment function, with 105 weekly wait bands (``Gt 00 To 01 Weeks
SUM 1`` ... ``Gt 104 Weeks SUM 1``), ``Total``, ``Patients with unknown clock
start date`` and ``Total All``. What the count columns hold differs by part
(checked on the April 2026 extract, and re-checked row by row on every load):

========  =====================================  =========================================
part      meaning                                count columns
========  =====================================  =========================================
Part_1A   completed pathways, admitted           bands sum to ``Total`` (known clock start);
Part_1B   completed pathways, non-admitted       ``Total All`` = ``Total`` + unknown clock start
Part_2    incomplete pathways (waiting list)     ``Total`` and unknown are empty;
Part_2A   incomplete with a decision to admit    bands sum to ``Total All``
Part_3    new RTT periods (clock starts)         ``Total``, unknown and bands are empty or 0;
                                                 only ``Total All`` is filled
========  =====================================  =========================================

So ``pathways`` is ``Total All`` for every part: it is the only column filled
for all five, and for completed pathways it includes those with an unknown
clock start (held separately in ``unknown_clock_start``). Part_2A is a subset
of Part_2: never add them. Treatment function ``C_999`` is the all-specialty
total: never add it to the others.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import re
import zipfile
import zlib
from pathlib import Path
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, Mode, require_columns
from ics_model.data.base import Loaded, SourceReadError, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.csv_lines import locate_fault
from ics_model.data.readers import rule_hits, validate_with_rules

logger = logging.getLogger(__name__)

PART_TYPES: Final[tuple[str, ...]] = ("Part_1A", "Part_1B", "Part_2", "Part_2A", "Part_3")
PartType: Final = pl.Enum(list(PART_TYPES))
COMPLETED_PARTS: Final = ("Part_1A", "Part_1B")
INCOMPLETE_PARTS: Final = ("Part_2", "Part_2A")
ALL_SPECIALTIES: Final = "C_999"

#: Identifier columns of the extract -> canonical names.
ID_COLUMNS: Final[dict[str, str]] = {
    "Period": "period",
    "Provider Parent Org Code": "provider_parent_code",
    "Provider Parent Name": "provider_parent_name",
    "Provider Org Code": "provider_code",
    "Provider Org Name": "provider_name",
    "Commissioner Parent Org Code": "commissioner_parent_code",
    "Commissioner Parent Name": "commissioner_parent_name",
    "Commissioner Org Code": "commissioner_code",
    "Commissioner Org Name": "commissioner_name",
    "RTT Part Type": "part_type",
    "RTT Part Description": "part_description",
    "Treatment Function Code": "treatment_function_code",
    "Treatment Function Name": "treatment_function_name",
}
TOTAL: Final = "Total"
UNKNOWN: Final = "Patients with unknown clock start date"
TOTAL_ALL: Final = "Total All"
KEY: Final = ("provider_code", "commissioner_code", "part_type", "treatment_function_code")

_CODE = r"[A-Z0-9]{3,5}"

RTT_FLOWS_CONTRACT: Final = Contract(
    name="rtt_flows",
    description="RTT pathways per provider x commissioner x part x treatment function.",
    key=KEY,
    columns=(
        Column("period", pl.String, nullable=False, pattern=r"RTT-[A-Za-z]+-[0-9]{4}"),
        Column("period_start", pl.Date, nullable=False, description="first day of the month"),
        Column("provider_parent_code", pl.String, nullable=False, pattern=_CODE),
        Column("provider_parent_name", pl.String),
        Column("provider_code", pl.String, nullable=False, pattern=_CODE),
        Column("provider_name", pl.String, nullable=False),
        Column(
            "commissioner_parent_code",
            pl.String,
            pattern=_CODE,
            description="ICB (April 2026 codes); null for hubs, regions and NONC",
        ),
        Column("commissioner_parent_name", pl.String),
        Column("commissioner_code", pl.String, nullable=False, pattern=r"[A-Z0-9]{3,5}|NONC"),
        Column("commissioner_name", pl.String),
        Column("part_type", PartType, nullable=False),
        Column("part_description", pl.String),
        Column(
            "treatment_function_code", pl.String, nullable=False, pattern=r"C_[0-9]{3}|X[0-9]{2}"
        ),
        Column("treatment_function_name", pl.String),
        Column("pathways", pl.Int64, nullable=False, min_value=0, description="Total All"),
        Column(
            "unknown_clock_start",
            pl.Int64,
            min_value=0,
            description="completed pathways with unknown clock start; null for Part_2/2A/3",
        ),
        Column(
            "over_18_weeks",
            pl.Int64,
            min_value=0,
            description="pathways in the weekly bands from 'Gt 18 To 19 Weeks' up (waited "
            "more than 18 weeks; known clock start only); null for Part_3",
        ),
        Column(
            "over_52_weeks",
            pl.Int64,
            min_value=0,
            description="pathways in the bands from 'Gt 52 To 53 Weeks' up; null for Part_3",
        ),
        Column("source_row", pl.Int64, nullable=False, description="CSV row (header = 1)"),
    ),
)

_BAND_LOWER = re.compile(r"^Gt (\d+)")

#: A row rule: (column reported, expression true on a bad row, value reported, problem).
Rule = tuple[str, pl.Expr, pl.Expr, str]


def bands_from(header: list[str], weeks: int) -> list[str]:
    """Return the weekly band columns whose lower edge is at least ``weeks`` (e.g. 18)."""
    out = []
    for h in header:
        m = _BAND_LOWER.match(h)
        if m and int(m.group(1)) >= weeks:
            out.append(h)
    return out


def _csv_bytes(path: Path) -> bytes:
    """Return the CSV bytes: a zip's single ``.csv`` member (``__MACOSX/`` ignored) or the file."""
    if not path.is_file():
        raise SourceReadError(path, "no such file")
    try:
        if not zipfile.is_zipfile(path):
            data = path.read_bytes()
            if path.suffix.lower() == ".zip":
                raise SourceReadError(path, "not a valid zip archive (truncated or corrupt)")
            return data
        with zipfile.ZipFile(path) as archive:
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir()
                and not m.filename.startswith("__MACOSX/")
                and m.filename.lower().endswith(".csv")
            ]
            if len(members) != 1:
                names = ", ".join(m.filename for m in members) or "none"
                raise SourceReadError(path, f"expected one CSV member, found {names}")
            return archive.read(members[0])  # checks the length and the CRC-32
    except SourceReadError:
        raise
    except (OSError, zipfile.BadZipFile, EOFError, ValueError, RuntimeError, zlib.error) as exc:
        raise SourceReadError(path, f"truncated or corrupt archive ({exc})") from exc


def _header(data: bytes, path: Path) -> list[str]:
    end = data.find(b"\n")
    first = data[: end if end >= 0 else len(data)]
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceReadError(path, f"header is not UTF-8 text ({exc})") from exc
    try:
        header = next(csv.reader([line.strip("\r\n")]), [])
    except csv.Error as exc:
        raise SourceReadError(path, f"malformed header (line 1: {exc})") from exc
    if not any(h.strip() for h in header):
        raise SourceReadError(path, "the file is empty")
    return [h.strip() for h in header]


def _band_exprs(names: list[str]) -> tuple[pl.Expr, pl.Expr]:
    """Sum of the weekly band columns, and the number of band values that are not integers."""
    parsed = [_int(c) for c in names]
    if not parsed:
        return pl.lit(0, dtype=pl.Int64), pl.lit(0, dtype=pl.Int64)
    bad = [pl.col(c).is_not_null() & p.is_null() for c, p in zip(names, parsed, strict=True)]
    return pl.sum_horizontal(parsed), pl.sum_horizontal(bad)


def _int(name: str) -> pl.Expr:
    return pl.col(name).str.replace_all(",", "").str.strip_chars().cast(pl.Int64, strict=False)


def _scan(data: bytes, bands: list[str], header: list[str], *, typed: bool) -> pl.DataFrame:
    """Return the identifying columns, totals and band sums; bands read as integers when ``typed``.

    The typed read parses each band column once (the usual path for NHS England's files);
    the text read tolerates thousands separators and counts cells that are not integers.
    """
    if typed:
        overrides = dict.fromkeys(bands, pl.Int64)
        band_sum = pl.sum_horizontal([pl.col(c) for c in bands]) if bands else pl.lit(0)
        band_bad = pl.lit(0, dtype=pl.Int64)
        over18 = pl.sum_horizontal([pl.col(c) for c in bands_from(header, 18)] or [pl.lit(0)])
        over52 = pl.sum_horizontal([pl.col(c) for c in bands_from(header, 52)] or [pl.lit(0)])
    else:
        overrides = None
        band_sum, band_bad = _band_exprs(bands)
        over18, _ = _band_exprs(bands_from(header, 18))
        over52, _ = _band_exprs(bands_from(header, 52))
    return (
        pl.scan_csv(
            io.BytesIO(data),
            infer_schema=False,
            with_column_names=lambda names: [n.strip() for n in names],  # as _header reads them
            schema_overrides=overrides,
            encoding="utf8",
            truncate_ragged_lines=False,
        )
        .select(
            *[pl.col(h).str.strip_chars().alias(h) for h in ID_COLUMNS],
            TOTAL,
            UNKNOWN,
            TOTAL_ALL,
            band_sum.cast(pl.Int64).alias("_bands"),
            band_bad.cast(pl.Int64).alias("_bands_bad"),
            over18.cast(pl.Int64).alias("_over18"),
            over52.cast(pl.Int64).alias("_over52"),
        )
        .with_row_index("_i")
        .collect()
    )


def _hits(work: pl.DataFrame, rules: list[Rule]) -> list[pl.DataFrame]:
    """:func:`rule_hits` of each rule that some row breaks (all tested in one pass)."""
    if not rules:
        return []
    broken = work.select(
        bad.fill_null(False).any().alias(f"_{k}") for k, (_, bad, _, _) in enumerate(rules)
    ).row(0)
    return [rule_hits(work, *rule) for rule, hit in zip(rules, broken, strict=True) if hit]


def _polars_work(data: bytes, header: list[str], path: Path) -> tuple[pl.DataFrame, list[Rule]]:
    """Every row parsed by polars: the working frame and the rules on unparseable counts.

    The working frame has the identifying columns, ``source_row`` and the Int64 columns
    ``_total``, ``_unknown``, ``_all`` (null if empty or not a whole number), ``_bands``,
    ``_over18`` and ``_over52``.
    """
    bands = [h for h in header if h.startswith("Gt ")]
    try:
        raw = _scan(data, bands, header, typed=True)
    except pl.exceptions.PolarsError:
        # a band cell that is not a plain integer (e.g. "1,234"): parse the text instead,
        # which also reports every cell that is not a whole number
        try:
            raw = _scan(data, bands, header, typed=False)
        except pl.exceptions.PolarsError as exc:
            where = locate_fault(data)  # the line and the column, when they can be found
            raise SourceReadError(path, where or f"malformed CSV ({exc})") from exc
    work = raw.with_columns(
        source_row=(pl.col("_i") + 2).cast(pl.Int64),
        _total=_int(TOTAL),
        _unknown=_int(UNKNOWN),
        _all=_int(TOTAL_ALL),
    )
    rules: list[Rule] = [
        (src, pl.col(src).is_not_null() & pl.col(col).is_null(), pl.col(src), "not a whole number")
        for src, col in ((TOTAL, "_total"), (UNKNOWN, "_unknown"), (TOTAL_ALL, "_all"))
    ]
    rules.append(
        (
            "weekly bands",
            pl.col("_bands_bad") > 0,
            pl.col("_bands_bad"),
            "weekly band value(s) that are not whole numbers",
        )
    )
    return work, rules


def _summary(flows: pl.DataFrame) -> tuple[int, int, int, int]:
    """Rows that repeat a key; Part_2 C_999 pathways and providers; rows with no ICB."""
    waiting = (pl.col("part_type") == "Part_2") & (
        pl.col("treatment_function_code") == ALL_SPECIALTIES
    )
    row = flows.select(
        pl.struct(list(KEY)).is_duplicated().sum().alias("repeated"),
        pl.col("pathways").filter(waiting).sum().alias("waiting"),
        pl.col("provider_code").filter(waiting).n_unique().alias("providers"),
        pl.col("commissioner_parent_code").is_null().sum().alias("no_parent"),
    ).row(0)
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def read_rtt_flows(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read an RTT full extract as provider x commissioner pathway counts.

    Parameters
    ----------
    path : the NHS England "full CSV data file", zipped (the CSV member is read in
        memory; ``__MACOSX/`` entries are ignored) or plain; default the embedded
        April 2026 extract.
    mode : ``"strict"`` or ``"lenient"``.

    Returns
    -------
    Loaded
        Frame per :data:`RTT_FLOWS_CONTRACT`, one row per (provider_code,
        commissioner_code, part_type, treatment_function_code), all treatment
        functions kept including ``C_999`` (total): ``period, period_start,
        provider_parent_code, provider_parent_name, provider_code, provider_name,
        commissioner_parent_code, commissioner_parent_name, commissioner_code,
        commissioner_name, part_type`` (Enum), ``part_description,
        treatment_function_code, treatment_function_name, pathways`` (``Total All``),
        ``unknown_clock_start``, ``source_row``. ``n_input_rows`` = CSV data rows.
        Rows repeating a key are summed (reported in ``notes``); the extract has none.

    Raises
    ------
    SourceReadError
        Missing, truncated or corrupt file; not exactly one CSV in the zip.
    DataContractError
        Missing columns; in strict mode, any violation, including count columns
        inconsistent with the part type (see the module docstring).

    Notes
    -----
    polars parses the CSV, the weekly bands as integers (one typed read; cells that are
    not plain integers, e.g. ``"1,234"``, send the file to a text read that reports
    each one). A compiled kernel once read the bands; it went because loading it in a
    fresh process cost more than it saved, and every command is a fresh process.
    """
    path = raw_or(path, "indicators", "rtt_2026-04", "20260430-RTT-April-2026-full-extract.csv.zip")
    name = source_name(path)
    data = _csv_bytes(path)
    header = _header(data, path)
    require_columns(header, [*ID_COLUMNS, TOTAL, UNKNOWN, TOTAL_ALL], name)
    work, rules = _polars_work(data, header, path)
    del data
    n_input = work.height
    part = pl.col("RTT Part Type")
    completed = part.is_in(list(COMPLETED_PARTS))
    frame = work.select(
        *[pl.col(src).alias(dst) for src, dst in ID_COLUMNS.items()],
        pl.col("Period").str.to_date("RTT-%B-%Y", strict=False).alias("period_start"),
        pl.col("_all").alias("pathways"),
        pl.when(completed).then(pl.col("_unknown").fill_null(0)).alias("unknown_clock_start"),
        pl.when(part != "Part_3").then(pl.col("_over18")).alias("over_18_weeks"),
        pl.when(part != "Part_3").then(pl.col("_over52")).alias("over_52_weeks"),
        "source_row",
    ).with_columns(pl.col("part_type").cast(PartType, strict=False))
    frame = frame.select(RTT_FLOWS_CONTRACT.column_names)
    work = work.with_columns(frame["period_start"].alias("_period_start"))

    rules += [
        (
            "part_type",
            part.is_not_null() & ~part.is_in(list(PART_TYPES)),
            part,
            f"not one of {list(PART_TYPES)}",
        ),
        (
            "period",
            pl.col("Period").is_not_null() & pl.col("_period_start").is_null(),
            pl.col("Period"),
            "not a period like 'RTT-April-2026'",
        ),
        (
            TOTAL_ALL,
            completed & (pl.col("_all") != pl.col("_total") + pl.col("_unknown").fill_null(0)),
            pl.format("{} vs Total {} + unknown {}", "_all", "_total", "_unknown"),
            "completed pathways: Total All is not Total + unknown clock start",
        ),
        (
            TOTAL,
            completed & (pl.col("_total") != pl.col("_bands")),
            pl.format("{} vs bands {}", "_total", "_bands"),
            "completed pathways: Total is not the sum of the weekly bands",
        ),
        (
            TOTAL_ALL,
            part.is_in(list(INCOMPLETE_PARTS)) & (pl.col("_all") != pl.col("_bands")),
            pl.format("{} vs bands {}", "_all", "_bands"),
            "incomplete pathways: Total All is not the sum of the weekly bands",
        ),
        (
            TOTAL,
            ~completed & (pl.col("_total").fill_null(0) != 0),
            pl.col("_total"),
            "Total is filled for a part where only Total All is expected",
        ),
    ]
    hits = _hits(work, rules)
    del work
    # row-level checks first (the key is enforced after any duplicates are summed)
    rows_contract = dataclasses.replace(RTT_FLOWS_CONTRACT, key=())
    checked = validate_with_rules(frame, rows_contract, hits, mode=mode, source=name)
    out = checked.frame
    notes: list[str] = []
    repeated, waiting, providers, no_parent = _summary(out)
    if repeated:
        out = (
            out.group_by(list(KEY), maintain_order=True)
            .agg(
                pl.exclude(
                    "pathways", "unknown_clock_start", "over_18_weeks", "over_52_weeks"
                ).first(),
                pl.col("pathways").sum(),
                pl.col("over_18_weeks").sum(),
                pl.col("over_52_weeks").sum(),
                pl.when(pl.col("unknown_clock_start").is_not_null().any()).then(
                    pl.col("unknown_clock_start").sum()
                ),
            )
            .select(RTT_FLOWS_CONTRACT.column_names)
        )
        notes.append(
            f"{repeated} rows repeat a (provider, commissioner, part, treatment function) key: "
            "summed (source_row is the first row of each key)"
        )
        logger.warning("%s: %s", name, notes[-1])
        _, waiting, providers, no_parent = _summary(out)
    notes += [
        "pathways = 'Total All' for every part; Part_2A is a subset of Part_2 and C_999 the "
        "total of all treatment functions: never add them",
        f"Part_2 C_999 (waiting list): {waiting:,} pathways at {providers} providers",
        f"{no_parent} rows have no commissioner parent (commissioning hubs, NHS England "
        "regions, NONC)",
    ]
    logger.info("read %s: %d rows -> %d flows", path, n_input, out.height)
    flows = dataclasses.replace(checked, frame=out)  # repeated keys summed
    return loaded_from(path, flows, n_input, "rtt-full-extract", notes)
