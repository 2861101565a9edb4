"""RTT full-extract loader: count semantics per part type, zip handling, real totals."""

from __future__ import annotations

import struct
import tempfile
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ics_model.contracts import DataContractError
from ics_model.data.base import SourceReadError
from ics_model.data.rtt import ID_COLUMNS, PART_TYPES, read_rtt_flows

BANDS = ["Gt 00 To 01 Weeks SUM 1", "Gt 01 To 02 Weeks SUM 1", "Gt 104 Weeks SUM 1"]
HEADER = ",".join(
    [*ID_COLUMNS, *BANDS, "Total", "Patients with unknown clock start date", "Total All"]
)
PROVIDER = "QMF,NHS NORTH EAST LONDON ICB,R1H,BARTS HEALTH NHS TRUST"
SUB_ICB = "QMF,NHS NORTH EAST LONDON ICB,A3A8R,NHS NORTH EAST LONDON ICB - A3A8R"
NONC = ",,NONC,"
DESCRIPTION = {
    "Part_1A": "Completed Pathways For Admitted Patients",
    "Part_1B": "Completed Pathways For Non-Admitted Patients",
    "Part_2": "Incomplete Pathways",
    "Part_2A": "Incomplete Pathways with DTA",
    "Part_3": "New RTT Periods - All Patients",
}


def line(part, counts, commissioner=SUB_ICB, tf="C_999,Total"):
    """counts = (band1, band2, band104, Total, unknown, Total All) as text."""
    return ",".join(
        ["RTT-April-2026", PROVIDER, commissioner, part, DESCRIPTION[part], tf, *counts]
    )


ROWS = [
    line("Part_1A", ("1", "2", "0", "3", "1", "4")),
    line("Part_1B", ("0", "1", "1", "2", "", "2")),
    line("Part_2", ("5", "5", "", "", "", "10")),
    line("Part_2A", ("3", "0", "0", "", "", "3")),
    line("Part_3", ("", "", "", "", "", "7")),
    line("Part_2", ("1", "0", "0", "", "", "1"), commissioner=NONC),
    line("Part_2", ("2", "0", "0", "", "", "2"), tf="C_110,Trauma and Orthopaedic Service"),
]


def write_zip(tmp_path, rows, name="rtt.csv.zip", header=HEADER):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__MACOSX/._rtt.csv", b"\x00\x05\x16\x07 resource fork junk")
        archive.writestr("rtt.csv", "\r\n".join([header, *rows]) + "\r\n")
    return path


def test_fixture_by_hand(tmp_path):
    loaded = read_rtt_flows(write_zip(tmp_path, ROWS))
    f = loaded.frame
    assert loaded.n_input_rows == 7 and f.height == 7
    assert f.schema["part_type"] == pl.Enum(list(PART_TYPES))
    # Total All for every part: completed includes the unknown clock start
    assert f["pathways"].to_list() == [4, 2, 10, 3, 7, 1, 2]
    assert f["unknown_clock_start"].to_list() == [1, 0, None, None, None, None, None]
    assert f["source_row"].to_list() == [2, 3, 4, 5, 6, 7, 8]
    assert f["period_start"][0].isoformat() == "2026-04-01"
    nonc = f.filter(pl.col("commissioner_code") == "NONC")
    assert nonc["commissioner_parent_code"][0] is None and nonc["commissioner_name"][0] is None
    assert set(f["treatment_function_code"]) == {"C_999", "C_110"}
    assert loaded.quarantine.is_empty()


def test_plain_csv_is_accepted(tmp_path):
    path = tmp_path / "rtt.csv"
    path.write_text("\n".join([HEADER, *ROWS]), encoding="utf-8")
    assert read_rtt_flows(path).frame["pathways"].sum() == 29


