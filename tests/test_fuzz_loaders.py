"""Property tests: the CSV and spreadsheet loaders fed corrupted inputs.

Inputs are random bytes, valid fixture files truncated at random offsets, the same files
with their columns shuffled, with one line re-encoded as cp1252 inside UTF-8 text, with
random cells blanked or deleted, and with quotes, delimiters, line ends, NUL or broken
UTF-8 bytes inserted, deleted or replaced (then a read error names the line). For every
input, in strict and lenient mode:

- the only exceptions that escape are the documented ones, ``SourceReadError`` and
  ``DataContractError``, and both name the file;
- in lenient mode a ``DataContractError`` carries a whole-column problem (row-level
  problems are quarantined, never raised);
- whatever is returned satisfies the loader's contract (``validate`` passes) and
  conserves rows: ``frame + quarantine + superseded == n_input_rows``; strict mode
  quarantines nothing, and an input strict mode accepts reads the same in lenient mode.

Loaders: ``read_cqc_ratings`` (CSV Locations and Providers sheets, XLSX),
``read_gp_practices``, ``read_ods_trusts`` (headerless) and ``read_user_indicators``.
ODS workbooks are not fuzzed here: the spreadsheet reader once looped forever on malformed
``content.xml``; the loader now checks the XML first, and the case is pinned by
``cqc_ods_mangled_end_tag`` in ``tests/test_bad_inputs.py``. The properties at the end
pinned faults the fuzzing found (now fixed).
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ics_model.contracts import Contract, DataContractError, validate
from ics_model.data.base import Loaded, SourceReadError
from ics_model.data.cqc import CQC_RATINGS, GP_PRACTICES, read_cqc_ratings, read_gp_practices
from ics_model.data.ods import ODS_COLUMNS, TRUSTS_CONTRACT, read_ods_trusts
from ics_model.metrics.user_indicators import USER_INDICATORS, read_user_indicators
from tests.conftest import ROOT, load_fixture_module

FX = load_fixture_module()
FUZZ = settings(
    max_examples=20,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ============================================================================ seed files

GP_LINES = [
    '"Practice.Code","Year","location_name","service_population_group","domain",'
    '"latest_rating","inherited_rating_y_n","IMD","IMD_quintile","ICB_NAME"',
    '"A81001",2016,"The Densham Surgery","Overall","Overall","Good","N",29.9,4,'
    '"North East and North Cumbria"',
    '"A81001",2019,"The Densham Surgery","Overall","Overall","Outstanding","N",29.9,4,'
    '"North East and North Cumbria"',
    '"A81002",2018,"Queens Park Medical Centre","Overall","Overall","Requires improvement",'
    '"Y",30.2,4,"North East and North Cumbria"',
    'NA,2020,"No Code Surgery","Overall","Overall","Not rated","N",NA,NA,NA',
    '"B82001",2021,"Caf\u00e9 Lane Practice","Overall","Overall","Inadequate","N",10.5,1,'
    '"West Yorkshire"',
]


def _etr_line(code: str, name: str, icb: str, postcode: str, opened: str, closed: str) -> str:
    fields = [""] * len(ODS_COLUMNS)
    fields[:4] = [code, name, "Y56", icb]
    fields[4], fields[9], fields[10], fields[11] = "1 HIGH STREET", postcode, opened, closed
    fields[21], fields[23] = "1", "H"
    return ",".join(f'"{f}"' for f in fields)


ETR_LINES = [
    _etr_line("R1A", "ALPHA NHS TRUST", "QMJ", "NW1 0PE", "20200401", ""),
    _etr_line("R2B", "BETA NHS TRUST", "QOP", "M13 9WL", "20000401", "20210331"),
    _etr_line("RQF", "VELINDRE NHS TRUST", "", "CF15 7QZ", "19940401", ""),
    _etr_line("G6V2S", "NORTH LONDON NHS FOUNDATION TRUST", "Z9B2Z", "NW1 0PE", "20241101", ""),
]


def _seed_bytes() -> dict[str, bytes]:
    """Valid files every strategy starts from (written once, kept as bytes)."""
    p18 = ("Providers", FX.PROVIDERS_2018_HEADER, FX.PROVIDERS_2018_ROWS, "date")
    with tempfile.TemporaryDirectory() as folder:
        d = Path(folder)
        return {
            "cqc_locations_csv": FX.write_csv(
                d / "l.csv", FX.LOCATIONS_HEADER, FX.LOCATIONS_ROWS
            ).read_bytes(),
            "cqc_providers_csv": FX.write_csv(
                d / "p.csv", FX.PROVIDERS_2018_HEADER, FX.PROVIDERS_2018_ROWS, date_format="iso"
            ).read_bytes(),
            "cqc_xlsx": FX.write_xlsx(d / "p.xlsx", [p18]).read_bytes(),
            "gp_csv": ("\r\n".join(GP_LINES) + "\r\n").encode("utf-8"),
            "ods_trusts": ("\r\n".join(ETR_LINES) + "\r\n").encode("utf-8"),
            "user_indicators": (
                ROOT / "configs" / "examples" / "user_partnership_indicators.csv"
            ).read_bytes(),
        }


SEEDS = _seed_bytes()


@dataclass(frozen=True)
class Loader:
    read: Callable[..., Loaded]
    contract: Contract
    filename: str
    header: bool = True  # the first record names the columns


LOADERS: dict[str, Loader] = {
    "cqc_locations_csv": Loader(read_cqc_ratings, CQC_RATINGS, "ratings.csv"),
    "cqc_providers_csv": Loader(read_cqc_ratings, CQC_RATINGS, "ratings.csv"),
    "cqc_xlsx": Loader(read_cqc_ratings, CQC_RATINGS, "ratings.xlsx"),
    "gp_csv": Loader(read_gp_practices, GP_PRACTICES, "gp.csv"),
    "ods_trusts": Loader(read_ods_trusts, TRUSTS_CONTRACT, "etr.csv", header=False),
    "user_indicators": Loader(read_user_indicators, USER_INDICATORS, "indicators.csv"),
}
TEXT_LOADERS = [name for name in LOADERS if name != "cqc_xlsx"]
HEADED_TEXT = [name for name in TEXT_LOADERS if LOADERS[name].header]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(autouse=True)
def _quiet_loaders():
    """Loaders log a warning per quarantined row; thousands of examples need no log."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


