"""NHS Payments to General Practice (annual, practice level), as compiled by HEEC.

:func:`read_gp_payments` reads the practice-level CSV of NHS Digital's *NHS Payments to
General Practice, England* (one row per practice and financial year, payments in GBP) in
the layout of the Health Equity Evidence Centre's copy (the embedded 2022/23 file,
gzip-compressed). HEEC **renamed four geography columns**: ``CCG Code`` holds the
sub-ICB location code, ``Sub ICB NAME`` its name, ``Code`` the **PCN code** (``U...``, or
"Unknown or no PCN") and ``CCG NAME`` the PCN name. The publication's own headers
``PCN Code`` / ``PCN Name`` / ``Sub ICB Location Code`` are recognised too. The PCN
column is checked: a value that is neither a PCN code nor "Unknown or no PCN" is a
violation, so a file whose ``Code`` means something else fails loudly.

Payments to a PCN under the Network Contract DES (``PCN Leadership``, ``PCN Support``,
``PCN Workforce`` = the Additional Roles Reimbursement Scheme, ``PCN Investment and impact
Fund``, ``PCN Care Home Premium``, ``PCN Extended Hours Access``, ``PCN Enhanced
Access``) are paid to the PCN's **nominated payee**: a member practice (then they appear
on that practice's row) or another body such as a GP federation (then they are in no
row). ``PCN Participation`` (the Network Participation Payment) is paid to every
practice signed up to the DES. Negative values are recoveries and are kept.

List sizes are the publication's "last known figure" for the year; most are averages
over quarters (they end in .25, .50, .75), not a count on one date.

Reference: NHS Digital, *NHS Payments to General Practice, England, 2022-23* (annual
official statistics) and its data quality statement.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, Mode, require_columns
from ics_model.data.base import Loaded, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.cqc_tables import date_from_text
from ics_model.data.ods import ORG_CODE_PATTERN, REGION_CODE_PATTERN
from ics_model.data.pcn import PCN_CODE_PATTERN, PRACTICE_CODE_PATTERN
from ics_model.data.readers import column_rule_hits, read_csv_records, validate_with_rules

logger = logging.getLogger(__name__)

#: the embedded file: ``datasets/raw/gp_payments/<folder>/22-23.csv.gz``
GP_PAYMENTS_FOLDER: Final = "nhs_payments_2022-23_HEEC"
#: the PCN column's value for a practice in no PCN
NO_PCN: Final = "Unknown or no PCN"

#: text columns: canonical name -> headers that may hold it (HEEC's first)
_TEXT: Final[dict[str, tuple[str, ...]]] = {
    "practice_code": ("Practice Code",),
    "practice_name": ("Practice Name",),
    "region_code": ("NHS England (Region) code",),
    "sub_icb_code": ("CCG Code", "Sub ICB Location Code", "Sub ICB Code"),
    "pcn_code": ("Code", "PCN Code"),
    "pcn_name": ("CCG NAME", "PCN NAME", "PCN Name"),
    "open_date": ("Practice Open Date",),
    "close_date": ("Practice Close Date",),
    "contract_type": ("Contract Type",),
    "dispensing": ("Dispensing Practice",),
    "practice_type": ("Practice type",),
    "rurality": ("Practice Rurality",),
    "atypical": ("Atypical characteristics",),
}
#: numeric columns: canonical name -> (header, description)
_NUMBERS: Final[dict[str, tuple[str, str]]] = {
    "registered_patients": (
        "Number of Registered Patients (Last Known Figure)",
        "registered patients, the year's last known figure (often a quarterly average)",
    ),
    "weighted_patients": (
        "Number of Weighted Patients (Last Known Figure)",
        "Carr-Hill weighted patients, last known figure",
    ),
    "global_sum": ("Global Sum", "GMS global sum (GBP)"),
    "pcn_participation": (
        "PCN Participation",
        "Network Participation Payment to a practice in the PCN DES (GBP)",
    ),
    "pcn_leadership": ("PCN Leadership", "PCN clinical director funding, to the payee (GBP)"),
    "pcn_support": ("PCN Support", "PCN core support (GBP per patient), to the payee"),
    "pcn_extended_hours_access": (
        "PCN Extended Hours Access",
        "PCN extended hours access (GBP), to the payee",
    ),
    "pcn_workforce": (
        "PCN Workforce",
        "Additional Roles Reimbursement Scheme (ARRS) (GBP), to the payee",
    ),
    "pcn_investment_impact_fund": (
        "PCN Investment and impact Fund",
        "Investment and Impact Fund (GBP), to the payee",
    ),
    "pcn_care_home_premium": ("PCN Care Home Premium", "PCN care home premium (GBP), payee"),
    "pcn_enhanced_access": ("PCN Enhanced Access", "PCN enhanced access (GBP), to the payee"),
    "total_payments": (
        "Total NHS Payments to General Practice",
        "total NHS payments to the practice, excluding PCN and COVID lines (GBP)",
    ),
}
#: the payments made to a PCN's nominated payee under the Network Contract DES
PCN_NETWORK_COLUMNS: Final[tuple[str, ...]] = (
    "pcn_leadership",
    "pcn_support",
    "pcn_extended_hours_access",
    "pcn_workforce",
    "pcn_investment_impact_fund",
    "pcn_care_home_premium",
    "pcn_enhanced_access",
)
_YES_NO: Final = {"Yes": True, "No": False, "Unknown": None}

GP_PAYMENTS: Final = Contract(
    name="gp_payments",
    description=(
        "NHS Payments to General Practice, one row per practice and year (GBP); PCN network "
        "payments sit on the row of the PCN's payee practice, if any."
    ),
    key=("practice_code",),
    columns=(
        Column.text("practice_code", "ODS GP practice code", pattern=PRACTICE_CODE_PATTERN),
        Column.text("practice_name", "practice name", nullable=True),
        Column.text(
            "region_code", "NHS England region", nullable=True, pattern=REGION_CODE_PATTERN
        ),
        Column.text(
            "sub_icb_code", "sub-ICB location (HEEC: 'CCG Code')", pattern=ORG_CODE_PATTERN
        ),
        Column.text(
            "pcn_code",
            "PCN code (HEEC: 'Code'); null = 'Unknown or no PCN'",
            nullable=True,
            pattern=PCN_CODE_PATTERN,
        ),
        Column.text("pcn_name", "PCN name (HEEC: 'CCG NAME')", nullable=True),
        Column("open_date", pl.Date, description="practice open date"),
        Column("close_date", pl.Date, description="practice close date; null while open"),
        Column.text("contract_type", "GMS, PMS, APMS or Unknown", nullable=True),
        Column("dispensing", pl.Boolean, description="dispensing practice; null = Unknown"),
        Column.text("practice_type", "GP practice, walk-in centre, ...", nullable=True),
        Column.text("rurality", "Urban or Rural", nullable=True),
        Column.text("atypical", "the publication's atypical-characteristics flags", nullable=True),
        *(
            Column.number(
                c,
                d,
                nullable=False,
                min_value=0.0 if c.endswith("_patients") else None,
            )
            for c, (_, d) in _NUMBERS.items()
        ),
        Column("source_row", pl.Int64, nullable=False, description="CSV record, header 1"),
    ),
)


def _header_map(header: list[str], name: str) -> dict[str, str]:
    """Canonical column -> the file's header (case- and space-insensitive); missing raise."""
    norm = {" ".join(h.split()).lower(): h for h in header}
    wanted = {**_TEXT, **{c: (h,) for c, (h, _) in _NUMBERS.items()}}
    found = {
        c: next((norm[a.lower()] for a in alts if a.lower() in norm), None)
        for c, alts in wanted.items()
    }
    require_columns(header, [" or ".join(wanted[c]) for c, h in found.items() if h is None], name)
    return {c: h for c, h in found.items() if h is not None}


