"""Collaboration-gate scenarios: specs, runs, ICS counts and vectorised threshold sweeps."""

import math

import numpy as np
import polars as pl
import pytest

from ics_model.config import ConfigError, RunConfig
from ics_model.ratings import KEY_QUESTIONS
from ics_model.scenarios import (
    GP_OVERALL_ONLY_NOTE,
    SWEEP_COLUMNS,
    SYSTEM_GATE_NOTE,
    ScenarioSpec,
    available_scenarios,
    get_scenario,
    indicator_frames,
    load_scenario,
    run_scenario,
    scenario_from_dict,
    scenarios_dir,
    sweep_both_levels,
    threshold_sweep,
)

O, G, R, I = "Outstanding", "Good", "Requires improvement", "Inadequate"
N = None
KQ = list(KEY_QUESTIONS)
COUNTS = ["n_providers", "n_outstanding_before", "n_lost", "n_not_assessable"]


def _mapped(rows, sector="nhs_trust"):
    """rows: provider_id, icb_code, ratings (six for trusts, Overall only for GPs)."""
    kqs = KQ if sector == "nhs_trust" else ["Overall"]
    out = [
        (sector, pid, f"name {pid}", kq, r, icb, f"ICB {icb}")
        for pid, icb, ratings in rows
        for kq, r in zip(kqs, ratings, strict=True)
    ]
    cols = ["sector", "provider_id", "provider_name", "key_question", "rating", "icb_code"]
    return pl.DataFrame(out, schema=[*cols, "icb_name"], orient="row")


TRUSTS = _mapped(
    [
        ("T1", "QAA", [G, O, G, G, O, O]),  # Outstanding; capping Well-led leaves one O -> Good
        ("T2", "QAA", [G, O, O, G, G, O]),  # Outstanding; Well-led already Good
        ("T3", "QBB", [O, O, G, G, O, O]),  # Outstanding; three O, so capping Well-led keeps it
        ("T4", "QBB", [G, O, G, G, O, O]),  # Outstanding; provider indicator missing
        ("T5", "QCC", [R, G, G, G, G, G]),  # Good
        ("T6", "QCC", [G, G, G, G, O, G]),  # Good with Well-led Outstanding
        ("T7", "QDD", [N, N, N, N, N, N]),  # unrated
        ("T8", "QDD", [O, O, G, G, O, O]),  # Outstanding; its ICS indicator is missing
    ]
)
GPS = _mapped(
    [("G1", "QAA", [O]), ("G2", "QBB", [O]), ("G3", "QBB", [G]), ("G4", "QDD", [O])],
    sector="gp_practice",
)
PROV = pl.DataFrame(
    {
        "provider_id": ["T1", "T2", "T3", "T5", "T6", "T7", "T8"],
        "x": [0.2, 0.2, 0.3, 0.1, 0.4, 0.9, 0.9],
    }
)
ICB = pl.DataFrame({"icb_code": ["QAA", "QBB", "QCC"], "y": [0.7, 0.3, 0.5]})
IND = {"provider_indicators": PROV, "icb_indicators": ICB}


def _spec(level="overall", scope="provider", op=">=", threshold=0.5, sector="nhs_trust", **kw):
    gate = {
        "name": "g",
        "level": level,
        "indicator": "x" if scope == "provider" else "y",
        "scope": scope,
        "op": op,
        "threshold": threshold,
    }
    if level == "key_question":
        gate["key_question"] = "Well-led"
    return scenario_from_dict({"name": "t", "sector": sector, "gates": [gate], **kw})


def _national(res):
    return res.national.row(0, named=True)


def _outcomes(res):
    return dict(res.providers.select("provider_id", "outcome").iter_rows())


