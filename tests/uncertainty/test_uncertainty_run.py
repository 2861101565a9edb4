"""run_uncertainty: known answers, reproducibility, executors, provider bootstrap."""

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import polars as pl
import pytest

from ics_model.composite import CompositeSpec, composite, indicator_matrix, normalised_array
from ics_model.ratings import KeyQuestionEnum, RatingEnum, SectorEnum
from ics_model.uncertainty import (
    UncertaintyError,
    UncertaintySpec,
    run_uncertainty,
    weight_monte_carlo,
)
from ics_model.uncertainty.run import PER_ICS_COLUMNS
from ics_model.views import ics_view

N_ICS = 14


def _ind(name, direction="higher_is_better", **kw):
    return {"name": name, "source": f"metric:{name}", "direction": direction, **kw}


def _case(seed=0, missing=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N_ICS, 6)) + np.linspace(0, 1.5, N_ICS)[:, None]
    if missing:
        x[2, 0] = np.nan
        x[5, 3:5] = np.nan  # a whole pillar
        x[9, :] = np.nan  # nothing observed: not ranked (min_coverage)
    matrix = pl.DataFrame(
        {
            "icb_code": [f"Q{i:02d}" for i in range(N_ICS)],
            "icb_name": [f"ICS {i}" for i in range(N_ICS)],
            **{f"m{j}": x[:, j] for j in range(6)},
        }
    )
    spec = CompositeSpec.model_validate(
        {
            "min_coverage": 0.5,
            "pillars": {
                "a": {"weight": 2, "indicators": [_ind("m0", weight=2), _ind("m1"), _ind("m2")]},
                "b": {"indicators": [_ind("m3"), _ind("m4", "lower_is_better")]},
                "c": {"indicators": [_ind("m5")]},
            },
        }
    )
    return matrix, spec


def _quiet(**kw):
    return UncertaintySpec.model_validate({"bootstrap": False, **kw})


def test_no_noise_every_draw_is_the_deterministic_composite():
    matrix, cspec = _case()
    spec = _quiet(draws=25, chunk_size=10, weights={"method": "none"})
    res = run_uncertainty(matrix, spec, cspec)
    det = composite(matrix, cspec).scores
    expect = det["score"].fill_null(np.nan).to_numpy()
    assert res.scores.shape == (25, N_ICS)
    np.testing.assert_allclose(res.scores, np.tile(expect, (25, 1)), rtol=1e-12, equal_nan=True)
    per = res.per_ics
    assert per.columns == list(PER_ICS_COLUMNS)
    assert per["rank"].to_list() == det["rank"].to_list()
    ranked = per.filter(pl.col("rank").is_not_null())
    assert (ranked["rank_median"] == ranked["rank"].cast(pl.Float64)).all()
    assert (ranked["rank_p05"] == ranked["rank_p95"]).all()
    assert res.assumptions == ()


def test_unranked_ics_stays_unranked():
    matrix, cspec = _case()
    res = run_uncertainty(matrix, _quiet(draws=50), cspec)
    q09 = res.per_ics.filter(pl.col("icb_code") == "Q09").row(0, named=True)
    assert q09["n_draws"] == 0 and q09["rank"] is None and q09["rank_median"] is None
    assert np.isnan(res.ranks[:, 9]).all()
    others = res.per_ics.filter(pl.col("icb_code") != "Q09")
    assert (others["n_draws"] == 50).all()
    assert np.nanmax(res.ranks) == N_ICS - 1


def test_rank_intervals_within_the_draws_range_and_ordered():
    matrix, cspec = _case()
    spec = _quiet(draws=400, chunk_size=64, normalisation=["minmax", "rank"])
    res = run_uncertainty(matrix, spec, cspec)
    per = res.per_ics.filter(pl.col("n_draws") > 0)
    ranks = res.ranks[:, ~np.isnan(res.ranks).all(axis=0)]
    assert (per["rank_p05"].to_numpy() >= np.nanmin(ranks, axis=0)).all()
    assert (per["rank_p95"].to_numpy() <= np.nanmax(ranks, axis=0)).all()
    assert (per["rank_p05"] <= per["rank_median"]).all()
    assert (per["rank_median"] <= per["rank_p95"]).all()
    assert ((per["p_top_k"] >= 0) & (per["p_top_k"] <= 1)).all()
    # every draw ranks 5 ICSs in its top 5 and 5 in its bottom 5
    np.testing.assert_allclose(per["p_top_k"].sum(), 5.0)
    np.testing.assert_allclose(per["p_bottom_k"].sum(), 5.0)


def test_same_seed_same_output_different_seed_differs():
    matrix, cspec = _case()
    spec = _quiet(draws=300, chunk_size=70, aggregation=["arithmetic", "geometric"])
    a = run_uncertainty(matrix, spec, cspec)
    b = run_uncertainty(matrix, spec, cspec)
    c = run_uncertainty(matrix, spec.model_copy(update={"seed": spec.seed + 1}), cspec)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.per_ics.equals(b.per_ics) and a.draws_summary.equals(b.draws_summary)
    assert not np.array_equal(a.scores, c.scores, equal_nan=True)
    assert not a.per_ics.equals(c.per_ics)


