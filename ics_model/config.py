"""Run configuration: frozen pydantic models loaded from YAML.

Every section has documented defaults, so a short file is enough. Unknown keys
and bad values fail at load with :class:`ConfigError`, whose message names the
key path (``mapping.icb_vintage``), the allowed values and the value given.
The validated config is the record of a run: results carry it and the run
manifest stores it.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import Field

from ics_model.composite.spec import CompositeSpec
from ics_model.effects.spec import EffectCurveConfig, EffectPowerConfig
from ics_model.inputs import regular_file_problem
from ics_model.metrics.spec import MetricsConfig
from ics_model.ratings import DEFAULT_SECTORS, AmbulancePolicy, Rating, Sector
from ics_model.spec import ConfigError, Frozen, finite_float, read_yaml, validate_as
from ics_model.uncertainty.spec import UncertaintySpec


class DataConfig(Frozen):
    """Input files. ``null`` means the embedded default dataset.

    Attributes
    ----------
    trust_ratings : a CQC "Latest ratings" file (CSV, XLSX or ODS; Providers sheet) whose
        Provider IDs are NHS trust ODS codes. Default: the embedded 3 Sep 2018 edition.
    gp_practices : a GP practice ratings file in the embedded HEEC layout. Default: embedded.
    locations : an optional CQC locations file, placed in ICSs through the location's
        ONSPD CCG code (sub-ICB GSS code), falling back to the provider's ODS code: a
        "Latest ratings" Locations sheet, or CQC API location records (JSON, JSON lines or
        a CSV export; the layout is detected), whose rating history then gives the ratings
        in force at ``ratings.as_of`` and the rating transitions.
    independent_healthcare : CQC API location records of independent-sector hospitals and
        clinics (JSON, JSON lines or a CSV export, see
        :func:`ics_model.data.cqc_api.read_cqc_api`) with their latitude and longitude.
        Default: the embedded API dump of 1 November 2025.
    nof : NHS Oversight Framework trust segments in the embedded layout
        (:func:`ics_model.data.nof.read_nof_segments`). Default: the embedded NOF 2025/26
        Q3 extract (data month March 2026).
    validation : ``strict`` raises on any contract violation; ``lenient`` quarantines bad rows.
    """

    trust_ratings: Path | None = None
    gp_practices: Path | None = None
    locations: Path | None = None
    independent_healthcare: Path | None = None
    nof: Path | None = None
    validation: Literal["strict", "lenient"] = "strict"


class MappingConfig(Frozen):
    """How providers are placed in ICSs.

    Attributes
    ----------
    icb_vintage : ``"2023"`` = the 42 ICBs (July 2022 - March 2026, the embedded boundaries);
        ``"2026"`` = the 36 ICBs of April 2026: whole ICBs follow ODS successors, the three
        that split are divided by the documented ICB crosswalk (RTT flows, LSOAs and
        populations by sub-ICB or district; trusts by their ODS etr 2026 host); what the
        data cannot place (GP practices of a split ICB, Frimley's split on the maps) is
        reported in ``icb_geography.csv``, never guessed.
    trust_vintage : which ODS etr file defines the current open trusts (``"2025"``: 42-ICB codes).
    inherit_predecessor_rating : a trust without its own rating inherits the rating of its
        predecessor when exactly one predecessor was rated.
    combine_predecessors : ``null`` (default: a trust with several rated predecessors stays
        unrated) or a rule set name (e.g. ``cqc_principles``) combining their ratings.
    premerger_ratings : ``keep`` (default) or ``exclude`` a trust's own rating published
        before the trust absorbed another rated trust (ODS successor effective date after
        the publication date). Kept ones are flagged ``rating_predates_merger``; excluded
        ones leave the trust unrated (``unrated_reason`` names the merger) and their rows
        count as ``superseded`` in the conservation report. ``combine`` combines such a
        rating, per key question, with the ratings of the trusts absorbed after it was
        published, by the rule set ``premerger_rule_set`` (``rating_source = combined``;
        still flagged; the absorbed trusts' rows count as ``inherited``). A modelled
        rating: CQC never rated the merged trust.
    premerger_rule_set : the ``principles`` rule set ``combine`` uses (default
        ``cqc_principles``).
    nearest_icb_within_m : sectors placed by coordinates (independent healthcare): a
        location outside every ICB polygon is placed in the nearest ICB when that polygon
        is at most this many metres away (measured on the British National Grid,
        EPSG:27700), with ``mapping_method = icb_polygon_nearest``; the embedded boundaries
        are generalised (BSC, 200 m), so a coastal location may fall just outside. 0 = no
        fallback. Farther locations are unmapped with the distance.
    ambulance : how an ambulance trust (``trust_type = ambulance``), which serves several
        ICBs, counts in ICS views. ``shared`` (default): in every ICB it serves, with weight
        = the share of the population it serves that lives in that ICB (mid-2022 sub-ICB
        populations and the embedded ambulance areas crosswalk; London Ambulance Service
        counts in the five London ICBs with weights summing to 1); its rows leave the
        one-ICB outputs (``providers.csv``, ``ics_view.csv``) and are counted, weighted, in
        ``ics_view_by_trust_type.csv``, their weights listed in
        ``ambulance_allocation.csv``. ``exclude``: left out of ICS counts, their rows
        counted as ``ambulance_excluded`` in the conservation report. ``host``: counted
        whole in the host ICB ODS names (London Ambulance Service in South East London).
    """

    icb_vintage: Literal["2023", "2026"] = "2023"
    trust_vintage: Literal["2025"] = "2025"
    inherit_predecessor_rating: bool = True
    combine_predecessors: str | None = None
    premerger_ratings: Literal["keep", "exclude", "combine"] = "keep"
    premerger_rule_set: str = "cqc_principles"
    nearest_icb_within_m: float = Field(500.0, ge=0, le=50_000)
    ambulance: AmbulancePolicy = "shared"


class RatingsConfig(Frozen):
    """How old ratings may be, and whether inherited ratings count.

    Attributes
    ----------
    as_of : the date every ``rating_age_years`` is taken at. ``null`` (default) = each
        ratings file's own vintage date: 2018-09-03 for the embedded trust file,
        2024-04-01 for the embedded GP file, 2025-11-01 for the embedded independent
        healthcare dump, the latest publication date in a user file. For CQC API location
        records with rating history (``data.locations``), a date also selects the ratings
        then in force (the latest published on or before it) instead of the current ones;
        ``null`` keeps the current ratings.
    max_age_years : ``null`` (default) = no limit; otherwise (finite, above 0, at most 200)
        a provider whose rating is older than this at ``as_of`` is left out of the views
        and counted as ``stale`` in the conservation report.
    inherited : ``keep`` (default) or ``exclude`` ratings the ratings file flags as
        inherited (GP file ``inherited_rating_y_n = Y``); excluded ones are counted as
        ``inherited_excluded`` in the conservation report.
    """

    as_of: date | None = None
    max_age_years: finite_float(gt=0, le=200) | None = None
    inherited: Literal["keep", "exclude"] = "keep"


class ViewsConfig(Frozen):
    """ICS views.

    Attributes
    ----------
    confidence : confidence level of the Wilson intervals for shares.
    sectors : sectors to include (default: NHS trusts, GP practices and independent-sector
        hospitals and clinics, the sectors with embedded data).
    by : extra views cut by a provider attribute, each its own output:
        ``[trust_type]`` (default) writes ``ics_view_by_trust_type.csv``, one row per ICB x
        trust type (and ``all``) x key question for NHS trusts, with weighted counts (shared
        ambulance trusts count by population share; see ``mapping.ambulance``); ``[]``
        writes none. The main ICS view is not changed by it.
    modelled_ratings : add the modelled ICS ratings (``rules.ics_rule_sets``) to the main
        ICS view as ``modelled_<rule set>`` columns on Overall rows. Default false: they are
        only in their own file, ``ics_modelled_ratings.csv`` (labelled modelled).
    """

    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    sectors: tuple[Sector, ...] = DEFAULT_SECTORS
    by: tuple[Literal["trust_type"], ...] = ("trust_type",)
    modelled_ratings: bool = False


class RulesConfig(Frozen):
    """Rating rule sets used by the run.

    Attributes
    ----------
    ics_rule_sets : ICS-level *modelled* rating rule sets (share- or segment-based), written
        to ``ics_modelled_ratings.csv`` (and to the ICS view as ``modelled_<name>`` columns
        on the Overall rows when ``views.modelled_ratings`` is true).
    """

    ics_rule_sets: tuple[str, ...] = ("ics_shares", "ics_nof_segments")


class NofConfig(Frozen):
    """NHS Oversight Framework (NOF) trust segments: placed trusts and a MODELLED ICS roll-up.

    Attributes
    ----------
    enabled : read the NOF segments, place them in ICSs and roll them up (``nof_trusts.csv``,
        ``ics_nof.csv``, and the metrics ``nof_mean_score``, ``nof_share_segment_1_2``).
    rule_set : the ``nof`` rule set whose derived segment is shown beside the published one.
    min_trusts : segmented trusts an ICS needs (in a trust group) to be ranked; fewer: listed
        with their counts, not ranked, and the NOF metrics are null.
    draws : bootstrap draws of trusts within each ICS (interval of the mean score, likely
        range of rank).
    seed : random seed of the bootstrap.
    bootstrap_method : ``bayesian`` (Dirichlet weights over the trusts) or ``multinomial``.
    by_type : also roll up per NHS England trust type.
    """

    enabled: bool = True
    rule_set: str = "nof_2025_26"
    min_trusts: int = Field(3, ge=1, le=50)
    draws: int = Field(2000, ge=100, le=100_000)
    seed: int = Field(20260301, ge=0)
    bootstrap_method: Literal["bayesian", "multinomial"] = "bayesian"
    by_type: bool = True


class EffectConfig(Frozen):
    """The collaboration -> Outstanding association test (an association, not causal).

    Attributes
    ----------
    enabled : run it in the main job.
    population : ``gp_since_2022`` (GP practices rated after ICSs began, default),
        ``gp_all_years`` or ``nhs_trusts``.
    exposure : an ICS-level metric of ``ics_metrics`` (default ``self_containment``, the
        patient-flow proxy for partnership).
    outcome : the rating counted as the outcome.
    controls : null = the population's suggested controls (GP: rating year and practice
        deprivation; trusts: publication year); or a list of column names.
    permutations : permutations (and bootstrap draws) for the p-values.
    seed : random seed.
    curve : the specification curve with its pre-ICS placebo and joint test
        (:class:`~ics_model.effects.spec.EffectCurveConfig`; null = none).
    power : power and coverage of the headline test by simulation on the real design
        (:class:`~ics_model.effects.spec.EffectPowerConfig`; null = none).
    """

    enabled: bool = True
    population: Literal["gp_since_2022", "gp_all_years", "nhs_trusts"] = "gp_since_2022"
    exposure: str = "self_containment"
    outcome: Rating = "Outstanding"
    controls: tuple[str, ...] | None = None
    permutations: int = Field(2000, ge=99, le=100_000)
    seed: int = Field(20220701, ge=0)
    curve: EffectCurveConfig | None = Field(default_factory=EffectCurveConfig)
    power: EffectPowerConfig | None = Field(default_factory=EffectPowerConfig)


class RunConfig(Frozen):
    """A whole run.

    Attributes
    ----------
    name : the run's name, shown in outputs, the report and the manifest.
    description : free text describing the run, kept in the manifest.
    data : input files (:class:`DataConfig`); ``null`` keys use the embedded data.
    mapping : how providers are placed in ICSs (:class:`MappingConfig`).
    ratings : which ratings count and at which date (:class:`RatingsConfig`).
    views : the sectors and key questions of the ICS views (:class:`ViewsConfig`).
    rules : the rating rule set for modelled ICS ratings (:class:`RulesConfig`).
    metrics : partnership and inequality metrics
        (:class:`~ics_model.metrics.spec.MetricsConfig`).
    composite : the modelled composite indicator
        (:class:`~ics_model.composite.spec.CompositeSpec`; ``null`` = none).
    uncertainty : Monte Carlo uncertainty and Sobol sensitivity of the composite
        (:class:`~ics_model.uncertainty.spec.UncertaintySpec`; ``null`` = none).
    effect : the collaboration-and-Outstanding association analysis (:class:`EffectConfig`).
    nof : NHS Oversight Framework segments and their roll-up (:class:`NofConfig`).
    scenarios : names or YAML paths of collaboration-gate and NOF rule scenarios
        (``configs/scenarios``; NOF scenarios need ``nof.enabled``).
    """

    name: str = "default"
    description: str = ""
    data: DataConfig = DataConfig()
    mapping: MappingConfig = MappingConfig()
    ratings: RatingsConfig = RatingsConfig()
    views: ViewsConfig = ViewsConfig()
    rules: RulesConfig = RulesConfig()
    metrics: MetricsConfig = MetricsConfig()
    composite: CompositeSpec | None = Field(default_factory=CompositeSpec)
    uncertainty: UncertaintySpec | None = Field(default_factory=UncertaintySpec)
    effect: EffectConfig = EffectConfig()
    nof: NofConfig = NofConfig()
    scenarios: tuple[str, ...] = (
        "trust_home_share_overall",
        "trust_wellled_self_containment",
        "gp_self_containment_overall",
        "nof_segment1_self_containment",
    )


def config_from_dict(data: dict[str, Any] | None, *, source: str = "<dict>") -> RunConfig:
    """Validate a mapping as a :class:`RunConfig`, raising :class:`ConfigError` with key paths.

    Only the keys and values are checked here; :func:`check_config` checks what they
    refer to (files, rule sets, scenarios, metrics).
    """
    return validate_as(RunConfig, data, "config", source=source)


def load_config(path: str | Path | None = None) -> RunConfig:
    """Load and validate a YAML run config (``None``: the shipped ``configs/default.yaml``).

    Relative data paths are resolved against the config file's folder. Everything that
    can be checked before running is checked here (:func:`check_config`), so a config
    that loads never fails a run for a config reason.

    Raises
    ------
    ConfigError
        The file is unreadable, a key or value is invalid, or a name or file it refers
        to does not exist; the message lists every problem with its key path.
    """
    if path is None:
        from ics_model.data.bundled import configs_dir

        path = configs_dir() / "default.yaml"
    path = Path(path)
    cfg = _resolve_paths(config_from_dict(read_yaml(path, "config"), source=str(path)), path.parent)
    check_config(cfg)
    return cfg


def _resolve_paths(cfg: RunConfig, base: Path) -> RunConfig:
    updates = {}
    for field in ("trust_ratings", "gp_practices", "locations", "independent_healthcare", "nof"):
        value = getattr(cfg.data, field)
        if value is not None and not value.is_absolute():
            updates[field] = _data_path(base, value)
    if updates:
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update=updates)})
    ui = cfg.metrics.user_indicators
    if ui is not None and not ui.is_absolute():
        cfg = cfg.model_copy(
            update={
                "metrics": cfg.metrics.model_copy(update={"user_indicators": (base / ui).resolve()})
            }
        )
    return cfg


def _data_path(base: Path, value: Path) -> Path:
    """Resolve a relative data path against the config file's folder ``base``.

    A path into the embedded datasets beside the shipped configs (``../datasets/...``, as
    in ``configs/carehomes_2019.yaml``) falls back to the embedded datasets folder when it
    is not there, as in an installed wheel (``ics_model/_configs``, ``ics_model/_datasets``).
    """
    path = (base / value).resolve()
    parts = value.parts
    if not path.exists() and len(parts) > 2 and parts[:2] == ("..", "datasets"):
        from ics_model.data.bundled import datasets_dir

        embedded = datasets_dir().joinpath(*parts[2:])
        if embedded.exists():
            return embedded
    return path


def config_to_dict(cfg: RunConfig) -> dict[str, Any]:
    """Return the config as plain JSON-able data (for manifests)."""
    return cfg.model_dump(mode="json")


def _file_problems(cfg: RunConfig) -> list[str]:
    """Input files a config names that do not exist or cannot be read."""
    named = [
        ("data.trust_ratings", cfg.data.trust_ratings),
        ("data.gp_practices", cfg.data.gp_practices),
        ("data.locations", cfg.data.locations),
        ("data.independent_healthcare", cfg.data.independent_healthcare),
        ("data.nof", cfg.data.nof),
        ("metrics.user_indicators", cfg.metrics.user_indicators),
    ]
    problems = []
    for key, path in named:
        if path is None:
            continue
        problem = regular_file_problem(path)
        if problem is not None:
            problems.append(f"{key}: {problem}; given: {str(path)!r}")
        elif not os.access(path, os.R_OK):
            problems.append(f"{key}: the file cannot be read (permissions); given: {str(path)!r}")
    if "location" in cfg.views.sectors and cfg.data.locations is None:
        problems.append(
            "views.sectors: 'location' needs data.locations (a CQC Locations file); "
            f"given: {list(cfg.views.sectors)!r}"
        )
    return problems


def _scenario_problems(cfg: RunConfig) -> list[str]:
    """Scenario names or files a config names that do not exist or are invalid."""
    from ics_model.scenarios import NofScenarioSpec, available_scenarios, get_scenario
    from ics_model.scenarios.spec import output_collisions

    problems = []
    specs: list[Any] = []  # what the run writes, for the output-name check (None: nothing)
    for i, name in enumerate(cfg.scenarios):
        specs.append(None)
        try:
            spec = get_scenario(name)
            listed = "scenarios" in cfg.model_fields_set  # the defaults skip NOF quietly
            if isinstance(spec, NofScenarioSpec) and not cfg.nof.enabled:
                if listed:
                    problems.append(
                        f"scenarios.{i}: scenario {spec.name!r} is a NOF scenario; it needs "
                        f"nof.enabled: true; given: {name!r}"
                    )
            else:
                specs[i] = spec
        except KeyError:
            problems.append(
                f"scenarios.{i}: unknown scenario (allowed: {', '.join(available_scenarios())}, "
                f"or a YAML path); given: {name!r}"
            )
        except ConfigError as exc:
            problems.append(f"scenarios.{i}: {exc}")
    return problems + output_collisions(specs)


def _method_problems(cfg: RunConfig) -> list[str]:
    """Composite and uncertainty method combinations that fail on any data."""
    from ics_model.composite.spec import domain_problems
    from ics_model.uncertainty.spec import alternative_problems

    if cfg.composite is None:
        return []
    problems = domain_problems(cfg.composite, prefix="composite")
    if cfg.uncertainty is not None:
        problems += alternative_problems(cfg.uncertainty, cfg.composite)
    return problems


def _effect_problems(cfg: RunConfig) -> list[str]:
    """Effect controls that the configured population does not have."""
    from ics_model.effects.population import POPULATION_COLUMNS

    e = cfg.effect
    if not e.enabled or e.controls is None:
        return []
    sector = "nhs_trust" if e.population == "nhs_trusts" else "gp_practice"
    known = POPULATION_COLUMNS[sector]
    return [
        f"effect.controls.{i}: not a column of the {e.population} population "
        f"(allowed: {', '.join(known)}); given: {c!r}"
        for i, c in enumerate(e.controls)
        if c not in known
    ]


def check_config(cfg: RunConfig) -> None:
    """Check everything a config refers to, before any work.

    Files exist and are readable, rule sets and scenarios exist and are of the right
    kind, sectors have their data, and every indicator, metric and direction names
    something a run can produce (composite sources, the effect's exposure). Run by
    :func:`load_config`, ``ics-model validate`` and :func:`ics_model.pipeline.run`.

    Raises
    ------
    ConfigError
        Listing every problem with its key path, the reason and the names available.
    """
    problems = _file_problems(cfg)
    if not problems:  # references may read the user-indicators file
        problems += _reference_problems(cfg)
    problems += _method_problems(cfg) + _scenario_problems(cfg) + _effect_problems(cfg)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def with_overrides(cfg: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    """Return the config with ``overrides`` (dotted key path -> value) applied and re-validated.

    Overrides (e.g. ``{"uncertainty.draws": 100_000}`` from the command line) go through
    the same models as the file, so their bounds hold and errors name the key path.

    Examples
    --------
    >>> cfg = with_overrides(RunConfig(), {"uncertainty.draws": 500})
    >>> cfg.uncertainty.draws
    500
    >>> with_overrides(RunConfig(), {"uncertainty.draws": 0})
    Traceback (most recent call last):
    ...
    ics_model.spec.ConfigError: invalid config override:
      uncertainty.draws: Input should be greater than or equal to 1; given: 0
    """
    data = cfg.model_dump(mode="python", exclude_unset=False)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = data
        for key in parents:
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
        node[leaf] = value
    return validate_as(RunConfig, data, "config", source="override")


def _reference_problems(cfg: RunConfig) -> list[str]:
    """List the indicators, metrics and rule sets a config names that no run can provide."""
    from ics_model.composite.spec import parse_source
    from ics_model.metrics.nof import NOF_METRICS
    from ics_model.metrics.system import METRIC_CATALOGUE
    from ics_model.views import ICS_VIEW

    known = {e["metric"] for e in METRIC_CATALOGUE}
    if cfg.metrics.user_indicators is not None:
        try:
            from ics_model.metrics.user_indicators import read_user_indicators

            user = read_user_indicators(cfg.metrics.user_indicators, mode=cfg.data.validation)
            known |= set(user.frame.filter(pl.col("level") == "icb")["indicator"])
        except (OSError, ValueError) as exc:
            return [f"metrics.user_indicators: {exc}"]
    view_cols = set(ICS_VIEW.column_names)
    problems = []
    pillars = cfg.composite.pillars.items() if cfg.composite is not None else ()
    for pname, pillar in pillars:
        for i, ind in enumerate(pillar.indicators):
            kind, *rest = parse_source(ind.source)
            path = f"composite.pillars.{pname}.indicators.{i}.source"
            if kind == "metric" and rest[0] not in known:
                problems.append(f"{path}: unknown metric {rest[0]!r}; given: {ind.source!r}")
            if kind == "metric" and rest[0] in NOF_METRICS and not cfg.nof.enabled:
                problems.append(
                    f"{path}: metric {rest[0]!r} comes from the NOF roll-up; set nof.enabled: "
                    f"true; given: {ind.source!r}"
                )
            if kind == "view" and rest[0] not in cfg.views.sectors:
                problems.append(
                    f"{path}: sector {rest[0]!r} is not in views.sectors "
                    f"{list(cfg.views.sectors)} (add it, or set composite: null); "
                    f"given: {ind.source!r}"
                )
            if kind == "view" and rest[-1] not in view_cols:
                problems.append(
                    f"{path}: unknown ICS view column {rest[-1]!r}; given: {ind.source!r}"
                )
    if cfg.effect.enabled and cfg.effect.exposure not in known:
        problems.append(f"effect.exposure: unknown metric; given: {cfg.effect.exposure!r}")
    for name in cfg.metrics.directions:
        if name not in known:
            problems.append(f"metrics.directions.{name}: unknown metric; given: {name!r}")
    if problems:
        problems.append(f"(metrics available: {', '.join(sorted(known))})")
    return problems + _rule_set_problems(cfg)


def _rule_set_problems(cfg: RunConfig) -> list[str]:
    """Rule-set names a config uses: they must exist and be of the right kind."""
    from ics_model.rules.rulesets import (
        NofRuleSet,
        PrinciplesRuleSet,
        SegmentationRuleSet,
        ShareThresholdsRuleSet,
        available_rule_sets,
        get_rule_set,
    )

    names = ", ".join(available_rule_sets())
    wanted = [
        (
            f"rules.ics_rule_sets.{i}",
            n,
            (ShareThresholdsRuleSet, SegmentationRuleSet),
            "share_thresholds or segmentation",
        )
        for i, n in enumerate(cfg.rules.ics_rule_sets)
    ]
    if cfg.mapping.combine_predecessors is not None:
        wanted.append(
            (
                "mapping.combine_predecessors",
                cfg.mapping.combine_predecessors,
                (PrinciplesRuleSet,),
                "principles",
            )
        )
    if cfg.mapping.premerger_ratings == "combine":
        wanted.append(
            (
                "mapping.premerger_rule_set",
                cfg.mapping.premerger_rule_set,
                (PrinciplesRuleSet,),
                "principles",
            )
        )
    if cfg.nof.enabled:
        wanted.append(("nof.rule_set", cfg.nof.rule_set, (NofRuleSet,), "nof"))
    problems = []
    for path, name, kinds, kind_text in wanted:
        try:
            rs = get_rule_set(name)
        except (KeyError, ConfigError):
            problems.append(f"{path}: unknown rule set (allowed: {names}); given: {name!r}")
            continue
        if not isinstance(rs, kinds):
            problems.append(
                f"{path}: rule set {name!r} is of kind {rs.kind!r}; a "
                f"{kind_text} rule set is needed; given: {name!r}"
            )
    return problems
