"""Contract of the collaboration effect's output, in frame form.

``collaboration_effect.json`` is a dict (:meth:`EffectResult.to_dict` plus the run's
``population`` and, when the composite overlaps the outcome, a ``warning``). Its scalar
fields form one row, :func:`effect_frame`, checked against :data:`EFFECT`; the list and
dict fields (``controls``, ``design_columns``, ``n_dropped``, ``dropped_clusters``,
``caveats``) are not part of the frame. A run without the effect's sector writes
``{"skipped": reason}`` instead, checked against :data:`EFFECT_SKIPPED`.

An association, not a causal effect (see :mod:`ics_model.effects`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import polars as pl

from ics_model.contracts import Column, Contract
from ics_model.effects.core import MIN_DRAWS
from ics_model.ratings import RATING_LABELS

#: the effect populations a run config can name (``effect.population``)
EFFECT_POPULATIONS: Final = ("gp_since_2022", "gp_all_years", "nhs_trusts")
_RATIO = {"min_value": 0.0}


def _f(name: str, description: str, **bounds: float) -> Column:
    """Return a non-nullable Float64 column with optional ``min_value``/``max_value``."""
    return Column.number(name, description, nullable=False, **bounds)


def _p(name: str, description: str) -> Column:
    """Return a non-nullable probability (or proportion) column in [0, 1]."""
    return Column.share(name, description, nullable=False)


EFFECT: Final = Contract.closed(
    "collaboration_effect",
    (
        Column.text(
            "outcome", "the rating modelled (rating == outcome)", allowed=frozenset(RATING_LABELS)
        ),
        Column.text("exposure", "the exposure metric"),
        Column.text(
            "exposure_level",
            "whether the exposure varies by ICS or by provider",
            allowed=frozenset({"ics", "provider"}),
        ),
        _f("estimate", "odds ratio per SD of the exposure (= odds_ratio_per_sd)", **_RATIO),
        _f("odds_ratio_per_sd", "odds ratio per SD of the exposure", **_RATIO),
        _f("odds_ratio_per_unit", "odds ratio per unit of the exposure", **_RATIO),
        _f("log_odds_per_sd", "log odds ratio per SD (the model coefficient)"),
        _f("exposure_mean", "mean of the exposure"),
        _f("exposure_sd", "SD of the exposure (across clusters at ICS level)", min_value=0.0),
        _f("ci_lower", "95% lower limit of the odds ratio per SD", **_RATIO),
        _f("ci_upper", "95% upper limit of the odds ratio per SD (inf: unbounded)", **_RATIO),
        _p("p_value_model", "p-value, wild cluster restricted score bootstrap"),
        Column.share(
            "p_value_permutation",
            "p-value of the ICS-level permutation test; null at provider level",
        ),
        _f("se_cr1", "CR1 cluster-robust SE of the log odds per SD", min_value=0.0),
        _f("se_model", "model-based SE of the log odds per SD", min_value=0.0),
        _f("ci_cr1_lower", "95% lower limit of the odds ratio per SD, CR1 Wald", **_RATIO),
        _f("ci_cr1_upper", "95% upper limit of the odds ratio per SD, CR1 Wald", **_RATIO),
        _p("p_value_cr1", "p-value, CR1 Wald test"),
        Column.count("n_providers", "providers in the model"),
        Column.count("n_clusters", "clusters (ICSs) in the model"),
        Column.count("n_outcome", "providers rated outcome"),
        Column.count("n_clusters_with_outcome", "clusters with at least one such provider"),
        _p("prevalence", "n_outcome / n_providers"),
        _p("icc_outcome", "ANOVA intra-cluster correlation of the outcome (floored at 0)"),
        _p("icc_exposure", "ANOVA intra-cluster correlation of the exposure"),
        _f("design_effect", "1 + (m - 1) x icc_outcome x icc_exposure", min_value=1.0),
        _f("exposure_residual_variance", "exposure variance left by the controls", min_value=0.0),
        _f(
            "min_detectable_effect",
            "minimal detectable odds ratio per SD at 80% power",
            min_value=1.0,
        ),
        Column.flag("converged", "the IRLS fit converged"),
        Column.text("method", "what was fitted and how"),
        Column("seed", pl.Int64, description="the seed given"),
        Column.count("seed_entropy", "entropy of the seed sequence (reproduces the draws)"),
        Column.count("permutations", "permutation draws", min_value=MIN_DRAWS),
        Column.count("bootstrap_draws", "wild bootstrap draws", min_value=MIN_DRAWS),
        Column(
            "population",
            pl.String,
            required=False,
            allowed=frozenset(EFFECT_POPULATIONS),
            description="the population of the run config (added by the main job)",
        ),
        Column(
            "warning",
            pl.String,
            required=False,
            description="the composite overlaps the outcome (added by the main job)",
        ),
    ),
    key=(),
    description=(
        "The exposure -> outcome association as one row: odds ratios with 95% "
        "intervals, p-values, design diagnostics and the method (association only, not causal)."
    ),
)

EFFECT_SKIPPED: Final = Contract.closed(
    "collaboration_effect_skipped",
    (Column.text("skipped", "why the effect was not estimated"),),
    description="The effect was not estimated: the reason, as one row.",
)


def effect_frame(effect: Mapping[str, Any]) -> pl.DataFrame:
    """Turn the scalar fields of an effect dict into one row.

    Parameters
    ----------
    effect : ``collaboration_effect.json`` as a dict (:meth:`EffectResult.to_dict`, plus
        the main job's ``population`` and ``warning``), or ``{"skipped": reason}``.

    Returns
    -------
    pl.DataFrame
        One row; list and dict fields are left out. Each column's dtype is inferred from
        its value (a ``None`` takes the declared dtype), so a value of the wrong type shows
        as a dtype violation of :data:`EFFECT`.
    """
    declared = {c.name: c.dtype for c in (*EFFECT.columns, *EFFECT_SKIPPED.columns)}
    columns = {}
    for name, value in effect.items():
        if isinstance(value, list | tuple | dict | set):
            continue
        dtype = declared.get(name, pl.String) if value is None else None
        columns[name] = pl.Series(name, [value], dtype=dtype)
    return pl.DataFrame(columns)


__all__ = ["EFFECT", "EFFECT_POPULATIONS", "EFFECT_SKIPPED", "effect_frame"]
