"""ics_model.plot: every chart renders on the embedded data, without warnings; a few
baseline images are compared within a tolerance; funnel limits are checked by hand.

Baseline images live in ``tests/plot/baseline/``. After an intended change to a chart,
regenerate them with ``python tests/plot/make_baselines.py`` (from the repository root)
and look at the new PNGs before committing them. They are drawn by :data:`BASELINES`
below under :func:`fixed_style` (matplotlib defaults, DejaVu Sans, fixed size and dpi).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import is_color_like
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images

from ics_model import plot
from ics_model.funnel import (
    funnel_limits,
    national_proportion,
    view_funnel_limits,
)
from ics_model.plot import style
from ics_model.ratings import RATING_LABELS

BASELINE_DIR = Path(__file__).resolve().parent / "baseline"
#: Resolution of baseline images (small files; figure sizes are the functions' defaults).
DPI = 60
#: RMS tolerance of :func:`matplotlib.testing.compare.compare_images` (0-255 scale).
TOL = 15
SII_ICB = "QHL"

# Every warning is an error in this module (a chart must draw cleanly).
pytestmark = pytest.mark.filterwarnings("error")


@contextmanager
def fixed_style() -> Iterator[None]:
    """Matplotlib defaults with DejaVu Sans (shipped with matplotlib); restored on exit."""
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(
            {"font.family": "DejaVu Sans", "figure.dpi": DPI, "savefig.dpi": DPI}
        )
        yield


# --------------------------------------------------------------------------- inputs


def build_inputs() -> dict[str, Any]:
    """Everything the charts draw: a pipeline run on the embedded data, boundaries,
    the GP deprivation-quintile table with one ICS's SII, and small hand-made frames."""
    from ics_model.config import RunConfig
    from ics_model.data import cqc
    from ics_model.data.geography import read_boundaries
    from ics_model.data.sources import SOURCES
    from ics_model.metrics.sii import slope_index
    from ics_model.metrics.system import gp_quintile_table
    from ics_model.pipeline import run

    result = run(RunConfig.model_validate({"metrics": {"sii_repetitions": 2000}}))
    gp = cqc.read_gp_practices(SOURCES["cqc_gp_practices_2024"].path).frame
    practices = (
        result.views.mapped.filter(
            (pl.col("sector") == "gp_practice") & (pl.col("key_question") == "Overall")
        )
        .select("provider_id", "icb_code", "rating")
        .join(
            gp.select(pl.col("practice_code").alias("provider_id"), "imd_quintile"),
            on="provider_id",
            how="left",
        )
    )
    quintiles = gp_quintile_table(practices).join(
        result.views.icbs.select("icb_code", "icb_name"), on="icb_code"
    )
    sii = slope_index(
        quintiles.filter(pl.col("icb_code") == SII_ICB),
        quantile="imd_quintile",
        population="n_rated",
        value="share_go",
        by="icb_code",
        se="share_go_se",
        confidence=0.95,
        repetitions=2000,
        seed=7,
        intercept=True,
    )
    names = result.views.icbs.sort("icb_code").head(10)
    uncertainty = names.with_columns(
        rank=pl.Series([3, 1, 7, 2, 9, 5, 4, 10, 6, 8]),
        rank_median=pl.Series([3.0, 1.0, 6.5, 2.0, 9.0, 5.0, 4.0, 10.0, 6.0, 8.0]),
        rank_p05=pl.Series([1.0, 1.0, 3.0, 1.0, 6.0, 2.0, 2.0, 8.0, 3.0, 5.0]),
        rank_p95=pl.Series([6.0, 3.0, 9.0, 5.0, 10.0, 8.0, 7.0, 10.0, 9.0, 10.0]),
    )
    comparison = names.with_columns(
        rank_a=pl.Series([3, 1, 7, 2, 9, 5, 4, 10, 6, 8]),
        rank_b=pl.Series([1, 2, 8, 3, 10, 4, 6, 9, 5, 7]),
    )
    sweep = pl.DataFrame(
        {
            "threshold": [80.0, 82.5, 85.0, 87.5, 90.0, 92.5, 95.0] * 2,
            "n_lost": [0, 0, 1, 3, 7, 12, 18, 0, 0, 0, 1, 2, 4, 6],
            "n_not_assessable": [2] * 7 + [1] * 7,
            "level": ["trust"] * 7 + ["ICS"] * 7,
        }
    )
    return {
        "result": result,
        "boundaries": read_boundaries("icb"),
        "regions": read_boundaries("region"),
        "quintiles": quintiles,
        "sii": sii,
        "uncertainty": uncertainty,
        "comparison": comparison,
        "sweep": sweep,
    }


