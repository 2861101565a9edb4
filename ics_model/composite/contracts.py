"""Contracts of the composite's output frames: scores, indicators, weights, correlations.

Declared once here and checked at write time through
:func:`ics_model.output_contracts.check_outputs`. Every composite is a *modelled*
construct: there are no official ICS ratings.

Scores and indicator values are in the units of the configured normaliser (``zscore``
and the transforms are unbounded), so only the columns whose range holds for every
configuration carry bounds: weights and coverage in [0, 1], ``score_0_100`` in
[0, 100], ranks from 1.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract
from ics_model.data.ods import ICB_CODE_PATTERN

#: pillar and indicator names, as :class:`~ics_model.composite.spec.CompositeSpec` requires
NAME_PATTERN: Final = r"[a-z][a-z0-9_]*"
#: composite scores carry one ``pillar_<name>`` column per configured pillar
PILLAR_SCORE_PATTERN: Final = rf"pillar_{NAME_PATTERN}"
#: the template of a ``pillar_<name>`` column (its name is the pillar's)
PILLAR_SCORE_COLUMN: Final = Column.number(
    "pillar_<name>",
    "the pillar's aggregated score, in the normaliser's units; null when every "
    "indicator of the pillar is missing",
)
#: a sum of weights may exceed 1 by rounding only
_SUM_OF_WEIGHTS_MAX: Final = 1.0 + 1e-9
_STATUSES: Final = frozenset({"observed", "incomplete", "skipped", "imputed"})
_LEVELS: Final = frozenset({"pillar", "indicator"})
_CORRELATION = {"min_value": -1.0, "max_value": 1.0}


def _name_column(name: str, description: str) -> Column:
    """Return a non-nullable pillar or indicator name column."""
    return Column.text(name, description, pattern=NAME_PATTERN)


def _weight_column(name: str, description: str) -> Column:
    """Return a non-nullable weight column in [0, 1]."""
    return Column.share(name, description, nullable=False)


_ICB_CODE: Final = Column.icb_code(ICB_CODE_PATTERN)

COMPOSITE_SCORES: Final = Contract.closed(
    "composite_scores",
    (
        _ICB_CODE,
        Column.icb_name(description="ICB name (null when the matrix has none)"),
        Column.number("score", "composite score in the normaliser's units; null when not ranked"),
        Column.number(
            "score_0_100",
            "score min-max rescaled over the ranked ICSs",
            min_value=0.0,
            max_value=100.0,
        ),
        Column(
            "rank",
            pl.Int64,
            min_value=1,
            description="1 = best; ties share the better rank; null when not ranked",
        ),
        Column(
            "affected",
            pl.String,
            description="missing indicators, skipped pillars, or why the ICS is not ranked",
        ),
        Column.share(
            "coverage",
            "share of the nominal weight carried by observed indicators whose source is "
            "complete (no major provider missing)",
            nullable=False,
            max_value=_SUM_OF_WEIGHTS_MAX,
        ),
    ),
    key=("icb_code",),
    description=(
        "One row per ICS: the composite score, its 0-100 rescaling, rank and "
        "coverage, plus one pillar_<name> column per pillar (modelled; no official ICS ratings)."
    ),
)

COMPOSITE_INDICATORS: Final = Contract.closed(
    "composite_indicators",
    (
        _ICB_CODE,
        _name_column("pillar", "the pillar the indicator belongs to"),
        _name_column("indicator", "indicator name from the composite spec"),
        Column.number("raw", "the indicator's value; null when missing"),
        Column.number("transformed", "after the configured transform (and imputation)"),
        Column.number("normalised", "after direction and normalisation, in the normaliser's units"),
        _weight_column(
            "weight_in_pillar", "weight within the pillar after reweighting for missing data"
        ),
        _weight_column("weight_in_composite", "pillar weight x weight within the pillar"),
        Column.number(
            "contribution", "weight_in_composite x normalised (arithmetic aggregation's share)"
        ),
        Column.text(
            "status",
            "observed, incomplete (observed; its source misses a major provider of the "
            "ICS, so it carries no coverage), skipped (missing, reweighted) or imputed",
            allowed=_STATUSES,
        ),
    ),
    key=("icb_code", "indicator"),
    description=(
        "One row per ICS x indicator: the value at each step (raw, transformed, "
        "normalised), its weights and its contribution to the score."
    ),
)

COMPOSITE_WEIGHTS: Final = Contract.closed(
    "composite_weights",
    (
        Column.text("level", "pillar or indicator", allowed=_LEVELS),
        _name_column("name", "the pillar's or the indicator's name"),
        _name_column("pillar", "the pillar (itself, on pillar rows)"),
        Column.number(
            "weight_given",
            "weight as configured (any non-negative scale)",
            nullable=False,
            min_value=0.0,
        ),
        _weight_column(
            "weight_normalised", "share among the pillars, or among the pillar's indicators"
        ),
        _weight_column("weight_in_composite", "nominal share of the whole composite"),
    ),
    key=("level", "name"),
    description=(
        "One row per pillar and per indicator: the weight given in the config and "
        "the normalised weights."
    ),
)

CORRELATIONS: Final = Contract.closed(
    "correlations",
    (
        _name_column("indicator_a", "first indicator (spec order)"),
        _name_column("indicator_b", "second indicator (later in spec order)"),
        _name_column("pillar_a", "pillar of indicator_a"),
        _name_column("pillar_b", "pillar of indicator_b"),
        Column.count("n", "ICSs with both indicators observed"),
        Column.number(
            "pearson",
            "Pearson r; null with fewer than 3 pairs or a constant indicator",
            **_CORRELATION,
        ),
        Column.number("spearman", "Spearman rho (Pearson r of average ranks)", **_CORRELATION),
        Column.flag("same_pillar", "both indicators in one pillar"),
        Column.flag("flag_high", "|pearson| above the threshold: possible double counting"),
        Column.flag(
            "flag_negative_within_pillar",
            "negative correlation inside a pillar: a trade-off aggregation hides",
        ),
    ),
    key=("indicator_a", "indicator_b"),
    description=(
        "One row per pair of indicators: Pearson and Spearman correlations over "
        "pairwise-complete ICSs, with the JRC/OECD flags."
    ),
)

__all__ = [
    "COMPOSITE_INDICATORS",
    "COMPOSITE_SCORES",
    "COMPOSITE_WEIGHTS",
    "CORRELATIONS",
    "NAME_PATTERN",
    "PILLAR_SCORE_COLUMN",
    "PILLAR_SCORE_PATTERN",
]
