"""Charts of NHS Oversight Framework (NOF) rule scenarios (lower is better).

Every function takes frames, draws on ``ax`` (a new figure when None) and returns the
Axes; nothing is computed here beyond selecting rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from ics_model.plot.style import (
    CATEGORICAL,
    INK,
    MUTED,
    Vintages,
    add_footnote,
    frame_vintages,
    new_axes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_SEGMENTS = (1, 2, 3, 4)
_MODELLED = "Modelled: a rule NHS England has not adopted, applied to published NOF scores."
_SCALE = " NOF segments: 1 = best, 4 = worst (lower is better)."


def nof_scenario_sweep(
    sweep: pl.DataFrame,
    *,
    current: float | None = None,
    current_label: str = "scenario value",
    value_label: str = "swept value",
    title: str | None = None,
    footnote: Vintages = None,
    ax: Axes | None = None,
) -> Axes:
    """Trusts in each NOF segment, and trusts whose segment changes, as a rule value moves.

    Parameters
    ----------
    sweep : the national rows of a NOF scenario sweep (``icb_code == "ENGLAND"``, or a
        frame without ``icb_code``): ``value``, ``n_segment_1_after`` ...
        ``n_segment_4_after``, ``n_changed`` (drawn dashed, in black).
    current : the value in the scenario (or the rule in force), marked with a vertical line.
    current_label : its label (e.g. "rule in force").
    value_label : what the swept value is, for the axis label.
    title : default "Trusts per NOF segment as the rule moves (modelled scenario; 1 = best)".
    footnote : data vintages.
    ax : default a new 7 x 4.5 inch figure.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.ticker import MaxNLocator

    need = ["value", "n_changed", *(f"n_segment_{s}_after" for s in _SEGMENTS)]
    missing = [c for c in need if c not in sweep.columns]
    if missing:
        raise ValueError(f"nof_scenario_sweep needs columns {missing}")
    frame = sweep
    if "icb_code" in frame.columns:
        frame = frame.filter(pl.col("icb_code") == "ENGLAND")
    frame = frame.sort("value")
    if frame.is_empty():
        raise ValueError("nof_scenario_sweep: no national (ENGLAND) rows to draw")
    ax = new_axes(ax, (7.0, 4.5))
    x = frame["value"].to_numpy()
    style = "-o" if frame.height <= 12 else "-"  # few values (e.g. caps 1-4): mark them
    for i, s in enumerate(_SEGMENTS):
        ax.plot(
            x,
            frame[f"n_segment_{s}_after"].to_numpy(),
            style,
            ms=3,
            color=CATEGORICAL[i % len(CATEGORICAL)],
            lw=1.6,
            label=f"segment {s}",
        )
    ax.plot(x, frame["n_changed"].to_numpy(), "--", color=INK, lw=1.2, label="segment changed")
    if current is not None:
        ax.axvline(current, color=MUTED, lw=0.8, ls=":")
        ax.annotate(
            current_label,
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
    ax.set_xlabel(value_label)
    ax.set_ylabel("NHS trusts (count)")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    default = "Trusts per NOF segment as the rule moves\n(modelled scenario; segment 1 = best)"
    ax.set_title(title or default, fontsize=11, color=INK)
    vintages = footnote if footnote is not None else frame_vintages(frame)
    said = "lower is better" in " ".join(
        [vintages] if isinstance(vintages, str) else vintages or []
    )
    add_footnote(ax, vintages, modelled=False, note=_MODELLED if said else _MODELLED + _SCALE)
    return ax


__all__ = ["nof_scenario_sweep"]
