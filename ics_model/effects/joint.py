r"""The joint test across the specification curve, by permutation of the exposure.

Simonsohn, Simmons & Nelson (2020) ask whether the curve as a whole is more extreme than
it would be were the exposure unrelated to the outcome. :func:`joint_test` recomputes
three summaries of the curve under random permutations of the exposure, shared by every
specification of a draw (so the dependence between specifications is kept):

- the median of the specifications' log odds ratios (two-sided: ``|median|``);
- the number of specifications significant at 5% in the dominant direction,
  ``max(#{z >= 1.96}, #{z <= -1.96})`` (two-sided, so no direction is chosen after
  looking);
- Stouffer's ``Z = sum_s z_s / sqrt(S)`` (two-sided: ``|Z|``).

``p = (1 + #{permuted >= observed}) / (1 + P)`` for each, per period.

What is permuted. An ICS-level exposure: its values across ICSs (one random ordering of
all ICSs per draw; an exposure missing for some ICSs is permuted among the ICSs that have
it, in the order the draw gives them, so every exposure gets a uniform permutation and
exposures with the same ICSs get the same one). A provider-level exposure ``v_i = m_g +
d_i`` (``m_g`` its ICS mean over the population's providers, ``d_i`` the provider's
deviation): the ICS means are permuted across ICSs as above **and** the deviations are
shuffled among the population's providers of each ICS, so both the between- and the
within-ICS association are broken while the clusters stay intact. The null is that
exposure values are exchangeable across ICSs (and, for provider-level exposures, among
providers of an ICS); the test does not condition on how controls differ between ICSs.

Score approximation (no refits). Each specification's null model ``y ~ controls``
(statsmodels: logistic GLM for a binary outcome, ``OrderedModel`` logit for an ordinal
one; specifications with the same rows, outcome and controls share it) is fitted once.
With the cumulative-logit parametrisation ``P(Y <= k) = F(theta_k - eta)``, ``eta = z'gamma
+ x beta`` (binary: ``K = 2``), the score of ``beta`` at 0 is ``U = sum_i x_i e_i`` with
``e_i = (f_{k-1} - f_k) / pi_k`` at the observed category (binary: ``y - p``), and the
efficient score of observation ``i`` is ``x_i e_i - h' I_nn^{-1} s_i`` (``s_i`` the
nuisance scores, ``h = sum_i x_i a_i``, ``a_i`` and ``I_nn`` from the expected
information). Each specification's ``z`` is the cluster-robust score statistic
``sum_g u_g / sqrt(G/(G-1) sum_g u_g^2)`` (``u_g`` the ICS sums of efficient scores;
Kline & Santos 2012 without the bootstrap) and its estimate the one-step log odds ratio
``U / I_eff``, ``I_eff = sum_i w_i x_i^2 - h' I_nn^{-1} h``. The observed curve's
statistics are computed the same way, so observed and permuted values are comparable;
they approximate the fitted estimates (exact at ``beta = 0``) and are reported beside,
not instead of, the curve. Specifications that differ only in the model share one null
model and so one statistic (GEE's and the random-intercept model's nulls are approximated
by the marginal logistic one).

Reproducibility: chunk ``i`` of ``chunk_size`` permutations draws from
``SeedSequence(seed, spawn_key=(2, i))``, so results depend on ``seed``, the number of
permutations and ``chunk_size`` only, never on the executor.

References
----------
Simonsohn, Simmons & Nelson (2020) Nature Human Behaviour 4:1208-1214. Kline & Santos
(2012) J Econometric Methods 1:23-41. McCullagh (1980) JRSS B 42:109-142 (the
proportional-odds model). Rao (1948) Proc Camb Phil Soc 44:50-57 (score tests).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import math
import warnings
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import polars as pl

from ics_model.effects.curve_contracts import CURVE_JOINT
from ics_model.effects.spec import STATISTICS

if TYPE_CHECKING:
    from ics_model.effects.rows import AnalysisRows

log = logging.getLogger(__name__)

Z_CRIT: Final = NormalDist().inv_cdf(0.975)
_JOINT_STREAM: Final = 2


class SpecArrays(Protocol):
    """A specification's analysed rows (:class:`ics_model.effects.curve.SpecData`)."""

    y: np.ndarray  # outcome codes 0..K-1
    z: np.ndarray  # controls
    clusters: np.ndarray  # local ICS numbers 0..G-1
    rows: np.ndarray  # row numbers in AnalysisRows.frame

    @property
    def n_clusters(self) -> int:
        """ICSs analysed."""
        ...


