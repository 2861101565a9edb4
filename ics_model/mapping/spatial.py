"""Place locations in ICBs by their coordinates, with the local authority as a check.

A location's latitude and longitude (WGS84) give a point; the point is placed in the
ICB polygon it lies in (``mapping_method = icb_polygon``). The embedded ICB boundaries
are super-generalised (BSC, 200 m) and clipped to the coastline, so a location on the
coast may fall just outside every polygon: it is placed in the nearest polygon when
that is at most ``max_distance_m`` metres away, measured on the British National Grid
(EPSG:27700), and marked ``icb_polygon_nearest``. Nothing else is guessed: a point with
no coordinates, a point farther than that from every ICB (outside England, or wrong
coordinates), a point inside two polygons or equally near two, is unmapped with the
reason.

The local authority of each location is then checked against the ICBs its 2019
districts lie in (from the embedded LSOA 2011 -> LAD 2019 and LSOA 2011 -> ICB 2023
lookups, :func:`la_icb_lookup`). A disagreement does not move the location -- the
coordinates decide -- but every location's check is reported
(:data:`PLACEMENT_CHECKS`). Upper-tier county councils (Kent, Surrey, ...) and unitary
authorities created after 2019 (Buckinghamshire, Cumberland, North Yorkshire, ...) are
not 2019 districts, so their locations are ``la_not_in_lookup``: the embedded data
hold no district -> county lookup.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import numpy as np
import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.mapping.base import (
    ACCOUNT_SCHEMA,
    UNIT_ROWS_SCHEMA,
    UNMAPPED_SCHEMA,
    Placed,
    day_precision_columns,
    file_inherited,
    finish,
    own_rating_columns,
)
from ics_model.mapping.successors import place_by_icb
from ics_model.ratings import SECTORS, SectorEnum

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

log = logging.getLogger(__name__)

#: the projected CRS distances are measured in (British National Grid, metres).
DISTANCE_CRS: Final = 27700
#: how a point was located: in a polygon, in the nearest one, or not at all (and why).
POINT_OUTCOMES: Final = ("within", "nearest", "ambiguous", "too_far", "no_coordinates")
#: the local-authority check of a location.
LA_CHECKS: Final = ("agrees", "disagrees", "la_not_in_lookup", "no_local_authority", "not_placed")
_METHOD: Final = {"within": "icb_polygon", "nearest": "icb_polygon_nearest"}
#: two polygons within a millimetre of the same distance are equally near (a tie).
TIE_M: Final = 1e-3

PLACEMENT_CHECKS: Final = Contract.closed(
    "placement_checks",
    (
        Column.text("source", "input source the locations came from"),
        Column.text("sector", "sector of the location", allowed=frozenset(SECTORS)),
        Column.text("provider_id", "CQC location ID (or 'row <n>' when the record has none)"),
        Column.text("provider_name", "location name", nullable=True),
        Column.number("latitude", "WGS84 latitude as given", min_value=-90, max_value=90),
        Column.number("longitude", "WGS84 longitude as given", min_value=-180, max_value=180),
        Column.text("local_authority", "local authority as given", nullable=True),
        Column.text(
            "point_outcome",
            "within (an ICB polygon), nearest (placed in the nearest polygon within "
            "mapping.nearest_icb_within_m), ambiguous (in or nearest to several), too_far, "
            "no_coordinates",
            allowed=frozenset(POINT_OUTCOMES),
        ),
        Column.number(
            "distance_m",
            "metres from the point to the nearest ICB polygon (EPSG:27700); 0 when within; "
            "null without coordinates",
            min_value=0,
        ),
        Column.text(
            "icb_code_2023",
            "ICB (April 2023 ODS code) the point was placed in; null when not placed",
            nullable=True,
        ),
        Column.text(
            "la_icb_codes",
            "April 2023 ICBs the local authority's 2019 districts lie in, sorted, "
            "';'-separated; null when the local authority is not a 2019 district",
            nullable=True,
        ),
        Column.number(
            "la_icb_distance_m",
            "for a disagreement: metres from the point to the nearest polygon of the local "
            "authority's ICBs (a few hundred metres points to the generalised boundary rather "
            "than the location); null otherwise",
            min_value=0,
        ),
        Column.text(
            "la_check",
            "agrees (the point's ICB is one of la_icb_codes), disagrees, la_not_in_lookup "
            "(a county or post-2019 authority: not checked), no_local_authority, not_placed",
            allowed=frozenset(LA_CHECKS),
        ),
    ),
    key=("source", "provider_id"),
    description="One row per location placed by coordinates: how its point was placed and "
    "whether its local authority agrees with the ICB.",
)


# --------------------------------------------------------------------------- points


def locate_points(
    points: pl.DataFrame,
    polygons: gpd.GeoDataFrame,
    *,
    max_distance_m: float,
    key: str = "icb_gss",
) -> pl.DataFrame:
    """Find the polygon each point lies in, or the nearest one within ``max_distance_m``.

    Parameters
    ----------
    points : ``id`` (String, unique), ``latitude`` and ``longitude`` (WGS84 degrees; null
        or out of range = no coordinates).
    polygons : a GeoDataFrame with a CRS and a ``key`` column (e.g. ICB boundaries from
        :func:`ics_model.data.geography.read_boundaries`).
    max_distance_m : how far outside every polygon a point may lie and still be placed
        in the nearest one, in metres on EPSG:27700 (0 = only points inside a polygon).
    key : the polygons' identifier column.

    Returns
    -------
    pl.DataFrame
        One row per point, in ``points``' order: ``id``, ``key`` (null unless placed),
        ``point_outcome`` (:data:`POINT_OUTCOMES`), ``distance_m`` (0 when within; null
        without coordinates) and ``note`` (why a point was not placed).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> squares = gpd.GeoDataFrame(
    ...     {"icb_gss": ["W", "E"]}, geometry=[box(-2, 52, -1, 53), box(-1, 52, 0, 53)], crs=4326
    ... )
    >>> pts = pl.DataFrame(
    ...     {"id": ["a", "b", "c"], "latitude": [52.5, 52.5, None], "longitude": [-1.5, -2.003, 0]}
    ... )
    >>> out = locate_points(pts, squares, max_distance_m=500)
    >>> out.select("id", "icb_gss", "point_outcome").rows()
    [('a', 'W', 'within'), ('b', 'W', 'nearest'), ('c', None, 'no_coordinates')]
    >>> 150 < out["distance_m"][1] < 300  # 0.003 degrees of longitude at 52.5 N
    True
    """
    import geopandas as gpd

    lat, lon = pl.col("latitude").cast(pl.Float64), pl.col("longitude").cast(pl.Float64)
    valid = (
        lat.is_not_null()
        & lon.is_not_null()
        & lat.is_finite()
        & lon.is_finite()
        & lat.is_between(-90, 90)
        & lon.is_between(-180, 180)
    )
    frame = points.select("id", lat.alias("lat"), lon.alias("lon"), valid.alias("valid"))
    n = frame.height
    tree_keys = np.asarray(polygons[key].astype(str))
    found: list[str | None] = [None] * n
    outcome = ["no_coordinates"] * n
    distance: list[float | None] = [None] * n
    note: list[str | None] = ["no coordinates (latitude and longitude are needed)"] * n
    rows = np.flatnonzero(frame["valid"].to_numpy())
    if rows.size:
        pts = gpd.GeoSeries(
            gpd.points_from_xy(frame["lon"].to_numpy()[rows], frame["lat"].to_numpy()[rows]),
            crs=4326,
        ).to_crs(DISTANCE_CRS)
        shapes = polygons.geometry.to_crs(DISTANCE_CRS).reset_index(drop=True)
        inside, tree = shapes.sindex.query(pts.values, predicate="within")
        hits: dict[int, list[int]] = {}
        for i, t in zip(inside.tolist(), tree.tolist(), strict=True):
            hits.setdefault(i, []).append(t)
        outside = np.array([i for i in range(rows.size) if i not in hits], dtype=np.int64)
        near: dict[int, tuple[float, list[int]]] = {}
        if outside.size:
            (idx, tidx), dist = shapes.sindex.nearest(
                pts.values[outside], return_all=True, return_distance=True
            )
            for i, t, d in zip(idx.tolist(), tidx.tolist(), dist.tolist(), strict=True):
                best = near.get(int(outside[i]))
                if best is None or d < best[0] - TIE_M:
                    near[int(outside[i])] = (d, [t])
                elif d <= best[0] + TIE_M:
                    best[1].append(t)
        for i, r in enumerate(rows.tolist()):
            if i in hits:
                keys = sorted({str(tree_keys[t]) for t in hits[i]})
                distance[r] = 0.0
                if len(keys) == 1:
                    found[r], outcome[r], note[r] = keys[0], "within", None
                else:
                    outcome[r] = "ambiguous"
                    note[r] = f"the point lies in several polygons ({', '.join(keys)}): not guessed"
                continue
            d, ts = near[i]
            keys = sorted({str(tree_keys[t]) for t in ts})
            distance[r] = float(d)
            if len(keys) > 1:
                outcome[r] = "ambiguous"
                note[r] = (
                    f"the point is equally near several polygons ({', '.join(keys)}, "
                    f"{d:.0f} m): not guessed"
                )
            elif d <= max_distance_m:
                found[r], outcome[r], note[r] = keys[0], "nearest", None
            else:
                outcome[r] = "too_far"
                note[r] = (
                    f"the point lies outside every polygon, {d:,.0f} m from the nearest "
                    f"({keys[0]}), farther than {max_distance_m:,.0f} m "
                    "(mapping.nearest_icb_within_m): outside England or wrong coordinates"
                )
    return pl.DataFrame(
        {
            "id": frame["id"],
            key: found,
            "point_outcome": outcome,
            "distance_m": distance,
            "note": note,
        },
        schema={
            "id": pl.String,
            key: pl.String,
            "point_outcome": pl.String,
            "distance_m": pl.Float64,
            "note": pl.String,
        },
    )


# --------------------------------------------------------------------------- local authorities


def _la_key(column: str) -> pl.Expr:
    """Match key of a local authority name: lower case, '&' as 'and', single spaces."""
    return (
        pl.col(column)
        .cast(pl.String)
        .str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[^a-z0-9,]+", " ")
        .str.strip_chars()
    )


def la_icb_lookup(
    lsoa_lad: pl.DataFrame, lsoa_icb: pl.DataFrame, icb_codes: pl.DataFrame
) -> pl.DataFrame:
    """Return the April 2023 ICBs each 2019 local authority district lies in.

    Parameters
    ----------
    lsoa_lad : ``lsoa11_code, lad19_name`` (the IoD2019 file's LSOA -> district columns).
    lsoa_icb : ``lsoa11_code, icb_gss`` (the LSOA 2011 -> ICB April 2023 lookup).
    icb_codes : ``icb_gss, icb_code`` (the 42 ICBs).

    Returns
    -------
    pl.DataFrame
        ``la_key`` (the district name's match key), ``local_authority`` (the name),
        ``la_icb_codes`` (the ICB codes its LSOAs lie in, sorted, ';'-separated),
        ``n_lsoas``. Most districts lie in one ICB; a few lie in two (e.g. Craven,
        Waverley).

    Examples
    --------
    >>> lad = pl.DataFrame({"lsoa11_code": ["a", "b", "c"], "lad19_name": ["X", "X", "Y"]})
    >>> icb = pl.DataFrame({"lsoa11_code": ["a", "b", "c"], "icb_gss": ["E1", "E2", "E2"]})
    >>> codes = pl.DataFrame({"icb_gss": ["E1", "E2"], "icb_code": ["Q1", "Q2"]})
    >>> la_icb_lookup(lad, icb, codes).select("local_authority", "la_icb_codes").rows()
    [('X', 'Q1;Q2'), ('Y', 'Q2')]
    """
    return (
        lsoa_lad.select("lsoa11_code", "lad19_name")
        .join(lsoa_icb.select("lsoa11_code", "icb_gss"), on="lsoa11_code", how="inner")
        .join(icb_codes.select("icb_gss", "icb_code"), on="icb_gss", how="inner")
        .group_by("lad19_name")
        .agg(
            pl.col("icb_code").unique().sort().str.join(";").alias("la_icb_codes"),
            pl.len().cast(pl.Int64).alias("n_lsoas"),
        )
        .select(
            _la_key("lad19_name").alias("la_key"),
            pl.col("lad19_name").alias("local_authority"),
            "la_icb_codes",
            "n_lsoas",
        )
        .sort("local_authority")
    )


def check_local_authority(frame: pl.DataFrame, lookup: pl.DataFrame) -> pl.DataFrame:
    """Add ``la_icb_codes`` and ``la_check`` (:data:`LA_CHECKS`) to placed locations.

    ``frame`` has ``local_authority`` and ``icb_code_2023`` (null when not placed);
    ``lookup`` is :func:`la_icb_lookup`'s frame. A location agrees when its ICB is one
    of the ICBs its local authority's districts lie in.
    """
    table = lookup.select("la_key", "la_icb_codes").unique("la_key")
    out = frame.with_columns(_la_key("local_authority").alias("la_key")).join(
        table, on="la_key", how="left"
    )
    agrees = pl.col("la_icb_codes").str.split(";").list.contains(pl.col("icb_code_2023"))
    return out.with_columns(
        pl.when(pl.col("icb_code_2023").is_null())
        .then(pl.lit("not_placed"))
        .when(pl.col("la_key").fill_null("") == "")
        .then(pl.lit("no_local_authority"))
        .when(pl.col("la_icb_codes").is_null())
        .then(pl.lit("la_not_in_lookup"))
        .when(agrees)
        .then(pl.lit("agrees"))
        .otherwise(pl.lit("disagrees"))
        .alias("la_check")
    ).drop("la_key")


def distance_to_keys(
    frame: pl.DataFrame, polygons: gpd.GeoDataFrame, *, keys: str, key: str = "icb_gss"
) -> pl.Series:
    """Metres (EPSG:27700) from each point to the nearest of the polygons ``keys`` names.

    ``frame`` has ``latitude``, ``longitude`` and ``keys`` (polygon keys, ';'-separated);
    a row without coordinates, or naming no known polygon, gives null.
    """
    import geopandas as gpd

    shapes = polygons.to_crs(DISTANCE_CRS)
    by_key = dict(zip(shapes[key].astype(str), shapes.geometry, strict=True))
    out: list[float | None] = []
    for lat, lon, names in frame.select("latitude", "longitude", keys).iter_rows():
        geoms = [by_key[k] for k in (names or "").split(";") if k in by_key]
        if lat is None or lon is None or not geoms:
            out.append(None)
            continue
        point = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs=4326).to_crs(DISTANCE_CRS)
        out.append(float(min(point.iloc[0].distance(g) for g in geoms)))
    return pl.Series("distance_m", out, dtype=pl.Float64)


# --------------------------------------------------------------------------- the placer


def place_by_coordinates(
    ratings: pl.DataFrame,
    polygons: gpd.GeoDataFrame,
    icb_codes: pl.DataFrame,
    la_lookup: pl.DataFrame,
    *,
    sector: str,
    source: str,
    successors: pl.DataFrame | None = None,
    icb_vintage: str = "2023",
    max_distance_m: float = 500.0,
) -> Placed:
    """Place CQC location records in ICSs by their coordinates.

    Parameters
    ----------
    ratings : a :func:`~ics_model.data.cqc_api.read_cqc_api` frame: one row per record x
        service x key question, with ``latitude``, ``longitude`` and
        ``location_local_authority``. The sector's unit is the location and its rating
        the Overall rating of the record (service and key-question rows are not used).
    polygons : the April 2023 ICB boundaries (``icb_gss``, geometry).
    icb_codes : the 42 ICBs (``icb_code, icb_gss, icb_name``).
    la_lookup : :func:`la_icb_lookup`'s frame (the local-authority check).
    sector, source : the sector name and the source's name in the conservation report.
    successors, icb_vintage : map the 2023 ICB forward (``"2026"``: through ODS
        successors; an ICB that split is reported, never guessed).
    max_distance_m : the nearest-polygon fallback (see :func:`locate_points`).

    Returns
    -------
    Placed
        ``ratings`` one row per placed location (Overall); ``unmapped`` every record not
        placed, with the reason; ``accounts`` records used / unmapped; ``checks`` one row
        per location record (:data:`PLACEMENT_CHECKS`).
    """
    overall = (pl.col("service") == "Overall") & (pl.col("key_question") == "Overall")
    rec = ratings.filter(overall).with_columns(
        pl.coalesce(
            pl.when(pl.col("level") == "location").then(pl.col("location_id")),
            pl.concat_str(pl.lit("row "), pl.col("source_row").cast(pl.String)),
        ).alias("unit"),
        pl.coalesce(pl.col("location_name"), pl.col("provider_name")).alias("unit_name"),
    )
    is_loc = (pl.col("level") == "location") & pl.col("location_id").is_not_null()
    points = rec.select(
        pl.col("unit").alias("id"),
        pl.when(is_loc).then(pl.col("latitude")).alias("latitude"),
        pl.when(is_loc).then(pl.col("longitude")).alias("longitude"),
    )
    located = locate_points(points, polygons, max_distance_m=max_distance_m)
    by_gss = icb_codes.select("icb_gss", pl.col("icb_code").alias("icb_code_2023"))
    df = (
        pl.concat([rec, located.drop("id")], how="horizontal")
        .join(by_gss, on="icb_gss", how="left")
        .drop("icb_gss")
        .with_columns(
            pl.when(~is_loc)
            .then(pl.lit("a provider record: this sector's units are locations"))
            .when(pl.col("note").is_null() & pl.col("icb_code_2023").is_null())
            .then(pl.lit("the polygon's ICB GSS code is not in the ICB code list"))
            .otherwise(pl.col("note"))
            .alias("note"),
            pl.when(is_loc).then(pl.col("icb_code_2023")).alias("icb_code"),
        )
        .drop("icb_code_2023")
    )
    df = place_by_icb(df, icb_codes, successors, icb_vintage).with_columns(
        pl.coalesce("note", "lost_reason").alias("reason")
    )
    checks = check_local_authority(
        df.select(
            pl.lit(source).alias("source"),
            pl.lit(sector).alias("sector"),
            pl.col("unit").alias("provider_id"),
            pl.col("unit_name").alias("provider_name"),
            "latitude",
            "longitude",
            pl.col("location_local_authority").alias("local_authority"),
            "point_outcome",
            "distance_m",
            pl.when(pl.col("note").is_null()).then(pl.col("icb_code_2023")).alias("icb_code_2023"),
        ),
        la_lookup,
    )
    checks = _with_la_distance(checks, polygons, icb_codes)
    good = df.filter(pl.col("reason").is_null())
    bad = df.filter(pl.col("reason").is_not_null())
    unmapped = bad.select(
        pl.lit(source).alias("source"),
        pl.lit(sector).alias("sector"),
        pl.col("unit").alias("provider_id"),
        pl.lit(1, pl.Int64).alias("n_rows"),
        "reason",
    )
    inherited = file_inherited()
    out = good.select(
        pl.lit(sector).cast(SectorEnum).alias("sector"),
        pl.col("unit").alias("provider_id"),
        pl.col("unit_name").alias("provider_name"),
        "key_question",
        "rating",
        "rating_status",
        "publication_date",
        *day_precision_columns(),
        "icb_code",
        "icb_gss",
        "icb_name",
        pl.col("point_outcome").replace_strict(_METHOD).alias("mapping_method"),
        *own_rating_columns(),
        "inherited",
        "rating_organisation_id",
    ).with_columns(
        pl.when(inherited)
        .then(pl.lit("inherited"))
        .otherwise(pl.col("rating_source"))
        .alias("rating_source"),
        pl.when(inherited).then(pl.col("rating_organisation_id")).alias("inherited_from"),
    )
    accounts = pl.DataFrame(
        {
            "source": [source] * 2,
            "outcome": ["used", "unmapped"],
            "n_rows": [good.height, bad.height],
        }
    )
    unit_rows = good.select(
        pl.col("unit").alias("provider_id"),
        pl.lit("used").alias("outcome"),
        pl.lit(1).alias("n_rows"),
    )
    log.info(
        "%s: %d location(s) placed by coordinates (%d in the nearest polygon), %d unmapped",
        source,
        good.height,
        good.filter(pl.col("point_outcome") == "nearest").height,
        bad.height,
    )
    return Placed(
        finish(out.drop("inherited", "rating_organisation_id")),
        unmapped.cast(UNMAPPED_SCHEMA).sort("provider_id"),
        accounts.cast(ACCOUNT_SCHEMA),
        unit_rows=unit_rows.cast(UNIT_ROWS_SCHEMA),
        checks=validate(
            checks.select(PLACEMENT_CHECKS.column_names).sort("provider_id"), PLACEMENT_CHECKS
        ).frame,
    )


def _with_la_distance(
    checks: pl.DataFrame, polygons: gpd.GeoDataFrame, icb_codes: pl.DataFrame
) -> pl.DataFrame:
    """Add ``la_icb_distance_m`` to the disagreeing rows of the checks."""
    gss = dict(zip(icb_codes["icb_code"], icb_codes["icb_gss"], strict=True))
    off = checks.filter(pl.col("la_check") == "disagrees").with_columns(
        pl.col("la_icb_codes")
        .str.split(";")
        .list.eval(pl.element().replace_strict(gss, default=None))
        .list.drop_nulls()
        .list.join(";")
        .alias("_gss")
    )
    dist = off.select(
        "provider_id", distance_to_keys(off, polygons, keys="_gss").alias("la_icb_distance_m")
    )
    return checks.join(dist, on="provider_id", how="left")
