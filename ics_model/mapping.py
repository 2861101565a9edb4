"""Place providers in ICSs.

Three routes, each recorded in ``mapping_method``:

``ods_trust``
    an NHS trust rated under its own ODS code, open in the ODS ``etr`` file, placed in
    its host ICB (etr column 3).
``ods_successor``
    an open trust with no rating of its own that inherits the rating of its only rated
    predecessor, found through the ODS successor file (``succ``), following chains.
``icb_name``
    a GP practice placed through the ICB name in its ratings file.
``sub_icb_gss``
    a CQC location placed through ``Location ONSPD CCG Code`` (a 2023 sub-ICB GSS code).
``ods_trust_location``
    a CQC location whose sub-ICB code is missing or unknown, placed through its
    provider's ODS trust code.

The unit of the trust sector is the current open NHS trust. Ratings are never
combined across predecessors: a trust with several rated predecessors stays unrated
and each predecessor goes to the unmapped report with the reason. Every input row
ends in exactly one of: used, inherited, superseded, quarantined, unmapped
(:func:`conservation`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.ratings import (
    KEY_QUESTIONS,
    KeyQuestionEnum,
    RatingEnum,
    RatingStatusEnum,
    SectorEnum,
)

log = logging.getLogger(__name__)

MAPPING_METHODS = frozenset(
    {"ods_trust", "ods_successor", "icb_name", "sub_icb_gss", "ods_trust_location"}
)
RATING_SOURCES = frozenset({"own", "inherited", "none"})
OUTCOMES = ("used", "inherited", "superseded", "quarantined", "unmapped")
TRUST_KEY_QUESTIONS = KEY_QUESTIONS
GP_KEY_QUESTIONS = ("Overall",)

MAPPED_RATINGS = Contract(
    name="mapped_ratings",
    description="One row per sector x provider (unit) x key question, placed in an ICB.",
    columns=(
        Column("sector", SectorEnum, nullable=False),
        Column("provider_id", pl.String, nullable=False),
        Column("provider_name", pl.String),
        Column("key_question", KeyQuestionEnum, nullable=False),
        Column("rating", RatingEnum),
        Column("rating_status", RatingStatusEnum, nullable=False),
        Column("publication_date", pl.Date),
        Column("icb_code", pl.String, nullable=False),
        Column("icb_gss", pl.String),
        Column("icb_name", pl.String, nullable=False),
        Column("mapping_method", pl.String, nullable=False, allowed=MAPPING_METHODS),
        Column("rating_source", pl.String, nullable=False, allowed=RATING_SOURCES),
        Column("inherited_from", pl.String),
        Column("unrated_reason", pl.String),
    ),
    key=("sector", "provider_id", "key_question"),
)

UNMAPPED_SCHEMA = {
    "source": pl.String,
    "sector": pl.String,
    "provider_id": pl.String,
    "n_rows": pl.Int64,
    "reason": pl.String,
}
ACCOUNT_SCHEMA = {"source": pl.String, "outcome": pl.String, "n_rows": pl.Int64}


@dataclass(frozen=True)
class Placed:
    """Result of placing one sector's providers.

    Attributes
    ----------
    ratings : the :data:`MAPPED_RATINGS` frame for this sector.
    unmapped : one row per provider that could not be placed (source, sector,
        provider_id, n_rows, reason).
    accounts : rows of the source per outcome (source, outcome, n_rows).
    """

    ratings: pl.DataFrame
    unmapped: pl.DataFrame
    accounts: pl.DataFrame


# --------------------------------------------------------------------------- successors


def resolve_successors(
    codes: list[str] | pl.Series, successors: pl.DataFrame, open_codes: set[str]
) -> pl.DataFrame:
    """Follow ODS successor chains from each code to an open organisation.

    Parameters
    ----------
    codes : organisation codes to resolve.
    successors : the canonical ``succ`` frame (predecessor_code, successor_code, effective_date).
    open_codes : codes of currently open organisations (the chain stops at one).

    Returns
    -------
    pl.DataFrame
        code, current_code (null unless resolved), status (``open``, ``successor``,
        ``split``, ``no_open_successor``), chain (``A > B > C``).

    Notes
    -----
    A predecessor with several successors at its latest effective date is a split and is
    never resolved. Cycles stop the walk (status ``no_open_successor``).
    """
    latest = successors.filter(
        pl.col("effective_date") == pl.col("effective_date").max().over("predecessor_code")
    )
    nxt: dict[str, list[str]] = {}
    for pred, succ in latest.select("predecessor_code", "successor_code").iter_rows():
        nxt.setdefault(pred, [])
        if succ not in nxt[pred]:
            nxt[pred].append(succ)
    out = []
    for code in list(codes):
        chain = [code]
        status = "no_open_successor"
        current = None
        node = code
        if node in open_codes:
            status, current = "open", node
        else:
            while True:
                following = nxt.get(node, [])
                if len(following) > 1:
                    status = "split"
                    chain.append("{" + ", ".join(sorted(following)) + "}")
                    break
                if not following or following[0] in chain:
                    break
                node = following[0]
                chain.append(node)
                if node in open_codes:
                    status, current = "successor", node
                    break
        out.append((code, current, status, " > ".join(chain)))
    return pl.DataFrame(
        out,
        schema={
            "code": pl.String,
            "current_code": pl.String,
            "status": pl.String,
            "chain": pl.String,
        },
        orient="row",
    )


# --------------------------------------------------------------------------- ICB vintages


def icb_table(
    icb_codes: pl.DataFrame, successors: pl.DataFrame | None = None, vintage: str = "2023"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ICB list for a vintage, and the 2023 -> vintage code map.

    Returns
    -------
    (icbs, code_map)
        ``icbs``: icb_code, icb_gss, icb_name (one row per ICB of the vintage).
        ``code_map``: icb_code_2023, icb_code, status (``same``, ``merged``, ``split``), note.
        For ``2026`` the codes follow ``succ``; an ICB with several successors is a split:
        its code maps to null and providers in it are reported, never guessed. New 2026
        ICBs have no GSS code in the embedded data; their name lists the 2023 ICBs merged.
    """
    base = icb_codes.select("icb_code", "icb_gss", "icb_name")
    if vintage == "2023":
        cmap = base.select(
            pl.col("icb_code").alias("icb_code_2023"),
            pl.col("icb_code"),
            pl.lit("same").alias("status"),
            pl.lit(None, pl.String).alias("note"),
        )
        return base, cmap
    if vintage != "2026":
        raise ValueError(f"icb vintage must be '2023' or '2026', got {vintage!r}")
    if successors is None:
        raise ValueError("mapping ICBs to the 2026 vintage needs the ODS successor file")
    icb_set = set(base["icb_code"])
    resolved = resolve_successors(sorted(icb_set), successors, open_codes=set())
    rows = []
    for code, _cur, status, chain in resolved.iter_rows():
        parts = chain.split(" > ")
        if status == "split":
            rows.append((code, None, "split", f"{code} split: {parts[-1]}"))
        elif len(parts) == 1:
            rows.append((code, code, "same", None))
        else:
            rows.append((code, parts[-1], "merged", f"{chain}"))
    cmap = pl.DataFrame(
        rows,
        schema={
            "icb_code_2023": pl.String,
            "icb_code": pl.String,
            "status": pl.String,
            "note": pl.String,
        },
        orient="row",
    )
    named = cmap.join(
        base.rename({"icb_code": "icb_code_2023"}), on="icb_code_2023", how="left"
    ).filter(pl.col("icb_code").is_not_null())
    icbs = (
        named.group_by("icb_code")
        .agg(
            pl.col("icb_gss").first(),
            pl.col("icb_name").sort().alias("names"),
            pl.col("icb_code_2023").first().alias("old"),
            pl.len().alias("n"),
        )
        .with_columns(
            pl.when((pl.col("n") == 1) & (pl.col("old") == pl.col("icb_code")))
            .then(pl.col("names").list.first())
            .when(pl.col("n") == 1)
            .then(pl.concat_str(pl.col("icb_code"), pl.lit(" (formerly "),
                                pl.col("names").list.first(), pl.lit(")")))
            .otherwise(
                pl.concat_str(
                    pl.col("icb_code"),
                    pl.lit(" (formed from "),
                    pl.col("names").list.join(" + "),
                    pl.lit(")"),
                )
            )
            .alias("icb_name"),
            # a new code has no GSS code in the embedded data
            pl.when((pl.col("n") == 1) & (pl.col("old") == pl.col("icb_code")))
            .then(pl.col("icb_gss"))
            .alias("icb_gss"),
        )
        .select("icb_code", "icb_gss", "icb_name")
        .sort("icb_code")
    )
    return icbs, cmap


