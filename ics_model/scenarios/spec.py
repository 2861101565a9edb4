"""Scenario specifications: named, versioned YAML files in ``configs/scenarios/``.

Two kinds, chosen by the file's ``kind`` key (:data:`SCENARIO_KINDS`):

``cqc_gate`` (the default: a file without ``kind``; :class:`ScenarioSpec`)
    asks one question of the published CQC ratings -- "what if Outstanding needed
    <condition>?" -- for one sector, through one or more collaboration gates
    (:class:`~ics_model.rules.rulesets.Gate`), with an optional threshold sweep.
``nof`` (:class:`NofScenarioSpec`)
    changes the NHS Oversight Framework's segmentation rules (the deficit cap moved or
    removed, new segment edges) and/or adds conditions (:class:`NofGate`: "segment 1
    needs <condition>"), with an optional sweep of a gate's threshold, an edge or the cap.

Files are validated at load: unknown keys and bad values fail with :class:`ConfigError`,
whose message names every bad key path (``gates.0.level``, ``sweep.thresholds.num``,
``changes.cuts``). :func:`get_scenario` returns either kind; :func:`get_gate_scenario`
and :func:`get_nof_scenario` insist on one.

GP practices and key-question gates
    The GP practice file holds Overall ratings only, so a key-question gate cannot be
    evaluated for any practice. A GP scenario with a key-question gate is rejected at
    load (key path ``gates.<i>.level``) rather than run with every practice reported
    "not applicable" or "not assessable", which would look like an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

from ics_model.ratings import GATEABLE_KEY_QUESTIONS, ProviderSector
from ics_model.rules.rulesets import Gate, PrinciplesRuleSet, get_rule_set
from ics_model.scenarios.nof_spec import NofScenarioSpec
from ics_model.scenarios.thresholds import (
    UNION_TAGS,
    KeyPathError,
    ThresholdRange,
    Thresholds,
    threshold_values,
    usable_thresholds,
)
from ics_model.spec import ConfigError, Frozen, format_error, read_yaml, validate_as


class Sweep(Frozen):
    """A threshold sweep of one gate.

    Attributes
    ----------
    gate : name of the gate swept (may be omitted when the scenario has one gate).
    thresholds : ``{start, stop, num}`` or an explicit list of numbers.
    """

    gate: str | None = None
    thresholds: Thresholds

    @field_validator("thresholds")
    @classmethod
    def _usable(cls, value: Any) -> Any:
        return usable_thresholds(value)

    def values(self) -> np.ndarray:
        """Return the thresholds as a float array."""
        return threshold_values(self.thresholds)


class ScenarioSpec(Frozen):
    """A collaboration-gate scenario for one sector.

    Attributes
    ----------
    name : identifier (the shipped files use their file name).
    description : the question the scenario answers.
    kind : ``cqc_gate``, the default (a file without ``kind`` is of this kind; not written
        out by :meth:`model_dump`).
    sector : ``nhs_trust`` (six key questions) or ``gp_practice`` (Overall only).
    rule_set : a ``principles`` rule set; it re-aggregates the overall rating after a
        key-question cap.
    gates : the gates, applied in order (see :func:`~ics_model.rules.apply_gates`).
    sweep : optional threshold sweep of one gate.
    """

    kind: Literal["cqc_gate"] = Field("cqc_gate", exclude=True)
    name: str = Field(min_length=1)
    description: str = ""
    sector: ProviderSector
    rule_set: str = "cqc_principles"
    gates: tuple[Gate, ...] = Field(min_length=1)
    sweep: Sweep | None = None

    @field_validator("rule_set")
    @classmethod
    def _principles(cls, value: str) -> str:
        try:
            rs = get_rule_set(value)
        except (KeyError, ConfigError) as exc:
            raise ValueError(str(exc).strip("'\"")) from None
        if not isinstance(rs, PrinciplesRuleSet):
            raise ValueError(f"rule set {value!r} is of kind {rs.kind!r}; gates need 'principles'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioSpec:
        seen: set[str] = set()
        for i, g in enumerate(self.gates):
            if g.name in seen:
                raise KeyPathError(f"gates.{i}.name", "gate names must be unique", g.name)
            seen.add(g.name)
            if (
                g.level == "key_question"
                and g.key_question not in GATEABLE_KEY_QUESTIONS[self.sector]
            ):
                raise KeyPathError(
                    f"gates.{i}.level",
                    f"the {self.sector} ratings hold no {g.key_question} ratings (the GP file "
                    "holds Overall ratings only), so a key-question gate is not applicable; "
                    "use level: overall",
                    g.level,
                )
        if self.sweep is not None:
            if self.sweep.gate is None and len(self.gates) > 1:
                raise KeyPathError(
                    "sweep.gate", "name the gate to sweep (the scenario has several)", None
                )
            if self.sweep.gate is not None and self.sweep.gate not in seen:
                raise KeyPathError(
                    "sweep.gate",
                    f"no such gate (gates: {', '.join(sorted(seen))})",
                    self.sweep.gate,
                )
        return self

    def gate(self, name: str | None = None) -> Gate:
        """Return the gate called ``name`` (default: the swept gate, or the only gate)."""
        if name is None and self.sweep is not None:
            name = self.sweep.gate
        if name is None:
            if len(self.gates) > 1:
                raise ValueError(f"scenario {self.name!r} has several gates: name one")
            return self.gates[0]
        for g in self.gates:
            if g.name == name:
                return g
        raise KeyError(f"scenario {self.name!r} has no gate {name!r}")

    def with_threshold(self, threshold: float, gate: str | None = None) -> ScenarioSpec:
        """Return a copy with one gate's threshold replaced (the input is not changed)."""
        target = self.gate(gate).name
        gates = tuple(
            g.model_copy(update={"threshold": float(threshold)}) if g.name == target else g
            for g in self.gates
        )
        return self.model_copy(update={"gates": gates})


