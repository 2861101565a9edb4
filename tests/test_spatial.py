"""Placing locations by coordinates: hand-made squares, then the real CQC API dump."""

from datetime import date

import geopandas as gpd
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import Point, box

from ics_model.data.build import load_processed
from ics_model.data.cqc_api import read_cqc_api
from ics_model.data.geography import read_boundaries, read_icb_codes
from ics_model.data.ods import read_ods_successors
from ics_model.data.sources import SOURCES
from ics_model.mapping.spatial import (
    PLACEMENT_CHECKS,
    check_local_authority,
    la_icb_lookup,
    locate_points,
    place_by_coordinates,
)

# Two 1-degree squares side by side: W (2W-1W) and E (1W-0), 52N-53N. At 52.5N one
# thousandth of a degree of longitude is about 68 m.
SQUARES = gpd.GeoDataFrame(
    {"icb_gss": ["E54000001", "E54000002"]},
    geometry=[box(-2, 52, -1, 53), box(-1, 52, 0, 53)],
    crs=4326,
)
ICB_CODES = pl.DataFrame(
    {
        "icb_code": ["QW1", "QE2"],
        "icb_gss": ["E54000001", "E54000002"],
        "icb_name": ["NHS West ICB", "NHS East ICB"],
    }
)


def _points(rows):
    return pl.DataFrame(
        rows,
        schema={"id": pl.String, "latitude": pl.Float64, "longitude": pl.Float64},
        orient="row",
    )


def test_points_inside_near_far_and_without_coordinates():
    pts = _points(
        [
            ("in_w", 52.5, -1.5),
            ("in_e", 52.5, -0.5),
            ("near_w", 52.5, -2.003),  # ~200 m west of W
            ("far_w", 52.5, -2.02),  # ~1.4 km west of W
            ("no_lat", None, -1.5),
            ("bad_lat", 95.0, -1.5),
        ]
    )
    out = locate_points(pts, SQUARES, max_distance_m=500)
    assert out["id"].to_list() == pts["id"].to_list()  # one row per point, in order
    got = {r["id"]: r for r in out.to_dicts()}
    assert (got["in_w"]["icb_gss"], got["in_w"]["point_outcome"]) == ("E54000001", "within")
    assert (got["in_e"]["icb_gss"], got["in_e"]["point_outcome"]) == ("E54000002", "within")
    assert got["in_w"]["distance_m"] == 0.0 and got["in_w"]["note"] is None
    assert (got["near_w"]["icb_gss"], got["near_w"]["point_outcome"]) == ("E54000001", "nearest")
    assert 190 < got["near_w"]["distance_m"] < 220  # 0.003 deg x 111.3 km x cos(52.5)
    assert got["far_w"]["icb_gss"] is None and got["far_w"]["point_outcome"] == "too_far"
    assert 1300 < got["far_w"]["distance_m"] < 1450
    assert "farther than 500 m" in got["far_w"]["note"]
    for pid in ("no_lat", "bad_lat"):
        assert got[pid]["point_outcome"] == "no_coordinates" and got[pid]["distance_m"] is None
        assert got[pid]["note"].startswith("no coordinates")


def test_no_fallback_when_the_distance_is_zero():
    out = locate_points(_points([("near_w", 52.5, -2.003)]), SQUARES, max_distance_m=0)
    assert out["point_outcome"][0] == "too_far" and out["icb_gss"][0] is None


def test_a_point_in_two_polygons_or_equally_near_two_is_not_guessed():
    overlapping = gpd.GeoDataFrame(
        {"icb_gss": ["A", "B"]},
        geometry=[box(-2, 52, -1, 53), box(-1.6, 52.4, -1.4, 52.6)],
        crs=4326,
    )
    out = locate_points(_points([("p", 52.5, -1.5)]), overlapping, max_distance_m=500)
    assert out["point_outcome"][0] == "ambiguous" and out["icb_gss"][0] is None
    assert "several polygons (A, B)" in out["note"][0]
    # two squares 100 m either side of the point, drawn on the British National Grid
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(-1.5, 52.5)
    twins = gpd.GeoDataFrame(
        {"icb_gss": ["L", "R"]},
        geometry=[box(x - 300, y - 100, x - 100, y + 100), box(x + 100, y - 100, x + 300, y + 100)],
        crs=27700,
    )
    out = locate_points(_points([("p", 52.5, -1.5)]), twins, max_distance_m=500)
    assert out["point_outcome"][0] == "ambiguous"
    assert "equally near several polygons (L, R, 100 m)" in out["note"][0]


