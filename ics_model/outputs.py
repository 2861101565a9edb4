"""Writing a run's outputs, atomically and verifiably.

Every output is first written into a temporary folder inside the output folder; only
when all are written (and hashed) is each moved into place with an atomic rename. A
run that fails while writing leaves the previous outputs untouched and no temporary
files behind. ``manifest.json`` records the validated config, the sha256 of every
input and every output file, the package version and the time; :func:`verify_outputs`
recomputes the output hashes (``ics-model verify DIR``).

Given the same config, data and seed, every output file is byte-identical between runs;
only ``manifest.json``'s ``created_utc`` changes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ics_model import __version__
from ics_model.config import config_to_dict
from ics_model.data.sources import sha256_file
from ics_model.output_folder import (
    _HOST,
    _TMP_PREFIX,
    MANIFEST,
    OutputError,
    read_manifest,
    remove_abandoned,
    remove_stale,
)
from ics_model.output_folder import (
    verify_outputs as verify_outputs,  # re-exported: ics_model.outputs.verify_outputs
)
from ics_model.result import MODELLED_NOTE, Effect, NofRecord, NofScenario, Result, Scenario
from ics_model.rules.check import CheckResult
from ics_model.rules.nof import NofCheck
from ics_model.scenarios.spec import output_stem
from ics_model.uncertainty import UncertaintyResult

log = logging.getLogger(__name__)


def _scenario_tables(sc: Scenario) -> dict[str, pl.DataFrame | dict]:
    stem = output_stem(sc.spec)
    tables: dict[str, pl.DataFrame | dict] = {
        f"{stem}.csv": sc.result.providers,
        f"{stem}_by_ics.csv": sc.result.by_ics,
    }
    if sc.sweep is not None:
        tables[f"{stem}_sweep.csv"] = sc.sweep
    if sc.threshold_uncertainty is not None:
        tables[f"{stem}_threshold_uncertainty.csv"] = sc.threshold_uncertainty
    tables[f"{stem}.json"] = {
        "scenario": sc.spec.model_dump(mode="json"),
        "national": sc.result.national.to_dicts(),
        "notes": list(sc.result.notes),
        "label": "modelled scenario: a rule CQC has not adopted, applied to published ratings",
    }
    return tables


def effect_dict(effect: Effect) -> dict:
    """Return the collaboration effect as written to ``collaboration_effect.json``.

    Besides the headline test's fields: the specification curve's summary per period, its
    joint test, the placebo verdict, the power simulation's minimum detectable effect, and
    a plain-English ``conclusion`` generated from these numbers
    (:func:`ics_model.effects.conclusion.plain_conclusion`).
    """
    from ics_model.effects.conclusion import plain_conclusion

    out: dict = {"skipped": effect.skipped} if effect.result is None else effect.result.to_dict()
    if effect.result is not None:
        if effect.warning is not None:
            out["warning"] = effect.warning
        out["population"] = effect.population
    if effect.curve is not None:
        c = effect.curve
        out["curve_summary"] = c.summary.to_dicts()
        out["curve_joint_test"] = c.joint.to_dicts()
        out["placebo"] = c.placebo_text
    if effect.power is not None:
        out["power"] = {k: v for k, v in effect.power.to_dict().items() if k not in ("method",)} | {
            "method": effect.power.method
        }
    if effect.result is not None or effect.curve is not None:
        out["conclusion"] = plain_conclusion(effect.result, effect.curve, effect.power)
    return out


def output_tables(result: Result) -> dict[str, pl.DataFrame | dict]:
    """File name -> frame (``.csv``/``.parquet``) or JSON-able dict, for one run's result.

    The only place that names output files. Optional outputs (metrics, composite,
    uncertainty, scenarios, effect, the placement checks of sectors placed by
    coordinates, rating history) appear when the result holds them; ``quarantine.csv``,
    ``unmapped.csv``, ``superseded.csv`` and ``set_aside.csv`` are always written (header
    only when empty).
    """
    v, c, m = result.views, result.conservation, result.metrics
    tables: dict[str, pl.DataFrame | dict] = {
        "ics_view.csv": v.ics_view,
        "ics_view.parquet": v.ics_view,
        "providers.csv": v.mapped,
        "unmapped.csv": c.unmapped,
        "quarantine.csv": c.quarantine,
        "superseded.csv": c.superseded,
        "set_aside.csv": c.set_aside,
        "conservation.csv": c.table,
    }
    if c.placement_checks is not None:
        tables["placement_checks.csv"] = c.placement_checks
    if v.ics_modelled.height:
        tables["ics_modelled_ratings.csv"] = v.ics_modelled
    if v.by_trust_type is not None:
        tables["ics_view_by_trust_type.csv"] = v.by_trust_type
    if v.ambulance_allocation is not None and v.ambulance_allocation.height:
        tables["ambulance_allocation.csv"] = v.ambulance_allocation
    if v.geography is not None:
        tables["icb_geography.csv"] = v.geography
    if m.computed:
        tables["ics_metrics.csv"] = m.ics_metrics
        tables["ics_metrics.parquet"] = m.ics_metrics
        tables["provider_partnership.csv"] = m.provider_partnership
        tables["ics_flow_matrix.csv"] = m.flow_matrix
    if m.gp_quintiles is not None:
        tables["gp_quintiles.csv"] = m.gp_quintiles
    if result.uncertainty is not None:
        tables.update(uncertainty_tables(result.uncertainty))
    if result.composite is not None:
        built = result.composite.built
        tables["composite.csv"] = built.scores
        tables["composite.parquet"] = built.scores
        tables["composite_indicators.csv"] = built.indicators
        tables["composite_weights.csv"] = built.weights
        tables["correlations.csv"] = result.composite.correlations
    if result.effect is not None:
        tables["collaboration_effect.json"] = effect_dict(result.effect)
        tables.update(effect_tables(result.effect))
    if result.history is not None:
        h = result.history
        tables["ratings_in_force.csv"] = h.in_force
        tables["rating_transitions.csv"] = h.transitions
        tables["ics_rating_transitions.csv"] = h.ics_transitions
        tables["ics_rating_transition_summary.csv"] = h.ics_summary
    if result.nof is not None:
        tables.update(nof_tables(result.nof))
    for sc in result.scenarios:
        tables.update(_scenario_tables(sc))
    for ns in result.nof_scenarios:
        tables.update(_nof_scenario_tables(ns))
    return tables


def _nof_scenario_tables(sc: NofScenario) -> dict[str, pl.DataFrame | dict]:
    stem = output_stem(sc.spec)
    tables: dict[str, pl.DataFrame | dict] = {
        f"{stem}.csv": sc.result.trusts,
        f"{stem}_by_ics.csv": sc.result.by_ics,
    }
    if sc.sweep is not None:
        tables[f"{stem}_sweep.csv"] = sc.sweep
    tables[f"{stem}.json"] = {
        "scenario": sc.spec.model_dump(mode="json"),
        "national": sc.result.national.to_dicts(),
        "notes": list(sc.result.notes),
        "label": "modelled scenario: a rule NHS England has not adopted, applied to the "
        "published NOF segments (lower is better)",
    }
    return tables


def nof_tables(nof: NofRecord) -> dict[str, pl.DataFrame]:
    """Return the NOF files: trusts placed, rows not placed, the ICS roll-up, the check."""
    tables = {
        "nof_trusts.csv": nof.trusts,
        "nof_unplaced.csv": nof.unplaced,
        "ics_nof.csv": nof.ics,
        "nof_check_summary.csv": nof.check,
    }
    if nof.correlation is not None:
        tables["nof_cqc_correlation.csv"] = nof.correlation
    if nof.unmatched is not None:
        tables["nof_cqc_unmatched.csv"] = nof.unmatched
    return tables


def effect_tables(effect: Effect) -> dict[str, pl.DataFrame]:
    """Return the specification curve's and the power simulation's files."""
    tables: dict[str, pl.DataFrame] = {}
    if effect.curve is not None:
        c = effect.curve
        tables |= {
            "specification_curve.csv": c.curve,
            "specification_curve_summary.csv": c.summary,
            "specification_curve_placebo.csv": c.placebo,
            "specification_curve_joint_test.csv": c.joint,
            "specification_curve_skipped.csv": c.skipped,
        }
    if effect.power is not None:
        tables["effect_power.csv"] = effect.power.table
    return tables


def output_figures(result: Result) -> dict[str, Callable[[], Any]]:
    """Chart outputs: file name -> a function drawing it (written as PNG by the run).

    ``specification_curve.png`` and ``power_curve.png`` when the run has them.
    """
    from ics_model import plot

    figures: dict[str, Callable[[], Any]] = {}
    effect = result.effect
    vintages = result.provenance.vintages
    if effect is not None and effect.curve is not None and effect.curve.curve.height:
        curve = effect.curve.curve
        figures["specification_curve.png"] = lambda: plot.specification_curve(
            curve, footnote=vintages
        )
    if effect is not None and effect.power is not None:
        power = effect.power
        figures["power_curve.png"] = lambda: plot.power_curve(
            power.table, mde=power.min_detectable_effect, footnote=vintages
        )
    return figures


def _write_figure(draw: Callable[[], Any], path: Path) -> None:
    """Draw a chart and write it as PNG (no timestamp or software metadata: reproducible)."""
    import matplotlib.pyplot as plt

    ax = draw()
    fig = ax.figure if hasattr(ax, "figure") else ax
    try:
        fig.savefig(path, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    finally:
        plt.close(fig)


def uncertainty_tables(unc: UncertaintyResult) -> dict[str, pl.DataFrame]:
    """Return the uncertainty analysis's files: ranks, assumptions varied and Sobol indices."""
    out = {"uncertainty.csv": unc.per_ics, "uncertainty_assumptions.csv": unc.draws_summary}
    if unc.sobol is not None:
        out["sensitivity.csv"] = unc.sobol
    return out


