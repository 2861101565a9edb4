"""Contracts of the main job's bookkeeping outputs.

Row conservation, the unmapped and superseded reports, and the quarantine.

Every input row ends in exactly one of used, inherited, superseded, quarantined,
unmapped, stale, inherited_excluded, ambulance_excluded or not_registered
(:func:`~ics_model.mapping.base.conservation`);
these frames account for the rows that were not used. Declared once here and checked
at write time through :func:`ics_model.output_contracts.check_outputs`.
"""

from __future__ import annotations

from typing import Final

from ics_model.contracts import Column, Contract
from ics_model.mapping.base import OUTCOMES, SET_ASIDE, SUPERSEDED, UNMAPPED
from ics_model.mapping.spatial import PLACEMENT_CHECKS

#: the conservation counts: one per outcome, their total and the rows read
_COUNT_TEXT: Final[dict[str, str]] = {
    "used": "rows placed with their own rating (or reference rows used)",
    "inherited": "rows of inherited ratings: a successor's, or flagged so by the file",
    "superseded": "rows replaced by a later publication or a successor's own rating",
    "quarantined": "rows that broke the source's contract (see quarantine.csv)",
    "unmapped": "rows that could not be placed in an ICB (see unmapped.csv)",
    "stale": "rows of ratings older than ratings.max_age_years (see set_aside.csv)",
    "inherited_excluded": (
        "rows of inherited ratings left out (ratings.inherited: exclude; see set_aside.csv)"
    ),
    "ambulance_excluded": "rows of ambulance trusts left out of ICS counts "
    "(mapping.ambulance: exclude, or no service area known)",
    "not_registered": (
        "CQC API records of locations not yet registered at ratings.as_of (see set_aside.csv)"
    ),
    "total": "sum of the outcome counts",
    "n_input_rows": "data rows read from the source",
}

CONSERVATION: Final = Contract.closed(
    "conservation",
    (
        Column.text("source", "input source (role in the run)"),
        *(Column.count(c, _COUNT_TEXT[c]) for c in (*OUTCOMES, "total", "n_input_rows")),
        Column.flag("balanced", "total == n_input_rows"),
    ),
    key=("source",),
    description=(
        "One row per input source: its rows per outcome, their total and the "
        "input rows; every row must be counted exactly once."
    ),
)

QUARANTINE: Final = Contract.closed(
    "quarantine",
    (
        Column.text("source", "input source (file or contract)"),
        Column.count("source_row", "row in the input file (header = row 1), else the frame index"),
        Column.text("reason", "column: value (problem) for each problem, joined by '; '"),
        Column.text("record", "the row's cells as JSON text"),
    ),
    key=("source", "source_row"),
    description=(
        "One row per input row that broke its source's contract (lenient mode), "
        "with every problem of the row and the row itself as JSON."
    ),
)

__all__ = [
    "CONSERVATION",
    "PLACEMENT_CHECKS",
    "QUARANTINE",
    "SET_ASIDE",
    "SUPERSEDED",
    "UNMAPPED",
]
