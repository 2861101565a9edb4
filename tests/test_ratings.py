import ast
import math
from pathlib import Path
from typing import get_args

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ics_model.ratings import (
    DEFAULT_SECTORS,
    DIRECTIONS,
    DOMAINS,
    GATEABLE_KEY_QUESTIONS,
    INDICATOR_DIRECTIONS,
    KEY_QUESTIONS,
    NO_RATING_LABELS,
    PROVIDER_SECTORS,
    RATING_COUNT_COLUMNS,
    RATING_LABELS,
    RATING_STATUSES,
    RATINGS_BEST_FIRST,
    SECTOR_LABELS,
    SECTORS,
    TRUST_TYPES,
    VIEW_KEY_QUESTIONS,
    Direction,
    KeyQuestion,
    RatingEnum,
    Sector,
    parse_key_question,
    parse_rating,
    rating_count_exprs,
    rating_expr_from_text,
    ratings_above,
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
        ("Inspected but not rated", (None, "inspected_not_rated")),
        (" inspected BUT not  rated", (None, "inspected_not_rated")),
        ("No published rating", (None, "no_published_rating")),
        ("No action", (None, "no_action")),
        ("Compliance action", (None, "compliance_action")),
        ("", (None, "missing")),
        (None, (None, "missing")),
        ("NA", (None, "missing")),
        ("Superb", (None, None)),
    ],
)
def test_parse_rating(label, expected):
    assert parse_rating(label) == expected


def test_every_no_rating_label_is_a_null_rating_with_a_status():
    for label in NO_RATING_LABELS:
        rating, status = parse_rating(label)
        assert rating is None
        assert status in RATING_STATUSES
        assert status not in ("rated", "missing")


def test_existing_statuses_keep_their_place():
    assert RATING_STATUSES[:4] == ("rated", "insufficient_evidence", "not_rated", "missing")


def test_rating_expr_matches_scalar_parser():
    labels = ["Good", "Not rated", "Superb", None, "OUTSTANDING", *NO_RATING_LABELS]
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


def test_derived_vocabularies_agree():
    assert (*DOMAINS, "Overall") == KEY_QUESTIONS
    assert get_args(KeyQuestion) == KEY_QUESTIONS
    assert get_args(Sector) == SECTORS == (*PROVIDER_SECTORS, "location", "independent_healthcare")
    assert (*PROVIDER_SECTORS, "independent_healthcare") == DEFAULT_SECTORS
    assert get_args(Direction) == DIRECTIONS == (*INDICATOR_DIRECTIONS, "neutral")
    assert "neutral" not in INDICATOR_DIRECTIONS
    assert tuple(reversed(RATING_LABELS)) == RATINGS_BEST_FIRST
    assert set(SECTOR_LABELS) == set(VIEW_KEY_QUESTIONS) == set(SECTORS)


def test_view_and_gateable_key_questions():
    assert VIEW_KEY_QUESTIONS["gp_practice"] == ("Overall",)
    assert VIEW_KEY_QUESTIONS["nhs_trust"] == ("Overall", *DOMAINS)
    assert VIEW_KEY_QUESTIONS["independent_healthcare"] == ("Overall",)
    assert set(GATEABLE_KEY_QUESTIONS) == set(PROVIDER_SECTORS)
    assert GATEABLE_KEY_QUESTIONS == {"nhs_trust": DOMAINS, "gp_practice": ()}


def test_ratings_above_and_count_exprs():
    assert ratings_above("Good") == ("Outstanding",)
    assert ratings_above("Requires improvement") == ("Outstanding", "Good")
    assert ratings_above("Outstanding") == ()
    df = pl.DataFrame({"rating": ["Good", "Good", None, "Inadequate"]})
    out = df.with_columns(pl.col("rating").cast(RatingEnum)).select(rating_count_exprs())
    assert out.columns == list(RATING_COUNT_COLUMNS.values())
    assert out.row(0) == (0, 2, 0, 1)
    assert set(out.schema.values()) == {pl.Int64}


# --------------------------------------------------------------------------- one vocabulary
# ``ics_model.ratings`` declares every rating label, key question, sector and direction.
# Anywhere else, two or more of one vocabulary's strings written out together as a tuple,
# list, set or ``Literal[...]`` are a second declaration that can drift from the first:
# import the tuple or type from ``ics_model.ratings`` (or derive from it) instead.

_PACKAGE = Path(__file__).resolve().parents[1] / "ics_model"
_VOCABULARIES: dict[str, frozenset[str]] = {
    "rating label": frozenset(RATING_LABELS),
    "key question": frozenset(KEY_QUESTIONS),
    "sector": frozenset(SECTORS),
    "direction": frozenset(DIRECTIONS),
    "trust type": frozenset(TRUST_TYPES),
}

#: Places that may legitimately write vocabulary strings out together, with the reason
#: (none today: label aliases of the parsers are dicts, which this scan does not read).
_ALLOWED: dict[tuple[str, frozenset[str]], str] = {}


def _written_out(source: str) -> list[tuple[int, str, frozenset[str]]]:
    """(line, vocabulary, strings) of every tuple, list or set literal holding two or more
    strings of one vocabulary (``Literal["a", "b"]`` subscripts a tuple, so it counts)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Tuple | ast.List | ast.Set):
            continue
        strings = {e.value for e in node.elts if isinstance(e, ast.Constant)}
        for name, words in _VOCABULARIES.items():
            hit = frozenset(s for s in strings if isinstance(s, str) and s in words)
            if len(hit) >= 2:
                found.append((node.lineno, name, hit))
    return sorted(found, key=lambda f: (f[0], f[1]))


def test_scan_finds_written_out_vocabulary():
    src = (
        "from typing import Literal\n"
        "A = Literal['nhs_trust', 'gp_practice']\n"
        "B = ['Good', 'Outstanding']\n"
        "C = {'higher_is_better', 'neutral'}\n"
        "D = ('Safe', 'x')\n"
        "E = ('Good', 'Safe')\n"
    )
    assert [(line, name) for line, name, _ in _written_out(src)] == [
        (2, "sector"),
        (3, "rating label"),
        (4, "direction"),
    ]


def test_vocabulary_is_declared_once():
    exceptions = _ALLOWED
    seen, offending = set(), []
    for path in sorted(_PACKAGE.rglob("*.py")):
        module = path.relative_to(_PACKAGE).as_posix()
        if module == "ratings.py":
            continue
        for line, name, hit in _written_out(path.read_text(encoding="utf-8")):
            if (module, hit) in exceptions:
                seen.add((module, hit))
            else:
                offending.append(f"ics_model/{module}:{line}: {name}s {sorted(hit)}")
    assert not offending, "import these from ics_model.ratings:\n" + "\n".join(offending)
    stale = [f"{m} {sorted(h)}" for m, h in exceptions if (m, h) not in seen]
    assert not stale, f"exceptions no longer needed (remove them): {stale}"
