"""Provider-level collaboration exposures of GP practices: PCN membership, size, tenure, money.

Primary Care Networks (PCNs, from July 2019) are groups of neighbouring GP practices,
usually 30,000-50,000 patients, that share staff and services under the Network Contract
Directed Enhanced Service (DES). A practice's PCN is the most direct, measurable form of
collaboration a GP practice takes part in, and it varies **within** an ICS, which the
ICS-level proxies cannot. :func:`gp_exposures` builds one row per rated practice from
three sources:

- **ODS ePCN** (:func:`~ics_model.data.pcn.read_epcn`, October 2024 extract with the
  history of every membership since October 2019): membership on the reference date
  ``as_of``, the PCN's size, how long the practice has been in it, whether the PCN
  crosses sub-ICB or ICB borders;
- **registered patients** on 1 May 2022 (:func:`~ics_model.data.gp_lists.read_gp_list_sizes`):
  the practice's and its PCN's lists;
- **NHS payments to general practice 2022/23**
  (:func:`~ics_model.data.gp_payments.read_gp_payments`): Network DES participation,
  whether the practice or another body (such as a GP federation) holds its PCN's money,
  and the PCN's ARRS and IIF payments per registered patient
  (:mod:`~ics_model.metrics.gp_exposure_payments`).

Every exposure measures the **structure of, or resources for, collaboration** (an
opportunity), not collaboration itself: nothing here observes whether the practices of a
PCN actually work together well. :data:`~ics_model.metrics.gp_exposure_catalogue.EXPOSURES`
documents each one (definition, numerator and denominator, vintage, construct).

**Reference date.** ``as_of`` is a date (default 1 July 2022, when ICSs became statutory:
one definition for every rating, so pre-ICS ratings serve as a placebo) or
``"rating_year"``: 1 January of the practice's rating year (the GP ratings file gives the
year only, so this is the last date known to precede the rating). PCN membership is read
on that date; list sizes are always of May 2022 and payments of 2022/23.

Nothing is dropped silently: a practice without a value has the reason in ``pcn_note``,
``list_note`` or ``payments_note`` (fixed phrases, :data:`NOTES`), which
:func:`~ics_model.metrics.gp_exposure_catalogue.gp_exposure_coverage` counts.

References
----------
- NHS England, *Network Contract Directed Enhanced Service: contract specification
  2022/23* (PCN membership, the Additional Roles Reimbursement Scheme, the Network
  Participation Payment, core PCN funding).
- NHS England Organisation Data Service, ePCN file; NHS Digital, *Patients Registered at a
  GP Practice* (May 2022) and *NHS Payments to General Practice, England, 2022-23*.
- NHS England and BMA (2019), *Investment and evolution: a five-year framework for GP
  contract reform to implement The NHS Long Term Plan* (PCNs of typically 30,000-50,000
  patients, the Additional Roles Reimbursement Scheme).
- Baird, B. et al. (2018), *Innovative models of general practice*, The King's Fund:
  practices working at scale and in networks as the structural form of primary-care
  collaboration.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Final, Literal

import polars as pl

from ics_model.contracts import Column, Contract, validate
from ics_model.data.pcn import PCN_CODE_PATTERN, PRACTICE_CODE_PATTERN
from ics_model.metrics.gp_exposure_payments import NOTES as PAYMENT_NOTES
from ics_model.metrics.gp_exposure_payments import payment_exposures

logger = logging.getLogger(__name__)

#: ICSs became statutory on 1 July 2022: the default reference date.
DEFAULT_AS_OF: Final = date(2022, 7, 1)
#: ODS records PCN membership from 1 October 2019 (PCNs began on 1 July 2019).
PCN_RECORDS_START: Final = date(2019, 10, 1)
#: days per month (365.25 / 12), for the day remainder of a tenure in months.
_DAYS_PER_MONTH: Final = 365.25 / 12
_FAR: Final = date(9999, 12, 31)

AsOf = date | Literal["rating_year"]

#: The fixed phrases of the note columns, by key (the coverage report counts them).
NOTES: Final[dict[str, str]] = {
    "no_year": "no rating year, so no rating-year reference date",
    "before_pcns": "reference date before ODS records PCN membership (1 October 2019)",
    "unknown": "in neither ePCN nor the 2022/23 payments file: no evidence it was a practice",
    "left": "left its last PCN before the reference date (closed or merged practice?)",
    "not_yet": "joined its first PCN after the reference date; not known to be open then",
    "not_open": (
        "never in a PCN, and not open on the reference date (2022/23 payments file: "
        "opened after or closed before it)"
    ),
    "open_no_pcn": (
        "open on the reference date but in no PCN (2022/23 payments file, or PCN spells "
        "before and after it)"
    ),
    "no_icb": "a sub-ICB location of its PCN has no parent ICB in ODS eccg",
    "no_list": "no registered-patient count of May 2022 for the practice",
    **PAYMENT_NOTES,
}

_PER_PATIENT = "GBP per registered patient, 2022/23"
GP_EXPOSURES: Final = Contract.closed(
    "gp_exposures",
    (
        Column.text("practice_code", "practice code of the GP ratings file"),
        Column("publication_year", pl.Int32, description="rating year (GP ratings file)"),
        Column("as_of", pl.Date, description="reference date of the PCN membership"),
        Column("in_pcn", pl.Boolean, description="member of a PCN on as_of (ODS ePCN)"),
        Column.text("pcn_code", "PCN on as_of", nullable=True, pattern=PCN_CODE_PATTERN),
        Column.text("pcn_name", "PCN name", nullable=True),
        Column("pcn_n_practices", pl.Int64, min_value=1, description="members on as_of"),
        Column("months_in_pcn", pl.Float64, min_value=0.0, description="in this PCN code"),
        Column("months_in_any_pcn", pl.Float64, min_value=0.0, description="in any PCN"),
        Column("outside_pcn_sub_icb", pl.Boolean, description="practice's sub-ICB != PCN's"),
        Column("pcn_spans_sub_icbs", pl.Boolean, description="members in 2+ sub-ICBs"),
        Column("pcn_spans_icbs", pl.Boolean, description="members in 2+ ICBs"),
        Column.text("pcn_note", "why the PCN exposures are missing or qualified", nullable=True),
        Column("practice_patients", pl.Int64, min_value=0, description="May 2022 list"),
        Column("pcn_patients", pl.Int64, min_value=0, description="PCN members' May 2022 lists"),
        Column("pcn_members_without_list", pl.Int64, min_value=0, description="counted as 0"),
        Column.share("pcn_list_share", "practice_patients / pcn_patients"),
        Column.text("list_note", "why the list exposures are missing", nullable=True),
        Column("in_network_des", pl.Boolean, description="Network Participation Payment > 0"),
        Column.text("pcn_code_payments", "PCN in the payments file", nullable=True),
        Column("pcn_payee", pl.Boolean, description="received its PCN's payee lines"),
        Column("pcn_payee_other_body", pl.Boolean, description="PCN paid via a non-practice"),
        Column.number("pcn_arrs_per_patient", "PCN's ARRS (PCN Workforce), " + _PER_PATIENT),
        Column.number("pcn_iif_per_patient", "PCN's Investment and Impact Fund, " + _PER_PATIENT),
        Column.text("contract_type", "GMS, PMS, APMS (2022/23; a control)", nullable=True),
        Column.text("rurality", "Urban or Rural (2022/23; a control)", nullable=True),
        Column.text("payments_note", "why the payment exposures are missing", nullable=True),
    ),
    key=("practice_code",),
    description=(
        "Provider-level collaboration exposures of rated GP practices: PCN membership, size, "
        "tenure and borders on as_of (ODS ePCN), list sizes (May 2022), Network DES "
        "payments (2022/23). Opportunity for collaboration, not collaboration itself."
    ),
)


# --------------------------------------------------------------------------- membership


def memberships_at(spells: pl.DataFrame, dates: pl.Series | list[date]) -> pl.DataFrame:
    """Return each practice's PCN membership on each of ``dates``, with its tenure.

    A practice is a member on day ``t`` when ``start_date <= t <= end_date`` (end null =
    still a member; ODS end dates are the last day). On a day covered by two spells (11
    practices in the October 2024 file, data-entry overlaps of a day or two) the spell
    with the later start counts, then the one that lasts longer.

    Tenure: spells chain when each starts at most one day after the latest end so far.
    ``months_in_pcn`` = calendar months from the start ``s`` of the chain of spells **in
    the same PCN code** to ``t``: ``12 (year_t - year_s) + (month_t - month_s) + (day_t -
    day_s) / 30.4375`` (whole months between first days of months, which ODS dates
    mostly are); ``months_in_any_pcn`` the same for spells in any PCN. A merger that
    re-codes a PCN ends its spells, so ``months_in_pcn`` restarts there.

    Parameters
    ----------
    spells : frame per :data:`~ics_model.data.pcn.EPCN_MEMBERSHIPS`.
    dates : the reference dates.

    Returns
    -------
    pl.DataFrame
        One row per (``as_of``, member practice): ``as_of, practice_code, pcn_code,
        pcn_name, practice_sub_icb_code, pcn_sub_icb_code, sub_icb_match,
        months_in_pcn, months_in_any_pcn``.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> s = pl.DataFrame({"practice_code": ["A1", "A1"], "pcn_code": ["U1", "U2"],
    ...     "pcn_name": ["N1", "N2"], "practice_sub_icb_code": ["01A", "01A"],
    ...     "pcn_sub_icb_code": ["01A", "01A"], "sub_icb_match": [True, True],
    ...     "start_date": [date(2019, 10, 1), date(2021, 4, 1)],
    ...     "end_date": [date(2021, 3, 31), None]})
    >>> m = memberships_at(s, [date(2022, 4, 1)])
    >>> m.select("pcn_code", "months_in_pcn", "months_in_any_pcn").row(0)
    ('U2', 12.0, 30.0)
    """
    at = pl.DataFrame({"as_of": pl.Series(list(dates), dtype=pl.Date)}).unique()
    started = spells.join(at, how="cross").filter(pl.col("start_date") <= pl.col("as_of"))
    covering = started.filter(pl.col("end_date").fill_null(_FAR) >= pl.col("as_of"))
    current = covering.sort(
        ["as_of", "practice_code", "start_date", pl.col("end_date").fill_null(_FAR)],
        descending=[False, False, True, True],
    ).unique(["as_of", "practice_code"], keep="first", maintain_order=True)
    any_start = _chain_start(started, ["as_of", "practice_code"])
    same = started.join(
        current.select("as_of", "practice_code", "pcn_code"),
        on=["as_of", "practice_code", "pcn_code"],
        how="semi",
    )
    pcn_start = _chain_start(same, ["as_of", "practice_code"])
    t, s0 = pl.col("as_of"), pl.col("_start")
    months = (
        12 * (t.dt.year() - s0.dt.year())
        + (t.dt.month().cast(pl.Int32) - s0.dt.month().cast(pl.Int32))
        + (t.dt.day().cast(pl.Int32) - s0.dt.day().cast(pl.Int32)) / _DAYS_PER_MONTH
    ).cast(pl.Float64)
    return (
        current.join(pcn_start, on=["as_of", "practice_code"], how="left")
        .with_columns(months.round(2).alias("months_in_pcn"))
        .drop("_start")
        .join(any_start, on=["as_of", "practice_code"], how="left")
        .with_columns(months.round(2).alias("months_in_any_pcn"))
        .select(
            "as_of",
            "practice_code",
            "pcn_code",
            "pcn_name",
            "practice_sub_icb_code",
            "pcn_sub_icb_code",
            "sub_icb_match",
            "months_in_pcn",
            "months_in_any_pcn",
        )
        .sort("as_of", "practice_code")
    )


def _chain_start(started: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Start (``_start``) of the last chain of spells per ``by`` (spells started by as_of)."""
    reach = pl.col("end_date").fill_null(_FAR).cum_max().shift(1).over(by)
    chained = started.sort([*by, "start_date"]).with_columns(
        (reach.is_null() | (pl.col("start_date") > reach.dt.offset_by("1d")))
        .cum_sum()
        .over(by)
        .alias("_chain")
    )
    return (
        chained.filter(pl.col("_chain") == pl.col("_chain").max().over(by))
        .group_by(by)
        .agg(pl.col("start_date").min().alias("_start"))
    )


