"""GIS export: ICS views, metrics and composite joined to the ICB boundaries (GeoPackage).

One feature per ICB (42, April 2023 boundaries, EPSG:4326), with wide columns:
``<sector>_<column>`` for the Overall rows of the ICS view, one column per ICS metric
(``metric_<name>``), and the composite score and rank when the run has them. QGIS opens
the file directly. Every ICS figure is a modelled construct; the layer's ``note`` column
says so and ``vintages`` lists the data vintages.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import polars as pl

from ics_model.data.geography import read_boundaries
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


def ics_geodataframe(
    result: Result, boundaries: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Return the attributes of :func:`ics_attributes` on the ICB boundaries (42 features)."""
    shapes = boundaries if boundaries is not None else read_boundaries("icb")
    attrs = ics_attributes(result).to_pandas()
    merged = shapes[["icb_gss", "geometry"]].merge(attrs, on="icb_gss", how="inner")
    if len(merged) != len(attrs):
        missing = sorted(set(attrs["icb_gss"].dropna()) - set(shapes["icb_gss"]))
        raise ValueError(f"ICBs without a boundary: {missing}")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=shapes.crs)


def write_geopackage(result: Result, path: str | Path, *, layer: str = "ics") -> Path:
    """Write the ICS layer to a GeoPackage (replacing the file)."""
    path = Path(path)
    gdf = ics_geodataframe(result)
    if path.exists():
        path.unlink()
    gdf.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    return path
