"""Ambulance trusts: shared among the ICBs they serve, left out, or counted in their host ICB."""

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ics_model.config import RunConfig, config_from_dict, with_overrides
from ics_model.data import geography, ods, population
from ics_model.data.trust_reference import read_ambulance_areas
from ics_model.mapping.ambulance import ambulance_shares
from ics_model.pipeline import run
from ics_model.ratings import wilson_interval
from ics_model.spec import ConfigError
from ics_model.views import ics_view_by

LONDON = {"QKK", "QMF", "QMJ", "QRV", "QWE"}
#: mid-2022 population of the five London ICBs (ONS sub-ICB file), 8,866,180 in all
LONDON_POP = {
    "QRV": 2_116_269,
    "QMF": 2_028_265,
    "QKK": 1_795_871,
    "QWE": 1_509_217,
    "QMJ": 1_416_558,
}


@pytest.fixture(scope="module")
def ref():
    return {
        "areas": read_ambulance_areas().frame,
        "pop": population.read_sub_icb_population().frame,
        "icbs": geography.read_icb_codes().frame,
        "succ": ods.read_ods_successors().frame,
        "subs": ods.read_ods_sub_icbs().frame,
        "etr": ods.read_ods_trusts(vintage="2025").frame,
    }


def test_the_crosswalk_covers_every_sub_icb_once_within_each_trusts_region(ref):
    areas = ref["areas"]
    assert sorted(areas["sub_icb_code"]) == sorted(ref["pop"]["sub_icb_code"])  # 106, once
    etr = ref["etr"].filter(pl.col("is_open"))
    trusts = etr.filter(pl.col("org_code").is_in(areas["ambulance_trust_code"].unique().implode()))
    assert trusts.height == 10 and trusts["name"].str.contains("AMBULANCE SERVICE").all()
    region = areas.join(
        ref["subs"].select(pl.col("org_code").alias("sub_icb_code"), "region_code"),
        on="sub_icb_code",
    ).join(
        etr.select(pl.col("org_code").alias("ambulance_trust_code"), pl.col("region_code")),
        on="ambulance_trust_code",
        suffix="_trust",
    )
    crossing = region.filter(pl.col("region_code") != pl.col("region_code_trust"))
    assert sorted(crossing["sub_icb_code"]) == ["01H", "03H", "03K"]
    assert crossing["note"].is_not_null().all()


def test_london_ambulance_service_is_shared_by_population(ref):
    shares = ambulance_shares(ref["areas"], ref["pop"], ref["icbs"])
    rru = shares.filter(pl.col("provider_id") == "RRU")
    assert set(rru["icb_code"]) == LONDON
    total = sum(LONDON_POP.values())
    assert total == 8_866_180
    for icb, pop in LONDON_POP.items():
        row = rru.filter(pl.col("icb_code") == icb).row(0, named=True)
        assert row["population_served"] == pop
        assert row["icb_weight"] == pytest.approx(pop / total)
    assert rru.filter(pl.col("icb_code") == "QKK")["icb_weight"][0] == pytest.approx(0.202553, 1e-5)
    sums = shares.group_by("provider_id").agg(pl.col("icb_weight").sum())
    assert sums.height == 10 and sums["icb_weight"].to_list() == pytest.approx([1.0] * 10)
    # North West Ambulance Service also serves North Cumbria, in North East and North Cumbria
    rx7 = shares.filter((pl.col("provider_id") == "RX7") & (pl.col("icb_code") == "QHM"))
    assert rx7["note"][0].startswith("North Cumbria")


def test_on_the_2026_icbs_a_split_icb_part_is_left_out_and_said(ref):
    shares = ambulance_shares(ref["areas"], ref["pop"], ref["icbs"], ref["succ"], "2026")
    sums = shares.group_by("provider_id").agg(pl.col("icb_weight").sum())
    assert sums["icb_weight"].to_list() == pytest.approx([1.0] * sums.height)
    rye = shares.filter(pl.col("provider_id") == "RYE")
    assert rye["note"].str.contains("D4U1Y").all()  # Frimley split in April 2026


