"""Check a rule set against the ratings CQC published.

Re-derives published aggregates from their inputs and reports, per level,

``core_service``
    each core service's Overall rating from its key-question ratings;
``trust``
    each provider's trust-level Overall rating from its five key-question ratings,

the agreement rate, a confusion matrix and every disagreement (provider, inputs,
published, derived), grouped into classes with an explanation where one is known.
The principles "normally" apply: inspectors may depart from them with recorded
judgement, so disagreement is expected and is not an error in the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from ics_model.ratings import RATING_SCORES
from ics_model.rules.engine import combine_frame
from ics_model.rules.rulesets import PrinciplesRuleSet, available_rule_sets, get_rule_set

JUDGEMENT_NOTE = (
    "CQC's ratings principles apply 'normally': inspectors may depart from them with recorded "
    "judgement, so some disagreement is expected."
)

CLASS_EXPLANATIONS = {
    "inputs_published_on_other_dates": (
        "the key-question ratings carry publication dates other than the aggregate's: some "
        "were updated by a later (focused) inspection without re-aggregating, or vice versa"
    ),
    "matches_other_rule_set": (
        "another shipped rule set reproduces the published rating (see 'matched_by'); e.g. "
        "two RI tolerated as in the combined quality and use-of-resources rule "
        "(cqc_trust_combined)"
    ),
    "outstanding_not_awarded": (
        "the Outstanding rule was met but Good was published: recorded inspector judgement"
    ),
    "outstanding_despite_requires_improvement": (
        "Outstanding published with a Requires improvement input: recorded inspector "
        "judgement; trust-level ratings also draw on core-service and location ratings"
    ),
    "published_better": "published above the principles: recorded inspector judgement",
    "published_worse": "published below the principles: recorded inspector judgement",
}


@dataclass(frozen=True)
class CheckResult:
    """Agreement of a rule set with published ratings.

    Attributes
    ----------
    rule_set : the rule set's name.
    summary : level, n, n_agree, agreement, n_nhs, n_nhs_agree, nhs_agreement.
    confusion : level, published, derived, n.
    disagreements : level, provider_id, service, inputs, published, derived,
        disagreement_class, matched_by, explanation.
    note : the judgement caveat.
    """

    rule_set: str
    summary: pl.DataFrame
    confusion: pl.DataFrame
    disagreements: pl.DataFrame
    note: str = JUDGEMENT_NOTE


_ABBREV = {"Outstanding": "O", "Good": "G", "Requires improvement": "RI", "Inadequate": "I"}


def _level_frames(ratings: pl.DataFrame) -> dict[str, tuple[pl.DataFrame, list[str]]]:
    core = ratings.filter(pl.col("report_type") == "CoreService")
    trust = ratings.filter((pl.col("report_type") == "Provider") & (pl.col("service") == "Overall"))
    return {
        "core_service": (core, ["provider_id", "service"]),
        "trust": (trust, ["provider_id", "service"]),
    }


def _derive(inputs: pl.DataFrame, keys: list[str], rule_set: Any) -> pl.DataFrame:
    return combine_frame(inputs, by=keys, rule_set=rule_set, name="derived")


def check_against_published(ratings: pl.DataFrame, rule_set: Any = "cqc_principles") -> CheckResult:
    """Re-derive published aggregates and compare (see the module docstring).

    Parameters
    ----------
    ratings : canonical CQC ratings (Providers sheet), e.g. the embedded 2018 file.
    rule_set : a ``principles`` rule set (name, path or object).
    """
    rs = get_rule_set(rule_set)
    if not isinstance(rs, PrinciplesRuleSet):
        raise TypeError(f"checking needs a 'principles' rule set, got kind {rs.kind!r}")
    others = [
        n
        for n in available_rule_sets()
        if n != rs.name and isinstance(get_rule_set(n), PrinciplesRuleSet)
    ]
    summaries, confusions, disagreements = [], [], []
    for level, (frame, keys) in _level_frames(ratings).items():
        kq = frame.filter(pl.col("key_question").cast(pl.String) != "Overall")
        published = frame.filter(pl.col("key_question").cast(pl.String) == "Overall").select(
            *keys,
            pl.col("rating").cast(pl.String).alias("published"),
            pl.col("publication_date").alias("published_on"),
        )
        inputs = kq.group_by(keys).agg(
            pl.concat_str(
                pl.col("key_question").cast(pl.String),
                pl.lit("="),
                pl.col("rating").cast(pl.String).replace(_ABBREV).fill_null("-"),
            )
            .sort()
            .str.join("; ")
            .alias("inputs"),
            pl.col("publication_date").alias("input_dates"),
        )
        derived = _derive(kq, keys, rs).select(
            *keys,
            pl.col("derived").cast(pl.String),
            "n_outstanding",
            "n_requires_improvement",
        )
        j = (
            published.filter(pl.col("published").is_not_null())
            .join(derived, on=keys, how="left")
            .join(inputs, on=keys, how="left")
            .with_columns(
                (pl.col("published") == pl.col("derived")).fill_null(False).alias("agree"),
                ~pl.col("provider_id").str.starts_with("1-").alias("nhs"),
            )
        )
        for other in others:
            alt = _derive(kq, keys, other).select(
                *keys, pl.col("derived").cast(pl.String).alias(f"_alt_{other}")
            )
            j = j.join(alt, on=keys, how="left")
        alt_cols = [c for c in j.columns if c.startswith("_alt_")]
        matched = (
            pl.concat_list(
                [pl.when(pl.col(c) == pl.col("published")).then(pl.lit(c[5:])) for c in alt_cols]
            )
            .list.drop_nulls()
            .list.join(", ")
            if alt_cols
            else pl.lit("")
        )
        better = pl.col("published").replace_strict(RATING_SCORES, return_dtype=pl.Int8) > pl.col(
            "derived"
        ).replace_strict(RATING_SCORES, return_dtype=pl.Int8)
        dates_differ = (
            pl.col("input_dates").list.set_difference(pl.concat_list("published_on")).list.len() > 0
        )
        dis = (
            j.filter(~pl.col("agree"))
            .with_columns(matched.alias("matched_by"))
            .with_columns(
                pl.when(dates_differ)
                .then(pl.lit("inputs_published_on_other_dates"))
                .when(pl.col("matched_by") != "")
                .then(pl.lit("matches_other_rule_set"))
                .when((pl.col("derived") == "Outstanding") & (pl.col("published") == "Good"))
                .then(pl.lit("outstanding_not_awarded"))
                .when(
                    (pl.col("published") == "Outstanding") & (pl.col("n_requires_improvement") > 0)
                )
                .then(pl.lit("outstanding_despite_requires_improvement"))
                .when(better)
                .then(pl.lit("published_better"))
                .otherwise(pl.lit("published_worse"))
                .alias("disagreement_class")
            )
            .with_columns(
                pl.col("disagreement_class")
                .replace_strict(CLASS_EXPLANATIONS, return_dtype=pl.String)
                .alias("explanation"),
                pl.lit(level).alias("level"),
            )
            .select(
                "level",
                "provider_id",
                "service",
                "inputs",
                "published",
                "derived",
                "disagreement_class",
                pl.col("matched_by").replace("", None),
                "explanation",
            )
            .sort("level", "provider_id", "service")
        )
        disagreements.append(dis)
        summaries.append(
            j.select(
                pl.lit(level).alias("level"),
                pl.len().cast(pl.Int64).alias("n"),
                pl.col("agree").sum().cast(pl.Int64).alias("n_agree"),
                pl.col("nhs").sum().cast(pl.Int64).alias("n_nhs"),
                (pl.col("agree") & pl.col("nhs")).sum().cast(pl.Int64).alias("n_nhs_agree"),
            ).with_columns(
                (pl.col("n_agree") / pl.col("n")).alias("agreement"),
                (pl.col("n_nhs_agree") / pl.col("n_nhs")).alias("nhs_agreement"),
            )
        )
        confusions.append(
            j.group_by("published", "derived")
            .len("n")
            .select(
                pl.lit(level).alias("level"), "published", "derived", pl.col("n").cast(pl.Int64)
            )
            .sort("published", "derived")
        )
    return CheckResult(
        rule_set=rs.name,
        summary=pl.concat(summaries),
        confusion=pl.concat(confusions),
        disagreements=pl.concat(disagreements),
    )