def test_duplicate_keys_are_summed_and_noted(tmp_path):
    rows = [*ROWS, line("Part_2", ("4", "0", "0", "", "", "4"))]
    loaded = read_rtt_flows(write_zip(tmp_path, rows))
    assert loaded.n_input_rows == 8
    assert loaded.frame.height == 7
    part2 = loaded.frame.filter(
        (pl.col("part_type") == "Part_2")
        & (pl.col("commissioner_code") == "A3A8R")
        & (pl.col("treatment_function_code") == "C_999")
    )
    assert part2["pathways"].to_list() == [14]
    assert any("summed" in n for n in loaded.notes)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (line("Part_1A", ("1", "2", "0", "3", "1", "5")), r"Total All is not Total \+ unknown"),
        (line("Part_1B", ("1", "2", "0", "4", "0", "4")), "Total is not the sum of the weekly"),
        (line("Part_2", ("5", "5", "", "", "", "11")), "Total All is not the sum of the weekly"),
        (line("Part_3", ("", "", "", "6", "", "7")), "only Total All is expected"),
        (line("Part_2", ("5", "x", "", "", "", "5")), "not whole numbers"),
        (line("Part_2", ("5", "", "", "", "", "five")), "not a whole number"),
    ],
)
def test_count_semantics_are_checked_per_row(tmp_path, bad, problem):
    path = write_zip(tmp_path, [*ROWS, bad])
    with pytest.raises(DataContractError, match=problem) as err:
        read_rtt_flows(path)
    assert set(err.value.violations["row"].to_list()) == {9}
    lenient = read_rtt_flows(path, mode="lenient")
    assert lenient.quarantine["source_row"].to_list() == [9]
    assert lenient.frame.height + lenient.quarantine.height == lenient.n_input_rows


def test_unknown_part_type(tmp_path):
    bad = line("Part_2", ("1", "0", "0", "", "", "1")).replace("Part_2,", "Part_9,")
    with pytest.raises(DataContractError, match="Part_9"):
        read_rtt_flows(write_zip(tmp_path, [*ROWS, bad]))


def test_missing_column_lists_missing_and_found(tmp_path):
    header = HEADER.replace(",Total All", "")
    rows = [r.rsplit(",", 1)[0] for r in ROWS]
    with pytest.raises(DataContractError) as err:
        read_rtt_flows(write_zip(tmp_path, rows, header=header))
    assert "Total All" in str(err.value) and "found: Period" in str(err.value)


def test_truncated_zip_names_the_file(tmp_path):
    good = write_zip(tmp_path, ROWS * 50)
    cut = tmp_path / "rtt_cut.csv.zip"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(SourceReadError, match=r"rtt_cut\.csv\.zip"):
        read_rtt_flows(cut)


def test_zip_without_csv_and_missing_file(tmp_path):
    path = tmp_path / "empty.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__MACOSX/._x.csv", b"junk")
        archive.writestr("readme.txt", "nothing here")
    with pytest.raises(SourceReadError, match="expected one CSV member"):
        read_rtt_flows(path)
    with pytest.raises(SourceReadError, match=r"absent\.zip"):
        read_rtt_flows(tmp_path / "absent.zip")


def test_truncated_csv_row_is_a_violation(tmp_path):
    path = tmp_path / "rtt.csv"
    text = "\n".join([HEADER, *ROWS])
    path.write_text(text[: text.rindex(",")], encoding="utf-8")  # last row loses Total All
    with pytest.raises(DataContractError) as err:
        read_rtt_flows(path)
    assert err.value.violations.filter(pl.col("column") == "pathways")["row"].to_list() == [8]


@pytest.fixture(scope="module")
def real():
    return read_rtt_flows()


