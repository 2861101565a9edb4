r"""Slope and relative index of inequality (SII, RII) as OHID/PHE compute them.

A replica of PHEindicatormethods ``phe_sii`` ("standard" type; R source
``R/SII_function.R``): each quantile's rank is the mid-point of its cumulative
population share; a population-weighted least-squares line is fitted (rows scaled by
the square root of the population); SII = slope x multiplier and RII = (intercept +
slope) / intercept; confidence limits by seeded simulation from each quantile's
sampling distribution. Quantile 1 = most deprived (IoD convention). See
:mod:`ics_model.metrics.inequality` for the scale caveats.

``phe_sii``'s RII divides by the fitted value at the most deprived end, so its simulated
limits can fall to or below 0; the pipeline's RII is the log-linear one of
:mod:`ics_model.metrics.rii`, whose limits are always positive.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import polars as pl

from ics_model.metrics._base import (
    MAX_QUANTILES,
    MIN_QUANTILES,
    Z975,
    InequalityInputError,
    ValueType,
    as_list,
    group_label,
)
from ics_model.metrics.sii_checks import (
    _check_arguments,
    _confidence_levels,
    _group_problems,
    _level_label,
)

logger = logging.getLogger(__name__)


def slope_index(
    frame: pl.DataFrame,
    *,
    quantile: str,
    population: str,
    value: str,
    by: str | Sequence[str] | None = None,
    value_type: ValueType = "normal",
    se: str | None = None,
    lower_cl: str | None = None,
    upper_cl: str | None = None,
    confidence: float | Sequence[float] = (0.95, 0.998),
    repetitions: int = 100_000,
    seed: int | np.random.Generator | None = None,
    rii: bool = True,
    intercept: bool = False,
    transform: bool = False,
    multiplier: float = 1.0,
    too_few: Literal["error", "null"] = "error",
) -> pl.DataFrame:
    r"""Slope index of inequality (SII) and relative index (RII) per group, as ``phe_sii``.

    Replicates PHEindicatormethods ``phe_sii(..., type = "standard")`` (R source
    ``R/SII_function.R`` and ``R/utils.R``, ukhsa-collaboration/PHEindicatormethods,
    version 2.0.2): point estimates agree to floating-point precision; the confidence
    limits agree in distribution (another random number generator).

    **Method.** Within each ``by`` group, rows are sorted by ``quantile`` (1 = most
    deprived, see the module docstring). Quantile :math:`i` with population :math:`n_i`
    gets the share :math:`a_i = n_i / \sum_j n_j` and the relative rank
    :math:`b_i = \sum_{j<i} a_j + a_i/2` (mid-point of its cumulative share). The model

    .. math::

        y_i \sqrt{a_i} = \beta_0 \sqrt{a_i} + \beta_1 b_i \sqrt{a_i}

    is fitted by ordinary least squares without intercept, which is weighted least squares
    of :math:`y` on :math:`b` with weights :math:`a`. In closed form, with
    :math:`\bar b = \sum a_i b_i`,

    .. math::

        \beta_1 = \sum_i c_i y_i,\quad c_i = \frac{a_i (b_i - \bar b)}{\sum_j a_j (b_j -
        \bar b)^2},\qquad \beta_0 = \sum_i d_i y_i,\quad d_i = a_i - \bar b\, c_i .

    Untransformed (``transform=False``): ``sii`` :math:`= m\beta_1` (``m`` the
    multiplier), ``rii`` :math:`= (\beta_0 + \beta_1)/\beta_0` -- the fitted value at
    rank 1 over the fitted value at rank 0 -- inverted when :math:`m < 0`; ``intercept``
    :math:`= \beta_0`, *not* scaled by the multiplier (as ``phe_sii``).

    Transformed (``transform=True``, rates and proportions only): the line is fitted to
    :math:`g^{-1}(y)` (log for rates, logit for proportions), and the output is back on
    the original scale: ``sii`` :math:`= m\,[g(\beta_0+\beta_1) - g(\beta_0)]`,
    ``rii`` :math:`= g(\beta_0+\beta_1)/g(\beta_0)` (inverted when :math:`m<0`),
    ``intercept`` :math:`= |m|\, g(\beta_0)`.

    **Standard errors.** ``se`` is used when given; otherwise it is derived from the 95%
    limits as :math:`(U - L)/(2 z_{0.975})`. For ``value_type`` "rate" / "proportion" the
    limits are first log / logit transformed, and -- as in ``phe_sii`` -- *a supplied
    ``se`` is taken to be on that log / logit scale too* (whatever ``transform`` says).
    With ``transform=True`` an ``se`` column is refused (as ``phe_sii``): give the limits.

    **Confidence limits** by simulation: each repetition draws every quantile's value from
    :math:`N(\hat y_i, s_i)` on the log/logit scale for rates/proportions (back-transformed
    with ``exp``/``expit`` unless ``transform``), refits, and the limits are order
    statistics of the sorted simulated SII (and RII): positions
    ``round(R (1 - q))`` and ``round(R q)`` (1-based) with :math:`q = c + (1-c)/2`, as
    ``phe_sii``. Under ``transform`` the simulated log/logit-scale slopes :math:`s_L, s_U`
    are mapped back around the fitted mid-point :math:`h = \beta_0 + \beta_1/2`:
    SII limit :math:`m[g(h + s/2) - g(h - s/2)]`, RII limit
    :math:`g(h + s/2)/g(h - s/2)`, lower and upper swapped when :math:`m < 0`. The
    simulation is vectorised (a repetitions x quantiles matrix per group); groups draw
    from one generator in sorted ``by`` order, so a seed reproduces every limit.

    Parameters
    ----------
    frame : one row per group and quantile.
    quantile : numeric (or Enum) quantile column; 1 = most deprived.
    population : population of each quantile (> 0).
    value : indicator value; proportions in [0, 1]; rates >= 0 (> 0 with ``transform``).
    by : grouping column(s); None for one group.
    value_type : "normal", "rate" or "proportion".
    se, lower_cl, upper_cl : standard error column, or 95% limit columns.
    confidence : one or more levels in (0, 1).
    repetitions : simulation size (>= 1000).
    seed : int seed or :class:`numpy.random.Generator`; None draws fresh entropy
        (limits then differ between runs).
    rii, intercept : include ``rii`` / ``intercept`` columns.
    transform : fit on the log (rate) / logit (proportion) scale and back-transform.
    multiplier : scales SII (and its limits); negative inverts the RII.
    too_few : "error" raises for a group with fewer than 5 quantiles; "null" gives it null
        estimates and limits and adds a String column ``note`` (see
        :func:`slope_index_or_null`).

    Returns
    -------
    pl.DataFrame
        One row per group, sorted by ``by``: the ``by`` columns, ``n_quantiles``, ``sii``,
        ``rii`` (if ``rii``), ``intercept`` (if ``intercept``), then for each confidence
        level ``c`` (formatted ``f"{100c:.1f}"`` with ``.`` -> ``_``, so 95_0, 99_8):
        ``sii_lower_{c}cl``, ``sii_upper_{c}cl``, then ``rii_lower_{c}cl``,
        ``rii_upper_{c}cl`` (if ``rii``), then ``indicator_type`` and ``transform``
        ("none", "log", "logit"). ``phe_sii`` names the limits ``sii_lower95_0cl``.

    Raises
    ------
    InequalityInputError
        Missing values, non-positive population, negative SE, lower limit above upper,
        proportions outside [0, 1], rates < 0 (or <= 0 with ``transform``), duplicated
        quantiles, fewer than 5 or more than 100 quantiles in a group, bad arguments.
        Every offending group is listed. See :func:`slope_index_or_null` for a variant
        that turns "too few quantiles" into a null row.

    Notes
    -----
    Differences from ``phe_sii``: ``phe_sii`` silently drops (with a warning) groups that
    lack a quantile present elsewhere in the data; here each group stands alone and too
    few quantiles is an error. For rates with ``transform`` and :math:`0 \le m < 1`,
    ``phe_sii`` swaps the lower and upper limits (its test is ``multiplier < 1``); here
    they are swapped only for :math:`m < 0`, as ``phe_sii`` does for proportions.
    A proportion of exactly 0 or 1 without ``transform`` simulates as a constant
    (``phe_sii`` gives NaN for 1).

    References
    ----------
    Low, A. & Low, A. (2004). Measuring the gap: quantifying and comparing local health
    inequalities. *Journal of Public Health* 26(4), 388-395.
    OHID/UKHSA, PHEindicatormethods R package, ``phe_sii`` (ukhsa-collaboration on GitHub).
    """
    if too_few not in ("error", "null"):
        raise InequalityInputError(f"too_few must be 'error' or 'null', got {too_few!r}")
    by_cols = as_list(by)
    levels = _confidence_levels(confidence)
    se_col = se
    lo_col = lower_cl if se is None else None
    hi_col = upper_cl if se is None else None
    columns = {
        "quantile": quantile,
        "population": population,
        "value": value,
        "se": se_col,
        "lower_cl": lo_col,
        "upper_cl": hi_col,
    }
    _check_arguments(
        frame,
        columns,
        value_type,
        se,
        lower_cl,
        upper_cl,
        repetitions,
        transform,
        float(multiplier),
        levels,
    )
    missing_by = [b for b in by_cols if b not in frame.columns]
    if missing_by:
        raise InequalityInputError(f"by columns not in frame: {missing_by}")

    num_cols = [c for c in (population, value, se_col, lo_col, hi_col) if c is not None]
    work = frame.select(
        *[pl.col(b) for b in by_cols],
        pl.col(quantile).alias("__q"),
        *[pl.col(c).cast(pl.Float64).alias(f"__{i}") for i, c in enumerate(num_cols)],
    )
    if work.schema["__q"].is_float():
        work = work.with_columns(pl.col("__q").fill_nan(None))
    null_q = work.filter(pl.col("__q").is_null())
    if null_q.height:
        raise InequalityInputError(f"missing quantile in {null_q.height} rows")
    work = work.sort([*by_cols, "__q"], nulls_last=True)
    parts = work.partition_by(by_cols, as_dict=True) if by_cols else {(): work}

    problems: list[str] = []
    too_few_groups: list[tuple[Any, ...]] = []
    groups: list[tuple[tuple[Any, ...], dict[str, np.ndarray]]] = []
    for key, part in parts.items():
        key_t = tuple(key)
        arrays = {c: part[f"__{i}"].to_numpy().astype(float) for i, c in enumerate(num_cols)}
        q = part["__q"].to_physical().to_numpy()
        label = group_label(by_cols, key_t)
        issues = _group_problems(
            q,
            arrays[population],
            arrays[value],
            arrays.get(se_col) if se_col else None,
            arrays.get(lo_col) if lo_col else None,
            arrays.get(hi_col) if hi_col else None,
            value_type,
            transform,
        )
        n_q = len(q)
        if n_q > MAX_QUANTILES:
            issues.append(f"{n_q} quantiles (> {MAX_QUANTILES})")
        problems.extend(f"group {label}: {p}" for p in issues)
        if n_q < MIN_QUANTILES:
            too_few_groups.append(key_t)
        groups.append((key_t, arrays))
    if problems:
        raise InequalityInputError("slope_index input problems:\n  " + "\n  ".join(problems))
    if too_few_groups and too_few == "error":
        labels = "; ".join(group_label(by_cols, k) for k in too_few_groups)
        raise InequalityInputError(
            f"slope_index needs at least {MIN_QUANTILES} quantiles per group; "
            f"too few in: {labels} (use slope_index_or_null to get nulls instead)",
        )
    if any(len(a[population]) > 10 for _, a in groups):
        logger.warning(
            "SII with more than 10 quantiles: small quantile populations make it unstable"
        )

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    too_few_set = set(too_few_groups)
    est_cols = ["sii", "rii", "intercept"]
    lim_cols = [
        f"{stat}_{side}_{_level_label(lvl)}cl"
        for stat in ("sii", "rii")
        for lvl in levels
        for side in ("lower", "upper")
    ]
    rows: list[dict[str, Any]] = []
    for key_t, arrays in groups:
        row: dict[str, Any] = dict(zip(by_cols, key_t, strict=True))
        n_q = len(arrays[population])
        row["n_quantiles"] = n_q
        if key_t in too_few_set:
            row.update(dict.fromkeys(est_cols + lim_cols))
            row["note"] = f"{n_q} quantiles (< {MIN_QUANTILES}): SII not computed"
        else:
            if se_col is not None:
                s = arrays[se_col]
            else:
                lo_t = _forward(arrays[lo_col], value_type)
                hi_t = _forward(arrays[hi_col], value_type)
                s = (hi_t - lo_t) / Z975 / 2
            row.update(
                _one_group(
                    arrays[population],
                    arrays[value],
                    s,
                    value_type=value_type,
                    transform=transform,
                    multiplier=float(multiplier),
                    levels=levels,
                    repetitions=int(repetitions),
                    rng=rng,
                )
            )
            row["note"] = None
        rows.append(row)

    schema: dict[str, Any] = {b: frame.schema[b] for b in by_cols}
    schema["n_quantiles"] = pl.Int64
    schema.update(dict.fromkeys(est_cols + lim_cols, pl.Float64))
    schema["note"] = pl.String
    out = pl.DataFrame(rows, schema=schema)
    keep = [*by_cols, "n_quantiles", "sii"]
    if rii:
        keep.append("rii")
    if intercept:
        keep.append("intercept")
    keep += [c for c in lim_cols if c.startswith("sii_")]
    if rii:
        keep += [c for c in lim_cols if c.startswith("rii_")]
    transform_label = {"rate": "log", "proportion": "logit"}.get(value_type, "none")
    return out.select(
        *keep,
        pl.lit(value_type, dtype=pl.String).alias("indicator_type"),
        pl.lit(transform_label if transform else "none", dtype=pl.String).alias("transform"),
        *(["note"] if too_few == "null" else []),
    )


def slope_index_or_null(frame: pl.DataFrame, **options: Any) -> pl.DataFrame:
    """:func:`slope_index` for pipelines: groups with too few quantiles give nulls and a note.

    ``slope_index(frame, **options, too_few="null")``: same keyword arguments (but
    ``too_few``) and columns as :func:`slope_index`, plus a String column ``note``:
    null for computed groups, and e.g. ``"3 quantiles (< 5): SII not computed"`` for a
    group with fewer than 5 quantiles, whose estimate and limit columns are null. Any
    other bad input still raises :class:`InequalityInputError`. Null groups draw no random
    numbers, so the other groups' limits equal :func:`slope_index` on the frame without
    the null groups, for the same seed.
    """
    return slope_index(frame, **options, too_few="null")


def sii_intercept(population: np.ndarray, value: np.ndarray) -> float:
    r"""Return the fitted value at rank 0 (the most deprived end) of the SII line.

    :math:`\beta_0 = \sum_i d_i y_i` of :func:`slope_index` (untransformed), with the
    quantiles in order (quantile 1 first). With the SII it draws the fitted line.

    Examples
    --------
    >>> round(sii_intercept(np.full(5, 10.0), np.array([0.5, 0.6, 0.7, 0.8, 0.9])), 10)
    0.45
    """
    _, _, _, d = _design(np.asarray(population, dtype=float))
    return float(d @ np.asarray(value, dtype=float))


def _forward(x: np.ndarray, value_type: str) -> np.ndarray:
    """Apply log for rates, logit for proportions, identity otherwise."""
    with np.errstate(divide="ignore"):
        if value_type == "rate":
            return np.log(x)
        if value_type == "proportion":
            return np.log(x / (1 - x))
    return x


def _backward(x: np.ndarray, value_type: str) -> np.ndarray:
    """Apply exp for rates, expit for proportions (numerically stable), identity otherwise."""
    if value_type == "rate":
        return np.exp(x)
    if value_type == "proportion":
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-x))
    return x


def _design(pop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shares a, ranks b, and the linear maps c (slope) and d (intercept)."""
    a = pop / pop.sum()
    cum = np.cumsum(a)
    b = a / 2 + np.concatenate(([0.0], cum[:-1]))
    b_bar = float(np.sum(a * b))
    centred = b - b_bar
    c = a * centred / float(np.sum(a * centred**2))
    d = a / float(a.sum()) - b_bar * c
    return a, b, c, d


