"""The ``ics-model`` command line: with :mod:`ics_model.cli_tables`, the only place that prints.

Exit codes: 0 success; 2 an invalid configuration, input data or command line (one
message, no traceback); 1 an output that cannot be written.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from ics_model import __version__
from ics_model.cli_rules import metrics_app, rules_app
from ics_model.cli_tables import (
    AllowCurrentFolder,
    console,
    fail,
    output_file_or_exit,
    output_folder_or_exit,
    print_summary,
    short_name,
    write_tables_or_exit,
)
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
app.add_typer(rules_app, name="rules")
app.add_typer(metrics_app, name="metrics")


#: the most local processes ``--workers`` may start: 4 per CPU, or 64 on a small machine
#: (more only queue for the same cores, each holding its own copy of the data).
MAX_WORKERS = max(64, 4 * (os.cpu_count() or 1))


def _load(config: Path | None) -> RunConfig:
    try:
        return load_config(config)
    except ConfigError as exc:
        fail(str(exc), 2)
    raise AssertionError("unreachable")  # _fail exits


def _override(cfg: RunConfig, overrides: dict[str, Any], flags: str = "") -> RunConfig:
    """Return the config with command-line overrides, validated by the config's own models."""
    try:
        return with_overrides(cfg, overrides)
    except ConfigError as exc:
        fail(f"{flags}: {exc}" if flags else str(exc), 2)
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
    allow_current_folder: AllowCurrentFolder = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also print the library's progress messages.")
    ] = False,
) -> None:
    """Run the main job and write the ICS views, metrics, reports and manifest.

    The run is also stored in ``<out>/.run/`` for ``ics-model report`` to reuse. Outputs
    of the folder's earlier run (listed by its manifest.json) that this run does not write
    are removed, unless changed since. ``--out`` may not be the current folder (or one
    above it, the home folder, the root) without ``--allow-current-folder``.

    Examples: ``ics-model run`` (embedded data, configs/default.yaml, outputs/);
    ``ics-model run configs/default.yaml --out results --geo results/ics.gpkg``;
    ``ics-model run --workers 2`` (the same results, resampling on 2 processes).
    """
    from ics_model.outputs import OutputError, write_outputs
    from ics_model.run_store import run_key, store_run

    _setup_logging(verbose, quiet)
    output_folder_or_exit(out, allow_current_folder)
    output_file_or_exit(geo, "--geo")
    cfg = _load(config)
    if geo is not None and geo.suffix.lower() != ".gpkg":
        fail(f"--geo must name a .gpkg file, got {geo}", 2)
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
        fail(str(exc), 1)
    if quiet:
        return
    print_summary(result)
    console.print(
        f"Wrote {len(written)} files to [bold]{out}[/]: " + ", ".join(p.name for p in written)
    )


