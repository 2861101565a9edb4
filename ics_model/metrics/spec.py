"""The ``metrics`` section of a run config: which partnership and inequality metrics, how."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ics_model.ratings import Direction
from ics_model.spec import Frozen


class MetricsConfig(Frozen):
    """Partnership, inequality and context metrics (``ics_metrics``).

    Attributes
    ----------
    enabled : compute the metrics (on the ICBs of ``mapping.icb_vintage``).
    rtt_part : ``incomplete`` (the waiting list, default) or ``completed`` pathways for the
        patient-flow partnership proxy.
    partner_threshold : share of residents' pathways that makes another ICS a partner.
    sii_repetitions : simulation repetitions for SII/RII confidence limits.
    seed : random seed for those simulations (a non-negative integer).
    min_group_size : the fewest rated providers a deprivation quintile may hold for the
        ICS's inequality gradients (SII, RII, the quintile 1 vs 5 gap) to be computed;
        below it they are null with a note naming the quintiles (default 5).
    directions : metric -> ``higher_is_better`` / ``lower_is_better`` / ``neutral``, overriding
        the catalogue (which direction is "better" is a value judgement).
    user_indicators : optional CSV of user partnership indicators (schema in the README).
    """

    enabled: bool = True
    rtt_part: Literal["incomplete", "completed"] = "incomplete"
    partner_threshold: float = Field(0.05, gt=0.0, lt=1.0)
    sii_repetitions: int = Field(100_000, ge=1000, le=1_000_000)
    seed: int = Field(20260427, ge=0)
    min_group_size: int = Field(5, ge=1, le=1000)
    directions: dict[str, Direction] = Field(default_factory=dict)
    user_indicators: Path | None = None


__all__ = ["MetricsConfig"]