@given(
    st.lists(st.tuples(st.floats(51.9, 53.1), st.floats(-2.1, 0.1)), min_size=1, max_size=25),
    st.sampled_from([0.0, 250.0, 2000.0]),
)
def test_every_point_gets_one_consistent_outcome(coords, max_m):
    pts = _points([(f"p{i}", lat, lon) for i, (lat, lon) in enumerate(coords)])
    out = locate_points(pts, SQUARES, max_distance_m=max_m)
    assert out["id"].to_list() == pts["id"].to_list()
    for (lat, lon), r in zip(coords, out.iter_rows(named=True), strict=True):
        placed = r["icb_gss"] is not None
        assert placed == (r["point_outcome"] in ("within", "nearest"))
        if r["point_outcome"] == "within":
            assert r["distance_m"] == 0.0
        if r["point_outcome"] == "nearest":
            assert 0 < r["distance_m"] <= max_m
        if r["point_outcome"] == "too_far":
            assert r["distance_m"] > max_m
        # well inside a square (0.01 deg from every edge): that square, whatever the CRS
        for gss, square in zip(SQUARES["icb_gss"], SQUARES.geometry, strict=True):
            if square.buffer(-0.01).contains(Point(lon, lat)):
                assert (r["icb_gss"], r["point_outcome"]) == (gss, "within")


# --------------------------------------------------------------------------- local authority

LOOKUP = la_icb_lookup(
    pl.DataFrame(
        {
            "lsoa11_code": ["a", "b", "c", "d"],
            "lad19_name": ["Westshire", "Westshire", "Eastby", "Borderham"],
        }
    ),
    pl.DataFrame(
        {"lsoa11_code": ["a", "b", "c", "d"], "icb_gss": ["E54000001"] * 2 + ["E54000002"] * 2}
    ),
    ICB_CODES,
)


def test_la_lookup_lists_each_districts_icbs():
    assert LOOKUP.select("local_authority", "la_icb_codes", "n_lsoas").rows() == [
        ("Borderham", "QE2", 1),
        ("Eastby", "QE2", 1),
        ("Westshire", "QW1", 2),
    ]


def test_check_local_authority_outcomes():
    frame = pl.DataFrame(
        {
            "local_authority": ["westshire", "Eastby", "Kentish County", None, "Eastby"],
            "icb_code_2023": ["QW1", "QW1", "QE2", "QE2", None],
        }
    )
    out = check_local_authority(frame, LOOKUP)
    assert out["la_check"].to_list() == [
        "agrees",  # matched case-insensitively
        "disagrees",
        "la_not_in_lookup",
        "no_local_authority",
        "not_placed",
    ]
    assert out["la_icb_codes"].to_list() == ["QW1", "QE2", None, None, "QE2"]


# --------------------------------------------------------------------------- the placer


