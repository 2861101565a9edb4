r"""The report page's interactive parts: assets, the weight explorer, the ICB selector.

Everything is inline, so a report opens offline and loads nothing from anywhere:

- the tables are Tabulator 6.5.3 tables (MIT; vendored in ``ics_model/report_assets``
  with its provenance), built by the page script ``report.js`` from the JSON payload
  each :func:`ics_model.report_html.table` writes;
- the **weight explorer** embeds the composite's normalised ICS x indicator matrix and
  re-ranks the ICSs in the browser as the reader moves a weight slider. Its arithmetic is
  that of :func:`ics_model.composite.composite`: for ICS :math:`c`, pillar :math:`q`,

  .. math::

      P_{cq} = M_q\big(\{y_{ci}\}; \{w_i / \textstyle\sum_{j \in q,\,obs} w_j\}\big), \qquad
      S_c = M\big(\{P_{cq}\}; \{W_q / \textstyle\sum_{r,\,obs} W_r\}\big),

  coverage :math:`\sum_i \tilde w_i 1[\text{observed, complete}]` with the nominal
  composite weights :math:`\tilde w_i = (W_{q(i)} / \sum_r W_r)(w_i / \sum_{j \in q(i)}
  w_j)`, ICSs below ``min_coverage`` unranked, ranks descending with ties sharing the
  lowest rank (JRC/OECD *Handbook on Constructing Composite Indicators* 2008, step 6).
  The test suite moves a slider in headless Chromium and compares the page's ranks
  with :func:`~ics_model.composite.composite` for the same weights;
- **find my ICB**: one selector shows the chosen system in every chart drawn with
  ``selectable=True`` (map, rating bars, funnel, rank chart) and marks its table rows.
"""

from __future__ import annotations

import html
import math
from functools import cache
from pathlib import Path

import polars as pl

from ics_model.ratings import short_icb_name
from ics_model.report_html import json_script
from ics_model.result import Result

ASSETS = Path(__file__).parent / "report_assets"


@cache
def asset(name: str) -> str:
    """Return the text of one file of ``ics_model/report_assets``."""
    return (ASSETS / name).read_text(encoding="utf-8")


def style_html() -> str:
    """Return the page's ``<style>``: Tabulator's theme, then the report's own."""
    return f"<style>{asset('tabulator_simple.min.css')}\n{asset('report.css')}</style>"


def script_html() -> str:
    """Return the page's scripts: Tabulator (with its MIT notice), then ``report.js``."""
    notice = asset("LICENSE.tabulator").replace("*/", "* /")
    return (
        f"<script>/*\n{notice}*/\n{asset('tabulator.min.js')}</script>"
        f"<script>{asset('report.js')}</script>"
    )


def _finite(v) -> float | None:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


def explorer_payload(result: Result) -> dict | None:
    """Return what the weight explorer needs, or None when the run has no composite.

    ``values``: the normalised ICS x indicator matrix (None = missing, skipped);
    ``counted``: 1 where the value is observed from a complete source (it carries
    coverage); the pillars' and indicators' configured weights and aggregations; the
    run's ranks. ICSs in the composite's order.
    """
    if result.composite is None or result.composite.built.scores.is_empty():
        return None
    built = result.composite.built
    spec = built.spec
    pillars = list(spec.pillars)
    names = [i.name for _, i in spec.indicators]
    scores = built.scores
    codes = scores["icb_code"].to_list()
    wide = (
        built.indicators.with_columns(
            (pl.col("status") == "observed").cast(pl.Int8).alias("counted")
        )
        .pivot(on="indicator", index="icb_code", values=["normalised", "counted"])
        .join(pl.DataFrame({"icb_code": codes}).with_row_index("_order"), on="icb_code")
        .sort("_order")
    )
    values = [
        [_finite(v) for v in row]
        for row in wide.select([f"normalised_{n}" for n in names]).iter_rows()
    ]
    counted = [list(row) for row in wide.select([f"counted_{n}" for n in names]).iter_rows()]
    return {
        "codes": codes,
        "names": [short_icb_name(n) or c for n, c in zip(scores["icb_name"], codes, strict=True)],
        "pillars": [
            {
                "name": p,
                "weight": spec.pillars[p].weight,
                "method": spec.pillar_aggregation(p),
            }
            for p in pillars
        ],
        "indicators": [
            {"name": i.name, "pillar": pillars.index(p), "weight": i.weight}
            for p, i in spec.indicators
        ],
        "overall": spec.aggregation,
        "p": spec.p,
        "min_coverage": spec.min_coverage,
        "values": values,
        "counted": counted,
        "rank": scores["rank"].to_list(),
    }


def explorer_html(result: Result) -> str:
    """Return the weight explorer: its explanation, its data and the element it fills."""
    payload = explorer_payload(result)
    if payload is None:
        return ""
    data = json_script(payload).replace("<script ", '<script id="explorer-data" ', 1)
    return (
        "<h3>Weight explorer (modelled)</h3><p>Move a weight and the ICSs are re-ranked "
        "at once, in this page, from the normalised indicator values above: the same "
        "two-level weighted means, missing indicators skipped and the weights "
        "renormalised, coverage and <code>min_coverage</code> as the run. The weights are a "
        "judgement; the run's own weights and its uncertainty analysis are above. "
        '"change" is the rise (&#9650;) or fall (&#9660;) against the run\'s rank.</p>'
        f'{data}<div id="explorer"></div>'
        "<noscript><p>The explorer needs JavaScript.</p></noscript>"
    )


def selector_html(result: Result) -> str:
    """Return the sticky "Find my ICB" bar: one option per ICB of the run, by name."""
    icbs = result.views.icbs.select("icb_code", "icb_name").unique().sort("icb_name")
    options = "".join(
        f'<option value="{html.escape(c)}">{html.escape(short_icb_name(n) or c)} ({c})</option>'
        for c, n in icbs.iter_rows()
    )
    return (
        '<div class="pickbar"><label for="icb-select"><b>Find my ICB</b></label> '
        f'<select id="icb-select"><option value="">(none)</option>{options}</select>'
        '<span id="icb-status"></span></div>'
    )


__all__ = [
    "ASSETS",
    "asset",
    "explorer_html",
    "explorer_payload",
    "script_html",
    "selector_html",
    "style_html",
]
