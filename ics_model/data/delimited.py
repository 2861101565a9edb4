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
raises on a long one, so then every record has all its fields. Otherwise the lines are
checked with :mod:`ics_model.data.csv_lines` (polars reads them; polars expressions
join the lines of a record and count its fields) and the first problem in file order
is reported.
"""

from __future__ import annotations

import logging
import mmap
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import polars as pl

from ics_model.data.base import SourceReadError
from ics_model.data.csv_lines import (
    POLARS_ERRORS,
    Layout,
    cell_texts,
    first_problem,
    line_records,
    read_lines,
    text_position,
)
from ics_model.inputs import MAX_FIELD_CHARS, clip, open_input

logger = logging.getLogger(__name__)

Encodings = Literal["utf-8", "text"]

UTF8_BOM: Final = b"\xef\xbb\xbf"
UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Delimited:
    r"""A delimited text file read as text.

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


def byte_position(data: bytes | mmap.mmap, offset: int, encoding: str = "utf-8") -> str:
    """Return ``"line L, column C"`` of the byte at ``offset``, C in decoded characters."""
    prefix = bytes(data[:offset]).decode(encoding, "replace")
    return text_position(prefix, len(prefix))


# ----------------------------------------------------------------------------- bytes


@contextmanager
def _mapped(path: Path) -> Iterator[bytes | mmap.mmap]:
    """Return the bytes of ``path``, memory-mapped (an empty file as ``b""``)."""
    try:
        with open_input(path) as fh:
            if os.fstat(fh.fileno()).st_size == 0:
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
    if data.startswith(UTF16_BOMS):
        raise SourceReadError(path, "not UTF-8 text (a UTF-16 byte-order mark): line 1, column 1")
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
    except POLARS_ERRORS as exc:
        return None, exc


def _summary(exc: BaseException) -> str:
    """Return the first line of an exception's message, cut (polars may quote the text)."""
    return clip(str(exc).strip().splitlines()[0], 300) if str(exc).strip() else type(exc).__name__


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
    r"""Read a delimited text file strictly, every record as text (see the module notes).

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

    path: Path  # the file, for messages
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
    return _Text(path, source, encoding, text, blank.count("\n"), delimiter)


def _read(path: Path, buf: bytes | mmap.mmap, source: str | bytes, rules: _Rules) -> Delimited:
    """:func:`read_delimited` on the file's bytes ``buf`` (polars reads ``source``)."""
    file = _prepare(path, buf, source, rules)
    frame, failure = _attempt(file)
    if failure is not None and file.text is None:
        file.text, file.encoding = decode(path, bytes(buf), rules.encodings)  # UTF-8?
        if file.encoding == "cp1252":
            file.source = file.text.encode("utf-8")
            frame, failure = _attempt(file)
    if (
        failure is None
        and (rules.columns is None or frame.width == len(rules.columns))
        and frame[frame.columns[-1]].null_count() == 0
        and not _lone_cr(file.source if isinstance(file.source, bytes) else buf)
    ):
        # polars pads a short record with nulls and raises on a long one
        logger.debug("%s: every record has all %d fields", path, frame.width)
        return _delimited(frame, rules, file, ())
    try:
        records = line_records(read_lines(file.source), file.delimiter).slice(file.skip)
    except POLARS_ERRORS as exc:
        raise SourceReadError(path, f"malformed text ({_summary(exc)})") from exc
    header = rules.columns is None
    if header:
        names = cell_texts(records["text"][0], file.delimiter) if records.height else ()
    else:
        names = rules.columns
    last = file.text[-1:] if file.text is not None else bytes(buf[-1:]).decode("latin-1")
    layout = Layout(
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


def _lone_cr(data: bytes | mmap.mmap) -> bool:
    """Return whether ``data`` holds a CR not followed by LF (polars reads it as text)."""
    return data.find(b"\r") >= 0 and _LONE_CR.search(data) is not None


def _long_field(frame: pl.DataFrame, first_row: int) -> str | None:
    """Where ``frame`` holds a field longer than :data:`MAX_FIELD_CHARS`, or None."""
    if not frame.width:
        return None
    longest = frame.select(pl.all().str.len_bytes().max()).row(0)
    for i, n in enumerate(longest):
        if n is None or n <= MAX_FIELD_CHARS:
            continue
        chars = frame.get_column(frame.columns[i]).str.len_chars()
        if chars.max() > MAX_FIELD_CHARS:
            at = int(chars.arg_max())
            return (
                f"row {first_row + at}, column {i + 1}: a field of {chars[at]:,} characters, "
                f"more than the {MAX_FIELD_CHARS:,} read (is it the right file?)"
            )
    return None


def _delimited(
    frame: pl.DataFrame, rules: _Rules, file: _Text, blank_lines: tuple[int, ...]
) -> Delimited:
    first = 1 + file.skip if rules.columns is not None else 1
    problem = _long_field(frame, first)
    if problem is not None:
        raise SourceReadError(file.path, problem)
    if rules.columns is not None:
        return Delimited((), frame, file.encoding, file.delimiter, 1 + file.skip, blank_lines)
    header = tuple("" if v is None else v for v in frame.row(0))
    return Delimited(header, frame.slice(1), file.encoding, file.delimiter, 2, blank_lines)
