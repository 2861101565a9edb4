"""Building composites on hand-made matrices: values, weights, missing data, invariances."""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_model.composite import (
    LABEL,
    CompositeError,
    composite,
    composite_spec_from_dict,
    correlations,
    indicator_matrix,
    normalised_array,
)
from ics_model.composite.kernel import aggregate, domain_problem, draw_weights, resolve_methods

CODES = ["Q01", "Q02", "Q03", "Q04", "Q05"]


def matrix(**cols) -> pl.DataFrame:
    return pl.DataFrame(
        {"icb_code": CODES, "icb_name": [f"ICS {c}" for c in CODES], **cols},
        schema_overrides={k: pl.Float64 for k in cols},
    )


def ind(name, direction="higher_is_better", **kw):
    return {"name": name, "source": f"metric:{name}", "direction": direction, **kw}


def spec(pillars, **top):
    # hand examples test the missing-data policies themselves: no coverage guard
    return composite_spec_from_dict({"min_coverage": 0, "pillars": pillars, **top})


# a: 0..100 exactly under minmax; b lower is better; c in another pillar
M = matrix(
    a=[0.0, 1.0, 2.0, 3.0, 4.0],
    b=[10.0, 20.0, 30.0, 40.0, 50.0],
    c=[5.0, 1.0, 3.0, 2.0, 4.0],
)
S = spec(
    {
        "p1": {"weight": 2, "indicators": [ind("a", weight=3), ind("b", "lower_is_better")]},
        "p2": {"weight": 1, "indicators": [ind("c")]},
    }
)


def by_code(frame: pl.DataFrame, col: str) -> dict[str, float]:
    return dict(zip(frame["icb_code"], frame[col], strict=True))


def test_hand_computed_scores_and_label():
    res = composite(M, S)
    assert res.label == LABEL == "modelled composite (no official ICS ratings exist)"
    # Q01: a=0 -> 0, b=10 (best) -> 100; p1 = (3*0 + 1*100)/4 = 25; c=5 -> 100
    # score = (2*25 + 1*100)/3 = 50
    s = by_code(res.scores, "score")
    assert s["Q01"] == pytest.approx(50.0)
    # Q05: a -> 100, b -> 0: p1 = 75; c=4 -> 75; score = 75
    assert s["Q05"] == pytest.approx(75.0)
    assert by_code(res.scores, "pillar_p1")["Q01"] == pytest.approx(25.0)
    assert res.scores.columns == [
        "icb_code",
        "icb_name",
        "score",
        "score_0_100",
        "rank",
        "pillar_p1",
        "pillar_p2",
        "affected",
        "coverage",
    ]
    best = res.scores.sort("rank").row(0, named=True)
    assert best["icb_code"] == "Q05" and best["rank"] == 1 and best["score_0_100"] == 100.0
    assert res.scores["score_0_100"].min() == 0.0
    assert res.scores["affected"].null_count() == 5


def test_rank_ties_share_the_best_rank():
    m = matrix(a=[1.0, 1.0, 0.0, 2.0, 0.5])
    res = composite(m, spec({"p": {"indicators": [ind("a")]}}))
    assert by_code(res.scores, "rank") == {"Q01": 2, "Q02": 2, "Q03": 5, "Q04": 1, "Q05": 4}


def test_weights_are_normalised_and_reported():
    w = composite(M, S).weights
    rows = {r["name"]: r for r in w.iter_rows(named=True)}
    assert rows["p1"]["level"] == "pillar" and rows["p1"]["weight_given"] == 2
    assert rows["p1"]["weight_normalised"] == pytest.approx(2 / 3)
    assert rows["a"]["weight_normalised"] == pytest.approx(0.75)
    assert rows["a"]["weight_in_composite"] == pytest.approx(0.5)
    assert rows["c"]["weight_in_composite"] == pytest.approx(1 / 3)
    assert w.filter(pl.col("level") == "indicator")["weight_in_composite"].sum() == pytest.approx(
        1.0
    )


