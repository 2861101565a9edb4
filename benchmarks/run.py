"""Run the benchmarks, print a table and write ``benchmarks/results.json``.

Usage: ``python benchmarks/run.py [--quick] [--case TEXT] [--pending-references]
[--size N] [--no-memory] [--out FILE] [--merge]``. Figures are printed, never asserted.
``--merge`` replaces only the cases run in the results file; each keeps the machine and
date it was measured on.

Every case times "ours" (this toolkit) and, where it has one, a pandas reference
implementation of the same computation (what a careful analyst writes without the
toolkit), in this process, on the same data, prepared once by the case's ``setup``
(not timed). ``ratio`` = reference median / ours median (above 1: ours is faster).

With more than one timed run, each side first runs once more: that first run is
reported apart (``first_s``, ``reference_first_s``; it carries one-time costs such as
first imports and warming file caches) and the median, min
and max are over the runs after it. With one run (``--quick``), it is all there is.
Cases live in ``cases_*.py`` modules, each with a ``CASES`` list of :class:`Case`. A
case may time further :class:`Side` computations (e.g. the underlying library alone, the
floor), shown with ours and the reference in a side-by-side table.

A case whose ``ours`` raises :class:`NotImplementedError` is pending: it is skipped
with a printed note (its reference is timed only with ``--pending-references``).

Peak memory is measured apart from the timings, in a fresh Python process per case
and side (so that memory an allocator kept from an earlier case is not reused
unseen): the process runs the case's setup, resets the kernel's peak-RSS mark
(``/proc/self/clear_refs``), runs the function once and reports ``VmHWM`` minus the
resident size just before the run. It counts memory allocated by Rust (polars) and C
(pandas, numpy, pyarrow) as well as Python. When the function runs a child process
(case 6 runs ``ics-model``), the figure is that child's whole peak resident size
(``RUSAGE_CHILDREN``), interpreter and imports included. Runs longer than ``MEMORY_PROBE_LIMIT_S``
are not probed again (memory reported as null).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MEMORY_PROBE_LIMIT_S = 60.0


@dataclass(frozen=True)
class Options:
    """What a case's setup may use: ``quick`` mode and a scratch folder.

    Setups write generated files into ``workdir`` under names fixed by their content
    (size, seed) and reuse them when present: the memory probes run setup again.
    ``size`` overrides the data size of cases that take one (case 6: rows of the sheet),
    for a smoke run; ``memory=False`` skips the memory probes.
    """

    quick: bool
    workdir: Path
    size: int | None = None
    memory: bool = True


@dataclass
class Prepared:
    """A case's data, and how to read its reference timing.

    ``reference_scale`` multiplies the reference's measured times (e.g. 100 when the
    reference ran 1,000 of 100,000 draws); ``note`` says so in the table.
    """

    data: Any
    reference_scale: float = 1.0
    note: str = ""
    skip_reference: str = ""  # non-empty: why the reference is not run this time


@dataclass(frozen=True)
class Side:
    """A further computation timed beside a case's ours and reference.

    E.g. the underlying library alone (the floor) or ours in another scope. ``scale``
    multiplies its times, as ``Prepared.reference_scale`` does for the reference;
    ``repeat`` overrides the case's ``repeat``; ``quick=False`` leaves it out of
    ``--quick`` runs.
    """

    name: str
    label: str
    fn: Callable[[Any], Any]
    scale: Callable[[Prepared], float] | None = None
    repeat: int | None = None
    quick: bool = True


@dataclass(frozen=True)
class Case:
    """One benchmark case; register it in a ``cases_*.py`` module's ``CASES`` list.

    Attributes
    ----------
    number, name, title : table label (e.g. ``"3a"``), slug and description.
    setup : builds the data once (not timed).
    ours : the toolkit's computation on ``Prepared.data``.
    reference : the pandas reference on the same data, or None.
    repeat, reference_repeat : timed runs (``--quick``: one each).
    target_s : target for ours' median, seconds; target_ratio: for reference/ours.
    check : compares one output of ours with one of the reference (None when the case has
        no reference: a check of ours alone); returns a remark.
    notes : remarks shown under the table.
    sides : further computations timed beside ours and the reference, shown with them
        in a side-by-side table (fastest first) with their ratio to the first side.
        Ours and the sides are timed in rounds, one run of each per round.
    ours_label, reference_label : their rows in that table.
    """

    number: str
    name: str
    title: str
    setup: Callable[[Options], Prepared]
    ours: Callable[[Any], Any]
    reference: Callable[[Any], Any] | None = None
    repeat: int = 5
    reference_repeat: int = 5
    target_s: float | None = None
    target_ratio: float | None = None
    check: Callable[[Any, Any], str] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    sides: tuple[Side, ...] = ()
    ours_label: str = "ours"
    reference_label: str = "reference"


# ----------------------------------------------------------------------------- measuring


def _status_mb(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_memory_mb(fn: Callable[[Any], Any], data: Any) -> float | None:
    """Peak resident-set growth (MB) during one call, or None without ``clear_refs``."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return None
    base = _status_mb("VmRSS")
    fn(data)
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if child_mb > 0:  # the work ran in a child process: its whole peak
        return child_mb
    return max(_status_mb("VmHWM") - base, 0.0)


