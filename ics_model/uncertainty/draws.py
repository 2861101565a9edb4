r"""Vectorised Monte Carlo draws of a composite: weights, scores, ranks.

Everything here works on numpy arrays for many draws at once (no per-draw polars
pipeline), following the JRC/OECD *Handbook on Constructing Composite Indicators* (2008),
step 7, and Saisana, Saltelli & Tarantola (2005), *J. R. Stat. Soc. A* 168(2), 307-323.

Scores
------
Every registered mean is a quasi-arithmetic mean :math:`M_f(x; w) = f^{-1}\big(\sum_i w_i
f(x_i) / \sum_i w_i\big)` with :math:`f(x) = x` (arithmetic), :math:`\ln x` (geometric),
:math:`1/x` (harmonic) or :math:`x^p` (generalised). With missing values dropped and the
weights renormalised per ICS (``skip_reweight``), the pillar score of ICS :math:`c` in
draw :math:`d` is

.. math::

    P_{dcq} = f_q^{-1}\!\left(\frac{\sum_{i \in q} w_{di}\, o_{ci}\, f_q(y_{ci})}
                                 {\sum_{i \in q} w_{di}\, o_{ci}}\right)

(:math:`o_{ci}` = 1 when observed): numerator and denominator are matrix products of the
draws x indicators weights with the ICS x indicators values, so 100,000 draws cost two
small BLAS calls per pillar. The composite :math:`S_{dc}` is the same mean of the pillar
scores with the pillar weights. This equals
:func:`~ics_model.composite.build.aggregate_arrays` (to rounding), which is used for any
other registered aggregation. The provider bootstrap is in
:mod:`~ics_model.uncertainty.bootstrap`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, Literal, NamedTuple

import numpy as np
import polars as pl

from ics_model.composite.build import aggregate_arrays
from ics_model.composite.methods import AGGREGATORS, domain_violations
from ics_model.uncertainty.spec import UncertaintyError

Ties = Literal["min", "average"]
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
    """The generator of one assumption (:data:`STREAMS`) within a chunk.

    Equal to ``default_rng(ss.spawn(4)[STREAMS[name]])`` but without mutating ``ss``, so
    switching one assumption on or off leaves the others' draws unchanged (common random
    numbers across settings).
    """
    key = (*ss.spawn_key, STREAMS[name])
    return np.random.default_rng(np.random.SeedSequence(ss.entropy, spawn_key=key))


# --------------------------------------------------------------------------- weights


def _group_sums(w: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Each entry's group total, row by row (``w``: rows x members)."""
    onehot = np.zeros((group.size, n_groups))
    onehot[np.arange(group.size), group] = 1.0
    return (w @ onehot)[..., group]


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
        sums = _group_sums(nominal, group, n_groups)
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
        sums = _group_sums(w, group, n_groups)
        # a group whose gamma draws all underflowed to 0 (tiny concentrations): configured
        out.append(np.where(sums > 0, w / np.where(sums > 0, sums, 1.0), base))
    return out[0], out[1]


# --------------------------------------------------------------------------- aggregation


def _generator(method: str, p: float) -> tuple[Callable | None, Callable | None] | None:
    """``(f, f_inverse)`` of a quasi-arithmetic mean (``None, None`` = identity), or None."""
    if method == "generalised":
        if p == 0:
            method = "geometric"
        elif p == 1:
            method = "arithmetic"
        else:
            return (lambda x: np.power(x, p), lambda m: np.power(m, 1.0 / p))
    return {
        "arithmetic": (None, None),
        "geometric": (np.log, np.exp),
        "harmonic": (np.reciprocal, np.reciprocal),
    }.get(method)


def check_domain(values: np.ndarray, method: str, p: float, what: str) -> None:
    """Raise :class:`UncertaintyError` when ``values`` are outside ``method``'s domain."""
    domain = AGGREGATORS[method].domain(p)
    bad = domain_violations(values, domain)
    if bad.any():
        raise UncertaintyError(
            f"{what}: {method} aggregation needs {domain} normalised values, got "
            f"{np.asarray(values)[bad].ravel()[:3].tolist()}; normalise onto a positive "
            "range (e.g. composite normalise_range [1, 100]) or drop the alternative"
        )


