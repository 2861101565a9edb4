"""The analysis rows of the specification curve: one row per population x provider.

:func:`analysis_rows` builds, for each population of :data:`~ics_model.effects.spec.POPULATIONS`,
one row per provider with its ICS (``icb_code`` and an integer ``cluster``), its period,
its outcome codings, the candidate controls and every exposure, raw and standardised.

Periods
-------
A rating published on or after 1 July 2022 (:data:`~ics_model.effects.spec.ICS_START`,
when ICSs became statutory) is ``post_ics``; one published before is ``pre_ics`` (the
placebo: it cannot have been caused by ICS collaboration). A GP rating carries its
publication **year** only: 2023 and later are post-ICS, 2021 and earlier pre-ICS, and
2022 cannot be placed, so it is left out and counted (``published_in_ics_start_year``).
The NHS trust ratings (file of September 2018) are all pre-ICS. NOF segments (2025/26)
are dated by their data month, so post-ICS.

Outcome codings
---------------
``rating_ordinal`` is the Overall rating as 0 = Inadequate, 1 = Requires improvement,
2 = Good, 3 = Outstanding (:data:`~ics_model.ratings.RATING_LABELS` order);
``good_or_outstanding`` = ``rating_ordinal >= 2``; ``outstanding`` = ``rating_ordinal ==
3``; the ``well_led_*`` codings the same for the trusts' Well-led key question;
``nof_segment_ordinal = 5 - segment`` (NOF segment 1 best ... 5 intensive support, so
4 = best).

Exposures
---------
An exposure named in ``ics_metrics`` is ICS-level: ``x__<name> = (e_g - mean) / SD``
with mean and SD (``ddof = 1``) across the ICSs that have it, so one unit is one SD
across ICSs in every population and period. Any other exposure is a column of the
provider-level frames (e.g. a trust's ``home_system_share``): ``x__<name>`` is
standardised across the population's providers that have it (both periods together, so
post- and pre-ICS estimates share one scale), and ``xb__<name>`` is the ICS mean of the
raw exposure over those providers, standardised across ICSs -- the between-ICS part of a
within/between (Mundlak 1978) split. Mundlak (1978) Econometrica 46:69-85.

Every provider row is used in a period or counted under a reason in
:attr:`AnalysisRows.accounts`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import polars as pl

from ics_model.data.base import Loaded
from ics_model.effects.spec import ICS_START, POPULATIONS
from ics_model.metrics.system import NATIONAL
from ics_model.ratings import RATING_LABELS, RatingEnum

log = logging.getLogger(__name__)

#: ``rating_ordinal`` codes of the Good and Outstanding ratings.
GOOD: Final = RATING_LABELS.index("Good")
OUTSTANDING: Final = RATING_LABELS.index("Outstanding")
#: NOF segments run 1 (best) to 5 (intensive support); ``nof_segment_ordinal = 5 - s``.
NOF_WORST: Final = 5

#: Why a provider row is in no period (``AnalysisRows.accounts`` outcomes).
EXCLUSION_REASONS: Final[dict[str, str]] = {
    "no_rating": "no rating (or no NOF segment) to model",
    "no_icb": "not placed in an ICS",
    "no_publication_date": "no publication date or year, so no period",
    "published_in_ics_start_year": (
        f"publication year {ICS_START.year} only: before or after {ICS_START:%d %B %Y} "
        "cannot be told"
    ),
}

#: Columns of every population's rows, before the exposures.
ROW_COLUMNS: Final[dict[str, pl.DataType]] = {
    "population": pl.String(),
    "provider_id": pl.String(),
    "sector": pl.String(),
    "icb_code": pl.String(),
    "rating": RatingEnum,
    "publication_date": pl.Date(),
    "publication_year": pl.Int32(),
    "rating_year": pl.String(),
    "imd_score": pl.Float64(),
    "imd_quintile": pl.Int64(),
    "trust_type": pl.String(),
    "well_led_rating": RatingEnum,
    "nof_segment": pl.Int64(),
}


@dataclass(frozen=True)
class AnalysisRows:
    """The curve's analysis rows (:func:`analysis_rows`).

    Attributes
    ----------
    frame : one row per population x provider with a period: ``population``,
        ``provider_id``, ``sector``, ``icb_code``, ``cluster`` (index into ``ics_codes``),
        ``rating``, ``publication_date``, ``publication_year``, ``period``, the outcome
        codings, the controls (``rating_year``, ``imd_score``, ``imd_quintile``,
        ``trust_type``), and per exposure the raw value, ``x__<name>`` and (provider
        level) ``xb__<name>``.
    accounts : ``population, outcome, n_rows``: every input provider is ``used_post_ics``,
        ``used_pre_ics`` or excluded under a key of :data:`EXCLUSION_REASONS`.
    exposures : ``exposure, level, population, n_units, mean, sd, between_sd,
        vintage``: how each exposure was standardised (``population`` null at ICS level).
    ics_codes : the ICS of each ``cluster`` value.
    ics_exposures : ``exposure, icb_code, cluster, value, x``: every ICS-level exposure
        of every ICS that has it (also ICSs without analysed providers), raw and
        standardised; what the joint test permutes.
    """

    frame: pl.DataFrame
    accounts: pl.DataFrame
    exposures: pl.DataFrame
    ics_codes: tuple[str, ...]
    ics_exposures: pl.DataFrame


def _overall(mapped: pl.DataFrame, sector: str, key_question: str = "Overall") -> pl.DataFrame:
    out = mapped.filter(
        (pl.col("sector").cast(pl.String) == sector)
        & (pl.col("key_question").cast(pl.String) == key_question)
    )
    if out["provider_id"].is_duplicated().any():
        raise ValueError(f"views.mapped has more than one {sector} {key_question} row per provider")
    return out


def _rated_population(name: str, mapped: pl.DataFrame, gp: pl.DataFrame | None) -> pl.DataFrame:
    sector = POPULATIONS[name].sector
    base = _overall(mapped, sector)
    cols = [c for c in ("trust_type", "publication_date", "publication_year") if c in base.columns]
    frame = base.select("provider_id", "icb_code", pl.col("rating").cast(RatingEnum), *cols)
    if "publication_date" in frame.columns:  # the year of a dated rating, where not given
        year = pl.col("publication_date").dt.year().cast(pl.Int32)
        if "publication_year" in frame.columns:
            year = pl.coalesce(pl.col("publication_year").cast(pl.Int32), year)
        frame = frame.with_columns(year.alias("publication_year"))
    if sector == "nhs_trust":
        wl = _overall(mapped, sector, "Well-led").select(
            "provider_id", pl.col("rating").cast(RatingEnum).alias("well_led_rating")
        )
        frame = frame.join(wl, on="provider_id", how="left")
    if sector == "gp_practice" and gp is not None:
        if "key_question" in gp.columns:
            gp = gp.filter(pl.col("key_question").cast(pl.String) == "Overall")
        info = gp.filter(pl.col("practice_code").is_not_null()).select(
            pl.col("practice_code").alias("provider_id"), "imd_score", "imd_quintile"
        )
        if info["provider_id"].is_duplicated().any():
            raise ValueError("gp_practices has more than one Overall row for some practices")
        frame = frame.join(info, on="provider_id", how="left")
    return frame.with_columns(pl.lit(sector).alias("sector"))


def _nof_population(nof: pl.DataFrame) -> pl.DataFrame:
    if nof["org_code"].is_duplicated().any():
        raise ValueError("nof_trusts has more than one row for some trusts")
    seg = nof["adjusted_segment"].drop_nulls()
    if seg.len() and not seg.is_between(1, NOF_WORST).all():
        raise ValueError(f"NOF segments must be 1..{NOF_WORST}, got {sorted(set(seg))}")
    month = pl.concat_str(pl.col("data_month"), pl.lit("-01")).str.to_date("%Y-%m-%d")
    return nof.select(
        pl.col("org_code").alias("provider_id"),
        "icb_code",
        pl.col("adjusted_segment").alias("nof_segment"),
        pl.col("nhs_trust_type").alias("trust_type"),
        month.alias("publication_date"),
        month.dt.year().alias("publication_year"),
        pl.lit(POPULATIONS["nof_trust"].sector).alias("sector"),
    )


def _period(frame: pl.DataFrame, outcome_col: str) -> pl.DataFrame:
    """Add ``period`` (post_ics / pre_ics) and ``reason`` (why no period) columns."""
    date, year = pl.col("publication_date"), pl.col("publication_year")
    start, y0 = pl.lit(ICS_START), ICS_START.year
    first_full = y0 if (ICS_START.month, ICS_START.day) == (1, 1) else y0 + 1
    by_date = pl.when(date >= start).then(pl.lit("post_ics")).otherwise(pl.lit("pre_ics"))
    by_year = (
        pl.when(year >= first_full)
        .then(pl.lit("post_ics"))
        .when(year < y0)
        .then(pl.lit("pre_ics"))
        .otherwise(pl.lit(None, pl.String))
    )
    period = pl.when(date.is_not_null()).then(by_date).otherwise(by_year)
    reason = (
        pl.when(pl.col(outcome_col).is_null())
        .then(pl.lit("no_rating"))
        .when(pl.col("icb_code").is_null())
        .then(pl.lit("no_icb"))
        .when(date.is_null() & year.is_null())
        .then(pl.lit("no_publication_date"))
        .when(period.is_null())
        .then(pl.lit("published_in_ics_start_year"))
        .otherwise(pl.lit(None, pl.String))
    )
    return frame.with_columns(period.alias("period"), reason.alias("reason"))


def _conform(frame: pl.DataFrame, population: str) -> pl.DataFrame:
    """Give a population's frame every column of :data:`ROW_COLUMNS` (nulls if absent)."""
    frame = frame.with_columns(pl.lit(population).alias("population"))
    if "publication_year" in frame.columns:
        frame = frame.with_columns(
            pl.col("publication_year").cast(pl.Int32),
            pl.col("publication_year").cast(pl.String).alias("rating_year"),
        )
    return frame.select(
        *(
            pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
            for c, t in ROW_COLUMNS.items()
        ),
        "period",
        "reason",
    )


