"""Derive the compact processed tables (Parquet) from ``datasets/raw``, deterministically.

Each processed table is a loader's canonical frame, sorted by its key, so a rebuild
gives the same decoded data (file bytes may differ: Parquet files carry the writer's
version). ``check_processed`` rebuilds in memory and compares frames.
``sources_table`` renders the provenance table of ``datasets/README.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from ics_model.data import (
    cqc,
    cqc_api,
    crosswalk,
    deprivation,
    geography,
    gp_lists,
    gp_payments,
    ods,
    pcn,
    population,
    rtt,
    trust_reference,
)
from ics_model.data.base import Loaded
from ics_model.data.bundled import datasets_dir
from ics_model.data.sources import SOURCES, sha256_file

log = logging.getLogger(__name__)


def _p(name: str):
    return SOURCES[name].path


Builder = tuple[Callable[[], Loaded], tuple[str, ...], tuple[str, ...]]


def _table(read: Callable[..., Loaded], sources: tuple[str, ...], *key: str, **kw: str) -> Builder:
    """Return a :data:`TABLES` entry: ``read`` on the paths of ``sources``, sorted by ``key``."""
    return (lambda: read(*(_p(s) for s in sources), **kw), key, sources)


#: processed table name -> (builder, sort key, raw source names it reads)
TABLES: dict[str, Builder] = {
    "cqc_trust_ratings": _table(
        cqc.read_cqc_ratings, ("cqc_trust_ratings_2018",), "provider_id", "service", "key_question"
    ),
    "cqc_gp_practices": _table(cqc.read_gp_practices, ("cqc_gp_practices_2024",), "source_row"),
    "ods_trusts_2025": _table(ods.read_ods_trusts, ("ods_etr_2025",), "org_code", vintage="2025"),
    "ods_trusts_2026": _table(ods.read_ods_trusts, ("ods_etr_2026",), "org_code", vintage="2026"),
    "ods_sub_icbs": _table(ods.read_ods_sub_icbs, ("ods_eccg_2025",), "org_code"),
    "ods_successors": _table(ods.read_ods_successors, ("ods_succ",), "source_row"),
    "icb_codes": _table(geography.read_icb_codes, ("icb_codes_2024",), "icb_code"),
    "lsoa11_icb23": _table(geography.read_lsoa_icb_lookup, ("lsoa11_icb23",), "lsoa11_code"),
    "imd2019_lsoa": _table(deprivation.read_imd, ("imd2019", "iod2019_population"), "lsoa11_code"),
    "sub_icb_population": _table(
        population.read_sub_icb_population, ("sub_icb_population_2022",), "sub_icb_gss"
    ),
    "icb_2026_crosswalk": _table(
        crosswalk.read_icb_crosswalk, ("icb_2026_crosswalk",), "area_type", "code", "icb_code_2023"
    ),
    "rtt_flows": _table(
        rtt.read_rtt_flows,
        ("rtt_2026_04",),
        "part_type",
        "provider_code",
        "commissioner_code",
        "treatment_function_code",
    ),
}


def _sorted(frame: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
    cols = [k for k in key if k in frame.columns]
    return frame.sort(cols, nulls_last=True, maintain_order=True) if cols else frame


def build_table(name: str) -> pl.DataFrame:
    """Build one processed table in memory (the loader's canonical frame, sorted)."""
    builder, key, _ = TABLES[name]
    loaded = builder()
    if loaded.quarantine.height:
        raise ValueError(f"{name}: {loaded.quarantine.height} raw rows quarantined")
    return _sorted(loaded.frame, key)


def build_processed(out: str | Path | None = None) -> dict[str, int]:
    """Write every processed table to ``out`` (default ``datasets/processed``).

    Returns table name -> rows written.
    """
    out = Path(out) if out is not None else datasets_dir() / "processed"
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in TABLES:
        frame = build_table(name)
        frame.write_parquet(out / f"{name}.parquet", compression="zstd", statistics=False)
        written[name] = frame.height
        log.info("built %s: %d rows", name, frame.height)
    return written


def load_processed(name: str, folder: str | Path | None = None) -> pl.DataFrame:
    """Read one committed processed table."""
    if name not in TABLES:
        raise KeyError(f"unknown processed table {name!r}; known: {', '.join(TABLES)}")
    folder = Path(folder) if folder is not None else datasets_dir() / "processed"
    return pl.read_parquet(folder / f"{name}.parquet")


def check_processed(folder: str | Path | None = None) -> list[str]:
    """Rebuild each table in memory and compare with the committed file; list differences."""
    problems = []
    for name in TABLES:
        try:
            committed = load_processed(name, folder)
        except FileNotFoundError:
            problems.append(f"{name}: missing")
            continue
        rebuilt = build_table(name)
        try:
            assert_frame_equal(committed, rebuilt, check_exact=True)
        except AssertionError as exc:
            problems.append(f"{name}: {str(exc).splitlines()[0]}")
    return problems


def sources_table() -> str:
    """Return the Markdown provenance table (one row per raw source) for ``datasets/README.md``."""
    rows = [
        "| source | file | publisher | original source | licence | vintage | rows | sha256 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    counts = raw_row_counts()
    for s in SOURCES.values():
        rows.append(
            f"| `{s.name}` | `raw/{'/'.join(s.relpath)}` | {s.publisher} | {s.url} | "
            f"{s.licence} | {s.vintage} | {counts[s.name]:,} | `{sha256_file(s.path)}` |"
        )
    return "\n".join(rows)


README_START = "<!-- sources-table:start -->"
README_END = "<!-- sources-table:end -->"


def readme_with_sources_table(text: str) -> str:
    """``datasets/README.md`` text with its sources table replaced by :func:`sources_table`."""
    if README_START not in text or README_END not in text:
        raise ValueError("datasets/README.md lacks the sources-table markers")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_START}\n{sources_table()}\n{README_END}{tail}"


def raw_row_counts() -> dict[str, int]:
    """Count the data rows (or features) in each raw source with its loader."""
    counts = {
        "cqc_trust_ratings_2018": cqc.read_cqc_ratings(_p("cqc_trust_ratings_2018")).n_input_rows,
        "cqc_gp_practices_2024": cqc.read_gp_practices(_p("cqc_gp_practices_2024")).n_input_rows,
        "cqc_care_homes_sw_api_2021": cqc_api.read_cqc_api(
            _p("cqc_care_homes_sw_api_2021")
        ).n_input_rows,
        "cqc_independent_healthcare_2025": cqc_api.read_cqc_api(
            _p("cqc_independent_healthcare_2025")
        ).n_input_rows,
        "ods_etr_2025": ods.read_ods_trusts(_p("ods_etr_2025"), vintage="2025").n_input_rows,
        "ods_etr_2026": ods.read_ods_trusts(_p("ods_etr_2026"), vintage="2026").n_input_rows,
        "ods_eccg_2025": ods.read_ods_sub_icbs(_p("ods_eccg_2025")).n_input_rows,
        "ods_succ": ods.read_ods_successors(_p("ods_succ")).n_input_rows,
        "icb_codes_2024": geography.read_icb_codes(_p("icb_codes_2024")).n_input_rows,
        "lsoa11_icb23": geography.read_lsoa_icb_lookup(_p("lsoa11_icb23")).n_input_rows,
        "icb_boundaries_2023": len(geography.read_boundaries("icb")),
        "sub_icb_boundaries_2023": len(geography.read_boundaries("sub_icb")),
        "region_boundaries_2024": len(geography.read_boundaries("region")),
        "sub_icb_population_2022": population.read_sub_icb_population(
            _p("sub_icb_population_2022")
        ).n_input_rows,
        "rtt_2026_04": rtt.read_rtt_flows(_p("rtt_2026_04")).n_input_rows,
        "nhs_trust_types_2026": trust_reference.read_nhs_trust_types(
            _p("nhs_trust_types_2026")
        ).n_input_rows,
        "ambulance_areas_2023": trust_reference.read_ambulance_areas(
            _p("ambulance_areas_2023")
        ).n_input_rows,
        "icb_2026_crosswalk": crosswalk.read_icb_crosswalk(_p("icb_2026_crosswalk")).n_input_rows,
        "ods_epcn_2024_10": pcn.read_epcn(_p("ods_epcn_2024_10")).n_input_rows,
        "ods_epcn_2023_01": pcn.read_epcn(_p("ods_epcn_2023_01")).n_input_rows,
        "gp_list_sizes_2022_05": gp_lists.read_gp_list_sizes(
            _p("gp_list_sizes_2022_05")
        ).n_input_rows,
        "gp_payments_2022_23": gp_payments.read_gp_payments(_p("gp_payments_2022_23")).n_input_rows,
    }
    imd = deprivation.read_imd(_p("imd2019"), _p("iod2019_population")).n_input_rows
    counts["imd2019"] = imd
    counts["iod2019_population"] = imd
    counts["iod2019_domains"] = _count_csv_rows(_p("iod2019_domains"))
    return counts


def _count_csv_rows(path: Path) -> int:
    return pl.read_csv(path, infer_schema=False, columns=[0]).height
