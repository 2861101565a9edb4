r"""Run a NOF scenario on the placed NOF segments: trusts, ICS view, national summary, sweep.

A NOF scenario (:class:`~ics_model.scenarios.nof_spec.NofScenarioSpec`) changes the NHS
Oversight Framework's segmentation rules and/or adds conditions ("gates"). For a trust
scored by the rule set (score :math:`x`, deficit flag :math:`d`), with the scenario's
edges :math:`c_1 < c_2 < c_3`, deficit cap :math:`m` (none when removed) and gates
:math:`g` (condition, best segment :math:`b_g`):

.. math::

    s^{raw} = 1 + \#\{k : x > c_k\}, \qquad
    s^{cap} = \max(s^{raw}, m) \text{ if } d \text{ else } s^{raw}, \qquad
    s = \max\big(s^{cap}, \max\{b_g : g \text{ fails}\}\big),

and :math:`s = 5` for a trust in intensive support (an override of everything). This is
:func:`~ics_model.rules.nof.nof_segments` with the scenario's parameters; the baseline
(``segment_before``) is that function with the rule set as published, and reproduces the
published segments (``ics-model rules check --nof``). Lower is better throughout
(NHS England, *NHS Oversight Framework 2025/26*).

``change`` per trust:

``better`` / ``worse`` / ``same``
    the scenario's segment against the baseline (lower is better);
``not_assessable``
    a gate whose indicator is missing could change the segment: the scenario segment is
    null, never passed or capped silently;
``not_scored``
    the rule set does not score the trust (no score: e.g. not on the acute league table).

Gate statuses per trust (``<gate>_status``) are those of the CQC gates
(:data:`~ics_model.rules.gates.GATE_STATUSES`): ``not_applicable`` when the gate cannot
change the segment (already no better than its best segment, given the other gates),
``passed``, ``capped`` or ``not_assessable``. Sweeps
(:mod:`ics_model.scenarios.nof_sweep`) evaluate the same expressions on (trust x value)
rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

import polars as pl

from ics_model.metrics.system import NATIONAL
from ics_model.rules.nof import nof_segments
from ics_model.scenarios.nof_spec import NofGate, NofScenarioSpec
from ics_model.scenarios.run import SYSTEM_GATE_NOTE
from ics_model.scenarios.spec import get_nof_scenario

logger = logging.getLogger(__name__)

NofChange = Literal["better", "worse", "same", "not_assessable", "not_scored"]
#: what a scenario did to a trust's segment (the ``change`` column)
NOF_CHANGES: Final = get_args(NofChange)
#: segments 1 (best) to 4, and 5 (intensive support)
NOF_SEGMENT_VALUES: Final = (1, 2, 3, 4, 5)
_BASE_COUNTS: Final = (
    "n_trusts",
    "n_scored",
    "n_changed",
    "n_better",
    "n_worse",
    "n_not_assessable",
)
_AFTER: Final = tuple(f"n_segment_{k}_after" for k in NOF_SEGMENT_VALUES)
_BEFORE: Final = tuple(f"n_segment_{k}_before" for k in NOF_SEGMENT_VALUES)
#: count columns of the ICS view and the national summary
NOF_COUNT_COLUMNS: Final = (*_BASE_COUNTS, *_BEFORE, *_AFTER)
#: count columns of a sweep (segments after the scenario)
NOF_SWEEP_COUNT_COLUMNS: Final = (*_BASE_COUNTS, *_AFTER)

NOF_MODELLED_NOTE: Final = (
    "Modelled: a rule NHS England has not adopted, applied to the published NOF scores."
)
NOF_LOWER_IS_BETTER_NOTE: Final = (
    "Lower is better: segment 1 is the best of 1-4 (5 = intensive support); metric and "
    "average scores run from 1 (best) to 4."
)
_OPS: Final = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}
_SCORE, _DEFICIT, _INTENSIVE = "__score", "__deficit", "__intensive"
_BEFORE_SEG, _RAW, _CAP, _AFTER_SEG = "segment_before", "__raw", "__cap", "segment_after"


@dataclass(frozen=True)
class NofScenarioResult:
    """The result of :func:`run_nof_scenario`.

    Attributes
    ----------
    spec : the scenario run.
    trusts : one row per placed trust: ``org_code``, ``org_name``, ``nhs_trust_type``,
        ``icb_code``, ``icb_name``, ``data_month``, ``score``, ``in_deficit``,
        ``segment_published``, ``segment_before`` (baseline rule set), ``segment_after``
        (null when not assessable or not scored), ``change`` (:data:`NOF_CHANGES`),
        ``reason``, and per gate ``<gate>_status`` and ``<gate>_value``.
    by_ics : one row per ICS with placed trusts: ``icb_code``, ``icb_name``, the counts
        of :data:`NOF_COUNT_COLUMNS` and ``share_changed`` (n_changed / n_scored).
    national : one row (``icb_code = "ENGLAND"``): the same counts and share, plus
        ``n_ics`` and ``n_ics_changed`` (ICSs with at least one trust changed).
    notes : caveats to print with the results.
    """

    spec: NofScenarioSpec
    trusts: pl.DataFrame
    by_ics: pl.DataFrame
    national: pl.DataFrame
    notes: tuple[str, ...]


@dataclass(frozen=True)
class ScenarioParams:
    """A NOF scenario's parameters as expressions (literals, or the swept value's column)."""

    bounds: tuple[pl.Expr, ...]
    cap: pl.Expr | None
    thresholds: dict[str, pl.Expr]


def scenario_params(spec: NofScenarioSpec, value: pl.Expr | None = None) -> ScenarioParams:
    """Return the scenario's parameters, the swept one replaced by ``value`` when given."""
    bounds = [pl.lit(b, pl.Float64) for b in spec.bounds]
    cap = None if spec.deficit_cap is None else pl.lit(spec.deficit_cap, pl.Int64)
    thresholds = {g.name: pl.lit(g.threshold, pl.Float64) for g in spec.gates}
    if value is not None and spec.sweep is not None:
        sw = spec.sweep
        if sw.target == "gate":
            thresholds[spec.gate().name] = value
        elif sw.target == "cut":
            assert sw.cut is not None
            bounds[sw.cut - 1] = value
        else:
            cap = value.cast(pl.Int64)
    return ScenarioParams(tuple(bounds), cap, thresholds)