def _metric(inputs: dict[str, Any], name: str) -> pl.DataFrame:
    return inputs["result"].metrics.ics_metrics.filter(pl.col("metric") == name)


# --------------------------------------------------------------------------- charts

Chart = Callable[[dict[str, Any]], Axes]

CHARTS: dict[str, Chart] = {
    "choropleth_waits": lambda d: plot.choropleth(
        _metric(d, "share_waiting_over_18_weeks"),
        "value",
        boundaries=d["boundaries"],
        icbs=d["result"].views.icbs,
        regions=d["regions"],
        legend_title="Residents waiting over 18 weeks (% of pathways)",
        fmt="{:.0%}",
    ),
    "choropleth_sii_diverging": lambda d: plot.choropleth(
        _metric(d, "gp_sii_good_or_outstanding"),
        "value",
        boundaries=d["boundaries"],
        icbs=d["result"].views.icbs,
        scheme="natural_breaks",
        fmt="{:.2f}",
    ),
    "choropleth_equal_interval": lambda d: plot.choropleth(
        _metric(d, "imd_share_most_deprived_quintile"),
        "value",
        boundaries=d["boundaries"],
        icbs=d["result"].views.icbs,
        scheme="equal_interval",
        k=4,
    ),
    "rating_distribution_trusts": lambda d: plot.rating_distribution(d["result"].views.ics_view),
    "rating_distribution_gp": lambda d: plot.rating_distribution(
        d["result"].views.ics_view,
        sector="gp_practice",
        order_by="icb_name",
        include_not_rated=True,
    ),
    "caterpillar": lambda d: plot.caterpillar(d["uncertainty"], footnote="hand-made example"),
    "rank_shift": lambda d: plot.rank_shift(
        d["comparison"], label_a="arithmetic mean", label_b="geometric mean"
    ),
    "threshold_sweep": lambda d: plot.threshold_sweep(d["sweep"], current=87.5),
    "sii_plot": lambda d: plot.sii_plot(
        d["quintiles"], d["sii"], icb_code=SII_ICB, value="share_go"
    ),
    "funnel_gp": lambda d: plot.funnel(
        d["result"].views.ics_view,
        view_funnel_limits(d["result"].views.ics_view, sector="gp_practice"),
        sector="gp_practice",
    ),
    "funnel_trusts": lambda d: plot.funnel(
        d["result"].views.ics_view,
        view_funnel_limits(
            d["result"].views.ics_view, sector="nhs_trust", share="share_good_or_outstanding"
        ),
        sector="nhs_trust",
        share="share_good_or_outstanding",
    ),
}

#: The charts kept as baseline images (``tests/plot/baseline/<name>.png``).
BASELINES: tuple[str, ...] = (
    "choropleth_waits",
    "rating_distribution_trusts",
    "caterpillar",
    "rank_shift",
    "sii_plot",
    "funnel_gp",
)


def render(name: str, inputs: dict[str, Any], path: Path) -> None:
    """Draw chart ``name`` under :func:`fixed_style` and save it as a PNG at ``path``."""
    with fixed_style():
        ax = CHARTS[name](inputs)
        try:
            ax.figure.savefig(path, dpi=DPI, metadata={"Software": None})
        finally:
            plt.close(ax.figure)


@pytest.fixture(scope="module")
def inputs() -> dict[str, Any]:
    return build_inputs()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _footnote(ax: Axes) -> str:
    return ax.figure.get_supxlabel()


# --------------------------------------------------------------------------- style


