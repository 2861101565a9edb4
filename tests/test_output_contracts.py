"""Output contracts on tiny hand-made frames: each valid frame passes, each broken one is
reported at the right row and column."""

import polars as pl
import pytest

from ics_model.composite import default_composite_spec, weights_frame
from ics_model.composite.contracts import (
    COMPOSITE_INDICATORS,
    COMPOSITE_SCORES,
    COMPOSITE_WEIGHTS,
    CORRELATIONS,
)
from ics_model.contracts import empty_quarantine
from ics_model.effects.contracts import EFFECT, EFFECT_SKIPPED
from ics_model.mapping.base import SUPERSEDED_SCHEMA, UNMAPPED_SCHEMA
from ics_model.mapping.contracts import (
    CONSERVATION,
    PLACEMENT_CHECKS,
    QUARANTINE,
    SUPERSEDED,
    UNMAPPED,
)
from ics_model.metrics.contracts import GP_QUINTILES
from ics_model.metrics.partnership import PROVIDER_PARTNERSHIP
from ics_model.output_contracts import (
    UnknownOutputError,
    check_outputs,
    contract_for,
    contract_for_frame,
)
from ics_model.ratings import KeyQuestionEnum, SectorEnum
from ics_model.rules.contracts import ICS_MODELLED_RATINGS, MODELLED_VALUES
from ics_model.rules.ics import MODELLED_LABEL
from ics_model.scenarios.contracts import (
    SCENARIO_BY_ICS,
    SCENARIO_NATIONAL,
    SCENARIO_PROVIDERS,
    SCENARIO_SWEEP,
    SCENARIO_THRESHOLD_UNCERTAINTY,
)
from ics_model.scenarios.sweep import SWEEP_COLUMNS
from ics_model.uncertainty.contracts import (
    SENSITIVITY,
    UNCERTAINTY_ASSUMPTIONS,
    UNCERTAINTY_PER_ICS,
)
from ics_model.uncertainty.run import PER_ICS_COLUMNS
from ics_model.views import ICS_VIEW

NEW_CONTRACTS = (
    COMPOSITE_SCORES,
    COMPOSITE_INDICATORS,
    COMPOSITE_WEIGHTS,
    CORRELATIONS,
    UNCERTAINTY_PER_ICS,
    UNCERTAINTY_ASSUMPTIONS,
    SENSITIVITY,
    SCENARIO_PROVIDERS,
    SCENARIO_BY_ICS,
    SCENARIO_NATIONAL,
    SCENARIO_SWEEP,
    SCENARIO_THRESHOLD_UNCERTAINTY,
    EFFECT,
    EFFECT_SKIPPED,
    GP_QUINTILES,
    ICS_MODELLED_RATINGS,
    CONSERVATION,
    UNMAPPED,
    SUPERSEDED,
    QUARANTINE,
    PLACEMENT_CHECKS,
)


def _set(frame: pl.DataFrame, column: str, values: list) -> pl.DataFrame:
    return frame.with_columns(pl.Series(column, values, dtype=frame.schema[column]))


def _schema(contract):
    return {c.name: c.dtype for c in contract.columns}


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "contract"),
    [
        ("composite.csv", COMPOSITE_SCORES),
        ("composite.parquet", COMPOSITE_SCORES),
        ("out/ics_view.parquet", ICS_VIEW),
        ("provider_partnership.csv", PROVIDER_PARTNERSHIP),
        ("scenario_x.csv", SCENARIO_PROVIDERS),
        ("scenario_x_by_ics.csv", SCENARIO_BY_ICS),
        ("scenario_x_sweep.csv", SCENARIO_SWEEP),
        ("scenario_gate_a_threshold_uncertainty.csv", SCENARIO_THRESHOLD_UNCERTAINTY),
        ("scenario_x.json", SCENARIO_NATIONAL),
        ("collaboration_effect.json", EFFECT),
    ],
)
def test_contract_for_maps_file_names(name, contract):
    assert contract_for(name) is contract


