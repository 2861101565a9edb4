"""Scenario building blocks shared by both scenario kinds: thresholds and key-path errors.

:class:`ThresholdRange` and :data:`Thresholds` (a range or an explicit list of numbers)
describe the values a sweep runs over; :class:`KeyPathError` is a cross-field validation
error that knows the key path it belongs to, so a scenario file's error names it.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Discriminator, Field, Tag

from ics_model.spec import Frozen

UNION_TAGS = ("range", "list")


class KeyPathError(ValueError):
    """A cross-field error that knows the key path it belongs to."""

    def __init__(self, path: str, reason: str, given: Any) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.given = given


class ThresholdRange(Frozen):
    """``num`` evenly spaced thresholds from ``start`` to ``stop`` (both included)."""

    start: float
    stop: float
    num: int = Field(ge=1, le=1_000_000)

    def values(self) -> np.ndarray:
        """Return the thresholds as a float array."""
        return np.linspace(self.start, self.stop, self.num)


def _thresholds_kind(value: Any) -> str:
    return "list" if isinstance(value, list | tuple) else "range"


Thresholds = Annotated[
    Annotated[ThresholdRange, Tag("range")] | Annotated[tuple[float, ...], Tag("list")],
    Discriminator(_thresholds_kind),
]


def usable_thresholds(value: Any) -> Any:
    """Check a list of thresholds (non-empty, no NaN) or a range (finite ends)."""
    if isinstance(value, tuple):
        if not value:
            raise ValueError("give at least one threshold")
        if any(np.isnan(v) for v in value):
            raise ValueError("thresholds must be numbers, not NaN")
    elif not (np.isfinite(value.start) and np.isfinite(value.stop)):
        raise ValueError("start and stop must be finite")
    return value


def threshold_values(thresholds: Any) -> np.ndarray:
    """Return a :data:`Thresholds` value (range or list) as a float array."""
    if isinstance(thresholds, ThresholdRange):
        return thresholds.values()
    return np.asarray(thresholds, dtype=np.float64)


__all__ = [
    "UNION_TAGS",
    "KeyPathError",
    "ThresholdRange",
    "Thresholds",
    "threshold_values",
    "usable_thresholds",
]
