"""Rich output of the ``ics-model`` command line: the console and the run summary.

Holds the standard-output :data:`console` the commands print to, and the helpers that
print the summary of a ``run`` (top and bottom ICSs per sector, composite, collaboration
effect and scenario headlines) and shorten ICB names for tables. Part of the command
line (:mod:`ics_model.cli`), which with this module is the only place that prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, NoReturn

import polars as pl
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ics_model.outputs import effect_dict
from ics_model.ratings import short_icb_name
from ics_model.result import Result


class _Console(Console):
    """A console whose tables wrap long cells (fold) instead of cutting them with "...".

    On an 80-column terminal a metric name such as ``self_containment`` must stay
    readable: every column of a table printed here folds onto further lines.
    """

    def print(self, *objects, **kwargs) -> None:
        for obj in objects:
            if isinstance(obj, Table):
                for column in obj.columns:
                    column.overflow = "fold"
        super().print(*objects, **kwargs)


console = _Console()
err_console = _Console(stderr=True)


def fail(message: str, code: int) -> NoReturn:
    """Print one error line (no traceback) and exit with ``code``."""
    err_console.print("[bold red]error:[/]", escape(message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


#: the flag that lets a command write into a folder holding a user's own files
ALLOW_FLAG = "--allow-current-folder"
AllowCurrentFolder = Annotated[
    bool,
    typer.Option(
        ALLOW_FLAG,
        help="Let --out be the current folder, a folder above it, the home folder or the "
        "root (refused otherwise: files of the same name there would be replaced).",
    ),
]


def output_folder_or_exit(out: Path | None, allowed: bool, option: str = "--out") -> None:
    """Exit 2 when ``out`` is a folder of a user's own files, unless ``allowed`` by the flag.

    Typer reads ``--out ""`` as ``.``: the current folder, refused like ``--out .``.
    """
    from ics_model.output_folder import risky_output_folder

    why = None if out is None or allowed else risky_output_folder(out)
    if why is not None:
        fail(
            f"{option} {str(out)!r} is {why} ({out.resolve()}): outputs written there would "
            f"replace files of the same name; give them a folder of their own (e.g. {option} "
            f"outputs), or pass {ALLOW_FLAG} to write there anyway",
            2,
        )


def output_file_or_exit(path: Path | None, option: str) -> None:
    """Exit 2 when an option that names a file to write names a folder (``""`` reads ``.``)."""
    if path is not None and (path.name in ("", ".", "..") or path.is_dir()):
        fail(f"{option} must name a file to write, got {str(path)!r}: a folder", 2)


def write_tables_or_exit(tables: dict[str, Any], out: Path) -> list[Path]:
    """Write a command's tables into ``out``; an output that cannot be written exits 1."""
    from ics_model.outputs import OutputError, write_tables

    try:
        return write_tables(tables, out)
    except OutputError as exc:
        fail(str(exc), 1)


def print_summary(result: Result) -> None:
    """Print each sector's top and bottom ICSs, the headlines and the row accounts."""
    view = result.views.ics_view
    console.print(f"[dim]{result.provenance.notes[0]}[/]")
    for sector, vintage in result.provenance.vintages.items():
        sub = view.filter(
            (pl.col("sector") == sector)
            & (pl.col("key_question") == "Overall")
            & (pl.col("n_rated") > 0)
        ).sort("share_good_or_outstanding", "n_rated", descending=True)
        if sub.is_empty():
            continue
        few = sub.height <= 10
        table = Table(
            title=f"{sector}: share rated Good or Outstanding (Overall) - "
            + ("all ICSs with ratings" if few else "top and bottom 5"),
            caption=f"Data: {vintage}. 95% Wilson intervals.",
        )
        for col in ("ICB", "rated", "Good or Outstanding", "95% CI", "Outstanding"):
            table.add_column(col, justify="left" if col == "ICB" else "right")
        rows = sub.to_dicts() if few else [*sub.head(5).to_dicts(), None, *sub.tail(5).to_dicts()]
        for r in rows:
            if r is None:
                table.add_row("...", "", "", "", "")
                continue
            table.add_row(
                short_name(r["icb_name"]),
                str(r["n_rated"]),
                f"{r['share_good_or_outstanding']:.0%}",
                f"{r['share_good_or_outstanding_lower']:.0%}-"
                f"{r['share_good_or_outstanding_upper']:.0%}",
                f"{r['share_outstanding']:.0%}",
            )
        console.print(table)
    if result.nof is not None:
        print_nof(result)
    print_headlines(result)
    print_nof_scenarios(result)
    if result.history is not None:
        print_history(result)
    c = result.conservation
    console.print(
        f"Unmapped providers: {c.unmapped.height}; quarantined rows: {c.quarantine.height}; "
        f"superseded rows: {c.superseded.height}."
    )