def _outcomes() -> list[pl.Expr]:
    r = pl.col("rating").to_physical().cast(pl.Int8)
    w = pl.col("well_led_rating").to_physical().cast(pl.Int8)
    seg = (NOF_WORST - pl.col("nof_segment")).cast(pl.Int8)
    return [
        r.alias("rating_ordinal"),
        (r >= GOOD).cast(pl.Int8).alias("good_or_outstanding"),
        (r == OUTSTANDING).cast(pl.Int8).alias("outstanding"),
        w.alias("well_led_ordinal"),
        (w >= GOOD).cast(pl.Int8).alias("well_led_good_or_outstanding"),
        seg.alias("nof_segment_ordinal"),
    ]


def _standardise(values: pl.Series) -> tuple[float, float]:
    v = values.drop_nulls().drop_nans() if values.dtype.is_float() else values.drop_nulls()
    if v.len() < 2:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1))  # type: ignore[arg-type]


def _provider_frames(
    provider_exposures: pl.DataFrame | Sequence[pl.DataFrame] | None,
) -> list[pl.DataFrame]:
    if provider_exposures is None:
        return []
    frames = (
        [provider_exposures]
        if isinstance(provider_exposures, pl.DataFrame)
        else list(provider_exposures)
    )
    for f in frames:
        if "provider_id" not in f.columns:
            raise ValueError("every provider exposure frame needs a provider_id column")
        if f["provider_id"].is_duplicated().any():
            raise ValueError("a provider exposure frame has more than one row per provider")
    return frames


