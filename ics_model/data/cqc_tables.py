"""Read CQC ratings tables: CSV (UTF-8, BOM, cp1252, UTF-16) via polars, XLSX/ODS via calamine.

Shared by the CQC loaders in :mod:`ics_model.data.cqc`: every cell is read as text
(only date columns may arrive as date cells), headers are matched by name
case- and whitespace-insensitively, and repeated keys are resolved (latest
publication current, earlier superseded, ties duplicates).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Final
from xml.parsers import expat

import fastexcel
import polars as pl

from ics_model.contracts import (
    VIOLATION_SCHEMA,
    Contract,
    DataContractError,
    Mode,
    find_violations,
    to_quarantine,
)
from ics_model.data.base import SourceReadError
from ics_model.data.delimited import read_delimited
from ics_model.data.xlsx_errors import ERROR_VALUES, xlsx_error_cells
from ics_model.inputs import clip, echo, open_input, regular_file_problem

logger = logging.getLogger(__name__)

_SPREADSHEETS: Final = {
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xlsb": "xlsb",
    ".xls": "xls",
    ".ods": "ods",
}
ISO_DATE = r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
DMY_DATE = r"^\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?)?$"


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Table:
    """A sheet read as text (original headers) plus ``source_row``."""

    frame: pl.DataFrame
    fmt: str
    sheet: str | None
    dates: str  # date-cells, datetime-cells, text-dates, mixed-dates, no-dates
    notes: tuple[str, ...]


def norm_header(header: str) -> str:
    """``" Practice.Code "`` -> ``"practice code"``: lower case, ``_``/``.`` as spaces."""
    return " ".join(str(header).replace("_", " ").replace(".", " ").split()).lower()


def file_format(path: Path) -> str:
    """Return the file's format (``xlsx``, ``ods`` or ``csv``), by suffix or its first bytes."""
    if path.suffix.lower() in _SPREADSHEETS:
        return _SPREADSHEETS[path.suffix.lower()]
    with open_input(path) as fh:
        head = fh.read(4096)
    if head.startswith(b"PK\x03\x04"):
        return "ods" if b"opendocument.spreadsheet" in head else "xlsx"
    return "xls" if head.startswith(b"\xd0\xcf\x11\xe0") else "csv"


def read_csv(path: Path) -> Table:
    """Read a CSV (or tab-separated) file as text with :func:`read_delimited`.

    Headers are trimmed; a repeated header is kept repeated (:func:`keep_doubled_names`).
    A record longer than the header is cut when its extra fields are blank.
    """
    read = read_delimited(path, encodings="text", extra_blank_ok=True)
    headers = keep_doubled_names([h.strip() for h in read.header])
    tab = ", tab-separated" if read.delimiter == "\t" else ""
    note = f"CSV decoded as {read.encoding}{tab}"
    return Table(_numbered(read.frame, headers), "csv", None, "text-dates", (note,))


def keep_doubled_names(headers: Sequence[str]) -> list[str]:
    """Return unique column names that still read as the file's, repeats included.

    A name repeated in a file gets trailing spaces (``"Name"``, ``"Name "``), which
    :func:`norm_header` removes: a repeated column the reader needs then matches twice
    and :func:`map_headers` refuses the file, while a repeated column it does not read
    is left alone. (A suffix such as ``"Name_1"`` would hide the repeat.)
    """
    out: list[str] = []
    for h in headers:
        name = h
        while name in out:
            name += " "
        out.append(name)
    return out


def _numbered(frame: pl.DataFrame, header: Sequence[str]) -> pl.DataFrame:
    """Columns named ``header``, plus ``source_row`` (header = 1, first data row = 2)."""
    return frame.rename(dict(zip(frame.columns, header, strict=True))).with_columns(
        pl.int_range(2, pl.len() + 2, dtype=pl.Int64).alias("source_row")
    )