def _api_file(tmp_path, rows):
    header = (
        "CQC Location ID,CQC Provider ID,Hospital Name,Local Authority,"
        "Latitude,Longitude,Rating,Rating Date\n"
    )
    path = tmp_path / "api.csv"
    path.write_text(header + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return read_cqc_api(path)


ROWS = [
    ("1-1", "1-P", "West Clinic", "Westshire", "52.5", "-1.5", "Good", "2023-05-01"),
    ("1-2", "1-P", "East Clinic", "Westshire", "52.5", "-0.5", "Outstanding", "2021-01-10"),
    ("1-3", "1-P", "Coast Clinic", "Westshire", "52.5", "-2.003", "Not rated", ""),
    ("1-4", "1-Q", "Far Clinic", "Westshire", "52.5", "-2.5", "Inadequate", "2019-03-03"),
    ("1-5", "1-Q", "Lost Clinic", "", "", "", "Inspected but not rated", "2022-02-02"),
]


def test_place_by_coordinates_on_a_hand_made_file(tmp_path):
    loaded = _api_file(tmp_path, ROWS)
    placed = place_by_coordinates(
        loaded.frame, SQUARES, ICB_CODES, LOOKUP, sector="independent_healthcare", source="indep"
    )
    r = placed.ratings
    assert r["provider_id"].to_list() == ["1-2", "1-1", "1-3"]  # sorted by ICB, then id
    assert r["icb_code"].to_list() == ["QE2", "QW1", "QW1"]
    assert r["mapping_method"].to_list() == ["icb_polygon", "icb_polygon", "icb_polygon_nearest"]
    assert r["rating"].cast(pl.String).to_list() == ["Outstanding", "Good", None]
    assert r["rating_source"].to_list() == ["own", "own", "none"]
    assert r["publication_date"].to_list() == [date(2021, 1, 10), date(2023, 5, 1), None]
    assert r["provider_name"].to_list() == ["East Clinic", "West Clinic", "Coast Clinic"]
    assert set(r["key_question"].cast(pl.String)) == {"Overall"}
    unmapped = dict(zip(placed.unmapped["provider_id"], placed.unmapped["reason"], strict=True))
    assert set(unmapped) == {"1-4", "1-5"}
    assert "outside every polygon" in unmapped["1-4"] and unmapped["1-5"].startswith("no coord")
    assert placed.accounts.sort("outcome").rows() == [
        ("indep", "unmapped", 2),
        ("indep", "used", 3),
    ]
    assert placed.unit_rows["n_rows"].sum() == 3
    c = placed.checks
    assert c.columns == PLACEMENT_CHECKS.column_names
    got = {row["provider_id"]: row for row in c.to_dicts()}
    assert got["1-2"]["la_check"] == "disagrees"  # Westshire's LSOAs are all in QW1
    assert 33_500 < got["1-2"]["la_icb_distance_m"] < 34_500  # 0.5 deg of longitude
    assert got["1-1"]["la_check"] == "agrees" and got["1-1"]["la_icb_distance_m"] is None
    assert got["1-3"]["point_outcome"] == "nearest" and got["1-3"]["la_check"] == "agrees"
    assert got["1-4"]["la_check"] == "not_placed" and got["1-4"]["icb_code_2023"] is None
    assert got["1-5"]["point_outcome"] == "no_coordinates"


def test_place_by_coordinates_maps_forward_to_a_later_icb_vintage(tmp_path):
    succ = pl.DataFrame(
        {
            "predecessor_code": ["QW1", "QE2", "QE2"],
            "successor_code": ["QN9", "QS1", "QS2"],
            "effective_date": [date(2026, 4, 1)] * 3,
        }
    )
    loaded = _api_file(tmp_path, ROWS[:2])
    placed = place_by_coordinates(
        loaded.frame,
        SQUARES,
        ICB_CODES,
        LOOKUP,
        sector="independent_healthcare",
        source="indep",
        successors=succ,
        icb_vintage="2026",
    )
    assert placed.ratings.select("provider_id", "icb_code").rows() == [("1-1", "QN9")]
    assert placed.unmapped["provider_id"].to_list() == ["1-2"]
    assert "QE2 split: {QS1, QS2}" in placed.unmapped["reason"][0]
    # the local-authority check stays on the 2023 ICBs the point lies in
    assert placed.checks["icb_code_2023"].to_list() == ["QW1", "QE2"]


# --------------------------------------------------------------------------- the real dump


@pytest.fixture(scope="module")
def real():
    loaded = read_cqc_api(SOURCES["cqc_independent_healthcare_2025"].path)
    codes = read_icb_codes().frame
    lookup = la_icb_lookup(load_processed("imd2019_lsoa"), load_processed("lsoa11_icb23"), codes)
    placed = place_by_coordinates(
        loaded.frame,
        read_boundaries("icb"),
        codes,
        lookup,
        sector="independent_healthcare",
        source="independent_healthcare",
    )
    return loaded, placed, codes, lookup


def test_real_dump_ratings_match_its_provenance(real):
    loaded, *_ = real
    f = loaded.frame
    assert loaded.n_input_rows == f.height == 2854 and loaded.quarantine.is_empty()
    assert loaded.variant == "locations/csv-flat"
    assert dict(f["rating"].cast(pl.String).value_counts().rows()) == {
        "Good": 1148,
        "Outstanding": 156,
        "Requires improvement": 151,
        "Inadequate": 4,
        None: 1395,
    }
    assert dict(f["rating_status"].cast(pl.String).value_counts().rows()) == {
        "rated": 1459,
        "not_rated": 1245,
        "inspected_not_rated": 113,
        "no_published_rating": 37,
    }
    assert f["publication_date"].min() == date(2014, 4, 17)
    assert f["publication_date"].max() == date(2024, 5, 20)  # nothing after May 2024
    assert f["publication_date"].null_count() == 1282


def test_real_dump_is_placed_for_all_but_two(real):
    _, placed, *_ = real
    c = placed.checks
    assert c.height == 2854
    assert dict(c["point_outcome"].value_counts().rows()) == {
        "within": 2849,
        "nearest": 3,
        "no_coordinates": 2,
    }
    nearest = c.filter(pl.col("point_outcome") == "nearest").sort("provider_id")
    assert nearest.select("provider_id", "icb_code_2023").rows() == [
        ("1-11377608851", "QT6"),  # Brook Cornwall, Truro
        ("1-13348643978", "QT6"),  # SpaMedica Truro
        ("1-4199915185", "QYG"),  # Bullen Head Office, Liverpool
    ]
    assert nearest["distance_m"].max() < 30
    assert placed.unmapped.select("provider_id", "reason").rows() == [
        ("1-12696028155", "no coordinates (latitude and longitude are needed)"),  # Star Clinic
        ("1-18175063301", "no coordinates (latitude and longitude are needed)"),  # HCA Harborne
    ]
    assert placed.accounts.sort("outcome").rows() == [
        ("independent_healthcare", "unmapped", 2),
        ("independent_healthcare", "used", 2852),
    ]
    per_icb = placed.ratings.group_by("icb_code").len()
    assert per_icb.height == 42
    assert (per_icb["len"].min(), per_icb["len"].max()) == (15, 257)
    assert per_icb.sort("len")["icb_code"][-1] == "QRV"  # North West London


def test_real_dump_local_authority_check(real):
    _, placed, _, lookup = real
    assert lookup.height == 317  # 2019 districts
    c = placed.checks
    assert dict(c["la_check"].value_counts().rows()) == {
        "agrees": 1845,
        "disagrees": 4,
        "la_not_in_lookup": 1002,  # county councils and post-2019 unitaries
        "no_local_authority": 1,
        "not_placed": 2,
    }
    off = c.filter(pl.col("la_check") == "disagrees").sort("provider_id")
    assert off.select("provider_id", "local_authority", "icb_code_2023", "la_icb_codes").rows() == [
        ("1-107318660", "Havering", "QM7", "QMF"),  # Saint Francis Hospice
        ("1-16784659422", "Islington", "QMF", "QMJ"),
        ("1-19369016354", "Slough", "QU9", "QNQ"),
        ("1-20195698056", "Islington", "QMF", "QMJ"),
    ]
    # each lies within 400 m of its local authority's ICB: the generalised boundary
    assert off["la_icb_distance_m"].max() < 400
    counties = c.filter(pl.col("la_check") == "la_not_in_lookup")["local_authority"].unique()
    assert {"Kent", "Surrey", "Essex", "Buckinghamshire", "North Yorkshire"} <= set(counties)


def test_real_dump_2026_vintage_reports_split_icbs(real):
    loaded, _, codes, lookup = real
    placed = place_by_coordinates(
        loaded.frame,
        read_boundaries("icb"),
        codes,
        lookup,
        sector="independent_healthcare",
        source="independent_healthcare",
        successors=read_ods_successors().frame,
        icb_vintage="2026",
    )
    assert placed.ratings.height == 2692 and placed.ratings["icb_code"].n_unique() == 36
    split = placed.unmapped.filter(pl.col("reason").str.contains("split"))
    assert split.height == 160  # in QJG, QM7 and QNQ, which split in April 2026
    assert set(split["reason"].str.extract(r"host ICB (Q\w\w)")) == {"QJG", "QM7", "QNQ"}