def test_rating_order_and_colours():
    assert tuple(reversed(RATING_LABELS)) == style.RATING_ORDER
    assert set(style.RATING_COLOURS) == {*RATING_LABELS, style.NOT_RATED}
    colours = list(style.RATING_COLOURS.values())
    assert all(is_color_like(c) for c in colours)
    assert len(set(colours)) == len(colours)
    grey = style.RATING_COLOURS[style.NOT_RATED]
    assert grey[1:3] == grey[3:5] == grey[5:7]  # a neutral grey


def test_footnote_merges_lines_and_writes_vintages():
    fig = Figure(figsize=(6, 4))
    ax1, ax2 = fig.subplots(1, 2)
    style.add_footnote(ax1, {"nhs_trust": "CQC 2018"})
    text = style.add_footnote(ax2, ["CQC 2018"], note="two ICSs left out")
    lines = fig._ics_footnote_lines
    assert lines[0] == style.MODELLED_NOTE
    assert lines.count(style.MODELLED_NOTE) == 1
    assert "Data: nhs trust: CQC 2018." in lines
    assert "Data: CQC 2018." in lines
    assert lines[-1] == "two ICSs left out"
    assert text.get_text() == fig.get_supxlabel()
    assert style.add_footnote(Figure(), None, modelled=False) is None
    assert style.footnote_text("mid-2022", modelled=False) == ["Data: mid-2022."]


def test_short_icb_name_and_labels():
    assert style.short_icb_name("NHS Devon Integrated Care Board") == "Devon"
    assert style.short_icb_name("NHS Frimley ICB") == "Frimley"
    frame = pl.DataFrame({"icb_code": ["QAA", "QBB"], "icb_name": ["NHS Alpha ICB", None]})
    assert style.ics_labels(frame) == ["Alpha", "QBB"]
    with pytest.raises(ValueError, match="icb_name or icb_code"):
        style.ics_labels(pl.DataFrame({"x": [1]}))


# --------------------------------------------------------------------------- funnel limits


def test_funnel_limits_normal_by_hand():
    """p0 = 0.5, n = 100: 0.5 -/+ z_0.975 * sqrt(0.25 / 100) = 0.5 -/+ 1.959964 * 0.05."""
    z = 1.959963984540054
    lim = funnel_limits(0.5, [100], [0.95], method="normal")
    assert lim["lower"][0] == pytest.approx(0.5 - z * 0.05, abs=1e-12)
    assert lim["upper"][0] == pytest.approx(0.5 + z * 0.05, abs=1e-12)
    assert lim["lower"][0] == pytest.approx(0.402002, abs=1e-6)
    assert lim.columns == ["n", "level", "p0", "lower", "upper", "method"]


def _cdf_exact(r: int, n: int, p: Fraction) -> Fraction:
    return sum((math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(r + 1)), Fraction(0))


def test_funnel_limits_exact_by_hand():
    """Exact binomial, p0 = 0.5, n = 100, 95%: r_0.025 = 40 (F(39) = 0.0176 < 0.025 <=
    F(40) = 0.0284) and r_0.975 = 60; limit = (r - alpha) / n with
    alpha = (F(r) - q) / (F(r) - F(r - 1)), in exact rational arithmetic."""
    n, p = 100, Fraction(1, 2)
    expected = {}
    for side, q, r in (("lower", Fraction(1, 40), 40), ("upper", Fraction(39, 40), 60)):
        f_r, f_prev = _cdf_exact(r, n, p), _cdf_exact(r - 1, n, p)
        assert f_prev < q <= f_r  # r is the binomial q-quantile
        alpha = (f_r - q) / (f_r - f_prev)
        expected[side] = float((r - alpha) / n)
    lim = funnel_limits(0.5, [100], [0.95])
    assert lim["method"][0] == "exact"
    assert lim["lower"][0] == pytest.approx(expected["lower"], abs=1e-12)
    assert lim["upper"][0] == pytest.approx(expected["upper"], abs=1e-12)
    assert (round(lim["lower"][0], 5), round(lim["upper"][0], 5)) == (0.39682, 0.59318)


