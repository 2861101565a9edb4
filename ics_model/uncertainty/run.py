r"""Run a Monte Carlo uncertainty analysis of a composite, chunk by chunk, on any executor.

For draw :math:`d` the assumptions are drawn independently -- indicator and pillar
weights (:func:`~ics_model.uncertainty.draws.weight_draws`), a normaliser and an
aggregation (uniformly among the alternatives) and a provider bootstrap replicate
(:func:`~ics_model.uncertainty.bootstrap.resample_indicators`) -- and the composite score
:math:`S_{dc}` and rank :math:`R_{dc}` of every ICS :math:`c` are computed. Draws that
share a normaliser and aggregation are evaluated together as arrays. The per-ICS summary
reports the deterministic rank, the median and the 5th and 95th percentiles of
:math:`R_{dc}` and :math:`S_{dc}` over draws, and

.. math::

    \Pr(\text{top } k) = \frac{1}{D}\sum_d 1[R_{dc} \le k], \qquad
    \Pr(\text{bottom } k) = \frac{1}{D}\sum_d 1[R_{dc} > n_d - k]

with :math:`n_d` the ICSs ranked in draw :math:`d`. This is the Monte Carlo
uncertainty analysis of the JRC/OECD *Handbook on Constructing Composite Indicators*
(2008), step 7 (uncertainty and sensitivity analysis), after Saisana, Saltelli &
Tarantola (2005), *J. R. Stat. Soc. A* 168(2), 307-323, who report each unit's median
rank and its 5th-95th percentile band; variance-based sensitivity indices are in
:mod:`~ics_model.uncertainty.sobol`.

Reproducibility: chunk :math:`i` draws from ``np.random.SeedSequence(seed).spawn(n)[i]``
(one sub-stream per assumption), so results depend on ``seed``, ``draws`` and
``chunk_size`` only -- never on the executor, the number of workers or the order in
which chunks finish. Every ICS score is a *modelled* construct: there are no official
ICS ratings.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import polars as pl

from ics_model.composite.build import coverage, normalised_array
from ics_model.composite.kernel import aggregate
from ics_model.composite.methods import (
    BOUNDED_NORMALISERS,
    MISSING_POLICIES,
    NORMALISERS,
    TRANSFORMS,
    CompositeError,
)
from ics_model.composite.spec import LABEL, CompositeSpec, IndicatorSpec
from ics_model.uncertainty.assumptions import assumptions_table
from ics_model.uncertainty.bootstrap import provider_counts
from ics_model.uncertainty.draws import (
    check_domain,
    chunk_seeds,
    chunk_sizes,
    pillar_scores,
    quantiles_over_draws,
    rank_rows,
    rescale_0_100,
    stream,
    weight_draws,
)
from ics_model.uncertainty.sampling import SamplingInputs, SamplingPlan, metric_draws
from ics_model.uncertainty.sobol import ASSUMPTIONS, sobol_analysis
from ics_model.uncertainty.spec import (
    UncertaintyError,
    UncertaintySpec,
    WeightsSpec,
    composite_variant,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

# fmt: off
PER_ICS_COLUMNS = (
    "icb_code", "icb_name", "score", "rank", "rank_median", "rank_p05", "rank_p95",
    "p_top_k", "p_bottom_k", "score_median", "score_p05", "score_p95", "n_draws",
)
# fmt: on


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class _Context:
    """Everything a chunk needs; small and picklable (sent to every task)."""

    values: tuple[np.ndarray, ...]  # per normaliser choice: n_ics x n_indicators
    norm_labels: tuple[str, ...]
    agg_labels: tuple[str, ...]
    pillar_methods: tuple[tuple[str, ...], ...]  # per aggregation choice
    p: float
    w_ind: np.ndarray
    w_pil: np.ndarray
    pillar_of: np.ndarray
    weights: WeightsSpec
    ranked: np.ndarray  # bool per ICS: enough coverage to be ranked
    ties: str
    sampling: SamplingPlan | None  # what the bootstrap assumption resamples
    # per normaliser choice: (column, indicator spec) of each resampled column
    recipes: tuple[tuple[tuple[int, IndicatorSpec], ...], ...]
    missing: str
    out_range: tuple[float, float]

    def draw_weights(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` indicator and pillar weight draws (:func:`~.draws.weight_draws`)."""
        w = self.weights
        return weight_draws(
            self.w_ind, self.w_pil, self.pillar_of, n=n, rng=rng, method=w.method,
            concentration=w.concentration, spread=w.spread,
        )  # fmt: skip


