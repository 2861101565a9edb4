"""Every ICS gets every metric, and every missing or qualified value says why.

:func:`with_geography_notes` finishes a run's ``ics_metrics``: it adds the notes of the
run's ICB geography to the figures they qualify (resident RTT flows of an ICB whose area
the extract reports in part or mixed with another's; GP figures of an April 2026 ICB
that lacks the practices of a split ICB's part), gives a row with a reason to every ICS
x metric the producers left out (``complete`` false), gives a reason to any null value that
lacks one, marks resident-flow metrics of an ICB whose flows cover only part of it
incomplete, and states the ICB vintage in ``vintage``.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from ics_model.contracts import validate
from ics_model.mapping.icb_geography import IcbGeography
from ics_model.metrics.system import CATALOGUE_BY_METRIC, ICS_METRICS, NATIONAL

#: metrics built on the residents' RTT flows (their ICB's geography notes apply).
RESIDENT_FLOW_METRICS: Final = (
    "self_containment",
    "share_other_ics_trusts",
    "share_independent_sector",
    "inflow_share",
    "n_partner_icss",
    "share_waiting_over_18_weeks",
)
#: metrics built on the placed GP practices.
GP_METRIC_PREFIX: Final = "gp_"
NO_ROW: Final = "no value for this ICS: its source has no rows for it"
NO_REASON: Final = "no value for this ICS (the producer gave no reason)"
_VINTAGE_2023: Final = "ICBs of April 2023 (42)"


def _append(note: pl.Expr, extra: pl.Expr) -> pl.Expr:
    return (
        pl.when(extra.is_null())
        .then(note)
        .when(note.is_null() | note.fill_null("").str.contains(extra, literal=True))
        .then(pl.coalesce(note, extra))
        .otherwise(pl.concat_str(note, extra, separator="; "))
    )


def with_geography_notes(
    frame: pl.DataFrame, geography: IcbGeography, icbs: pl.DataFrame
) -> pl.DataFrame:
    """Return ``ics_metrics`` with the geography's notes, a row per ICS x metric, reasons.

    Parameters
    ----------
    frame : the ``ics_metrics`` frame (:data:`~ics_model.metrics.system.ICS_METRICS`).
    geography : the run's ICB geography (notes, vintage).
    icbs : the run's ICBs (icb_code): every one gets a row for every catalogue metric
        (a user indicator keeps the ICSs its file names).

    Returns
    -------
    pl.DataFrame
        Per :data:`~ics_model.metrics.system.ICS_METRICS`, sorted like
        :func:`~ics_model.metrics.system.ics_metrics`. No ICS-level row has a null
        ``value`` and a null ``note``.

    Examples
    --------
    >>> import polars as pl
    >>> from ics_model.mapping.icb_geography import IcbGeography
    >>> e = pl.DataFrame()
    >>> geo = IcbGeography("2023", *[e] * 8, flow_notes={"QAA": "partial flows"})
    >>> m = pl.DataFrame({"icb_code": ["QAA"], "metric": ["self_containment"],
    ...     "value": [0.5], "lower": [None], "upper": [None], "pillar": ["partnership"],
    ...     "direction": ["higher_is_better"], "unit": ["share"],
    ...     "vintage": ["RTT April 2026; ICBs of April 2023 (42)"], "source": ["RTT"],
    ...     "note": [None], "complete": [True]}, schema_overrides={"lower": pl.Float64,
    ...     "upper": pl.Float64, "note": pl.String})
    >>> out = with_geography_notes(m, geo, pl.DataFrame({"icb_code": ["QAA", "QBB"]}))
    >>> out.select("icb_code", "value", "complete").rows()
    [('QAA', 0.5, True), ('QBB', None, False)]
    >>> out["note"].to_list() == ["partial flows", NO_ROW]
    True
    """
    ics = frame.filter(pl.col("icb_code") != NATIONAL)
    # catalogue metrics only: a user indicator covers the ICSs its file names
    catalogued = (
        ics.select("metric").unique().filter(pl.col("metric").is_in(list(CATALOGUE_BY_METRIC)))
    )
    grid = icbs.select("icb_code").join(catalogued, how="cross")
    template = ics.group_by("metric").agg(
        pl.col(c).first() for c in ("pillar", "direction", "unit", "vintage", "source")
    )
    missing = (
        grid.join(ics, on=["icb_code", "metric"], how="anti")
        .join(template, on="metric")
        .with_columns(
            pl.lit(None, pl.Float64).alias("value"),
            pl.lit(None, pl.Float64).alias("lower"),
            pl.lit(None, pl.Float64).alias("upper"),
            pl.lit(NO_ROW).alias("note"),
            pl.lit(False).alias("complete"),
        )
        .select(frame.columns)
    )
    out = pl.concat([frame, missing], how="vertical_relaxed")
    flow = pl.col("icb_code").replace_strict(
        dict(geography.flow_notes), default=None, return_dtype=pl.String
    )
    gp = pl.col("icb_code").replace_strict(
        dict(geography.gp_notes), default=None, return_dtype=pl.String
    )
    metric = pl.col("metric")
    # an empty note is no note; a note joined onto an empty one loses its separator
    tidy = pl.col("note").str.strip_chars_start("; ")
    note = pl.when(tidy != "").then(tidy)
    note = _append(note, pl.when(metric.is_in(RESIDENT_FLOW_METRICS)).then(flow))
    note = _append(note, pl.when(metric.str.starts_with(GP_METRIC_PREFIX)).then(gp))
    ics_row = pl.col("icb_code") != NATIONAL
    note = (
        pl.when(ics_row & pl.col("value").is_null() & note.is_null())
        .then(pl.lit(NO_REASON))
        .otherwise(note)
    )
    # residents' flows that cover only part of an ICB are incomplete (the composite's coverage)
    partial = metric.is_in(RESIDENT_FLOW_METRICS) & pl.col("icb_code").is_in(
        sorted(geography.partial_flows)
    )
    out = out.with_columns(
        note.alias("note"),
        pl.when(partial).then(pl.lit(False)).otherwise(pl.col("complete")).alias("complete"),
    )
    if geography.vintage != "2023":
        n = icbs.height
        out = out.with_columns(
            pl.col("vintage").str.replace(
                _VINTAGE_2023, f"ICBs of April {geography.vintage} ({n})", literal=True
            )
        )
    out = out.sort("icb_code", "pillar", "metric")
    return validate(out, ICS_METRICS).frame


__all__ = [
    "GP_METRIC_PREFIX",
    "NO_REASON",
    "NO_ROW",
    "RESIDENT_FLOW_METRICS",
    "with_geography_notes",
]
