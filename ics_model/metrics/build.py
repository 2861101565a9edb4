"""The metrics stage: every ICS metric of a run.

From the view, the placed providers and the embedded RTT, deprivation and population tables.

:func:`build_metrics` reads each processed table once and builds the patient-flow table
once per RTT part it needs (the partnership proxy uses ``metrics.rtt_part``; access
metrics always use the waiting list, ``incomplete``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import polars as pl

from ics_model.contracts import Mode
from ics_model.data.build import load_processed
from ics_model.mapping.icb_geography import IcbGeography, build_geography, trust_hosts
from ics_model.metrics import partnership, system
from ics_model.metrics.partnership_inputs import FlowTable, flow_table
from ics_model.metrics.reasons import with_geography_notes
from ics_model.metrics.share_counts import share_counts
from ics_model.metrics.spec import MetricsConfig
from ics_model.metrics.user_indicators import join_user_indicators, read_user_indicators

log = logging.getLogger(__name__)

#: embedded sources the metrics read (keys of :data:`ics_model.data.sources.SOURCES`).
METRIC_SOURCES: Final = (
    "rtt_2026_04",
    "icb_2026_crosswalk",
    "ods_eccg_2025",
    "imd2019",
    "iod2019_population",
    "lsoa11_icb23",
    "sub_icb_population_2022",
)


@dataclass(frozen=True)
class Metrics:
    """ICS partnership, inequality and context metrics.

    Attributes
    ----------
    ics_metrics : one row per ICS x metric (:data:`~ics_model.metrics.system.ICS_METRICS`);
        empty when not computed.
    provider_partnership : per trust, the patient-flow partnership proxy (and user
        provider-level indicators).
    flow_matrix : the ICS x ICS patient-flow matrix.
    gp_quintiles : GP practice ratings by deprivation quintile per ICS, when the run has
        the GP sector.
    share_counts : numerator and denominator of each count-based share metric per ICS
        (:data:`~ics_model.metrics.share_counts.SHARE_COUNTS`), for the uncertainty
        analysis; None when not computed.
    sources : embedded sources read (keys of ``SOURCES``).
    nof_trusts : the placed NOF trusts behind the ``nof_*`` metrics (for the Monte Carlo's
        trust bootstrap), when the run rolls NOF segments up.
    """

    ics_metrics: pl.DataFrame
    provider_partnership: pl.DataFrame
    flow_matrix: pl.DataFrame
    gp_quintiles: pl.DataFrame | None = None
    share_counts: pl.DataFrame | None = None
    sources: tuple[str, ...] = ()
    nof_trusts: pl.DataFrame | None = None

    @property
    def computed(self) -> bool:
        """Whether the metrics were computed (metrics enabled in the run's config)."""
        return self.ics_metrics.height > 0


def no_metrics() -> Metrics:
    """Return the metrics of a run that computes none."""
    return Metrics(system.ICS_METRICS.empty(), pl.DataFrame(), pl.DataFrame())


def default_geography(vintage: str = "2023", icb_codes: pl.DataFrame | None = None) -> IcbGeography:
    """Return the ICB geography of ``vintage`` built from the processed tables."""
    return build_geography(
        vintage,
        icb_codes=load_processed("icb_codes") if icb_codes is None else icb_codes,
        successors=load_processed("ods_successors"),
        crosswalk=load_processed("icb_2026_crosswalk"),
        eccg=load_processed("ods_sub_icbs"),
        population=load_processed("sub_icb_population"),
        lsoa_icb=load_processed("lsoa11_icb23"),
        imd=load_processed("imd2019_lsoa"),
    )


def _flow_tables(part: str, geography: IcbGeography | None = None) -> dict[str, FlowTable]:
    """Load the flow table of ``part`` and, if different, of ``incomplete`` (for access rows).

    Commissioners and trust hosts are placed in the geography's ICBs (default: the 42 of
    2023; ODS etr 2025 trusts, a trust whose 2023 host split takes its ODS etr 2026 host).
    """
    geography = default_geography() if geography is None else geography
    flows = load_processed("rtt_flows")
    later = load_processed("ods_trusts_2026") if geography.vintage == "2026" else None
    trusts = trust_hosts(load_processed("ods_trusts_2025"), geography.code_map, later)
    sub_icbs = geography.commissioners
    return {
        p: flow_table(flows, trusts, sub_icbs, part=p) for p in dict.fromkeys((part, "incomplete"))
    }


def _gp_practices(mapped: pl.DataFrame, gp_frame: pl.DataFrame) -> pl.DataFrame:
    """Placed GP practices' Overall ratings with their deprivation quintile."""
    return (
        mapped.filter((pl.col("sector") == "gp_practice") & (pl.col("key_question") == "Overall"))
        .select("provider_id", "icb_code", "rating")
        .join(
            gp_frame.select(pl.col("practice_code").alias("provider_id"), "imd_quintile"),
            on="provider_id",
            how="left",
        )
    )


def build_metrics(
    mc: MetricsConfig,
    view: pl.DataFrame,
    mapped: pl.DataFrame,
    gp_frame: pl.DataFrame | None,
    icb_codes: pl.DataFrame,
    *,
    mode: Mode = "strict",
    geography: IcbGeography | None = None,
) -> Metrics:
    """Partnership, inequality and context metrics for the run's ICBs.

    Parameters
    ----------
    mc : the run's ``metrics`` section.
    view : the ICS view (for rating dispersion).
    mapped : placed providers (GP practices for the SII and quintile table).
    gp_frame : the loaded GP practice file (deprivation quintiles); None without GPs.
    icb_codes : the ICB code table (the 42 of 2023).
    mode : validation mode for the user-indicators file.
    geography : the run's ICB geography (:func:`ics_model.mapping.icb_geography.build_geography`);
        default the 42 ICBs of 2023 (:func:`default_geography`). Flows, deprivation and
        population are placed in its ICBs, and its notes qualify the metrics it affects.

    Returns
    -------
    Metrics
        ``ics_metrics`` in the :data:`~ics_model.metrics.system.ICS_METRICS` contract.
    """
    geo = geography if geography is not None else default_geography("2023", icb_codes)
    icbs = geo.icbs
    tables = _flow_tables(mc.rtt_part, geo)
    table = tables[mc.rtt_part]
    ics_p = partnership.ics_partnership_metrics(
        table,
        icbs,
        partner_threshold=mc.partner_threshold,
        data_notes=geo.flow_notes,
        partial=geo.partial_flows,
    )
    prov_p = partnership.provider_partnership_metrics(table, threshold=mc.partner_threshold)
    parts = [
        system.partnership_rows(ics_p),
        system.dispersion_rows(view),
        system.access_rows(tables["incomplete"], icbs),
        system.deprivation_rows(load_processed("imd2019_lsoa"), geo.lsoas, icbs, geo.population),
    ]
    quintiles = None
    if gp_frame is not None:
        practices = _gp_practices(mapped, gp_frame)
        parts.append(
            system.gp_inequality_rows(
                practices,
                repetitions=mc.sii_repetitions,
                seed=mc.seed,
                min_group_size=mc.min_group_size,
            )
        )
        quintiles = system.gp_quintile_table(practices)
    if mc.user_indicators is not None:
        user = read_user_indicators(mc.user_indicators, mode=mode)
        parts.append(
            system.user_indicator_rows(user.frame, mc.directions, Path(mc.user_indicators).name)
        )
        prov_p = join_user_indicators(prov_p, user.frame, "provider")
    return Metrics(
        ics_metrics=with_geography_notes(
            system.ics_metrics(parts, directions=mc.directions), geo, icbs
        ),
        provider_partnership=prov_p,
        flow_matrix=partnership.ics_flow_matrix(table),
        gp_quintiles=quintiles,
        share_counts=share_counts(table, tables["incomplete"]),
        sources=METRIC_SOURCES,
    )


__all__ = ["METRIC_SOURCES", "Metrics", "build_metrics", "default_geography", "no_metrics"]
