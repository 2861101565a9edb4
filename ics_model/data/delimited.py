"""Read delimited text files (CSV, tab-separated) strictly, with polars.

polars parses every record (RFC 4180 quoting: a quoted field may hold delimiters,
doubled quotes and line breaks; lines end in LF or CRLF, or CR alone when the whole
file uses it). What polars lets through silently, or rejects without saying where, is
checked here, and each problem raises one :class:`~ics_model.data.base.SourceReadError`
naming the file, the line and the column:

- a record with fewer fields than the header (polars pads it with nulls), e.g. a
  truncated last line;
- a record with more fields (polars raises; cut to the header's width when every
  extra field is blank, such as a trailing delimiter, if the caller allows it);
- a quoted field still open at the end of the file, a CR without LF outside quotes,
  and, when polars refuses the file, a quote inside an unquoted field or text after a
  closing quote (a quote polars reads without raising keeps polars' reading);
- NUL bytes, bytes that are not text in the file's encoding, a multi-byte UTF-8
  character cut off at the end of the file.

The record structure is proved without looking at the lines when polars reads the
file and its last column holds no null: polars pads a short record with nulls and
raises on a long one, so then every record has all its fields. Otherwise polars reads
the lines, polars expressions join the lines of a record (by quote parity) and count
its fields outside quoted fields, and the first problem in file order is reported.
"""

from __future__ import annotations

import logging
import mmap
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import polars as pl

from ics_model.data.base import SourceReadError

logger = logging.getLogger(__name__)

Encodings = Literal["utf-8", "text"]

UTF8_BOM: Final = b"\xef\xbb\xbf"
UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
#: the delimiters understood, as they are written inside a regular expression
_DELIMITERS: Final = {",": ",", "\t": r"\t"}
_QUOTED: Final = r'"(?:[^"]|"")*"'
_POLARS_ERRORS: Final = (pl.exceptions.PolarsError, pl.exceptions.PanicException)


@dataclass(frozen=True)
class Delimited:
    """A delimited text file read as text.

    Attributes
    ----------
    header : the header's cells as written (quotes removed, not trimmed); for a
        headerless read, empty.
    frame : one row per record after the header, blank lines included (all null);
        ``String`` columns ``column_0``, ``column_1``, ... as many as the header (or the
        expected width); empty cells are null.
    encoding : ``"utf-8"``, ``"utf-8-sig"`` (byte-order mark), ``"cp1252"`` or ``"utf-16"``.
    delimiter : ``","`` or ``"\\t"``.
    first_row : the number of the frame's first row: 2 after a header (row 1), else 1
        plus the blank lines before it.
    blank_lines : positions in ``frame`` of the rows that are blank lines (rather than
        records of empty fields such as ``,,``).
    """

    header: tuple[str, ...]
    frame: pl.DataFrame
    encoding: str
    delimiter: str
    first_row: int
    blank_lines: tuple[int, ...]


# ----------------------------------------------------------------------------- positions


def text_position(text: str, index: int, first_line: int = 1) -> str:
    """Return ``"line L, column C"`` of ``text[index]`` (C 1-based, in characters).

    ``first_line`` is the number of the line ``text`` starts on.
    """
    line = first_line + text.count("\n", 0, index)
    return f"line {line}, column {index - text.rfind(chr(10), 0, index)}"


def byte_position(data: bytes | mmap.mmap, offset: int, encoding: str = "utf-8") -> str:
    """Return ``"line L, column C"`` of the byte at ``offset``, C in decoded characters."""
    prefix = bytes(data[:offset]).decode(encoding, "replace")
    return text_position(prefix, len(prefix))


# ----------------------------------------------------------------------------- bytes


@contextmanager
def _mapped(path: Path) -> Iterator[bytes | mmap.mmap]:
    """The bytes of ``path``, memory-mapped (an empty file as ``b""``)."""
    try:
        with path.open("rb") as fh:
            if path.stat().st_size == 0:
                yield b""
                return
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                yield buf
    except SourceReadError:
        raise
    except (OSError, ValueError) as exc:
        raise SourceReadError(path, getattr(exc, "strerror", None) or str(exc)) from exc


def sniff_delimiter(first_line: str) -> str:
    """Return tab when ``first_line`` has more tabs than commas, else comma."""
    return "\t" if first_line.count("\t") > first_line.count(",") else ","


