"""Choropleth maps of ICS figures on the ICB boundaries (42 of 2023, or a vintage's).

:func:`icb_geodataframe` joins a polars frame of ICS values to the ICB boundaries (the
caller loads them with :func:`ics_model.data.geography.read_boundaries`);
:func:`choropleth` classifies the values (mapclassify's schemes; quantiles and equal
intervals computed here as mapclassify does, without its slow import) and draws them.
Classes are presentation: they group values for colouring, not a statistic of the ICSs.
Maps are drawn on the British National Grid (EPSG:27700) so England keeps its shape.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import polars as pl

from ics_model.plot.style import (
    DIVERGING_CMAP,
    HIGHLIGHT,
    INK,
    NO_DATA_COLOUR,
    NO_DATA_EDGE,
    NO_DATA_HATCH,
    REGION_EDGE,
    SEQUENTIAL_CMAP,
    Vintages,
    add_footnote,
    distinct_values,
    frame_vintages,
    new_axes,
    select_gid,
    short_icb_name,
)

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.colors import Colormap

Scheme = Literal["quantiles", "natural_breaks", "equal_interval"]

#: Projected CRS the maps are drawn in (British National Grid).
MAP_CRS: Final = 27700
SCHEMES: Final = ("quantiles", "natural_breaks", "equal_interval")


def icb_geodataframe(
    frame: pl.DataFrame,
    boundaries: gpd.GeoDataFrame,
    icbs: pl.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Join a polars frame of ICS values to the ICB boundaries (a join, not a metric).

    Every boundary is kept, in the boundaries' order; an ICB with no row in ``frame``
    gets missing values.

    Parameters
    ----------
    frame : one row per ICB, keyed by ``icb_gss`` or by ``icb_code`` (then ``icbs`` is
        needed to translate codes); any other columns are carried over.
    boundaries : ICB boundaries with ``icb_gss`` and ``geometry`` (as
        ``read_boundaries("icb")``); boundaries with ``icb_code`` (a vintage's, from
        :func:`ics_model.geo.icb_boundaries`) are joined on ``icb_code`` when ``frame``
        has it.
    icbs : ``icb_code`` -> ``icb_gss`` lookup (e.g. a run's ``icbs``), used when
        ``frame`` has no ``icb_gss``.

    Returns
    -------
    geopandas.GeoDataFrame
        The boundaries' columns plus ``frame``'s, in the boundaries' CRS.

    Raises
    ------
    ValueError
        No key column, ``icbs`` missing when needed, a key repeated in ``frame`` (filter a
        long frame such as ``ics_metrics`` to one metric first), or keys that match no
        boundary (they are listed; rows are never dropped silently).
    """
    import geopandas as gpd

    if "icb_code" in boundaries.columns and "icb_code" in frame.columns:
        return _join_on_code(frame, boundaries)
    if "icb_gss" not in boundaries.columns:
        raise ValueError("boundaries need an icb_gss column (read_boundaries('icb'))")
    if "icb_gss" not in frame.columns:
        if "icb_code" not in frame.columns:
            raise ValueError("frame needs an icb_gss or icb_code column")
        if icbs is None:
            raise ValueError("frame has icb_code but no icb_gss: pass icbs (icb_code, icb_gss)")
        lookup = icbs.select("icb_code", "icb_gss").unique()
        frame = frame.join(lookup, on="icb_code", how="left")
        unknown = frame.filter(pl.col("icb_gss").is_null())["icb_code"].to_list()
        if unknown:
            raise ValueError(f"icb_code not in icbs: {sorted(map(str, unknown))}")
    dup = frame.filter(pl.col("icb_gss").is_duplicated())["icb_gss"].unique().to_list()
    if dup:
        raise ValueError(
            f"{len(dup)} ICBs appear more than once (e.g. {sorted(dup)[:3]}): give one row "
            "per ICB (filter a long frame to one metric first)"
        )
    known = set(boundaries["icb_gss"].astype(str))
    unmatched = sorted(set(frame["icb_gss"].to_list()) - known)
    if unmatched:
        raise ValueError(f"ICBs with no boundary: {unmatched}")
    extra = [c for c in frame.columns if c != "icb_gss" and c in boundaries.columns]
    right = frame.drop(extra).to_pandas()
    joined = boundaries.merge(right, on="icb_gss", how="left", sort=False)
    return gpd.GeoDataFrame(joined, geometry=boundaries.geometry.name, crs=boundaries.crs)


