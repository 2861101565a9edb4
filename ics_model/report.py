"""A self-contained HTML report of one run: images inline, no network needed to view it.

Sections: data sources and vintages; ICS views; NHS Oversight Framework (NOF) trust
segments and the modelled ICS league table (:mod:`ics_model.report_nof`); composite and
uncertainty; partnership and inequality; rating-rule scenarios (CQC gates and NOF rules);
the collaboration association with its caveats; the config and manifest. Every ICS-level
figure is labelled modelled.
"""

from __future__ import annotations

import html
import json
import logging
import re
from concurrent.futures import Executor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import polars as pl

from ics_model import __version__
from ics_model.config import config_to_dict
from ics_model.data.sources import SOURCES
from ics_model.outputs import effect_dict, write_fresh
from ics_model.ratings import SECTOR_LABELS
from ics_model.report_html import EmbeddedBoundaries, draw_map, figures
from ics_model.report_html import figure as _figure
from ics_model.report_html import table as _table
from ics_model.report_nof import nof_scenario_html, nof_section
from ics_model.report_page import explorer_html, script_html, selector_html, style_html
from ics_model.report_summary import contents_html, summary_html, vintages_html
from ics_model.result import Result

log = logging.getLogger(__name__)

MODELLED = (
    "Every ICS-level figure in this report is a modelled construct: CQC has never rated "
    "integrated care systems."
)


def _sources_section(result: Result) -> str:
    rows = []
    by_path = {str(s.path): s for s in SOURCES.values()}
    for i in result.provenance.inputs:
        src = by_path.get(i.path)
        rows.append(
            {
                "role": i.role,
                "file": Path(i.path).name,
                "vintage": i.vintage,
                "publisher": src.publisher if src else "user file",
                "licence": src.licence if src else "as supplied",
                "sha256": i.sha256[:16] + "...",
            }
        )
    vint = "".join(
        f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
        for k, v in result.provenance.vintages.items()
    )
    return (
        "<h2>Data sources and vintages</h2>"
        f"<ul>{vint}</ul>"
        + _table(pl.DataFrame(rows))
        + "<p>Contains public sector information licensed under the Open Government Licence "
        "v3.0. The NHS trust ratings are the CQC edition of 3 September 2018 (published "
        "2013-2018): old, pre-ICB. See <code>datasets/README.md</code> for every caveat.</p>"
    )


def _views_section(result: Result) -> str:
    from ics_model.funnel import funnel_outliers, view_funnel_limits
    from ics_model.plot import funnel, rating_distribution

    view = result.views.ics_view
    parts = [
        "<h2>ICS views: provider ratings by system</h2>",
        f'<p class="modelled">{MODELLED}</p>',
    ]
    sectors = view["sector"].cast(pl.String).unique().sort().to_list()
    for sector in sectors:
        parts.append(
            _figure(
                partial(rating_distribution, view, sector=sector, selectable=True),
                f"Ratings of {SECTOR_LABELS.get(sector, sector)} by ICS (Overall; CQC order); "
                f"data: {result.provenance.vintages.get(sector, 'unknown vintage')}",
                vector=True,
            )
        )
    parts.append(_placement_note(result))
    if "gp_practice" in sectors:
        limits = view_funnel_limits(view, sector="gp_practice", share="share_outstanding")
        outliers = funnel_outliers(view, limits, sector="gp_practice", share="share_outstanding")
        parts.append(
            _figure(
                partial(
                    funnel,
                    view,
                    limits,
                    sector="gp_practice",
                    share="share_outstanding",
                    outliers=outliers,
                    selectable=True,
                ),
                "Share of GP practices rated Outstanding against the number rated, with 95% and "
                "99.8% limits around England (small systems are not over-read); the systems "
                "outside the 99.8% limits are named",
                vector=True,
            )
        )
    overall = view.filter(pl.col("key_question") == "Overall").sort(
        "sector", "share_good_or_outstanding", descending=[False, True]
    )
    parts.append(
        _table(
            overall,
            [
                "icb_name",
                "sector",
                "n_providers",
                "n_rated",
                "share_good_or_outstanding",
                "share_good_or_outstanding_lower",
                "share_good_or_outstanding_upper",
                "share_outstanding",
            ],
            n=130,
            name="ics_view_overall",
        )
    )
    return "".join(parts)


