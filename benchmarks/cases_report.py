"""Benchmark case 8: ``ics-model report`` for the default config, as a user runs it.

The user has run ``ics-model run`` (which stores its run in ``outputs/.run/``); ours is
then ``ics-model report --out outputs/report.html`` in a fresh process: start-up and
imports, the run key (config, code and input hashes), the stored run loaded, 15 figures
drawn (6 as SVG for the ICB selector, 9 as PNG; shared with one spawned helper process),
the tables, the weight explorer and the scripts written into one HTML file.

Beside it (the side-by-side table):

- the floor: the same page built in this process from the run already in memory
  (``build_report``), figures drawn here alone, and shared with a warm helper process:
  what drawing costs without start-up, imports and loading;
- ``python -c "import ics_model.cli"`` in a fresh process: the start-up and imports;
- ``ics-model report --workers 1``: the same command drawing in one process;
- ``ics-model report --fresh``: the same command when no stored run matches (the whole
  pipeline runs first), the cost of a first report.

The check: the command's page equals the in-process page (apart from its time stamp),
and its size is reported (the ceiling is 3 MB).
"""

from __future__ import annotations

import multiprocessing
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from cases_ods import _command, _run
from run import Case, Options, Prepared, Side

from ics_model.report import build_report
from ics_model.report_pool import start_helper
from ics_model.run_store import load_run

_STAMP = re.compile(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def _setup(opts: Options) -> Prepared:
    folder = opts.workdir / "case8"
    folder.mkdir(parents=True, exist_ok=True)
    d: dict[str, Any] = {"out": folder, "pycache": folder / "pycache"}
    _run([*_command(), "run", "--out", str(folder), "-q"], d)  # stores the run (not timed)
    from ics_model.config import load_config

    d["result"] = load_run(load_config(None), folder)
    if d["result"] is None:
        raise RuntimeError(f"`ics-model run` stored no run in {folder}")
    d["pool"] = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    d["pool"].submit(start_helper).result()
    return Prepared(d, note="default config; the run stored by `ics-model run` beforehand")


def ours_cli(d: dict[str, Any]) -> dict[str, Any]:
    """``ics-model report --out <run folder>/report.html`` in a fresh process."""
    _run([*_command(), "report", "--out", str(d["out"] / "report.html"), "-q"], d)
    return d


def cli_one_process(d: dict[str, Any]) -> None:
    _run(
        [*_command(), "report", "--out", str(d["out"] / "report1.html"), "-q", "--workers", "1"], d
    )


def cli_fresh(d: dict[str, Any]) -> None:
    _run([*_command(), "report", "--out", str(d["out"] / "fresh.html"), "-q", "--fresh"], d)


def imports_only(d: dict[str, Any]) -> None:
    _run([sys.executable, "-c", "import ics_model.cli"], d)


def floor_serial(d: dict[str, Any]) -> str:
    return build_report(d["result"])


def floor_shared(d: dict[str, Any]) -> str:
    return build_report(d["result"], executor=d["pool"])


def check(ours: dict[str, Any], _ref: Any) -> str:
    path = Path(ours["out"]) / "report.html"
    page = path.read_text(encoding="utf-8")
    same = _STAMP.sub("T", page) == _STAMP.sub("T", build_report(ours["result"]))
    size = path.stat().st_size / 1e6
    return (
        f"the command's page {'equals' if same else 'DIFFERS FROM'} the in-process page "
        f"(time stamp aside); {size:.2f} MB (ceiling 3 MB)"
    )


CASES: list[Case] = [
    Case(
        number="8",
        name="report",
        title="`ics-model report` for the default config, fresh process, after `ics-model run`",
        setup=_setup,
        ours=ours_cli,
        reference=None,
        repeat=5,
        target_s=4.0,
        check=check,
        ours_label="ours: `ics-model report` (stored run reused), fresh process",
        notes=(
            "2 cores; the helper process that shares the drawing is spawned first, so its "
            "imports overlap the main process's loading",
        ),
        sides=(
            Side("floor_serial", "floor: build_report in this process, one process", floor_serial),
            Side(
                "floor_shared",
                "floor: build_report in this process, with a warm helper process",
                floor_shared,
            ),
            Side("imports", "`python -c 'import ics_model.cli'`, fresh process", imports_only),
            Side("cli_one_process", "`ics-model report --workers 1`", cli_one_process),
            Side(
                "cli_fresh",
                "`ics-model report --fresh` (the pipeline runs first)",
                cli_fresh,
                repeat=3,
                quick=False,
            ),
        ),
    ),
]