def test_indicator_frame_layers_and_contributions_sum_to_the_score():
    m = M.with_columns(pl.when(pl.col("icb_code") == "Q02").then(None).otherwise("a").alias("a"))
    res = composite(m, S)
    ind_frame = res.indicators
    assert ind_frame.columns[:9] == [
        "icb_code",
        "pillar",
        "indicator",
        "raw",
        "transformed",
        "normalised",
        "weight_in_pillar",
        "weight_in_composite",
        "contribution",
    ]
    sums = ind_frame.group_by("icb_code").agg(pl.col("contribution").sum())
    joined = res.scores.join(sums, on="icb_code")
    np.testing.assert_allclose(joined["contribution"], joined["score"])
    pillar_sums = res.pillars.group_by("icb_code").agg(pl.col("contribution").sum())
    joined_p = res.scores.join(pillar_sums, on="icb_code")
    np.testing.assert_allclose(joined_p["contribution"], joined_p["score"])
    q2 = ind_frame.filter(pl.col("icb_code") == "Q02")
    assert q2.filter(pl.col("indicator") == "b")["weight_in_pillar"].item() == 1.0
    assert q2.filter(pl.col("indicator") == "a")["status"].item() == "skipped"


def test_lower_is_better_is_applied_before_normalising():
    res = composite(M, S).indicators.filter(pl.col("indicator") == "b")
    assert by_code(res, "normalised") == pytest.approx(
        {"Q01": 100.0, "Q02": 75.0, "Q03": 50.0, "Q04": 25.0, "Q05": 0.0}
    )
    assert by_code(res, "transformed")["Q01"] == 10.0  # reported before the flip


def test_goalposts_reflect_for_lower_is_better():
    s = spec(
        {
            "p": {
                "indicators": [
                    ind(
                        "b",
                        "lower_is_better",
                        normalise="goalposts",
                        goalposts={"lower": 20, "upper": 40},
                    )
                ]
            }
        }
    )
    res = composite(M, s).indicators
    assert res["normalised"].to_list() == pytest.approx([100.0, 100.0, 50.0, 0.0, 0.0])


def test_log_and_winsorise_transforms_in_a_composite():
    s = spec({"p": {"indicators": [ind("b", transform="log")]}})
    res = composite(M, s).indicators
    np.testing.assert_allclose(res["transformed"], np.log(M["b"].to_numpy()))
    s0 = spec({"p": {"indicators": [ind("a", transform="log")]}})
    with pytest.raises(CompositeError, match=r"indicator 'a': log transform needs positive"):
        composite(M, s0)


def test_geometric_with_a_zero_normalised_value_fails_naming_the_indicator():
    s = spec({"p": {"indicators": [ind("a"), ind("c")]}}, aggregation="geometric")
    with pytest.raises(CompositeError) as err:
        composite(M, s)
    msg = str(err.value)
    assert "indicator 'a'" in msg and "Q01=0" in msg and "[1, 100]" in msg
    s_ok = spec(
        {"p": {"indicators": [ind("a"), ind("c")]}},
        aggregation="geometric",
        normalise_range=[1, 100],
    )
    assert composite(M, s_ok).scores["score"].min() > 0


def test_zscore_cannot_feed_harmonic_or_a_geometric_pillar():
    s = spec({"p": {"aggregation": "harmonic", "indicators": [ind("a", normalise="zscore")]}})
    with pytest.raises(CompositeError, match=r"indicator 'a' \(pillar 'p'\): harmonic"):
        composite(M, s)
    # arithmetic pillars of z-scores give negative pillar scores: a geometric top level fails
    s2 = spec(
        {"p": {"aggregation": "arithmetic", "indicators": [ind("a", normalise="zscore")]}},
        aggregation="geometric",
    )
    with pytest.raises(CompositeError, match=r"pillar 'p'"):
        composite(M, s2)


# --------------------------------------------------------------------------- missing data

M_MISS = matrix(
    a=[0.0, None, 2.0, 3.0, 4.0],
    b=[10.0, 20.0, 30.0, 40.0, 50.0],
    c=[5.0, 1.0, None, 2.0, 4.0],
)


def test_missing_error_names_ics_and_indicator():
    with pytest.raises(CompositeError, match=r"Q02 a, Q03 c"):
        composite(M_MISS, S.model_copy(update={"missing": "error"}))


def test_skip_reweight_reports_affected_ics_and_skips_an_empty_pillar():
    res = composite(M_MISS, S)
    aff = by_code(res.scores, "affected")
    assert aff["Q02"] == "skipped: a"
    assert aff["Q03"] == "skipped: c; pillar skipped: p2"
    assert aff["Q01"] is None
    q3 = res.scores.filter(pl.col("icb_code") == "Q03").row(0, named=True)
    assert q3["pillar_p2"] is None and q3["score"] == pytest.approx(q3["pillar_p1"])
    assert q3["coverage"] == pytest.approx(2 / 3)
    # Q02's p1 is b alone: b=20 -> 75
    assert by_code(res.scores, "pillar_p1")["Q02"] == pytest.approx(75.0)


