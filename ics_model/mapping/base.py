"""Contracts and bookkeeping shared by the placement routes.

The mapped-ratings frame, the unmapped report and row conservation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.ratings import (
    KEY_QUESTIONS,
    SECTORS,
    TRUST_TYPES,
    KeyQuestionEnum,
    RatingEnum,
    RatingStatusEnum,
    SectorEnum,
)

MAPPING_METHODS = frozenset(
    {
        "ods_trust",
        "ods_successor",
        "ods_successor_combined",
        "icb_name",
        "sub_icb_gss",
        "ods_trust_location",
        "icb_polygon",
        "icb_polygon_nearest",
        "local_authority",
    }
)
RATING_SOURCES = frozenset({"own", "inherited", "combined", "none"})
OUTCOMES = (
    "used",
    "inherited",
    "superseded",
    "quarantined",
    "unmapped",
    "stale",
    "inherited_excluded",
    "ambulance_excluded",
    "not_registered",
)
PRECISIONS = frozenset({"day", "year"})
TRUST_KEY_QUESTIONS = KEY_QUESTIONS

MAPPED_RATINGS = Contract(
    name="mapped_ratings",
    description="One row per sector x provider (unit) x key question, placed in an ICB.",
    columns=(
        Column("sector", SectorEnum, nullable=False),
        Column("provider_id", pl.String, nullable=False),
        Column("provider_name", pl.String),
        Column("key_question", KeyQuestionEnum, nullable=False),
        Column("rating", RatingEnum),
        Column("rating_status", RatingStatusEnum, nullable=False),
        Column("publication_date", pl.Date, description="null when only the year is known"),
        Column("publication_year", pl.Int32, description="year of publication_date, or the year"),
        Column(
            "publication_date_precision",
            pl.String,
            allowed=PRECISIONS,
            description="day (a date) or year (only the year); null when unknown",
        ),
        Column("rating_age_years", pl.Float64, description="years from publication to as of"),
        Column("ratings_as_of", pl.Date, description="the date rating_age_years is taken at"),
        Column("icb_code", pl.String, nullable=False),
        Column("icb_gss", pl.String),
        Column("icb_name", pl.String, nullable=False),
        Column("mapping_method", pl.String, nullable=False, allowed=MAPPING_METHODS),
        Column("rating_source", pl.String, nullable=False, allowed=RATING_SOURCES),
        Column("inherited_from", pl.String),
        Column(
            "inherited_note",
            pl.String,
            description="why inherited_from is null for an inherited rating",
        ),
        Column("unrated_reason", pl.String),
        Column(
            "rating_predates_merger",
            pl.Boolean,
            description="nhs_trust: the trust's own rating was published before it absorbed "
            "another rated trust (ODS successor effective date after publication); False on "
            "other trust rows; null for other sectors",
        ),
        Column(
            "premerger_absorbed",
            pl.String,
            description="codes of the rated trusts absorbed after the rating, sorted, "
            "';'-separated; null unless rating_predates_merger",
        ),
        Column(
            "trust_type",
            pl.String,
            allowed=frozenset(TRUST_TYPES),
            description="nhs_trust: acute, specialist, mental_health, community, ambulance, "
            "other or unknown (trust_type_basis says from what); location: from its "
            "inspection category when the file has one; null otherwise",
        ),
        Column(
            "trust_type_basis",
            pl.String,
            description="the source of trust_type (inspection category, NHS England "
            "classification, ambulance areas, core services) or why it is unknown",
        ),
    ),
    key=("sector", "provider_id", "key_question"),
)

ACCOUNT_SCHEMA = {"source": pl.String, "outcome": pl.String, "n_rows": pl.Int64}
_SOURCE: Final = Column.text("source", "input source the rows came from")

UNMAPPED: Final = Contract.closed(
    "unmapped",
    (
        _SOURCE,
        Column.text("sector", "sector of the provider", allowed=frozenset(SECTORS)),
        Column.text("provider_id", "ODS code, CQC ID, or 'row <n>' when the file gives none"),
        Column.count("n_rows", "input rows of the provider (0: an unrated predecessor's note)"),
        Column.text("reason", "why it could not be placed"),
    ),
    key=("source", "provider_id"),
    description="One row per provider that could not be placed in an ICB, with the reason.",
)

SUPERSEDED: Final = Contract.closed(
    "superseded",
    (
        _SOURCE,
        Column(
            "source_row",
            pl.Int64,
            min_value=1,
            description="row in the input file (header = row 1); null for whole providers",
        ),
        Column.text("provider_id", "provider (or practice) code"),
        Column.count("n_rows", "input rows superseded", min_value=1),
        Column.text("reason", "what superseded them"),
    ),
    key=("source", "source_row"),
    description=(
        "Rows set aside for a newer rating: loader rows (one each, with their "
        "source_row) and whole providers superseded by a successor's own rating "
        "(source_row null, n_rows = their rows)."
    ),
)
SET_ASIDE: Final = Contract.closed(
    "set_aside",
    (
        _SOURCE,
        Column.text("sector", "sector of the provider", allowed=frozenset(SECTORS)),
        Column.text("provider_id", "ODS code or CQC ID of the placed provider"),
        Column("provider_name", pl.String, description="provider name"),
        Column("icb_code", pl.String, description="ICB it was placed in"),
        Column("rating", pl.String, description="its Overall rating (null if none)"),
        Column("publication_date", pl.Date, description="publication of that rating"),
        Column("rating_age_years", pl.Float64, description="its age at ratings_as_of"),
        Column.text(
            "outcome",
            "conservation outcome its rows moved to",
            allowed=frozenset(
                {"stale", "inherited_excluded", "ambulance_excluded", "not_registered"}
            ),
        ),
        Column.count("n_rows", "input rows behind the provider", min_value=0),
        Column.text("reason", "why the run left it out, with the config key"),
    ),
    key=("source", "provider_id"),
    description=(
        "One row per placed provider the run left out of the views because of the "
        "``ratings`` settings (too old, inherited, or not yet registered at "
        "``ratings.as_of``) or ``mapping.ambulance``, with its rating and the reason."
    ),
)
SET_ASIDE_SCHEMA = SET_ASIDE.schema
UNMAPPED_SCHEMA = UNMAPPED.schema
UNIT_ROWS_SCHEMA = {"provider_id": pl.String, "outcome": pl.String, "n_rows": pl.Int64}
SUPERSEDED_SCHEMA = SUPERSEDED.schema


@dataclass(frozen=True)
class Placed:
    """Result of placing one sector's providers.

    Attributes
    ----------
    ratings : the :data:`MAPPED_RATINGS` frame for this sector.
    unmapped : one row per provider that could not be placed (source, sector,
        provider_id, n_rows, reason).
    accounts : rows of the source per outcome (source, outcome, n_rows).
    superseded : providers whose rows were superseded during placement (e.g. a closed
        trust whose successor has its own rating), in :data:`SUPERSEDED_SCHEMA`.
    unit_rows : input rows behind each placed unit per outcome (provider_id, outcome,
        n_rows), so that a unit set aside later (:mod:`ics_model.mapping.age`) moves
        exactly its rows to another outcome.
    set_aside : the providers set aside that way, in :data:`SET_ASIDE_SCHEMA`.
    checks : for a sector placed by coordinates, one row per unit: how its point was
        placed and whether its local authority agrees
        (:data:`ics_model.mapping.spatial.PLACEMENT_CHECKS`); None for other sectors.
    allocated : providers counted in several ICBs with a weight each (ambulance trusts
        under ``mapping.ambulance: shared``): their mapped rows, one per ICB served, with
        ``icb_weight`` and ``host_icb_code`` (:data:`ics_model.mapping.ambulance.ALLOCATED`);
        they are not in ``ratings``. None when there are none.
    """

    ratings: pl.DataFrame
    unmapped: pl.DataFrame
    accounts: pl.DataFrame
    superseded: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SUPERSEDED_SCHEMA))
    unit_rows: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=UNIT_ROWS_SCHEMA))
    set_aside: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=SET_ASIDE_SCHEMA))
    checks: pl.DataFrame | None = None
    allocated: pl.DataFrame | None = None


def own_rating_columns() -> list[pl.Expr]:
    """``rating_source`` and ``unrated_reason`` of units rated in their own right.

    ``rating_source`` is ``own`` for a rated row and ``none`` otherwise; a row without a
    rating says why (``not a rating: <rating_status>``).
    """
    return [
        pl.when(pl.col("rating").is_not_null())
        .then(pl.lit("own"))
        .otherwise(pl.lit("none"))
        .alias("rating_source"),
        pl.when(pl.col("rating").is_null())
        .then(pl.concat_str(pl.lit("not a rating: "), pl.col("rating_status").cast(pl.String)))
        .alias("unrated_reason"),
    ]


#: ``inherited_note`` of a rating the ratings file itself flags as inherited
FILE_INHERITED_NOTE: Final = (
    "the file flags the rating as inherited ({flag} = Y) but does not say from which provider"
)


def file_inherited() -> pl.Expr:
    """Return True on a rated row whose ratings file flags it as inherited (``inherited``)."""
    return pl.col("inherited").fill_null(False) & pl.col("rating").is_not_null()


def file_inherited_columns(flag: str) -> list[pl.Expr]:
    """``rating_source = inherited`` and ``inherited_note`` on rows the file flags.

    Apply after :func:`own_rating_columns`; needs the ``inherited`` (Boolean) and
    ``rating`` columns; ``flag`` names the file's column in the note.
    """
    return [
        pl.when(file_inherited())
        .then(pl.lit("inherited"))
        .otherwise(pl.col("rating_source"))
        .alias("rating_source"),
        pl.when(file_inherited())
        .then(pl.lit(FILE_INHERITED_NOTE.format(flag=flag)))
        .alias("inherited_note"),
    ]


def day_precision_columns() -> list[pl.Expr]:
    """``publication_year`` and ``publication_date_precision`` (``day``) of dated rows."""
    known = pl.col("publication_date").is_not_null()
    return [
        pl.col("publication_date").dt.year().cast(pl.Int32).alias("publication_year"),
        pl.when(known).then(pl.lit("day")).alias("publication_date_precision"),
    ]


def finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Give placed rows the mapped-ratings columns and dtypes, sorted and validated."""
    cols = MAPPED_RATINGS.column_names
    for c in cols:
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, MAPPED_RATINGS.column(c).dtype).alias(c))
    frame = frame.select([pl.col(c).cast(MAPPED_RATINGS.column(c).dtype) for c in cols]).sort(
        "sector", "icb_code", "provider_id", "key_question"
    )
    return validate(frame, MAPPED_RATINGS).frame


