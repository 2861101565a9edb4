"""The NOF stage of the main job on the embedded data, and configs/current_performance.yaml."""

from __future__ import annotations

import polars as pl
import pytest

from ics_model.config import RunConfig, check_config, config_from_dict, load_config
from ics_model.data.bundled import configs_dir
from ics_model.metrics.nof import ALL_TRUSTS
from ics_model.pipeline import run
from ics_model.spec import ConfigError


@pytest.fixture(scope="module")
def current():
    return run(load_config(configs_dir() / "current_performance.yaml"))


def test_nof_stage_places_derives_and_rolls_up_the_real_extract(current):
    nof = current.nof
    assert nof is not None
    assert nof.trusts.height == 150 and nof.unplaced.height == 71
    assert nof.trusts["icb_code"].n_unique() == 42
    # the rule set reproduces every published league-table segment
    assert (
        nof.trusts.filter(pl.col("league_segment").is_not_null())
        .filter(pl.col("derived_segment") != pl.col("league_segment"))
        .height
    ) == 0
    seg = nof.check.filter(pl.col("measure") == "segment").row(0, named=True)
    assert (seg["n"], seg["n_agree"]) == (129, 129)
    # every row of the file is accounted for
    acc = current.conservation.table.filter(pl.col("source") == "nof_segments").row(0, named=True)
    assert (acc["used"], acc["unmapped"], acc["n_input_rows"], acc["balanced"]) == (
        150,
        71,
        221,
        True,
    )
    table = nof.ics.filter(pl.col("trust_group") == ALL_TRUSTS)
    assert table.height == 42 and table["n_trusts"].sum() == 150
    # 26 ICSs hold at least 3 segmented trusts; 4 hold one, 12 two
    assert table["ranked"].sum() == 26
    assert table.filter(pl.col("n_trusts") == 1).height == 4
    top = table.filter(pl.col("rank") == 1).row(0, named=True)
    # North West London: 6 trusts, 5 in segment 1 and 1 in segment 2, mean 1.798
    assert (top["icb_code"], top["n_trusts"], top["n_segment_1"], top["n_segment_2"]) == (
        "QRV",
        6,
        5,
        1,
    )
    assert top["mean_avg_score"] == pytest.approx(10.79 / 6)
    assert top["rank_p05"] == 1.0 and top["rank_p95"] >= 2.0
    ranked = table.filter(pl.col("ranked"))
    assert (ranked["rank_p05"] <= ranked["rank"]).all()
    assert (ranked["mean_score_p05"] <= ranked["mean_avg_score"]).all()
    assert "lower is better" in nof.vintage


def test_nof_metrics_feed_the_current_performance_composite(current):
    m = current.metrics.ics_metrics.filter(pl.col("metric") == "nof_mean_score")
    assert m.height == 42 and m["value"].null_count() == 16
    ind = current.composite.built.indicators
    assert {"nof_mean_score", "nof_share_segment_1_2"} <= set(ind["indicator"].unique())
    assert "nhs_trust" not in current.provenance.vintages  # trusts enter through NOF only
    assert any(i.role == "nof_segments" for i in current.provenance.inputs)
    assumptions = current.uncertainty.draws_summary
    sampled = assumptions.filter(pl.col("assumption") == "bootstrap")["indicator"].to_list()
    assert {"nof_mean_score", "nof_share_segment_1_2"} <= set(sampled)


def test_nof_config_errors_name_the_key_path():
    with pytest.raises(ConfigError, match=r"nof\.rule_set: rule set 'cqc_principles' is of kind"):
        check_config(config_from_dict({"nof": {"rule_set": "cqc_principles"}}))
    with pytest.raises(ConfigError, match=r"nof\.min_trusts"):
        config_from_dict({"nof": {"min_trusts": 0}})
    cfg = load_config(configs_dir() / "current_performance.yaml")
    off = cfg.model_copy(update={"nof": cfg.nof.model_copy(update={"enabled": False})})
    with pytest.raises(ConfigError, match=r"comes from the NOF roll-up; set nof\.enabled: true"):
        check_config(off)
    with pytest.raises(ConfigError, match=r"data\.nof: no such file"):
        check_config(config_from_dict({"data": {"nof": "/nonexistent/nof.csv"}}))


