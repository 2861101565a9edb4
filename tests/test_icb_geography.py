"""The ICB geography of a run (mapping.icb_geography, icb_changes), on tiny frames and real data.

Toy geography: QAA and QBB are whole 2023 ICBs; QCC splits in April 2026 into A1A1A
(which QAA also joins) and QBB. Sub-ICBs 01A (QAA, 100 people), 02B (QBB, 200), 03C and
04D (QCC, 50 and 70); districts L1 (QCC, 30 people in LSOAs) and L2 (QCC, 70).
"""

from datetime import date

import polars as pl
import pytest

from ics_model.data.build import load_processed
from ics_model.mapping.icb_changes import ICB_GEOGRAPHY, check_crosswalk
from ics_model.mapping.icb_geography import build_geography, sub_icb_table, trust_hosts
from ics_model.mapping.successors import icb_table

ICB_CODES = pl.DataFrame(
    {
        "icb_code": ["QAA", "QBB", "QCC"],
        "icb_gss": ["E54000001", "E54000002", "E54000003"],
        "icb_name": ["NHS Alpha ICB", "NHS Beta ICB", "NHS Gamma ICB"],
    }
)
SUCC = pl.DataFrame(
    {
        "predecessor_code": ["QAA", "QCC", "QCC"],
        "successor_code": ["A1A1A", "A1A1A", "QBB"],
        "effective_date": [date(2026, 4, 1)] * 3,
    }
)
POPULATION = pl.DataFrame(
    {
        "sub_icb_code": ["01A", "02B", "03C", "04D"],
        "sub_icb_gss": ["E38000001", "E38000002", "E38000003", "E38000004"],
        "icb_gss": ["E54000001", "E54000002", "E54000003", "E54000003"],
        "population": [100, 200, 50, 70],
    }
)
LSOA_ICB = pl.DataFrame(
    {
        "lsoa11_code": [f"E0100000{i}" for i in range(1, 6)],
        "icb_gss": ["E54000001", "E54000002", "E54000003", "E54000003", "E54000003"],
    }
)
IMD = pl.DataFrame(
    {
        "lsoa11_code": [f"E0100000{i}" for i in range(1, 6)],
        "lad19_code": ["E07000001", "E07000002", "E07000003", "E07000004", "E07000004"],
        "lad19_name": ["La", "Lb", "L1", "L2", "L2"],
        "population_total": [10, 20, 30, 40, 30],
    }
)
ECCG = pl.DataFrame(
    {
        "org_code": ["01A", "02B", "03C", "04D", "R1R1R"],
        "kind": ["sub_icb_location"] * 4 + ["reporting_entity"],
        "icb_code": ["QAA", "QBB", "QCC", "QCC", "QCC"],
        "is_open": [True] * 5,
    }
)
_CW = ["area_type", "code", "name", "icb_code_2023", "icb_code_2026", "via", "evidence"]


def _crosswalk(rows):
    return pl.DataFrame(rows, schema=dict.fromkeys(_CW, pl.String), orient="row")


CROSSWALK = _crosswalk(
    [
        ("icb", "A1A1A", "NHS Alpha and Gamma ICB", None, "A1A1A", None, "test"),
        ("rtt_commissioner", "X9X9X", "new code", "QCC", "A1A1A", "X9X9X", "test"),
        ("sub_icb", "03C", "Gamma 03C", "QCC", "A1A1A", "03C", "test"),
        ("sub_icb", "04D", "Gamma 04D", "QCC", "QBB", "04D", "test"),
        ("lad", "E07000003", "L1", "QCC", "A1A1A", "03C", "test"),
        ("lad", "E07000004", "L2", "QCC", "QBB", "04D", "test"),
    ]
)
# Frimley-like: QCC's only sub-ICB 03C (120 people) splits below sub-ICB level
CUT_POPULATION = pl.DataFrame(
    {
        "sub_icb_code": ["01A", "02B", "03C"],
        "sub_icb_gss": ["E38000001", "E38000002", "E38000003"],
        "icb_gss": ["E54000001", "E54000002", "E54000003"],
        "population": [100, 200, 120],
    }
)
CUT_CROSSWALK = _crosswalk(
    [
        ("icb", "A1A1A", "NHS Alpha and Gamma ICB", None, "A1A1A", None, "test"),
        ("rtt_commissioner", "X9X9X", "new code", "QCC", "A1A1A", "X9X9X", "test"),
        ("sub_icb", "03C", "Gamma 03C", "QCC", None, None, "test"),
        ("lad", "E07000003", "L1", "QCC", "A1A1A", "X9X9X", "test"),
        ("lad", "E07000004", "L2", "QCC", "QBB", "02B", "test"),
    ]
)