def _check_reconciles(res):
    """ICS view and national summary recomputed from the provider table."""
    p = res.providers
    again = (
        p.group_by("icb_code")
        .agg(
            pl.len().alias("n_providers"),
            (pl.col("rating_published").cast(pl.String) == O).sum().alias("n_outstanding_before"),
            (pl.col("rating_scenario").cast(pl.String) == O).sum().alias("n_outstanding_after"),
            (pl.col("outcome") == "lost").sum().alias("n_lost"),
            (pl.col("outcome") == "not_assessable").sum().alias("n_not_assessable"),
        )
        .sort("icb_code")
    )
    cols = [*COUNTS, "n_outstanding_after"]
    by_ics = res.by_ics.select("icb_code", *cols)
    assert by_ics.to_dicts() == again.with_columns(pl.col(cols).cast(pl.Int64)).to_dicts()
    assert set(by_ics["icb_code"]) == set(p["icb_code"])
    b = res.by_ics
    assert (
        b["n_outstanding_after"] == b["n_outstanding_before"] - b["n_lost"] - b["n_not_assessable"]
    ).all()
    nat = _national(res)
    for c in cols:
        assert nat[c] == b[c].sum() == again[c].sum()
    # not assessable is its own outcome: the rating is null, neither kept nor capped
    na = p.filter(pl.col("outcome") == "not_assessable")
    assert na["rating_scenario"].is_null().all() and (na["status"] == "not_assessable").all()


# --- runs on hand-made providers ------------------------------------------------------


def test_overall_gate_provider_scope():
    res = run_scenario(TRUSTS, _spec(), **IND)
    out = _outcomes(res)
    assert out == {
        "T1": "lost",
        "T2": "lost",
        "T3": "lost",
        "T4": "not_assessable",
        "T5": None,
        "T6": None,
        "T7": None,
        "T8": "kept",
    }
    p = {r["provider_id"]: r for r in res.providers.to_dicts()}
    assert p["T1"]["rating_published"] == O and p["T1"]["rating_scenario"] == G
    assert p["T1"]["status"] == "capped" and p["T1"]["overall_changed"]
    assert "x 0.2 >= 0.5 -> capped" in p["T1"]["reason"]
    assert p["T4"]["rating_scenario"] is None and "missing" in p["T4"]["reason"]
    assert p["T1"]["provider_name"] == "name T1" and p["T1"]["icb_name"] == "ICB QAA"
    assert {"g_status", "g_value"} <= set(res.providers.columns)
    nat = _national(res)
    assert (nat["n_outstanding_before"], nat["n_lost"], nat["n_not_assessable"]) == (5, 3, 1)
    assert nat["n_outstanding_after"] == 1 and nat["n_rated"] == 7 and nat["n_providers"] == 8
    assert nat["share_changed"] == pytest.approx(3 / 5)
    by = {r["icb_code"]: r for r in res.by_ics.to_dicts()}
    assert by["QBB"]["n_lost"] == 1 and by["QBB"]["n_not_assessable"] == 1
    assert by["QBB"]["share_changed"] == pytest.approx(0.5)
    assert by["QCC"]["n_outstanding_before"] == 0 and by["QCC"]["share_changed"] is None
    assert SYSTEM_GATE_NOTE not in res.notes
    assert any("not assessable" in n and "counted apart" in n for n in res.notes)
    _check_reconciles(res)


def test_key_question_gate_provider_scope():
    res = run_scenario(TRUSTS, _spec("key_question"), **IND)
    out = _outcomes(res)
    # T1 loses Outstanding (one O left); T2's Well-led is Good (not applicable); T3 keeps
    # Outstanding although Well-led is capped (two O left); T4 is not assessable
    assert out["T1"] == "lost" and out["T2"] == "kept" and out["T3"] == "kept"
    assert out["T4"] == "not_assessable" and out["T8"] == "kept"
    p = {r["provider_id"]: r for r in res.providers.to_dicts()}
    assert p["T3"]["status"] == "capped" and not p["T3"]["overall_changed"]
    assert p["T2"]["status"] == "not_applicable"
    assert p["T6"]["status"] == "capped" and p["T6"]["rating_scenario"] == G
    nat = _national(res)
    assert (nat["n_outstanding_before"], nat["n_lost"], nat["n_not_assessable"]) == (5, 1, 1)
    assert any("re-aggregate" in n for n in res.notes)
    _check_reconciles(res)


