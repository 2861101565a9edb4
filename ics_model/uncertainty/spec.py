r"""The ``uncertainty:`` section of a run config: frozen pydantic models.

Uncertainty analysis propagates the assumptions of a composite (weights, normaliser,
aggregation, which providers happen to be rated) through to every ICS's score and rank,
as the JRC/OECD *Handbook on Constructing Composite Indicators* (2008), step 7
(uncertainty and sensitivity analysis) describes, following Saisana, Saltelli &
Tarantola (2005), *J. R. Stat. Soc. A* 168(2), 307-323. Every ICS score is a *modelled*
construct: there are no official ICS ratings.

Example::

    uncertainty:
      draws: 2000
      seed: 20260601
      weights: {method: dirichlet, concentration: 50}
      normalisation: [minmax, percentile_rank]
      aggregation: [arithmetic, geometric]
      bootstrap: true
      sobol: {enabled: true, n: 256}
"""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ics_model.composite.methods import AGGREGATORS, NORMALISERS
from ics_model.composite.spec import CompositeSpec, domain_problems
from ics_model.spec import Frozen, finite_float

log = logging.getLogger(__name__)


class UncertaintyError(ValueError):
    """An uncertainty analysis cannot run as specified; the message says which setting."""


#: normalisers that can be drawn as alternatives (goalposts needs per-indicator goalposts).
ALTERNATIVE_NORMALISERS = tuple(n for n in NORMALISERS if n != "goalposts")

#: aggregations whose inputs must be positive: with one of them among the alternatives,
#: the bounded normalisers map onto [1, 100] in every draw.
POSITIVE_AGGREGATIONS = frozenset({"geometric", "harmonic"})

#: the largest Dirichlet concentration accepted (beyond it the draws equal the configured
#: weights to four decimals; ``inf`` or 1e308 would overflow numpy's gamma draws).
MAX_CONCENTRATION = 1e6

#: the largest gate-threshold spread accepted: gate thresholds are shares, segments or
#: metric values, none near a million; the bound keeps inf and 1e308 out of the draws.
MAX_THRESHOLD_SPREAD = 1e6


class WeightsSpec(Frozen):
    r"""How indicator weights (within pillars) and pillar weights are perturbed.

    Attributes
    ----------
    method : ``dirichlet`` (default), ``uniform`` or ``none``.

        - ``dirichlet``: within each pillar, the indicator weights are drawn from
          :math:`\mathrm{Dir}(\kappa \tilde w)` with :math:`\tilde w` the configured
          weights normalised within the pillar and :math:`\kappa` the ``concentration``;
          pillar weights likewise from :math:`\mathrm{Dir}(\kappa \tilde W)`. The draws
          are centred on the configured weights, :math:`E[w_i] = \tilde w_i`, with
          :math:`\mathrm{Var}[w_i] = \tilde w_i (1 - \tilde w_i) / (\kappa + 1)`.
        - ``uniform``: each weight is multiplied by :math:`U(1 - s, 1 + s)` with
          :math:`s` the ``spread``, then renormalised (within the pillar, or across
          pillars), as in Saisana, Saltelli & Tarantola (2005).
        - ``none``: the configured weights in every draw.

        Zero weights stay zero under every method.
    concentration : :math:`\kappa > 0`, at most 1e6 (:data:`MAX_CONCENTRATION`); larger =
        tighter around the configured weights (50 gives a standard deviation of about 0.07
        for a weight of 1/3; 1e6, about 0.0005, is in effect no perturbation).
    spread : :math:`s \in [0, 1)`, the relative half-width of the uniform perturbation.
    """

    method: Literal["dirichlet", "uniform", "none"] = "dirichlet"
    concentration: finite_float(gt=0, le=MAX_CONCENTRATION) = 50.0
    spread: float = Field(0.25, ge=0.0, lt=1.0)


class SobolSpec(Frozen):
    r"""Variance-based sensitivity indices (Sobol') of each ICS's rank and score.

    One input per assumption actually varied (weights, normalisation, aggregation,
    bootstrap), each a uniform :math:`[0, 1]` "trigger" (Saisana, Saltelli & Tarantola
    2005, section 3): a discrete choice is :math:`\lfloor u \cdot n_{choices} \rfloor`;
    the weights and the bootstrap replicate are :math:`\lfloor u \cdot \text{pool}
    \rfloor`-th member of a pool of seeded draws. Saltelli sampling with
    :math:`N (D + 2)` model runs (:math:`N (2D + 2)` with second-order indices) and the
    estimators of Saltelli et al. (2010), *Comput. Phys. Commun.* 181(2), 259-270, as
    implemented by SALib (Herman & Usher 2017; Iwanaga, Usher & Herman 2022).

    Attributes
    ----------
    enabled : compute the indices (off by default).
    n : base sample size :math:`N`, a power of 2 (Sobol' sequences balance only then).
    calc_second_order : also estimate second-order indices (not reported per ICS; they
        only change the design and its cost).
    num_resamples : bootstrap resamples for the confidence intervals.
    pool : size of the pools of weight draws and bootstrap replicates the triggers
        select from.
    """

    enabled: bool = False
    n: int = Field(256, ge=4, le=1 << 20)
    calc_second_order: bool = False
    num_resamples: int = Field(100, ge=10, le=10_000)
    pool: int = Field(1024, ge=2, le=1 << 20)

    @field_validator("n")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError(f"sobol.n must be a power of 2 (e.g. 128, 256, 512), got {v}")
        return v


