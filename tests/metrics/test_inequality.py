"""Tests for ics_model.metrics.inequality: SII/RII (phe_sii), Gini, Theil, Atkinson, gaps, Leik."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ics_model.metrics.inequality import (
    InequalityInputError,
    atkinson,
    gini,
    gini_by,
    leik_dispersion,
    quintile_gap,
    rating_dispersion,
    slope_index,
    slope_index_or_null,
    theil,
    theil_decomposition,
)

REPS = 5_000  # simulation size for tests that do not look at the limits closely

# --------------------------------------------------------------------------------------
# phe_sii reference values
# --------------------------------------------------------------------------------------
# Input: the example data of phe_sii's own documentation (the @examples block of
# R/SII_function.R, ukhsa-collaboration/PHEindicatormethods, CRAN version 2.0.2.9001).
# Expected: the output of that phe_sii source (R/SII_function.R with SimulationFunc and
# FindXValues from R/utils.R) run under R 4.2.2 with set.seed(1), repetitions = 100000,
# confidence = c(0.95, 0.998). The package's own expected values live in
# tests/testthat/testdata_SII.xlsx, which could not be read here (binary), so the reference
# is the R code itself. Point estimates must agree to floating-point precision; limits only
# in distribution (different random number generators).
PHE_POP = [7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534]
PHE_POP += [21675, 20065, 19750, 24713, 20112, 19618, 22408, 19752, 18939, 19312]
PHE_VALUE = [75.9, 78.3, 83.8, 83.6, 80.5, 81.1, 81.7, 84.2, 80.6, 86.3]
PHE_VALUE += [70.5, 71.6, 72.5, 73.5, 73.1, 76.2, 78.7, 80.6, 80.9, 80.0]
PHE_LOWER = [72.7, 75.3, 80.9, 80.2, 77.1, 78.0, 79.0, 81.4, 75.8, 83.2]
PHE_LOWER += [70.1, 71.1, 72.0, 73.1, 72.7, 75.7, 78.2, 80.1, 80.4, 79.5]
PHE_UPPER = [79.1, 81.4, 86.8, 87.1, 83.8, 84.2, 84.4, 86.9, 85.4, 89.4]
PHE_UPPER += [71.0, 72.1, 73.2, 73.7, 75.8, 78.8, 79.8, 81.2, 81.3, 80.9]
PHE_SE = [1.64, 1.58, 1.51, 1.78, 1.7, 1.56, 1.37, 1.4, 2.43, 1.57]
PHE_SE += [0.23, 0.26, 0.3, 0.16, 0.79, 0.78, 0.4, 0.28, 0.23, 0.35]


def phe_example(scale: float = 1.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "area": ["Area1"] * 10 + ["Area2"] * 10,
            "decile": list(range(1, 11)) * 2,
            "population": PHE_POP,
            "value": [v / scale for v in PHE_VALUE],
            "lower": [v / scale for v in PHE_LOWER],
            "upper": [v / scale for v in PHE_UPPER],
            "se": PHE_SE,
        }
    )


# case -> (frame scale, kwargs, {area: (sii, rii, intercept, sii_lower_95, sii_upper_95)})
PHE_CASES = {
    "normal_se": (
        1.0,
        {"se": "se"},
        {
            "Area1": (7.0002347600798958, 1.0897097049119413, 78.032078769529946, 3.1656, 10.8412),
            "Area2": (12.622738563631648, 1.1820343480014959, 69.342619688059756, 12.0143, 13.2324),
        },
    ),
    "normal_cl_multiplier_minus2": (
        1.0,
        {"lower_cl": "lower", "upper_cl": "upper", "multiplier": -2.0},
        {
            "Area1": (
                -14.000469520159792,
                0.91767559331850612,
                78.032078769529946,
                -21.689,
                -6.359,
            ),
            "Area2": (
                -25.245477127263296,
                0.84599910458670913,
                69.342619688059756,
                -26.475,
                -24.014,
            ),
        },
    ),
    "rate_cl": (
        1.0,
        {"value_type": "rate", "lower_cl": "lower", "upper_cl": "upper"},
        {
            "Area1": (7.0002347600798771, 1.0897097049119411, 78.032078769529974, 3.1471, 10.8388),
            "Area2": (12.622738563631669, 1.1820343480014963, 69.342619688059727, 12.0077, 13.2390),
        },
    ),
    "rate_cl_transform": (
        1.0,
        {"value_type": "rate", "lower_cl": "lower", "upper_cl": "upper", "transform": True},
        {
            "Area1": (7.0662410464884147, 1.0905687146706808, 78.020772097541098, 3.1785, 10.9986),
            "Area2": (12.607730758205847, 1.1813561746996111, 69.519170103188586, 11.9982, 13.2275),
        },
    ),
    "rate_cl_transform_multiplier_minus1": (
        1.0,
        {
            "value_type": "rate",
            "lower_cl": "lower",
            "upper_cl": "upper",
            "transform": True,
            "multiplier": -1.0,
        },
        {
            "Area1": (
                -7.0662410464884147,
                0.91695276652234625,
                78.020772097541098,
                -10.980,
                -3.183,
            ),
            "Area2": (
                -12.607730758205847,
                0.84648476168017206,
                69.519170103188586,
                -13.220,
                -12.000,
            ),
        },
    ),
    "proportion_cl_transform_multiplier_minus100": (
        100.0,
        {
            "value_type": "proportion",
            "lower_cl": "lower",
            "upper_cl": "upper",
            "transform": True,
            "multiplier": -100.0,
        },
        {
            "Area1": (
                -6.8947047441138665,
                0.91880312673149034,
                78.018721925824465,
                -10.850,
                -2.944,
            ),
            "Area2": (
                -12.703936058597165,
                0.84440190692601569,
                68.941897817764414,
                -13.358,
                -12.054,
            ),
        },
    ),
    "proportion_cl_multiplier_100": (
        100.0,
        {"value_type": "proportion", "lower_cl": "lower", "upper_cl": "upper", "multiplier": 100.0},
        {
            # intercept is not scaled by the multiplier without transform (as phe_sii)
            "Area1": (7.0002347600798984, 1.0897097049119413, 0.78032078769529956, 2.9937, 10.7841),
            "Area2": (
                12.622738563631708,
                1.1820343480014970,
                0.69342619688059692,
                11.9981,
                13.2393,
            ),
        },
    ),
}


@pytest.mark.parametrize("case", sorted(PHE_CASES))
def test_point_estimates_match_phe_sii(case: str) -> None:
    scale, kwargs, expected = PHE_CASES[case]
    out = slope_index(
        phe_example(scale),
        quantile="decile",
        population="population",
        value="value",
        by="area",
        intercept=True,
        repetitions=2_000,
        seed=1,
        **kwargs,
    )
    assert out["area"].to_list() == ["Area1", "Area2"]
    for row in out.iter_rows(named=True):
        sii, rii, icpt, _, _ = expected[row["area"]]
        assert row["sii"] == pytest.approx(sii, rel=1e-12)
        assert row["rii"] == pytest.approx(rii, rel=1e-12)
        assert row["intercept"] == pytest.approx(icpt, rel=1e-12)
        assert row["n_quantiles"] == 10


@pytest.mark.parametrize(
    "case", ["normal_se", "rate_cl_transform_multiplier_minus1", "proportion_cl_multiplier_100"]
)
def test_limits_agree_with_phe_sii_simulation(case: str) -> None:
    scale, kwargs, expected = PHE_CASES[case]
    out = slope_index(
        phe_example(scale),
        quantile="decile",
        population="population",
        value="value",
        by="area",
        repetitions=20_000,
        seed=11,
        **kwargs,
    )
    for row in out.iter_rows(named=True):
        _, _, _, lower, upper = expected[row["area"]]
        width = upper - lower
        # both are Monte Carlo estimates: allow 5% of the interval width
        assert row["sii_lower_95_0cl"] == pytest.approx(lower, abs=0.05 * width)
        assert row["sii_upper_95_0cl"] == pytest.approx(upper, abs=0.05 * width)


# --------------------------------------------------------------------------------------
# slope_index: hand-computed examples
# --------------------------------------------------------------------------------------


def quintiles(values, populations=None, se=None, **extra) -> pl.DataFrame:
    n = len(values)
    return pl.DataFrame(
        {
            "q": list(range(1, n + 1)),
            "pop": populations or [1000.0] * n,
            "y": [float(v) for v in values],
            "se": se or [1.0] * n,
            **extra,
        }
    )


def sii(frame: pl.DataFrame, **kwargs) -> pl.DataFrame:
    kwargs.setdefault("se", "se")
    kwargs.setdefault("repetitions", REPS)
    kwargs.setdefault("seed", 0)
    return slope_index(frame, quantile="q", population="pop", value="y", **kwargs)


def test_equal_populations_on_a_line_gives_the_slope_exactly() -> None:
    # equal quintiles: ranks 0.1, 0.3, 0.5, 0.7, 0.9; y = 40 + 10 * rank
    ranks = [0.1, 0.3, 0.5, 0.7, 0.9]
    out = sii(quintiles([40 + 10 * r for r in ranks]), intercept=True)
    assert out["sii"][0] == pytest.approx(10.0, abs=1e-12)
    assert out["intercept"][0] == pytest.approx(40.0, abs=1e-12)
    assert out["rii"][0] == pytest.approx(50.0 / 40.0, rel=1e-12)


def test_unequal_populations_use_cumulative_midpoint_ranks() -> None:
    # shares 0.1, 0.1, 0.2, 0.2, 0.4 -> ranks 0.05, 0.15, 0.30, 0.50, 0.80; y = 3 - 2 * rank
    ranks = [0.05, 0.15, 0.30, 0.50, 0.80]
    out = sii(quintiles([3 - 2 * r for r in ranks], populations=[1, 1, 2, 2, 4]), intercept=True)
    assert out["sii"][0] == pytest.approx(-2.0, abs=1e-12)
    assert out["intercept"][0] == pytest.approx(3.0, abs=1e-12)


def test_matches_sqrt_population_weighted_least_squares() -> None:
    pops = np.array([120.0, 340.0, 90.0, 410.0, 260.0, 150.0])
    y = np.array([12.0, 15.5, 11.0, 19.0, 17.5, 22.0])
    a = pops / pops.sum()
    b = np.cumsum(a) - a / 2
    design = np.column_stack([np.sqrt(a), b * np.sqrt(a)])
    (b0, b1), *_ = np.linalg.lstsq(design, np.sqrt(a) * y, rcond=None)
    out = sii(quintiles(y.tolist(), populations=pops.tolist()), intercept=True, multiplier=3.0)
    assert out["sii"][0] == pytest.approx(3.0 * b1, rel=1e-12)
    assert out["intercept"][0] == pytest.approx(b0, rel=1e-12)
    assert out["rii"][0] == pytest.approx((b0 + b1) / b0, rel=1e-12)


def test_direction_quintile_one_is_most_deprived() -> None:
    # value highest in quintile 1 (most deprived), falling towards quintile 5
    out = sii(quintiles([50, 40, 30, 20, 10]))
    assert out["sii"][0] < 0
    assert out["rii"][0] < 1


def test_negative_multiplier_scales_sii_and_inverts_rii() -> None:
    frame = quintiles([10, 12, 15, 16, 20])
    plus = sii(frame, multiplier=1.0)
    minus = sii(frame, multiplier=-100.0)
    assert minus["sii"][0] == pytest.approx(-100 * plus["sii"][0], rel=1e-12)
    assert minus["rii"][0] == pytest.approx(1 / plus["rii"][0], rel=1e-12)
    assert minus["sii_lower_95_0cl"][0] < minus["sii"][0] < minus["sii_upper_95_0cl"][0]
    assert minus["rii_lower_95_0cl"][0] < minus["rii"][0] < minus["rii_upper_95_0cl"][0]


def test_output_columns_and_groups() -> None:
    frame = pl.concat(
        [
            quintiles([1, 2, 3, 4, 5]).with_columns(ics=pl.lit("B")),
            quintiles([5, 4, 3, 2, 1]).with_columns(ics=pl.lit("A")),
        ]
    )
    out = sii(frame, by="ics", intercept=True)
    assert out.columns == [
        "ics",
        "n_quantiles",
        "sii",
        "rii",
        "intercept",
        "sii_lower_95_0cl",
        "sii_upper_95_0cl",
        "sii_lower_99_8cl",
        "sii_upper_99_8cl",
        "rii_lower_95_0cl",
        "rii_upper_95_0cl",
        "rii_lower_99_8cl",
        "rii_upper_99_8cl",
        "indicator_type",
        "transform",
    ]
    assert out["ics"].to_list() == ["A", "B"]
    assert out["indicator_type"].to_list() == ["normal", "normal"]
    no_rii = sii(frame, by="ics", rii=False, confidence=0.9)
    assert no_rii.columns == [
        "ics",
        "n_quantiles",
        "sii",
        "sii_lower_90_0cl",
        "sii_upper_90_0cl",
        "indicator_type",
        "transform",
    ]


def test_transform_labels() -> None:
    frame = quintiles([0.1, 0.2, 0.3, 0.4, 0.5], lo=[0.05, 0.15, 0.25, 0.35, 0.45])
    frame = frame.with_columns(hi=pl.col("y") + 0.05)
    out = sii(frame, se=None, lower_cl="lo", upper_cl="hi", value_type="proportion", transform=True)
    assert out["transform"][0] == "logit"
    assert out["indicator_type"][0] == "proportion"


def test_input_frame_not_mutated() -> None:
    frame = quintiles([5, 4, 3, 2, 1]).reverse()
    before = frame.clone()
    sii(frame)
    assert frame.equals(before)


# --------------------------------------------------------------------------------------
# slope_index: simulation
# --------------------------------------------------------------------------------------


def test_same_seed_same_limits_and_generator_accepted() -> None:
    frame = phe_example()
    kwargs = {"by": "area", "se": "se", "repetitions": 2_000}
    first = slope_index(
        frame, quantile="decile", population="population", value="value", seed=42, **kwargs
    )
    second = slope_index(
        frame, quantile="decile", population="population", value="value", seed=42, **kwargs
    )
    assert first.equals(second)
    via_rng = slope_index(
        frame,
        quantile="decile",
        population="population",
        value="value",
        seed=np.random.default_rng(42),
        **kwargs,
    )
    assert via_rng.equals(first)
    other = slope_index(
        frame, quantile="decile", population="population", value="value", seed=43, **kwargs
    )
    assert other["sii"].equals(first["sii"])
    assert not other["sii_lower_95_0cl"].equals(first["sii_lower_95_0cl"])


def test_limits_bracket_estimate_and_nest() -> None:
    out = slope_index(
        phe_example(),
        quantile="decile",
        population="population",
        value="value",
        by="area",
        se="se",
        repetitions=10_000,
        seed=3,
    )
    for row in out.iter_rows(named=True):
        for stat in ("sii", "rii"):
            assert row[f"{stat}_lower_99_8cl"] < row[f"{stat}_lower_95_0cl"] < row[stat]
            assert row[stat] < row[f"{stat}_upper_95_0cl"] < row[f"{stat}_upper_99_8cl"]


def test_simulated_limits_match_analytic_propagation() -> None:
    # normal, untransformed: slope = sum(c_i y_i), so sd(slope) = sqrt(sum c_i^2 se_i^2).
    # The one check with the default 100,000 repetitions.
    pops = np.array([5200.0, 6100.0, 5800.0, 7400.0, 6900.0])
    y = np.array([70.0, 72.5, 74.0, 77.5, 79.0])
    se = np.array([1.2, 0.9, 1.5, 0.8, 1.1])
    a = pops / pops.sum()
    b = np.cumsum(a) - a / 2
    design = np.column_stack([np.sqrt(a), b * np.sqrt(a)])
    coef_map = np.linalg.solve(design.T @ design, design.T) * np.sqrt(a)  # beta = coef_map @ y
    c = coef_map[1]
    sd = math.sqrt(float(np.sum(c**2 * se**2)))
    out = sii(
        quintiles(y.tolist(), populations=pops.tolist(), se=se.tolist()),
        repetitions=100_000,
        seed=2024,
    )
    z95 = 1.959963984540054
    half_width = (out["sii_upper_95_0cl"][0] - out["sii_lower_95_0cl"][0]) / 2
    assert half_width / z95 == pytest.approx(sd, rel=0.02)
    centre = (out["sii_upper_95_0cl"][0] + out["sii_lower_95_0cl"][0]) / 2
    assert centre == pytest.approx(out["sii"][0], abs=0.02 * sd)


# --------------------------------------------------------------------------------------
# slope_index: properties
# --------------------------------------------------------------------------------------

positive = st.floats(min_value=1.0, max_value=1e6, allow_nan=False, allow_infinity=False)
values_st = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pops=st.lists(positive, min_size=5, max_size=10),
    data=st.data(),
    factor=st.floats(min_value=1e-3, max_value=1e3),
)
def test_scaling_populations_leaves_sii_unchanged(pops, data, factor) -> None:
    ys = data.draw(st.lists(values_st, min_size=len(pops), max_size=len(pops)))
    base = sii(quintiles(ys, populations=pops), repetitions=1_000, rii=False)
    scaled = sii(
        quintiles(ys, populations=[p * factor for p in pops]), repetitions=1_000, rii=False
    )
    assert scaled["sii"][0] == pytest.approx(base["sii"][0], rel=1e-9, abs=1e-9)
    assert scaled["sii_lower_95_0cl"][0] == pytest.approx(
        base["sii_lower_95_0cl"][0], rel=1e-9, abs=1e-9
    )


@settings(max_examples=30, deadline=None)
@given(
    pops=st.lists(positive, min_size=5, max_size=8),
    data=st.data(),
)
def test_row_order_changes_nothing(pops, data) -> None:
    ys = data.draw(st.lists(values_st, min_size=len(pops), max_size=len(pops)))
    frame = pl.concat(
        [
            quintiles(ys, populations=pops).with_columns(g=pl.lit("x")),
            quintiles(ys[::-1], populations=pops).with_columns(g=pl.lit("y")),
        ]
    )
    perm = data.draw(st.permutations(list(range(frame.height))))
    a = sii(frame, by="g", repetitions=1_000, rii=False)
    b = sii(frame[perm], by="g", repetitions=1_000, rii=False)
    assert a.equals(b)


@settings(max_examples=30, deadline=None)
@given(pops=st.lists(positive, min_size=5, max_size=10), level=values_st)
def test_equal_values_give_zero_sii(pops, level) -> None:
    out = sii(quintiles([level] * len(pops), populations=pops), repetitions=1_000, rii=False)
    assert out["sii"][0] == pytest.approx(0.0, abs=1e-9 * max(1.0, abs(level)))


# --------------------------------------------------------------------------------------
# slope_index: errors and nulls
# --------------------------------------------------------------------------------------


def two_groups(base=(0.1, 0.2, 0.3, 0.4, 0.5), **changes) -> pl.DataFrame:
    frame = pl.concat(
        [
            quintiles(list(base)).with_columns(ics=pl.lit("QE1")),
            quintiles(list(base)).with_columns(ics=pl.lit("QE2")),
        ]
    )
    for column, (row, new) in changes.items():
        values = frame[column].to_list()
        values[row] = new
        frame = frame.with_columns(pl.Series(column, values, dtype=frame.schema[column]))
    return frame


@pytest.mark.parametrize(
    ("changes", "kwargs", "message"),
    [
        ({"pop": (6, -5.0)}, {}, "population must be finite and > 0"),
        ({"pop": (6, 0.0)}, {}, "population must be finite and > 0"),
        ({"se": (7, -0.1)}, {}, "se must be finite and >= 0"),
        ({"y": (8, None)}, {}, "missing value"),
        ({"q": (9, 1)}, {}, "duplicated quantiles"),
        ({"y": (5, 1.5)}, {"value_type": "proportion"}, "proportion value outside [0, 1]"),
        ({"y": (5, -1.0)}, {"value_type": "rate"}, "rate value < 0"),
    ],
)
def test_bad_input_names_group_and_problem(changes, kwargs, message) -> None:
    frame = two_groups(**changes)
    with pytest.raises(InequalityInputError) as err:
        sii(frame, by="ics", **kwargs)
    assert "ics='QE2'" in str(err.value)
    assert message in str(err.value)
    assert "QE1" not in str(err.value)


def test_non_positive_rate_with_transform() -> None:
    frame = quintiles([0.0, 1.0, 2.0, 3.0, 4.0]).with_columns(
        lo=pl.col("y") * 0.9 + 0.01, hi=pl.col("y") * 1.1 + 0.02
    )
    with pytest.raises(InequalityInputError, match=r"rate value <= 0 has no log"):
        sii(frame, se=None, lower_cl="lo", upper_cl="hi", value_type="rate", transform=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"transform": True}, "transform=True needs value_type"),
        ({"transform": True, "value_type": "rate"}, "not se"),
        ({"se": None}, "give se, or both lower_cl and upper_cl"),
        ({"repetitions": 999}, "repetitions must be an integer >= 1000"),
        ({"value_type": "ratio"}, "value_type must be one of"),
        ({"confidence": 1.0}, "confidence levels must lie in (0, 1)"),
    ],
)
def test_bad_arguments(kwargs, message) -> None:
    with pytest.raises(InequalityInputError) as err:
        sii(quintiles([1, 2, 3, 4, 5]), **kwargs)
    assert message in str(err.value)


def test_lower_above_upper_is_an_error() -> None:
    frame = quintiles([1, 2, 3, 4, 5]).with_columns(lo=pl.col("y") + 1, hi=pl.col("y") - 1)
    with pytest.raises(InequalityInputError, match="lower_cl above upper_cl"):
        sii(frame, se=None, lower_cl="lo", upper_cl="hi")


def test_too_few_quantiles_raises_or_nulls() -> None:
    frame = pl.concat(
        [
            quintiles([1, 2, 3, 4, 5]).with_columns(ics=pl.lit("A")),
            quintiles([1, 2, 3]).with_columns(ics=pl.lit("B")),
            quintiles([5, 4, 3, 2, 1, 0]).with_columns(ics=pl.lit("C")),
        ]
    )
    with pytest.raises(InequalityInputError, match=r"at least 5 quantiles.*ics='B'"):
        sii(frame, by="ics")
    out = slope_index_or_null(
        frame,
        quantile="q",
        population="pop",
        value="y",
        by="ics",
        se="se",
        repetitions=REPS,
        seed=0,
    )
    assert out["ics"].to_list() == ["A", "B", "C"]
    assert out["n_quantiles"].to_list() == [5, 3, 6]
    assert out["note"].to_list()[0] is None
    assert out["note"][1] == "3 quantiles (< 5): SII not computed"
    b = out.filter(pl.col("ics") == "B")
    estimates = b.select(pl.exclude("ics", "n_quantiles", "indicator_type", "transform", "note"))
    assert estimates.width == 10  # sii, rii and 8 limits
    assert all(v is None for v in estimates.row(0))
    # groups that are computed draw exactly what slope_index draws without the null group
    alone = sii(frame.filter(pl.col("ics") != "B"), by="ics", seed=0)
    assert out.filter(pl.col("ics") != "B").drop("note").equals(alone)


def test_too_few_quantiles_does_not_hide_other_errors() -> None:
    frame = quintiles([1, 2, 3], populations=[10.0, -1.0, 10.0])
    with pytest.raises(InequalityInputError, match="population"):
        slope_index_or_null(frame, quantile="q", population="pop", value="y", se="se")


# --------------------------------------------------------------------------------------
# Gini
# --------------------------------------------------------------------------------------


def brute_gini(x, w) -> float:
    x, w = np.asarray(x, float), np.asarray(w, float)
    total = w.sum()
    mu = np.sum(w * x) / total
    return float(np.sum(np.outer(w, w) * np.abs(x[:, None] - x[None, :])) / (2 * total**2 * mu))


def test_gini_hand_examples() -> None:
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)  # 20 / (2 * 16 * 2.5)
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert gini([1, 3], [3, 1]) == pytest.approx(0.25)
    assert gini([1, 1, 1, 3]) == pytest.approx(0.25)
    assert gini([7.5]) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    xs=st.lists(st.floats(min_value=0, max_value=1e4), min_size=1, max_size=20),
    data=st.data(),
)
def test_gini_weights_are_replication(xs, data) -> None:
    if sum(xs) == 0:
        xs = [*xs, 1.0]
    ws = data.draw(st.lists(st.integers(1, 5), min_size=len(xs), max_size=len(xs)))
    replicated = [x for x, w in zip(xs, ws, strict=True) for _ in range(w)]
    assert gini(xs, ws) == pytest.approx(gini(replicated), abs=1e-12)
    assert gini(xs, ws) == pytest.approx(brute_gini(xs, ws), abs=1e-12)
    assert gini(xs, ws) == pytest.approx(gini([x * 37.5 for x in xs], ws), abs=1e-12)
    perm = data.draw(st.permutations(list(range(len(xs)))))
    assert gini([xs[i] for i in perm], [ws[i] for i in perm]) == pytest.approx(
        gini(xs, ws), abs=1e-12
    )


@given(level=st.floats(min_value=1e-6, max_value=1e6), n=st.integers(1, 30))
def test_equal_values_give_zero_indices(level, n) -> None:
    xs = [level] * n
    assert gini(xs) == pytest.approx(0.0, abs=1e-12)
    assert theil(xs) == pytest.approx(0.0, abs=1e-12)
    assert atkinson(xs, epsilon=0.5) == pytest.approx(0.0, abs=1e-12)
    assert atkinson(xs, epsilon=1.0) == pytest.approx(0.0, abs=1e-12)
    assert atkinson(xs, epsilon=2.0) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("fn", [gini, theil, atkinson])
def test_index_input_errors(fn) -> None:
    with pytest.raises(InequalityInputError, match="no values"):
        fn([])
    with pytest.raises(InequalityInputError, match=">= 0"):
        fn([1.0, -2.0])
    with pytest.raises(InequalityInputError, match="finite"):
        fn([1.0, float("nan")])
    with pytest.raises(InequalityInputError, match="lengths must match"):
        fn([1.0, 2.0], [1.0])
    with pytest.raises(InequalityInputError, match="weighted mean is 0"):
        fn([0.0, 0.0])


def test_gini_by_groups_and_names_bad_group() -> None:
    frame = pl.DataFrame(
        {"ics": ["b", "b", "a", "a", "a"], "x": [1.0, 3.0, 1.0, 2.0, 3.0], "w": [3, 1, 1, 1, 1]}
    )
    out = gini_by(frame, "x", weight="w", by="ics")
    assert out.columns == ["ics", "n", "gini"]
    assert out["ics"].to_list() == ["a", "b"]
    assert out["gini"][1] == pytest.approx(0.25)
    assert out["gini"][0] == pytest.approx(gini([1, 2, 3]))
    assert gini_by(frame, "x")["gini"][0] == pytest.approx(gini(frame["x"].to_numpy()))
    bad = frame.with_columns(x=pl.when(pl.col("ics") == "b").then(0.0).otherwise(pl.col("x")))
    with pytest.raises(InequalityInputError, match="group ics='b'"):
        gini_by(bad, "x", by="ics")


# --------------------------------------------------------------------------------------
# Theil
# --------------------------------------------------------------------------------------


def test_theil_hand_examples() -> None:
    # [1, 3]: mean 2, shares 1/4, 3/4
    assert theil([1, 3]) == pytest.approx(0.25 * math.log(0.5) + 0.75 * math.log(1.5))
    # a zero contributes nothing (x ln x -> 0): [0, 2] -> ln 2, the maximum for n = 2
    assert theil([0, 2]) == pytest.approx(math.log(2))
    assert theil([1, 3], [2, 2]) == pytest.approx(theil([1, 3]))
    assert theil([1, 3], [3, 1]) == pytest.approx(theil([1, 1, 1, 3]))


@settings(max_examples=60, deadline=None)
@given(
    xs=st.lists(st.floats(min_value=0, max_value=1e4), min_size=2, max_size=25),
    data=st.data(),
)
def test_theil_between_plus_within_is_total(xs, data) -> None:
    if sum(xs) == 0:
        xs = [*xs, 1.0]
    n = len(xs)
    groups = data.draw(st.lists(st.sampled_from(["N", "M", "S"]), min_size=n, max_size=n))
    ws = data.draw(st.lists(st.floats(min_value=0.1, max_value=100), min_size=n, max_size=n))
    frame = pl.DataFrame({"x": xs, "g": groups, "w": ws})
    dec = theil_decomposition(frame, "x", "g", weight="w")
    assert dec.between + dec.within == pytest.approx(dec.total, abs=1e-12)
    assert dec.total == pytest.approx(theil(xs, ws), abs=1e-12)
    assert dec.between >= -1e-12
    assert dec.groups["population_share"].sum() == pytest.approx(1.0)
    assert dec.groups["value_share"].sum() == pytest.approx(1.0)


def test_theil_decomposition_extremes() -> None:
    frame = pl.DataFrame({"x": [1.0, 1.0, 4.0, 4.0], "g": ["a", "a", "b", "b"]})
    dec = theil_decomposition(frame, "x", "g")
    assert dec.within == pytest.approx(0.0, abs=1e-15)
    assert dec.between == pytest.approx(dec.total)
    assert dec.as_dict() == {"total": dec.total, "between": dec.between, "within": dec.within}
    one = theil_decomposition(frame.with_columns(g=pl.lit("all")), "x", "g")
    assert one.between == pytest.approx(0.0, abs=1e-15)
    zero_group = pl.DataFrame({"x": [0.0, 0.0, 1.0, 3.0], "g": ["z", "z", "p", "p"]})
    dec = theil_decomposition(zero_group, "x", "g")
    row = dec.groups.filter(pl.col("g") == "z").row(0, named=True)
    assert row["theil"] is None and row["value_share"] == 0.0
    assert dec.between + dec.within == pytest.approx(dec.total, abs=1e-12)
    with pytest.raises(InequalityInputError, match="null 'g'"):
        theil_decomposition(pl.DataFrame({"x": [1.0, 2.0], "g": ["a", None]}), "x", "g")


# --------------------------------------------------------------------------------------
# Atkinson
# --------------------------------------------------------------------------------------


def test_atkinson_hand_examples() -> None:
    # [1, 4]: mean 2.5; eps 0.5 -> ((1 + 2) / 2)^2 = 2.25; eps 1 -> geometric mean 2;
    # eps 2 -> harmonic mean 1.6
    assert atkinson([1, 4], epsilon=0.5) == pytest.approx(1 - 2.25 / 2.5)
    assert atkinson([1, 4], epsilon=1.0) == pytest.approx(1 - 2 / 2.5)
    assert atkinson([1, 4], epsilon=2.0) == pytest.approx(1 - 1.6 / 2.5)
    assert atkinson([1, 4], epsilon=0.0) == pytest.approx(0.0, abs=1e-15)
    assert atkinson([1, 4], [3, 1]) == pytest.approx(atkinson([1, 1, 1, 4]))
    near = atkinson([1, 4, 9], epsilon=1 + 1e-6)
    assert near == pytest.approx(atkinson([1, 4, 9], epsilon=1.0), abs=1e-5)


def test_atkinson_zeros_and_bad_epsilon() -> None:
    assert 0 < atkinson([0, 1, 2], epsilon=0.5) < 1
    with pytest.raises(InequalityInputError, match="zero values are not allowed"):
        atkinson([0, 1, 2], epsilon=1.0)
    with pytest.raises(InequalityInputError, match="zero values are not allowed"):
        atkinson([0, 1, 2], epsilon=2.0)
    # a zero with zero weight is not part of the population
    assert atkinson([0, 1, 2], [0, 1, 1], epsilon=1.0) == pytest.approx(
        atkinson([1, 2], epsilon=1.0)
    )
    with pytest.raises(InequalityInputError, match="epsilon must be finite and >= 0"):
        atkinson([1, 2], epsilon=-0.5)


@given(
    xs=st.lists(st.floats(min_value=0.01, max_value=1e4), min_size=2, max_size=20),
    factor=st.floats(min_value=1e-3, max_value=1e3),
    eps=st.sampled_from([0.25, 0.5, 1.0, 2.0]),
)
def test_atkinson_and_theil_scale_invariant(xs, factor, eps) -> None:
    scaled = [x * factor for x in xs]
    assert atkinson(scaled, epsilon=eps) == pytest.approx(atkinson(xs, epsilon=eps), abs=1e-9)
    assert theil(scaled) == pytest.approx(theil(xs), abs=1e-9)
    assert 0 <= atkinson(xs, epsilon=eps) < 1


# --------------------------------------------------------------------------------------
# Quintile gap
# --------------------------------------------------------------------------------------


def test_quintile_gap_direction_and_ratio() -> None:
    frame = pl.DataFrame(
        {
            "ics": ["A"] * 5 + ["B"] * 5,
            "quintile": [1, 2, 3, 4, 5] * 2,
            "rate": [30.0, 25, 20, 15, 10, 8.0, 9, 10, 11, 0.0],
        }
    )
    out = quintile_gap(frame, quantile="quintile", value="rate", by="ics")
    assert out.columns == [
        "ics",
        "value_most_deprived",
        "value_least_deprived",
        "absolute_gap",
        "ratio",
    ]
    a, b = out.rows(named=True)
    assert (a["absolute_gap"], a["ratio"]) == (20.0, 3.0)  # most deprived minus least
    assert b["absolute_gap"] == 8.0 and b["ratio"] is None  # least deprived value is 0
    whole = quintile_gap(frame.filter(pl.col("ics") == "A"), quantile="quintile", value="rate")
    assert whole.columns == ["value_most_deprived", "value_least_deprived", "absolute_gap", "ratio"]
    assert whole["absolute_gap"][0] == 20.0
    flipped = quintile_gap(
        frame, quantile="quintile", value="rate", by="ics", most_deprived=5, least_deprived=1
    )
    assert flipped["absolute_gap"][0] == -20.0


def test_quintile_gap_errors() -> None:
    frame = pl.DataFrame(
        {"ics": ["A", "A", "B", "B", "B"], "q": [1, 5, 1, 1, 5], "v": [1.0, 2, 3, 4, 5]}
    )
    with pytest.raises(InequalityInputError, match=r"ics='B': quantile 1 appears 2 times"):
        quintile_gap(frame, quantile="q", value="v", by="ics")
    with pytest.raises(InequalityInputError, match=r"ics='A': no row for quantile 5"):
        quintile_gap(frame.filter(pl.col("q") != 5), quantile="q", value="v", by="ics")
    with pytest.raises(InequalityInputError, match="missing value for quantile 5"):
        quintile_gap(
            frame.filter(pl.col("ics") == "A").with_columns(v=pl.Series([1.0, None])),
            quantile="q",
            value="v",
        )


# --------------------------------------------------------------------------------------
# Leik's ordinal dispersion
# --------------------------------------------------------------------------------------


def test_leik_hand_examples() -> None:
    assert leik_dispersion([10, 0, 0, 0]) == 0.0
    assert leik_dispersion([0, 0, 7, 0]) == 0.0
    assert leik_dispersion([5, 0, 0, 5]) == 1.0
    # uniform over 4: F = 1/4, 1/2, 3/4 -> d = 1/4, 1/2, 1/4 -> D = 2 * 1 / 3
    assert leik_dispersion([1, 1, 1, 1]) == pytest.approx(2 / 3)
    assert leik_dispersion([3, 1]) == pytest.approx(0.5)
    assert leik_dispersion([1, 2, 3, 4]) == pytest.approx(leik_dispersion([4, 3, 2, 1]))
    with pytest.raises(InequalityInputError, match="total count is 0"):
        leik_dispersion([0, 0, 0, 0])
    with pytest.raises(InequalityInputError, match="at least 2"):
        leik_dispersion([3])
    with pytest.raises(InequalityInputError, match=">= 0"):
        leik_dispersion([3, -1])


@given(st.lists(st.integers(0, 50), min_size=2, max_size=8).filter(lambda c: sum(c) > 0))
def test_leik_bounds_and_definition(counts) -> None:
    d = leik_dispersion(counts)
    assert -1e-12 <= d <= 1 + 1e-12
    cum = np.cumsum(counts)[:-1] / sum(counts)
    leik_form = 2 * sum(f if f <= 0.5 else 1 - f for f in cum) / (len(counts) - 1)
    assert d == pytest.approx(leik_form, abs=1e-12)


def test_rating_dispersion_frame() -> None:
    frame = pl.DataFrame(
        {
            "ics": ["X", "X", "Y", "Z"],
            "n_inadequate": [1, 0, 0, 0],
            "n_requires_improvement": [1, 1, 0, 0],
            "n_good": [0, 1, 4, 0],
            "n_outstanding": [0, 1, 0, 0],
        }
    )
    out = rating_dispersion(frame, "ics")
    assert out.columns == [
        "ics",
        "n_inadequate",
        "n_requires_improvement",
        "n_good",
        "n_outstanding",
        "n_rated",
        "leik_dispersion",
    ]
    x, y, z = out.rows(named=True)
    assert x["n_rated"] == 5
    assert x["leik_dispersion"] == pytest.approx(leik_dispersion([1, 2, 1, 1]))
    assert y["leik_dispersion"] == 0.0
    assert z["n_rated"] == 0 and z["leik_dispersion"] is None
    whole = rating_dispersion(frame)
    assert whole["leik_dispersion"][0] == pytest.approx(leik_dispersion([1, 2, 5, 1]))
    with pytest.raises(InequalityInputError, match="null or negative counts"):
        rating_dispersion(frame.with_columns(n_good=pl.lit(-1)), "ics")
    with pytest.raises(InequalityInputError, match="columns not in frame"):
        rating_dispersion(frame.drop("n_good"), "ics")


@pytest.mark.parametrize("value", [1.9, 0.1, 3.3, 1e4])
def test_equal_values_never_give_negative_indices(value) -> None:
    xs = [value] * 3
    for eps in (0.25, 0.5, 1.0, 2.0):
        assert atkinson(xs, epsilon=eps) >= 0.0
    assert theil(xs) >= 0.0
    assert gini(xs) >= 0.0
