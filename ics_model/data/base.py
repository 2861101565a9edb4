"""What every loader returns: the canonical frame plus everything it did not keep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ics_model.contracts import Validated, empty_quarantine
from ics_model.inputs import SourceReadError

__all__ = ["Loaded", "SourceReadError", "loaded_from", "source_name"]


@dataclass(frozen=True)
class Loaded:
    """A loaded source.

    Attributes
    ----------
    frame : the canonical frame (it satisfies the loader's declared contract).
    source : the file read.
    variant : the header variant or layout recognised (e.g. ``"2018-providers"``).
    quarantine : rows that broke the contract (lenient mode), with ``reason``.
    superseded : rows replaced by a later publication of the same key, if any.
    notes : human-readable remarks on what the loader recoded or skipped.
    history : earlier ratings, where the source has them (the CQC API's
        ``historicRatings``), else None.
    n_input_rows : data rows in the source, so that conservation can be checked:
        ``n_input_rows == frame.height + quarantine.height + superseded.height``
        unless the loader documents an aggregation (e.g. RTT flows).
    """

    frame: pl.DataFrame
    source: str
    n_input_rows: int
    variant: str | None = None
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    superseded: pl.DataFrame | None = None
    notes: tuple[str, ...] = ()
    history: pl.DataFrame | None = None


def loaded_from(
    path: Path, checked: Validated, n_input_rows: int, variant: str, notes: Sequence[str]
) -> Loaded:
    """Return the :class:`Loaded` of a validated read of ``path`` (frame and quarantine)."""
    return Loaded(
        frame=checked.frame,
        source=str(path),
        n_input_rows=n_input_rows,
        variant=variant,
        quarantine=checked.quarantine,
        notes=tuple(notes),
    )


def source_name(path: str | Path) -> str:
    """Return the file name used in messages and reports."""
    return Path(path).name
