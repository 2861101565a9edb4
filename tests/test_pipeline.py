"""The main job on the embedded real data, checked against an independent recount."""

import csv
import datetime as dt
import io
import json
from collections import Counter, defaultdict

import fastexcel
import polars as pl
import pytest

from ics_model.config import RunConfig
from ics_model.data.sources import SOURCES, sha256_file
from ics_model.outputs import OutputError, write_outputs
from ics_model.pipeline import run
from ics_model.views import ICS_VIEW


@pytest.fixture(scope="module")
def result():
    return run(RunConfig())


def test_modelled_ics_ratings_are_in_their_own_file_not_the_main_view(result):
    assert not [c for c in result.views.ics_view.columns if c.startswith("modelled_")]
    m = result.views.ics_modelled.filter(pl.col("rule_set") == "ics_shares")
    overall = m.filter(pl.col("key_question") == "Overall")
    gp = overall.filter(pl.col("sector") == "gp_practice")
    assert gp["modelled_value"].is_not_null().all()  # every ICS has >= 3 rated practices
    # trusts: ICSs with fewer than 3 rated trusts get no modelled rating, with a note
    few = overall.filter((pl.col("sector") == "nhs_trust") & (pl.col("n_rated") < 3))
    assert few.height > 0 and few["modelled_value"].is_null().all()
    assert (few["note"] == "fewer than 3 rated providers").all()


def test_modelled_ics_ratings_join_the_main_view_when_asked():
    from ics_model.config import with_overrides

    cfg = with_overrides(
        RunConfig(),
        {
            "views.modelled_ratings": True,
            "uncertainty": None,
            "composite": None,
            "scenarios": [],
            "effect.enabled": False,
        },
    )
    v = run(cfg).views.ics_view
    assert v.columns[len(ICS_VIEW.column_names) :] == [
        "modelled_ics_shares",
        "modelled_ics_nof_segments",
    ]
    overall = v.filter(pl.col("key_question") == "Overall")
    assert v.filter(pl.col("key_question") != "Overall")["modelled_ics_shares"].is_null().all()
    gp = overall.filter(pl.col("sector") == "gp_practice")
    assert gp["modelled_ics_shares"].is_not_null().all()


def test_42_icbs_each_with_a_rated_trust(result):
    v = result.views.ics_view
    assert v["icb_code"].n_unique() == 42
    trusts = v.filter((pl.col("sector") == "nhs_trust") & (pl.col("key_question") == "Overall"))
    assert trusts.height == 42
    assert trusts["n_rated"].min() >= 1
    gp = v.filter(pl.col("sector") == "gp_practice")
    assert gp.height == 42 and gp["n_rated"].min() > 0
    # six key questions for trusts, Overall only for GP practices and independent healthcare
    assert v.height == 42 * 6 + 42 + 42
    indep = v.filter(pl.col("sector") == "independent_healthcare")
    assert indep.height == 42 and indep["n_providers"].sum() == 2852
    assert (indep["n_providers"].min(), indep["n_providers"].max()) == (15, 257)


def test_conservation_on_the_real_files(result):
    c = result.conservation.table
    assert c["balanced"].all()
    rows = {r["source"]: r for r in c.to_dicts()}
    assert rows["trust_ratings"]["n_input_rows"] == 7930
    assert rows["gp_practices"]["n_input_rows"] == 6229
    for r in rows.values():
        parts = ("used", "inherited", "superseded", "quarantined", "unmapped")
        assert sum(r[k] for k in parts) == r["n_input_rows"]


def test_superseded_report_lists_loader_rows_and_closed_predecessors(result):
    sup = result.conservation.superseded
    rxe = sup.filter(pl.col("provider_id") == "RXE")
    assert rxe.height == 12 and rxe["source_row"].is_not_null().all()
    closed = sup.filter(pl.col("source_row").is_null())
    assert closed.height > 0
    assert closed["reason"].str.contains("successor .* has its own rating").all()
    by_source = sup.group_by("source").agg(pl.col("n_rows").sum())
    cons = result.conservation.table.join(by_source, on="source")
    assert (cons["superseded"] == cons["n_rows"]).all()


