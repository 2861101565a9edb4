"""Threshold sweeps: Outstanding ratings lost and not assessable as a gate's threshold moves.

Vectorised, without re-running the gates per threshold. Only providers published
Outstanding can be lost, and for each of them the swept gate's condition either holds or
fails (or its indicator is missing, whatever the threshold). So each provider's outcome
is fixed, independently of the threshold t, in two cases -- "holds" and "fails":

- overall level: failing caps the rating (lost);
- key-question level: failing caps the key question; whether that changes the
  rule-set-derived overall (lost) or not (kept) is computed once per provider;
- a missing indicator makes the provider not assessable in both cases.

A single-gate scenario is computed directly (with the rule engine's count rule);
a scenario with several gates runs :func:`~ics_model.rules.apply_gates` twice, with the
swept gate forced to hold and to fail, the other gates applied as they are.

At threshold t a provider takes its "fails" outcome exactly when ``value op t`` is false
(for ``>=``: value < t). Those sets are nested in t, so the counts per ICS follow from
one sort of (ICS, value) and a ``searchsorted`` of the thresholds: O(n log n + G T log n)
for n providers, G ICSs and T thresholds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from ics_model.metrics.system import NATIONAL
from ics_model.ratings import DOMAINS, KEY_QUESTIONS, RATING_SCORES, RATINGS_BEST_FIRST
from ics_model.rules.engine import counts_rule_expr
from ics_model.rules.rulesets import Gate
from ics_model.scenarios.run import clean_indicators, gated, sector_ratings
from ics_model.scenarios.spec import ScenarioSpec, get_gate_scenario, scenario_from_dict

logger = logging.getLogger(__name__)

_SENTINEL = "__swept_indicator__"
_VALUE = "__value__"
_FLAGS = ("hold_lost", "hold_na", "fail_lost", "fail_na")
SWEEP_COLUMNS = (
    "gate",
    "level",
    "key_question",
    "indicator",
    "scope",
    "op",
    "threshold",
    "icb_code",
    "n_providers",
    "n_outstanding_before",
    "n_lost",
    "n_not_assessable",
    "n_outstanding_after",
    "share_changed",
)


def _source(
    gate: Gate, provider_indicators: pl.DataFrame | None, icb_indicators: pl.DataFrame | None
) -> tuple[str, pl.DataFrame]:
    """Return the join key and indicator frame of a gate's scope (KeyError when missing)."""
    key = "provider_id" if gate.scope == "provider" else "icb_code"
    source = provider_indicators if gate.scope == "provider" else icb_indicators
    if source is None or gate.indicator not in source.columns:
        have = [] if source is None else [c for c in source.columns if c != key]
        raise KeyError(
            f"gate {gate.name!r} needs {gate.scope}-level indicator {gate.indicator!r}; "
            f"available: {', '.join(have) or 'none'}"
        )
    return key, source


