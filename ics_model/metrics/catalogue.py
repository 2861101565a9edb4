"""The ICS metric catalogue.

Every metric's definition, numerator, denominator, unit, direction (a configurable value
judgement), source and vintage.

``ics-model metrics list`` prints it; the documentation site's metric catalogue page is
:func:`catalogue_markdown`.
"""

from __future__ import annotations

from typing import Final

from ics_model.metrics.partnership_catalogue import PARTNERSHIP_CATALOGUE
from ics_model.metrics.partnership_inputs import PROXY_LABEL
from ics_model.ratings import Direction

_GP_VINTAGE = "CQC GP ratings April 2024; practice IMD 2019 quintiles (OHID Fingertips)"
_GP_SOURCE = "CQC via HEEC cqc.csv"
_RTT_VINTAGE = "RTT April 2026; ICBs of April 2023 (42)"
_RTT_SOURCE = "NHS England RTT full extract; ODS etr and eccg 2025"
_NOF_SOURCE = "NHS England NOF 2025/26 segmentation (trust profiles compiled by trustpulse)"
_NOF_VINTAGE = "NOF 2025/26 Q3, data month March 2026; trusts' host ICBs (ODS etr 2025)"
_IMD_VINTAGE = "IoD2019 on 2011 LSOAs, mid-2015 populations (IoD2025 exists, not embedded)"


def _entry(
    metric: str,
    label: str,
    pillar: str,
    direction: Direction,
    unit: str,
    definition: str,
    numerator: str,
    denominator: str,
    source: str,
    vintage: str,
    level: str = "icb",
) -> dict[str, str]:
    return {
        "metric": metric,
        "label": label,
        "level": level,
        "pillar": pillar,
        "direction": direction,
        "unit": unit,
        "definition": definition,
        "numerator": numerator,
        "denominator": denominator,
        "source": source,
        "vintage": vintage,
    }


def _england_theil(metric: str, label: str, definition: str) -> dict[str, str]:
    """Return the catalogue entry of an England-level Theil index of GP practices' shares."""
    return _entry(
        metric,
        label,
        "inequality",
        "lower_is_better",
        "index",
        definition,
        "",
        "",
        _GP_SOURCE,
        _GP_VINTAGE,
        "england",
    )


def _sii_entries() -> list[dict[str, str]]:
    out = []
    for what, col in (
        ("Good or Outstanding", "good_or_outstanding"),
        ("Outstanding", "outstanding"),
    ):
        common = (
            f"GP practices rated {what}, by practice deprivation quintile (1 = most deprived); "
            "each quintile's population = its number of rated practices (the file has no "
            "list sizes); null when a quintile holds fewer than metrics.min_group_size "
            "(default 5) rated practices"
        )
        out.append(
            _entry(
                f"gp_sii_{col}",
                f"Slope index of inequality, share {what} (GP)",
                "inequality",
                "lower_is_better",
                "share difference (least minus most deprived end)",
                "SII (OHID/PHE phe_sii method): slope of the population-weighted least-squares "
                "line of the quintile shares on the mid-point rank (0 = most, 1 = least "
                "deprived); positive = higher shares in less deprived areas; 95% limits by "
                "simulation from Wilson intervals. " + common,
                "practices rated " + what,
                "rated practices",
                _GP_SOURCE,
                _GP_VINTAGE,
            )
        )
        out.append(
            _entry(
                f"gp_rii_{col}",
                f"Relative index of inequality, share {what} (GP)",
                "inequality",
                "lower_is_better",
                "ratio",
                "RII = exp(beta) of the log-linear (Poisson) model of the quintile counts on the "
                "mid-point rank (Mackenbach & Kunst 1997): the fitted share at the least "
                "deprived end over that at the most deprived end; 1 = equality; 95% limits "
                "simulated on the log scale from each quintile's Jeffreys posterior (always "
                "positive). " + common,
                "practices rated " + what,
                "rated practices",
                _GP_SOURCE,
                _GP_VINTAGE,
            )
        )
    return out


