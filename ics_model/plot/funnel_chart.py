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
    select_gid,
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
    selectable: bool = False,
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
    selectable : also draw, for every ICS, a ring and its name tagged for a page's ICB
        selector (:func:`~ics_model.plot.style.select_gid`).
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
    named: list[tuple[float, float, str, bool]] = []
    picked = set(chosen["icb_code"].to_list())
    if outliers is not None:
        _require(outliers, ["icb_code", "n_rated", "share", "position", "level"], "outliers")
        widest = float(limits["level"].max())
        out = outliers.filter(pl.col("level") >= widest - 1e-12).sort("share", descending=True)
        named = [
            (r["n_rated"], r["share"], short_icb_name(r.get("icb_name") or r["icb_code"]), up)
            for r in out.iter_rows(named=True)
            if r["icb_code"] not in picked
            for up in [r["position"] == "above"]
        ]
        level = f"{widest:.1%}".replace(".0%", "%")
        notes.append(f"Named: the {out.height} ICSs outside the {level} limits.")
    ax = _finish(ax, title or default, footnote, rows, pad=20, note=" ".join(notes) or None)
    # labels last: the title and footnote fix the axes' size (constrained layout) first
    boxes: list = []  # the labels placed so far (display boxes), so none overlaps another
    _place_labels(ax, named, boxes)
    _place_labels(
        ax,
        [
            (r["n_rated"], r[share], short_icb_name(r.get("icb_name") or r["icb_code"]), False)
            for r in chosen.iter_rows(named=True)
        ],
        boxes,
        color=HIGHLIGHT,
        weight="bold",
    )
    if selectable:
        _select_points(ax, placed, share)
    return ax


def _select_points(ax: Axes, placed: pl.DataFrame, share: str) -> None:
    """Draw a ring and a name for every ICS, tagged :func:`select_gid` (shown one at a time)."""
    right = ax.get_xlim()[1] * 0.7
    for r in placed.iter_rows(named=True):
        gid = select_gid(r["icb_code"])
        x, y = r["n_rated"], r[share]
        ax.plot([x], [y], "o", ms=11, mfc="none", mec=HIGHLIGHT, mew=2.0, zorder=5, gid=gid)
        left = x > right
        ann = ax.annotate(
            short_icb_name(r.get("icb_name") or r["icb_code"]),
            (x, y),
            xytext=(-8.0 if left else 8.0, 8.0),
            textcoords="offset points",
            ha="right" if left else "left",
            fontsize=7.5,
            fontweight="bold",
            color=HIGHLIGHT,
            bbox={"fc": "white", "ec": "none", "alpha": 0.85, "pad": 1.0},
            zorder=6,
            gid=gid,
        )
        ann.set_in_layout(False)


def _place_labels(
    ax: Axes,
    points: list[tuple[float, float, str, bool]],
    boxes: list,
    *,
    color: str = INK,
    weight: str = "normal",
) -> None:
    """Write ``(x, y, name, up)`` labels beside their points, none over another.

    A label sits to the right of its point (to the left when it would leave the axes),
    above it when ``up``, and is nudged further that way (the other way at the axis)
    until its rendered box overlaps none in ``boxes``, which it then joins; a nudged
    label gets a leader line.
    """
    from matplotlib.text import Text

    if not points:
        return
    fig = ax.figure
    fig.canvas.draw()  # fix the limits, so data -> display positions hold
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    size = 6.5
    style = {"fontsize": size, "color": color, "fontweight": weight, "va": "bottom", "ha": "left"}
    for x, y, name, up in points:
        ann = ax.annotate(name, (x, y), xytext=(5.0, 2.0), textcoords="offset points", **style)
        ann.set_in_layout(False)  # labels never resize the axes they were placed on
        ann.update_positions(renderer)
        width_pt = Text.get_window_extent(ann, renderer).width * 72.0 / fig.dpi
        height = 1.3 * size
        px = ax.transData.transform((x, y))[0]
        dx = -5.0 - width_pt if px + (5.0 + width_pt) * fig.dpi / 72.0 > frame.x1 else 5.0
        step = height if up else -height
        dy = start = 2.0 if up else -2.0 - height
        for _ in range(16):
            ann.xyann = (dx, dy)
            ann.update_positions(renderer)  # place the text where xyann now says
            box = Text.get_window_extent(ann, renderer)
            if box.y0 < frame.y0 and step < 0:  # below the axis: go above instead
                step, dy = height, 2.0
                start = dy
                continue
            if not any(box.overlaps(b) for b in boxes):
                break
            dy += step
        boxes.append(box)
        if dy != start:  # moved away from its point: draw it again with a leader line
            ann.remove()
            ax.annotate(
                name,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                arrowprops={"arrowstyle": "-", "color": MUTED, "lw": 0.5},
                **style,
            ).set_in_layout(False)


__all__ = ["funnel"]