def compare_tables(table: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Return the file of ``ics-model compare``: rank shifts per ICS."""
    return {"compare.csv": table}


def rules_check_tables(check: CheckResult) -> dict[str, pl.DataFrame]:
    """Return the files of ``ics-model rules check``: summary, confusion, disagreements."""
    return {
        "rules_check_summary.csv": check.summary,
        "rules_check_confusion.csv": check.confusion,
        "rules_check_disagreements.csv": check.disagreements,
    }


def nof_check_tables(check: NofCheck) -> dict[str, pl.DataFrame]:
    """Return the files of ``ics-model rules check --nof``: summary and disagreements.

    Named ``rules_check_nof_*`` so that they never replace the run's own
    ``nof_check_summary.csv`` when both are written to one folder.
    """
    return {
        "rules_check_nof_summary.csv": check.summary,
        "rules_check_nof_disagreements.csv": check.disagreements,
    }


def write_tables(tables: dict[str, pl.DataFrame | dict], out: str | Path) -> list[Path]:
    """Write a command's tables (file name -> frame or dict) into ``out``.

    Raises
    ------
    OutputError
        ``out`` cannot be created or a file cannot be written (the message names the path).
    """
    out = Path(out)
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, table in tables.items():
            written.append(write_fresh(out / name, lambda p, t=table: _write_one(t, p)))
    except OSError as exc:
        raise OutputError(f"cannot write outputs to {out}: {exc.strerror or exc}") from None
    return written


def write_fresh(target: Path, write: Callable[[Path], None]) -> Path:
    """Write ``target`` through a new file beside it, then rename it into place.

    ``write(path)`` writes a file created fresh by this call (``mkstemp``: exclusive, never
    an existing file or link), which then replaces ``target`` by rename: a link placed at
    ``target`` is replaced itself, and whatever it pointed to is never written. The
    temporary file keeps ``target``'s suffix (writers choose the format by it) and is
    removed if anything fails.
    """
    fd, name = tempfile.mkstemp(
        prefix=f".{target.stem[:60]}.", suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _write_one(table: pl.DataFrame | dict, path: Path) -> None:
    if isinstance(table, dict):
        path.write_text(
            json.dumps(table, indent=2, default=str, sort_keys=True) + "\n", encoding="utf-8"
        )
    elif path.suffix == ".parquet":
        table.write_parquet(path, compression="zstd", statistics=False)
    elif path.suffix == ".csv":
        table.write_csv(path)
    else:
        raise ValueError(f"unknown output type for {path.name}")


def manifest(result: Result, outputs: dict[str, str]) -> dict:
    """Return the run manifest: validated config, inputs and outputs with sha256, version, time."""
    return {
        "tool": "ics_model",
        "version": __version__,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": MODELLED_NOTE,
        "config": config_to_dict(result.config),
        "inputs": [vars(i) for i in result.provenance.inputs],
        "vintages": result.provenance.vintages,
        "outputs": dict(sorted(outputs.items())),
        "conservation": result.conservation.table.to_dicts(),
    }


def write_outputs(
    result: Result,
    out: str | Path,
    *,
    _before_move: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write a run's outputs into ``out`` (see the module docstring).

    When all are in place, the outputs of the folder's earlier run that this run does not
    write are removed (:func:`remove_stale`), so that none passes as this run's.

    Raises
    ------
    OutputError
        ``out`` cannot be created or written (e.g. it lies under a regular file), or a
        write failed; the previous outputs are then left as they were.
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        remove_abandoned(out)
        tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{_HOST}-{os.getpid()}-", dir=out))
    except OSError as exc:
        raise OutputError(f"cannot write outputs to {out}: {exc.strerror or exc}") from None
    try:
        earlier = read_manifest(out / MANIFEST)["outputs"]
    except OutputError as exc:  # absent (a new folder), or not one this package wrote
        earlier = {}
        if (out / MANIFEST).exists():
            log.warning("%s; no earlier output is removed", exc)
    written: list[Path] = []
    try:
        hashes = {}
        for name, table in output_tables(result).items():
            _write_one(table, tmp / name)
            hashes[name] = sha256_file(tmp / name)
        for name, draw in output_figures(result).items():
            _write_figure(draw, tmp / name)
            hashes[name] = sha256_file(tmp / name)
        (tmp / MANIFEST).write_text(
            json.dumps(manifest(result, hashes), indent=2, default=str) + "\n", encoding="utf-8"
        )
        if _before_move is not None:  # a hook for tests that inject a failure
            _before_move(tmp)
        for f in sorted(tmp.iterdir()):
            target = out / f.name
            os.replace(f, target)
            written.append(target)
    except OSError as exc:
        raise OutputError(f"cannot write outputs to {out}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("wrote %d files to %s", len(written), out)
    remove_stale(out, earlier, keep=hashes)
    return written
