"""The default composite on the real embedded data."""

import numpy as np
import polars as pl
import pytest

from ics_model.composite import (
    composite,
    correlations,
    default_composite_spec,
    indicator_matrix,
    normalised_array,
    peers,
)
from ics_model.composite.kernel import aggregate
from ics_model.config import RunConfig
from ics_model.pipeline import run


@pytest.fixture(scope="module")
def real():
    result = run(RunConfig.model_validate({"metrics": {"sii_repetitions": 2000}}))
    spec = default_composite_spec()
    matrix = indicator_matrix(result.views.ics_view, result.metrics.ics_metrics, spec)
    return result, spec, matrix, composite(matrix, spec)


def test_default_spec_ranks_all_42_icss(real):
    _, spec, matrix, built = real
    assert matrix.height == 42
    assert matrix.columns == ["icb_code", "icb_name", *[i.name for _, i in spec.indicators]]
    # Frimley (QNQ) has under 70% of the weight observed: reported, not ranked
    ranked = built.scores.filter(pl.col("rank").is_not_null())
    assert sorted(ranked["rank"].to_list()) == list(range(1, 42))
    assert built.scores.filter(pl.col("score").is_null())["icb_code"].to_list() == ["QNQ"]
    assert ranked["score_0_100"].min() == 0.0 and ranked["score_0_100"].max() == 100.0


def test_frimley_missing_partnership_metrics_is_reported(real):
    _, _, _, built = real
    qnq = built.scores.filter(pl.col("icb_code") == "QNQ").row(0, named=True)
    assert "self_containment" in qnq["affected"]
    assert "pillar skipped: partnership" in qnq["affected"]
    assert "not ranked" in qnq["affected"]
    assert qnq["pillar_partnership"] is None and qnq["coverage"] < 0.7
    affected = built.scores.filter(pl.col("affected").is_not_null())["icb_code"].to_list()
    assert "QNQ" in affected


def test_real_contributions_sum_and_arrays_agree(real):
    _, spec, matrix, built = real
    sums = built.indicators.group_by("icb_code").agg(pl.col("contribution").sum())
    joined = built.scores.join(sums, on="icb_code")
    ranked = joined.filter(pl.col("score").is_not_null())
    np.testing.assert_allclose(ranked["contribution"], ranked["score"], rtol=1e-12)
    values, _, pillar_of = normalised_array(matrix, spec)
    w = np.array([[i.weight for _, i in spec.indicators]])
    wp = np.array([[p.weight for p in spec.pillars.values()]])
    methods = [spec.aggregation] * wp.shape[1]
    agg = spec.aggregation
    scores = aggregate(values, w, wp, pillar_of, methods, agg, renormalise=True).score
    mask = built.scores["score"].is_not_null().to_numpy()
    np.testing.assert_allclose(scores[0][mask], built.scores["score"].to_numpy()[mask], rtol=1e-12)


def test_real_correlations_and_peers(real):
    result, spec, matrix, _ = real
    c = correlations(matrix, spec)
    k = len(spec.indicators)
    assert c.height == k * (k - 1) // 2
    assert c["n"].max() == 42
    assert not c["flag_high"].any()  # no pair above |0.9| on the embedded data
    sc = c.filter(
        (pl.col("indicator_a") == "self_containment")
        | (pl.col("indicator_b") == "self_containment")
    )
    assert sc["n"].max() == 41  # Frimley has no self-containment
    p = peers(result.metrics.ics_metrics, "QNQ", n=5)
    assert p.height == 5 and "QNQ" not in p["icb_code"].to_list()
    assert (p["distance"].diff().drop_nulls() >= 0).all()