def _placement_note(result: Result) -> str:
    """Summarise how locations placed by coordinates were placed and checked."""
    checks = result.conservation.placement_checks
    if checks is None or checks.is_empty():
        return ""
    items = []
    for sector, part in checks.group_by("sector", maintain_order=True):
        point = dict(part["point_outcome"].value_counts().rows())
        la = dict(part["la_check"].value_counts().rows())
        label = SECTOR_LABELS.get(str(sector[0]), str(sector[0]))
        items.append(
            f"<li><b>{html.escape(label)}</b>: {part.height:,} locations; "
            f"{point.get('within', 0):,} inside an ICB polygon, {point.get('nearest', 0):,} "
            f"in the nearest polygon (within {result.config.mapping.nearest_icb_within_m:,.0f} "
            f"m), {part.height - point.get('within', 0) - point.get('nearest', 0):,} not "
            f"placed (see unmapped.csv). Local authority check: {la.get('agrees', 0):,} "
            f"agree, {la.get('disagrees', 0):,} disagree, {la.get('la_not_in_lookup', 0):,} "
            "not checked (county councils and authorities created after 2019 are not in the "
            "embedded district lookup); see placement_checks.csv.</li>"
        )
    return "<h3>Locations placed by coordinates</h3><ul>" + "".join(items) + "</ul>"


def _map(
    result: Result,
    boundaries,
    frame: pl.DataFrame,
    column: str,
    legend: str,
    caption: str,
    *,
    selectable: bool = False,
) -> str:
    """One ICS choropleth of ``column`` as a captioned inline figure.

    ``selectable``: drawn as SVG with every ICB's outline and name for the page's ICB
    selector.
    """
    return _figure(
        partial(
            draw_map,
            frame,
            column,
            boundaries=boundaries,
            icbs=result.views.icbs,
            legend_title=legend,
            selectable=selectable,
        ),
        caption,
        vector=selectable,
    )


def _accounts_section(result: Result) -> str:
    """Where every input row went, and the modelled ICS ratings (Overall), labelled."""
    parts = [
        "<h2>Every input row accounted for</h2><p>Per source: rows used, inherited from a "
        "predecessor, superseded by a later publication, quarantined, unmapped (with reasons "
        "in unmapped.csv) and the other outcomes; <code>balanced</code> says the outcomes add "
        "up to the input rows.</p>",
        _table(result.conservation.table),
    ]
    modelled = result.views.ics_modelled
    if modelled is not None and modelled.height:
        icbs = result.views.icbs.select("icb_code", "icb_name")
        overall = (
            modelled.filter(pl.col("key_question").cast(pl.String) == "Overall")
            .join(icbs, on="icb_code", how="left")
            .select(
                "icb_code",
                "icb_name",
                "sector",
                *(["rule_set"] if "rule_set" in modelled.columns else []),
                "modelled_value",
                "n_rated",
                "rule",
            )
            .sort("icb_code", "sector")
        )
        label = modelled["label"][0] if "label" in modelled.columns else MODELLED
        parts.append(
            "<h3>Modelled ICS ratings (Overall)</h3>"
            f'<p class="note modelled">{html.escape(str(label))}: a rule applied to the '
            "provider ratings placed in each ICS (rule and rule set in "
            "ics_modelled_ratings.csv, every key question there).</p>"
            + _table(overall, n=400, name="ics_modelled_ratings_overall")
        )
    return "".join(parts)


