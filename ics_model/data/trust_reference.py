"""Reference tables about NHS trusts: NHS England's trust types and ambulance service areas.

:func:`read_nhs_trust_types` reads NHS England's classification of trusts (acute, acute
specialist, mental health, community, ambulance) from the NHS Oversight Framework trust
profiles; it types a trust where the CQC ratings file carries no inspection category.
:func:`read_ambulance_areas` reads the crosswalk naming the ambulance trust that serves
each sub-ICB location, from which an ambulance trust's share of each ICB is derived
(:mod:`ics_model.mapping.ambulance`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import polars as pl

from ics_model.contracts import Column, Contract, Mode, require_columns
from ics_model.data.base import Loaded, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.readers import read_csv_records, validate_with_rules
from ics_model.ratings import TRUST_TYPE_BY_NHS_SUBTYPE

logger = logging.getLogger(__name__)

_ODS_CODE: Final = r"[A-Z0-9]{3,6}"

NHS_TRUST_TYPES: Final = Contract(
    name="nhs_trust_types",
    description="NHS England's classification of NHS organisations (one row per organisation).",
    key=("org_code",),
    columns=(
        Column.text("org_code", "ODS code", pattern=_ODS_CODE),
        Column.text("org_name", "organisation name", nullable=True),
        Column.text("nhs_trust_type", "NHS England's trust type (e.g. Acute trust)", nullable=True),
        Column(
            "nhs_trust_subtype",
            pl.String,
            allowed=frozenset(TRUST_TYPE_BY_NHS_SUBTYPE),
            description="NHS England's trust subtype, lower case (e.g. acute - specialist); "
            "null for organisations it does not classify",
        ),
        Column("source_row", pl.Int64, nullable=False),
    ),
)

AMBULANCE_AREAS: Final = Contract(
    name="ambulance_areas",
    description="The ambulance trust that serves each sub-ICB location (one row per sub-ICB).",
    key=("sub_icb_code",),
    columns=(
        Column.text("ambulance_trust_code", "ODS code of the ambulance trust", pattern=_ODS_CODE),
        Column.text("sub_icb_code", "ODS code of the sub-ICB location", pattern=_ODS_CODE),
        Column.text("note", "why the assignment is approximate, if it is", nullable=True),
        Column("source_row", pl.Int64, nullable=False),
    ),
)


def read_nhs_trust_types(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read NHS England's trust classification from the NOF trust profiles.

    Parameters
    ----------
    path : a CSV with ``org_code``, ``org_name``, ``Trust_type`` and ``Trust_subtype``
        columns (others are ignored); default the embedded NHS Oversight Framework
        2025/26 Q3 trust profiles (221 organisations, 150 classified).
    mode : ``"strict"`` or ``"lenient"``.

    Returns
    -------
    Loaded
        Frame per :data:`NHS_TRUST_TYPES`: ``org_code``, ``org_name``,
        ``nhs_trust_type``, ``nhs_trust_subtype`` (lower case; its values are the keys of
        :data:`~ics_model.ratings.TRUST_TYPE_BY_NHS_SUBTYPE`), ``source_row``.
    """
    path = raw_or(path, "nof", "nof_2025-26_q3_trustpulse", "trust_profiles.csv")
    name = source_name(path)
    header, raw = read_csv_records(path)
    require_columns(header, ["org_code", "org_name", "Trust_type", "Trust_subtype"], name)
    frame = raw.select(
        "org_code",
        "org_name",
        pl.col("Trust_type").alias("nhs_trust_type"),
        pl.col("Trust_subtype")
        .str.to_lowercase()
        .str.replace_all(r"\s+", " ")
        .alias("nhs_trust_subtype"),
        "source_row",
    )
    checked = validate_with_rules(frame, NHS_TRUST_TYPES, [], mode=mode, source=name)
    n = checked.frame["nhs_trust_subtype"].is_not_null().sum()
    notes = [f"{checked.frame.height} organisations, {n} with an NHS England trust subtype"]
    logger.info("read %s: %s", path, notes[0])
    return loaded_from(path, checked, raw.height, "nof-trust-profiles", notes)


def read_ambulance_areas(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read the crosswalk of the ambulance trust serving each sub-ICB location.

    Parameters
    ----------
    path : a CSV with ``ambulance_trust_code``, ``sub_icb_code`` and ``note`` columns;
        default the embedded April 2023 crosswalk (106 sub-ICB locations, 10 trusts; see
        ``datasets/raw/ambulance/PROVENANCE.md``).
    mode : ``"strict"`` or ``"lenient"``.

    Returns
    -------
    Loaded
        Frame per :data:`AMBULANCE_AREAS` (a sub-ICB appears once).
    """
    path = raw_or(path, "ambulance", "ambulance_areas_2023", "ambulance_trust_sub_icbs.csv")
    name = source_name(path)
    header, raw = read_csv_records(path)
    require_columns(header, ["ambulance_trust_code", "sub_icb_code", "note"], name)
    frame = raw.select("ambulance_trust_code", "sub_icb_code", "note", "source_row")
    checked = validate_with_rules(frame, AMBULANCE_AREAS, [], mode=mode, source=name)
    out = checked.frame
    notes = [
        f"{out.height} sub-ICB locations served by "
        f"{out['ambulance_trust_code'].n_unique()} ambulance trusts"
    ]
    logger.info("read %s: %s", path, notes[0])
    return loaded_from(path, checked, raw.height, "ambulance-areas", notes)
