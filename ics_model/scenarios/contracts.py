"""Contracts of the collaboration-gate scenarios' output frames.

Per scenario ``<name>`` a run writes the providers (``scenario_<name>.csv``), the ICS view
(``scenario_<name>_by_ics.csv``), optionally the threshold sweep
(``scenario_<name>_sweep.csv``) and the rule-threshold uncertainty
(``scenario_<name>_threshold_uncertainty.csv``), and ``scenario_<name>.json``, a dict
whose ``national`` entry is a one-row frame (:data:`SCENARIO_NATIONAL`). Declared once
here and checked at write time through :func:`ics_model.output_contracts.check_outputs`.

Every scenario is *modelled*: a rule CQC has not adopted, applied to published ratings.
The provider frame has two columns per gate, ``<gate>_status`` and ``<gate>_value``,
declared as templates (:data:`GATE_STATUS_COLUMN`, :data:`GATE_VALUE_COLUMN`).
"""

from __future__ import annotations

from typing import Final, get_args

import polars as pl

from ics_model.contracts import Column, Contract
from ics_model.data.ods import ICB_CODE_PATTERN
from ics_model.metrics.system import NATIONAL
from ics_model.ratings import KEY_QUESTIONS, RatingEnum
from ics_model.rules.gates import GATE_STATUSES
from ics_model.rules.rulesets import Gate
from ics_model.scenarios.run import COUNT_COLUMNS

#: outcome of a provider published Outstanding (null for every other provider)
SCENARIO_OUTCOMES: Final = ("kept", "lost", "not_assessable")
_STATUSES: Final = frozenset(GATE_STATUSES)
_ICB_OR_NATIONAL: Final = f"{ICB_CODE_PATTERN}|{NATIONAL}"
_COUNT_TEXT: Final[dict[str, str]] = {
    "n_providers": "providers of the sector",
    "n_rated": "providers with a published overall rating",
    "n_outstanding_before": "providers published Outstanding",
    "n_outstanding_after": "providers Outstanding under the scenario",
    "n_lost": "Outstanding ratings capped by the scenario",
    "n_not_assessable": "providers published Outstanding whose gate indicator is missing",
    "n_changed": "providers whose overall rating the scenario changes",
    "n_not_assessable_any": "providers that some gate could not assess",
}


def _count(name: str) -> Column:
    """Return the count column ``name`` of :data:`~ics_model.scenarios.run.COUNT_COLUMNS`."""
    return Column.count(name, _COUNT_TEXT[name])


def _gate_values(field: str) -> frozenset[str]:
    """Return the values a :class:`~ics_model.rules.rulesets.Gate` field may take."""
    return frozenset(get_args(Gate.model_fields[field].annotation))


_COUNTS: Final = tuple(_count(c) for c in COUNT_COLUMNS)
_SHARE_CHANGED: Final = Column.share(
    "share_changed", "n_lost / n_outstanding_before; null when none was Outstanding"
)
_ICB_CODE: Final = Column.icb_code(ICB_CODE_PATTERN)
_ICB_CODE_OR_NATIONAL: Final = Column.icb_code(_ICB_OR_NATIONAL, f"ICB ODS code, or {NATIONAL}")

#: a gate's ``<gate>_status`` column in the provider frame
GATE_STATUS_PATTERN: Final = r".+_status"
GATE_STATUS_COLUMN: Final = Column.text(
    "<gate>_status", "what the gate did to the provider", allowed=_STATUSES
)
#: a gate's ``<gate>_value`` column in the provider frame
GATE_VALUE_PATTERN: Final = r".+_value"
GATE_VALUE_COLUMN: Final = Column.number(
    "<gate>_value", "the gate's indicator for the provider (or its ICS); null when missing"
)

SCENARIO_PROVIDERS: Final = Contract.closed(
    "scenario_providers",
    (
        Column.text("provider_id", "ODS or CQC code"),
        Column("provider_name", pl.String, description="provider name"),
        Column.icb_code(ICB_CODE_PATTERN, "ICB the provider is placed in"),
        Column.icb_name(nullable=False),
        Column("rating_published", RatingEnum, description="published overall rating"),
        Column(
            "rating_scenario",
            RatingEnum,
            description="overall rating under the scenario; null when not assessable",
        ),
        Column.text(
            "status",
            "first of not_assessable, capped, passed, not_applicable of any gate",
            allowed=_STATUSES,
        ),
        Column.flag("overall_changed", "the scenario changes the overall rating"),
        Column(
            "outcome",
            pl.String,
            allowed=frozenset(SCENARIO_OUTCOMES),
            description="kept, lost or not_assessable if published Outstanding, else null",
        ),
        Column("reason", pl.String, description="each gate's value, condition and verdict"),
    ),
    key=("provider_id",),
    description=(
        "One row per provider of the scenario's sector: published and scenario "
        "overall ratings, the gates' verdict, and per gate its status and indicator value."
    ),
)

