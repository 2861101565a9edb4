"""Every command, given any file of the bad-input catalogue, exits 0, 1 or 2 with one message.

The catalogue (:mod:`tests.test_bad_inputs`) checks what each bad input gets from the
function it goes to. Here each data file and config of the catalogue is handed to the
commands a user would give it to: a data file named in a run config (``validate``,
``run``; a CQC ratings file also as the locations file), a config given as the command's
argument (``validate``, ``run``, ``compare``, ``uncertainty``, ``report``). Every command
must end with exit 0, 1 (an output that cannot be written) or 2 (bad config, data or
usage), print one ``error:`` line when it fails, and never a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ics_model.cli import app
from tests.test_bad_inputs import CASES, FAST, Case, Raises

REPO = Path(__file__).resolve().parents[1]

#: catalogue kinds whose input is a data file, and the config key a user names it under
DATA_KEYS = {
    "cqc": "data.trust_ratings",
    "cqc-child": "data.trust_ratings",
    "gp": "data.gp_practices",
    "ui": "metrics.user_indicators",
}


def _config_naming(tmp: Path, key: str, path: Path) -> Path:
    """A run config that names ``path`` under ``key`` (metrics off unless they read it)."""
    section, name = key.split(".")
    body = f"{section}:\n  {name}: {json.dumps(str(path))}\n"
    if name == "locations":
        body += "views:\n  sectors: [nhs_trust, gp_practice, location]\n"
    if section != "metrics":
        body += FAST
    cfg = tmp / f"sweep_{name}.yaml"
    cfg.write_text(body, encoding="utf-8")
    return cfg


def _commands(case: Case, tmp: Path) -> list[list[str]]:
    """The command lines this case's input goes to."""
    value = case.make_input(tmp)
    out = str(tmp / "sweep_out")
    if case.kind in DATA_KEYS:
        cfg = str(_config_naming(tmp, DATA_KEYS[case.kind], Path(value)))
        if case.kind == "ui":  # validate reads and checks the whole file, as run does
            return [["validate", cfg]]
        commands = [["validate", cfg], ["run", cfg, "--out", out]]
        if case.kind != "gp":  # a ratings file may also be given as the locations file
            located = str(_config_naming(tmp, "data.locations", Path(value)))
            commands.append(["run", located, "--out", out])
        return commands
    cfg = str(value)
    if not isinstance(case.expect, Raises):  # a valid config: running it proves nothing new
        return [["validate", cfg]]
    return [
        ["validate", cfg],
        ["run", cfg, "--out", out],
        ["compare", cfg, cfg],
        ["uncertainty", cfg, "--out", out],
        ["report", cfg, "--out", str(tmp / "report.html")],
    ]


def _invoke(args: list[str], in_child: bool) -> tuple[int, str, str]:
    """(exit code, output, traceback if any) of ``ics-model args``."""
    if in_child:  # inputs that once hung a reader run in a child process, with a timeout
        done = subprocess.run(
            [sys.executable, "-c", "from ics_model.cli import main; main()", *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
        )
        output = done.stdout + done.stderr
        return done.returncode, output, output if "Traceback" in output else ""
    result = CliRunner().invoke(app, args)
    trace = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = repr(result.exception)
    return result.exit_code, result.output, trace


SWEPT = [c for c in CASES if c.kind in DATA_KEYS or c.kind == "config"]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in SWEPT])
def test_every_command_exits_cleanly(case: Case, tmp_path: Path) -> None:
    for args in _commands(case, tmp_path):
        code, output, trace = _invoke(args, case.kind == "cqc-child")
        shown = " ".join(args[:1])
        assert not trace, f"{shown}: {trace}"
        assert "Traceback" not in output, f"{shown}: {output}"
        assert code in (0, 1, 2), f"{shown} exited {code}: {output}"
        if code:
            errors = [ln for ln in output.splitlines() if ln.startswith("error:")]
            assert len(errors) == 1, f"{shown}: {output}"


def test_the_sweep_covers_data_files_and_configs():
    kinds = {c.kind for c in SWEPT}
    assert {"cqc", "gp", "ui", "config"} <= kinds
    assert len(SWEPT) >= 80
