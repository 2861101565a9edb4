"""The ODS writer: valid workbooks in CQC's layout that calamine and odfpy read alike."""

import datetime as dt
import zipfile
from xml.etree import ElementTree

import fastexcel
import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ics_model.data.build import load_processed
from ics_model.data.cqc import read_cqc_ratings
from ics_model.mapping import place_locations
from ics_model.synthetic import LOCATIONS_HEADER, SYNTHETIC_NOTE, synthetic_locations_file
from ics_model.synthetic_ods import write_ods_sheet

MIME = b"application/vnd.oasis.opendocument.spreadsheet"


@pytest.fixture
def small() -> pl.DataFrame:
    # equal neighbours (a, b), a run of three blanks, XML specials, a date column
    return pl.DataFrame(
        {
            "a": ["x", "R&D <unit>", "é"],
            "b": ["x", "y", None],
            "c": [None, "y", None],
            "d": [None, None, None],
            "when": ["03/09/2018", "31/12/2019", None],
            "e": ["", "z", "z"],
        },
        schema=dict.fromkeys(["a", "b", "c", "d", "when", "e"], pl.String),
    ).with_columns(pl.col("e").replace("", None))


def test_zip_layout_is_odf(tmp_path, small):
    path = write_ods_sheet(
        tmp_path / "s.ods", small, "Data", date_column="when", note="n", title="t"
    )
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert zf.read("mimetype") == MIME
        names = set(zf.namelist())
        assert names == {
            "mimetype",
            "META-INF/manifest.xml",
            "meta.xml",
            "styles.xml",
            "content.xml",
        }
        for part in names - {"mimetype"}:
            ElementTree.fromstring(zf.read(part))  # well-formed
        content = zf.read("content.xml").decode()
    # row 1: a = b = "x" is one repeated cell, then c and d blank (2); row 3: b..d blank (3)
    assert '<table:table-cell table:number-columns-repeated="2" office:value-type="string">' in (
        content
    )
    assert '<table:table-cell table:number-columns-repeated="3"/>' in content
    assert "R&amp;D &lt;unit&gt;" in content
    assert 'office:value-type="date" office:date-value="2018-09-03"' in content


def test_calamine_and_odfpy_read_the_same_cells(tmp_path, small):
    path = write_ods_sheet(tmp_path / "s.ods", small, "Data", date_column="when", note="a note")
    reader = fastexcel.read_excel(str(path))
    assert reader.sheet_names == ["Data", "Note"]
    text = {i: "string" for i in range(small.width) if small.columns[i] != "when"}
    got = reader.load_sheet("Data", dtypes=text).to_polars()
    assert got.columns == small.columns
    assert_frame_equal(got.drop("when"), small.drop("when"))
    assert got["when"].cast(pl.Date).to_list() == [dt.date(2018, 9, 3), dt.date(2019, 12, 31), None]
    note = reader.load_sheet("Note", header_row=None).to_polars()
    assert note.item() == "a note"
    ref = pd.read_excel(path, sheet_name="Data", engine="odf", dtype=str)
    assert list(ref.columns) == small.columns
    expected = small.drop("when").to_pandas()
    pd.testing.assert_frame_equal(ref.drop(columns="when"), expected, check_dtype=False)
    assert ref["when"].tolist()[:2] == ["2018-09-03 00:00:00", "2019-12-31 00:00:00"]


def test_synthetic_locations_ods_reads_as_the_csv_does(tmp_path):
    ods = synthetic_locations_file(tmp_path / "loc.ods", 1_500, seed=4, fmt="ods")
    csv = synthetic_locations_file(tmp_path / "loc.csv", 1_500, seed=4)
    reader = fastexcel.read_excel(str(ods))
    assert reader.sheet_names == ["Locations", "Note"]
    assert [c.name for c in reader.load_sheet("Locations", n_rows=0).available_columns()] == list(
        LOCATIONS_HEADER
    )
    assert reader.load_sheet("Note", header_row=None).to_polars().item() == SYNTHETIC_NOTE
    loaded = read_cqc_ratings(ods)
    assert loaded.variant == "locations/domain/date-cells/ods"
    assert loaded.n_input_rows == 1_500 and loaded.frame.height + loaded.superseded.height == 1_500
    assert_frame_equal(loaded.frame, read_cqc_ratings(csv).frame)
    odf = pd.read_excel(ods, sheet_name="Locations", engine="odf", dtype=str)
    assert odf.shape == (1_500, 28)


def test_synthetic_ods_places_through_real_codes(tmp_path):
    ods = synthetic_locations_file(tmp_path / "loc.ods", 3_000, seed=8, fmt="ods")
    frame = read_cqc_ratings(ods).frame
    subs, trusts = load_processed("sub_icb_population"), load_processed("ods_trusts_2025")
    codes = frame["location_onspd_ccg_code"].drop_nulls().unique()
    assert codes.is_in(subs["sub_icb_gss"].implode()).all()
    nhs = frame.filter(~pl.col("provider_id").str.starts_with("1-"))["provider_id"].unique()
    assert nhs.len() > 0 and nhs.is_in(trusts["org_code"].implode()).all()
    placed = place_locations(frame, subs, trusts, load_processed("icb_codes"))
    methods = set(placed.ratings["mapping_method"])
    assert "sub_icb_gss" in methods
    assert placed.ratings["icb_code"].n_unique() == 42