def test_overall_gate_icb_scope_and_the_system_level_note():
    res = run_scenario(TRUSTS, _spec(scope="icb"), **IND)
    out = _outcomes(res)
    assert out["T1"] == out["T2"] == "kept"  # QAA 0.7
    assert out["T3"] == out["T4"] == "lost"  # QBB 0.3: the system value, whatever T4 does
    assert out["T8"] == "not_assessable"  # QDD has no value
    assert SYSTEM_GATE_NOTE in res.notes
    assert res.notes.count(SYSTEM_GATE_NOTE) == 1
    _check_reconciles(res)


def test_key_question_gate_icb_scope():
    res = run_scenario(TRUSTS, _spec("key_question", scope="icb"), **IND)
    out = _outcomes(res)
    assert out["T1"] == out["T2"] == "kept"
    assert out["T3"] == "kept" and out["T4"] == "lost"  # T4: Well-led capped, one O left
    assert out["T8"] == "not_assessable"
    assert SYSTEM_GATE_NOTE in res.notes
    _check_reconciles(res)


def test_not_assessable_is_counted_apart_from_lost():
    # with a threshold every value passes, only missing indicators remain
    res = run_scenario(TRUSTS, _spec(threshold=-1.0), **IND)
    nat = _national(res)
    assert nat["n_lost"] == 0 and nat["n_not_assessable"] == 1
    assert nat["n_outstanding_after"] == nat["n_outstanding_before"] - 1
    assert nat["share_changed"] == 0.0


def test_gp_practices_overall_gate_and_note():
    res = run_scenario(GPS, _spec(scope="icb", sector="gp_practice"), **IND)
    assert _outcomes(res) == {"G1": "kept", "G2": "lost", "G3": None, "G4": "not_assessable"}
    assert GP_OVERALL_ONLY_NOTE in res.notes and SYSTEM_GATE_NOTE in res.notes
    _check_reconciles(res)


def test_gp_key_question_gate_is_rejected_at_load():
    with pytest.raises(ConfigError, match=r"gates\.0\.level: .*Overall ratings only"):
        _spec("key_question", sector="gp_practice")


def test_key_question_gate_on_ratings_without_that_key_question_fails_clearly():
    overall_only = TRUSTS.filter(pl.col("key_question") == "Overall")
    with pytest.raises(ValueError, match="not applicable"):
        run_scenario(overall_only, _spec("key_question"), **IND)


def test_run_needs_the_sector_and_the_indicator():
    with pytest.raises(ValueError, match="no gp_practice providers"):
        run_scenario(TRUSTS, _spec(sector="gp_practice"), **IND)
    with pytest.raises(KeyError, match="needs icb-level indicator 'y'"):
        run_scenario(TRUSTS, _spec(scope="icb"), provider_indicators=PROV)


def test_inputs_are_not_changed():
    before = (TRUSTS.clone(), PROV.clone(), ICB.clone())
    run_scenario(TRUSTS, _spec("key_question"), **IND)
    threshold_sweep(TRUSTS, _spec("key_question"), [0.1, 0.5], **IND)
    for a, b in zip(before, (TRUSTS, PROV, ICB), strict=True):
        assert a.equals(b)


def test_mapped_with_several_sectors_uses_the_scenario_sector():
    both = pl.concat([TRUSTS, GPS])
    res = run_scenario(both, _spec(scope="icb", sector="gp_practice"), **IND)
    assert set(res.providers["provider_id"]) == {"G1", "G2", "G3", "G4"}


# --- indicator frames --------------------------------------------------------------------