def _join_on_code(frame: pl.DataFrame, boundaries: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Join on ``icb_code`` (boundaries of a vintage, e.g. ``ics_model.geo.icb_boundaries``)."""
    import geopandas as gpd

    dup = frame.filter(pl.col("icb_code").is_duplicated())["icb_code"].unique().to_list()
    if dup:
        raise ValueError(
            f"{len(dup)} ICBs appear more than once (e.g. {sorted(dup)[:3]}): give one row "
            "per ICB (filter a long frame to one metric first)"
        )
    known = set(boundaries["icb_code"].dropna().astype(str))
    unmatched = sorted(set(frame["icb_code"].drop_nulls().to_list()) - known)
    if unmatched:
        raise ValueError(f"ICBs with no boundary: {unmatched}")
    extra = [c for c in frame.columns if c != "icb_code" and c in boundaries.columns]
    right = frame.drop(extra).to_pandas()
    joined = boundaries.merge(right, on="icb_code", how="left", sort=False)
    return gpd.GeoDataFrame(joined, geometry=boundaries.geometry.name, crs=boundaries.crs)


def _quantile_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of ``k`` quantile classes, as ``mapclassify.Quantiles(values, k).bins``.

    The same arithmetic as mapclassify (percentiles ``100/k, 200/k, ... 100`` taken as
    ``scipy.stats.scoreatpercentile`` does: linear between the two nearest order
    statistics, the weights divided by their sum), so the bounds agree to the last bit;
    tied percentiles merge into one bound (fewer than ``k`` classes).
    """
    ordered = np.sort(np.asarray(values).ravel())
    w = 100.0 / k
    pcts = np.arange(w, 100 + w, w)
    if pcts[-1] > 100.0:
        pcts[-1] = 100.0
    last = ordered.shape[0] - 1
    scores = []
    for pct in pcts:
        idx = pct / 100.0 * last
        i = int(idx)
        # numpy's reductions, as scipy (their rounding; they turn -0.0 into 0.0)
        if i == idx:
            scores.append(np.add.reduce(ordered[i : i + 1] * np.array(1)) / 1.0)
        else:
            weights = np.array([(i + 1) - idx, idx - i], dtype=float)
            scores.append(np.add.reduce(ordered[i : i + 2] * weights) / weights.sum())
    return np.unique(np.array(scores, dtype=float))


def _equal_interval_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of ``k`` equal-width classes, as ``mapclassify.EqualInterval(values, k)``.

    The same arithmetic as mapclassify (its float ``arange`` of the cuts, trimmed to ``k``,
    the last cut set to the maximum). Needs two distinct values at least.
    """
    y = np.asarray(values).ravel()
    max_y, min_y = max(y), min(y)  # builtins, as mapclassify (same -0.0/0.0 pick)
    if min_y == max_y:
        raise ValueError("equal intervals need two distinct values at least")
    width = (max_y - min_y) * 1.0 / k
    cuts = np.arange(min_y + width, max_y + width, width)
    if len(cuts) > k:  # the float arange can overshoot by one
        cuts = cuts[0:k]
    cuts[-1] = max_y
    return cuts.copy()


def _classify(values: np.ndarray, scheme: str, k: int, diverging: bool) -> np.ndarray:
    """Upper bounds of the classes (the last is the maximum); 0 is a bound if diverging.

    Quantiles and equal intervals are computed here, bit for bit as mapclassify does
    (whose import compiles numba code for seconds); natural breaks use mapclassify's
    Fisher-Jenks.
    """
    n_unique = len(np.unique(values))
    k = max(1, min(k, n_unique))
    if k == 1:
        bins = np.array([values.max()])
    elif scheme == "quantiles":
        bins = _quantile_bins(values, k)
    elif scheme == "equal_interval":
        bins = _equal_interval_bins(values, k)
    elif scheme == "natural_breaks":
        import mapclassify

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Numba not installed", UserWarning)
            bins = np.asarray(mapclassify.FisherJenks(values, k=k).bins, dtype=float)
    else:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if diverging and values.min() < 0 < values.max() and not np.any(bins == 0.0):
        bins = np.sort(np.append(bins, 0.0))
    bins = np.unique(bins)
    counts = np.bincount(np.searchsorted(bins, values, side="left"), minlength=len(bins))
    keep = (counts > 0) | (np.arange(len(bins)) == len(bins) - 1)
    return bins[keep]


def _class_colours(
    bins: np.ndarray, lowest: float, cmap: Colormap, diverging: bool
) -> list[tuple[float, ...]]:
    """One colour per class: evenly along a sequential map; by class mid-point if diverging."""
    k = len(bins)
    if not diverging:
        if k == 1:
            return [cmap(0.6)]
        return [cmap(0.15 + 0.8 * i / (k - 1)) for i in range(k)]
    lows = np.concatenate(([lowest], bins[:-1]))
    mids = (lows + bins) / 2
    span = max(abs(lowest), abs(bins[-1])) or 1.0
    out = []
    for m in mids:
        t = float(np.clip(m / span, -1.0, 1.0))
        t = math.copysign(max(abs(t), 0.12), t) if t != 0 else 0.0
        out.append(cmap(0.5 + 0.45 * t))
    return out


def _default_legend_title(gdf, value: str) -> str:
    """Return the metric's catalogue label (or column name), with the frame's unit if single."""
    from ics_model.metrics.system import CATALOGUE_BY_METRIC

    name = value
    metrics = distinct_values(gdf, "metric")
    if len(metrics) == 1:
        name = CATALOGUE_BY_METRIC.get(metrics[0], {}).get("label", metrics[0])
    units = distinct_values(gdf, "unit")
    return f"{name} ({units[0]})" if len(units) == 1 else name


def _fmt(values: np.ndarray) -> str:
    """Return a number format that tells the classes apart."""
    top = float(np.nanmax(np.abs(values))) if values.size else 0.0
    span = float(np.nanmax(values) - np.nanmin(values)) if values.size else 0.0
    if top >= 1000:
        return "{:,.0f}"
    if top >= 100:
        return "{:.0f}"
    if span >= 1 or top >= 10:
        return "{:.1f}"
    if span >= 0.05:
        return "{:.2f}"
    return "{:.3f}"


def display_boundaries(
    boundaries: gpd.GeoDataFrame, tolerance_m: float = 500.0
) -> gpd.GeoDataFrame:
    """Return the boundaries in :data:`MAP_CRS`, simplified for a page-sized map.

    ``shapely.coverage_simplify`` (Visvalingam-Whyatt on the shared edges, so neighbours
    still meet without gaps or overlaps) with ``tolerance_m`` metres: 500 m is under one
    pixel of an 8-inch map of England at 90 dpi, and cuts the embedded ICB boundaries
    from about 24,000 to 10,000 vertices. For drawing only; never for spatial joins.
    """
    import shapely

    out = boundaries.to_crs(MAP_CRS) if boundaries.crs is not None else boundaries.copy()
    out = out.set_geometry(shapely.coverage_simplify(out.geometry.values, tolerance_m), crs=out.crs)
    return out


def _select_outlines(ax: Axes, gdf: gpd.GeoDataFrame) -> None:
    """Draw every ICB's outline and name, tagged :func:`select_gid` (a page shows one at a time)."""
    import shapely
    from matplotlib.collections import LineCollection

    names = gdf["icb_name"] if "icb_name" in gdf.columns else gdf["icb_code"]
    for code, name, geom in zip(gdf["icb_code"], names, gdf.geometry, strict=True):
        if code is None or geom is None or geom.is_empty:
            continue
        gid = select_gid(code)
        lines = shapely.get_parts(geom.boundary)
        segments = [np.asarray(line.coords)[:, :2] for line in lines]
        outline = LineCollection(segments, colors=HIGHLIGHT, linewidths=2.0, zorder=5, gid=gid)
        ax.add_collection(outline)
        at = geom.representative_point()
        ax.annotate(
            short_icb_name(name) or str(code),
            (at.x, at.y),
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
            color=HIGHLIGHT,
            bbox={"fc": "white", "ec": HIGHLIGHT, "alpha": 0.9, "pad": 1.5, "lw": 0.6},
            zorder=6,
            gid=gid,
        ).set_in_layout(False)


def choropleth(
    gdf_or_frame,
    value: str,
    *,
    boundaries: gpd.GeoDataFrame | None = None,
    icbs: pl.DataFrame | None = None,
    regions: gpd.GeoDataFrame | None = None,
    scheme: Scheme = "quantiles",
    k: int = 5,
    diverging: bool | None = None,
    cmap: str | Colormap | None = None,
    legend_title: str | None = None,
    title: str | None = None,
    footnote: Vintages = None,
    modelled: bool = True,
    fmt: str | None = None,
    highlight: Sequence[str] = (),
    selectable: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """Map one value per ICS on the ICB boundaries, in classes.

    Parameters
    ----------
    gdf_or_frame : a GeoDataFrame with ``value`` and geometries, or a polars frame with
        one row per ICB keyed by ``icb_gss`` or ``icb_code`` (joined to ``boundaries``
        with :func:`icb_geodataframe`; e.g. ``ics_metrics`` filtered to one metric).
    value : the column to map (numeric; nulls and NaN are "no data").
    boundaries : ICB boundaries (``read_boundaries("icb")``, or a vintage's from
        :func:`ics_model.geo.icb_boundaries`, joined on ``icb_code``), needed for a polars
        frame. Rows with a ``not_modelled`` reason are drawn apart (dotted, in the legend),
        neither classed nor counted as "no data".
    icbs : ``icb_code`` -> ``icb_gss`` lookup, needed for a polars frame without
        ``icb_gss``.
    regions : NHS England region boundaries (``read_boundaries("region")``), outlined on
        top when given.
    scheme : ``"quantiles"``, ``"natural_breaks"`` (Fisher-Jenks optimal breaks,
        deterministic) or ``"equal_interval"``; the classes are mapclassify's (quantiles and
        equal intervals computed here, bit for bit the same).
    k : number of classes (fewer when there are fewer distinct values, or ties merge
        quantiles).
    diverging : centre the colours on 0 (0 becomes a class bound); None chooses it when
        the values take both signs.
    cmap : colour map (name or object); default :data:`~ics_model.plot.style.SEQUENTIAL_CMAP`
        or :data:`~ics_model.plot.style.DIVERGING_CMAP`.
    legend_title : what the values are, with units; default the metric's label (a frame
        with a single ``metric``, as ``ics_metrics`` filtered to one) or ``value``, with
        the frame's ``unit`` when it has a single one.
    title : default "<legend title> by ICS (modelled)".
    footnote : data vintages for the footnote; default those in the frame's
        ``vintage``/``ratings_vintage`` column.
    modelled : write the "modelled" caveat in the footnote.
    fmt : format of the class bounds (e.g. ``"{:.1%}"``); default chosen from the values.
    highlight : ICB codes to outline (e.g. yours and its peers; needs ``icb_code``).
    selectable : also draw every ICB's outline and name, tagged for a page's ICB selector
        (:func:`~ics_model.plot.style.select_gid`; needs ``icb_code``).
    ax : axes to draw on; default a new 8 x 7 inch figure (legend at the right).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        Unknown scheme, ``k < 1``, a missing column, or a frame that does not join (see
        :func:`icb_geodataframe`).
    """
    import geopandas as gpd
    import matplotlib as mpl
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if isinstance(gdf_or_frame, gpd.GeoDataFrame):
        gdf = gdf_or_frame
    elif isinstance(gdf_or_frame, pl.DataFrame):
        if boundaries is None:
            raise ValueError("a polars frame needs boundaries (read_boundaries('icb'))")
        if value not in gdf_or_frame.columns:
            raise ValueError(f"no column {value!r} in the frame")
        gdf = icb_geodataframe(gdf_or_frame, boundaries, icbs)
    else:
        raise TypeError(f"expected a GeoDataFrame or polars DataFrame, got {type(gdf_or_frame)}")
    if value not in gdf.columns:
        raise ValueError(f"no column {value!r} in the frame")

    if legend_title is None:
        legend_title = _default_legend_title(gdf, value)
    if footnote is None:
        footnote = frame_vintages(gdf)
    gdf = gdf.to_crs(MAP_CRS) if gdf.crs is not None else gdf
    unmodelled = None
    if "not_modelled" in gdf.columns and gdf["not_modelled"].notna().any():
        unmodelled = gdf.loc[gdf["not_modelled"].notna()]
        gdf = gdf.loc[gdf["not_modelled"].isna()]
    vals = np.asarray(gdf[value].astype("float64").to_numpy(na_value=np.nan), dtype=float)
    missing = ~np.isfinite(vals)
    present = vals[~missing]
    if diverging is None:
        diverging = bool(present.size) and present.min() < 0 < present.max()
    cm = mpl.colormaps[cmap or (DIVERGING_CMAP if diverging else SEQUENTIAL_CMAP)]
    ax = new_axes(ax, (8.0, 7.0))

    handles: list = []
    if present.size:
        bins = _classify(present, scheme, k, diverging)
        colours = _class_colours(bins, float(present.min()), cm, diverging)
        cls = np.searchsorted(bins, present, side="left")
        shown = gdf.loc[~missing]
        shown.plot(
            ax=ax,
            color=[colours[c] for c in cls],
            edgecolor="white",
            linewidth=0.4,
        )
        form = fmt or _fmt(present)
        lows = [float(present.min()), *bins[:-1]]
        counts = np.bincount(cls, minlength=len(bins))
        for i, (lo, hi) in enumerate(zip(lows, bins, strict=True)):
            label = (
                form.format(hi) if lo == hi else f"{form.format(lo)} – {form.format(hi)}"
            ) + f" ({counts[i]})"
            handles.append(Patch(facecolor=colours[i], edgecolor="white", label=label))
    if missing.any():
        gdf.loc[missing].plot(
            ax=ax,
            facecolor=NO_DATA_COLOUR,
            edgecolor=NO_DATA_EDGE,
            hatch=NO_DATA_HATCH,
            linewidth=0.4,
        )
        handles.append(
            Patch(
                facecolor=NO_DATA_COLOUR,
                edgecolor=NO_DATA_EDGE,
                hatch=NO_DATA_HATCH,
                label=f"no data ({int(missing.sum())})",
            )
        )
    if unmodelled is not None:
        unmodelled.plot(ax=ax, facecolor="white", edgecolor=NO_DATA_EDGE, hatch="..", linewidth=0.4)
        handles.append(
            Patch(
                facecolor="white",
                edgecolor=NO_DATA_EDGE,
                hatch="..",
                label=f"not modelled: boundary change not drawable ({len(unmodelled)})",
            )
        )
    chosen = {c.upper() for c in highlight}
    if chosen and "icb_code" in gdf.columns:
        picked = gdf.loc[gdf["icb_code"].astype(str).str.upper().isin(chosen)]
        if len(picked):
            picked.boundary.plot(ax=ax, color=HIGHLIGHT, linewidth=1.8)
            handles.append(Line2D([], [], color=HIGHLIGHT, linewidth=1.8, label="chosen"))
    if selectable and "icb_code" in gdf.columns:
        everyone = gdf if unmodelled is None else gpd.pd.concat([gdf, unmodelled])
        _select_outlines(ax, everyone)
    if regions is not None:
        reg = regions.to_crs(MAP_CRS) if regions.crs is not None else regions
        reg.boundary.plot(ax=ax, color=REGION_EDGE, linewidth=0.8)
        handles.append(Line2D([], [], color=REGION_EDGE, linewidth=0.8, label="NHS England region"))
    ax.legend(
        handles=handles,
        title=textwrap.fill(legend_title, 32),
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        fontsize=7,
        title_fontsize=8,
        frameon=False,
        alignment="left",
    )
    ax.set_axis_off()
    # equal aspect leaves spare width: keep the map at the left, the legend in the space
    ax.set_aspect("equal")
    ax.set_anchor("W")
    ax.set_title(
        title or textwrap.fill(f"{legend_title} by ICS (modelled)", 70), fontsize=11, color=INK
    )
    add_footnote(ax, footnote, modelled=modelled)
    return ax


__all__ = ["MAP_CRS", "SCHEMES", "choropleth", "display_boundaries", "icb_geodataframe"]
