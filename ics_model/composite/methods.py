r"""Method registries for composite indicators: transforms, normalisers, aggregators, missing data.

Every method is a small pure function on numpy arrays (``NaN`` = missing) registered by
name in a dict; adding a method is one function plus one entry. Every method takes any
leading axes -- one ICS x indicator matrix, or a leading axis of Monte Carlo draws -- so
the deterministic composite (:mod:`~ics_model.composite.build`) and the uncertainty
analysis (:mod:`ics_model.uncertainty`) call the same functions. The steps follow the
JRC/OECD *Handbook on Constructing Composite Indicators* (2008), steps 3 (imputation and
outliers), 5 (normalisation) and 6 (weighting and aggregation), and the R package COINr
(Becker et al. 2022, *JOSS* 7(78), 4567), whose names these methods share where it has them.

Registries
----------
:data:`TRANSFORMS`
    ``f(x, *, indicator, quantiles) -> x'`` applied to an indicator's raw values, along
    the last axis (the ICSs).
:data:`NORMALISERS`
    ``f(x, *, out_range, goalposts) -> y`` along the last axis (the ICSs), on values
    already oriented so that higher is better (a ``lower_is_better`` indicator is negated
    first; for goalposts the goalposts are negated and swapped, which reflects the scale).
:data:`AGGREGATORS`
    :class:`Aggregator` entries: ``func(values, weights, p, observed) -> means`` over the
    last axis (the indicators or pillars), weights per entry or one row per draw, and
    ``domain(p)``, the inputs the mean needs (``"real"``, ``"nonnegative"``, ``"positive"``).
:data:`MISSING_POLICIES`
    ``f(values, indicators, icb_codes) -> (values', notes)`` on the raw ICS x indicator
    matrix (any leading axes), along the ICS axis.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

log = logging.getLogger(__name__)

Domain = Literal["real", "nonnegative", "positive"]
Ties = Literal["min", "average"]


class CompositeError(ValueError):
    """A composite cannot be built as specified; the message names the indicator or pillar."""


def _nan_reduce(
    fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, *, min_count: int = 1
) -> np.ndarray:
    """Return ``fn(x)``, a NaN-ignoring last-axis reduction (keepdims), NaN for short rows.

    Rows with fewer than ``min_count`` values give NaN without numpy's empty-slice
    warnings (a warning filter would be process-wide, unsafe with thread executors).
    """
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


def rank_along(x: np.ndarray, ties: Ties = "average", *, descending: bool = False) -> np.ndarray:
    r"""Return the ranks :math:`1..n` of the non-missing values along the last axis; NaN stays NaN.

    Parameters
    ----------
    x : values, any leading axes (e.g. draws x ICSs).
    ties : ``average`` (tied values share the mean of their positions) or ``min`` (the
        lowest position of the group).
    descending : rank 1 = the highest value (else the lowest).

    Notes
    -----
    One ``argsort`` per call: tied groups are found in sorted order and their first
    (``min``) or mean (``average``) position is scattered back; without ties or NaN the
    sorted positions are scattered back directly. Average ranks are the "fractional
    ranking" of Kendall (1945), as ``scipy.stats.rankdata(method="average")``.
    """
    x = np.asarray(x, dtype=float)
    shape = x.shape
    if x.size == 0:
        return np.full(shape, np.nan)
    flat = x.reshape(-1, shape[-1])
    d, n = flat.shape
    key = -flat if descending else flat
    order = np.argsort(key, axis=1)  # NaN last
    s = np.take_along_axis(key, order, axis=1)
    pos = np.broadcast_to(np.arange(1, n + 1, dtype=float), (d, n))
    new = np.ones((d, n), dtype=bool)
    np.not_equal(s[:, 1:], s[:, :-1], out=new[:, 1:])
    out = np.empty((d, n))
    if new.all() and not np.isnan(s[:, -1]).any():  # no ties, nothing missing
        np.put_along_axis(out, order, pos, axis=1)
        return out.reshape(shape)
    first = np.maximum.accumulate(np.where(new, pos, 0.0), axis=1)
    if ties == "average":
        last_of = np.ones((d, n), dtype=bool)
        last_of[:, :-1] = new[:, 1:]
        end = np.where(last_of, pos, np.inf)[:, ::-1]
        last = np.minimum.accumulate(end, axis=1)[:, ::-1]
        ranked = (first + last) / 2.0
    elif ties == "min":
        ranked = first
    else:
        raise CompositeError(f"unknown ties {ties!r} (min, average)")
    np.put_along_axis(out, order, np.where(np.isnan(s), np.nan, ranked), axis=1)
    return out.reshape(shape)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Return ranks 1..n of the non-missing values along the last axis (ties averaged).

    :func:`rank_along` with ``ties="average"``, ascending; NaN stays NaN.
    """
    return rank_along(x, "average")


