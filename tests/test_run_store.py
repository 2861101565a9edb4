"""Stored runs: the key, saving and loading, and the CLI reusing a run for the report.

The key must change with the config, any input's bytes and the code; a stored run must
round-trip; a report from a reused run must be the report of a new run (apart from the
time it was generated); a stored run that cannot be read, or ``--fresh``, runs again.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from ics_model import run_store
from ics_model.cli import app
from ics_model.config import load_config
from ics_model.pipeline import run
from ics_model.result import Result
from ics_model.run_store import (
    KEEP,
    input_files,
    load_run,
    run_key,
    run_path,
    save_run,
    source_digest,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def cfg():
    return load_config(None)


def _stub_result(cfg) -> Result:
    """A Result that pickles quickly (the CLI tests stub the pipeline and the drawing)."""
    return Result(config=cfg, views=None, conservation=None, metrics=None, provenance=None)


def _same(a, b, where="result") -> None:
    """Assert two results are equal, field by field (frames with polars' equals)."""
    if isinstance(a, pl.DataFrame):
        assert isinstance(b, pl.DataFrame) and a.equals(b, null_equal=True), where
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, list | tuple):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, float) and a != a:  # NaN
        assert isinstance(b, float) and b != b, where
    else:
        assert a == b, where


# --------------------------------------------------------------------------- the key


def test_key_is_a_stable_sha256(cfg):
    key = run_key(cfg)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert run_key(cfg) == key
    assert run_key(load_config(None)) == key  # the same config loaded again


def test_key_changes_with_the_config(cfg):
    key = run_key(cfg)
    assert run_key(cfg.with_updates({"effect": {"seed": 1}})) != key
    assert run_key(cfg.with_updates({"uncertainty": {"draws": 999}})) != key
    assert run_key(cfg.with_updates({"name": "other"})) != key


def test_key_changes_with_the_bytes_of_a_file_the_config_names(cfg, tmp_path):
    mine = tmp_path / "ratings.csv"
    mine.write_bytes(b"Provider ID\nRJ1\n")
    scenario = tmp_path / "gate.yaml"
    scenario.write_text("name: mine\n")
    named = cfg.with_updates({"data": {"trust_ratings": str(mine)}, "scenarios": [str(scenario)]})
    assert {mine.resolve(), scenario.resolve()} <= set(input_files(named))
    key = run_key(named)
    mine.write_bytes(b"Provider ID\nRJ2\n")
    changed = run_key(named)
    assert changed != key
    scenario.write_text("name: yours\n")
    assert run_key(named) not in (key, changed)


def test_key_changes_with_the_embedded_datasets(cfg, tmp_path, monkeypatch):
    data = tmp_path / "datasets"
    (data / "raw").mkdir(parents=True)
    table = data / "raw" / "table.csv"
    table.write_text("a\n1\n")
    monkeypatch.setattr(run_store, "datasets_dir", lambda: data)
    key = run_key(cfg)
    table.write_text("a\n2\n")
    assert run_key(cfg) != key


def test_every_embedded_input_the_run_read_is_hashed(cfg):
    """The provenance of a run lists files the key covers (paths as the run read them)."""
    from ics_model.data.sources import SOURCES

    files = {str(p) for p in input_files(cfg)}
    assert {str(s.path.resolve()) for s in SOURCES.values()} <= files


def test_key_changes_with_the_code(cfg, monkeypatch):
    key = run_key(cfg)
    monkeypatch.setattr(run_store, "source_digest", lambda: "0" * 64)
    assert run_key(cfg) != key


