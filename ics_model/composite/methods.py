r"""Method registries for composite indicators: transforms, normalisers, aggregators, missing data.

Every method is a small pure function on numpy arrays (``NaN`` = missing) registered by
name in a dict; adding a method is one function plus one entry. The steps follow the
JRC/OECD *Handbook on Constructing Composite Indicators* (2008), steps 3 (imputation and
outliers), 5 (normalisation) and 6 (weighting and aggregation), and the R package COINr
(Becker et al. 2022, *JOSS* 7(78), 4567), whose names these methods share where it has them.

Registries
----------
:data:`TRANSFORMS`
    ``f(x, *, indicator, quantiles) -> x'`` applied to an indicator's raw values.
:data:`NORMALISERS`
    ``f(x, *, out_range, goalposts) -> y`` on values already oriented so that higher is
    better (a ``lower_is_better`` indicator is negated first; for goalposts the goalposts are
    negated and swapped, which reflects the scale).
:data:`AGGREGATORS`
    :class:`Aggregator` entries: ``func(values, weights, p) -> means`` over the last axis,
    and ``domain(p)``, the inputs the mean needs (``"real"``, ``"nonnegative"``,
    ``"positive"``).
:data:`MISSING_POLICIES`
    ``f(values, indicators, icb_codes) -> (values', notes)`` on the raw ICS x indicator matrix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

log = logging.getLogger(__name__)

Domain = Literal["real", "nonnegative", "positive"]


class CompositeError(ValueError):
    """A composite cannot be built as specified; the message names the indicator or pillar."""


# --------------------------------------------------------------------------- helpers


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of the non-missing values (ties get their average rank); NaN stays NaN."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    v = x[ok]
    if v.size == 0:
        return out
    order = np.argsort(v, kind="mergesort")
    sv = v[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sv)) + 1]
    ends = np.r_[starts[1:], sv.size]
    avg = (starts + ends + 1) / 2.0  # mean of the 1-based positions start+1 .. end
    ranks = np.empty(v.size)
    ranks[order] = np.repeat(avg, ends - starts)
    out[ok] = ranks
    return out


def _rescale01(u: np.ndarray, out_range: tuple[float, float]) -> np.ndarray:
    lo, hi = out_range
    return lo + u * (hi - lo)


# --------------------------------------------------------------------------- transforms


def transform_none(
    x: np.ndarray, *, indicator: str, quantiles: tuple[float, float] = (0.05, 0.95)
) -> np.ndarray:
    """Identity: :math:`x' = x`."""
    return np.array(x, dtype=float, copy=True)


def transform_log(
    x: np.ndarray, *, indicator: str, quantiles: tuple[float, float] = (0.05, 0.95)
) -> np.ndarray:
    r"""Natural logarithm, :math:`x' = \ln x`, for skewed positive indicators.

    Zeros and negatives are never logged (no silent offsets): any value :math:`\le 0`
    raises :class:`CompositeError` naming the indicator. JRC/OECD Handbook (2008)
    step 3 (skewed indicators); COINr ``Treat()`` log transforms (Becker et al. 2022).
    """
    x = np.asarray(x, dtype=float)
    bad = ~np.isnan(x) & (x <= 0)
    if bad.any():
        raise CompositeError(
            f"indicator {indicator!r}: log transform needs positive values, but "
            f"{int(bad.sum())} value(s) are <= 0 (smallest {np.nanmin(x):g}); use "
            "transform: null or winsorise"
        )
    return np.log(x)


def transform_winsorise(
    x: np.ndarray, *, indicator: str, quantiles: tuple[float, float] = (0.05, 0.95)
) -> np.ndarray:
    r"""Winsorise: clip to the ``quantiles`` of the observed values.

    :math:`x' = \min(\max(x, q_{lo}), q_{hi})` with :math:`q` the sample quantiles
    (numpy's default linear interpolation) over non-missing ICSs. JRC/OECD Handbook (2008)
    step 3 (outlier treatment); COINr ``Treat()`` winsorisation (Becker et al. 2022).
    """
    x = np.asarray(x, dtype=float)
    if np.isnan(x).all():
        return x.copy()
    lo, hi = np.nanquantile(x, quantiles)
    n_clipped = int(np.sum((x < lo) | (x > hi)))
    if n_clipped:
        log.info("indicator %s: winsorised %d value(s) to [%g, %g]", indicator, n_clipped, lo, hi)
    return np.clip(x, lo, hi)


#: transform name -> function (``null`` in a spec means ``none``).
TRANSFORMS: Final[dict[str, Callable[..., np.ndarray]]] = {
    "none": transform_none,
    "log": transform_log,
    "winsorise": transform_winsorise,
}


# --------------------------------------------------------------------------- normalisers


def normalise_minmax(
    x: np.ndarray,
    *,
    out_range: tuple[float, float] = (0.0, 100.0),
    goalposts: tuple[float, float] | None = None,
) -> np.ndarray:
    r"""Min-max onto ``out_range`` :math:`[a, b]`.

    :math:`y = a + (b - a)\,(x - \min x) / (\max x - \min x)`. A constant indicator carries
    no information and gets the midpoint :math:`(a + b)/2`. Use :math:`[1, 100]` to feed
    geometric or harmonic means. JRC/OECD Handbook (2008) step 5 (normalisation); COINr
    ``n_minmax`` (Becker et al. 2022).
    """
    x = np.asarray(x, dtype=float)
    if np.isnan(x).all():
        return x.copy()
    lo, hi = np.nanmin(x), np.nanmax(x)
    if hi == lo:
        return np.where(np.isnan(x), np.nan, (out_range[0] + out_range[1]) / 2.0)
    return _rescale01((x - lo) / (hi - lo), out_range)


def normalise_zscore(
    x: np.ndarray,
    *,
    out_range: tuple[float, float] = (0.0, 100.0),
    goalposts: tuple[float, float] | None = None,
) -> np.ndarray:
    r"""Standardise to mean 0, standard deviation 1: :math:`y = (x - \bar x) / s`.

    :math:`s` is the sample standard deviation (ddof = 1) over non-missing ICSs; a
    constant indicator gets 0. Half the values are negative, so z-scores cannot feed a
    geometric or harmonic mean. JRC/OECD Handbook (2008) step 5 (normalisation); COINr
    ``n_zscore`` (Becker et al. 2022). ``out_range`` is not used.
    """
    x = np.asarray(x, dtype=float)
    ok = ~np.isnan(x)
    if ok.sum() < 2:
        return np.where(ok, 0.0, np.nan)
    sd = np.nanstd(x, ddof=1)
    if sd == 0:
        return np.where(ok, 0.0, np.nan)
    return (x - np.nanmean(x)) / sd


def normalise_rank(
    x: np.ndarray,
    *,
    out_range: tuple[float, float] = (0.0, 100.0),
    goalposts: tuple[float, float] | None = None,
) -> np.ndarray:
    r"""Ranks :math:`1..n` (highest value = :math:`n`; ties get the average rank).

    JRC/OECD Handbook (2008) step 5 (ranking); COINr ``n_rank`` (Becker et al. 2022).
    ``out_range`` is not used.
    """
    return average_ranks(x)


def normalise_percentile_rank(
    x: np.ndarray,
    *,
    out_range: tuple[float, float] = (0.0, 100.0),
    goalposts: tuple[float, float] | None = None,
) -> np.ndarray:
    r"""Percentile ranks onto ``out_range``: :math:`y = a + (b - a)(r - 1)/(n - 1)`.

    :math:`r` is the average rank among the :math:`n` non-missing values (lowest 0,
    highest 100 by default; a single value gets the midpoint). JRC/OECD Handbook (2008)
    step 5 (percentiles); COINr ``n_prank`` (Becker et al. 2022).
    """
    r = average_ranks(x)
    n = int(np.sum(~np.isnan(r)))
    if n <= 1:
        return np.where(np.isnan(r), np.nan, (out_range[0] + out_range[1]) / 2.0)
    return _rescale01((r - 1.0) / (n - 1.0), out_range)


def normalise_goalposts(
    x: np.ndarray,
    *,
    out_range: tuple[float, float] = (0.0, 100.0),
    goalposts: tuple[float, float] | None = None,
) -> np.ndarray:
    r"""Distance to target between fixed goalposts :math:`(L, U)`, clipped, onto ``out_range``.

    :math:`y = a + (b - a)\,\mathrm{clip}((x - L)/(U - L), 0, 1)`; by default
    :math:`[0, 100]`, i.e. :math:`100 \times` the clipped share of the way from :math:`L` to
    :math:`U`. For a ``lower_is_better`` indicator the scale is reflected,
    :math:`(U - x)/(U - L)`. Scores do not depend on the other ICSs. JRC/OECD Handbook
    (2008) step 5 (distance to a target); COINr ``n_goalposts`` (Becker et al. 2022).
    """
    if goalposts is None:
        raise CompositeError("goalposts normalisation needs goalposts: {lower: ..., upper: ...}")
    lo, hi = goalposts
    x = np.asarray(x, dtype=float)
    return _rescale01(np.clip((x - lo) / (hi - lo), 0.0, 1.0), out_range)


#: normaliser name -> function (inputs already oriented: higher = better).
NORMALISERS: Final[dict[str, Callable[..., np.ndarray]]] = {
    "minmax": normalise_minmax,
    "zscore": normalise_zscore,
    "rank": normalise_rank,
    "percentile_rank": normalise_percentile_rank,
    "goalposts": normalise_goalposts,
}

#: normalisers whose output range is ``normalise_range``.
BOUNDED_NORMALISERS: Final = frozenset({"minmax", "percentile_rank", "goalposts"})


# --------------------------------------------------------------------------- aggregators
# values, weights: (..., k) arrays; weights >= 0 with a positive sum on the last axis and
# no NaN (callers give missing entries weight 0 and a neutral value of 1).


def _wsum(weights: np.ndarray) -> np.ndarray:
    return np.sum(weights, axis=-1)


def mean_arithmetic(values: np.ndarray, weights: np.ndarray, p: float = 1.0) -> np.ndarray:
    r"""Weighted arithmetic mean :math:`\sum_i w_i x_i / \sum_i w_i` (fully compensatory).

    JRC/OECD Handbook (2008) step 6 (linear aggregation); COINr ``a_amean``
    (Becker et al. 2022).
    """
    return np.sum(weights * values, axis=-1) / _wsum(weights)


def mean_geometric(values: np.ndarray, weights: np.ndarray, p: float = 1.0) -> np.ndarray:
    r"""Weighted geometric mean :math:`\exp(\sum_i w_i \ln x_i / \sum_i w_i)`; :math:`x > 0`.

    Partly compensatory: a low value is harder to offset. JRC/OECD Handbook (2008)
    step 6 (geometric aggregation); COINr ``a_gmean`` (Becker et al. 2022).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.exp(np.sum(weights * np.log(values), axis=-1) / _wsum(weights))


def mean_harmonic(values: np.ndarray, weights: np.ndarray, p: float = 1.0) -> np.ndarray:
    r"""Weighted harmonic mean :math:`\sum_i w_i / \sum_i (w_i / x_i)`; :math:`x > 0`.

    The least compensatory of the three Pythagorean means. COINr ``a_hmean`` (Becker et al.
    2022); JRC/OECD Handbook (2008) step 6 (compensability).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return _wsum(weights) / np.sum(weights / values, axis=-1)


def mean_generalised(values: np.ndarray, weights: np.ndarray, p: float = 1.0) -> np.ndarray:
    r"""Weighted power (generalised) mean :math:`(\sum_i w_i x_i^p / \sum_i w_i)^{1/p}`.

    :math:`p = 1` arithmetic, :math:`p \to 0` geometric (used exactly at :math:`p = 0`),
    :math:`p = -1` harmonic; lower :math:`p` = less compensation. COINr ``a_genmean``
    (Becker et al. 2022); JRC/OECD Handbook (2008) step 6.
    """
    if p == 0:
        return mean_geometric(values, weights)
    if p == 1:
        return mean_arithmetic(values, weights)
    # exp(log1p(mean(expm1(p ln x))) / p): exact algebra, accurate as p -> 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        m = np.sum(weights * np.expm1(p * np.log(values)), axis=-1) / _wsum(weights)
        return np.exp(np.log1p(m) / p)


def _real(p: float) -> Domain:
    return "real"


def _positive(p: float) -> Domain:
    return "positive"


def _power_domain(p: float) -> Domain:
    if p == 1:
        return "real"
    return "nonnegative" if p > 0 else "positive"


@dataclass(frozen=True)
class Aggregator:
    """A registered mean: ``func(values, weights, p)`` and the inputs it needs, ``domain(p)``."""

    func: Callable[[np.ndarray, np.ndarray, float], np.ndarray]
    domain: Callable[[float], Domain]


#: aggregation name -> :class:`Aggregator`.
AGGREGATORS: Final[dict[str, Aggregator]] = {
    "arithmetic": Aggregator(mean_arithmetic, _real),
    "geometric": Aggregator(mean_geometric, _positive),
    "harmonic": Aggregator(mean_harmonic, _positive),
    "generalised": Aggregator(mean_generalised, _power_domain),
}


def domain_violations(values: np.ndarray, domain: Domain) -> np.ndarray:
    """Boolean mask of non-missing values outside ``domain``."""
    ok = ~np.isnan(values)
    if domain == "positive":
        return ok & (values <= 0)
    if domain == "nonnegative":
        return ok & (values < 0)
    return np.zeros(values.shape, dtype=bool)


def reweighted_mean(
    values: np.ndarray, weights: np.ndarray, method: str, p: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""Weighted mean over the last axis that drops weight-0 entries and renormalises the rest.

    :math:`M(x, w') \text{ with } w'_i = w_i / \sum_j w_j`; NaN where every weight is 0
    (e.g. every indicator of a pillar missing). ``method`` names an :data:`AGGREGATORS`
    entry. This is how ``skip_reweight`` is applied: give missing entries weight 0
    (JRC/OECD Handbook 2008, step 6; COINr aggregates available data the same way,
    Becker et al. 2022).

    Returns
    -------
    tuple
        The means and the renormalised weights (0 where dropped).
    """
    total = weights.sum(axis=-1, keepdims=True)
    has = total[..., 0] > 0
    eff = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    safe_w = np.where(has[..., None], eff, 1.0)
    safe_v = np.where(eff > 0, values, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = AGGREGATORS[method].func(safe_v, safe_w, p)
    return np.where(has, out, np.nan), eff


# --------------------------------------------------------------------------- missing data


def _missing_cells(
    values: np.ndarray, indicators: Sequence[str], icb_codes: Sequence[str]
) -> list[tuple[str, str]]:
    rows, cols = np.nonzero(np.isnan(values))
    return [(icb_codes[i], indicators[j]) for i, j in zip(rows, cols, strict=True)]


def missing_error(
    values: np.ndarray, indicators: Sequence[str], icb_codes: Sequence[str]
) -> tuple[np.ndarray, list[str | None]]:
    """Refuse missing values: raise naming every ICS x indicator cell that is missing.

    JRC/OECD Handbook (2008) step 3 (case deletion is the alternative to imputation).
    """
    cells = _missing_cells(values, indicators, icb_codes)
    if cells:
        listed = ", ".join(f"{c} {i}" for c, i in cells[:20])
        more = f" and {len(cells) - 20} more" if len(cells) > 20 else ""
        raise CompositeError(
            f"missing: error, but {len(cells)} value(s) are missing (ICS indicator): "
            f"{listed}{more}; use missing: skip_reweight or impute_median"
        )
    return values.copy(), [None] * values.shape[0]


def missing_skip_reweight(
    values: np.ndarray, indicators: Sequence[str], icb_codes: Sequence[str]
) -> tuple[np.ndarray, list[str | None]]:
    r"""Keep missing values missing: aggregation drops them and reweights.

    For ICS :math:`c` the weights of the indicators it has are renormalised within the
    pillar, :math:`w'_{ci} = w_i / \sum_{j \in obs(c)} w_j`; a pillar with nothing observed
    is skipped at the top level in the same way. This is COINr's default of aggregating
    available data (Becker et al. 2022; JRC/OECD Handbook 2008, step 3, "case deletion"
    per ICS and indicator).
    """
    notes: list[str | None] = []
    for i in range(values.shape[0]):
        miss = [indicators[j] for j in np.flatnonzero(np.isnan(values[i]))]
        notes.append("skipped: " + ", ".join(miss) if miss else None)
    return values.copy(), notes


def missing_impute_median(
    values: np.ndarray, indicators: Sequence[str], icb_codes: Sequence[str]
) -> tuple[np.ndarray, list[str | None]]:
    r"""Impute the national median of the raw indicator: :math:`x_{ci} = \mathrm{median}_c\,x_{ci}`.

    The median is over the ICSs that have the indicator (unweighted). Unconditional
    median imputation (JRC/OECD Handbook 2008, step 3); COINr ``i_median``
    (Becker et al. 2022).
    """
    out = values.copy()
    notes: list[list[str]] = [[] for _ in range(values.shape[0])]
    for j, name in enumerate(indicators):
        col = out[:, j]
        miss = np.isnan(col)
        if not miss.any():
            continue
        if miss.all():
            raise CompositeError(f"indicator {name!r}: no ICS has a value, nothing to impute")
        col[miss] = np.nanmedian(col)
        for i in np.flatnonzero(miss):
            notes[i].append(name)
    return out, ["imputed: " + ", ".join(n) if n else None for n in notes]


#: missing-data policy name -> function.
MISSING_POLICIES: Final[dict[str, Callable[..., tuple[np.ndarray, list[str | None]]]]] = {
    "error": missing_error,
    "skip_reweight": missing_skip_reweight,
    "impute_median": missing_impute_median,
}


__all__ = [
    "AGGREGATORS",
    "BOUNDED_NORMALISERS",
    "MISSING_POLICIES",
    "NORMALISERS",
    "TRANSFORMS",
    "Aggregator",
    "CompositeError",
    "Domain",
    "average_ranks",
    "domain_violations",
    "mean_arithmetic",
    "mean_generalised",
    "mean_geometric",
    "mean_harmonic",
    "missing_error",
    "missing_impute_median",
    "missing_skip_reweight",
    "normalise_goalposts",
    "normalise_minmax",
    "normalise_percentile_rank",
    "normalise_rank",
    "normalise_zscore",
    "reweighted_mean",
    "transform_log",
    "transform_none",
    "transform_winsorise",
]
