"""Writing a run's outputs, atomically and verifiably.

Every output is first written into a temporary folder inside the output folder; only
when all are written (and hashed) is each moved into place with an atomic rename. A
run that fails while writing leaves the previous outputs untouched and no temporary
files behind. ``manifest.json`` records the validated config, the sha256 of every
input and every output file, the package version and the time; :func:`verify_outputs`
recomputes the output hashes (``ics-model verify DIR``).

Given the same config, data and seed, every output file is byte-identical between runs;
only ``manifest.json``'s ``created_utc`` changes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ics_model import __version__
from ics_model.config import config_to_dict
from ics_model.data.sources import sha256_file

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MODELLED_NOTE = (
    "ICS figures are modelled summaries of provider ratings; there are no official ICS ratings."
)


class OutputError(OSError):
    """Outputs could not be written (the message names the path)."""


def output_tables(result: Any) -> dict[str, pl.DataFrame | dict]:
    """File name -> frame (``.csv``/``.parquet``) or JSON-able dict, for one run's result.

    Optional outputs (composite, scenarios, effect, uncertainty) appear when the result
    holds them; ``quarantine.csv`` and ``unmapped.csv`` are always written (header only
    when empty).
    """
    tables: dict[str, pl.DataFrame | dict] = {
        "ics_view.csv": result.ics_view,
        "ics_view.parquet": result.ics_view,
        "providers.csv": result.mapped,
        "unmapped.csv": result.unmapped,
        "quarantine.csv": result.quarantine,
        "superseded.csv": result.superseded,
        "conservation.csv": result.conservation,
    }
    if result.ics_modelled.height:
        tables["ics_modelled_ratings.csv"] = result.ics_modelled
    if result.ics_metrics.height:
        tables["ics_metrics.csv"] = result.ics_metrics
        tables["ics_metrics.parquet"] = result.ics_metrics
        tables["provider_partnership.csv"] = result.provider_partnership
        tables["ics_flow_matrix.csv"] = result.flow_matrix
    for name, table in getattr(result, "extra_outputs", {}).items():
        tables[name] = table
    return tables


def _write_one(table: pl.DataFrame | dict, path: Path) -> None:
    if isinstance(table, dict):
        path.write_text(
            json.dumps(table, indent=2, default=str, sort_keys=True) + "\n", encoding="utf-8"
        )
    elif path.suffix == ".parquet":
        table.write_parquet(path, compression="zstd", statistics=False)
    elif path.suffix == ".csv":
        table.write_csv(path)
    else:
        raise ValueError(f"unknown output type for {path.name}")


def manifest(result: Any, outputs: dict[str, str]) -> dict:
    """The run manifest: validated config, inputs and outputs with sha256, version, time."""
    return {
        "tool": "ics_model",
        "version": __version__,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": MODELLED_NOTE,
        "config": config_to_dict(result.config),
        "inputs": [vars(i) for i in result.inputs],
        "vintages": result.vintages,
        "outputs": dict(sorted(outputs.items())),
        "conservation": result.conservation.to_dicts(),
    }


def write_outputs(
    result: Any,
    out: str | Path,
    *,
    _before_move: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write a run's outputs into ``out`` (see the module docstring).

    Raises
    ------
    OutputError
        ``out`` cannot be created or written (e.g. it lies under a regular file), or a
        write failed; the previous outputs are then left as they were.
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".ics_model-", dir=out))
    except OSError as exc:
        raise OutputError(f"cannot write outputs to {out}: {exc.strerror or exc}") from None
    written: list[Path] = []
    try:
        hashes = {}
        for name, table in output_tables(result).items():
            _write_one(table, tmp / name)
            hashes[name] = sha256_file(tmp / name)
        (tmp / MANIFEST).write_text(
            json.dumps(manifest(result, hashes), indent=2, default=str) + "\n", encoding="utf-8"
        )
        if _before_move is not None:  # a hook for tests that inject a failure
            _before_move(tmp)
        for f in sorted(tmp.iterdir()):
            target = out / f.name
            os.replace(f, target)
            written.append(target)
    except OSError as exc:
        raise OutputError(f"cannot write outputs to {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("wrote %d files to %s", len(written), out)
    return written


def verify_outputs(folder: str | Path) -> list[str]:
    """Recompute the sha256 of every output listed in ``manifest.json``; list differences.

    Returns an empty list when every file is present and unchanged.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise OutputError(f"{path} is not valid JSON: {exc}") from None
    outputs = man.get("outputs")
    if not isinstance(outputs, dict):
        raise OutputError(f"{path} lists no output hashes")
    problems = []
    for name, expected in sorted(outputs.items()):
        f = folder / name
        if not f.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(f) != expected:
            problems.append(f"{name}: changed (sha256 differs from the manifest)")
    return problems