def test_funnel_limits_exact_agree_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    for p0, n, level in ((0.047, 1, 0.95), (0.047, 250, 0.998), (0.58, 16, 0.95), (0.9, 7, 0.8)):
        lim = funnel_limits(p0, [n], [level])
        for col, q in (("lower", (1 - level) / 2), ("upper", 1 - (1 - level) / 2)):
            r = stats.binom.ppf(q, n, p0)
            f_r, f_prev = stats.binom.cdf(r, n, p0), stats.binom.cdf(r - 1, n, p0)
            want = min(max((r - (f_r - q) / (f_r - f_prev)) / n, 0.0), 1.0)
            assert lim[col][0] == pytest.approx(want, abs=1e-9), (p0, n, level, col)


@pytest.mark.parametrize("method", ["exact", "normal"])
def test_funnel_limits_shape(method):
    lim = funnel_limits(0.2, [5, 50, 500], (0.95, 0.998), method=method)
    assert lim.height == 6
    assert (lim["lower"] <= 0.2).all() and (lim["upper"] >= 0.2).all()
    w = lim.with_columns(width=pl.col("upper") - pl.col("lower"))
    w95 = w.filter(pl.col("level") == 0.95)["width"].to_list()
    w998 = w.filter(pl.col("level") == 0.998)["width"].to_list()
    assert w95 == sorted(w95, reverse=True)  # narrower as n grows
    assert all(a < b for a, b in zip(w95, w998, strict=True))
    for p0 in (0.0, 1.0):
        edge = funnel_limits(p0, [10], method=method)
        assert (edge["lower"] == p0).all() and (edge["upper"] == p0).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p0": 1.5, "n_grid": [10]}, "p0"),
        ({"p0": 0.5, "n_grid": [0]}, "positive integers"),
        ({"p0": 0.5, "n_grid": [2.5]}, "positive integers"),
        ({"p0": 0.5, "n_grid": [10], "levels": [1.0]}, "levels"),
        ({"p0": 0.5, "n_grid": [10], "method": "wilson"}, "method"),
    ],
)
def test_funnel_limits_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        funnel_limits(**kwargs)


def test_national_proportion_pools_counts(inputs):
    view = inputs["result"].views.ics_view
    rows = view.filter((pl.col("sector") == "nhs_trust") & (pl.col("key_question") == "Overall"))
    want = (rows["n_outstanding"].sum() + rows["n_good"].sum()) / rows["n_rated"].sum()
    got = national_proportion(view, sector="nhs_trust", share="share_good_or_outstanding")
    assert got == pytest.approx(want)
    lim = view_funnel_limits(view, sector="nhs_trust", share="share_good_or_outstanding")
    assert lim["n"].max() == rows["n_rated"].max()
    assert lim["p0"].unique().to_list() == [pytest.approx(want)]
    with pytest.raises(ValueError, match="no rows"):
        national_proportion(view, sector="gp_practice", key_question="Safe")
    with pytest.raises(ValueError, match="share must be"):
        national_proportion(view, sector="nhs_trust", share="mean_score")


# --------------------------------------------------------------------------- every chart


@pytest.mark.parametrize("name", list(CHARTS))
def test_chart_renders_without_warnings(inputs, name):
    ax = CHARTS[name](inputs)
    assert isinstance(ax, Axes)
    assert ax.get_title()
    if not name.startswith("choropleth"):
        assert ax.get_xlabel() and ax.get_ylabel()
    assert "Modelled" in _footnote(ax)
    assert "modelled" in ax.get_title().lower()
    ax.figure.canvas.draw()


def test_charts_draw_on_a_given_axes(inputs):
    _, axes = plt.subplots(1, 2, figsize=(12, 6), layout="constrained")
    out = plot.caterpillar(inputs["uncertainty"], ax=axes[0])
    out2 = plot.threshold_sweep(inputs["sweep"], ax=axes[1])
    assert out is axes[0] and out2 is axes[1]
    assert _footnote(out).count("Modelled") == 1


# --------------------------------------------------------------------------- choropleth


