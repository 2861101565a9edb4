"""Collaboration gates on hand-made providers."""

import polars as pl
import pytest

from ics_model.ratings import KEY_QUESTIONS
from ics_model.rules import apply_gates
from ics_model.rules.rulesets import Gate

O, G, R, I = "Outstanding", "Good", "Requires improvement", "Inadequate"
KQ = list(KEY_QUESTIONS)


def _ratings(rows):
    """rows: provider_id, icb_code, [Safe, Effective, Caring, Responsive, Well-led, Overall]."""
    out = []
    for pid, icb, ratings in rows:
        out.extend((pid, icb, kq, r) for kq, r in zip(KQ, ratings, strict=True))
    return pl.DataFrame(
        out, schema=["provider_id", "icb_code", "key_question", "rating"], orient="row"
    )


PROVIDERS = _ratings(
    [
        ("P1", "QAA", [G, O, G, G, O, O]),  # Outstanding, Well-led Outstanding
        ("P2", "QAA", [G, O, O, G, G, O]),  # Outstanding, Well-led Good
        ("P3", "QBB", [G, G, G, G, O, G]),  # Good, Well-led Outstanding
        ("P4", "QBB", [G, O, G, G, O, O]),  # Outstanding, indicator missing
        ("P5", "QCC", [R, G, G, G, G, G]),  # Good
    ]
)
IND = pl.DataFrame({"provider_id": ["P1", "P2", "P3", "P5"], "x": [0.2, 0.2, 0.9, 0.1]})
ICB_IND = pl.DataFrame({"icb_code": ["QAA", "QBB"], "y": [0.7, 0.3]})


def _by_id(frame):
    return {r["provider_id"]: r for r in frame.to_dicts()}


def test_overall_gate_caps_passes_and_reports_not_assessable():
    gate = Gate(name="ov", level="overall", indicator="x", threshold=0.5)
    out = _by_id(apply_gates(PROVIDERS, "cqc_principles", provider_indicators=IND, gates=[gate]))
    assert (out["P1"]["status"], out["P1"]["rating_after"]) == ("capped", G)
    assert (out["P2"]["status"], out["P2"]["rating_after"]) == ("capped", G)
    assert (out["P3"]["status"], out["P3"]["rating_after"]) == ("not_applicable", G)
    assert out["P4"]["status"] == "not_assessable" and out["P4"]["rating_after"] is None
    assert out["P5"]["status"] == "not_applicable"
    assert "x 0.2 >= 0.5 -> capped" in out["P1"]["reason"]
    passing = Gate(name="ov", level="overall", indicator="x", threshold=0.1)
    out = _by_id(apply_gates(PROVIDERS, "cqc_principles", provider_indicators=IND, gates=[passing]))
    assert (out["P1"]["status"], out["P1"]["rating_after"]) == ("passed", O)


def test_key_question_gate_caps_well_led_and_reaggregates():
    gate = Gate(
        name="wl", level="key_question", key_question="Well-led", indicator="x", threshold=0.5
    )
    out = _by_id(apply_gates(PROVIDERS, "cqc_principles", provider_indicators=IND, gates=[gate]))
    # P1: O O among five -> capping Well-led leaves one O -> Good
    assert out["P1"]["status"] == "capped" and out["P1"]["rating_after"] == G
    assert out["P1"]["overall_changed"]
    # P2: Well-led is Good already -> the gate cannot change it
    assert out["P2"]["status"] == "not_applicable" and out["P2"]["rating_after"] == O
    # P3: passes (0.9)
    assert out["P3"]["status"] == "passed" and out["P3"]["rating_after"] == G
    # P4: Well-led Outstanding, no indicator -> not assessable, never silently passed
    assert out["P4"]["status"] == "not_assessable" and out["P4"]["rating_after"] is None


def test_icb_scope_gate_uses_the_system_value():
    gate = Gate(name="sys", level="overall", indicator="y", scope="icb", threshold=0.5)
    out = _by_id(apply_gates(PROVIDERS, "cqc_principles", icb_indicators=ICB_IND, gates=[gate]))
    assert out["P1"]["status"] == "passed"  # QAA 0.7
    assert out["P4"]["status"] == "capped"  # QBB 0.3, even without a provider value
    assert out["P4"]["rating_after"] == G


def test_missing_indicator_column_is_a_clear_error():
    gate = Gate(name="ov", level="overall", indicator="nope", threshold=0.5)
    with pytest.raises(KeyError, match="needs provider-level indicator 'nope'; available: x"):
        apply_gates(PROVIDERS, "cqc_principles", provider_indicators=IND, gates=[gate])


def test_gates_from_a_rule_set_and_counts_reconcile():
    rs = {
        "kind": "principles",
        "name": "collab",
        "gates": [{"name": "ov", "level": "overall", "indicator": "x", "threshold": 0.5}],
    }
    out = apply_gates(PROVIDERS, rs, provider_indicators=IND)
    before = (out["rating_before"] == O).sum()
    after = (out["rating_after"] == O).sum()
    lost = out.filter(pl.col("status") == "capped").height
    not_assessable = out.filter(pl.col("status") == "not_assessable").height
    assert before == after + lost + not_assessable
