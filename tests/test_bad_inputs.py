"""A catalogue of bad inputs and the exact behaviour each one gets.

Every case names an input, where it goes (a loader, a config or rule-set reader, the
command line) and what a user sees: the exception type and a fragment of its message,
the quarantine reason (lenient mode), the values an accepted input is read as, or the
exit code and message of ``ics-model``. The table is mirrored in ``docs/BAD_INPUTS.md``;
:func:`test_docs_page_lists_every_case` keeps the two in step.

A case with a ``bug`` states the behaviour a user should get and is marked
``xfail(strict=True)`` until the library gives it; the reason names the fault.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import math
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter
from typer.testing import CliRunner

from ics_model.cli import app
from ics_model.config import ConfigError, load_config
from ics_model.contracts import Contract, DataContractError, validate
from ics_model.data.base import Loaded, SourceReadError
from ics_model.data.bundled import raw_path
from ics_model.data.cqc import CQC_RATINGS, GP_PRACTICES, read_cqc_ratings, read_gp_practices
from ics_model.data.deprivation import IMD_COLUMNS, IMD_CONTRACT, POPULATION_COLUMNS, read_imd
from ics_model.data.geography import read_boundaries
from ics_model.data.ods import ODS_COLUMNS, TRUSTS_CONTRACT, read_ods_trusts
from ics_model.metrics.user_indicators import USER_INDICATORS, read_user_indicators
from ics_model.rules import get_rule_set
from tests.conftest import load_fixture_module

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "BAD_INPUTS.md"
FX = load_fixture_module()

# ============================================================================ expectations


@dataclass(frozen=True)
class Raises:
    """The call raises ``error``; its message holds every fragment."""

    error: type[BaseException]
    fragments: tuple[str, ...]
    check: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class Returns:
    """The input is accepted; ``check`` asserts what it was read as."""

    behaviour: str
    check: Callable[[Any], None]


@dataclass(frozen=True)
class Quarantines:
    """Lenient mode: these source rows are quarantined with the reason; the rest are kept."""

    rows: tuple[int, ...]
    reason: str
    kept: int


@dataclass(frozen=True)
class Exits:
    """``ics-model`` exits with ``code``, one message and no traceback.

    ``check`` receives the test's temporary folder (outputs are in ``out/``).
    """

    code: int
    fragments: tuple[str, ...] = ()
    behaviour: str = ""
    check: Callable[[Path], None] | None = None


Expect = Raises | Returns | Quarantines | Exits


@dataclass(frozen=True)
class Case:
    """One bad input: ``make_input(tmp_path)`` builds it, ``expect`` says what must happen."""

    id: str
    kind: str
    make_input: Callable[[Path], Any]
    expect: Expect
    input: str
    bug: str | None = None
    now: str | None = None  # what happens today, for cases with a bug


# ============================================================================ how each kind runs


@dataclass(frozen=True)
class Kind:
    target: str
    run: Callable[[Any, str], Any]  # (input, mode) -> result
    contract: Contract | None = None


_CHILD = """
import json, logging, sys
logging.disable(logging.CRITICAL)
from ics_model.data.base import SourceReadError
from ics_model.data.cqc import read_cqc_ratings
try:
    loaded = read_cqc_ratings(sys.argv[1])
except SourceReadError as exc:
    print(json.dumps({"type": "SourceReadError", "reason": exc.reason}))
except Exception as exc:
    print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
else:
    print(json.dumps({"type": None, "rows": loaded.frame.height}))
"""


def _cqc_in_child(path: Path, mode: str, timeout: float = 4.0) -> dict:
    """``read_cqc_ratings`` in a child process: a hang fails the case, not the whole suite."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        raise TimeoutError(
            f"read_cqc_ratings({path.name}) still running after {timeout} s"
        ) from None
    out = json.loads(done.stdout.strip().splitlines()[-1])
    if out["type"] == "SourceReadError":
        raise SourceReadError(path, out["reason"])
    if out["type"]:
        raise RuntimeError(f"{out['type']}: {out['message']}")
    return out


def _composite(data: dict, mode: str) -> Any:
    from ics_model.composite.spec import composite_spec_from_dict

    return composite_spec_from_dict(data)


def _indicator(name: str = "a", **kw: Any) -> dict:
    return {
        "name": name,
        "source": "metric:self_containment",
        "direction": "higher_is_better",
        **kw,
    }