def _exposure_source(
    name: str, ics_metrics: pl.DataFrame, providers: list[pl.DataFrame]
) -> tuple[str, pl.DataFrame]:
    metrics = set(ics_metrics["metric"].unique()) if ics_metrics.height else set()
    holders = [f for f in providers if name in f.columns]
    if name in metrics and holders:
        raise ValueError(f"exposure {name!r} is both an ICS metric and a provider column")
    if name in metrics:
        ics = ics_metrics.filter((pl.col("metric") == name) & (pl.col("icb_code") != NATIONAL))
        return "ics", ics.select("icb_code", pl.col("value").cast(pl.Float64).alias(name))
    if len(holders) > 1:
        raise ValueError(f"exposure {name!r} is a column of more than one provider frame")
    if not holders:
        cols = sorted({c for f in providers for c in f.columns} - {"provider_id", "icb_code"})
        raise ValueError(
            f"exposure {name!r} is neither an ICS metric ({', '.join(sorted(metrics))}) nor a "
            f"provider column ({', '.join(cols) or 'no provider frames'})"
        )
    col = holders[0].schema[name]
    if not (col.is_numeric() or col == pl.Boolean):
        raise ValueError(f"provider exposure {name!r} must be numeric, not {col}")
    return "provider", holders[0].select("provider_id", pl.col(name).cast(pl.Float64))