def _composite_section(result: Result, boundaries) -> str:
    from ics_model.plot import caterpillar

    comp = None if result.composite is None else result.composite.built.scores
    if comp is None or comp.is_empty():
        return "<h2>Composite</h2><p>No composite in this run.</p>"
    parts = [
        "<h2>Composite (modelled)</h2>",
        f'<p class="modelled">{MODELLED} Weights and methods are choices; see the '
        "uncertainty intervals before reading a rank.</p>",
    ]
    if boundaries is not None:
        parts.append(
            _map(
                result,
                boundaries,
                comp,
                "score_0_100",
                "score (0-100)",
                "Composite score (0-100 across ICSs); grey = not ranked (too little data)",
                selectable=True,
            )
        )
    unc = None if result.uncertainty is None else result.uncertainty.per_ics
    if unc is not None and unc.height:
        parts.append(
            _figure(
                partial(caterpillar, unc, selectable=True),
                "Composite rank with its 5-95% interval over the Monte Carlo "
                "draws (weights, methods, provider bootstrap)",
                vector=True,
            )
        )
        parts.append(_table(unc.sort("rank_median"), n=45, name="composite_uncertainty"))
    parts.append(_table(comp.sort("rank", nulls_last=True), n=45, name="composite_scores"))
    parts.append(
        "<h3>Indicators and weights</h3><p>The weight each pillar and indicator was given, "
        "its share within its pillar and its share of the composite (composite_weights.csv)."
        "</p>" + _table(result.composite.built.weights, n=60, name="composite_weights")
    )
    parts.append(explorer_html(result))
    corr = result.composite.correlations
    if corr.height:
        flagged = corr.filter(pl.col("flag_high") | pl.col("flag_negative_within_pillar"))
        parts.append("<h3>Correlation report (JRC step 4): flagged pairs</h3>" + _table(flagged))
    return "".join(parts)


def _metrics_section(result: Result, boundaries) -> str:
    from ics_model.metrics.sii import sii_intercept
    from ics_model.plot import sii_plot

    m = result.metrics.ics_metrics
    if m.is_empty():
        return "<h2>Partnership and inequality</h2><p>No metrics in this run.</p>"
    parts = [
        "<h2>Partnership and inequality</h2>",
        "<p>Partnership is a <i>patient-flow interdependence (modelled proxy for system "
        "partnership)</i> from RTT April 2026 flows, not collaboration itself.</p>",
    ]
    if boundaries is not None:
        sc = m.filter(pl.col("metric") == "self_containment")
        parts.append(
            _map(
                result,
                boundaries,
                sc,
                "value",
                "self-containment (share)",
                "Self-containment: share of residents' RTT pathways treated at trusts hosted in "
                "the ICS (modelled proxy; Frimley has no resident flows)",
            )
        )
    # the featured gradient: the steepest computed SII (null below metrics.min_group_size)
    sii = m.filter(pl.col("metric") == "gp_sii_good_or_outstanding").drop_nulls("value")
    q = result.metrics.gp_quintiles
    if sii.height and q is not None:
        code = sii.sort(pl.col("value").abs(), descending=True)["icb_code"][0]
        value = sii.filter(pl.col("icb_code") == code)["value"][0]
        name = _icb_name(result, code)
        table = q.filter(pl.col("icb_code") == code).select(
            "icb_code",
            pl.lit(name).alias("icb_name"),
            "imd_quintile",
            "n_rated",
            pl.col("share_go").alias("share"),
            pl.col("share_go_lower").alias("share_lower"),
            pl.col("share_go_upper").alias("share_upper"),
        )
        intercept = sii_intercept(table["n_rated"].to_numpy(), table["share"].to_numpy())
        parts.append(
            _figure(
                partial(sii_plot, table, {"sii": value, "intercept": intercept}, icb_code=code),
                f"Slope index of inequality, GP share Good or Outstanding, {name} ({code}; the ICS "
                "with the steepest gradient among those whose deprivation quintiles all hold "
                f"at least {result.config.metrics.min_group_size} rated practices; quintile 1 "
                "= most deprived)",
            )
        )
    summary = (
        m.filter(pl.col("icb_code") != "ENGLAND")
        .group_by("metric", "pillar", "direction", "unit")
        .agg(
            pl.col("value").min().alias("min"),
            pl.col("value").median().alias("median"),
            pl.col("value").max().alias("max"),
            pl.col("value").null_count().alias("missing"),
        )
        .sort("pillar", "metric")
    )
    parts.append(_table(summary, n=60))
    national = m.filter(pl.col("icb_code") == "ENGLAND")
    parts.append(
        "<h3>National Theil decomposition (GP share Good or Outstanding)</h3>"
        + _table(national, ["metric", "value", "note"])
    )
    return "".join(parts)


