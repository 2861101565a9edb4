"""The documentation site: generated references complete, the built site self-contained.

The configuration reference must list every field of every config model and the CLI
reference every command and option, each with a description, so that a key or an option
added without documentation fails here. The site is built as CI builds it
(``mkdocs build --strict``) and its pages are checked: no script, style sheet, image or
CSS ``url()`` from another host; the version shown; the formulas' renderer present.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from ics_model import __version__
from ics_model.config import RunConfig
from ics_model.reference import (
    cli_commands,
    cli_reference_markdown,
    config_keys,
    config_reference_markdown,
)

REPO = Path(__file__).resolve().parents[1]


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    """Every model reachable from ``model`` through its fields' annotations."""

    def inner(annotation) -> list[type[BaseModel]]:
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            return [annotation]
        return [m for arg in typing.get_args(annotation) for m in inner(arg)]

    if model in seen:
        return seen
    seen.add(model)
    for info in model.model_fields.values():
        for sub in inner(info.annotation):
            _models(sub, seen)
    return seen


def test_the_config_reference_lists_every_field_of_every_model_with_a_description():
    page = config_reference_markdown()
    rows = {k.path: k for k in config_keys()}
    models = _models(RunConfig, set())
    assert len(models) >= 15
    for model in models:
        for name in model.model_fields:
            paths = [p for p in rows if p == name or p.endswith(f".{name}")]
            assert paths, f"{model.__name__}.{name} is not in the configuration reference"
            for path in paths:
                assert f"| `{path}` |" in page
    undocumented = [k.path for k in rows.values() if not k.description]
    assert undocumented == [], "keys without a description (add them to the Attributes)"


def test_the_config_reference_by_hand():
    rows = {k.path: k for k in config_keys()}
    weight = rows["composite.pillars.<name>.weight"]
    assert (weight.type, weight.default) == ("float", "1.0")
    assert weight.bounds == ">= 0, <= 1,000,000, finite"
    assert rows["data.validation"].type == "'strict' | 'lenient'"
    assert rows["data.validation"].default == "strict"


def test_the_cli_reference_lists_every_command_and_option_with_help():
    import typer.main

    from ics_model.cli import app

    page = cli_reference_markdown()
    root = typer.main.get_command(app)
    found = 0

    def walk(cmd, words):
        nonlocal found
        assert f"## `{' '.join(words)}`" in page
        for param in cmd.params:
            found += 1
            if param.param_type_name == "option":
                assert f"`{', '.join([*param.opts, *param.secondary_opts])}`" in page
            assert (param.help or "").strip(), f"{' '.join(words)} {param.name}: no help"
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*words, name))

    walk(root, ("ics-model",))
    assert found >= 30
    assert len(cli_commands()) == page.count("\n## `")


def test_citation_is_valid_cff_1_2_and_names_the_package_version():
    import jsonschema

    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    schema = json.loads((REPO / "tests/fixtures/citation-cff-1.2.0.schema.json").read_text())
    jsonschema.validate(citation, schema)
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert citation["version"] == version
    bad = {**citation, "authors": "nobody"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_changelog_follows_keep_a_changelog():
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "Keep a Changelog" in text
    assert "## [Unreleased]" in text
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.M)
    assert (REPO / "LICENSE").read_text().startswith("MIT License")


@pytest.fixture(scope="module")
def site(tmp_path_factory, executed_notebooks) -> Path:
    """The site, built as CI builds it (after the tests have executed the notebooks)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


_FOREIGN = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)


def test_no_page_loads_anything_from_another_host(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 8
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src")):
            for value in re.findall(rf'<{tag}\b[^>]*\b{attr}="([^"]*)"', html):
                assert not _FOREIGN.match(value), f"{page.name}: <{tag} {attr}={value}>"
    for css in site.rglob("*.css"):
        for value in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            if not value.startswith("data:"):
                assert not _FOREIGN.match(value), f"{css.name}: url({value})"


def test_the_site_shows_the_version_search_and_the_references(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    assert f"ics_model {__version__}" in index
    assert (site / "search" / "search_index.json").exists()
    assert "assets/iframe-worker/shim.js" in index  # search works from the file system
    config = (site / "reference" / "config.html").read_text(encoding="utf-8")
    assert "composite.pillars.&lt;name&gt;.weight" in config
    cli = (site / "reference" / "cli.html").read_text(encoding="utf-8")
    assert "--allow-current-folder" in cli
    api = (site / "reference" / "api.html").read_text(encoding="utf-8")
    assert "slope_index" in api and "Parameters" in api
    assert ":class:" not in api  # docstring roles rendered as code
    # a one-line "name : description" entry lands in the description column, not the type
    assert (
        "the run&#39;s name, shown in outputs" in api or "the run's name, shown in outputs" in api
    )
    data = (site / "data.html").read_text(encoding="utf-8")
    assert "Open Government Licence" in data


def test_notebook_pages_hold_their_charts(site, executed_notebooks):
    for name in executed_notebooks:
        stem = Path(name).stem
        page = (site / "notebooks" / f"{stem}.html").read_text(encoding="utf-8")
        images = re.findall(rf'<img[^>]+src="({re.escape(stem)}_\d+\.png)"', page)
        assert len(images) >= 2, f"{stem}: {len(images)} chart(s)"
        for image in images:
            data = (site / "notebooks" / image).read_bytes()
            assert data.startswith(b"\x89PNG") and len(data) > 5_000
        assert "Outputs not shown" not in page


def test_the_version_is_declared_once_and_shown_everywhere(site, report_result, report_html):
    from ics_model.outputs import manifest

    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert __version__ == version
    assert manifest(report_result, {})["version"] == version
    assert f"ics_model {version}" in report_html.read_text(encoding="utf-8")
    assert f"ics_model {version}" in (site / "index.html").read_text(encoding="utf-8")


def test_guides_show_tables_from_the_embedded_data(site):
    icb = (site / "guides" / "icb-analysts.html").read_text(encoding="utf-8")
    assert icb.count("<tr>") >= 43 and "<td>QE1</td>" in icb  # the 42 ICBs, by code
    policy = (site / "guides" / "policy-teams.html").read_text(encoding="utf-8")
    assert "<td>cqc_principles</td>" in policy and "<td>129</td>" in policy  # NOF segments
    for page in ("researchers", "icb-analysts", "policy-teams"):
        html = (site / "guides" / f"{page}.html").read_text(encoding="utf-8")
        assert "<!-- table:" not in html and '<img alt="' in html


def test_an_unknown_guide_table_is_an_error():
    import importlib.util

    spec = importlib.util.spec_from_file_location("guide_tables", REPO / "docs/guide_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(KeyError, match="unknown guide table 'nope'"):
        module.fill("text\n<!-- table: nope -->\n")


def test_the_methods_page_shows_the_sii_formula_for_katex(site):
    page = (site / "methods" / "inequality.html").read_text(encoding="utf-8")
    assert '<div class="arithmatex">' in page or 'class="arithmatex"' in page
    assert "SII" in page and "SII = 0.3038" in page  # the worked example (recomputed in
    # tests/test_docs_methods.py from the page's own table)
    assert "assets/katex/katex.min.js" in page and "assets/katex-init.js" in page


def test_search_works_from_the_file_system(site, chromium, tmp_path):
    """Opened as a file, with no server and no network, the search finds pages."""
    page = site / "index.html"
    done = subprocess.run(
        [
            chromium.exe,
            *chromium.flags,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri() + "?q=Wilson",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    found = re.search(r'md-search-result__meta">(\d+) matching document', done.stdout)
    assert found, done.stdout[-2000:]
    assert int(found.group(1)) >= 3
