"""Rating rule engine: CQC ratings principles, SAF scoring, user rule sets and gates.

Rule sets are named, versioned configurations in ``configs/rules/*.yaml``
(:mod:`ics_model.rules.rulesets`). Public API:

- :func:`combine_ratings` -- combine rating labels by a rule set (scalar);
- :func:`combine_frame` -- the same, vectorised over groups of a polars frame;
- :func:`saf_rating` -- SAF statement scores -> key-question rating;
- :func:`apply_gates` -- collaboration gates (overall and key-question level);
- :func:`check_against_published` -- how often a rule set reproduces published ratings;
- :func:`ics_modelled_ratings` -- share- or segment-based *modelled* ICS ratings.
"""

from ics_model.rules.check import CheckResult, check_against_published
from ics_model.rules.engine import (
    aggregate_levels,
    apply_enforcement,
    combine_frame,
    combine_ratings,
    rule_from_counts,
)
from ics_model.rules.gates import apply_gates
from ics_model.rules.ics import ics_modelled_ratings
from ics_model.rules.rulesets import available_rule_sets, get_rule_set, load_rule_set
from ics_model.rules.saf import saf_frame, saf_overall, saf_percent, saf_rating

__all__ = [
    "CheckResult",
    "aggregate_levels",
    "apply_enforcement",
    "apply_gates",
    "available_rule_sets",
    "check_against_published",
    "combine_frame",
    "combine_ratings",
    "get_rule_set",
    "ics_modelled_ratings",
    "load_rule_set",
    "rule_from_counts",
    "saf_frame",
    "saf_overall",
    "saf_percent",
    "saf_rating",
]