def print_headlines(result: Result) -> None:
    """Print the composite's top and bottom ICSs, the effect and the scenarios."""
    comp = None if result.composite is None else result.composite.built.scores
    if comp is not None and comp.height:
        ranked = comp.filter(pl.col("rank").is_not_null()).sort("rank")
        top = ", ".join(
            f"{r['rank']}. {short_name(r['icb_name'])}" for r in ranked.head(3).to_dicts()
        )
        bottom = ", ".join(
            f"{r['rank']}. {short_name(r['icb_name'])}" for r in ranked.tail(3).to_dicts()
        )
        unranked = [
            f"{short_name(r['icb_name'])} ({r['icb_code']})"
            for r in comp.filter(pl.col("rank").is_null()).to_dicts()
        ]
        console.print(
            f"[bold]Composite[/] (modelled; {result.config.composite.aggregation}): top {top}; "
            f"bottom {bottom}" + (f"; not ranked: {', '.join(unranked)}" if unranked else "")
        )
    effect = effect_dict(result.effect) if result.effect is not None else {}
    if "estimate" in effect:
        console.print(
            f"[bold]Collaboration -> {effect['outcome']}[/] (association, {effect['population']}"
            f", exposure {effect['exposure']}): odds ratio per SD {effect['estimate']:.2f} "
            f"({_interval(effect['ci_lower'], effect['ci_upper'])}), p = "
            f"{effect['p_value_model']:.3f} (bootstrap)"
            + (
                ""
                if effect["p_value_permutation"] is None
                else f", {effect['p_value_permutation']:.3f} (permutation)"
            )
            + f"; n = {effect['n_providers']} in {effect['n_clusters']} ICSs; "
            f"minimal detectable OR {effect['min_detectable_effect']:.2f}. Observational: see "
            "the caveats in collaboration_effect.json."
        )
        if "warning" in effect:
            console.print(f"[yellow]warning:[/] {effect['warning']}")
    for sc in result.scenarios:
        if sc.result.national.height:
            nat = sc.result.national.row(0, named=True)
            system = any("geography" in n for n in sc.result.notes)
            console.print(
                f"[bold]Scenario {sc.spec.name}[/] (modelled rule): Outstanding "
                f"{nat['n_outstanding_before']} -> {nat['n_outstanding_after']} (lost "
                f"{nat['n_lost']}, not assessable {nat['n_not_assessable']})"
                + (
                    "; a system-level gate penalises providers for their geography"
                    if system
                    else ""
                )
            )


