"""The embedded data is found the same way from a source tree and from a built wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ics_model.data import bundled
from ics_model.data.sources import SOURCES

REPO = Path(__file__).resolve().parents[2]


def test_source_tree_finds_datasets_and_configs():
    assert bundled.datasets_dir() == REPO / "datasets"
    assert bundled.configs_dir() == REPO / "configs"
    assert bundled.raw_path("ods_trusts", "succ.csv").is_file()


def test_override_must_be_a_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("ICS_MODEL_DATASETS", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="ICS_MODEL_DATASETS"):
        bundled._first_existing("ICS_MODEL_DATASETS", "_datasets", "datasets")


@pytest.mark.slow
def test_wheel_carries_the_data_and_runs_from_it(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheel_dir.glob("ics_model-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for s in SOURCES.values():
            assert "ics_model/_datasets/raw/" + "/".join(s.relpath) in names, s.name
        assert "ics_model/_datasets/processed/icb_codes.parquet" in names
        assert "ics_model/_configs/default.yaml" in names
        zf.extractall(tmp_path / "site")
    code = (
        "import ics_model.data.bundled as b, ics_model.pipeline as p;"
        "print(b.datasets_dir());"
        "r = p.run();"
        "print(r.views.ics_view['icb_code'].n_unique())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # not the repository: only the extracted wheel is importable
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        text=True,
    )
    lines = out.stdout.split()
    assert lines[0] == str(tmp_path / "site" / "ics_model" / "_datasets")
    assert lines[1] == "42"
