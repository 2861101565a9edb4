"""Outputs: hashes in the manifest, verify, atomic writes, determinism, inputs untouched."""

import json

import polars as pl
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


def _manifest(folder, outputs) -> None:
    (folder / "manifest.json").write_text(json.dumps({"outputs": outputs}), encoding="utf-8")


def test_verify_reads_only_files_of_its_folder(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not an output\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ok.csv").write_text("a\n1\n")
    (out / "link.csv").symlink_to(secret)
    digest = sha256_file(out / "ok.csv")
    _manifest(
        out,
        {
            "ok.csv": digest,
            "../secret.txt": sha256_file(secret),
            str(secret): sha256_file(secret),
            "sub/x.csv": "0" * 64,
            "link.csv": sha256_file(secret),
            "x" * 500: "0" * 64,
        },
    )
    problems = verify_outputs(out)
    assert f"{secret}: not a file of this folder (refused, not read)" in problems
    assert "../secret.txt: not a file of this folder (refused, not read)" in problems
    assert "sub/x.csv: not a file of this folder (refused, not read)" in problems
    assert "link.csv: a link leading out of the folder (refused, not read)" in problems
    # a name the file system refuses is reported, cut at 200 characters
    assert f"{'x' * 200}...: cannot be read (File name too long)" in problems
    assert not any(p.startswith("ok.csv") for p in problems) and len(problems) == 5
    r = CliRunner().invoke(app, ["verify", str(out)])
    assert r.exit_code == 1 and "5 output(s) differ" in r.output and "Traceback" not in r.output


def test_verify_refuses_a_manifest_that_is_not_utf8_or_not_an_object(tmp_path):
    (tmp_path / "manifest.json").write_bytes(b'{"outputs": {"\xff": "0"}}')
    with pytest.raises(OutputError, match="is not UTF-8 text"):
        verify_outputs(tmp_path)
    (tmp_path / "manifest.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(OutputError, match="lists no output hashes"):
        verify_outputs(tmp_path)
    r = CliRunner().invoke(app, ["verify", str(tmp_path)])
    assert r.exit_code == 1 and "lists no output hashes" in r.output


_KILLED_WRITER = """
import os, pickle, signal, sys
from ics_model.outputs import write_outputs

def die(tmp):  # every output written into the temporary folder, none moved yet
    os.kill(os.getpid(), signal.SIGKILL)

with open(sys.argv[1], "rb") as fh:
    result = pickle.load(fh)
write_outputs(result, sys.argv[2], _before_move=die)
"""


def test_a_run_killed_while_writing_is_cleaned_up_by_the_next(result, tmp_path):
    import pickle
    import signal
    import subprocess
    import sys

    out = tmp_path / "out"
    write_outputs(result, out)
    before = verify_outputs(out)
    stored = tmp_path / "result.pkl"
    stored.write_bytes(pickle.dumps(result))
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(stored), str(out)],
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL
    left = [p for p in out.iterdir() if p.name.startswith(".ics_model-")]
    assert len(left) == 1 and (left[0] / "manifest.json").is_file()  # what the kill left
    assert before == [] and verify_outputs(out) == []  # the earlier outputs are intact
    write_outputs(result, out)  # the next run
    assert [p for p in out.iterdir() if p.name.startswith(".ics_model-")] == []
    assert verify_outputs(out) == []


def test_a_live_runs_temporary_folder_is_never_removed(tmp_path):
    import os

    from ics_model.outputs import _HOST as host
    from ics_model.outputs import remove_abandoned

    live = tmp_path / f".ics_model-{host}-{os.getpid()}-abc"
    other_host = tmp_path / ".ics_model-elsewhere-1-abc"
    old_style = tmp_path / ".ics_model-abc"
    for d in (live, other_host, old_style):
        d.mkdir()
    assert remove_abandoned(tmp_path) == []
    assert live.is_dir() and other_host.is_dir() and old_style.is_dir()


def test_command_tables_and_the_report_replace_links_never_follow_them(tmp_path):
    from ics_model.outputs import write_fresh, write_tables

    victim = tmp_path / "victim.txt"
    victim.write_text("a user's own file\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "uncertainty.csv").symlink_to(victim)
    (out / "report.html").symlink_to(victim)
    frame = pl.DataFrame({"a": [1, 2]})
    write_tables({"uncertainty.csv": frame, "summary.json": {"k": 1}}, out)
    write_fresh(out / "report.html", lambda p: p.write_text("<html></html>", encoding="utf-8"))
    assert victim.read_text() == "a user's own file\n"  # never written through the link
    assert not (out / "uncertainty.csv").is_symlink()
    assert pl.read_csv(out / "uncertainty.csv").equals(frame)
    assert (out / "report.html").read_text() == "<html></html>"
    names = sorted(p.name for p in out.iterdir())
    assert names == ["report.html", "summary.json", "uncertainty.csv"]  # no temporary left


def test_a_failed_fresh_write_leaves_neither_target_nor_temporary_file(tmp_path):
    from ics_model.outputs import write_fresh

    def fail(path):
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_fresh(tmp_path / "x.csv", fail)
    assert list(tmp_path.iterdir()) == []


def test_a_rerun_removes_the_earlier_runs_outputs_it_does_not_write(result, tmp_path):
    write_outputs(result, tmp_path)
    man = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "old_view.csv").write_text("an output of the earlier run\n")
    (tmp_path / "old_edited.csv").write_text("edited by the user since\n")
    man["outputs"]["old_view.csv"] = sha256_file(tmp_path / "old_view.csv")
    man["outputs"]["old_edited.csv"] = "0" * 64  # what the earlier run wrote differs
    (tmp_path / "manifest.json").write_text(json.dumps(man))
    assert verify_outputs(tmp_path) == [
        "old_edited.csv: changed (sha256 differs from the manifest)"
    ]
    write_outputs(result, tmp_path)  # the next run does not write either file
    assert not (tmp_path / "old_view.csv").exists()
    assert (tmp_path / "old_edited.csv").read_text() == "edited by the user since\n"  # kept
    assert verify_outputs(tmp_path) == [
        "old_edited.csv: not part of this run (not in the manifest)"
    ]
    (tmp_path / "old_edited.csv").unlink()
    assert verify_outputs(tmp_path) == []


def test_remove_stale_removes_only_unchanged_plain_files_and_links_as_links(tmp_path):
    from ics_model.output_folder import remove_stale

    victim = tmp_path / "victim.txt"
    victim.write_text("a user's own file\n")
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "dir").mkdir()
    for name in ("old.csv", "new.csv", "sub/x.csv", ".hidden", "manifest.json"):
        (out / name).write_text(name)
    (out / "link.csv").symlink_to(victim)
    earlier = {
        name: sha256_file(out / name) for name in ("old.csv", "new.csv", "sub/x.csv", ".hidden")
    }
    earlier |= {
        "link.csv": sha256_file(victim),
        "manifest.json": sha256_file(out / "manifest.json"),
        "dir": "0" * 64,
        "gone.csv": "0" * 64,
        "../victim.txt": sha256_file(victim),
        str(victim): sha256_file(victim),
        "x" * 500: "0" * 64,
    }
    removed = remove_stale(out, earlier, keep={"new.csv"})
    assert removed == [out / "link.csv", out / "old.csv"]
    assert victim.read_text() == "a user's own file\n"  # the link went, not its target
    left = sorted(p.name for p in out.iterdir())
    assert left == [".hidden", "dir", "manifest.json", "new.csv", "sub"]
    assert (out / "sub" / "x.csv").is_file()


