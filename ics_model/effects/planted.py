r"""Outcomes with a planted effect on a real design: the data-generating model of the power study.

:func:`null_model` fits the null model to the real outcome -- a logistic regression of
``y`` on the intercept and controls only, ``logit p0_i = z_i' gamma`` (maximum likelihood,
the IRLS of :mod:`~ics_model.effects.core`) -- and measures how much the outcome clusters
in ICSs beyond what the controls explain: the one-way ANOVA intra-cluster correlation of
the residuals ``r_i = y_i - p0_i`` (:func:`~ics_model.effects.core.anova_icc`).

Simulated outcomes (:meth:`PlantedDesign.probabilities`) are Bernoulli with

.. math::

    \Pr(y_i = 1 \mid u_g) = \operatorname{expit}(\eta_i + u_{g(i)}), \qquad
    u_g \sim N(0, \sigma^2)

independently over ICSs ``g``: a random ICS intercept, so that the simulated data cluster
as much as the real ones. Without it (``sigma = 0``) providers would be independent given
the controls and an ICS-level exposure would look far more informative than it is (the
design effect of the real GP outcome is about 5).

``sigma`` is set by the method of moments: the expected ANOVA intra-cluster correlation
of ``y - p0`` under the model (:func:`expected_residual_icc`: expected within and between
mean squares, the between-cluster covariances ``Cov(pi_i(u), pi_j(u))`` by Gauss-Hermite
quadrature) equals the observed one (:func:`match_icc`; Brent's root finder).

``eta_i`` is chosen so that the effect planted is the one a **population-averaged**
(marginal) logistic model estimates -- the GLM with cluster-robust inference and GEE --
with ``scale="marginal"`` (default): for the planted log odds ratio ``b`` per SD of the
standardised exposure ``x``, ``eta_i`` solves

.. math::

    E_u[\operatorname{expit}(\eta_i + u)] = \operatorname{expit}(z_i'\gamma + b x_i)

(:func:`conditional_eta`; Newton's method on the log-concave left side, Gauss-Hermite
quadrature), so the marginal model is exactly the fitted null model plus ``b x`` and the
marginal odds ratio is exactly ``exp(b)``. With ``sigma = 0`` this is
``p_i = expit(z_i'gamma + b x_i)``. With ``scale="conditional"``, ``eta_i = eta0_i + b x_i``
with ``eta0`` solving the null equation: ``exp(b)`` is then the ICS-specific
(conditional) odds ratio a random-intercept model estimates; the marginal one is smaller,
about ``b / sqrt(1 + 0.346 sigma^2)`` (Zeger, Liang & Albert 1988).

References
----------
Zeger, Liang & Albert (1988) Biometrics 44:1049-1060 (marginal and cluster-specific
effects). Donner (1986) Int Stat Rev 54:67-82 (ANOVA ICC). Ridout, Demetrio & Firth (1999)
Biometrics 55:137-148 (ICC of binary data). Arnold, Hogan, Colford & Hubbard (2011) BMC
Med Res Methodol 11:94 (simulate from the fitted model on the real design).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from ics_model.effects.core import _logit, anova_icc
from ics_model.effects.design import Design, binary_arrays

# scipy is imported where it is used, so that importing this module (as loading a
# PowerResult does) does not load it

#: Gauss-Hermite nodes (probabilists') for expectations over the random intercept.
GH_NODES: Final = 40
#: largest random-intercept SD (logit scale) searched when matching an ICC.
MAX_SIGMA: Final = 5.0

Scale = Literal["marginal", "conditional"]
SCALES: Final[tuple[str, ...]] = ("marginal", "conditional")


def _gh(n_nodes: int = GH_NODES) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``t`` and log weights of ``E[f(T)], T ~ N(0, 1)`` (weights sum to 1)."""
    t, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    return t, np.log(w / w.sum())


def conditional_eta(
    eta_marginal: np.ndarray, sigma: float, *, n_nodes: int = GH_NODES, tol: float = 1e-12
) -> np.ndarray:
    """Solve ``E_u[expit(eta + u)] = expit(eta_marginal)``, ``u ~ N(0, sigma^2)``, for ``eta``.

    ``h(eta) = log E_u[expit(eta + u)]`` is increasing and concave (the log CDF of a
    logistic plus a normal variable, a log-concave density), so Newton's method started
    left of the root, at ``eta_m - sigma^2 / 2 - log(1 + e^eta_m)`` (where
    ``E[expit] <= E[e^(eta + u)] = expit(eta_m)``), rises monotonically to it. Expectations
    by Gauss-Hermite quadrature; the equation is solved on the log scale so that rare
    outcomes keep their relative precision.

    Parameters
    ----------
    eta_marginal : the marginal linear predictors.
    sigma : the random-intercept SD (0 returns ``eta_marginal``).
    n_nodes : quadrature nodes.
    tol : stop when every Newton step is below it.

    Returns
    -------
    np.ndarray
        The conditional linear predictors, one per element of ``eta_marginal``.

    Examples
    --------
    >>> import numpy as np
    >>> eta = conditional_eta(np.array([-3.0, 0.0, 2.0]), 1.0)
    >>> bool(eta[0] < -3.0 and abs(eta[1]) < 1e-12 and eta[2] > 2.0)
    True
    """
    from scipy.special import expit, log_expit

    em = np.asarray(eta_marginal, dtype=float)
    if sigma < 0 or not math.isfinite(sigma):
        raise ValueError(f"sigma must be finite and >= 0, got {sigma}")
    if sigma == 0:
        return em.copy()
    t, logw = _gh(n_nodes)
    w = np.exp(logw)
    target = log_expit(em)
    eta = em - sigma**2 / 2 - np.logaddexp(0.0, em)
    for _ in range(200):
        pi = expit(eta[:, None] + sigma * t[None, :])  # no underflow above eta ~ -700
        mean = pi @ w
        step = (target - np.log(mean)) * mean / ((pi * (1 - pi)) @ w)
        eta = eta + step
        if np.all(np.abs(step) < tol):
            break
    return eta


