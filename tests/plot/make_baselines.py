"""Regenerate the baseline images of ``tests/plot/test_plots.py``.

Run from anywhere (the package must be installed, e.g. ``pip install -e ".[dev]"``)::

    python tests/plot/make_baselines.py            # every baseline
    python tests/plot/make_baselines.py funnel_gp  # only the named ones

The charts, their inputs and the fixed rendering settings (matplotlib defaults, DejaVu
Sans, the functions' default figure sizes, 60 dpi) come from ``test_plots.py``, so the
baselines are drawn exactly as the tests draw them. Look at the new PNGs before
committing them: they are what the tests will hold the charts to.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load_tests():
    spec = importlib.util.spec_from_file_location("ics_plot_tests", HERE / "test_plots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(names: list[str]) -> int:
    tests = _load_tests()
    unknown = sorted(set(names) - set(tests.BASELINES))
    if unknown:
        sys.stderr.write(f"unknown baselines {unknown}; known: {list(tests.BASELINES)}\n")
        return 2
    tests.BASELINE_DIR.mkdir(parents=True, exist_ok=True)
    inputs = tests.build_inputs()
    for name in names or tests.BASELINES:
        path = tests.BASELINE_DIR / f"{name}.png"
        tests.render(name, inputs, path)
        sys.stdout.write(f"wrote {path} ({path.stat().st_size:,} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
