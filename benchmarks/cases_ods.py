"""Benchmark case 6: CQC's national Locations sheet as ODS, on the user's path.

CQC publishes its national "care directory with ratings" as an OpenDocument
spreadsheet. A SYNTHETIC national Locations sheet (CQC's 28-column layout, 120,000
rows, real sub-ICB GSS codes and real NHS trust ODS codes, so placement does real work)
is written once as ODS by ``ics_model.synthetic.write_ods_sheet`` and cached under
``benchmarks/data/`` (git-ignored; the name carries the rows, the seed and a hash of
the generator's source, so a changed generator writes a new file).

Ours is ``ics-model run`` as a user runs it, in a fresh process, on a config that reads
the sheet, validates it (strict), places every location in the 42 ICBs and counts the
ratings per ICB x key question (the ICS view, written with the run's other outputs).
Beside it (the side-by-side table):

- the floor: calamine through fastexcel reading the sheet as text, in this process
  and in a fresh process (interpreter start and imports included);
- ours in this process: ``read_cqc_ratings`` + ``place_locations`` + ``ics_view``;
- the default ``ics-model run`` without and with the sheet (fresh processes), whose
  difference is what the sheet adds to the whole default model;
- the reference, pandas + odfpy (``pandas.read_excel(engine="odf")``), then the same
  cleaning, placing and counting as cases 3a/3b, on the sheet's first 5,000 rows
  (1,000 with ``--quick``), scaled linearly to the whole sheet; and its reading alone.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import fastexcel
import pandas as pd
import polars as pl
import yaml
from cases_io import check_locations, ours_locations, reference_locations
from run import HERE, Case, Options, Prepared, Side

from ics_model.data.build import load_processed
from ics_model.data.bundled import configs_dir
from ics_model.synthetic import ORIGIN_COLUMN, SYNTHETIC_NOTE, synthetic_locations
from ics_model.synthetic_ods import write_ods_sheet

N_ROWS = 120_000
REFERENCE_ROWS = 5_000
QUICK_REFERENCE_ROWS = 1_000
SEED = 20260501
REPO = HERE.parent
DATA_DIR = HERE / "data"
_GENERATOR = ("synthetic.py", "synthetic_calibration.py")


def _generator_key() -> str:
    """Short hash of the generator's source: a cached sheet is reused only when it matches."""
    digest = hashlib.sha256()
    for name in _GENERATOR:
        digest.update((REPO / "ics_model" / name).read_bytes())
    return digest.hexdigest()[:10]


def sheet_files(n_rows: int, head_rows: int, folder: Path) -> tuple[Path, Path]:
    """Write (or reuse) the SYNTHETIC sheet and its first ``head_rows`` rows as ODS files."""
    stem = f"locations_synthetic_{n_rows}_{SEED}_{_generator_key()}"
    full, head = folder / f"{stem}.ods", folder / f"{stem}_head{head_rows}.ods"
    if not (full.exists() and head.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        frame = synthetic_locations(n_rows, seed=SEED).drop(ORIGIN_COLUMN)
        for path, rows in ((full, frame), (head, frame.head(head_rows))):
            part = path.with_suffix(".part")  # a run cut short leaves no half-written sheet
            write_ods_sheet(
                part,
                rows,
                "Locations",
                date_column="Publication Date",
                note=SYNTHETIC_NOTE,
                title="SYNTHETIC CQC Locations sheet",
            )
            part.replace(path)
    return full, head


def _write_config(path: Path, sheet: Path, *, whole_model: bool) -> Path:
    """A run config reading ``sheet``: the whole default model, or the Locations view alone."""
    if whole_model:
        cfg = yaml.safe_load((configs_dir() / "default.yaml").read_text(encoding="utf-8"))
        cfg["views"]["sectors"] = [*cfg["views"]["sectors"], "location"]
    else:
        cfg = {
            "name": "cqc_locations_ods",
            "views": {"sectors": ["location"]},
            "rules": {"ics_rule_sets": []},
            "composite": None,
            "uncertainty": None,
            "scenarios": [],
            "effect": {"enabled": False},
        }
    cfg["data"] = {**cfg.get("data", {}), "locations": str(sheet)}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def _command() -> list[str]:
    """``ics-model`` as installed beside this Python, else the same entry point via ``-c``."""
    script = Path(sys.executable).with_name("ics-model")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from ics_model.cli import app; app()"]


def _child_env(pycache: Path) -> dict[str, str]:
    """The environment of a child process: this checkout's ``ics_model`` first.

    Bytecode is cached (in ``pycache``) as an installed package's is, even where the
    calling environment sets ``PYTHONDONTWRITEBYTECODE``: a user's ``ics-model`` does
    not compile its modules on every run. The first run compiles; it is reported apart.
    """
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": path, "PYTHONPYCACHEPREFIX": str(pycache)}


def _run(cmd: list[str], d: dict[str, Any]) -> None:
    env = _child_env(d["pycache"])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-2000:]}")


