"""GP practices (placed by ICB name) and CQC locations (by sub-ICB GSS code, then trust code).

CQC locations come as a "Latest ratings" Locations sheet (:func:`place_locations`, one
input row per location x service x key question) or as CQC API records with their ratings
in force at a date (:func:`place_api_locations`, one input row per record).
"""

from __future__ import annotations

import polars as pl

from ics_model.mapping.age import set_aside
from ics_model.mapping.base import (
    ACCOUNT_SCHEMA,
    UNIT_ROWS_SCHEMA,
    UNMAPPED_SCHEMA,
    Placed,
    day_precision_columns,
    file_inherited,
    file_inherited_columns,
    finish,
    own_rating_columns,
)
from ics_model.mapping.successors import place_by_icb
from ics_model.ratings import SectorEnum

# --------------------------------------------------------------------------- GP practices


def _placed(
    ratings: pl.DataFrame,
    unmapped: pl.DataFrame,
    accounts: pl.DataFrame,
    good: pl.DataFrame,
    id_column: str,
    inherited: pl.Expr | None = None,
) -> Placed:
    """Return the :class:`Placed` of a sector whose placed rows count as ``used``.

    Rows for which ``inherited`` (an expression on ``good``) is true count as
    ``inherited`` instead: the file itself says the rating was inherited.
    """
    outcome = (
        pl.lit("used")
        if inherited is None
        else (pl.when(inherited).then(pl.lit("inherited")).otherwise(pl.lit("used")))
    )
    unit_rows = good.group_by(pl.col(id_column).alias("provider_id"), outcome.alias("outcome")).agg(
        pl.len().cast(pl.Int64).alias("n_rows")
    )
    return Placed(
        finish(ratings),
        unmapped.cast(UNMAPPED_SCHEMA),
        accounts.cast(ACCOUNT_SCHEMA),
        unit_rows=unit_rows.cast(UNIT_ROWS_SCHEMA),
    )


def place_gp_practices(
    practices: pl.DataFrame,
    icb_codes: pl.DataFrame,
    *,
    source: str = "gp_practices",
    successors: pl.DataFrame | None = None,
    icb_vintage: str = "2023",
) -> Placed:
    """Place GP practices in ICSs through the ICB name in the ratings file.

    Names are matched after normalisation (case, a leading "NHS", a trailing
    "Integrated Care Board"/"ICB", "&" for "and", punctuation and spaces): see
    :func:`ics_model.data.geography.normalise_icb_name`. Rows with no practice code, no
    ICB name or an unrecognised name go to the unmapped report.

    The file gives only the year of publication: ``publication_date`` is null,
    ``publication_year`` the year, ``publication_date_precision`` ``year``. A rating
    the file flags as inherited (``inherited_rating_y_n = Y``) has ``rating_source =
    inherited``; the file does not say from which practice, so ``inherited_from`` is
    null and ``inherited_note`` says so; its row counts as ``inherited`` (not ``used``)
    in the conservation report.
    """
    from ics_model.data.geography import match_icb_names

    if "inherited" not in practices.columns:
        practices = practices.with_columns(pl.lit(None, pl.Boolean).alias("inherited"))
    names = practices["icb_name_source"].drop_nulls().unique()
    matches = (
        match_icb_names(names, icb_codes)
        .filter(pl.col("matched"))
        .select(pl.col("name").alias("icb_name_source"), "icb_code")
    )
    df = place_by_icb(
        practices.join(matches, on="icb_name_source", how="left"),
        icb_codes,
        successors,
        icb_vintage,
    )
    reason = (
        pl.when(pl.col("practice_code").is_null())
        .then(pl.lit("no practice code"))
        .when(pl.col("icb_name_source").is_null())
        .then(pl.lit("no ICB name"))
        .when(pl.col("icb_code_2023").is_null())
        .then(pl.concat_str(pl.lit("ICB name not recognised: "), pl.col("icb_name_source")))
        .otherwise(pl.col("lost_reason"))
    )
    df = df.with_columns(reason.alias("reason"))
    bad = df.filter(pl.col("reason").is_not_null())
    good = df.filter(pl.col("reason").is_null())
    unmapped = bad.select(
        pl.lit(source).alias("source"),
        pl.lit("gp_practice").alias("sector"),
        pl.coalesce(
            pl.col("practice_code"),
            pl.concat_str(pl.lit("row "), pl.col("source_row").cast(pl.String)),
        ).alias("provider_id"),
        pl.lit(1, pl.Int64).alias("n_rows"),
        "reason",
    )
    out = good.select(
        pl.lit("gp_practice").cast(SectorEnum).alias("sector"),
        pl.col("practice_code").alias("provider_id"),
        pl.col("practice_name").alias("provider_name"),
        "key_question",
        "rating",
        "rating_status",
        pl.lit(None, pl.Date).alias("publication_date"),
        "publication_year",
        pl.when(pl.col("publication_year").is_not_null())
        .then(pl.lit("year"))
        .alias("publication_date_precision"),
        "icb_code",
        "icb_gss",
        "icb_name",
        pl.lit("icb_name").alias("mapping_method"),
        *own_rating_columns(),
        "inherited",
    )
    out = out.with_columns(file_inherited_columns("inherited_rating_y_n")).drop("inherited")
    flagged = file_inherited()
    n_inherited = good.filter(flagged).height
    accounts = pl.DataFrame(
        {
            "source": [source] * 3,
            "outcome": ["used", "inherited", "unmapped"],
            "n_rows": [good.height - n_inherited, n_inherited, bad.height],
        }
    )
    return _placed(out, unmapped, accounts, good, "practice_code", flagged)


