"""Inputs of the partnership metrics: the classified RTT flow table.

Every figure built from these inputs is a **patient-flow interdependence (modelled proxy
for system partnership)** (:data:`PROXY_LABEL`): how far the elective care of a system's
residents crosses ICS boundaries, which reflects geography, tertiary centres and elective
markets as well as collaboration.

Each RTT row gets a **provider** category: ``nhs_trust`` (in ODS ``etr`` 2025, the trust
unit list, host ICB from that file), ``unknown_nhs`` (an NHS body without a host ICB there,
e.g. the care trust TAD) or ``independent_sector`` (every other provider: companies, social
enterprises, community interest companies, GP-led services); and a **commissioner**
category: ``sub_icb`` (a sub-ICB location, or closed CCG, of ODS ``eccg`` 2025, placed in its
``eccg`` parent ICB of the 42-ICB structure), ``reporting_entity`` (placed likewise), ``icb``,
``commissioning_hub``, ``non_geographic`` (``NONC``, NHS England regions, unknown codes
without a parent) or ``unmapped_geographic`` (a code with a parent in the extract but not in
``eccg`` 2025, created after the 42-ICB structure). Only the first three have residents in
an ICS. Nothing is dropped: the coverage report lists every code not placed (or placed with
a caveat) with its pathways and a reason, and pathways are conserved.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import polars as pl

from ics_model.contracts import Column, Contract, require_columns, validate
from ics_model.data.ods import ICB_CODE_PATTERN
from ics_model.data.rtt import ALL_SPECIALTIES, PartType

logger = logging.getLogger(__name__)

PROXY_LABEL: Final = "patient-flow interdependence (modelled proxy for system partnership)"

PROVIDER_CATEGORIES: Final = ("nhs_trust", "independent_sector", "unknown_nhs")
#: Commissioner categories whose residents belong to an ICS of the 42-ICB geography.
RESIDENT_CATEGORIES: Final = ("sub_icb", "reporting_entity", "icb")
_NO_RESIDENTS: Final = ("commissioning_hub", "non_geographic", "unmapped_geographic")
COMMISSIONER_CATEGORIES: Final = (*RESIDENT_CATEGORIES, *_NO_RESIDENTS)
ProviderCategory: Final = pl.Enum(list(PROVIDER_CATEGORIES))
CommissionerCategory: Final = pl.Enum(list(COMMISSIONER_CATEGORIES))

#: RTT parts per ``part``: completed = admitted (Part_1A) + non-admitted (Part_1B).
#: Part_2A (incomplete with a decision to admit) is a subset of Part_2: never added.
PARTS: Final[dict[str, tuple[str, ...]]] = {
    "incomplete": ("Part_2",),
    "completed": ("Part_1A", "Part_1B"),
}
Part = Literal["incomplete", "completed"]

FLOW_STATUSES: Final = (
    "has_flows",
    "known_non_submitter",
    "acute_looking_no_flows",
    "non_elective_by_name",
    "no_flows_unclear",
)
FlowStatus: Final = pl.Enum(list(FLOW_STATUSES))

#: Data notes per RTT period (``period`` column): trusts known not to have submitted.
KNOWN_NON_SUBMITTERS: Final[dict[str, dict[str, str]]] = {
    "RTT-April-2026": {
        "RHQ": "Sheffield Teaching Hospitals submitted no RTT data for April 2026",
        "RA9": "Torbay and South Devon submitted no RTT data for April 2026",
    },
}
#: Data notes per RTT period: commissioner codes that cannot be placed without a
#: crosswalk (the ICB crosswalk places U2G6B: ``sub_icbs`` then carries it, with a
#: ``crosswalk_note``; see :mod:`ics_model.mapping.icb_geography`).
COMMISSIONER_NOTES: Final[dict[str, dict[str, str]]] = {
    "RTT-April-2026": {
        "U2G6B": (
            "April 2026 Thames Valley sub-ICB for East Berkshire, former Frimley (QNQ) "
            "(Frimley Health's largest commissioner); succ.csv has no D4U1Y -> U2G6B row; "
            "the ICB crosswalk places it"
        ),
    },
}

#: Trust-name heuristics (documented choices, not facts): ODS ``etr`` has no trust type.
ACUTE_NAME_PATTERN: Final = r"HOSPITAL|\bACUTE\b"
#: Flow statuses of a **major provider** missing from the RTT extract (``critical``).
MAJOR_PROVIDER_STATUSES: Final = ("known_non_submitter", "acute_looking_no_flows")
#: What makes a missing trust a major provider (written into notes and documentation).
MAJOR_PROVIDER_DEFINITION: Final = (
    "a major provider of an ICS's RTT-based metrics is an open English NHS trust hosted in "
    "the ICS (ODS etr 2025, 42-ICB geography) that has no rows in the RTT extract for the "
    "part and treatment function used, and is an acute trust: listed in the period's data "
    "note of trusts that did not submit, or named like an acute trust (HOSPITAL or ACUTE in "
    "its ODS name); mental health, community and ambulance trusts (by name) hold no "
    "consultant-led elective waiting list to speak of, and a trust whose type the name does "
    "not show is listed in the note but not counted"
)
NON_ELECTIVE_NAME_PATTERN: Final = (
    r"MENTAL HEALTH|AMBULANCE|COMMUNITY|PARTNERSHIP|\bCARE\b|HEALTHCARE|\bHEALTH AND CARE\b"
)
NHS_NAME_PATTERN: Final = r"\bNHS\b.*\bTRUST\b"

_ICB = ICB_CODE_PATTERN
_S, _I, _B = pl.String, pl.Int64, pl.Boolean
_REQ = {"nullable": False}

FLOW_TABLE: Final = Contract(
    name="partnership_flow_table",
    description=f"RTT rows with provider and commissioner categories; {PROXY_LABEL}.",
    key=("provider_code", "commissioner_code", "part_type", "treatment_function_code"),
    columns=(
        Column("period", _S, **_REQ),
        Column("provider_code", _S, **_REQ),
        Column("provider_name", _S),
        Column("provider_category", ProviderCategory, **_REQ),
        Column("provider_icb_code", _S, pattern=_ICB, description="host ICB (etr 2025)"),
        Column("commissioner_code", _S, **_REQ),
        Column("commissioner_name", _S),
        Column("commissioner_category", CommissionerCategory, **_REQ),
        Column("resident_icb_code", _S, pattern=_ICB, description="eccg 2025 parent ICB"),
        Column("part_type", PartType, **_REQ),
        Column("treatment_function_code", _S, **_REQ),
        Column("pathways", _I, **_REQ, min_value=0),
        Column(
            "over_18_weeks",
            _I,
            min_value=0,
            description="pathways waiting (or that waited) over 18 weeks; null if not given",
        ),
        Column("source_row", _I, description="row of the RTT extract"),
    ),
)

FLOW_COVERAGE: Final = Contract(
    name="partnership_flow_coverage",
    description="Provider and commissioner codes not placed in an ICS, or placed with a caveat.",
    key=("code_type", "code"),
    columns=(
        Column("code_type", _S, **_REQ, allowed=frozenset({"provider", "commissioner"})),
        Column("code", _S, **_REQ),
        Column("name", _S),
        Column("category", _S, **_REQ),
        Column("placed", _B, **_REQ, description="assigned to an ICS"),
        Column("parent_code", _S, description="commissioner parent code in the RTT extract"),
        Column("pathways", _I, **_REQ, min_value=0),
        Column("n_rows", _I, **_REQ, min_value=0),
        Column("reason", _S, **_REQ),
    ),
)

TRUST_COVERAGE: Final = Contract(
    name="partnership_trust_coverage",
    description="Open English trusts of ODS etr 2025 (plus other etr trusts with flows) and "
    "whether the RTT extract has rows for them.",
    key=("org_code",),
    columns=(
        Column("org_code", _S, **_REQ),
        Column("name", _S, **_REQ),
        Column("icb_code", _S, **_REQ, pattern=_ICB, description="host ICB"),
        Column("is_open", _B, **_REQ),
        Column("has_flows", _B, **_REQ),
        Column("pathways", _I, min_value=0, description="null when no flows"),
        Column("flow_status", FlowStatus, **_REQ),
        Column(
            "critical",
            _B,
            **_REQ,
            description="a major provider absent from the extract (MAJOR_PROVIDER_DEFINITION)",
        ),
        Column("reason", _S, description="why there are no flows; null with flows"),
    ),
)

_PROVIDER_INPUT: Final = ("period", "provider_code", "provider_name", "pathways", "part_type")
_COMMISSIONER_INPUT: Final = ("commissioner_parent_code", "commissioner_code", "commissioner_name")


@dataclass(frozen=True)
class FlowTable:
    """Classified RTT flows for one period, part and treatment function.

    Attributes
    ----------
    flows : one row per RTT row selected, per :data:`FLOW_TABLE`.
    coverage : codes not placed in an ICS (or placed with a caveat), per :data:`FLOW_COVERAGE`.
    trusts : the trust unit list with flow status, per :data:`TRUST_COVERAGE`.
    period : the RTT period, e.g. ``"RTT-April-2026"``.
    part : ``"incomplete"`` or ``"completed"``; ``part_types`` the RTT parts it covers.
    treatment_function : the treatment function code (``C_999`` = all specialties).
    input_pathways : pathways of the RTT rows selected (equal to ``flows`` pathways).
    notes : remarks (totals by category, trusts without flows).
    """

    flows: pl.DataFrame
    coverage: pl.DataFrame
    trusts: pl.DataFrame
    period: str
    part: str
    part_types: tuple[str, ...]
    treatment_function: str
    input_pathways: int
    notes: tuple[str, ...] = ()


def _case(pairs: Sequence[tuple[pl.Expr, str | pl.Expr]], otherwise: str | None = None) -> pl.Expr:
    """``when/then`` chain from (condition, value) pairs; string values become literals."""

    def val(v: str | pl.Expr | None) -> pl.Expr:
        return pl.lit(v, pl.String) if v is None or isinstance(v, str) else v

    expr = pl.when(pairs[0][0]).then(val(pairs[0][1]))
    for cond, v in pairs[1:]:
        expr = expr.when(cond).then(val(v))
    return expr.otherwise(val(otherwise))


def _per_code(rows: pl.DataFrame, role: str, parent: bool) -> pl.DataFrame:
    """List provider or commissioner codes with their name, parent, pathways and row count."""
    first = [pl.col(f"{role}_name").drop_nulls().first().alias("name")]
    if parent:
        first.append(pl.col(f"{role}_parent_code").drop_nulls().first().alias("parent_code"))
    return rows.group_by(pl.col(f"{role}_code").alias("code")).agg(
        *first, pl.col("pathways").sum(), pl.len().cast(pl.Int64).alias("n_rows")
    )


def _commissioner_lookup(rows: pl.DataFrame, sub_icbs: pl.DataFrame, period: str) -> pl.DataFrame:
    """One row per commissioner code: category, resident ICB, placed, reason."""
    crosswalk = "crosswalk_note" in sub_icbs.columns
    ods = sub_icbs.select(
        pl.col("org_code").alias("code"),
        pl.col("kind").cast(pl.String).alias("_kind"),
        pl.col("icb_code").alias("_icb"),
        pl.col("is_open").alias("_open"),
        (pl.col("crosswalk_note") if crosswalk else pl.lit(None, pl.String)).alias("_cw"),
    )
    j = _per_code(rows, "commissioner", parent=True).join(ods, on="code", how="left")
    kind, code, icb = pl.col("_kind"), pl.col("code"), pl.col("_icb")
    region = code.str.contains(r"^Y[0-9]{2}$")
    geographic = kind.is_in(["sub_icb_location", "reporting_entity", "ccg"])
    category = _case(
        [
            (geographic & icb.is_null(), "unmapped_geographic"),
            (kind.is_in(["sub_icb_location", "ccg"]), "sub_icb"),
            (kind == "reporting_entity", "reporting_entity"),
            (kind == "icb", "icb"),
            (kind == "commissioning_hub", "commissioning_hub"),
            ((code == "NONC") | region | pl.col("parent_code").is_null(), "non_geographic"),
        ],
        "unmapped_geographic",
    )
    cat = pl.col("category")
    unmapped = pl.format(
        "not in ODS eccg 2025 (a code created after the 42-ICB structure; RTT parent {}, an "
        "April 2026 ICB): cannot be placed in the 42-ICB geography",
        pl.col("parent_code").fill_null("<none>"),
    )
    reason = _case(
        [
            (cat == "commissioning_hub", "NHS England commissioning hub: no resident ICS"),
            (code == "NONC", "non-geographic commissioner (NONC): no resident ICS"),
            (region, pl.format("NHS England region {}: no resident ICS", code)),
            (cat == "non_geographic", "unknown code with no parent ICB: non-geographic"),
            ((cat == "unmapped_geographic") & kind.is_not_null(), "no parent ICB in eccg 2025"),
            (cat == "unmapped_geographic", unmapped),
            (kind == "ccg", pl.format("closed CCG code placed in its eccg parent ICB {}", icb)),
            (~pl.col("_open"), pl.format("closed in ODS eccg 2025; placed in eccg ICB {}", icb)),
        ]
    )
    # a crosswalk note replaces the period's note on the same code
    extra = pl.coalesce(
        pl.col("_cw"),
        code.replace_strict(
            COMMISSIONER_NOTES.get(period, {}), default=None, return_dtype=pl.String
        ),
    )
    resident = _case([(cat.is_in(["sub_icb", "reporting_entity"]), icb), (cat == "icb", code)])
    return j.with_columns(category.alias("category")).with_columns(
        resident.alias("resident_icb_code"),
        resident.is_not_null().alias("placed"),
        pl.when(reason.is_not_null() | extra.is_not_null())
        .then(pl.concat_str(reason, extra, separator="; ", ignore_nulls=True))
        .alias("reason"),
    )


def _provider_lookup(rows: pl.DataFrame, trusts: pl.DataFrame) -> pl.DataFrame:
    """One row per provider code: category, host ICB, placed, reason."""
    etr = trusts.select(
        pl.col("org_code").alias("code"),
        pl.col("icb_code").alias("_icb"),
        pl.col("is_open").alias("_open"),
    )
    j = _per_code(rows, "provider", parent=False).join(etr, on="code", how="left")
    icb, in_etr = pl.col("_icb"), pl.col("_open").is_not_null()
    nhs_name = pl.col("name").fill_null("").str.to_uppercase().str.contains(NHS_NAME_PATTERN)
    category = _case(
        [(icb.is_not_null(), "nhs_trust"), (in_etr | nhs_name, "unknown_nhs")],
        "independent_sector",
    )
    cat = pl.col("category")
    reason = _case(
        [
            (cat == "independent_sector", "not an NHS trust in ODS etr 2025: no host ICB"),
            (
                (cat == "unknown_nhs") & in_etr,
                "in ODS etr 2025 without a host ICB (e.g. a Welsh trust): not placed",
            ),
            (
                cat == "unknown_nhs",
                "named as an NHS trust but not in ODS etr 2025 (care trusts such as TAD "
                "are not in etr): no host ICB",
            ),
            (~pl.col("_open"), pl.format("closed in ODS etr 2025; host ICB {} from etr", icb)),
        ]
    )
    return j.with_columns(category.alias("category")).with_columns(
        pl.when(cat == "nhs_trust").then(icb).alias("provider_icb_code"),
        (cat == "nhs_trust").alias("placed"),
        reason.alias("reason"),
    )


def _trust_coverage(
    trusts: pl.DataFrame, providers: pl.DataFrame, non_submitters: Mapping[str, str]
) -> pl.DataFrame:
    """Open English trusts (plus other etr trusts with flows) and their flow status."""
    with_flows = providers.filter(pl.col("category") == "nhs_trust")
    units = trusts.filter(
        (pl.col("is_open") & pl.col("icb_code").is_not_null())
        | pl.col("org_code").is_in(with_flows["code"].implode())
    ).select("org_code", "name", "icb_code", "is_open")
    out = units.join(
        with_flows.select(pl.col("code").alias("org_code"), "pathways"), on="org_code", how="left"
    )
    upper = pl.col("name").str.to_uppercase()
    status = _case(
        [
            (pl.col("pathways").is_not_null(), "has_flows"),
            (pl.col("org_code").is_in(list(non_submitters)), "known_non_submitter"),
            (upper.str.contains(ACUTE_NAME_PATTERN), "acute_looking_no_flows"),
            (upper.str.contains(NON_ELECTIVE_NAME_PATTERN), "non_elective_by_name"),
        ],
        "no_flows_unclear",
    ).cast(FlowStatus)
    generic = "no RTT rows in this period (non-elective trust type, or did not submit)"
    note = pl.col("org_code").replace_strict(
        dict(non_submitters), default="", return_dtype=pl.String
    )
    st = pl.col("flow_status")
    reason = _case(
        [
            (
                st == "known_non_submitter",
                pl.format("did not submit RTT data (data note: {})", note),
            ),
            (st == "acute_looking_no_flows", f"{generic}; named like an acute trust"),
            (
                st == "non_elective_by_name",
                f"{generic}; named like a mental health/community/ambulance trust",
            ),
            (st == "no_flows_unclear", f"{generic}; trust type unclear from the name"),
        ]
    )
    return (
        out.with_columns(
            pl.col("pathways").is_not_null().alias("has_flows"), status.alias("flow_status")
        )
        .with_columns(
            st.is_in(list(MAJOR_PROVIDER_STATUSES)).alias("critical"),
            reason.alias("reason"),
        )
        .select(TRUST_COVERAGE.column_names)
        .sort("org_code")
    )


def flow_table(
    flows: pl.DataFrame,
    trusts: pl.DataFrame,
    sub_icbs: pl.DataFrame,
    *,
    part: Part = "incomplete",
    treatment_function: str = ALL_SPECIALTIES,
    known_non_submitters: Mapping[str, str] | None = None,
) -> FlowTable:
    """Classify RTT flows by provider and commissioner category, conserving every pathway.

    Parameters
    ----------
    flows : canonical RTT flows of one period (``read_rtt_flows(...).frame`` or
        ``load_processed("rtt_flows")``).
    trusts : canonical ODS ``etr`` 2025 frame (org_code, name, icb_code, is_open): the trust
        unit list and host ICBs (42-ICB structure, or the run's vintage:
        :func:`~ics_model.mapping.icb_geography.trust_hosts`).
    sub_icbs : canonical ODS ``eccg`` 2025 frame (org_code, kind, icb_code, is_open), or
        :func:`~ics_model.mapping.icb_geography.commissioner_table` (``icb_code`` in the
        run's ICB vintage, crosswalked April 2026 codes added, ``crosswalk_note``).
    part : ``"incomplete"`` = Part_2, the waiting list at the month end (``pathways`` =
        ``Total All``); ``"completed"`` = Part_1A + Part_1B, admitted plus non-admitted
        pathways completed in the month (including unknown clock starts).
    treatment_function : ``C_999`` (all specialties, the default) or one treatment function.
    known_non_submitters : trust code -> note, for trusts known not to have submitted;
        default :data:`KNOWN_NON_SUBMITTERS` of the period (RHQ and RA9 in April 2026).

    Returns
    -------
    FlowTable
        ``flows`` (:data:`FLOW_TABLE`), ``coverage`` (:data:`FLOW_COVERAGE`), ``trusts``
        (:data:`TRUST_COVERAGE`). Conservation, checked before returning:
        ``flows["pathways"].sum() == input_pathways`` (the RTT rows selected).

    Notes
    -----
    Vintages: the RTT period of ``flows``; ODS ``etr`` and ``eccg`` 2025 (42 ICBs of April
    2023) unless ``trusts`` and ``sub_icbs`` are already in another ICB vintage. RTT
    commissioner parent codes are April 2026 ICB codes: not used for placement.
    A trust with no RTT rows is classified by name (ODS has no trust type), a documented
    heuristic that can misclassify (an acute trust named "... Healthcare" reads as
    non-elective): :data:`ACUTE_NAME_PATTERN`, then :data:`NON_ELECTIVE_NAME_PATTERN`.

    References
    ----------
    NHS England, Consultant-led Referral to Treatment Waiting Times statistics, full CSV
    data file (https://www.england.nhs.uk/statistics/statistical-work-areas/rtt-waiting-times/).
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {sorted(PARTS)}, got {part!r}")
    require_columns(
        flows.columns,
        (*_PROVIDER_INPUT, *_COMMISSIONER_INPUT, "treatment_function_code"),
        "rtt_flows",
    )
    require_columns(trusts.columns, ("org_code", "name", "icb_code", "is_open"), "ods_trusts")
    require_columns(sub_icbs.columns, ("org_code", "kind", "icb_code", "is_open"), "ods_sub_icbs")
    periods = flows["period"].unique().drop_nulls().sort().to_list()
    if len(periods) != 1:
        raise ValueError(f"flows must hold one RTT period, found {periods}")
    period, parts = periods[0], PARTS[part]
    rows = flows.filter(
        pl.col("part_type").cast(pl.String).is_in(list(parts))
        & (pl.col("treatment_function_code") == treatment_function)
    )
    if rows.is_empty():
        found = sorted(flows["treatment_function_code"].unique().drop_nulls().to_list())
        raise ValueError(
            f"no RTT rows for parts {parts} and treatment function {treatment_function!r}; "
            f"present: {', '.join(found)}"
        )
    for optional in ("source_row", "over_18_weeks"):
        if optional not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.Int64).alias(optional))
    input_pathways = int(rows["pathways"].sum())
    comm = _commissioner_lookup(rows, sub_icbs, period)
    prov = _provider_lookup(rows, trusts)
    table = (
        _join_lookup(
            _join_lookup(rows, comm, "commissioner", "resident_icb_code"),
            prov,
            "provider",
            "provider_icb_code",
        )
        .with_columns(
            pl.col("provider_category").cast(ProviderCategory),
            pl.col("commissioner_category").cast(CommissionerCategory),
            pl.col("part_type").cast(PartType),
        )
        .select(FLOW_TABLE.column_names)
        .sort("provider_code", "commissioner_code", "part_type")
    )
    if table.height != rows.height or int(table["pathways"].sum()) != input_pathways:
        raise AssertionError("flow classification changed the rows or pathways (duplicate codes?)")
    validate(table, FLOW_TABLE)
    coverage = pl.concat(
        [
            c.filter(pl.col("reason").is_not_null()).select(
                pl.lit(code_type).alias("code_type"),
                "code",
                "name",
                "category",
                "placed",
                (
                    pl.col("parent_code") if "parent_code" in c.columns else pl.lit(None, pl.String)
                ).alias("parent_code"),
                "pathways",
                "n_rows",
                "reason",
            )
            for code_type, c in (("commissioner", comm), ("provider", prov))
        ]
    ).sort("code_type", "category", "pathways", descending=[False, False, True])
    validate(coverage, FLOW_COVERAGE)
    if known_non_submitters is None:
        known_non_submitters = KNOWN_NON_SUBMITTERS.get(period, {})
    trust_cov = _trust_coverage(trusts, prov, known_non_submitters)
    validate(trust_cov, TRUST_COVERAGE)
    notes = _notes(table, trust_cov, f"{period}, {part} pathways")
    for n in notes:
        logger.info("flow table: %s", n)
    return FlowTable(
        flows=table,
        coverage=coverage,
        trusts=trust_cov,
        period=period,
        part=part,
        part_types=parts,
        treatment_function=treatment_function,
        input_pathways=input_pathways,
        notes=tuple(notes),
    )


