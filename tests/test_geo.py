"""ICB polygons of each vintage: the 42 of 2023, and April 2026's dissolved from them."""

import matplotlib
import polars as pl
import pytest

from ics_model import plot
from ics_model.data.geography import read_boundaries
from ics_model.geo import icb_boundaries

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def b26():
    return icb_boundaries("2026").to_crs(27700)


@pytest.fixture(scope="module")
def b23():
    return icb_boundaries("2023").to_crs(27700)


def _area(gdf, code):
    return float(gdf.loc[gdf["icb_code"] == code].geometry.area.sum())


def test_2023_is_the_42_published_polygons(b23):
    assert len(b23) == 42 and b23["not_modelled"].isna().all()
    assert b23["icb_code"].notna().all() and b23["icb_gss"].is_unique


def test_2026_dissolves_merged_icbs_and_reports_frimley(b26, b23):
    drawn = b26[b26["not_modelled"].isna()]
    lost = b26[b26["not_modelled"].notna()]
    assert len(drawn) == 36 and drawn["icb_code"].is_unique
    assert drawn.loc[drawn["icb_code"] == "Z9B2Z", "icb_gss"].isna().all()
    # a merger of whole ICBs is the union of their polygons
    assert _area(b26, "Z9B2Z") == pytest.approx(_area(b23, "QMJ") + _area(b23, "QRV"), rel=1e-6)
    assert _area(b26, "QF7") == pytest.approx(_area(b23, "QF7"), rel=1e-9)  # unchanged
    # QJG and QM7 split along sub-ICB lines: Essex = QH8 + 06T + 07H
    sub = read_boundaries("sub_icb").to_crs(27700)
    parts = sub.loc[sub["sub_icb_code"].isin(["06T", "07H"])].geometry.area.sum()
    assert _area(b26, "D7T5G") == pytest.approx(_area(b23, "QH8") + parts, rel=2e-3)
    # Frimley split below sub-ICB level: not drawn into any ICB, but kept, with the reason
    assert len(lost) == 1 and lost["icb_code"].isna().all()
    assert "D4U1Y split below sub-ICB level" in lost["not_modelled"].iloc[0]
    assert float(lost.geometry.area.sum()) == pytest.approx(_area(b23, "QNQ"), rel=2e-3)
    # together they cover England as the 42 do (the BSC files differ a little at coasts)
    assert float(b26.geometry.area.sum()) == pytest.approx(float(b23.geometry.area.sum()), rel=2e-3)


def test_choropleth_on_2026_polygons_shows_the_area_not_modelled(b26):
    codes = b26["icb_code"].dropna().tolist()
    frame = pl.DataFrame({"icb_code": codes, "value": [float(i) for i in range(len(codes))]})
    ax = plot.choropleth(frame, "value", boundaries=icb_boundaries("2026"), k=4)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "not modelled: boundary change not drawable (1)" in labels
    assert not any(lab.startswith("no data") for lab in labels)
    with pytest.raises(ValueError, match="no boundary"):
        plot.icb_geodataframe(
            pl.DataFrame({"icb_code": ["QNQ"], "value": [1.0]}), icb_boundaries("2026")
        )


def test_geopackage_replaces_a_link_at_its_path_and_leaves_no_temporary_file(
    report_result, tmp_path
):
    import geopandas as gpd

    from ics_model.geo import write_geopackage

    mine = tmp_path / "mine.txt"
    mine.write_text("a user's own file")
    target = tmp_path / "ics.gpkg"
    target.symlink_to(mine)
    write_geopackage(report_result, target)
    assert mine.read_text() == "a user's own file"  # never written through
    assert not target.is_symlink()
    assert len(gpd.read_file(target, layer="ics")) == 42
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ics.gpkg", "mine.txt"]