def test_known_placements_on_real_data(result):
    m = result.views.mapped.filter(pl.col("key_question") == "Overall")
    trusts = m.filter(pl.col("sector") == "nhs_trust")
    # open English trusts in ODS etr 2025, less the 10 ambulance trusts (shared among ICBs)
    assert trusts.height == 202 - 10
    assert set(trusts["mapping_method"]) <= {"ods_trust", "ods_successor"}
    rj1 = trusts.filter(pl.col("provider_id") == "RJ1")
    assert rj1["icb_code"][0] == "QKK"  # Guy's and St Thomas' -> South East London
    unmapped = dict(
        zip(
            result.conservation.unmapped["provider_id"],
            result.conservation.unmapped["reason"],
            strict=False,
        )
    )
    for care_trust in ("TAD", "TAH", "TAJ"):
        assert "care trust" in unmapped[care_trust]
    # TAF (Camden and Islington) and RRP (Barnet, Enfield and Haringey) both became G6V2S
    assert unmapped["TAF"].startswith("one of 2 rated predecessors of G6V2S (RRP, TAF)")
    g6v2s = trusts.filter(pl.col("provider_id") == "G6V2S")
    assert g6v2s["rating"][0] is None
    assert "several rated predecessors (RRP, TAF)" in g6v2s["unrated_reason"][0]
    # several rated predecessors: never combined
    r0a = trusts.filter(pl.col("provider_id") == "R0A")
    assert r0a["rating"][0] is None and r0a["unrated_reason"][0]


def _lines(source, encoding="utf-8"):
    return io.StringIO(SOURCES[source].path.read_text(encoding=encoding))


def _independent_recount():
    """Recount trust and GP ratings per ICB from the raw files without ics_model code."""
    etr_rows = list(csv.reader(_lines("ods_etr_2025")))
    # ambulance trusts serve several ICBs: under mapping.ambulance = shared (the default)
    # they are not in the one-ICB view (see test_ambulance.py for their shared counts)
    ambulance = {r[0] for r in etr_rows if not r[11] and r[3] and "AMBULANCE SERVICE" in r[1]}
    assert len(ambulance) == 10
    open_eng = {r[0]: r[3] for r in etr_rows if not r[11] and r[3] and r[0] not in ambulance}
    open_all = {r[0] for r in etr_rows if not r[11]}
    succ = defaultdict(list)
    latest = {}
    for pred, suc, _, date, _ in csv.reader(_lines("ods_succ")):
        latest[pred] = max(latest.get(pred, ""), date)
        succ[pred].append((suc, date))
    nxt = {p: sorted({s for s, d in v if d == latest[p]}) for p, v in succ.items()}

    def current(code):
        seen = [code]
        while code not in open_all:
            following = nxt.get(code, [])
            if len(following) != 1 or following[0] in seen:
                return None
            code = following[0]
            seen.append(code)
        return code

    sheet = fastexcel.read_excel(str(SOURCES["cqc_trust_ratings_2018"].path)).load_sheet(0)
    df = sheet.to_polars()
    rated_ids = set(df["Provider ID"])
    overall = {}
    for r in df.filter(pl.col("Service / Population Group") == "Overall").iter_rows(named=True):
        key = (r["Provider ID"], r["Key Question"])
        if key not in overall or r["Publication Date"] > overall[key][1]:
            overall[key] = (r["Latest Rating"], r["Publication Date"])
    preds = defaultdict(list)
    for pid in rated_ids:
        if pid not in open_all:
            cur = current(pid)
            if cur is not None:
                preds[cur].append(pid)
    source_of = {}
    for unit in open_eng:
        if unit in rated_ids:
            source_of[unit] = unit
        elif len(preds.get(unit, [])) == 1:
            source_of[unit] = preds[unit][0]
    counts = Counter()
    for unit, icb in open_eng.items():
        for kq in ("Overall", "Safe", "Effective", "Caring", "Responsive", "Well-led"):
            counts[(icb, "nhs_trust", kq, "n_providers")] += 1
            src = source_of.get(unit)
            if src and (src, kq) in overall:
                counts[(icb, "nhs_trust", kq, "n_rated")] += 1
                counts[(icb, "nhs_trust", kq, overall[(src, kq)][0])] += 1

    names = {}
    for r in csv.DictReader(_lines("icb_codes_2024", "utf-8-sig")):
        short = r["ICB24NM"].removeprefix("NHS ").removesuffix(" Integrated Care Board")
        names[short.lower()] = r["ICB24CDH"]
    latest_gp = {}
    text = SOURCES["cqc_gp_practices_2024"].path.read_text(encoding="utf-8")
    for r in csv.DictReader(io.StringIO(text)):
        code, icb = r["Practice.Code"], r["ICB_NAME"]
        if code in ("", "NA") or icb in ("", "NA"):
            continue
        if code not in latest_gp or int(r["Year"]) > int(latest_gp[code]["Year"]):
            latest_gp[code] = r
    for r in latest_gp.values():
        icb = names[r["ICB_NAME"].lower()]
        counts[(icb, "gp_practice", "Overall", "n_providers")] += 1
        if r["latest_rating"] not in ("", "NA"):
            counts[(icb, "gp_practice", "Overall", "n_rated")] += 1
            counts[(icb, "gp_practice", "Overall", r["latest_rating"])] += 1
    _recount_independent(counts, names)
    return counts


