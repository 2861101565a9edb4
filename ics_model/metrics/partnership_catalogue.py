"""Catalogue of the partnership metrics: definitions and default directions.

Holds :data:`DEFAULT_DIRECTIONS` (the default reading of each metric, a value judgement),
:func:`resolve_directions` (the defaults with a caller's overrides, validated) and the
metric definitions (label, level, numerator, denominator, unit, source, vintage) behind
:func:`partnership_catalogue` and :data:`PARTNERSHIP_CATALOGUE` (``ics-model metrics
list``). The metrics themselves are computed in :mod:`ics_model.metrics.partnership`;
every label carries :data:`~ics_model.metrics.partnership_inputs.PROXY_LABEL`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ics_model.metrics.partnership_inputs import PROXY_LABEL
from ics_model.ratings import DIRECTIONS, Direction

#: Default reading of each metric. **A value judgement, not a fact**: high self-containment
#: and a high home-system share are read as a system whose own providers serve its
#: residents (the usual planning reading); the interdependence measures are left neutral,
#: since cross-boundary flows reflect tertiary centres and geography as much as
#: collaboration. Callers override any entry (:func:`resolve_directions`).
DEFAULT_DIRECTIONS: Final[dict[str, Direction]] = {
    "self_containment": "higher_is_better",
    "share_other_ics_trusts": "neutral",
    "share_independent_sector": "neutral",
    "inflow_share": "neutral",
    "n_partner_icss": "neutral",
    "home_system_share": "higher_is_better",
    "n_commissioning_icss": "neutral",
    "hhi_commissioning_icss": "neutral",
}


def resolve_directions(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """:data:`DEFAULT_DIRECTIONS` with the caller's overrides (validated).

    Raises
    ------
    ValueError
        An unknown metric or a direction other than ``higher_is_better``,
        ``lower_is_better`` or ``neutral``.
    """
    out = dict(DEFAULT_DIRECTIONS)
    for metric, direction in (overrides or {}).items():
        if metric not in DEFAULT_DIRECTIONS:
            raise ValueError(
                f"unknown partnership metric {metric!r}; known: {', '.join(DEFAULT_DIRECTIONS)}"
            )
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")
        out[metric] = direction
    return out


_SOURCE = "NHS England RTT full extract; ODS etr and eccg 2025"
_VINTAGE = "RTT April 2026; ICBs of April 2023 (42)"
_RES = "pathways of the ICS's residents (sub-ICB locations and reporting entities), any provider"
_GEO = "pathways at the trust from placed residents of any ICS (geographic commissioners)"
_METRICS: Final = (
    (
        "self_containment",
        "Self-containment",
        "icb",
        "share of residents' pathways treated at NHS trusts hosted in the same ICS",
        "residents' pathways at trusts hosted in the ICS",
        _RES,
    ),
    (
        "share_other_ics_trusts",
        "Share at other ICSs' trusts",
        "icb",
        "share of residents' pathways treated at NHS trusts hosted in other ICSs",
        "residents' pathways at other ICSs' trusts",
        _RES,
    ),
    (
        "share_independent_sector",
        "Share at independent-sector providers",
        "icb",
        "share of residents' pathways at providers that are not NHS trusts",
        "residents' pathways at independent-sector providers",
        _RES,
    ),
    (
        "inflow_share",
        "Inflow share",
        "icb",
        "share of pathways at the ICS's hosted trusts from residents of other ICSs",
        "pathways at hosted trusts from other ICSs' residents",
        "pathways at hosted trusts from placed residents of any ICS (hubs reported apart)",
    ),
    (
        "n_partner_icss",
        "Partner ICSs",
        "icb",
        "number of other ICSs whose trusts receive at least the partner threshold (5%) of "
        "residents' pathways",
        "count of ICSs above the threshold",
        "none (a count)",
    ),
    (
        "home_system_share",
        "Home-system share",
        "provider",
        "share of the trust's pathways from residents of its host ICS",
        "pathways at the trust from residents of its host ICS",
        _GEO,
    ),
    (
        "n_commissioning_icss",
        "Commissioning ICSs",
        "provider",
        "number of ICSs (host included) with at least the threshold (5%) share of the "
        "trust's pathways",
        "count of ICSs above the threshold",
        "none (a count)",
    ),
    (
        "hhi_commissioning_icss",
        "Commissioning concentration (HHI)",
        "provider",
        "Herfindahl-Hirschman index of the commissioning ICSs' shares, sum of s_k squared",
        "sum over ICSs of (pathways from ICS k) squared",
        "(" + _GEO + ") squared",
    ),
)


def partnership_catalogue(directions: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """Return the partnership metric catalogue (for ``ics-model metrics list``).

    Each entry: metric, label, level (``icb`` or ``provider``), definition, numerator,
    denominator, unit (``share`` 0-1, ``count`` or ``index`` 0-1), direction (from
    :func:`resolve_directions`), source, vintage. Every label carries :data:`PROXY_LABEL`.
    """
    dirs = resolve_directions(directions)
    units = {"n_partner_icss": "count", "n_commissioning_icss": "count"}
    units["hhi_commissioning_icss"] = "index (0-1)"
    return [
        {
            "metric": metric,
            "label": f"{label}: {PROXY_LABEL}",
            "level": level,
            "definition": definition,
            "numerator": numerator,
            "denominator": denominator,
            "unit": units.get(metric, "share (0-1)"),
            "direction": dirs[metric],
            "source": _SOURCE,
            "vintage": _VINTAGE,
        }
        for metric, label, level, definition, numerator, denominator in _METRICS
    ]


#: The catalogue with :data:`DEFAULT_DIRECTIONS`.
PARTNERSHIP_CATALOGUE: Final[list[dict[str, str]]] = partnership_catalogue()
