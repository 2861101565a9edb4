r"""NHS Oversight Framework (NOF) segments rolled up to ICSs (a MODELLED view).

NHS England segments NHS trusts (NOF 2025/26) and plans to score ICBs from 2026/27; there
is no published ICS segment or ICS league table yet. :func:`ics_nof` rolls the placed
trusts' published segments and average metric scores up to their host ICS, for all
segmented trusts and per trust type:

- ``n_segment_<s>``: trusts in segment :math:`s` (1 best ... 4; 5 = intensive support);
- ``share_segment_1_2`` :math:`= (n_1 + n_2) / n` with its Wilson interval (Wilson 1927);
- ``mean_avg_score`` :math:`= \frac1n \sum_i \text{score}_i`, the unweighted mean of the
  trusts' average metric scores (1 best - 4 worst: **lower is better**);
- ``rank``: the ICS's place by ``mean_avg_score`` (1 = lowest mean = best; ties take the
  lowest rank) among the ICSs with at least ``min_trusts`` segmented trusts in the group.

Systems with fewer segmented trusts are listed with their counts but not ranked (a mean
of one or two trusts is that trust, not a system). The interval of the mean and the likely
range of rank come from a bootstrap of trusts within each ICS
(:func:`ics_model.uncertainty.nof.nof_rank_intervals`). Trust types are scored on
different metric sets (NOF 2025/26 has one league table per type): the ``all trusts``
group mixes them, the per-type groups do not.

:func:`nof_metric_rows` gives the ``all trusts`` mean score and share in segments 1-2 as
ICS metrics (``metric:nof_mean_score``, ``metric:nof_share_segment_1_2``) for the composite.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.metrics.catalogue import CATALOGUE_BY_METRIC
from ics_model.ratings import wilson_exprs

#: trust group of the roll-up over every segmented trust of the ICS
ALL_TRUSTS: Final = "all trusts"
#: NOF segments: 1 (best) ... 4, and 5 = intensive support
NOF_SEGMENT_VALUES: Final = (1, 2, 3, 4, 5)
#: the scale, stated wherever NOF scores or segments are shown
LOWER_IS_BETTER: Final = "NOF scores and segments: 1 = best, 4 = worst (lower is better)"
#: the ``scale`` column of the NOF outputs
SCALE: Final = "1 best - 4 worst: lower is better"
#: columns :func:`ics_model.uncertainty.nof.nof_rank_intervals` fills
BOOTSTRAP_COLUMNS: Final = (
    "mean_score_p05",
    "mean_score_p95",
    "rank_median",
    "rank_p05",
    "rank_p95",
)

ICS_NOF: Final = Contract.closed(
    "ics_nof",
    (
        Column.text("icb_code", "ICB (run's vintage)"),
        Column.text("icb_name", "ICB name"),
        Column.text("trust_group", f"'{ALL_TRUSTS}' or an NHS England trust type"),
        Column("n_trusts", pl.Int64, nullable=False, description="segmented trusts placed here"),
        *(
            Column(f"n_segment_{s}", pl.Int64, nullable=False, description=f"trusts in segment {s}")
            for s in NOF_SEGMENT_VALUES
        ),
        Column("n_in_deficit", pl.Int64, nullable=False, description="trusts flagged in deficit"),
        Column("share_segment_1_2", pl.Float64, description="(n_1 + n_2) / n_trusts"),
        Column("share_segment_1_2_lower", pl.Float64, description="Wilson lower limit"),
        Column("share_segment_1_2_upper", pl.Float64, description="Wilson upper limit"),
        Column(
            "mean_avg_score", pl.Float64, description="mean average metric score (lower=better)"
        ),
        Column("mean_score_p05", pl.Float64, description="bootstrap 5th percentile of the mean"),
        Column("mean_score_p95", pl.Float64, description="bootstrap 95th percentile of the mean"),
        Column("ranked", pl.Boolean, nullable=False, description="n_trusts >= min_trusts"),
        Column("rank", pl.Int64, description="1 = lowest mean score (best) among ranked ICSs"),
        Column("rank_median", pl.Float64, description="median rank over bootstrap draws"),
        Column("rank_p05", pl.Float64, description="likely range of rank: 5th percentile"),
        Column("rank_p95", pl.Float64, description="likely range of rank: 95th percentile"),
        Column("n_ranked", pl.Int64, nullable=False, description="ICSs ranked in the group"),
        Column.text("data_month", "NOF data month (YYYY-MM)"),
        Column.text("scale", "how to read scores, segments and ranks: lower is better"),
        Column("note", pl.String, description="why the ICS is not ranked, or a caveat"),
    ),
    key=("icb_code", "trust_group"),
    description=(
        "MODELLED ICS roll-up of NOF 2025/26 trust segments (NHS England publishes no ICS "
        "segment): counts per segment, share in segments 1-2, mean average metric score "
        "and league-table rank with likely ranges. " + LOWER_IS_BETTER + "."
    ),
)


def _groups(trusts: pl.DataFrame, by_type: bool) -> pl.DataFrame:
    """Stack the trusts once as ``all trusts`` and once per trust type."""
    base = trusts.with_columns(pl.lit(ALL_TRUSTS).alias("trust_group"))
    if not by_type:
        return base
    typed = trusts.filter(pl.col("nhs_trust_type").is_not_null()).with_columns(
        pl.col("nhs_trust_type").alias("trust_group")
    )
    return pl.concat([base, typed])


def ics_nof(
    trusts: pl.DataFrame,
    icbs: pl.DataFrame,
    *,
    min_trusts: int = 3,
    confidence: float = 0.95,
    by_type: bool = True,
) -> pl.DataFrame:
    r"""Roll placed NOF trust segments up to ICSs (point estimates and ranks; modelled).

    Parameters
    ----------
    trusts : placed NOF trusts (:data:`~ics_model.mapping.nof.NOF_PLACED`): icb_code,
        nhs_trust_type, adjusted_segment, avg_metric_score, in_deficit, data_month.
    icbs : the run's ICBs (icb_code, icb_name): every ICB gets an ``all trusts`` row,
        with zero trusts where none is segmented.
    min_trusts : segmented trusts an ICS needs in a group to be ranked in it.
    confidence : level of the Wilson interval of the share in segments 1-2.
    by_type : also one row per ICS and trust type present.

    Returns
    -------
    pl.DataFrame
        :data:`ICS_NOF`, with the bootstrap columns (``mean_score_p05`` ... ``rank_p95``)
        null; :func:`ics_model.uncertainty.nof.nof_rank_intervals` fills them.

    Examples
    --------
    >>> trusts = pl.DataFrame({
    ...     "icb_code": ["QA1", "QA1", "QA1", "QB2"],
    ...     "nhs_trust_type": ["Acute trust"] * 4,
    ...     "adjusted_segment": [1, 2, 3, 4],
    ...     "avg_metric_score": [1.9, 2.2, 2.5, 2.9],
    ...     "in_deficit": [False, False, True, True],
    ...     "data_month": ["2026-03"] * 4,
    ... })
    >>> icbs = pl.DataFrame({"icb_code": ["QA1", "QB2"], "icb_name": ["A", "B"]})
    >>> out = ics_nof(trusts, icbs, by_type=False)
    >>> out.select(
    ...     "icb_code", "n_trusts", "share_segment_1_2", pl.col("mean_avg_score").round(3), "rank"
    ... ).rows()
    [('QA1', 3, 0.6666666666666666, 2.2, 1), ('QB2', 1, 0.0, 2.9, None)]
    """
    if min_trusts < 1:
        raise ValueError(f"min_trusts must be at least 1, got {min_trusts}")
    month = trusts["data_month"].drop_nulls().unique().sort().to_list()
    data_month = ", ".join(month) if month else ""
    seg = pl.col("adjusted_segment")
    agg = (
        _groups(trusts, by_type)
        .group_by("icb_code", "trust_group")
        .agg(
            pl.len().cast(pl.Int64).alias("n_trusts"),
            *((seg == s).sum().cast(pl.Int64).alias(f"n_segment_{s}") for s in NOF_SEGMENT_VALUES),
            pl.col("in_deficit").fill_null(False).sum().cast(pl.Int64).alias("n_in_deficit"),
            pl.col("avg_metric_score").mean().alias("mean_avg_score"),
        )
    )
    frame = (
        icbs.select("icb_code", "icb_name")
        .with_columns(pl.lit(ALL_TRUSTS).alias("trust_group"))
        .join(
            agg.filter(pl.col("trust_group") == ALL_TRUSTS),
            on=["icb_code", "trust_group"],
            how="left",
        )
    )
    typed = agg.filter(pl.col("trust_group") != ALL_TRUSTS).join(
        icbs.select("icb_code", "icb_name"), on="icb_code", how="inner"
    )
    frame = pl.concat([frame, typed.select(frame.columns)]).with_columns(
        pl.col("^n_.*$").fill_null(0)
    )
    ranked = (pl.col("n_trusts") >= min_trusts) & pl.col("mean_avg_score").is_not_null()
    frame = frame.with_columns(
        ((pl.col("n_segment_1") + pl.col("n_segment_2")) / pl.col("n_trusts"))
        .fill_nan(None)
        .alias("share_segment_1_2"),
        ranked.alias("ranked"),
        (pl.col("n_segment_1") + pl.col("n_segment_2")).alias("_n12"),
    )
    frame = frame.with_columns(*wilson_exprs("_n12", "n_trusts", "share_segment_1_2", confidence))
    rank = (
        pl.when(pl.col("ranked"))
        .then(pl.col("mean_avg_score"))
        .rank("min")
        .over("trust_group")
        .cast(pl.Int64)
    )
    note = (
        pl.when(pl.col("n_trusts") == 0)
        .then(pl.lit("no segmented trust placed in this ICS"))
        .when(~pl.col("ranked"))
        .then(
            pl.format(
                "not ranked: {} segmented trust(s), fewer than {}", "n_trusts", pl.lit(min_trusts)
            )
        )
        .when(pl.col("trust_group") == ALL_TRUSTS)
        .then(pl.lit("mixes trust types scored on different metric sets"))
    )
    frame = frame.with_columns(
        rank.alias("rank"),
        pl.col("ranked").sum().over("trust_group").cast(pl.Int64).alias("n_ranked"),
        pl.lit(data_month).alias("data_month"),
        pl.lit(SCALE).alias("scale"),
        note.alias("note"),
        *(pl.lit(None, pl.Float64).alias(c) for c in BOOTSTRAP_COLUMNS),
    )
    out = frame.select(ICS_NOF.column_names).sort(
        pl.col("trust_group") != ALL_TRUSTS, "trust_group", "icb_code"
    )
    return validate(out, ICS_NOF).frame


#: ICS metrics from the ``all trusts`` roll-up: metric -> (column, direction, unit)
NOF_METRICS: Final = {
    "nof_mean_score": ("mean_avg_score", "lower_is_better", "score (1 best - 4 worst)"),
    "nof_share_segment_1_2": ("share_segment_1_2", "higher_is_better", "share"),
}


def nof_metric_rows(table: pl.DataFrame) -> pl.DataFrame:
    """Return the ``all trusts`` NOF roll-up as ICS metric rows (``ics_metrics`` layout).

    The value is null, with a note, for ICSs not ranked (fewer than ``min_trusts``
    segmented trusts); ``lower``/``upper`` are the bootstrap 5th-95th percentiles of the
    mean score, and the Wilson limits of the share.
    """
    all_rows = table.filter(pl.col("trust_group") == ALL_TRUSTS)
    limits = {
        "nof_mean_score": ("mean_score_p05", "mean_score_p95"),
        "nof_share_segment_1_2": ("share_segment_1_2_lower", "share_segment_1_2_upper"),
    }
    parts = []
    for metric, (col, direction, unit) in NOF_METRICS.items():
        lo, hi = limits[metric]
        keep = pl.col("ranked")
        parts.append(
            all_rows.select(
                "icb_code",
                pl.lit(metric).alias("metric"),
                pl.when(keep).then(pl.col(col)).alias("value"),
                pl.when(keep).then(pl.col(lo)).alias("lower"),
                pl.when(keep).then(pl.col(hi)).alias("upper"),
                pl.lit("quality").alias("pillar"),
                pl.lit(direction).alias("direction"),
                pl.lit(unit).alias("unit"),
                pl.lit(CATALOGUE_BY_METRIC[metric]["vintage"]).alias("vintage"),
                pl.lit(CATALOGUE_BY_METRIC[metric]["source"]).alias("source"),
                pl.when(keep)
                .then(pl.lit("modelled ICS roll-up of trust segments; " + LOWER_IS_BETTER))
                .otherwise(pl.col("note"))
                .alias("note"),
                pl.lit(True).alias("complete"),
            )
        )
    return pl.concat(parts)


__all__ = [
    "ALL_TRUSTS",
    "BOOTSTRAP_COLUMNS",
    "ICS_NOF",
    "LOWER_IS_BETTER",
    "NOF_METRICS",
    "NOF_SEGMENT_VALUES",
    "SCALE",
    "ics_nof",
    "nof_metric_rows",
]
