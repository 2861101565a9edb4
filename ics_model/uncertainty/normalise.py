r"""Per-draw indicator preparation for the provider bootstrap, vectorised over draws.

Holds the array forms of the composite's indicator steps -- missing-data policy
(:func:`fill_missing_rows`), transform (:func:`transform_rows`) and normaliser
(:func:`normalise_rows`) -- applied along the last axis (the ICSs) of every row at once,
so each bootstrap replicate's resampled indicator values are re-normalised exactly as
:mod:`ics_model.composite.build` prepares the observed ones, without a polars pipeline
per draw. Methods without a vectorised form fall back to the registered functions of
:mod:`ics_model.composite.methods`, row by row. Used by
:func:`~ics_model.uncertainty.run.run_uncertainty`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ics_model.composite.methods import MISSING_POLICIES, NORMALISERS, TRANSFORMS
from ics_model.uncertainty.draws import rank_rows
from ics_model.uncertainty.spec import UncertaintyError


def _nan_reduce(
    fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, *, min_count: int = 1
) -> np.ndarray:
    """``fn(x)``, a NaN-ignoring reduction over the last axis with ``keepdims=True`` (and
    possibly a leading quantile axis), NaN for rows with fewer than ``min_count`` values.

    All-missing rows are legal; reducing only the rows with enough values avoids numpy's
    empty-slice and degrees-of-freedom warnings (a warning filter would be process-wide,
    so not safe with thread executors). The rows reduced are unchanged, and so are their
    results."""
    x2 = x.reshape(-1, x.shape[-1])
    rows = np.count_nonzero(~np.isnan(x2), axis=-1) >= min_count
    if rows.all():
        return fn(x)
    # with no row to reduce, a row of zeros gives the output's shape
    part = fn(x2[rows] if rows.any() else np.zeros((1, max(x2.shape[1], min_count))))
    lead = part.shape[:-2]  # () or the quantile axis
    out = np.full((*lead, x2.shape[0], 1), np.nan)
    if rows.any():
        out[..., rows, :] = part
    return out.reshape(*lead, *x.shape[:-1], 1)


def _by_row(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``fn`` on each row along the last axis (registered methods with no vectorised form)."""
    return np.stack([fn(r) for r in x.reshape(-1, x.shape[-1])]).reshape(x.shape)


def normalise_rows(
    x: np.ndarray,
    name: str,
    *,
    out_range: tuple[float, float],
    goalposts: tuple[float, float] | None = None,
) -> np.ndarray:
    r"""Apply normaliser ``name`` along the last axis (the ICSs) of every row at once.

    Identical to the registry functions of :mod:`ics_model.composite.methods`
    (min-max :math:`a + (b-a)(x - \min)/(\max - \min)`, z-score with ddof 1, average
    ranks, percentile ranks, goalposts), vectorised over the leading axes; any other
    registered normaliser is applied row by row.
    """
    x = np.asarray(x, dtype=float)
    a, b = out_range
    ok = ~np.isnan(x)
    if name == "minmax":
        lo = _nan_reduce(lambda v: np.nanmin(v, axis=-1, keepdims=True), x)
        hi = _nan_reduce(lambda v: np.nanmax(v, axis=-1, keepdims=True), x)
        span = hi - lo
        with np.errstate(invalid="ignore", divide="ignore"):
            y = a + (x - lo) / span * (b - a)
        return np.where(ok, np.where(span == 0, (a + b) / 2.0, y), np.nan)
    if name == "zscore":
        cnt = ok.sum(axis=-1, keepdims=True)
        mean = _nan_reduce(lambda v: np.nanmean(v, axis=-1, keepdims=True), x)
        sd = _nan_reduce(lambda v: np.nanstd(v, axis=-1, ddof=1, keepdims=True), x, min_count=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (x - mean) / sd
        flat = (cnt < 2) | (sd == 0)
        return np.where(ok, np.where(flat, 0.0, z), np.nan)
    if name in ("rank", "percentile_rank"):
        cnt = ok.sum(axis=-1, keepdims=True)
        # rank_rows: 1 = highest among the non-missing; ascending rank = cnt + 1 - that
        r = cnt + 1.0 - rank_rows(x.reshape(-1, x.shape[-1]), "average").reshape(x.shape)
        if name == "rank":
            return np.where(ok, r, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            y = a + (r - 1.0) / (cnt - 1.0) * (b - a)
        return np.where(ok, np.where(cnt <= 1, (a + b) / 2.0, y), np.nan)
    if name == "goalposts":
        if goalposts is None:
            raise UncertaintyError("goalposts normalisation needs goalposts")
        lo, hi = goalposts
        return a + np.clip((x - lo) / (hi - lo), 0.0, 1.0) * (b - a)
    return _by_row(lambda r: NORMALISERS[name](r, out_range=out_range, goalposts=goalposts), x)


def transform_rows(
    x: np.ndarray, name: str, *, indicator: str, quantiles: tuple[float, float]
) -> np.ndarray:
    """Apply transform ``name`` along the last axis of every row (vectorised for the
    registered ``none``, ``log`` and ``winsorise``; row by row otherwise)."""
    x = np.asarray(x, dtype=float)
    if name == "none":
        return x.copy()
    if name == "log":
        if (~np.isnan(x) & (x <= 0)).any():
            raise UncertaintyError(
                f"indicator {indicator!r}: a bootstrap resample gave a value <= 0, which the "
                "log transform cannot take; use transform: null or winsorise, or bootstrap: false"
            )
        return np.log(x)
    if name == "winsorise":
        q = _nan_reduce(lambda v: np.nanquantile(v, quantiles, axis=-1, keepdims=True), x)
        return np.clip(x, q[0], q[1])
    return _by_row(lambda r: TRANSFORMS[name](r, indicator=indicator, quantiles=quantiles), x)


def fill_missing_rows(x: np.ndarray, policy: str) -> np.ndarray:
    """The missing-data policy along the last axis (ICSs): ``impute_median`` imputes each
    row's median; ``skip_reweight`` and ``error`` leave NaN (``error`` was enforced when the
    deterministic composite was built)."""
    if policy in ("skip_reweight", "error"):
        return x
    if policy == "impute_median":
        med = _nan_reduce(lambda v: np.nanmedian(v, axis=-1, keepdims=True), x)
        return np.where(np.isnan(x), med, x)
    fn = MISSING_POLICIES[policy]
    return _by_row(lambda r: fn(r[:, None], ["x"], [str(i) for i in range(r.size)])[0][:, 0], x)


__all__ = [
    "fill_missing_rows",
    "normalise_rows",
    "transform_rows",
]
