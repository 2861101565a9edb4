"""Run configuration: frozen pydantic models loaded from YAML.

Every section has documented defaults, so a short file is enough. Unknown keys
and bad values fail at load with :class:`ConfigError`, whose message names the
key path (``mapping.icb_vintage``), the allowed values and the value given.
The validated config is the record of a run: results carry it and the run
manifest stores it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ics_model.composite.spec import CompositeSpec
from ics_model.uncertainty.spec import UncertaintySpec


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataConfig(_Frozen):
    """Input files. ``null`` means the embedded default dataset.

    Attributes
    ----------
    trust_ratings : a CQC "Latest ratings" file (CSV, XLSX or ODS; Providers sheet) whose
        Provider IDs are NHS trust ODS codes. Default: the embedded 3 Sep 2018 edition.
    gp_practices : a GP practice ratings file in the embedded HEEC layout. Default: embedded.
    locations : an optional CQC Locations sheet, placed in ICSs through
        ``Location ONSPD CCG Code`` (sub-ICB GSS code), falling back to the provider's ODS code.
    validation : ``strict`` raises on any contract violation; ``lenient`` quarantines bad rows.
    """

    trust_ratings: Path | None = None
    gp_practices: Path | None = None
    locations: Path | None = None
    validation: Literal["strict", "lenient"] = "strict"


class MappingConfig(_Frozen):
    """How providers are placed in ICSs.

    Attributes
    ----------
    icb_vintage : ``"2023"`` = the 42 ICBs (July 2022 - March 2026, the embedded boundaries);
        ``"2026"`` = map forward to the April 2026 ICBs through ODS successors (ICBs that split
        are reported, not guessed).
    trust_vintage : which ODS etr file defines the current open trusts (``"2025"``: 42-ICB codes).
    inherit_predecessor_rating : a trust without its own rating inherits the rating of its
        predecessor when exactly one predecessor was rated.
    combine_predecessors : ``null`` (default: a trust with several rated predecessors stays
        unrated) or a rule set name (e.g. ``cqc_principles``) combining their ratings.
    """

    icb_vintage: Literal["2023", "2026"] = "2023"
    trust_vintage: Literal["2025"] = "2025"
    inherit_predecessor_rating: bool = True
    combine_predecessors: str | None = None


class ViewsConfig(_Frozen):
    """ICS views.

    Attributes
    ----------
    confidence : confidence level of the Wilson intervals for shares.
    sectors : sectors to include.
    """

    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    sectors: tuple[Literal["nhs_trust", "gp_practice", "location"], ...] = (
        "nhs_trust",
        "gp_practice",
    )


class RulesConfig(_Frozen):
    """Rating rule sets used by the run.

    Attributes
    ----------
    ics_rule_sets : ICS-level *modelled* rating rule sets (share- or segment-based) added
        to the ICS views as ``modelled_<name>`` columns on the Overall rows.
    """

    ics_rule_sets: tuple[str, ...] = ("ics_shares", "ics_nof_segments")


class MetricsConfig(_Frozen):
    """Partnership, inequality and context metrics (``ics_metrics``).

    Attributes
    ----------
    enabled : compute the metrics (42-ICB vintage only).
    rtt_part : ``incomplete`` (the waiting list, default) or ``completed`` pathways for the
        patient-flow partnership proxy.
    partner_threshold : share of residents' pathways that makes another ICS a partner.
    sii_repetitions : simulation repetitions for SII/RII confidence limits.
    seed : random seed for those simulations.
    directions : metric -> ``higher_is_better`` / ``lower_is_better`` / ``neutral``, overriding
        the catalogue (which direction is "better" is a value judgement).
    user_indicators : optional CSV of user partnership indicators (schema in the README).
    """

    enabled: bool = True
    rtt_part: Literal["incomplete", "completed"] = "incomplete"
    partner_threshold: float = Field(0.05, gt=0.0, lt=1.0)
    sii_repetitions: int = Field(100_000, ge=1000, le=1_000_000)
    seed: int = 20260427
    directions: dict[str, Literal["higher_is_better", "lower_is_better", "neutral"]] = Field(
        default_factory=dict
    )
    user_indicators: Path | None = None


class EffectConfig(_Frozen):
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
    """

    enabled: bool = True
    population: Literal["gp_since_2022", "gp_all_years", "nhs_trusts"] = "gp_since_2022"
    exposure: str = "self_containment"
    outcome: Literal["Outstanding", "Good", "Requires improvement", "Inadequate"] = "Outstanding"
    controls: tuple[str, ...] | None = None
    permutations: int = Field(2000, ge=99, le=100_000)
    seed: int = 20220701