def _with_icb(frame: pl.DataFrame, icbs: pl.DataFrame, cmap: pl.DataFrame) -> pl.DataFrame:
    """Map a 2023 ``icb_code`` column to the vintage and attach gss and name."""
    return (
        frame.rename({"icb_code": "icb_code_2023"})
        .join(
            cmap.select("icb_code_2023", "icb_code", pl.col("status").alias("icb_status"),
                        pl.col("note").alias("icb_note")),
            on="icb_code_2023",
            how="left",
        )
        .join(icbs, on="icb_code", how="left")
    )


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
    ratings_vintage: str | None = None,
) -> Placed:
    """Place NHS trust ratings in ICSs, with the current open trust as the unit.

    Parameters
    ----------
    ratings : canonical CQC ratings (``read_cqc_ratings(...).frame``), Providers sheet.
    trusts : canonical ODS ``etr`` frame (org_code, name, icb_code, is_open).
    successors : canonical ODS ``succ`` frame.
    icb_codes : canonical ICB list (icb_code, icb_gss, icb_name).
    inherit : let a trust with no rating inherit its only rated predecessor's rating.

    Returns
    -------
    Placed
        ``ratings``: one row per open English trust x key question (Overall and the five),
        trust-level ratings (``service == "Overall"``); unrated trusts have null ratings and an
        ``unrated_reason``. ``accounts`` counts every input row once.
    """
    open_trusts = trusts.filter(pl.col("is_open"))
    icbs, cmap = icb_table(icb_codes, successors, icb_vintage)
    hosted = _with_icb(
        open_trusts.filter(pl.col("icb_code").is_not_null()).select("org_code", "name", "icb_code"),
        icbs,
        cmap,
    )
    lost = {
        code: _lost_reason(old, note, icb_vintage)
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
                    "unmapped", None, f"successor {current} is outside England ({chain})"
                )
            elif current in has_own:
                decisions[code] = (
                    "superseded", None, f"closed; successor {current} has its own rating ({chain})"
                )
            elif not inherit:
                decisions[code] = (
                    "unmapped", None, f"closed; inheritance switched off ({chain})"
                )
            else:
                candidates.setdefault(current, []).append(code)
        elif status == "split":
            decisions[code] = ("unmapped", None, f"split into several organisations ({chain})")
        elif code.startswith("1-"):
            decisions[code] = (
                "unmapped", None, "independent provider (CQC ID, not an NHS trust ODS code)"
            )
        elif code not in all_etr:
            decisions[code] = (
                "unmapped", None, "not in ODS etr (e.g. a care trust) and no open successor"
            )
        else:
            decisions[code] = ("unmapped", None, f"closed trust with no open successor ({chain})")

    inherited_from: dict[str, str] = {}
    unrated_reason: dict[str, str] = {}
    for unit, preds in candidates.items():
        if len(preds) == 1:
            decisions[preds[0]] = ("inherited", unit, None)
            inherited_from[unit] = preds[0]
        else:
            names = ", ".join(sorted(preds))
            unrated_reason[unit] = f"several rated predecessors ({names}); ratings not combined"
            for p in preds:
                decisions[p] = (
                    "unmapped", None,
                    f"one of {len(preds)} rated predecessors of {unit} ({names}); "
                    "ratings not combined",
                )

    dec = pl.DataFrame(
        [(k, *v) for k, v in decisions.items()],
        schema={"provider_id": pl.String, "outcome": pl.String, "unit": pl.String,
                "reason": pl.String},
        orient="row",
    ).join(row_counts, on="provider_id", how="left")

    accounts = (
        dec.group_by("outcome")
        .agg(pl.col("n_rows").sum())
        .select(pl.lit(source).alias("source"), "outcome", pl.col("n_rows").cast(pl.Int64))
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
        ),
        on=["provider_id", "key_question"],
        how="left",
    )
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
            pl.when(pl.col("inherited_from").is_not_null())
            .then(pl.lit("ods_successor"))
            .otherwise(pl.lit("ods_trust"))
            .alias("mapping_method"),
            pl.when(pl.col("inherited_from").is_not_null())
            .then(pl.lit("inherited"))
            .when(pl.col("provider_id").is_in(sorted(has_own)))
            .then(pl.lit("own"))
            .otherwise(pl.lit("none"))
            .alias("rating_source"),
            pl.col("rating_status").fill_null("missing"),
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
    ratings_out = _finish(out)
    log.info(
        "placed %d trusts (%d inherited), %d rated providers unmapped",
        ratings_out["provider_id"].n_unique(),
        len(inherited_from),
        unmapped.height,
    )
    return Placed(ratings_out, unmapped.cast(UNMAPPED_SCHEMA), accounts.cast(ACCOUNT_SCHEMA))


