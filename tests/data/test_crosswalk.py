"""The ICB crosswalk reader: the embedded file, and the rules a bad row breaks."""

import polars as pl
import pytest

from ics_model.contracts import DataContractError
from ics_model.data.crosswalk import read_icb_crosswalk

HEADER = "area_type,code,name,icb_code_2023,icb_code_2026,via,evidence\n"


def test_embedded_crosswalk_counts_and_frimley_rows():
    loaded = read_icb_crosswalk()
    f = loaded.frame
    assert loaded.n_input_rows == f.height == 43 and loaded.quarantine.height == 0
    counts = dict(f.group_by("area_type").len().iter_rows())
    assert counts == {"icb": 6, "rtt_commissioner": 1, "sub_icb": 7, "lad": 29}
    u2 = f.filter(pl.col("code") == "U2G6B").row(0, named=True)
    assert (u2["icb_code_2023"], u2["icb_code_2026"]) == ("QNQ", "S0E4D")
    assert "30,500" in u2["evidence"]  # RDU's pathways from U2G6B
    frimley = f.filter((pl.col("area_type") == "lad") & (pl.col("icb_code_2023") == "QNQ"))
    assert dict(frimley.group_by("icb_code_2026").len().iter_rows()) == {
        "S0E4D": 3,
        "S9B9J": 4,
        "QRL": 2,
    }
    assert f["evidence"].null_count() == 0


def test_bad_rows_fail_strict_and_are_quarantined_lenient(tmp_path):
    p = tmp_path / "cw.csv"
    p.write_text(
        HEADER
        + "icb,A1A1A,Alpha,,A1A1A,,ok\n"
        + "icb,B1B1B,Beta,QAA,B1B1B,,an icb row naming a 2023 ICB\n"
        + "lad,E07000001,Somewhere,QAA,,,no 2026 ICB\n"
        + "sub_icb,01A,Sub,,A1A1A,,no 2023 ICB\n"
        + "district,E07000002,X,QAA,A1A1A,,unknown area type\n"
    )
    with pytest.raises(DataContractError) as err:
        read_icb_crosswalk(p)
    problems = err.value.violations["problem"].to_list()
    assert "an icb row names no 2023 ICB" in problems
    assert "the April 2026 ICB is missing" in problems
    assert "the 2023 ICB the area lies in is missing" in problems
    lenient = read_icb_crosswalk(p, mode="lenient")
    assert lenient.frame["code"].to_list() == ["A1A1A"]
    assert lenient.quarantine.height == 4


def test_missing_column_is_named(tmp_path):
    p = tmp_path / "cw.csv"
    p.write_text("area_type,code,name\nicb,A1A1A,Alpha\n")
    with pytest.raises(DataContractError, match="icb_code_2023"):
        read_icb_crosswalk(p)
