"""Architecture: the import contracts in pyproject.toml ([tool.importlinter]) hold.

Two checks: import-linter's contracts (no cycles between sibling modules or packages,
the layers from the CLI down to the rating vocabulary, nothing depending on the synthetic
data generators), and a module-level cycle search over grimp's import graph that also sees
cycles through a package's ``__init__`` (which sibling contracts do not). Imports inside
functions count as much as module-level ones. Both need import-linter (a dev dependency);
without it the tests fail rather than skip, so a missing install cannot pass silently.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL_HINT = (
    "import-linter is not installed: pip install -e '.[dev]' (or pip install import-linter)"
)


def _require_import_linter() -> None:
    if (
        importlib.util.find_spec("importlinter") is None
        or importlib.util.find_spec("grimp") is None
    ):
        pytest.fail(INSTALL_HINT, pytrace=False)


def test_import_contracts_are_kept() -> None:
    _require_import_linter()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; "
            "sys.exit(lint_imports_command())",
            str(ROOT / "pyproject.toml"),
            "--no-cache",
            "--no-logo",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"import-linter contracts broken:\n{report}"
    assert "0 broken" in report, report


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (or a self-import)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_search_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(_cycles(graph)) == [["a", "b", "c"], ["e"]]


def test_no_import_cycle_between_modules() -> None:
    _require_import_linter()
    import grimp

    import_graph = grimp.build_graph("ics_model", cache_dir=None)
    assert {"ics_model.cli", "ics_model.ratings"} <= import_graph.modules
    direct = import_graph.find_modules_directly_imported_by
    graph = {module: set(direct(module)) for module in import_graph.modules}
    messages = []
    for component in _cycles(graph):
        members = set(component)
        lines = [
            f"  {importer}:{detail['line_number']} imports {imported}"
            for importer in component
            for imported in sorted(graph[importer] & members)
            for detail in import_graph.get_import_details(importer=importer, imported=imported)
        ]
        messages.append(" <-> ".join(component) + "\n" + "\n".join(lines))
    assert not messages, "import cycles in ics_model:\n" + "\n".join(messages)
