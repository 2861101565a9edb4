"""Pages of the documentation site generated from the code at build time (mkdocs-gen-files).

Nothing here is edited by hand: the configuration and command-line references come from
the models and the CLI (:mod:`ics_model.reference`), the data page from the source
registry (:mod:`ics_model.data.sources`) with row counts read from the files, the metric
catalogue from :mod:`ics_model.metrics.catalogue`, and the changelog from CHANGELOG.md.
"""

from __future__ import annotations

from pathlib import Path

import mkdocs_gen_files

from ics_model import __version__
from ics_model.data.build import raw_row_counts
from ics_model.data.sources import SOURCES, sha256_file
from ics_model.metrics.catalogue import catalogue_markdown
from ics_model.reference import cli_reference_markdown, config_reference_markdown

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    """A module of this folder (mkdocs-gen-files runs this script without it on sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


notebook_pages = _load("notebook_pages")

#: the public API, by page section: (title, objects)
API = (
    (
        "Configuration",
        (
            "ics_model.RunConfig",
            "ics_model.load_config",
            "ics_model.check_config",
            "ics_model.with_overrides",
            "ics_model.ConfigError",
        ),
    ),
    (
        "Running",
        (
            "ics_model.run",
            "ics_model.Result",
            "ics_model.write_outputs",
            "ics_model.verify_outputs",
            "ics_model.write_report",
        ),
    ),
    (
        "Reading data",
        (
            "ics_model.read_cqc_ratings",
            "ics_model.read_gp_practices",
            "ics_model.validate",
            "ics_model.DataContractError",
            "ics_model.SourceReadError",
            "ics_model.inputs.InputError",
        ),
    ),
    (
        "Ratings and rules",
        ("ics_model.combine_ratings", "ics_model.saf_rating", "ics_model.check_against_published"),
    ),
    (
        "Metrics and composite",
        (
            "ics_model.slope_index",
            "ics_model.composite",
            "ics_model.indicator_matrix",
            "ics_model.peers",
        ),
    ),
    (
        "Scenarios, effects and uncertainty",
        (
            "ics_model.run_scenario",
            "ics_model.threshold_sweep",
            "ics_model.collaboration_effect",
            "ics_model.run_uncertainty",
        ),
    ),
)


def _target(name: str) -> str:
    """The module path mkdocstrings documents a public name under."""
    import ics_model

    short = name.removeprefix("ics_model.")
    module = ics_model._PUBLIC.get(short)
    return f"{module}.{short}" if module else name


def api_page() -> str:
    lines = [
        "# Python API",
        "",
        f"The public API of ics_model {__version__}: everything `import ics_model` exports.",
        "Generated from the numpydoc docstrings; their examples run as doctests in the test",
        "suite.",
        "",
    ]
    for title, names in API:
        lines += [f"## {title}", ""]
        for name in names:
            lines += [f"::: {_target(name)}", "    options:", "      heading_level: 3", ""]
    return "\n".join(lines)


def data_page() -> str:
    counts = raw_row_counts()
    lines = [
        "# Embedded data",
        "",
        "Generated from the source registry (`ics_model.data.sources.SOURCES`) and the files",
        "themselves: each row is one embedded raw file, its rows as its loader reads them, and",
        "its sha256 as a run's manifest records it. Every ICS figure built from these is a",
        "modelled construct. Read the caveats before quoting a number: ratings carry their",
        "publication date (old ratings are not current performance), inherited and pre-merger",
        "ratings are flagged, and coverage gaps are named.",
        "",
        "| source | title | publisher | vintage | licence | rows | caveats |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in SOURCES.values():
        cells = [
            f"`{s.name}`",
            s.title,
            s.publisher,
            s.vintage,
            s.licence,
            f"{counts[s.name]:,}",
            s.caveats,
        ]
        lines.append(
            "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        )
    lines += [
        "",
        "## Files and hashes",
        "",
        "| source | file | sha256 | original |",
        "|---|---|---|---|",
    ]
    for s in SOURCES.values():
        lines.append(
            f"| `{s.name}` | `datasets/raw/{'/'.join(s.relpath)}` | `{sha256_file(s.path)[:16]}…` "
            f"| {f'[{s.publisher}]({s.url})' if s.url.startswith('http') else s.url} |"
        )
    return "\n".join(lines) + "\n"


PAGES = {
    "reference/config.md": config_reference_markdown,
    "reference/cli.md": cli_reference_markdown,
    "reference/api.md": api_page,
    "reference/metrics.md": catalogue_markdown,
    "data.md": data_page,
    "changelog.md": lambda: (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"),
}

for page, make in PAGES.items():
    with mkdocs_gen_files.open(page, "w") as fh:
        fh.write(make())


def _write_beside(name: str, data: bytes) -> None:
    with mkdocs_gen_files.open(f"notebooks/{name}", "wb") as fh:
        fh.write(data)


for notebook in sorted(notebook_pages.SOURCES.glob("*.ipynb")):
    with mkdocs_gen_files.open(f"notebooks/{notebook.stem}.md", "w") as fh:
        fh.write(notebook_pages.render(notebook, _write_beside))
