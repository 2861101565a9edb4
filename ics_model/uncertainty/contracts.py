"""Contracts of the uncertainty analysis's output frames.

Per-ICS ranks, the assumptions varied, and the Sobol' indices.

Declared once here and checked at write time through
:func:`ics_model.output_contracts.check_outputs`. Scores are in the composite's units
(or 0-100, per ``score_scale``), so they carry no bounds; ranks start at 1 and
probabilities lie in [0, 1]. Sobol' first-order estimates may fall outside [0, 1] with
few model runs, so only their confidence half-widths and the total indices (a mean of
squares) are bounded below by 0.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract
from ics_model.data.ods import ICB_CODE_PATTERN
from ics_model.uncertainty.sobol import ASSUMPTIONS, NATIONAL

_ICB_OR_NATIONAL: Final = f"{ICB_CODE_PATTERN}|{NATIONAL}"
_ASSUMPTIONS: Final = frozenset(ASSUMPTIONS)
#: the outputs whose sensitivity is analysed
SOBOL_OUTPUTS: Final = frozenset({"rank", "score"})

UNCERTAINTY_PER_ICS: Final = Contract.closed(
    "uncertainty",
    (
        Column.icb_code(ICB_CODE_PATTERN),
        Column.icb_name(),
        Column.number("score", "the configured composite's score (raw units); null: not ranked"),
        Column(
            "rank",
            pl.Int64,
            min_value=1,
            description="the configured composite's rank, 1 = best; null: not ranked",
        ),
        Column.number("rank_median", "median rank over draws", min_value=1.0),
        Column.number("rank_p05", "5th percentile of the rank", min_value=1.0),
        Column.number("rank_p95", "95th percentile of the rank", min_value=1.0),
        Column.share("p_top_k", "share of draws ranking the ICS in the top k"),
        Column.share("p_bottom_k", "share of draws ranking the ICS in the bottom k"),
        Column.number("score_median", "median score over draws"),
        Column.number("score_p05", "5th percentile of the score"),
        Column.number("score_p95", "95th percentile of the score"),
        Column.count("n_draws", "draws in which the ICS is ranked (0: below min_coverage)"),
    ),
    key=("icb_code",),
    description=(
        "One row per ICS: the deterministic score and rank, and the distribution "
        "of rank and score over the Monte Carlo draws (modelled; no official ICS ratings)."
    ),
)

UNCERTAINTY_ASSUMPTIONS: Final = Contract.closed(
    "uncertainty_assumptions",
    (
        Column.text(
            "assumption", "weights, normalisation, aggregation or bootstrap", allowed=_ASSUMPTIONS
        ),
        Column.text(
            "indicator",
            "the composite indicator a bootstrap row is about, or '(all indicators)'",
        ),
        Column.flag("varied", "whether the draws vary this assumption (or indicator)"),
        Column.text(
            "setting",
            "what varies ('<i>: <alternative>' for a discrete choice), or why nothing does",
        ),
        Column.text("distribution", "the distribution the draws come from ('none': fixed)"),
        Column.text("parameters_source", "where the distribution's parameters come from"),
        Column.text("held_fixed", "what stays fixed in every draw"),
        Column.count("n_draws", "draws using this setting"),
    ),
    key=("assumption", "indicator", "setting"),
    description=(
        "One row per composite-wide assumption (and per alternative of a discrete one), "
        "then one bootstrap row per indicator: what varies, its distribution, the source "
        "of its parameters, what is held fixed, and the draws that used it."
    ),
)

SENSITIVITY: Final = Contract.closed(
    "sensitivity",
    (
        Column.icb_code(_ICB_OR_NATIONAL, f"ICB ODS code, or {NATIONAL} for the mean over ICSs"),
        Column.icb_name(),
        Column.text("output", "the model output analysed: rank or score", allowed=SOBOL_OUTPUTS),
        Column.text("assumption", "the input (assumption) varied", allowed=_ASSUMPTIONS),
        Column.number("S1", "first-order index estimate; null where the output does not vary"),
        Column.number("S1_conf", "95% confidence half-width of S1 (bootstrap)", min_value=0.0),
        Column.number("ST", "total-order index estimate", min_value=0.0),
        Column.number("ST_conf", "95% confidence half-width of ST (bootstrap)", min_value=0.0),
    ),
    key=("icb_code", "output", "assumption"),
    description=(
        "Sobol' first-order and total indices per ICS x output x assumption, then "
        f"national rows ({NATIONAL}: the mean over ICSs)."
    ),
)

__all__ = ["SENSITIVITY", "SOBOL_OUTPUTS", "UNCERTAINTY_ASSUMPTIONS", "UNCERTAINTY_PER_ICS"]
