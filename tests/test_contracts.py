import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ics_model.contracts import (
    Column,
    Contract,
    DataContractError,
    find_violations,
    require_columns,
    snake_case,
    validate,
)
from ics_model.ratings import RatingEnum

C = Contract(
    "toy",
    (
        Column("code", pl.String, nullable=False, pattern="R[A-Z0-9]{2}"),
        Column("rating", RatingEnum),
        Column("n", pl.Int64, min_value=0),
        Column("kind", pl.String, allowed=frozenset({"a", "b"})),
    ),
    key=("code",),
)


def _frame():
    return pl.DataFrame(
        {
            "code": ["RJ1", "RJ1", None, "x", "RXE"],
            "rating": pl.Series(["Good", None, "Good", "Good", "Inadequate"]).cast(RatingEnum),
            "n": [1, -2, 3, 4, 5],
            "kind": ["a", "a", "b", "c", "a"],
            "source_row": [2, 3, 4, 5, 6],
        }
    )


def test_strict_reports_every_violation_with_source_rows():
    with pytest.raises(DataContractError) as err:
        validate(_frame(), C, source="toy.csv")
    v = err.value.violations
    got = set(zip(v["row"], v["column"], v["problem"], strict=True))
    assert (2, "code", "duplicate key") in got
    assert (3, "code", "duplicate key") in got
    assert (3, "n", "below the minimum 0") in got
    assert (4, "code", "null in a non-nullable column") in got
    assert any(r == 5 and c == "code" and "pattern" in p for r, c, p in got)
    assert any(r == 5 and c == "kind" and "allowed" in p for r, c, p in got)
    assert v.height == 6
    assert "toy.csv" in str(err.value)
    assert "row 5" in str(err.value)


def test_lenient_quarantines_bad_rows_and_keeps_good_ones():
    out = validate(_frame(), C, mode="lenient", source="toy.csv")
    assert out.frame["code"].to_list() == ["RXE"]
    q = out.quarantine
    assert q["source_row"].to_list() == [2, 3, 4, 5]
    assert q.filter(pl.col("source_row") == 3)["reason"][0].count(";") == 1  # two problems
    assert set(q["source"]) == {"toy.csv"}
    assert out.frame.height + q.height == 5


def test_missing_column_and_wrong_dtype_always_raise():
    df = _frame().drop("kind").with_columns(pl.col("n").cast(pl.Float64))
    with pytest.raises(DataContractError) as err:
        validate(df, C, mode="lenient")
    msg = str(err.value)
    assert "kind" in msg and "missing required column" in msg and "found: code" in msg
    assert "dtype Float64 where Int64 is declared" in msg


def test_require_columns_lists_missing_and_found():
    with pytest.raises(DataContractError, match=r"'Latest Rating'.*found: Provider ID, Domain"):
        require_columns(["Provider ID", "Domain"], ["Provider ID", "Latest Rating"], "f.csv")


def test_enum_with_other_categories_is_a_dtype_violation():
    df = _frame().with_columns(
        pl.col("rating").cast(pl.String).cast(pl.Enum(["Good", "Inadequate"]))
    )
    with pytest.raises(DataContractError, match="dtype"):
        validate(df, C)


def test_snake_case():
    assert snake_case("Location ONSPD CCG Code") == "location_onspd_ccg_code"
    assert snake_case("Service / Population Group") == "service_population_group"
    assert snake_case("Inherited Rating (Y/N)") == "inherited_rating_y_n"


@given(st.lists(st.sampled_from(["RJ1", "RXE", "R0A", "bad", None]), max_size=30))
def test_lenient_conserves_rows(codes):
    df = pl.DataFrame(
        {
            "code": codes,
            "rating": [None] * len(codes),
            "n": [1] * len(codes),
            "kind": ["a"] * len(codes),
        },
        schema={"code": pl.String, "rating": RatingEnum, "n": pl.Int64, "kind": pl.String},
    )
    out = validate(df, C, mode="lenient")
    assert out.frame.height + out.quarantine.height == len(codes)
    assert out.frame["code"].is_duplicated().sum() == 0


def test_finite_columns_report_nan_and_infinity_as_such():
    contract = Contract(
        "c",
        (
            Column("score", pl.Float64, min_value=1.0, max_value=4.0, finite=True),
            Column("ci_upper", pl.Float64, min_value=0.0),  # an odds ratio's upper limit
        ),
    )
    frame = pl.DataFrame(
        {
            "score": [2.0, float("nan"), float("inf"), 5.0],
            "ci_upper": [float("inf"), 1.0, 2.0, 3.0],
        }
    )
    v = find_violations(frame, contract)
    assert v.select("row", "column", "problem").rows() == [
        (1, "score", "not a finite number (NaN or infinite)"),
        (2, "score", "not a finite number (NaN or infinite)"),
        (3, "score", "above the maximum 4.0"),
    ]
