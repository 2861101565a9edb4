r"""Provider bootstrap of a composite: resample each ICS's rated providers.

Holds the rating counts the bootstrap resamples (:class:`ProviderCounts`, built by
:func:`provider_counts` from the pipeline's mapped providers) and the resampling
itself (:func:`resample_indicators`), which gives bootstrapped raw values of the
view-based share indicators (:data:`BOOTSTRAP_COLUMNS`) for many draws at once. The
other Monte Carlo draws (weights, scores, ranks) are in
:mod:`~ics_model.uncertainty.draws`.

Provider bootstrap
------------------
Resampling an ICS's :math:`n` rated providers with replacement gives rating counts
:math:`(n_I, n_R, n_G, n_O) \sim \mathrm{Multinomial}(n, \hat\pi)` with :math:`\hat\pi`
the observed shares, so the counts are drawn directly (Efron & Tibshirani 1993, ch. 6):
:math:`\mathrm{share\_outstanding}^* = n^*_O / n`,
:math:`\mathrm{share\_good\_or\_outstanding}^* = (n^*_G + n^*_O) / n`,
:math:`\mathrm{mean\_score}^* = (n^*_I + 2 n^*_R + 3 n^*_G + 4 n^*_O) / n`.
A system with 2 rated trusts gets shares in :math:`\{0, 1/2, 1\}`; one with 400 practices
barely moves. The rating-dispersion metrics (``metric:gp_rating_dispersion``,
``metric:trust_rating_dispersion``) are recomputed from the same resampled Overall counts:
Leik's :math:`D = 1 - \sum_{i<4} |2F^*_i - 1| / 3` (null with fewer than 3 rated
providers, as the metric).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from ics_model.composite.spec import CompositeSpec, parse_source
from ics_model.metrics.system import DISPERSION_METRICS, MIN_PROVIDERS
from ics_model.ratings import RATING_LABELS
from ics_model.uncertainty.spec import UncertaintyError

log = logging.getLogger(__name__)

#: view columns the provider bootstrap recomputes.
BOOTSTRAP_COLUMNS: Final = ("share_outstanding", "share_good_or_outstanding", "mean_score")

#: rating categories, in score order (Inadequate 1 ... Outstanding 4).
RATINGS: Final = RATING_LABELS


@dataclass(frozen=True)
class ProviderCounts:
    """Rated providers' rating counts per view-based indicator, for the bootstrap.

    Attributes
    ----------
    columns : index (in spec order) of each bootstrapped indicator.
    names : their names.
    statistic : the view column each recomputes (:data:`BOOTSTRAP_COLUMNS`), or ``leik``
        for a rating-dispersion metric.
    group : index into ``counts`` of each (sector, key question).
    counts : per (sector, key question), ``n_ics x 4`` counts in :data:`RATINGS` order,
        rows in the matrix's ICS order.
    method : ``multinomial`` (resample the rated providers) or ``bayesian`` (draw the
        rating shares from their Dirichlet posterior under a Jeffreys prior, then the
        providers; see :func:`resample_indicators`).
    """

    columns: tuple[int, ...]
    names: tuple[str, ...]
    statistic: tuple[str, ...]
    group: tuple[int, ...]
    counts: tuple[np.ndarray, ...]
    method: str = "multinomial"


def _statistic(counts: np.ndarray, name: str) -> np.ndarray:
    """Compute a view statistic from rating counts on the last axis (NaN when nothing rated)."""
    n = counts.sum(axis=-1)
    if name == "share_outstanding":
        top = counts[..., 3]
    elif name == "share_good_or_outstanding":
        top = counts[..., 2] + counts[..., 3]
    elif name == "leik":
        with np.errstate(invalid="ignore", divide="ignore"):
            cum = np.cumsum(counts, axis=-1)[..., :-1] / n[..., None]
        k = counts.shape[-1]
        leik = 1 - np.abs(2 * cum - 1).sum(axis=-1) / (k - 1)
        return np.where(n >= MIN_PROVIDERS, leik, np.nan)
    else:  # mean_score
        top = counts @ np.arange(1.0, 5.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, top / n, np.nan)


def provider_counts(
    providers: pl.DataFrame,
    icb_codes: Sequence[str],
    spec: CompositeSpec,
    raw: np.ndarray | None = None,
    *,
    metrics: bool = True,
) -> ProviderCounts:
    """Precompute the rating counts the bootstrap resamples.

    Parameters
    ----------
    providers : one row per sector x provider x key question with ``icb_code``,
        ``sector``, ``key_question`` and ``rating`` (null = not rated), e.g. the
        pipeline's ``mapped`` frame.
    icb_codes : the indicator matrix's ICSs, in its row order.
    spec : the composite spec; indicators with a ``view:`` source whose column is one of
        :data:`BOOTSTRAP_COLUMNS` are bootstrapped, other view columns stay fixed.
    raw : optional ``n_ics x n_indicators`` raw matrix; when given, the statistics of
        the observed counts must reproduce it (else :class:`UncertaintyError`: the
        providers are not the ones the view was built from).
    metrics : also resample the rating-dispersion metrics (``metric:`` sources in
        :data:`~ics_model.metrics.system.DISPERSION_METRICS`) from the sector's Overall
        ratings.
    """
    need = {"icb_code", "sector", "key_question", "rating"}
    if missing := need - set(providers.columns):
        raise UncertaintyError(f"providers frame lacks column(s) {sorted(missing)}")
    codes = list(icb_codes)
    rated = providers.filter(pl.col("rating").is_not_null()).select(
        pl.col("icb_code").cast(pl.String),
        pl.col("sector").cast(pl.String),
        pl.col("key_question").cast(pl.String),
        pl.col("rating").cast(pl.String),
    )
    selected: list[tuple[int, str, str, int]] = []  # column, name, statistic, group
    counts: list[np.ndarray] = []
    keys: dict[tuple[str, str], int] = {}  # (sector, key question) -> index into counts
    for j, (_, ind) in enumerate(spec.indicators):
        src = parse_source(ind.source)
        if src[0] == "metric" and metrics and src[1] in DISPERSION_METRICS:
            sector, kq, column = DISPERSION_METRICS[src[1]], "Overall", "leik"
        elif src[0] != "view":
            continue
        else:
            _, sector, kq, column = src
        if column not in (*BOOTSTRAP_COLUMNS, "leik"):
            log.info("bootstrap: indicator %s (view column %s) held fixed", ind.name, column)
            continue
        if (sector, kq) not in keys:
            sub = rated.filter((pl.col("sector") == sector) & (pl.col("key_question") == kq))
            table = np.zeros((len(codes), len(RATINGS)))
            for code, rating, n in sub.group_by("icb_code", "rating").len().iter_rows():
                if code in codes and rating in RATINGS:
                    table[codes.index(code), RATINGS.index(rating)] = n
            keys[(sector, kq)] = len(counts)
            counts.append(table)
        g = keys[(sector, kq)]
        if raw is not None:
            expect, got = _statistic(counts[g], column), raw[:, j]
            bad = ~np.isclose(expect, got, rtol=1e-9, atol=1e-12, equal_nan=True)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise UncertaintyError(
                    f"bootstrap: indicator {ind.name!r}: the providers give {expect[i]!r} "
                    f"for {codes[i]} but the matrix has {got[i]!r}; pass the providers the "
                    "ICS view was built from (the pipeline's Result.mapped)"
                )
        selected.append((j, ind.name, column, g))
    columns, names, stats, groups = (
        (tuple(x) for x in zip(*selected, strict=True)) if selected else [()] * 4
    )
    return ProviderCounts(columns, names, stats, groups, tuple(counts))


def resample_indicators(pc: ProviderCounts, n: int, rng: np.random.Generator) -> np.ndarray:
    r"""``n x n_ics x n_bootstrapped`` raw indicator values from resampled providers.

    Per (sector, key question), ICS :math:`c` and draw:

    ``multinomial``
        counts :math:`\sim \mathrm{Multinomial}(n_c, \hat\pi_c)`, the plain bootstrap of
        the rated providers. A system whose few providers share one rating never varies.
    ``bayesian``
        :math:`\pi_c \sim \mathrm{Dirichlet}(x_c + \tfrac12)` (the posterior under a
        Jeffreys prior; Rubin 1981, "The Bayesian bootstrap", *Ann. Statist.* 9(1)) and
        counts :math:`\sim \mathrm{Multinomial}(n_c, \pi_c)`: a system of two providers
        rated alike still gets a wide interval, as its small size warrants.

    ICSs with no rated provider stay NaN.
    """
    draws = []
    for table in pc.counts:
        n_c = table.sum(axis=1).astype(np.int64)
        if pc.method == "bayesian":
            g = rng.gamma(table[None, :, :] + 0.5, size=(n, *table.shape))
            pi = g / g.sum(axis=-1, keepdims=True)
            draws.append(rng.multinomial(n_c[None, :], pi).astype(float))
        else:
            pi = np.divide(
                table, n_c[:, None], out=np.full_like(table, 0.25), where=n_c[:, None] > 0
            )
            draws.append(rng.multinomial(n_c, pi, size=(n, n_c.size)).astype(float))
    cols = [_statistic(draws[g], s) for g, s in zip(pc.group, pc.statistic, strict=True)]
    return np.stack(cols, axis=-1) if cols else np.empty((n, 0, 0))


__all__ = [
    "BOOTSTRAP_COLUMNS",
    "RATINGS",
    "ProviderCounts",
    "provider_counts",
    "resample_indicators",
]
