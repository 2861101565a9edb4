"""Power by simulation on the real design: planted outcomes, bookkeeping, calibration.

Fast tests use small hand-made designs; the ``slow`` ones simulate on the real GP design
(every placed practice rated 2015-2024, Outstanding, ICS self-containment per SD,
controls rating year and practice deprivation) and check the issue's criteria: coverage
of a planted odds ratio of 2 between 93% and 97%, rejection under no effect between 3%
and 7%, power rising with the odds ratio, identical results on any executor.
"""

from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest
from scipy import integrate
from scipy.special import expit

from ics_model.contracts import validate
from ics_model.effects import collaboration_effect, default_population, simulate_power
from ics_model.effects.contracts import EFFECT_POWER
from ics_model.effects.core import anova_icc
from ics_model.effects.design import build_design
from ics_model.effects.planted import (
    PlantedDesign,
    conditional_eta,
    design_from_arrays,
    expected_residual_icc,
    match_icc,
    null_model,
    planted_design,
)
from ics_model.effects.power import clopper_pearson, min_detectable_effect
from ics_model.effects.score_fit import score_bootstrap_fit
from ics_model.ratings import RatingEnum

# ----------------------------------------------------------------------------- helpers


def small_frame(seed: int = 3, n_clusters: int = 24, icc_sd: float = 0.5) -> pl.DataFrame:
    """Providers in clusters of 20-50 with an ICS-level exposure and a numeric control."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(20, 51, n_clusters)
    g = np.repeat(np.arange(n_clusters), sizes)
    e = rng.normal(50, 10, n_clusters)
    control = rng.standard_normal(len(g))
    eta = -1.5 + 0.3 * control + rng.normal(0, icc_sd, n_clusters)[g]
    y = rng.random(len(g)) < expit(eta)
    return pl.DataFrame(
        {
            "icb_code": [f"Q{k:02d}" for k in g],
            "rating": pl.Series(np.where(y, "Outstanding", "Good"), dtype=RatingEnum),
            "exposure": e[g],
            "control": control,
        }
    )


@pytest.fixture(scope="module")
def small():
    return build_design(small_frame(), "exposure", "Outstanding", ("control",), "icb_code")[0]


@dataclass(frozen=True)
class StubFit:
    estimate: float
    ci_lower: float
    ci_upper: float
    p_value: float | None
    converged: bool


def stub_fit(model, y, x, z, clusters, *, confidence=0.95, rng=None):
    """Fail, give no interval, or give OR 2 (1.5-2.5), by the number of events mod 4."""
    k = int(y.sum()) % 4
    if k == 0:
        raise ValueError("stub: cannot fit\nsecond line")
    if k == 1:
        return StubFit(2.0, math.nan, math.nan, 0.01, True)
    return StubFit(2.0, 1.5, 2.5, None if k == 2 else 0.01, k == 2)


# ----------------------------------------------------------------------------- planted outcomes


def test_planted_probability_is_expit_of_null_plus_log_or_times_x_without_random_intercept():
    # eta0 = 0 and x = 1, 0, -1 with OR 2: odds 2, 1, 1/2, so p = 2/3, 1/2, 1/3
    pd = PlantedDesign(
        x=np.array([1.0, 0.0, -1.0]),
        z=np.zeros((3, 0)),
        g=np.array([0, 1, 2]),
        n_clusters=3,
        eta0=np.zeros(3),
        sigma=0.0,
        scale="marginal",
    )
    eta = pd.eta(math.log(2.0))
    np.testing.assert_allclose(eta, [math.log(2), 0.0, -math.log(2)])
    np.testing.assert_allclose(pd.probabilities(eta, np.zeros((1, 3)))[0], [2 / 3, 1 / 2, 1 / 3])
    # a random intercept of +log(3) in cluster 2 (only) triples the odds there: 3/2 -> p = 3/5
    u = np.array([[0.0, 0.0, math.log(3.0)]])
    assert pd.probabilities(eta, u)[0, 2] == pytest.approx(0.6)
    conditional = PlantedDesign(**{**vars(pd), "scale": "conditional"})
    np.testing.assert_allclose(conditional.eta(math.log(2.0)), eta)


@pytest.mark.parametrize("sigma", [0.5, 1.5])
@pytest.mark.parametrize("eta_m", [-12.0, -3.0, 0.0, 2.5])
def test_conditional_eta_keeps_the_marginal_probability(sigma, eta_m):
    eta = conditional_eta(np.array([eta_m]), sigma)[0]
    marginal, _ = integrate.quad(
        lambda t: expit(eta + sigma * t) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi),
        -12,
        12,
        epsabs=0,
        epsrel=1e-12,
    )
    assert marginal == pytest.approx(expit(eta_m), rel=1e-8)
    assert abs(eta) >= abs(eta_m) - 1e-12 and eta * eta_m >= 0  # pulled away from p = 1/2


def test_conditional_eta_without_random_intercept_and_bad_sigma():
    e = np.array([-2.0, 1.0])
    np.testing.assert_array_equal(conditional_eta(e, 0.0), e)
    with pytest.raises(ValueError, match="sigma"):
        conditional_eta(e, -0.1)


def test_marginal_and_conditional_scales_differ_by_the_attenuation():
    base = dict(x=np.array([1.0]), z=np.zeros((1, 0)), g=np.array([0]), n_clusters=1)
    b, sigma = math.log(2.0), 1.0
    marg = PlantedDesign(**base, eta0=np.array([-2.0]), sigma=sigma, scale="marginal")
    cond = PlantedDesign(**base, eta0=np.array([-2.0]), sigma=sigma, scale="conditional")
    # marginal: E_u expit(eta + u) = expit(-2 + b); conditional: eta = eta0_c + b exactly
    assert cond.eta(b)[0] - cond.eta(0.0)[0] == pytest.approx(b)
    shift = marg.eta(b)[0] - marg.eta(0.0)[0]
    assert b < shift < b * math.sqrt(1 + 0.346 * sigma**2) * 1.05  # Zeger et al. 1988


def test_expected_icc_is_zero_for_equal_probabilities_without_random_intercept():
    g = np.repeat(np.arange(5), [3, 4, 5, 6, 7])
    assert expected_residual_icc(np.full(len(g), -1.0), g, 0.0) == pytest.approx(0.0, abs=1e-12)


def test_expected_icc_matches_the_mean_simulated_anova_icc():
    rng = np.random.default_rng(5)
    m = rng.integers(20, 61, 30)
    g = np.repeat(np.arange(30), m)
    eta0 = math.log(0.15 / 0.85) + 0.5 * rng.standard_normal(len(g))
    sigma = 0.8
    expected = expected_residual_icc(eta0, g, sigma)
    u = rng.standard_normal((2000, 30)) * sigma
    ys = rng.random((2000, len(g))) < expit(conditional_eta(eta0, sigma)[None] + u[:, g])
    sims = [anova_icc(y - expit(eta0), g) for y in ys]
    assert expected == pytest.approx(float(np.mean(sims)), rel=0.05)
    assert match_icc(eta0, g, expected) == pytest.approx(sigma, abs=1e-4)
    assert match_icc(eta0, g, 0.0) == 0.0
    with pytest.raises(ValueError, match="random-intercept SD above"):
        match_icc(eta0, g, 0.99)


def test_null_model_and_planted_design_of_a_small_design(small):
    null = null_model(small)
    # the null model's score equations: the fitted events equal the observed, per column
    np.testing.assert_allclose(small.Z.T @ expit(null.eta0), small.Z.T @ small.y, atol=1e-6)
    assert null.n_events == int(small.y.sum()) and null.converged
    assert null.icc_observed == pytest.approx(
        anova_icc(small.y - expit(null.eta0), small.g), rel=1e-12
    )
    pd = planted_design(small, null)
    assert pd.sigma > 0
    assert expected_residual_icc(null.eta0, small.g, pd.sigma) == pytest.approx(null.icc_observed)
    assert planted_design(small, null, icc=None).sigma == 0.0
    np.testing.assert_array_equal(pd.x, small.x)
    np.testing.assert_array_equal(pd.z, small.Z[:, 1:])
    for kwargs, match in (({"icc": 1.0}, "icc"), ({"scale": "odds"}, "scale")):
        with pytest.raises(ValueError, match=match):
            planted_design(small, null, **kwargs)


def test_design_from_arrays_matches_build_design(small):
    labels = np.array([f"Q{k:02d}" for k in small.g])
    d = design_from_arrays(small.y, small.x, small.Z[:, 1:], labels)
    for a in ("y", "x", "Z", "g", "x_cluster"):
        np.testing.assert_array_equal(getattr(d, a), getattr(small, a))
    assert d.n_clusters == small.n_clusters and d.columns == ("(intercept)", "z0")
    a = simulate_power(d, odds_ratios=(2.0,), n_sims=5, seed=2).table
    assert a.equals(simulate_power(small, odds_ratios=(2.0,), n_sims=5, seed=2).table)
    provider_level = design_from_arrays(small.y, np.arange(len(small.y)), small.Z[:, 1:], labels)
    assert provider_level.x_cluster is None
    with pytest.raises(ValueError, match="binary"):
        design_from_arrays(small.y + 1, small.x, small.Z[:, 1:], labels)
    with pytest.raises(ValueError, match="finite"):
        design_from_arrays(small.y, small.x * np.nan, small.Z[:, 1:], labels)


# ----------------------------------------------------------------------------- summaries


def test_min_detectable_effect_by_hand():
    # between OR 2 (power 0.6) and 4 (0.9): log OR = log 2 + (0.2 / 0.3) log 2 -> 2^(5/3)
    assert min_detectable_effect([1.0, 2.0, 4.0], [0.05, 0.6, 0.9]) == pytest.approx(2 ** (5 / 3))
    assert min_detectable_effect([4.0, 1.0, 2.0], [0.9, 0.05, 0.6]) == pytest.approx(2 ** (5 / 3))
    assert min_detectable_effect([1.0, 1.5], [0.05, 0.3]) is None
    assert min_detectable_effect([1.5, 2.0], [0.85, 0.99]) == 1.5
    assert min_detectable_effect([0.5, 1.0, 2.0], [0.9, 0.05, 0.8]) == pytest.approx(2.0)
    assert min_detectable_effect([1.0, 2.0, 3.0], [0.05, math.nan, 0.9], 0.5) == pytest.approx(
        math.exp(math.log(3) * 0.45 / 0.85)
    )


def test_clopper_pearson_by_hand():
    lo, hi = clopper_pearson(5, 10)
    assert (lo, hi) == (pytest.approx(0.187086, abs=1e-6), pytest.approx(0.812914, abs=1e-6))
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10)))
    assert clopper_pearson(10, 10) == (pytest.approx(0.025 ** (1 / 10)), 1.0)
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))


def test_failed_fits_are_counted_with_reasons_and_left_out(small):
    r = simulate_power(small, odds_ratios=(1.0, 2.0), n_sims=40, fit=stub_fit, seed=1)
    t = r.table
    assert t["n_sims"].to_list() == [40, 40]
    assert (t["n_fitted"] + t["n_failed"]).to_list() == [40, 40]
    for row in t.iter_rows(named=True):
        assert row["n_failed"] > 0 and row["n_fitted"] > 0
        assert row["power"] == 1.0  # p = 0.01, or no p-value and 1 outside (1.5, 2.5)
        assert row["mean_estimate"] == pytest.approx(2.0)
        parts = dict(p.rsplit(" (", 1) for p in row["failures"].split("; "))
        assert set(parts) <= {"ValueError: stub: cannot fit", "no interval"}
        assert sum(int(v.rstrip(")")) for v in parts.values()) == row["n_failed"]
    assert t["coverage"].to_list() == [0.0, 1.0]  # (1.5, 2.5) holds 2, not 1
    assert r.min_detectable_effect == 1.0
    validate(t, EFFECT_POWER)


def test_result_frame_meets_its_contract_and_says_how_it_was_made(small):
    r = simulate_power(small, odds_ratios=(1.0, 1.5, 3.0), n_sims=8, chunk_size=3, seed=4)
    validate(r.table, EFFECT_POWER)
    assert r.table["odds_ratio"].to_list() == [1.0, 1.5, 3.0]
    assert r.n == len(small.y) and r.n_clusters == small.n_clusters
    assert r.intercept_sd > 0 and r.scale == "marginal" and r.model == "glm_cluster"
    assert "random ICS intercept" in r.method and "Arnold et al. 2011" in r.method
    assert "minimum detectable" in r.summary()
    d = r.to_dict()
    assert "table" not in d and d["seed"] == 4 and d["n_sims"] == 8


def test_clear_errors(small):
    for kwargs, match in (
        ({"odds_ratios": (0.0, 2.0)}, "odds_ratios"),
        ({"odds_ratios": ()}, "odds_ratios"),
        ({"n_sims": 0}, "n_sims"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"confidence": 1.0}, "confidence"),
        ({"target_power": 0.0}, "target_power"),
    ):
        with pytest.raises(ValueError, match=match):
            simulate_power(small, seed=1, **kwargs)


# ----------------------------------------------------------------------------- randomness


def _sim(design, **kwargs):
    return simulate_power(
        design, odds_ratios=(1.0, 2.0), n_sims=7, chunk_size=3, seed=11, **kwargs
    ).table


def test_seed_reproduces_on_threads(small):
    base = _sim(small)
    with ThreadPoolExecutor(max_workers=3) as pool:
        assert _sim(small, executor=pool).equals(base)


@pytest.mark.slow
def test_seed_reproduces_on_processes(small):
    ctx = multiprocessing.get_context("spawn")  # no fork after polars' threads have started
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        assert _sim(small, executor=pool).equals(_sim(small))


def test_seeds_differ_and_fresh_entropy_replays(small):
    a = simulate_power(small, odds_ratios=(2.0,), n_sims=6, seed=1)
    b = simulate_power(small, odds_ratios=(2.0,), n_sims=6, seed=2)
    assert not a.table.equals(b.table)
    fresh = simulate_power(small, odds_ratios=(2.0,), n_sims=6, chunk_size=4)
    replay = simulate_power(
        small, odds_ratios=(2.0,), n_sims=6, chunk_size=4, seed=fresh.seed_entropy
    )
    assert fresh.seed is None and replay.table.equals(fresh.table)
    rng_a = simulate_power(small, odds_ratios=(2.0,), n_sims=6, rng=np.random.default_rng(9))
    rng_b = simulate_power(small, odds_ratios=(2.0,), n_sims=6, rng=np.random.default_rng(9))
    assert rng_a.table.equals(rng_b.table) and rng_a.seed == rng_b.seed


def test_coverage_by_test_inversion_gives_the_interval_decisions(small):
    kw = {"odds_ratios": (1.0, 1.5, 3.0), "n_sims": 60, "chunk_size": 7, "seed": 12}
    by_interval = simulate_power(small, **kw).table
    by_test = simulate_power(small, coverage_by="test", **kw).table
    cols = ["n_rejected", "n_covered", "n_fitted", "mean_estimate", "mean_events"]
    assert by_test.select(cols).equals(by_interval.select(cols))
    assert by_test["n_covered"].sum() < 180 and 0 < by_test["n_rejected"].sum() < 180
    with pytest.raises(TypeError, match="interval"):  # a fitter without null= / interval=
        simulate_power(small, fit=stub_fit, coverage_by="test", **kw)
    with pytest.raises(ValueError, match="coverage_by"):
        simulate_power(small, coverage_by="wald", **kw)


def test_progress_is_reported_per_chunk(small):
    calls = []
    simulate_power(
        small, odds_ratios=(1.0, 2.0), n_sims=5, chunk_size=2, seed=1, fit=stub_fit,
        progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    assert calls == [(2, 10), (4, 10), (5, 10), (7, 10), (9, 10), (10, 10)]


# ----------------------------------------------------------------------------- the fitter


def test_score_fit_is_the_test_of_collaboration_effect():
    """The power simulation calibrates the test the headline reports (CV3 scores)."""
    frame = small_frame(seed=8)
    d = build_design(frame, "exposure", "Outstanding", ("control",), "icb_code")[0]
    ref = collaboration_effect(frame, "exposure", controls=["control"], permutations=499, seed=5)
    boot_ss = np.random.SeedSequence(5).spawn(2)[0]  # collaboration_effect's bootstrap stream
    f = score_bootstrap_fit(
        "glm_cluster", d.y, d.x, d.Z[:, 1:], d.g, rng=np.random.default_rng(boot_ss),
        draws=499, tol=1e-7,
    )  # fmt: skip
    assert f.estimate == pytest.approx(ref.estimate, rel=1e-12)
    assert f.p_value == ref.p_value_model
    assert f.ci_lower == pytest.approx(ref.ci_lower, rel=1e-5)
    assert f.ci_upper == pytest.approx(ref.ci_upper, rel=1e-5)
    assert (f.n, f.n_clusters, f.n_events) == (ref.n_providers, ref.n_clusters, ref.n_outcome)


def test_jackknife_scores_widen_the_interval_and_ignore_row_order():
    d = build_design(small_frame(seed=8), "exposure", "Outstanding", ("control",), "icb_code")[0]
    z = d.Z[:, 1:]
    kw = {"draws": 499, "tol": 1e-7}
    cv3 = score_bootstrap_fit("glm_cluster", d.y, d.x, z, d.g, rng=np.random.default_rng(1), **kw)
    raw = score_bootstrap_fit(
        "glm_cluster", d.y, d.x, z, d.g, rng=np.random.default_rng(1), correction="none", **kw
    )
    assert cv3.estimate == raw.estimate
    assert cv3.ci_lower < raw.ci_lower and cv3.ci_upper > raw.ci_upper
    perm = np.random.default_rng(0).permutation(len(d.y))
    shuffled = score_bootstrap_fit(
        "glm_cluster", d.y[perm], d.x[perm], z[perm], d.g[perm], rng=np.random.default_rng(1), **kw
    )
    assert shuffled.p_value == cv3.p_value
    assert shuffled.ci_lower == pytest.approx(cv3.ci_lower, rel=1e-9)


def test_score_fit_errors():
    y, x, g = np.array([0.0, 1.0, 0.0, 1.0]), np.arange(4.0), np.array([0, 1, 2, 2])
    z = np.zeros((4, 0))
    for args, kwargs, match in (
        (("gee_exchangeable", y, x, z, g), {}, "only 'glm_cluster'"),
        (("glm_cluster", y, x, z, g), {"ordinal": True}, "binary outcome"),
        (("glm_cluster", y, x, z, g), {"correction": "cv2"}, "correction"),
        (("glm_cluster", y, x, z, g), {"draws": 10}, "draws"),
        (("glm_cluster", y * 2, x, z, g), {}, "binary"),
        (("glm_cluster", y * 0, x, z, g), {}, "no variation"),
        (("glm_cluster", y, x, z, np.array([0, 1, 1, 1])), {}, "at least 3 clusters"),
        (("glm_cluster", y, x[:3], z, g), {}, "one row per provider"),
    ):
        with pytest.raises(ValueError, match=match):
            score_bootstrap_fit(*args, **kwargs)


# ----------------------------------------------------------------------------- real design


@pytest.fixture(scope="module")
def gp_designs():
    """The real GP designs, self-containment per SD, controls rating year and deprivation.

    ``main``: practices rated since July 2022 (after ICSs began), Good-or-Outstanding
    (Outstanding recoded as Good, so ``rating == "Good"`` is Good or Outstanding);
    ``outstanding``: every rating year, Outstanding.
    """
    from ics_model.config import RunConfig
    from ics_model.data import cqc
    from ics_model.data.sources import SOURCES
    from ics_model.pipeline import run

    result = run(RunConfig.model_validate({"metrics": {"sii_repetitions": 1000}}))
    gp = cqc.read_gp_practices(SOURCES["cqc_gp_practices_2024"].path)
    exposure = result.metrics.ics_metrics.filter(pl.col("metric") == "self_containment")
    post = default_population(result.views.mapped, gp)
    good_or_outstanding = post.frame.with_columns(
        pl.col("rating").cast(pl.String).replace("Outstanding", "Good")
    )
    every_year = default_population(result.views.mapped, gp, since=None)
    return {
        "main": build_design(good_or_outstanding, exposure, "Good", post.controls, "icb_code")[0],
        "outstanding": build_design(
            every_year.frame, exposure, "Outstanding", every_year.controls, "icb_code"
        )[0],
    }


@pytest.mark.slow
def test_real_gp_designs(gp_designs):
    main, out = gp_designs["main"], gp_designs["outstanding"]
    assert (len(main.y), main.n_clusters, int(main.y.sum())) == (714, 42, 504)
    assert (len(out.y), out.n_clusters, int(out.y.sum())) == (6149, 42, 290)
    null = null_model(out)
    assert null.icc_observed == pytest.approx(0.02195, abs=5e-5)
    assert planted_design(out, null).sigma == pytest.approx(0.663, abs=1e-3)
    assert null_model(main).icc_observed == pytest.approx(0.02948, abs=5e-5)


def _calibration(design, n_sims, **kwargs):
    r = simulate_power(
        design, odds_ratios=(1.0, 2.0), n_sims=n_sims, seed=20220701, coverage_by="test", **kwargs
    )
    null, planted = r.table.row(0, named=True), r.table.row(1, named=True)
    # a rare simulated data set can fail to fit (e.g. separation); it is counted, never
    # hidden, and must stay rare (at most 1%)
    assert null["n_failed"] <= 0.01 * n_sims and planted["n_failed"] <= 0.01 * n_sims
    assert 0.03 <= null["power"] <= 0.07  # rejection rate at 5% under no effect
    assert 0.93 <= planted["coverage"] <= 0.97  # 95% intervals covering OR 2
    assert planted["power"] > 0.9
    assert planted["mean_estimate"] == pytest.approx(2.0, rel=0.05)  # recovered
    assert null["mean_estimate"] == pytest.approx(1.0, abs=0.05)


@pytest.mark.slow
def test_main_specification_calibration_coverage_and_rejection(gp_designs):
    """2,000 simulations at OR 1 and at OR 2 per SD (the issue's first criterion).

    Coverage by test inversion: a simulation counts as covered when the test of the
    planted value does not reject, the decision of the 95% interval itself (checked
    simulation by simulation in ``test_real_design_executors_and_coverage_modes_agree``).
    """
    _calibration(gp_designs["main"], 2000)


@pytest.mark.slow
def test_every_year_outstanding_calibration_coverage_and_rejection(gp_designs):
    """1,000 simulations each on the design where the uncorrected bootstrap under-covers."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        _calibration(gp_designs["outstanding"], 1000, executor=pool, chunk_size=50)


@pytest.mark.slow
def test_real_design_power_rises_with_the_odds_ratio(gp_designs):
    ors = (1.0, 1.25, 1.5, 2.0)
    r = simulate_power(gp_designs["main"], odds_ratios=ors, n_sims=400, seed=7, coverage_by="test")
    power = r.table["power"].to_list()
    assert power[0] < power[1] < power[2] < power[3]
    assert power[2] - power[0] > 0.5  # far more than Monte Carlo noise (SE < 0.025)
    assert 1.25 < r.min_detectable_effect < 2.0


@pytest.mark.slow
def test_real_design_executors_and_coverage_modes_agree(gp_designs):
    kw = {"odds_ratios": (1.0, 2.0), "n_sims": 8, "chunk_size": 3, "seed": 3}
    for design in gp_designs.values():
        base = simulate_power(design, **kw).table
        with ThreadPoolExecutor(max_workers=2) as pool:
            assert simulate_power(design, executor=pool, **kw).table.equals(base)
        by_test = simulate_power(design, coverage_by="test", **kw).table
        cols = ["n_rejected", "n_covered", "mean_estimate"]
        assert by_test.select(cols).equals(base.select(cols))
