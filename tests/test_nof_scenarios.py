"""NOF scenarios: specs (kind nof), runs on hand frames, sweeps, properties and real data.

Hand frame (edges of nof_2025_26: 2.095 / 2.355 / 2.70, deficit cap 3; lower is better):

====  =====  ======  =======  ========================================
code  ICS    score   deficit  baseline segment
====  =====  ======  =======  ========================================
T1    QE1    1.83    yes      score 1, capped at 3
T2    QE1    2.10    no       2 (2.10 > 2.095)
T3    QE1    2.50    yes      3 (score 3; cap not binding)
T7    QE1    1.50    no       1
T4    QF7    2.05    no       1
T5    QF7    2.80    yes      4
T6    QHM    2.00    no       1 (its ICS has no indicator)
M1    QHM    --      --       not scored (no league-table score)
====  =====  ======  =======  ========================================
"""

import dataclasses
import re

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_model.config import ConfigError, RunConfig
from ics_model.contracts import validate
from ics_model.rules.rulesets import Gate
from ics_model.scenarios import (
    NOF_CHANGES,
    NOF_LOWER_IS_BETTER_NOTE,
    NOF_MODELLED_NOTE,
    NOF_SWEEP_COLUMNS,
    SYSTEM_GATE_NOTE,
    NofScenarioSpec,
    ScenarioSpec,
    available_scenarios,
    get_gate_scenario,
    get_nof_scenario,
    get_scenario,
    indicator_frames,
    load_scenario,
    nof_sweep,
    run_nof_scenario,
    run_scenario,
    scenario_from_dict,
    scenarios_dir,
)
from ics_model.scenarios.contracts import (
    NOF_GATE_COLUMN_FAMILIES,
    NOF_SCENARIO_BY_ICS,
    NOF_SCENARIO_NATIONAL,
    NOF_SCENARIO_SWEEP,
    NOF_SCENARIO_TRUSTS,
)
from ics_model.scenarios.nof_spec import NofGate

CODES = ["T1", "T2", "T3", "T7", "T4", "T5", "T6", "M1"]
PLACED = pl.DataFrame(
    {
        "org_code": CODES,
        "org_name": [f"trust {c}" for c in CODES],
        "nhs_trust_type": ["Acute trust"] * 7 + ["Mental health and community trust"],
        "icb_code": ["QE1"] * 4 + ["QF7"] * 2 + ["QHM"] * 2,
        "icb_name": ["Lancashire"] * 4 + ["South Yorkshire"] * 2 + ["North East"] * 2,
        "data_month": ["2026-03"] * 8,
        "league_avg_score": [1.83, 2.10, 2.50, 1.50, 2.05, 2.80, 2.00, None],
        "league_in_deficit": [True, False, True, False, False, True, False, None],
        "league_segment": [3, 2, 3, 1, 1, 4, 1, None],
        "adjusted_segment": [3, 2, 3, 1, 1, 4, 1, 2],
    }
)
ICB = pl.DataFrame({"icb_code": ["QE1", "QF7"], "self_containment": [0.75, 0.85]})
PROV = pl.DataFrame({"provider_id": ["T4", "T6", "T7"], "home_system_share": [0.9, 0.2, 0.4]})
IND = {"provider_indicators": PROV, "icb_indicators": ICB}


def _spec(**kw):
    return scenario_from_dict({"kind": "nof", "name": "t", **kw})


def _gate(threshold=0.8, scope="icb", best=2, name="sc", indicator=None, op=">="):
    indicator = indicator or ("self_containment" if scope == "icb" else "home_system_share")
    return {
        "name": name,
        "indicator": indicator,
        "scope": scope,
        "op": op,
        "threshold": threshold,
        "best_segment": best,
    }


def _after(result):
    return dict(result.trusts.select("org_code", "segment_after").rows())


def _changes(result):
    return dict(result.trusts.select("org_code", "change").rows())


def _national(result):
    return result.national.row(0, named=True)