def _lost_reason(old_code: str | None, note: str | None, vintage: str) -> str:
    return (
        f"host ICB {old_code or '<none>'} has no single ICB in the {vintage} vintage: "
        f"{note or 'unknown ICB code'} (not guessed)"
    )


def _place_by_icb(
    frame: pl.DataFrame, icb_codes: pl.DataFrame, successors: pl.DataFrame | None, vintage: str
) -> pl.DataFrame:
    """Map a 2023 ``icb_code`` column to the vintage; add ``lost_reason`` where it fails."""
    icbs, cmap = icb_table(icb_codes, successors, vintage)
    placed = _with_icb(frame, icbs, cmap)
    return placed.with_columns(
        pl.when(pl.col("icb_code").is_null() & pl.col("icb_code_2023").is_not_null())
        .then(
            pl.concat_str(
                pl.lit("host ICB "),
                pl.col("icb_code_2023"),
                pl.lit(f" has no single ICB in the {vintage} vintage: "),
                pl.col("icb_note").fill_null("unknown ICB code"),
                pl.lit(" (not guessed)"),
            )
        )
        .alias("lost_reason")
    )


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    cols = MAPPED_RATINGS.column_names
    for c in cols:
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, MAPPED_RATINGS.column(c).dtype).alias(c))
    frame = frame.select(
        [pl.col(c).cast(MAPPED_RATINGS.column(c).dtype) for c in cols]
    ).sort("sector", "icb_code", "provider_id", "key_question")
    return validate(frame, MAPPED_RATINGS).frame


