"""Numerators and denominators of the count-based share metrics, per ICS.

Every share among the ICS metrics that is a count over a count -- the patient-flow
shares (``self_containment``, ``share_other_ics_trusts``, ``share_independent_sector``,
``inflow_share``) and ``share_waiting_over_18_weeks`` -- is listed here with its counts,
so that the uncertainty analysis can draw the share from its sampling distribution
(:mod:`ics_model.uncertainty.sampling`). ``numerator / denominator`` reproduces the
metric's value exactly. Counts are RTT pathways of the period (a census of the waiting
list, not a sample: their binomial spread is the superpopulation view of a rate).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.data.ods import ICB_CODE_PATTERN
from ics_model.metrics.partnership import ics_flow_matrix
from ics_model.metrics.partnership_inputs import FlowTable

SHARE_COUNTS: Final = Contract.closed(
    "share_counts",
    (
        Column.icb_code(ICB_CODE_PATTERN),
        Column.text("metric", "the share metric (a metric of ics_metrics)"),
        Column.count("numerator", "pathways counted in the share"),
        Column.count("denominator", "pathways the share is taken of", min_value=1),
    ),
    key=("icb_code", "metric"),
    description="Numerator and denominator of each count-based share metric per ICS.",
)

_RESIDENT_SHARES: Final = {
    "self_containment": "home",
    "share_other_ics_trusts": "other",
    "share_independent_sector": "independent_sector",
}


def share_counts(table: FlowTable, waits: FlowTable) -> pl.DataFrame:
    """Return the counts of the flow shares (``table``) and the 18-week share (``waits``).

    Parameters
    ----------
    table : the partnership flow table (``metrics.rtt_part``).
    waits : the incomplete-pathways flow table (``over_18_weeks`` per row).

    Returns
    -------
    pl.DataFrame
        Per :data:`SHARE_COUNTS`; ICSs with a zero denominator are left out (their
        metric is null). Formulas as
        :func:`~ics_model.metrics.partnership.ics_partnership_metrics` and
        :func:`~ics_model.metrics.system.access_rows`: residents' pathways by provider
        kind over all residents' pathways; pathways at hosted trusts from other ICSs'
        residents over those from any placed residents; residents' incomplete pathways over
        18 weeks over all residents' incomplete pathways.
    """
    matrix = ics_flow_matrix(table)
    trust = pl.col("provider_icb_code").str.contains(f"^(?:{ICB_CODE_PATTERN})$")
    kind = (
        pl.when(pl.col("is_home"))
        .then(pl.lit("home"))
        .when(trust)
        .then(pl.lit("other"))
        .otherwise(pl.col("provider_icb_code"))
    )
    res = matrix.group_by(pl.col("resident_icb_code").alias("icb_code")).agg(
        pl.col("pathways").sum().alias("denominator"),
        *[pl.col("pathways").filter(kind == k).sum().alias(m) for m, k in _RESIDENT_SHARES.items()],
    )
    parts = [
        res.select(
            "icb_code", pl.lit(m).alias("metric"), pl.col(m).alias("numerator"), "denominator"
        )
        for m in _RESIDENT_SHARES
    ]
    inflow = (
        matrix.filter(trust)
        .group_by(pl.col("provider_icb_code").alias("icb_code"))
        .agg(
            pl.col("pathways").filter(~pl.col("is_home")).sum().alias("numerator"),
            pl.col("pathways").sum().alias("denominator"),
        )
        # inflow needs the ICS's own residents to be identifiable (as the metric)
        .filter(pl.col("icb_code").is_in(res["icb_code"].implode()))
        .select("icb_code", pl.lit("inflow_share").alias("metric"), "numerator", "denominator")
    )
    w = waits.flows.filter(pl.col("resident_icb_code").is_not_null())
    wait = w.group_by(pl.col("resident_icb_code").alias("icb_code")).agg(
        pl.lit("share_waiting_over_18_weeks").alias("metric"),
        pl.col("over_18_weeks").sum().alias("numerator"),
        pl.col("pathways").sum().alias("denominator"),
    )
    out = (
        pl.concat([*parts, inflow, wait], how="vertical_relaxed")
        .with_columns(pl.col("numerator", "denominator").cast(pl.Int64))
        .filter(pl.col("denominator") > 0)
        .sort("icb_code", "metric")
    )
    return validate(out, SHARE_COUNTS).frame


__all__ = ["SHARE_COUNTS", "share_counts"]
