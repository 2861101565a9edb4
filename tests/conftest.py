"""Shared fixtures: small CQC files with the real headers, generated per test session."""

import importlib.util
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