def decode(path: Path, data: bytes, encodings: Encodings = "text") -> tuple[str, str]:
    """Return the text of ``data`` and its encoding name.

    ``encodings="utf-8"`` accepts UTF-8 with or without a byte-order mark;
    ``"text"`` also UTF-16 with a byte-order mark and, when the bytes are not UTF-8,
    cp1252 (unless the only fault is a multi-byte character cut off at the end of a
    file that is otherwise UTF-8 with non-ASCII text: a truncated file).

    Raises
    ------
    SourceReadError
        Bytes that are not text in any encoding allowed, or NUL characters, with the
        line and column of the first.
    """
    if data.startswith(UTF16_BOMS) and encodings == "text":
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            where = byte_position(data, exc.start, "utf-16")
            raise SourceReadError(
                path, f"UTF-16 byte-order mark but invalid UTF-16 (truncated?) at {where}: {exc}"
            ) from exc
        if "\x00" in text:
            where = text_position(text, text.index("\x00"))
            raise SourceReadError(path, f"binary content (NUL characters), not CSV text: {where}")
        return text, "utf-16"
    nul = data.find(b"\x00")
    if nul >= 0:
        raise SourceReadError(
            path, f"binary content (NUL bytes), not CSV text: {byte_position(data, nul)}"
        )
    bom = data.startswith(UTF8_BOM)
    try:
        return data[3 if bom else 0 :].decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if bom else 0)
        where = byte_position(data, start)
        if encodings == "utf-8":
            raise SourceReadError(path, f"not UTF-8 text at {where} ({exc})") from exc
        if bom:
            raise SourceReadError(
                path, f"UTF-8 byte-order mark but invalid UTF-8 at {where}"
            ) from exc
        cut = exc.reason == "unexpected end of data" and exc.end == len(data) - (3 if bom else 0)
        if cut and max(data[:start], default=0) >= 0x80:
            raise SourceReadError(
                path, f"the file ends inside a multi-byte UTF-8 character (truncated?) at {where}"
            ) from exc
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        where = byte_position(data, exc.start, "cp1252")
        raise SourceReadError(path, f"text is neither UTF-8 nor cp1252 at {where}: {exc}") from exc


# ----------------------------------------------------------------------------- records


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
class _Layout:
    """What the structure check needs to know about the file and its expected records."""

    delimiter: str
    names: tuple[str, ...]  # the header's names (or the given column names): width
    header: bool  # the first record is the header
    first_row: int  # the number of the first record (the header's, if any)
    grammar: bool  # check the quoting of every record (polars rejected the file)
    extra_blank_ok: bool  # a record with more fields is fine if every extra one is blank
    whitespace_is_blank: bool  # a line of whitespace is a blank line
    ends_with_newline: bool


def _first_fault(records: pl.DataFrame, layout: _Layout) -> tuple | None:
    """(row, line, text, fields, kind) of the first faulty record, or None.

    Kinds, in the order they are looked for in one record: ``quotes`` (a quoted field
    open at the end; with ``layout.grammar`` any quote out of place), ``cr`` (a CR
    outside quotes), ``long``, ``short``. The counts are compared on every record; the
    regular expressions run only on the records they concern.
    """
    d = _DELIMITERS[layout.delimiter]
    width = len(layout.names)
    text, fields = pl.col("text"), pl.col("fields")
    data = pl.col("_row") >= layout.first_row + int(layout.header)
    blank = (text.str.strip_chars() if layout.whitespace_is_blank else text) == ""
    long, short = data & (fields > width), data & ~blank & (fields < width)
    cr = text.str.contains("\r", literal=True)
    suspect = pl.col("open") | cr | long | short
    bad_quotes = pl.col("open")
    if layout.grammar:
        field = rf'{_QUOTED}|[^"{d}]*'
        valid = text.str.contains(rf"(?s)^(?:{field})(?:{d}(?:{field}))*$")
        bad_quotes = bad_quotes | (pl.col("quoted") & ~valid)
        suspect = suspect | pl.col("quoted")
    if layout.extra_blank_ok and width:
        field = rf'{_QUOTED}|[^"{d}]*'
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


def first_problem(records: pl.DataFrame, layout: _Layout) -> str | None:
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
        index = filled[0] if filled else width
        where = f"line {line + record.count(chr(10), 0, cells[index][0])}, column {index + 1}"
        last = f"the last ({layout.names[-1]!r})" if layout.names else "the last"
        value = cells[index][1]
        return f"row {row} has {n} fields, {expected}: {where} holds {value!r}, after {last}"
    missing = f"column {n + 1} ({layout.names[n]!r}) onwards missing"
    if records.height + layout.first_row - 1 == row and not layout.ends_with_newline:
        return (
            f"row {row} (the last) has {n} of {width} fields and no line end: the file "
            f"looks truncated (line {line}: {missing})"
        )
    return f"row {row} has {n} fields, {expected} (line {line}: {missing})"