def pick_sheet(
    path: Path, names: Sequence[str], sheet: str | None, prefer: str | None = None
) -> str:
    """Return the sheet to read: ``sheet``, else ``prefer`` when present, else the default.

    Names match case-insensitively. The default is "Locations", else "Providers", else
    the only sheet.
    """
    lookup = {n.strip().lower(): n for n in names}
    chosen = _pick(path, names, lookup, sheet, prefer)
    same = [n for n in names if n.strip().lower() == chosen.strip().lower()]
    if len(same) > 1:
        raise SourceReadError(
            path,
            f"{len(same)} sheets are named {echo(chosen)}: which to read is ambiguous; "
            "rename or delete the others",
        )
    return chosen


def _pick(
    path: Path,
    names: Sequence[str],
    lookup: Mapping[str, str],
    sheet: str | None,
    prefer: str | None,
) -> str:
    if sheet is not None:
        if sheet.strip().lower() in lookup:
            return lookup[sheet.strip().lower()]
        listed = clip(", ".join(names))
        raise SourceReadError(path, f"no sheet named {echo(sheet)}; sheets: {listed}")
    for wanted in (*([prefer.strip().lower()] if prefer else []), "locations", "providers"):
        if wanted in lookup:
            return lookup[wanted]
    if len(names) == 1:
        return names[0]
    raise SourceReadError(
        path, f"no Locations or Providers sheet; sheets: {clip(', '.join(names))}"
    )


_TABLE_TAG: Final = re.compile(rb"</?table:table[\s>/]")
_ATTRIBUTE: Final = rb"""\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*')"""
_TAGS_ONLY: Final = re.compile(  # element tags and whitespace: no text, comment or CDATA
    rb"\s*+(?:<(?:/[\w:.-]+\s*+|[\w:.-]+(?:" + _ATTRIBUTE + rb")*+\s*+/?)>\s*+)*+"
)
_CHUNK: Final = 1 << 22


def _last_sheet_closes(fh: BinaryIO) -> bool:
    """Whether an ODS ``content.xml`` stream plainly closes its last sheet.

    The reader loops forever only when it reaches the end of ``content.xml`` inside a
    sheet. It cannot when the document's last sheet tag is a ``</table:table>`` end
    tag that directly follows a well-formed row (``<table:table-row>`` ...
    ``</table:table-row>``, checked with expat) and is followed by element tags only
    (no text, comment, CDATA or processing instruction, which could hide it): the
    reader then reads that row and meets the end tag, whatever came before (faults
    there make it raise, not loop). The stream is inflated once (CRC-32 checked) and
    only its last 4-8 MB are searched: about 0.2 s for the 300 MB ``content.xml`` of a
    120,000-row sheet.
    """
    prev = last = b""
    while chunk := fh.read(_CHUNK):
        prev, last = last, chunk
    window = prev + last
    end = window.rfind(b"</table:table>")
    if end < 0 or _TABLE_TAG.search(window, end + 1):
        return False
    rest = window[end + len(b"</table:table>") :]
    head = window[:end].rstrip()
    row = head.rfind(b"<table:table-row")
    if len(rest) > 1 << 20 or not _TAGS_ONLY.fullmatch(rest) or row < 0:
        return False
    if not head.endswith(b"</table:table-row>"):
        return False
    try:
        expat.ParserCreate().Parse(head[row:], True)
    except expat.ExpatError:
        return False
    return True


def _parse_xml(fh: BinaryIO) -> None:
    """Parse a stream with expat (no handlers): raises ``ExpatError`` unless well-formed."""
    parser = expat.ParserCreate()
    while chunk := fh.read(_CHUNK):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)