@pytest.mark.slow
def test_real_extract(real):
    loaded = real
    f = loaded.frame
    assert loaded.n_input_rows == 180_781
    assert f.height == 180_781  # no repeated keys in this extract
    assert loaded.quarantine.is_empty()
    waiting = f.filter(
        (pl.col("part_type") == "Part_2") & (pl.col("treatment_function_code") == "C_999")
    )
    assert waiting["pathways"].sum() == 7_123_980
    assert waiting["provider_code"].n_unique() == 528
    # C_999 is the total of the treatment functions
    by_tf = f.filter(
        (pl.col("part_type") == "Part_2") & (pl.col("treatment_function_code") != "C_999")
    )
    assert by_tf["pathways"].sum() == 7_123_980
    per_part = dict(
        f.group_by(pl.col("part_type").cast(pl.String))
        .agg(pl.col("unknown_clock_start").sum())
        .iter_rows()
    )
    assert per_part == {"Part_1A": 162, "Part_1B": 1210, "Part_2": 0, "Part_2A": 0, "Part_3": 0}
    assert f["treatment_function_code"].n_unique() == 24
    assert f["period"].unique().to_list() == ["RTT-April-2026"]
    assert f.filter(pl.col("commissioner_parent_code").is_null()).height == 10_266


@pytest.mark.slow
def test_waits_over_18_and_52_weeks_match_a_direct_sum_of_the_bands():
    import io
    import zipfile

    from ics_model.data.sources import SOURCES

    path = SOURCES["rtt_2026_04"].path
    with zipfile.ZipFile(path) as zf:
        (member,) = [n for n in zf.namelist() if n.endswith(".csv") and "MACOSX" not in n]
        raw = pl.read_csv(io.BytesIO(zf.read(member)), infer_schema=False)
    waiting = raw.filter(
        (pl.col("RTT Part Type") == "Part_2") & (pl.col("Treatment Function Code") == "C_999")
    )

    def band_total(lower):
        cols = [c for c in raw.columns if c.startswith("Gt ") and int(c.split()[1]) >= lower]
        return int(
            waiting.select(pl.sum_horizontal([pl.col(c).cast(pl.Int64) for c in cols]))
            .to_series()
            .sum()
        )

    flows = read_rtt_flows(path).frame.filter(
        (pl.col("part_type") == "Part_2") & (pl.col("treatment_function_code") == "C_999")
    )
    assert flows["over_18_weeks"].sum() == band_total(18) == 2_500_575
    assert flows["over_52_weeks"].sum() == band_total(52) == 100_665
    assert (flows["over_18_weeks"] <= flows["pathways"]).all()


# ----------------------------------------------------------------------------- malformed files

GOOD = line("Part_2", ("5", "5", "", "", "", "10"))
TRUST = "BARTS HEALTH NHS TRUST"