# ============================================================================ the property


def load_both(name: str, data: bytes, workdir: Path) -> dict[str, Loaded | Exception]:
    """Load ``data`` as loader ``name`` in both modes; assert the documented behaviour.

    Returns mode -> the Loaded result or the (documented) exception raised.
    """
    loader = LOADERS[name]
    path = workdir / loader.filename
    path.write_bytes(data)
    out: dict[str, Loaded | Exception] = {}
    for mode in ("strict", "lenient"):
        try:
            loaded = loader.read(path, mode=mode)
        except (SourceReadError, DataContractError) as exc:
            assert loader.filename in str(exc), str(exc)
            if isinstance(exc, DataContractError) and mode == "lenient":
                assert exc.violations["row"].null_count() > 0, str(exc)
            out[mode] = exc
            continue
        validate(loaded.frame, loader.contract)
        superseded = 0 if loaded.superseded is None else loaded.superseded.height
        assert loaded.n_input_rows == loaded.frame.height + loaded.quarantine.height + superseded
        if mode == "strict":
            assert loaded.quarantine.is_empty()
        out[mode] = loaded
    strict, lenient = out["strict"], out["lenient"]
    if isinstance(strict, Loaded):
        assert isinstance(lenient, Loaded) and lenient.quarantine.is_empty()
        assert_frame_equal(strict.frame, lenient.frame)
    return out


def _frame(result: Loaded | Exception) -> pl.DataFrame:
    assert isinstance(result, Loaded), f"expected a frame, got {result!r}"
    return result.frame.sort("source_row")


