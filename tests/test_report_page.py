"""The report page's interactive parts: tables, weight explorer, ICB selector, offline.

The Chromium tests load a copy of the report with a probe script that acts as a reader
(moves a slider, picks an ICB, types a search, presses "Download CSV") and writes what
the page then shows into attributes of <body>, read back from the dumped DOM.
"""

import html
import json
import math
import re

import numpy as np
import polars as pl
import pytest

from ics_model.composite import composite
from ics_model.composite.spec import CompositeSpec
from ics_model.config import config_to_dict
from ics_model.plot import caterpillar, choropleth, display_boundaries, funnel, rating_distribution
from ics_model.report_html import (
    COLLAPSE_OVER,
    clean_svg,
    number,
    svg,
    table,
    with_icb_columns,
)
from ics_model.report_page import explorer_payload

# the one URL-like text allowed: the SVG namespace *name* Tabulator passes to
# document.createElementNS (an identifier, never fetched); see report_assets/PROVENANCE.md
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def _probe(report_html, tmp_path, js: str, chromium, budget_ms: int = 10000) -> dict:
    """Load the report, run ``js`` 400 ms after load, return body's data-probe JSON.

    ``js`` fills ``out`` and may ``await pause(ms)`` (e.g. for a table to finish building).
    """
    text = report_html.read_text(encoding="utf-8")
    end = text.rindex("</body>")
    script = (
        "<script>const pause=ms=>new Promise(r=>setTimeout(r,ms));"
        "window.addEventListener('load',()=>setTimeout(async()=>{const out={};"
        f"{js};document.body.setAttribute('data-probe',JSON.stringify(out));}},400));</script>"
    )
    page = tmp_path / "probe.html"
    page.write_text(text[:end] + script + text[end:], encoding="utf-8")
    dom = chromium.dom(page, tmp_path / "profile", budget_ms)
    assert dom.returncode == 0, dom.stderr[-2000:]
    errors = [
        line
        for line in dom.stderr.splitlines()
        if "CONSOLE" in line and ("error" in line.lower() or "Uncaught" in line)
    ]
    assert errors == []
    m = re.search(r'<body[^>]*data-probe="([^"]*)"', dom.stdout)
    assert m, "the probe did not run"
    return json.loads(html.unescape(m[1]))


# ------------------------------------------------------------------ offline, order, size


def test_no_external_url_anywhere_and_summary_before_sources(report_html):
    text = report_html.read_text(encoding="utf-8")
    urls = set(re.findall(r"(?:https?|ftp)://[^\s\"'<>)]*|//[a-z0-9-]+\.[a-z]{2,}/", text, re.I))
    assert urls == {SVG_NAMESPACE}
    assert text.count(SVG_NAMESPACE) == 2  # both inside the vendored Tabulator
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text, re.I)
    assert "@import" not in text and "sourceMappingURL" not in text
    assert text.index('<h2 id="summary">') < text.index('<h2 id="sources">')
    assert text.index("<h1>") < text.index('<h2 id="summary">') < text.index('id="explorer"')


def test_report_file_is_at_most_3_mb(report_html):
    assert report_html.stat().st_size <= 3 * 1024 * 1024


def test_tabulator_is_inline_with_its_licence(report_html):
    text = report_html.read_text(encoding="utf-8")
    assert "Tabulator v6.5.3" in text and "Permission is hereby granted" in text
    assert text.count('<div class="itable">') >= 10


# ------------------------------------------------------------------ tables (Python side)


def test_table_payload_has_raw_values_kinds_and_icb_code_beside_name():
    frame = pl.DataFrame(
        {
            "icb_name": ["NHS A ICB", "NHS B ICB"],
            "icb_code": ["QA1", "QB2"],
            "n": [1200, 3],
            "share": [0.123456, float("nan")],
            "ci_upper": [float("inf"), 0.5],
        }
    )
    out = table(frame, ["icb_name", "share", "ci_upper", "n"], name="demo")
    payload = json.loads(re.search(r'<script type="application/json">(.*?)</script>', out)[1])
    assert payload["name"] == "demo"
    assert [c["title"] for c in payload["columns"]] == [
        "icb_code", "icb_name", "share", "ci_upper", "n",
    ]  # fmt: skip
    assert [c["kind"] for c in payload["columns"]] == ["str", "str", "float", "float", "int"]
    assert payload["rows"][0] == ["QA1", "NHS A ICB", 0.123456, "unbounded", 1200]
    assert payload["rows"][1][2] is None  # NaN: no JSON NaN
    assert "<td>0.123</td>" in out and "<td>1,200</td>" in out  # the no-script table
    assert "<details" not in out  # short: open


