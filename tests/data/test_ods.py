"""ODS loaders: trusts (etr), sub-ICB locations (eccg), successors (succ)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from ics_model.contracts import DataContractError
from ics_model.data.base import SourceReadError
from ics_model.data.ods import (
    ODS_COLUMNS,
    SUB_ICB_KINDS,
    read_ods_sub_icbs,
    read_ods_successors,
    read_ods_trusts,
)


def ods_line(code, name, grouping="", icb="", postcode="", opened="", closed="", gor="", role=""):
    """One record of the 27-column headerless ODS layout, every field quoted as ODS does."""
    fields = [""] * 27
    fields[0], fields[1], fields[2], fields[3] = code, name, grouping, icb
    fields[4], fields[9], fields[10], fields[11] = "1 HIGH STREET", postcode, opened, closed
    fields[13], fields[21], fields[23] = role, "1", gor
    return ",".join(f'"{f}"' for f in fields)


def write(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


TRUSTS = [
    ods_line("R1A", "ALPHA NHS TRUST", "Y56", "QMJ", "NW1 0PE", "20200401", "", "H"),
    ods_line("R2B", "BETA NHS TRUST", "Y62", "QOP", "M13 9WL", "20000401", "20210331", "B"),
    ods_line("RQF", "VELINDRE NHS TRUST", "", "", "CF15 7QZ", "19940401", "", "W"),
    ods_line("G6V2S", "NORTH LONDON NHS FOUNDATION TRUST", "Y56", "Z9B2Z", "NW1 0PE", "20241101"),
]


# ----------------------------------------------------------------------------- layout


def test_ods_columns_name_all_27_fields():
    assert len(ODS_COLUMNS) == 27
    assert len(set(ODS_COLUMNS)) == 27
    assert ODS_COLUMNS[3] == "high_level_health_geography"
    assert ODS_COLUMNS[17] == "contact_telephone_number"
    assert ODS_COLUMNS[23] == "gor_code"


# ----------------------------------------------------------------------------- trusts


def test_trusts_fixture_by_hand(tmp_path):
    loaded = read_ods_trusts(write(tmp_path, "etr.csv", TRUSTS))
    f = loaded.frame
    assert loaded.n_input_rows == 4
    assert f["org_code"].to_list() == ["R1A", "R2B", "RQF", "G6V2S"]
    assert f["source_row"].to_list() == [1, 2, 3, 4]  # headerless: first record is row 1
    assert f.schema["open_date"] == pl.Date and f.schema["close_date"] == pl.Date
    assert f["open_date"][0] == dt.date(2020, 4, 1)
    assert f["close_date"].to_list() == [None, dt.date(2021, 3, 31), None, None]
    assert f["is_open"].to_list() == [True, False, True, True]
    assert f["country"].to_list() == ["England", "England", "Wales", "England"]
    assert f["icb_code"].to_list() == ["QMJ", "QOP", None, "Z9B2Z"]
    assert f["region_code"].to_list() == ["Y56", "Y62", None, "Y56"]
    # empty reserved columns are dropped, named raw columns kept
    assert not [c for c in f.columns if c.startswith("null_")]
    assert {"address_line_1", "gor_code", "amended_record_indicator"} <= set(f.columns)
    assert loaded.quarantine.is_empty()


def test_trusts_bad_date_is_a_violation_with_its_row(tmp_path):
    lines = list(TRUSTS)
    lines[1] = ods_line("R2B", "BETA NHS TRUST", "Y62", "QOP", "M13 9WL", "2000-04-01", "", "B")
    path = write(tmp_path, "etr.csv", lines)
    with pytest.raises(DataContractError) as err:
        read_ods_trusts(path)
    v = err.value.violations.filter(pl.col("column") == "open_date")
    assert v["row"].to_list() == [2]
    assert "2000-04-01" in v["value"].to_list()
    assert "etr.csv" in str(err.value)

    lenient = read_ods_trusts(path, mode="lenient")
    assert lenient.frame.height == 3
    assert lenient.quarantine["source_row"].to_list() == [2]
    assert "YYYYMMDD" in lenient.quarantine["reason"][0]
    assert lenient.n_input_rows == lenient.frame.height + lenient.quarantine.height


def test_trusts_close_before_open_is_a_violation(tmp_path):
    lines = [ods_line("R1A", "ALPHA NHS TRUST", "Y56", "QMJ", "NW1 0PE", "20200401", "20190101")]
    with pytest.raises(DataContractError, match="close date before open date"):
        read_ods_trusts(write(tmp_path, "etr.csv", lines))


def test_trusts_bad_icb_code_and_duplicate_key(tmp_path):
    lines = [*TRUSTS, ods_line("R1A", "ALPHA AGAIN", "Y56", "XX", "NW1 0PE", "20200401")]
    with pytest.raises(DataContractError) as err:
        read_ods_trusts(write(tmp_path, "etr.csv", lines))
    problems = err.value.violations
    assert problems.filter(pl.col("column") == "icb_code")["row"].to_list() == [5]
    assert problems.filter(pl.col("problem") == "duplicate key")["row"].to_list() == [1, 5]


def test_trusts_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "etr_cut.csv"
    text = "\r\n".join(TRUSTS)
    path.write_text(text[: len(text) - 40], encoding="utf-8")  # last record loses fields
    with pytest.raises(SourceReadError, match=r"etr_cut\.csv"):
        read_ods_trusts(path)


@pytest.mark.parametrize("content", [None, "", '"R1A","ALPHA"\r\n'])
def test_trusts_missing_empty_or_narrow_file(tmp_path, content):
    path = tmp_path / "etr_bad.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SourceReadError, match=r"etr_bad\.csv"):
        read_ods_trusts(path)


def test_trusts_unknown_vintage():
    with pytest.raises(ValueError, match="vintage"):
        read_ods_trusts(vintage="2019")


def test_trusts_2025_real_counts():
    loaded = read_ods_trusts(vintage="2025")
    f = loaded.frame
    assert loaded.n_input_rows == f.height == 273
    open_ = f.filter("is_open")
    assert open_.height == 205
    english = open_.filter(pl.col("country") == "England")
    assert english.height == 202
    assert english["icb_code"].null_count() == 0
    assert english["icb_code"].n_unique() == 42
    welsh = open_.filter(pl.col("country") == "Wales")
    assert sorted(welsh["org_code"]) == ["RQF", "RT4", "RYT"]
    assert welsh["icb_code"].null_count() == 3
    assert f["open_date"].max() == dt.date(2024, 11, 1)
    assert f.filter(pl.col("open_date") == dt.date(2024, 11, 1))["org_code"].to_list() == ["G6V2S"]
    assert f["close_date"].max() == dt.date(2024, 12, 31)
    assert f.filter(pl.col("org_code") == "RAP")["close_date"][0] == dt.date(2024, 12, 31)


def test_trusts_2026_real_counts():
    f = read_ods_trusts(vintage="2026").frame
    assert f.height == 274
    open_ = f.filter("is_open")
    assert open_.height == 202
    english = open_.filter(pl.col("country") == "England")
    assert english.height == 199
    assert english["icb_code"].n_unique() == 36
    new_codes = {"Z9B2Z", "D7T5G", "S1Y5D", "T6Y0W", "S0E4D", "S9B9J"}
    assert new_codes <= set(english["icb_code"])
    assert not {"QMJ", "QNQ", "QH8"} & set(english["icb_code"])


# ----------------------------------------------------------------------------- sub-ICBs

SUB_ICBS = [
    ods_line(
        "00L",
        "NHS NORTH EAST AND NORTH CUMBRIA ICB - 00L",
        "Y63",
        "QHM",
        "NE1 1AA",
        "20130401",
        role="RO319",
    ),
    ods_line(
        "13Q", "NATIONAL COMMISSIONING HUB 1", "Y56", "QWO", "LS1 1AA", "20130401", role="RO218"
    ),
    ods_line(
        "A4R1E",
        "NEWHAM - SUB-ICB REPORTING ENTITY",
        "Y56",
        "QMF",
        "E1 1AA",
        "20240401",
        role="RO327",
    ),
    ods_line("08K", "NHS LAMBETH CCG", "Y56", "QKK", "SE1 7NT", "20130401", "20200331"),
    ods_line("99X", "NHS SOMEWHERE INTEGRATED CARE BOARD", "Y56", "QKK", "SE1 7NT", "20220701"),
    ods_line(
        "36L",
        "NHS SOUTH WEST LONDON ICB - 36L",
        "Y56",
        "QWE",
        "SW1 1AA",
        "20130401",
        role="RO319|RO326",
    ),
]


def test_sub_icbs_fixture_kinds(tmp_path):
    f = read_ods_sub_icbs(write(tmp_path, "eccg.csv", SUB_ICBS)).frame
    assert f.schema["kind"] == pl.Enum(list(SUB_ICB_KINDS))
    assert f["kind"].cast(pl.String).to_list() == [
        "sub_icb_location",
        "commissioning_hub",
        "reporting_entity",
        "ccg",
        "icb",
        "sub_icb_location",
    ]
    assert f["is_open"].to_list() == [True, True, True, False, True, True]
    assert f["icb_code"][0] == "QHM"


def test_sub_icbs_unclassifiable_name_is_a_violation(tmp_path):
    lines = [*SUB_ICBS, ods_line("ZZZ", "SOMETHING ELSE", "Y56", "QKK", "SE1 7NT", "20130401")]
    with pytest.raises(DataContractError) as err:
        read_ods_sub_icbs(write(tmp_path, "eccg.csv", lines))
    v = err.value.violations.filter(pl.col("problem") == "cannot classify this name")
    assert v["row"].to_list() == [7]
    assert v["value"].to_list() == ["SOMETHING ELSE"]


def test_sub_icbs_real_counts():
    loaded = read_ods_sub_icbs()
    f = loaded.frame
    assert loaded.n_input_rows == f.height == 320
    open_ = f.filter("is_open")
    assert open_.height == 159
    counts = dict(open_.group_by(pl.col("kind").cast(pl.String)).len().iter_rows())
    # PROVENANCE.md says 35 reporting entities + 2 ICB-level codes; the file has 37 rows
    # named "... - SUB-ICB REPORTING ENTITY" (role RO327) and no ICB-level code.
    assert counts == {"sub_icb_location": 106, "commissioning_hub": 16, "reporting_entity": 37}
    closed = dict(
        f.filter(~pl.col("is_open")).group_by(pl.col("kind").cast(pl.String)).len().iter_rows()
    )
    assert closed == {"ccg": 142, "commissioning_hub": 19}
    sub = open_.filter(pl.col("kind") == "sub_icb_location")
    assert sub["icb_code"].n_unique() == 42
    # a sub-ICB location's name ends with its own ODS code
    assert (sub["name"].str.extract(r" - ([A-Z0-9]+)$") == sub["org_code"]).all()
    # the reporting entities sit under the six sub-ICB locations that carry role RO326
    ro326 = open_.filter(pl.col("organisation_sub_type_code").str.contains("RO326"))
    assert set(ro326["org_code"]) == {"36L", "72Q", "93C", "A3A8R", "D4U1Y", "W2U3Z"}
    entities = open_.filter(pl.col("kind") == "reporting_entity")
    assert set(entities["icb_code"]) == set(ro326["icb_code"])


# ----------------------------------------------------------------------------- successors


def test_successors_fixture(tmp_path):
    lines = [
        '"QNQ","S0E4D","","20260401","0"',
        '"QNQ","S9B9J","","20260401","0"',
        '"RHJ05","RW8A4","","20020401","1"',
    ]
    f = read_ods_successors(write(tmp_path, "succ.csv", lines)).frame
    assert f.columns[:5] == [
        "predecessor_code",
        "successor_code",
        "reserved",
        "effective_date",
        "indicator",
    ]
    assert f.schema["indicator"] == pl.Int8
    assert f["effective_date"][0] == dt.date(2026, 4, 1)
    assert f["indicator"].to_list() == [0, 0, 1]
    assert f["reserved"].null_count() == 3


def test_successors_bad_rows(tmp_path):
    lines = [
        '"QNQ","S0E4D","","20260401","0"',
        '"QNQ","S0E4D","","20260401","0"',
        '"QMJ","Z9B2Z","","2026041","x"',
    ]
    with pytest.raises(DataContractError) as err:
        read_ods_successors(write(tmp_path, "succ.csv", lines))
    v = err.value.violations
    assert v.filter(pl.col("problem") == "duplicate key")["row"].to_list() == [1, 2]
    assert v.filter(pl.col("column") == "effective_date")["row"].to_list() == [3]
    assert v.filter(pl.col("column") == "indicator")["value"].to_list() == ["x"]


def test_successors_real_file():
    loaded = read_ods_successors()
    f = loaded.frame
    assert loaded.n_input_rows == f.height == 11_537
    # (predecessor, successor) is unique; a predecessor alone is not (splits)
    assert not f.select(
        pl.struct("predecessor_code", "successor_code").is_duplicated().any()
    ).item()
    assert f["predecessor_code"].is_duplicated().any()
    qnq = f.filter(pl.col("predecessor_code") == "QNQ")
    assert set(qnq["successor_code"]) == {"S0E4D", "S9B9J", "QRL"}
    assert f.filter(pl.col("predecessor_code") == "QMJ")["successor_code"].to_list() == ["Z9B2Z"]
    assert f.filter(pl.col("predecessor_code") == "D4U1Y").is_empty()
    assert f["effective_date"].max() == dt.date(2026, 4, 1)
    assert set(f["indicator"]) == {0, 1}