def check_ods_xml(path: Path, *, full: bool = False) -> None:
    """Make sure the spreadsheet reader will not loop forever on an ODS file's ``content.xml``.

    The reader (calamine) loops forever when ``content.xml`` ends inside a sheet (a
    truncated or mangled file). A file whose last sheet plainly closes (see
    :func:`_last_sheet_closes`; about 0.2 s for a 120,000-row Locations sheet) is
    cleared; any other is parsed in full with the standard XML parser (expat,
    streaming; about 2 s for that sheet), which clears it only when the XML is
    well-formed. Other XML faults are left to the reader,
    as for XLSX (``full=True``: always parse in full, to name the fault of a file the
    reader rejected). A file that is not a zip, lacks ``content.xml`` or fails the
    check raises :class:`SourceReadError` naming the file.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            with zf.open("content.xml") as fh:
                if not full and _last_sheet_closes(fh):
                    return
            with zf.open("content.xml") as fh:
                _parse_xml(fh)
    except KeyError:
        raise SourceReadError(path, "not a readable ods workbook: no content.xml") from None
    except expat.ExpatError as exc:
        raise SourceReadError(path, f"not a readable ods workbook: content.xml: {exc}") from exc
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        raise SourceReadError(path, f"not a readable ods workbook: {exc}") from exc


#: the most an XLSX or ODS workbook may hold once unzipped (a zip "bomb" expands far more)
MAX_UNZIPPED_BYTES: Final = 4 * 1024**3


def _check_unzipped_size(path: Path) -> None:
    """Refuse a workbook whose zip members add up to more than :data:`MAX_UNZIPPED_BYTES`.

    The sizes come from the zip's directory, so nothing is inflated to check them; a
    file that is not a zip is left to the spreadsheet reader, which names it.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return
    if total > MAX_UNZIPPED_BYTES:
        raise SourceReadError(
            path,
            f"the workbook unzips to {total:,} bytes, more than the {MAX_UNZIPPED_BYTES:,} "
            "read (a damaged or hostile file?)",
        )


def read_spreadsheet(
    path: Path, fmt: str, sheet: str | None, date_pattern: str, prefer: str | None = None
) -> Table:
    """One sheet through calamine: all columns as text, the date column typed when uniform.

    The sheet is chosen by :func:`pick_sheet` (``sheet``, else ``prefer``, else the
    default), from the one reader that reads the workbook.
    """
    opts = {"whitespace_as_null": True, "skip_whitespace_tail_rows": True}
    if fmt in ("xlsx", "ods"):
        _check_unzipped_size(path)
    if fmt == "ods":
        check_ods_xml(path)
    try:
        reader = fastexcel.read_excel(str(path))
        name = pick_sheet(path, reader.sheet_names, sheet, prefer)
        first = reader.load_sheet(name, header_row=None, n_rows=1, dtypes="string").to_polars()
        headers = ["" if h is None else h for h in (first.row(0) if first.height else ())]
        dated = [i for i, h in enumerate(headers) if re.fullmatch(date_pattern, norm_header(h))]
        as_text = {i: "string" for i in range(len(headers)) if i not in dated[:1]}
        try:
            sheet_data = reader.load_sheet(
                name, dtypes=as_text, dtype_coercion="strict", schema_sample_rows=None, **opts
            )
            frame, mixed = sheet_data.to_polars(), False
        except fastexcel.UnsupportedColumnTypeCombinationError:
            frame, mixed = reader.load_sheet(name, dtypes="string", **opts).to_polars(), True
    except SourceReadError:
        raise
    except (fastexcel.FastExcelError, OSError, ValueError, pl.exceptions.PolarsError) as exc:
        if fmt == "ods":  # the XML parser names the line and column of a fault
            check_ods_xml(path, full=True)
        raise SourceReadError(path, f"not a readable {fmt} workbook: {exc}") from exc
    dates, notes = "no-dates", [f"sheet {name!r}"]
    if dated:
        col = frame.columns[dated[0]]
        dtype = frame.schema[col]
        if mixed:
            dates = "mixed-dates"
            notes.append("publication dates mix date cells and text")
        elif isinstance(dtype, pl.Datetime):
            timed = frame.select((pl.col(col).dt.time() != dt.time(0)).sum()).item()
            dates = "datetime-cells" if timed else "date-cells"
            if timed:
                notes.append(f"{timed} publication date(s) carry a time of day; date kept")
            frame = frame.with_columns(pl.col(col).dt.date())
        elif dtype == pl.Date:
            dates = "date-cells"
        elif dtype == pl.String:
            dates = "text-dates"
        frame = frame.with_columns(pl.col(col).cast(pl.String))
    if len(headers) == frame.width:  # the names as written, a repeated one kept repeated
        frame = frame.rename(dict(zip(frame.columns, keep_doubled_names(headers), strict=True)))
    if fmt == "xlsx":
        frame = _with_error_cells(path, name, frame, notes)
    return Table(_numbered(frame, frame.columns), fmt, name, dates, tuple(notes))


