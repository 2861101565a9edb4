r"""Relative index of inequality (RII) on the log scale: a log-linear (Poisson) model.

The RII compares the fitted value at the least deprived end of the deprivation ranking
with that at the most deprived end. ``phe_sii`` (:mod:`ics_model.metrics.sii`) takes it
from the *linear* SII fit, :math:`(\beta_0 + \beta_1)/\beta_0`, whose simulated limits
fall at or below 0 whenever the fitted share at the most deprived end can reach 0 -- an
impossible value for a ratio (29 of the 66 GP RII intervals of the embedded data did).
Here the RII comes from the log-linear model that Mackenbach & Kunst (1997) recommend for
relative inequality, fitted by Poisson maximum likelihood to each quantile's counts:

.. math::

    E[k_i] = n_i \exp(\alpha + \beta b_i), \qquad \mathrm{RII} = \exp(\beta),

with :math:`k_i` the events (e.g. practices rated Good or Outstanding) and :math:`n_i`
the population (rated practices) of quantile :math:`i`, and :math:`b_i` its relative rank,
the mid-point of its cumulative population share (0 = most deprived end, 1 = least
deprived end, as the SII). :math:`\exp(\beta)` is the fitted share at rank 1 over the
fitted share at rank 0: positive by construction, 1 = equality, on the same orientation
as ``phe_sii``'s RII. The Poisson score equations with the intercept profiled out reduce
to one monotone equation in :math:`\beta`,

.. math::

    \frac{\sum_i n_i e^{\beta b_i} b_i}{\sum_i n_i e^{\beta b_i}} = \bar b_k
    = \frac{\sum_i k_i b_i}{\sum_i k_i},

(the population's mean rank, exponentially tilted by :math:`\beta`, equals the events'
mean rank), solved by a safeguarded Newton iteration. A solution exists if and only if
there are events and :math:`\bar b_k` lies strictly between the smallest and the largest
rank, i.e. the events are not all in the first or all in the last quantile; otherwise the
RII is null with a note. The Poisson working model gives the maximum-likelihood log
risk ratio of a log-binomial model when that converges, and stays estimable when it
does not (Zou 2004; Moreno-Betancur et al. 2015).

**Confidence limits** by simulation, on the log scale: each repetition draws every
quantile's share from its Jeffreys posterior :math:`\mathrm{Beta}(k_i + \tfrac12,
n_i - k_i + \tfrac12)` (strictly between 0 and 1), refits :math:`\beta` to the
expected counts :math:`n_i p_i^*`, and the limits are order statistics of
:math:`\exp(\beta^*)` at the positions ``phe_sii`` uses. Every simulated RII is positive,
so every limit is.

References
----------
Mackenbach, J. P. & Kunst, A. E. (1997). Measuring the magnitude of socio-economic
inequalities in health. *Social Science & Medicine* 44(6), 757-771.
Moreno-Betancur, M., Latouche, A., Menvielle, G., Kunst, A. E. & Rey, G. (2015).
Relative index of inequality and slope index of inequality: a structured regression
framework for estimation. *Epidemiology* 26(4), 518-527.
Zou, G. (2004). A modified Poisson regression approach to prospective studies with binary
data. *American Journal of Epidemiology* 159(7), 702-706.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import polars as pl

from ics_model.metrics._base import MIN_QUANTILES, InequalityInputError, as_list, group_label
from ics_model.metrics.sii import _order_stats
from ics_model.metrics.sii_checks import _confidence_levels, _level_label

#: |beta| never exceeds this (an RII beyond e^60 ~ 1e26 is reported as e^60).
MAX_LOG_RII: Final = 60.0
_TOL: Final = 1e-10
_MAX_ITER: Final = 200


def ridit_ranks(population: np.ndarray) -> np.ndarray:
    r"""Relative ranks :math:`b_i = \sum_{j<i} a_j + a_i/2`, :math:`a_i = n_i / \sum_j n_j`.

    The mid-point of each quantile's cumulative population share, along the last axis
    (quantiles in order, most deprived first), as the SII.

    Examples
    --------
    >>> ridit_ranks(np.array([1.0, 1.0, 2.0])).tolist()
    [0.125, 0.375, 0.75]
    """
    pop = np.asarray(population, dtype=float)
    a = pop / pop.sum(axis=-1, keepdims=True)
    return np.cumsum(a, axis=-1) - a / 2


def loglinear_slope(
    ranks: np.ndarray, population: np.ndarray, events: np.ndarray, start: Any = 0.0
) -> np.ndarray:
    r"""Poisson maximum-likelihood slope :math:`\beta` of :math:`\log E[k_i/n_i]` on the rank.

    Solves the profiled score equation of the module docstring for each row of
    ``events`` (any leading axes, e.g. repetitions x quantiles), by Newton steps kept
    inside a bisection bracket :math:`[-60, 60]` (:data:`MAX_LOG_RII`).

    Parameters
    ----------
    ranks : relative ranks :math:`b_i` (:func:`ridit_ranks`), one per quantile.
    population : :math:`n_i > 0`, one per quantile.
    events : :math:`k_i \ge 0`, quantiles on the last axis (need not be integers:
        expected counts work).
    start : starting value(s) of :math:`\beta`, broadcast over the leading axes.

    Returns
    -------
    np.ndarray
        :math:`\beta` per leading index; NaN where there are no events or they all sit in
        the lowest- or the highest-ranked quantile (no finite maximum).

    Examples
    --------
    >>> b = ridit_ranks(np.ones(5))
    >>> n = np.full(5, 100.0)
    >>> k = n * np.exp(0.2 + 0.7 * b)  # an exact log-linear gradient
    >>> round(float(loglinear_slope(b, n, k)), 10)
    0.7
    """
    b = np.asarray(ranks, dtype=float)
    n = np.asarray(population, dtype=float)
    k = np.asarray(events, dtype=float)
    if b.ndim != 1 or n.shape != b.shape or k.shape[-1] != b.size:
        raise InequalityInputError("loglinear_slope: one rank and population per quantile")
    total = k.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        target = (k @ b) / total
    span = b.max() - b.min()
    ok = (total > 0) & (target > b.min() + 1e-12 * span) & (target < b.max() - 1e-12 * span)
    beta = np.where(ok, np.clip(np.broadcast_to(start, ok.shape), -MAX_LOG_RII, MAX_LOG_RII), 0.0)
    lo = np.full(ok.shape, -MAX_LOG_RII)
    hi = np.full(ok.shape, MAX_LOG_RII)
    centred = b - b.mean()  # |beta * centred| <= 60: exp cannot overflow
    moments = np.stack([n, n * b, n * b * b], axis=-1)
    for _ in range(_MAX_ITER):
        w = np.exp(beta[..., None] * centred)
        s0, s1, s2 = np.moveaxis(np.einsum("...q,qm->...m", w, moments), -1, 0)
        mean = s1 / s0
        var = np.maximum(s2 / s0 - mean**2, 1e-300)
        f = np.where(ok, mean - target, 0.0)
        lo = np.where(f < 0, beta, lo)
        hi = np.where(f > 0, beta, hi)
        new = beta - f / var
        outside = ~((new > lo) & (new < hi)) & (f != 0)
        new = np.where(outside, (lo + hi) / 2, new)
        done = np.abs(new - beta) <= _TOL * np.maximum(1.0, np.abs(beta))
        beta = new
        if done.all():
            break
    return np.where(ok, beta, np.nan)


def relative_index(
    frame: pl.DataFrame,
    *,
    quantile: str,
    population: str,
    events: str,
    by: str | Sequence[str] | None = None,
    confidence: float | Sequence[float] = 0.95,
    repetitions: int = 100_000,
    seed: int | np.random.Generator | None = None,
) -> pl.DataFrame:
    """Log-linear relative index of inequality per group, with simulated positive limits.

    See the module docstring for the model, the estimator and the limits.

    Parameters
    ----------
    frame : one row per group and quantile.
    quantile : numeric quantile column; 1 = most deprived (IoD convention).
    population : quantile population (> 0), e.g. rated practices.
    events : events in the quantile (0 <= events <= population), e.g. practices rated
        Good or Outstanding.
    by : grouping column(s); None for one group.
    confidence : one or more levels in (0, 1).
    repetitions : simulation size (>= 1000).
    seed : int seed or :class:`numpy.random.Generator`; groups draw in sorted ``by``
        order from one generator (null groups draw nothing).

    Returns
    -------
    pl.DataFrame
        One row per group, sorted by ``by``: the ``by`` columns, ``n_quantiles``, ``rii``,
        ``log_rii``, ``rii_lower_{c}cl`` and ``rii_upper_{c}cl`` per level (``95_0`` for
        0.95, as ``phe_sii``) and ``note`` (why a group's RII is null). Groups with fewer
        than 5 quantiles, no events, or all events in the first or the last quantile are
        null with a note.

    Raises
    ------
    InequalityInputError
        Missing columns or values, duplicated quantiles, populations <= 0, events < 0 or
        above the population, fewer than 1000 repetitions.

    References
    ----------
    Mackenbach & Kunst (1997); Moreno-Betancur et al. (2015); see the module docstring.

    Examples
    --------
    >>> f = pl.DataFrame({"q": [1, 2, 3, 4, 5], "n": [10] * 5, "k": [5, 6, 7, 8, 9]})
    >>> r = relative_index(f, quantile="q", population="n", events="k", repetitions=2000, seed=1)
    >>> round(r["rii"][0], 3), bool(0 < r["rii_lower_95_0cl"][0] < r["rii"][0])
    (2.056, True)
    """
    by_cols = as_list(by)
    levels = _confidence_levels(confidence)
    if not isinstance(repetitions, int | np.integer) or repetitions < 1000:
        raise InequalityInputError(f"repetitions must be an integer >= 1000, got {repetitions!r}")
    missing = [c for c in (quantile, population, events, *by_cols) if c not in frame.columns]
    if missing:
        raise InequalityInputError(f"relative_index: columns not in frame: {missing}")
    work = frame.select(
        *by_cols,
        pl.col(quantile).alias("__q"),
        pl.col(population).cast(pl.Float64).alias("__n"),
        pl.col(events).cast(pl.Float64).alias("__k"),
    ).sort([*by_cols, "__q"])
    parts = work.partition_by(by_cols, as_dict=True) if by_cols else {(): work}
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    lim_cols = [f"rii_{side}_{_level_label(c)}cl" for c in levels for side in ("lower", "upper")]
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    for key, part in parts.items():
        key_t = tuple(key)
        label = group_label(by_cols, key_t)
        q, n, k = (part[c].to_numpy() for c in ("__q", "__n", "__k"))
        issue = _problems(q, n, k)
        if issue:
            problems.append(f"group {label}: {issue}")
            continue
        row: dict[str, Any] = dict(zip(by_cols, key_t, strict=True))
        row.update(_one_group(n, k, levels, int(repetitions), rng))
        row["n_quantiles"] = len(q)
        rows.append(row)
    if problems:
        raise InequalityInputError("relative_index input problems:\n  " + "\n  ".join(problems))
    schema: dict[str, Any] = {b: frame.schema[b] for b in by_cols}
    schema["n_quantiles"] = pl.Int64
    schema.update(dict.fromkeys(["rii", "log_rii", *lim_cols], pl.Float64))
    schema["note"] = pl.String
    return pl.DataFrame(rows, schema=schema)


def _problems(q: np.ndarray, n: np.ndarray, k: np.ndarray) -> str | None:
    """Return one group's input problem, or None."""
    if np.isnan(n).any() or np.isnan(k).any() or any(v is None for v in q):
        return "missing quantile, population or events"
    if len(np.unique(q)) != len(q):
        return "duplicated quantiles"
    if not np.isfinite(n).all() or (n <= 0).any():
        return "population must be finite and > 0"
    if (k < 0).any() or (k > n).any():
        return "events must lie in [0, population]"
    return None


def rii_draws(
    population: np.ndarray, events: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    r"""``n`` simulated RIIs of one group (quantiles on the last axis, in rank order).

    Each quantile's share drawn from :math:`\mathrm{Beta}(k_i + \frac12, n_i - k_i +
    \frac12)` and :math:`\exp(\beta^*)` refitted to the expected counts (module
    docstring); every value is positive.
    """
    pop = np.asarray(population, dtype=float)
    k = np.asarray(events, dtype=float)
    b = ridit_ranks(pop)
    g1 = rng.standard_gamma(k + 0.5, size=(n, pop.size))
    shares = g1 / (g1 + rng.standard_gamma(pop - k + 0.5, size=(n, pop.size)))  # Beta draws
    start = loglinear_slope(b, pop, k)
    start = 0.0 if np.isnan(start) else start
    return np.exp(loglinear_slope(b, pop, shares * pop, start=start))


def _one_group(
    n: np.ndarray, k: np.ndarray, levels: list[float], repetitions: int, rng: np.random.Generator
) -> dict[str, Any]:
    nulls = {"rii": None, "log_rii": None}
    nulls.update({f"rii_{s}_{_level_label(c)}cl": None for c in levels for s in ("lower", "upper")})
    if len(n) < MIN_QUANTILES:
        return {**nulls, "note": f"{len(n)} quantiles (< {MIN_QUANTILES}): RII not computed"}
    if k.sum() == 0:
        return {**nulls, "note": "no events in any quantile: RII undefined"}
    beta = float(loglinear_slope(ridit_ranks(n), n, k))
    if np.isnan(beta):
        end = "most" if k[0] == k.sum() else "least"
        return {
            **nulls,
            "note": f"all events in the {end} deprived quantile: the log-linear RII is unbounded",
        }
    sims = rii_draws(n, k, repetitions, rng)
    out: dict[str, Any] = {"rii": float(np.exp(beta)), "log_rii": beta, "note": None}
    for c, (lo, hi) in zip(levels, _order_stats(sims, levels), strict=True):
        out[f"rii_lower_{_level_label(c)}cl"] = lo
        out[f"rii_upper_{_level_label(c)}cl"] = hi
    return out


__all__ = ["MAX_LOG_RII", "loglinear_slope", "relative_index", "ridit_ranks", "rii_draws"]
