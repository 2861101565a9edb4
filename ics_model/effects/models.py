"""Models of the collaboration association, chosen by name: :data:`MODELS`, :func:`fit_model`.

Every model relates an outcome of provider ``i`` in ICS ``g`` to a standardised exposure
``x`` (mean 0, SD 1) and controls ``z``, and reports the **odds ratio per SD** of the
exposure with an interval, a p-value of "no association" and the counts behind them
(:class:`ModelFit`). All are associations, not causal effects.

``glm_cluster``
    Logistic regression ``logit P(y_i = 1) = a + beta x_i + gamma' z_i`` (statsmodels
    ``GLM``, Binomial); the p-value and interval (test inversion) from the wild cluster
    restricted score bootstrap with Webb weights and leave-one-cluster-out (CV3) scores of
    :mod:`ics_model.effects.score_test` (Kline & Santos 2012; Roodman et al. 2019;
    MacKinnon, Nielsen & Webb 2023), which holds its level with few clusters.
    ``beta`` is population-averaged.
``gee_exchangeable``
    Generalised estimating equations (Liang & Zeger 1986; statsmodels ``GEE``): the same
    marginal logistic model, with an exchangeable working correlation ``rho`` between
    providers of one ICS; Wald interval on the normal reference with the bias-reduced
    robust covariance of Mancl & DeRouen (2001), statsmodels ``cov_type="bias_reduced"``:
    ``V = B^-1 (sum_g D_g' V_g^-1 (I - H_g)^-1 r_g r_g' (I - H_g')^-1 V_g^-1 D_g) B^-1``,
    ``H_g = D_g B^-1 D_g' V_g^-1``, ``B = sum_g D_g' V_g^-1 D_g``, which removes the
    downward bias of the ordinary sandwich with few clusters.
``ordinal_logit``
    Proportional-odds model (McCullagh 1980; statsmodels ``OrderedModel``, logit, with its
    analytic score: :class:`~ics_model.effects.ordinal.OrderedLogit`):
    ``logit P(y_i >= c_k) = beta x_i + gamma' z_i - theta_k``; ``exp(beta)`` is the
    cumulative odds ratio of a **better** rating (any cut) per SD. Leave-one-cluster-out
    (CV3) covariance by ICS (:func:`~ics_model.effects.ordinal.cv3_covariance`; CR1
    rejected a true null in 10% of simulations on the real GP design, CV3 in 5-6%), Wald
    interval on ``t(G - 1)`` (Cameron & Miller 2015). The
    proportional-odds assumption is checked against the ``K - 1`` cumulative binary
    logits by a cluster-robust Brant (1990) test (:mod:`ics_model.effects.ordinal`); when
    it rejects at 5% the note says so and ``cumulative`` holds the alternative (one odds
    ratio per cut). A binary outcome (``ordinal=False``) is the two-category case: a
    logistic regression with a CV3 interval.
``mixed_logit``
    Random ICS intercept ``logit P(y_i = 1 | u_g) = a + beta x_i + gamma' z_i + u_g``,
    ``u_g ~ N(0, sigma^2)`` (Breslow & Clayton 1993), maximum likelihood by adaptive
    Gauss-Hermite quadrature (:mod:`ics_model.effects.glmm`, which also says why the
    variational Bayes fit of statsmodels' ``BinomialBayesMixedGLM`` is not used: it
    understated the interval of an ICS-level exposure); model-based Wald interval.
    ``beta`` is **cluster-specific**, larger in magnitude than the population-averaged
    odds ratio of the other models by about ``sqrt(1 + 0.346 sigma^2)`` (Zeger, Liang &
    Albert 1988).

Within and between ICSs (``x_between``): with the ICS mean ``x_between`` of a
provider-level exposure, the model has ``w_i = x_i - mean_{j in g}(x_j)`` (the deviation
from the ICS mean of the analysed providers, in SDs of ``x``) and ``x_between`` in place
of ``x`` (the "within-between" or hybrid form of Mundlak 1978; Bell & Jones 2015):
``estimate`` is the within-ICS odds ratio per SD of ``x``, ``between`` the between-ICS
odds ratio per SD of ``x_between``. The within part is free of everything constant
within an ICS (its geography, history and ICS-level collaboration).

References
----------
Liang & Zeger (1986) Biometrika 73:13-22. Mancl & DeRouen (2001) Biometrics 57:126-134.
McCullagh (1980) JRSS B 42:109-142. Brant (1990) Biometrics 46:1171-1178. Breslow &
Clayton (1993) JASA 88:9-25. Kline & Santos (2012) J Econometric Methods 1:23-41.
Roodman, MacKinnon, Nielsen & Webb (2019) Stata Journal 19:4-60. Cameron & Miller (2015)
J Human Resources 50:317-372. Zeger, Liang & Albert (1988) Biometrics 44:1049-1060.
Mundlak (1978) Econometrica 46:69-85. Bell & Jones (2015) Political Science Research and
Methods 3:133-153. Seabold & Perktold (2010) statsmodels, Proc. 9th Python in Science
Conference.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
from threadpoolctl import threadpool_limits

from ics_model.effects.design import Design
from ics_model.effects.glmm import fit_random_intercept_logit
from ics_model.effects.ordinal import (
    CumulativeFit,
    ProportionalOddsCheck,
    cv3_covariance,
    proportional_odds_check,
    wald,
)
from ics_model.effects.score_test import WEBB_WEIGHTS, wild_score_inference
from ics_model.effects.separation import separated

# statsmodels is imported where it is used, so that loading a ModelFit does not load it

log = logging.getLogger(__name__)

#: the models :func:`fit_model` fits, by name.
MODELS: Final[tuple[str, ...]] = ("glm_cluster", "gee_exchangeable", "ordinal_logit", "mixed_logit")
#: the models that take an ordinal outcome (``ordinal=True``).
ORDINAL_MODELS: Final[tuple[str, ...]] = ("ordinal_logit",)
#: wild bootstrap draws of ``glm_cluster`` unless told otherwise.
DEFAULT_DRAWS: Final = 999
_SEP: Final = 10.0  # |log odds ratio| per SD taken as diverging (quasi-separation)
_FAIL: Final = (np.linalg.LinAlgError, ValueError, FloatingPointError, OverflowError)


@dataclass(frozen=True)
class ModelFit:
    """One model's association of an exposure with an outcome (:func:`fit_model`).

    Attributes
    ----------
    model : a key of :data:`MODELS`.
    estimate : odds ratio per SD of the exposure (ordinal: cumulative odds ratio of a
        better rating); with ``x_between``, the within-ICS odds ratio.
    ci_lower, ci_upper : the interval at ``confidence`` (``0``/``inf`` when unbounded;
        ``nan`` when the fit failed); its kind is in ``interval``.
    p_value : two-sided p-value of no association (``None`` when none is defined).
    n : providers in the fit. n_clusters : ICSs in the fit.
    n_events : binary, providers with ``y == 1``; ordinal, providers in the top category
        (both among the providers in the fit).
    converged : the fit converged and no coefficient of the exposure diverged.
    note : what a reader must know (covariance used, proportional odds rejected,
        non-convergence, separation...).
    between : between-ICS odds ratio per SD of ``x_between`` (when split), with its
        ``between_ci_lower``/``between_ci_upper``/``between_p_value``.
    interval : how the interval was obtained.
    n_set_aside : providers set aside because the controls predict their (binary)
        outcome perfectly (quasi-separation; :mod:`ics_model.effects.separation`).
    po_p_value : p-value of the proportional-odds check (ordinal, 3+ categories).
    cumulative : the cumulative binary logits, one per cut (ordinal, 3+ categories).
    """

    model: str
    estimate: float
    ci_lower: float
    ci_upper: float
    p_value: float | None
    n: int
    n_clusters: int
    n_events: int
    converged: bool
    note: str | None = None
    between: float | None = None
    between_ci_lower: float | None = None
    between_ci_upper: float | None = None
    between_p_value: float | None = None
    interval: str = ""
    n_set_aside: int = 0
    po_p_value: float | None = None
    cumulative: tuple[CumulativeFit, ...] = ()


@dataclass(frozen=True)
class _Data:
    """Checked inputs: outcome, exposure columns ``E`` (``x`` or ``w, x_between``), ``Z``."""

    y: np.ndarray
    E: np.ndarray
    Z: np.ndarray  # intercept + controls
    g: np.ndarray
    n_clusters: int
    n_events: int
    ordinal: bool
    n_set_aside: int = 0
    problem: str | None = None  # why no finite estimate exists, when none does


def _array(name: str, v: np.ndarray, n: int | None) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if a.ndim != 1 or (n is not None and len(a) != n):
        raise ValueError(f"{name} must be 1-dimensional with {n} values, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds NaN or infinite values ({int(np.sum(~np.isfinite(a)))})")
    return a


def _check(
    model: str,
    y: np.ndarray,
    x: np.ndarray,
    z: np.ndarray,
    clusters: np.ndarray,
    ordinal: bool,
    x_between: np.ndarray | None,
    confidence: float,
) -> _Data:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: allowed {', '.join(MODELS)}")
    if ordinal and model not in ORDINAL_MODELS:
        raise ValueError(
            f"model {model!r} takes a binary outcome; for ordinal=True use {ORDINAL_MODELS}"
        )
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    yv = _array("y", y, None)
    n = len(yv)
    xv = _array("x", x, n)
    zv = np.asarray(z, dtype=float).reshape(n, -1) if np.size(z) else np.zeros((n, 0))
    if not np.all(np.isfinite(zv)):
        raise ValueError(f"z holds NaN or infinite values ({int(np.sum(~np.isfinite(zv)))})")
    codes = np.unique(yv)
    if ordinal:
        if not np.all(codes == np.round(codes)) or codes[0] < 0:
            raise ValueError(f"ordinal y must hold codes 0..K-1, got values {codes[:10]}")
    elif not set(codes.tolist()) <= {0.0, 1.0}:
        raise ValueError(f"y must be binary 0/1 when ordinal=False, got values {codes[:10]}")
    if len(codes) < 2:
        raise ValueError(f"no variation in y: every provider has y = {codes[0]:g}")
    cl = np.asarray(clusters)
    if cl.shape != (n,):
        raise ValueError(f"clusters must have {n} values, got shape {cl.shape}")
    _, g = np.unique(cl, return_inverse=True)
    G = int(g.max()) + 1
    if G < 2:
        raise ValueError(f"need at least 2 clusters (ICSs), got {G}")
    if not np.std(xv) > 0:
        raise ValueError("no variation in x: the exposure is constant")
    if x_between is None:
        E = xv[:, None]
    else:
        xb = _array("x_between", x_between, n)
        means = np.bincount(g, weights=xb) / np.bincount(g)
        if not np.allclose(xb, means[g], rtol=0, atol=1e-9 * max(1.0, float(np.abs(xb).max()))):
            raise ValueError("x_between must be constant within each cluster (an ICS mean)")
        if not np.std(xb) > 0:
            raise ValueError("no variation in x_between across clusters")
        w = xv - (np.bincount(g, weights=xv) / np.bincount(g))[g]
        if not np.std(w) > 1e-12:
            raise ValueError(
                "x does not vary within clusters: a within/between split needs a "
                "provider-level exposure"
            )
        E = np.column_stack([w, xb])
    Z = np.column_stack([np.ones(n), zv])
    if np.linalg.matrix_rank(np.column_stack([E, Z])) < E.shape[1] + Z.shape[1]:
        raise ValueError("the exposure(s) and controls are collinear (or a control is constant)")
    if ordinal and len(codes) > 2:
        return _Data(yv, E, Z, g, G, int(np.sum(yv == codes[-1])), ordinal)
    return _without_separation(yv == codes[-1], E, Z, g, ordinal)


def _without_separation(
    y: np.ndarray, E: np.ndarray, Z: np.ndarray, g: np.ndarray, ordinal: bool
) -> _Data:
    """Set aside the providers the design predicts perfectly (:mod:`.separation`)."""
    y = y.astype(float)
    sep = separated(y, E, Z)
    keep = sep.keep
    _, g_kept = np.unique(g[keep], return_inverse=True)
    G = int(g_kept.max()) + 1 if keep.any() else 0
    d = _Data(
        y[keep], E[keep], Z[keep][:, list(sep.z_columns)], g_kept, G, int(y[keep].sum()),
        ordinal, sep.n_set_aside,
    )  # fmt: skip
    if sep.exposure_separated:
        return replace(d, problem="the exposure separates the outcome (perfect prediction)")
    if G < 2 or np.ptp(d.y) == 0 or np.any(np.ptp(d.E, axis=0) == 0):
        return replace(
            d, problem="nothing left to estimate from once perfect predictions are set aside"
        )
    return d


class _Caught:
    """Warnings raised while fitting, kept for the note (never printed, never raised)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.failed = False

    def __call__(self, fn: Callable[[], object]) -> object:
        from statsmodels.tools.sm_exceptions import (
            ConvergenceWarning,
            HessianInversionWarning,
            IterationLimitWarning,
            PerfectSeparationWarning,
        )

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = fn()
        for w in caught:
            fatal = (
                ConvergenceWarning,
                HessianInversionWarning,
                IterationLimitWarning,
                PerfectSeparationWarning,
            )
            self.failed |= issubclass(w.category, fatal)
            text = f"{w.category.__name__}: {str(w.message).strip().splitlines()[0]}"
            if text not in self.messages:
                self.messages.append(text)
        return out


