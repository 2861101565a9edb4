"""Trust type of every placed NHS trust: acute, specialist, mental health, community, ambulance.

CQC classes each provider under a primary inspection category (the ratings file's
"Provider Primary Inspection Category"); :data:`~ics_model.ratings.TRUST_TYPE_BY_CATEGORY`
maps it to a trust type. A ratings file that lacks the column (the embedded 2018 file was
trimmed to six columns) leaves the type to other sources, tried in this order, each
named in ``trust_type_basis``:

1. ``inspection category``: the category of the rating's provider (the trust itself, or
   the predecessor whose rating it inherits);
2. ``NHS England subtype``: NHS England's classification of the current trust (NHS
   Oversight Framework trust profiles);
3. ``ambulance areas``: the trust serves sub-ICB locations in the ambulance service areas
   crosswalk;
4. ``core services``: the rating's provider-level core services (CQC rates NHS trusts'
   core services under a mental health, community or ambulance framework); mental health
   when at least ``min_framework_services`` of them are mental health core services and
   they outnumber the community ones, ambulance likewise (acute core services are rated
   per hospital, so they never appear here and this step never says acute);
5. otherwise ``unknown``, with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import polars as pl

from ics_model.ratings import (
    CORE_SERVICE_FRAMEWORK,
    TRUST_TYPE_BY_CATEGORY,
    TRUST_TYPE_BY_NHS_SUBTYPE,
)

log = logging.getLogger(__name__)

_CATEGORY = "provider_primary_inspection_category"


def _norm(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.replace_all(r"\s+", " ").str.to_lowercase()


def _categories(ratings: pl.DataFrame) -> pl.DataFrame:
    """Return each rated provider's inspection category (its latest row's, if several)."""
    if _CATEGORY not in ratings.columns:
        return pl.DataFrame(schema={"rated_as": pl.String, "_category": pl.String})
    return (
        ratings.filter(pl.col(_CATEGORY).is_not_null())
        .sort("publication_date", nulls_last=False)
        .group_by("provider_id")
        .agg(pl.col(_CATEGORY).last().alias("_category"))
        .rename({"provider_id": "rated_as"})
    )


def _core_services(ratings: pl.DataFrame) -> pl.DataFrame:
    """Count each rated provider's distinct core services by CQC inspection framework."""
    services = (
        ratings.filter(pl.col("service") != "Overall")
        .select("provider_id", "service")
        .unique()
        .with_columns(
            _norm("service")
            .replace_strict(CORE_SERVICE_FRAMEWORK, default="other", return_dtype=pl.String)
            .alias("_framework")
        )
    )
    return (
        services.group_by("provider_id")
        .agg(
            pl.len().cast(pl.Int64).alias("_n_cs"),
            *(
                (pl.col("_framework") == f).sum().cast(pl.Int64).alias(f"_n_{f}")
                for f in sorted(set(CORE_SERVICE_FRAMEWORK.values()))
            ),
        )
        .rename({"provider_id": "rated_as"})
    )


