"""The ``ics-model rules`` and ``ics-model metrics`` commands: rule sets and metric catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ics_model.cli_tables import (
    AllowCurrentFolder,
    console,
    fail,
    output_folder_or_exit,
    write_tables_or_exit,
)
from ics_model.spec import ConfigError

rules_app = typer.Typer(
    help="Rating rule sets: list them, check them against CQC.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
metrics_app = typer.Typer(
    help="The metric catalogue.", no_args_is_help=True, rich_markup_mode="markdown"
)


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
    allow_current_folder: AllowCurrentFolder = False,
) -> None:
    """Re-derive CQC's published 2018 aggregates and report agreement and disagreements.

    With ``--nof``: re-derive every published NOF 2025/26 segment from the average metric
    score and the deficit flag (and each domain segment from its score).
    """
    output_folder_or_exit(out, allow_current_folder)
    if nof:
        _rules_check_nof("nof_2025_26" if rule_set == "cqc_principles" else rule_set, out)
        return
    from ics_model.data.build import load_processed
    from ics_model.data.sources import SOURCES
    from ics_model.rules import check_against_published

    try:
        result = check_against_published(load_processed("cqc_trust_ratings"), rule_set)
    except KeyError as exc:
        fail(str(exc.args[0]), 2)
    except (TypeError, ConfigError) as exc:
        fail(str(exc), 2)
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

        written = write_tables_or_exit(rules_check_tables(result), out)
        console.print(f"Wrote {', '.join(p.name for p in written)} to {out}")


def _rules_check_nof(rule_set: str, out: Path | None) -> None:
    """Print (and write) the check of a nof rule set against the published NOF segments."""
    from ics_model.data.nof import read_nof_segments
    from ics_model.data.sources import SOURCES
    from ics_model.rules.nof import check_nof

    try:
        result = check_nof(read_nof_segments().frame, rule_set)
    except KeyError as exc:
        fail(str(exc.args[0]), 2)
    except (TypeError, ConfigError) as exc:
        fail(str(exc), 2)
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

        written = write_tables_or_exit(nof_check_tables(result), out)
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
