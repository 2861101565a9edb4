r"""Single Assessment Framework (SAF) scoring.

Quality statement scores (1 significant shortfalls, 2 some shortfalls, 3 good,
4 exceptional) give a key question's percentage

.. math:: p = 100 \cdot \frac{\sum_s x_s}{4 n}

which falls in a band: 88-100 Outstanding, 63-87 Good, 39-62 Requires improvement,
25-38 Inadequate (CQC, "Assessment framework: scoring", 2023). CQC does not publish
how values between bands (87.5, 62.5, 38.5) are treated, so the rounding is a named
option:

``nearest`` (default)
    round to the nearest whole percent, halves up: 87.5 -> 88 (Outstanding), 62.5 -> 63.
``floor`` / ``ceil``
    round down / up to a whole percent.
``exact``
    no rounding; a value is in a band when it reaches the band's lower edge: 87.5 -> Good.

Key-question ratings combine into the overall rating through a named rule set
(default: the ratings principles -- a modelling choice).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from ics_model.ratings import RATINGS_BEST_FIRST, RatingEnum
from ics_model.rules.engine import combine_ratings
from ics_model.rules.rulesets import SafRuleSet, get_rule_set

ROUNDINGS = ("nearest", "floor", "ceil", "exact")


def _saf(rule_set: Any) -> SafRuleSet:
    rs = get_rule_set(rule_set)
    if not isinstance(rs, SafRuleSet):
        raise TypeError(f"rule set {rs.name!r} is of kind {rs.kind!r}, not 'saf'")
    return rs


def _check_scores(scores: Iterable[int]) -> list[int]:
    out = []
    for s in scores:
        if isinstance(s, bool) or not isinstance(s, int | float) or s not in (1, 2, 3, 4):
            raise ValueError(f"statement scores must be integers 1-4, got {s!r}")
        out.append(int(s))
    if not out:
        raise ValueError("no statement scores")
    return out


def saf_percent(scores: Iterable[int]) -> float:
    """Key-question percentage: 100 * sum(scores) / (4 * n).

    >>> saf_percent([4, 4, 3, 3])
    87.5
    """
    s = _check_scores(scores)
    return 100.0 * sum(s) / (4 * len(s))


def round_percent(value: float, rounding: str = "nearest") -> float:
    """Apply a named rounding rule (see the module docstring).

    >>> round_percent(87.5), round_percent(87.5, "floor"), round_percent(87.5, "exact")
    (88.0, 87.0, 87.5)
    """
    if rounding == "nearest":
        return float(math.floor(value + 0.5))
    if rounding == "floor":
        return float(math.floor(value))
    if rounding == "ceil":
        return float(math.ceil(value))
    if rounding == "exact":
        return value
    raise ValueError(f"unknown rounding {rounding!r}; allowed: {', '.join(ROUNDINGS)}")


def rating_for_percent(value: float, thresholds: Mapping[str, float]) -> str:
    """Return the band a (rounded) percentage falls in."""
    *upper, lowest = RATINGS_BEST_FIRST
    for label in upper:
        if value >= thresholds[label]:
            return label
    return lowest


def saf_rating(
    scores: Iterable[int], rounding: str = "nearest", *, rule_set: Any = "saf_2024"
) -> str:
    """Return the key-question rating for quality statement scores (ints 1-4).

    Examples
    --------
    >>> saf_rating([4, 4, 3, 3])  # 14/16 = 87.5% -> 88 -> Outstanding
    'Outstanding'
    >>> saf_rating([4, 4, 3, 3], rounding="exact")
    'Good'
    """
    rs = _saf(rule_set)
    return rating_for_percent(round_percent(saf_percent(scores), rounding), rs.thresholds)


def saf_overall(
    key_question_scores: Mapping[str, Iterable[int]],
    rounding: str | None = None,
    *,
    rule_set: Any = "saf_2024",
) -> dict[str, str | None]:
    """Rate each key question from its statement scores, then the overall rating.

    The overall rating combines the key-question ratings through the SAF rule set's
    ``overall_rule_set`` (default: the ratings principles).
    """
    rs = _saf(rule_set)
    rnd = rounding or rs.rounding
    out: dict[str, str | None] = {
        kq: saf_rating(scores, rnd, rule_set=rs) for kq, scores in key_question_scores.items()
    }
    out["Overall"] = combine_ratings(list(out.values()), rs.overall_rule_set)
    return out


def saf_frame(
    frame: pl.DataFrame,
    *,
    by: list[str],
    score: str = "score",
    rounding: str | None = None,
    rule_set: Any = "saf_2024",
) -> pl.DataFrame:
    """Vectorised SAF scoring: statement scores -> one rating per ``by`` group.

    Returns ``by`` columns, ``n_statements``, ``percent``, ``percent_rounded`` and
    ``rating`` (rating Enum). Scores outside 1-4 raise ``ValueError`` naming the rows.
    """
    rs = _saf(rule_set)
    rnd = rounding or rs.rounding
    bad = frame.with_row_index("_row").filter(
        pl.col(score).is_null() | ~pl.col(score).is_in([1, 2, 3, 4])
    )
    if bad.height:
        rows = ", ".join(str(r) for r in bad["_row"].head(10).to_list())
        raise ValueError(f"statement scores must be integers 1-4; bad rows: {rows}")
    p = (100.0 * pl.col(score).sum() / (4.0 * pl.len())).alias("percent")
    out = frame.group_by(by, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("n_statements"), p
    )
    rounded = {
        "nearest": (pl.col("percent") + 0.5).floor(),
        "floor": pl.col("percent").floor(),
        "ceil": pl.col("percent").ceil(),
        "exact": pl.col("percent"),
    }
    if rnd not in rounded:
        raise ValueError(f"unknown rounding {rnd!r}; allowed: {', '.join(ROUNDINGS)}")
    t = rs.thresholds
    out = out.with_columns(rounded[rnd].alias("percent_rounded"))
    return out.with_columns(
        pl.when(pl.col("percent_rounded") >= t["Outstanding"])
        .then(pl.lit("Outstanding"))
        .when(pl.col("percent_rounded") >= t["Good"])
        .then(pl.lit("Good"))
        .when(pl.col("percent_rounded") >= t["Requires improvement"])
        .then(pl.lit("Requires improvement"))
        .otherwise(pl.lit("Inadequate"))
        .cast(RatingEnum)
        .alias("rating")
    )