def test_impute_median_fills_the_raw_national_median():
    res = composite(M_MISS, S.model_copy(update={"missing": "impute_median"}))
    q2a = res.indicators.filter((pl.col("icb_code") == "Q02") & (pl.col("indicator") == "a"))
    assert q2a["raw"].item() is None and q2a["transformed"].item() == 2.5
    assert q2a["status"].item() == "imputed"
    assert by_code(res.scores, "affected")["Q03"] == "imputed: c"
    assert res.scores["score"].null_count() == 0


def test_an_ics_with_nothing_observed_has_no_score_and_no_rank():
    m = matrix(a=[None, 1.0, 2.0, 3.0, 4.0])
    res = composite(m, spec({"p": {"indicators": [ind("a")]}}))
    q1 = res.scores.filter(pl.col("icb_code") == "Q01").row(0, named=True)
    assert q1["score"] is None and q1["rank"] is None and q1["score_0_100"] is None
    assert sorted(res.scores["rank"].drop_nulls()) == [1, 2, 3, 4]


# --------------------------------------------------------------------------- invariances

RNG = np.random.default_rng(7)
M_RAND = matrix(
    **{f"x{j}": RNG.uniform(0.1, 10, len(CODES)).tolist() for j in range(4)}
).with_columns(pl.when(pl.col("icb_code") == "Q02").then(None).otherwise("x1").alias("x1"))


def rand_spec(w, wp, aggregation="arithmetic", dirs=("higher_is_better",) * 4):
    def pillar(weight, cols):
        return {"weight": weight, "indicators": [ind(f"x{j}", dirs[j], weight=w[j]) for j in cols]}

    return spec(
        {"p1": pillar(wp[0], (0, 1)), "p2": pillar(wp[1], (2, 3))},
        aggregation=aggregation,
        normalise_range=[1, 100],
    )


weights = st.lists(st.floats(0.05, 20), min_size=4, max_size=4)
pillar_weights = st.lists(st.floats(0.05, 20), min_size=2, max_size=2)


@settings(max_examples=40, deadline=None)
@given(
    w=weights,
    wp=pillar_weights,
    c=st.floats(0.01, 100),
    agg=st.sampled_from(["arithmetic", "geometric", "harmonic"]),
)
def test_rescaling_all_weights_changes_nothing(w, wp, c, agg):
    base = composite(M_RAND, rand_spec(w, wp, agg)).scores
    scaled = composite(M_RAND, rand_spec([c * x for x in w], [c * x for x in wp], agg)).scores
    np.testing.assert_allclose(scaled["score"], base["score"], rtol=1e-9)
    assert scaled["rank"].to_list() == base["rank"].to_list()


@settings(max_examples=60, deadline=None)
@given(
    w=weights,
    wp=pillar_weights,
    i=st.integers(0, len(CODES) - 1),
    j=st.sampled_from([0, 2, 3]),
    delta=st.floats(0.01, 20),
    agg=st.sampled_from(["arithmetic", "geometric"]),
    lower=st.booleans(),
)
def test_a_better_value_never_lowers_the_composite(w, wp, i, j, delta, agg, lower):
    dirs = ["higher_is_better"] * 4
    if lower:
        dirs[j] = "lower_is_better"
    s = rand_spec(w, wp, agg, tuple(dirs))
    before = composite(M_RAND, s).scores["score"][i]
    col = f"x{j}"
    step = -delta if lower else delta
    better = M_RAND.with_columns(
        pl.when(pl.int_range(pl.len()) == i)
        .then(pl.col(col) + step)
        .otherwise(pl.col(col))
        .alias(col)
    )
    after = composite(better, s).scores["score"][i]
    assert after >= before - 1e-9


