"""User-supplied partnership indicators: the CSV reader and the wide join.

Holds :data:`USER_INDICATORS` (the contract of the long CSV: one value per level, code and
indicator), :func:`read_user_indicators` (reads and validates the CSV) and
:func:`join_user_indicators` (joins one level's indicators wide onto a provider- or
ICS-level frame). The values are taken as the user gives them: they are not computed from
the RTT flows of :mod:`ics_model.metrics.partnership_inputs`.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

import polars as pl

from ics_model.contracts import Column, Contract, Mode, require_columns
from ics_model.data.base import Loaded, source_name
from ics_model.data.ods import ICB_CODE_PATTERN, ORG_CODE_PATTERN
from ics_model.data.readers import read_csv_records, rule_hits, validate_with_rules

logger = logging.getLogger(__name__)

_S, _I = pl.String, pl.Int64
_REQ = {"nullable": False}

USER_LEVELS: Final = ("provider", "icb")
USER_INDICATORS: Final = Contract(
    name="user_partnership_indicators",
    description="User-supplied partnership indicators, one row per level x code x indicator.",
    key=("level", "code", "indicator"),
    extra_columns=False,
    columns=(
        Column("level", _S, **_REQ, allowed=frozenset(USER_LEVELS)),
        Column("code", _S, **_REQ, description="ODS trust code or ICB ODS code"),
        Column("indicator", _S, **_REQ, pattern=r"[a-z][a-z0-9_]*", description="snake_case"),
        Column("value", pl.Float64, **_REQ, finite=True),
        Column("vintage", _S, required=False),
        Column("source", _S, required=False),
        Column("note", _S, required=False),
        Column("source_row", _I, **_REQ),
    ),
)


def read_user_indicators(path: str | Path, *, mode: Mode = "strict") -> Loaded:
    """Read and validate a user-indicators CSV (see :func:`_read_user_indicators`).

    A file is read once per process while it is unchanged (same size and modification
    time): checking a config and running it share one read.
    """
    path = Path(path).resolve()
    st = path.stat()
    return _read_cached(path, st.st_size, st.st_mtime_ns, mode)


@lru_cache(maxsize=8)
def _read_cached(path: Path, size: int, mtime_ns: int, mode: Mode) -> Loaded:
    return _read_user_indicators(path, mode=mode)


def _read_user_indicators(path: str | Path, *, mode: Mode = "strict") -> Loaded:
    """Read a CSV of user-supplied partnership indicators (long: one value per row).

    Columns (header required): ``level`` (``provider`` = an NHS trust, or ``icb``);
    ``code`` (ODS trust code such as ``RHQ`` or ``G6V2S`` for providers, ICB ODS code such
    as ``QE1`` for ICBs); ``indicator`` (snake_case name, e.g.
    ``provider_collaborative_member``); ``value`` (a finite number; 0/1 for yes/no); and
    optionally ``vintage``, ``source``, ``note`` (text). A (level, code, indicator) appears
    once. Example: ``configs/examples/user_partnership_indicators.csv``.

    Parameters
    ----------
    path : the CSV file (UTF-8, optional BOM, optionally gzip-compressed).
    mode : ``"strict"`` raises one :class:`~ics_model.contracts.DataContractError` listing
        every violation with its row number (header = row 1); ``"lenient"`` quarantines rows.

    Returns
    -------
    Loaded
        Frame per :data:`USER_INDICATORS` (missing optional columns added as null).
    """
    path = Path(path)
    name = source_name(path)
    header, raw = read_csv_records(path)
    require_columns(header, ("level", "code", "indicator", "value"), name)
    optional = ("vintage", "source", "note")
    raw = raw.with_columns(pl.lit(None, _S).alias(c) for c in optional if c not in raw.columns)
    value = pl.col("value").cast(pl.Float64, strict=False)
    level, code, text = pl.col("level"), pl.col("code"), pl.col("value")

    def bad_code(lvl: str, pattern: str, what: str) -> pl.DataFrame:
        bad = (level == lvl) & ~code.str.contains(f"^(?:{pattern})$")
        return rule_hits(raw, "code", bad, code, f"not {what}")

    hits = [
        rule_hits(raw, "value", text.is_not_null() & value.is_null(), text, "not a number"),
        rule_hits(raw, "value", ~value.is_finite(), text, "not a finite number"),
        bad_code("provider", ORG_CODE_PATTERN, "an ODS trust code (3 or 5 capitals/digits)"),
        bad_code("icb", ICB_CODE_PATTERN, "an ICB ODS code (e.g. QE1 or Z9B2Z)"),
    ]
    frame = raw.with_columns(value.alias("value"))
    checked = validate_with_rules(frame, USER_INDICATORS, hits, mode=mode, source=name)
    out = checked.frame.select(USER_INDICATORS.column_names)
    counts = out.group_by("level").len().sort("level").iter_rows()
    notes = ("; ".join(f"{n} {lvl}-level values" for lvl, n in counts),)
    logger.info("read %s: %s", path, notes[0])
    return Loaded(
        frame=out,
        source=str(path),
        n_input_rows=raw.height,
        variant="user-indicators-long",
        quarantine=checked.quarantine,
        notes=notes,
    )


def join_user_indicators(
    frame: pl.DataFrame,
    indicators: pl.DataFrame | Loaded,
    level: Literal["provider", "icb"],
    *,
    on: str | None = None,
) -> pl.DataFrame:
    """Join user indicators of one level wide onto a provider- or ICS-level frame.

    Parameters
    ----------
    frame : the frame to extend (e.g. provider or ICS partnership metrics); not modified.
    indicators : :func:`read_user_indicators` output (or its frame).
    level : ``"provider"`` or ``"icb"``: only indicators of this level are joined.
    on : the code column of ``frame``; default ``provider_id`` (providers) or ``icb_code``.

    Returns
    -------
    pl.DataFrame
        ``frame`` plus one Float64 column per indicator (named as the indicator, sorted),
        null where a code has no value. Codes absent from ``frame`` are logged as a warning;
        ``vintage``, ``source`` and ``note`` stay in the long frame.

    Raises
    ------
    ValueError
        Unknown level, no ``on`` column, or an indicator named like an existing column.
    """
    if level not in USER_LEVELS:
        raise ValueError(f"level must be one of {list(USER_LEVELS)}, got {level!r}")
    ind = indicators.frame if isinstance(indicators, Loaded) else indicators
    key = on or ("provider_id" if level == "provider" else "icb_code")
    if key not in frame.columns:
        raise ValueError(f"frame has no {key!r} column to join {level} indicators on")
    sub = ind.filter(pl.col("level") == level)
    names = sorted(sub["indicator"].unique().to_list())
    clash = sorted(set(names) & set(frame.columns))
    if clash:
        raise ValueError(f"indicator names clash with existing columns: {', '.join(clash)}")
    if not names:
        return frame.clone()
    unmatched = sorted(set(sub["code"]) - set(frame[key].drop_nulls()))
    if unmatched:
        logger.warning("%s codes with user indicators not in the frame: %s", level, unmatched)
    wide = sub.pivot(on="indicator", index="code", values="value").select(
        pl.col("code").alias(key), *[pl.col(n).cast(pl.Float64) for n in names]
    )
    return frame.join(wide, on=key, how="left")