def _number(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(",", "").cast(pl.Float64, strict=False).alias(column)


def read_gp_payments(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read NHS Payments to General Practice (practice level) in the HEEC layout.

    Parameters
    ----------
    path : the practice-level CSV (plain or gzip); default the embedded 2022/23 file
        (financial year 1 April 2022 - 31 March 2023, 6,669 practices).
    mode : ``"strict"`` raises one :class:`~ics_model.contracts.DataContractError`
        listing every problem; ``"lenient"`` quarantines the bad rows with the reasons.

    Returns
    -------
    Loaded
        Frame per :data:`GP_PAYMENTS`, one row per practice: identity, geography (the
        sub-ICB location and the PCN, null when "Unknown or no PCN"), practice
        characteristics, list sizes and the payment lines in GBP (PCN network lines:
        :data:`PCN_NETWORK_COLUMNS`).

    Raises
    ------
    DataContractError
        A missing column; a PCN value that is neither a PCN code nor "Unknown or no PCN";
        a number or date that does not parse; a dispensing flag other than Yes, No or
        Unknown; a negative list size; a practice listed twice.

    Examples
    --------
    >>> loaded = read_gp_payments()
    >>> loaded.frame.height, loaded.frame["pcn_code"].null_count()
    (6669, 178)
    """
    path = raw_or(path, "gp_payments", GP_PAYMENTS_FOLDER, "22-23.csv.gz")
    name = source_name(path)
    header, raw = read_csv_records(path)
    cols = _header_map(header, name)
    text = raw.select(*(pl.col(h).alias(c) for c, h in cols.items()), "source_row")
    numbers = list(_NUMBERS)
    dates = ["open_date", "close_date"]
    parsed = text.with_columns(
        pl.when(pl.col("pcn_code") != NO_PCN).then(pl.col("pcn_code")).alias("pcn_code"),
        pl.when(pl.col("pcn_code") != NO_PCN).then(pl.col("pcn_name")).alias("pcn_name"),
        *(_number(c) for c in numbers),
        *(date_from_text(c).alias(c) for c in dates),
        pl.col("dispensing").replace_strict(_YES_NO, default=None, return_dtype=pl.Boolean),
    )
    unparsed = {c: parsed[c] for c in [*numbers, *dates, "dispensing"]}
    work = text.with_columns(
        pl.Series(f"_{c}", s.is_null(), dtype=pl.Boolean) for c, s in unparsed.items()
    )

    def failed(column: str) -> pl.Expr:
        return pl.col(column).is_not_null() & pl.col(f"_{column}")

    hits = [
        column_rule_hits(work, numbers, failed, "not a number"),
        column_rule_hits(work, dates, failed, "not a date (expected DD/MM/YYYY)"),
        column_rule_hits(
            work,
            ["dispensing"],
            lambda c: failed(c) & ~pl.col(c).is_in(list(_YES_NO)),
            "not a dispensing flag (expected Yes, No or Unknown)",
        ),
    ]
    frame = parsed.select(GP_PAYMENTS.column_names)
    checked = validate_with_rules(frame, GP_PAYMENTS, hits, mode=mode, source=name)
    out = checked.frame
    payee = out.filter(pl.col("pcn_workforce") != 0)
    notes = [
        f"{out.height} practices, {out['registered_patients'].sum():,.0f} registered patients "
        f"(last known figures); {out['pcn_code'].n_unique() - out['pcn_code'].has_nulls()} "
        f"PCN codes, {out['pcn_code'].null_count()} practice(s) '{NO_PCN}'",
        f"{(out['pcn_participation'] != 0).sum()} practices received the Network "
        f"Participation Payment; {payee.height} practices in {payee['pcn_code'].n_unique()} "
        "PCNs received PCN Workforce (ARRS) payments as their PCN's payee",
        f"{(out['registered_patients'] == 0).sum()} practice(s) with no registered patients; "
        f"{out['close_date'].is_not_null().sum()} closed",
    ]
    logger.info("read %s: %s", path, notes[0])
    return loaded_from(path, checked, raw.height, "heec-nhs-payments-gp", notes)


__all__ = [
    "GP_PAYMENTS",
    "GP_PAYMENTS_FOLDER",
    "NO_PCN",
    "PCN_NETWORK_COLUMNS",
    "read_gp_payments",
]
