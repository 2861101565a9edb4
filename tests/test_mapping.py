"""Placement of providers in ICSs, on tiny hand-written frames."""

from datetime import date
from functools import partial

import polars as pl
import pytest

from ics_model.mapping import (
    conservation,
    icb_table,
    loader_accounts,
    place_locations,
    place_trusts,
    resolve_successors,
)
from ics_model.ratings import KeyQuestionEnum, RatingEnum, RatingStatusEnum
from ics_model.rules.engine import combine_frame

ICBS = pl.DataFrame(
    {
        "icb_code": ["QAA", "QBB", "QCC"],
        "icb_gss": ["E54000001", "E54000002", "E54000003"],
        "icb_name": ["NHS Alpha ICB", "NHS Beta ICB", "NHS Gamma ICB"],
    }
)
# Open trusts: RA1 (QAA), RB1 (QBB), RC1 (QBB, new, no rating), RD1 (QCC, merger of two rated),
# RW1 Welsh (no ICB). Closed: RX1 -> RC1, RY1 + RZ1 -> RD1, RQ1 -> RA1 (RA1 rated), RS1 split.
TRUSTS = pl.DataFrame(
    {
        "org_code": ["RA1", "RB1", "RC1", "RD1", "RW1", "RX1", "RY1", "RZ1", "RQ1", "RS1"],
        "name": ["A", "B", "C", "D", "W", "X", "Y", "Z", "Q", "S"],
        "icb_code": ["QAA", "QBB", "QBB", "QCC", None, "QBB", "QCC", "QCC", "QAA", "QAA"],
        "is_open": [True] * 5 + [False] * 5,
    }
)
SUCC = pl.DataFrame(
    {
        "predecessor_code": ["RX1", "RY1", "RZ1", "RQ1", "RS1", "RS1", "QBB", "QCC", "QCC"],
        "successor_code": ["RC1", "RD1", "RD1", "RA1", "RA1", "RB1", "QNEW", "QAA", "QNEW"],
        "effective_date": [date(2020, 4, 1)] * 6 + [date(2026, 4, 1)] * 3,
    }
)


def _ratings(rows):
    """rows: (provider_id, service, key_question, rating)."""
    df = pl.DataFrame(
        rows, schema=["provider_id", "service", "key_question", "rating"], orient="row"
    )
    return df.with_columns(
        pl.col("key_question").cast(KeyQuestionEnum),
        pl.col("rating").cast(RatingEnum),
        pl.when(pl.col("rating").is_null())
        .then(pl.lit("not_rated"))
        .otherwise(pl.lit("rated"))
        .cast(RatingStatusEnum)
        .alias("rating_status"),
        pl.lit(date(2018, 1, 1)).alias("publication_date"),
        pl.lit("provider").alias("level"),
    )


RATINGS = _ratings(
    [
        ("RA1", "Overall", "Overall", "Good"),
        ("RA1", "Overall", "Safe", "Requires improvement"),
        ("RA1", "Maternity", "Overall", "Outstanding"),  # core service row
        ("RB1", "Overall", "Overall", "Outstanding"),
        ("RX1", "Overall", "Overall", "Inadequate"),  # inherited by RC1
        ("RY1", "Overall", "Overall", "Good"),  # two rated predecessors of RD1
        ("RZ1", "Overall", "Overall", "Good"),
        ("RQ1", "Overall", "Overall", "Good"),  # superseded: RA1 has its own rating
        ("RS1", "Overall", "Overall", "Good"),  # split
        ("RW1", "Overall", "Overall", "Good"),  # Welsh
        ("TAD", "Overall", "Overall", "Good"),  # care trust, not in etr
        ("1-123", "Overall", "Overall", "Good"),  # independent provider
    ]
)


def test_resolve_successors_follows_chains_and_flags_splits():
    succ = pl.DataFrame(
        {
            "predecessor_code": ["A", "B", "S", "S", "L1", "L2"],
            "successor_code": ["B", "C", "T", "U", "L2", "L1"],
            "effective_date": [date(2019, 1, 1)] * 6,
        }
    )
    out = resolve_successors(["A", "C", "S", "L1", "N"], succ, {"C", "T", "U"})
    got = {r["code"]: (r["current_code"], r["status"]) for r in out.to_dicts()}
    assert got == {
        "A": ("C", "successor"),
        "C": ("C", "open"),
        "S": (None, "split"),
        "L1": (None, "no_open_successor"),  # a cycle stops
        "N": (None, "no_open_successor"),
    }
    assert out.filter(pl.col("code") == "A")["chain"][0] == "A > B > C"


