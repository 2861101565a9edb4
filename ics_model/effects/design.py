"""The analysis data set of :func:`~ics_model.effects.core.collaboration_effect`.

:func:`build_design` turns the providers frame and an exposure (a provider column, or an
ICS-level frame joined on the cluster column) into the arrays the logistic model is fitted
to (a :class:`Design`): it checks the columns, drops rows with a missing cluster, rating,
exposure or control (counting each under its first reason, and recording clusters lost
for want of an exposure), codes the outcome ``rating == outcome`` as 0/1, enters
numeric controls standardised and text/Categorical/Enum controls as dummies (first level
dropped), and standardises the exposure -- across clusters when it is ICS-level
(constant within every cluster), across providers otherwise. Estimation and inference
are in :mod:`~ics_model.effects.core`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from ics_model.ratings import RATING_LABELS


@dataclass(frozen=True)
class Design:
    """The model's design: outcome, standardised exposure, controls and clusters."""

    y: np.ndarray
    x: np.ndarray  # standardised exposure
    Z: np.ndarray  # intercept + controls
    g: np.ndarray  # cluster index 0..G-1
    n_clusters: int
    x_cluster: np.ndarray | None  # standardised exposure per cluster (ICS-level only)
    mean: float
    sd: float
    columns: tuple[str, ...]
    dropped: tuple[tuple[str, int], ...]
    dropped_clusters: tuple[str, ...]