# --------------------------------------------------------------------------- conservation


def loader_accounts(source: str, quarantined: int, superseded: int) -> pl.DataFrame:
    """Rows a loader set aside, in the accounts layout."""
    return pl.DataFrame(
        {
            "source": [source, source],
            "outcome": ["quarantined", "superseded"],
            "n_rows": [quarantined, superseded],
        },
        schema=ACCOUNT_SCHEMA,
    )


def conservation(accounts: pl.DataFrame, n_input_rows: dict[str, int]) -> pl.DataFrame:
    """Per source: rows per outcome, their total, the input rows, and whether they balance.

    Every input row must be counted exactly once as used, inherited, superseded,
    quarantined, unmapped, stale, inherited_excluded, ambulance_excluded or not_registered:
    ``balanced`` is
    ``total == n_input_rows``.
    """
    wide = (
        accounts.group_by("source", "outcome")
        .agg(pl.col("n_rows").sum())
        .pivot(on="outcome", index="source", values="n_rows")
    )
    for o in OUTCOMES:
        if o not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.Int64).alias(o))
    inputs = pl.DataFrame(
        {"source": list(n_input_rows), "n_input_rows": list(n_input_rows.values())},
        schema={"source": pl.String, "n_input_rows": pl.Int64},
    )
    return (
        wide.select("source", *[pl.col(o).fill_null(0).cast(pl.Int64) for o in OUTCOMES])
        .with_columns(pl.sum_horizontal(*OUTCOMES).alias("total"))
        .join(inputs, on="source", how="full", coalesce=True)
        .with_columns(
            (pl.col("total") == pl.col("n_input_rows")).fill_null(False).alias("balanced")
        )
        .sort("source")
    )
