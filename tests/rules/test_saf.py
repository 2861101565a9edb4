import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ics_model.rules import saf_frame, saf_overall, saf_percent, saf_rating
from ics_model.rules.saf import round_percent


def test_percent_by_hand():
    assert saf_percent([4, 4, 4, 4]) == 100.0
    assert saf_percent([1, 1]) == 25.0
    assert saf_percent([3, 3, 3, 3]) == 75.0
    assert saf_percent([4, 4, 3, 3]) == 87.5


@pytest.mark.parametrize(
    ("scores", "nearest", "exact", "floor"),
    [
        ([4, 4, 3, 3], "Outstanding", "Good", "Good"),  # 87.5
        ([3, 3, 2, 2], "Good", "Requires improvement", "Requires improvement"),  # 62.5
        ([4, 4, 4, 4, 4, 4, 4, 3], "Outstanding", "Outstanding", "Outstanding"),  # 96.875
        ([3, 3, 3, 3], "Good", "Good", "Good"),  # 75
        ([2, 2, 2, 2], "Requires improvement", "Requires improvement", "Requires improvement"),
        ([1, 1, 1, 1], "Inadequate", "Inadequate", "Inadequate"),  # 25
        ([2, 1, 1, 1, 1, 1, 1, 1], "Inadequate", "Inadequate", "Inadequate"),  # 28.1
        ([2, 2, 1, 1], "Inadequate", "Inadequate", "Inadequate"),  # 37.5 -> 38
    ],
)
def test_bands_and_rounding(scores, nearest, exact, floor):
    assert saf_rating(scores) == nearest
    assert saf_rating(scores, "exact") == exact
    assert saf_rating(scores, "floor") == floor


def test_38_5_boundary_depends_on_rounding():
    # 77/200 = 38.5%: nearest -> 39 (RI); exact and floor -> Inadequate
    scores = [2] * 27 + [1] * 23  # sum 77, n = 50
    assert saf_percent(scores) == 38.5
    assert saf_rating(scores) == "Requires improvement"
    assert saf_rating(scores, "exact") == "Inadequate"
    assert saf_rating(scores, "ceil") == "Requires improvement"


def test_bad_scores_and_rounding():
    with pytest.raises(ValueError, match="1-4"):
        saf_rating([5, 3])
    with pytest.raises(ValueError, match="no statement"):
        saf_rating([])
    with pytest.raises(ValueError, match="unknown rounding"):
        round_percent(50.0, "bankers")


def test_overall_through_principles():
    out = saf_overall(
        {
            "Safe": [3] * 8,
            "Effective": [4] * 6,
            "Caring": [4] * 5,
            "Responsive": [3] * 7,
            "Well-led": [3] * 8,
        }
    )
    assert out["Effective"] == "Outstanding" and out["Safe"] == "Good"
    assert out["Overall"] == "Outstanding"  # two Outstanding, rest Good


@given(
    st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=8), min_size=1, max_size=20),
    st.sampled_from(["nearest", "floor", "ceil", "exact"]),
)
def test_frame_form_equals_scalar(groups, rounding):
    rows = [(g, s) for g, xs in enumerate(groups) for s in xs]
    frame = pl.DataFrame(rows, schema=["g", "score"], orient="row")
    out = saf_frame(frame, by=["g"], rounding=rounding)
    for g, rating in zip(out["g"], out["rating"], strict=True):
        assert rating == saf_rating(groups[g], rounding)


def test_frame_rejects_bad_scores():
    with pytest.raises(ValueError, match="bad rows: 1"):
        saf_frame(pl.DataFrame({"g": [1, 1], "score": [3, 7]}), by=["g"])
