"""Uncertainty and sensitivity analysis of composite indicators of ICSs.

Monte Carlo propagation of the composite's assumptions -- weights, normaliser,
aggregation and which providers happen to be rated (a provider bootstrap) -- to each
ICS's score and rank, and variance-based (Sobol') sensitivity indices of the ranks, as
the JRC/OECD *Handbook on Constructing Composite Indicators* (2008), step 7, and Saisana,
Saltelli & Tarantola (2005) describe. Every ICS score is a *modelled* construct: there
are no official ICS ratings.

Typical use::

    from ics_model.composite import default_composite_spec, indicator_matrix
    from ics_model.uncertainty import UncertaintySpec, run_uncertainty

    cspec = default_composite_spec()
    matrix = indicator_matrix(result.views.ics_view, result.metrics.ics_metrics, cspec)
    m = result.metrics
    res = run_uncertainty(
        matrix, UncertaintySpec(), cspec, providers=result.views.mapped,
        sampling=SamplingInputs(quintiles=m.gp_quintiles, share_counts=m.share_counts),
    )
    res.per_ics  # rank, rank_median, rank_p05, rank_p95, p_top_k, ...

The array kernels (:func:`weight_monte_carlo`, :func:`score_draws`, :func:`rank_rows`)
work on a normalised ICS x indicator array without any polars pipeline per draw.
"""

from __future__ import annotations

from ics_model.uncertainty.bootstrap import ProviderCounts, provider_counts, resample_indicators
from ics_model.uncertainty.draws import (
    DrawScores,
    rank_rows,
    rank_summary,
    score_draws,
    weight_draws,
    weight_monte_carlo,
)
from ics_model.uncertainty.run import UncertaintyResult, run_uncertainty, varied_assumptions
from ics_model.uncertainty.sampling import SamplingInputs, SamplingPlan
from ics_model.uncertainty.sobol import sobol_indices, sobol_problem
from ics_model.uncertainty.spec import (
    SobolSpec,
    UncertaintyError,
    UncertaintySpec,
    WeightsSpec,
)

__all__ = [
    "DrawScores",
    "ProviderCounts",
    "SamplingInputs",
    "SamplingPlan",
    "SobolSpec",
    "UncertaintyError",
    "UncertaintyResult",
    "UncertaintySpec",
    "WeightsSpec",
    "provider_counts",
    "rank_rows",
    "rank_summary",
    "resample_indicators",
    "run_uncertainty",
    "score_draws",
    "sobol_indices",
    "sobol_problem",
    "varied_assumptions",
    "weight_draws",
    "weight_monte_carlo",
]