def _legend_labels(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _legend_counts(ax: Axes) -> int:
    return sum(int(m) for m in re.findall(r"\((\d+)\)$", "\n".join(_legend_labels(ax)), re.M))


def test_choropleth_draws_all_42_with_regions(inputs):
    ax = CHARTS["choropleth_waits"](inputs)
    labels = _legend_labels(ax)
    # every ICS has residents' flows (Frimley's through the ICB crosswalk): no "no data"
    assert not any(lab.startswith("no data") for lab in labels)
    assert "NHS England region" in labels
    assert _legend_counts(ax) == 42
    legend_title = ax.get_legend().get_title().get_text().replace("\n", " ")
    assert legend_title.endswith("(% of pathways)")
    assert "RTT April 2026" in _footnote(ax)


def test_choropleth_diverging_centres_on_zero(inputs):
    ax = CHARTS["choropleth_sii_diverging"](inputs)
    labels = _legend_labels(ax)
    assert any(re.search(r"– 0\.00 \(\d+\)$", lab) for lab in labels)
    assert _legend_counts(ax) == 42
    # the catalogue label and unit make the default legend title
    assert ax.get_legend().get_title().get_text().startswith("Slope index of inequality")


def test_choropleth_accepts_geodataframe_and_gss_frames(inputs):
    frame = _metric(inputs, "population").join(
        inputs["result"].views.icbs.select("icb_code", "icb_gss"), on="icb_code"
    )
    gdf = plot.icb_geodataframe(frame, inputs["boundaries"])
    assert len(gdf) == 42 and gdf["value"].notna().all()
    ax = plot.choropleth(gdf, "value", k=3, legend_title="People (mid-2022)")
    assert _legend_counts(ax) == 42
    ax2 = plot.choropleth(
        frame.select("icb_gss", "value").head(40), "value", boundaries=inputs["boundaries"]
    )
    assert "no data (2)" in _legend_labels(ax2)


def test_choropleth_rejects_frames_that_do_not_join(inputs):
    b, icbs = inputs["boundaries"], inputs["result"].views.icbs
    metrics = inputs["result"].metrics.ics_metrics
    one = _metric(inputs, "population")
    with pytest.raises(ValueError, match="more than once"):
        plot.choropleth(
            metrics.filter(pl.col("icb_code") != "ENGLAND"), "value", boundaries=b, icbs=icbs
        )
    with pytest.raises(ValueError, match="not in icbs"):
        plot.choropleth(
            metrics.filter(pl.col("metric") == "theil_total"), "value", boundaries=b, icbs=icbs
        )
    with pytest.raises(ValueError, match="pass icbs"):
        plot.choropleth(one, "value", boundaries=b)
    with pytest.raises(ValueError, match="needs boundaries"):
        plot.choropleth(one, "value")
    with pytest.raises(ValueError, match="scheme"):
        plot.choropleth(one, "value", boundaries=b, icbs=icbs, scheme="jenks")
    with pytest.raises(ValueError, match="no column"):
        plot.choropleth(one, "nope", boundaries=b, icbs=icbs)
    wrong = pl.DataFrame({"icb_gss": ["E54999999"], "value": [1.0]})
    with pytest.raises(ValueError, match="no boundary"):
        plot.choropleth(wrong, "value", boundaries=b)


# --------------------------------------------------------------------------- other charts


def test_rating_distribution_bars_and_order(inputs):
    view = inputs["result"].views.ics_view
    ax = plot.rating_distribution(view)
    rows = view.filter(
        (pl.col("sector") == "nhs_trust") & (pl.col("key_question") == "Overall")
    ).sort(["share_good_or_outstanding", "icb_name"], descending=[True, False])
    top = max(ax.get_yticklabels(), key=lambda t: t.get_position()[1]).get_text()
    assert top == style.short_icb_name(rows["icb_name"][0])
    widths: dict[float, float] = {}
    for patch in ax.patches:
        widths[patch.get_y()] = widths.get(patch.get_y(), 0.0) + patch.get_width()
    assert len(widths) == 42
    assert all(w == pytest.approx(1.0) for w in widths.values())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == list(style.RATING_ORDER)
    with pytest.raises(ValueError, match="no rows"):
        plot.rating_distribution(view, sector="gp_practice", key_question="Safe")


def test_sii_plot_draws_the_fitted_line_at_rank_midpoints(inputs):
    ax = CHARTS["sii_plot"](inputs)
    sii = inputs["sii"].row(0, named=True)
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("fitted line"))
    assert list(line.get_xdata()) == [0, 1]
    assert list(line.get_ydata()) == pytest.approx(
        [sii["intercept"], sii["intercept"] + sii["sii"]]
    )
    table = inputs["quintiles"].filter(pl.col("icb_code") == SII_ICB).sort("imd_quintile")
    n = table["n_rated"].to_numpy()
    mid = (np.cumsum(n) - n / 2) / n.sum()
    points = ax.get_lines()[0]
    assert points.get_xdata() == pytest.approx(mid)
    given = table.with_columns(rank=pl.Series([0.1, 0.3, 0.5, 0.7, 0.9]))
    ax2 = plot.sii_plot(given, {"sii": 0.1, "intercept": 0.8}, icb_code=SII_ICB, value="share_go")
    assert ax2.get_lines()[0].get_xdata() == pytest.approx([0.1, 0.3, 0.5, 0.7, 0.9])
    with pytest.raises(ValueError, match="intercept"):
        plot.sii_plot(given, {"sii": 0.1}, icb_code=SII_ICB, value="share_go")


