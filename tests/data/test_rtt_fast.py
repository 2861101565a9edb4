"""RTT fast path (zip inflate, numba kernel): same results as the polars path, or declines."""

from __future__ import annotations

import importlib.util
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ics_model.contracts import DataContractError
from ics_model.data import rtt, rtt_fast
from ics_model.data.base import SourceReadError
from ics_model.data.rtt import ID_COLUMNS, PART_TYPES, read_rtt_flows
from ics_model.data.rtt_fast import band_counts, inflate_member, read_rows
from tests.data.test_rtt import DESCRIPTION, HEADER, NONC, PROVIDER, ROWS, SUB_ICB, line

needs_numba = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="the kernel needs numba"
)

#: bands either side of the 18- and 52-week edges
BANDS = [
    "Gt 00 To 01 Weeks SUM 1",
    "Gt 17 To 18 Weeks SUM 1",
    "Gt 18 To 19 Weeks SUM 1",
    "Gt 51 To 52 Weeks SUM 1",
    "Gt 52 To 53 Weeks SUM 1",
    "Gt 104 Weeks SUM 1",
]
WIDE = [*ID_COLUMNS, *BANDS, "Total", "Patients with unknown clock start date", "Total All"]


def wide_line(part, counts, provider=PROVIDER, commissioner=SUB_ICB, tf="C_999,Total"):
    """counts = 6 bands, Total, unknown, Total All (text)."""
    return ",".join(
        ["RTT-April-2026", provider, commissioner, part, DESCRIPTION[part], tf, *counts]
    )


def outcome(path, mode):
    """What read_rtt_flows gives: the result, or the error and what it reports."""
    try:
        loaded = read_rtt_flows(path, mode=mode)
    except DataContractError as exc:
        return ("contract", str(exc), exc.violations)
    except SourceReadError as exc:
        return ("read", str(exc))
    except Exception as exc:  # whatever else escapes must escape both paths alike
        return (type(exc).__name__, str(exc))
    return ("ok", loaded)


def assert_same(fast, slow):
    assert fast[0] == slow[0], (fast, slow)
    if fast[0] == "ok":
        a, b = fast[1], slow[1]
        assert_frame_equal(a.frame, b.frame)
        assert_frame_equal(a.quarantine, b.quarantine)
        assert (a.notes, a.n_input_rows, a.variant, a.source) == (
            b.notes,
            b.n_input_rows,
            b.variant,
            b.source,
        )
    else:
        assert fast[1] == slow[1]
        if fast[0] == "contract":
            assert_frame_equal(fast[2], slow[2])


def assert_paths_agree(path, modes=("strict", "lenient")):
    """The fast path (when it runs) and the polars path give the same outcome."""
    for mode in modes:
        fast = outcome(path, mode)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(rtt_fast, "ENABLED", False)
            slow = outcome(path, mode)
        assert_same(fast, slow)


def csv_bytes(header, rows, eol="\n", final=True):
    text = eol.join([",".join(header) if isinstance(header, list) else header, *rows])
    return (text + (eol if final else "")).encode("utf-8")


