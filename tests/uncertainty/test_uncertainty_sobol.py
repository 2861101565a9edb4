"""Sobol' indices via SALib: known answers and layout."""

import numpy as np
import polars as pl

from ics_model.composite import CompositeSpec
from ics_model.uncertainty import UncertaintySpec, run_uncertainty
from ics_model.uncertainty.sobol import SOBOL_COLUMNS, trigger_index

N_ICS = 12


def _case():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N_ICS, 5)) + np.linspace(0, 1, N_ICS)[:, None]
    matrix = pl.DataFrame(
        {
            "icb_code": [f"Q{i:02d}" for i in range(N_ICS)],
            "icb_name": [f"ICS {i}" for i in range(N_ICS)],
            **{f"m{j}": x[:, j] for j in range(5)},
        }
    )

    def ind(name):
        return {"name": name, "source": f"metric:{name}", "direction": "higher_is_better"}

    spec = CompositeSpec.model_validate(
        {
            "pillars": {
                "a": {"indicators": [ind("m0"), ind("m1"), ind("m2")]},
                "b": {"indicators": [ind("m3"), ind("m4")]},
            }
        }
    )
    return matrix, spec


def _sobol(**kw):
    return UncertaintySpec.model_validate(
        {"draws": 10, "bootstrap": False, "sobol": {"enabled": True, "n": 256}, **kw}
    )


def test_identical_alternatives_have_zero_indices():
    """Known answer, N = 256 (256 x (3 + 2) = 1,280 model runs): normalisation
    [minmax, minmax] cannot change anything, so S1 and ST are 0 (within 0.05)."""
    matrix, cspec = _case()
    spec = _sobol(normalisation=["minmax", "minmax"], aggregation=["arithmetic", "geometric"])
    res = run_uncertainty(matrix, spec, cspec)
    sob = res.sobol
    assert sob.columns == list(SOBOL_COLUMNS)
    assert res.assumptions == ("weights", "normalisation", "aggregation")
    dummy = sob.filter((pl.col("assumption") == "normalisation") & pl.col("S1").is_not_null())
    assert dummy.height > N_ICS  # defined for most ICSs, both outputs
    assert (dummy["S1"].abs() <= 0.05).all() and (dummy["ST"].abs() <= 0.05).all()
    # the assumptions that do vary explain the variance
    ranks = sob.filter((pl.col("output") == "rank") & (pl.col("icb_code") != "ENGLAND"))
    real = ranks.filter(pl.col("assumption") != "normalisation")
    assert real["ST"].max() > 0.3
    national = sob.filter(pl.col("icb_code") == "ENGLAND")
    assert national.height == 3 * 2  # assumptions x outputs
    assert set(national["output"]) == {"rank", "score"}


def test_sobol_is_reproducible_and_respects_the_seed():
    matrix, cspec = _case()
    spec = _sobol(aggregation=["arithmetic", "harmonic"])
    a = run_uncertainty(matrix, spec, cspec).sobol
    b = run_uncertainty(matrix, spec, cspec).sobol
    assert a.equals(b)
    c = run_uncertainty(matrix, spec.model_copy(update={"seed": 1}), cspec).sobol
    assert not a.equals(c)


def test_sobol_skipped_when_nothing_varies():
    matrix, cspec = _case()
    res = run_uncertainty(matrix, _sobol(weights={"method": "none"}), cspec)
    assert res.sobol is None and res.assumptions == ()


def test_single_assumption_explains_everything():
    """Weights alone vary: S1 = ST = 1 for every ICS (N = 1024, 3,072 model runs)."""
    matrix, cspec = _case()
    res = run_uncertainty(matrix, _sobol(sobol={"enabled": True, "n": 1024}), cspec)
    scores = res.sobol.filter((pl.col("output") == "score") & (pl.col("icb_code") != "ENGLAND"))
    np.testing.assert_allclose(scores["ST"].to_numpy(), 1.0, atol=0.1)
    np.testing.assert_allclose(scores["S1"].to_numpy(), 1.0, atol=0.1)


def test_trigger_index_bins():
    u = np.array([0.0, 0.2499, 0.25, 0.99, 1.0])
    np.testing.assert_array_equal(trigger_index(u, 4), [0, 0, 1, 3, 3])
