"""The contract of every output a run writes, and one check of all of them.

:func:`contract_for` maps an output file name (``composite.csv``, ``ics_view.parquet``,
``scenario_<name>_sweep.csv``, ``collaboration_effect.json`` ...) to its declared
:class:`~ics_model.contracts.Contract`; :func:`check_outputs` checks a run's tables
(file name -> frame or JSON-able dict, as :func:`ics_model.outputs.output_tables` gives
them) and returns every violation, so outputs can be checked at write time.

Two outputs are dicts, checked in frame form: ``collaboration_effect.json`` (its scalar
fields as one row, :func:`~ics_model.effects.contracts.effect_frame`) and
``scenario_<name>.json`` (its ``national`` rows). Some frames have columns named after
the config -- ``pillar_<name>`` in the composite scores, ``<gate>_status`` and
``<gate>_value`` in a scenario's providers, ``modelled_<rule_set>`` in the ICS view --
declared as templates and added to the contract for the columns a frame holds
(:func:`contract_for_frame`).

Scenario file names are read from the end: ``scenario_x_sweep.csv`` is the sweep of
scenario ``x``, so a scenario whose own name ends in ``_sweep``, ``_by_ics`` or
``_threshold_uncertainty`` cannot be told apart from those tables.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Final

import polars as pl

from ics_model.composite.contracts import (
    COMPOSITE_INDICATORS,
    COMPOSITE_SCORES,
    COMPOSITE_WEIGHTS,
    CORRELATIONS,
    PILLAR_SCORE_COLUMN,
    PILLAR_SCORE_PATTERN,
)
from ics_model.contracts import Column, Contract, find_violations
from ics_model.effects.contracts import (
    EFFECT,
    EFFECT_POWER,
    EFFECT_SKIPPED,
    NOF_CQC_CORRELATION,
    NOF_CQC_UNMATCHED,
    effect_frame,
)
from ics_model.effects.curve_contracts import (
    CURVE_JOINT,
    CURVE_PLACEBO,
    CURVE_SKIPPED,
    CURVE_SUMMARY,
    SPECIFICATION_CURVE,
)
from ics_model.mapping.ambulance import AMBULANCE_ALLOCATION
from ics_model.mapping.base import MAPPED_RATINGS
from ics_model.mapping.contracts import (
    CONSERVATION,
    PLACEMENT_CHECKS,
    QUARANTINE,
    SET_ASIDE,
    SUPERSEDED,
    UNMAPPED,
)
from ics_model.mapping.history import SECTOR_RATINGS_IN_FORCE
from ics_model.mapping.icb_changes import ICB_GEOGRAPHY
from ics_model.mapping.nof import NOF_UNPLACED
from ics_model.mapping.transitions import (
    ICS_RATING_TRANSITIONS,
    ICS_TRANSITION_SUMMARY,
    RATING_TRANSITIONS,
)
from ics_model.metrics.contracts import GP_QUINTILES
from ics_model.metrics.nof import ICS_NOF
from ics_model.metrics.partnership import ICS_FLOW_MATRIX, PROVIDER_PARTNERSHIP
from ics_model.metrics.system import ICS_METRICS
from ics_model.rules.contracts import (
    ICS_MODELLED_RATINGS,
    MODELLED_VIEW_COLUMN,
    MODELLED_VIEW_PATTERN,
    NOF_CHECK_SUMMARY,
    NOF_TRUSTS,
)
from ics_model.scenarios.contracts import (
    GATE_STATUS_COLUMN,
    GATE_STATUS_PATTERN,
    GATE_VALUE_COLUMN,
    GATE_VALUE_PATTERN,
    NOF_GATE_COLUMN_FAMILIES,
    NOF_SCENARIO_BY_ICS,
    NOF_SCENARIO_NATIONAL,
    NOF_SCENARIO_SWEEP,
    NOF_SCENARIO_TRUSTS,
    SCENARIO_BY_ICS,
    SCENARIO_NATIONAL,
    SCENARIO_PROVIDERS,
    SCENARIO_SWEEP,
    SCENARIO_THRESHOLD_UNCERTAINTY,
)
from ics_model.uncertainty.contracts import (
    SENSITIVITY,
    UNCERTAINTY_ASSUMPTIONS,
    UNCERTAINTY_PER_ICS,
)
from ics_model.views import ICS_VIEW, ICS_VIEW_BY_TRUST_TYPE

#: file suffixes of frame outputs, and of dict outputs
FRAME_SUFFIXES: Final = (".csv", ".parquet")
DICT_SUFFIX: Final = ".json"

#: frame outputs by file stem (each written as .csv, some also as .parquet)
FRAME_OUTPUTS: Final[dict[str, Contract]] = {
    "ics_view": ICS_VIEW,
    "providers": MAPPED_RATINGS,
    "unmapped": UNMAPPED,
    "quarantine": QUARANTINE,
    "superseded": SUPERSEDED,
    "set_aside": SET_ASIDE,
    "conservation": CONSERVATION,
    "placement_checks": PLACEMENT_CHECKS,
    "ics_modelled_ratings": ICS_MODELLED_RATINGS,
    "ics_view_by_trust_type": ICS_VIEW_BY_TRUST_TYPE,
    "ambulance_allocation": AMBULANCE_ALLOCATION,
    "icb_geography": ICB_GEOGRAPHY,
    "ics_metrics": ICS_METRICS,
    "provider_partnership": PROVIDER_PARTNERSHIP,
    "ics_flow_matrix": ICS_FLOW_MATRIX,
    "gp_quintiles": GP_QUINTILES,
    "composite": COMPOSITE_SCORES,
    "composite_indicators": COMPOSITE_INDICATORS,
    "composite_weights": COMPOSITE_WEIGHTS,
    "correlations": CORRELATIONS,
    "uncertainty": UNCERTAINTY_PER_ICS,
    "uncertainty_assumptions": UNCERTAINTY_ASSUMPTIONS,
    "sensitivity": SENSITIVITY,
    "ratings_in_force": SECTOR_RATINGS_IN_FORCE,
    "rating_transitions": RATING_TRANSITIONS,
    "ics_rating_transitions": ICS_RATING_TRANSITIONS,
    "ics_rating_transition_summary": ICS_TRANSITION_SUMMARY,
    "nof_trusts": NOF_TRUSTS,
    "nof_unplaced": NOF_UNPLACED,
    "ics_nof": ICS_NOF,
    "nof_check_summary": NOF_CHECK_SUMMARY,
    "nof_cqc_correlation": NOF_CQC_CORRELATION,
    "nof_cqc_unmatched": NOF_CQC_UNMATCHED,
    "specification_curve": SPECIFICATION_CURVE,
    "specification_curve_summary": CURVE_SUMMARY,
    "specification_curve_placebo": CURVE_PLACEBO,
    "specification_curve_joint_test": CURVE_JOINT,
    "specification_curve_skipped": CURVE_SKIPPED,
    "effect_power": EFFECT_POWER,
}
#: frame outputs named after a scenario, by stem pattern (the first match wins)
SCENARIO_FRAME_OUTPUTS: Final[tuple[tuple[str, Contract], ...]] = (
    (r"scenario_.+_threshold_uncertainty", SCENARIO_THRESHOLD_UNCERTAINTY),
    (r"scenario_.+_sweep", SCENARIO_SWEEP),
    (r"scenario_.+_by_ics", SCENARIO_BY_ICS),
    (r"scenario_.+", SCENARIO_PROVIDERS),
    (r"nof_scenario_.+_sweep", NOF_SCENARIO_SWEEP),
    (r"nof_scenario_.+_by_ics", NOF_SCENARIO_BY_ICS),
    (r"nof_scenario_.+", NOF_SCENARIO_TRUSTS),
)
#: dict outputs (checked in frame form) by file stem, and by stem pattern
DICT_OUTPUTS: Final[dict[str, Contract]] = {"collaboration_effect": EFFECT}
SCENARIO_DICT_OUTPUTS: Final[tuple[tuple[str, Contract], ...]] = (
    (r"scenario_.+", SCENARIO_NATIONAL),
    (r"nof_scenario_.+", NOF_SCENARIO_NATIONAL),
)
#: columns named after the config: contract name -> (column name pattern, template)
COLUMN_FAMILIES: Final[dict[str, tuple[tuple[str, Column], ...]]] = {
    COMPOSITE_SCORES.name: ((PILLAR_SCORE_PATTERN, PILLAR_SCORE_COLUMN),),
    SCENARIO_PROVIDERS.name: (
        (GATE_STATUS_PATTERN, GATE_STATUS_COLUMN),
        (GATE_VALUE_PATTERN, GATE_VALUE_COLUMN),
    ),
    ICS_VIEW.name: ((MODELLED_VIEW_PATTERN, MODELLED_VIEW_COLUMN),),
    NOF_SCENARIO_TRUSTS.name: NOF_GATE_COLUMN_FAMILIES,
}


class UnknownOutputError(KeyError):
    """No contract is declared for an output file name; the message names the file."""

    def __str__(self) -> str:
        """Return the message as given, without ``KeyError``'s quotes."""
        return str(self.args[0]) if self.args else ""


