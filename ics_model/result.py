"""The typed record of a run: one field per stage, with the validated config that made it.

:func:`ics_model.pipeline.run` returns a :class:`Result`. Each stage's field holds that
stage's own frames and result objects; which file each one is written to is decided
only by :mod:`ics_model.outputs`. Optional stages (composite, uncertainty, effect) are
``None`` when the config switches them off or the run cannot make them (e.g. no ICS
metrics when ``metrics.enabled`` is false); ``scenarios`` is empty then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from ics_model.config import RunConfig
from ics_model.metrics.build import Metrics

if TYPE_CHECKING:
    from ics_model.composite import CompositeResult
    from ics_model.effects import EffectResult
    from ics_model.effects.curve import CurveResult
    from ics_model.effects.power import PowerResult
    from ics_model.scenarios.nof import NofScenarioResult
    from ics_model.scenarios.nof_spec import NofScenarioSpec
    from ics_model.scenarios.run import ScenarioResult
    from ics_model.scenarios.spec import ScenarioSpec
    from ics_model.uncertainty import UncertaintyResult

#: what every reader of a run's figures should know.
MODELLED_NOTE = (
    "ICS figures are modelled summaries of provider ratings; there are no official ICS ratings."
)


@dataclass(frozen=True)
class InputFile:
    """One file a run read: its role, path, sha256 and data vintage."""

    role: str
    path: str
    sha256: str
    vintage: str


@dataclass(frozen=True)
class Provenance:
    """Where a run's figures come from.

    Attributes
    ----------
    inputs : every file read, with its sha256.
    vintages : sector -> the vintage of its ratings and reference data.
    notes : what every reader of the results should know (ICS figures are modelled).
    """

    inputs: tuple[InputFile, ...]
    vintages: dict[str, str]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Views:
    """Providers placed in ICSs and the ICS views built on them.

    Attributes
    ----------
    mapped : every placed provider x key question (``MAPPED_RATINGS`` contract).
    ics_view : ICB x sector x key question counts, shares and intervals (``ICS_VIEW``);
        with the modelled ICS ratings of the configured rule sets as ``modelled_<name>``
        columns only when ``views.modelled_ratings`` is true.
    icbs : the ICBs of the run's vintage (code, GSS code, name).
    ics_modelled : the modelled ICS ratings, long, one row per rule set (may be empty).
    by_trust_type : ICB x sector x trust type x key question, weighted
        (``ICS_VIEW_BY_TRUST_TYPE``); None unless ``views.by`` names ``trust_type``.
    ambulance_allocation : how each ambulance trust counts in the ICBs it serves
        (``mapping.ambulance``); None when the run has no NHS trusts.
    geography : the ICB geography report (``ICB_GEOGRAPHY``: each 2023 ICB's part in each
        ICB of the run's vintage and what the data cannot place there), when built.
    """

    mapped: pl.DataFrame
    ics_view: pl.DataFrame
    icbs: pl.DataFrame
    ics_modelled: pl.DataFrame
    by_trust_type: pl.DataFrame | None = None
    ambulance_allocation: pl.DataFrame | None = None
    geography: pl.DataFrame | None = None


@dataclass(frozen=True)
class Conservation:
    """What became of every input row.

    Attributes
    ----------
    table : per source, rows used, inherited, superseded, quarantined and unmapped; they
        add up to the input rows (``balanced``).
    unmapped : providers that could not be placed in an ICS, with the reason.
    quarantine : rows that broke a data contract (lenient mode), with the reason.
    superseded : rows replaced by a later publication or by a successor's own rating.
    set_aside : placed providers the ``ratings`` settings left out (stale, inherited, not
        yet registered at ``ratings.as_of``), one row each with its rating, age and reason.
    placement_checks : for sectors placed by coordinates, one row per location: how its
        point was placed and whether its local authority agrees; None when the run has
        no such sector.
    """

    table: pl.DataFrame
    unmapped: pl.DataFrame
    quarantine: pl.DataFrame
    superseded: pl.DataFrame
    set_aside: pl.DataFrame
    placement_checks: pl.DataFrame | None = None


@dataclass(frozen=True)
class RatingHistory:
    """Ratings in force and rating transitions, for sectors whose files carry history.

    Attributes
    ----------
    in_force : every record x key question with its rating in force at ``ratings.as_of``
        (or its current rating when ``as_of`` is null) and its status
        (:data:`~ics_model.mapping.history.SECTOR_RATINGS_IN_FORCE`).
    transitions : consecutive Overall ratings of every record, up to ``as_of``
        (:data:`~ics_model.mapping.transitions.RATING_TRANSITIONS`).
    ics_transitions : per ICS, counts of each (from, to) pair of ratings.
    ics_summary : per ICS, upgrades, downgrades and unchanged ratings.
    """

    in_force: pl.DataFrame
    transitions: pl.DataFrame
    ics_transitions: pl.DataFrame
    ics_summary: pl.DataFrame


@dataclass(frozen=True)
class Composite:
    """The modelled composite and its JRC correlation report.

    Attributes
    ----------
    matrix : the ICS x indicator matrix the composite was built on.
    built : scores, indicators and weights (:class:`~ics_model.composite.CompositeResult`).
    correlations : indicator correlations with flags (JRC/OECD Handbook step 4).
    """

    matrix: pl.DataFrame
    built: CompositeResult
    correlations: pl.DataFrame


@dataclass(frozen=True)
class Scenario:
    """One collaboration-gate scenario applied to the run's providers.

    Attributes
    ----------
    spec : the scenario as validated.
    result : providers, per-ICS and national counts, notes.
    sweep : Outstanding ratings lost over a grid of thresholds (when the spec has one).
    threshold_uncertainty : the same under drawn thresholds (when configured).
    """

    spec: ScenarioSpec
    result: ScenarioResult
    sweep: pl.DataFrame | None = None
    threshold_uncertainty: pl.DataFrame | None = None


@dataclass(frozen=True)
class NofScenario:
    """One NOF rule scenario applied to the run's placed NOF trusts (modelled).

    Attributes
    ----------
    spec : the scenario as validated.
    result : trusts, per-ICS and national counts of segment changes, notes.
    sweep : counts over the swept values, nationally and per ICS (when the spec has one).
    """

    spec: NofScenarioSpec
    result: NofScenarioResult
    sweep: pl.DataFrame | None = None


@dataclass(frozen=True)
class Effect:
    """The collaboration -> Outstanding association, or why it was not estimated.

    Attributes
    ----------
    population : the configured population (``gp_since_2022`` ...).
    result : the estimate; None when ``skipped`` says why not.
    skipped : the reason the effect was not estimated.
    warning : set when the composite includes indicators built on the effect's outcome.
    curve : the specification curve, its placebo comparison and joint test (``effect.curve``).
    power : power and coverage of the main specification by simulation (``effect.power``).
    """

    population: str
    result: EffectResult | None = None
    skipped: str | None = None
    warning: str | None = None
    curve: CurveResult | None = None
    power: PowerResult | None = None


@dataclass(frozen=True)
class NofRecord:
    """NHS Oversight Framework trust segments placed in ICSs and their MODELLED roll-up.

    Attributes
    ----------
    trusts : one row per segmented trust placed in an ICS, with the segment the run's
        ``nof.rule_set`` derives beside the published one (``nof_trusts.csv``).
    unplaced : every other row of the NOF file, with the reason (``nof_unplaced.csv``).
    ics : per ICS and trust group: counts per segment, share in segments 1-2, mean average
        metric score, rank with likely ranges (``ics_nof.csv``; modelled).
    check : agreement of the rule set's derived segments with the published ones
        (``nof_check_summary.csv``).
    correlation : rank correlation of the NOF average score with the trusts' 2018 CQC
        Overall rating (``nof_cqc_correlation.csv``); None without the NHS trust sector.
    unmatched : NOF trusts with no 2018 CQC rating to compare, with the reason.
    vintage : the NOF data month and rule set, for captions.
    """

    trusts: pl.DataFrame
    unplaced: pl.DataFrame
    ics: pl.DataFrame
    check: pl.DataFrame
    correlation: pl.DataFrame | None = None
    unmatched: pl.DataFrame | None = None
    vintage: str = ""


@dataclass(frozen=True)
class Result:
    """Everything a run produced, with the validated config that produced it."""

    config: RunConfig
    views: Views
    conservation: Conservation
    metrics: Metrics
    provenance: Provenance
    composite: Composite | None = None
    uncertainty: UncertaintyResult | None = None
    scenarios: tuple[Scenario, ...] = field(default_factory=tuple)
    effect: Effect | None = None
    history: RatingHistory | None = None
    nof: NofRecord | None = None
    nof_scenarios: tuple[NofScenario, ...] = field(default_factory=tuple)


__all__ = [
    "MODELLED_NOTE",
    "Composite",
    "Conservation",
    "Effect",
    "InputFile",
    "Metrics",
    "NofRecord",
    "NofScenario",
    "Provenance",
    "RatingHistory",
    "Result",
    "Scenario",
    "Views",
]