def _check_contracts(result, sweep=None):
    gate_cols = [c for c in result.trusts.columns if c not in NOF_SCENARIO_TRUSTS.column_names]
    extra = [
        dataclasses.replace(template, name=col)
        for col in gate_cols
        for pattern, template in NOF_GATE_COLUMN_FAMILIES
        if re.fullmatch(pattern, col)
    ]
    assert len(extra) == len(gate_cols)
    trusts = dataclasses.replace(
        NOF_SCENARIO_TRUSTS, columns=(*NOF_SCENARIO_TRUSTS.columns, *extra)
    )
    validate(result.trusts, trusts)
    validate(result.by_ics, NOF_SCENARIO_BY_ICS)
    validate(result.national, NOF_SCENARIO_NATIONAL)
    if sweep is not None:
        validate(sweep, NOF_SCENARIO_SWEEP)


def _check_reconciles(result):
    t, n = result.trusts, _national(result)
    assert n["n_trusts"] == t.height
    assert n["n_better"] + n["n_worse"] == n["n_changed"]
    counts = t["change"].value_counts()
    seen = dict(zip(counts["change"], counts["count"], strict=True))
    assert set(seen) <= set(NOF_CHANGES)
    assert (
        seen.get("same", 0) + n["n_changed"] + n["n_not_assessable"] + seen.get("not_scored", 0)
        == n["n_trusts"]
    )
    after = sum(n[f"n_segment_{k}_after"] for k in range(1, 6))
    before = sum(n[f"n_segment_{k}_before"] for k in range(1, 6))
    assert before == n["n_scored"] and after == n["n_scored"] - n["n_not_assessable"]
    summed = result.by_ics.drop("icb_code", "icb_name", "share_changed").sum()
    assert summed.row(0, named=True) == {k: n[k] for k in summed.columns}


# --------------------------------------------------------------------------- hand frames


def test_baseline_reproduces_the_published_segments_and_reports_unscored_trusts():
    res = run_nof_scenario(PLACED, _spec(changes={"deficit_cap": 3}))  # the published cap
    t = res.trusts
    assert t.filter(pl.col("segment_before").is_not_null())["segment_before"].to_list() == (
        t.filter(pl.col("segment_published").is_not_null())["segment_published"].to_list()
    )
    assert set(_changes(res).values()) == {"same", "not_scored"}
    m1 = t.filter(pl.col("org_code") == "M1").row(0, named=True)
    assert m1["change"] == "not_scored" and m1["segment_after"] is None
    assert "no league_avg_score" in m1["reason"] and "published adjusted segment 2" in m1["reason"]
    assert _national(res)["n_scored"] == 7 and _national(res)["n_changed"] == 0
    assert any("1 trust(s) have no league_avg_score" in n for n in res.notes)
    _check_reconciles(res)
    _check_contracts(res)


def test_removing_the_cap_frees_the_capped_trust_only():
    res = run_nof_scenario(PLACED, _spec(changes={"deficit_cap": None}))
    assert _changes(res) == {
        "T1": "better",  # 1.83: segment 1 without the cap (published 3)
        "T2": "same",
        "T3": "same",  # score 2.50 is segment 3 anyway
        "T7": "same",
        "T4": "same",
        "T5": "same",
        "T6": "same",
        "M1": "not_scored",
    }
    assert _after(res)["T1"] == 1
    t1 = res.trusts.filter(pl.col("org_code") == "T1")["reason"].item()
    assert t1 == (
        "score 1.83 -> segment 1 by the edges 2.095/2.355/2.7; in deficit: no cap; "
        "segment 3 (published 3) -> 1"
    )
    by_ics = {r["icb_code"]: r for r in res.by_ics.to_dicts()}
    assert by_ics["QE1"]["n_changed"] == by_ics["QE1"]["n_better"] == 1
    assert by_ics["QE1"]["n_segment_1_before"] == 1 and by_ics["QE1"]["n_segment_1_after"] == 2
    assert by_ics["QE1"]["share_changed"] == pytest.approx(1 / 4)
    assert by_ics["QHM"]["n_scored"] == 1 and by_ics["QHM"]["share_changed"] == 0.0
    n = _national(res)
    assert (n["n_changed"], n["n_ics"], n["n_ics_changed"]) == (1, 3, 1)
    assert NOF_MODELLED_NOTE in res.notes and NOF_LOWER_IS_BETTER_NOTE in res.notes
    assert any("deficit cap is removed" in x for x in res.notes)
    _check_reconciles(res)
    _check_contracts(res)


