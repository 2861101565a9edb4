"""How old each placed rating is, and the providers a run leaves out for age or inheritance.

:func:`with_rating_age` gives every row of a mapped-ratings frame its ``rating_age_years``
at a chosen "as of" date. :func:`set_aside` removes placed providers (stale or inherited
ratings) and moves their input rows to another conservation outcome, so that the
conservation report still balances.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date
from typing import Final

import polars as pl

from ics_model.contracts import validate
from ics_model.mapping.base import (
    ACCOUNT_SCHEMA,
    MAPPED_RATINGS,
    SET_ASIDE_SCHEMA,
    UNIT_ROWS_SCHEMA,
    Placed,
)

log = logging.getLogger(__name__)

#: ICSs became statutory bodies on this date (Health and Care Act 2022).
ICS_STATUTORY_DATE: Final = date(2022, 7, 1)
DAYS_PER_YEAR: Final = 365.25


def effective_publication_date(as_of: date | None) -> pl.Expr:
    """Return the date a row's age is measured from.

    A ``day``-precision row uses its ``publication_date``. A ``year``-precision row uses
    the middle of its year, **1 July**; when that year is the year of ``as_of`` and 1 July
    falls after ``as_of``, ``as_of`` itself (age 0), so that a rating published before
    ``as_of`` never gets a negative age from the assumed day.
    """
    year = pl.col("publication_year")
    july = pl.date(year, 7, 1)
    by_year = july
    if as_of is not None:
        by_year = (
            pl.when(year <= as_of.year).then(pl.min_horizontal(july, pl.lit(as_of))).otherwise(july)
        )
    precision = pl.col("publication_date_precision")
    return (
        pl.when(precision == "day")
        .then(pl.col("publication_date"))
        .when(precision == "year")
        .then(by_year)
    )


def with_rating_age(frame: pl.DataFrame, as_of: date | None) -> pl.DataFrame:
    """Fill ``rating_age_years`` and ``ratings_as_of`` of a mapped-ratings frame.

    ``rating_age_years`` is (``as_of`` - publication) in days / 365.25, rounded to three
    decimals, from :func:`effective_publication_date` (1 July for a year-precision
    date). Null when the row has no date or ``as_of`` is None. A rating published after
    ``as_of`` gets a negative age (and a warning): it was not yet in force at ``as_of``.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> from ics_model.mapping.base import finish
    >>> f = finish(
    ...     pl.DataFrame(
    ...         {
    ...             "sector": ["gp_practice", "nhs_trust"],
    ...             "provider_id": ["P1", "T1"],
    ...             "key_question": ["Overall", "Overall"],
    ...             "rating_status": ["rated", "rated"],
    ...             "publication_date": [None, date(2016, 9, 3)],
    ...             "publication_year": [2016, 2016],
    ...             "publication_date_precision": ["year", "day"],
    ...             "icb_code": ["QAA", "QAA"],
    ...             "icb_name": ["A", "A"],
    ...             "mapping_method": ["icb_name", "ods_trust"],
    ...             "rating_source": ["own", "own"],
    ...         }
    ...     )
    ... )
    >>> aged = with_rating_age(f, date(2018, 9, 3)).sort("provider_id")
    >>> aged["rating_age_years"].to_list()  # P1: from 1 July 2016; T1: its day
    [2.174, 1.999]
    """
    if as_of is None:
        age = pl.lit(None, pl.Float64)
    else:
        days = (pl.lit(as_of) - effective_publication_date(as_of)).dt.total_days()
        age = (days / DAYS_PER_YEAR).round(3)
    out = frame.with_columns(
        age.cast(pl.Float64).alias("rating_age_years"),
        pl.lit(as_of, pl.Date).alias("ratings_as_of"),
    )
    n_future = out.filter(pl.col("rating_age_years") < 0).height
    if n_future:
        log.warning("%d rating row(s) published after as of %s (negative age)", n_future, as_of)
    return validate(out, MAPPED_RATINGS).frame


def rated_before_ics() -> pl.Expr:
    """Return whether a rating was published before ICSs became statutory (1 July 2022).

    A ``day``-precision date counts as before when it is earlier than 1 July 2022. A
    ``year``-precision date counts as before when the year is 2021 or earlier and as not
    before when it is 2023 or later; **2022 is unknown (null)**, since the year straddles
    the date and the file does not say which half. Null when the row has no date.
    """
    precision, year = pl.col("publication_date_precision"), pl.col("publication_year")
    return (
        pl.when(precision == "day")
        .then(pl.col("publication_date") < pl.lit(ICS_STATUTORY_DATE))
        .when((precision == "year") & (year <= ICS_STATUTORY_DATE.year - 1))
        .then(pl.lit(True))
        .when((precision == "year") & (year >= ICS_STATUTORY_DATE.year + 1))
        .then(pl.lit(False))
    )


def inherited_units(ratings: pl.DataFrame) -> pl.DataFrame:
    """Return the providers whose rating the ratings file flags as inherited.

    Those with ``inherited_note`` set, or with ``rating_source = inherited`` other than
    through the ODS successor file: the file's own flag (the GP file's
    ``inherited_rating_y_n``, a Locations sheet's ``Inherited Rating``, a CQC API rating
    of another organisation, whose ``inherited_from`` names it). A trust that inherits
    through ``succ`` is a placement choice, see ``mapping.inherit_predecessor_rating``,
    and is not listed. Each with a ``reason``.
    """
    own_flag = pl.col("inherited_note").is_not_null() | (
        (pl.col("rating_source") == "inherited") & (pl.col("mapping_method") != "ods_successor")
    )
    what = pl.coalesce(
        "inherited_note", pl.format("from {}", pl.col("inherited_from")), pl.lit("flagged")
    )
    return (
        ratings.filter(own_flag)
        .group_by("provider_id", maintain_order=True)
        .agg(what.first().alias("_what"))
        .select(
            "provider_id",
            pl.format("rating inherited ({}); ratings.inherited = exclude", "_what").alias(
                "reason"
            ),
        )
    )


def stale_units(ratings: pl.DataFrame, max_age_years: float) -> pl.DataFrame:
    """Return the providers whose rating is older than ``max_age_years``.

    A provider's age is that of its Overall rating; a provider without a rated Overall
    row is judged on its youngest rated row. Unrated providers and ratings of unknown
    age are never stale.
    """
    rated = ratings.filter(
        pl.col("rating").is_not_null() & pl.col("rating_age_years").is_not_null()
    )
    overall = pl.col("key_question") == "Overall"
    ages = rated.group_by("provider_id").agg(
        pl.coalesce(
            pl.col("rating_age_years").filter(overall).first(),
            pl.col("rating_age_years").min(),
        ).alias("age")
    )
    return ages.filter(pl.col("age") > max_age_years).select(
        "provider_id",
        pl.format(
            "rating {} years old > ratings.max_age_years = {}",
            pl.col("age").round(2),
            pl.lit(max_age_years),
        ).alias("reason"),
    )


def set_aside(placed: Placed, units: pl.DataFrame, outcome: str, source: str) -> Placed:
    """Remove ``units`` (``provider_id``, ``reason``) from a placement as ``outcome``.

    Their mapped rows leave ``ratings`` and are listed in ``set_aside`` (with their
    Overall rating, its age and the reason); the input rows behind them (``unit_rows``)
    move from their outcome (used, inherited) to ``outcome`` in ``accounts``, so the
    conservation report still balances.
    """
    if units.is_empty():
        return placed
    moved = placed.unit_rows.join(units, on="provider_id", how="semi")
    listed = _listing(placed.ratings, units, moved, outcome, source)
    delta = pl.concat(
        [
            moved.group_by("outcome").agg((-pl.col("n_rows").sum()).alias("n_rows")),
            pl.DataFrame({"outcome": [outcome], "n_rows": [int(moved["n_rows"].sum())]}),
        ],
        how="vertical_relaxed",
    ).select(pl.lit(source).alias("source"), "outcome", "n_rows")
    accounts = (
        pl.concat([placed.accounts, delta.cast(ACCOUNT_SCHEMA)])
        .group_by("source", "outcome", maintain_order=True)
        .agg(pl.col("n_rows").sum())
        .cast(ACCOUNT_SCHEMA)
    )
    log.info(
        "%s: %d provider(s), %d row(s) set aside as %s",
        source,
        units.height,
        moved["n_rows"].sum(),
        outcome,
    )
    return replace(
        placed,
        ratings=placed.ratings.join(units, on="provider_id", how="anti"),
        accounts=accounts,
        unit_rows=placed.unit_rows.join(units, on="provider_id", how="anti").cast(UNIT_ROWS_SCHEMA),
        set_aside=pl.concat([placed.set_aside, listed]),
    )


def _listing(
    ratings: pl.DataFrame, units: pl.DataFrame, moved: pl.DataFrame, outcome: str, source: str
) -> pl.DataFrame:
    """List set-aside providers (one row each) in :data:`SET_ASIDE_SCHEMA`."""
    rows = ratings.join(units.select("provider_id"), on="provider_id", how="semi")
    overall = (
        rows.sort(pl.col("key_question") != "Overall")
        .group_by("provider_id", maintain_order=True)
        .agg(
            pl.col("sector").first().cast(pl.String),
            pl.col("provider_name").first(),
            pl.col("icb_code").first(),
            pl.col("rating").first().cast(pl.String),
            pl.col("publication_date").first(),
            pl.col("rating_age_years").first(),
        )
    )
    n_rows = moved.group_by("provider_id").agg(pl.col("n_rows").sum())
    return (
        units.join(overall, on="provider_id", how="left")
        .join(n_rows, on="provider_id", how="left")
        .select(
            pl.lit(source).alias("source"),
            "sector",
            "provider_id",
            "provider_name",
            "icb_code",
            "rating",
            "publication_date",
            "rating_age_years",
            pl.lit(outcome).alias("outcome"),
            pl.col("n_rows").fill_null(0),
            "reason",
        )
        .sort("provider_id")
        .cast(SET_ASIDE_SCHEMA)
    )
