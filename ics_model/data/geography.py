"""ICB codes and names, the LSOA (2011) -> ICB lookup, and ICB / sub-ICB / region boundaries.

All of it is the 42-ICB geography in force July 2022 - March 2026 (ONS codes
``E54...`` for ICBs, ``E38...`` for sub-ICB locations, ``E40...`` for NHS England
regions). ICB names are written differently from file to file ("NHS Shropshire,
Telford and Wrekin Integrated Care Board", "Shropshire Telford and Wrekin");
:func:`normalise_icb_name` and :func:`match_icb_names` reconcile them.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import polars as pl

from ics_model.contracts import (
    VIOLATION_SCHEMA,
    Column,
    Contract,
    DataContractError,
    Mode,
    require_columns,
    validate,
)
from ics_model.data.base import Loaded, SourceReadError, loaded_from, source_name
from ics_model.data.bundled import raw_or
from ics_model.data.readers import read_csv_records, rule_hits, validate_with_rules

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

logger = logging.getLogger(__name__)

ICB_GSS_PATTERN: Final = r"E54[0-9]{6}"
SUB_ICB_GSS_PATTERN: Final = r"E38[0-9]{6}"
REGION_GSS_PATTERN: Final = r"E40[0-9]{6}"
LSOA11_PATTERN: Final = r"E01[0-9]{6}"

ICB_CODES_CONTRACT: Final = Contract(
    name="icb_codes",
    description="The 42 ICBs: ONS (GSS) code, ODS code and names.",
    key=("icb_gss",),
    columns=(
        Column("icb_gss", pl.String, nullable=False, pattern=ICB_GSS_PATTERN),
        Column("icb_code", pl.String, nullable=False, pattern=r"Q[A-Z0-9]{2}"),
        Column("icb_name", pl.String, nullable=False),
        Column.text("icb_short_name", "name without 'NHS ' and ' Integrated Care Board'"),
        Column("source_row", pl.Int64, nullable=False),
    ),
)

LSOA_ICB_CONTRACT: Final = Contract(
    name="lsoa11_icb",
    description="One row per 2011 LSOA with its ICB (April 2023 geography).",
    key=("lsoa11_code",),
    columns=(
        Column("lsoa11_code", pl.String, nullable=False, pattern=LSOA11_PATTERN),
        Column("lsoa11_name", pl.String, nullable=False),
        Column("icb_gss", pl.String, nullable=False, pattern=ICB_GSS_PATTERN),
        Column("icb_name", pl.String, nullable=False),
        Column("source_row", pl.Int64, nullable=False),
    ),
)

BoundaryLevel = Literal["icb", "sub_icb", "region"]

#: Per level: default file, property-name regexes (code, name), canonical prefix,
#: expected feature count, code pattern.
BOUNDARY_LEVELS: Final[dict[str, dict]] = {
    "icb": {
        "file": "Integrated_Care_Boards_April_2023_EN_BSC_-187828753279616787.geo.json",
        "code": r"ICB\d{2}CD",
        "name": r"ICB\d{2}NM",
        "prefix": "icb",
        "count": 42,
        "pattern": ICB_GSS_PATTERN,
    },
    "sub_icb": {
        "file": "NHS_SubICB_April_2023_EN_BSC_8040841744469859785.geo.json",
        "code": r"SICBL\d{2}CD",
        "name": r"SICBL\d{2}NM",
        "prefix": "sub_icb",
        "count": 106,
        "pattern": SUB_ICB_GSS_PATTERN,
    },
    "region": {
        "file": "NHS_England_Regions_January_2024_EN_BSC_7500404208533377417.geo.json",
        "code": r"NHSER\d{2}CD",
        "name": r"NHSER\d{2}NM",
        "prefix": "region",
        "count": 7,
        "pattern": REGION_GSS_PATTERN,
    },
}


# canonical name -> (regex on the file's header, the header as the embedded file has it)
_ICB_CODE_HEADERS: Final = {
    "icb_gss": (r"ICB\d{2}CD", "ICB24CD"),
    "icb_code": (r"ICB\d{2}CDH", "ICB24CDH"),
    "icb_name": (r"ICB\d{2}NM", "ICB24NM"),
}
_LSOA_ICB_HEADERS: Final = {
    "lsoa11_code": (r"lsoa11cd", "lsoa11cd"),
    "lsoa11_name": (r"lsoa11nm", "lsoa11nm"),
    "icb_gss": (r"ICB\d{2}CD", "ICB23CD"),
    "icb_name": (r"ICB\d{2}NM", "ICB23NM"),
}


def _find_column(found: list[str], regex: str) -> str | None:
    """Return the first column whose name matches ``regex`` in full, case-insensitively."""
    for name in found:
        if re.fullmatch(regex, name, flags=re.IGNORECASE):
            return name
    return None


def _resolve(found: list[str], wanted: dict[str, tuple[str, str]], source: str) -> dict[str, str]:
    """Map canonical names to found columns; ``wanted`` = {canonical: (regex, example)}."""
    mapping = {canon: _find_column(found, regex) for canon, (regex, _) in wanted.items()}
    missing = [wanted[c][1] for c, col in mapping.items() if col is None]
    if missing:
        require_columns(found, missing, source, recognised=len(wanted) - len(missing))
    return {canon: col for canon, col in mapping.items() if col is not None}


def _year(column: str) -> str:
    """Return the two-digit vintage in an ONS column name (``ICB24CD`` -> ``"24"``)."""
    m = re.search(r"(\d{2})(?:CDH?|NM)$", column, flags=re.IGNORECASE)
    return m.group(1) if m else "??"


def short_icb_name(expr: pl.Expr) -> pl.Expr:
    """``"NHS Devon Integrated Care Board"`` -> ``"Devon"`` (polars expression)."""
    return (
        expr.str.strip_chars()
        .str.replace(r"^NHS\s+", "")
        .str.replace(r"\s+Integrated Care Board$", "")
        .str.replace(r"\s+ICB$", "")
    )


def read_icb_codes(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read the ONS "Integrated Care Boards Names and Codes" list.

    Parameters
    ----------
    path : a CSV with ``ICByyCD`` (GSS), ``ICByyCDH`` (ODS) and ``ICByyNM`` columns;
        default the embedded December 2024 file (42 ICBs).
    mode : ``"strict"`` or ``"lenient"``.

    Returns
    -------
    Loaded
        Frame per :data:`ICB_CODES_CONTRACT`: ``icb_gss, icb_code, icb_name,
        icb_short_name, source_row``. Both codes are unique.
    """
    path = raw_or(path, "icb_lookups", "icb_names_codes_dec_2024.csv")
    name = source_name(path)
    header, raw = read_csv_records(path)
    cols = _resolve(header, _ICB_CODE_HEADERS, name)
    frame = raw.select(
        *[pl.col(col).alias(canon) for canon, col in cols.items()],
        short_icb_name(pl.col(cols["icb_name"])).alias("icb_short_name"),
        "source_row",
    )
    dup_code = rule_hits(
        frame,
        "icb_code",
        pl.col("icb_code").is_duplicated() & pl.col("icb_code").is_not_null(),
        pl.col("icb_code"),
        "duplicate ICB ODS code",
    )
    checked = validate_with_rules(frame, ICB_CODES_CONTRACT, [dup_code], mode=mode, source=name)
    notes = [f"{checked.frame.height} ICBs"]
    dropped = [c for c in header if c not in cols.values()]
    if dropped:
        notes.append(f"columns not kept: {', '.join(dropped)}")
    return loaded_from(path, checked, raw.height, f"ICB{_year(cols['icb_gss'])}", notes)