def test_check_folder_names_what_is_not_part_of_the_run(tmp_path):
    from ics_model.output_folder import check_folder

    (tmp_path / "a.csv").write_text("a\n1\n")
    _manifest(tmp_path, {"a.csv": sha256_file(tmp_path / "a.csv")})
    for name in ("b.csv", "report.html", "uncertainty.csv", "ics.gpkg", "rules_check_summary.csv"):
        (tmp_path / name).write_text("x")
    for name in (".run", ".ics_model-host-1-x", "figures"):
        (tmp_path / name).mkdir()
    (tmp_path / "elsewhere.csv").symlink_to(tmp_path / "a.csv")
    found = check_folder(tmp_path)
    assert found.problems == []
    assert found.extras == ["b.csv", "elsewhere.csv", "figures/"]
    assert found.others == ["ics.gpkg", "report.html", "rules_check_summary.csv", "uncertainty.csv"]
    assert verify_outputs(tmp_path) == [
        "b.csv: not part of this run (not in the manifest)",
        "elsewhere.csv: not part of this run (not in the manifest)",
        "figures/: not part of this run (not in the manifest)",
    ]
    r = CliRunner().invoke(app, ["verify", str(tmp_path)])
    assert r.exit_code == 1 and "3 file(s) not part of this run" in r.output
    (tmp_path / "b.csv").unlink()
    (tmp_path / "elsewhere.csv").unlink()
    (tmp_path / "figures").rmdir()
    r = CliRunner().invoke(app, ["verify", str(tmp_path)])
    assert r.exit_code == 0 and "verified" in r.output
    assert (
        "not checked: ics.gpkg, report.html, rules_check_summary.csv, uncertainty.csv" in r.output
    )