def _join(*parts: str | None) -> str | None:
    kept = [p for p in parts if p]
    return " ".join(kept) or None


def _fit(
    d: _Data, model: str, confidence: float, rng: np.random.Generator | None, draws: int
) -> ModelFit:
    caught = _Caught()
    fitters = {
        "glm_cluster": lambda: _glm_cluster(d, confidence, rng, draws, caught),
        "gee_exchangeable": lambda: _gee(d, confidence, caught),
        "ordinal_logit": lambda: _ordinal(d, confidence, caught),
        "mixed_logit": lambda: _mixed(d, confidence, caught),
    }
    base = ModelFit(
        model, math.nan, math.nan, math.nan, None, len(d.y), d.n_clusters, d.n_events, False,
        n_set_aside=d.n_set_aside,
    )  # fmt: skip
    aside = (
        f"Quasi-separation: {d.n_set_aside} providers whose outcome the controls predict "
        "perfectly (e.g. a control level without events) are set aside, with the controls "
        "constant among the rest, as Stata's logit does (Konis 2007 linear program)."
        if d.n_set_aside
        else None
    )
    if d.problem is not None:
        return replace(base, note=_join(f"No finite estimate: {d.problem}.", aside))
    try:
        fit = fitters[model]()
    except _FAIL as exc:  # a numerical failure is reported, not raised
        log.warning("fit_model %s failed: %s", model, exc)
        return replace(base, note=f"The fit failed ({type(exc).__name__}: {exc}); no estimate.")
    fit = replace(
        fit, model=model, n=len(d.y), n_clusters=d.n_clusters, n_events=d.n_events,
        n_set_aside=d.n_set_aside, note=_join(aside, fit.note),
    )  # fmt: skip
    b = [math.log(v) for v in (fit.estimate, fit.between or 1.0) if 0 < v < math.inf]
    diverging = len(b) < 2 or any(abs(v) > _SEP for v in b)
    warned = "; ".join(caught.messages) or None
    if diverging or caught.failed or not fit.converged:
        why = (
            "no finite estimate of the exposure's odds ratio"
            if any(not 0 < v < math.inf for v in (fit.estimate, fit.between or 1.0))
            else "diverging exposure coefficient"
            if diverging
            else None
        )
        fit = replace(
            fit,
            converged=False,
            note=_join(
                f"Not converged: {'; '.join(p for p in (why, warned) if p) or 'see the fit'}; "
                "the estimate is unreliable.",
                fit.note,
            ),
        )
    elif warned:
        fit = replace(fit, note=_join(fit.note, f"Warnings while fitting: {warned}."))
    return fit


