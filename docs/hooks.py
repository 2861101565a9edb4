"""Build hooks of the documentation site: the version in its name, every asset local."""

from __future__ import annotations

from ics_model import __version__

#: where Material's offline plugin loads its search shim from, and the vendored copy
SHIM_URL = "https://unpkg.com/iframe-worker/shim"
SHIM_LOCAL = "assets/iframe-worker/shim.js"


def on_config(config):
    """Show the version declared in pyproject.toml (through the installed package)."""
    config["site_name"] = f"ics_model {__version__}"
    config["copyright"] = (
        f"ics_model {__version__} · MIT licence · data: Open Government Licence v3.0"
    )
    return config


def on_page_markdown(markdown, page, config, files):
    """Fill the guides' ``<!-- table: NAME -->`` markers with tables from the embedded data."""
    if "<!-- table: " not in markdown:
        return markdown
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("guide_tables.py")
    spec = importlib.util.spec_from_file_location("guide_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fill(markdown)


def on_post_page(output, page, config):
    """Point the offline search shim at the vendored copy: nothing from another host."""
    depth = page.file.dest_uri.count("/")
    return output.replace(SHIM_URL, "../" * depth + SHIM_LOCAL)


def on_post_build(config):
    """Do the same for pages written outside the page loop (``404.html``)."""
    from pathlib import Path

    site = Path(config["site_dir"])
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        if SHIM_URL in text:
            depth = len(html.relative_to(site).parts) - 1
            html.write_text(text.replace(SHIM_URL, "../" * depth + SHIM_LOCAL), encoding="utf-8")
