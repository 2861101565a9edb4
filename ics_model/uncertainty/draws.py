r"""Vectorised Monte Carlo draws of a composite: weights, scores, ranks.

Everything here works on numpy arrays for many draws at once (no per-draw polars
pipeline), following the JRC/OECD *Handbook on Constructing Composite Indicators* (2008),
step 7, and Saisana, Saltelli & Tarantola (2005), *J. R. Stat. Soc. A* 168(2), 307-323.

Scores
------
Scores come from the composite kernel, :func:`~ics_model.composite.kernel.aggregate`,
with the draws' weights (``renormalise=False``): for draw :math:`d`, the pillar score of
ICS :math:`c` is :math:`P_{dcq} = M_q(\{y_{ci}\}; \{w_{di} o_{ci}\})` and the composite
:math:`S_{dc} = M(\{P_{dcq}\}; \{W_{dq}\})`, each mean a registered
:data:`~ics_model.composite.methods.AGGREGATORS` entry evaluated for all draws at once
(matrix products), so 100,000 draws cost a few small BLAS calls per pillar. The provider
bootstrap is in :mod:`~ics_model.uncertainty.bootstrap`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, NamedTuple

import numpy as np
import polars as pl

from ics_model.composite.kernel import (
    aggregate,
    domain_problem,
    draw_weights,
    group_sums,
    pillar_level,
    resolve_methods,
)
from ics_model.composite.methods import CompositeError, Ties, rank_along
from ics_model.uncertainty.spec import UncertaintyError

WeightMethod = Literal["dirichlet", "uniform", "none"]

#: sub-stream index of each assumption within a chunk's SeedSequence.
STREAMS: Final = {"weights": 0, "normalisation": 1, "aggregation": 2, "bootstrap": 3}


class DrawScores(NamedTuple):
    """Scores and ranks, each ``draws x n_ics`` (NaN = not scored / not ranked)."""

    scores: np.ndarray
    ranks: np.ndarray


# --------------------------------------------------------------------------- streams


def chunk_seeds(seed: int, draws: int, chunk_size: int) -> list[np.random.SeedSequence]:
    """One independent ``SeedSequence`` per chunk: ``SeedSequence(seed).spawn(n_chunks)``."""
    n_chunks = -(-draws // chunk_size)
    return np.random.SeedSequence(seed).spawn(n_chunks)


def chunk_sizes(draws: int, chunk_size: int) -> list[int]:
    """Draws in each chunk (all ``chunk_size`` but the last)."""
    return [min(chunk_size, draws - start) for start in range(0, draws, chunk_size)]


def stream(ss: np.random.SeedSequence, name: str) -> np.random.Generator:
    """Return the generator of one assumption (:data:`STREAMS`) within a chunk.

    Equal to ``default_rng(ss.spawn(4)[STREAMS[name]])`` but without mutating ``ss``, so
    switching one assumption on or off leaves the others' draws unchanged (common random
    numbers across settings).
    """
    key = (*ss.spawn_key, STREAMS[name])
    return np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=key))


# --------------------------------------------------------------------------- weights


def weight_draws(
    w_ind: Sequence[float] | np.ndarray,
    w_pil: Sequence[float] | np.ndarray,
    pillar_of: Sequence[int] | np.ndarray,
    *,
    n: int,
    rng: np.random.Generator,
    method: WeightMethod = "dirichlet",
    concentration: float = 50.0,
    spread: float = 0.25,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Draw ``n`` indicator and pillar weight vectors around the configured ones.

    Parameters
    ----------
    w_ind, w_pil : configured indicator and pillar weights (non-negative; indicator
        weights are normalised within their pillar, pillar weights across pillars).
    pillar_of : pillar index of each indicator.
    n : number of draws.
    rng : the random generator.
    method : ``dirichlet`` -- within pillar :math:`q`, :math:`w_{q} \sim
        \mathrm{Dir}(\kappa \tilde w_q)` (vectorised as independent
        :math:`\mathrm{Gamma}(\kappa \tilde w_i, 1)` draws divided by their pillar sum),
        so :math:`E[w_i] = \tilde w_i`; ``uniform`` -- :math:`w_i = \tilde w_i U_i`,
        :math:`U_i \sim U(1 - s, 1 + s)`, renormalised; ``none`` -- the configured weights.
    concentration : :math:`\kappa`.
    spread : :math:`s`.

    Returns
    -------
    tuple of np.ndarray
        ``n x n_indicators`` (each pillar's entries summing to 1) and ``n x n_pillars``
        (rows summing to 1). Zero weights stay zero.
    """
    w_pil = np.asarray(w_pil, dtype=float)
    levels = (
        (np.asarray(w_ind, dtype=float), np.asarray(pillar_of, dtype=np.intp), w_pil.size),
        (w_pil, np.zeros(w_pil.size, dtype=np.intp), 1),
    )
    out = []
    for nominal, group, n_groups in levels:
        sums = group_sums(nominal, group, n_groups)
        base = np.divide(nominal, sums, out=np.zeros_like(nominal), where=sums > 0)
        pos, k = base > 0, int((base > 0).sum())
        w = np.zeros((n, base.size))
        if method == "dirichlet":
            w[:, pos] = rng.standard_gamma(concentration * base[pos], size=(n, k))
        elif method == "uniform":
            w[:, pos] = base[pos] * rng.uniform(1.0 - spread, 1.0 + spread, (n, k))
        elif method == "none":
            w[:, pos] = base[pos]
        else:
            raise UncertaintyError(f"unknown weight method {method!r} (dirichlet, uniform, none)")
        sums = group_sums(w, group, n_groups)
        # a group whose gamma draws all underflowed to 0 (tiny concentrations): configured
        out.append(np.where(sums > 0, w / np.where(sums > 0, sums, 1.0), base))
    return out[0], out[1]


