"""Run a scenario on the mapped ratings: provider table, ICS view, national summary, notes.

Outcomes of the providers published Outstanding (``outcome``):

``kept``
    still Outstanding under the scenario;
``lost``
    capped below Outstanding (directly, or through a key-question cap that changes the
    rule-set-derived overall);
``not_assessable``
    a gate could change the rating but its indicator is missing: counted apart, never
    as lost or kept.

So ``n_outstanding_after = n_outstanding_before - n_lost - n_not_assessable`` in every
ICS (gates only lower ratings, and a key-question cap never raises the derived overall).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import polars as pl
import polars.selectors as cs

from ics_model.metrics.system import NATIONAL
from ics_model.ratings import SECTOR_LABELS
from ics_model.rules.gates import apply_gates
from ics_model.rules.rulesets import Gate
from ics_model.scenarios.spec import ScenarioSpec, get_gate_scenario

logger = logging.getLogger(__name__)

SYSTEM_GATE_NOTE = (
    "A system-level gate penalises a provider for its geography: the provider's own "
    "collaboration is not measured."
)
GP_OVERALL_ONLY_NOTE = (
    "The GP file holds Overall ratings only, so key-question gates are not applicable to GP "
    "practices (a GP scenario with one is rejected at load); only overall gates are run."
)
COUNT_COLUMNS = (
    "n_providers",
    "n_rated",
    "n_outstanding_before",
    "n_outstanding_after",
    "n_lost",
    "n_not_assessable",
    "n_changed",
    "n_not_assessable_any",
)


@dataclass(frozen=True)
class ScenarioResult:
    """The result of :func:`run_scenario`.

    Attributes
    ----------
    spec : the scenario run.
    providers : one row per provider of the sector: ``provider_id``, ``provider_name``,
        ``icb_code``, ``icb_name``, ``rating_published`` (published Overall),
        ``rating_scenario`` (null when not assessable), ``status``, ``overall_changed``,
        ``outcome`` (kept / lost / not_assessable for providers published Outstanding,
        else null), ``reason``, and per gate ``<gate>_status`` and ``<gate>_value``.
    by_ics : one row per ICS with providers of the sector: ``icb_code``, ``icb_name``,
        the counts in :data:`COUNT_COLUMNS` and ``share_changed`` (n_lost /
        n_outstanding_before, null when no provider was Outstanding).
    national : one row (``icb_code = "ENGLAND"``): the same counts and share, plus
        ``n_ics`` and ``n_ics_with_loss``.
    notes : caveats to print with the results.
    """

    spec: ScenarioSpec
    providers: pl.DataFrame
    by_ics: pl.DataFrame
    national: pl.DataFrame
    notes: tuple[str, ...]


def indicator_frames(
    provider_partnership: pl.DataFrame, ics_metrics: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Wide indicator frames for gates.

    Parameters
    ----------
    provider_partnership : one row per trust (``provider_id`` + indicator columns), e.g.
        ``RunResult.provider_partnership``.
    ics_metrics : tidy ``icb_code``, ``metric``, ``value`` rows, e.g.
        ``RunResult.ics_metrics``; national (``ENGLAND``) rows are dropped.

    Returns
    -------
    tuple of pl.DataFrame
        ``provider_indicators`` (``provider_id`` + every numeric column) and
        ``icb_indicators`` (``icb_code`` + one Float64 column per metric). NaN becomes
        null (missing, hence not assessable).
    """
    for frame, key in ((provider_partnership, "provider_id"), (ics_metrics, "icb_code")):
        if key not in frame.columns:
            raise KeyError(f"indicator source has no {key!r} column")
    if provider_partnership["provider_id"].is_duplicated().any():
        raise ValueError("provider_partnership has duplicate provider_id rows")
    provider = provider_partnership.select(
        "provider_id", cs.numeric().exclude("provider_id")
    ).with_columns(cs.float().fill_nan(None))
    metrics = ics_metrics.filter(pl.col("icb_code") != NATIONAL)
    if metrics.select("icb_code", "metric").is_duplicated().any():
        raise ValueError("ics_metrics has more than one value per ICS and metric")
    icb = (
        metrics.select("icb_code", "metric", pl.col("value").cast(pl.Float64).fill_nan(None))
        .pivot(on="metric", index="icb_code", values="value")
        .sort("icb_code")
    )
    return provider, icb


