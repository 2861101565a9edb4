import math

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ics_model.ratings import (
    RATING_LABELS,
    RatingEnum,
    parse_key_question,
    parse_rating,
    rating_expr_from_text,
    score_expr,
    wilson_exprs,
    wilson_interval,
)


def test_enum_order_is_worst_to_best():
    s = pl.Series(["Good", "Outstanding", "Inadequate", "Requires improvement"]).cast(RatingEnum)
    assert s.sort().to_list() == list(RATING_LABELS)
    assert s.max() == "Outstanding"
    assert (s > "Good").to_list() == [False, True, False, False]


def test_scores_are_one_to_four_and_non_ratings_stay_null():
    df = pl.DataFrame(
        {"rating": ["Outstanding", "Good", "Requires improvement", "Inadequate", None]}
    )
    df = df.with_columns(pl.col("rating").cast(RatingEnum))
    assert df.select(score_expr())["rating"].to_list() == [4, 3, 2, 1, None]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Good", ("Good", "rated")),
        ("  requires   Improvement ", ("Requires improvement", "rated")),
        ("Insufficient evidence to rate", (None, "insufficient_evidence")),
        ("Not rated", (None, "not_rated")),
        ("", (None, "missing")),
        (None, (None, "missing")),
        ("NA", (None, "missing")),
        ("Superb", (None, None)),
    ],
)
def test_parse_rating(label, expected):
    assert parse_rating(label) == expected


def test_rating_expr_matches_scalar_parser():
    labels = ["Good", "Not rated", "Superb", None, "OUTSTANDING"]
    r, s, k = rating_expr_from_text("x")
    out = pl.DataFrame({"x": labels}).select(r.alias("r"), s.alias("s"), k.alias("k"))
    for label, row in zip(labels, out.iter_rows(), strict=True):
        rating, status = parse_rating(label)
        assert row[0] == rating
        assert row[1] == status
        assert row[2] == (status is not None)


def test_parse_key_question():
    assert parse_key_question("Well led") == "Well-led"
    assert parse_key_question(" safe ") == "Safe"
    assert parse_key_question("Use of resources") is None


def test_wilson_by_hand():
    # x=3, n=10, z=1.959964: centre=(0.3+0.19207)/1.38415=0.35550, half=0.24771
    lo, hi = wilson_interval(3, 10)
    assert lo == pytest.approx(0.10779, abs=1e-5)
    assert hi == pytest.approx(0.60322, abs=1e-5)
    assert wilson_interval(0, 5)[0] == 0.0
    assert wilson_interval(5, 5)[1] == 1.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(6, 5)


@given(
    st.integers(min_value=1, max_value=500).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    )
)
def test_wilson_contains_estimate_and_vector_matches_scalar(xn):
    x, n = xn
    lo, hi = wilson_interval(x, n)
    assert 0.0 <= lo <= x / n <= hi <= 1.0
    vec = pl.DataFrame({"x": [x], "n": [n]}).select(wilson_exprs("x", "n", "p"))
    assert vec["p_lower"][0] == pytest.approx(lo, abs=1e-12)
    assert vec["p_upper"][0] == pytest.approx(hi, abs=1e-12)