@pytest.mark.parametrize(
    ("cap", "expected"),
    [
        (1, {"T1": 1}),  # cap 1 binds nobody: the same as no cap
        (2, {"T1": 2}),
        (4, {"T1": 4, "T3": 4}),  # both deficit trusts better than 4 drop to 4
    ],
)
def test_moving_the_cap(cap, expected):
    res = run_nof_scenario(PLACED, _spec(changes={"deficit_cap": cap}))
    base = {"T1": 3, "T2": 2, "T3": 3, "T7": 1, "T4": 1, "T5": 4, "T6": 1, "M1": None}
    assert _after(res) == base | expected


def test_new_edges():
    # segment 1 needs 2.0 or better: T4 (2.05) drops to 2, T6 (2.00) stays at 1
    res = run_nof_scenario(PLACED, _spec(changes={"cuts": [2.0, 2.355, 2.70]}))
    assert {k: v for k, v in _changes(res).items() if v not in ("same", "not_scored")} == {
        "T4": "worse"
    }
    assert any("edges move from 2.095/2.355/2.7 to 2/2.355/2.7" in x for x in res.notes)


def test_system_gate_segment_1_needs_self_containment():
    res = run_nof_scenario(PLACED, _spec(gates=[_gate(0.8)]), **IND)
    t = {r["org_code"]: r for r in res.trusts.to_dicts()}
    # T7: segment 1 in QE1 (0.75 < 0.8) -> no better than 2
    assert (t["T7"]["segment_after"], t["T7"]["change"], t["T7"]["sc_status"]) == (
        2,
        "worse",
        "capped",
    )
    assert t["T7"]["sc_value"] == 0.75
    assert (
        "sc: ICS self_containment 0.75 >= 0.8 fails: no better than segment 2"
        in (t["T7"]["reason"])
    )
    # T4: segment 1 in QF7 (0.85) passes
    assert (t["T4"]["segment_after"], t["T4"]["sc_status"]) == (1, "passed")
    # T6: segment 1 but its ICS (QHM) has no value: not assessable, never passed or capped
    assert (t["T6"]["segment_after"], t["T6"]["change"], t["T6"]["sc_status"]) == (
        None,
        "not_assessable",
        "not_assessable",
    )
    # T2 is segment 2 already, T1 capped at 3: the gate cannot change them
    assert t["T2"]["sc_status"] == t["T1"]["sc_status"] == "not_applicable"
    assert t["M1"]["sc_status"] == "not_applicable" and t["M1"]["change"] == "not_scored"
    n = _national(res)
    assert (n["n_changed"], n["n_worse"], n["n_not_assessable"]) == (1, 1, 1)
    assert (n["n_segment_1_before"], n["n_segment_1_after"]) == (3, 1)
    assert SYSTEM_GATE_NOTE.replace("provider", "trust") in res.notes
    assert any("1 trust(s) are not assessable" in x for x in res.notes)
    _check_reconciles(res)
    _check_contracts(res)


def test_provider_gate_with_best_segment_3():
    gate = _gate(0.5, scope="provider", best=3, name="home")
    res = run_nof_scenario(PLACED, _spec(gates=[gate]), **IND)
    # T7 (0.4) fails, T6 (0.2) fails, T4 (0.9) passes; T2 (segment 2) has no value -> NA
    assert _after(res) | {"M1": None} == {
        "T1": 3,
        "T2": None,
        "T3": 3,
        "T7": 3,
        "T4": 1,
        "T5": 4,
        "T6": 3,
        "M1": None,
    }
    assert _changes(res)["T2"] == "not_assessable"
    assert _national(res)["n_worse"] == 2


