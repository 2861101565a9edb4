"""NOF scenario specifications (``kind: nof`` files in ``configs/scenarios/``).

A NOF scenario changes the NHS Oversight Framework's segmentation rules of a ``nof`` rule
set (:class:`~ics_model.rules.rulesets.NofRuleSet`) -- the deficit cap moved or removed,
new segment edges (:class:`NofChanges`) -- and/or adds conditions a trust must meet to
keep a better segment (:class:`NofGate`, e.g. "segment 1 needs its ICS to keep 80% of
its residents' pathways"), with an optional sweep (:class:`NofSweep`) of one gate's
threshold, one segment edge or the deficit cap. Lower is better: segment 1 is best.
Errors name the key path (``changes.cuts``, ``sweep.thresholds``, ``gates.0.name``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from ics_model.rules.rulesets import NofRuleSet, get_rule_set
from ics_model.scenarios.thresholds import (
    KeyPathError,
    Thresholds,
    threshold_values,
    usable_thresholds,
)
from ics_model.spec import ConfigError, Frozen

#: the lowest and highest NOF metric score (1 = best)
NOF_SCORE_RANGE = (1.0, 4.0)
_UNCHANGED = "unchanged"


class NofGate(Frozen):
    """A condition on NOF segments: a trust failing it can be no better than ``best_segment``.

    ``best_segment: 2`` says "segment 1 needs <condition>". A trust whose indicator is
    missing, and whose segment the gate could change, is *not assessable*: reported as
    such, never passed or capped silently (as for :class:`~ics_model.rules.rulesets.Gate`).

    Attributes
    ----------
    indicator : column of the indicator frame of the scope.
    scope : ``provider`` (the trust's own value) or ``icb`` (its ICS's value).
    op, threshold : the condition ``indicator op threshold``.
    best_segment : the best segment (2-4) of a trust failing the condition.
    """

    name: str = Field("gate", min_length=1)
    indicator: str = Field(min_length=1)
    scope: Literal["provider", "icb"] = "provider"
    op: Literal[">=", ">", "<=", "<"] = ">="
    threshold: float = Field(allow_inf_nan=False)
    best_segment: int = Field(2, ge=2, le=4)


def _check_cuts(value: tuple[float, float, float] | None) -> tuple[float, float, float] | None:
    lo, hi = NOF_SCORE_RANGE
    if value is not None:
        if not value[0] < value[1] < value[2]:
            raise ValueError(f"the three edges must increase strictly, got {list(value)}")
        if not all(lo <= v <= hi for v in value):
            raise ValueError(f"edges must lie in the score range [{lo:g}, {hi:g}]")
    return value


class NofChanges(Frozen):
    """Changes to a ``nof`` rule set.

    Attributes
    ----------
    deficit_cap : a trust in deficit can be no better than this segment (1-4); ``null``
        removes the cap (as does 1); ``unchanged`` (the default) keeps the rule set's.
    cuts : replacement upper edges of segments 1-3 (strictly increasing, within 1-4);
        ``null`` keeps the rule set's.
    """

    deficit_cap: int | Literal["unchanged"] | None = _UNCHANGED
    cuts: tuple[float, float, float] | None = None

    @field_validator("deficit_cap", mode="before")
    @classmethod
    def _cap(cls, value: Any) -> Any:
        ok = value is None or value == _UNCHANGED
        ok = ok or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4)
        if not ok:
            raise ValueError("a segment 1-4, null (cap removed) or 'unchanged'")
        return value

    @field_validator("cuts")
    @classmethod
    def _cuts(cls, value: Any) -> Any:
        return _check_cuts(value)


class NofSweep(Frozen):
    """What a NOF scenario sweeps: one gate's threshold, one segment edge, or the cap.

    Attributes
    ----------
    gate : name of the gate whose threshold is swept (may be omitted when the scenario
        has one gate and nothing else is named).
    cut : the edge swept: 1 (segments 1/2), 2 (2/3) or 3 (3/4); its values must stay
        strictly between the neighbouring edges.
    deficit_cap : the deficit caps swept (segments 1-4; 1 is the same as no cap).
    thresholds : the gate thresholds or edge values, ``{start, stop, num}`` or a list
        (not with ``deficit_cap``).
    """

    gate: str | None = None
    cut: int | None = Field(None, ge=1, le=3)
    deficit_cap: tuple[Annotated[int, Field(ge=1, le=4)], ...] | None = None
    thresholds: Thresholds | None = None

    @field_validator("thresholds")
    @classmethod
    def _usable(cls, value: Any) -> Any:
        return None if value is None else usable_thresholds(value)

    @model_validator(mode="after")
    def _one_target(self) -> NofSweep:
        named = [k for k in ("gate", "cut", "deficit_cap") if getattr(self, k) is not None]
        if len(named) > 1:
            raise KeyPathError("", "sweep one of gate, cut or deficit_cap", named)
        if self.deficit_cap is not None:
            if self.thresholds is not None:
                raise KeyPathError(
                    "thresholds", "a deficit_cap sweep lists its caps itself", "thresholds"
                )
            if not self.deficit_cap or len(set(self.deficit_cap)) != len(self.deficit_cap):
                raise KeyPathError(
                    "deficit_cap", "give distinct caps (1-4)", list(self.deficit_cap)
                )
        elif self.thresholds is None:
            raise KeyPathError("thresholds", "give the values swept", None)
        else:
            t = self.values()
            if np.unique(t).size != t.size:
                raise KeyPathError("thresholds", "the values swept must be distinct", t.tolist())
        return self

    @property
    def target(self) -> str:
        """``gate``, ``cut`` or ``deficit_cap``: what is swept."""
        return "cut" if self.cut is not None else "deficit_cap" if self.deficit_cap else "gate"

    def values(self) -> np.ndarray:
        """Return the values swept as a float array (deficit caps as whole numbers).

        A range is rounded to 12 decimals, so ``{start: 1.9, stop: 2.3, num: 41}`` gives
        2.06, not 2.0599999999999996: scores are published to two decimals and compared
        with the edge (at or below it), so the spacing's rounding error would otherwise
        move trusts.
        """
        if self.deficit_cap is not None:
            return np.asarray(self.deficit_cap, dtype=np.float64)
        return np.round(threshold_values(self.thresholds), 12)


class NofScenarioSpec(Frozen):
    """A scenario on the NHS Oversight Framework's segmentation rules (``kind: nof``).

    Attributes
    ----------
    kind : ``nof``.
    name : identifier (the shipped files use their file name).
    description : the question the scenario answers.
    rule_set : the baseline ``nof`` rule set (its segments are the "before").
    changes : changes to the rule set (:class:`NofChanges`).
    gates : conditions a trust must meet to keep a better segment (:class:`NofGate`).
    sweep : optional sweep of one gate's threshold, one edge or the deficit cap.
    """

    kind: Literal["nof"]
    name: str = Field(min_length=1)
    description: str = ""
    rule_set: str = "nof_2025_26"
    changes: NofChanges = NofChanges()
    gates: tuple[NofGate, ...] = ()
    sweep: NofSweep | None = None

    @field_validator("rule_set")
    @classmethod
    def _nof(cls, value: str) -> str:
        try:
            rs = get_rule_set(value)
        except (KeyError, ConfigError) as exc:
            raise ValueError(str(exc).strip("'\"")) from None
        if not isinstance(rs, NofRuleSet):
            raise ValueError(
                f"rule set {value!r} is of kind {rs.kind!r}; a NOF scenario needs 'nof'"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NofScenarioSpec:
        seen: set[str] = set()
        for i, g in enumerate(self.gates):
            if g.name in seen:
                raise KeyPathError(f"gates.{i}.name", "gate names must be unique", g.name)
            seen.add(g.name)
        changed = self.changes.deficit_cap != _UNCHANGED or self.changes.cuts is not None
        if not (changed or self.gates or self.sweep):
            raise KeyPathError(
                "changes", "the scenario changes nothing: give changes, gates or a sweep", None
            )
        sw = self.sweep
        if sw is None:
            return self
        if sw.target == "gate":
            if sw.gate is None and len(self.gates) != 1:
                raise KeyPathError(
                    "sweep", "name what is swept: gate, cut or deficit_cap", sw.model_dump()
                )
            if sw.gate is not None and sw.gate not in seen:
                raise KeyPathError(
                    "sweep.gate",
                    f"no such gate (gates: {', '.join(sorted(seen)) or 'none'})",
                    sw.gate,
                )
        if sw.cut is not None:
            problem = self.cut_problem(sw.cut, sw.values())
            if problem:
                raise KeyPathError("sweep.thresholds", problem, sw.values().tolist())
        return self

    def rule(self) -> NofRuleSet:
        """Return the baseline rule set."""
        rs = get_rule_set(self.rule_set)
        assert isinstance(rs, NofRuleSet)  # checked at load
        return rs

    @property
    def bounds(self) -> tuple[float, float, float]:
        """The scenario's segment edges (the changed ones, else the rule set's)."""
        return self.changes.cuts or self.rule().cuts.bounds

    @property
    def deficit_cap(self) -> int | None:
        """The scenario's deficit cap (``None``: no cap)."""
        cap = self.changes.deficit_cap
        return self.rule().deficit_cap if cap == _UNCHANGED else cap

    def cut_problem(self, cut: int, values: np.ndarray) -> str | None:
        """Why ``values`` cannot be edge ``cut`` (1-3) with the other edges kept, or None."""
        if cut not in (1, 2, 3):
            return f"cut must be 1, 2 or 3; given {cut}"
        edges = (NOF_SCORE_RANGE[0], *self.bounds, NOF_SCORE_RANGE[1])
        lo, hi = edges[cut - 1], edges[cut + 1]
        bad = values[~((values > lo) & (values < hi))]
        if bad.size:
            return (
                f"edge {cut} must stay strictly between its neighbours ({lo:g}, {hi:g}); "
                f"outside: {bad.tolist()}"
            )
        return None

    def gate(self, name: str | None = None) -> NofGate:
        """Return the gate called ``name`` (default: the swept gate, or the only gate)."""
        if name is None and self.sweep is not None:
            name = self.sweep.gate
        if name is None:
            if len(self.gates) != 1:
                raise ValueError(f"scenario {self.name!r} has {len(self.gates)} gates: name one")
            return self.gates[0]
        for g in self.gates:
            if g.name == name:
                return g
        raise KeyError(f"scenario {self.name!r} has no gate {name!r}")

    def with_value(self, value: float) -> NofScenarioSpec:
        """Return a copy with the swept parameter set to ``value`` (the input is unchanged).

        Raises
        ------
        ValueError
            The scenario has no sweep, or ``value`` is not a valid edge or cap.
        """
        sw = self.sweep
        if sw is None:
            raise ValueError(f"scenario {self.name!r} has no sweep")
        if sw.target == "gate":
            target = self.gate().name
            gates = tuple(
                g.model_copy(update={"threshold": float(value)}) if g.name == target else g
                for g in self.gates
            )
            return self.model_copy(update={"gates": gates})
        if sw.target == "cut":
            assert sw.cut is not None
            problem = self.cut_problem(sw.cut, np.asarray([value], dtype=np.float64))
            if problem:
                raise ValueError(problem)
            cuts = list(self.bounds)
            cuts[sw.cut - 1] = float(value)
            update: dict[str, Any] = {"cuts": tuple(cuts)}
        else:
            if value not in (1, 2, 3, 4):
                raise ValueError(f"a deficit cap is a segment 1-4; given {value!r}")
            update = {"deficit_cap": int(value)}
        return self.model_copy(update={"changes": self.changes.model_copy(update=update)})


__all__ = ["NOF_SCORE_RANGE", "NofChanges", "NofGate", "NofScenarioSpec", "NofSweep"]
