"""The committed processed tables and the datasets README match a rebuild from raw."""

import polars as pl
import pytest

from ics_model.data.build import (
    TABLES,
    build_processed,
    check_processed,
    load_processed,
    readme_with_sources_table,
)
from ics_model.data.bundled import datasets_dir
from ics_model.data.sources import SOURCES, sha256_file

pytestmark = pytest.mark.slow


def test_committed_processed_tables_equal_a_rebuild():
    assert check_processed() == []


def test_check_detects_a_changed_table(tmp_path):
    build_processed(tmp_path)
    icb = pl.read_parquet(tmp_path / "icb_codes.parquet")
    icb.with_columns(pl.col("icb_name").str.to_uppercase()).write_parquet(
        tmp_path / "icb_codes.parquet"
    )
    (tmp_path / "rtt_flows.parquet").unlink()
    problems = check_processed(tmp_path)
    assert any(p.startswith("icb_codes:") for p in problems)
    assert "rtt_flows: missing" in problems
    assert len(problems) == 2


def test_every_raw_source_is_embedded_with_its_checksum_in_the_readme():
    readme = (datasets_dir() / "README.md").read_text(encoding="utf-8")
    for s in SOURCES.values():
        assert s.path.is_file(), s.path
        assert sha256_file(s.path) in readme, s.name
        assert (s.path.parent / "PROVENANCE.md").is_file() or (
            s.path.parent.parent / "PROVENANCE.md"
        ).is_file()
    assert readme_with_sources_table(readme) == readme  # the table is current
    assert "Open Government Licence v3.0" in readme


def test_processed_tables_load_with_expected_sizes():
    sizes = {name: load_processed(name).height for name in TABLES}
    assert sizes["icb_codes"] == 42
    assert sizes["lsoa11_icb23"] == 32844
    assert sizes["imd2019_lsoa"] == 32844
    assert sizes["sub_icb_population"] == 106
    assert sizes["cqc_trust_ratings"] == 7930 - 12  # RXE's superseded rows removed
