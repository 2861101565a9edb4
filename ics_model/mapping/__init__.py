"""Place providers in ICSs.

The routes, each recorded in ``mapping_method``:

``ods_trust``
    an NHS trust rated under its own ODS code, open in the ODS ``etr`` file, placed in
    its host ICB (etr column 3).
``ods_successor``
    an open trust with no rating of its own that inherits the rating of its only rated
    predecessor, found through the ODS successor file (``succ``), following chains.
``icb_name``
    a GP practice placed through the ICB name in its ratings file.
``sub_icb_gss``
    a CQC location placed through ``Location ONSPD CCG Code`` (a 2023 sub-ICB GSS code).
``ods_trust_location``
    a CQC location whose sub-ICB code is missing or unknown, placed through its
    provider's ODS trust code.
``icb_polygon``
    a location placed by its coordinates: the point lies in an ICB polygon
    (:mod:`ics_model.mapping.spatial`).
``icb_polygon_nearest``
    a location whose point lies just outside every (generalised) ICB polygon, placed in
    the nearest one within ``mapping.nearest_icb_within_m``. In the April 2026 vintage a
    location of an ICB that split is placed by its point in a 2023 sub-ICB polygon
    (still ``icb_polygon``: the point lies in the 2026 ICB's dissolved polygon) ...
``local_authority``
    ... or, where the split runs below sub-ICB level (Frimley), by its local authority
    when that names a district the crosswalk places in one April 2026 ICB
    (:mod:`ics_model.mapping.split_points`).

The unit of the trust sector is the current open NHS trust. Ratings are never
combined across predecessors: a trust with several rated predecessors stays unrated
and each predecessor goes to the unmapped report with the reason. Every input row
ends in exactly one of: used, inherited, superseded, quarantined, unmapped
(:func:`conservation`).
"""

from ics_model.mapping.base import (
    ACCOUNT_SCHEMA,
    MAPPED_RATINGS,
    MAPPING_METHODS,
    OUTCOMES,
    RATING_SOURCES,
    SUPERSEDED_SCHEMA,
    UNMAPPED_SCHEMA,
    Placed,
    conservation,
    loader_accounts,
)
from ics_model.mapping.practices import place_api_locations, place_gp_practices, place_locations
from ics_model.mapping.successors import icb_table, resolve_successors
from ics_model.mapping.trusts import place_trusts

__all__ = [
    "ACCOUNT_SCHEMA",
    "MAPPED_RATINGS",
    "MAPPING_METHODS",
    "OUTCOMES",
    "RATING_SOURCES",
    "SUPERSEDED_SCHEMA",
    "UNMAPPED_SCHEMA",
    "Placed",
    "conservation",
    "icb_table",
    "loader_accounts",
    "place_api_locations",
    "place_gp_practices",
    "place_locations",
    "place_trusts",
    "resolve_successors",
]
