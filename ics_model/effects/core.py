"""Estimate whether system collaboration is *associated* with Outstanding ratings.

PRIMER section 5, question (d). :func:`collaboration_effect` fits a logistic regression of
``rating == outcome`` on a standardised exposure (an ICS-level partnership metric such as
``self_containment``, or a provider-level column) plus controls, with uncertainty that
stays honest with about 42 clusters (ICSs) and a rare outcome. It estimates an
**association, not a causal effect**: the exposure is a modelled proxy (patient-flow
interdependence, not collaboration itself), measured later than most ratings.

Methods
-------
Model: ``logit P(y_i = 1) = beta x_i + gamma' z_i``, maximum likelihood by IRLS
(statsmodels ``GLM``, Binomial family; Seabold & Perktold 2010); ``x = (e - mean) / SD``
so ``exp(beta)`` is the odds ratio per SD of the exposure ``e`` and ``exp(beta / SD)``
per unit. The SD is taken across clusters for an ICS-level exposure (constant within
every cluster), across providers otherwise.

- **p-value and 95% CI: wild cluster restricted score bootstrap** (Kline & Santos 2012;
  Roodman et al. 2019, section 3.4) with Webb six-point weights and leave-one-cluster-out
  (CV3) scores (MacKinnon, Nielsen & Webb 2023): for a null value ``b0`` the model is
  refitted with offset ``b0 x``, giving ``p~`` and ``W = diag(p~(1 - p~))``; cluster
  efficient scores ``u_g = sum_{i in g} x~_i (y_i - p~_i)`` with ``x~ = x - Z (Z'WZ)^-1
  Z'W x`` and their jackknife versions ``u_g^J``; statistic ``t = sum_g u_g / sqrt(sum_g
  (u_g^J)^2)``; draws ``t*_b = sum_g v_bg u_g^J / sqrt(sum_g v_bg^2 (u_g^J)^2)``, ``v_bg``
  uniform on {+-sqrt(3/2), +-1, +-sqrt(1/2)}; ``p = (1 + #{|t*_b| >= |t|}) / (1 + B)``.
  No refits inside the bootstrap. The CI is the set of ``b0`` not rejected at 5% (test
  inversion, the same draws for every ``b0``; bounds are the first crossings on either
  side of the estimate, ``inf`` when none within 12 log-odds per SD). The formulas, and
  why the correction (the uncorrected test covered 92.4% on the real GP design), are in
  :mod:`~ics_model.effects.score_test`.
- **CR1** Wald SE, for reference only: ``V = G/(G-1) H^-1 (sum_g s_g s_g') H^-1`` at the
  MLE (``H = X'WX``, ``s_g`` cluster scores), normal reference as Stata's
  ``logit, vce(cluster)``; too narrow with few clusters (Cameron, Gelbach & Miller 2008).
- **Permutation test** (ICS-level exposures only): the null model (``beta = 0``) is fitted
  once; ``U = sum_g x_g r_g`` with ``r_g = sum_{i in g} (y_i - p0_i)`` is recomputed for
  ``P`` random permutations of the ICS exposure values across ICSs (no refits; the raw and
  efficient scores coincide because the nuisance scores vanish at the null MLE);
  ``p = (1 + #{|U_perm| >= |U|}) / (1 + P)``. ICS exposure values are treated as
  exchangeable under the null. A provider-level exposure has no permutation that keeps
  the clusters and tests the same null, so its ``p_value_permutation`` is ``None``.
- **Minimal detectable effect** (80% power, 5% two-sided, normal approximation at
  ``beta = 0``): ``MDE = exp((z_0.975 + z_0.8) sqrt(DEFF / (n p (1 - p) v)))`` per SD;
  ``p`` the prevalence, ``v`` the variance of the standardised exposure left after
  regressing it on the controls, ``DEFF = 1 + (m~ - 1) rho_y rho_x`` (Scott & Holt 1982)
  with ``m~ = sum_g m_g^2 / n`` (Kerry & Bland 2001) and ``rho`` the one-way ANOVA
  intra-cluster correlations of outcome and exposure (:func:`anova_icc`; ``rho_x = 1``
  for an ICS-level exposure).

References
----------
Kline & Santos (2012) J Econometric Methods 1:23-41. Roodman, MacKinnon, Nielsen & Webb
(2019) Stata Journal 19:4-60. Webb (2023) Canadian J Economics 56:839-858. MacKinnon,
Nielsen & Webb (2023) J Applied Econometrics 38:671-694. Cameron,
Gelbach & Miller (2008) Rev Econ Stat 90:414-427. Scott & Holt (1982) JASA 77:848-854.
Kerry & Bland (2001) Stat Med 20:377-390. Donner (1986) Int Stat Rev 54:67-82. Ridout,
Demetrio & Firth (1999) Biometrics 55:137-148. Peduzzi et al. (1996) J Clin Epidemiol
49:1373-1379. McCullagh & Nelder (1989) Generalized Linear Models, 2nd ed., Chapman &
Hall. Seabold & Perktold (2010) statsmodels, Proc. 9th Python in Science Conference.

Populations: :func:`gp_population` (GP practices rated after July 2022 by default),
:func:`trust_population` and :func:`default_population` (with dataset-specific caveats).
The analysis data set (design matrix, dropped rows) is built in
:mod:`~ics_model.effects.design`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Final, Literal

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from ics_model.effects.design import Design, build_design
from ics_model.effects.score_test import WEBB_WEIGHTS, ScoreTest

# statsmodels is imported where it is used (in _logit), so that loading an EffectResult
# (e.g. from a stored run) does not load it

log = logging.getLogger(__name__)

ALPHA: Final = 0.05
POWER: Final = 0.8
MIN_DRAWS: Final = 99
_SEP: Final = 10.0  # |coefficient| (standardised scale) taken as diverging
_NORMAL: Final = NormalDist()

STANDARD_CAVEATS: Final[tuple[str, ...]] = (
    "Observational association, not a causal effect: ICSs differ in geography, population, "
    "provider mix and history, and unmeasured differences can create or hide an association.",
    "Vintages differ: the exposure is measured at its own vintage (RTT flows: April 2026) "
    "while the ratings were published earlier, many before ICSs existed (July 2022), so the "
    "exposure cannot be shown to have preceded the rating.",
    "The exposure is a proxy: patient-flow interdependence (or another modelled system "
    "metric) is not collaboration itself; flows also reflect geography, tertiary centres "
    "and elective markets.",
    "Ratings may be inherited from a predecessor or be years old, and reflect inspections "
    "of the provider, not of its system.",
)


# ----------------------------------------------------------------------------- estimation


def _logit(
    X: np.ndarray, y: np.ndarray, offset: np.ndarray, start: np.ndarray, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Logistic MLE with an offset: statsmodels ``GLM`` (Binomial, logit link, IRLS).

    Maximises ``sum_i y_i eta_i - log(1 + e^eta_i)`` with ``eta = offset + X b`` by
    iteratively reweighted least squares (McCullagh & Nelder 1989, section 2.5) from
    ``start``; stops when ``|dev - dev_old| <= 1e-11 + 1e-10 |dev|`` (R ``glm``'s rule,
    which also ends a quasi-separated fit). Returns coefficients, fitted p and whether it
    converged. A perfect-separation warning is not raised: separation shows as diverging
    coefficients, which :func:`collaboration_effect` reports in its caveats.
    """
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    model = GLM(y, X, family=Binomial(), offset=offset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # exp overflow while diverging
        fit = model.fit(start_params=start, maxiter=max_iter, atol=1e-11, rtol=1e-10)
        p = np.asarray(fit.fittedvalues)  # computed lazily: inside the filter too
    return np.asarray(fit.params), p, bool(fit.converged)


def _cr1(d: Design, X: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """CR1 and model-based standard errors of the first coefficient at the MLE."""
    h_inv = np.linalg.pinv(X.T @ (X * (p * (1 - p))[:, None]))
    s = np.zeros((d.n_clusters, X.shape[1]))
    np.add.at(s, d.g, X * (d.y - p)[:, None])
    v = d.n_clusters / (d.n_clusters - 1) * h_inv @ (s.T @ s) @ h_inv
    return math.sqrt(max(v[0, 0], 0.0)), math.sqrt(max(h_inv[0, 0], 0.0))


def _permutation_p(
    d: Design, xc: np.ndarray, p0: np.ndarray, rng: np.random.Generator, n: int
) -> float:
    r = np.bincount(d.g, weights=d.y - p0, minlength=d.n_clusters)
    u = abs(float(xc @ r))
    perm = rng.permuted(np.tile(xc, (n, 1)), axis=1) @ r
    return float((1 + np.count_nonzero(np.abs(perm) >= u * (1 - 1e-10))) / (1 + n))


def anova_icc(values: np.ndarray, clusters: np.ndarray) -> float:
    """One-way ANOVA intra-cluster correlation, floored at 0.

    ``rho = (MSB - MSW) / (MSB + (m0 - 1) MSW)``, ``MSB = sum_g m_g (mean_g - mean)^2 /
    (G - 1)``, ``MSW = sum_i (v_i - mean_g(i))^2 / (n - G)``, ``m0 = (n - sum_g m_g^2 / n) /
    (G - 1)`` (Donner 1986; for binary data Ridout, Demetrio & Firth 1999). Values constant
    within clusters give 1; no within-cluster replication (``n == G``) or no variation, 0.
    """
    v = np.asarray(values, dtype=float)
    _, g = np.unique(np.asarray(clusters), return_inverse=True)
    m = np.bincount(g).astype(float)
    n, k = len(v), len(m)
    if k < 2 or n <= k:
        return 0.0
    means = np.bincount(g, weights=v) / m
    msb = float(np.sum(m * (means - v.mean()) ** 2)) / (k - 1)
    msw = float(np.sum((v - means[g]) ** 2)) / (n - k)
    denom = msb + ((n - float(np.sum(m**2)) / n) / (k - 1) - 1) * msw
    return max(0.0, (msb - msw) / denom) if denom > 0 else 0.0


def min_detectable_or(
    n: int,
    prevalence: float,
    design_effect: float = 1.0,
    exposure_variance: float = 1.0,
    *,
    alpha: float = ALPHA,
    power: float = POWER,
) -> float:
    """Odds ratio per SD detectable with ``power`` at two-sided level ``alpha``.

    ``exp((z_{1-alpha/2} + z_power) sqrt(DEFF / (n p (1 - p) v)))``: the normal
    approximation to the logistic Wald test at ``beta = 0``, ``v`` the variance of the
    standardised exposure after adjustment for controls (1 without controls).
    """
    if n <= 0 or not 0 < prevalence < 1 or design_effect <= 0 or exposure_variance <= 0:
        raise ValueError("need n > 0, 0 < prevalence < 1, design_effect > 0, variance > 0")
    z = _NORMAL.inv_cdf(1 - alpha / 2) + _NORMAL.inv_cdf(power)
    return math.exp(
        z * math.sqrt(design_effect / (n * prevalence * (1 - prevalence) * exposure_variance))
    )


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True)
class EffectResult:
    """Association of an exposure with an outcome rating (:func:`collaboration_effect`).

    ``estimate`` is the odds ratio per SD (= ``odds_ratio_per_sd``); ``ci_*`` are 95%
    bounds per SD (``inf`` when unbounded); ``se_cr1``/``se_model`` are on the log-odds
    per SD scale; ``exposure_sd`` is across clusters when ``exposure_level == "ics"``,
    across providers otherwise; ``n_dropped`` pairs each drop reason with its row count.
    """

    outcome: str
    exposure: str
    exposure_level: Literal["ics", "provider"]
    controls: tuple[str, ...]
    design_columns: tuple[str, ...]
    estimate: float
    odds_ratio_per_sd: float
    odds_ratio_per_unit: float
    log_odds_per_sd: float
    exposure_mean: float
    exposure_sd: float
    ci_lower: float
    ci_upper: float
    p_value_model: float
    p_value_permutation: float | None
    se_cr1: float
    se_model: float
    ci_cr1_lower: float
    ci_cr1_upper: float
    p_value_cr1: float
    n_providers: int
    n_clusters: int
    n_outcome: int
    n_clusters_with_outcome: int
    prevalence: float
    icc_outcome: float
    icc_exposure: float
    design_effect: float
    exposure_residual_variance: float
    min_detectable_effect: float
    n_dropped: tuple[tuple[str, int], ...]
    dropped_clusters: tuple[str, ...]
    converged: bool
    method: str
    caveats: tuple[str, ...]
    seed: int | None
    seed_entropy: int
    permutations: int
    bootstrap_draws: int

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values: ``n_dropped`` as ``{reason: count}``, tuples as lists."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items()}
        out["n_dropped"] = dict(self.n_dropped)
        return out

    def with_caveats(self, extra: Sequence[str]) -> EffectResult:
        """Return a copy with dataset-specific caveats appended (e.g. ``Population.caveats``)."""
        return dataclasses.replace(self, caveats=(*self.caveats, *extra))

    def summary(self) -> str:
        """Human-readable result, always with its method and caveats."""
        r = self
        perm = "n/a" if r.p_value_permutation is None else f"{r.p_value_permutation:.4f}"
        head = [
            f"Association of {r.exposure} with rating == {r.outcome!r}: {r.n_providers} "
            f"providers, {r.n_clusters} clusters, {r.n_outcome} {r.outcome}",
            f"  odds ratio per SD ({r.exposure_sd:.4g}) {r.odds_ratio_per_sd:.3f}, 95% CI "
            f"{r.ci_lower:.3f} to {r.ci_upper:.3f}; per unit {r.odds_ratio_per_unit:.4g}",
            f"  p = {r.p_value_model:.4f} (wild cluster score bootstrap), {perm} (permutation);"
            f" CR1 SE {r.se_cr1:.3f}, p = {r.p_value_cr1:.4f}",
            f"  minimal detectable odds ratio per SD (80% power) {r.min_detectable_effect:.3f};"
            f" design effect {r.design_effect:.2f}",
            f"  method: {r.method}",
            "  caveats:",
        ]
        return "\n".join(head + [f"  - {c}" for c in r.caveats])

    def __str__(self) -> str:
        """Return the text summary (:meth:`summary`)."""
        return self.summary()


# ----------------------------------------------------------------------------- main


_PERM_CAVEAT: Final = {
    False: "No permutation test: the exposure varies within clusters; only an ICS-level "
    "exposure can be permuted across ICSs.",
    True: "The permutation test treats ICS exposure values as exchangeable across ICSs under "
    "the null; it does not condition on how the controls differ between ICSs.",
}


def _few_clusters(n_clusters: int, k_out: int, cluster: str, outcome: str) -> str:
    thin = ", which has little to resample when events sit in so few clusters" if k_out < 10 else ""
    return (
        f"Few clusters: {n_clusters} {cluster} clusters, {k_out} with at least one {outcome} "
        "provider; CR1 Wald intervals are too narrow with few clusters, so the interval and "
        f"p-value come from the wild cluster score bootstrap{thin}."
    )


@threadpool_limits.wrap(limits=1, user_api="blas")  # small problems: threads only contend
def collaboration_effect(
    providers: pl.DataFrame,
    exposure: str | pl.DataFrame,
    *,
    outcome: str = "Outstanding",
    controls: Sequence[str] = (),
    cluster: str = "icb_code",
    permutations: int = 2000,
    seed: int | None = None,
) -> EffectResult:
    """Association of an exposure with providers' rating being ``outcome``.

    Logistic regression; p-value and 95% CI from the wild cluster restricted score
    bootstrap (Webb weights, leave-one-cluster-out scores); CR1 SE for reference;
    ICS-level permutation test; minimal detectable effect. Formulas and references are in
    the module docstring.

    Parameters
    ----------
    providers : one row per provider with ``rating`` (label or Enum), ``cluster`` and the
        controls. Not modified.
    exposure : a numeric column of ``providers``, or a frame of ``cluster`` and one
        numeric column (ICS-level, joined on ``cluster``; an ``ics_metrics`` slice with
        ``metric``/``value`` for one metric also works). An exposure constant within every
        cluster is ICS-level either way.
    outcome : the rating label coded 1; every other rating is 0.
    controls : numeric or boolean columns (entered standardised) or text, Categorical or
        Enum columns (dummies, first level dropped: Enum order, otherwise sorted).
    cluster : the clustering column (ICS).
    permutations : number of ICS-level permutations **and** of wild-bootstrap draws (>= 99).
    seed : seeds both; ``None`` draws fresh entropy, reported as ``seed_entropy``.

    Returns
    -------
    EffectResult
        Rows dropped for a missing cluster, null rating, missing exposure or a missing
        control are counted in ``n_dropped`` (each under its first reason), clusters lost
        for want of an exposure are in ``dropped_clusters``, and both are in ``caveats``.

    Raises
    ------
    ValueError
        Missing columns, non-numeric or constant exposure, outcome without variation,
        fewer than 3 clusters, collinear design, fewer than 99 draws.
    """
    if permutations < MIN_DRAWS:
        raise ValueError(f"permutations must be at least {MIN_DRAWS}, got {permutations}")
    controls = tuple(controls)
    d, name = build_design(providers, exposure, outcome, controls, cluster)
    n, G = len(d.y), d.n_clusters
    ss = np.random.SeedSequence(seed)
    boot_ss, perm_ss = ss.spawn(2)
    weights = np.random.default_rng(boot_ss).choice(WEBB_WEIGHTS, size=(permutations, G))

    X = np.column_stack([d.x, d.Z])
    start = np.zeros(X.shape[1])
    start[1] = math.log(d.y.mean() / (1 - d.y.mean()))
    coef, p_hat, converged = _logit(X, d.y, np.zeros(n), start)
    b = float(coef[0])
    se_cr1, se_model = _cr1(d, X, p_hat)
    test = ScoreTest(d, weights, "cv3", start=coef[1:] if np.all(np.isfinite(coef)) else None)
    p0 = test.fitted(0.0)
    p_model = test.p_value(0.0)
    lo, hi = test.interval(b, se_cr1)
    p_perm = None
    if d.x_cluster is not None:
        rng = np.random.default_rng(perm_ss)
        p_perm = _permutation_p(d, d.x_cluster, p0, rng, permutations)

    n_out = int(d.y.sum())
    prev = n_out / n
    icc_y, icc_x = anova_icc(d.y, d.g), anova_icc(d.x, d.g)
    deff = 1 + (float(np.sum(np.bincount(d.g) ** 2.0)) / n - 1) * icc_y * icc_x
    v_res = float(np.mean((d.x - d.Z @ np.linalg.lstsq(d.Z, d.x, rcond=None)[0]) ** 2))
    mde = min_detectable_or(n, prev, deff, v_res)
    k_out = int(np.count_nonzero(np.bincount(d.g, weights=d.y)))
    names = ("exposure", *d.columns[1:])  # every coefficient but the intercept
    diverging = [c for c, v in zip(names, np.delete(coef, 1), strict=True) if abs(v) > _SEP]
    caveats = [*STANDARD_CAVEATS, _few_clusters(G, k_out, cluster, outcome)]
    caveats.append(
        f"{'Rare outcome' if prev < 0.1 else 'Outcome'}: {n_out} of {n} providers "
        f"({prev:.1%}) are {outcome}; the minimal "
        f"detectable odds ratio per SD at 80% power is {mde:.2f}, so a non-significant "
        "result cannot rule out smaller associations."
    )
    if n_out < 10 * X.shape[1]:
        caveats.append(
            f"Only {n_out} {outcome} providers for {X.shape[1]} parameters (under 10 per "
            "parameter; Peduzzi et al. 1996): the estimate is unstable and biased away from 1."
        )
    if diverging or not converged:
        caveats.append(
            f"(Quasi-)separation or non-convergence (diverging: {', '.join(diverging)}); a "
            f"control level without {outcome} providers can cause it (merge levels); if the "
            "exposure diverges or the fit did not converge its odds ratio is unreliable."
        )
    if not (math.isfinite(lo) and math.isfinite(hi)):
        caveats.append("The 95% confidence interval is unbounded on at least one side.")
    if d.dropped:
        lost = ", ".join(d.dropped_clusters) or "none"
        rows = ", ".join(f"{c} {k}" for c, k in d.dropped)
        caveats.append(f"Rows dropped: {rows}; clusters without exposure: {lost}.")
    caveats.append(_PERM_CAVEAT[d.x_cluster is not None])
    perm = "" if d.x_cluster is None else "; permutation test of the ICS-level exposure"
    method = (
        "Association only, not causal: logistic regression (maximum likelihood, statsmodels "
        f"GLM) of rating == {outcome!r} on the standardised exposure, controls {list(controls)}; "
        "95% CI (test inversion) and p-value from the wild cluster restricted score bootstrap "
        f"(Kline & Santos 2012) with leave-one-cluster-out (CV3) scores, Webb weights, "
        f"{permutations} draws, clusters {cluster}; CR1 "
        f"cluster-robust Wald SE for reference{perm}."
    )
    z = _NORMAL.inv_cdf(1 - ALPHA / 2)
    result = EffectResult(
        outcome=outcome,
        exposure=name,
        exposure_level="provider" if d.x_cluster is None else "ics",
        controls=controls,
        design_columns=("exposure (per SD)", *d.columns),
        estimate=math.exp(b),
        odds_ratio_per_sd=math.exp(b),
        odds_ratio_per_unit=math.exp(b / d.sd),
        log_odds_per_sd=b,
        exposure_mean=d.mean,
        exposure_sd=d.sd,
        ci_lower=math.exp(lo),
        ci_upper=math.exp(hi),
        p_value_model=p_model,
        p_value_permutation=p_perm,
        se_cr1=se_cr1,
        se_model=se_model,
        ci_cr1_lower=math.exp(b - z * se_cr1),
        ci_cr1_upper=math.exp(b + z * se_cr1),
        p_value_cr1=2 * (1 - _NORMAL.cdf(abs(b) / se_cr1)) if se_cr1 > 0 else 1.0,
        n_providers=n,
        n_clusters=G,
        n_outcome=n_out,
        n_clusters_with_outcome=k_out,
        prevalence=prev,
        icc_outcome=icc_y,
        icc_exposure=icc_x,
        design_effect=deff,
        exposure_residual_variance=v_res,
        min_detectable_effect=mde,
        n_dropped=d.dropped,
        dropped_clusters=d.dropped_clusters,
        converged=converged,
        method=method,
        caveats=tuple(caveats),
        seed=seed,
        seed_entropy=int(ss.entropy),
        permutations=permutations,
        bootstrap_draws=permutations,
    )
    log.info("collaboration_effect %s: OR per SD %.3f, p = %.4f", name, result.estimate, p_model)
    return result