def test_funnel_draws_every_rated_ics(inputs):
    view = inputs["result"].views.ics_view
    ax = CHARTS["funnel_gp"](inputs)
    points = next(ln for ln in ax.get_lines() if ln.get_label() == "ICS")
    assert len(points.get_xdata()) == 42
    one = view.with_columns(
        n_rated=pl.when(pl.col("icb_code") == "QHL").then(0).otherwise(pl.col("n_rated"))
    )
    lim = funnel_limits(0.05, range(1, 50), [0.95])
    ax2 = plot.funnel(one, lim, sector="gp_practice")
    assert "1 ICS(s) with no rated providers not shown." in _footnote(ax2)


def test_funnel_names_the_icss_outside_the_widest_limits(inputs):
    from ics_model.funnel import funnel_outliers, view_funnel_limits

    view = inputs["result"].views.ics_view
    limits = view_funnel_limits(view, sector="gp_practice", share="share_outstanding")
    outliers = funnel_outliers(view, limits, sector="gp_practice")
    ax = plot.funnel(view, limits, sector="gp_practice", outliers=outliers)
    named = {t.get_text() for t in ax.texts if t.get_fontsize() == 6.5}
    widest = outliers.filter(pl.col("level") == 0.998)
    assert widest.height == 7 and "Devon" in named and "North West London" in named
    assert len(named) == widest.height
    assert "Named: the 7 ICSs outside the 99.8% limits." in _footnote(ax)


def test_rank_shift_colours_by_direction(inputs):
    ax = CHARTS["rank_shift"](inputs)
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 2]
    assert len(lines) == 10
    colours = {ln.get_color() for ln in lines}
    assert colours <= set(style.CHANGE_COLOURS.values())


# --------------------------------------------------------------------------- baselines


@pytest.mark.parametrize("name", BASELINES)
def test_baseline_image(inputs, name, tmp_path):
    expected = BASELINE_DIR / f"{name}.png"
    assert expected.is_file(), f"missing {expected}: run python tests/plot/make_baselines.py"
    actual = tmp_path / f"{name}.png"
    render(name, inputs, actual)
    diff = compare_images(str(expected), str(actual), tol=TOL)
    assert diff is None, (
        f"{diff}\nIf the change is intended, run python tests/plot/make_baselines.py"
    )


def test_nof_scenario_sweep_draws_segments_marks_the_value_and_says_lower_is_better():
    from ics_model.plot import nof_scenario_sweep

    sweep = pl.DataFrame(
        {
            "icb_code": ["ENGLAND", "ENGLAND", "QE1", "ENGLAND"],
            "value": [1.0, 2.0, 2.0, 3.0],
            "n_changed": [5, 3, 9, 0],
            **{f"n_segment_{s}_after": [s, s + 1, 99, s + 2] for s in (1, 2, 3, 4)},
        }
    )
    ax = nof_scenario_sweep(sweep, current=3.0, current_label="rule in force", value_label="cap")
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 3]
    assert len(lines) == 5  # four segments and the changed count; the QE1 row is not drawn
    changed = next(ln for ln in lines if ln.get_label() == "segment changed")
    assert list(changed.get_ydata()) == [5, 3, 0]
    assert ax.get_xlabel() == "cap"
    assert any(t.get_text() == "rule in force" for t in ax.texts)
    assert "lower is better" in " ".join(ax.figure._supxlabel.get_text().split())
    with pytest.raises(ValueError, match="needs columns"):
        nof_scenario_sweep(sweep.drop("n_changed"))
    plt.close("all")


