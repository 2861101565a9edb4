"""The code base stays lint-clean and formatted (ruff, configured in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _ruff(*args):
    exe = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(exe).exists():
        pytest.fail("ruff is not installed (it is part of the dev extra)")
    return subprocess.run([exe, *args], cwd=REPO, capture_output=True, text=True)


def test_ruff_lint_is_clean():
    r = _ruff("check", "ics_model", "tests", "benchmarks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_is_clean():
    r = _ruff("format", "--check", "ics_model", "tests", "benchmarks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_library_code_does_not_print():
    offenders = []
    for path in (REPO / "ics_model").rglob("*.py"):
        if path.name == "cli.py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("print("):
                offenders.append(f"{path.relative_to(REPO)}:{i}")
    assert offenders == []
