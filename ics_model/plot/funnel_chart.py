"""Funnel plot of ICS shares against their number of rated providers.

Control limits come from :func:`ics_model.funnel.view_funnel_limits` and the ICSs outside
them from :func:`ics_model.funnel.funnel_outliers`; this module only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from ics_model.funnel import select_view_rows
from ics_model.plot.charts import _finish, _hide_spines, _legend_above, _percent_axis, _require
from ics_model.plot.style import (
    CHANGE_COLOURS,
    HIGHLIGHT,
    INK,
    MUTED,
    Vintages,
    new_axes,
    sector_label,
    share_label,
    short_icb_name,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def funnel(
    view: pl.DataFrame,
    limits: pl.DataFrame,
    *,
    sector: str,
    key_question: str = "Overall",
    share: str = "share_outstanding",
    target_label: str = "England",
    title: str | None = None,
    footnote: Vintages = None,
    outliers: pl.DataFrame | None = None,
    highlight: Sequence[str] = (),
    ax: Axes | None = None,
) -> Axes:
    """Funnel plot: each ICS's share against its number of rated providers.

    Parameters
    ----------
    view : the ICS view: ``icb_code``, ``sector``, ``key_question``, ``n_rated`` and
        ``share``. ICSs with no rated provider cannot be placed and are counted in the
        footnote.
    limits : control limits from :func:`ics_model.funnel.funnel_limits` (or
        :func:`ics_model.funnel.view_funnel_limits`): ``n``, ``level``, ``p0``, ``lower``,
        ``upper``; one line pair per ``level``, and ``p0`` (a single value) drawn as the
        target.
    sector, key_question : the rows of the view to draw.
    share : the share column (``"share_outstanding"``, ``"share_good_or_outstanding"``).
    target_label : what ``p0`` is (``view_funnel_limits`` uses the England share).
    title : default "<share> by ICS: <sector>, <key question>" and "funnel plot around
        the <target_label> share (modelled ICS view)".
    footnote : data vintages; default the view's ``ratings_vintage``.
    outliers : :func:`ics_model.funnel.funnel_outliers` for the same rows: the ICSs
        outside the widest limits drawn are labelled with their names (the footnote says
        so), so a reader sees which systems stand out.
    highlight : ICB codes to pick out (e.g. yours and its peers): drawn in a second
        colour, named.
    ax : default a new 7 x 5 inch figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _require(view, ["icb_code", "sector", "key_question", "n_rated", share], "view")
    _require(limits, ["n", "level", "p0", "lower", "upper"], "limits")
    if limits["p0"].n_unique() != 1:
        raise ValueError("limits must be around one target p0")
    rows = select_view_rows(view, sector, key_question)
    placed = rows.filter(pl.col("n_rated") > 0)
    ax = new_axes(ax, (7.0, 5.0))
    styles = ["--", ":", "-."]
    for i, (lvl, part) in enumerate(
        sorted(
            ((float(k[0]), p) for k, p in limits.partition_by("level", as_dict=True).items()),
            key=lambda kv: kv[0],
        )
    ):
        part = part.sort("n")
        ls = styles[i % len(styles)]
        lab = f"{lvl:.1%}".replace(".0%", "%") + " limits"
        ax.plot(part["n"], part["lower"], ls, color=MUTED, lw=1.0, label=lab)
        ax.plot(part["n"], part["upper"], ls, color=MUTED, lw=1.0)
    p0 = float(limits["p0"][0])
    ax.axhline(p0, color=INK, lw=1.0, label=f"{target_label}: {p0:.1%}")
    ax.plot(
        placed["n_rated"].to_numpy(),
        placed[share].to_numpy(),
        "o",
        color=CHANGE_COLOURS["better"],
        mec="white",
        mew=0.5,
        ms=6,
        alpha=0.9,
        label="ICS",
    )
    chosen = placed.filter(
        pl.col("icb_code").str.to_uppercase().is_in([c.upper() for c in highlight])
    )
    if chosen.height:
        ax.plot(
            chosen["n_rated"].to_numpy(),
            chosen[share].to_numpy(),
            "o",
            color=HIGHLIGHT,
            mec="white",
            mew=0.5,
            ms=7,
            label="chosen",
            zorder=3,
        )
        for r in chosen.iter_rows(named=True):
            ax.annotate(
                short_icb_name(r.get("icb_name") or r["icb_code"]),
                (r["n_rated"], r[share]),
                xytext=(5, -9),
                textcoords="offset points",
                fontsize=6.5,
                color=HIGHLIGHT,
                fontweight="bold",
            )
    n_max = float(placed["n_rated"].max() or 1) if placed.height else 1.0
    n_min = float(placed["n_rated"].min() or 1) if placed.height else 1.0
    # show the funnel over the ICSs' range of n: the limits at n = 1 would flatten the rest
    in_range = limits.filter(pl.col("n") >= n_min)["upper"]
    top = max(
        float(placed[share].max() or 0.0) if placed.height else 0.0,
        float(in_range.max() or 0.0) if in_range.len() else p0,
    )
    ax.set_xlim(0, n_max * 1.05)
    ax.set_ylim(0, min(1.0, top * 1.1 + 0.01))
    _percent_axis(ax.yaxis)
    ax.set_xlabel(f"Rated {sector_label(sector)} in the ICS (count)")
    ax.set_ylabel(f"{share_label(share)} (%)")
    _hide_spines(ax)
    _legend_above(ax, ncol=4 + int(chosen.height > 0))
    default = (
        f"{share_label(share)} by ICS: {sector_label(sector)}, {key_question}\n"
        f"funnel plot around the {target_label} share (modelled ICS view)"
    )
    dropped = rows.height - placed.height
    notes = [f"{dropped} ICS(s) with no rated providers not shown."] if dropped else []
    if outliers is not None:
        widest = float(limits["level"].max())
        notes.append(_label_outliers(ax, outliers, widest))
    return _finish(ax, title or default, footnote, rows, pad=20, note=" ".join(notes) or None)


