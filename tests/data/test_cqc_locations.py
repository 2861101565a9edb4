"""A CQC locations file in either layout: Latest-ratings sheets and CQC API records."""

import json
import os

import pytest

from ics_model.data.base import SourceReadError
from ics_model.data.bundled import raw_path
from ics_model.data.cqc_locations import locations_layout, read_cqc_locations

RECORD = {
    "locationId": "1-1",
    "providerId": "1-P",
    "currentRatings": {"overall": {"rating": "Good", "reportDate": "2020-05-06"}},
    "historicRatings": [
        {"reportDate": "2017-07-20", "overall": {"rating": "Requires improvement"}}
    ],
}


@pytest.mark.parametrize(
    "fmt",
    [
        "locations_csv",
        "locations_csv_bom",
        "locations_csv_cp1252",
        "locations_xlsx",
        "locations_ods",
    ],
)
def test_latest_ratings_sheets_are_read_as_sheets(cqc_fixtures, fmt):
    path = cqc_fixtures[fmt]
    assert locations_layout(path) == "latest_ratings"
    loaded = read_cqc_locations(path)
    assert loaded.history is None
    assert loaded.frame["level"].cast(str).unique().to_list() == ["location"]


def test_a_workbook_with_several_sheets_uses_its_locations_sheet(cqc_fixtures):
    loaded = read_cqc_locations(cqc_fixtures["workbook_xlsx"])
    assert set(loaded.frame["level"].cast(str)) == {"location"}


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".txt"])
def test_api_records_in_json_are_read_with_their_history(tmp_path, suffix):
    path = tmp_path / f"records{suffix}"
    text = json.dumps([RECORD]) if suffix == ".json" else json.dumps(RECORD) + "\n"
    path.write_text(text)
    assert locations_layout(path) == "api"
    loaded = read_cqc_locations(path)
    assert loaded.history is not None and loaded.history.height == 1
    assert loaded.n_input_rows == 1


def test_api_csv_exports_are_told_apart_from_sheets_by_their_header(tmp_path):
    nested = tmp_path / "api.csv"
    nested.write_text(
        "locationId,providerId,currentRatings\n"
        "1-1,1-P,\"{'overall': {'rating': 'Good', 'reportDate': '2020-05-06'}}\"\n"
    )
    flat = tmp_path / "flat.csv"
    flat.write_text("CQC Location ID,CQC Provider ID,Rating,Rating Date\n1-A,1-P,Good,2022-11-02\n")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("Location ID,Provider ID,Domain,Latest Rating,Publication Date\n")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(nested.read_text().encode("utf-16"))
    assert [locations_layout(p) for p in (nested, flat, sheet, utf16)] == [
        "api",
        "api",
        "latest_ratings",
        "api",
    ]
    assert read_cqc_locations(flat).variant == "locations/csv-flat"


def test_the_embedded_care_home_file_is_api_records():
    path = raw_path("cqc", "carehomes_sw_api_2021-04", "cqc_care_homes.csv")
    assert locations_layout(path) == "api"


def test_a_missing_file_is_a_read_error(tmp_path):
    with pytest.raises(SourceReadError, match="no such file"):
        locations_layout(tmp_path / "absent.csv")


def test_classic_mac_line_ends_are_read_in_either_layout(tmp_path):
    """A file whose lines end in CR alone (no LF anywhere) is told apart and read."""
    flat = tmp_path / "flat_cr.csv"
    flat.write_bytes(
        b"CQC Location ID,CQC Provider ID,Rating,Rating Date\r1-A,1-P,Good,2022-11-02\r"
    )
    sheet = tmp_path / "sheet_cr.csv"
    sheet.write_bytes(b"Location ID,Provider ID,Domain,Latest Rating,Publication Date\r")
    assert [locations_layout(p) for p in (flat, sheet)] == ["api", "latest_ratings"]
    loaded = read_cqc_locations(flat)
    assert loaded.frame["location_id"].to_list() == ["1-A"]


def test_special_files_are_named(tmp_path):
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    with pytest.raises(SourceReadError, match="named pipe"):
        read_cqc_locations(pipe)
    with pytest.raises(SourceReadError, match="a folder"):
        read_cqc_locations(tmp_path)