def locate_fault(data: bytes, delimiter: str = ",") -> str | None:
    """Return the first fault of a CSV with a header that polars refused, or None.

    For readers that parse with polars on their own (e.g. typed columns): every
    record is checked as :func:`read_delimited` checks a refused file, a blank field
    after the last column included. The answer names the line and the column.
    """
    try:
        records = line_records(read_lines(data), delimiter)
    except _POLARS_ERRORS:  # not UTF-8, or NUL bytes: no line to point at
        return None
    if records.is_empty():
        return None
    cells = _fields(records["text"][0], delimiter)
    layout = _Layout(
        delimiter=delimiter,
        names=tuple(_unquote(v).strip() for _, v in cells),
        header=True,
        first_row=1,
        grammar=True,
        extra_blank_ok=False,
        whitespace_is_blank=False,
        ends_with_newline=data[-1:] in (b"\n", b"\r"),
    )
    return first_problem(records, layout)


# ----------------------------------------------------------------------------- reading


def _polars_read(file: _Text, *, cut: bool) -> pl.DataFrame:
    """Every record as text (empty cells null), the header included; raises on a fault."""
    return pl.read_csv(
        file.source,
        has_header=False,
        separator=file.delimiter,
        quote_char='"',
        infer_schema=False,
        skip_lines=file.skip,
        truncate_ragged_lines=cut,
        encoding="utf8",
        raise_if_empty=True,
    )


def _attempt(file: _Text, *, cut: bool = False):
    """(frame, None) when polars reads the file, else (None, its exception)."""
    try:
        return _polars_read(file, cut=cut), None
    except _POLARS_ERRORS as exc:
        return None, exc


