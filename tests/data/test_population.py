"""Sub-ICB population loader (ONS mid-2022, single year of age)."""

from __future__ import annotations

import polars as pl
import pytest

from ics_model.contracts import DataContractError
from ics_model.data.base import SourceReadError
from ics_model.data.geography import read_boundaries
from ics_model.data.ods import read_ods_sub_icbs
from ics_model.data.population import FEMALE, MALE, read_sub_icb_population

IDS = "SICBL 2023 Code,SICBL 2023 Name,ICB 2023 Code,ICB 2023 Name,NHSER 2023 Code,NSHER 2023 Name"
HEADER = ",".join([IDS, "Total", *FEMALE, *MALE])


def row(gss, name, icb, f, m, total=None):
    """A row with ``f`` people of each age 0..90 for women and ``m`` for men."""
    total = total if total is not None else 91 * (f + m)
    total_text = f'"{total:,}"' if total >= 1000 else str(total)
    return ",".join(
        [
            gss,
            f'"{name}"',
            icb,
            '"NHS Somewhere, Integrated Care Board"',
            "E40000012",
            "North East and Yorkshire",
            total_text,
            *[str(f)] * 91,
            *[str(m)] * 91,
        ]
    )


def write(tmp_path, rows, header=HEADER, name="pop.csv"):
    path = tmp_path / name
    path.write_text("\ufeff" + "\r\n".join([header, *rows]), encoding="utf-8")
    return path


ROWS = [
    row("E38000006", "NHS South Yorkshire ICB - 02P", "E54000061", 1, 2),
    row("E38000249", "NHS Bedfordshire, Luton and Milton Keynes ICB - M1J4Y", "E54000024", 5, 7),
]


def test_fixture_by_hand(tmp_path):
    loaded = read_sub_icb_population(write(tmp_path, ROWS))
    f = loaded.frame
    assert loaded.n_input_rows == 2
    assert f["sub_icb_gss"].to_list() == ["E38000006", "E38000249"]
    assert f["sub_icb_code"].to_list() == ["02P", "M1J4Y"]
    assert f["region_name"].to_list() == ["North East and Yorkshire"] * 2  # "NSHER" header
    # 91 single years x (1 + 2) people; "1,092" has a thousands separator
    assert f["population"].to_list() == [273, 1092]
    assert f["population_0_17"].to_list() == [18 * 3, 18 * 12]
    assert f["population_18_64"].to_list() == [47 * 3, 47 * 12]
    assert f["population_65_plus"].to_list() == [26 * 3, 26 * 12]
    assert f["population_female"].to_list() == [91, 455]
    assert f["population_male"].to_list() == [182, 637]
    assert f.schema["population"] == pl.Int64
    assert f["source_row"].to_list() == [2, 3]


def test_counts_not_summing_to_total_is_a_violation(tmp_path):
    rows = [ROWS[0], row("E38000007", "NHS Mid and South Essex ICB - 99E", "E54000026", 1, 1, 999)]
    path = write(tmp_path, rows)
    with pytest.raises(DataContractError, match="do not sum to Total") as err:
        read_sub_icb_population(path)
    assert err.value.violations["row"].to_list() == [3]
    lenient = read_sub_icb_population(path, mode="lenient")
    assert lenient.frame.height == 1 and lenient.quarantine["source_row"].to_list() == [3]


def test_bad_count_text(tmp_path):
    bad = ROWS[0].replace(",1,1,1,", ",1,one,1,", 1)
    with pytest.raises(DataContractError) as err:
        read_sub_icb_population(write(tmp_path, [bad]))
    v = err.value.violations.filter(pl.col("problem") == "not a whole number")
    assert v.select("row", "value").rows() == [(2, "one")]


def test_missing_columns_listed(tmp_path):
    header = HEADER.replace(",M90", "").replace("ICB 2023 Code,", "ICB Code,")
    rows = [r.rsplit(",", 1)[0] for r in ROWS]
    with pytest.raises(DataContractError) as err:
        read_sub_icb_population(write(tmp_path, rows, header))
    message = str(err.value)
    assert "ICB 2023 Code" in message and "M90" in message and "found: SICBL 2023 Code" in message


def test_truncated_file(tmp_path):
    path = tmp_path / "pop_cut.csv"
    path.write_text("\r\n".join([HEADER, *ROWS])[:-100], encoding="utf-8")
    with pytest.raises(SourceReadError, match=r"pop_cut\.csv"):
        read_sub_icb_population(path)


@pytest.fixture(scope="module")
def population():
    return read_sub_icb_population()


def test_real_file(population):
    f = population.frame
    assert population.n_input_rows == f.height == 106
    assert f["population"].sum() == 57_106_398
    assert f["sub_icb_gss"].str.starts_with("E38").all()  # GSS codes, not ODS codes
    assert f["icb_gss"].n_unique() == 42 and f["region_gss"].n_unique() == 7
    banded = f["population_0_17"] + f["population_18_64"] + f["population_65_plus"]
    assert (banded == f["population"]).all()
    assert (f["population_female"] + f["population_male"] == f["population"]).all()


def test_real_file_joins_boundaries_and_ods(population):
    f = population.frame
    assert set(f["sub_icb_gss"]) == set(read_boundaries("sub_icb")["sub_icb_gss"])
    ods = read_ods_sub_icbs().frame.filter(
        pl.col("is_open") & (pl.col("kind") == "sub_icb_location")
    )
    assert set(f["sub_icb_code"]) == set(ods["org_code"])