def test_progress_reports_every_chunk():
    matrix, cspec = _case()
    calls = []
    spec = _quiet(draws=250, chunk_size=100)
    run_uncertainty(matrix, spec, cspec, progress=lambda *a: calls.append(a))
    assert calls == [(100, 250), (200, 250), (250, 250)]


def _full_spec():
    return UncertaintySpec.model_validate(
        {
            "draws": 500,
            "chunk_size": 60,
            "seed": 7,
            "normalisation": ["minmax", "percentile_rank"],
            "aggregation": ["arithmetic", "geometric"],
            "bootstrap": True,
        }
    )


def _assert_same(a, b):
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.ranks, b.ranks)
    assert a.per_ics.equals(b.per_ics)


def test_threads_and_processes_give_the_in_process_result():
    matrix, cspec, providers = _view_case()
    spec = _full_spec()
    base = run_uncertainty(matrix, spec, cspec, providers=providers)
    with ThreadPoolExecutor(max_workers=3) as pool:
        _assert_same(base, run_uncertainty(matrix, spec, cspec, providers=providers, executor=pool))
    ctx = multiprocessing.get_context("spawn")  # no fork after polars' threads have started
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        _assert_same(base, run_uncertainty(matrix, spec, cspec, providers=providers, executor=pool))


def test_dask_local_cluster_gives_the_in_process_result():
    distributed = pytest.importorskip(
        "distributed", reason="dask[distributed] is not installed (pip install -e '.[dev]')"
    )
    matrix, cspec, providers = _view_case()
    spec = _full_spec()
    base = run_uncertainty(matrix, spec, cspec, providers=providers)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        got = run_uncertainty(
            matrix, spec, cspec, providers=providers, executor=client.get_executor()
        )
    _assert_same(base, got)


# ----------------------------------------------------------------------------- bootstrap


def _view_case(layout=None, normalise="minmax"):
    """A constructed ICS view: (matrix, composite spec, providers)."""
    layout = layout or {
        # icb: (trust ratings, GP practice ratings)
        "SMALL": (["Good", "Requires improvement"], []),
        "BIG": ([], ["Good"] * 280 + ["Requires improvement"] * 80 + ["Outstanding"] * 40),
        # BIG is first in the matrix (sorted codes), SMALL last
        **{
            f"M{i}": (
                ["Good"] * (4 + i) + ["Outstanding"] * i + ["Requires improvement"] * 3,
                ["Good"] * (30 + 5 * i) + ["Outstanding"] * (2 * i) + ["Inadequate"] * 10,
            )
            for i in range(6)
        },
    }
    rows = []
    for icb, (trusts, gps) in layout.items():
        for sector, ratings in (("nhs_trust", trusts), ("gp_practice", gps)):
            for i, r in enumerate(ratings):
                rows.append((sector, f"{icb}-{sector}-{i}", "Overall", r, icb))
    providers = pl.DataFrame(
        rows, schema=["sector", "provider_id", "key_question", "rating", "icb_code"], orient="row"
    ).with_columns(
        pl.col("sector").cast(SectorEnum),
        pl.col("key_question").cast(KeyQuestionEnum),
        pl.col("rating").cast(RatingEnum),
    )
    icbs = pl.DataFrame(
        {"icb_code": list(layout), "icb_gss": list(layout), "icb_name": list(layout)}
    )
    view = ics_view(
        providers, icbs, vintages={"nhs_trust": "test", "gp_practice": "test"},
        sectors=("nhs_trust", "gp_practice"),
    )  # fmt: skip
    ind = [
        {"name": s, "source": f"view:{s}:Overall:share_good_or_outstanding",
         "direction": "higher_is_better", "normalise": normalise,
         **({"goalposts": {"lower": 0, "upper": 1}} if normalise == "goalposts" else {})}
        for s in ("nhs_trust", "gp_practice")
    ]  # fmt: skip
    cspec = CompositeSpec.model_validate({"min_coverage": 0, "pillars": {"q": {"indicators": ind}}})
    return indicator_matrix(view, None, cspec), cspec, providers


@pytest.mark.parametrize("normalise", ["goalposts", "minmax"])
def test_small_systems_get_wider_intervals(normalise):
    # goalposts [0, 1]: the score is 100 x the ICS's own share, so its spread is the
    # sampling spread of that share alone; minmax also moves with the other ICSs
    matrix, cspec, providers = _view_case(normalise=normalise)
    spec = UncertaintySpec.model_validate(
        {"draws": 2000, "weights": {"method": "none"}, "bootstrap_method": "multinomial"}
    )
    res = run_uncertainty(matrix, spec, cspec, providers=providers)
    per = res.per_ics.with_columns(
        (pl.col("score_p95") - pl.col("score_p05")).alias("width"),
        (pl.col("rank_p95") - pl.col("rank_p05")).alias("rank_width"),
    )
    small = per.filter(pl.col("icb_code") == "SMALL").row(0, named=True)
    big = per.filter(pl.col("icb_code") == "BIG").row(0, named=True)
    assert small["width"] > big["width"] > 0
    assert small["rank_width"] > big["rank_width"]
    assert small["width"] == per["width"].max()
    assert res.assumptions == ("bootstrap",)
    if normalise == "goalposts":
        # 2 trusts: a resampled share of 0, 1/2 or 1; 400 practices: within a few points
        assert small["width"] > 5 * big["width"]
        assert (small["score_p05"], small["score_p95"]) == (0.0, 100.0)
        sd = 100 * np.sqrt(0.8 * 0.2 / 400)  # binomial standard error of BIG's share
        np.testing.assert_allclose(np.nanstd(res.scores[:, 0]), sd, rtol=0.1)


