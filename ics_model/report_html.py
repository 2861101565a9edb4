"""HTML pieces of the report: inline figures (PNG data URIs or SVG) and tables.

A table is written twice: as a plain HTML table (what a reader sees without scripts) and
as a JSON payload that the page's script (:mod:`ics_model.report_page`) turns into an
interactive table: sortable, searchable, downloadable as CSV. Long tables are collapsed.
A figure drawn as SVG keeps the ``gid`` of its ICB-selection artists
(:func:`~ics_model.plot.style.select_gid`) as ``class="icbsel" data-icb="<code>"``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
import re
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

log = logging.getLogger(__name__)
TIGHT = "tight"


def png(fig) -> str:
    """Return the figure as a base64 PNG (90 dpi) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches=TIGHT)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


_SVG_HEAD = re.compile(r"\A.*?(?=<svg\b)", re.S)
_SVG_META = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_SVG_XMLNS = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_SVG_SELECT = re.compile(r'<g id="icbsel-([A-Za-z0-9]+)">')
_SVG_GROUP_ID = re.compile(r'<g id="[^"]*"(\s*/?)>')
_SVG_PATH = re.compile(r' d="([^"]*)"')
_SVG_NUMBER = re.compile(r"-?\d+\.\d+")
_SVG_SPACE = re.compile(r"\s*\n\s*")
_SVG_SIZE = re.compile(r'(<svg\b[^>]*?)\s+width="[^"]*"\s+height="[^"]*"')


def clean_svg(text: str) -> str:
    r"""Return matplotlib's SVG as markup for an HTML page.

    Drops the XML prolog, the metadata and the namespace declarations (an HTML parser
    needs none, and they are URLs), the width and height (the page scales the figure;
    the viewBox keeps its shape), and the generated ids of groups, which would repeat
    across the figures of a page; path coordinates are rounded to 0.1 pt. The ids of
    ICB-selection groups become ``class="icbsel" data-icb="<code>"``.

    Examples
    --------
    >>> out = clean_svg('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
    ...     'width="10pt" height="5pt" viewBox="0 0 10 5"><metadata>x</metadata>'
    ...     '<g id="patch_1"><g id="icbsel-QE1"><path d="M 0.04 1.26 L 2 3"/></g></g></svg>')
    >>> out[:50]
    '<svg viewBox="0 0 10 5"><g><g class="icbsel" data-'
    >>> out[50:]
    'icb="QE1"><path d="M 0 1.3 L 2 3"/></g></g></svg>'
    """
    text = _SVG_HEAD.sub("", text, count=1)
    text = _SVG_META.sub("", text)
    text = _SVG_XMLNS.sub("", text)
    text = _SVG_SIZE.sub(r"\1", text, count=1)
    text = _SVG_PATH.sub(lambda m: f' d="{_path_data(m[1])}"', text)
    text = _SVG_SELECT.sub(r'<g class="icbsel" data-icb="\1">', text)
    return _SVG_GROUP_ID.sub(r"<g\1>", text).strip()


def _path_data(d: str) -> str:
    """Round a path's coordinates to 0.1 pt (a tenth of a point: invisible) on one line."""

    def short(m: re.Match) -> str:
        s = f"{float(m[0]):.1f}"
        s = s[:-2] if s.endswith(".0") else s
        return "0" if s == "-0" else s

    return _SVG_SPACE.sub(" ", _SVG_NUMBER.sub(short, d)).strip()


def svg(fig) -> str:
    """Return the figure as inline SVG markup (:func:`clean_svg`; text as text) and close it."""
    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "ics_model"}):
        fig.savefig(buf, format="svg", bbox_inches=TIGHT, metadata={"Date": None})
    plt.close(fig)
    return clean_svg(buf.getvalue())


@dataclass(frozen=True)
class FigureJob:
    """One report figure to draw, its caption, and SVG (``vector``) or PNG.

    ``draw()`` returns its Axes: a picklable ``partial`` of a plot function, so that
    another process can draw it.
    """

    draw: Callable[[], Any]
    caption: str
    vector: bool = False