def expected_residual_icc(
    eta0: np.ndarray, g: np.ndarray, sigma: float, *, n_nodes: int = GH_NODES
) -> float:
    """Return the expected ANOVA ICC of ``y - p0`` under the random-intercept model.

    ``y_i | u_g ~ Bernoulli(pi_i(u_g))``, ``pi_i(u) = expit(eta_i + u)`` with ``eta`` from
    :func:`conditional_eta` (so ``E pi_i = p0_i``). With ``R_g = sum_{i in g} (y_i - p0_i)``,
    ``Var R_g = sum_i V_i + Var_u(S_g(u)) - sum_i Var_u(pi_i(u))``, ``V_i = p0_i (1 - p0_i)``,
    ``S_g(u) = sum_{i in g} pi_i(u)``; the expected mean squares are
    ``E MSW = (sum_i V_i - sum_g Var R_g / m_g) / (n - G)`` and
    ``E MSB = sum_g Var R_g (1 / m_g - 1 / n) / (G - 1)``, and the ICC
    ``(MSB - MSW) / (MSB + (m0 - 1) MSW)`` as in :func:`~ics_model.effects.core.anova_icc`
    (ratio of expectations). About 0 when ``sigma = 0``.

    Parameters
    ----------
    eta0 : marginal linear predictors of the null model (``p0 = expit(eta0)``), one per
        provider.
    g : cluster index 0..G-1 per provider.
    sigma : random-intercept SD.
    n_nodes : quadrature nodes.

    Returns
    -------
    float
    """
    from scipy.special import log_expit

    eta0 = np.asarray(eta0, dtype=float)
    p0 = np.exp(log_expit(eta0))
    g = np.asarray(g)
    m = np.bincount(g).astype(float)
    n, k = len(p0), len(m)
    t, logw = _gh(n_nodes)
    w = np.exp(logw)
    eta = conditional_eta(eta0, sigma, n_nodes=n_nodes)
    pi = np.exp(log_expit(eta[:, None] + sigma * t[None, :]))  # n x Q
    onehot = np.zeros((k, n))
    onehot[g, np.arange(n)] = 1.0
    s = onehot @ pi  # G x Q
    var_s = s**2 @ w - (s @ w) ** 2
    var_pi = np.bincount(g, weights=pi**2 @ w - (pi @ w) ** 2, minlength=k)
    v = np.bincount(g, weights=p0 * (1 - p0), minlength=k)
    var_r = v + var_s - var_pi
    msw = (v.sum() - np.sum(var_r / m)) / (n - k)
    msb = float(np.sum(var_r * (1 / m - 1 / n))) / (k - 1)
    m0 = (n - float(np.sum(m**2)) / n) / (k - 1)
    return float((msb - msw) / (msb + (m0 - 1) * msw))


def match_icc(eta0: np.ndarray, g: np.ndarray, icc: float, *, n_nodes: int = GH_NODES) -> float:
    """Random-intercept SD whose :func:`expected_residual_icc` equals ``icc`` (0 if none needed).

    Raises
    ------
    ValueError
        ``icc`` cannot be reached with ``sigma <= MAX_SIGMA``.
    """
    from scipy.optimize import brentq

    base = expected_residual_icc(eta0, g, 0.0, n_nodes=n_nodes)
    if icc <= base:
        return 0.0
    top = expected_residual_icc(eta0, g, MAX_SIGMA, n_nodes=n_nodes)
    if icc >= top:
        raise ValueError(
            f"an ICC of {icc:.4f} needs a random-intercept SD above {MAX_SIGMA} (logit scale)"
        )
    return float(
        brentq(
            lambda s: expected_residual_icc(eta0, g, s, n_nodes=n_nodes) - icc,
            0.0,
            MAX_SIGMA,
            xtol=1e-6,
        )
    )


