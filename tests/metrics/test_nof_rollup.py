"""The modelled ICS roll-up of NOF trust segments, its bootstrap and its Monte Carlo sampler."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_model.metrics.nof import ALL_TRUSTS, ICS_NOF, ics_nof, nof_metric_rows
from ics_model.uncertainty.nof import nof_rank_intervals
from ics_model.uncertainty.sampling import MetricDraws, _trust_arrays, draw_metric

ICBS = pl.DataFrame({"icb_code": ["QA1", "QB2", "QC3"], "icb_name": ["A", "B", "C"]})


def _trusts(rows):
    return pl.DataFrame(
        rows,
        schema={
            "icb_code": pl.String,
            "nhs_trust_type": pl.String,
            "adjusted_segment": pl.Int64,
            "avg_metric_score": pl.Float64,
            "in_deficit": pl.Boolean,
            "data_month": pl.String,
        },
        orient="row",
    )


ACUTE, MH = "Acute trust", "Mental health and community trust"
HAND = _trusts(
    [
        ("QA1", ACUTE, 1, 1.80, False, "2026-03"),
        ("QA1", ACUTE, 3, 2.50, True, "2026-03"),
        ("QA1", MH, 2, 2.20, False, "2026-03"),
        ("QB2", ACUTE, 4, 3.00, True, "2026-03"),
        ("QB2", ACUTE, 3, 2.40, False, "2026-03"),
        ("QB2", MH, 3, 2.60, True, "2026-03"),
    ]
)


def test_rollup_counts_shares_means_and_ranks_by_hand():
    out = ics_nof(HAND, ICBS, min_trusts=3)
    assert ICS_NOF.column_names == out.columns
    a = out.filter((pl.col("icb_code") == "QA1") & (pl.col("trust_group") == ALL_TRUSTS)).row(
        0, named=True
    )
    # QA1: segments 1, 3, 2 -> two of three in 1-2; mean (1.8 + 2.5 + 2.2) / 3 = 2.1667
    assert (a["n_trusts"], a["n_segment_1"], a["n_segment_2"], a["n_segment_3"]) == (3, 1, 1, 1)
    assert a["share_segment_1_2"] == pytest.approx(2 / 3)
    assert a["mean_avg_score"] == pytest.approx(6.5 / 3)
    assert a["n_in_deficit"] == 1
    # Wilson 95% for 2 of 3: (0.2077, 0.9385)
    assert a["share_segment_1_2_lower"] == pytest.approx(0.2077, abs=1e-4)
    assert a["share_segment_1_2_upper"] == pytest.approx(0.9385, abs=1e-4)
    b = out.filter((pl.col("icb_code") == "QB2") & (pl.col("trust_group") == ALL_TRUSTS)).row(
        0, named=True
    )
    assert b["mean_avg_score"] == pytest.approx(8.0 / 3)
    # lower mean = better: QA1 first, QB2 second; QC3 has no trust and is not ranked
    assert (a["rank"], b["rank"], a["n_ranked"]) == (1, 2, 2)
    c = out.filter(pl.col("icb_code") == "QC3").row(0, named=True)
    assert (c["n_trusts"], c["ranked"], c["rank"]) == (0, False, None)
    assert c["note"] == "no segmented trust placed in this ICS"
    # per type: two acute trusts each -> listed, not ranked at min_trusts 3
    acute = out.filter(pl.col("trust_group") == ACUTE)
    assert acute["n_trusts"].to_list() == [2, 2]
    assert not acute["ranked"].any()
    assert acute["note"][0] == "not ranked: 2 segmented trust(s), fewer than 3"
    # at min_trusts 2 the acute groups are ranked: QA1 (2.15) before QB2 (2.70)
    acute2 = ics_nof(HAND, ICBS, min_trusts=2).filter(pl.col("trust_group") == ACUTE)
    assert acute2.sort("icb_code")["rank"].to_list() == [1, 2]


def test_metric_rows_null_below_min_trusts_with_the_reason():
    table = ics_nof(HAND.filter(pl.col("icb_code") == "QA1"), ICBS, min_trusts=3)
    rows = nof_metric_rows(table)
    mean = rows.filter(pl.col("metric") == "nof_mean_score")
    assert mean.filter(pl.col("icb_code") == "QA1")["value"][0] == pytest.approx(6.5 / 3)
    qb2 = mean.filter(pl.col("icb_code") == "QB2").row(0, named=True)
    assert qb2["value"] is None and qb2["note"] == "no segmented trust placed in this ICS"
    assert set(rows["direction"]) == {"lower_is_better", "higher_is_better"}
    assert set(rows["pillar"]) == {"quality"}


def test_rollup_rejects_a_min_trusts_below_one():
    with pytest.raises(ValueError, match="min_trusts must be at least 1"):
        ics_nof(HAND, ICBS, min_trusts=0)


def test_bootstrap_fills_intervals_that_contain_the_mean_and_the_rank():
    table = ics_nof(HAND, ICBS, min_trusts=3, by_type=False)
    out = nof_rank_intervals(table, HAND, draws=500, rng=np.random.default_rng(3))
    for r in out.filter(pl.col("ranked")).to_dicts():
        assert r["mean_score_p05"] <= r["mean_avg_score"] <= r["mean_score_p95"]
        assert r["rank_p05"] <= r["rank"] <= r["rank_p95"] + 1e-9
        assert 1 <= r["rank_p05"] <= r["rank_p95"] <= 2
    # far apart (QA1 at most 2.5, QB2 at least 2.4 with means 2.17 and 2.67): fixed ranks
    assert out.filter(pl.col("icb_code") == "QA1")["rank_p95"][0] == 1.0
    # overlapping ICSs (means 2.33 and 2.37, QA1 spread 1.5-3.5): both places are likely
    wide = _trusts(
        [("QA1", ACUTE, 3, s, False, "2026-03") for s in (1.5, 3.5, 2.0)]
        + [("QB2", ACUTE, 3, s, False, "2026-03") for s in (2.2, 2.4, 2.5)]
    )
    both = nof_rank_intervals(
        ics_nof(wide, ICBS, by_type=False), wide, draws=500, rng=np.random.default_rng(3)
    )
    assert both.filter(pl.col("ranked"))["rank"].to_list() == [1, 2]
    assert both.filter(pl.col("ranked"))["rank_p05"].to_list() == [1.0, 1.0]
    assert both.filter(pl.col("ranked"))["rank_p95"].to_list() == [2.0, 2.0]
    assert out.filter(pl.col("icb_code") == "QC3")["mean_score_p05"][0] is None
    # the same seed gives the same table; the input is not changed
    again = nof_rank_intervals(table, HAND, draws=500, rng=np.random.default_rng(3))
    assert out.equals(again)
    assert table["rank_p05"].null_count() == table.height


def test_bootstrap_multinomial_and_bad_arguments():
    table = ics_nof(HAND, ICBS, min_trusts=3, by_type=False)
    out = nof_rank_intervals(
        table, HAND, draws=300, method="multinomial", rng=np.random.default_rng(0)
    )
    a = out.filter(pl.col("icb_code") == "QA1").row(0, named=True)
    # resampled means of {1.8, 2.5, 2.2} lie between the smallest and largest trust
    assert 1.8 <= a["mean_score_p05"] <= a["mean_score_p95"] <= 2.5
    with pytest.raises(ValueError, match="unknown method"):
        nof_rank_intervals(table, HAND, method="jackknife", rng=np.random.default_rng(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="draws must be at least 1"):
        nof_rank_intervals(table, HAND, draws=0, rng=np.random.default_rng(0))


@settings(max_examples=40, deadline=None)
@given(
    scores=st.lists(
        st.floats(min_value=1.0, max_value=4.0, allow_nan=False), min_size=1, max_size=8
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_trust_bootstrap_means_stay_within_the_trusts_range(scores, seed):
    trusts = _trusts([("QA1", ACUTE, 3, s, False, "2026-03") for s in scores])
    x = _trust_arrays(trusts, ["QA1", "QB2"], "trust_mean")
    assert np.isnan(x[1]).all()
    draws = draw_metric(
        MetricDraws(0, "nof_mean_score", "trust_mean", (x,)), 50, np.random.default_rng(seed)
    )
    assert draws.shape == (50, 2)
    assert np.isnan(draws[:, 1]).all()
    assert (draws[:, 0] >= min(scores) - 1e-12).all() and (draws[:, 0] <= max(scores) + 1e-12).all()


def test_trust_share_sampler_draws_shares_of_trusts_in_segments_1_2():
    trusts = _trusts(
        [("QA1", ACUTE, s, 2.0, False, "2026-03") for s in (1, 2, 3, 4)]
        + [("QB2", ACUTE, 1, 2.0, False, "2026-03")]
    )
    x = _trust_arrays(trusts, ["QA1", "QB2"], "trust_share")
    assert np.nanmean(x[0]) == 0.5 and np.nanmean(x[1]) == 1.0
    d = draw_metric(MetricDraws(0, "s", "trust_share", (x,)), 200, np.random.default_rng(1))
    assert np.allclose(d[:, 1], 1.0)  # one trust in segment 1: always 1
    assert 0.0 < d[:, 0].min() < 0.5 < d[:, 0].max() < 1.0