_DROP_WORDS = frozenset({"the"})
_TRAILING = (
    ("integrated", "care", "board"),
    ("integrated", "care", "system"),
    ("icb",),
    ("ics",),
)


def normalise_icb_name(name: str) -> str:
    """Canonical form of an ICB name, for matching names written different ways.

    Lower-cases, folds accents, writes ``&`` as ``and``, turns punctuation into
    spaces, drops a leading ``NHS``, a trailing ``Integrated Care Board`` / ``ICB``
    (or ``Integrated Care System`` / ``ICS``) and the word ``the``, and collapses
    whitespace.

    Examples
    --------
    >>> normalise_icb_name("NHS Shropshire, Telford and Wrekin Integrated Care Board")
    'shropshire telford and wrekin'
    >>> normalise_icb_name("Cornwall & the Isles of Scilly ICB")
    'cornwall and isles of scilly'
    """
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ")
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    if words[:1] == ["nhs"]:
        words = words[1:]
    for tail in _TRAILING:
        if len(words) > len(tail) and tuple(words[-len(tail) :]) == tail:
            words = words[: -len(tail)]
            break
    return " ".join(w for w in words if w not in _DROP_WORDS)


def match_icb_names(names: pl.Series, icb_codes: pl.DataFrame) -> pl.DataFrame:
    """Match free-text ICB names (or codes) to the ICB list.

    Parameters
    ----------
    names : ICB names as written in some file; nulls stay unmatched. An ICB's
        ODS code (``QE1``) or GSS code (``E54000048``) also matches.
    icb_codes : the frame of :func:`read_icb_codes` (``icb_gss, icb_code, icb_name``).

    Returns
    -------
    pl.DataFrame
        One row per element of ``names``, in order: ``name, icb_code, icb_gss,
        icb_name, matched`` (the codes and name are null when unmatched).

    Raises
    ------
    ValueError
        Two ICBs in ``icb_codes`` normalise to the same name.
    """
    require_columns(icb_codes.columns, ["icb_gss", "icb_code", "icb_name"], "icb_codes")
    ref = icb_codes.select("icb_code", "icb_gss", "icb_name")
    keyed = ref.with_columns(
        _key=pl.col("icb_name").map_elements(normalise_icb_name, return_dtype=pl.String)
    )
    clash = keyed.filter(pl.col("_key").is_duplicated())
    if not clash.is_empty():
        raise ValueError(
            "ICB names that normalise to the same key: " + ", ".join(clash["icb_name"].to_list())
        )
    by_code = pl.concat(
        [
            ref.with_columns(_key=pl.col("icb_code").str.to_lowercase()),
            ref.with_columns(_key=pl.col("icb_gss").str.to_lowercase()),
        ]
    )
    lookup = pl.concat([keyed, by_code]).unique("_key", keep="first")
    frame = pl.DataFrame({"name": names.cast(pl.String)}).with_row_index("_order")
    uniq = frame.select(pl.col("name").unique().drop_nulls()).with_columns(
        _key=pl.col("name").map_elements(normalise_icb_name, return_dtype=pl.String)
    )
    out = (
        frame.join(uniq, on="name", how="left")
        .join(lookup, on="_key", how="left")
        .sort("_order")
        .select("name", "icb_code", "icb_gss", "icb_name", matched=pl.col("icb_code").is_not_null())
    )
    return out