def test_long_tables_are_collapsed_and_script_text_is_escaped():
    n = COLLAPSE_OVER + 1
    frame = pl.DataFrame({"note": ["</script><b>x"] * n})
    out = table(frame, name="long")
    assert out.startswith('<details class="long"><summary>Show the table (16 rows')
    assert "</script><b>" not in out.split("<table")[0]  # inside the JSON: escaped
    assert out.count("</script>") == 1


def test_with_icb_columns_leaves_other_frames_alone():
    f = pl.DataFrame({"metric": ["a"], "value": [1.0]})
    assert with_icb_columns(f, ["metric", "value"]) == ["metric", "value"]


# ------------------------------------------------------------------ SVG charts (Python side)


@pytest.mark.parametrize("chart", ["bars", "funnel", "rank", "map"])
def test_selectable_charts_tag_every_system(chart, report_result):
    from ics_model.funnel import view_funnel_limits
    from ics_model.geo import icb_boundaries

    r = report_result
    view = r.views.ics_view
    if chart == "bars":
        ax = rating_distribution(view, sector="gp_practice", selectable=True)
        codes = set(view.filter(pl.col("sector") == "gp_practice")["icb_code"])
    elif chart == "funnel":
        limits = view_funnel_limits(view, sector="gp_practice", share="share_outstanding")
        ax = funnel(view, limits, sector="gp_practice", selectable=True)
        rows = view.filter(
            (pl.col("sector") == "gp_practice")
            & (pl.col("key_question") == "Overall")
            & (pl.col("n_rated") > 0)
        )
        codes = set(rows["icb_code"])
    elif chart == "rank":
        ax = caterpillar(r.uncertainty.per_ics, selectable=True)
        codes = set(r.uncertainty.per_ics["icb_code"])
    else:
        bounds = display_boundaries(icb_boundaries(r.config.mapping.icb_vintage))
        ax = choropleth(
            r.composite.built.scores,
            "score_0_100",
            boundaries=bounds,
            icbs=r.views.icbs,
            selectable=True,
        )
        codes = set(r.views.icbs["icb_code"])
    text = svg(ax.figure)
    tagged = set(re.findall(r'<g class="icbsel" data-icb="([A-Z0-9]+)">', text))
    assert tagged == codes and len(codes) >= 40
    assert "http" not in text and "<g id=" not in text  # no repeated generated ids


def test_unselectable_charts_have_no_selection_layer(report_result):
    ax = rating_distribution(report_result.views.ics_view, sector="gp_practice")
    assert "icbsel" not in svg(ax.figure)


def test_display_boundaries_keep_every_icb_and_shrink_the_map():
    import shapely

    from ics_model.geo import icb_boundaries

    raw = icb_boundaries("2023")
    shown = display_boundaries(raw)
    assert shown.crs.to_epsg() == 27700 and list(shown["icb_code"]) == list(raw["icb_code"])
    assert shown.geometry.is_valid.all() and not shown.geometry.is_empty.any()
    before = shapely.get_num_coordinates(raw.geometry.values).sum()
    after = shapely.get_num_coordinates(shown.geometry.values).sum()
    assert after < 0.6 * before
    # area moves by well under 1% per ICB (500 m on systems tens of km across)
    area = raw.to_crs(27700).area.to_numpy()
    assert np.all(np.abs(shown.area.to_numpy() / area - 1) < 0.02)


def test_clean_svg_keeps_the_view_box_and_drops_sizes_and_namespaces():
    out = clean_svg(
        '<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="1pt" height="2pt" '
        'viewBox="0 0 1 2" version="1.1"><g id="axes_1"/></svg>'
    )
    assert out == '<svg viewBox="0 0 1 2" version="1.1"><g/></svg>'


# ------------------------------------------------------------------ the explorer (Python side)


def test_explorer_payload_is_the_composite_matrix(report_result):
    x = explorer_payload(report_result)
    built = report_result.composite.built
    assert x["codes"] == built.scores["icb_code"].to_list()
    assert x["rank"] == built.scores["rank"].to_list()
    names = [i["name"] for i in x["indicators"]]
    long = built.indicators
    for c, code in enumerate(x["codes"]):
        for i, ind in enumerate(names):
            row = long.filter((pl.col("icb_code") == code) & (pl.col("indicator") == ind))
            v = row["normalised"][0]
            assert x["values"][c][i] == (None if v is None or math.isnan(v) else v)
            assert x["counted"][c][i] == int(row["status"][0] == "observed")
    assert [p["name"] for p in x["pillars"]] == list(built.spec.pillars)


# ------------------------------------------------------------------ Chromium: the reader's view


def _spec_with(result, pillars: dict[str, float], indicators: dict[str, float]) -> CompositeSpec:
    d = config_to_dict(result.config)["composite"]
    for name, w in pillars.items():
        d["pillars"][name]["weight"] = w
    for pillar in d["pillars"].values():
        for ind in pillar["indicators"]:
            if ind["name"] in indicators:
                ind["weight"] = indicators[ind["name"]]
    return CompositeSpec.model_validate(d)