def write(tmp_path, data, name="rtt.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------------- real extract


@needs_numba
@pytest.mark.slow
def test_real_extract_same_with_and_without_fast_path():
    from ics_model.data.sources import SOURCES

    path = SOURCES["rtt_2026_04"].path
    with zipfile.ZipFile(path) as archive:
        (member,) = [m for m in archive.infolist() if not m.filename.startswith("__MACOSX/")]
    data = inflate_member(path, member)
    header = rtt._header(data, path)
    assert read_rows(data, header) is not None  # the fast path runs on the real file
    assert_paths_agree(path, modes=("strict",))


# ---------------------------------------------------------------------------- kernel


@needs_numba
def test_band_counts_sums_and_nulls():
    rows = [
        wide_line("Part_1A", ("1", "2", "4", "8", "16", "32", "63", "1", "64")),
        wide_line("Part_2", ("", "0", "5", "", "7", "", "", "", "12")),
        wide_line("Part_3", ("", "", "", "", "", "", "", "", "7")),
        wide_line("Part_1B", ("0", "0", "0", "0", "0", "0", "0", "", "0")),
        wide_line("Part_2A", ("00", "007", "0", "10", "0", "01", "", "", "018")),
    ]
    counts = band_counts(csv_bytes(WIDE, rows), WIDE)
    assert counts is not None
    assert dict(counts.schema) == dict.fromkeys(rtt_fast.COUNT_COLUMNS, pl.Int64)
    assert counts.to_dict(as_series=False) == {
        "_total": [63, None, None, 0, None],
        "_unknown": [1, None, None, None, None],
        "_all": [64, 12, 7, 0, 18],
        "_bands": [63, 12, 0, 0, 18],
        "_over18": [60, 12, 0, 0, 11],
        "_over52": [48, 7, 0, 0, 1],
    }


@needs_numba
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
@pytest.mark.parametrize("final", [True, False])
def test_line_endings_and_last_newline(tmp_path, eol, final):
    data = csv_bytes(HEADER, ROWS, eol=eol, final=final)
    header = HEADER.split(",")
    rows = read_rows(data, header)
    assert rows is not None and rows.height == len(ROWS)
    assert rows["_all"].to_list() == [4, 2, 10, 3, 7, 1, 2]
    assert rows["_total"].to_list() == [3, 2, None, None, None, None, None]
    assert_paths_agree(write(tmp_path, data))


@needs_numba
def test_quoted_text_fields(tmp_path):
    odd = [
        '"QMF","NHS NORTH EAST LONDON ICB","R1H","NUFFIELD HEALTH, BRENTWOOD HOSPITAL"',
        'QMF,NHS NORTH EAST LONDON ICB,R1H,"THE ""BEST"" TRUST"',
        'QMF,"",R1H," PADDED NAME "',
        "QMF,,R1H,\tTABBED",
        'QMF,"NHS NORTH EAST LONDON ICB",R1H,"SAINT ÉTIENNE, ""QUOTED"""',
    ]
    rows = [
        ",".join(
            [
                *("RTT-April-2026", provider, SUB_ICB, "Part_2", DESCRIPTION["Part_2"]),
                *(f"C_1{k}0,X", "1", "0", "0", "", "", "1"),
            ]
        )
        for k, provider in enumerate(odd)
    ]
    data = csv_bytes(HEADER, rows)
    got = read_rows(data, HEADER.split(","))
    assert got is not None
    assert got["Provider Org Name"].to_list() == [
        "NUFFIELD HEALTH, BRENTWOOD HOSPITAL",
        'THE "BEST" TRUST',
        "PADDED NAME",
        "TABBED",
        'SAINT ÉTIENNE, "QUOTED"',
    ]
    # a quoted empty field is an empty string, an empty one null (as polars reads them)
    assert got["Provider Parent Name"].to_list() == [
        "NHS NORTH EAST LONDON ICB",
        "NHS NORTH EAST LONDON ICB",
        "",
        None,
        "NHS NORTH EAST LONDON ICB",
    ]
    assert_paths_agree(write(tmp_path, data))


@needs_numba
def test_text_columns_equal_a_polars_read(tmp_path):
    data = csv_bytes(HEADER, [*ROWS, line("Part_2", ("1", "0", "0", "", "", "1"), NONC)])
    got = read_rows(data, HEADER.split(","))
    assert got is not None
    expected = pl.read_csv(data, infer_schema=False).select(
        pl.col(h).str.strip_chars() for h in ID_COLUMNS
    )
    assert_frame_equal(got.select(list(ID_COLUMNS)), expected)


@needs_numba
def test_many_distinct_fields_over_several_chunks(tmp_path, monkeypatch):
    # more distinct names than the kernel's first span arrays and hash table hold,
    # split over several chunks (threads)
    monkeypatch.setattr(rtt_fast, "_MIN_CHUNK", 1)
    monkeypatch.setattr(rtt_fast.os, "cpu_count", lambda: 4)
    rows = [
        line(
            "Part_2",
            (str(k % 7), "1", "0", "", "", str(k % 7 + 1)),
            commissioner=f"QMF,NHS ICB {k % 13},C{k:04d},COMMISSIONER {k}",
            tf=f"C_{k % 1000:03d},FUNCTION {k}",
        )
        for k in range(3000)
    ]
    data = csv_bytes(HEADER, rows)
    assert len(rtt_fast._chunks(data, data.index(b"\n") + 1, 4)) == 4
    got = read_rows(data, HEADER.split(","))
    assert got is not None and got.height == 3000
    assert got["Commissioner Org Name"].to_list() == [f"COMMISSIONER {k}" for k in range(3000)]
    assert got["_all"].to_list() == [k % 7 + 1 for k in range(3000)]
    assert_paths_agree(write(tmp_path, data))


GOOD = line("Part_2", ("5", "5", "", "", "", "10"))
TRUST = "BARTS HEALTH NHS TRUST"


@pytest.mark.parametrize(
    ("rows", "eol"),
    [
        pytest.param([*ROWS, GOOD.replace(",5,5,", ',"1,234",5,')], "\n", id="thousands"),
        pytest.param([*ROWS, GOOD.replace(",5,5,", ",-1,5,")], "\n", id="negative"),
        pytest.param([*ROWS, GOOD.replace(",5,5,", ", 5,5,")], "\n", id="space"),
        pytest.param([*ROWS, GOOD.replace(",5,5,", ",1.0,5,")], "\n", id="decimal"),
        pytest.param([*ROWS, GOOD.replace(",5,5,", ",x,5,")], "\n", id="text"),
        pytest.param([*ROWS, GOOD.replace(",5,5,", ',"5",5,')], "\n", id="quoted-number"),
        pytest.param([*ROWS, GOOD.replace(",10", ",1" + "0" * 19)], "\n", id="too-long"),
        pytest.param([*ROWS, GOOD.replace(",10", ",10 ")], "\n", id="trailing-space"),
        pytest.param([*ROWS, GOOD.rsplit(",", 1)[0]], "\n", id="short-row"),
        pytest.param([*ROWS, GOOD + ",0"], "\n", id="extra-field"),
        pytest.param([*ROWS, GOOD + ","], "\n", id="trailing-comma"),
        pytest.param([*ROWS[:3], "", *ROWS[3:]], "\n", id="blank-line"),
        pytest.param([*ROWS, ""], "\n", id="blank-last-line"),
        pytest.param([*ROWS, GOOD.replace("BARTS", 'BA"RTS')], "\n", id="stray-quote"),
        pytest.param([*ROWS, GOOD.replace(TRUST, f'"{TRUST}"X')], "\n", id="after-quote"),
        pytest.param([*ROWS, GOOD.replace("BARTS", "BA\rRTS")], "\n", id="lone-cr"),
        pytest.param([*ROWS, GOOD.replace(TRUST, '"BARTS\rHEALTH"')], "\n", id="quoted-cr"),
        pytest.param([*ROWS, GOOD.replace(TRUST, '"BARTS\nHEALTH"')], "\n", id="quoted-newline"),
        pytest.param([*ROWS, GOOD.replace("BARTS", '"BARTS')], "\n", id="open-quote"),
        pytest.param(ROWS, "\r", id="cr-only"),
        pytest.param([], "\n", id="header-only"),
    ],
)
def test_kernel_declines_and_results_do_not_change(tmp_path, rows, eol):
    data = csv_bytes(HEADER, rows, eol=eol)
    assert band_counts(data, HEADER.split(",")) is None
    assert read_rows(data, HEADER.split(",")) is None
    assert_paths_agree(write(tmp_path, data))


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(HEADER.replace("Total All", " Total All"), id="padded-name"),
        pytest.param(HEADER.replace("Period", '"Period"'), id="quoted-name"),
        pytest.param(HEADER.replace("Total,", "Total,Notes,"), id="unknown-column"),
        pytest.param(
            ",".join([*BANDS[:1], *ID_COLUMNS, *BANDS[1:]])
            + ",Total,Patients with unknown clock start date,Total All",
            id="band-first",
        ),
    ],
)
def test_unsupported_header_declines(tmp_path, header):
    rows = ROWS
    if "Notes" in header:  # an empty Notes cell before the last two
        rows = [",".join([r.rsplit(",", 2)[0], "", *r.rsplit(",", 2)[1:]]) for r in ROWS]
    data = csv_bytes(header, rows)
    assert band_counts(data, rtt._header(data, Path("x.csv"))) is None
    assert_paths_agree(write(tmp_path, data))


