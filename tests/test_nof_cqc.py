"""NOF 2025/26 and the 2018 CQC trust ratings: matching and rank correlation (issue 14, part 7)."""

import math
from datetime import date
from functools import partial

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ics_model.contracts import DataContractError
from ics_model.effects.contracts import (
    NOF_CQC_CORRELATION,
    NOF_CQC_GROUPS,
    NOF_CQC_MATCHED,
    NOF_CQC_UNMATCHED,
)
from ics_model.effects.nof_cqc import match_nof_cqc, nof_cqc_correlation, trust_overall_ratings
from ics_model.effects.rank_correlation import (
    bonett_wright_interval,
    bootstrap_rank_correlations,
    fieller_interval,
    spearman_rows,
    tau_b_rows,
)
from ics_model.mapping import place_trusts
from ics_model.ratings import KeyQuestionEnum, RatingEnum, RatingStatusEnum
from ics_model.rules.engine import combine_frame

# --------------------------------------------------------------------------- hand frames

ICBS = pl.DataFrame({"icb_code": ["QAA"], "icb_gss": ["E54000001"], "icb_name": ["NHS Alpha ICB"]})
# Open: RA1 (own rating; absorbed the rated RQ1 in 2020), RB1 and RF1 (the rated RS1 split
# into them), RC1 (sole rated predecessor RX1), RD1 (two rated predecessors RY1, RZ1),
# RE1 (no rating, no predecessor).
_OPEN = ["RA1", "RB1", "RC1", "RD1", "RE1", "RF1"]
_CLOSED = ["RQ1", "RS1", "RX1", "RY1", "RZ1"]
TRUSTS = pl.DataFrame(
    {
        "org_code": _OPEN + _CLOSED,
        "name": _OPEN + _CLOSED,
        "icb_code": ["QAA"] * 11,
        "is_open": [True] * 6 + [False] * 5,
    }
)
SUCC = pl.DataFrame(
    {
        "predecessor_code": ["RQ1", "RS1", "RS1", "RX1", "RY1", "RZ1"],
        "successor_code": ["RA1", "RB1", "RF1", "RC1", "RD1", "RD1"],
        "effective_date": [date(2020, 4, 1)] * 6,
    }
)
PUBLISHED = {"RA1": date(2017, 3, 1), "RX1": date(2016, 3, 1)}
RATINGS = pl.DataFrame(
    {
        "provider_id": ["RA1", "RQ1", "RS1", "RX1", "RY1", "RZ1"],
        "rating": ["Good", "Good", "Outstanding", "Inadequate", "Good", "Good"],
    }
).with_columns(
    pl.lit("Overall").alias("service"),
    pl.lit("Overall").cast(KeyQuestionEnum).alias("key_question"),
    pl.col("rating").cast(RatingEnum),
    pl.lit("rated").cast(RatingStatusEnum).alias("rating_status"),
    pl.col("provider_id")
    .replace_strict(PUBLISHED, default=date(2018, 1, 1), return_dtype=pl.Date)
    .alias("publication_date"),
    pl.lit("provider").alias("level"),
)


def _nof(codes, scores=None, types=None, month="2026-03"):
    n = len(codes)
    scores = scores if scores is not None else [2.0 + 0.1 * i for i in range(n)]
    return pl.DataFrame(
        {
            "org_code": codes,
            "org_name": [f"Trust {c}" for c in codes],
            "nhs_trust_type": types or ["Acute trust"] * n,
            "icb_code": ["QAA"] * n,
            "data_month": [month] * n,
            "adjusted_segment": [3] * n,
            "avg_metric_score": scores,
        },
        schema_overrides={"avg_metric_score": pl.Float64},
    )


def _cqc(**kwargs):
    placed = place_trusts(RATINGS, TRUSTS, SUCC, ICBS, **kwargs)
    return trust_overall_ratings(placed.ratings)


# --------------------------------------------------------------------------- matching


