"""Load the run's ICB geography (``mapping.icb_vintage``) once, with the files it reads.

The geography (:class:`~ics_model.mapping.icb_geography.IcbGeography`) places sub-ICBs,
LSOAs, RTT commissioners and trusts in the run's ICBs and reports what it cannot place.
It reads the processed ODS ``eccg``, sub-ICB population, LSOA lookup, IoD 2019 and ICB
crosswalk tables; for the April 2026 vintage also ODS etr 2026, whose host ICBs place the
trusts of the three 2023 ICBs that split.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from ics_model.config import RunConfig
from ics_model.data import ods
from ics_model.data.base import Loaded
from ics_model.data.build import load_processed
from ics_model.data.sources import SOURCES, sha256_file
from ics_model.mapping.icb_geography import IcbGeography, build_geography
from ics_model.result import InputFile

#: embedded sources the geography reads (keys of ``SOURCES``), besides succ and ICB codes.
GEOGRAPHY_SOURCES: Final = (
    "icb_2026_crosswalk",
    "ods_eccg_2025",
    "sub_icb_population_2022",
    "lsoa11_icb23",
    "imd2019",
    "iod2019_population",
)


def load_geography(
    cfg: RunConfig, successors: pl.DataFrame, icb_codes: pl.DataFrame
) -> tuple[IcbGeography, Loaded | None, tuple[str, ...]]:
    """Return the run's geography, ODS etr 2026 (April 2026 vintage only), sources read."""
    vintage = cfg.mapping.icb_vintage
    geography = build_geography(
        vintage,
        icb_codes=icb_codes,
        successors=successors,
        crosswalk=load_processed("icb_2026_crosswalk"),
        eccg=load_processed("ods_sub_icbs"),
        population=load_processed("sub_icb_population"),
        lsoa_icb=load_processed("lsoa11_icb23"),
        imd=load_processed("imd2019_lsoa"),
    )
    later = None
    sources = GEOGRAPHY_SOURCES
    if vintage == "2026":
        later = ods.read_ods_trusts(
            SOURCES["ods_etr_2026"].path, vintage="2026", mode=cfg.data.validation
        )
        sources = (*sources, "ods_etr_2026")
    return geography, later, sources


def split_hosts(later: Loaded | None) -> pl.DataFrame | None:
    """Return (org_code, icb_code) of the open trusts of the later ODS file, if any."""
    if later is None:
        return None
    return later.frame.filter(pl.col("is_open") & pl.col("icb_code").is_not_null()).select(
        "org_code", "icb_code"
    )


def source_inputs(names: tuple[str, ...]) -> tuple[InputFile, ...]:
    """Record each embedded source the geography read, with its sha256."""
    return tuple(
        InputFile(n, str(SOURCES[n].path), sha256_file(SOURCES[n].path), SOURCES[n].vintage)
        for n in names
    )