def _div(a: float, b: float) -> float:
    """Return a / b, NaN when b is 0 (an RII with a zero fitted value is undefined)."""
    return a / b if b != 0 else math.nan


def _order_stats(sims: np.ndarray, levels: list[float]) -> list[tuple[float, float]]:
    """phe_sii's limits: sorted[round(R(1-q)) - 1], sorted[round(R q) - 1], q = c + (1-c)/2."""
    r = sims.shape[0]
    positions = []
    for c in levels:
        q = c + (1 - c) / 2
        positions.append((round(r * (1 - q)) - 1, round(r * q) - 1))
    kth = sorted({p for pair in positions for p in pair})
    part = np.partition(sims, kth)
    return [(float(part[lo]), float(part[hi])) for lo, hi in positions]


def _one_group(
    pop: np.ndarray,
    val: np.ndarray,
    se: np.ndarray,
    *,
    value_type: str,
    transform: bool,
    multiplier: float,
    levels: list[float],
    repetitions: int,
    rng: np.random.Generator,
) -> dict[str, float]:
    _, _, c, d = _design(pop)
    m = multiplier
    centre = _forward(val, value_type)
    draws = rng.standard_normal((repetitions, len(val)))
    draws *= se
    draws += centre
    res: dict[str, float] = {}
    if not transform:
        slope = float(c @ val)
        icpt = float(d @ val)
        res["sii"] = m * slope
        res["rii"] = _div(icpt, icpt + slope) if m < 0 else _div(icpt + slope, icpt)
        res["intercept"] = icpt
        y = _backward(draws, value_type)
        s_sim = y @ c
        i_sim = y @ d
        with np.errstate(divide="ignore", invalid="ignore"):
            rii_sim = (i_sim + s_sim) / i_sim
            if m < 0:
                rii_sim = 1 / rii_sim
        sii_lims = _order_stats(s_sim * m, levels)
        rii_lims = _order_stats(rii_sim, levels)
    else:

        def g(x: float) -> float:
            return float(_backward(np.asarray(x, dtype=float), value_type))

        slope_t = float(c @ centre)
        icpt_t = float(d @ centre)
        x1 = icpt_t + slope_t
        half = (icpt_t + x1) / 2
        g0, g1 = g(icpt_t), g(x1)
        res["sii"] = (g1 - g0) * m
        res["rii"] = _div(g0, g1) if m < 0 else _div(g1, g0)
        res["intercept"] = g0 * abs(m)
        sii_lims, rii_lims = [], []
        for s_lo, s_hi in _order_stats(draws @ c, levels):
            lo_x1, lo_x0 = g(half + s_lo / 2), g(half - s_lo / 2)
            hi_x1, hi_x0 = g(half + s_hi / 2), g(half - s_hi / 2)
            if m < 0:
                sii_lims.append(((hi_x1 - hi_x0) * m, (lo_x1 - lo_x0) * m))
                rii_lims.append((_div(hi_x0, hi_x1), _div(lo_x0, lo_x1)))
            else:
                sii_lims.append(((lo_x1 - lo_x0) * m, (hi_x1 - hi_x0) * m))
                rii_lims.append((_div(lo_x1, lo_x0), _div(hi_x1, hi_x0)))
    for lvl, (lo, hi) in zip(levels, sii_lims, strict=True):
        res[f"sii_lower_{_level_label(lvl)}cl"] = lo
        res[f"sii_upper_{_level_label(lvl)}cl"] = hi
    for lvl, (lo, hi) in zip(levels, rii_lims, strict=True):
        res[f"rii_lower_{_level_label(lvl)}cl"] = lo
        res[f"rii_upper_{_level_label(lvl)}cl"] = hi
    return res
