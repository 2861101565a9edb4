"""ics_metrics: hand-computed toy examples and checks on the real data."""

import math

import polars as pl
import pytest

from ics_model.config import RunConfig
from ics_model.metrics.system import (
    ICS_METRICS,
    METRIC_CATALOGUE,
    access_rows,
    deprivation_rows,
    dispersion_rows,
    gp_inequality_rows,
    gp_quintile_table,
    ics_metrics,
)
from ics_model.pipeline import run


def _practices(spec):
    """spec: icb -> list of (quintile, n_good_or_outstanding, n_ri) per quintile."""
    rows = []
    for icb, quintiles in spec.items():
        for q, n_go, n_ri in quintiles:
            rows += [(icb, q, "Good")] * n_go + [(icb, q, "Requires improvement")] * n_ri
    return pl.DataFrame(rows, schema=["icb_code", "imd_quintile", "rating"], orient="row")


# QAA: equal practices per quintile, share G/O rising 0.5, 0.6, ..., 0.9 towards least deprived
LINEAR = {"QAA": [(q, 4 + q, 6 - q) for q in range(1, 6)]}


def test_quintile_table_and_sii_on_a_straight_line():
    t = gp_quintile_table(_practices(LINEAR))
    assert t["n_rated"].to_list() == [10] * 5
    assert t["share_go"].to_list() == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9])
    rows = gp_inequality_rows(_practices(LINEAR), repetitions=2000, seed=1)
    v = dict(zip(rows["metric"], rows["value"], strict=True))
    # equal populations: ranks 0.1 ... 0.9; slope of 0.1 per 0.2 of rank = 0.5
    assert v["gp_sii_good_or_outstanding"] == pytest.approx(0.5)
    # log-linear RII = exp(beta): the population's mean rank tilted by exp(beta * b) equals
    # the events' mean rank, (5 x 0.1 + 6 x 0.3 + 7 x 0.5 + 8 x 0.7 + 9 x 0.9) / 35 = 19.5 / 35
    beta = math.log(v["gp_rii_good_or_outstanding"])
    ranks = [0.1, 0.3, 0.5, 0.7, 0.9]
    tilt = [math.exp(beta * b) for b in ranks]
    assert sum(t * b for t, b in zip(tilt, ranks, strict=True)) / sum(tilt) == pytest.approx(
        19.5 / 35, abs=1e-12
    )
    # below the linear fit's (0.45 + 0.5) / 0.45: the log scale bends towards the ends
    assert 1 < v["gp_rii_good_or_outstanding"] < 0.95 / 0.45
    assert v["gp_gap_good_or_outstanding"] == pytest.approx(0.4)
    sii_row = rows.filter(pl.col("metric") == "gp_sii_good_or_outstanding").row(0, named=True)
    assert sii_row["lower"] < 0.5 < sii_row["upper"]
    # no Outstanding anywhere: SII 0, RII undefined (fitted share 0)
    assert v["gp_sii_outstanding"] == pytest.approx(0.0)
    rii_o = rows.filter(pl.col("metric") == "gp_rii_outstanding").row(0, named=True)
    assert rii_o["value"] is None and "RII undefined" in rii_o["note"]


def test_too_few_quintiles_gives_null_with_note_and_seed_reproducible():
    spec = {**LINEAR, "QBB": [(q, 5, 5) for q in (1, 2, 3, 4)]}
    a = gp_inequality_rows(_practices(spec), repetitions=2000, seed=7)
    b = gp_inequality_rows(_practices(spec), repetitions=2000, seed=7)
    assert a.equals(b)
    qbb = a.filter((pl.col("icb_code") == "QBB") & (pl.col("metric") == "gp_sii_outstanding"))
    assert qbb["value"][0] is None and "4 quantiles" in qbb["note"][0]


