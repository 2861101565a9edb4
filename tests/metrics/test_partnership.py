"""Partnership metrics (patient-flow interdependence): a hand-computed toy network and real data."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ics_model.contracts import DataContractError
from ics_model.data.build import load_processed
from ics_model.data.ods import SubIcbKind
from ics_model.data.rtt import PartType
from ics_model.metrics.partnership import (
    PROVIDER_PARTNERSHIP,
    PROXY_LABEL,
    ics_flow_matrix,
    ics_partnership_metrics,
    provider_partnership_metrics,
)
from ics_model.metrics.partnership_catalogue import (
    DEFAULT_DIRECTIONS,
    PARTNERSHIP_CATALOGUE,
    partnership_catalogue,
    resolve_directions,
)
from ics_model.metrics.partnership_inputs import category_totals, flow_table
from ics_model.metrics.user_indicators import join_user_indicators, read_user_indicators

ROOT = Path(__file__).resolve().parents[2]
PERIOD = "RTT-January-2030"

TRUSTS = pl.DataFrame(
    [
        ("RA1", "ALPHA HOSPITALS NHS TRUST", "QAA", True),
        ("RA2", "ALPHA MENTAL HEALTH NHS TRUST", "QAA", True),
        ("RZ9", "ZETA NHS TRUST", "QAA", False),
        ("RB1", "BETA NHS FOUNDATION TRUST", "QBB", True),
        ("RC1", "GAMMA HOSPITALS NHS TRUST", "QCC", True),
        ("RC2", "GAMMA UNIVERSITY HOSPITALS NHS TRUST", "QCC", True),
        ("RD1", "DELTA HOSPITAL NHS TRUST", "QDD", True),
    ],
    schema=["org_code", "name", "icb_code", "is_open"],
    orient="row",
)
SUB_ICBS = pl.DataFrame(
    [
        ("01A", "NHS ALPHA ICB - 01A", "sub_icb_location", "QAA", True),
        ("02B", "NHS BETA ICB - 02B", "sub_icb_location", "QBB", True),
        ("03C", "NHS GAMMA ICB - 03C", "sub_icb_location", "QCC", True),
        ("04D", "NHS DELTA ICB - 04D", "sub_icb_location", "QDD", True),
        ("A1B2C", "GAMMA NORTH - SUB-ICB REPORTING ENTITY", "reporting_entity", "QCC", True),
        ("13Q", "NATIONAL COMMISSIONING HUB 1", "commissioning_hub", "QWO", True),
    ],
    schema=["org_code", "name", "kind", "icb_code", "is_open"],
    orient="row",
).with_columns(pl.col("kind").cast(SubIcbKind))
ICBS = pl.DataFrame(
    {"icb_code": ["QAA", "QBB", "QCC", "QDD"], "icb_name": ["Alpha", "Beta", "Gamma", "Delta"]}
)
PROVIDER_NAMES = {
    "NT1": "EXAMPLE SURGICAL LTD",
    "TAD": "BRADFORD DISTRICT CARE NHS FOUNDATION TRUST",
}
PARENTS = {"01A": "QAA", "02B": "QBB", "03C": "QCC", "A1B2C": "QCC", "U2G6B": "S0E4D"}

WAITING = [  # (provider, commissioner, pathways): Part_2, C_999
    ("RA1", "01A", 800),
    ("RB1", "01A", 100),
    ("NT1", "01A", 100),
    ("RB1", "02B", 500),
    ("RA1", "02B", 300),
    ("RC1", "02B", 200),
    ("RC1", "03C", 600),
    ("RC1", "A1B2C", 200),
    ("RB1", "03C", 40),
    ("NT1", "03C", 110),
    ("TAD", "03C", 50),
    ("RA1", "13Q", 50),
    ("RB1", "NONC", 30),
    ("RC1", "Y56", 20),
    ("RA1", "U2G6B", 10),
    ("RD1", "U2G6B", 5),
]
OTHER = [  # (provider, commissioner, part, treatment function, pathways): never in Part_2 C_999
    ("RA1", "01A", "Part_2A", "C_999", 400),
    ("RA1", "01A", "Part_2", "C_110", 300),
    ("RA1", "01A", "Part_1A", "C_999", 10),
    ("RA1", "01A", "Part_1B", "C_999", 20),
    ("RA1", "02B", "Part_1B", "C_999", 5),
    ("RA1", "01A", "Part_3", "C_999", 99),
]


def toy_flows(period: str = PERIOD) -> pl.DataFrame:
    names = dict(zip(TRUSTS["org_code"], TRUSTS["name"], strict=True)) | PROVIDER_NAMES
    rows = [(p, c, "Part_2", "C_999", n) for p, c, n in WAITING] + OTHER
    return pl.DataFrame(
        [
            (period, p, names[p], PARENTS.get(c), c, f"COMMISSIONER {c}", part, tf, n, i + 2)
            for i, (p, c, part, tf, n) in enumerate(rows)
        ],
        schema={
            "period": pl.String,
            "provider_code": pl.String,
            "provider_name": pl.String,
            "commissioner_parent_code": pl.String,
            "commissioner_code": pl.String,
            "commissioner_name": pl.String,
            "part_type": pl.String,
            "treatment_function_code": pl.String,
            "pathways": pl.Int64,
            "source_row": pl.Int64,
        },
        orient="row",
    ).with_columns(pl.col("part_type").cast(PartType))


@pytest.fixture(scope="module")
def toy():
    return flow_table(toy_flows(), TRUSTS, SUB_ICBS)


def by(frame: pl.DataFrame, key: str) -> dict[str, dict]:
    return {r[key]: r for r in frame.iter_rows(named=True)}


# --------------------------------------------------------------------------- toy network


def test_categories_and_conservation(toy):
    f = toy.flows
    assert toy.input_pathways == 3115 == f["pathways"].sum()
    assert category_totals(toy)["pathways"].sum() == 3115
    cats = by(
        f.group_by("commissioner_code").agg(pl.col("commissioner_category").first()),
        "commissioner_code",
    )
    assert {c: str(r["commissioner_category"]) for c, r in cats.items()} == {
        "01A": "sub_icb",
        "02B": "sub_icb",
        "03C": "sub_icb",
        "A1B2C": "reporting_entity",
        "13Q": "commissioning_hub",
        "NONC": "non_geographic",
        "Y56": "non_geographic",
        "U2G6B": "unmapped_geographic",
    }
    # the hub's eccg parent (QWO) is never used as a resident ICS
    assert f.filter(pl.col("commissioner_code") == "13Q")["resident_icb_code"].is_null().all()
    assert f.filter(pl.col("commissioner_code") == "A1B2C")["resident_icb_code"].to_list() == [
        "QCC"
    ]
    prov = dict(
        f.select("provider_code", pl.col("provider_category").cast(pl.String)).unique().iter_rows()
    )
    assert prov == {
        "RA1": "nhs_trust",
        "RB1": "nhs_trust",
        "RC1": "nhs_trust",
        "RD1": "nhs_trust",
        "NT1": "independent_sector",
        "TAD": "unknown_nhs",
    }
    assert set(f["part_type"].cast(pl.String)) == {"Part_2"}


def test_coverage_report_lists_every_unplaced_code(toy):
    cov = by(toy.coverage, "code")
    assert set(cov) == {"13Q", "NONC", "Y56", "U2G6B", "NT1", "TAD"}
    assert cov["U2G6B"]["pathways"] == 15 and "S0E4D" in cov["U2G6B"]["reason"]
    assert cov["13Q"]["category"] == "commissioning_hub" and not cov["13Q"]["placed"]
    assert cov["NT1"]["pathways"] == 210 and cov["TAD"]["category"] == "unknown_nhs"
    unplaced = toy.flows.filter(pl.col("resident_icb_code").is_null())["pathways"].sum()
    assert toy.coverage.filter(pl.col("code_type") == "commissioner")["pathways"].sum() == unplaced


def test_crosswalked_code_is_placed_with_its_note():
    """A crosswalk row (as mapping.icb_geography.commissioner_table adds) places U2G6B."""
    note = "April 2026 code placed in QDD through the ICB crosswalk (test)"
    crosswalked = pl.concat(
        [
            SUB_ICBS.select("org_code", pl.col("kind").cast(pl.String), "icb_code", "is_open"),
            pl.DataFrame(
                [("U2G6B", "sub_icb_location", "QDD", True)],
                schema=["org_code", "kind", "icb_code", "is_open"],
                orient="row",
            ),
        ]
    ).with_columns(
        pl.when(pl.col("org_code") == "U2G6B").then(pl.lit(note)).alias("crosswalk_note")
    )
    t = flow_table(toy_flows(), TRUSTS, crosswalked)
    u2 = t.flows.filter(pl.col("commissioner_code") == "U2G6B")
    assert set(u2["commissioner_category"].cast(pl.String)) == {"sub_icb"}
    assert set(u2["resident_icb_code"]) == {"QDD"}
    cov = by(t.coverage, "code")
    assert cov["U2G6B"]["placed"] and cov["U2G6B"]["reason"] == note
    m = by(
        ics_partnership_metrics(
            t, ICBS, data_notes={"QDD": "flows cover part of QDD"}, partial=["QDD"]
        ),
        "icb_code",
    )
    # QDD's residents: 10 pathways at RA1 (QAA), 5 at RD1 (QDD, home)
    assert m["QDD"]["resident_pathways"] == 15
    assert m["QDD"]["self_containment"] == pytest.approx(5 / 15)
    assert m["QDD"]["share_other_ics_trusts"] == pytest.approx(10 / 15)
    assert not m["QDD"]["complete"] and "flows cover part of QDD" in m["QDD"]["note"]
    assert m["QAA"]["complete"]


def test_inputs_not_mutated():
    flows = toy_flows()
    before = (flows.clone(), TRUSTS.clone(), SUB_ICBS.clone())
    flow_table(flows, TRUSTS, SUB_ICBS)
    for a, b in zip((flows, TRUSTS, SUB_ICBS), before, strict=True):
        assert_frame_equal(a, b)


def test_flow_matrix(toy):
    m = ics_flow_matrix(toy)
    cells = {(r["resident_icb_code"], r["provider_icb_code"]): r for r in m.iter_rows(named=True)}
    assert cells[("QAA", "QAA")]["share_of_resident"] == pytest.approx(0.8)
    assert cells[("QAA", "QAA")]["is_home"]
    assert cells[("QAA", "independent_sector")]["pathways"] == 100
    assert cells[("QCC", "unknown_nhs")]["pathways"] == 50
    assert cells[("QCC", "QCC")]["pathways"] == 800  # sub-ICB 600 + reporting entity 200
    sums = m.group_by("resident_icb_code").agg(pl.col("share_of_resident").sum())
    assert sums["share_of_resident"].to_list() == pytest.approx([1.0] * sums.height)
    assert m["pathways"].sum() == 3000  # hubs, non-geographic and unmapped are not residents


def test_ics_metrics_by_hand(toy):
    m = by(ics_partnership_metrics(toy, ICBS), "icb_code")
    assert set(m) == {"QAA", "QBB", "QCC", "QDD"}
    a, b, c, d = m["QAA"], m["QBB"], m["QCC"], m["QDD"]
    assert (a["self_containment"], a["share_other_ics_trusts"]) == pytest.approx((0.8, 0.1))
    assert a["share_independent_sector"] == pytest.approx(0.1)
    assert (b["self_containment"], b["share_other_ics_trusts"]) == pytest.approx((0.5, 0.5))
    assert c["self_containment"] == pytest.approx(0.8)
    assert (c["share_independent_sector"], c["share_unknown_nhs"]) == pytest.approx((0.11, 0.05))
    assert [a["n_partner_icss"], b["n_partner_icss"], c["n_partner_icss"]] == [1, 2, 0]
    assert b["partner_icss"] == "QAA, QCC" and c["partner_icss"] is None
    # inflow: pathways at hosted trusts from other ICSs' residents / placed residents there
    assert a["inflow_share"] == pytest.approx(300 / 1100)
    assert b["inflow_share"] == pytest.approx(140 / 640)
    assert c["inflow_share"] == pytest.approx(0.2)
    assert a["hub_share_at_hosted"] == pytest.approx(50 / 1160)
    assert a["unplaced_share_at_hosted"] == pytest.approx(10 / 1160)
    assert b["unplaced_share_at_hosted"] == pytest.approx(30 / 670)
    assert (a["hosted_pathways"], a["hosted_geographic_pathways"]) == (1160, 1100)
    assert [m[k]["n_trusts_hosted"] for k in ("QAA", "QBB", "QCC", "QDD")] == [2, 1, 2, 1]
    assert a["trusts_without_flows"] == "RA2" and a["complete"]  # mental health by name
    assert c["trusts_without_flows"] == "RC2" and not c["complete"]  # named like acute
    assert "RC2" in c["note"]
    assert b["complete"] and b["note"] is None
    # an ICS whose sub-ICB has no rows: null metrics with a note, inflow too
    assert d["resident_pathways"] == 0 and d["self_containment"] is None
    assert d["inflow_share"] is None and d["n_partner_icss"] is None and not d["complete"]
    assert "no resident flows" in d["note"]
    assert {r["construct"] for r in m.values()} == {PROXY_LABEL}


def test_partner_threshold_is_configurable(toy):
    m = by(ics_partnership_metrics(toy, ICBS, partner_threshold=0.25), "icb_code")
    assert m["QBB"]["n_partner_icss"] == 1 and m["QBB"]["partner_icss"] == "QAA"
    with pytest.raises(ValueError, match="between 0 and 1"):
        ics_partnership_metrics(toy, ICBS, partner_threshold=1.5)


def test_provider_metrics_by_hand(toy):
    p = by(provider_partnership_metrics(toy), "provider_id")
    assert set(p) == {"RA1", "RA2", "RB1", "RC1", "RC2", "RD1"}  # open English trusts
    ra1, rb1, rc1 = p["RA1"], p["RB1"], p["RC1"]
    assert ra1["home_system_share"] == pytest.approx(8 / 11)
    assert ra1["n_commissioning_icss"] == 2
    assert ra1["hhi_commissioning_icss"] == pytest.approx(73 / 121)
    assert (ra1["total_pathways"], ra1["geographic_pathways"]) == (1160, 1100)
    assert ra1["hub_share"] == pytest.approx(50 / 1160)
    assert rb1["home_system_share"] == pytest.approx(500 / 640)
    assert rb1["n_commissioning_icss"] == 3
    assert rb1["hhi_commissioning_icss"] == pytest.approx((100**2 + 500**2 + 40**2) / 640**2)
    assert (rc1["home_system_share"], rc1["hhi_commissioning_icss"]) == pytest.approx((0.8, 0.68))
    assert (
        provider_partnership_metrics(toy, threshold=0.1)
        .filter(pl.col("provider_id") == "RB1")["n_commissioning_icss"]
        .item()
        == 2
    )
    for code in ("RA2", "RC2"):  # no flows: null with a reason
        assert not p[code]["has_flows"] and p[code]["home_system_share"] is None
        assert p[code]["total_pathways"] is None and "no RTT rows" in p[code]["note"]
    assert "mental health" in p["RA2"]["note"] and "acute" in p["RC2"]["note"]
    # host ICB without resident flows: home residents cannot be identified
    assert p["RD1"]["has_flows"] and p["RD1"]["home_system_share"] is None
    assert "QDD" in p["RD1"]["note"]
    assert PROVIDER_PARTNERSHIP.key == ("provider_id",)


def test_completed_pathways_and_errors():
    done = flow_table(toy_flows(), TRUSTS, SUB_ICBS, part="completed")
    assert done.part_types == ("Part_1A", "Part_1B") and done.input_pathways == 35
    m = by(ics_partnership_metrics(done, ICBS), "icb_code")
    assert m["QAA"]["self_containment"] == 1.0 and m["QBB"]["share_other_ics_trusts"] == 1.0
    with pytest.raises(ValueError, match="part must be"):
        flow_table(toy_flows(), TRUSTS, SUB_ICBS, part="waiting")
    with pytest.raises(ValueError, match="C_100"):
        flow_table(toy_flows(), TRUSTS, SUB_ICBS, treatment_function="C_100")
    two = pl.concat([toy_flows(), toy_flows("RTT-February-2030")])
    with pytest.raises(ValueError, match="one RTT period"):
        flow_table(two, TRUSTS, SUB_ICBS)


def test_known_non_submitters_break_completeness():
    t = flow_table(toy_flows(), TRUSTS, SUB_ICBS, known_non_submitters={"RA2": "example note"})
    row = by(t.trusts, "org_code")["RA2"]
    assert str(row["flow_status"]) == "known_non_submitter" and row["critical"]
    assert "example note" in row["reason"]
    assert not by(ics_partnership_metrics(t, ICBS), "icb_code")["QAA"]["complete"]


def test_directions_and_catalogue():
    assert set(DEFAULT_DIRECTIONS.values()) <= {"higher_is_better", "lower_is_better", "neutral"}
    custom = resolve_directions({"self_containment": "lower_is_better"})
    assert custom["self_containment"] == "lower_is_better"
    assert DEFAULT_DIRECTIONS["self_containment"] == "higher_is_better"  # default untouched
    with pytest.raises(ValueError, match="unknown partnership metric"):
        resolve_directions({"not_a_metric": "neutral"})
    with pytest.raises(ValueError, match="direction must be"):
        resolve_directions({"self_containment": "up"})
    keys = {"metric", "label", "level", "definition", "numerator", "denominator", "unit"}
    keys |= {"direction", "source", "vintage"}
    assert all(set(e) == keys and PROXY_LABEL in e["label"] for e in PARTNERSHIP_CATALOGUE)
    assert {e["metric"] for e in PARTNERSHIP_CATALOGUE} == set(DEFAULT_DIRECTIONS)
    entry = {e["metric"]: e for e in partnership_catalogue({"inflow_share": "higher_is_better"})}
    assert entry["inflow_share"]["direction"] == "higher_is_better"


# --------------------------------------------------------------------------- user indicators

GOOD = """level,code,indicator,value,vintage,source,note
provider,RA1,provider_collaborative_member,1,2030,test,fictional
provider,RB1,provider_collaborative_member,0,2030,test,fictional
provider,RX1,provider_collaborative_member,1,2030,test,fictional: not in the frame
icb,QAA,partnerships_and_communities_score,3,2030,test,fictional
"""

BAD = """level,code,indicator,value
trust,RA1,provider_collaborative_member,1
provider,ra1,provider_collaborative_member,1
icb,E54000008,partnerships_and_communities_score,2
provider,RB1,provider_collaborative_member,high
icb,QAA,partnerships_and_communities_score,3
icb,QAA,partnerships_and_communities_score,4
provider,RC1,Score-1,1
provider,RC1,ok_indicator,
"""


def test_user_indicators_join(toy, tmp_path, caplog):
    path = tmp_path / "ind.csv"
    path.write_text(GOOD)
    loaded = read_user_indicators(path)
    assert loaded.frame.height == 4 and loaded.frame["value"].dtype == pl.Float64
    prov = provider_partnership_metrics(toy)
    with caplog.at_level("WARNING"):
        joined = by(join_user_indicators(prov, loaded, "provider"), "provider_id")
    assert "RX1" in caplog.text
    assert joined["RA1"]["provider_collaborative_member"] == 1.0
    assert joined["RB1"]["provider_collaborative_member"] == 0.0
    assert joined["RC1"]["provider_collaborative_member"] is None
    ics = join_user_indicators(ics_partnership_metrics(toy, ICBS), loaded.frame, "icb")
    assert by(ics, "icb_code")["QAA"]["partnerships_and_communities_score"] == 3.0
    assert ics.height == 4 and "provider_collaborative_member" not in ics.columns
    with pytest.raises(ValueError, match="clash"):
        join_user_indicators(
            prov.rename({"note": "provider_collaborative_member"}), loaded, "provider"
        )


def test_user_indicators_bad_file_lists_every_violation(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD)
    with pytest.raises(DataContractError) as err:
        read_user_indicators(path)
    v = err.value.violations
    found = {(r, c) for r, c in v.select("row", "column").iter_rows()}
    assert {(2, "level"), (3, "code"), (4, "code"), (5, "value"), (8, "indicator")} <= found
    assert (9, "value") in found  # empty value
    assert any(c == "level+code+indicator" and r in (6, 7) for r, c in found)
    assert "row 5" in str(err.value)
    lenient = read_user_indicators(path, mode="lenient")
    assert lenient.frame.height + lenient.quarantine.height == lenient.n_input_rows == 8


def test_example_file_is_fictional_and_valid():
    loaded = read_user_indicators(ROOT / "configs" / "examples" / "user_partnership_indicators.csv")
    assert set(loaded.frame["level"]) == {"provider", "icb"}
    assert loaded.frame.height == 5
    assert all("FICTIONAL" in n for n in loaded.frame["note"])


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real():
    flows = load_processed("rtt_flows")
    table = flow_table(flows, load_processed("ods_trusts_2025"), load_processed("ods_sub_icbs"))
    return flows, table, load_processed("icb_codes")


def test_real_totals_conserved(real):
    flows, table, _ = real
    raw = flows.filter(
        (pl.col("part_type") == "Part_2") & (pl.col("treatment_function_code") == "C_999")
    )["pathways"].sum()
    assert raw == 7_123_980 == table.input_pathways == table.flows["pathways"].sum()
    assert category_totals(table)["pathways"].sum() == 7_123_980
    matrix = ics_flow_matrix(table)["pathways"].sum()
    unplaced = table.flows.filter(pl.col("resident_icb_code").is_null())["pathways"].sum()
    assert matrix + unplaced == 7_123_980
    cov = table.coverage.filter(pl.col("code_type") == "commissioner")
    assert cov["pathways"].sum() == unplaced  # every unplaced commissioner is reported
    assert {"NONC", "U2G6B", "13Q", "Y56"} <= set(cov["code"])


def test_real_ics_metrics(real):
    _, table, icb_codes = real
    m = ics_partnership_metrics(table, icb_codes)
    assert m.height == 42 and m["icb_code"].n_unique() == 42
    shares = ["self_containment", "share_other_ics_trusts", "share_independent_sector"]
    for col in [*shares, "inflow_share", "hub_share_at_hosted"]:
        s = m[col].drop_nulls()
        assert s.min() >= 0 and s.max() <= 1
    placed = m.filter(pl.col("self_containment").is_not_null())
    total = placed.select(pl.sum_horizontal(*shares, "share_unknown_nhs")).to_series()
    assert all(math.isclose(x, 1.0) for x in total)
    rows = by(m, "icb_code")
    qnq = rows["QNQ"]
    assert qnq["self_containment"] is None and qnq["inflow_share"] is None
    assert not qnq["complete"] and "D4U1Y" in qnq["note"]
    assert "RHQ" in rows["QF7"]["trusts_without_flows"] and not rows["QF7"]["complete"]
    assert "RA9" in rows["QJK"]["trusts_without_flows"] and not rows["QJK"]["complete"]
    assert m.filter(pl.col("self_containment").is_null())["icb_code"].to_list() == ["QNQ"]


def test_real_provider_metrics(real):
    _, table, _ = real
    p = provider_partnership_metrics(table)
    assert p.height == 202  # open English trusts of ODS etr 2025
    rows = by(p, "provider_id")
    for code in ("RHQ", "RA9"):
        assert not rows[code]["has_flows"] and rows[code]["home_system_share"] is None
        assert "did not submit" in rows[code]["note"]
    assert rows["RDU"]["home_system_share"] is None and "QNQ" in rows["RDU"]["note"]
    with_flows = p.filter(pl.col("home_system_share").is_not_null())
    assert with_flows.height > 140
    assert with_flows["hhi_commissioning_icss"].min() > 0