def _summary(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def read_delimited(
    path: Path,
    *,
    data: bytes | None = None,
    encodings: Encodings = "text",
    delimiter: str | None = None,
    columns: tuple[str, ...] | None = None,
    extra_blank_ok: bool = True,
    whitespace_is_blank: bool = False,
) -> Delimited:
    """Read a delimited text file strictly, every record as text (see the module notes).

    Parameters
    ----------
    path : the file, named in messages (and read unless ``data`` is given).
    data : the file's bytes when they are not the file's own (e.g. decompressed).
    encodings : ``"text"`` (UTF-8 with or without byte-order mark, UTF-16 with one,
        else cp1252) or ``"utf-8"`` (the first two only); see :func:`decode`.
    delimiter : ``","`` or ``"\\t"``; ``None`` sniffs the header line
        (:func:`sniff_delimiter`).
    columns : for a headerless file, the names of its columns (every record must have
        this many fields); ``None`` when the first record is the header.
    extra_blank_ok : a record with more fields than expected is cut to the expected
        width when every extra field is blank (e.g. a trailing delimiter); when False
        it is an error.
    whitespace_is_blank : a line holding only whitespace counts as a blank line rather
        than as a record of one field.

    Returns
    -------
    Delimited
        Leading blank lines are skipped (the header is row 1); later blank lines are
        kept as rows of nulls, so that row numbers count them.

    Raises
    ------
    SourceReadError
        Unreadable, empty or binary file; text not in an allowed encoding; a record
        with the wrong number of fields; misplaced quotes. The message names the file
        and, for faults in the text, the line and the column.
    """
    rules = _Rules(encodings, delimiter, columns, extra_blank_ok, whitespace_is_blank)
    if data is not None:
        return _read(path, data, data, rules)
    with _mapped(path) as buf:
        return _read(path, buf, str(path), rules)


@dataclass(frozen=True)
class _Rules:
    encodings: Encodings
    delimiter: str | None
    columns: tuple[str, ...] | None
    extra_blank_ok: bool
    whitespace_is_blank: bool


@dataclass
class _Text:
    """The file as polars will read it."""

    source: str | bytes  # a path, or UTF-8 bytes
    encoding: str
    text: str | None  # the decoded text, once decoded
    skip: int  # leading blank lines
    delimiter: str


def _prepare(path: Path, buf: bytes | mmap.mmap, source: str | bytes, rules: _Rules) -> _Text:
    """Check the bytes (empty, NUL, UTF-16, CR line ends) and find the header line."""
    bom = buf[:3] == UTF8_BOM
    if _NOT_SPACE.search(buf, 3 if bom else 0) is None:
        what = "empty file (a byte-order mark and nothing else)" if bom else "empty file"
        raise SourceReadError(path, what)
    text: str | None = None
    encoding = "utf-8-sig" if bom else "utf-8"
    if buf[:2] in UTF16_BOMS or (buf.find(b"\n") < 0 and buf.find(b"\r") >= 0):
        text, encoding = decode(path, bytes(buf), rules.encodings)
        if not text.strip():
            raise SourceReadError(path, "empty file (a byte-order mark and nothing else)")
        if "\n" not in text:
            text = text.replace("\r", "\n")  # classic Mac line ends
        source = text.encode("utf-8")
    else:
        nul = buf.find(b"\x00")
        if nul >= 0:
            where = byte_position(buf, nul)
            raise SourceReadError(path, f"binary content (NUL bytes), not CSV text: {where}")
    head = (
        text[:65536]
        if text is not None
        else bytes(buf[3 if bom else 0 : 65536]).decode("utf-8", "replace")
    )
    blank = re.match(r"(?:\r?\n)*", head).group()
    delimiter = rules.delimiter or sniff_delimiter(head[len(blank) :].split("\n", 1)[0])
    return _Text(source, encoding, text, blank.count("\n"), delimiter)


def _read(path: Path, buf: bytes | mmap.mmap, source: str | bytes, rules: _Rules) -> Delimited:
    """:func:`read_delimited` on the file's bytes ``buf`` (polars reads ``source``)."""
    file = _prepare(path, buf, source, rules)
    frame, failure = _attempt(file)
    if failure is not None and file.text is None:
        file.text, file.encoding = decode(path, bytes(buf), rules.encodings)  # UTF-8?
        if file.encoding == "cp1252":
            file.source = file.text.encode("utf-8")
            frame, failure = _attempt(file)
    lone_cr = _LONE_CR.search(file.source if isinstance(file.source, bytes) else buf)
    if (
        failure is None
        and lone_cr is None
        and (rules.columns is None or frame.width == len(rules.columns))
        and frame[frame.columns[-1]].null_count() == 0
    ):
        # polars pads a short record with nulls and raises on a long one
        logger.debug("%s: every record has all %d fields", path, frame.width)
        return _delimited(frame, rules, file, ())
    try:
        records = line_records(read_lines(file.source), file.delimiter).slice(file.skip)
    except _POLARS_ERRORS as exc:
        raise SourceReadError(path, f"malformed text ({_summary(exc)})") from exc
    header = rules.columns is None
    if header:
        cells = _fields(records["text"][0], file.delimiter) if records.height else []
        names = tuple(_unquote(v).strip() for _, v in cells)
    else:
        names = rules.columns
    last = file.text[-1:] if file.text is not None else bytes(buf[-1:]).decode("latin-1")
    layout = _Layout(
        delimiter=file.delimiter,
        names=names,
        header=header,
        first_row=1 if header else 1 + file.skip,
        grammar=failure is not None,
        extra_blank_ok=rules.extra_blank_ok,
        whitespace_is_blank=rules.whitespace_is_blank,
        ends_with_newline=last in ("\n", "\r"),
    )
    problem = first_problem(records, layout)
    if problem is not None:
        raise SourceReadError(path, problem)
    if failure is not None or frame.width != len(names):
        frame, failure = _attempt(file, cut=True)
        if failure is not None:
            raise SourceReadError(path, f"malformed CSV ({_summary(failure)})") from failure
    if frame.height != records.height or frame.width != len(names):
        raise SourceReadError(
            path,
            f"malformed CSV: {frame.height} record(s) of {frame.width} field(s) read where "
            f"the lines hold {records.height} of {len(names)}",
        )
    blank = (
        pl.col("text").str.strip_chars() if rules.whitespace_is_blank else pl.col("text")
    ) == ""
    lines = records.with_row_index("_i").filter(blank)["_i"].to_list()
    return _delimited(frame, rules, file, tuple(i - int(header) for i in lines if i >= int(header)))


_NOT_SPACE: Final = re.compile(rb"\S")
_LONE_CR: Final = re.compile(rb"\r(?!\n|\Z)")


def _unquote(field: str) -> str:
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1].replace('""', '"')
    return field


def _delimited(
    frame: pl.DataFrame, rules: _Rules, file: _Text, blank_lines: tuple[int, ...]
) -> Delimited:
    if rules.columns is not None:
        return Delimited((), frame, file.encoding, file.delimiter, 1 + file.skip, blank_lines)
    header = tuple("" if v is None else v for v in frame.row(0))
    return Delimited(header, frame.slice(1), file.encoding, file.delimiter, 2, blank_lines)