def classify_trusts(
    units: pl.DataFrame,
    ratings: pl.DataFrame,
    *,
    nhs_types: pl.DataFrame | None = None,
    ambulance_trusts: Collection[str] = (),
    min_framework_services: int = 3,
) -> pl.DataFrame:
    """Give every placed trust a trust type and the basis for it.

    Parameters
    ----------
    units : one row per placed trust: ``provider_id`` and ``rated_as`` (the provider
        whose rows of ``ratings`` its rating comes from: itself, or the one predecessor it
        inherits from; null when it is unrated or its rating combines several).
    ratings : the canonical CQC ratings frame (``provider_id``, ``service``,
        ``publication_date`` and, when the file has it,
        ``provider_primary_inspection_category``).
    nhs_types : NHS England's classification (``org_code``, ``nhs_trust_subtype``, lower
        case), or None.
    ambulance_trusts : codes of the trusts in the ambulance service areas crosswalk.
    min_framework_services : core services of one framework needed to type a trust by its
        core services (see the module docstring).

    Returns
    -------
    pl.DataFrame
        ``provider_id``, ``trust_type`` (:data:`~ics_model.ratings.TRUST_TYPES`) and
        ``trust_type_basis`` (``"<source>: <evidence>"``, or ``"unknown: <reason>"``).

    Examples
    --------
    >>> units = pl.DataFrame({"provider_id": ["A", "B", "C"], "rated_as": ["A", "X", None]})
    >>> ratings = pl.DataFrame(
    ...     {
    ...         "provider_id": ["A", "X"],
    ...         "service": ["Overall", "Overall"],
    ...         "publication_date": [None, None],
    ...         "provider_primary_inspection_category": ["Ambulance service", None],
    ...     }
    ... )
    >>> out = classify_trusts(units, ratings)
    >>> out["trust_type"].to_list()
    ['ambulance', 'unknown', 'unknown']
    >>> out["trust_type_basis"][0]
    "inspection category: 'Ambulance service'"
    """
    nhs = (
        nhs_types.filter(pl.col("nhs_trust_subtype").is_not_null()).select(
            pl.col("org_code").alias("provider_id"), "nhs_trust_subtype"
        )
        if nhs_types is not None
        else pl.DataFrame(schema={"provider_id": pl.String, "nhs_trust_subtype": pl.String})
    )
    work = (
        units.select("provider_id", pl.col("rated_as").cast(pl.String))
        .join(_categories(ratings), on="rated_as", how="left")
        .join(_core_services(ratings), on="rated_as", how="left")
        .join(nhs, on="provider_id", how="left")
        .with_columns(
            _norm("_category")
            .replace_strict(TRUST_TYPE_BY_CATEGORY, default=None, return_dtype=pl.String)
            .alias("_by_category"),
            pl.col("nhs_trust_subtype")
            .replace_strict(TRUST_TYPE_BY_NHS_SUBTYPE, default=None, return_dtype=pl.String)
            .alias("_by_nhs"),
            pl.col("provider_id").is_in(sorted(ambulance_trusts)).alias("_in_areas"),
            pl.col("^_n_.*$").fill_null(0),
        )
    )
    of = (
        pl.when(pl.col("rated_as") != pl.col("provider_id"))
        .then(
            pl.concat_str(pl.lit(" (of "), pl.col("rated_as"), pl.lit(", whose rating it holds)"))
        )
        .otherwise(pl.lit(""))
    )
    mh, comm, amb = pl.col("_n_mental_health"), pl.col("_n_community"), pl.col("_n_ambulance")
    mh_rule = (mh >= min_framework_services) & (mh > comm) & (mh > amb)
    amb_rule = (amb >= min(2, min_framework_services)) & (amb > mh) & (amb > comm)
    services = pl.format(
        "core services: {} of the {} provider-level core services of {} are CQC {} core services",
        pl.when(mh_rule).then(mh).otherwise(amb),
        "_n_cs",
        "rated_as",
        pl.when(mh_rule).then(pl.lit("mental health")).otherwise(pl.lit("ambulance")),
    )
    has_category = pl.col("_category").is_not_null()
    out = work.select(
        "provider_id",
        pl.when(has_category)
        .then(pl.coalesce("_by_category", pl.lit("unknown")))
        .when(pl.col("_by_nhs").is_not_null())
        .then(pl.col("_by_nhs"))
        .when(pl.col("_in_areas"))
        .then(pl.lit("ambulance"))
        .when(mh_rule)
        .then(pl.lit("mental_health"))
        .when(amb_rule)
        .then(pl.lit("ambulance"))
        .otherwise(pl.lit("unknown"))
        .alias("trust_type"),
        pl.when(has_category & pl.col("_by_category").is_not_null())
        .then(pl.concat_str(pl.lit("inspection category: '"), "_category", pl.lit("'"), of))
        .when(has_category)
        .then(
            pl.concat_str(
                pl.lit("unknown: unrecognised CQC inspection category '"),
                "_category",
                pl.lit("'"),
                of,
            )
        )
        .when(pl.col("_by_nhs").is_not_null())
        .then(
            pl.concat_str(
                pl.lit("NHS England subtype: '"),
                "nhs_trust_subtype",
                pl.lit("' (NHS Oversight Framework trust profiles)"),
            )
        )
        .when(pl.col("_in_areas"))
        .then(pl.lit("ambulance areas: serves sub-ICB locations in the ambulance areas crosswalk"))
        .when(mh_rule | amb_rule)
        .then(services)
        .when(pl.col("_n_cs") == 0)
        .then(
            pl.concat_str(
                pl.lit(
                    "unknown: the ratings file has no inspection category or core services for "
                ),
                pl.coalesce("rated_as", pl.col("provider_id")),
                pl.lit(", and it is not in NHS England's classification"),
            )
        )
        .otherwise(
            pl.concat_str(
                pl.lit(
                    "unknown: no inspection category in the ratings file, not in NHS "
                    "England's classification, and the "
                ),
                pl.col("_n_cs").cast(pl.String),
                pl.lit(" provider-level core services of "),
                "rated_as",
                pl.lit(" do not identify a type"),
            )
        )
        .alias("trust_type_basis"),
    )
    bad = work.filter(has_category & pl.col("_by_category").is_null())["_category"].unique()
    if bad.len():
        log.warning("unrecognised CQC inspection categories (trust type unknown): %s", list(bad))
    return out.sort("provider_id")


def location_types(ratings: pl.DataFrame) -> pl.DataFrame:
    """Trust type of each CQC location from its ``Location Primary Inspection Category``.

    Returns ``provider_id`` (the location ID, as the location sector's units are keyed),
    ``trust_type`` and ``trust_type_basis``; empty when the file has no such column.
    """
    col = "location_primary_inspection_category"
    schema = {"provider_id": pl.String, "trust_type": pl.String, "trust_type_basis": pl.String}
    if col not in ratings.columns or "location_id" not in ratings.columns:
        return pl.DataFrame(schema=schema)
    cats = (
        ratings.filter(pl.col(col).is_not_null() & pl.col("location_id").is_not_null())
        .group_by("location_id")
        .agg(pl.col(col).first())
    )
    return cats.select(
        pl.col("location_id").alias("provider_id"),
        _norm(col)
        .replace_strict(TRUST_TYPE_BY_CATEGORY, default="unknown", return_dtype=pl.String)
        .alias("trust_type"),
        pl.when(_norm(col).is_in(list(TRUST_TYPE_BY_CATEGORY)))
        .then(pl.concat_str(pl.lit("inspection category: '"), pl.col(col), pl.lit("'")))
        .otherwise(
            pl.concat_str(
                pl.lit("unknown: unrecognised CQC inspection category '"), col, pl.lit("'")
            )
        )
        .alias("trust_type_basis"),
    ).cast(schema)
