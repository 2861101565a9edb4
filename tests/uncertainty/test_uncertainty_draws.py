"""Array kernels: weight draws, scores, ranks, per-draw normalisers, provider bootstrap."""

import numpy as np
import polars as pl
import pytest
from scipy.stats import rankdata

from ics_model.composite import CompositeSpec
from ics_model.composite.kernel import aggregate
from ics_model.composite.methods import MISSING_POLICIES, NORMALISERS, TRANSFORMS, CompositeError
from ics_model.uncertainty import (
    UncertaintyError,
    provider_counts,
    rank_rows,
    rank_summary,
    resample_indicators,
    score_draws,
    weight_draws,
    weight_monte_carlo,
)
from ics_model.uncertainty.draws import quantiles_over_draws

PILLAR_OF = np.array([0, 0, 0, 1, 1, 2])
W_IND = np.array([1.0, 2.0, 3.0, 1.0, 1.0, 5.0])
W_PIL = np.array([2.0, 1.0, 1.0])


def _nominal():
    within = np.array([W_IND[q == PILLAR_OF].sum() for q in range(3)])
    return W_IND / within[PILLAR_OF], W_PIL / W_PIL.sum()


def test_dirichlet_draws_centred_on_configured_weights():
    wi, wp = weight_draws(
        W_IND, W_PIL, PILLAR_OF, n=20_000, rng=np.random.default_rng(1), concentration=50
    )
    nom_i, nom_p = _nominal()
    np.testing.assert_allclose(wi.mean(axis=0), nom_i, atol=0.003)
    np.testing.assert_allclose(wp.mean(axis=0), nom_p, atol=0.003)
    # each pillar's indicator weights and the pillar weights sum to 1
    for q in range(3):
        np.testing.assert_allclose(wi[:, q == PILLAR_OF].sum(axis=1), 1.0)
    np.testing.assert_allclose(wp.sum(axis=1), 1.0)
    # Var = w (1 - w) / (kappa + 1)
    np.testing.assert_allclose(wp.var(axis=0), nom_p * (1 - nom_p) / 51, rtol=0.05)
    assert np.all(wi[:, 5] == 1.0)  # a single-indicator pillar


def test_uniform_draws_within_spread_and_none_is_configured():
    wi, _ = weight_draws(
        np.ones(4), np.ones(1), np.zeros(4, int), n=5000, rng=np.random.default_rng(2),
        method="uniform", spread=0.25,
    )  # fmt: skip
    # a weight's share is at most (1.25) / (1.25 + 3 * 0.75) of the pillar
    assert wi.min() >= 0.75 / (0.75 + 3 * 1.25) - 1e-12
    assert wi.max() <= 1.25 / (1.25 + 3 * 0.75) + 1e-12
    np.testing.assert_allclose(wi.mean(axis=0), 0.25, atol=0.003)
    wi, wp = weight_draws(W_IND, W_PIL, PILLAR_OF, n=3, rng=np.random.default_rng(3), method="none")
    nom_i, nom_p = _nominal()
    np.testing.assert_array_equal(wi, np.tile(nom_i, (3, 1)))
    np.testing.assert_array_equal(wp, np.tile(nom_p, (3, 1)))


def test_zero_weights_stay_zero():
    w = np.array([0.0, 1.0, 1.0, 1.0, 0.0, 1.0])
    wi, wp = weight_draws(w, [1.0, 0.0, 1.0], PILLAR_OF, n=100, rng=np.random.default_rng(4))
    assert np.all(wi[:, [0, 4]] == 0) and np.all(wp[:, 1] == 0)


def _values(rng, n=15, k=6, missing=True):
    v = rng.uniform(1, 100, (n, k))
    if missing:
        v[rng.random((n, k)) < 0.15] = np.nan
        v[0, :3] = np.nan  # a whole pillar missing for one ICS
    return v