def _icb_name(result: Result, code: str) -> str:
    """Return an ICB's short name (its code when the run does not know it)."""
    from ics_model.ratings import short_icb_name

    icbs = result.views.icbs.filter(pl.col("icb_code") == code)
    return short_icb_name(icbs["icb_name"][0]) if icbs.height else code


def _scenarios_section(result: Result) -> str:
    from ics_model.plot import threshold_sweep

    parts = ["<h2>Rating-rule scenarios (modelled rules CQC has not adopted)</h2>"]
    for sc in result.scenarios:
        spec = sc.spec
        parts.append(
            f"<h3>{html.escape(spec.name)}</h3><p>{html.escape(spec.description or '')}</p>"
        )
        parts.append(
            _table(
                sc.result.national.select(
                    "n_outstanding_before", "n_outstanding_after", "n_lost", "n_not_assessable"
                )
            )
        )
        parts.append(
            "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in sc.result.notes) + "</ul>"
        )
        sweep = sc.sweep
        if sweep is not None and sweep.height:
            nat = sweep.filter(pl.col("icb_code") == "ENGLAND")
            gate = spec.gate()  # the swept gate; its configured threshold is marked
            unit = f"{gate.indicator} ({gate.scope}) {gate.op} threshold"
            parts.append(
                _figure(
                    partial(threshold_sweep, nat, threshold_unit=unit, current=gate.threshold),
                    f"{spec.name}: Outstanding ratings lost nationally as the threshold moves; "
                    f"the vertical line marks the scenario's threshold ({gate.threshold:g})",
                )
            )
    parts += [nof_scenario_html(ns) for ns in result.nof_scenarios]
    if not result.scenarios and not result.nof_scenarios:
        parts.append("<p>No scenarios in this run.</p>")
    return "".join(parts)


def _effect_section(result: Result) -> str:
    if result.effect is None or result.effect.result is None:
        return "<h2>Collaboration and Outstanding</h2><p>Not run.</p>"
    effect = effect_dict(result.effect)
    rows = {
        k: effect.get(k)
        for k in (
            "population",
            "exposure",
            "outcome",
            "estimate",
            "ci_lower",
            "ci_upper",
            "p_value_model",
            "p_value_permutation",
            "n_providers",
            "n_clusters",
            "n_outcome",
            "min_detectable_effect",
        )
    }
    caveats = "".join(f"<li>{html.escape(c)}</li>" for c in effect.get("caveats", []))
    warning = f'<p class="note">{html.escape(effect["warning"])}</p>' if "warning" in effect else ""
    return (
        "<h2>Is system collaboration associated with Outstanding ratings?</h2>"
        f'<p class="note"><b>In plain words.</b> {html.escape(effect.get("conclusion", ""))}</p>'
        "<p>An <b>association</b>, not a causal effect. Odds ratio per standard deviation of "
        "the exposure.</p>"
        + _table(pl.DataFrame([rows]))
        + f"<p>{html.escape(effect.get('method', ''))}</p>"
        + f'<div class="note"><b>Caveats</b><ul>{caveats}</ul></div>'
        + warning
        + _curve_html(result)
    )


def _curve_html(result: Result) -> str:
    """Return the specification curve, its placebo, the joint test and the power curve."""
    from ics_model import plot

    effect = result.effect
    parts = []
    if effect is not None and effect.curve is not None and effect.curve.curve.height:
        c = effect.curve
        parts += [
            "<h3>Specification curve: every reasonable analysis, after and before ICSs</h3>",
            "<p>Each specification is one population x outcome coding x exposure x controls x "
            "model; each is fitted on ratings published after ICSs became statutory (1 July "
            "2022) and, as a placebo, on ratings published before, which ICS collaboration "
            "cannot have caused.</p>",
            _figure(
                partial(plot.specification_curve, c.curve, footnote=result.provenance.vintages),
                "Specification curve: odds ratios per SD with 95% intervals, post- and pre-ICS",
            ),
            _table(c.summary.drop("sentence"), floats=3),
            "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in c.summary["sentence"]) + "</ul>",
            "<p><b>Joint test across the curve</b> (permutation of the exposure across ICSs; "
            "Simonsohn, Simmons and Nelson 2020):</p>",
            _table(c.joint.select("period", "statistic", "observed", "p_value", "permutations")),
            f"<p>{html.escape(c.placebo_text)}</p>",
        ]
    if effect is not None and effect.power is not None:
        parts.append(
            _figure(
                partial(
                    plot.power_curve,
                    effect.power.table,
                    mde=effect.power.min_detectable_effect,
                    footnote=result.provenance.vintages,
                ),
                "Power and coverage of the main specification, simulated on the real design",
            )
        )
    return "".join(parts)


