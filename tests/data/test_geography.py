"""ICB codes, ICB-name matching, LSOA -> ICB lookup and boundaries."""

from __future__ import annotations

import json

import polars as pl
import pytest

from ics_model.contracts import DataContractError
from ics_model.data.base import SourceReadError
from ics_model.data.bundled import raw_path
from ics_model.data.geography import (
    match_icb_names,
    normalise_icb_name,
    read_boundaries,
    read_icb_codes,
    read_lsoa_icb_lookup,
)

ICB_HEADER = "ICB24CD,ICB24CDH,ICB24NM,ObjectId"
ICB_ROWS = [
    "E54000008,QYG,NHS Cheshire and Merseyside Integrated Care Board,1",
    'E54000011,QOC,"NHS Shropshire, Telford and Wrekin Integrated Care Board",3',
    "E54000036,QT6,NHS Cornwall and the Isles of Scilly Integrated Care Board,20",
]


def write(tmp_path, name, lines, encoding="utf-8"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


@pytest.fixture(scope="module")
def icb_codes():
    return read_icb_codes().frame


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "NHS Shropshire, Telford and Wrekin Integrated Care Board",
            "shropshire telford and wrekin",
        ),
        (
            "NHS Shropshire Telford and Wrekin Integrated Care Board",
            "shropshire telford and wrekin",
        ),
        ("Shropshire, Telford & Wrekin", "shropshire telford and wrekin"),
        ("  nhs   SHROPSHIRE TELFORD AND WREKIN icb ", "shropshire telford and wrekin"),
        ("NHS Cornwall and the Isles of Scilly ICB", "cornwall and isles of scilly"),
        ("Cornwall & Isles of Scilly", "cornwall and isles of scilly"),
        ("Staffordshire and Stoke-on-Trent", "staffordshire and stoke on trent"),
        ("NHS North East and North Cumbria Integrated Care System", "north east and north cumbria"),
    ],
)
def test_normalise_icb_name(raw, expected):
    assert normalise_icb_name(raw) == expected


def test_match_icb_names_keeps_order_and_flags_misses(icb_codes):
    names = pl.Series(["Devon", None, "QE1", "e54000008", "Atlantis", "Devon"])
    out = match_icb_names(names, icb_codes)
    assert out.columns == ["name", "icb_code", "icb_gss", "icb_name", "matched"]
    assert out["name"].to_list() == names.to_list()
    assert out["matched"].to_list() == [True, False, True, True, False, True]
    assert out["icb_code"].to_list() == ["QJK", None, "QE1", "QYG", None, "QJK"]
    assert out["icb_name"][0] == "NHS Devon Integrated Care Board"


def test_match_icb_names_real_gp_file(icb_codes):
    gp = pl.read_csv(
        raw_path("cqc", "gp_practices_2024-04_HEEC", "cqc.csv"),
        infer_schema=False,
        null_values=["NA"],
        columns=["ICB_NAME"],
    )
    names = gp["ICB_NAME"].unique().drop_nulls()
    assert names.len() == 42
    out = match_icb_names(names, icb_codes)
    assert out["matched"].all(), out.filter(~pl.col("matched"))
    assert out["icb_code"].n_unique() == 42


def test_match_icb_names_lsoa_file_names(icb_codes):
    # the LSOA lookup writes the names without commas; they must still match, to the same GSS
    lookup = read_lsoa_icb_lookup().frame.select("icb_gss", "icb_name").unique()
    out = match_icb_names(lookup["icb_name"], icb_codes)
    assert out["matched"].all()
    assert out["icb_gss"].to_list() == lookup["icb_gss"].to_list()


# ----------------------------------------------------------------------------- ICB codes


def test_icb_codes_fixture(tmp_path):
    loaded = read_icb_codes(write(tmp_path, "icb.csv", [ICB_HEADER, *ICB_ROWS]))
    f = loaded.frame
    assert f.columns == ["icb_gss", "icb_code", "icb_name", "icb_short_name", "source_row"]
    assert f["icb_short_name"].to_list() == [
        "Cheshire and Merseyside",
        "Shropshire, Telford and Wrekin",
        "Cornwall and the Isles of Scilly",
    ]
    assert f["source_row"].to_list() == [2, 3, 4]
    assert loaded.variant == "ICB24"


def test_icb_codes_missing_column_lists_missing_and_found(tmp_path):
    path = write(tmp_path, "icb.csv", ["ICB24CD,ICB24NM", "E54000008,NHS X Integrated Care Board"])
    with pytest.raises(DataContractError) as err:
        read_icb_codes(path)
    message = str(err.value)
    assert "ICB24CDH" in message and "found: ICB24CD, ICB24NM" in message


def test_icb_codes_bad_rows(tmp_path):
    rows = [*ICB_ROWS, "E5400009,QYG,NHS Elsewhere Integrated Care Board,4"]
    with pytest.raises(DataContractError) as err:
        read_icb_codes(write(tmp_path, "icb.csv", [ICB_HEADER, *rows]))
    v = err.value.violations
    assert v.filter(pl.col("column") == "icb_gss")["row"].to_list() == [5]
    assert v.filter(pl.col("problem") == "duplicate ICB ODS code")["row"].to_list() == [2, 5]
    lenient = read_icb_codes(write(tmp_path, "icb.csv", [ICB_HEADER, *rows]), mode="lenient")
    assert lenient.frame["icb_code"].to_list() == ["QOC", "QT6"]
    assert lenient.quarantine["source_row"].to_list() == [2, 5]


