"""Funnel outliers: which ICSs lie outside which control limits (hand-checkable cases)."""

import polars as pl
import pytest

from ics_model.funnel import funnel_limits, funnel_outliers


def _view(n_rated, n_outstanding):
    k = len(n_rated)
    return pl.DataFrame(
        {
            "icb_code": [f"Q{i}" for i in range(k)],
            "icb_name": [f"NHS System {i} Integrated Care Board" for i in range(k)],
            "sector": ["gp_practice"] * k,
            "key_question": ["Overall"] * k,
            "n_rated": n_rated,
            "n_outstanding": n_outstanding,
            "share_outstanding": [
                x / n if n else None for x, n in zip(n_outstanding, n_rated, strict=True)
            ],
        }
    )


def test_outliers_take_the_widest_level_crossed():
    # p0 = 0.05, n = 100 (exact binomial limits)
    lim = funnel_limits(0.05, [100], [0.95, 0.998])
    row = lim.filter(pl.col("level") == 0.95).row(0, named=True)
    wide = lim.filter(pl.col("level") == 0.998).row(0, named=True)
    view = _view([100, 100, 100, 100], [30, 12, 5, 0])
    out = funnel_outliers(view, lim, sector="gp_practice")
    got = dict(zip(out["icb_code"], zip(out["position"], out["level"], strict=True), strict=True))
    assert wide["upper"] < 0.30 and row["upper"] < 0.12 <= wide["upper"]
    # P(X = 0) = 0.95^100 = 0.0059: below the 95% lower limit, not the 99.8% one (0)
    assert row["lower"] > 0 and wide["lower"] == 0
    assert got["Q0"] == ("above", 0.998)
    assert got["Q1"] == ("above", 0.95)
    assert got["Q2"] == ("within", None)
    assert got["Q3"] == ("below", 0.95)
    assert out["icb_name"][0] == "NHS System 0 Integrated Care Board"


def test_outliers_skip_unrated_icss_and_need_limits_for_every_n():
    view = _view([100, 0], [5, 0])
    assert (
        funnel_outliers(view, funnel_limits(0.05, [100], [0.95]), sector="gp_practice").height == 1
    )
    with pytest.raises(ValueError, match="limits lack the n_rated"):
        funnel_outliers(
            _view([100, 50], [5, 2]), funnel_limits(0.05, [100], [0.95]), sector="gp_practice"
        )
