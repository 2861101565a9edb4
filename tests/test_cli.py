"""The command line: outputs, exit codes and one-message errors."""

import json

import pytest
from typer.testing import CliRunner

from ics_model.cli import app

runner = CliRunner()

PROVIDERS_HEADER = (
    "Provider ID,Service / Population Group,Key Question,Latest Rating,Publication Date,"
    "Report Type\n"
)


def _invoke(*args):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def _config(tmp_path, body: str):
    p = tmp_path / "run.yaml"
    p.write_text(body)
    return p


def test_run_writes_outputs_and_prints_a_table(tmp_path):
    r = _invoke("run", "--out", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output
    assert "share rated Good or Outstanding" in r.output
    assert "2018-09-03" in r.output  # the vintage is shown with the results
    assert (tmp_path / "out" / "ics_view.csv").exists()
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert man["config"]["name"] == "default"


def test_output_under_a_regular_file_exits_1_with_one_message(tmp_path):
    blocker = tmp_path / "f"
    blocker.write_text("x")
    r = _invoke("run", "--out", str(blocker / "out"))
    assert r.exit_code == 1
    assert "cannot write outputs" in r.output
    assert r.output.count("error:") == 1


def test_config_with_unknown_key_exits_2(tmp_path):
    cfg = _config(tmp_path, "mapping:\n  icb_vintage: '2023'\n  inherit: true\n")
    r = _invoke("run", str(cfg), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2
    assert "mapping.inherit: unknown key" in r.output
    assert not (tmp_path / "o").exists()


def test_config_with_bad_value_exits_2_naming_allowed_values(tmp_path):
    cfg = _config(tmp_path, "data:\n  validation: sloppy\n")
    r = _invoke("validate", str(cfg))
    assert r.exit_code == 2
    assert "data.validation" in r.output and "'strict'" in r.output and "sloppy" in r.output


def test_validate_accepts_the_default_config():
    r = _invoke("validate", "configs/default.yaml")
    assert r.exit_code == 0 and "valid" in r.output


def test_unknown_rating_label_in_user_file_exits_2_naming_label_row_file(tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text(
        PROVIDERS_HEADER + "RJ1,Overall,Overall,Good,01/02/2018,Provider\n"
        "RJ1,Overall,Safe,Superb,01/02/2018,Provider\n"
    )
    cfg = _config(tmp_path, f"data:\n  trust_ratings: {f}\n")
    r = _invoke("run", str(cfg), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2
    assert "Superb" in r.output and "mine.csv" in r.output and "3" in r.output


def test_missing_column_in_user_file_lists_missing_and_found(tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text("Provider ID,Key Question,Latest Rating\nRJ1,Overall,Good\n")
    cfg = _config(tmp_path, f"data:\n  trust_ratings: {f}\n")
    r = _invoke("run", str(cfg), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2
    assert "Report Type" in r.output and "found" in r.output and "Latest Rating" in r.output


def test_duplicates_error_in_strict_and_quarantine_in_lenient(tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text(
        PROVIDERS_HEADER + "RJ1,Overall,Overall,Good,01/02/2018,Provider\n"
        "RJ1,Overall,Overall,Good,01/02/2018,Provider\n"
        "R1H,Overall,Overall,Outstanding,01/02/2018,Provider\n"
    )
    strict = _config(tmp_path, f"data:\n  trust_ratings: {f}\n")
    r = _invoke("run", str(strict), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "duplicate" in r.output.lower()
    lenient = tmp_path / "lenient.yaml"
    lenient.write_text(f"data:\n  trust_ratings: {f}\n  validation: lenient\n")
    r = _invoke("run", str(lenient), "--out", str(tmp_path / "o2"))
    assert r.exit_code == 0, r.output
    q = (tmp_path / "o2" / "quarantine.csv").read_text().splitlines()
    assert len(q) == 3 and "duplicate" in q[1].lower()


def test_unknown_trust_code_goes_to_the_unmapped_report(tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text(
        PROVIDERS_HEADER + "RZZ,Overall,Overall,Good,01/02/2018,Provider\n"
        "RJ1,Overall,Overall,Good,01/02/2018,Provider\n"
    )
    cfg = _config(tmp_path, f"data:\n  trust_ratings: {f}\n")
    r = _invoke("run", str(cfg), "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    unmapped = (tmp_path / "o" / "unmapped.csv").read_text()
    assert "RZZ" in unmapped and "not in ODS etr" in unmapped


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage-not-a-zip"])
def test_unreadable_or_truncated_file_exits_2_naming_the_file(tmp_path, content):
    f = tmp_path / "broken.xlsx"
    f.write_bytes(content)
    cfg = _config(tmp_path, f"data:\n  trust_ratings: {f}\n")
    r = _invoke("run", str(cfg), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2
    assert "broken.xlsx" in r.output


def test_missing_input_file_exits_2(tmp_path):
    cfg = _config(tmp_path, f"data:\n  gp_practices: {tmp_path / 'nope.csv'}\n")
    r = _invoke("run", str(cfg), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "nope.csv" in r.output


def test_rules_check_prints_agreement_and_writes_csvs(tmp_path):
    r = _invoke("rules", "check", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "1065" in r.output and "233" in r.output and "216/226" in r.output
    assert "judgement" in r.output
    dis = (tmp_path / "rules_check_disagreements.csv").read_text().splitlines()
    assert len(dis) == 13  # header + 12 disagreements


def test_rules_check_unknown_rule_set_exits_2():
    r = _invoke("rules", "check", "--rule-set", "bogus")
    assert r.exit_code == 2 and "available" in r.output


def test_rules_list_shows_shipped_rule_sets():
    r = _invoke("rules", "list")
    assert r.exit_code == 0 and "cqc_principles" in r.output and "saf_2024" in r.output


def test_metrics_list_prints_the_catalogue_the_site_shows():
    from ics_model.metrics.system import catalogue_markdown

    r = _invoke("metrics", "list")
    assert r.exit_code == 0 and "ICS metrics" in r.output
    r = _invoke("metrics", "list", "--markdown")
    assert r.output == catalogue_markdown()  # docs/gen_pages.py writes the same page


def test_run_quiet_and_geopackage_export(tmp_path):
    import geopandas as gpd
    import polars as pl

    gpkg = tmp_path / "gis" / "ics.gpkg"
    r = _invoke("run", "--out", str(tmp_path / "o"), "--geo", str(gpkg), "--quiet")
    assert r.exit_code == 0, r.output
    assert r.output == ""
    g = gpd.read_file(gpkg)
    assert len(g) == 42 and g.crs.to_epsg() == 4326
    view = pl.read_csv(tmp_path / "o" / "ics_view.csv").filter(
        (pl.col("sector") == "gp_practice") & (pl.col("key_question") == "Overall")
    )
    expected = dict(zip(view["icb_code"], view["share_good_or_outstanding"], strict=True))
    got = dict(zip(g["icb_code"], g["gp_practice_share_good_or_outstanding"], strict=True))
    assert got.keys() == expected.keys()
    for code, value in expected.items():
        assert abs(got[code] - value) < 1e-12
    metrics = pl.read_csv(tmp_path / "o" / "ics_metrics.csv").filter(
        pl.col("metric") == "self_containment"
    )
    sc = dict(zip(metrics["icb_code"], metrics["value"], strict=True))
    for code, value in zip(g["icb_code"], g["metric_self_containment"], strict=True):
        assert (value != value and sc[code] is None) or abs(value - sc[code]) < 1e-12


def test_geo_must_be_a_geopackage(tmp_path):
    r = _invoke("run", "--out", str(tmp_path / "o"), "--geo", str(tmp_path / "x.shp"))
    assert r.exit_code == 2 and ".gpkg" in r.output


def test_run_writes_composite_correlations_and_effect(tmp_path):
    import polars as pl

    r = _invoke("run", "--out", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "Composite" in r.output and "association" in r.output
    comp = pl.read_csv(tmp_path / "composite.csv")
    assert {"icb_code", "score", "score_0_100", "rank"} <= set(comp.columns)
    assert comp.height == 42 and comp["rank"].drop_nulls().n_unique() == 39
    # Frimley: no flows; South Yorkshire, Devon: their major acute trust is missing in RTT
    assert comp.filter(pl.col("rank").is_null())["icb_code"].to_list() == ["QF7", "QJK", "QNQ"]
    flat = " ".join(r.output.split())  # the console wraps lines
    assert "not ranked: South Yorkshire (QF7), Devon (QJK), Frimley (QNQ)" in flat
    assert "0.81 (95% CI unbounded on both sides)" in flat
    corr = pl.read_csv(tmp_path / "correlations.csv")
    assert {"flag_high", "flag_negative_within_pillar"} <= set(corr.columns)
    effect = json.loads((tmp_path / "collaboration_effect.json").read_text())
    for key in (
        "estimate",
        "ci_lower",
        "ci_upper",
        "p_value_model",
        "p_value_permutation",
        "n_providers",
        "n_clusters",
        "min_detectable_effect",
        "method",
        "caveats",
    ):
        assert key in effect
    assert any("not a causal" in c for c in effect["caveats"])
    assert "Outstanding" in effect["warning"]  # the composite uses the outcome's shares


def test_config_naming_a_missing_indicator_exits_2_with_key_path(tmp_path):
    cfg = _config(
        tmp_path,
        "composite:\n  pillars:\n    p:\n      indicators:\n"
        "        - {name: x, source: 'metric:no_such_metric', direction: higher_is_better}\n",
    )
    for args in (("validate", str(cfg)), ("run", str(cfg), "--out", str(tmp_path / "o"))):
        r = _invoke(*args)
        assert r.exit_code == 2
        assert "composite.pillars.p.indicators.0.source" in r.output
        assert "no_such_metric" in r.output and "self_containment" in r.output


def test_compare_two_configs(tmp_path):
    r = _invoke(
        "compare", "configs/default.yaml", "configs/quality_only.yaml", "--out", str(tmp_path)
    )
    assert r.exit_code == 0, r.output
    assert "Spearman" in r.output
    import polars as pl

    cmp_df = pl.read_csv(tmp_path / "compare.csv")
    assert {"rank_a", "rank_b", "rank_shift", "driver_pillar"} <= set(cmp_df.columns)


@pytest.mark.parametrize(
    "name",
    [
        "default",
        "equal_weights",
        "quality_only",
        "partnership_heavy",
        "current_performance",
        "collaboration_all_sectors",
    ],
)
def test_shipped_configs_validate_and_say_what_they_answer(name):
    from pathlib import Path

    path = Path("configs") / f"{name}.yaml"
    first = path.read_text().splitlines()[0]
    assert first.startswith("# ") and len(first) > 20
    r = _invoke("validate", str(path))
    assert r.exit_code == 0, r.output


def test_uncertainty_command_in_process_and_with_workers_agree(tmp_path):
    import polars as pl

    a, b = tmp_path / "a", tmp_path / "b"
    r = _invoke("uncertainty", "--draws", "3000", "--out", str(a))
    assert r.exit_code == 0, r.output
    assert "5-95%" in r.output
    r = _invoke("uncertainty", "--draws", "3000", "--workers", "2", "--out", str(b), "--quiet")
    assert r.exit_code == 0, r.output
    ua, ub = pl.read_csv(a / "uncertainty.csv"), pl.read_csv(b / "uncertainty.csv")
    assert ua.equals(ub)
    ranked = ua.filter(pl.col("rank").is_not_null())
    assert ranked.height == 39
    assert (
        (ranked["rank_p05"] <= ranked["rank_median"])
        & (ranked["rank_median"] <= ranked["rank_p95"])
    ).all()
    r = _invoke("uncertainty", "--draws", "0", "--out", str(a))
    assert r.exit_code == 2 and "--draws" in r.output


def test_report_and_uncertainty_report_a_missing_input_file_not_an_output_error(tmp_path):
    cfg = _config(tmp_path, f"data:\n  gp_practices: {tmp_path / 'nope.csv'}\n")
    for args in (
        ("report", str(cfg), "--out", str(tmp_path / "r.html")),
        ("uncertainty", str(cfg), "--out", str(tmp_path / "u")),
    ):
        r = _invoke(*args)
        assert r.exit_code == 2, (args, r.output)
        assert "nope.csv" in r.output and "cannot write" not in r.output


def test_version_prints_and_exits_0_without_a_command():
    from ics_model import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ics_model {__version__}"


def test_icb_2026_config_runs_end_to_end_on_the_36_icbs(tmp_path):
    """configs/icb_2026.yaml: views, metrics, composite and maps on the April 2026 ICBs."""
    import geopandas as gpd
    import polars as pl
    import pyogrio

    out, gpkg = tmp_path / "o", tmp_path / "o" / "ics.gpkg"
    r = _invoke("run", "configs/icb_2026.yaml", "--out", str(out), "--geo", str(gpkg), "-q")
    assert r.exit_code == 0, r.output
    view = pl.read_csv(out / "ics_view.csv")
    metrics = pl.read_csv(out / "ics_metrics.csv")
    comp = pl.read_csv(out / "composite.csv")
    assert view["icb_code"].n_unique() == 36
    assert set(metrics["icb_code"]) == set(view["icb_code"]) | {"ENGLAND"}
    # every 2026 ICB ranked but the two whose major acute trust is missing in RTT
    assert comp.height == 36
    assert comp.filter(pl.col("rank").is_null())["icb_code"].to_list() == ["QF7", "QJK"]
    merged = {"D7T5G", "S0E4D", "S1Y5D", "S9B9J", "T6Y0W", "Z9B2Z"}
    assert merged <= set(comp["icb_code"])
    sc = metrics.filter(pl.col("metric") == "self_containment")
    value = dict(zip(sc["icb_code"], sc["value"], strict=True))
    assert all(value[c] is not None for c in merged)
    assert value["Z9B2Z"] == pytest.approx(0.914935, abs=1e-6)  # NCL + NWL residents
    assert value["S9B9J"] == pytest.approx(0.795374, abs=1e-6)  # incl. Frimley Health (RDU)
    for m in ("share_waiting_over_18_weeks", "imd_mean_rank", "gp_rating_dispersion"):
        rows = metrics.filter((pl.col("metric") == m) & pl.col("icb_code").is_in(list(merged)))
        assert rows.height == 6 and rows["value"].null_count() == 0, m
    sii = metrics.filter(
        (pl.col("metric") == "gp_sii_good_or_outstanding") & pl.col("icb_code").is_in(list(merged))
    )
    assert sii.height == 6 and sii["value"].drop_nulls().len() >= 5
    # the GP figures of the ICBs that received parts of split ICBs say what they miss
    gp_note = sii.filter(pl.col("icb_code") == "T6Y0W")["note"][0]
    assert "GP practices of Babergh" in gp_note and "(from QJG, 65.8%" in gp_note
    pop = metrics.filter(pl.col("metric") == "population")
    assert pop["value"].sum() == 57_106_398  # England's mid-2022 total, as in 2023
    assert "ICBs of April 2026 (36)" in sc["vintage"][0]
    # every ICS without a value says why
    assert metrics.filter(pl.col("value").is_null())["note"].null_count() == 0
    # trusts of split ICBs by their ODS etr 2026 host
    prov = pl.read_csv(out / "providers.csv").filter(pl.col("sector") == "nhs_trust")
    host = dict(prov.select("provider_id", "icb_code").unique().iter_rows())
    assert (host["RDU"], host["RDE"], host["RWH"]) == ("S9B9J", "D7T5G", "S1Y5D")
    # what the data cannot model is reported, never drawn or guessed
    geo = pl.read_csv(out / "icb_geography.csv")
    not_drawn = geo.filter(~pl.col("boundary_drawn"))
    assert sorted(not_drawn["icb_code"]) == ["QRL", "S0E4D", "S9B9J"]
    assert set(not_drawn["icb_code_2023"]) == {"QNQ"}
    no_gp = geo.filter(~pl.col("gp_practices_placed"))
    assert no_gp.height == 7 and set(no_gp["icb_code_2023"]) == {"QJG", "QM7", "QNQ"}
    unmapped = pl.read_csv(out / "unmapped.csv").filter(pl.col("reason").str.contains("split"))
    gp_lost = unmapped.filter(pl.col("source") == "gp_practices")
    assert gp_lost.height == 286  # QM7 129 + QJG 90 + QNQ 67 practices
    # independent-sector locations of split ICBs: by sub-ICB polygon, in Frimley by their
    # local authority; only the two without coordinates stay unmapped, as in 2023
    ind = pl.read_csv(out / "unmapped.csv").filter(pl.col("source") == "independent_healthcare")
    assert ind.height == 2 and ind["reason"].str.starts_with("no coordinates").all()
    located = pl.read_csv(out / "providers.csv").filter(
        (pl.col("sector") == "independent_healthcare") & (pl.col("key_question") == "Overall")
    )
    by_la = located.filter(pl.col("mapping_method") == "local_authority")
    assert dict(by_la.group_by("icb_code").len().iter_rows()) == {
        "S0E4D": 27,
        "S9B9J": 11,
        "QRL": 2,
    }
    assert pyogrio.list_layers(gpkg)[:, 0].tolist() == ["ics", "not_modelled"]
    assert len(gpd.read_file(gpkg, layer="ics")) == 36
    assert len(gpd.read_file(gpkg, layer="not_modelled")) == 1
    man = json.loads((out / "manifest.json").read_text())
    roles = {i["role"] for i in man["inputs"]}
    assert {"icb_2026_crosswalk", "ods_etr_2026"} <= roles
    assert all(row["balanced"] for row in man["conservation"])


@pytest.mark.slow
def test_run_with_workers_gives_the_in_process_results(tmp_path):
    """`ics-model run --workers 2`: the curve's permutations, the power simulations and the
    Monte Carlo run on 2 processes, with results identical to the in-process run."""
    import polars as pl

    cfg = _config(
        tmp_path,
        "uncertainty:\n  draws: 500\n"
        "effect:\n  permutations: 199\n"
        "  curve: {permutations: 199, chunk_size: 50}\n"
        "  power: {n_sims: 20, odds_ratios: [1.0, 3.0]}\n",
    )
    a, b = tmp_path / "a", tmp_path / "b"
    r = _invoke("run", str(cfg), "--out", str(a), "-q")
    assert r.exit_code == 0, r.output
    r = _invoke("run", str(cfg), "--out", str(b), "-q", "--workers", "2")
    assert r.exit_code == 0, r.output
    for name in (
        "specification_curve.csv",
        "specification_curve_joint_test.csv",
        "effect_power.csv",
        "uncertainty.csv",
    ):
        assert pl.read_csv(a / name).equals(pl.read_csv(b / name)), name
    assert pl.read_csv(a / "effect_power.csv")["n_sims"].to_list() == [20, 20]
    r = _invoke("run", str(cfg), "--out", str(b), "--workers", "-1")
    assert r.exit_code == 2 and "--workers" in r.output


def test_help_texts_render_code_without_literal_backticks():
    import click
    import typer

    group = typer.main.get_command(app)
    ctx = click.Context(group)
    names = [
        n
        for n in group.list_commands(ctx)
        if not isinstance(group.get_command(ctx, n), click.Group)
    ]
    assert {"run", "report", "compare", "uncertainty"} <= set(names)
    for name in names:
        r = _invoke(name, "--help")
        assert r.exit_code == 0, name
        assert "``" not in r.output, name


def test_compare_says_how_many_movers_it_shows_and_gives_codes(tmp_path):
    r = _invoke(
        "compare", "configs/default.yaml", "configs/quality_only.yaml", "--out", str(tmp_path)
    )
    assert r.exit_code == 0, r.output
    flat = " ".join(r.output.split())
    assert "the 15 largest of 38 ICSs that moved (all in compare.csv)" in flat
    assert "QHL" in r.output  # Birmingham and Solihull, the largest mover, by its code too


def test_tables_fold_long_cells_at_80_columns_instead_of_cutting_them():
    from rich.console import Console
    from rich.table import Table

    from ics_model import cli_tables

    def table() -> Table:
        t = Table()
        t.add_column("metric")
        t.add_column("definition")
        t.add_row("self_containment_of_elective_flows", "x " * 60)
        return t

    ours = cli_tables._Console(width=40, record=True)
    ours.print(table())
    text = ours.export_text()
    assert "…" not in text
    first_column = "".join(
        line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")
    )
    assert first_column == "self_containment_of_elective_flows"
    plain = Console(width=40, record=True)  # rich's default cuts the cell: what we avoid
    plain.print(table())
    assert "…" in plain.export_text()


def test_installed_script_keeps_exit_codes_and_output(tmp_path):
    """``cli.main`` (the installed script) skips module teardown: same codes, same text."""
    import subprocess
    import sys

    def script(*args):
        code = "from ics_model.cli import main; main()"
        return subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
        )

    ok = script("--version")
    assert ok.returncode == 0 and ok.stdout.strip().startswith("ics_model ")
    bad = script("validate", str(tmp_path / "missing.yaml"))
    assert bad.returncode == 2 and "error:" in bad.stderr and bad.stdout == ""
    usage = script("no-such-command")
    assert usage.returncode == 2 and "No such command" in usage.stderr


FOLDER_COMMANDS = [
    ("run", "--out", ""),
    ("run", "--out", "."),
    ("uncertainty", "--out", "."),
    ("compare", "configs/default.yaml", "configs/quality_only.yaml", "--out", ""),
    ("rules", "check", "--out", ""),
    ("rules", "check", "--nof", "--out", "."),
    ("datasets", "build", "--out", "."),
]


@pytest.mark.parametrize("args", FOLDER_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_output_folder_refuses_the_current_folder(args, tmp_path, monkeypatch):
    mine = tmp_path / "rules_check_summary.csv"
    mine.write_text("a user's own file\n")
    monkeypatch.chdir(tmp_path)
    r = _invoke(*args)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and len(r.output.strip().splitlines()) == 1
    assert "--out '.' is the current folder" in lines[0]
    assert f"({tmp_path})" in lines[0] and "--allow-current-folder" in lines[0]
    assert [p.name for p in tmp_path.iterdir()] == [mine.name]  # nothing written
    assert mine.read_text() == "a user's own file\n"


def test_the_flag_writes_into_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "rules_check_summary.csv").write_text("a user's own file\n")
    monkeypatch.chdir(tmp_path)
    r = _invoke("rules", "check", "--out", ".", "--allow-current-folder")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rules_check_summary.csv").read_text().startswith("level,")


def test_every_command_with_an_output_folder_takes_the_same_flag():
    import typer.main

    group = typer.main.get_command(app)
    subs = {
        "run": group.commands["run"],
        "uncertainty": group.commands["uncertainty"],
        "compare": group.commands["compare"],
        "rules check": group.commands["rules"].commands["check"],
        "datasets build": group.commands["datasets"].commands["build"],
    }
    for name, command in subs.items():
        flags = {o for p in command.params for o in p.opts}
        assert "--out" in flags and "--allow-current-folder" in flags, name


def test_a_folder_or_above_or_home_is_refused_for_an_output_folder(tmp_path, monkeypatch):
    here = tmp_path / "work"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    r = _invoke("rules", "check", "--out", str(tmp_path))
    assert r.exit_code == 2 and "is a folder above the current one" in r.output
    r = _invoke("rules", "check", "--out", str(tmp_path / "home"))
    assert r.exit_code == 2 and "is the home folder" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


@pytest.mark.parametrize(
    "args",
    [("report", "--out", ""), ("report", "--out", "."), ("run", "--geo", "x.gpkg")],
    ids=["report-empty", "report-dot", "geo-folder"],
)
def test_file_options_refuse_a_folder(args, tmp_path, monkeypatch):
    (tmp_path / "x.gpkg").mkdir()
    monkeypatch.chdir(tmp_path)
    r = _invoke(*args, "--out", "o") if args[0] == "run" else _invoke(*args)
    assert r.exit_code == 2, r.output
    option = args[1]
    assert f"error: {option} must name a file to write, got '{args[2] or '.'}': a folder" in (
        r.output
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.gpkg"]