def read_lsoa_icb_lookup(path: str | Path | None = None, *, mode: Mode = "strict") -> Loaded:
    """Read the LSOA (2011) -> ICB (April 2023) lookup.

    Parameters
    ----------
    path : a CSV with ``lsoa11cd, lsoa11nm, ICByyCD, ICByyNM``; default the embedded
        ``LSOA2011_to_ICB2023.csv`` (32,844 LSOAs, 42 ICBs).
    mode : ``"strict"`` or ``"lenient"``.

    Returns
    -------
    Loaded
        Frame per :data:`LSOA_ICB_CONTRACT`: ``lsoa11_code, lsoa11_name, icb_gss,
        icb_name, source_row``. The names here omit commas ("NHS Shropshire Telford
        and Wrekin Integrated Care Board"): join on ``icb_gss``, not on the name.
    """
    path = raw_or(path, "icb_lookups", "LSOA2011_to_ICB2023.csv")
    name = source_name(path)
    header, raw = read_csv_records(path)
    cols = _resolve(header, _LSOA_ICB_HEADERS, name)
    frame = raw.select(*[pl.col(c).alias(k) for k, c in cols.items()], "source_row")
    checked = validate(frame, LSOA_ICB_CONTRACT, mode=mode, source=name)
    out = checked.frame
    notes = [f"{out.height} LSOAs in {out['icb_gss'].n_unique()} ICBs"]
    return loaded_from(path, checked, raw.height, f"LSOA11-ICB{_year(cols['icb_gss'])}", notes)