@pytest.mark.parametrize("name", ["mystery.csv", "composite.json", "scenario_.csv", "ics_view"])
def test_contract_for_an_unknown_output_names_the_file(name):
    with pytest.raises(UnknownOutputError) as err:
        contract_for(name)
    assert isinstance(err.value, KeyError)
    assert str(err.value).startswith(f"no contract is declared for output {name!r}")
    assert "scenario_<name>_sweep.csv" in str(err.value)


def test_check_outputs_reports_an_output_without_contract_and_a_wrong_kind():
    problems = check_outputs({"mystery.csv": pl.DataFrame(), "composite.csv": {"a": 1}})
    assert problems[0].startswith("mystery.csv: no contract is declared for output")
    assert problems[1] == "composite.csv: a dict where a polars DataFrame is expected"
    assert check_outputs({"scenario_x.json": {"notes": []}}) == [
        "scenario_x.json: no 'national' list of rows"
    ]


def test_every_new_contract_describes_every_column_and_allows_no_other():
    for contract in NEW_CONTRACTS:
        assert not contract.extra_columns, contract.name
        assert all(c.description for c in contract.columns), contract.name


def test_declared_contracts_match_the_builders_schemas():
    assert _schema(UNMAPPED) == UNMAPPED_SCHEMA
    assert _schema(SUPERSEDED) == SUPERSEDED_SCHEMA
    assert _schema(QUARANTINE) == dict(empty_quarantine().schema)
    assert tuple(UNCERTAINTY_PER_ICS.column_names) == PER_ICS_COLUMNS
    assert tuple(SCENARIO_SWEEP.column_names) == SWEEP_COLUMNS
    assert _schema(COMPOSITE_WEIGHTS) == dict(weights_frame(default_composite_spec()).schema)


# --------------------------------------------------------------------------- composite

SCORES = pl.DataFrame(
    {
        "icb_code": ["QE1", "QF7", "QGH"],
        "icb_name": ["Lancashire", "South Yorkshire", None],
        "score": [60.0, 40.0, None],
        "score_0_100": [100.0, 0.0, None],
        "rank": [1, 2, None],
        "pillar_quality": [70.0, 30.0, None],
        "affected": [None, None, "not ranked"],
        "coverage": [1.0, 1.0, 0.25],
    }
)


def test_composite_scores():
    assert check_outputs({"composite.csv": SCORES}) == []
    assert contract_for_frame("composite.csv", SCORES).column("pillar_quality").dtype == (
        pl.Float64
    )
    bad = _set(SCORES, "rank", [1, 0, None]).with_columns(
        pl.col("pillar_quality").cast(pl.String), extra=pl.lit(1)
    )
    assert check_outputs({"composite.parquet": bad}) == [
        "composite.parquet: column 'extra': column not declared in the contract",
        "composite.parquet: column 'pillar_quality': dtype String where Float64 is declared",
        "composite.parquet: row 1, column 'rank', value '0': below the minimum 1",
    ]


INDICATORS = pl.DataFrame(
    {
        "icb_code": ["QE1", "QE1"],
        "pillar": ["quality", "quality"],
        "indicator": ["trust_go", "gp_go"],
        "raw": [0.5, None],
        "transformed": [0.5, None],
        "normalised": [50.0, None],
        "weight_in_pillar": [1.0, 0.0],
        "weight_in_composite": [1.0, 0.0],
        "contribution": [50.0, None],
        "status": ["observed", "skipped"],
    }
)


def test_composite_indicators():
    assert check_outputs({"composite_indicators.csv": INDICATORS}) == []
    bad = _set(INDICATORS, "status", ["observed", "missing"])
    assert check_outputs({"composite_indicators.csv": bad}) == [
        "composite_indicators.csv: row 1, column 'status', value 'missing': not one of the "
        "allowed values ['imputed', 'incomplete', 'observed', 'skipped']"
    ]


WEIGHTS = pl.DataFrame(
    {
        "level": ["pillar", "indicator", "indicator"],
        "name": ["quality", "trust_go", "gp_go"],
        "pillar": ["quality", "quality", "quality"],
        "weight_given": [1.0, 1.0, 3.0],
        "weight_normalised": [1.0, 0.25, 0.75],
        "weight_in_composite": [1.0, 0.25, 0.75],
    }
)


