"""The principles engine: worked examples, properties, and scalar == vectorised."""

import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_model.ratings import NO_RATING_LABELS
from ics_model.rules import aggregate_levels, combine_frame, combine_ratings, rule_from_counts
from ics_model.rules.engine import apply_enforcement

O, G, R, I = "Outstanding", "Good", "Requires improvement", "Inadequate"
RATINGS = [I, R, G, O]
RANK = {r: i for i, r in enumerate(RATINGS)}


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        # five key questions (4-8 band): X = 2, two RI limit, two Inadequate -> Inadequate
        ([O, O, G, G, G], O),
        ([O, G, G, G, G], G),  # one Outstanding among five -> Good
        ([O, O, O, O, R], G),  # Outstanding needs all others Good
        ([G, G, G, G, G], G),
        ([G, G, G, G, R], G),  # one RI tolerated
        ([G, G, G, R, R], R),
        ([O, O, O, R, R], R),
        ([G, G, G, G, I], R),  # exactly one Inadequate -> RI
        ([G, G, G, I, I], I),
        ([I, I, R, R, R], I),
        ([O, O, G, G, G, G, G, G], O),  # 8 ratings still X = 2
        # 1-3 band: X = 1, one RI limits, one Inadequate -> RI (one_inadequate)
        ([O], O),
        ([G], G),
        ([R], R),
        ([I], R),
        ([O, G], O),
        ([O, R], R),
        ([G, G, G], G),
        ([I, I], I),
        # 9+ band: X = 3, three RI limit
        ([O, O] + [G] * 7, G),
        ([O, O, O] + [G] * 6, O),
        ([R, R] + [G] * 7, G),
        ([R, R, R] + [G] * 6, R),
        ([I] + [G] * 8, R),
        # non-ratings ignored
        ([O, O, G, G, "Not rated", None, "Insufficient evidence to rate"], O),
        ([None, "Not rated"], None),
        ([], None),
    ],
)
def test_worked_examples(inputs, expected):
    assert combine_ratings(inputs) == expected


def test_combined_trust_rule_tolerates_two_ri_of_six():
    six = [G, G, G, G, R, R]
    assert combine_ratings(six, "cqc_trust_combined") == G
    assert combine_ratings(six, "cqc_principles") == R
    assert combine_ratings([G, G, G, R, R, R], "cqc_trust_combined") == R
    assert combine_ratings([O, O, G, G, G, G], "cqc_trust_combined") == O
    assert combine_ratings([G, G, G, G, G, I], "cqc_trust_combined") == R


def test_enforcement_limiters():
    assert combine_ratings([O, O, G, G, G], enforcement="requirement_notice") == R
    assert combine_ratings([I, I, G, G, G], enforcement="requirement_notice") == I
    assert combine_ratings([O, O, G, G, G], enforcement="warning_notice") == I
    assert apply_enforcement(G, "condition") == I
    assert apply_enforcement(None, "condition") is None
    with pytest.raises(ValueError, match="unknown enforcement"):
        apply_enforcement(G, "fine")


def test_unknown_label_raises():
    with pytest.raises(ValueError, match="Superb"):
        combine_ratings([G, "Superb"])


@pytest.mark.parametrize("label", NO_RATING_LABELS)
def test_no_rating_labels_are_ignored(label):
    assert combine_ratings([label]) is None
    assert combine_ratings([label, label.upper(), None]) is None
    # [O, O, G, G, G] -> Outstanding whatever non-ratings stand beside it
    assert combine_ratings([O, label, O, G, G, G]) == O
    assert combine_ratings([G, label]) == G
    assert combine_ratings([G, G, G, I, I, label], "cqc_trust_combined") == I


def test_frame_form_ignores_no_rating_labels_and_names_unknown_rows():
    labels = [O, "Inspected but not rated", O, G, G, G, "No published rating", "not rated"]
    frame = pl.DataFrame({"g": [1] * 6 + [2, 2], "rating": labels})
    out = combine_frame(frame, by=["g"])
    assert out["n_rated"].to_list() == [5, 0]
    assert out["derived_rating"].cast(pl.String).to_list() == [O, None]
    bad = pl.DataFrame({"g": [1, 1, 1], "rating": [G, "Superb", "No action"]})
    with pytest.raises(ValueError, match=r"'Superb' \(row 1\)"):
        combine_frame(bad, by=["g"])


def test_saf_rule_set_cannot_combine():
    with pytest.raises(TypeError, match="principles"):
        combine_ratings([G], "saf_2024")


ratings_lists = st.lists(st.sampled_from(RATINGS), min_size=1, max_size=12)