def _coverage_mask(matrix: pl.DataFrame, cspec: CompositeSpec) -> np.ndarray:
    """Mark the ICSs the composite ranks.

    Those whose observed indicators from complete sources carry at least
    ``min_coverage`` of the nominal weight (:func:`~ics_model.composite.build.coverage`,
    as :func:`~ics_model.composite.composite` ranks them).
    """
    return coverage(matrix, cspec) >= cspec.min_coverage


def _sampling_plan(
    matrix: pl.DataFrame,
    spec: UncertaintySpec,
    cspec: CompositeSpec,
    providers: pl.DataFrame | None,
    sampling: SamplingInputs | None,
) -> SamplingPlan | None:
    """Return what the ``bootstrap`` assumption resamples (None: nothing)."""
    if not spec.bootstrap:
        return None
    raw = matrix.select(pl.col(i.name).cast(pl.Float64) for _, i in cspec.indicators).to_numpy()
    codes = matrix["icb_code"].to_list()
    counts = None
    if providers is None:
        log.warning(
            "uncertainty: bootstrap requested but no providers given; provider bootstrap off"
        )
    else:
        counts = provider_counts(providers, codes, cspec, raw, metrics=spec.metric_sampling)
        counts = dataclasses.replace(counts, method=spec.bootstrap_method)
        counts = counts if counts.columns else None
    metrics: tuple = ()
    if spec.metric_sampling and sampling is not None:
        metrics = metric_draws(sampling, codes, cspec, raw)
    elif spec.metric_sampling and any(i.source.startswith("metric:") for _, i in cspec.indicators):
        log.warning("uncertainty: no sampling inputs given; metric indicators held fixed")
    if counts is None and not metrics:
        log.warning("uncertainty: no indicator to resample; bootstrap off")
        return None
    return SamplingPlan(counts, metrics)


def _check_choice(
    v: np.ndarray,
    w_ind: np.ndarray,
    pillar_of: np.ndarray,
    methods: tuple[str, ...],
    overall: str,
    p: float,
    name: str | None,
    pillar_names: list[str],
) -> None:
    """Check that a choice's values are in its means' domains, else :class:`UncertaintyError`.

    Normalised values in each pillar mean's domain; nominal pillar scores in the
    across-pillar mean's (as the composite checks).
    """
    label = name or "configured"
    for q, m in enumerate(methods):
        what = f"normaliser {label}, pillar {pillar_names[q]!r}"
        check_domain(v[:, pillar_of == q], m, p, what)
    try:
        nominal = pillar_scores(v, w_ind[None], pillar_of, methods, p)
    except UncertaintyError:  # not a quasi-arithmetic mean: the composite checks
        return
    check_domain(nominal, overall, p, f"pillar scores ({label})")


def _context(
    matrix: pl.DataFrame,
    spec: UncertaintySpec,
    cspec: CompositeSpec,
    providers: pl.DataFrame | None,
    sampling: SamplingInputs | None = None,
) -> _Context:
    """Build the evaluation context: normalised matrices per choice, checks, sampling plan."""
    out_range = spec.normalise_range_for(cspec)
    norm_choices: list[str | None] = list(spec.normalisation) or [None]
    values, specs = {}, {}
    for name in dict.fromkeys(norm_choices):
        try:
            specs[name] = composite_variant(cspec, name, out_range)
            values[name] = normalised_array(matrix, specs[name]).values
        except CompositeError as exc:
            raise UncertaintyError(
                f"normalisation alternative {name or 'configured'}: {exc}"
            ) from exc
    pillar_names = list(cspec.pillars)
    agg_labels = tuple(spec.aggregation) or (cspec.aggregation,)
    pillar_methods = tuple(
        tuple(cspec.pillars[p].aggregation or a for p in pillar_names) for a in agg_labels
    )
    pillar_of = np.array([pillar_names.index(p) for p, _ in cspec.indicators], dtype=np.intp)
    w_ind = np.array([i.weight for _, i in cspec.indicators])
    w_pil = np.array([p.weight for p in cspec.pillars.values()])
    for name, v in values.items():
        for methods, overall in zip(pillar_methods, agg_labels, strict=True):
            _check_choice(v, w_ind, pillar_of, methods, overall, cspec.p, name, pillar_names)
    plan = _sampling_plan(matrix, spec, cspec, providers, sampling)
    recipes: tuple = ()
    if plan is not None:
        recipes = tuple(
            tuple((j, specs[n].indicators[j][1]) for j in plan.columns) for n in norm_choices
        )
    return _Context(
        values=tuple(values[n] for n in norm_choices),
        norm_labels=tuple(n or "configured" for n in norm_choices),
        agg_labels=agg_labels,
        pillar_methods=pillar_methods,
        p=cspec.p,
        w_ind=w_ind,
        w_pil=w_pil,
        pillar_of=pillar_of,
        weights=spec.weights,
        ranked=_coverage_mask(matrix, cspec),
        ties=spec.ties,
        sampling=plan,
        recipes=recipes,
        missing=cspec.missing,
        out_range=out_range,
    )