def _recount_independent(counts, names):
    """Independent healthcare: shapely point in the raw GeoJSON polygons (lon/lat)."""
    from shapely import STRtree
    from shapely.geometry import Point, shape

    by_gss = {}
    for r in csv.DictReader(_lines("icb_codes_2024", "utf-8-sig")):
        by_gss[r["ICB24CD"]] = r["ICB24CDH"]
    features = json.loads(SOURCES["icb_boundaries_2023"].path.read_text(encoding="utf-8"))
    shapes = [shape(f["geometry"]) for f in features["features"]]
    codes = [by_gss[f["properties"]["ICB23CD"]] for f in features["features"]]
    tree = STRtree(shapes)
    text = SOURCES["cqc_independent_healthcare_2025"].path.read_text(encoding="utf-8")
    for r in csv.DictReader(io.StringIO(text)):
        if not r["Latitude"] or not r["Longitude"]:
            continue
        p = Point(float(r["Longitude"]), float(r["Latitude"]))
        hits = [codes[i] for i in tree.query(p, predicate="within")]
        icb = hits[0] if len(hits) == 1 else codes[int(tree.nearest(p))]
        key = (icb, "independent_healthcare", "Overall")
        counts[(*key, "n_providers")] += 1
        if r["Rating"] in ("Outstanding", "Good", "Requires improvement", "Inadequate"):
            counts[(*key, "n_rated")] += 1
            counts[(*key, r["Rating"])] += 1


def test_every_number_equals_an_independent_recount(result):
    counts = _independent_recount()
    label = {
        "n_outstanding": "Outstanding",
        "n_good": "Good",
        "n_requires_improvement": "Requires improvement",
        "n_inadequate": "Inadequate",
        "n_providers": "n_providers",
        "n_rated": "n_rated",
    }
    checked = 0
    for r in result.views.ics_view.to_dicts():
        key = (r["icb_code"], r["sector"], r["key_question"])
        for col, lab in label.items():
            assert r[col] == counts[(*key, lab)], (key, col)
            checked += 1
        n = counts[(*key, "n_rated")]
        if n:
            good_out = counts[(*key, "Good")] + counts[(*key, "Outstanding")]
            assert r["share_good_or_outstanding"] == pytest.approx(good_out / n)
            score = sum(
                counts[(*key, k)] * s
                for k, s in (
                    ("Outstanding", 4),
                    ("Good", 3),
                    ("Requires improvement", 2),
                    ("Inadequate", 1),
                )
            )
            assert r["mean_score"] == pytest.approx(score / n)
    assert checked == result.views.ics_view.height * len(label)