def _ics_exposure(frame: pl.DataFrame, name: str, values: pl.DataFrame, vintage: str | None):
    mean, sd = _standardise(values[name])
    values = values.filter(pl.col(name).is_not_null() & pl.col(name).is_not_nan())
    out = frame.join(values, on="icb_code", how="left").with_columns(
        ((pl.col(name) - mean) / sd).alias(f"x__{name}"),
        pl.lit(None, pl.Float64).alias(f"xb__{name}"),
    )
    n = values[name].drop_nulls().len()
    return out, [(name, "ics", None, n, mean, sd, None, vintage)]


def _provider_exposure(frame: pl.DataFrame, name: str, values: pl.DataFrame):
    frame = frame.join(values, on="provider_id", how="left")
    parts, info = [], []
    for part in frame.partition_by("population", maintain_order=True):
        pop = part["population"][0]
        mean, sd = _standardise(part[name])
        means = (
            part.filter(pl.col(name).is_not_null())
            .group_by("icb_code")
            .agg(pl.col(name).mean().alias("_m"))
        )
        b_mean, b_sd = _standardise(means["_m"])
        part = part.join(means, on="icb_code", how="left", maintain_order="left").with_columns(
            ((pl.col(name) - mean) / sd).alias(f"x__{name}"),
            pl.when(pl.col(name).is_not_null())
            .then((pl.col("_m") - b_mean) / b_sd)
            .otherwise(None)
            .alias(f"xb__{name}"),
        )
        parts.append(part.drop("_m"))
        n = part[name].drop_nulls().len()
        if n:
            info.append((name, "provider", pop, n, mean, sd, b_sd, None))
    if not parts:  # no rows at all
        return frame.with_columns(
            pl.lit(None, pl.Float64).alias(f"x__{name}"),
            pl.lit(None, pl.Float64).alias(f"xb__{name}"),
        ), info
    return pl.concat(parts, how="vertical"), info


