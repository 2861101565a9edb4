"""The log-linear relative index of inequality: hand-checked cases and positive limits."""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_model.metrics._base import InequalityInputError
from ics_model.metrics.rii import loglinear_slope, relative_index, ridit_ranks, rii_draws


def _frame(n, k, icb="QAA"):
    return pl.DataFrame(
        {"icb_code": icb, "q": list(range(1, len(n) + 1)), "n": n, "k": k},
        schema={"icb_code": pl.String, "q": pl.Int64, "n": pl.Int64, "k": pl.Int64},
    )


def test_two_equal_groups_give_the_squared_ratio():
    # ranks 0.25 and 0.75: the tilted mean rank is 0.25 + 0.5 * sigmoid(beta / 2), the
    # events' mean rank 0.25 + 0.5 * k2 / (k1 + k2), so exp(beta / 2) = k2 / k1: the fitted
    # ratio over half the rank range is the groups' ratio, over the whole range its square
    n = np.array([10.0, 10.0])
    beta = loglinear_slope(ridit_ranks(n), n, np.array([2.0, 8.0]))
    assert beta == pytest.approx(2 * math.log(4))


def test_an_exact_log_linear_gradient_is_recovered():
    n = np.array([40.0, 20.0, 20.0, 10.0, 10.0])  # shares 0.4, 0.2, 0.2, 0.1, 0.1
    b = ridit_ranks(n)
    assert b.tolist() == pytest.approx([0.2, 0.5, 0.7, 0.85, 0.95])
    k = n * 0.1 * np.exp(1.3 * b)
    assert loglinear_slope(b, n, k) == pytest.approx(1.3, abs=1e-10)


def test_events_at_one_end_or_none_have_no_finite_slope():
    n = np.full(5, 10.0)
    b = ridit_ranks(n)
    assert np.isnan(loglinear_slope(b, n, np.array([3.0, 0, 0, 0, 0])))
    assert np.isnan(loglinear_slope(b, n, np.array([0, 0, 0, 0, 4.0])))
    assert np.isnan(loglinear_slope(b, n, np.zeros(5)))
    # events only in the middle quintile: a finite maximum (beta = 0 by symmetry)
    assert loglinear_slope(b, n, np.array([0, 0, 5.0, 0, 0])) == pytest.approx(0.0, abs=1e-9)


def test_many_rows_at_once_match_one_at_a_time():
    n = np.array([12.0, 30.0, 25.0, 18.0, 9.0])
    rng = np.random.default_rng(3)
    k = rng.binomial(n.astype(int), 0.4, size=(50, 5)).astype(float)
    together = loglinear_slope(ridit_ranks(n), n, k)
    apart = [float(loglinear_slope(ridit_ranks(n), n, row)) for row in k]
    np.testing.assert_allclose(together, apart, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_relative_index_notes_and_errors():
    frame = pl.concat(
        [
            _frame([10] * 5, [5, 6, 7, 8, 9], "QAA"),
            _frame([10] * 5, [0] * 5, "QBB"),
            _frame([10] * 5, [0, 0, 0, 0, 3], "QCC"),
            _frame([10] * 4, [5] * 4, "QDD"),
        ]
    )
    out = relative_index(
        frame, quantile="q", population="n", events="k", by="icb_code", repetitions=1000, seed=1
    )
    rows = {r["icb_code"]: r for r in out.to_dicts()}
    assert rows["QAA"]["note"] is None
    assert rows["QAA"]["rii"] == pytest.approx(math.exp(rows["QAA"]["log_rii"]))
    assert (
        0 < rows["QAA"]["rii_lower_95_0cl"] < rows["QAA"]["rii"] < rows["QAA"]["rii_upper_95_0cl"]
    )
    assert rows["QBB"]["rii"] is None and "no events" in rows["QBB"]["note"]
    assert rows["QCC"]["rii"] is None and "least deprived quantile" in rows["QCC"]["note"]
    assert rows["QDD"]["rii"] is None and "4 quantiles" in rows["QDD"]["note"]
    with pytest.raises(InequalityInputError, match="events must lie in"):
        relative_index(_frame([10] * 5, [11, 1, 1, 1, 1]), quantile="q", population="n", events="k")
    with pytest.raises(InequalityInputError, match="repetitions"):
        relative_index(_frame([10] * 5, [1] * 5), quantile="q", population="n", events="k",
                       repetitions=10)  # fmt: skip


def test_seeded_limits_reproduce():
    f = _frame([20, 15, 30, 12, 25], [3, 2, 6, 4, 9])
    kw = {"quantile": "q", "population": "n", "events": "k", "repetitions": 2000, "seed": 9}
    assert relative_index(f, **kw).equals(relative_index(f, **kw))


@settings(max_examples=60)
@given(
    st.lists(st.integers(1, 150), min_size=5, max_size=5),
    st.lists(st.floats(0, 1), min_size=5, max_size=5),
)
def test_limits_are_positive_whenever_the_rii_is_defined(n, fractions):
    k = [round(f * m) for f, m in zip(fractions, n, strict=True)]
    out = relative_index(
        _frame(n, k), quantile="q", population="n", events="k", repetitions=1000, seed=0
    ).row(0, named=True)
    if out["rii"] is None:
        assert out["note"]
        return
    assert out["rii"] > 0
    assert 0 < out["rii_lower_95_0cl"] <= out["rii_upper_95_0cl"]
    sims = rii_draws(np.array(n, float), np.array(k, float), 200, np.random.default_rng(0))
    assert (sims > 0).all()
