"""Rating history: the ratings in force at a date.

Built on CQC API records as :func:`~ics_model.data.cqc_api.read_cqc_api` reads them:
``current`` (:data:`~ics_model.data.cqc_api.CQC_API_RATINGS`, the ``currentRatings``) and
``history`` (:data:`~ics_model.data.cqc_api.CQC_API_HISTORY`, the ``historicRatings``).

**Which date counts.** A rating is in force from the day its report was *published*: the
API's ``reportDate`` (``publication_date`` of a current rating -- the key question's own
``reportDate`` where the API gives one, else the overall rating's -- and ``report_date`` of
a historic report, one date for all its key questions). On the care-home file the latest
``reportDate`` of every record equals its ``lastReport.publicationDate``, never its
``lastInspection.date`` (inspections come weeks or months earlier), so this is the
publication date, as the "Latest ratings" file's ``Publication Date``. The inspection date
is not used: a rating does not exist before CQC publishes it.

**The rating in force at** ``as_of``, for each record x key question, is the latest
*rating* (Outstanding ... Inadequate) published on or before ``as_of`` (inclusive), from the
current or the historic ratings. Reports that gave no rating ("Inspected but not rated",
the pre-2014 "Compliance action" / "No action", blanks) do not end the rating in force:
CQC keeps showing the previous rating. Ties on one publication date go to the current
rating, then to the report listed first in ``historicRatings`` (the API lists them newest
first); ``same_day_conflict`` flags a rating whose date carries another report with a
different rating for that key question (two such locations in the care-home file).

**Status** (``in_force_status``, :data:`~ics_model.ratings.IN_FORCE_STATUSES`): ``rated``;
``not_registered`` when no rating was in force and the location's registration date is
after ``as_of``; ``not_yet_rated`` otherwise (registered, or registration date unknown).
A rating whose ``organisationId`` is another organisation is ``inherited`` from it
(``inherited_from``): the API lists a location's predecessor's ratings (a change of
provider) in its history, published before the new registration. Such a rating counts as
in force at dates before the location registered (``registered`` False), since the same
service was running and rated -- unless the predecessor is itself a record of the input,
which then reports it (the successor is ``not_registered``, never counted twice).

Transitions between consecutive ratings: :mod:`ics_model.mapping.transitions`.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.data.cqc import CQC_RATINGS, LevelEnum
from ics_model.ratings import (
    InForceStatusEnum,
    KeyQuestionEnum,
    RatingEnum,
    RatingStatusEnum,
    SectorEnum,
)

#: where the rating in force came from
RATING_FROM: Final = frozenset({"current", "history"})
_CELL_COLUMNS: Final = (
    "service",
    "key_question",
    "rating",
    "rating_status",
    "publication_date",
    "report_type",
    "inherited",
    "report_link_id",
    "rating_organisation_id",
)
_IN_FORCE_EXTRAS: Final = (
    Column("in_force_status", InForceStatusEnum, nullable=False, description="see module"),
    Column("ratings_as_of", pl.Date, description="the date; null = the current ratings"),
    Column("rating_from", pl.String, allowed=RATING_FROM, description="null when unrated"),
    Column("report_link_id", pl.String, description="the API's id of the rating's report"),
    Column("rating_organisation_id", pl.String, description="organisationId, if given"),
    Column("inherited_from", pl.String, description="the organisation an inherited rating is"),
    Column("registration_date", pl.Date, description="the record's registrationDate"),
    Column("registered", pl.Boolean, description="registered on as_of; null when unknown"),
    Column("same_day_conflict", pl.Boolean, nullable=False, description="see module"),
)

RATINGS_IN_FORCE: Final = Contract(
    name="ratings_in_force",
    description="One row per record x key question: the rating in force at ratings_as_of "
    "(CQC_RATINGS columns, service 'Overall', plus the status and where it came from).",
    key=CQC_RATINGS.key,
    columns=(*CQC_RATINGS.columns[:-1], *_IN_FORCE_EXTRAS, CQC_RATINGS.columns[-1]),
)

#: :data:`RATINGS_IN_FORCE` of a run's sectors: with the ``sector`` first.
SECTOR_RATINGS_IN_FORCE: Final = Contract(
    name="sector_ratings_in_force",
    description="RATINGS_IN_FORCE of each sector whose file carries rating history.",
    key=("sector", *CQC_RATINGS.key),
    columns=(Column("sector", SectorEnum, nullable=False), *RATINGS_IN_FORCE.columns),
)

# --------------------------------------------------------------------------- events


def own_id() -> pl.Expr:
    """Return the record's own id: its location id, else its provider id."""
    return pl.coalesce("location_id", "provider_id")


