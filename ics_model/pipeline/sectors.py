"""The sector registry: where each sector's ratings come from and how they are placed.

A sector is one entry of :data:`SECTORS`: the conservation name of its source, the
embedded default file (if any), the ``data`` key of a user file, its reader and its
placer. Adding a sector is one :class:`SectorSource` entry plus its reader (in
:mod:`ics_model.data`) and placer (in :mod:`ics_model.mapping`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Final

import polars as pl

from ics_model.config import RunConfig
from ics_model.contracts import Mode
from ics_model.data import cqc, cqc_api, geography, ods, population, trust_reference
from ics_model.data.base import Loaded
from ics_model.data.build import load_processed
from ics_model.data.cqc_locations import read_cqc_locations
from ics_model.data.sources import SOURCES, sha256_file
from ics_model.mapping import (
    Placed,
    place_api_locations,
    place_gp_practices,
    place_locations,
    place_trusts,
)
from ics_model.mapping.age import inherited_units, set_aside, stale_units, with_rating_age
from ics_model.mapping.ambulance import ambulance_shares, apply_ambulance_policy
from ics_model.mapping.history import ratings_in_force
from ics_model.mapping.icb_geography import IcbGeography
from ics_model.mapping.spatial import la_icb_lookup, place_by_coordinates
from ics_model.mapping.split_points import place_split_points
from ics_model.mapping.trust_types import classify_trusts, location_types
from ics_model.pipeline.geography import load_geography, source_inputs, split_hosts
from ics_model.result import InputFile
from ics_model.rules.engine import combine_frame


def input_file(role: str, path: Path, vintage: str) -> InputFile:
    """Record one file a run read, with its sha256."""
    return InputFile(role, str(path), sha256_file(path), vintage)


@dataclass(frozen=True)
class Reference:
    """The ODS and ONS reference tables every placer uses, loaded once per run."""

    trusts: Loaded
    successors: Loaded
    icb_codes: Loaded
    icbs: pl.DataFrame
    inputs: tuple[InputFile, ...]
    geography: IcbGeography | None = None
    later_trusts: Loaded | None = None

    @property
    def loaded(self) -> dict[str, Loaded]:
        """Conservation source name -> loaded reference table."""
        out = {
            "ods_trusts": self.trusts,
            "ods_successors": self.successors,
            "icb_codes": self.icb_codes,
        }
        if self.later_trusts is not None:
            out["ods_trusts_2026"] = self.later_trusts
        return out


def load_reference(cfg: RunConfig) -> Reference:
    """Read the ODS trusts and successors and the ICB codes, and build the run's ICB table."""
    mode, m = cfg.data.validation, cfg.mapping
    files = {
        "ods_trusts": SOURCES[f"ods_etr_{m.trust_vintage}"],
        "ods_successors": SOURCES["ods_succ"],
        "icb_codes": SOURCES["icb_codes_2024"],
    }
    trusts = ods.read_ods_trusts(files["ods_trusts"].path, vintage=m.trust_vintage, mode=mode)
    succ = ods.read_ods_successors(files["ods_successors"].path, mode=mode)
    icb_codes = geography.read_icb_codes(files["icb_codes"].path, mode=mode)
    geo, later, read = load_geography(cfg, succ.frame, icb_codes.frame)
    inputs = tuple(input_file(role, s.path, s.vintage) for role, s in files.items())
    inputs += source_inputs(read)
    return Reference(trusts, succ, icb_codes, geo.icbs, inputs, geo, later)


#: ``place(loaded, reference, config) -> (placed, extra inputs read)``.
Placer = Callable[[Loaded, Reference, RunConfig], tuple[Placed, tuple[InputFile, ...]]]
#: ``after(placed, reference, config) -> (placed, allocation or None, extra inputs read)``:
#: a sector's own policy, applied after the rating policy (ages, stale, inherited).
After = Callable[
    [Placed, Reference, RunConfig], tuple[Placed, pl.DataFrame | None, tuple[InputFile, ...]]
]


