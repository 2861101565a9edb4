"""Runs on CQC API location records with rating history: the care-home config end to end."""

import json
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from ics_model.cli import app
from ics_model.config import RunConfig, _data_path, load_config, with_overrides
from ics_model.data.bundled import configs_dir, datasets_dir
from ics_model.output_contracts import check_outputs
from ics_model.outputs import output_tables
from ics_model.pipeline import run

CONFIG = configs_dir() / "carehomes_2019.yaml"


@pytest.fixture(scope="module")
def result():
    return run(CONFIG)


def _overall(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("key_question") == "Overall")


def test_the_config_reads_the_embedded_care_home_file_as_of_2019():
    cfg = load_config(CONFIG)
    assert cfg.ratings.as_of == date(2019, 1, 1)
    assert cfg.data.locations == (
        datasets_dir() / "raw" / "cqc" / "carehomes_sw_api_2021-04" / "cqc_care_homes.csv"
    )


def test_every_record_is_counted_and_homes_not_yet_registered_are_set_aside(result):
    c = {r["source"]: r for r in result.conservation.table.to_dicts()}["locations"]
    # 23 homes placed with their predecessor's rating (a change of provider) are inherited
    counts = ("n_input_rows", "used", "inherited", "not_registered", "unmapped")
    assert tuple(c[k] for k in counts) == (728, 683, 23, 22, 0)
    assert c["balanced"]
    listed = result.conservation.set_aside
    assert listed.height == 22 and set(listed["outcome"]) == {"not_registered"}
    holly = listed.filter(pl.col("provider_id") == "1-6174827128")["reason"][0]
    assert (
        holly
        == "registered on 2019-01-11, after ratings.as_of = 2019-01-01; no rating in force then"
    )
    placed = _overall(result.views.mapped)
    assert placed.height == 706
    by_icb = dict(placed.group_by("icb_code").len().rows())
    assert by_icb == {"QJK": 495, "QSL": 211}  # Devon 506 - 11, Somerset 222 - 11
    assert "1-6174827128" not in placed["provider_id"].to_list()  # registered 2019-01-11


def test_ratings_in_force_on_2019_are_placed_with_their_age_at_that_date(result):
    placed = _overall(result.views.mapped)
    assert placed["ratings_as_of"].unique().to_list() == [date(2019, 1, 1)]
    rated = placed.filter(pl.col("rating").is_not_null())
    assert rated.height == 681
    assert rated["publication_date"].max() == date(2019, 1, 1)
    assert rated["rating_age_years"].min() == 0.0  # Magnolia House, published that day
    assert (rated["rating_age_years"] >= 0).all()
    highlands = placed.filter(pl.col("provider_id") == "1-1000587219").to_dicts()[0]
    assert highlands["publication_date"] == date(2017, 7, 20)
    assert highlands["rating_age_years"] == round(530 / 365.25, 3)  # 2017-07-20 -> 2019-01-01
    # predecessors' ratings of homes re-registered after 2019-01-01 (a change of provider)
    inherited = placed.filter(pl.col("rating_source") == "inherited")
    assert inherited.height == 23
    assert inherited["inherited_from"].null_count() == 0
    westmead = placed.filter(pl.col("provider_id") == "1-6958525854").to_dicts()[0]
    assert (westmead["rating"], westmead["inherited_from"]) == ("Good", "1-120089248")
    unrated = placed.filter(pl.col("rating").is_null())
    assert unrated.height == 25
    assert unrated["unrated_reason"].str.starts_with("no rating in force on 2019-01-01").all()


def test_the_view_says_which_date_its_ratings_are_in_force(result):
    view = _overall(result.views.ics_view).filter(pl.col("n_providers") > 0)
    assert view["icb_code"].to_list() == ["QJK", "QSL"]
    assert view["n_rated"].to_list() == [476, 205]
    assert view["ratings_vintage"].str.contains("ratings in force on 2019-01-01").all()


def test_history_outputs_of_the_run(result):
    h = result.history
    assert h is not None
    status = dict(_overall(h.in_force)["in_force_status"].cast(pl.String).value_counts().rows())
    assert status == {"rated": 681, "not_yet_rated": 25, "not_registered": 22}
    assert h.transitions.height == 701  # Overall ratings published up to 2019-01-01
    assert h.transitions["icb_code"].null_count() == 0
    summary = {r["icb_code"]: r for r in h.ics_summary.to_dicts()}
    devon, somerset = summary["QJK"], summary["QSL"]
    assert (devon["n_units"], devon["n_transitions"]) == (495, 528)
    assert (devon["n_upgrades"], devon["n_downgrades"], devon["n_unchanged"]) == (149, 69, 310)
    assert (somerset["n_units"], somerset["n_transitions"]) == (211, 173)
    assert (somerset["n_upgrades"], somerset["n_downgrades"], somerset["n_unchanged"]) == (
        49,
        9,
        115,
    )
    pairs = h.ics_transitions
    assert pairs.height == 2 * 16
    assert pairs.group_by("icb_code").agg(pl.col("n_transitions").sum()).sort(
        "icb_code"
    ).rows() == [
        ("QJK", 528),
        ("QSL", 173),
    ]
    ri_good = pairs.filter(
        (pl.col("icb_code") == "QJK")
        & (pl.col("from_rating") == "Requires improvement")
        & (pl.col("to_rating") == "Good")
    ).to_dicts()[0]
    assert (ri_good["n_transitions"], ri_good["share_of_from"]) == (112, pytest.approx(112 / 220))