def test_indicator_frames():
    partnership = pl.DataFrame(
        {
            "provider_id": ["A", "B"],
            "icb_code": ["QAA", "QBB"],
            "has_flows": [True, False],
            "home_system_share": [0.9, float("nan")],
            "n_commissioning_icss": [1, 2],
            "note": [None, "x"],
        }
    )
    metrics = pl.DataFrame(
        {
            "icb_code": ["QAA", "QAA", "QBB", "QBB", "ENGLAND"],
            "metric": [
                "self_containment",
                "n_partner_icss",
                "self_containment",
                "inflow_share",
                "theil_total",
            ],
            "value": [0.8, 2.0, None, 0.1, 0.01],
        }
    )
    prov, icb = indicator_frames(partnership, metrics)
    assert prov.columns == ["provider_id", "home_system_share", "n_commissioning_icss"]
    assert prov["home_system_share"].to_list() == [0.9, None]
    assert icb["icb_code"].to_list() == ["QAA", "QBB"]
    assert set(icb.columns) == {"icb_code", "self_containment", "n_partner_icss", "inflow_share"}
    assert icb.filter(pl.col("icb_code") == "QBB")["n_partner_icss"].to_list() == [None]
    with pytest.raises(ValueError, match="more than one value"):
        indicator_frames(partnership, pl.concat([metrics, metrics]))
    with pytest.raises(ValueError, match="duplicate provider_id"):
        indicator_frames(pl.concat([partnership, partnership]), metrics)


# --- threshold sweeps ----------------------------------------------------------------------


GRID = [-1.0, 0.1, 0.2, 0.3, 0.45, 0.5, 0.7, 2.0]  # includes ties with indicator values


def _check_sweep_equals_runs(mapped, spec, grid, gate=None, **ind):
    sweep = threshold_sweep(mapped, spec, grid, gate=gate, **ind)
    assert sweep.columns == list(SWEEP_COLUMNS)
    cols = [*COUNTS, "n_outstanding_after", "share_changed"]
    for t in grid:
        res = run_scenario(mapped, spec.with_threshold(t, gate), **ind)
        at = sweep.filter(pl.col("threshold") == t)
        assert at["icb_code"][0] == "ENGLAND"  # national row first
        nat = at.filter(pl.col("icb_code") == "ENGLAND").select(cols).to_dicts()
        assert nat == res.national.select(cols).to_dicts(), f"national differs at t={t}"
        ics = at.filter(pl.col("icb_code") != "ENGLAND").select("icb_code", *cols)
        assert ics.to_dicts() == res.by_ics.select("icb_code", *cols).to_dicts(), f"t={t}"


@pytest.mark.parametrize("op", [">=", ">", "<=", "<"])
@pytest.mark.parametrize("scope", ["provider", "icb"])
@pytest.mark.parametrize("level", ["overall", "key_question"])
def test_vectorised_sweep_equals_runs_at_each_threshold(level, scope, op):
    _check_sweep_equals_runs(TRUSTS, _spec(level, scope, op), GRID, **IND)


def test_sweep_equals_runs_for_gp_practices():
    _check_sweep_equals_runs(GPS, _spec(scope="icb", sector="gp_practice"), GRID, **IND)


@pytest.mark.parametrize("swept", ["home", "wl"])
def test_sweep_of_one_gate_among_several_equals_runs(swept):
    spec = scenario_from_dict(
        {
            "name": "two",
            "sector": "nhs_trust",
            "gates": [
                {"name": "wl", "level": "key_question", "key_question": "Well-led"}
                | {"indicator": "y", "scope": "icb", "threshold": 0.5},
                {"name": "home", "level": "overall", "indicator": "x", "threshold": 0.25},
            ],
        }
    )
    _check_sweep_equals_runs(TRUSTS, spec, GRID, gate=swept, **IND)


def _random_trusts(seed, n=300):
    rng = np.random.default_rng(seed)
    labels = np.array([I, R, G, O, None], dtype=object)
    ratings = labels[rng.choice(5, size=(n, 6), p=[0.05, 0.15, 0.45, 0.3, 0.05])]
    rows = [(f"P{i:03d}", f"Q{rng.integers(0, 6)}", list(ratings[i])) for i in range(n)]
    values = np.round(rng.random(n), 1)  # coarse: many ties with the thresholds
    values[rng.random(n) < 0.1] = np.nan
    prov = pl.DataFrame({"provider_id": [r[0] for r in rows], "x": values})
    icb = pl.DataFrame({"icb_code": [f"Q{i}" for i in range(5)], "y": np.round(rng.random(5), 1)})
    return _mapped(rows), {"provider_indicators": prov, "icb_indicators": icb}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("level", ["overall", "key_question"])
