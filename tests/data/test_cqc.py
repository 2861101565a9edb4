"""Tests of the CQC ratings and GP practice loaders (ics_model.data.cqc)."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ics_model.contracts import DataContractError, find_violations
from ics_model.data.base import SourceReadError
from ics_model.data.cqc import (
    CQC_RATINGS,
    GP_PRACTICES,
    read_cqc_ratings,
    read_gp_practices,
)
from ics_model.ratings import RATINGS_BEST_FIRST
from tests.conftest import load_fixture_module

ROOT = Path(__file__).resolve().parents[2]
REAL_2018 = (
    ROOT
    / "datasets/raw/cqc/providers_2018-09_miqdadasaria"
    / "CQC score 3 September 2018 Latest ratings.xlsx"
)
REAL_GP = ROOT / "datasets/raw/cqc/gp_practices_2024-04_HEEC/cqc.csv"
PROVIDERS_2018_HEADER = (
    "Provider ID,Service / Population Group,Key Question,Latest Rating,Publication Date,Report Type"
)
GP_HEADER = (
    '"Practice.Code","Year","location_name","service_population_group","domain",'
    '"latest_rating","inherited_rating_y_n","IMD","IMD_quintile","ICB_NAME"'
)


@pytest.fixture(scope="session")
def fx(cqc_fixtures) -> dict[str, Path]:
    return cqc_fixtures


def _csv(tmp_path: Path, name: str, lines: list[str], encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def _conserved(loaded) -> bool:
    return loaded.n_input_rows == (
        loaded.frame.height + loaded.quarantine.height + loaded.superseded.height
    )


def _row(frame: pl.DataFrame, source_row: int) -> dict:
    rows = frame.filter(pl.col("source_row") == source_row).to_dicts()
    assert len(rows) == 1
    return rows[0]


# ----------------------------------------------------------------------------- Locations


@pytest.mark.parametrize(
    ("key", "variant"),
    [
        ("locations_csv", "locations/domain/text-dates/csv"),
        ("locations_csv_bom", "locations/domain/text-dates/csv"),
        ("locations_csv_cp1252", "locations/domain/text-dates/csv"),
        ("locations_xlsx", "locations/domain/text-dates/xlsx"),
        ("locations_ods", "locations/domain/text-dates/ods"),
        ("workbook_xlsx", "locations/domain/text-dates/xlsx"),
        ("workbook_ods", "locations/domain/text-dates/ods"),
    ],
)
def test_locations_same_frame_from_every_format(fx, key, variant):
    reference = read_cqc_ratings(fx["locations_csv"]).frame
    loaded = read_cqc_ratings(fx[key])
    assert loaded.variant == variant
    assert loaded.source == fx[key].name
    assert_frame_equal(loaded.frame, reference)
    assert loaded.n_input_rows == 7 and loaded.frame.height == 7
    assert loaded.quarantine.is_empty() and loaded.superseded.is_empty()


def test_locations_canonical_values(fx):
    frame = read_cqc_ratings(fx["locations_csv"]).frame
    assert frame.columns == CQC_RATINGS.column_names
    assert find_violations(frame, CQC_RATINGS).is_empty()
    first = _row(frame, 2)
    assert first["provider_id"] == "RJ1"
    assert first["location_id"] == "RJ122"
    assert first["level"] == "location"
    assert first["service"] == "Overall"
    assert first["key_question"] == "Safe"
    assert first["rating"] == "Requires improvement"
    assert first["rating_status"] == "rated"
    assert first["publication_date"] == dt.date(2019, 3, 12)
    assert first["report_type"] == "Location"
    assert first["inherited"] is False
    assert first["location_name"] == "St Thomas\u2019 Hospital"
    assert first["location_ods_code"] == "RJ122"
    assert first["location_onspd_ccg_code"] == "E38000244"
    assert first["location_onspd_ccg"] == "NHS South East London CCG"
    assert first["location_region"] == "London"
    assert first["location_local_authority"] == "Lambeth"
    assert first["care_home"] == "N"
    assert first["provider_name"] == "Guy's and St Thomas' NHS Foundation Trust"
    assert first["brand_id"] is None and first["brand_name"] is None  # "-" in the file
    assert first["url"] == "https://www.cqc.org.uk/location/RJ122"
    assert first["provider_type"] is None  # not a Locations column
    care_home = _row(frame, 7)
    assert care_home["location_id"] == "1-1000000001"
    assert care_home["location_name"] == "Caf\u00e9 Court Care Home"
    assert care_home["rating"] == "Outstanding"
    assert care_home["inherited"] is True
    assert care_home["brand_id"] == "BD123"
    assert care_home["brand_name"] == "Example Group"
    assert care_home["publication_date"] == dt.date(2021, 1, 5)


def test_non_ratings_are_null_with_a_status(fx):
    frame = read_cqc_ratings(fx["locations_xlsx"]).frame
    got = {
        r: (
            _row(frame, r)["rating"],
            _row(frame, r)["rating_status"],
            _row(frame, r)["report_type"],
        )
        for r in (4, 5, 6)
    }
    assert got == {
        4: (None, "insufficient_evidence", "CoreService"),
        5: (None, "not_rated", "CoreService"),
        6: (None, "missing", "Location"),
    }


def test_csv_encodings_are_reported(fx):
    notes = {k: read_cqc_ratings(fx[k]).notes[0] for k in ("locations_csv", "locations_csv_bom")}
    assert notes == {
        "locations_csv": "CSV decoded as utf-8",
        "locations_csv_bom": "CSV decoded as utf-8-sig",
    }
    cp = read_cqc_ratings(fx["locations_csv_cp1252"])
    assert cp.notes[0] == "CSV decoded as cp1252"
    assert fx["locations_csv_cp1252"].read_bytes().count(b"\x92") == 4  # really cp1252


def test_workbook_sheet_choice(fx):
    assert read_cqc_ratings(fx["workbook_xlsx"]).variant.startswith("locations/")
    providers = read_cqc_ratings(fx["workbook_ods"], sheet=" providers ")
    assert providers.variant == "providers/domain/date-cells/ods"
    assert_frame_equal(providers.frame, read_cqc_ratings(fx["providers_2021_csv"]).frame)
    with pytest.raises(SourceReadError, match=r"workbook\.xlsx.*no sheet named 'Nope'"):
        read_cqc_ratings(fx["workbook_xlsx"], sheet="Nope")


# ----------------------------------------------------------------------------- Providers


@pytest.mark.parametrize(
    ("key", "variant"),
    [
        ("providers_2018_csv", "providers/key_question/text-dates/csv"),
        ("providers_2018_xlsx", "providers/key_question/date-cells/xlsx"),
        ("providers_2018_ods", "providers/key_question/date-cells/ods"),
    ],
)
def test_providers_2018_superseded_and_quirks(fx, key, variant):
    loaded = read_cqc_ratings(fx[key])
    assert loaded.variant == variant
    assert_frame_equal(loaded.frame, read_cqc_ratings(fx["providers_2018_csv"]).frame)
    frame = loaded.frame
    assert frame.height == 6 and _conserved(loaded)
    assert frame["level"].unique().to_list() == ["provider"]
    assert frame["location_id"].null_count() == 6
    # RXE wards published 2017-01-12 (Good) then 2018-06-28 (RI): the later one is current
    current = _row(frame, 4)
    assert (current["provider_id"], current["key_question"], current["rating"]) == (
        "RXE",
        "Effective",
        "Requires improvement",
    )
    assert current["publication_date"] == dt.date(2018, 6, 28)
    old = loaded.superseded.to_dicts()
    assert len(old) == 1
    assert old[0]["source_row"] == 3 and old[0]["rating"] == "Good"
    assert old[0]["publication_date"] == dt.date(2017, 1, 12)
    assert old[0]["reason"] == "superseded by publication of 2018-06-28"
    # RA2 carries a core-service row under Report Type "Provider": kept as given
    ra2 = _row(frame, 5)
    assert (ra2["service"], ra2["report_type"]) == ("Urgent and emergency services", "Provider")
    blank = _row(frame, 8)
    assert (blank["rating"], blank["rating_status"]) == (None, "missing")


@pytest.mark.parametrize(
    ("key", "variant"),
    [
        ("providers_2021_csv", "providers/domain/text-dates/csv"),
        ("providers_2021_xlsx", "providers/domain/date-cells/xlsx"),
        ("providers_2021_ods", "providers/domain/date-cells/ods"),
        ("providers_2021_datetime_xlsx", "providers/domain/datetime-cells/xlsx"),
        ("providers_2021_datetime_ods", "providers/domain/datetime-cells/ods"),
    ],
)
def test_providers_2021(fx, key, variant):
    loaded = read_cqc_ratings(fx[key])
    assert loaded.variant == variant
    assert_frame_equal(loaded.frame, read_cqc_ratings(fx["providers_2021_csv"]).frame)
    gstt = _row(loaded.frame, 2)
    assert gstt["provider_name"] == "Guy's and St Thomas' NHS Foundation Trust"
    assert gstt["provider_type"] == "NHS Healthcare Organisation"
    assert gstt["provider_primary_inspection_category"] == "Acute hospital - NHS non-specialist"
    assert (gstt["key_question"], gstt["rating"]) == ("Overall", "Good")
    assert gstt["publication_date"] == dt.date(2019, 8, 7)
    assert gstt["location_onspd_ccg_code"] is None  # the provider geography is not kept
    care = _row(loaded.frame, 6)
    assert (care["rating"], care["rating_status"]) == (None, "insufficient_evidence")
    if "datetime" in key:
        assert any("time of day" in n for n in loaded.notes)


def test_headers_matched_case_and_whitespace_insensitively(tmp_path):
    path = _csv(
        tmp_path,
        "odd_headers.csv",
        [
            " provider id ,SERVICE / POPULATION GROUP,key  question, Latest Rating ,"
            "Publication Date ,REPORT TYPE",
            "RJ1,Overall,well led,  requires   IMPROVEMENT ,2019-08-07,Provider",
        ],
    )
    row = read_cqc_ratings(path).frame.row(0, named=True)
    assert (row["key_question"], row["rating"]) == ("Well-led", "Requires improvement")
    assert row["publication_date"] == dt.date(2019, 8, 7)


def test_sub_icb_header_is_read_as_the_ccg_code(tmp_path):
    path = _csv(
        tmp_path,
        "sicbl.csv",
        [
            "Location ID,Provider ID,Location ONSPD Sub-ICB Code,Location ONSPD Sub-ICB,"
            "Service / Population Group,Domain,Latest Rating,Publication Date,Report Type",
            "RJ122,RJ1,E38000244,NHS South East London ICB - 72Q,Overall,Safe,Good,"
            "01/02/2024,Location",
        ],
    )
    loaded = read_cqc_ratings(path)
    row = loaded.frame.row(0, named=True)
    assert row["location_onspd_ccg_code"] == "E38000244"
    assert row["location_onspd_ccg"] == "NHS South East London ICB - 72Q"
    assert loaded.variant == "locations/domain/text-dates/csv"
    assert any("sub-ICB" in n for n in loaded.notes)


def test_mixed_date_cells_and_text_in_one_column(tmp_path):
    module = load_fixture_module()
    header = module.PROVIDERS_2018_HEADER
    rows = [
        ["RJ1", "Overall", "Safe", "Good", dt.date(2019, 1, 2), "Provider"],
        ["RJ1", "Overall", "Caring", "Good", "03/01/2019", "Provider"],
        ["RJ1", "Overall", "Overall", "Good", "2019-01-04", "Provider"],
    ]
    path = module.write_xlsx(tmp_path / "mixed.xlsx", [("Providers", header, rows, "date")])
    loaded = read_cqc_ratings(path)
    assert loaded.variant == "providers/key_question/mixed-dates/xlsx"
    assert loaded.frame["publication_date"].to_list() == [
        dt.date(2019, 1, 2),
        dt.date(2019, 1, 3),
        dt.date(2019, 1, 4),
    ]


def test_blank_rows_are_skipped_but_row_numbers_kept(tmp_path):
    path = _csv(
        tmp_path,
        "blank_rows.csv",
        [
            PROVIDERS_2018_HEADER,
            "RJ1,Overall,Safe,Good,2019-08-07,Provider",
            "",
            ",,,,,",
            "RJ1,Overall,Caring,Superb,2019-08-07,Provider",
        ],
    )
    with pytest.raises(DataContractError, match="row 5, column 'rating', value 'Superb'"):
        read_cqc_ratings(path)
    loaded = read_cqc_ratings(path, mode="lenient")
    assert loaded.n_input_rows == 2 and _conserved(loaded)
    assert loaded.quarantine["source_row"].to_list() == [5]
    assert "2 wholly blank row(s) skipped" in loaded.notes[-1]


# ----------------------------------------------------------------------------- errors


def test_duplicate_key_same_date_strict_and_lenient(tmp_path):
    path = _csv(
        tmp_path,
        "dups.csv",
        [
            PROVIDERS_2018_HEADER,
            "RJ1,Overall,Safe,Good,2019-08-07,Provider",
            "RJ1,Overall,Safe,Outstanding,2019-08-07,Provider",
            "RJ1,Overall,Caring,Good,2019-08-07,Provider",
        ],
    )
    with pytest.raises(DataContractError) as err:
        read_cqc_ratings(path)
    assert "dups.csv" in str(err.value) and "duplicate key" in str(err.value)
    assert err.value.violations["row"].to_list() == [2, 3]
    loaded = read_cqc_ratings(path, mode="lenient")
    assert loaded.frame["source_row"].to_list() == [4]
    assert loaded.quarantine["source_row"].to_list() == [2, 3]
    assert loaded.quarantine["source"].unique().to_list() == ["dups.csv"]
    assert all("duplicate key" in r for r in loaded.quarantine["reason"])
    assert json.loads(loaded.quarantine["record"][1])["rating"] == "Outstanding"
    assert _conserved(loaded)


def test_older_publications_superseded_even_when_the_current_is_duplicated(tmp_path):
    path = _csv(
        tmp_path,
        "mixed.csv",
        [
            PROVIDERS_2018_HEADER,
            "RXE,Overall,Safe,Good,12/01/2017,Provider",
            "RXE,Overall,Safe,Good,28/06/2018,Provider",
            "RXE,Overall,Safe,Inadequate,28/06/2018,Provider",
        ],
    )
    loaded = read_cqc_ratings(path, mode="lenient")
    assert loaded.frame.is_empty()
    assert loaded.superseded["source_row"].to_list() == [2]
    assert loaded.quarantine["source_row"].to_list() == [3, 4]
    assert _conserved(loaded)


def test_a_quarantined_row_does_not_make_its_key_a_duplicate(tmp_path):
    path = _csv(
        tmp_path,
        "same_date_bad.csv",
        [
            PROVIDERS_2018_HEADER,
            "RXE,Overall,Safe,Good,12/01/2017,Provider",
            "RXE,Overall,Safe,Good,28/06/2018,Provider",
            "RXE,Overall,Safe,Superb,28/06/2018,Provider",
            "RXF,Overall,Safe,Good,28/06/2018,Provider",
        ],
    )
    loaded = read_cqc_ratings(path, mode="lenient")
    assert loaded.frame["source_row"].to_list() == [3, 5]  # current, not a duplicate
    assert loaded.superseded["source_row"].to_list() == [2]
    assert loaded.quarantine["source_row"].to_list() == [4]
    assert "unknown rating label" in loaded.quarantine["reason"][0]
    assert _conserved(loaded)


def test_unreadable_newer_publication_still_supersedes(tmp_path):
    path = _csv(
        tmp_path,
        "newer_bad.csv",
        [
            PROVIDERS_2018_HEADER,
            "RXE,Overall,Safe,Good,12/01/2017,Provider",
            "RXE,Overall,Safe,Superb,28/06/2018,Provider",
        ],
    )
    loaded = read_cqc_ratings(path, mode="lenient")
    assert loaded.frame.is_empty()  # the 2017 rating is not reported as current
    assert loaded.superseded["source_row"].to_list() == [2]
    assert loaded.quarantine["source_row"].to_list() == [3]
    assert _conserved(loaded)


def test_unknown_labels_name_label_row_and_file(tmp_path):
    path = _csv(
        tmp_path,
        "labels.csv",
        [
            PROVIDERS_2018_HEADER,
            "RJ1,Overall,Safe,Good,2019-08-07,Provider",
            "RJ1,Overall,Caring,Superb,2019-08-07,Provider",
            "RJ1,Overall,Safety,Good,2019-08-07,Provider",
            "RJ1,Overall,Overall,Good,31/02/2019,Provider",
        ],
    )
    with pytest.raises(DataContractError) as err:
        read_cqc_ratings(path)
    message = str(err.value)
    assert "labels.csv" in message
    assert "row 3, column 'rating', value 'Superb': unknown rating label" in message
    assert "row 4, column 'key_question', value 'Safety': unknown key question" in message
    assert "row 5, column 'publication_date', value '31/02/2019': unparseable date" in message
    loaded = read_cqc_ratings(path, mode="lenient")
    assert loaded.frame["source_row"].to_list() == [2]
    assert loaded.quarantine["source_row"].to_list() == [3, 4, 5]
    assert "Superb" in loaded.quarantine["reason"][0]
    assert json.loads(loaded.quarantine["record"][0])["rating"] == "Superb"
    assert _conserved(loaded)


def test_unknown_report_type_and_blank_id_are_contract_violations(tmp_path):
    path = _csv(
        tmp_path,
        "contract.csv",
        [
            PROVIDERS_2018_HEADER,
            "RJ1,Overall,Safe,Good,2019-08-07,Trust",
            ",Overall,Safe,Good,2019-08-07,Provider",
        ],
    )
    with pytest.raises(DataContractError, match=r"row 2, column 'report_type', value 'Trust'"):
        read_cqc_ratings(path)
    loaded = read_cqc_ratings(path, mode="lenient")
    assert loaded.quarantine["source_row"].to_list() == [2, 3]
    assert "provider_id" in loaded.quarantine["reason"][1]


def test_missing_column_lists_missing_and_found(tmp_path):
    path = _csv(
        tmp_path,
        "short.csv",
        ["Provider ID,Service / Population Group,Domain,Report Type", "RJ1,Overall,Safe,Provider"],
    )
    with pytest.raises(DataContractError) as err:
        read_cqc_ratings(path)
    message = str(err.value)
    assert "Latest Rating" in message and "Publication Date" in message
    assert "found: Provider ID, Service / Population Group, Domain, Report Type" in message
    assert "short.csv" in message


def test_locations_sheet_needs_location_id(fx):
    with pytest.raises(DataContractError, match="Location ID"):
        read_cqc_ratings(fx["providers_2021_csv"], sheet="Locations")


def test_two_key_question_headers_are_ambiguous(tmp_path):
    path = _csv(
        tmp_path,
        "both.csv",
        [PROVIDERS_2018_HEADER + ",Domain", "RJ1,Overall,Safe,Good,2019-08-07,Provider,Safe"],
    )
    with pytest.raises(DataContractError, match="Key Question, Domain"):
        read_cqc_ratings(path)


def test_unreadable_files_raise_source_read_error(fx, tmp_path):
    data = fx["providers_2018_xlsx"].read_bytes()
    truncated = tmp_path / "half.xlsx"
    truncated.write_bytes(data[: len(data) // 2])
    ods = fx["providers_2018_ods"].read_bytes()
    truncated_ods = tmp_path / "half.ods"
    truncated_ods.write_bytes(ods[: len(ods) // 2])
    empty_csv = tmp_path / "empty.csv"
    empty_csv.write_bytes(b"")
    empty_xlsx = tmp_path / "empty.xlsx"
    empty_xlsx.write_bytes(b"")
    text_as_xlsx = tmp_path / "text.xlsx"
    text_as_xlsx.write_text(PROVIDERS_2018_HEADER + "\n")
    binary_csv = tmp_path / "binary.csv"
    binary_csv.write_bytes(b"\x1f\x8b\x08\x00" + bytes(64))
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    cases = [truncated, truncated_ods, empty_csv, empty_xlsx, text_as_xlsx, binary_csv, folder]
    for path in [*cases, tmp_path / "missing.ods"]:
        with pytest.raises(SourceReadError) as err:
            read_cqc_ratings(path)
        assert path.name in str(err.value), str(err.value)
    with pytest.raises(SourceReadError, match=r"gp\.csv"):
        read_gp_practices(tmp_path / "gp.csv")


def test_bad_mode_is_rejected(fx):
    with pytest.raises(ValueError, match="mode"):
        read_cqc_ratings(fx["providers_2018_csv"], mode="loose")


# ----------------------------------------------------------------------------- real files


def test_real_2018_providers_file():
    loaded = read_cqc_ratings(REAL_2018)
    assert loaded.variant == "providers/key_question/date-cells/xlsx"
    assert (loaded.n_input_rows, loaded.frame.height) == (7930, 7918)
    assert (loaded.superseded.height, loaded.quarantine.height) == (12, 0)
    assert _conserved(loaded)
    frame = loaded.frame
    assert find_violations(frame, CQC_RATINGS).is_empty()
    key = ["provider_id", "service", "key_question"]
    assert not frame.select(pl.struct(key).is_duplicated().any()).item()
    old = loaded.superseded
    assert old["provider_id"].unique().to_list() == ["RXE"]
    assert old["publication_date"].unique().to_list() == [dt.date(2017, 1, 12)]
    assert old["reason"].unique().to_list() == ["superseded by publication of 2018-06-28"]
    rxe = frame.filter(pl.col("provider_id") == "RXE", pl.col("service").str.starts_with("Long"))
    effective = rxe.filter(pl.col("key_question") == "Effective").row(0, named=True)
    assert effective["rating"] == "Requires improvement"
    assert effective["publication_date"] == dt.date(2018, 6, 28)
    ids = frame["provider_id"].unique()
    assert ids.filter(~ids.str.starts_with("1-")).len() == 226
    odd = frame.filter(pl.col("report_type") == "Provider", pl.col("service") != "Overall")
    assert dict(odd.group_by("provider_id").len().iter_rows()) == {"RA2": 38, "RN7": 41}
    assert frame["rating_status"].unique().to_list() == ["rated"]
    assert frame["publication_date"].min() == dt.date(2013, 12, 18)
    assert frame["publication_date"].max() == dt.date(2018, 8, 31)


def test_real_gp_practices_file():
    loaded = read_gp_practices(REAL_GP)
    frame = loaded.frame
    assert loaded.variant == "heec-gp-practices/csv"
    assert frame.columns == GP_PRACTICES.column_names
    assert (loaded.n_input_rows, frame.height) == (6229, 6227)
    assert (loaded.superseded.height, loaded.quarantine.height) == (2, 0)
    assert _conserved(loaded)
    assert frame["practice_code"].null_count() == 42  # kept, not dropped
    old = loaded.superseded.select("practice_code", "publication_year", "rating").rows()
    assert sorted(old) == [("C84005", 2016, "Outstanding"), ("M84032", 2016, "Outstanding")]
    m84032 = frame.filter(pl.col("practice_code") == "M84032").row(0, named=True)
    assert (m84032["publication_year"], m84032["rating"]) == (2019, "Good")
    # recode: the file's quintile 1 is least deprived; ours is 1 = most deprived
    rated = frame.drop_nulls("imd_quintile")
    assert (rated["imd_quintile"] + rated["imd_quintile_source"] == 6).all()
    means = rated.group_by("imd_quintile").agg(pl.col("imd_score").mean()).sort("imd_quintile")
    assert means["imd_quintile"].to_list() == [1, 2, 3, 4, 5]
    assert means["imd_score"].diff().drop_nulls().lt(0).all()  # falls from 1 to 5
    assert means["imd_score"][0] == pytest.approx(41.57, abs=0.01)
    first = _row(frame, 2)
    assert first == {
        "practice_code": "A81001",
        "practice_name": "The Densham Surgery",
        "publication_year": 2016,
        "key_question": "Overall",
        "service": "Overall",
        "rating": "Good",
        "rating_status": "rated",
        "inherited": False,
        "imd_score": pytest.approx(29.94546757),
        "imd_quintile": 2,
        "imd_quintile_source": 4,
        "icb_name_source": "North East and North Cumbria",
        "source_row": 2,
    }
    assert frame["icb_name_source"].drop_nulls().n_unique() == 42


def test_gp_duplicates_and_na(tmp_path):
    path = _csv(
        tmp_path,
        "gp.csv",
        [
            GP_HEADER,
            '"A81001",2016,"One","Overall","Overall","Good","N",29.9,4,"North East"',
            '"A81001",2016,"One","Overall","Overall","Inadequate","N",29.9,4,"North East"',
            'NA,2018,"No code","Overall","Overall","Outstanding","Y",NA,NA,NA',
            'NA,2018,"No code 2","Overall","Overall","Good","Y",NA,NA,NA',
            '"B82001",2019,"Two","Overall","Overall","Good","N",10.5,1,"West"',
        ],
    )
    with pytest.raises(DataContractError, match=r"row 2, column 'practice_code\+service"):
        read_gp_practices(path)
    loaded = read_gp_practices(path, mode="lenient")
    assert loaded.quarantine["source_row"].to_list() == [2, 3]
    frame = loaded.frame
    assert frame["source_row"].to_list() == [4, 5, 6]
    no_code = _row(frame, 4)
    assert no_code["practice_code"] is None and no_code["imd_score"] is None
    assert no_code["imd_quintile"] is None and no_code["inherited"] is True
    assert _row(frame, 6)["imd_quintile"] == 5  # source 1 = least deprived -> 5
    assert _conserved(loaded)


def test_gp_bad_values_quarantined(tmp_path):
    path = _csv(
        tmp_path,
        "gp_bad.csv",
        [
            GP_HEADER,
            '"A81001",20x6,"One","Overall","Overall","Good","N",29.9,4,"North East"',
            '"A81002",2016,"Two","Overall","Overall","Good","N",high,7,"North East"',
        ],
    )
    loaded = read_gp_practices(path, mode="lenient")
    reasons = loaded.quarantine["reason"].to_list()
    assert "publication_year: 20x6" in reasons[0]
    assert "imd_score: high (not a number)" in reasons[1]
    assert "imd_quintile_source: 7" in reasons[1]  # out of 1..5
    assert loaded.frame.is_empty() and _conserved(loaded)


# ----------------------------------------------------------------------------- properties


@st.composite
def messy_label(draw, label: str) -> str:
    cased = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in label)
    spaced = cased.replace(" ", draw(st.sampled_from([" ", "  ", "\t", " \u00a0"])))
    pad = st.sampled_from(["", " ", "  ", "\t"])
    return draw(pad) + spaced + draw(pad)


_LABEL_PAIRS = st.sampled_from(RATINGS_BEST_FIRST).flatmap(
    lambda label: st.tuples(st.just(label), messy_label(label))
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_LABEL_PAIRS, min_size=1, max_size=6))
def test_rating_labels_parse_stably(pairs):
    lines = [PROVIDERS_2018_HEADER]
    kqs = ["Safe", "Effective", "Caring", "Responsive", "Well-led", "Overall"]
    for i, (_, messy) in enumerate(pairs):
        lines.append(f'RJ1,Overall,{kqs[i]},"{messy}",2019-08-07,Provider')
    with tempfile.TemporaryDirectory() as tmp:
        frame = read_cqc_ratings(_csv(Path(tmp), "messy.csv", lines)).frame
    assert frame["rating"].cast(pl.String).to_list() == [lab for lab, _ in pairs]
    assert frame["rating_status"].unique().to_list() == ["rated"]


_ROW = st.tuples(
    st.sampled_from(["RJ1", "RXE", "1-102643363"]),
    st.sampled_from(["Overall", "Maternity"]),
    st.sampled_from(["Safe", "Overall", "Safety"]),
    st.sampled_from(["Good", "Inadequate", "Not rated", "", "Superb"]),
    st.sampled_from(["2017-01-12", "28/06/2018", "2019-08-07", "", "31/02/2019"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_ROW, min_size=0, max_size=25))
def test_rows_are_conserved_and_keys_unique(rows):
    lines = [PROVIDERS_2018_HEADER] + [f"{p},{s},{k},{r},{d},Provider" for p, s, k, r, d in rows]
    with tempfile.TemporaryDirectory() as tmp:
        loaded = read_cqc_ratings(_csv(Path(tmp), "random.csv", lines), mode="lenient")
    assert loaded.n_input_rows == len(rows)
    assert _conserved(loaded)
    key = ["provider_id", "service", "key_question"]
    assert not loaded.frame.select(pl.struct(key).is_duplicated().any()).item()
    assert set(loaded.frame["rating"].drop_nulls().cast(pl.String)) <= {"Good", "Inadequate"}
    # every superseded row is older than the current row of its key
    if loaded.superseded.height:
        joined = loaded.superseded.join(loaded.frame, on=key, how="inner", suffix="_now")
        assert (joined["publication_date"] < joined["publication_date_now"]).all()


@pytest.mark.parametrize(
    "name",
    [
        "locations_csv",
        "locations_csv_bom",
        "locations_csv_cp1252",
        "providers_2018_csv",
        "providers_2021_csv",
    ],
)
def test_csv_fixtures_read_as_the_csv_module_reads_them(fx, name):
    import csv
    import io

    import ics_model.data.cqc_tables as tables

    table = tables.read_csv(fx[name])
    encoding = {"locations_csv_bom": "utf-8-sig", "locations_csv_cp1252": "cp1252"}
    text = fx[name].read_bytes().decode(encoding.get(name, "utf-8"))
    header, *records = csv.reader(io.StringIO(text, newline=""), strict=True)
    assert table.frame.columns == [*header, "source_row"]
    expected = [(*(v or None for v in rec), i) for i, rec in enumerate(records, start=2)]
    assert table.frame.rows() == expected
    assert table.notes == (f"CSV decoded as {encoding.get(name, 'utf-8')}",)


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        (b'a,b\n"x\ny",1\n', [("x\ny", "1", 2)]),  # a quoted line break
        (b"a,b\n1,2\n\n3,4\n", [("1", "2", 2), (None, None, 3), ("3", "4", 4)]),  # blank line
        (b"a,b\n1,2\n\n", [("1", "2", 2), (None, None, 3)]),  # a blank last line
        (b"a,b\n1,\n2,3\n", [("1", None, 2), ("2", "3", 3)]),  # an empty last cell
        (b'a,b\n"1,",\n2,3\n', [("1,", None, 2), ("2", "3", 3)]),
        (b"a,b\n1,2\n3,4,\n", [("1", "2", 2), ("3", "4", 3)]),  # a blank extra field: cut
        (b'a,b\n"1,5", x \n"",y\n,z\n', [("1,5", " x ", 2), ("", "y", 3), (None, "z", 4)]),
    ],
)
def test_csv_structure_accepted(tmp_path, data, rows):
    import ics_model.data.cqc_tables as tables

    path = tmp_path / "ok.csv"
    path.write_bytes(data)
    assert tables.read_csv(path).frame.rows() == rows


def test_csv_repeated_and_quoted_headers(tmp_path):
    import ics_model.data.cqc_tables as tables

    path = tmp_path / "h.csv"
    path.write_bytes(b'"a,1",b,b\r\n"x ""y"", z",,w\r\n3,4,5')
    table = tables.read_csv(path)
    assert table.frame.columns == ["a,1", "b", "b ", "source_row"]  # the repeat kept visible
    assert table.frame.rows() == [('x "y", z', None, "w", 2), ("3", "4", "5", 3)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a,b\n1,2\n3\n", r"row 3 has 1 fields, header has 2 \(line 3: column 2 \('b'\)"),
        (b"a,b,c\n1,2\n3,4,5,\n", r"row 2 has 2 fields, header has 3 \(line 2: column 3"),
        (b'a,b,c\n"1,2",3\n4,5,6\n', r"row 2 has 2 fields, header has 3 \(line 2"),
        (b"a,b\n1,2\n3,4,x\n", r"row 3 has 3 fields, header has 2: line 3, column 3 holds 'x'"),
        (b'a,b\n1,"2\n', r"a quoted field that is never closed: line 2, column 3"),
        (b"a,b\n1,\xe9\x00\n", r"binary content \(NUL bytes\), not CSV text: line 2, column 4"),
    ],
)
def test_csv_structure_refused_with_line_and_column(tmp_path, data, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(SourceReadError, match=r"bad\.csv: " + message):
        read_cqc_ratings(path)
