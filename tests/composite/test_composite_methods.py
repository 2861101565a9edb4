"""Method registries: hand examples for normalisers, transforms, means and missing-data policies."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ics_model.composite.methods import (
    AGGREGATORS,
    MISSING_POLICIES,
    NORMALISERS,
    TRANSFORMS,
    CompositeError,
    average_ranks,
    domain_violations,
    mean_arithmetic,
    mean_generalised,
    mean_geometric,
    mean_harmonic,
    reweighted_mean,
)

NAN = np.nan


def test_registries_hold_the_documented_names():
    assert set(TRANSFORMS) == {"none", "log", "winsorise"}
    assert set(NORMALISERS) == {"minmax", "zscore", "rank", "percentile_rank", "goalposts"}
    assert set(AGGREGATORS) == {"arithmetic", "geometric", "harmonic", "generalised"}
    assert set(MISSING_POLICIES) == {"error", "skip_reweight", "impute_median"}


# --------------------------------------------------------------------------- normalisers


def test_minmax_hand_example_default_and_positive_range():
    x = np.array([1.0, 2.0, 3.0, NAN])
    np.testing.assert_allclose(NORMALISERS["minmax"](x), [0, 50, 100, NAN])
    np.testing.assert_allclose(
        NORMALISERS["minmax"](x, out_range=(1.0, 100.0)), [1, 50.5, 100, NAN]
    )


def test_minmax_constant_indicator_gets_the_midpoint():
    np.testing.assert_allclose(NORMALISERS["minmax"](np.array([4.0, 4.0, NAN])), [50, 50, NAN])


def test_zscore_hand_example():
    np.testing.assert_allclose(NORMALISERS["zscore"](np.array([1.0, 2.0, 3.0])), [-1, 0, 1])
    np.testing.assert_allclose(NORMALISERS["zscore"](np.array([5.0, 5.0])), [0, 0])


def test_rank_averages_ties_and_keeps_missing():
    np.testing.assert_allclose(
        NORMALISERS["rank"](np.array([3.0, 1.0, 3.0, 2.0, NAN])), [3.5, 1, 3.5, 2, NAN]
    )


def test_percentile_rank_hand_example():
    np.testing.assert_allclose(
        NORMALISERS["percentile_rank"](np.array([10.0, 30.0, 20.0])), [0, 100, 50]
    )
    np.testing.assert_allclose(NORMALISERS["percentile_rank"](np.array([7.0, NAN])), [50, NAN])


def test_goalposts_clip_to_the_range():
    x = np.array([0.4, 0.5, 0.75, 1.0, 1.2])
    np.testing.assert_allclose(
        NORMALISERS["goalposts"](x, goalposts=(0.5, 1.0)), [0, 0, 50, 100, 100]
    )
    np.testing.assert_allclose(
        NORMALISERS["goalposts"](x, goalposts=(0.5, 1.0), out_range=(1.0, 100.0)),
        [1, 1, 50.5, 100, 100],
    )
    with pytest.raises(CompositeError, match="goalposts"):
        NORMALISERS["goalposts"](x)


@settings(max_examples=200, deadline=None)
@given(
    x=arrays(
        np.float64,
        st.integers(1, 30),
        elements=st.one_of(st.floats(-1e6, 1e6), st.just(math.nan)),
    ),
    lo=st.floats(-100, 100),
    width=st.floats(0.5, 1000),
    method=st.sampled_from(["minmax", "percentile_rank"]),
)
def test_bounded_normalisers_stay_in_range(x, lo, width, method):
    y = NORMALISERS[method](x, out_range=(lo, lo + width))
    ok = ~np.isnan(y)
    assert np.array_equal(ok, ~np.isnan(x))
    tol = 1e-9 * max(1.0, abs(lo) + width)
    assert np.all(y[ok] >= lo - tol) and np.all(y[ok] <= lo + width + tol)


def test_average_ranks_matches_a_direct_count():
    x = np.array([2.0, 2.0, 1.0, 5.0, 2.0])
    expected = [(np.sum(x < v) + (np.sum(x == v) + 1) / 2) for v in x]
    np.testing.assert_allclose(average_ranks(x), expected)


# --------------------------------------------------------------------------- transforms


def test_log_transform_and_its_refusal_of_zero():
    np.testing.assert_allclose(
        TRANSFORMS["log"](np.array([1.0, math.e, NAN]), indicator="x"), [0, 1, NAN]
    )
    with pytest.raises(CompositeError, match=r"indicator 'waits'.*log.*<= 0"):
        TRANSFORMS["log"](np.array([1.0, 0.0, 2.0]), indicator="waits")


def test_winsorise_clips_at_the_quantiles():
    x = np.array([*range(1, 20), 1000.0])
    y = TRANSFORMS["winsorise"](x, indicator="x", quantiles=(0.05, 0.95))
    lo, hi = np.quantile(x, [0.05, 0.95])
    assert y.min() == pytest.approx(lo) and y.max() == pytest.approx(hi)
    assert y[5] == x[5]  # the middle is untouched


def test_transform_none_is_a_copy():
    x = np.array([1.0, 2.0])
    y = TRANSFORMS["none"](x, indicator="x")
    y[0] = 9
    assert x[0] == 1


# --------------------------------------------------------------------------- means


def test_means_hand_examples():
    v, w = np.array([2.0, 8.0]), np.array([1.0, 1.0])
    assert mean_arithmetic(v, w) == pytest.approx(5.0)
    assert mean_geometric(v, w) == pytest.approx(4.0)
    assert mean_harmonic(v, w) == pytest.approx(3.2)
    w2 = np.array([3.0, 1.0])
    assert mean_arithmetic(v, w2) == pytest.approx(3.5)
    assert mean_geometric(v, w2) == pytest.approx(2**1.5)
    assert mean_harmonic(v, w2) == pytest.approx(4 / (3 / 2 + 1 / 8))
    assert mean_generalised(np.array([3.0, 4.0]), w, p=2.0) == pytest.approx(math.sqrt(12.5))


def test_means_are_vectorised_over_leading_axes():
    v = np.array([[2.0, 8.0], [1.0, 1.0]])
    np.testing.assert_allclose(mean_geometric(v, np.ones((2, 2))), [4.0, 1.0])


positive = arrays(np.float64, st.integers(1, 8), elements=st.floats(0.01, 1000))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), v=positive)
def test_generalised_mean_special_cases(data, v):
    w = data.draw(arrays(np.float64, v.shape, elements=st.floats(0.01, 10)))
    assert mean_generalised(v, w, p=1.0) == pytest.approx(mean_arithmetic(v, w), rel=1e-12)
    assert mean_generalised(v, w, p=-1.0) == pytest.approx(mean_harmonic(v, w), rel=1e-9)
    assert mean_generalised(v, w, p=1e-9) == pytest.approx(mean_geometric(v, w), rel=1e-6)
    assert mean_generalised(v, w, p=0.0) == pytest.approx(mean_geometric(v, w), rel=1e-12)
    # power-mean inequality: harmonic <= geometric <= arithmetic
    h, g, a = mean_harmonic(v, w), mean_geometric(v, w), mean_arithmetic(v, w)
    assert h <= g * (1 + 1e-12) and g <= a * (1 + 1e-12)


def test_aggregator_domains():
    assert AGGREGATORS["arithmetic"].domain(1.0) == "real"
    assert AGGREGATORS["geometric"].domain(1.0) == "positive"
    assert AGGREGATORS["harmonic"].domain(1.0) == "positive"
    assert AGGREGATORS["generalised"].domain(1.0) == "real"
    assert AGGREGATORS["generalised"].domain(2.0) == "nonnegative"
    assert AGGREGATORS["generalised"].domain(-1.0) == "positive"
    v = np.array([0.0, -1.0, 2.0, NAN])
    assert domain_violations(v, "positive").tolist() == [True, True, False, False]
    assert domain_violations(v, "nonnegative").tolist() == [False, True, False, False]
    assert not domain_violations(v, "real").any()


def test_reweighted_mean_drops_zero_weights_and_renormalises():
    v = np.array([[10.0, 20.0, 99.0], [5.0, 5.0, 5.0]])
    w = np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    out, eff = reweighted_mean(v, w, "arithmetic")
    assert out[0] == pytest.approx(17.5) and math.isnan(out[1])
    np.testing.assert_allclose(eff, [[0.25, 0.75, 0.0], [0.0, 0.0, 0.0]])
    out_g, _ = reweighted_mean(np.array([4.0, 0.0]), np.array([1.0, 0.0]), "geometric")
    assert out_g == pytest.approx(4.0)  # a zero with weight 0 is dropped, not logged


# --------------------------------------------------------------------------- missing data

VALUES = np.array([[1.0, NAN], [3.0, 4.0], [NAN, 8.0], [5.0, 6.0]])
NAMES, CODES = ["a", "b"], ["Q01", "Q02", "Q03", "Q04"]


def test_missing_error_names_ics_and_indicator():
    with pytest.raises(CompositeError, match=r"Q01 b.*Q03 a"):
        MISSING_POLICIES["error"](VALUES, NAMES, CODES)
    _, notes = MISSING_POLICIES["error"](VALUES[1:2], NAMES, CODES[1:2])
    assert notes == [None]


def test_skip_reweight_keeps_missing_and_says_which():
    out, notes = MISSING_POLICIES["skip_reweight"](VALUES, NAMES, CODES)
    assert np.isnan(out[0, 1]) and notes == ["skipped: b", None, "skipped: a", None]


def test_impute_median_uses_the_national_median_of_the_raw_indicator():
    out, notes = MISSING_POLICIES["impute_median"](VALUES, NAMES, CODES)
    assert out[2, 0] == 3.0 and out[0, 1] == 6.0
    assert notes == ["imputed: b", None, "imputed: a", None]
    assert np.isnan(VALUES[0, 1])  # input untouched
    with pytest.raises(CompositeError, match="'b': no ICS has a value"):
        MISSING_POLICIES["impute_median"](np.array([[1.0, NAN]]), NAMES, CODES[:1])
