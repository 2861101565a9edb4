r"""Funnel-plot control limits for a proportion (Spiegelhalter 2005).

A funnel plot shows each ICS's share (say, of rated NHS trusts rated Outstanding) against
its number of rated providers :math:`n`, with control limits around a target proportion
:math:`p_0` (here the national proportion). The limits are statistics, so they are
computed here and handed to :func:`ics_model.plot.funnel`, which only draws them.

**Exact binomial limits** (``method="exact"``, the default; Spiegelhalter 2005, appendix
A.1.1). For a level :math:`c`, the lower and upper limits use the probabilities
:math:`q = (1-c)/2` and :math:`q = 1-(1-c)/2`. With :math:`F` the cumulative distribution
of :math:`R \sim \mathrm{Binomial}(n, p_0)`, let :math:`r_q` be the smallest :math:`r` with
:math:`F(r) \ge q` (the binomial :math:`q`-quantile) and

.. math::

    \alpha = \frac{F(r_q) - q}{F(r_q) - F(r_q - 1)}, \qquad
    \text{limit} = \frac{r_q - \alpha}{n},

which interpolates between :math:`(r_q - 1)/n` and :math:`r_q/n` so the funnel is
smooth rather than a staircase. (The interpolation spreads the probability of
:math:`R = r` evenly over :math:`(r-1, r]`, so exact limits sit half a provider below a
symmetric pair: for :math:`p_0 = 0.5`, :math:`n = 100` the 95% limits are 0.39683 and
0.59317.)

**Normal approximation** (``method="normal"``):
:math:`p_0 \pm z_{(1+c)/2}\sqrt{p_0(1-p_0)/n}`, clipped to [0, 1]. These are also the
"Wilson" (score) limits: an observed share lies inside them exactly when its Wilson score
interval at level :math:`c` contains :math:`p_0`, since the Wilson interval inverts this
score test (Wilson 1927).

References
----------
Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
*Statistics in Medicine* 24(8), 1185-1202.
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
inference. *JASA* 22(158), 209-212.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import NormalDist
from typing import Final, Literal

import numpy as np
import polars as pl

FunnelMethod = Literal["exact", "normal"]

#: Share column of the ICS view -> the count columns whose sum is its numerator.
SHARE_NUMERATORS: Final[dict[str, tuple[str, ...]]] = {
    "share_outstanding": ("n_outstanding",),
    "share_good_or_outstanding": ("n_outstanding", "n_good"),
}

LIMITS_SCHEMA: Final = {
    "n": pl.Int64,
    "level": pl.Float64,
    "p0": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
    "method": pl.String,
}


def _binomial_cdf(n: int, p: float) -> np.ndarray:
    r"""Return :math:`P(R \le r)` for :math:`r = 0..n`, :math:`R \sim Bin(n, p)`, ``0 < p < 1``."""
    k = np.arange(1, n + 1, dtype=float)
    log_choose = np.concatenate(([0.0], np.cumsum(np.log(n - k + 1) - np.log(k))))
    r = np.arange(n + 1, dtype=float)
    log_pmf = log_choose + r * math.log(p) + (n - r) * math.log1p(-p)
    cdf = np.cumsum(np.exp(log_pmf))
    return np.minimum(cdf, 1.0)


def _exact_limit(cdf: np.ndarray, n: int, q: float) -> float:
    """Spiegelhalter's interpolated binomial quantile, as a proportion of ``n``."""
    r = min(int(np.searchsorted(cdf, q, side="left")), n)
    f_r = float(cdf[r])
    f_prev = float(cdf[r - 1]) if r > 0 else 0.0
    alpha = (f_r - q) / (f_r - f_prev) if f_r > f_prev else 0.0
    return min(max((r - alpha) / n, 0.0), 1.0)


def _check_levels(levels: Sequence[float]) -> list[float]:
    out = [float(c) for c in levels]
    if not out:
        raise ValueError("give at least one level")
    bad = [c for c in out if not 0.0 < c < 1.0]
    if bad:
        raise ValueError(f"levels must lie in (0, 1), got {bad}")
    return out