@dataclass(frozen=True)
class JointInput:
    """One fitted specification x period, as the joint test needs it."""

    spec_id: int
    population: str
    exposure: str
    period: str
    ordinal: bool
    data: SpecArrays


# ----------------------------------------------------------------------------- null model


def _expit(v: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * v))


def fit_null(y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Fit ``y ~ controls`` (cumulative logit): thresholds ``theta``, ``gamma``, problem.

    ``y`` holds codes 0..K-1. Binary (``K = 2``): statsmodels GLM binomial, ``theta_0 =
    -intercept``; ordinal: statsmodels ``OrderedModel`` (logit) with its analytic score
    (:class:`~ics_model.effects.ordinal.OrderedLogit`). The problem is None, or why the fit
    is not usable (not converged, warnings).
    """
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM

    from ics_model.effects.ordinal import OrderedLogit

    k = int(y.max()) + 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if k == 2:
            res = GLM(y, np.column_stack([np.ones(len(y)), z]), family=Binomial())
            fitted = res.fit()
            theta, gamma = -fitted.params[:1], fitted.params[1:]
            ok = bool(fitted.converged)
        else:
            model = OrderedLogit(y, z, distr="logit")
            fitted = model.fit(method="bfgs", disp=False, maxiter=1000)
            theta = model.transform_threshold_params(fitted.params)[1:-1]
            gamma = fitted.params[: z.shape[1]]
            ok = bool(fitted.mle_retvals.get("converged", False))
    problem = None if ok else "null model did not converge"
    if caught and problem is None:
        problem = f"null model warned: {caught[0].message}"
    return np.asarray(theta, float), np.asarray(gamma, float), problem


@dataclass(frozen=True)
class NullScores:
    """Per-observation pieces of the efficient score of ``beta`` at the null model."""

    e: np.ndarray  # d l_i / d eta
    w: np.ndarray  # E[(d l_i / d eta)^2]
    a: np.ndarray  # n x q: E[d l / d eta * d l / d nuisance]
    s: np.ndarray  # n x q: nuisance scores
    i_inv: np.ndarray  # q x q: inverse expected information of the nuisance parameters


def null_scores(y: np.ndarray, z: np.ndarray, theta: np.ndarray, gamma: np.ndarray) -> NullScores:
    """Scores and expected information of the cumulative logit at ``(theta, gamma, 0)``.

    ``pi_k = F_k - F_{k-1}``, ``F_k = F(theta_k - eta)`` (``F_{-1} = 0``, ``F_{K-1} =
    1``); ``d pi_k / d eta = f_{k-1} - f_k``; ``d pi_k / d theta_j = f_j (1[j = k] -
    1[j = k - 1])``; expected information ``sum_k (d pi_k / d a)(d pi_k / d b) / pi_k``.
    """
    n, k = len(y), len(theta) + 1
    eta = z @ gamma if z.shape[1] else np.zeros(n)
    cdf = _expit(theta[None, :] - eta[:, None])  # n x (K-1)
    dens = cdf * (1 - cdf)
    big = np.column_stack([np.zeros(n), cdf, np.ones(n)])
    fp = np.column_stack([np.zeros(n), dens, np.zeros(n)])
    pi = np.maximum(np.diff(big, axis=1), 1e-300)  # n x K
    d_eta = fp[:, :-1] - fp[:, 1:]  # n x K
    d_theta = np.zeros((n, k, k - 1))
    for j in range(k - 1):
        d_theta[:, j, j] = dens[:, j]
        d_theta[:, j + 1, j] = -dens[:, j]
    yi = y.astype(int)
    rows = np.arange(n)
    e = d_eta[rows, yi] / pi[rows, yi]
    w = np.sum(d_eta**2 / pi, axis=1)
    c = np.einsum("nk,nkj->nj", d_eta / pi, d_theta)
    t = np.einsum("nkj,nkl->jl", d_theta / pi[:, :, None], d_theta)
    s_theta = d_theta[rows, yi, :] / pi[rows, yi][:, None]
    a = np.column_stack([c, w[:, None] * z])
    s = np.column_stack([s_theta, e[:, None] * z])
    info = np.block([[t, c.T @ z], [z.T @ c, z.T @ (z * w[:, None])]])
    return NullScores(e, w, a, s, np.linalg.pinv(info))


@dataclass(frozen=True)
class _Spec:
    """A specification's score machinery: ICS-level (``c``, ``q``) or provider-level."""

    period: int
    source: str  # key of the permuted values
    cluster_ids: np.ndarray  # ICS (global index) of each local cluster (ICS level)
    pos: np.ndarray | None  # member positions of the rows (provider level)
    g: np.ndarray
    n_clusters: int
    null: NullScores | None = None
    c: np.ndarray | None = None
    q: np.ndarray | None = None


def _cluster_sums(values: np.ndarray, g: np.ndarray, n_g: int) -> np.ndarray:
    out = np.zeros((n_g, *values.shape[1:]))
    np.add.at(out, g, values)
    return out


def _spec_statistics(spec: _Spec, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Robust score z and one-step log odds ratio for exposure draws ``x`` (P x units)."""
    G = spec.n_clusters
    if spec.c is not None:  # ICS level: x is P x G
        u = x @ spec.c.T
        info = np.einsum("pg,gh,ph->p", x, spec.q, x)
    else:
        ns = spec.null
        assert ns is not None
        member = np.zeros((len(spec.g), G))
        member[np.arange(len(spec.g)), spec.g] = 1.0
        h = x @ ns.a  # P x q
        s_g = _cluster_sums(ns.s, spec.g, G)  # G x q
        u = (x * ns.e) @ member - h @ ns.i_inv @ s_g.T
        info = (x * x) @ ns.w - np.einsum("pq,qr,pr->p", h, ns.i_inv, h)
    total = u.sum(axis=1)
    var = G / (G - 1) * np.sum(u * u, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, total / np.sqrt(var), 0.0)
        b = np.where(info > 0, total / info, 0.0)
    return z, b


# ----------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Source:
    """Values to permute: ICS-level (``values`` per ICS) or provider-level."""

    values: np.ndarray  # per ICS (ICS level: the exposure; provider: the raw ICS means)
    have: np.ndarray  # ICSs with a value
    member_cluster: np.ndarray | None = None  # provider level: each member's ICS
    deviation: np.ndarray | None = None
    mean: float = 0.0
    sd: float = 1.0
    member_rows: np.ndarray | None = None  # provider level: each member's row in the frame


@dataclass(frozen=True)
class _Context:
    n_ics: int
    sources: dict[str, _Source]
    specs: list[_Spec]
    n_periods: int
    order: tuple[str, ...] = ()


def _permuted_ics(src: _Source, rank: np.ndarray) -> np.ndarray:
    """``values`` permuted among ``have`` in the order of ``rank`` (P x n_ics)."""
    out = np.full((rank.shape[0], len(src.values)), np.nan)
    idx = src.have[np.argsort(rank[:, src.have], axis=1, kind="stable")]
    out[:, src.have] = src.values[idx]
    return out


def _draw(ctx: _Context, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    """Permuted exposure values of ``size`` draws: ICS level P x n_ics, provider P x members."""
    perms = rng.permuted(np.tile(np.arange(ctx.n_ics), (size, 1)), axis=1)
    rank = np.argsort(perms, axis=1)  # position of each ICS in the draw's ordering
    out = {}
    for key in ctx.order:
        src = ctx.sources[key]
        means = _permuted_ics(src, rank)
        if src.member_cluster is None:
            out[key] = means
            continue
        mc, dev = src.member_cluster, src.deviation
        assert dev is not None
        keys = mc[None, :] + rng.random((size, len(mc)))
        base = np.argsort(mc, kind="stable")
        shuffled = np.empty((size, len(mc)))
        shuffled[:, base] = dev[np.argsort(keys, axis=1)]
        out[key] = (means[:, mc] + shuffled - src.mean) / src.sd
    return out


def _observed(ctx: _Context) -> dict[str, np.ndarray]:
    out = {}
    for key, src in ctx.sources.items():
        if src.member_cluster is None:
            out[key] = src.values[None, :]
        else:
            raw = src.values[src.member_cluster] + src.deviation
            out[key] = ((raw - src.mean) / src.sd)[None, :]
    return out


def _curve_statistics(ctx: _Context, values: dict[str, np.ndarray]) -> np.ndarray:
    """``(P, n_periods, 4)``: median log OR, # significant positive / negative, Stouffer Z."""
    size = next(iter(values.values())).shape[0]
    zs = [[] for _ in range(ctx.n_periods)]
    bs = [[] for _ in range(ctx.n_periods)]
    for spec in ctx.specs:
        v = values[spec.source]
        x = v[:, spec.cluster_ids] if spec.pos is None else v[:, spec.pos]
        z, b = _spec_statistics(spec, x)
        zs[spec.period].append(z)
        bs[spec.period].append(b)
    out = np.full((size, ctx.n_periods, 4), np.nan)
    for p in range(ctx.n_periods):
        if not zs[p]:
            continue
        z, b = np.column_stack(zs[p]), np.column_stack(bs[p])
        out[:, p, 0] = np.median(b, axis=1)
        out[:, p, 1] = np.sum(z >= Z_CRIT, axis=1)
        out[:, p, 2] = np.sum(z <= -Z_CRIT, axis=1)
        out[:, p, 3] = z.sum(axis=1) / math.sqrt(z.shape[1])
    return out


def _chunk(ctx: _Context, seed: int, index: int, size: int) -> np.ndarray:
    """One task: ``size`` permutations drawn from chunk ``index``'s own stream."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_JOINT_STREAM, index)))
    return _curve_statistics(ctx, _draw(ctx, rng, size))


# ----------------------------------------------------------------------------- building


def _sources(rows: AnalysisRows, inputs: list[JointInput]) -> dict[str, _Source]:
    frame, n_ics = rows.frame, len(rows.ics_codes)
    ics = rows.ics_exposures
    out: dict[str, _Source] = {}
    for inp in inputs:
        level = ics.filter(pl.col("exposure") == inp.exposure)
        if level.height:
            if inp.exposure not in out:
                values = np.full(n_ics, np.nan)
                values[level["cluster"].to_numpy()] = level["x"].to_numpy()
                out[inp.exposure] = _Source(values, np.flatnonzero(~np.isnan(values)))
            continue
        key = f"{inp.population}:{inp.exposure}"
        if key in out:
            continue
        info = rows.exposures.filter(
            (pl.col("exposure") == inp.exposure) & (pl.col("population") == inp.population)
        )
        members = frame.with_row_index("_row").filter(
            (pl.col("population") == inp.population) & pl.col(inp.exposure).is_not_null()
        )
        raw = members[inp.exposure].to_numpy().astype(float)
        mc = members["cluster"].to_numpy()
        counts = np.bincount(mc, minlength=n_ics)
        means = np.bincount(mc, weights=raw, minlength=n_ics) / np.maximum(counts, 1)
        means[counts == 0] = np.nan
        out[key] = _Source(
            means,
            np.flatnonzero(counts > 0),
            member_cluster=mc,
            deviation=raw - means[mc],
            mean=float(info["mean"][0]),
            sd=float(info["sd"][0]),
            member_rows=members["_row"].to_numpy(),
        )
    return out


def _build(rows: AnalysisRows, inputs: list[JointInput], periods: tuple[str, ...]):
    sources = _sources(rows, inputs)
    cache: dict[tuple, tuple[NullScores | None, str | None]] = {}
    specs, excluded = [], []
    for inp in inputs:
        d = inp.data
        key = (
            inp.population,
            inp.period,
            inp.ordinal,
            d.y.tobytes(),
            d.z.tobytes(),
            d.rows.tobytes(),
        )
        if key not in cache:
            theta, gamma, problem = fit_null(d.y, d.z)
            cache[key] = (None if problem else null_scores(d.y, d.z, theta, gamma), problem)
        ns, problem = cache[key]
        if ns is None:
            excluded.append((inp.spec_id, inp.period, problem))
            continue
        cluster_ids = rows.frame["cluster"].to_numpy()[d.rows]
        G = d.n_clusters
        local_ids = np.zeros(G, dtype=int)
        local_ids[d.clusters] = cluster_ids
        if inp.exposure in sources:  # ICS level (provider-level keys are population:exposure)
            e_g = _cluster_sums(ns.e, d.clusters, G)
            w_g = _cluster_sums(ns.w, d.clusters, G)
            a_g = _cluster_sums(ns.a, d.clusters, G)
            s_g = _cluster_sums(ns.s, d.clusters, G)
            c = np.diag(e_g) - s_g @ ns.i_inv @ a_g.T
            q = np.diag(w_g) - a_g @ ns.i_inv @ a_g.T
            specs.append(
                _Spec(
                    periods.index(inp.period),
                    inp.exposure,
                    local_ids,
                    None,
                    d.clusters,
                    G,
                    None,
                    c,
                    q,
                )
            )
        else:
            src_key = f"{inp.population}:{inp.exposure}"
            member_rows = sources[src_key].member_rows
            assert member_rows is not None
            pos = np.searchsorted(member_rows, d.rows)  # member rows are sorted
            specs.append(
                _Spec(periods.index(inp.period), src_key, local_ids, pos, d.clusters, G, ns)
            )
    ctx = _Context(len(rows.ics_codes), sources, specs, len(periods), tuple(sorted(sources)))
    return ctx, excluded


def _p_values(observed: np.ndarray, perms: np.ndarray) -> list[tuple[float, float]]:
    """Observed statistic and permutation p-value of each summary (two-sided)."""
    tol = 1 - 1e-10
    med, pos, neg, stz = observed
    dom = max(pos, neg)
    pdom = np.maximum(perms[:, 1], perms[:, 2])
    P = len(perms)
    return [
        (math.exp(med), (1 + np.count_nonzero(np.abs(perms[:, 0]) >= abs(med) * tol)) / (1 + P)),
        (float(dom), (1 + np.count_nonzero(pdom >= dom)) / (1 + P)),
        (float(stz), (1 + np.count_nonzero(np.abs(perms[:, 3]) >= abs(stz) * tol)) / (1 + P)),
    ]


def joint_test(
    rows: AnalysisRows,
    inputs: list[JointInput],
    *,
    periods: tuple[str, ...],
    permutations: int,
    chunk_size: int,
    seed: int,
    executor: cf.Executor | None = None,
) -> pl.DataFrame:
    """Permutation test of the whole curve, per period (module docstring).

    Returns
    -------
    pl.DataFrame
        One row per period x statistic (:data:`STATISTICS`): ``observed`` (the median
        one-step odds ratio, the count significant in the dominant direction, Stouffer's
        Z), ``p_value``, ``dominant_sign`` (``positive``/``negative``/``none``, from the
        observed counts), ``n_specifications`` (in the test), ``n_excluded`` (null model
        unusable), ``permutations``, ``seed``.
    """
    ctx, excluded = _build(rows, inputs, periods)
    for spec_id, period, problem in excluded:
        log.warning("joint test: spec %d %s left out: %s", spec_id, period, problem)
    if not ctx.specs:
        return CURVE_JOINT.empty()
    observed = _curve_statistics(ctx, _observed(ctx))[0]
    sizes = [min(chunk_size, permutations - s) for s in range(0, permutations, chunk_size)]
    args = [(ctx, seed, i, size) for i, size in enumerate(sizes)]
    if executor is None:
        chunks = [_chunk(*a) for a in args]
    else:
        futures = [executor.submit(_chunk, *a) for a in args]
        chunks = [f.result() for f in futures]
    perms = np.concatenate(chunks)
    out: list[dict[str, Any]] = []
    for p, period in enumerate(periods):
        n_spec = sum(1 for s in ctx.specs if s.period == p)
        if not n_spec:
            continue
        n_exc = sum(1 for _, per, _ in excluded if per == period)
        pos, neg = observed[p, 1], observed[p, 2]
        sign = "none" if pos == neg == 0 else ("positive" if pos >= neg else "negative")
        for name, (obs, pv) in zip(STATISTICS, _p_values(observed[p], perms[:, p]), strict=True):
            out.append(
                {
                    "period": period,
                    "statistic": name,
                    "observed": obs,
                    "p_value": pv,
                    "dominant_sign": sign if name == "n_significant_dominant" else None,
                    "n_specifications": n_spec,
                    "n_excluded": n_exc,
                    "permutations": permutations,
                    "seed": seed,
                }
            )
    return pl.DataFrame(out, schema=CURVE_JOINT.schema, orient="row")


__all__ = ["JointInput", "NullScores", "fit_null", "joint_test", "null_scores"]
