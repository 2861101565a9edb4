"""Trust ratings published before their trust absorbed another rated trust (issue 13, part 3)."""

from datetime import date

import polars as pl
import pytest

from ics_model.config import ConfigError, RunConfig, config_from_dict, with_overrides
from ics_model.mapping import conservation, place_trusts
from ics_model.ratings import KeyQuestionEnum, RatingEnum, RatingStatusEnum
from ics_model.views import ics_view

ICBS = pl.DataFrame({"icb_code": ["QAA"], "icb_gss": ["E54000001"], "icb_name": ["NHS A ICB"]})
# open: RA1 (absorbs RP1 after its rating), RB1 (absorbs RQ1 before its rating), RC1, RD1
# (RS1 split into RC1 and RD1; RD1 has its own rating, RC1 has none)
TRUSTS = pl.DataFrame(
    {
        "org_code": ["RA1", "RB1", "RC1", "RD1", "RP1", "RQ1", "RS1"],
        "name": list("ABCDPQS"),
        "icb_code": ["QAA"] * 7,
        "is_open": [True] * 4 + [False] * 3,
    }
)
SUCC = pl.DataFrame(
    {
        "predecessor_code": ["RP1", "RQ1", "RS1", "RS1"],
        "successor_code": ["RA1", "RB1", "RC1", "RD1"],
        "effective_date": [date(2020, 4, 1), date(2015, 4, 1)] + [date(2019, 10, 1)] * 2,
    }
)


def _ratings(rows):
    """rows: (provider_id, publication_date)."""
    return pl.DataFrame(
        [(p, "Overall", kq, "Good", d) for p, d in rows for kq in ("Overall", "Safe")],
        schema=["provider_id", "service", "key_question", "rating", "publication_date"],
        orient="row",
    ).with_columns(
        pl.col("key_question").cast(KeyQuestionEnum),
        pl.col("rating").cast(RatingEnum),
        pl.lit("rated").cast(RatingStatusEnum).alias("rating_status"),
        pl.lit("provider").alias("level"),
    )


RATINGS = _ratings(
    [
        ("RA1", date(2017, 6, 1)),  # before RP1 joined (2020-04-01): flagged
        ("RP1", date(2016, 1, 1)),
        ("RB1", date(2016, 6, 1)),  # after RQ1 joined (2015-04-01): not flagged
        ("RQ1", date(2014, 1, 1)),
        ("RD1", date(2018, 1, 1)),  # before RS1 split into it (2019-10-01): flagged
        ("RS1", date(2017, 1, 1)),
    ]
)


def _overall(placed):
    rows = placed.ratings.filter(pl.col("key_question") == "Overall").to_dicts()
    return {r["provider_id"]: r for r in rows}


def test_date_rule_absorbed_after_vs_before_publication():
    got = _overall(place_trusts(RATINGS, TRUSTS, SUCC, ICBS))
    assert got["RA1"]["rating_predates_merger"] is True
    assert got["RA1"]["premerger_absorbed"] == "RP1"
    assert got["RB1"]["rating_predates_merger"] is False  # merged before publication
    assert got["RB1"]["premerger_absorbed"] is None
    assert got["RD1"]["rating_predates_merger"] is True  # took over part of a split trust
    assert got["RD1"]["premerger_absorbed"] == "RS1"
    assert got["RC1"]["rating_predates_merger"] is False and got["RC1"]["rating"] is None
    # a merger on the publication day is already in the rating
    same_day = SUCC.with_columns(
        pl.when(pl.col("predecessor_code") == "RP1")
        .then(pl.lit(date(2017, 6, 1)))
        .otherwise(pl.col("effective_date"))
        .alias("effective_date")
    )
    assert (
        _overall(place_trusts(RATINGS, TRUSTS, same_day, ICBS))["RA1"]["rating_predates_merger"]
        is False
    )


def test_split_successor_without_rating_gets_its_own_reason():
    got = _overall(place_trusts(RATINGS, TRUSTS, SUCC, ICBS))
    assert got["RC1"]["unrated_reason"] == (
        "rated predecessor RS1 split into several organisations (RC1, RD1); "
        "its rating is not assigned to any of them"
    )


