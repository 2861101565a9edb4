"""Find the error cells of an XLSX sheet (``#DIV/0!``, ``#N/A`` ...), which calamine reads as empty.

An Excel formula that fails stores an error value in its cell (``<c t="e">``). The
spreadsheet reader gives such a cell as null, so a rating computed by a broken formula
would read as a blank rating. :func:`xlsx_error_cells` lists them so that the reader can
put their text back, where the loaders report it as an invalid value (strict) or
quarantine the row (lenient). The sheet's XML is streamed and searched for error cells
first (about 0.1 s per 100 MB); only a sheet that has some is parsed for their places.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import Final
from xml.etree import ElementTree

#: the error values a spreadsheet cell can hold (Excel, LibreOffice)
ERROR_VALUES: Final = frozenset(
    {
        "#DIV/0!",
        "#N/A",
        "#NAME?",
        "#NULL!",
        "#NUM!",
        "#REF!",
        "#VALUE!",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
        "#N/A!",
    }
)

_NS: Final = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_ERROR_ATTR: Final = re.compile(rb"""\st\s*=\s*["']e["']""")
_CELL: Final = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_REF: Final = re.compile(rb"""\sr\s*=\s*["']([A-Z]+)([0-9]+)["']""")
_VALUE: Final = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_CHUNK: Final = 1 << 22


def _sheet_member(zf: zipfile.ZipFile, sheet: str) -> str | None:
    """Return the zip member holding the sheet named ``sheet``, or None."""
    book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rid = next(
        (
            s.get(f"{{{_NS['r']}}}id")
            for s in book.iterfind("m:sheets/m:sheet", _NS)
            if s.get("name") == sheet
        ),
        None,
    )
    if rid is None:
        return None
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = next(
        (r.get("Target") for r in rels.iterfind("p:Relationship", _NS) if r.get("Id") == rid), None
    )
    if target is None:
        return None
    if target.startswith("/"):
        return target.lstrip("/")
    return str(PurePosixPath("xl") / target)


def _has_error_cell(fh) -> bool:
    tail = b""
    while chunk := fh.read(_CHUNK):
        if _ERROR_ATTR.search(tail + chunk):
            return True
        tail = chunk[-16:]
    return False


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def xlsx_error_cells(path: Path, sheet: str) -> list[tuple[int, int, str]]:
    """Return ``(row, column, text)`` of every error cell of an XLSX sheet, 0-based.

    ``row`` and ``column`` count from the sheet's first row and column (A1). A file
    whose parts cannot be found (not an XLSX written to the standard) gives ``[]``: the
    spreadsheet reader has already read it, and only error values are looked for here.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            member = _sheet_member(zf, sheet)
            if member is None:
                return []
            with zf.open(member) as fh:
                if not _has_error_cell(fh):
                    return []
            data = zf.read(member)
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return []
    out = []
    for cell in _CELL.finditer(data):
        attrs, body = cell.group(1), cell.group(2) or b""
        if not _ERROR_ATTR.search(b" " + attrs):
            continue
        ref = _REF.search(b" " + attrs)
        value = _VALUE.search(body)
        if ref is None:
            continue
        text = value.group(1).decode("utf-8", "replace") if value else "#ERROR"
        out.append((int(ref.group(2)) - 1, _column_index(ref.group(1)), text))
    return out
