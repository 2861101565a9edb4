"""The ICB geography of a run: which ICB every sub-ICB, LSOA, commissioner and trust is in.

Two vintages (``mapping.icb_vintage``):

- ``"2023"``: the 42 ICBs of July 2022 - March 2026. The one April 2026 code of the RTT
  extract that ODS ``eccg`` 2025 lacks (``U2G6B``, East Berkshire) is placed in the 2023
  ICB its area lies in (Frimley, QNQ) through the documented crosswalk
  (:func:`ics_model.data.crosswalk.read_icb_crosswalk`).
- ``"2026"``: the April 2026 ICBs. Whole 2023 ICBs follow ODS ``succ``
  (:func:`~ics_model.mapping.successors.icb_table`); the three that split are divided by
  the crosswalk: Suffolk and North East Essex (QJG) and Hertfordshire and West Essex
  (QM7) along 2023 sub-ICB lines, Frimley (QNQ) below them, by district.

What the embedded data can and cannot place is reported, never guessed
(:func:`changes_table`): the GP ratings file gives only the 2023 ICB of a practice, so
practices of a split ICB cannot be placed in 2026; the sub-ICB boundaries cannot draw
Frimley's split; trusts, RTT flows, LSOAs and populations can be placed.

Population shares of the parts of a split ICB are sums of IoD 2019 mid-2015 LSOA
populations (whole 2011 LSOAs, each in the district the IoD gives it), a modelled
apportionment: ``share = sum(pop of the part's LSOAs) / sum(pop of the ICB's LSOAs)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import polars as pl

from ics_model.mapping.icb_changes import (
    changes_table,
    check_crosswalk,
    flow_notes_2023,
    gp_notes_2026,
)
from ics_model.mapping.successors import icb_table

VINTAGES: Final = ("2023", "2026")
#: eccg kinds whose rows stand for residents (the rest are hubs or ICBs).
_RESIDENT_KINDS: Final = ("sub_icb_location", "reporting_entity", "ccg")


@dataclass(frozen=True)
class IcbGeography:
    """The ICB geography of one vintage, with every change and what it cannot model.

    Attributes
    ----------
    vintage : ``"2023"`` or ``"2026"``.
    icbs : icb_code, icb_gss (null for April 2026 codes), icb_name: the run's ICBs.
    code_map : icb_code_2023, icb_code (null for a split ICB), status, note.
    sub_icbs : sub_icb_code, sub_icb_gss, icb_code_2023, icb_code (null: a split runs
        through it), how.
    lsoas : lsoa11_code, icb_code_2023, icb_code (null: no crosswalk row for its
        district), population_2015, lad19_code.
    commissioners : ODS ``eccg`` rows (org_code, kind, icb_code in the vintage, is_open)
        plus the crosswalk's RTT commissioner codes, with ``crosswalk_note``.
    splits : per part of a split 2023 ICB: icb_code_2023, icb_code_2026,
        population_2015, share, districts, via (RTT April 2026 commissioner codes).
    population : icb_code, population (mid-2022, sub-ICB sums), note.
    changes : the geography report, one row per 2023 ICB x ICB of the vintage (see
        :func:`changes_table`).
    flow_notes : ICB -> why its resident RTT flows are partial or mixed.
    partial_flows : ICBs whose residents the RTT flows cover only in part.
    gp_notes : ICB -> why GP practice figures miss part of its area.
    districts : the crosswalk's districts of split ICBs (icb_code_2023, lad19_code, name,
        county, icb_code_2026).
    """

    vintage: str
    icbs: pl.DataFrame
    code_map: pl.DataFrame
    sub_icbs: pl.DataFrame
    lsoas: pl.DataFrame
    commissioners: pl.DataFrame
    splits: pl.DataFrame
    population: pl.DataFrame
    changes: pl.DataFrame
    flow_notes: Mapping[str, str] = field(default_factory=dict)
    partial_flows: frozenset[str] = frozenset()
    gp_notes: Mapping[str, str] = field(default_factory=dict)
    districts: pl.DataFrame = field(default_factory=pl.DataFrame)


def _rows(crosswalk: pl.DataFrame, kind: str) -> pl.DataFrame:
    return crosswalk.filter(pl.col("area_type") == kind)


def _named(icbs: pl.DataFrame, crosswalk: pl.DataFrame) -> pl.DataFrame:
    """Return the ICB list with the crosswalk's names for April 2026 codes."""
    names = _rows(crosswalk, "icb").select(pl.col("code").alias("icb_code"), "name")
    return (
        icbs.join(names, on="icb_code", how="left")
        .with_columns(pl.coalesce("name", "icb_name").alias("icb_name"))
        .drop("name")
    )


