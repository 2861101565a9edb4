"""What each GP collaboration exposure means, and how many rated practices have it.

:data:`EXPOSURES` documents every column of
:data:`~ics_model.metrics.gp_exposures.GP_EXPOSURES` that a model may use: definition,
numerator and denominator, source and vintage, and the **construct** -- whether it
measures the structure of collaboration (an opportunity to collaborate), the resources
for it, or something closer to an outcome. None observes collaboration itself.
:func:`gp_exposure_coverage` counts, for each, the rated practices with a value and the
reasons of the rest, so that no rated practice disappears unexplained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.metrics.gp_exposures import NOTES

_EPCN = "ODS ePCN, extract of October 2024 (history from 1 October 2019), on as_of"
_LISTS = "NHS Digital registered patients, 1 May 2022"
_PAY = "NHS Payments to General Practice 2022/23 (HEEC copy)"
_OPPORTUNITY = "structure: opportunity for collaboration, not collaboration itself"
_RESOURCE = "resources for collaboration (money received), not collaboration itself"


@dataclass(frozen=True)
class Exposure:
    """One GP exposure (or control): what it is and where its missing values are explained."""

    name: str
    role: str  # "exposure" or "control"
    definition: str
    numerator: str
    denominator: str
    source: str
    construct: str
    note_column: str  # the column giving the reason when the value is missing


#: Every model-ready column of the GP exposures, in output order.
EXPOSURES: Final[dict[str, Exposure]] = {
    e.name: e
    for e in (
        Exposure(
            "in_pcn",
            "exposure",
            "member of a Primary Care Network on as_of (a spell with start <= as_of <= end)",
            "-",
            "-",
            _EPCN,
            _OPPORTUNITY + "; 98% of practices are members, so little contrast",
            "pcn_note",
        ),
        Exposure(
            "pcn_n_practices",
            "exposure",
            "member practices of the practice's PCN on as_of",
            "count of practices",
            "-",
            _EPCN,
            _OPPORTUNITY + ": more partners to work with, and more coordination to do",
            "pcn_note",
        ),
        Exposure(
            "pcn_patients",
            "exposure",
            "registered patients of the PCN's members on as_of (members without a May 2022 "
            "list count 0; see pcn_members_without_list)",
            "sum of the members' lists",
            "-",
            f"{_EPCN}; {_LISTS}",
            _OPPORTUNITY + ": PCN scale (the DES expects 30,000-50,000 patients)",
            "pcn_note",
        ),
        Exposure(
            "pcn_list_share",
            "exposure",
            "the practice's share of its PCN's registered patients",
            "practice_patients",
            "pcn_patients",
            f"{_EPCN}; {_LISTS}",
            _OPPORTUNITY + ": a dominant practice (share near 1) has few peers to share with",
            "pcn_note|list_note",
        ),
        Exposure(
            "months_in_pcn",
            "exposure",
            "calendar months from the start of the practice's continuous membership of its "
            "current PCN code to as_of (a PCN merger or re-coding restarts it)",
            "months",
            "-",
            _EPCN,
            "duration of the opportunity; at 1 July 2022 most practices have 33 months "
            "(since October 2019), so it mainly marks movers and re-coded PCNs",
            "pcn_note",
        ),
        Exposure(
            "months_in_any_pcn",
            "exposure",
            "calendar months of continuous membership of any PCN up to as_of",
            "months",
            "-",
            _EPCN,
            "duration of the opportunity, robust to PCN re-coding",
            "pcn_note",
        ),
        Exposure(
            "outside_pcn_sub_icb",
            "exposure",
            "the practice's sub-ICB location differs from its PCN's (ODS Match = false)",
            "-",
            "-",
            _EPCN + "; sub-ICB codes of the extract date",
            "a practice working with partners across a commissioning border",
            "pcn_note",
        ),
        Exposure(
            "pcn_spans_sub_icbs",
            "exposure",
            "the PCN's members (and the PCN) sit in two or more sub-ICB locations",
            "-",
            "-",
            _EPCN + "; sub-ICB codes of the extract date",
            "a network that crosses commissioning borders (rare)",
            "pcn_note",
        ),
        Exposure(
            "pcn_spans_icbs",
            "exposure",
            "the PCN's members (and the PCN) sit in two or more ICBs (ODS eccg parents)",
            "-",
            "-",
            _EPCN + "; ODS eccg 2025",
            "a network that crosses ICS borders (very rare)",
            "pcn_note",
        ),
        Exposure(
            "in_network_des",
            "exposure",
            "received the Network Participation Payment in 2022/23 (signed up to the DES)",
            "-",
            "-",
            _PAY,
            _OPPORTUNITY + "; cross-checks in_pcn from another source",
            "payments_note",
        ),
        Exposure(
            "pcn_payee",
            "exposure",
            "received its PCN's clinical director, core support or extended hours "
            "payments: the practice holds (or is one of the holders of) the PCN's money",
            "-",
            "-",
            _PAY,
            "a lead or hosting role in the network (derived from payment lines)",
            "payments_note",
        ),
        Exposure(
            "pcn_payee_other_body",
            "exposure",
            "no member practice of the PCN received those payee lines: the PCN is paid "
            "through another body (a GP federation, an NHS trust, a PCN company)",
            "-",
            "-",
            _PAY,
            "at-scale hosting of the network by a federation or similar (derived)",
            "payments_note",
        ),
        Exposure(
            "pcn_arrs_per_patient",
            "exposure",
            "the PCN's Additional Roles Reimbursement Scheme payments per registered patient "
            "(a lower bound where part of it went to another body)",
            "sum of PCN Workforce over the PCN's member rows (GBP)",
            "sum of their registered patients (last known figure)",
            _PAY,
            _RESOURCE + ": shared staff (pharmacists, physiotherapists, social prescribers)",
            "payments_note|arrs",
        ),
        Exposure(
            "pcn_iif_per_patient",
            "exposure",
            "the PCN's Investment and Impact Fund payments per registered patient",
            "sum of PCN Investment and impact Fund over the member rows (GBP)",
            "sum of their registered patients",
            _PAY,
            "what the network achieved on its indicators: closer to an outcome than an "
            "exposure (reverse causation with ratings is possible)",
            "payments_note|iif",
        ),
        Exposure(
            "practice_patients",
            "control",
            "registered patients of the practice",
            "patients",
            "-",
            _LISTS,
            "practice size: a control (larger practices differ in many ways)",
            "list_note",
        ),
        Exposure(
            "contract_type",
            "control",
            "GMS, PMS, APMS or Unknown",
            "-",
            "-",
            _PAY,
            "contract type: a control",
            "payments_note",
        ),
        Exposure(
            "rurality",
            "control",
            "Urban or Rural",
            "-",
            "-",
            _PAY,
            "rurality: a control",
            "payments_note",
        ),
    )
}

NO_CODE: Final = "no practice code in the GP ratings file"
NO_REASON: Final = "missing, with no reason recorded"

GP_EXPOSURE_COVERAGE: Final = Contract.closed(
    "gp_exposure_coverage",
    (
        Column.text("exposure", "a key of EXPOSURES", allowed=frozenset(EXPOSURES)),
        Column.text("role", "exposure or control", allowed=frozenset({"exposure", "control"})),
        Column.flag("has_value", "rated practices with (true) or without a value"),
        Column.text("reason", "why the value is missing", nullable=True),
        Column.count("n_practices", "rated practices (Overall rows)", min_value=1),
    ),
    key=("exposure", "has_value", "reason"),
    description="Rated GP practices with each exposure, and the reasons of the rest.",
)


def exposure_catalogue() -> pl.DataFrame:
    """Return :data:`EXPOSURES` as a frame, one row per exposure or control."""
    return pl.DataFrame([asdict(e) for e in EXPOSURES.values()])


def _reason(exposure: Exposure) -> pl.Expr:
    """Why ``exposure`` is missing on a row of the exposures frame."""
    by = {
        "pcn_note": pl.col("pcn_note"),
        "list_note": pl.col("list_note"),
        "payments_note": pl.col("payments_note"),
        "pcn_note|list_note": pl.when(pl.col("in_pcn").fill_null(False))
        .then(pl.col("list_note"))
        .otherwise(pl.col("pcn_note")),
        "payments_note|arrs": pl.coalesce(pl.col("payments_note"), pl.lit(NOTES["arrs_elsewhere"])),
        "payments_note|iif": pl.coalesce(pl.col("payments_note"), pl.lit(NOTES["iif_elsewhere"])),
    }
    return pl.coalesce(by[exposure.note_column], pl.lit(NO_REASON))


def gp_exposure_coverage(exposures: pl.DataFrame, practices: pl.DataFrame) -> pl.DataFrame:
    """Count the rated practices with each exposure, and the reasons of the rest.

    Parameters
    ----------
    exposures : :func:`~ics_model.metrics.gp_exposures.gp_exposures` output.
    practices : the GP ratings frame it was built from (Overall rows are counted when
        ``key_question`` is present); its rows without a practice code are counted with
        the reason :data:`NO_CODE`.

    Returns
    -------
    pl.DataFrame
        Per :data:`GP_EXPOSURE_COVERAGE`: for every exposure, ``n_practices`` with a value
        (``has_value`` true, ``reason`` null) and per reason without one; the counts of an
        exposure add up to the rated practices. ``reason`` is one of the fixed phrases of
        :data:`~ics_model.metrics.gp_exposures.NOTES`, :data:`NO_CODE` or :data:`NO_REASON`
        (which should never occur).
    """
    if "key_question" in practices.columns:
        practices = practices.filter(pl.col("key_question").cast(pl.String) == "Overall")
    n_no_code = practices["practice_code"].null_count()
    pieces = []
    for e in EXPOSURES.values():
        has = pl.col(e.name).is_not_null()
        counts = (
            exposures.select(
                has.alias("has_value"),
                pl.when(~has).then(_reason(e)).alias("reason"),
            )
            .group_by("has_value", "reason")
            .len("n_practices")
        )
        if n_no_code:
            counts = pl.concat(
                [
                    counts,
                    pl.DataFrame(
                        {"has_value": [False], "reason": [NO_CODE], "n_practices": [n_no_code]},
                        schema=counts.schema,
                    ),
                ]
            )
        pieces.append(
            counts.with_columns(pl.lit(e.name).alias("exposure"), pl.lit(e.role).alias("role"))
        )
    order = {name: i for i, name in enumerate(EXPOSURES)}
    out = (
        pl.concat(pieces)
        .with_columns(pl.col("n_practices").cast(pl.Int64))
        .sort(
            pl.col("exposure").replace_strict(order, return_dtype=pl.Int64),
            pl.col("has_value"),
            pl.col("n_practices"),
            pl.col("reason"),
            descending=[False, True, True, False],
        )
        .select(GP_EXPOSURE_COVERAGE.column_names)
    )
    return validate(out, GP_EXPOSURE_COVERAGE).frame


__all__ = [
    "EXPOSURES",
    "GP_EXPOSURE_COVERAGE",
    "NO_CODE",
    "NO_REASON",
    "Exposure",
    "exposure_catalogue",
    "gp_exposure_coverage",
]