def test_composite_weights():
    assert check_outputs({"composite_weights.csv": WEIGHTS}) == []
    bad = _set(WEIGHTS, "name", ["quality", "trust_go", "trust_go"])
    assert check_outputs({"composite_weights.csv": bad}) == [
        "composite_weights.csv: row 1, column 'level+name', value 'indicator | trust_go': "
        "duplicate key",
        "composite_weights.csv: row 2, column 'level+name', value 'indicator | trust_go': "
        "duplicate key",
    ]


CORR = pl.DataFrame(
    {
        "indicator_a": ["a", "a"],
        "indicator_b": ["b", "c"],
        "pillar_a": ["p", "p"],
        "pillar_b": ["p", "q"],
        "n": [42, 2],
        "pearson": [0.5, None],
        "spearman": [0.4, None],
        "same_pillar": [True, False],
        "flag_high": [False, False],
        "flag_negative_within_pillar": [False, False],
    }
)


def test_correlations():
    assert check_outputs({"correlations.csv": CORR}) == []
    bad = _set(CORR, "pearson", [0.5, 1.5])
    assert check_outputs({"correlations.csv": bad}) == [
        "correlations.csv: row 1, column 'pearson', value '1.5': above the maximum 1.0"
    ]


# --------------------------------------------------------------------------- uncertainty

PER_ICS = pl.DataFrame(
    {
        "icb_code": ["QE1", "QF7"],
        "icb_name": ["Lancashire", "South Yorkshire"],
        "score": [60.0, None],
        "rank": [1, None],
        "rank_median": [1.0, None],
        "rank_p05": [1.0, None],
        "rank_p95": [3.0, None],
        "p_top_k": [0.9, None],
        "p_bottom_k": [0.0, None],
        "score_median": [59.0, None],
        "score_p05": [50.0, None],
        "score_p95": [65.0, None],
        "n_draws": [200, 0],
    }
)


def test_uncertainty_per_ics():
    assert check_outputs({"uncertainty.csv": PER_ICS}) == []
    bad = _set(_set(PER_ICS, "p_top_k", [1.2, None]), "icb_code", ["QE1", None])
    assert check_outputs({"uncertainty.csv": bad}) == [
        "uncertainty.csv: row 0, column 'p_top_k', value '1.2': above the maximum 1.0",
        "uncertainty.csv: row 1, column 'icb_code': null in a non-nullable column",
    ]


ASSUMPTIONS = pl.DataFrame(
    {
        "assumption": ["weights", "normalisation", "aggregation", "bootstrap"],
        "indicator": ["(all indicators)"] * 3 + ["self_containment"],
        "varied": [True, False, False, True],
        "setting": ["dirichlet (concentration 50)", "0: minmax", "0: arithmetic", "the share"],
        "distribution": ["Dirichlet", "none", "none", "Beta(k + 1/2, n - k + 1/2)"],
        "parameters_source": ["weights", "normalisation", "aggregation", "share_counts"],
        "held_fixed": ["zero weights", "range", "pillar aggregation", "n"],
        "n_draws": [200, 200, 200, 200],
    }
)


def test_uncertainty_assumptions():
    assert check_outputs({"uncertainty_assumptions.csv": ASSUMPTIONS}) == []
    bad = _set(ASSUMPTIONS, "assumption", ["weights", "normalisation", "aggregation", "seed"])
    assert check_outputs({"uncertainty_assumptions.csv": bad}) == [
        "uncertainty_assumptions.csv: row 3, column 'assumption', value 'seed': not one of the "
        "allowed values ['aggregation', 'bootstrap', 'normalisation', 'weights']"
    ]


SOBOL = pl.DataFrame(
    {
        "icb_code": ["QE1", "QE1", "ENGLAND"],
        "icb_name": ["Lancashire", "Lancashire", "England (mean over ICSs)"],
        "output": ["rank", "score", "rank"],
        "assumption": ["weights", "weights", "weights"],
        "S1": [-0.1, 0.8, None],
        "S1_conf": [0.2, 0.1, None],
        "ST": [0.9, 1.0, None],
        "ST_conf": [0.1, 0.1, None],
    }
)