def _with_values(frame: pl.DataFrame, gate: Gate, key: str, source: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the gate's indicator (NaN as null) in column ``__value__``."""
    values = source.select(key, pl.col(gate.indicator).cast(pl.Float64).alias(_VALUE))
    return frame.join(clean_indicators(values), on=key, how="left", maintain_order="left")


def _single_gate_outcomes(
    subset: pl.DataFrame, spec: ScenarioSpec, gate: Gate, key: str, source: pl.DataFrame
) -> pl.DataFrame:
    """Outcome flags of providers published Outstanding under a one-gate scenario."""
    wide = subset.select(
        "provider_id",
        "icb_code",
        pl.col("key_question").cast(pl.String),
        pl.col("rating").cast(pl.String),
    ).pivot(on="key_question", index=["provider_id", "icb_code"], values="rating")
    missing = [k for k in KEY_QUESTIONS if k not in wide.columns]
    wide = wide.with_columns(pl.lit(None, pl.String).alias(k) for k in missing)
    wide = _with_values(wide, gate, key, source)
    target = pl.col(gate.key_question if gate.level == "key_question" else "Overall")
    above = (
        target.replace_strict(RATING_SCORES, default=0, return_dtype=pl.Int8)
        > RATING_SCORES[gate.cap]
    ).fill_null(False)
    has_value = pl.col(_VALUE).is_not_null()
    if gate.level == "overall":
        fails_lost = above & has_value
    else:
        # counts of each rating among the five key questions, before and after the cap,
        # materialised first so the count rule reads columns (fast), not expressions
        labels = dict(zip("ogri", RATINGS_BEST_FIRST, strict=True))
        counts = []
        for when in ("before", "after"):
            cols = [
                pl.lit(gate.cap) if when == "after" and k == gate.key_question else pl.col(k)
                for k in DOMAINS
            ]
            counts += [
                pl.sum_horizontal(
                    [(c == label).fill_null(False).cast(pl.Int64) for c in cols]
                ).alias(f"__{x}_{when}")
                for x, label in labels.items()
            ]
        wide = wide.with_columns(counts).with_columns(
            counts_rule_expr(*(pl.col(f"__{x}_{when}") for x in labels), spec.rule_set)
            .cast(pl.String)
            .alias(f"__derived_{when}")
            for when in ("before", "after")
        )
        before, after = pl.col("__derived_before"), pl.col("__derived_after")
        changed = (after != before).fill_null(False) & (after != "Outstanding").fill_null(False)
        fails_lost = above & has_value & changed
    return wide.select(
        "provider_id",
        "icb_code",
        _VALUE,
        pl.lit(False).alias("hold_lost"),
        (above & ~has_value).alias("hold_na"),
        fails_lost.alias("fail_lost"),
        (above & ~has_value).alias("fail_na"),
    )


def _forced_outcomes(
    subset: pl.DataFrame,
    spec: ScenarioSpec,
    gate: Gate,
    provider_indicators: pl.DataFrame | None,
    icb_indicators: pl.DataFrame | None,
) -> pl.DataFrame:
    """Return the outcome flags under a several-gate scenario.

    The gates run with the swept gate forced to hold, then to fail, wherever it has a value.
    """
    key, source = _source(gate, provider_indicators, icb_indicators)
    runs = []
    for holds in (True, False):
        value = 1.0 if holds == (gate.op in (">=", ">")) else -1.0
        forced = source.with_columns(
            pl.when(pl.col(gate.indicator).cast(pl.Float64).fill_nan(None).is_null())
            .then(pl.lit(None, pl.Float64))
            .otherwise(pl.lit(value))
            .alias(_SENTINEL)
        )
        swapped = gate.model_copy(update={"indicator": _SENTINEL, "threshold": 0.0})
        gates = tuple(swapped if g.name == gate.name else g for g in spec.gates)
        pi, ii = (forced, icb_indicators) if key == "provider_id" else (provider_indicators, forced)
        out = gated(subset, spec, gates, pi, ii)
        prefix = "hold" if holds else "fail"
        runs.append(
            out.select(
                "provider_id",
                "icb_code",
                (pl.col("outcome") == "lost").fill_null(False).alias(f"{prefix}_lost"),
                (pl.col("outcome") == "not_assessable").fill_null(False).alias(f"{prefix}_na"),
            )
        )
    both = runs[0].join(runs[1].drop("icb_code"), on="provider_id", how="left")
    return _with_values(both, gate, key, source)


def _failing_sums(
    values: np.ndarray,
    group: np.ndarray,
    weights: np.ndarray,
    thresholds: np.ndarray,
    n_groups: int,
    op: str,
) -> np.ndarray:
    """Sum, per threshold t and group g, the ``weights`` of providers where ``value op t`` is false.

    Shape (T, G, weights.shape[1]).
    """
    n_t = thresholds.size
    if values.size == 0:
        return np.zeros((n_t, n_groups, weights.shape[1]), dtype=np.int64)
    # exact dense ranks over values and thresholds, so (group, rank) packs into one int64
    _, ranks = np.unique(np.concatenate([values, thresholds]), return_inverse=True)
    ranks = ranks.reshape(-1).astype(np.int64)
    width = int(ranks.max()) + 2
    v_rank, t_rank = ranks[: values.size], ranks[values.size :]
    key = group.astype(np.int64) * width + v_rank
    order = np.argsort(key, kind="stable")
    key = key[order]
    cum = np.vstack([np.zeros((1, weights.shape[1]), np.int64), np.cumsum(weights[order], 0)])
    base = np.arange(n_groups, dtype=np.int64) * width
    start = np.searchsorted(key, base, side="left")[:, None]
    end = np.searchsorted(key, base + width, side="left")[:, None]
    query = base[:, None] + t_rank[None, :]  # (G, T)
    below = np.searchsorted(key, query, side="left")  # value < t
    at_most = np.searchsorted(key, query, side="right")  # value <= t
    lo, hi = {
        ">=": (start, below),
        ">": (start, at_most),
        "<=": (at_most, end),
        "<": (below, end),
    }[op]
    lo = np.broadcast_to(lo, query.shape)
    hi = np.broadcast_to(hi, query.shape)
    return (cum[hi] - cum[lo]).transpose(1, 0, 2)


def _as_thresholds(thresholds: Any, spec: Any) -> np.ndarray:
    if thresholds is None:
        if spec.sweep is None:
            raise ValueError(f"scenario {spec.name!r} has no sweep: give thresholds")
        thresholds = spec.sweep.values()
    t = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if t.size == 0:
        raise ValueError("give at least one threshold")
    if np.isnan(t).any():
        raise ValueError("thresholds must not be NaN")
    return t


def threshold_sweep(
    mapped: pl.DataFrame,
    spec: Any,
    thresholds: Sequence[float] | np.ndarray | None = None,
    *,
    gate: str | None = None,
    provider_indicators: pl.DataFrame | None = None,
    icb_indicators: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Outstanding ratings lost and not assessable, nationally and per ICS, per threshold.

    Parameters
    ----------
    mapped : the mapped ratings (see :func:`~ics_model.scenarios.run_scenario`).
    spec : a :class:`ScenarioSpec`, a shipped scenario name, a YAML path or a mapping.
    thresholds : the grid (default: the scenario's ``sweep``); any order, kept as given.
    gate : the gate swept (default: the scenario's ``sweep.gate``, or its only gate);
        overall or key-question level. The other gates keep their thresholds.
    provider_indicators, icb_indicators : see :func:`indicator_frames`.

    Returns
    -------
    pl.DataFrame
        One row per threshold and geography (national first, ``icb_code = "ENGLAND"``,
        then each ICS): the columns of :data:`SWEEP_COLUMNS`. Equal, threshold by
        threshold, to :func:`run_scenario` with that threshold.
    """
    spec = get_gate_scenario(spec)
    g = spec.gate(gate)
    t = _as_thresholds(thresholds, spec)
    ratings = sector_ratings(mapped, spec)
    # every provider (one ICS each) and whether its published Overall is Outstanding
    units = (
        ratings.select("provider_id", "icb_code")
        .unique()
        .join(
            ratings.filter(pl.col("key_question").cast(pl.String) == "Overall").select(
                "provider_id", (pl.col("rating").cast(pl.String) == "Outstanding").alias("was")
            ),
            on="provider_id",
            how="left",
        )
        .with_columns(pl.col("was").fill_null(False))
    )
    codes, group = np.unique(units["icb_code"].to_numpy().astype(str), return_inverse=True)
    group = group.reshape(-1)
    n_groups = codes.size
    n_prov = np.bincount(group, minlength=n_groups).astype(np.int64)
    n_before = np.bincount(group[units["was"].to_numpy()], minlength=n_groups).astype(np.int64)
    # gates treat every provider on its own: only those published Outstanding are needed
    subset = ratings.join(units.filter("was").select("provider_id"), on="provider_id", how="semi")
    if len(spec.gates) == 1:
        key, source = _source(g, provider_indicators, icb_indicators)
        per = _single_gate_outcomes(subset, spec, g, key, source)
    else:
        per = _forced_outcomes(subset, spec, g, provider_indicators, icb_indicators)
    p_group = np.searchsorted(codes, per["icb_code"].to_numpy().astype(str))
    flags = per.select(pl.col(_FLAGS).cast(pl.Int64)).to_numpy()
    hold, fail = flags[:, :2], flags[:, 2:]
    base = np.stack(
        [np.bincount(p_group, weights=hold[:, j], minlength=n_groups) for j in range(2)], axis=1
    ).astype(np.int64)
    delta = fail - hold
    values = per[_VALUE].to_numpy().astype(np.float64)
    keep = ~np.isnan(values) & delta.any(axis=1)
    moved = _failing_sums(values[keep], p_group[keep], delta[keep], t, n_groups, g.op)
    counts = base[None, :, :] + moved  # (T, G, [lost, not assessable])
    logger.info(
        "swept %s of %s over %d thresholds x %d providers", g.name, spec.name, t.size, len(units)
    )
    return _sweep_frame(g, t, codes, n_prov, n_before, counts)


def _sweep_frame(
    g: Gate,
    t: np.ndarray,
    codes: np.ndarray,
    n_prov: np.ndarray,
    n_before: np.ndarray,
    counts: np.ndarray,
) -> pl.DataFrame:
    """Long frame (threshold x [ENGLAND, ICSs]) from per-ICS count arrays."""
    n_t = t.size
    # national first: prepend the column sums
    counts = np.concatenate([counts.sum(axis=1, keepdims=True), counts], axis=1)
    n_prov = np.concatenate([[n_prov.sum()], n_prov])
    n_before = np.concatenate([[n_before.sum()], n_before])
    n_geo = n_prov.size
    lost = counts[:, :, 0].reshape(-1)
    na = counts[:, :, 1].reshape(-1)
    before = np.tile(n_before, n_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(before > 0, lost / np.maximum(before, 1), np.nan)
    frame = pl.DataFrame(
        {
            "threshold": np.repeat(t, n_geo),
            "icb_code": np.tile(np.concatenate([[NATIONAL], codes]).astype(object), n_t),
            "n_providers": np.tile(n_prov, n_t),
            "n_outstanding_before": before,
            "n_lost": lost,
            "n_not_assessable": na,
            "n_outstanding_after": before - lost - na,
            "share_changed": share,
        },
        schema_overrides={"icb_code": pl.String},
    )
    return frame.with_columns(
        pl.lit(g.name).alias("gate"),
        pl.lit(g.level).alias("level"),
        pl.lit(g.key_question, pl.String).alias("key_question"),
        pl.lit(g.indicator).alias("indicator"),
        pl.lit(g.scope).alias("scope"),
        pl.lit(g.op).alias("op"),
        pl.col("n_providers", "n_outstanding_before", "n_lost", "n_not_assessable").cast(pl.Int64),
        pl.col("n_outstanding_after").cast(pl.Int64),
        pl.col("share_changed").fill_nan(None),
    ).select(SWEEP_COLUMNS)


def sweep_both_levels(
    mapped: pl.DataFrame,
    indicator: str,
    scope: str,
    thresholds: Sequence[float] | np.ndarray,
    *,
    provider_indicators: pl.DataFrame | None = None,
    icb_indicators: pl.DataFrame | None = None,
    sector: str = "nhs_trust",
    key_question: str = "Well-led",
    op: str = ">=",
    cap: str = "Good",
    rule_set: str = "cqc_principles",
) -> pl.DataFrame:
    """Sweep one indicator as an overall gate and as a key-question gate.

    Two single-gate scenarios (gates ``overall`` and ``key_question``) are swept over
    the same thresholds and stacked (column ``level`` tells them apart); see
    :func:`threshold_sweep` for the columns. GP practices have Overall ratings only, so
    for ``sector="gp_practice"`` the key-question scenario is rejected
    (:class:`~ics_model.config.ConfigError`).
    """
    common = {"indicator": indicator, "scope": scope, "op": op, "cap": cap, "threshold": 0.0}
    frames = []
    for level, extra in (("overall", {}), ("key_question", {"key_question": key_question})):
        spec = scenario_from_dict(
            {
                "name": f"{indicator}_{level}",
                "sector": sector,
                "rule_set": rule_set,
                "gates": [{"name": level, "level": level, **common, **extra}],
            },
            source=f"sweep_both_levels ({level})",
        )
        frames.append(
            threshold_sweep(
                mapped,
                spec,
                thresholds,
                provider_indicators=provider_indicators,
                icb_indicators=icb_indicators,
            )
        )
    return pl.concat(frames)


def threshold_uncertainty(
    mapped: pl.DataFrame,
    spec: Any,
    *,
    spread: float,
    draws: int,
    seed: int | np.random.Generator | None,
    gate: str | None = None,
    provider_indicators: pl.DataFrame | None = None,
    icb_indicators: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Rule-threshold uncertainty: the gate's threshold drawn uniformly around its value.

    ``t ~ U(t0 - spread, t0 + spread)`` for the scenario's swept gate (``draws`` values,
    seeded), evaluated with the vectorised :func:`threshold_sweep`, and summarised per ICS
    and nationally (``ENGLAND``): ``threshold_low``, ``threshold_high``, ``n_draws``,
    ``n_outstanding_before``, ``lost_median``, ``lost_p05``, ``lost_p95``,
    ``not_assessable``. A system whose count of lost ratings moves a lot within a small
    band of thresholds is one for which the rule's exact threshold matters.
    """
    spec = get_gate_scenario(spec)
    g = spec.gate(gate or (spec.sweep.gate if spec.sweep is not None else None))
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    lo, hi = g.threshold - spread, g.threshold + spread
    thresholds = rng.uniform(lo, hi, draws)
    sweep = threshold_sweep(
        mapped,
        spec,
        thresholds,
        gate=g.name,
        provider_indicators=provider_indicators,
        icb_indicators=icb_indicators,
    )
    return (
        sweep.group_by("icb_code", maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("n_draws"),
            pl.col("n_outstanding_before").first(),
            pl.col("n_lost").median().alias("lost_median"),
            pl.col("n_lost").quantile(0.05, interpolation="linear").alias("lost_p05"),
            pl.col("n_lost").quantile(0.95, interpolation="linear").alias("lost_p95"),
            pl.col("n_not_assessable").first().alias("not_assessable"),
        )
        .with_columns(
            pl.lit(spec.name).alias("scenario"),
            pl.lit(g.name).alias("gate"),
            pl.lit(lo).alias("threshold_low"),
            pl.lit(hi).alias("threshold_high"),
        )
        .select(
            "scenario",
            "gate",
            "icb_code",
            "threshold_low",
            "threshold_high",
            "n_draws",
            "n_outstanding_before",
            "lost_median",
            "lost_p05",
            "lost_p95",
            "not_assessable",
        )
    )
