r"""Likely ranges of the modelled ICS NOF league table: a bootstrap of trusts within ICSs.

NHS England's NOF league tables give each trust a likely range of score and rank. The
ICS roll-up (:func:`ics_model.metrics.nof.ics_nof`) is a mean over an ICS's few trusts, so
its uncertainty is which trusts the system happens to hold: :func:`nof_rank_intervals`
resamples each ICS's segmented trusts and recomputes every mean and every rank in each
draw (Efron & Tibshirani 1993, ch. 6):

``bayesian`` (Rubin 1981)
    :math:`w \sim \mathrm{Dirichlet}(1, \dots, 1)` over the ICS's :math:`n` trusts,
    :math:`\bar x^* = \sum_i w_i x_i`;
``multinomial``
    :math:`n` trusts drawn with replacement, :math:`\bar x^* = \frac1n \sum_i x^*_i`.

In each draw the ranked ICSs (``ranked``) are ranked by :math:`\bar x^*`, 1 = lowest
(best), ties at the lowest rank (:func:`~ics_model.uncertainty.draws.rank_rows`). The
likely range is the 5th-95th percentile over draws
(:func:`~ics_model.uncertainty.draws.quantiles_over_draws`), as the composite's rank
ranges. An ICS with one trust has a mean that never moves: its range reflects only the
others' (that is why ICSs below ``min_trusts`` are not ranked).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from ics_model.metrics.nof import ALL_TRUSTS, BOOTSTRAP_COLUMNS, ICS_NOF
from ics_model.uncertainty.draws import quantiles_over_draws, rank_rows

Method = Literal["bayesian", "multinomial"]


def _mean_draws(x: np.ndarray, draws: int, method: Method, rng: np.random.Generator) -> np.ndarray:
    """``draws`` bootstrap means of ``x`` (one ICS's trust scores)."""
    if x.size == 0:
        return np.full(draws, np.nan)
    if method == "bayesian":
        return rng.dirichlet(np.ones(x.size), size=draws) @ x
    return x[rng.integers(0, x.size, size=(draws, x.size))].mean(axis=1)


def nof_rank_intervals(
    table: pl.DataFrame,
    trusts: pl.DataFrame,
    *,
    draws: int = 2000,
    method: Method = "bayesian",
    rng: np.random.Generator,
) -> pl.DataFrame:
    r"""Fill the roll-up's bootstrap columns: interval of each mean and likely range of rank.

    Parameters
    ----------
    table : :func:`~ics_model.metrics.nof.ics_nof` output (:data:`ICS_NOF`).
    trusts : the placed trusts it was built from (icb_code, nhs_trust_type,
        avg_metric_score).
    draws : bootstrap draws.
    method : ``bayesian`` or ``multinomial`` (see the module).
    rng : the random generator (the run passes one seeded from ``nof.seed``).

    Returns
    -------
    pl.DataFrame
        ``table`` with ``mean_score_p05``, ``mean_score_p95`` (every ICS with a trust) and
        ``rank_median``, ``rank_p05``, ``rank_p95`` (ranked ICSs), in the same row order.

    Examples
    --------
    Two ICSs of two trusts each that never overlap: the ranks never move.

    >>> from ics_model.metrics.nof import ics_nof
    >>> trusts = pl.DataFrame({
    ...     "icb_code": ["QA1", "QA1", "QB2", "QB2"],
    ...     "nhs_trust_type": ["Acute trust"] * 4,
    ...     "adjusted_segment": [1, 1, 4, 4],
    ...     "avg_metric_score": [1.8, 2.0, 3.0, 3.2],
    ...     "in_deficit": [False] * 4,
    ...     "data_month": ["2026-03"] * 4,
    ... })
    >>> icbs = pl.DataFrame({"icb_code": ["QA1", "QB2"], "icb_name": ["A", "B"]})
    >>> table = ics_nof(trusts, icbs, min_trusts=2, by_type=False)
    >>> out = nof_rank_intervals(table, trusts, draws=200, rng=np.random.default_rng(1))
    >>> out.select("icb_code", "rank", "rank_p05", "rank_p95").rows()
    [('QA1', 1, 1.0, 1.0), ('QB2', 2, 2.0, 2.0)]
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    if method not in ("bayesian", "multinomial"):
        raise ValueError(f"unknown method {method!r} (bayesian, multinomial)")
    scored = trusts.filter(pl.col("avg_metric_score").is_not_null())
    fills: dict[tuple[str, str], tuple[float, ...]] = {}
    for group in sorted(table["trust_group"].unique().to_list()):
        rows = table.filter((pl.col("trust_group") == group) & (pl.col("n_trusts") > 0))
        members = (
            scored if group == ALL_TRUSTS else scored.filter(pl.col("nhs_trust_type") == group)
        )
        codes = rows["icb_code"].to_list()
        by_icb = {
            code: np.asarray(values, dtype=float)
            for code, values in members.group_by("icb_code").agg("avg_metric_score").iter_rows()
        }
        means = np.empty((draws, len(codes)))
        for i, c in enumerate(codes):
            means[:, i] = _mean_draws(by_icb.get(c, np.array([])), draws, method, rng)
        q_mean = quantiles_over_draws(means)
        ranked = rows["ranked"].to_numpy()
        q_rank = np.full((3, len(codes)), np.nan)
        if ranked.any():
            ranks = rank_rows(-means[:, ranked], ties="min")
            q_rank[:, ranked] = quantiles_over_draws(ranks, ranks=True)
        for i, c in enumerate(codes):
            fills[(c, group)] = (q_mean[1, i], q_mean[2, i], *q_rank[:, i])
    keys = list(zip(table["icb_code"], table["trust_group"], strict=True))
    empty = (np.nan,) * len(BOOTSTRAP_COLUMNS)
    values = np.array([fills.get(k, empty) for k in keys], dtype=float).reshape(-1, 5)
    out = table.with_columns(
        pl.Series(name, values[:, j]).fill_nan(None) for j, name in enumerate(BOOTSTRAP_COLUMNS)
    )
    return out.select(ICS_NOF.column_names)


__all__ = ["nof_rank_intervals"]
