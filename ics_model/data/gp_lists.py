"""NHS Digital "Patients Registered at a GP Practice": practice list sizes on one date.

:func:`read_gp_list_sizes` reads the practice-totals file of the monthly publication
(``gp-reg-pat-prac-all.csv``: ``PUBLICATION, EXTRACT_DATE, TYPE, CCG_CODE, ONS_CCG_CODE,
CODE, POSTCODE, SEX, AGE, NUMBER_OF_PATIENTS``), one row per practice with ``SEX`` and
``AGE`` both ``ALL``. From July 2022 the publication names the sub-ICB location
(``SUB_ICB_LOCATION_CODE``, ``ONS_SUB_ICB_LOCATION_CODE``) instead of the CCG; both
headers are recognised. The embedded file is the May 2022 extract (1 May 2022): the
106 CCG codes of that month are the codes of the July 2022 sub-ICB locations.

Registered lists count patients registered, not residents: they run a few per cent
above the resident population (patients who moved away or died and are still listed).

Reference: NHS Digital, *Patients Registered at a GP Practice* (monthly official
statistics), "totals (GP practice - all persons)" file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, Mode, require_columns
from ics_model.data.base import Loaded, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.ods import ORG_CODE_PATTERN, POSTCODE_PATTERN
from ics_model.data.pcn import PRACTICE_CODE_PATTERN
from ics_model.data.readers import parse_count, read_csv_records, rule_hits, validate_with_rules

logger = logging.getLogger(__name__)

#: the embedded file: ``datasets/raw/gp_list_size/<folder>/gp_pop_data.csv``
GP_LIST_FOLDER: Final = "gp_reg_pat_prac_all_2022-05_mattia-ficarelli"

#: canonical column -> the headers that may hold it (the CCG-era and sub-ICB-era names)
_HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "publication": ("PUBLICATION",),
    "extract_date": ("EXTRACT_DATE",),
    "type": ("TYPE",),
    "sub_icb_code": ("CCG_CODE", "SUB_ICB_LOCATION_CODE", "SUB_ICB_LOC_CODE"),
    "practice_code": ("CODE",),
    "postcode": ("POSTCODE",),
    "sex": ("SEX",),
    "age": ("AGE",),
    "patients": ("NUMBER_OF_PATIENTS",),
}

GP_LIST_SIZES: Final = Contract(
    name="gp_list_sizes",
    description="Patients registered at each GP practice on the extract date (all persons).",
    key=("practice_code",),
    columns=(
        Column.text("practice_code", "ODS GP practice code", pattern=PRACTICE_CODE_PATTERN),
        Column.text(
            "sub_icb_code",
            "CCG (to June 2022) or sub-ICB location (from July 2022) code",
            pattern=ORG_CODE_PATTERN,
        ),
        Column.text("postcode", "practice postcode", nullable=True, pattern=POSTCODE_PATTERN),
        Column("extract_date", pl.Date, nullable=False, description="EXTRACT_DATE"),
        Column.count("patients", "registered patients, all ages and sexes"),
        Column("source_row", pl.Int64, nullable=False, description="CSV record, header 1"),
    ),
)


def _header_map(header: list[str], name: str) -> dict[str, str]:
    """Canonical column -> the file's header (case-insensitive); missing ones raise."""
    upper = {h.strip().upper(): h for h in header}
    found = {c: next((upper[a] for a in alts if a in upper), None) for c, alts in _HEADERS.items()}
    missing = [" or ".join(_HEADERS[c]) for c, h in found.items() if h is None]
    require_columns(header, missing, name)
    return {c: h for c, h in found.items() if h is not None}


def read_gp_list_sizes(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read the practice totals of NHS Digital's "Patients Registered at a GP Practice".

    Parameters
    ----------
    path : the ``gp-reg-pat-prac-all.csv`` file of one month (CCG- or sub-ICB-era
        headers); default the embedded May 2022 extract (6,506 practices, 61,654,788
        patients).
    mode : ``"strict"`` raises one :class:`~ics_model.contracts.DataContractError`
        listing every problem; ``"lenient"`` quarantines the bad rows with the reasons.

    Returns
    -------
    Loaded
        Frame per :data:`GP_LIST_SIZES`, one row per practice: ``practice_code``,
        ``sub_icb_code``, ``postcode``, ``extract_date``, ``patients``.

    Raises
    ------
    DataContractError
        A missing column; a row that is not a practice total (``TYPE`` other than
        ``GP``, ``SEX`` or ``AGE`` other than ``ALL``: a breakdown file was given); an
        extract date that is not ``01May2022``-style or differs between rows; a count
        that is not a whole number of at least 0; a practice listed twice.

    Examples
    --------
    >>> loaded = read_gp_list_sizes()
    >>> loaded.frame.height, loaded.frame["patients"].sum()
    (6506, 61654788)
    """
    path = raw_or(path, "gp_list_size", GP_LIST_FOLDER, "gp_pop_data.csv")
    name = source_name(path)
    header, raw = read_csv_records(path)
    cols = _header_map(header, name)
    text = raw.select(*(pl.col(h).alias(c) for c, h in cols.items()), "source_row")
    date = pl.col("extract_date").str.to_titlecase().str.to_date("%d%b%Y", strict=False)
    parsed = text.with_columns(date.alias("extract_date"), parse_count("patients"))
    first_date = parsed["extract_date"].drop_nulls().mode().sort().head(1)
    hits = [
        rule_hits(
            text,
            "extract_date",
            pl.col("extract_date").is_not_null() & parsed["extract_date"].is_null(),
            pl.col("extract_date"),
            "not a date (expected e.g. 01May2022)",
        ),
        rule_hits(
            parsed,
            "extract_date",
            pl.col("extract_date").is_not_null()
            & pl.col("extract_date").is_in(first_date.implode()).not_(),
            pl.col("extract_date").cast(pl.String),
            f"extract date differs from the file's ({', '.join(map(str, first_date))})",
        ),
        rule_hits(
            text,
            "patients",
            pl.col("patients").is_not_null() & parsed["patients"].is_null(),
            pl.col("patients"),
            "not a whole number",
        ),
    ]
    for column, wanted in (("type", "GP"), ("sex", "ALL"), ("age", "ALL")):
        hits.append(
            rule_hits(
                text,
                column,
                pl.col(column).fill_null("").str.to_uppercase() != wanted,
                pl.col(column),
                f"not a practice total ({column.upper()} should be {wanted})",
            )
        )
    frame = parsed.select(GP_LIST_SIZES.column_names)
    checked = validate_with_rules(frame, GP_LIST_SIZES, hits, mode=mode, source=name)
    out = checked.frame
    when = ", ".join(sorted({str(d) for d in out["extract_date"].unique()}))
    notes = [
        f"{out.height} practices, {out['patients'].sum():,} registered patients, extract "
        f"date {when}; {out['sub_icb_code'].n_unique()} CCG / sub-ICB codes",
        f"{(out['patients'] == 0).sum()} practice(s) with no registered patients",
    ]
    logger.info("read %s: %s", path, notes[0])
    return loaded_from(path, checked, raw.height, "nhsd-gp-reg-pat-prac-all", notes)


__all__ = ["GP_LIST_FOLDER", "GP_LIST_SIZES", "read_gp_list_sizes"]
