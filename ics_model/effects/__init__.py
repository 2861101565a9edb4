"""The collaboration -> Outstanding association (an association, not a causal effect).

:func:`collaboration_effect` fits a logistic model of a provider being rated
``outcome`` on an exposure (e.g. its ICS's patient-flow self-containment), with a wild
cluster restricted score bootstrap for inference, an ICS-level permutation test and the
minimal detectable effect; populations come from :func:`gp_population`,
:func:`trust_population` and :func:`default_population`.

:func:`effect_curve` runs the specification curve of an :class:`EffectCurveConfig` on the
rows of :func:`analysis_rows` -- every population x outcome coding x exposure x controls x
model, post-ICS and pre-ICS (placebo) side by side, with a joint permutation test across
the curve (:mod:`ics_model.effects.curve`, :mod:`ics_model.effects.joint`).

:func:`match_nof_cqc` and :func:`nof_cqc_correlation` relate the NHS Oversight Framework
2025/26 average metric score to the 2018 CQC trust ratings (rank correlations with
intervals; :mod:`ics_model.effects.nof_cqc`).

:func:`simulate_power` gives the power, interval coverage and minimum detectable effect of
a specification by simulation on the real design (:mod:`ics_model.effects.power`).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names, for type checkers; loaded on first use (see __getattr__)
    from ics_model.effects.core import (
        STANDARD_CAVEATS,
        EffectResult,
        anova_icc,
        collaboration_effect,
        min_detectable_or,
    )
    from ics_model.effects.curve import CurveResult, effect_curve
    from ics_model.effects.nof_cqc import match_nof_cqc, nof_cqc_correlation, trust_overall_ratings
    from ics_model.effects.population import (
        GP_SINCE,
        Population,
        default_population,
        gp_population,
        trust_population,
    )
    from ics_model.effects.power import PowerResult, min_detectable_effect, simulate_power
    from ics_model.effects.rows import AnalysisRows, analysis_rows
    from ics_model.effects.spec import EffectCurveConfig

#: public name -> module that defines it; loaded on first use, so importing a light
#: submodule (``ics_model.effects.spec``, as the config does) does not load statsmodels
_PUBLIC = {
    "AnalysisRows": "ics_model.effects.rows",
    "CurveResult": "ics_model.effects.curve",
    "EffectCurveConfig": "ics_model.effects.spec",
    "EffectResult": "ics_model.effects.core",
    "GP_SINCE": "ics_model.effects.population",
    "Population": "ics_model.effects.population",
    "PowerResult": "ics_model.effects.power",
    "STANDARD_CAVEATS": "ics_model.effects.core",
    "analysis_rows": "ics_model.effects.rows",
    "anova_icc": "ics_model.effects.core",
    "collaboration_effect": "ics_model.effects.core",
    "default_population": "ics_model.effects.population",
    "effect_curve": "ics_model.effects.curve",
    "gp_population": "ics_model.effects.population",
    "match_nof_cqc": "ics_model.effects.nof_cqc",
    "min_detectable_effect": "ics_model.effects.power",
    "min_detectable_or": "ics_model.effects.core",
    "nof_cqc_correlation": "ics_model.effects.nof_cqc",
    "simulate_power": "ics_model.effects.power",
    "trust_overall_ratings": "ics_model.effects.nof_cqc",
    "trust_population": "ics_model.effects.population",
}

__all__ = [
    "GP_SINCE",
    "STANDARD_CAVEATS",
    "AnalysisRows",
    "CurveResult",
    "EffectCurveConfig",
    "EffectResult",
    "Population",
    "PowerResult",
    "analysis_rows",
    "anova_icc",
    "collaboration_effect",
    "default_population",
    "effect_curve",
    "gp_population",
    "match_nof_cqc",
    "min_detectable_effect",
    "min_detectable_or",
    "nof_cqc_correlation",
    "simulate_power",
    "trust_overall_ratings",
    "trust_population",
]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value  # once loaded, a plain attribute
        return value
    raise AttributeError(f"module 'ics_model.effects' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))