def binary_arrays(
    y: np.ndarray, x: np.ndarray, z: np.ndarray, clusters: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``y``, ``x`` and ``z`` (``n x k``) as floats, checked for a binary fit.

    Raises
    ------
    ValueError
        Lengths differ, or ``y`` is not 0/1.
    """
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    n = len(y)
    z = np.asarray(z, dtype=float).reshape(n, -1)
    if len(x) != n or len(clusters) != n:
        raise ValueError("y, x, z and clusters must have one row per provider")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must be binary (0/1)")
    return y, x, z


def _missing(frame: pl.DataFrame, col: str) -> pl.Expr:
    e = pl.col(col).is_null()
    return e | pl.col(col).is_nan() if frame.schema[col].is_float() else e


def _with_exposure(
    providers: pl.DataFrame, exposure: str | pl.DataFrame, cluster: str
) -> tuple[pl.DataFrame, str]:
    if isinstance(exposure, str):
        if exposure not in providers.columns:
            raise ValueError(f"exposure column {exposure!r} is not in providers")
        return providers, exposure
    if not isinstance(exposure, pl.DataFrame) or cluster not in exposure.columns:
        raise ValueError(f"exposure must be a column name or a frame with {cluster!r}")
    if {"metric", "value"} <= set(exposure.columns):  # a slice of ics_metrics
        names = exposure["metric"].unique().to_list()
        if len(names) != 1:
            raise ValueError(f"exposure frame holds metrics {names}: filter it to one")
        ex = exposure.select(cluster, pl.col("value").alias(names[0]))
    else:
        others = [c for c in exposure.columns if c != cluster]
        if len(others) != 1:
            raise ValueError(f"exposure frame needs {cluster!r} and one column, got {others}")
        ex = exposure.select(cluster, *others)
    name = ex.columns[1]
    if name in providers.columns:
        raise ValueError(f"providers already has a column {name!r}; rename the exposure")
    if ex[cluster].is_duplicated().any():
        raise ValueError(f"exposure frame has more than one row for some {cluster!r} values")
    return providers.join(ex, on=cluster, how="left", maintain_order="left"), name


def _controls(frame: pl.DataFrame, controls: Sequence[str]) -> tuple[list[np.ndarray], list[str]]:
    cols, names = [], []
    for c in controls:
        dtype = frame.schema[c]
        if dtype.is_numeric() or dtype == pl.Boolean:
            v = frame[c].cast(pl.Float64).to_numpy()
            if np.std(v) == 0:
                raise ValueError(f"control {c!r} is constant in the analysed rows")
            cols.append((v - v.mean()) / np.std(v))
            names.append(c)
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            text = frame[c].cast(pl.String).to_numpy()
            present = set(text.tolist())
            order = dtype.categories.to_list() if isinstance(dtype, pl.Enum) else sorted(present)
            levels = [lv for lv in order if lv in present]
            if len(levels) < 2:
                raise ValueError(f"control {c!r} has one level in the analysed rows")
            for lv in levels[1:]:  # the first level is the reference
                cols.append((text == lv).astype(float))
                names.append(f"{c}={lv}")
        else:
            raise ValueError(f"control {c!r} has unsupported dtype {dtype}")
    return cols, names


def build_design(
    providers: pl.DataFrame,
    exposure: str | pl.DataFrame,
    outcome: str,
    controls: tuple[str, ...],
    cluster: str,
) -> tuple[Design, str]:
    """Build the model's design from ``providers``; return it and the exposure's name.

    Rows missing the cluster, rating, exposure or a control are dropped (and counted).
    """
    if not isinstance(providers, pl.DataFrame):
        raise TypeError("providers must be a polars DataFrame")
    frame, name = _with_exposure(providers, exposure, cluster)
    need = ["rating", cluster, name, *controls]
    if absent := [c for c in need if c not in frame.columns]:
        raise ValueError(f"providers lacks column(s) {absent}")
    if len(set(need)) != len(need):
        raise ValueError("rating, cluster, exposure and controls must be distinct columns")
    if not (frame.schema[name].is_numeric() or frame.schema[name] == pl.Boolean):
        raise ValueError(f"exposure {name!r} must be numeric, not {frame.schema[name]}")
    frame = frame.select(
        pl.col(cluster).cast(pl.String),
        pl.col("rating").cast(pl.String),
        pl.col(name).cast(pl.Float64),
        *controls,
    )
    if outcome not in set(RATING_LABELS) | set(frame["rating"].drop_nulls().to_list()):
        raise ValueError(f"outcome {outcome!r} is not a rating label")
    dropped, lost = [], set()
    steps = [("missing_cluster", cluster), ("null_rating", "rating"), ("missing_exposure", name)]
    for reason, col in steps + [(f"missing_{c}", c) for c in controls]:
        bad, keep = frame.filter(_missing(frame, col)), frame.filter(~_missing(frame, col))
        if col == name:
            lost = set(bad[cluster].to_list()) - set(keep[cluster].to_list())
        if bad.height:
            dropped.append((reason, bad.height))
            frame = keep
    labels, g = np.unique(frame[cluster].to_numpy().astype(str), return_inverse=True)
    if len(labels) < 3:
        raise ValueError(f"need at least 3 clusters with complete data, got {len(labels)}")
    y = (frame["rating"] == outcome).to_numpy().astype(float)
    if y.sum() in (0, len(y)):
        raise ValueError(f"no variation: {int(y.sum())} of {len(y)} providers are {outcome!r}")
    e = frame[name].to_numpy()
    e_cluster = np.zeros(len(labels))
    e_cluster[g] = e
    ics_level = bool(np.all(e == e_cluster[g]))
    base = e_cluster if ics_level else e
    mean, sd = float(base.mean()), float(base.std(ddof=1))
    if not sd > 0:
        raise ValueError(f"exposure {name!r} does not vary across the analysed providers")
    ctrl, ctrl_names = _controls(frame, controls)
    Z = np.column_stack([np.ones(len(y)), *ctrl])
    x = (e - mean) / sd
    if np.linalg.matrix_rank(np.column_stack([x, Z])) < Z.shape[1] + 1:
        raise ValueError("exposure and controls are collinear (e.g. an ICS-level control)")
    x_cluster = (e_cluster - mean) / sd if ics_level else None
    cols = ("(intercept)", *ctrl_names)
    d = Design(
        y, x, Z, g, len(labels), x_cluster, mean, sd, cols, tuple(dropped), tuple(sorted(lost))
    )
    return d, name