def missing_major_providers(trusts: pl.DataFrame) -> pl.DataFrame:
    """Per host ICB, the major providers absent from the RTT extract, with a note.

    A major provider is defined in :data:`MAJOR_PROVIDER_DEFINITION` (the ``critical``
    flag of :data:`TRUST_COVERAGE`). An ICS whose residents' or hosted trusts' RTT
    metrics miss such a trust has *incomplete* metrics: the composite lowers its
    ``coverage`` and names them in ``affected``.

    Parameters
    ----------
    trusts : ``FlowTable.trusts`` (:data:`TRUST_COVERAGE`).

    Returns
    -------
    pl.DataFrame
        ``icb_code``, ``missing_major`` (comma-separated ODS codes, sorted) and
        ``major_note`` (e.g. ``"major provider absent from the RTT extract: RHQ (SHEFFIELD
        TEACHING HOSPITALS NHS FOUNDATION TRUST; did not submit RTT data ...)"``); only ICBs
        with at least one, sorted by ``icb_code``.
    """
    return (
        trusts.filter(pl.col("critical"))
        .sort("org_code")
        .group_by("icb_code", maintain_order=True)
        .agg(
            pl.col("org_code").str.join(", ").alias("missing_major"),
            pl.format("{} ({}; {})", "org_code", "name", "reason").str.join("; ").alias("_what"),
        )
        .select(
            "icb_code",
            "missing_major",
            pl.format("major provider absent from the RTT extract: {}", "_what").alias(
                "major_note"
            ),
        )
        .sort("icb_code")
    )


