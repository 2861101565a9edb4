"""Place NHS Oversight Framework (NOF) trust segments in ICSs, reporting every other row.

A NOF row is placed when it has an adjusted segment and its ODS code is an open English
NHS trust in the ODS ``etr`` file: its ICB is the trust's host ICB (mapped forward for
``icb_vintage = "2026"``, a host ICB that split being reported, never guessed). Every
other row of the source is reported with its reason: no NOF segment in the extract, not
an NHS trust in ``etr``, closed, no host ICB, or a host ICB lost in the vintage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.data.nof import NOF_SEGMENTS
from ics_model.mapping.successors import place_by_icb

_ICB: Final = (
    Column.text("icb_code", "ICB the trust is hosted in (run's vintage)"),
    Column("icb_gss", pl.String, description="ICB GSS code (null for new 2026 ICBs)"),
    Column.text("icb_name", "ICB name"),
)

#: NOF rows placed in an ICB: the source's columns plus the ICB
NOF_PLACED: Final = Contract.closed(
    "nof_placed",
    (
        *NOF_SEGMENTS.columns[:3],
        *_ICB,
        *NOF_SEGMENTS.columns[3:],
    ),
    key=("org_code",),
    description=(
        "NHS trusts with a NOF 2025/26 adjusted segment, placed in their host ICB; "
        "scores, ranks and segments: lower is better."
    ),
)

#: NOF rows that were not placed, with the reason
NOF_UNPLACED: Final = Contract.closed(
    "nof_unplaced",
    (
        Column.text("org_code", "ODS code"),
        Column("org_name", pl.String, description="organisation name"),
        Column("adjusted_segment", pl.Int64, description="its NOF segment, if any"),
        Column("source_row", pl.Int64, nullable=False, description="row in the source file"),
        Column.text("reason", "why the row is not placed in an ICB"),
    ),
    key=("org_code",),
    description="Every NOF row not placed in an ICB, with the reason.",
)


@dataclass(frozen=True)
class NofPlaced:
    """NOF segments placed in ICSs.

    Attributes
    ----------
    placed : one row per segmented open English trust, in :data:`NOF_PLACED`.
    unplaced : every other row of the source, with its reason, in :data:`NOF_UNPLACED`;
        ``placed.height + unplaced.height`` is the number of source rows.
    """

    placed: pl.DataFrame
    unplaced: pl.DataFrame


def place_nof(
    nof: pl.DataFrame,
    trusts: pl.DataFrame,
    icb_codes: pl.DataFrame,
    *,
    successors: pl.DataFrame | None = None,
    icb_vintage: str = "2023",
) -> NofPlaced:
    """Place NOF trust segments in ICSs through the ODS trust code.

    Parameters
    ----------
    nof : :func:`~ics_model.data.nof.read_nof_segments` frame (:data:`NOF_SEGMENTS`).
    trusts : canonical ODS ``etr`` frame (org_code, icb_code, is_open).
    icb_codes : canonical ICB list (icb_code, icb_gss, icb_name).
    successors : canonical ODS ``succ`` frame (needed for ``icb_vintage = "2026"``).
    icb_vintage : ``"2023"`` (42 ICBs) or ``"2026"``.

    Returns
    -------
    NofPlaced
        ``placed`` and ``unplaced``; no row is lost.

    Examples
    --------
    The embedded NOF 2025/26 Q3 extract on the 42 ICBs: every segmented organisation is an
    open English trust; the 71 others have no segment.

    >>> from ics_model.data import geography, ods
    >>> from ics_model.data.nof import read_nof_segments
    >>> from ics_model.data.sources import SOURCES
    >>> etr = ods.read_ods_trusts(SOURCES["ods_etr_2025"].path, vintage="2025").frame
    >>> icbs = geography.read_icb_codes(SOURCES["icb_codes_2024"].path).frame
    >>> out = place_nof(read_nof_segments().frame, etr, icbs)
    >>> out.placed.height, out.placed["icb_code"].n_unique(), out.unplaced.height
    (150, 42, 71)
    >>> out.unplaced["reason"].unique().to_list()
    ['no NOF segment in this extract']
    """
    etr = trusts.select(
        "org_code", pl.col("icb_code").alias("_etr_icb"), pl.col("is_open").alias("_open")
    )
    joined = nof.join(etr, on="org_code", how="left")
    joined = place_by_icb(
        joined.with_columns(
            pl.when(pl.col("_open").fill_null(False)).then(pl.col("_etr_icb")).alias("icb_code")
        ),
        icb_codes,
        successors,
        icb_vintage,
    )
    reason = (
        pl.when(pl.col("adjusted_segment").is_null())
        .then(pl.lit("no NOF segment in this extract"))
        .when(pl.col("_open").is_null())
        .then(pl.lit("not an NHS trust in ODS etr"))
        .when(~pl.col("_open"))
        .then(pl.lit("closed in ODS etr"))
        .when(pl.col("_etr_icb").is_null())
        .then(pl.lit("no host ICB in ODS etr (outside England)"))
        .when(pl.col("icb_code").is_null())
        .then(pl.col("lost_reason"))
    )
    joined = joined.with_columns(reason.alias("reason"))
    placed = joined.filter(pl.col("reason").is_null()).select(NOF_PLACED.column_names)
    unplaced = joined.filter(pl.col("reason").is_not_null()).select(NOF_UNPLACED.column_names)
    return NofPlaced(
        placed=validate(placed.sort("icb_code", "org_code"), NOF_PLACED).frame,
        unplaced=validate(unplaced.sort("source_row"), NOF_UNPLACED).frame,
    )


__all__ = ["NOF_PLACED", "NOF_UNPLACED", "NofPlaced", "place_nof"]
