"""Tests of the strict delimited-text reader (ics_model.data.delimited)."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ics_model.data.base import SourceReadError
from ics_model.data.delimited import read_delimited

HEADER = "id,name,rating"


def _write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _rows(read) -> list[tuple]:
    return read.frame.rows()


# ----------------------------------------------------------------------------- malformed

LATE_NUL = (HEADER + "\n" + "1,x,Good\n" * 2000 + "2,y\x00z,Good\n").encode()

MALFORMED = [
    # (id, bytes, fragments the message must hold besides the file name)
    (
        "short_row",
        f"{HEADER}\n1,a,Good\n2,b\n3,c,Good\n",
        ["row 3 has 2 fields, header has 3", "line 3", "column 3 ('rating')"],
    ),
    (
        "short_last_row",
        f"{HEADER}\n1,a,Good\n2,b",
        ["row 3 (the last) has 2 of 3 fields", "no line end", "line 3", "column 3"],
    ),
    (
        "long_row",
        f"{HEADER}\n1,a,Good,extra\n",
        ["row 2 has 4 fields, header has 3", "'extra'", "line 2, column 4"],
    ),
    (
        "stray_quote",
        f'{HEADER}\n1,O"Brien,Good\n2,b,Good\n',
        ["quote inside an unquoted field", "line 2, column 4"],
    ),
    (
        "text_after_quote",
        f'{HEADER}\n1,"a"b,Good\n',
        ["text after the closing quote", "line 2, column 6"],
    ),
    (
        "unterminated_at_eof",
        f'{HEADER}\n1,a,Good\n2,"b,Good\n',
        ["never closed", "line 3, column 3"],
    ),
    ("unterminated_cut", f'{HEADER}\n1,a,Good\n2,b,"Go', ["never closed", "line 3, column 5"]),
    (
        "mixed_delimiters",
        f"{HEADER}\n1,a,Good\n2\tb\tGood\n",
        ["row 3 has 1 fields", "line 3", "column 2 ('name')"],
    ),
    ("blank_then_short", f"{HEADER}\n\n1,a\n", ["row 3 has 2 fields", "line 3", "column 3"]),
    ("quoted_break_short", f'{HEADER}\n1,"a\nb"\n', ["row 2 has 2 fields", "line 2", "column 3"]),
]
MALFORMED_BYTES = [
    ("nul_late", LATE_NUL, ["NUL bytes", "line 2002, column 4"]),
    (
        "truncated_multibyte",
        "id,name,rating\n1,Café,Good\n2,Zoë".encode()[:-1],
        ["ends inside a multi-byte UTF-8 character", "line 3, column 5"],
    ),
    (
        "utf16_odd_byte",
        "id,name,rating\n1,a,Good\n".encode("utf-16")[:-1],
        ["invalid UTF-16", "line 2"],
    ),
    (
        "bom_invalid_utf8",
        b"\xef\xbb\xbfid,name,rating\n1,\xff,Good\n",
        ["byte-order mark but invalid UTF-8", "line 2, column 3"],
    ),
    (
        "not_cp1252",
        b"id,name,rating\n1,\x81,Good\n",
        ["neither UTF-8 nor cp1252", "line 2, column 3"],
    ),
    ("lone_cr", b"id,name,rating\n1,a\rb,Good\n", ["carriage return", "line 2, column 4"]),
    ("lone_cr_crlf", b"id,name,rating\r\n1,a,Good\r\n2,b\r,Good\r\n", ["line 3, column 4"]),
]


@pytest.mark.parametrize(
    ("data", "fragments"),
    [pytest.param(text.encode(), frags, id=name) for name, text, frags in MALFORMED]
    + [pytest.param(data, frags, id=name) for name, data, frags in MALFORMED_BYTES],
)
def test_malformed_text_names_file_line_and_column(tmp_path, data, fragments):
    path = _write(tmp_path, data, "bad.csv")
    with pytest.raises(SourceReadError) as err:
        read_delimited(path)
    message = str(err.value)
    assert "bad.csv" in message
    for fragment in fragments:
        assert fragment in message, message


def test_extra_fields_blank_are_cut_or_refused(tmp_path):
    path = _write(tmp_path, f'{HEADER}\n1,a,Good,\n2,b,Good, ,""\n3,c,Good\n'.encode())
    assert _rows(read_delimited(path)) == [
        ("1", "a", "Good"),
        ("2", "b", "Good"),
        ("3", "c", "Good"),
    ]
    with pytest.raises(SourceReadError, match=r"row 2 has 4 fields.*line 2, column 4"):
        read_delimited(path, extra_blank_ok=False)


def test_empty_files(tmp_path):
    for data, what in [
        (b"", "empty file"),
        (b" \r\n\t", "empty file"),
        (b"\xef\xbb\xbf", "byte-order"),
    ]:
        with pytest.raises(SourceReadError, match=what):
            read_delimited(_write(tmp_path, data))


# ----------------------------------------------------------------------------- accepted


def test_blank_lines_are_rows_of_nulls_after_the_header(tmp_path):
    path = _write(tmp_path, f"\r\n\n{HEADER}\r\n1,a,Good\r\n\r\n,,\r\n2,b,\r\n\r\n".encode())
    read = read_delimited(path)
    assert read.header == ("id", "name", "rating")
    assert _rows(read) == [
        ("1", "a", "Good"),
        (None, None, None),
        (None, None, None),
        ("2", "b", None),
        (None, None, None),
    ]


def test_whitespace_line_is_blank_only_when_asked(tmp_path):
    path = _write(tmp_path, f"{HEADER}\n1,a,Good\n  \n".encode())
    with pytest.raises(SourceReadError, match="row 3 has 1 fields"):
        read_delimited(path)
    assert _rows(read_delimited(path, whitespace_is_blank=True))[1] == ("  ", None, None)


def test_headerless_file_has_the_given_width(tmp_path):
    path = _write(tmp_path, b'"R1A","ALPHA"\n"R2B","BETA"\n')
    read = read_delimited(path, columns=("code", "name"), encodings="utf-8")
    assert read.header == () and _rows(read) == [("R1A", "ALPHA"), ("R2B", "BETA")]
    with pytest.raises(SourceReadError, match=r"row 1 has 2 fields, expected 3 \(line 1"):
        read_delimited(path, columns=("code", "name", "postcode"))


def test_encodings_and_line_ends(tmp_path):
    text = f"{HEADER}\r1,Café,Good\r2,St Thomas\u2019,Outstanding\r"
    expected = [("1", "Café", "Good"), ("2", "St Thomas\u2019", "Outstanding")]
    for encoding, name in [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp1252", "cp1252"),
        ("utf-16", "utf-16"),
    ]:
        for eol in ("\n", "\r\n", "\r"):
            read = read_delimited(_write(tmp_path, text.replace("\r", eol).encode(encoding)))
            assert (read.encoding, _rows(read)) == (name, expected), (encoding, eol)
    cp1252 = text.replace("\r", "\n").encode("cp1252")
    with pytest.raises(SourceReadError, match="not UTF-8 text at line 2, column 6"):
        read_delimited(_write(tmp_path, cp1252), encodings="utf-8")
    with pytest.raises(SourceReadError, match=r"not UTF-8 text \(a UTF-16 byte-order mark\)"):
        read_delimited(_write(tmp_path, text.encode("utf-16")), encodings="utf-8")
    quoted_cr = f'{HEADER}\n1,"a\rb",Good\n'.encode()  # inside quotes a CR is text
    assert _rows(read_delimited(_write(tmp_path, quoted_cr))) == [("1", "a\rb", "Good")]


def test_tab_separated_is_sniffed(tmp_path):
    read = read_delimited(_write(tmp_path, b'id\tname\n1\t"a\tb, c"\n'))
    assert read.delimiter == "\t" and _rows(read) == [("1", "a\tb, c")]


# ----------------------------------------------------------------------------- properties

CELL = st.text(alphabet='ab ,"\t\r\n\u00e9\u2019', max_size=6)


@st.composite
def csv_file(draw):
    """Records written by the csv module (random quoting, line ends, encoding)."""
    width = draw(st.integers(2, 4))
    header = [f"h{i}" for i in range(width)]
    rows = draw(st.lists(st.lists(CELL, min_size=width, max_size=width), max_size=6))
    delimiter = draw(st.sampled_from([",", "\t"]))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    if eol == "\n" and quoting == csv.QUOTE_MINIMAL:
        # the csv module leaves a CR unquoted then: a lone CR outside quotes (refused)
        rows = [[c.replace("\r", "") for c in row] for row in rows]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=eol, quoting=quoting)
    writer.writerows([header, *rows])
    text = buf.getvalue()
    if draw(st.booleans()):
        text = text.rstrip("\r\n")  # no line end after the last record
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text, encoding, delimiter


def _csv_module(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_file())
def test_valid_files_read_as_the_csv_module_reads_them(case):
    text, encoding, delimiter = case
    expected = _csv_module(text, delimiter)
    with tempfile.TemporaryDirectory() as tmp:
        read = read_delimited(_write(Path(tmp), text.encode(encoding)))
    assert list(read.header) == expected[0]
    assert read.delimiter == delimiter
    got = [[v if v is not None else "" for v in row] for row in _rows(read)]
    assert got == [row if row else [""] * len(expected[0]) for row in expected[1:]]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(["1,a,Good", '2,"b, c",Good', "", "3,d", '"4', 'x"y', ",,", "5,e,"]),
        max_size=6,
    ),
    st.booleans(),
)
def test_only_source_read_errors_with_a_line_escape(lines, final_newline):
    text = "\n".join([HEADER, *lines]) + ("\n" if final_newline else "")
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp), text.encode(), "mutated.csv")
        try:
            read = read_delimited(path)
        except SourceReadError as exc:
            assert "mutated.csv" in str(exc)
            assert re.search(r"line \d+, column \d+|line \d+: column \d+", str(exc)), str(exc)
            return
    assert read.frame.width == 3
    assert read.frame.height == len(_csv_module(text, ",")) - 1