def test_min_group_size_nulls_gradients_resting_on_small_quintiles():
    # QAA as LINEAR but quintiles 1 and 5 hold 2 and 3 practices
    spec = {**LINEAR, "QCC": [(1, 1, 1), (2, 6, 4), (3, 7, 3), (4, 8, 2), (5, 3, 0)]}
    rows = gp_inequality_rows(_practices(spec), repetitions=2000, seed=7, min_group_size=5)
    qcc = {r["metric"]: r for r in rows.filter(pl.col("icb_code") == "QCC").to_dicts()}
    for metric in (
        "gp_sii_good_or_outstanding",
        "gp_rii_outstanding",
        "gp_gap_good_or_outstanding",
    ):
        assert qcc[metric]["value"] is None and qcc[metric]["lower"] is None, metric
    assert qcc["gp_sii_good_or_outstanding"]["note"] == (
        "deprivation quintile(s) 1 (2), 5 (3) have fewer than 5 rated practices "
        "(metrics.min_group_size): not computed"
    )
    assert qcc["gp_gap_good_or_outstanding"]["note"].startswith(
        "2 rated practices in quintile 1, 3 in quintile 5 (fewer than 5"
    )
    assert qcc["gp_theil_within_ics"]["value"] is not None  # part of the exact decomposition
    # QAA (10 per quintile) is untouched, and its SII equals the run without QCC
    alone = gp_inequality_rows(_practices(LINEAR), repetitions=2000, seed=7)
    with_qcc = rows.filter(pl.col("icb_code") == "QAA")
    assert with_qcc.filter(pl.col("metric") == "gp_sii_good_or_outstanding")["value"][0] == (
        pytest.approx(0.5)
    )
    assert alone.filter(pl.col("metric") == "gp_gap_good_or_outstanding")["value"][0] == (
        pytest.approx(0.4)
    )
    # a smaller minimum computes QCC: gap = 3/3 - 1/2
    low = gp_inequality_rows(_practices(spec), repetitions=2000, seed=7, min_group_size=2)
    gap = low.filter(
        (pl.col("icb_code") == "QCC") & (pl.col("metric") == "gp_gap_good_or_outstanding")
    )
    assert gap["value"][0] == pytest.approx(0.5)


def test_theil_decomposition_sums_and_equal_shares_give_zero():
    spec = {"QAA": [(q, 5, 5) for q in range(1, 6)], "QBB": [(q, 9, 1) for q in range(1, 6)]}
    rows = gp_inequality_rows(_practices(spec), repetitions=2000, seed=1)
    nat = {r["metric"]: r["value"] for r in rows.filter(pl.col("icb_code") == "ENGLAND").to_dicts()}
    assert nat["theil_total"] == pytest.approx(nat["theil_between_ics"] + nat["theil_within_ics"])
    within = rows.filter(pl.col("metric") == "gp_theil_within_ics")["value"].to_list()
    assert within == pytest.approx([0.0, 0.0])  # equal shares within each ICS
    # between: mu = 0.7, s_A = 0.5*0.5/0.7, s_B = 0.5*0.9/0.7
    mu = 0.7
    expected = (0.25 / mu) * math.log(0.5 / mu) + (0.45 / mu) * math.log(0.9 / mu)
    assert nat["theil_between_ics"] == pytest.approx(expected)


def test_dispersion_rows_by_hand():
    view = pl.DataFrame(
        {
            "icb_code": ["QAA", "QBB"],
            "sector": ["nhs_trust", "nhs_trust"],
            "key_question": ["Overall", "Overall"],
            "n_inadequate": [0, 1],
            "n_requires_improvement": [0, 0],
            "n_good": [4, 0],
            "n_outstanding": [0, 1],
        }
    )
    out = dispersion_rows(view)
    d = dict(zip(out["icb_code"], out["value"], strict=True))
    assert d["QAA"] == 0.0  # all alike
    # two ratings are not a dispersion: null with a note, not a number from two points
    assert d["QBB"] is None
    assert "only 2 rated" in out.filter(pl.col("icb_code") == "QBB")["note"][0]
    split = view.with_columns(
        pl.Series("n_inadequate", [2, 1]),
        pl.Series("n_outstanding", [2, 1]),
        pl.Series("n_good", [0, 0]),
    )
    d2 = dict(
        zip(*dispersion_rows(split).select("icb_code", "value").to_dict().values(), strict=True)
    )
    assert d2["QAA"] == pytest.approx(1.0)  # 4 providers split between the extremes


