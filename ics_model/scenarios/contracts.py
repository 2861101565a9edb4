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
_SHARE = {"min_value": 0.0, "max_value": 1.0}
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
_COUNTS: Final = tuple(
    Column(c, pl.Int64, nullable=False, min_value=0, description=_COUNT_TEXT[c])
    for c in COUNT_COLUMNS
)
_SHARE_CHANGED: Final = Column(
    "share_changed",
    pl.Float64,
    **_SHARE,
    description="n_lost / n_outstanding_before; null when none was Outstanding",
)

#: a gate's ``<gate>_status`` column in the provider frame
GATE_STATUS_PATTERN: Final = r".+_status"
GATE_STATUS_COLUMN: Final = Column(
    "<gate>_status",
    pl.String,
    nullable=False,
    allowed=_STATUSES,
    description="what the gate did to the provider",
)
#: a gate's ``<gate>_value`` column in the provider frame
GATE_VALUE_PATTERN: Final = r".+_value"
GATE_VALUE_COLUMN: Final = Column(
    "<gate>_value",
    pl.Float64,
    description="the gate's indicator for the provider (or its ICS); null when missing",
)

SCENARIO_PROVIDERS: Final = Contract(
    name="scenario_providers",
    description="One row per provider of the scenario's sector: published and scenario "
    "overall ratings, the gates' verdict, and per gate its status and indicator value.",
    key=("provider_id",),
    extra_columns=False,
    columns=(
        Column("provider_id", pl.String, nullable=False, description="ODS or CQC code"),
        Column("provider_name", pl.String, description="provider name"),
        Column(
            "icb_code",
            pl.String,
            nullable=False,
            pattern=ICB_CODE_PATTERN,
            description="ICB the provider is placed in",
        ),
        Column("icb_name", pl.String, nullable=False, description="ICB name"),
        Column("rating_published", RatingEnum, description="published overall rating"),
        Column(
            "rating_scenario",
            RatingEnum,
            description="overall rating under the scenario; null when not assessable",
        ),
        Column(
            "status",
            pl.String,
            nullable=False,
            allowed=_STATUSES,
            description="first of not_assessable, capped, passed, not_applicable of any gate",
        ),
        Column(
            "overall_changed",
            pl.Boolean,
            nullable=False,
            description="the scenario changes the overall rating",
        ),
        Column(
            "outcome",
            pl.String,
            allowed=frozenset(SCENARIO_OUTCOMES),
            description="kept, lost or not_assessable if published Outstanding, else null",
        ),
        Column("reason", pl.String, description="each gate's value, condition and verdict"),
    ),
)

SCENARIO_BY_ICS: Final = Contract(
    name="scenario_by_ics",
    description="One row per ICS with providers of the sector: the scenario's counts and "
    "the share of Outstanding ratings lost.",
    key=("icb_code",),
    extra_columns=False,
    columns=(
        Column(
            "icb_code",
            pl.String,
            nullable=False,
            pattern=ICB_CODE_PATTERN,
            description="ICB ODS code",
        ),
        Column("icb_name", pl.String, nullable=False, description="ICB name"),
        *_COUNTS,
        _SHARE_CHANGED,
    ),
)

SCENARIO_NATIONAL: Final = Contract(
    name="scenario_national",
    description=f"The national summary of a scenario (the 'national' rows of "
    f"scenario_<name>.json): one row, icb_code {NATIONAL}.",
    key=("icb_code",),
    extra_columns=False,
    columns=(
        Column(
            "icb_code",
            pl.String,
            nullable=False,
            allowed=frozenset({NATIONAL}),
            description=f"always {NATIONAL}",
        ),
        *_COUNTS,
        Column(
            "n_ics",
            pl.Int64,
            nullable=False,
            min_value=0,
            description="ICSs with providers of the sector",
        ),
        Column(
            "n_ics_with_loss",
            pl.Int64,
            nullable=False,
            min_value=0,
            description="ICSs losing at least one Outstanding rating",
        ),
        _SHARE_CHANGED,
    ),
)

