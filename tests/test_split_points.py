"""Located records of split ICBs placed again by sub-ICB polygon or local authority."""

from datetime import date

import geopandas as gpd
import polars as pl
from shapely.geometry import box

from ics_model.mapping.base import ACCOUNT_SCHEMA, UNIT_ROWS_SCHEMA, UNMAPPED_SCHEMA, Placed, finish
from ics_model.mapping.split_points import place_split_points
from tests.test_icb_geography import CUT_CROSSWALK, CUT_POPULATION, _geo

SUB_POLYGONS = gpd.GeoDataFrame(
    {"sub_icb_gss": ["E38000003", "E38000004"]},
    geometry=[box(-2, 52, -1, 53), box(-1, 52, 0, 53)],
    crs=4326,
)
SPLIT = "host ICB QCC has no single ICB in the 2026 vintage: QCC split: {A1A1A, QBB} (not guessed)"
RECORDS = pl.DataFrame(
    {
        "location_id": ["L1", "L2", "L3", "L4"],
        "latitude": [52.5, 52.5, 55.0, None],
        "longitude": [-1.5, -0.5, 5.0, None],
        "location_local_authority": ["L1", "L2", "Kent", None],
    }
)


def _placed() -> Placed:
    unmapped = pl.DataFrame(
        {
            "source": ["x"] * 4,
            "sector": ["independent_healthcare"] * 4,
            "provider_id": ["L1", "L2", "L3", "L4"],
            "n_rows": [1] * 4,
            "reason": [SPLIT, SPLIT, SPLIT, "no coordinates (latitude and longitude are needed)"],
        },
        schema=UNMAPPED_SCHEMA,
    )
    accounts = pl.DataFrame(
        {"source": ["x", "x"], "outcome": ["used", "unmapped"], "n_rows": [0, 4]},
        schema=ACCOUNT_SCHEMA,
    )
    return Placed(finish(pl.DataFrame()), unmapped, accounts)


def _in_2023(frame: pl.DataFrame) -> Placed:
    """A stand-in for the placer in the 2023 ICBs: every record in QCC, rated Good."""
    ids = frame["location_id"].to_list()
    rows = pl.DataFrame(
        {
            "sector": ["independent_healthcare"] * len(ids),
            "provider_id": ids,
            "key_question": ["Overall"] * len(ids),
            "rating": ["Good"] * len(ids),
            "rating_status": ["rated"] * len(ids),
            "publication_date": [date(2024, 1, 1)] * len(ids),
            "icb_code": ["QCC"] * len(ids),
            "icb_gss": ["E54000003"] * len(ids),
            "icb_name": ["NHS Gamma ICB"] * len(ids),
            "mapping_method": ["icb_polygon"] * len(ids),
            "rating_source": ["own"] * len(ids),
        }
    )
    unit_rows = pl.DataFrame(
        {"provider_id": ids, "outcome": ["used"] * len(ids), "n_rows": [1] * len(ids)},
        schema=UNIT_ROWS_SCHEMA,
    )
    empty = pl.DataFrame(schema=UNMAPPED_SCHEMA)
    return Placed(finish(rows), empty, pl.DataFrame(schema=ACCOUNT_SCHEMA), unit_rows=unit_rows)


def test_records_of_a_split_along_sub_icb_lines_go_by_their_sub_icb_polygon():
    out = place_split_points(_placed(), RECORDS, _geo("2026"), SUB_POLYGONS, _in_2023)
    got = dict(out.ratings.select("provider_id", "icb_code").iter_rows())
    assert got == {"L1": "A1A1A", "L2": "QBB"}
    assert out.ratings.filter(pl.col("provider_id") == "L1")["icb_name"][0] == (
        "NHS Alpha and Gamma ICB"
    )
    assert set(out.ratings["mapping_method"]) == {"icb_polygon"}
    reasons = dict(out.unmapped.select("provider_id", "reason").iter_rows())
    assert reasons.keys() == {"L3", "L4"}
    assert reasons["L3"].startswith(SPLIT) and "no sub-ICB polygon" in reasons["L3"]
    assert reasons["L4"] == "no coordinates (latitude and longitude are needed)"
    assert dict(out.accounts.select("outcome", "n_rows").iter_rows()) == {"used": 2, "unmapped": 2}
    assert sorted(out.unit_rows["provider_id"]) == ["L1", "L2"]


def test_below_sub_icb_level_the_local_authority_decides():
    geo = _geo("2026", CUT_POPULATION, CUT_CROSSWALK)  # 03C splits by district (L1, L2)
    records = RECORDS.with_columns(
        pl.Series("latitude", [52.5, 52.5, 52.5, None]),
        pl.Series("longitude", [-1.5, -1.4, -1.3, None]),  # all three in 03C's polygon
        pl.Series("location_local_authority", ["L2", "Kent", "L1", None]),
    )
    out = place_split_points(_placed(), records, geo, SUB_POLYGONS, _in_2023)
    got = {
        r[0]: r[1:]
        for r in out.ratings.select("provider_id", "icb_code", "mapping_method").iter_rows()
    }
    assert got == {"L1": ("QBB", "local_authority"), "L3": ("A1A1A", "local_authority")}
    kent = out.unmapped.filter(pl.col("provider_id") == "L2")["reason"][0]
    assert "(Kent) names no district or county of the crosswalk" in kent


def test_2023_runs_are_left_alone():
    placed = _placed()
    assert place_split_points(placed, RECORDS, _geo("2023"), SUB_POLYGONS, _in_2023) is placed
