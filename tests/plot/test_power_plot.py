"""power_curve: draws the simulated curve, marks 80% power and the MDE, computes nothing."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest

from ics_model.plot import power_curve


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "odds_ratio": [2.0, 1.0, 1.5, 3.0],
            "power": [0.9, 0.05, 0.5, None],
            "power_lower": [0.85, 0.03, 0.45, None],
            "power_upper": [0.94, 0.08, 0.55, None],
            "coverage": [0.94, 0.95, 0.96, None],
            "coverage_lower": [0.91, 0.92, 0.93, None],
            "coverage_upper": [0.96, 0.97, 0.98, None],
            "n_sims": [200, 200, 200, 200],
        }
    )


def _line(ax, label):
    return next(c for c in ax.containers if c.get_label() == label).lines[0]


def test_power_curve_draws_sorted_points_marks_target_and_mde():
    ax = power_curve(_frame(), mde=1.73, note="Main specification: GP practices.")
    power = _line(ax, "power (rejects OR = 1)")
    np.testing.assert_array_equal(power.get_xdata(), [1.0, 1.5, 2.0, 3.0])
    np.testing.assert_array_equal(power.get_ydata(), [0.05, 0.5, 0.9, np.nan])  # null: gap
    coverage = _line(ax, "coverage of the 95% interval")
    np.testing.assert_array_equal(coverage.get_ydata()[:3], [0.95, 0.96, 0.94])
    flat = [ln for ln in ax.get_lines() if len(set(ln.get_ydata())) == 1]
    assert {ln.get_ydata()[0] for ln in flat} == {0.8, 0.95}
    vertical = [ln for ln in ax.get_lines() if len(set(ln.get_xdata())) == 1]
    assert [ln.get_xdata()[0] for ln in vertical] == [1.73]
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "minimum detectable OR 1.73" in texts and "80% power" in texts
    assert ax.get_xscale() == "log"
    foot = " ".join(ax.figure._supxlabel.get_text().split())
    assert "Simulated" in foot and "Main specification: GP practices." in foot
    plt.close("all")


def test_power_curve_says_when_the_target_is_not_reached_and_draws_on_a_given_axes():
    _, given = plt.subplots()
    frame = _frame().select("odds_ratio", "power")
    ax = power_curve(frame, mde=None, footnote={"GP ratings": "April 2024"}, ax=given)
    assert ax is given
    assert any("80% power not reached by OR 3" in t.get_text() for t in ax.texts)
    assert [ln.get_label() for ln in ax.get_lines() if ln.get_label().startswith("power")] == [
        "power (rejects OR = 1)"
    ]
    assert "GP ratings: April 2024" in " ".join(ax.figure._supxlabel.get_text().split())
    plt.close("all")


def test_power_curve_errors():
    with pytest.raises(ValueError, match="needs columns"):
        power_curve(_frame().drop("power"))
    with pytest.raises(ValueError, match="no rows"):
        power_curve(_frame().clear())