def test_every_output_of_the_run_meets_its_contract(result):
    tables = output_tables(result)
    for name in (
        "ratings_in_force.csv",
        "rating_transitions.csv",
        "ics_rating_transitions.csv",
        "ics_rating_transition_summary.csv",
    ):
        assert name in tables
    assert check_outputs(tables) == []


def test_inherited_exclude_leaves_out_the_predecessors_ratings():
    cfg = with_overrides(load_config(CONFIG), {"ratings.inherited": "exclude"})
    res = run(cfg)
    c = {r["source"]: r for r in res.conservation.table.to_dicts()}["locations"]
    assert (c["used"], c["inherited_excluded"], c["not_registered"]) == (683, 23, 22)
    assert c["balanced"]


def test_without_as_of_the_current_ratings_are_used_and_all_history_counted(tmp_path):
    records = [
        {
            "locationId": "1-A",
            "providerId": "1-P",
            "name": "Home A",
            "onspdCcgCode": "E38000230",  # NHS Devon
            "registrationDate": "2013-11-04",
            "currentRatings": {"overall": {"rating": "Good", "reportDate": "2020-05-06"}},
            "historicRatings": [
                {"reportDate": "2017-07-20", "overall": {"rating": "Requires improvement"}}
            ],
        },
        {"providerId": "1-P", "name": "Provider P", "currentRatings": {}},
    ]
    path = tmp_path / "records.json"
    path.write_text(json.dumps(records))
    cfg = RunConfig.model_validate(
        {
            "data": {"locations": str(path)},
            "views": {"sectors": ["location"]},
            "metrics": {"enabled": False},
            "composite": None,
            "uncertainty": None,
            "effect": {"enabled": False},
            "scenarios": [],
        }
    )
    res = run(cfg)
    placed = _overall(res.views.mapped)
    assert placed.select("provider_id", pl.col("rating").cast(pl.String), "icb_code").rows() == [
        ("1-A", "Good", "QJK")
    ]
    assert placed["ratings_as_of"][0] == date(2020, 5, 6)  # the latest publication in the file
    c = {r["source"]: r for r in res.conservation.table.to_dicts()}["locations"]
    assert (c["n_input_rows"], c["used"], c["unmapped"], c["balanced"]) == (2, 1, 1, True)
    reason = res.conservation.unmapped["reason"].to_list()
    assert reason == ["a provider record, not a location (the sector places locations)"]
    h = res.history
    assert h is not None and h.in_force["ratings_as_of"].null_count() == h.in_force.height
    assert h.transitions.select(
        pl.col("from_rating").cast(pl.String), pl.col("to_rating").cast(pl.String)
    ).rows() == [("Requires improvement", "Good")]
    assert h.ics_summary["history_until"].null_count() == 1


def test_the_cli_runs_the_care_home_config_end_to_end(tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["run", str(CONFIG), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Traceback" not in r.output
    assert "ratings in force on 2019-01-01" in " ".join(r.output.split())
    assert "Rating history (location), on 2019-01-01: 728 records" in " ".join(r.output.split())
    summary = pl.read_csv(out / "ics_rating_transition_summary.csv")
    assert summary["n_transitions"].to_list() == [528, 173]
    in_force = pl.read_csv(out / "ratings_in_force.csv", infer_schema=False)
    assert in_force.height == 4298
    man = json.loads((out / "manifest.json").read_text())
    assert "rating_transitions.csv" in man["outputs"]


def test_a_shipped_config_finds_the_embedded_datasets_from_anywhere(tmp_path):
    # as in an installed wheel, where configs/ and datasets/ are not siblings on disk
    rel = "../datasets/raw/cqc/carehomes_sw_api_2021-04/cqc_care_homes.csv"
    from pathlib import Path

    assert _data_path(tmp_path / "configs", Path(rel)) == (
        datasets_dir() / "raw" / "cqc" / "carehomes_sw_api_2021-04" / "cqc_care_homes.csv"
    )
    other = Path("../elsewhere/file.csv")
    assert _data_path(tmp_path / "configs", other) == (tmp_path / "elsewhere" / "file.csv")