def test_sweep_equals_runs_on_random_providers(seed, level):
    mapped, ind = _random_trusts(seed)
    for scope, op in (("provider", ">="), ("icb", "<")):
        _check_sweep_equals_runs(mapped, _spec(level, scope, op), [0.0, 0.3, 0.5, 0.9], **ind)


def test_sweep_defaults_to_the_scenario_sweep_and_validates_thresholds():
    spec = _spec(sweep={"thresholds": {"start": 0, "stop": 1, "num": 11}})
    out = threshold_sweep(TRUSTS, spec, **IND)
    assert out["threshold"].unique().len() == 11 and out.height == 11 * 5
    assert out.filter(pl.col("icb_code") == "ENGLAND")["threshold"].to_list() == pytest.approx(
        list(np.linspace(0, 1, 11))
    )
    with pytest.raises(ValueError, match="no sweep"):
        threshold_sweep(TRUSTS, _spec(), **IND)
    with pytest.raises(ValueError, match="NaN"):
        threshold_sweep(TRUSTS, _spec(), [0.1, math.nan], **IND)
    with pytest.raises(KeyError, match="no gate 'nope'"):
        threshold_sweep(TRUSTS, _spec(), [0.1], gate="nope", **IND)


def test_sweep_both_levels():
    out = sweep_both_levels(TRUSTS, "x", "provider", GRID, **IND)
    assert out["level"].unique().sort().to_list() == ["key_question", "overall"]
    nat = out.filter(pl.col("icb_code") == "ENGLAND")
    ov = nat.filter(pl.col("level") == "overall").sort("threshold")
    kq = nat.filter(pl.col("level") == "key_question").sort("threshold")
    assert (kq["n_lost"] <= ov["n_lost"]).all()  # a Well-led cap loses a subset
    assert kq["key_question"].unique().to_list() == ["Well-led"]
    with pytest.raises(ConfigError, match=r"gates\.0\.level"):
        sweep_both_levels(GPS, "y", "icb", GRID, sector="gp_practice", **IND)


# --- scenario files ------------------------------------------------------------------------


def _write(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = "name: s\nsector: nhs_trust\n"
GATE = "gates:\n  - {name: g, level: overall, indicator: x, threshold: 0.5"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (BASE + GATE + ", thresold: 1}\n", "gates.0.thresold: unknown key"),
        (BASE + GATE + ", op: '=='}\n", "gates.0.op"),
        (BASE + GATE + ", scope: region}\n", "gates.0.scope"),
        (
            BASE + GATE + "}\n  - {name: g, level: overall, indicator: y, threshold: 1}\n",
            "gates.1.name: gate names must be unique",
        ),
        ("name: s\nsector: location\n" + GATE + "}\n", "sector:"),
        (BASE + "gates: []\n", "gates:"),
        (BASE + "rule_set: ics_shares\n" + GATE + "}\n", "rule_set: "),
        (BASE + "rule_set: nope\n" + GATE + "}\n", "rule_set: "),
        (BASE + GATE + "}\nsweep: {gate: other, thresholds: [0.1]}\n", "sweep.gate: no such"),
        (
            BASE + GATE + "}\nsweep: {thresholds: {start: 0, stop: 1, num: 0}}\n",
            "sweep.thresholds.num:",
        ),
        (
            BASE + GATE + "}\nsweep: {thresholds: {start: 0, stop: 1}}\n",
            "sweep.thresholds.num: Field required",
        ),
        (BASE + GATE + "}\nsweep: {thresholds: [0.1, abc]}\n", "sweep.thresholds.1:"),
        (BASE + GATE + "}\nsweep: {thresholds: []}\n", "sweep.thresholds:"),
        (BASE + GATE + "}\ncolour: red\n", "colour: unknown key"),
        (
            "name: s\nsector: gp_practice\ngates:\n  - {name: g, level: key_question, "
            "key_question: Well-led, indicator: x, threshold: 0.5}\n",
            "gates.0.level: ",
        ),
    ],
)
def test_invalid_scenario_files_name_the_key_path(tmp_path, text, path):
    with pytest.raises(ConfigError) as err:
        load_scenario(_write(tmp_path, text))
    assert path in str(err.value), str(err.value)
    assert "invalid scenario" in str(err.value)


