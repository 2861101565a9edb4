"""Comparing composites, rank statistics, and peers."""

import math

import numpy as np
import polars as pl
import pytest

from ics_model.composite import (
    CompositeError,
    compare,
    compare_summary,
    composite,
    composite_spec_from_dict,
    kendall_tau_b,
    peers,
)

CODES = ["Q01", "Q02", "Q03", "Q04"]
# q favours Q04 > Q03 > Q02 > Q01; r reverses it
M = pl.DataFrame(
    {
        "icb_code": CODES,
        "icb_name": ["A", "B", "C", "D"],
        "q": [0.0, 1.0, 2.0, 4.0],
        "r": [4.0, 3.0, 1.0, 0.0],
    }
)


def two_pillar_spec(wq: float, wr: float):
    def ind(name):
        return {"name": name, "source": f"metric:{name}", "direction": "higher_is_better"}

    return composite_spec_from_dict(
        {
            "pillars": {
                "quality": {"weight": wq, "indicators": [ind("q")]},
                "reach": {"weight": wr, "indicators": [ind("r")]},
            }
        }
    )


A = composite(M, two_pillar_spec(3, 1))
B = composite(M, two_pillar_spec(1, 3))


def test_compare_two_hand_specs():
    # a: scores 0.75 q + 0.25 r on [0, 100]: Q01 25, Q02 37.5, Q03 43.75, Q04 75
    # b: 0.25 q + 0.75 r: Q01 75, Q02 62.5, Q03 31.25, Q04 25
    cmp = compare(A, B)
    assert cmp.columns == [
        "icb_code",
        "icb_name",
        "rank_a",
        "rank_b",
        "rank_shift",
        "score_a",
        "score_b",
        "driver_pillar",
        "driver_change",
    ]
    rows = {r["icb_code"]: r for r in cmp.iter_rows(named=True)}
    assert rows["Q01"]["rank_a"] == 4 and rows["Q01"]["rank_b"] == 1
    assert rows["Q01"]["rank_shift"] == 3  # moved up in b
    assert rows["Q04"]["rank_shift"] == -3
    assert rows["Q01"]["score_a"] == pytest.approx(25.0)
    assert rows["Q01"]["score_b"] == pytest.approx(75.0)
    # Q01: reach contribution 0.25*100 -> 0.75*100 (+50); quality 0 -> 0
    assert rows["Q01"]["driver_pillar"] == "reach"
    assert rows["Q01"]["driver_change"] == pytest.approx(50.0)
    # Q04: quality 75 -> 25 (-50); reach 0 -> 0
    assert rows["Q04"]["driver_pillar"] == "quality"
    assert rows["Q04"]["driver_change"] == pytest.approx(-50.0)
    assert cmp["rank_b"].to_list() == [1, 2, 3, 4]


def test_compare_summary():
    s = compare_summary(A, B)
    assert s["n"] == 4 and s["n_moved"] == 4 and s["max_shift"] == 3
    assert s["spearman"] == pytest.approx(-1.0) and s["kendall"] == pytest.approx(-1.0)
    same = compare_summary(A, A)
    assert same["spearman"] == pytest.approx(1.0) and same["n_moved"] == 0
    assert same["max_shift"] == 0
    assert compare(A, A)["driver_pillar"].null_count() == 4  # nothing changed


def test_compare_with_a_pillar_only_in_one_composite():
    only_q = composite(
        M,
        composite_spec_from_dict(
            {
                "pillars": {
                    "quality": {
                        "indicators": [
                            {"name": "q", "source": "metric:q", "direction": "higher_is_better"}
                        ]
                    }
                }
            }
        ),
    )
    rows = {r["icb_code"]: r for r in compare(A, only_q).iter_rows(named=True)}
    # Q01: quality 0 -> 0, reach 25 -> 0 (absent in b)
    assert rows["Q01"]["driver_pillar"] == "reach"
    assert rows["Q01"]["driver_change"] == pytest.approx(-25.0)


def test_kendall_tau_b_hand_examples():
    assert kendall_tau_b([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    # ties: x has one tied pair; n0 = 6, n1 = 1 -> tau_b = (nc - nd) / sqrt(5 * 6)
    assert kendall_tau_b([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(5 / math.sqrt(30))
    assert math.isnan(kendall_tau_b([1, 1], [1, 2]))


FEATURES = pl.DataFrame(
    {
        "icb_code": ["Q01", "Q02", "Q03", "Q04", "Q05", "Q06"],
        "icb_name": list("ABCDEF"),
        "imd_share_most_deprived_quintile": [0.10, 0.11, 0.40, 0.12, 0.35, None],
        "imd_mean_rank": [20000.0, 19800, 9000, 21000, 10000, 15000],
        "population": [1e6, 1.1e6, 2e6, 0.5e6, 1.9e6, 1e6],
    }
)


def test_peers_by_standardised_distance():
    p = peers(FEATURES, "Q01", n=3)
    assert p.columns[:4] == ["peer_rank", "icb_code", "icb_name", "distance"]
    assert p["icb_code"].to_list() == ["Q02", "Q04", "Q05"]
    assert p["peer_rank"].to_list() == [1, 2, 3]
    # Q06 lacks a feature: left out; the ICS itself is never its own peer
    assert "Q06" not in p["icb_code"] and "Q01" not in p["icb_code"]
    complete = FEATURES.drop_nulls()
    x = complete.select(
        "imd_share_most_deprived_quintile", "imd_mean_rank", pl.col("population").log()
    ).to_numpy()
    z = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    assert p["distance"][0] == pytest.approx(float(np.linalg.norm(z[1] - z[0])))


def test_peers_from_the_long_metrics_frame():
    long = FEATURES.drop("icb_name").unpivot(
        index="icb_code", variable_name="metric", value_name="value"
    )
    long = pl.concat(
        [long, pl.DataFrame({"icb_code": ["ENGLAND"], "metric": ["population"], "value": [9e6]})]
    )
    p = peers(long, "Q01", n=2)
    assert p["icb_code"].to_list() == ["Q02", "Q04"]


def test_peers_errors():
    with pytest.raises(CompositeError, match=r"unknown ICS code 'q01 ' \(close: Q01,"):
        peers(FEATURES, "q01 ")
    with pytest.raises(CompositeError, match=r"unknown ICS code 'XYZ' \(known: Q01, Q02"):
        peers(FEATURES, "XYZ")
    with pytest.raises(CompositeError, match=r"Q06.*lacks a value"):
        peers(FEATURES, "Q06")
    with pytest.raises(CompositeError, match=r"\['age'\] not in the frame"):
        peers(FEATURES, "Q01", features=("age",))
    with pytest.raises(CompositeError, match="at least 1"):
        peers(FEATURES, "Q01", n=0)