def fit_model(
    model: str,
    y: np.ndarray,
    x: np.ndarray,
    z: np.ndarray,
    clusters: np.ndarray,
    *,
    ordinal: bool = False,
    x_between: np.ndarray | None = None,
    confidence: float = 0.95,
    rng: np.random.Generator | None = None,
    draws: int = DEFAULT_DRAWS,
) -> ModelFit:
    """Fit one model of :data:`MODELS` and return the exposure's odds ratio per SD.

    Parameters
    ----------
    model : a key of :data:`MODELS` (formulas and references in the module docstring).
    y : binary 0/1, or ordinal codes ``0..K-1`` ascending = better (``ordinal=True``,
        models of :data:`ORDINAL_MODELS` only).
    x : the exposure, standardised (mean 0, SD 1).
    z : controls, ``n x k`` (no intercept column; ``k`` may be 0).
    clusters : ICS codes (any integers or labels; ``G >= 2`` distinct).
    ordinal : ``y`` is ordinal.
    x_between : the ICS mean of a provider-level exposure (standardised, constant within
        each ICS): the within/between split of the module docstring.
    confidence : level of the interval.
    rng : draws the wild bootstrap weights of ``glm_cluster`` (pass one for reproducible
        results; ``None`` takes fresh entropy). The other models use no randomness.
    draws : wild bootstrap draws of ``glm_cluster`` (at least 99).

    Returns
    -------
    ModelFit
        A fit that did not converge has ``converged=False`` and says why in ``note``; a
        numerical failure gives ``nan`` estimates with the reason in ``note``.

    Raises
    ------
    ValueError
        Unknown model, ordinal outcome for a binary model, ``y`` not 0/1, NaN inputs,
        fewer than 2 clusters, no variation in ``x`` or ``y``, ``x_between`` not constant
        within clusters, collinear exposure and controls, fewer than 99 draws.

    Examples
    --------
    >>> y = np.array([1, 1, 0, 1, 0, 0, 0, 0] * 10, dtype=float)
    >>> x = np.array([1, 1, 1, -1, -1, -1, 1, -1] * 10, dtype=float)
    >>> g = np.arange(80) % 10
    >>> rng = np.random.default_rng(1)
    >>> fit = fit_model("glm_cluster", y, x, np.zeros((80, 0)), g, rng=rng, draws=199)
    >>> round(fit.estimate**2, 6)  # x = +-1: the 2x2 odds ratio (20 x 30) / (20 x 10)
    3.0
    >>> fit.n, fit.n_clusters, fit.n_events, fit.converged
    (80, 10, 30, True)
    """
    if draws < 99:
        raise ValueError(f"draws must be at least 99, got {draws}")
    d = _check(model, y, x, z, clusters, ordinal, x_between, confidence)
    with threadpool_limits(limits=1, user_api="blas"):  # small problems: threads only contend
        return _fit(d, model, confidence, rng, draws)


