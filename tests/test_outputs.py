"""Outputs: hashes in the manifest, verify, atomic writes, determinism, inputs untouched."""

import json

import pytest
from typer.testing import CliRunner

from ics_model.cli import app
from ics_model.config import RunConfig
from ics_model.data.sources import SOURCES, sha256_file
from ics_model.outputs import OutputError, verify_outputs, write_outputs
from ics_model.pipeline import run

CFG = RunConfig.model_validate({"metrics": {"sii_repetitions": 2000}})


@pytest.fixture(scope="module")
def result():
    return run(CFG)


def test_manifest_hashes_every_output_and_verify_passes(result, tmp_path):
    write_outputs(result, tmp_path)
    man = json.loads((tmp_path / "manifest.json").read_text())
    files = {p.name for p in tmp_path.iterdir()} - {"manifest.json"}
    assert set(man["outputs"]) == files
    for name, digest in man["outputs"].items():
        assert sha256_file(tmp_path / name) == digest
    assert verify_outputs(tmp_path) == []
    r = CliRunner().invoke(app, ["verify", str(tmp_path)])
    assert r.exit_code == 0 and "verified" in r.output


def test_verify_reports_changed_and_missing_files(result, tmp_path):
    write_outputs(result, tmp_path)
    (tmp_path / "unmapped.csv").write_text("tampered\n")
    (tmp_path / "conservation.csv").unlink()
    assert verify_outputs(tmp_path) == [
        "conservation.csv: missing",
        "unmapped.csv: changed (sha256 differs from the manifest)",
    ]
    r = CliRunner().invoke(app, ["verify", str(tmp_path)])
    assert r.exit_code == 1 and "2 output(s) differ" in r.output
    assert "Traceback" not in r.output
    with pytest.raises(OutputError, match="cannot read"):
        verify_outputs(tmp_path / "nowhere")


def test_a_failure_while_writing_leaves_previous_outputs_intact(result, tmp_path):
    write_outputs(result, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def boom(tmp):
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left"):
        write_outputs(result, tmp_path, _before_move=boom)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # nothing replaced, no temporary folder left behind


def test_same_config_same_data_gives_byte_identical_outputs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_outputs(run(CFG), a)
    write_outputs(run(CFG), b)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        if name == "manifest.json":
            ma, mb = (json.loads((d / name).read_text()) for d in (a, b))
            ma.pop("created_utc")
            mb.pop("created_utc")
            assert ma == mb
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_inputs_are_never_modified(tmp_path):
    before = {n: sha256_file(s.path) for n, s in SOURCES.items()}
    write_outputs(run(CFG), tmp_path)
    assert {n: sha256_file(s.path) for n, s in SOURCES.items()} == before