@dataclass(frozen=True)
class SectorSource:
    """One sector: its source, default file, reader and placer.

    Attributes
    ----------
    sector : the sector name (:data:`ics_model.ratings.SECTORS`).
    source : the source's name in the conservation report and quarantine, and the
        ``data`` config key that names a user file for it.
    default : the embedded default file (a key of ``SOURCES``), or None when the sector
        needs a user file.
    describe : the vintage text of the sector's figures, from the file's vintage.
    read : ``read(path, mode) -> Loaded``.
    place : see :data:`Placer`.
    after : see :data:`After` (None: no policy of its own).
    history : the sector's file may carry rating history (CQC API records,
        ``Loaded.history``): the placer then gets the ratings in force at
        ``ratings.as_of`` (:func:`~ics_model.mapping.history.ratings_in_force`) as
        ``loaded.frame``, and the run reports them and the rating transitions.
    """

    sector: str
    source: str
    default: str | None
    describe: Callable[[str, RunConfig], str]
    read: Callable[[Path, Mode], Loaded]
    place: Placer
    after: After | None = None
    history: bool = False


@dataclass(frozen=True)
class PlacedSector:
    """One sector's loaded source, its placement, and where it came from.

    ``in_force`` is the ratings in force that were placed
    (:data:`~ics_model.mapping.history.RATINGS_IN_FORCE`) when the sector's file carries
    rating history, else None.
    """

    sector: str
    source: str
    loaded: Loaded
    placed: Placed
    vintage: str
    inputs: tuple[InputFile, ...]
    allocation: pl.DataFrame | None = None
    in_force: pl.DataFrame | None = None


def _read_sheet(sheet: str) -> Callable[[Path, Mode], Loaded]:
    def read(path: Path, mode: Mode) -> Loaded:
        return cqc.read_cqc_ratings(path, prefer=sheet, mode=mode)

    return read


def _place_trusts(
    loaded: Loaded, ref: Reference, cfg: RunConfig
) -> tuple[Placed, tuple[InputFile, ...]]:
    m = cfg.mapping
    combine = m.combine_predecessors
    placed = place_trusts(
        loaded.frame,
        ref.trusts.frame,
        ref.successors.frame,
        ref.icb_codes.frame,
        source="trust_ratings",
        icb_vintage=m.icb_vintage,
        inherit=m.inherit_predecessor_rating,
        combine_predecessors=(
            None if combine is None else partial(combine_frame, rule_set=combine, name="rating")
        ),
        premerger=m.premerger_ratings,
        premerger_combine=partial(combine_frame, rule_set=m.premerger_rule_set, name="rating"),
        hosts=split_hosts(ref.later_trusts),
    )
    mode = cfg.data.validation
    nhs_src, areas_src = SOURCES["nhs_trust_types_2026"], SOURCES["ambulance_areas_2023"]
    nhs = trust_reference.read_nhs_trust_types(nhs_src.path, mode=mode)
    areas = trust_reference.read_ambulance_areas(areas_src.path, mode=mode)
    units = placed.ratings.select(
        "provider_id",
        pl.when(pl.col("rating_source") == "inherited")
        .then(pl.col("inherited_from"))
        .otherwise(pl.col("provider_id"))
        .alias("rated_as"),
    ).unique("provider_id")
    types = classify_trusts(
        units,
        loaded.frame,
        nhs_types=nhs.frame,
        ambulance_trusts=set(areas.frame["ambulance_trust_code"]),
    )
    placed = replace(placed, ratings=_with_types(placed.ratings, types))
    inputs = (
        input_file("nhs_trust_types", nhs_src.path, nhs_src.vintage),
        input_file("ambulance_areas", areas_src.path, areas_src.vintage),
    )
    return placed, inputs


def _with_types(ratings: pl.DataFrame, types: pl.DataFrame) -> pl.DataFrame:
    """Fill ``trust_type`` and ``trust_type_basis`` of mapped rows from ``types``."""
    return (
        ratings.drop("trust_type", "trust_type_basis")
        .join(types, on="provider_id", how="left")
        .select(ratings.columns)
    )


def _ambulance_policy(
    placed: Placed, ref: Reference, cfg: RunConfig
) -> tuple[Placed, pl.DataFrame | None, tuple[InputFile, ...]]:
    """Apply ``mapping.ambulance`` to the placed trusts typed ``ambulance``."""
    mode = cfg.data.validation
    pop_src, areas_src = SOURCES["sub_icb_population_2022"], SOURCES["ambulance_areas_2023"]
    subs = population.read_sub_icb_population(pop_src.path, mode=mode)
    areas = trust_reference.read_ambulance_areas(areas_src.path, mode=mode)
    shares = ambulance_shares(
        areas.frame,
        subs.frame,
        ref.icb_codes.frame,
        ref.successors.frame,
        cfg.mapping.icb_vintage,
    )
    placed, allocation = apply_ambulance_policy(
        placed, cfg.mapping.ambulance, shares, "trust_ratings"
    )
    return placed, allocation, (input_file("ambulance_population", pop_src.path, pop_src.vintage),)


