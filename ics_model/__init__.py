"""ics_model: model English integrated care systems from CQC ratings and public data.

Every ICS-level score this toolkit produces is a *modelled* construct: there are no
official ICS ratings.

The public API is importable from the package (loaded lazily, so ``import ics_model`` is
cheap)::

    import ics_model as im

    result = im.run()                      # the main job on the embedded data
    im.write_outputs(result, "outputs")    # views, metrics, composite, manifest...
    im.combine_ratings(["Outstanding", "Outstanding", "Good", "Good", "Good"])
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("ics_model")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

#: public name -> module that defines it
_PUBLIC = {
    "RunConfig": "ics_model.config",
    "load_config": "ics_model.config",
    "ConfigError": "ics_model.spec",
    "with_overrides": "ics_model.config",
    "check_config": "ics_model.config",
    "run": "ics_model.pipeline",
    "Result": "ics_model.result",
    "write_outputs": "ics_model.outputs",
    "verify_outputs": "ics_model.output_folder",
    "DataContractError": "ics_model.contracts",
    "validate": "ics_model.contracts",
    "SourceReadError": "ics_model.data.base",
    "read_cqc_ratings": "ics_model.data.cqc",
    "read_gp_practices": "ics_model.data.cqc",
    "combine_ratings": "ics_model.rules",
    "saf_rating": "ics_model.rules",
    "check_against_published": "ics_model.rules",
    "slope_index": "ics_model.metrics.inequality",
    "composite": "ics_model.composite",
    "indicator_matrix": "ics_model.composite",
    "peers": "ics_model.composite",
    "run_scenario": "ics_model.scenarios",
    "threshold_sweep": "ics_model.scenarios",
    "collaboration_effect": "ics_model.effects",
    "run_uncertainty": "ics_model.uncertainty",
    "write_report": "ics_model.report",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'ics_model' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