def known_outputs() -> list[str]:
    """List the output names that have a contract.

    Returns
    -------
    list of str
        Sorted file names; ``<name>`` stands for a scenario's name.
    """
    frames = [f"{s}{x}" for s in FRAME_OUTPUTS for x in FRAME_SUFFIXES]
    scenario = [
        p.replace(".+", "<name>") + x for p, _ in SCENARIO_FRAME_OUTPUTS for x in FRAME_SUFFIXES
    ]
    dicts = [f"{s}{DICT_SUFFIX}" for s in DICT_OUTPUTS]
    dicts += [p.replace(".+", "<name>") + DICT_SUFFIX for p, _ in SCENARIO_DICT_OUTPUTS]
    return sorted([*frames, *scenario, *dicts])


def contract_for(output_name: str) -> Contract:
    """Return the contract of an output file.

    Parameters
    ----------
    output_name : the file name, e.g. ``composite.csv``, ``ics_view.parquet``,
        ``scenario_x_sweep.csv`` or ``collaboration_effect.json`` (a folder part is
        ignored).

    Returns
    -------
    Contract
        The declared contract; for a ``.json`` output, the contract of its frame form.

    Raises
    ------
    UnknownOutputError
        (a ``KeyError``) no contract is declared for the file; the message names it.
    """
    name = output_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    suffix = dot + suffix
    if suffix in FRAME_SUFFIXES:
        exact, patterns = FRAME_OUTPUTS, SCENARIO_FRAME_OUTPUTS
    elif suffix == DICT_SUFFIX:
        exact, patterns = DICT_OUTPUTS, SCENARIO_DICT_OUTPUTS
    else:
        exact, patterns = {}, ()
    if stem in exact:
        return exact[stem]
    for pattern, contract in patterns:
        if re.fullmatch(pattern, stem):
            return contract
    raise UnknownOutputError(
        f"no contract is declared for output {output_name!r}; outputs with a contract: "
        + ", ".join(known_outputs())
    )


