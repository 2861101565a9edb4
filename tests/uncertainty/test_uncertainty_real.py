"""Uncertainty analysis of the default composite on the real embedded data."""

import numpy as np
import polars as pl
import pytest

from ics_model.composite import composite, default_composite_spec, indicator_matrix
from ics_model.config import RunConfig
from ics_model.pipeline import run
from ics_model.uncertainty import UncertaintySpec, run_uncertainty


@pytest.fixture(scope="module")
def real():
    result = run(
        RunConfig.model_validate(
            {"metrics": {"sii_repetitions": 2000}, "effect": {"enabled": False}, "scenarios": []}
        )
    )
    spec = default_composite_spec()
    matrix = indicator_matrix(result.views.ics_view, result.metrics.ics_metrics, spec)
    return result, spec, matrix


def test_default_spec_with_bootstrap_2000_draws(real):
    result, cspec, matrix = real
    spec = UncertaintySpec(draws=2000)
    res = run_uncertainty(matrix, spec, cspec, providers=result.views.mapped)
    assert res.assumptions == ("weights", "bootstrap")
    per = res.per_ics
    assert per.height == 42
    det = composite(matrix, cspec).scores
    assert per["rank"].to_list() == det["rank"].to_list()
    ranked = per.filter(pl.col("rank").is_not_null())
    assert ranked.height == 41 and (ranked["n_draws"] == 2000).all()
    assert (ranked["rank_p05"] <= ranked["rank_median"]).all()
    assert (ranked["rank_median"] <= ranked["rank_p95"]).all()
    assert (ranked["score_p05"] <= ranked["score_median"]).all()
    assert (ranked["score_median"] <= ranked["score_p95"]).all()
    # Frimley (QNQ) is below min_coverage: never ranked
    qnq = per.filter(pl.col("icb_code") == "QNQ").row(0, named=True)
    assert qnq["n_draws"] == 0 and qnq["rank_median"] is None
    summary = res.draws_summary.filter(pl.col("assumption") == "bootstrap")["setting"][0]
    for name in ("trust_good_or_outstanding", "gp_outstanding"):
        assert name in summary


def test_bootstrap_widens_the_intervals_of_systems_with_few_trusts(real):
    result, cspec, matrix = real
    base = UncertaintySpec.model_validate({"draws": 2000, "weights": {"method": "none"}})
    res = run_uncertainty(matrix, base, cspec, providers=result.views.mapped)
    trusts = result.views.ics_view.filter(
        (pl.col("sector").cast(pl.String) == "nhs_trust")
        & (pl.col("key_question").cast(pl.String) == "Overall")
    ).select("icb_code", "n_rated")
    width = (
        res.per_ics.join(trusts, on="icb_code")
        .filter(pl.col("n_draws") > 0)
        .with_columns((pl.col("rank_p95") - pl.col("rank_p05")).alias("width"))
    )
    few = width.filter(pl.col("n_rated") <= 3)["width"].mean()
    many = width.filter(pl.col("n_rated") >= 8)["width"].mean()
    assert few > many


def test_method_alternatives_and_sobol_on_real_data(real):
    result, cspec, matrix = real
    spec = UncertaintySpec.model_validate(
        {
            "draws": 1000,
            "normalisation": ["minmax", "percentile_rank"],
            "aggregation": ["arithmetic", "geometric"],
            "sobol": {"enabled": True, "n": 64},
        }
    )
    res = run_uncertainty(matrix, spec, cspec, providers=result.views.mapped)
    assert res.assumptions == ("weights", "normalisation", "aggregation", "bootstrap")
    ranked = res.per_ics.filter(pl.col("n_draws") > 0)
    assert (ranked["rank_p05"] <= ranked["rank_median"]).all()
    sob = res.sobol.filter(pl.col("icb_code") == "ENGLAND")
    assert sob.height == 4 * 2
    assert np.isfinite(sob["ST"].to_numpy()).all()