@given(ratings_lists, st.randoms())
def test_permutation_invariance(xs, rnd):
    ys = list(xs)
    rnd.shuffle(ys)
    assert combine_ratings(xs) == combine_ratings(ys)


@given(ratings_lists, st.data())
def test_monotone_improving_one_rating_never_worsens(xs, data):
    i = data.draw(st.integers(0, len(xs) - 1))
    if xs[i] == O:
        return
    better = list(xs)
    better[i] = RATINGS[RANK[xs[i]] + 1]
    for rs in ("cqc_principles", "cqc_trust_combined"):
        assert RANK[combine_ratings(better, rs)] >= RANK[combine_ratings(xs, rs)]


@given(st.integers(1, 20))
def test_all_good_is_good(n):
    assert combine_ratings([G] * n) == G


def test_exhaustive_counts_up_to_ten_match_frame_form():
    rows, expected = [], {}
    gid = 0
    for n in range(1, 11):
        for combo in itertools.combinations_with_replacement(RATINGS, n):
            gid += 1
            rows.extend((gid, r) for r in combo)
            expected[gid] = combine_ratings(combo)
    frame = pl.DataFrame(rows, schema=["g", "rating"], orient="row")
    out = combine_frame(frame, by=["g"])
    got = dict(zip(out["g"], out["derived_rating"].cast(pl.String), strict=True))
    assert got == expected


@settings(max_examples=50)
@given(st.lists(st.lists(st.sampled_from([*RATINGS, None]), max_size=9), min_size=1, max_size=30))
def test_frame_form_equals_scalar_on_random_groups(groups):
    rows = [(g, r) for g, xs in enumerate(groups) for r in xs]
    if not rows:
        return
    frame = pl.DataFrame(rows, schema={"g": pl.Int64, "rating": pl.String}, orient="row")
    out = combine_frame(frame, by=["g"])
    for g, derived in zip(out["g"], out["derived_rating"], strict=True):
        assert derived == combine_ratings(groups[g])


def test_rule_from_counts_and_frame_enforcement():
    assert rule_from_counts(2, 3, 0, 0) == O
    with pytest.raises(ValueError, match="nothing"):
        rule_from_counts(0, 0, 0, 0)
    frame = pl.DataFrame(
        {
            "g": [1] * 5 + [2] * 5,
            "rating": [O, O, G, G, G] * 2,
            "enf": [None] * 5 + ["requirement_notice"] + [None] * 4,
        }
    )
    out = combine_frame(frame, by=["g"], enforcement="enf")
    assert out["derived_rating"].cast(pl.String).to_list() == [O, R]


def test_aggregate_levels_services_to_key_questions_to_overall():
    rows = []
    # provider A: two services; Safe: O and O; Effective: G and G; others Good
    for service, safe in (("Maternity", O), ("Surgery", O)):
        for kq, r in (
            ("Safe", safe),
            ("Effective", G),
            ("Caring", O),
            ("Responsive", G),
            ("Well-led", G),
            ("Overall", "Good"),
        ):
            rows.append(("A", service, kq, r))
    # provider B: one service with two RI
    for kq, r in (("Safe", R), ("Effective", R), ("Caring", G), ("Responsive", G), ("Well-led", G)):
        rows.append(("B", "Surgery", kq, r))
    frame = pl.DataFrame(
        rows, schema=["provider_id", "service", "key_question", "rating"], orient="row"
    )
    out = aggregate_levels(frame)
    svc = {
        (r["provider_id"], r["service"]): r["service_overall"]
        for r in out["service_overall"].to_dicts()
    }
    assert svc == {("A", "Maternity"): O, ("A", "Surgery"): O, ("B", "Surgery"): R}
    kq = {
        (r["provider_id"], r["key_question"]): r["rating"]
        for r in out["provider_key_questions"].to_dicts()
    }
    assert kq[("A", "Safe")] == O and kq[("A", "Effective")] == G and kq[("B", "Safe")] == R
    overall = dict(
        zip(
            out["provider_overall"]["provider_id"],
            out["provider_overall"]["provider_overall"],
            strict=True,
        )
    )
    assert overall == {"A": O, "B": R}


def test_aggregate_levels_on_the_real_file_is_vectorised_and_complete():
    from ics_model.data.build import load_processed

    ratings = load_processed("cqc_trust_ratings").filter(pl.col("report_type") == "CoreService")
    out = aggregate_levels(ratings)
    assert out["service_overall"].height == ratings.select("provider_id", "service").n_unique()
    assert out["provider_overall"].height == ratings["provider_id"].n_unique()
    assert out["provider_overall"]["provider_overall"].is_not_null().all()
