"""NHS trusts: the current open trust is the unit.

A trust inherits a rating only from its sole rated predecessor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

import polars as pl

from ics_model.mapping.base import (
    ACCOUNT_SCHEMA,
    SUPERSEDED_SCHEMA,
    TRUST_KEY_QUESTIONS,
    UNIT_ROWS_SCHEMA,
    UNMAPPED_SCHEMA,
    Placed,
    day_precision_columns,
    file_inherited,
    file_inherited_columns,
    finish,
)
from ics_model.mapping.icb_geography import with_split_hosts
from ics_model.mapping.successors import icb_table, lost_reason, resolve_successors, with_icb
from ics_model.ratings import KeyQuestionEnum, SectorEnum

log = logging.getLogger(__name__)

#: combines several ratings into one per group: ``f(frame, by=[...])`` -> one row per
#: ``by`` group with a ``rating`` column (a rule set's combination, chosen by the caller).
Combiner = Callable[..., pl.DataFrame]


# --------------------------------------------------------------------------- trusts


def place_trusts(
    ratings: pl.DataFrame,
    trusts: pl.DataFrame,
    successors: pl.DataFrame,
    icb_codes: pl.DataFrame,
    *,
    source: str = "trust_ratings",
    icb_vintage: str = "2023",
    inherit: bool = True,
    combine_predecessors: Combiner | None = None,
    ratings_vintage: str | None = None,
    premerger: Literal["keep", "exclude", "combine"] = "keep",
    premerger_combine: Combiner | None = None,
    hosts: pl.DataFrame | None = None,
) -> Placed:
    """Place NHS trust ratings in ICSs, with the current open trust as the unit.

    Parameters
    ----------
    ratings : canonical CQC ratings (``read_cqc_ratings(...).frame``), Providers sheet.
    trusts : canonical ODS ``etr`` frame (org_code, name, icb_code, is_open).
    successors : canonical ODS ``succ`` frame.
    icb_codes : canonical ICB list (icb_code, icb_gss, icb_name).
    inherit : let a trust with no rating inherit its only rated predecessor's rating.
    combine_predecessors : None (default: a trust with several rated predecessors stays
        unrated) or a combiner ``f(frame, by=[...]) -> frame``, one row per group with a
        ``rating`` column (e.g. a rule set's
        ``functools.partial(ics_model.rules.combine_frame, rule_set="cqc_principles",
        name="rating")``): their trust-level ratings are then combined per key question
        (``mapping_method = ods_successor_combined``, ``rating_source = combined``) -- a
        modelling choice, off by default.
    premerger : what to do with a trust's own rating published before the trust absorbed
        another rated trust (see :func:`premerger_flags`): ``keep`` (default; flagged
        ``rating_predates_merger``) or ``exclude`` (the trust stays, unrated, with an
        ``unrated_reason`` naming the merger; its input rows count as ``superseded``) or
        ``combine`` (its rating is combined per key question, with ``premerger_combine``,
        with the ratings of the trusts it absorbed after that rating was published:
        ``rating_source = combined``, ``inherited_from`` lists the trusts combined, the
        absorbed trusts' rows count as ``inherited``; still flagged). A rated trust that
        split is flagged on each rated successor but never combined into them (one
        rating cannot count in several trusts).
    premerger_combine : the combiner for ``premerger = "combine"`` (as
        ``combine_predecessors``); required then.
    hosts : optional (org_code, icb_code) host ICBs in ``icb_vintage`` (ODS etr 2026 for
        ``"2026"``), used only for trusts whose 2023 host ICB split (see
        :func:`~ics_model.mapping.icb_geography.with_split_hosts`).

    Returns
    -------
    Placed
        ``ratings``: one row per open English trust x key question (Overall and the five),
        trust-level ratings (``service == "Overall"``); unrated trusts have null ratings and an
        ``unrated_reason``. ``accounts`` counts every input row once.
        ``rating_predates_merger`` is True on a row whose own rating was published before
        the trust absorbed another rated trust (``premerger_absorbed``: those trusts'
        codes, sorted, ``;``-separated) and False on every other trust row (unrated rows
        included). A rated predecessor that split leaves its successors an
        ``unrated_reason`` naming the split.
    """
    open_trusts = trusts.filter(pl.col("is_open"))
    icbs, cmap = icb_table(icb_codes, successors, icb_vintage)
    hosted = with_icb(
        open_trusts.filter(pl.col("icb_code").is_not_null()).select("org_code", "name", "icb_code"),
        icbs,
        cmap,
    )
    if hosts is not None:
        hosted = with_split_hosts(hosted, hosts, icbs)
    lost = {
        code: lost_reason(old, note, icb_vintage)
        for code, old, note in hosted.filter(pl.col("icb_code").is_null())
        .select("org_code", "icb_code_2023", "icb_note")
        .iter_rows()
    }
    england = hosted.filter(pl.col("icb_code").is_not_null())
    england_codes = set(england["org_code"])
    open_codes = set(open_trusts["org_code"])
    all_etr = set(trusts["org_code"])

    row_counts = ratings.group_by("provider_id").len("n_rows")
    rated_ids = sorted(row_counts["provider_id"])
    resolved = resolve_successors(rated_ids, successors, open_codes)
    has_own = set(rated_ids) & england_codes

    decisions: dict[str, tuple[str, str | None, str | None]] = {}  # id -> (outcome, unit, reason)
    candidates: dict[str, list[str]] = {}
    for code, current, status, chain in resolved.iter_rows():
        if current in lost:
            decisions[code] = ("unmapped", None, lost[current])
        elif status == "open":
            if code in england_codes:
                decisions[code] = ("used", code, None)
            else:
                decisions[code] = ("unmapped", None, "open trust outside England (no host ICB)")
        elif status == "successor":
            if current not in england_codes:
                decisions[code] = (
                    "unmapped",
                    None,
                    f"successor {current} is outside England ({chain})",
                )
            elif current in has_own:
                decisions[code] = (
                    "superseded",
                    None,
                    f"closed; successor {current} has its own rating ({chain})",
                )
            elif not inherit:
                decisions[code] = ("unmapped", None, f"closed; inheritance switched off ({chain})")
            else:
                candidates.setdefault(current, []).append(code)
        elif status == "split":
            decisions[code] = ("unmapped", None, f"split into several organisations ({chain})")
        elif code.startswith("1-"):
            decisions[code] = (
                "unmapped",
                None,
                "independent provider (CQC ID, not an NHS trust ODS code)",
            )
        elif code not in all_etr:
            decisions[code] = (
                "unmapped",
                None,
                "not in ODS etr (e.g. a care trust) and no open successor",
            )
        else:
            decisions[code] = ("unmapped", None, f"closed trust with no open successor ({chain})")

    inherited_from: dict[str, str] = {}
    unrated_reason: dict[str, str] = {}
    flags = premerger_flags(ratings, resolved, successors, has_own)
    excluded: set[str] = set()
    if premerger == "exclude":
        excluded = {u for u in flags["provider_id"] if decisions[u][0] == "used"}
        for unit, pub, absorbed, merged in (
            flags.group_by("provider_id")
            .agg(
                pl.col("publication_date").min(),
                pl.col("premerger_absorbed").first(),
                pl.col("merged_on").first(),
            )
            .iter_rows()
        ):
            if unit not in excluded:
                continue
            what = f"own rating published {pub} predates absorbing {absorbed} ({merged})"
            decisions[unit] = ("superseded", None, f"{what}; mapping.premerger_ratings = exclude")
            unrated_reason[unit] = f"{what}; left out (mapping.premerger_ratings = exclude)"
    premerger_parts = _premerger_parts(flags, resolved, decisions) if premerger == "combine" else {}
    if premerger == "combine":
        if premerger_combine is None:
            raise ValueError("premerger='combine' needs a premerger_combine combiner")
        for unit, parts in premerger_parts.items():
            for code in parts:
                decisions[code] = ("inherited", unit, None)
    combined_units: set[str] = set()
    for unit, preds in candidates.items():
        if len(preds) == 1:
            decisions[preds[0]] = ("inherited", unit, None)
            inherited_from[unit] = preds[0]
        elif combine_predecessors is not None:
            for p in preds:
                decisions[p] = ("inherited", unit, None)
            inherited_from[unit] = "+".join(sorted(preds))
            combined_units.add(unit)
        else:
            names = ", ".join(sorted(preds))
            unrated_reason[unit] = f"several rated predecessors ({names}); ratings not combined"
            for p in preds:
                decisions[p] = (
                    "unmapped",
                    None,
                    f"one of {len(preds)} rated predecessors of {unit} ({names}); "
                    "ratings not combined",
                )

    for code, _current, _status, chain in resolved.filter(pl.col("status") == "split").iter_rows():
        parts = sorted(chain.rsplit(" > ", 1)[-1].strip("{}").split(", "))
        for unit in parts:
            if unit in england_codes and unit not in has_own and unit not in inherited_from:
                unrated_reason.setdefault(
                    unit,
                    f"rated predecessor {code} split into several organisations "
                    f"({', '.join(parts)}); its rating is not assigned to any of them",
                )

    dec = pl.DataFrame(
        [(k, *v) for k, v in decisions.items()],
        schema=dict.fromkeys(("provider_id", "outcome", "unit", "reason"), pl.String),
        orient="row",
    ).join(row_counts, on="provider_id", how="left")
    # rows the file itself flags as inherited, of trusts placed with their own rating
    flagged_rows = (
        ratings.filter(file_inherited()).group_by("provider_id").agg(pl.len().alias("_n_inh"))
        if "inherited" in ratings.columns
        else pl.DataFrame(schema={"provider_id": pl.String, "_n_inh": pl.UInt32})
    )
    own_used = dec.filter(pl.col("outcome") == "used").join(
        flagged_rows, on="provider_id", how="inner"
    )
    dec = pl.concat(
        [
            dec.join(own_used.select("provider_id"), on="provider_id", how="anti"),
            own_used.select(
                "provider_id",
                "outcome",
                "unit",
                "reason",
                (pl.col("n_rows") - pl.col("_n_inh")).alias("n_rows"),
            ),
            own_used.select(
                "provider_id",
                pl.lit("inherited").alias("outcome"),
                "unit",
                "reason",
                pl.col("_n_inh").alias("n_rows"),
            ),
        ],
        how="vertical_relaxed",
    ).filter(pl.col("n_rows") > 0)

    accounts = (
        dec.group_by("outcome")
        .agg(pl.col("n_rows").sum())
        .select(pl.lit(source).alias("source"), "outcome", pl.col("n_rows").cast(pl.Int64))
    )
    superseded = dec.filter(pl.col("outcome") == "superseded").select(
        pl.lit(source).alias("source"),
        pl.lit(None, pl.Int64).alias("source_row"),
        "provider_id",
        pl.col("n_rows").cast(pl.Int64),
        "reason",
    )
    unmapped = dec.filter(pl.col("outcome") == "unmapped").select(
        pl.lit(source).alias("source"),
        pl.lit("nhs_trust").alias("sector"),
        "provider_id",
        pl.col("n_rows").cast(pl.Int64),
        "reason",
    )

    # trust-level ratings of each unit's rating source
    unit_source = dec.filter(pl.col("outcome").is_in(["used", "inherited"])).select(
        "provider_id", "unit"
    )
    trust_level = ratings.filter(pl.col("service") == "Overall").join(
        unit_source, on="provider_id", how="inner"
    )
    grid = england.select(
        pl.col("org_code").alias("provider_id"),
        pl.col("name").alias("provider_name"),
        "icb_code",
        "icb_gss",
        "icb_name",
    ).join(
        pl.DataFrame({"key_question": list(TRUST_KEY_QUESTIONS)}).cast(
            {"key_question": KeyQuestionEnum}
        ),
        how="cross",
    )
    joined = grid.join(
        trust_level.select(
            pl.col("unit").alias("provider_id"),
            pl.col("provider_id").alias("rated_as"),
            "key_question",
            "rating",
            "rating_status",
            "publication_date",
            (
                pl.col("inherited") & (pl.col("provider_id") == pl.col("unit"))
                if "inherited" in trust_level.columns
                else pl.lit(None, pl.Boolean)
            ).alias("inherited"),
        ),
        on=["provider_id", "key_question"],
        how="left",
    )
    if combined_units:
        joined = _combine_predecessors(joined, combined_units, combine_predecessors)
    if premerger_parts:
        joined = _combine_premerger(joined, flags, set(premerger_parts), premerger_combine)
        for unit, parts in premerger_parts.items():
            inherited_from[unit] = "+".join(sorted([unit, *parts]))
    inh = pl.DataFrame(
        {"provider_id": list(inherited_from), "inherited_from": list(inherited_from.values())},
        schema={"provider_id": pl.String, "inherited_from": pl.String},
    )
    why = pl.DataFrame(
        {"provider_id": list(unrated_reason), "why": list(unrated_reason.values())},
        schema={"provider_id": pl.String, "why": pl.String},
    )
    out = (
        joined.join(inh, on="provider_id", how="left")
        .join(why, on="provider_id", how="left")
        .with_columns(
            pl.lit("nhs_trust").cast(SectorEnum).alias("sector"),
            pl.when(pl.col("provider_id").is_in(sorted(premerger_parts)))
            .then(pl.lit("ods_trust"))
            .when(pl.col("provider_id").is_in(sorted(combined_units)))
            .then(pl.lit("ods_successor_combined"))
            .when(pl.col("inherited_from").is_not_null())
            .then(pl.lit("ods_successor"))
            .otherwise(pl.lit("ods_trust"))
            .alias("mapping_method"),
            pl.when(pl.col("provider_id").is_in(sorted(combined_units | set(premerger_parts))))
            .then(pl.lit("combined"))
            .when(pl.col("inherited_from").is_not_null())
            .then(pl.lit("inherited"))
            .when(pl.col("provider_id").is_in(sorted(has_own - excluded)))
            .then(pl.lit("own"))
            .otherwise(pl.lit("none"))
            .alias("rating_source"),
            pl.col("rating_status").fill_null("missing"),
            *day_precision_columns(),
        )
        .with_columns(file_inherited_columns("Inherited Rating (Y/N)"))
        .with_columns(
            pl.when(pl.col("rating").is_null())
            .then(
                pl.coalesce(
                    pl.col("why"),
                    pl.when(pl.col("provider_id").is_in(sorted(has_own)))
                    .then(pl.lit("no trust-level rating for this key question"))
                    .otherwise(pl.lit("no rating of its own and no rated predecessor")),
                )
            )
            .alias("unrated_reason"),
        )
        .join(
            flags.select("provider_id", "key_question", "premerger_absorbed"),
            on=["provider_id", "key_question"],
            how="left",
        )
        .with_columns(pl.col("premerger_absorbed").is_not_null().alias("rating_predates_merger"))
    )
    if lost:
        unrated_lost = [c for c in lost if c not in has_own]
        unmapped = pl.concat(
            [
                unmapped,
                pl.DataFrame(
                    {
                        "source": [source] * len(unrated_lost),
                        "sector": ["nhs_trust"] * len(unrated_lost),
                        "provider_id": unrated_lost,
                        "n_rows": [0] * len(unrated_lost),
                        "reason": [lost[c] for c in unrated_lost],
                    },
                    schema=UNMAPPED_SCHEMA,
                ),
            ]
        )
    ratings_out = finish(out)
    log.info(
        "placed %d trusts (%d inherited, %d rated before a merger%s), %d rated providers unmapped",
        ratings_out["provider_id"].n_unique(),
        len(inherited_from) - len(premerger_parts),
        flags["provider_id"].n_unique(),
        {"keep": "", "exclude": ", excluded", "combine": ", combined"}[premerger],
        unmapped.height,
    )
    return Placed(
        ratings_out,
        unmapped.cast(UNMAPPED_SCHEMA),
        accounts.cast(ACCOUNT_SCHEMA),
        superseded.cast(SUPERSEDED_SCHEMA).sort("provider_id"),
        unit_rows=dec.filter(pl.col("outcome").is_in(["used", "inherited"]))
        .group_by(pl.col("unit").alias("provider_id"), "outcome")
        .agg(pl.col("n_rows").sum())
        .cast(UNIT_ROWS_SCHEMA),
    )


def premerger_flags(
    ratings: pl.DataFrame,
    resolved: pl.DataFrame,
    successors: pl.DataFrame,
    rated_units: set[str],
) -> pl.DataFrame:
    """Return the trust-level ratings published before their trust absorbed a rated trust.

    Parameters
    ----------
    ratings : canonical CQC trust ratings (``provider_id``, ``service``, ``key_question``,
        ``publication_date``).
    resolved : :func:`~ics_model.mapping.successors.resolve_successors` of the rated codes.
    successors : the canonical ODS ``succ`` frame.
    rated_units : open trusts with a rating of their own.

    Returns
    -------
    pl.DataFrame
        One row per flagged unit x key question: provider_id, key_question,
        publication_date, ``premerger_absorbed`` (the absorbed rated trusts' codes, sorted,
        ``;``-separated) and ``merged_on`` (their merger dates, in the same order). A rated
        trust is absorbed by ``unit`` when its successor chain ends at ``unit``; its merger
        date is the ODS effective date of the chain's last link (into ``unit``). A rated
        trust that split counts as absorbed by each of its successors with a rating of
        their own (they took over part of it). A rating
        counts as pre-merger when that date is **after** its publication date (a merger on
        or before publication is already in the rating). Rows without a date are not
        flagged.

    Examples
    --------
    >>> from datetime import date
    >>> ratings = pl.DataFrame(
    ...     {
    ...         "provider_id": ["A", "B"],
    ...         "service": ["Overall", "Overall"],
    ...         "key_question": ["Overall", "Overall"],
    ...         "publication_date": [date(2017, 1, 5), date(2016, 3, 1)],
    ...     }
    ... )
    >>> resolved = pl.DataFrame(
    ...     {"code": ["A", "B"], "current_code": ["A", "A"], "status": ["open", "successor"],
    ...      "chain": ["A", "B > A"]}
    ... )
    >>> succ = pl.DataFrame(
    ...     {"predecessor_code": ["B"], "successor_code": ["A"],
    ...      "effective_date": [date(2020, 4, 1)]}
    ... )
    >>> premerger_flags(ratings, resolved, succ, {"A"})["premerger_absorbed"].to_list()
    ['B']
    """
    links = successors.group_by("predecessor_code", "successor_code").agg(
        pl.col("effective_date").max()
    )
    absorbed = (
        resolved.filter(
            (pl.col("status") == "successor") & pl.col("current_code").is_in(sorted(rated_units))
        )
        .with_columns(
            pl.col("chain").str.split(" > ").list.get(-2).alias("predecessor_code"),
        )
        .join(
            links,
            left_on=["predecessor_code", "current_code"],
            right_on=["predecessor_code", "successor_code"],
            how="left",
        )
        .select(pl.col("current_code").alias("provider_id"), "code", "effective_date")
    )
    # a rated trust that split: each rated open successor took over part of it
    split = (
        resolved.filter(pl.col("status") == "split")
        .with_columns(pl.col("chain").str.split(" > ").alias("_parts"))
        .with_columns(
            pl.col("_parts").list.get(-2).alias("predecessor_code"),
            pl.col("_parts").list.get(-1).str.strip_chars("{}").str.split(", ").alias("_to"),
        )
        .explode("_to")
        .filter(pl.col("_to").is_in(sorted(rated_units)))
        .join(
            links,
            left_on=["predecessor_code", "_to"],
            right_on=["predecessor_code", "successor_code"],
            how="left",
        )
        .select(pl.col("_to").alias("provider_id"), "code", "effective_date")
    )
    absorbed = pl.concat([absorbed, split])
    own = ratings.filter(pl.col("service") == "Overall").select(
        "provider_id", "key_question", "publication_date"
    )
    return (
        own.join(absorbed, on="provider_id", how="inner")
        .filter(pl.col("effective_date") > pl.col("publication_date"))
        .sort("provider_id", "key_question", "code")
        .group_by("provider_id", "key_question", "publication_date", maintain_order=True)
        .agg(
            pl.col("code").str.join(";").alias("premerger_absorbed"),
            pl.col("effective_date").cast(pl.String).str.join(";").alias("merged_on"),
        )
    )


def _combine_predecessors(joined: pl.DataFrame, units: set[str], combine: Combiner) -> pl.DataFrame:
    """Combine several predecessors' ratings per (unit, key question) with ``combine``."""
    multi = joined.filter(pl.col("provider_id").is_in(sorted(units)))
    keys = ["provider_id", "provider_name", "icb_code", "icb_gss", "icb_name", "key_question"]
    combined = combine(multi, by=keys).join(
        multi.group_by(keys).agg(pl.col("publication_date").max()), on=keys, how="left"
    )
    combined = combined.select(
        *keys,
        pl.lit(None, pl.String).alias("rated_as"),
        "rating",
        pl.when(pl.col("rating").is_not_null())
        .then(pl.lit("rated"))
        .otherwise(pl.lit("missing"))
        .cast(multi.schema["rating_status"])
        .alias("rating_status"),
        "publication_date",
    )
    if "inherited" in multi.columns:  # a combination is no file-flagged inheritance
        combined = combined.with_columns(pl.lit(None, pl.Boolean).alias("inherited"))
    rest = joined.filter(~pl.col("provider_id").is_in(sorted(units)))
    return pl.concat([rest, combined.select(rest.columns)])


def _premerger_parts(
    flags: pl.DataFrame,
    resolved: pl.DataFrame,
    decisions: dict[str, tuple[str, str | None, str | None]],
) -> dict[str, list[str]]:
    """Map each flagged trust still in use to the absorbed trusts whose ratings it combines.

    Only absorbed trusts whose successor chain ends at that very trust, and whose rows
    it supersedes, are combined; a trust that split stays out (see ``place_trusts``).
    """
    absorbed_by = {
        code: current
        for code, current in resolved.filter(pl.col("status") == "successor")
        .select("code", "current_code")
        .iter_rows()
    }
    parts: dict[str, set[str]] = {}
    for unit, absorbed in flags.select("provider_id", "premerger_absorbed").iter_rows():
        if decisions[unit][0] != "used":
            continue
        for code in absorbed.split(";"):
            if absorbed_by.get(code) == unit and decisions[code][0] == "superseded":
                parts.setdefault(unit, set()).add(code)
    return {u: sorted(c) for u, c in sorted(parts.items())}


def _combine_premerger(
    joined: pl.DataFrame, flags: pl.DataFrame, units: set[str], combine: Combiner
) -> pl.DataFrame:
    """Combine each unit's pre-merger rating with its absorbed trusts', per key question.

    An absorbed trust's rating joins the unit's only for the key questions whose own
    rating predates that merger (``flags``); for the others the unit's own rating stands.
    """
    pairs = (
        flags.filter(pl.col("provider_id").is_in(sorted(units)))
        .select(
            "provider_id", "key_question", pl.col("premerger_absorbed").str.split(";").alias("a")
        )
        .explode("a")
        .rename({"a": "rated_as"})
    )
    mine = joined.filter(pl.col("provider_id").is_in(sorted(units)))
    keep = pl.concat(
        [
            mine.filter(pl.col("rated_as") == pl.col("provider_id")),
            mine.join(pairs, on=["provider_id", "key_question", "rated_as"], how="semi"),
        ]
    )
    combined = _combine_predecessors(keep, units, combine)
    return pl.concat([joined.filter(~pl.col("provider_id").is_in(sorted(units))), combined])
