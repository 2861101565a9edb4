"""ICS-level *modelled* ratings: CQC never rated ICSs.

Count-based principles do not scale to systems (two Inadequate practices among 400
would make an ICS Inadequate), so ICS-level rule sets use shares
(:class:`~ics_model.rules.rulesets.ShareThresholdsRuleSet`) or a NOF-style
segmentation of mean provider codes
(:class:`~ics_model.rules.rulesets.SegmentationRuleSet`, 1 = best).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ics_model.ratings import RATING_COUNT_COLUMNS, RATING_LABELS, score_expr
from ics_model.rules.rulesets import SegmentationRuleSet, ShareThresholdsRuleSet, get_rule_set

MODELLED_LABEL = "modelled (CQC has never rated ICSs)"


def _shares(view: pl.DataFrame) -> pl.DataFrame:
    n = pl.col("n_rated")
    return view.with_columns(
        pl.when(n > 0).then(pl.col("n_outstanding") / n).alias("_s_o"),
        pl.when(n > 0).then((pl.col("n_good") + pl.col("n_outstanding")) / n).alias("_s_go"),
        pl.when(n > 0).then(pl.col("n_inadequate") / n).alias("_s_i"),
        pl.when(n > 0)
        .then((pl.col("n_requires_improvement") + pl.col("n_inadequate")) / n)
        .alias("_s_ri"),
    )


def share_rule_expr(rs: ShareThresholdsRuleSet) -> pl.Expr:
    """Expression: the 1-based number of the first rule whose bounds all hold.

    Null below ``min_rated`` rated providers or when no rule holds.
    """
    out = pl.when(pl.col("n_rated") < rs.min_rated).then(pl.lit(None, pl.Int32))
    for i, rule in enumerate(rs.rules, start=1):
        cond = pl.lit(True)
        if rule.min_share_outstanding is not None:
            cond = cond & (pl.col("_s_o") >= rule.min_share_outstanding)
        if rule.min_share_good_or_outstanding is not None:
            cond = cond & (pl.col("_s_go") >= rule.min_share_good_or_outstanding)
        if rule.min_share_inadequate is not None:
            cond = cond & (pl.col("_s_i") >= rule.min_share_inadequate)
        if rule.max_share_inadequate is not None:
            cond = cond & (pl.col("_s_i") <= rule.max_share_inadequate)
        if rule.max_share_requires_improvement_or_worse is not None:
            cond = cond & (pl.col("_s_ri") <= rule.max_share_requires_improvement_or_worse)
        out = out.when(cond).then(pl.lit(i, pl.Int32))
    return out.otherwise(pl.lit(None, pl.Int32))


def worst_rating_expr() -> pl.Expr:
    """Expression: the worst rating among a view row's rated providers (null if none)."""
    out = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    for label in RATING_LABELS:  # worst first
        out = out.when(pl.col(RATING_COUNT_COLUMNS[label]) > 0).then(pl.lit(label))
    return out.otherwise(pl.lit(None, pl.String))


def _share_ratings(base: pl.DataFrame, rs: ShareThresholdsRuleSet) -> pl.DataFrame:
    """Apply a share rule set, then the worst-provider floor (see the rule set's docs)."""
    rating_of = {i: r.rating for i, r in enumerate(rs.rules, start=1)}
    below_ok = {i: r.below_worst_provider for i, r in enumerate(rs.rules, start=1)}
    rule = pl.col("_rule")
    out = base.with_columns(share_rule_expr(rs).alias("_rule"), worst_rating_expr().alias("_worst"))
    out = out.with_columns(
        rule.replace_strict(rating_of, default=None, return_dtype=pl.String).alias("_by_rule"),
        rule.replace_strict(below_ok, default=False, return_dtype=pl.Boolean).alias("_below_ok"),
    )
    raise_it = (
        pl.lit(rs.floor_at_worst_provider)
        & ~pl.col("_below_ok")
        & (score_expr("_worst") > score_expr("_by_rule")).fill_null(False)
    )
    return out.with_columns(
        pl.when(raise_it)
        .then(pl.col("_worst"))
        .otherwise(pl.col("_by_rule"))
        .alias("modelled_ics_rating"),
        pl.when(rule.is_not_null())
        .then(pl.format("{}: {}", rule, pl.col("_by_rule")))
        .alias("rule"),
        pl.col("_worst").alias("worst_provider_rating"),
        pl.when(raise_it)
        .then(
            pl.format(
                "raised from {} (rule {}) to the worst rated provider's rating: no system is "
                "rated below its worst provider",
                pl.col("_by_rule"),
                rule,
            )
        )
        .when(pl.col("_below_ok") & (score_expr("_worst") > score_expr("_by_rule")))
        .then(
            pl.format(
                "below the worst rated provider ({}) by rule {}, which says so explicitly",
                pl.col("_worst"),
                rule,
            )
        )
        .alias("_floor_note"),
    )