def test_exclude_leaves_premerger_ratings_out_and_conservation_balances():
    kept = place_trusts(RATINGS, TRUSTS, SUCC, ICBS)
    out = place_trusts(RATINGS, TRUSTS, SUCC, ICBS, premerger="exclude")
    got = _overall(out)
    assert sorted(got) == ["RA1", "RB1", "RC1", "RD1"]  # excluded trusts stay, unrated
    for unit, absorbed in (("RA1", "RP1"), ("RD1", "RS1")):
        assert got[unit]["rating"] is None and got[unit]["rating_source"] == "none"
        assert got[unit]["rating_predates_merger"] is True
        assert f"predates absorbing {absorbed}" in got[unit]["unrated_reason"]
        assert "mapping.premerger_ratings = exclude" in got[unit]["unrated_reason"]
    assert got["RB1"]["rating"] == "Good"
    n_input = {"trust_ratings": RATINGS.height}
    for placed in (kept, out):
        assert conservation(placed.accounts, n_input)["balanced"].to_list() == [True]
    acc = dict(zip(out.accounts["outcome"], out.accounts["n_rows"], strict=True))
    # RP1 and RQ1 superseded by their successors' own ratings; RA1 and RD1 excluded
    assert acc["used"] == 2  # RB1
    assert acc["superseded"] == 2 + 2 + 2 + 2  # RP1, RQ1, RA1, RD1
    assert sorted(out.superseded["provider_id"]) == ["RA1", "RD1", "RP1", "RQ1"]
    view = ics_view(kept.ratings, ICBS, vintages={"nhs_trust": "t"})
    n = dict(zip(view["key_question"].cast(pl.String), view["n_rated_premerger"], strict=True))
    assert n == {"Overall": 2, "Safe": 2, "Effective": 0, "Caring": 0, "Responsive": 0,
                 "Well-led": 0}  # fmt: skip
    view = ics_view(out.ratings, ICBS, vintages={"nhs_trust": "t"})
    assert view["n_rated_premerger"].to_list() == [0] * view.height


def test_premerger_config_default_and_key_path_error():
    assert RunConfig().mapping.premerger_ratings == "keep"
    cfg = with_overrides(RunConfig(), {"mapping.premerger_ratings": "exclude"})
    assert cfg.mapping.premerger_ratings == "exclude"
    with pytest.raises(ConfigError) as err:
        config_from_dict({"mapping": {"premerger_ratings": "drop"}})
    msg = str(err.value)
    assert "mapping.premerger_ratings" in msg and "'keep'" in msg and "given: 'drop'" in msg


#: read off the run on the embedded 2018 trust file; RH5 and RYR checked by hand against
#: the ODS succ file: RBA -> RH5 2020-04-01 and RA4 -> RH5 2023-04-01 (RH5 rated
#: 2017-06-01); RXH -> RYR 2021-04-01 (RYR rated 2016-04-20, Outstanding).
FLAGGED_2018 = {
    "RA7": "RA3",
    "RAJ": "RDD;RQ8",
    "RAL": "RAP",
    "RAX": "RY9",
    "RBN": "RVY",
    "RC9": "RC1",
    "REM": "RQ6",
    "RH5": "RA4;RBA",
    "RH8": "RBZ",
    "RJ1": "RT3",
    "RM3": "RW6",
    "RNN": "RNL",
    "RTQ": "R1J",
    "RW1": "R1C",
    "RW4": "RTV",
    "RYR": "RXH",
}


@pytest.fixture(scope="module")
def real_trusts():
    from ics_model.pipeline.sectors import SECTORS, load_reference, place_sector

    cfg = RunConfig()
    ref = load_reference(cfg)
    excl = with_overrides(cfg, {"mapping.premerger_ratings": "exclude"})
    return (
        place_sector(SECTORS["nhs_trust"], ref, cfg),
        place_sector(SECTORS["nhs_trust"], ref, excl),
    )


def test_real_2018_file_flagged_trusts(real_trusts):
    kept, excluded = real_trusts
    r = kept.placed.ratings
    flagged = r.filter(pl.col("rating_predates_merger") & (pl.col("key_question") == "Overall"))
    assert dict(zip(flagged["provider_id"], flagged["premerger_absorbed"], strict=True)) == (
        FLAGGED_2018
    )
    assert r["rating_predates_merger"].null_count() == 0
    got = {x["provider_id"]: x for x in flagged.to_dicts()}
    assert (got["RH5"]["publication_date"], got["RH5"]["rating"]) == (date(2017, 6, 1), "Good")
    assert (got["RYR"]["publication_date"], got["RYR"]["rating"]) == (
        date(2016, 4, 20),
        "Outstanding",
    )
    r0a = r.filter(pl.col("provider_id") == "R0A")["unrated_reason"].unique().to_list()
    assert r0a == [
        "rated predecessor RW6 split into several organisations (R0A, RM3); "
        "its rating is not assigned to any of them"
    ]
    ex = excluded.placed
    ov = ex.ratings.filter(pl.col("key_question") == "Overall")
    assert ov.height == r.filter(pl.col("key_question") == "Overall").height
    gone = ov.filter(pl.col("provider_id").is_in(sorted(FLAGGED_2018)))
    assert gone["rating"].null_count() == len(FLAGGED_2018)
    n_input = {"trust_ratings": excluded.loaded.frame.height}
    for placed in (kept.placed, ex):
        table = conservation(placed.accounts, n_input)
        assert table["balanced"].to_list() == [True]
    moved = ex.superseded.filter(pl.col("provider_id").is_in(sorted(FLAGGED_2018)))
    assert moved.height == len(FLAGGED_2018)


def _combiner():
    from functools import partial

    from ics_model.rules.engine import combine_frame

    return partial(combine_frame, rule_set="cqc_principles", name="rating")


