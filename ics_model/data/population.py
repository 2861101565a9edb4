"""ONS mid-2022 population estimates by sub-ICB location (ICB 2023 geography).

The file has one row per sub-ICB location (106) with the ONS (GSS) codes of
the sub-ICB location (``E38...``), its ICB (``E54...``) and NHS England region
(``E40...``), ``Total`` and single-year counts ``F0``..``F90`` / ``M0``..``M90``
(90 = 90 and over). The sub-ICB location's ODS code (``02P``) is not a column:
it is the suffix of the name ("NHS South Yorkshire ICB - 02P") and is extracted
as ``sub_icb_code`` for joins to ODS and RTT data.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, Mode, require_columns
from ics_model.data.base import Loaded, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.readers import (
    column_rule_hits,
    parse_count,
    read_csv_records,
    rule_hits,
    validate_with_rules,
)

logger = logging.getLogger(__name__)

MAX_AGE: Final = 90  # the last single-year column is "90 and over"
FEMALE: Final = tuple(f"F{a}" for a in range(MAX_AGE + 1))
MALE: Final = tuple(f"M{a}" for a in range(MAX_AGE + 1))
#: Derived age bands: canonical column -> inclusive (first, last) age.
AGE_BANDS: Final[dict[str, tuple[int, int]]] = {
    "population_0_17": (0, 17),
    "population_18_64": (18, 64),
    "population_65_plus": (65, MAX_AGE),
}

#: Identifier columns: canonical name -> regex for the header (any vintage year).
_ID_COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "sub_icb_gss": (r"SICBL \d{4} Code", "SICBL 2023 Code"),
    "sub_icb_name": (r"SICBL \d{4} Name", "SICBL 2023 Name"),
    "icb_gss": (r"ICB \d{4} Code", "ICB 2023 Code"),
    "icb_name": (r"ICB \d{4} Name", "ICB 2023 Name"),
    "region_gss": (r"(?:NHSER|NSHER) \d{4} Code", "NHSER 2023 Code"),
    # the published file misspells this header "NSHER 2023 Name"
    "region_name": (r"(?:NHSER|NSHER) \d{4} Name", "NHSER 2023 Name"),
}

_COUNT = {"min_value": 0}

SUB_ICB_POPULATION_CONTRACT: Final = Contract(
    name="sub_icb_population",
    description="Mid-year population per sub-ICB location, with ICB and region codes.",
    key=("sub_icb_gss",),
    columns=(
        Column("sub_icb_gss", pl.String, nullable=False, pattern=r"E38[0-9]{6}"),
        Column.text(
            "sub_icb_code", "ODS code, from the name suffix", pattern=r"[A-Z0-9]{3}(?:[A-Z0-9]{2})?"
        ),
        Column("sub_icb_name", pl.String, nullable=False),
        Column("icb_gss", pl.String, nullable=False, pattern=r"E54[0-9]{6}"),
        Column("icb_name", pl.String, nullable=False),
        Column("region_gss", pl.String, nullable=False, pattern=r"E40[0-9]{6}"),
        Column("region_name", pl.String, nullable=False),
        Column("population", pl.Int64, nullable=False, **_COUNT, description="Total"),
        *[Column(c, pl.Int64, nullable=False, **_COUNT) for c in AGE_BANDS],
        Column("population_female", pl.Int64, nullable=False, **_COUNT),
        Column("population_male", pl.Int64, nullable=False, **_COUNT),
        Column("source_row", pl.Int64, nullable=False),
    ),
)


def _num(column: str) -> pl.Expr:
    """Return the parsed count of a text column (parsed once, in ``read_sub_icb_population``)."""
    return pl.col(f"#{column}")


def _sum(columns: list[str]) -> pl.Expr:
    return pl.sum_horizontal([_num(c) for c in columns])


def read_sub_icb_population(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read mid-year population estimates per sub-ICB location.

    Parameters
    ----------
    path : the ONS sub-ICB population CSV (``SICBL yyyy Code`` ... ``Total, F0..F90,
        M0..M90``); default the embedded mid-2022 file ("ICB Population estimates
        2022.csv", 106 rows, England total 57,106,398).
    mode : ``"strict"`` or ``"lenient"``.

    Returns
    -------
    Loaded
        Frame per :data:`SUB_ICB_POPULATION_CONTRACT`: ``sub_icb_gss`` (E38...),
        ``sub_icb_code`` (ODS, from the name), ``sub_icb_name, icb_gss, icb_name,
        region_gss, region_name, population`` (the file's Total), ``population_0_17,
        population_18_64, population_65_plus, population_female, population_male``
        (from the single-year columns), ``source_row``.

    Notes
    -----
    Row rules: every count parses (thousands separators allowed) and
    F0..F90 + M0..M90 equals Total; a row that breaks either is a violation.
    """
    path = raw_or(path, "population", "ICB Population estimates 2022.csv")
    name = source_name(path)
    header, raw = read_csv_records(path)
    ids: dict[str, str] = {}
    missing: list[str] = []
    for canon, (regex, example) in _ID_COLUMNS.items():
        hit = next((h for h in header if re.fullmatch(regex, h)), None)
        if hit is None:
            missing.append(example)
        else:
            ids[canon] = hit
    require_columns(header, [*missing, "Total", *FEMALE, *MALE], name)
    counts = ["Total", *FEMALE, *MALE]
    raw = raw.with_columns(parse_count(c).alias(f"#{c}") for c in counts)  # parsed once
    frame = raw.select(
        pl.col(ids["sub_icb_gss"]).alias("sub_icb_gss"),
        pl.col(ids["sub_icb_name"]).str.extract(r" - ([A-Z0-9]{3,5})$").alias("sub_icb_code"),
        *[pl.col(ids[c]).alias(c) for c in list(_ID_COLUMNS)[1:]],
        _num("Total").alias("population"),
        *[
            _sum([f"{sex}{a}" for sex in "FM" for a in range(lo, hi + 1)]).alias(band)
            for band, (lo, hi) in AGE_BANDS.items()
        ],
        _sum(list(FEMALE)).alias("population_female"),
        _sum(list(MALE)).alias("population_male"),
        "source_row",
    )
    hits = [
        column_rule_hits(
            raw,
            counts,
            lambda c: pl.col(c).is_not_null() & _num(c).is_null(),
            "not a whole number",
        )
    ]
    hits.append(
        rule_hits(
            raw,
            "population",
            _sum([*FEMALE, *MALE]) != _num("Total"),
            pl.format("F+M {} vs Total {}", _sum([*FEMALE, *MALE]), pl.col("Total")),
            "single-year counts do not sum to Total",
        )
    )
    checked = validate_with_rules(frame, SUB_ICB_POPULATION_CONTRACT, hits, mode=mode, source=name)
    out = checked.frame
    year = re.search(r"\d{4}", ids["sub_icb_gss"])
    notes = [
        f"{out.height} sub-ICB locations, {out['icb_gss'].n_unique()} ICBs, "
        f"{out['region_gss'].n_unique()} regions; total population {out['population'].sum():,}",
        "sub_icb_gss holds ONS GSS codes (E38...); sub_icb_code is the ODS code from the name",
    ]
    logger.info("read %s: %s", path, notes[0])
    variant = f"SICBL{year.group(0) if year else ''}-single-year-age"
    return loaded_from(path, checked, raw.height, variant, notes)