def test_nof_disabled_writes_no_nof_record():
    cfg = RunConfig().model_copy(
        update={
            "nof": RunConfig().nof.model_copy(update={"enabled": False}),
            "composite": None,
            "uncertainty": None,
            "scenarios": (),
        }
    )
    result = run(cfg)
    assert result.nof is None
    assert "nof_segments" not in result.conservation.table["source"].to_list()
    assert not result.metrics.ics_metrics.filter(pl.col("metric").str.starts_with("nof_")).height


def test_current_performance_changes_the_picture_as_the_readme_says(current):
    """README: Spearman 0.851 with the default ranking, 37 ICSs move, the largest shift 19."""
    from pathlib import Path

    from ics_model.composite import compare, compare_summary

    default = run(
        load_config(configs_dir() / "default.yaml").model_copy(
            update={"uncertainty": None, "scenarios": ()}
        )
    )
    summary = compare_summary(default.composite.built, current.composite.built)
    table = compare(default.composite.built, current.composite.built)
    top = table.sort(pl.col("rank_shift").abs(), descending=True, nulls_last=True).row(
        0, named=True
    )
    assert round(summary["spearman"], 3) == 0.851
    assert table.filter(pl.col("rank_shift") != 0).height == 37
    assert (top["icb_code"], top["rank_shift"]) == ("QOC", 19)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "Spearman 0.851 between the two composite rankings, 37 ICSs move" in readme


def test_nof_scenarios_run_in_the_current_performance_config(current):
    by_name = {s.spec.name: s for s in current.nof_scenarios}
    assert set(by_name) == {"nof_no_deficit_cap", "nof_segment1_self_containment"}
    cap = by_name["nof_no_deficit_cap"].result.national.row(0, named=True)
    # the cap removed: 36 league trusts better (e.g. RA2, score 1.83: 3 -> 1), in 22 ICSs
    assert (cap["n_better"], cap["n_worse"], cap["n_ics_changed"]) == (36, 0, 22)
    ra2 = by_name["nof_no_deficit_cap"].result.trusts.filter(pl.col("org_code") == "RA2")
    assert ra2.select("segment_before", "segment_after").row(0) == (3, 1)
    gate = by_name["nof_segment1_self_containment"]
    worse = gate.result.trusts.filter(pl.col("change") == "worse")
    # segment 1 needs ICS self-containment >= 0.8: REF (Cornwall, 0.68), RA7 (BNSSG, 0.78)
    assert sorted(worse["org_code"].to_list()) == ["RA7", "REF"]
    nat = gate.sweep.filter(pl.col("icb_code") == "ENGLAND")
    assert nat.filter(pl.col("value") == 0.0)["n_changed"][0] == 0
    assert nat.filter(pl.col("value") == 1.0)["n_changed"][0] == 16  # all of segment 1
    at = dict(zip(nat["value"].round(2), nat["n_changed"], strict=True))
    assert (at[0.85], at[0.95]) == (7, 16)  # the README's figures


def test_current_performance_outputs_meet_their_contracts_and_report(current, tmp_path):
    from ics_model.output_contracts import check_outputs
    from ics_model.outputs import output_tables
    from ics_model.report import build_report

    tables = output_tables(current)
    assert check_outputs(tables) == []
    assert {
        "nof_scenario_nof_no_deficit_cap.csv",
        "nof_scenario_nof_no_deficit_cap_by_ics.csv",
        "nof_scenario_nof_no_deficit_cap_sweep.csv",
        "nof_scenario_nof_no_deficit_cap.json",
        "ics_nof.csv",
        "nof_trusts.csv",
    } <= set(tables)
    assert "nof_cqc_correlation.csv" not in tables  # no 2018 trust ratings in this run
    html = build_report(current, boundaries=False)
    nof = html[html.index("Current trust performance") :]
    assert "Lower is better" in nof and "MODELLED" in nof
    assert "likely range" in nof and "129/129" in nof
    assert "North West London" in nof and "1-3" in nof  # rank 1, likely range 1-3
    assert "NOF: nof_no_deficit_cap (modelled; lower is better)" in html
    assert "36 of 129 scored trusts change segment (36 better" in html
    assert "Not ranked (fewer than 3 segmented trusts)" in html


def test_a_nof_scenario_needs_the_nof_stage():
    cfg = RunConfig().model_copy(
        update={
            "nof": RunConfig().nof.model_copy(update={"enabled": False}),
            "scenarios": ("nof_no_deficit_cap",),
        }
    )
    with pytest.raises(ConfigError, match=r"scenarios\.0: scenario 'nof_no_deficit_cap' is a NOF"):
        check_config(cfg)