def render(job: FigureJob) -> tuple[str, str | None]:
    """Draw one job; return its ``<figure>`` and None, or a note and the warning to log.

    A figure that cannot be drawn is reported in the page, not fatal.
    """
    cap = html.escape(job.caption)
    try:
        ax = job.draw()
        body = svg(ax.figure) if job.vector else png(ax.figure)
    except Exception as exc:
        plt.close("all")
        note = f'<p class="note">Figure not drawn ({cap}): {html.escape(str(exc))}</p>'
        return note, f"report figure skipped ({job.caption}): {exc}"
    if job.vector:
        return (
            f'<figure class="svgfig" role="img" aria-label="{cap}">{body}'
            f"<figcaption>{cap}</figcaption></figure>"
        ), None
    return (
        f'<figure><img alt="{cap}" src="data:image/png;base64,{body}">'
        f"<figcaption>{cap}</figcaption></figure>"
    ), None


@dataclass(frozen=True)
class EmbeddedBoundaries:
    """The embedded ICB boundaries of a vintage, simplified for display, loaded when drawn."""

    vintage: str


@cache
def _embedded_boundaries(vintage: str):
    from ics_model.geo import icb_boundaries
    from ics_model.plot import display_boundaries

    return display_boundaries(icb_boundaries(vintage))


def draw_map(frame: pl.DataFrame, column: str, *, boundaries, **kwargs):
    """:func:`~ics_model.plot.choropleth` on ``boundaries`` (or the embedded ones, loaded here)."""
    from ics_model.plot import choropleth

    if isinstance(boundaries, EmbeddedBoundaries):
        boundaries = _embedded_boundaries(boundaries.vintage)
    return choropleth(frame, column, boundaries=boundaries, **kwargs)


class FigureBatch:
    """Figures collected while a page is written, drawn by the end (:func:`figures`).

    :meth:`add` returns a placeholder; :meth:`fill` puts each ``<figure>`` in its place.
    With an executor (one helper process), a feeder thread hands the helper one job at a
    time, first to last, from the moment the first is added, so the helper draws while the
    page is still being written; :meth:`fill` then draws from the last job back, and the two
    meet in the middle: neither waits for the other by more than one figure. A job the
    helper could not draw (its process died) is drawn here.
    """

    def __init__(self, executor: Executor | None = None) -> None:
        self.jobs: list[FigureJob] = []
        self.executor = executor
        self._cond = threading.Condition()
        self._front = 0  # the next job the helper takes
        self._back: int | None = None  # the jobs from here on are this process's (fill)
        self._closed = False
        self._helper: dict[int, Future] = {}
        self._feeder: threading.Thread | None = None
        if executor is not None:
            self._feeder = threading.Thread(target=self._feed, name="figure-feeder", daemon=True)
            self._feeder.start()

    def add(self, job: FigureJob) -> str:
        """Keep ``job``; return its placeholder."""
        with self._cond:
            self.jobs.append(job)
            self._cond.notify_all()
            return f"\x00figure {len(self.jobs) - 1}\x00"

    def close(self) -> None:
        """No more jobs: the helper takes none beyond those it has."""
        with self._cond:
            self._closed = True
            if self._back is None:
                self._back = self._front
            self._cond.notify_all()

    def _feed(self) -> None:
        while True:
            with self._cond:
                while not self._closed and self._front >= len(self.jobs):
                    self._cond.wait()
                limit = len(self.jobs) if self._back is None else self._back
                if self._front >= limit:
                    return
                i = self._front
                self._front += 1
                try:
                    fut = self.executor.submit(render, self.jobs[i])
                except Exception:  # a broken or shut pool: this process draws the rest
                    self._front -= 1
                    return
                self._helper[i] = fut
            try:
                fut.result()
            except Exception:
                return

    def fill(self, text: str) -> str:
        """Draw every job the helper has not taken; put each figure into ``text``."""
        out: dict[int, tuple[str, str | None]] = {}
        with self._cond:
            self._back = len(self.jobs)
            self._closed = True
            self._cond.notify_all()
        while True:
            with self._cond:
                if self._back <= self._front:
                    break
                self._back -= 1
                i = self._back
            out[i] = render(self.jobs[i])
        if self._feeder is not None:
            self._feeder.join()
        for i, fut in self._helper.items():
            try:
                out[i] = fut.result()
            except Exception as exc:  # the helper died: draw it here
                log.debug("figure %d drawn here: the helper failed (%s)", i, exc)
                out[i] = render(self.jobs[i])
        for i in range(len(self.jobs)):
            if i not in out:  # taken by the helper but never sent (a failed submit)
                out[i] = render(self.jobs[i])
        for i in sorted(out):
            if out[i][1]:
                log.warning("%s", out[i][1])
        return _PLACEHOLDER.sub(lambda m: out[int(m[1])][0], text)


