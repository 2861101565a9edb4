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
    TRUST_TYPE_ALL,
    TRUST_TYPES,
    VIEW_KEY_QUESTIONS,
    KeyQuestionEnum,
    SectorEnum,
    rating_count_exprs,
    score_expr,
    short_icb_name,
    wilson_exprs,
)

_rated = pl.col("rating").is_not_null()
_SHARE = dict(nullable=True, min_value=0.0, max_value=1.0)
#: the two shares and their Wilson limits, in the ICS view and the view by trust type
_SHARE_COLUMNS = (
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
)
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
        *_SHARE_COLUMNS,
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


# --------------------------------------------------------------------------- views by type
_WEIGHTED = dict(nullable=False, min_value=0.0)
ICS_VIEW_BY_TRUST_TYPE = Contract.closed(
    "ics_view_by_trust_type",
    (
        Column("icb_code", pl.String, nullable=False, description="ICB ODS code"),
        Column("icb_gss", pl.String, description="ICB GSS code (E54...)"),
        Column("icb_name", pl.String, nullable=False),
        Column("sector", SectorEnum, nullable=False),
        Column(
            "trust_type",
            pl.String,
            nullable=False,
            allowed=frozenset((*TRUST_TYPES, TRUST_TYPE_ALL)),
            description="the providers' trust_type, or 'all' (every type of the sector)",
        ),
        Column("key_question", KeyQuestionEnum, nullable=False),
        Column(
            "n_providers",
            pl.Int64,
            nullable=False,
            min_value=0,
            description="providers counted in the ICB, whole or shared, rated or not",
        ),
        Column(
            "n_shared",
            pl.Int64,
            nullable=False,
            min_value=0,
            description="of which shared with other ICBs (weight below 1: ambulance trusts "
            "under mapping.ambulance = shared)",
        ),
        Column(
            "n_providers_weighted",
            pl.Float64,
            **_WEIGHTED,
            description="sum of the providers' weights (1 for a provider placed in one ICB, "
            "its population share for a shared one): provider-equivalents",
        ),
        Column("n_rated", pl.Float64, **_WEIGHTED, description="weighted rated providers"),
        *(
            Column(c, pl.Float64, **_WEIGHTED, description=f"weighted {label} ratings")
            for label, c in RATING_COUNT_COLUMNS.items()
        ),
        Column(
            "n_rated_effective",
            pl.Float64,
            **_WEIGHTED,
            description="Kish effective number of rated providers (sum w)^2 / sum w^2: the "
            "denominator of the Wilson intervals; equals n_rated when no weight is below 1",
        ),
        *_SHARE_COLUMNS,
        Column(
            "mean_score",
            pl.Float64,
            min_value=1.0,
            max_value=4.0,
            description="weighted mean of Outstanding 4 ... Inadequate 1 over rated providers",
        ),
        Column("ratings_vintage", pl.String, nullable=False),
    ),
    key=("icb_code", "sector", "trust_type", "key_question"),
    description="One row per ICB x sector x trust type (and 'all') x key question: weighted "
    "counts, shares with 95% Wilson intervals on the effective number of rated providers, "
    "and the weighted mean score (modelled ICS summaries; no official ICS ratings exist).",
)


