"""Benchmark cases 3-5: reading, placing and aggregating files; the whole default run.

3a/3b. A SYNTHETIC national CQC Locations sheet (250,000 rows, the real 28-column
    header) from CSV and from XLSX -> validated long ratings -> placed in the 42 ICBs
    (sub-ICB GSS code, trust fallback) -> counts per ICB x key question.
4.  The real RTT April 2026 full extract (82 MB CSV in its zip) -> provider x
    commissioner x part x treatment function flows.
5.  The whole default ``ics-model run`` with its outputs written (ours only).
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from run import Case, Options, Prepared

from ics_model.data.build import load_processed
from ics_model.data.cqc import read_cqc_ratings
from ics_model.data.rtt import read_rtt_flows
from ics_model.data.sources import SOURCES
from ics_model.mapping import place_locations
from ics_model.outputs import write_outputs
from ics_model.pipeline import run
from ics_model.synthetic import synthetic_locations_file
from ics_model.views import ics_view

N_ROWS = 250_000
SEED = 20260501
RATINGS = ("Inadequate", "Requires improvement", "Good", "Outstanding")
KQS = ("Safe", "Effective", "Caring", "Responsive", "Well-led", "Overall")
NON_RATINGS = {"insufficient evidence to rate", "not rated", ""}

# ----------------------------------------------------------------------------- case 3


def _setup_locations(opts: Options, fmt: str) -> Prepared:
    path = opts.workdir / f"locations_synthetic_{N_ROWS}_{SEED}.{fmt}"
    if not path.exists():  # the memory probes reuse the file
        synthetic_locations_file(path, N_ROWS, seed=SEED, fmt=fmt)
    sub_icbs = load_processed("sub_icb_population")
    trusts = load_processed("ods_trusts_2025")
    icb_codes = load_processed("icb_codes")
    data = {
        "path": path,
        "sub_icbs": sub_icbs,
        "trusts": trusts,
        "icb_codes": icb_codes,
        # the same lookups as pandas frames for the reference (converted once, not timed)
        "pd_sub_icbs": sub_icbs.select("sub_icb_gss", "icb_gss").to_pandas(),
        "pd_trusts": trusts.select("org_code", "icb_code", "is_open").to_pandas(),
        "pd_icb_codes": icb_codes.select("icb_code", "icb_gss", "icb_name").to_pandas(),
    }
    size = path.stat().st_size / 1e6
    note = f"SYNTHETIC {N_ROWS:,}-row Locations sheet, {size:.0f} MB {fmt.upper()}"
    skip = ""
    if fmt == "xlsx" and opts.quick:
        skip = "pandas + openpyxl reference skipped in --quick (several minutes)"
    return Prepared(data, note=note, skip_reference=skip)


def ours_locations(d: dict[str, Any]) -> pl.DataFrame:
    """read_cqc_ratings (strict) + place_locations + ics_view."""
    loaded = read_cqc_ratings(d["path"])
    placed = place_locations(loaded.frame, d["sub_icbs"], d["trusts"], d["icb_codes"])
    return ics_view(
        placed.ratings, d["icb_codes"], vintages={"location": "SYNTHETIC"}, sectors=("location",)
    )


def _read_locations_pandas(path: Path) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        return pd.read_excel(path, sheet_name="Locations", engine="openpyxl", dtype=str)
    if path.suffix == ".ods":  # odfpy; date cells come back as "yyyy-mm-dd 00:00:00" text
        return pd.read_excel(path, sheet_name="Locations", engine="odf", dtype=str)
    return pd.read_csv(path, dtype=str)


def reference_locations(d: dict[str, Any]) -> pd.DataFrame:
    """pandas: read, clean and check, keep latest, place via sub-ICB then trust, count."""
    df = _read_locations_pandas(d["path"])
    df.columns = df.columns.str.strip()
    df = df.rename(
        columns={
            "Location ID": "location_id",
            "Provider ID": "provider_id",
            "Location ONSPD CCG Code": "sub_icb_gss",
            "Service / Population Group": "service",
            "Domain": "key_question",
            "Latest Rating": "rating",
            "Publication Date": "publication_date",
            "Report Type": "report_type",
            "Inherited Rating (Y/N)": "inherited",
        }
    )
    text = ["location_id", "provider_id", "sub_icb_gss", "service", "key_question", "rating"]
    for c in [*text, "publication_date", "report_type", "inherited"]:
        df[c] = df[c].str.strip()
    # labels: ratings and key questions case-insensitively; non-ratings become missing
    rating_key = df["rating"].fillna("").str.lower()
    df["rating"] = rating_key.map({r.lower(): r for r in RATINGS})
    kq = df["key_question"].str.lower().map({k.lower(): k for k in KQS})
    date_format = "%Y-%m-%d %H:%M:%S" if d["path"].suffix == ".ods" else "%d/%m/%Y"
    df["publication_date"] = pd.to_datetime(
        df["publication_date"], format=date_format, errors="coerce"
    )
    df["inherited"] = df["inherited"].str.upper().map({"Y": True, "N": False})
    problems = (
        (df["rating"].isna() & ~rating_key.isin(NON_RATINGS))
        | kq.isna()
        | df["publication_date"].isna()
        | df["inherited"].isna()
        | df["location_id"].isna()
        | df["provider_id"].isna()
    )
    if problems.any():
        raise ValueError(f"{int(problems.sum())} rows with unknown labels or missing values")
    df["key_question"] = kq
    # the latest publication of each key is the current rating
    key = ["location_id", "service", "key_question"]
    df = df.sort_values("publication_date", kind="stable").drop_duplicates(key, keep="last")
    # place: sub-ICB GSS -> ICB, else the provider's open NHS trust -> its ICB
    loc = df[df["service"] == "Overall"]
    icbs = d["pd_icb_codes"]
    trusts = d["pd_trusts"]
    trusts = trusts.loc[trusts["is_open"] & trusts["icb_code"].notna(), ["org_code", "icb_code"]]
    loc = (
        loc.merge(d["pd_sub_icbs"], on="sub_icb_gss", how="left")
        .merge(icbs[["icb_gss", "icb_code"]], on="icb_gss", how="left")
        .merge(
            trusts.rename(columns={"org_code": "provider_id", "icb_code": "trust_icb"}),
            on="provider_id",
            how="left",
        )
    )
    loc["icb_code"] = loc["icb_code"].fillna(loc["trust_icb"])
    loc = loc[loc["icb_code"].notna()]
    # count per ICB x key question, every ICB and key question present
    grid = pd.MultiIndex.from_product([sorted(icbs["icb_code"]), KQS], names=["icb_code", "kq"])
    g = loc.groupby(["icb_code", "key_question"])
    counts = pd.DataFrame(
        {"n_providers": g["location_id"].nunique(), "n_rated": g["rating"].count()}
    )
    by_rating = loc.groupby(["icb_code", "key_question", "rating"]).size().unstack(fill_value=0)
    by_rating = by_rating.reindex(columns=list(RATINGS), fill_value=0)
    by_rating.columns = ["n_inadequate", "n_requires_improvement", "n_good", "n_outstanding"]
    # a group whose locations are all unrated has no rating counts: 0, not missing
    view = counts.join(by_rating).fillna(0).astype("int64")
    view = view.reindex(grid, fill_value=0).reset_index()
    n = view["n_rated"].where(view["n_rated"] > 0)
    scores = view[["n_inadequate", "n_requires_improvement", "n_good", "n_outstanding"]]
    view["mean_score"] = (scores * [1, 2, 3, 4]).sum(axis=1) / n
    for name, x in (
        ("share_outstanding", view["n_outstanding"]),
        ("share_good_or_outstanding", view["n_good"] + view["n_outstanding"]),
    ):
        p = x / n
        z = 1.959963984540054
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        view[name] = p
        view[f"{name}_lower"] = (centre - half).clip(lower=0)
        view[f"{name}_upper"] = (centre + half).clip(upper=1)
    return view.merge(icbs[["icb_code", "icb_name"]], on="icb_code", how="left")


def check_locations(ours: pl.DataFrame, ref: pd.DataFrame) -> str:
    cols = ["n_providers", "n_rated", "n_outstanding", "n_good", "n_inadequate"]
    a = ours.select("icb_code", pl.col("key_question").cast(pl.String), *cols).sort(
        "icb_code", "key_question"
    )
    b = (
        pl.from_pandas(ref[["icb_code", "kq", *cols]])
        .rename({"kq": "key_question"})
        .with_columns(pl.col(c).cast(pl.Int64) for c in cols)
        .sort("icb_code", "key_question")
    )
    same = a.equals(b)
    return "ours and reference counts agree" if same else "COUNTS DIFFER from the reference"


# ----------------------------------------------------------------------------- case 4

RTT_KEY = ["Provider Org Code", "Commissioner Org Code", "RTT Part Type", "Treatment Function Code"]


def _setup_rtt(opts: Options) -> Prepared:
    path = SOURCES["rtt_2026_04"].path
    with zipfile.ZipFile(path) as archive:
        csv = [m for m in archive.infolist() if not m.filename.startswith("__MACOSX/")]
        csv_mb = sum(m.file_size for m in csv if m.filename.endswith(".csv")) / 1e6
    note = f"real file: {csv_mb:.0f} MB CSV in a {path.stat().st_size / 1e6:.0f} MB zip"
    return Prepared({"path": path}, note=note)


def ours_rtt(d: dict[str, Any]) -> pl.DataFrame:
    """read_rtt_flows (strict: every row checked against its part's rules)."""
    return read_rtt_flows(d["path"]).frame


def reference_rtt(d: dict[str, Any]) -> pd.DataFrame:
    """pandas: read the CSV member of the zip, check the count columns, group by key.

    Keeps the key columns only (ours also carries names, parents and dates).
    """
    with zipfile.ZipFile(d["path"]) as archive:
        (member,) = [
            n for n in archive.namelist() if n.endswith(".csv") and not n.startswith("__MACOSX/")
        ]
        with archive.open(member) as fh:
            df = pd.read_csv(fh)
    bands = [c for c in df.columns if c.startswith("Gt ")]
    lower = np.array([int(c.split()[1]) for c in bands])
    band_sum = df[bands].sum(axis=1)
    part = df["RTT Part Type"]
    completed = part.isin(["Part_1A", "Part_1B"])
    incomplete = part.isin(["Part_2", "Part_2A"])
    unknown = df["Patients with unknown clock start date"].fillna(0)
    bad = (
        (completed & (df["Total All"] != df["Total"] + unknown))
        | (completed & (df["Total"] != band_sum))
        | (incomplete & (df["Total All"] != band_sum))
        | (~completed & (df["Total"].fillna(0) != 0))
        | ~part.isin(["Part_1A", "Part_1B", "Part_2", "Part_2A", "Part_3"])
    )
    if bad.any():
        raise ValueError(f"{int(bad.sum())} rows break the RTT count rules")
    over = {w: [b for b, lo in zip(bands, lower, strict=True) if lo >= w] for w in (18, 52)}
    flows = pd.DataFrame({c: df[c].str.strip() for c in RTT_KEY}).assign(
        pathways=df["Total All"],
        unknown_clock_start=unknown.where(completed),
        over_18_weeks=df[over[18]].sum(axis=1),
        over_52_weeks=df[over[52]].sum(axis=1),
    )
    return flows.groupby(RTT_KEY, sort=False).sum(min_count=1).reset_index()


def check_rtt(ours: pl.DataFrame, ref: pd.DataFrame) -> str:
    same = (
        ours.height == len(ref)
        and ours["pathways"].sum() == ref["pathways"].sum()
        and ours["over_52_weeks"].sum() == ref["over_52_weeks"].sum()
    )
    return "same rows and totals as the reference" if same else "TOTALS DIFFER from the reference"


# ----------------------------------------------------------------------------- case 5


def _setup_pipeline(opts: Options) -> Prepared:
    return Prepared({"out": opts.workdir / "run"})


def ours_pipeline(d: dict[str, Any]) -> list[Path]:
    """ics_model.pipeline.run() on the default config + write_outputs to a fresh folder."""
    out = Path(tempfile.mkdtemp(dir=d["out"].parent, prefix="run-"))
    return write_outputs(run(), out)


CASES: list[Case] = [
    Case(
        number="3a",
        name="cqc_locations_csv",
        title="CQC Locations sheet (CSV, 250,000 rows): read, validate, place, ICS view",
        setup=lambda o: _setup_locations(o, "csv"),
        ours=ours_locations,
        reference=reference_locations,
        target_s=3.0,
        target_ratio=3.0,
        check=check_locations,
    ),
    Case(
        number="3b",
        name="cqc_locations_xlsx",
        title="CQC Locations sheet (XLSX, 250,000 rows): read, validate, place, ICS view",
        setup=lambda o: _setup_locations(o, "xlsx"),
        ours=ours_locations,
        reference=reference_locations,
        repeat=3,
        reference_repeat=1,
        check=check_locations,
        notes=("reference reads with pandas.read_excel(engine='openpyxl')",),
    ),
    Case(
        number="4",
        name="rtt_flows",
        title="RTT April 2026 full extract (82 MB CSV in its zip) -> flows",
        setup=_setup_rtt,
        ours=ours_rtt,
        reference=reference_rtt,
        target_s=5.0,
        target_ratio=3.0,
        check=check_rtt,
    ),
    Case(
        number="5",
        name="default_run",
        title="whole default `ics-model run` with outputs written",
        setup=_setup_pipeline,
        ours=ours_pipeline,
        repeat=3,
        target_s=15.0,
    ),
]
