r"""How NHS Oversight Framework (NOF) 2025/26 scores and the 2018 CQC trust ratings relate.

An association between two judgements of the same trusts made years apart, not a
validation of either. Two steps:

:func:`match_nof_cqc` pairs each NOF trust (the placed NOF 2025/26 frame,
:data:`~ics_model.mapping.nof.NOF_PLACED`) with the 2018 CQC trust-level **Overall**
rating of the trust mapping (:func:`trust_overall_ratings` of the mapped ratings). The
mapping's unit is the *current* open trust (ODS ``etr``): its ``provider_id`` is the
current code, and the rated 2018 code is that code (``rating_source = own``) or, for a
trust that inherited the rating of its only rated predecessor, ``inherited_from``. So a
NOF trust is matched

1. by the **same ODS code** when its own 2018 rating is in force (``same_code``; a
   rating published before the trust absorbed another rated trust is kept and flagged
   ``cqc_predates_merger``, and the group ``no_merger_since_rating`` leaves it out);
2. through the **ODS successor chain** only where the 2018 trust is the trust's *sole*
   rated predecessor (``sole_predecessor``).

Every other NOF trust is reported in the unmatched frame with its reason: no NOF average
score, not in the CQC trust frame given, no 2018 rating of its own or of a predecessor,
several rated predecessors, a rated predecessor that split, a rating combined from
several trusts (a modelled rating, never compared) or left out by the run's rating
policy. Nothing is dropped silently: ``matched.height + unmatched.height`` is the number
of NOF trusts given.

:func:`nof_cqc_correlation` then gives Spearman's :math:`\rho` and Kendall's
:math:`\tau_b` between the NOF average metric score (1 best - 4 worst) and the CQC rating
coded Outstanding 1, Good 2, Requires improvement 3, Inadequate 4, so that both scales
are lower-is-better and a **positive** correlation means the two agree. The CQC ratings
were published 2014-2018, some seven to twelve years before the NOF data month (March
2026): disagreement mixes change over time with differences of method.
"""

from __future__ import annotations

import logging
from typing import Final

import numpy as np
import polars as pl
from scipy import stats

from ics_model.contracts import require_columns, validate
from ics_model.effects.contracts import (
    NOF_CQC_CORRELATION,
    NOF_CQC_GROUPS,
    NOF_CQC_MATCHED,
    NOF_CQC_UNMATCHED,
)
from ics_model.effects.core import MIN_DRAWS
from ics_model.effects.rank_correlation import (
    bonett_wright_interval,
    bootstrap_rank_correlations,
    fieller_interval,
)
from ics_model.mapping.age import DAYS_PER_YEAR
from ics_model.ratings import NOF_ACUTE_TRUST_TYPE, RATING_SCORES, RATINGS_BEST_FIRST, score_expr

log = logging.getLogger(__name__)

#: the CQC rating code of :func:`match_nof_cqc` is ``CQC_CODE_SUM - RATING_SCORES``:
#: Outstanding 1, Good 2, Requires improvement 3, Inadequate 4 (lower is better)
CQC_CODE_SUM: Final = len(RATING_SCORES) + 1
#: fewest pairs with which a rank correlation is estimated
MIN_PAIRS: Final = 3

#: columns read from the NOF trusts and from the CQC trust frame
NOF_COLUMNS: Final = (
    "org_code",
    "org_name",
    "nhs_trust_type",
    "icb_code",
    "data_month",
    "adjusted_segment",
    "avg_metric_score",
)
CQC_COLUMNS: Final = (
    "provider_id",
    "rating",
    "publication_date",
    "rating_source",
    "inherited_from",
    "unrated_reason",
    "rating_predates_merger",
    "premerger_absorbed",
)
_NOT_IN_FRAME: Final = (
    "not in the CQC trust frame given: not an open English trust placed by the trust "
    "mapping (an ambulance trust shared among ICBs is there only with its allocated rows)"
)


# --------------------------------------------------------------------------- matching


