"""IMD 2019 loader: thousands separators, BOM, gzip, direction (1 = most deprived)."""

from __future__ import annotations

import gzip

import polars as pl
import pytest

from ics_model.contracts import DataContractError
from ics_model.data.base import SourceReadError
from ics_model.data.deprivation import IMD_COLUMNS, POPULATION_COLUMNS, read_imd
from ics_model.data.geography import read_lsoa_icb_lookup

BOM = "\ufeff"
IMD_HEADER = ",".join(IMD_COLUMNS)
POP_HEADER = ",".join(POPULATION_COLUMNS).replace(
    "LSOA code (2011),Local Authority District code (2019)",
    "LSOA code (2011),LSOA name (2011),Local Authority District code (2019),"
    "Local Authority District name (2019)",
)
IMD_ROWS = [
    "E01000001,City of London 001A,E09000001,City of London,1,1",
    'E01000002,City of London 001B,E09000001,City of London,"2,500",1',
    'E01000003,City of London 001C,E09000001,City of London,"32,844",10',
    'E01000004,City of London 001D,E09000001,City of London,"16,422",5',
]
POP_ROWS = [
    'E01000001,City of London 001A,E09000001,City of London,"1,296",175,656,465,715',
    "E01000002,City of London 001B,E09000001,City of London,999,100,500,399,510",
    'E01000003,City of London 001C,E09000001,City of London,"1,000","1,000",0,0,0',
    "E01000004,City of London 001D,E09000001,City of London,10,1,2,7,2",
]


def gz(tmp_path, name, header, rows, bom=True):
    """A gzip CSV as the IoD files are: UTF-8 with BOM, CRLF line ends."""
    path = tmp_path / name
    text = (BOM if bom else "") + "\r\n".join([header, *rows]) + "\r\n"
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def files(tmp_path, imd_rows=IMD_ROWS, pop_rows=POP_ROWS):
    return gz(tmp_path, "imd.csv.gz", IMD_HEADER, imd_rows), gz(
        tmp_path, "pop.csv.gz", POP_HEADER, pop_rows
    )


def test_fixture_by_hand(tmp_path):
    loaded = read_imd(*files(tmp_path))
    f = loaded.frame
    assert loaded.n_input_rows == 4
    assert f["lsoa11_code"].to_list() == ["E01000001", "E01000002", "E01000003", "E01000004"]
    assert f["source_row"].to_list() == [2, 3, 4, 5]
    # thousands separators
    assert f["imd_rank"].to_list() == [1, 2500, 32844, 16422]
    assert f["population_total"].to_list() == [1296, 999, 1000, 10]
    assert f["population_0_15"][2] == 1000
    # dtypes and the derived quintile: (decile + 1) // 2
    assert f.schema["imd_rank"] == pl.Int32
    assert f.schema["imd_decile"] == pl.Int8 and f.schema["imd_quintile"] == pl.Int8
    assert f["imd_quintile"].to_list() == [1, 1, 5, 3]
    assert f["population_working_age"].to_list() == [715, 510, 0, 2]


def test_bom_fixture_header_is_clean(tmp_path):
    # the first header cell must be "LSOA code (2011)", not "\ufeffLSOA code (2011)"
    imd, pop = files(tmp_path)
    assert gzip.decompress(imd.read_bytes()).startswith(BOM.encode("utf-8"))
    assert read_imd(imd, pop).frame["lsoa11_code"].null_count() == 0
    # plain (not gzip) files without a BOM work too
    plain = tmp_path / "imd.csv"
    plain.write_text("\n".join([IMD_HEADER, *IMD_ROWS]), encoding="utf-8")
    assert read_imd(plain, pop).frame.height == 4


