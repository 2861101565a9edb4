"""Shared pieces of the inequality measures: the error type, constants, small helpers."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist
from typing import Any, Final, Literal

from ics_model.ratings import RATING_COUNT_COLUMNS as _COUNT_COLUMN_OF
from ics_model.ratings import RATING_LABELS

ValueType = Literal["normal", "rate", "proportion"]
VALUE_TYPES: Final[tuple[str, ...]] = ("normal", "rate", "proportion")

#: Minimum and maximum number of quantiles per group (as ``phe_sii``).
MIN_QUANTILES: Final[int] = 5
MAX_QUANTILES: Final[int] = 100
#: Minimum number of simulation repetitions (as ``phe_sii``).
MIN_REPETITIONS: Final[int] = 1000

#: Count columns of :func:`~ics_model.metrics.inequality.rating_dispersion`, worst to best.
RATING_COUNT_COLUMNS: Final[tuple[str, ...]] = tuple(
    _COUNT_COLUMN_OF[label] for label in RATING_LABELS
)

Z975: Final[float] = NormalDist().inv_cdf(0.975)


class InequalityInputError(ValueError):
    """Input that an inequality measure cannot use; the message names group and problem."""


def as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def group_label(by: list[str], key: tuple[Any, ...]) -> str:
    if not by:
        return "(all rows)"
    return ", ".join(f"{b}={k!r}" for b, k in zip(by, key, strict=True))
