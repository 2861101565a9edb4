"""Transitions between consecutive ratings of a CQC record, and their counts per ICS.

A transition is a pair of consecutive *Overall ratings* of one record (a CQC location, or
a provider record), from its current and historic ratings (:func:`rating_events`):
reports that gave no rating are skipped, and a publication date carrying two reports
keeps one, as for the rating in force (:mod:`ics_model.mapping.history`: the current
rating, then the report the API lists first). Each transition has a direction
(:data:`~ics_model.ratings.TRANSITION_DIRECTIONS`): ``upgrade`` to a better rating,
``downgrade`` to a worse one, ``unchanged``. ``change_of_provider`` flags a transition
across a change of registration: its two ratings belong to different organisations (the
API's ``organisationId``, the record's own id when absent), e.g. a care home's
predecessor's rating followed by the new provider's.

Per ICS, the transitions of the placed units are counted per (from, to) pair -- the
empirical transition matrix; ``share_of_from`` = n(from -> to) / n(from -> any) is the
maximum-likelihood estimate of a Markov chain's transition probability (Anderson, T. W.
and Goodman, L. A. (1957), Statistical inference about Markov chains, *Ann. Math.
Statist.* 28, 89-110) -- and summarised as upgrades, downgrades and unchanged. The
intervals between inspections differ between providers (CQC re-inspects worse-rated
services sooner), so these are counts of observed changes, not rates per year.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.mapping.history import history_frame, own_id, rating_events, typed_current
from ics_model.ratings import (
    RATING_LABELS,
    TRANSITION_DIRECTIONS,
    RatingEnum,
    SectorEnum,
    TransitionDirectionEnum,
    score_expr,
)

_UP, _DOWN, _SAME = TRANSITION_DIRECTIONS
_END: Final = ("from", "to")
#: (direction, its count and share suffix) in the summary
_PLURALS: Final = ((_UP, "upgrades"), (_DOWN, "downgrades"), (_SAME, "unchanged"))

RATING_TRANSITIONS: Final = Contract.closed(
    "rating_transitions",
    (
        Column("sector", SectorEnum, nullable=False),
        Column("provider_id", pl.String, nullable=False),
        Column("location_id", pl.String, description="null for provider records"),
        Column("location_name", pl.String),
        Column.text("icb_code", "ICB the run placed the unit in; null = not placed", nullable=True),
        Column.icb_name(),
        Column.count("sequence", "1 = the record's first transition", min_value=1),
        *(Column(f"{e}_rating", RatingEnum, nullable=False) for e in _END),
        *(Column(f"{e}_date", pl.Date, nullable=False, description="publication") for e in _END),
        Column.number("years_between", "(to_date - from_date) in days / 365.25", min_value=0),
        Column("direction", TransitionDirectionEnum, nullable=False),
        *(Column(f"{e}_report_link_id", pl.String) for e in _END),
        Column.flag("change_of_provider", "the two ratings belong to different organisations"),
        Column.flag(
            "same_day_conflict", "an end's date carries another report with a different rating"
        ),
        Column.count("source_row", "the record in the input file", min_value=1),
    ),
    key=("sector", "source_row", "sequence"),
    description="One row per pair of consecutive Overall ratings of a CQC record.",
)

_UNTIL: Final = Column("history_until", pl.Date, description="ratings published up to; null = all")

ICS_RATING_TRANSITIONS: Final = Contract.closed(
    "ics_rating_transitions",
    (
        Column("sector", SectorEnum, nullable=False),
        Column.text("icb_code", "ICB code"),
        Column.icb_name(),
        Column("from_rating", RatingEnum, nullable=False),
        Column("to_rating", RatingEnum, nullable=False),
        Column("direction", TransitionDirectionEnum, nullable=False),
        Column.count("n_transitions", "transitions from from_rating to to_rating"),
        Column.count("n_units", "records with at least one such transition"),
        Column.count("n_change_of_provider", "of the transitions, across a change of provider"),
        Column.share("share_of_from", "n_transitions / transitions from from_rating (module)"),
        _UNTIL,
    ),
    key=("sector", "icb_code", "from_rating", "to_rating"),
    description="Per ICS, every (from, to) pair of Overall ratings (16 rows; 0 when unseen).",
)

ICS_TRANSITION_SUMMARY: Final = Contract.closed(
    "ics_rating_transition_summary",
    (
        Column("sector", SectorEnum, nullable=False),
        Column.text("icb_code", "ICB code"),
        Column.icb_name(),
        Column.count("n_units", "units placed in the ICS"),
        Column.count("n_units_with_transitions", "of them, with at least one transition"),
        Column.count("n_transitions", "transitions"),
        *(Column.count(f"n_{p}", f"transitions: {d}") for d, p in _PLURALS),
        *(
            Column.share(f"share_{p}", f"n_{p} / n_transitions; null when none")
            for _, p in _PLURALS
        ),
        Column("first_rating_date", pl.Date, description="earliest from_date"),
        Column("last_rating_date", pl.Date, description="latest to_date"),
        _UNTIL,
    ),
    key=("sector", "icb_code"),
    description="Per ICS: upgrades, downgrades and unchanged ratings among the transitions.",
)


def _direction(from_col: str, to_col: str) -> pl.Expr:
    """Return ``upgrade`` / ``downgrade`` / ``unchanged`` from two rating columns."""
    a, b = score_expr(from_col), score_expr(to_col)
    return (
        pl.when(b > a)
        .then(pl.lit(_UP))
        .when(b < a)
        .then(pl.lit(_DOWN))
        .otherwise(pl.lit(_SAME))
        .cast(TransitionDirectionEnum)
        .alias("direction")
    )


def _placement(placement: pl.DataFrame | None) -> pl.DataFrame:
    """Return ``_unit -> icb_code, icb_name`` of a placed frame (``provider_id`` = the unit)."""
    schema = {"_unit": pl.String, "icb_code": pl.String, "icb_name": pl.String}
    if placement is None:
        return pl.DataFrame(schema=schema)
    return (
        placement.select(pl.col("provider_id").alias("_unit"), "icb_code", "icb_name")
        .unique("_unit", keep="first", maintain_order=True)
        .cast(schema)
    )


def rating_transitions(
    current: pl.DataFrame,
    history: pl.DataFrame | None,
    placement: pl.DataFrame | None = None,
    *,
    until: date | None = None,
    sector: str = "location",
) -> pl.DataFrame:
    """Return the consecutive Overall ratings of every record, as transitions.

    Parameters
    ----------
    current, history : as for :func:`~ics_model.mapping.history.ratings_in_force`.
    placement : where each unit was placed: a frame with ``provider_id`` (the location
        id for locations, as in the mapped ratings), ``icb_code`` and ``icb_name``; units
        not in it have a null ``icb_code``. None: no placement.
    until : only ratings published on or before this date (a run's ``ratings.as_of``);
        None = all.
    sector : the sector the records belong to (the ``sector`` column).

    Returns
    -------
    pl.DataFrame
        :data:`RATING_TRANSITIONS`, one row per pair of consecutive Overall ratings of a
        record (a record with n ratings on n dates has n - 1), in date order;
        ``years_between`` = (to_date - from_date) in days / 365.25, rounded to 3 decimals.

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
    ...     "provider_id": ["P", "P"], "location_id": ["L", "L"], "level": ["location"] * 2,
    ...     "report_date": [date(2018, 1, 9), date(2015, 4, 20)],
    ...     "report_link_id": ["r2", "r1"], "key_question": ["Overall"] * 2,
    ...     "rating": [None, "Inadequate"], "rating_status": ["inspected_not_rated", "rated"],
    ...     "history_entry": [1, 2], "source_row": [2, 2],
    ... })
    >>> t = rating_transitions(cur, hist)
    >>> t.select("from_rating", "to_rating", "direction", "years_between").rows()
    [('Inadequate', 'Good', 'upgrade', 5.046)]
    """
    events = rating_events(typed_current(current), history_frame(history)).filter(
        (pl.col("key_question") == "Overall")
        & pl.col("rating").is_not_null()
        & pl.col("publication_date").is_not_null()
    )
    if until is not None:
        events = events.filter(pl.col("publication_date") <= until)
    day = ["source_row", "publication_date"]
    conflicts = events.group_by(day).agg((pl.col("rating").n_unique() > 1).alias("_conflict"))
    daily = (
        events.sort(*day, "_order")
        .group_by(day, maintain_order=True)
        .first()
        .join(conflicts, on=day, how="left")
        .with_columns(pl.coalesce("rating_organisation_id", own_id()).alias("_org"))
        .sort(day)
    )
    moved = ("rating", "publication_date", "report_link_id", "_org", "_conflict")
    pairs = daily.with_columns(
        pl.col(c).shift(-1).over("source_row").alias(f"_to{c}") for c in moved
    ).filter(pl.col("_torating").is_not_null())
    names = (
        current.select("source_row", "location_name").unique("source_row")
        if "location_name" in current.columns
        else pl.DataFrame(schema={"source_row": pl.Int64, "location_name": pl.String})
    )
    out = (
        pairs.with_columns(
            pl.int_range(1, pl.len() + 1).over("source_row").cast(pl.Int64).alias("sequence"),
            _direction("rating", "_torating"),
            ((pl.col("_topublication_date") - pl.col("publication_date")).dt.total_days() / 365.25)
            .round(3)
            .alias("years_between"),
            (pl.col("_org") != pl.col("_to_org")).alias("change_of_provider"),
            (pl.col("_conflict") | pl.col("_to_conflict")).alias("same_day_conflict"),
            own_id().alias("_unit"),
        )
        .join(names, on="source_row", how="left")
        .join(_placement(placement), on="_unit", how="left")
    )
    out = out.select(
        pl.lit(sector).cast(SectorEnum).alias("sector"),
        "provider_id",
        "location_id",
        "location_name",
        "icb_code",
        "icb_name",
        "sequence",
        pl.col("rating").alias("from_rating"),
        pl.col("_torating").alias("to_rating"),
        pl.col("publication_date").alias("from_date"),
        pl.col("_topublication_date").alias("to_date"),
        "years_between",
        "direction",
        pl.col("report_link_id").alias("from_report_link_id"),
        pl.col("_toreport_link_id").alias("to_report_link_id"),
        "change_of_provider",
        "same_day_conflict",
        "source_row",
    ).sort("source_row", "sequence")
    return validate(out, RATING_TRANSITIONS).frame


def _pairs_grid() -> pl.DataFrame:
    """Every (from, to) pair of ratings, worst first, with its direction."""
    labels = pl.Series("from_rating", RATING_LABELS, dtype=RatingEnum).to_frame()
    grid = labels.join(labels.rename({"from_rating": "to_rating"}), how="cross")
    return grid.with_columns(_direction("from_rating", "to_rating"))


def _icss(placement: pl.DataFrame) -> pl.DataFrame:
    """Return the ICSs of a placement with their number of placed units (``n_units``)."""
    return (
        placement.group_by("icb_code")
        .agg(
            pl.col("icb_name").first(),
            pl.col("provider_id").n_unique().cast(pl.Int64).alias("n_units"),
        )
        .sort("icb_code")
    )


def ics_rating_transitions(
    transitions: pl.DataFrame,
    placement: pl.DataFrame,
    *,
    until: date | None = None,
    sector: str = "location",
) -> pl.DataFrame:
    """Count the transitions of each ICS per (from, to) pair of Overall ratings.

    Parameters
    ----------
    transitions : :data:`RATING_TRANSITIONS` (units with a null ``icb_code`` are left out).
    placement : the placed units (``provider_id``, ``icb_code``, ``icb_name``): every ICS
        with a placed unit gets all 16 pairs, 0 where none was seen.
    until : the date the transitions run up to (reported as ``history_until``).
    sector : the ``sector`` column.

    Returns
    -------
    pl.DataFrame
        :data:`ICS_RATING_TRANSITIONS`; ``share_of_from`` = n(from -> to) / n(from -> any)
        within the ICS (null when the ICS has no transition from ``from_rating``).
    """
    seen = (
        transitions.filter(pl.col("icb_code").is_not_null())
        .group_by("icb_code", "from_rating", "to_rating")
        .agg(
            pl.len().cast(pl.Int64).alias("n_transitions"),
            pl.col("source_row").n_unique().cast(pl.Int64).alias("n_units"),
            pl.col("change_of_provider").sum().cast(pl.Int64).alias("n_change_of_provider"),
        )
    )
    counts = ("n_transitions", "n_units", "n_change_of_provider")
    from_total = pl.col("n_transitions").sum().over("icb_code", "from_rating")
    out = (
        _icss(placement)
        .select("icb_code", "icb_name")
        .join(_pairs_grid(), how="cross")
        .join(seen, on=["icb_code", "from_rating", "to_rating"], how="left")
        .with_columns(pl.col(c).fill_null(0) for c in counts)
        .select(
            pl.lit(sector).cast(SectorEnum).alias("sector"),
            "icb_code",
            "icb_name",
            "from_rating",
            "to_rating",
            "direction",
            *counts,
            pl.when(from_total > 0)
            .then(pl.col("n_transitions") / from_total)
            .alias("share_of_from"),
            pl.lit(until, pl.Date).alias("history_until"),
        )
        .sort("icb_code", "from_rating", "to_rating")
    )
    return validate(out, ICS_RATING_TRANSITIONS).frame


def ics_transition_summary(
    transitions: pl.DataFrame,
    placement: pl.DataFrame,
    *,
    until: date | None = None,
    sector: str = "location",
) -> pl.DataFrame:
    """Summarise each ICS's transitions as upgrades, downgrades and unchanged ratings.

    Parameters are as for :func:`ics_rating_transitions`. ``share_upgrades`` =
    n_upgrades / n_transitions (null when the ICS has none), likewise the others; the
    three shares add up to 1.

    Returns
    -------
    pl.DataFrame
        :data:`ICS_TRANSITION_SUMMARY`, one row per ICS with a placed unit.
    """
    direction = pl.col("direction").cast(pl.String)
    per_ics = (
        transitions.filter(pl.col("icb_code").is_not_null())
        .group_by("icb_code")
        .agg(
            pl.col("source_row").n_unique().cast(pl.Int64).alias("n_units_with_transitions"),
            pl.len().cast(pl.Int64).alias("n_transitions"),
            *((direction == d).sum().cast(pl.Int64).alias(f"n_{p}") for d, p in _PLURALS),
            pl.col("from_date").min().alias("first_rating_date"),
            pl.col("to_date").max().alias("last_rating_date"),
        )
    )
    counts = ["n_units_with_transitions", "n_transitions", *(f"n_{p}" for _, p in _PLURALS)]
    n = pl.col("n_transitions")
    out = (
        _icss(placement)
        .join(per_ics, on="icb_code", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in counts)
        .select(
            pl.lit(sector).cast(SectorEnum).alias("sector"),
            "icb_code",
            "icb_name",
            "n_units",
            *counts,
            *(pl.when(n > 0).then(pl.col(f"n_{p}") / n).alias(f"share_{p}") for _, p in _PLURALS),
            "first_rating_date",
            "last_rating_date",
            pl.lit(until, pl.Date).alias("history_until"),
        )
    )
    return validate(out, ICS_TRANSITION_SUMMARY).frame