class _Table:
    def __init__(self, flows, trusts=None):
        self.flows = flows
        self.trusts = pl.DataFrame(
            trusts or [],
            schema={
                "org_code": pl.String,
                "name": pl.String,
                "icb_code": pl.String,
                "critical": pl.Boolean,
                "reason": pl.String,
            },
            orient="row",
        )


def test_access_rows_on_a_toy_network():
    flows = pl.DataFrame(
        {
            "resident_icb_code": ["QAA", "QAA", "QBB", None, "QBB"],
            "provider_category": ["nhs_trust"] * 5,
            "provider_icb_code": ["QAA", "QBB", "QAA", "QAA", "QAA"],
            "provider_code": ["T1", "T2", "T3", "T1", "T4"],
            "pathways": [100, 50, 100, 50, 50],
            "over_18_weeks": [20, 30, 50, 10, 10],
        }
    )
    icbs = pl.DataFrame({"icb_code": ["QAA", "QBB", "QCC"]})
    out = access_rows(_Table(flows), icbs)
    share = {
        r["icb_code"]: r["value"]
        for r in out.filter(pl.col("metric") == "share_waiting_over_18_weeks").to_dicts()
    }
    assert share["QAA"] == pytest.approx(50 / 150)
    assert share["QBB"] == pytest.approx(60 / 150)
    assert share["QCC"] is None
    gini = {
        r["icb_code"]: (r["value"], r["note"])
        for r in out.filter(pl.col("metric") == "over_18_weeks_gini_trusts").to_dicts()
    }
    # QAA hosts T1 (30/150 = 0.2, weight 150), T3 (50/100 = 0.5, weight 100) and
    # T4 (10/50 = 0.2, weight 50); weighted Gini = sum_ij w_i w_j |x_i - x_j| / (2 W^2 mu)
    x, w = [0.2, 0.5, 0.2], [150, 100, 50]
    big_w, mu = sum(w), (30 + 50 + 10) / 300
    pts = list(zip(x, w, strict=True))
    pairs = sum(wi * wj * abs(xi - xj) for xi, wi in pts for xj, wj in pts)
    expected = pairs / (2 * big_w**2 * mu)
    assert gini["QAA"][0] == pytest.approx(expected)
    assert gini["QBB"][0] is None and "1 hosted trust" in gini["QBB"][1]
    assert out["complete"].all()


def test_access_rows_flag_an_ics_missing_a_major_provider():
    flows = pl.DataFrame(
        {
            "resident_icb_code": ["QAA", "QBB"],
            "provider_category": ["nhs_trust"] * 2,
            "provider_icb_code": ["QAA", "QBB"],
            "provider_code": ["T1", "T2"],
            "pathways": [100, 100],
            "over_18_weeks": [20, 30],
        }
    )
    trusts = [
        ("T1", "ONE NHS TRUST", "QAA", False, None),
        ("T2", "TWO NHS TRUST", "QBB", False, None),
        ("T9", "NINE HOSPITALS NHS TRUST", "QBB", True, "named like an acute trust"),
        ("T8", "EIGHT MENTAL HEALTH NHS TRUST", "QAA", False, "non-elective by name"),
    ]
    out = access_rows(_Table(flows, trusts), pl.DataFrame({"icb_code": ["QAA", "QBB"]}))
    flagged = out.filter(~pl.col("complete"))
    assert sorted(flagged["metric"]) == ["over_18_weeks_gini_trusts", "share_waiting_over_18_weeks"]
    assert flagged["icb_code"].unique().to_list() == ["QBB"]
    note = flagged.filter(pl.col("metric") == "share_waiting_over_18_weeks")["note"][0]
    assert note.startswith("incomplete: major provider absent from the RTT extract: T9 (NINE")
    # the value is still reported (the composite decides what incomplete means)
    assert flagged.filter(pl.col("metric") == "share_waiting_over_18_weeks")["value"][0] == 0.3