def test_matching_rules_on_the_trust_mapping():
    nof = _nof(["RA1", "RB1", "RC1", "RD1", "RE1", "RG1", "RH1"], scores=[2.0] * 6 + [None])
    matched, unmatched = match_nof_cqc(nof, _cqc())
    assert matched.columns == NOF_CQC_MATCHED.column_names
    assert unmatched.columns == NOF_CQC_UNMATCHED.column_names
    assert matched.height + unmatched.height == nof.height  # nothing lost
    got = {r["org_code"]: r for r in matched.to_dicts()}
    assert sorted(got) == ["RA1", "RC1"]
    ra1, rc1 = got["RA1"], got["RC1"]
    # same code; its 2017 rating predates absorbing the rated RQ1 (2020): kept, flagged
    assert (ra1["match_method"], ra1["cqc_code_2018"], ra1["cqc_rating"]) == (
        "same_code",
        "RA1",
        "Good",
    )
    assert (ra1["cqc_predates_merger"], ra1["cqc_premerger_absorbed"]) == (True, "RQ1")
    assert ra1["cqc_rating_code"] == 2  # Good
    # the sole rated predecessor RX1 (Inadequate, 1 Mar 2016): 3652 days before 1 Mar 2026
    assert (rc1["match_method"], rc1["cqc_code_2018"], rc1["cqc_rating_code"]) == (
        "sole_predecessor",
        "RX1",
        4,
    )
    assert rc1["cqc_rating_age_years"] == pytest.approx(3652 / 365.25)
    assert rc1["cqc_predates_merger"] is False
    why = dict(zip(unmatched["org_code"], unmatched["reason_code"], strict=True))
    assert why == {
        "RB1": "rated_predecessor_split",
        "RD1": "several_rated_predecessors",
        "RE1": "no_2018_rating",
        "RG1": "not_in_cqc_trust_frame",
        "RH1": "no_nof_average_score",
    }
    text = dict(zip(unmatched["org_code"], unmatched["reason"], strict=True))
    assert text["RD1"] == "several rated predecessors (RY1, RZ1); ratings not combined"
    assert text["RB1"].startswith("rated predecessor RS1 split into several organisations")
    assert text["RE1"] == "no rating of its own and no rated predecessor"


def test_a_combined_rating_is_modelled_and_not_compared():
    combine = partial(combine_frame, rule_set="cqc_principles", name="rating")
    cqc = _cqc(combine_predecessors=combine)
    assert cqc.filter(pl.col("provider_id") == "RD1")["rating_source"].to_list() == ["combined"]
    matched, unmatched = match_nof_cqc(_nof(["RA1", "RD1"]), cqc)
    assert matched["org_code"].to_list() == ["RA1"]
    row = unmatched.row(0, named=True)
    assert (row["org_code"], row["reason_code"]) == ("RD1", "combined_rating")
    assert "RY1+RZ1" in row["reason"]


def test_a_rating_left_out_by_the_premerger_policy_is_reported():
    matched, unmatched = match_nof_cqc(_nof(["RA1"]), _cqc(premerger="exclude"))
    assert matched.is_empty()
    assert unmatched["reason_code"].to_list() == ["rating_left_out"]


def test_the_mapped_view_can_be_given_directly():
    placed = place_trusts(RATINGS, TRUSTS, SUCC, ICBS)
    direct = match_nof_cqc(_nof(["RA1", "RC1"]), placed.ratings)
    via = match_nof_cqc(_nof(["RA1", "RC1"]), trust_overall_ratings(placed.ratings))
    assert direct[0].equals(via[0]) and direct[0].height == 2


def test_matching_refuses_duplicates():
    with pytest.raises(ValueError, match=r"NOF trusts listed more than once: \['RA1'\]"):
        match_nof_cqc(_nof(["RA1", "RA1"]), _cqc())
    ratings = place_trusts(RATINGS, TRUSTS, SUCC, ICBS).ratings
    clash = pl.concat([ratings, ratings.with_columns(pl.lit(None, RatingEnum).alias("rating"))])
    with pytest.raises(ValueError, match=r"different Overall rows .*RA1"):
        trust_overall_ratings(clash)