def analysis_rows(
    mapped: pl.DataFrame,
    ics_metrics: pl.DataFrame,
    *,
    populations: Sequence[str],
    exposures: Sequence[str],
    gp_practices: pl.DataFrame | Loaded | None = None,
    nof_trusts: pl.DataFrame | None = None,
    provider_exposures: pl.DataFrame | Sequence[pl.DataFrame] | None = None,
) -> AnalysisRows:
    """Build the curve's analysis rows (module docstring: periods, codings, exposures).

    Parameters
    ----------
    mapped : ``views.mapped`` (placed ratings, one row per provider x key question).
    ics_metrics : tidy ICS metrics (``icb_code, metric, value``; ``vintage`` if present).
    populations : keys of :data:`~ics_model.effects.spec.POPULATIONS`.
    exposures : ICS metric names or provider-level column names.
    gp_practices : the GP ratings file (:func:`ics_model.data.cqc.read_gp_practices`), for
        the practices' IMD 2019 score and quintile; without it ``imd_score`` is null.
    nof_trusts : placed NOF trusts (``org_code, icb_code, adjusted_segment,
        nhs_trust_type, data_month``), needed by the ``nof_trust`` population.
    provider_exposures : frames of ``provider_id`` and numeric provider-level exposures
        (e.g. ``provider_partnership``; GP practice exposures).

    Returns
    -------
    AnalysisRows

    Raises
    ------
    ValueError
        An unknown population or exposure, a population whose source is missing, duplicate
        providers, NOF segments outside 1-5.
    """
    gp = gp_practices.frame if isinstance(gp_practices, Loaded) else gp_practices
    parts = []
    for name in populations:
        if name not in POPULATIONS:
            raise ValueError(f"unknown population {name!r} (allowed: {', '.join(POPULATIONS)})")
        if POPULATIONS[name].rated_by == "nof_segment":
            if nof_trusts is None:
                raise ValueError(f"population {name!r} needs nof_trusts (the NOF segments)")
            frame, outcome_col = _nof_population(nof_trusts), "nof_segment"
        else:
            frame, outcome_col = _rated_population(name, mapped, gp), "rating"
        parts.append(_conform(_period(frame, outcome_col), name))
    everyone = pl.concat(parts, how="vertical")
    accounts = (
        everyone.with_columns(
            pl.coalesce(pl.col("reason"), pl.concat_str(pl.lit("used_"), pl.col("period"))).alias(
                "outcome"
            )
        )
        .group_by("population", "outcome")
        .agg(pl.len().cast(pl.Int64).alias("n_rows"))
        .sort("population", "outcome")
    )
    frame = everyone.filter(pl.col("reason").is_null()).drop("reason")
    names = set(ics_metrics["icb_code"].unique()) if ics_metrics.height else set()
    ics_codes = tuple(sorted((names - {NATIONAL}) | set(frame["icb_code"].unique())))
    frame = frame.with_columns(
        pl.col("icb_code")
        .replace_strict({c: i for i, c in enumerate(ics_codes)})
        .cast(pl.Int32)
        .alias("cluster"),
        *_outcomes(),
    )
    providers = _provider_frames(provider_exposures)
    info: list[tuple] = []
    cluster_of = dict(zip(ics_codes, range(len(ics_codes)), strict=True))
    ics_parts = []
    for name in exposures:
        if name in frame.columns:
            raise ValueError(f"exposure {name!r} clashes with an analysis-row column")
        level, values = _exposure_source(name, ics_metrics, providers)
        if level == "ics":
            vintage = None
            if "vintage" in ics_metrics.columns:
                v = ics_metrics.filter(pl.col("metric") == name)["vintage"].drop_nulls()
                vintage = v[0] if v.len() else None
            frame, new = _ics_exposure(frame, name, values, vintage)
            mean, sd = new[0][4], new[0][5]
            ics_parts.append(
                values.filter(pl.col(name).is_not_null() & pl.col(name).is_not_nan()).select(
                    pl.lit(name).alias("exposure"),
                    "icb_code",
                    pl.col("icb_code").replace_strict(cluster_of).cast(pl.Int32).alias("cluster"),
                    pl.col(name).alias("value"),
                    ((pl.col(name) - mean) / sd).alias("x"),
                )
            )
        else:
            frame, new = _provider_exposure(frame, name, values)
        info.extend(new)
    exposures_frame = pl.DataFrame(
        info,
        schema={
            "exposure": pl.String,
            "level": pl.String,
            "population": pl.String,
            "n_units": pl.Int64,
            "mean": pl.Float64,
            "sd": pl.Float64,
            "between_sd": pl.Float64,
            "vintage": pl.String,
        },
        orient="row",
    )
    log.info(
        "analysis rows: %s",
        ", ".join(
            f"{r['population']} {r['outcome']} {r['n_rows']}"
            for r in accounts.iter_rows(named=True)
        ),
    )
    ics_schema = {
        "exposure": pl.String,
        "icb_code": pl.String,
        "cluster": pl.Int32,
        "value": pl.Float64,
        "x": pl.Float64,
    }
    ics_exposures = pl.concat([pl.DataFrame(schema=ics_schema), *ics_parts])
    return AnalysisRows(
        frame.sort("population", "provider_id"), accounts, exposures_frame, ics_codes, ics_exposures
    )


__all__ = ["EXCLUSION_REASONS", "AnalysisRows", "analysis_rows"]