def _times(fn: Callable[[Any], Any], data: Any, repeat: int) -> tuple[float, list[float], Any]:
    """(first run, the ``repeat`` runs after it, the output); one run if ``repeat`` is 1."""

    def once() -> tuple[float, Any]:
        gc.collect()
        t0 = time.perf_counter()
        out = fn(data)
        return time.perf_counter() - t0, out

    first, out = once()
    if repeat == 1:
        return first, [first], out
    times = []
    for _ in range(repeat):
        seconds, out = once()
        times.append(seconds)
    return first, times, out


def _times_rounds(
    fns: list[Callable[[Any], Any]], data: Any, repeats: list[int]
) -> list[tuple[float, list[float], Any]]:
    """:func:`_times` of several functions in rounds, one run of each per round.

    A change in the machine's load (it is shared) then falls on every function alike,
    not on whichever happened to be timed at the time. Round 0 holds the first runs.
    """
    runs = [n + 1 if n > 1 else 1 for n in repeats]
    firsts: list[float] = [0.0] * len(fns)
    times: list[list[float]] = [[] for _ in fns]
    outs: list[Any] = [None] * len(fns)
    for r in range(max(runs)):
        for i, fn in enumerate(fns):
            if r >= runs[i]:
                continue
            gc.collect()
            t0 = time.perf_counter()
            outs[i] = fn(data)
            seconds = time.perf_counter() - t0
            if r == 0:
                firsts[i] = seconds
            if r > 0 or runs[i] == 1:
                times[i].append(seconds)
    return list(zip(firsts, times, outs, strict=True))


def _stats(times: list[float], scale: float = 1.0) -> dict[str, float]:
    return {
        "median_s": statistics.median(times) * scale,
        "min_s": min(times) * scale,
        "max_s": max(times) * scale,
    }


def _probe(case: Case, side: str, opts: Options) -> float | None:
    """Peak memory of one run of ``side`` in a fresh process (see the module docstring)."""
    if not opts.memory:
        return None
    cmd = [sys.executable, str(Path(__file__)), "--memory-probe", case.number, side]
    cmd += ["--workdir", str(opts.workdir), *(["--quick"] if opts.quick else [])]
    cmd += ["--size", str(opts.size)] if opts.size is not None else []
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1800)
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    if done.returncode != 0 or not lines:
        print(f"  memory probe failed: {done.stderr.strip()[-300:]}", flush=True)
        return None
    return json.loads(lines[-1])["peak_mb"]


def _memory_probe_main(number: str, side: str, opts: Options) -> None:
    case = next(c for c in all_cases() if c.number == number)
    prep = case.setup(opts)
    fn = case.ours if side == "ours" else case.reference
    print(json.dumps({"peak_mb": _peak_memory_mb(fn, prep.data)}))


# ----------------------------------------------------------------------------- running