@pytest.mark.parametrize(
    ("method", "p"),
    [("arithmetic", 1.0), ("geometric", 1.0), ("harmonic", 1.0), ("generalised", 0.5),
     ("generalised", -2.0), ("generalised", 0.0)],
)  # fmt: skip
def test_draw_weights_equal_effective_weights(method, p):
    rng = np.random.default_rng(5)
    v = _values(rng)
    wi, wp = weight_draws(W_IND, W_PIL, PILLAR_OF, n=50, rng=rng)
    methods = [method] * 3
    expect = aggregate(v, wi, wp, PILLAR_OF, methods, method, p, renormalise=True).score
    np.testing.assert_allclose(aggregate(v, wi, wp, PILLAR_OF, methods, method, p).score, expect,
                               rtol=1e-10)  # fmt: skip
    # draws x ICS x indicator values (bootstrap form): the same, row by row
    v3 = np.repeat(v[None], 50, axis=0)
    got3 = aggregate(v3, wi, wp, PILLAR_OF, methods, method, p).score
    np.testing.assert_allclose(got3, expect, rtol=1e-10)


def test_mixed_pillar_methods_equal_effective_weights():
    rng = np.random.default_rng(6)
    v = _values(rng)
    wi, wp = weight_draws(W_IND, W_PIL, PILLAR_OF, n=20, rng=rng)
    methods = ["geometric", "arithmetic", "harmonic"]
    expect = aggregate(v, wi, wp, PILLAR_OF, methods, "geometric", renormalise=True).score
    got = aggregate(v, wi, wp, PILLAR_OF, methods, "geometric").score
    np.testing.assert_allclose(got, expect, rtol=1e-10)


@pytest.mark.parametrize("ties", ["min", "average"])
def test_rank_rows_matches_scipy(ties):
    rng = np.random.default_rng(7)
    s = rng.integers(0, 6, (200, 12)).astype(float)  # many ties
    s[rng.random(s.shape) < 0.1] = np.nan
    got = rank_rows(s, ties)
    for row, ranks in zip(s, got, strict=True):
        ok = ~np.isnan(row)
        expect = rankdata(-row[ok], method=ties)
        np.testing.assert_array_equal(ranks[ok], expect)
        assert np.isnan(ranks[~ok]).all()


@pytest.mark.parametrize("name", ["minmax", "zscore", "rank", "percentile_rank", "goalposts"])
def test_registry_normalisers_on_draws_equal_row_by_row(name):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(30, 11))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[3] = 2.0  # constant row
    x[4, 1:] = np.nan  # a single value
    x[5, :4] = x[5, 4]  # ties
    x[6] = np.nan  # nothing observed
    kw = {"out_range": (1.0, 100.0), "goalposts": (-1.0, 1.5)}
    got = NORMALISERS[name](x, **kw)
    expect = np.stack([NORMALISERS[name](r, **kw) for r in x])
    np.testing.assert_array_equal(got, expect)  # bit for bit, NaN where NaN
    three = NORMALISERS[name](x.reshape(3, 10, 11), **kw)  # any leading axes
    np.testing.assert_array_equal(three.reshape(30, 11), expect)


@pytest.mark.parametrize("name", ["none", "log", "winsorise"])
def test_registry_transforms_on_draws_equal_row_by_row(name):
    rng = np.random.default_rng(9)
    x = rng.uniform(0.1, 5, (20, 9))
    x[rng.random(x.shape) < 0.2] = np.nan
    kw = {"indicator": "x", "quantiles": (0.1, 0.9)}
    expect = np.stack([TRANSFORMS[name](r, **kw) for r in x])
    np.testing.assert_array_equal(TRANSFORMS[name](x, **kw), expect)


def test_transform_log_rejects_a_zero_share_in_any_draw():
    with pytest.raises(CompositeError, match="log transform"):
        TRANSFORMS["log"](np.array([[0.5, 0.5], [0.0, 0.5]]), indicator="x")