def _with_error_cells(
    path: Path, sheet: str, frame: pl.DataFrame, notes: list[str]
) -> pl.DataFrame:
    """Put back the text of the sheet's error cells (``#N/A`` ...), which calamine reads as empty.

    The loaders then report each as an invalid value where they parse the column
    (strict) or quarantine its row (lenient); elsewhere the text is kept, and a note
    counts them.
    """
    cells = [(r - 1, c, t) for r, c, t in xlsx_error_cells(path, sheet) if r >= 1]
    cells = [(r, c, t) for r, c, t in cells if r < frame.height and c < frame.width]
    if not cells:
        return frame
    by_column: dict[int, list[tuple[int, str]]] = {}
    for r, c, t in cells:
        by_column.setdefault(c, []).append((r, t))
    columns = []
    for c, hits in by_column.items():
        name = frame.columns[c]
        values = frame.get_column(name).cast(pl.String)
        values = values.scatter([r for r, _ in hits], [t for _, t in hits])
        columns.append(values.alias(name))
    shown = ", ".join(f"{t} in row {r + 2}" for r, _, t in cells[:3])
    more = f" and {len(cells) - 3} more" if len(cells) > 3 else ""
    notes.append(f"{len(cells)} error cell(s) read as their error text: {shown}{more}")
    logger.warning("%s: %d spreadsheet error cell(s), e.g. %s", path.name, len(cells), shown)
    return frame.with_columns(columns)


def read_table(
    path: Path, sheet: str | None, date_pattern: str, prefer: str | None = None
) -> Table:
    """Read a file as text (cells untrimmed, empty cells null or ""), plus ``source_row``.

    ``sheet`` and ``prefer`` choose a workbook's sheet (see :func:`pick_sheet`).
    """
    problem = regular_file_problem(path)
    if problem is not None:  # a spreadsheet reader would block on a named pipe
        raise SourceReadError(path, problem)
    fmt = file_format(path)
    if fmt == "csv":
        return read_csv(path)
    return read_spreadsheet(path, fmt, sheet, date_pattern, prefer)


def map_headers(headers: Sequence[str], patterns: Mapping[str, str], source: str):
    """Canonical name -> header in the file. Two headers for one field is an error."""
    found: dict[str, list[str]] = {}
    for h in headers:
        name = next((k for k, p in patterns.items() if re.fullmatch(p, norm_header(h))), None)
        if name is not None:
            found.setdefault(name, []).append(h)
    clashes = {k: v for k, v in found.items() if len(v) > 1}
    if clashes:
        rows = [(source, None, _headers(hs), None, _clash(k, hs)) for k, hs in clashes.items()]
        v = pl.DataFrame(rows, schema=VIOLATION_SCHEMA, orient="row")
        raise DataContractError(source, v, source)
    return {k: v[0] for k, v in found.items()}


def _headers(headers: Sequence[str]) -> str:
    """Return the headers of a clash for a message: one name when it is one name repeated."""
    names = {h.strip() for h in headers}
    return names.pop() if len(names) == 1 else ", ".join(headers)


def _clash(field: str, headers: Sequence[str]) -> str:
    if len({norm_header(h) for h in headers}) == 1:
        return (
            f"the column {echo(headers[0].strip())} appears {len(headers)} times: which to read "
            "is ambiguous; rename or delete the others"
        )
    return f"several headers match {field!r}"