# --------------------------------------------------------------------------- aggregation


def check_domain(values: np.ndarray, method: str, p: float, what: str) -> None:
    """Raise :class:`UncertaintyError` when ``values`` are outside ``method``'s domain."""
    if problem := domain_problem(values, method, p):
        raise UncertaintyError(
            f"{what}: {problem}; normalise onto a positive range (e.g. composite "
            "normalise_range [1, 100]) or drop the alternative"
        )


def pillar_scores(
    values: np.ndarray,
    w_ind: np.ndarray,
    pillar_of: np.ndarray,
    methods: Sequence[str],
    p: float = 1.0,
) -> np.ndarray:
    """Return the pillar scores :math:`P_{dcq}`, ``draws x n_ics x n_pillars``.

    Arguments as :func:`~ics_model.composite.kernel.aggregate`; the kernel's
    :func:`~ics_model.composite.kernel.pillar_level`.
    """
    return pillar_level(values, w_ind, pillar_of, methods, p)[0]


# --------------------------------------------------------------------------- ranks


def rank_rows(scores: np.ndarray, ties: Ties = "min") -> np.ndarray:
    """Rank each row's scores, 1 = highest; NaN (unranked ICSs) stays NaN.

    Ties take the lowest rank of the tied group (``min``, as the deterministic composite)
    or the mean of their positions (``average``):
    :func:`~ics_model.composite.methods.rank_along`, descending, one ``argsort`` per call.
    """
    if ties not in ("min", "average"):
        raise UncertaintyError(f"unknown ties {ties!r} (min, average)")
    return rank_along(np.atleast_2d(np.asarray(scores, dtype=float)), ties, descending=True)


