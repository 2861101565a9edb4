"""Composite indicators of ICSs, built step by step as the JRC/OECD Handbook describes.

Every composite is a *modelled* construct: there are no official ICS ratings. The method
registries (:mod:`~ics_model.composite.methods`) follow the JRC/OECD *Handbook on
Constructing Composite Indicators* (2008) and COINr (Becker et al. 2022, *JOSS* 7(78), 4567).

Typical use::

    from ics_model.composite import composite, default_composite_spec, indicator_matrix
    spec = default_composite_spec()
    matrix = indicator_matrix(result.ics_view, result.ics_metrics, spec)
    built = composite(matrix, spec)
    built.scores  # icb_code, icb_name, score, score_0_100, rank, pillar_<name>, affected
"""

from __future__ import annotations

from ics_model.composite.build import (
    CompositeResult,
    NormalisedArrays,
    composite,
    correlations,
    normalised_array,
    weights_frame,
)
from ics_model.composite.compare import (
    DEFAULT_PEER_FEATURES,
    compare,
    compare_summary,
    kendall_tau_b,
    peers,
)
from ics_model.composite.matrix import indicator_matrix
from ics_model.composite.methods import (
    AGGREGATORS,
    MISSING_POLICIES,
    NORMALISERS,
    TRANSFORMS,
    Aggregator,
    CompositeError,
)
from ics_model.composite.spec import (
    LABEL,
    CompositeSpec,
    Goalposts,
    IndicatorSpec,
    PillarSpec,
    composite_spec_from_dict,
    default_composite_spec,
)

__all__ = [
    "AGGREGATORS",
    "DEFAULT_PEER_FEATURES",
    "LABEL",
    "MISSING_POLICIES",
    "NORMALISERS",
    "TRANSFORMS",
    "Aggregator",
    "CompositeError",
    "CompositeResult",
    "CompositeSpec",
    "Goalposts",
    "IndicatorSpec",
    "NormalisedArrays",
    "PillarSpec",
    "compare",
    "compare_summary",
    "composite",
    "composite_spec_from_dict",
    "correlations",
    "default_composite_spec",
    "indicator_matrix",
    "kendall_tau_b",
    "normalised_array",
    "peers",
    "weights_frame",
]
