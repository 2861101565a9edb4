"""Charts of ICS views, composite ranks, rule scenarios and inequality.

Every function takes frames, draws on ``ax`` (a new figure when None) and returns the
axes. None computes a statistic: ranks, intervals, slopes and control limits arrive in
the frames. Dividing counts by their
total for a stacked bar, or placing quintiles at their cumulative mid-points on an axis,
is drawing, and is done here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ics_model.funnel import select_view_rows
from ics_model.plot.style import (
    CATEGORICAL,
    CHANGE_COLOURS,
    HIGHLIGHT,
    HIGHLIGHT_BAND,
    INK,
    MUTED,
    NO_DATA_COLOUR,
    NO_DATA_EDGE,
    NO_DATA_HATCH,
    NOT_RATED,
    RATING_COLOURS,
    RATING_COUNT_COLUMNS,
    RATING_ORDER,
    Vintages,
    add_footnote,
    frame_vintages,
    ics_labels,
    new_axes,
    sector_label,
    select_rows,
    short_icb_name,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

_TITLE = {"fontsize": 11, "color": INK}
_NOTE = {"fontsize": 6.5, "va": "center", "color": MUTED}


def _require(frame: pl.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {missing}; it has {frame.columns}")


def _require_label(frame: pl.DataFrame, what: str) -> None:
    if "icb_code" not in frame.columns and "icb_name" not in frame.columns:
        raise ValueError(f"{what} needs an icb_code or icb_name column")


def _height(n_rows: int) -> float:
    """Figure height (inches) for a chart with one row per ICS: 42 rows -> about 10."""
    return max(3.5, 0.2 * n_rows + 1.8)


def _legend_above(ax: Axes, handles=None, ncol: int = 4) -> None:
    """Draw a one-row legend between the title and the axes (give the title ``pad=22``)."""
    kwargs = {"handles": handles} if handles is not None else {}
    ax.legend(
        **kwargs,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=ncol,
        fontsize=7,
        frameon=False,
        handlelength=1.8,
        columnspacing=1.2,
    )


def _ics_rows_axis(
    ax: Axes,
    y: np.ndarray,
    labels: list[str],
    codes: list[str] | None = None,
    highlight: Sequence[str] = (),
    selectable: bool = False,
) -> None:
    """One labelled row per ICS on the y axis (row ``y[i]`` is ICS ``labels[i]``).

    Rows whose code is in ``highlight`` get a tinted band and a bold, coloured label. With
    ``selectable``, every row also gets an outline tagged ``gid = select_gid(code)``: an
    HTML page shows the outline of the system its reader picks (:mod:`ics_model.report_page`).
    """
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_ylabel("Integrated care system")
    if selectable and codes is not None:
        select_rows(ax, y, codes)
    chosen = {c.upper() for c in highlight}
    if not chosen or codes is None:
        return
    for yi, code, tick in zip(y, codes, ax.get_yticklabels(), strict=True):
        if str(code).upper() in chosen:
            ax.axhspan(yi - 0.5, yi + 0.5, color=HIGHLIGHT_BAND, zorder=0, lw=0)
            tick.set_fontweight("bold")
            tick.set_color(HIGHLIGHT)


def _hide_spines(ax: Axes, sides: tuple[str, ...] = ("top", "right")) -> None:
    for side in sides:
        ax.spines[side].set_visible(False)


def _finish(
    ax: Axes,
    title: str,
    footnote: Vintages,
    frame: pl.DataFrame,
    *,
    pad: float | None = None,
    note: str | None = None,
) -> Axes:
    """Title the axes and write the footnote (default: the vintages of ``frame``)."""
    ax.set_title(title, pad=pad, **_TITLE)
    add_footnote(ax, footnote if footnote is not None else frame_vintages(frame), note=note)
    return ax


def _percent_axis(axis) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0, decimals=None))


def rating_distribution(
    view: pl.DataFrame,
    *,
    sector: str = "nhs_trust",
    key_question: str = "Overall",
    order_by: str = "share_good_or_outstanding",
    include_not_rated: bool = False,
    title: str | None = None,
    footnote: Vintages = None,
    highlight: Sequence[str] = (),
    selectable: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Stacked horizontal bars: each ICS's providers by rating, in CQC order and colours.

    Parameters
    ----------
    view : the ICS view (:data:`ics_model.views.ICS_VIEW`): ``icb_code``, ``icb_name``,
        ``sector``, ``key_question``, ``n_providers``, ``n_rated``, ``n_outstanding``,
        ``n_good``, ``n_requires_improvement``, ``n_inadequate`` (and ``order_by``). Bar
        lengths are the counts over ``n_rated`` (over ``n_providers`` with
        ``include_not_rated``).
    sector, key_question : the rows to draw.
    order_by : a column of the view; the largest is at the top (``icb_name`` and
        ``icb_code`` sort alphabetically). Ties keep alphabetical order.
    include_not_rated : add a grey "not rated" segment (bars are then shares of all
        placed providers).
    title : default "<sector>: CQC <key question> ratings by ICS (modelled ICS view)".
    footnote : data vintages; default the view's ``ratings_vintage``.
    highlight : ICB codes to pick out (e.g. yours and its peers): a tinted row, bold label.
    selectable : also draw every row's outline, tagged for a page's ICB selector
        (:func:`~ics_model.plot.style.select_gid`).
    ax : default a new figure 8 inches wide, about 10 high for 42 ICSs.

    Returns
    -------
    matplotlib.axes.Axes
    """
    counts = list(RATING_COUNT_COLUMNS.values())
    _require(
        view, ["icb_code", "sector", "key_question", "n_providers", "n_rated", *counts], "view"
    )
    rows = select_view_rows(view, sector, key_question)
    _require(rows, [order_by], "order_by")
    label_col = "icb_name" if "icb_name" in rows.columns else "icb_code"
    alphabetical = order_by in ("icb_name", "icb_code")
    rows = rows.sort([order_by, label_col], descending=[not alphabetical, False], nulls_last=True)
    labels = ics_labels(rows)
    y = np.arange(rows.height)[::-1]
    denom_col = "n_providers" if include_not_rated else "n_rated"
    denom = rows[denom_col].to_numpy().astype(float)
    has = denom > 0
    safe = np.where(has, denom, 1.0)
    ax = new_axes(ax, (8.0, _height(rows.height)))
    left = np.zeros(rows.height)
    segments = [(r, rows[RATING_COUNT_COLUMNS[r]].to_numpy().astype(float)) for r in RATING_ORDER]
    if include_not_rated:
        segments.append((NOT_RATED, (rows["n_providers"] - rows["n_rated"]).to_numpy()))
    for rating, n in segments:
        width = np.where(has, n / safe, 0.0)
        ax.barh(y, width, left=left, height=0.8, color=RATING_COLOURS[rating], label=rating)
        left += width
    if (~has).any():
        ax.barh(
            y[~has],
            np.ones(int((~has).sum())),
            height=0.8,
            color=NO_DATA_COLOUR,
            edgecolor=NO_DATA_EDGE,
            hatch=NO_DATA_HATCH,
            linewidth=0.3,
            label="no rated providers" if not include_not_rated else "no providers",
        )
    _ics_rows_axis(ax, y, labels, rows["icb_code"].to_list(), highlight, selectable)
    ax.set_xlim(0, 1)
    _percent_axis(ax.xaxis)
    what = "placed" if include_not_rated else "rated"
    ax.set_xlabel(f"Share of {what} {sector_label(sector)} in the ICS (%)")
    trans = ax.get_yaxis_transform()
    for yi, n in zip(y, rows[denom_col].to_list(), strict=True):
        ax.text(1.01, yi, f"{n}", transform=trans, va="center", fontsize=6, color=MUTED)
    ax.text(1.01, rows.height - 0.4, f"n {what}", transform=trans, va="bottom", fontsize=6)
    _legend_above(ax, ncol=6)
    _hide_spines(ax)
    default = f"{sector_label(sector)}: CQC {key_question} ratings by ICS (modelled ICS view)"
    return _finish(ax, title or default, footnote, rows, pad=22)