# --------------------------------------------------------------------------- GP practices


def place_gp_practices(
    practices: pl.DataFrame,
    icb_codes: pl.DataFrame,
    *,
    source: str = "gp_practices",
    successors: pl.DataFrame | None = None,
    icb_vintage: str = "2023",
) -> Placed:
    """Place GP practices in ICSs through the ICB name in the ratings file.

    Names are matched after normalisation (case, a leading "NHS", a trailing
    "Integrated Care Board"/"ICB", "&" for "and", punctuation and spaces): see
    :func:`ics_model.data.geography.normalise_icb_name`. Rows with no practice code, no
    ICB name or an unrecognised name go to the unmapped report.
    """
    from ics_model.data.geography import match_icb_names

    names = practices["icb_name_source"].drop_nulls().unique()
    matches = match_icb_names(names, icb_codes).filter(pl.col("matched")).select(
        pl.col("name").alias("icb_name_source"), "icb_code"
    )
    df = _place_by_icb(
        practices.join(matches, on="icb_name_source", how="left"), icb_codes, successors,
        icb_vintage,
    )
    reason = (
        pl.when(pl.col("practice_code").is_null())
        .then(pl.lit("no practice code"))
        .when(pl.col("icb_name_source").is_null())
        .then(pl.lit("no ICB name"))
        .when(pl.col("icb_code_2023").is_null())
        .then(pl.concat_str(pl.lit("ICB name not recognised: "), pl.col("icb_name_source")))
        .otherwise(pl.col("lost_reason"))
    )
    df = df.with_columns(reason.alias("reason"))
    bad = df.filter(pl.col("reason").is_not_null())
    good = df.filter(pl.col("reason").is_null())
    unmapped = bad.select(
        pl.lit(source).alias("source"),
        pl.lit("gp_practice").alias("sector"),
        pl.coalesce(
            pl.col("practice_code"),
            pl.concat_str(pl.lit("row "), pl.col("source_row").cast(pl.String)),
        ).alias("provider_id"),
        pl.lit(1, pl.Int64).alias("n_rows"),
        "reason",
    )
    out = good.select(
        pl.lit("gp_practice").cast(SectorEnum).alias("sector"),
        pl.col("practice_code").alias("provider_id"),
        pl.col("practice_name").alias("provider_name"),
        "key_question",
        "rating",
        "rating_status",
        pl.lit(None, pl.Date).alias("publication_date"),
        "icb_code",
        "icb_gss",
        "icb_name",
        pl.lit("icb_name").alias("mapping_method"),
        pl.when(pl.col("rating").is_not_null())
        .then(pl.lit("own"))
        .otherwise(pl.lit("none"))
        .alias("rating_source"),
        pl.when(pl.col("rating").is_null())
        .then(pl.concat_str(pl.lit("not a rating: "), pl.col("rating_status").cast(pl.String)))
        .alias("unrated_reason"),
    )
    accounts = pl.DataFrame(
        {
            "source": [source, source],
            "outcome": ["used", "unmapped"],
            "n_rows": [good.height, bad.height],
        }
    )
    return Placed(_finish(out), unmapped.cast(UNMAPPED_SCHEMA), accounts.cast(ACCOUNT_SCHEMA))


