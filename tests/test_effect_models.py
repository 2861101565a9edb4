"""fit_model: planted effects recovered, hand-checkable odds ratios, the proportional-odds
check, the within/between split, separation, clear errors and the real GP population."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from ics_model.config import RunConfig
from ics_model.data import cqc
from ics_model.data.sources import SOURCES
from ics_model.effects import collaboration_effect, default_population
from ics_model.effects.design import build_design
from ics_model.effects.models import MODELS, ORDINAL_MODELS, ModelFit, fit_model
from ics_model.effects.ordinal import proportional_odds_check
from ics_model.effects.separation import separated
from ics_model.pipeline import run
from ics_model.ratings import RATING_SCORES

BINARY = tuple(m for m in MODELS if m != "ordinal_logit")


def _expit(eta: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * eta))


def _standard(v: np.ndarray) -> np.ndarray:
    return (v - v.mean()) / v.std()


def clustered(
    seed: int, G: int = 42, m: int = 60, beta: float = math.log(2.0), sigma: float = 0.3
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Binary outcome with an ICS-level exposure (log OR ``beta`` per SD, cluster-specific),
    a random ICS intercept of SD ``sigma`` and one noise control; returns y, x, z, g."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), m)
    xg = rng.standard_normal(G)
    x = ((xg - xg.mean()) / xg.std())[g]
    z = rng.standard_normal((G * m, 1))
    eta = -1.8 + beta * x + rng.normal(0, sigma, G)[g]
    y = (rng.random(G * m) < _expit(eta)).astype(float)
    return y, x, z, g


def marginal(beta: float, sigma: float) -> float:
    """Population-averaged log OR (Zeger, Liang & Albert 1988)."""
    return beta / math.sqrt(1 + 0.346 * sigma**2)


def covers(fit: ModelFit, log_or: float) -> bool:
    return fit.ci_lower <= math.exp(log_or) <= fit.ci_upper


# ----------------------------------------------------------------------------- planted effects


@pytest.mark.parametrize("model", (*BINARY, "ordinal_logit"))
def test_planted_ics_level_effect_is_covered(model):
    beta, sigma = math.log(2.0), 0.3
    y, x, z, g = clustered(7, beta=beta, sigma=sigma)
    fit = fit_model(model, y, x, z, g, rng=np.random.default_rng(1), draws=499)
    truth = beta if model == "mixed_logit" else marginal(beta, sigma)
    assert fit.converged and covers(fit, truth), fit
    assert fit.ci_lower > 1.0 and fit.p_value < 0.05  # an OR of 2 per SD is detected
    assert (fit.n, fit.n_clusters, fit.n_events) == (len(y), 42, int(y.sum()))
    assert fit.model == model and fit.interval and fit.between is None


def test_no_effect_is_not_significant_in_most_models():
    y, x, z, g = clustered(8, beta=0.0)
    fits = [fit_model(m, y, x, z, g, rng=np.random.default_rng(2), draws=499) for m in BINARY]
    assert all(covers(f, 0.0) for f in fits)


def test_planted_ordinal_effect_is_covered():
    # CR1 with an ICS-level exposure under-covers somewhat (85% in 40 data sets like this
    # one): this seeded data set is one of the covered ones; the bias is checked too
    rng = np.random.default_rng(6)
    g = np.repeat(np.arange(42), 80)
    x = _standard(rng.standard_normal(42))[g]
    z = rng.standard_normal((len(g), 2))
    latent = 0.5 * x + 0.3 * z[:, 0] + rng.logistic(size=len(g))
    y = np.digitize(latent, [-2.5, -0.5, 2.0])  # 0..3, ascending = better
    fit = fit_model("ordinal_logit", y, x, z, g, ordinal=True)
    assert fit.converged and covers(fit, 0.5) and abs(math.log(fit.estimate) - 0.5) < 0.1
    assert fit.n_events == int(np.sum(y == 3))
    assert fit.po_p_value is not None and len(fit.cumulative) == 3


def test_seeded_bootstrap_reproduces_and_other_models_need_no_seed():
    y, x, z, g = clustered(9)
    a = fit_model("glm_cluster", y, x, z, g, rng=np.random.default_rng(3))
    b = fit_model("glm_cluster", y, x, z, g, rng=np.random.default_rng(3))
    c = fit_model("glm_cluster", y, x, z, g, rng=np.random.default_rng(4))
    assert a == b and a.estimate == c.estimate and a.ci_lower != c.ci_lower
    for model in ("gee_exchangeable", "mixed_logit"):
        assert fit_model(model, y, x, z, g) == fit_model(model, y, x, z, g)


# ----------------------------------------------------------------------------- by hand


def test_two_by_two_table_odds_ratio_is_ad_over_bc():
    # exposed: 30 events, 10 not; unexposed: 15 events, 45 not -> OR = (30 x 45) / (10 x 15) = 9
    y = np.array([1.0] * 30 + [0.0] * 10 + [1.0] * 15 + [0.0] * 45)
    e = np.array([1.0] * 40 + [0.0] * 60)
    x = _standard(e)  # one SD of x is 1 / sd(e) units of e
    g = np.arange(100) % 20
    per_unit = 1 / e.std()
    fits = {
        m: fit_model(m, y, x, np.zeros((100, 0)), g, rng=np.random.default_rng(0))
        for m in ("glm_cluster", "ordinal_logit")
    }
    for fit in fits.values():
        assert fit.estimate**per_unit == pytest.approx(9.0, rel=1e-6)  # BFGS for ordinal
        assert fit.n_events == 45 and fit.converged
    assert fits["glm_cluster"].estimate ** per_unit == pytest.approx(9.0, rel=1e-10)
    # independent providers (one per cluster): GEE's estimating equations are the GLM's
    gee = fit_model("gee_exchangeable", y, x, np.zeros((100, 0)), np.arange(100))
    assert gee.estimate**per_unit == pytest.approx(9.0, rel=1e-6)


def test_wald_interval_of_the_ordinal_two_category_case_by_hand():
    # the CR1 Wald interval on t(G - 1) around the 2x2 log odds ratio
    y = np.array([1.0] * 30 + [0.0] * 10 + [1.0] * 15 + [0.0] * 45)
    x = np.array([1.0] * 40 + [0.0] * 60)
    g = np.arange(100) % 20
    fit = fit_model("ordinal_logit", y, (x - x.mean()) / x.std(), np.zeros((100, 0)), g)
    mid = math.sqrt(fit.ci_lower * fit.ci_upper)
    assert mid == pytest.approx(fit.estimate, rel=1e-9)  # symmetric on the log scale


# ----------------------------------------------------------------------------- proportional odds


def _ordinal_data(seed: int, proportional: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(42), 60)
    x = rng.standard_normal(len(g))
    if proportional:
        latent = 0.6 * x + rng.normal(0, 0.3, 42)[g] + rng.logistic(size=len(g))
        y = np.digitize(latent, [-2.0, 0.0, 2.0])
    else:  # x raises P(y >= 1) strongly but lowers P(y = 3): slopes differ by cut
        p1 = _expit(1.5 + 1.2 * x)
        p2 = _expit(0.0 + 0.2 * x)
        p3 = _expit(-2.0 - 0.8 * x)
        u = rng.random(len(g))
        y = (u < p1).astype(int) + (u < p1 * p2).astype(int) + (u < p1 * p2 * p3).astype(int)
    return y, x, g


def test_proportional_odds_check_rejects_non_proportional_odds():
    y, x, g = _ordinal_data(11, proportional=False)
    fit = fit_model("ordinal_logit", y, x, np.zeros((len(y), 0)), g, ordinal=True)
    assert fit.po_p_value < 0.001
    assert fit.note.startswith("Proportional odds rejected") and ">= 3:" in fit.note
    cuts = {c.cut: c for c in fit.cumulative}
    assert cuts[1].ci_lower > 2.5 and cuts[3].ci_upper < 1  # the alternative shows why
    assert cuts[1].n_events == int(np.sum(y >= 1))


def test_proportional_odds_check_does_not_reject_proportional_odds():
    y, x, g = _ordinal_data(12, proportional=True)
    fit = fit_model("ordinal_logit", y, x, np.zeros((len(y), 0)), g, ordinal=True)
    assert fit.po_p_value > 0.05 and fit.note is None and len(fit.cumulative) == 3


def test_proportional_odds_check_keeps_its_level_roughly():
    rejections = 0
    for seed in range(40):
        y, x, g = _ordinal_data(100 + seed, proportional=True)
        check = proportional_odds_check(y, x[:, None], np.ones((len(y), 1)), g)
        rejections += check.p_value < 0.05
    assert rejections <= 6  # 99% binomial upper bound for 40 tests at 5%


def test_proportional_odds_check_flags_a_thin_cut():
    y, x, g = _ordinal_data(13, proportional=True)
    y = np.where(y == 3, 2, y)
    y[:4] = 3  # only 4 providers at the top
    fit = fit_model("ordinal_logit", y, x, np.zeros((len(y), 0)), g, ordinal=True)
    assert "unreliable" in fit.note and "4 providers on one side" in fit.note


# ----------------------------------------------------------------------------- within / between


def test_within_and_between_effects_are_recovered_separately():
    rng = np.random.default_rng(21)
    G, m = 42, 80
    g = np.repeat(np.arange(G), m)
    raw = rng.normal(0, 1, G)[g] + rng.standard_normal(G * m)
    x = _standard(raw)
    w = x - (np.bincount(g, weights=x) / m)[g]
    xb = _standard(np.bincount(g, weights=x) / m)[g]
    b_within, b_between = math.log(2.0), -math.log(1.5)
    y = (rng.random(G * m) < _expit(-1.5 + b_within * w + b_between * xb)).astype(float)
    for model in (*BINARY, "ordinal_logit"):
        fit = fit_model(model, y, x, np.zeros((G * m, 0)), g, x_between=xb, rng=rng)
        assert fit.converged, model
        assert covers(fit, b_within), (model, fit)
        assert fit.between_ci_lower <= math.exp(b_between) <= fit.between_ci_upper, model
        assert fit.between < 1 < fit.estimate  # opposite directions, as planted


def test_within_between_split_of_an_ordinal_outcome():
    rng = np.random.default_rng(22)
    g = np.repeat(np.arange(42), 60)
    x = _standard(rng.normal(0, 1, 42)[g] + rng.standard_normal(len(g)))
    w = x - (np.bincount(g, weights=x) / 60)[g]
    xb = _standard(np.bincount(g, weights=x) / 60)[g]
    y = np.digitize(0.7 * w - 0.4 * xb + rng.logistic(size=len(g)), [-2.0, 0.0, 2.0])
    fit = fit_model("ordinal_logit", y, x, np.zeros((len(g), 0)), g, ordinal=True, x_between=xb)
    assert covers(fit, 0.7) and fit.between_ci_lower < math.exp(-0.4) < fit.between_ci_upper
    assert all(c.between is not None for c in fit.cumulative)


# ----------------------------------------------------------------------------- separation


def test_a_control_level_without_events_is_set_aside():
    y, x, z, g = clustered(31)
    year = (np.arange(len(y)) % 7 == 0).astype(float)  # a "rating year" ...
    y = np.where(year == 1, 0.0, y)  # ... without a single event
    Z = np.column_stack([z, year])
    keep = year == 0
    for model in BINARY:
        fit = fit_model(model, y, x, Z, g, rng=np.random.default_rng(0), draws=199)
        alone = fit_model(model, y[keep], x[keep], z[keep], g[keep], rng=np.random.default_rng(0),
                          draws=199)  # fmt: skip
        assert fit.n_set_aside == int(year.sum()) and fit.n == int(keep.sum())
        assert fit.converged and "Quasi-separation" in fit.note
        assert fit.estimate == pytest.approx(alone.estimate, rel=1e-6)


def test_exposure_that_predicts_perfectly_gives_no_estimate_not_an_exception():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(200)
    y = (x > 0.5).astype(float)
    g = np.arange(200) % 10
    for model in BINARY:
        fit = fit_model(model, y, x, np.zeros((200, 0)), g, rng=rng)
        assert not fit.converged and math.isnan(fit.estimate)
        assert "exposure separates the outcome" in fit.note


def test_separated_finds_the_reference_level_case():
    # years 0 and 1 without a non-event: year 0 is the reference (no dummy of its own)
    year = np.repeat([0, 1, 2, 3], 25)
    y = np.where(year < 2, 1.0, (np.arange(100) % 3 == 0).astype(float))
    Z = np.column_stack([np.ones(100)] + [(year == k).astype(float) for k in (1, 2, 3)])
    x = np.random.default_rng(0).standard_normal(100)
    s = separated(y, x[:, None], Z)
    assert s.n_set_aside == 50 and not s.exposure_separated
    assert s.z_columns == (0, 2)  # intercept and year 2 (year 3 is the new reference)


# ----------------------------------------------------------------------------- errors


def test_clear_errors():
    y, x, z, g = clustered(1, G=5, m=20)
    with pytest.raises(ValueError, match=r"unknown model 'probit'.*glm_cluster.*mixed_logit"):
        fit_model("probit", y, x, z, g)
    with pytest.raises(ValueError, match="binary 0/1"):
        fit_model("gee_exchangeable", y * 2, x, z, g)
    with pytest.raises(ValueError, match="binary outcome; for ordinal=True"):
        fit_model("glm_cluster", y, x, z, g, ordinal=True)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        fit_model("gee_exchangeable", y, x + np.arange(len(y)) * 0.01, z, np.zeros(len(y)))
    with pytest.raises(ValueError, match="no variation in x"):
        fit_model("mixed_logit", y, np.ones(len(y)), z, g)
    with pytest.raises(ValueError, match="no variation in y"):
        fit_model("mixed_logit", np.zeros(len(y)), x, z, g)
    with pytest.raises(ValueError, match="x holds NaN"):
        fit_model("glm_cluster", y, np.where(np.arange(len(y)) == 3, np.nan, x), z, g)
    with pytest.raises(ValueError, match="z holds NaN"):
        fit_model("glm_cluster", y, x, np.full_like(z, np.nan), g)
    with pytest.raises(ValueError, match="y holds NaN"):
        fit_model("glm_cluster", np.where(np.arange(len(y)) == 0, np.nan, y), x, z, g)
    with pytest.raises(ValueError, match=r"codes 0\.\.K-1"):
        fit_model("ordinal_logit", y + 0.5, x, z, g, ordinal=True)
    with pytest.raises(ValueError, match="constant within each cluster"):
        fit_model("glm_cluster", y, x, z, g, x_between=z[:, 0])
    with pytest.raises(ValueError, match="does not vary within clusters"):
        fit_model("glm_cluster", y, x, z, g, x_between=x)
    with pytest.raises(ValueError, match="collinear"):
        fit_model("glm_cluster", y, x, np.column_stack([z, 2 * x]), g)
    with pytest.raises(ValueError, match="at least 99"):
        fit_model("glm_cluster", y, x, z, g, draws=10)
    with pytest.raises(ValueError, match="confidence"):
        fit_model("glm_cluster", y, x, z, g, confidence=95)
    assert ORDINAL_MODELS == ("ordinal_logit",)


def test_non_convergence_is_reported_not_raised(monkeypatch):
    import scipy.optimize

    minimize = scipy.optimize.minimize

    def one_step(fun, x0, **kwargs):
        return minimize(fun, x0, **{**kwargs, "options": {"maxiter": 1}})

    y, x, z, g = clustered(2)
    # glmm imports minimize when it fits, so the patched one is the one it calls
    monkeypatch.setattr(scipy.optimize, "minimize", one_step)
    fit = fit_model("mixed_logit", y, x, z, g)
    assert not fit.converged and fit.note.startswith("Not converged")


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def gp():
    """The default GP population as the effect stage builds it, with its design."""
    result = run(RunConfig.model_validate({"metrics": {"sii_repetitions": 1000}}))
    loaded = cqc.read_gp_practices(SOURCES["cqc_gp_practices_2024"].path)
    pop = default_population(result.views.mapped, loaded)
    exposure = result.metrics.ics_metrics.filter(pl.col("metric") == "self_containment")
    return pop, exposure


def test_glm_cluster_agrees_with_collaboration_effect_on_real_gp_data(gp):
    pop, exposure = gp
    seed, draws = 20220701, 2000
    ref = collaboration_effect(
        pop.frame, exposure, controls=pop.controls, permutations=draws, seed=seed
    )
    d, _ = build_design(pop.frame, exposure, "Outstanding", pop.controls, "icb_code")
    boot = np.random.SeedSequence(seed).spawn(2)[0]  # collaboration_effect's bootstrap stream
    fit = fit_model(
        "glm_cluster", d.y, d.x, d.Z[:, 1:], d.g, rng=np.random.default_rng(boot), draws=draws
    )
    assert (fit.n, fit.n_clusters, fit.n_events) == (ref.n_providers, 42, ref.n_outcome) == (
        714, 42, 5
    )  # fmt: skip
    assert fit.estimate == pytest.approx(ref.estimate, rel=1e-9)
    assert fit.p_value == ref.p_value_model
    assert fit.ci_lower == pytest.approx(ref.ci_lower, rel=1e-6)
    assert fit.ci_upper == pytest.approx(ref.ci_upper, rel=1e-6)
    assert fit.estimate == pytest.approx(0.810, abs=5e-4)  # self-containment, 5 Outstanding


def test_every_model_fits_the_real_gp_population(gp):
    pop, exposure = gp
    d, _ = build_design(pop.frame, exposure, "Outstanding", pop.controls, "icb_code")
    frame = pop.frame.filter(pl.col("rating").is_not_null() & pl.col("imd_score").is_not_null())
    ordinal = frame["rating"].cast(pl.String).replace_strict(RATING_SCORES).to_numpy() - 1
    assert len(ordinal) == len(d.y) and int(np.sum(ordinal == 3)) == int(d.y.sum()) == 5
    z = d.Z[:, 1:]
    for model in MODELS:
        fit = fit_model(model, d.y, d.x, z, d.g, rng=np.random.default_rng(1), draws=199)
        assert fit.converged and 0 < fit.ci_lower < fit.estimate < fit.ci_upper, fit
        assert 0.5 < fit.estimate < 1.2  # about 0.81 in every model: no association
    fit = fit_model("ordinal_logit", ordinal, d.x, z, d.g, ordinal=True)
    assert fit.converged and len(fit.cumulative) == 3
    assert fit.n_events == 5 and "unreliable" in fit.note  # 5 Outstanding: a thin top cut


# ----------------------------------------------------------------------------- CV3 (ordinal)


def _ordinal_design(seed: int, n_clusters: int = 42, effect: float = 0.0, outlier: bool = True):
    """Clusters of 8-30 providers, an ICS-level exposure (one ICS 3.2 SD out), 4 categories."""
    from scipy.special import expit

    rng = np.random.default_rng(seed)
    sizes = np.random.default_rng(0).integers(8, 31, n_clusters)  # one design for all seeds
    g = np.repeat(np.arange(n_clusters), sizes)
    e = np.random.default_rng(1).standard_normal(n_clusters)
    if outlier:
        e[0] = 3.2
    x = ((e - e.mean()) / e.std())[g]
    eta = effect * x + rng.normal(0, 0.4, n_clusters)[g]
    theta = np.array([3.5, 1.0, -2.5])  # about 3%, 25%, 65%, 7% in the four categories
    y = (rng.random(len(g))[:, None] < expit(theta[None, :] + eta[:, None])).sum(axis=1)
    return y.astype(float), x, g


def test_cv3_covariance_is_close_to_the_exact_cluster_jackknife():
    """The one-step leave-one-cluster-out estimates track exact refits without each cluster."""
    from ics_model.effects.ordinal import OrderedLogit, cv3_covariance

    y, x, g = _ordinal_design(3, n_clusters=10, effect=0.3)
    model = OrderedLogit(y, x[:, None], distr="logit")
    b = np.asarray(model.fit(method="newton", disp=False, maxiter=100).params)
    exact = []
    for k in range(10):
        keep = g != k
        m = OrderedLogit(y[keep], x[keep, None], distr="logit")
        exact.append(
            np.asarray(m.fit(start_params=b, method="newton", disp=False, maxiter=100).params)
        )
    d = np.array(exact) - b
    v_exact = 9 / 10 * d.T @ d
    v = cv3_covariance(model, b, g)
    assert np.sqrt(v[0, 0]) == pytest.approx(np.sqrt(v_exact[0, 0]), rel=0.1)
    assert np.allclose(v, v.T) and np.all(np.linalg.eigvalsh(v) >= -1e-12)


def test_ordinal_logit_reports_the_cv3_interval():
    from ics_model.effects.ordinal import OrderedLogit, cv3_covariance, wald

    y, x, g = _ordinal_design(4, effect=0.2)
    fit = fit_model("ordinal_logit", y, x, np.zeros((len(y), 0)), g, ordinal=True)
    model = OrderedLogit(y, x[:, None], distr="logit")
    b = np.asarray(model.fit(method="bfgs", disp=False, gtol=1e-7, maxiter=1000).params)
    se = math.sqrt(cv3_covariance(model, b, g)[0, 0])
    lo, hi, p = wald(float(b[0]), se, 0.95, 41)
    assert (fit.ci_lower, fit.ci_upper) == pytest.approx((lo, hi), rel=1e-4)
    assert fit.p_value == pytest.approx(p, rel=1e-3)
    assert "CV3" in fit.interval


@pytest.mark.slow
def test_ordinal_logit_holds_its_level_with_a_high_leverage_ics():
    """No effect, 42 ICSs, one 3.2 SD out: CV3 rejects at about 5% over 300 data sets."""
    rejected = 0
    for s in range(300):
        y, x, g = _ordinal_design(100 + s)
        fit = fit_model("ordinal_logit", y, x, np.zeros((len(y), 0)), g, ordinal=True)
        rejected += fit.p_value < 0.05
    assert 0.02 <= rejected / 300 <= 0.08