_PLACEHOLDER = re.compile("\x00figure (\\d+)\x00")
_BATCH: ContextVar[FigureBatch | None] = ContextVar("report_figure_batch", default=None)


@contextmanager
def figures(executor: Executor | None = None):
    """Collect the :func:`figure` calls made inside into one :class:`FigureBatch`.

    ``executor``: a pool of one helper process that draws beside this one.
    """
    batch = FigureBatch(executor)
    token = _BATCH.set(batch)
    try:
        yield batch
    finally:
        batch.close()
        _BATCH.reset(token)


def figure(draw: Callable[[], Any], caption: str, *, vector: bool = False) -> str:
    """Return an inline ``<figure>`` of ``draw()`` (the plot function makes its own figure).

    ``vector``: inline SVG (the charts that take part in the page's ICB selector), else a
    PNG data URI. Inside :func:`figures`, a placeholder that the batch fills.
    """
    job = FigureJob(draw, caption, vector)
    batch = _BATCH.get()
    if batch is not None:
        return batch.add(job)
    body, warning = render(job)
    if warning:
        log.warning("%s", warning)
    return body


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


#: tables longer than this are collapsed (a closed ``<details>``) until the reader opens them
COLLAPSE_OVER = 15


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "int"
    if dtype.is_numeric():
        return "float"
    return "str"


def _json_value(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None if v != v else ("unbounded" if v > 0 else "-unbounded")
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)


def json_script(payload) -> str:
    """Return ``payload`` as a JSON ``<script>`` element, safe inside HTML."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("</", "<\\/")
    return f'<script type="application/json">{text}</script>'


def with_icb_columns(frame: pl.DataFrame, columns: list[str]) -> list[str]:
    """Return ``columns`` with the ICB code beside its name (and the name beside its code).

    Examples
    --------
    >>> f = pl.DataFrame({"icb_code": ["QE1"], "icb_name": ["NHS X ICB"], "v": [1]})
    >>> with_icb_columns(f, ["icb_name", "v"]), with_icb_columns(f, ["icb_code", "v"])
    (['icb_code', 'icb_name', 'v'], ['icb_code', 'icb_name', 'v'])
    """
    cols = list(columns)
    if "icb_name" in cols and "icb_code" not in cols and "icb_code" in frame.columns:
        cols.insert(cols.index("icb_name"), "icb_code")
    elif "icb_code" in cols and "icb_name" not in cols and "icb_name" in frame.columns:
        cols.insert(cols.index("icb_code") + 1, "icb_name")
    return cols


def table(
    frame: pl.DataFrame,
    columns: list[str] | None = None,
    n: int = 50,
    floats: int = 3,
    *,
    name: str = "table",
) -> str:
    """Return the first ``n`` rows of ``frame`` as an interactive table (module docstring).

    Numbers are formatted by :func:`number` (``floats`` significant digits below 1); the
    CSV a reader downloads from the page has them unrounded. ``name`` names that file.
    The ICB code is shown beside the ICB name (:func:`with_icb_columns`). Tables longer
    than :data:`COLLAPSE_OVER` rows are collapsed.
    """
    if frame is None or frame.is_empty():
        return "<p>(none)</p>"
    df = frame.select(with_icb_columns(frame, columns or frame.columns)).head(n)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    rows = []
    for r in df.iter_rows():
        cells = []
        for v in r:
            if isinstance(v, int | float) and not isinstance(v, bool):
                v = number(v, floats)
            cells.append(f"<td>{html.escape('' if v is None else str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    payload = {
        "name": name,
        "digits": floats,
        "columns": [{"title": c, "kind": _kind(t)} for c, t in df.schema.items()],
        "rows": [[_json_value(v) for v in r] for r in df.iter_rows()],
    }
    static = (
        f'<table class="static"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    box = f'<div class="itable">{json_script(payload)}{static}</div>'
    more = f"<p>... {frame.height - n} more rows in the CSV output.</p>" if frame.height > n else ""
    if df.height > COLLAPSE_OVER:
        box = (
            f'<details class="long"><summary>Show the table ({df.height} rows, sortable, '
            f"searchable, downloadable)</summary>{box}</details>"
        )
    return box + more


__all__ = [
    "COLLAPSE_OVER",
    "EmbeddedBoundaries",
    "FigureBatch",
    "FigureJob",
    "clean_svg",
    "draw_map",
    "figure",
    "figures",
    "json_script",
    "number",
    "png",
    "render",
    "svg",
    "table",
    "with_icb_columns",
]