# --------------------------------------------------------------------------- locations


def place_locations(
    ratings: pl.DataFrame,
    sub_icbs: pl.DataFrame,
    trusts: pl.DataFrame,
    icb_codes: pl.DataFrame,
    *,
    source: str = "locations",
    successors: pl.DataFrame | None = None,
    icb_vintage: str = "2023",
) -> Placed:
    """Place a CQC Locations sheet in ICSs.

    Route 1 (``sub_icb_gss``): ``location_onspd_ccg_code`` (GSS E38...) -> 2023 sub-ICB
    location -> ICB (``sub_icbs``: sub_icb_gss, icb_gss). Route 2 (``ods_trust_location``):
    the provider's ODS code is an open NHS trust in ``etr`` -> its host ICB. Otherwise the
    location is unmapped with the reason. Location-level rows (``service == "Overall"``)
    give each location's key-question ratings.
    """
    loc = ratings.filter(pl.col("level") == "location")
    gss_to_icb = sub_icbs.select(
        pl.col("sub_icb_gss").alias("location_onspd_ccg_code"),
        pl.col("icb_gss").alias("_icb_gss_sub"),
    ).unique()
    icb_by_gss = icb_codes.select(pl.col("icb_gss").alias("_icb_gss_sub"), "icb_code")
    trust_icb = trusts.filter(pl.col("is_open") & pl.col("icb_code").is_not_null()).select(
        pl.col("org_code").alias("provider_id"), pl.col("icb_code").alias("_icb_trust")
    )
    code_col = (
        "location_onspd_ccg_code" if "location_onspd_ccg_code" in loc.columns else None
    )
    if code_col is None:
        loc = loc.with_columns(pl.lit(None, pl.String).alias("location_onspd_ccg_code"))
    placed = (
        loc.join(gss_to_icb, on="location_onspd_ccg_code", how="left")
        .join(icb_by_gss, on="_icb_gss_sub", how="left")
        .join(trust_icb, on="provider_id", how="left")
        .with_columns(
            pl.when(pl.col("icb_code").is_not_null())
            .then(pl.lit("sub_icb_gss"))
            .when(pl.col("_icb_trust").is_not_null())
            .then(pl.lit("ods_trust_location"))
            .alias("mapping_method"),
            pl.coalesce("icb_code", "_icb_trust").alias("icb_code"),
        )
    )
    placed = _place_by_icb(placed, icb_codes, successors, icb_vintage)
    bad = placed.filter(pl.col("icb_code").is_null())
    good = placed.filter(pl.col("icb_code").is_not_null())
    unmapped = (
        bad.group_by("location_id")
        .agg(
            pl.len().alias("n_rows"),
            pl.col("location_onspd_ccg_code").first(),
            pl.col("lost_reason").first(),
        )
        .select(
            pl.lit(source).alias("source"),
            pl.lit("location").alias("sector"),
            pl.col("location_id").alias("provider_id"),
            pl.col("n_rows").cast(pl.Int64),
            pl.coalesce(
                "lost_reason",
                pl.concat_str(
                    pl.lit("sub-ICB code "),
                    pl.col("location_onspd_ccg_code").fill_null("<missing>"),
                    pl.lit(
                        " is not a 2023 sub-ICB location and the provider is not an open "
                        "NHS trust"
                    ),
                ),
            ).alias("reason"),
        )
    )
    name_col = "location_name" if "location_name" in good.columns else None
    unit = good.filter(pl.col("service") == "Overall").select(
        pl.lit("location").cast(SectorEnum).alias("sector"),
        pl.col("location_id").alias("provider_id"),
        (pl.col(name_col) if name_col else pl.lit(None, pl.String)).alias("provider_name"),
        "key_question",
        "rating",
        "rating_status",
        "publication_date",
        "icb_code",
        "icb_gss",
        "icb_name",
        "mapping_method",
        pl.when(pl.col("rating").is_not_null()).then(pl.lit("own")).otherwise(pl.lit("none"))
        .alias("rating_source"),
        pl.when(pl.col("rating").is_null())
        .then(pl.concat_str(pl.lit("not a rating: "), pl.col("rating_status").cast(pl.String)))
        .alias("unrated_reason"),
    )
    accounts = pl.DataFrame(
        {
            "source": [source] * 3,
            "outcome": ["used", "unmapped", "unmapped"],
            "n_rows": [good.height, bad.height, ratings.height - loc.height],
        }
    ).group_by("source", "outcome", maintain_order=True).agg(pl.col("n_rows").sum())
    return Placed(_finish(unit), unmapped.cast(UNMAPPED_SCHEMA), accounts.cast(ACCOUNT_SCHEMA))