class RunConfig(_Frozen):
    """A whole run. Sections: ``data``, ``mapping``, ``views``, ``rules``, ``metrics``,
    ``composite`` (:class:`~ics_model.composite.spec.CompositeSpec`; ``null`` = none),
    ``uncertainty`` (:class:`~ics_model.uncertainty.spec.UncertaintySpec`; ``null`` = none),
    ``effect``,
    ``scenarios`` (names or YAML paths of collaboration-gate scenarios, ``configs/scenarios``)."""

    name: str = "default"
    description: str = ""
    data: DataConfig = DataConfig()
    mapping: MappingConfig = MappingConfig()
    views: ViewsConfig = ViewsConfig()
    rules: RulesConfig = RulesConfig()
    metrics: MetricsConfig = MetricsConfig()
    composite: CompositeSpec | None = Field(default_factory=CompositeSpec)
    uncertainty: UncertaintySpec | None = Field(default_factory=UncertaintySpec)
    effect: EffectConfig = EffectConfig()
    scenarios: tuple[str, ...] = (
        "trust_home_share_overall",
        "trust_wellled_self_containment",
        "gp_self_containment_overall",
    )


class ConfigError(ValueError):
    """A configuration file is unreadable or invalid; the message names every bad key path."""


def _format_error(err: dict[str, Any]) -> str:
    path = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
    kind = err.get("type", "")
    given = err.get("input")
    if kind == "extra_forbidden":
        return f"{path}: unknown key (given: {given!r})"
    msg = err.get("msg", "invalid value")
    ctx = err.get("ctx") or {}
    allowed = ctx.get("expected")
    text = f"{path}: {msg}"
    if allowed and "allowed" not in text:
        text += f" (allowed: {allowed})"
    return f"{text}; given: {given!r}"


def config_from_dict(data: dict[str, Any] | None, *, source: str = "<dict>") -> RunConfig:
    """Validate a mapping as a :class:`RunConfig`, raising :class:`ConfigError`."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        lines = [_format_error(e) for e in exc.errors()]
        raise ConfigError(f"invalid config {source}:\n  " + "\n  ".join(lines)) from None


def load_config(path: str | Path | None = None) -> RunConfig:
    """Load and validate a YAML run config (``None``: the shipped ``configs/default.yaml``).

    Relative data paths are resolved against the config file's folder.
    """
    if path is None:
        from ics_model.data.bundled import configs_dir

        path = configs_dir() / "default.yaml"
    path = Path(path)
    cfg = config_from_dict(read_yaml(path, "config"), source=str(path))
    return _resolve_paths(cfg, path.parent)


def read_yaml(path: str | Path, what: str) -> Any:
    """The parsed YAML of a file; unreadable or invalid YAML raises :class:`ConfigError`
    naming ``what`` (``"config"``, ``"rule set"``, ``"scenario"``) and the path."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from None


def _resolve_paths(cfg: RunConfig, base: Path) -> RunConfig:
    updates = {}
    for field in ("trust_ratings", "gp_practices", "locations"):
        value = getattr(cfg.data, field)
        if value is not None and not value.is_absolute():
            updates[field] = (base / value).resolve()
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


def config_to_dict(cfg: RunConfig) -> dict[str, Any]:
    """The config as plain JSON-able data (for manifests)."""
    return cfg.model_dump(mode="json")
