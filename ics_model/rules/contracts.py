"""Contracts of the rules' outputs: ``ics_modelled_ratings.csv`` and the NOF trust tables.

``ics_modelled_ratings.csv``: modelled ICS ratings (or segments) per rule set.

CQC has never rated ICSs: every value here is *modelled* from the ICS view's counts by an
ICS-level rule set (share thresholds give a rating label, a segmentation gives a segment
1-4, 1 = best). The same values for the Overall key question appear in the ICS view as
``modelled_<rule_set>`` columns (:data:`MODELLED_VIEW_COLUMN`).
"""

from __future__ import annotations

from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract
from ics_model.data.ods import ICB_CODE_PATTERN
from ics_model.mapping.nof import NOF_PLACED
from ics_model.ratings import RATING_LABELS, KeyQuestionEnum, SectorEnum
from ics_model.rules.ics import MODELLED_LABEL

#: a modelled value: a rating label (share rule sets) or a segment 1-4 (segmentation)
MODELLED_VALUES: Final = frozenset({*RATING_LABELS, "1", "2", "3", "4"})
#: what ``modelled_value`` holds
MODELLED_KINDS: Final = frozenset({"modelled_ics_rating", "modelled_ics_segment"})

ICS_MODELLED_RATINGS: Final = Contract.closed(
    "ics_modelled_ratings",
    (
        Column.icb_code(ICB_CODE_PATTERN),
        Column("sector", SectorEnum, nullable=False, description="provider sector counted"),
        Column("key_question", KeyQuestionEnum, nullable=False, description="key question counted"),
        Column.text("rule_set", "the ICS-level rule set applied"),
        Column(
            "modelled_value",
            pl.String,
            allowed=MODELLED_VALUES,
            description="rating label or segment (1 = best); null: too few rated",
        ),
        Column.text("kind", "modelled_ics_rating or modelled_ics_segment", allowed=MODELLED_KINDS),
        Column.count("n_rated", "rated providers counted"),
        Column(
            "rule",
            pl.String,
            description="share rule sets: the first rule that holds, '<number>: <rating>' "
            "(before the worst-provider floor); null for segmentations or too few rated",
        ),
        Column(
            "worst_provider_rating",
            pl.String,
            allowed=frozenset(RATING_LABELS),
            description="the worst rating among the rated providers counted",
        ),
        Column(
            "note",
            pl.String,
            description="why no value is given, or that the worst-provider floor raised it",
        ),
        Column.text("label", "marks every value as modelled", allowed=frozenset({MODELLED_LABEL})),
    ),
    key=("icb_code", "sector", "key_question", "rule_set"),
    description=(
        "One row per ICB x sector x key question x ICS-level rule set: the modelled "
        "rating or segment (modelled; CQC has never rated ICSs)."
    ),
)

#: the ICS view's ``modelled_<rule_set>`` columns (Overall rows' modelled values)
MODELLED_VIEW_PATTERN: Final = r"modelled_.+"
MODELLED_VIEW_COLUMN: Final = Column(
    "modelled_<rule_set>",
    pl.String,
    allowed=MODELLED_VALUES,
    description="the rule set's modelled value on Overall rows; null elsewhere or too few rated",
)

__all__ = [
    "ICS_MODELLED_RATINGS",
    "MODELLED_KINDS",
    "MODELLED_VALUES",
    "MODELLED_VIEW_COLUMN",
    "MODELLED_VIEW_PATTERN",
]


#: ``nof_trusts.csv``: NOF trusts placed in ICSs, with the rule set's derived segment
NOF_TRUSTS: Final = Contract.closed(
    "nof_trusts",
    (
        *NOF_PLACED.columns,
        Column.text("rule_set", "the nof rule set that derived the segments"),
        Column.text("scale", "how to read scores and segments: lower is better"),
        Column(
            "derived_unadjusted_segment",
            pl.Int64,
            description="segment from the average score alone (null outside the league table)",
        ),
        Column("derived_segment", pl.Int64, description="after the deficit cap and overrides"),
        Column("derived_capped", pl.Boolean, nullable=False, description="the deficit cap bit"),
    ),
    key=("org_code",),
    description=(
        "NHS trusts with a NOF 2025/26 segment, placed in their host ICB, with the segment the "
        "rule set derives beside the published one (adjusted_segment); scores and segments: "
        "1 = best, 4 = worst (lower is better)."
    ),
)

#: ``nof_check_summary.csv``: derived against published NOF segments, per measure
NOF_CHECK_SUMMARY: Final = Contract.closed(
    "nof_check_summary",
    (
        Column.text("measure", "segment (overall) or a NOF domain"),
        Column("n", pl.Int64, nullable=False, description="organisations compared"),
        Column("n_agree", pl.Int64, nullable=False, description="derived == published"),
        Column("agreement", pl.Float64, description="n_agree / n"),
    ),
    key=("measure",),
    description="Agreement of a nof rule set's derived segments with the published ones.",
)