def lsoa_table(
    lsoa_icb: pl.DataFrame,
    imd: pl.DataFrame,
    icb_codes: pl.DataFrame,
    code_map: pl.DataFrame,
    crosswalk: pl.DataFrame,
) -> pl.DataFrame:
    """Place every 2011 LSOA in an April 2026 ICB (and keep its 2023 ICB).

    A whole 2023 ICB's LSOAs follow ``code_map``; a split ICB's LSOAs follow the
    crosswalk's ``lad`` row for their district (``icb_code`` null when there is none).

    Returns
    -------
    pl.DataFrame
        lsoa11_code, icb_code_2023, icb_code_2026, lad19_code, lad19_name,
        population_2015 (IoD 2019 denominators, mid-2015).
    """
    lads = _rows(crosswalk, "lad").select(
        pl.col("code").alias("lad19_code"),
        "icb_code_2023",
        pl.col("icb_code_2026").alias("_lad_icb"),
    )
    return (
        lsoa_icb.select("lsoa11_code", "icb_gss")
        .join(icb_codes.select("icb_gss", pl.col("icb_code").alias("icb_code_2023")), on="icb_gss")
        .join(
            imd.select("lsoa11_code", "lad19_code", "lad19_name", "population_total"),
            on="lsoa11_code",
            how="left",
        )
        .join(
            code_map.select("icb_code_2023", pl.col("icb_code").alias("_map_icb"), "status"),
            on="icb_code_2023",
            how="left",
        )
        .join(lads, on=["icb_code_2023", "lad19_code"], how="left")
        .select(
            "lsoa11_code",
            "icb_code_2023",
            pl.when(pl.col("status") == "split")
            .then(pl.col("_lad_icb"))
            .otherwise(pl.col("_map_icb"))
            .alias("icb_code_2026"),
            "lad19_code",
            "lad19_name",
            pl.col("population_total").fill_null(0).alias("population_2015"),
        )
        .sort("lsoa11_code")
    )


