"""ICS views: provider ratings counted per ICB x sector x key question.

Every ICS figure here is a *modelled* summary of provider ratings: there are no
official ICS ratings.
"""

from __future__ import annotations

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.mapping.age import rated_before_ics
from ics_model.ratings import (
    RATING_COUNT_COLUMNS,
    VIEW_KEY_QUESTIONS,
    KeyQuestionEnum,
    SectorEnum,
    rating_count_exprs,
    score_expr,
    wilson_exprs,
)

_rated = pl.col("rating").is_not_null()
_SHARE = dict(nullable=True, min_value=0.0, max_value=1.0)
ICS_VIEW = Contract(
    name="ics_view",
    description="One row per ICB x sector x key question: counts, shares with 95% Wilson "
    "intervals, and the mean score (Outstanding 4 ... Inadequate 1) over rated providers.",
    columns=(
        Column("icb_code", pl.String, nullable=False, description="ICB ODS code"),
        Column("icb_gss", pl.String, description="ICB GSS code (E54...)"),
        Column("icb_name", pl.String, nullable=False),
        Column("sector", SectorEnum, nullable=False),
        Column("key_question", KeyQuestionEnum, nullable=False),
        Column(
            "n_providers",
            pl.Int64,
            nullable=False,
            min_value=0,
            description="providers (units) placed in the ICB, rated or not",
        ),
        Column("n_rated", pl.Int64, nullable=False, min_value=0),
        Column("n_outstanding", pl.Int64, nullable=False, min_value=0),
        Column("n_good", pl.Int64, nullable=False, min_value=0),
        Column("n_requires_improvement", pl.Int64, nullable=False, min_value=0),
        Column("n_inadequate", pl.Int64, nullable=False, min_value=0),
        Column("share_outstanding", pl.Float64, **_SHARE, description="n_outstanding / n_rated"),
        Column("share_outstanding_lower", pl.Float64, **_SHARE),
        Column("share_outstanding_upper", pl.Float64, **_SHARE),
        Column(
            "share_good_or_outstanding",
            pl.Float64,
            **_SHARE,
            description="(n_good + n_outstanding) / n_rated",
        ),
        Column("share_good_or_outstanding_lower", pl.Float64, **_SHARE),
        Column("share_good_or_outstanding_upper", pl.Float64, **_SHARE),
        Column(
            "mean_score",
            pl.Float64,
            min_value=1.0,
            max_value=4.0,
            description="mean of Outstanding 4, Good 3, RI 2, Inadequate 1 over rated",
        ),
        Column(
            "median_rating_age_years",
            pl.Float64,
            description="median rating_age_years of rated providers (at ratings_as_of)",
        ),
        Column(
            "share_rated_before_ics",
            pl.Float64,
            **_SHARE,
            description="share of rated providers whose rating was published before ICSs "
            "became statutory (1 July 2022), over those for which it is known",
        ),
        Column(
            "n_rated_premerger",
            pl.Int64,
            nullable=False,
            min_value=0,
            description="rated providers whose rating predates their trust's absorbing "
            "another rated trust (rating_predates_merger); 0 for sectors without mergers",
        ),
        Column("ratings_vintage", pl.String, nullable=False),
    ),
    key=("icb_code", "sector", "key_question"),
)