def scenarios_dir() -> Path:
    """Return the shipped ``configs/scenarios`` folder."""
    from ics_model.data.bundled import configs_dir

    return configs_dir() / "scenarios"


#: scenario kinds: ``cqc_gate`` (the default, collaboration gates on CQC ratings) and
#: ``nof`` (NHS Oversight Framework segmentation rules)
SCENARIO_KINDS = ("cqc_gate", "nof")


def _scenario_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("kind", SCENARIO_KINDS[0])
        return kind if isinstance(kind, str) else None
    return getattr(value, "kind", None)


AnyScenario = Annotated[
    Annotated[ScenarioSpec, Tag("cqc_gate")] | Annotated[NofScenarioSpec, Tag("nof")],
    Discriminator(_scenario_kind),
]
_ADAPTER: TypeAdapter[ScenarioSpec | NofScenarioSpec] = TypeAdapter(AnyScenario)


def _error_line(err: Any) -> str:
    loc = tuple(str(p) for p in err.get("loc", ()))
    if err.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        given = err.get("input", {}).get("kind") if isinstance(err.get("input"), dict) else None
        allowed = ", ".join(repr(k) for k in SCENARIO_KINDS)
        return f"kind: unknown scenario kind (allowed: {allowed}); given: {given!r}"
    if loc and loc[0] in SCENARIO_KINDS:  # drop the kind tag from the key path
        loc = loc[1:]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, KeyPathError):
        path = ".".join(p for p in (*loc, cause.path) if p)
        return f"{path or '<root>'}: {cause.reason}; given: {cause.given!r}"
    if "thresholds" in loc:  # drop the union tag from the key path
        i = loc.index("thresholds")
        loc = loc[: i + 1] + tuple(p for p in loc[i + 1 :] if p not in UNION_TAGS)
    return format_error({**err, "loc": loc})


def scenario_from_dict(data: Any, *, source: str = "<dict>") -> ScenarioSpec | NofScenarioSpec:
    """Validate a mapping as a scenario of its ``kind`` (default ``cqc_gate``).

    Returns a :class:`ScenarioSpec` or, for ``kind: nof``, a :class:`NofScenarioSpec`;
    :class:`ConfigError` names every bad key path.
    """
    return validate_as(_ADAPTER, data, "scenario", source=source, error_line=_error_line)


def load_scenario(path: str | Path) -> ScenarioSpec | NofScenarioSpec:
    """Load one scenario (of either kind) from a YAML file."""
    return scenario_from_dict(read_yaml(path, "scenario"), source=str(path))


#: the endings of the files a scenario writes after its stem (:func:`output_stem`); which
#: of them appear depends on the run (a sweep, threshold uncertainty).
OUTPUT_SUFFIXES = (".csv", "_by_ics.csv", "_sweep.csv", "_threshold_uncertainty.csv", ".json")