# --------------------------------------------------------------------------- locations


def place_locations(
    ratings: pl.DataFrame,
    sub_icbs: pl.DataFrame,
    trusts: pl.DataFrame,
    icb_codes: pl.DataFrame,
    *,
    source: str = "locations",
    successors: pl.DataFrame | None = None,
    icb_vintage: str = "2023",
) -> Placed:
    """Place a CQC Locations sheet in ICSs.

    Route 1 (``sub_icb_gss``): ``location_onspd_ccg_code`` (GSS E38...) -> 2023 sub-ICB
    location -> ICB (``sub_icbs``: sub_icb_gss, icb_gss). Route 2 (``ods_trust_location``):
    the provider's ODS code is an open NHS trust in ``etr`` -> its host ICB. Otherwise the
    location is unmapped with the reason. Location-level rows (``service == "Overall"``)
    give each location's key-question ratings. A rating the file flags as inherited
    (``Inherited Rating (Y/N)`` = Y) has ``rating_source = inherited`` and an
    ``inherited_note``; its rows count as ``inherited`` in the conservation report.
    """
    loc = ratings.filter(pl.col("level") == "location")
    gss_to_icb = sub_icbs.select(
        pl.col("sub_icb_gss").alias("location_onspd_ccg_code"),
        pl.col("icb_gss").alias("_icb_gss_sub"),
    ).unique()
    icb_by_gss = icb_codes.select(pl.col("icb_gss").alias("_icb_gss_sub"), "icb_code")
    trust_icb = trusts.filter(pl.col("is_open") & pl.col("icb_code").is_not_null()).select(
        pl.col("org_code").alias("provider_id"), pl.col("icb_code").alias("_icb_trust")
    )
    code_col = "location_onspd_ccg_code" if "location_onspd_ccg_code" in loc.columns else None
    if code_col is None:
        loc = loc.with_columns(pl.lit(None, pl.String).alias("location_onspd_ccg_code"))
    name_col = "location_name" if "location_name" in loc.columns else None
    # the file's inherited flag and, for CQC API records, the organisation it names
    if "inherited" not in loc.columns:
        loc = loc.with_columns(pl.lit(None, pl.Boolean).alias("inherited"))
    origin = "rating_organisation_id"
    loc = loc.with_columns(
        (pl.col(origin) if origin in loc.columns else pl.lit(None, pl.String)).alias("_from")
    )
    # only the columns placing and the unit rows need (the joins copy every column)
    used = ["location_id", "provider_id", "location_onspd_ccg_code", "service", "key_question"]
    used += ["rating", "rating_status", "publication_date", "inherited", "_from"]
    loc = loc.select(*used, *([name_col] if name_col else []))
    placed = (
        loc.join(gss_to_icb, on="location_onspd_ccg_code", how="left")
        .join(icb_by_gss, on="_icb_gss_sub", how="left")
        .join(trust_icb, on="provider_id", how="left")
        .with_columns(
            pl.when(pl.col("icb_code").is_not_null())
            .then(pl.lit("sub_icb_gss"))
            .when(pl.col("_icb_trust").is_not_null())
            .then(pl.lit("ods_trust_location"))
            .alias("mapping_method"),
            pl.coalesce("icb_code", "_icb_trust").alias("icb_code"),
        )
    )
    placed = place_by_icb(placed, icb_codes, successors, icb_vintage)
    # a location whose rows point to different ICBs is placed in none (never guessed);
    # found on the distinct (location, ICB) pairs, described for those locations only
    pairs = placed.select("location_id", "icb_code").drop_nulls().unique()
    several = pairs.filter(pl.len().over("location_id") > 1).select("location_id").unique()
    split = (
        placed.join(several, on="location_id", how="semi")
        .group_by("location_id")
        .agg(
            pl.col("icb_code").drop_nulls().unique().sort().alias("_icbs"),
            pl.col("location_onspd_ccg_code").drop_nulls().unique().sort().alias("_codes"),
        )
        .filter(pl.col("_icbs").list.len() > 1)
    )
    placed = (
        placed.join(split, on="location_id", how="left")
        .with_columns(
            pl.when(pl.col("_icbs").is_not_null())
            .then(
                pl.format(
                    "rows of this location place it in several ICBs ({}; sub-ICB codes {}): "
                    "not guessed",
                    pl.col("_icbs").list.join(", "),
                    pl.col("_codes").list.join(", "),
                )
            )
            .otherwise(pl.col("lost_reason"))
            .alias("lost_reason"),
            pl.when(pl.col("_icbs").is_not_null())
            .then(None)
            .otherwise(pl.col("icb_code"))
            .alias("icb_code"),
        )
        .drop("_icbs", "_codes")
    )
    bad = placed.filter(pl.col("icb_code").is_null())
    good = placed.filter(pl.col("icb_code").is_not_null())
    unmapped = (
        bad.group_by("location_id")
        .agg(
            pl.len().alias("n_rows"),
            pl.col("location_onspd_ccg_code").first(),
            pl.col("lost_reason").first(),
        )
        .select(
            pl.lit(source).alias("source"),
            pl.lit("location").alias("sector"),
            pl.col("location_id").alias("provider_id"),
            pl.col("n_rows").cast(pl.Int64),
            pl.coalesce(
                "lost_reason",
                pl.concat_str(
                    pl.lit("sub-ICB code "),
                    pl.col("location_onspd_ccg_code").fill_null("<missing>"),
                    pl.lit(
                        " is not a 2023 sub-ICB location and the provider is not an open NHS trust"
                    ),
                ),
            ).alias("reason"),
        )
    )
    unit = good.filter(pl.col("service") == "Overall").select(
        pl.lit("location").cast(SectorEnum).alias("sector"),
        pl.col("location_id").alias("provider_id"),
        (pl.col(name_col) if name_col else pl.lit(None, pl.String)).alias("provider_name"),
        "key_question",
        "rating",
        "rating_status",
        "publication_date",
        *day_precision_columns(),
        "icb_code",
        "icb_gss",
        "icb_name",
        "mapping_method",
        *own_rating_columns(),
        "inherited",
        "_from",
    )
    unit = (
        unit.with_columns(file_inherited_columns("Inherited Rating (Y/N)"))
        .with_columns(
            # a CQC API rating of another organisation names it: no note needed
            pl.when(file_inherited()).then(pl.col("_from")).alias("inherited_from"),
            pl.when(pl.col("_from").is_null())
            .then(pl.col("inherited_note"))
            .alias("inherited_note"),
        )
        .drop("inherited", "_from")
    )
    n_inherited = good.filter(file_inherited()).height
    accounts = (
        pl.DataFrame(
            {
                "source": [source] * 4,
                "outcome": ["used", "inherited", "unmapped", "unmapped"],
                "n_rows": [
                    good.height - n_inherited,
                    n_inherited,
                    bad.height,
                    ratings.height - loc.height,
                ],
            }
        )
        .group_by("source", "outcome", maintain_order=True)
        .agg(pl.col("n_rows").sum())
        .filter((pl.col("n_rows") > 0) | (pl.col("outcome") != "inherited"))
    )
    return _placed(unit, unmapped, accounts, good, "location_id", file_inherited())