def funnel_limits(
    p0: float,
    n_grid: Iterable[int],
    levels: Sequence[float] = (0.95, 0.998),
    *,
    method: FunnelMethod = "exact",
) -> pl.DataFrame:
    """Control limits around a target proportion for each number of units ``n``.

    Parameters
    ----------
    p0 : the target proportion, in [0, 1] (e.g. :func:`national_proportion`).
    n_grid : numbers of units (rated providers) at which to compute the limits; positive
        integers. A dense grid (``range(1, n_max + 1)``) draws a smooth funnel.
    levels : control levels, each in (0, 1); 0.95 and 0.998 are the usual "2 and 3
        standard deviation" funnels.
    method : ``"exact"`` (interpolated binomial quantiles) or ``"normal"`` (normal
        approximation, equivalently the Wilson score limits); see the module docstring.

    Returns
    -------
    pl.DataFrame
        One row per level x n, sorted by level then n: ``n`` (Int64), ``level``, ``p0``,
        ``lower``, ``upper`` (proportions in [0, 1]) and ``method``. When ``p0`` is 0 or 1
        both limits equal ``p0``.

    Raises
    ------
    ValueError
        ``p0`` outside [0, 1], a non-positive or non-integer ``n``, a level outside (0, 1),
        or an unknown method.

    Examples
    --------
    >>> lim = funnel_limits(0.5, [100], [0.95], method="normal")
    >>> round(lim["lower"][0], 4), round(lim["upper"][0], 4)
    (0.402, 0.598)
    """
    if method not in ("exact", "normal"):
        raise ValueError(f"method must be 'exact' or 'normal', got {method!r}")
    p0 = float(p0)
    if not 0.0 <= p0 <= 1.0:
        raise ValueError(f"p0 must lie in [0, 1], got {p0}")
    lv = _check_levels(levels)
    grid = list(n_grid)
    bad = [n for n in grid if not float(n).is_integer() or n < 1]
    if bad:
        raise ValueError(f"n_grid must hold positive integers, got {bad[:5]}")
    ns = sorted({int(n) for n in grid})
    rows: list[tuple[int, float, float, float, float, str]] = []
    for c in lv:
        q_lo, q_hi = (1 - c) / 2, 1 - (1 - c) / 2
        z = NormalDist().inv_cdf(q_hi)
        for n in ns:
            if p0 in (0.0, 1.0):
                lo = hi = p0
            elif method == "normal":
                half = z * math.sqrt(p0 * (1 - p0) / n)
                lo, hi = max(p0 - half, 0.0), min(p0 + half, 1.0)
            else:
                cdf = _binomial_cdf(n, p0)
                lo, hi = _exact_limit(cdf, n, q_lo), _exact_limit(cdf, n, q_hi)
            rows.append((n, c, p0, lo, hi, method))
    return pl.DataFrame(rows, schema=LIMITS_SCHEMA, orient="row")


def select_view_rows(view: pl.DataFrame, sector: str, key_question: str) -> pl.DataFrame:
    """Return the rows of the ICS view for one sector x key question.

    Raises
    ------
    ValueError
        There are none (the message lists the sector/key-question pairs the view has).
    """
    rows = view.filter(
        (pl.col("sector").cast(pl.String) == sector)
        & (pl.col("key_question").cast(pl.String) == key_question)
    )
    if rows.is_empty():
        have = view.select(
            pl.col("sector").cast(pl.String), pl.col("key_question").cast(pl.String)
        ).unique()
        raise ValueError(
            f"no rows for sector={sector!r}, key_question={key_question!r}; the view has "
            + ", ".join(sorted(f"{s}/{k}" for s, k in have.iter_rows()))
        )
    return rows


def national_proportion(
    view: pl.DataFrame,
    *,
    sector: str,
    key_question: str = "Overall",
    share: str = "share_outstanding",
) -> float:
    """Return the pooled proportion over every ICS: sum of numerators over sum of ``n_rated``.

    Parameters
    ----------
    view : the ICS view (:data:`ics_model.views.ICS_VIEW`).
    sector, key_question : the rows to pool.
    share : ``"share_outstanding"`` or ``"share_good_or_outstanding"``.

    Returns
    -------
    float
        NaN when nothing is rated.
    """
    if share not in SHARE_NUMERATORS:
        raise ValueError(f"share must be one of {sorted(SHARE_NUMERATORS)}, got {share!r}")
    rows = select_view_rows(view, sector, key_question)
    x = sum(int(rows[c].sum()) for c in SHARE_NUMERATORS[share])
    n = int(rows["n_rated"].sum())
    return x / n if n else math.nan


