"""The HTML report: self-contained, every section, and it renders in headless Chromium."""

import re
import subprocess

from ics_model.config import RunConfig
from ics_model.pipeline import run
from ics_model.report import MODELLED, build_report


def test_report_is_self_contained_with_every_section(report_html):
    text = report_html.read_text(encoding="utf-8")
    for heading in (
        "Summary",
        "Contents",
        "ICS views",
        "Every input row accounted for",
        "Composite (modelled)",
        "Partnership and inequality",
        "Rating-rule scenarios",
        "Is system collaboration associated",
        "Appendix: data sources, vintages and file hashes",
        "Appendix: config and manifest",
    ):
        assert heading in text, heading
    assert MODELLED in text
    assert "2018-09-03" in text  # vintages shown with the results
    # the independent sector: its caveat beside its figures, and how it was placed
    assert "Ratings of Independent-sector hospitals and clinics by ICS" in text
    assert "ratings under CQC&#x27;s newer assessment approach (from May 2024) may be" in text
    assert "2,854 locations; 2,849 inside an ICB polygon, 3 in the nearest polygon" in text
    assert "1,845 agree, 4 disagree, 1,002 not checked" in text
    # no network at view time: every image inline, no external script, link or font
    srcs = re.findall(r'src="([^"]+)"', text)
    assert len(srcs) >= 8 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert text.count('<figure class="svgfig"') == 6  # the charts of the ICB selector
    assert not re.search(r'(href|src)="https?://', text)
    assert "Figure not drawn" not in text


def test_the_featured_gradient_rests_on_full_quintiles(report_html):
    # the steepest SII without a minimum is Cornwall's (QT6: 1 practice in quintiles 1 and 5)
    text = report_html.read_text(encoding="utf-8")
    name, code = re.search(
        r"GP share Good or Outstanding, ([^(]+) \((Q[A-Z0-9]{2}); the ICS", text
    ).groups()
    assert code != "QT6" and not name.startswith("Q")  # named, not only coded
    assert "all hold at least 5 rated practices" in text


def test_threshold_sweeps_mark_the_configured_threshold(report_html):
    text = report_html.read_text(encoding="utf-8")
    assert (
        "gp_self_containment_overall: Outstanding ratings lost nationally as the threshold "
        "moves; the vertical line marks the scenario&#x27;s threshold (0.8)" in text
    )
    assert "the systems outside the 99.8% limits are named" in text


def test_build_report_without_boundaries_still_works():
    result = run(
        RunConfig.model_validate(
            {"metrics": {"sii_repetitions": 2000}, "effect": {"enabled": False}, "scenarios": []}
        )
    )
    text = build_report(result, boundaries=False)  # any non-None, non-frame disables maps
    assert '<h2 id="composite">Composite (modelled)</h2>' in text
    assert "Composite score (0-100 across ICSs)" not in text  # no map without boundaries


def test_report_renders_in_headless_chromium(report_html, tmp_path, chromium):
    exe = chromium.exe
    # a copy with a probe that records, after load, whether every image decoded
    probe = report_html.read_text(encoding="utf-8").replace(
        "</body>",
        "<script>window.addEventListener('load',()=>{const imgs=[...document.images];"
        "document.body.setAttribute('data-images',imgs.length);"
        "document.body.setAttribute('data-broken',"
        "imgs.filter(i=>!(i.complete&&i.naturalWidth>0)).length);});</script></body>",
    )
    page = tmp_path / "probe.html"
    page.write_text(probe, encoding="utf-8")
    profile = tmp_path / "profile"
    dom = subprocess.run(
        [
            exe,
            *chromium.flags,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    n = int(re.search(r'data-images="(\d+)"', dom.stdout).group(1))
    broken = int(re.search(r'data-broken="(\d+)"', dom.stdout).group(1))
    assert n >= 8 and broken == 0
    console_errors = [
        line
        for line in dom.stderr.splitlines()
        if "CONSOLE" in line and ("error" in line.lower() or "Uncaught" in line)
    ]
    assert console_errors == []
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            exe,
            *chromium.flags,
            f"--user-data-dir={profile}2",
            "--window-size=1280,2400",
            f"--screenshot={shot}",
            report_html.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000


def test_report_is_complete_accounts_modelled_ratings_weights_manifest(report_html):
    text = report_html.read_text(encoding="utf-8")
    assert "Every input row accounted for" in text and "<th>balanced</th>" in text
    i = text.index("Modelled ICS ratings (Overall)")
    assert "CQC has never rated ICSs" in text[i : i + 600]
    assert "<h3>Indicators and weights</h3>" in text and "<th>weight_in_composite</th>" in text
    assert "(not written)" not in text and "&quot;inputs&quot;" in text
    assert "1.737241e6" not in text and "<td>1.000</td>" not in text  # numbers for readers


def test_report_opens_with_vintages_their_age_a_summary_and_contents(report_html):
    text = report_html.read_text(encoding="utf-8")
    summary, sources = text.index('<h2 id="summary">'), text.index('<h2 id="sources">')
    assert text.index("<h1>") < text.index('class="vintages"') < summary < sources
    assert "(8.3 years old)" in text or "(8.4 years old)" in text  # the 2018 trust ratings
    head = text[summary:sources]
    assert "Systems that stand out (modelled composite, 39 ranked)" in head
    assert "What drives the composite" in head and "Is collaboration associated" in head
    assert "Read with care" in head
    # every contents link has its section, in order
    nav = text[text.index('<nav class="contents">') : text.index("</nav>")]
    anchors = re.findall(r'href="#([a-z]+)"', nav)
    assert anchors[0] == "summary" and {"views", "association", "sources", "config"} <= set(anchors)
    positions = [text.index(f'<h2 id="{a}"') for a in anchors]
    assert positions == sorted(positions)
