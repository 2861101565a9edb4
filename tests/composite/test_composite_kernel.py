"""The composite kernel: one code path for the deterministic composite and the Monte Carlo."""

import numpy as np
import polars as pl
import pytest

from ics_model.composite import composite, composite_spec_from_dict, normalised_array
from ics_model.composite.kernel import aggregate, level_mean
from ics_model.composite.methods import AGGREGATORS, weighted_sum

RNG = np.random.default_rng(2026)
CODES = [f"Q{i:02d}" for i in range(12)]
RAW = RNG.uniform(0.5, 10.0, (len(CODES), 6))
RAW[[1, 4, 7], [0, 3, 5]] = np.nan  # some missing
RAW[9, 3:5] = np.nan  # a pillar with nothing observed
MATRIX = pl.DataFrame(
    {"icb_code": CODES, "icb_name": CODES} | {f"x{j}": RAW[:, j] for j in range(6)}
)
PILLAR_OF = np.array([0, 0, 0, 1, 1, 2])


def _spec(aggregation: str, p: float):
    def ind(j, w):
        return {"name": f"x{j}", "source": f"metric:x{j}", "direction": "higher_is_better",
                "weight": w}  # fmt: skip

    pillars = {
        "a": {"weight": 2.0, "indicators": [ind(0, 1.0), ind(1, 3.0), ind(2, 0.5)]},
        "b": {"weight": 1.0, "indicators": [ind(3, 1.0), ind(4, 2.0)]},
        "c": {"weight": 0.7, "indicators": [ind(5, 1.0)]},
    }
    return composite_spec_from_dict(
        {
            "min_coverage": 0,
            "aggregation": aggregation,
            "p": p,
            "normalise_range": [1, 100],
            "pillars": pillars,
        }
    )


def _weights(spec):
    w_ind = np.array([i.weight for _, i in spec.indicators])
    w_pil = np.array([p.weight for p in spec.pillars.values()])
    return w_ind[None], w_pil[None]


def _same(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


@pytest.mark.parametrize(
    ("aggregation", "p"),
    [("arithmetic", 1.0), ("geometric", 1.0), ("harmonic", 1.0), ("generalised", 0.5)],
)
def test_composite_is_the_kernel_with_one_draw_exactly(aggregation, p):
    spec = _spec(aggregation, p)
    built = composite(MATRIX, spec)
    values = normalised_array(MATRIX, spec).values
    w_ind, w_pil = _weights(spec)
    methods = [aggregation] * 3
    k = aggregate(values, w_ind, w_pil, PILLAR_OF, methods, aggregation, p, renormalise=True)
    assert _same(built.scores["score"].fill_null(np.nan), k.score[0])  # ==, not approx
    for q, name in enumerate(spec.pillars):
        assert _same(built.scores[f"pillar_{name}"].fill_null(np.nan), k.pillar[0, :, q])
    assert np.isnan(k.score[0]).sum() == 0 and np.isnan(k.pillar[0, 9, 1])  # pillar b skipped
    indicators = built.indicators
    assert _same(indicators["weight_in_pillar"], k.w_in_pillar[0].ravel())
    assert _same(built.pillars["weight"], k.w_pillar[0].ravel())


@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric", "harmonic", "generalised"])
def test_the_two_weightings_agree_to_rounding(aggregation):
    values = normalised_array(MATRIX, _spec(aggregation, 0.5)).values
    w_ind = RNG.uniform(0.1, 2.0, (40, 6))
    w_pil = RNG.uniform(0.1, 2.0, (40, 3))
    args = (values, w_ind, w_pil, PILLAR_OF, [aggregation] * 3, aggregation, 0.5)
    effective = aggregate(*args, renormalise=True)
    draws = aggregate(*args, renormalise=False)
    np.testing.assert_allclose(draws.score, effective.score, rtol=1e-12)
    np.testing.assert_allclose(draws.pillar, effective.pillar, rtol=1e-12)
    assert draws.w_in_pillar is None and effective.w_in_pillar.shape == (40, 12, 6)


def test_arithmetic_levels_collapse_into_one_product_when_nothing_is_missing():
    values = np.nan_to_num(normalised_array(MATRIX, _spec("arithmetic", 1.0)).values, nan=50.0)
    w_ind = RNG.uniform(0.1, 2.0, (25, 6))
    w_pil = RNG.uniform(0.1, 2.0, (25, 3))
    args = (values, w_ind, w_pil, PILLAR_OF, ["arithmetic"] * 3, "arithmetic")
    collapsed = aggregate(*args)
    assert collapsed.pillar is None  # one product, no pillar level
    two_level = aggregate(*args, renormalise=True).score
    np.testing.assert_allclose(collapsed.score, two_level, rtol=1e-12)


@pytest.mark.parametrize("name", list(AGGREGATORS))
@pytest.mark.parametrize("per_draw_values", [False, True])
def test_aggregators_on_draw_weights_equal_draw_by_draw(name, per_draw_values):
    x = RNG.uniform(1.0, 100.0, (12, 5))
    x[RNG.random(x.shape) < 0.2] = np.nan
    w = RNG.uniform(0.0, 1.0, (30, 5))
    values = x[None] * RNG.uniform(0.9, 1.1, (30, 1, 1)) if per_draw_values else x
    obs = ~np.isnan(values)
    got = AGGREGATORS[name].func(values, w[:, None, :], 0.5, obs)
    assert got.shape == (30, 12)
    for d in range(30):
        v = values[d] if per_draw_values else values
        ok = ~np.isnan(v)
        expect = AGGREGATORS[name].func(np.where(ok, v, 1.0), w[d] * ok, 0.5)
        np.testing.assert_allclose(got[d], expect, rtol=1e-12)


def test_weighted_sum_is_a_matrix_product_for_shared_weights():
    x = RNG.uniform(size=(12, 7))
    w = RNG.uniform(size=(9, 7))
    assert _same(weighted_sum(w[:, None, :], x), w @ x.T)
    x3 = RNG.uniform(size=(9, 12, 7))
    assert _same(weighted_sum(w[:, None, :], x3), np.einsum("dnk,dk->dn", x3, w))
    per_entry = RNG.uniform(size=(12, 7))
    assert _same(weighted_sum(per_entry, x), np.sum(per_entry * x, axis=-1))


def test_level_mean_is_nan_where_no_weight_is_observed():
    values = np.array([[1.0, np.nan], [np.nan, np.nan], [3.0, 5.0]])
    w = np.array([[1.0, 1.0], [0.0, 2.0]])
    for renormalise in (False, True):
        mean, _ = level_mean(values, w, "arithmetic", renormalise=renormalise)
        np.testing.assert_allclose(mean, [[1.0, np.nan, 4.0], [np.nan, np.nan, 5.0]])