def test_write_outputs_and_manifest(result, tmp_path):
    out = tmp_path / "out"
    written = write_outputs(result, out)
    names = {p.name for p in written}
    core = {
        "ics_view.csv",
        "ics_view.parquet",
        "ics_modelled_ratings.csv",
        "ics_metrics.csv",
        "ics_metrics.parquet",
        "provider_partnership.csv",
        "ics_flow_matrix.csv",
        "providers.csv",
        "unmapped.csv",
        "quarantine.csv",
        "superseded.csv",
        "set_aside.csv",
        "conservation.csv",
        "placement_checks.csv",
        "manifest.json",
        "composite.csv",
        "composite.parquet",
        "composite_indicators.csv",
        "composite_weights.csv",
        "correlations.csv",
        "collaboration_effect.json",
        "gp_quintiles.csv",
        "uncertainty.csv",
        "uncertainty_assumptions.csv",
        "ics_view_by_trust_type.csv",
        "ambulance_allocation.csv",
        "icb_geography.csv",
        "nof_trusts.csv",
        "nof_unplaced.csv",
        "ics_nof.csv",
        "nof_check_summary.csv",
        "nof_cqc_correlation.csv",
        "nof_cqc_unmatched.csv",
        "nof_scenario_nof_segment1_self_containment.csv",
        "nof_scenario_nof_segment1_self_containment_by_ics.csv",
        "nof_scenario_nof_segment1_self_containment_sweep.csv",
        "nof_scenario_nof_segment1_self_containment.json",
        "specification_curve.csv",
        "specification_curve_summary.csv",
        "specification_curve_placebo.csv",
        "specification_curve_joint_test.csv",
        "specification_curve_skipped.csv",
        "specification_curve.png",
        "effect_power.csv",
        "power_curve.png",
    }
    assert core <= names
    scenario_files = {n for n in names if n.startswith("scenario_")}
    # providers, by_ics, sweep, threshold uncertainty, json per scenario
    assert len(scenario_files) == 3 * 5
    assert names == core | scenario_files
    view = pl.read_csv(out / "ics_view.csv")
    assert view.columns == ICS_VIEW.column_names  # no modelled columns unless asked
    modelled = pl.read_csv(out / "ics_modelled_ratings.csv")
    assert modelled["label"].str.contains("modelled").all()
    assert set(modelled["rule_set"]) == {"ics_shares", "ics_nof_segments"}
    assert pl.read_parquet(out / "ics_view.parquet").height == view.height
    q = (out / "quarantine.csv").read_text().splitlines()
    assert q == ["source,source_row,reason,record"]  # header only when empty
    man = json.loads((out / "manifest.json").read_text())
    assert man["config"]["mapping"]["icb_vintage"] == "2023"
    shas = {i["role"]: i["sha256"] for i in man["inputs"]}
    assert shas["trust_ratings"] == sha256_file(SOURCES["cqc_trust_ratings_2018"].path)
    assert man["version"] and man["created_utc"]
    assert not list(out.glob(".ics_model-*"))  # no temporary folder left


