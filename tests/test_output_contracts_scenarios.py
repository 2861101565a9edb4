"""Scenario and effect output contracts on tiny hand-made frames: each valid frame
passes, each broken one is reported at the right row and column."""

import dataclasses

import polars as pl

from ics_model.effects import EffectResult
from ics_model.effects.contracts import EFFECT
from ics_model.output_contracts import check_outputs
from ics_model.ratings import RatingEnum


def _set(frame: pl.DataFrame, column: str, values: list) -> pl.DataFrame:
    return frame.with_columns(pl.Series(column, values, dtype=frame.schema[column]))


# --------------------------------------------------------------------------- scenarios

PROVIDERS = pl.DataFrame(
    {
        "provider_id": ["R1", "R2", "R3"],
        "provider_name": ["A trust", "B trust", None],
        "icb_code": ["QE1", "QE1", "QF7"],
        "icb_name": ["Lancashire", "Lancashire", "South Yorkshire"],
        "rating_published": pl.Series(["Outstanding", "Good", None], dtype=RatingEnum),
        "rating_scenario": pl.Series(["Good", "Good", None], dtype=RatingEnum),
        "status": ["capped", "not_applicable", "not_applicable"],
        "overall_changed": [True, False, False],
        "outcome": ["lost", None, None],
        "reason": ["home: provider home_system_share 0.4 >= 0.5 -> capped", None, None],
        "home_status": ["capped", "not_applicable", "not_applicable"],
        "home_value": [0.4, 0.9, None],
    }
)


def test_scenario_providers_with_their_gate_columns():
    assert check_outputs({"scenario_x.csv": PROVIDERS}) == []
    bad = _set(
        _set(PROVIDERS, "home_status", ["capped", "maybe", "not_applicable"]),
        "provider_id",
        ["R1", "R2", "R1"],
    )
    assert check_outputs({"scenario_x.csv": bad}) == [
        "scenario_x.csv: row 0, column 'provider_id', value 'R1': duplicate key",
        "scenario_x.csv: row 1, column 'home_status', value 'maybe': not one of the allowed "
        "values ['capped', 'not_applicable', 'not_assessable', 'passed']",
        "scenario_x.csv: row 2, column 'provider_id', value 'R1': duplicate key",
    ]
    # a gate's value column must be numeric
    text = PROVIDERS.with_columns(pl.col("home_value").cast(pl.String))
    assert check_outputs({"scenario_x.csv": text}) == [
        "scenario_x.csv: column 'home_value': dtype String where Float64 is declared"
    ]


BY_ICS = pl.DataFrame(
    {
        "icb_code": ["QE1", "QF7"],
        "icb_name": ["Lancashire", "South Yorkshire"],
        "n_providers": [3, 1],
        "n_rated": [3, 1],
        "n_outstanding_before": [2, 0],
        "n_outstanding_after": [1, 0],
        "n_lost": [1, 0],
        "n_not_assessable": [0, 0],
        "n_changed": [1, 0],
        "n_not_assessable_any": [0, 0],
        "share_changed": [0.5, None],
    }
)


def test_scenario_by_ics():
    assert check_outputs({"scenario_x_by_ics.csv": BY_ICS}) == []
    bad = _set(BY_ICS, "share_changed", [1.5, None])
    assert check_outputs({"scenario_x_by_ics.csv": bad}) == [
        "scenario_x_by_ics.csv: row 0, column 'share_changed', value '1.5': above the maximum 1.0"
    ]


def _scenario_json(**national):
    row = {
        "icb_code": "ENGLAND",
        **{c: BY_ICS[c].sum() for c in BY_ICS.columns if c.startswith("n_")},
        "n_ics": 2,
        "n_ics_with_loss": 1,
        "share_changed": 0.5,
        **national,
    }
    return {"scenario": {"name": "x"}, "national": [row], "notes": [], "label": "modelled"}


def test_scenario_json_national_rows():
    assert check_outputs({"scenario_x.json": _scenario_json()}) == []
    # no provider Outstanding: a null share is declared Float64, not a null-typed column
    assert check_outputs({"scenario_x.json": _scenario_json(share_changed=None)}) == []
    assert check_outputs({"scenario_x.json": _scenario_json(icb_code="QE1")}) == [
        "scenario_x.json: row 0, column 'icb_code', value 'QE1': not one of the allowed "
        "values ['ENGLAND']"
    ]