def text_frame(
    table: pl.DataFrame, mapping: Mapping[str, str], names: Sequence[str], nulls: Sequence[str] = ()
) -> tuple[pl.DataFrame, int]:
    """Return the file's text under canonical names (trimmed; ``nulls`` -> null), ``_index``.

    Wholly blank rows (every cell of the file empty or whitespace, mapped or not) are
    dropped and counted: returns ``(text, n_blank)``. Only rows whose mapped cells
    are all empty are checked cell by cell, so the unused columns are not trimmed.
    """

    def text(header: str) -> pl.Expr:
        return pl.col(header).cast(pl.String).str.strip_chars().replace(["", *nulls], None)

    out = table.with_row_index("_index").select(
        pl.col("_index").cast(pl.Int64),
        *((text(mapping[c]) if c in mapping else pl.lit(None, pl.String)).alias(c) for c in names),
        "source_row",
    )
    used = [c for c in names if c in mapping]
    empty = pl.all_horizontal([pl.col(c).is_null() for c in used] or [True])
    candidates = out.filter(empty)["_index"]
    if candidates.is_empty():
        return out, 0
    data = [c for c in table.columns if c != "source_row"]
    blank_cell = [pl.col(c).cast(pl.String).str.strip_chars().fill_null("") == "" for c in data]
    blank = (
        table.with_row_index("_index")
        .filter(pl.col("_index").is_in(candidates.implode()))
        .filter(pl.all_horizontal(blank_cell or [True]))["_index"]
        .cast(pl.Int64)
    )
    return out.filter(~pl.col("_index").is_in(blank.implode())), blank.len()


def distinct_values(text: pl.DataFrame, column: str, exprs: Mapping[str, pl.Expr]) -> pl.DataFrame:
    """``exprs`` (over ``column``) evaluated once per distinct value, one row per row of ``text``.

    Labels, dates and flags repeat heavily in ratings files, so parsing each distinct
    text once and joining back gives the row-wise result at a fraction of the cost.
    """
    distinct = text.select(pl.col(column).unique()).with_columns(**{k: e for k, e in exprs.items()})
    return (
        text.select(column)
        .join(distinct, on=column, how="left", nulls_equal=True, maintain_order="left")
        .drop(column)
    )


# ----------------------------------------------------------------------------- checking


def date_from_text(col: str) -> pl.Expr:
    """Parse ISO (``2018-09-03``) or UK (``03/09/2018``) dates in ``col``; null otherwise."""
    s = pl.col(col)
    iso = s.str.extract(r"^(\d{4}-\d{1,2}-\d{1,2})").str.to_date("%Y-%m-%d", strict=False)
    dmy = s.str.extract(r"^(\d{1,2}/\d{1,2}/\d{4})").str.to_date("%d/%m/%Y", strict=False)
    return pl.when(s.str.contains(ISO_DATE)).then(iso).when(s.str.contains(DMY_DATE)).then(dmy)


def yes_no(col: str) -> pl.Expr:
    """Parse yes/no flags (``Y``, ``Yes``, ``TRUE``, ``N`` ...) in ``col``; null otherwise."""
    flags = {"y": True, "yes": True, "true": True, "n": False, "no": False, "false": False}
    return (
        pl.col(col).str.to_lowercase().replace_strict(flags, default=None, return_dtype=pl.Boolean)
    )


def parse_violations(
    text: pl.DataFrame, checks: Sequence[tuple[str, pl.Expr, str]], contract: str
) -> pl.DataFrame:
    """Violations for cells whose text did not parse: (column, parsed expression, problem)."""
    pieces = [
        text.filter(pl.col(col).is_not_null() & parsed.is_null()).select(
            pl.lit(contract).alias("contract"),
            pl.col("source_row").alias("row"),
            pl.lit(col).alias("column"),
            pl.col(col).alias("value"),
            pl.when(pl.col(col).is_in(list(ERROR_VALUES)))
            .then(pl.lit(f"a spreadsheet error value, not data: {problem}"))
            .otherwise(pl.lit(problem))
            .alias("problem"),
            "_index",
        )
        for col, parsed, problem in checks
    ]
    return pl.concat(pieces, how="vertical")


