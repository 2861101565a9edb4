"""The wild cluster score test shared by the headline, the curve and the power simulation.

Checks: the IRLS kernel of the restricted refits agrees with statsmodels ``GLM`` (random
designs with offsets, a separated fit, the hand-checkable score equations); the uncorrected
test equals its formula computed by hand; the curve's ``glm_cluster`` model and the power
simulation's fitter run the same test as the headline, so the coverage reported is that of
the intervals shown.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from statsmodels.genmod.families import Binomial
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from ics_model.effects.design import Design
from ics_model.effects.models import fit_model
from ics_model.effects.score_fit import score_bootstrap_fit
from ics_model.effects.score_test import WEBB_WEIGHTS, ScoreTest, logit_irls


def _statsmodels(X, y, offset, start):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = GLM(y, X, family=Binomial(), offset=offset).fit(
            start_params=start, atol=1e-11, rtol=1e-10
        )
        return np.asarray(fit.params), np.asarray(fit.fittedvalues), bool(fit.converged)


def _design(seed: int, n: int = 400, k: int = 2, prevalence: float = -2.5):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, k))])
    y = (rng.random(n) < expit(prevalence + 0.4 * X[:, -1])).astype(float)
    return X, y, 0.5 * rng.standard_normal(n)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(0, 3), prevalence=st.floats(-4.0, 0.5))
def test_irls_kernel_agrees_with_statsmodels(seed, k, prevalence):
    X, y, offset = _design(seed, k=k, prevalence=prevalence)
    if y.sum() in (0, len(y)):
        return
    start = np.zeros(X.shape[1])
    start[0] = math.log(y.mean() / (1 - y.mean()))
    b, p, ok = logit_irls(X, y, offset, start)
    b_sm, p_sm, ok_sm = _statsmodels(X, y, offset, start)
    assert ok == ok_sm
    np.testing.assert_allclose(b, b_sm, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(p, p_sm, rtol=1e-8, atol=1e-12)


def test_irls_kernel_follows_statsmodels_on_a_separated_fit():
    """Quasi-separation: both diverge the same way and stop by the same deviance rule."""
    X, _, offset = _design(4)
    y = (X[:, 1] > 1.5).astype(float)
    start = np.zeros(3)
    b, _, ok = logit_irls(X, y, offset, start)
    b_sm, _, ok_sm = _statsmodels(X, y, offset, start)
    assert ok == ok_sm
    assert abs(b[1]) > 100  # diverging
    np.testing.assert_allclose(b, b_sm, rtol=1e-8)


def test_irls_kernel_solves_the_score_equations():
    """At the MLE ``X'(y - p) = 0`` (here: events and the exposure-weighted events)."""
    X, y, _ = _design(7, n=300, k=1, prevalence=-1.0)
    _b, p, ok = logit_irls(X, y, np.zeros(len(y)), np.zeros(2))
    assert ok
    np.testing.assert_allclose(X.T @ (y - p), 0.0, atol=1e-8)


def _clustered(seed: int, n_clusters: int = 20):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(10, 30, n_clusters)
    g = np.repeat(np.arange(n_clusters), sizes)
    e = rng.standard_normal(n_clusters)
    x = (e[g] - e.mean()) / e.std()
    z = rng.standard_normal(len(g))
    y = (rng.random(len(g)) < expit(-1.0 + 0.3 * z + rng.normal(0, 0.4, n_clusters)[g])).astype(
        float
    )
    return y, x, z, g


def test_uncorrected_statistic_is_its_formula():
    """``correction='none'``: p = (1 + #{|t*| >= |t|}) / (1 + B) with raw cluster scores."""
    y, x, z, g = _clustered(2)
    Z = np.column_stack([np.ones(len(y)), z])
    d = Design(y, x, Z, g, 20, None, 0.0, 1.0, (), (), ())
    v = np.random.default_rng(3).choice(WEBB_WEIGHTS, size=(199, 20))
    test = ScoreTest(d, v, "none")
    # by hand: restricted fit at b0 = 0.2, efficient scores, bootstrap count
    _gamma, p, _ = _statsmodels(Z, y, 0.2 * x, np.zeros(2))
    w = p * (1 - p)
    xt = x - Z @ np.linalg.solve(Z.T @ (Z * w[:, None]), Z.T @ (w * x))
    u = np.bincount(g, weights=xt * (y - p))
    t = abs(u.sum()) / math.sqrt(u @ u)
    t_star = np.abs(v @ u) / np.sqrt((v**2) @ (u * u))
    expected = (1 + np.count_nonzero(t_star >= t * (1 - 1e-10))) / 200
    assert test.p_value(0.2) == pytest.approx(expected, abs=1e-12)


def test_curve_model_and_power_fitter_run_the_headline_test():
    """``fit_model('glm_cluster')`` and ``score_bootstrap_fit`` give one interval."""
    y, x, z, g = _clustered(5, n_clusters=25)
    a = fit_model("glm_cluster", y, x, z[:, None], g, rng=np.random.default_rng(9), draws=499)
    b = score_bootstrap_fit(
        "glm_cluster", y, x, z[:, None], g, rng=np.random.default_rng(9), draws=499
    )
    assert a.estimate == pytest.approx(b.estimate, rel=1e-8)
    assert a.p_value == b.p_value
    assert a.ci_lower == pytest.approx(b.ci_lower, rel=1e-3)
    assert a.ci_upper == pytest.approx(b.ci_upper, rel=1e-3)
    assert "CV3" in a.interval and "cv3" in b.interval


def test_score_test_rejects_an_unknown_correction():
    y, x, _z, g = _clustered(1)
    d = Design(y, x, np.ones((len(y), 1)), g, 20, None, 0.0, 1.0, (), (), ())
    with pytest.raises(ValueError, match="correction must be one of"):
        ScoreTest(d, np.ones((99, 20)), "cv2")


def test_fitted_is_in_the_design_row_order():
    """The test sorts rows by cluster; ``fitted`` maps ``p~`` back (the permutation test
    of the headline pairs it with the design's own rows)."""
    y, x, z, g = _clustered(6)
    perm = np.random.default_rng(0).permutation(len(y))
    y, x, z, g = y[perm], x[perm], z[perm], g[perm]
    Z = np.column_stack([np.ones(len(y)), z])
    d = Design(y, x, Z, g, 20, None, 0.0, 1.0, (), (), ())
    test = ScoreTest(d, np.ones((99, 20)))
    _, p_sm, _ = _statsmodels(Z, y, 0.1 * x, np.zeros(2))
    np.testing.assert_allclose(test.fitted(0.1), p_sm, rtol=1e-8)