def split_parts(
    lsoas: pl.DataFrame, code_map: pl.DataFrame, crosswalk: pl.DataFrame
) -> pl.DataFrame:
    """Parts of each split 2023 ICB by April 2026 ICB, with population shares.

    ``share = P(part) / P(ICB)``, ``P`` = sum of the mid-2015 populations of the LSOAs
    (IoD 2019 denominators); a part with null ``icb_code_2026`` is LSOAs whose district
    has no crosswalk row.

    Examples
    --------
    >>> cmap = pl.DataFrame({"icb_code_2023": ["QAA"], "icb_code": [None], "status": ["split"]})
    >>> lsoas = pl.DataFrame({
    ...     "icb_code_2023": ["QAA"] * 3, "icb_code_2026": ["B1B1B", "B1B1B", "C2C2C"],
    ...     "lad19_name": ["X", "Y", "Z"], "population_2015": [10, 20, 70]})
    >>> cw = pl.DataFrame(schema={"area_type": pl.String, "icb_code_2023": pl.String,
    ...     "icb_code_2026": pl.String, "via": pl.String})
    >>> split_parts(lsoas, cmap, cw).select("icb_code_2026", "share", "districts").rows()
    [('B1B1B', 0.3, 'X, Y'), ('C2C2C', 0.7, 'Z')]
    """
    split = code_map.filter(pl.col("status") == "split")["icb_code_2023"].to_list()
    via = (
        crosswalk.filter(pl.col("area_type") == "lad")
        .group_by("icb_code_2023", "icb_code_2026")
        .agg(pl.col("via").drop_nulls().unique().sort().str.join(", ").alias("via"))
    )
    return (
        lsoas.filter(pl.col("icb_code_2023").is_in(split))
        .group_by("icb_code_2023", "icb_code_2026")
        .agg(
            pl.col("population_2015").sum(),
            pl.col("lad19_name").unique().sort().str.join(", ").alias("districts"),
        )
        .with_columns(
            (
                pl.col("population_2015") / pl.col("population_2015").sum().over("icb_code_2023")
            ).alias("share")
        )
        .join(via, on=["icb_code_2023", "icb_code_2026"], how="left")
        .with_columns(pl.col("via").replace("", None))
        .select("icb_code_2023", "icb_code_2026", "population_2015", "share", "districts", "via")
        .sort("icb_code_2023", "icb_code_2026", nulls_last=True)
    )


def sub_icb_table(
    population: pl.DataFrame,
    icb_codes: pl.DataFrame,
    code_map: pl.DataFrame,
    crosswalk: pl.DataFrame,
    vintage: str,
) -> pl.DataFrame:
    """Place the 106 sub-ICB locations of 2023 in the vintage's ICBs.

    Returns
    -------
    pl.DataFrame
        sub_icb_code, sub_icb_gss, icb_code_2023, icb_code (null: a split runs through
        it), population (mid-2022), how (``2023 ICB``, ``ODS successor``, ``crosswalk``
        or ``split below sub-ICB level``).
    """
    subs = _rows(crosswalk, "sub_icb").select(
        pl.col("code").alias("sub_icb_code"), pl.col("icb_code_2026").alias("_cw"), "evidence"
    )
    base = population.select("sub_icb_code", "sub_icb_gss", "icb_gss", "population").join(
        icb_codes.select("icb_gss", pl.col("icb_code").alias("icb_code_2023")), on="icb_gss"
    )
    if vintage == "2023":
        return base.select(
            "sub_icb_code",
            "sub_icb_gss",
            "icb_code_2023",
            pl.col("icb_code_2023").alias("icb_code"),
            "population",
            pl.lit("2023 ICB").alias("how"),
        ).sort("sub_icb_code")
    j = base.join(
        code_map.select("icb_code_2023", pl.col("icb_code").alias("_map"), "status"),
        on="icb_code_2023",
        how="left",
    ).join(subs, on="sub_icb_code", how="left")
    split = pl.col("status") == "split"
    return j.select(
        "sub_icb_code",
        "sub_icb_gss",
        "icb_code_2023",
        pl.when(split).then(pl.col("_cw")).otherwise(pl.col("_map")).alias("icb_code"),
        "population",
        pl.when(~split)
        .then(pl.lit("ODS successor"))
        .when(pl.col("_cw").is_not_null())
        .then(pl.lit("crosswalk"))
        .otherwise(pl.lit("split below sub-ICB level"))
        .alias("how"),
    ).sort("sub_icb_code")


