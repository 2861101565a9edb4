"""Regenerate the README's pictures from the embedded data: ``python docs/make_figures.py``.

Writes ``docs/figures/*.png``. The figures are drawn by the public plot functions from a
default run; every ICS-level figure is modelled (there are no official ICS ratings).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

from ics_model import plot
from ics_model.config import RunConfig
from ics_model.data.geography import read_boundaries
from ics_model.funnel import funnel_outliers, view_funnel_limits
from ics_model.pipeline import run

OUT = Path(__file__).resolve().parent / "figures"
DPI = 150  # sharp on high-density screens; the tests check every figure's resolution


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    result = run(RunConfig())
    boundaries, regions = read_boundaries("icb"), read_boundaries("region")
    comp = result.composite.built.scores
    ax = plot.choropleth(
        comp,
        "score_0_100",
        boundaries=boundaries,
        icbs=result.views.icbs,
        regions=regions,
        legend_title="composite score (modelled, 0-100)",
    )
    ax.figure.savefig(OUT / "composite_map.png", dpi=DPI, bbox_inches="tight")
    plt.close(ax.figure)
    view = result.views.ics_view
    limits = view_funnel_limits(view, sector="gp_practice", share="share_outstanding")
    outliers = funnel_outliers(view, limits, sector="gp_practice", share="share_outstanding")
    ax = plot.funnel(
        view, limits, sector="gp_practice", share="share_outstanding", outliers=outliers
    )
    ax.figure.savefig(OUT / "gp_outstanding_funnel.png", dpi=DPI, bbox_inches="tight")
    plt.close(ax.figure)
    gp = next(s for s in result.scenarios if s.spec.name == "gp_self_containment_overall")
    ax = plot.threshold_sweep(
        gp.sweep.filter(pl.col("icb_code") == "ENGLAND"),
        threshold_unit="ICS self-containment",
        current=gp.spec.gate().threshold,  # the configured threshold, marked on the sweep
    )
    ax.figure.savefig(OUT / "gp_gate_sweep.png", dpi=DPI, bbox_inches="tight")
    plt.close(ax.figure)
    print(f"wrote {', '.join(p.name for p in sorted(OUT.glob('*.png')))} to {OUT}")


if __name__ == "__main__":
    main()
