import polars as pl
import pytest

from ics_model.contracts import validate
from ics_model.mapping import MAPPED_RATINGS
from ics_model.views import ICS_VIEW, ics_view

ICBS = pl.DataFrame(
    {
        "icb_code": ["QAA", "QBB"],
        "icb_gss": ["E54000001", "E54000002"],
        "icb_name": ["NHS Alpha ICB", "NHS Beta ICB"],
    }
)


def _mapped(rows):
    """rows: (sector, provider_id, key_question, rating, icb_code)."""
    df = pl.DataFrame(
        rows, schema=["sector", "provider_id", "key_question", "rating", "icb_code"], orient="row"
    )
    df = df.with_columns(
        pl.lit(None, pl.String).alias("provider_name"),
        pl.when(pl.col("rating").is_null())
        .then(pl.lit("missing"))
        .otherwise(pl.lit("rated"))
        .alias("rating_status"),
        pl.lit(None, pl.Date).alias("publication_date"),
        pl.lit("E54").alias("icb_gss"),
        pl.lit("name").alias("icb_name"),
        pl.lit("icb_name").alias("mapping_method"),
        pl.lit("own").alias("rating_source"),
        pl.lit(None, pl.String).alias("inherited_from"),
        pl.lit(None, pl.String).alias("unrated_reason"),
    )
    df = df.select(
        [
            (pl.col(c) if c in df.columns else pl.lit(None).alias(c)).cast(
                MAPPED_RATINGS.column(c).dtype
            )
            for c in MAPPED_RATINGS.column_names
        ]
    )
    return validate(df, MAPPED_RATINGS).frame


def test_counts_shares_intervals_and_mean_by_hand():
    m = _mapped(
        [
            ("gp_practice", "P1", "Overall", "Outstanding", "QAA"),
            ("gp_practice", "P2", "Overall", "Good", "QAA"),
            ("gp_practice", "P3", "Overall", "Requires improvement", "QAA"),
            ("gp_practice", "P4", "Overall", None, "QAA"),
        ]
    )
    v = ics_view(m, ICBS, vintages={"gp_practice": "April 2024"}, sectors=("gp_practice",))
    a = v.filter(pl.col("icb_code") == "QAA").to_dicts()[0]
    assert (
        a["n_providers"],
        a["n_rated"],
        a["n_outstanding"],
        a["n_good"],
        a["n_requires_improvement"],
        a["n_inadequate"],
    ) == (4, 3, 1, 1, 1, 0)
    assert a["share_outstanding"] == pytest.approx(1 / 3)
    assert a["share_good_or_outstanding"] == pytest.approx(2 / 3)
    assert a["mean_score"] == pytest.approx((4 + 3 + 2) / 3)
    # Wilson 95% for 2/3: (0.2077, 0.9385)
    assert a["share_good_or_outstanding_lower"] == pytest.approx(0.20765, abs=1e-4)
    assert a["share_good_or_outstanding_upper"] == pytest.approx(0.93850, abs=1e-4)
    assert a["ratings_vintage"] == "April 2024"
    # an ICB with no providers is present with zero counts and null shares
    b = v.filter(pl.col("icb_code") == "QBB").to_dicts()[0]
    assert b["n_providers"] == 0 and b["share_outstanding"] is None and b["mean_score"] is None
    assert v.columns == ICS_VIEW.column_names


def test_trust_sector_has_six_key_questions_per_icb():
    m = _mapped(
        [
            ("nhs_trust", "RA1", kq, "Good", "QAA")
            for kq in ("Overall", "Safe", "Effective", "Caring", "Responsive", "Well-led")
        ]
    )
    v = ics_view(m, ICBS, vintages={"nhs_trust": "2018"}, sectors=("nhs_trust",))
    assert v.height == 2 * 6
    assert v.filter(pl.col("icb_code") == "QAA")["n_good"].to_list() == [1] * 6


# ----------------------------------------------------------------------------- find_icb


def test_find_icb_takes_codes_in_any_case_names_and_unique_parts():
    from ics_model.data.build import load_processed
    from ics_model.views import find_icb

    icbs = load_processed("icb_codes")
    assert find_icb("qe1", icbs) == find_icb("QE1", icbs) == "QE1"
    assert find_icb("lancashire and south cumbria", icbs) == "QE1"
    assert find_icb("NHS Frimley Integrated Care Board", icbs) == "QNQ"
    assert find_icb("  Frimley ", icbs) == "QNQ"
    assert find_icb("Cornwall", icbs) == "QT6"


def test_find_icb_errors_list_the_candidates():
    from ics_model.data.build import load_processed
    from ics_model.views import find_icb

    icbs = load_processed("icb_codes")
    with pytest.raises(ValueError, match=r"'london' matches 5 ICBs: .*QWE South West London"):
        find_icb("london", icbs)
    with pytest.raises(ValueError, match=r"closest: QE1 Lancashire and South Cumbria"):
        find_icb("lancashir cumbria", icbs)
    with pytest.raises(ValueError, match="name an ICB"):
        find_icb("", icbs)