def _qmean(
    f: Callable | None,
    finv: Callable | None,
    values: np.ndarray,
    obs: np.ndarray,
    w: np.ndarray,
) -> np.ndarray:
    """Weighted quasi-arithmetic mean over the last axis of ``values`` for each weight row.

    ``values``/``obs``: ``n x k`` (shared by all draws) or ``d x n x k``; ``w``: ``d x k``.
    """
    full = bool(obs.all())  # nothing missing: the denominators are the weight sums
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fx = values if f is None else f(values)
        fx = fx if full else np.where(obs, fx, 0.0)
        if values.ndim == 2:
            num = w @ fx.T
            den = w.sum(axis=1, keepdims=True) if full else w @ obs.T.astype(float)
        else:
            num = np.einsum("dnk,dk->dn", fx, w)
            o = obs.astype(float)
            den = w.sum(axis=1)[:, None] if full else np.einsum("dnk,dk->dn", o, w)
        m = num / den
        m = m if finv is None else finv(m)
    if full and (den > 0).all():
        return m
    return np.where(den > 0, m, np.nan)


def score_arrays(
    values: np.ndarray,
    w_ind: np.ndarray,
    w_pil: np.ndarray,
    pillar_of: np.ndarray,
    methods: Sequence[str],
    overall: str,
    p: float = 1.0,
) -> np.ndarray:
    r"""Composite scores of many weight draws (module formula), ``draws x n_ics``.

    Parameters
    ----------
    values : normalised ``n_ics x n_indicators`` (one matrix for every draw) or
        ``draws x n_ics x n_indicators`` (bootstrap draws); NaN = missing (dropped, the
        weights renormalised per ICS).
    w_ind, w_pil : ``draws x n_indicators`` and ``draws x n_pillars`` weights.
    pillar_of : pillar index of each indicator.
    methods : aggregation within each pillar; ``overall`` across pillars.
    p : exponent of the generalised mean.

    Values must be in each mean's domain (see :func:`check_domain`). Aggregations that are
    not quasi-arithmetic means fall back to
    :func:`~ics_model.composite.build.aggregate_arrays` (slower).
    """
    pillar_of = np.asarray(pillar_of, dtype=np.intp)
    gen = _generator(overall, p)
    if gen is None or any(_generator(m, p) is None for m in methods):
        return _score_fallback(values, w_ind, w_pil, pillar_of, methods, overall, p)
    linear = gen == (None, None) and all(_generator(m, p) == (None, None) for m in methods)
    if linear and not np.isnan(values).any():
        # arithmetic at both levels, nothing missing: S = sum_i W_q(i) w_i y_i (normalised
        # weights), one matrix product with the composite weights of each draw
        within = _group_sums(w_ind, pillar_of, w_pil.shape[1])
        total = w_pil.sum(axis=1, keepdims=True)
        if (within > 0).all() and (total > 0).all():
            eff = w_ind / within * (w_pil / total)[:, pillar_of]
            return eff @ values.T if values.ndim == 2 else np.einsum("dk,dnk->dn", eff, values)
    pillar = pillar_scores(values, w_ind, pillar_of, methods, p)
    if pillar.shape[-1] == 1 and (w_pil > 0).all():  # one pillar: M(P; w) = P
        return pillar[..., 0]
    return _qmean(*gen, pillar, ~np.isnan(pillar), w_pil)


def pillar_scores(
    values: np.ndarray,
    w_ind: np.ndarray,
    pillar_of: np.ndarray,
    methods: Sequence[str],
    p: float = 1.0,
) -> np.ndarray:
    """Pillar scores :math:`P_{dcq}` (module formula), ``draws x n_ics x n_pillars``, for
    quasi-arithmetic means (arguments as :func:`score_arrays`)."""
    obs = ~np.isnan(values)
    pillar = np.empty((w_ind.shape[0], values.shape[-2], len(methods)))
    for q, method in enumerate(methods):
        gen = _generator(method, p)
        if gen is None:
            raise UncertaintyError(f"{method} is not a quasi-arithmetic mean")
        cols = np.flatnonzero(np.asarray(pillar_of) == q)
        pillar[..., q] = _qmean(*gen, values[..., cols], obs[..., cols], w_ind[:, cols])
    return pillar