def _composite_yaml(extra: str = "", source: str = "metric:self_containment") -> str:
    """A run config whose composite has one pillar ``q`` with one indicator ``a``."""
    lines = [
        "composite:",
        "  pillars:",
        "    q:",
        "      indicators:",
        "        - name: a",
        f"          source: {source}",
        "          direction: higher_is_better",
    ]
    if extra:
        lines.append(f"          {extra}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class InFolder:
    """Command-line arguments run with ``cwd`` as the current folder and ``env`` set."""

    args: list[str]
    cwd: Path
    env: tuple[tuple[str, str], ...] = ()


def _invoke_cli(args: list[str] | InFolder) -> Any:
    if not isinstance(args, InFolder):
        return CliRunner().invoke(app, args)
    with contextlib.chdir(args.cwd):
        return CliRunner().invoke(app, args.args, env=dict(args.env))


KINDS: dict[str, Kind] = {
    "cqc": Kind("read_cqc_ratings", lambda p, m: read_cqc_ratings(p, mode=m), CQC_RATINGS),
    "cqc-child": Kind("read_cqc_ratings (child process)", _cqc_in_child),
    "cqc-bad-mode": Kind("read_cqc_ratings", lambda p, m: read_cqc_ratings(p, mode="loose")),
    "gp": Kind("read_gp_practices", lambda p, m: read_gp_practices(p, mode=m), GP_PRACTICES),
    "imd": Kind("read_imd", lambda ps, m: read_imd(*ps, mode=m), IMD_CONTRACT),
    "ods": Kind("read_ods_trusts", lambda p, m: read_ods_trusts(p, mode=m), TRUSTS_CONTRACT),
    "ui": Kind(
        "read_user_indicators", lambda p, m: read_user_indicators(p, mode=m), USER_INDICATORS
    ),
    "boundaries": Kind("read_boundaries", lambda p, m: read_boundaries("icb", p)),
    "config": Kind("load_config", lambda p, m: load_config(p)),
    "rule_set": Kind("get_rule_set", lambda x, m: get_rule_set(x)),
    "composite": Kind("composite_spec_from_dict", _composite),
    "cli": Kind("ics-model", lambda args, m: _invoke_cli(args)),
}

# ============================================================================ input builders

P_HEADER = ",".join(FX.PROVIDERS_2018_HEADER)
GOOD = "RJ1,Overall,Overall,Good,01/02/2018,Provider"
SAFE = "RJ1,Overall,Safe,Requires improvement,01/02/2018,Provider"
SUPERB = "RJ1,Overall,Safe,Superb,01/02/2018,Provider"


def _bytes(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _text(tmp: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    return _bytes(tmp, name, text.encode(encoding))


def _lines(tmp: Path, name: str, *lines: str, encoding: str = "utf-8") -> Path:
    return _text(tmp, name, "\n".join(lines) + "\n", encoding)


def _providers(tmp: Path, name: str, *rows: str, header: str = P_HEADER) -> Path:
    return _lines(tmp, name, header, *rows)


def _locations_csv(tmp: Path, name: str, **kw: Any) -> Path:
    return FX.write_csv(tmp / name, FX.LOCATIONS_HEADER, FX.LOCATIONS_ROWS, **kw)


def _xlsx(tmp: Path, name: str, rows: list, mode: str = "date") -> Path:
    return FX.write_xlsx(tmp / name, [("Providers", FX.PROVIDERS_2018_HEADER, rows, mode)])


def _half(path: Path, name: str) -> Path:
    data = path.read_bytes()
    return _bytes(path.parent, name, data[: len(data) // 2])


def _cut_locations(tmp: Path) -> Path:
    """The Locations fixture cut inside the last record's Provider Name (no line end)."""
    text = _locations_csv(tmp, "whole.csv").read_bytes().rstrip(b"\r\n")
    return _bytes(tmp, "locations_cut.csv", text[: text.rfind(b"Example Care") + 7])


def _cut_inside_quotes(tmp: Path) -> Path:
    """Every field quoted; the file ends inside the last record's quoted Brand Name."""
    rows = [*FX.LOCATIONS_ROWS[:4], FX.LOCATIONS_ROWS[5]]  # ends with a branded location
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(FX.LOCATIONS_HEADER)
    for row in rows:
        writer.writerow(
            [
                "" if v is None else v.strftime("%d/%m/%Y") if isinstance(v, dt.date) else v
                for v in row
            ]
        )
    text = buf.getvalue().rstrip("\r\n")
    return _text(tmp, "cut_quote.csv", text[: text.rfind('"Example Group"') + 11])


def _ods_content_edited(tmp: Path, name: str, edit: Callable[[bytes], bytes]) -> Path:
    """A valid Providers ODS whose ``content.xml`` is rewritten by ``edit`` (zip intact)."""
    sheet = ("Providers", FX.PROVIDERS_2018_HEADER, FX.PROVIDERS_2018_ROWS, "date")
    src = FX.write_ods(tmp / "good.ods", [sheet])
    out = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, edit(data) if info.filename == "content.xml" else data)
    return _bytes(tmp, name, out.getvalue())


def _cut_before_last_sheet_end(xml: bytes) -> bytes:
    return xml[: xml.rindex(b"</table:table>")]


def _last_sheet_end_in_comment(xml: bytes) -> bytes:
    end = xml.rindex(b"</table:table>")
    return xml[:end] + b"<!--</table:table>-->" + xml[end + len(b"</table:table>") :]


def _ods_mangled_end_tag(tmp: Path) -> Path:
    """A valid ODS whose ``</table:table>`` end tag lost its first characters."""
    sheet = ("Providers", FX.PROVIDERS_2018_HEADER, FX.PROVIDERS_2018_ROWS, "date")
    src = FX.write_ods(tmp / "good.ods", [sheet])
    out = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "content.xml":
                end = b"</table:table-row></table:table>"
                assert end in data
                data = data.replace(end, b"</table:table-row>:table>")
            zout.writestr(info, data)
    return _bytes(tmp, "mangled.ods", out.getvalue())


def _utf16_cut(tmp: Path) -> Path:
    data = "\n".join([P_HEADER, GOOD, SAFE]).encode("utf-16")
    return _bytes(tmp, "utf16_cut.csv", data[:-1])  # a UTF-16 file cut at an odd byte


GP_HEADER = (
    '"Practice.Code","Year","location_name","service_population_group","domain",'
    '"latest_rating","inherited_rating_y_n","IMD","IMD_quintile","ICB_NAME"'
)
GP_ONE = '"A81001",2016,"One","Overall","Overall","Good","N",29.9,4,"North East and North Cumbria"'
GP_TWO = '"A81002",2019,"Two","Overall","Overall","Outstanding","N",10.5,1,"West Yorkshire"'


def _imd(tmp: Path, rank: str = '"2,500"') -> tuple[Path, Path]:
    pop_header = ",".join(POPULATION_COLUMNS)
    imd = _lines(
        tmp,
        "imd.csv",
        ",".join(IMD_COLUMNS),
        "E01000001,City of London 001A,E09000001,City of London,1,1",
        f"E01000002,City of London 001B,E09000001,City of London,{rank},1",
        'E01000003,City of London 001C,E09000001,City of London,"32,844",10',
    )
    pop = _lines(
        tmp,
        "pop.csv",
        pop_header,
        'E01000001,E09000001,"1,296",175,656,465,715',
        "E01000002,E09000001,999,100,500,399,510",
        'E01000003,E09000001,"1,000","1,000",0,0,0',
    )
    return imd, pop


def _etr_line(code: str, name: str, opened: str = "20200401") -> str:
    fields = [""] * len(ODS_COLUMNS)
    fields[:4] = [code, name, "Y56", "QMJ"]
    fields[9], fields[10], fields[21], fields[23] = "NW1 0PE", opened, "1", "H"
    return ",".join(f'"{f}"' for f in fields)


UI_HEADER = "level,code,indicator,value"


def _boundaries_without_one(tmp: Path) -> Path:
    icb_file = "Integrated_Care_Boards_April_2023_EN_BSC_-187828753279616787.geo.json"
    data = json.loads(raw_path("icb_boundaries", icb_file).read_text(encoding="utf-8"))
    data["features"] = data["features"][1:]  # drop E54000008 (Cheshire and Merseyside)
    return _text(tmp, "icb_41.geojson", json.dumps(data))


# ---------------------------------------------------------------------------- command line

FAST = "metrics:\n  enabled: false\n"


def _config(tmp: Path, body: str, name: str = "run.yaml") -> Path:
    return _text(tmp, name, body)


def _run(tmp: Path, body: str, *files: tuple[str, str]) -> list[str]:
    for name, text in files:
        _text(tmp, name, text)
    return ["run", str(_config(tmp, body)), "--out", str(tmp / "out")]


def _billion_laughs() -> str:
    """A "billion laughs" YAML document: 9 aliases deep, 9 copies each."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _scenario_named(tmp: Path, name: str) -> Path:
    """A copy of the shipped scenario trust_home_share_overall under another name."""
    from ics_model.scenarios import available_scenarios

    text = available_scenarios()["trust_home_share_overall"].read_text(encoding="utf-8")
    text = text.replace("name: trust_home_share_overall", f"name: {json.dumps(name)}", 1)
    return _text(tmp, "mine_scenario.yaml", text)


def _scenarios_config(tmp: Path, *names: str) -> Path:
    return _config(tmp, f"scenarios: {json.dumps(list(names))}\n")


def _trust_file_run(tmp: Path, *rows: str, validation: str = "strict") -> list[str]:
    trusts = _providers(tmp, "mine.csv", *rows)
    return _run(tmp, f"data:\n  trust_ratings: {trusts}\n  validation: {validation}\n{FAST}")


def _csv_out(tmp: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(tmp / "out" / name, infer_schema_length=None)


def _check_unmapped_rzz(tmp: Path) -> None:
    unmapped = _csv_out(tmp, "unmapped.csv").filter(pl.col("provider_id") == "RZZ")
    assert unmapped.height == 1
    assert "not in ODS etr" in unmapped["reason"][0]


def _check_icb_without_rated_trusts(tmp: Path) -> None:
    view = _csv_out(tmp, "ics_view.csv").filter(pl.col("sector") == "nhs_trust")
    assert view["icb_code"].n_unique() == 42  # every ICB appears, rated or not
    qwo = view.filter((pl.col("icb_code") == "QWO") & (pl.col("key_question") == "Overall"))
    row = qwo.to_dicts()[0]
    assert row["n_providers"] > 0  # West Yorkshire's trusts are placed, none rated
    counts = ("n_rated", "n_outstanding", "n_good", "n_requires_improvement", "n_inadequate")
    assert all(row[c] == 0 for c in counts)
    shares = [c for c in row if c.startswith("share_")] + ["mean_score"]
    assert {"share_outstanding", "share_good_or_outstanding_lower"} <= set(shares)
    assert all(row[c] is None for c in shares)
    qkk = view.filter((pl.col("icb_code") == "QKK") & (pl.col("key_question") == "Overall"))
    assert qkk["n_rated"][0] == 1  # RJ1 (Guy's and St Thomas') is in South East London


def _check_header_only_run(tmp: Path) -> None:
    cons = _csv_out(tmp, "conservation.csv").filter(pl.col("source") == "trust_ratings")
    assert cons["n_input_rows"][0] == 0 and cons["balanced"][0]
    view = _csv_out(tmp, "ics_view.csv").filter(pl.col("sector") == "nhs_trust")
    assert view.height == 42 * 6 and view["n_rated"].sum() == 0


def _check_lenient_quarantine(tmp: Path) -> None:
    q = _csv_out(tmp, "quarantine.csv")
    assert q["source_row"].to_list() == [2, 3]
    assert q["source"].to_list() == ["mine.csv"] * 2
    assert all("duplicate key" in r for r in q["reason"])


_LOCATIONS_TWO_CODES = (
    "Location ID,Location Name,Location ONSPD CCG Code,Service / Population Group,Domain,"
    "Latest Rating,Publication Date,Report Type,Provider ID\n"
    "1-101,Two Codes Home,E38000244,Overall,Overall,Good,01/02/2020,Location,1-900\n"
    "1-101,Two Codes Home,E38000225,Overall,Safe,Good,01/02/2020,Location,1-900\n"
    "1-102,Other Home,E38000225,Overall,Overall,Outstanding,01/02/2020,Location,1-901\n"
)


def _locations_run(tmp: Path) -> list[str]:
    sectors = "views:\n  sectors: [nhs_trust, gp_practice, location]\n"
    body = f"data:\n  locations: {tmp / 'loc.csv'}\n{sectors}{FAST}"
    return _run(tmp, body, ("loc.csv", _LOCATIONS_TWO_CODES))


def _check_location_placed_once(tmp: Path) -> None:
    placed = _csv_out(tmp, "providers.csv").filter(pl.col("sector") == "location")
    assert placed.filter(pl.col("provider_id") == "1-101").is_empty()
    assert placed.filter(pl.col("provider_id") == "1-102")["icb_code"].to_list() == ["QWO"]
    unmapped = _csv_out(tmp, "unmapped.csv").filter(pl.col("provider_id") == "1-101")
    assert unmapped.height == 1
    assert "E38000244" in unmapped["reason"][0] and "E38000225" in unmapped["reason"][0]


# ---------------------------------------------------------------------------- outputs

MINE = "a user's own file\n"


def _here(tmp: Path, *own: str) -> Path:
    """The current folder of a case: ``tmp/here``, holding a user's own files ``own``."""
    here = tmp / "here"
    here.mkdir(exist_ok=True)
    for name in own:
        _text(here, name, MINE)
    return here


def _in_here(tmp: Path, *args: str, own: tuple[str, ...] = ()) -> InFolder:
    return InFolder(list(args), _here(tmp, *own))


def _check_here_untouched(*own: str) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        here = tmp / "here"
        assert sorted(p.name for p in here.iterdir()) == sorted(own)
        assert all((here / name).read_text() == MINE for name in own)

    return check


def _check_written_here(tmp: Path) -> None:
    summary = tmp / "here" / "rules_check_summary.csv"
    assert summary.read_text().startswith("level,")  # the user's file of that name replaced


def _linked_output(tmp: Path, name: str, *args: str) -> list[str]:
    """``--out tmp/out`` whose file ``name`` is a link to ``tmp/victim.txt``."""
    (tmp / "out").mkdir()
    (tmp / "out" / name).symlink_to(_text(tmp, "victim.txt", MINE))
    return [*args, "--out", str(tmp / "out")]


def _check_link_replaced(name: str) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        assert (tmp / "victim.txt").read_text() == MINE  # never written through the link
        target = tmp / "out" / name
        assert not target.is_symlink() and target.read_text() != MINE

    return check


def _earlier_manifest(out: Path, outputs: dict[str, str]) -> None:
    out.mkdir(exist_ok=True)
    _text(out, "manifest.json", json.dumps({"outputs": outputs}))


def _stale_run(tmp: Path) -> list[str]:
    """An earlier run's manifest listing old_output.csv, which this run does not write."""
    (tmp / "out").mkdir()
    old = _text(tmp / "out", "old_output.csv", "an output of the earlier run\n")
    _earlier_manifest(tmp / "out", {"old_output.csv": _sha(old)})
    return _run(tmp, FAST)


def _geo_folder(tmp: Path) -> list[str]:
    (tmp / "ics.gpkg").mkdir()
    return ["run", "--geo", str(tmp / "ics.gpkg"), "--out", str(tmp / "out")]


def _sha(path: Path) -> str:
    from ics_model.data.sources import sha256_file

    return sha256_file(path)


def _verify(tmp: Path, folder: str = "out") -> Any:
    return CliRunner().invoke(app, ["verify", str(tmp / folder)])


def _check_stale_removed(tmp: Path) -> None:
    assert not (tmp / "out" / "old_output.csv").exists()
    r = _verify(tmp)
    assert r.exit_code == 0 and "verified" in r.output, r.output


def _foreign_run(tmp: Path) -> list[str]:
    """An earlier manifest listing files that are not the run's to remove."""
    out = tmp / "out"
    (out / "sub").mkdir(parents=True)
    victim = _text(tmp, "victim.txt", MINE)
    other = _text(tmp, "other.txt", MINE)
    sub = _text(out / "sub", "x.csv", MINE)
    _text(out, "edited.csv", MINE)
    (out / "link.csv").symlink_to(victim)
    _earlier_manifest(
        out,
        {
            "../victim.txt": _sha(victim),
            str(other): _sha(other),
            "sub/x.csv": _sha(sub),
            "edited.csv": "0" * 64,  # the earlier run wrote other bytes: edited since
            "link.csv": _sha(victim),
        },
    )
    return _run(tmp, FAST)


def _check_foreign_kept(tmp: Path) -> None:
    out = tmp / "out"
    for path in (tmp / "victim.txt", tmp / "other.txt", out / "sub" / "x.csv", out / "edited.csv"):
        assert path.read_text() == MINE, path
    assert not (out / "link.csv").is_symlink() and not (out / "link.csv").exists()
    r = _verify(tmp)  # the edited file stays, and never passes as this run's
    assert r.exit_code == 1 and "edited.csv: not part of this run" in r.output, r.output


def _verify_folder(tmp: Path, listed: dict[str, str] | None = None, *extra: str) -> list[str]:
    """``verify tmp/out``: a.csv listed with its sha256, and ``listed``; ``extra`` files."""
    out = tmp / "out"
    out.mkdir()
    a = _text(out, "a.csv", "a\n1\n")
    for name in extra:
        _text(out, name, "x\n")
    _earlier_manifest(out, {"a.csv": _sha(a)} | (listed or {}))
    return ["verify", str(out)]


def _verify_with_link_out(tmp: Path) -> list[str]:
    secret = _text(tmp, "secret.txt", MINE)
    args = _verify_folder(tmp, {"link.csv": _sha(secret)})
    (tmp / "out" / "link.csv").symlink_to(secret)
    return args


def _verify_not_utf8(tmp: Path) -> list[str]:
    args = _verify_folder(tmp)
    _bytes(tmp / "out", "manifest.json", b'{"outputs": {"\xff.csv": "0"}}')
    return args


# ---------------------------------------------------------------------------- readers (files)

PROVIDERS_ROWS_TEXT = [
    [v.strftime("%d/%m/%Y") if isinstance(v, dt.date) else v for v in row]
    for row in FX.PROVIDERS_2018_ROWS
]


def _fifo(tmp: Path, name: str) -> Path:
    path = tmp / name
    os.mkfifo(path)
    return path


def _sparse(tmp: Path, name: str, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (a hole)."""
    path = tmp / name
    with path.open("wb") as fh:
        fh.truncate(size)
    return path


def _xlsx_error_cells(tmp: Path) -> Path:
    """A Providers sheet whose rows 2 and 3 hold a rating computed by a failing formula."""
    path = tmp / "errors.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Providers")
    ws.write_row(0, 0, FX.PROVIDERS_2018_HEADER)
    for r, row in enumerate(PROVIDERS_ROWS_TEXT, start=1):
        for c, v in enumerate(row):
            if v is not None:
                ws.write_string(r, c, v)
    ws.write_formula(1, 3, "=1/0", None, "#DIV/0!")
    ws.write_formula(2, 3, "=NA()", None, "#N/A")
    wb.close()
    return path


def _renamed_sheet(src: Path, member: str, old: bytes, new: bytes, name: str) -> Path:
    """``src`` with ``old`` replaced by ``new`` in one zip member (two sheets, one name)."""
    out = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            zout.writestr(info, data.replace(old, new) if info.filename == member else data)
    return _bytes(src.parent, name, out.getvalue())


def _two_sheets_one_name(tmp: Path, fmt: str) -> Path:
    sheets = [
        ("Providers", FX.PROVIDERS_2018_HEADER, FX.PROVIDERS_2018_ROWS, "text"),
        ("Providerz", FX.PROVIDERS_2018_HEADER, FX.PROVIDERS_2018_ROWS[:1], "text"),
    ]
    if fmt == "xlsx":
        src = FX.write_xlsx(tmp / "two.xlsx", sheets)
        return _renamed_sheet(src, "xl/workbook.xml", b"Providerz", b"Providers", "one.xlsx")
    src = FX.write_ods(tmp / "two.ods", sheets)
    return _renamed_sheet(src, "content.xml", b"Providerz", b"Providers", "one.ods")


def _column_twice_xlsx(tmp: Path) -> Path:
    header = [*FX.PROVIDERS_2018_HEADER, "Latest Rating"]
    rows = [[*row, "Outstanding"] for row in FX.PROVIDERS_2018_ROWS]
    return FX.write_xlsx(tmp / "twice.xlsx", [("Providers", header, rows, "text")])


def _short_message(limit: int = 1000) -> Callable[[BaseException], None]:
    """The message is short and repeats no input value longer than 200 characters."""

    def check(exc: BaseException) -> None:
        message = str(exc)
        assert len(message) < limit, len(message)
        assert not re.search(r"([xyz])\1{200}", message), "an input value echoed in full"

    return check


def _no_secret(exc: BaseException) -> None:
    assert "hunter2" not in str(exc)


def _verify_manifest(tmp: Path, manifest: bytes | None) -> list[str]:
    """An output folder whose manifest holds ``manifest`` (None: a named pipe)."""
    folder = tmp / "out"
    folder.mkdir()
    if manifest is None:
        os.mkfifo(folder / "manifest.json")
    else:
        (folder / "manifest.json").write_bytes(manifest)
    return ["verify", str(folder)]


def _nof_with(tmp: Path, column: str, value: str) -> list[str]:
    """A run on the embedded NOF extract with one cell of ``column`` (row 5) set to ``value``."""
    src = raw_path("nof", "nof_2025-26_q3_trustpulse", "trust_profiles.csv")
    frame = pl.read_csv(src, infer_schema=False)
    cell = pl.when(pl.int_range(pl.len()) == 3).then(pl.lit(value)).otherwise(pl.col(column))
    frame.with_columns(cell.alias(column)).write_csv(tmp / "nof.csv")
    return _run(tmp, f"data:\n  nof: {tmp / 'nof.csv'}\n{FAST}")


def _ui_dropped_columns(loaded: Loaded) -> None:
    assert loaded.frame.height == 1
    assert "value" in loaded.frame.columns


# ============================================================================ accepted inputs


def _ratings(loaded: Loaded) -> list:
    return loaded.frame.sort("source_row")["rating"].cast(pl.String).to_list()


def _check_normalised(loaded: Loaded) -> None:
    f = loaded.frame.sort("source_row")
    assert _ratings(loaded) == ["Good", "Requires improvement", "Outstanding", "Inadequate"]
    assert f["key_question"].cast(pl.String).to_list() == ["Overall", "Safe", "Caring", "Well-led"]


def _check_extra_ignored(loaded: Loaded) -> None:
    assert loaded.frame.columns == CQC_RATINGS.column_names
    assert loaded.frame.height == 1 and _ratings(loaded) == ["Good"]


def _check_superseded(loaded: Loaded) -> None:
    assert _ratings(loaded) == ["Good"]
    assert loaded.superseded["source_row"].to_list() == [2]
    assert loaded.superseded["reason"][0] == "superseded by publication of 2019-05-01"


def _check_trailing_delimiter(loaded: Loaded) -> None:
    assert _ratings(loaded) == ["Good", "Requires improvement"]
    assert loaded.frame.columns == CQC_RATINGS.column_names


def _check_header_only(loaded: Loaded) -> None:
    assert loaded.frame.is_empty() and loaded.n_input_rows == 0
    assert loaded.frame.columns == CQC_RATINGS.column_names


def _check_locations(encoding_note: str) -> Callable[[Loaded], None]:
    def check(loaded: Loaded) -> None:
        assert loaded.notes[0] == encoding_note
        assert loaded.frame.height == len(FX.LOCATIONS_ROWS)
        names = set(loaded.frame["location_name"])
        assert {"St Thomas\u2019 Hospital", "Caf\u00e9 Court Care Home"} <= names
        assert loaded.frame["location_id"].null_count() == 0

    return check


def _check_mixed_encoding(loaded: Loaded) -> None:
    assert loaded.notes[0] == "CSV decoded as cp1252"
    assert _ratings(loaded) == ["Good", "Requires improvement"]
    assert loaded.frame["provider_id"].to_list() == ["RJ1", "RJ1"]


def _date_is(expected: dt.date, variant: str) -> Callable[[Loaded], None]:
    def check(loaded: Loaded) -> None:
        assert loaded.variant == variant
        assert loaded.frame.sort("source_row")["publication_date"][0] == expected

    return check


def _check_tabs(loaded: Loaded) -> None:
    assert loaded.notes[0] == "CSV decoded as utf-8, tab-separated"
    assert _ratings(loaded) == ["Good", "Requires improvement"]


def _check_blank_lines(loaded: Loaded) -> None:
    assert loaded.frame.sort("source_row")["source_row"].to_list() == [3, 5]
    assert loaded.n_input_rows == 2
    assert "2 wholly blank row(s) skipped (not counted as input rows)" in loaded.notes


def _check_utf16(loaded: Loaded) -> None:
    assert loaded.notes[0] == "CSV decoded as utf-16"
    assert _ratings(loaded) == ["Good", "Requires improvement"]


def _check_gp(loaded: Loaded) -> None:
    f = loaded.frame.sort("source_row")
    assert f["rating"].cast(pl.String).to_list() == ["Good", None]
    assert f["rating_status"].cast(pl.String).to_list() == ["rated", "missing"]
    assert f["imd_score"].to_list() == [29.9, None]


def _check_imd(loaded: Loaded) -> None:
    assert loaded.frame["imd_rank"].to_list() == [1, 2500, 32844]
    assert loaded.frame["population_total"].to_list() == [1296, 999, 1000]


def _check_config_defaults(cfg: Any) -> None:
    assert cfg.name == "default" and cfg.data.validation == "strict"


# ============================================================================ the catalogue

CASES: list[Case] = [
    # ---------------------------------------------------------------- CQC ratings: labels
    Case(
        "cqc_unknown_rating_label",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD, SUPERB),
        Raises(DataContractError, ("mine.csv", "row 3", "'Superb'", "unknown rating label")),
        "a Latest Rating of 'Superb'",
    ),
    Case(
        "cqc_unknown_rating_label_reported_once",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD, SUPERB),
        Raises(
            DataContractError,
            ("1 violation(s)", "unknown rating label"),
            check=lambda e: e.violations["column"].to_list() == ["rating"],
        ),
        "a Latest Rating of 'Superb': one bad cell is one violation",
    ),
    Case(
        "cqc_unknown_rating_label_lenient",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD, SUPERB),
        Quarantines((3,), "rating: Superb (unknown rating label ('Latest Rating'))", kept=1),
        "a Latest Rating of 'Superb', lenient mode",
    ),
    Case(
        "cqc_rating_case_and_spaces",
        "cqc",
        lambda t: _providers(
            t,
            "mine.csv",
            "RJ1,Overall,Overall,  good  ,01/02/2018,Provider",
            "RJ1,Overall,Safe,REQUIRES   IMPROVEMENT,01/02/2018,Provider",
            "RJ1,Overall,Caring,outstanding,01/02/2018,Provider",
            "RJ1,Overall, well led ,Inadequate,01/02/2018,Provider",
        ),
        Returns("accepted: labels normalised", _check_normalised),
        "ratings and key questions in lower/upper case with extra spaces",
    ),
    # ---------------------------------------------------------------- CQC ratings: columns
    Case(
        "cqc_missing_column",
        "cqc",
        lambda t: _providers(
            t,
            "mine.csv",
            "RJ1,Overall,Overall,Good,01/02/2018",
            header=P_HEADER.removesuffix(",Report Type"),
        ),
        Raises(
            DataContractError,
            ("'Report Type'", "missing required column(s); found: Provider ID, Service"),
        ),
        "no Report Type column",
    ),
    Case(
        "cqc_renamed_column",
        "cqc",
        lambda t: _providers(
            t, "mine.csv", GOOD, header=P_HEADER.replace("Latest Rating", "Rating")
        ),
        Raises(
            DataContractError,
            ("'Latest Rating'", "found: Provider ID", "Key Question, Rating, Publication Date"),
        ),
        "'Rating' instead of 'Latest Rating'",
    ),
    Case(
        "cqc_extra_columns",
        "cqc",
        lambda t: _providers(t, "mine.csv", f"x,{GOOD},y", header=f"Notes,{P_HEADER},Inspector"),
        Returns("accepted: extra columns ignored", _check_extra_ignored),
        "two columns the loader does not know",
    ),
    Case(
        "cqc_two_headers_one_field",
        "cqc",
        lambda t: _providers(t, "mine.csv", f"{GOOD},Overall", header=f"{P_HEADER},Domain"),
        Raises(DataContractError, ("Key Question, Domain", "several headers match 'key_question'")),
        "both 'Key Question' and 'Domain' columns",
    ),
    Case(
        "cqc_semicolon_separated",
        "cqc",
        lambda t: _providers(
            t, "mine.csv", GOOD.replace(",", ";"), header=P_HEADER.replace(",", ";")
        ),
        Raises(DataContractError, ("missing required column(s)", "one field holding ';'")),
        "semicolon-separated CSV",
    ),
    # ---------------------------------------------------------------- CQC ratings: keys
    Case(
        "cqc_duplicate_key",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD, GOOD),
        Raises(DataContractError, ("row 2", "row 3", "duplicate key: 2 rows share it")),
        "the same key twice with the same publication date",
    ),
    Case(
        "cqc_duplicate_key_lenient",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD, GOOD, SAFE),
        Quarantines((2, 3), "duplicate key: 2 rows share it", kept=1),
        "the same key twice, lenient mode",
    ),
    Case(
        "cqc_key_published_twice",
        "cqc",
        lambda t: _providers(
            t,
            "mine.csv",
            "RJ1,Overall,Overall,Requires improvement,01/02/2017,Provider",
            "RJ1,Overall,Overall,Good,01/05/2019,Provider",
        ),
        Returns("accepted: the earlier row is superseded", _check_superseded),
        "the same key published on two dates",
    ),
    # ---------------------------------------------------------------- CQC ratings: files
    Case(
        "cqc_empty_file",
        "cqc",
        lambda t: _bytes(t, "empty.csv", b""),
        Raises(SourceReadError, ("empty.csv", "empty file")),
        "a 0-byte file",
    ),
    Case(
        "cqc_bom_only_file",
        "cqc",
        lambda t: _bytes(t, "bom_only.csv", b"\xef\xbb\xbf"),
        Raises(SourceReadError, ("bom_only.csv", "empty")),
        "a file holding only a UTF-8 byte-order mark",
    ),
    Case(
        "cqc_header_only",
        "cqc",
        lambda t: _providers(t, "mine.csv"),
        Returns("accepted: an empty frame, 0 input rows", _check_header_only),
        "the header and no data rows",
    ),
    Case(
        "cqc_blank_lines",
        "cqc",
        lambda t: _providers(t, "mine.csv", "", GOOD, ",,,,,", SAFE),
        Returns("accepted: blank rows skipped, row numbers kept", _check_blank_lines),
        "an empty line and a line of commas between records",
    ),
    Case(
        "cqc_row_too_long",
        "cqc",
        lambda t: _providers(t, "mine.csv", f"{GOOD},surplus"),
        Raises(
            SourceReadError,
            ("mine.csv", "row 2 has 7 fields, header has 6", "line 2, column 7 holds 'surplus'"),
        ),
        "a record with a value beyond the last column",
    ),
    Case(
        "cqc_trailing_delimiter",
        "cqc",
        lambda t: _providers(t, "mine.csv", f"{GOOD},", f"{SAFE},,"),
        Returns("accepted: blank fields after the last column cut", _check_trailing_delimiter),
        "records ending in one or two delimiters (blank fields after the last column)",
    ),
    Case(
        "cqc_row_too_short",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD, SAFE.removesuffix(",Provider"), GOOD),
        Raises(
            SourceReadError,
            ("mine.csv", "row 3 has 5 fields, header has 6", "line 3", "column 6 ('Report Type')"),
        ),
        "a record in the middle with the last field missing",
    ),
    Case(
        "cqc_mixed_delimiters",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD, SAFE.replace(",", "\t")),
        Raises(SourceReadError, ("mine.csv", "row 3 has 1 fields, header has 6", "line 3")),
        "a tab-separated record in a comma-separated file",
    ),
    Case(
        "cqc_stray_quote",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD, SAFE.replace("Requires", 'Req"uires')),
        Raises(
            SourceReadError, ("mine.csv", "a quote inside an unquoted field", "line 3, column 21")
        ),
        'a lone quote inside an unquoted field (`Req"uires improvement`)',
    ),
    Case(
        "cqc_text_after_closing_quote",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD.replace("Overall,Good", '"Overall"x,Good')),
        Raises(SourceReadError, ("mine.csv", "text after the closing quote", "line 2, column 22")),
        'text after a quoted field (`"Overall"x`)',
    ),
    Case(
        "cqc_unclosed_quote_mid_file",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD.replace(",Good", ',"Good'), SAFE),
        Raises(SourceReadError, ("mine.csv", "never closed", "line 2, column 21")),
        "a quote opened in the middle of the file and never closed",
    ),
    Case(
        "cqc_lone_carriage_return",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD.replace("Good", "Go\rod")),
        Raises(SourceReadError, ("mine.csv", "carriage return (CR)", "line 2, column 23")),
        "a carriage return without a line feed inside an unquoted field",
    ),
    Case(
        "cqc_csv_cut_mid_row",
        "cqc",
        _cut_locations,
        Raises(
            SourceReadError,
            ("locations_cut.csv", "row 8 (the last)", "line 8", "column 27 ('Brand ID')"),
        ),
        "Locations CSV cut inside the last record (in Provider Name)",
    ),
    Case(
        "cqc_csv_cut_inside_quotes",
        "cqc",
        _cut_inside_quotes,
        Raises(SourceReadError, ("cut_quote.csv", "never closed", "line 6, column")),
        "quoted CSV that ends inside an open quote",
    ),
    Case(
        "cqc_xlsx_cut_in_half",
        "cqc",
        lambda t: _half(_xlsx(t, "whole.xlsx", FX.PROVIDERS_2018_ROWS), "half.xlsx"),
        Raises(SourceReadError, ("half.xlsx", "not a readable xlsx workbook")),
        "the first half of an XLSX file",
    ),
    Case(
        "cqc_ods_cut_in_half",
        "cqc",
        lambda t: _half(
            FX.write_ods(
                t / "whole.ods",
                [("Providers", FX.PROVIDERS_2018_HEADER, FX.PROVIDERS_2018_ROWS, "date")],
            ),
            "half.ods",
        ),
        Raises(SourceReadError, ("half.ods", "not a readable ods workbook")),
        "the first half of an ODS file",
    ),
    Case(
        "cqc_ods_mangled_end_tag",
        "cqc-child",
        _ods_mangled_end_tag,
        Raises(SourceReadError, ("mangled.ods",)),
        "ODS whose content.xml ends the sheet with `</table:table-row>:table>`",
    ),
    Case(
        "cqc_ods_cut_inside_last_sheet",
        "cqc-child",
        lambda t: _ods_content_edited(t, "cut.ods", _cut_before_last_sheet_end),
        Raises(SourceReadError, ("cut.ods", "not a readable ods workbook", "no element found")),
        "ODS whose content.xml (zip intact) ends inside its last sheet",
    ),
    Case(
        "cqc_ods_end_tag_in_comment",
        "cqc-child",
        lambda t: _ods_content_edited(t, "comment.ods", _last_sheet_end_in_comment),
        Raises(SourceReadError, ("comment.ods", "mismatched tag")),
        "ODS whose last `</table:table>` is inside a comment (`<!--</table:table>-->`)",
    ),
    Case(
        "cqc_binary_content",
        "cqc",
        lambda t: _bytes(t, "binary.csv", bytes(range(256))),
        Raises(SourceReadError, ("binary.csv", "binary content (NUL bytes)", "line 1, column 1")),
        "256 bytes 0x00-0xFF named .csv",
    ),
    Case(
        "cqc_directory",
        "cqc",
        lambda t: (t / "folder.csv").mkdir() or t / "folder.csv",
        Raises(SourceReadError, ("folder.csv", "not a regular file but a folder")),
        "a folder instead of a file",
    ),
    Case(
        "cqc_missing_file",
        "cqc",
        lambda t: t / "absent.csv",
        Raises(SourceReadError, ("absent.csv", "no such file")),
        "a path that does not exist",
    ),
    Case(
        "cqc_bad_mode",
        "cqc-bad-mode",
        lambda t: _providers(t, "mine.csv", GOOD),
        Raises(ValueError, ("mode must be 'strict' or 'lenient'", "'loose'")),
        "mode='loose' (programming misuse)",
    ),
    # ---------------------------------------------------------------- CQC ratings: encodings
    Case(
        "cqc_cp1252",
        "cqc",
        lambda t: _locations_csv(t, "cp1252.csv", encoding="cp1252"),
        Returns("accepted: decoded as cp1252", _check_locations("CSV decoded as cp1252")),
        "Locations CSV in cp1252 (curly apostrophe, e-acute)",
    ),
    Case(
        "cqc_utf8_bom",
        "cqc",
        lambda t: _locations_csv(t, "bom.csv", encoding="utf-8-sig"),
        Returns("accepted: BOM removed", _check_locations("CSV decoded as utf-8-sig")),
        "Locations CSV in UTF-8 with a byte-order mark",
    ),
    Case(
        "cqc_utf16",
        "cqc",
        lambda t: _bytes(t, "utf16.csv", "\n".join([P_HEADER, GOOD, SAFE]).encode("utf-16")),
        Returns("accepted: decoded as UTF-16", _check_utf16),
        "CSV in UTF-16 with a byte-order mark",
    ),
    Case(
        "cqc_utf16_cut_odd_byte",
        "cqc",
        _utf16_cut,
        Raises(SourceReadError, ("utf16_cut.csv", "invalid UTF-16", "line 3, column")),
        "UTF-16 CSV cut at an odd byte",
    ),
    Case(
        "cqc_nul_byte_in_a_record",
        "cqc",
        lambda t: _bytes(t, "nul.csv", "\n".join([P_HEADER, GOOD, SAFE, ""]).encode() + b"\x00\n"),
        Raises(SourceReadError, ("nul.csv", "binary content (NUL bytes)", "line 4, column 1")),
        "a NUL byte after the records",
    ),
    Case(
        "cqc_utf8_cut_inside_a_character",
        "cqc",
        lambda t: _bytes(
            t,
            "cut_char.csv",
            "\n".join(
                [P_HEADER + ",Provider Name", GOOD + ",Caf\u00e9 Trust", SAFE + ",Caf\u00e9"]
            ).encode()[:-1],
        ),
        Raises(
            SourceReadError,
            ("cut_char.csv", "ends inside a multi-byte UTF-8 character", "line 3, column"),
        ),
        "UTF-8 file cut inside its last character (the 2-byte e-acute)",
    ),
    Case(
        "cqc_mixed_encoding_line",
        "cqc",
        lambda t: _bytes(
            t,
            "mixed.csv",
            (P_HEADER + ",Provider Name\n" + GOOD + ",Caf\u00e9 Trust\n").encode("utf-8")
            + (SAFE + ",St Thomas\u2019 Trust\n").encode("cp1252"),
        ),
        Returns("accepted: whole file read as cp1252 (noted)", _check_mixed_encoding),
        "UTF-8 file with one cp1252 line",
    ),
    Case(
        "cqc_tab_separated",
        "cqc",
        lambda t: _providers(
            t,
            "mine.csv",
            GOOD.replace(",", "\t"),
            SAFE.replace(",", "\t"),
            header=P_HEADER.replace(",", "\t"),
        ),
        Returns("accepted: tab delimiter detected", _check_tabs),
        "tab-separated text named .csv",
    ),
    # ---------------------------------------------------------------- CQC ratings: dates
    Case(
        "cqc_date_dmy",
        "cqc",
        lambda t: _providers(t, "mine.csv", "RJ1,Overall,Overall,Good,12/03/2019,Provider"),
        Returns(
            "accepted: 2019-03-12",
            _date_is(dt.date(2019, 3, 12), "providers/key_question/text-dates/csv"),
        ),
        "publication date 12/03/2019 (dd/mm/yyyy)",
    ),
    Case(
        "cqc_date_iso",
        "cqc",
        lambda t: _providers(t, "mine.csv", "RJ1,Overall,Overall,Good,2019-03-12,Provider"),
        Returns(
            "accepted: 2019-03-12",
            _date_is(dt.date(2019, 3, 12), "providers/key_question/text-dates/csv"),
        ),
        "publication date 2019-03-12 (yyyy-mm-dd)",
    ),
    Case(
        "cqc_date_cells",
        "cqc",
        lambda t: _xlsx(t, "cells.xlsx", FX.PROVIDERS_2018_ROWS),
        Returns(
            "accepted: date cells",
            _date_is(dt.date(2018, 6, 28), "providers/key_question/date-cells/xlsx"),
        ),
        "XLSX with publication dates as date cells",
    ),
    Case(
        "cqc_invalid_date",
        "cqc",
        lambda t: _providers(t, "mine.csv", GOOD, "RJ1,Overall,Safe,Good,31/02/2018,Provider"),
        Raises(DataContractError, ("mine.csv", "row 3", "'31/02/2018'", "unparseable date")),
        "publication date 31/02/2018",
    ),
    Case(
        "cqc_text_date_among_date_cells",
        "cqc",
        lambda t: _xlsx(
            t,
            "mixed_dates.xlsx",
            [
                *FX.PROVIDERS_2018_ROWS[:2],
                [*FX.PROVIDERS_2018_ROWS[2][:4], "soon", "CoreService"],
            ],
        ),
        Raises(DataContractError, ("mixed_dates.xlsx", "row 4", "'soon'", "unparseable date")),
        "XLSX date column with date cells and one text cell 'soon'",
    ),
    # ---------------------------------------------------------------- GP practices
    Case(
        "gp_na_and_lower_case",
        "gp",
        lambda t: _lines(
            t,
            "gp.csv",
            GP_HEADER,
            GP_ONE.replace('"Good"', '"good"'),
            '"A81002",2019,"Two","Overall","Overall",NA,"N",NA,NA,NA',
        ),
        Returns("accepted: 'good' normalised, NA is null", _check_gp),
        "lower-case rating and NA cells",
    ),
    Case(
        "gp_bad_year",
        "gp",
        lambda t: _lines(t, "gp.csv", GP_HEADER, GP_ONE.replace("2016", "20x6")),
        Raises(DataContractError, ("gp.csv", "row 2", "'20x6'", "not a whole year")),
        "Year '20x6'",
    ),
    Case(
        "gp_duplicate_lenient",
        "gp",
        lambda t: _lines(t, "gp.csv", GP_HEADER, GP_ONE, GP_ONE, GP_TWO),
        Quarantines((2, 3), "duplicate key: 2 rows share it and the latest publication_year", 1),
        "the same practice twice in one year, lenient mode",
    ),
    Case(
        "gp_cut_inside_quotes",
        "gp",
        lambda t: _text(t, "gp_cut.csv", "\n".join([GP_HEADER, GP_ONE, GP_TWO[:-8]])),
        Raises(SourceReadError, ("gp_cut.csv", "never closed", "line 3, column 66")),
        "GP file cut inside the last record's quoted ICB name",
    ),
    # ---------------------------------------------------------------- IMD
    Case(
        "imd_thousands_separators",
        "imd",
        _imd,
        Returns("accepted: '2,500' read as 2500", _check_imd),
        'IMD ranks and populations written "2,500"',
    ),
    Case(
        "imd_bad_number",
        "imd",
        lambda t: _imd(t, rank='"2,5x0"'),
        Raises(DataContractError, ("imd.csv", "row 3", "'2,5x0'", "not a whole number")),
        "IMD rank '2,5x0'",
    ),
    # ---------------------------------------------------------------- ODS trusts (etr)
    Case(
        "ods_trusts_cp1252",
        "ods",
        lambda t: _text(
            t, "etr.csv", _etr_line("R1A", "ST THOMAS\u2019 NHS TRUST") + "\r\n", "cp1252"
        ),
        Raises(SourceReadError, ("etr.csv", "not UTF-8 text")),
        "etr file in cp1252 (ODS files are UTF-8)",
    ),
    Case(
        "ods_trusts_cut_mid_record",
        "ods",
        lambda t: _text(
            t, "etr.csv", _etr_line("R1A", "ALPHA NHS TRUST") + "\r\n" + _etr_line("R2B", "B")[:60]
        ),
        Raises(SourceReadError, ("etr.csv", "row 2 (the last) has 12 of 27 fields", "line 2")),
        "etr file cut inside its second record",
    ),
    Case(
        "ods_trusts_bad_date",
        "ods",
        lambda t: _lines(t, "etr.csv", _etr_line("R1A", "ALPHA NHS TRUST", opened="2020-04-01")),
        Raises(DataContractError, ("etr.csv", "row 1", "'2020-04-01'", "YYYYMMDD")),
        "open date 2020-04-01 where ODS writes 20200401",
    ),
    Case(
        "ods_trusts_header_row",
        "ods",
        lambda t: _lines(
            t,
            "etr.csv",
            ",".join(f'"{c}"' for c in ODS_COLUMNS),
            _etr_line("R1A", "ALPHA NHS TRUST"),
        ),
        Raises(DataContractError, ("row 1", "'open_date'", "not a date in YYYYMMDD form")),
        "a header row on the headerless etr layout",
    ),
    # ---------------------------------------------------------------- user indicators
    Case(
        "ui_non_numeric_value",
        "ui",
        lambda t: _lines(t, "ui.csv", UI_HEADER, "provider,RJ1,collab_member,yes"),
        Raises(DataContractError, ("ui.csv", "row 2", "'yes'", "not a number")),
        "value 'yes'",
    ),
    Case(
        "ui_thousands_separator",
        "ui",
        lambda t: _lines(t, "ui.csv", UI_HEADER, 'icb,QE1,budget_share,"1,5"'),
        Raises(DataContractError, ("row 2", "'1,5'", "not a number")),
        'value "1,5" (decimal comma or thousands separator: ambiguous)',
    ),
    Case(
        "ui_non_finite_value",
        "ui",
        lambda t: _lines(t, "ui.csv", UI_HEADER, "icb,QE1,score,inf"),
        Raises(DataContractError, ("row 2", "'inf'", "not a finite number")),
        "value 'inf'",
    ),
    Case(
        "ui_bad_code",
        "ui",
        lambda t: _lines(
            t, "ui.csv", UI_HEADER, "provider,rj1,collab_member,1", "icb,E54000008,score,3"
        ),
        Raises(
            DataContractError,
            ("'rj1'", "not an ODS trust code", "'E54000008'", "not an ICB ODS code"),
        ),
        "lower-case trust code; an ICB's GSS code where its ODS code belongs",
    ),
    Case(
        "ui_duplicate",
        "ui",
        lambda t: _lines(
            t, "ui.csv", UI_HEADER, "provider,RJ1,collab_member,1", "provider,RJ1,collab_member,0"
        ),
        Raises(DataContractError, ("row 2", "row 3", "'provider | RJ1 | collab_member'")),
        "the same level, code and indicator twice",
    ),
    Case(
        "ui_duplicate_lenient",
        "ui",
        lambda t: _lines(
            t,
            "ui.csv",
            UI_HEADER,
            "provider,RJ1,collab_member,1",
            "provider,RJ1,collab_member,0",
            "provider,R1H,collab_member,1",
        ),
        Quarantines((2, 3), "provider | RJ1 | collab_member (duplicate key)", kept=1),
        "the same level, code and indicator twice, lenient mode",
    ),
    Case(
        "ui_extra_column",
        "ui",
        lambda t: _lines(t, "ui.csv", UI_HEADER + ",notes", "icb,QE1,score,3,typo of note"),
        Raises(DataContractError, ("'notes'", "column not declared in the contract")),
        "a 'notes' column (the optional column is 'note')",
    ),
    # ---------------------------------------------------------------- boundaries
    Case(
        "boundaries_missing_icb",
        "boundaries",
        _boundaries_without_one,
        Raises(DataContractError, ("icb_41.geojson", "41 features where 42 are expected")),
        "the embedded ICB GeoJSON without its first feature",
    ),
    # ---------------------------------------------------------------- readers: files, sizes, cells
    Case(
        "cqc_named_pipe",
        "cqc-child",
        lambda t: _fifo(t, "pipe.csv"),
        Raises(SourceReadError, ("pipe.csv", "not a regular file but a named pipe")),
        "a named pipe (FIFO) given as the ratings file: refused at once, never waited on",
    ),
    Case(
        "cqc_device",
        "cqc-child",
        lambda t: Path("/dev/zero"),
        Raises(SourceReadError, ("/dev/zero", "not a regular file but a device")),
        "`/dev/zero` given as the ratings file (an endless read)",
    ),
    Case(
        "cqc_larger_than_limit",
        "cqc",
        lambda t: _sparse(t, "huge.csv", 3 * 1024**3),
        Raises(SourceReadError, ("huge.csv", "3,221,225,472 bytes, more than the")),
        "a 3 GiB file (over the 2 GiB read)",
    ),
    Case(
        "cqc_field_too_long",
        "cqc",
        lambda t: _providers(t, "long.csv", GOOD.replace("RJ1", "z" * 150_000)),
        Raises(
            SourceReadError,
            ("row 2, column 1", "150,000 characters, more than the 100,000"),
            _short_message(),
        ),
        "one field of 150,000 characters",
    ),
    Case(
        "cqc_header_megabytes_message_capped",
        "cqc",
        lambda t: _text(t, "wide.csv", "x" * 2_000_000 + "\n" + "\n".join([P_HEADER, GOOD]) + "\n"),
        Raises(
            SourceReadError,
            ("row 2 has 6 fields, header has 1", "more characters"),
            _short_message(),
        ),
        "a first line of 2 MB: the message cuts it at 200 characters",
    ),
    Case(
        "cqc_csv_column_twice",
        "cqc",
        lambda t: _providers(
            t, "twice.csv", GOOD + ",Outstanding", header=P_HEADER + ",Latest Rating"
        ),
        Raises(DataContractError, ("twice.csv", "'Latest Rating' appears 2 times")),
        "CSV with two `Latest Rating` columns (which to read is unknowable)",
    ),
    Case(
        "cqc_xlsx_column_twice",
        "cqc",
        _column_twice_xlsx,
        Raises(DataContractError, ("twice.xlsx", "'Latest Rating' appears 2 times")),
        "XLSX with two `Latest Rating` columns",
    ),
    Case(
        "cqc_xlsx_two_sheets_one_name",
        "cqc",
        lambda t: _two_sheets_one_name(t, "xlsx"),
        Raises(SourceReadError, ("one.xlsx", "2 sheets are named 'Providers'")),
        "XLSX with two sheets named Providers (only one would be read)",
    ),
    Case(
        "cqc_ods_two_sheets_one_name",
        "cqc",
        lambda t: _two_sheets_one_name(t, "ods"),
        Raises(SourceReadError, ("one.ods", "2 sheets are named 'Providers'")),
        "ODS with two sheets named Providers",
    ),
    Case(
        "cqc_xlsx_error_cells",
        "cqc",
        _xlsx_error_cells,
        Raises(
            DataContractError,
            ("row 2, column 'rating', value '#DIV/0!'", "row 3", "'#N/A'", "spreadsheet error"),
        ),
        "XLSX ratings computed by failing formulas (`#DIV/0!`, `#N/A`), read as empty by the "
        "spreadsheet reader",
    ),
    Case(
        "cqc_xlsx_error_cells_lenient",
        "cqc",
        _xlsx_error_cells,
        Quarantines((2, 3), "spreadsheet error value", len(FX.PROVIDERS_2018_ROWS) - 2),
        "the same, lenient",
    ),
    Case(
        "cqc_unrelated_file_not_echoed",
        "cqc",
        lambda t: _lines(t, "notes.txt", "my password is hunter2", "second line"),
        Raises(
            DataContractError, ("missing required column(s)", "is it the right file?"), _no_secret
        ),
        "an unrelated text file: its first line is not repeated as 'columns found'",
    ),
    Case(
        "gp_imd_not_a_number",
        "gp",
        lambda t: _lines(t, "gp.csv", GP_HEADER, GP_ONE.replace("29.9", "NaN")),
        Raises(DataContractError, ("row 2", "'imd_score'", "not a finite number")),
        "an IMD score of `NaN`",
    ),
    Case(
        "gp_imd_overflows_to_infinity",
        "gp",
        lambda t: _lines(t, "gp.csv", GP_HEADER, GP_ONE.replace("29.9", "1e400")),
        Raises(DataContractError, ("row 2", "'imd_score'", "not a finite number")),
        "an IMD score of `1e400` (infinite as a float)",
    ),
    Case(
        "ui_column_twice",
        "ui",
        lambda t: _lines(t, "ui.csv", UI_HEADER + ",value", "provider,RJ1,collab_member,1,0"),
        Raises(SourceReadError, ("ui.csv", "'value' appears twice (columns 4 and 5)")),
        "user indicators with two `value` columns",
    ),
    Case(
        "ui_trailing_empty_columns",
        "ui",
        lambda t: _lines(t, "ui.csv", UI_HEADER + ",,", "provider,RJ1,collab_member,1,,"),
        Returns("read; the two unnamed empty columns are ignored", _ui_dropped_columns),
        "a spreadsheet export's trailing commas (`value,,`)",
    ),
    Case(
        "ui_unnamed_column_with_data",
        "ui",
        lambda t: _lines(t, "ui.csv", UI_HEADER + ",", "provider,RJ1,collab_member,1,7"),
        Raises(SourceReadError, ("column 5 has no name in the header but holds data", "'7'")),
        "a column with data but no name",
    ),
    Case(
        "config_nested_too_deeply",
        "config",
        lambda t: _config(t, "a: " + "[" * 50_000 + "]" * 50_000 + "\n"),
        Raises(ConfigError, ("nests too deeply",)),
        "a YAML document nesting 50,000 lists",
    ),
    Case(
        "config_value_megabytes_capped",
        "config",
        lambda t: _config(t, "metrics:\n  enabled: " + "y" * 3_000_000 + "\n"),
        Raises(ConfigError, ("metrics.enabled", "more characters"), _short_message()),
        "a config value of 3 MB: the message cuts it at 200 characters",
    ),
    Case(
        "cli_nof_score_not_a_number",
        "cli",
        lambda t: _nof_with(t, "overall_avg_metric_score", "NaN"),
        Exits(2, ("nof.csv", "row 5", "'avg_metric_score'", "not a finite number")),
        "a NOF average metric score of `NaN`",
    ),
    Case(
        "cli_config_named_pipe",
        "cli",
        lambda t: ["validate", str(_fifo(t, "run.yaml"))],
        Exits(2, ("run.yaml", "not a regular file but a named pipe")),
        "`validate` given a named pipe as the config",
    ),
    Case(
        "cli_config_device",
        "cli",
        lambda t: ["run", "/dev/zero", "--out", str(t / "out")],
        Exits(2, ("/dev/zero", "not a regular file but a device")),
        "`run /dev/zero`",
    ),
    Case(
        "cli_config_not_utf8",
        "cli",
        lambda t: ["validate", str(_bytes(t, "run.yaml", "# café\n".encode("cp1252")))],
        Exits(2, ("run.yaml", "is not UTF-8 text (line 1)")),
        "a config saved as cp1252",
    ),
    Case(
        "cli_data_file_named_pipe",
        "cli",
        lambda t: _run(t, f"data:\n  trust_ratings: {_fifo(t, 'pipe.csv')}\n{FAST}"),
        Exits(2, ("data.trust_ratings", "not a regular file but a named pipe")),
        "a named pipe as `data.trust_ratings`",
    ),
    Case(
        "cli_verify_manifest_named_pipe",
        "cli",
        lambda t: _verify_manifest(t, None),
        Exits(1, ("manifest.json", "not a regular file but a named pipe")),
        "`verify` on a folder whose manifest.json is a named pipe",
    ),
    Case(
        "cli_verify_manifest_nested_too_deeply",
        "cli",
        lambda t: _verify_manifest(t, b"[" * 100_000),
        Exits(1, ("manifest.json", "nests too deeply")),
        "`verify` on a manifest of 100,000 nested lists",
    ),
    # ---------------------------------------------------------------- run configs
    Case(
        "config_unknown_key",
        "config",
        lambda t: _config(t, "mapping:\n  inherit: true\n"),
        Raises(ConfigError, ("mapping.inherit: unknown key",)),
        "mapping.inherit (not a key)",
    ),
    Case(
        "config_yaml_syntax_error",
        "config",
        lambda t: _config(t, "data:\n  trust_ratings: [unclosed\n"),
        Raises(ConfigError, ("run.yaml is not valid YAML", "line 2")),
        "an unclosed YAML flow sequence",
    ),
    Case(
        "config_bad_value",
        "config",
        lambda t: _config(t, "data:\n  validation: sloppy\n"),
        Raises(ConfigError, ("data.validation", "'strict' or 'lenient'", "given: 'sloppy'")),
        "data.validation: sloppy",
    ),
    Case(
        "config_out_of_range",
        "config",
        lambda t: _config(t, "views:\n  confidence: 1.5\n"),
        Raises(ConfigError, ("views.confidence", "less than 1", "given: 1.5")),
        "views.confidence: 1.5",
    ),
    Case(
        "config_top_level_list",
        "config",
        lambda t: _config(t, "- data\n- mapping\n"),
        Raises(ConfigError, ("the top level must be a mapping, got list",)),
        "a YAML list instead of a mapping",
    ),
    Case(
        "config_empty_file",
        "config",
        lambda t: _config(t, ""),
        Returns("accepted: every default", _check_config_defaults),
        "an empty config file",
    ),
    Case(
        "config_missing_file",
        "config",
        lambda t: t / "absent.yaml",
        Raises(ConfigError, ("cannot read config", "absent.yaml")),
        "a config path that does not exist",
    ),
    Case(
        "config_duplicate_key",
        "config",
        lambda t: _config(
            t, "views:\n  confidence: 0.9\n  sectors: [nhs_trust]\n  confidence: 0.8\n"
        ),
        Raises(ConfigError, ("run.yaml", "views.confidence: duplicate key", "line 4", "line 2")),
        "views.confidence given twice (PyYAML alone keeps the last silently)",
    ),
    Case(
        "config_duplicate_key_in_list",
        "config",
        lambda t: _config(t, _composite_yaml("name: b")),
        Raises(ConfigError, ("composite.pillars.q.indicators.0.name: duplicate key", "line 8")),
        "an indicator mapping with two name keys",
    ),
    Case(
        "config_yaml_billion_laughs",
        "config",
        lambda t: _config(t, _billion_laughs()),
        Raises(ConfigError, ("run.yaml", "expands to more than 100,000 values")),
        "nine levels of aliases, each nine copies of the last (10^9 values once expanded)",
    ),
    # ---------------------------------------------------------------- rule sets
    Case(
        "rule_set_unknown_name",
        "rule_set",
        lambda t: "bogus",
        Raises(KeyError, ("unknown rule set 'bogus'", "available: cqc_principles")),
        "rule set name 'bogus'",
    ),
    Case(
        "rule_set_invalid_key_path",
        "rule_set",
        lambda t: _config(
            t,
            "kind: principles\nname: mine\nbands:\n"
            "  - {min_n: 0, max_n: null, outstanding_min: 1, ri_limit: 1, inadequate_limit: 1}\n",
            "mine.yaml",
        ),
        Raises(ConfigError, ("invalid rule set", "mine.yaml", "bands.0.min_n", "given: 0")),
        "a principles rule set with bands[0].min_n = 0",
    ),
    Case(
        "rule_set_duplicate_key",
        "rule_set",
        lambda t: _config(t, "kind: principles\nname: mine\nkind: saf\n", "mine.yaml"),
        Raises(ConfigError, ("rule set", "mine.yaml", "kind: duplicate key", "line 3")),
        "a rule set YAML with kind given twice",
    ),
    Case(
        "rule_set_yaml_syntax_error",
        "rule_set",
        lambda t: _config(t, "kind: saf\nname: [x\n", "broken.yaml"),
        Raises(ConfigError, ("broken.yaml is not valid YAML",)),
        "rule set YAML with an unclosed sequence",
    ),
    # ---------------------------------------------------------------- composite config
    Case(
        "composite_nan_weight",
        "config",
        lambda t: _config(t, _composite_yaml("weight: .nan")),
        Raises(ConfigError, ("composite.pillars.q.indicators.0.weight", "finite", "given: nan")),
        "run config: an indicator weight of .nan",
    ),
    Case(
        "composite_infinite_weight",
        "composite",
        lambda t: {"pillars": {"q": {"indicators": [_indicator(weight=math.inf)]}}},
        Raises(ConfigError, ("pillars.q.indicators.0.weight", "finite", "given: inf")),
        "an indicator weight of infinity",
    ),
    Case(
        "composite_huge_indicator_weight",
        "config",
        lambda t: _config(t, _composite_yaml("weight: 1.0e+308")),
        Raises(
            ConfigError,
            (
                "composite.pillars.q.indicators.0.weight",
                "finite number greater than or equal to 0 and less than or equal to 1,000,000",
                "given: 1e+308",
            ),
        ),
        "run config: an indicator weight of 1e308 (its sums overflow to inf)",
    ),
    Case(
        "composite_huge_pillar_weight",
        "composite",
        lambda t: {"pillars": {"q": {"weight": 2e6, "indicators": [_indicator()]}}},
        Raises(
            ConfigError, ("pillars.q.weight", "less than or equal to 1,000,000", "given: 2000000")
        ),
        "a pillar weight of 2,000,000 (above the documented maximum of 1e6)",
    ),
    Case(
        "composite_power_overflow",
        "composite",
        lambda t: {"aggregation": "generalised", "p": 1e308},
        Raises(ConfigError, ("p: Input should be a finite number", "-100", "given: 1e+308")),
        "generalised mean with p: 1e308 (x ** p overflows)",
    ),
    Case(
        "config_uncertainty_concentration_inf",
        "config",
        lambda t: _config(t, "uncertainty:\n  weights: {method: dirichlet, concentration: .inf}\n"),
        Raises(
            ConfigError,
            ("uncertainty.weights.concentration", "greater than 0", "1,000,000", "given: inf"),
        ),
        "uncertainty.weights.concentration: .inf",
    ),
    Case(
        "config_uncertainty_chunk_size_huge",
        "config",
        lambda t: _config(t, "uncertainty:\n  draws: 10000000\n  chunk_size: 10000000\n"),
        Raises(
            ConfigError,
            ("uncertainty.chunk_size", "less than or equal to 100000", "given: 10000000"),
        ),
        "uncertainty.chunk_size: 10,000,000 (every draw in memory at once)",
    ),
    Case(
        "config_gate_threshold_spread_huge",
        "config",
        lambda t: _config(t, "uncertainty:\n  gate_threshold_spread: 1.0e+308\n"),
        Raises(
            ConfigError,
            ("uncertainty.gate_threshold_spread", "finite number", "1,000,000", "given: 1e+308"),
        ),
        "uncertainty.gate_threshold_spread: 1e308",
    ),
    Case(
        "config_max_age_inf",
        "config",
        lambda t: _config(t, "ratings:\n  max_age_years: .inf\n"),
        Raises(ConfigError, ("ratings.max_age_years", "less than or equal to 200", "given: inf")),
        "ratings.max_age_years: .inf",
    ),
    Case(
        "config_power_odds_ratio_huge",
        "config",
        lambda t: _config(t, "effect:\n  power:\n    odds_ratios: [1, 1.0e+308]\n"),
        Raises(
            ConfigError,
            ("effect.power.odds_ratios", "finite numbers above 0 and at most 1000", "1e+308"),
        ),
        "effect.power.odds_ratios with 1e308",
    ),
    Case(
        "composite_negative_weight",
        "composite",
        lambda t: {"pillars": {"q": {"indicators": [_indicator(weight=-1)]}}},
        Raises(ConfigError, ("pillars.q.indicators.0.weight", "greater than or equal to 0")),
        "an indicator weight of -1",
    ),
    Case(
        "composite_all_zero_indicator_weights",
        "composite",
        lambda t: {
            "pillars": {"q": {"indicators": [_indicator(weight=0), _indicator(name="b", weight=0)]}}
        },
        Raises(ConfigError, ("pillars.q.indicators", "all indicator weights are zero")),
        "every indicator weight of a pillar 0",
    ),
    Case(
        "composite_all_zero_pillar_weights",
        "composite",
        lambda t: {"pillars": {"q": {"weight": 0, "indicators": [_indicator()]}}},
        Raises(ConfigError, ("pillars", "all pillar weights are zero")),
        "every pillar weight 0",
    ),
    Case(
        "composite_unknown_aggregation",
        "composite",
        lambda t: {"aggregation": "median"},
        Raises(ConfigError, ("aggregation", "unknown aggregation 'median'", "allowed: arithmetic")),
        "aggregation: median",
    ),
    Case(
        "composite_unknown_normaliser",
        "composite",
        lambda t: {"pillars": {"q": {"indicators": [_indicator(normalise="softmax")]}}},
        Raises(
            ConfigError,
            ("pillars.q.indicators.0.normalise", "unknown normaliser 'softmax'", "minmax"),
        ),
        "normalise: softmax",
    ),
    Case(
        "cli_validate_geometric_with_minmax_from_0",
        "cli",
        lambda t: ["validate", str(_config(t, "composite:\n  aggregation: geometric\n"))],
        Exits(
            2,
            (
                "composite.pillars.quality.indicators.0.normalise",
                "geometric aggregation needs positive normalised values",
                "normalise_range: [1, 100]",
            ),
        ),
        "ics-model validate: geometric mean over minmax onto [0, 100] (ics-model run fails "
        "on any data)",
    ),
    Case(
        "config_uncertainty_zscore_with_geometric",
        "config",
        lambda t: _config(
            t,
            "composite:\n  aggregation: geometric\n  normalise_range: [1, 100]\n"
            "uncertainty:\n  normalisation: [minmax, zscore]\n",
        ),
        Raises(
            ConfigError,
            (
                "uncertainty.normalisation.1",
                "composite.aggregation = 'geometric'",
                "zscore gives negative values",
            ),
        ),
        "uncertainty draws zscore under the composite's geometric mean (the run fails)",
    ),
    Case(
        "composite_missing_indicator",
        "cli",
        lambda t: ["validate", str(_config(t, _composite_yaml(source="metric:no_such_metric")))],
        Exits(
            2,
            (
                "composite.pillars.q.indicators.0.source",
                "unknown metric 'no_such_metric'",
                "metrics available:",
            ),
        ),
        "ics-model validate: a composite indicator from a metric that does not exist",
    ),
    # ---------------------------------------------------------------- outputs: where commands write
    Case(
        "cli_run_out_empty",
        "cli",
        lambda t: _in_here(t, "run", str(_config(t, FAST)), "--out", "", own=("ics_view.csv",)),
        Exits(
            2,
            (
                "--out '.' is the current folder",
                "replace files of the same name",
                "--allow-current-folder",
            ),
            "nothing written; the user's ics_view.csv untouched",
            _check_here_untouched("ics_view.csv"),
        ),
        'ics-model run --out "" (typer reads it as ".", the current folder)',
    ),
    Case(
        "cli_rules_check_out_empty",
        "cli",
        lambda t: _in_here(t, "rules", "check", "--out", "", own=("rules_check_summary.csv",)),
        Exits(
            2,
            ("--out '.' is the current folder", "--allow-current-folder"),
            "the user's rules_check_summary.csv untouched",
            _check_here_untouched("rules_check_summary.csv"),
        ),
        'ics-model rules check --out ""',
    ),
    Case(
        "cli_rules_check_out_dot_with_flag",
        "cli",
        lambda t: _in_here(
            t,
            "rules",
            "check",
            "--out",
            ".",
            "--allow-current-folder",
            own=("rules_check_summary.csv",),
        ),
        Exits(0, (), "writes into the current folder, as asked", _check_written_here),
        "ics-model rules check --out . --allow-current-folder",
    ),
    Case(
        "cli_uncertainty_out_above_current",
        "cli",
        lambda t: _in_here(t, "uncertainty", str(_config(t, "")), "--out", str(t)),
        Exits(2, ("is a folder above the current one", "--allow-current-folder")),
        "ics-model uncertainty --out the parent of the current folder",
    ),
    Case(
        "cli_compare_out_home",
        "cli",
        lambda t: InFolder(
            [
                "compare",
                "configs/default.yaml",
                "configs/quality_only.yaml",
                "--out",
                str(t / "home"),
            ],
            REPO,
            (("HOME", str(t / "home")),),
        ),
        Exits(2, ("is the home folder", "--allow-current-folder")),
        "ics-model compare A B --out the home folder",
    ),
    Case(
        "cli_datasets_build_out_dot",
        "cli",
        lambda t: _in_here(t, "datasets", "build", "--out", "."),
        Exits(
            2,
            ("--out '.' is the current folder", "--allow-current-folder"),
            "",
            _check_here_untouched(),
        ),
        "ics-model datasets build --out .",
    ),
    Case(
        "cli_report_out_empty",
        "cli",
        lambda t: _in_here(t, "report", "--out", ""),
        Exits(
            2, ("--out must name a file to write, got '.': a folder",), "", _check_here_untouched()
        ),
        'ics-model report --out "" (a folder, where an HTML file is meant)',
    ),
    Case(
        "cli_run_geo_folder",
        "cli",
        _geo_folder,
        Exits(2, ("--geo must name a file to write", "ics.gpkg'", "a folder")),
        "ics-model run --geo naming an existing folder",
    ),
    Case(
        "cli_rules_check_link_at_output",
        "cli",
        lambda t: _linked_output(t, "rules_check_summary.csv", "rules", "check"),
        Exits(
            0,
            (),
            "the link is replaced by the file; the file it led to is untouched",
            _check_link_replaced("rules_check_summary.csv"),
        ),
        "ics-model rules check: a link at out/rules_check_summary.csv to a user's file",
    ),
    Case(
        "cli_rules_check_nof_link_at_output",
        "cli",
        lambda t: _linked_output(t, "rules_check_nof_disagreements.csv", "rules", "check", "--nof"),
        Exits(
            0,
            (),
            "the link is replaced by the file; the file it led to is untouched",
            _check_link_replaced("rules_check_nof_disagreements.csv"),
        ),
        "ics-model rules check --nof: a link at out/rules_check_nof_disagreements.csv to a "
        "user's file",
    ),
    Case(
        "cli_rerun_removes_stale_output",
        "cli",
        _stale_run,
        Exits(0, (), "old_output.csv removed; verify passes", _check_stale_removed),
        "ics-model run into a folder whose earlier manifest lists old_output.csv, "
        "which this run does not write",
    ),
    Case(
        "cli_rerun_keeps_what_is_not_its_own",
        "cli",
        _foreign_run,
        Exits(
            0,
            (),
            "only link.csv removed (as a link; its target untouched); edited.csv kept, and verify "
            "fails naming it",
            _check_foreign_kept,
        ),
        "ics-model run: the earlier manifest lists ../victim.txt, an absolute path, sub/x.csv, "
        "edited.csv (changed since) and link.csv (a link out)",
    ),
    Case(
        "cli_verify_extra_file",
        "cli",
        lambda t: _verify_folder(t, None, "b.csv"),
        Exits(
            1,
            ("1 file(s) not part of this run", "b.csv: not part of this run (not in the manifest)"),
        ),
        "ics-model verify: a file the manifest does not list (e.g. an earlier run's output)",
    ),
    Case(
        "cli_verify_other_commands_files",
        "cli",
        lambda t: _verify_folder(t, None, "report.html", "uncertainty.csv"),
        Exits(0, ("verified", "not checked: report.html, uncertainty.csv")),
        "ics-model verify: report.html and uncertainty.csv beside the run's outputs",
    ),
    Case(
        "cli_verify_manifest_climbs_out",
        "cli",
        lambda t: _verify_folder(t, {"../secret.txt": _sha(_text(t, "secret.txt", MINE))}),
        Exits(1, ("../secret.txt: not a file of this folder (refused, not read)",)),
        "ics-model verify: the manifest lists ../secret.txt",
    ),
    Case(
        "cli_verify_manifest_absolute_path",
        "cli",
        lambda t: _verify_folder(t, {str(_text(t, "secret.txt", MINE)): "0" * 64}),
        Exits(1, ("secret.txt: not a file of this folder (refused, not read)",)),
        "ics-model verify: the manifest lists an absolute path",
    ),
    Case(
        "cli_verify_manifest_sub_folder_path",
        "cli",
        lambda t: _verify_folder(t, {"sub/x.csv": "0" * 64}),
        Exits(1, ("sub/x.csv: not a file of this folder (refused, not read)",)),
        "ics-model verify: the manifest lists sub/x.csv",
    ),
    Case(
        "cli_verify_manifest_link_out",
        "cli",
        _verify_with_link_out,
        Exits(1, ("link.csv: a link leading out of the folder (refused, not read)",)),
        "ics-model verify: the manifest lists link.csv, a link to a file outside the folder",
    ),
    Case(
        "cli_verify_manifest_not_utf8",
        "cli",
        _verify_not_utf8,
        Exits(1, ("manifest.json is not UTF-8 text",)),
        "ics-model verify: manifest.json holding a byte that is not UTF-8",
    ),
    # ---------------------------------------------------------------- command line
    Case(
        "cli_unknown_ods_code",
        "cli",
        lambda t: _trust_file_run(t, GOOD, "RZZ,Overall,Overall,Good,01/02/2018,Provider"),
        Exits(0, (), "RZZ in unmapped.csv: 'not in ODS etr'", _check_unmapped_rzz),
        "user trust file with trust code RZZ (not in ODS)",
    ),
    Case(
        "cli_ics_without_rated_providers",
        "cli",
        lambda t: _trust_file_run(t, GOOD),
        Exits(
            0,
            (),
            "every ICB in ics_view; zero counts, null shares",
            _check_icb_without_rated_trusts,
        ),
        "user trust file rating only RJ1 (South East London)",
    ),
    Case(
        "cli_header_only_trust_file",
        "cli",
        lambda t: _trust_file_run(t),
        Exits(0, (), "runs: every trust unrated, 0 input rows", _check_header_only_run),
        "user trust file with the header only",
    ),
    Case(
        "cli_lenient_quarantine",
        "cli",
        lambda t: _trust_file_run(t, GOOD, GOOD, SAFE, validation="lenient"),
        Exits(0, (), "quarantine.csv: both rows, 'duplicate key'", _check_lenient_quarantine),
        "lenient run over a duplicated key",
    ),
    Case(
        "cli_output_under_regular_file",
        "cli",
        lambda t: [
            "run",
            str(_config(t, FAST)),
            "--out",
            str(_text(t, "blocker", "x") / "out"),
        ],
        Exits(1, ("cannot write outputs to", "blocker")),
        "--out below a regular file",
    ),
    Case(
        "cli_missing_input_file",
        "cli",
        lambda t: _run(t, f"data:\n  gp_practices: {t / 'absent.csv'}\n{FAST}"),
        Exits(2, ("absent.csv", "no such file")),
        "data.gp_practices names a missing file",
    ),
    Case(
        "cli_truncated_xlsx",
        "cli",
        lambda t: _run(
            t,
            f"data:\n  trust_ratings: "
            f"{_half(_xlsx(t, 'whole.xlsx', FX.PROVIDERS_2018_ROWS), 'half.xlsx')}\n{FAST}",
        ),
        Exits(2, ("half.xlsx", "not a readable xlsx workbook")),
        "data.trust_ratings is half an XLSX file",
    ),
    Case(
        "cli_utf16_cut_odd_byte",
        "cli",
        lambda t: _run(t, f"data:\n  trust_ratings: {_utf16_cut(t)}\n{FAST}"),
        Exits(2, ("utf16_cut.csv",)),
        "data.trust_ratings is a UTF-16 CSV cut at an odd byte",
    ),
    Case(
        "cli_bad_user_indicators",
        "cli",
        lambda t: _run(
            t,
            f"metrics:\n  sii_repetitions: 1000\n  user_indicators: {t / 'ui.csv'}\n",
            ("ui.csv", f"{UI_HEADER}\nprovider,RJ1,collab_member,yes\n"),
        ),
        Exits(2, ("ui.csv", "row 2", "'yes'", "not a number")),
        "metrics.user_indicators with a non-numeric value",
    ),
    Case(
        "cli_yaml_syntax_error",
        "cli",
        lambda t: _run(t, "data:\n  trust_ratings: [unclosed\n"),
        Exits(2, ("is not valid YAML",)),
        "run config with a YAML syntax error",
    ),
    Case(
        "cli_unknown_config_key",
        "cli",
        lambda t: ["validate", str(_config(t, "mapping:\n  inherit: true\n"))],
        Exits(2, ("mapping.inherit: unknown key",)),
        "ics-model validate, config with mapping.inherit",
    ),
    Case(
        "cli_validate_duplicate_key",
        "cli",
        lambda t: ["validate", str(_config(t, "nof:\n  draws: 500\n  draws: 5000\n"))],
        Exits(2, ("nof.draws: duplicate key", "line 3")),
        "ics-model validate, nof.draws given twice",
    ),
    Case(
        "cli_rules_check_invalid_rule_set",
        "cli",
        lambda t: [
            "rules",
            "check",
            "--rule-set",
            str(_config(t, "kind: principles\nname: m\none_inadequate: Bad\n", "m.yaml")),
        ],
        Exits(2, ("one_inadequate", "given: 'Bad'")),
        "ics-model rules check --rule-set with an invalid rating",
    ),
    Case(
        "cli_rules_check_unknown_rule_set",
        "cli",
        lambda t: ["rules", "check", "--rule-set", "bogus"],
        Exits(2, ("unknown rule set 'bogus'", "available: cqc_principles")),
        "ics-model rules check --rule-set bogus",
    ),
    Case(
        "cli_location_in_two_icbs",
        "cli",
        _locations_run,
        Exits(
            0,
            (),
            "the location goes to unmapped.csv naming both codes",
            _check_location_placed_once,
        ),
        "Locations file: one location with two sub-ICB codes (two ICBs) on different rows",
    ),
    Case(
        "cli_unknown_ics_rule_set",
        "cli",
        lambda t: _run(t, "rules:\n  ics_rule_sets: [bogus]\n" + FAST),
        Exits(2, ("rules.ics_rule_sets", "bogus", "ics_shares")),
        "rules.ics_rule_sets: [bogus]",
    ),
    Case(
        "cli_validate_unknown_ics_rule_set",
        "cli",
        lambda t: ["validate", str(_config(t, "rules:\n  ics_rule_sets: [bogus]\n"))],
        Exits(2, ("rules.ics_rule_sets", "bogus")),
        "ics-model validate, rules.ics_rule_sets: [bogus]",
    ),
    Case(
        "cli_ics_rule_set_of_wrong_kind",
        "cli",
        lambda t: _run(t, "rules:\n  ics_rule_sets: [cqc_principles]\n" + FAST),
        Exits(2, ("rules.ics_rule_sets", "cqc_principles", "share_thresholds")),
        "rules.ics_rule_sets: [cqc_principles] (a provider-level rule set)",
    ),
    Case(
        "cli_unknown_combine_predecessors",
        "cli",
        lambda t: _run(t, "mapping:\n  combine_predecessors: bogus\n" + FAST),
        Exits(2, ("mapping.combine_predecessors", "bogus")),
        "mapping.combine_predecessors: bogus",
    ),
    Case(
        "cli_unknown_provider_rule_set",
        "cli",
        lambda t: ["validate", str(_config(t, "rules:\n  provider_rule_set: bogus\n"))],
        Exits(2, ("rules.provider_rule_set", "bogus")),
        "ics-model validate, rules.provider_rule_set: bogus",
    ),
    Case(
        "cli_validate_scenario_listed_twice",
        "cli",
        lambda t: [
            "validate",
            str(_scenarios_config(t, "trust_home_share_overall", "trust_home_share_overall")),
        ],
        Exits(
            2,
            (
                "scenarios.1: writes scenario_trust_home_share_overall.csv, as scenarios.0",
                "overwrite each other",
            ),
        ),
        "ics-model validate: the same scenario listed twice",
    ),
    Case(
        "config_scenario_outputs_collide",
        "config",
        lambda t: _scenarios_config(
            t,
            "trust_home_share_overall",
            str(_scenario_named(t, "trust_home_share_overall_sweep")),
        ),
        Raises(
            ConfigError,
            ("scenarios.1: writes scenario_trust_home_share_overall_sweep.csv", "scenarios.0"),
        ),
        "a scenario named trust_home_share_overall_sweep beside trust_home_share_overall "
        "(its table is the other's sweep file)",
    ),
    Case(
        "config_scenario_name_with_path",
        "config",
        lambda t: _scenarios_config(t, str(_scenario_named(t, "../../elsewhere"))),
        Raises(
            ConfigError,
            ("scenarios.0", "must not hold a path separator", "given: '../../elsewhere'"),
        ),
        "a scenario named ../../elsewhere (its outputs would land outside --out)",
    ),
    Case(
        "cli_uncertainty_draws_too_many",
        "cli",
        lambda t: [
            "uncertainty",
            str(_config(t, "")),
            "--draws",
            "1000000000000",
            "--out",
            str(t / "out"),
        ],
        Exits(
            2,
            (
                "--draws",
                "uncertainty.draws",
                "less than or equal to 10000000",
                "given: 1000000000000",
            ),
        ),
        "ics-model uncertainty --draws 1000000000000 (no MemoryError: the config's bound)",
    ),
    Case(
        "cli_run_workers_too_many",
        "cli",
        lambda t: ["run", str(_config(t, FAST)), "--workers", "100000", "--out", str(t / "out")],
        Exits(2, ("--workers must be at most", "(local processes), got 100000")),
        "ics-model run --workers 100000 (would start that many processes)",
    ),
    Case(
        "cli_validate_huge_weight",
        "cli",
        lambda t: ["validate", str(_config(t, _composite_yaml("weight: .inf")))],
        Exits(2, ("composite.pillars.q.indicators.0.weight", "1,000,000", "given: inf")),
        "ics-model validate: an indicator weight of .inf",
    ),
    Case(
        "cli_direction_for_unknown_metric",
        "cli",
        lambda t: _run(
            t,
            "metrics:\n  sii_repetitions: 1000\n  directions:\n"
            "    self_containmnet: lower_is_better\n",
        ),
        Exits(2, ("metrics.directions", "self_containmnet")),
        "metrics.directions names a metric that does not exist (a typo)",
    ),
]

# ============================================================================ running a case


def _check_loaded(loaded: Any, kind: Kind) -> None:
    """Whatever a loader returns satisfies its contract and conserves rows."""
    if not isinstance(loaded, Loaded) or kind.contract is None:
        return
    validate(loaded.frame, kind.contract)
    superseded = 0 if loaded.superseded is None else loaded.superseded.height
    assert loaded.n_input_rows == loaded.frame.height + loaded.quarantine.height + superseded


def _run_case(case: Case, tmp_path: Path) -> None:
    kind = KINDS[case.kind]
    value = case.make_input(tmp_path)
    expect = case.expect
    if isinstance(expect, Raises):
        with pytest.raises(expect.error) as info:
            kind.run(value, "strict")
        message = str(info.value)
        for fragment in expect.fragments:
            assert fragment in message, f"{fragment!r} not in {message!r}"
        if expect.check is not None:
            assert expect.check(info.value) is not False
    elif isinstance(expect, Returns):
        result = kind.run(value, "strict")
        _check_loaded(result, kind)
        expect.check(result)
    elif isinstance(expect, Quarantines):
        loaded = kind.run(value, "lenient")
        _check_loaded(loaded, kind)
        q = loaded.quarantine.sort("source_row")
        assert q["source_row"].to_list() == list(expect.rows)
        assert all(expect.reason in r for r in q["reason"]), q["reason"].to_list()
        assert loaded.frame.height == expect.kept
    else:
        result = kind.run(value, "strict")
        output = result.output
        assert "Traceback" not in output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        assert result.exit_code == expect.code, output
        if expect.code:
            assert [ln.startswith("error:") for ln in output.splitlines()].count(True) == 1
        for fragment in expect.fragments:
            assert fragment in output, f"{fragment!r} not in {output!r}"
        if expect.check is not None:
            expect.check(tmp_path)


def _param(case: Case) -> Any:
    marks: list[Any] = []
    if case.bug:
        marks.append(pytest.mark.xfail(strict=True, reason=f"BUG: {case.bug}"))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    _run_case(case, tmp_path)


# ============================================================================ the docs page


def _behaviour(case: Case) -> tuple[str, str]:
    """(expected behaviour, message fragments) as the docs page shows them."""
    e = case.expect
    if isinstance(e, Raises):
        return f"`{e.error.__name__}`", " · ".join(f"`{f}`" for f in e.fragments)
    if isinstance(e, Returns):
        return e.behaviour, ""
    if isinstance(e, Quarantines):
        rows = ", ".join(str(r) for r in e.rows)
        return f"lenient: row(s) {rows} quarantined, {e.kept} kept", f"`{e.reason}`"
    text = f"exit {e.code}" + (f"; {e.behaviour}" if e.behaviour else "")
    return text, " · ".join(f"`{f}`" for f in e.fragments)


def _status(case: Case) -> str:
    if case.bug:
        return f"**bug** (xfail): now {case.now}"
    return "ok"


def catalogue_markdown() -> str:
    """The catalogue as the Markdown table in docs/BAD_INPUTS.md."""
    lines = [
        "| id | goes to | input | expected behaviour | message fragment(s) | status |",
        "|---|---|---|---|---|---|",
    ]
    for case in CASES:
        behaviour, fragments = _behaviour(case)
        cells = [f"`{case.id}`", KINDS[case.kind].target, case.input, behaviour, fragments]
        cells.append(_status(case))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def test_catalogue_is_large_and_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 30


def test_docs_page_lists_every_case():
    page = DOCS.read_text(encoding="utf-8")
    in_page = set()
    for line in page.splitlines():
        if line.startswith("| `"):
            in_page.add(line.split("`")[1])
    assert in_page == {c.id for c in CASES}


def test_docs_table_is_current():
    assert catalogue_markdown() in DOCS.read_text(encoding="utf-8")
