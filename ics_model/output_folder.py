"""An output folder: what a command may write there, remove from it, and certify.

:func:`risky_output_folder` says which folders hold a user's own files (the current one,
those above it, the root, the home folder); the command line refuses them as output
folders unless asked. :func:`remove_abandoned` clears the temporary folders of killed
runs, :func:`remove_stale` the outputs of an earlier run that a new run does not write,
and :func:`check_folder` (``ics-model verify DIR``) recomputes the hashes of
``manifest.json`` and names the files of the folder that are not part of its run. Each
touches only plain names of files directly in the folder, and never follows a link.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import stat
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from ics_model.data.sources import sha256_file
from ics_model.inputs import MAX_TEXT_BYTES, SourceReadError, read_input

log = logging.getLogger(__name__)

#: the manifest of a run's outputs, written last into its folder
MANIFEST = "manifest.json"


class OutputError(OSError):
    """Outputs could not be written (the message names the path)."""


_TMP_PREFIX = ".ics_model-"
_HOST = socket.gethostname().replace("-", "_")[:40] or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_abandoned(out: Path) -> list[Path]:
    """Remove the temporary folders that killed runs left in ``out``; return them.

    A run writes into ``.ics_model-<host>-<pid>-*`` and moves the files into place only
    when all are written (the temporary folder is removed even on an error); a run killed
    outright (SIGKILL, power loss) cannot, and the next run in the folder removes it. Only
    folders of this host whose process is gone are removed: a live run's never.
    """
    removed = []
    for tmp in out.glob(f"{_TMP_PREFIX}*"):
        parts = tmp.name[len(_TMP_PREFIX) :].split("-")
        if not tmp.is_dir() or tmp.is_symlink() or len(parts) < 3 or parts[0] != _HOST:
            continue
        if not parts[1].isdigit() or _alive(int(parts[1])):
            continue
        shutil.rmtree(tmp, ignore_errors=True)
        log.info("removed %s, left by a run that was killed", tmp)
        removed.append(tmp)
    return removed


def _plain_name(name: str) -> bool:
    """Return whether ``name`` names a file directly in a folder (no path, not ``..``)."""
    return name not in ("", ".", "..") and "\0" not in name and Path(name).name == name


def remove_stale(out: Path, earlier: dict, keep: Collection[str]) -> list[Path]:
    """Remove the outputs of an earlier run of ``out`` not in ``keep``; return them.

    ``earlier`` is the earlier manifest's ``outputs`` (name -> sha256). Only plain names of
    files directly in ``out`` are removed (never an absolute path, ``..``, a sub-folder path,
    a folder, a hidden name or the manifest), and only while the file is still the one that
    run wrote (same sha256): one changed since is kept, with a warning (``verify`` then
    reports it). A link is removed itself; what it leads to is neither read nor touched.

    Raises
    ------
    OutputError
        A stale output cannot be removed (the new outputs are in place).
    """
    removed = []
    for name, digest in sorted(earlier.items()):
        if name in keep or name == MANIFEST or name.startswith(".") or not _plain_name(name):
            continue
        path = out / name
        try:
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode):
                if not stat.S_ISREG(mode):
                    continue
                if sha256_file(path) != digest:
                    log.warning(
                        "kept %s: an output of the earlier run that this run does not write, "
                        "changed since; remove it if it is not yours",
                        path,
                    )
                    continue
        except (OSError, ValueError):  # gone, or a name the file system refuses
            continue
        try:
            path.unlink()
        except OSError as exc:
            raise OutputError(
                f"wrote outputs to {out} but cannot remove {name}, an output of the earlier "
                f"run: {exc.strerror or exc}"
            ) from None
        removed.append(path)
    if removed:
        log.info(
            "removed %d output(s) of the earlier run in %s that this run does not write: %s",
            len(removed),
            out,
            ", ".join(p.name for p in removed),
        )
    return removed


def read_manifest(path: Path) -> dict:
    """Read a ``manifest.json``: a JSON object whose ``outputs`` maps names to sha256.

    Raises
    ------
    OutputError
        It cannot be read (missing, not a regular file, over 10 MiB), is not UTF-8 JSON,
        or lists no outputs (one message).
    """
    try:
        man = json.loads(read_input(path, MAX_TEXT_BYTES).decode("utf-8"))
    except SourceReadError as exc:
        raise OutputError(f"cannot read {path}: {exc.reason}") from None
    except UnicodeDecodeError:
        raise OutputError(f"{path} is not UTF-8 text: not a manifest ics-model wrote") from None
    except json.JSONDecodeError as exc:
        raise OutputError(f"{path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise OutputError(f"{path} nests too deeply: not a manifest ics-model wrote") from None
    if not isinstance(man, dict) or not isinstance(man.get("outputs"), dict):
        raise OutputError(f"{path} lists no output hashes")
    return man


#: files other commands write into an output folder, not listed in a run's manifest
#: unless the run wrote them too: uncertainty, compare, rules check (--nof)
COMMAND_FILES: frozenset[str] = frozenset(
    {
        "uncertainty.csv",
        "uncertainty_assumptions.csv",
        "sensitivity.csv",
        "compare.csv",
        "rules_check_summary.csv",
        "rules_check_confusion.csv",
        "rules_check_disagreements.csv",
        "rules_check_nof_summary.csv",
        "rules_check_nof_disagreements.csv",
    }
)
#: suffixes of the files of ``report`` (HTML) and ``run --geo`` (GeoPackage)
COMMAND_SUFFIXES = (".html", ".gpkg")


def _shown(name: str) -> str:
    """Return a name as messages show it: undecodable bytes escaped, at most 200 long."""
    name = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return name if len(name) <= 200 else name[:200] + "..."


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found in an output folder.

    ``problems``: outputs the manifest lists that are missing, changed or refused;
    ``extras``: entries of the folder that are not part of the run (the manifest does not
    list them); ``others``: files other commands write there (:data:`COMMAND_FILES`, HTML
    reports, GeoPackages), not listed, hence not checked. Hidden entries (``.run/``, a
    running write's temporary folder) are not outputs and are skipped.
    """

    problems: list[str]
    extras: list[str]
    others: list[str]

    @property
    def messages(self) -> list[str]:
        """Return one line per problem, then one per entry not part of the run."""
        return self.problems + [
            f"{x}: not part of this run (not in the manifest)" for x in self.extras
        ]