def design_from_arrays(y: np.ndarray, x: np.ndarray, z: np.ndarray, clusters: np.ndarray) -> Design:
    """Return a :class:`~ics_model.effects.design.Design` from the arrays a fitter takes.

    Parameters
    ----------
    y : binary outcome (0/1).
    x : the standardised exposure.
    z : controls, ``n x k`` (no intercept column; ``k`` may be 0).
    clusters : cluster (ICS) labels, coded 0..G-1 in sorted order.

    Returns
    -------
    Design
        With an intercept column first; ``mean = 0``, ``sd = 1`` (``x`` is taken as
        standardised) and nothing dropped.

    Raises
    ------
    ValueError
        Lengths differ, ``y`` is not binary, or ``x``/``z`` hold missing values.
    """
    y, x, z = binary_arrays(y, x, z, clusters)
    n = len(y)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(z))):
        raise ValueError("x and z must be finite")
    labels, g = np.unique(np.asarray(clusters), return_inverse=True)
    x_by = np.zeros(len(labels))
    x_by[g] = x
    x_cluster = x_by if np.all(x == x_by[g]) else None
    names = ("(intercept)", *(f"z{j}" for j in range(z.shape[1])))
    Z = np.column_stack([np.ones(n), z])
    return Design(y, x, Z, g, len(labels), x_cluster, 0.0, 1.0, names, (), ())


@dataclass(frozen=True)
class NullModel:
    """The null model fitted to the real outcome (:func:`null_model`).

    Attributes
    ----------
    eta0 : fitted linear predictors ``z_i' gamma`` (intercept and controls; no exposure).
    gamma : the coefficients, in the order of ``Design.columns``.
    converged : whether the IRLS fit converged.
    icc_observed : ANOVA ICC of the residuals ``y - p0`` (floored at 0).
    n_events : providers with ``y == 1``.
    """

    eta0: np.ndarray
    gamma: np.ndarray
    converged: bool
    icc_observed: float
    n_events: int


def null_model(design: Design) -> NullModel:
    """Fit ``logit P(y = 1) = z' gamma`` (no exposure) to the real outcome of ``design``."""
    y = design.y
    start = np.zeros(design.Z.shape[1])
    start[0] = math.log(y.mean() / (1 - y.mean()))
    gamma, p0, converged = _logit(design.Z, y, np.zeros(len(y)), start)
    return NullModel(
        eta0=design.Z @ gamma,
        gamma=gamma,
        converged=converged,
        icc_observed=anova_icc(y - p0, design.g),
        n_events=int(y.sum()),
    )


@dataclass(frozen=True)
class PlantedDesign:
    """The real design with the null model and the random-intercept SD: what is simulated.

    Attributes
    ----------
    x : the standardised exposure (real values), one per provider.
    z : the controls, ``n x k`` (no intercept column), as the fitter takes them.
    g : ICS index 0..G-1 per provider (the real clusters).
    n_clusters : ICSs.
    eta0 : the null model's (marginal) linear predictors.
    sigma : random-intercept SD on the logit scale (0: no random intercept).
    scale : ``marginal`` or ``conditional`` (module docstring).
    """

    x: np.ndarray
    z: np.ndarray
    g: np.ndarray
    n_clusters: int
    eta0: np.ndarray
    sigma: float
    scale: Scale

    def eta(self, log_or: float) -> np.ndarray:
        """Conditional linear predictors ``eta_i`` with the log odds ratio ``log_or`` planted."""
        if self.scale == "marginal":
            return conditional_eta(self.eta0 + log_or * self.x, self.sigma)
        return conditional_eta(self.eta0, self.sigma) + log_or * self.x

    def probabilities(self, eta: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``expit(eta_i + u[s, g(i)])`` for every simulation ``s`` (rows of ``u``)."""
        from scipy.special import log_expit

        return np.exp(log_expit(eta[None, :] + u[:, self.g]))


def planted_design(
    design: Design,
    null: NullModel,
    *,
    icc: float | Literal["observed"] | None = "observed",
    scale: Scale = "marginal",
) -> PlantedDesign:
    """Combine the real design, its null model and the clustering to simulate.

    Parameters
    ----------
    design : the real design (:func:`~ics_model.effects.design.build_design`).
    null : its :func:`null_model`.
    icc : the residual ICC the simulated outcomes should have: ``"observed"`` (the real
        one, ``null.icc_observed``), a number in [0, 1), or None / 0 for independent
        outcomes given the controls.
    scale : the scale the odds ratio is planted on (module docstring).

    Returns
    -------
    PlantedDesign
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    target = null.icc_observed if icc == "observed" else float(icc or 0.0)
    if not 0 <= target < 1:
        raise ValueError(f"icc must be 'observed', None or in [0, 1), got {icc!r}")
    sigma = match_icc(null.eta0, design.g, target) if target > 0 else 0.0
    return PlantedDesign(
        x=design.x,
        z=design.Z[:, 1:],
        g=design.g,
        n_clusters=design.n_clusters,
        eta0=null.eta0,
        sigma=sigma,
        scale=scale,
    )


__all__ = [
    "GH_NODES",
    "MAX_SIGMA",
    "SCALES",
    "NullModel",
    "PlantedDesign",
    "conditional_eta",
    "design_from_arrays",
    "expected_residual_icc",
    "match_icc",
    "null_model",
    "planted_design",
]