def sector_ratings(mapped: pl.DataFrame, spec: ScenarioSpec) -> pl.DataFrame:
    """Return the sector's rows of the mapped ratings, checked against the scenario's gates."""
    ratings = mapped.filter(pl.col("sector").cast(pl.String) == spec.sector)
    if ratings.is_empty():
        raise ValueError(f"the mapped ratings hold no {spec.sector} providers")
    have = set(ratings["key_question"].cast(pl.String).unique().to_list())
    for g in spec.gates:
        if g.level == "key_question" and g.key_question not in have:
            raise ValueError(
                f"gate {g.name!r} caps {g.key_question}, but the {spec.sector} ratings hold "
                f"only {sorted(have)}: a key-question gate is not applicable"
            )
    return ratings


def clean_indicators(frame: pl.DataFrame | None) -> pl.DataFrame | None:
    """Return the indicator frame with NaN as null (missing), so NaN is never compared."""
    return None if frame is None else frame.with_columns(cs.float().fill_nan(None))


def gated(
    ratings: pl.DataFrame,
    spec: ScenarioSpec,
    gates: tuple[Gate, ...],
    provider_indicators: pl.DataFrame | None,
    icb_indicators: pl.DataFrame | None,
) -> pl.DataFrame:
    """Apply ``gates`` and label the outcome of every provider published Outstanding."""
    out = apply_gates(
        ratings,
        spec.rule_set,
        provider_indicators=clean_indicators(provider_indicators),
        icb_indicators=clean_indicators(icb_indicators),
        gates=gates,
    )
    return out.with_columns(outcome_expr("rating_before", "rating_after"))


def outcome_expr(before: str, after: str) -> pl.Expr:
    """Return kept / lost / not_assessable for providers published Outstanding, else null."""
    was = (pl.col(before).cast(pl.String) == "Outstanding").fill_null(False)
    now = pl.col(after).cast(pl.String)
    return (
        pl.when(~was)
        .then(pl.lit(None, pl.String))
        .when(now.is_null())
        .then(pl.lit("not_assessable"))
        .when(now == "Outstanding")
        .then(pl.lit("kept"))
        .otherwise(pl.lit("lost"))
        .alias("outcome")
    )


def _count_exprs() -> list[pl.Expr]:
    outcome = pl.col("outcome")
    return [
        pl.len().alias("n_providers"),
        pl.col("rating_published").is_not_null().sum().alias("n_rated"),
        outcome.is_not_null().sum().alias("n_outstanding_before"),
        (pl.col("rating_scenario").cast(pl.String) == "Outstanding")
        .sum()
        .alias("n_outstanding_after"),
        (outcome == "lost").sum().alias("n_lost"),
        (outcome == "not_assessable").sum().alias("n_not_assessable"),
        pl.col("overall_changed").sum().alias("n_changed"),
        (pl.col("status") == "not_assessable").sum().alias("n_not_assessable_any"),
    ]


def _share() -> pl.Expr:
    before = pl.col("n_outstanding_before")
    return (
        pl.when(before > 0)
        .then(pl.col("n_lost") / before)
        .otherwise(pl.lit(None, pl.Float64))
        .alias("share_changed")
    )