def test_output_under_a_regular_file_is_an_output_error(result, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write outputs"):
        write_outputs(result, blocker / "out")


def test_icb_vintage_2026_option_runs_and_reports_splits():
    res = run(RunConfig.model_validate({"mapping": {"icb_vintage": "2026"}}))
    codes = set(res.views.ics_view["icb_code"])
    assert "QNQ" not in codes  # Frimley split in April 2026
    assert len(codes) < 42
    assert res.conservation.unmapped.filter(pl.col("reason").str.contains("not guessed")).height > 0
    assert res.conservation.table["balanced"].all()


@pytest.mark.parametrize("fmt", ["locations_csv_cp1252", "locations_xlsx", "locations_ods"])
def test_user_locations_file_is_placed_through_sub_icb_codes(cqc_fixtures, fmt):
    cfg = RunConfig.model_validate(
        {
            "data": {"locations": str(cqc_fixtures[fmt])},
            "views": {"sectors": ["location"]},
            "composite": None,
        }
    )
    res = run(cfg)
    loc = res.views.mapped.filter(pl.col("sector") == "location")
    placed = dict(zip(loc["provider_id"], loc["icb_code"], strict=False))
    methods = dict(zip(loc["provider_id"], loc["mapping_method"], strict=False))
    # RJ122 (St Thomas') sits in E38000244 (South East London sub-ICB) -> QKK
    assert placed["RJ122"] == "QKK" and methods["RJ122"] == "sub_icb_gss"
    # a Leeds care home (E38000225) -> West Yorkshire ICB
    assert placed["1-1000000001"] == "QWO"
    assert res.conservation.table["balanced"].all()
    view = res.views.ics_view.filter(pl.col("sector") == "location")
    assert view.filter(pl.col("icb_code") == "QKK")["n_providers"][0] >= 1
    assert "user file" in view["ratings_vintage"][0]


def test_combine_predecessors_option_rates_merged_trusts():
    res = run(RunConfig.model_validate({"mapping": {"combine_predecessors": "cqc_principles"}}))
    trusts = res.views.mapped.filter(
        (pl.col("sector") == "nhs_trust") & (pl.col("key_question") == "Overall")
    )
    g6 = trusts.filter(pl.col("provider_id") == "G6V2S")
    assert g6["rating_source"][0] == "combined" and g6["rating"][0] is not None
    assert g6["inherited_from"][0] == "RRP+TAF"
    assert res.conservation.table["balanced"].all()


def test_user_indicators_and_completed_pathways_options(tmp_path):
    from ics_model.data.bundled import configs_dir

    example = configs_dir() / "examples" / "user_partnership_indicators.csv"
    cfg = RunConfig.model_validate(
        {
            "metrics": {
                "user_indicators": str(example),
                "rtt_part": "completed",
                "sii_repetitions": 2000,
                "directions": {"partnerships_and_communities_score": "higher_is_better"},
            }
        }
    )
    res = run(cfg)
    user = res.metrics.ics_metrics.filter(pl.col("metric") == "partnerships_and_communities_score")
    assert dict(zip(user["icb_code"], user["value"], strict=True)) == {"QE1": 3.0, "QF7": 2.0}
    assert set(user["direction"]) == {"higher_is_better"}
    assert user["source"].str.contains("user file").all()
    prov = res.metrics.provider_partnership
    assert "provider_collaborative_member" in prov.columns
    assert prov.filter(pl.col("provider_id") == "RJ1")["provider_collaborative_member"][0] == 1
    roles = {i.role for i in res.provenance.inputs}
    assert "user_indicators" in roles and "rtt_2026_04" in roles


def test_composite_naming_a_sector_not_run_is_a_config_error(cqc_fixtures):
    from ics_model.config import ConfigError

    cfg = RunConfig.model_validate(
        {
            "data": {"locations": str(cqc_fixtures["locations_csv"])},
            "views": {"sectors": ["location"]},
        }
    )
    with pytest.raises(ConfigError, match=r"composite\.pillars\.quality\.indicators\.0\.source"):
        run(cfg)


def test_a_full_workbook_uses_its_providers_sheet_for_trusts(cqc_fixtures):
    # workbook.xlsx holds a Locations and a Providers sheet, as CQC's download does
    from ics_model.data.cqc import sheet_named

    wb = cqc_fixtures["workbook_xlsx"]
    assert sheet_named(wb, "providers") == "Providers"
    assert sheet_named(cqc_fixtures["locations_csv"], "Providers") is None
    res = run(
        RunConfig.model_validate(
            {
                "data": {"trust_ratings": str(wb), "locations": str(wb)},
                "views": {"sectors": ["nhs_trust", "location"]},
                "composite": None,
                "effect": {"enabled": False},
                "scenarios": [],
                "metrics": {"enabled": False},
            }
        )
    )
    sectors = set(res.views.mapped["sector"].cast(pl.String))
    assert sectors == {"nhs_trust", "location"}
    assert res.conservation.table["balanced"].all()


def test_reference_sources_are_accounted_for_too(result):
    c = {r["source"]: r for r in result.conservation.table.to_dicts()}
    assert (c["ods_trusts"]["n_input_rows"], c["ods_trusts"]["used"]) == (273, 273)
    assert c["ods_successors"]["n_input_rows"] == 11537
    assert c["icb_codes"]["used"] == 42
    assert result.conservation.table["balanced"].all()


def test_independent_healthcare_sector_in_every_output(result, tmp_path):
    c = {r["source"]: r for r in result.conservation.table.to_dicts()}["independent_healthcare"]
    assert (c["n_input_rows"], c["used"], c["unmapped"], c["balanced"]) == (2854, 2852, 2, True)
    vintage = result.provenance.vintages["independent_healthcare"]
    assert "2025-11-01" in vintage and "newer assessment approach" in vintage
    view = result.views.ics_view.filter(pl.col("sector") == "independent_healthcare")
    assert (view["ratings_vintage"] == vintage).all()  # the caveat on every row
    assert view["n_rated"].sum() == 1458  # 1,459 rated in the file, one without coordinates
    modelled = result.views.ics_modelled.filter(
        (pl.col("sector") == "independent_healthcare") & (pl.col("rule_set") == "ics_shares")
    )
    assert modelled.height == 42
    mapped = result.views.mapped.filter(pl.col("sector") == "independent_healthcare")
    assert set(mapped["ratings_as_of"]) == {dt.date(2025, 11, 1)}  # the dump's date
    assert mapped.filter(pl.col("rating").is_not_null())["rating_age_years"].min() > 1.4
    written = {p.name for p in write_outputs(result, tmp_path / "out")}
    assert "placement_checks.csv" in written
    checks = pl.read_csv(tmp_path / "out" / "placement_checks.csv")
    assert checks.height == 2854 and (checks["la_check"] == "disagrees").sum() == 4
    providers = pl.read_csv(tmp_path / "out" / "providers.csv", infer_schema_length=0)
    assert (providers["sector"] == "independent_healthcare").sum() == 2852
    roles = {i.role for i in result.provenance.inputs}
    assert {"independent_healthcare", "icb_boundaries", "la_lookup_lsoa_lad19"} <= roles


def test_independent_healthcare_stale_ratings_and_composite_indicator():
    quality = RunConfig().composite.pillars["quality"].model_dump(mode="json")
    quality["indicators"].append(
        {
            "name": "independent_good_or_outstanding",
            "source": "view:independent_healthcare:Overall:share_good_or_outstanding",
            "direction": "higher_is_better",
        }
    )
    cfg = RunConfig.model_validate(
        {
            "ratings": {"max_age_years": 5},
            "composite": {"pillars": {"quality": quality}},
            "uncertainty": None,
            "effect": {"enabled": False},
            "scenarios": [],
        }
    )
    res = run(cfg)
    c = {r["source"]: r for r in res.conservation.table.to_dicts()}["independent_healthcare"]
    # rated before 2020-11-01 (5 x 365.25 days before the dump): recounted from the raw file
    assert (c["used"], c["stale"], c["unmapped"]) == (2329, 523, 2)
    ind = res.composite.built.indicators
    assert "independent_good_or_outstanding" in set(ind["indicator"])
    from ics_model.config import ConfigError

    without = cfg.model_copy(
        update={"views": cfg.views.model_copy(update={"sectors": ("nhs_trust", "gp_practice")})}
    )
    with pytest.raises(
        ConfigError, match=r"sector 'independent_healthcare' is not in views\.sectors"
    ):
        run(without)


def test_default_run_relates_nof_to_the_2018_cqc_trust_ratings(result):
    """Spearman of the NOF average score with the 2018 CQC Overall rating (README figures)."""
    nof = result.nof
    rho = nof.correlation.filter(
        (pl.col("group") == "all")
        & (pl.col("measure") == "spearman_rho")
        & (pl.col("interval_method") == "fisher_z_bonett_wright")
    ).row(0, named=True)
    assert rho["n"] == 147
    assert (round(rho["estimate"], 3), round(rho["lower"], 3), round(rho["upper"], 3)) == (
        0.316,
        0.159,
        0.458,
    )
    assert nof.unmatched["org_code"].to_list() == ["R0A", "R0B", "R0D"]
    assert "years" in rho["note"] and rho["cqc_published_range"] == "2014-2018"


def test_default_run_fits_the_specification_curve_the_readme_describes(result):
    """README: 30 specifications per period; 2 of 30 significant post-ICS (joint p 0.13)."""
    from pathlib import Path

    from ics_model.outputs import effect_dict

    curve = result.effect.curve
    summary = {r["period"]: r for r in curve.summary.to_dicts()}
    post, pre = summary["post_ics"], summary["pre_ics"]
    assert (post["n_estimated"], pre["n_estimated"]) == (30, 30)
    assert round(post["share_significant_positive"] * 30) == 2
    assert pre["share_significant_positive"] == pre["share_significant_negative"] == 0
    assert post["share_positive"] == 0.5
    joint = curve.joint.filter(pl.col("statistic") == "n_significant_dominant")
    assert joint.sort("period")["p_value"].round(2).to_list() == [0.13, 1.0]
    gp = curve.curve.filter((pl.col("outcome") == "outstanding") & (pl.col("controls") == "none"))
    assert set(gp.select("period", "n", "n_events").unique().rows()) == {
        ("post_ics", 718, 5),
        ("pre_ics", 4874, 269),
    }
    assert "no association in either period: 28" in curve.placebo_text
    conclusion = effect_dict(result.effect)["conclusion"]
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "not causal" in conclusion and "0.81 (95% CI unbounded on both sides)" in conclusion
    assert "its 95% interval is unbounded on both sides" in readme
    assert "2 of 30 are significant at 5%" in readme and "p = 0.13" in readme
    power = result.effect.power.table
    at = dict(zip(power["odds_ratio"], power["power"], strict=True))
    assert (round(at[5.0], 2), round(at[8.0], 2), at[1.0]) == (0.51, 0.79, 0.0)
    assert result.effect.power.min_detectable_effect is None  # 80% not reached by OR 8
    assert "power 0.51 at an odds ratio\nof 5 per SD and 0.79 at 8" in readme