def test_kernel_equals_composite_for_one_draw_and_many():
    draws_w = np.array([[1, 1, 1, 1], [3, 1, 0.5, 2], [1, 4, 2, 0.1]], dtype=float)
    draws_p = np.array([[1, 1], [2, 1], [0.3, 5]], dtype=float)
    for agg in ("arithmetic", "geometric", "generalised"):
        base = rand_spec([1] * 4, [1, 1], agg).model_copy(update={"p": 0.5})
        values, names, pillar_of = normalised_array(M_RAND, base)
        assert names == ["x0", "x1", "x2", "x3"] and pillar_of.tolist() == [0, 0, 1, 1]
        assert np.isnan(values[1, 1])
        methods = [agg, agg]
        many = aggregate(values, draws_w, draws_p, pillar_of, methods, agg, 0.5, renormalise=True)
        assert many.score.shape == (3, len(CODES))
        for d in range(3):
            s = rand_spec(draws_w[d], draws_p[d], agg).model_copy(update={"p": 0.5})
            expect = composite(M_RAND, s).scores["score"]
            np.testing.assert_allclose(many.score[d], expect, rtol=1e-12)
        one = aggregate(
            values, draws_w[1:2], draws_p[1:2], pillar_of, methods, agg, 0.5, renormalise=True
        )
        np.testing.assert_allclose(one.score[0], many.score[1])


def test_kernel_checks_its_inputs():
    values, _, pillar_of = normalised_array(M_RAND, rand_spec([1] * 4, [1, 1]))
    with pytest.raises(CompositeError, match="non-negative"):
        draw_weights([1, -1, 1, 1], 4, "indicator")
    with pytest.raises(CompositeError, match="shape"):
        draw_weights([1, 1, 1], 4, "indicator")
    with pytest.raises(CompositeError, match="unknown aggregation 'mode'"):
        resolve_methods("mode", None, 2)
    zero = values.copy()
    zero[0, 0] = 0.0
    assert "positive" in domain_problem(zero[:, pillar_of == 0], "geometric", 1.0)
    assert domain_problem(values[:, pillar_of == 0], "geometric", 1.0) is None


def test_inputs_are_not_mutated():
    before = M_MISS.clone()
    composite(M_MISS, S.model_copy(update={"missing": "impute_median"}))
    assert M_MISS.equals(before)


# --------------------------------------------------------------------------- correlations


def test_correlation_flags_on_a_constructed_example():
    x = np.arange(10, dtype=float)
    m = pl.DataFrame(
        {
            "icb_code": [f"Q{i:02d}" for i in range(10)],
            "u": x,
            "v": 2 * x + np.array([0.1, -0.1] * 5),  # near duplicate of u
            "w": x,  # lower is better: oriented it runs against u
            "z": np.array([3.0, 1, 4, 1, 5, 9, 2, 6, np.nan, 3]),
        }
    )
    s = spec(
        {
            "p1": {"indicators": [ind("u"), ind("v"), ind("w", "lower_is_better")]},
            "p2": {"indicators": [ind("z")]},
        }
    )
    c = correlations(m, s)
    assert c.height == 6
    row = {(r["indicator_a"], r["indicator_b"]): r for r in c.iter_rows(named=True)}
    assert row[("u", "v")]["flag_high"] and row[("u", "v")]["same_pillar"]
    assert not row[("u", "v")]["flag_negative_within_pillar"]
    assert row[("u", "w")]["pearson"] == pytest.approx(-1.0)
    assert row[("u", "w")]["spearman"] == pytest.approx(-1.0)
    assert row[("u", "w")]["flag_negative_within_pillar"] and row[("u", "w")]["flag_high"]
    assert row[("u", "z")]["n"] == 9 and not row[("u", "z")]["same_pillar"]
    assert not row[("w", "z")]["flag_negative_within_pillar"]  # different pillars
    zz = m["z"].to_numpy()
    ok = ~np.isnan(zz)
    assert row[("u", "z")]["pearson"] == pytest.approx(np.corrcoef(x[ok], zz[ok])[0, 1])
    relaxed = correlations(m, s, high=1.0, negative=1.0)
    assert not relaxed["flag_high"].any() and not relaxed["flag_negative_within_pillar"].any()


# --------------------------------------------------------------------------- matrix


def small_view_and_metrics():
    view = pl.DataFrame(
        {
            "icb_code": ["Q01", "Q01", "Q02", "Q02"],
            "icb_name": ["One", "One", "Two", "Two"],
            "sector": ["nhs_trust", "gp_practice", "nhs_trust", "gp_practice"],
            "key_question": ["Overall"] * 4,
            "share_outstanding": [0.1, 0.2, 0.3, None],
            "ratings_vintage": ["v"] * 4,
        }
    )
    metrics = pl.DataFrame(
        {
            "icb_code": ["Q01", "Q02", "ENGLAND"],
            "metric": ["self_containment"] * 3,
            "value": [0.8, 0.7, 0.75],
        }
    )
    return view, metrics