def _boundary_contract(level: str) -> Contract:
    spec = BOUNDARY_LEVELS[level]
    p = spec["prefix"]
    return Contract(
        name=f"{level}_boundaries",
        key=(f"{p}_gss",),
        columns=(
            Column(f"{p}_gss", pl.String, nullable=False, pattern=spec["pattern"]),
            Column(f"{p}_name", pl.String, nullable=False),
            Column("has_geometry", pl.Boolean, nullable=False, allowed=frozenset({"true"})),
        ),
    )


def read_boundaries(
    level: BoundaryLevel = "icb", path: str | Path | None = None
) -> gpd.GeoDataFrame:
    """Read ICB, sub-ICB or NHS England region boundaries (GeoJSON) in EPSG:4326.

    Parameters
    ----------
    level : ``"icb"`` (42 features), ``"sub_icb"`` (106) or ``"region"`` (7).
    path : a boundary file with the ONS ``<LEVEL>yyCD`` / ``<LEVEL>yyNM`` properties;
        default the embedded super-generalised (BSC) file of the level.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``<level>_gss, <level>_name, geometry`` (``icb_gss, icb_name``;
        ``sub_icb_gss, sub_icb_name`` plus ``sub_icb_code``, the ODS code at the end
        of the name; ``region_gss, region_name``), CRS EPSG:4326.

    Raises
    ------
    SourceReadError
        Missing or unreadable file.
    DataContractError
        Missing properties, bad or duplicate codes, empty geometries, or a feature
        count other than the level's (42 / 106 / 7).
    """
    import geopandas as gpd
    import pandas as pd
    from pyogrio.errors import DataSourceError

    if level not in BOUNDARY_LEVELS:
        raise ValueError(f"level must be one of {sorted(BOUNDARY_LEVELS)}, got {level!r}")
    spec = BOUNDARY_LEVELS[level]
    path = raw_or(path, "icb_boundaries", spec["file"])
    name = source_name(path)
    if not path.is_file():
        raise SourceReadError(path, "no such file")
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except (DataSourceError, OSError, ValueError, RuntimeError) as exc:
        raise SourceReadError(path, f"not a readable vector file ({exc})") from exc
    found = [c for c in gdf.columns if c != gdf.geometry.name]
    p = spec["prefix"]
    cols = _resolve(
        found,
        {
            f"{p}_gss": (spec["code"], spec["code"].replace(r"\d{2}", "23")),
            f"{p}_name": (spec["name"], spec["name"].replace(r"\d{2}", "23")),
        },
        name,
    )
    if gdf.crs is None:
        logger.warning("%s has no CRS; assuming EPSG:4326 (the GeoJSON default)", name)
        gdf = gdf.set_crs(4326)
    elif gdf.crs.to_epsg() != 4326:
        logger.info("%s: reprojecting from %s to EPSG:4326", name, gdf.crs)
        gdf = gdf.to_crs(4326)
    attrs = pl.DataFrame(
        {
            canon: [None if pd.isna(v) else str(v) for v in gdf[col].tolist()]
            for canon, col in cols.items()
        },
        schema={canon: pl.String for canon in cols},
    ).with_columns(
        has_geometry=pl.Series((~(gdf.geometry.isna() | gdf.geometry.is_empty)).tolist()),
        source_row=pl.int_range(1, len(gdf) + 1, dtype=pl.Int64),
    )
    violations = []
    try:
        validate(attrs, _boundary_contract(level), mode="strict", source=name)
    except DataContractError as exc:
        violations.append(exc.violations)
    if len(gdf) != spec["count"]:
        violations.append(
            pl.DataFrame(
                {
                    "contract": [f"{level}_boundaries"],
                    "row": [None],
                    "column": ["geometry"],
                    "value": [str(len(gdf))],
                    "problem": [f"{len(gdf)} features where {spec['count']} are expected"],
                },
                schema=VIOLATION_SCHEMA,
            )
        )
    if violations:
        raise DataContractError(f"{level}_boundaries", pl.concat(violations), name)
    out = gpd.GeoDataFrame(
        attrs.select(list(cols)).to_pandas(), geometry=gdf.geometry.values, crs=gdf.crs
    )
    if level == "sub_icb":
        out.insert(2, "sub_icb_code", out["sub_icb_name"].str.extract(r" - ([A-Z0-9]{3,5})$")[0])
    logger.info("read %s: %d %s features", path, len(out), level)
    return out
