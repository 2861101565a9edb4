"""What the April 2026 ICB changes do to a run, written down: notes, checks and the report.

:func:`changes_table` is the geography report a run writes (``icb_geography.csv``):
one row per 2023 ICB x ICB of the run's vintage, saying for each layer (RTT flows,
trusts, GP practices, boundaries) whether the embedded data can place it there, and
why not. :func:`flow_notes_2023` says which ICBs' resident flows are partial or mixed in
the 42-ICB geography (Frimley's area is reported under April 2026 codes);
:func:`gp_notes_2026` which April 2026 ICBs lack the GP practices of a split ICB's part.
:func:`check_crosswalk` holds the crosswalk to ODS ``succ`` and the sub-ICB list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, validate

CHANGES: Final = ("same", "merged", "split")


def _rows(crosswalk: pl.DataFrame, kind: str) -> pl.DataFrame:
    return crosswalk.filter(pl.col("area_type") == kind)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def flow_notes_2023(
    crosswalk: pl.DataFrame,
    lsoas: pl.DataFrame,
    commissioners: pl.DataFrame,
    sub_icbs: pl.DataFrame,
) -> tuple[dict[str, str], frozenset[str]]:
    """Return notes on resident RTT flows in the 42-ICB geography, and ICBs covered in part.

    A 2023 ICB split below sub-ICB level (Frimley) has no RTT April 2026 code of its own:
    its districts are reported inside the April 2026 codes named in the crosswalk's
    ``via``. A ``via`` code placed in the ICB itself (a crosswalk ``rtt_commissioner``
    row, U2G6B) gives it residents; any other ``via`` code is a sub-ICB of another 2023
    ICB, whose residents then include part of this one.
    """
    cut = sub_icbs.filter(pl.col("how") == "split below sub-ICB level")
    cut_icbs = set(cut["icb_code_2023"])
    home = dict(zip(commissioners["org_code"], commissioners["icb_code"], strict=True))
    pop23 = lsoas.group_by("icb_code_2023").agg(pl.col("population_2015").sum())
    pop = dict(zip(pop23["icb_code_2023"], pop23["population_2015"], strict=True))
    lad_via = _rows(crosswalk, "lad").select(
        "icb_code_2023", pl.col("code").alias("lad19_code"), "via"
    )
    notes: dict[str, str] = {}
    partial: set[str] = set()
    for icb in sorted(cut_icbs):
        by_via = (
            lsoas.filter(pl.col("icb_code_2023") == icb)
            .join(lad_via, on=["icb_code_2023", "lad19_code"], how="left")
            .group_by("via")
            .agg(
                pl.col("population_2015").sum(),
                pl.col("lad19_name").unique().sort().str.join(", ").alias("districts"),
            )
            .sort("via", nulls_last=True)
        )
        total = max(pop.get(icb, 0), 1)
        own, elsewhere = [], []
        for via, p, districts in by_via.iter_rows():
            share = _pct(p / total)
            where = home.get(via) if via is not None else None
            if where == icb:
                own.append(f"{via} ({districts}; {share})")
            else:
                counted = f"counted in {where}" if where else "not placed"
                elsewhere.append(f"{via or 'no code'} ({districts}; {share}; {counted})")
                if where:
                    into = pop.get(where, 0)
                    notes[where] = (
                        f"its RTT April 2026 sub-ICB {via} also holds former {icb} residents "
                        f"({districts}): {p:,} people, {_pct(p / max(into + p, 1))} of its "
                        "residents with them (mid-2015 LSOA populations)"
                    )
        partial.add(icb)
        notes[icb] = (
            f"RTT April 2026 has no code for all of {icb}; its residents here are those of "
            + ("; ".join(own) if own else "no code")
            + ", placed through the ICB crosswalk; the rest are reported inside other codes: "
            + "; ".join(elsewhere)
            + " (shares of its mid-2015 LSOA population)"
        )
    return notes, frozenset(partial)


def gp_notes_2026(splits: pl.DataFrame, icb_names: Mapping[str, str]) -> dict[str, str]:
    """Per April 2026 ICB: which parts of split 2023 ICBs its GP practice figures miss."""
    out: dict[str, list[str]] = {}
    for icb23, icb26, _p, share, districts, _via in splits.iter_rows():
        if icb26 is None:
            continue
        out.setdefault(icb26, []).append(
            f"{districts} (from {icb23}, {_pct(share)} of its population)"
        )
    return {
        k: "GP practices of "
        + "; ".join(v)
        + " are not placed: the GP ratings file names only the 2023 ICB"
        for k, v in out.items()
    }


_ICB = r"Q[A-Z0-9]{2}|[A-Z][0-9][A-Z][0-9][A-Z]"
_LAYER = "whether the embedded data can place this layer of the part in the ICB"

ICB_GEOGRAPHY: Final = Contract.closed(
    "icb_geography",
    (
        Column.text("icb_code_2023", "ICB of the 42-ICB geography", pattern=r"Q[A-Z0-9]{2}"),
        Column.text("icb_name_2023", "its name"),
        Column.text(
            "icb_code",
            "ICB of the run's vintage; null: a part no crosswalk row places",
            nullable=True,
            pattern=_ICB,
        ),
        Column.text("icb_name", "its name", nullable=True),
        Column.text("change", "same, merged or split", allowed=frozenset(CHANGES)),
        Column.text("areas", "whole ICB, or the sub-ICBs and districts of the part"),
        Column.share(
            "population_share",
            "share of the 2023 ICB's population in the part (IoD 2019 mid-2015 LSOA "
            "populations; modelled)",
            nullable=False,
        ),
        Column.flag("flows_placed", f"RTT flows: {_LAYER}"),
        Column.flag("trusts_placed", f"NHS trusts: {_LAYER}"),
        Column.flag("gp_practices_placed", f"GP practices: {_LAYER}"),
        Column.flag("boundary_drawn", "whether the maps can draw the part in the ICB"),
        Column.text("note", "what cannot be modelled and why, and later changes", nullable=True),
    ),
    key=("icb_code_2023", "icb_code"),
    description="The run's ICB geography: one row per 2023 ICB x ICB of the run's vintage, "
    "with what the embedded data can and cannot place there.",
)

_CHANGES_SCHEMA: Final = {
    "icb_code_2023": pl.String,
    "icb_name_2023": pl.String,
    "icb_code": pl.String,
    "icb_name": pl.String,
    "change": pl.String,
    "areas": pl.String,
    "population_share": pl.Float64,
    "flows_placed": pl.Boolean,
    "trusts_placed": pl.Boolean,
    "gp_practices_placed": pl.Boolean,
    "boundary_drawn": pl.Boolean,
    "note": pl.String,
}


def changes_table(
    vintage: str,
    icb_codes: pl.DataFrame,
    code_map_2026: pl.DataFrame,
    icbs: pl.DataFrame,
    splits: pl.DataFrame,
    sub_icbs: pl.DataFrame,
    flow_notes: Mapping[str, str],
) -> pl.DataFrame:
    """Return the geography report: one row per 2023 ICB x ICB of the run's vintage.

    Columns: icb_code_2023, icb_name_2023, icb_code (null: a part no crosswalk row
    places), icb_name, change (``same``, ``merged`` or ``split``), areas, population_share
    (of the 2023 ICB; mid-2015 LSOA populations), flows_placed, trusts_placed,
    gp_practices_placed, boundary_drawn (whether the run can place that layer there),
    note (what cannot be modelled, and why).
    """
    names23 = dict(zip(icb_codes["icb_code"], icb_codes["icb_name"], strict=True))
    names = dict(zip(icbs["icb_code"], icbs["icb_name"], strict=True))
    rows = []
    cmap = code_map_2026.sort("icb_code_2023")
    if vintage == "2023":
        for old, new, status, _note in cmap.iter_rows():
            parts = splits.filter(pl.col("icb_code_2023") == old)
            if status == "split":
                later = "April 2026: split into " + ", ".join(
                    f"{c or 'unplaced'} {_pct(s)} ({d})"
                    for c, s, d in parts.select("icb_code_2026", "share", "districts").iter_rows()
                )
            elif status == "merged":
                later = f"April 2026: merged into {new}"
            else:
                later = None
            note = "; ".join(x for x in (flow_notes.get(old), later) if x) or None
            whole = (old, names23[old], old, names23[old], "same", "whole ICB", 1.0)
            rows.append((*whole, True, True, True, True, note))
        return validate(
            pl.DataFrame(rows, schema=_CHANGES_SCHEMA, orient="row"), ICB_GEOGRAPHY
        ).frame
    for old, new, status, _note in cmap.iter_rows():
        if status != "split":
            merged = cmap.filter((pl.col("icb_code") == new) & (pl.col("icb_code_2023") != old))
            gained = splits.filter(pl.col("icb_code_2026") == new).select(
                "icb_code_2023", "share", "districts"
            )
            parts = []
            if merged.height:
                parts.append(f"merged with {', '.join(sorted(merged['icb_code_2023']))}")
            parts += [
                f"gains part of {c} ({d}; {_pct(sh)} of its population)"
                for c, sh, d in gained.iter_rows()
            ]
            note = "; ".join(parts) or None
            whole = (old, names23[old], new, names.get(new), status, "whole ICB", 1.0)
            rows.append((*whole, True, True, True, True, note))
            continue
        for icb26, _p, share, districts, via in (
            splits.filter(pl.col("icb_code_2023") == old)
            .select("icb_code_2026", "population_2015", "share", "districts", "via")
            .iter_rows()
        ):
            whole_subs = sub_icbs.filter(
                (pl.col("icb_code_2023") == old) & (pl.col("icb_code") == icb26)
            )["sub_icb_code"].to_list()
            drawn = icb26 is not None and bool(whole_subs)
            why = [
                "GP practices not placed (the GP ratings file names only the 2023 ICB)",
                "trusts placed by their ODS etr 2026 host",
            ]
            if icb26 is None:
                why = [f"districts {districts} have no crosswalk row: not placed anywhere"]
            elif drawn:
                why.append(f"drawn from 2023 sub-ICB polygons {', '.join(sorted(whole_subs))}")
                why.append("CQC locations with coordinates placed by their sub-ICB polygon")
            else:
                why.append(
                    f"not drawn: {old} split below sub-ICB level (no LSOA or district polygons "
                    "are embedded)"
                )
                why.append(
                    "CQC locations with coordinates placed by their local authority (a "
                    "district or county of the crosswalk), else unmapped"
                )
            if via:
                why.append(f"RTT April 2026 code(s) {via}")
            areas = (
                f"sub-ICB {', '.join(sorted(whole_subs))}: {districts}"
                if whole_subs
                else f"districts {districts}"
            )
            placed = icb26 is not None
            part = (old, names23[old], icb26, names.get(icb26) if placed else None, "split")
            rows.append((*part, areas, share, placed, placed, False, drawn, "; ".join(why)))
    return validate(pl.DataFrame(rows, schema=_CHANGES_SCHEMA, orient="row"), ICB_GEOGRAPHY).frame


def check_crosswalk(
    crosswalk: pl.DataFrame,
    code_map_2026: pl.DataFrame,
    successors: pl.DataFrame,
    sub_icbs: pl.DataFrame,
) -> list[str]:
    """Return every way the crosswalk disagrees with ODS ``succ`` and the sub-ICB list.

    Checked: an April 2026 ICB given for part of a split ICB is one of its ``succ``
    successors; a row about a whole (not split) ICB agrees with ``succ``; a ``sub_icb``
    row names a sub-ICB of its 2023 ICB.
    """
    problems = []
    status = dict(zip(code_map_2026["icb_code_2023"], code_map_2026["status"], strict=True))
    target = dict(zip(code_map_2026["icb_code_2023"], code_map_2026["icb_code"], strict=True))
    subs = dict(zip(sub_icbs["sub_icb_code"], sub_icbs["icb_code_2023"], strict=True))
    for kind, code, old, new in crosswalk.select(
        "area_type", "code", "icb_code_2023", "icb_code_2026"
    ).iter_rows():
        if kind == "icb":
            continue
        if old not in status:
            problems.append(f"{kind} {code}: unknown 2023 ICB {old}")
            continue
        if kind == "sub_icb" and subs.get(code) != old:
            problems.append(f"sub_icb {code}: not a sub-ICB of {old} ({subs.get(code)})")
        if new is None:
            continue
        if status[old] == "split":
            later = set(successors.filter(pl.col("predecessor_code") == old)["successor_code"])
            if new not in later:
                problems.append(f"{kind} {code}: {new} is not a successor of {old} in succ")
        elif target[old] != new:
            problems.append(f"{kind} {code}: {old} maps to {target[old]} in succ, not {new}")
    return problems


__all__ = [
    "CHANGES",
    "ICB_GEOGRAPHY",
    "changes_table",
    "check_crosswalk",
    "flow_notes_2023",
    "gp_notes_2026",
]