def test_unreadable_and_non_mapping_scenario_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scenario(_write(tmp_path, "gates: [\n"))
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_scenario(_write(tmp_path, "- 1\n"))


def test_get_scenario_by_name_path_mapping_and_spec():
    by_name = get_scenario("trust_home_share_overall")
    assert isinstance(by_name, ScenarioSpec)
    assert get_scenario(available_scenarios()["trust_home_share_overall"]) == by_name
    assert get_scenario(str(available_scenarios()["trust_home_share_overall"])) == by_name
    assert get_scenario(by_name.model_dump()) == by_name
    assert get_scenario(by_name) is by_name
    with pytest.raises(KeyError, match="unknown scenario"):
        get_scenario("nope")
    moved = by_name.with_threshold(0.7)
    assert moved.gates[0].threshold == 0.7 and by_name.gates[0].threshold == 0.5


SHIPPED = {
    "trust_home_share_overall": ("nhs_trust", "overall", "provider", "home_system_share"),
    "trust_wellled_self_containment": ("nhs_trust", "key_question", "icb", "self_containment"),
    "gp_self_containment_overall": ("gp_practice", "overall", "icb", "self_containment"),
}


def test_shipped_scenarios_load_and_open_with_their_question():
    gate_kind = {n for n, p in available_scenarios().items() if load_scenario(p).kind == "cqc_gate"}
    assert gate_kind == set(SHIPPED)  # the NOF scenarios: tests/test_nof_scenarios.py
    for name, (sector, level, scope, indicator) in SHIPPED.items():
        path = scenarios_dir() / f"{name}.yaml"
        assert path.read_text(encoding="utf-8").startswith("# Question:")
        spec = load_scenario(path)
        g = spec.gate()
        assert (spec.sector, g.level, g.scope, g.indicator) == (sector, level, scope, indicator)
        assert spec.sweep is not None and spec.sweep.values().size == 101


# --- shipped scenarios on the real data ----------------------------------------------------


@pytest.fixture(scope="module")
def real():
    from ics_model.pipeline import run

    r = run(RunConfig.model_validate({"metrics": {"sii_repetitions": 2000}}))
    prov, icb = indicator_frames(r.metrics.provider_partnership, r.metrics.ics_metrics)
    return r, {"provider_indicators": prov, "icb_indicators": icb}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_scenarios_on_the_real_data(real, name):
    r, ind = real
    spec = get_scenario(name)
    res = run_scenario(r.views.mapped, spec, **ind)
    _check_reconciles(res)
    view = (
        r.views.ics_view.filter(
            (pl.col("sector").cast(pl.String) == spec.sector)
            & (pl.col("key_question").cast(pl.String) == "Overall")
        )
        .select("icb_code", "n_providers", pl.col("n_outstanding").alias("n_outstanding_before"))
        .sort("icb_code")
    )
    assert res.by_ics.select(view.columns).to_dicts() == view.to_dicts()
    assert _national(res)["n_outstanding_before"] == view["n_outstanding_before"].sum() > 0
    assert (SYSTEM_GATE_NOTE in res.notes) == (spec.gate().scope == "icb")

    sweep = threshold_sweep(r.views.mapped, spec, **ind)
    assert sweep.height == 101 * (res.by_ics.height + 1)
    assert (sweep["n_lost"] + sweep["n_not_assessable"] <= sweep["n_outstanding_before"]).all()
    assert (sweep["n_outstanding_after"] >= 0).all()
    monotone = (
        sweep.sort("threshold")
        .group_by("icb_code")
        .agg((pl.col("n_lost").diff().drop_nulls() >= 0).all().alias("ok"))
    )
    assert monotone["ok"].all()  # op >=: a higher bar never loses fewer
    na = sweep.group_by("icb_code").agg(pl.col("n_not_assessable").n_unique().alias("k"))
    assert (na["k"] == 1).all()  # not assessable does not depend on the threshold
    at = sweep.filter((pl.col("icb_code") == "ENGLAND") & (pl.col("threshold") == 0.5))
    if spec.gate().threshold == 0.5:
        assert at["n_lost"].item() == _national(res)["n_lost"]
    national = sweep.filter(pl.col("icb_code") == "ENGLAND")
    assert national["n_lost"].min() == 0  # threshold 0: every share passes