def run_case(case: Case, opts: Options, pending_references: bool) -> dict[str, Any]:
    """Set up, time ours and the reference, probe memory; the case's result record."""
    rec: dict[str, Any] = {"case": case.number, "name": case.name, "title": case.title}
    rec.update(target_s=case.target_s, target_ratio=case.target_ratio)
    print(f"\n[{case.number}] {case.title}", flush=True)
    t0 = time.perf_counter()
    prep = case.setup(opts)
    print(f"  setup {time.perf_counter() - t0:.1f} s (not timed)", flush=True)
    notes = [*case.notes, *([prep.note] if prep.note else [])]
    repeat = 1 if opts.quick else case.repeat
    ref_repeat = 1 if opts.quick else case.reference_repeat
    rec.update(status="ok", median_s=None, min_s=None, max_s=None, runs=0, peak_memory_mb=None)
    rec.update(first_s=None, reference_first_s=None)
    sides = [s for s in case.sides if s.quick or not opts.quick]
    if len(sides) < len(case.sides):
        left = ", ".join(s.name for s in case.sides if s not in sides)
        notes.append(f"not timed in --quick: {left}")
    side_repeats = [repeat if s.repeat is None or repeat == 1 else s.repeat for s in sides]
    try:  # ours and the sides in rounds (see _times_rounds)
        timed = _times_rounds(
            [case.ours, *(s.fn for s in sides)], prep.data, [repeat, *side_repeats]
        )
        first, times, ours_out = timed[0]
    except NotImplementedError as exc:
        rec["status"], ours_out, timed = "pending", None, []
        print(f"  ours not yet implemented ({exc}): skipped", flush=True)
        notes.append("ours not yet implemented")
    else:
        rec.update(**_stats(times), runs=repeat, first_s=first)
        print(
            f"  ours: median {rec['median_s']:.3f} s over {repeat} run(s); first run {first:.3f} s",
            flush=True,
        )
        if min(times) <= MEMORY_PROBE_LIMIT_S:
            rec["peak_memory_mb"] = _probe(case, "ours", opts)
    rec.update(reference_median_s=None, reference_min_s=None, reference_max_s=None)
    rec.update(reference_runs=0, reference_peak_memory_mb=None)
    pending = rec["status"] == "pending"
    if prep.skip_reference:
        notes.append(prep.skip_reference)
    elif case.reference is not None and (not pending or pending_references):
        first, times, ref_out = _times(case.reference, prep.data, ref_repeat)
        ref = _stats(times, prep.reference_scale)
        rec.update({f"reference_{k}": v for k, v in ref.items()}, reference_runs=ref_repeat)
        rec["reference_scale"] = prep.reference_scale
        rec["reference_first_s"] = first * prep.reference_scale
        print(
            f"  reference: median {ref['median_s']:.3f} s over {ref_repeat} run(s); "
            f"first run {rec['reference_first_s']:.3f} s",
            flush=True,
        )
        if min(times) <= MEMORY_PROBE_LIMIT_S:
            rec["reference_peak_memory_mb"] = _probe(case, "reference", opts)
        else:
            notes.append(
                f"reference memory not probed (a run takes over {MEMORY_PROBE_LIMIT_S:g} s)"
            )
        if case.check is not None and not pending:
            notes.append(case.check(ours_out, ref_out))
            print(f"  check: {notes[-1]}", flush=True)
    elif case.reference is None and case.check is not None and not pending:
        notes.append(case.check(ours_out, None))  # a check of ours alone
        print(f"  check: {notes[-1]}", flush=True)
    rec["sides"] = [
        _side_record(side, prep, *timed[i + 1][:2], n)
        for i, (side, n) in enumerate(zip(sides, side_repeats, strict=True))
        if timed
    ]
    rec.update(ours_label=case.ours_label, reference_label=case.reference_label)
    ok = rec["median_s"] is not None and rec["reference_median_s"] is not None
    rec["ratio"] = rec["reference_median_s"] / rec["median_s"] if ok else None
    has_time = case.target_s is not None and rec["median_s"] is not None
    has_ratio = case.target_ratio is not None and rec["ratio"] is not None
    rec["meets_target_s"] = rec["median_s"] <= case.target_s if has_time else None
    rec["meets_target_ratio"] = rec["ratio"] >= case.target_ratio if has_ratio else None
    rec["note"] = "; ".join(notes)
    return rec


def _side_record(
    side: Side, prep: Prepared, first: float, times: list[float], runs: int
) -> dict[str, Any]:
    """One side's timings (scaled): its record for ``results.json``."""
    scale = side.scale(prep) if side.scale is not None else 1.0
    rec = {"name": side.name, "label": side.label, **_stats(times, scale)}
    rec.update(first_s=first * scale, runs=runs, scale=scale)
    print(
        f"  {side.name}: median {rec['median_s']:.3f} s over {runs} run(s); "
        f"first run {rec['first_s']:.3f} s",
        flush=True,
    )
    return rec


