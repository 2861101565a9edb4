r"""Inequality measures: slope and relative index of inequality, Gini, Theil, Atkinson, gaps.

**Scale.** Every measure here needs a *ratio-scale* quantity -- a share (the share of
practices rated Good or better), a rate, a waiting time, a population count. None of them
may be applied to CQC rating codes 1-4 (Inadequate 1 ... Outstanding 4): those codes are
ordinal labels, their spacing is arbitrary, and a Gini, Theil or SII of them changes with
the coding (PRIMER section 6). For ratings use shares of each category, or the ordinal
dispersion measure :func:`leik_dispersion` / :func:`rating_dispersion`, which uses only
the order of the categories.

**Deprivation direction.** The English Indices of Deprivation (IoD2019) rank 1 and
decile/quintile 1 as the *most* deprived. This module assumes that convention throughout:
``quantile`` 1 is the most deprived, the highest quantile the least deprived. Not every
file follows it (the GP practice file's ``IMD_quintile`` runs 1 = least deprived): flip
such a column (e.g. ``6 - q`` for quintiles) before calling. With quantile 1 = most
deprived, a positive SII means the value *rises* from the most to the least deprived end.

Functions
---------
:func:`slope_index`
    SII/RII as OHID/PHE compute them (PHEindicatormethods ``phe_sii``), with simulated
    confidence limits. :func:`slope_index_or_null` returns nulls and a note for groups
    with too few quantiles instead of raising.
:func:`gini`, :func:`gini_by`
    Population-weighted Gini coefficient.
:func:`theil`, :func:`theil_decomposition`
    Population-weighted Theil T index and its exact between/within decomposition.
:func:`atkinson`
    Population-weighted Atkinson index.
:func:`quintile_gap`
    Absolute gap and ratio between the most and least deprived quantile.
:func:`leik_dispersion`, :func:`rating_dispersion`
    Leik's ordinal dispersion for counts in ordered categories (e.g. CQC ratings).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from ics_model.metrics._base import (
    MAX_QUANTILES,
    MIN_QUANTILES,
    MIN_REPETITIONS,
    RATING_COUNT_COLUMNS,
    InequalityInputError,
    as_list,
    group_label,
)
from ics_model.metrics.sii import slope_index, slope_index_or_null

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------
# Gini, Theil, Atkinson
# --------------------------------------------------------------------------------------


def _vectors(values: Any, weights: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float).ravel()
    if x.size == 0:
        raise InequalityInputError(f"{name}: no values")
    if weights is None:
        w = np.ones_like(x)
    else:
        w = np.asarray(weights, dtype=float).ravel()
        if w.shape != x.shape:
            raise InequalityInputError(
                f"{name}: {x.size} values but {w.size} weights (lengths must match)"
            )
    if not np.isfinite(x).all():
        raise InequalityInputError(f"{name}: values must be finite (no NaN/inf/missing)")
    if not np.isfinite(w).all() or (w < 0).any():
        raise InequalityInputError(f"{name}: weights must be finite and >= 0")
    if (x < 0).any():
        raise InequalityInputError(f"{name}: values must be >= 0 (a ratio-scale quantity)")
    if w.sum() <= 0:
        raise InequalityInputError(f"{name}: weights sum to 0")
    if np.sum(w * x) <= 0:
        raise InequalityInputError(f"{name}: weighted mean is 0, the index is undefined")
    return x, w


def gini(values: Any, weights: Any = None) -> float:
    r"""Population-weighted Gini coefficient.

    .. math::

        G = \frac{\sum_i \sum_j w_i w_j |x_i - x_j|}{2 W^2 \mu},\qquad
        W = \sum_i w_i,\quad \mu = \frac{\sum_i w_i x_i}{W},

    computed exactly in :math:`O(n \log n)`: with :math:`x` sorted ascending,
    :math:`\sum_i\sum_j w_i w_j |x_i - x_j| = 2 \sum_i w_i x_i (W_{<i} - W_{>i})`.
    Weights act as replication counts (integer weights equal the unweighted Gini of the
    replicated data). This is the population form, without the :math:`n/(n-1)`
    small-sample correction. 0 = equality; it is scale invariant.

    Parameters
    ----------
    values : non-negative ratio-scale values (never rating codes).
    weights : non-negative weights (e.g. populations); None for equal weights.

    Raises
    ------
    InequalityInputError
        Empty input, non-finite or negative values or weights, mismatched lengths,
        zero total weight or zero mean.

    References
    ----------
    Gini, C. (1912). *Variabilità e mutabilità*. Bologna.
    Yitzhaki, S. & Schechtman, E. (2013). *The Gini Methodology*. Springer, ch. 2-3.
    """
    x, w = _vectors(values, weights, "gini")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    total = w.sum()
    cum = np.cumsum(w)
    below = cum - w
    above = total - cum
    mu = np.sum(w * x) / total
    # non-negative by construction; max() removes floating-point noise below zero
    return max(0.0, float(np.sum(w * x * (below - above)) / (total**2 * mu)))


def gini_by(
    frame: pl.DataFrame,
    value: str,
    weight: str | None = None,
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    """:func:`gini` per group.

    Returns
    -------
    pl.DataFrame
        ``by`` columns (sorted), ``n`` (rows) and ``gini``. Raises
        :class:`InequalityInputError` naming the group when one cannot be computed.
    """
    return _index_by(frame, value, weight, by, "gini", gini)


def _index_by(
    frame: pl.DataFrame,
    value: str,
    weight: str | None,
    by: str | Sequence[str] | None,
    name: str,
    fn: Any,
) -> pl.DataFrame:
    by_cols = as_list(by)
    needed = [value, *([weight] if weight else []), *by_cols]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InequalityInputError(f"{name}_by: columns not in frame: {missing}")
    work = frame.sort(by_cols, nulls_last=True) if by_cols else frame
    parts = work.partition_by(by_cols, maintain_order=True, as_dict=True) if by_cols else {(): work}
    rows = []
    for key, part in parts.items():
        x = part[value].cast(pl.Float64).to_numpy()
        w = part[weight].cast(pl.Float64).to_numpy() if weight else None
        try:
            result = fn(x, w)
        except InequalityInputError as exc:
            raise InequalityInputError(f"group {group_label(by_cols, tuple(key))}: {exc}") from exc
        rows.append({**dict(zip(by_cols, key, strict=True)), "n": part.height, name: result})
    schema: dict[str, Any] = {b: frame.schema[b] for b in by_cols}
    schema.update({"n": pl.Int64, name: pl.Float64})
    return pl.DataFrame(rows, schema=schema)


def theil(values: Any, weights: Any = None) -> float:
    r"""Population-weighted Theil T index (GE(1)).

    .. math::

        T = \sum_i s_i \ln\frac{x_i}{\mu},\qquad s_i = \frac{w_i x_i}{\sum_j w_j x_j},
        \quad \mu = \frac{\sum_j w_j x_j}{\sum_j w_j},

    i.e. :math:`T = \frac{1}{W}\sum_i w_i \frac{x_i}{\mu}\ln\frac{x_i}{\mu}`. Zero values
    contribute 0 (the limit :math:`x \ln x \to 0`). :math:`0 \le T \le \ln W` for
    replication weights; 0 = equality.

    Raises
    ------
    InequalityInputError
        As :func:`gini`.

    References
    ----------
    Theil, H. (1967). *Economics and Information Theory*. North-Holland.
    Shorrocks, A. F. (1980). The class of additively decomposable inequality measures.
    *Econometrica* 48(3), 613-625.
    """
    x, w = _vectors(values, weights, "theil")
    return _theil(x, w)


def _theil(x: np.ndarray, w: np.ndarray) -> float:
    wx = w * x
    s = wx / wx.sum()
    mu = wx.sum() / w.sum()
    pos = s > 0
    # non-negative by construction; max() removes floating-point noise below zero
    return max(0.0, float(np.sum(s[pos] * np.log(x[pos] / mu))))


@dataclass(frozen=True)
class TheilDecomposition:
    r"""Theil T split into between- and within-group parts: ``total == between + within``.

    ``groups`` has one row per group: the group column, ``population_share``
    (:math:`W_g/W`), ``value_share`` (:math:`s_g`), ``mean`` (:math:`\mu_g`), ``theil``
    (:math:`T_g`, null when the group's mean is 0), ``within_contribution``
    (:math:`s_g T_g`) and ``between_contribution`` (:math:`s_g \ln(\mu_g/\mu)`).
    """

    total: float
    between: float
    within: float
    groups: pl.DataFrame

    def as_dict(self) -> dict[str, float]:
        """Return ``total``, ``between`` and ``within`` as a dict."""
        return {"total": self.total, "between": self.between, "within": self.within}


def theil_decomposition(
    frame: pl.DataFrame,
    value: str,
    group: str,
    weight: str | None = None,
) -> TheilDecomposition:
    r"""Exact between/within decomposition of the population-weighted Theil T.

    .. math::

        T = \underbrace{\sum_g s_g \ln\frac{\mu_g}{\mu}}_{\text{between}}
          + \underbrace{\sum_g s_g T_g}_{\text{within}},\qquad
        s_g = \frac{\sum_{i\in g} w_i x_i}{\sum_i w_i x_i},

    with :math:`\mu_g` the weighted mean and :math:`T_g` the Theil T of group :math:`g`.
    A group whose values are all 0 has :math:`s_g = 0` and contributes nothing.

    Raises
    ------
    InequalityInputError
        Missing columns, null group labels, and the conditions of :func:`theil`.

    References
    ----------
    Shorrocks, A. F. (1980). *Econometrica* 48(3), 613-625.
    Bourguignon, F. (1979). Decomposable income inequality measures. *Econometrica*
    47(4), 901-920.
    """
    needed = [value, group, *([weight] if weight else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InequalityInputError(f"theil_decomposition: columns not in frame: {missing}")
    if frame[group].null_count():
        raise InequalityInputError(
            f"theil_decomposition: {frame[group].null_count()} rows with null {group!r}"
        )
    x, w = _vectors(
        frame[value].cast(pl.Float64).to_numpy(),
        frame[weight].cast(pl.Float64).to_numpy() if weight else None,
        "theil_decomposition",
    )
    total = _theil(x, w)
    grand_wx = float(np.sum(w * x))
    mu = grand_wx / float(w.sum())
    labels = frame[group]
    rows = []
    between = 0.0
    within = 0.0
    for key in labels.unique(maintain_order=False).sort().to_list():
        mask = (labels == key).to_numpy()
        xg, wg = x[mask], w[mask]
        wg_sum = float(wg.sum())
        if wg_sum <= 0:
            raise InequalityInputError(f"theil_decomposition: group {key!r} has zero total weight")
        wx_g = float(np.sum(wg * xg))
        s_g = wx_g / grand_wx
        mu_g = wx_g / wg_sum
        if s_g > 0:
            t_g = _theil(xg, wg)
            b_g = s_g * math.log(mu_g / mu)
            w_g = s_g * t_g
        else:
            t_g, b_g, w_g = None, 0.0, 0.0
        between += b_g
        within += w_g
        rows.append(
            {
                group: key,
                "population_share": wg_sum / float(w.sum()),
                "value_share": s_g,
                "mean": mu_g,
                "theil": t_g,
                "within_contribution": w_g,
                "between_contribution": b_g,
            }
        )
    schema = {
        group: frame.schema[group],
        "population_share": pl.Float64,
        "value_share": pl.Float64,
        "mean": pl.Float64,
        "theil": pl.Float64,
        "within_contribution": pl.Float64,
        "between_contribution": pl.Float64,
    }
    table = pl.DataFrame(rows, schema=schema)
    return TheilDecomposition(total=total, between=between, within=within, groups=table)


def atkinson(values: Any, weights: Any = None, epsilon: float = 0.5) -> float:
    r"""Population-weighted Atkinson index with inequality aversion :math:`\varepsilon`.

    .. math::

        A_\varepsilon = 1 - \frac{1}{\mu}\Big(\frac{1}{W}\sum_i w_i
        x_i^{1-\varepsilon}\Big)^{1/(1-\varepsilon)}\ (\varepsilon \ne 1),\qquad
        A_1 = 1 - \frac{1}{\mu}\exp\Big(\frac{1}{W}\sum_i w_i \ln x_i\Big),

    i.e. one minus the ratio of the equally-distributed-equivalent (a power mean; the
    geometric mean at :math:`\varepsilon = 1`) to the arithmetic mean. :math:`A_0 = 0`.

    Raises
    ------
    InequalityInputError
        As :func:`gini`; also :math:`\varepsilon < 0` or non-finite, and a zero value
        (with positive weight) when :math:`\varepsilon \ge 1` (its power mean is 0 or
        undefined).

    References
    ----------
    Atkinson, A. B. (1970). On the measurement of inequality. *Journal of Economic
    Theory* 2(3), 244-263.
    """
    if not math.isfinite(epsilon) or epsilon < 0:
        raise InequalityInputError(f"atkinson: epsilon must be finite and >= 0, got {epsilon}")
    x, w = _vectors(values, weights, "atkinson")
    keep = w > 0
    x, w = x[keep], w[keep]
    if epsilon >= 1 and (x == 0).any():
        raise InequalityInputError(
            f"atkinson: zero values are not allowed with epsilon >= 1 (epsilon={epsilon})"
        )
    total = w.sum()
    mu = np.sum(w * x) / total
    r = x / mu
    if epsilon == 1:
        ede = math.exp(float(np.sum(w * np.log(r)) / total))
    else:
        ede = float(np.sum(w * r ** (1 - epsilon)) / total) ** (1 / (1 - epsilon))
    # non-negative by construction; max() removes floating-point noise below zero
    return max(0.0, float(1 - ede))


# --------------------------------------------------------------------------------------
# Quintile gap
# --------------------------------------------------------------------------------------


def quintile_gap(
    frame: pl.DataFrame,
    *,
    quantile: str,
    value: str,
    most_deprived: int = 1,
    least_deprived: int = 5,
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    r"""Gap between the most and the least deprived quantile.

    .. math::

        \text{absolute\_gap} = y_{\text{most}} - y_{\text{least}},\qquad
        \text{ratio} = y_{\text{most}} / y_{\text{least}}.

    Direction: *most deprived minus least deprived* (IoD convention, quantile 1 = most
    deprived by default). A positive gap means the value is higher in the most deprived
    quantile -- bad for a mortality rate or a wait, good for a share rated Good.
    ``ratio`` is null when the least deprived value is 0.

    Returns
    -------
    pl.DataFrame
        ``by`` columns (sorted), ``value_most_deprived``, ``value_least_deprived``,
        ``absolute_gap``, ``ratio``.

    Raises
    ------
    InequalityInputError
        A group lacks either quantile, has it more than once, or its value is missing.

    References
    ----------
    Mackenbach, J. P. & Kunst, A. E. (1997). Measuring the magnitude of socio-economic
    inequalities in health. *Social Science & Medicine* 44(6), 757-771.
    """
    by_cols = as_list(by)
    missing = [c for c in (quantile, value, *by_cols) if c not in frame.columns]
    if missing:
        raise InequalityInputError(f"quintile_gap: columns not in frame: {missing}")
    if most_deprived == least_deprived:
        raise InequalityInputError("quintile_gap: most_deprived and least_deprived are equal")
    keys_cols = by_cols or ["__all"]
    work = frame if by_cols else frame.with_columns(pl.lit(0).alias("__all"))
    keys = work.select(keys_cols).unique().sort(keys_cols, nulls_last=True)
    out = keys
    problems: list[str] = []
    for q, name in (
        (most_deprived, "value_most_deprived"),
        (least_deprived, "value_least_deprived"),
    ):
        part = (
            work.filter(pl.col(quantile) == q)
            .group_by(keys_cols)
            .agg(pl.len().alias("__n"), pl.col(value).cast(pl.Float64).first().alias(name))
        )
        out = out.join(part, on=keys_cols, how="left", nulls_equal=True)
        for row in out.iter_rows(named=True):
            label = group_label(by_cols, tuple(row[b] for b in by_cols))
            if row["__n"] is None:
                problems.append(f"group {label}: no row for quantile {q}")
            elif row["__n"] > 1:
                problems.append(f"group {label}: quantile {q} appears {row['__n']} times")
            elif row[name] is None:
                problems.append(f"group {label}: missing value for quantile {q}")
        out = out.drop("__n")
    if problems:
        raise InequalityInputError("quintile_gap input problems:\n  " + "\n  ".join(problems))
    most, least = pl.col("value_most_deprived"), pl.col("value_least_deprived")
    out = out.with_columns(
        (most - least).alias("absolute_gap"),
        pl.when(least != 0).then(most / least).otherwise(None).alias("ratio"),
    )
    return out if by_cols else out.drop("__all")


# --------------------------------------------------------------------------------------
# Ordinal dispersion
# --------------------------------------------------------------------------------------


def leik_dispersion(counts: Sequence[float] | np.ndarray) -> float:
    r"""Leik's ordinal dispersion :math:`D` for counts in ordered categories.

    .. math::

        D = \frac{2}{k-1}\sum_{i=1}^{k-1} d_i,\qquad
        d_i = \begin{cases} F_i & F_i \le 1/2 \\ 1 - F_i & F_i > 1/2\end{cases}
          \;=\; 1 - \frac{1}{k-1}\sum_{i=1}^{k-1} |2F_i - 1|,

    with :math:`F_i` the cumulative proportion up to category :math:`i` of :math:`k`.
    :math:`D = 0` when every count is in one category, :math:`D = 1` when the counts are
    split evenly between the two extreme categories. Uses only the order of the
    categories, so it suits CQC ratings (give counts worst to best or best to worst --
    :math:`D` is the same).

    Raises
    ------
    InequalityInputError
        Fewer than 2 categories, negative or non-finite counts, or a zero total.

    References
    ----------
    Leik, R. K. (1966). A measure of ordinal consensus. *Pacific Sociological Review*
    9(2), 85-90.
    """
    n = np.asarray(counts, dtype=float).ravel()
    if n.size < 2:
        raise InequalityInputError("leik_dispersion: need at least 2 ordered categories")
    if not np.isfinite(n).all() or (n < 0).any():
        raise InequalityInputError("leik_dispersion: counts must be finite and >= 0")
    total = n.sum()
    if total <= 0:
        raise InequalityInputError("leik_dispersion: total count is 0")
    cum = np.cumsum(n)[:-1] / total
    return float(1 - np.sum(np.abs(2 * cum - 1)) / (n.size - 1))


def rating_dispersion(frame: pl.DataFrame, by: str | Sequence[str] | None = None) -> pl.DataFrame:
    """Leik's dispersion of CQC ratings from count columns, per group.

    Takes ``n_inadequate``, ``n_requires_improvement``, ``n_good``, ``n_outstanding``
    (summed over rows within each ``by`` group) and applies :func:`leik_dispersion`
    (k = 4, order Inadequate < Requires improvement < Good < Outstanding).

    Returns
    -------
    pl.DataFrame
        ``by`` columns (sorted), the four counts, ``n_rated`` and ``leik_dispersion``
        (null when ``n_rated`` is 0).

    Raises
    ------
    InequalityInputError
        Missing count columns, or negative or null counts.

    References
    ----------
    Leik, R. K. (1966). *Pacific Sociological Review* 9(2), 85-90.
    """
    by_cols = as_list(by)
    missing = [c for c in (*RATING_COUNT_COLUMNS, *by_cols) if c not in frame.columns]
    if missing:
        raise InequalityInputError(f"rating_dispersion: columns not in frame: {missing}")
    bad = frame.filter(
        pl.any_horizontal([pl.col(c).is_null() | (pl.col(c) < 0) for c in RATING_COUNT_COLUMNS])
    )
    if bad.height:
        raise InequalityInputError(
            f"rating_dispersion: {bad.height} rows with null or negative counts"
        )
    counts = [pl.col(c).cast(pl.Int64).sum().alias(c) for c in RATING_COUNT_COLUMNS]
    agg = (
        frame.group_by(by_cols).agg(counts).sort(by_cols, nulls_last=True)
        if by_cols
        else frame.select(counts)
    )
    total = pl.sum_horizontal([pl.col(c) for c in RATING_COUNT_COLUMNS])
    k = len(RATING_COUNT_COLUMNS)
    cums = [
        pl.sum_horizontal([pl.col(c) for c in RATING_COUNT_COLUMNS[: i + 1]]) / pl.col("n_rated")
        for i in range(k - 1)
    ]
    spread = pl.sum_horizontal([(2 * f - 1).abs() for f in cums])
    return agg.with_columns(total.alias("n_rated")).with_columns(
        pl.when(pl.col("n_rated") > 0)
        .then(1 - spread / (k - 1))
        .otherwise(None)
        .alias("leik_dispersion")
    )


__all__ = [
    "MAX_QUANTILES",
    "MIN_QUANTILES",
    "MIN_REPETITIONS",
    "RATING_COUNT_COLUMNS",
    "InequalityInputError",
    "TheilDecomposition",
    "atkinson",
    "gini",
    "gini_by",
    "leik_dispersion",
    "quintile_gap",
    "rating_dispersion",
    "slope_index",
    "slope_index_or_null",
    "theil",
    "theil_decomposition",
]