@functools.cache
def _original(name: str) -> pl.DataFrame:
    """The frame the unmodified seed file reads as (strict mode)."""
    loader = LOADERS[name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / loader.filename
        path.write_bytes(SEEDS[name])
        return loader.read(path).frame.sort("source_row")


# ============================================================================ text helpers


def _records(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def _csv_bytes(records: list[list[str]], quote_all: bool) -> bytes:
    buf = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(buf, quoting=quoting, lineterminator="\r\n").writerows(records)
    return buf.getvalue().encode("utf-8")


def _quote_all(name: str) -> bool:
    return name == "ods_trusts"  # ODS quotes every field; the others quote as needed


# ============================================================================ properties


@FUZZ
@pytest.mark.parametrize("name", list(LOADERS))
@given(data=st.binary(max_size=800))
def test_random_bytes(name, data, workdir):
    load_both(name, data, workdir)


@FUZZ
@pytest.mark.parametrize("name", list(LOADERS))
@given(data=st.data())
def test_truncated_at_a_random_offset(name, data, workdir):
    seed = SEEDS[name]
    cut = data.draw(st.integers(0, len(seed)), label="offset")
    load_both(name, seed[:cut], workdir)


@FUZZ
@pytest.mark.parametrize("name", HEADED_TEXT)
@given(data=st.data())
def test_shuffled_columns_read_the_same(name, data, workdir):
    records = _records(SEEDS[name])
    order = data.draw(st.permutations(range(len(records[0]))), label="order")
    shuffled = [[rec[i] for i in order] for rec in records]
    result = load_both(name, _csv_bytes(shuffled, _quote_all(name)), workdir)
    assert_frame_equal(_frame(result["strict"]), _original(name))


@FUZZ
@given(order=st.permutations(range(len(FX.PROVIDERS_2018_HEADER))))
def test_shuffled_columns_xlsx_read_the_same(order, workdir):
    header = [FX.PROVIDERS_2018_HEADER[i] for i in order]
    rows = [[row[i] for i in order] for row in FX.PROVIDERS_2018_ROWS]
    path = FX.write_xlsx(workdir / "shuffled.xlsx", [("Providers", header, rows, "date")])
    result = load_both("cqc_xlsx", path.read_bytes(), workdir)
    assert_frame_equal(_frame(result["strict"]), _original("cqc_xlsx"))


# a text column per loader that is neither a key nor a label, and text to put in it
_TEXT_COLUMN = {
    "cqc_locations_csv": 2,  # Location Name
    "cqc_providers_csv": 1,  # Service / Population Group: key text, still plain text
    "gp_csv": 2,  # location_name
    "ods_trusts": 1,  # name
    "user_indicators": 6,  # note
}
_NON_ASCII = st.text(alphabet="\u00e9\u2019\u00a3\u00e8\u00fc\u2013abc ", min_size=1, max_size=8)


@FUZZ
@pytest.mark.parametrize("name", TEXT_LOADERS)
@given(data=st.data())
def test_one_cp1252_line_inside_utf8(name, data, workdir):
    records = _records(SEEDS[name])
    first = 1 if LOADERS[name].header else 0
    line = data.draw(st.integers(first, len(records) - 1), label="line")
    text = data.draw(_NON_ASCII.filter(lambda s: any(ord(c) > 127 for c in s)), label="text")
    records[line][_TEXT_COLUMN[name]] = text
    lines = [_csv_bytes([rec], _quote_all(name)) for rec in records]
    lines[line] = lines[line].decode("utf-8").encode("cp1252")
    mixed = b"".join(lines)
    try:  # some cp1252 byte runs are also valid UTF-8 (e.g. "\u00e8\u00a3\u00a3")
        mixed.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "cp1252"
    result = load_both(name, mixed, workdir)
    if name.startswith(("cqc", "gp")):  # CQC files may be UTF-8 or cp1252 as a whole
        loaded = result["strict"]
        assert isinstance(loaded, Loaded) and f"CSV decoded as {encoding}" in loaded.notes
        if name != "cqc_providers_csv":  # there the changed column is part of the key
            original = _original(name)
            keep = [c for c in ("provider_id", "practice_code", "rating") if c in original.columns]
            assert_frame_equal(_frame(loaded).select(keep), original.select(keep))
    elif encoding == "cp1252":  # ODS and user files are UTF-8 only
        assert all(isinstance(r, SourceReadError) for r in result.values())
        assert "not UTF-8 text" in str(result["strict"])


@FUZZ
@pytest.mark.parametrize("name", TEXT_LOADERS)
@given(data=st.data())
def test_cells_blanked_or_deleted(name, data, workdir):
    records = _records(SEEDS[name])
    first = 1 if LOADERS[name].header else 0
    cells = st.tuples(
        st.integers(first, len(records) - 1),
        st.integers(0, len(records[0]) - 1),
        st.sampled_from(["blank", "delete"]),
    )
    for row, col, how in data.draw(st.lists(cells, min_size=1, max_size=6), label="cells"):
        if col >= len(records[row]):
            continue
        if how == "blank":
            records[row][col] = ""
        else:
            del records[row][col]
    load_both(name, _csv_bytes(records, _quote_all(name)), workdir)


@FUZZ
@given(
    cells=st.lists(
        st.tuples(
            st.integers(0, len(FX.PROVIDERS_2018_ROWS) - 1),
            st.integers(0, len(FX.PROVIDERS_2018_HEADER) - 1),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_cells_blanked_in_xlsx(cells, workdir):
    rows = [list(r) for r in FX.PROVIDERS_2018_ROWS]
    for row, col in cells:
        rows[row][col] = None
    sheet = ("Providers", FX.PROVIDERS_2018_HEADER, rows, "date")
    path = FX.write_xlsx(workdir / "blanked.xlsx", [sheet])
    load_both("cqc_xlsx", path.read_bytes(), workdir)


@FUZZ
@given(data=st.data())
def test_xlsx_bytes_flipped(data, workdir):
    seed = bytearray(SEEDS["cqc_xlsx"])
    for _ in range(data.draw(st.integers(1, 4), label="n")):
        seed[data.draw(st.integers(0, len(seed) - 1))] = data.draw(st.integers(0, 255))
    load_both("cqc_xlsx", bytes(seed), workdir)


# ======================================================= faults found by fuzzing (fixed)


@FUZZ
@pytest.mark.parametrize("name", ["cqc_providers_csv", "gp_csv"])
@given(
    bom=st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]),
    rest=st.binary(max_size=40),
)
@example(bom=b"\xef\xbb\xbf", rest=b"")
@example(bom=b"\xff\xfe", rest=b"A")
def test_byte_order_mark_then_random_bytes(name, bom, rest, workdir):
    load_both(name, bom + rest, workdir)


def _last_record_bounds(seed: bytes) -> tuple[int, int]:
    """(first byte of the last record, byte of its last field separator)."""
    body = seed.rstrip(b"\r\n")
    start = body.rfind(b"\n") + 1
    return start, body.rfind(b",")


@FUZZ
@pytest.mark.parametrize("name", ["cqc_locations_csv", "gp_csv"])
@given(data=st.data())
def test_cut_inside_the_last_record_is_never_silent(name, data, workdir):
    seed = SEEDS[name]
    start, last_sep = _last_record_bounds(seed)
    cut = data.draw(st.integers(start + 1, last_sep - 1), label="offset")
    result = load_both(name, seed[:cut], workdir)
    assert isinstance(result["strict"], SourceReadError | DataContractError)


# ============================================================ malformed CSV: line and column

# bytes that break CSV structure or encoding: quotes, delimiters, line ends, NUL, bytes of
# a cut multi-byte character, invalid UTF-8, a byte-order mark in the middle
_BREAKERS = [
    b'"',
    b",",
    b"\n",
    b"\r",
    b"\t",
    b"\x00",
    b"\xc3",
    b"\xe2\x80",
    b"\xff",
    b'""',
    b"\r\n",
]


@settings(
    max_examples=100,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.parametrize("name", ["cqc_locations_csv", "cqc_providers_csv", "gp_csv"])
@given(data=st.data())
def test_mutated_csv_raises_only_documented_errors_naming_the_line(name, data, workdir):
    """Inserted, deleted or replaced bytes: a read error names the file and the line."""
    mutated = bytearray(SEEDS[name])
    edits = st.tuples(
        st.integers(0, len(mutated)),
        st.sampled_from(["insert", "delete", "replace"]),
        st.sampled_from(_BREAKERS),
    )
    for at, how, piece in data.draw(st.lists(edits, min_size=1, max_size=4), label="edits"):
        if how == "insert":
            mutated[at:at] = piece
        elif how == "delete":
            del mutated[at : at + len(piece)]
        else:
            mutated[at : at + 1] = piece
    for outcome in load_both(name, bytes(mutated), workdir).values():
        if isinstance(outcome, SourceReadError) and "empty file" not in str(outcome):
            assert re.search(r"line \d+", str(outcome)), str(outcome)