# --------------------------------------------------------------------------- statistics


def _matched(scores, codes, *, types=None, month="2026-03", merged=None):
    n = len(scores)
    labels = {1: "Outstanding", 2: "Good", 3: "Requires improvement", 4: "Inadequate"}
    frame = pl.DataFrame(
        {
            "org_code": [f"R{i:02d}" for i in range(n)],
            "org_name": [f"Trust {i}" for i in range(n)],
            "nhs_trust_type": types or ["Acute trust"] * n,
            "icb_code": ["QAA"] * n,
            "data_month": [month] * n,
            "adjusted_segment": [3] * n,
            "avg_metric_score": [float(s) for s in scores],
            "cqc_code_2018": [f"R{i:02d}" for i in range(n)],
            "match_method": ["same_code"] * n,
            "cqc_rating": [labels[c] for c in codes],
            "cqc_rating_code": list(codes),
            "cqc_publication_date": [date(2014 + i % 5, 6, 1) for i in range(n)],
            "cqc_rating_age_years": [11.75 - (i % 5) for i in range(n)],
            "cqc_predates_merger": merged or [False] * n,
            "cqc_premerger_absorbed": [None] * n,
        },
        schema_overrides={"cqc_premerger_absorbed": pl.String},
    )
    return frame


def _rows(out, group="all"):
    return {
        (r["measure"], r["interval_method"]): r
        for r in out.filter(pl.col("group") == group).to_dicts()
    }


def test_perfectly_concordant_trusts_give_one():
    m = _matched([1.2, 1.8, 2.5, 3.1], [1, 2, 3, 4])
    out = nof_cqc_correlation(m, draws=199, rng=np.random.default_rng(8))
    assert out.columns == NOF_CQC_CORRELATION.column_names
    assert out.height == 4 * len(NOF_CQC_GROUPS)
    r = _rows(out)
    sp, kt = r["spearman_rho", "fisher_z_bonett_wright"], r["kendall_tau_b", "fisher_z_fieller"]
    assert (sp["n"], sp["estimate"], sp["lower"], sp["upper"]) == (4, 1.0, 1.0, 1.0)
    assert kt["estimate"] == pytest.approx(1.0)
    assert kt["lower"] is None and kt["upper"] is None  # Fieller needs n > 4
    boot = r["spearman_rho", "percentile_bootstrap"]
    # resamples of one trust repeated (x and y constant) have no correlation: not counted;
    # the group "all" draws first, so the same seed gives the same resamples
    again = bootstrap_rank_correlations(
        m["avg_metric_score"].to_numpy(), m["cqc_rating_code"].to_numpy(), 199,
        np.random.default_rng(8),
    )  # fmt: skip
    assert boot["bootstrap_draws"] == 199 - np.isnan(again[:, 0]).sum() == 193
    assert (boot["lower"], boot["upper"]) == (1.0, 1.0)


def test_spearman_and_tau_b_by_hand_on_five_pairs_with_ties():
    # NOF ranks 1..5; CQC codes 1, 3, 2, 2, 4 -> mid-ranks 1, 4, 2.5, 2.5, 5
    # rho: sum dx dy = 4 - 1 + 0 - 0.5 + 4 = 6.5, sum dx^2 = 10, sum dy^2 = 9.5
    # tau-b: P = 7, Q = 2, one pair tied in CQC only -> 5 / sqrt(9 x 10)
    x, y = [1.5, 2.0, 2.4, 2.9, 3.3], [1, 3, 2, 2, 4]
    out = nof_cqc_correlation(_matched(x, y), draws=99, rng=np.random.default_rng(1))
    r = _rows(out)
    rho = r["spearman_rho", "fisher_z_bonett_wright"]["estimate"]
    tau = r["kendall_tau_b", "fisher_z_fieller"]["estimate"]
    assert rho == pytest.approx(6.5 / math.sqrt(95))
    assert tau == pytest.approx(5 / math.sqrt(90))
    xs, ys = np.array([x], float), np.array([y], float)
    assert spearman_rows(xs, ys)[0] == pytest.approx(6.5 / math.sqrt(95))
    assert tau_b_rows(xs, ys)[0] == pytest.approx(5 / math.sqrt(90))
    assert r["spearman_rho", "fisher_z_bonett_wright"]["p_value"] == pytest.approx(
        stats.spearmanr(x, y).pvalue
    )