def test_combine_joins_absorbed_ratings_per_key_question():
    # RA1 Good (2017), absorbs RP1 (Inadequate on Safe, Good Overall, rated 2016) in 2020
    ratings = RATINGS.with_columns(
        pl.when((pl.col("provider_id") == "RP1") & (pl.col("key_question") == "Safe"))
        .then(pl.lit("Inadequate"))
        .otherwise(pl.col("rating").cast(pl.String))
        .cast(RatingEnum)
        .alias("rating")
    )
    with pytest.raises(ValueError, match="premerger_combine"):
        place_trusts(ratings, TRUSTS, SUCC, ICBS, premerger="combine")
    out = place_trusts(
        ratings, TRUSTS, SUCC, ICBS, premerger="combine", premerger_combine=_combiner()
    )
    rows = {(r["provider_id"], r["key_question"]): r for r in out.ratings.to_dicts()}
    # cqc_principles, 1-3 ratings: exactly one Inadequate -> Requires improvement;
    # Good + Good -> Good
    assert rows[("RA1", "Safe")]["rating"] == "Requires improvement"
    assert rows[("RA1", "Overall")]["rating"] == "Good"
    for kq in ("Overall", "Safe"):
        r = rows[("RA1", kq)]
        assert r["rating_source"] == "combined" and r["mapping_method"] == "ods_trust"
        assert r["inherited_from"] == "RA1+RP1" and r["rating_predates_merger"] is True
        # the newer of the two publication dates
        assert r["publication_date"] == date(2017, 6, 1)
    # the split trust RS1 is flagged on RD1 but never combined into it
    assert rows[("RD1", "Overall")]["rating_source"] == "own"
    assert rows[("RD1", "Overall")]["inherited_from"] is None
    assert rows[("RB1", "Overall")]["rating_source"] == "own"  # merged before its rating
    acc = dict(zip(out.accounts["outcome"], out.accounts["n_rows"], strict=True))
    assert acc["inherited"] == 2  # RP1's two rows now count in RA1's rating
    assert acc["superseded"] == 2  # RQ1 (RB1 rated after absorbing it)
    assert sorted(out.superseded["provider_id"]) == ["RQ1"]
    assert conservation(out.accounts, {"trust_ratings": RATINGS.height})["balanced"].to_list() == [
        True
    ]


def test_combine_config_needs_a_principles_rule_set():
    from ics_model.config import check_config

    cfg = config_from_dict({"mapping": {"premerger_ratings": "combine"}})
    assert cfg.mapping.premerger_rule_set == "cqc_principles"
    check_config(cfg)
    bad = config_from_dict(
        {"mapping": {"premerger_ratings": "combine", "premerger_rule_set": "ics_shares"}}
    )
    with pytest.raises(ConfigError, match=r"mapping\.premerger_rule_set"):
        check_config(bad)


def test_real_2018_file_combine(real_trusts):
    from ics_model.pipeline.sectors import SECTORS, load_reference, place_sector

    kept, _ = real_trusts
    cfg = with_overrides(RunConfig(), {"mapping.premerger_ratings": "combine"})
    comb = place_sector(SECTORS["nhs_trust"], load_reference(cfg), cfg)
    ov = comb.placed.ratings.filter(pl.col("key_question") == "Overall")
    combined = ov.filter(pl.col("rating_source") == "combined")
    # RM3's absorbed RW6 split (into R0A and RM3): flagged but not combined
    assert sorted(combined["provider_id"]) == sorted(set(FLAGGED_2018) - {"RM3"})
    got = {r["provider_id"]: r for r in combined.to_dicts()}
    assert got["RH5"]["inherited_from"] == "RA4+RBA+RH5"
    assert got["RYR"]["inherited_from"] == "RXH+RYR"
    before = {
        r["provider_id"]: r["rating"]
        for r in kept.placed.ratings.filter(pl.col("key_question") == "Overall").to_dicts()
    }
    changed = {u: (before[u], got[u]["rating"]) for u in got if before[u] != got[u]["rating"]}
    assert changed == EXPECTED_COMBINE_CHANGES
    table = conservation(comb.placed.accounts, {"trust_ratings": comb.loaded.frame.height})
    assert table["balanced"].to_list() == [True]


#: Overall ratings the combination changes, checked by hand from the raw Overall ratings
#: (cqc_principles, 1-3 band: one RI limits to RI; one Inadequate gives RI), e.g.
#: RYR Outstanding (2016-04-20) + RXH Inadequate (2016-08-17) -> RI;
#: RH5 Good + RBA Good + RA4 RI -> RI; RTQ Good + R1J Good -> Good (unchanged).
RI = "Requires improvement"
EXPECTED_COMBINE_CHANGES = {
    "RA7": ("Outstanding", RI),
    "RAL": ("Good", RI),
    "RAX": ("Outstanding", RI),
    "RBN": ("Good", RI),
    "RC9": ("Good", RI),
    "RH5": ("Good", RI),
    "RH8": ("Good", RI),
    "RJ1": ("Good", RI),
    "RYR": ("Outstanding", RI),
}