def contract_for_frame(output_name: str, frame: pl.DataFrame) -> Contract:
    """Return the contract of an output with the config-named columns ``frame`` holds.

    Parameters
    ----------
    output_name : the file name (see :func:`contract_for`).
    frame : the output (in frame form for a ``.json`` output).

    Returns
    -------
    Contract
        :func:`contract_for`'s contract plus one column per undeclared column of
        ``frame`` whose name matches one of the contract's :data:`COLUMN_FAMILIES`
        (e.g. ``pillar_quality`` in the composite scores), built from the template.
    """
    return _with_families(contract_for(output_name), frame)


def _with_families(contract: Contract, frame: pl.DataFrame) -> Contract:
    """Add to ``contract`` a column for each of ``frame``'s columns in one of its families."""
    families = COLUMN_FAMILIES.get(contract.name, ())
    declared = set(contract.column_names)
    extra = []
    for col in frame.columns:
        if col in declared:
            continue
        for pattern, template in families:
            if re.fullmatch(pattern, col):
                extra.append(dataclasses.replace(template, name=col))
                break
    if not extra:
        return contract
    return dataclasses.replace(contract, columns=(*contract.columns, *extra))


def _rows_frame(rows: Any, contract: Contract) -> pl.DataFrame:
    """Build a frame from rows (dicts); an all-null column takes its declared dtype."""
    frame = pl.DataFrame(rows, infer_schema_length=None)
    declared = {c.name: c.dtype for c in contract.columns}
    return frame.with_columns(
        pl.col(c).cast(declared.get(c, pl.String))
        for c, dtype in frame.schema.items()
        if dtype == pl.Null
    )


