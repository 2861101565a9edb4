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


def share_rating_expr(rs: ShareThresholdsRuleSet) -> pl.Expr:
    """Expression: the first rule whose bounds all hold (null below ``min_rated``)."""
    out = pl.when(pl.col("n_rated") < rs.min_rated).then(pl.lit(None, pl.String))
    for rule in rs.rules:
        cond = pl.lit(True)
        if rule.min_share_outstanding is not None:
            cond = cond & (pl.col("_s_o") >= rule.min_share_outstanding)
        if rule.min_share_good_or_outstanding is not None:
            cond = cond & (pl.col("_s_go") >= rule.min_share_good_or_outstanding)
        if rule.max_share_inadequate is not None:
            cond = cond & (pl.col("_s_i") <= rule.max_share_inadequate)
        if rule.max_share_requires_improvement_or_worse is not None:
            cond = cond & (pl.col("_s_ri") <= rule.max_share_requires_improvement_or_worse)
        out = out.when(cond).then(pl.lit(rule.rating))
    return out.otherwise(pl.lit(None, pl.String))


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
        :math:`\bar c = (1 n_O + 2 n_G + 3 n_{RI} + 4 n_I) / n_{rated}`, 1 = best), a
        ``note`` where no rating is given, and ``label`` = "modelled ...".
    """
    rs = get_rule_set(rule_set)
    base = _shares(view)
    keys = ["icb_code", "sector", "key_question", "n_rated"]
    if isinstance(rs, ShareThresholdsRuleSet):
        out = base.select(
            *keys,
            share_rating_expr(rs).alias("modelled_ics_rating"),
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
        out = base.select(*keys, "mean_code", seg.alias("modelled_ics_segment"))
        value = "modelled_ics_segment"
    else:
        raise TypeError(
            f"rule set {rs.name!r} (kind {rs.kind!r}) is not an ICS-level rule set; use a "
            "'share_thresholds' or 'segmentation' rule set"
        )
    return out.with_columns(
        pl.lit(rs.name).alias("rule_set"),
        pl.when(pl.col(value).is_null())
        .then(pl.format("fewer than {} rated providers", pl.lit(rs.min_rated)))
        .alias("note"),
        pl.lit(MODELLED_LABEL).alias("label"),
    )


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
