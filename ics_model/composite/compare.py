r"""Compare two composites, and find an ICS's peers.

:func:`compare` lines up two :class:`~ics_model.composite.build.CompositeResult` per ICS
and names the pillar whose weighted contribution moved most; :func:`compare_summary`
gives rank-agreement statistics (JRC/OECD *Handbook on Constructing Composite
Indicators* 2008, step 7: "how do rankings change under alternative assumptions";
COINr ``compare_coins``, Becker et al. 2022, *JOSS* 7(78), 4567). :func:`peers` finds the
ICSs most alike in deprivation profile and size, the usual way to choose comparators
before reading a ranking (like-for-like "statistical neighbours"). All are *modelled*
constructs: no official ICS ratings exist.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from ics_model.composite.build import CompositeResult
from ics_model.composite.methods import CompositeError, average_ranks

log = logging.getLogger(__name__)

DEFAULT_PEER_FEATURES = ("imd_share_most_deprived_quintile", "imd_mean_rank", "population")


def _pillar_contributions(result: CompositeResult, pillars: Sequence[str]) -> pl.DataFrame:
    wide = result.pillars.select("icb_code", "pillar", pl.col("contribution").fill_null(0.0)).pivot(
        on="pillar", index="icb_code", values="contribution"
    )
    for p in pillars:
        if p not in wide.columns:
            wide = wide.with_columns(pl.lit(0.0).alias(p))
    return wide.select("icb_code", *pillars)


def compare(a: CompositeResult, b: CompositeResult) -> pl.DataFrame:
    r"""Per-ICS comparison of composite ``a`` with composite ``b``.

    Returns
    -------
    pl.DataFrame
        ``icb_code``, ``icb_name``, ``rank_a``, ``rank_b``, ``rank_shift`` (:math:`r_a -
        r_b`: positive = moved up in ``b``), ``score_a``, ``score_b``, ``driver_pillar``
        (the pillar whose weighted contribution :math:`W_q P_{cq}` changed most in absolute
        terms; a pillar in only one composite contributes 0 in the other) and
        ``driver_change`` (its signed change, ``b - a``, in score units). Contributions are
        comparable only when both composites use the same normalised scale.
    """
    pillars = list(dict.fromkeys([*a.spec.pillars, *b.spec.pillars]))
    ca = _pillar_contributions(a, pillars)
    cb = _pillar_contributions(b, pillars)
    ids = ca.join(cb, on="icb_code", how="inner", suffix="_b")
    delta = np.column_stack([(ids[f"{p}_b"] - ids[p]).to_numpy() for p in pillars]).reshape(
        ids.height, len(pillars)
    )
    idx = np.argmax(np.abs(delta), axis=1)
    change = delta[np.arange(ids.height), idx]
    drivers = pl.DataFrame(
        {
            "icb_code": ids["icb_code"],
            "driver_pillar": [
                pillars[i] if c != 0 else None for i, c in zip(idx, change, strict=True)
            ],
            "driver_change": change,
        },
        schema_overrides={"driver_pillar": pl.String},
    )
    sa = a.scores.select("icb_code", "icb_name", rank_a="rank", score_a="score")
    sb = b.scores.select("icb_code", rank_b="rank", score_b="score")
    out = (
        sa.join(sb, on="icb_code", how="inner")
        .join(drivers, on="icb_code", how="left")
        .with_columns((pl.col("rank_a") - pl.col("rank_b")).alias("rank_shift"))
        .select(
            "icb_code",
            "icb_name",
            "rank_a",
            "rank_b",
            "rank_shift",
            "score_a",
            "score_b",
            "driver_pillar",
            "driver_change",
        )
        .sort("rank_b", nulls_last=True)
    )
    dropped = a.scores.height + b.scores.height - 2 * out.height
    if dropped:
        log.warning("compare: %d ICS row(s) are in only one composite and were left out", dropped)
    return out


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    r"""Kendall's :math:`\tau_b = (n_c - n_d) / \sqrt{(n_0 - n_1)(n_0 - n_2)}` (ties corrected)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    iu = np.triu_indices(x.size, k=1)
    sx = np.sign(x[:, None] - x[None, :])[iu]
    sy = np.sign(y[:, None] - y[None, :])[iu]
    denom = math.sqrt(float(np.sum(sx != 0)) * float(np.sum(sy != 0)))
    return float(np.sum(sx * sy) / denom) if denom > 0 else math.nan


def compare_summary(a: CompositeResult, b: CompositeResult) -> dict[str, Any]:
    r"""Rank agreement between two composites over the ICSs scored in both.

    Returns
    -------
    dict
        ``n`` (ICSs compared), ``spearman`` (:math:`\rho` of the scores: Pearson
        correlation of average ranks), ``kendall`` (:math:`\tau_b`), ``n_moved`` (ICSs
        whose rank changed), ``max_shift`` (largest absolute rank change) and
        ``mean_abs_shift``. COINr ``compare_coins`` (Becker et al. 2022).
    """
    cmp = compare(a, b).drop_nulls(["score_a", "score_b"])
    x, y = cmp["score_a"].to_numpy(), cmp["score_b"].to_numpy()
    rx, ry = average_ranks(x), average_ranks(y)
    spearman = (
        float(np.corrcoef(rx, ry)[0, 1]) if x.size >= 2 and rx.std() and ry.std() else math.nan
    )
    shift = cmp["rank_shift"].abs()
    return {
        "n": cmp.height,
        "spearman": spearman,
        "kendall": kendall_tau_b(x, y) if x.size >= 2 else math.nan,
        "n_moved": int((shift > 0).sum()),
        "max_shift": int(shift.max() or 0),
        "mean_abs_shift": float(shift.mean() or 0.0),
    }


