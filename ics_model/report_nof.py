"""The NHS Oversight Framework (NOF) parts of the report: league table, NOF vs CQC, scenarios.

Lower is better for every NOF score, segment and rank; the ICS league table and the
scenarios are modelled (NHS England publishes no ICS segment and has not adopted the
scenario rules).
"""

from __future__ import annotations

import html
from functools import partial

import polars as pl

from ics_model.report_html import figure as _figure
from ics_model.report_html import table as _table
from ics_model.result import NofScenario, Result


def _icb_columns() -> list[pl.Expr]:
    """Return the ICB code and its short name, the first columns of a report table."""
    short = pl.col("icb_name").str.strip_prefix("NHS ").str.strip_suffix(" Integrated Care Board")
    return [pl.col("icb_code").alias("ICB"), short.alias("name")]


def _num(value: float | None, places: int) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


def nof_section(result: Result) -> str:
    """NOF 2025/26: the check, the modelled ICS league table with likely ranges, NOF vs CQC."""
    from ics_model.plot import caterpillar

    nof = result.nof
    if nof is None:
        return ""
    c = result.config.nof
    table = nof.ics.filter(pl.col("trust_group") == "all trusts")
    ranked = table.filter(pl.col("ranked")).sort("rank")
    check = nof.check.row(0, named=True)
    small = table.filter(~pl.col("ranked")).sort("n_trusts", "icb_code")
    parts = [
        "<h2>Current trust performance: NHS Oversight Framework 2025/26 (NOF)</h2>",
        "<p>NHS England's NOF segments NHS trusts 1 (best) to 4 from the average of their "
        "metric scores (each metric scored 1-4); a trust in financial deficit can be no "
        "better than segment 3; segment 5 is intensive support. <b>Lower is better</b> for "
        "every NOF score, segment and rank below.</p>",
        f"<p>Data: {html.escape(nof.vintage)}. {nof.trusts.height} segmented trusts placed in "
        f"their host ICBs ({nof.unplaced.height} rows of the file without a segment or not a "
        f"trust: <code>nof_unplaced.csv</code>). Rule set {html.escape(c.rule_set)} "
        f"re-derives {check['n_agree']}/{check['n']} published league-table segments.</p>",
        '<p class="note modelled">The ICS league table is MODELLED: NHS England publishes no '
        "ICS segment. Each ICS's score is the mean of its trusts' average metric scores (all "
        "trust types, which are scored on different metric sets); the likely range is the "
        f"5th-95th percentile of rank over {c.draws} bootstrap draws of the trusts within "
        f"each ICS. {small.height} ICSs with fewer than {c.min_trusts} segmented trusts are "
        "listed, not ranked.</p>",
    ]
    if ranked.height:
        parts.append(
            _figure(
                partial(
                    caterpillar,
                    ranked,
                    title="ICS NOF league table (modelled)\nmean NOF average metric score of "
                    "the ICS's trusts; 5–95% likely range of rank",
                    footnote=nof.vintage,
                    xlabel="NOF rank (1 = lowest mean score = best; lower is better)",
                ),
                "ICS NOF league table (modelled) with likely ranges of rank",
            )
        )
    shown = ranked.select(
        "rank",
        pl.format(
            "{}-{}",
            pl.col("rank_p05").round(0).cast(pl.Int64),
            pl.col("rank_p95").round(0).cast(pl.Int64),
        ).alias("likely range"),
        *_icb_columns(),
        pl.col("n_trusts").alias("trusts"),
        *(pl.col(f"n_segment_{s}").alias(f"seg {s}") for s in (1, 2, 3, 4)),
        (pl.col("share_segment_1_2") * 100).round(0).cast(pl.Int64).alias("% in 1-2"),
        pl.col("mean_avg_score").alias("mean score"),
        pl.format(
            "{}-{}", pl.col("mean_score_p05").round(2), pl.col("mean_score_p95").round(2)
        ).alias("mean 5-95%"),
    )
    parts.append(_table(shown, floats=2))
    if small.height:
        parts.append(
            "<p>Not ranked (fewer than "
            f"{c.min_trusts} segmented trusts): "
            + html.escape(
                ", ".join(
                    f"{r['icb_code']} {r['icb_name']} ({r['n_trusts']})" for r in small.to_dicts()
                )
            )
            + ".</p>"
        )
    corr = nof.correlation
    if corr is not None and corr.height:
        first = corr.row(0, named=True)
        parts.append(
            "<h3>How NOF relates to the 2018 CQC trust ratings</h3>"
            f"<p>{html.escape(str(first['note']))} CQC ratings published "
            f"{html.escape(str(first['cqc_published_range']))}, a median "
            f"{_num(first['median_cqc_rating_age_years'], 1)} years before the NOF data month "
            f"{html.escape(str(first['nof_data_month']))}.</p>"
        )
        parts.append(
            _table(
                corr.select(
                    "group",
                    "measure",
                    "interval_method",
                    "n",
                    "estimate",
                    pl.format("{}-{}", pl.col("lower").round(2), pl.col("upper").round(2)).alias(
                        f"{first['confidence']:.0%} interval"
                    ),
                    "p_value",
                ),
                floats=3,
            )
        )
        if nof.unmatched is not None and nof.unmatched.height:
            parts.append(
                "<p>Not compared (no single 2018 rating of the same trust): "
                + html.escape(
                    "; ".join(f"{r['org_code']}: {r['reason']}" for r in nof.unmatched.to_dicts())
                )
                + ".</p>"
            )
    return "".join(parts)


