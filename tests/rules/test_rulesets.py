import pytest

from ics_model.config import ConfigError
from ics_model.rules import available_rule_sets, get_rule_set, load_rule_set
from ics_model.rules.rulesets import rule_set_from_dict


def test_shipped_rule_sets_load_by_name():
    names = set(available_rule_sets())
    assert {
        "cqc_principles",
        "cqc_trust_combined",
        "saf_2024",
        "ics_shares",
        "ics_nof_segments",
    } <= names
    rs = get_rule_set("cqc_principles")
    assert rs.band(5).outstanding_min == 2 and rs.band(2).outstanding_min == 1
    assert rs.band(12).outstanding_min == 3
    assert get_rule_set("saf_2024").rounding == "nearest"


def test_unknown_name_lists_available():
    with pytest.raises(KeyError, match=r"available: .*cqc_principles"):
        get_rule_set("nope")


def test_user_rule_set_with_gates(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text(
        "kind: principles\nname: collab\ngates:\n"
        "  - {name: wl, level: key_question, key_question: Well-led, indicator: x, "
        "threshold: 0.4}\n"
        "  - {name: ov, level: overall, indicator: y, scope: icb, op: '>', threshold: 2}\n"
    )
    rs = load_rule_set(p)
    assert [g.name for g in rs.gates] == ["wl", "ov"]
    assert rs.gates[1].scope == "icb" and rs.gates[0].cap == "Good"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"kind": "principles", "name": "x", "one_inadequate": "Bad"}, "one_inadequate"),
        ({"kind": "principles", "name": "x", "extra": 1}, "extra: unknown key"),
        (
            {
                "kind": "principles",
                "name": "x",
                "bands": [
                    {
                        "min_n": 2,
                        "max_n": None,
                        "outstanding_min": 1,
                        "ri_limit": 1,
                        "inadequate_limit": 1,
                    }
                ],
            },
            "start at min_n 1",
        ),
        (
            {
                "kind": "principles",
                "name": "x",
                "gates": [{"level": "key_question", "indicator": "x", "threshold": 1}],
            },
            "needs key_question",
        ),
        (
            {
                "kind": "principles",
                "name": "x",
                "gates": [{"level": "overall", "indicator": "x", "threshold": 1, "op": "=="}],
            },
            "gates.0.op",
        ),
        ({"kind": "saf", "name": "s", "rounding": "bankers"}, "rounding"),
        (
            {
                "kind": "saf",
                "name": "s",
                "thresholds": {
                    "Outstanding": 50,
                    "Good": 63,
                    "Requires improvement": 39,
                    "Inadequate": 25,
                },
            },
            "fall from Outstanding",
        ),
        ({"kind": "magic", "name": "m"}, "kind"),
        ({"name": "m"}, "kind: missing"),
    ],
)
def test_invalid_rule_sets_name_the_key_path(data, fragment):
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        rule_set_from_dict(data)