@needs_numba
def test_bom_and_zip_are_read_by_the_fast_path(tmp_path):
    data = b"\xef\xbb\xbf" + csv_bytes(HEADER, ROWS, eol="\r\n")
    assert read_rows(data, HEADER.split(",")) is not None
    assert_paths_agree(write(tmp_path, data))
    path = tmp_path / "rtt.csv.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rtt.csv", data)
    assert_paths_agree(path)


@needs_numba
def test_rows_with_every_text_field_empty(tmp_path):
    empty = ",".join([""] * len(ID_COLUMNS) + ["1", "0", "0", "", "", "1"])
    data = csv_bytes(HEADER, [empty, empty])
    got = read_rows(data, HEADER.split(","))
    assert got is not None and got.height == 2
    assert got.select(list(ID_COLUMNS)).null_count().row(0) == (2,) * len(ID_COLUMNS)
    assert_paths_agree(write(tmp_path, data))


@needs_numba
def test_disabled_switch_turns_the_fast_path_off(monkeypatch):
    data = csv_bytes(HEADER, ROWS)
    assert band_counts(data, HEADER.split(",")) is not None
    monkeypatch.setattr(rtt_fast, "ENABLED", False)
    assert band_counts(data, HEADER.split(",")) is None
    assert read_rows(data, HEADER.split(",")) is None


def test_without_numba_the_polars_path_runs(tmp_path, monkeypatch):
    data = csv_bytes(HEADER, ROWS)
    expected = read_rtt_flows(write(tmp_path, data))
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    rtt_fast._kernels.cache_clear()
    try:
        assert band_counts(data, HEADER.split(",")) is None
        assert read_rows(data, HEADER.split(",")) is None
        assert_same(("ok", read_rtt_flows(write(tmp_path, data))), ("ok", expected))
    finally:
        monkeypatch.undo()
        rtt_fast._kernels.cache_clear()


