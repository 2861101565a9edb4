"""GP exposures from NHS Payments to General Practice: Network DES money and who holds it.

Under the Network Contract DES every participating practice receives the Network
Participation Payment, and each PCN's own funding (clinical director, core support,
extended hours access, the Additional Roles Reimbursement Scheme (ARRS), the Investment
and Impact Fund (IIF), the care home premium, enhanced access) is paid to the PCN's
**nominated payee**: a member practice, whose row in the payments file then carries it,
or another body (a GP federation, an NHS trust, a PCN company), whose payments the file
does not hold. Different lines can go to different payees, and a payee can change during
the year.

Hence, per PCN ``c`` of the payments file (its own 2022/23 PCN code) with member rows
``p`` and ``N_c = sum_p registered patients`` (last known figure):

- ``pcn_payee_other_body`` = no member received a positive payee line
  (:data:`PAYEE_COLUMNS`: clinical director, core support, extended hours access, paid to
  the nominated payee as a matter of course);
- ``pcn_arrs_per_patient`` = ``sum_p pcn_workforce / N_c``, defined when some member
  received a positive ARRS payment: a **lower bound** where part of the PCN's ARRS went
  to another body;
- ``pcn_iif_per_patient`` = ``sum_p pcn_investment_impact_fund / N_c``, likewise. The IIF
  pays for what the network achieved on its indicators, so it is closer to an outcome
  than an exposure.

Reference: NHS England, *Network Contract DES: contract specification 2022/23* and
*Guidance on payment*; NHS Digital, *NHS Payments to General Practice, England, 2022-23*.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from ics_model.data.pcn import PRACTICE_CODE_PATTERN

#: the PCN lines paid to the nominated payee as a matter of course (GBP per patient
#: formulas): who receives them holds the PCN's money
PAYEE_COLUMNS: Final[tuple[str, ...]] = (
    "pcn_leadership",
    "pcn_support",
    "pcn_extended_hours_access",
)

#: why a payment exposure is missing (fixed phrases, counted by the coverage report)
NOTES: Final[dict[str, str]] = {
    "not_practice_code": "not an ODS GP practice code (e.g. a 9-character CQC site code)",
    "no_payments": "not in the 2022/23 payments file (closed before or opened after 2022/23?)",
    "no_payments_pcn": "no PCN in the 2022/23 payments file ('Unknown or no PCN')",
    "no_pcn_patients": "its PCN has no registered patients in the 2022/23 payments file",
    "arrs_elsewhere": (
        "no member practice of its PCN received ARRS (PCN Workforce) payments: paid to "
        "another body such as a GP federation, which the payments file does not hold"
    ),
    "iif_elsewhere": (
        "no member practice of its PCN received Investment and Impact Fund payments: paid "
        "to another body, or none earned"
    ),
}


def pcn_payments(payments: pl.DataFrame) -> pl.DataFrame:
    """Per PCN of the payments file: who holds its money, and ARRS and IIF per patient.

    Parameters
    ----------
    payments : frame per :data:`~ics_model.data.gp_payments.GP_PAYMENTS`.

    Returns
    -------
    pl.DataFrame
        ``pcn_code, pcn_payee_other_body, pcn_patients_payments, pcn_arrs_per_patient,
        pcn_iif_per_patient`` (formulas in the module docstring); practices in no PCN are
        left out.

    Examples
    --------
    >>> import polars as pl
    >>> from ics_model.data.gp_payments import PCN_NETWORK_COLUMNS
    >>> p = pl.DataFrame({"pcn_code": ["U1", "U1", "U2"],
    ...     "registered_patients": [6000.0, 4000.0, 5000.0],
    ...     **{c: [0.0, 0.0, 0.0] for c in PCN_NETWORK_COLUMNS}})
    >>> p = p.with_columns(pl.Series("pcn_support", [15000.0, 0.0, 0.0]),
    ...     pl.Series("pcn_workforce", [80000.0, 20000.0, 0.0]))
    >>> pcn_payments(p).sort("pcn_code").select(
    ...     "pcn_code", "pcn_payee_other_body", "pcn_arrs_per_patient").rows()
    [('U1', False, 10.0), ('U2', True, None)]
    """
    payee = pl.sum_horizontal(PAYEE_COLUMNS) > 0
    per = (
        payments.filter(pl.col("pcn_code").is_not_null())
        .group_by("pcn_code")
        .agg(
            (~payee.any()).alias("pcn_payee_other_body"),
            pl.col("registered_patients").sum().alias("pcn_patients_payments"),
            (pl.col("pcn_workforce") > 0).any().alias("_arrs_paid"),
            pl.col("pcn_workforce").sum().alias("_arrs"),
            (pl.col("pcn_investment_impact_fund") > 0).any().alias("_iif_paid"),
            pl.col("pcn_investment_impact_fund").sum().alias("_iif"),
        )
    )
    patients = pl.col("pcn_patients_payments")
    return per.select(
        "pcn_code",
        "pcn_payee_other_body",
        "pcn_patients_payments",
        pl.when(pl.col("_arrs_paid") & (patients > 0))
        .then(pl.col("_arrs") / patients)
        .alias("pcn_arrs_per_patient"),
        pl.when(pl.col("_iif_paid") & (patients > 0))
        .then(pl.col("_iif") / patients)
        .alias("pcn_iif_per_patient"),
    )


def payment_exposures(codes: pl.DataFrame, payments: pl.DataFrame) -> pl.DataFrame:
    """Per practice code: Network DES participation, payee status, PCN money, a note.

    Parameters
    ----------
    codes : ``practice_code`` (one row per practice).
    payments : frame per :data:`~ics_model.data.gp_payments.GP_PAYMENTS`.

    Returns
    -------
    pl.DataFrame
        ``codes`` with ``in_network_des`` (Network Participation Payment > 0),
        ``pcn_code_payments``, ``pcn_payee`` (the practice received a positive payee
        line: it holds its PCN's money), the :func:`pcn_payments` columns of its PCN,
        ``contract_type``, ``rurality``, ``open_date``, ``close_date``, ``_in_payments``
        and ``payments_note`` (:data:`NOTES`: why the practice has no payment exposures;
        ARRS and IIF have their own reasons, given by the coverage report).
    """
    payee = pl.sum_horizontal(PAYEE_COLUMNS) > 0
    own = payments.select(
        "practice_code",
        (pl.col("pcn_participation") > 0).alias("in_network_des"),
        pl.col("pcn_code").alias("pcn_code_payments"),
        pl.when(pl.col("pcn_code").is_not_null()).then(payee).alias("pcn_payee"),
        "contract_type",
        "rurality",
        "open_date",
        "close_date",
        pl.lit(True).alias("_in_payments"),
    )
    per = pcn_payments(payments).rename({"pcn_code": "pcn_code_payments"})
    out = codes.join(own, on="practice_code", how="left").join(
        per, on="pcn_code_payments", how="left"
    )
    note = (
        pl.when(~pl.col("practice_code").str.contains(f"^{PRACTICE_CODE_PATTERN}$"))
        .then(pl.lit(NOTES["not_practice_code"]))
        .when(pl.col("_in_payments").is_null())
        .then(pl.lit(NOTES["no_payments"]))
        .when(pl.col("pcn_code_payments").is_null())
        .then(pl.lit(NOTES["no_payments_pcn"]))
        .when(pl.col("pcn_patients_payments") <= 0)
        .then(pl.lit(NOTES["no_pcn_patients"]))
    )
    return out.with_columns(note.alias("payments_note"))


__all__ = ["NOTES", "PAYEE_COLUMNS", "payment_exposures", "pcn_payments"]