@pytest.mark.parametrize("policy", ["skip_reweight", "impute_median"])
def test_registry_missing_policies_on_draws_equal_draw_by_draw(policy):
    rng = np.random.default_rng(12)
    x = rng.uniform(0, 1, (6, 15, 3))  # draws x ICSs x indicators
    x[rng.random(x.shape) < 0.25] = np.nan
    names, codes = ["a", "b", "c"], [f"C{i}" for i in range(15)]
    got, _ = MISSING_POLICIES[policy](x, names, codes)
    expect = np.stack([MISSING_POLICIES[policy](d, names, codes)[0] for d in x])
    np.testing.assert_array_equal(got, expect)
    assert got.flags.c_contiguous


def test_impute_median_on_draws_imputes_each_draw_median():
    x = np.array([[1.0, np.nan, 3.0, 10.0], [np.nan, 2.0, 2.0, 4.0]])[:, :, None]
    filled, notes = MISSING_POLICIES["impute_median"](x, ["x"], list("ABCD"))
    np.testing.assert_array_equal(filled[..., 0], [[1.0, 3.0, 3.0, 10.0], [2.0, 2.0, 2.0, 4.0]])
    assert notes == ["imputed: x", "imputed: x", None, None]  # missing in any draw
    kept, _ = MISSING_POLICIES["skip_reweight"](x, ["x"], list("ABCD"))
    assert np.isnan(kept).sum() == 2


def _providers():
    rows = []
    layout = {"A": ["Good", "Requires improvement"], "B": ["Outstanding"] * 3 + ["Good"] * 7}
    for icb, ratings in layout.items():
        for i, r in enumerate(ratings):
            rows.append((icb, "nhs_trust", f"{icb}{i}", "Overall", r))
    rows.append(("B", "nhs_trust", "Bx", "Overall", None))  # unrated: ignored
    return pl.DataFrame(
        rows, schema=["icb_code", "sector", "provider_id", "key_question", "rating"], orient="row"
    )


def _view_spec():
    ind = [
        {"name": "go", "source": "view:nhs_trust:Overall:share_good_or_outstanding",
         "direction": "higher_is_better"},
        {"name": "o", "source": "view:nhs_trust:Overall:share_outstanding",
         "direction": "higher_is_better"},
        {"name": "ms", "source": "view:nhs_trust:Overall:mean_score",
         "direction": "higher_is_better"},
        {"name": "n", "source": "view:nhs_trust:Overall:n_rated", "direction": "higher_is_better"},
    ]  # fmt: skip
    return CompositeSpec.model_validate({"pillars": {"q": {"indicators": ind}}})


def test_provider_counts_and_resampling():
    spec = _view_spec()
    raw = np.array([[0.5, 0.0, 2.5, 2.0], [1.0, 0.3, 3.3, 10.0], [np.nan] * 3 + [0.0]])
    pc = provider_counts(_providers(), ["A", "B", "C"], spec, raw)
    assert pc.columns == (0, 1, 2) and pc.names == ("go", "o", "ms")  # n_rated held fixed
    np.testing.assert_array_equal(pc.counts[0], [[0, 1, 1, 0], [0, 0, 7, 3], [0, 0, 0, 0]])
    draws = resample_indicators(pc, 4000, np.random.default_rng(10))
    assert draws.shape == (4000, 3, 3)
    assert set(np.unique(draws[:, 0, 0])) <= {0.0, 0.5, 1.0}  # 2 trusts: three values
    np.testing.assert_allclose(draws[:, :2].mean(axis=0), raw[:2, :3], atol=0.02)
    assert np.isnan(draws[:, 2]).all()  # nothing rated: stays missing
    # mean_score and the shares come from the same resample
    np.testing.assert_allclose(draws[:, 1, 0], 1.0)
    np.testing.assert_allclose(draws[:, 1, 2], 3.0 + draws[:, 1, 1])


def test_provider_counts_must_reproduce_the_matrix():
    raw = np.array([[0.4, 0.0, 2.5, 2.0], [1.0, 0.3, 3.3, 10.0], [np.nan] * 3 + [0.0]])
    with pytest.raises(UncertaintyError, match=r"'go'.*A"):
        provider_counts(_providers(), ["A", "B", "C"], _view_spec(), raw)


