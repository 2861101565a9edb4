"""Figures of ICS views and metrics: frames in, matplotlib axes out.

Every function takes polars (or geopandas) frames and an optional ``ax``, draws, and
returns the axes; none computes a statistic (funnel limits come from
:mod:`ics_model.funnel`, ranks and intervals from the caller). Colours, rating order and
the footnote with data vintages and the "modelled" caveat are in :mod:`.style`.

Functions
---------
choropleth
    One value per ICS on the 42 ICB boundaries, classed by mapclassify, with NHS
    region outlines and "no data" hatching.
rating_distribution
    Stacked bars of each ICS's providers by CQC rating.
caterpillar
    Composite ranks with 5-95% uncertainty intervals.
rank_shift
    Slope chart of ranks under two methods.
threshold_sweep
    Outstanding ratings lost as a rule's threshold moves.
sii_plot
    Share by deprivation quintile with the fitted slope-index line.
funnel
    ICS shares against the number of rated providers, with control limits.
specification_curve
    The collaboration association's specification curve, post-ICS and pre-ICS
    (placebo) estimates side by side, with the specification indicators.
power_curve
    Simulated power and interval coverage against the planted odds ratio, with the
    minimum detectable effect.

Needs ``matplotlib``, ``geopandas`` and ``mapclassify`` (for maps).
"""

from __future__ import annotations

from ics_model.plot.charts import (
    caterpillar,
    rank_shift,
    rating_distribution,
    sii_plot,
    threshold_sweep,
)
from ics_model.plot.effects import specification_curve
from ics_model.plot.funnel_chart import funnel
from ics_model.plot.maps import choropleth, display_boundaries, icb_geodataframe
from ics_model.plot.nof import nof_scenario_sweep
from ics_model.plot.power import power_curve
from ics_model.plot.style import (
    MODELLED_NOTE,
    NOT_RATED,
    RATING_COLOURS,
    RATING_ORDER,
    add_footnote,
    footnote_text,
)

__all__ = [
    "MODELLED_NOTE",
    "NOT_RATED",
    "RATING_COLOURS",
    "RATING_ORDER",
    "add_footnote",
    "caterpillar",
    "choropleth",
    "display_boundaries",
    "footnote_text",
    "funnel",
    "icb_geodataframe",
    "nof_scenario_sweep",
    "power_curve",
    "rank_shift",
    "rating_distribution",
    "sii_plot",
    "specification_curve",
    "threshold_sweep",
]