@pytest.mark.parametrize(
    ("rows", "eol", "outcome"),
    [
        # counts that are not plain integers: the text read reports the row
        pytest.param([*ROWS, GOOD.replace(",5,5,", ',"1,234",5,')], "\n", "row", id="thousands"),
        pytest.param([*ROWS, GOOD.replace(",5,5,", ",-1,5,")], "\n", "row", id="negative"),
        pytest.param([*ROWS, GOOD.replace(",5,5,", ",1.0,5,")], "\n", "row", id="decimal"),
        pytest.param([*ROWS, GOOD.replace(",5,5,", ",x,5,")], "\n", "row", id="text"),
        pytest.param([*ROWS, GOOD.replace(",10", ",1" + "0" * 19)], "\n", "row", id="too-long"),
        pytest.param([*ROWS, GOOD.rsplit(",", 1)[0]], "\n", "row", id="short-row"),
        pytest.param([*ROWS, ""], "\n", "row", id="blank-last-line"),
        # read as they are
        pytest.param([*ROWS, GOOD.replace(",5,5,", ", 5,5,")], "\n", "ok", id="space"),
        pytest.param([*ROWS, GOOD.replace(",5,5,", ',"5",5,')], "\n", "ok", id="quoted-number"),
        pytest.param([*ROWS, GOOD.replace(",10", ",10 ")], "\n", "ok", id="trailing-space"),
        pytest.param(
            [*ROWS, GOOD.replace(TRUST, '"BARTS\nHEALTH"')], "\n", "ok", id="quoted-newline"
        ),
        pytest.param([], "\n", "ok", id="header-only"),
        # the file's structure: a read error naming the line and the column
        pytest.param([*ROWS, GOOD + ",0"], "\n", "line 9, column 20", id="extra-field"),
        pytest.param([*ROWS, GOOD + ","], "\n", "line 9, column 20", id="trailing-comma"),
        pytest.param(
            [*ROWS, GOOD.replace("BARTS", 'BA"RTS')], "\n", "line 9, column 52", id="stray-quote"
        ),
        pytest.param(
            [*ROWS, GOOD.replace(TRUST, f'"{TRUST}"X')], "\n", "line 9, column 74", id="after-quote"
        ),
        pytest.param(
            [*ROWS, GOOD.replace("BARTS", '"BARTS')], "\n", "line 9, column 50", id="open-quote"
        ),
        pytest.param(ROWS, "\r", "line 1", id="cr-only"),
    ],
)
def test_malformed_files_raise_only_documented_errors(tmp_path, rows, eol, outcome):
    path = tmp_path / "rtt.csv"
    path.write_bytes((eol.join([HEADER, *rows]) + eol).encode())
    if outcome == "ok":
        loaded = read_rtt_flows(path)
        assert loaded.n_input_rows == len(rows) and loaded.quarantine.is_empty()
    elif outcome == "row":
        with pytest.raises(DataContractError) as err:
            read_rtt_flows(path)
        assert set(err.value.violations["row"].drop_nulls().to_list()) == {len(rows) + 1}
        lenient = read_rtt_flows(path, mode="lenient")
        assert lenient.quarantine["source_row"].to_list() == [len(rows) + 1]
    else:
        for mode in ("strict", "lenient"):
            with pytest.raises(SourceReadError, match=rf"rtt\.csv: .*{outcome}"):
                read_rtt_flows(path, mode=mode)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(HEADER.replace("Total All", " Total All"), id="padded-name"),
        pytest.param(HEADER.replace("Period", '"Period"'), id="quoted-name"),
        pytest.param(HEADER.replace("Total,", "Total,Notes,"), id="unknown-column"),
        pytest.param(
            ",".join([*BANDS[:1], *HEADER.split(",")[:13], *HEADER.split(",")[14:]]),
            id="band-first",
        ),
    ],
)
def test_header_variants_are_read(tmp_path, header):
    rows = ROWS
    if "Notes" in header:  # an empty Notes cell before the last two
        rows = [",".join([r.rsplit(",", 2)[0], "", *r.rsplit(",", 2)[1:]]) for r in ROWS]
    if header.startswith(BANDS[0]):  # the first band moved to the front
        rows = [",".join([r.split(",")[13], *r.split(",")[:13], *r.split(",")[14:]]) for r in ROWS]
    path = tmp_path / "rtt.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert read_rtt_flows(path).frame["pathways"].to_list() == [4, 2, 10, 3, 7, 1, 2]


