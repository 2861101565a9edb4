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

NOF scenarios (``kind: nof``) have their own frames: the trusts
(:data:`NOF_SCENARIO_TRUSTS`, with the same two template columns per gate:
:data:`NOF_GATE_COLUMN_FAMILIES`), the ICS view (:data:`NOF_SCENARIO_BY_ICS`), the
national summary (:data:`NOF_SCENARIO_NATIONAL`) and the sweep (:data:`NOF_SCENARIO_SWEEP`).
They are modelled too -- a rule NHS England has not adopted -- and lower is better.
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
from ics_model.scenarios.nof import NOF_CHANGES, NOF_COUNT_COLUMNS, NOF_SEGMENT_VALUES
from ics_model.scenarios.nof_sweep import NOF_SWEEP_COLUMNS
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

# --------------------------------------------------------------------------- NOF scenarios

_LOWER: Final = " (lower is better)"
_SEGMENT_RANGE: Final = {"min_value": min(NOF_SEGMENT_VALUES), "max_value": max(NOF_SEGMENT_VALUES)}
_NOF_COUNT_TEXT: Final[dict[str, str]] = {
    "n_trusts": "placed trusts with a NOF segment",
    "n_scored": "trusts the rule set scores (a segment before the scenario)",
    "n_changed": "trusts whose segment the scenario changes",
    "n_better": "trusts in a better (lower) segment under the scenario",
    "n_worse": "trusts in a worse (higher) segment under the scenario",
    "n_not_assessable": "trusts a gate could change but whose indicator is missing",
    **{
        f"n_segment_{k}_{when}": f"trusts in segment {k} {text}"
        for k in NOF_SEGMENT_VALUES
        for when, text in (("before", "before the scenario"), ("after", "under the scenario"))
    },
}
_NOF_SHARE: Final = Column.share(
    "share_changed", "n_changed / n_scored; null when no trust is scored"
)


def _nof_count(name: str) -> Column:
    return Column.count(name, _NOF_COUNT_TEXT[name])


def _segment(name: str, description: str) -> Column:
    return Column(name, pl.Int64, description=description + _LOWER, **_SEGMENT_RANGE)


NOF_SCENARIO_TRUSTS: Final = Contract.closed(
    "nof_scenario_trusts",
    (
        Column.text("org_code", "ODS trust code"),
        Column("org_name", pl.String, description="trust name"),
        Column("nhs_trust_type", pl.String, description="NHS England's trust type"),
        Column.icb_code(ICB_CODE_PATTERN, "ICB the trust is hosted in"),
        Column.icb_name(nullable=False),
        Column("data_month", pl.String, pattern=r"\d{4}-\d{2}", description="NOF data month"),
        Column.number(
            "score",
            "the rule set's score (average metric score)" + _LOWER,
            min_value=1.0,
            max_value=4.0,
        ),
        Column("in_deficit", pl.Boolean, description="the rule set's deficit flag"),
        _segment("segment_published", "the published segment the rule set reproduces"),
        _segment("segment_before", "segment by the baseline rule set; null when not scored"),
        _segment(
            "segment_after", "segment under the scenario; null when not assessable or not scored"
        ),
        Column.text(
            "change",
            "better, worse, same, not_assessable or not_scored",
            allowed=frozenset(NOF_CHANGES),
        ),
        Column.text("reason", "score, edges, deficit cap and each gate's verdict"),
    ),
    key=("org_code",),
    description=(
        "One row per placed NOF trust: baseline and scenario segments, the change and "
        "why; per gate its status and indicator value. Modelled; lower is better."
    ),
)
#: the per-gate columns of :data:`NOF_SCENARIO_TRUSTS` (column name pattern, template)
NOF_GATE_COLUMN_FAMILIES: Final = (
    (GATE_STATUS_PATTERN, GATE_STATUS_COLUMN),
    (GATE_VALUE_PATTERN, GATE_VALUE_COLUMN),
)

NOF_SCENARIO_BY_ICS: Final = Contract.closed(
    "nof_scenario_by_ics",
    (
        _ICB_CODE,
        Column.icb_name(nullable=False),
        *(_nof_count(c) for c in NOF_COUNT_COLUMNS),
        _NOF_SHARE,
    ),
    key=("icb_code",),
    description="One row per ICS with placed NOF trusts: trusts changed and per segment, "
    "before and under the scenario. Modelled; lower is better.",
)

NOF_SCENARIO_NATIONAL: Final = Contract.closed(
    "nof_scenario_national",
    (
        Column.text("icb_code", f"always {NATIONAL}", allowed=frozenset({NATIONAL})),
        *(_nof_count(c) for c in NOF_COUNT_COLUMNS),
        Column.count("n_ics", "ICSs with placed NOF trusts"),
        Column.count("n_ics_changed", "ICSs with at least one trust changed"),
        _NOF_SHARE,
    ),
    key=("icb_code",),
    description=f"The national summary of a NOF scenario: one row, icb_code {NATIONAL}.",
)

NOF_SCENARIO_SWEEP: Final = Contract.closed(
    "nof_scenario_sweep",
    (
        Column.text("swept", "what moves: gate:<name>, cut:<1-3> or deficit_cap"),
        Column.number("value", "the gate threshold, edge or deficit cap applied", nullable=False),
        _ICB_CODE_OR_NATIONAL,
        *(_nof_count(c) for c in NOF_SWEEP_COLUMNS[3:-1]),
        _NOF_SHARE,
    ),
    key=("swept", "value", "icb_code"),
    description=f"One row per swept value x ({NATIONAL} and each ICS): trusts changed and "
    "per segment under the scenario. Modelled; lower is better.",
)


__all__ = [
    "GATE_STATUS_COLUMN",
    "GATE_STATUS_PATTERN",
    "GATE_VALUE_COLUMN",
    "GATE_VALUE_PATTERN",
    "NOF_GATE_COLUMN_FAMILIES",
    "NOF_SCENARIO_BY_ICS",
    "NOF_SCENARIO_NATIONAL",
    "NOF_SCENARIO_SWEEP",
    "NOF_SCENARIO_TRUSTS",
    "SCENARIO_BY_ICS",
    "SCENARIO_NATIONAL",
    "SCENARIO_OUTCOMES",
    "SCENARIO_PROVIDERS",
    "SCENARIO_SWEEP",
    "SCENARIO_THRESHOLD_UNCERTAINTY",
]
