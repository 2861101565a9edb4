"""Rating age at "as of", stale and inherited ratings set aside, and the views' age columns."""

from datetime import date

import polars as pl
import pytest

from ics_model.config import ConfigError, RunConfig, config_from_dict, with_overrides
from ics_model.mapping import ACCOUNT_SCHEMA, Placed, conservation
from ics_model.mapping.age import (
    inherited_units,
    rated_before_ics,
    set_aside,
    stale_units,
    with_rating_age,
)
from ics_model.mapping.base import UNIT_ROWS_SCHEMA, UNMAPPED_SCHEMA, finish
from ics_model.views import ics_view

ICBS = pl.DataFrame({"icb_code": ["QAA"], "icb_gss": ["E54000001"], "icb_name": ["Alpha"]})


def _frame(rows):
    """rows: (sector, provider_id, rating, publication_date, publication_year, precision)."""
    df = pl.DataFrame(
        rows,
        schema=["sector", "provider_id", "rating", "publication_date", "publication_year", "p"],
        orient="row",
    )
    return finish(
        df.with_columns(
            pl.col("p").alias("publication_date_precision"),
            pl.lit("Overall").alias("key_question"),
            pl.when(pl.col("rating").is_null())
            .then(pl.lit("missing"))
            .otherwise(pl.lit("rated"))
            .alias("rating_status"),
            pl.lit("QAA").alias("icb_code"),
            pl.lit("Alpha").alias("icb_name"),
            pl.lit("icb_name").alias("mapping_method"),
            pl.lit("own").alias("rating_source"),
        ).drop("p")
    )


GP = [  # year precision
    ("gp_practice", "P1", "Good", None, 2016, "year"),  # 1 Jul 2016 -> 2024-04-01
    ("gp_practice", "P2", "Outstanding", None, 2022, "year"),  # before ICS unknown
    ("gp_practice", "P3", "Good", None, 2024, "year"),  # 1 Jul after as of: as of, age 0
    ("gp_practice", "P4", "Inadequate", None, 2023, "year"),
    ("gp_practice", "P5", None, None, 2015, "year"),  # unrated: not in the medians
]


def test_age_at_as_of_with_day_and_year_precision():
    trust = _frame(
        [
            ("nhs_trust", "T1", "Good", date(2016, 9, 3), 2016, "day"),
            ("nhs_trust", "T2", "Good", None, None, None),
        ]
    )
    aged = with_rating_age(trust, date(2018, 9, 3))
    # 730 days / 365.25 = 1.9986
    assert aged["rating_age_years"].to_list() == [1.999, None]
    assert aged["ratings_as_of"].to_list() == [date(2018, 9, 3)] * 2
    gp = with_rating_age(_frame(GP), date(2024, 4, 1))
    # P1: 2016-07-01 -> 2024-04-01 = 2831 days; P2: 2022-07-01 -> 640 days;
    # P4: 2023-07-01 -> 275 days; P3: 2024 is as of's year and 1 July is later -> 0
    assert gp["rating_age_years"].to_list() == [
        round(2831 / 365.25, 3),
        round(640 / 365.25, 3),
        0.0,
        round(275 / 365.25, 3),
        round(3197 / 365.25, 3),
    ]
    assert with_rating_age(trust, None)["rating_age_years"].null_count() == 2


def test_rated_before_ics_day_and_year_rules():
    f = _frame(
        [
            ("nhs_trust", "T1", "Good", date(2022, 6, 30), 2022, "day"),
            ("nhs_trust", "T2", "Good", date(2022, 7, 1), 2022, "day"),
            ("gp_practice", "P1", "Good", None, 2021, "year"),
            ("gp_practice", "P2", "Good", None, 2022, "year"),
            ("gp_practice", "P3", "Good", None, 2023, "year"),
            ("gp_practice", "P4", "Good", None, None, None),
        ]
    )
    got = f.select(rated_before_ics().alias("b"))["b"].to_list()
    assert got == [True, False, True, None, False, None]


def _placed(frame, unit_rows):
    return Placed(
        ratings=frame,
        unmapped=pl.DataFrame(schema=UNMAPPED_SCHEMA),
        accounts=pl.DataFrame(
            {"source": ["s", "s"], "outcome": ["used", "inherited"], "n_rows": [7, 2]},
            schema=ACCOUNT_SCHEMA,
        ),
        unit_rows=pl.DataFrame(unit_rows, schema=UNIT_ROWS_SCHEMA, orient="row"),
    )