def _place_gp_practices(
    loaded: Loaded, ref: Reference, cfg: RunConfig
) -> tuple[Placed, tuple[InputFile, ...]]:
    placed = place_gp_practices(
        loaded.frame,
        ref.icb_codes.frame,
        source="gp_practices",
        successors=ref.successors.frame,
        icb_vintage=cfg.mapping.icb_vintage,
    )
    return placed, ()


def _place_locations(
    loaded: Loaded, ref: Reference, cfg: RunConfig
) -> tuple[Placed, tuple[InputFile, ...]]:
    pop_src = SOURCES["sub_icb_population_2022"]
    subs = population.read_sub_icb_population(pop_src.path, mode=cfg.data.validation)
    place = place_api_locations if loaded.history is not None else place_locations
    placed = place(
        loaded.frame,
        subs.frame,
        ref.trusts.frame,
        ref.icb_codes.frame,
        source="locations",
        successors=ref.successors.frame,
        icb_vintage=cfg.mapping.icb_vintage,
    )
    placed = replace(placed, ratings=_with_types(placed.ratings, location_types(loaded.frame)))
    return placed, (input_file("sub_icb_lookup", pop_src.path, pop_src.vintage),)


def _place_independent_healthcare(
    loaded: Loaded, ref: Reference, cfg: RunConfig
) -> tuple[Placed, tuple[InputFile, ...]]:
    """Place by coordinates in the April 2023 ICB polygons; check the local authority."""
    boundaries = SOURCES["icb_boundaries_2023"]
    lookup = la_icb_lookup(
        load_processed("imd2019_lsoa"), load_processed("lsoa11_icb23"), ref.icb_codes.frame
    )
    polygons = geography.read_boundaries("icb", boundaries.path)

    def place(frame: pl.DataFrame, vintage: str) -> Placed:
        return place_by_coordinates(
            frame,
            polygons,
            ref.icb_codes.frame,
            lookup,
            sector="independent_healthcare",
            source="independent_healthcare",
            successors=ref.successors.frame,
            icb_vintage=vintage,
            max_distance_m=cfg.mapping.nearest_icb_within_m,
        )

    placed = place(loaded.frame, cfg.mapping.icb_vintage)
    if cfg.mapping.icb_vintage != "2023" and ref.geography is not None:
        placed = place_split_points(
            placed,
            loaded.frame,
            ref.geography,
            geography.read_boundaries("sub_icb"),
            partial(place, vintage="2023"),
            max_distance_m=cfg.mapping.nearest_icb_within_m,
        )
    roles = {
        "icb_boundaries": "icb_boundaries_2023",
        "la_lookup_lsoa_lad19": "imd2019",
        "la_lookup_lsoa_icb23": "lsoa11_icb23",
    }
    return placed, tuple(
        input_file(role, SOURCES[n].path, SOURCES[n].vintage) for role, n in roles.items()
    )


#: what every figure of the embedded independent-sector file must say.
INDEPENDENT_CAVEAT: Final = (
    "no rating in this dump was published after 2024-05-20: ratings under CQC's newer "
    "assessment approach (from May 2024) may be missing"
)


def _trust_vintage(vintage: str, cfg: RunConfig) -> str:
    return f"CQC ratings {vintage}; trusts ODS etr {cfg.mapping.trust_vintage}"


def _gp_vintage(vintage: str, cfg: RunConfig) -> str:
    return f"CQC GP ratings {vintage}"


def _location_vintage(vintage: str, cfg: RunConfig) -> str:
    return f"CQC locations, {vintage}"


def _in_force_vintage(vintage: str, as_of: date | None) -> str:
    """Return the vintage text of ratings taken from a file's rating history."""
    if as_of is None:
        return f"{vintage}; current ratings (file has rating history)"
    return (
        f"{vintage}; ratings in force on {as_of.isoformat()}, from the rating history "
        "of the locations in the file"
    )


def _independent_vintage(vintage: str, cfg: RunConfig) -> str:
    text = f"CQC API independent-sector locations {vintage}; placed by coordinates"
    return text if vintage.startswith("user file") else f"{text}; caveat: {INDEPENDENT_CAVEAT}"


def _read_cqc_api(path: Path, mode: Mode) -> Loaded:
    return cqc_api.read_cqc_api(path, mode=mode)


def _read_gp_practices(path: Path, mode: Mode) -> Loaded:
    return cqc.read_gp_practices(path, mode=mode)


def _read_locations(path: Path, mode: Mode) -> Loaded:
    return read_cqc_locations(path, mode=mode)