def _as_frame(name: str, table: object, contract: Contract) -> tuple[pl.DataFrame, Contract]:
    """Return an output in frame form and the contract to check it against.

    Raises ``ValueError`` when the output is of the wrong kind for its name.
    """
    is_dict = name.endswith(DICT_SUFFIX)
    if not is_dict:
        if not isinstance(table, pl.DataFrame):
            raise ValueError(f"a {type(table).__name__} where a polars DataFrame is expected")
        return table, contract
    if not isinstance(table, Mapping):
        raise ValueError(f"a {type(table).__name__} where a dict is expected")
    if contract is EFFECT:
        return effect_frame(table), (EFFECT_SKIPPED if "skipped" in table else EFFECT)
    rows = table.get("national")
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise ValueError("no 'national' list of rows")
    return _rows_frame(rows, contract), contract


def _describe(name: str, violation: dict[str, Any]) -> str:
    where = "" if violation["_index"] is None else f"row {violation['_index']}, "
    value = "" if violation["value"] is None else f", value {violation['value']!r}"
    return f"{name}: {where}column {violation['column']!r}{value}: {violation['problem']}"


def check_outputs(tables: Mapping[str, pl.DataFrame | dict]) -> list[str]:
    """Check every output of a run against its contract; list every violation.

    Parameters
    ----------
    tables : output file name -> frame, or JSON-able dict for a ``.json`` output (as
        :func:`ics_model.outputs.output_tables` gives them).

    Returns
    -------
    list of str
        One line per violation, ``"<file>: row <i>, column '<c>', value '<v>': <problem>"``
        (row and value left out for whole-column problems such as a missing column or a
        wrong dtype), in the order of ``tables``. ``<i>`` is the 0-based row of the frame
        (a CSV file's data line ``i + 2``, the header being line 1). An output with no
        declared contract, or of the wrong kind, is one violation. Empty when all hold.
    """
    problems: list[str] = []
    for name, table in tables.items():
        try:
            contract = contract_for(name)
            frame, contract = _as_frame(name, table, contract)
        except (UnknownOutputError, ValueError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        violations = find_violations(frame, _with_families(contract, frame))
        problems.extend(_describe(name, v) for v in violations.iter_rows(named=True))
    return problems


__all__ = [
    "COLUMN_FAMILIES",
    "DICT_OUTPUTS",
    "FRAME_OUTPUTS",
    "SCENARIO_DICT_OUTPUTS",
    "SCENARIO_FRAME_OUTPUTS",
    "UnknownOutputError",
    "check_outputs",
    "contract_for",
    "contract_for_frame",
    "known_outputs",
]