def _feature_frame(data: pl.DataFrame, features: Sequence[str]) -> pl.DataFrame:
    if {"metric", "value"} <= set(data.columns):
        available = sorted(set(data["metric"].to_list()))
        unknown = [f for f in features if f not in available]
        if unknown:
            raise CompositeError(
                f"peer feature(s) {unknown} not in the metrics (available: {', '.join(available)})"
            )
        wide = (
            data.filter(pl.col("metric").is_in(list(features)) & (pl.col("icb_code") != "ENGLAND"))
            .pivot(on="metric", index="icb_code", values="value")
            .sort("icb_code")
        )
    else:
        unknown = [f for f in (*features, "icb_code") if f not in data.columns]
        if unknown:
            raise CompositeError(
                f"peer feature(s) {unknown} not in the frame (columns: {', '.join(data.columns)})"
            )
        keep = ["icb_code", *(["icb_name"] if "icb_name" in data.columns else []), *features]
        wide = data.select(keep)
    return wide.with_columns(pl.col(f).cast(pl.Float64).fill_nan(None) for f in features)


def peers(
    matrix_or_features: pl.DataFrame,
    icb_code: str,
    n: int = 5,
    features: Sequence[str] = DEFAULT_PEER_FEATURES,
    *,
    log_features: Sequence[str] = ("population",),
) -> pl.DataFrame:
    r"""Return the ``n`` ICSs most similar to ``icb_code`` in deprivation profile and size.

    Each feature is standardised across ICSs, :math:`z = (x - \bar x)/s` (``population``
    first logged, so size differences count proportionally), and peers are ranked by the
    Euclidean distance :math:`d = \sqrt{\sum_f (z_{cf} - z_{0f})^2}`. ICSs missing a
    feature are left out (logged). A nearest-neighbour comparator group, as used for
    benchmarking in composite reports (JRC/OECD Handbook 2008, step 9 "links to other
    indicators").

    Parameters
    ----------
    matrix_or_features : the long ``ics_metrics`` frame (``metric``/``value`` columns), or a
        wide frame with ``icb_code`` and the feature columns (e.g. an indicator matrix).
    icb_code : the ICS to find peers for.
    n : number of peers.
    features : feature columns / metric names.
    log_features : features to log before standardising (must be positive).

    Returns
    -------
    pl.DataFrame
        ``peer_rank`` (1 = closest), ``icb_code``, (``icb_name``), ``distance`` and the
        raw feature values; the ICS itself is excluded.
    """
    if n < 1:
        raise CompositeError(f"n must be at least 1, got {n}")
    wide = _feature_frame(matrix_or_features, features)
    codes = wide["icb_code"].to_list()
    if icb_code not in codes:
        close = difflib.get_close_matches(icb_code.strip().upper(), codes, n=5, cutoff=0.3)
        raise CompositeError(
            f"unknown ICS code {icb_code!r}"
            + (
                f" (close: {', '.join(close)})"
                if close
                else f" (known: {', '.join(codes[:10])} ...)"
            )
        )
    complete = wide.drop_nulls(list(features))
    if icb_code not in complete["icb_code"].to_list():
        raise CompositeError(
            f"ICS {icb_code!r} lacks a value for one of the features {list(features)}"
        )
    if complete.height < wide.height:
        left = sorted(set(codes) - set(complete["icb_code"].to_list()))
        log.warning("peers: ICS(s) without every feature left out: %s", ", ".join(left))
    x = complete.select(features).to_numpy().astype(float).reshape(complete.height, len(features))
    for j, f in enumerate(features):
        if f in log_features:
            if (x[:, j] <= 0).any():
                raise CompositeError(f"peer feature {f!r}: log needs positive values")
            x[:, j] = np.log(x[:, j])
    sd = x.std(axis=0, ddof=1) if complete.height > 1 else np.ones(len(features))
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    i0 = complete["icb_code"].to_list().index(icb_code)
    dist = np.sqrt(np.sum((z - z[i0]) ** 2, axis=1))
    out = (
        complete.with_columns(pl.Series("distance", dist))
        .filter(pl.col("icb_code") != icb_code)
        .sort("distance", "icb_code")
        .head(n)
        .with_row_index("peer_rank", offset=1)
        .with_columns(pl.col("peer_rank").cast(pl.Int64))
    )
    lead = [
        "peer_rank",
        "icb_code",
        *(["icb_name"] if "icb_name" in out.columns else []),
        "distance",
    ]
    return out.select(*lead, *features)


__all__ = [
    "DEFAULT_PEER_FEATURES",
    "compare",
    "compare_summary",
    "kendall_tau_b",
    "peers",
]
