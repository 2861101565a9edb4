"""The specification curve of the collaboration association, with its pre-ICS placebo.

:func:`effect_curve` fits every specification of an
:class:`~ics_model.effects.spec.EffectCurveConfig` -- population x outcome coding x
exposure x control set x model -- on post-ICS ratings and, as a placebo, on pre-ICS
ratings (:mod:`ics_model.effects.rows` builds the rows), and returns the curve, the
combinations skipped with their reason, a summary per period, the placebo comparison
and the joint test across the curve (:mod:`ics_model.effects.joint`). Every estimate is
an **association, not a causal effect**.

Methods
-------
Each specification is fitted by ``fit(model, y, x, z, clusters, ordinal=..., x_between=...,
rng=...)`` (:func:`ics_model.effects.models.fit_model` unless another fitter is
injected): ``y`` the outcome coding (ordinal codes re-numbered 0..K-1 over the categories
present, higher = better), ``x`` the standardised exposure, ``z`` the controls (numeric
ones standardised in the analysed rows, text ones as dummies with the first level, in
sorted order, dropped), ``clusters`` the ICSs numbered 0..G-1; a provider-level exposure
also passes its standardised ICS mean as ``x_between`` (within/between split, Mundlak
1978). Rows missing the outcome, the exposure or a control are dropped and counted
(``dropped``). ``n``, ``n_clusters`` and ``n_events`` (binary: ``y == 1``; ordinal: the
top category present) are counted from the analysed rows.

The summary per period (shares by sign, shares significant at 5% by sign, median odds
ratio; ``significant`` is ``p_value < 0.05``, or the 95% interval excluding 1 when the
model gives no p-value) and the pre-ICS placebo comparison are in
:mod:`ics_model.effects.curve_summary`; the joint permutation test across the curve in
:mod:`ics_model.effects.joint`.

References
----------
Simonsohn, Simmons & Nelson (2020) Specification curve analysis. Nature Human Behaviour
4:1208-1214. Steegen, Tuerlinckx, Gelman & Vanpaemel (2016) Increasing transparency
through a multiverse analysis. Perspectives on Psychological Science 11:702-712.
Mundlak (1978) Econometrica 46:69-85.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
import polars as pl

from ics_model.effects.curve_contracts import CURVE_SKIPPED, SPECIFICATION_CURVE
from ics_model.effects.curve_summary import (
    ALPHA,
    curve_summary,
    placebo_comparison,
    placebo_summary,
)
from ics_model.effects.joint import JointInput, joint_test
from ics_model.effects.rows import AnalysisRows
from ics_model.effects.spec import (
    OUTCOMES,
    PERIODS,
    POPULATIONS,
    EffectCurveConfig,
    combination_problem,
)

log = logging.getLogger(__name__)

#: spawn-key prefix of each specification's own random stream (the joint test uses 2).
_FIT_STREAM: Final = 1


class Fitted(Protocol):
    """What a fitter returns (:class:`ics_model.effects.models.ModelFit`)."""

    estimate: float
    ci_lower: float
    ci_upper: float
    p_value: float | None
    n: int
    n_clusters: int
    n_events: int
    converged: bool
    note: str | None
    between: float | None


Fitter = Callable[..., Fitted]


def default_fitter() -> Fitter:
    """Return :func:`ics_model.effects.models.fit_model` (imported when first needed)."""
    from ics_model.effects.models import fit_model

    return fit_model


@dataclass(frozen=True)
class Specification:
    """One specification x period of the curve."""

    spec_id: int
    population: str
    outcome: str
    exposure: str
    controls: str
    control_columns: tuple[str, ...]
    model: str
    period: str

    @property
    def ordinal(self) -> bool:
        """Whether the outcome is ordinal."""
        return OUTCOMES[self.outcome].kind == "ordinal"

    def key(self) -> dict[str, Any]:
        """Return the specification's identifying columns."""
        return {
            "spec_id": self.spec_id,
            "population": self.population,
            "outcome": self.outcome,
            "exposure": self.exposure,
            "controls": self.controls,
            "model": self.model,
            "period": self.period,
        }


@dataclass(frozen=True)
class SpecData:
    """The arrays a specification is fitted to."""

    y: np.ndarray
    x: np.ndarray
    x_between: np.ndarray | None
    z: np.ndarray
    clusters: np.ndarray  # 0..G-1
    rows: np.ndarray  # row numbers in AnalysisRows.frame
    n_events: int
    categories: int
    dropped: tuple[tuple[str, int], ...]

    @property
    def n(self) -> int:
        """Providers analysed."""
        return len(self.y)

    @property
    def n_clusters(self) -> int:
        """ICSs analysed."""
        return int(self.clusters.max()) + 1 if len(self.clusters) else 0