def view_funnel_limits(
    view: pl.DataFrame,
    *,
    sector: str,
    key_question: str = "Overall",
    share: str = "share_outstanding",
    levels: Sequence[float] = (0.95, 0.998),
    method: FunnelMethod = "exact",
) -> pl.DataFrame:
    """Funnel limits for one sector x key question of the ICS view, around the national share.

    :func:`funnel_limits` with ``p0 =`` :func:`national_proportion` on the grid
    ``1 .. max(n_rated)``: the frame that :func:`ics_model.plot.funnel` takes.

    Parameters
    ----------
    view, sector, key_question, share : as :func:`national_proportion`.
    levels, method : as :func:`funnel_limits`.

    Returns
    -------
    pl.DataFrame
        As :func:`funnel_limits`.

    Raises
    ------
    ValueError
        Nothing is rated in those rows, or the arguments are invalid.
    """
    p0 = national_proportion(view, sector=sector, key_question=key_question, share=share)
    if math.isnan(p0):
        raise ValueError(f"no rated providers for sector={sector!r}, key_question={key_question!r}")
    n_max = int(select_view_rows(view, sector, key_question)["n_rated"].max())
    return funnel_limits(p0, range(1, n_max + 1), levels, method=method)


def funnel_outliers(
    view: pl.DataFrame,
    limits: pl.DataFrame,
    *,
    sector: str,
    key_question: str = "Overall",
    share: str = "share_outstanding",
) -> pl.DataFrame:
    """Place each ICS against the funnel: within, or above/below the limits it crosses.

    An ICS with ``n_rated = n`` and share ``s`` is outside level ``c`` when ``s`` lies
    above the level's upper limit at ``n`` or below its lower limit (Spiegelhalter 2005);
    ``level`` is the widest level crossed (e.g. 0.998 beats 0.95).

    Parameters
    ----------
    view, sector, key_question, share : as :func:`national_proportion`.
    limits : :func:`funnel_limits` on a grid that includes every ICS's ``n_rated``.

    Returns
    -------
    pl.DataFrame
        One row per ICS with a rated provider: ``icb_code``, ``icb_name`` (when the view
        has it), ``n_rated``, ``share``, ``position`` (``above``, ``below``, ``within``),
        ``level`` (null when within).

    References
    ----------
    Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
    *Statistics in Medicine* 24(8), 1185-1202.

    Examples
    --------
    >>> view = pl.DataFrame({"icb_code": ["A", "B"], "sector": ["gp_practice"] * 2,
    ...     "key_question": ["Overall"] * 2, "n_rated": [100, 100],
    ...     "n_outstanding": [30, 5], "share_outstanding": [0.30, 0.05]})
    >>> lim = funnel_limits(0.05, [100], [0.95, 0.998])
    >>> funnel_outliers(view, lim, sector="gp_practice")["position"].to_list()
    ['above', 'within']
    """
    rows = select_view_rows(view, sector, key_question).filter(pl.col("n_rated") > 0)
    names = ["icb_name"] if "icb_name" in rows.columns else []
    base = rows.select("icb_code", *names, "n_rated", pl.col(share).alias("share"))
    crossed = (
        base.join(limits.select("n", "level", "lower", "upper"), left_on="n_rated", right_on="n")
        .with_columns(
            pl.when(pl.col("share") > pl.col("upper"))
            .then(pl.lit("above"))
            .when(pl.col("share") < pl.col("lower"))
            .then(pl.lit("below"))
            .alias("position")
        )
        .filter(pl.col("position").is_not_null())
        .sort("level", descending=True)
        .unique("icb_code", keep="first", maintain_order=True)
        .select("icb_code", "position", "level")
    )
    missing = set(base["icb_code"]) - set(
        limits.join(base, left_on="n", right_on="n_rated")["icb_code"]
    )
    if missing:
        raise ValueError(f"limits lack the n_rated of {sorted(missing)}: widen their grid")
    return (
        base.join(crossed, on="icb_code", how="left")
        .with_columns(pl.col("position").fill_null("within"))
        .sort("icb_code")
    )


__all__ = [
    "LIMITS_SCHEMA",
    "SHARE_NUMERATORS",
    "funnel_limits",
    "funnel_outliers",
    "national_proportion",
    "select_view_rows",
    "view_funnel_limits",
]