# ----------------------------------------------------------------------------- the models


def _between(fit: ModelFit, b: np.ndarray, lo_hi_p: tuple[float, float, float] | None) -> ModelFit:
    """Add the between-ICS odds ratio ``exp(b[1])`` and its interval, when split."""
    if lo_hi_p is None:
        return fit
    lo, hi, p = lo_hi_p
    return replace(
        fit, between=_exp(b[1]), between_ci_lower=lo, between_ci_upper=hi, between_p_value=p
    )


def _glm_cluster(
    d: _Data, confidence: float, rng: np.random.Generator | None, draws: int, caught: _Caught
) -> ModelFit:
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM

    X = np.column_stack([d.E, d.Z])
    q = d.E.shape[1]
    glm = GLM(d.y, X, family=Binomial())
    res = caught(
        lambda: glm.fit(atol=1e-11, rtol=1e-10, cov_type="cluster", cov_kwds={"groups": d.g})
    )
    b, se = caught(lambda: (np.asarray(res.params), np.asarray(res.bse)))
    rng = np.random.default_rng() if rng is None else rng
    weights = rng.choice(WEBB_WEIGHTS, size=(draws, d.n_clusters))
    out = []
    for j in range(q):  # the within (or only) exposure, then the between part
        others = np.column_stack([d.Z, np.delete(d.E, j, axis=1)])
        design = Design(d.y, d.E[:, j], others, d.g, d.n_clusters, None, 0.0, 1.0, (), (), ())
        p, lo, hi = caught(
            lambda design=design, j=j: wild_score_inference(
                design, float(b[j]), weights, step=float(se[j]), alpha=1 - confidence, tol=1e-4
            )
        )
        out.append((_exp(lo), _exp(hi), p))
    fit = ModelFit(
        "glm_cluster",
        _exp(b[0]),
        out[0][0],
        out[0][1],
        out[0][2],
        0,
        0,
        0,
        bool(res.converged),
        interval=f"wild cluster restricted score bootstrap (CV3 scores, Webb weights, {draws} "
        "draws), test inversion",
    )
    return _between(fit, b, out[1] if q > 1 else None)