def ics_modelled_ratings(view: pl.DataFrame, rule_set: Any) -> pl.DataFrame:
    r"""Modelled ICS ratings (or segments) from an ICS view's counts.

    Parameters
    ----------
    view : the ``ics_view`` frame (counts per ICB x sector x key question).
    rule_set : a ``share_thresholds`` or ``segmentation`` rule set.

    Returns
    -------
    pl.DataFrame
        icb_code, sector, key_question, n_rated, rule_set, ``modelled_ics_rating`` (share
        rule sets) or ``modelled_ics_segment`` plus ``mean_code`` (segmentation:
        :math:`\bar c = (1 n_O + 2 n_G + 3 n_{RI} + 4 n_I) / n_{rated}`, 1 = best),
        ``rule`` (share rule sets: the first rule that holds, ``"<n>: <rating>"``),
        ``worst_provider_rating``, a ``note`` where no rating is given or the
        worst-provider floor raised it, and ``label`` = "modelled ...".
    """
    rs = get_rule_set(rule_set)
    base = _shares(view)
    keys = ["icb_code", "sector", "key_question", "n_rated"]
    if isinstance(rs, ShareThresholdsRuleSet):
        out = _share_ratings(base, rs).select(
            *keys, "modelled_ics_rating", "rule", "worst_provider_rating", "_floor_note"
        )
        value = "modelled_ics_rating"
    elif isinstance(rs, SegmentationRuleSet):
        n = pl.col("n_rated")
        mean_code = (
            pl.col("n_outstanding")
            + 2 * pl.col("n_good")
            + 3 * pl.col("n_requires_improvement")
            + 4 * pl.col("n_inadequate")
        ) / n
        base = base.with_columns(
            pl.when(n >= rs.min_rated).then(mean_code).alias("mean_code"),
        )
        if rs.method == "quartiles":
            q = [
                pl.col("mean_code")
                .quantile(p, interpolation="linear")
                .over("sector", "key_question")
                for p in (0.25, 0.5, 0.75)
            ]
        else:
            q = [pl.lit(c) for c in rs.cuts]
        seg = (
            pl.when(pl.col("mean_code").is_null())
            .then(pl.lit(None, pl.Int8))
            .when(pl.col("mean_code") <= q[0])
            .then(pl.lit(1, pl.Int8))
            .when(pl.col("mean_code") <= q[1])
            .then(pl.lit(2, pl.Int8))
            .when(pl.col("mean_code") <= q[2])
            .then(pl.lit(3, pl.Int8))
            .otherwise(pl.lit(4, pl.Int8))
        )
        if rs.cap_share_inadequate is not None:
            seg = (
                pl.when(seg.is_not_null() & (pl.col("_s_i") >= rs.cap_share_inadequate))
                .then(pl.max_horizontal(seg, pl.lit(rs.cap_segment, pl.Int8)))
                .otherwise(seg)
            )
        out = base.select(
            *keys,
            "mean_code",
            seg.alias("modelled_ics_segment"),
            pl.lit(None, pl.String).alias("rule"),
            worst_rating_expr().alias("worst_provider_rating"),
            pl.lit(None, pl.String).alias("_floor_note"),
        )
        value = "modelled_ics_segment"
    else:
        raise TypeError(
            f"rule set {rs.name!r} (kind {rs.kind!r}) is not an ICS-level rule set; use a "
            "'share_thresholds' or 'segmentation' rule set"
        )
    return out.with_columns(
        pl.lit(rs.name).alias("rule_set"),
        pl.when(pl.col("n_rated") < rs.min_rated)
        .then(pl.format("fewer than {} rated providers", pl.lit(rs.min_rated)))
        .when(pl.col(value).is_null())
        .then(pl.lit("no rule of the rule set holds"))
        .otherwise(pl.col("_floor_note"))
        .alias("note"),
        pl.lit(MODELLED_LABEL).alias("label"),
    ).drop("_floor_note")


def add_modelled_ratings(
    view: pl.DataFrame, rule_sets: tuple[str, ...]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add modelled ICS ratings per rule set to a view (*modelled*: CQC never rated ICSs).

    Parameters
    ----------
    view : an ICS view (:data:`ics_model.views.ICS_VIEW`).
    rule_sets : names of ICS-level rule sets (share- or segment-based).

    Returns
    -------
    tuple of pl.DataFrame
        The view with one ``modelled_<name>`` column per rule set (Overall rows), and the
        modelled ratings long (one row per ICS x sector x key question x rule set, with
        ``n_rated``, a ``note`` and a ``label``).
    """
    frames = []
    for name in rule_sets:
        m = ics_modelled_ratings(view, name)
        value = (
            "modelled_ics_rating"
            if "modelled_ics_rating" in m.columns
            else ("modelled_ics_segment")
        )
        frames.append(
            m.select(
                "icb_code",
                "sector",
                "key_question",
                "rule_set",
                pl.col(value).cast(pl.String).alias("modelled_value"),
                pl.lit(value).alias("kind"),
                "n_rated",
                "rule",
                "worst_provider_rating",
                "note",
                "label",
            )
        )
        overall = m.filter(pl.col("key_question") == "Overall").select(
            "icb_code",
            "sector",
            "key_question",
            pl.col(value).cast(pl.String).alias(f"modelled_{name}"),
        )
        view = view.join(overall, on=["icb_code", "sector", "key_question"], how="left")
    long = pl.concat(frames) if frames else pl.DataFrame()
    return view, long