#: Every ICS-level metric: definition, numerator, denominator, unit, direction, source.
METRIC_CATALOGUE: Final[list[dict[str, str]]] = [
    *[{**e, "pillar": "partnership"} for e in PARTNERSHIP_CATALOGUE if e["level"] == "icb"],
    *_sii_entries(),
    _entry(
        "gp_gap_good_or_outstanding",
        "Deprivation gap, share Good or Outstanding (GP)",
        "inequality",
        "lower_is_better",
        "share difference",
        "share Good or Outstanding in the least deprived quintile minus that in the most "
        "deprived quintile (positive = deprived areas worse); null when either holds fewer "
        "than metrics.min_group_size (default 5) rated practices",
        "practices rated Good or Outstanding",
        "rated practices in the quintile",
        _GP_SOURCE,
        _GP_VINTAGE,
    ),
    _entry(
        "gp_theil_within_ics",
        "Theil T within the ICS, share Good or Outstanding (GP)",
        "inequality",
        "lower_is_better",
        "index (0 = equal)",
        "population-weighted Theil T of the share Good or Outstanding across the ICS's "
        "deprivation quintiles (weights = rated practices)",
        "practices rated Good or Outstanding",
        "rated practices",
        _GP_SOURCE,
        _GP_VINTAGE,
    ),
    _entry(
        "gp_rating_dispersion",
        "Dispersion of GP practice ratings (Leik)",
        "inequality",
        "lower_is_better",
        "index (0-1)",
        "Leik's ordinal dispersion D = 2 sum_i min(F_i, 1 - F_i) / (k - 1) over the four "
        "ordered ratings (F cumulative shares); 0 = all alike, 1 = split between the "
        "extremes",
        "rated practices per rating",
        "rated practices",
        _GP_SOURCE,
        _GP_VINTAGE,
    ),
    _entry(
        "trust_rating_dispersion",
        "Dispersion of NHS trust ratings (Leik)",
        "inequality",
        "lower_is_better",
        "index (0-1)",
        "Leik's ordinal dispersion of the Overall ratings of the ICS's trusts; null with "
        "fewer than 3 rated trusts",
        "rated trusts per rating",
        "rated trusts",
        "CQC Latest ratings",
        "CQC ratings 3 Sep 2018 (published 2013-2018)",
    ),
    _entry(
        "share_waiting_over_18_weeks",
        "Share of residents waiting over 18 weeks",
        "inequality",
        "lower_is_better",
        "share (0-1)",
        "share of the ICS's residents' incomplete RTT pathways (all specialties, any "
        "provider) waiting more than 18 weeks (known clock start)",
        "residents' incomplete pathways in the weekly bands over 18 weeks",
        "residents' incomplete pathways",
        _RTT_SOURCE,
        _RTT_VINTAGE,
    ),
    _entry(
        "over_18_weeks_gini_trusts",
        "Spread of 18-week waits across hosted trusts",
        "inequality",
        "lower_is_better",
        "index (0-1)",
        "pathway-weighted Gini coefficient of the share waiting over 18 weeks across the "
        "NHS trusts hosted in the ICS (whole waiting lists); null with fewer than 3 "
        "trusts with flows",
        "per trust: pathways over 18 weeks",
        "per trust: pathways",
        _RTT_SOURCE,
        _RTT_VINTAGE,
    ),
    _entry(
        "imd_share_most_deprived_quintile",
        "Population in England's most deprived 20%",
        "context",
        "neutral",
        "share (0-1)",
        "share of the ICS's population living in LSOAs of national IMD quintile 1",
        "population of LSOAs in IMD deciles 1-2",
        "population of the ICS's LSOAs",
        "MHCLG IoD2019 Files 1 and 6; ONS LSOA (2011) to ICB (2023)",
        _IMD_VINTAGE,
    ),
    _entry(
        "imd_mean_rank",
        "Population-weighted mean IMD rank",
        "context",
        "neutral",
        "rank (1 = most deprived of 32,844)",
        "mean national IMD rank of the ICS's LSOAs, weighted by population",
        "sum of population x rank",
        "population",
        "MHCLG IoD2019 Files 1 and 6",
        _IMD_VINTAGE,
    ),
    _entry(
        "population",
        "Population (mid-2022)",
        "context",
        "neutral",
        "people",
        "ONS mid-2022 population of the ICS's sub-ICB locations",
        "people",
        "none",
        "ONS mid-2022 sub-ICB estimates",
        "mid-2022",
    ),
    _entry(
        "nof_mean_score",
        "NOF mean average metric score of the ICS's trusts (modelled)",
        "quality",
        "lower_is_better",
        "score (1 best - 4 worst)",
        "unweighted mean of the NHS Oversight Framework 2025/26 average metric scores of the "
        "NHS trusts hosted in the ICS (all trust types); a MODELLED roll-up (NHS England "
        "publishes no ICS segment); null when fewer than nof.min_trusts (default 3) trusts "
        "are segmented; limits: 5th-95th percentile of a bootstrap of the ICS's trusts",
        "sum of the trusts' average metric scores",
        "segmented trusts hosted in the ICS",
        _NOF_SOURCE,
        _NOF_VINTAGE,
    ),
    _entry(
        "nof_share_segment_1_2",
        "Share of the ICS's trusts in NOF segments 1-2 (modelled)",
        "quality",
        "higher_is_better",
        "share",
        "trusts in NOF 2025/26 segment 1 or 2 (after the deficit cap) over the segmented "
        "trusts hosted in the ICS; null when fewer than nof.min_trusts (default 3); 95% "
        "Wilson limits",
        "trusts in segments 1-2",
        "segmented trusts hosted in the ICS",
        _NOF_SOURCE,
        _NOF_VINTAGE,
    ),
    _england_theil(
        "theil_total",
        "Theil T, share Good or Outstanding (GP), England",
        "national Theil T over ICS x deprivation-quintile cells (weights = rated practices)",
    ),
    _england_theil(
        "theil_between_ics",
        "Theil T between ICSs, England",
        "between-ICS part of the national Theil T (sum_g s_g ln(mu_g / mu))",
    ),
    _england_theil(
        "theil_within_ics",
        "Theil T within ICSs, England",
        "within-ICS part of the national Theil T (sum_g s_g T_g); between + within = total",
    ),
]
CATALOGUE_BY_METRIC: Final = {e["metric"]: e for e in METRIC_CATALOGUE}


def catalogue_markdown() -> str:
    """Return the metric catalogue as a Markdown table (the site's metric catalogue page)."""
    lines = [
        "# Metric catalogue",
        "",
        "Generated by `ics-model metrics list --markdown`; do not edit by hand. Every ICS "
        "figure is a modelled construct. Partnership metrics are "
        f"*{PROXY_LABEL}*. Directions are value judgements and can be overridden "
        "(`metrics.directions` in a run config).",
        "",
        "| metric | level | pillar | direction | unit | definition | numerator | "
        "denominator | source | vintage |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in METRIC_CATALOGUE:
        cells = [
            f"`{e['metric']}`",
            e["level"],
            e["pillar"],
            e["direction"],
            e["unit"],
            e["definition"],
            e["numerator"] or "-",
            e["denominator"] or "-",
            e["source"],
            e["vintage"],
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"
