"""Scenarios on rating rules: CQC collaboration gates and NHS Oversight Framework rules.

A scenario (``configs/scenarios/*.yaml``) is of one of two kinds:

- ``cqc_gate`` (the default, :class:`ScenarioSpec`) asks "what if Outstanding needed
  <condition>?" for NHS trusts or GP practices, through the gates of
  :func:`~ics_model.rules.apply_gates`;
- ``nof`` (:class:`NofScenarioSpec`) changes the NOF segmentation rules (deficit cap,
  segment edges) or adds conditions on segments ("segment 1 needs <condition>").

Public API:

- :func:`get_scenario`, :func:`load_scenario`, :func:`available_scenarios` -- specs of
  either kind (:func:`get_gate_scenario`, :func:`get_nof_scenario` insist on one);
- :func:`indicator_frames` -- provider- and ICS-level indicator frames from a run;
- :func:`run_scenario` -- provider table, ICS view, national summary and notes;
- :func:`threshold_sweep`, :func:`sweep_both_levels` -- vectorised threshold sweeps;
- :func:`run_nof_scenario`, :func:`nof_sweep` -- the same for NOF scenarios.
"""

from ics_model.scenarios.nof import (
    NOF_CHANGES,
    NOF_LOWER_IS_BETTER_NOTE,
    NOF_MODELLED_NOTE,
    NofScenarioResult,
    run_nof_scenario,
)
from ics_model.scenarios.nof_spec import NofChanges, NofGate, NofScenarioSpec, NofSweep
from ics_model.scenarios.nof_sweep import NOF_SWEEP_COLUMNS, nof_sweep
from ics_model.scenarios.run import (
    GP_OVERALL_ONLY_NOTE,
    SYSTEM_GATE_NOTE,
    ScenarioResult,
    indicator_frames,
    run_scenario,
)
from ics_model.scenarios.spec import (
    SCENARIO_KINDS,
    ScenarioSpec,
    Sweep,
    ThresholdRange,
    available_scenarios,
    get_gate_scenario,
    get_nof_scenario,
    get_scenario,
    load_scenario,
    scenario_from_dict,
    scenarios_dir,
)
from ics_model.scenarios.sweep import (
    SWEEP_COLUMNS,
    sweep_both_levels,
    threshold_sweep,
    threshold_uncertainty,
)

__all__ = [
    "GP_OVERALL_ONLY_NOTE",
    "NOF_CHANGES",
    "NOF_LOWER_IS_BETTER_NOTE",
    "NOF_MODELLED_NOTE",
    "NOF_SWEEP_COLUMNS",
    "SCENARIO_KINDS",
    "SWEEP_COLUMNS",
    "SYSTEM_GATE_NOTE",
    "NofChanges",
    "NofGate",
    "NofScenarioResult",
    "NofScenarioSpec",
    "NofSweep",
    "ScenarioResult",
    "ScenarioSpec",
    "Sweep",
    "ThresholdRange",
    "available_scenarios",
    "get_gate_scenario",
    "get_nof_scenario",
    "get_scenario",
    "indicator_frames",
    "load_scenario",
    "nof_sweep",
    "run_nof_scenario",
    "run_scenario",
    "scenario_from_dict",
    "scenarios_dir",
    "sweep_both_levels",
    "threshold_sweep",
    "threshold_uncertainty",
]
