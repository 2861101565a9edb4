"""Check the record structure of delimited text line by line, with polars expressions.

:func:`read_lines` has polars read a file's lines; :func:`line_records` joins the
lines of each record (a quoted field may span lines) and counts its fields outside
quoted fields; :func:`first_problem` finds the first record, in file order, with a
quoted field left open, a quote out of place, a CR without LF outside quotes, or the
wrong number of fields, and says where: the line and the column. Used by
:mod:`ics_model.data.delimited` when polars alone cannot prove a file's structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import polars as pl

from ics_model.inputs import echo

#: the delimiters understood, as they are written inside a regular expression
_DELIMITERS: Final = {",": ",", "\t": r"\t"}
_QUOTED: Final = r'"(?:[^"]|"")*"'
POLARS_ERRORS: Final = (pl.exceptions.PolarsError, pl.exceptions.PanicException)


def text_position(text: str, index: int, first_line: int = 1) -> str:
    """Return ``"line L, column C"`` of ``text[index]`` (C 1-based, in characters).

    ``first_line`` is the number of the line ``text`` starts on.
    """
    line = first_line + text.count("\n", 0, index)
    return f"line {line}, column {index - text.rfind(chr(10), 0, index)}"


def read_lines(source: str | bytes) -> pl.DataFrame:
    """Return the lines of a UTF-8 file without NUL bytes: ``line`` (1-based), ``text``.

    polars reads each line as one field (NUL as the delimiter, no quoting); a line ends
    at LF, a CR before it is removed, and a byte-order mark is skipped.
    """
    return pl.read_csv(
        source,
        has_header=False,
        separator="\x00",
        quote_char=None,
        infer_schema=False,
        new_columns=["text"],
        encoding="utf8",
    ).with_row_index("line", offset=1)


def line_records(lines: pl.DataFrame, delimiter: str) -> pl.DataFrame:
    """Return one row per record, from the file's lines (:func:`read_lines`).

    A record is one line, or several when a quoted field spans line breaks: a record
    goes on while the quotes counted since its start are odd (``"`` opens or closes a
    quoted field, ``""`` inside one counts twice). Its fields are the delimiters
    outside quoted fields plus one, and none for an empty line.

    Returns
    -------
    pl.DataFrame
        ``line`` (its first line, 1-based), ``text`` (its lines joined by LF),
        ``open`` (true when a quoted field is still open after it: only the last
        record of a file cut inside quotes), ``quoted`` (holds a quote) and ``fields``.
    """
    text = pl.col("text")
    quotes = text.str.count_matches('"', literal=True)
    frame = lines.select(pl.col("line").cast(pl.Int64), text.fill_null("")).with_columns(
        open=(quotes.cum_sum() % 2) == 1
    )
    if frame["open"].any():  # a quoted line break: join the lines of each record
        starts = ~pl.col("open").shift(1, fill_value=False)
        frame = (
            frame.with_columns(_record=starts.cum_sum())
            .group_by("_record", maintain_order=True)
            .agg(pl.col("line").first(), text.str.join("\n"), pl.col("open").last())
            .drop("_record")
        )
    delimiters = text.str.count_matches(delimiter, literal=True)
    frame = frame.with_columns(
        quoted=text.str.contains('"', literal=True),
        fields=pl.when(text == "").then(0).otherwise(delimiters + 1).cast(pl.Int64),
    )
    at = frame.select(pl.arg_where("quoted")).to_series()
    if at.len():  # the delimiters inside quoted fields do not separate fields
        outside = _without_quoted_fields(delimiter).str.count_matches(delimiter, literal=True)
        inside = frame[at].select(delimiters - outside)
        zeros = pl.zeros(frame.height, pl.Int64, eager=True)
        frame = frame.with_columns(pl.col("fields") - zeros.scatter(at, inside.to_series()))
    return frame


def _without_quoted_fields(delimiter: str) -> pl.Expr:
    """``text`` with every quoted field emptied (a quote later in a field is not one)."""
    return pl.col("text").str.replace_all(rf"(^|{_DELIMITERS[delimiter]}){_QUOTED}", "${1}")


def _fields(record: str, delimiter: str) -> list[tuple[int, str]]:
    """(start, text) of each field of a record, quotes left in."""
    d = _DELIMITERS[delimiter]
    return [(m.start(1), m.group(1)) for m in re.finditer(rf"(?:^|{d})({_QUOTED}|[^{d}]*)", record)]


def _quote_fault(record: str, delimiter: str) -> tuple[int, str]:
    """(index, what) of the first quote in ``record`` out of place (RFC 4180)."""
    d = _DELIMITERS[delimiter]
    at = re.match(rf'(?:(?:{_QUOTED}|[^"{d}]*){d})*', record).end()
    rest = record[at:]
    if not rest.startswith('"'):
        return at + max(rest.find('"'), 0), "a quote inside an unquoted field (quote it whole)"
    closed = re.match(_QUOTED, rest)
    if closed is None:
        return at, "a quoted field that is never closed"
    return at + closed.end(), "text after the closing quote of a quoted field"


@dataclass(frozen=True)
class Layout:
    """What the structure check needs to know about the file and its expected records."""

    delimiter: str
    names: tuple[str, ...]  # the header's names (or the given column names): width
    header: bool  # the first record is the header
    first_row: int  # the number of the first record (the header's, if any)
    grammar: bool  # check the quoting of every record (polars rejected the file)
    extra_blank_ok: bool  # a record with more fields is fine if every extra one is blank
    whitespace_is_blank: bool  # a line of whitespace is a blank line
    ends_with_newline: bool


def _first_fault(records: pl.DataFrame, layout: Layout) -> tuple | None:
    """(row, line, text, fields, kind) of the first faulty record, or None.

    Kinds, in the order they are looked for in one record: ``quotes`` (a quoted field
    open at the end; with ``layout.grammar`` any quote out of place), ``cr`` (a CR
    outside quotes), ``long``, ``short``. The counts are compared on every record; the
    regular expressions run only on the records they concern.
    """
    d = _DELIMITERS[layout.delimiter]
    field = rf'{_QUOTED}|[^"{d}]*'
    width = len(layout.names)
    text, fields = pl.col("text"), pl.col("fields")
    data = pl.col("_row") >= layout.first_row + int(layout.header)
    blank = (text.str.strip_chars() if layout.whitespace_is_blank else text) == ""
    long, short = data & (fields > width), data & ~blank & (fields < width)
    cr = text.str.contains("\r", literal=True)
    suspect = pl.col("open") | cr | long | short
    bad_quotes = pl.col("open")
    if layout.grammar:
        valid = text.str.contains(rf"(?s)^(?:{field})(?:{d}(?:{field}))*$")
        bad_quotes = bad_quotes | (pl.col("quoted") & ~valid)
        suspect = suspect | pl.col("quoted")
    if layout.extra_blank_ok and width:
        extras = rf'(?:{d}(?:[^\S{d}]*|"\s*"))+'
        cut = rf"(?s)^(?:{field})(?:{d}(?:{field})){{{width - 1}}}{extras}$"
        long = long & ~text.str.contains(cut)
    # polars keeps a CR not followed by LF as text: only inside quotes is that right
    lone_cr = cr & _without_quoted_fields(layout.delimiter).str.contains("\r", literal=True)
    kind = (
        pl.when(bad_quotes)
        .then(pl.lit("quotes"))
        .when(lone_cr)
        .then(pl.lit("cr"))
        .when(long)
        .then(pl.lit("long"))
        .when(short)
        .then(pl.lit("short"))
    )
    found = (
        records.with_row_index("_row", offset=layout.first_row)
        .filter(suspect)
        .with_columns(kind=kind)
        .filter(pl.col("kind").is_not_null())
    )
    if found.is_empty():
        return None
    return found.select("_row", "line", "text", "fields", "kind").row(0)


def first_problem(records: pl.DataFrame, layout: Layout) -> str | None:
    """Return the first structural problem of ``records`` (file order), or None.

    ``records`` come from :func:`line_records` (leading blank lines removed); with a
    header, the first is the header. Problems: a quoted field still open at the end,
    a quote out of place (only with ``layout.grammar``), a CR without LF outside
    quotes, a record with fewer fields than expected (unless blank) or more (unless
    the extra ones are blank and that is allowed).
    """
    fault = _first_fault(records, layout)
    if fault is None:
        return None
    row, line, record, n, kind = fault
    width = len(layout.names)
    if kind == "quotes":
        index, what = _quote_fault(record, layout.delimiter)
        return f"{what}: {text_position(record, index, line)}"
    if kind == "cr":
        cells = _fields(record, layout.delimiter)
        unquoted = (s + v.index("\r") for s, v in cells if "\r" in v and not v.startswith('"'))
        where = text_position(record, next(unquoted, record.index("\r")), line)
        return f"a carriage return (CR) without a line feed outside quotes: {where}"
    expected = f"header has {width}" if layout.header else f"expected {width}"
    if kind == "long":
        cells = _fields(record, layout.delimiter)
        filled = [
            i
            for i in range(width, len(cells))
            if not layout.extra_blank_ok or cells[i][1].strip().strip('"').strip()
        ]
        index = min(filled[0] if filled else width, len(cells) - 1)
        where = f"line {line + record.count(chr(10), 0, cells[index][0])}, column {index + 1}"
        last = f"the last ({echo(layout.names[-1])})" if layout.names else "the last"
        value = cells[index][1]
        return f"row {row} has {n} fields, {expected}: {where} holds {echo(value)}, after {last}"
    missing = f"column {n + 1} ({echo(layout.names[n])}) onwards missing"
    if records.height + layout.first_row - 1 == row and not layout.ends_with_newline:
        return (
            f"row {row} (the last) has {n} of {width} fields and no line end: the file "
            f"looks truncated (line {line}: {missing})"
        )
    return f"row {row} has {n} fields, {expected} (line {line}: {missing})"


def locate_fault(data: bytes, delimiter: str = ",") -> str | None:
    """Return the first fault of a CSV with a header that polars refused, or None.

    For readers that parse with polars on their own (e.g. typed columns): every
    record is checked as :func:`ics_model.data.delimited.read_delimited` checks a file
    polars refused, a blank field after the last column included. The answer names
    the line and the column.
    """
    try:
        records = line_records(read_lines(data), delimiter)
    except POLARS_ERRORS:  # not UTF-8, or NUL bytes: no line to point at
        return None
    if records.is_empty():
        return None
    layout = Layout(
        delimiter=delimiter,
        names=cell_texts(records["text"][0], delimiter),
        header=True,
        first_row=1,
        grammar=True,
        extra_blank_ok=False,
        whitespace_is_blank=False,
        ends_with_newline=data[-1:] in (b"\n", b"\r"),
    )
    return first_problem(records, layout)


def cell_texts(record: str, delimiter: str) -> tuple[str, ...]:
    """Return the fields of a record (a header line), unquoted and trimmed."""
    return tuple(_unquote(v).strip() for _, v in _fields(record, delimiter))


def _unquote(field: str) -> str:
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1].replace('""', '"')
    return field
