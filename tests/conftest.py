"""Shared fixtures: small CQC files with the real headers, generated per test session."""

import importlib.util
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests explore the same examples on every run (reproducible CI), with no
# per-example deadline (timings vary between machines; tests never assert on wall time).
settings.register_profile("ics_model", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("ics_model")

ROOT = Path(__file__).resolve().parents[1]


def load_fixture_module():
    path = ROOT / "tests" / "fixtures" / "make_cqc_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_cqc_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cqc_fixtures(tmp_path_factory) -> dict[str, Path]:
    """name -> path of every generated CQC fixture file (CSV, XLSX, ODS)."""
    return load_fixture_module().write_fixtures(tmp_path_factory.mktemp("cqc_fixtures"))


# ------------------------------------------------------------------ the HTML report

REPORT_CFG = {"metrics": {"sii_repetitions": 2000}}


@pytest.fixture(scope="session")
def report_result():
    """The default run (fewer SII repetitions) that the report tests write and read."""
    from ics_model.config import RunConfig
    from ics_model.pipeline import run

    return run(RunConfig.model_validate(REPORT_CFG))


@pytest.fixture(scope="session")
def report_html(report_result, tmp_path_factory):
    from ics_model.report import write_report

    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(report_result, path)
    return path


@dataclass(frozen=True)
class Chromium:
    """Headless Chromium: ``dom(html, tmp)`` loads a page and returns its DOM after load."""

    exe: str
    flags: tuple[str, ...] = (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    )

    def dom(self, page: Path, profile: Path, budget_ms: int = 10000):
        return subprocess.run(
            [
                self.exe,
                *self.flags,
                f"--user-data-dir={profile}",
                "--enable-logging=stderr",
                "--v=0",
                f"--virtual-time-budget={budget_ms}",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium")
        pytest.skip("chromium not installed (CI installs it)")
    return Chromium(exe)


@pytest.fixture(scope="session")
def executed_notebooks() -> dict[str, Path]:
    """The three notebooks executed once per session, kept in ``build/notebooks/``.

    The documentation site renders these executed copies (CI builds it after the tests),
    so the notebook pages show the charts of the same code and data.
    """
    import nbformat
    from nbclient import NotebookClient

    out = ROOT / "build" / "notebooks"
    out.mkdir(parents=True, exist_ok=True)
    done = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute()  # raises CellExecutionError with the cell and traceback
        target = out / path.name
        nbformat.write(nb, target)
        done[path.name] = target
    return done
