"""The collaboration question beyond the headline test: the specification curve and power.

:func:`curve_stage` builds the analysis rows (every population of ``effect.curve``, with
ICS-level exposures from the run's metrics and provider-level ones from the provider
partnership table and, when asked for, the GP practices' PCN exposures) and fits every
specification in both periods, post- and pre-ICS (the placebo), with the joint test across
the curve. :func:`power_stage` simulates the power of the main specification on the real
design. Both run on the run's executor (threads, processes or Dask) and give identical
results for a seed whatever the executor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import replace

import polars as pl

from ics_model.config import RunConfig
from ics_model.metrics.build import Metrics
from ics_model.pipeline.sectors import PlacedSector
from ics_model.pipeline.stages import gp_frame, headline_population
from ics_model.result import Effect, NofRecord, Views

log = logging.getLogger(__name__)


def gp_practice_exposures(gp: pl.DataFrame, mode: str = "strict") -> pl.DataFrame:
    """Return the GP practices' PCN exposures (embedded ePCN, list sizes and payments).

    Membership is read on 1 July 2022 for every practice, so post- and pre-ICS ratings
    share one definition (:func:`ics_model.metrics.gp_exposures.gp_exposures`).
    """
    from ics_model.data.gp_lists import read_gp_list_sizes
    from ics_model.data.gp_payments import read_gp_payments
    from ics_model.data.ods import read_ods_sub_icbs
    from ics_model.data.pcn import read_epcn
    from ics_model.metrics.gp_exposures import gp_exposures

    out = gp_exposures(
        gp,
        read_epcn(mode=mode).frame,
        read_gp_list_sizes(mode=mode).frame,
        read_gp_payments(mode=mode).frame,
        read_ods_sub_icbs(mode=mode).frame,
    )
    numeric = [c for c, t in out.schema.items() if t.is_numeric() or t == pl.Boolean]
    return out.select(
        pl.col("practice_code").alias("provider_id"),
        *(pl.col(c).cast(pl.Float64) for c in numeric if c not in ("publication_year",)),
    )


def curve_stage(
    cfg: RunConfig,
    views: Views,
    sectors: Sequence[PlacedSector],
    metrics: Metrics,
    nof: NofRecord | None,
    executor: Executor | None = None,
):
    """Fit the specification curve of ``effect.curve`` (None when off or without metrics)."""
    from ics_model.effects.curve import effect_curve
    from ics_model.effects.rows import analysis_rows
    from ics_model.effects.spec import POPULATIONS
    from ics_model.metrics.gp_exposure_catalogue import EXPOSURES

    c = cfg.effect.curve
    if c is None or not c.enabled or not cfg.effect.enabled or not metrics.computed:
        return None
    in_run = {s.sector for s in sectors}
    populations = [
        p
        for p in c.populations
        if (
            nof is not None
            if POPULATIONS[p].rated_by == "nof_segment"
            else POPULATIONS[p].sector in in_run
        )
    ]
    dropped = sorted(set(c.populations) - set(populations))
    if dropped:
        log.warning("effect curve: populations not in this run: %s", ", ".join(dropped))
    if not populations:
        return None
    gp = gp_frame(sectors)
    provider = [metrics.provider_partnership]
    if gp is not None and set(c.exposures) & set(EXPOSURES):
        provider.append(gp_practice_exposures(gp, cfg.data.validation))
    rows = analysis_rows(
        views.mapped,
        metrics.ics_metrics,
        populations=populations,
        exposures=c.exposures,
        gp_practices=gp,
        nof_trusts=None if nof is None else nof.trusts,
        provider_exposures=provider,
    )
    return effect_curve(rows, c, executor=executor)


def power_stage(
    cfg: RunConfig,
    views: Views,
    sectors: Sequence[PlacedSector],
    metrics: Metrics,
    executor: Executor | None = None,
):
    """Simulate the power of the headline test on its real design (None when off)."""
    from ics_model.effects import simulate_power
    from ics_model.effects.design import build_design

    e, p = cfg.effect, cfg.effect.power
    if p is None or not p.enabled or not e.enabled or not metrics.computed:
        return None
    inputs = headline_population(cfg, views, sectors, metrics)
    if inputs is None:
        return None
    pop, exposure = inputs
    controls = pop.controls if e.controls is None else e.controls
    design = build_design(pop.frame, exposure, e.outcome, tuple(controls), "icb_code")[0]
    return simulate_power(
        design,
        odds_ratios=p.odds_ratios,
        n_sims=p.n_sims,
        model=p.model,
        seed=p.seed,
        executor=executor,
        coverage_by="test",
    )


def with_curve(effect: Effect | None, curve, power=None) -> Effect | None:
    """Return the effect record with the specification curve and the power attached."""
    if curve is None and power is None:
        return effect
    if effect is None:
        return Effect(
            population="curve", skipped="the headline test is off", curve=curve, power=power
        )
    return replace(effect, curve=curve, power=power)


__all__ = ["curve_stage", "gp_practice_exposures", "power_stage", "with_curve"]