def test_readme_figures_are_at_least_150_dpi_and_the_readme_shows_each():
    from pathlib import Path

    from PIL import Image

    root = Path(__file__).resolve().parents[2]
    figures = sorted((root / "docs" / "figures").glob("*.png"))
    assert len(figures) == 3
    readme = (root / "README.md").read_text(encoding="utf-8")
    for path in figures:
        with Image.open(path) as image:
            dpi = image.info.get("dpi", (0, 0))
        assert min(dpi) >= 149.5, (path.name, dpi)
        assert f"docs/figures/{path.name}" in readme


def test_highlight_picks_out_the_chosen_systems_in_every_chart(inputs):
    from ics_model.funnel import view_funnel_limits

    result = inputs["result"]
    view = result.views.ics_view
    chosen = ["QE1", "qop"]  # any case
    ax = plot.rating_distribution(view, sector="gp_practice", highlight=chosen)
    bold = {t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"}
    assert bold == {"Lancashire and South Cumbria", "Greater Manchester"}
    assert {t.get_color() for t in ax.get_yticklabels() if t.get_text() in bold} == {
        style.HIGHLIGHT
    }
    plain = plot.rating_distribution(view, sector="gp_practice")
    assert not any(t.get_fontweight() == "bold" for t in plain.get_yticklabels())
    limits = view_funnel_limits(view, sector="gp_practice")
    ax = plot.funnel(view, limits, sector="gp_practice", highlight=chosen)
    picked = next(ln for ln in ax.get_lines() if ln.get_label() == "chosen")
    assert len(picked.get_xdata()) == 2 and picked.get_color() == style.HIGHLIGHT
    assert {"Lancashire and South Cumbria", "Greater Manchester"} <= {
        t.get_text() for t in ax.texts
    }


def test_choropleth_outlines_the_chosen_systems(inputs):
    ax = plot.choropleth(
        _metric(inputs, "share_waiting_over_18_weeks"),
        "value",
        boundaries=inputs["boundaries"],
        icbs=inputs["result"].views.icbs,
        highlight=["QE1"],
    )
    labels = [h.get_label() for h in ax.get_legend().legend_handles]
    assert "chosen" in labels
    none = plot.choropleth(
        _metric(inputs, "share_waiting_over_18_weeks"),
        "value",
        boundaries=inputs["boundaries"],
        icbs=inputs["result"].views.icbs,
    )
    assert "chosen" not in [h.get_label() for h in none.get_legend().legend_handles]


def test_funnel_labels_of_outliers_and_chosen_systems_do_not_overlap(inputs):
    from ics_model.funnel import funnel_outliers, view_funnel_limits

    view = inputs["result"].views.ics_view
    limits = view_funnel_limits(view, sector="gp_practice")
    outliers = funnel_outliers(view, limits, sector="gp_practice")
    chosen = ["QWE", "QNX", "QRL", "QJ2", "QH8", "QK1"]  # near each other and the outliers
    ax = plot.funnel(view, limits, sector="gp_practice", outliers=outliers, highlight=chosen)
    from matplotlib.text import Text

    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_fontsize() == 6.5]
    assert len(labels) == 7 + 6 - 1  # Derby and Derbyshire is both: named once, as chosen
    boxes = [Text.get_window_extent(t, renderer) for t in labels]  # the text, not its leader
    clashes = [
        (labels[i].get_text(), labels[j].get_text())
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if boxes[i].overlaps(boxes[j])
    ]
    assert clashes == []
    bottom = ax.get_window_extent(renderer).y0
    assert all(b.y0 >= bottom - 1 for b in boxes)  # none below the axis
