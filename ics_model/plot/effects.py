"""Charts of the collaboration association: the specification curve with its placebo.

Every function takes frames, draws on ``ax`` (a new figure when None) and returns the
Axes; nothing is computed here beyond ordering rows and clipping unbounded intervals to
the drawing area. The estimates are associations, not causal effects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import polars as pl

from ics_model.plot.style import CATEGORICAL, INK, MUTED, Vintages, add_footnote

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

#: colour and label of each period of the curve
PERIOD_STYLE: Final[dict[str, tuple[str, str]]] = {
    "post_ics": (CATEGORICAL[2], "ratings after ICSs began (July 2022)"),
    "pre_ics": (CATEGORICAL[1], "ratings before ICSs began (placebo)"),
}
#: the specification's dimensions shown in the indicator panel, top to bottom
DIMENSIONS: Final[tuple[str, ...]] = ("population", "outcome", "exposure", "controls", "model")
_NOTE: Final = (
    "Association, not causal: odds ratios per SD of a modelled exposure (a proxy of "
    "collaboration, not collaboration itself), with 95% intervals; filled markers are "
    "significant at 5%."
)


def _order(frame: pl.DataFrame) -> dict[int, int]:
    """Return the position of each specification: by post-ICS estimate, then pre-ICS-only ones."""
    post = frame.filter(pl.col("period") == "post_ics").sort("estimate", "spec_id")
    ids = post["spec_id"].to_list()
    rest = (
        frame.filter(~pl.col("spec_id").is_in(ids) & (pl.col("period") == "pre_ics"))
        .sort("estimate", "spec_id")["spec_id"]
        .to_list()
    )
    return {s: i for i, s in enumerate(dict.fromkeys(ids + rest))}


def _limits(frame: pl.DataFrame) -> tuple[float, float]:
    values = np.concatenate(
        [frame[c].to_numpy().astype(float) for c in ("estimate", "ci_lower", "ci_upper")]
    )
    finite = values[np.isfinite(values) & (values > 0)]
    lo, hi = float(finite.min()), float(finite.max())
    lo, hi = min(lo, 1.0), max(hi, 1.0)
    return lo / 1.25, hi * 1.25


def specification_curve(
    curve: pl.DataFrame,
    *,
    ax: Axes | None = None,
    indicators_ax: Axes | None = None,
    dimensions: Sequence[str] = DIMENSIONS,
    title: str | None = None,
    footnote: Vintages = None,
) -> Axes:
    """Draw the specification curve: estimates by specification, and what each one is.

    Upper panel: each specification's odds ratio (log scale) and 95% interval, sorted by
    its post-ICS estimate, post-ICS and pre-ICS (placebo) side by side in two colours;
    filled markers where ``significant``. Lower panel: a mark in the row of each
    dimension's value the specification uses.

    Parameters
    ----------
    curve : ``spec_id, period, estimate, ci_lower, ci_upper`` and the ``dimensions``
        columns (``significant`` optional), one row per specification x period
        (``specification_curve.csv``). Rows without an estimate are left out (said in
        the footnote).
    ax : the upper panel; default a new figure.
    indicators_ax : the lower panel; default carved out below ``ax``.
    dimensions : the columns listed in the lower panel (those present).
    title : default "Specification curve of the collaboration association".
    footnote : data vintages (e.g. the run's vintages and the exposures' vintage).

    Returns
    -------
    matplotlib.axes.Axes
        The upper panel.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    need = ["spec_id", "period", "estimate", "ci_lower", "ci_upper"]
    if missing := [c for c in need if c not in curve.columns]:
        raise ValueError(f"specification_curve needs columns {missing}")
    frame = curve.filter(pl.col("estimate").is_not_null() & (pl.col("estimate") > 0))
    if frame.is_empty():
        raise ValueError("specification_curve: no specification has an estimate to draw")
    dims = [d for d in dimensions if d in frame.columns]
    levels = [(d, v) for d in dims for v in sorted(frame[d].cast(pl.String).unique().to_list())]
    if ax is None:
        import matplotlib.pyplot as plt

        height = 3.6 + 0.17 * len(levels)
        _, (ax, indicators_ax) = plt.subplots(
            2,
            1,
            figsize=(9.0, height),
            sharex=True,
            layout="constrained",
            height_ratios=(3.6, max(0.17 * len(levels), 0.8)),
        )
    elif indicators_ax is None:
        indicators_ax = _split(ax, len(levels))
    pos = _order(frame)
    lo_lim, hi_lim = _limits(frame)
    clipped = False
    handles: list[Line2D] = []
    offset = {"post_ics": -0.15, "pre_ics": 0.15}
    for period, (colour, label) in PERIOD_STYLE.items():
        part = frame.filter(pl.col("period") == period)
        if part.is_empty():
            continue
        x = np.array([pos[s] for s in part["spec_id"]], dtype=float) + offset[period]
        est = part["estimate"].to_numpy().astype(float)
        lo = part["ci_lower"].to_numpy().astype(float)
        hi = part["ci_upper"].to_numpy().astype(float)
        unbounded = ~(np.isfinite(lo) & (lo > 0)) | ~np.isfinite(hi)
        clipped |= bool(unbounded.any())
        lo = np.where(np.isfinite(lo) & (lo > 0), lo, lo_lim)
        hi = np.where(np.isfinite(hi), hi, hi_lim)
        ax.vlines(x, lo, hi, color=colour, lw=1.0, alpha=0.8)
        sig = (
            part["significant"].fill_null(False).to_numpy().astype(bool)
            if "significant" in part.columns
            else np.ones(part.height, dtype=bool)
        )
        ax.scatter(x[sig], est[sig], s=16, color=colour, zorder=3)
        ax.scatter(x[~sig], est[~sig], s=16, facecolors="white", edgecolors=colour, zorder=3)
        handles.append(Line2D([], [], marker="o", ls="-", lw=1.0, color=colour, label=label))
    handles.append(
        Line2D([], [], marker="o", ls="", color=MUTED, mfc="white", label="not significant at 5%")
    )
    ax.axhline(1.0, color=MUTED, lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_ylim(lo_lim, hi_lim)
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("Odds ratio per SD of the exposure\n(log scale; 95% interval)")
    ax.tick_params(axis="x", labelbottom=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(handles=handles, fontsize=7, frameon=False, loc="upper left")
    ax.set_title(
        title or "Specification curve of the collaboration association (not causal)",
        fontsize=11,
        color=INK,
    )
    _indicators(indicators_ax, frame, pos, levels)
    note = _NOTE
    if clipped:
        note += " Interval ends beyond the panel (or unbounded) are drawn to its edge."
    if n_out := curve.height - frame.height:
        note += f" {n_out} specification(s) without an estimate are not drawn."
    add_footnote(ax, footnote, modelled=False, note=note)
    return ax


def _split(ax: Axes, n_levels: int) -> Axes:
    """Carve the indicator panel out of ``ax``'s place in its figure; return it."""
    spec = ax.get_subplotspec()
    ratios = (3.6, max(0.17 * n_levels, 0.8))
    if spec is None:  # an axes placed by hand: put the panel in an inset below it
        return ax.inset_axes((0.0, -0.1 - ratios[1] / ratios[0], 1.0, ratios[1] / ratios[0]))
    grid = spec.subgridspec(2, 1, height_ratios=ratios, hspace=0.05)
    ax.set_subplotspec(grid[0])
    return ax.figure.add_subplot(grid[1], sharex=ax)


def _indicators(
    ax: Axes, frame: pl.DataFrame, pos: dict[int, int], levels: list[tuple[str, str]]
) -> None:
    """Mark, for each specification, the value of each dimension it uses."""
    specs = frame.unique(subset="spec_id").sort("spec_id")
    for row, (dim, value) in enumerate(levels):
        ids = specs.filter(pl.col(dim).cast(pl.String) == value)["spec_id"].to_list()
        ax.scatter(
            [pos[s] for s in ids],
            [row] * len(ids),
            marker="s",
            s=9,
            color=INK,
            linewidths=0,
        )
    ax.set_yticks(range(len(levels)), [f"{d}: {v}" for d, v in levels], fontsize=6)
    ax.set_ylim(len(levels) - 0.5, -0.5)
    ax.set_xlim(-0.7, len(pos) - 0.3)
    ax.set_xlabel("Specification (sorted by the post-ICS estimate)")
    ax.tick_params(axis="x", labelsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    step = max(1, math.ceil(len(pos) / 20))
    ax.set_xticks(range(0, len(pos), step), [str(i + 1) for i in range(0, len(pos), step)])


__all__ = ["DIMENSIONS", "PERIOD_STYLE", "specification_curve"]
