"""Optional compiled fast path for the RTT full extract (:mod:`ics_model.data.rtt`).

Its pieces give exactly what the plain path gives, or decline:

- :func:`inflate_member` reads one zip member directly (ISA-L ``isal`` when installed,
  else :mod:`zlib`), checking its length and CRC-32 like :meth:`zipfile.ZipFile.read`.
- :func:`band_counts` reads the count columns of the CSV with a numba kernel run over
  chunks of the bytes in parallel threads: per row ``Total``, the unknown clock start,
  ``Total All`` and the weekly band sums (all, from 18 weeks, from 52 weeks).
- :func:`read_rows` adds the 13 identifying text columns: the kernel keeps each
  distinct text field once, polars reads those, and they are gathered back to the rows.

Both return ``None`` (the caller then parses the whole file with polars) when numba is
not installed, the header is not the NHS England layout, or any row is not plainly well
formed: a count cell that is neither empty nor plain ASCII digits, a wrong number of
fields, a blank line, a stray quote or carriage return, a line break inside quotes.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from ics_model.data.base import SourceReadError

try:  # ISA-L inflate is about twice as fast as zlib's; optional
    from isal import isal_zlib as _fast_zlib

    _ZLIB_ERRORS: tuple[type[BaseException], ...] = (zlib.error, _fast_zlib.error)
except ImportError:  # pragma: no cover - depends on the environment
    _fast_zlib = None
    _ZLIB_ERRORS = (zlib.error,)

logger = logging.getLogger(__name__)

#: Set to ``False`` to always use the polars parse (tests compare the two paths).
ENABLED: bool = True

#: The identifier columns that must open the header (any order), read as text.
TEXT_COLUMNS: Final[frozenset[str]] = frozenset(
    {
        "Period",
        "Provider Parent Org Code",
        "Provider Parent Name",
        "Provider Org Code",
        "Provider Org Name",
        "Commissioner Parent Org Code",
        "Commissioner Parent Name",
        "Commissioner Org Code",
        "Commissioner Org Name",
        "RTT Part Type",
        "RTT Part Description",
        "Treatment Function Code",
        "Treatment Function Name",
    }
)
#: Output columns of :func:`band_counts`, in the kernel's output order.
COUNT_COLUMNS: Final = ("_total", "_unknown", "_all", "_bands", "_over18", "_over52")
_NULLABLE: Final = ("_total", "_unknown", "_all")

# column kinds understood by the kernel
_TEXT, _BAND, _TOTAL, _UNKNOWN, _TOTAL_ALL, _BAND18, _BAND52 = range(7)
_SPECIAL: Final = {
    "Total": _TOTAL,
    "Patients with unknown clock start date": _UNKNOWN,
    "Total All": _TOTAL_ALL,
}
_BAND_LOWER = re.compile(r"^Gt (\d+)")
_MAX_DIGITS: Final = 18  # a longer number could overflow int64: leave it to polars
_MIN_CHUNK: Final = 1 << 20  # bytes per thread below which threads do not pay
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., name length, extra length


# ---------------------------------------------------------------------------- zip member


def inflate_member(path: str | Path, info: zipfile.ZipInfo) -> bytes:
    """The bytes of one zip member, inflated and checked (length and CRC-32).

    Parameters
    ----------
    path : the zip archive.
    info : the member, from ``zipfile.ZipFile(path).infolist()``.

    Returns
    -------
    bytes
        The same bytes as ``zipfile.ZipFile(path).read(info)``. Deflated members are
        inflated with ISA-L when ``isal`` is installed, stored members are read as is,
        and any other method (or an encrypted member) goes through :mod:`zipfile`.

    Raises
    ------
    SourceReadError
        Truncated or corrupt archive: bad local header, short read, inflate error,
        length or CRC-32 mismatch.
    """
    path = Path(path)
    try:
        if info.flag_bits & 0x1 or info.compress_type not in (
            zipfile.ZIP_DEFLATED,
            zipfile.ZIP_STORED,
        ):
            with zipfile.ZipFile(path) as archive:
                return archive.read(info)
        with path.open("rb") as fh:
            fh.seek(info.header_offset)
            head = fh.read(_LOCAL_HEADER.size)
            if len(head) != _LOCAL_HEADER.size:
                raise _corrupt(path, f"{info.filename}: local file header is cut short")
            signature, name_len, extra_len = _LOCAL_HEADER.unpack(head)
            if signature != b"PK\x03\x04":
                raise _corrupt(path, f"{info.filename}: bad local file header signature")
            fh.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
            raw = fh.read(info.compress_size)
        if len(raw) != info.compress_size:
            raise _corrupt(
                path, f"{info.filename}: {len(raw)} of {info.compress_size} compressed bytes"
            )
        if info.compress_type == zipfile.ZIP_STORED:
            data = raw
        else:
            # initial output size: the declared size, within deflate's maximum ratio
            bufsize = max(1, min(info.file_size, 1032 * len(raw) + 64))
            inflate = _fast_zlib.decompress if _fast_zlib is not None else zlib.decompress
            data = inflate(raw, -15, bufsize)
    except SourceReadError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, *_ZLIB_ERRORS) as exc:
        raise _corrupt(path, str(exc)) from exc
    if len(data) != info.file_size:
        raise _corrupt(path, f"{info.filename}: {len(data)} bytes, expected {info.file_size}")
    crc32 = _fast_zlib.crc32 if _fast_zlib is not None else zlib.crc32
    if crc32(data) & 0xFFFFFFFF != info.CRC:
        raise _corrupt(path, f"{info.filename}: bad CRC-32")
    return data


def _corrupt(path: Path, reason: str) -> SourceReadError:
    return SourceReadError(path, f"truncated or corrupt archive ({reason})")


# ---------------------------------------------------------------------------- kernel


def _parse_chunk(buf, start, stop, n_text, kind, out, codes):  # pragma: no cover - compiled
    """Parse the rows in ``buf[start:stop]``; (rows, span starts, span ends).

    ``kind[j]`` says what column ``j`` holds (the first ``n_text`` are text). For row
    ``r``, ``out[:, r]`` receives Total, unknown, Total All (-1 when empty), and the
    sums of all bands, of the bands from 18 weeks and of those from 52 weeks (empty
    cells count 0). Each text field is kept as the span of ``buf`` it occupies (quotes
    included): the distinct spans (by content) are returned as start and end offsets,
    and ``codes[j, r]`` is the index of the one equal to text field ``j`` of row ``r``.

    The row count is -1 if a row is bad: a text field with a carriage return, line
    feed or quote outside a properly quoted field, a count cell that is not empty or
    plain digits, a field count that differs from ``kind``'s, or more rows than ``out``
    holds. The parse then stops.
    """
    ncols = kind.shape[0]
    # distinct spans, found in an open-addressing hash table
    first = np.empty(1024, dtype=np.int64)
    last = np.empty(1024, dtype=np.int64)
    hashes = np.empty(1024, dtype=np.int64)
    n_spans = 0
    mask = 4095
    table = np.full(mask + 1, -1, dtype=np.int64)
    # most text fields repeat the previous row's: compare with it while scanning
    prev_start = np.zeros(n_text, dtype=np.int64)
    prev_len = np.full(n_text, -1, dtype=np.int64)
    prev_code = np.zeros(n_text, dtype=np.int64)
    row = 0
    i = start
    while i < stop:
        if row >= out.shape[1]:
            return -1, first[:0], last[:0]
        for j in range(n_text):
            fs = i
            pn = prev_len[j]
            d = prev_start[j] - fs
            same = pn > 0
            if i < stop and buf[i] == 34:  # quoted: "" is an escaped quote
                same = same and buf[i + d] == 34
                i += 1
                while True:
                    if i >= stop:
                        return -1, first[:0], last[:0]
                    c = buf[i]
                    if same and (i - fs >= pn or buf[i + d] != c):
                        same = False
                    if c == 34:
                        if i + 1 < stop and buf[i + 1] == 34:
                            if same and (i + 1 - fs >= pn or buf[i + 1 + d] != 34):
                                same = False
                            i += 2
                            continue
                        break
                    if c == 10 or c == 13:
                        return -1, first[:0], last[:0]
                    i += 1
                i += 1
                if i >= stop or buf[i] != 44:
                    return -1, first[:0], last[:0]
            else:
                while True:
                    if i >= stop:
                        return -1, first[:0], last[:0]
                    c = buf[i]
                    if c == 44 or c == 10 or c == 13 or c == 34:
                        if c == 44:
                            break
                        return -1, first[:0], last[:0]
                    if same and (i - fs >= pn or buf[i + d] != c):
                        same = False
                    i += 1
            fe = i  # buf[fs:fe] is the field, buf[fe] the comma after it
            i += 1
            n = fe - fs
            if same and n == pn:
                codes[j, row] = prev_code[j]
                continue
            # hash the length and up to 8 bytes at each end; equal hashes are compared
            h = n * 1099511628211
            k = fs
            while k < fe and k < fs + 8:
                h = (h ^ buf[k]) * 1099511628211
                k += 1
            k = max(k, fe - 8)
            while k < fe:
                h = (h ^ buf[k]) * 1099511628211
                k += 1
            h ^= h >> 29
            slot = h & mask
            while True:
                e = table[slot]
                if e < 0:
                    break
                if hashes[e] == h and last[e] - first[e] == n:
                    p = first[e]
                    equal = True
                    for k in range(n):
                        if buf[fs + k] != buf[p + k]:
                            equal = False
                            break
                    if equal:
                        break
                slot = (slot + 1) & mask
            if e < 0:  # a new distinct span
                if n_spans == first.shape[0]:
                    grown = np.empty(2 * n_spans, dtype=np.int64)
                    grown[:n_spans] = first
                    first = grown
                    grown = np.empty(2 * n_spans, dtype=np.int64)
                    grown[:n_spans] = last
                    last = grown
                    grown = np.empty(2 * n_spans, dtype=np.int64)
                    grown[:n_spans] = hashes
                    hashes = grown
                e = n_spans
                first[e] = fs
                last[e] = fe
                hashes[e] = h
                table[slot] = e
                n_spans += 1
                if 2 * n_spans > mask:  # keep the table at most half full
                    mask = 2 * mask + 1
                    table = np.full(mask + 1, -1, dtype=np.int64)
                    for q in range(n_spans):
                        slot = hashes[q] & mask
                        while table[slot] >= 0:
                            slot = (slot + 1) & mask
                        table[slot] = q
            prev_start[j] = fs
            prev_len[j] = n
            prev_code[j] = e
            codes[j, row] = e
        total = -1
        unknown = -1
        total_all = -1
        bands = 0
        over18 = 0
        over52 = 0
        f = n_text
        while True:
            k = kind[f]
            if i + 1 < stop and f + 1 < ncols and (k == _BAND or k >= _BAND18):
                # an empty or zero band followed by a comma adds nothing
                c = buf[i]
                if c == 44:
                    i += 1
                    f += 1
                    continue
                if c == 48 and buf[i + 1] == 44:
                    i += 2
                    f += 1
                    continue
            value = 0
            digits = 0
            c = 10  # the end of the chunk ends the line
            while i < stop:
                c = buf[i]
                if c < 48 or c > 57:
                    break
                value = value * 10 + (c - 48)
                digits += 1
                i += 1
                c = 10
            if digits > _MAX_DIGITS:
                return -1, first[:0], last[:0]
            if digits > 0:
                if k == _TOTAL:
                    total = value
                elif k == _UNKNOWN:
                    unknown = value
                elif k == _TOTAL_ALL:
                    total_all = value
                else:
                    bands += value
                    if k >= _BAND18:
                        over18 += value
                        if k == _BAND52:
                            over52 += value
            f += 1
            if c == 44:
                if f >= ncols:
                    return -1, first[:0], last[:0]  # an extra field
                i += 1
                continue
            if c == 13:
                i += 1
                if i >= stop or buf[i] != 10:
                    return -1, first[:0], last[:0]
                c = 10
            if c != 10 or f != ncols:
                return -1, first[:0], last[:0]  # text in a count cell, or a short row
            i += 1
            break
        out[0, row] = total
        out[1, row] = unknown
        out[2, row] = total_all
        out[3, row] = bands
        out[4, row] = over18
        out[5, row] = over52
        row += 1
    return row, first[:n_spans], last[:n_spans]


def _span_lines(buf, first, last, out):  # pragma: no cover - compiled
    """Write a CSV line ``0,<span>`` for each span ``buf[first[e]:last[e]]``; the length."""
    t = 0
    for e in range(first.shape[0]):
        out[t] = 48
        out[t + 1] = 44
        t += 2
        for k in range(first[e], last[e]):
            out[t] = buf[k]
            t += 1
        out[t] = 10
        t += 1
    return t


@functools.cache
def _kernels() -> tuple[Callable[..., tuple], Callable[..., int]] | None:
    """The compiled kernels (parse, span lines), or ``None`` when numba is not installed."""
    try:
        import numba
    except ImportError:
        logger.debug("numba is not installed: the RTT fast path is off")
        return None
    try:
        jit = numba.njit(nogil=True, cache=True, boundscheck=False)
        return jit(_parse_chunk), jit(_span_lines)
    except RuntimeError:  # no writable cache location: compile on every run
        jit = numba.njit(nogil=True, boundscheck=False)
        return jit(_parse_chunk), jit(_span_lines)


def column_kinds(header: list[str]) -> np.ndarray | None:
    """What each column holds, for the kernel; ``None`` if the layout is not supported.

    Supported: the 13 identifier columns first (any order), then only weekly bands
    (``Gt NN ...``), ``Total``, ``Patients with unknown clock start date`` and
    ``Total All``, each once.
    """
    n_text = len(TEXT_COLUMNS)
    if len(set(header)) != len(header) or set(header[:n_text]) != TEXT_COLUMNS:
        return None
    kinds = np.full(len(header), _TEXT, dtype=np.int64)
    for j, name in enumerate(header[n_text:], start=n_text):
        if name in _SPECIAL:
            kinds[j] = _SPECIAL[name]
            continue
        m = _BAND_LOWER.match(name)
        if m is None:
            return None
        weeks = int(m.group(1))
        kinds[j] = _BAND52 if weeks >= 52 else _BAND18 if weeks >= 18 else _BAND
    if not set(_SPECIAL.values()) <= set(kinds.tolist()):
        return None
    return kinds


def _body_start(data: bytes, header: list[str]) -> int | None:
    """Offset of the first data row; ``None`` unless the header line is plain text."""
    end = data.find(b"\n")
    if end < 0:
        return None
    line = data[:end].removeprefix(b"\xef\xbb\xbf").removesuffix(b"\r")
    if line != ",".join(header).encode("utf-8"):
        return None  # quoted or padded names: let polars read them
    return end + 1


def _chunks(data: bytes, start: int, n: int) -> list[tuple[int, int]]:
    """``n`` or fewer spans of ``data[start:]``, each ending just after a newline (or EOF)."""
    size = len(data)
    bounds = [start]
    for k in range(1, n):
        pos = data.find(b"\n", max(bounds[-1], start + (size - start) * k // n))
        if pos < 0 or pos + 1 >= size:
            break
        bounds.append(pos + 1)
    bounds.append(size)
    return list(itertools.pairwise(bounds))


@dataclasses.dataclass(frozen=True)
class _Chunk:
    rows: int
    out: np.ndarray  # (6, >= rows) count columns
    codes: np.ndarray  # (13, >= rows) index of each text field's distinct span
    first: np.ndarray  # distinct spans: start offsets
    last: np.ndarray  # end offsets


def _parse(data: bytes, header: list[str]) -> list[_Chunk] | None:
    """Run the kernel over ``data`` in parallel chunks; ``None`` if it declines."""
    if not ENABLED:
        return None
    kinds = column_kinds(header)
    if kinds is None:
        logger.debug("RTT fast path: header layout not supported")
        return None
    start = _body_start(data, header)
    if start is None or start >= len(data):
        logger.debug("RTT fast path: header line not plain, or no data rows")
        return None
    kernels = _kernels()
    if kernels is None:
        return None
    parse = kernels[0]
    buf = np.frombuffer(data, dtype=np.uint8)
    n_text = len(TEXT_COLUMNS)
    threads = min(os.cpu_count() or 1, 4)
    spans = _chunks(data, start, max(1, min(threads, (len(data) - start) // _MIN_CHUNK)))

    def run(span: tuple[int, int]) -> _Chunk | None:
        a, b = span
        # a row has a comma after every field but the last, then a newline (or the end
        # of the data): len(kinds) bytes at least, less one for the last row
        bound = (b - a) // len(kinds) + 1
        out = np.empty((len(COUNT_COLUMNS), bound), dtype=np.int64)
        codes = np.empty((n_text, bound), dtype=np.uint32)
        rows, first, last = parse(buf, a, b, n_text, kinds, out, codes)
        return None if rows < 0 else _Chunk(rows, out, codes, first, last)

    if len(spans) == 1:
        parts = [run(spans[0])]
    else:  # the first chunk in this thread, the others in a pool (the kernel frees the GIL)
        with ThreadPoolExecutor(max_workers=len(spans) - 1) as pool:
            others = pool.map(run, spans[1:])
            parts = [run(spans[0]), *others]
    done = [p for p in parts if p is not None]
    if len(done) != len(parts):
        logger.debug("RTT fast path: a row is not plainly well formed")
        return None
    return done


def _counts_frame(chunks: list[_Chunk]) -> pl.DataFrame:
    counts = np.concatenate([c.out[:, : c.rows] for c in chunks], axis=1)
    frame = pl.DataFrame({name: counts[j] for j, name in enumerate(COUNT_COLUMNS)})
    return frame.with_columns(pl.when(pl.col(c) >= 0).then(pl.col(c)).alias(c) for c in _NULLABLE)


def band_counts(data: bytes, header: list[str]) -> pl.DataFrame | None:
    """Count columns of every data row, read by the compiled kernel.

    Parameters
    ----------
    data : the CSV bytes (header line first).
    header : the column names as parsed from the header line.

    Returns
    -------
    pl.DataFrame or None
        One row per CSV data row, Int64 columns ``_total``, ``_unknown``, ``_all``
        (``Total``, unknown clock start, ``Total All``; null where the cell is empty),
        ``_bands``, ``_over18``, ``_over52`` (sums of all weekly bands, of those with a
        lower edge from 18 weeks and from 52 weeks; empty cells count 0). ``None`` when
        :data:`ENABLED` is false, numba is not installed, the layout is not supported or
        any row is not plainly well formed (see the module docstring).
    """
    chunks = _parse(data, header)
    return None if chunks is None else _counts_frame(chunks)


def read_rows(data: bytes, header: list[str]) -> pl.DataFrame | None:
    """The text columns (stripped) and the count columns of every data row.

    The kernel keeps each distinct text field once, as it is in the file (quotes
    included). Polars reads these as a CSV of their own, exactly as it reads them in
    the whole file (``infer_schema=False``: an empty field is null, a quoted empty
    field ``""``, a doubled quote inside quotes one quote, UTF-8 checked); they are
    stripped of surrounding white space and gathered back to the rows.

    Parameters
    ----------
    data : the CSV bytes (header line first).
    header : the column names as parsed from the header line.

    Returns
    -------
    pl.DataFrame or None
        The 13 text columns (String, named and ordered as in the file) followed by the
        columns of :func:`band_counts`; ``None`` whenever :func:`band_counts` would be,
        or when polars does not read back one value per distinct field.
    """
    chunks = _parse(data, header)
    kernels = _kernels()
    if chunks is None or kernels is None:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    first = np.concatenate([c.first for c in chunks])
    last = np.concatenate([c.last for c in chunks])
    lines = np.empty(int((last - first).sum()) + 3 * len(first), dtype=np.uint8)
    size = kernels[1](buf, first, last, lines)
    try:
        values = pl.read_csv(
            b"_,v\n" + lines[:size].tobytes(), infer_schema=False, encoding="utf8"
        )["v"]
    except pl.exceptions.PolarsError as exc:
        logger.debug("RTT fast path: polars cannot read the text fields (%s)", exc)
        return None
    if values.len() != len(first):
        logger.debug("RTT fast path: %d values for %d text fields", values.len(), len(first))
        return None
    # each chunk's codes index its own spans: offset them by the earlier chunks' spans
    n_text = len(TEXT_COLUMNS)
    index = np.empty((n_text, sum(c.rows for c in chunks)), dtype=np.uint32)
    at = offset = 0
    for c in chunks:
        np.add(c.codes[:, : c.rows], offset, out=index[:, at : at + c.rows])
        at += c.rows
        offset += len(c.first)
    names = header[:n_text]
    values = values.rechunk().str.strip_chars()  # one chunk: gathers are much faster
    text = pl.DataFrame({name: index[j] for j, name in enumerate(names)}).select(
        pl.lit(values).gather(pl.col(name)).alias(name) for name in names
    )
    return pl.concat([text, _counts_frame(chunks)], how="horizontal")
