"""Reading helpers shared by the source loaders.

Text files are read with the :mod:`csv` module rather than ``polars.read_csv``,
because the latter silently pads short records with nulls and so cannot detect a
truncated file; every record's field count is checked. Row rules cover checks a
:class:`~ics_model.contracts.Contract` cannot express (text that fails to parse,
counts that do not add up) and are reported together with contract violations.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from ics_model.contracts import (
    VIOLATION_SCHEMA,
    Contract,
    DataContractError,
    Mode,
    Validated,
    find_violations,
    to_quarantine,
    validate,
)
from ics_model.data.base import SourceReadError


def read_text(path: str | Path) -> str:
    """The text of a (possibly gzip-compressed) UTF-8 file, BOM removed.

    Raises
    ------
    SourceReadError
        The file is missing, unreadable, a truncated or corrupt gzip, not UTF-8, or empty.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SourceReadError(path, exc.strerror or str(exc)) from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise SourceReadError(path, f"truncated or corrupt gzip data ({exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceReadError(path, f"not UTF-8 text ({exc})") from exc
    if not text.strip():
        raise SourceReadError(path, "the file is empty")
    return text


def read_csv_records(
    path: str | Path, *, columns: Sequence[str] | None = None
) -> tuple[list[str], pl.DataFrame]:
    """Read a CSV file into an all-text frame with a ``source_row`` column.

    Parameters
    ----------
    path : the file (plain or gzip-compressed, UTF-8, optional BOM).
    columns : for a headerless file, the names of its columns (every record must
        have exactly this many fields); ``None`` when the first record is a header.

    Returns
    -------
    (header, frame) : the column names as found in the file, and the records as
        text with surrounding whitespace stripped and empty fields as null.
        ``source_row`` is the record number (header = 1 when there is one).

    Raises
    ------
    SourceReadError
        Unreadable file, malformed CSV, or a record whose field count differs from
        the header's (a truncated or ragged file).
    """
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise SourceReadError(path, f"malformed CSV near line {reader.line_num}: {exc}") from exc
    first = 1
    if columns is None:
        header = [h.strip() for h in records[0]]
        records = records[1:]
        first = 2
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise SourceReadError(path, f"duplicate column names: {', '.join(dupes)}")
    else:
        header = list(columns)
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    for i, rec in enumerate(records):
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            continue  # blank line
        if len(rec) != width:
            raise SourceReadError(
                path,
                f"record {i + first} has {len(rec)} fields where {width} are expected "
                "(truncated or malformed file)",
            )
        rows.append(rec)
        numbers.append(i + first)
    frame = pl.DataFrame(rows, schema=[(h, pl.String) for h in header], orient="row")
    frame = frame.with_columns(
        [_blank_to_null(h) for h in header], source_row=pl.Series(numbers, dtype=pl.Int64)
    )
    return header, frame


def _blank_to_null(name: str) -> pl.Expr:
    s = pl.col(name).str.strip_chars()
    return pl.when(s.str.len_chars() > 0).then(s).alias(name)


def parse_yyyymmdd(name: str) -> pl.Expr:
    """Text ``YYYYMMDD`` column -> ``pl.Date`` (null where empty or not exactly 8 digits)."""
    text = pl.col(name)
    return pl.when(text.str.contains(r"^[0-9]{8}$")).then(text.str.to_date("%Y%m%d", strict=False))


def rule_hits(
    work: pl.DataFrame, column: str, bad: pl.Expr, value: pl.Expr, problem: str
) -> pl.DataFrame:
    """Rows of ``work`` where ``bad`` is true, as violations of a row rule.

    Columns: ``_index`` (0-based position), ``row`` (``source_row``), ``column``,
    ``value`` (text) and ``problem``; combine with :func:`validate_with_rules`.
    """
    return (
        work.with_row_index("_index")
        .filter(bad.fill_null(False))
        .select(
            pl.col("_index").cast(pl.Int64),
            pl.col("source_row").cast(pl.Int64).alias("row"),
            pl.lit(column).alias("column"),
            value.cast(pl.String).alias("value"),
            pl.lit(problem).alias("problem"),
        )
    )


def validate_with_rules(
    frame: pl.DataFrame,
    contract: Contract,
    hits: Sequence[pl.DataFrame],
    *,
    mode: Mode,
    source: str,
) -> Validated:
    """:func:`~ics_model.contracts.validate` plus row rules the contract cannot express.

    ``hits`` come from :func:`rule_hits` on a frame row-aligned with ``frame``
    (e.g. raw text that failed to parse). Strict mode raises one
    :class:`DataContractError` listing the rule and the contract violations;
    lenient mode quarantines the rows that broke a rule, then validates the rest.
    """
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode must be 'strict' or 'lenient', got {mode!r}")
    found = [h for h in hits if not h.is_empty()]
    if not found:
        return validate(frame, contract, mode=mode, source=source)
    rules = pl.concat(found).with_columns(contract=pl.lit(contract.name))
    public = rules.select(list(VIOLATION_SCHEMA))
    if mode == "strict":
        # a cell that failed a rule (e.g. unparseable text) is not reported again as null
        contract_v = find_violations(frame, contract).drop("_index")
        contract_v = contract_v.join(
            public.select("row", "column"), on=["row", "column"], how="anti"
        )
        every = pl.concat([contract_v, public])
        raise DataContractError(contract.name, every.sort("row", "column"), source)
    reasons = rules.group_by("_index").agg(
        pl.format("{}: {} ({})", "column", pl.col("value").fill_null("<null>"), "problem")
        .str.join("; ")
        .alias("reason")
    )
    indexed = frame.with_row_index("_index").with_columns(pl.col("_index").cast(pl.Int64))
    bad = indexed.join(reasons, on="_index", how="inner").sort("_index")
    rest = validate(
        indexed.join(reasons, on="_index", how="anti").drop("_index"),
        contract,
        mode=mode,
        source=source,
    )
    quarantine = pl.concat(
        [to_quarantine(bad.drop("_index", "reason"), source, bad["reason"]), rest.quarantine]
    ).sort("source_row")
    return Validated(rest.frame, quarantine, pl.concat([public, rest.violations]))


def parse_count(name: str, dtype: pl.DataType | type[pl.DataType] = pl.Int64) -> pl.Expr:
    """Text with optional thousands separators (``"29,199"``) -> integer (null if invalid)."""
    return pl.col(name).str.replace_all(",", "").str.strip_chars().cast(dtype, strict=False)