def _nof_swept(spec) -> tuple[float | None, str, str]:
    """Return the value in force and the axis label of a NOF scenario's swept quantity."""
    from ics_model.rules.rulesets import get_rule_set

    sw, rs = spec.sweep, get_rule_set(spec.rule_set)
    if sw.deficit_cap is not None:
        return rs.deficit_cap, "deficit cap: best segment of a trust in deficit", "rule in force"
    if sw.cut is not None:
        edge = rs.cuts.bounds[sw.cut - 1]
        return (
            edge,
            f"edge of segments {sw.cut}/{sw.cut + 1} (average metric score)",
            "rule set edge",
        )
    g = next(g for g in spec.gates if g.name == (sw.gate or spec.gates[0].name))
    where = "the trust's ICS" if g.scope == "icb" else "the trust"
    return g.threshold, f"threshold of {g.indicator} ({where})", "scenario threshold"


def nof_scenario_html(ns: NofScenario) -> str:
    """One NOF rule scenario: national counts, the ICSs affected, notes and the sweep."""
    from ics_model.plot import nof_scenario_sweep

    spec, res = ns.spec, ns.result
    nat = res.national.row(0, named=True)
    before = " / ".join(str(nat[f"n_segment_{s}_before"]) for s in (1, 2, 3, 4))
    after = " / ".join(str(nat[f"n_segment_{s}_after"]) for s in (1, 2, 3, 4))
    parts = [
        f"<h3>NOF: {html.escape(spec.name)} (modelled; lower is better)</h3>"
        f"<p>{html.escape(spec.description or '')}</p>"
        f"<p>{nat['n_changed']} of {nat['n_scored']} scored trusts change segment "
        f"({nat['n_better']} better, {nat['n_worse']} worse, {nat['n_not_assessable']} not "
        f"assessable) in {nat['n_ics_changed']} of {nat['n_ics']} ICSs. Trusts in segments "
        f"1 / 2 / 3 / 4: {before} published, {after} under the scenario.</p>",
        "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in res.notes) + "</ul>",
    ]
    changed = res.by_ics.filter(pl.col("n_changed") > 0).sort("n_changed", descending=True)
    parts.append(
        _table(
            changed.select(
                *_icb_columns(),
                pl.col("n_scored").alias("trusts scored"),
                pl.col("n_changed").alias("changed"),
                pl.col("n_better").alias("better"),
                pl.col("n_worse").alias("worse"),
                pl.col("n_not_assessable").alias("not assessable"),
            )
        )
    )
    if ns.sweep is not None and ns.sweep.height:
        current, label, marker = _nof_swept(spec)
        parts.append(
            _figure(
                partial(
                    nof_scenario_sweep,
                    ns.sweep,
                    current=current,
                    value_label=label,
                    current_label=marker,
                    footnote=str(res.trusts["data_month"][0]),
                ),
                f"{spec.name}: trusts per NOF segment as the swept value moves (modelled)",
            )
        )
    return "".join(parts)


__all__ = ["nof_scenario_html", "nof_section"]