SCENARIO_BY_ICS: Final = Contract.closed(
    "scenario_by_ics",
    (
        _ICB_CODE,
        Column.icb_name(nullable=False),
        *_COUNTS,
        _SHARE_CHANGED,
    ),
    key=("icb_code",),
    description=(
        "One row per ICS with providers of the sector: the scenario's counts and "
        "the share of Outstanding ratings lost."
    ),
)

SCENARIO_NATIONAL: Final = Contract.closed(
    "scenario_national",
    (
        Column.text("icb_code", f"always {NATIONAL}", allowed=frozenset({NATIONAL})),
        *_COUNTS,
        Column.count("n_ics", "ICSs with providers of the sector"),
        Column.count("n_ics_with_loss", "ICSs losing at least one Outstanding rating"),
        _SHARE_CHANGED,
    ),
    key=("icb_code",),
    description=f"The national summary of a scenario (the 'national' rows of "
    f"scenario_<name>.json): one row, icb_code {NATIONAL}.",
)

SCENARIO_SWEEP: Final = Contract.closed(
    "scenario_sweep",
    (
        Column.text("gate", "the swept gate"),
        Column.text("level", "overall or key_question", allowed=_gate_values("level")),
        Column(
            "key_question",
            pl.String,
            allowed=frozenset(KEY_QUESTIONS),
            description="the key question capped (key_question gates), else null",
        ),
        Column.text("indicator", "the gate's indicator"),
        Column.text(
            "scope",
            "provider (own value) or icb (its ICS's value)",
            allowed=_gate_values("scope"),
        ),
        Column.text("op", "the comparison: indicator op threshold", allowed=_gate_values("op")),
        Column.number("threshold", "the threshold applied", nullable=False),
        _ICB_CODE_OR_NATIONAL,
        _count("n_providers"),
        _count("n_outstanding_before"),
        _count("n_lost"),
        _count("n_not_assessable"),
        Column.count("n_outstanding_after", "n_outstanding_before - n_lost - n_not_assessable"),
        _SHARE_CHANGED,
    ),
    key=("gate", "threshold", "icb_code"),
    description=f"One row per threshold x ({NATIONAL} and each ICS): Outstanding ratings "
    "lost and not assessable as the swept gate's threshold moves.",
)

SCENARIO_THRESHOLD_UNCERTAINTY: Final = Contract.closed(
    "scenario_threshold_uncertainty",
    (
        Column.text("scenario", "scenario name"),
        Column.text("gate", "the gate whose threshold is drawn"),
        _ICB_CODE_OR_NATIONAL,
        Column.number("threshold_low", "lower end of the drawn thresholds", nullable=False),
        Column.number("threshold_high", "upper end of the drawn thresholds", nullable=False),
        Column.count("n_draws", "thresholds drawn", min_value=1),
        _count("n_outstanding_before"),
        Column.number(
            "lost_median",
            "median Outstanding ratings lost over the draws",
            nullable=False,
            min_value=0.0,
        ),
        Column.number(
            "lost_p05", "5th percentile of the ratings lost", nullable=False, min_value=0.0
        ),
        Column.number(
            "lost_p95", "95th percentile of the ratings lost", nullable=False, min_value=0.0
        ),
        Column.count("not_assessable", _COUNT_TEXT["n_not_assessable"]),
    ),
    key=("scenario", "gate", "icb_code"),
    description=f"One row per {NATIONAL} and ICS: Outstanding ratings lost when the swept "
    "gate's threshold is drawn uniformly from [threshold_low, threshold_high].",
)

__all__ = [
    "GATE_STATUS_COLUMN",
    "GATE_STATUS_PATTERN",
    "GATE_VALUE_COLUMN",
    "GATE_VALUE_PATTERN",
    "SCENARIO_BY_ICS",
    "SCENARIO_NATIONAL",
    "SCENARIO_OUTCOMES",
    "SCENARIO_PROVIDERS",
    "SCENARIO_SWEEP",
    "SCENARIO_THRESHOLD_UNCERTAINTY",
]