def ics_view(
    mapped: pl.DataFrame,
    icbs: pl.DataFrame,
    *,
    vintages: dict[str, str],
    confidence: float = 0.95,
    sectors: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    r"""Count placed provider ratings per ICB x sector x key question.

    Parameters
    ----------
    mapped : the ``mapped_ratings`` frame (one row per sector x provider x key question).
    icbs : every ICB of the vintage (icb_code, icb_gss, icb_name): each appears even with
        no providers, so a missing ICB is never silent.
    vintages : sector -> description of the ratings' vintage (shown in every row).
    confidence : level of the Wilson intervals.

    Returns
    -------
    pl.DataFrame
        The :data:`ICS_VIEW` frame. Shares are over rated providers,
        :math:`\hat p = x / n_{rated}`, with Wilson score intervals (Wilson 1927;
        Newcombe 1998), null when nothing is rated. ``median_rating_age_years`` is the
        median age of the rated providers' ratings at the run's "as of" date.
        ``share_rated_before_ics`` counts rated providers published before 1 July 2022
        over rated providers for which that is known
        (:func:`ics_model.mapping.age.rated_before_ics`: a rating known only by its year
        counts as before for 2021 or earlier, unknown for 2022); null when none is known.
        ``n_rated_premerger`` counts rated providers flagged ``rating_predates_merger``
        (NHS trusts only; 0 elsewhere, and 0 when ``mapping.premerger_ratings = exclude``
        has left those ratings out).
    """
    sectors = sectors or tuple(sorted(set(mapped["sector"].cast(pl.String))))
    grid = pl.concat(
        [
            icbs.select("icb_code", "icb_gss", "icb_name").join(
                pl.DataFrame(
                    {
                        "sector": [s] * len(VIEW_KEY_QUESTIONS[s]),
                        "key_question": list(VIEW_KEY_QUESTIONS[s]),
                    }
                ),
                how="cross",
            )
            for s in sectors
        ]
    ).with_columns(pl.col("sector").cast(SectorEnum), pl.col("key_question").cast(KeyQuestionEnum))
    if "rating_age_years" not in mapped.columns:  # a frame from before ages were added
        mapped = mapped.with_columns(pl.lit(None, pl.Float64).alias("rating_age_years"))
    if "rating_predates_merger" not in mapped.columns:  # a frame from before mergers
        mapped = mapped.with_columns(pl.lit(None, pl.Boolean).alias("rating_predates_merger"))
    before = rated_before_ics() if "publication_date_precision" in mapped.columns else None
    mapped = mapped.with_columns(
        (pl.lit(None, pl.Boolean) if before is None else before).cast(pl.Float64).alias("_before")
    )
    counts = mapped.group_by("icb_code", "sector", "key_question").agg(
        pl.col("provider_id").n_unique().cast(pl.Int64).alias("n_providers"),
        pl.col("rating").is_not_null().sum().cast(pl.Int64).alias("n_rated"),
        *rating_count_exprs("rating"),
        score_expr("rating").cast(pl.Float64).mean().alias("mean_score"),
        pl.col("rating_age_years").filter(_rated).median().alias("median_rating_age_years"),
        pl.col("_before").filter(_rated).mean().alias("share_rated_before_ics"),
        (_rated & pl.col("rating_predates_merger").fill_null(False))
        .sum()
        .cast(pl.Int64)
        .alias("n_rated_premerger"),
    )
    n_cols = ["n_providers", "n_rated", *RATING_COUNT_COLUMNS.values(), "n_rated_premerger"]
    view = (
        grid.join(counts, on=["icb_code", "sector", "key_question"], how="left")
        .with_columns([pl.col(c).fill_null(0) for c in n_cols])
        .with_columns(
            (pl.col("n_good") + pl.col("n_outstanding")).alias("_n_go"),
        )
        .with_columns(
            pl.when(pl.col("n_rated") > 0)
            .then(pl.col("n_outstanding") / pl.col("n_rated"))
            .alias("share_outstanding"),
            pl.when(pl.col("n_rated") > 0)
            .then(pl.col("_n_go") / pl.col("n_rated"))
            .alias("share_good_or_outstanding"),
            *wilson_exprs("n_outstanding", "n_rated", "share_outstanding", confidence),
            *wilson_exprs("_n_go", "n_rated", "share_good_or_outstanding", confidence),
            pl.col("sector")
            .cast(pl.String)
            .replace_strict(vintages, default="unknown")
            .alias("ratings_vintage"),
        )
        .select(ICS_VIEW.column_names)
        .sort("icb_code", "sector", "key_question")
    )
    return validate(view, ICS_VIEW).frame