def resolve(
    canon: pl.DataFrame,
    text: pl.DataFrame,
    parse_violations: pl.DataFrame,
    contract: Contract,
    order: str,
    fill_keys: Sequence[str],
    mode: Mode,
    source: str,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Check rows, split superseded publications off, find duplicates; strict mode raises.

    ``canon`` (parsed) and ``text`` (the file's text, for quarantine records) share
    ``_index``. A key's rows with an ``order`` value below the key's latest are
    superseded; two or more rows left for one key are duplicates. The latest is taken
    over all rows, quarantined ones included, so that an older row never stands in
    for a newer publication that could not be read. Key parts in ``fill_keys`` may be
    null (they key as ""); a row with another null key part is never grouped.
    Returns (frame, quarantine, superseded).
    """
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode must be 'strict' or 'lenient', got {mode!r}")
    checks = find_violations(canon.drop("_index"), replace(contract, key=()))
    if checks["_index"].null_count():  # whole-column problem: no row can be kept
        raise DataContractError(contract.name, checks.drop("_index"), source)
    # a cell that failed to parse (an unknown label) is reported once, by its parse
    # violation, not again as a null in the derived canonical column
    derived = {"rating": "rating_status", "key_question": "key_question"}
    parsed_cols = set(parse_violations["column"].unique().to_list())
    echo = [derived[c] for c in parsed_cols if c in derived]
    if echo and checks.height:
        flagged = parse_violations.select("_index").unique()
        checks = checks.join(
            flagged.with_columns(pl.lit(True).alias("_parsed")), on="_index", how="left"
        ).filter(~(pl.col("_parsed").fill_null(False) & pl.col("column").is_in(echo)))
        checks = checks.drop("_parsed")
    bad = pl.concat([parse_violations, checks], how="vertical")
    keys = list(contract.key)
    k = [pl.col(c).fill_null("") if c in fill_keys else pl.col(c) for c in keys]
    keyed = pl.all_horizontal([pl.col(c).is_not_null() for c in keys if c not in fill_keys])
    bad_row = pl.col("_index").is_in(bad["_index"].implode()) if bad.height else pl.lit(False)
    repeated = (keyed & pl.struct(k).is_duplicated()).fill_null(False)
    marked = canon.with_columns(_bad=bad_row, _repeated=repeated)
    # only rows whose key repeats can be superseded or duplicates: the windows run on them
    many = marked.filter("_repeated")
    if many.height:
        latest = pl.col(order).max().over(k)  # latest over all rows, even bad ones
        old = (pl.col(order).is_not_null() & (pl.col(order) < latest)).fill_null(False)
        many = many.with_columns(_latest=latest, _old=old).with_columns(
            _n=(~pl.col("_bad") & ~pl.col("_old")).sum().cast(pl.UInt32).over(k)
        )
    once = marked.filter(~pl.col("_repeated")).with_columns(
        _latest=pl.col(order), _old=pl.lit(False), _n=pl.lit(1, pl.UInt32)
    )
    if many.height:
        marked = pl.concat([once, many.select(once.columns)], how="vertical").sort("_index")
    else:
        marked = once
    ok = marked.filter(~pl.col("_bad"))
    current = ok.filter(~pl.col("_old")).with_columns(
        _dup=(pl.col("_repeated") & (pl.col("_n") > 1)).fill_null(False)
    )
    key_text = pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("<null>") for c in keys], separator=" | "
    )
    dups = current.filter("_dup").select(
        pl.lit(contract.name).alias("contract"),
        pl.col("source_row").alias("row"),
        pl.lit("+".join(keys)).alias("column"),
        key_text.alias("value"),
        pl.format(
            "duplicate key: {} rows share it and the latest {} ({})",
            "_n",
            pl.lit(order),
            pl.col(order).cast(pl.String).fill_null("missing"),
        ).alias("problem"),
        "_index",
    )
    violations = pl.concat([bad, dups], how="vertical").sort("row", "column")
    if violations.height and mode == "strict":
        raise DataContractError(contract.name, violations.drop("_index"), source)
    reasons = violations.group_by("_index").agg(
        pl.format("{}: {} ({})", "column", pl.col("value").fill_null("<null>"), "problem")
        .str.join("; ")
        .alias("reason")
    )
    q_rows = text.join(reasons, on="_index", how="inner").sort("_index")
    quarantine = to_quarantine(q_rows.drop("_index", "reason"), source, q_rows["reason"])
    if quarantine.height:
        logger.warning("%s: %d row(s) quarantined", source, quarantine.height)
    names = contract.column_names
    # the rows left meet the contract: each passed the row checks above, and with
    # superseded rows and duplicates set aside each key is unique
    frame = current.filter(~pl.col("_dup")).select(names)
    reason = pl.format("superseded by publication of {}", pl.col("_latest").cast(pl.String))
    superseded = ok.filter("_old").select(*names, reason.alias("reason"))
    return frame, quarantine, superseded
