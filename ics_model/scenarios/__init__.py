"""Collaboration-gate scenarios on the published ratings.

A scenario (``configs/scenarios/*.yaml``, :class:`ScenarioSpec`) asks "what if
Outstanding needed <condition>?" for NHS trusts or GP practices, through the gates of
:func:`~ics_model.rules.apply_gates`. Public API:

- :func:`get_scenario`, :func:`load_scenario`, :func:`available_scenarios` -- specs;
- :func:`indicator_frames` -- provider- and ICS-level indicator frames from a run;
- :func:`run_scenario` -- provider table, ICS view, national summary and notes;
- :func:`threshold_sweep`, :func:`sweep_both_levels` -- vectorised threshold sweeps.
"""

from ics_model.scenarios.run import (
    GP_OVERALL_ONLY_NOTE,
    SYSTEM_GATE_NOTE,
    ScenarioResult,
    indicator_frames,
    run_scenario,
)
from ics_model.scenarios.spec import (
    ScenarioSpec,
    Sweep,
    ThresholdRange,
    available_scenarios,
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
    "SWEEP_COLUMNS",
    "SYSTEM_GATE_NOTE",
    "ScenarioResult",
    "ScenarioSpec",
    "Sweep",
    "ThresholdRange",
    "available_scenarios",
    "get_scenario",
    "indicator_frames",
    "load_scenario",
    "run_scenario",
    "scenario_from_dict",
    "scenarios_dir",
    "sweep_both_levels",
    "threshold_sweep",
    "threshold_uncertainty",
]