def test_bonett_wright_and_fieller_intervals_by_hand():
    # rho 0.5, n 28: z = artanh 0.5 = 0.549306, SE = sqrt(1.125 / 25) = 0.212132,
    # 1.959964 x SE = 0.415771 -> tanh(0.133535) = 0.132747, tanh(0.965077) = 0.746533
    assert bonett_wright_interval(0.5, 28) == pytest.approx((0.132747, 0.746533), abs=1e-6)
    # tau 0.3, n 44: z = 0.309520, SE = sqrt(0.437 / 40) = 0.104523, 1.959964 x SE = 0.204861
    # -> tanh(0.104659) = 0.104278, tanh(0.514380) = 0.473351
    assert fieller_interval(0.3, 44) == pytest.approx((0.104278, 0.473351), abs=1e-6)
    # 90%: z quantile 1.644854, on both sides of artanh 0.5
    lo, hi = bonett_wright_interval(0.5, 28, confidence=0.9)
    half = 1.644854 * math.sqrt(0.045)
    assert (math.atanh(lo), math.atanh(hi)) == pytest.approx(
        (0.549306 - half, 0.549306 + half), abs=1e-6
    )
    assert all(math.isnan(v) for v in bonett_wright_interval(0.5, 3))
    assert all(math.isnan(v) for v in fieller_interval(0.5, 4))
    assert fieller_interval(-1.0, 10) == (-1.0, -1.0)


def test_the_rows_use_the_intervals_and_carry_the_age_caveat():
    scores = [1.4, 1.9, 2.1, 2.2, 2.6, 2.8, 3.0, 3.5]
    codes = [1, 2, 3, 2, 2, 4, 3, 3]
    m = _matched(scores, codes, types=["Acute trust"] * 6 + ["Ambulance trust"] * 2)
    out = nof_cqc_correlation(m, confidence=0.9, draws=99, rng=np.random.default_rng(3))
    r = _rows(out)
    sp = r["spearman_rho", "fisher_z_bonett_wright"]
    assert (sp["lower"], sp["upper"]) == pytest.approx(
        bonett_wright_interval(sp["estimate"], 8, 0.9)
    )
    kt = r["kendall_tau_b", "fisher_z_fieller"]
    assert kt["estimate"] == pytest.approx(stats.kendalltau(scores, codes, variant="b").statistic)
    assert (kt["lower"], kt["upper"]) == pytest.approx(fieller_interval(kt["estimate"], 8, 0.9))
    # ages 11.75, 10.75, 9.75, 8.75, 7.75, 11.75, 10.75, 9.75 -> median 10.25
    assert sp["median_cqc_rating_age_years"] == pytest.approx(10.25)
    assert (sp["cqc_published_range"], sp["nof_data_month"], sp["confidence"]) == (
        "2014-2018",
        "2026-03",
        0.9,
    )
    assert (
        sp["bootstrap_draws"] is None
        and r["spearman_rho", "percentile_bootstrap"]["bootstrap_draws"] == 99
    )
    note = sp["note"]
    assert "Outstanding 1, Good 2, Requires improvement 3, Inadequate 4" in note
    assert "positive correlation means the two agree" in note
    assert "7.8-11.8 years (median 10.2) before the NOF data month 2026-03" in note
    assert note.endswith(".") and ". " not in note  # one sentence
    acute = _rows(out, "acute")["spearman_rho", "fisher_z_bonett_wright"]
    assert acute["n"] == 6
    assert acute["estimate"] == pytest.approx(stats.spearmanr(scores[:6], codes[:6]).statistic)