def caterpillar(
    uncertainty: pl.DataFrame,
    *,
    title: str | None = None,
    footnote: Vintages = None,
    xlabel: str = "Composite rank (1 = best)",
    highlight: Sequence[str] = (),
    selectable: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Composite ranks with their 5-95% uncertainty intervals, best rank at the top.

    Parameters
    ----------
    uncertainty : one row per ICS: ``icb_code`` and/or ``icb_name`` (labels),
        ``rank_median``, ``rank_p05``, ``rank_p95`` (rank 1 = best) and optionally
        ``rank`` (the deterministic rank, drawn as an open diamond). Rows are drawn in
        order of ``rank_median``, then ``rank``.
    title : default "Composite rank of ICSs (modelled)" over "median and 5–95%
        uncertainty interval".
    footnote : data vintages; default the frame's ``vintage`` column, if any.
    xlabel : what the rank ranks (e.g. a NOF league table's "1 = lowest mean score").
    highlight : ICB codes to pick out (needs ``icb_code``): a tinted row, bold label.
    selectable : also draw every row's outline, tagged for a page's ICB selector
        (:func:`~ics_model.plot.style.select_gid`).
    ax : default a new figure 7 inches wide, about 10 high for 42 ICSs.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.lines import Line2D

    _require(uncertainty, ["rank_median", "rank_p05", "rank_p95"], "caterpillar")
    _require_label(uncertainty, "caterpillar")
    has_rank = "rank" in uncertainty.columns
    keys = ["rank_median", *(["rank"] if has_rank else [])]
    frame = uncertainty.sort(keys, nulls_last=True)
    labels = ics_labels(frame)
    y = np.arange(frame.height)[::-1]
    ax = new_axes(ax, (7.0, _height(frame.height)))
    blue = CHANGE_COLOURS["better"]
    ax.hlines(y, frame["rank_p05"], frame["rank_p95"], color=blue, linewidth=2.0, alpha=0.6)
    ax.plot(frame["rank_median"].to_numpy(), y, "o", color=blue, ms=4)
    handles = [
        Line2D([], [], color=blue, lw=2, alpha=0.6, label="5–95% interval"),
        Line2D([], [], marker="o", ls="", color=blue, label="median rank"),
    ]
    if has_rank:
        ax.plot(frame["rank"].to_numpy(), y, "D", mfc="none", mec=INK, ms=4, mew=0.8)
        handles.append(
            Line2D([], [], marker="D", ls="", mfc="none", mec=INK, label="rank (point estimate)")
        )
    n = int(max(frame.height, np.nanmax(frame["rank_p95"].to_numpy())))
    ax.set_xlim(0.5, n + 0.5)
    codes = frame["icb_code"].to_list() if "icb_code" in frame.columns else None
    _ics_rows_axis(ax, y, labels, codes, highlight, selectable)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    _legend_above(ax, handles, ncol=3)
    default = "Composite rank of ICSs (modelled)\nmedian and 5–95% uncertainty interval"
    return _finish(ax, title or default, footnote, uncertainty, pad=22)


def rank_shift(
    comparison: pl.DataFrame,
    *,
    label_a: str,
    label_b: str,
    title: str | None = None,
    footnote: Vintages = None,
    ax: Axes | None = None,
) -> Axes:
    """Slope chart of each ICS's rank under two methods or rule sets (rank 1 = best).

    Parameters
    ----------
    comparison : one row per ICS: ``icb_code`` and/or ``icb_name`` (labels), ``rank_a``
        and ``rank_b`` (rank 1 = best). Lines are coloured by whether the rank under B is
        better, worse or the same.
    label_a, label_b : names of the two rankings (axis labels).
    title : default "Modelled ICS ranks: <label_a> vs <label_b>".
    footnote : data vintages.
    ax : default a new figure 8 inches wide, about 10 high for 42 ICSs.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.lines import Line2D

    _require(comparison, ["rank_a", "rank_b"], "rank_shift")
    _require_label(comparison, "rank_shift")
    frame = comparison.sort("rank_a", "rank_b", nulls_last=True)
    labels = ics_labels(frame)
    ra = frame["rank_a"].to_numpy().astype(float)
    rb = frame["rank_b"].to_numpy().astype(float)
    ax = new_axes(ax, (8.0, _height(frame.height)))
    for a, b, name in zip(ra, rb, labels, strict=True):
        kind = "better" if b < a else "worse" if b > a else "same"
        ax.plot([0, 1], [a, b], color=CHANGE_COLOURS[kind], lw=1.2, marker="o", ms=3)
        ax.text(-0.03, a, f"{name}  {a:g}", ha="right", va="center", fontsize=6.5)
        ax.text(1.03, b, f"{b:g}  {name}", ha="left", va="center", fontsize=6.5)
    n = float(np.nanmax(np.concatenate([ra, rb]))) if frame.height else 1.0
    ax.set_ylim(n + 0.8, 0.2)
    ax.set_xlim(-0.9, 1.9)
    ax.set_xticks([0, 1], [label_a, label_b], fontsize=9)
    ax.set_xlabel("Ranking compared")
    ax.set_yticks([])
    ax.set_ylabel("Rank (1 = best)")
    _hide_spines(ax, ("top", "right", "left"))
    handles = [
        Line2D([], [], color=CHANGE_COLOURS[k], lw=1.5, label=f"{lab} under {label_b}")
        for k, lab in (("better", "better rank"), ("worse", "worse rank"), ("same", "same rank"))
    ]
    _legend_above(ax, handles, ncol=3)
    default = f"Modelled ICS ranks: {label_a} vs {label_b}"
    return _finish(ax, title or default, footnote, comparison, pad=22)


def threshold_sweep(
    sweep: pl.DataFrame,
    *,
    threshold_unit: str = "% of the maximum score",
    current: float | None = None,
    title: str | None = None,
    footnote: Vintages = None,
    ax: Axes | None = None,
) -> Axes:
    """Outstanding ratings lost as the Outstanding threshold of a rule is moved.

    Parameters
    ----------
    sweep : one row per threshold (per ``level``, if given): ``threshold``, ``n_lost``
        (ratings that are no longer Outstanding) and optionally ``n_not_assessable``
        (drawn dashed) and ``level`` (e.g. ``"trust"``, ``"ICS"``: one colour each).
    threshold_unit : unit of ``threshold``, for the axis label.
    current : the threshold in force, marked with a vertical line.
    title : default "Outstanding ratings lost as the threshold moves (modelled scenario)".
    footnote : data vintages.
    ax : default a new 7 x 4.5 inch figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.ticker import MaxNLocator

    _require(sweep, ["threshold", "n_lost"], "threshold_sweep")
    has_level = "level" in sweep.columns
    has_na = "n_not_assessable" in sweep.columns
    groups = (
        sweep.partition_by("level", maintain_order=True, as_dict=False) if has_level else [sweep]
    )
    ax = new_axes(ax, (7.0, 4.5))
    for i, part in enumerate(groups):
        part = part.sort("threshold")
        colour = CATEGORICAL[i % len(CATEGORICAL)]
        name = f" ({part['level'][0]})" if has_level else ""
        x = part["threshold"].to_numpy()
        ax.plot(x, part["n_lost"].to_numpy(), "-o", color=colour, ms=3, label=f"lost{name}")
        if has_na:
            ax.plot(
                x,
                part["n_not_assessable"].to_numpy(),
                "--",
                color=colour,
                lw=1.0,
                label=f"not assessable{name}",
            )
    if current is not None:
        ax.axvline(current, color=MUTED, lw=0.8, ls=":")
        ax.annotate(
            "current rule",
            (current, 1.0),
            xycoords=ax.get_xaxis_transform(),
            xytext=(3, -3),
            textcoords="offset points",
            va="top",
            fontsize=7,
            color=MUTED,
        )
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"Outstanding threshold ({threshold_unit})")
    ax.set_ylabel("Outstanding ratings lost (count)")
    _hide_spines(ax)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    default = "Outstanding ratings lost as the threshold moves (modelled scenario)"
    return _finish(ax, title or default, footnote, sweep)


def _one_row(sii_row: pl.DataFrame | Mapping[str, Any], icb_code: str) -> dict[str, Any]:
    if isinstance(sii_row, pl.DataFrame):
        rows = sii_row
        if "icb_code" in rows.columns:
            rows = rows.filter(pl.col("icb_code") == icb_code)
        if rows.height != 1:
            raise ValueError(f"sii_row must give one row for {icb_code}, got {rows.height}")
        row = rows.row(0, named=True)
    else:
        row = dict(sii_row)
    missing = [c for c in ("sii", "intercept") if row.get(c) is None]
    if missing:
        raise ValueError(f"sii_row needs {missing}")
    return row


def sii_plot(
    quintile_table: pl.DataFrame,
    sii_row: pl.DataFrame | Mapping[str, Any],
    *,
    icb_code: str,
    value: str = "share",
    value_label: str = "Share of GP practices rated Good or Outstanding",
    title: str | None = None,
    footnote: Vintages = None,
    ax: Axes | None = None,
) -> Axes:
    """Plot a value by deprivation quintile with the fitted slope-index-of-inequality line.

    Each quintile is drawn at its relative rank: the mid-point of its cumulative share of
    ``n_rated`` (quintile 1 = most deprived at the left), as in the SII fit
    (:mod:`ics_model.metrics.sii`). A ``rank`` column, when present, is used as given
    instead. The line is ``intercept + sii * rank`` over ranks 0..1 (SII with multiplier
    1), so it starts at the fitted value for the most deprived end.

    Parameters
    ----------
    quintile_table : one row per quintile (of one ICS, or of several with ``icb_code``):
        ``imd_quintile`` (1 = most deprived), ``value`` (a share in [0, 1]), ``n_rated``,
        optionally ``lower``/``upper`` or ``<value>_lower``/``<value>_upper`` (95%
        intervals, drawn as error bars), ``rank``, ``icb_name``.
        :func:`ics_model.metrics.system.gp_quintile_table` gives this with
        ``value="share_go"``.
    sii_row : the ICS's ``sii`` and ``intercept`` (a mapping, or a frame with one row, or
        one per ``icb_code``), as ``slope_index(..., intercept=True)`` returns; optional
        ``sii_lower_95_0cl``/``sii_upper_95_0cl`` are written beside the SII.
    icb_code : the ICS to draw.
    value : the share column.
    value_label : what the share is (y-axis label; shown in %).
    title : default "Slope index of inequality: <ICS> (modelled)".
    footnote : data vintages.
    ax : default a new 7 x 4.5 inch figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _require(quintile_table, ["imd_quintile", value, "n_rated"], "quintile_table")
    table = quintile_table
    if "icb_code" in table.columns:
        table = table.filter(pl.col("icb_code") == icb_code)
    if table.is_empty():
        raise ValueError(f"quintile_table has no rows for {icb_code}")
    table = table.sort("imd_quintile")
    row = _one_row(sii_row, icb_code)
    if "rank" in table.columns:
        rank = table["rank"].to_numpy().astype(float)
    else:
        n = table["n_rated"].to_numpy().astype(float)
        share = n / n.sum()
        rank = np.cumsum(share) - share / 2
    y = table[value].to_numpy().astype(float)
    lo_col = next((c for c in (f"{value}_lower", "lower") if c in table.columns), None)
    hi_col = next((c for c in (f"{value}_upper", "upper") if c in table.columns), None)
    ax = new_axes(ax, (7.0, 4.5))
    if lo_col and hi_col:
        err = np.vstack([y - table[lo_col].to_numpy(), table[hi_col].to_numpy() - y])
        ax.errorbar(
            rank,
            y,
            yerr=err,
            fmt="o",
            color=CHANGE_COLOURS["better"],
            ecolor=MUTED,
            elinewidth=1,
            capsize=3,
            label="quintile share (95% interval)",
        )
    else:
        ax.plot(rank, y, "o", color=CHANGE_COLOURS["better"], label="quintile share")
    for q, r, yi, ni in zip(
        table["imd_quintile"].to_list(), rank, y, table["n_rated"].to_list(), strict=True
    ):
        label = f"Q{q}\nn={ni}"
        ax.annotate(label, (r, yi), xytext=(6, 0), textcoords="offset points", **_NOTE)
    sii, icpt = float(row["sii"]), float(row["intercept"])
    text = f"SII = {sii:+.3f}"
    lo, hi = row.get("sii_lower_95_0cl"), row.get("sii_upper_95_0cl")
    if lo is not None and hi is not None:
        text += f" (95% limits {lo:+.3f} to {hi:+.3f})"
    ax.plot([0, 1], [icpt, icpt + sii], "-", color=INK, lw=1.2, label=f"fitted line: {text}")
    ax.set_xlim(0, 1)
    _percent_axis(ax.yaxis)
    ax.set_xlabel("Relative deprivation rank (0 = most deprived, 1 = least; share of practices)")
    ax.set_ylabel(f"{value_label} (%)")
    _hide_spines(ax)
    ax.legend(fontsize=7, frameon=False, loc="best")
    name = (
        short_icb_name(table["icb_name"][0])
        if "icb_name" in table.columns and table["icb_name"][0] is not None
        else icb_code
    )
    default = f"Slope index of inequality: {name} (modelled)"
    return _finish(ax, title or default, footnote, quintile_table)


__all__ = [
    "caterpillar",
    "rank_shift",
    "rating_distribution",
    "sii_plot",
    "threshold_sweep",
]
