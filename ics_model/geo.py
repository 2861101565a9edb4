"""GIS export and boundaries: ICS views, metrics and composite on the run's ICB polygons.

One feature per ICB with wide columns: ``<sector>_<column>`` for the Overall rows of the
ICS view, one column per ICS metric (``metric_<name>``), and the composite score and rank
when the run has them. QGIS opens the file directly. Every ICS figure is a modelled
construct; the layer's ``note`` column says so and ``vintages`` lists the data vintages.

Boundaries follow the run's ICB vintage (:func:`icb_boundaries`): the 42 ICB polygons of
April 2023, or for April 2026 the dissolved union of the 2023 polygons of each new ICB --
whole 2023 ICBs, and the 2023 sub-ICB polygons of the parts of an ICB that split along
sub-ICB lines. A part no embedded polygon can draw (Frimley, split below sub-ICB level) is
never drawn into an ICB: it is returned as a ``not_modelled`` row with the reason, and
written to its own layer.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import polars as pl

from ics_model.data.build import load_processed
from ics_model.data.geography import read_boundaries
from ics_model.mapping.icb_geography import IcbGeography
from ics_model.result import Result

VIEW_COLUMNS = (
    "n_providers",
    "n_rated",
    "share_outstanding",
    "share_good_or_outstanding",
    "mean_score",
)


def ics_attributes(result: Result) -> pl.DataFrame:
    """One row per ICB: view columns by sector (Overall), metrics wide, composite if any."""
    view = result.views.ics_view.filter(pl.col("key_question") == "Overall")
    out = result.views.icbs.select("icb_code", "icb_gss", "icb_name")
    for sector in view["sector"].cast(pl.String).unique().sort():
        part = view.filter(pl.col("sector").cast(pl.String) == sector).select(
            "icb_code", *[pl.col(c).alias(f"{sector}_{c}") for c in VIEW_COLUMNS]
        )
        out = out.join(part, on="icb_code", how="left")
    metrics = result.metrics.ics_metrics.filter(pl.col("icb_code") != "ENGLAND")
    if metrics.height:
        wide = metrics.select("icb_code", pl.format("metric_{}", "metric").alias("m"), "value")
        out = out.join(
            wide.pivot(on="m", index="icb_code", values="value"), on="icb_code", how="left"
        )
    composite = None if result.composite is None else result.composite.built.scores
    if composite is not None and composite.height:
        cols = [c for c in ("score", "score_0_100", "rank") if c in composite.columns]
        out = out.join(
            composite.select("icb_code", *[pl.col(c).alias(f"composite_{c}") for c in cols]),
            on="icb_code",
            how="left",
        )
    vintages = "; ".join(f"{k}: {v}" for k, v in result.provenance.vintages.items())
    return out.with_columns(
        pl.lit("modelled ICS figures: there are no official ICS ratings").alias("note"),
        pl.lit(vintages).alias("vintages"),
    )


def icb_boundaries(
    vintage: str = "2023", geography: IcbGeography | None = None
) -> gpd.GeoDataFrame:
    """Return the ICB polygons of a vintage, plus the areas it cannot draw.

    Parameters
    ----------
    vintage : ``"2023"`` (the 42 ICB polygons) or ``"2026"``.
    geography : the run's geography; default built from the embedded tables.

    Returns
    -------
    geopandas.GeoDataFrame
        ``icb_code, icb_gss, icb_name, not_modelled, geometry`` (EPSG:4326). One row per
        ICB of the vintage (``not_modelled`` null), then one row per area no embedded
        polygon can place (``icb_code`` null, ``not_modelled`` the reason). For 2026 an
        ICB's polygon is ``dissolve`` of its whole 2023 ICBs' polygons and of the 2023
        sub-ICB polygons of its parts of split ICBs.
    """
    import pandas as pd

    from ics_model.metrics.build import default_geography

    icb = read_boundaries("icb")
    if vintage == "2023" and geography is None:  # the 42 polygons as published
        codes23 = load_processed("icb_codes").select("icb_gss", "icb_code").to_pandas()
        out = icb.merge(codes23, on="icb_gss", how="inner").assign(not_modelled=None)
        return out[["icb_code", "icb_gss", "icb_name", "not_modelled", "geometry"]]
    geo = geography if geography is not None else default_geography(vintage)
    codes = geo.code_map.select("icb_code_2023", "icb_code", "status")
    gss23 = pl.from_pandas(icb[["icb_gss"]]).join(
        load_processed("icb_codes").select("icb_gss", pl.col("icb_code").alias("icb_code_2023")),
        on="icb_gss",
    )
    whole = gss23.join(codes.filter(pl.col("status") != "split"), on="icb_code_2023")
    parts = [
        icb.merge(whole.select("icb_gss", "icb_code").to_pandas(), on="icb_gss")[
            ["icb_code", "geometry"]
        ]
    ]
    cut = geo.sub_icbs.filter(
        pl.col("icb_code_2023").is_in(
            codes.filter(pl.col("status") == "split")["icb_code_2023"].implode()
        )
    )
    empty = gpd.GeoDataFrame(
        {"icb_code_2023": [], "sub_icb_code": [], "not_modelled": []}, geometry=[], crs=icb.crs
    )
    lost = empty
    if cut.height:
        sub = read_boundaries("sub_icb")
        placed = cut.filter(pl.col("icb_code").is_not_null()).select("sub_icb_gss", "icb_code")
        parts.append(sub.merge(placed.to_pandas(), on="sub_icb_gss")[["icb_code", "geometry"]])
        gone = cut.filter(pl.col("icb_code").is_null()).select(
            "sub_icb_gss",
            "icb_code_2023",
            "sub_icb_code",
            pl.format(
                "{} split below sub-ICB level in {}: its parts cannot be drawn from the "
                "embedded polygons (see icb_geography.csv for their population shares)",
                "sub_icb_code",
                pl.lit(f"April {geo.vintage}"),
            ).alias("not_modelled"),
        )
        lost = sub[["sub_icb_gss", "geometry"]].merge(gone.to_pandas(), on="sub_icb_gss")
    shapes = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=icb.crs)
    dissolved = shapes.dissolve(by="icb_code", as_index=False, sort=True)
    named = dissolved.merge(geo.icbs.to_pandas(), on="icb_code", how="inner")
    if len(named) != geo.icbs.height:
        missing = sorted(set(geo.icbs["icb_code"]) - set(named["icb_code"]))
        raise ValueError(f"ICBs of the {vintage} vintage without a polygon: {missing}")
    named["not_modelled"] = None
    lost = lost.assign(icb_code=None, icb_gss=None, icb_name=None)
    cols = ["icb_code", "icb_gss", "icb_name", "not_modelled", "geometry"]
    out = pd.concat([named[cols], lost[cols]], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=icb.crs)


def ics_geodataframe(
    result: Result, boundaries: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Return the attributes of :func:`ics_attributes` on the run's ICB polygons.

    One feature per ICB of the run's vintage (42 for 2023, 36 for April 2026), joined on
    ``icb_code`` (or ``icb_gss`` when ``boundaries`` have no ``icb_code``).
    """
    if boundaries is None:
        boundaries = icb_boundaries(result.config.mapping.icb_vintage)
    shapes = boundaries
    if "not_modelled" in shapes.columns:
        shapes = shapes[shapes["not_modelled"].isna()]
    key = "icb_code" if "icb_code" in shapes.columns else "icb_gss"
    attrs = ics_attributes(result).to_pandas()
    merged = shapes[[key, "geometry"]].merge(attrs, on=key, how="inner")
    if len(merged) != len(attrs):
        missing = sorted(set(attrs[key].dropna()) - set(shapes[key]))
        raise ValueError(f"ICBs without a boundary: {missing}")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=shapes.crs)


def write_geopackage(result: Result, path: str | Path, *, layer: str = "ics") -> Path:
    """Write the ICS layer to a GeoPackage (replacing the file, or a link there, by rename).

    Areas the run's ICB vintage cannot draw (see :func:`icb_boundaries`) go to a second
    layer, ``not_modelled``, with the reason.
    """
    path = Path(path)
    boundaries = icb_boundaries(result.config.mapping.icb_vintage)
    gdf = ics_geodataframe(result, boundaries)
    lost = boundaries[boundaries["not_modelled"].notna()]
    # written beside the target under a new name, then renamed into place: a link at
    # the target is replaced, never written through, and a failed write leaves nothing
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".gpkg", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.unlink()  # the driver creates the file
        gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
        if len(lost):
            lost[["not_modelled", "geometry"]].to_file(
                tmp, layer="not_modelled", driver="GPKG", engine="pyogrio"
            )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