def test_icb_codes_truncated(tmp_path):
    path = tmp_path / "icb_cut.csv"
    path.write_text("\n".join([ICB_HEADER, *ICB_ROWS])[:-12], encoding="utf-8")
    with pytest.raises(SourceReadError, match=r"icb_cut\.csv"):
        read_icb_codes(path)


def test_icb_codes_real(icb_codes):
    assert icb_codes.height == 42
    assert icb_codes["icb_code"].n_unique() == 42
    qe1 = icb_codes.filter(pl.col("icb_code") == "QE1")
    assert qe1["icb_gss"][0] == "E54000048"
    assert qe1["icb_short_name"][0] == "Lancashire and South Cumbria"
    assert not icb_codes["icb_short_name"].str.contains("NHS |Integrated Care Board").any()


# ----------------------------------------------------------------------------- LSOA lookup


def test_lsoa_lookup_fixture_and_bad_code(tmp_path):
    header = "lsoa11cd,lsoa11nm,ICB23CD,ICB23NM"
    good = [
        "E01000001,City of London 001A,E54000029,NHS North East London Integrated Care Board",
        "E01000002,City of London 001B,E54000029,NHS North East London Integrated Care Board",
    ]
    f = read_lsoa_icb_lookup(write(tmp_path, "l.csv", [header, *good])).frame
    assert f.columns == ["lsoa11_code", "lsoa11_name", "icb_gss", "icb_name", "source_row"]
    assert f.height == 2
    with pytest.raises(DataContractError) as err:
        read_lsoa_icb_lookup(write(tmp_path, "l.csv", [header, *good, "W01000003,Cardiff,,x"]))
    assert set(err.value.violations["row"].to_list()) == {4}


def test_lsoa_lookup_real(icb_codes):
    loaded = read_lsoa_icb_lookup()
    f = loaded.frame
    assert loaded.n_input_rows == f.height == 32_844
    assert f["lsoa11_code"].n_unique() == 32_844
    assert set(f["icb_gss"]) == set(icb_codes["icb_gss"])


# ----------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("level", "count", "columns", "prefix"),
    [
        ("icb", 42, ["icb_gss", "icb_name", "geometry"], "E54"),
        ("sub_icb", 106, ["sub_icb_gss", "sub_icb_name", "sub_icb_code", "geometry"], "E38"),
        ("region", 7, ["region_gss", "region_name", "geometry"], "E40"),
    ],
)
def test_boundaries_real(level, count, columns, prefix):
    gdf = read_boundaries(level)
    assert len(gdf) == count
    assert list(gdf.columns) == columns
    assert gdf.crs.to_epsg() == 4326
    assert gdf[f"{level}_gss"].str.startswith(prefix).all()
    assert gdf.geometry.notna().all() and not gdf.geometry.is_empty.any()


def test_boundaries_icb_codes_match_icb_list(icb_codes):
    assert set(read_boundaries("icb")["icb_gss"]) == set(icb_codes["icb_gss"])


def _feature(code, name, x):
    square = [[[x, 51.0], [x + 0.1, 51.0], [x + 0.1, 51.1], [x, 51.1], [x, 51.0]]]
    return {
        "type": "Feature",
        "properties": {"ICB23CD": code, "ICB23NM": name},
        "geometry": {"type": "Polygon", "coordinates": square},
    }


def test_boundaries_wrong_feature_count_raises(tmp_path):
    path = tmp_path / "two.geojson"
    features = [_feature("E54000008", "A", 0.0), _feature("E54000010", "B", 1.0)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(DataContractError, match="2 features where 42 are expected"):
        read_boundaries("icb", path)


def test_boundaries_bad_code_and_missing_property(tmp_path):
    path = tmp_path / "bad.geojson"
    features = [_feature("X54000008", "A", 0.0)] * 42
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(DataContractError) as err:
        read_boundaries("icb", path)
    problems = set(err.value.violations["problem"])
    assert "duplicate key" in problems and any("pattern" in p for p in problems)
    with pytest.raises(DataContractError, match="SICBL23CD"):
        read_boundaries("sub_icb", path)


def test_boundaries_unreadable(tmp_path):
    with pytest.raises(SourceReadError, match=r"nothing\.geojson"):
        read_boundaries("icb", tmp_path / "nothing.geojson")
    junk = tmp_path / "junk.geojson"
    junk.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(SourceReadError, match=r"junk\.geojson"):
        read_boundaries("icb", junk)
    with pytest.raises(ValueError, match="level"):
        read_boundaries("county")


def test_boundaries_null_code_and_empty_geometry(tmp_path):
    features = [_feature(f"E54{i:06d}", f"ICB {i}", float(i)) for i in range(42)]
    features[0]["properties"]["ICB23CD"] = None
    features[1]["geometry"] = None
    path = tmp_path / "holes.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(DataContractError) as err:
        read_boundaries("icb", path)
    v = err.value.violations
    assert v.select("row", "column").rows() == [(1, "icb_gss"), (2, "has_geometry")]