def trust_overall_ratings(
    mapped: pl.DataFrame, allocated: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Return the trust-level Overall rating of every NHS trust the mapping placed.

    Parameters
    ----------
    mapped : mapped ratings (``Result.views.mapped``,
        :data:`~ics_model.mapping.base.MAPPED_RATINGS`); rows of sector ``nhs_trust`` and
        key question ``Overall`` are kept.
    allocated : optional rows of trusts shared among ICBs (ambulance trusts under
        ``mapping.ambulance = shared``: one row per ICB), which leave ``mapped``.

    Returns
    -------
    pl.DataFrame
        One row per trust: the columns :data:`CQC_COLUMNS`, sorted by ``provider_id``.

    Raises
    ------
    ValueError
        When a trust has two different Overall rows.
    """
    frames = [mapped] if allocated is None else [mapped, allocated]
    rows = []
    for frame in frames:
        require_columns(frame.columns, ("sector", "key_question", *CQC_COLUMNS), "mapped ratings")
        overall = (pl.col("sector") == "nhs_trust") & (pl.col("key_question") == "Overall")
        rows.append(frame.filter(overall).select(CQC_COLUMNS))
    out = pl.concat(rows, how="vertical_relaxed").unique(maintain_order=True)
    twice = out.filter(pl.col("provider_id").is_duplicated())["provider_id"].unique()
    if twice.len():
        raise ValueError(
            f"trusts with different Overall rows in the mapped ratings: {sorted(twice)}"
        )
    return out.sort("provider_id")


def _first_of_month(column: str) -> pl.Expr:
    return pl.concat_str(pl.col(column), pl.lit("-01")).str.to_date("%Y-%m-%d")


def match_nof_cqc(
    nof_trusts: pl.DataFrame, cqc_trusts: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Pair each NOF trust with a 2018 CQC Overall rating, or report why none.

    Parameters
    ----------
    nof_trusts : the placed NOF trusts (:data:`~ics_model.mapping.nof.NOF_PLACED`;
        :data:`NOF_COLUMNS` are read), one row per ``org_code``.
    cqc_trusts : :func:`trust_overall_ratings`, or the mapped ratings themselves (a frame
        with ``sector`` and ``key_question`` goes through :func:`trust_overall_ratings`).

    Returns
    -------
    (matched, unmatched)
        ``matched`` (:data:`~ics_model.effects.contracts.NOF_CQC_MATCHED`): the NOF
        columns, the rated 2018 code, the ``match_method`` (``same_code`` or
        ``sole_predecessor``), the rating, its code (Outstanding 1 ... Inadequate 4), its
        publication date and its age in years at the first day of the NOF data month
        (days / 365.25), and whether it predates a merger. ``unmatched``
        (:data:`~ics_model.effects.contracts.NOF_CQC_UNMATCHED`): every other NOF trust
        with ``reason_code`` and ``reason``. Both sorted by ``org_code``.

    Notes
    -----
    The mapping already resolved the ODS successor chains (:mod:`ics_model.mapping.trusts`):
    a trust with several rated predecessors, or whose rated predecessor split, is unrated
    there with an ``unrated_reason``, and that reason is reported here. A rating combined
    from several trusts (``rating_source = combined``: ``mapping.combine_predecessors`` or
    ``mapping.premerger_ratings = combine``) is a modelled rating, not a 2018 judgement of
    one trust, and is not compared. Each 2018 rating reaches at most one current trust, so
    no rating is counted twice.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> nof = pl.DataFrame({"org_code": ["RA1", "RB1", "RC1"], "org_name": ["A", "B", "C"],
    ...     "nhs_trust_type": ["Acute trust"] * 3, "icb_code": ["QAA"] * 3,
    ...     "data_month": ["2026-03"] * 3, "adjusted_segment": [1, 3, 4],
    ...     "avg_metric_score": [1.5, 2.5, 3.2]})
    >>> cqc = pl.DataFrame({"provider_id": ["RA1", "RB1"], "rating": ["Good", None],
    ...     "publication_date": [date(2017, 3, 1), None], "rating_source": ["own", "none"],
    ...     "inherited_from": [None, None], "unrated_reason": [None,
    ...     "several rated predecessors (RX1, RY1); ratings not combined"],
    ...     "rating_predates_merger": [False, False], "premerger_absorbed": [None, None]},
    ...     schema_overrides={"inherited_from": pl.String, "premerger_absorbed": pl.String})
    >>> matched, unmatched = match_nof_cqc(nof, cqc)
    >>> matched.select("org_code", "match_method", "cqc_rating_code").rows()
    [('RA1', 'same_code', 2)]
    >>> round(matched["cqc_rating_age_years"][0], 3)  # 3287 days / 365.25
    8.999
    >>> unmatched.select("org_code", "reason_code").rows()
    [('RB1', 'several_rated_predecessors'), ('RC1', 'not_in_cqc_trust_frame')]
    """
    require_columns(nof_trusts.columns, NOF_COLUMNS, "NOF trusts")
    if {"sector", "key_question"} <= set(cqc_trusts.columns):
        cqc_trusts = trust_overall_ratings(cqc_trusts)
    require_columns(cqc_trusts.columns, CQC_COLUMNS, "CQC trusts")
    for frame, key, what in ((nof_trusts, "org_code", "NOF"), (cqc_trusts, "provider_id", "CQC")):
        twice = frame.filter(pl.col(key).is_duplicated())[key].unique()
        if twice.len():
            raise ValueError(f"{what} trusts listed more than once: {sorted(twice)}")
    cqc = cqc_trusts.select(
        pl.col("provider_id").alias("org_code"),
        pl.col("rating").cast(pl.String).alias("cqc_rating"),
        pl.col("publication_date").alias("cqc_publication_date"),
        "rating_source",
        "inherited_from",
        "unrated_reason",
        pl.col("rating_predates_merger").fill_null(False).alias("cqc_predates_merger"),
        pl.col("premerger_absorbed").alias("cqc_premerger_absorbed"),
        pl.lit(True).alias("_in_cqc"),
    )
    joined = nof_trusts.select(NOF_COLUMNS).join(cqc, on="org_code", how="left")
    rated = pl.col("cqc_rating").is_not_null()
    source = pl.col("rating_source")
    inherited_from = pl.col("inherited_from")
    predecessor = (source == "inherited") & inherited_from.is_not_null()
    why = pl.col("unrated_reason").fill_null("no rating of its own and no rated predecessor")
    reason_code = (
        pl.when(pl.col("avg_metric_score").is_null())
        .then(pl.lit("no_nof_average_score"))
        .when(pl.col("_in_cqc").is_null())
        .then(pl.lit("not_in_cqc_trust_frame"))
        .when(rated & (source == "combined"))
        .then(pl.lit("combined_rating"))
        .when(rated & pl.col("cqc_publication_date").is_null())
        .then(pl.lit("no_publication_date"))
        .when(rated)
        .then(pl.lit(None, pl.String))
        .when(why.str.starts_with("several rated predecessors"))
        .then(pl.lit("several_rated_predecessors"))
        .when(why.str.contains(" split into several organisations", literal=True))
        .then(pl.lit("rated_predecessor_split"))
        .when(why.str.contains("left out (", literal=True))
        .then(pl.lit("rating_left_out"))
        .otherwise(pl.lit("no_2018_rating"))
    )
    reason = (
        pl.when(pl.col("reason_code") == "no_nof_average_score")
        .then(pl.lit("no NOF average metric score in the extract"))
        .when(pl.col("reason_code") == "not_in_cqc_trust_frame")
        .then(pl.lit(_NOT_IN_FRAME))
        .when(pl.col("reason_code") == "combined_rating")
        .then(
            pl.concat_str(
                pl.lit("rating combined from several trusts ("),
                inherited_from.fill_null("?"),
                pl.lit("): a modelled rating, not one trust's 2018 rating"),
            )
        )
        .when(pl.col("reason_code") == "no_publication_date")
        .then(pl.lit("2018 rating without a publication date: its age is unknown"))
        .otherwise(why)
    )
    joined = joined.with_columns(reason_code.alias("reason_code")).with_columns(
        reason.alias("reason"),
        pl.when(predecessor)
        .then(pl.lit("sole_predecessor"))
        .otherwise(pl.lit("same_code"))
        .alias("match_method"),
        pl.when(predecessor).then(inherited_from).otherwise("org_code").alias("cqc_code_2018"),
        (CQC_CODE_SUM - score_expr("cqc_rating")).cast(pl.Int64).alias("cqc_rating_code"),
        (
            (_first_of_month("data_month") - pl.col("cqc_publication_date")).dt.total_days()
            / DAYS_PER_YEAR
        ).alias("cqc_rating_age_years"),
    )
    matched = joined.filter(pl.col("reason_code").is_null())
    unmatched = joined.filter(pl.col("reason_code").is_not_null())
    log.info(
        "NOF-CQC matching: %d of %d NOF trusts matched (%d same code, %d sole predecessor); "
        "%d unmatched: %s",
        matched.height,
        joined.height,
        (matched["match_method"] == "same_code").sum(),
        (matched["match_method"] == "sole_predecessor").sum(),
        unmatched.height,
        dict(unmatched["reason_code"].value_counts().rows()),
    )
    return (
        validate(
            matched.select(NOF_CQC_MATCHED.column_names).sort("org_code"), NOF_CQC_MATCHED
        ).frame,
        validate(
            unmatched.select(NOF_CQC_UNMATCHED.column_names).sort("org_code"), NOF_CQC_UNMATCHED
        ).frame,
    )


# --------------------------------------------------------------------------- correlation


def _finite(v: float) -> float | None:
    return float(v) if v is not None and np.isfinite(v) else None


def _published_range(dates: pl.Series) -> str | None:
    years = dates.dt.year().drop_nulls()
    if years.is_empty():
        return None
    low, high = years.min(), years.max()
    return str(low) if low == high else f"{low}-{high}"


def _note(group: pl.DataFrame, month: str | None) -> str:
    coding = ", ".join(f"{label} {i}" for i, label in enumerate(RATINGS_BEST_FIRST, start=1))
    sign = (
        f"CQC Overall ratings are coded {coding} so that, like the NOF average metric score, "
        "lower is better and a positive correlation means the two agree"
    )
    if group.is_empty():
        return f"{sign}; no matched trust in this group."
    age, years = group["cqc_rating_age_years"], _published_range(group["cqc_publication_date"])
    return (
        f"{sign}; the CQC ratings were published {years}, "
        f"{age.min():.1f}-{age.max():.1f} years (median {age.median():.1f}) before the NOF data "
        f"month {month}, so disagreement mixes change over those years with differences "
        "of method, and four CQC categories make ties heavy (hence tau-b)."
    )


def _group_rows(
    name: str,
    group: pl.DataFrame,
    month: str | None,
    confidence: float,
    draws: int,
    rng: np.random.Generator,
) -> list[dict]:
    x = group["avg_metric_score"].to_numpy().astype(float)
    y = group["cqc_rating_code"].to_numpy().astype(float)
    n = len(x)
    defined = n >= MIN_PAIRS and np.ptp(x) > 0 and np.ptp(y) > 0
    rho = tau = p_rho = p_tau = np.nan
    boot = np.full((0, 2), np.nan)
    if defined:
        sp = stats.spearmanr(x, y)
        kt = stats.kendalltau(x, y, variant="b")
        rho, p_rho, tau, p_tau = sp.statistic, sp.pvalue, kt.statistic, kt.pvalue
        boot = bootstrap_rank_correlations(x, y, draws, rng)
    common = {
        "n": n,
        "confidence": confidence,
        "median_cqc_rating_age_years": group["cqc_rating_age_years"].median(),
        "cqc_published_range": _published_range(group["cqc_publication_date"]),
        "nof_data_month": month,
        "note": _note(group, month),
    }
    rows = []
    for k, (measure, est, p, analytic, method) in enumerate(
        (
            ("spearman_rho", rho, p_rho, bonett_wright_interval, "fisher_z_bonett_wright"),
            ("kendall_tau_b", tau, p_tau, fieller_interval, "fisher_z_fieller"),
        )
    ):
        finite = boot[:, k][np.isfinite(boot[:, k])]
        alpha = 1.0 - confidence
        pct = np.quantile(finite, [alpha / 2, 1 - alpha / 2]) if finite.size else (np.nan, np.nan)
        for interval, (low, high), used in (
            (method, analytic(est, n, confidence), None),
            ("percentile_bootstrap", pct, int(finite.size)),
        ):
            rows.append(
                {
                    "group": name,
                    "measure": measure,
                    "interval_method": interval,
                    "estimate": _finite(est),
                    "lower": _finite(low),
                    "upper": _finite(high),
                    "bootstrap_draws": used,
                    "p_value": _finite(min(max(p, 0.0), 1.0)) if np.isfinite(p) else None,
                    **common,
                }
            )
    return rows


def _groups(matched: pl.DataFrame) -> dict[str, pl.DataFrame]:
    unmerged = (pl.col("match_method") == "same_code") & ~pl.col("cqc_predates_merger")
    groups = {
        "all": matched,
        "acute": matched.filter(pl.col("nhs_trust_type") == NOF_ACUTE_TRUST_TYPE),
        "no_merger_since_rating": matched.filter(unmerged),
    }
    return {name: groups[name] for name in NOF_CQC_GROUPS}


def nof_cqc_correlation(
    matched: pl.DataFrame,
    *,
    confidence: float = 0.95,
    draws: int = 2000,
    rng: np.random.Generator,
) -> pl.DataFrame:
    r"""Rank correlation of the NOF average metric score with the 2018 CQC Overall rating.

    For each trust group -- ``all`` matched trusts, ``acute`` trusts (NOF's acute league
    table) and, as a sensitivity, ``no_merger_since_rating`` (same code, no rated trust
    absorbed after the rating) -- and each measure:

    * **Spearman's rho** (:func:`scipy.stats.spearmanr`: Pearson correlation of mid-ranks;
      p-value from the t approximation), interval on Fisher's z with the Bonett-Wright
      standard error :math:`\sqrt{(1 + \rho^2/2)/(n - 3)}`
      (:func:`~ics_model.effects.rank_correlation.bonett_wright_interval`);
    * **Kendall's tau-b** (:func:`scipy.stats.kendalltau`, ``variant="b"``, the tie-
      corrected tau: the CQC scale has four categories, so ties are heavy; p-value from
      the tie-corrected normal approximation), interval on Fisher's z with the
      Fieller-Hartley-Pearson standard error :math:`\sqrt{0.437/(n - 4)}`
      (:func:`~ics_model.effects.rank_correlation.fieller_interval`).

    Each (group, measure) has a second row, ``interval_method = percentile_bootstrap``:
    the ``(1 - c)/2`` and ``(1 + c)/2`` quantiles of the measure over ``draws`` resamples
    of the group's trusts (resampled with replacement,
    :func:`~ics_model.effects.rank_correlation.bootstrap_rank_correlations`;
    ``bootstrap_draws`` counts the resamples in which it is defined). Estimate and
    p-value repeat on it.

    Both scales are lower-is-better (NOF score 1 best - 4 worst; CQC coded Outstanding 1
    ... Inadequate 4), so a positive correlation means agreement. ``note`` states this and
    the age of the CQC ratings at the NOF data month.

    Parameters
    ----------
    matched : :func:`match_nof_cqc`'s matched frame (one NOF data month).
    confidence : interval level, in (0, 1).
    draws : bootstrap resamples per group, at least
        :data:`~ics_model.effects.core.MIN_DRAWS`.
    rng : the random generator of the bootstrap (the groups draw in turn, in the order
        above).

    Returns
    -------
    pl.DataFrame
        Four rows per group (2 measures x 2 intervals), in
        :data:`~ics_model.effects.contracts.NOF_CQC_CORRELATION`. Below
        :data:`MIN_PAIRS` pairs, or when a scale is constant in the group, estimate,
        interval and p-value are null.

    References
    ----------
    Bonett, D. G. & Wright, T. A. (2000). Sample size requirements for estimating
    Pearson, Kendall and Spearman correlations. *Psychometrika* 65(1), 23-28.
    Fieller, E. C., Hartley, H. O. & Pearson, E. S. (1957). Tests for rank correlation
    coefficients. I. *Biometrika* 44(3/4), 470-481.
    Kendall, M. G. (1945). The treatment of ties in ranking problems. *Biometrika* 33,
    239-251.

    Examples
    --------
    >>> import numpy as np, polars as pl
    >>> from datetime import date
    >>> m = pl.DataFrame({"org_code": list("ABCDE"), "org_name": list("ABCDE"),
    ...     "nhs_trust_type": ["Acute trust"] * 5, "icb_code": ["QAA"] * 5,
    ...     "data_month": ["2026-03"] * 5, "adjusted_segment": [1, 2, 2, 3, 4],
    ...     "avg_metric_score": [1.5, 2.0, 2.4, 2.9, 3.3], "cqc_code_2018": list("ABCDE"),
    ...     "match_method": ["same_code"] * 5, "cqc_rating": ["Outstanding", "Good",
    ...     "Good", "Requires improvement", "Inadequate"], "cqc_rating_code": [1, 2, 2, 3, 4],
    ...     "cqc_publication_date": [date(2016, 3, 1)] * 5,
    ...     "cqc_rating_age_years": [10.0] * 5, "cqc_predates_merger": [False] * 5,
    ...     "cqc_premerger_absorbed": pl.Series([None] * 5, dtype=pl.String)})
    >>> out = nof_cqc_correlation(m, draws=99, rng=np.random.default_rng(1))
    >>> row = out.filter(group="all", interval_method="fisher_z_bonett_wright").row(0, named=True)
    >>> row["n"], round(row["estimate"], 4)  # ties in CQC: mid-ranks 1, 2.5, 2.5, 4, 5
    (5, 0.9747)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if draws < MIN_DRAWS:
        raise ValueError(f"draws must be at least {MIN_DRAWS}, got {draws}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    matched = validate(matched, NOF_CQC_MATCHED).frame
    months = matched["data_month"].unique().sort().to_list()
    if len(months) > 1:
        raise ValueError(f"matched trusts from several NOF data months: {months}")
    month = months[0] if months else None
    rows = [
        row
        for name, group in _groups(matched).items()
        for row in _group_rows(name, group, month, confidence, draws, rng)
    ]
    out = pl.DataFrame(rows, schema=NOF_CQC_CORRELATION.schema)
    return validate(out.select(NOF_CQC_CORRELATION.column_names), NOF_CQC_CORRELATION).frame


__all__ = [
    "CQC_CODE_SUM",
    "CQC_COLUMNS",
    "MIN_PAIRS",
    "NOF_COLUMNS",
    "match_nof_cqc",
    "nof_cqc_correlation",
    "trust_overall_ratings",
]
