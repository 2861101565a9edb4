"""The ``ics-model`` command line: the only place that prints.

Exit codes: 0 success; 1 a data, input or output problem (one message, no
traceback); 2 an invalid configuration or command line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ics_model import __version__
from ics_model.config import ConfigError, load_config

app = typer.Typer(
    name="ics-model",
    help="Model English integrated care systems from CQC ratings and public data. "
    "ICS figures are modelled constructs: there are no official ICS ratings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
datasets_app = typer.Typer(
    help="Build and check the embedded processed tables.", no_args_is_help=True
)
app.add_typer(datasets_app, name="datasets")

console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int) -> None:
    err_console.print("[bold red]error:[/]", escape(message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _load(config: Path | None):
    try:
        return load_config(config)
    except ConfigError as exc:
        _fail(str(exc), 2)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        console.print(f"ics_model {__version__}")
        raise typer.Exit(0)


@app.command()
def run(
    config: Annotated[Path | None, typer.Argument(help="Run config (YAML).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("outputs"),
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the main job and write the ICS views, reports and manifest."""
    from ics_model.contracts import DataContractError
    from ics_model.data.base import SourceReadError
    from ics_model.pipeline import OutputError, write_outputs
    from ics_model.pipeline import run as run_pipeline

    _setup_logging(verbose)
    cfg = _load(config)
    try:
        with console.status("Loading, placing and counting ratings..."):
            result = run_pipeline(cfg)
        written = write_outputs(result, out)
    except (DataContractError, SourceReadError, OutputError, ValueError) as exc:
        _fail(str(exc), 1)
    _print_summary(result)
    console.print(
        f"Wrote {len(written)} files to [bold]{out}[/]: " + ", ".join(p.name for p in written)
    )


def _print_summary(result) -> None:
    view = result.ics_view
    console.print(f"[dim]{result.notes[0]}[/]")
    for sector, vintage in result.vintages.items():
        sub = view.filter(
            (pl.col("sector") == sector)
            & (pl.col("key_question") == "Overall")
            & (pl.col("n_rated") > 0)
        ).sort("share_good_or_outstanding", "n_rated", descending=True)
        if sub.is_empty():
            continue
        table = Table(
            title=f"{sector}: share rated Good or Outstanding (Overall) - top and bottom 5",
            caption=f"Data: {vintage}. 95% Wilson intervals.",
        )
        for col in ("ICB", "rated", "Good or Outstanding", "95% CI", "Outstanding"):
            table.add_column(col, justify="left" if col == "ICB" else "right")
        rows = [*sub.head(5).to_dicts(), None, *sub.tail(5).to_dicts()]
        for r in rows:
            if r is None:
                table.add_row("...", "", "", "", "")
                continue
            table.add_row(
                r["icb_name"].removeprefix("NHS ").removesuffix(" Integrated Care Board"),
                str(r["n_rated"]),
                f"{r['share_good_or_outstanding']:.0%}",
                f"{r['share_good_or_outstanding_lower']:.0%}-"
                f"{r['share_good_or_outstanding_upper']:.0%}",
                f"{r['share_outstanding']:.0%}",
            )
        console.print(table)
    n_unmapped = result.unmapped.height
    console.print(
        f"Unmapped providers: {n_unmapped}; quarantined rows: {result.quarantine.height}; "
        f"superseded rows: {result.superseded.height}."
    )


@app.command()
def validate(
    config: Annotated[Path, typer.Argument(help="Run config (YAML) to check.")],
) -> None:
    """Check a run config without running it."""
    cfg = _load(config)
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


@datasets_app.command("check")
def datasets_check() -> None:
    """Rebuild in memory and compare with the committed processed tables."""
    from ics_model.data.build import check_processed

    problems = check_processed()
    if problems:
        _fail("processed tables differ from a rebuild:\n  " + "\n  ".join(problems), 1)
    console.print("[green]processed tables match a rebuild from raw[/]")


def main() -> None:  # pragma: no cover
    app()
