"""One look for every figure: rating order and colours, colour maps, labels, footnotes.

Every plot in :mod:`ics_model.plot` takes its colours from here, so a rating has the same
colour on every chart. The rating colours are the four-class ColorBrewer ``RdBu`` scheme
(safe for the common forms of colour blindness, and ordered in lightness as the ratings
are ordered); "not rated" and "no data" are a neutral grey. They are this toolkit's
choice, not CQC's house colours.

The footnote helper writes data vintages and the "modelled" caveat under a figure: every
ICS figure is a modelled summary of provider ratings, and CQC has never rated ICSs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from ics_model.ratings import (
    RATING_COUNT_COLUMNS,
    RATINGS_BEST_FIRST,
    SECTOR_LABELS,
    short_icb_name,
)

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

#: Ratings from best to worst (:data:`ics_model.ratings.RATINGS_BEST_FIRST`): the order of
#: every legend and stacked bar.
RATING_ORDER: Final[tuple[str, ...]] = RATINGS_BEST_FIRST

#: Label used for providers without a rating, and its place after the four ratings.
NOT_RATED: Final = "Not rated"

#: Rating -> colour (ColorBrewer RdBu, 4 classes), plus the neutral grey for not rated.
RATING_COLOURS: Final[dict[str, str]] = {
    **dict(zip(RATINGS_BEST_FIRST, ("#0571b0", "#92c5de", "#f4a582", "#ca0020"), strict=True)),
    NOT_RATED: "#bdbdbd",
}

#: Fill, edge and hatch of an area (or bar) with no data.
NO_DATA_COLOUR: Final = "#e0e0e0"
NO_DATA_EDGE: Final = "#8c8c8c"
NO_DATA_HATCH: Final = "////"

#: Default colour maps of choropleths: sequential for one-signed values, diverging
#: (centred on 0) for signed ones. Neither carries a good/bad connotation.
SEQUENTIAL_CMAP: Final = "YlGnBu"
DIVERGING_CMAP: Final = "PuOr"

#: Lines and markers that are neither ratings nor data classes.
INK: Final = "#262626"
MUTED: Final = "#7f7f7f"
REGION_EDGE: Final = "#1a1a1a"
#: the systems a reader chose (``highlight=``): outline, marker and label colour, row band
HIGHLIGHT: Final = "#d5281b"
HIGHLIGHT_BAND: Final = "#fde9e7"
#: the prefix of the ``gid`` that tags one system's selection artists (``selectable=``)
SELECT_PREFIX: Final = "icbsel-"

#: Direction of a change in rank (rank 1 = best): up, down, unchanged.
CHANGE_COLOURS: Final[dict[str, str]] = {
    "better": "#0571b0",
    "worse": "#ca0020",
    "same": "#9e9e9e",
}

#: Categorical colours (ColorBrewer Dark2) for series such as levels of a sweep.
CATEGORICAL: Final[tuple[str, ...]] = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
)

#: Display names of the view's share columns.
SHARE_LABELS: Final[dict[str, str]] = {
    "share_outstanding": "Share rated Outstanding",
    "share_good_or_outstanding": "Share rated Good or Outstanding",
}

#: The caveat written under every figure of an ICS-level construct.
MODELLED_NOTE: Final = (
    "Modelled: ICS figures summarise provider ratings placed in ICSs; "
    "CQC has never rated ICSs and there are no official ICS ratings."
)

FOOTNOTE_FONTSIZE: Final = 7
#: Columns that hold data vintages, looked for by :func:`frame_vintages`.
VINTAGE_COLUMNS: Final[tuple[str, ...]] = ("ratings_vintage", "vintage")

Vintages = str | Sequence[str] | Mapping[str, str] | None


def sector_label(sector: str) -> str:
    """Display name of a sector (``"nhs_trust"`` -> ``"NHS trusts"``); unknown ones as given."""
    return SECTOR_LABELS.get(sector, sector.replace("_", " "))


def share_label(column: str) -> str:
    """Display name of a share column (``"share_outstanding"`` -> ``"Share rated Outstanding"``)."""
    return SHARE_LABELS.get(column, column.replace("_", " ").capitalize())


def ics_labels(frame: pl.DataFrame) -> list[str]:
    """One display label per row: the short ICB name when there is one, else the code.

    Parameters
    ----------
    frame : a polars frame with ``icb_name`` and/or ``icb_code``.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        Neither column is present.
    """
    if "icb_name" in frame.columns:
        names = frame["icb_name"].to_list()
        codes = frame["icb_code"].to_list() if "icb_code" in frame.columns else names
        return [
            short_icb_name(n) if n is not None else str(c)
            for n, c in zip(names, codes, strict=True)
        ]
    if "icb_code" in frame.columns:
        return [str(c) for c in frame["icb_code"].to_list()]
    raise ValueError("need an icb_name or icb_code column to label ICSs")


def distinct_values(frame, column: str) -> list[str]:
    """Return the distinct non-missing values of a column as sorted strings; empty if no column.

    Parameters
    ----------
    frame : a polars, pandas or geopandas frame.
    column : the column.

    Returns
    -------
    list of str
    """
    if column not in frame.columns:
        return []
    col = frame[column]
    values = col.to_list() if hasattr(col, "to_list") else list(col)
    return sorted({str(v) for v in values if v is not None and v == v})


def frame_vintages(frame, columns: Iterable[str] = VINTAGE_COLUMNS) -> list[str]:
    """Return the distinct data vintages written in a frame, sorted; empty when it has none.

    Parameters
    ----------
    frame : a polars (or pandas / geopandas) frame.
    columns : the vintage columns to look for, in order; the first present is used.

    Returns
    -------
    list of str
    """
    for col in columns:
        if col in frame.columns:
            return distinct_values(frame, col)
    return []


def footnote_text(vintages: Vintages = None, *, modelled: bool = True) -> list[str]:
    """Return the lines of a footnote: the modelled caveat and the data vintages.

    Parameters
    ----------
    vintages : one vintage, several, or a mapping of what -> vintage (e.g. a run's
        ``vintages``: sector -> description). None or empty writes no data line.
    modelled : include :data:`MODELLED_NOTE`.

    Returns
    -------
    list of str
    """
    lines = [MODELLED_NOTE] if modelled else []
    if isinstance(vintages, str):
        items = [vintages] if vintages else []
    elif isinstance(vintages, Mapping):
        items = [f"{k.replace('_', ' ')}: {v}" for k, v in vintages.items()]
    else:
        items = list(vintages or [])
    if items:
        lines.append("Data: " + "; ".join(items) + ".")
    return lines


def add_footnote(
    target: Figure | Axes,
    vintages: Vintages = None,
    *,
    modelled: bool = True,
    note: str | None = None,
) -> Text | None:
    """Write data vintages and the "modelled" caveat at the foot of a figure.

    The footnote is the figure's ``supxlabel``, left-aligned, so a figure drawn with
    ``layout="constrained"`` keeps room for it. Calling this again (for another axes
    of the same figure) adds only lines that are not there yet.

    Parameters
    ----------
    target : the figure, or an axes of it.
    vintages : see :func:`footnote_text`.
    modelled : add the modelled caveat (:data:`MODELLED_NOTE`).
    note : one more line (e.g. what was left out of the chart).

    Returns
    -------
    matplotlib.text.Text or None
        The footnote, or None when there was nothing to write.
    """
    fig = target if hasattr(target, "supxlabel") else target.figure
    new = footnote_text(vintages, modelled=modelled)
    if note:
        new.append(note)
    old = getattr(fig, "_ics_footnote_lines", [])
    lines = old + [line for line in new if line not in old]
    if not lines:
        return None
    fig._ics_footnote_lines = lines
    width = max(40, int(fig.get_figwidth() * 72 / (FOOTNOTE_FONTSIZE * 0.55)))
    text = "\n".join(textwrap.fill(line, width) for line in lines)
    return fig.supxlabel(
        text,
        x=0.01,
        ha="left",
        fontsize=FOOTNOTE_FONTSIZE,
        color=MUTED,
        linespacing=1.3,
    )


def select_gid(code: str) -> str:
    """Return the ``gid`` of the artists that show system ``code`` when a reader picks it.

    Plot functions called with ``selectable=True`` draw, for every system, the outline or
    ring that marks it, tagged with this gid; the SVG keeps the gid as an element id, and
    the report's script shows only the picked system's elements
    (:mod:`ics_model.report_page`).

    Examples
    --------
    >>> select_gid("qe1")
    'icbsel-QE1'
    """
    return SELECT_PREFIX + str(code).upper()


def select_rows(ax: Axes, y: Sequence[float], codes: Sequence[str | None]) -> None:
    """Outline each system's row (one per ``y``) across the axes, tagged :func:`select_gid`."""
    from matplotlib.patches import Rectangle

    trans = ax.get_yaxis_transform()  # x in axes fraction, y in data
    for yi, code in zip(y, codes, strict=True):
        if code is None:
            continue
        ax.add_patch(
            Rectangle(
                (-0.005, yi - 0.5),
                1.01,
                1.0,
                transform=trans,
                fill=False,
                edgecolor=HIGHLIGHT,
                linewidth=1.8,
                zorder=6,
                clip_on=False,
                gid=select_gid(code),
            )
        )


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax`` itself, or the axes of a new figure (constrained layout) of ``figsize`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


__all__ = [
    "CATEGORICAL",
    "CHANGE_COLOURS",
    "DIVERGING_CMAP",
    "MODELLED_NOTE",
    "NOT_RATED",
    "NO_DATA_COLOUR",
    "NO_DATA_EDGE",
    "NO_DATA_HATCH",
    "RATING_COLOURS",
    "RATING_COUNT_COLUMNS",
    "RATING_ORDER",
    "SECTOR_LABELS",
    "SELECT_PREFIX",
    "SEQUENTIAL_CMAP",
    "add_footnote",
    "distinct_values",
    "footnote_text",
    "frame_vintages",
    "ics_labels",
    "new_axes",
    "sector_label",
    "select_gid",
    "select_rows",
    "share_label",
    "short_icb_name",
]