# --------------------------------------------------------------------------- CQC API records


def place_api_locations(
    in_force: pl.DataFrame,
    sub_icbs: pl.DataFrame,
    trusts: pl.DataFrame,
    icb_codes: pl.DataFrame,
    *,
    source: str = "locations",
    successors: pl.DataFrame | None = None,
    icb_vintage: str = "2023",
) -> Placed:
    """Place CQC API location records, each record one unit, with their ratings in force.

    ``in_force`` is :data:`~ics_model.mapping.history.RATINGS_IN_FORCE` (the ratings at a
    run's ``ratings.as_of``, or the current ones). Locations are placed as
    :func:`place_locations` places a Locations sheet, but the unit of account is the
    record, as the API reader counts its input (``n_input_rows`` = records): a placed
    location is one ``used`` row, an unplaced one one ``unmapped`` row, and a provider
    record (no location id) is unmapped with that reason; a placed record whose Overall
    rating in force is another organisation's counts as ``inherited``. A location
    ``not_registered`` at ``as_of`` leaves the views and counts as ``not_registered`` (listed
    in ``Placed.set_aside``). A row with no rating in force at ``as_of`` says so in
    ``unrated_reason``.
    """
    placed = place_locations(
        in_force,
        sub_icbs,
        trusts,
        icb_codes,
        source=source,
        successors=successors,
        icb_vintage=icb_vintage,
    )
    records = in_force.unique("source_row").select("level", "location_id", "provider_id")
    providers = records.filter(pl.col("level") != "location").select(
        pl.lit(source).alias("source"),
        pl.lit("location").alias("sector"),
        "provider_id",
        pl.lit(1, pl.Int64).alias("n_rows"),
        pl.lit("a provider record, not a location (the sector places locations)").alias("reason"),
    )
    # one row per placed record: inherited when its Overall rating in force is another
    # organisation's (e.g. a predecessor's, before a change of provider), else used
    inherited = in_force.filter((pl.col("key_question") == "Overall") & file_inherited()).select(
        pl.col("location_id").alias("provider_id")
    )
    used = (
        placed.unit_rows.select("provider_id")
        .unique()
        .sort("provider_id")
        .with_columns(
            pl.when(pl.col("provider_id").is_in(inherited["provider_id"].implode()))
            .then(pl.lit("inherited"))
            .otherwise(pl.lit("used"))
            .alias("outcome"),
            pl.lit(1, pl.Int64).alias("n_rows"),
        )
    )
    n_inherited = used.filter(pl.col("outcome") == "inherited").height
    accounts = pl.DataFrame(
        {
            "source": [source] * 3,
            "outcome": ["used", "inherited", "unmapped"],
            "n_rows": [used.height - n_inherited, n_inherited, records.height - used.height],
        }
    ).filter((pl.col("n_rows") > 0) | (pl.col("outcome") != "inherited"))
    status = in_force.select(
        pl.col("location_id").alias("provider_id"),
        "key_question",
        pl.col("in_force_status").alias("_status"),
        pl.col("ratings_as_of").alias("_as_of"),
    )
    not_yet = (pl.col("_status") == "not_yet_rated") & pl.col("_as_of").is_not_null()
    ratings = (
        placed.ratings.join(status, on=["provider_id", "key_question"], how="left")
        .with_columns(
            pl.when(not_yet)
            .then(pl.format("no rating in force on {} ({})", "_as_of", "rating_status"))
            .otherwise(pl.col("unrated_reason"))
            .alias("unrated_reason")
        )
        .drop("_status", "_as_of")
    )
    counted = Placed(
        ratings,
        pl.concat(
            [placed.unmapped.with_columns(pl.lit(1, pl.Int64).alias("n_rows")), providers]
        ).cast(UNMAPPED_SCHEMA),
        accounts.cast(ACCOUNT_SCHEMA),
        unit_rows=used.cast(UNIT_ROWS_SCHEMA),
    )
    not_registered = (
        in_force.filter(
            (pl.col("in_force_status") == "not_registered") & (pl.col("key_question") == "Overall")
        )
        .select(
            pl.col("location_id").alias("provider_id"),
            pl.format(
                "registered on {}, after ratings.as_of = {}; no rating in force then",
                "registration_date",
                "ratings_as_of",
            ).alias("reason"),
        )
        .join(used, on="provider_id", how="semi")
    )
    return set_aside(counted, not_registered, "not_registered", source)