def test_place_trusts_units_inheritance_and_reasons():
    p = place_trusts(RATINGS, TRUSTS, SUCC, ICBS)
    overall = p.ratings.filter(pl.col("key_question") == "Overall")
    got = {r["provider_id"]: r for r in overall.to_dicts()}
    assert sorted(got) == ["RA1", "RB1", "RC1", "RD1"]  # open English trusts only
    assert got["RA1"]["rating"] == "Good" and got["RA1"]["rating_source"] == "own"
    assert got["RA1"]["mapping_method"] == "ods_trust"
    assert got["RC1"]["rating"] == "Inadequate"
    assert got["RC1"]["inherited_from"] == "RX1"
    assert got["RC1"]["mapping_method"] == "ods_successor"
    assert got["RD1"]["rating"] is None
    assert "several rated predecessors (RY1, RZ1)" in got["RD1"]["unrated_reason"]
    assert got["RB1"]["icb_name"] == "NHS Beta ICB"
    # six key questions per trust; RA1 Safe from its trust-level row, not the core service
    assert p.ratings.height == 4 * 6
    safe = p.ratings.filter((pl.col("provider_id") == "RA1") & (pl.col("key_question") == "Safe"))
    assert safe["rating"][0] == "Requires improvement"

    reasons = dict(zip(p.unmapped["provider_id"], p.unmapped["reason"], strict=True))
    assert set(reasons) == {"RY1", "RZ1", "RS1", "RW1", "TAD", "1-123"}
    assert "split" in reasons["RS1"]
    assert "outside England" in reasons["RW1"]
    assert "care trust" in reasons["TAD"]
    assert "independent provider" in reasons["1-123"]
    assert "ratings not combined" in reasons["RY1"]

    acc = dict(zip(p.accounts["outcome"], p.accounts["n_rows"], strict=True))
    assert acc == {"used": 4, "inherited": 1, "superseded": 1, "unmapped": 6}


def test_no_inheritance_when_switched_off():
    p = place_trusts(RATINGS, TRUSTS, SUCC, ICBS, inherit=False)
    rc1 = p.ratings.filter((pl.col("provider_id") == "RC1") & (pl.col("key_question") == "Overall"))
    assert rc1["rating"][0] is None
    assert "RX1" in p.unmapped["provider_id"].to_list()


def test_conservation_balances_and_detects_loss():
    p = place_trusts(RATINGS, TRUSTS, SUCC, ICBS)
    acc = pl.concat([p.accounts, loader_accounts("trust_ratings", 2, 3)])
    ok = conservation(acc, {"trust_ratings": RATINGS.height + 5})
    assert ok["balanced"].to_list() == [True]
    assert ok["quarantined"][0] == 2 and ok["superseded"][0] == 3 + 1
    bad = conservation(acc, {"trust_ratings": RATINGS.height + 6})
    assert bad["balanced"].to_list() == [False]


def test_icb_vintage_2026_merges_and_reports_splits():
    icbs, cmap = icb_table(ICBS, SUCC, "2026")
    status = dict(zip(cmap["icb_code_2023"], cmap["status"], strict=True))
    assert status == {"QAA": "same", "QBB": "merged", "QCC": "split"}
    names = dict(zip(icbs["icb_code"], icbs["icb_name"], strict=True))
    assert names["QNEW"] == "QNEW (formerly NHS Beta ICB)"
    assert icbs.filter(pl.col("icb_code") == "QNEW")["icb_gss"][0] is None
    p = place_trusts(RATINGS, TRUSTS, SUCC, ICBS, icb_vintage="2026")
    assert set(p.ratings["icb_code"]) == {"QAA", "QNEW"}
    reasons = dict(zip(p.unmapped["provider_id"], p.unmapped["reason"], strict=True))
    assert "RD1" in reasons and "QCC" in reasons["RD1"] and "not guessed" in reasons["RD1"]
    with pytest.raises(ValueError, match="2023' or '2026"):
        icb_table(ICBS, SUCC, "2030")


def test_place_trusts_uses_later_hosts_for_split_host_icbs():
    hosts = pl.DataFrame({"org_code": ["RD1"], "icb_code": ["QNEW"]})
    p = place_trusts(RATINGS, TRUSTS, SUCC, ICBS, icb_vintage="2026", hosts=hosts)
    rd1 = p.ratings.filter(pl.col("provider_id") == "RD1")
    assert rd1.height == 6 and set(rd1["icb_code"]) == {"QNEW"}
    assert "RD1" not in p.unmapped["provider_id"].to_list()
    without = place_trusts(RATINGS, TRUSTS, SUCC, ICBS, icb_vintage="2026")
    assert "RD1" in without.unmapped["provider_id"].to_list()


