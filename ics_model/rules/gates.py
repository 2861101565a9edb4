"""Collaboration gates: "Outstanding only if <condition>, else capped".

Two levels (see :class:`~ics_model.rules.rulesets.Gate`):

``overall``
    an Outstanding overall rating stays Outstanding only if the indicator condition holds;
    otherwise it is capped (default: Good).
``key_question``
    the named key question (e.g. Well-led, where CQC judges partnership working) is capped
    when the condition fails, and the overall rating is re-aggregated from the key
    questions through the rule set. The published overall is changed only when the cap
    changes the principles-derived overall (so a provider whose published rating departs
    from the principles is not re-rated by the departure itself).

Status per provider and gate: ``not_applicable`` (the rating is not above the cap, so
the gate cannot change it), ``passed``, ``capped``, or ``not_assessable`` (the rating
could change but the indicator is missing): a not-assessable provider's gated rating is
null -- never silently capped or passed.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ics_model.ratings import DOMAINS, KEY_QUESTIONS, RATING_SCORES, RATINGS_BEST_FIRST, RatingEnum
from ics_model.rules.engine import counts_rule_expr
from ics_model.rules.rulesets import Gate, PrinciplesRuleSet, get_rule_set

#: what a gate did to one provider (the ``<gate>_status`` column of scenario outputs).
GATE_STATUSES = ("not_applicable", "passed", "capped", "not_assessable")
_OPS = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


def _wide(ratings: pl.DataFrame, id_cols: list[str]) -> pl.DataFrame:
    """Long (provider x key question) ratings -> one row per provider, a column per KQ."""
    wide = ratings.select(
        *id_cols, pl.col("key_question").cast(pl.String), pl.col("rating").cast(pl.String)
    ).pivot(on="key_question", index=id_cols, values="rating")
    for kq in KEY_QUESTIONS:
        if kq not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.String).alias(kq))
    return wide


def _derived_overall(rule_set: PrinciplesRuleSet, cols: dict[str, pl.Expr]) -> pl.Expr:
    def count(label: str) -> pl.Expr:
        return pl.sum_horizontal(
            [(e == label).fill_null(False).cast(pl.Int64) for e in cols.values()]
        )

    return counts_rule_expr(*(count(label) for label in RATINGS_BEST_FIRST), rule_set).cast(
        pl.String
    )


def apply_gates(
    ratings: pl.DataFrame,
    rule_set: Any,
    *,
    provider_indicators: pl.DataFrame | None = None,
    icb_indicators: pl.DataFrame | None = None,
    gates: list[Gate] | tuple[Gate, ...] | None = None,
) -> pl.DataFrame:
    """Apply a rule set's collaboration gates to providers (vectorised).

    Parameters
    ----------
    ratings : long frame with ``provider_id``, ``icb_code``, ``key_question`` and ``rating``
        (e.g. the ``mapped_ratings`` frame of one sector); the ``Overall`` rows are the
        ratings gated; key-question gates also use the five key questions.
    rule_set : a ``principles`` rule set holding the gates (or pass ``gates``); it also
        re-aggregates the overall rating after a key-question cap.
    provider_indicators : ``provider_id`` + indicator columns (gates with scope provider).
    icb_indicators : ``icb_code`` + indicator columns (gates with scope icb).

    Returns
    -------
    pl.DataFrame
        One row per provider: ``provider_id``, ``icb_code``, ``rating_before`` (Overall),
        ``rating_after`` (null when not assessable), ``status`` (the first of
        not_assessable, capped, passed, not_applicable that any gate gave; ``capped`` on a
        key-question gate means the key question was capped), ``overall_changed``,
        ``reason``,
        and per gate ``<name>_status`` and ``<name>_value``.
    """
    rs = get_rule_set(rule_set)
    if not isinstance(rs, PrinciplesRuleSet):
        raise TypeError("gates need a 'principles' rule set to re-aggregate ratings")
    gates = tuple(gates if gates is not None else rs.gates)
    if not gates:
        raise ValueError(f"rule set {rs.name!r} has no gates")
    names = [g.name for g in gates]
    if len(set(names)) != len(names):
        raise ValueError(f"gate names must be unique, got {names}")
    wide = _wide(ratings, ["provider_id", "icb_code"])
    for g in gates:
        source = provider_indicators if g.scope == "provider" else icb_indicators
        key = "provider_id" if g.scope == "provider" else "icb_code"
        if source is None or g.indicator not in source.columns:
            have = [] if source is None else [c for c in source.columns if c != key]
            raise KeyError(
                f"gate {g.name!r} needs {g.scope}-level indicator {g.indicator!r}; "
                f"available: {', '.join(have) or 'none'}"
            )
        wide = wide.join(
            source.select(key, pl.col(g.indicator).cast(pl.Float64).alias(f"{g.name}_value")),
            on=key,
            how="left",
        )
    current = {kq: pl.col(kq) for kq in KEY_QUESTIONS}
    out = wide.with_columns(pl.col("Overall").alias("rating_before"))
    overall = pl.col("Overall")
    for g in gates:
        value = pl.col(f"{g.name}_value")
        holds = _OPS[g.op](value, g.threshold)
        target = current[g.key_question] if g.level == "key_question" else overall
        above = (
            target.replace_strict(RATING_SCORES, default=0, return_dtype=pl.Int8)
            > RATING_SCORES[g.cap]
        )
        status = (
            pl.when(~above.fill_null(False))
            .then(pl.lit("not_applicable"))
            .when(value.is_null())
            .then(pl.lit("not_assessable"))
            .when(holds)
            .then(pl.lit("passed"))
            .otherwise(pl.lit("capped"))
        )
        out = out.with_columns(status.alias(f"{g.name}_status"))
        st = pl.col(f"{g.name}_status")
        if g.level == "overall":
            overall = (
                pl.when(st == "capped")
                .then(pl.lit(g.cap))
                .when(st == "not_assessable")
                .then(pl.lit(None, pl.String))
                .otherwise(overall)
            )
        else:
            capped_kq = pl.when(st == "capped").then(pl.lit(g.cap)).otherwise(target)
            five_before = {k: current[k] for k in DOMAINS}
            five_after = {**five_before, g.key_question: capped_kq}
            derived_before = _derived_overall(rs, five_before)
            derived_after = _derived_overall(rs, five_after)
            overall = (
                pl.when(st == "not_assessable")
                .then(pl.lit(None, pl.String))
                .when((st == "capped") & (derived_after != derived_before))
                .then(derived_after)
                .otherwise(overall)
            )
            current[g.key_question] = capped_kq
    statuses = [pl.col(f"{g.name}_status") for g in gates]

    def any_is(label: str) -> pl.Expr:
        return pl.any_horizontal([s == label for s in statuses])

    reason = pl.concat_str(
        [
            pl.when(pl.col(f"{g.name}_status").is_in(["capped", "not_assessable", "passed"])).then(
                pl.format(
                    "{}: {} {} {} {} -> {}",
                    pl.lit(g.name),
                    pl.lit(f"{g.scope} {g.indicator}"),
                    pl.col(f"{g.name}_value").round(4).cast(pl.String).fill_null("missing"),
                    pl.lit(g.op),
                    pl.lit(g.threshold),
                    pl.col(f"{g.name}_status"),
                )
            )
            for g in gates
        ],
        separator="; ",
        ignore_nulls=True,
    )
    out = out.with_columns(
        overall.cast(RatingEnum).alias("rating_after"),
        pl.when(any_is("not_assessable"))
        .then(pl.lit("not_assessable"))
        .when(any_is("capped"))
        .then(pl.lit("capped"))
        .when(any_is("passed"))
        .then(pl.lit("passed"))
        .otherwise(pl.lit("not_applicable"))
        .alias("status"),
        reason.alias("reason"),
    )
    per_gate = [c for g in gates for c in (f"{g.name}_status", f"{g.name}_value")]
    return out.select(
        "provider_id",
        "icb_code",
        pl.col("rating_before").cast(RatingEnum),
        "rating_after",
        "status",
        (pl.col("rating_after").cast(pl.String) != pl.col("rating_before").cast(pl.String))
        .fill_null(False)
        .alias("overall_changed"),
        pl.when(pl.col("reason") == "").then(None).otherwise(pl.col("reason")).alias("reason"),
        *per_gate,
    ).sort("provider_id")