def test_sensitivity():
    assert check_outputs({"sensitivity.csv": SOBOL}) == []
    bad = _set(_set(SOBOL, "output", ["rank", "ranks", "rank"]), "icb_code", ["QE1", "QE1", "UK"])
    pattern = SENSITIVITY.column("icb_code").pattern
    assert pattern.endswith("|ENGLAND")
    assert check_outputs({"sensitivity.csv": bad}) == [
        "sensitivity.csv: row 1, column 'output', value 'ranks': not one of the allowed "
        "values ['rank', 'score']",
        f"sensitivity.csv: row 2, column 'icb_code', value 'UK': does not match the pattern "
        f"{pattern!r}",
    ]


# --------------------------------------------------------------------------- other tables

QUINTILES = pl.DataFrame(
    {
        "icb_code": ["QE1", "QE1"],
        "imd_quintile": pl.Series([1, 2], dtype=pl.Int8),
        "n_rated": [10, 4],
        "n_go": [9, 4],
        "n_o": [1, 0],
        "share_go": [0.9, 1.0],
        "share_o": [0.1, 0.0],
        "share_go_lower": [0.6, 0.5],
        "share_go_upper": [0.98, 1.0],
        "share_o_lower": [0.02, 0.0],
        "share_o_upper": [0.4, 0.5],
        "share_go_se": [0.1, 0.13],
        "share_o_se": [0.1, 0.13],
    }
)


def test_gp_quintiles():
    assert check_outputs({"gp_quintiles.csv": QUINTILES}) == []
    bad = _set(QUINTILES, "imd_quintile", [1, 6])
    assert check_outputs({"gp_quintiles.csv": bad}) == [
        "gp_quintiles.csv: row 1, column 'imd_quintile', value '6': above the maximum 5"
    ]


MODELLED = pl.DataFrame(
    {
        "icb_code": ["QE1", "QE1"],
        "sector": pl.Series(["nhs_trust", "nhs_trust"], dtype=SectorEnum),
        "key_question": pl.Series(["Overall", "Overall"], dtype=KeyQuestionEnum),
        "rule_set": ["ics_shares", "ics_nof_segments"],
        "modelled_value": ["Good", "2"],
        "kind": ["modelled_ics_rating", "modelled_ics_segment"],
        "n_rated": [5, 5],
        "rule": ["2: Good", None],
        "worst_provider_rating": ["Requires improvement", "Requires improvement"],
        "note": pl.Series([None, None], dtype=pl.String),
        "label": [MODELLED_LABEL, MODELLED_LABEL],
    }
)


def test_ics_modelled_ratings():
    assert check_outputs({"ics_modelled_ratings.csv": MODELLED}) == []
    bad = _set(MODELLED, "modelled_value", ["Excellent", "2"])
    assert check_outputs({"ics_modelled_ratings.csv": bad}) == [
        "ics_modelled_ratings.csv: row 0, column 'modelled_value', value 'Excellent': not one "
        f"of the allowed values {sorted(MODELLED_VALUES)}"
    ]


CONS = pl.DataFrame(
    {
        "source": ["trust_ratings", "icb_codes"],
        "used": [7, 42],
        "inherited": [1, 0],
        "superseded": [1, 0],
        "quarantined": [0, 0],
        "unmapped": [1, 0],
        "stale": [0, 0],
        "inherited_excluded": [0, 0],
        "ambulance_excluded": [0, 0],
        "not_registered": [0, 0],
        "total": [10, 42],
        "n_input_rows": [10, 42],
        "balanced": [True, True],
    }
)


def test_conservation():
    assert check_outputs({"conservation.csv": CONS}) == []
    bad = _set(CONS, "unmapped", [-1, 0]).with_columns(pl.col("total").cast(pl.Float64))
    assert check_outputs({"conservation.csv": bad}) == [
        "conservation.csv: column 'total': dtype Float64 where Int64 is declared",
        "conservation.csv: row 0, column 'unmapped', value '-1': below the minimum 0",
    ]