def _join_lookup(rows: pl.DataFrame, lookup: pl.DataFrame, role: str, icb: str) -> pl.DataFrame:
    """``rows`` with the ``{role}_category`` and ``icb`` column of each ``{role}_code``."""
    return rows.join(
        lookup.select(
            pl.col("code").alias(f"{role}_code"), pl.col("category").alias(f"{role}_category"), icb
        ),
        on=f"{role}_code",
        how="left",
    )


def _notes(table: pl.DataFrame, trusts: pl.DataFrame, what: str) -> list[str]:
    total = int(table["pathways"].sum())
    notes = [f"{what}: {total:,} in {table.height:,} rows"]
    for col in ("provider_category", "commissioner_category"):
        by = table.group_by(col).agg(pl.col("pathways").sum()).sort(col).iter_rows()
        notes.append(f"by {col}: " + ", ".join(f"{c} {p:,} ({p / total:.1%})" for c, p in by))
    missing = trusts.filter(~pl.col("has_flows"))
    notes.append(
        f"{missing.height} of {trusts.height} trusts have no RTT rows; "
        f"{missing.filter('critical').height} named like acute trusts or known non-submitters"
    )
    return notes


def category_totals(table: FlowTable) -> pl.DataFrame:
    """Pathways by provider x commissioner category, with shares of the national total.

    Returns provider_category, commissioner_category, pathways, share; the pathways add up
    to ``table.input_pathways`` (hubs and non-geographic commissioners reported apart here).
    """
    return (
        table.flows.group_by("provider_category", "commissioner_category")
        .agg(pl.col("pathways").sum())
        .with_columns((pl.col("pathways") / max(table.input_pathways, 1)).alias("share"))
        .sort("provider_category", "commissioner_category")
    )
