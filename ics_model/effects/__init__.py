"""The collaboration -> Outstanding association (an association, not a causal effect).

:func:`collaboration_effect` fits a logistic model of a provider being rated
``outcome`` on an exposure (e.g. its ICS's patient-flow self-containment), with a wild
cluster restricted score bootstrap for inference, an ICS-level permutation test and the
minimal detectable effect; populations come from :func:`gp_population`,
:func:`trust_population` and :func:`default_population`.
"""

from ics_model.effects.core import (
    STANDARD_CAVEATS,
    EffectResult,
    anova_icc,
    collaboration_effect,
    min_detectable_or,
)
from ics_model.effects.population import (
    GP_SINCE,
    Population,
    default_population,
    gp_population,
    trust_population,
)

__all__ = [
    "GP_SINCE",
    "STANDARD_CAVEATS",
    "EffectResult",
    "Population",
    "anova_icc",
    "collaboration_effect",
    "default_population",
    "gp_population",
    "min_detectable_or",
    "trust_population",
]