#: sector name -> where its ratings come from; the order is the order of every output.
# fmt: off
SECTORS: dict[str, SectorSource] = {s.sector: s for s in (
    SectorSource("nhs_trust", "trust_ratings", "cqc_trust_ratings_2018", _trust_vintage,
                 _read_sheet("Providers"), _place_trusts, _ambulance_policy),
    SectorSource("gp_practice", "gp_practices", "cqc_gp_practices_2024", _gp_vintage,
                 _read_gp_practices, _place_gp_practices),
    SectorSource("location", "locations", None, _location_vintage,
                 _read_locations, _place_locations, history=True),
    SectorSource("independent_healthcare", "independent_healthcare",
                 "cqc_independent_healthcare_2025", _independent_vintage,
                 _read_cqc_api, _place_independent_healthcare),
)}
# fmt: on


#: the vintage date of each embedded ratings file: the default ``ratings.as_of``.
VINTAGE_DATES: Final[dict[str, date]] = {
    "cqc_trust_ratings_2018": date(2018, 9, 3),
    "cqc_gp_practices_2024": date(2024, 4, 1),
    "cqc_independent_healthcare_2025": date(2025, 11, 1),
}


def default_as_of(source: SectorSource, user_file: bool, ratings: pl.DataFrame) -> date | None:
    """Return the "as of" date of a sector when ``ratings.as_of`` is null.

    The embedded file's vintage date (:data:`VINTAGE_DATES`); for a user file, whose
    vintage is unknown, the latest publication date in it (None when it has no dates).
    """
    if not user_file and source.default in VINTAGE_DATES:
        return VINTAGE_DATES[source.default]
    return ratings["publication_date"].max()  # type: ignore[return-value]


def apply_rating_policy(placed: Placed, source: str, as_of: date | None, cfg: RunConfig) -> Placed:
    """Give placed ratings their age at ``as_of`` and set aside what ``ratings`` leaves out.

    Inherited ratings go first (``ratings.inherited: exclude`` -> ``inherited_excluded``),
    then ratings older than ``ratings.max_age_years`` (-> ``stale``); a provider both
    inherited and stale counts once, as ``inherited_excluded``.
    """
    r = cfg.ratings
    placed = replace(placed, ratings=with_rating_age(placed.ratings, as_of))
    if r.inherited == "exclude":
        placed = set_aside(placed, inherited_units(placed.ratings), "inherited_excluded", source)
    if r.max_age_years is not None:
        placed = set_aside(placed, stale_units(placed.ratings, r.max_age_years), "stale", source)
    return placed


def selected_sectors(cfg: RunConfig) -> list[SectorSource]:
    """Return the sectors a run places.

    Those in ``views.sectors``, and any sector without an embedded default whose user file
    the config names (e.g. ``data.locations``).
    """
    return [
        s
        for s in SECTORS.values()
        if s.sector in cfg.views.sectors
        or (s.default is None and getattr(cfg.data, s.source) is not None)
    ]


def place_sector(source: SectorSource, ref: Reference, cfg: RunConfig) -> PlacedSector:
    """Read one sector's ratings (the user file or the embedded default) and place them."""
    user = getattr(cfg.data, source.source)
    if user is not None:
        path, vintage = Path(user), f"user file {Path(user).name}"
    else:
        src = SOURCES[source.default]  # type: ignore[index]  # checked at load
        path, vintage = Path(src.path), src.vintage
    loaded = source.read(path, cfg.data.validation)
    in_force = None
    if source.history and loaded.history is not None:
        in_force = ratings_in_force(loaded.frame, loaded.history, cfg.ratings.as_of)
        placed, extra = source.place(replace(loaded, frame=in_force), ref, cfg)
    else:
        placed, extra = source.place(loaded, ref, cfg)
    as_of = cfg.ratings.as_of or default_as_of(source, user is not None, placed.ratings)
    placed = apply_rating_policy(placed, source.source, as_of, cfg)
    allocation, more = None, ()
    if source.after is not None:
        placed, allocation, more = source.after(placed, ref, cfg)
    file_vintage = vintage if source.default is not None else "user file"
    described = source.describe(vintage, cfg)
    if in_force is not None:
        described = _in_force_vintage(described, cfg.ratings.as_of)
    return PlacedSector(
        sector=source.sector,
        source=source.source,
        loaded=loaded,
        placed=placed,
        vintage=described,
        inputs=(input_file(source.source, path, file_vintage), *extra, *more),
        allocation=allocation,
        in_force=in_force,
    )