def ics_view_by(
    mapped: pl.DataFrame,
    icbs: pl.DataFrame,
    *,
    vintages: dict[str, str],
    by: str = "trust_type",
    allocated: pl.DataFrame | None = None,
    confidence: float = 0.95,
) -> pl.DataFrame:
    r"""Count placed provider ratings per ICB x sector x ``by`` x key question, weighted.

    Parameters
    ----------
    mapped : the ``mapped_ratings`` frame; rows whose ``by`` value is null (sectors
        without trust types, e.g. GP practices) are not counted.
    icbs : every ICB of the vintage: each appears for every sector and type present.
    vintages : sector -> description of the ratings' vintage.
    by : the column to cut by (``trust_type``).
    allocated : rows of providers shared among ICBs, one per ICB, with ``icb_weight``
        (:data:`ics_model.mapping.ambulance.ALLOCATED`), or None.
    confidence : level of the Wilson intervals.

    Returns
    -------
    pl.DataFrame
        The :data:`ICS_VIEW_BY_TRUST_TYPE` frame. A provider placed in one ICB has weight
        :math:`w = 1`; a shared one has its population weight in each ICB it serves (its
        weights sum to 1). Counts are weighted sums, :math:`n = \sum_i w_i` over the
        providers of the cell, so they are provider-equivalents, not whole providers;
        ``n_providers`` counts the providers themselves. Shares are
        :math:`\hat p = \sum_i w_i y_i / \sum_i w_i`. Their Wilson score intervals
        (Wilson 1927) are computed on Kish's effective sample size
        :math:`n_{eff} = (\sum w_i)^2 / \sum w_i^2` in place of :math:`n`, with
        :math:`x = \hat p\, n_{eff}` (Kish 1965; the effective-size Wilson interval
        evaluated by Dean and Pagano 2015); with every weight 1 this is the ordinary
        Wilson interval of the ICS view. ``mean_score`` is
        :math:`\sum w_i s_i / \sum w_i`. Rows with trust type ``all`` sum over the sector's
        types.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley, section 11.7. Wilson, E. B. (1927).
    *JASA* 22, 209-212. Dean, N. and Pagano, M. (2015). Evaluating confidence interval
    methods for binomial proportions in clustered surveys. *Journal of Survey Statistics
    and Methodology* 3(4), 484-503.

    Examples
    --------
    One trust placed in ICB A (Good) and a shared trust counted 0.25 in A (Inadequate):

    >>> import polars as pl
    >>> icbs = pl.DataFrame({"icb_code": ["A"], "icb_gss": ["E54000001"], "icb_name": ["A"]})
    >>> mapped = pl.DataFrame(
    ...     {
    ...         "sector": ["nhs_trust"], "provider_id": ["T1"], "key_question": ["Overall"],
    ...         "rating": ["Good"], "icb_code": ["A"], "trust_type": ["acute"],
    ...     }
    ... )
    >>> shared = mapped.with_columns(
    ...     provider_id=pl.lit("AMB"), rating=pl.lit("Inadequate"),
    ...     trust_type=pl.lit("ambulance"), icb_weight=pl.lit(0.25),
    ... )
    >>> v = ics_view_by(mapped, icbs, vintages={}, allocated=shared)
    >>> row = v.filter((pl.col("trust_type") == "all") & (pl.col("key_question") == "Overall"))
    >>> row.select("n_providers", "n_rated", "share_good_or_outstanding").row(0)
    (2, 1.25, 0.8)
    >>> round(row["n_rated_effective"][0], 4)  # 1.25^2 / (1 + 0.0625)
    1.4706
    """
    keys = ["icb_code", "sector", by, "key_question"]
    cols = ["sector", "provider_id", "key_question", "rating", "icb_code", by]
    frames = [mapped.select(cols).with_columns(pl.lit(1.0).alias("_w"))]
    if allocated is not None and allocated.height:
        frames.append(allocated.select(*cols, pl.col("icb_weight").alias("_w")))
    rows = pl.concat(
        [f.with_columns(pl.col(c).cast(pl.String) for c in cols) for f in frames]
    ).filter(pl.col(by).is_not_null())
    rows = pl.concat([rows, rows.with_columns(pl.lit(TRUST_TYPE_ALL).alias(by))])
    rated = pl.col("rating").is_not_null()
    w = pl.col("_w")
    score = score_expr("rating").cast(pl.Float64)
    counts = rows.group_by(keys).agg(
        pl.col("provider_id").n_unique().cast(pl.Int64).alias("n_providers"),
        (w < 1).sum().cast(pl.Int64).alias("n_shared"),
        w.sum().alias("n_providers_weighted"),
        w.filter(rated).sum().alias("n_rated"),
        *(
            w.filter(pl.col("rating") == label).sum().alias(c)
            for label, c in RATING_COUNT_COLUMNS.items()
        ),
        (w * w).filter(rated).sum().alias("_w2"),
        (w * score).filter(rated).sum().alias("_ws"),
    )
    present = rows.select("sector", by, "key_question").unique()
    grid = icbs.select("icb_code", "icb_gss", "icb_name").join(present, how="cross")
    n_cols = ["n_providers", "n_shared", "n_providers_weighted", "n_rated"]
    n_cols += [*RATING_COUNT_COLUMNS.values(), "_w2", "_ws"]
    some = pl.col("n_rated") > 0
    view = (
        grid.join(counts, on=keys, how="left")
        .with_columns(pl.col(c).fill_null(0) for c in n_cols)
        .with_columns(
            pl.when(some)
            .then(pl.col("n_rated") ** 2 / pl.col("_w2"))
            .otherwise(0.0)
            .alias("n_rated_effective"),
            # weighted sums: clip the rounding error of the float division
            pl.when(some)
            .then((pl.col("n_outstanding") / pl.col("n_rated")).clip(0.0, 1.0))
            .alias("share_outstanding"),
            pl.when(some)
            .then(((pl.col("n_good") + pl.col("n_outstanding")) / pl.col("n_rated")).clip(0.0, 1.0))
            .alias("share_good_or_outstanding"),
            pl.when(some)
            .then((pl.col("_ws") / pl.col("n_rated")).clip(1.0, 4.0))
            .alias("mean_score"),
        )
        .with_columns(
            (pl.col("share_outstanding") * pl.col("n_rated_effective")).alias("_x_o"),
            (pl.col("share_good_or_outstanding") * pl.col("n_rated_effective")).alias("_x_go"),
        )
        .with_columns(
            *wilson_exprs("_x_o", "n_rated_effective", "share_outstanding", confidence),
            *wilson_exprs("_x_go", "n_rated_effective", "share_good_or_outstanding", confidence),
            pl.col("sector").cast(SectorEnum),
            pl.col("key_question").cast(KeyQuestionEnum),
            pl.col("sector")
            .replace_strict(vintages, default="unknown", return_dtype=pl.String)
            .alias("ratings_vintage"),
        )
        .rename({by: "trust_type"})
        .select(ICS_VIEW_BY_TRUST_TYPE.column_names)
        .sort("icb_code", "sector", "trust_type", "key_question")
    )
    return validate(view, ICS_VIEW_BY_TRUST_TYPE).frame


