"""The stages of the main job after placement.

Each a function of the run config and the records of the stages before it (see
:func:`ics_model.pipeline.run`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

import polars as pl

from ics_model.config import RunConfig
from ics_model.contracts import empty_quarantine
from ics_model.data.base import Loaded
from ics_model.data.sources import SOURCES
from ics_model.mapping import SUPERSEDED_SCHEMA, conservation, loader_accounts
from ics_model.metrics.build import Metrics, build_metrics, no_metrics
from ics_model.pipeline.sectors import PlacedSector, Reference, input_file
from ics_model.result import (
    MODELLED_NOTE,
    Composite,
    Conservation,
    Effect,
    InputFile,
    Provenance,
    RatingHistory,
    Scenario,
    Views,
)
from ics_model.rules.ics import add_modelled_ratings
from ics_model.uncertainty import UncertaintyResult
from ics_model.views import ics_view, ics_view_by

log = logging.getLogger(__name__)


def _superseded_rows(sector: PlacedSector) -> pl.DataFrame:
    """Return a loader's superseded rows in the superseded report's layout (one row each)."""
    sup = sector.loaded.superseded
    if sup is None or sup.is_empty():
        return pl.DataFrame(schema=SUPERSEDED_SCHEMA)
    id_col = "provider_id" if "provider_id" in sup.columns else "practice_code"
    return sup.select(
        pl.lit(sector.source).alias("source"),
        pl.col("source_row").cast(pl.Int64),
        pl.col(id_col).cast(pl.String).alias("provider_id"),
        pl.lit(1, pl.Int64).alias("n_rows"),
        pl.col("reason").cast(pl.String),
    )


def account(
    sectors: Sequence[PlacedSector],
    ref: Reference,
    extra: Sequence[tuple[Loaded, pl.DataFrame]] = (),
) -> Conservation:
    """Account for every input row: used, inherited, superseded, quarantined or unmapped.

    ``extra``: other sources the run read, each as its loaded file and its accounts
    (``source``, ``outcome``, ``n_rows``; e.g. the NOF segments: placed trusts used, other
    rows unmapped), whose quarantined rows are added here.

    Raises
    ------
    AssertionError
        A source's outcomes do not add up to its input rows (a bug, never a data problem).
    """
    n_sup = [0 if s.loaded.superseded is None else s.loaded.superseded.height for s in sectors]
    accounts = [
        pl.concat([s.placed.accounts, loader_accounts(s.source, s.loaded.quarantine.height, n)])
        for s, n in zip(sectors, n_sup, strict=True)
    ]
    ref_accounts = pl.DataFrame(  # reference sources: every row is used or quarantined
        [
            (name, outcome, n)
            for name, ld in ref.loaded.items()
            for outcome, n in (("used", ld.frame.height), ("quarantined", ld.quarantine.height))
        ],
        schema={"source": pl.String, "outcome": pl.String, "n_rows": pl.Int64},
        orient="row",
    )
    inputs = {s.source: s.loaded.n_input_rows for s in sectors}
    inputs |= {name: ld.n_input_rows for name, ld in ref.loaded.items()}
    for ld, acc in extra:
        name = acc["source"][0]
        inputs[name] = ld.n_input_rows
        accounts.append(pl.concat([acc, loader_accounts(name, ld.quarantine.height, 0)]))
    table = conservation(pl.concat([*accounts, ref_accounts]), inputs)
    if not table["balanced"].all():
        raise AssertionError(f"row conservation failed:\n{table}")
    checks = [s.placed.checks for s in sectors if s.placed.checks is not None]
    quarantines = [ld.quarantine for ld in ref.loaded.values()]
    quarantines += [s.loaded.quarantine for s in sectors]
    quarantines += [ld.quarantine for ld, _ in extra]
    return Conservation(
        table=table,
        unmapped=pl.concat([s.placed.unmapped for s in sectors]),
        quarantine=pl.concat([q for q in quarantines if q.height] or [empty_quarantine()]),
        superseded=pl.concat(
            [*(_superseded_rows(s) for s in sectors), *(s.placed.superseded for s in sectors)]
        ),
        set_aside=pl.concat([s.placed.set_aside for s in sectors]),
        placement_checks=pl.concat(checks) if checks else None,
    )


def build_views(cfg: RunConfig, sectors: Sequence[PlacedSector], ref: Reference) -> Views:
    """Build the ICS views, the views by trust type and the modelled ICS ratings.

    The modelled ratings join the main view only when ``views.modelled_ratings`` is true.
    """
    mapped = pl.concat([s.placed.ratings for s in sectors])
    # ICB names of the run's geography (April 2026 codes carry their own names)
    names = dict(zip(ref.icbs["icb_code"], ref.icbs["icb_name"], strict=True))
    mapped = mapped.with_columns(
        pl.col("icb_code").replace_strict(names, default=pl.col("icb_name")).alias("icb_name")
    )
    vintages = {s.sector: s.vintage for s in sectors}
    view = ics_view(
        mapped,
        ref.icbs,
        vintages=vintages,
        confidence=cfg.views.confidence,
        sectors=tuple(vintages),
    )
    with_modelled, modelled = add_modelled_ratings(view, cfg.rules.ics_rule_sets)
    if cfg.views.modelled_ratings:
        view = with_modelled
    shared = [s.placed.allocated for s in sectors if s.placed.allocated is not None]
    allocations = [s.allocation for s in sectors if s.allocation is not None]
    by_type = None
    if "trust_type" in cfg.views.by:
        by_type = ics_view_by(
            mapped,
            ref.icbs,
            vintages=vintages,
            by="trust_type",
            allocated=pl.concat(shared) if shared else None,
            confidence=cfg.views.confidence,
        )
    return Views(
        mapped=mapped,
        ics_view=view,
        icbs=ref.icbs,
        ics_modelled=modelled,
        by_trust_type=by_type,
        ambulance_allocation=pl.concat(allocations) if allocations else None,
        geography=None if ref.geography is None else ref.geography.changes,
    )


def history_stage(cfg: RunConfig, sectors: Sequence[PlacedSector]) -> RatingHistory | None:
    """Ratings in force and rating transitions of the sectors whose files carry history.

    Transitions run up to ``ratings.as_of`` (all ratings when it is null) and are counted
    per ICS over the units the run placed and kept (``views.mapped``); units set aside or
    not placed keep a null ``icb_code``. None when no sector's file carries history.
    """
    from ics_model.mapping.history import SECTOR_RATINGS_IN_FORCE
    from ics_model.mapping.transitions import (
        ics_rating_transitions,
        ics_transition_summary,
        rating_transitions,
    )

    until = cfg.ratings.as_of
    parts = []
    for s in sectors:
        if s.in_force is None:
            continue
        kept = s.placed.ratings
        transitions = rating_transitions(
            s.loaded.frame, s.loaded.history, kept, until=until, sector=s.sector
        )
        parts.append(
            (
                s.in_force.select(
                    pl.lit(s.sector)
                    .cast(SECTOR_RATINGS_IN_FORCE.column("sector").dtype)
                    .alias("sector"),
                    pl.all(),
                ),
                transitions,
                ics_rating_transitions(transitions, kept, until=until, sector=s.sector),
                ics_transition_summary(transitions, kept, until=until, sector=s.sector),
            )
        )
    if not parts:
        return None
    in_force, transitions, pairs, summary = (
        pl.concat(p, how="diagonal") for p in zip(*parts, strict=True)
    )
    return RatingHistory(
        in_force=in_force, transitions=transitions, ics_transitions=pairs, ics_summary=summary
    )


def gp_frame(sectors: Sequence[PlacedSector]) -> pl.DataFrame | None:
    """Return the GP practices' loaded frame (None when the run has no GP sector)."""
    return next((s.loaded.frame for s in sectors if s.sector == "gp_practice"), None)