UNMAPPED_ROWS = pl.DataFrame(
    {
        "source": ["trust_ratings", "gp_practices"],
        "sector": ["nhs_trust", "gp_practice"],
        "provider_id": ["RYK", "row 12"],
        "n_rows": [6, 1],
        "reason": ["closed trust with no open successor (RYK)", "no practice code"],
    }
)


def test_unmapped():
    assert check_outputs({"unmapped.csv": UNMAPPED_ROWS}) == []
    bad = _set(UNMAPPED_ROWS, "sector", ["hospital", "gp_practice"])
    assert check_outputs({"unmapped.csv": bad}) == [
        "unmapped.csv: row 0, column 'sector', value 'hospital': not one of the allowed "
        "values ['gp_practice', 'independent_healthcare', 'location', 'nhs_trust']"
    ]


CHECK_ROWS = pl.DataFrame(
    {
        "source": ["independent_healthcare"] * 2,
        "sector": ["independent_healthcare"] * 2,
        "provider_id": ["1-107318660", "1-18175063301"],
        "provider_name": ["Saint Francis Hospice", None],
        "latitude": [51.62, None],
        "longitude": [0.18, None],
        "local_authority": ["Havering", None],
        "point_outcome": ["within", "no_coordinates"],
        "distance_m": [0.0, None],
        "icb_code_2023": ["QM7", None],
        "la_icb_codes": ["QMF", None],
        "la_icb_distance_m": [352.0, None],
        "la_check": ["disagrees", "not_placed"],
    }
)


def test_placement_checks():
    assert check_outputs({"placement_checks.csv": CHECK_ROWS}) == []
    bad = _set(CHECK_ROWS, "la_check", ["maybe", "not_placed"])
    bad = _set(bad, "distance_m", [-1.0, None])
    assert check_outputs({"placement_checks.csv": bad}) == [
        "placement_checks.csv: row 0, column 'distance_m', value '-1.0': below the minimum 0",
        "placement_checks.csv: row 0, column 'la_check', value 'maybe': not one of the allowed "
        "values ['agrees', 'disagrees', 'la_not_in_lookup', 'no_local_authority', 'not_placed']",
    ]


SUPERSEDED_ROWS = pl.DataFrame(
    {
        "source": ["trust_ratings", "trust_ratings"],
        "source_row": [120, None],
        "provider_id": ["RXE", "RXF"],
        "n_rows": [1, 24],
        "reason": ["superseded by publication of 2018-06-28", "successor RXE rated"],
    }
)


def test_superseded_rows_are_numbered_by_frame_row_not_source_row():
    assert check_outputs({"superseded.csv": SUPERSEDED_ROWS}) == []
    bad = _set(SUPERSEDED_ROWS, "source_row", [130, 0])
    assert check_outputs({"superseded.csv": bad}) == [
        "superseded.csv: row 1, column 'source_row', value '0': below the minimum 1"
    ]


def test_quarantine():
    rows = pl.DataFrame(
        {
            "source": ["trusts.csv", "trusts.csv"],
            "source_row": [5, 6],
            "reason": ["code: x (pattern)", "name: <null> (null)"],
            "record": ['{"code":"x"}', '{"code":"RJ1"}'],
        }
    )
    assert check_outputs({"quarantine.csv": rows}) == []
    assert check_outputs({"quarantine.csv": empty_quarantine()}) == []
    bad = _set(rows, "reason", ["code: x (pattern)", None])
    assert check_outputs({"quarantine.csv": bad}) == [
        "quarantine.csv: row 1, column 'reason': null in a non-nullable column"
    ]


def test_reused_flow_matrix_contract():
    flows = pl.DataFrame(
        {
            "resident_icb_code": ["QE1", "QE1"],
            "provider_icb_code": ["QE1", "independent_sector"],
            "is_home": [True, False],
            "pathways": [90, 10],
            "share_of_resident": [0.9, 0.1],
        }
    )
    assert check_outputs({"ics_flow_matrix.csv": flows}) == []
    bad = _set(flows, "share_of_resident", [0.9, 1.1])
    assert check_outputs({"ics_flow_matrix.csv": bad}) == [
        "ics_flow_matrix.csv: row 1, column 'share_of_resident', value '1.1': above the maximum 1.0"
    ]
