"""Honest metrics on the real embedded data: major providers missing from RTT, minimum
quintile size, positive RII limits. Numbers before the change are in the docstrings."""

import polars as pl
import pytest

from ics_model.config import RunConfig
from ics_model.metrics.build import _flow_tables
from ics_model.metrics.partnership_inputs import missing_major_providers
from ics_model.metrics.sii import slope_index_or_null
from ics_model.pipeline import run


@pytest.fixture(scope="module")
def results():
    out = {}
    for size in (1, 5):
        cfg = RunConfig.model_validate(
            {
                "metrics": {"sii_repetitions": 2000, "min_group_size": size},
                "uncertainty": None,
                "scenarios": [],
                "effect": {"enabled": False},
            }
        )
        out[size] = run(cfg).metrics
    return out


def test_south_yorkshire_and_devon_miss_their_major_trust_in_rtt():
    table = _flow_tables("incomplete")["incomplete"]
    major = missing_major_providers(table.trusts)
    assert dict(zip(major["icb_code"], major["missing_major"], strict=True)) == {
        "QF7": "RHQ",  # Sheffield Teaching Hospitals
        "QJK": "RA9",  # Torbay and South Devon
    }
    # 55 open trusts have no RTT rows; the other 53 are mental health, community or
    # ambulance trusts (by name or unclear), which are not major elective providers
    assert table.trusts.filter(~pl.col("has_flows")).height == 55


def test_their_rtt_metrics_are_flagged_incomplete_with_a_note(results):
    m = results[5].ics_metrics
    flagged = m.filter(~pl.col("complete") & pl.col("value").is_not_null())
    by_metric = flagged.group_by("metric").agg(pl.col("icb_code").sort()).sort("metric")
    # QNQ too: its residents' flows cover East Berkshire only (the ICB crosswalk's U2G6B)
    expected = ["QF7", "QJK", "QNQ"]
    assert dict(zip(by_metric["metric"], by_metric["icb_code"].to_list(), strict=True)) == {
        "inflow_share": expected,
        "n_partner_icss": expected,
        "over_18_weeks_gini_trusts": ["QF7"],  # Devon's spread is null (2 trusts with flows)
        "self_containment": expected,
        "share_independent_sector": expected,
        "share_other_ics_trusts": expected,
        "share_waiting_over_18_weeks": expected,
    }
    waits = m.filter(pl.col("metric") == "share_waiting_over_18_weeks")
    note = dict(zip(waits["icb_code"], waits["note"], strict=True))
    assert "RHQ (SHEFFIELD TEACHING HOSPITALS" in note["QF7"]
    assert "RA9 (TORBAY AND SOUTH DEVON" in note["QJK"]
    # before: both rows had no note; every other ICS's waiting share is complete
    assert "U2G6B" in note["QNQ"] and "56.6%" in note["QNQ"]
    assert waits.filter(pl.col("complete")).height == 39


def test_sii_and_rii_interval_counts_before_and_after(results):
    """Before (min_group_size 1, phe_sii's RII): 36 of 36 computed SII intervals of the share
    Good or Outstanding include 0 (34 of 36 for Outstanding), and 30 of 66 RII intervals
    have a lower limit <= 0 at 2,000 repetitions (29 at 100,000). After (min_group_size 5,
    log-linear RII): 26 ICSs keep an SII, all 26 intervals still include 0 (24 of 26 for
    Outstanding), and no RII lower limit is <= 0."""

    def counts(metrics, metric):
        rows = metrics.filter(pl.col("metric") == metric).drop_nulls("value")
        zero = 1.0 if "_rii_" in metric else 0.0
        spans = ((pl.col("lower") <= zero) & (pl.col("upper") >= zero)).sum()
        return rows.height, rows.select(spans).item(), rows.filter(pl.col("lower") <= 0).height

    before, after = results[1].ics_metrics, results[5].ics_metrics
    assert counts(before, "gp_sii_good_or_outstanding")[:2] == (36, 36)
    assert counts(before, "gp_sii_outstanding")[:2] == (36, 34)
    assert counts(after, "gp_sii_good_or_outstanding")[:2] == (26, 26)
    assert counts(after, "gp_sii_outstanding")[:2] == (26, 24)
    for m in (before, after):
        for metric in ("gp_rii_good_or_outstanding", "gp_rii_outstanding"):
            assert counts(m, metric)[2] == 0, metric
    # phe_sii's RII on the same quintiles (as the pipeline reported it before)
    q = results[1].gp_quintiles
    lows = []
    for col in ("share_go", "share_o"):
        phe = slope_index_or_null(
            q, quantile="imd_quintile", population="n_rated", value=col, by="icb_code",
            value_type="normal", se=f"{col}_se", confidence=(0.95,), repetitions=2000,
            seed=20260427, intercept=True,
        ).filter(pl.col("intercept") > 0)  # fmt: skip
        lows += phe["rii_lower_95_0cl"].to_list()
    assert (len(lows), sum(v <= 0 for v in lows)) == (66, 30)


def test_cornwall_gradient_no_longer_rests_on_one_practice_quintiles(results):
    q = results[5].gp_quintiles.filter(pl.col("icb_code") == "QT6").sort("imd_quintile")
    assert q["n_rated"].to_list() == [1, 15, 26, 13, 1]
    rows = results[5].ics_metrics.filter(
        (pl.col("icb_code") == "QT6") & pl.col("metric").str.contains("_(sii|rii|gap)_")
    )
    assert rows.height == 5 and rows["value"].null_count() == 5
    assert rows["note"].str.contains("1 \\(1\\), 5 \\(1\\)|1 rated practices in quintile 1").all()
    # with no minimum it was the steepest gradient in England
    sii = results[1].ics_metrics.filter(pl.col("metric") == "gp_sii_good_or_outstanding")
    steepest = sii.drop_nulls("value").sort(pl.col("value").abs(), descending=True)
    assert steepest["icb_code"][0] == "QT6"
