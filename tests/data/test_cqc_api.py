"""CQC API records: hand-written JSON, JSON-lines and CSV inputs, malformed cases, real files."""

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from ics_model.contracts import DataContractError, validate
from ics_model.data.base import SourceReadError
from ics_model.data.bundled import raw_path
from ics_model.data.cqc_api import CQC_API_HISTORY, CQC_API_RATINGS, read_cqc_api

LOC = {
    "locationId": "1-1",
    "providerId": "1-P",
    "name": "Home A",
    "postalCode": "EX1 1AA",
    "onspdLatitude": 50.5,
    "onspdLongitude": -3.5,
    "localAuthority": "Devon",
    "odsCode": "VM1",
    "registrationStatus": "Registered",
    "currentRatings": {
        "overall": {
            "rating": "Good",
            "reportDate": "2020-05-06",
            "reportLinkId": "r2",
            "keyQuestionRatings": [
                {"name": "Safe", "rating": "Requires improvement", "reportDate": "2020-05-06"},
                {"name": "Well-led", "rating": "Inspected but not rated"},
            ],
        }
    },
    "historicRatings": [
        {
            "reportLinkId": "r1",
            "reportDate": "2017-07-20",
            "overall": {
                "rating": "Requires improvement",
                "keyQuestionRatings": [{"name": "Safe", "rating": "Inadequate"}],
            },
        }
    ],
}
PROV = {
    "providerId": "1-Q",
    "name": "Provider Q",
    "currentRatings": {"overall": {"rating": "No published rating"}},
}


def _rows(frame: pl.DataFrame, *cols: str) -> list[tuple]:
    return frame.select(pl.col(c).cast(pl.String) for c in cols).rows()


def _check_two_records(loaded):
    # Home A: Overall Good, Safe RI, Well-led inspected-not-rated; Provider Q: one Overall row
    assert loaded.n_input_rows == 2
    assert _rows(loaded.frame, "location_id", "key_question", "rating", "rating_status") == [
        ("1-1", "Overall", "Good", "rated"),
        ("1-1", "Safe", "Requires improvement", "rated"),
        ("1-1", "Well-led", None, "inspected_not_rated"),
        (None, "Overall", None, "no_published_rating"),
    ]
    f = loaded.frame
    assert f["provider_id"].to_list() == ["1-P", "1-P", "1-P", "1-Q"]
    assert f["level"].cast(pl.String).to_list() == ["location"] * 3 + ["provider"]
    assert f["publication_date"].to_list()[:3] == [dt.date(2020, 5, 6)] * 3  # Well-led: overall's
    assert f["postcode"][0] == "EX1 1AA" and f["latitude"][0] == 50.5
    assert f["location_local_authority"][0] == "Devon" and f["location_ods_code"][0] == "VM1"
    assert f["provider_name"][3] == "Provider Q" and f["location_name"][0] == "Home A"
    validate(f, CQC_API_RATINGS)
    h = loaded.history
    validate(h, CQC_API_HISTORY)
    assert _rows(h, "location_id", "report_date", "key_question", "rating") == [
        ("1-1", "2017-07-20", "Overall", "Requires improvement"),
        ("1-1", "2017-07-20", "Safe", "Inadequate"),
    ]
    assert h["history_entry"].to_list() == [1, 1]  # both rows from the first historic report
    assert loaded.quarantine.height == 0


def test_json_array(tmp_path):
    p = tmp_path / "records.json"
    p.write_text(json.dumps([LOC, PROV]))
    loaded = read_cqc_api(p)
    _check_two_records(loaded)
    assert loaded.variant == "locations+providers/json"


def test_json_lines(tmp_path):
    p = tmp_path / "records.jsonl"
    p.write_text(json.dumps(LOC) + "\n\n" + json.dumps(PROV) + "\n")
    loaded = read_cqc_api(p)
    _check_two_records(loaded)
    assert loaded.frame["source_row"].to_list() == [1, 1, 1, 3]  # lines, the blank one counted