def commissioner_table(
    eccg: pl.DataFrame, code_map: pl.DataFrame, crosswalk: pl.DataFrame, vintage: str
) -> pl.DataFrame:
    """ODS ``eccg`` rows with their ICB in the vintage, plus the crosswalk's RTT codes.

    The frame :func:`ics_model.metrics.partnership_inputs.flow_table` takes as
    ``sub_icbs``: org_code, kind, icb_code (vintage), is_open, crosswalk_note (why a
    code is placed the way it is, or not at all).
    """
    base = eccg.select("org_code", pl.col("kind").cast(pl.String), "icb_code", "is_open")
    code_col = "icb_code_2023" if vintage == "2023" else "icb_code_2026"
    extra = _rows(crosswalk, "rtt_commissioner").select(
        pl.col("code").alias("org_code"),
        pl.lit("sub_icb_location").alias("kind"),
        pl.col(code_col).alias("icb_code"),
        pl.lit(True).alias("is_open"),
        pl.format(
            "April 2026 code placed in {} through the ICB crosswalk ({}; 2023 ICB {})",
            pl.col(code_col),
            pl.col("name"),
            pl.col("icb_code_2023"),
        ).alias("crosswalk_note"),
    )
    if vintage == "2023":
        out = base.with_columns(pl.lit(None, pl.String).alias("crosswalk_note"))
    else:
        subs = _rows(crosswalk, "sub_icb").select(
            pl.col("code").alias("org_code"), pl.col("icb_code_2026").alias("_cw")
        )
        j = base.join(
            code_map.select(
                pl.col("icb_code_2023").alias("icb_code"),
                pl.col("icb_code").alias("_map"),
                "status",
            ),
            on="icb_code",
            how="left",
        ).join(subs, on="org_code", how="left")
        split = pl.col("status") == "split"
        out = j.select(
            "org_code",
            "kind",
            pl.when(split).then(pl.col("_cw")).otherwise(pl.col("_map")).alias("icb_code"),
            "is_open",
            pl.when(split & pl.col("_cw").is_not_null())
            .then(
                pl.format(
                    "in split ICB {}; placed in {} through the ICB crosswalk", "icb_code", "_cw"
                )
            )
            .when(split & pl.col("kind").is_in(_RESIDENT_KINDS))
            .then(pl.format("in split ICB {}: no single April 2026 ICB (not guessed)", "icb_code"))
            .alias("crosswalk_note"),
        )
    known = set(out["org_code"])
    extra = extra.filter(~pl.col("org_code").is_in(sorted(known)))
    return pl.concat([out, extra], how="vertical_relaxed").sort("org_code")


def trust_hosts(
    trusts: pl.DataFrame, code_map: pl.DataFrame, trusts_2026: pl.DataFrame | None
) -> pl.DataFrame:
    """Host ICB of each trust in the vintage: ``code_map``, else ODS etr 2026 for a split host.

    Returns ``trusts`` with ``icb_code`` in the vintage (null in Wales, or for a split
    host the 2026 file does not resolve) and ``host_note`` (how a split host was placed).
    """
    mapped = trusts.join(
        code_map.select(
            pl.col("icb_code_2023").alias("icb_code"), pl.col("icb_code").alias("_map"), "status"
        ),
        on="icb_code",
        how="left",
    )
    if trusts_2026 is None:
        later = pl.DataFrame(schema={"org_code": pl.String, "_later": pl.String})
    else:
        later = trusts_2026.select("org_code", pl.col("icb_code").alias("_later"))
    mapped = mapped.join(later, on="org_code", how="left")
    split = pl.col("status") == "split"
    return mapped.with_columns(
        pl.when(split).then(pl.col("_later")).otherwise(pl.col("_map")).alias("icb_code"),
        pl.when(split & pl.col("_later").is_not_null())
        .then(pl.format("host ICB {} split; host {} from ODS etr 2026", "icb_code", "_later"))
        .when(split)
        .then(pl.format("host ICB {} split; not in ODS etr 2026 (not guessed)", "icb_code"))
        .alias("host_note"),
    ).drop("_map", "status", "_later")