def test_an_empty_or_constant_group_has_no_estimate():
    m = _matched([1.5, 2.0, 2.5, 3.0], [2, 2, 2, 2], merged=[True] * 4)
    out = nof_cqc_correlation(m, draws=99, rng=np.random.default_rng(0))
    everything = _rows(out)["spearman_rho", "fisher_z_bonett_wright"]
    assert everything["n"] == 4 and everything["estimate"] is None  # CQC constant
    unmerged = _rows(out, "no_merger_since_rating")["kendall_tau_b", "percentile_bootstrap"]
    assert unmerged["n"] == 0 and unmerged["estimate"] is None
    assert unmerged["median_cqc_rating_age_years"] is None
    assert unmerged["note"].endswith("no matched trust in this group.")


def test_bad_arguments_are_refused():
    m = _matched([1.5, 2.0, 2.5, 3.0, 3.2], [1, 2, 2, 3, 4])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="confidence must be in"):
        nof_cqc_correlation(m, confidence=95, rng=rng)
    with pytest.raises(ValueError, match="draws must be at least 99, got 10"):
        nof_cqc_correlation(m, draws=10, rng=rng)
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        nof_cqc_correlation(m, rng=7)
    later = _matched([2.0], [2], month="2025-12").with_columns(pl.lit("T00").alias("org_code"))
    with pytest.raises(ValueError, match=r"several NOF data months: \['2025-12', '2026-03'\]"):
        nof_cqc_correlation(pl.concat([m, later]), rng=rng)
    with pytest.raises(DataContractError, match="cqc_rating_code"):
        nof_cqc_correlation(m.with_columns(pl.lit(7).alias("cqc_rating_code")), rng=rng)


# --------------------------------------------------------------------------- properties

_SCORES = st.integers(100, 400).map(lambda v: v / 100)  # a grid: 5 - x keeps every order


@settings(max_examples=40, deadline=None)
@given(
    pairs=st.lists(st.tuples(_SCORES, st.integers(1, 4)), min_size=6, max_size=30),
    seed=st.integers(0, 2**32 - 1),
)
def test_reversing_one_scale_flips_the_sign_and_mirrors_the_interval(pairs, seed):
    scores, codes = [p[0] for p in pairs], [p[1] for p in pairs]
    if len(set(scores)) < 2 or len(set(codes)) < 2:
        return
    out = nof_cqc_correlation(_matched(scores, codes), draws=99, rng=np.random.default_rng(seed))
    rev = nof_cqc_correlation(
        _matched([5 - s for s in scores], codes), draws=99, rng=np.random.default_rng(seed)
    )
    for a, b in zip(out.iter_rows(named=True), rev.iter_rows(named=True), strict=True):
        assert (a["group"], a["measure"], a["interval_method"]) == (
            b["group"],
            b["measure"],
            b["interval_method"],
        )
        if a["estimate"] is None:
            assert b["estimate"] is None
            continue
        assert b["estimate"] == pytest.approx(-a["estimate"], abs=1e-12)
        assert b["p_value"] == pytest.approx(a["p_value"], rel=1e-9, abs=1e-12)
        if a["lower"] is not None:
            assert b["lower"] == pytest.approx(-a["upper"], abs=1e-9)
            assert b["upper"] == pytest.approx(-a["lower"], abs=1e-9)
            assert a["lower"] <= a["estimate"] + 1e-12 or a["interval_method"].endswith("bootstrap")


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.lists(st.tuples(st.integers(0, 6), st.integers(1, 4)), min_size=8, max_size=8),
        min_size=1,
        max_size=5,
    )
)
def test_vectorised_estimators_match_scipy(rows):
    x = np.array([[p[0] for p in r] for r in rows], float)
    y = np.array([[p[1] for p in r] for r in rows], float)
    rho, tau = spearman_rows(x, y), tau_b_rows(x, y)
    for i in range(len(rows)):
        if np.ptp(x[i]) == 0 or np.ptp(y[i]) == 0:
            assert math.isnan(rho[i]) and math.isnan(tau[i])
            continue
        assert rho[i] == pytest.approx(stats.spearmanr(x[i], y[i]).statistic, abs=1e-12)
        assert tau[i] == pytest.approx(
            stats.kendalltau(x[i], y[i], variant="b").statistic, abs=1e-12
        )


