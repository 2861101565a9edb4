r"""Variance-based (Sobol') sensitivity indices of each ICS's rank and score, via SALib.

Each uncertain assumption is one input :math:`X_j \sim U(0, 1)`, a *trigger*
(Saisana, Saltelli & Tarantola 2005, section 3) mapped to a setting:

- a discrete choice among :math:`m` alternatives: :math:`\lfloor m X_j \rfloor`;
- the weights and the provider bootstrap: member :math:`\lfloor P X_j \rfloor` of a pool of
  :math:`P` seeded draws (a seeded mapping from :math:`[0, 1]` to weight vectors or
  bootstrap replicates; :math:`P` = ``sobol.pool``).

For an output :math:`Y` (an ICS's rank or score) the first-order and total indices are

.. math::

    S_j = \frac{V_{X_j}\big(E_{X_{\sim j}}(Y \mid X_j)\big)}{V(Y)}, \qquad
    S_{Tj} = \frac{E_{X_{\sim j}}\big(V_{X_j}(Y \mid X_{\sim j})\big)}{V(Y)},

estimated from Saltelli's design (matrices :math:`A`, :math:`B` and :math:`A_B^{(j)}`,
:math:`N(D + 2)` model runs) with the estimators of Saltelli et al. (2010), *Comput.
Phys. Commun.* 181(2), 259-270, table 2 (b) and (f) (Jansen's for :math:`S_{Tj}`), and
bootstrap confidence intervals, as SALib implements them (Herman & Usher 2017, *JOSS*
2(9), 97; Iwanaga, Usher & Herman 2022, *Socio-Environmental Systems Modelling* 4,
18155). :math:`S_j` is the share of the output's variance that assumption :math:`j`
explains alone; :math:`S_{Tj} - S_j` what it explains through interactions. JRC/OECD
*Handbook on Constructing Composite Indicators* (2008), step 7.

An output that does not vary has :math:`V(Y) = 0` and undefined indices (null).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import polars as pl

from ics_model.uncertainty.draws import (
    rescale_0_100,
    stream,
)

if TYPE_CHECKING:
    from ics_model.uncertainty.sampling import SamplingPlan
    from ics_model.uncertainty.spec import UncertaintySpec

log = logging.getLogger(__name__)

NATIONAL: Final = "ENGLAND"

#: the order of the assumptions (inputs) in every Sobol' problem.
ASSUMPTIONS: Final = ("weights", "normalisation", "aggregation", "bootstrap")

#: spawn key of the Sobol' streams (beyond any chunk index of the Monte Carlo).
SOBOL_KEY: Final = 2**32 - 1

SOBOL_COLUMNS: Final = (
    "icb_code",
    "icb_name",
    "output",
    "assumption",
    "S1",
    "S1_conf",
    "ST",
    "ST_conf",
)


def sobol_problem(assumptions: Sequence[str]) -> dict[str, Any]:
    """SALib problem: one :math:`U(0, 1)` trigger per assumption varied."""
    return {
        "num_vars": len(assumptions),
        "names": list(assumptions),
        "bounds": [[0.0, 1.0]] * len(assumptions),
    }


def sobol_design(
    problem: dict[str, Any], n: int, *, calc_second_order: bool, seed: int
) -> np.ndarray:
    """Saltelli's design on a scrambled Sobol' sequence (``SALib.sample.sobol.sample``).

    Returns ``N (D + 2) x D`` trigger values (``N (2D + 2) x D`` with second order).
    """
    from SALib.sample import sobol as sobol_sample

    return sobol_sample.sample(problem, n, calc_second_order=calc_second_order, seed=seed)


def trigger_index(u: np.ndarray, size: int) -> np.ndarray:
    r"""Map triggers :math:`u \in [0, 1]` to indices in equal-probability bins.

    Index :math:`\min(\lfloor u \cdot size \rfloor, size - 1)`.
    """
    return np.minimum((np.asarray(u) * size).astype(np.intp), size - 1)


def _analyse(
    problem: dict[str, Any],
    y: np.ndarray,
    *,
    calc_second_order: bool,
    num_resamples: int,
    seed: int,
) -> dict[str, np.ndarray] | None:
    from SALib.analyze import sobol as sobol_analyze

    if not np.isfinite(y).all() or np.ptp(y) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sobol_analyze.analyze(
            problem,
            y,
            calc_second_order=calc_second_order,
            num_resamples=num_resamples,
            conf_level=0.95,
            print_to_console=False,
            seed=seed,
        )
    return {k: np.asarray(res[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}


def sobol_indices(
    problem: dict[str, Any],
    outputs: dict[str, np.ndarray],
    icb_codes: Sequence[str],
    icb_names: Sequence[str | None],
    *,
    calc_second_order: bool,
    num_resamples: int,
    seed: int,
) -> pl.DataFrame:
    r"""First-order and total Sobol' indices per ICS, output and assumption.

    Parameters
    ----------
    problem : from :func:`sobol_problem`.
    outputs : output name (``rank``, ``score``) -> ``runs x n_ics`` model outputs in the
        order of :func:`sobol_design`'s rows (NaN columns = unranked ICSs).
    icb_codes, icb_names : the ICSs (columns of the outputs).
    calc_second_order : as the design.
    num_resamples : bootstrap resamples for the 95% confidence half-widths.
    seed : seed of the bootstrap.

    Returns
    -------
    pl.DataFrame
        :data:`SOBOL_COLUMNS`: one row per ICS x output x assumption (null indices
        where the output does not vary or the ICS is unranked), then national rows
        (``icb_code`` ``ENGLAND``): the mean over ICSs with defined indices; their
        ``*_conf`` is the mean of the ICSs' half-widths, an upper bound of the mean's
        half-width under a normal approximation (standard deviations are subadditive).
    """
    names = problem["names"]
    rows: list[tuple] = []
    national: list[tuple] = []
    for output, y in outputs.items():
        table = np.full((len(icb_codes), len(names), 4), np.nan)
        for c, code in enumerate(icb_codes):
            res = _analyse(
                problem,
                y[:, c],
                calc_second_order=calc_second_order,
                num_resamples=num_resamples,
                seed=seed,
            )
            if res is None:
                log.debug("sobol: %s %s does not vary; indices undefined", code, output)
            else:
                table[c] = np.stack([res[k] for k in ("S1", "S1_conf", "ST", "ST_conf")], -1)
            for j, name in enumerate(names):
                rows.append((code, icb_names[c], output, name, *table[c, j]))
        # np.nanmean without its empty-slice warning: NaN where no ICS has indices
        defined = np.count_nonzero(~np.isnan(table), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(table, axis=0) / defined
        for j, name in enumerate(names):
            national.append((NATIONAL, "England (mean over ICSs)", output, name, *mean[j]))
    schema = {
        "icb_code": pl.String,
        "icb_name": pl.String,
        "output": pl.String,
        "assumption": pl.String,
        "S1": pl.Float64,
        "S1_conf": pl.Float64,
        "ST": pl.Float64,
        "ST_conf": pl.Float64,
    }
    frame = pl.DataFrame(rows + national, schema=schema, orient="row")
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None))


class EvaluationContext(Protocol):
    """What :func:`sobol_analysis` reads from the run's evaluation context."""

    norm_labels: tuple[str, ...]
    agg_labels: tuple[str, ...]
    sampling: SamplingPlan | None

    def draw_weights(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` indicator and pillar weight draws."""
        ...


#: ``evaluate(ctx, w_ind, w_pil, norm_choice, agg_choice, raw) -> (scores, ranks)``.
Evaluate = Callable[..., tuple[np.ndarray, np.ndarray]]


def _choices(x: np.ndarray, col: dict[str, int], name: str, size: int) -> np.ndarray:
    """Return the indices selected by assumption ``name``'s trigger column (0 if not varied)."""
    if name not in col:
        return np.zeros(x.shape[0], dtype=np.intp)
    return trigger_index(x[:, col[name]], size)


def sobol_analysis(
    ctx: EvaluationContext,
    spec: UncertaintySpec,
    assumptions: Sequence[str],
    icb_codes: Sequence[str],
    icb_names: Sequence[str | None],
    *,
    evaluate: Evaluate,
) -> pl.DataFrame | None:
    """Design, evaluate and analyse: the Sobol' indices of a run (module docstring).

    The pools of weight draws and bootstrap replicates come from
    ``SeedSequence(seed, spawn_key=(SOBOL_KEY,))``, so they are reproducible and apart
    from the Monte Carlo draws. Model runs are evaluated in batches of ``chunk_size``
    with ``evaluate`` (the Monte Carlo's own, grouped by discrete choice). None when no
    assumption is varied.
    """
    if not assumptions:
        log.warning("uncertainty: sobol enabled but no assumption is varied; skipped")
        return None
    sob = spec.sobol
    root = np.random.SeedSequence(spec.seed, spawn_key=(SOBOL_KEY,))
    design_seed, analyse_seed = (int(v) for v in root.generate_state(2))
    problem = sobol_problem(assumptions)
    x = sobol_design(problem, sob.n, calc_second_order=sob.calc_second_order, seed=design_seed)
    col = {a: j for j, a in enumerate(assumptions)}
    pool_w, pool_p = ctx.draw_weights(sob.pool if "weights" in col else 1, stream(root, "weights"))
    idx_w = _choices(x, col, "weights", sob.pool)
    norm = _choices(x, col, "normalisation", len(ctx.norm_labels))
    agg = _choices(x, col, "aggregation", len(ctx.agg_labels))
    idx_b = _choices(x, col, "bootstrap", sob.pool)
    pool_b = None
    if ctx.sampling is not None:
        pool_b = ctx.sampling.draw(sob.pool, stream(root, "bootstrap"))
    runs = x.shape[0]
    scores, ranks = np.empty((runs, len(icb_codes))), np.empty((runs, len(icb_codes)))
    for start in range(0, runs, spec.chunk_size):
        sl = slice(start, start + spec.chunk_size)
        raw = None if pool_b is None else pool_b[idx_b[sl]]
        w_i, w_p = pool_w[idx_w[sl]], pool_p[idx_w[sl]]
        scores[sl], ranks[sl] = evaluate(ctx, w_i, w_p, norm[sl], agg[sl], raw)
    if spec.resolved_score_scale == "0_100":
        scores = rescale_0_100(scores)
    log.info("sobol: %d model runs over %s", runs, ", ".join(assumptions))
    return sobol_indices(
        problem,
        {"rank": ranks, "score": scores},
        icb_codes,
        icb_names,
        calc_second_order=sob.calc_second_order,
        num_resamples=sob.num_resamples,
        seed=analyse_seed,
    )


__all__ = [
    "ASSUMPTIONS",
    "NATIONAL",
    "SOBOL_COLUMNS",
    "SOBOL_KEY",
    "EvaluationContext",
    "sobol_analysis",
    "sobol_design",
    "sobol_indices",
    "sobol_problem",
    "trigger_index",
]