def test_bad_number_is_a_violation_with_its_row(tmp_path):
    rows = [*IMD_ROWS[:2], 'E01000003,City of London 001C,E09000001,City of London,"32,8x4",10']
    imd, pop = files(tmp_path, rows, POP_ROWS[:3])
    with pytest.raises(DataContractError) as err:
        read_imd(imd, pop)
    v = err.value.violations
    assert v.filter(pl.col("column") == "imd_rank").select("row", "value").rows() == [(4, "32,8x4")]
    lenient = read_imd(imd, pop, mode="lenient")
    assert lenient.frame.height == 2
    assert lenient.quarantine["source_row"].to_list() == [4]


def test_lsoa_missing_from_population_file(tmp_path):
    imd, pop = files(tmp_path, IMD_ROWS, POP_ROWS[:3])
    with pytest.raises(DataContractError, match="no valid row in the population file") as err:
        read_imd(imd, pop)
    assert err.value.violations.filter(pl.col("column") == "lsoa11_code")["row"].to_list() == [5]


def test_age_groups_must_sum_to_total(tmp_path):
    rows = [*POP_ROWS[:3], "E01000004,City of London 001D,E09000001,City of London,11,1,2,7,2"]
    with pytest.raises(DataContractError, match="age groups do not sum"):
        read_imd(*files(tmp_path, IMD_ROWS, rows))


def test_missing_column_lists_missing_and_found(tmp_path):
    header = IMD_HEADER.replace(",Index of Multiple Deprivation (IMD) Decile", "")
    rows = [r.rsplit(",", 1)[0] for r in IMD_ROWS]
    imd = gz(tmp_path, "imd.csv.gz", header, rows)
    pop = gz(tmp_path, "pop.csv.gz", POP_HEADER, POP_ROWS)
    with pytest.raises(DataContractError) as err:
        read_imd(imd, pop)
    message = str(err.value)
    assert "Index of Multiple Deprivation (IMD) Decile" in message
    assert "found: LSOA code (2011)" in message


def test_truncated_gzip_names_the_file(tmp_path):
    imd, pop = files(tmp_path)
    cut = tmp_path / "imd_cut.csv.gz"
    cut.write_bytes(imd.read_bytes()[:-20])
    with pytest.raises(SourceReadError, match=r"imd_cut\.csv\.gz"):
        read_imd(cut, pop)
    with pytest.raises(SourceReadError, match=r"absent\.csv\.gz"):
        read_imd(imd, tmp_path / "absent.csv.gz")


@pytest.fixture(scope="module")
def imd():
    return read_imd()


def test_real_file_counts_and_direction(imd):
    f = imd.frame
    assert imd.n_input_rows == f.height == 32_844
    assert f["lsoa11_code"].n_unique() == 32_844
    assert f["imd_rank"].min() == 1 and f["imd_rank"].max() == 32_844
    # rank 1 (most deprived) is in decile 1; the last rank in decile 10
    assert f.filter(pl.col("imd_rank") == 1)["imd_decile"].to_list() == [1]
    assert f.filter(pl.col("imd_rank") == 32_844)["imd_decile"].to_list() == [10]
    # deciles are contiguous, increasing rank bands of about a tenth each
    bands = (
        f.group_by("imd_decile")
        .agg(lo=pl.col("imd_rank").min(), hi=pl.col("imd_rank").max(), n=pl.len())
        .sort("imd_decile")
    )
    assert bands["imd_decile"].to_list() == list(range(1, 11))
    assert (bands["hi"].head(9) < bands["lo"].tail(9)).all()
    assert bands["n"].min() >= 3284 and bands["n"].max() <= 3285
    assert (f["imd_quintile"] == (f["imd_decile"] + 1) // 2).all()
    assert f["population_total"].sum() == 54_728_204


def test_real_file_ties_are_reported(imd):
    # 26 ranks are shared by two LSOAs each in the published file
    assert any("26 IMD ranks are shared" in n for n in imd.notes)


def test_real_file_joins_lsoa_lookup(imd):
    lookup = read_lsoa_icb_lookup().frame
    assert imd.frame.join(lookup, on="lsoa11_code", how="anti").is_empty()