def varied_assumptions(ctx: _Context) -> tuple[str, ...]:
    """Return the assumptions a context actually varies, in :data:`ASSUMPTIONS` order."""
    varied = {
        "weights": ctx.weights.method != "none",
        "normalisation": len(ctx.norm_labels) > 1,
        "aggregation": len(ctx.agg_labels) > 1,
        "bootstrap": ctx.sampling is not None,
    }
    return tuple(a for a in ASSUMPTIONS if varied[a])


# --------------------------------------------------------------------------- evaluation


class _Chunk(NamedTuple):
    scores: np.ndarray
    ranks: np.ndarray
    norm_choice: np.ndarray
    agg_choice: np.ndarray


def _bootstrap_values(ctx: _Context, a: int, raw: np.ndarray) -> np.ndarray:
    """``m x n_ics x n_indicators`` normalised values with the bootstrapped columns redone.

    The registered missing-data policy, transforms and normalisers, applied to every draw
    at once (draws on the leading axis), as :func:`~ics_model.composite.normalised_array`
    applies them to the observed values.
    """
    vals = np.repeat(ctx.values[a][None], raw.shape[0], axis=0)
    names = [ind.name for _, ind in ctx.recipes[a]]
    filled, _ = MISSING_POLICIES[ctx.missing](raw, names, [""] * raw.shape[1])
    for r, (j, ind) in enumerate(ctx.recipes[a]):
        try:
            x = TRANSFORMS[ind.transform_name](
                filled[:, :, r], indicator=ind.name, quantiles=ind.winsorise
            )
        except CompositeError as exc:
            raise UncertaintyError(f"a bootstrap resample: {exc}, or bootstrap: false") from None
        lower = ind.direction == "lower_is_better"
        gp = None if ind.goalposts is None else (ind.goalposts.lower, ind.goalposts.upper)
        gp = (-gp[1], -gp[0]) if gp is not None and lower else gp  # reflected scale
        rng = ctx.out_range if ind.normalise in BOUNDED_NORMALISERS else (0.0, 100.0)
        vals[:, :, j] = NORMALISERS[ind.normalise](-x if lower else x, out_range=rng, goalposts=gp)
    return vals