def pcn_profiles(
    members: pl.DataFrame, list_sizes: pl.DataFrame, sub_icbs: pl.DataFrame
) -> pl.DataFrame:
    """Per PCN and reference date: members, registered patients, sub-ICB and ICB spread.

    ``pcn_n_practices`` = member practices on ``as_of``; ``pcn_patients`` = the sum of their
    May 2022 lists. A member without a May 2022 list counts 0 and is counted in
    ``pcn_members_without_list``: on 1 July 2022 these are mostly practices that had
    already merged into another member (whose list holds their patients) while ODS still
    lists them, and on earlier dates practices that closed before May 2022.
    ``pcn_spans_sub_icbs`` = the members' sub-ICB locations and the PCN's own
    number two or more; ``pcn_spans_icbs`` the same for their ICBs (ODS ``eccg``), null
    when one of those sub-ICB locations has no ICB.

    Parameters
    ----------
    members : :func:`memberships_at` output.
    list_sizes : frame per :data:`~ics_model.data.gp_lists.GP_LIST_SIZES`.
    sub_icbs : ``org_code`` (sub-ICB location) and ``icb_code`` (ODS ``eccg``).
    """
    icb = sub_icbs.select(pl.col("org_code").alias("_sub"), pl.col("icb_code").alias("_icb"))
    lists = list_sizes.select("practice_code", pl.col("patients").alias("_patients"))
    with_lists = members.join(lists, on="practice_code", how="left")
    sizes = with_lists.group_by("as_of", "pcn_code").agg(
        pl.len().cast(pl.Int64).alias("pcn_n_practices"),
        pl.col("_patients").sum().cast(pl.Int64).alias("pcn_patients"),
        pl.col("_patients").null_count().cast(pl.Int64).alias("pcn_members_without_list"),
    )
    subs = pl.concat(
        [
            members.select("as_of", "pcn_code", pl.col("practice_sub_icb_code").alias("_sub")),
            members.select("as_of", "pcn_code", pl.col("pcn_sub_icb_code").alias("_sub")),
        ]
    ).unique()
    spread = (
        subs.join(icb.unique("_sub"), on="_sub", how="left")
        .group_by("as_of", "pcn_code")
        .agg(
            (pl.col("_sub").n_unique() > 1).alias("pcn_spans_sub_icbs"),
            pl.when(pl.col("_icb").null_count() == 0)
            .then(pl.col("_icb").n_unique() > 1)
            .alias("pcn_spans_icbs"),
        )
    )
    return sizes.join(spread, on=["as_of", "pcn_code"], how="left")


