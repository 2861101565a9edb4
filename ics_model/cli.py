"""The ``ics-model`` command line: with :mod:`ics_model.cli_tables`, the only place that prints.

Exit codes: 0 success; 2 an invalid configuration, input data or command line (one
message, no traceback); 1 an output that cannot be written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ics_model import __version__
from ics_model.cli_tables import console, print_summary, short_name
from ics_model.config import RunConfig, load_config, with_overrides
from ics_model.result import Result
from ics_model.spec import ConfigError

app = typer.Typer(
    name="ics-model",
    help="Model English integrated care systems from CQC ratings and public data. "
    "ICS figures are modelled constructs: there are no official ICS ratings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # ``code`` in the docstrings renders as code, not backticks
    epilog=(
        "Examples:\n\n"
        "  ics-model run                                  (embedded data, outputs/)\n\n"
        "  ics-model run configs/partnership_heavy.yaml --out results --geo results/ics.gpkg\n\n"
        "  ics-model report --out outputs/report.html\n\n"
        "  ics-model compare configs/default.yaml configs/equal_weights.yaml\n\n"
        "  ics-model rules check --out outputs\n\n"
        "  ics-model verify outputs\n\n"
        "Exit codes: 0 ok; 2 invalid config, input data or usage (one message); 1 an output "
        "that cannot be written."
    ),
)
datasets_app = typer.Typer(
    help="Build and check the embedded processed tables.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(datasets_app, name="datasets")
rules_app = typer.Typer(
    help="Rating rule sets: list them, check them against CQC.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(rules_app, name="rules")
metrics_app = typer.Typer(
    help="The metric catalogue.", no_args_is_help=True, rich_markup_mode="markdown"
)
app.add_typer(metrics_app, name="metrics")

err_console = Console(stderr=True)


def _fail(message: str, code: int) -> None:
    err_console.print("[bold red]error:[/]", escape(message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _load(config: Path | None) -> RunConfig:
    try:
        return load_config(config)
    except ConfigError as exc:
        _fail(str(exc), 2)
    raise AssertionError("unreachable")  # _fail exits


def _override(cfg: RunConfig, overrides: dict[str, Any], flags: str = "") -> RunConfig:
    """Return the config with command-line overrides, validated by the config's own models."""
    try:
        return with_overrides(cfg, overrides)
    except ConfigError as exc:
        _fail(f"{flags}: {exc}" if flags else str(exc), 2)
    raise AssertionError("unreachable")  # _fail exits


def _setup_logging(verbose: bool, quiet: bool = False) -> None:
    level = logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)