def build_report(
    result: Result,
    *,
    boundaries=None,
    manifest: dict | None = None,
    executor: Executor | None = None,
) -> str:
    """Return the report as one HTML string: figures, tables and scripts all inline.

    ``boundaries``: ICB boundaries for the maps (None = the embedded ones of the run's ICB
    vintage, :func:`ics_model.geo.icb_boundaries`; False = no maps). ``executor``: a
    process pool (one worker) that draws figures beside this process
    (:class:`~ics_model.report_html.FigureBatch`); None draws them here.
    """
    with figures(executor) as batch:
        text = _page(result, boundaries, manifest)
        return batch.fill(text)


def _page(result: Result, boundaries, manifest: dict | None) -> str:
    if boundaries is False:  # maps switched off
        boundaries = None
    elif boundaries is None:  # loaded where the map is drawn (maybe the helper process)
        boundaries = EmbeddedBoundaries(result.config.mapping.icb_vintage)
    cfg = json.dumps(config_to_dict(result.config), indent=2, default=str)
    if not manifest:
        from ics_model.outputs import manifest as run_manifest

        manifest = run_manifest(result, {})
        manifest["outputs"] = (
            "none: this report was written on its own; `ics-model run` writes the output files "
            "with their sha256 in manifest.json"
        )
    man = json.dumps(manifest, indent=2, default=str)
    now = datetime.now(UTC)
    sections = [
        ("views", _views_section(result)),
        ("accounts", _accounts_section(result)),
        ("nof", nof_section(result)),
        ("composite", _composite_section(result, boundaries)),
        ("metrics", _metrics_section(result, boundaries)),
        ("scenarios", _scenarios_section(result)),
        ("association", _effect_section(result)),
    ]
    sections.append(
        (
            "sources",
            _sources_section(result).replace(
                "<h2>Data sources and vintages</h2>",
                "<h2>Appendix: data sources, vintages and file hashes</h2>",
            ),
        )
    )
    sections.append(
        (
            "config",
            "<h2>Appendix: config and manifest</h2><h3>Validated config</h3>"
            f"<pre>{html.escape(cfg)}</pre><h3>Manifest</h3><pre>{html.escape(man)}</pre>",
        )
    )
    anchored = [(a, _anchor(a, part)) for a, part in sections if part]
    titles = [(a, _title(part)) for a, part in anchored]
    body = "".join(
        [
            selector_html(result),
            f"<h1>ics_model report: {html.escape(result.config.name)}</h1>",
            f'<p class="note modelled">{MODELLED}</p>',
            f"<p>ics_model {html.escape(__version__)}, generated "
            f"{now.isoformat(timespec='seconds')}. Data:</p>",
            vintages_html(result, now.date()),
            summary_html(result, now.date()),
            contents_html([("summary", "Summary"), *titles]),
            *(part for _, part in anchored),
        ]
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>ics_model report: {html.escape(result.config.name)}</title>"
        f"{style_html()}</head><body>{body}{script_html()}</body></html>"
    )


def _anchor(anchor: str, part: str) -> str:
    """Give the section's first heading the id the contents link to."""
    return part.replace("<h2>", f'<h2 id="{anchor}">', 1)


def _title(part: str) -> str:
    """Return the text of a section's first heading."""
    m = re.search(r"<h2[^>]*>(.*?)</h2>", part, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", m[1])) if m else ""


def write_report(
    result: Result,
    path: str | Path,
    *,
    manifest: dict | None = None,
    executor: Executor | None = None,
) -> Path:
    """Write :func:`build_report` to ``path`` (a new temporary file renamed into place).

    A link at ``path`` is replaced, never followed (:func:`ics_model.outputs.write_fresh`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = build_report(result, manifest=manifest, executor=executor)
    return write_fresh(path, lambda p: p.write_text(text, encoding="utf-8"))
