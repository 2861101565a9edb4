"""Analysis populations for the collaboration effect: GP practices and NHS trusts.

The default GP population is practices rated after ICSs became statutory (1 July 2022);
the GP file gives only the publication year, so July-December 2022 ratings cannot be
told apart and the population starts in 2023 (documented in the caveats).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Final, NamedTuple

import polars as pl

from ics_model.data.base import Loaded
from ics_model.ratings import ProviderSector

log = logging.getLogger(__name__)

#: ICSs became statutory on 1 July 2022; the default GP population starts after it.
GP_SINCE: Final = "2022-07-01"

#: the columns each sector's population frame holds besides provider, ICS and rating:
#: the candidates for ``controls``.
POPULATION_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "gp_practice": ("publication_year", "rating_year", "imd_score", "imd_quintile"),
    "nhs_trust": (
        "publication_date",
        "publication_year",
        "rating_year",
        "rating_source",
        "inherited_from",
    ),
}


class Population(NamedTuple):
    """An analysis population: the frame, its dataset-specific caveats, suggested controls."""

    frame: pl.DataFrame
    caveats: tuple[str, ...]
    controls: tuple[str, ...]


def _first_full_year(since: str | date) -> int:
    d = date.fromisoformat(since) if isinstance(since, str) else since
    return d.year if (d.month, d.day) == (1, 1) else d.year + 1


def _overall(mapped: pl.DataFrame, sector: str) -> pl.DataFrame:
    return mapped.filter((pl.col("sector") == sector) & (pl.col("key_question") == "Overall"))


def gp_population(
    mapped: pl.DataFrame, gp_loaded: pl.DataFrame | Loaded, *, since: str | date | None = GP_SINCE
) -> pl.DataFrame:
    """Placed GP practices with their rating year and practice deprivation.

    Parameters
    ----------
    mapped : ``RunResult.mapped``; rows with sector ``gp_practice`` and key question
        ``Overall`` (``provider_id`` is the practice code).
    gp_loaded : frame (or :class:`Loaded`) from :func:`ics_model.data.cqc.read_gp_practices`,
        for ``publication_year``, ``imd_score`` (IMD 2019, higher = more deprived) and
        ``imd_quintile`` (1 = most deprived).
    since : keep ratings published after this date; ``None`` keeps all years. The file
        gives only the publication **year**, so a date other than 1 January keeps the
        following years: the default ``"2022-07-01"`` (ICSs began) keeps
        ``publication_year >= 2023``, as July-December 2022 ratings cannot be told apart.

    Returns
    -------
    pl.DataFrame
        ``provider_id, icb_code, rating, publication_year, rating_year`` (year as text, for
        a categorical control), ``imd_score, imd_quintile``; sorted by ``provider_id``.
        Null ratings are kept (:func:`collaboration_effect` drops and counts them).
    """
    gp = gp_loaded.frame if isinstance(gp_loaded, Loaded) else gp_loaded
    if "key_question" in gp.columns:
        gp = gp.filter(pl.col("key_question") == "Overall")
    code = pl.col("practice_code")
    keep = (code.alias("provider_id"), "publication_year", "imd_score", "imd_quintile")
    info = gp.filter(code.is_not_null()).select(*keep)
    if info["provider_id"].is_duplicated().any():
        raise ValueError("gp_loaded has more than one Overall row for some practice codes")
    frame = (
        _overall(mapped, "gp_practice")
        .select("provider_id", "icb_code", "rating")
        .join(info, on="provider_id", how="left")
        .with_columns(pl.col("publication_year").cast(pl.String).alias("rating_year"))
    )
    if since is not None:
        first, before = _first_full_year(since), frame.height
        frame = frame.filter(pl.col("publication_year") >= first)
        log.info(
            "gp_population: %d of %d practices rated in %d or later", frame.height, before, first
        )
    cols = ("provider_id", "icb_code", "rating", *POPULATION_COLUMNS["gp_practice"])
    return frame.select(cols).sort("provider_id")


def trust_population(mapped: pl.DataFrame) -> pl.DataFrame:
    """Placed NHS trusts' Overall ratings, all publication years.

    Returns ``provider_id, icb_code, rating, publication_date, publication_year,
    rating_year, rating_source, inherited_from``, sorted by ``provider_id``.
    """
    year = pl.col("publication_date").dt.year()
    return (
        _overall(mapped, "nhs_trust")
        .with_columns(
            year.cast(pl.Int32).alias("publication_year"),
            year.cast(pl.String).alias("rating_year"),
        )
        .select("provider_id", "icb_code", "rating", *POPULATION_COLUMNS["nhs_trust"])
        .sort("provider_id")
    )


def default_population(
    mapped: pl.DataFrame,
    gp_loaded: pl.DataFrame | Loaded | None = None,
    *,
    sector: ProviderSector = "gp_practice",
    since: str | date | None = GP_SINCE,
) -> Population:
    """Return the default population of a sector, with its caveats and suggested controls.

    GP practices: :func:`gp_population` (``since`` applies), controls ``rating_year``
    (categorical) and ``imd_score``. NHS trusts: :func:`trust_population`, control
    ``publication_year`` (numeric: some years have no Outstanding trust). Attach the
    caveats with :meth:`EffectResult.with_caveats`.
    """
    if sector == "nhs_trust":
        note = (
            "NHS trust ratings (file of September 2018) were published 2013-2018, before "
            "ICSs existed; the trust population is small (about 200 trusts)."
        )
        return Population(trust_population(mapped), (note,), ("publication_year",))
    if gp_loaded is None:
        raise ValueError("the GP population needs gp_loaded (from read_gp_practices)")
    if since is None:
        scope = "all publication years (2015-2024), mostly before ICSs began in July 2022"
    else:
        y = _first_full_year(since)
        scope = (
            f"ratings published in {y} or later (the file gives the year only, so ratings "
            f"from later in {y - 1} cannot be told apart and are excluded)"
        )
    note = (
        f"Population: placed GP practices' Overall ratings, {scope}; GP ratings file of "
        "April 2024; practice deprivation is the IMD 2019 score."
    )
    frame = gp_population(mapped, gp_loaded, since=since)
    return Population(frame, (note,), ("rating_year", "imd_score"))
