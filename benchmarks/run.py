"""Run the benchmarks and print their figures (median of repeated runs, in seconds).

Usage: ``python benchmarks/run.py``. Figures are printed, never asserted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def _time(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float, float]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), min(runs), max(runs)


def main() -> None:
    from ics_model.config import RunConfig
    from ics_model.data import cqc, rtt
    from ics_model.data.sources import SOURCES
    from ics_model.pipeline import run

    cases = {
        "main job (load, place, view) on the embedded data": lambda: run(RunConfig()),
        "read the 2018 CQC Providers sheet (xlsx)": lambda: cqc.read_cqc_ratings(
            SOURCES["cqc_trust_ratings_2018"].path
        ),
        "read the RTT April 2026 extract (81 MB CSV in zip)": lambda: rtt.read_rtt_flows(
            SOURCES["rtt_2026_04"].path
        ),
    }
    print(f"{'case':<55} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, fn in cases.items():
        med, lo, hi = _time(fn, repeat=3)
        print(f"{name:<55} {med:>9.3f} {lo:>7.3f} {hi:>7.3f}")


if __name__ == "__main__":
    main()
