"""The rating rule engine: combine underlying ratings by a named rule set.

Two forms that give the same answers (tested on random inputs):

- :func:`combine_ratings` -- scalar: an iterable of labels -> one label;
- :func:`combine_frame` -- vectorised polars: a long frame of ratings -> one aggregate
  per group, for thousands of providers at once (no per-row Python).

:func:`aggregate_levels` chains them (services -> key questions -> overall).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from ics_model.ratings import (
    RATING_COUNT_COLUMNS,
    RATING_LABELS,
    RATING_SCORES,
    RATINGS_BEST_FIRST,
    RatingEnum,
    parse_rating,
    rating_count_exprs,
    rating_expr_from_text,
    ratings_above,
)
from ics_model.rules.rulesets import PrinciplesRuleSet, get_rule_set

ENFORCEMENT_CAPS = {
    "requirement_notice": "Requires improvement",  # caps the linked rating at RI
    "warning_notice": "Inadequate",
    "condition": "Inadequate",
}


def _principles(rule_set: Any) -> PrinciplesRuleSet:
    rs = get_rule_set(rule_set)
    if not isinstance(rs, PrinciplesRuleSet):
        raise TypeError(
            f"rule set {rs.name!r} is of kind {rs.kind!r}; combining ratings needs a "
            "'principles' rule set"
        )
    return rs


def rule_from_counts(o: int, g: int, r: int, i: int, rule_set: Any = "cqc_principles") -> str:
    """Return the aggregate for counts of Outstanding, Good, RI and Inadequate ratings.

    See :class:`~ics_model.rules.rulesets.PrinciplesRuleSet` for the rule order.

    >>> rule_from_counts(2, 3, 0, 0)
    'Outstanding'
    >>> rule_from_counts(0, 3, 2, 0)
    'Requires improvement'
    >>> rule_from_counts(0, 4, 0, 1)  # a single Inadequate limits to RI
    'Requires improvement'
    """
    rs = _principles(rule_set)
    n = o + g + r + i
    if n == 0:
        raise ValueError("nothing to combine")
    band = rs.band(n)
    if i >= band.inadequate_limit:
        return "Inadequate"
    if i >= 1:
        return rs.one_inadequate
    if r >= band.ri_limit:
        return "Requires improvement"
    if o >= band.outstanding_min and r == 0 and i == 0:
        return "Outstanding"
    return "Good"


def apply_enforcement(rating: str | None, enforcement: str | None) -> str | None:
    """Apply an enforcement limiter to an aggregate rating.

    A requirement notice caps the linked rating at Requires improvement; a warning notice
    or an imposed condition makes it Inadequate.

    >>> apply_enforcement("Outstanding", "requirement_notice")
    'Requires improvement'
    >>> apply_enforcement("Good", "warning_notice")
    'Inadequate'
    >>> apply_enforcement("Good", None)
    'Good'
    """
    if rating is None or enforcement is None:
        return rating
    if enforcement not in ENFORCEMENT_CAPS:
        raise ValueError(
            f"unknown enforcement {enforcement!r}; allowed: {', '.join(ENFORCEMENT_CAPS)}"
        )
    cap = ENFORCEMENT_CAPS[enforcement]
    if enforcement == "requirement_notice":
        return cap if RATING_SCORES[rating] > RATING_SCORES[cap] else rating
    return cap


def combine_ratings(
    ratings: Iterable[str | None],
    rule_set: Any = "cqc_principles",
    *,
    enforcement: str | None = None,
) -> str | None:
    """Combine underlying rating labels into one aggregate rating.

    Parameters
    ----------
    ratings : labels ("Outstanding", "Good", "Requires improvement", "Inadequate"); None,
        blanks and every label meaning "no rating" (:data:`~ics_model.ratings.NO_RATING_LABELS`:
        "Not rated", "Inspected but not rated", "No published rating", "Insufficient
        evidence to rate", "No action", ...) are ignored.
    rule_set : a rule set name (e.g. ``"cqc_principles"``), YAML path or object.
    enforcement : optional limiter: ``requirement_notice``, ``warning_notice``, ``condition``.

    Returns
    -------
    str or None
        The aggregate label, or None when nothing is rated.

    Raises
    ------
    ValueError
        On a label that is neither a rating nor a known non-rating.

    Examples
    --------
    >>> combine_ratings(["Outstanding", "Outstanding", "Good", "Good", "Good"])
    'Outstanding'
    >>> combine_ratings(["Good", "Requires improvement", "Requires improvement", "Good", "Good"])
    'Requires improvement'
    >>> combine_ratings(["Good", "Not rated", None])  # non-ratings are ignored
    'Good'
    >>> combine_ratings(["Good", "Inspected but not rated", "No published rating"])
    'Good'
    >>> combine_ratings(["Not rated", None, "No action"]) is None
    True
    >>> combine_ratings(["Good"] * 5, enforcement="requirement_notice")
    'Requires improvement'
    """
    counts = dict.fromkeys(RATING_LABELS, 0)
    for label in ratings:
        rating, status = parse_rating(label)
        if status is None:
            raise ValueError(f"unknown rating label {label!r}")
        if rating is not None:
            counts[rating] += 1
    if sum(counts.values()) == 0:
        return None
    out = rule_from_counts(*(counts[label] for label in RATINGS_BEST_FIRST), rule_set)
    return apply_enforcement(out, enforcement)


def counts_rule_expr(
    o: pl.Expr, g: pl.Expr, r: pl.Expr, i: pl.Expr, rule_set: Any = "cqc_principles"
) -> pl.Expr:
    """Polars expression of :func:`rule_from_counts` over count columns (null when n = 0)."""
    rs = _principles(rule_set)
    n = o + g + r + i
    out = pl.when(n == 0).then(pl.lit(None, pl.String))
    for band in rs.bands:
        in_band = n >= band.min_n
        if band.max_n is not None:
            in_band = in_band & (n <= band.max_n)
        out = (
            out.when(in_band & (i >= band.inadequate_limit))
            .then(pl.lit("Inadequate"))
            .when(in_band & (i >= 1))
            .then(pl.lit(rs.one_inadequate))
            .when(in_band & (r >= band.ri_limit))
            .then(pl.lit("Requires improvement"))
            .when(in_band & (o >= band.outstanding_min) & (r == 0) & (i == 0))
            .then(pl.lit("Outstanding"))
            .when(in_band)
            .then(pl.lit("Good"))
        )
    return out.otherwise(pl.lit(None, pl.String)).cast(RatingEnum)


def combine_frame(
    frame: pl.DataFrame,
    *,
    by: Sequence[str],
    rating: str = "rating",
    rule_set: Any = "cqc_principles",
    enforcement: str | None = None,
    name: str = "derived_rating",
) -> pl.DataFrame:
    """Combine a long frame of ratings into one aggregate per ``by`` group (vectorised).

    Parameters
    ----------
    frame : one row per underlying rating; ``rating`` holds labels (String or the rating
        Enum); nulls and labels meaning "no rating" ("Not rated", "Inspected but not
        rated", ...) are ignored. String labels are matched as :func:`combine_ratings`
        matches them (case- and whitespace-insensitive).
    by : grouping columns (e.g. provider and service).
    enforcement : optional column name holding a limiter per group (or None).

    Returns
    -------
    pl.DataFrame
        ``by`` columns, ``n_outstanding``, ``n_good``, ``n_requires_improvement``,
        ``n_inadequate``, ``n_rated`` and ``name`` (the aggregate, rating Enum; null when
        nothing is rated).

    Raises
    ------
    ValueError
        On a String label that is neither a rating nor a known non-rating, naming the
        labels and their rows (0-based).
    """
    if frame.schema[rating] == pl.String:
        frame = _parsed_labels(frame, rating)
    aggs = rating_count_exprs(rating)
    if enforcement is not None:
        aggs.append(pl.col(enforcement).drop_nulls().first().alias("_enforcement"))
    out = frame.group_by(list(by), maintain_order=True).agg(aggs)
    out = out.with_columns(
        (
            pl.col("n_outstanding")
            + pl.col("n_good")
            + pl.col("n_requires_improvement")
            + pl.col("n_inadequate")
        ).alias("n_rated"),
        counts_rule_expr(*map(pl.col, RATING_COUNT_COLUMNS.values()), rule_set).alias(name),
    )
    if enforcement is not None:
        out = out.with_columns(enforcement_expr(pl.col(name), pl.col("_enforcement")).alias(name))
        out = out.drop("_enforcement")
    return out


def _parsed_labels(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Return ``frame`` with the text labels of ``column`` parsed to the rating Enum."""
    parsed, _, known = rating_expr_from_text(column)
    bad = frame.with_row_index("_row").filter(~known)
    if bad.height:
        shown = ", ".join(
            f"{label!r} (row {row})" for row, label in bad.select("_row", column).head(10).rows()
        )
        more = f" and {bad.height - 10} more" if bad.height > 10 else ""
        raise ValueError(f"unknown rating label(s) in {column!r}: {shown}{more}")
    return frame.with_columns(parsed.alias(column))


def enforcement_expr(rating: pl.Expr, enforcement: pl.Expr) -> pl.Expr:
    """Vectorised :func:`apply_enforcement`."""
    txt = rating.cast(pl.String)
    return (
        pl.when(rating.is_null())
        .then(pl.lit(None, pl.String))
        .when(enforcement.is_in(["warning_notice", "condition"]))
        .then(pl.lit("Inadequate"))
        .when(
            (enforcement == "requirement_notice")
            & txt.is_in(list(ratings_above(ENFORCEMENT_CAPS["requirement_notice"])))
        )
        .then(pl.lit(ENFORCEMENT_CAPS["requirement_notice"]))
        .otherwise(txt)
        .cast(RatingEnum)
    )


def aggregate_levels(
    services: pl.DataFrame,
    *,
    provider: str = "provider_id",
    service: str = "service",
    key_question: str = "key_question",
    rating: str = "rating",
    rule_set: Any = "cqc_principles",
) -> dict[str, pl.DataFrame]:
    """Aggregate service ratings up the levels, vectorised.

    1. each service's overall from its key questions (excluding any ``Overall`` rows);
    2. each provider key question from its services' ratings of that key question;
    3. each provider's overall from its key-question ratings.

    Returns a dict with frames ``service_overall``, ``provider_key_questions`` and
    ``provider_overall``. Note that CQC assesses trust-level Well-led separately rather
    than aggregating it; step 2 is a model of the other four.
    """
    kq = services.filter(pl.col(key_question).cast(pl.String) != "Overall")
    service_overall = combine_frame(
        kq, by=[provider, service], rating=rating, rule_set=rule_set, name="service_overall"
    )
    provider_kq = combine_frame(
        kq, by=[provider, key_question], rating=rating, rule_set=rule_set, name="rating"
    )
    provider_overall = combine_frame(
        provider_kq, by=[provider], rating="rating", rule_set=rule_set, name="provider_overall"
    )
    return {
        "service_overall": service_overall,
        "provider_key_questions": provider_kq,
        "provider_overall": provider_overall,
    }
