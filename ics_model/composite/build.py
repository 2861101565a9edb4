r"""Build a composite: normalised arrays, aggregation, correlations.

The steps follow the JRC/OECD *Handbook on Constructing Composite Indicators* (2008):
data selection (step 2, :func:`~ics_model.composite.matrix.indicator_matrix`, in
:mod:`~ics_model.composite.matrix`), missing data and outliers (step 3),
multivariate analysis (step 4, :func:`correlations`), normalisation (step 5), weighting
and aggregation (step 6, :func:`composite`). The aggregation is the kernel of
:mod:`~ics_model.composite.kernel` evaluated with one draw, the configured weights, in
its effective-weights form (the same kernel evaluates the Monte Carlo draws of step 7).
COINr (Becker et al. 2022, *JOSS* 7(78), 4567) is the reference implementation of the
same steps in R.

Aggregation is two-level. For ICS :math:`c`, pillar :math:`q` with indicators
:math:`i \in q` observed for :math:`c`:

.. math::

    P_{cq} = M_q\big(\{y_{ci}\}, \{w_i / \textstyle\sum_{j \in q,\,obs} w_j\}\big), \qquad
    S_c = M\big(\{P_{cq}\}, \{W_q / \textstyle\sum_{r,\,obs} W_r\}\big)

with :math:`y` the normalised values, :math:`M_q`, :math:`M` weighted means from
:data:`~ics_model.composite.methods.AGGREGATORS` and :math:`w`, :math:`W` the indicator
and pillar weights. Every composite is a *modelled* construct: no official ICS ratings exist.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import polars as pl

from ics_model.composite.contracts import COMPOSITE_WEIGHTS, CORRELATIONS
from ics_model.composite.kernel import (
    Aggregated,
    aggregate,
    draw_weights,
)
from ics_model.composite.matrix import INCOMPLETE
from ics_model.composite.methods import (
    AGGREGATORS,
    BOUNDED_NORMALISERS,
    MISSING_POLICIES,
    NORMALISERS,
    TRANSFORMS,
    CompositeError,
    average_ranks,
    domain_violations,
)
from ics_model.composite.spec import LABEL, CompositeSpec
from ics_model.ratings import short_icb_name

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- arrays


class NormalisedArrays(NamedTuple):
    """Normalised ICS x indicator values (NaN = missing), indicator names, pillar index."""

    values: np.ndarray
    indicators: list[str]
    pillar_of: np.ndarray


@dataclass(frozen=True)
class _Prepared:
    codes: list[str]
    names: list[str]
    pillar_of: np.ndarray
    raw: np.ndarray
    filled: np.ndarray
    transformed: np.ndarray
    normalised: np.ndarray
    notes: list[str | None]


def _raw(matrix: pl.DataFrame, spec: CompositeSpec) -> tuple[list[str], list[str], np.ndarray]:
    names = [i.name for _, i in spec.indicators]
    absent = [n for n in names if n not in matrix.columns]
    if absent:
        raise CompositeError(f"indicator(s) {absent} not in the matrix (build it with the spec)")
    if "icb_code" not in matrix.columns:
        raise CompositeError("the indicator matrix needs an icb_code column")
    raw = matrix.select(pl.col(n).cast(pl.Float64).fill_null(np.nan) for n in names)
    return matrix["icb_code"].to_list(), names, raw.to_numpy().reshape(matrix.height, len(names))


def _transform_and_orient(values: np.ndarray, spec: CompositeSpec) -> tuple[np.ndarray, np.ndarray]:
    """Return the transformed values and the same with lower-is-better indicators negated."""
    transformed = np.empty_like(values)
    for j, (_, ind) in enumerate(spec.indicators):
        transformed[:, j] = TRANSFORMS[ind.transform_name](
            values[:, j], indicator=ind.name, quantiles=ind.winsorise
        )
    sign = np.array([-1.0 if i.direction == "lower_is_better" else 1.0 for _, i in spec.indicators])
    return transformed, transformed * sign


def _prepare(matrix: pl.DataFrame, spec: CompositeSpec) -> _Prepared:
    codes, names, raw = _raw(matrix, spec)
    pillars = list(spec.pillars)
    pillar_of = np.array([pillars.index(p) for p, _ in spec.indicators], dtype=np.intp)
    filled, notes = MISSING_POLICIES[spec.missing](raw, names, codes)
    transformed, oriented = _transform_and_orient(filled, spec)
    normalised = np.empty_like(oriented)
    for j, (pillar, ind) in enumerate(spec.indicators):
        gp = None
        if ind.goalposts is not None:
            gp = (ind.goalposts.lower, ind.goalposts.upper)
            if ind.direction == "lower_is_better":  # reflect: (U - x) / (U - L)
                gp = (-gp[1], -gp[0])
        rng = spec.normalise_range if ind.normalise in BOUNDED_NORMALISERS else (0.0, 100.0)
        normalised[:, j] = NORMALISERS[ind.normalise](oriented[:, j], out_range=rng, goalposts=gp)
        method = spec.pillar_aggregation(pillar)
        domain = AGGREGATORS[method].domain(spec.p)
        bad = np.flatnonzero(domain_violations(normalised[:, j], domain))
        if bad.size:
            shown = ", ".join(f"{codes[i]}={normalised[i, j]:g}" for i in bad[:5])
            raise CompositeError(
                f"indicator {ind.name!r} (pillar {pillar!r}): {method} aggregation needs "
                f"{domain} normalised values, but {ind.normalise} gives {shown}"
                f"{' ...' if bad.size > 5 else ''}; normalise onto a positive range "
                "(normalise: minmax, percentile_rank or goalposts with "
                "normalise_range: [1, 100])"
            )
    return _Prepared(codes, names, pillar_of, raw, filled, transformed, normalised, notes)


def normalised_array(matrix: pl.DataFrame, spec: CompositeSpec) -> NormalisedArrays:
    """Missing-data policy, transforms, directions and normalisers applied to the matrix.

    Returns
    -------
    NormalisedArrays
        ``(values, indicators, pillar_of)``: ``values`` is ``n_ics x n_indicators`` (NaN =
        missing, kept by ``skip_reweight``), rows in the matrix's order; ``pillar_of[j]``
        is the index in ``spec.pillars`` of indicator ``j``'s pillar. Raises
        :class:`CompositeError` when a value is outside what the pillar's aggregation
        accepts (e.g. a zero for a geometric mean), naming the indicator.
    """
    prep = _prepare(matrix, spec)
    return NormalisedArrays(prep.normalised, prep.names, prep.pillar_of)


def _check_pillar_domain(pillar: np.ndarray, overall: str, p: float, names: Sequence[str]) -> None:
    """Raise :class:`CompositeError` naming the first pillar ``overall`` cannot take."""
    domain = AGGREGATORS[overall].domain(p)
    bad = domain_violations(pillar, domain)
    if bad.any():
        q = int(np.nonzero(bad)[-1][0])
        raise CompositeError(
            f"pillar {names[q]!r}: {overall} aggregation across pillars needs "
            f"{domain} pillar scores; normalise onto a positive "
            "range (normalise_range: [1, 100]) or change the pillar's aggregation"
        )


def _aggregate(
    normalised: np.ndarray,
    w_ind: np.ndarray,
    w_pil: np.ndarray,
    pillar_of: np.ndarray,
    methods: Sequence[str],
    overall: str,
    p: float,
    pillar_names: Sequence[str],
) -> Aggregated:
    """Run the kernel with effective weights, its inputs and the pillar scores checked."""
    k = normalised.shape[1]
    w_ind = draw_weights(w_ind, k, "indicator", CompositeError)
    w_pil = draw_weights(w_pil, len(methods), "pillar", CompositeError)
    agg = aggregate(normalised, w_ind, w_pil, pillar_of, methods, overall, p, renormalise=True)
    _check_pillar_domain(agg.pillar, overall, p, pillar_names)
    return agg


# --------------------------------------------------------------------------- composite


@dataclass(frozen=True)
class CompositeResult:
    """A built composite.

    Attributes
    ----------
    scores : per ICS: ``icb_code``, ``icb_name``, ``score``, ``score_0_100`` (min-max of
        the score across ICSs), ``rank`` (1 = best, ties share the lowest rank),
        ``pillar_<name>`` per pillar, ``affected`` (imputed/skipped indicators and
        skipped pillars, indicators from an incomplete source; null when none) and
        ``coverage`` (the share of the nominal composite weight carried by the ICS's
        observed, not imputed, indicators whose source is complete: :func:`coverage`).
    indicators : long, per ICS x indicator: ``icb_code``, ``pillar``, ``indicator``,
        ``raw``, ``transformed``, ``normalised``, ``weight_in_pillar`` and
        ``weight_in_composite`` (effective, after reweighting), ``contribution`` (=
        ``weight_in_composite x normalised``: sums to the score when both levels are
        arithmetic), ``status`` (observed / incomplete (observed, but its source misses a
        major provider of the ICS) / imputed / skipped).
    pillars : long, per ICS x pillar: ``icb_code``, ``pillar``, ``score``, ``weight``
        (effective), ``contribution`` (= ``weight x score``).
    weights : ``level`` (pillar / indicator), ``name``, ``pillar``, ``weight_given``,
        ``weight_normalised`` (within the pillar for indicators), ``weight_in_composite``.
    spec : the validated spec.
    label : "modelled composite (no official ICS ratings exist)".
    """

    scores: pl.DataFrame
    indicators: pl.DataFrame
    pillars: pl.DataFrame
    weights: pl.DataFrame
    spec: CompositeSpec
    label: str = LABEL


def weights_frame(spec: CompositeSpec) -> pl.DataFrame:
    """Given and normalised weights of the pillars and indicators of ``spec``."""
    total = sum(p.weight for p in spec.pillars.values())
    rows = []
    for name, pillar in spec.pillars.items():
        wp = pillar.weight / total
        rows.append(("pillar", name, name, pillar.weight, wp, wp))
        within = sum(i.weight for i in pillar.indicators)
        for ind in pillar.indicators:
            wi = ind.weight / within
            rows.append(("indicator", ind.name, name, ind.weight, wi, wp * wi))
    return pl.DataFrame(rows, schema=COMPOSITE_WEIGHTS.schema, orient="row")


def incomplete_mask(matrix: pl.DataFrame, spec: CompositeSpec) -> np.ndarray:
    """``n_ics x n_indicators``: True where the value's source misses a major provider.

    Read from the matrix's ``incomplete`` list column
    (:data:`~ics_model.composite.matrix.INCOMPLETE`); all False when the matrix has none
    (a matrix not built by :func:`~ics_model.composite.matrix.indicator_matrix`).
    """
    names = [i.name for _, i in spec.indicators]
    if INCOMPLETE not in matrix.columns:
        return np.zeros((matrix.height, len(names)), dtype=bool)
    lists = matrix[INCOMPLETE].to_list()
    return np.array([[n in (row or ()) for n in names] for row in lists], dtype=bool).reshape(
        matrix.height, len(names)
    )


def coverage(matrix: pl.DataFrame, spec: CompositeSpec) -> np.ndarray:
    r"""Each ICS's coverage: the nominal weight of its observed, complete indicators.

    .. math::

        \mathrm{coverage}_c = \sum_i \tilde w_i \, 1[y_{ci} \text{ observed}] \,
        1[\text{source of } y_{ci} \text{ complete}],

    with :math:`\tilde w_i` the nominal share of indicator :math:`i` in the composite
    (pillar weight x weight within the pillar, normalised). An indicator whose source
    misses a major provider of the ICS (:func:`incomplete_mask`) still enters the score
    but carries no coverage. An ICS below ``spec.min_coverage`` is not ranked.
    """
    _, _, raw = _raw(matrix, spec)
    nominal = weights_frame(spec).filter(pl.col("level") == "indicator")["weight_in_composite"]
    counted = ~np.isnan(raw) & ~incomplete_mask(matrix, spec)
    return counted @ nominal.to_numpy()


def _affected(
    notes: list[str | None],
    pillar: np.ndarray,
    pillars: list[str],
    incomplete: np.ndarray,
    names: list[str],
) -> list[str | None]:
    out = []
    for i, note in enumerate(notes):
        skipped = [pillars[q] for q in np.flatnonzero(np.isnan(pillar[i]))]
        parts = [note] if note else []
        if incomplete[i].any():
            parts.append(
                "incomplete source (a major provider missing, or residents covered in part; "
                "see the metric's note): "
                + ", ".join(n for n, hit in zip(names, incomplete[i], strict=True) if hit)
            )
        if skipped:
            parts.append("pillar skipped: " + ", ".join(skipped))
        out.append("; ".join(parts) or None)
    return out


def composite(matrix: pl.DataFrame, spec: CompositeSpec) -> CompositeResult:
    """Build the composite of ``spec`` on an :func:`~ics_model.composite.matrix.indicator_matrix`.

    Missing data (policy ``spec.missing``), transforms, directions, normalisation
    (JRC/OECD Handbook 2008 steps 3 and 5) and the two-level weighted aggregation of the
    module docstring (step 6). See :class:`CompositeResult` for the outputs.
    """
    prep = _prepare(matrix, spec)
    pillars = list(spec.pillars)
    w_ind = np.array([i.weight for _, i in spec.indicators])
    w_pil = np.array([p.weight for p in spec.pillars.values()])
    methods = [spec.pillar_aggregation(p) for p in pillars]
    agg = _aggregate(
        prep.normalised, w_ind, w_pil, prep.pillar_of, methods, spec.aggregation, spec.p, pillars
    )
    score, pillar, w_p, w_in = agg.score[0], agg.pillar[0], agg.w_pillar[0], agg.w_in_pillar[0]
    incomplete = incomplete_mask(matrix, spec)
    affected = _affected(prep.notes, pillar, pillars, incomplete, prep.names)
    covered = coverage(matrix, spec)
    names = (
        matrix["icb_name"] if "icb_name" in matrix.columns else pl.Series([None] * matrix.height)
    )
    scores = pl.DataFrame(
        {
            "icb_code": prep.codes,
            "icb_name": names.cast(pl.String),
            "score": score,
            **{f"pillar_{p}": pillar[:, q] for q, p in enumerate(pillars)},
            "affected": pl.Series(affected, dtype=pl.String),
            "coverage": covered,
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))
    lo, hi = scores["score"].min(), scores["score"].max()
    rescaled = (
        (pl.col("score") - lo) / (hi - lo) * 100.0 if hi is not None and hi > lo else pl.lit(50.0)
    )
    low = pl.col("coverage") < spec.min_coverage
    scores = scores.with_columns(
        pl.when(low).then(None).otherwise(pl.col("score")).alias("score"),
        pl.when(low)
        .then(
            pl.concat_str(
                pl.col("affected"),
                pl.format(
                    "not ranked: observed indicators from complete sources carry {} of the "
                    "weight (min_coverage {})",
                    pl.col("coverage").round(2),
                    pl.lit(spec.min_coverage),
                ),
                separator="; ",
                ignore_nulls=True,
            )
        )
        .otherwise(pl.col("affected"))
        .alias("affected"),
    )
    lo, hi = scores["score"].min(), scores["score"].max()
    rescaled = (
        (pl.col("score") - lo) / (hi - lo) * 100.0 if hi is not None and hi > lo else pl.lit(50.0)
    )
    scores = scores.with_columns(
        pl.when(pl.col("score").is_not_null()).then(rescaled).alias("score_0_100"),
        pl.col("score").rank("min", descending=True).cast(pl.Int64).alias("rank"),
    ).select(
        "icb_code",
        "icb_name",
        "score",
        "score_0_100",
        "rank",
        *[f"pillar_{p}" for p in pillars],
        "affected",
        "coverage",
    )

    n, k = prep.normalised.shape
    w_comp = w_p[:, prep.pillar_of] * w_in
    missing = np.isnan(prep.raw)
    status = np.where(
        ~missing,
        np.where(incomplete, "incomplete", "observed"),
        "imputed" if spec.missing == "impute_median" else "skipped",
    )
    indicators = pl.DataFrame(
        {
            "icb_code": np.repeat(prep.codes, k),
            "pillar": np.tile([pillars[q] for q in prep.pillar_of], n),
            "indicator": np.tile(prep.names, n),
            "raw": prep.raw.ravel(),
            "transformed": prep.transformed.ravel(),
            "normalised": prep.normalised.ravel(),
            "weight_in_pillar": w_in.ravel(),
            "weight_in_composite": w_comp.ravel(),
            "contribution": (w_comp * prep.normalised).ravel(),
            "status": status.ravel(),
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))
    pillar_frame = pl.DataFrame(
        {
            "icb_code": np.repeat(prep.codes, len(pillars)),
            "pillar": np.tile(pillars, n),
            "score": pillar.ravel(),
            "weight": w_p.ravel(),
            "contribution": (w_p * pillar).ravel(),
        }
    ).with_columns(pl.col(pl.Float64).fill_nan(None))

    _warn_missing(prep.codes, names.to_list(), affected)
    log.info("composite: %d ICSs, %d indicators, %d pillars", n, k, len(pillars))
    return CompositeResult(scores, indicators, pillar_frame, weights_frame(spec), spec)


_WARNED: set[str] = set()


def _warn_missing(codes: Sequence[str], names: Sequence[str | None], affected: Sequence) -> None:
    """Log the ICSs affected by missing data, grouped by what is missing, once per process.

    The same message again (e.g. a notebook building the composite several times) goes to
    the debug log; the per-ICS detail is always in the scores' ``affected`` column.
    """
    groups: dict[str, list[str]] = {}
    for code, name, what in zip(codes, names, affected, strict=True):
        if what:
            short = short_icb_name(name)
            groups.setdefault(what, []).append(f"{short} ({code})" if short else code)
    if not groups:
        return
    n = sum(len(v) for v in groups.values())
    parts = [f"{len(icss)} with {what} [{', '.join(icss)}]" for what, icss in groups.items()]
    message = f"composite: {n} ICSs affected by missing data (column affected): " + "; ".join(parts)
    level = logging.DEBUG if message in _WARNED else logging.WARNING
    _WARNED.add(message)
    log.log(level, message)


# --------------------------------------------------------------------------- correlations


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def correlations(
    matrix: pl.DataFrame, spec: CompositeSpec, *, high: float = 0.9, negative: float = 0.0
) -> pl.DataFrame:
    """Pairwise indicator correlations with flags (JRC/OECD Handbook 2008, step 4).

    Computed on the transformed values with directions applied (lower-is-better
    negated), over pairwise-complete ICSs, before any imputation. Spearman's rho is the
    Pearson correlation of average ranks. COINr ``get_corr`` / ``get_corr_flags``
    (Becker et al. 2022).

    Returns
    -------
    pl.DataFrame
        One row per indicator pair: ``indicator_a``, ``indicator_b``, ``pillar_a``,
        ``pillar_b``, ``n`` (pairwise-complete ICSs), ``pearson``, ``spearman`` (null with
        fewer than 3 pairs or a constant indicator), ``same_pillar``, ``flag_high``
        (``|pearson| > high``: possible double counting) and ``flag_negative_within_pillar``
        (Pearson correlation below ``-negative`` inside a pillar: the indicators trade
        off, which aggregation hides).
    """
    _, names, raw = _raw(matrix, spec)
    _, oriented = _transform_and_orient(raw, spec)
    pillar = [p for p, _ in spec.indicators]
    rows = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            ok = ~np.isnan(oriented[:, a]) & ~np.isnan(oriented[:, b])
            x, y = oriented[ok, a], oriented[ok, b]
            r = _pearson(x, y)
            rho = _pearson(average_ranks(x), average_ranks(y)) if x.size else None
            same = pillar[a] == pillar[b]
            rows.append(
                (
                    names[a],
                    names[b],
                    pillar[a],
                    pillar[b],
                    int(ok.sum()),
                    r,
                    rho,
                    same,
                    r is not None and abs(r) > high,
                    same and r is not None and r < -negative,
                )
            )
    return pl.DataFrame(rows, schema=CORRELATIONS.schema, orient="row")


__all__ = [
    "CompositeResult",
    "NormalisedArrays",
    "composite",
    "correlations",
    "coverage",
    "incomplete_mask",
    "normalised_array",
    "weights_frame",
]
