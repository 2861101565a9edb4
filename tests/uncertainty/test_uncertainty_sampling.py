"""Every metric indicator drawn from its own sampling distribution: hand-checked moments."""

import math

import numpy as np
import polars as pl
import pytest

from ics_model.composite import composite_spec_from_dict
from ics_model.uncertainty import (
    SamplingInputs,
    SamplingPlan,
    UncertaintyError,
    UncertaintySpec,
    run_uncertainty,
)
from ics_model.uncertainty.assumptions import assumptions_table
from ics_model.uncertainty.sampling import draw_metric, metric_draws

CODES = ["QAA", "QBB", "QCC"]


def _spec(*metrics):
    def ind(name):
        return {"name": name, "source": f"metric:{name}", "direction": "higher_is_better"}

    return composite_spec_from_dict(
        {"min_coverage": 0, "pillars": {"p": {"indicators": [ind(m) for m in metrics]}}}
    )


def _quintiles():
    """QAA: 10 practices per quintile, events 5..9; QBB: 40 per quintile, events 8..16."""
    rows = []
    for code, n, events in (("QAA", 10, [5, 6, 7, 8, 9]), ("QBB", 40, [8, 10, 12, 14, 16])):
        for q, k in enumerate(events, start=1):
            rows.append((code, q, n, k, 0, k / n, 0.0, 0.1, 0.0))
    cols = ["icb_code", "imd_quintile", "n_rated", "n_go", "n_o", "share_go", "share_o"]
    return pl.DataFrame(rows, schema=[*cols, "share_go_se", "share_o_se"], orient="row")


def _counts():
    return pl.DataFrame(
        {
            "icb_code": ["QAA", "QBB", "QCC"],
            "metric": ["self_containment"] * 3,
            "numerator": [300, 50, 9000],
            "denominator": [1000, 100, 10000],
        }
    )


def _raw(*cols):
    return np.column_stack(cols).astype(float)


def test_flow_share_draws_follow_the_jeffreys_posterior():
    inputs = SamplingInputs(share_counts=_counts())
    raw = _raw([0.3, 0.5, 0.9])
    (m,) = metric_draws(inputs, CODES, _spec("self_containment"), raw)
    d = draw_metric(m, 40_000, np.random.default_rng(1))
    # Beta(k + 1/2, n - k + 1/2): mean (k + 1/2) / (n + 1), sd ~ sqrt(p (1 - p) / (n + 2))
    np.testing.assert_allclose(d.mean(axis=0), [300.5 / 1001, 50.5 / 101, 9000.5 / 10001], 2e-3)
    sd = [math.sqrt(p * (1 - p) / (n + 2)) for p, n in ((0.3, 1000), (0.5, 100), (0.9, 10000))]
    np.testing.assert_allclose(d.std(axis=0), sd, rtol=0.03)


def test_sii_draws_are_the_metric_simulation():
    # equal quintiles: c = (-1, -0.5, 0, 0.5, 1), SII = y5 - y1 + (y4 - y2) / 2 = 0.5 (QAA);
    # with every SE 0.1 its sd is 0.1 x sqrt(1 + 0.25 + 0 + 0.25 + 1) = 0.158
    inputs = SamplingInputs(quintiles=_quintiles())
    raw = _raw([0.5, 0.5, np.nan])  # QBB: 0.2 .. 0.4, SII 0.25 -- wrong on purpose below
    with pytest.raises(UncertaintyError, match=r"'gp_sii_good_or_outstanding'.*QBB"):
        metric_draws(inputs, CODES, _spec("gp_sii_good_or_outstanding"), raw)
    raw = _raw([0.5, 0.25, np.nan])
    (m,) = metric_draws(inputs, CODES, _spec("gp_sii_good_or_outstanding"), raw)
    d = draw_metric(m, 40_000, np.random.default_rng(2))
    assert d[:, 0].mean() == pytest.approx(0.5, abs=0.005)
    assert d[:, 0].std() == pytest.approx(0.1 * math.sqrt(2.5), rel=0.02)
    assert np.isnan(d[:, 2]).all()  # a null metric stays null


