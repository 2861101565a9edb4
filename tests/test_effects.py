"""collaboration_effect: calibration on simulated clustered data, bookkeeping, real data."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest

from ics_model.config import RunConfig
from ics_model.data import cqc
from ics_model.data.sources import SOURCES
from ics_model.effects import (
    GP_SINCE,
    STANDARD_CAVEATS,
    anova_icc,
    collaboration_effect,
    default_population,
    gp_population,
    min_detectable_or,
    trust_population,
)
from ics_model.pipeline import run
from ics_model.ratings import RatingEnum


def _expit(eta: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * eta))


def simulate_clustered(
    n_clusters: int = 42,
    m: int | Sequence[int] = 20,
    beta: float = 0.0,
    icc: float = 0.05,
    prevalence: float = 0.05,
    *,
    seed: int | np.random.Generator | None = None,
) -> pl.DataFrame:
    """Providers in clusters with an ICS-level exposure.

    ``logit P(y = 1) = a + beta x_g + u_g``: ``x_g`` standard normal rescaled to mean 0 and
    SD exactly 1 across clusters (so ``beta`` is the log-odds per sample SD);
    ``u_g ~ N(0, s^2)``, ``s^2 = icc / (1 - icc) pi^2 / 3`` (``icc`` on the latent logistic
    scale); ``a`` solves ``E[expit(a + N(0, beta^2 + s^2))] = prevalence`` by Gauss-Hermite
    quadrature. ``beta`` is cluster-specific; the population-averaged log odds ratio that
    a marginal logistic regression estimates is about ``beta / sqrt(1 + 0.346 s^2)``
    (Zeger, Liang & Albert 1988). ``control`` is noise unrelated to the outcome.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sizes = np.full(n_clusters, m) if isinstance(m, int) else np.asarray(m, dtype=int)
    x = rng.standard_normal(n_clusters)
    x = (x - x.mean()) / x.std(ddof=1)
    s = math.sqrt(icc / (1 - icc) * math.pi**2 / 3)
    u = rng.normal(0.0, s, n_clusters)
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    spread = math.sqrt(beta**2 + s**2) * nodes
    lo, hi = -40.0, 40.0
    for _ in range(100):
        a = 0.5 * (lo + hi)
        mean_p = float(weights @ _expit(a + spread)) / math.sqrt(2 * math.pi)
        lo, hi = (a, hi) if mean_p < prevalence else (lo, a)
    g = np.repeat(np.arange(n_clusters), sizes)
    y = rng.random(len(g)) < _expit(a + beta * x[g] + u[g])
    return pl.DataFrame(
        {
            "provider_id": [f"P{i:06d}" for i in range(len(g))],
            "icb_code": [f"C{k:03d}" for k in g],
            "rating": pl.Series(np.where(y, "Outstanding", "Good"), dtype=RatingEnum),
            "exposure": x[g],
            "control": rng.standard_normal(len(g)),
        }
    )


def marginal_log_or(beta: float, icc: float) -> float:
    s2 = icc / (1 - icc) * math.pi**2 / 3
    return beta / math.sqrt(1 + 0.346 * s2)


def binom_ppf(q: float, n: int, p: float) -> int:
    """Smallest k with P(X <= k) >= q for X ~ Binomial(n, p) (as scipy.stats.binom.ppf)."""
    cdf = 0.0
    for k in range(n + 1):
        cdf += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        if cdf >= q - 1e-12:
            return k
    return n


def band(n: int, p: float) -> tuple[float, float]:
    """99% binomial band for a rejection rate over n independent tests at level p."""
    return binom_ppf(0.005, n, p) / n, binom_ppf(0.995, n, p) / n


# ----------------------------------------------------------------------------- calibration


def test_binomial_band_is_exact():
    assert band(200, 0.05) == (3 / 200, 19 / 200)  # scipy.stats.binom.ppf gives 3 and 19
    assert band(200, 0.5) == (82 / 200, 118 / 200)