def _evaluate(
    ctx: _Context,
    w_ind: np.ndarray,
    w_pil: np.ndarray,
    norm_choice: np.ndarray,
    agg_choice: np.ndarray,
    raw: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and ranks of a batch of draws, grouped by (normaliser, aggregation)."""
    scores = np.full((w_ind.shape[0], ctx.ranked.size), np.nan)
    for a, b in np.unique(np.stack([norm_choice, agg_choice], axis=1), axis=0):
        rows = np.flatnonzero((norm_choice == a) & (agg_choice == b))
        values = ctx.values[a]
        if raw is not None:
            values = _bootstrap_values(ctx, a, raw[rows])
            for q, m in enumerate(ctx.pillar_methods[b]):
                check_domain(values[..., ctx.pillar_of == q], m, ctx.p, "bootstrap draw")
        methods, overall = ctx.pillar_methods[b], ctx.agg_labels[b]
        scores[rows] = aggregate(
            values, w_ind[rows], w_pil[rows], ctx.pillar_of, methods, overall, ctx.p
        ).score
    scores[:, ~ctx.ranked] = np.nan
    return scores, rank_rows(scores, ctx.ties)  # type: ignore[arg-type]


def _evaluate_chunk(ctx: _Context, ss: np.random.SeedSequence, size: int) -> _Chunk:
    """One independent task: draw ``size`` settings from ``ss`` and evaluate them."""
    w_ind, w_pil = ctx.draw_weights(size, stream(ss, "weights"))
    n_norm, n_agg = len(ctx.norm_labels), len(ctx.agg_labels)
    zeros = np.zeros(size, dtype=np.intp)
    norm = stream(ss, "normalisation").integers(n_norm, size=size) if n_norm > 1 else zeros
    agg = stream(ss, "aggregation").integers(n_agg, size=size) if n_agg > 1 else zeros
    raw = None
    if ctx.sampling is not None:
        raw = ctx.sampling.draw(size, stream(ss, "bootstrap"))
    scores, ranks = _evaluate(ctx, w_ind, w_pil, norm, agg, raw)
    return _Chunk(scores, ranks, norm, agg)


def _run_chunks(
    ctx: _Context,
    spec: UncertaintySpec,
    executor: cf.Executor | None,
    progress: Progress | None,
) -> list[_Chunk]:
    seeds = chunk_seeds(spec.seed, spec.draws, spec.chunk_size)
    sizes = chunk_sizes(spec.draws, spec.chunk_size)
    done = 0
    results: list[_Chunk | None] = [None] * len(sizes)
    if executor is None:
        for i, (ss, size) in enumerate(zip(seeds, sizes, strict=True)):
            results[i] = _evaluate_chunk(ctx, ss, size)
            done += size
            if progress is not None:
                progress(done, spec.draws)
    else:
        futures = {
            executor.submit(_evaluate_chunk, ctx, ss, size): i
            for i, (ss, size) in enumerate(zip(seeds, sizes, strict=True))
        }
        for fut in cf.as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            done += sizes[i]
            if progress is not None:
                progress(done, spec.draws)
    return [r for r in results if r is not None]


# --------------------------------------------------------------------------- summaries


def _per_ics(
    codes: list[str],
    names: list[str | None],
    det_scores: np.ndarray,
    scores: np.ndarray,
    ranks: np.ndarray,
    spec: UncertaintySpec,
) -> pl.DataFrame:
    k = spec.top_k
    det_rank = rank_rows(det_scores[None], "min")[0]
    scaled = rescale_0_100(scores) if spec.resolved_score_scale == "0_100" else scores
    n_ranked = (~np.isnan(ranks)).sum(axis=1, keepdims=True)
    ranked_draws = (~np.isnan(ranks)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        top = (ranks <= k).sum(axis=0) / ranked_draws
        bottom = (ranks > n_ranked - k).sum(axis=0) / ranked_draws
    rq = quantiles_over_draws(ranks, ranks=True)
    sq = quantiles_over_draws(scaled)
    frame = pl.DataFrame(
        {
            "icb_code": codes,
            "icb_name": pl.Series(names, dtype=pl.String),
            "score": det_scores,
            "rank": pl.Series(det_rank).fill_nan(None).cast(pl.Int64),
            "rank_median": rq[0],
            "rank_p05": rq[1],
            "rank_p95": rq[2],
            "p_top_k": top,
            "p_bottom_k": bottom,
            "score_median": sq[0],
            "score_p05": sq[1],
            "score_p95": sq[2],
            "n_draws": ranked_draws.astype(np.int64),
        }
    )
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None)).select(PER_ICS_COLUMNS)


# --------------------------------------------------------------------------- public


@dataclass(frozen=True)
class UncertaintyResult:
    """A Monte Carlo uncertainty analysis of a composite.

    Attributes
    ----------
    per_ics : per ICS (matrix order): ``icb_code``, ``icb_name``, ``score`` (raw units)
        and ``rank`` (deterministic, the configured composite; 1 = best, ties ``min``),
        ``rank_median``, ``rank_p05``, ``rank_p95``, ``p_top_k``, ``p_bottom_k``,
        ``score_median``, ``score_p05``, ``score_p95`` (on ``spec.score_scale``),
        ``n_draws`` (draws in which the ICS is ranked; 0 and nulls for an ICS below the
        composite's ``min_coverage``).
    sobol : Sobol' indices (:func:`~ics_model.uncertainty.sobol.sobol_indices`), or
        None when not enabled.
    draws_summary : what the run varies and how (``uncertainty_assumptions.csv``,
        :func:`~ics_model.uncertainty.assumptions.assumptions_table`): one row per
        composite-wide assumption and per indicator's sampling distribution.
    scores, ranks : every draw, ``draws x n_ics`` (raw scores; NaN = not ranked).
    assumptions : the assumptions varied.
    spec, composite_spec : the specs that produced it.
    label : "modelled composite (no official ICS ratings exist)".
    """

    per_ics: pl.DataFrame
    sobol: pl.DataFrame | None
    draws_summary: pl.DataFrame
    scores: np.ndarray
    ranks: np.ndarray
    assumptions: tuple[str, ...]
    spec: UncertaintySpec
    composite_spec: CompositeSpec
    label: str = LABEL


def run_uncertainty(
    matrix: pl.DataFrame,
    spec: UncertaintySpec,
    composite_spec: CompositeSpec,
    *,
    providers: pl.DataFrame | None = None,
    sampling: SamplingInputs | None = None,
    executor: cf.Executor | None = None,
    progress: Progress | None = None,
) -> UncertaintyResult:
    """Monte Carlo uncertainty (and optionally Sobol') analysis of a composite.

    Parameters
    ----------
    matrix : the :func:`~ics_model.composite.indicator_matrix` of ``composite_spec``.
    spec : the :class:`~ics_model.uncertainty.spec.UncertaintySpec`.
    composite_spec : the composite whose assumptions are varied.
    providers : rated providers for the bootstrap (the pipeline's ``Result.mapped``);
        without them the provider bootstrap is off (logged).
    sampling : the metrics' counts (:class:`~ics_model.uncertainty.sampling.SamplingInputs`
        from the run's ``Metrics``): with ``spec.metric_sampling``, every ``metric:``
        indicator with a sampling distribution is drawn from it
        (:mod:`~ics_model.uncertainty.sampling`); without them those indicators are held
        fixed (logged).
    executor : any :class:`concurrent.futures.Executor` (threads, processes, Dask's
        ``Client.get_executor()``); chunks are independent tasks. None = in-process.
        Results are identical whichever is used.
    progress : optional ``progress(n_draws_done, n_draws_total)``, called as chunks
        finish (the library never prints).

    Returns
    -------
    UncertaintyResult
    """
    ctx = _context(matrix, spec, composite_spec, providers, sampling)
    codes = matrix["icb_code"].to_list()
    names = matrix["icb_name"].to_list() if "icb_name" in matrix.columns else [None] * len(codes)
    det = aggregate(
        normalised_array(matrix, composite_spec).values,
        ctx.w_ind[None],
        ctx.w_pil[None],
        ctx.pillar_of,
        [composite_spec.pillar_aggregation(p) for p in composite_spec.pillars],
        composite_spec.aggregation,
        composite_spec.p,
    ).score[0]
    det = np.where(ctx.ranked, det, np.nan)
    assumptions = varied_assumptions(ctx)
    log.info(
        "uncertainty: %d draws in chunks of %d, varying %s",
        spec.draws,
        spec.chunk_size,
        ", ".join(assumptions) or "nothing",
    )
    chunks = _run_chunks(ctx, spec, executor, progress)
    scores = np.concatenate([c.scores for c in chunks])
    ranks = np.concatenate([c.ranks for c in chunks])
    sobol = None
    if spec.sobol.enabled:
        sobol = sobol_analysis(ctx, spec, assumptions, codes, names, evaluate=_evaluate)
    return UncertaintyResult(
        per_ics=_per_ics(codes, names, det, scores, ranks, spec),
        sobol=sobol,
        draws_summary=assumptions_table(
            spec,
            composite_spec,
            norm_labels=ctx.norm_labels,
            agg_labels=ctx.agg_labels,
            norm_choice=np.concatenate([c.norm_choice for c in chunks]),
            agg_choice=np.concatenate([c.agg_choice for c in chunks]),
            plan=ctx.sampling,
            has_providers=providers is not None,
            has_inputs=sampling is not None,
        ),
        scores=scores,
        ranks=ranks,
        assumptions=assumptions,
        spec=spec,
        composite_spec=composite_spec,
    )


__all__ = [
    "PER_ICS_COLUMNS",
    "UncertaintyResult",
    "run_uncertainty",
    "varied_assumptions",
]
