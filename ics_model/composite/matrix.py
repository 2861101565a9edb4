"""Step 2 of a composite: the ICS x indicator matrix of raw values, read from the spec.

Holds :func:`indicator_matrix`, which reads each indicator of a
:class:`~ics_model.composite.spec.CompositeSpec` from its source (``view:`` columns of the
ICS view, ``metric:`` rows of ``ics_metrics``), and its private readers. Data selection is
step 2 of the JRC/OECD *Handbook on Constructing Composite Indicators* (2008); the later
steps are in :mod:`~ics_model.composite.build`.
"""

from __future__ import annotations

import logging
from typing import Final

import polars as pl

from ics_model.composite.methods import CompositeError
from ics_model.composite.spec import CompositeSpec, parse_source

log = logging.getLogger(__name__)

_NATIONAL = "ENGLAND"
#: the matrix column listing, per ICS, the indicators whose source is incomplete.
INCOMPLETE: Final = "incomplete"


# --------------------------------------------------------------------------- matrix


def _view_column(view: pl.DataFrame, name: str, sector: str, kq: str, column: str) -> pl.DataFrame:
    sectors = sorted(set(view["sector"].cast(pl.String).to_list()))
    if sector not in sectors:
        raise CompositeError(
            f"indicator {name!r}: sector {sector!r} is not in the ICS view "
            f"(available: {', '.join(sectors)})"
        )
    numeric = [c for c, t in view.schema.items() if t.is_numeric()]
    if column not in numeric:
        raise CompositeError(
            f"indicator {name!r}: {column!r} is not a numeric ICS view column "
            f"(available: {', '.join(numeric)})"
        )
    sub = view.filter(
        (pl.col("sector").cast(pl.String) == sector)
        & (pl.col("key_question").cast(pl.String) == kq)
    )
    if sub.is_empty():
        raise CompositeError(
            f"indicator {name!r}: the ICS view has no {sector} rows for key question {kq!r}"
        )
    return sub.select("icb_code", pl.col(column).cast(pl.Float64).alias(name))


def _metric_column(metrics: pl.DataFrame, name: str, metric: str) -> pl.DataFrame:
    available = sorted(set(metrics["metric"].to_list()))
    if metric not in available:
        raise CompositeError(
            f"indicator {name!r}: unknown metric {metric!r} (available metrics: "
            f"{', '.join(available)})"
        )
    sub = metrics.filter((pl.col("metric") == metric) & (pl.col("icb_code") != _NATIONAL))
    # a value whose source misses a major provider of the ICS (ics_metrics ``complete``)
    complete = pl.col("complete") if "complete" in sub.columns else pl.lit(True)
    return sub.select(
        "icb_code",
        pl.col("value").cast(pl.Float64).alias(name),
        (pl.col("value").is_not_null() & ~complete.fill_null(True)).alias(f"__{name}"),
    )


def indicator_matrix(
    view: pl.DataFrame | None, metrics: pl.DataFrame | None, spec: CompositeSpec
) -> pl.DataFrame:
    """Wide ICS x indicator frame of raw values, read from the spec's sources.

    Parameters
    ----------
    view : the ``ics_view`` frame (``view:`` sources); its ICSs define the rows.
    metrics : the ``ics_metrics`` frame (``metric:`` sources); national rows are ignored.
    spec : the composite spec.

    Returns
    -------
    pl.DataFrame
        ``icb_code``, ``icb_name``, one Float64 column per indicator (spec order), null
        where the source has no value, and ``incomplete`` (:data:`INCOMPLETE`, a list of
        the indicator names whose value comes from a source missing a major provider of
        the ICS: ``ics_metrics`` rows with ``complete`` false; empty when none). The
        composite counts those indicators out of the ICS's ``coverage``. JRC/OECD Handbook
        (2008) step 2.
    """
    if view is not None:
        ics = view.select("icb_code", "icb_name").unique().sort("icb_code")
    elif metrics is not None:
        ics = (
            metrics.filter(pl.col("icb_code") != _NATIONAL)
            .select("icb_code", pl.lit(None, pl.String).alias("icb_name"))
            .unique()
            .sort("icb_code")
        )
    else:
        raise CompositeError("indicator_matrix needs an ICS view or an ics_metrics frame")
    out = ics
    for pillar, ind in spec.indicators:
        src = parse_source(ind.source)
        if src[0] == "view":
            if view is None:
                raise CompositeError(f"indicator {ind.name!r} ({pillar}): needs the ICS view")
            col = _view_column(view, ind.name, *src[1:])
        else:
            if metrics is None:
                raise CompositeError(f"indicator {ind.name!r} ({pillar}): needs ics_metrics")
            col = _metric_column(metrics, ind.name, src[1])
        dup = col.filter(pl.col("icb_code").is_duplicated())["icb_code"].unique().sort()
        if dup.len():
            raise CompositeError(
                f"indicator {ind.name!r}: source {ind.source!r} has several values for "
                f"{', '.join(dup)}"
            )
        if col.width == 2:
            col = col.with_columns(pl.lit(False).alias(f"__{ind.name}"))
        out = out.join(col, on="icb_code", how="left", maintain_order="left")
    flags = [f"__{i.name}" for _, i in spec.indicators]
    names = [i.name for _, i in spec.indicators]
    out = out.with_columns(
        pl.concat_list(
            pl.when(pl.col(f).fill_null(False)).then(pl.lit(n))
            for f, n in zip(flags, names, strict=True)
        )
        .list.drop_nulls()
        .alias(INCOMPLETE)
    ).drop(flags)
    log.info(
        "indicator matrix: %d ICSs x %d indicators, %d missing values",
        out.height,
        len(spec.indicators),
        sum(out[i.name].null_count() for _, i in spec.indicators),
    )
    return out


__all__ = ["INCOMPLETE", "indicator_matrix"]