def _indicator(
    gate: NofGate, provider_indicators: pl.DataFrame | None, icb_indicators: pl.DataFrame | None
) -> pl.DataFrame:
    """Return ``<key>`` and ``<gate>_value`` (Float64, NaN as null) for a gate's scope."""
    key = "provider_id" if gate.scope == "provider" else "icb_code"
    source = provider_indicators if gate.scope == "provider" else icb_indicators
    if source is None or gate.indicator not in source.columns or key not in source.columns:
        have = [] if source is None else [c for c in source.columns if c != key]
        raise KeyError(
            f"gate {gate.name!r} needs {gate.scope}-level indicator {gate.indicator!r} "
            f"(keyed by {key}); available: {', '.join(have) or 'none'}"
        )
    if source[key].is_duplicated().any():
        raise ValueError(f"the {gate.scope}-level indicators have duplicate {key} rows")
    value = pl.col(gate.indicator).cast(pl.Float64).fill_nan(None).alias(f"{gate.name}_value")
    out = source.select(key, value)
    return out.rename({"provider_id": "org_code"}) if key == "provider_id" else out


def prepare_trusts(
    placed: pl.DataFrame,
    spec: NofScenarioSpec,
    provider_indicators: pl.DataFrame | None,
    icb_indicators: pl.DataFrame | None,
) -> pl.DataFrame:
    """Return the trusts with the baseline segment, the rule set's inputs and gate values."""
    rs = spec.rule()
    need = ["org_code", "icb_code", rs.score, rs.deficit]
    missing = [c for c in need if c not in placed.columns]
    if missing:
        raise KeyError(f"the NOF frame has no {missing} column(s) (rule set {rs.name!r})")
    if placed["org_code"].is_duplicated().any():
        raise ValueError("the NOF frame has duplicate org_code rows")
    # the baseline overall segment by the rule engine itself (domain segments not needed)
    base = nof_segments(placed, rs.model_copy(update={"domain_cuts": {}}))
    optional = {
        c: pl.col(c) if c in placed.columns else pl.lit(None, pl.String)
        for c in ("org_name", "nhs_trust_type", "icb_name", "data_month")
    }
    intensive = (
        pl.col("intensive_support").fill_null(False)
        if "intensive_support" in placed.columns
        else pl.lit(False)
    )
    published = pl.col(rs.segment) if rs.segment in placed.columns else pl.lit(None)
    adjusted = pl.col("adjusted_segment") if "adjusted_segment" in placed.columns else pl.lit(None)
    frame = base.select(
        "org_code",
        *(e.cast(pl.String).alias(c) for c, e in optional.items()),
        "icb_code",
        pl.col(rs.score).cast(pl.Float64).alias("score"),
        pl.col(rs.deficit).cast(pl.Boolean).alias("in_deficit"),
        published.cast(pl.Int64).alias("segment_published"),
        adjusted.cast(pl.Int64).alias("__adjusted"),
        pl.col("derived_segment").cast(pl.Int64).alias(_BEFORE_SEG),
        pl.col(rs.score).cast(pl.Float64).alias(_SCORE),
        pl.col(rs.deficit).cast(pl.Boolean).fill_null(False).alias(_DEFICIT),
        intensive.alias(_INTENSIVE),
    )
    for g in spec.gates:
        key = "org_code" if g.scope == "provider" else "icb_code"
        frame = frame.join(
            _indicator(g, provider_indicators, icb_indicators), on=key, how="left"
        ).select(*frame.columns, f"{g.name}_value")
    return frame