def _python_ranks(result, pillars, indicators) -> dict[str, int | None]:
    built = composite(result.composite.matrix, _spec_with(result, pillars, indicators))
    return dict(zip(built.scores["icb_code"], built.scores["rank"], strict=True))


def test_moving_a_weight_slider_re_ranks_as_python_does(
    report_html, report_result, tmp_path, chromium
):
    js = """
    const root = document.getElementById('explorer');
    const move = (sel, v) => {const s = root.querySelector(sel); s.value = String(v);
      s.dispatchEvent(new Event('input', {bubbles: true}));
      return JSON.parse(root.getAttribute('data-ranks'));};
    out.initial = JSON.parse(root.getAttribute('data-ranks'));
    out.quality3 = move('input[data-pillar="quality"]', 3);
    out.then_gp0 = move('input[data-indicator="gp_outstanding"]', 0);
    out.then_partnership0 = move('input[data-pillar="partnership"]', 0);
    out.shown = root.querySelector('input[data-pillar="quality"]').parentNode.textContent;
    out.rows = icsReport.tables[icsReport.tables.length - 1].getData()
      .filter(r => r.icb_code === 'QHM').map(r => [r.rank, r.run_rank, r.change]);
    """
    out = _probe(report_html, tmp_path, js, chromium)
    run_ranks = dict(
        zip(
            report_result.composite.built.scores["icb_code"],
            report_result.composite.built.scores["rank"],
            strict=True,
        )
    )
    assert out["initial"] == run_ranks
    q3 = _python_ranks(report_result, {"quality": 3}, {})
    assert out["quality3"] == q3 and q3 != run_ranks  # the slider moved the ranks
    assert out["then_gp0"] == _python_ranks(report_result, {"quality": 3}, {"gp_outstanding": 0})
    assert out["then_partnership0"] == _python_ranks(
        report_result, {"quality": 3, "partnership": 0}, {"gp_outstanding": 0}
    )
    assert "quality" in out["shown"] and "3" in out["shown"]
    now = out["then_partnership0"]["QHM"]
    assert out["rows"] == [[now, run_ranks["QHM"], run_ranks["QHM"] - now]]


def test_explorer_says_why_when_weights_cannot_make_a_composite(report_html, tmp_path, chromium):
    js = """
    const root = document.getElementById('explorer');
    for (const s of root.querySelectorAll('input[data-pillar]')) {
      s.value = '0'; s.dispatchEvent(new Event('input'));}
    out.error = root.getAttribute('data-error');
    out.ranks = Object.values(JSON.parse(root.getAttribute('data-ranks')));
    out.message = root.querySelector('.wmessage').textContent;
    """
    out = _probe(report_html, tmp_path, js, chromium)
    assert out["error"] == "At least one pillar needs a weight above 0."
    assert set(out["ranks"]) == {None} and "No ranks until then" in out["message"]


def test_find_my_icb_marks_the_map_bars_funnel_rank_chart_and_tables(
    report_html, tmp_path, chromium
):
    js = """
    const sel = document.getElementById('icb-select');
    out.options = sel.options.length;
    sel.value = 'QE1'; sel.dispatchEvent(new Event('change'));
    const shown = e => getComputedStyle(e).display !== 'none';
    out.charts = [...document.querySelectorAll('figure.svgfig')].map(f =>
      [f.getAttribute('aria-label').slice(0, 30), f.querySelectorAll('.icbsel.on').length,
       [...f.querySelectorAll('.icbsel.on')].every(shown),
       [...f.querySelectorAll('.icbsel:not(.on)')].every(e => !shown(e))]);
    out.others = [...document.querySelectorAll('.icbsel.on')]
      .filter(e => e.dataset.icb !== 'QE1').length;
    out.status = document.getElementById('icb-status').textContent;
    out.marked = document.querySelectorAll('.tabulator-row.picked').length;
    out.hash = location.hash;
    sel.value = ''; sel.dispatchEvent(new Event('change'));
    out.after_clear = document.querySelectorAll('.icbsel.on').length;
    """
    out = _probe(report_html, tmp_path, js, chromium)
    assert out["options"] == 43  # 42 ICBs and "(none)"
    kinds = {label[:12] for label, *_ in out["charts"]}
    assert {"Ratings of G", "Share of GP ", "Composite sc", "Composite ra"} <= kinds
    assert all(n >= 1 and shown and hidden for _, n, shown, hidden in out["charts"])
    assert out["others"] == 0 and out["after_clear"] == 0
    assert out["status"] == f"marked in {len(out['charts'])} charts and in the tables"
    assert out["marked"] >= 1 and out["hash"] == "#icb=QE1"