def output_stem(spec: ScenarioSpec | NofScenarioSpec) -> str:
    """Return the start of the names of a scenario's output files.

    Examples
    --------
    >>> output_stem(get_scenario("trust_home_share_overall"))
    'scenario_trust_home_share_overall'
    """
    kind = "nof_scenario" if isinstance(spec, NofScenarioSpec) else "scenario"
    return f"{kind}_{spec.name}"


def output_collisions(specs: Sequence[ScenarioSpec | NofScenarioSpec | None]) -> list[str]:
    """List the scenarios whose output files would overwrite an earlier one's, or leave the folder.

    Two scenarios with the same name (listed twice, or a file reusing a shipped name), or
    names such as ``a`` and ``a_sweep`` (``scenario_a_sweep.csv`` is both a's sweep and
    ``a_sweep``'s own table), write the same file; a name holding a path separator writes
    outside the output folder. Each problem names ``scenarios.<i>`` of the later scenario;
    ``None`` stands for a scenario the run will not write (unknown, or skipped).

    Examples
    --------
    >>> a = get_scenario("trust_home_share_overall")
    >>> output_collisions([a, a])
    ["scenarios.1: writes scenario_trust_home_share_overall.csv, as scenarios.0 does (the outputs would overwrite each other); given: 'trust_home_share_overall'"]
    """  # noqa: E501
    problems = []
    owner: dict[str, int] = {}
    for i, spec in enumerate(specs):
        if spec is None:
            continue
        given = spec.name[:200]
        if any(sep in spec.name for sep in ("/", "\\")) or spec.name.startswith("."):
            problems.append(
                f"scenarios.{i}: the scenario name is used in output file names and must not "
                f"hold a path separator or start with a dot; given: {given!r}"
            )
            continue
        for name in (output_stem(spec) + suffix for suffix in OUTPUT_SUFFIXES):
            if name in owner and owner[name] != i:
                problems.append(
                    f"scenarios.{i}: writes {name[:200]}, as scenarios.{owner[name]} does (the "
                    f"outputs would overwrite each other); given: {given!r}"
                )
                break
            owner[name] = i
    return problems


@cache
def available_scenarios() -> dict[str, Path]:
    """Shipped scenarios of every kind: name -> file."""
    out: dict[str, Path] = {}
    for p in sorted(scenarios_dir().glob("*.yaml")):
        out[load_scenario(p).name] = p
    return out


def get_scenario(scenario: Any) -> ScenarioSpec | NofScenarioSpec:
    """Load a scenario from a name, a YAML path, a mapping or a spec (of either kind)."""
    if isinstance(scenario, ScenarioSpec | NofScenarioSpec):
        return scenario
    if isinstance(scenario, dict):
        return scenario_from_dict(scenario)
    if isinstance(scenario, Path) or (
        isinstance(scenario, str) and scenario.endswith((".yaml", ".yml"))
    ):
        return load_scenario(scenario)
    known = available_scenarios()
    if scenario not in known:
        raise KeyError(f"unknown scenario {scenario!r}; available: {', '.join(known)}")
    return load_scenario(known[scenario])


def _of_kind(scenario: Any, cls: type, kind: str) -> Any:
    spec = get_scenario(scenario)
    if not isinstance(spec, cls):
        raise TypeError(f"scenario {spec.name!r} is of kind {spec.kind!r}; {kind!r} is needed")
    return spec


def get_gate_scenario(scenario: Any) -> ScenarioSpec:
    """:func:`get_scenario`, checked to be a ``cqc_gate`` scenario (else TypeError)."""
    return _of_kind(scenario, ScenarioSpec, "cqc_gate")


def get_nof_scenario(scenario: Any) -> NofScenarioSpec:
    """:func:`get_scenario`, checked to be a ``nof`` scenario (else TypeError)."""
    return _of_kind(scenario, NofScenarioSpec, "nof")


__all__ = [
    "OUTPUT_SUFFIXES",
    "SCENARIO_KINDS",
    "AnyScenario",
    "ScenarioSpec",
    "Sweep",
    "ThresholdRange",
    "available_scenarios",
    "get_gate_scenario",
    "get_nof_scenario",
    "get_scenario",
    "load_scenario",
    "output_collisions",
    "output_stem",
    "scenario_from_dict",
    "scenarios_dir",
]
