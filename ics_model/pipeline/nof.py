"""The NOF stage: NHS Oversight Framework trust segments placed in ICSs and rolled up.

Reads the NOF segments (``data.nof``, default the embedded 2025/26 Q3 extract), places
them in the run's ICBs (:func:`~ics_model.mapping.nof.place_nof`), derives each trust's
segment with ``nof.rule_set`` beside the published one, rolls the trusts up to ICSs with a
bootstrap of trusts for the likely ranges (modelled), and gives the roll-up's ICS metrics
to the composite. Every row of the file is accounted for (placed: used; the rest:
unmapped with the reason, in ``nof_unplaced.csv``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from ics_model.config import RunConfig
from ics_model.data.base import Loaded
from ics_model.data.nof import read_nof_segments
from ics_model.data.sources import SOURCES
from ics_model.effects.nof_cqc import match_nof_cqc, nof_cqc_correlation, trust_overall_ratings
from ics_model.mapping.nof import place_nof
from ics_model.metrics.build import Metrics
from ics_model.metrics.nof import LOWER_IS_BETTER, SCALE, ics_nof, nof_metric_rows
from ics_model.pipeline.sectors import PlacedSector, Reference, input_file
from ics_model.result import InputFile, NofRecord, NofScenario
from ics_model.rules.nof import check_nof, nof_segments
from ics_model.uncertainty.nof import nof_rank_intervals

log = logging.getLogger(__name__)

#: the conservation report's name of the NOF source
NOF_SOURCE = "nof_segments"
_DEFAULT = "nhs_trust_types_2026"


@dataclass(frozen=True)
class NofStage:
    """The NOF stage's record, and what the run's accounts and provenance need of it."""

    record: NofRecord
    loaded: Loaded
    accounts: pl.DataFrame
    inputs: tuple[InputFile, ...]


def nof_stage(cfg: RunConfig, ref: Reference) -> NofStage | None:
    """Read, place, derive and roll up the NOF segments (None when ``nof.enabled`` is false)."""
    c = cfg.nof
    if not c.enabled:
        return None
    path = cfg.data.nof if cfg.data.nof is not None else SOURCES[_DEFAULT].path
    loaded = read_nof_segments(path, mode=cfg.data.validation)
    placed = place_nof(
        loaded.frame,
        ref.trusts.frame,
        ref.icb_codes.frame,
        successors=ref.successors.frame,
        icb_vintage=cfg.mapping.icb_vintage,
    )
    trusts = nof_segments(placed.placed, c.rule_set).select(
        *placed.placed.columns,
        pl.lit(c.rule_set).alias("rule_set"),
        pl.lit(SCALE).alias("scale"),
        "derived_unadjusted_segment",
        "derived_segment",
        "derived_capped",
    )
    table = ics_nof(
        placed.placed,
        ref.icbs,
        min_trusts=c.min_trusts,
        confidence=cfg.views.confidence,
        by_type=c.by_type,
    )
    table = nof_rank_intervals(
        table,
        placed.placed,
        draws=c.draws,
        method=c.bootstrap_method,
        rng=np.random.default_rng(c.seed),
    )
    months = ", ".join(loaded.frame["data_month"].drop_nulls().unique().sort().to_list())
    vintage = f"NOF 2025/26, data month {months}; rule set {c.rule_set}; {LOWER_IS_BETTER}"
    accounts = pl.DataFrame(
        {
            "source": [NOF_SOURCE, NOF_SOURCE],
            "outcome": ["used", "unmapped"],
            "n_rows": [placed.placed.height, placed.unplaced.height],
        },
        schema={"source": pl.String, "outcome": pl.String, "n_rows": pl.Int64},
    )
    default_vintage = SOURCES[_DEFAULT].vintage if cfg.data.nof is None else "user file"
    record = NofRecord(
        trusts=trusts,
        unplaced=placed.unplaced,
        ics=table,
        check=check_nof(loaded.frame, c.rule_set).summary,
        vintage=vintage,
    )
    return NofStage(record, loaded, accounts, (input_file(NOF_SOURCE, path, default_vintage),))


def compare_with_cqc(
    record: NofRecord, cfg: RunConfig, mapped: pl.DataFrame, sectors: Sequence[PlacedSector]
) -> NofRecord:
    """Add the rank correlation of the NOF average score with the 2018 CQC trust ratings.

    Only when the run has the ``nhs_trust`` sector; shared (ambulance) trusts are read from
    their allocation rows. The bootstrap is seeded from ``nof.seed + 1``.
    """
    if "nhs_trust" not in cfg.views.sectors:
        return record
    allocated = [
        s.placed.allocated
        for s in sectors
        if s.sector == "nhs_trust" and s.placed.allocated is not None
    ]
    cqc = trust_overall_ratings(mapped, pl.concat(allocated) if allocated else None)
    matched, unmatched = match_nof_cqc(record.trusts, cqc)
    correlation = nof_cqc_correlation(
        matched,
        confidence=cfg.views.confidence,
        draws=cfg.nof.draws,
        rng=np.random.default_rng(cfg.nof.seed + 1),
    )
    return replace(record, correlation=correlation, unmatched=unmatched)


def nof_scenarios_stage(
    cfg: RunConfig, record: NofRecord | None, metrics: Metrics
) -> tuple[NofScenario, ...]:
    """Each configured NOF scenario (``kind: nof``), applied to the placed NOF trusts.

    Gates read the run's ICS metrics (scope ``icb``) and provider partnership indicators
    (scope ``provider``); without metrics a gated scenario is skipped with a warning.
    """
    from ics_model.scenarios import (
        NofScenarioSpec,
        get_scenario,
        indicator_frames,
        nof_sweep,
        run_nof_scenario,
    )

    specs = [s for s in map(get_scenario, cfg.scenarios) if isinstance(s, NofScenarioSpec)]
    if record is None or not specs:
        return ()
    indicators: dict[str, pl.DataFrame] = {}
    if metrics.computed:
        prov, icb = indicator_frames(metrics.provider_partnership, metrics.ics_metrics)
        indicators = {"provider_indicators": prov, "icb_indicators": icb}
    out = []
    for spec in specs:
        if spec.gates and not indicators:
            log.warning("NOF scenario %s skipped: its gates need the ICS metrics", spec.name)
            continue
        out.append(
            NofScenario(
                spec=spec,
                result=run_nof_scenario(record.trusts, spec, **indicators),
                sweep=None if spec.sweep is None else nof_sweep(record.trusts, spec, **indicators),
            )
        )
    return tuple(out)


def with_nof_metrics(metrics: Metrics, nof: NofStage | None) -> Metrics:
    """Add the NOF roll-up's ICS metrics (and the trusts, for the Monte Carlo) to ``metrics``."""
    if nof is None or not metrics.computed:
        return metrics
    rows = nof_metric_rows(nof.record.ics).select(metrics.ics_metrics.columns)
    return replace(
        metrics,
        ics_metrics=pl.concat([metrics.ics_metrics, rows.cast(metrics.ics_metrics.schema)]),
        nof_trusts=nof.record.trusts,
    )


__all__ = [
    "NOF_SOURCE",
    "NofStage",
    "compare_with_cqc",
    "nof_scenarios_stage",
    "nof_stage",
    "with_nof_metrics",
]