def _fail_col(i: int) -> str:
    return f"__fail_{i}"


def _binding(j: int, g: NofGate) -> pl.Expr:
    """``b_g`` where gate ``j`` is known to fail, else 0."""
    return pl.when(pl.col(_fail_col(j)).fill_null(False)).then(pl.lit(g.best_segment)).otherwise(0)


def apply_scenario(frame: pl.DataFrame, spec: NofScenarioSpec, p: ScenarioParams) -> pl.DataFrame:
    """Add the scenario's segment (``segment_after``), ``change`` and gate statuses."""
    score = pl.col(_SCORE)
    raw = pl.lit(1, pl.Int64) + sum((score > b).cast(pl.Int64) for b in p.bounds)
    cap = raw
    if p.cap is not None:
        cap = pl.when(pl.col(_DEFICIT)).then(pl.max_horizontal(raw, p.cap)).otherwise(raw)
    gates = spec.gates
    out = frame.with_columns(raw.alias(_RAW), cap.alias(_CAP)).with_columns(
        (~_OPS[g.op](pl.col(f"{g.name}_value"), p.thresholds[g.name])).alias(_fail_col(i))
        for i, g in enumerate(gates)
    )
    unscored = score.is_null() | pl.col(_INTENSIVE)
    statuses = []
    for i, g in enumerate(gates):
        others = pl.max_horizontal(
            pl.col(_CAP), *(_binding(j, h) for j, h in enumerate(gates) if j != i)
        )
        fail = pl.col(_fail_col(i))
        statuses.append(
            pl.when(unscored | (pl.lit(g.best_segment) <= others))
            .then(pl.lit("not_applicable"))
            .when(fail.is_null())
            .then(pl.lit("not_assessable"))
            .when(fail)
            .then(pl.lit("capped"))
            .otherwise(pl.lit("passed"))
            .alias(f"{g.name}_status")
        )
    out = out.with_columns(statuses)
    na = pl.any_horizontal(
        pl.lit(False), *(pl.col(f"{g.name}_status") == "not_assessable" for g in gates)
    )
    seg = pl.max_horizontal(pl.col(_CAP), *(_binding(i, g) for i, g in enumerate(gates)))
    after = (
        pl.when(pl.col(_INTENSIVE))
        .then(pl.lit(5, pl.Int64))
        .when(score.is_null() | na)
        .then(pl.lit(None, pl.Int64))
        .otherwise(seg.cast(pl.Int64))
    )
    before, now = pl.col(_BEFORE_SEG), pl.col(_AFTER_SEG)
    change = (
        pl.when(before.is_null())
        .then(pl.lit("not_scored"))
        .when(now.is_null())
        .then(pl.lit("not_assessable"))
        .when(now < before)
        .then(pl.lit("better"))
        .when(now > before)
        .then(pl.lit("worse"))
        .otherwise(pl.lit("same"))
    )
    return out.with_columns(after.alias(_AFTER_SEG)).with_columns(change.alias("change"))


