"""Input checks of the slope and relative index of inequality (:mod:`ics_model.metrics.sii`).

Holds the argument checks (value type, transform, standard error or 95% limits,
repetitions, multiplier, column presence and types), the confidence levels with their
column labels (as ``phe_sii``: 0.95 -> ``95_0``), and the per-group data checks (missing
values, duplicated quantiles, non-positive populations, values outside the range of the
value type). Bad input raises :class:`~ics_model.metrics._base.InequalityInputError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from ics_model.metrics._base import MIN_REPETITIONS, VALUE_TYPES, InequalityInputError


def _confidence_levels(confidence: float | Sequence[float]) -> list[float]:
    levels = [float(confidence)] if isinstance(confidence, int | float) else list(confidence)
    if not levels:
        raise InequalityInputError("confidence: give at least one level")
    for c in levels:
        if not (0.0 < c < 1.0):
            raise InequalityInputError(f"confidence levels must lie in (0, 1), got {c}")
    labels = [_level_label(c) for c in levels]
    if len(set(labels)) != len(labels):
        raise InequalityInputError(f"confidence levels give duplicate column labels: {labels}")
    return levels


def _level_label(c: float) -> str:
    """Confidence label as ``phe_sii``: 0.95 -> '95_0', 0.998 -> '99_8'."""
    return f"{c * 100:.1f}".replace(".", "_")


def _check_arguments(
    frame: pl.DataFrame,
    columns: dict[str, str | None],
    value_type: str,
    se: str | None,
    lower_cl: str | None,
    upper_cl: str | None,
    repetitions: int,
    transform: bool,
    multiplier: float,
    levels: list[float],
) -> None:
    if value_type not in VALUE_TYPES:
        raise InequalityInputError(f"value_type must be one of {VALUE_TYPES}, got {value_type!r}")
    if transform and value_type == "normal":
        raise InequalityInputError("transform=True needs value_type 'rate' or 'proportion'")
    if transform and se is not None:
        raise InequalityInputError(
            "transform=True takes lower_cl and upper_cl, not se (as phe_sii)"
        )
    if se is None and (lower_cl is None or upper_cl is None):
        raise InequalityInputError("give se, or both lower_cl and upper_cl")
    if not isinstance(repetitions, int | np.integer) or repetitions < MIN_REPETITIONS:
        raise InequalityInputError(
            f"repetitions must be an integer >= {MIN_REPETITIONS}, got {repetitions!r}"
        )
    if not math.isfinite(multiplier):
        raise InequalityInputError(f"multiplier must be finite, got {multiplier!r}")
    missing = [c for c in columns.values() if c is not None and c not in frame.columns]
    if missing:
        raise InequalityInputError(f"columns not in frame: {missing}")
    for c in levels:
        q = c + (1 - c) / 2
        if round(repetitions * (1 - q)) < 1:
            raise InequalityInputError(
                f"repetitions={repetitions} too few for confidence {c}: need at least "
                f"{math.ceil(0.5 / (1 - q))}"
            )
    qdtype = frame.schema[columns["quantile"]]
    if not (qdtype.is_numeric() or isinstance(qdtype, pl.Enum)):
        raise InequalityInputError(
            f"quantile column {columns['quantile']!r} must be numeric or Enum, got {qdtype}"
        )
    for role in ("population", "value", "se", "lower_cl", "upper_cl"):
        name = columns.get(role)
        if name is not None and not frame.schema[name].is_numeric():
            raise InequalityInputError(
                f"{role} column {name!r} must be numeric, got {frame.schema[name]}"
            )


def _group_problems(
    q: np.ndarray,
    pop: np.ndarray,
    val: np.ndarray,
    se: np.ndarray | None,
    lo: np.ndarray | None,
    hi: np.ndarray | None,
    value_type: str,
    transform: bool,
) -> list[str]:
    """Every problem of one group's rows except the quantile count."""
    problems: list[str] = []
    arrays = {"population": pop, "value": val, "se": se, "lower_cl": lo, "upper_cl": hi}
    for name, arr in arrays.items():
        if arr is not None and np.isnan(arr).any():
            problems.append(f"missing {name} ({int(np.isnan(arr).sum())} rows)")
    if problems:
        return problems
    if len(np.unique(q)) != len(q):
        problems.append("duplicated quantiles")
    if (pop <= 0).any() or not np.isfinite(pop).all():
        problems.append("population must be finite and > 0")
    if not np.isfinite(val).all():
        problems.append("value must be finite")
    if se is not None and ((se < 0).any() or not np.isfinite(se).all()):
        problems.append("se must be finite and >= 0")
    if lo is not None and hi is not None and (lo > hi).any():
        problems.append("lower_cl above upper_cl")
    if value_type == "proportion":
        if ((val < 0) | (val > 1)).any():
            problems.append("proportion value outside [0, 1]")
        elif transform and ((val <= 0) | (val >= 1)).any():
            problems.append("proportion value of 0 or 1 has no logit (transform=True)")
        if se is None and lo is not None and hi is not None and ((lo <= 0) | (hi >= 1)).any():
            problems.append("proportion limits must lie in (0, 1) to derive a logit-scale SE")
    elif value_type == "rate":
        if (val < 0).any():
            problems.append("rate value < 0")
        elif transform and (val <= 0).any():
            problems.append("rate value <= 0 has no log (transform=True)")
        if se is None and lo is not None and (lo <= 0).any():
            problems.append("rate lower_cl must be > 0 to derive a log-scale SE")
    return problems