@given(st.lists(st.integers(1, 10_000_000), min_size=1, max_size=8))
def test_shares_sum_to_one_for_any_populations(pops):
    codes = [f"S{i:02d}" for i in range(len(pops))]
    areas = pl.DataFrame({"ambulance_trust_code": "AMB", "sub_icb_code": codes, "note": None})
    pop = pl.DataFrame(
        {"sub_icb_code": codes, "icb_gss": [f"E5400000{i % 3}" for i in range(len(pops))]}
    ).with_columns(pl.Series("population", pops, dtype=pl.Int64))
    icbs = pl.DataFrame(
        {"icb_code": ["Q0", "Q1", "Q2"], "icb_gss": [f"E5400000{i}" for i in range(3)]}
    ).with_columns(icb_name=pl.col("icb_code"))
    shares = ambulance_shares(areas.cast({"note": pl.String}), pop, icbs)
    assert shares["icb_weight"].sum() == pytest.approx(1.0)
    assert shares["population_served"].sum() == sum(pops)


# --------------------------------------------------------------------------- the policies

_FAST = {
    "metrics.enabled": False,
    "composite": None,
    "uncertainty": None,
    "scenarios": [],
    "effect.enabled": False,
}


@pytest.fixture(scope="module")
def runs():
    return {
        p: run(with_overrides(RunConfig(), {"mapping.ambulance": p, **_FAST}))
        for p in ("shared", "exclude", "host")
    }


def _overall(view, trust_type):
    return view.filter(
        (pl.col("sector") == "nhs_trust")
        & (pl.col("trust_type") == trust_type)
        & (pl.col("key_question") == "Overall")
    )


def test_shared_counts_rru_across_the_five_london_icbs(runs):
    v = runs["shared"].views
    assert v.mapped.filter(pl.col("provider_id") == "RRU").is_empty()  # not one-ICB
    alloc = v.ambulance_allocation.filter(pl.col("provider_id") == "RRU")
    assert set(alloc["icb_code"]) == LONDON and alloc["counted"].all()
    assert alloc["host_icb_code"].unique().to_list() == ["QKK"]
    amb = _overall(v.by_trust_type, "ambulance")
    london = amb.filter(pl.col("icb_code").is_in(sorted(LONDON)))
    total = sum(LONDON_POP.values())
    for r in london.iter_rows(named=True):
        # RRU is rated Good overall: it counts as its weight, Good, in every London ICB
        w = LONDON_POP[r["icb_code"]] / total
        assert r["n_providers"] == 1 and r["n_shared"] == 1
        assert r["n_rated"] == pytest.approx(w) and r["n_good"] == pytest.approx(w)
        assert r["n_rated_effective"] == pytest.approx(1.0)  # one trust, whatever its weight
        assert r["share_good_or_outstanding"] == 1.0
    # each ambulance trust counts once nationally; every trust once in the 'all' rows
    assert amb["n_providers_weighted"].sum() == pytest.approx(10.0)
    assert _overall(v.by_trust_type, "all")["n_providers_weighted"].sum() == pytest.approx(202.0)
    cons = runs["shared"].conservation.table.filter(pl.col("source") == "trust_ratings")
    assert cons["ambulance_excluded"][0] == 0 and cons["balanced"][0]


def test_the_weighted_interval_uses_the_effective_number_of_trusts(runs):
    v = runs["shared"].views
    row = _overall(v.by_trust_type, "all").filter(pl.col("icb_code") == "QKK").row(0, named=True)
    whole = v.mapped.filter(
        (pl.col("icb_code") == "QKK")
        & (pl.col("sector") == "nhs_trust")
        & (pl.col("key_question") == "Overall")
        & pl.col("rating").is_not_null()
    )
    w_rru = LONDON_POP["QKK"] / sum(LONDON_POP.values())
    weights = [1.0] * whole.height + [w_rru]
    good = [r in ("Good", "Outstanding") for r in whole["rating"].cast(pl.String)] + [True]
    n = sum(weights)
    p = sum(w for w, g in zip(weights, good, strict=True) if g) / n
    n_eff = n**2 / sum(w * w for w in weights)
    assert row["n_rated"] == pytest.approx(n)
    assert row["n_rated_effective"] == pytest.approx(n_eff)
    assert row["share_good_or_outstanding"] == pytest.approx(p)
    lower, upper = wilson_interval(p * n_eff, n_eff)
    assert row["share_good_or_outstanding_lower"] == pytest.approx(lower)
    assert row["share_good_or_outstanding_upper"] == pytest.approx(upper)