# ---------------------------------------------------------------------------- inflate


def member_zip(tmp_path, compression, name="rtt.csv.zip"):
    path = tmp_path / name
    payload = csv_bytes(HEADER, ROWS * 40, eol="\r\n")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__MACOSX/._rtt.csv", b"junk", compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("rtt.csv", payload, compress_type=compression)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("rtt.csv")
    return path, info, payload


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2]
)
@pytest.mark.parametrize("isal", [True, False])
def test_inflate_member_equals_zipfile(tmp_path, monkeypatch, compression, isal):
    if not isal:
        monkeypatch.setattr(rtt_fast, "_fast_zlib", None)
    path, info, payload = member_zip(tmp_path, compression)
    with zipfile.ZipFile(path) as archive:
        expected = archive.read(info)
    assert inflate_member(path, info) == expected == payload


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_inflate_member_flipped_byte(tmp_path, compression):
    path, info, _ = member_zip(tmp_path, compression)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    raw[start + info.compress_size // 2] ^= 0x55
    path.write_bytes(bytes(raw))
    with pytest.raises(SourceReadError, match="truncated or corrupt archive"):
        inflate_member(path, info)
    with pytest.raises(SourceReadError, match=r"rtt\.csv\.zip"):
        read_rtt_flows(path)


def test_inflate_member_bad_local_header(tmp_path):
    path, info, _ = member_zip(tmp_path, zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    raw[info.header_offset : info.header_offset + 4] = b"PK\x00\x00"
    path.write_bytes(bytes(raw))
    with pytest.raises(SourceReadError, match="local file header"):
        inflate_member(path, info)


# ---------------------------------------------------------------------------- property

NAME = st.text(alphabet="AB ,\"'-É&", min_size=0, max_size=8)
BAD_CELLS = ['"1,234"', "-1", " 5", "1.0", "x", '"5"', "", "5 "]


@st.composite
def text_field(draw, values):
    value = draw(values)
    if '"' in value or "," in value or draw(st.booleans()):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def rtt_file(draw):
    """A small RTT-like CSV: counts that follow the part rules, names randomly quoted."""
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        part = draw(st.sampled_from(PART_TYPES))
        provider = draw(st.sampled_from(["R1H", "RQX", "RAL"]))
        name = draw(text_field(NAME))
        commissioner = draw(st.sampled_from([SUB_ICB, NONC, f"QMF,{name},07T,{name}"]))
        tf = draw(st.sampled_from(["C_999,Total", 'C_110,"Trauma, Orthopaedic"', "X02,Other"]))
        bands = draw(st.lists(st.integers(0, 40), min_size=len(BANDS), max_size=len(BANDS)))
        unknown = draw(st.integers(0, 3))
        if part in ("Part_1A", "Part_1B"):
            counts = [*map(str, bands), str(sum(bands)), str(unknown), str(sum(bands) + unknown)]
        elif part == "Part_3":
            counts = [*([""] * len(BANDS)), "", "", str(draw(st.integers(0, 99)))]
        else:
            counts = [*map(str, bands), "", "", str(sum(bands))]
        # zero bands are sometimes left empty, counts sometimes have leading zeros
        counts = [
            "" if c == "0" and k < len(BANDS) and draw(st.booleans()) else c
            for k, c in enumerate(counts)
        ]
        counts = [f"0{c}" if c and draw(st.integers(0, 3)) == 0 else c for c in counts]
        provider_text = f"QMF,{draw(text_field(NAME))},{provider},{draw(text_field(NAME))}"
        rows.append(
            ",".join(
                [
                    *("RTT-April-2026", provider_text, commissioner, part, DESCRIPTION[part]),
                    *(tf, *counts),
                ]
            )
        )
    corrupt = bool(rows) and draw(st.booleans()) and draw(st.booleans())
    if corrupt:
        k = draw(st.integers(0, len(rows) - 1))
        cells = rows[k].rsplit(",", len(BANDS) + 3)
        j = draw(st.integers(1, len(cells) - 1))
        cells[j] = draw(st.sampled_from(BAD_CELLS))
        rows[k] = ",".join(cells)
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    data = csv_bytes(WIDE, rows, eol=eol, final=draw(st.booleans()))
    return data, bool(rows) and not corrupt, draw(st.booleans())


@needs_numba
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(rtt_file())
def test_fast_path_equals_polars_path(case):
    data, clean, zipped = case
    if clean:
        assert read_rows(data, WIDE) is not None
    with tempfile.TemporaryDirectory() as tmp:
        if zipped:
            path = Path(tmp) / "rtt.csv.zip"
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("rtt.csv", data)
        else:
            path = write(Path(tmp), data)
        assert_paths_agree(path)