@contextmanager
def _executor(workers: int, dask: str | None) -> Iterator[Executor | None]:
    """Where the resampling runs: a Dask cluster, ``workers`` local processes, or in-process.

    Results are identical for a seed whichever is used (chunks are seeded, not the workers).
    """
    if workers < 0:
        fail(f"--workers must be 0 or more, got {workers}", 2)
    if workers > MAX_WORKERS:
        fail(f"--workers must be at most {MAX_WORKERS} (local processes), got {workers}", 2)
    if dask is not None:
        try:
            from distributed import Client
        except ImportError:
            fail("--dask needs the 'distributed' extra: pip install 'ics_model[distributed]'", 2)
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
        fail(str(exc), 2)
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
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes drawing the figures (default: 2 on a machine with 2 cores or more)."
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Write one self-contained HTML report (images inline) of the main job.

    The run stored by ``ics-model run`` (or an earlier report) in the folder of ``--out``,
    or in ``--from-run``, is reused when it had the same config, inputs and code (the
    report is then the same as after a new run); otherwise the pipeline runs and its run
    is stored there. ``--fresh`` always runs it. Example: ``ics-model run`` then
    ``ics-model report --out outputs/report.html``.
    """
    from ics_model.report_pool import drawing_pool

    output_file_or_exit(out, "--out")
    if workers is not None and workers < 1:
        fail(f"--workers must be 1 or more, got {workers}", 2)
    if workers is not None and workers > MAX_WORKERS:
        fail(f"--workers must be at most {MAX_WORKERS} (drawing processes), got {workers}", 2)
    # the helper process starts first: its imports overlap this process's loading
    with drawing_pool(workers) as pool:
        from ics_model.report import write_report
        from ics_model.run_store import reuse_or_run

        _setup_logging(False, quiet)
        cfg = _load(config)
        folder = out.parent if from_run is None else from_run
        result, done = reuse_or_run(
            cfg, folder, lambda c: _run(c, "Running...", quiet), fresh=fresh
        )
        if not quiet:
            console.print(escape(done), highlight=False, soft_wrap=True)
        try:
            with console.status("Drawing...") if not quiet else nullcontext():
                path = write_report(result, out, executor=pool)
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}", 1)
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
    allow_current_folder: AllowCurrentFolder = False,
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
    output_folder_or_exit(out, allow_current_folder)
    cfg = _load(config)
    if cfg.composite is None:
        fail("composite is null: there is no composite to analyse", 2)
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
    written = write_tables_or_exit(uncertainty_tables(result.uncertainty), out)
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
    """Check an output folder against its manifest.json: exit 0 only if it is one run's.

    Recomputes the sha256 of every output the manifest lists, and fails (exit 1) on one
    missing, changed or outside the folder, and on any file or folder the manifest does
    not list ("not part of this run", e.g. an earlier run's output). Not checked, and
    named: files other commands write there (uncertainty, compare and rules check CSVs,
    HTML reports, GeoPackages); skipped: hidden entries such as the stored run ``.run/``.
    """
    from ics_model.output_folder import OutputError, check_folder

    try:
        found = check_folder(folder)
    except OutputError as exc:
        fail(str(exc), 1)
    if found.problems or found.extras:
        counts = []
        if found.problems:
            counts.append(f"{len(found.problems)} output(s) differ from the manifest")
        if found.extras:
            counts.append(f"{len(found.extras)} file(s) not part of this run")
        fail(f"{folder}: " + "; ".join(counts) + ":\n  " + "\n  ".join(found.messages), 1)
    console.print(
        f"[green]verified[/]: every output in {escape(str(folder))} matches its manifest hash, "
        "and no other file of a run is there",
        highlight=False,
        soft_wrap=True,
    )
    if found.others:
        console.print(
            "not checked: "
            + escape(", ".join(found.others))
            + " (files of other commands, not in the manifest)",
            highlight=False,
            soft_wrap=True,
        )


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
    allow_current_folder: AllowCurrentFolder = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also print the library's progress messages.")
    ] = False,
) -> None:
    """Rebuild the processed Parquet tables from datasets/raw (deterministic)."""
    from ics_model.data.build import build_processed, readme_with_sources_table
    from ics_model.data.bundled import datasets_dir

    output_folder_or_exit(out, allow_current_folder)
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
        fail("processed tables differ from a rebuild:\n  " + "\n  ".join(problems), 1)
    console.print("[green]processed tables match a rebuild from raw[/]")


@app.command()
def compare(
    config_a: Annotated[Path, typer.Argument(help="First run config (YAML).")],
    config_b: Annotated[Path, typer.Argument(help="Second run config (YAML).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write compare.csv here.")] = (
        None
    ),
    allow_current_folder: AllowCurrentFolder = False,
) -> None:
    """Compare the modelled composite of two configs.

    Rank shifts, their drivers, rank correlation. Example:
    ``ics-model compare configs/default.yaml configs/equal_weights.yaml``.
    """
    from ics_model.composite import compare as compare_composites
    from ics_model.composite import compare_summary

    output_folder_or_exit(out, allow_current_folder)
    _setup_logging(False, quiet=True)
    results = []
    for path in (config_a, config_b):
        cfg = _load(path)
        if cfg.composite is None:
            fail(f"{path}: composite is null: nothing to compare", 2)
        # ranks only: uncertainty, scenarios and the effect are not needed to compare them
        cfg = _override(cfg, {"uncertainty": None, "scenarios": (), "effect.enabled": False})
        result = _run(cfg, f"Running {path.name}...", False)
        if result.composite is None:
            fail(f"{path}: the run has no composite (metrics switched off)", 2)
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

        written = write_tables_or_exit(compare_tables(table_df), out)
        console.print(f"Wrote {', '.join(p.name for p in written)} to {out}")


def main() -> None:
    """Run the ``ics-model`` command line (the installed script), then leave at once.

    When the command has finished (exit code set), the exit handlers run (logging,
    process pools), the standard streams are flushed, and the process ends without
    tearing down its modules one by one, which takes half a second once polars,
    matplotlib and geopandas are loaded, and affects nothing: every output is written and
    closed before a command returns. An unexpected exception still propagates with its
    traceback.
    """
    try:
        app()
    except SystemExit as exc:
        code = exc.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
            code = 1
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)


if __name__ == "__main__":
    main()
