"""The benchmark harness runs case 6 (CQC's Locations sheet as ODS) on a small sheet.

Timings are printed by the benchmark, never asserted: this checks that the case runs
end to end (``ics-model run`` in a fresh process, the floor, the pandas + odfpy
reference) and that its counts agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_case_6_runs_on_a_small_sheet(tmp_path):
    out = tmp_path / "results.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "run.py"), "--case", "6", "--quick"]
    cmd += ["--size", "600", "--no-memory", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (rec,) = json.loads(out.read_text(encoding="utf-8"))["cases"]
    assert (rec["case"], rec["status"]) == ("6", "ok")
    assert rec["median_s"] > 0 and rec["reference_median_s"] > 0
    assert "600-row Locations sheet" in rec["note"]
    assert "counts agree" in rec["note"], rec["note"]
    sides = {s["name"]: s for s in rec["sides"]}
    assert set(sides) == {"floor", "floor_process", "ours_in_process", "reference_read"}
    assert all(s["median_s"] > 0 for s in sides.values())
    assert "not timed in --quick: cli_default, cli_default_with_sheet" in rec["note"]
    assert "side by side, case 6" in done.stdout
    assert not (REPO / "benchmarks" / "data" / "locations_synthetic_600").exists()


def test_case_8_the_report_command_runs_and_equals_the_in_process_page(tmp_path):
    out = tmp_path / "results.json"
    cmd = [sys.executable, str(REPO / "benchmarks" / "run.py"), "--case", "8", "--quick"]
    cmd += ["--no-memory", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (rec,) = json.loads(out.read_text(encoding="utf-8"))["cases"]
    assert (rec["case"], rec["status"]) == ("8", "ok") and rec["median_s"] > 0
    assert "the command's page equals the in-process page" in rec["note"], rec["note"]
    sides = {s["name"] for s in rec["sides"]}
    assert sides == {"floor_serial", "floor_shared", "imports", "cli_one_process"}