def _gate_reason(g: NofGate, threshold: float) -> pl.Expr:
    where = "own" if g.scope == "provider" else "ICS"
    value = pl.col(f"{g.name}_value").round(3).cast(pl.String).fill_null("missing")
    verdict = (
        pl.col(f"{g.name}_status")
        .replace_strict(
            {
                "passed": "holds",
                "capped": f"fails: no better than segment {g.best_segment}",
                "not_assessable": "cannot be evaluated: not assessable",
                "not_applicable": f"cannot change a segment already {g.best_segment} or worse",
            },
            default=None,
        )
        .cast(pl.String)
    )
    return pl.when(pl.col(_SCORE).is_not_null() & ~pl.col(_INTENSIVE)).then(
        pl.concat_str(
            pl.lit(f"{g.name}: {where} {g.indicator} "),
            value,
            pl.lit(f" {g.op} {threshold:g} "),
            verdict,
        )
    )


def _reason(spec: NofScenarioSpec) -> pl.Expr:
    """Return the per-trust explanation of the scenario segment (literal parameters only)."""
    rs = spec.rule()
    edges = "/".join(f"{b:g}" for b in spec.bounds)
    score, deficit = pl.col(_SCORE), pl.col("in_deficit")
    cap = spec.deficit_cap
    scored = score.is_not_null() & ~pl.col(_INTENSIVE)
    parts = [
        pl.when(score.is_null() & ~pl.col(_INTENSIVE)).then(
            pl.concat_str(
                pl.lit(f"not scored: no {rs.score} (the rule set scores only trusts with one)"),
                pl.format("; published adjusted segment {}", pl.col("__adjusted")),
                ignore_nulls=True,
            )
        ),
        pl.when(scored).then(
            pl.format(f"score {{}} -> segment {{}} by the edges {edges}", score, pl.col(_RAW))
        ),
        pl.when(scored & deficit.is_null()).then(pl.lit("deficit flag missing: not in deficit")),
        pl.when(scored & deficit.fill_null(False)).then(
            pl.lit("in deficit: no cap")
            if cap is None
            else pl.format(f"in deficit: no better than segment {cap} -> {{}}", pl.col(_CAP))
        ),
        *(_gate_reason(g, g.threshold) for g in spec.gates),
        pl.when(pl.col(_INTENSIVE)).then(pl.lit("intensive support: segment 5")),
        pl.when(pl.col(_BEFORE_SEG).is_not_null()).then(
            pl.format(
                "segment {} (published {}) -> {}",
                pl.col(_BEFORE_SEG).cast(pl.String).fill_null("none"),
                pl.col("segment_published").cast(pl.String).fill_null("none"),
                pl.col(_AFTER_SEG).cast(pl.String).fill_null(pl.col("change")),
            )
        ),
    ]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True).alias("reason")


def count_exprs(with_before: bool = True) -> list[pl.Expr]:
    """Return the count aggregations (:data:`NOF_COUNT_COLUMNS`; no before counts if told)."""
    change = pl.col("change")
    out = [
        pl.len().alias("n_trusts"),
        pl.col(_BEFORE_SEG).is_not_null().sum().alias("n_scored"),
        change.is_in(["better", "worse"]).sum().alias("n_changed"),
        (change == "better").sum().alias("n_better"),
        (change == "worse").sum().alias("n_worse"),
        (change == "not_assessable").sum().alias("n_not_assessable"),
    ]
    if with_before:
        out += [
            (pl.col(_BEFORE_SEG) == k).sum().alias(c)
            for k, c in zip(NOF_SEGMENT_VALUES, _BEFORE, strict=True)
        ]
    out += [
        (pl.col(_AFTER_SEG) == k).sum().alias(c)
        for k, c in zip(NOF_SEGMENT_VALUES, _AFTER, strict=True)
    ]
    return out