def test_deprivation_rows_by_hand():
    imd = pl.DataFrame(
        {
            "lsoa11_code": ["L1", "L2", "L3"],
            "imd_rank": [100, 20000, 30000],
            "imd_quintile": [1, 4, 5],
            "population_total": [1000, 3000, 1000],
        }
    )
    lookup = pl.DataFrame({"lsoa11_code": ["L1", "L2", "L3"], "icb_gss": ["E54000001"] * 3})
    icbs = pl.DataFrame({"icb_code": ["QAA"], "icb_gss": ["E54000001"]})
    pop = pl.DataFrame({"icb_gss": ["E54000001", "E54000001"], "population": [10, 20]})
    out = deprivation_rows(imd, lookup, icbs, pop)
    v = dict(zip(out["metric"], out["value"], strict=True))
    assert v["imd_share_most_deprived_quintile"] == pytest.approx(0.2)
    assert v["imd_mean_rank"] == pytest.approx((100 * 1000 + 20000 * 3000 + 30000 * 1000) / 5000)
    assert v["population"] == 30


def test_direction_overrides_and_bad_directions():
    view = pl.DataFrame(
        {
            "icb_code": ["QAA"],
            "sector": ["gp_practice"],
            "key_question": ["Overall"],
            "n_inadequate": [0],
            "n_requires_improvement": [1],
            "n_good": [3],
            "n_outstanding": [1],
        }
    )
    parts = [dispersion_rows(view)]
    out = ics_metrics(parts, directions={"gp_rating_dispersion": "neutral"})
    assert out["direction"].to_list() == ["neutral"]
    with pytest.raises(ValueError, match="direction"):
        ics_metrics(parts, directions={"gp_rating_dispersion": "best"})


def test_catalogue_documents_every_metric():
    for e in METRIC_CATALOGUE:
        for field in (
            "metric",
            "label",
            "pillar",
            "direction",
            "unit",
            "definition",
            "source",
            "vintage",
        ):
            assert e[field], (e["metric"], field)
    partnership = [e for e in METRIC_CATALOGUE if e["pillar"] == "partnership"]
    assert all("modelled proxy" in e["label"] for e in partnership)


@pytest.fixture(scope="module")
def real():
    cfg = RunConfig.model_validate({"metrics": {"sii_repetitions": 2000}})
    return run(cfg).metrics.ics_metrics


def test_real_data_every_ics_and_metric(real):
    icss = real.filter(pl.col("icb_code") != "ENGLAND")
    assert icss["icb_code"].n_unique() == 42
    catalogued = {e["metric"] for e in METRIC_CATALOGUE}
    assert set(real["metric"]) == catalogued
    counts = icss.group_by("metric").len()
    assert (counts["len"] == 42).all()
    shares = real.filter(pl.col("unit").str.starts_with("share (0-1)"))
    vals = shares["value"].drop_nulls()
    assert ((vals >= 0) & (vals <= 1)).all()
    # every missing value carries a reason
    assert real.filter(pl.col("value").is_null())["note"].is_not_null().all()
    # Frimley's residents are those of the April 2026 code U2G6B (East Berkshire), placed
    # through the ICB crosswalk: RDU 30,500 + RWX 96 of U2G6B's 38,260 waiting pathways
    frimley = real.filter((pl.col("icb_code") == "QNQ") & (pl.col("metric") == "self_containment"))
    assert frimley["value"][0] == pytest.approx((30_500 + 96) / 38_260, abs=1e-12)
    note = frimley["note"][0]
    assert note.startswith("incomplete coverage") and "U2G6B" in note and "56.6%" in note
    assert "92A" in note and "20.7%" in note and "D9Y0V" in note and "22.8%" in note
    sheffield = real.filter(
        (pl.col("icb_code") == "QF7") & (pl.col("metric") == "self_containment")
    )
    assert "RHQ" in sheffield["note"][0]
    assert real.columns == ICS_METRICS.column_names
