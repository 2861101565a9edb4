"""English Indices of Deprivation 2019 by 2011 LSOA, with mid-2015 population denominators.

Direction: **rank 1 and decile 1 are the most deprived** (IoD convention), and the
derived quintile follows it (1 = most deprived 20%). The files are the IoD2019
"File 1" (IMD rank and decile) and "File 6" (population denominators), CSV in
UTF-8 with a BOM, gzip-compressed, with thousands separators in the numbers
(``"29,199"``). IoD2025 (on 2021 LSOAs) exists but is not embedded: this is the
2019 vintage.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, Mode, require_columns
from ics_model.data.base import Loaded, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.geography import LSOA11_PATTERN
from ics_model.data.readers import parse_count, read_csv_records, rule_hits, validate_with_rules

logger = logging.getLogger(__name__)

#: File 1 columns -> canonical names.
IMD_COLUMNS: Final[dict[str, str]] = {
    "LSOA code (2011)": "lsoa11_code",
    "LSOA name (2011)": "lsoa11_name",
    "Local Authority District code (2019)": "lad19_code",
    "Local Authority District name (2019)": "lad19_name",
    "Index of Multiple Deprivation (IMD) Rank": "imd_rank",
    "Index of Multiple Deprivation (IMD) Decile": "imd_decile",
}

#: File 6 columns -> canonical names (all populations mid-2015, excluding prisoners).
POPULATION_COLUMNS: Final[dict[str, str]] = {
    "LSOA code (2011)": "lsoa11_code",
    "Local Authority District code (2019)": "lad19_code_population",
    "Total population: mid 2015 (excluding prisoners)": "population_total",
    "Dependent Children aged 0-15: mid 2015 (excluding prisoners)": "population_0_15",
    "Population aged 16-59: mid 2015 (excluding prisoners)": "population_16_59",
    "Older population aged 60 and over: mid 2015 (excluding prisoners)": "population_60_plus",
    "Working age population 18-59/64: for use with Employment Deprivation Domain "
    "(excluding prisoners)": "population_working_age",
}

_POP = [c for c in POPULATION_COLUMNS.values() if c.startswith("population_")]

#: the IMD 2019 quintile column, wherever a frame carries one.
IMD_QUINTILE: Final = Column(
    "imd_quintile",
    pl.Int8,
    nullable=False,
    min_value=1,
    max_value=5,
    description="IMD 2019 quintile, (decile + 1) // 2; 1 = most deprived 20%",
)

IMD_CONTRACT: Final = Contract(
    name="imd2019_lsoa11",
    description="IoD2019 IMD rank/decile per 2011 LSOA with mid-2015 populations.",
    key=("lsoa11_code",),
    columns=(
        Column.text("lsoa11_code", "2011 LSOA code", pattern=LSOA11_PATTERN),
        Column.text("lsoa11_name", "2011 LSOA name"),
        Column("lad19_code", pl.String, nullable=False, pattern=r"E0[6-9][0-9]{6}"),
        Column("lad19_name", pl.String, nullable=False),
        Column("imd_rank", pl.Int32, nullable=False, min_value=1, description="1 = most deprived"),
        Column(
            "imd_decile",
            pl.Int8,
            nullable=False,
            min_value=1,
            max_value=10,
            description="1 = most deprived 10%",
        ),
        IMD_QUINTILE,
        *[Column(c, pl.Int64, nullable=False, min_value=0) for c in _POP],
        Column("source_row", pl.Int64, nullable=False, description="record in File 1"),
    ),
)


def _count_rules(raw: pl.DataFrame, mapping: dict[str, str], dtype) -> list[pl.DataFrame]:
    return [
        rule_hits(
            raw,
            canon,
            pl.col(src).is_not_null() & parse_count(src, dtype).is_null(),
            pl.col(src),
            "not a whole number",
        )
        for src, canon in mapping.items()
    ]


def read_imd(
    path: str | Path | None = None,
    population_path: str | Path | None = None,
    *,
    mode: Mode = "strict",
) -> Loaded:
    """Read IMD 2019 ranks and deciles joined to the IoD2019 population denominators.

    Parameters
    ----------
    path : IoD2019 File 1 (``File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz``),
        plain or gzip CSV; default the embedded file.
    population_path : IoD2019 File 6 (population denominators); default embedded.
    mode : ``"strict"`` or ``"lenient"``.

    Returns
    -------
    Loaded
        Frame per :data:`IMD_CONTRACT`: ``lsoa11_code, lsoa11_name, lad19_code,
        lad19_name, imd_rank`` (Int32, 1 = most deprived), ``imd_decile`` (Int8,
        1 = most deprived 10%), ``imd_quintile`` (Int8, ``(decile + 1) // 2``, 1 =
        most deprived 20%), ``population_total, population_0_15, population_16_59,
        population_60_plus, population_working_age`` (Int64, mid-2015, excluding
        prisoners), ``source_row`` (record in File 1). ``n_input_rows`` counts File 1.

    Notes
    -----
    Row rules beyond the contract: every number parses; each LSOA is in File 6
    with the same local authority; 0-15 + 16-59 + 60+ = total.
    """
    path = raw_or(path, "deprivation", "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz")
    population_path = raw_or(
        population_path, "deprivation", "File_6_-_IoD2019_Population_Denominators.csv.gz"
    )
    name = source_name(path)
    header, raw = read_csv_records(path)
    require_columns(header, list(IMD_COLUMNS), name)
    pop_header, pop_raw = read_csv_records(population_path)
    require_columns(pop_header, list(POPULATION_COLUMNS), source_name(population_path))

    pop_name = source_name(population_path)
    pop_counts = {s: c for s, c in POPULATION_COLUMNS.items() if c in _POP}
    pop_checked = validate_with_rules(
        pop_raw.select(
            pl.col("LSOA code (2011)").alias("lsoa11_code"),
            pl.col("Local Authority District code (2019)").alias("lad19_code_population"),
            *[parse_count(src).alias(c) for src, c in pop_counts.items()],
            "source_row",
        ),
        _POPULATION_FILE_CONTRACT,
        _count_rules(pop_raw, pop_counts, pl.Int64),
        mode=mode,
        source=pop_name,
    )
    pop = pop_checked.frame.drop("source_row")

    work = raw.rename(IMD_COLUMNS).join(pop, on="lsoa11_code", how="left", maintain_order="left")
    frame = work.select(
        "lsoa11_code",
        "lsoa11_name",
        "lad19_code",
        "lad19_name",
        parse_count("imd_rank", pl.Int32).alias("imd_rank"),
        parse_count("imd_decile", pl.Int8).alias("imd_decile"),
        ((parse_count("imd_decile", pl.Int8) + 1) // 2).cast(pl.Int8).alias("imd_quintile"),
        *_POP,
        "source_row",
    )
    hits = [
        *_count_rules(work, {"imd_rank": "imd_rank"}, pl.Int32),
        *_count_rules(work, {"imd_decile": "imd_decile"}, pl.Int8),
        rule_hits(
            work,
            "lsoa11_code",
            pl.col("lad19_code_population").is_null() & pl.col("lsoa11_code").is_not_null(),
            pl.col("lsoa11_code"),
            f"LSOA has no valid row in the population file {pop_name}",
        ),
        rule_hits(
            work,
            "lad19_code",
            pl.col("lad19_code_population").is_not_null()
            & (pl.col("lad19_code_population") != pl.col("lad19_code")),
            pl.format("{} vs {}", "lad19_code", "lad19_code_population"),
            "local authority differs between the IMD and population files",
        ),
        rule_hits(
            work,
            "population_total",
            pl.col("population_0_15") + pl.col("population_16_59") + pl.col("population_60_plus")
            != pl.col("population_total"),
            pl.format(
                "{} + {} + {} vs {}",
                "population_0_15",
                "population_16_59",
                "population_60_plus",
                "population_total",
            ),
            "age groups do not sum to the total",
        ),
    ]
    checked = validate_with_rules(frame, IMD_CONTRACT, hits, mode=mode, source=name)
    out = checked.frame
    extra = pop.join(
        raw.select(pl.col("LSOA code (2011)").alias("lsoa11_code")), on="lsoa11_code", how="anti"
    ).height
    tied = out.filter(pl.col("imd_rank").is_duplicated())
    notes = [
        f"{out.height} LSOAs; IMD 2019 (IoD2019), populations mid-2015 excluding prisoners",
        "direction: rank 1 / decile 1 / quintile 1 = most deprived",
    ]
    if tied.height:
        notes.append(
            f"{tied['imd_rank'].n_unique()} IMD ranks are shared by more than one LSOA "
            f"({tied.height} LSOAs), as published"
        )
    if pop_checked.quarantine.height:
        notes.append(f"{pop_checked.quarantine.height} row(s) of {pop_name} quarantined")
    if extra:
        notes.append(f"{extra} LSOA(s) in the population file have no IMD row: not kept")
    logger.info("read %s + %s: %d LSOAs", path, population_path, out.height)
    return loaded_from(path, checked, raw.height, "IoD2019-File1+File6", notes)


_POPULATION_FILE_CONTRACT: Final = Contract(
    name="iod2019_population_file",
    key=("lsoa11_code",),
    columns=(
        Column("lsoa11_code", pl.String, nullable=False),
        *[Column(c, pl.Int64, nullable=False, min_value=0) for c in _POP],
    ),
)