def rating_events(current: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """Return every dated rating cell of the records, current and historic, in one frame.

    One row per record x report x key question (the current ratings' ``service ==
    "Overall"`` rows: location and provider ratings, not service ratings). ``_order`` ranks
    reports published on one day: 0 for the current rating, then the historic reports in
    their ``historicRatings`` order (``history_entry``, see :func:`history_frame`).
    ``inherited`` is True when ``rating_organisation_id`` names another organisation.
    """
    keep = ["source_row", "level", "provider_id", "location_id", "key_question", "rating"]
    keep += ["rating_status", "report_link_id", "rating_organisation_id"]
    cur = current.filter(pl.col("service") == "Overall").select(
        *keep, "publication_date", pl.lit("current").alias("rating_from"), pl.lit(0).alias("_order")
    )
    hist = history_frame(history).select(
        *keep,
        pl.col("report_date").alias("publication_date"),
        pl.lit("history").alias("rating_from"),
        pl.col("history_entry").cast(pl.Int32).alias("_order"),
    )
    events = pl.concat([cur, hist.cast(cur.schema)], how="vertical")
    org = pl.col("rating_organisation_id")
    return events.with_columns(
        (org.is_not_null() & (org != own_id())).fill_null(False).alias("inherited"),
        pl.when(org.is_not_null() & (org != own_id())).then(org).alias("inherited_from"),
    )


def _latest(events: pl.DataFrame) -> pl.DataFrame:
    """Return the latest event per record x key question (ties: ``_order``), conflicts flagged."""
    keys = ["source_row", "key_question"]
    conflicts = (
        events.filter(pl.col("rating").is_not_null())
        .group_by(*keys, "publication_date")
        .agg((pl.col("rating").n_unique() > 1).alias("same_day_conflict"))
    )
    first = (
        events.sort(*keys, "publication_date", "_order", descending=[False, False, True, False])
        .group_by(keys, maintain_order=True)
        .first()
    )
    return first.join(conflicts, on=[*keys, "publication_date"], how="left").with_columns(
        pl.col("same_day_conflict").fill_null(False)
    )


# --------------------------------------------------------------------------- in force


def ratings_in_force(
    current: pl.DataFrame, history: pl.DataFrame | None, as_of: date | None
) -> pl.DataFrame:
    """Return the rating in force at ``as_of`` of every record x key question.

    Parameters
    ----------
    current : the current ratings (:data:`~ics_model.data.cqc_api.CQC_API_RATINGS`, or
        any :data:`~ics_model.data.cqc.CQC_RATINGS` frame).
    history : the historic ratings (:data:`~ics_model.data.cqc_api.CQC_API_HISTORY`);
        None or empty when the records carry none.
    as_of : the date (inclusive: a rating published that day is in force). None = the
        current ratings as the file gives them (history not used, nobody is
        ``not_registered``).

    Returns
    -------
    pl.DataFrame
        :data:`RATINGS_IN_FORCE`: one row per record and key question it has anywhere
        (Overall always), every record of ``current`` reported. Record-level columns of
        ``current`` (names, codes, registration) are carried. See the module for the rules.

    Examples
    --------
    >>> from datetime import date
    >>> cur = pl.DataFrame({
    ...     "provider_id": ["P"], "location_id": ["L"], "level": ["location"],
    ...     "service": ["Overall"], "key_question": ["Overall"], "rating": ["Good"],
    ...     "rating_status": ["rated"], "publication_date": [date(2020, 5, 6)],
    ...     "report_type": ["Location"], "inherited": [False], "source_row": [2],
    ... })
    >>> hist = pl.DataFrame({
    ...     "provider_id": ["P"], "location_id": ["L"], "level": ["location"],
    ...     "report_date": [date(2017, 7, 20)], "report_link_id": ["r1"],
    ...     "key_question": ["Overall"], "rating": ["Requires improvement"],
    ...     "rating_status": ["rated"], "history_entry": [1], "source_row": [2],
    ... })
    >>> f = ratings_in_force(cur, hist, date(2019, 1, 1))
    >>> f.select("rating", "publication_date", "in_force_status").rows()
    [('Requires improvement', datetime.date(2017, 7, 20), 'rated')]
    >>> ratings_in_force(cur, hist, date(2017, 7, 19))["in_force_status"].to_list()
    ['not_yet_rated']
    """
    current = typed_current(current)
    history = history_frame(history)
    if as_of is None:
        history = history.clear()
    keys = ["source_row", "key_question"]
    events = rating_events(current, history)
    if as_of is not None:
        events = events.filter(pl.col("publication_date") <= as_of)
    rated = _latest(events.filter(pl.col("rating").is_not_null())).select(
        *keys,
        "rating",
        "rating_status",
        "publication_date",
        "report_link_id",
        "rating_from",
        "rating_organisation_id",
        "inherited",
        "inherited_from",
        "same_day_conflict",
    )
    unrated = _latest(events.filter(pl.col("rating").is_null())).select(
        *keys,
        pl.col("rating_status").alias("_status"),
        pl.col("publication_date").alias("_date"),
        pl.col("report_link_id").alias("_link"),
    )
    records = _records(current)
    overall = pl.lit("Overall").cast(KeyQuestionEnum).alias("key_question")
    kqs = pl.concat(
        [
            current.filter(pl.col("service") == "Overall").select(keys),
            history.select(keys).join(records, on="source_row", how="semi"),
            records.select("source_row", overall),
        ]
    ).unique()
    out = (
        kqs.join(records, on="source_row", how="left")
        .join(rated, on=keys, how="left")
        .join(unrated, on=keys, how="left")
    )
    reg = pl.col("registration_date")
    registered = pl.lit(None, pl.Boolean) if as_of is None else reg <= as_of
    own_ids = records["location_id"].drop_nulls().implode()
    counted_elsewhere = (pl.col("inherited_from").is_in(own_ids) & ~registered).fill_null(False)
    rated_now = pl.col("rating").is_not_null() & ~counted_elsewhere
    when_rated = {
        "rating_status": pl.col("_status").fill_null("not_rated"),
        "publication_date": pl.col("_date"),
        "report_link_id": pl.col("_link"),
    }
    out = out.with_columns(rated_now.alias("_rated")).with_columns(
        pl.when(pl.col("_rated"))
        .then(pl.lit("rated"))
        .when((~registered).fill_null(False))
        .then(pl.lit("not_registered"))
        .otherwise(pl.lit("not_yet_rated"))
        .cast(InForceStatusEnum)
        .alias("in_force_status"),
        *(
            pl.when(pl.col("_rated")).then(pl.col(c)).otherwise(e).alias(c)
            for c, e in when_rated.items()
        ),
        *(
            pl.when(pl.col("_rated")).then(pl.col(c)).alias(c)
            for c in ("rating", "rating_from", "rating_organisation_id", "inherited_from")
        ),
        *(
            (pl.col("_rated") & pl.col(c).fill_null(False)).alias(c)
            for c in ("inherited", "same_day_conflict")
        ),
        pl.lit(as_of, pl.Date).alias("ratings_as_of"),
        registered.alias("registered"),
        pl.lit("Overall").alias("service"),
        pl.when(pl.col("level") == "location")
        .then(pl.lit("Location"))
        .otherwise(pl.lit("Provider"))
        .alias("report_type"),
    )
    out = out.with_columns(pl.col("rating_status").cast(RatingStatusEnum))
    declared = [c.name for c in RATINGS_IN_FORCE.columns if c.required or c.name in out.columns]
    extras = [c for c in records.columns if c not in declared]
    out = out.select(*declared[:-1], *extras, "source_row").sort("source_row", "key_question")
    return validate(out, RATINGS_IN_FORCE).frame


def _records(current: pl.DataFrame) -> pl.DataFrame:
    """One row per record (``source_row``): its record-level columns, not its ratings."""
    cols = [c for c in current.columns if c not in _CELL_COLUMNS]
    return current.select(cols).unique("source_row", keep="first", maintain_order=True)


def typed_current(current: pl.DataFrame) -> pl.DataFrame:
    """Return ``current`` with the optional API columns (null when absent) and enum dtypes."""
    for name, dtype in (
        ("report_link_id", pl.String),
        ("rating_organisation_id", pl.String),
        ("registration_date", pl.Date),
    ):
        if name not in current.columns:
            current = current.with_columns(pl.lit(None, dtype).alias(name))
    return _enums(current)


def _enums(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast the vocabulary columns to their enums and the dates to dates.

    Hand-made frames may hold text, or all-null columns of no type.
    """
    dtypes = {
        "level": LevelEnum,
        "key_question": KeyQuestionEnum,
        "rating": RatingEnum,
        "rating_status": RatingStatusEnum,
        "publication_date": pl.Date,
        "report_date": pl.Date,
        "registration_date": pl.Date,
    }
    return frame.with_columns(pl.col(c).cast(t) for c, t in dtypes.items() if c in frame.columns)


def history_frame(history: pl.DataFrame | None) -> pl.DataFrame:
    """Return ``history`` with its columns and enum dtypes, or an empty one for None.

    A frame without ``history_entry`` numbers each record's reports in the order the
    frame first lists them (1 = first), as the reader does with ``historicRatings``.
    """
    schema = {
        "provider_id": pl.String,
        "location_id": pl.String,
        "level": LevelEnum,
        "report_date": pl.Date,
        "report_link_id": pl.String,
        "key_question": KeyQuestionEnum,
        "rating": RatingEnum,
        "rating_status": RatingStatusEnum,
        "rating_organisation_id": pl.String,
        "history_entry": pl.Int64,
        "source_row": pl.Int64,
    }
    if history is None:
        return pl.DataFrame(schema=schema)
    if "history_entry" not in history.columns:
        report = [
            pl.col("source_row"),
            pl.col("report_date"),
            pl.col("report_link_id").fill_null(""),
        ]
        history = (
            history.with_columns(pl.int_range(pl.len()).over("source_row").alias("_i"))
            .with_columns(pl.col("_i").min().over(report))
            .with_columns(
                pl.col("_i").rank("dense").over("source_row").cast(pl.Int64).alias("history_entry")
            )
            .drop("_i")
        )
    for name, dtype in schema.items():
        if name not in history.columns:
            history = history.with_columns(pl.lit(None, dtype).alias(name))
    return _enums(history)