def test_source_digest_sees_every_module(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    monkeypatch.setattr(run_store, "_PACKAGE", tmp_path)
    before = source_digest()
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    assert source_digest() != before
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    assert source_digest() == before
    (tmp_path / "c.py").write_text("")
    assert source_digest() != before


# --------------------------------------------------------------------------- save and load


def test_a_stored_run_round_trips(tmp_path):
    light = load_config(None).with_updates(
        {"uncertainty": None, "effect": {"enabled": False}, "scenarios": ()}
    )
    result = run(light)
    path = save_run(result, tmp_path)
    assert path == run_path(run_key(light), tmp_path)
    assert path.parent == tmp_path / ".run"
    assert list(path.parent.iterdir()) == [path]  # no temporary file left
    loaded = load_run(light, tmp_path)
    assert loaded is not None and loaded.config is light
    _same(loaded, result)


def test_nothing_stored_or_another_config_gives_none(cfg, tmp_path):
    assert load_run(cfg, tmp_path) is None
    save_run(_stub_result(cfg), tmp_path)
    assert load_run(cfg, tmp_path) is not None
    assert load_run(cfg.with_updates({"effect": {"seed": 1}}), tmp_path) is None


@pytest.mark.parametrize(
    "content", [b"", b"not a pickle", b"\x80\x05\x95\xff\xff\xff"], ids=["empty", "junk", "cut"]
)
def test_a_stored_run_that_cannot_be_read_gives_none_and_a_warning(cfg, tmp_path, caplog, content):
    path = run_path(run_key(cfg), tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="ics_model.run_store"):
        assert load_run(cfg, tmp_path) is None
    assert "cannot be read" in caplog.text and str(path) in caplog.text


def test_a_stored_file_of_something_else_gives_none(cfg, tmp_path, caplog):
    import pickle

    path = run_path(run_key(cfg), tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps({"key": "other", "result": None}))
    with caplog.at_level(logging.WARNING, logger="ics_model.run_store"):
        assert load_run(cfg, tmp_path) is None
    assert "not the run of this config" in caplog.text


def test_only_the_newest_runs_are_kept(cfg, tmp_path):
    import os

    result = _stub_result(cfg)
    paths = []
    for i in range(KEEP + 2):
        paths.append(save_run(result, tmp_path, key=f"{i:064x}"))
        os.utime(paths[-1], ns=(i * 10**9, i * 10**9))  # distinct times, in order
    save_run(result, tmp_path, key="f" * 64)
    kept = sorted(p.name for p in (tmp_path / ".run").iterdir())
    assert kept == sorted([*(p.name for p in paths[-(KEEP - 1) :]), "f" * 64 + ".pkl"])


def test_storing_where_it_cannot_write_warns_and_returns_none(cfg, tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        save_run(_stub_result(cfg), blocker)
    with caplog.at_level(logging.WARNING, logger="ics_model.run_store"):
        assert run_store.store_run(_stub_result(cfg), blocker) is None
    assert "could not store the run" in caplog.text


# --------------------------------------------------------------------------- the CLI


def _stamp_free(html: str) -> str:
    """The report without the times it was generated at."""
    return re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00", "<time>", html)


def test_report_from_a_reused_run_is_the_report_of_a_new_run(tmp_path):
    first = runner.invoke(app, ["report", "--out", str(tmp_path / "a.html")])
    assert first.exit_code == 0, first.output
    assert "Ran the pipeline" in first.output and "Reused" not in first.output
    second = runner.invoke(app, ["report", "--out", str(tmp_path / "b.html")])
    assert second.exit_code == 0, second.output
    assert "Reused the run stored at" in second.output
    assert "(same config, inputs and code)" in second.output
    assert "Ran the pipeline" not in second.output
    a = (tmp_path / "a.html").read_text(encoding="utf-8")
    b = (tmp_path / "b.html").read_text(encoding="utf-8")
    assert "<time>" in _stamp_free(a)
    assert _stamp_free(a) == _stamp_free(b)


DRAWN: list = []  # the executor each stubbed report was drawn with


@pytest.fixture
def stubbed(monkeypatch, cfg):
    """The pipeline and the drawing replaced by stubs that count the pipeline's runs."""
    calls = []
    DRAWN.clear()

    def fake_run(config, **kwargs):
        calls.append(config)
        return _stub_result(config)

    def fake_report(result, out, *, executor=None):
        DRAWN.append(executor)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(result.config.name)
        return Path(out)

    monkeypatch.setattr("ics_model.pipeline.run", fake_run)
    monkeypatch.setattr("ics_model.report.write_report", fake_report)
    monkeypatch.setattr("ics_model.outputs.write_outputs", lambda result, out: [])
    return calls


def test_run_stores_its_run_and_report_reuses_it(stubbed, cfg, tmp_path):
    out = tmp_path / "outputs"
    r = runner.invoke(app, ["run", "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    assert run_path(run_key(cfg), out).is_file()
    r = runner.invoke(app, ["report", "--out", str(out / "report.html")])
    assert r.exit_code == 0, r.output
    assert "Reused the run stored at" in r.output
    assert len(stubbed) == 1  # the run's only


def test_report_from_run_names_the_folder_and_quiet_says_nothing(stubbed, cfg, tmp_path):
    save_run(_stub_result(cfg), tmp_path / "results")
    args = ["report", "--from-run", str(tmp_path / "results"), "--out", str(tmp_path / "r.html")]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "Reused the run stored at" in r.output and stubbed == []
    r = runner.invoke(app, [*args, "-q"])
    assert r.exit_code == 0 and r.output == "" and stubbed == []


def test_a_corrupt_stored_run_runs_the_pipeline_again(stubbed, cfg, tmp_path):
    path = run_path(run_key(cfg), tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"corrupt")
    r = runner.invoke(app, ["report", "--out", str(tmp_path / "report.html")])
    assert r.exit_code == 0, r.output
    assert "Ran the pipeline" in r.output and "cannot be read" in r.output
    assert len(stubbed) == 1
    assert load_run(cfg, tmp_path) is not None  # stored again, readable


def test_fresh_runs_the_pipeline_even_with_a_stored_run(stubbed, cfg, tmp_path):
    save_run(_stub_result(cfg), tmp_path)
    r = runner.invoke(app, ["report", "--fresh", "--out", str(tmp_path / "report.html")])
    assert r.exit_code == 0, r.output
    assert "Ran the pipeline" in r.output and len(stubbed) == 1


def test_report_draws_with_a_helper_process_unless_told_otherwise(stubbed, tmp_path, monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    out = tmp_path / "outputs" / "report.html"
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert runner.invoke(app, ["report", "--out", str(out), "-q"]).exit_code == 0
    assert isinstance(DRAWN[-1], ProcessPoolExecutor)
    assert runner.invoke(app, ["report", "--out", str(out), "-q", "--workers", "1"]).exit_code == 0
    assert DRAWN[-1] is None
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert runner.invoke(app, ["report", "--out", str(out), "-q"]).exit_code == 0
    assert DRAWN[-1] is None
    bad = runner.invoke(app, ["report", "--out", str(out), "--workers", "0"])
    assert bad.exit_code == 2 and "--workers must be 1 or more, got 0" in bad.output