def _score_fallback(values, w_ind, w_pil, pillar_of, methods, overall, p) -> np.ndarray:
    if values.ndim == 2:
        return aggregate_arrays(values, w_ind, w_pil, pillar_of, overall, p, pillar_methods=methods)
    rows = [
        aggregate_arrays(v, w_ind[i], w_pil[i], pillar_of, overall, p, pillar_methods=methods)[0]
        for i, v in enumerate(values)
    ]
    return np.stack(rows)


# --------------------------------------------------------------------------- ranks


def rank_rows(scores: np.ndarray, ties: Ties = "min") -> np.ndarray:
    """Rank each row's scores, 1 = highest; NaN (unranked ICSs) stays NaN. Ties take the
    lowest rank of the tied group (``min``, as the deterministic composite) or the mean of
    their positions (``average``).

    Vectorised: one ``argsort`` per call; tied groups are found in sorted order and
    their first (``min``) or mean (``average``) position is scattered back (without
    ties or NaN, the sorted positions are scattered back directly).
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    d, n = scores.shape
    neg = -scores
    order = np.argsort(neg, axis=1)  # NaN last
    s = np.take_along_axis(neg, order, axis=1)
    pos = np.broadcast_to(np.arange(1, n + 1, dtype=float), (d, n))
    new = np.ones((d, n), dtype=bool)
    np.not_equal(s[:, 1:], s[:, :-1], out=new[:, 1:])
    out = np.empty((d, n))
    if new.all() and not np.isnan(s[:, -1]).any():  # no ties, nothing missing
        np.put_along_axis(out, order, pos, axis=1)
        return out
    first = np.maximum.accumulate(np.where(new, pos, 0.0), axis=1)
    if ties == "average":
        last_of = np.ones((d, n), dtype=bool)
        last_of[:, :-1] = new[:, 1:]
        end = np.where(last_of, pos, np.inf)[:, ::-1]
        last = np.minimum.accumulate(end, axis=1)[:, ::-1]
        ranked = (first + last) / 2.0
    elif ties == "min":
        ranked = first
    else:
        raise UncertaintyError(f"unknown ties {ties!r} (min, average)")
    np.put_along_axis(out, order, np.where(np.isnan(s), np.nan, ranked), axis=1)
    return out


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
    aggregation, p, pillar_methods : as :func:`~ics_model.composite.aggregate_arrays`.
    ties : ``min`` or ``average`` (see :func:`rank_rows`).
    chunk_size : draws evaluated at once (bounds memory).
    """
    values = np.asarray(normalised, dtype=float)
    pillar_of = np.asarray(pillar_of, dtype=np.intp)
    w_ind = np.atleast_2d(np.asarray(w_ind, dtype=float))
    w_pil = np.asarray(w_pil, dtype=float)
    n_pil = w_pil.shape[-1]
    w_pil = np.broadcast_to(w_pil, (w_ind.shape[0], n_pil)) if w_pil.ndim == 1 else w_pil
    methods = [m or aggregation for m in (pillar_methods or [None] * n_pil)]
    for q, m in enumerate(methods):
        check_domain(values[:, pillar_of == q], m, p, f"pillar {q}")
    for w, what in ((w_ind, "indicator"), (w_pil, "pillar")):
        if not np.isfinite(w).all() or (w < 0).any():
            raise UncertaintyError(f"{what} weights must be finite and non-negative")
    scores = np.empty((w_ind.shape[0], values.shape[0]))
    ranks = np.empty_like(scores)
    for start in range(0, w_ind.shape[0], chunk_size):
        sl = slice(start, start + chunk_size)
        scores[sl] = score_arrays(values, w_ind[sl], w_pil[sl], pillar_of, methods, aggregation, p)
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
    r"""``3 x n_ics``: median, 5th and 95th percentiles of each column of ``draws x n_ics``
    over its non-NaN draws (linear interpolation, numpy's default, Hyndman & Fan 1996
    type 7; NaN when none).

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
    "score_arrays",
    "score_draws",
    "stream",
    "weight_draws",
    "weight_monte_carlo",
]
