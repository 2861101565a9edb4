"""Contracts of the association statistics' frames: the collaboration effect, NOF and CQC.

``collaboration_effect.json`` is a dict (:meth:`EffectResult.to_dict` plus the run's
``population`` and, when the composite overlaps the outcome, a ``warning``). Its scalar
fields form one row, :func:`effect_frame`, checked against :data:`EFFECT`; the list and
dict fields (``controls``, ``design_columns``, ``n_dropped``, ``dropped_clusters``,
``caveats``) are not part of the frame. A run without the effect's sector writes
``{"skipped": reason}`` instead, checked against :data:`EFFECT_SKIPPED`. The simulated
power curve of :func:`~ics_model.effects.power.simulate_power` (``effect_power.csv``) is
checked against :data:`EFFECT_POWER`.

An association, not a causal effect (see :mod:`ics_model.effects`).

The NOF-CQC comparison (:mod:`ics_model.effects.nof_cqc`) has three frames: the matched
trusts (:data:`NOF_CQC_MATCHED`), the NOF trusts left unmatched with the reason
(:data:`NOF_CQC_UNMATCHED`) and the rank correlations (:data:`NOF_CQC_CORRELATION`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import polars as pl

from ics_model.contracts import Column, Contract
from ics_model.effects.core import MIN_DRAWS
from ics_model.ratings import RATING_LABELS

#: the effect populations a run config can name (``effect.population``)
EFFECT_POPULATIONS: Final = ("gp_since_2022", "gp_all_years", "nhs_trusts")
_RATIO = {"min_value": 0.0}


def _f(name: str, description: str, **bounds: float) -> Column:
    """Return a non-nullable Float64 column with optional ``min_value``/``max_value``."""
    return Column.number(name, description, nullable=False, **bounds)


def _p(name: str, description: str) -> Column:
    """Return a non-nullable probability (or proportion) column in [0, 1]."""
    return Column.share(name, description, nullable=False)


#: the main job's text fields of ``collaboration_effect.json`` (placebo, conclusion)
_EFFECT_TEXT: Final = (
    Column(
        "placebo",
        pl.String,
        required=False,
        description="the pre-ICS placebo comparison of the specification curve, in words",
    ),
    Column(
        "conclusion",
        pl.String,
        required=False,
        description="what can and cannot be said, generated from the numbers",
    ),
)


EFFECT: Final = Contract.closed(
    "collaboration_effect",
    (
        Column.text(
            "outcome", "the rating modelled (rating == outcome)", allowed=frozenset(RATING_LABELS)
        ),
        Column.text("exposure", "the exposure metric"),
        Column.text(
            "exposure_level",
            "whether the exposure varies by ICS or by provider",
            allowed=frozenset({"ics", "provider"}),
        ),
        _f("estimate", "odds ratio per SD of the exposure (= odds_ratio_per_sd)", **_RATIO),
        _f("odds_ratio_per_sd", "odds ratio per SD of the exposure", **_RATIO),
        _f("odds_ratio_per_unit", "odds ratio per unit of the exposure", **_RATIO),
        _f("log_odds_per_sd", "log odds ratio per SD (the model coefficient)"),
        _f("exposure_mean", "mean of the exposure"),
        _f("exposure_sd", "SD of the exposure (across clusters at ICS level)", min_value=0.0),
        _f("ci_lower", "95% lower limit of the odds ratio per SD", **_RATIO),
        _f("ci_upper", "95% upper limit of the odds ratio per SD (inf: unbounded)", **_RATIO),
        _p("p_value_model", "p-value, wild cluster restricted score bootstrap"),
        Column.share(
            "p_value_permutation",
            "p-value of the ICS-level permutation test; null at provider level",
        ),
        _f("se_cr1", "CR1 cluster-robust SE of the log odds per SD", min_value=0.0),
        _f("se_model", "model-based SE of the log odds per SD", min_value=0.0),
        _f("ci_cr1_lower", "95% lower limit of the odds ratio per SD, CR1 Wald", **_RATIO),
        _f("ci_cr1_upper", "95% upper limit of the odds ratio per SD, CR1 Wald", **_RATIO),
        _p("p_value_cr1", "p-value, CR1 Wald test"),
        Column.count("n_providers", "providers in the model"),
        Column.count("n_clusters", "clusters (ICSs) in the model"),
        Column.count("n_outcome", "providers rated outcome"),
        Column.count("n_clusters_with_outcome", "clusters with at least one such provider"),
        _p("prevalence", "n_outcome / n_providers"),
        _p("icc_outcome", "ANOVA intra-cluster correlation of the outcome (floored at 0)"),
        _p("icc_exposure", "ANOVA intra-cluster correlation of the exposure"),
        _f("design_effect", "1 + (m - 1) x icc_outcome x icc_exposure", min_value=1.0),
        _f("exposure_residual_variance", "exposure variance left by the controls", min_value=0.0),
        _f(
            "min_detectable_effect",
            "minimal detectable odds ratio per SD at 80% power",
            min_value=1.0,
        ),
        Column.flag("converged", "the IRLS fit converged"),
        Column.text("method", "what was fitted and how"),
        Column("seed", pl.Int64, description="the seed given"),
        Column.count("seed_entropy", "entropy of the seed sequence (reproduces the draws)"),
        Column.count("permutations", "permutation draws", min_value=MIN_DRAWS),
        Column.count("bootstrap_draws", "wild bootstrap draws", min_value=MIN_DRAWS),
        Column(
            "population",
            pl.String,
            required=False,
            allowed=frozenset(EFFECT_POPULATIONS),
            description="the population of the run config (added by the main job)",
        ),
        Column(
            "warning",
            pl.String,
            required=False,
            description="the composite overlaps the outcome (added by the main job)",
        ),
        *_EFFECT_TEXT,
    ),
    key=(),
    description=(
        "The exposure -> outcome association as one row: odds ratios with 95% "
        "intervals, p-values, design diagnostics and the method (association only, not causal)."
    ),
)

EFFECT_SKIPPED: Final = Contract.closed(
    "collaboration_effect_skipped",
    (Column.text("skipped", "why the effect was not estimated"), *_EFFECT_TEXT),
    description="The effect was not estimated: the reason, as one row.",
)


EFFECT_POWER: Final = Contract.closed(
    "effect_power",
    (
        _f("odds_ratio", "odds ratio per SD of the exposure planted in the simulations", **_RATIO),
        Column.share("power", "share of fitted simulations rejecting OR = 1 (null: none fitted)"),
        Column.share("power_lower", "95% Clopper-Pearson Monte Carlo lower limit of power"),
        Column.share("power_upper", "95% Clopper-Pearson Monte Carlo upper limit of power"),
        Column.share("coverage", "share of fitted simulations whose interval holds odds_ratio"),
        Column.share("coverage_lower", "95% Clopper-Pearson Monte Carlo lower limit of coverage"),
        Column.share("coverage_upper", "95% Clopper-Pearson Monte Carlo upper limit of coverage"),
        Column.count("n_sims", "simulations at this odds ratio", min_value=1),
        Column.count("n_fitted", "simulations fitted (power and coverage are shares of these)"),
        Column.count("n_failed", "simulations whose fit failed (reasons in failures)"),
        Column.count("n_rejected", "fitted simulations rejecting OR = 1"),
        Column.count("n_covered", "fitted simulations whose interval holds odds_ratio"),
        Column.count("n_not_converged", "fitted simulations whose fit did not converge"),
        Column.number(
            "mean_estimate", "geometric mean of the finite estimated odds ratios", min_value=0.0
        ),
        Column.number("median_estimate", "median estimated odds ratio", min_value=0.0),
        Column.number("mean_events", "mean number of simulated events", min_value=0.0),
        Column.text(
            "failures", "failure reasons with counts; null when none failed", nullable=True
        ),
    ),
    key=("odds_ratio",),
    description=(
        "Simulated power and interval coverage of the main specification on the real design "
        "(real ICSs, controls, sample sizes and exposure values; outcomes simulated from the "
        "fitted null model plus a planted odds ratio per SD): one row per odds ratio."
    ),
)


# --------------------------------------------------------------------------- NOF and CQC

#: how a NOF trust was matched to a 2018 CQC Overall rating (:func:`match_nof_cqc`)
NOF_CQC_MATCH_METHODS: Final = ("same_code", "sole_predecessor")
#: why a NOF trust has no 2018 CQC Overall rating to compare with
NOF_CQC_UNMATCHED_REASONS: Final = (
    "no_nof_average_score",
    "not_in_cqc_trust_frame",
    "no_2018_rating",
    "several_rated_predecessors",
    "rated_predecessor_split",
    "combined_rating",
    "rating_left_out",
    "no_publication_date",
)
#: the trust groups of :func:`nof_cqc_correlation`
NOF_CQC_GROUPS: Final = ("all", "acute", "no_merger_since_rating")
#: the rank correlations of :func:`nof_cqc_correlation`
NOF_CQC_MEASURES: Final = ("spearman_rho", "kendall_tau_b")
#: the interval methods of :func:`nof_cqc_correlation`
NOF_CQC_INTERVALS: Final = ("fisher_z_bonett_wright", "fisher_z_fieller", "percentile_bootstrap")

_LOWER = " (lower is better)"

NOF_CQC_MATCHED: Final = Contract.closed(
    "nof_cqc_matched",
    (
        Column.text("org_code", "ODS code of the trust in the NOF extract"),
        Column.text("org_name", "trust name (NOF)", nullable=True),
        Column.text("nhs_trust_type", "NHS England's trust type (NOF)", nullable=True),
        Column.text("icb_code", "ICB the trust is placed in"),
        Column.text("data_month", "NOF data month (YYYY-MM)", pattern=r"\d{4}-\d{2}"),
        Column(
            "adjusted_segment",
            pl.Int64,
            min_value=1,
            max_value=5,
            description="NOF adjusted segment" + _LOWER,
        ),
        Column.number(
            "avg_metric_score",
            "NOF average metric score, 1-4" + _LOWER,
            nullable=False,
            min_value=1.0,
            max_value=4.0,
        ),
        Column.text("cqc_code_2018", "ODS code of the trust CQC rated (2018 file)"),
        Column.text(
            "match_method",
            "same_code or sole_predecessor",
            allowed=frozenset(NOF_CQC_MATCH_METHODS),
        ),
        Column.text(
            "cqc_rating",
            "the 2018 CQC trust-level Overall rating",
            allowed=frozenset(RATING_LABELS),
        ),
        Column(
            "cqc_rating_code",
            pl.Int64,
            nullable=False,
            min_value=1,
            max_value=4,
            description="Outstanding 1, Good 2, Requires improvement 3, Inadequate 4" + _LOWER,
        ),
        Column(
            "cqc_publication_date",
            pl.Date,
            nullable=False,
            description="publication date of the CQC rating",
        ),
        Column.number(
            "cqc_rating_age_years",
            "years from publication to the first day of the NOF data month (days / 365.25)",
            nullable=False,
        ),
        Column.flag(
            "cqc_predates_merger",
            "the rating was published before the trust absorbed another rated trust",
        ),
        Column.text(
            "cqc_premerger_absorbed",
            "rated trusts absorbed after the rating, "
            "';'-separated; null unless cqc_predates_merger",
            nullable=True,
        ),
    ),
    key=("org_code",),
    description=(
        "NOF 2025/26 trusts with the 2018 CQC Overall rating they are compared with: "
        "same ODS code, or the sole rated predecessor; both scales lower is better."
    ),
)

NOF_CQC_UNMATCHED: Final = Contract.closed(
    "nof_cqc_unmatched",
    (
        Column.text("org_code", "ODS code of the trust in the NOF extract"),
        Column.text("org_name", "trust name (NOF)", nullable=True),
        Column.text("nhs_trust_type", "NHS England's trust type (NOF)", nullable=True),
        Column.number("avg_metric_score", "NOF average metric score" + _LOWER),
        Column.text(
            "reason_code",
            "why no 2018 rating is compared",
            allowed=frozenset(NOF_CQC_UNMATCHED_REASONS),
        ),
        Column.text("reason", "the reason in words (the trust mapping's, where it gave one)"),
    ),
    key=("org_code",),
    description="Every NOF trust without a 2018 CQC Overall rating to compare, with the reason.",
)

NOF_CQC_CORRELATION: Final = Contract.closed(
    "nof_cqc_correlation",
    (
        Column.text("group", "the trusts correlated", allowed=frozenset(NOF_CQC_GROUPS)),
        Column.text("measure", "the rank correlation", allowed=frozenset(NOF_CQC_MEASURES)),
        Column.text(
            "interval_method",
            "how lower and upper were computed",
            allowed=frozenset(NOF_CQC_INTERVALS),
        ),
        Column.count("n", "trusts (pairs) in the group"),
        Column.number(
            "estimate",
            "the rank correlation; positive = the two agree "
            "(null below 3 pairs or when a scale is constant)",
            min_value=-1.0,
            max_value=1.0,
        ),
        Column.number("lower", "lower limit of the interval", min_value=-1.0, max_value=1.0),
        Column.number("upper", "upper limit of the interval", min_value=-1.0, max_value=1.0),
        Column.share("confidence", "confidence level of the interval", nullable=False),
        Column(
            "bootstrap_draws",
            pl.Int64,
            min_value=0,
            description="bootstrap draws with a defined correlation (null: analytic)",
        ),
        Column.share("p_value", "two-sided p-value of no association (scipy.stats)"),
        Column.number(
            "median_cqc_rating_age_years",
            "median age of the CQC ratings at the NOF data month",
            min_value=0.0,
        ),
        Column.text(
            "cqc_published_range",
            "years the CQC ratings were published (e.g. 2014-2018)",
            nullable=True,
        ),
        Column.text("nof_data_month", "NOF data month (YYYY-MM)", nullable=True),
        Column.text("note", "sign convention and the age caveat"),
    ),
    key=("group", "measure", "interval_method"),
    description=(
        "Rank correlation of the NOF 2025/26 average metric score with the 2018 CQC "
        "Overall trust rating, both lower is better, with intervals, n and the age caveat."
    ),
)


def effect_frame(effect: Mapping[str, Any]) -> pl.DataFrame:
    """Turn the scalar fields of an effect dict into one row.

    Parameters
    ----------
    effect : ``collaboration_effect.json`` as a dict (:meth:`EffectResult.to_dict`, plus
        the main job's ``population`` and ``warning``), or ``{"skipped": reason}``.

    Returns
    -------
    pl.DataFrame
        One row; list and dict fields are left out. Each column's dtype is inferred from
        its value (a ``None`` takes the declared dtype), so a value of the wrong type shows
        as a dtype violation of :data:`EFFECT`.
    """
    declared = {c.name: c.dtype for c in (*EFFECT.columns, *EFFECT_SKIPPED.columns)}
    columns = {}
    for name, value in effect.items():
        if isinstance(value, list | tuple | dict | set):
            continue
        dtype = declared.get(name, pl.String) if value is None else None
        columns[name] = pl.Series(name, [value], dtype=dtype)
    return pl.DataFrame(columns)


__all__ = [
    "EFFECT",
    "EFFECT_POPULATIONS",
    "EFFECT_POWER",
    "EFFECT_SKIPPED",
    "NOF_CQC_CORRELATION",
    "NOF_CQC_GROUPS",
    "NOF_CQC_INTERVALS",
    "NOF_CQC_MATCHED",
    "NOF_CQC_MATCH_METHODS",
    "NOF_CQC_MEASURES",
    "NOF_CQC_UNMATCHED",
    "NOF_CQC_UNMATCHED_REASONS",
    "effect_frame",
]