def rescale_0_100(scores: np.ndarray) -> np.ndarray:
    """Min-max each row's scores onto [0, 100] over its scored ICSs (50 if all equal)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.min(np.where(np.isnan(scores), np.inf, scores), axis=1, keepdims=True)
        hi = np.max(np.where(np.isnan(scores), -np.inf, scores), axis=1, keepdims=True)
        out = (scores - lo) / (hi - lo) * 100.0
    return np.where(np.isnan(scores), np.nan, np.where(hi > lo, out, 50.0))


# --------------------------------------------------------------------------- public kernels


def score_draws(
    normalised: np.ndarray,
    w_ind: np.ndarray,
    w_pil: np.ndarray,
    pillar_of: np.ndarray,
    *,
    aggregation: str = "arithmetic",
    p: float = 1.0,
    pillar_methods: Sequence[str | None] | None = None,
    ties: Ties = "min",
    chunk_size: int = 10_000,
) -> DrawScores:
    """Scores and ranks for given weight draws on one normalised matrix.

    Parameters
    ----------
    normalised : ``n_ics x n_indicators`` (e.g. :func:`~ics_model.composite.normalised_array`).
    w_ind : ``draws x n_indicators`` indicator weights (any scale: the means divide by
        their sum within each pillar).
    w_pil : ``draws x n_pillars`` or one vector of pillar weights.
    pillar_of : pillar index of each indicator.
    aggregation : aggregation across pillars and, unless ``pillar_methods`` says otherwise,
        within them (a name in :data:`~ics_model.composite.methods.AGGREGATORS`).
    p : exponent of the generalised mean.
    pillar_methods : optional per-pillar aggregation (``None`` entries = ``aggregation``).
    ties : ``min`` or ``average`` (see :func:`rank_rows`).
    chunk_size : draws evaluated at once (bounds memory).
    """
    values = np.asarray(normalised, dtype=float)
    pillar_of = np.asarray(pillar_of, dtype=np.intp)
    w_ind = draw_weights(w_ind, values.shape[-1], "indicator", UncertaintyError)
    w_pil = np.asarray(w_pil, dtype=float)
    n_pil = w_pil.shape[-1]
    w_pil = np.broadcast_to(w_pil, (w_ind.shape[0], n_pil)) if w_pil.ndim == 1 else w_pil
    draw_weights(w_pil, n_pil, "pillar", UncertaintyError)
    try:
        methods = resolve_methods(aggregation, pillar_methods, n_pil)
    except CompositeError as exc:
        raise UncertaintyError(str(exc)) from None
    for q, m in enumerate(methods):
        check_domain(values[:, pillar_of == q], m, p, f"pillar {q}")
    scores = np.empty((w_ind.shape[0], values.shape[0]))
    ranks = np.empty_like(scores)
    for start in range(0, w_ind.shape[0], chunk_size):
        sl = slice(start, start + chunk_size)
        scores[sl] = aggregate(
            values, w_ind[sl], w_pil[sl], pillar_of, methods, aggregation, p
        ).score
        ranks[sl] = rank_rows(scores[sl], ties)
    return DrawScores(scores, ranks)


def weight_monte_carlo(
    normalised: np.ndarray,
    w_ind: Sequence[float] | np.ndarray,
    w_pil: Sequence[float] | np.ndarray,
    pillar_of: Sequence[int] | np.ndarray,
    *,
    draws: int,
    seed: int,
    method: WeightMethod = "dirichlet",
    concentration: float = 50.0,
    spread: float = 0.25,
    aggregation: str = "arithmetic",
    p: float = 1.0,
    ties: Ties = "min",
    chunk_size: int = 10_000,
) -> DrawScores:
    """Weight-only Monte Carlo: ``draws`` weight vectors around the configured ones.

    Chunk :math:`i` draws its weights from ``SeedSequence(seed).spawn(n_chunks)[i]``
    (stream ``weights``), exactly as :func:`~ics_model.uncertainty.run_uncertainty`
    does, so the two agree draw for draw for the same seed and ``chunk_size``.
    See :func:`weight_draws` and :func:`score_draws`.
    """
    pillar_of = np.asarray(pillar_of, dtype=np.intp)
    parts = []
    seeds = chunk_seeds(seed, draws, chunk_size)
    for ss, size in zip(seeds, chunk_sizes(draws, chunk_size), strict=True):
        wi, wp = weight_draws(
            w_ind, w_pil, pillar_of, n=size, rng=stream(ss, "weights"), method=method,
            concentration=concentration, spread=spread,
        )  # fmt: skip
        kw = {"aggregation": aggregation, "p": p, "ties": ties, "chunk_size": size}
        parts.append(score_draws(normalised, wi, wp, pillar_of, **kw))
    return DrawScores(*(np.concatenate(x) for x in zip(*parts, strict=True)))


def quantiles_over_draws(x: np.ndarray, *, ranks: bool = False) -> np.ndarray:
    r"""Return the median, 5th and 95th percentiles of each column, ``3 x n_ics``.

    Each column of ``draws x n_ics`` over its non-NaN draws (linear interpolation, numpy's
    default, Hyndman & Fan 1996 type 7; NaN when none).

    With ``ranks=True`` (values: multiples of 1/2 in :math:`[1, n_{ics}]`, e.g. from
    :func:`rank_rows`) the values are counted instead of sorted: with :math:`N` draws, the
    order statistic :math:`x_{(j)}` is the smallest value whose cumulative count exceeds
    :math:`j`, and the quantile is :math:`x_{(\lfloor h \rfloor)} + (h - \lfloor h
    \rfloor)(x_{(\lfloor h \rfloor + 1)} - x_{(\lfloor h \rfloor)})`, :math:`h = (N - 1)p`.
    """
    probs = np.array([0.5, 0.05, 0.95])
    n_cols = x.shape[1]
    out = np.full((3, n_cols), np.nan)
    if ranks:
        m = 2 * n_cols + 2
        twice = 2.0 * x
        missing = np.isnan(twice)
        if missing.all():
            return out
        if missing.any():
            twice = np.where(missing, m - 1, twice)  # a spare bin, dropped below
        if not (twice.min() >= 2 and twice.max(where=~missing, initial=0) <= 2 * n_cols):
            raise UncertaintyError(f"ranks must lie in [1, {n_cols}]")
        idx = twice.astype(np.int64) + m * np.arange(n_cols)
        counts = np.bincount(idx.ravel(), minlength=m * n_cols).reshape(n_cols, m)[:, :-1]
        cum = np.cumsum(counts, axis=1)
        n = cum[:, -1]
        for i, p in enumerate(probs):
            h = (n - 1) * p
            lo = np.floor(h)
            hi = np.minimum(lo + 1, n - 1)
            x_lo = (cum > lo[:, None]).argmax(axis=1) / 2.0
            x_hi = (cum > hi[:, None]).argmax(axis=1) / 2.0
            out[i] = np.where(n > 0, x_lo + (h - lo) * (x_hi - x_lo), np.nan)
        return out
    cols = ~np.isnan(x).all(axis=0)
    if cols.any():
        out[:, cols] = np.nanquantile(x[:, cols], probs, axis=0)
    return out


def rank_summary(ranks: np.ndarray, icb_codes: Sequence[str]) -> pl.DataFrame:
    """Per ICS: ``icb_code``, ``rank_median``, ``rank_p05``, ``rank_p95`` over draws.

    Quantiles by linear interpolation (numpy's default, Hyndman & Fan 1996 type 7),
    over the draws in which the ICS is ranked (null when never).
    """
    q = quantiles_over_draws(ranks, ranks=True)
    return pl.DataFrame(
        {"icb_code": list(icb_codes), "rank_median": q[0], "rank_p05": q[1], "rank_p95": q[2]}
    ).with_columns(pl.col(pl.Float64).fill_nan(None))


__all__ = [
    "STREAMS",
    "DrawScores",
    "check_domain",
    "chunk_seeds",
    "chunk_sizes",
    "pillar_scores",
    "quantiles_over_draws",
    "rank_rows",
    "rank_summary",
    "rescale_0_100",
    "score_draws",
    "stream",
    "weight_draws",
    "weight_monte_carlo",
]