def test_tables_sort_search_and_download_csv_in_the_page(report_html, tmp_path, chromium):
    js = """
    const box = [...document.querySelectorAll('div.itable')].find(b =>
      JSON.parse(b.querySelector('script').textContent).name === 'composite_scores');
    box.closest('details').open = true;
    await pause(500);
    out.fallback_hidden = box.querySelector('table.static').hidden;
    const t = icsReport.tables[icsReport.tables.length - 1];
    out.n = t.getDataCount();
    const search = box.querySelector('input[type=search]');
    search.value = 'lancashire'; search.dispatchEvent(new Event('input'));
    out.found = t.getData('active').map(r => r.c0);
    out.count = box.querySelector('.tcount').textContent;
    search.value = ''; search.dispatchEvent(new Event('input'));
    const score = 'c' + t.getColumns().map(c => c.getDefinition().title).indexOf('score');
    t.setSort(score, 'desc');
    out.sorted = t.getData('active').map(r => r[score]).filter(v => v !== null);
    navigator.msSaveOrOpenBlob = (blob, name) => { out.file = name; return true; };
    let csv = null;
    const orig = Blob;
    window.Blob = function(parts, opts) { csv = parts.join(''); return new orig(parts, opts); };
    box.querySelector('.tbar button').click();
    window.Blob = orig;
    out.csv = csv;
    """
    out = _probe(report_html, tmp_path, js, chromium)
    assert out["fallback_hidden"] is True and out["n"] == 42
    assert out["found"] == ["QE1"] and out["count"] == "1 of 42 rows"
    assert out["sorted"] == sorted(out["sorted"], reverse=True) and len(out["sorted"]) >= 30
    assert out["file"] == "composite_scores.csv"
    lines = out["csv"].strip().splitlines()
    assert lines[0].startswith('"icb_code","icb_name","score"')
    assert len(lines) == 43  # header and every ICS, whatever the filter was


def test_page_numbers_match_python_number(report_html, tmp_path, chromium):
    values = [1.0, 0.33333, 0.0833333, 12.345, 1737241.0, -0.5, 0.0, 0.000012345, 999.999]
    js = f"out.v = {json.dumps(values)}.map(v => icsReport.number(v, 'float', 3));"
    out = _probe(report_html, tmp_path, js, chromium)
    assert out["v"] == [number(v) for v in values]


# ------------------------------------------------------------------ figures drawn in two processes


def _broken_plot():
    raise ValueError("no data for this chart")


def _small_plot(label: str):
    from matplotlib.figure import Figure

    ax = Figure(figsize=(1, 1)).add_subplot()
    ax.set_title(label)
    return ax


def test_figure_batch_fills_every_placeholder_in_order_and_reports_failures(caplog):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    from ics_model.report_html import figure, figures

    spawn = mp.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool, figures(pool) as batch:
        text = "".join(
            f"<p>{i}</p>" + figure(partial(_small_plot, f"plot {i}"), f"caption {i}", vector=True)
            for i in range(6)
        ) + figure(_broken_plot, "the broken one")
        assert len(batch.jobs) == 7 and "<figure" not in text
        out = batch.fill(text)
    captions = re.findall(r"<figcaption>(caption \d)</figcaption>", out)
    assert captions == [f"caption {i}" for i in range(6)]
    assert [int(i) for i in re.findall(r"<p>(\d)</p>", out)] == list(range(6))
    assert "\x00" not in out and ">plot 3</text>" in out
    assert "Figure not drawn (the broken one): no data for this chart" in out
    assert "report figure skipped (the broken one): no data for this chart" in caplog.text


def test_report_drawn_with_a_helper_process_equals_the_serial_report(report_result):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from ics_model.report import build_report
    from ics_model.report_pool import start_helper

    stamp = re.compile(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
    serial = build_report(report_result)
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        pool.submit(start_helper)
        shared = build_report(report_result, executor=pool)
    assert stamp.sub("T", shared) == stamp.sub("T", serial)


class _DeadHelper:
    """An executor whose process has died: every job it is given fails."""

    def __init__(self):
        self.given = 0

    def submit(self, fn, *args):
        from concurrent.futures import Future

        self.given += 1
        fut = Future()
        fut.set_exception(RuntimeError("the helper process died"))
        return fut


def test_figures_the_helper_could_not_draw_are_drawn_here():
    from functools import partial

    from ics_model.report_html import figure, figures

    dead = _DeadHelper()
    with figures(dead) as batch:
        text = "".join(
            figure(partial(_small_plot, f"plot {i}"), f"caption {i}", vector=True) for i in range(4)
        )
        out = batch.fill(text)
    assert dead.given >= 1
    assert re.findall(r"<figcaption>(caption \d)</figcaption>", out) == [
        f"caption {i}" for i in range(4)
    ]
    assert "Figure not drawn" not in out and "\x00" not in out
