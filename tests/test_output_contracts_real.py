"""Every output of real runs of the shipped configs meets its declared contract.

One run per config (module-scoped), with fewer Monte Carlo draws than shipped so the
runs stay quick (the frames' columns do not depend on the number of draws); the default
run also computes the Sobol' indices, so ``sensitivity.csv`` is checked.
"""

import polars as pl
import pytest

from ics_model.config import config_from_dict, config_to_dict, load_config
from ics_model.data.bundled import configs_dir
from ics_model.output_contracts import check_outputs, contract_for
from ics_model.outputs import output_tables
from ics_model.pipeline import run

CONFIGS = ("default", "partnership_heavy", "quality_only", "equal_weights")
SCENARIOS = (
    "trust_home_share_overall",
    "trust_wellled_self_containment",
    "gp_self_containment_overall",
)


def _quick(name: str):
    cfg = config_to_dict(load_config(configs_dir() / f"{name}.yaml"))
    cfg["uncertainty"]["draws"] = 200
    cfg["effect"]["permutations"] = 199
    cfg["metrics"]["sii_repetitions"] = 2000
    if name == "default":
        cfg["uncertainty"]["sobol"] = {"enabled": True, "n": 8, "num_resamples": 10, "pool": 16}
    return config_from_dict(cfg, source=name)


@pytest.fixture(scope="module", params=CONFIGS)
def tables(request):
    return output_tables(run(_quick(request.param)))


def test_every_output_of_a_real_run_meets_its_contract(tables):
    assert check_outputs(tables) == []


def test_every_output_of_a_real_run_has_a_contract(tables):
    for name in tables:
        contract_for(name)  # raises for an output without a contract
    frames = [t for t in tables.values() if isinstance(t, pl.DataFrame)]
    # quarantine and set_aside are empty unless lenient mode / ratings limits are used
    empty_ok = (tables["quarantine.csv"], tables["set_aside.csv"])
    assert all(t.height for t in frames if not any(t is e for e in empty_ok))
    expected = {
        "ics_view.csv",
        "providers.csv",
        "unmapped.csv",
        "quarantine.csv",
        "superseded.csv",
        "set_aside.csv",
        "conservation.csv",
        "ics_modelled_ratings.csv",
        "ics_metrics.csv",
        "provider_partnership.csv",
        "ics_flow_matrix.csv",
        "gp_quintiles.csv",
        "composite.csv",
        "composite.parquet",
        "composite_indicators.csv",
        "composite_weights.csv",
        "correlations.csv",
        "uncertainty.csv",
        "uncertainty_assumptions.csv",
        "collaboration_effect.json",
        *(f"scenario_{s}{part}" for s in SCENARIOS for part in (".csv", ".json", "_by_ics.csv")),
        *(f"scenario_{s}_sweep.csv" for s in SCENARIOS),
        *(f"scenario_{s}_threshold_uncertainty.csv" for s in SCENARIOS),
    }
    assert expected <= set(tables)


def test_the_sobol_run_writes_sensitivity_and_it_is_checked(tables, request):
    # only the default run switches Sobol' indices on (see _quick)
    if request.node.callspec.params["tables"] != "default":
        assert "sensitivity.csv" not in tables
        return
    sens = tables["sensitivity.csv"]
    assert sens.height > 0
    third = pl.int_range(pl.len()) == 3
    bad = sens.with_columns(pl.when(third).then(-0.5).otherwise("ST_conf").alias("ST_conf"))
    assert check_outputs({"sensitivity.csv": bad}) == [
        "sensitivity.csv: row 3, column 'ST_conf', value '-0.5': below the minimum 0.0"
    ]


def test_a_broken_real_frame_is_reported_at_its_row(tables):
    composite = tables["composite.csv"].with_row_index("_i")
    bad = composite.with_columns(
        pl.when(pl.col("_i") == 7).then(0).otherwise(pl.col("rank")).alias("rank")
    ).drop("_i")
    scores = check_outputs({"composite.csv": bad})
    assert scores == ["composite.csv: row 7, column 'rank', value '0': below the minimum 1"]
    # the reused contracts are checked as well: a trust placed twice in the ICS view
    view = tables["ics_view.csv"]
    dup = pl.concat([view, view.head(1)])
    problems = check_outputs({"ics_view.parquet": dup})
    assert [p.split(", value")[0] for p in problems] == [
        "ics_view.parquet: row 0, column 'icb_code+sector+key_question'",
        f"ics_view.parquet: row {view.height}, column 'icb_code+sector+key_question'",
    ]


def test_a_lenient_run_with_locations_and_quarantined_rows_meets_the_contracts(
    tmp_path, cqc_fixtures
):
    trusts = tmp_path / "mine.csv"
    trusts.write_text(
        "Provider ID,Service / Population Group,Key Question,Latest Rating,Publication Date,"
        "Report Type\n"
        "RJ1,Overall,Overall,Good,01/02/2018,Provider\n"
        "RJ1,Overall,Overall,Good,01/02/2018,Provider\n"
        "RJ1,Overall,Safe,Superb,01/02/2018,Provider\n",
        encoding="utf-8",
    )
    cfg = config_from_dict(
        {
            "data": {
                "trust_ratings": str(trusts),
                "locations": str(cqc_fixtures["locations_csv"]),
                "validation": "lenient",
            },
            "views": {"sectors": ["nhs_trust", "location"]},
            "metrics": {"enabled": False},
            "composite": None,
            "uncertainty": None,
            "scenarios": [],
        }
    )
    out = output_tables(run(cfg))
    assert out["quarantine.csv"]["source_row"].to_list() == [2, 3, 4]
    assert set(out["providers.csv"]["sector"].cast(pl.String)) == {"nhs_trust", "location"}
    assert check_outputs(out) == []