def _csv(path: Path, records: list[dict], literal: bool) -> None:
    nested = ("currentRatings", "historicRatings")
    cols = sorted({k for r in records for k in r})
    frame = pl.DataFrame(
        [
            {
                c: (repr(r[c]) if literal else json.dumps(r[c]))
                if c in nested and c in r
                else r.get(c)
                for c in cols
            }
            for r in records
        ],
        schema=dict.fromkeys(cols, pl.String),
    )
    frame.write_csv(path)


@pytest.mark.parametrize("literal", [False, True], ids=["json-cells", "python-literal-cells"])
def test_csv_with_nested_cells(tmp_path, literal):
    p = tmp_path / "records.csv"
    _csv(p, [LOC, PROV], literal)
    loaded = read_cqc_api(p)
    _check_two_records(loaded)
    assert loaded.variant == "locations+providers/csv-nested"
    assert loaded.frame["source_row"].to_list() == [2, 2, 2, 3]


def test_flat_csv_and_a_record_without_ratings(tmp_path):
    p = tmp_path / "flat.csv"
    p.write_text(
        "CQC Location ID,CQC Provider ID,Hospital Name,Rating,Rating Date,Latitude\n"
        "1-A,1-P,Clinic A,Good,2022-11-02,51.5\n"
        "1-B,1-P,Clinic B,Not rated,,\n"
        "1-C,1-P,Clinic C,,,\n"
    )
    loaded = read_cqc_api(p)
    assert _rows(loaded.frame, "location_id", "rating", "rating_status", "publication_date") == [
        ("1-A", "Good", "rated", "2022-11-02"),
        ("1-B", None, "not_rated", None),
        ("1-C", None, "missing", None),
    ]
    assert loaded.history.height == 0
    assert loaded.variant == "locations/csv-flat"


def test_malformed_records_strict_and_lenient(tmp_path):
    bad_label = {**PROV, "providerId": "1-R", "currentRatings": {"overall": {"rating": "Superb"}}}
    no_id = {"name": "nobody"}
    p = tmp_path / "bad.jsonl"
    lines = [json.dumps(LOC), "{not json", json.dumps(bad_label), json.dumps(no_id)]
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataContractError) as err:
        read_cqc_api(p)
    msg = str(err.value)
    assert "bad.jsonl" in msg
    assert "row 2, column '<line>'" in msg
    assert "row 3, column 'rating', value 'Superb': unknown rating label (record 1-R)" in msg
    assert "row 4, column 'locationId/providerId'" in msg
    loaded = read_cqc_api(p, mode="lenient")
    assert loaded.n_input_rows == 4
    assert loaded.frame["source_row"].unique().to_list() == [1]
    q = loaded.quarantine
    assert q["source_row"].to_list() == [2, 3, 4]
    assert "not JSON" in q["reason"][0] and "Superb" in q["reason"][1]
    assert "without a location or provider id" in q["reason"][2]