def test_two_gates_a_known_failure_settles_a_missing_indicator():
    # T6: home 0.2 fails (best 3); its ICS has no self_containment (best 2): the missing
    # value cannot change segment 3, so T6 is assessable
    gates = [_gate(0.5, scope="provider", best=3, name="home"), _gate(0.8)]
    res = run_nof_scenario(PLACED, _spec(gates=gates), **IND)
    t6 = res.trusts.filter(pl.col("org_code") == "T6").row(0, named=True)
    assert (t6["segment_after"], t6["home_status"], t6["sc_status"]) == (
        3,
        "capped",
        "not_applicable",
    )
    t7 = res.trusts.filter(pl.col("org_code") == "T7").row(0, named=True)
    assert (t7["segment_after"], t7["home_status"], t7["sc_status"]) == (
        3,
        "capped",
        "not_applicable",
    )
    _check_reconciles(res)


def test_intensive_support_overrides_and_a_missing_deficit_flag_reads_as_none():
    frame = PLACED.with_columns(
        intensive_support=pl.col("org_code") == "T7",
        league_in_deficit=pl.when(pl.col("org_code") == "T2")
        .then(None)
        .otherwise(pl.col("league_in_deficit")),
    )
    res = run_nof_scenario(frame, _spec(changes={"deficit_cap": None}, gates=[_gate(0.8)]), **IND)
    t = {r["org_code"]: r for r in res.trusts.to_dicts()}
    assert (t["T7"]["segment_before"], t["T7"]["segment_after"], t["T7"]["change"]) == (
        5,
        5,
        "same",
    )
    assert t["T7"]["sc_status"] == "not_applicable" and "intensive support" in t["T7"]["reason"]
    assert t["T2"]["segment_after"] == 2 and "deficit flag missing" in t["T2"]["reason"]


def test_inputs_are_not_changed():
    before = PLACED.clone(), ICB.clone()
    run_nof_scenario(PLACED, _spec(gates=[_gate(0.8)]), **IND)
    nof_sweep(PLACED, _spec(gates=[_gate()], sweep={"thresholds": [0.1, 0.9]}), **IND)
    assert PLACED.equals(before[0]) and ICB.equals(before[1])


# --------------------------------------------------------------------------- sweeps


def test_gate_sweep_by_hand():
    spec = _spec(gates=[_gate()], sweep={"gate": "sc", "thresholds": [0.7, 0.8, 0.9]})
    out = nof_sweep(PLACED, spec, **IND)
    assert out.columns == list(NOF_SWEEP_COLUMNS)
    assert out.height == 3 * 4  # ENGLAND + three ICSs per threshold
    nat = out.filter(pl.col("icb_code") == "ENGLAND")
    assert nat["swept"].unique().to_list() == ["gate:sc"]
    assert nat["value"].to_list() == [0.7, 0.8, 0.9]
    assert nat["n_worse"].to_list() == [0, 1, 2]  # T7 from 0.8 (0.75), T4 from 0.9 (0.85)
    assert nat["n_not_assessable"].to_list() == [1, 1, 1]  # T6 whatever the threshold
    assert out["icb_code"].to_list()[:4] == ["ENGLAND", "QE1", "QF7", "QHM"]
    validate(out, NOF_SCENARIO_SWEEP)


def test_cut_and_cap_sweeps_by_hand():
    cut = _spec(sweep={"cut": 1, "thresholds": [2.0, 2.1]})
    nat = nof_sweep(PLACED, cut).filter(pl.col("icb_code") == "ENGLAND")
    assert nat["swept"][0] == "cut:1"
    assert nat["n_worse"].to_list() == [1, 0]  # T4 (2.05) at 2.0
    assert nat["n_better"].to_list() == [0, 1]  # T2 (2.10) at 2.1
    cap = _spec(sweep={"deficit_cap": [1, 2, 3, 4]})
    nat = nof_sweep(PLACED, cap).filter(pl.col("icb_code") == "ENGLAND")
    assert nat["n_better"].to_list() == [1, 1, 0, 0]
    assert nat["n_worse"].to_list() == [0, 0, 0, 2]


