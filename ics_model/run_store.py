"""Stored runs: reuse the result of an earlier identical run instead of running again.

A run is stored as a pickle of its :class:`~ics_model.result.Result` in
``<folder>/.run/<key>.pkl``. The key (:func:`run_key`) is computed without running: the
sha256 of the ics_model version, the source of every module of the package, the
versions of Python and of the libraries the numbers come from, the validated config (as
canonical JSON) and the path and sha256 of every input the run can read (the embedded
datasets and configs, and every file the config names). Two runs with the same key read
the same bytes with the same code, so their results are the same and reusing one changes
nothing the report shows.

``ics-model run`` stores its run in its output folder; ``ics-model report`` reuses it
(see the command's help). A stored run that cannot be read is ignored with a warning and
the pipeline runs again; only the newest :data:`KEEP` runs of a folder are kept. A stored
run is a pickle: load only folders you wrote yourself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import pickle
import sys
import uuid
from collections.abc import Callable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

from ics_model import __version__
from ics_model.config import RunConfig, config_to_dict
from ics_model.data.bundled import configs_dir, datasets_dir
from ics_model.data.sources import sha256_file
from ics_model.result import Result

log = logging.getLogger(__name__)

#: sub-folder of an output folder that holds its stored runs
RUN_DIR: Final = ".run"
#: stored runs kept per folder (the newest, by last write or reuse)
KEEP: Final = 3
#: libraries whose version can change the numbers of a run
LIBRARIES: Final = (
    "numpy",
    "polars",
    "pyarrow",
    "scipy",
    "statsmodels",
    "SALib",
    "shapely",
    "geopandas",
    "pyogrio",
    "fastexcel",
    "pydantic",
)
_FORMAT: Final = 1  # of the stored pickle; part of the key
_PACKAGE: Final = Path(__file__).resolve().parent


def source_digest() -> str:
    """Hex sha256 of every ``.py`` file of the ics_model package (sorted paths and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Python's version and those of :data:`LIBRARIES` ("-" when one is not installed)."""
    out = {"python": sys.version}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "-"
    return out


def _config_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _config_strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _config_strings(v)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long for a path, a NUL in it
        return False


def input_files(cfg: RunConfig) -> list[Path]:
    """Every file a run of ``cfg`` can read, sorted: a superset, found without running.

    The embedded datasets and configs (data, boundaries, rule sets, scenarios) and every
    string of the config that names an existing file (data files, YAML rule sets or
    scenarios; relative ones from the working directory, as the loaders read them).
    """
    files: set[Path] = set()
    for folder in (datasets_dir(), configs_dir()):
        files.update(p.resolve() for p in folder.rglob("*") if p.is_file())
    for text in _config_strings(config_to_dict(cfg)):
        path = Path(text)
        if _is_file(path):
            files.add(path.resolve())
    return sorted(files)


def input_digests(cfg: RunConfig) -> list[tuple[str, str]]:
    """(path, sha256) of every file in :func:`input_files`, as the run's provenance hashes."""
    return [(str(p), sha256_file(p)) for p in input_files(cfg)]


def run_key(cfg: RunConfig) -> str:
    """Hex sha256 that names a run of ``cfg`` with this code on these inputs (no run needed).

    Covers the ics_model version, :func:`source_digest`, :func:`library_versions`, the
    validated config as canonical JSON and :func:`input_digests` (paths included: the
    report shows where each input came from).
    """
    parts = {
        "format": _FORMAT,
        "version": __version__,
        "source": source_digest(),
        "libraries": library_versions(),
        "config": config_to_dict(cfg),
        "inputs": input_digests(cfg),
    }
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def run_path(key: str, folder: str | Path) -> Path:
    """Where the run with ``key`` is stored in ``folder``."""
    return Path(folder) / RUN_DIR / f"{key}.pkl"


def save_run(result: Result, folder: str | Path, *, key: str | None = None) -> Path:
    """Store ``result`` in ``<folder>/.run/<key>.pkl`` (atomically) and return its path.

    ``key`` defaults to :func:`run_key` of the result's config; pass the key computed
    before running, so inputs changed during the run do not get the new key. Only the
    newest :data:`KEEP` stored runs of the folder are kept.

    Raises
    ------
    OSError
        The folder cannot be created or written.
    """
    key = run_key(result.config) if key is None else key
    path = run_path(key, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{key[:12]}-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as fh:  # the umask's permissions, as the other outputs
            pickle.dump(
                {"format": _FORMAT, "key": key, "result": result},
                fh,
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _prune(path.parent)
    return path


def store_run(result: Result, folder: str | Path, *, key: str | None = None) -> Path | None:
    """:func:`save_run`, or a warning and None when it fails (storing never fails a run)."""
    try:
        return save_run(result, folder, key=key)
    except OSError as exc:
        log.warning("could not store the run in %s: %s", folder, exc.strerror or exc)
    except Exception as exc:  # a result that does not pickle
        log.warning("could not store the run in %s: %s", folder, exc)
    return None


def _prune(run_dir: Path) -> None:
    """Delete all but the newest :data:`KEEP` stored runs."""
    try:
        stored = sorted(run_dir.glob("*.pkl"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in stored[KEEP:]:
            old.unlink()
    except OSError as exc:  # another process pruning too; a read-only folder
        log.debug("could not prune %s: %s", run_dir, exc)


def load_run(cfg: RunConfig, folder: str | Path, *, key: str | None = None) -> Result | None:
    """Return the stored run of ``cfg`` in ``folder``, or None (none, or unreadable).

    ``key`` defaults to :func:`run_key` of ``cfg``. A stored run that cannot be read
    (truncated, corrupt, written by other code) is not an error: a warning is logged and
    None returned, so the caller runs again. The result carries ``cfg`` itself (the stored
    config is the same as canonical JSON).
    """
    key = run_key(cfg) if key is None else key
    path = run_path(key, folder)
    try:
        with open(path, "rb") as fh:
            stored = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # any failure to read or unpickle: run again instead
        log.warning("ignoring the stored run %s: it cannot be read (%s)", path, exc)
        return None
    if (
        not isinstance(stored, dict)
        or stored.get("key") != key
        or not isinstance(stored.get("result"), Result)
    ):
        log.warning("ignoring the stored run %s: it is not the run of this config", path)
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # reused: newest, so pruning keeps it
    return dataclasses.replace(stored["result"], config=cfg)


def reuse_or_run(
    cfg: RunConfig, folder: str | Path, run: Callable[[RunConfig], Result], *, fresh: bool = False
) -> tuple[Result, str]:
    """Return the stored run of ``cfg`` in ``folder``, or ``run(cfg)`` stored there.

    With ``fresh``, always run. The text says which happened, for the user.
    """
    key = run_key(cfg)
    result = None if fresh else load_run(cfg, folder, key=key)
    if result is not None:
        return (
            result,
            f"Reused the run stored at {run_path(key, folder)} (same config, inputs and code)",
        )
    result = run(cfg)
    stored = store_run(result, folder, key=key)
    return result, "Ran the pipeline" + (f" (stored at {stored})" if stored is not None else "")
