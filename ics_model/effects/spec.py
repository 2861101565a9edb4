"""The ``effect.curve`` section of a run config: the specification curve's grid.

A specification is one population x outcome coding x exposure x control set x model; each
is fitted on ratings published after ICSs became statutory (``post_ics``, on or after 1
July 2022) and, as a placebo, on ratings published before (``pre_ics``). The registries
here say which names a config may use and which combinations make sense; the curve
(:mod:`ics_model.effects.curve`) skips every other combination and lists it with the
reason (:func:`combination_problem`), never silently.

Example::

    effect:
      curve:
        populations: [gp_practice, nhs_trust]
        outcomes: [rating_ordinal, good_or_outstanding, outstanding]
        exposures: [self_containment, n_partner_icss, home_system_share]
        controls: {none: [], year: [publication_year]}
        models: [glm_cluster, ordinal_logit]
        periods: [post_ics, pre_ics]
        permutations: 999
        seed: 20220701

An association, not a causal effect (see :mod:`ics_model.effects`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from pydantic import Field, field_validator

from ics_model.spec import Frozen

#: ICSs became statutory bodies on 1 July 2022 (Health and Care Act 2022).
ICS_START: Final = date(2022, 7, 1)

#: The two periods of every specification: ratings published on/after :data:`ICS_START`
#: and the pre-ICS placebo (ratings published before it).
Period = Literal["post_ics", "pre_ics"]
PERIODS: Final[tuple[str, ...]] = ("post_ics", "pre_ics")

#: Kinds of outcome coding: 0/1, or ordered codes 0..K-1 with higher = better.
OutcomeKind = Literal["binary", "ordinal"]


@dataclass(frozen=True)
class PopulationInfo:
    """A population of the curve: where its providers come from and what they carry."""

    sector: str  #: the providers' sector (``views.mapped`` sector)
    source: str  #: where the rows come from
    rated_by: Literal["cqc_rating", "nof_segment"]  #: what its outcomes are built on
    note: str  #: a caveat shown with its specifications


#: The populations a curve can use, by name. Their rows are built by
#: :func:`ics_model.effects.rows.analysis_rows`.
POPULATIONS: Final[dict[str, PopulationInfo]] = {
    "gp_practice": PopulationInfo(
        "gp_practice",
        "views.mapped (sector gp_practice, Overall) + the GP ratings file (IMD 2019 score)",
        "cqc_rating",
        "GP practices: the file gives the publication year only, so ratings of 2022 cannot "
        "be placed before or after 1 July 2022 and are left out of both periods; it holds "
        "each practice's latest rating, so the post-ICS practices are those inspected "
        "again recently (often after concerns) and the periods differ in who is rated, "
        "not only when.",
    ),
    "nhs_trust": PopulationInfo(
        "nhs_trust",
        "views.mapped (sector nhs_trust, Overall and Well-led)",
        "cqc_rating",
        "NHS trusts: the ratings file is of September 2018, so every trust rating predates "
        "ICSs; the trusts enter the pre-ICS placebo period only.",
    ),
    "independent_healthcare": PopulationInfo(
        "independent_healthcare",
        "views.mapped (sector independent_healthcare, Overall)",
        "cqc_rating",
        "Independent-sector hospitals and clinics (CQC API dump): locations without a "
        "publication date are left out; the dump holds no rating published after May 2024.",
    ),
    "nof_trust": PopulationInfo(
        "nhs_trust",
        "NHS Oversight Framework 2025/26 segments of trusts placed in ICSs",
        "nof_segment",
        "NOF trusts: one segmentation (2025/26), after ICSs began; there is no pre-ICS NOF "
        "segment, so the NOF specifications have no placebo.",
    ),
}


@dataclass(frozen=True)
class OutcomeInfo:
    """An outcome coding: its kind, the column it is built from and who has it."""

    kind: OutcomeKind
    description: str
    rated_by: Literal["cqc_rating", "nof_segment"]
    populations: tuple[str, ...] | None = None  #: None = every population rated that way


#: Outcome codings by name (columns of the analysis rows).
OUTCOMES: Final[dict[str, OutcomeInfo]] = {
    "rating_ordinal": OutcomeInfo(
        "ordinal", "Overall rating, 0 = Inadequate ... 3 = Outstanding", "cqc_rating"
    ),
    "good_or_outstanding": OutcomeInfo(
        "binary", "Overall rating Good or Outstanding (1) or worse (0)", "cqc_rating"
    ),
    "outstanding": OutcomeInfo("binary", "Overall rating Outstanding (1) or not (0)", "cqc_rating"),
    "well_led_good_or_outstanding": OutcomeInfo(
        "binary",
        "Well-led key question Good or Outstanding (1) or worse (0)",
        "cqc_rating",
        ("nhs_trust",),
    ),
    "well_led_ordinal": OutcomeInfo(
        "ordinal",
        "Well-led key question, 0 = Inadequate ... 3 = Outstanding",
        "cqc_rating",
        ("nhs_trust",),
    ),
    "nof_segment_ordinal": OutcomeInfo(
        "ordinal",
        "NOF 2025/26 adjusted segment, recoded higher = better (5 - segment: 4 = segment 1)",
        "nof_segment",
    ),
}

#: The outcome kinds each model of :data:`ics_model.effects.models.MODELS` fits. The
#: ordinal model is not run on a binary outcome: with two categories it is the logistic
#: model again (a duplicate specification, not a different one).
MODEL_OUTCOME_KINDS: Final[dict[str, frozenset[str]]] = {
    "glm_cluster": frozenset({"binary"}),
    "gee_exchangeable": frozenset({"binary"}),
    "ordinal_logit": frozenset({"ordinal"}),
    "mixed_logit": frozenset({"binary"}),
}

#: Readings of a specification's post- vs pre-ICS pair
#: (:func:`ics_model.effects.curve_summary.placebo_verdict`).
VERDICTS: Final[dict[str, str]] = {
    "neither": "no association in either period",
    "pre_as_strong": "the exposure predicts pre-ICS ratings as strongly (geography or history)",
    "overlapping": "weaker before ICSs began, but the intervals overlap (cannot tell)",
    "stronger_post": "present before ICSs began and stronger after",
    "post_only": "an association only after ICSs began",
    "pre_only": "an association only before ICSs began",
    "opposite": "significant in opposite directions",
    "not_comparable": "not estimated in both periods",
}

#: Summary statistics of the curve recomputed by the joint permutation test
#: (:mod:`ics_model.effects.joint`).
STATISTICS: Final[tuple[str, ...]] = ("median_odds_ratio", "n_significant_dominant", "stouffer_z")

#: the largest odds ratio per SD a power simulation plants: beyond it every simulated
#: outcome is all 0 or all 1 in each cluster; ``inf`` or 1e308 would overflow the simulation.
MAX_ODDS_RATIO: Final = 1000.0

_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _known(values: tuple[str, ...], allowed: dict[str, object], what: str) -> tuple[str, ...]:
    if not values:
        raise ValueError(f"name at least one {what}")
    if bad := [v for v in values if v not in allowed]:
        raise ValueError(f"unknown {what} {bad} (allowed: {', '.join(allowed)})")
    if len(set(values)) != len(values):
        raise ValueError(f"{what}s repeat a name: {list(values)}")
    return values


class EffectCurveConfig(Frozen):
    """The specification curve (``effect.curve``): every combination of the lists below.

    Attributes
    ----------
    enabled : run the curve.
    populations : keys of :data:`POPULATIONS` (default GP practices).
    outcomes : keys of :data:`OUTCOMES`.
    exposures : ICS-level metrics of ``ics_metrics`` (e.g. ``self_containment``,
        ``n_partner_icss``) or provider-level columns (e.g. a trust's
        ``home_system_share`` in ``provider_partnership``); checked against the data when
        the rows are built.
    controls : named control sets: each a list of columns of the analysis rows
        (``publication_year`` numeric, ``rating_year`` categorical, ``imd_score``,
        ``imd_quintile``, ``trust_type``); ``[]`` = no controls.
    models : keys of :data:`MODEL_OUTCOME_KINDS` (the models of
        :mod:`ics_model.effects.models`).
    periods : ``post_ics`` and/or ``pre_ics`` (the placebo).
    permutations : permutations of the joint test across the curve.
    chunk_size : permutations per task (results depend on ``seed``, ``permutations`` and
        ``chunk_size``, never on the executor).
    seed : seeds the joint test and every model's own resampling.

    The default grid, GP practices x 3 outcomes x 2 exposures x 3 control sets x 3
    models, has 30 valid specifications per period (the ordinal outcome with the ordinal
    model, the two binary outcomes with the two binary models) and 24 combinations per
    period skipped with their reason.
    """

    enabled: bool = True
    populations: tuple[str, ...] = ("gp_practice",)
    outcomes: tuple[str, ...] = ("rating_ordinal", "good_or_outstanding", "outstanding")
    exposures: tuple[str, ...] = ("self_containment", "n_partner_icss")
    controls: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "none": (),
            "year": ("publication_year",),
            "year_and_deprivation": ("publication_year", "imd_score"),
        }
    )
    models: tuple[str, ...] = ("glm_cluster", "gee_exchangeable", "ordinal_logit")
    periods: tuple[Period, ...] = ("post_ics", "pre_ics")
    permutations: int = Field(999, ge=99, le=100_000)
    chunk_size: int = Field(100, ge=1, le=100_000)
    seed: int = Field(20220701, ge=0)

    @field_validator("populations")
    @classmethod
    def _populations(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _known(v, POPULATIONS, "population")

    @field_validator("outcomes")
    @classmethod
    def _outcomes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _known(v, OUTCOMES, "outcome")

    @field_validator("models")
    @classmethod
    def _models(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _known(v, MODEL_OUTCOME_KINDS, "model")

    @field_validator("periods")
    @classmethod
    def _periods(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _known(v, dict.fromkeys(PERIODS), "period")

    @field_validator("exposures")
    @classmethod
    def _exposures(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if bad := [e for e in v if not _NAME.fullmatch(e)]:
            raise ValueError(f"exposure names must be snake_case column names, got {bad}")
        return _known(v, dict.fromkeys(v), "exposure")

    @field_validator("controls")
    @classmethod
    def _controls(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        if not v:
            raise ValueError("name at least one control set (e.g. none: [])")
        for name, cols in v.items():
            if not _NAME.fullmatch(name):
                raise ValueError(f"control set names must be snake_case, got {name!r}")
            if bad := [c for c in cols if not _NAME.fullmatch(c)]:
                raise ValueError(f"control set {name!r}: not column names: {bad}")
            if len(set(cols)) != len(cols):
                raise ValueError(f"control set {name!r} repeats a column: {list(cols)}")
        return v


def combination_problem(population: str, outcome: str, model: str) -> str | None:
    """Why a population x outcome x model combination cannot be fitted (None if it can).

    Examples
    --------
    >>> combination_problem("gp_practice", "outstanding", "glm_cluster") is None
    True
    >>> combination_problem("gp_practice", "well_led_good_or_outstanding", "glm_cluster")
    'well_led_good_or_outstanding exists for nhs_trust only'
    >>> combination_problem("gp_practice", "rating_ordinal", "glm_cluster")
    'glm_cluster fits binary outcomes only; rating_ordinal is ordinal'
    """
    out, pop = OUTCOMES[outcome], POPULATIONS[population]
    if out.rated_by != pop.rated_by:
        if pop.rated_by == "nof_segment":
            return f"{population} is rated by its NOF segment, not by CQC ratings"
        return f"{outcome} exists for NOF trusts (population nof_trust) only"
    if out.populations is not None and population not in out.populations:
        return f"{outcome} exists for {', '.join(out.populations)} only"
    kinds = MODEL_OUTCOME_KINDS[model]
    if out.kind not in kinds:
        fits = " and ".join(sorted(kinds))
        return f"{model} fits {fits} outcomes only; {outcome} is {out.kind}"
    return None


__all__ = [
    "ICS_START",
    "MAX_ODDS_RATIO",
    "MODEL_OUTCOME_KINDS",
    "OUTCOMES",
    "PERIODS",
    "POPULATIONS",
    "STATISTICS",
    "VERDICTS",
    "EffectCurveConfig",
    "OutcomeInfo",
    "Period",
    "PopulationInfo",
    "combination_problem",
]


class EffectPowerConfig(Frozen):
    """Power and coverage of the headline specification by simulation (``effect.power``).

    Outcomes are simulated on the real design (providers, ICSs, controls, exposure values)
    from the fitted null model plus a planted odds ratio per SD, with a random ICS intercept
    matching the observed clustering (:func:`ics_model.effects.power.simulate_power`).

    Attributes
    ----------
    enabled : run the simulation in the main job.
    odds_ratios : odds ratios per SD to plant (1 = the null: its power is the false
        rejection rate); each above 0 and at most 1000 (:data:`MAX_ODDS_RATIO`).
    n_sims : simulations per odds ratio.
    model : the model fitted to every simulated data set.
    seed : random seed (results are identical for a seed whatever the executor).
    """

    enabled: bool = True
    odds_ratios: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0, 5.0, 8.0)
    n_sims: int = Field(100, ge=10, le=100_000)
    model: str = "glm_cluster"
    seed: int = Field(20221201, ge=0)

    @field_validator("odds_ratios")
    @classmethod
    def _positive(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(not (0 < o <= MAX_ODDS_RATIO) for o in v):
            raise ValueError(
                f"odds ratios must be finite numbers above 0 and at most {MAX_ODDS_RATIO:g}, "
                f"got {repr(list(v))[:200]}"
            )
        return tuple(sorted(set(v)))

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        return _known((v,), MODEL_OUTCOME_KINDS, "model")[0]
