"""The ODS guard of the spreadsheet reader (ics_model.data.cqc_tables.check_ods_xml).

calamine loops forever when an ODS ``content.xml`` ends inside a sheet. The guard clears
a workbook from the end of ``content.xml`` alone when its last sheet plainly closes, and
parses any other in full; these tests call the guard only, never the reader, on files
that would make it loop.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from ics_model.data import cqc_tables
from ics_model.data.base import SourceReadError
from ics_model.data.cqc import read_cqc_ratings
from ics_model.data.cqc_tables import check_ods_xml
from ics_model.synthetic import synthetic_locations_file

END = b"</table:table>"


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    # a Locations sheet then a Note sheet, as the benchmark's
    path = tmp_path_factory.mktemp("ods") / "good.ods"
    return synthetic_locations_file(path, 60, seed=2, fmt="ods")


def _edited(src: Path, dest: Path, edit: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, edit(data) if info.filename == "content.xml" else data)
    return dest


def _tail_clears(path: Path) -> bool:
    with zipfile.ZipFile(path) as zf, zf.open("content.xml") as fh:
        return cqc_tables._last_sheet_closes(fh)


def _last_end(xml: bytes) -> int:
    return xml.rindex(END)


def _no_full_parse(*_):
    raise AssertionError("the whole of content.xml was parsed")


def test_a_plainly_closed_workbook_is_cleared_from_its_tail(good, cqc_fixtures, monkeypatch):
    monkeypatch.setattr(cqc_tables, "_parse_xml", _no_full_parse)
    for path in (good, cqc_fixtures["providers_2018_ods"], cqc_fixtures["workbook_ods"]):
        assert _tail_clears(path)
        check_ods_xml(path)


@pytest.mark.parametrize(
    ("edit", "fault"),
    [
        # content.xml (the zip is intact) ends inside the last sheet: the reader would loop
        (lambda x: x[: _last_end(x)], "no element found"),
        (lambda x: x[: _last_end(x) - 40], "unclosed token|no element found"),
        # the last sheet's end tag hidden in a comment, or inside its last text cell
        (lambda x: x[: _last_end(x)] + b"<!--" + x[_last_end(x) :], "unclosed token"),
        (
            lambda x: x.replace(b"</table:table-cell></table:table-row>\n" + END, END + b"</x>"),
            "mismatched tag",
        ),
        # the last row loses a tag
        (lambda x: x[: _last_end(x) - 30] + x[_last_end(x) - 12 :], "mismatched tag"),
    ],
)
def test_a_workbook_not_plainly_closed_is_parsed_in_full(good, tmp_path, edit, fault):
    bad = _edited(good, tmp_path / "bad.ods", edit)
    assert not _tail_clears(bad)
    with pytest.raises(
        SourceReadError, match=rf"bad\.ods: not a readable ods workbook: content\.xml: ({fault})"
    ):
        check_ods_xml(bad)


@pytest.mark.parametrize(
    "edit",
    [
        lambda x: x.replace(b"</office:body>", b"<!-- a comment --></office:body>"),
        lambda x: x.replace(b"</office:document-content>", b"<?pi x?></office:document-content>"),
        lambda x: x[: _last_end(x)] + b"<table:named-expressions/>" + x[_last_end(x) :],
    ],
)
def test_a_well_formed_workbook_the_tail_cannot_clear_still_reads(good, tmp_path, edit):
    odd = _edited(good, tmp_path / "odd.ods", edit)
    assert not _tail_clears(odd)
    check_ods_xml(odd)  # the full parse clears it
    assert read_cqc_ratings(odd).n_input_rows == 60


def test_a_fault_the_reader_meets_is_named_by_the_xml_parser(good, tmp_path):
    # a fault in the first sheet: the last sheet closes, the reader raises, expat names it
    bad = _edited(
        good,
        tmp_path / "bad.ods",
        lambda x: x.replace(b"<table:table-row>", b"<table:table-row><<", 3),
    )
    assert _tail_clears(bad)
    with pytest.raises(
        SourceReadError, match=r"content\.xml: not well-formed \(invalid token\): line \d+"
    ):
        read_cqc_ratings(bad)


def test_the_guard_finds_the_end_wherever_the_chunks_cut(good, monkeypatch):
    # the window is the last two chunks: any chunk at least as long as the last row and
    # what follows it holds them, wherever the edges fall (through the end tag included)
    with zipfile.ZipFile(good) as zf:
        xml = zf.read("content.xml")
    needed = len(xml) - xml.rindex(b"<table:table-row")
    for size in range(needed, needed + 2 * len(END) + 40):
        monkeypatch.setattr(cqc_tables, "_CHUNK", size)
        assert _tail_clears(good), size
    monkeypatch.setattr(cqc_tables, "_CHUNK", 7)  # too short: not cleared, parsed in full
    assert not _tail_clears(good)
    check_ods_xml(good)


def test_prefer_reads_a_sheet_only_when_the_workbook_has_it(cqc_fixtures):
    fx = cqc_fixtures
    assert read_cqc_ratings(fx["workbook_ods"], prefer="Providers").variant.startswith("providers/")
    assert read_cqc_ratings(fx["workbook_ods"]).variant.startswith("locations/")
    for only_locations in (fx["locations_ods"], fx["locations_csv"]):
        loaded = read_cqc_ratings(only_locations, prefer="providers")
        assert loaded.variant.startswith("locations/")
    both = read_cqc_ratings(fx["workbook_xlsx"], sheet="Locations", prefer="Providers")
    assert both.frame["level"].cast(pl.String).unique().to_list() == ["location"]


def test_a_workbook_that_unzips_past_the_limit_is_refused(tmp_path, monkeypatch):
    import ics_model.data.cqc_tables as tables
    from ics_model.data.base import SourceReadError

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * 50_000)
    monkeypatch.setattr(tables, "MAX_UNZIPPED_BYTES", 10_000)
    with pytest.raises(SourceReadError, match="unzips to 50,000 bytes, more than the 10,000"):
        tables.read_table(path, None, r"$^")