def check_folder(folder: str | Path) -> Verification:
    """Check an output folder against its ``manifest.json`` (see :class:`Verification`).

    Only files of the folder are read: a manifest entry that is absolute, climbs out
    (``..``), names a sub-folder path, or is a link leading out of the folder is reported,
    never hashed.

    Raises
    ------
    OutputError
        The manifest cannot be read or is not one this package writes.
    """
    folder = Path(folder)
    outputs = read_manifest(folder / MANIFEST)["outputs"]
    problems = []
    root = folder.resolve()
    for name, expected in sorted(outputs.items()):
        shown = _shown(name)
        if not _plain_name(name):
            problems.append(f"{shown}: not a file of this folder (refused, not read)")
            continue
        f = folder / name
        try:
            if f.is_symlink() and not f.resolve().is_relative_to(root):
                problems.append(f"{shown}: a link leading out of the folder (refused, not read)")
            elif not isinstance(expected, str):
                problems.append(f"{shown}: the manifest gives no sha256")
            elif not f.is_file():
                problems.append(f"{shown}: missing")
            elif sha256_file(f) != expected:
                problems.append(f"{shown}: changed (sha256 differs from the manifest)")
        except OSError as exc:  # a name the file system refuses (too long, ...)
            problems.append(f"{shown}: cannot be read ({exc.strerror or exc})")
    extras, others = [], []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise OutputError(f"cannot list {folder}: {exc.strerror or exc}") from None
    for entry in entries:
        name = entry.name
        if name in outputs or name == MANIFEST or name.startswith("."):
            continue
        is_dir = entry.is_dir(follow_symlinks=False)
        if not is_dir and (name in COMMAND_FILES or name.lower().endswith(COMMAND_SUFFIXES)):
            others.append(_shown(name))
        else:
            extras.append(_shown(name) + ("/" if is_dir else ""))
    return Verification(problems, extras, others)


def verify_outputs(folder: str | Path) -> list[str]:
    """Recompute the sha256 of every output listed in ``manifest.json``; list differences.

    Returns an empty list when every listed file is present and unchanged and the folder
    holds nothing else of a run (see :func:`check_folder`); a file the manifest does not
    list is reported as ``<name>: not part of this run``.
    """
    return check_folder(folder).messages


def risky_output_folder(out: str | Path) -> str | None:
    """Say why ``out`` is no place for a command's outputs, or return None.

    The current folder, a folder above it, the file system root and the home folder hold
    a user's own files, which outputs of the same name would replace. Links are followed
    (a link to the current folder is the current folder).
    """
    try:
        where = Path(out).resolve()
        if where == Path(where.anchor):
            return "the file system root"
        try:
            if where == Path.home().resolve():
                return "the home folder"
        except RuntimeError:  # no home folder known
            pass
        here = Path.cwd().resolve()
    except (OSError, RuntimeError, ValueError):  # no current folder; a loop of links; NUL
        return None
    if where == here:
        return "the current folder"
    if here.is_relative_to(where):
        return "a folder above the current one"
    return None
