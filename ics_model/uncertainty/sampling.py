r"""Sampling distributions of the metric-based indicators, for the Monte Carlo.

The provider bootstrap (:mod:`~ics_model.uncertainty.bootstrap`) varies the indicators
read from the ICS view. Every ``metric:`` indicator with a sampling distribution is drawn
here from its own, each with the data the metric was computed from, so that every pillar
of the composite carries its sampling uncertainty into the ranks:

``beta_share`` (flow shares: ``self_containment``, ``share_other_ics_trusts``,
    ``share_independent_sector``, ``inflow_share``, ``share_waiting_over_18_weeks``)
    :math:`p^* \sim \mathrm{Beta}(k + \tfrac12, n - k + \tfrac12)`, the Jeffreys posterior
    of a binomial share with :math:`k` of :math:`n` RTT pathways
    (:data:`~ics_model.metrics.share_counts.SHARE_COUNTS`); independently across ICSs and
    metrics (the negative correlation between the resident shares is ignored: with
    :math:`10^5`-:math:`10^6` pathways per ICS each spreads by well under a percentage
    point).
``sii`` (``gp_sii_*``)
    each deprivation quintile's share :math:`y^*_q \sim N(\hat y_q, s_q)`, :math:`s_q` from
    its 95% Wilson width, and :math:`\mathrm{SII}^* = \sum_q c_q y^*_q` -- the simulation
    that makes the metric's own confidence limits (:func:`~ics_model.metrics.sii.slope_index`).
``rii`` (``gp_rii_*``)
    :math:`p^*_q \sim \mathrm{Beta}(k_q + \tfrac12, n_q - k_q + \tfrac12)` and the
    log-linear RII refitted (:func:`~ics_model.metrics.rii.rii_draws`, the metric's own
    interval simulation).
``gap`` (``gp_gap_good_or_outstanding``)
    Beta draws of quintiles 1 and 5, :math:`p^*_5 - p^*_1`.
``theil`` (``gp_theil_within_ics``)
    Beta draws of every quintile's share, Theil T over them (weights: rated practices).
``trust_mean``, ``trust_share`` (``nof_mean_score``, ``nof_share_segment_1_2``)
    a Bayesian bootstrap of the ICS's segmented trusts (Rubin 1981):
    :math:`w \sim \mathrm{Dirichlet}(1, \dots, 1)`, :math:`\bar x^* = \sum_i w_i x_i` with
    :math:`x_i` the trust's average metric score, or 1 if it is in segment 1-2 (else 0);
    as the interval of the modelled ICS NOF roll-up
    (:func:`ics_model.uncertainty.nof.nof_rank_intervals`).

Indicators without a sampling distribution (counts of partners, spreads across trusts,
deprivation and population context, user indicators) are held at their observed values;
:data:`HELD_FIXED` says why. An ICS whose metric is null (e.g. below
``metrics.min_group_size``) stays null in every draw.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from ics_model.composite.spec import CompositeSpec, parse_source
from ics_model.metrics.rii import loglinear_slope, ridit_ranks
from ics_model.uncertainty.bootstrap import ProviderCounts, resample_indicators
from ics_model.uncertainty.spec import UncertaintyError

log = logging.getLogger(__name__)

#: metric -> (sampler kind, quintile share suffix or None)
METRIC_SAMPLERS: Final[dict[str, tuple[str, str | None]]] = {
    "self_containment": ("beta_share", None),
    "share_other_ics_trusts": ("beta_share", None),
    "share_independent_sector": ("beta_share", None),
    "inflow_share": ("beta_share", None),
    "share_waiting_over_18_weeks": ("beta_share", None),
    "gp_sii_good_or_outstanding": ("sii", "go"),
    "gp_sii_outstanding": ("sii", "o"),
    "gp_rii_good_or_outstanding": ("rii", "go"),
    "gp_rii_outstanding": ("rii", "o"),
    "gp_gap_good_or_outstanding": ("gap", "go"),
    "gp_theil_within_ics": ("theil", "go"),
    "nof_mean_score": ("trust_mean", None),
    "nof_share_segment_1_2": ("trust_share", None),
}
#: trust-bootstrap kinds
_TRUST_KINDS: Final = ("trust_mean", "trust_share")

#: what each sampler kind varies, its distribution, and what it holds fixed.
SAMPLER_TEXT: Final[dict[str, tuple[str, str, str, str]]] = {
    "beta_share": (
        "the share k / n of RTT pathways",
        "Beta(k + 1/2, n - k + 1/2) per ICS (Jeffreys posterior of a binomial share)",
        "share_counts: k (numerator) and n (denominator) pathways per ICS, RTT extract",
        "n (the denominator), the placement of providers and commissioners; the RTT "
        "extract is a census: the binomial spread is its superpopulation view",
    ),
    "sii": (
        "each deprivation quintile's share",
        "Normal(share, SE) per quintile, SE = 95% Wilson width / (2 x 1.96); SII refitted "
        "(the simulation of the metric's own confidence limits, phe_sii)",
        "gp_quintiles: rated practices, share and SE per ICS x quintile",
        "the quintile populations (rated practices) and hence the ranks; ICSs below "
        "metrics.min_group_size stay null",
    ),
    "rii": (
        "each deprivation quintile's share",
        "Beta(k + 1/2, n - k + 1/2) per quintile; log-linear RII exp(beta) refitted (the "
        "simulation of the metric's own limits)",
        "gp_quintiles: rated practices n and events k per ICS x quintile",
        "the quintile populations and ranks; ICSs below metrics.min_group_size stay null",
    ),
    "gap": (
        "the shares of deprivation quintiles 1 and 5",
        "Beta(k + 1/2, n - k + 1/2) for each; gap = share 5 - share 1",
        "gp_quintiles: rated practices n and events k of quintiles 1 and 5",
        "the quintiles' populations; ICSs below metrics.min_group_size stay null",
    ),
    "theil": (
        "each deprivation quintile's share",
        "Beta(k + 1/2, n - k + 1/2) per quintile; Theil T recomputed",
        "gp_quintiles: rated practices n and events k per ICS x quintile",
        "the weights (rated practices per quintile)",
    ),
    "trust_mean": (
        "which trusts the ICS holds (its NOF average metric scores)",
        "Bayesian bootstrap: Dirichlet(1, ..., 1) weights over the ICS's segmented trusts",
        "nof_trusts: the average metric score of each segmented trust placed in the ICS",
        "the trusts' scores themselves (no metric-level uncertainty is published in the "
        "extract); ICSs below nof.min_trusts stay null",
    ),
    "trust_share": (
        "which trusts the ICS holds (in NOF segments 1-2 or not)",
        "Bayesian bootstrap: Dirichlet(1, ..., 1) weights over the ICS's segmented trusts",
        "nof_trusts: the published segment of each segmented trust placed in the ICS",
        "the trusts' segments; ICSs below nof.min_trusts stay null",
    ),
}

#: metrics held at their observed values, and why.
HELD_FIXED: Final[dict[str, str]] = {
    "n_partner_icss": "a count of ICSs above a threshold share: no sampling distribution of "
    "its own (its shares vary by well under a point)",
    "over_18_weeks_gini_trusts": "a spread across the ICS's hosted trusts' whole waiting "
    "lists; the per-trust counts are not carried to the Monte Carlo",
    "imd_share_most_deprived_quintile": "context: IoD2019 and population estimates, no "
    "sampling error published",
    "imd_mean_rank": "context: IoD2019 ranks, no sampling error published",
    "population": "context: ONS mid-year estimate, no sampling error published",
}
_DEFAULT_FIXED: Final = "no sampling distribution known for this indicator (e.g. a user file)"


@dataclass(frozen=True)
class SamplingInputs:
    """The data the metric-based indicators' sampling distributions come from.

    Attributes
    ----------
    quintiles : ``gp_quintiles`` (:data:`~ics_model.metrics.contracts.GP_QUINTILES`):
        rated practices, events, shares and SEs per ICS x deprivation quintile.
    share_counts : numerators and denominators of the count-based shares
        (:data:`~ics_model.metrics.share_counts.SHARE_COUNTS`).
    nof_trusts : the placed NOF trusts (icb_code, avg_metric_score, adjusted_segment).
    """

    quintiles: pl.DataFrame | None = None
    share_counts: pl.DataFrame | None = None
    nof_trusts: pl.DataFrame | None = None


@dataclass(frozen=True)
class MetricDraws:
    """One metric indicator's sampling distribution, ready to draw (picklable).

    ``column`` is its index in the spec; ``kind`` a key of :data:`SAMPLER_TEXT`;
    ``params`` the arrays of that kind (rows in the matrix's ICS order, NaN rows = the
    metric is null there and stays null).
    """

    column: int
    name: str
    kind: str
    params: tuple[np.ndarray, ...]


def _quintile_arrays(
    quintiles: pl.DataFrame, codes: Sequence[str], suffix: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n_ics x 5`` rated practices, events, shares and SEs (NaN where no row)."""
    events = {"go": "n_go", "o": "n_o"}[suffix]
    out = [np.full((len(codes), 5), np.nan) for _ in range(4)]
    index = {c: i for i, c in enumerate(codes)}
    cols = ("n_rated", events, f"share_{suffix}", f"share_{suffix}_se")
    for row in quintiles.select("icb_code", "imd_quintile", *cols).iter_rows():
        i = index.get(row[0])
        if i is not None and 1 <= row[1] <= 5:
            for a, v in zip(out, row[2:], strict=True):
                a[i, row[1] - 1] = v
    return out[0], out[1], out[2], out[3]