def side_table(rec: dict[str, Any]) -> str:
    """A case's sides, ours and reference as a markdown table, fastest first.

    ``x <first side>`` is each median over the first side's (e.g. the floor).
    """
    sides = list(rec.get("sides") or [])
    if not sides:
        return ""
    base = sides[0]
    rows = [*sides]
    keys = ("median_s", "min_s", "max_s", "first_s")
    if rec["median_s"] is not None:
        ours = {k: rec[k] for k in keys}
        rows.append({"label": rec["ours_label"], **ours, "runs": rec["runs"], "scale": 1.0})
    if rec["reference_median_s"] is not None:
        ref = {k: rec[f"reference_{k}"] for k in keys}
        runs, scale = rec["reference_runs"], rec.get("reference_scale", 1.0)
        rows.append({"label": rec["reference_label"], **ref, "runs": runs, "scale": scale})
    lines = [
        f"| case {rec['case']} | median s (min-max) | first run s | runs | x {base['name']} |",
        "|---|---|---|---|---|",
    ]
    for s in sorted(rows, key=lambda r: r["median_s"]):
        scaled = f", scaled x{s['scale']:g}" if s["scale"] != 1 else ""
        spread = f"{_fmt(s['median_s'])} ({_fmt(s['min_s'])}-{_fmt(s['max_s'])})"
        ratio = s["median_s"] / base["median_s"]
        first = _fmt(s["first_s"])
        lines.append(f"| {s['label']} | {spread} | {first} | {s['runs']}{scaled} | {ratio:.2f} |")
    return "\n".join(lines)


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def table(records: list[dict[str, Any]]) -> str:
    """The results table (markdown)."""
    lines = [
        "| case | ours median s (min-max) | ours first run s | ours peak MB "
        "| reference median s | ref first run s | ref peak MB | ratio ref/ours | target | met |",
        "|" + "---|" * 10,
    ]
    for r in records:
        spread = f"{_fmt(r['median_s'])} ({_fmt(r['min_s'])}-{_fmt(r['max_s'])})"
        if r["status"] == "pending":
            spread = "not yet implemented"
        targets = [
            f"<= {r['target_s']:g} s" if r["target_s"] else "",
            f">= {r['target_ratio']:g}x" if r["target_ratio"] else "",
        ]
        met = [m for m in (r["meets_target_s"], r["meets_target_ratio"]) if m is not None]
        met_text = "-" if not met else ("yes" if all(met) else "no")
        lines.append(
            f"| {r['case']} {r['name']} | {spread} | {_fmt(r['first_s'])} | "
            f"{_fmt(r['peak_memory_mb'], '.0f')} | {_fmt(r['reference_median_s'])} | "
            f"{_fmt(r['reference_first_s'])} | {_fmt(r['reference_peak_memory_mb'], '.0f')} | "
            f"{_fmt(r['ratio'], '.2f')} | {', '.join(t for t in targets if t) or '-'} | "
            f"{met_text} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    cpu, mem_kb = "unknown", 0
    try:
        cpu = next(
            x.split(":", 1)[1].strip()
            for x in Path("/proc/cpuinfo").read_text().splitlines()
            if x.startswith("model name")
        )
        mem_kb = next(
            int(x.split()[1])
            for x in Path("/proc/meminfo").read_text().splitlines()
            if x.startswith("MemTotal:")
        )
    except (OSError, StopIteration):
        pass
    versions = {}
    packages = (
        *("polars", "pandas", "numpy", "pyarrow", "fastexcel", "openpyxl", "xlsxwriter"),
        "odfpy",
    )
    for pkg in packages:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024**2, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_before": os.getloadavg(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "versions": versions,
    }


def all_cases() -> list[Case]:
    """Every registered case, in case-number order."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import cases_effects
    import cases_io
    import cases_ods
    import cases_report
    import cases_rules

    cases = [
        *cases_rules.CASES,
        *cases_io.CASES,
        *cases_ods.CASES,
        *cases_effects.CASES,
        *cases_report.CASES,
    ]
    return sorted(cases, key=lambda c: c.number)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each, smaller subsets")
    parser.add_argument("--case", help="run only cases whose number or name contains this")
    parser.add_argument(
        "--pending-references",
        action="store_true",
        help="time the references of cases whose 'ours' is not implemented yet",
    )
    parser.add_argument("--out", type=Path, help="results file (default results.json)")
    parser.add_argument(
        "--size", type=int, help="data size of cases that take one (case 6: rows), for a smoke run"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory probes")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace only the cases run in the results file (each keeps its own machine)",
    )
    parser.add_argument("--memory-probe", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the table, not the toolkit's warnings
    if args.memory_probe:
        _memory_probe_main(*args.memory_probe, Options(args.quick, args.workdir, args.size))
        return
    cases = [c for c in all_cases() if not args.case or args.case in f"{c.number} {c.name}"]
    info = machine()
    print(f"{info['cpu']}, {info['nproc']} CPUs, {info['memory_gb']} GB; Python {info['python']}")
    records = []
    with tempfile.TemporaryDirectory(prefix="ics_model-bench-") as tmp:
        opts = Options(args.quick, Path(tmp), args.size, memory=not args.no_memory)
        for case in cases:
            records.append(run_case(case, opts, args.pending_references))
    info["load_average_after"] = os.getloadavg()
    print()
    print(table(records))
    for r in records:
        if r["note"]:
            print(f"- {r['case']}: {r['note']}")
    for r in records:
        if r["sides"]:
            print(f"\nside by side, case {r['case']}:\n{side_table(r)}")
    out = args.out or (None if args.case and not args.merge else HERE / "results.json")
    if out is not None:
        result = {"machine": info, "quick": args.quick, "cases": records}
        if args.merge and out.exists():  # the other cases keep their figures and machine
            result = json.loads(out.read_text(encoding="utf-8"))
            ran = {r["case"] for r in records}
            kept = [r for r in result["cases"] if r["case"] not in ran]
            for r in records:
                r["machine"] = {**info, "quick": args.quick, "date": time.strftime("%Y-%m-%d")}
            result["cases"] = sorted([*kept, *records], key=lambda r: r["case"])
        out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
