"""ics_model.plot.maps: the map classes computed without mapclassify are mapclassify's.

Quantiles and equal intervals are computed in plain numpy (importing mapclassify compiles
numba code for seconds); their bounds must equal ``mapclassify.Quantiles`` and
``mapclassify.EqualInterval`` bit for bit, ties and signed zeros included, on hand cases
and on random arrays. Natural breaks still come from mapclassify.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_model.plot.maps import _classify, _equal_interval_bins, _quantile_bins

mapclassify = pytest.importorskip("mapclassify")


def _theirs(values: np.ndarray, scheme: str, k: int) -> np.ndarray:
    cls = {"quantiles": mapclassify.Quantiles, "equal_interval": mapclassify.EqualInterval}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few unique values; its summary statistics
        return np.asarray(cls[scheme](values, k=k).bins)


def _ours(values: np.ndarray, scheme: str, k: int) -> np.ndarray:
    return {"quantiles": _quantile_bins, "equal_interval": _equal_interval_bins}[scheme](values, k)


def _same_bits(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert ours.shape == theirs.shape, (ours, theirs)
    assert ours.tobytes() == theirs.tobytes(), (ours, theirs)  # -0.0 differs from 0.0


def _classify_with_mapclassify(values: np.ndarray, scheme: str, k: int, diverging: bool):
    """The classing as it was when mapclassify did all three schemes."""
    k = max(1, min(k, len(np.unique(values))))
    if k == 1:
        bins = np.array([values.max()])
    else:
        cls = {
            "quantiles": mapclassify.Quantiles,
            "natural_breaks": mapclassify.FisherJenks,
            "equal_interval": mapclassify.EqualInterval,
        }[scheme]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bins = np.asarray(cls(values, k=k).bins, dtype=float)
    if diverging and values.min() < 0 < values.max() and not np.any(bins == 0.0):
        bins = np.sort(np.append(bins, 0.0))
    bins = np.unique(bins)
    counts = np.bincount(np.searchsorted(bins, values, side="left"), minlength=len(bins))
    keep = (counts > 0) | (np.arange(len(bins)) == len(bins) - 1)
    return bins[keep]


HAND = [
    np.arange(10, dtype=float),
    np.arange(1000, dtype=float),
    np.array([1.0, 2.0]),
    np.array([3.0, 1.0, 2.0, 2.0, 2.0, 2.0, 5.0]),  # ties merge quantiles
    np.array([0.0, 0.0, 0.0, 0.0, 1.0]),
    np.array([-0.0, 0.0, -0.0, 1.0, 2.0, 3.0]),
    np.array([-0.5, 0.25, -0.125, 0.1, 0.3, 0.7, 1 / 3, 2 / 3, 0.9]),
    np.array([1e-9, 2e-9, 3e-9, 1e-9, 5e-9]),
    np.array([12.5, 7.1, 33.3, 0.1, 91.0, 45.2, 45.2, 45.2, 3.3, 18.9, 60.4, 77.7]),
    np.linspace(-1.0, 1.0, 42),
    np.random.default_rng(7).normal(size=42),
    np.random.default_rng(8).integers(0, 4, size=106).astype(float),
]


@pytest.mark.parametrize("scheme", ["quantiles", "equal_interval"])
@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 7, 9])
@pytest.mark.parametrize("case", range(len(HAND)))
def test_bins_equal_mapclassify_on_hand_cases(scheme: str, k: int, case: int) -> None:
    values = HAND[case]
    if scheme == "equal_interval" and values.min() == values.max():
        pytest.skip("equal intervals need two distinct values")
    _same_bits(_ours(values, scheme, k), _theirs(values, scheme, k))


def test_quantile_ties_merge_classes() -> None:
    bins = _quantile_bins(np.array([1.0, 1.0, 1.0, 1.0, 1.0, 2.0]), 5)
    assert bins.tolist() == [1.0, 2.0]


def test_equal_intervals_need_two_values() -> None:
    with pytest.raises(ValueError, match="two distinct values"):
        _equal_interval_bins(np.array([2.0, 2.0]), 3)


def test_classify_matches_mapclassify_for_every_scheme() -> None:
    values = np.random.default_rng(3).normal(size=42)
    for scheme in ("quantiles", "equal_interval"):
        for diverging in (False, True):
            _same_bits(
                _classify(values, scheme, 5, diverging),
                _classify_with_mapclassify(values, scheme, 5, diverging),
            )
    _same_bits(
        _classify(values, "natural_breaks", 5, False),
        _classify_with_mapclassify(values, "natural_breaks", 5, False),
    )
    with pytest.raises(ValueError, match="scheme"):
        _classify(values, "jenks", 5, False)


def test_maps_module_does_not_import_mapclassify() -> None:
    import ast
    import inspect

    from ics_model.plot import maps

    tree = ast.parse(inspect.getsource(maps))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = {a.name for n in top for a in n.names} | {
        n.module for n in top if isinstance(n, ast.ImportFrom)
    }
    assert "mapclassify" not in names  # only inside _classify, for natural breaks


# values from a small pool (many ties, signed zeros) or anywhere in a wide range
_pool = st.sampled_from([-0.0, 0.0, 1.0, -1.0, 0.5, 2.5, 1e-3, 100.0, -37.25])
_wide = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
_arrays = st.lists(st.one_of(_pool, _wide), min_size=1, max_size=80).map(
    lambda xs: np.array(xs, dtype=float)
)


@settings(max_examples=300, deadline=None)
@given(values=_arrays, k=st.integers(min_value=2, max_value=10))
def test_quantile_bins_equal_mapclassify(values: np.ndarray, k: int) -> None:
    _same_bits(_quantile_bins(values, k), _theirs(values, "quantiles", k))


@settings(max_examples=300, deadline=None)
@given(values=_arrays, k=st.integers(min_value=2, max_value=10))
def test_equal_interval_bins_equal_mapclassify(values: np.ndarray, k: int) -> None:
    if values.min() == values.max():
        return
    _same_bits(_equal_interval_bins(values, k), _theirs(values, "equal_interval", k))


@settings(max_examples=150, deadline=None)
@given(
    values=_arrays,
    k=st.integers(min_value=1, max_value=8),
    scheme=st.sampled_from(["quantiles", "equal_interval"]),
    diverging=st.booleans(),
)
def test_classify_equals_the_mapclassify_classing(
    values: np.ndarray, k: int, scheme: str, diverging: bool
) -> None:
    _same_bits(
        _classify(values, scheme, k, diverging),
        _classify_with_mapclassify(values, scheme, k, diverging),
    )
