"""Render the project's notebooks as site pages, with the outputs of their last execution.

The test suite executes the three notebooks (``tests/conftest.py::executed_notebooks``)
and keeps the executed copies in ``build/notebooks/``; CI builds the site after the
tests, so the pages show the charts and tables of that run. A notebook without an
executed copy newer than itself is rendered without outputs, and its page says so.
Images become PNG files beside the page; tables keep their HTML; text stays text.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "notebooks"
EXECUTED = ROOT / "build" / "notebooks"


def executed_copy(source: Path) -> Path | None:
    """The executed copy of ``source`` when it is newer than the notebook itself."""
    copy = EXECUTED / source.name
    if copy.exists() and copy.stat().st_mtime >= source.stat().st_mtime:
        return copy
    return None


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def render(source: Path, write_file: Callable[[str, bytes], None]) -> str:
    """Return the Markdown page of one notebook; ``write_file(name, bytes)`` stores images."""
    copy = executed_copy(source)
    nb = json.loads((copy or source).read_text(encoding="utf-8"))
    stem = source.stem
    lines = []
    if copy is None:
        lines += [
            '!!! note "Outputs not shown"',
            "    This page was built without an executed copy of the notebook; run the test",
            "    suite (it executes the notebooks) and build the site again to see the charts.",
            "",
        ]
    else:
        lines += [
            f"*Executed by the test suite; the notebook itself is `notebooks/{source.name}`.*",
            "",
        ]
    n_image = 0
    for cell in nb["cells"]:
        body = _text(cell.get("source", ""))
        if cell["cell_type"] == "markdown":
            lines += [body, ""]
            continue
        if cell["cell_type"] != "code" or not body.strip():
            continue
        lines += ["```python", body.rstrip(), "```", ""]
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if out.get("output_type") == "stream":
                text = _text(out.get("text", "")).rstrip()
                if text:
                    lines += ["```text", text, "```", ""]
            elif "image/png" in data:
                n_image += 1
                name = f"{stem}_{n_image}.png"
                write_file(name, base64.b64decode(_text(data["image/png"])))
                lines += [f"![Chart {n_image} of {stem}]({name})", ""]
            elif "text/html" in data:
                lines += [
                    '<div class="nb-output" markdown="0">',
                    _text(data["text/html"]),
                    "</div>",
                    "",
                ]
            elif "text/plain" in data:
                lines += ["```text", _text(data["text/plain"]).rstrip(), "```", ""]
    return "\n".join(lines)