@pytest.mark.parametrize(
    "sweep",
    [
        {"gate": "sc", "thresholds": [0.0, 0.75, 0.76, 0.85, 1.0]},
        {"cut": 1, "thresholds": {"start": 1.9, "stop": 2.3, "num": 41}},
        {"cut": 2, "thresholds": [2.2, 2.5, 2.69]},
        {"cut": 3, "thresholds": [2.4, 2.9]},
        {"deficit_cap": [4, 1, 3]},
    ],
)
def test_sweep_equals_the_run_value_by_value(sweep):
    spec = _spec(gates=[_gate()], sweep=sweep)
    out = nof_sweep(PLACED, spec, **IND)
    for value in spec.sweep.values():
        run = run_nof_scenario(PLACED, spec.with_value(value), **IND)
        rows = out.filter(pl.col("value") == value).drop("swept", "value")
        expected = pl.concat([run.national.select(rows.columns), run.by_ics.select(rows.columns)])
        assert rows.to_dicts() == expected.to_dicts(), value


def test_a_range_is_rounded_so_an_edge_of_2_1_keeps_a_score_of_2_1_in_segment_1():
    spec = _spec(sweep={"cut": 1, "thresholds": {"start": 1.9, "stop": 2.3, "num": 41}})
    assert 2.1 in spec.sweep.values().tolist()
    at = nof_sweep(PLACED, spec).filter(
        (pl.col("icb_code") == "ENGLAND") & (pl.col("value") == 2.1)
    )
    assert at["n_better"].item() == 1  # T2 (2.10 <= 2.1) moves up to segment 1


def test_sweep_errors():
    with pytest.raises(ValueError, match="has no sweep"):
        nof_sweep(PLACED, _spec(changes={"deficit_cap": None}))
    cut = _spec(sweep={"cut": 1, "thresholds": [2.0]})
    with pytest.raises(ValueError, match=r"strictly between its neighbours \(1, 2.355\)"):
        nof_sweep(PLACED, cut, [2.4])
    with pytest.raises(ValueError, match="distinct"):
        nof_sweep(PLACED, cut, [2.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        nof_sweep(PLACED, cut, [float("nan")])
    with pytest.raises(ValueError, match="segments 1-4"):
        nof_sweep(PLACED, _spec(sweep={"deficit_cap": [2]}), [2.5])
    with pytest.raises(ValueError, match="strictly between"):
        cut.with_value(2.5)


# --------------------------------------------------------------------------- errors


def test_run_errors():
    with pytest.raises(KeyError, match="icb-level indicator 'self_containment'"):
        run_nof_scenario(PLACED, _spec(gates=[_gate()]))
    with pytest.raises(KeyError, match="available: home_system_share"):
        run_nof_scenario(PLACED, _spec(gates=[_gate(indicator="nope", scope="provider")]), **IND)
    with pytest.raises(KeyError, match="league_in_deficit"):
        run_nof_scenario(PLACED.drop("league_in_deficit"), _spec(changes={"deficit_cap": 2}))
    with pytest.raises(ValueError, match="duplicate org_code"):
        run_nof_scenario(pl.concat([PLACED, PLACED.head(1)]), _spec(changes={"deficit_cap": 2}))
    with pytest.raises(TypeError, match="of kind 'cqc_gate'; 'nof' is needed"):
        run_nof_scenario(PLACED, "trust_home_share_overall")
    with pytest.raises(TypeError, match="of kind 'nof'; 'cqc_gate' is needed"):
        run_scenario(PLACED, "nof_no_deficit_cap")


def _error(data, *, nof=True):
    with pytest.raises(ConfigError) as info:
        scenario_from_dict({"kind": "nof", "name": "t", **data} if nof else data)
    return str(info.value)


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ({"changes": {"deficit_cap": 7}}, "changes.deficit_cap: Value error, a segment 1-4, null"),
        ({"changes": {"deficit_cap": True}}, "changes.deficit_cap: Value error, a segment 1-4"),
        (
            {"changes": {"cuts": [2.5, 2.0, 3.0]}},
            "changes.cuts: Value error, the three edges must increase strictly",
        ),
        ({"changes": {"cuts": [0.5, 2.0, 3.0]}}, "changes.cuts: Value error, edges must lie in"),
        ({"changes": {"cap": 2}}, "changes.cap: unknown key"),
        ({}, "changes: the scenario changes nothing"),
        ({"changes": {"deficit_cap": "unchanged"}}, "changes: the scenario changes nothing"),
        ({"rule_set": "cqc_principles", "gates": [_gate()]}, "a NOF scenario needs 'nof'"),
        ({"rule_set": "nope", "gates": [_gate()]}, "rule_set: Value error, unknown rule set"),
        ({"gates": [_gate(), _gate()]}, "gates.1.name: gate names must be unique"),
        ({"gates": [_gate(best=1)]}, "gates.0.best_segment: Input should be greater than or"),
        ({"gates": [{**_gate(), "cap": "Good"}]}, "gates.0.cap: unknown key"),
        ({"gates": [{**_gate(), "scope": "ics"}]}, "gates.0.scope: Input should be 'provider'"),
        ({"gates": [_gate(threshold=float("nan"))]}, "gates.0.threshold: Input should be"),
        ({"gates": [_gate()], "sweep": {"gate": "x", "thresholds": [1]}}, "sweep.gate: no such"),
        ({"sweep": {"thresholds": [1.0]}}, "sweep: name what is swept"),
        ({"sweep": {"cut": 1}}, "sweep.thresholds: give the values swept"),
        ({"sweep": {"cut": 4, "thresholds": [1.0]}}, "sweep.cut: Input should be less than"),
        ({"sweep": {"cut": 1, "thresholds": [2.5]}}, "sweep.thresholds: edge 1 must stay"),
        ({"sweep": {"cut": 1, "deficit_cap": [1]}}, "sweep: sweep one of gate, cut or"),
        ({"sweep": {"deficit_cap": [2, 2]}}, "sweep.deficit_cap: give distinct caps"),
        ({"sweep": {"deficit_cap": [5]}}, "sweep.deficit_cap.0: Input should be less than"),
        (
            {"sweep": {"deficit_cap": [2], "thresholds": [1]}},
            "sweep.thresholds: a deficit_cap sweep lists its caps itself",
        ),
        ({"sweep": {"cut": 1, "thresholds": {"start": 2, "stop": 2, "num": 3}}}, "distinct"),
        ({"sweep": {"cut": 1, "thresholds": {"start": 2, "num": 3}}}, "sweep.thresholds.stop"),
        (
            {"kind": "bogus", "name": "t"},
            "kind: unknown scenario kind (allowed: 'cqc_gate', 'nof')",
        ),
        ({"kind": ["nof"], "name": "t"}, "kind: unknown scenario kind"),
    ],
)
def test_spec_errors_name_the_key_path(data, line):
    assert line in _error(data)