def share_changed() -> pl.Expr:
    """Return ``share_changed`` = n_changed / n_scored (null when no trust is scored)."""
    n = pl.col("n_scored")
    return (pl.when(n > 0).then(pl.col("n_changed") / n).otherwise(pl.lit(None, pl.Float64))).alias(
        "share_changed"
    )


def summarise_nof(trusts: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """ICS view and national summary from a NOF scenario's trust table."""
    by_ics = (
        trusts.group_by("icb_code")
        .agg(pl.col("icb_name").first(), *count_exprs())
        .with_columns(pl.col(NOF_COUNT_COLUMNS).cast(pl.Int64))
        .with_columns(share_changed())
        .sort("icb_code")
    )
    national = (
        by_ics.select(
            pl.col(NOF_COUNT_COLUMNS).sum(),
            pl.len().cast(pl.Int64).alias("n_ics"),
            (pl.col("n_changed") > 0).sum().cast(pl.Int64).alias("n_ics_changed"),
        )
        .with_columns(share_changed())
        .select(pl.lit(NATIONAL).alias("icb_code"), pl.all())
    )
    return by_ics, national


def _change_sentences(spec: NofScenarioSpec) -> list[str]:
    rs = spec.rule()
    out = []
    if spec.deficit_cap != rs.deficit_cap:
        out.append(
            "The deficit cap is removed: a trust in deficit keeps the segment of its score."
            if spec.deficit_cap in (None, 1)
            else f"The deficit cap moves from segment {rs.deficit_cap} to {spec.deficit_cap}."
        )
    if spec.bounds != rs.cuts.bounds:
        old = "/".join(f"{b:g}" for b in rs.cuts.bounds)
        new = "/".join(f"{b:g}" for b in spec.bounds)
        out.append(f"The segment edges move from {old} to {new}.")
    for g in spec.gates:
        where = "the trust's own" if g.scope == "provider" else "its ICS's"
        out.append(
            f"Gate {g.name!r}: a trust is no better than segment {g.best_segment} unless "
            f"{where} {g.indicator} {g.op} {g.threshold:g}."
        )
    if spec.sweep is not None and spec.sweep.target == "cut" and rs.cuts.intervals:
        lo, hi = rs.cuts.intervals[spec.sweep.cut - 1]  # type: ignore[operator]
        out.append(
            f"Edge {spec.sweep.cut} of {rs.name} is inferred from the published segments: "
            f"any value in [{lo:g}, {hi:g}) reproduces them."
        )
    return out


def nof_scenario_notes(
    spec: NofScenarioSpec, trusts: pl.DataFrame | None = None
) -> tuple[str, ...]:
    """Caveats for a NOF scenario (and, given its trust table, its data and exclusions)."""
    notes = [NOF_MODELLED_NOTE, NOF_LOWER_IS_BETTER_NOTE, *_change_sentences(spec)]
    if any(g.scope == "icb" for g in spec.gates):
        notes.append(SYSTEM_GATE_NOTE.replace("provider", "trust"))
    if trusts is not None:
        months = sorted(trusts["data_month"].drop_nulls().unique().to_list())
        if months:
            notes.append(f"NOF data month {', '.join(months)} ({spec.rule().name}).")
        counts = trusts["change"].value_counts()
        n = dict(zip(counts["change"].to_list(), counts["count"].to_list(), strict=True))
        if n.get("not_scored"):
            notes.append(
                f"{n['not_scored']} trust(s) have no {spec.rule().score} (not scored by the "
                "rule set, e.g. not on the acute league table): reported as not_scored, "
                "never changed."
            )
        if n.get("not_assessable"):
            notes.append(
                f"{n['not_assessable']} trust(s) are not assessable (a gate's indicator is "
                "missing and could change the segment): counted apart, neither kept nor changed."
            )
        off = trusts.filter(
            pl.col("segment_published").is_not_null()
            & (pl.col("segment_published") != pl.col(_BEFORE_SEG)).fill_null(True)
        )
        if off.height:
            notes.append(
                f"{off.height} trust(s) whose baseline segment differs from the published one "
                f"({', '.join(off['org_code'].to_list())}): see ics-model rules check --nof."
            )
    return tuple(notes)


def run_nof_scenario(
    placed: pl.DataFrame,
    spec: Any,
    *,
    provider_indicators: pl.DataFrame | None = None,
    icb_indicators: pl.DataFrame | None = None,
) -> NofScenarioResult:
    """Apply a NOF scenario to the placed NOF segments.

    Parameters
    ----------
    placed : the placed NOF trusts (:data:`~ics_model.mapping.nof.NOF_PLACED`: org_code,
        org_name, nhs_trust_type, icb_code, icb_name, data_month and the rule set's
        score, deficit and segment columns).
    spec : a :class:`~ics_model.scenarios.nof_spec.NofScenarioSpec`, a shipped scenario
        name, a YAML path or a mapping (``kind: nof``).
    provider_indicators : ``provider_id`` (the trust's ODS code) + indicator columns, for
        gates with scope provider (see :func:`~ics_model.scenarios.indicator_frames`).
    icb_indicators : ``icb_code`` + indicator columns (e.g. ``self_containment``), for
        gates with scope icb.

    Returns
    -------
    NofScenarioResult
        Trust table, ICS view, national summary and notes; the inputs are not changed.

    Raises
    ------
    KeyError
        The frame lacks a rule-set column, or a gate's indicator is not in its frame.
    TypeError
        ``spec`` is not a ``nof`` scenario.

    Examples
    --------
    >>> placed = pl.DataFrame({
    ...     "org_code": ["A", "B"], "icb_code": ["QE1", "QE1"],
    ...     "league_avg_score": [1.83, 2.5], "league_in_deficit": [True, False],
    ... })
    >>> spec = {"kind": "nof", "name": "x", "changes": {"deficit_cap": None}}
    >>> run_nof_scenario(placed, spec).trusts.select(
    ...     "org_code", "segment_before", "segment_after", "change"
    ... ).rows()
    [('A', 3, 1, 'better'), ('B', 3, 3, 'same')]
    """
    spec = get_nof_scenario(spec)
    frame = prepare_trusts(placed, spec, provider_indicators, icb_indicators)
    out = apply_scenario(frame, spec, scenario_params(spec))
    per_gate = [c for g in spec.gates for c in (f"{g.name}_status", f"{g.name}_value")]
    trusts = (
        out.with_columns(_reason(spec))
        .select(
            "org_code",
            "org_name",
            "nhs_trust_type",
            "icb_code",
            "icb_name",
            "data_month",
            "score",
            "in_deficit",
            "segment_published",
            _BEFORE_SEG,
            _AFTER_SEG,
            "change",
            "reason",
            *per_gate,
        )
        .sort("icb_code", "org_code")
    )
    by_ics, national = summarise_nof(trusts)
    row = national.row(0, named=True)
    logger.info(
        "NOF scenario %s: %d of %d scored trusts change (%d better, %d worse), %d not "
        "assessable, in %d of %d ICSs",
        spec.name,
        row["n_changed"],
        row["n_scored"],
        row["n_better"],
        row["n_worse"],
        row["n_not_assessable"],
        row["n_ics_changed"],
        row["n_ics"],
    )
    return NofScenarioResult(spec, trusts, by_ics, national, nof_scenario_notes(spec, trusts))


__all__ = [
    "NOF_CHANGES",
    "NOF_COUNT_COLUMNS",
    "NOF_LOWER_IS_BETTER_NOTE",
    "NOF_MODELLED_NOTE",
    "NOF_SEGMENT_VALUES",
    "NOF_SWEEP_COUNT_COLUMNS",
    "NofScenarioResult",
    "ScenarioParams",
    "apply_scenario",
    "count_exprs",
    "nof_scenario_notes",
    "prepare_trusts",
    "run_nof_scenario",
    "scenario_params",
    "share_changed",
    "summarise_nof",
]
