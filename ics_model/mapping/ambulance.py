r"""Ambulance trusts in ICS views: shared among the ICBs they serve, left out, or hosted.

An ambulance trust serves every ICB of its area (London Ambulance Service: the five
London ICBs), so counting it in the one ICB that ODS names as its host (South East
London) misattributes it. ``mapping.ambulance`` chooses the policy:

``shared`` (default)
    the trust counts in every ICB it serves with weight

    .. math:: w_{t,i} = \frac{P_{t,i}}{\sum_j P_{t,j}}

    where :math:`P_{t,i}` is the mid-2022 population of the sub-ICB locations of ICB
    :math:`i` that trust :math:`t` serves (the ambulance areas crosswalk). The weights of
    a trust sum to 1, so it still counts once nationally. Its rows leave the one-ICB
    frame (``providers.csv``, the ICS view) and are counted, weighted, in the view by
    trust type (:func:`ics_model.views.ics_view_by`); ``ambulance_allocation.csv`` lists
    the weights.
``exclude``
    the trust is left out of ICS counts; its input rows count as ``ambulance_excluded``
    in the conservation report.
``host``
    the trust counts whole in its ODS host ICB (the behaviour before the policy existed).

A trust typed ``ambulance`` that serves no area of the crosswalk is left out under
``shared`` too (``ambulance_excluded``, with the reason in the allocation).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.mapping.age import set_aside
from ics_model.mapping.base import MAPPED_RATINGS, Placed
from ics_model.mapping.successors import icb_table, with_icb
from ics_model.ratings import AMBULANCE_POLICIES

log = logging.getLogger(__name__)

AMBULANCE_ALLOCATION: Final = Contract.closed(
    "ambulance_allocation",
    (
        Column.text("provider_id", "ODS code of the ambulance trust"),
        Column.text("provider_name", "trust name", nullable=True),
        Column.text("host_icb_code", "the ICB ODS names as the trust's host", nullable=True),
        Column.text("icb_code", "an ICB the trust is counted in (or serves)", nullable=True),
        Column.text("icb_gss", "its GSS code", nullable=True),
        Column.text("icb_name", "its name", nullable=True),
        Column(
            "population_served",
            pl.Int64,
            min_value=0,
            description="mid-2022 population of the ICB's sub-ICB locations the trust serves",
        ),
        Column.share(
            "icb_weight",
            "population_served over the trust's whole served population: the fraction of "
            "the trust counted in this ICB (1 in its host ICB under host)",
        ),
        Column.text(
            "policy", "mapping.ambulance of the run", allowed=frozenset(AMBULANCE_POLICIES)
        ),
        Column.flag("counted", "whether the row counts in the ICS views"),
        Column.text(
            "note", "approximations of the service area, or why not counted", nullable=True
        ),
    ),
    key=("provider_id", "icb_code"),
    description=(
        "One row per ambulance trust x ICB it serves: the population-share weight with "
        "which it counts in that ICB's views (mapping.ambulance), or why it does not count."
    ),
)

#: mapped rows of providers counted in several ICBs, one per ICB, with their weight
ALLOCATED: Final = dataclasses.replace(
    MAPPED_RATINGS,
    name="allocated_ratings",
    description="Mapped rows of providers shared among ICBs: one per provider x key "
    "question x ICB, with the provider's weight in that ICB.",
    columns=(
        *MAPPED_RATINGS.columns,
        Column("icb_weight", pl.Float64, nullable=False, min_value=0.0, max_value=1.0),
        Column("host_icb_code", pl.String, description="the ICB ODS names as host"),
    ),
    key=("sector", "provider_id", "key_question", "icb_code"),
)


def ambulance_shares(
    areas: pl.DataFrame,
    sub_icb_population: pl.DataFrame,
    icb_codes: pl.DataFrame,
    successors: pl.DataFrame | None = None,
    icb_vintage: str = "2023",
) -> pl.DataFrame:
    r"""Weight of each ambulance trust in each ICB it serves, from sub-ICB populations.

    Parameters
    ----------
    areas : the ambulance areas crosswalk (``ambulance_trust_code``, ``sub_icb_code``,
        ``note``; :func:`ics_model.data.trust_reference.read_ambulance_areas`).
    sub_icb_population : ONS sub-ICB populations (``sub_icb_code``, ``icb_gss``,
        ``population``; :func:`ics_model.data.population.read_sub_icb_population`).
    icb_codes : the canonical ICB list (icb_code, icb_gss, icb_name) of 2023.
    successors, icb_vintage : map the 2023 ICBs to the run's vintage; a part in an ICB
        that split (no single 2026 ICB) is left out, the other weights renormalised, and
        the note says so.

    Returns
    -------
    pl.DataFrame
        ``provider_id`` (trust), ``icb_code``, ``icb_gss``, ``icb_name``,
        ``population_served`` and ``icb_weight`` :math:`= P_{t,i} / \sum_j P_{t,j}`, plus
        ``note`` (the crosswalk's notes for those sub-ICBs, ``;``-joined).

    Raises
    ------
    ValueError
        A sub-ICB of the crosswalk has no population (an unknown code).
    """
    pops = areas.join(
        sub_icb_population.select("sub_icb_code", "icb_gss", "population"),
        on="sub_icb_code",
        how="left",
    )
    missing = pops.filter(pl.col("population").is_null())["sub_icb_code"].to_list()
    if missing:
        raise ValueError(f"ambulance areas: sub-ICB codes with no population: {missing}")
    icbs, cmap = icb_table(icb_codes, successors, icb_vintage)
    placed = with_icb(
        pops.join(icb_codes.select("icb_gss", "icb_code"), on="icb_gss", how="left").drop(
            "icb_gss"
        ),
        icbs,
        cmap,
    )
    lost = placed.filter(pl.col("icb_code").is_null())
    if lost.height:
        log.warning(
            "ambulance areas: %d sub-ICB location(s) in ICBs with no single %s ICB left out: %s",
            lost.height,
            icb_vintage,
            lost["sub_icb_code"].to_list(),
        )
    lost_note = lost.group_by("ambulance_trust_code").agg(
        pl.format(
            "sub-ICB locations {} (population {}) are in ICBs with no single {} ICB: left out",
            pl.col("sub_icb_code").sort().str.join(", "),
            pl.col("population").sum(),
            pl.lit(icb_vintage),
        ).alias("_lost")
    )
    return (
        placed.filter(pl.col("icb_code").is_not_null())
        .group_by("ambulance_trust_code", "icb_code", "icb_gss", "icb_name")
        .agg(
            pl.col("population").sum().cast(pl.Int64).alias("population_served"),
            pl.col("note").drop_nulls().unique().sort().str.join("; ").alias("note"),
        )
        .join(lost_note, on="ambulance_trust_code", how="left")
        .with_columns(
            (
                pl.col("population_served")
                / pl.col("population_served").sum().over("ambulance_trust_code")
            ).alias("icb_weight"),
            pl.concat_str(
                [pl.col("note").replace("", None), pl.col("_lost")],
                separator="; ",
                ignore_nulls=True,
            )
            .replace("", None)
            .alias("note"),
        )
        .select(
            pl.col("ambulance_trust_code").alias("provider_id"),
            "icb_code",
            "icb_gss",
            "icb_name",
            "population_served",
            "icb_weight",
            "note",
        )
        .sort("provider_id", "icb_code")
    )


def apply_ambulance_policy(
    placed: Placed, policy: str, shares: pl.DataFrame, source: str
) -> tuple[Placed, pl.DataFrame]:
    """Apply ``mapping.ambulance`` to placed NHS trusts typed ``ambulance``.

    Parameters
    ----------
    placed : the trust sector's placement, its ratings carrying ``trust_type``.
    policy : ``shared``, ``exclude`` or ``host`` (see the module docstring).
    shares : :func:`ambulance_shares`.
    source : the source's name in the conservation report.

    Returns
    -------
    (Placed, pl.DataFrame)
        The placement after the policy (under ``shared``, ``allocated`` holds the shared
        trusts' rows, one per ICB, per :data:`ALLOCATED`), and the allocation
        (:data:`AMBULANCE_ALLOCATION`; empty when no trust is typed ``ambulance``).
    """
    if policy not in AMBULANCE_POLICIES:
        raise ValueError(f"mapping.ambulance must be one of {AMBULANCE_POLICIES}, got {policy!r}")
    units = (
        placed.ratings.filter(pl.col("trust_type") == "ambulance")
        .group_by("provider_id")
        .agg(pl.col("provider_name").first(), pl.col("icb_code").first().alias("host_icb_code"))
        .sort("provider_id")
    )
    if units.is_empty():
        return placed, AMBULANCE_ALLOCATION.empty()
    if policy == "host":
        allocation = units.join(
            placed.ratings.select("provider_id", "icb_code", "icb_gss", "icb_name").unique(),
            on="provider_id",
        ).with_columns(
            pl.lit(None, pl.Int64).alias("population_served"),
            pl.lit(1.0).alias("icb_weight"),
            pl.lit(True).alias("counted"),
            pl.lit("counted whole in its ODS host ICB (mapping.ambulance = host)").alias("note"),
        )
        return placed, _allocation(allocation, policy)
    known = units.join(shares, on="provider_id", how="inner")
    unknown = units.join(shares, on="provider_id", how="anti")
    rows = known.with_columns(pl.lit(policy == "shared").alias("counted"))
    if policy == "exclude":
        rows = rows.with_columns(
            pl.concat_str(
                [pl.lit("left out of ICS counts (mapping.ambulance = exclude)"), pl.col("note")],
                separator="; ",
                ignore_nulls=True,
            ).alias("note")
        )
    none = unknown.with_columns(
        pl.lit(None, pl.String).alias("icb_code"),
        pl.lit(None, pl.String).alias("icb_gss"),
        pl.lit(None, pl.String).alias("icb_name"),
        pl.lit(None, pl.Int64).alias("population_served"),
        pl.lit(None, pl.Float64).alias("icb_weight"),
        pl.lit(False).alias("counted"),
        pl.lit("no service area in the ambulance areas crosswalk: left out of ICS counts").alias(
            "note"
        ),
    )
    allocation = _allocation(pl.concat([rows, none], how="diagonal_relaxed"), policy)
    leave = units if policy == "exclude" else unknown
    if leave.height:
        log.warning(
            "%d ambulance trust(s) left out of ICS counts: %s",
            leave.height,
            leave["provider_id"].to_list(),
        )
    why = (
        pl.when(pl.col("provider_id").is_in(unknown["provider_id"].to_list()))
        .then(pl.lit("ambulance trust with no service area in the ambulance areas crosswalk"))
        .otherwise(pl.lit("ambulance trust left out of ICS counts (mapping.ambulance = exclude)"))
    )
    out = set_aside(
        placed,
        leave.select("provider_id").unique().with_columns(why.alias("reason")),
        "ambulance_excluded",
        source,
    )
    if policy == "shared" and known.height:
        shared = out.ratings.join(known.select("provider_id").unique(), on="provider_id")
        allocated = (
            shared.rename({"icb_code": "host_icb_code"})
            .drop("icb_gss", "icb_name")
            .join(
                known.select("provider_id", "icb_code", "icb_gss", "icb_name", "icb_weight"),
                on="provider_id",
            )
            .select(ALLOCATED.column_names)
            .sort("provider_id", "icb_code", "key_question")
        )
        out = dataclasses.replace(
            out,
            ratings=out.ratings.join(known.select("provider_id"), on="provider_id", how="anti"),
            allocated=validate(allocated, ALLOCATED).frame,
        )
        log.info(
            "ambulance trusts shared among the ICBs they serve: %s",
            ", ".join(
                f"{p} ({n} ICBs)" for p, n in known.group_by("provider_id").len().iter_rows()
            ),
        )
    return out, allocation


def _allocation(frame: pl.DataFrame, policy: str) -> pl.DataFrame:
    out = frame.with_columns(pl.lit(policy).alias("policy")).select(
        [pl.col(c).cast(t) for c, t in AMBULANCE_ALLOCATION.schema.items()]
    )
    return validate(
        out.sort("provider_id", "icb_code", nulls_last=True), AMBULANCE_ALLOCATION
    ).frame