def _label_outliers(ax: Axes, outliers: pl.DataFrame, widest: float) -> str:
    """Name the ICSs outside the widest limits; return the footnote's sentence.

    Labels sit beside their points and are nudged up (above the funnel) or down (below)
    until they no longer overlap a label already placed; near the right edge they sit to
    the left of the point.
    """
    _require(outliers, ["icb_code", "n_rated", "share", "position", "level"], "outliers")
    out = outliers.filter(pl.col("level") >= widest - 1e-12).sort("share", descending=True)
    fig = ax.figure
    fig.canvas.draw()  # fix the limits, so data -> display positions hold
    to_pt = 72.0 / fig.dpi
    x_max = ax.transData.transform((ax.get_xlim()[1], 0))[0] * to_pt
    size, placed = 6.5, []
    for r in out.iter_rows(named=True):
        name = short_icb_name(r.get("icb_name") or r["icb_code"])
        px, py = (v * to_pt for v in ax.transData.transform((r["n_rated"], r["share"])))
        width, height = 0.55 * size * len(name), 1.25 * size
        left = px + 5 + width > x_max
        dx = -5.0 - width if left else 5.0
        step = height if r["position"] == "above" else -height
        dy = 2.0 if step > 0 else -2.0 - height
        for _ in range(8):
            box = (px + dx, py + dy, px + dx + width, py + dy + height)
            if not any(_overlap(box, b) for b in placed):
                break
            dy += step
        placed.append(box)
        ax.annotate(
            name,
            (r["n_rated"], r["share"]),
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=size,
            color=INK,
            va="bottom",
            ha="left",
            arrowprops={"arrowstyle": "-", "color": MUTED, "lw": 0.5} if abs(dy) > height else None,
        )
    level = f"{widest:.1%}".replace(".0%", "%")
    return f"Named: the {out.height} ICSs outside the {level} limits."


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


__all__ = ["funnel"]