def _trust_arrays(trusts: pl.DataFrame, codes: Sequence[str], kind: str) -> np.ndarray:
    """``n_ics x max trusts`` values of each ICS's trusts, NaN-padded (score or in 1-2)."""
    value = (
        pl.col("avg_metric_score")
        if kind == "trust_mean"
        else (pl.col("adjusted_segment") <= 2).cast(pl.Float64)
    )
    rows = dict(
        trusts.filter(pl.col("avg_metric_score").is_not_null())
        .group_by("icb_code")
        .agg(value.alias("v"))
        .iter_rows()
    )
    width = max((len(v) for v in rows.values()), default=1)
    out = np.full((len(codes), width), np.nan)
    for i, c in enumerate(codes):
        v = rows.get(c, [])
        out[i, : len(v)] = v
    return out


def _theil(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Theil T of ``x`` (last axis), weights ``w`` (as :func:`~ics_model.metrics.inequality.theil`).

    Entries of weight 0 (a quintile with no rated practice) contribute nothing.
    """
    x = np.where(w > 0, x, 0.0)
    wx = w * x
    s = wx / wx.sum(axis=-1, keepdims=True)
    mu = wx.sum(axis=-1, keepdims=True) / w.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(s > 0, s * np.log(x / mu), 0.0)
    return np.maximum(terms.sum(axis=-1), 0.0)


def _rows(kind: str, params: tuple[np.ndarray, ...]) -> np.ndarray:
    """Mark the ICSs whose parameters define the metric (a quintile kind's rows)."""
    n = params[0]
    if kind == "gap":
        return ~np.isnan(n[:, 0]) & ~np.isnan(n[:, 4])
    if kind == "theil":  # quintiles without practices weigh 0
        return ~np.isnan(n).all(axis=1)
    return ~np.isnan(n).any(axis=1)


def _point(kind: str, params: tuple[np.ndarray, ...]) -> np.ndarray:
    """Return the metric's value from the parameters (to check them against the matrix)."""
    if kind == "beta_share":
        k, n = params
        return k / n
    if kind in _TRUST_KINDS:
        x = params[0]
        with np.errstate(invalid="ignore"):
            return np.where(np.isnan(x).all(axis=1), np.nan, np.nanmean(x, axis=1))
    n, k, y, _ = params
    out = np.full(n.shape[0], np.nan)
    for i in np.flatnonzero(_rows(kind, params)):
        if kind == "sii":
            out[i] = _sii_weights(n[i]) @ y[i]
        elif kind == "rii":
            out[i] = np.exp(loglinear_slope(ridit_ranks(n[i]), n[i], k[i]))
        elif kind == "gap":
            out[i] = y[i, 4] - y[i, 0]
        else:
            w = np.nan_to_num(n[i])
            out[i] = _theil(np.nan_to_num(k[i]) / np.where(w > 0, w, 1.0), w)
    return out


def _sii_weights(n: np.ndarray) -> np.ndarray:
    """Return the linear map from quintile values to the SII slope (as ``phe_sii``)."""
    a = n / n.sum()
    b = ridit_ranks(n)
    centred = b - np.sum(a * b)
    return a * centred / np.sum(a * centred**2)


def metric_draws(
    inputs: SamplingInputs, codes: Sequence[str], spec: CompositeSpec, raw: np.ndarray
) -> tuple[MetricDraws, ...]:
    """Prepare the sampling distribution of every ``metric:`` indicator that has one.

    Parameters
    ----------
    inputs : the metrics' counts (:class:`SamplingInputs`).
    codes : the matrix's ICSs, in its row order.
    spec : the composite spec.
    raw : ``n_ics x n_indicators`` raw values; an ICS whose value is null stays null, and
        the parameters must reproduce every other value (else :class:`UncertaintyError`:
        the inputs are not the ones the metrics were computed from).
    """
    out = []
    for j, (_, ind) in enumerate(spec.indicators):
        src = parse_source(ind.source)
        if src[0] != "metric" or src[1] not in METRIC_SAMPLERS:
            continue
        kind, suffix = METRIC_SAMPLERS[src[1]]
        if kind == "beta_share":
            if inputs.share_counts is None:
                continue
            sub = inputs.share_counts.filter(pl.col("metric") == src[1])
            pairs = zip(sub["numerator"], sub["denominator"], strict=True)
            lookup = dict(zip(sub["icb_code"], pairs, strict=True))
            kn = np.array([lookup.get(c, (np.nan, np.nan)) for c in codes], dtype=float)
            params: tuple[np.ndarray, ...] = (kn[:, 0], kn[:, 1])
        elif kind in _TRUST_KINDS:
            if inputs.nof_trusts is None:
                continue
            params = (_trust_arrays(inputs.nof_trusts, codes, kind),)
        else:
            if inputs.quintiles is None:
                continue
            params = _quintile_arrays(inputs.quintiles, codes, suffix or "go")
        observed = ~np.isnan(raw[:, j])
        point = _point(kind, params)
        bad = observed & ~np.isclose(point, raw[:, j], rtol=1e-9, atol=1e-12)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise UncertaintyError(
                f"sampling: indicator {ind.name!r}: the metric's counts give {point[i]!r} for "
                f"{codes[i]} but the matrix has {raw[i, j]!r}; pass the sampling inputs of the "
                "run that built the matrix (its Metrics.gp_quintiles and share_counts)"
            )
        mask = np.where(observed, 1.0, np.nan)
        params = tuple(p * (mask if p.ndim == 1 else mask[:, None]) for p in params)
        out.append(MetricDraws(j, ind.name, kind, params))
    return tuple(out)


def draw_metric(m: MetricDraws, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n x n_ics`` draws of one metric indicator (NaN where the metric is null)."""
    if m.kind == "beta_share":
        k, total = m.params
        ok = ~np.isnan(k)
        out = np.full((n, k.size), np.nan)
        out[:, ok] = rng.beta(k[ok] + 0.5, total[ok] - k[ok] + 0.5, size=(n, int(ok.sum())))
        return out
    if m.kind in _TRUST_KINDS:
        x = m.params[0]
        present = ~np.isnan(x)
        out = np.full((n, x.shape[0]), np.nan)
        for i in np.flatnonzero(present.any(axis=1)):
            v = x[i, present[i]]
            out[:, i] = rng.dirichlet(np.ones(v.size), size=n) @ v
        return out
    pop, k, y, se = m.params
    out = np.full((n, pop.shape[0]), np.nan)
    for i in np.flatnonzero(_rows(m.kind, m.params)):
        if m.kind == "gap":
            q = [0, 4]
            p = rng.beta(k[i, q] + 0.5, pop[i, q] - k[i, q] + 0.5, size=(n, 2))
            out[:, i] = p[:, 1] - p[:, 0]
            continue
        if m.kind == "theil":
            w = np.nan_to_num(pop[i])
            kk = np.nan_to_num(k[i])
            p = rng.beta(kk + 0.5, np.maximum(w - kk, 0.0) + 0.5, size=(n, 5))
            out[:, i] = _theil(p, np.broadcast_to(w, p.shape))
            continue
        if m.kind == "sii":
            draws = y[i] + se[i] * rng.standard_normal((n, 5))
            out[:, i] = draws @ _sii_weights(pop[i])
            continue
        p = rng.beta(k[i] + 0.5, pop[i] - k[i] + 0.5, size=(n, 5))
        b = ridit_ranks(pop[i])
        start = loglinear_slope(b, pop[i], k[i])
        out[:, i] = np.exp(loglinear_slope(b, pop[i], p * pop[i], start))  # rii
    return out


@dataclass(frozen=True)
class SamplingPlan:
    """Everything the ``bootstrap`` assumption resamples: providers and metrics.

    Attributes
    ----------
    providers : the provider bootstrap's rating counts (view shares, rating dispersion),
        or None.
    metrics : the metric indicators' sampling distributions (:func:`metric_draws`).
    """

    providers: ProviderCounts | None
    metrics: tuple[MetricDraws, ...] = ()

    @property
    def columns(self) -> tuple[int, ...]:
        """Spec indices of the resampled indicators, in :meth:`draw`'s order."""
        own = self.providers.columns if self.providers is not None else ()
        return (*own, *(m.column for m in self.metrics))

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the resampled indicators, in :meth:`draw`'s order."""
        own = self.providers.names if self.providers is not None else ()
        return (*own, *(m.name for m in self.metrics))

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n x n_ics x len(columns)`` raw values: the providers first, then each metric.

        The provider draws come first from ``rng``, so they equal those of
        :func:`~ics_model.uncertainty.bootstrap.resample_indicators` alone.
        """
        parts = []
        if self.providers is not None:
            parts.append(resample_indicators(self.providers, n, rng))
        parts += [draw_metric(m, n, rng)[..., None] for m in self.metrics]
        return np.concatenate(parts, axis=-1)


def held_fixed_reason(metric: str) -> str:
    """Return why a metric indicator is held at its observed value in every draw."""
    return HELD_FIXED.get(metric, _DEFAULT_FIXED)


__all__ = [
    "HELD_FIXED",
    "METRIC_SAMPLERS",
    "SAMPLER_TEXT",
    "MetricDraws",
    "SamplingInputs",
    "SamplingPlan",
    "draw_metric",
    "held_fixed_reason",
    "metric_draws",
]