def find_icb(query: str, icbs: pl.DataFrame) -> str:
    """Return the ICB code ``query`` names: a code in any case, or a name, full or short.

    A name matches case-insensitively with or without "NHS ... Integrated Care Board";
    otherwise a part of a name matches when it names one ICB only.

    Parameters
    ----------
    query : e.g. ``"qe1"``, ``"QE1"``, ``"Lancashire and South Cumbria"``, ``"cumbria"``.
    icbs : the run's ICBs (``result.views.icbs``: ``icb_code``, ``icb_name``).

    Raises
    ------
    ValueError
        No ICB, or several, match; the message lists the closest names with their codes.

    Examples
    --------
    >>> icbs = pl.DataFrame({"icb_code": ["QE1", "QWE"], "icb_name": [
    ...     "NHS Lancashire and South Cumbria Integrated Care Board",
    ...     "NHS South West London Integrated Care Board"]})
    >>> find_icb("qe1", icbs), find_icb("south west london", icbs), find_icb("Cumbria", icbs)
    ('QE1', 'QWE', 'QE1')
    """
    import difflib

    if not isinstance(query, str) or not query.strip():
        raise ValueError(f"name an ICB by its code or name, got {query!r}")
    codes = icbs["icb_code"].to_list()
    names = [short_icb_name(n) for n in icbs["icb_name"].to_list()]
    q = short_icb_name(query.strip()).casefold()
    for code, name, full in zip(codes, names, icbs["icb_name"].to_list(), strict=True):
        if q in (code.casefold(), name.casefold(), full.casefold()):
            return code
    partial = [c for c, n in zip(codes, names, strict=True) if q in n.casefold()]
    if len(partial) == 1:
        return partial[0]
    label = dict(zip(codes, names, strict=True))
    if partial:
        listed = "; ".join(f"{c} {label[c]}" for c in partial)
        raise ValueError(f"{query!r} matches {len(partial)} ICBs: {listed}; name one")
    close = difflib.get_close_matches(q, [n.casefold() for n in names], n=3, cutoff=0.4)
    by_name = {n.casefold(): c for c, n in zip(codes, names, strict=True)}
    hint = "; ".join(f"{by_name[n]} {label[by_name[n]]}" for n in close)
    raise ValueError(
        f"no ICB matches {query!r}"
        + (f"; closest: {hint}" if hint else "")
        + f" ({len(codes)} ICBs: result.views.icbs lists them)"
    )
