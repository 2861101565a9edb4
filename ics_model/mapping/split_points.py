"""Place located records of the ICBs that split in April 2026, where the data allow.

Records placed by coordinates (:func:`ics_model.mapping.spatial.place_by_coordinates`)
fall in a 2023 ICB; a 2023 ICB that split has no single April 2026 ICB, so they are
reported unmapped. :func:`place_split_points` places them again, one level down:

1. the point in a 2023 **sub-ICB polygon** whose April 2026 ICB the crosswalk gives (the
   parts of Suffolk and North East Essex, and of Hertfordshire and West Essex);
2. else, for a sub-ICB that split below its level (Frimley's D4U1Y), the record's **local
   authority** when it names a district of the crosswalk, or a county all of whose
   districts in that 2023 ICB went to one April 2026 ICB.

What neither places stays unmapped, its reason saying why. Placed records keep their
``mapping_method`` (``icb_polygon``: the point is in the April 2026 ICB's polygon, dissolved
from its 2023 parts) or take ``local_authority``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Final

import polars as pl

from ics_model.mapping.base import Placed, finish
from ics_model.mapping.icb_geography import IcbGeography
from ics_model.mapping.spatial import locate_points

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

#: the reason :func:`~ics_model.mapping.successors.place_by_icb` gives a split ICB.
SPLIT_REASON: Final = "has no single ICB in the"


def _norm(name: str | None) -> str:
    """Compare district names by letters only (``"Windsor & Maidenhead"`` = ``"... and ..."``)."""
    text = (name or "").lower().replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def district_icbs(geography: IcbGeography) -> dict[tuple[str, str], str]:
    """(2023 ICB, normalised district or county name) -> its one April 2026 ICB.

    A county counts only when every district of the ICB in it went to the same ICB (the
    Surrey districts of Frimley all went to Surrey and Sussex).

    Examples
    --------
    >>> from ics_model.mapping.icb_geography import IcbGeography
    >>> d = pl.DataFrame({"icb_code_2023": ["QCC"] * 3, "lad19_code": ["L1", "L2", "L3"],
    ...     "name": ["Hart", "Rushmoor", "Slough"], "county": ["Hampshire", "Hampshire", None],
    ...     "icb_code_2026": ["QRL", "QRL", "S0E4D"]})
    >>> geo = IcbGeography("2026", *[pl.DataFrame()] * 8, districts=d)
    >>> sorted(district_icbs(geo).items())[:2]
    [(('QCC', 'hampshire'), 'QRL'), (('QCC', 'hart'), 'QRL')]
    """
    d = geography.districts
    if d.is_empty():
        return {}
    out: dict[tuple[str, str], str] = {}
    for col in ("county", "name"):
        parts = d.select("icb_code_2023", pl.col(col).alias("n"), "icb_code_2026").drop_nulls()
        one = parts.unique().filter(pl.len().over("icb_code_2023", "n") == 1)
        out |= {(a, _norm(n)): c for a, n, c in one.iter_rows()}
    return out


def place_split_points(
    placed: Placed,
    records: pl.DataFrame,
    geography: IcbGeography,
    sub_icb_polygons: gpd.GeoDataFrame,
    replace_in_2023: Callable[[pl.DataFrame], Placed],
    *,
    max_distance_m: float = 500.0,
) -> Placed:
    """Place again the located records that a split 2023 ICB left unmapped.

    Parameters
    ----------
    placed : the sector placed in the run's vintage (records of split ICBs unmapped).
    records : the loaded frame (``location_id``, ``latitude``, ``longitude``,
        ``location_local_authority``, one or more rows per record).
    geography : the run's ICB geography (its ``sub_icbs`` and ``lsoas``).
    sub_icb_polygons : the April 2023 sub-ICB boundaries (``sub_icb_gss``, geometry).
    replace_in_2023 : places a subset of ``records`` in the 2023 ICBs (the same placer
        with ``icb_vintage="2023"``): it gives their mapped rows, whose ICB is then set.
    max_distance_m : the nearest-polygon fallback, as for the first placement.

    Returns
    -------
    Placed
        ``placed`` with the records placed here moved from ``unmapped`` to ``ratings``
        (accounts and unit rows moved alike); the rest keep their reason, with what was
        tried appended.
    """
    lost = placed.unmapped.filter(pl.col("reason").str.contains(SPLIT_REASON, literal=True))
    if lost.is_empty() or geography.vintage == "2023":
        return placed
    ids = lost["provider_id"].unique().to_list()
    rec = (
        records.filter(pl.col("location_id").is_in(ids))
        .group_by("location_id", maintain_order=True)
        .agg(pl.col("latitude", "longitude", "location_local_authority").first())
    )
    cut = geography.sub_icbs.filter(pl.col("icb_code_2023").is_in(lost_icbs(lost)))
    polygons = sub_icb_polygons[sub_icb_polygons["sub_icb_gss"].isin(cut["sub_icb_gss"].to_list())]
    found = locate_points(
        rec.select(pl.col("location_id").alias("id"), "latitude", "longitude"),
        polygons,
        max_distance_m=max_distance_m,
        key="sub_icb_gss",
    )
    by_district = district_icbs(geography)
    sub = cut.select("sub_icb_gss", "icb_code_2023", pl.col("icb_code").alias("_sub_icb"))
    j = pl.concat([rec, found.drop("id")], how="horizontal").join(sub, on="sub_icb_gss", how="left")
    rows = []
    for lid, la, icb23, sub_icb in j.select(
        "location_id", "location_local_authority", "icb_code_2023", "_sub_icb"
    ).iter_rows():
        by_la = by_district.get((icb23, _norm(la))) if icb23 else None
        if sub_icb is not None:
            rows.append((lid, sub_icb, "icb_polygon", None))
        elif by_la is not None:
            rows.append((lid, by_la, "local_authority", None))
        else:
            why = (
                f"its sub-ICB polygon is split below sub-ICB level and its local authority "
                f"({la or 'none'}) names no district or county of the crosswalk"
                if icb23
                else "its point is in no sub-ICB polygon of the split ICBs"
            )
            rows.append((lid, None, None, why))
    decided = pl.DataFrame(
        rows,
        schema={
            "provider_id": pl.String,
            "icb_code": pl.String,
            "how": pl.String,
            "why": pl.String,
        },
        orient="row",
    )
    moved = decided.filter(pl.col("icb_code").is_not_null())
    if moved.is_empty():
        return replace(placed, unmapped=_with_why(placed.unmapped, decided))
    again = replace_in_2023(
        records.filter(pl.col("location_id").is_in(moved["provider_id"].to_list()))
    )
    names = geography.icbs.select("icb_code", "icb_gss", "icb_name")
    new = (
        again.ratings.drop("icb_code", "icb_gss", "icb_name")
        .join(moved.select("provider_id", "icb_code", "how"), on="provider_id", how="inner")
        .join(names, on="icb_code", how="left")
        .with_columns(
            pl.when(pl.col("how") == "local_authority")
            .then(pl.lit("local_authority"))
            .otherwise(pl.col("mapping_method"))
            .alias("mapping_method")
        )
        .select(placed.ratings.columns)
    )
    done = set(new["provider_id"])
    n = len(done)
    accounts = placed.accounts.with_columns(
        pl.when(pl.col("outcome") == "used")
        .then(pl.col("n_rows") + n)
        .when(pl.col("outcome") == "unmapped")
        .then(pl.col("n_rows") - n)
        .otherwise(pl.col("n_rows"))
        .alias("n_rows")
    )
    unit_rows = again.unit_rows.filter(pl.col("provider_id").is_in(sorted(done)))
    return replace(
        placed,
        ratings=finish(pl.concat([placed.ratings, new], how="vertical_relaxed")),
        unmapped=_with_why(
            placed.unmapped.filter(~pl.col("provider_id").is_in(sorted(done))), decided
        ),
        accounts=accounts,
        unit_rows=pl.concat([placed.unit_rows, unit_rows.select(placed.unit_rows.columns)]),
    )


def lost_icbs(lost: pl.DataFrame) -> list[str]:
    """Return the 2023 ICB codes named in split reasons (``host ICB QJG has no single ICB ...``)."""
    codes = lost["reason"].str.extract(r"host ICB (Q[A-Z0-9]{2}) ", 1).drop_nulls().unique()
    return sorted(codes.to_list())


def _with_why(unmapped: pl.DataFrame, decided: pl.DataFrame) -> pl.DataFrame:
    """Append what was tried to the reason of each record still unmapped."""
    why = decided.filter(pl.col("why").is_not_null()).select("provider_id", "why")
    return (
        unmapped.join(why, on="provider_id", how="left")
        .with_columns(
            pl.when(pl.col("why").is_not_null())
            .then(pl.concat_str("reason", pl.lit("; placed again by sub-ICB: "), "why"))
            .otherwise(pl.col("reason"))
            .alias("reason")
        )
        .drop("why")
    )


__all__ = ["SPLIT_REASON", "district_icbs", "lost_icbs", "place_split_points"]