def test_rii_gap_and_theil_draws():
    inputs = SamplingInputs(quintiles=_quintiles())
    spec = _spec("gp_rii_good_or_outstanding", "gp_gap_good_or_outstanding", "gp_theil_within_ics")
    rii_qaa = 2.0558610440476497  # the log-linear RII of 5..9 of 10 (tests/metrics/test_rii.py)
    with pytest.raises(UncertaintyError, match="gp_rii_good_or_outstanding"):
        metric_draws(inputs, CODES, spec, _raw([2.1, np.nan, np.nan], [0.4] * 3, [0.01] * 3))
    theil = []
    for k, n in (([5, 6, 7, 8, 9], 10), ([8, 10, 12, 14, 16], 40)):
        x = np.array(k) / n
        s = x / x.sum()
        theil.append(float(np.sum(s * np.log(x / x.mean()))))
    raw = _raw([rii_qaa, np.nan, np.nan], [0.4, 0.2, np.nan], [*theil, np.nan])
    rii, gap, th = metric_draws(inputs, CODES, spec, raw)
    rng = np.random.default_rng(3)
    d = draw_metric(rii, 5000, rng)
    assert (d[:, 0] > 0).all() and np.isnan(d[:, 1:]).all()
    assert np.median(d[:, 0]) == pytest.approx(rii_qaa, rel=0.1)
    g = draw_metric(gap, 40_000, rng)
    assert g[:, 0].mean() == pytest.approx(9.5 / 11 - 5.5 / 11, abs=0.005)
    assert g[:, 1].mean() == pytest.approx(16.5 / 41 - 8.5 / 41, abs=0.005)
    t = draw_metric(th, 2000, rng)
    assert (t[:, :2] >= 0).all() and np.isnan(t[:, 2]).all()


def test_plan_draws_the_metrics_after_the_providers():
    inputs = SamplingInputs(quintiles=_quintiles(), share_counts=_counts())
    spec = _spec("self_containment", "gp_sii_good_or_outstanding")
    raw = _raw([0.3, 0.5, 0.9], [0.5, 0.25, np.nan])
    plan = SamplingPlan(None, metric_draws(inputs, CODES, spec, raw))
    assert plan.columns == (0, 1) and plan.names == (
        "self_containment",
        "gp_sii_good_or_outstanding",
    )
    assert plan.draw(7, np.random.default_rng(0)).shape == (7, 3, 2)


def _run_matrix():
    return pl.DataFrame(
        {
            "icb_code": CODES,
            "self_containment": [0.3, 0.5, 0.9],
            "gp_sii_good_or_outstanding": [0.5, 0.25, None],
        }
    )


def test_metric_sampling_widens_and_the_assumptions_say_how():
    spec = _spec("self_containment", "gp_sii_good_or_outstanding")
    inputs = SamplingInputs(quintiles=_quintiles(), share_counts=_counts())
    base = {"draws": 400, "weights": {"method": "none"}}
    fixed = run_uncertainty(
        _run_matrix(), UncertaintySpec.model_validate({**base, "metric_sampling": False}), spec,
        sampling=inputs,
    )  # fmt: skip
    varied = run_uncertainty(
        _run_matrix(), UncertaintySpec.model_validate(base), spec, sampling=inputs
    )
    assert fixed.assumptions == () and varied.assumptions == ("bootstrap",)
    assert fixed.per_ics["score_p05"].to_list() == fixed.per_ics["score_p95"].to_list()
    spread = (varied.per_ics["score_p95"] - varied.per_ics["score_p05"]).to_list()
    # QCC tops self-containment in every draw (0.9 of 10,000) and has no SII: it never moves
    assert spread[0] > 0 and spread[1] > 0 and spread[2] == 0
    rows = varied.draws_summary.filter(pl.col("assumption") == "bootstrap")
    assert rows["indicator"].to_list() == ["self_containment", "gp_sii_good_or_outstanding"]
    assert rows["varied"].to_list() == [True, True]
    off = fixed.draws_summary.filter(pl.col("assumption") == "bootstrap")
    assert off["setting"].to_list() == ["off: uncertainty.metric_sampling is false"] * 2


def test_assumptions_table_holds_fixed_what_has_no_distribution():
    spec = _spec("n_partner_icss", "population", "my_user_indicator")
    table = assumptions_table(
        UncertaintySpec(),
        spec,
        norm_labels=["configured"],
        agg_labels=["arithmetic"],
        norm_choice=np.zeros(10, dtype=int),
        agg_choice=np.zeros(10, dtype=int),
        plan=None,
        has_providers=True,
        has_inputs=True,
    )
    assert (
        table["assumption"].to_list()
        == ["weights", "normalisation", "aggregation"] + ["bootstrap"] * 3
    )
    boot = table.filter(pl.col("assumption") == "bootstrap")
    assert not boot["varied"].any() and (boot["setting"] == "held fixed").all()
    assert boot["held_fixed"][0].startswith("a count of ICSs above a threshold share")
    assert boot["held_fixed"][2].startswith("no sampling distribution known")
    assert table.filter(pl.col("assumption") == "weights")["distribution"][0].startswith(
        "Dirichlet(50 x configured weights)"
    )