def test_a_nof_key_on_a_gate_scenario_is_still_a_key_path_error():
    err = _error({"name": "t", "sector": "nhs_trust", "gates": [], "changes": {}}, nof=False)
    assert "gates: Tuple should have at least 1 item" in err and "changes: unknown key" in err
    err = _error({"kind": "cqc_gate", "name": "t", "sector": "x", "gates": []}, nof=False)
    assert "sector: Input should be" in err and "cqc_gate." not in err


# --------------------------------------------------------------------------- loading


NOF_SHIPPED = {
    "nof_no_deficit_cap": "deficit_cap",
    "nof_segment1_edge": "cut",
    "nof_segment1_self_containment": "gate",
}


def test_shipped_nof_scenarios_load_and_open_with_their_question():
    kinds = {n: load_scenario(p).kind for n, p in available_scenarios().items()}
    assert {n for n, k in kinds.items() if k == "nof"} == set(NOF_SHIPPED)
    assert {n for n, k in kinds.items() if k == "cqc_gate"}  # both kinds are listed
    for name, target in NOF_SHIPPED.items():
        path = scenarios_dir() / f"{name}.yaml"
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# Question:") and "Modelled" in text and "Lower is better" in text
        spec = get_scenario(name)
        assert isinstance(spec, NofScenarioSpec) and spec.name == name
        assert spec.sweep is not None and spec.sweep.target == target
        assert get_nof_scenario(path) == spec