class UncertaintySpec(Frozen):
    r"""Monte Carlo uncertainty analysis of a composite (JRC/OECD Handbook 2008, step 7).

    Attributes
    ----------
    draws : Monte Carlo draws.
    chunk_size : draws per task; each chunk has its own spawned random stream
        (``np.random.SeedSequence(seed).spawn``), so the results depend on ``seed``,
        ``draws`` and ``chunk_size`` but not on the executor or the order chunks finish.
        At most 100,000: a chunk's draws are held in memory at once (each ICS x indicator
        x draw), so the bound keeps a chunk to a few hundred MB.
    seed : random seed.
    weights : :class:`WeightsSpec`.
    normalisation : alternative normalisers, one drawn uniformly per draw for every
        indicator; ``[]`` keeps each indicator's configured one. Repeats are allowed
        (they weight the choice). ``goalposts`` is not an alternative (it needs
        goalposts per indicator).
    aggregation : alternative aggregations, one drawn per draw; it replaces the
        composite's ``aggregation`` across pillars and within the pillars that do not
        set their own. ``[]`` keeps the configured one. When ``geometric`` or
        ``harmonic`` is among the alternatives (or configured), the bounded normalisers
        (minmax, percentile_rank, goalposts) map onto :math:`[1, 100]` in *every* draw,
        so that all draws share one scale and a geometric mean never meets a zero;
        ``zscore`` (half negative) cannot be combined with them.
    bootstrap : the sampling variation of the data (the ``bootstrap`` assumption):
        resample the rated providers within each ICS with replacement and recompute the
        view-based indicators (``view:<sector>:<key question>:share_*`` and
        ``mean_score``, and the rating-dispersion metrics) per draw, so systems with few
        rated providers get wide intervals; with ``metric_sampling``, the other metric
        indicators too. Needs the provider ratings (``run_uncertainty(...,
        providers=...)``).
    metric_sampling : with ``bootstrap``, also draw every ``metric:`` indicator that has a
        sampling distribution from it (SII and RII from their own simulation, flow shares
        from their pathway counts; :mod:`~ics_model.uncertainty.sampling`), so every pillar
        carries its sampling uncertainty. Needs the run's metrics
        (``run_uncertainty(..., sampling=...)``). ``false``: metric indicators held fixed.
    bootstrap_method : ``multinomial`` (resample the rated providers) or ``bayesian`` (rating
        shares drawn from their Dirichlet posterior first, so that a small system whose
        providers share one rating still gets a wide interval).
    top_k : :math:`k` for the probabilities of ranking in the top or bottom :math:`k`.
    ties : how tied scores rank within a draw: ``min`` (both get the better rank, as
        the deterministic composite) or ``average``.
    score_scale : the scale of the reported score quantiles: ``raw`` (the composite's
        own units), ``0_100`` (min-max of the ranked ICSs' scores within each draw), or
        ``auto`` = ``0_100`` when the normalisation alternatives mix normalisers (whose
        scores have different units), else ``raw``.
    sobol : :class:`SobolSpec`.
    gate_threshold_spread : rule-threshold uncertainty for the run's collaboration-gate
        scenarios: each scenario's swept gate threshold t is drawn uniformly from
        ``[t - spread, t + spread]`` (``draws`` times, seeded) and the Outstanding ratings
        lost are summarised per ICS (``scenario_<name>_threshold_uncertainty.csv``);
        finite, above 0 and at most 1e6 (:data:`MAX_THRESHOLD_SPREAD`); null = off.
    """

    draws: int = Field(2000, ge=1, le=10_000_000)
    chunk_size: int = Field(10_000, ge=1, le=100_000)
    seed: int = Field(20260601, ge=0)
    weights: WeightsSpec = WeightsSpec()
    normalisation: tuple[str, ...] = ()
    aggregation: tuple[str, ...] = ()
    bootstrap: bool = True
    metric_sampling: bool = True
    bootstrap_method: Literal["multinomial", "bayesian"] = "bayesian"
    top_k: int = Field(5, ge=1)
    ties: Literal["min", "average"] = "min"
    score_scale: Literal["auto", "raw", "0_100"] = "auto"
    sobol: SobolSpec = SobolSpec()
    gate_threshold_spread: finite_float(gt=0, le=MAX_THRESHOLD_SPREAD) | None = 0.1

    @field_validator("normalisation")
    @classmethod
    def _normalisers(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [n for n in v if n not in ALTERNATIVE_NORMALISERS]
        if bad:
            raise ValueError(
                f"unknown normaliser(s) {bad} (allowed: {', '.join(ALTERNATIVE_NORMALISERS)})"
            )
        return v

    @field_validator("aggregation")
    @classmethod
    def _aggregations(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in v if a not in AGGREGATORS]
        if bad:
            raise ValueError(f"unknown aggregation(s) {bad} (allowed: {', '.join(AGGREGATORS)})")
        return v

    @model_validator(mode="after")
    def _compatible(self) -> UncertaintySpec:
        positive = sorted(POSITIVE_AGGREGATIONS.intersection(self.aggregation))
        if positive and "zscore" in self.normalisation:
            raise ValueError(
                f"aggregation {positive} needs positive normalised values, but zscore is "
                "among the normalisation alternatives (half its values are negative); "
                "drop zscore or the positive-only aggregation"
            )
        return self

    @property
    def resolved_score_scale(self) -> Literal["raw", "0_100"]:
        """``score_scale`` with ``auto`` resolved."""
        if self.score_scale != "auto":
            return self.score_scale
        return "0_100" if len(set(self.normalisation)) > 1 else "raw"

    def normalise_range_for(self, composite: CompositeSpec) -> tuple[float, float]:
        """Return the bounded normalisers' range in every draw.

        The composite's ``normalise_range``, or ``[1, 100]`` when a positive-only aggregation
        is among the alternatives and that range is not positive.
        """
        positive = [a for a in self.aggregation if AGGREGATORS[a].domain(composite.p) == "positive"]
        lo, hi = composite.normalise_range
        if positive and lo <= 0:
            log.info("uncertainty: %s among the alternatives: normalising onto [1, 100]", positive)
            return (1.0, 100.0)
        return (lo, hi)


def alternative_problems(spec: UncertaintySpec, composite: CompositeSpec) -> list[str]:
    """List the draws' method combinations that would fail on any data (config check).

    Every normalisation alternative is combined with every aggregation alternative (or the
    configured ones) on the range the draws use (:meth:`UncertaintySpec.normalise_range_for`)
    and checked by :func:`~ics_model.composite.spec.domain_problems`; the first problem of
    each combination is named, with the alternative's key path.
    """
    out_range = spec.normalise_range_for(composite)
    normalisers: list[tuple[str, str | None]] = [
        (f"uncertainty.normalisation.{i}", n) for i, n in enumerate(spec.normalisation)
    ] or [("composite", None)]
    aggregations: list[tuple[str, str]] = [
        (f"uncertainty.aggregation.{j}", a) for j, a in enumerate(spec.aggregation)
    ] or [("composite.aggregation", composite.aggregation)]
    problems = []
    for npath, normaliser in dict.fromkeys(normalisers):
        for apath, aggregation in aggregations:
            if normaliser is None and aggregation == composite.aggregation:
                continue  # the configured composite: checked on its own
            variant = composite_variant(composite, normaliser, out_range)
            variant = variant.model_copy(update={"aggregation": aggregation})
            found = domain_problems(variant, prefix="composite")
            if found:
                problems.append(
                    f"{npath}: drawn with {apath} = {aggregation!r}, " + found[0].split(": ", 1)[1]
                )
    return problems


def composite_variant(
    composite: CompositeSpec, normaliser: str | None, out_range: tuple[float, float]
) -> CompositeSpec:
    """Return ``composite`` with other normalisers and normalisation range.

    Every indicator's normaliser is replaced by ``normaliser`` (``None``: kept) and
    ``normalise_range`` set to ``out_range`` (validated again).
    """
    data = composite.model_dump()
    data["normalise_range"] = out_range
    if normaliser is not None:
        for pillar in data["pillars"].values():
            for ind in pillar["indicators"]:
                ind["normalise"] = normaliser
    return CompositeSpec.model_validate(data)


__all__ = [
    "ALTERNATIVE_NORMALISERS",
    "MAX_CONCENTRATION",
    "MAX_THRESHOLD_SPREAD",
    "POSITIVE_AGGREGATIONS",
    "SobolSpec",
    "UncertaintyError",
    "UncertaintySpec",
    "WeightsSpec",
    "alternative_problems",
    "composite_variant",
]
