"""The table of what a Monte Carlo run varies, how, and what it holds fixed.

``uncertainty_assumptions.csv``: one row per composite-wide assumption (the weights, each
normalisation and aggregation alternative) and one row per indicator of the composite
under the ``bootstrap`` assumption (the sampling variation of the data): what varies, its
distribution, where its parameters come from, and what stays fixed -- so a reader can see
that every pillar is drawn from its own sampling distribution, or why one is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import polars as pl

from ics_model.composite.spec import CompositeSpec, IndicatorSpec, parse_source
from ics_model.metrics.system import DISPERSION_METRICS
from ics_model.uncertainty.bootstrap import BOOTSTRAP_COLUMNS
from ics_model.uncertainty.contracts import UNCERTAINTY_ASSUMPTIONS
from ics_model.uncertainty.sampling import (
    METRIC_SAMPLERS,
    SAMPLER_TEXT,
    SamplingPlan,
    held_fixed_reason,
)
from ics_model.uncertainty.spec import UncertaintySpec

#: the ``indicator`` of the rows about the whole composite
ALL_INDICATORS: Final = "(all indicators)"

_PROVIDER_DISTRIBUTION: Final = {
    "bayesian": "rating shares ~ Dirichlet(counts + 1/2) (Jeffreys), then counts ~ "
    "Multinomial(rated providers, shares); statistic recomputed (Bayesian bootstrap)",
    "multinomial": "counts ~ Multinomial(rated providers, observed shares); statistic "
    "recomputed (provider bootstrap)",
}
_PROVIDER_SOURCE: Final = "rating counts of the ICS's placed providers (Result.views.mapped)"
_PROVIDER_FIXED: Final = "how many providers are rated in each ICS, and where each is placed"


def _weight_rows(spec: UncertaintySpec) -> list[tuple]:
    w = spec.weights
    setting, distribution, fixed = {
        "dirichlet": (
            f"dirichlet (concentration {w.concentration:g})",
            f"Dirichlet({w.concentration:g} x configured weights) within each pillar and "
            "across pillars",
            "zero weights stay zero; the weights' means are the configured ones",
        ),
        "uniform": (
            f"uniform (spread +-{w.spread:.0%})",
            f"each weight x Uniform(1 - {w.spread:g}, 1 + {w.spread:g}), renormalised",
            "zero weights stay zero",
        ),
        "none": ("configured weights", "none", "the configured weights"),
    }[w.method]
    source = "composite pillar and indicator weights; uncertainty.weights"
    varied = w.method != "none"
    return [("weights", ALL_INDICATORS, varied, setting, distribution, source, fixed, spec.draws)]


def _choice_rows(
    assumption: str, labels: Sequence[str], choice: np.ndarray, source: str, fixed: str
) -> list[tuple]:
    varied = len(labels) > 1
    dist = f"one of {len(labels)} drawn uniformly per draw" if varied else "none (one choice)"
    return [
        (assumption, ALL_INDICATORS, varied, f"{i}: {lab}", dist, source, fixed, int(n))
        for i, (lab, n) in enumerate(
            zip(labels, np.bincount(choice, minlength=len(labels)), strict=True)
        )
    ]


def _indicator_text(ind: IndicatorSpec, spec: UncertaintySpec) -> tuple[str, ...] | None:
    """(varies, distribution, parameters, fixed) of an indicator's sampling, or None."""
    src = parse_source(ind.source)
    provider = None
    if src[0] == "view" and src[3] in BOOTSTRAP_COLUMNS:
        provider = f"the ratings of the ICS's rated providers ({src[1]}, {src[2]}): {src[3]}"
    elif src[0] == "metric" and src[1] in DISPERSION_METRICS:
        provider = f"the Overall ratings of the ICS's {DISPERSION_METRICS[src[1]]} providers"
    if provider is not None:
        dist = _PROVIDER_DISTRIBUTION[spec.bootstrap_method]
        return (provider, dist, _PROVIDER_SOURCE, _PROVIDER_FIXED)
    if src[0] == "metric" and src[1] in METRIC_SAMPLERS:
        return SAMPLER_TEXT[METRIC_SAMPLERS[src[1]][0]]
    return None


def _off_reason(
    ind: IndicatorSpec, spec: UncertaintySpec, has_providers: bool, has_inputs: bool
) -> str:
    """Why an indicator with a sampling distribution is not varied in this run."""
    if not spec.bootstrap:
        return "off: uncertainty.bootstrap is false"
    src = parse_source(ind.source)
    by_provider = src[0] == "view" or src[1] in DISPERSION_METRICS
    if src[0] == "metric" and not spec.metric_sampling:
        return "off: uncertainty.metric_sampling is false"
    if by_provider and not has_providers:
        return "off: no providers given to the analysis"
    if not by_provider and not has_inputs:
        return "off: no sampling inputs (the run's metrics) given to the analysis"
    return "off: nothing to resample"


def assumptions_table(
    spec: UncertaintySpec,
    cspec: CompositeSpec,
    *,
    norm_labels: Sequence[str],
    agg_labels: Sequence[str],
    norm_choice: np.ndarray,
    agg_choice: np.ndarray,
    plan: SamplingPlan | None,
    has_providers: bool,
    has_inputs: bool,
) -> pl.DataFrame:
    """Build ``uncertainty_assumptions.csv`` (:data:`~.contracts.UNCERTAINTY_ASSUMPTIONS`).

    Parameters
    ----------
    spec, cspec : the uncertainty and composite specs.
    norm_labels, agg_labels : the normalisation and aggregation alternatives.
    norm_choice, agg_choice : the alternative each draw used.
    plan : what the ``bootstrap`` assumption resampled (None: nothing).
    has_providers, has_inputs : whether providers and metric sampling inputs were given
        (to say why an indicator was not varied).

    Returns
    -------
    pl.DataFrame
        The weights row, one row per normalisation and aggregation alternative, then one
        ``bootstrap`` row per indicator of the composite (spec order): ``varied``,
        ``setting`` (what varies, or why nothing does), ``distribution``,
        ``parameters_source``, ``held_fixed`` and ``n_draws``.
    """
    rows = _weight_rows(spec)
    rows += _choice_rows(
        "normalisation",
        norm_labels,
        norm_choice,
        "uncertainty.normalisation (else each indicator's configured normaliser)",
        "the normalisers' output range (composite normalise_range)",
    )
    rows += _choice_rows(
        "aggregation",
        agg_labels,
        agg_choice,
        "uncertainty.aggregation (else the composite's aggregation)",
        "the aggregation a pillar sets for itself",
    )
    sampled = set(plan.columns) if plan is not None else set()
    for j, (_, ind) in enumerate(cspec.indicators):
        text = _indicator_text(ind, spec)
        if text is None:
            src = parse_source(ind.source)
            reason = (
                held_fixed_reason(src[1])
                if src[0] == "metric"
                else "a view column the provider bootstrap does not recompute"
            )
            rows.append(("bootstrap", ind.name, False, "held fixed", "none", "-", reason, 0))
            continue
        varies, dist, source, fixed = text
        if j in sampled:
            rows.append(("bootstrap", ind.name, True, varies, dist, source, fixed, spec.draws))
        else:
            off = _off_reason(ind, spec, has_providers, has_inputs)
            rows.append(("bootstrap", ind.name, False, off, dist, source, "everything", 0))
    return pl.DataFrame(rows, schema=UNCERTAINTY_ASSUMPTIONS.schema, orient="row")


__all__ = ["ALL_INDICATORS", "assumptions_table"]