# --------------------------------------------------------------------------- the builder


def _reference_dates(practices: pl.DataFrame, as_of: AsOf) -> pl.DataFrame:
    """One row per distinct practice code: ``practice_code, publication_year, as_of``."""
    if "key_question" in practices.columns:
        practices = practices.filter(pl.col("key_question").cast(pl.String) == "Overall")
    year = (
        pl.col("publication_year").cast(pl.Int32)
        if "publication_year" in practices.columns
        else pl.lit(None, pl.Int32)
    )
    codes = practices.filter(pl.col("practice_code").is_not_null()).select(
        "practice_code", year.alias("publication_year")
    )
    if codes["practice_code"].is_duplicated().any():
        dup = codes.filter(pl.col("practice_code").is_duplicated())["practice_code"].unique()
        raise ValueError(
            "practices has more than one (Overall) row for practice code(s) "
            + ", ".join(sorted(dup.to_list())[:10])
        )
    if as_of == "rating_year":
        ref = pl.date(pl.col("publication_year"), 1, 1)
    elif isinstance(as_of, date):
        ref = pl.lit(as_of, pl.Date)
    else:
        raise ValueError(f"as_of must be a date or 'rating_year', got {as_of!r}")
    return codes.with_columns(ref.alias("as_of"))


def gp_exposures(
    practices: pl.DataFrame,
    spells: pl.DataFrame,
    list_sizes: pl.DataFrame,
    payments: pl.DataFrame,
    sub_icbs: pl.DataFrame,
    *,
    as_of: AsOf = DEFAULT_AS_OF,
) -> pl.DataFrame:
    """Build the provider-level collaboration exposures of rated GP practices.

    Parameters
    ----------
    practices : the GP ratings frame (:func:`~ics_model.data.cqc.read_gp_practices`
        ``.frame``, or any frame with ``practice_code`` and ``publication_year``); only
        Overall rows are used when ``key_question`` is present; rows without a practice
        code cannot be matched (the coverage report counts them).
    spells : ODS ePCN membership spells (:func:`~ics_model.data.pcn.read_epcn`).
    list_sizes : registered patients per practice
        (:func:`~ics_model.data.gp_lists.read_gp_list_sizes`, May 2022).
    payments : NHS payments to general practice
        (:func:`~ics_model.data.gp_payments.read_gp_payments`, 2022/23).
    sub_icbs : ``org_code`` and ``icb_code`` of sub-ICB locations
        (:func:`~ics_model.data.ods.read_ods_sub_icbs`), for the ICB-border exposure.
    as_of : the reference date of PCN membership: a date (default
        :data:`DEFAULT_AS_OF`, 1 July 2022) or ``"rating_year"`` (1 January of each
        practice's rating year).

    Returns
    -------
    pl.DataFrame
        Per :data:`GP_EXPOSURES`, one row per distinct practice code, sorted. Definitions
        in :data:`~ics_model.metrics.gp_exposure_catalogue.EXPOSURES`:

        - ``in_pcn``: true when a spell covers ``as_of``; false when none does but the
          practice was open then (2022/23 payments file: open date on or before ``as_of``,
          no close date before it); null otherwise, with the reason in ``pcn_note``
          (before PCNs, left, not yet joined, unknown code).
        - members only: ``pcn_code``, ``pcn_name``, ``pcn_n_practices``,
          ``months_in_pcn``, ``months_in_any_pcn``, ``outside_pcn_sub_icb``,
          ``pcn_spans_sub_icbs``, ``pcn_spans_icbs``, ``pcn_patients`` and
          ``pcn_list_share`` = ``practice_patients / pcn_patients``.
        - ``practice_patients``: May 2022 list (``list_note`` when missing).
        - 2022/23 payments: ``in_network_des`` (Network Participation Payment > 0),
          ``pcn_code_payments``, ``pcn_payee``, ``pcn_payee_other_body``,
          ``pcn_arrs_per_patient``, ``pcn_iif_per_patient`` (see
          :func:`~ics_model.metrics.gp_exposure_payments.pcn_payments`) and the
          controls ``contract_type``, ``rurality``; ``payments_note`` when missing.
    """
    codes = _reference_dates(practices, as_of)
    dates = codes["as_of"].drop_nulls().unique()
    members = memberships_at(spells, dates)
    profiles = pcn_profiles(members, list_sizes, sub_icbs)
    history = spells.group_by("practice_code").agg(
        pl.col("start_date").min().alias("_first"),
        pl.col("end_date").fill_null(_FAR).max().alias("_last"),
    )
    lists = list_sizes.select("practice_code", pl.col("patients").alias("practice_patients"))
    pay = payment_exposures(codes.select("practice_code"), payments)
    out = (
        codes.join(members, on=["as_of", "practice_code"], how="left")
        .join(profiles, on=["as_of", "pcn_code"], how="left")
        .join(history, on="practice_code", how="left")
        .join(lists, on="practice_code", how="left")
        .join(pay, on="practice_code", how="left")
    )
    ref = pl.col("as_of")
    member = pl.col("pcn_code").is_not_null()
    open_then = (
        pl.col("_in_payments").fill_null(False)
        & (pl.col("open_date").fill_null(date.min) <= ref)
        & (pl.col("close_date").fill_null(_FAR) >= ref)
    ) | ((pl.col("_first") <= ref) & (pl.col("_last") >= ref))  # a gap between spells
    valid_code = pl.col("practice_code").str.contains(f"^{PRACTICE_CODE_PATTERN}$")
    state = (
        pl.when(~valid_code)
        .then(pl.lit("not_practice_code"))
        .when(ref.is_null())
        .then(pl.lit("no_year"))
        .when(ref < PCN_RECORDS_START)
        .then(pl.lit("before_pcns"))
        .when(member)
        .then(pl.when(pl.col("pcn_spans_icbs").is_null()).then(pl.lit("no_icb")))
        .when(open_then)
        .then(pl.lit("open_no_pcn"))
        .when(pl.col("_first").is_null())
        .then(
            pl.when(pl.col("_in_payments").is_null())
            .then(pl.lit("unknown"))
            .otherwise(pl.lit("not_open"))
        )
        .when(pl.col("_last") < ref)
        .then(pl.lit("left"))
        .when(pl.col("_first") > ref)
        .then(pl.lit("not_yet"))
        .otherwise(pl.lit("unknown"))
    )
    out = out.with_columns(state.alias("_state"))
    in_pcn = (
        pl.when(member)
        .then(pl.lit(True))
        .when(pl.col("_state") == "open_no_pcn")
        .then(pl.lit(False))
    )
    share = pl.col("practice_patients") / pl.col("pcn_patients")
    list_note = (
        pl.when(~valid_code)
        .then(pl.lit(NOTES["not_practice_code"]))
        .when(pl.col("practice_patients").is_null())
        .then(pl.lit(NOTES["no_list"]))
    )
    out = out.with_columns(
        in_pcn.alias("in_pcn"),
        (~pl.col("sub_icb_match")).alias("outside_pcn_sub_icb"),
        pl.when(pl.col("pcn_patients") > 0).then(share).alias("pcn_list_share"),
        pl.col("_state").replace_strict(NOTES, default=None).alias("pcn_note"),
        list_note.alias("list_note"),
    )
    out = out.select(GP_EXPOSURES.column_names).sort("practice_code")
    logger.info(
        "gp_exposures: %d practices, %d PCN members on the reference date",
        out.height,
        out["in_pcn"].sum(),
    )
    return validate(out, GP_EXPOSURES).frame


__all__ = [
    "DEFAULT_AS_OF",
    "GP_EXPOSURES",
    "NOTES",
    "PCN_RECORDS_START",
    "gp_exposures",
    "memberships_at",
    "pcn_profiles",
]
