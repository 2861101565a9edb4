r"""Power and interval coverage of the collaboration association, by simulation on the real design.

:func:`simulate_power` answers "how large an association could this design detect, and
are its intervals honest?" for one specification (population, outcome, exposure,
controls, model). Nothing about the design is idealised: the providers, their ICSs (the
real clusters, with their real sizes), their controls and the real values of the
standardised ICS-level exposure are kept; only the outcome is simulated.

Simulation design
-----------------
1. Fit the **null model** to the real outcome, ``logit p0_i = z_i' gamma`` (intercept and
   controls, no exposure), and measure the residual intra-cluster correlation
   (:mod:`~ics_model.effects.planted`).
2. For each odds ratio ``OR`` per SD (default 1, 1.25, 1.5, 2, 2.5, 3) and each simulation
   ``s``: draw a random ICS intercept ``u_sg ~ N(0, sigma^2)`` per ICS and outcomes
   ``y_si ~ Bernoulli(expit(eta_i + u_sg(i)))``, where ``eta_i`` makes the marginal
   (population-averaged) probability exactly ``expit(z_i' gamma + log(OR) x_i)``
   (:func:`~ics_model.effects.planted.conditional_eta`). ``sigma`` is chosen so that the
   simulated outcomes cluster as much as the real ones (the expected residual ANOVA ICC
   equals the observed one; :func:`~ics_model.effects.planted.match_icc`). Without it the
   simulated data would cluster less than the real data and power would be overstated;
   ``icc=None`` switches it off (then ``p_i = expit(z_i' gamma + log(OR) x_i)``).
3. Fit the model under study to every simulated outcome with the injected ``fit``
   (signature of ``fit_model``: ``fit(model, y, x, z, clusters, *, confidence, rng)``,
   returning an object with ``estimate``, ``ci_lower``, ``ci_upper``, ``p_value`` and
   ``converged``), and record whether it rejects ``OR = 1`` at level ``1 - confidence``
   (``p <= alpha``; a fit without a p-value rejects when 1 is outside its interval) and
   whether its interval covers the planted ``OR``. For an interval obtained by inverting
   a test, ``coverage_by="test"`` records the same decision without computing the
   interval: covered when the test of the planted value does not reject.

Per odds ratio, **power** is the share of fitted simulations that reject and
**coverage** the share whose interval contains the planted odds ratio, each with a 95%
Clopper-Pearson Monte Carlo interval; fits that raise (``ValueError``, ``LinAlgError``,
``ArithmeticError``) or return no usable estimate are counted in ``n_failed`` with their
reason and left out of both shares. The **minimum detectable effect** is the odds ratio at
which the simulated power curve first reaches 80%, by linear interpolation in
``log(OR)`` between the two simulated odds ratios that bracket it
(:func:`min_detectable_effect`); it is ``None`` when power stays below 80% over the
odds ratios simulated.

The default fitter is :func:`~ics_model.effects.score_fit.score_bootstrap_fit`
(``glm_cluster``: logistic GLM, wild cluster restricted score bootstrap with
leave-one-cluster-out scores); without that correction the bootstrap under-covers on the
real GP design (92.4% for a 95% interval; see :mod:`~ics_model.effects.score_fit`).

Randomness: simulations are split into chunks of ``chunk_size``; chunk ``c`` draws its
random intercepts, outcomes and one seed per simulation for the fitter's bootstrap from
``SeedSequence(seed).spawn(n_chunks)[c]`` (three fixed sub-streams), so results depend
on ``seed``, ``n_sims`` and ``chunk_size`` only, never on the executor (serial, threads,
processes, Dask) or the order chunks finish. Every odds ratio reuses the same chunk
seeds (common random numbers: the same ICS intercepts and uniforms), so the power curve
is smooth in the odds ratio and differences between odds ratios are estimated precisely.

The power study describes the **design** under an assumed model (logistic, normal
random ICS intercept, the effect planted on the standardised exposure); it says nothing
about whether the real association exists.

References
----------
Arnold, Hogan, Colford & Hubbard (2011) Simulation methods to estimate design power: an
overview for applied research. BMC Med Res Methodol 11:94. Landau & Stahl (2013)
Sample size and power calculations for medical studies by simulation when closed form
expressions are not available. Stat Methods Med Res 22:324-345. Morris, White & Crowther
(2019) Using simulation studies to evaluate statistical methods. Stat Med 38:2074-2102
(Monte Carlo standard errors of power and coverage). Clopper & Pearson (1934)
Biometrika 26:404-413.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

import numpy as np
import polars as pl

from ics_model.effects.design import Design
from ics_model.effects.planted import (
    PlantedDesign,
    Scale,
    null_model,
    planted_design,
)
from ics_model.effects.score_fit import score_bootstrap_fit

# scipy is imported where it is used (in clopper_pearson), as in the modules imported
# above, so that loading a PowerResult (e.g. from a stored run) loads neither scipy nor
# statsmodels

log = logging.getLogger(__name__)

DEFAULT_ODDS_RATIOS: Final[tuple[float, ...]] = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
TARGET_POWER: Final = 0.8
#: exceptions a fitter may raise on a simulated data set (counted, not propagated)
FIT_ERRORS: Final = (ValueError, ArithmeticError, np.linalg.LinAlgError)
_STREAMS: Final = {"intercepts": 0, "outcomes": 1, "fit": 2}

Progress = Callable[[int, int], None]
CoverageBy = Literal["interval", "test"]


class FitResult(Protocol):
    """What :func:`simulate_power` reads from a fit (a ``ModelFit`` has all of it)."""

    estimate: float
    ci_lower: float
    ci_upper: float
    p_value: float | None
    converged: bool


Fitter = Callable[..., FitResult]


# --------------------------------------------------------------------------- chunks


@dataclass(frozen=True)
class _Context:
    """Everything a chunk needs; picklable (sent to every task)."""

    planted: PlantedDesign
    etas: tuple[np.ndarray, ...]  # conditional linear predictors, one per odds ratio
    odds_ratios: tuple[float, ...]
    model: str
    fit: Fitter
    confidence: float
    coverage_by: CoverageBy


@dataclass(frozen=True)
class _Chunk:
    estimate: np.ndarray  # NaN where the fit failed
    rejected: np.ndarray  # bool
    covered: np.ndarray  # bool
    converged: np.ndarray  # bool
    failed: tuple[str | None, ...]  # reason per simulation, None when fitted
    events: np.ndarray


def _stream(ss: np.random.SeedSequence, name: str) -> np.random.Generator:
    """Sub-stream ``name`` of a chunk, without mutating ``ss`` (reusable across odds ratios)."""
    key = (*ss.spawn_key, _STREAMS[name])
    return np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=key))


def _missing(value: float | None) -> bool:
    return value is None or math.isnan(value)


def _judge(ctx: _Context, k: int, fit: Callable[..., Any]) -> tuple[float, bool, bool, bool]:
    """Fit one simulated outcome: estimate, rejects OR = 1, covers the planted OR, converged.

    Raises ``ValueError`` with the reason when the fit gives no usable result.
    """
    alpha, odds_ratio = 1 - ctx.confidence, ctx.odds_ratios[k]
    if ctx.coverage_by == "test":
        f = fit(interval=False)
        if _missing(f.estimate):
            raise ValueError("no estimate")
        at_truth = f if odds_ratio == 1 else fit(interval=False, null=math.log(odds_ratio))
        if _missing(f.p_value) or _missing(at_truth.p_value):
            raise ValueError("no p-value")
        return f.estimate, f.p_value <= alpha, at_truth.p_value > alpha, bool(f.converged)
    f = fit()
    if _missing(f.estimate):
        raise ValueError("no estimate")
    lo, hi = f.ci_lower, f.ci_upper
    if _missing(lo) or _missing(hi):
        raise ValueError("no interval")
    reject = (lo > 1 or hi < 1) if _missing(f.p_value) else f.p_value <= alpha
    return f.estimate, bool(reject), bool(lo <= odds_ratio <= hi), bool(f.converged)


def _run_chunk(ctx: _Context, k: int, ss: np.random.SeedSequence, size: int) -> _Chunk:
    """Simulate ``size`` outcome vectors at odds ratio ``k`` and fit each (one task).

    Every fit of simulation ``s`` gets a generator seeded with the chunk's ``s``-th fit
    seed, so both modes of ``coverage_by`` draw the same bootstrap weights.
    """
    pd = ctx.planted
    u = _stream(ss, "intercepts").standard_normal((size, pd.n_clusters)) * pd.sigma
    uniforms = _stream(ss, "outcomes").random((size, len(pd.x)))
    ys = (uniforms < pd.probabilities(ctx.etas[k], u)).astype(float)
    fit_seeds = _stream(ss, "fit").integers(2**63, size=size)
    estimate = np.full(size, np.nan)
    flags = np.zeros((3, size), dtype=bool)
    failed: list[str | None] = []
    for s in range(size):

        def fit(s: int = s, **kwargs: Any) -> Any:
            rng = np.random.default_rng(fit_seeds[s])
            return ctx.fit(
                ctx.model, ys[s], pd.x, pd.z, pd.g, confidence=ctx.confidence, rng=rng, **kwargs
            )

        try:
            estimate[s], *flags[:, s] = _judge(ctx, k, fit)
        except FIT_ERRORS as exc:
            text = str(exc).splitlines()[0] if str(exc) else ""
            failed.append(text if text in _UNUSABLE else f"{type(exc).__name__}: {text}")
            continue
        failed.append(None)
    return _Chunk(estimate, *flags, tuple(failed), ys.sum(axis=1))


_UNUSABLE: Final = ("no estimate", "no interval", "no p-value")


def _seeds(seed: int, n_sims: int, chunk_size: int) -> tuple[list[np.random.SeedSequence], list]:
    sizes = [min(chunk_size, n_sims - start) for start in range(0, n_sims, chunk_size)]
    return np.random.SeedSequence(seed).spawn(len(sizes)), sizes


def _run(
    ctx: _Context,
    seed: int,
    n_sims: int,
    chunk_size: int,
    executor: cf.Executor | None,
    progress: Progress | None,
) -> list[list[_Chunk]]:
    seeds, sizes = _seeds(seed, n_sims, chunk_size)
    tasks = [(k, c) for k in range(len(ctx.odds_ratios)) for c in range(len(sizes))]
    total, done = n_sims * len(ctx.odds_ratios), 0
    results: dict[tuple[int, int], _Chunk] = {}
    if executor is None:
        for k, c in tasks:
            results[k, c] = _run_chunk(ctx, k, seeds[c], sizes[c])
            done += sizes[c]
            if progress is not None:
                progress(done, total)
    else:
        futures = {
            executor.submit(_run_chunk, ctx, k, seeds[c], sizes[c]): (k, c) for k, c in tasks
        }
        for fut in cf.as_completed(futures):
            key = futures[fut]
            results[key] = fut.result()
            done += sizes[key[1]]
            if progress is not None:
                progress(done, total)
    return [[results[k, c] for c in range(len(sizes))] for k in range(len(ctx.odds_ratios))]


# --------------------------------------------------------------------------- summary


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval of a proportion ``k / n`` (Clopper & Pearson 1934).

    ``[B(a/2; k, n - k + 1), B(1 - a/2; k + 1, n - k)]`` with ``B`` the beta quantile,
    0 and 1 at the ends; ``(nan, nan)`` when ``n == 0``.

    Examples
    --------
    >>> lo, hi = clopper_pearson(0, 10)
    >>> (lo, round(hi, 4))
    (0.0, 0.3085)
    """
    if n == 0:
        return math.nan, math.nan
    from scipy.stats import beta as beta_dist

    a = 1 - confidence
    lo = 0.0 if k == 0 else float(beta_dist.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta_dist.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def _row(odds_ratio: float, chunks: list[_Chunk]) -> dict[str, Any]:
    est = np.concatenate([c.estimate for c in chunks])
    reject, covered, converged = (
        np.concatenate([getattr(c, a) for c in chunks])
        for a in ("rejected", "covered", "converged")
    )
    failed = [r for c in chunks for r in c.failed]
    ok = np.array([r is None for r in failed])
    n_ok, n_rej, n_cov = int(ok.sum()), int((reject & ok).sum()), int((covered & ok).sum())
    logs = np.log(est[ok & (est > 0) & np.isfinite(est)])
    reasons = Counter(r for r in failed if r is not None)
    p_lo, p_hi = clopper_pearson(n_rej, n_ok)
    c_lo, c_hi = clopper_pearson(n_cov, n_ok)
    return {
        "odds_ratio": float(odds_ratio),
        "power": n_rej / n_ok if n_ok else math.nan,
        "power_lower": p_lo,
        "power_upper": p_hi,
        "coverage": n_cov / n_ok if n_ok else math.nan,
        "coverage_lower": c_lo,
        "coverage_upper": c_hi,
        "n_sims": len(failed),
        "n_fitted": n_ok,
        "n_failed": len(failed) - n_ok,
        "n_rejected": n_rej,
        "n_covered": n_cov,
        "n_not_converged": int((ok & ~converged).sum()),
        "mean_estimate": float(np.exp(logs.mean())) if logs.size else math.nan,
        "median_estimate": float(np.median(est[ok])) if n_ok else math.nan,
        "mean_events": float(np.mean(np.concatenate([c.events for c in chunks]))),
        "failures": "; ".join(f"{r} ({k})" for r, k in reasons.most_common()) or None,
    }


def min_detectable_effect(
    odds_ratios: Sequence[float], power: Sequence[float], target: float = TARGET_POWER
) -> float | None:
    """Smallest odds ratio (>= 1) at which a simulated power curve reaches ``target``.

    The curve is read upwards from the smallest odds ratio >= 1; at the first point with
    power >= ``target`` the odds ratio is interpolated linearly in ``log(OR)`` between it
    and the previous point: ``OR = exp(l0 + (target - p0) (l1 - l0) / (p1 - p0))``. None
    when power stays below ``target`` (the MDE is beyond the largest odds ratio simulated);
    the first odds ratio itself when it already reaches ``target``. NaN powers are skipped.

    Examples
    --------
    >>> round(min_detectable_effect([1.0, 2.0, 4.0], [0.05, 0.6, 0.9]), 4)
    3.1748
    >>> min_detectable_effect([1.0, 1.5], [0.05, 0.3]) is None
    True
    """
    pts = sorted(
        (o, p) for o, p in zip(odds_ratios, power, strict=True) if o >= 1 and not math.isnan(p)
    )
    for i, (o, p) in enumerate(pts):
        if p >= target:
            if i == 0:
                return float(o)
            o0, p0 = pts[i - 1]
            l0, l1 = math.log(o0), math.log(o)
            return float(math.exp(l0 + (target - p0) * (l1 - l0) / (p - p0)))
    return None


# --------------------------------------------------------------------------- public


@dataclass(frozen=True)
class PowerResult:
    """Simulated power and coverage of one specification (:func:`simulate_power`).

    Attributes
    ----------
    table : one row per odds ratio (``effect_power.csv``; contract
        :data:`~ics_model.effects.contracts.EFFECT_POWER`).
    min_detectable_effect : odds ratio per SD with 80% (``target_power``) simulated
        power, or None when not reached by the largest odds ratio simulated.
    target_power, confidence : the power the MDE is read at; the interval's level (tests
        at ``1 - confidence``).
    model : the model fitted to every simulated data set.
    n, n_clusters, n_events : providers, ICSs and real events of the design.
    icc_observed : residual ANOVA ICC of the real outcome given the controls.
    intercept_sd : SD of the simulated random ICS intercept (logit scale; 0 = none).
    scale : the scale the odds ratio is planted on (``marginal`` / ``conditional``).
    coverage_by : ``interval`` or ``test`` (:func:`simulate_power`).
    null_converged : whether the null model's fit converged.
    seed, seed_entropy : the seed given (None: fresh) and the entropy that replays it.
    n_sims, chunk_size : simulations per odds ratio and per task.
    method : the simulation design in words.
    """

    table: pl.DataFrame
    min_detectable_effect: float | None
    target_power: float
    confidence: float
    model: str
    n: int
    n_clusters: int
    n_events: int
    icc_observed: float
    intercept_sd: float
    scale: str
    coverage_by: str
    null_converged: bool
    seed: int | None
    seed_entropy: int
    n_sims: int
    chunk_size: int
    method: str = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain values of everything but the table (e.g. for a JSON summary)."""
        return {k: v for k, v in vars(self).items() if k != "table"}

    def summary(self) -> str:
        """Human-readable power curve, MDE and method."""
        mde = self.min_detectable_effect
        largest = self.table["odds_ratio"].max()
        said = f"{mde:.2f}" if mde is not None else f"above {largest:g} (not reached)"
        lines = [
            f"Simulated power ({self.model}, {self.n_sims} simulations per odds ratio; "
            f"{self.n} providers, {self.n_clusters} ICSs, {self.n_events} events)",
            *(
                f"  OR {r['odds_ratio']:.2f}: power {r['power']:.3f}, coverage "
                f"{r['coverage']:.3f}, failed {r['n_failed']}"
                for r in self.table.iter_rows(named=True)
            ),
            f"  minimum detectable odds ratio per SD ({self.target_power:.0%} power): {said}",
            f"  method: {self.method}",
        ]
        return "\n".join(lines)


def simulate_power(
    design: Design,
    *,
    odds_ratios: Sequence[float] = DEFAULT_ODDS_RATIOS,
    n_sims: int = 200,
    model: str = "glm_cluster",
    fit: Fitter = score_bootstrap_fit,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    executor: cf.Executor | None = None,
    confidence: float = 0.95,
    target_power: float = TARGET_POWER,
    icc: float | Literal["observed"] | None = "observed",
    scale: Scale = "marginal",
    coverage_by: CoverageBy = "interval",
    chunk_size: int = 25,
    progress: Progress | None = None,
) -> PowerResult:
    """Power, interval coverage and minimum detectable effect by simulation on a real design.

    The simulation design is in the module docstring: outcomes from the fitted null model
    plus a planted odds ratio per SD of the standardised exposure, with a random ICS
    intercept matching the observed clustering, on the real providers, ICSs, controls and
    exposure values; every simulated outcome is fitted with ``fit``.

    Parameters
    ----------
    design : the real design (:func:`~ics_model.effects.design.build_design`): its
        outcome is used only to fit the null model.
    odds_ratios : odds ratios per SD to plant (> 0).
    n_sims : simulations per odds ratio.
    model : passed to ``fit`` as its first argument (a key of the models registry).
    fit : ``fit(model, y, x, z, clusters, *, confidence, rng)`` -> an object with
        ``estimate``, ``ci_lower``, ``ci_upper`` (odds ratios), ``p_value`` (or None) and
        ``converged``; must be picklable for a process pool (a module-level function).
        Default: the wild cluster restricted score bootstrap
        (:func:`~ics_model.effects.score_fit.score_bootstrap_fit`).
    seed : seeds everything; None draws fresh entropy (reported as ``seed_entropy``).
    rng : alternatively, a generator from which the seed is drawn (ignored with ``seed``).
    executor : any :class:`concurrent.futures.Executor`; chunks are independent tasks.
        None runs them in this process. Results are identical whichever is used.
    confidence : level of the intervals whose coverage is measured; tests at
        ``1 - confidence``.
    target_power : the power at which the minimum detectable effect is read.
    icc : the residual ICC the simulated outcomes should have: ``"observed"`` (default),
        a number, or None for no random ICS intercept.
    scale : ``marginal`` (default: the population-averaged odds ratio, the estimand of
        a GLM or GEE) or ``conditional`` (the ICS-specific odds ratio of a
        random-intercept model).
    coverage_by : ``interval`` (default): the fit's interval, covered when
        ``ci_lower <= OR <= ci_upper``; ``test``: the interval is not computed and a
        simulation counts as covered when the fit's test of the planted value is not
        rejected (``fit(..., null=log(OR), interval=False).p_value > 1 - confidence``),
        the same decision for an interval obtained by test inversion (as the score
        bootstrap's is) at a fraction of the cost; needs a fitter taking ``null`` and
        ``interval`` (:func:`~ics_model.effects.score_fit.score_bootstrap_fit` does).
    chunk_size : simulations per task.
    progress : optional ``progress(done, total)``, called as chunks finish.

    Returns
    -------
    PowerResult

    Raises
    ------
    ValueError
        ``n_sims`` or ``chunk_size`` < 1, an odds ratio <= 0, ``confidence`` or
        ``target_power`` outside (0, 1), an ICC that cannot be matched.
    """
    ors = tuple(float(o) for o in odds_ratios)
    if not ors or any(not (o > 0 and math.isfinite(o)) for o in ors):
        raise ValueError(f"odds_ratios must be finite and > 0, got {list(odds_ratios)}")
    if n_sims < 1 or chunk_size < 1:
        raise ValueError(f"n_sims and chunk_size must be >= 1, got {n_sims} and {chunk_size}")
    if coverage_by not in ("interval", "test"):
        raise ValueError(f"coverage_by must be 'interval' or 'test', got {coverage_by!r}")
    for name, v in (("confidence", confidence), ("target_power", target_power)):
        if not 0 < v < 1:
            raise ValueError(f"{name} must be in (0, 1), got {v}")
    if seed is None and rng is not None:
        seed = int(rng.integers(2**63))
    entropy = int(np.random.SeedSequence(seed).entropy)
    null = null_model(design)
    planted = planted_design(design, null, icc=icc, scale=scale)
    ctx = _Context(
        planted=planted,
        etas=tuple(planted.eta(math.log(o)) for o in ors),
        odds_ratios=ors,
        model=model,
        fit=fit,
        confidence=confidence,
        coverage_by=coverage_by,
    )
    log.info(
        "simulate_power: %d odds ratios x %d simulations, %d providers, %d ICSs, sigma %.3f",
        len(ors),
        n_sims,
        len(design.y),
        design.n_clusters,
        planted.sigma,
    )
    chunks = _run(ctx, entropy, n_sims, chunk_size, executor, progress)
    rows = [_row(o, c) for o, c in zip(ors, chunks, strict=True)]
    table = pl.DataFrame(rows, schema=_SCHEMA).with_columns(pl.col(pl.Float64).fill_nan(None))
    power = table["power"].fill_null(math.nan).to_list()
    mde = min_detectable_effect(table["odds_ratio"].to_list(), power, target_power)
    n_failed = int(table["n_failed"].sum())
    if n_failed:
        log.warning("simulate_power: %d fits failed (see the failures column)", n_failed)
    return PowerResult(
        table=table,
        min_detectable_effect=mde,
        target_power=target_power,
        confidence=confidence,
        model=model,
        n=len(design.y),
        n_clusters=design.n_clusters,
        n_events=null.n_events,
        icc_observed=null.icc_observed,
        intercept_sd=planted.sigma,
        scale=scale,
        coverage_by=coverage_by,
        null_converged=null.converged,
        seed=seed,
        seed_entropy=entropy,
        n_sims=n_sims,
        chunk_size=chunk_size,
        method=_method(model, planted, null.icc_observed, n_sims, confidence, coverage_by),
    )


def _method(
    model: str,
    planted: PlantedDesign,
    icc: float,
    n_sims: int,
    confidence: float,
    coverage_by: str,
) -> str:
    inverted = (
        " (by test inversion: the planted value not rejected)" if coverage_by == "test" else ""
    )
    clustering = (
        f"a normal random ICS intercept (SD {planted.sigma:.3f} on the logit scale) matching "
        f"the observed residual intra-cluster correlation {icc:.4f}"
        if planted.sigma > 0
        else "no random ICS intercept (outcomes independent given the controls)"
    )
    return (
        f"Simulation on the real design: outcomes from the fitted null logistic model "
        f"(intercept and controls) plus a planted {planted.scale} log odds ratio per SD of the "
        f"standardised exposure, with {clustering}; real ICSs, controls, sample sizes and "
        f"exposure values; {n_sims} simulations per odds ratio, each fitted with {model}; "
        f"power = share rejecting OR = 1 at {1 - confidence:.0%}, coverage = share of "
        f"{confidence:.0%} intervals containing the planted odds ratio{inverted}; the minimum "
        "detectable effect is interpolated (log scale) on the simulated curve (Arnold et al. 2011; "
        "Landau & Stahl 2013)."
    )


_SCHEMA: Final = {
    "odds_ratio": pl.Float64,
    "power": pl.Float64,
    "power_lower": pl.Float64,
    "power_upper": pl.Float64,
    "coverage": pl.Float64,
    "coverage_lower": pl.Float64,
    "coverage_upper": pl.Float64,
    "n_sims": pl.Int64,
    "n_fitted": pl.Int64,
    "n_failed": pl.Int64,
    "n_rejected": pl.Int64,
    "n_covered": pl.Int64,
    "n_not_converged": pl.Int64,
    "mean_estimate": pl.Float64,
    "median_estimate": pl.Float64,
    "mean_events": pl.Float64,
    "failures": pl.String,
}

__all__ = [
    "DEFAULT_ODDS_RATIOS",
    "FIT_ERRORS",
    "TARGET_POWER",
    "FitResult",
    "PowerResult",
    "clopper_pearson",
    "min_detectable_effect",
    "simulate_power",
]
