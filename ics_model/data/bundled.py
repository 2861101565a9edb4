"""Locate the embedded datasets and configs, the same way in a source tree and a wheel.

A wheel carries ``datasets/`` and ``configs/`` inside the package as
``ics_model/_datasets`` and ``ics_model/_configs``; in a source checkout (editable
install or plain ``PYTHONPATH``) they sit beside the package at the repository
root. :func:`datasets_dir` looks in that order; ``ICS_MODEL_DATASETS`` overrides.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parents[1]


def _first_existing(env: str, inside: str, beside: str) -> Path:
    override = os.environ.get(env)
    if override:
        path = Path(override)
        if not path.is_dir():
            raise FileNotFoundError(f"{env}={override!r} is not a directory")
        return path
    for candidate in (_PKG / inside, _PKG.parent / beside):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"cannot find the embedded {beside}/ folder: looked in {_PKG / inside} (wheel) "
        f"and {_PKG.parent / beside} (source tree); set {env} to point at it"
    )


@cache
def datasets_dir() -> Path:
    """Return the embedded ``datasets/`` folder (``raw/``, ``processed/``, ``README.md``)."""
    return _first_existing("ICS_MODEL_DATASETS", "_datasets", "datasets")


@cache
def configs_dir() -> Path:
    """Return the shipped ``configs/`` folder."""
    return _first_existing("ICS_MODEL_CONFIGS", "_configs", "configs")


def raw_path(*parts: str) -> Path:
    """Path of a raw embedded file, e.g. ``raw_path("ods_trusts", "succ.csv")``."""
    return datasets_dir().joinpath("raw", *parts)


def raw_or(path: str | Path | None, *parts: str) -> Path:
    """Return ``path`` as a Path, or the raw embedded file ``parts`` when it is None."""
    return Path(path) if path is not None else raw_path(*parts)


def processed_path(name: str) -> Path:
    """Path of a processed table, e.g. ``processed_path("cqc_trust_ratings")``."""
    return datasets_dir() / "processed" / f"{name}.parquet"
