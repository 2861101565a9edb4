"""The three notebooks: committed without outputs, and they run end to end."""

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_three_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == [
        "01_researcher_tour.ipynb",
        "02_icb_analyst.ipynb",
        "03_policy_rating_rules.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None


def _execute(nb, path: Path):
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError with the cell and traceback on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert [o for o in outputs if o.get("output_type") == "error"] == []
    return outputs


def _images(outputs) -> int:
    return sum("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_shows_its_charts(path, executed_notebooks):
    """Charts appear as image outputs: the kernel's own (inline) backend draws them; the
    suite sets no backend inside the notebook (MPLBACKEND for the tests' own process only).
    The notebook is executed once per session (``executed_notebooks``), and the copy is
    what the documentation site renders."""
    nb = nbformat.read(executed_notebooks[path.name], as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert [o for o in outputs if o.get("output_type") == "error"] == []
    assert _images(outputs) >= 2


def _with_parameters(nb, **values: str) -> None:
    cell = next(c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", []))
    lines = cell.source.splitlines()
    for name, value in values.items():
        i = next(k for k, line in enumerate(lines) if line.startswith(f"{name} = "))
        lines[i] = f"{name} = {value!r}"
    cell.source = "\n".join(lines)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_opens_with_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.get("metadata", {}).get("tags", [])


@pytest.mark.slow
def test_icb_notebook_runs_with_the_icb_given_by_name():
    path = next(p for p in NOTEBOOKS if p.name.startswith("02_"))
    nb = nbformat.read(path, as_version=4)
    _with_parameters(nb, ICB="south west london")
    outputs = _execute(nb, path)
    text = " ".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "QWE South West London" in text
    assert _images(outputs) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_leave_the_matplotlib_backend_to_jupyter(path):
    # a forced backend (e.g. matplotlib.use("Agg")) hides every chart from a user
    assert "matplotlib.use(" not in path.read_text(encoding="utf-8")