# --------------------------------------------------------------------------- conservation


def loader_accounts(source: str, quarantined: int, superseded: int) -> pl.DataFrame:
    """Rows a loader set aside, in the accounts layout."""
    return pl.DataFrame(
        {
            "source": [source, source],
            "outcome": ["quarantined", "superseded"],
            "n_rows": [quarantined, superseded],
        },
        schema=ACCOUNT_SCHEMA,
    )


def conservation(accounts: pl.DataFrame, n_input_rows: dict[str, int]) -> pl.DataFrame:
    """Per source: rows per outcome, their total, the input rows, and whether they balance.

    Every input row must be counted exactly once as used, inherited, superseded,
    quarantined or unmapped: ``balanced`` is ``total == n_input_rows``.
    """
    wide = (
        accounts.group_by("source", "outcome")
        .agg(pl.col("n_rows").sum())
        .pivot(on="outcome", index="source", values="n_rows")
    )
    for o in OUTCOMES:
        if o not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.Int64).alias(o))
    inputs = pl.DataFrame(
        {"source": list(n_input_rows), "n_input_rows": list(n_input_rows.values())},
        schema={"source": pl.String, "n_input_rows": pl.Int64},
    )
    return (
        wide.select("source", *[pl.col(o).fill_null(0).cast(pl.Int64) for o in OUTCOMES])
        .with_columns(pl.sum_horizontal(*OUTCOMES).alias("total"))
        .join(inputs, on="source", how="full", coalesce=True)
        .with_columns((pl.col("total") == pl.col("n_input_rows")).fill_null(False).alias("balanced"))
        .sort("source")
    )