# ----------------------------------------------------------------------------- the grid


def _skip(spec: dict[str, Any], stage: str, reason: str) -> dict[str, Any]:
    return {**spec, "stage": stage, "reason": reason}


def specification_grid(
    cfg: EffectCurveConfig, rows: AnalysisRows
) -> tuple[list[Specification], pl.DataFrame]:
    """Every specification x period to fit, and every combination skipped with its reason.

    ``spec_id`` numbers the valid population x outcome x exposure x controls x model
    combinations (1, 2, ...) and is shared by their periods. A combination is skipped
    (``stage = "grid"``) when the outcome does not exist for the population or the model
    does not fit the outcome's kind (:func:`~ics_model.effects.spec.combination_problem`),
    the population has no ratings in the period, the exposure or a control column has no
    value in the population.
    """
    frame = rows.frame
    skipped, specs, spec_id = [], [], 0
    for pop in cfg.populations:
        in_pop = frame.filter(pl.col("population") == pop)
        for outcome in cfg.outcomes:
            for exposure in cfg.exposures:
                for cname, ccols in cfg.controls.items():
                    for model in cfg.models:
                        base = {
                            "spec_id": None,
                            "population": pop,
                            "outcome": outcome,
                            "exposure": exposure,
                            "controls": cname,
                            "model": model,
                        }
                        problem = combination_problem(pop, outcome, model)
                        if problem is not None:
                            skipped += [
                                _skip({**base, "period": p}, "grid", problem) for p in cfg.periods
                            ]
                            continue
                        spec_id += 1
                        base["spec_id"] = spec_id
                        for period in cfg.periods:
                            key = {**base, "period": period}
                            reason = _data_problem(in_pop, pop, exposure, ccols, period)
                            if reason is not None:
                                skipped.append(_skip(key, "grid", reason))
                                continue
                            specs.append(
                                Specification(
                                    spec_id, pop, outcome, exposure, cname, ccols, model, period
                                )
                            )
    return specs, _skipped_frame(skipped)


def _data_problem(
    frame: pl.DataFrame, pop: str, exposure: str, controls: Sequence[str], period: str
) -> str | None:
    in_period = frame.filter(pl.col("period") == period)
    if in_period.is_empty():
        why = POPULATIONS[pop].note
        return f"no {pop} ratings in the {period} period. {why}"
    if in_period[exposure].null_count() == in_period.height:
        return f"exposure {exposure} has no value for {pop}"
    for c in controls:
        if c not in in_period.columns:
            return f"control {c} is not a column of the analysis rows"
        if in_period[c].null_count() == in_period.height:
            return f"control {c} is not available for {pop}"
    return None


def _skipped_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=CURVE_SKIPPED.schema, orient="row")


# ----------------------------------------------------------------------------- data


