"""SYNTHETIC data generators: reproducible, labelled, readable, and calibrated."""

import fastexcel
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ics_model.data.build import load_processed
from ics_model.data.cqc import read_cqc_ratings
from ics_model.data.population import read_sub_icb_population
from ics_model.mapping import place_locations
from ics_model.ratings import KEY_QUESTIONS
from ics_model.rules import apply_gates
from ics_model.rules.engine import combine_frame
from ics_model.rules.rulesets import Gate
from ics_model.synthetic import (
    LOCATIONS_HEADER,
    ORIGIN_COLUMN,
    SYNTHETIC,
    gate_indicators,
    synthetic_gate_locations,
    synthetic_indicator_matrix,
    synthetic_locations,
    synthetic_locations_file,
)
from tests.conftest import load_fixture_module


def _share(frame: pl.DataFrame, label: str, col: str = "rating") -> float:
    rated = frame.filter(pl.col(col).is_not_null())
    return rated.filter(pl.col(col).cast(pl.String) == label).height / rated.height


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    return synthetic_locations_file(tmp_path_factory.mktemp("syn") / "loc.csv", 5_000, seed=7)


@pytest.fixture(scope="module")
def big_sheet():
    return synthetic_locations(40_000, seed=11)


@pytest.fixture(scope="module")
def gates_frame():
    return synthetic_gate_locations(20_000, seed=5)


def test_same_seed_same_data_and_other_seed_differs():
    assert_frame_equal(synthetic_locations(2_000, seed=1), synthetic_locations(2_000, seed=1))
    assert not synthetic_locations(2_000, seed=1).equals(synthetic_locations(2_000, seed=2))
    assert_frame_equal(synthetic_gate_locations(300, seed=1), synthetic_gate_locations(300, seed=1))
    assert_frame_equal(synthetic_indicator_matrix(seed=3), synthetic_indicator_matrix(seed=3))
    rng = np.random.default_rng(9)
    assert_frame_equal(
        synthetic_indicator_matrix(seed=rng),
        synthetic_indicator_matrix(seed=np.random.default_rng(9)),
    )


def test_every_frame_and_file_is_labelled_synthetic(csv_file, tmp_path):
    frames = [
        synthetic_locations(500, seed=1),
        synthetic_gate_locations(50, seed=1),
        gate_indicators(synthetic_gate_locations(50, seed=1)),
        synthetic_indicator_matrix(seed=1),
    ]
    for f in frames:
        assert (f[ORIGIN_COLUMN] == SYNTHETIC).all()
    sheet = pl.read_csv(csv_file, infer_schema=False)
    for col in ("Location Name", "Provider Name"):
        assert sheet[col].str.contains(SYNTHETIC).all()
    note = csv_file.with_name("loc_SYNTHETIC_NOTE.txt").read_text("utf-8")
    assert SYNTHETIC in note
    xlsx = synthetic_locations_file(tmp_path / "loc.xlsx", 200, seed=1, fmt="xlsx")
    reader = fastexcel.read_excel(str(xlsx))
    assert reader.sheet_names == ["Locations", "Note"]
    note_sheet = reader.load_sheet("Note", header_row=None).to_polars()
    assert SYNTHETIC in note_sheet.item(0, 0)


def test_header_is_the_real_locations_header(csv_file):
    assert list(LOCATIONS_HEADER) == load_fixture_module().LOCATIONS_HEADER
    assert pl.read_csv(csv_file, n_rows=0).columns == list(LOCATIONS_HEADER)
    sheet = pl.read_csv(csv_file, infer_schema=False)
    assert sheet.height == 5_000
    assert sheet["Publication Date"].str.contains(r"^\d{2}/\d{2}/\d{4}$").all()
    assert set(sheet["Inherited Rating (Y/N)"]) == {"Y", "N"}
    assert sheet["Location ONSPD CCG Code"].drop_nulls().str.contains(r"^E38\d{6}$").all()


def test_csv_reads_back_conserves_rows_and_places_in_42_icbs(csv_file):
    loaded = read_cqc_ratings(csv_file)  # strict: any contract violation raises
    assert loaded.variant == "locations/domain/text-dates/csv"
    superseded = 0 if loaded.superseded is None else loaded.superseded.height
    assert loaded.frame.height + loaded.quarantine.height + superseded == loaded.n_input_rows
    assert loaded.n_input_rows == 5_000
    status = set(loaded.frame["rating_status"].cast(pl.String))
    assert {"rated", "not_rated"} <= status
    icb_codes = load_processed("icb_codes")
    placed = place_locations(
        loaded.frame,
        read_sub_icb_population().frame,
        load_processed("ods_trusts_2025"),
        icb_codes,
    )
    assert placed.accounts["n_rows"].sum() == loaded.frame.height
    assert set(placed.ratings["icb_code"]) == set(icb_codes["icb_code"])
    methods = set(placed.ratings["mapping_method"])
    assert "sub_icb_gss" in methods
    unmapped = placed.accounts.filter(pl.col("outcome") == "unmapped")["n_rows"].sum()
    assert unmapped < 0.02 * loaded.frame.height  # only locations without a sub-ICB code