def _setup(opts: Options) -> Prepared:
    n_rows = opts.size or N_ROWS
    head_rows = min(QUICK_REFERENCE_ROWS if opts.quick else REFERENCE_ROWS, n_rows)
    folder = DATA_DIR if opts.size is None else opts.workdir
    full, head = sheet_files(n_rows, head_rows, folder)
    runs = opts.workdir / "case6"
    runs.mkdir(parents=True, exist_ok=True)
    lookups = {
        "sub_icbs": load_processed("sub_icb_population"),
        "trusts": load_processed("ods_trusts_2025"),
        "icb_codes": load_processed("icb_codes"),
    }
    pandas_lookups = {
        "pd_sub_icbs": lookups["sub_icbs"].select("sub_icb_gss", "icb_gss").to_pandas(),
        "pd_trusts": lookups["trusts"].select("org_code", "icb_code", "is_open").to_pandas(),
        "pd_icb_codes": lookups["icb_codes"].select("icb_code", "icb_gss", "icb_name").to_pandas(),
    }
    data = {
        "path": full,
        "head": {"path": head, **lookups, **pandas_lookups},
        "runs": runs,
        "pycache": folder / "pycache",
        "config": _write_config(runs / "locations.yaml", full, whole_model=False),
        "config_whole": _write_config(runs / "default_locations.yaml", full, whole_model=True),
        **lookups,
    }
    scale = n_rows / head_rows
    size = full.stat().st_size / 1e6
    note = (
        f"SYNTHETIC {n_rows:,}-row Locations sheet, {size:.1f} MB ODS; reference on the first "
        f"{head_rows:,} rows, scaled x{scale:g} (linear: odfpy reads cell by cell)"
    )
    return Prepared(data, reference_scale=scale, note=note)


def _out(d: dict[str, Any]) -> Path:
    return Path(tempfile.mkdtemp(dir=d["runs"], prefix="out-"))


def ours_cli(d: dict[str, Any]) -> dict[str, Any]:
    """``ics-model run locations.yaml`` in a fresh process: read, validate, place, count, write."""
    out = _out(d)
    _run([*_command(), "run", str(d["config"]), "--out", str(out), "-q"], d)
    return {"out": out, "data": d}


def cli_whole(d: dict[str, Any]) -> Path:
    """The default ``ics-model run`` with the sheet added (sector ``location``)."""
    out = _out(d)
    _run([*_command(), "run", str(d["config_whole"]), "--out", str(out), "-q"], d)
    return out


def cli_default(d: dict[str, Any]) -> Path:
    """The default ``ics-model run`` (embedded data, no Locations sheet)."""
    out = _out(d)
    _run([*_command(), "run", "--out", str(out), "-q"], d)
    return out


def floor(d: dict[str, Any]) -> pl.DataFrame:
    """calamine (through fastexcel) reading the sheet as text into polars."""
    return fastexcel.read_excel(str(d["path"])).load_sheet("Locations", dtypes="string").to_polars()


_FLOOR_CODE = (
    "import sys, fastexcel; "
    "fastexcel.read_excel(sys.argv[1]).load_sheet('Locations', dtypes='string').to_polars()"
)


def floor_process(d: dict[str, Any]) -> None:
    """The floor in a fresh Python process (start-up and imports of fastexcel and polars)."""
    _run([sys.executable, "-c", _FLOOR_CODE, str(d["path"])], d)


def reference(d: dict[str, Any]) -> pd.DataFrame:
    """pandas + odfpy on the sheet's first rows: read, clean and check, place, count."""
    return reference_locations(d["head"])


def reference_read(d: dict[str, Any]) -> pd.DataFrame:
    """``pandas.read_excel(engine="odf")`` alone on the sheet's first rows."""
    return pd.read_excel(d["head"]["path"], sheet_name="Locations", engine="odf", dtype=str)


_COUNTS = ["n_providers", "n_rated", "n_outstanding", "n_good", "n_inadequate"]


def _counts(view: pl.DataFrame) -> pl.DataFrame:
    return view.select(
        "icb_code",
        pl.col("key_question").cast(pl.String),
        *(pl.col(c).cast(pl.Int64) for c in _COUNTS),
    ).sort("icb_code", "key_question")


def check(ours: dict[str, Any], ref: pd.DataFrame) -> str:
    """The CLI's counts equal ours in-process on the sheet; ours equals pandas on its head."""
    d = ours["data"]
    view = pl.read_parquet(ours["out"] / "ics_view.parquet").filter(pl.col("sector") == "location")
    cli_same = _counts(view).equals(_counts(ours_locations(d)))
    head = check_locations(ours_locations(d["head"]), ref)
    if cli_same and head == "ours and reference counts agree":
        return (
            "counts agree: the CLI's ICS view (location rows) equals read_cqc_ratings + "
            "place_locations + ics_view on the whole sheet, which equal pandas + odfpy on its head"
        )
    return f"COUNTS DIFFER: CLI vs in-process equal: {cli_same}; in-process vs pandas: {head}"


CASES: list[Case] = [
    Case(
        number="6",
        name="cqc_locations_ods",
        title=(
            "CQC national Locations sheet (ODS, 120,000 rows): `ics-model run` in a fresh "
            "process reads, validates, places and counts it"
        ),
        setup=_setup,
        ours=ours_cli,
        reference=reference,
        repeat=5,
        reference_repeat=3,
        target_s=10.0,
        check=check,
        ours_label="ours: `ics-model run` (the Locations view), fresh process",
        reference_label="reference: pandas + odfpy read, clean, place, count",
        notes=(
            "ours: a fresh `ics-model run` process (start-up, imports, reference tables, "
            "partnership metrics and the written outputs included); the reference runs in "
            "this process",
        ),
        sides=(
            Side("floor", "floor: fastexcel (calamine) reads the sheet as text", floor),
            Side("floor_process", "floor in a fresh process", floor_process),
            Side(
                "ours_in_process",
                "ours in this process: read_cqc_ratings + place_locations + ics_view",
                lambda d: ours_locations(d),
            ),
            Side(
                "cli_default",
                "`ics-model run` default, no sheet, fresh process",
                cli_default,
                quick=False,
            ),
            Side(
                "cli_default_with_sheet",
                "`ics-model run` default + the sheet, fresh process",
                cli_whole,
                quick=False,
            ),
            Side(
                "reference_read",
                "reference: pandas.read_excel(engine='odf') alone",
                reference_read,
                scale=lambda prep: prep.reference_scale,
                repeat=3,
            ),
        ),
    ),
]
