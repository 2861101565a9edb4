"""The documented ICB crosswalk: April 2026 ICB codes and the areas behind each change.

ODS ``succ`` says which April 2026 ICBs succeed each 2023 ICB, but not which part of a
split ICB went where, and NHS England's RTT extract of April 2026 uses one sub-ICB code
(``U2G6B``) that no ODS file of the 42-ICB geography has. The crosswalk is a small
hand-made table, one row per area, each with the evidence for it:

=================  ==================================================================
``area_type``      meaning of a row
=================  ==================================================================
``icb``            an April 2026 ICB code and its name (``icb_code_2023`` empty)
``rtt_commissioner``  an April 2026 commissioner code of the RTT extract: the 2023 ICB
                   its area lies in, and its April 2026 ICB
``sub_icb``        a 2023 sub-ICB location of a split ICB and the April 2026 ICB it
                   went to; ``icb_code_2026`` empty = the split runs through it
``lad``            the part of a local authority district (2019 codes, as the IoD 2019
                   LSOAs carry them) inside a split 2023 ICB, and its April 2026 ICB
=================  ==================================================================

``via`` is the April 2026 RTT commissioner code whose area holds the row's area, where
one is known; ``county`` (optional column) the county a ``lad`` row's district is in,
which names the part of a split ICB a record with only a county for its local authority
belongs to, when all the ICB's districts of that county went the same way. The embedded
file's provenance (sources, evidence, checks) is in
``datasets/raw/crosswalks/icb_2026/PROVENANCE.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, Mode, require_columns
from ics_model.data.base import Loaded, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.ods import ICB_CODE_PATTERN
from ics_model.data.readers import read_csv_records, rule_hits, validate_with_rules

AREA_TYPES: Final = ("icb", "rtt_commissioner", "sub_icb", "lad")
_ICB23: Final = r"Q[A-Z0-9]{2}"
_COLUMNS: Final = ("area_type", "code", "name", "icb_code_2023", "icb_code_2026", "via", "evidence")
_OPTIONAL: Final = ("county",)

ICB_CROSSWALK_CONTRACT: Final = Contract(
    name="icb_crosswalk",
    description="Documented areas behind the April 2026 ICB changes, with their evidence.",
    key=("area_type", "code", "icb_code_2023"),
    columns=(
        Column.text(
            "area_type", "icb, rtt_commissioner, sub_icb or lad", allowed=frozenset(AREA_TYPES)
        ),
        Column.text("code", "ICB, commissioner, sub-ICB or LAD code", pattern=r"[A-Z0-9]{3,9}"),
        Column.text("name", "the area's name"),
        Column.text(
            "icb_code_2023",
            "2023 ICB the area lies in (null on icb rows)",
            nullable=True,
            pattern=_ICB23,
        ),
        Column.text(
            "icb_code_2026",
            "April 2026 ICB of the area; null = a split runs through it",
            nullable=True,
            pattern=ICB_CODE_PATTERN,
        ),
        Column.text(
            "via",
            "April 2026 RTT commissioner code holding the area, where known",
            nullable=True,
            pattern=r"[A-Z0-9]{3,5}",
        ),
        Column.text("county", "county of a lad row's district (optional)", nullable=True),
        Column.text("evidence", "why the row says what it says"),
        Column("source_row", pl.Int64, nullable=False),
    ),
)


def read_icb_crosswalk(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read the ICB crosswalk (default: the embedded, documented one).

    Parameters
    ----------
    path : a CSV with the columns ``area_type, code, name, icb_code_2023,
        icb_code_2026, via, evidence`` and optionally ``county``; default
        ``datasets/raw/crosswalks/icb_2026/icb_2026_crosswalk.csv``.
    mode : ``"strict"`` or ``"lenient"`` (bad rows quarantined with a reason).

    Returns
    -------
    Loaded
        Frame per :data:`ICB_CROSSWALK_CONTRACT`. Row rules beyond the contract: an
        ``icb`` row has an ``icb_code_2026`` and no ``icb_code_2023``; every other row
        has an ``icb_code_2023``; ``rtt_commissioner`` and ``lad`` rows have an
        ``icb_code_2026``.

    Examples
    --------
    >>> cw = read_icb_crosswalk().frame
    >>> cw.filter(pl.col("code") == "U2G6B").select("icb_code_2023", "icb_code_2026").row(0)
    ('QNQ', 'S0E4D')
    """
    path = raw_or(path, "crosswalks", "icb_2026", "icb_2026_crosswalk.csv")
    name = source_name(path)
    _, raw = read_csv_records(path)
    require_columns(raw.columns, _COLUMNS, name)
    for c in _OPTIONAL:
        if c not in raw.columns:
            raw = raw.with_columns(pl.lit(None, pl.String).alias(c))
    frame = raw.select(*_COLUMNS[:-1], *_OPTIONAL, "evidence", "source_row")
    kind, old, new = pl.col("area_type"), pl.col("icb_code_2023"), pl.col("icb_code_2026")
    hits = [
        rule_hits(
            frame,
            "icb_code_2023",
            (kind == "icb") & old.is_not_null(),
            old,
            "an icb row names no 2023 ICB",
        ),
        rule_hits(
            frame,
            "icb_code_2026",
            (kind == "icb") & new.is_null(),
            kind,
            "an icb row needs its code",
        ),
        rule_hits(
            frame,
            "icb_code_2023",
            (kind != "icb") & old.is_null(),
            kind,
            "the 2023 ICB the area lies in is missing",
        ),
        rule_hits(
            frame,
            "icb_code_2026",
            kind.is_in(["rtt_commissioner", "lad"]) & new.is_null(),
            kind,
            "the April 2026 ICB is missing",
        ),
    ]
    checked = validate_with_rules(frame, ICB_CROSSWALK_CONTRACT, hits, mode=mode, source=name)
    counts = checked.frame.group_by("area_type").len().sort("area_type").iter_rows()
    notes = [", ".join(f"{n} {k} rows" for k, n in counts)]
    return loaded_from(path, checked, raw.height, "icb_2026_crosswalk", notes)


__all__ = ["AREA_TYPES", "ICB_CROSSWALK_CONTRACT", "read_icb_crosswalk"]
