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
_P = {"min_value": 0.0, "max_value": 1.0}
_RATIO = {"min_value": 0.0}
_REQ = {"nullable": False}


def _f(name: str, description: str, **kw: Any) -> Column:
    return Column(name, pl.Float64, description=description, **{**_REQ, **kw})


def _i(name: str, description: str, **kw: Any) -> Column:
    return Column(name, pl.Int64, description=description, **{**_REQ, **kw})


EFFECT: Final = Contract(
    name="collaboration_effect",
    description="The exposure -> outcome association as one row: odds ratios with 95% "
    "intervals, p-values, design diagnostics and the method (association only, not causal).",
    key=(),
    extra_columns=False,
    columns=(
        Column(
            "outcome",
            pl.String,
            **_REQ,
            allowed=frozenset(RATING_LABELS),
            description="the rating modelled (rating == outcome)",
        ),
        Column("exposure", pl.String, **_REQ, description="the exposure metric"),
        Column(
            "exposure_level",
            pl.String,
            **_REQ,
            allowed=frozenset({"ics", "provider"}),
            description="whether the exposure varies by ICS or by provider",
        ),
        _f("estimate", "odds ratio per SD of the exposure (= odds_ratio_per_sd)", **_RATIO),
        _f("odds_ratio_per_sd", "odds ratio per SD of the exposure", **_RATIO),
        _f("odds_ratio_per_unit", "odds ratio per unit of the exposure", **_RATIO),
        _f("log_odds_per_sd", "log odds ratio per SD (the model coefficient)"),
        _f("exposure_mean", "mean of the exposure"),
        _f("exposure_sd", "SD of the exposure (across clusters at ICS level)", min_value=0.0),
        _f("ci_lower", "95% lower limit of the odds ratio per SD", **_RATIO),
        _f("ci_upper", "95% upper limit of the odds ratio per SD (inf: unbounded)", **_RATIO),
        _f("p_value_model", "p-value, wild cluster restricted score bootstrap", **_P),
        Column(
            "p_value_permutation",
            pl.Float64,
            **_P,
            description="p-value of the ICS-level permutation test; null at provider level",
        ),
        _f("se_cr1", "CR1 cluster-robust SE of the log odds per SD", min_value=0.0),
        _f("se_model", "model-based SE of the log odds per SD", min_value=0.0),
        _f("ci_cr1_lower", "95% lower limit of the odds ratio per SD, CR1 Wald", **_RATIO),
        _f("ci_cr1_upper", "95% upper limit of the odds ratio per SD, CR1 Wald", **_RATIO),
        _f("p_value_cr1", "p-value, CR1 Wald test", **_P),
        _i("n_providers", "providers in the model", min_value=0),
        _i("n_clusters", "clusters (ICSs) in the model", min_value=0),
        _i("n_outcome", "providers rated outcome", min_value=0),
        _i("n_clusters_with_outcome", "clusters with at least one such provider", min_value=0),
        _f("prevalence", "n_outcome / n_providers", **_P),
        _f("icc_outcome", "ANOVA intra-cluster correlation of the outcome (floored at 0)", **_P),
        _f("icc_exposure", "ANOVA intra-cluster correlation of the exposure", **_P),
        _f("design_effect", "1 + (m - 1) x icc_outcome x icc_exposure", min_value=1.0),
        _f("exposure_residual_variance", "exposure variance left by the controls", min_value=0.0),
        _f(
            "min_detectable_effect",
            "minimal detectable odds ratio per SD at 80% power",
            min_value=1.0,
        ),
        Column("converged", pl.Boolean, **_REQ, description="the IRLS fit converged"),
        Column("method", pl.String, **_REQ, description="what was fitted and how"),
        Column("seed", pl.Int64, description="the seed given"),
        _i("seed_entropy", "entropy of the seed sequence (reproduces the draws)", min_value=0),
        _i("permutations", "permutation draws", min_value=MIN_DRAWS),
        _i("bootstrap_draws", "wild bootstrap draws", min_value=MIN_DRAWS),
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
)

EFFECT_SKIPPED: Final = Contract(
    name="collaboration_effect_skipped",
    description="The effect was not estimated: the reason, as one row.",
    extra_columns=False,
    columns=(Column("skipped", pl.String, **_REQ, description="why the effect was not estimated"),),
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
