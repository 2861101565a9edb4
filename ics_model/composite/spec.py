"""The ``composite:`` section of a run config: frozen pydantic models.

A composite is a tree: pillars of indicators. Each indicator names its source (an ICS view
cell or an ``ics_metrics`` metric), its direction, an optional transform, a normaliser and
a weight; each pillar has a weight and optionally its own aggregation. Method names are
checked against the registries in :mod:`ics_model.composite.methods`, so a new method is
usable in a spec as soon as it is registered. Weights need not sum to 1: they are
normalised and both the given and the normalised weights are reported.

Every composite built from a spec is a *modelled* construct: there are no official ICS
ratings. The structure follows the JRC/OECD *Handbook on Constructing Composite
Indicators* (2008), step 1 (theoretical framework), and COINr's index structure
(Becker et al. 2022, *JOSS* 7(78), 4567).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Final

from pydantic import AfterValidator, Field, field_validator, model_validator

from ics_model.composite.methods import AGGREGATORS, MISSING_POLICIES, NORMALISERS, TRANSFORMS
from ics_model.ratings import INDICATOR_DIRECTIONS, VIEW_KEY_QUESTIONS, IndicatorDirection
from ics_model.spec import Frozen, finite_float, validate_as

#: The label every composite carries.
LABEL: Final = "modelled composite (no official ICS ratings exist)"

_NAME = r"^[a-z][a-z0-9_]*$"
_VIEW_SOURCE = re.compile(r"^view:(?P<sector>[a-z_]+):(?P<kq>[A-Za-z-]+):(?P<column>[a-z0-9_]+)$")
_METRIC_SOURCE = re.compile(r"^metric:(?P<metric>[a-z0-9_]+)$")
RESERVED_NAMES: Final = frozenset({"icb_code", "icb_name", "icb_gss", "incomplete"})

#: the largest indicator or pillar weight accepted. Weights are relative (normalised within
#: the pillar and across pillars), so a ratio of a million to one is already far beyond any
#: meaningful spec; a bound keeps 1e308 (whose sums overflow to inf) away from numpy.
MAX_WEIGHT: Final = 1e6

#: the largest absolute exponent ``p`` of the generalised mean: ``100 ** 100`` still fits a
#: float, while a larger ``p`` overflows on the normalised [0, 100] scale.
MAX_POWER: Final = 100.0


def _registered(kind: str, registry: Mapping[str, Any]) -> AfterValidator:
    """Return a validator accepting only the names registered in ``registry``."""

    def check(value: str) -> str:
        if value not in registry:
            raise ValueError(f"unknown {kind} {value!r} (allowed: {', '.join(registry)})")
        return value

    return AfterValidator(check)


#: method names checked against the registries of :mod:`ics_model.composite.methods`.
TransformName = Annotated[str, _registered("transform", TRANSFORMS)]
NormaliserName = Annotated[str, _registered("normaliser", NORMALISERS)]
AggregationName = Annotated[str, _registered("aggregation", AGGREGATORS)]
MissingPolicyName = Annotated[str, _registered("missing-data policy", MISSING_POLICIES)]


def parse_source(source: str) -> tuple[str, ...]:
    """Split a source string: ``("view", sector, key_question, column)`` or ``("metric", name)``.

    Raises ``ValueError`` on any other syntax or an unknown sector / key question.
    """
    if m := _METRIC_SOURCE.match(source):
        return ("metric", m["metric"])
    if m := _VIEW_SOURCE.match(source):
        sector, kq = m["sector"], m["kq"]
        if sector not in VIEW_KEY_QUESTIONS:
            raise ValueError(
                f"unknown sector {sector!r} in source (allowed: {', '.join(VIEW_KEY_QUESTIONS)})"
            )
        if kq not in VIEW_KEY_QUESTIONS[sector]:
            raise ValueError(
                f"unknown key question {kq!r} for sector {sector!r} "
                f"(allowed: {', '.join(VIEW_KEY_QUESTIONS[sector])})"
            )
        return ("view", sector, kq, m["column"])
    raise ValueError(
        f"unknown source syntax {source!r} (allowed: 'view:<sector>:<key question>:<column>', "
        "e.g. 'view:nhs_trust:Overall:share_good_or_outstanding', or 'metric:<name>', "
        "e.g. 'metric:self_containment')"
    )


class Goalposts(Frozen):
    """Fixed goalposts for ``normalise: goalposts``, in the units the normaliser sees.

    Those are the raw units unless ``transform: log`` (then give log units). ``lower`` and
    ``upper`` are the ends of the scale whatever the direction: for ``lower_is_better``
    the value at ``lower`` scores the top of the range.

    Attributes
    ----------
    lower : the value that maps to the bottom of the normalised range (finite).
    upper : the value that maps to the top of the normalised range (finite, above ``lower``).
    """

    lower: float
    upper: float

    @model_validator(mode="after")
    def _ordered(self) -> Goalposts:
        if not (math.isfinite(self.lower) and math.isfinite(self.upper)):
            raise ValueError("goalposts must be finite")
        if self.lower >= self.upper:
            raise ValueError(f"goalposts need lower < upper, got {self.lower} >= {self.upper}")
        return self


class IndicatorSpec(Frozen):
    """One indicator of a pillar.

    Attributes
    ----------
    name : unique identifier (lower case, digits, underscores); the matrix column name.
    source : ``view:<sector>:<key question>:<column>`` (a cell of the ICS view, e.g.
        ``view:gp_practice:Overall:share_outstanding``) or ``metric:<name>`` (an
        ``ics_metrics`` metric).
    direction : ``higher_is_better`` or ``lower_is_better``. The composite's direction is
        its own value judgement and overrides the metric catalogue (``neutral`` is not
        allowed here: an indicator in a composite must point somewhere).
    transform : ``null`` (= ``none``), ``log`` or ``winsorise``.
    winsorise : the two quantiles used by ``transform: winsorise``.
    normalise : ``minmax``, ``zscore``, ``rank``, ``percentile_rank`` or ``goalposts``.
    goalposts : ``{lower, upper}``, required by (and only used by) ``normalise: goalposts``.
    weight : weight within the pillar (normalised within the pillar), finite, from 0 to
        :data:`MAX_WEIGHT` (1e6).
    """

    name: str = Field(pattern=_NAME)
    source: str
    direction: IndicatorDirection
    transform: TransformName | None = None
    winsorise: tuple[float, float] = (0.05, 0.95)
    normalise: NormaliserName = "minmax"
    goalposts: Goalposts | None = None
    weight: finite_float(ge=0, le=MAX_WEIGHT) = 1.0

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v in RESERVED_NAMES:
            raise ValueError(f"{v!r} is reserved for an identifier column")
        return v

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        parse_source(v)
        return v

    @field_validator("winsorise")
    @classmethod
    def _quantiles(cls, v: tuple[float, float]) -> tuple[float, float]:
        lo, hi = v
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"winsorise quantiles need 0 <= lower < upper <= 1, got {list(v)}")
        return v

    @model_validator(mode="after")
    def _goalposts_given(self) -> IndicatorSpec:
        if self.normalise == "goalposts" and self.goalposts is None:
            raise ValueError(
                f"indicator {self.name!r}: normalise: goalposts needs "
                "goalposts: {lower: ..., upper: ...}"
            )
        return self

    @property
    def transform_name(self) -> str:
        """The registry name of the transform (``none`` for ``null``)."""
        return self.transform or "none"


class PillarSpec(Frozen):
    """A pillar: weighted indicators, optionally with its own aggregation.

    Attributes
    ----------
    weight : pillar weight (normalised across pillars), finite, from 0 to :data:`MAX_WEIGHT`
        (1e6).
    aggregation : registry name, or ``null`` for the composite's ``aggregation``.
    indicators : at least one indicator; weights not all zero.
    """

    weight: finite_float(ge=0, le=MAX_WEIGHT) = 1.0
    aggregation: AggregationName | None = None
    indicators: tuple[IndicatorSpec, ...]

    @field_validator("indicators")
    @classmethod
    def _indicators(cls, v: tuple[IndicatorSpec, ...]) -> tuple[IndicatorSpec, ...]:
        if not v:
            raise ValueError("a pillar needs at least one indicator")
        if all(i.weight == 0 for i in v):
            raise ValueError("all indicator weights are zero")
        return v


def _default_pillars() -> dict[str, PillarSpec]:
    def ind(name: str, source: str, direction: str) -> IndicatorSpec:
        return IndicatorSpec(name=name, source=source, direction=direction)

    hib, lib = INDICATOR_DIRECTIONS
    return {
        "quality": PillarSpec(
            indicators=(
                ind(
                    "trust_good_or_outstanding",
                    "view:nhs_trust:Overall:share_good_or_outstanding",
                    hib,
                ),
                ind(
                    "gp_good_or_outstanding",
                    "view:gp_practice:Overall:share_good_or_outstanding",
                    hib,
                ),
                ind("trust_outstanding", "view:nhs_trust:Overall:share_outstanding", hib),
                ind("gp_outstanding", "view:gp_practice:Overall:share_outstanding", hib),
            )
        ),
        # Value judgement (PRIMER section 6): flows are a proxy for interdependence, not
        # collaboration. More self-contained = more of residents' care from the system's own
        # providers, scored "better". The number of partner ICSs is left out of the default:
        # it pulls against self-containment (r = -0.66 on the embedded data).
        "partnership": PillarSpec(
            indicators=(ind("self_containment", "metric:self_containment", hib),)
        ),
        "inequality": PillarSpec(
            indicators=(
                ind("gp_sii_good_or_outstanding", "metric:gp_sii_good_or_outstanding", lib),
                ind("gp_rating_dispersion", "metric:gp_rating_dispersion", lib),
                ind("share_waiting_over_18_weeks", "metric:share_waiting_over_18_weeks", lib),
            )
        ),
    }


class CompositeSpec(Frozen):
    """A composite indicator specification (the ``composite:`` section of a run config).

    Attributes
    ----------
    aggregation : registry name used across pillars and within pillars without their own
        (``arithmetic``, ``geometric``, ``harmonic``, ``generalised``).
    p : exponent of the ``generalised`` (power) mean, from -100 to 100 (:data:`MAX_POWER`).
    missing : ``error``, ``skip_reweight`` or ``impute_median``.
    normalise_range : output range of the bounded normalisers (``minmax``,
        ``percentile_rank``, ``goalposts``); use ``[1, 100]`` with geometric or harmonic means.
    pillars : name -> :class:`PillarSpec`; the default is :func:`default_composite_spec`'s.
    min_coverage : an ICS whose observed indicators carry less than this share of the
        nominal weight gets no score or rank (reported in ``affected``): a composite built
        on under ``min_coverage`` of its data is not comparable. 0 disables the guard.
    """

    aggregation: AggregationName = "arithmetic"
    p: finite_float(ge=-MAX_POWER, le=MAX_POWER) = 1.0
    missing: MissingPolicyName = "skip_reweight"
    normalise_range: tuple[float, float] = (0.0, 100.0)
    pillars: dict[str, PillarSpec] = Field(default_factory=_default_pillars)
    min_coverage: float = Field(0.7, ge=0.0, le=1.0)

    @field_validator("normalise_range")
    @classmethod
    def _range(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not (all(math.isfinite(x) for x in v) and v[0] < v[1]):
            raise ValueError(f"normalise_range needs finite lower < upper, got {list(v)}")
        return v

    @field_validator("pillars")
    @classmethod
    def _pillars(cls, v: dict[str, PillarSpec]) -> dict[str, PillarSpec]:
        if not v:
            raise ValueError("a composite needs at least one pillar")
        bad = [k for k in v if not re.match(_NAME, k)]
        if bad:
            raise ValueError(f"pillar names must match {_NAME}: {bad}")
        if all(p.weight == 0 for p in v.values()):
            raise ValueError("all pillar weights are zero")
        seen: dict[str, str] = {}
        for pname, pillar in v.items():
            for ind in pillar.indicators:
                if ind.name in seen:
                    raise ValueError(
                        f"duplicate indicator name {ind.name!r} (pillars.{seen[ind.name]} "
                        f"and pillars.{pname})"
                    )
                seen[ind.name] = pname
        return v

    def pillar_aggregation(self, pillar: str) -> str:
        """Return the aggregation used within ``pillar``."""
        return self.pillars[pillar].aggregation or self.aggregation

    @property
    def indicators(self) -> list[tuple[str, IndicatorSpec]]:
        """``(pillar, indicator)`` pairs in spec order."""
        return [(p, i) for p, pillar in self.pillars.items() for i in pillar.indicators]


def default_composite_spec() -> CompositeSpec:
    """Return the default composite: three equally weighted pillars, arithmetic, ``skip_reweight``.

    - quality: trust and GP shares Good-or-Outstanding and Outstanding (Overall, from
      the ICS view), higher is better;
    - partnership: ``self_containment`` (patient-flow proxy), higher is better -- a value
      judgement ("more of residents' care from the system's own providers"); the flows are
      a proxy for interdependence, not for collaboration itself. ``n_partner_icss`` is
      left out because it pulls against self-containment;
    - inequality: GP SII of the share Good-or-Outstanding, GP rating dispersion and the
      share waiting over 18 weeks, all lower is better.

    Indicators are min-max normalised onto [0, 100] with equal weights; an ICS with less
    than 70% of the nominal weight observed gets no rank (``min_coverage``).
    """
    return CompositeSpec()


#: normalisers whose lowest value is always the lower end of ``normalise_range`` (the
#: indicator's minimum maps onto it), whenever the indicator varies.
_REACH_LOWER: Final = frozenset({"minmax", "percentile_rank"})


def domain_problems(spec: CompositeSpec, *, prefix: str = "composite") -> list[str]:
    """List the indicators whose normaliser always breaks their pillar's aggregation.

    A geometric or harmonic mean (and the generalised mean with ``p <= 0``) needs positive
    values, the generalised mean with ``p > 0`` non-negative ones: ``zscore`` gives
    negative values, and ``minmax`` or ``percentile_rank`` give the lower end of
    ``normalise_range`` (0 by default) to the lowest ICS, whenever the indicator varies.
    Such a composite would fail at run time on any data, so the config check refuses it
    (``goalposts`` depends on the data and is left to the run). Indicators of weight 0
    are not checked.

    Examples
    --------
    >>> spec = CompositeSpec(aggregation="geometric")
    >>> domain_problems(spec)[0][:80]
    'composite.pillars.quality.indicators.0.normalise: geometric aggregation needs po'
    >>> domain_problems(CompositeSpec(aggregation="geometric", normalise_range=(1, 100)))
    []
    """
    lower = spec.normalise_range[0]
    problems = []
    for pname, pillar in spec.pillars.items():
        method = spec.pillar_aggregation(pname)
        domain = AGGREGATORS[method].domain(spec.p)
        if domain == "real":
            continue
        for i, ind in enumerate(pillar.indicators):
            hits_zero = lower <= 0 if domain == "positive" else lower < 0
            if ind.weight == 0 or not (
                ind.normalise == "zscore" or (ind.normalise in _REACH_LOWER and hits_zero)
            ):
                continue
            if ind.normalise == "zscore":
                gives, fix = "negative values", "another normaliser or aggregation"
            else:
                gives = f"{lower:g} (the lower end of normalise_range) to the lowest ICS"
                fix = "normalise_range: [1, 100], or another normaliser or aggregation"
            problems.append(
                f"{prefix}.pillars.{pname}.indicators.{i}.normalise: {method} aggregation "
                f"needs {domain} normalised values, but {ind.normalise} gives {gives} "
                f"(use {fix}); given: {ind.normalise!r}"
            )
    return problems


def composite_spec_from_dict(data: Any, *, source: str = "<dict>") -> CompositeSpec:
    """Validate a mapping as a :class:`CompositeSpec`, raising ``ConfigError`` with key paths."""
    return validate_as(CompositeSpec, data, "composite spec", source=source)


__all__ = [
    "LABEL",
    "MAX_POWER",
    "MAX_WEIGHT",
    "CompositeSpec",
    "Goalposts",
    "IndicatorSpec",
    "PillarSpec",
    "composite_spec_from_dict",
    "default_composite_spec",
    "domain_problems",
    "parse_source",
]