def test_known_effect_is_recovered():
    beta, icc = math.log(2.0), 0.02
    df = simulate_clustered(42, 200, beta=beta, icc=icc, prevalence=0.1, seed=11)
    r = collaboration_effect(df, "exposure", controls=["control"], permutations=499, seed=1)
    true_or = math.exp(marginal_log_or(beta, icc))
    assert r.ci_lower <= true_or <= r.ci_upper
    assert r.ci_lower > 1.2 and r.p_value_model < 0.01 and r.p_value_permutation < 0.01
    assert r.log_odds_per_sd == pytest.approx(beta, abs=0.15)
    assert r.odds_ratio_per_unit == pytest.approx(r.odds_ratio_per_sd)  # exposure SD is 1
    assert r.exposure_level == "ics" and r.icc_exposure == 1.0


def test_rejection_rates_under_no_effect_lie_in_the_binomial_band():
    """200 null datasets: 5% tests reject within the exact 99% band around 0.05."""
    n_sets = 200
    p_model, p_perm = [], []
    for i in range(n_sets):
        df = simulate_clustered(42, 15, beta=0.0, icc=0.05, prevalence=0.08, seed=1000 + i)
        r = collaboration_effect(df, "exposure", controls=["control"], permutations=199, seed=i)
        p_model.append(r.p_value_model)
        p_perm.append(r.p_value_permutation)
    lo, hi = band(n_sets, 0.05)
    half_lo, half_hi = band(n_sets, 0.5)
    for p in (np.array(p_model), np.array(p_perm)):
        assert lo <= np.mean(p <= 0.05) <= hi
        assert half_lo <= np.mean(p <= 0.5) <= half_hi  # roughly uniform, not just the tail


def test_seeds_reproduce_and_differ():
    df = simulate_clustered(42, 15, beta=0.2, icc=0.05, prevalence=0.1, seed=3)
    a = collaboration_effect(df, "exposure", permutations=999, seed=7)
    b = collaboration_effect(df, "exposure", permutations=999, seed=7)
    c = collaboration_effect(df, "exposure", permutations=999, seed=8)
    assert a.to_dict() == b.to_dict()
    assert a.p_value_permutation != c.p_value_permutation
    assert a.p_value_model != c.p_value_model
    assert a.estimate == c.estimate  # the point estimate involves no randomness
    fresh = collaboration_effect(df, "exposure", permutations=199)
    replay = collaboration_effect(df, "exposure", permutations=199, seed=fresh.seed_entropy)
    assert fresh.seed is None
    assert replay.p_value_permutation == fresh.p_value_permutation
    assert replay.ci_lower == fresh.ci_lower


# ----------------------------------------------------------------------------- bookkeeping


@pytest.fixture(scope="module")
def sim() -> pl.DataFrame:
    return simulate_clustered(42, 12, beta=0.3, icc=0.05, prevalence=0.12, seed=21)


REQUIRED_KEYS = {
    "estimate", "odds_ratio_per_unit", "odds_ratio_per_sd", "ci_lower", "ci_upper",
    "p_value_model", "p_value_permutation", "n_providers", "n_clusters",
    "min_detectable_effect", "method", "caveats", "outcome", "exposure", "controls",
    "n_outcome", "seed", "permutations", "se_cr1", "n_dropped", "dropped_clusters",
}  # fmt: skip