def print_nof(result: Result) -> None:
    """Print the modelled ICS NOF league table (all trusts): top and bottom 5 ranked ICSs."""
    nof = result.nof
    if nof is None:
        return
    rows = nof.ics.filter((pl.col("trust_group") == "all trusts") & pl.col("ranked")).sort("rank")
    n_icb = nof.trusts["icb_code"].n_unique()
    check = nof.check.row(0, named=True)
    console.print(
        f"NOF: {nof.trusts.height} segmented trusts placed in {n_icb} ICSs; rule set "
        f"{nof.trusts['rule_set'][0]} reproduces {check['n_agree']}/{check['n']} published "
        f"league-table segments; {nof.unplaced.height} rows not placed (nof_unplaced.csv)."
    )
    corr = nof.correlation
    if corr is not None and corr.height:
        r = corr.row(0, named=True)
        if r["estimate"] is None or r["lower"] is None:
            console.print(
                f"NOF vs 2018 CQC trust ratings: {r['n']} matched trusts, too few to estimate "
                "a rank correlation (nof_cqc_correlation.csv)."
            )
        else:
            age = r["median_cqc_rating_age_years"]
            console.print(
                f"NOF vs 2018 CQC trust ratings ({r['group']} matched trusts, n = {r['n']}): "
                f"Spearman {r['estimate']:.2f} ({r['confidence']:.0%} CI {r['lower']:.2f}-"
                f"{r['upper']:.2f}); positive = agreement"
                + (f"; the CQC ratings are a median {age:.1f} years older" if age else "")
                + " (nof_cqc_correlation.csv)."
            )
    if rows.is_empty():
        return
    few = rows.height <= 10
    n_small = nof.ics.filter((pl.col("trust_group") == "all trusts") & ~pl.col("ranked")).height
    table = Table(
        title="ICS NOF league table (MODELLED: mean of the trusts' average metric scores) - "
        + ("all ranked ICSs" if few else "top and bottom 5"),
        caption=f"Data: {nof.vintage}. Likely range: 5th-95th percentile of rank over a "
        f"bootstrap of trusts. {n_small} ICSs with fewer than {result.config.nof.min_trusts} "
        "segmented trusts are not ranked.",
    )
    for col in ("rank", "likely range", "ICB", "trusts", "mean score", "in segment 1-2"):
        table.add_column(col, justify="left" if col == "ICB" else "right")
    picked = rows.to_dicts() if few else [*rows.head(5).to_dicts(), None, *rows.tail(5).to_dicts()]
    for r in picked:
        if r is None:
            table.add_row("...", "", "", "", "", "")
            continue
        table.add_row(
            str(r["rank"]),
            f"{r['rank_p05']:.0f}-{r['rank_p95']:.0f}",
            short_name(r["icb_name"]),
            str(r["n_trusts"]),
            f"{r['mean_avg_score']:.2f}",
            f"{r['share_segment_1_2']:.0%}",
        )
    console.print(table)


def print_nof_scenarios(result: Result) -> None:
    """Print one line per NOF rule scenario: trusts whose segment changes, and where."""
    for ns in result.nof_scenarios:
        nat = ns.result.national.row(0, named=True)
        system = any("geography" in n for n in ns.result.notes)
        console.print(
            f"[bold]NOF scenario {ns.spec.name}[/] (modelled rule; lower is better): "
            f"{nat['n_changed']} of {nat['n_scored']} scored trusts change segment "
            f"({nat['n_better']} better, {nat['n_worse']} worse, {nat['n_not_assessable']} not "
            f"assessable) in {nat['n_ics_changed']} ICSs; segment 1: "
            f"{nat['n_segment_1_before']} -> {nat['n_segment_1_after']}"
            + ("; a system-level gate penalises trusts for their geography" if system else "")
        )


def _interval(lo: float, hi: float) -> str:
    """Write a 95% interval of odds ratios, in words when a side is unbounded.

    Examples
    --------
    >>> _interval(0.0, float("inf")), _interval(0.5, float("inf")), _interval(0.2, 1.5)
    ('95% CI unbounded on both sides', '95% CI 0.50 to unbounded', '95% CI 0.20-1.50')
    """
    inf = float("inf")
    if lo == 0 and hi == inf:
        return "95% CI unbounded on both sides"
    if hi == inf:
        return f"95% CI {lo:.2f} to unbounded"
    if lo == 0:
        return f"95% CI unbounded to {hi:.2f}"
    return f"95% CI {lo:.2f}-{hi:.2f}"


def short_name(name: str | None) -> str:
    """Return an ICB name without "NHS " and " Integrated Care Board"."""
    return short_icb_name(name)


def print_history(result: Result) -> None:
    """Print the statuses of the ratings in force and the count of rating transitions."""
    h = result.history
    if h is None:
        return
    as_of = result.config.ratings.as_of
    when = f"on {as_of.isoformat()}" if as_of is not None else "now (current ratings)"
    for sector in h.in_force["sector"].unique(maintain_order=True).to_list():
        overall = h.in_force.filter(
            (pl.col("sector") == sector) & (pl.col("key_question") == "Overall")
        )
        status = dict(overall["in_force_status"].cast(pl.String).value_counts().rows())
        moves = h.transitions.filter(pl.col("sector") == sector)
        ways = dict(moves["direction"].cast(pl.String).value_counts().rows())
        console.print(
            f"Rating history ({sector}), {when}: {overall.height} records, "
            + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(status.items()))
            + f"; {moves.height} rating transitions ("
            + ", ".join(f"{n} {d}" for d, n in sorted(ways.items()))
            + ")."
        )
