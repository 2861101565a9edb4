"""Reading helpers shared by the source loaders.

CSV files are read by :func:`~ics_model.data.delimited.read_delimited`: polars parses
them and every record's field count is checked (polars alone pads a short record with
nulls, so a truncated file would pass), with faults reported by line and column. Row
rules cover checks a :class:`~ics_model.contracts.Contract` cannot express (text that
fails to parse, counts that do not add up) and are reported together with contract
violations.
"""

from __future__ import annotations

import gzip
import logging
import zlib
from collections.abc import Callable, Sequence
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
from ics_model.data.delimited import read_delimited
from ics_model.inputs import MAX_INPUT_BYTES, echo, open_input

logger = logging.getLogger(__name__)


def _gunzipped(path: Path) -> bytes | None:
    """Return the decompressed bytes of a gzip file, or None for any other file."""
    try:
        with open_input(path) as fh:
            if fh.read(2) != b"\x1f\x8b":
                return None
            fh.seek(0)
            with gzip.GzipFile(fileobj=fh) as gz:
                data = gz.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise SourceReadError(path, f"decompresses to more than {MAX_INPUT_BYTES:,} bytes")
        return data
    except SourceReadError:
        raise
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SourceReadError(path, f"truncated or corrupt gzip data ({exc})") from exc
    except OSError as exc:
        raise SourceReadError(path, exc.strerror or str(exc)) from exc


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
        text with surrounding whitespace stripped and empty fields as null; blank
        lines (empty or whitespace) are left out. ``source_row`` is the record number
        (header = 1 when there is one), blank lines counted.

    Raises
    ------
    SourceReadError
        Unreadable or empty file, a truncated or corrupt gzip, text that is not
        UTF-8, malformed CSV, a record whose field count differs from the header's (a
        truncated or ragged file), duplicate column names. Faults in the text name the
        line and the column.
    """
    path = Path(path)
    read = read_delimited(
        path,
        data=_gunzipped(path),
        encodings="utf-8",
        delimiter=",",
        columns=None if columns is None else tuple(columns),
        extra_blank_ok=False,
        whitespace_is_blank=True,
    )
    frame = read.frame
    if columns is None:
        header = [h.strip() for h in read.header]
        frame, header = _without_unnamed_blank_columns(path, frame, header, read.first_row)
        _refuse_doubled_names(path, header)
    else:
        header = list(columns)
    first = read.first_row
    frame = frame.rename(dict(zip(frame.columns, header, strict=True))).with_columns(
        pl.int_range(first, first + pl.len(), dtype=pl.Int64).alias("source_row")
    )
    if read.blank_lines:
        blank = pl.int_range(pl.len()).is_in(list(read.blank_lines))
        frame = frame.filter(~blank)
    return header, frame.with_columns([_blank_to_null(h) for h in header])


def _without_unnamed_blank_columns(
    path: Path, frame: pl.DataFrame, header: list[str], first_row: int
) -> tuple[pl.DataFrame, list[str]]:
    """Drop columns with no name and no data (a spreadsheet export's trailing commas).

    An unnamed column that holds data is an error: its values cannot be read by name.
    """
    unnamed = [i for i, h in enumerate(header) if not h]
    if not unnamed:
        return frame, header
    cols = [frame.columns[i] for i in unnamed]
    filled = frame.select(
        [
            (pl.col(c).str.strip_chars().str.len_bytes() > 0)
            .fill_null(False)
            .arg_true()
            .first()
            .alias(c)
            for c in cols
        ]
    ).row(0)
    for i, at in zip(unnamed, filled, strict=True):
        if at is not None:
            value = frame.get_column(frame.columns[i])[at]
            raise SourceReadError(
                path,
                f"column {i + 1} has no name in the header but holds data (row "
                f"{first_row + at}: {echo(value)}); name it or delete it",
            )
    logger.info("%s: %d unnamed empty column(s) ignored", path.name, len(unnamed))
    keep = [i for i in range(len(header)) if i not in set(unnamed)]
    return frame.select([frame.columns[i] for i in keep]), [header[i] for i in keep]


def _refuse_doubled_names(path: Path, header: list[str]) -> None:
    """Raise when a column name appears twice: which of the two to read is unknowable."""
    seen: dict[str, int] = {}
    for i, h in enumerate(header, start=1):
        if h in seen:
            raise SourceReadError(
                path,
                f"column name {echo(h)} appears twice (columns {seen[h]} and {i}): which "
                "to read is ambiguous; rename or delete one",
            )
        seen[h] = i


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


def column_rule_hits(
    work: pl.DataFrame, columns: Sequence[str], bad: Callable[[str], pl.Expr], problem: str
) -> pl.DataFrame:
    """:func:`rule_hits` of one rule over many columns, in one query.

    ``bad(column)`` flags the cells of ``column`` that break the rule; the violation's
    value is the cell's text. Rows come column by column, in ``columns`` order, as
    ``pl.concat([rule_hits(work, c, bad(c), pl.col(c), problem) for c in columns])``
    would give them.
    """
    if not columns:
        return rule_hits(work, "", pl.lit(False), pl.lit(None), problem)
    cells = work.with_row_index("_index").select(
        pl.col("_index").cast(pl.Int64),
        pl.col("source_row").cast(pl.Int64).alias("row"),
        *(
            pl.struct(
                bad(c).fill_null(False).alias("hit"), pl.col(c).cast(pl.String).alias("value")
            ).alias(c)
            for c in columns
        ),
    )
    return (
        cells.unpivot(index=["_index", "row"], variable_name="column", value_name="cell")
        .unnest("cell")
        .filter("hit")
        .select("_index", "row", "column", "value", pl.lit(problem).alias("problem"))
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
