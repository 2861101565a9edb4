"""Rule sets as named, versioned configurations (``configs/rules/*.yaml``).

Four kinds, each a frozen pydantic model (``extra="forbid"``) selected by ``kind``:

``principles``
    CQC's ratings principles (pre-2023): count-based aggregation of underlying ratings
    with bands by the number of ratings, limiters, enforcement caps and optional gates.
``saf``
    The Single Assessment Framework's statement scoring (scores 1-4 -> percentage ->
    rating), with a named rounding rule and the rule set that combines key questions.
``share_thresholds``
    ICS-level modelled ratings from shares of provider ratings (first matching rule wins).
``segmentation``
    NOF-style segmentation: provider codes averaged (1 = best), cut into segments, with
    overrides.
``nof``
    The NHS Oversight Framework's own provider segmentation: a trust's average metric
    score (1 = best) cut into segments 1-4, the financial-deficit cap, segment 5 as an
    override; domain scores cut into domain segments the same way.

Rule sets are looked up by name (:func:`get_rule_set`) from the shipped folder or any
YAML path; invalid files fail at load with the key path and the reason.
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, model_validator

from ics_model.ratings import NOF_DOMAINS, RATINGS_BEST_FIRST, Domain, Rating
from ics_model.spec import ConfigError, Frozen, format_error, read_yaml, validate_as

Enforcement = Literal["requirement_notice", "warning_notice", "condition"]


class Band(Frozen):
    """Limits for aggregating ``min_n``..``max_n`` underlying ratings.

    Attributes
    ----------
    outstanding_min : X, the Outstanding ratings needed (with all others Good).
    ri_limit : this many Requires improvement (or more) limit the aggregate to RI.
    inadequate_limit : this many Inadequate (or more) give Inadequate.
    """

    min_n: int = Field(ge=1)
    max_n: int | None = Field(None, ge=1)
    outstanding_min: int = Field(ge=1)
    ri_limit: int = Field(ge=1)
    inadequate_limit: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.max_n is not None and self.max_n < self.min_n:
            raise ValueError(f"max_n ({self.max_n}) is below min_n ({self.min_n})")
        return self


class Gate(Frozen):
    """A collaboration gate.

    ``level: overall`` -- the overall rating may be Outstanding only if the condition
    holds, else it is capped at ``cap``. ``level: key_question`` -- the named key question
    is capped at ``cap`` when the condition fails, and the overall rating is re-aggregated
    from the key questions through the rule set. A provider whose indicator is missing is
    *not assessable*: reported as such, never capped or passed silently.

    Attributes
    ----------
    indicator : column name of the indicator (provider-level or ICS-level).
    scope : ``provider`` (the provider's own value) or ``icb`` (its ICS's value).
    op, threshold : the condition ``indicator op threshold``.
    """

    name: str = "gate"
    level: Literal["overall", "key_question"]
    key_question: Domain | None = None
    indicator: str = Field(min_length=1)
    scope: Literal["provider", "icb"] = "provider"
    op: Literal[">=", ">", "<=", "<"] = ">="
    threshold: float
    cap: Rating = "Good"

    @model_validator(mode="after")
    def _kq_needed(self) -> Gate:
        if self.level == "key_question" and self.key_question is None:
            raise ValueError("a key_question gate needs key_question (e.g. Well-led)")
        if self.level == "overall" and self.key_question is not None:
            raise ValueError("an overall gate takes no key_question")
        return self


_DEFAULT_BANDS = (
    Band(min_n=1, max_n=3, outstanding_min=1, ri_limit=1, inadequate_limit=1),
    Band(min_n=4, max_n=8, outstanding_min=2, ri_limit=2, inadequate_limit=2),
    Band(min_n=9, max_n=None, outstanding_min=3, ri_limit=3, inadequate_limit=2),
)


class PrinciplesRuleSet(Frozen):
    """CQC's ratings principles as a rule set.

    Applied in order (first that holds wins) to the counts of underlying ratings
    (O, G, R, I; n = O + G + R + I) with the band for n:

    1. I >= inadequate_limit -> Inadequate;
    2. I >= 1 -> ``one_inadequate`` (default Requires improvement);
    3. R >= ri_limit -> Requires improvement;
    4. O >= outstanding_min and R = I = 0 -> Outstanding;
    5. otherwise Good.

    Then enforcement: a requirement notice caps at RI; a warning notice or an imposed
    condition gives Inadequate. Gates (collaboration scenarios) apply last.

    The 4-8 band (X = 2, two RI limit, two Inadequate give Inadequate) is the published
    rule for five key questions; the 1-3 and 9+ bands are not fully published and their
    defaults (1-3: X = 1, one RI limits, one Inadequate gives Inadequate; 9+: X = 3,
    three RI limit, two Inadequate give Inadequate) are modelling choices.
    """

    kind: Literal["principles"] = "principles"
    name: str
    version: str = "1"
    description: str = ""
    bands: tuple[Band, ...] = _DEFAULT_BANDS
    one_inadequate: Rating = "Requires improvement"
    gates: tuple[Gate, ...] = ()

    @model_validator(mode="after")
    def _bands_cover(self) -> PrinciplesRuleSet:
        bands = sorted(self.bands, key=lambda b: b.min_n)
        if not bands or bands[0].min_n != 1:
            raise ValueError("bands must start at min_n 1")
        for a, b in itertools.pairwise(bands):
            if a.max_n is None or b.min_n != a.max_n + 1:
                raise ValueError(f"bands must be contiguous: {a.max_n} then {b.min_n}")
        if bands[-1].max_n is not None:
            raise ValueError("the last band must be open-ended (max_n: null)")
        return self

    def band(self, n: int) -> Band:
        """Return the band for ``n`` underlying ratings."""
        for b in self.bands:
            if n >= b.min_n and (b.max_n is None or n <= b.max_n):
                return b
        raise ValueError(f"no band for n={n}")


class SafRuleSet(Frozen):
    """SAF scoring: statement scores 1-4 -> key-question percentage -> rating.

    percentage = 100 * sum(scores) / (4 * n). Bands (lower edges, inclusive, after
    rounding): Outstanding 88, Good 63, Requires improvement 39, Inadequate 25.
    ``rounding``: ``nearest`` (nearest whole percent, halves up -- the default),
    ``floor``, ``ceil``, or ``exact`` (no rounding: 87.5 is below 88, so Good).
    ``overall_rule_set`` names the rule set that combines key-question ratings into the
    overall rating (default: the ratings principles; a modelling choice, CQC's own route
    being unsettled).
    """

    kind: Literal["saf"] = "saf"
    name: str
    version: str = "1"
    description: str = ""
    thresholds: dict[Rating, float] = Field(
        default_factory=lambda: {
            "Outstanding": 88.0,
            "Good": 63.0,
            "Requires improvement": 39.0,
            "Inadequate": 25.0,
        }
    )
    rounding: Literal["nearest", "floor", "ceil", "exact"] = "nearest"
    overall_rule_set: str = "cqc_principles"

    @model_validator(mode="after")
    def _ordered(self) -> SafRuleSet:
        t = self.thresholds
        missing = [r for r in RATINGS_BEST_FIRST if r not in t]
        if missing:
            raise ValueError(f"thresholds missing for {missing}")
        if not all(t[a] > t[b] for a, b in itertools.pairwise(RATINGS_BEST_FIRST)):
            raise ValueError("thresholds must fall from Outstanding to Inadequate")
        return self


class ShareRule(Frozen):
    """One rule of a share-based ICS rule set: every stated bound must hold.

    ``below_worst_provider: true`` lets the rule's rating stand even when it is worse
    than the system's worst rated provider (see
    :attr:`ShareThresholdsRuleSet.floor_at_worst_provider`); it needs a ``rationale``.
    """

    rating: Rating
    min_share_outstanding: float | None = Field(None, ge=0, le=1)
    min_share_good_or_outstanding: float | None = Field(None, ge=0, le=1)
    min_share_inadequate: float | None = Field(None, ge=0, le=1)
    max_share_inadequate: float | None = Field(None, ge=0, le=1)
    max_share_requires_improvement_or_worse: float | None = Field(None, ge=0, le=1)
    below_worst_provider: bool = False
    rationale: str = ""

    @model_validator(mode="after")
    def _explicit(self) -> ShareRule:
        if self.below_worst_provider and not self.rationale.strip():
            raise ValueError("a rule with below_worst_provider: true must say why in its rationale")
        return self


class ShareThresholdsRuleSet(Frozen):
    """ICS-level modelled rating from shares of provider ratings; first matching rule wins.

    Count-based principles do not scale to systems (two Inadequate practices among 400
    would make an ICS Inadequate), so ICS-level rule sets use shares. The last rule should
    have no bounds (the fallback). ``min_rated``: fewer rated providers -> no rating.
    ``floor_at_worst_provider`` (default true): a system is never rated below its worst
    rated provider -- as CQC's own principles never rate an aggregate below its worst
    component -- unless the matching rule says ``below_worst_provider: true``; a rating
    raised by the floor says so in its ``note``. ``rationale`` explains the thresholds.
    """

    kind: Literal["share_thresholds"] = "share_thresholds"
    name: str
    version: str = "1"
    description: str = ""
    rationale: str = ""
    min_rated: int = Field(3, ge=1)
    floor_at_worst_provider: bool = True
    rules: tuple[ShareRule, ...] = Field(min_length=1)


class SegmentationRuleSet(Frozen):
    """NOF-style segmentation (note the direction: 1 = best).

    Each rated provider gets a code (Outstanding 1, Good 2, Requires improvement 3,
    Inadequate 4); the ICS's mean code is cut into segments 1-4 at ``cuts`` (upper edges
    of segments 1-3, inclusive) or at the national quartiles (``method: quartiles``).
    Override: a share Inadequate at or above ``cap_share_inadequate`` caps the segment at
    ``cap_segment`` or worse.
    """

    kind: Literal["segmentation"] = "segmentation"
    name: str
    version: str = "1"
    description: str = ""
    method: Literal["fixed", "quartiles"] = "fixed"
    cuts: tuple[float, float, float] = (1.5, 2.5, 3.5)
    min_rated: int = Field(3, ge=1)
    cap_share_inadequate: float | None = Field(0.1, ge=0, le=1)
    cap_segment: int = Field(3, ge=1, le=4)


class Cuts(Frozen):
    """Upper edges of segments 1-3 on a 1 (best) to 4 score, with where they come from.

    A score at or below ``bounds[0]`` is segment 1, at or below ``bounds[1]`` segment 2,
    at or below ``bounds[2]`` segment 3, above it segment 4.

    Attributes
    ----------
    bounds : the three upper edges, strictly increasing.
    intervals : for each edge, the half-open interval ``(lo, hi]`` of values consistent
        with the published segments (highest score published in the lower segment, lowest
        in the upper one) when the edge had to be inferred; each edge must lie in its
        interval. Empty when the edges are published.
    """

    bounds: tuple[float, float, float]
    intervals: tuple[tuple[float, float], ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Cuts:
        b = self.bounds
        if not b[0] < b[1] < b[2]:
            raise ValueError(f"bounds must increase strictly, got {list(b)}")
        if self.intervals and len(self.intervals) != 3:
            raise ValueError("intervals: one (lo, hi] interval per bound, or none")
        for i, (edge, (lo, hi)) in enumerate(zip(b, self.intervals, strict=False)):
            if not lo <= edge < hi:
                raise ValueError(f"bound {i + 1} ({edge}) is outside its interval [{lo}, {hi})")
        return self


class NofRuleSet(Frozen):
    """The NHS Oversight Framework's segmentation of providers (1 = best).

    Attributes
    ----------
    source : where the thresholds come from (NHS England's method; inferred values say so).
    score : the segment's score column (e.g. ``league_avg_score``, the average metric score).
    deficit : the Boolean column flagging a trust in financial deficit.
    segment : the published segment column the check compares with.
    cuts : the score's segment edges (:class:`Cuts`).
    deficit_cap : a trust in deficit can be no better than this segment (null: no cap).
    intensive_support_segment : the segment of a trust in intensive support (an override
        of everything else), from the column ``intensive_support`` when the data has it.
    domain_cuts : per NOF domain (:data:`~ics_model.ratings.NOF_DOMAINS`), the edges of
        its domain segments (no deficit cap).
    """

    kind: Literal["nof"] = "nof"
    name: str
    version: str = "1"
    description: str = ""
    source: str = Field(min_length=1)
    score: str = "league_avg_score"
    deficit: str = "league_in_deficit"
    segment: str = "league_segment"
    cuts: Cuts
    deficit_cap: int | None = Field(3, ge=1, le=4)
    intensive_support_segment: int = Field(5, ge=5, le=5)
    domain_cuts: dict[str, Cuts] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_domains(self) -> NofRuleSet:
        unknown = sorted(set(self.domain_cuts) - set(NOF_DOMAINS))
        if unknown:
            raise ValueError(f"domain_cuts: unknown domains {unknown} (allowed: {NOF_DOMAINS})")
        return self


RuleSet = Annotated[
    PrinciplesRuleSet | SafRuleSet | ShareThresholdsRuleSet | SegmentationRuleSet | NofRuleSet,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[RuleSet] = TypeAdapter(RuleSet)


def rules_dir() -> Path:
    """Return the shipped ``configs/rules`` folder."""
    from ics_model.data.bundled import configs_dir

    return configs_dir() / "rules"


def rule_set_from_dict(data: Any, *, source: str = "<dict>") -> RuleSet:
    """Validate a mapping as a rule set (raises :class:`ConfigError` naming key paths)."""
    if isinstance(data, dict) and "kind" not in data:
        raise ConfigError(
            f"invalid rule set {source}:\n  kind: missing (allowed: 'principles', 'saf', "
            "'share_thresholds', 'segmentation')"
        )

    def error_line(e: Any) -> str:
        loc = tuple(e.get("loc", ()))
        if loc and loc[0] == data.get("kind"):
            loc = loc[1:]  # drop the discriminator tag from the key path
        return format_error({**e, "loc": loc})

    return validate_as(_ADAPTER, data, "rule set", source=source, error_line=error_line)


def load_rule_set(path: str | Path) -> RuleSet:
    """Load one rule set from a YAML file."""
    return rule_set_from_dict(read_yaml(path, "rule set"), source=str(path))


@cache
def available_rule_sets() -> dict[str, Path]:
    """Shipped rule sets: name -> file."""
    out = {}
    for p in sorted(rules_dir().glob("*.yaml")):
        out[load_rule_set(p).name] = p
    return out


def get_rule_set(rule_set: Any) -> RuleSet:
    """Load a rule set from a name, a YAML path, a mapping, or a rule set object."""
    if isinstance(
        rule_set,
        PrinciplesRuleSet | SafRuleSet | ShareThresholdsRuleSet | SegmentationRuleSet | NofRuleSet,
    ):
        return rule_set
    if isinstance(rule_set, dict):
        return rule_set_from_dict(rule_set)
    if isinstance(rule_set, Path) or (isinstance(rule_set, str) and rule_set.endswith(".yaml")):
        return load_rule_set(rule_set)
    known = available_rule_sets()
    if rule_set not in known:
        raise KeyError(f"unknown rule set {rule_set!r}; available: {', '.join(known)}")
    return _load_cached(str(known[rule_set]))


@cache
def _load_cached(path: str) -> RuleSet:
    return load_rule_set(path)
