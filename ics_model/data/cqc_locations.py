"""Read a CQC locations file in either of CQC's layouts.

A user's ``data.locations`` file may be

- a **"Latest ratings" Locations sheet** (CSV, XLSX or ODS, one row per location x
  service x key question, as CQC's monthly download): read by
  :func:`~ics_model.data.cqc.read_cqc_ratings`, ``Loaded.history`` is None;
- **CQC API location records** (a JSON array, JSON lines, or a CSV export with
  ``locationId`` and nested ``currentRatings``/``historicRatings`` cells, or a flat API
  export with ``Rating``/``Rating Date``): read by
  :func:`~ics_model.data.cqc_api.read_cqc_api`, ``Loaded.history`` holds the rating
  history (empty when the records carry none).

:func:`locations_layout` tells them apart from the file itself, never from its name alone:
spreadsheets are Latest-ratings workbooks; ``.json``/``.jsonl``/``.ndjson`` files and text
starting with ``[`` or ``{`` are API records; a CSV is a Latest-ratings sheet when its
header has a ``Latest Rating`` column, and API records when it has an API field
(``locationId``, ``currentRatings``, ``historicRatings``, ``CQC Location ID``).
"""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path
from typing import Final, Literal

from ics_model.contracts import Mode
from ics_model.data.base import Loaded, SourceReadError
from ics_model.data.cqc import read_cqc_ratings
from ics_model.data.cqc_api import read_cqc_api
from ics_model.data.cqc_tables import file_format
from ics_model.inputs import open_input, regular_file_problem

LocationsLayout = Literal["api", "latest_ratings"]

_JSON_SUFFIXES: Final = (".json", ".jsonl", ".ndjson")
#: header keys (letters and digits, lower case) that only CQC API exports carry
_API_KEYS: Final = frozenset({"currentratings", "historicratings", "cqclocationid", "locationid"})
_HEAD_BYTES: Final = 65_536


def _key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


def _head_text(path: Path) -> str:
    """Return the start of a text file, decoded (UTF-16 by its BOM, else UTF-8, lenient)."""
    with open_input(path) as fh:
        head = fh.read(_HEAD_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8-sig", errors="replace")


def locations_layout(path: str | Path) -> LocationsLayout:
    """Return the layout of a CQC locations file: ``"api"`` or ``"latest_ratings"``.

    See the module docstring for the rules. A file that matches neither is taken as a
    Latest-ratings sheet, whose reader then names the columns it misses.

    Raises
    ------
    SourceReadError
        The file cannot be read.
    """
    p = Path(path)
    problem = regular_file_problem(p)
    if problem is not None:
        raise SourceReadError(p, problem)
    if file_format(p) != "csv":
        return "latest_ratings"
    if p.suffix.lower() in _JSON_SUFFIXES:
        return "api"
    text = _head_text(p).lstrip()
    if text.startswith(("[", "{")):
        return "api"
    first = text.replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0]
    header = next(csv.reader([first]), [])
    keys = {_key(h) for h in header}
    if "latestrating" in keys:
        return "latest_ratings"
    return "api" if keys & _API_KEYS else "latest_ratings"


def read_cqc_locations(path: str | Path, *, mode: Mode = "strict") -> Loaded:
    """Read a CQC locations file in whichever layout it has (see :func:`locations_layout`).

    Parameters
    ----------
    path : a Latest-ratings Locations sheet or a file of CQC API location records.
    mode : ``"strict"`` or ``"lenient"``, as the readers take it.

    Returns
    -------
    Loaded
        From :func:`~ics_model.data.cqc.read_cqc_ratings` (the workbook's ``Locations``
        sheet when it has one; ``history`` None) or
        :func:`~ics_model.data.cqc_api.read_cqc_api` (``history`` a frame; ``n_input_rows``
        counts records).
    """
    p = Path(path)
    if locations_layout(p) == "api":
        return read_cqc_api(p, mode=mode)
    return read_cqc_ratings(p, prefer="Locations", mode=mode)