def _geo(vintage, population=POPULATION, crosswalk=CROSSWALK, eccg=ECCG):
    return build_geography(
        vintage,
        icb_codes=ICB_CODES,
        successors=SUCC,
        crosswalk=crosswalk,
        eccg=eccg,
        population=population,
        lsoa_icb=LSOA_ICB,
        imd=IMD,
    )


def test_2026_splits_along_sub_icb_lines():
    g = _geo("2026")
    assert dict(g.icbs.select("icb_code", "icb_name").iter_rows()) == {
        "A1A1A": "NHS Alpha and Gamma ICB",
        "QBB": "NHS Beta ICB",
    }
    shares = {
        (a, b): s
        for a, b, s in g.splits.select("icb_code_2023", "icb_code_2026", "share").iter_rows()
    }
    assert shares == {("QCC", "A1A1A"): pytest.approx(0.3), ("QCC", "QBB"): pytest.approx(0.7)}
    subs = dict(g.sub_icbs.select("sub_icb_code", "icb_code").iter_rows())
    assert subs == {"01A": "A1A1A", "02B": "QBB", "03C": "A1A1A", "04D": "QBB"}
    # population is conserved: 100 + 50 in A1A1A, 200 + 70 in QBB
    assert dict(g.population.select("icb_code", "population").iter_rows()) == {
        "A1A1A": 150,
        "QBB": 270,
    }
    assert g.lsoas["icb_code"].to_list() == ["A1A1A", "QBB", "A1A1A", "QBB", "QBB"]
    comm = {r["org_code"]: r for r in g.commissioners.iter_rows(named=True)}
    assert comm["X9X9X"]["icb_code"] == "A1A1A" and "crosswalk" in comm["X9X9X"]["crosswalk_note"]
    assert comm["03C"]["icb_code"] == "A1A1A" and "split ICB QCC" in comm["03C"]["crosswalk_note"]
    assert comm["R1R1R"]["icb_code"] is None and "not guessed" in comm["R1R1R"]["crosswalk_note"]
    assert g.gp_notes.keys() == {"A1A1A", "QBB"} and "L1 (from QCC, 30.0%" in g.gp_notes["A1A1A"]
    assert g.flow_notes == {} and g.partial_flows == frozenset()


def test_2026_changes_table_says_what_cannot_be_placed():
    g = _geo("2026")
    ch = {(r["icb_code_2023"], r["icb_code"]): r for r in g.changes.iter_rows(named=True)}
    assert set(ch) == {("QAA", "A1A1A"), ("QBB", "QBB"), ("QCC", "A1A1A"), ("QCC", "QBB")}
    assert ch[("QAA", "A1A1A")]["change"] == "merged"
    assert "gains part of QCC (L1; 30.0%" in ch[("QAA", "A1A1A")]["note"]
    assert (
        ch[("QBB", "QBB")]["change"] == "same" and "gains part of QCC" in ch[("QBB", "QBB")]["note"]
    )
    part = ch[("QCC", "A1A1A")]
    assert part["change"] == "split" and part["population_share"] == pytest.approx(0.3)
    assert part["flows_placed"] and part["trusts_placed"] and part["boundary_drawn"]
    assert not part["gp_practices_placed"] and "sub-ICB 03C" in part["areas"]
    assert g.changes.columns == ICB_GEOGRAPHY.column_names


def test_split_below_sub_icb_level_is_apportioned_and_reported():
    g = _geo("2026", CUT_POPULATION, CUT_CROSSWALK)
    # 03C's 120 people go 30% / 70% by LSOA populations: a modelled apportionment
    pop = {r["icb_code"]: r for r in g.population.iter_rows(named=True)}
    assert pop["A1A1A"]["population"] == 100 + 36 and pop["QBB"]["population"] == 200 + 84
    assert "03C" in pop["A1A1A"]["note"] and "modelled" in pop["A1A1A"]["note"]
    parts = g.changes.filter(pl.col("icb_code_2023") == "QCC")
    assert not parts["boundary_drawn"].any() and parts["flows_placed"].all()
    assert parts["note"].str.contains("split below sub-ICB level").all()


def test_2023_places_the_crosswalked_code_and_notes_partial_flows():
    g = _geo("2023", CUT_POPULATION, CUT_CROSSWALK)
    assert g.icbs["icb_code"].to_list() == ["QAA", "QBB", "QCC"]
    comm = {r["org_code"]: r for r in g.commissioners.iter_rows(named=True)}
    assert comm["X9X9X"]["icb_code"] == "QCC"  # its area lies in 2023 QCC
    assert comm["03C"]["icb_code"] == "QCC" and comm["03C"]["crosswalk_note"] is None
    assert g.partial_flows == frozenset({"QCC"})
    assert "X9X9X (L1; 30.0%)" in g.flow_notes["QCC"]
    assert "02B (L2; 70.0%; counted in QBB)" in g.flow_notes["QCC"]
    # QBB's 02B holds L2's 70 people besides its own 20: 70 / 90
    assert "77.8% of its residents" in g.flow_notes["QBB"]
    assert g.changes.height == 3 and (g.changes["change"] == "same").all()
    qcc = g.changes.filter(pl.col("icb_code") == "QCC")["note"][0]
    assert "April 2026: split into A1A1A 30.0% (L1), QBB 70.0% (L2)" in qcc
    assert g.population["population"].sum() == 420


