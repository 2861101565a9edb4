"""The ``uncertainty:`` config section."""

import pytest
from pydantic import ValidationError

from ics_model.composite import CompositeSpec
from ics_model.uncertainty import UncertaintySpec
from ics_model.uncertainty.spec import composite_variant


def test_defaults():
    spec = UncertaintySpec()
    assert spec.draws == 2000 and spec.chunk_size == 10_000
    assert spec.weights.method == "dirichlet" and spec.weights.concentration == 50
    assert spec.weights.spread == 0.25
    assert spec.normalisation == () and spec.aggregation == ()
    assert spec.bootstrap is True and spec.top_k == 5
    assert spec.sobol.enabled is False and spec.sobol.n == 256
    assert spec.sobol.calc_second_order is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"normalisation": ["minmax", "nope"]}, "unknown normaliser"),
        ({"normalisation": ["goalposts"]}, "unknown normaliser"),
        ({"aggregation": ["median"]}, "unknown aggregation"),
        ({"weights": {"method": "beta"}}, "method"),
        ({"weights": {"concentration": 0}}, "concentration"),
        ({"weights": {"spread": 1.0}}, "spread"),
        ({"sobol": {"n": 100}}, "power of 2"),
        ({"draws": 0}, "draws"),
        ({"surprise": 1}, "surprise"),
        ({"sobol": {"N": 256}}, "N"),
        (
            {"normalisation": ["minmax", "zscore"], "aggregation": ["arithmetic", "geometric"]},
            "zscore",
        ),
    ],
)
def test_invalid(data, message):
    with pytest.raises(ValidationError, match=message):
        UncertaintySpec.model_validate(data)


def test_frozen():
    from ics_model.spec import ConfigError

    spec = UncertaintySpec()
    with pytest.raises(ConfigError, match=r"UncertaintySpec is frozen .*with_updates"):
        spec.draws = 5
    assert spec.with_updates({"draws": 5}).draws == 5 and spec.draws != 5


def test_repeated_alternatives_allowed():
    spec = UncertaintySpec(normalisation=("minmax", "minmax"))
    assert spec.normalisation == ("minmax", "minmax")
    assert spec.resolved_score_scale == "raw"


def test_score_scale_auto():
    assert UncertaintySpec(normalisation=("minmax", "rank")).resolved_score_scale == "0_100"
    assert UncertaintySpec(score_scale="raw").resolved_score_scale == "raw"


def test_positive_aggregation_forces_1_100():
    cspec = CompositeSpec()
    assert UncertaintySpec().normalise_range_for(cspec) == (0.0, 100.0)
    geo = UncertaintySpec(aggregation=("arithmetic", "geometric"))
    assert geo.normalise_range_for(cspec) == (1.0, 100.0)
    positive = cspec.model_copy(update={"normalise_range": (10.0, 20.0)})
    assert geo.normalise_range_for(positive) == (10.0, 20.0)


def test_composite_variant_replaces_every_normaliser():
    v = composite_variant(CompositeSpec(), "rank", (1.0, 100.0))
    assert {i.normalise for _, i in v.indicators} == {"rank"}
    assert v.normalise_range == (1.0, 100.0)
    kept = composite_variant(CompositeSpec(), None, (0.0, 100.0))
    assert kept == CompositeSpec()