def _show_version(value: bool) -> None:
    if value:
        console.print(f"ics_model {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Show the version and exit.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Model English integrated care systems from CQC ratings and public data."""


@app.command()
def run(
    config: Annotated[Path | None, typer.Argument(help="Run config (YAML).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("outputs"),
    geo: Annotated[
        Path | None,
        typer.Option("--geo", help="Also write the ICS layer to this GeoPackage (.gpkg)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="Run the resampling (Monte Carlo, curve permutations, power simulations) "
            "on this many local processes (0 = in-process)."
        ),
    ] = 0,
    dask: Annotated[
        str | None,
        typer.Option(help="Address of a Dask scheduler (e.g. tcp://10.0.0.5:8786) to run on."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the main job and write the ICS views, metrics, reports and manifest.

    The run is also stored in ``<out>/.run/`` for ``ics-model report`` to reuse.

    Examples: ``ics-model run`` (embedded data, configs/default.yaml, outputs/);
    ``ics-model run configs/default.yaml --out results --geo results/ics.gpkg``;
    ``ics-model run --workers 2`` (the same results, resampling on 2 processes).
    """
    from ics_model.outputs import OutputError, write_outputs
    from ics_model.run_store import run_key, store_run

    _setup_logging(verbose, quiet)
    cfg = _load(config)
    if geo is not None and geo.suffix.lower() != ".gpkg":
        _fail(f"--geo must name a .gpkg file, got {geo}", 2)
    key = run_key(cfg)  # before running: the inputs as the run reads them
    try:
        with _executor(workers, dask) as executor:
            result = _run(cfg, "Loading, placing and counting ratings...", quiet, executor=executor)
        written = write_outputs(result, out)
        store_run(result, out, key=key)
        if geo is not None:
            from ics_model.geo import write_geopackage

            try:
                geo.parent.mkdir(parents=True, exist_ok=True)
                written.append(write_geopackage(result, geo))
            except OSError as exc:
                raise OutputError(f"cannot write {geo}: {exc.strerror or exc}") from None
    except OutputError as exc:
        _fail(str(exc), 1)
    if quiet:
        return
    print_summary(result)
    console.print(
        f"Wrote {len(written)} files to [bold]{out}[/]: " + ", ".join(p.name for p in written)
    )


def _write(tables: dict[str, Any], out: Path) -> list[Path]:
    """Write a command's tables into ``out``; an output that cannot be written exits 1."""
    from ics_model.outputs import OutputError, write_tables

    try:
        return write_tables(tables, out)
    except OutputError as exc:
        _fail(str(exc), 1)
    raise AssertionError("unreachable")  # _fail exits


@contextmanager
def _executor(workers: int, dask: str | None) -> Iterator[Executor | None]:
    """Where the resampling runs: a Dask cluster, ``workers`` local processes, or in-process.

    Results are identical for a seed whichever is used (chunks are seeded, not the workers).
    """
    if workers < 0:
        _fail(f"--workers must be 0 or more, got {workers}", 2)
    if dask is not None:
        try:
            from distributed import Client
        except ImportError:
            _fail("--dask needs the 'distributed' extra: pip install 'ics_model[distributed]'", 2)
        client = Client(dask)
        try:
            yield client.get_executor()
        finally:
            client.close()
    elif workers > 0:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            yield pool
        finally:
            pool.shutdown()
    else:
        yield None


def _run(cfg: RunConfig, status: str, quiet: bool, **kwargs: Any) -> Result:
    """Run the pipeline under a status line; invalid input data exits 2 with one message."""
    from ics_model.contracts import DataContractError
    from ics_model.data.base import SourceReadError
    from ics_model.pipeline import run as run_pipeline

    try:
        with console.status(status) if not quiet else nullcontext():
            return run_pipeline(cfg, **kwargs)
    except (ConfigError, DataContractError, SourceReadError, ValueError) as exc:
        _fail(str(exc), 2)
    raise AssertionError("unreachable")  # _fail exits


@app.command()
def report(
    config: Annotated[Path | None, typer.Argument(help="Run config (YAML).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")] = Path(
        "outputs/report.html"
    ),
    from_run: Annotated[
        Path | None,
        typer.Option(
            "--from-run",
            help="Output folder of an earlier run whose stored run to reuse "
            "(default: the folder of --out).",
        ),
    ] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Run the pipeline even when a stored run matches.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Write one self-contained HTML report (images inline) of the main job.

    The run stored by ``ics-model run`` (or an earlier report) in the folder of ``--out``,
    or in ``--from-run``, is reused when it had the same config, inputs and code (the
    report is then the same as after a new run); otherwise the pipeline runs and its run
    is stored there. ``--fresh`` always runs it. Example: ``ics-model run`` then
    ``ics-model report --out outputs/report.html``.
    """
    from ics_model.report import write_report
    from ics_model.run_store import load_run, run_key, run_path, store_run

    _setup_logging(False, quiet)
    cfg = _load(config)
    folder = out.parent if from_run is None else from_run
    key = run_key(cfg)
    result = None if fresh else load_run(cfg, folder, key=key)
    if result is not None:
        done = f"Reused the run stored at {run_path(key, folder)} (same config, inputs and code)"
    else:
        result = _run(cfg, "Running...", quiet)
        stored = store_run(result, folder, key=key)
        done = "Ran the pipeline" + (f" (stored at {stored})" if stored is not None else "")
    if not quiet:
        console.print(escape(done), highlight=False, soft_wrap=True)
    try:
        with console.status("Drawing...") if not quiet else nullcontext():
            path = write_report(result, out)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}", 1)
    if not quiet:
        console.print(f"Wrote the report to [bold]{path}[/]")


@app.command()
def uncertainty(
    config: Annotated[Path | None, typer.Argument(help="Run config (YAML).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("outputs"),
    draws: Annotated[
        int | None, typer.Option(help="Override uncertainty.draws (Monte Carlo draws).")
    ] = None,
    workers: Annotated[
        int, typer.Option(help="Spread chunks over this many local processes (0 = in-process).")
    ] = 0,
    dask: Annotated[
        str | None,
        typer.Option(help="Address of a Dask scheduler (e.g. tcp://10.0.0.5:8786) to run on."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Monte Carlo uncertainty and Sobol sensitivity of the modelled composite ranks.

    Writes uncertainty.csv (median rank, 5-95% interval, P(top/bottom k), score interval),
    sensitivity.csv (Sobol indices, when uncertainty.sobol.enabled) and
    uncertainty_assumptions.csv. Example: ``ics-model uncertainty --draws 100000
    --workers 2``; on a Dask cluster: ``--dask tcp://scheduler:8786``.
    """
    from rich.progress import Progress

    from ics_model.outputs import uncertainty_tables

    _setup_logging(False, quiet)
    cfg = _load(config)
    if cfg.composite is None:
        _fail("composite is null: there is no composite to analyse", 2)
    # the uncertainty analysis only: no scenarios or effect; --draws through the same model
    overrides: dict[str, Any] = {"scenarios": (), "effect.enabled": False}
    if cfg.uncertainty is None:
        overrides["uncertainty"] = {}
    if draws is not None:
        overrides["uncertainty.draws"] = draws
    cfg = _override(cfg, overrides, "--draws" if draws is not None else "")
    spec = cfg.uncertainty
    with _executor(workers, dask) as executor, Progress(console=console, disable=quiet) as bar:
        task = bar.add_task(f"{spec.draws:,} draws", total=spec.draws)
        result = _run(
            cfg,
            "Running...",
            True,
            executor=executor,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    written = _write(uncertainty_tables(result.uncertainty), out)
    if quiet:
        return
    unc = result.uncertainty.per_ics.filter(pl.col("rank").is_not_null()).sort("rank")
    table = Table(
        title="Composite rank with its 5-95% interval (modelled)",
        caption=f"{spec.draws:,} draws; assumptions: weights, methods, sampling of "
        "providers and metrics as configured (uncertainty_assumptions.csv)",
    )
    for col in ("ICB", "rank", "median", "5-95%", f"P(top {spec.top_k})"):
        table.add_column(col, justify="left" if col == "ICB" else "right")
    for r in unc.to_dicts():
        table.add_row(
            short_name(r["icb_name"]),
            str(r["rank"]),
            f"{r['rank_median']:.0f}",
            f"{r['rank_p05']:.0f}-{r['rank_p95']:.0f}",
            f"{r['p_top_k']:.2f}",
        )
    console.print(table)
    console.print(f"Wrote {', '.join(p.name for p in written)} to {out}")


@app.command()
def verify(
    folder: Annotated[Path, typer.Argument(help="An output folder written by 'run'.")],
) -> None:
    """Recompute the sha256 of every output listed in the folder's manifest.json."""
    from ics_model.outputs import OutputError, verify_outputs

    try:
        problems = verify_outputs(folder)
    except OutputError as exc:
        _fail(str(exc), 1)
    if problems:
        _fail(
            f"{folder}: {len(problems)} output(s) differ from the manifest:\n  "
            + "\n  ".join(problems),
            1,
        )
    console.print(f"[green]verified[/]: every output in {folder} matches its manifest hash")


@app.command()
def validate(
    config: Annotated[Path, typer.Argument(help="Run config (YAML) to check.")],
) -> None:
    """Check a run config without running it (keys, values and the names it refers to)."""
    cfg = _load(config)  # loading checks everything a run needs from the config
    console.print(f"[green]valid[/]: {config} (name: {cfg.name})")


@datasets_app.command("build")
def datasets_build(
    out: Annotated[Path | None, typer.Option(help="Folder for the processed tables.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Rebuild the processed Parquet tables from datasets/raw (deterministic)."""
    from ics_model.data.build import build_processed, readme_with_sources_table
    from ics_model.data.bundled import datasets_dir

    _setup_logging(verbose)
    with console.status("Building processed tables..."):
        built = build_processed(out)
        readme = datasets_dir() / "README.md"
        if out is None and readme.exists():
            readme.write_text(
                readme_with_sources_table(readme.read_text(encoding="utf-8")), encoding="utf-8"
            )
    for name, rows in built.items():
        console.print(f"{name}: {rows:,} rows")


@datasets_app.command("list")
def datasets_list() -> None:
    """List the embedded raw sources: publisher, vintage, licence and file."""
    from ics_model.data.sources import SOURCES

    table = Table(
        title="Embedded data (datasets/raw; provenance in datasets/README.md)", show_lines=True
    )
    for col in ("source", "publisher", "vintage", "licence"):
        table.add_column(col)
    for s in SOURCES.values():
        table.add_row(s.name, s.publisher, s.vintage, s.licence)
    console.print(table)


@datasets_app.command("check")
def datasets_check() -> None:
    """Rebuild in memory and compare with the committed processed tables."""
    from ics_model.data.build import check_processed

    problems = check_processed()
    if problems:
        _fail("processed tables differ from a rebuild:\n  " + "\n  ".join(problems), 1)
    console.print("[green]processed tables match a rebuild from raw[/]")


@app.command()
def compare(
    config_a: Annotated[Path, typer.Argument(help="First run config (YAML).")],
    config_b: Annotated[Path, typer.Argument(help="Second run config (YAML).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write compare.csv here.")] = (
        None
    ),
) -> None:
    """Compare the modelled composite of two configs.

    Rank shifts, their drivers, rank correlation. Example:
    ``ics-model compare configs/default.yaml configs/equal_weights.yaml``.
    """
    from ics_model.composite import compare as compare_composites
    from ics_model.composite import compare_summary

    _setup_logging(False, quiet=True)
    results = []
    for path in (config_a, config_b):
        cfg = _load(path)
        if cfg.composite is None:
            _fail(f"{path}: composite is null: nothing to compare", 2)
        # ranks only: uncertainty, scenarios and the effect are not needed to compare them
        cfg = _override(cfg, {"uncertainty": None, "scenarios": (), "effect.enabled": False})
        result = _run(cfg, f"Running {path.name}...", False)
        if result.composite is None:
            _fail(f"{path}: the run has no composite (metrics switched off)", 2)
        results.append(result.composite.built)
    table_df = compare_composites(*results)
    summary = compare_summary(*results)
    moved = table_df.filter(pl.col("rank_shift").is_not_null() & (pl.col("rank_shift") != 0))
    moved = moved.sort(pl.col("rank_shift").abs(), descending=True)
    shown = min(15, moved.height)
    table = Table(
        title=f"Rank shifts: {config_a.name} -> {config_b.name} (modelled)",
        caption=f"the {shown} largest of {summary['n_moved']} ICSs that moved"
        + (" (all in compare.csv)" if out is not None else "")
        + f"; Spearman {summary['spearman']:.3f}, Kendall {summary['kendall']:.3f}; largest "
        f"shift {summary['max_shift']}",
    )
    for col in ("ICB", "code", "rank A", "rank B", "shift", "driver pillar"):
        table.add_column(
            col, justify="left" if col in ("ICB", "code", "driver pillar") else "right"
        )
    for r in moved.head(shown).to_dicts():
        table.add_row(
            short_name(r["icb_name"]),
            r["icb_code"],
            str(r["rank_a"]),
            str(r["rank_b"]),
            f"{r['rank_shift']:+d}",
            r["driver_pillar"] or "-",
        )
    console.print(table)
    if out is not None:
        from ics_model.outputs import compare_tables

        written = _write(compare_tables(table_df), out)
        console.print(f"Wrote {', '.join(p.name for p in written)} to {out}")


@rules_app.command("list")
def rules_list() -> None:
    """List the shipped rule sets."""
    from ics_model.rules import available_rule_sets, get_rule_set

    table = Table(title="Rule sets (configs/rules)")
    for col in ("name", "kind", "version", "description"):
        table.add_column(col)
    for name in available_rule_sets():
        rs = get_rule_set(name)
        table.add_row(rs.name, rs.kind, rs.version, rs.description)
    console.print(table)


@rules_app.command("check")
def rules_check(
    rule_set: Annotated[str, typer.Option("--rule-set", help="Rule set name or YAML.")] = (
        "cqc_principles"
    ),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for CSVs.")] = None,
    nof: Annotated[
        bool,
        typer.Option(
            "--nof",
            help="Re-derive the published NHS Oversight Framework 2025/26 segments instead "
            "(rule set nof_2025_26 unless --rule-set names another nof rule set).",
        ),
    ] = False,
) -> None:
    """Re-derive CQC's published 2018 aggregates and report agreement and disagreements.

    With ``--nof``: re-derive every published NOF 2025/26 segment from the average metric
    score and the deficit flag (and each domain segment from its score).
    """
    if nof:
        _rules_check_nof("nof_2025_26" if rule_set == "cqc_principles" else rule_set, out)
        return
    from ics_model.data.build import load_processed
    from ics_model.data.sources import SOURCES
    from ics_model.rules import check_against_published

    try:
        result = check_against_published(load_processed("cqc_trust_ratings"), rule_set)
    except KeyError as exc:
        _fail(str(exc.args[0]), 2)
    except (TypeError, ConfigError) as exc:
        _fail(str(exc), 2)
    vintage = SOURCES["cqc_trust_ratings_2018"].vintage
    table = Table(
        title=f"Rule set {result.rule_set} against published CQC ratings",
        caption=f"Data: CQC Latest ratings {vintage}. {result.note}",
    )
    for col in ("level", "published ratings", "reproduced", "agreement", "NHS trusts only"):
        table.add_column(col, justify="left" if col == "level" else "right")
    for r in result.summary.to_dicts():
        table.add_row(
            r["level"],
            str(r["n"]),
            str(r["n_agree"]),
            f"{r['agreement']:.1%}",
            f"{r['n_nhs_agree']}/{r['n_nhs']}",
        )
    console.print(table)
    dis = Table(title="Disagreements")
    for col in ("level", "provider", "service", "inputs", "published", "derived", "class"):
        dis.add_column(col)
    for r in result.disagreements.to_dicts():
        dis.add_row(
            r["level"],
            r["provider_id"],
            r["service"],
            r["inputs"],
            r["published"],
            r["derived"] or "-",
            r["disagreement_class"],
        )
    console.print(dis)
    classes = result.disagreements.group_by("disagreement_class", "explanation").len()
    for r in classes.sort("len", descending=True).to_dicts():
        console.print(f"- [bold]{r['disagreement_class']}[/] ({r['len']}): {r['explanation']}")
    if out is not None:
        from ics_model.outputs import rules_check_tables

        written = _write(rules_check_tables(result), out)
        console.print(f"Wrote {', '.join(p.name for p in written)} to {out}")


def _rules_check_nof(rule_set: str, out: Path | None) -> None:
    """Print (and write) the check of a nof rule set against the published NOF segments."""
    from ics_model.data.nof import read_nof_segments
    from ics_model.data.sources import SOURCES
    from ics_model.rules.nof import check_nof

    try:
        result = check_nof(read_nof_segments().frame, rule_set)
    except KeyError as exc:
        _fail(str(exc.args[0]), 2)
    except (TypeError, ConfigError) as exc:
        _fail(str(exc), 2)
    vintage = SOURCES["nhs_trust_types_2026"].vintage
    console.print(f"Rule set {result.rule_set}: {result.line} published NOF segments")
    table = Table(
        title=f"Rule set {result.rule_set} against the published NOF segments",
        caption=f"Data: NHS Oversight Framework {vintage}; segments 1 (best) to 4; "
        "lower is better. The overall segment on the acute league table.",
    )
    for col in ("measure", "published", "reproduced", "agreement"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for r in result.summary.to_dicts():
        table.add_row(r["measure"], str(r["n"]), str(r["n_agree"]), f"{r['agreement']:.1%}")
    console.print(table)
    dis = Table(title=f"Disagreements ({result.disagreements.height})")
    for col in ("trust", "measure", "score", "in deficit", "published", "derived", "reason"):
        dis.add_column(col)
    for r in result.disagreements.to_dicts():
        dis.add_row(
            f"{r['org_code']} {r['org_name'] or ''}",
            r["measure"],
            f"{r['score']:.2f}",
            "-" if r["in_deficit"] is None else str(r["in_deficit"]),
            str(r["published"]),
            str(r["derived"]),
            r["reason"],
        )
    console.print(dis)
    if out is not None:
        from ics_model.outputs import nof_check_tables

        written = _write(nof_check_tables(result), out)
        console.print(f"Wrote {', '.join(p.name for p in written)} to {out}")


@metrics_app.command("list")
def metrics_list(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown.")] = False,
) -> None:
    """List every ICS metric with its definition, unit, direction, source and vintage."""
    from ics_model.metrics.system import METRIC_CATALOGUE, catalogue_markdown

    if markdown:
        typer.echo(catalogue_markdown(), nl=False)
        return
    table = Table(title="ICS metrics (ics_metrics.csv)", show_lines=True)
    for col in ("metric", "pillar", "direction", "unit", "definition", "vintage"):
        table.add_column(col)
    for e in METRIC_CATALOGUE:
        table.add_row(
            e["metric"], e["pillar"], e["direction"], e["unit"], e["definition"], e["vintage"]
        )
    console.print(table)


def main() -> None:  # pragma: no cover
    """Run the ``ics-model`` command line."""
    app()