def test_to_dict_keys_method_and_caveats(sim):
    r = collaboration_effect(sim, "exposure", controls=["control"], permutations=199, seed=2)
    d = r.to_dict()
    assert set(d) >= REQUIRED_KEYS
    assert d["estimate"] == d["odds_ratio_per_sd"]
    assert d["ci_lower"] < d["estimate"] < d["ci_upper"]
    assert d["controls"] == ["control"] and d["n_dropped"] == {} and d["dropped_clusters"] == []
    assert d["n_outcome"] == sim.filter(pl.col("rating") == "Outstanding").height
    assert d["n_providers"] == sim.height and d["n_clusters"] == 42
    assert d["seed"] == 2 and d["permutations"] == 199 and d["bootstrap_draws"] == 199
    assert "Association only, not causal" in r.method and "wild cluster" in r.method
    assert "Kline & Santos" in r.method and "Webb" in r.method
    text = " ".join(r.caveats)
    for phrase in ("not a causal", "Vintages differ", "proxy", "inherited", "Few clusters"):
        assert phrase in text
    assert any(c.startswith(("Rare outcome", "Outcome")) for c in r.caveats)
    assert set(STANDARD_CAVEATS) <= set(r.caveats)
    assert all(c in str(r) for c in r.caveats) and str(r) == r.summary()
    more = r.with_caveats(["dataset note"])
    assert more.caveats[-1] == "dataset note" and r.caveats[-1] != "dataset note"


def test_cr1_is_reported_and_mde_follows_its_formula(sim):
    r = collaboration_effect(sim, "exposure", permutations=199, seed=2)
    assert r.se_cr1 > 0 and r.se_model > 0
    assert r.ci_cr1_lower < r.estimate < r.ci_cr1_upper
    sizes = sim.group_by("icb_code").len()["len"].to_numpy().astype(float)
    m_tilde = float(np.sum(sizes**2)) / r.n_providers
    assert r.design_effect == pytest.approx(1 + (m_tilde - 1) * r.icc_outcome * r.icc_exposure)
    mde = min_detectable_or(
        r.n_providers, r.prevalence, r.design_effect, r.exposure_residual_variance
    )
    assert r.min_detectable_effect == pytest.approx(mde)
    z = 1.959963984540054 + 0.8416212335729143
    assert min_detectable_or(1000, 0.1, 2.0, 1.0) == pytest.approx(
        math.exp(z * math.sqrt(2.0 / (1000 * 0.1 * 0.9)))
    )
    assert min_detectable_or(4000, 0.1) < min_detectable_or(1000, 0.1)
    with pytest.raises(ValueError):
        min_detectable_or(100, 0.0)


def test_anova_icc():
    clusters = np.array([0, 0, 1, 1, 2, 2])
    assert anova_icc(np.array([1.0, 1.0, 0.0, 0.0, 3.0, 3.0]), clusters) == 1.0
    assert anova_icc(np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0]), clusters) == 0.0  # floored
    # hand computation: means 0.5, 1, 0; MSB = 1 / 2, MSW = 0.5 / 3, m0 = 2
    v = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    msb, msw = 0.5, 0.5 / 3
    assert anova_icc(v, clusters) == pytest.approx((msb - msw) / (msb + msw))
    assert anova_icc(np.ones(6), clusters) == 0.0


def test_dropped_rows_are_counted_by_reason(sim):
    df = sim.with_columns(
        pl.when(pl.col("provider_id").is_in(["P000000", "P000001"]))
        .then(None)
        .otherwise(pl.col("rating"))
        .alias("rating"),
        pl.when(pl.col("provider_id") == "P000100")
        .then(None)
        .otherwise(pl.col("control"))
        .alias("control"),
        pl.when(pl.col("provider_id") == "P000101")
        .then(float("nan"))
        .otherwise(pl.Series(np.random.default_rng(9).standard_normal(sim.height)))
        .alias("control2"),
    )
    before = df.clone()
    exposure = df.select("icb_code", "exposure").unique().filter(pl.col("icb_code") != "C005")
    r = collaboration_effect(
        df.drop("exposure"), exposure, controls=["control", "control2"], permutations=199, seed=1
    )
    assert df.equals(before)  # inputs are not modified
    n_c005 = df.filter(pl.col("icb_code") == "C005").height
    assert dict(r.n_dropped) == {
        "null_rating": 2,
        "missing_exposure": n_c005,
        "missing_control": 1,
        "missing_control2": 1,
    }
    assert r.dropped_clusters == ("C005",) and r.n_clusters == 41
    assert r.n_providers == df.height - 4 - n_c005
    assert any("Rows dropped" in c and "C005" in c for c in r.caveats)