def test_score_draws_and_rank_summary_match_a_loop():
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 1, (42, 20))
    w = rng.uniform(0.75, 1.25, (500, 20))
    res = score_draws(x, w, np.ones(1), np.zeros(20, int), ties="min", chunk_size=128)
    for d in (0, 123, 499):
        s = x @ (w[d] / w[d].sum())
        np.testing.assert_allclose(res.scores[d], s, rtol=1e-12)
        np.testing.assert_array_equal(res.ranks[d], rankdata(-s, method="min"))
    summary = rank_summary(res.ranks, [f"C{i}" for i in range(42)])
    assert summary.columns == ["icb_code", "rank_median", "rank_p05", "rank_p95"]
    np.testing.assert_allclose(summary["rank_p95"], np.percentile(res.ranks, 95, axis=0))


def test_weight_monte_carlo_is_chunk_seeded():
    rng = np.random.default_rng(12)
    x = rng.uniform(0, 100, (10, 6))
    a = weight_monte_carlo(x, W_IND, W_PIL, PILLAR_OF, draws=250, seed=3, chunk_size=100)
    b = weight_monte_carlo(x, W_IND, W_PIL, PILLAR_OF, draws=250, seed=3, chunk_size=100)
    c = weight_monte_carlo(x, W_IND, W_PIL, PILLAR_OF, draws=250, seed=4, chunk_size=100)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.array_equal(a.scores, c.scores)
    assert a.ranks.shape == (250, 10)


@pytest.mark.parametrize("ties", ["min", "average"])
def test_rank_quantiles_by_counting_equal_numpy(ties):
    rng = np.random.default_rng(13)
    s = rng.integers(0, 8, (999, 15)).astype(float)
    s[:, 4] = np.nan  # never ranked
    s[rng.random(s.shape) < 0.05] = np.nan
    ranks = rank_rows(s, ties)
    got = quantiles_over_draws(ranks, ranks=True)
    ok = ~np.isnan(ranks).all(axis=0)
    expect = np.nanquantile(ranks[:, ok], [0.5, 0.05, 0.95], axis=0)
    np.testing.assert_allclose(got[:, ok], expect, rtol=0, atol=1e-12)
    assert np.isnan(got[:, ~ok]).all()
    np.testing.assert_allclose(quantiles_over_draws(ranks)[:, ok], expect, atol=1e-12)
    with pytest.raises(UncertaintyError, match="ranks must lie"):
        quantiles_over_draws(ranks + 20, ranks=True)


def test_bayesian_bootstrap_widens_a_small_unanimous_system():
    import dataclasses

    from ics_model.uncertainty.bootstrap import ProviderCounts, resample_indicators

    # ICS 0: two providers, both Good; ICS 1: 400 providers, 300 Good and 100 RI
    table = np.array([[0, 0, 2, 0], [0, 100, 300, 0]], dtype=float)
    pc = ProviderCounts(
        columns=(0,),
        names=("go",),
        statistic=("share_good_or_outstanding",),
        group=(0,),
        counts=(table,),
    )
    plain = resample_indicators(pc, 4000, np.random.default_rng(1))[:, :, 0]
    assert plain[:, 0].std() == 0.0  # the plain bootstrap cannot move a unanimous pair
    bayes = resample_indicators(
        dataclasses.replace(pc, method="bayesian"), 4000, np.random.default_rng(1)
    )[:, :, 0]
    assert bayes[:, 0].std() > 0.2  # two providers: the share is very uncertain
    assert bayes[:, 1].std() < 0.05  # 400 providers: it is not
    assert abs(bayes[:, 1].mean() - 0.75) < 0.01
    again = resample_indicators(
        dataclasses.replace(pc, method="bayesian"), 4000, np.random.default_rng(1)
    )[:, :, 0]
    assert np.array_equal(bayes, again)
