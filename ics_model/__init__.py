"""ics_model: model English integrated care systems from CQC ratings and public data.

Every ICS-level score this toolkit produces is a *modelled* construct: there are
no official ICS ratings.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ics_model")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