def test_get_scenario_returns_either_kind_and_round_trips():
    nof = get_scenario("nof_segment1_self_containment")
    assert get_scenario(nof) is nof
    assert get_scenario(nof.model_dump()) == nof
    assert get_scenario(str(available_scenarios()[nof.name])) == nof
    gate = get_scenario("trust_home_share_overall")
    assert isinstance(gate, ScenarioSpec) and gate.kind == "cqc_gate"
    assert "kind" not in gate.model_dump()  # the gate kind's outputs are unchanged
    assert get_scenario({**gate.model_dump(), "kind": "cqc_gate"}) == gate
    assert get_gate_scenario(gate) is gate
    with pytest.raises(TypeError):
        get_gate_scenario(nof)
    keep = _spec(gates=[_gate()])
    assert keep.deficit_cap == 3 and keep.bounds == (2.095, 2.355, 2.70)
    assert _spec(changes={"deficit_cap": None}).deficit_cap is None


def test_nof_gate_literals_match_the_cqc_gate():
    for field in ("scope", "op"):
        assert NofGate.model_fields[field].annotation == Gate.model_fields[field].annotation


# --------------------------------------------------------------------------- properties

_SCORES = st.lists(
    st.tuples(
        st.integers(100, 400).map(lambda x: x / 100),
        st.booleans(),
        st.sampled_from(["QE1", "QF7", "QHM"]),
    ),
    min_size=1,
    max_size=25,
)


def _frame(rows):
    return pl.DataFrame(
        {
            "org_code": [f"T{i}" for i in range(len(rows))],
            "icb_code": [r[2] for r in rows],
            "icb_name": [r[2] for r in rows],
            "league_avg_score": [r[0] for r in rows],
            "league_in_deficit": [r[1] for r in rows],
        }
    )


@settings(max_examples=60, deadline=None)
@given(
    rows=_SCORES,
    threshold=st.floats(0, 1),
    best=st.integers(2, 4),
    values=st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=3, max_size=3),
)
def test_a_gate_never_improves_a_segment(rows, threshold, best, values):
    icb = pl.DataFrame({"icb_code": ["QE1", "QF7", "QHM"], "self_containment": values})
    res = run_nof_scenario(
        _frame(rows), _spec(gates=[_gate(threshold, best=best)]), icb_indicators=icb
    )
    t = res.trusts
    assert "better" not in t["change"].to_list()
    kept = t.filter(pl.col("segment_after").is_not_null())
    assert (kept["segment_after"] >= kept["segment_before"]).all()
    cap = np.maximum(kept["segment_before"].to_numpy(), best)
    assert (kept["segment_after"].to_numpy() <= cap).all()
    _check_reconciles(res)


@settings(max_examples=60, deadline=None)
@given(rows=_SCORES, cap=st.integers(1, 4), cut=st.integers(1, 3), shift=st.floats(0.0, 0.3))
def test_removing_the_cap_never_worsens_and_raising_an_edge_never_worsens(rows, cap, cut, shift):
    frame = _frame(rows)
    removed = run_nof_scenario(frame, _spec(changes={"deficit_cap": None}))
    assert "worse" not in removed.trusts["change"].to_list()
    moved = run_nof_scenario(frame, _spec(changes={"deficit_cap": cap}))
    changes = set(moved.trusts["change"].to_list())
    assert "worse" not in changes if cap <= 3 else "better" not in changes
    bounds = [2.095, 2.355, 2.70]
    upper = [*bounds, 4.0][cut]
    bounds[cut - 1] = min(bounds[cut - 1] + shift, (bounds[cut - 1] + upper) / 2)
    raised = run_nof_scenario(frame, _spec(changes={"cuts": bounds}))
    assert "worse" not in raised.trusts["change"].to_list()
    _check_reconciles(raised)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real():
    from ics_model.data import geography, ods
    from ics_model.data.nof import read_nof_segments
    from ics_model.data.sources import SOURCES
    from ics_model.mapping.nof import place_nof
    from ics_model.pipeline import run

    etr = ods.read_ods_trusts(SOURCES["ods_etr_2025"].path, vintage="2025").frame
    icbs = geography.read_icb_codes(SOURCES["icb_codes_2024"].path).frame
    placed = place_nof(read_nof_segments().frame, etr, icbs).placed
    cfg = {
        "metrics": {"sii_repetitions": 2000},
        "effect": {"enabled": False},
        "scenarios": [],
        "uncertainty": None,
    }
    r = run(RunConfig.model_validate(cfg))
    prov, icb = indicator_frames(r.metrics.provider_partnership, r.metrics.ics_metrics)
    return placed, {"provider_indicators": prov, "icb_indicators": icb}


