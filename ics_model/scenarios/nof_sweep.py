"""NOF scenario sweeps: trusts changed and segment counts as one parameter moves.

The swept parameter -- a gate's threshold, one segment edge or the deficit cap -- becomes
a column of a (trust x value) cross join, and the scenario's expressions
(:func:`~ics_model.scenarios.nof.apply_scenario`) run once on it: value by value the
result equals :func:`~ics_model.scenarios.nof.run_nof_scenario` with that value
(:meth:`~ics_model.scenarios.nof_spec.NofScenarioSpec.with_value`), in one pass of
O(n T) rows for n trusts and T values. Lower is better: segment 1 is best.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import polars as pl

from ics_model.metrics.system import NATIONAL
from ics_model.scenarios.nof import (
    NOF_SWEEP_COUNT_COLUMNS,
    apply_scenario,
    count_exprs,
    prepare_trusts,
    scenario_params,
    share_changed,
)
from ics_model.scenarios.nof_spec import NofScenarioSpec
from ics_model.scenarios.spec import get_nof_scenario

logger = logging.getLogger(__name__)

#: columns of a NOF sweep
NOF_SWEEP_COLUMNS: Final = ("swept", "value", "icb_code", *NOF_SWEEP_COUNT_COLUMNS, "share_changed")


def _sweep_values(spec: NofScenarioSpec, values: Any) -> np.ndarray:
    sw = spec.sweep
    if sw is None:
        raise ValueError(f"scenario {spec.name!r} has no sweep")
    v = sw.values() if values is None else np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        raise ValueError("give at least one value to sweep")
    if np.isnan(v).any():
        raise ValueError("the values swept must not be NaN")
    if np.unique(v).size != v.size:
        raise ValueError("the values swept must be distinct")
    if sw.target == "cut":
        assert sw.cut is not None
        problem = spec.cut_problem(sw.cut, v)
        if problem:
            raise ValueError(problem)
    if sw.target == "deficit_cap" and not np.isin(v, (1, 2, 3, 4)).all():
        raise ValueError(f"deficit caps are segments 1-4; given {v.tolist()}")
    return v


def swept_label(spec: NofScenarioSpec) -> str:
    """Return what a scenario's sweep moves: ``gate:<name>``, ``cut:<k>`` or ``deficit_cap``."""
    sw = spec.sweep
    if sw is None:
        raise ValueError(f"scenario {spec.name!r} has no sweep")
    if sw.target == "gate":
        return f"gate:{spec.gate().name}"
    return f"cut:{sw.cut}" if sw.target == "cut" else "deficit_cap"


def nof_sweep(
    placed: pl.DataFrame,
    spec: Any,
    values: Sequence[float] | np.ndarray | None = None,
    *,
    provider_indicators: pl.DataFrame | None = None,
    icb_indicators: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Trusts changed and segment counts, nationally and per ICS, per swept value.

    Parameters
    ----------
    placed, provider_indicators, icb_indicators : see :func:`run_nof_scenario`.
    spec : a ``nof`` scenario with a ``sweep``.
    values : the values swept (default: the scenario's); a gate's thresholds, an edge's
        values (strictly between its neighbours) or deficit caps 1-4. Kept in the order
        given.

    Returns
    -------
    pl.DataFrame
        One row per value and geography (``ENGLAND`` first, then each ICS): ``swept``
        (:func:`swept_label`), ``value``, ``icb_code`` and the counts of
        :data:`NOF_SWEEP_COUNT_COLUMNS`, plus ``share_changed``. Equal, value by value, to
        :func:`run_nof_scenario` with that value (:meth:`NofScenarioSpec.with_value`).
    """
    spec = get_nof_scenario(spec)
    v = _sweep_values(spec, values)
    frame = prepare_trusts(placed, spec, provider_indicators, icb_indicators)
    grid = pl.DataFrame({"__order": np.arange(v.size, dtype=np.int64), "value": v})
    out = apply_scenario(
        frame.join(grid, how="cross"), spec, scenario_params(spec, pl.col("value"))
    )
    counts = count_exprs(with_before=False)
    per_ics = out.group_by("__order", "value", "icb_code").agg(counts)
    national = out.group_by("__order", "value").agg(counts).with_columns(icb_code=pl.lit(NATIONAL))
    logger.info("swept %s of %s over %d values", swept_label(spec), spec.name, v.size)
    return (
        pl.concat([national.select(per_ics.columns), per_ics])
        .with_columns(pl.col(NOF_SWEEP_COUNT_COLUMNS).cast(pl.Int64), share_changed())
        .sort("__order", pl.col("icb_code") != NATIONAL, "icb_code")
        .select(pl.lit(swept_label(spec)).alias("swept"), *NOF_SWEEP_COLUMNS[1:])
    )


__all__ = ["NOF_SWEEP_COLUMNS", "nof_sweep", "swept_label"]