def _rescale01(u: np.ndarray, out_range: tuple[float, float]) -> np.ndarray:
    lo, hi = out_range
    return lo + u * (hi - lo)


def _count(x: np.ndarray) -> np.ndarray:
    """Non-missing values along the last axis (kept as a length-1 axis)."""
    return np.sum(~np.isnan(x), axis=-1, keepdims=True)


# x: values of one indicator, any leading axes (e.g. draws), the ICSs on the last axis.


def transform_none(
    x: np.ndarray, *, indicator: str, quantiles: tuple[float, float] = (0.05, 0.95)
) -> np.ndarray:
    """Return a copy: the identity :math:`x' = x`."""
    return np.array(x, dtype=float, copy=True)


def transform_log(
    x: np.ndarray, *, indicator: str, quantiles: tuple[float, float] = (0.05, 0.95)
) -> np.ndarray:
    r"""Return the natural logarithm, :math:`x' = \ln x`, for skewed positive indicators.

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
    r"""Winsorise: clip to the ``quantiles`` of the observed values along the last axis.

    :math:`x' = \min(\max(x, q_{lo}), q_{hi})` with :math:`q` the sample quantiles
    (numpy's default linear interpolation, Hyndman & Fan 1996 type 7) over the
    non-missing ICSs of each row. JRC/OECD Handbook (2008) step 3 (outlier treatment);
    COINr ``Treat()`` winsorisation (Becker et al. 2022).
    """
    x = np.asarray(x, dtype=float)
    if np.isnan(x).all():
        return x.copy()
    q = _nan_reduce(lambda v: np.nanquantile(v, quantiles, axis=-1, keepdims=True), x)
    lo, hi = q[0], q[1]
    n_clipped = int(np.sum((x < lo) | (x > hi)))
    if n_clipped:
        level = logging.INFO if x.ndim == 1 else logging.DEBUG
        log.log(level, "indicator %s: winsorised %d value(s)", indicator, n_clipped)
    return np.clip(x, lo, hi)


#: transform name -> function (``null`` in a spec means ``none``).
TRANSFORMS: Final[dict[str, Callable[..., np.ndarray]]] = {
    "none": transform_none,
    "log": transform_log,
    "winsorise": transform_winsorise,
}


# x: oriented values of one indicator, any leading axes (e.g. draws), the ICSs on the last
# axis; each row is normalised over its own non-missing ICSs.


def normalise_minmax(
    x: np.ndarray,
    *,
    out_range: tuple[float, float] = (0.0, 100.0),
    goalposts: tuple[float, float] | None = None,
) -> np.ndarray:
    r"""Min-max onto ``out_range`` :math:`[a, b]` along the last axis.

    :math:`y = a + (b - a)\,(x - \min x) / (\max x - \min x)`. A constant indicator carries
    no information and gets the midpoint :math:`(a + b)/2`. Use :math:`[1, 100]` to feed
    geometric or harmonic means. JRC/OECD Handbook (2008) step 5 (normalisation); COINr
    ``n_minmax`` (Becker et al. 2022).
    """
    x = np.asarray(x, dtype=float)
    a, b = out_range
    lo = _nan_reduce(lambda v: np.nanmin(v, axis=-1, keepdims=True), x)
    hi = _nan_reduce(lambda v: np.nanmax(v, axis=-1, keepdims=True), x)
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        y = _rescale01((x - lo) / span, out_range)
    return np.where(np.isnan(x), np.nan, np.where(span == 0, (a + b) / 2.0, y))


def normalise_zscore(
    x: np.ndarray,
    *,
    out_range: tuple[float, float] = (0.0, 100.0),
    goalposts: tuple[float, float] | None = None,
) -> np.ndarray:
    r"""Standardise along the last axis to mean 0, standard deviation 1: :math:`(x - \bar x)/s`.

    :math:`s` is the sample standard deviation (ddof = 1) over non-missing ICSs; a
    constant indicator (or fewer than two values) gets 0. Half the values are negative, so
    z-scores cannot feed a geometric or harmonic mean. JRC/OECD Handbook (2008) step 5
    (normalisation); COINr ``n_zscore`` (Becker et al. 2022). ``out_range`` is not used.
    """
    x = np.asarray(x, dtype=float)
    mean = _nan_reduce(lambda v: np.nanmean(v, axis=-1, keepdims=True), x)
    sd = _nan_reduce(lambda v: np.nanstd(v, axis=-1, ddof=1, keepdims=True), x, min_count=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x - mean) / sd
    flat = (_count(x) < 2) | (sd == 0)
    return np.where(np.isnan(x), np.nan, np.where(flat, 0.0, z))


def normalise_rank(
    x: np.ndarray,
    *,
    out_range: tuple[float, float] = (0.0, 100.0),
    goalposts: tuple[float, float] | None = None,
) -> np.ndarray:
    r"""Return ranks :math:`1..n` along the last axis (highest value = :math:`n`; ties averaged).

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
    r"""Percentile ranks onto ``out_range`` along the last axis: :math:`a + (b - a)(r - 1)/(n - 1)`.

    :math:`r` is the average rank among the :math:`n` non-missing values (lowest 0,
    highest 100 by default; a single value gets the midpoint). JRC/OECD Handbook (2008)
    step 5 (percentiles); COINr ``n_prank`` (Becker et al. 2022).
    """
    r = average_ranks(x)
    n = _count(r)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = _rescale01((r - 1.0) / (n - 1.0), out_range)
    mid = (out_range[0] + out_range[1]) / 2.0
    return np.where(np.isnan(r), np.nan, np.where(n <= 1, mid, y))


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


# values: (..., k), the indicators (or pillars) on the last axis, e.g. ICS x k or
# draws x ICS x k; weights >= 0, no NaN, broadcastable to values -- per entry (e.g. an
# ICS's renormalised weights) or one row per draw shared by every ICS, shape
# (draws, 1, k), which is contracted with a matrix product instead of being broadcast.
# observed: optional mask of the entries that count (the others are dropped from the
# numerator and the denominator); without it every entry counts (callers then give
# missing entries weight 0 and a neutral value of 1).


def _shared(weights: np.ndarray, values: np.ndarray) -> bool:
    """Whether ``weights`` is one row per draw, ``(d, 1, k)``, shared by every ICS."""
    return weights.ndim == 3 and weights.shape[1] == 1 and values.ndim in (2, 3)


def weighted_sum(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    r"""Return :math:`\sum_i w_i x_i` over the last axis (leading axes broadcast).

    Shared weights ``(d, 1, k)`` with ``values`` ``n x k`` (one matrix for every draw) are
    one matrix product :math:`W X^\top` (BLAS); with ``values`` ``d x n x k`` (a matrix per
    draw) one ``einsum`` contraction. Other weights are multiplied elementwise and summed
    (``np.sum``). The three agree to rounding; each is what the callers have always used
    (the deterministic composite the elementwise form, the Monte Carlo the contractions).
    """
    if _shared(weights, values):
        w = weights[:, 0, :]
        return w @ values.T if values.ndim == 2 else np.einsum("dnk,dk->dn", values, w)
    return np.sum(weights * values, axis=-1)


def _dropped(terms: np.ndarray, observed: np.ndarray | None) -> np.ndarray:
    """``terms`` with the entries that are not observed set to 0."""
    return terms if observed is None else np.where(observed, terms, 0.0)


def _weight_total(weights: np.ndarray, observed: np.ndarray | None) -> np.ndarray:
    r""":math:`\sum_i w_i o_i` over the last axis (:math:`o_i` = 1 when observed)."""
    if observed is None:
        return np.sum(weights, axis=-1)
    return weighted_sum(weights, observed.astype(float))


def mean_arithmetic(
    values: np.ndarray, weights: np.ndarray, p: float = 1.0, observed: np.ndarray | None = None
) -> np.ndarray:
    r"""Return the weighted arithmetic mean :math:`\sum_i w_i x_i / \sum_i w_i` (compensatory).

    JRC/OECD Handbook (2008) step 6 (linear aggregation); COINr ``a_amean``
    (Becker et al. 2022).
    """
    return weighted_sum(weights, _dropped(values, observed)) / _weight_total(weights, observed)


def mean_geometric(
    values: np.ndarray, weights: np.ndarray, p: float = 1.0, observed: np.ndarray | None = None
) -> np.ndarray:
    r"""Return the weighted geometric mean :math:`\exp(\sum_i w_i \ln x_i / \sum_i w_i)`, x > 0.

    Partly compensatory: a low value is harder to offset. JRC/OECD Handbook (2008)
    step 6 (geometric aggregation); COINr ``a_gmean`` (Becker et al. 2022).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        num = weighted_sum(weights, _dropped(np.log(values), observed))
        return np.exp(num / _weight_total(weights, observed))


def mean_harmonic(
    values: np.ndarray, weights: np.ndarray, p: float = 1.0, observed: np.ndarray | None = None
) -> np.ndarray:
    r"""Return the weighted harmonic mean :math:`\sum_i w_i / \sum_i (w_i / x_i)`; :math:`x > 0`.

    The least compensatory of the three Pythagorean means. COINr ``a_hmean`` (Becker et al.
    2022); JRC/OECD Handbook (2008) step 6 (compensability).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if _shared(weights, values):
            den = weighted_sum(weights, _dropped(np.reciprocal(values), observed))
        else:
            den = np.sum(_dropped(weights / values, observed), axis=-1)
        return _weight_total(weights, observed) / den


def mean_generalised(
    values: np.ndarray, weights: np.ndarray, p: float = 1.0, observed: np.ndarray | None = None
) -> np.ndarray:
    r"""Return the weighted power (generalised) mean :math:`(\sum_i w_i x_i^p / \sum_i w_i)^{1/p}`.

    :math:`p = 1` arithmetic, :math:`p \to 0` geometric (used exactly at :math:`p = 0`),
    :math:`p = -1` harmonic; lower :math:`p` = less compensation. Computed as
    :math:`\exp(\mathrm{log1p}(m)/p)` with :math:`m` the weighted mean of
    :math:`\mathrm{expm1}(p \ln x) = x^p - 1`: exact algebra, accurate as :math:`p \to 0`.
    COINr ``a_genmean`` (Becker et al. 2022); JRC/OECD Handbook (2008) step 6.
    """
    if p == 0:
        return mean_geometric(values, weights, observed=observed)
    if p == 1:
        return mean_arithmetic(values, weights, observed=observed)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        num = weighted_sum(weights, _dropped(np.expm1(p * np.log(values)), observed))
        m = num / _weight_total(weights, observed)
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
    """A registered mean, ``func(values, weights, p, observed)``, and its inputs, ``domain(p)``."""

    func: Callable[..., np.ndarray]
    domain: Callable[[float], Domain]


#: aggregation name -> :class:`Aggregator`.
AGGREGATORS: Final[dict[str, Aggregator]] = {
    "arithmetic": Aggregator(mean_arithmetic, _real),
    "geometric": Aggregator(mean_geometric, _positive),
    "harmonic": Aggregator(mean_harmonic, _positive),
    "generalised": Aggregator(mean_generalised, _power_domain),
}


def domain_violations(values: np.ndarray, domain: Domain) -> np.ndarray:
    """Return the boolean mask of non-missing values outside ``domain``."""
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


# values: ICS x indicator raw values, any leading axes (e.g. draws x ICS x indicator);
# the policies work along the ICS axis (-2). Notes are per ICS (an indicator missing in
# any leading slice is named).


def _missing_by_ics(values: np.ndarray) -> np.ndarray:
    """ICS x indicator mask of values missing in any leading slice."""
    miss = np.isnan(values)
    return miss.any(axis=tuple(range(miss.ndim - 2))) if miss.ndim > 2 else miss


def _missing_cells(
    values: np.ndarray, indicators: Sequence[str], icb_codes: Sequence[str]
) -> list[tuple[str, str]]:
    rows, cols = np.nonzero(_missing_by_ics(values))
    return [(icb_codes[i], indicators[j]) for i, j in zip(rows, cols, strict=True)]


def _notes(miss: np.ndarray, indicators: Sequence[str], prefix: str) -> list[str | None]:
    """Per ICS: ``prefix`` and the indicators of its row of ``miss``, or None."""
    names = [[indicators[j] for j in np.flatnonzero(row)] for row in miss]
    return [prefix + ", ".join(n) if n else None for n in names]


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
    return values.copy(), [None] * values.shape[-2]


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
    return values.copy(), _notes(_missing_by_ics(values), indicators, "skipped: ")


def missing_impute_median(
    values: np.ndarray, indicators: Sequence[str], icb_codes: Sequence[str]
) -> tuple[np.ndarray, list[str | None]]:
    r"""Impute the national median of the raw indicator: :math:`x_{ci} = \mathrm{median}_c\,x_{ci}`.

    The median is over the ICSs that have the indicator (unweighted), per leading slice.
    Unconditional median imputation (JRC/OECD Handbook 2008, step 3); COINr ``i_median``
    (Becker et al. 2022).
    """
    miss = np.isnan(values)
    empty = miss.all(axis=-2)
    if empty.any():
        name = indicators[int(np.nonzero(empty)[-1][0])]
        raise CompositeError(f"indicator {name!r}: no ICS has a value, nothing to impute")
    med = np.nanmedian(values, axis=-2, keepdims=True)  # no column is empty (checked)
    out = values.copy()  # C order, as every policy returns (BLAS sums depend on the layout)
    np.copyto(out, np.broadcast_to(med, out.shape), where=miss)
    return out, _notes(_missing_by_ics(values), indicators, "imputed: ")


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
    "Ties",
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
    "rank_along",
    "reweighted_mean",
    "transform_log",
    "transform_none",
    "transform_winsorise",
    "weighted_sum",
]
