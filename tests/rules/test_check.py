"""The engine against what CQC published (the embedded 3 Sep 2018 Providers sheet)."""

import polars as pl
import pytest

from ics_model.data.build import load_processed
from ics_model.rules import check_against_published


@pytest.fixture(scope="module")
def result():
    return check_against_published(load_processed("cqc_trust_ratings"), "cqc_principles")


def test_agreement_counts_on_real_data(result):
    s = {r["level"]: r for r in result.summary.to_dicts()}
    assert (s["core_service"]["n"], s["core_service"]["n_agree"]) == (1067, 1065)
    assert (s["trust"]["n"], s["trust"]["n_agree"]) == (243, 233)
    assert (s["trust"]["n_nhs"], s["trust"]["n_nhs_agree"]) == (226, 216)
    assert result.disagreements.height == 12
    assert "recorded" in result.note and "judgement" in result.note


def test_confusion_matrix_adds_up(result):
    for level, n in (("core_service", 1067), ("trust", 243)):
        conf = result.confusion.filter(pl.col("level") == level)
        assert conf["n"].sum() == n
        agree = conf.filter(pl.col("published") == pl.col("derived"))["n"].sum()
        assert agree == result.summary.filter(pl.col("level") == level)["n_agree"][0]


def test_disagreements_are_classified_and_explained(result):
    d = result.disagreements
    assert d["explanation"].is_not_null().all()
    classes = dict(zip(d["provider_id"] + "/" + d["level"], d["disagreement_class"], strict=True))
    # two RI tolerated: what the six-rating combined rule would give
    assert classes["RMP/trust"] == "matches_other_rule_set"
    assert classes["RGM/trust"] == "outstanding_not_awarded"
    assert classes["RQ3/trust"] == "outstanding_despite_requires_improvement"
    rmp = d.filter(pl.col("provider_id") == "RMP")
    assert rmp["matched_by"][0] == "cqc_trust_combined"
    assert rmp["inputs"][0] == "Caring=G; Effective=RI; Responsive=G; Safe=RI; Well-led=G"


def test_combined_rule_set_checks_too():
    r = check_against_published(load_processed("cqc_trust_ratings"), "cqc_trust_combined")
    assert r.rule_set == "cqc_trust_combined"
    assert r.summary["n"].to_list() == [1067, 243]
