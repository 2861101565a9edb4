"""An indicator whose source misses a major provider lowers the ICS's coverage."""

import numpy as np
import polars as pl
import pytest

from ics_model.composite import composite, composite_spec_from_dict, indicator_matrix
from ics_model.composite.build import coverage, incomplete_mask
from ics_model.uncertainty import UncertaintySpec, run_uncertainty


def _metrics(complete_q02_waits=False):
    rows = [
        # icb, metric, value, complete
        ("Q01", "self_containment", 0.8, True),
        ("Q02", "self_containment", 0.7, False),
        ("Q03", "self_containment", 0.6, True),
        ("Q01", "waits", 0.3, True),
        ("Q02", "waits", 0.4, complete_q02_waits),
        ("Q03", "waits", None, False),  # null and incomplete: missing, not "incomplete"
        ("Q01", "quality", 0.9, True),
        ("Q02", "quality", 0.5, True),
        ("Q03", "quality", 0.7, True),
    ]
    return pl.DataFrame(
        rows, schema=["icb_code", "metric", "value", "complete"], orient="row"
    ).with_columns(pl.lit(None, pl.String).alias("note"))


def _spec(min_coverage):
    def ind(name, direction="higher_is_better"):
        return {"name": name, "source": f"metric:{name}", "direction": direction}

    return composite_spec_from_dict(
        {
            "min_coverage": min_coverage,
            "pillars": {
                "quality": {"weight": 2, "indicators": [ind("quality")]},
                "system": {
                    "indicators": [ind("self_containment"), ind("waits", "lower_is_better")]
                },
            },
        }
    )


def test_matrix_lists_the_incomplete_indicators():
    m = indicator_matrix(None, _metrics(), _spec(0.0))
    assert m["incomplete"].to_list() == [[], ["self_containment", "waits"], []]
    mask = incomplete_mask(m, _spec(0.0))
    assert mask.tolist() == [[False] * 3, [False, True, True], [False] * 3]


def test_coverage_by_hand_and_the_values_still_score():
    # nominal weights: quality 2/3; self_containment and waits 1/6 each
    spec = _spec(0.0)
    m = indicator_matrix(None, _metrics(), spec)
    np.testing.assert_allclose(coverage(m, spec), [1.0, 2 / 3, 5 / 6])
    built = composite(m, spec)
    q02 = built.scores.filter(pl.col("icb_code") == "Q02").row(0, named=True)
    assert q02["coverage"] == pytest.approx(2 / 3)
    assert q02["affected"] == (
        "incomplete source (a major provider missing, or residents covered in part; "
        "see the metric's note): "
        "self_containment, waits"
    )
    status = built.indicators.filter(pl.col("icb_code") == "Q02")["status"].to_list()
    assert status == ["observed", "incomplete", "incomplete"]
    # the same values flagged complete give the same score: only the coverage changes
    same = composite(indicator_matrix(None, _metrics(True), spec), spec).scores
    assert same["score"].to_list() == pytest.approx(built.scores["score"].to_list())
    q03 = built.indicators.filter(pl.col("icb_code") == "Q03")["status"].to_list()
    assert q03 == ["observed", "observed", "skipped"]


def test_an_ics_below_min_coverage_is_not_ranked_by_the_composite_or_the_monte_carlo():
    spec = _spec(0.7)
    m = indicator_matrix(None, _metrics(), spec)
    scores = composite(m, spec).scores
    assert scores["rank"].to_list() == [1, None, 2]
    assert (
        "not ranked: observed indicators from complete sources carry 0.67"
        in (scores["affected"][1])
    )
    res = run_uncertainty(m, UncertaintySpec(draws=50, bootstrap=False), spec)
    assert res.per_ics["n_draws"].to_list() == [50, 0, 50]


def test_a_metrics_frame_without_the_flag_counts_as_complete():
    spec = _spec(0.0)
    m = indicator_matrix(None, _metrics().drop("complete"), spec)
    assert m["incomplete"].to_list() == [[], [], []]
    assert coverage(m, spec).tolist() == pytest.approx([1.0, 1.0, 5 / 6])