def test_crosswalk_disagreeing_with_succ_is_refused():
    bad = pl.concat(
        [
            CROSSWALK,
            _crosswalk(
                [
                    ("lad", "E07000009", "Lz", "QCC", "Z9Z9Z", None, "x"),
                    ("sub_icb", "01A", "Alpha", "QCC", "A1A1A", None, "x"),
                    ("lad", "E07000001", "La", "QAA", "QBB", None, "x"),
                ]
            ),
        ]
    )
    _, cmap = icb_table(ICB_CODES, SUCC, "2026")
    subs = sub_icb_table(POPULATION, ICB_CODES, cmap, CROSSWALK, "2026")
    problems = check_crosswalk(bad, cmap, SUCC, subs)
    assert problems == [
        "lad E07000009: Z9Z9Z is not a successor of QCC in succ",
        "sub_icb 01A: not a sub-ICB of QCC (QAA)",
        "lad E07000001: QAA maps to A1A1A in succ, not QBB",
    ]
    with pytest.raises(ValueError, match="disagrees with ODS"):
        _geo("2026", crosswalk=bad)
    with pytest.raises(ValueError, match="2023"):
        _geo("2030")


def test_trust_hosts_take_the_later_file_only_for_split_hosts():
    trusts = pl.DataFrame(
        {
            "org_code": ["T1", "T2", "T3", "T4"],
            "name": ["a", "b", "c", "d"],
            "icb_code": ["QCC", "QCC", "QAA", "QBB"],
            "is_open": [True] * 4,
        }
    )
    later = pl.DataFrame({"org_code": ["T1", "T3"], "icb_code": ["QBB", "QBB"]})
    _, cmap = icb_table(ICB_CODES, SUCC, "2026")
    out = trust_hosts(trusts, cmap, later)
    assert out["icb_code"].to_list() == ["QBB", None, "A1A1A", "QBB"]  # T3 follows succ
    assert "from ODS etr 2026" in out["host_note"][0] and "not guessed" in out["host_note"][1]


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real26():
    from ics_model.metrics.build import default_geography

    return default_geography("2026")


def test_real_2026_geography(real26):
    g = real26
    assert g.icbs.height == 36 and g.icbs["icb_gss"].null_count() == 6
    assert g.icbs.filter(pl.col("icb_code") == "S9B9J")["icb_name"][0] == (
        "NHS Surrey and Sussex Integrated Care Board"
    )
    frimley = {
        r["icb_code_2026"]: r
        for r in g.splits.filter(pl.col("icb_code_2023") == "QNQ").iter_rows(named=True)
    }
    assert frimley["S0E4D"]["population_2015"] == 413_520 and frimley["S0E4D"]["via"] == "U2G6B"
    assert frimley["S9B9J"]["population_2015"] == 150_992 and frimley["S9B9J"]["via"] == "92A"
    assert frimley["QRL"]["population_2015"] == 166_325 and frimley["QRL"]["via"] == "D9Y0V"
    assert round(frimley["S0E4D"]["share"], 3) == 0.566
    # every LSOA placed; England's mid-2022 population the same in both vintages
    assert g.lsoas["icb_code"].null_count() == 0
    pop23 = load_processed("sub_icb_population")["population"].sum()
    assert g.population["population"].sum() == pop23 == 57_106_398
    unmodelled = g.changes.filter(~pl.col("boundary_drawn"))
    assert sorted(unmodelled["icb_code"]) == ["QRL", "S0E4D", "S9B9J"]
    assert set(unmodelled["icb_code_2023"]) == {"QNQ"}
    no_gp = g.changes.filter(~pl.col("gp_practices_placed"))
    assert no_gp.height == 7 and set(no_gp["icb_code_2023"]) == {"QJG", "QM7", "QNQ"}
    assert g.changes.filter(pl.col("change") == "merged").height == 9


def test_real_crosswalk_districts_match_the_sub_icb_populations(real26):
    """The Essex districts of QJG and QM7 against 06T and 07H (mid-2015 vs mid-2022)."""
    g = real26
    parts = {
        (a, b): p
        for a, b, p in g.splits.select(
            "icb_code_2023", "icb_code_2026", "population_2015"
        ).iter_rows()
    }
    subs = dict(g.sub_icbs.select("sub_icb_code", "population").iter_rows())
    for old, sub in (("QJG", "06T"), ("QM7", "07H")):
        ratio = parts[(old, "D7T5G")] / subs[sub]
        assert 0.9 < ratio < 1.0, (old, ratio)  # LSOA populations are seven years older