def test_xlsx_reads_back_to_the_same_frame_as_csv(tmp_path):
    csv = read_cqc_ratings(synthetic_locations_file(tmp_path / "a.csv", 1_500, seed=4))
    xlsx = read_cqc_ratings(
        synthetic_locations_file(tmp_path / "a.xlsx", 1_500, seed=4, fmt="xlsx")
    )
    assert xlsx.variant == "locations/domain/text-dates/xlsx"
    assert_frame_equal(csv.frame, xlsx.frame)


def test_location_ratings_follow_the_real_marginals(big_sheet):
    trust = load_processed("cqc_trust_ratings")
    gp = load_processed("cqc_gp_practices")
    s = big_sheet.rename({"Latest Rating": "rating"})
    overall = s.filter(
        (pl.col("Service / Population Group") == "Overall") & (pl.col("Domain") == "Overall")
    )
    non_nhs = overall.filter(pl.col("Location Type") != "NHS Healthcare Organisation")
    real_core = trust.filter(pl.col("service") != "Overall")
    core = s.filter(pl.col("Report Type") == "CoreService")
    for label in ("Outstanding", "Requires improvement"):
        assert _share(non_nhs, label) == pytest.approx(_share(gp, label), abs=0.02)
        real = _share(real_core.filter(pl.col("key_question") == "Overall"), label)
        assert _share(core.filter(pl.col("Domain") == "Overall"), label) == pytest.approx(
            real, abs=0.04
        )
    not_rated = (s["rating"] == "Not rated").mean()
    assert 0.005 < not_rated < 0.015
    assert 0.001 < s["rating"].is_null().mean() < 0.006


def test_gate_frame_layout_marginals_and_consistency(gates_frame):
    g = gates_frame
    assert g.columns[:4] == ["provider_id", "icb_code", "key_question", "rating"]
    assert g.height == 6 * 20_000
    assert set(g["icb_code"]) == set(load_processed("icb_codes")["icb_code"])
    real = load_processed("cqc_trust_ratings").filter(pl.col("service") == "Overall")
    for kq in KEY_QUESTIONS:
        ours = _share(g.filter(pl.col("key_question") == kq), "Outstanding")
        theirs = _share(real.filter(pl.col("key_question") == kq), "Outstanding")
        assert ours == pytest.approx(theirs, abs=0.02), kq
    derived = combine_frame(g.filter(pl.col("key_question") != "Overall"), by=["provider_id"])
    published = g.filter(pl.col("key_question") == "Overall").select("provider_id", "rating")
    agree = derived.join(published, on="provider_id").select(
        (pl.col("derived_rating").cast(pl.String) == pl.col("rating").cast(pl.String)).mean()
    )
    assert agree.item() > 0.9


def test_gate_indicators_follow_the_real_partnership_metric(gates_frame):
    ind = gate_indicators(gates_frame)
    assert ind.height == 20_000 and ind["provider_id"].is_unique().all()
    share = ind["home_system_share"]
    assert share.drop_nulls().is_between(0, 1).all()
    assert 0.2 < share.null_count() / share.len() < 0.36  # real: 57 of 202 trusts
    assert share.mean() == pytest.approx(0.853, abs=0.02)  # real mean of 145 trusts
    gate = Gate(name="hs", level="overall", indicator="home_system_share", threshold=0.8)
    out = apply_gates(
        gates_frame, "cqc_principles", provider_indicators=ind.drop(ORIGIN_COLUMN), gates=[gate]
    )
    assert out.height == 20_000
    assert set(out["status"]) == {"not_applicable", "passed", "capped", "not_assessable"}


def test_indicator_matrix_has_correlated_blocks():
    m = synthetic_indicator_matrix(seed=2)
    assert m.shape == (42, 22)
    assert (
        m["icb_code"].sort().to_list() == load_processed("icb_codes")["icb_code"].sort().to_list()
    )
    assert m.null_count().sum_horizontal().item() == 0
    big = synthetic_indicator_matrix(3_000, 12, seed=2, n_factors=3)
    assert big["icb_code"].is_unique().all()
    corr = np.corrcoef(big.select(pl.col(r"^ind_\d+$")).to_numpy().T)
    block = np.arange(12) % 3
    same = (block[:, None] == block[None, :]) & ~np.eye(12, dtype=bool)
    assert corr[same].min() > 0.25
    assert np.abs(corr[block[:, None] != block[None, :]]).max() < 0.1


def test_synthetic_csv_is_proved_by_the_polars_read_alone(csv_file, monkeypatch):
    import ics_model.data.delimited as delimited

    with monkeypatch.context() as m:  # the benchmark's file shape: no line is looked at
        m.setattr(delimited, "read_lines", lambda *a: pytest.fail("the lines were read"))
        proved = read_cqc_ratings(csv_file, mode="lenient")
    read_lines = delimited.read_lines
    looked = []
    monkeypatch.setattr(delimited, "_lone_cr", lambda data: True)  # forces the line check
    monkeypatch.setattr(delimited, "read_lines", lambda s: looked.append(s) or read_lines(s))
    checked = read_cqc_ratings(csv_file, mode="lenient")
    assert looked
    for part in ("frame", "quarantine", "superseded"):
        assert_frame_equal(getattr(proved, part), getattr(checked, part))
    assert (proved.n_input_rows, proved.notes) == (checked.n_input_rows, checked.notes)
