"""The report's opening: data vintages with their age, an executive summary, the contents.

Everything here is written from the run's own results: which systems stand out and how
sure the ranking is (the Monte Carlo's likely range of rank), which pillar moves the
composite most, what the association analysis can and cannot say (its plain-English
conclusion), and the caveats a reader must carry. Every ICS-level figure is modelled.
"""

from __future__ import annotations

import html
import re
from datetime import date

import polars as pl

from ics_model.ratings import SECTOR_LABELS, short_icb_name
from ics_model.result import Result

_DATE = re.compile(r"\b(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?\b")


def vintage_age(vintage: str, today: date) -> str | None:
    """Return the age of the first date in a vintage text, in years (months under one).

    Examples
    --------
    >>> vintage_age("CQC ratings 2018-09-03 (ratings published 2013-2018)", date(2026, 12, 4))
    '8.3 years old'
    >>> vintage_age("RTT 2026-04", date(2026, 12, 4))
    '8 months old'
    >>> vintage_age("no date", date(2026, 12, 4)) is None
    True
    """
    m = _DATE.search(vintage)
    if m is None:
        return None
    year, month, day = int(m[1]), int(m[2] or 7), int(m[3] or 1)
    if not (1990 <= year <= today.year + 1 and 1 <= month <= 12):
        return None
    days = (today - date(year, month, min(day, 28))).days
    if days < 0:
        return None
    if days < 365:
        return f"{max(days // 30, 0)} months old"
    return f"{days / 365.25:.1f} years old"


def vintages_html(result: Result, today: date) -> str:
    """Return one line per rated sector: its data vintage and how old it is."""
    items = []
    for sector, text in result.provenance.vintages.items():
        age = vintage_age(text, today)
        label = SECTOR_LABELS.get(sector, sector)
        items.append(
            f"<li><b>{html.escape(label)}</b>: {html.escape(text)}"
            + (f" <i>({age})</i>" if age else "")
            + "</li>"
        )
    return f'<ul class="vintages">{"".join(items)}</ul>'


def _short(name: str | None, code: str) -> str:
    name = short_icb_name(name)
    return f"{name} ({code})" if name else code


def _standouts(result: Result) -> str | None:
    comp = None if result.composite is None else result.composite.built.scores
    if comp is None or comp.filter(pl.col("rank").is_not_null()).is_empty():
        return None
    ranked = comp.filter(pl.col("rank").is_not_null()).sort("rank")
    unc = None if result.uncertainty is None else result.uncertainty.per_ics
    ranges = (
        {}
        if unc is None
        else {r["icb_code"]: (r["rank_p05"], r["rank_p95"]) for r in unc.to_dicts()}
    )

    def one(r: dict) -> str:
        lo_hi = ranges.get(r["icb_code"])
        likely = f", likely {lo_hi[0]:.0f}-{lo_hi[1]:.0f}" if lo_hi and lo_hi[0] is not None else ""
        return f"{_short(r['icb_name'], r['icb_code'])} rank {r['rank']}{likely}"

    top = "; ".join(one(r) for r in ranked.head(3).to_dicts())
    bottom = "; ".join(one(r) for r in ranked.tail(3).to_dicts())
    n = ranked.height
    widths = [hi - lo for lo, hi in ranges.values() if lo is not None and hi is not None]
    sure = (
        f" Over the Monte Carlo of weights, methods and provider samples the median width of "
        f"an ICS's likely range (5th-95th percentile) is {sorted(widths)[len(widths) // 2]:.0f} "
        "places: compare likely ranges, not rank numbers."
        if widths
        else " No uncertainty analysis in this run: ranks come without intervals."
    )
    unranked = comp.height - n
    left = (
        f" {unranked} ICSs are not ranked (too little data; see the composite)." if unranked else ""
    )
    return (
        f"<li><b>Systems that stand out (modelled composite, {n} ranked)</b>: highest {top}; "
        f"lowest {bottom}.{sure}{left}</li>"
    )


def _drivers(result: Result) -> str | None:
    comp = None if result.composite is None else result.composite.built.scores
    if comp is None:
        return None
    pillars = [c.removeprefix("pillar_") for c in comp.columns if c.startswith("pillar_")]
    ranked = comp.filter(pl.col("rank").is_not_null())
    if ranked.height < 5 or not pillars:
        return None
    rho = {
        p: ranked.select(pl.corr(f"pillar_{p}", "score", method="spearman")).item() for p in pillars
    }
    order = sorted((v, p) for p, v in rho.items() if v is not None)[::-1]
    if not order:
        return None
    text = ", ".join(f"{p} {v:.2f}" for v, p in order)
    return (
        f"<li><b>What drives the composite</b>: the rank correlation of each pillar's score "
        f"with the composite is {text}; {order[0][1]} moves it most. Weights are value "
        "judgements: <code>ics-model compare</code> shows how ranks move under others.</li>"
    )


def _association(result: Result) -> str | None:
    eff = result.effect
    if eff is None:
        return None
    from ics_model.outputs import effect_dict

    conclusion = effect_dict(eff).get("conclusion")
    if not conclusion:
        return None
    first = conclusion.split(". ")
    short = ". ".join(first[:2]).rstrip(".") + "."
    return (
        f"<li><b>Is collaboration associated with Outstanding?</b> {html.escape(short)} "
        '(<a href="#association">the full conclusion, specification curve and power</a>)</li>'
    )


def summary_html(result: Result, today: date) -> str:
    """Return the executive summary: bullets from the run's results, then the caveats."""
    items = [x for x in (_standouts(result), _drivers(result), _association(result)) if x]
    nof = result.nof
    if nof is not None and nof.ics.height:
        ranked = nof.ics.filter((pl.col("trust_group") == "all trusts") & pl.col("ranked"))
        if ranked.height:
            first = ranked.sort("rank").row(0, named=True)
            items.append(
                f"<li><b>Current trust performance (NOF 2025/26)</b>: {ranked.height} ICSs "
                f"with enough segmented trusts are ranked; first "
                f"{html.escape(_short(first['icb_name'], first['icb_code']))} (likely rank "
                f"{first['rank_p05']:.0f}-{first['rank_p95']:.0f}).</li>"
            )
    trust_age = vintage_age(result.provenance.vintages.get("nhs_trust", ""), today)
    caveats = [
        "ICS figures are modelled: CQC has never rated integrated care systems.",
        "Ratings are of providers, inspected at different times; "
        + (
            f"the NHS trust ratings are {trust_age}, from before ICSs existed and before many "
            "mergers."
            if trust_age
            else "check each sector's vintage above."
        ),
        "Shares over a handful of providers have wide intervals: the tables give them, and "
        "the funnel plot shows which systems differ beyond chance.",
        "Associations are not causal: the collaboration measures are proxies (patient flows, "
        "PCN arrangements).",
    ]
    return (
        '<h2 id="summary">Summary</h2><ul class="summary">'
        + "".join(items)
        + "</ul><p><b>Read with care</b></p><ul>"
        + "".join(f"<li>{html.escape(c)}</li>" for c in caveats)
        + "</ul>"
    )


def contents_html(sections: list[tuple[str, str]]) -> str:
    """Return a contents list linking to each section (``(anchor, title)`` pairs)."""
    links = "".join(
        f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>' for a, t in sections
    )
    return f'<nav class="contents"><h2>Contents</h2><ol>{links}</ol></nav>'


__all__ = ["contents_html", "summary_html", "vintage_age", "vintages_html"]