def with_split_hosts(hosted: pl.DataFrame, hosts: pl.DataFrame, icbs: pl.DataFrame) -> pl.DataFrame:
    """Place trusts whose 2023 host ICB split, by their host in a later ODS file.

    ``hosted`` is :func:`~ics_model.mapping.successors.with_icb` output (``icb_code``
    null where the 2023 host has no single successor); ``hosts`` (org_code, icb_code)
    gives each trust's host in the vintage (ODS etr 2026 for April 2026); ``icbs`` the
    vintage's ICBs. A trust placed this way has ``icb_status`` ``split_host`` and an
    ``icb_note`` saying so; one still without a host keeps a null ``icb_code``.
    """
    later = hosts.select("org_code", pl.col("icb_code").alias("_later")).join(
        icbs.select(
            pl.col("icb_code").alias("_later"),
            pl.col("icb_gss").alias("_gss"),
            pl.col("icb_name").alias("_name"),
        ),
        on="_later",
        how="inner",
    )
    j = hosted.join(later, on="org_code", how="left")
    fill = pl.col("icb_code").is_null() & pl.col("_later").is_not_null()
    return j.with_columns(
        pl.when(fill).then(pl.col("_later")).otherwise(pl.col("icb_code")).alias("icb_code"),
        pl.when(fill).then(pl.col("_gss")).otherwise(pl.col("icb_gss")).alias("icb_gss"),
        pl.when(fill).then(pl.col("_name")).otherwise(pl.col("icb_name")).alias("icb_name"),
        pl.when(fill)
        .then(pl.lit("split_host"))
        .otherwise(pl.col("icb_status"))
        .alias("icb_status"),
        pl.when(fill)
        .then(
            pl.format(
                "host ICB {} split; host {} from the later ODS trust file",
                "icb_code_2023",
                "_later",
            )
        )
        .otherwise(pl.col("icb_note"))
        .alias("icb_note"),
    ).drop("_later", "_gss", "_name")


def _population(sub_icbs: pl.DataFrame, lsoas: pl.DataFrame) -> pl.DataFrame:
    """Mid-2022 population per ICB; a sub-ICB split below its level is apportioned by LSOAs."""
    whole = sub_icbs.filter(pl.col("icb_code").is_not_null())
    cut = sub_icbs.filter(pl.col("icb_code").is_null())
    parts = []
    for code, icb23, pop in cut.select("sub_icb_code", "icb_code_2023", "population").iter_rows():
        others = sub_icbs.filter(
            (pl.col("icb_code_2023") == icb23) & (pl.col("sub_icb_code") != code)
        )
        if others.height:  # the LSOA lookup has no sub-ICB: only a whole ICB can be apportioned
            continue
        shares = (
            lsoas.filter(pl.col("icb_code_2023") == icb23)
            .group_by("icb_code_2026")
            .agg(pl.col("population_2015").sum())
            .filter(pl.col("icb_code_2026").is_not_null())
            .with_columns((pl.col("population_2015") / pl.col("population_2015").sum()).alias("s"))
        )
        parts.append(
            shares.select(
                pl.col("icb_code_2026").alias("icb_code"),
                (pl.col("s") * pop).round(0).cast(pl.Int64).alias("population"),
                pl.format(
                    "includes {}% of {}'s mid-2022 population ({} split below sub-ICB level; "
                    "apportioned by mid-2015 LSOA populations, modelled)",
                    (pl.col("s") * 100).round(1),
                    pl.lit(code),
                    pl.lit(icb23),
                ).alias("note"),
            )
        )
    out = whole.group_by("icb_code").agg(pl.col("population").sum())
    if parts:
        extra = pl.concat(parts)
        out = (
            pl.concat([out.with_columns(pl.lit(None, pl.String).alias("note")), extra])
            .group_by("icb_code")
            .agg(pl.col("population").sum(), pl.col("note").drop_nulls().str.join("; "))
            .with_columns(pl.col("note").replace("", None))
        )
    else:
        out = out.with_columns(pl.lit(None, pl.String).alias("note"))
    return out.sort("icb_code")