def test_bootstrap_draws_come_from_the_generator():
    x, y = np.array([1.0, 2, 3, 4, 5, 6]), np.array([1.0, 2, 2, 3, 4, 3])
    a = bootstrap_rank_correlations(x, y, 50, np.random.default_rng(9))
    b = bootstrap_rank_correlations(x, y, 50, np.random.default_rng(9))
    c = bootstrap_rank_correlations(x, y, 50, np.random.default_rng(10))
    assert a.shape == (50, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c, equal_nan=True)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real():
    from ics_model.config import RunConfig
    from ics_model.data.nof import read_nof_segments
    from ics_model.mapping.nof import place_nof
    from ics_model.pipeline.sectors import SECTORS, load_reference, place_sector

    cfg = RunConfig()
    ref = load_reference(cfg)
    placed = place_sector(SECTORS["nhs_trust"], ref, cfg).placed
    nof = place_nof(read_nof_segments().frame, ref.trusts.frame, ref.icb_codes.frame).placed
    return nof, placed


def test_real_nof_trusts_matched_to_the_2018_ratings(real):
    nof, placed = real
    cqc = trust_overall_ratings(placed.ratings, placed.allocated)
    matched, unmatched = match_nof_cqc(nof, cqc)
    assert (nof.height, matched.height, unmatched.height) == (150, 147, 3)
    assert dict(matched["match_method"].value_counts().rows()) == {"same_code": 147}
    assert matched["cqc_predates_merger"].sum() == 16
    assert dict(zip(unmatched["org_code"], unmatched["reason_code"], strict=True)) == {
        "R0A": "rated_predecessor_split",  # RW6 (Pennine Acute) split into R0A and RM3
        "R0B": "several_rated_predecessors",  # RE9 + RLN
        "R0D": "several_rated_predecessors",  # RD3 + RDZ
    }
    assert dict(matched["cqc_rating"].value_counts().rows()) == {
        "Outstanding": 12,
        "Good": 64,
        "Requires improvement": 66,
        "Inadequate": 5,
    }
    age = matched["cqc_rating_age_years"]
    assert (round(age.min(), 2), round(age.max(), 2)) == (7.5, 11.8)
    # without the allocated rows the shared ambulance trust is reported, not lost
    _, without = match_nof_cqc(nof, trust_overall_ratings(placed.ratings))
    assert without.filter(pl.col("reason_code") == "not_in_cqc_trust_frame")[
        "org_code"
    ].to_list() == ["RYF"]

    out = nof_cqc_correlation(matched, rng=np.random.default_rng(20260601))
    got = {
        (r["group"], r["measure"], r["interval_method"]): (
            r["n"],
            round(r["estimate"], 3),
            round(r["lower"], 3),
            round(r["upper"], 3),
        )
        for r in out.to_dicts()
    }
    assert got["all", "spearman_rho", "fisher_z_bonett_wright"] == (147, 0.316, 0.159, 0.458)
    assert got["all", "spearman_rho", "percentile_bootstrap"] == (147, 0.316, 0.164, 0.465)
    assert got["all", "kendall_tau_b", "fisher_z_fieller"] == (147, 0.254, 0.151, 0.353)
    assert got["acute", "spearman_rho", "fisher_z_bonett_wright"] == (126, 0.291, 0.119, 0.446)
    assert got["acute", "kendall_tau_b", "fisher_z_fieller"] == (126, 0.233, 0.120, 0.341)
    assert got["no_merger_since_rating", "spearman_rho", "fisher_z_bonett_wright"][:2] == (
        131,
        0.323,
    )
    row = out.row(0, named=True)
    assert (row["cqc_published_range"], row["nof_data_month"]) == ("2014-2018", "2026-03")
    assert round(row["median_cqc_rating_age_years"], 2) == 8.33
    assert row["p_value"] < 1e-3