def metrics_stage(
    cfg: RunConfig, views: Views, sectors: Sequence[PlacedSector], ref: Reference
) -> Metrics:
    """ICS metrics on the run's ICBs (``mapping.icb_vintage``) when enabled (none otherwise)."""
    if not cfg.metrics.enabled:
        return no_metrics()
    return build_metrics(
        cfg.metrics,
        views.ics_view,
        views.mapped,
        gp_frame(sectors),
        ref.icb_codes.frame,
        mode=cfg.data.validation,
        geography=ref.geography,
    )


def composite_stage(cfg: RunConfig, views: Views, metrics: Metrics) -> Composite | None:
    """Build the modelled composite and its correlation report (needs the ICS metrics)."""
    from ics_model.composite import composite, correlations, indicator_matrix

    if cfg.composite is None or not metrics.computed:
        return None
    matrix = indicator_matrix(views.ics_view, metrics.ics_metrics, cfg.composite)
    return Composite(
        matrix=matrix,
        built=composite(matrix, cfg.composite),
        correlations=correlations(matrix, cfg.composite),
    )


def uncertainty_stage(
    cfg: RunConfig,
    composite: Composite | None,
    views: Views,
    *,
    metrics: Metrics | None = None,
    executor: Executor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> UncertaintyResult | None:
    """Monte Carlo ranks and, when configured, Sobol indices of the composite.

    The providers (bootstrap) and the metrics' counts (``metrics``: quintile table and
    share counts) give every indicator its sampling distribution.
    """
    from ics_model.uncertainty import SamplingInputs, run_uncertainty

    if cfg.uncertainty is None or composite is None or cfg.composite is None:
        return None
    sampling = None
    if metrics is not None and metrics.computed:
        sampling = SamplingInputs(
            quintiles=metrics.gp_quintiles,
            share_counts=metrics.share_counts,
            nof_trusts=metrics.nof_trusts,
        )
    return run_uncertainty(
        composite.matrix,
        cfg.uncertainty,
        cfg.composite,
        providers=views.mapped,
        sampling=sampling,
        executor=executor,
        progress=progress,
    )


def scenarios_stage(cfg: RunConfig, views: Views, metrics: Metrics) -> tuple[Scenario, ...]:
    """Each configured collaboration-gate scenario whose sector is in the run."""
    from ics_model.scenarios import (
        get_scenario,
        indicator_frames,
        run_scenario,
        threshold_sweep,
        threshold_uncertainty,
    )

    if not cfg.scenarios or not metrics.computed:
        return ()
    mapped = views.mapped
    indicators = dict(
        zip(
            ("provider_indicators", "icb_indicators"),
            indicator_frames(metrics.provider_partnership, metrics.ics_metrics),
            strict=True,
        )
    )
    in_run = set(mapped["sector"].cast(pl.String).unique())
    u = cfg.uncertainty
    out = []
    for name in cfg.scenarios:
        spec = get_scenario(name)
        if spec.kind == "nof":  # NOF scenarios: ics_model.pipeline.nof.nof_scenarios_stage
            continue
        if spec.sector not in in_run:
            log.warning("scenario %s skipped: sector %s is not in this run", spec.name, spec.sector)
            continue
        spread = None if u is None else u.gate_threshold_spread
        out.append(
            Scenario(
                spec=spec,
                result=run_scenario(mapped, spec, **indicators),
                sweep=None if spec.sweep is None else threshold_sweep(mapped, spec, **indicators),
                threshold_uncertainty=None
                if spread is None
                else threshold_uncertainty(
                    mapped, spec, spread=spread, draws=u.draws, seed=u.seed, **indicators
                ),
            )
        )
    return tuple(out)


def _outcome_overlap(cfg: RunConfig) -> str | None:
    """Return a warning when the composite includes indicators built on the effect's outcome."""
    e = cfg.effect
    share = {"Outstanding": "share_outstanding", "Good": "share_good_or_outstanding"}.get(e.outcome)
    indicators = cfg.composite.indicators if cfg.composite is not None else ()
    overlap = [i.name for _, i in indicators if share and i.source.endswith(f":{share}")]
    if not overlap:
        return None
    return (
        f"the composite includes indicators built on the effect's outcome ({e.outcome}): "
        f"{', '.join(overlap)}; do not read the composite and the association together "
        "as independent evidence"
    )


def headline_population(
    cfg: RunConfig, views: Views, sectors: Sequence[PlacedSector], metrics: Metrics
):
    """Return the headline test's providers and ICS-level exposure (None without GPs).

    Shared by the headline test (:func:`effect_stage`) and its power simulation
    (:func:`ics_model.pipeline.effects.power_stage`), which must use one design.
    """
    from ics_model.effects import default_population

    e = cfg.effect
    sector = "nhs_trust" if e.population == "nhs_trusts" else "gp_practice"
    gp = gp_frame(sectors)
    if sector == "gp_practice" and gp is None:
        return None
    pop = default_population(
        views.mapped,
        gp,
        sector=sector,
        since=None if e.population == "gp_all_years" else "2022-07-01",
    )
    exposure = metrics.ics_metrics.filter(pl.col("metric") == e.exposure).select(
        "icb_code", pl.col("value").alias(e.exposure)
    )
    return pop, exposure


def effect_stage(
    cfg: RunConfig, views: Views, sectors: Sequence[PlacedSector], metrics: Metrics
) -> Effect | None:
    """Estimate the collaboration -> Outstanding association (an association, not causal)."""
    from ics_model.effects import collaboration_effect

    e = cfg.effect
    if not e.enabled or not metrics.computed:
        return None
    inputs = headline_population(cfg, views, sectors, metrics)
    if inputs is None:
        return Effect(e.population, skipped="the GP practice sector is not in this run")
    pop, exposure = inputs
    result = collaboration_effect(
        pop.frame,
        exposure,
        outcome=e.outcome,
        controls=pop.controls if e.controls is None else e.controls,
        permutations=e.permutations,
        seed=e.seed,
    ).with_caveats(pop.caveats)
    return Effect(e.population, result=result, warning=_outcome_overlap(cfg))


def provenance(
    cfg: RunConfig,
    ref: Reference,
    sectors: Sequence[PlacedSector],
    metrics: Metrics,
    extra: Sequence[InputFile] = (),
) -> Provenance:
    """Every file the run read (with sha256) and the vintage of each sector's figures."""
    inputs: list[InputFile] = [*ref.inputs, *extra]
    for s in sectors:
        inputs.extend(s.inputs)
    read = {i.role for i in inputs}
    inputs.extend(
        input_file(n, SOURCES[n].path, SOURCES[n].vintage) for n in metrics.sources if n not in read
    )
    if metrics.computed and cfg.metrics.user_indicators is not None:
        inputs.append(input_file("user_indicators", cfg.metrics.user_indicators, "user file"))
    return Provenance(
        inputs=tuple(inputs),
        vintages={s.sector: s.vintage for s in sectors},
        notes=(MODELLED_NOTE,),
    )