def test_bom_crlf_and_every_text_field_empty(tmp_path):
    path = tmp_path / "rtt.csv.zip"
    empty = ",".join([""] * len(ID_COLUMNS) + ["1", "0", "0", "", "", "1"])
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        data = "\r\n".join([HEADER, *ROWS]) + "\r\n"
        archive.writestr("rtt.csv", b"\xef\xbb\xbf" + data.encode())
    assert read_rtt_flows(path).frame["pathways"].sum() == 29
    plain = tmp_path / "empty_fields.csv"
    plain.write_text("\n".join([HEADER, empty, empty]) + "\n", encoding="utf-8")
    with pytest.raises(DataContractError, match="null in a non-nullable column"):
        read_rtt_flows(plain)


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2]
)
def test_zip_members_of_every_method_are_read(tmp_path, compression):
    path = tmp_path / "rtt.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__MACOSX/._rtt.csv", b"junk", compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("rtt.csv", "\r\n".join([HEADER, *ROWS]), compress_type=compression)
    assert read_rtt_flows(path).frame["pathways"].sum() == 29


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_zip_member_with_a_flipped_byte(tmp_path, compression):
    path = tmp_path / "rtt.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("rtt.csv", "\r\n".join([HEADER, *ROWS * 40]), compress_type=compression)
        info = archive.getinfo("rtt.csv")
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    raw[start + info.compress_size // 2] ^= 0x55
    path.write_bytes(bytes(raw))
    with pytest.raises(SourceReadError, match=r"rtt\.csv\.zip: truncated or corrupt archive"):
        read_rtt_flows(path)


# ----------------------------------------------------------------------------- property

WIDE_BANDS = [
    "Gt 00 To 01 Weeks SUM 1",
    "Gt 17 To 18 Weeks SUM 1",
    "Gt 18 To 19 Weeks SUM 1",
    "Gt 51 To 52 Weeks SUM 1",
    "Gt 52 To 53 Weeks SUM 1",
    "Gt 104 Weeks SUM 1",
]
WIDE = [*ID_COLUMNS, *WIDE_BANDS, "Total", "Patients with unknown clock start date", "Total All"]
BAD_CELLS = ['"1,234"', "-1", "1.0", "x", "1" + "0" * 19]


@st.composite
def rtt_file(draw):
    """A small RTT CSV whose counts follow the part rules, maybe with one bad count cell.

    Returns (bytes, expected pathways, over-18 and over-52 sums, or None if corrupted).
    """
    rows, expected = [], []
    for k in range(draw(st.integers(0, 8))):
        part = draw(st.sampled_from(PART_TYPES))
        bands = draw(st.lists(st.integers(0, 40), min_size=6, max_size=6))
        unknown = draw(st.integers(0, 3))
        if part in ("Part_1A", "Part_1B"):
            counts = [*map(str, bands), str(sum(bands)), str(unknown), str(sum(bands) + unknown)]
            total = sum(bands) + unknown
        elif part == "Part_3":
            total = draw(st.integers(0, 99))
            counts = [*([""] * 6), "", "", str(total)]
        else:
            counts = [*map(str, bands), "", "", str(sum(bands))]
            total = sum(bands)
        # zero bands are sometimes left empty
        counts = [
            "" if c == "0" and i < 6 and draw(st.booleans()) else c for i, c in enumerate(counts)
        ]
        name = draw(st.sampled_from(['"Trauma, Orthopaedic"', "Other", '"A ""B"" C"']))
        tf = f"C_{100 + k:03d},{name}"
        rows.append(",".join(["RTT-April-2026", PROVIDER, SUB_ICB, part, DESCRIPTION[part], tf]))
        rows[-1] += "," + ",".join(counts)
        over = (None, None) if part == "Part_3" else (sum(bands[2:]), sum(bands[4:]))
        expected.append((total, *over))
    if rows and draw(st.booleans()):
        k = draw(st.integers(0, len(rows) - 1))
        cells = rows[k].rsplit(",", 9)
        cells[draw(st.integers(1, 9))] = draw(st.sampled_from(BAD_CELLS))
        rows[k] = ",".join(cells)
        expected = None
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    return (eol.join([",".join(WIDE), *rows]) + eol).encode(), expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rtt_file(), st.booleans())
def test_generated_extracts(case, zipped):
    data, expected = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("rtt.csv.zip" if zipped else "rtt.csv")
        if zipped:
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("rtt.csv", data)
        else:
            path.write_bytes(data)
        try:
            frame = read_rtt_flows(path).frame
        except DataContractError as exc:
            assert expected is None, str(exc)  # only a corrupted cell breaks a rule
            return
    got = frame.select("pathways", "over_18_weeks", "over_52_weeks").rows()
    if expected is not None:
        assert got == expected
