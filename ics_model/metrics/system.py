"""``ics_metrics``: partnership, inequality and context metrics for every ICS, as one tidy frame.

One row per ICS x metric (plus national rows, ``icb_code = "ENGLAND"``, for the Theil
decomposition), with ``value``, 95% ``lower``/``upper`` where the statistic has them,
``pillar``, ``direction`` (a configurable value judgement), ``unit``, ``vintage``,
``source`` and a ``note`` whenever a value is missing or qualified. Every definition is
in :data:`METRIC_CATALOGUE` (``ics-model metrics list``).

Inequality measures are applied only to ratio-scale quantities (shares, waits): never to
rating codes 1-4 (PRIMER section 6). Deprivation direction: quintile 1 = most deprived
(IoD convention; the GP file's own quintile is recoded on load).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.data.ods import ICB_CODE_PATTERN
from ics_model.metrics._base import Z975, InequalityInputError
from ics_model.metrics.catalogue import CATALOGUE_BY_METRIC, METRIC_CATALOGUE, catalogue_markdown
from ics_model.metrics.inequality import gini, rating_dispersion, theil_decomposition
from ics_model.metrics.partnership_catalogue import resolve_directions
from ics_model.metrics.partnership_inputs import (
    PROXY_LABEL,
    FlowTable,
    missing_major_providers,
)
from ics_model.metrics.rii import relative_index
from ics_model.metrics.sii import slope_index_or_null
from ics_model.ratings import DIRECTIONS, GOOD_OR_OUTSTANDING, wilson_exprs

log = logging.getLogger(__name__)

PILLARS: Final = frozenset({"quality", "partnership", "inequality", "context"})
NATIONAL: Final = "ENGLAND"
#: providers needed for a within-ICS spread statistic (fewer: null with a note)
MIN_PROVIDERS: Final = 3
#: rating-dispersion metric -> the sector whose Overall ratings it measures
DISPERSION_METRICS: Final = {
    "trust_rating_dispersion": "nhs_trust",
    "gp_rating_dispersion": "gp_practice",
}

ICS_METRICS: Final = Contract(
    name="ics_metrics",
    description="Tidy ICS metrics: one row per ICS (or ENGLAND) x metric.",
    key=("icb_code", "metric"),
    columns=(
        Column("icb_code", pl.String, nullable=False, pattern=f"{ICB_CODE_PATTERN}|ENGLAND"),
        Column("metric", pl.String, nullable=False, pattern=r"[a-z0-9_]+"),
        Column("value", pl.Float64),
        Column("lower", pl.Float64, description="95% lower limit, where the statistic has one"),
        Column("upper", pl.Float64, description="95% upper limit"),
        Column("pillar", pl.String, nullable=False, allowed=PILLARS),
        Column("direction", pl.String, nullable=False, allowed=frozenset(DIRECTIONS)),
        Column("unit", pl.String, nullable=False),
        Column("vintage", pl.String, nullable=False),
        Column("source", pl.String, nullable=False),
        Column("note", pl.String, description="why a value is missing, or a caveat"),
        Column(
            "complete",
            pl.Boolean,
            nullable=False,
            description="false when the metric's source misses a major provider of the ICS "
            "(partnership_inputs.MAJOR_PROVIDER_DEFINITION; the note names it)",
        ),
    ),
)


def _rows(
    frame: pl.DataFrame,
    metric: str,
    value: str,
    *,
    lower: str | None = None,
    upper: str | None = None,
    note: str | pl.Expr | None = None,
    complete: bool | pl.Expr = True,
) -> pl.DataFrame:
    """Long rows for one metric from a frame with ``icb_code``."""
    e = CATALOGUE_BY_METRIC[metric]
    note_expr = note if isinstance(note, pl.Expr) else pl.lit(note, pl.String)
    complete_expr = complete if isinstance(complete, pl.Expr) else pl.lit(complete)
    return frame.select(
        pl.col("icb_code"),
        pl.lit(metric).alias("metric"),
        pl.col(value).cast(pl.Float64).alias("value"),
        (pl.col(lower) if lower else pl.lit(None)).cast(pl.Float64).alias("lower"),
        (pl.col(upper) if upper else pl.lit(None)).cast(pl.Float64).alias("upper"),
        pl.lit(e["pillar"]).alias("pillar"),
        pl.lit(e["direction"]).alias("direction"),
        pl.lit(e["unit"]).alias("unit"),
        pl.lit(e["vintage"]).alias("vintage"),
        pl.lit(e["source"]).alias("source"),
        note_expr.cast(pl.String).alias("note"),
        complete_expr.fill_null(True).cast(pl.Boolean).alias("complete"),
    )


def partnership_rows(ics_partnership: pl.DataFrame) -> pl.DataFrame:
    """Partnership metrics (flow proxy) in the long layout; incomplete ICSs carry notes.

    ``complete`` is the ICS's flow completeness (false when a major provider hosted in it
    has no RTT rows, or it has no resident flows): the composite lowers its coverage.
    """
    note = (
        pl.when(~pl.col("complete") | pl.col("note").is_not_null())
        .then(
            pl.concat_str(
                pl.when(~pl.col("complete")).then(pl.lit("incomplete coverage; ")),
                pl.col("note"),
                ignore_nulls=True,
            )
        )
        .otherwise(pl.lit(None, pl.String))
    )
    metrics = (
        "self_containment",
        "share_other_ics_trusts",
        "share_independent_sector",
        "inflow_share",
        "n_partner_icss",
    )
    return pl.concat(
        [_rows(ics_partnership, m, m, note=note, complete=pl.col("complete")) for m in metrics]
    )


def gp_quintile_table(practices: pl.DataFrame) -> pl.DataFrame:
    """Rated GP practices per ICS x deprivation quintile with the two shares.

    ``practices``: one row per placed practice with ``icb_code``, ``imd_quintile`` (1 = most
    deprived) and ``rating``. Practices without a quintile are left out (counted in notes).
    """
    r = pl.col("rating").cast(pl.String)
    return (
        practices.filter(pl.col("rating").is_not_null() & pl.col("imd_quintile").is_not_null())
        .group_by("icb_code", "imd_quintile")
        .agg(
            pl.len().cast(pl.Int64).alias("n_rated"),
            r.is_in(GOOD_OR_OUTSTANDING).sum().cast(pl.Int64).alias("n_go"),
            (r == "Outstanding").sum().cast(pl.Int64).alias("n_o"),
        )
        .with_columns(
            (pl.col("n_go") / pl.col("n_rated")).alias("share_go"),
            (pl.col("n_o") / pl.col("n_rated")).alias("share_o"),
            *wilson_exprs("n_go", "n_rated", "share_go"),
            *wilson_exprs("n_o", "n_rated", "share_o"),
        )
        .with_columns(
            ((pl.col(f"{c}_upper") - pl.col(f"{c}_lower")) / (2 * Z975)).alias(f"{c}_se")
            for c in ("share_go", "share_o")
        )
        .sort("icb_code", "imd_quintile")
    )


def small_quintile_notes(table: pl.DataFrame, min_group_size: int) -> pl.DataFrame:
    """Per ICS: the quintiles with fewer than ``min_group_size`` rated practices, as a note.

    ``table``: :func:`gp_quintile_table`. Returns ``icb_code`` and ``small_note`` (null
    when every quintile present has at least ``min_group_size`` rated practices), e.g.
    ``"quintiles 1 (1 practice), 5 (1) have fewer than 5 rated practices
    (metrics.min_group_size): not computed"``.
    """
    small = pl.col("n_rated") < min_group_size
    listed = pl.format("{} ({})", "imd_quintile", "n_rated").filter(small).str.join(", ")
    return (
        table.sort("icb_code", "imd_quintile")
        .group_by("icb_code", maintain_order=True)
        .agg(small.any().alias("_small"), listed.alias("_listed"))
        .select(
            "icb_code",
            pl.when("_small")
            .then(
                pl.format(
                    "deprivation quintile(s) {} have fewer than {} rated practices "
                    "(metrics.min_group_size): not computed",
                    "_listed",
                    pl.lit(min_group_size),
                )
            )
            .alias("small_note"),
        )
    )


def _null_small(frame: pl.DataFrame, small: pl.DataFrame, stat: str) -> pl.DataFrame:
    """Null ``stat`` and its limits where ``small`` has a note; add it to ``note``."""
    hit = pl.col("small_note").is_not_null()
    cols = [c for c in frame.columns if c == stat or c.startswith(f"{stat}_")]
    return (
        frame.join(small, on="icb_code", how="left")
        .with_columns(pl.when(~hit).then(pl.col(c)).alias(c) for c in cols)
        .with_columns(
            pl.concat_str("note", "small_note", separator="; ", ignore_nulls=True).alias("note")
        )
        .drop("small_note")
    )


def gp_inequality_rows(
    practices: pl.DataFrame,
    *,
    repetitions: int = 100_000,
    seed: Any = None,
    min_group_size: int = 5,
) -> pl.DataFrame:
    """GP SII/RII, deprivation gap, within-ICS Theil and the national Theil decomposition.

    SII follows ``phe_sii`` with ``value_type="normal"`` and each quintile's standard
    error taken from the width of its 95% Wilson interval, se = (upper - lower) / (2 x
    1.96): many quintiles have shares of exactly 0 or 1, where the logit scale that
    ``phe_sii`` uses for proportions is undefined. Point estimates do not depend on this.

    RII is the log-linear (Poisson) RII of :mod:`ics_model.metrics.rii`, exp(beta), with
    limits simulated on the log scale (always positive); its draws come from
    ``numpy.random.default_rng([seed, 1])`` (apart from the SII's).

    **Minimum group size.** An ICS with a deprivation quintile of fewer than
    ``min_group_size`` rated practices gets null SII and RII (and a null gap when quintile
    1 or 5 is that small), with a note naming the quintiles: a gradient resting on one or
    two practices per quintile is noise. The within-ICS Theil is a part of the exact
    national decomposition and is kept.
    """
    table = gp_quintile_table(practices)
    small = small_quintile_notes(table, min_group_size)
    no_q = practices.filter(pl.col("rating").is_not_null() & pl.col("imd_quintile").is_null())
    missing = no_q.group_by("icb_code").len("n")
    eligible = small.filter(pl.col("small_note").is_null())["icb_code"].implode()
    rii_rng = (
        seed
        if isinstance(seed, np.random.Generator)
        else np.random.default_rng(None if seed is None else [int(seed), 1])
    )
    out = []
    for col, events, name in (
        ("share_go", "n_go", "good_or_outstanding"),
        ("share_o", "n_o", "outstanding"),
    ):
        sii = slope_index_or_null(
            table,
            quantile="imd_quintile",
            population="n_rated",
            value=col,
            by="icb_code",
            value_type="normal",
            se=f"{col}_se",
            confidence=(0.95,),
            repetitions=repetitions,
            seed=seed,
            rii=False,
        )
        rii = relative_index(
            table.filter(pl.col("icb_code").is_in(eligible)),
            quantile="imd_quintile",
            population="n_rated",
            events=events,
            by="icb_code",
            confidence=0.95,
            repetitions=repetitions,
            seed=rii_rng,
        )
        rii = sii.select("icb_code", pl.col("note").alias("_sii_note")).join(
            rii, on="icb_code", how="left"
        )
        rii = rii.with_columns(
            pl.coalesce("_sii_note", "note").alias("note")
        )  # too few quantiles: the SII's note
        for stat, frame in (("sii", sii), ("rii", rii)):
            frame = _null_small(frame, small, stat)
            out.append(
                _rows(
                    frame,
                    f"gp_{stat}_{name}",
                    stat,
                    lower=f"{stat}_lower_95_0cl",
                    upper=f"{stat}_upper_95_0cl",
                    note=pl.col("note"),
                )
            )
    ends = table.filter(pl.col("imd_quintile").is_in([1, 5])).pivot(
        on="imd_quintile", index="icb_code", values=["share_go", "n_rated"]
    )
    for c in ("share_go_1", "share_go_5", "n_rated_1", "n_rated_5"):
        if c not in ends.columns:
            ends = ends.with_columns(pl.lit(None, pl.Float64).alias(c))
    thin = pl.min_horizontal("n_rated_1", "n_rated_5") < min_group_size
    ends = ends.with_columns(
        pl.when(~thin.fill_null(False))
        .then(pl.col("share_go_5") - pl.col("share_go_1"))
        .alias("gap")
    )
    few = pl.format(
        "{} rated practices in quintile 1, {} in quintile 5",
        pl.col("n_rated_1").cast(pl.Int64),
        pl.col("n_rated_5").cast(pl.Int64),
    )
    out.append(
        _rows(
            ends,
            "gp_gap_good_or_outstanding",
            "gap",
            note=pl.when(pl.col("share_go_1").is_null() | pl.col("share_go_5").is_null())
            .then(pl.lit("no rated practices in quintile 1 or 5"))
            .when(thin)
            .then(
                pl.format(
                    "{} (fewer than {}, metrics.min_group_size): not computed",
                    few,
                    pl.lit(min_group_size),
                )
            )
            .when(pl.min_horizontal("n_rated_1", "n_rated_5") < 10)
            .then(pl.format("few practices: {}", few)),
        )
    )
    dec = theil_decomposition(table, "share_go", "icb_code", weight="n_rated")
    groups = dec.groups.rename({"theil": "t"})
    out.append(_rows(groups, "gp_theil_within_ics", "t"))
    national = pl.DataFrame(
        {
            "icb_code": [NATIONAL] * 3,
            "metric": ["theil_total", "theil_between_ics", "theil_within_ics"],
            "v": [dec.total, dec.between, dec.within],
        }
    )
    out.append(
        pl.concat(
            [
                _rows(national.filter(pl.col("metric") == m), m, "v")
                for m in ("theil_total", "theil_between_ics", "theil_within_ics")
            ]
        )
    )
    rows = pl.concat(out, how="vertical_relaxed")
    if missing.height:
        rows = (
            rows.join(missing, on="icb_code", how="left")
            .with_columns(
                pl.when(pl.col("n").is_not_null() & pl.col("metric").str.starts_with("gp_"))
                .then(
                    pl.concat_str(
                        pl.col("note"),
                        pl.format(
                            "{} rated practices without a deprivation quintile left out", "n"
                        ),
                        separator="; ",
                        ignore_nulls=True,
                    )
                )
                .otherwise(pl.col("note"))
                .alias("note")
            )
            .drop("n")
        )
    return rows


def dispersion_rows(view: pl.DataFrame) -> pl.DataFrame:
    """Leik dispersion of Overall ratings per ICS for trusts and GP practices."""
    out = []
    for metric, sector in DISPERSION_METRICS.items():
        sub = view.filter((pl.col("sector") == sector) & (pl.col("key_question") == "Overall"))
        if sub.is_empty():
            continue
        d = rating_dispersion(sub, by="icb_code").with_columns(
            # a dispersion of one or two ratings is not a statistic: null with a note
            pl.when(pl.col("n_rated") >= MIN_PROVIDERS)
            .then(pl.col("leik_dispersion"))
            .alias("leik_dispersion")
        )
        out.append(
            _rows(
                d,
                metric,
                "leik_dispersion",
                note=pl.when(pl.col("n_rated") < MIN_PROVIDERS).then(
                    pl.format(
                        "only {} rated providers (fewer than {}): not computed",
                        "n_rated",
                        pl.lit(MIN_PROVIDERS),
                    )
                ),
            )
        )
    return pl.concat(out) if out else pl.DataFrame(schema=ICS_METRICS.empty().schema)


def access_rows(table: FlowTable, icbs: pl.DataFrame) -> pl.DataFrame:
    """Share of residents' incomplete pathways over 18 weeks; spread across hosted trusts.

    An ICS hosting a major provider absent from the RTT extract
    (:func:`~ics_model.metrics.partnership_inputs.missing_major_providers`, e.g. RHQ
    Sheffield Teaching in South Yorkshire, RA9 Torbay in Devon, April 2026) gets
    ``complete = false`` and a note naming it on both rows: its residents' waits at that
    trust, and that trust's own list, are missing.
    """
    major = missing_major_providers(table.trusts)
    f = table.flows
    res = (
        f.filter(pl.col("resident_icb_code").is_not_null())
        .group_by(pl.col("resident_icb_code").alias("icb_code"))
        .agg(pl.col("over_18_weeks").sum(), pl.col("pathways").sum())
        .with_columns((pl.col("over_18_weeks") / pl.col("pathways")).alias("share"))
    )
    res = icbs.select("icb_code").join(res, on="icb_code", how="left")
    res = res.join(major, on="icb_code", how="left")
    complete = pl.col("missing_major").is_null()
    rows = [
        _rows(
            res,
            "share_waiting_over_18_weeks",
            "share",
            note=pl.concat_str(
                pl.when(pl.col("share").is_null()).then(
                    pl.lit("no resident flows in the run's ICB geography")
                ),
                pl.when(~complete).then(pl.format("incomplete: {}", "major_note")),
                separator="; ",
                ignore_nulls=True,
            ),
            complete=complete,
        )
    ]
    trusts = (
        f.filter(pl.col("provider_category") == "nhs_trust")
        .group_by(pl.col("provider_icb_code").alias("icb_code"), "provider_code")
        .agg(pl.col("over_18_weeks").sum(), pl.col("pathways").sum())
        .filter(pl.col("pathways") > 0)
    )
    spread = []
    for code in icbs["icb_code"]:
        t = trusts.filter(pl.col("icb_code") == code)
        if t.height < MIN_PROVIDERS:
            spread.append(
                (
                    code,
                    None,
                    f"{t.height} hosted trust(s) with RTT flows (fewer than "
                    f"{MIN_PROVIDERS}): not computed",
                )
            )
            continue
        shares = (t["over_18_weeks"] / t["pathways"]).to_numpy()
        try:
            spread.append((code, gini(shares, t["pathways"].to_numpy()), None))
        except InequalityInputError as exc:
            spread.append((code, None, str(exc)))
    sp = pl.DataFrame(
        spread, schema={"icb_code": pl.String, "g": pl.Float64, "n": pl.String}, orient="row"
    ).join(major, on="icb_code", how="left")
    note = pl.concat_str(
        pl.col("n"),
        pl.when(~complete).then(pl.format("incomplete: {}", "major_note")),
        separator="; ",
        ignore_nulls=True,
    )
    rows.append(_rows(sp, "over_18_weeks_gini_trusts", "g", note=note, complete=complete))
    return pl.concat(rows)


def deprivation_rows(
    imd: pl.DataFrame, lsoa_icb: pl.DataFrame, icbs: pl.DataFrame, population: pl.DataFrame
) -> pl.DataFrame:
    """Deprivation profile (population-weighted, IMD 2019 LSOAs) and mid-2022 population.

    ``lsoa_icb`` and ``population`` carry ``icb_gss`` (the 42-ICB lookups, joined through
    ``icbs``) or already ``icb_code`` (a run's geography, any vintage; ``population`` may
    then carry a ``note``, e.g. a modelled apportionment).
    """
    gss = icbs.select("icb_code", "icb_gss")
    if "icb_code" in lsoa_icb.columns:
        lsoa_icbs = lsoa_icb.select("lsoa11_code", "icb_code").drop_nulls()
    else:
        lsoa_icbs = lsoa_icb.select("lsoa11_code", "icb_gss").join(gss, on="icb_gss")
    lsoa = (
        imd.join(lsoa_icbs.select("lsoa11_code", "icb_code"), on="lsoa11_code", how="inner")
        .group_by("icb_code")
        .agg(
            (
                pl.when(pl.col("imd_quintile") == 1)
                .then(pl.col("population_total"))
                .otherwise(0)
                .sum()
                / pl.col("population_total").sum()
            ).alias("q1"),
            (
                (pl.col("imd_rank") * pl.col("population_total")).sum()
                / pl.col("population_total").sum()
            ).alias("rank"),
        )
    )
    if "icb_code" in population.columns:
        pop = population
    else:
        pop = population.group_by("icb_gss").agg(pl.col("population").sum()).join(gss, on="icb_gss")
    note = pl.col("note") if "note" in pop.columns else None
    return pl.concat(
        [
            _rows(lsoa, "imd_share_most_deprived_quintile", "q1"),
            _rows(lsoa, "imd_mean_rank", "rank"),
            _rows(pop, "population", "population", note=note),
        ]
    )


def user_indicator_rows(
    indicators: pl.DataFrame, directions: Mapping[str, str], source: str
) -> pl.DataFrame:
    """ICB-level user-supplied indicators as partnership rows (direction from config)."""
    icb = indicators.filter(pl.col("level") == "icb")
    return icb.select(
        pl.col("code").alias("icb_code"),
        pl.col("indicator").alias("metric"),
        pl.col("value").cast(pl.Float64),
        pl.lit(None, pl.Float64).alias("lower"),
        pl.lit(None, pl.Float64).alias("upper"),
        pl.lit("partnership").alias("pillar"),
        pl.col("indicator").replace_strict(dict(directions), default="neutral").alias("direction"),
        pl.lit("as supplied").alias("unit"),
        (pl.col("vintage") if "vintage" in icb.columns else pl.lit(None, pl.String))
        .fill_null("as supplied")
        .alias("vintage"),
        pl.lit(f"user file {source}").alias("source"),
        (pl.col("note") if "note" in icb.columns else pl.lit(None, pl.String)).alias("note"),
        pl.lit(True).alias("complete"),
    )


def ics_metrics(
    parts: list[pl.DataFrame], directions: Mapping[str, str] | None = None
) -> pl.DataFrame:
    """Assemble metric rows into the validated :data:`ICS_METRICS` frame.

    ``directions`` overrides the catalogue's default direction per metric (a value
    judgement; e.g. ``{"self_containment": "neutral"}``).
    """
    frame = pl.concat(parts, how="vertical_relaxed").select(ICS_METRICS.column_names)
    if directions:
        resolve_directions(
            {k: v for k, v in directions.items() if k in resolve_directions()}
        )  # validates partnership keys
        bad = {k: v for k, v in directions.items() if v not in DIRECTIONS}
        if bad:
            raise ValueError(f"directions must be one of {sorted(DIRECTIONS)}, got {bad}")
        frame = frame.with_columns(
            pl.col("metric")
            .replace_strict(dict(directions), default=pl.col("direction"))
            .alias("direction")
        )
    frame = frame.sort("icb_code", "pillar", "metric")
    log.info("ics_metrics: %d rows, %d metrics", frame.height, frame["metric"].n_unique())
    return validate(frame, ICS_METRICS).frame


__all__ = [
    "CATALOGUE_BY_METRIC",
    "DISPERSION_METRICS",
    "ICS_METRICS",
    "METRIC_CATALOGUE",
    "PROXY_LABEL",
    "access_rows",
    "catalogue_markdown",
    "deprivation_rows",
    "dispersion_rows",
    "gp_inequality_rows",
    "gp_quintile_table",
    "ics_metrics",
    "partnership_rows",
    "small_quintile_notes",
    "user_indicator_rows",
]