def test_indicator_matrix_reads_view_cells_and_metrics():
    view, metrics = small_view_and_metrics()
    s = composite_spec_from_dict(
        {
            "pillars": {
                "p": {
                    "indicators": [
                        {
                            "name": "gp_out",
                            "source": "view:gp_practice:Overall:share_outstanding",
                            "direction": "higher_is_better",
                        },
                        ind("self_containment"),
                    ]
                }
            }
        }
    )
    m = indicator_matrix(view, metrics, s)
    assert m.columns == ["icb_code", "icb_name", "gp_out", "self_containment", "incomplete"]
    assert m.rows() == [("Q01", "One", 0.2, 0.8, []), ("Q02", "Two", None, 0.7, [])]


def test_indicator_matrix_unknown_sources_name_the_indicator():
    view, metrics = small_view_and_metrics()
    s = spec({"p": {"indicators": [ind("waits")]}})
    with pytest.raises(CompositeError, match=r"'waits': unknown metric.*self_containment"):
        indicator_matrix(view, metrics, s)
    bad_col = composite_spec_from_dict(
        {
            "pillars": {
                "p": {
                    "indicators": [
                        {
                            "name": "x",
                            "source": "view:nhs_trust:Overall:n_stars",
                            "direction": "higher_is_better",
                        }
                    ]
                }
            }
        }
    )
    with pytest.raises(CompositeError, match=r"'x': 'n_stars' is not a numeric.*share_outst"):
        indicator_matrix(view, metrics, bad_col)
    loc = bad_col.model_copy(deep=True)
    loc_dict = loc.model_dump()
    loc_dict["pillars"]["p"]["indicators"][0]["source"] = "view:location:Overall:share_outstanding"
    with pytest.raises(CompositeError, match=r"'x': sector 'location' is not in the ICS view"):
        indicator_matrix(view, metrics, composite_spec_from_dict(loc_dict))
    with pytest.raises(CompositeError, match="needs the ICS view"):
        indicator_matrix(None, metrics, bad_col)


def test_composite_refuses_a_matrix_without_the_indicator():
    with pytest.raises(CompositeError, match=r"\['c'\] not in the matrix"):
        composite(M.drop("c"), S)


def test_no_nan_leaks_into_outputs():
    res = composite(M_MISS, S)
    for frame in (res.scores, res.indicators, res.pillars):
        for col, dtype in frame.schema.items():
            if dtype == pl.Float64:
                assert not frame[col].is_nan().any(), col
    assert math.isclose(res.scores["coverage"].max(), 1.0)


def test_min_coverage_leaves_thin_icss_unranked_with_a_reason():
    m = M.with_columns(
        pl.when(pl.col("icb_code") == "Q02").then(None).otherwise(pl.col(c)).alias(c)
        for c in ("a", "b")
    )
    guarded = composite(m, spec(S.model_dump()["pillars"], min_coverage=0.5))
    q2 = guarded.scores.filter(pl.col("icb_code") == "Q02").row(0, named=True)
    assert q2["score"] is None and q2["rank"] is None and q2["score_0_100"] is None
    assert "not ranked" in q2["affected"] and "min_coverage 0.5" in q2["affected"]
    others = guarded.scores.filter(pl.col("icb_code") != "Q02")
    assert others["rank"].null_count() == 0 and others["rank"].min() == 1
    unguarded = composite(m, spec(S.model_dump()["pillars"]))
    assert unguarded.scores.filter(pl.col("icb_code") == "Q02")["score"][0] is not None


def test_missing_data_warning_names_icss_by_reason_once_per_process(caplog):
    import logging

    from ics_model.composite.build import _warn_missing

    codes, names = ["QZ1", "QZ2", "QZ3"], ["NHS Alpha Integrated Care Board", None, "NHS Beta ICB"]
    affected = ["skipped: x_test", "skipped: x_test", None]
    with caplog.at_level(logging.DEBUG, logger="ics_model.composite.build"):
        _warn_missing(codes, names, affected)
        _warn_missing(codes, names, affected)
    first, second = caplog.records
    assert first.levelno == logging.WARNING and second.levelno == logging.DEBUG
    assert "2 ICSs affected" in first.message
    assert "2 with skipped: x_test [Alpha (QZ1), QZ2]" in first.message
