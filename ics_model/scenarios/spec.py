"""Scenario specifications: named, versioned YAML files in ``configs/scenarios/``.

A scenario asks one question of the published ratings -- "what if Outstanding needed
<condition>?" -- for one sector, through one or more collaboration gates
(:class:`~ics_model.rules.rulesets.Gate`), with an optional threshold sweep. Files are
validated at load: unknown keys and bad values fail with :class:`ConfigError`, whose
message names every bad key path (``gates.0.level``, ``sweep.thresholds.num``).

GP practices and key-question gates
    The GP practice file holds Overall ratings only, so a key-question gate cannot be
    evaluated for any practice. A GP scenario with a key-question gate is rejected at
    load (key path ``gates.<i>.level``) rather than run with every practice reported
    "not applicable" or "not assessable", which would look like an answer.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import (
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from ics_model.ratings import GATEABLE_KEY_QUESTIONS, ProviderSector
from ics_model.rules.rulesets import Gate, PrinciplesRuleSet, get_rule_set
from ics_model.spec import ConfigError, Frozen, format_error, read_yaml, validate_as

_UNION_TAGS = ("range", "list")


class _PathError(ValueError):
    """A cross-field error that knows the key path it belongs to."""

    def __init__(self, path: str, reason: str, given: Any) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.given = given


class ThresholdRange(Frozen):
    """``num`` evenly spaced thresholds from ``start`` to ``stop`` (both included)."""

    start: float
    stop: float
    num: int = Field(ge=1, le=1_000_000)

    def values(self) -> np.ndarray:
        """Return the thresholds as a float array."""
        return np.linspace(self.start, self.stop, self.num)


def _thresholds_kind(value: Any) -> str:
    return "list" if isinstance(value, list | tuple) else "range"


Thresholds = Annotated[
    Annotated[ThresholdRange, Tag("range")] | Annotated[tuple[float, ...], Tag("list")],
    Discriminator(_thresholds_kind),
]


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
        if isinstance(value, tuple):
            if not value:
                raise ValueError("give at least one threshold")
            if any(np.isnan(v) for v in value):
                raise ValueError("thresholds must be numbers, not NaN")
        elif not (np.isfinite(value.start) and np.isfinite(value.stop)):
            raise ValueError("start and stop must be finite")
        return value

    def values(self) -> np.ndarray:
        """Return the thresholds as a float array."""
        if isinstance(self.thresholds, ThresholdRange):
            return self.thresholds.values()
        return np.asarray(self.thresholds, dtype=np.float64)


class ScenarioSpec(Frozen):
    """A collaboration-gate scenario for one sector.

    Attributes
    ----------
    name : identifier (the shipped files use their file name).
    description : the question the scenario answers.
    sector : ``nhs_trust`` (six key questions) or ``gp_practice`` (Overall only).
    rule_set : a ``principles`` rule set; it re-aggregates the overall rating after a
        key-question cap.
    gates : the gates, applied in order (see :func:`~ics_model.rules.apply_gates`).
    sweep : optional threshold sweep of one gate.
    """

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
                raise _PathError(f"gates.{i}.name", "gate names must be unique", g.name)
            seen.add(g.name)
            if (
                g.level == "key_question"
                and g.key_question not in GATEABLE_KEY_QUESTIONS[self.sector]
            ):
                raise _PathError(
                    f"gates.{i}.level",
                    f"the {self.sector} ratings hold no {g.key_question} ratings (the GP file "
                    "holds Overall ratings only), so a key-question gate is not applicable; "
                    "use level: overall",
                    g.level,
                )
        if self.sweep is not None:
            if self.sweep.gate is None and len(self.gates) > 1:
                raise _PathError(
                    "sweep.gate", "name the gate to sweep (the scenario has several)", None
                )
            if self.sweep.gate is not None and self.sweep.gate not in seen:
                raise _PathError(
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


def _error_line(err: Any) -> str:
    loc = tuple(str(p) for p in err.get("loc", ()))
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, _PathError):
        path = ".".join((*loc, cause.path))
        return f"{path}: {cause.reason}; given: {cause.given!r}"
    if "thresholds" in loc:  # drop the union tag from the key path
        i = loc.index("thresholds")
        loc = loc[: i + 1] + tuple(p for p in loc[i + 1 :] if p not in _UNION_TAGS)
    return format_error({**err, "loc": loc})


def scenario_from_dict(data: Any, *, source: str = "<dict>") -> ScenarioSpec:
    """Validate a mapping as a :class:`ScenarioSpec` (:class:`ConfigError` names key paths)."""
    return validate_as(ScenarioSpec, data, "scenario", source=source, error_line=_error_line)


def load_scenario(path: str | Path) -> ScenarioSpec:
    """Load one scenario from a YAML file."""
    return scenario_from_dict(read_yaml(path, "scenario"), source=str(path))


@cache
def available_scenarios() -> dict[str, Path]:
    """Shipped scenarios: name -> file."""
    out: dict[str, Path] = {}
    for p in sorted(scenarios_dir().glob("*.yaml")):
        out[load_scenario(p).name] = p
    return out


def get_scenario(scenario: Any) -> ScenarioSpec:
    """Load a scenario from a name, a YAML path, a mapping or a :class:`ScenarioSpec`."""
    if isinstance(scenario, ScenarioSpec):
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