def test_bootstrap_without_variation_is_the_deterministic_composite():
    layout = {
        f"C{i}": (["Good"] * (i + 1), ["Outstanding"] * (2 * i + 1) if i % 2 else ["Good"] * 3)
        for i in range(5)
    }
    matrix, cspec, providers = _view_case(layout)
    # the plain bootstrap of unanimous providers cannot vary (the Bayesian one does)
    spec = UncertaintySpec.model_validate(
        {"draws": 30, "weights": {"method": "none"}, "bootstrap_method": "multinomial"}
    )
    res = run_uncertainty(matrix, spec, cspec, providers=providers)
    det = composite(matrix, cspec).scores["score"].to_numpy()
    np.testing.assert_allclose(res.scores, np.tile(det, (30, 1)), rtol=1e-12)


def test_bootstrap_needs_the_providers_the_view_was_built_from(caplog):
    matrix, cspec, providers = _view_case()
    spec = UncertaintySpec(draws=10)
    with caplog.at_level(logging.WARNING, logger="ics_model.uncertainty"):
        res = run_uncertainty(matrix, spec, cspec)
    assert "no providers given" in caplog.text
    assert res.assumptions == ("weights",)
    wrong = providers.filter(pl.col("provider_id") != "SMALL-nhs_trust-0")
    with pytest.raises(UncertaintyError, match="SMALL"):
        run_uncertainty(matrix, spec, cspec, providers=wrong)


def test_geometric_alternative_normalises_onto_1_100():
    matrix, cspec = _case()
    spec = _quiet(draws=200, aggregation=["arithmetic", "geometric"])
    res = run_uncertainty(matrix, spec, cspec)
    ranked = ~np.isnan(res.scores)
    assert res.scores[ranked].min() >= 1.0 and np.isfinite(res.scores[ranked]).all()
    summary = res.draws_summary.filter(pl.col("assumption") == "aggregation")
    assert summary["setting"].to_list() == ["0: arithmetic", "1: geometric"]
    assert summary["n_draws"].sum() == 200 and summary["varied"].all()


def test_an_incompatible_configured_normaliser_is_refused():
    matrix, cspec = _case()
    cspec = cspec.model_copy(update={"aggregation": "geometric", "normalise_range": (1.0, 100.0)})
    with pytest.raises(UncertaintyError, match="zscore"):
        run_uncertainty(matrix, _quiet(draws=5, normalisation=["zscore"]), cspec)


def test_weight_monte_carlo_agrees_with_run_uncertainty():
    matrix, cspec = _case(missing=False)
    spec = _quiet(draws=700, chunk_size=300, seed=11)
    res = run_uncertainty(matrix, spec, cspec)
    values, _, pillar_of = normalised_array(matrix, cspec)
    w_ind = [i.weight for _, i in cspec.indicators]
    w_pil = [p.weight for p in cspec.pillars.values()]
    mc = weight_monte_carlo(
        values, w_ind, w_pil, pillar_of, draws=700, seed=11, chunk_size=300, concentration=50
    )
    np.testing.assert_allclose(mc.scores, res.scores, rtol=1e-12)
    np.testing.assert_array_equal(mc.ranks, res.ranks)


def test_bayesian_bootstrap_default_keeps_small_systems_widest():
    matrix, cspec, providers = _view_case(normalise="goalposts")
    spec = UncertaintySpec.model_validate({"draws": 2000, "weights": {"method": "none"}})
    assert spec.bootstrap_method == "bayesian"
    res = run_uncertainty(matrix, spec, cspec, providers=providers)
    per = res.per_ics.with_columns((pl.col("score_p95") - pl.col("score_p05")).alias("width"))
    small = per.filter(pl.col("icb_code") == "SMALL")["width"][0]
    big = per.filter(pl.col("icb_code") == "BIG")["width"][0]
    assert small > 5 * big > 0


def test_a_bootstrap_resample_the_log_transform_cannot_take_is_refused():
    matrix, cspec, providers = _view_case()
    data = cspec.model_dump()
    for ind in data["pillars"]["q"]["indicators"]:
        ind["transform"] = "log"  # SMALL's two trusts resample to a share of 0 now and then
    logged = CompositeSpec.model_validate(data)
    spec = UncertaintySpec(draws=200, bootstrap_method="multinomial", weights={"method": "none"})
    with pytest.raises(UncertaintyError, match=r"bootstrap resample: .*log transform"):
        run_uncertainty(matrix, spec, logged, providers=providers)