def _exp(v: float) -> float:
    return 0.0 if v == -math.inf else math.exp(v) if v < 700 else math.inf


def _gee(d: _Data, confidence: float, caught: _Caught) -> ModelFit:
    from statsmodels.genmod.cov_struct import Exchangeable
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_estimating_equations import GEE

    X = np.column_stack([d.E, d.Z])
    gee = GEE(d.y, X, groups=d.g, family=Binomial(), cov_struct=Exchangeable())
    res = caught(lambda: gee.fit(cov_type="bias_reduced", maxiter=100))
    cov_name = "bias-reduced (Mancl & DeRouen 2001)"
    if res is None or res.cov_robust_bc is None:  # statsmodels could not form it
        res = caught(lambda: gee.fit(cov_type="robust", maxiter=100))
        cov_name = "ordinary robust (the bias-reduced one could not be formed)"
    if res is None:
        raise np.linalg.LinAlgError("GEE: the covariance of the estimates is singular")
    b, se = caught(lambda: (np.asarray(res.params), np.asarray(res.bse)))
    rho = float(np.atleast_1d(gee.cov_struct.dep_params)[0])
    converged = bool(getattr(res, "converged", True)) and not caught.failed
    fit = ModelFit(
        "gee_exchangeable",
        _exp(b[0]),
        *wald(float(b[0]), float(se[0]), confidence),
        0,
        0,
        0,
        converged,
        note=f"GEE, exchangeable working correlation by ICS (rho = {rho:.3f}); {cov_name} "
        "robust covariance; population-averaged odds ratio.",
        interval=f"Wald, normal reference, {cov_name} robust SE",
    )
    return _between(
        fit, b, wald(float(b[1]), float(se[1]), confidence) if d.E.shape[1] > 1 else None
    )