def test_exposure_as_column_and_as_ics_frame_agree(sim):
    by_col = collaboration_effect(sim, "exposure", controls=["control"], permutations=199, seed=4)
    frame = sim.select("icb_code", "exposure").unique()
    by_frame = collaboration_effect(
        sim.drop("exposure"), frame, controls=["control"], permutations=199, seed=4
    )
    long = frame.select(
        "icb_code", pl.lit("exposure").alias("metric"), pl.col("exposure").alias("value")
    )
    by_long = collaboration_effect(
        sim.drop("exposure"), long, controls=["control"], permutations=199, seed=4
    )
    for other in (by_frame, by_long):
        a, b = by_col.to_dict(), other.to_dict()
        for k, v in a.items():
            if isinstance(v, float):
                assert b[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k
            else:
                assert b[k] == v, k


def test_categorical_control_is_expanded_to_dummies(sim):
    rng = np.random.default_rng(5)
    band_ = rng.choice(["a", "b", "c"], size=sim.height)
    df = sim.with_columns(
        pl.Series("band", band_),
        pl.Series("d_b", (band_ == "b").astype(float)),
        pl.Series("d_c", (band_ == "c").astype(float)),
        pl.Series("band_enum", band_, dtype=pl.Enum(["c", "a", "b"])),
    )
    cat = collaboration_effect(df, "exposure", controls=["band"], permutations=199, seed=6)
    num = collaboration_effect(df, "exposure", controls=["d_b", "d_c"], permutations=199, seed=6)
    enum = collaboration_effect(df, "exposure", controls=["band_enum"], permutations=199, seed=6)
    assert cat.design_columns == ("exposure (per SD)", "(intercept)", "band=b", "band=c")
    assert enum.design_columns[2:] == ("band_enum=a", "band_enum=b")  # Enum order: c first
    for r in (num, enum):
        assert r.log_odds_per_sd == pytest.approx(cat.log_odds_per_sd, rel=1e-8)
        assert r.p_value_model == cat.p_value_model
        assert r.ci_lower == pytest.approx(cat.ci_lower, rel=1e-5)


def test_provider_level_exposure_has_no_permutation_test(sim):
    df = sim.with_columns((pl.col("exposure") + pl.col("control")).alias("mixed"))
    r = collaboration_effect(df, "mixed", permutations=199, seed=1)
    assert r.exposure_level == "provider" and r.p_value_permutation is None
    assert 0 < r.icc_exposure < 1
    assert r.exposure_sd == pytest.approx(df["mixed"].std())
    assert any(c.startswith("No permutation test") for c in r.caveats)


def test_clear_errors(sim):
    with pytest.raises(ValueError, match="at least 99"):
        collaboration_effect(sim, "exposure", permutations=10)
    with pytest.raises(ValueError, match="no variation"):
        collaboration_effect(sim.with_columns(pl.lit("Good").alias("rating")), "exposure")
    with pytest.raises(ValueError, match="not in providers"):
        collaboration_effect(sim, "nope")
    with pytest.raises(ValueError, match="lacks column"):
        collaboration_effect(sim, "exposure", controls=["nope"])
    with pytest.raises(ValueError, match="not a rating label"):
        collaboration_effect(sim, "exposure", outcome="Excellent")
    with pytest.raises(ValueError, match="does not vary"):
        collaboration_effect(sim.with_columns(pl.lit(1.0).alias("exposure")), "exposure")
    with pytest.raises(ValueError, match="numeric"):
        collaboration_effect(sim.with_columns(pl.lit("x").alias("exposure")), "exposure")
    with pytest.raises(ValueError, match="collinear"):
        twice = sim.with_columns((2 * pl.col("exposure")).alias("ics_control"))
        collaboration_effect(twice, "exposure", controls=["ics_control"])
    dup = pl.DataFrame({"icb_code": ["C000", "C000"], "x": [1.0, 2.0]})
    with pytest.raises(ValueError, match="more than one row"):
        collaboration_effect(sim.drop("exposure"), dup)
    two = pl.DataFrame({"icb_code": ["C000"], "x": [1.0], "z": [2.0]})
    with pytest.raises(ValueError, match="one column"):
        collaboration_effect(sim.drop("exposure"), two)


# ----------------------------------------------------------------------------- populations


def _mapped(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=["sector", "provider_id", "icb_code", "rating"], orient="row"
    ).with_columns(
        pl.lit("Overall").alias("key_question"),
        pl.lit(None, dtype=pl.Date).alias("publication_date"),
        pl.lit("own").alias("rating_source"),
        pl.lit(None, dtype=pl.String).alias("inherited_from"),
    )


def test_gp_population_keeps_ratings_after_july_2022_by_year():
    mapped = _mapped([("gp_practice", f"A{y}", "QAA", "Good") for y in range(2020, 2025)])
    gp = pl.DataFrame(
        {
            "practice_code": [f"A{y}" for y in range(2020, 2025)] + [None],
            "publication_year": [2020, 2021, 2022, 2023, 2024, 2023],
            "key_question": ["Overall"] * 6,
            "imd_score": [10.0, 20.0, 30.0, 40.0, 50.0, 1.0],
            "imd_quintile": [5, 4, 3, 2, 1, 1],
        }
    )
    default = gp_population(mapped, gp)
    assert GP_SINCE == "2022-07-01"
    assert default["publication_year"].to_list() == [2023, 2024]
    assert default.columns == [
        "provider_id", "icb_code", "rating", "publication_year", "rating_year",
        "imd_score", "imd_quintile",
    ]  # fmt: skip
    assert default["rating_year"].to_list() == ["2023", "2024"]
    assert gp_population(mapped, gp, since=None).height == 5
    assert gp_population(mapped, gp, since="2022-01-01")["publication_year"].min() == 2022
    pop = default_population(mapped, gp)
    assert pop.controls == ("rating_year", "imd_score") and "2023 or later" in pop.caveats[0]
    with pytest.raises(ValueError, match="gp_loaded"):
        default_population(mapped)


def test_trust_population():
    mapped = _mapped([("nhs_trust", "RAA", "QAA", "Good"), ("gp_practice", "A1", "QAA", "Good")])
    t = trust_population(mapped)
    assert t["provider_id"].to_list() == ["RAA"]
    assert {"publication_year", "rating_year", "rating_source", "inherited_from"} <= set(t.columns)
    assert default_population(mapped, sector="nhs_trust").controls == ("publication_year",)


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real():
    result = run(RunConfig.model_validate({"metrics": {"sii_repetitions": 1000}}))
    gp = cqc.read_gp_practices(SOURCES["cqc_gp_practices_2024"].path)
    return result, gp


def test_real_gp_data_with_self_containment(real):
    result, gp = real
    pop = default_population(result.views.mapped, gp)
    assert pop.frame["icb_code"].n_unique() == 42
    assert pop.frame["publication_year"].min() >= 2023
    exposure = result.metrics.ics_metrics.filter(pl.col("metric") == "self_containment")
    r = collaboration_effect(
        pop.frame, exposure, controls=pop.controls, permutations=2000, seed=20220701
    ).with_caveats(pop.caveats)
    assert r.exposure == "self_containment" and r.exposure_level == "ics"
    # every ICS has an exposure (Frimley's flows come through the ICB crosswalk)
    assert r.n_clusters == 42 and r.dropped_clusters == ()
    assert dict(r.n_dropped) == {"missing_imd_score": 4}
    assert any("clusters without exposure: none" in c for c in r.caveats)
    assert r.caveats[-1] == pop.caveats[0]
    assert (
        r.n_outcome
        == pop.frame.filter(
            (pl.col("rating") == "Outstanding") & pl.col("imd_score").is_not_null()
        ).height
        == 5
    )
    assert 0 < r.p_value_model <= 1 and 0 < r.p_value_permutation <= 1
    assert r.ci_lower < r.estimate < r.ci_upper and r.min_detectable_effect > 1