def encode_controls(frame: pl.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Return controls as floats: numeric standardised, text as dummies (first level dropped).

    Raises
    ------
    ValueError
        A control is constant (or has one level) in ``frame``, or has an unsupported dtype.
    """
    cols, names = [], []
    for c in columns:
        dtype = frame.schema[c]
        if dtype.is_numeric() or dtype == pl.Boolean:
            v = frame[c].cast(pl.Float64).to_numpy()
            if not np.std(v) > 0:
                raise ValueError(f"control {c} is constant in the analysed rows")
            cols.append((v - v.mean()) / np.std(v))
            names.append(c)
        elif dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
            text = frame[c].cast(pl.String).to_numpy().astype(str)
            levels = sorted(set(text.tolist()))
            if len(levels) < 2:
                raise ValueError(f"control {c} has one level in the analysed rows")
            for lv in levels[1:]:
                cols.append((text == lv).astype(float))
                names.append(f"{c}={lv}")
        else:
            raise ValueError(f"control {c} has unsupported dtype {dtype}")
    z = np.column_stack(cols) if cols else np.zeros((frame.height, 0))
    return z, names


def _missing(frame: pl.DataFrame, col: str) -> pl.Expr:
    e = pl.col(col).is_null()
    return e | pl.col(col).is_nan() if frame.schema[col].is_float() else e


def prepare(spec: Specification, rows: AnalysisRows) -> SpecData | str:
    """Return the arrays of one specification, or why it cannot be fitted (a sentence).

    Drops (and counts) rows missing the outcome, the exposure or a control, in that
    order; then needs 3 or more ICSs, an outcome that varies, controls that vary and a
    design of full rank.
    """
    frame = rows.frame.with_row_index("_row").filter(
        (pl.col("population") == spec.population) & (pl.col("period") == spec.period)
    )
    xcol, bcol = f"x__{spec.exposure}", f"xb__{spec.exposure}"
    provider_level = frame[bcol].null_count() < frame.height
    dropped = []
    steps = [("missing_outcome", spec.outcome), ("missing_exposure", xcol)]
    steps += [(f"missing_{c}", c) for c in spec.control_columns]
    for reason, col in steps:
        bad = frame.filter(_missing(frame, col)).height
        if bad:
            dropped.append((reason, bad))
            frame = frame.filter(~_missing(frame, col))
    labels, g = np.unique(frame["cluster"].to_numpy(), return_inverse=True)
    if len(labels) < 3:
        return f"fewer than 3 ICSs with complete data ({len(labels)})"
    raw = frame[spec.outcome].to_numpy().astype(int)
    present, y = np.unique(raw, return_inverse=True)
    if len(present) < 2:
        return f"{spec.outcome} does not vary: all {len(raw)} providers are coded {present[0]}"
    try:
        z, _ = encode_controls(frame, spec.control_columns)
    except ValueError as exc:
        return str(exc)
    x = frame[xcol].to_numpy().astype(float)
    xb = frame[bcol].to_numpy().astype(float) if provider_level else None
    design = np.column_stack([np.ones(len(x)), x, *([] if xb is None else [xb]), z])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        return "exposure and controls are collinear in the analysed rows"
    return SpecData(
        y=y.astype(float),
        x=x,
        x_between=xb,
        z=z,
        clusters=g,
        rows=frame["_row"].to_numpy(),
        n_events=int(np.count_nonzero(y == len(present) - 1)),
        categories=len(present),
        dropped=tuple(dropped),
    )


# ----------------------------------------------------------------------------- fits


def _fit_one(
    fit: Fitter, spec: Specification, data: SpecData, seed: int, index: int
) -> dict[str, Any]:
    """Fit one specification; a fitter error becomes a row without an estimate."""
    ss = np.random.SeedSequence(seed, spawn_key=(_FIT_STREAM, spec.spec_id, index))
    out: dict[str, Any] = {
        "estimate": None,
        "ci_lower": None,
        "ci_upper": None,
        "p_value": None,
        "between": None,
        "converged": False,
    }
    notes = []
    if spec.ordinal and data.categories < 4:
        notes.append(f"{data.categories} outcome categories present")
    try:
        res = fit(
            spec.model,
            data.y,
            data.x,
            data.z,
            data.clusters,
            ordinal=spec.ordinal,
            x_between=data.x_between,
            rng=np.random.default_rng(ss),
        )
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError) as exc:
        notes.append(f"fit failed: {type(exc).__name__}: {exc}")
        log.warning("curve spec %d %s: %s", spec.spec_id, spec.period, notes[-1])
    else:
        out.update(
            estimate=float(res.estimate),
            ci_lower=float(res.ci_lower),
            ci_upper=float(res.ci_upper),
            p_value=None if res.p_value is None else float(res.p_value),
            between=None if res.between is None else float(res.between),
            converged=bool(res.converged),
        )
        if res.note:
            notes.append(res.note)
        if (res.n, res.n_clusters) != (data.n, data.n_clusters):
            notes.append(f"the model used n = {res.n}, {res.n_clusters} clusters")
    return {**out, "note": "; ".join(notes) or None}


def _significant(p: float | None, lo: float | None, hi: float | None) -> bool | None:
    if p is not None and math.isfinite(p):
        return p < ALPHA
    if lo is None or hi is None:
        return None
    return not (lo <= 1.0 <= hi)


# ----------------------------------------------------------------------------- main


@dataclass(frozen=True)
class CurveResult:
    """The specification curve (:func:`effect_curve`).

    Attributes
    ----------
    curve : one row per specification x period fitted (``specification_curve.csv``).
    skipped : every combination not fitted, with ``stage`` (``grid`` or ``data``) and
        ``reason``.
    summary : per period (:func:`curve_summary`).
    placebo : per specification, post vs pre (:func:`placebo_comparison`).
    placebo_text : :func:`placebo_summary`.
    joint : the joint permutation test per period and statistic
        (:func:`~ics_model.effects.joint.joint_test`).
    accounts : the analysis rows' accounts (every provider used or excluded with reason).
    exposures : how each exposure was standardised.
    """

    curve: pl.DataFrame
    skipped: pl.DataFrame
    summary: pl.DataFrame
    placebo: pl.DataFrame
    placebo_text: str
    joint: pl.DataFrame
    accounts: pl.DataFrame
    exposures: pl.DataFrame


def _exposure_info(rows: AnalysisRows, spec: Specification) -> tuple[str, float | None]:
    e = rows.exposures.filter(pl.col("exposure") == spec.exposure)
    ics = e.filter(pl.col("level") == "ics")
    if ics.height:
        return "ics", ics["sd"][0]
    prov = e.filter(pl.col("population") == spec.population)
    return "provider", prov["sd"][0] if prov.height else None


def _run(executor: cf.Executor | None, fn: Callable[..., Any], args: Sequence[tuple]) -> list[Any]:
    if executor is None:
        return [fn(*a) for a in args]
    futures = [executor.submit(fn, *a) for a in args]
    return [f.result() for f in futures]


def effect_curve(
    rows: AnalysisRows,
    cfg: EffectCurveConfig,
    *,
    fit: Fitter | None = None,
    executor: cf.Executor | None = None,
) -> CurveResult:
    """Fit the specification curve, its placebo and the joint test (module docstring).

    Parameters
    ----------
    rows : :func:`~ics_model.effects.rows.analysis_rows` built with ``cfg``'s populations
        and exposures.
    cfg : the grid, permutations and seed.
    fit : the fitter; default :func:`ics_model.effects.models.fit_model`.
    executor : runs the fits and the joint test's permutation chunks (threads, processes,
        Dask); results are identical for a seed whatever the executor.

    Returns
    -------
    CurveResult
    """
    fit = default_fitter() if fit is None else fit
    specs, skipped = specification_grid(cfg, rows)
    prepared, late = [], []
    for spec in specs:
        data = prepare(spec, rows)
        if isinstance(data, str):
            late.append(_skip(spec.key(), "data", data))
        else:
            prepared.append((spec, data))
    skipped = pl.concat([skipped, _skipped_frame(late)]).sort(
        "population", "outcome", "exposure", "controls", "model", "period"
    )
    args = [(fit, s, d, cfg.seed, PERIODS.index(s.period)) for s, d in prepared]
    fitted = _run(executor, _fit_one, args)
    records = []
    for (spec, data), res in zip(prepared, fitted, strict=True):
        level, sd = _exposure_info(rows, spec)
        records.append(
            {
                **spec.key(),
                "outcome_kind": OUTCOMES[spec.outcome].kind,
                "exposure_level": level,
                "exposure_sd": sd,
                "control_columns": ", ".join(spec.control_columns),
                "n": data.n,
                "n_clusters": data.n_clusters,
                "n_events": data.n_events,
                **res,
                "significant": _significant(res["p_value"], res["ci_lower"], res["ci_upper"]),
                "dropped": ", ".join(f"{r} {k}" for r, k in data.dropped) or None,
            }
        )
    curve = pl.DataFrame(records, schema=SPECIFICATION_CURVE.schema, orient="row").sort(
        "spec_id", "period"
    )
    joint = joint_test(
        rows,
        [
            JointInput(s.spec_id, s.population, s.exposure, s.period, s.ordinal, d)
            for s, d in prepared
        ],
        periods=tuple(p for p in PERIODS if p in cfg.periods),
        permutations=cfg.permutations,
        chunk_size=cfg.chunk_size,
        seed=cfg.seed,
        executor=executor,
    )
    placebo = placebo_comparison(curve, skipped)
    log.info("effect curve: %d fitted, %d skipped", curve.height, skipped.height)
    return CurveResult(
        curve=curve,
        skipped=skipped,
        summary=curve_summary(curve),
        placebo=placebo,
        placebo_text=placebo_summary(placebo),
        joint=joint,
        accounts=rows.accounts,
        exposures=rows.exposures,
    )


__all__ = [
    "CurveResult",
    "Fitted",
    "Fitter",
    "SpecData",
    "Specification",
    "default_fitter",
    "effect_curve",
    "encode_controls",
    "prepare",
    "specification_grid",
]