def test_host_counts_rru_whole_in_south_east_london(runs):
    v = runs["host"].views
    rru = v.mapped.filter((pl.col("provider_id") == "RRU") & (pl.col("key_question") == "Overall"))
    assert rru["icb_code"].to_list() == ["QKK"] and rru["trust_type"][0] == "ambulance"
    amb = _overall(v.by_trust_type, "ambulance").filter(pl.col("icb_code").is_in(sorted(LONDON)))
    assert dict(zip(amb["icb_code"], amb["n_rated"], strict=True)) == {
        "QKK": 1.0,
        "QMF": 0.0,
        "QMJ": 0.0,
        "QRV": 0.0,
        "QWE": 0.0,
    }
    assert v.ambulance_allocation["policy"].unique().to_list() == ["host"]
    # the main view under shared has SEL's trusts without RRU; under host with it
    main = {
        p: runs[p].views.ics_view.filter(
            (pl.col("icb_code") == "QKK")
            & (pl.col("sector") == "nhs_trust")
            & (pl.col("key_question") == "Overall")
        )["n_providers"][0]
        for p in ("shared", "host")
    }
    assert main["host"] == main["shared"] + 1


def test_exclude_leaves_them_out_and_counts_their_rows(runs):
    r = runs["exclude"]
    v = r.views
    assert v.mapped.filter(pl.col("trust_type") == "ambulance").is_empty()
    assert _overall(v.by_trust_type, "ambulance").is_empty()
    assert not v.ambulance_allocation["counted"].any()
    cons = r.conservation.table.filter(pl.col("source") == "trust_ratings").row(0, named=True)
    host = runs["host"].conservation.table.filter(pl.col("source") == "trust_ratings")
    # the ten ambulance trusts' 89 rows move from used to ambulance_excluded
    assert cons["ambulance_excluded"] == 89
    assert cons["used"] == host["used"][0] - 89 and cons["balanced"]
    assert _overall(v.by_trust_type, "all")["n_providers_weighted"].sum() == pytest.approx(192.0)


def test_the_policy_key_is_checked():
    assert RunConfig().mapping.ambulance == "shared"
    with pytest.raises(ConfigError, match=r"mapping\.ambulance.*'shared'.*given: 'regional'"):
        config_from_dict({"mapping": {"ambulance": "regional"}})


def test_views_by_without_shared_rows_equal_the_whole_counts():
    icbs = pl.DataFrame({"icb_code": ["A", "B"], "icb_gss": ["E1", "E2"], "icb_name": ["A", "B"]})
    mapped = pl.DataFrame(
        {
            "sector": ["nhs_trust"] * 4,
            "provider_id": ["T1", "T2", "T3", "G1"],
            "key_question": ["Overall"] * 4,
            "rating": ["Good", "Inadequate", None, "Good"],
            "icb_code": ["A", "A", "A", "B"],
            "trust_type": ["acute", "acute", "mental_health", None],
        }
    )
    v = ics_view_by(mapped, icbs, vintages={"nhs_trust": "2018"})
    a = v.filter((pl.col("icb_code") == "A") & (pl.col("trust_type") == "all")).row(0, named=True)
    assert (a["n_providers"], a["n_rated"], a["n_rated_effective"]) == (3, 2.0, 2.0)
    assert a["share_good_or_outstanding"] == 0.5 and a["mean_score"] == 2.0
    assert (a["share_good_or_outstanding_lower"], a["share_good_or_outstanding_upper"]) == (
        pytest.approx(wilson_interval(1, 2))
    )
    # B has no typed trust: its rows are there, with zeros and null shares
    b = v.filter(pl.col("icb_code") == "B")
    assert (b["n_providers"] == 0).all() and b["share_outstanding"].is_null().all()
    assert set(v["trust_type"]) == {"acute", "mental_health", "all"}