SCENARIO_SWEEP: Final = Contract(
    name="scenario_sweep",
    description=f"One row per threshold x ({NATIONAL} and each ICS): Outstanding ratings "
    "lost and not assessable as the swept gate's threshold moves.",
    key=("gate", "threshold", "icb_code"),
    extra_columns=False,
    columns=(
        Column("gate", pl.String, nullable=False, description="the swept gate"),
        Column(
            "level",
            pl.String,
            nullable=False,
            allowed=frozenset(get_args(Gate.model_fields["level"].annotation)),
            description="overall or key_question",
        ),
        Column(
            "key_question",
            pl.String,
            allowed=frozenset(KEY_QUESTIONS),
            description="the key question capped (key_question gates), else null",
        ),
        Column("indicator", pl.String, nullable=False, description="the gate's indicator"),
        Column(
            "scope",
            pl.String,
            nullable=False,
            allowed=frozenset(get_args(Gate.model_fields["scope"].annotation)),
            description="provider (own value) or icb (its ICS's value)",
        ),
        Column(
            "op",
            pl.String,
            nullable=False,
            allowed=frozenset(get_args(Gate.model_fields["op"].annotation)),
            description="the comparison: indicator op threshold",
        ),
        Column("threshold", pl.Float64, nullable=False, description="the threshold applied"),
        Column(
            "icb_code",
            pl.String,
            nullable=False,
            pattern=_ICB_OR_NATIONAL,
            description=f"ICB ODS code, or {NATIONAL}",
        ),
        Column(
            "n_providers",
            pl.Int64,
            nullable=False,
            min_value=0,
            description=_COUNT_TEXT["n_providers"],
        ),
        Column(
            "n_outstanding_before",
            pl.Int64,
            nullable=False,
            min_value=0,
            description=_COUNT_TEXT["n_outstanding_before"],
        ),
        Column("n_lost", pl.Int64, nullable=False, min_value=0, description=_COUNT_TEXT["n_lost"]),
        Column(
            "n_not_assessable",
            pl.Int64,
            nullable=False,
            min_value=0,
            description=_COUNT_TEXT["n_not_assessable"],
        ),
        Column(
            "n_outstanding_after",
            pl.Int64,
            nullable=False,
            min_value=0,
            description="n_outstanding_before - n_lost - n_not_assessable",
        ),
        _SHARE_CHANGED,
    ),
)

SCENARIO_THRESHOLD_UNCERTAINTY: Final = Contract(
    name="scenario_threshold_uncertainty",
    description=f"One row per {NATIONAL} and ICS: Outstanding ratings lost when the swept "
    "gate's threshold is drawn uniformly from [threshold_low, threshold_high].",
    key=("scenario", "gate", "icb_code"),
    extra_columns=False,
    columns=(
        Column("scenario", pl.String, nullable=False, description="scenario name"),
        Column("gate", pl.String, nullable=False, description="the gate whose threshold is drawn"),
        Column(
            "icb_code",
            pl.String,
            nullable=False,
            pattern=_ICB_OR_NATIONAL,
            description=f"ICB ODS code, or {NATIONAL}",
        ),
        Column(
            "threshold_low",
            pl.Float64,
            nullable=False,
            description="lower end of the drawn thresholds",
        ),
        Column(
            "threshold_high",
            pl.Float64,
            nullable=False,
            description="upper end of the drawn thresholds",
        ),
        Column("n_draws", pl.Int64, nullable=False, min_value=1, description="thresholds drawn"),
        Column(
            "n_outstanding_before",
            pl.Int64,
            nullable=False,
            min_value=0,
            description=_COUNT_TEXT["n_outstanding_before"],
        ),
        Column(
            "lost_median",
            pl.Float64,
            nullable=False,
            min_value=0.0,
            description="median Outstanding ratings lost over the draws",
        ),
        Column(
            "lost_p05",
            pl.Float64,
            nullable=False,
            min_value=0.0,
            description="5th percentile of the ratings lost",
        ),
        Column(
            "lost_p95",
            pl.Float64,
            nullable=False,
            min_value=0.0,
            description="95th percentile of the ratings lost",
        ),
        Column(
            "not_assessable",
            pl.Int64,
            nullable=False,
            min_value=0,
            description=_COUNT_TEXT["n_not_assessable"],
        ),
    ),
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
