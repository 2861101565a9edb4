"""Partnership metrics from RTT patient flows: a **modelled proxy**, not collaboration itself.

Every metric here is a *patient-flow interdependence (modelled proxy for system
partnership)* (:data:`PROXY_LABEL`). Flows between a system's residents and its providers
are a standard, data-driven description of how interdependent its providers are, but they
also reflect geography, tertiary centres and elective markets; and which direction counts
as "better" is a value judgement, held in :data:`DEFAULT_DIRECTIONS` and overridable.

Inputs come from :func:`~ics_model.metrics.partnership_inputs.flow_table` (RTT rows
classified by provider and commissioner category). Geography: the 42 ICBs of April 2023
by default (trust host ICBs from ODS ``etr`` 2025, residents' ICBs from the ODS ``eccg``
2025 parent of each sub-ICB location), or the run's ICB geography
(:mod:`ics_model.mapping.icb_geography`: the ICB crosswalk places the April 2026 code
U2G6B, and the April 2026 vintage places every code in the 36 ICBs). Commissioning hubs,
non-geographic commissioners (NONC, NHS England regions) and sub-ICB codes that cannot be
placed belong to no ICS's residents: they are excluded from every resident-based figure
and reported apart.

References
----------
- Dartmouth Atlas of Health Care: the "localization index" (share of residents' care
  delivered within their own hospital service area), the model of ``self_containment``.
- Coombes, M. and Bond, S. (2008), *Travel-to-Work Areas: the 2007 review*, ONS: supply- and
  demand-side self-containment of flow-defined areas.
- Herfindahl-Hirschman index as used for hospital market concentration, e.g. Gaynor, Ho
  and Town (2015), *The industrial organization of health-care markets*, J. Econ. Lit. 53(2).
- NHS England, RTT waiting times statistics (full CSV data file).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.data.ods import ICB_CODE_PATTERN
from ics_model.metrics.partnership_inputs import (
    PROXY_LABEL,
    RESIDENT_CATEGORIES,
    FlowTable,
)

logger = logging.getLogger(__name__)

#: Data notes per RTT period: ICBs (2023 codes) whose resident flows are affected, when
#: the flows are classified on ODS eccg alone (a run passes its geography's notes).
ICB_DATA_NOTES: Final[dict[str, dict[str, str]]] = {
    "RTT-April-2026": {
        "QNQ": (
            "Frimley's sub-ICB D4U1Y is absent from RTT April 2026 (its area is reported "
            "under the April 2026 codes U2G6B (Thames Valley), 92A and D9Y0V) and succ.csv "
            "has no D4U1Y successor row"
        ),
        "QXU": (
            "April 2026 sub-ICB 92A may include former Frimley residents (Surrey Heath, "
            "Farnham), counted here as Surrey Heartlands residents"
        ),
        "QRL": (
            "April 2026 sub-ICB D9Y0V may include former Frimley residents (north-east "
            "Hampshire), counted here as Hampshire and Isle of Wight residents"
        ),
    },
}

_ICB = ICB_CODE_PATTERN
_SHARE = {"min_value": 0.0, "max_value": 1.0}
_LABEL = Column("construct", pl.String, nullable=False, description=PROXY_LABEL)

ICS_FLOW_MATRIX: Final = Contract(
    name="ics_flow_matrix",
    description=f"Residents' ICS x providers' ICS pathways (long); {PROXY_LABEL}.",
    key=("resident_icb_code", "provider_icb_code"),
    columns=(
        Column("resident_icb_code", pl.String, nullable=False, pattern=_ICB),
        Column.text(
            "provider_icb_code",
            "host ICB of the NHS trusts, or the non-trust category",
            pattern=f"{_ICB}|independent_sector|unknown_nhs",
        ),
        Column("is_home", pl.Boolean, nullable=False),
        Column("pathways", pl.Int64, nullable=False, min_value=0),
        Column("share_of_resident", pl.Float64, nullable=False, **_SHARE),
    ),
)

ICS_PARTNERSHIP: Final = Contract(
    name="ics_partnership",
    description=f"Per-ICS flow metrics; {PROXY_LABEL}.",
    key=("icb_code",),
    columns=(
        Column("icb_code", pl.String, nullable=False, pattern=_ICB),
        Column("icb_name", pl.String),
        Column("resident_pathways", pl.Int64, nullable=False, min_value=0),
        Column("self_containment", pl.Float64, **_SHARE),
        Column("share_other_ics_trusts", pl.Float64, **_SHARE),
        Column("share_independent_sector", pl.Float64, **_SHARE),
        Column("share_unknown_nhs", pl.Float64, **_SHARE),
        Column("n_partner_icss", pl.Int64, min_value=0),
        Column("partner_icss", pl.String, description="partners by share, descending"),
        Column("hosted_pathways", pl.Int64, nullable=False, min_value=0),
        Column("hosted_geographic_pathways", pl.Int64, nullable=False, min_value=0),
        Column("inflow_share", pl.Float64, **_SHARE),
        Column("hub_share_at_hosted", pl.Float64, **_SHARE),
        Column("unplaced_share_at_hosted", pl.Float64, **_SHARE),
        Column("n_trusts_hosted", pl.Int64, nullable=False, min_value=0),
        Column("n_trusts_with_flows", pl.Int64, nullable=False, min_value=0),
        Column("trusts_without_flows", pl.String, description="comma-separated ODS codes"),
        Column("complete", pl.Boolean, nullable=False),
        Column("note", pl.String),
        _LABEL,
    ),
)

PROVIDER_PARTNERSHIP: Final = Contract(
    name="provider_partnership",
    description=f"Per-NHS-trust flow metrics; {PROXY_LABEL}.",
    key=("provider_id",),
    columns=(
        Column("provider_id", pl.String, nullable=False, description="ODS trust code"),
        Column("provider_name", pl.String, nullable=False),
        Column("icb_code", pl.String, nullable=False, pattern=_ICB, description="host ICB"),
        Column("has_flows", pl.Boolean, nullable=False),
        Column("total_pathways", pl.Int64, min_value=0, description="all commissioners"),
        Column("geographic_pathways", pl.Int64, min_value=0, description="placed residents"),
        Column("home_system_share", pl.Float64, **_SHARE),
        Column("n_commissioning_icss", pl.Int64, min_value=0),
        Column("hhi_commissioning_icss", pl.Float64, **_SHARE),
        Column("hub_share", pl.Float64, **_SHARE),
        Column("unplaced_share", pl.Float64, **_SHARE),
        Column("note", pl.String),
        _LABEL,
    ),
)


def _check_threshold(value: float, name: str) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {value}")


def _residents(table: FlowTable) -> pl.DataFrame:
    return table.flows.filter(
        pl.col("commissioner_category").cast(pl.String).is_in(list(RESIDENT_CATEGORIES))
    )


def ics_flow_matrix(table: FlowTable) -> pl.DataFrame:
    """Return the ICS x ICS flow matrix as a long frame (residents' ICS -> providers' ICS).

    Formula: ``share_of_resident[i, j] = P[i, j] / sum_k P[i, k]``, where ``P[i, j]`` is
    the pathways of residents of ICS ``i`` (sub-ICB locations and reporting entities placed
    by their ODS ``eccg`` 2025 parent) at NHS trusts hosted in ICS ``j`` (ODS ``etr`` 2025),
    with ``j`` also taking the values ``independent_sector`` and ``unknown_nhs``.
    Numerator: pathways from ``i`` to ``j``; denominator: all pathways of ``i``'s residents.
    Hubs and non-geographic commissioners have no resident ICS and are not in the matrix.

    Returns
    -------
    pl.DataFrame
        Per :data:`ICS_FLOW_MATRIX`: resident_icb_code, provider_icb_code, is_home,
        pathways, share_of_resident (summing to 1 over each resident ICS). Vintage: the
        table's RTT period; a :data:`PROXY_LABEL`.
    """
    res = _residents(table).with_columns(
        pl.when(pl.col("provider_category") == "nhs_trust")
        .then(pl.col("provider_icb_code"))
        .otherwise(pl.col("provider_category").cast(pl.String))
        .alias("provider_icb_code")
    )
    out = (
        res.group_by("resident_icb_code", "provider_icb_code")
        .agg(pl.col("pathways").sum())
        .with_columns(
            (pl.col("resident_icb_code") == pl.col("provider_icb_code")).alias("is_home"),
            (pl.col("pathways") / pl.col("pathways").sum().over("resident_icb_code"))
            .fill_nan(0.0)
            .alias("share_of_resident"),
        )
        .select(ICS_FLOW_MATRIX.column_names)
        .sort(
            ["resident_icb_code", "pathways", "provider_icb_code"],
            descending=[False, True, False],
        )
    )
    return validate(out, ICS_FLOW_MATRIX).frame


def _share(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))


def _trust_notes(trusts: pl.DataFrame) -> pl.DataFrame:
    """Per host ICB: counts, codes without flows, completeness and a note."""
    st = pl.col("flow_status").cast(pl.String)
    missing = ~pl.col("has_flows")

    def codes(cond: pl.Expr) -> pl.Expr:
        return pl.col("org_code").filter(cond).sort().str.join(", ")

    hosted = trusts.filter(pl.col("is_open"))
    agg = hosted.group_by("icb_code").agg(
        pl.len().cast(pl.Int64).alias("n_trusts_hosted"),
        pl.col("has_flows").sum().cast(pl.Int64).alias("n_trusts_with_flows"),
        codes(missing).alias("trusts_without_flows"),
        pl.col("critical").any().alias("_critical"),
        codes(st == "known_non_submitter").alias("_known"),
        codes(st == "acute_looking_no_flows").alias("_acute"),
        codes(st == "non_elective_by_name").alias("_nonel"),
        (st == "non_elective_by_name").sum().alias("_n_nonel"),
        codes(st == "no_flows_unclear").alias("_unclear"),
    )
    parts = [
        pl.when(pl.col("_known") != "").then(
            pl.format("{} submitted no RTT data (known data note)", "_known")
        ),
        pl.when(pl.col("_acute") != "").then(
            pl.format("named like acute trusts but no RTT rows (did not submit?): {}", "_acute")
        ),
        pl.when(pl.col("_nonel") != "").then(
            pl.format(
                "mental health/community/ambulance trusts (by name) have no elective flows: "
                "{} ({})",
                "_n_nonel",
                "_nonel",
            )
        ),
        pl.when(pl.col("_unclear") != "").then(
            pl.format("no RTT rows (non-elective trust type, or did not submit): {}", "_unclear")
        ),
    ]
    return agg.with_columns(
        pl.when(pl.col("trusts_without_flows") != "").then(pl.col("trusts_without_flows")),
        pl.concat_list(parts).list.drop_nulls().list.join("; ").alias("_trust_note"),
    ).drop("_known", "_acute", "_nonel", "_n_nonel", "_unclear")


def ics_partnership_metrics(
    table: FlowTable,
    icb_codes: pl.DataFrame,
    *,
    partner_threshold: float = 0.05,
    data_notes: Mapping[str, str] | None = None,
    partial: Collection[str] = (),
) -> pl.DataFrame:
    """Per-ICS patient-flow interdependence (modelled proxy for system partnership).

    Let ``R_i`` be all pathways of ICS ``i``'s residents (its sub-ICB locations and
    reporting entities; any provider), ``H_i`` all pathways at NHS trusts hosted in ``i``
    (any commissioner) and ``G_i`` the part of ``H_i`` from placed residents of any ICS.

    - ``self_containment`` = pathways of ``i``'s residents at trusts hosted in ``i`` / ``R_i``
      (the denominator includes independent-sector providers and other ICSs' trusts).
    - ``share_other_ics_trusts``, ``share_independent_sector``, ``share_unknown_nhs``: the
      same denominator; the four shares sum to 1.
    - ``n_partner_icss``: other ICSs whose hosted trusts receive ``>= partner_threshold``
      of ``R_i`` (``partner_icss`` lists them by share).
    - ``inflow_share`` = pathways at ``i``'s trusts from residents of other ICSs / ``G_i``
      (placed, geographic commissioners only). ``hub_share_at_hosted`` = pathways
      commissioned by NHS England hubs / ``H_i``; ``unplaced_share_at_hosted`` = pathways
      from non-geographic or unplaceable commissioners / ``H_i``: reported apart.

    Parameters
    ----------
    table : :func:`flow_table` output.
    icb_codes : the ICB list (icb_code, icb_name): every ICB gets a row (42 for 2023).
    partner_threshold : the share above which another ICS counts as a partner.
    data_notes : ICB -> a note on its resident flows; default :data:`ICB_DATA_NOTES` of
        the table's period (a run passes its geography's notes,
        :attr:`~ics_model.mapping.icb_geography.IcbGeography.flow_notes`).
    partial : ICBs whose residents the flows cover only in part (``complete`` false).

    Returns
    -------
    pl.DataFrame
        Per :data:`ICS_PARTNERSHIP`. An ICB with no resident flows (Frimley, QNQ, in April
        2026 without the ICB crosswalk) gets null metrics (inflow too: its own residents
        cannot be told from others) and a note. Coverage: ``n_trusts_hosted`` (open English
        trusts of ODS etr 2025), ``n_trusts_with_flows``, ``trusts_without_flows``,
        ``complete`` (false when a hosted trust known not to have submitted, or named like an
        acute trust, has no rows, when there are no resident flows, or for an ICB in
        ``partial``), ``note``. Vintage: the table's RTT period; geography of the table (April
        2023 by default).

    References
    ----------
    Dartmouth Atlas localization index; ONS Travel-to-Work Areas self-containment (see the
    module docstring).
    """
    _check_threshold(partner_threshold, "partner_threshold")
    f = table.flows
    icbs = icb_codes.select("icb_code", "icb_name").unique("icb_code").sort("icb_code")
    known = set(icbs["icb_code"])
    stray = sorted(
        (set(f["resident_icb_code"].drop_nulls()) | set(f["provider_icb_code"].drop_nulls()))
        - known
    )
    if stray:
        logger.warning("ICB codes in the flows but not in icb_codes (ignored here): %s", stray)
    matrix = ics_flow_matrix(table)
    trust = pl.col("provider_icb_code").str.contains(f"^(?:{_ICB})$")
    res = matrix.group_by(pl.col("resident_icb_code").alias("icb_code")).agg(
        pl.col("pathways").sum().alias("resident_pathways"),
        pl.col("pathways").filter("is_home").sum().alias("_self"),
        pl.col("pathways").filter(trust & ~pl.col("is_home")).sum().alias("_other"),
        pl.col("pathways")
        .filter(pl.col("provider_icb_code") == "independent_sector")
        .sum()
        .alias("_is"),
        pl.col("pathways").filter(pl.col("provider_icb_code") == "unknown_nhs").sum().alias("_unk"),
    )
    partners = (
        matrix.filter(
            trust & ~pl.col("is_home") & (pl.col("share_of_resident") >= partner_threshold)
        )
        .sort("share_of_resident", descending=True)
        .group_by(pl.col("resident_icb_code").alias("icb_code"), maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("n_partner_icss"),
            pl.col("provider_icb_code").str.join(", ").alias("partner_icss"),
        )
    )
    at = f.filter(pl.col("provider_category") == "nhs_trust")
    comm = pl.col("commissioner_category").cast(pl.String)
    placed = pl.col("resident_icb_code").is_not_null()
    hosted = at.group_by(pl.col("provider_icb_code").alias("icb_code")).agg(
        pl.col("pathways").sum().alias("hosted_pathways"),
        pl.col("pathways").filter(placed).sum().alias("hosted_geographic_pathways"),
        pl.col("pathways")
        .filter(placed & (pl.col("resident_icb_code") != pl.col("provider_icb_code")))
        .sum()
        .alias("_inflow"),
        pl.col("pathways").filter(comm == "commissioning_hub").sum().alias("_hub"),
        pl.col("pathways").filter(~placed & (comm != "commissioning_hub")).sum().alias("_unplaced"),
    )
    notes = ICB_DATA_NOTES.get(table.period, {}) if data_notes is None else data_notes
    zero = ["resident_pathways", "hosted_pathways", "hosted_geographic_pathways"]
    has_res = pl.col("resident_pathways") > 0
    out = (
        icbs.join(res, on="icb_code", how="left")
        .join(partners, on="icb_code", how="left")
        .join(hosted, on="icb_code", how="left")
        .join(_trust_notes(table.trusts), on="icb_code", how="left")
        .with_columns(
            pl.col(zero).fill_null(0).cast(pl.Int64),
            pl.col("n_trusts_hosted", "n_trusts_with_flows").fill_null(0),
        )
        .with_columns(
            _share("_self", "resident_pathways").alias("self_containment"),
            _share("_other", "resident_pathways").alias("share_other_ics_trusts"),
            _share("_is", "resident_pathways").alias("share_independent_sector"),
            _share("_unk", "resident_pathways").alias("share_unknown_nhs"),
            pl.when(has_res).then(pl.col("n_partner_icss").fill_null(0)).alias("n_partner_icss"),
            pl.when(has_res).then(pl.col("partner_icss")).alias("partner_icss"),
            pl.when(has_res)
            .then(_share("_inflow", "hosted_geographic_pathways"))
            .alias("inflow_share"),
            _share("_hub", "hosted_pathways").alias("hub_share_at_hosted"),
            _share("_unplaced", "hosted_pathways").alias("unplaced_share_at_hosted"),
            (
                has_res
                & ~pl.col("_critical").fill_null(False)
                & ~pl.col("icb_code").is_in(sorted(partial))
            ).alias("complete"),
        )
    )
    data_note = pl.col("icb_code").replace_strict(notes, default=None, return_dtype=pl.String)
    no_res = pl.when(~has_res).then(
        pl.lit("no resident flows in the run's ICB geography: flow metrics are null")
    )
    no_trust = pl.when(pl.col("n_trusts_hosted") == 0).then(pl.lit("hosts no open NHS trust"))
    out = out.with_columns(
        pl.concat_list(no_res, data_note, no_trust, pl.col("_trust_note"))
        .list.drop_nulls()
        .list.eval(pl.element().filter(pl.element() != ""))
        .list.join("; ")
        .alias("note"),
        pl.lit(PROXY_LABEL).alias("construct"),
    ).with_columns(pl.when(pl.col("note") != "").then(pl.col("note")).alias("note"))
    out = out.select(ICS_PARTNERSHIP.column_names).sort("icb_code")
    return validate(out, ICS_PARTNERSHIP).frame


def provider_partnership_metrics(table: FlowTable, *, threshold: float = 0.05) -> pl.DataFrame:
    """Per-NHS-trust patient-flow interdependence (modelled proxy for system partnership).

    For trust ``p`` hosted in ICS ``h``, with ``s_k`` = pathways at ``p`` of residents of
    ICS ``k`` / ``G_p`` and ``G_p`` = pathways at ``p`` of placed residents of any ICS
    (geographic commissioners only; hubs and non-geographic commissioners excluded):

    - ``home_system_share`` = ``s_h`` (numerator: pathways of the host ICS's residents;
      denominator: ``G_p``).
    - ``n_commissioning_icss`` = number of ICSs ``k`` (home included) with ``s_k >= threshold``.
    - ``hhi_commissioning_icss`` = ``sum_k s_k**2`` (Herfindahl-Hirschman index; 1 = a single
      commissioning ICS, ``1/n`` = ``n`` equal ones).
    - ``hub_share``, ``unplaced_share``: hub and non-geographic/unplaceable pathways over
      ``total_pathways`` (all commissioners), reported apart.

    Parameters
    ----------
    table : :func:`flow_table` output.
    threshold : the share from which an ICS counts as commissioning the trust.

    Returns
    -------
    pl.DataFrame
        Per :data:`PROVIDER_PARTNERSHIP`, one row per open English trust of ODS etr 2025
        (plus any other etr trust with flows): ``provider_id`` (ODS code), ``icb_code``
        (host, in the table's geography). Trusts without flows have null metrics and the
        reason in ``note``; trusts hosted by an ICB with no resident flows have null shares,
        since their home residents cannot be identified. Vintage: the table's RTT period.

    References
    ----------
    Herfindahl-Hirschman index; see the module docstring.
    """
    _check_threshold(threshold, "threshold")
    f = table.flows.filter(pl.col("provider_category") == "nhs_trust")
    placed = pl.col("resident_icb_code").is_not_null()
    comm = pl.col("commissioner_category").cast(pl.String)
    totals = f.group_by(pl.col("provider_code").alias("provider_id")).agg(
        pl.col("pathways").sum().alias("total_pathways"),
        pl.col("pathways").filter(placed).sum().alias("geographic_pathways"),
        pl.col("pathways")
        .filter(placed & (pl.col("resident_icb_code") == pl.col("provider_icb_code")))
        .sum()
        .alias("_home"),
        pl.col("pathways").filter(comm == "commissioning_hub").sum().alias("_hub"),
        pl.col("pathways").filter(~placed & (comm != "commissioning_hub")).sum().alias("_unplaced"),
    )
    shares = (
        f.filter(placed)
        .group_by(pl.col("provider_code").alias("provider_id"), "resident_icb_code")
        .agg(pl.col("pathways").sum())
        # a fixed row order makes the floating-point sums (and outputs) reproducible
        .sort("provider_id", "resident_icb_code")
        .with_columns(
            (pl.col("pathways") / pl.col("pathways").sum().over("provider_id")).alias("s")
        )
        .group_by("provider_id", maintain_order=True)
        .agg(
            (pl.col("s") >= threshold).sum().cast(pl.Int64).alias("n_commissioning_icss"),
            (pl.col("s") ** 2).sum().alias("hhi_commissioning_icss"),
        )
    )
    residents = set(_residents(table)["resident_icb_code"].drop_nulls())
    host_ok = pl.col("icb_code").is_in(sorted(residents))
    notes = ICB_DATA_NOTES.get(table.period, {})
    host_note = pl.col("icb_code").replace_strict(notes, default=None, return_dtype=pl.String)
    usable = pl.col("has_flows") & host_ok & (pl.col("geographic_pathways") > 0)
    out = (
        table.trusts.select(
            pl.col("org_code").alias("provider_id"),
            pl.col("name").alias("provider_name"),
            "icb_code",
            "has_flows",
            "is_open",
            pl.col("reason").alias("_reason"),
        )
        .join(totals, on="provider_id", how="left")
        .join(shares, on="provider_id", how="left")
        .with_columns(
            pl.when(usable).then(_share("_home", "geographic_pathways")).alias("home_system_share"),
            pl.when(usable).then(pl.col("n_commissioning_icss")).alias("n_commissioning_icss"),
            pl.when(usable).then(pl.col("hhi_commissioning_icss")).alias("hhi_commissioning_icss"),
            _share("_hub", "total_pathways").alias("hub_share"),
            _share("_unplaced", "total_pathways").alias("unplaced_share"),
        )
    )
    note = pl.concat_list(
        pl.col("_reason"),
        pl.when(~pl.col("is_open")).then(pl.lit("closed in ODS etr 2025")),
        pl.when(pl.col("has_flows") & ~host_ok).then(
            pl.concat_str(
                pl.lit("host ICB "),
                pl.col("icb_code"),
                pl.lit(" has no resident flows, so home residents cannot be identified"),
                pl.when(host_note.is_not_null()).then(pl.concat_str(pl.lit(": "), host_note)),
                ignore_nulls=True,
            )
        ),
        pl.when(pl.col("has_flows") & (pl.col("geographic_pathways") == 0)).then(
            pl.lit("no pathways from placed residents")
        ),
    ).list.drop_nulls()
    out = out.with_columns(
        pl.when(note.list.len() > 0).then(note.list.join("; ")).alias("note"),
        pl.lit(PROXY_LABEL).alias("construct"),
    )
    out = out.select(PROVIDER_PARTNERSHIP.column_names).sort("provider_id")
    return validate(out, PROVIDER_PARTNERSHIP).frame
