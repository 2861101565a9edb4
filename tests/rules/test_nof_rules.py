"""The NOF 2025/26 rule set and its check against the published segments (issue 14, 2-3)."""

import polars as pl
import pytest
from typer.testing import CliRunner

from ics_model.cli import app
from ics_model.config import ConfigError
from ics_model.data.nof import read_nof_segments
from ics_model.rules import get_rule_set
from ics_model.rules.nof import check_nof, nof_segments
from ics_model.rules.rulesets import rule_set_from_dict

SMALL = {
    "kind": "nof",
    "name": "t",
    "source": "hand-made",
    "cuts": {"bounds": [2.0, 2.5, 3.0]},
}


def _frame(scores, deficits, **extra):
    return pl.DataFrame(
        {
            "org_code": [f"R{i}" for i in range(len(scores))],
            "org_name": ["x"] * len(scores),
            "league_avg_score": scores,
            "league_in_deficit": deficits,
            **extra,
        }
    )


def test_segments_by_hand_with_the_deficit_cap_and_intensive_support():
    rs = rule_set_from_dict(SMALL)
    f = _frame(
        [1.5, 2.0, 2.2, 1.5, 2.7, 3.4, 1.2],
        [False, False, False, True, True, True, None],
        intensive_support=[False] * 6 + [True],
    )
    out = nof_segments(f, rs)
    # raw: <= 2.0 -> 1, <= 2.5 -> 2, <= 3.0 -> 3, else 4
    assert out["derived_unadjusted_segment"].to_list() == [1, 1, 2, 1, 3, 4, 1]
    # in deficit: no better than 3; intensive support: 5 whatever the score
    assert out["derived_segment"].to_list() == [1, 1, 2, 3, 3, 4, 5]
    assert out["derived_capped"].to_list() == [False, False, False, True, False, False, False]
    no_cap = rule_set_from_dict(SMALL | {"deficit_cap": None})
    assert nof_segments(f.drop("intensive_support"), no_cap)["derived_segment"].to_list() == [
        1, 1, 2, 1, 3, 4, 1,
    ]  # fmt: skip


def test_cuts_must_increase_and_lie_in_their_intervals():
    with pytest.raises(ConfigError, match="increase strictly"):
        rule_set_from_dict(SMALL | {"cuts": {"bounds": [2.5, 2.0, 3.0]}})
    with pytest.raises(ConfigError, match="outside its interval"):
        rule_set_from_dict(
            SMALL | {"cuts": {"bounds": [2.0, 2.5, 3.0], "intervals": [[2.1, 2.2], [2.4, 2.6],
                                                                        [2.9, 3.1]]}}
        )  # fmt: skip
    with pytest.raises(ConfigError, match="unknown domains"):
        rule_set_from_dict(SMALL | {"domain_cuts": {"safety": {"bounds": [2, 2.5, 3]}}})


def test_shipped_rule_set_states_its_source_and_inferred_intervals():
    rs = get_rule_set("nof_2025_26")
    assert rs.kind == "nof" and rs.deficit_cap == 3 and rs.intensive_support_segment == 5
    assert "inferred" in rs.source
    assert rs.cuts.intervals == ((2.06, 2.13), (2.35, 2.36), (2.69, 2.71))
    assert len(rs.domain_cuts) == 5


def test_check_reproduces_every_published_segment_and_three_by_hand():
    frame = read_nof_segments().frame
    check = check_nof(frame)
    assert check.line == "agreement 129/129"
    assert check.summary["n"].to_list() == [129, 149, 150, 150, 150, 150]
    assert check.summary["agreement"].to_list() == [1.0] * 6
    assert check.disagreements.height == 0
    got = {r["org_code"]: r for r in nof_segments(frame).to_dicts()}
    # by hand against the edges 2.095 / 2.355 / 2.70:
    # R0B 2.06, not in deficit -> 1; RAS 2.35, not in deficit -> 2;
    # RA2 1.83 -> 1 by score, in deficit -> capped at 3 (published 3); RAJ 3.05 -> 4
    for code, score, seg in (
        ("R0B", 2.06, 1),
        ("RAS", 2.35, 2),
        ("RA2", 1.83, 3),
        ("RAJ", 3.05, 4),
    ):
        assert got[code]["league_avg_score"] == score
        assert got[code]["derived_segment"] == seg == got[code]["league_segment"]
    assert got["RA2"]["derived_capped"] and got["RA2"]["derived_unadjusted_segment"] == 1


def test_without_the_cap_the_check_names_each_capped_trust():
    rs = get_rule_set("nof_2025_26").model_copy(update={"deficit_cap": None})
    check = check_nof(read_nof_segments().frame, rs)
    dis = check.disagreements.filter(pl.col("measure") == "segment")
    assert check.line == f"agreement {129 - dis.height}/129"
    assert dis.height == 36 and dis["in_deficit"].all() and (dis["published"] == 3).all()
    assert dis.filter(pl.col("org_code") == "RA2")["reason"].to_list() == [
        "score 1.83 gives segment 1 under the rule set's edges; published 3"
    ]


def test_a_rule_set_of_another_kind_is_refused():
    with pytest.raises(TypeError, match="a nof rule set is needed"):
        check_nof(read_nof_segments().frame, "cqc_principles")


def test_cli_rules_check_nof(tmp_path):
    res = CliRunner().invoke(app, ["rules", "check", "--nof", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "agreement 129/129" in res.output
    summary = pl.read_csv(tmp_path / "rules_check_nof_summary.csv")
    assert summary["n_agree"].to_list() == [129, 149, 150, 150, 150, 150]
    bad = CliRunner().invoke(app, ["rules", "check", "--nof", "--rule-set", "ics_shares"])
    assert bad.exit_code == 2 and "a nof rule set is needed" in bad.output