def build_geography(
    vintage: str,
    *,
    icb_codes: pl.DataFrame,
    successors: pl.DataFrame,
    crosswalk: pl.DataFrame,
    eccg: pl.DataFrame,
    population: pl.DataFrame,
    lsoa_icb: pl.DataFrame,
    imd: pl.DataFrame,
) -> IcbGeography:
    """Build the run's ICB geography (see the module docstring).

    Parameters
    ----------
    vintage : ``"2023"`` or ``"2026"``.
    icb_codes : the 42 ICBs (icb_code, icb_gss, icb_name).
    successors : ODS ``succ`` (predecessor_code, successor_code, effective_date).
    crosswalk : :func:`ics_model.data.crosswalk.read_icb_crosswalk` frame.
    eccg : ODS ``eccg`` 2025 (org_code, kind, icb_code, is_open).
    population : mid-2022 sub-ICB population (sub_icb_code, sub_icb_gss, icb_gss,
        population).
    lsoa_icb : LSOA 2011 -> ICB 2023 (lsoa11_code, icb_gss).
    imd : IoD 2019 LSOAs (lsoa11_code, lad19_code, lad19_name, population_total).

    Raises
    ------
    ValueError
        Unknown vintage, or a crosswalk that disagrees with ``succ`` or the sub-ICB list
        (every problem listed).
    """
    if vintage not in VINTAGES:
        raise ValueError(f"icb vintage must be one of {VINTAGES}, got {vintage!r}")
    _, cmap26 = icb_table(icb_codes, successors, "2026")
    icbs, cmap = icb_table(icb_codes, successors, vintage)
    icbs = _named(icbs, crosswalk)
    subs26 = sub_icb_table(population, icb_codes, cmap26, crosswalk, "2026")
    problems = check_crosswalk(crosswalk, cmap26, successors, subs26)
    if problems:
        raise ValueError("the ICB crosswalk disagrees with ODS:\n" + "\n".join(problems))
    lsoas = lsoa_table(lsoa_icb, imd, icb_codes, cmap26, crosswalk)
    splits = split_parts(lsoas, cmap26, crosswalk)
    subs = sub_icb_table(population, icb_codes, cmap, crosswalk, vintage)
    commissioners = commissioner_table(eccg, cmap, crosswalk, vintage)
    if vintage == "2023":
        flow_notes, partial = flow_notes_2023(crosswalk, lsoas, commissioners, subs26)
        gp_notes: dict[str, str] = {}
        lsoas = lsoas.with_columns(pl.col("icb_code_2023").alias("icb_code"))
        pop = (
            subs.group_by("icb_code")
            .agg(pl.col("population").sum())
            .with_columns(pl.lit(None, pl.String).alias("note"))
            .sort("icb_code")
        )
    else:
        flow_notes, partial = {}, frozenset()
        gp_notes = gp_notes_2026(splits, dict(zip(icbs["icb_code"], icbs["icb_name"], strict=True)))
        lsoas = lsoas.with_columns(pl.col("icb_code_2026").alias("icb_code"))
        pop = _population(subs, lsoas)
    changes = changes_table(vintage, icb_codes, cmap26, icbs, splits, subs26, flow_notes)
    return IcbGeography(
        vintage=vintage,
        icbs=icbs,
        code_map=cmap,
        sub_icbs=subs,
        lsoas=lsoas,
        commissioners=commissioners,
        splits=splits,
        population=pop,
        changes=changes,
        flow_notes=flow_notes,
        partial_flows=partial,
        gp_notes=gp_notes,
        districts=_rows(crosswalk, "lad").select(
            "icb_code_2023",
            pl.col("code").alias("lad19_code"),
            "name",
            (pl.col("county") if "county" in crosswalk.columns else pl.lit(None, pl.String)).alias(
                "county"
            ),
            "icb_code_2026",
        ),
    )


__all__ = [
    "VINTAGES",
    "IcbGeography",
    "build_geography",
    "commissioner_table",
    "lsoa_table",
    "split_parts",
    "sub_icb_table",
    "trust_hosts",
    "with_split_hosts",
]