def _ordinal(d: _Data, confidence: float, caught: _Caught) -> ModelFit:
    from ics_model.effects.ordinal import OrderedLogit  # defined on first use (statsmodels)

    exog = np.column_stack([d.E, d.Z[:, 1:]])  # OrderedModel has thresholds, no intercept
    om = OrderedLogit(d.y, exog, distr="logit")
    res = caught(
        lambda: om.fit(
            method="bfgs",
            maxiter=1000,
            gtol=1e-7,
            disp=False,
        )
    )
    b = caught(lambda: np.asarray(res.params))
    se = caught(lambda: np.sqrt(np.maximum(np.diag(cv3_covariance(om, b, d.g)), 0.0)))
    df = d.n_clusters - 1
    fit = ModelFit(
        "ordinal_logit",
        _exp(b[0]),
        *wald(float(b[0]), float(se[0]), confidence, df),
        0,
        0,
        0,
        bool(res.mle_retvals.get("converged", False)),
        interval="Wald, t(G - 1) reference, leave-one-cluster-out (CV3) SE by ICS",
    )
    q = d.E.shape[1]
    fit = _between(fit, b, wald(float(b[1]), float(se[1]), confidence, df) if q > 1 else None)
    if not d.ordinal or len(np.unique(d.y)) < 3:
        return fit
    check = caught(lambda: proportional_odds_check(d.y, d.E, d.Z, d.g, confidence))
    return replace(
        fit, po_p_value=check.p_value, cumulative=check.cuts, note=_po_note(check, q > 1)
    )


def _po_note(check: ProportionalOddsCheck, split: bool) -> str | None:
    what = "within-ICS " if split else ""
    cuts = "; ".join(
        f">= {c.cut}: {c.estimate:.3g} ({c.ci_lower:.3g}-{c.ci_upper:.3g})" for c in check.cuts
    )
    unreliable = "" if check.reliable else f" The check is unreliable: {check.reason}."
    if check.p_value >= 0.05:
        return f"Proportional-odds check unreliable: {check.reason}." if unreliable else None
    return (
        f"Proportional odds rejected (cluster-robust Brant test F = "
        f"{check.statistic / check.df:.2f} on {check.df} and G - 1 df, p = "
        f"{check.p_value:.3g}): the {what}odds ratio differs by cut; report the cumulative "
        f"logits' odds ratios per SD of reaching each rating or better instead: {cuts}."
        f"{unreliable}"
    )


def _mixed(d: _Data, confidence: float, caught: _Caught) -> ModelFit:
    q = d.E.shape[1]
    X = np.column_stack([d.Z, d.E])  # intercept first
    res = caught(lambda: fit_random_intercept_logit(d.y, X, d.g, d.n_clusters))
    k = d.Z.shape[1]
    b = res.params[k:]
    se = np.sqrt(np.diag(res.cov)[k:])
    fit = ModelFit(
        "mixed_logit",
        _exp(b[0]),
        *wald(float(b[0]), float(se[0]), confidence),
        0,
        0,
        0,
        res.converged,
        note=_join(
            f"Random ICS intercept (SD {res.sigma:.3f} on the log-odds scale); "
            "cluster-specific odds ratio (larger than a population-averaged one).",
            None if res.converged else res.message,
        ),
        interval="Wald, normal reference, model-based SE (adaptive Gauss-Hermite ML)",
    )
    return _between(fit, b, wald(float(b[1]), float(se[1]), confidence) if q > 1 else None)
