"""The main job: load -> place -> view -> metrics -> composite, scenarios, effect.

``run(config) -> Result`` walks the stages once and returns the typed run record
(:class:`~ics_model.result.Result`); writing outputs is a separate, atomic step
(:func:`ics_model.outputs.write_outputs`). Each stage is a function of the config and the
records of the stages before it, in :mod:`ics_model.pipeline.stages`; where each sector's
ratings come from is the registry in :mod:`ics_model.pipeline.sectors`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path

from ics_model.config import RunConfig, check_config, load_config
from ics_model.pipeline import stages
from ics_model.pipeline.effects import curve_stage, power_stage, with_curve
from ics_model.pipeline.nof import (
    compare_with_cqc,
    nof_scenarios_stage,
    nof_stage,
    with_nof_metrics,
)
from ics_model.pipeline.sectors import load_reference, place_sector, selected_sectors
from ics_model.result import Result


def run(
    config: RunConfig | str | Path | None = None,
    *,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Run the main job on the embedded data (or the files the config names).

    Parameters
    ----------
    config : a :class:`RunConfig`, a YAML path, or None for ``configs/default.yaml``. A
        config object is checked (:func:`~ics_model.config.check_config`) before any work.
    executor : where the uncertainty analysis runs its chunks (threads, processes, Dask);
        None runs them in this process.
    progress : ``progress(done, total)`` called as uncertainty chunks finish.

    Returns
    -------
    Result
        The validated config and every stage's record.
    """
    if isinstance(config, RunConfig):
        cfg = config
        check_config(cfg)
    else:
        cfg = load_config(config)
    ref = load_reference(cfg)
    sectors = [place_sector(s, ref, cfg) for s in selected_sectors(cfg)]
    nof = nof_stage(cfg, ref)
    conservation = stages.account(
        sectors, ref, () if nof is None else ((nof.loaded, nof.accounts),)
    )
    views = stages.build_views(cfg, sectors, ref)
    metrics = with_nof_metrics(stages.metrics_stage(cfg, views, sectors, ref), nof)
    composite = stages.composite_stage(cfg, views, metrics)
    return Result(
        config=cfg,
        views=views,
        conservation=conservation,
        metrics=metrics,
        provenance=stages.provenance(cfg, ref, sectors, metrics, () if nof is None else nof.inputs),
        composite=composite,
        uncertainty=stages.uncertainty_stage(
            cfg, composite, views, metrics=metrics, executor=executor, progress=progress
        ),
        scenarios=stages.scenarios_stage(cfg, views, metrics),
        effect=with_curve(
            stages.effect_stage(cfg, views, sectors, metrics),
            curve_stage(
                cfg, views, sectors, metrics, None if nof is None else nof.record, executor
            ),
            power_stage(cfg, views, sectors, metrics, executor),
        ),
        history=stages.history_stage(cfg, sectors),
        nof=None if nof is None else compare_with_cqc(nof.record, cfg, views.mapped, sectors),
        nof_scenarios=nof_scenarios_stage(cfg, None if nof is None else nof.record, metrics),
    )


__all__ = ["run"]
