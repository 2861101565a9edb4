"""HTML pieces of the report: inline figures (PNG data URIs) and tables."""

from __future__ import annotations

import base64
import html
import io
import logging

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

log = logging.getLogger(__name__)


def png(fig) -> str:
    """Return the figure as a base64 PNG (90 dpi) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def figure(draw, caption: str) -> str:
    """Draw with ``draw(None)`` and return an inline ``<figure>``.

    The plot function makes a figure of its own size.
    """
    try:
        ax = draw(None)
        data = png(ax.figure)
    except Exception as exc:  # a figure that cannot be drawn is reported, not fatal
        log.warning("report figure skipped (%s): %s", caption, exc)
        plt.close("all")
        return (
            f'<p class="note">Figure not drawn ({html.escape(caption)}): '
            f"{html.escape(str(exc))}</p>"
        )
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def number(v: float | int, digits: int = 3) -> str:
    """Format a number for a reader: thousands separated, no exponent, no padding zeros.

    Below 1 in size, ``digits`` significant digits; from 1 to 1,000, up to 2 decimals;
    above, whole numbers with separators. NaN and infinities in words.

    Examples
    --------
    >>> [number(v) for v in (1.0, 0.33333, 0.0833333, 12.345, 1737241.0, 12000, -0.5)]
    ['1', '0.333', '0.0833', '12.35', '1,737,241', '12,000', '-0.5']
    >>> number(float("inf")), number(float("nan"))
    ('unbounded', 'n/a')
    """
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if v != v:
        return "n/a"
    if v in (float("inf"), float("-inf")):
        return "unbounded" if v > 0 else "-unbounded"
    size = abs(v)
    if size >= 1000:
        return f"{v:,.0f}"
    if size >= 1 or v == 0:
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return f"{v:.{digits}g}"


def table(
    frame: pl.DataFrame, columns: list[str] | None = None, n: int = 50, floats: int = 3
) -> str:
    """Return the first ``n`` rows of ``frame`` as an HTML table.

    Numbers are formatted by :func:`number` (``floats`` significant digits below 1).
    """
    if frame is None or frame.is_empty():
        return "<p>(none)</p>"
    df = frame.select(columns) if columns else frame
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    rows = []
    for r in df.head(n).iter_rows():
        cells = []
        for v in r:
            if isinstance(v, int | float) and not isinstance(v, bool):
                v = number(v, floats)
            cells.append(f"<td>{html.escape('' if v is None else str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p>... {df.height - n} more rows in the CSV output.</p>" if df.height > n else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


__all__ = ["figure", "number", "png", "table"]
