"""Contracts of the specification curve's frames (:mod:`ics_model.effects.curve`).

:data:`SPECIFICATION_CURVE` (one row per specification x period fitted:
``specification_curve.csv``), :data:`CURVE_SKIPPED` (every combination not fitted, with
the reason), :data:`CURVE_SUMMARY` (per period), :data:`CURVE_PLACEBO` (post- vs pre-ICS
per specification), :data:`CURVE_JOINT` (the joint permutation test) and
:data:`CURVE_ACCOUNTS` (every provider of the analysis rows used or excluded). The
frames are built with these schemas. Associations, not causal effects.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract
from ics_model.effects.rows import EXCLUSION_REASONS
from ics_model.effects.spec import (
    MODEL_OUTCOME_KINDS,
    OUTCOMES,
    PERIODS,
    POPULATIONS,
    STATISTICS,
    VERDICTS,
)

_POPULATION = frozenset(POPULATIONS)
_OUTCOME = frozenset(OUTCOMES)
_MODEL = frozenset(MODEL_OUTCOME_KINDS)
_PERIOD = frozenset(PERIODS)
_RATIO = {"min_value": 0.0}


def _key(*, spec_nullable: bool = False) -> tuple[Column, ...]:
    spec_id = Column(
        "spec_id",
        pl.Int64,
        nullable=spec_nullable,
        min_value=1,
        description="the specification (shared by its two periods)",
    )
    return (
        spec_id,
        Column.text("population", "the analysed providers", allowed=_POPULATION),
        Column.text("outcome", "the outcome coding", allowed=_OUTCOME),
        Column.text("exposure", "the exposure (ICS metric or provider column)"),
        Column.text("controls", "the control set's name"),
        Column.text("model", "the model", allowed=_MODEL),
    )


_PERIOD_COL = Column.text(
    "period", "post_ics: published on/after 1 July 2022; pre_ics: before", allowed=_PERIOD
)

SPECIFICATION_CURVE: Final = Contract.closed(
    "specification_curve",
    (
        *_key(),
        _PERIOD_COL,
        Column.text("outcome_kind", "binary or ordinal", allowed=frozenset({"binary", "ordinal"})),
        Column.text(
            "exposure_level", "ICS-level or provider-level", allowed=frozenset({"ics", "provider"})
        ),
        Column.number("exposure_sd", "one SD of the exposure (the unit of the odds ratio)"),
        Column.text("control_columns", "the control set's columns, comma-separated"),
        Column.count("n", "providers analysed"),
        Column.count("n_clusters", "ICSs analysed"),
        Column.count("n_events", "binary: providers coded 1; ordinal: in the top category"),
        Column.number("estimate", "odds ratio per SD of the exposure (null: fit failed)", **_RATIO),
        Column.number("ci_lower", "95% lower limit (0: unbounded)", **_RATIO),
        Column.number("ci_upper", "95% upper limit (inf: unbounded)", **_RATIO),
        Column.share("p_value", "p-value of no association (null: the model gives none)"),
        Column.number(
            "between", "odds ratio per SD of the ICS mean (provider-level exposures)", **_RATIO
        ),
        Column.flag("converged", "the fit converged"),
        Column.text("note", "the model's and the curve's notes", nullable=True),
        Column("significant", pl.Boolean, description="p < 0.05 (or the interval excludes 1)"),
        Column.text("dropped", "rows dropped, by reason", nullable=True),
    ),
    key=("spec_id", "period"),
    description="The specification curve: associations, not causal effects.",
)

CURVE_SKIPPED: Final = Contract.closed(
    "specification_curve_skipped",
    (
        *_key(spec_nullable=True),
        _PERIOD_COL,
        Column.text(
            "stage",
            "grid: invalid combination or no data; data: the analysed rows cannot be fitted",
            allowed=frozenset({"grid", "data"}),
        ),
        Column.text("reason", "why it was not fitted"),
    ),
    key=("population", "outcome", "exposure", "controls", "model", "period"),
)

CURVE_SUMMARY: Final = Contract.closed(
    "specification_curve_summary",
    (
        _PERIOD_COL,
        Column.count("n_specifications", "specifications fitted in the period"),
        Column.count("n_estimated", "of which with an estimate"),
        Column.share("share_positive", "share of estimates above 1"),
        Column.share("share_negative", "share of estimates below 1"),
        Column.share("share_significant_positive", "share above 1 and significant at 5%"),
        Column.share("share_significant_negative", "share below 1 and significant at 5%"),
        Column.number("median_estimate", "median odds ratio per SD", **_RATIO),
        Column.text("sentence", "the period's summary in words"),
    ),
    key=("period",),
)

_SIDE_COLUMNS = tuple(
    c
    for side in ("post", "pre")
    for c in (
        Column.number(f"estimate_{side}", f"{side}-ICS odds ratio per SD", **_RATIO),
        Column.number(f"ci_lower_{side}", f"{side}-ICS 95% lower limit", **_RATIO),
        Column.number(f"ci_upper_{side}", f"{side}-ICS 95% upper limit", **_RATIO),
        Column.share(f"p_value_{side}", f"{side}-ICS p-value"),
        Column(f"significant_{side}", pl.Boolean, description=f"{side}-ICS significant at 5%"),
        Column(f"n_{side}", pl.Int64, min_value=0, description=f"{side}-ICS providers"),
    )
)

CURVE_PLACEBO: Final = Contract.closed(
    "specification_curve_placebo",
    (
        *_key(),
        *_SIDE_COLUMNS,
        Column.text("verdict", "the placebo reading", allowed=frozenset(VERDICTS)),
        Column.text("sentence", "the reading in words"),
    ),
    key=("spec_id",),
)

CURVE_JOINT: Final = Contract.closed(
    "specification_curve_joint_test",
    (
        _PERIOD_COL,
        Column.text("statistic", "the curve's summary statistic", allowed=frozenset(STATISTICS)),
        Column.number("observed", "its observed value (score approximation)", nullable=False),
        Column.share("p_value", "permutation p-value", nullable=False),
        Column.text(
            "dominant_sign",
            "direction with more significant specifications (n_significant_dominant only)",
            nullable=True,
            allowed=frozenset({"positive", "negative", "none"}),
        ),
        Column.count("n_specifications", "specifications in the test"),
        Column.count("n_excluded", "specifications left out (unusable null model)"),
        Column.count("permutations", "permutations"),
        Column.count("seed", "random seed"),
    ),
    key=("period", "statistic"),
)

CURVE_ACCOUNTS: Final = Contract.closed(
    "specification_curve_accounts",
    (
        Column.text("population", "the population", allowed=_POPULATION),
        Column.text(
            "outcome",
            "used in a period, or why not",
            allowed=frozenset({f"used_{p}" for p in PERIODS} | set(EXCLUSION_REASONS)),
        ),
        Column.count("n_rows", "providers"),
    ),
    key=("population", "outcome"),
)

__all__ = [
    "CURVE_ACCOUNTS",
    "CURVE_JOINT",
    "CURVE_PLACEBO",
    "CURVE_SKIPPED",
    "CURVE_SUMMARY",
    "SPECIFICATION_CURVE",
]