def test_a_nested_cell_that_is_neither_json_nor_a_literal(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("locationId,providerId,currentRatings\n1-1,1-P,\"{'overall': {\"\n1-2,1-P,\n")
    with pytest.raises(DataContractError, match=r"row 2, column 'currentRatings'.*neither JSON"):
        read_cqc_api(p)
    loaded = read_cqc_api(p, mode="lenient")
    assert loaded.quarantine["source_row"].to_list() == [2]
    assert _rows(loaded.frame, "location_id", "rating_status") == [("1-2", "missing")]


def test_unknown_history_label_names_record_and_field(tmp_path):
    rec = {**LOC, "historicRatings": [{"reportDate": "2016-01-01", "overall": {"rating": "Meh"}}]}
    p = tmp_path / "h.json"
    p.write_text(json.dumps([rec]))
    with pytest.raises(DataContractError, match=r"row 1, column 'rating', value 'Meh'.*record 1-1"):
        read_cqc_api(p)


def test_unreadable_inputs(tmp_path):
    with pytest.raises(SourceReadError, match="no such file"):
        read_cqc_api(tmp_path / "missing.json")
    p = tmp_path / "broken.json"
    p.write_text('[{"locationId": "1-1"')
    with pytest.raises(SourceReadError, match=r"broken\.json"):
        read_cqc_api(p)
    p = tmp_path / "noid.csv"
    p.write_text("name,rating\nA,Good\n")
    with pytest.raises(DataContractError, match="no location or provider id column"):
        read_cqc_api(p)


# ----------------------------------------------------------------------------- real files

CARE_HOMES = raw_path("cqc", "carehomes_sw_api_2021-04", "cqc_care_homes.csv")  # embedded
HOSPITALS = raw_path(  # embedded
    "cqc", "independent_hospitals_2025-11_api", "uk_private_hospitals_all_2025-11-01.csv"
)


def _counts(frame: pl.DataFrame, col: str) -> dict:
    return dict(frame[col].cast(pl.String).value_counts().rows())


def test_real_care_homes_file():
    loaded = read_cqc_api(CARE_HOMES)
    assert loaded.n_input_rows == 728 and loaded.quarantine.height == 0
    assert loaded.variant == "locations/csv-nested"
    overall = loaded.frame.filter(pl.col("key_question") == "Overall")
    assert overall.height == 728
    assert _counts(overall, "rating") == {
        "Good": 561,
        "Requires improvement": 83,
        "Outstanding": 56,
        "Inadequate": 12,
        None: 16,
    }
    # 14 records without currentRatings, 2 Inspected but not rated
    assert _counts(overall, "rating_status") == {
        "rated": 712,
        "missing": 14,
        "inspected_not_rated": 2,
    }
    assert loaded.frame.height == 4298  # 714 overall + 3,570 key questions + 14 empty records
    h = loaded.history
    assert h.height == 7036  # 1,289 historic ratings (Overall rows) + 5,747 key-question rows
    assert h.filter(pl.col("key_question") == "Overall").height == 1289
    assert _counts(h, "rating_status") == {
        "rated": 6817,
        "inspected_not_rated": 169,
        "no_action": 38,
        "missing": 9,
        "compliance_action": 3,
    }
    by_date = {
        loc: h.filter(pl.col("location_id") == loc)
        .group_by("report_date")
        .agg(pl.len(), pl.col("rating").filter(pl.col("key_question") == "Overall").first())
        .sort("report_date")
        .select(pl.col("report_date").cast(pl.String), "len", pl.col("rating").cast(pl.String))
        .rows()
        for loc in ("1-1000587219", "1-6958525854", "1-115778936")
    }
    assert by_date["1-1000587219"] == [
        ("2015-04-20", 6, "Good"),
        ("2017-07-20", 6, "Good"),
        ("2020-12-18", 2, None),
    ]
    assert by_date["1-6958525854"] == [
        ("2014-06-25", 6, None),  # "Compliance action": a pre-2014-regime outcome, not a rating
        ("2015-05-14", 6, "Requires improvement"),
        ("2015-11-16", 6, "Good"),
        ("2017-06-16", 6, "Requires improvement"),
        ("2017-11-08", 2, "Requires improvement"),
    ]
    assert by_date["1-115778936"] == [("2017-01-26", 6, "Good"), ("2020-10-28", 2, None)]
    # historicRatings lists reports newest first: history_entry keeps that order
    first = h.filter(
        (pl.col("location_id") == "1-1000587219") & (pl.col("key_question") == "Overall")
    )
    assert first.sort("history_entry")["report_date"].cast(pl.String).to_list() == [
        "2020-12-18",
        "2017-07-20",
        "2015-04-20",
    ]


def test_real_independent_hospitals_file():
    loaded = read_cqc_api(HOSPITALS)
    assert loaded.n_input_rows == 2854 and loaded.frame.height == 2854
    assert loaded.variant == "locations/csv-flat"
    assert _counts(loaded.frame, "rating_status") == {
        "rated": 1459,
        "not_rated": 1245,
        "inspected_not_rated": 113,
        "no_published_rating": 37,
    }
    assert _counts(loaded.frame, "rating") == {
        "Good": 1148,
        "Outstanding": 156,
        "Requires improvement": 151,
        "Inadequate": 4,
        None: 1395,
    }
    assert loaded.frame["publication_date"].null_count() == 1282
    assert loaded.frame["latitude"].null_count() == 2  # two rows have blank coordinates
