"""The helper process that draws report figures beside the main one.

This module imports only the standard library, so that a command can start the helper
before it imports anything heavy: the helper's imports (matplotlib, polars, geopandas,
the plot functions) then overlap the command's own. The helper is spawned, not forked: a
forked child of a process whose polars thread pool holds a lock can deadlock.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager


def _quick_exit() -> None:
    # the helper writes no file and holds no state to flush: end the process at once,
    # without tearing its modules down (a quarter of a second on the critical path)
    os._exit(0)


def start_helper() -> None:
    """Run in the helper when it starts: import what drawing needs; exit fast when done.

    geopandas is left to the first map: the helper starts drawing sooner without it.
    """
    import ics_model.plot
    import ics_model.report_html  # noqa: F401

    atexit.register(_quick_exit)


@contextmanager
def drawing_pool(processes: int | None = None) -> Iterator[Executor | None]:
    """Yield a pool of one helper process that shares the drawing of figures, or None.

    ``processes``: the processes drawing, this one included (default 2 on a machine with
    2 cores or more, else 1: None is yielded). The helper is started at once and imports
    what drawing needs (:func:`start_helper`), so enter this early. Pass the pool to
    :func:`ics_model.report.write_report` (``executor=``).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n = min(2, os.cpu_count() or 1) if processes is None else processes
    if n <= 1:
        yield None
        return
    pool = ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn"), initializer=start_helper
    )
    pool.submit(int)  # start the helper now (the pool starts it on the first submit)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


__all__ = ["drawing_pool", "start_helper"]