def test_real_sweep_at_the_scenario_threshold_equals_the_run(real):
    r, ind = real
    spec = get_scenario("trust_wellled_self_containment")
    _check_sweep_equals_runs(r.views.mapped, spec, [0.0, 0.8, 0.85, 1.0], **ind)
    gp = get_scenario("gp_self_containment_overall")
    _check_sweep_equals_runs(r.views.mapped, gp, [0.8, 0.9], **ind)


def test_real_both_levels_for_home_system_share(real):
    r, ind = real
    out = sweep_both_levels(r.views.mapped, "home_system_share", "provider", [0.5, 0.9, 1.0], **ind)
    nat = out.filter(pl.col("icb_code") == "ENGLAND").sort("level", "threshold")
    ov = nat.filter(pl.col("level") == "overall")
    kq = nat.filter(pl.col("level") == "key_question")
    assert (kq["n_lost"] <= ov["n_lost"]).all()
    assert (kq["n_not_assessable"] <= ov["n_not_assessable"]).all()


@pytest.mark.parametrize("level", ["overall", "key_question"])
def test_sweep_without_outstanding_providers(level):
    good = TRUSTS.filter(pl.col("provider_id").is_in(["T5", "T6", "T7"]))
    out = threshold_sweep(good, _spec(level), [0.1, 0.9], **IND)
    assert out.height == 2 * 3
    assert (out["n_lost"] == 0).all() and (out["n_not_assessable"] == 0).all()
    assert out["share_changed"].is_null().all()
    _check_sweep_equals_runs(good, _spec(level), [0.1, 0.9], **IND)


def test_threshold_uncertainty_brackets_the_fixed_threshold_and_is_seeded():
    from ics_model.config import RunConfig
    from ics_model.pipeline import run
    from ics_model.scenarios import (
        get_scenario,
        indicator_frames,
        run_scenario,
        threshold_uncertainty,
    )

    r = run(
        RunConfig.model_validate(
            {"metrics": {"sii_repetitions": 2000}, "effect": {"enabled": False}, "scenarios": []}
        )
    )
    prov, icb = indicator_frames(r.metrics.provider_partnership, r.metrics.ics_metrics)
    spec = get_scenario("gp_self_containment_overall")
    kw = {"spread": 0.1, "draws": 500, "provider_indicators": prov, "icb_indicators": icb}
    a = threshold_uncertainty(r.views.mapped, spec, seed=3, **kw)
    b = threshold_uncertainty(r.views.mapped, spec, seed=3, **kw)
    assert a.equals(b)
    nat = a.filter(pl.col("icb_code") == "ENGLAND").row(0, named=True)
    fixed = run_scenario(r.views.mapped, spec, provider_indicators=prov, icb_indicators=icb)
    lost = fixed.national["n_lost"][0]
    assert nat["lost_p05"] <= lost <= nat["lost_p95"]
    assert (nat["threshold_low"], nat["threshold_high"]) == pytest.approx((0.7, 0.9))
    assert (a["lost_p05"] <= a["lost_median"]).all() and (a["lost_median"] <= a["lost_p95"]).all()
