"""The simulated power curve of the collaboration association (``power_curve.png``).

:func:`power_curve` takes the frame of
:func:`~ics_model.effects.power.simulate_power` (``effect_power.csv``) and the minimum
detectable effect it reported, draws, and returns the Axes; nothing is computed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ics_model.plot.style import CATEGORICAL, INK, MUTED, Vintages, add_footnote, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_NOTE = (
    "Simulated: outcomes drawn from the null model fitted to the real data plus a planted "
    "odds ratio, on the real ICSs, controls, sample sizes and exposure values; bars are 95% "
    "Monte Carlo intervals. The curve describes the design, not the real association."
)


def power_curve(
    power: pl.DataFrame,
    *,
    mde: float | None = None,
    target_power: float = 0.8,
    nominal_coverage: float | None = 0.95,
    title: str | None = None,
    footnote: Vintages = None,
    note: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw simulated power (and interval coverage) against the planted odds ratio per SD.

    Parameters
    ----------
    power : ``odds_ratio`` and ``power``; drawn as error bars when ``power_lower`` and
        ``power_upper`` are present; ``coverage`` (with ``coverage_lower``/``_upper``)
        drawn dashed when present.
    mde : the minimum detectable odds ratio reported with the frame, marked with a
        vertical line; None writes that the target power is not reached.
    target_power : the power the MDE is read at, marked with a horizontal line.
    nominal_coverage : the intervals' nominal level, marked when coverage is drawn.
    title : default "Power to detect an association (simulated on the real design)".
    footnote : data vintages.
    note : one more footnote line (e.g. the specification and number of simulations).
    ax : default a new 7 x 4.5 inch figure.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        ``odds_ratio`` or ``power`` missing, or no rows.
    """
    from matplotlib.ticker import FixedLocator, NullLocator

    missing = [c for c in ("odds_ratio", "power") if c not in power.columns]
    if missing:
        raise ValueError(f"power_curve needs columns {missing}")
    frame = power.sort("odds_ratio")
    if frame.is_empty():
        raise ValueError("power_curve: no rows to draw")
    ax = new_axes(ax, (7.0, 4.5))
    x = frame["odds_ratio"].to_numpy()
    series = [("power", "power (rejects OR = 1)", "-o", CATEGORICAL[0])]
    if "coverage" in frame.columns:
        level = "" if nominal_coverage is None else f"{nominal_coverage:.0%} "
        series.append(("coverage", f"coverage of the {level}interval", "--s", CATEGORICAL[1]))
    for col, label, style, colour in series:
        y = frame[col].cast(pl.Float64).fill_null(np.nan).to_numpy()
        lo, hi = f"{col}_lower", f"{col}_upper"
        if {lo, hi} <= set(frame.columns):
            err = np.vstack(
                [
                    y - frame[lo].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                    frame[hi].cast(pl.Float64).fill_null(np.nan).to_numpy() - y,
                ]
            )
            ax.errorbar(
                x, y, yerr=err, fmt=style, ms=4, lw=1.6, capsize=3, color=colour, label=label
            )
        else:
            ax.plot(x, y, style, ms=4, lw=1.6, color=colour, label=label)
    ax.axhline(target_power, color=MUTED, lw=0.8, ls=":")
    ax.annotate(
        f"{target_power:.0%} power",
        (0.0, target_power),
        xycoords=ax.get_yaxis_transform(),
        xytext=(3, 2),
        textcoords="offset points",
        fontsize=7,
        color=MUTED,
    )
    if nominal_coverage is not None and len(series) > 1:
        ax.axhline(nominal_coverage, color=CATEGORICAL[1], lw=0.6, ls=":")
    if mde is not None:
        ax.axvline(mde, color=INK, lw=0.9, ls="--")
        text = f"minimum detectable OR {mde:.2f}"
    else:
        text = f"{target_power:.0%} power not reached by OR {x.max():g}"
    ax.annotate(
        text,
        (mde if mde is not None else x.max(), 0.02),
        xycoords=ax.get_xaxis_transform(),
        xytext=(3 if mde is not None else -3, 0),
        textcoords="offset points",
        ha="left" if mde is not None else "right",
        fontsize=7,
        color=INK,
    )
    if np.all(x > 0):
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(x))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{v:g}" for v in x])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("odds ratio per SD of the exposure (planted)")
    ax.set_ylabel("share of simulations")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(fontsize=7, frameon=False, loc="center right")
    default = "Power to detect an association\n(simulated on the real design)"
    ax.set_title(title or default, fontsize=11, color=INK)
    add_footnote(ax, footnote, modelled=False, note=_NOTE if note is None else f"{_NOTE} {note}")
    return ax


__all__ = ["power_curve"]