def test_place_locations_by_sub_icb_then_trust_code():
    locs = _ratings(
        [
            ("RA1", "Overall", "Overall", "Good"),
            ("RA1", "Overall", "Safe", "Good"),
            ("RB1", "Overall", "Overall", "Outstanding"),
            ("1-9", "Overall", "Overall", None),
            ("1-8", "Maternity", "Overall", "Good"),
        ]
    ).with_columns(
        pl.Series("location_id", ["L1", "L1", "L2", "L3", "L4"]),
        pl.Series(
            "location_onspd_ccg_code", ["E38000002", "E38000002", "E38999999", None, "E38000003"]
        ),
        pl.Series("location_name", ["one", "one", "two", "three", "four"]),
        pl.lit("location").alias("level"),
    )
    subs = pl.DataFrame(
        {"sub_icb_gss": ["E38000002", "E38000003"], "icb_gss": ["E54000003", "E54000001"]}
    )
    p = place_locations(locs, subs, TRUSTS, ICBS)
    o = p.ratings.filter(pl.col("key_question") == "Overall")
    got = {r["provider_id"]: (r["icb_code"], r["mapping_method"]) for r in o.to_dicts()}
    assert got == {"L1": ("QCC", "sub_icb_gss"), "L2": ("QBB", "ods_trust_location")}
    assert p.unmapped["provider_id"].to_list() == ["L3"]
    acc = dict(zip(p.accounts["outcome"], p.accounts["n_rows"], strict=True))
    assert acc == {"used": 4, "unmapped": 1}


def test_combining_several_rated_predecessors_is_an_option():
    combine = partial(combine_frame, rule_set="cqc_principles", name="rating")
    p = place_trusts(RATINGS, TRUSTS, SUCC, ICBS, combine_predecessors=combine)
    rd1 = p.ratings.filter((pl.col("provider_id") == "RD1") & (pl.col("key_question") == "Overall"))
    assert rd1["rating"][0] == "Good"  # Good + Good combined
    assert rd1["mapping_method"][0] == "ods_successor_combined"
    assert rd1["rating_source"][0] == "combined"
    assert rd1["inherited_from"][0] == "RY1+RZ1"
    acc = dict(zip(p.accounts["outcome"], p.accounts["n_rows"], strict=True))
    assert acc["inherited"] == 3 and acc["unmapped"] == 4
    # single-predecessor inheritance unchanged (one Inadequate is not turned into RI)
    rc1 = p.ratings.filter((pl.col("provider_id") == "RC1") & (pl.col("key_question") == "Overall"))
    assert rc1["rating"][0] == "Inadequate"


def test_file_flagged_inherited_location_rating_is_carried_and_counted():
    locs = pl.DataFrame(
        {
            "provider_id": ["1-9", "1-9"],
            "location_id": ["L1", "L2"],
            "service": ["Overall", "Overall"],
            "key_question": ["Overall", "Overall"],
            "rating": ["Good", "Outstanding"],
            "location_onspd_ccg_code": ["E38000002", "E38000002"],
            "inherited": [False, True],
        }
    ).with_columns(
        pl.col("key_question").cast(KeyQuestionEnum),
        pl.col("rating").cast(RatingEnum),
        pl.lit("rated").cast(RatingStatusEnum).alias("rating_status"),
        pl.lit(None, pl.Date).alias("publication_date"),
        pl.lit("location").alias("level"),
    )
    subs = pl.DataFrame({"sub_icb_gss": ["E38000002"], "icb_gss": ["E54000003"]})
    p = place_locations(locs, subs, TRUSTS, ICBS)
    got = {r["provider_id"]: r for r in p.ratings.to_dicts()}
    assert got["L1"]["rating_source"] == "own" and got["L1"]["inherited_note"] is None
    assert got["L2"]["rating_source"] == "inherited"
    assert "Inherited Rating (Y/N) = Y" in got["L2"]["inherited_note"]
    acc = dict(zip(p.accounts["outcome"], p.accounts["n_rows"], strict=True))
    assert acc == {"used": 1, "inherited": 1, "unmapped": 0}
    assert sorted(p.unit_rows.select("provider_id", "outcome").rows()) == [
        ("L1", "used"),
        ("L2", "inherited"),
    ]


def test_file_flagged_inherited_trust_rating_is_carried_and_counted():
    flagged = RATINGS.with_columns(
        (pl.col("provider_id") == RATINGS["provider_id"][0]).alias("inherited")
    )
    code = RATINGS["provider_id"][0]
    p = place_trusts(flagged, TRUSTS, SUCC, ICBS)
    rows = p.ratings.filter(pl.col("provider_id") == code)
    assert set(rows.filter(pl.col("rating").is_not_null())["rating_source"]) == {"inherited"}
    assert rows["inherited_note"].drop_nulls().str.contains("Inherited Rating").all()
    plain = place_trusts(RATINGS, TRUSTS, SUCC, ICBS)
    a0 = dict(zip(plain.accounts["outcome"], plain.accounts["n_rows"], strict=True))
    a1 = dict(zip(p.accounts["outcome"], p.accounts["n_rows"], strict=True))
    n_flagged = flagged.filter(pl.col("inherited") & pl.col("rating").is_not_null()).height
    assert a1["used"] == a0["used"] - n_flagged
    assert a1["inherited"] == a0.get("inherited", 0) + n_flagged