def test_real_no_deficit_cap(real):
    placed, ind = real
    res = run_nof_scenario(placed, "nof_no_deficit_cap", **ind)
    t = res.trusts
    scored = t.filter(pl.col("segment_before").is_not_null())
    assert scored.height == 129 and (scored["segment_before"] == scored["segment_published"]).all()
    n = _national(res)
    assert (n["n_trusts"], n["n_scored"], n["n_changed"], n["n_better"], n["n_worse"]) == (
        150,
        129,
        36,
        36,
        0,
    )
    assert (n["n_ics"], n["n_ics_changed"]) == (42, 22)
    assert [n[f"n_segment_{k}_before"] for k in range(1, 5)] == [16, 7, 70, 36]
    assert [n[f"n_segment_{k}_after"] for k in range(1, 5)] == [29, 30, 34, 36]
    ra2 = t.filter(pl.col("org_code") == "RA2").row(0, named=True)
    assert (ra2["score"], ra2["segment_published"], ra2["segment_after"]) == (1.83, 3, 1)
    assert any("NOF data month 2026-03" in x for x in res.notes)
    assert any("21 trust(s) have no league_avg_score" in x for x in res.notes)
    sweep = nof_sweep(placed, "nof_no_deficit_cap", **ind)
    nat = sweep.filter(pl.col("icb_code") == "ENGLAND")
    assert nat["value"].to_list() == [1.0, 2.0, 3.0, 4.0]
    assert nat["n_better"].to_list() == [36, 36, 0, 0]
    assert nat["n_worse"].to_list() == [0, 0, 0, 64]
    assert sweep.height == 4 * 43
    _check_reconciles(res)
    _check_contracts(res, sweep)


def test_real_segment1_edge(real):
    placed, ind = real
    res = run_nof_scenario(placed, "nof_segment1_edge", **ind)
    n = _national(res)
    assert (n["n_changed"], n["n_worse"], n["n_ics_changed"]) == (3, 3, 2)
    nat = nof_sweep(placed, "nof_segment1_edge", **ind).filter(pl.col("icb_code") == "ENGLAND")
    changed = dict(zip(nat["value"].to_list(), nat["n_changed"].to_list(), strict=True))
    assert len(changed) == 41
    # every edge in the rule set's interval [2.06, 2.13) reproduces the published segments
    inside = [v for v in changed if 2.06 <= v < 2.13]
    assert len(inside) == 7 and all(changed[v] == 0 for v in inside)
    assert changed[2.05] > 0 and changed[2.13] > 0
    assert (changed[1.9], changed[2.3]) == (4, 5)
    _check_contracts(res)


def test_real_segment1_self_containment(real):
    placed, ind = real
    res = run_nof_scenario(placed, "nof_segment1_self_containment", **ind)
    n = _national(res)
    assert (n["n_changed"], n["n_worse"], n["n_not_assessable"], n["n_ics_changed"]) == (
        2,
        2,
        0,
        2,
    )
    worse = res.trusts.filter(pl.col("change") == "worse")
    assert sorted(worse["org_code"].to_list()) == ["RA7", "REF"]
    assert (worse["self_containment_value"] < 0.8).all()
    assert SYSTEM_GATE_NOTE.replace("provider", "trust") in res.notes
    sweep = nof_sweep(placed, "nof_segment1_self_containment", **ind)
    nat = sweep.filter(pl.col("icb_code") == "ENGLAND").sort("value")
    assert nat.height == 101
    assert (nat["n_worse"].diff().drop_nulls() >= 0).all()  # a higher bar never frees a trust
    assert nat["n_worse"][0] == 0 and nat["n_worse"][-1] == 16  # at 1.0 every segment 1 trust
    at = nat.filter(pl.col("value") == 0.8)
    assert at["n_worse"].item() == n["n_worse"]
    _check_reconciles(res)
    _check_contracts(res, sweep)