def test_command_files_are_the_files_the_commands_write():
    from types import SimpleNamespace

    from ics_model.output_folder import COMMAND_FILES
    from ics_model.outputs import (
        compare_tables,
        nof_check_tables,
        rules_check_tables,
        uncertainty_tables,
    )

    frame = pl.DataFrame()
    check = SimpleNamespace(summary=frame, confusion=frame, disagreements=frame)
    unc = SimpleNamespace(per_ics=frame, draws_summary=frame, sobol=frame)
    names = set(uncertainty_tables(unc)) | set(compare_tables(frame))
    names |= set(rules_check_tables(check)) | set(nof_check_tables(check))
    assert names == COMMAND_FILES


def test_risky_output_folder_names_the_current_folder_its_parents_root_and_home(
    tmp_path, monkeypatch
):
    from ics_model.output_folder import risky_output_folder

    here = tmp_path / "a" / "b"
    here.mkdir(parents=True)
    (tmp_path / "home").mkdir()
    (tmp_path / "to_here").symlink_to(here)
    monkeypatch.chdir(here)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert risky_output_folder("") == "the current folder"
    assert risky_output_folder(".") == "the current folder"
    assert risky_output_folder(tmp_path / "to_here") == "the current folder"
    assert risky_output_folder("out/..") == "the current folder"
    assert risky_output_folder("..") == "a folder above the current one"
    assert risky_output_folder(tmp_path) == "a folder above the current one"
    assert risky_output_folder("/") == "the file system root"
    assert risky_output_folder(tmp_path / "home") == "the home folder"
    assert risky_output_folder("~") is None  # a folder named "~", not the home folder
    assert risky_output_folder("out") is None
    assert risky_output_folder(tmp_path / "a" / "c") is None


def test_rules_check_files_never_replace_a_run_output():
    """``rules check`` (with or without --nof) writes names no run output has."""
    from types import SimpleNamespace

    from ics_model.output_contracts import FRAME_OUTPUTS
    from ics_model.outputs import nof_check_tables, rules_check_tables

    frame = pl.DataFrame()
    check = SimpleNamespace(summary=frame, confusion=frame, disagreements=frame)
    run_files = {f"{name}{suffix}" for name in FRAME_OUTPUTS for suffix in (".csv", ".parquet")}
    assert not (set(rules_check_tables(check)) | set(nof_check_tables(check))) & run_files