def summarise(providers: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ICS view and national summary from a scenario provider table."""
    by_ics = (
        providers.group_by("icb_code")
        .agg(pl.col("icb_name").first(), *_count_exprs())
        .with_columns(pl.col(COUNT_COLUMNS).cast(pl.Int64))
        .with_columns(_share())
        .sort("icb_code")
    )
    national = (
        by_ics.select(
            pl.col(COUNT_COLUMNS).sum(),
            pl.len().cast(pl.Int64).alias("n_ics"),
            (pl.col("n_lost") > 0).sum().cast(pl.Int64).alias("n_ics_with_loss"),
        )
        .with_columns(_share())
        .select(pl.lit(NATIONAL).alias("icb_code"), pl.all())
    )
    return by_ics, national


def _gate_sentence(g: Gate, sector: str) -> str:
    what = "overall rating" if g.level == "overall" else f"{g.key_question} rating"
    where = "the provider's own" if g.scope == "provider" else "its ICS's"
    return (
        f"Gate {g.name!r}: the {what} of {SECTOR_LABELS[sector]} may be Outstanding only if "
        f"{where} {g.indicator} {g.op} {g.threshold:g}; otherwise it is capped at {g.cap}."
    )


def scenario_notes(spec: ScenarioSpec, providers: pl.DataFrame | None = None) -> tuple[str, ...]:
    """Caveats for a scenario (and, given its provider table, its missing indicators)."""
    notes = [_gate_sentence(g, spec.sector) for g in spec.gates]
    if any(g.level == "key_question" for g in spec.gates):
        notes.append(
            "Key-question gates cap the key question and re-aggregate the overall rating by "
            f"{spec.rule_set!r}; the published overall changes only when the cap changes the "
            "derived overall, so departures of published ratings from the rules are kept."
        )
    if any(g.scope == "icb" for g in spec.gates):
        notes.append(SYSTEM_GATE_NOTE)
    if spec.sector == "gp_practice":
        notes.append(GP_OVERALL_ONLY_NOTE)
    if providers is not None:
        n_na = int((providers["outcome"] == "not_assessable").sum())
        if n_na:
            notes.append(
                f"{n_na} provider(s) published Outstanding are not assessable (indicator "
                "missing): counted apart, neither lost nor kept."
            )
    return tuple(notes)


def run_scenario(
    mapped: pl.DataFrame,
    spec: Any,
    *,
    provider_indicators: pl.DataFrame | None = None,
    icb_indicators: pl.DataFrame | None = None,
) -> ScenarioResult:
    """Apply a scenario's gates to the published ratings of its sector.

    Parameters
    ----------
    mapped : the mapped ratings (``MAPPED_RATINGS``: sector, provider_id, provider_name,
        key_question, rating, icb_code, icb_name, ...), all sectors or one.
    spec : a :class:`ScenarioSpec`, a shipped scenario name, a YAML path or a mapping.
    provider_indicators, icb_indicators : see :func:`indicator_frames`.

    Returns
    -------
    ScenarioResult
        Provider table, ICS view, national summary and notes. The input frames are not
        changed.

    Raises
    ------
    ValueError
        The sector has no providers, or a key-question gate names a key question the
        sector's ratings do not hold.
    KeyError
        A gate's indicator is not in the indicator frame of its scope.
    """
    spec = get_gate_scenario(spec)
    ratings = sector_ratings(mapped, spec)
    out = gated(ratings, spec, spec.gates, provider_indicators, icb_indicators)
    names = ratings.group_by("provider_id").agg(
        pl.col("provider_name").first(), pl.col("icb_name").first()
    )
    per_gate = [c for g in spec.gates for c in (f"{g.name}_status", f"{g.name}_value")]
    providers = (
        out.join(names, on="provider_id", how="left")
        .rename({"rating_before": "rating_published", "rating_after": "rating_scenario"})
        .select(
            "provider_id",
            "provider_name",
            "icb_code",
            "icb_name",
            "rating_published",
            "rating_scenario",
            "status",
            "overall_changed",
            "outcome",
            "reason",
            *per_gate,
        )
        .sort("provider_id")
    )
    by_ics, national = summarise(providers)
    row = national.row(0, named=True)
    logger.info(
        "scenario %s: %d of %d Outstanding %s lost, %d not assessable",
        spec.name,
        row["n_lost"],
        row["n_outstanding_before"],
        spec.sector,
        row["n_not_assessable"],
    )
    return ScenarioResult(
        spec=spec,
        providers=providers,
        by_ics=by_ics,
        national=national,
        notes=scenario_notes(spec, providers),
    )