SWEEP = pl.DataFrame(
    {
        "gate": ["home", "home"],
        "level": ["overall", "overall"],
        "key_question": pl.Series([None, None], dtype=pl.String),
        "indicator": ["home_system_share", "home_system_share"],
        "scope": ["provider", "provider"],
        "op": [">=", ">="],
        "threshold": [0.5, 0.5],
        "icb_code": ["ENGLAND", "QE1"],
        "n_providers": [3, 3],
        "n_outstanding_before": [2, 2],
        "n_lost": [1, 1],
        "n_not_assessable": [0, 0],
        "n_outstanding_after": [1, 1],
        "share_changed": [0.5, 0.5],
    }
)


def test_scenario_sweep():
    assert check_outputs({"scenario_x_sweep.csv": SWEEP}) == []
    bad = _set(SWEEP, "op", ["==", ">="])
    assert check_outputs({"scenario_x_sweep.csv": bad}) == [
        "scenario_x_sweep.csv: row 0, column 'op', value '==': not one of the allowed "
        "values ['<', '<=', '>', '>=']"
    ]


THRESHOLDS = pl.DataFrame(
    {
        "scenario": ["x", "x"],
        "gate": ["home", "home"],
        "icb_code": ["ENGLAND", "QE1"],
        "threshold_low": [0.4, 0.4],
        "threshold_high": [0.6, 0.6],
        "n_draws": [200, 200],
        "n_outstanding_before": [2, 2],
        "lost_median": [1.0, 1.0],
        "lost_p05": [0.0, 0.0],
        "lost_p95": [2.0, 2.0],
        "not_assessable": [0, 0],
    }
)


def test_scenario_threshold_uncertainty():
    name = "scenario_x_threshold_uncertainty.csv"
    assert check_outputs({name: THRESHOLDS}) == []
    bad = _set(THRESHOLDS, "n_draws", [200, 0])
    assert check_outputs({name: bad}) == [
        f"{name}: row 1, column 'n_draws', value '0': below the minimum 1"
    ]


# --------------------------------------------------------------------------- effect

EFFECT_DICT = {
    "outcome": "Outstanding",
    "exposure": "self_containment",
    "exposure_level": "ics",
    "controls": ["rating_year"],
    "design_columns": ["exposure (per SD)", "(intercept)"],
    "estimate": 0.8,
    "odds_ratio_per_sd": 0.8,
    "odds_ratio_per_unit": 0.1,
    "log_odds_per_sd": -0.22,
    "exposure_mean": 0.8,
    "exposure_sd": 0.09,
    "ci_lower": 0.15,
    "ci_upper": float("inf"),
    "p_value_model": 0.6,
    "p_value_permutation": None,
    "se_cr1": 0.35,
    "se_model": 0.41,
    "ci_cr1_lower": 0.4,
    "ci_cr1_upper": 1.6,
    "p_value_cr1": 0.5,
    "n_providers": 710,
    "n_clusters": 41,
    "n_outcome": 5,
    "n_clusters_with_outcome": 5,
    "prevalence": 0.007,
    "icc_outcome": 0.03,
    "icc_exposure": 1.0,
    "design_effect": 1.9,
    "exposure_residual_variance": 0.86,
    "min_detectable_effect": 6.6,
    "n_dropped": {"missing_exposure": 4},
    "dropped_clusters": ["QNQ"],
    "converged": True,
    "method": "Association only, not causal: logistic regression",
    "caveats": ["Observational association, not a causal effect"],
    "seed": 20220701,
    "seed_entropy": 20220701,
    "permutations": 199,
    "bootstrap_draws": 199,
    "population": "gp_since_2022",
}


def test_collaboration_effect_in_frame_form():
    assert check_outputs({"collaboration_effect.json": EFFECT_DICT}) == []
    assert check_outputs({"collaboration_effect.json": {"skipped": "no GP sector"}}) == []
    bad = {**EFFECT_DICT, "p_value_model": 1.5, "n_providers": "710", "population": "all"}
    assert check_outputs({"collaboration_effect.json": bad}) == [
        "collaboration_effect.json: column 'n_providers': dtype String where Int64 is declared",
        "collaboration_effect.json: row 0, column 'p_value_model', value '1.5': above the "
        "maximum 1.0",
        "collaboration_effect.json: row 0, column 'population', value 'all': not one of the "
        "allowed values ['gp_all_years', 'gp_since_2022', 'nhs_trusts']",
    ]


def test_effect_contract_covers_every_scalar_field_of_the_result():
    lists = {"controls", "design_columns", "n_dropped", "dropped_clusters", "caveats"}
    fields = [f.name for f in dataclasses.fields(EffectResult) if f.name not in lists]
    assert [c.name for c in EFFECT.columns if c.required] == fields
    assert [c.name for c in EFFECT.columns if not c.required] == [
        "population",
        "warning",
        "placebo",
        "conclusion",
    ]
