"""Composite spec: validation with key paths, and the default spec."""

import pytest

from ics_model.composite import (
    CompositeSpec,
    composite_spec_from_dict,
    default_composite_spec,
)
from ics_model.composite.spec import parse_source
from ics_model.config import ConfigError


def ind(name, source="metric:self_containment", **kw):
    return {"name": name, "source": source, "direction": "higher_is_better", **kw}


def spec_dict(**top):
    base = {
        "pillars": {
            "quality": {"weight": 2, "indicators": [ind("a"), ind("b")]},
            "partnership": {"indicators": [ind("c")]},
        }
    }
    return {**base, **top}


def error_text(data) -> str:
    with pytest.raises(ConfigError) as err:
        composite_spec_from_dict(data)
    return str(err.value)


def test_a_valid_spec_round_trips_and_is_frozen():
    spec = composite_spec_from_dict(spec_dict())
    assert spec.pillars["quality"].weight == 2
    assert [i.name for _, i in spec.indicators] == ["a", "b", "c"]
    assert spec.pillar_aggregation("quality") == "arithmetic"
    assert composite_spec_from_dict(spec.model_dump()) == spec
    with pytest.raises(Exception, match="frozen"):
        spec.aggregation = "geometric"


def test_unknown_method_names_list_the_allowed_values():
    msg = error_text(spec_dict(aggregation="median"))
    assert "aggregation" in msg and "'median'" in msg
    assert "arithmetic, geometric, harmonic, generalised" in msg
    msg = error_text(spec_dict(missing="drop"))
    assert "missing:" in msg and "error, skip_reweight, impute_median" in msg
    d = spec_dict()
    d["pillars"]["quality"]["indicators"][0]["normalise"] = "minmaxx"
    msg = error_text(d)
    assert "pillars.quality.indicators.0.normalise" in msg
    assert "minmax, zscore, rank, percentile_rank, goalposts" in msg
    d = spec_dict()
    d["pillars"]["quality"]["indicators"][1]["transform"] = "sqrt"
    assert "pillars.quality.indicators.1.transform" in error_text(d)
    d = spec_dict()
    d["pillars"]["partnership"]["aggregation"] = "max"
    assert "pillars.partnership.aggregation" in error_text(d)


def test_negative_and_all_zero_weights():
    d = spec_dict()
    d["pillars"]["quality"]["indicators"][0]["weight"] = -1
    msg = error_text(d)
    assert "pillars.quality.indicators.0.weight" in msg and "given: -1" in msg
    d = spec_dict()
    d["pillars"]["partnership"]["weight"] = -0.5
    assert "pillars.partnership.weight" in error_text(d)
    d = spec_dict()
    for i in d["pillars"]["quality"]["indicators"]:
        i["weight"] = 0
    msg = error_text(d)
    assert "pillars.quality.indicators" in msg and "all indicator weights are zero" in msg
    d = spec_dict()
    d["pillars"]["quality"]["weight"] = 0
    d["pillars"]["partnership"]["weight"] = 0
    msg = error_text(d)
    assert "pillars:" in msg and "all pillar weights are zero" in msg


def test_zero_weight_for_one_pillar_is_allowed():
    d = spec_dict()
    d["pillars"]["partnership"]["weight"] = 0
    assert composite_spec_from_dict(d).pillars["partnership"].weight == 0


def test_unknown_source_syntax_names_the_key_path():
    d = spec_dict()
    d["pillars"]["quality"]["indicators"][1]["source"] = "views:nhs_trust:share"
    msg = error_text(d)
    assert "pillars.quality.indicators.1.source" in msg and "unknown source syntax" in msg
    d["pillars"]["quality"]["indicators"][1]["source"] = "view:dentist:Overall:mean_score"
    assert "unknown sector 'dentist'" in error_text(d)
    d["pillars"]["quality"]["indicators"][1]["source"] = "view:gp_practice:Safe:mean_score"
    assert "unknown key question 'Safe' for sector 'gp_practice'" in error_text(d)


def test_parse_source():
    assert parse_source("metric:gp_sii_outstanding") == ("metric", "gp_sii_outstanding")
    assert parse_source("view:nhs_trust:Well-led:share_outstanding") == (
        "view",
        "nhs_trust",
        "Well-led",
        "share_outstanding",
    )


def test_duplicates_empty_pillars_and_other_structure_errors():
    d = spec_dict()
    d["pillars"]["partnership"]["indicators"][0]["name"] = "a"
    msg = error_text(d)
    assert "duplicate indicator name 'a'" in msg and "pillars.quality" in msg
    d = spec_dict()
    d["pillars"]["partnership"]["indicators"] = []
    assert "pillars.partnership.indicators" in error_text(d)
    assert "at least one pillar" in error_text({"pillars": {}})
    d = spec_dict()
    d["pillars"]["quality"]["indicators"][0]["direction"] = "neutral"
    assert "pillars.quality.indicators.0.direction" in error_text(d)
    d = spec_dict()
    d["pillars"]["quality"]["indicators"][0]["colour"] = "red"
    assert "pillars.quality.indicators.0.colour: unknown key" in error_text(d)
    d = spec_dict()
    d["pillars"]["quality"]["indicators"][0]["name"] = "icb_code"
    assert "reserved" in error_text(d)
    assert "top level must be a mapping, got list" in error_text([1, 2])


def test_goalposts_and_quantile_and_range_checks():
    d = spec_dict()
    d["pillars"]["quality"]["indicators"][0]["normalise"] = "goalposts"
    assert "needs goalposts" in error_text(d)
    d["pillars"]["quality"]["indicators"][0]["goalposts"] = {"lower": 1.0, "upper": 0.5}
    assert "pillars.quality.indicators.0.goalposts" in error_text(d)
    d["pillars"]["quality"]["indicators"][0]["goalposts"] = {"lower": 0.5, "upper": 1.0}
    assert composite_spec_from_dict(d).pillars["quality"].indicators[0].goalposts.upper == 1.0
    d = spec_dict()
    d["pillars"]["quality"]["indicators"][0]["winsorise"] = [0.9, 0.1]
    assert "pillars.quality.indicators.0.winsorise" in error_text(d)
    assert "normalise_range" in error_text(spec_dict(normalise_range=[100, 0]))


def test_default_spec():
    spec = default_composite_spec()
    assert spec == CompositeSpec() == composite_spec_from_dict(None)
    assert list(spec.pillars) == ["quality", "partnership", "inequality"]
    assert {p.weight for p in spec.pillars.values()} == {1.0}
    assert spec.aggregation == "arithmetic" and spec.missing == "skip_reweight"
    names = {i.name: i for _, i in spec.indicators}
    assert names["trust_good_or_outstanding"].source == (
        "view:nhs_trust:Overall:share_good_or_outstanding"
    )
    assert names["gp_outstanding"].source == "view:gp_practice:Overall:share_outstanding"
    assert names["self_containment"].direction == "higher_is_better"
    assert "n_partner_icss" not in names  # pulls against self-containment: left out
    assert spec.min_coverage == 0.7
    for n in ("gp_sii_good_or_outstanding", "gp_rating_dispersion", "share_waiting_over_18_weeks"):
        assert names[n].direction == "lower_is_better"
        assert names[n].source == f"metric:{n}"
    # a config section that only changes the aggregation keeps the default pillars
    geo = composite_spec_from_dict({"aggregation": "geometric", "normalise_range": [1, 100]})
    assert geo.pillars == spec.pillars