def test_max_age_sets_stale_providers_aside_and_conservation_balances():
    gp = with_rating_age(_frame(GP), date(2024, 4, 1))
    stale = stale_units(gp, 5.0)  # only P1 (7.75 years); P5 is unrated, never stale
    assert stale["provider_id"].to_list() == ["P1"]
    rows = [("P1", "used", 3), ("P1", "inherited", 2), ("P2", "used", 1), ("P3", "used", 3)]
    out = set_aside(_placed(gp, rows), stale, "stale", "s")
    assert "P1" not in out.ratings["provider_id"].to_list()
    table = conservation(out.accounts, {"s": 9})
    row = table.row(0, named=True)
    assert (row["used"], row["inherited"], row["stale"], row["balanced"]) == (4, 0, 5, True)
    assert out.unit_rows["provider_id"].to_list() == ["P2", "P3"]
    listed = out.set_aside.row(0, named=True)
    assert out.set_aside.height == 1
    assert (listed["provider_id"], listed["outcome"], listed["n_rows"]) == ("P1", "stale", 5)
    assert listed["rating_age_years"] == pytest.approx(7.75, abs=0.01)
    assert listed["reason"] == "rating 7.75 years old > ratings.max_age_years = 5.0"


def test_inherited_units_are_those_the_file_flags():
    gp = _frame(GP).with_columns(
        pl.when(pl.col("provider_id") == "P2")
        .then(pl.lit("flagged"))
        .otherwise(None)
        .alias("inherited_note")
    )
    assert inherited_units(gp)["provider_id"].to_list() == ["P2"]


def test_view_median_age_and_share_before_ics_by_hand():
    gp = with_rating_age(_frame(GP), date(2024, 4, 1))
    view = ics_view(gp, ICBS, vintages={"gp_practice": "x"}, sectors=("gp_practice",))
    row = view.row(0, named=True)
    # rated: P1 7.751, P2 1.752, P3 0.0, P4 0.753 -> median (0.753 + 1.752) / 2
    assert row["median_rating_age_years"] == pytest.approx((0.753 + 1.752) / 2)
    # known: P1 (2016, before), P3 (2024), P4 (2023); P2 (2022) unknown -> 1 / 3
    assert row["share_rated_before_ics"] == pytest.approx(1 / 3)


def test_ratings_config_defaults_and_errors_name_the_key_path():
    r = RunConfig().ratings
    assert (r.as_of, r.max_age_years, r.inherited) == (None, None, "keep")
    cfg = with_overrides(RunConfig(), {"ratings.as_of": "2020-01-31"})
    assert cfg.ratings.as_of == date(2020, 1, 31)
    with pytest.raises(ConfigError) as err:
        config_from_dict(
            {"ratings": {"inherited": "drop", "max_age_years": 0, "as_of": "not a date"}}
        )
    msg = str(err.value)
    assert "ratings.inherited" in msg and "'keep'" in msg and "given: 'drop'" in msg
    assert "ratings.max_age_years" in msg and "given: 0" in msg
    assert "ratings.as_of" in msg
    with pytest.raises(ConfigError, match=r"ratings\.as_o: unknown key"):
        config_from_dict({"ratings": {"as_o": "2020-01-01"}})


@pytest.fixture(scope="module")
def real_gp():
    from ics_model.pipeline.sectors import SECTORS, load_reference, place_sector

    cfg = RunConfig()
    ref = load_reference(cfg)
    excl = with_overrides(cfg, {"ratings.inherited": "exclude"})
    return (
        place_sector(SECTORS["gp_practice"], ref, cfg),
        place_sector(SECTORS["gp_practice"], ref, excl),
    )


def test_real_gp_file_inherited_ratings_are_carried_and_can_be_excluded(real_gp):
    kept, excluded = real_gp
    gp = kept.placed.ratings
    assert gp.height == 6162
    inh = gp.filter(pl.col("rating_source") == "inherited")
    assert inh.height == 298
    assert inh.filter(pl.col("rating") == "Outstanding").height == 12
    assert inh["inherited_from"].null_count() == 298  # the file does not say from whom
    assert inh["inherited_note"].null_count() == 0
    assert gp["publication_date_precision"].unique().to_list() == ["year"]
    assert gp["ratings_as_of"].unique().to_list() == [date(2024, 4, 1)]
    ex = excluded.placed
    assert ex.ratings.height == 6162 - 298
    acc = ex.accounts.group_by("outcome").agg(pl.col("n_rows").sum())
    got = dict(zip(acc["outcome"], acc["n_rows"], strict=True))
    assert got["inherited_excluded"] == 298 and got["used"] == 6162 - 298
    assert got.get("inherited", 0) == 0
    kept_acc = dict(kept.placed.accounts.select("outcome", "n_rows").iter_rows())
    assert (kept_acc["used"], kept_acc["inherited"]) == (6162 - 298, 298)
    listed = ex.set_aside
    assert listed.height == 298 and set(listed["outcome"]) == {"inherited_excluded"}
    assert listed.filter(pl.col("rating") == "Outstanding").height == 12
    assert listed["reason"][0].startswith("rating inherited (the file flags")
    assert listed["reason"][0].endswith("ratings.inherited = exclude")
