"""Benchmark case 7: the effect stage of the default run (headline, curve, power).

7.  The collaboration analysis of the default ``ics-model run`` on the embedded data: the
    headline test, the specification curve (30 specifications in each of two periods, the
    placebo and the joint permutation test) and the power simulation (100 data sets at
    each of 6 odds ratios), in this process, from the run's views and metrics (built once
    by the setup, not timed). The budget is 5 s on 2 cores.

Sides:
- the floor: the same curve and simulation with the library's own fits and nothing of
  ours on top (statsmodels ``GLM`` with its cluster-robust Wald interval for every binary
  specification and simulated data set, statsmodels ``GEE``, ``OrderedModel``): what the
  statistics cost without the wild bootstrap, the separation check and the jackknife;
- ours with every restricted refit of the wild bootstrap done by statsmodels ``GLM``
  instead of the small IRLS kernel (:func:`ics_model.effects.score_test.logit_irls`),
  the design before the kernel: it shows what the kernel buys;
- the curve alone and the power simulation alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from run import Case, Options, Prepared, Side


def _setup(opts: Options) -> Prepared:
    from ics_model.config import load_config
    from ics_model.pipeline import stages
    from ics_model.pipeline.nof import nof_stage, with_nof_metrics
    from ics_model.pipeline.sectors import load_reference, place_sector, selected_sectors

    cfg = load_config(None)
    ref = load_reference(cfg)
    sectors = [place_sector(s, ref, cfg) for s in selected_sectors(cfg)]
    nof = nof_stage(cfg, ref)
    views = stages.build_views(cfg, sectors, ref)
    metrics = with_nof_metrics(stages.metrics_stage(cfg, views, sectors, ref), nof)
    data = {
        "cfg": cfg,
        "views": views,
        "sectors": sectors,
        "metrics": metrics,
        "nof": None if nof is None else nof.record,
    }
    return Prepared(data, note="default config, embedded data; views and metrics built once")


def _curve(d: dict[str, Any], fit: Any = None) -> Any:
    from ics_model.effects.curve import effect_curve
    from ics_model.pipeline import effects

    if fit is None:
        return effects.curve_stage(d["cfg"], d["views"], d["sectors"], d["metrics"], d["nof"])
    original = effect_curve

    def patched(rows: Any, cfg: Any, **kw: Any) -> Any:
        return original(rows, cfg, fit=fit, **kw)

    import ics_model.effects.curve as curve_module

    curve_module.effect_curve = patched
    try:
        return effects.curve_stage(d["cfg"], d["views"], d["sectors"], d["metrics"], d["nof"])
    finally:
        curve_module.effect_curve = original


def _power(d: dict[str, Any], fit: Any = None) -> Any:
    from ics_model.effects import power as power_module
    from ics_model.pipeline import effects

    if fit is None:
        return effects.power_stage(d["cfg"], d["views"], d["sectors"], d["metrics"])
    original = power_module.simulate_power

    def patched(design: Any, **kw: Any) -> Any:
        return original(design, **{**kw, "fit": fit, "coverage_by": "interval"})

    import ics_model.effects as effects_package

    effects_package.simulate_power = patched
    try:
        return effects.power_stage(d["cfg"], d["views"], d["sectors"], d["metrics"])
    finally:
        effects_package.simulate_power = original


def ours_effect_stage(d: dict[str, Any]) -> Any:
    """Headline test + specification curve + power simulation, as the run does them."""
    from ics_model.pipeline import stages

    cfg = d["cfg"]
    headline = stages.effect_stage(cfg, d["views"], d["sectors"], d["metrics"])
    return headline, _curve(d), _power(d)


# ----------------------------------------------------------------------------- the floor


def floor_fit(model: str, y, x, z, clusters, *, ordinal=False, x_between=None, **_: Any) -> Any:
    """The library's own fit and Wald interval for one specification (no wild bootstrap)."""
    import warnings

    from statsmodels.genmod.cov_struct import Exchangeable
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_estimating_equations import GEE
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    from ics_model.effects.models import ModelFit

    E = np.column_stack([x] + ([] if x_between is None else [x_between]))
    z = np.asarray(z, dtype=float).reshape(len(y), -1)
    _, g = np.unique(clusters, return_inverse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if ordinal:
            res = OrderedModel(y, np.column_stack([E, z]), distr="logit").fit(
                method="bfgs", disp=False, cov_type="cluster", cov_kwds={"groups": g}
            )
        elif model == "gee_exchangeable":
            X = np.column_stack([E, np.ones(len(y)), z])
            res = GEE(y, X, groups=g, family=Binomial(), cov_struct=Exchangeable()).fit()
        else:
            X = np.column_stack([E, np.ones(len(y)), z])
            res = GLM(y, X, family=Binomial()).fit(cov_type="cluster", cov_kwds={"groups": g})
    b, se = float(res.params[0]), float(res.bse[0])
    return ModelFit(
        model, math.exp(b), math.exp(b - 1.96 * se), math.exp(b + 1.96 * se), None,
        len(y), int(g.max()) + 1, int(np.sum(y == y.max())), True,
    )  # fmt: skip


def floor(d: dict[str, Any]) -> Any:
    """The curve and the simulation with :func:`floor_fit` (the library's fits alone)."""
    return _curve(d, floor_fit), _power(d, floor_fit)


def ours_statsmodels_refits(d: dict[str, Any]) -> Any:
    """Ours with the restricted refits by statsmodels GLM (the design before the kernel)."""
    import ics_model.effects.score_fit as score_fit
    import ics_model.effects.score_test as score_test
    from ics_model.effects.core import _logit

    kernel = score_test.logit_irls
    score_test.logit_irls = score_fit.logit_irls = _logit
    try:
        return ours_effect_stage(d)
    finally:
        score_test.logit_irls = score_fit.logit_irls = kernel


CASES: list[Case] = [
    Case(
        number="7",
        name="effect_stage",
        title="effect stage of the default run: headline + specification curve + power",
        setup=_setup,
        ours=ours_effect_stage,
        repeat=3,
        target_s=5.0,
        notes=(
            "floor: the same curve and simulation with statsmodels' own fits and Wald "
            "intervals only (no wild bootstrap, separation check or jackknife)",
        ),
        sides=(
            Side("floor", "floor: statsmodels fits and Wald intervals alone", floor),
            Side(
                "statsmodels_refits",
                "ours, restricted refits by statsmodels GLM (before the kernel)",
                ours_statsmodels_refits,
            ),
            Side("curve", "ours: the specification curve alone", lambda d: _curve(d)),
            Side("power", "ours: the power simulation alone", lambda d: _power(d)),
        ),
    ),
]


__all__ = ["CASES", "floor_fit", "ours_effect_stage"]
