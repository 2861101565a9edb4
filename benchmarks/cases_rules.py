"""Benchmark cases 1-2: weight Monte Carlo and gate threshold sweep.

The pandas references are written; the toolkit's side ("ours") is pending: replace
the body of :func:`ours_weight_monte_carlo` and :func:`ours_gate_sweep` (one function
each) and run.py times them against the references, on the same prepared data.

1. **Weight Monte Carlo**: 100,000 draws of indicator weights over a SYNTHETIC
   42 ICS x 20 indicator matrix; per draw: min-max normalise -> weighted arithmetic
   mean -> rank (1 = best, ties ``min``), as COINr re-builds the index per replication.
   Output: per ICS, the median and 5th/95th percentile rank over draws.
2. **Gate sweep**: 1,000 thresholds of an overall gate ("Outstanding only if
   ``home_system_share >= t``, else Good; missing share -> not assessable") over 50,000
   SYNTHETIC providers; output: per threshold x ICB x rating after the gate, the
   number of providers (``not_assessable`` as its own rating label).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from run import Case, Options, Prepared

from ics_model.synthetic import (
    gate_indicators,
    synthetic_gate_locations,
    synthetic_indicator_matrix,
)

SEED = 20260501

# ----------------------------------------------------------------------------- case 1

N_DRAWS = 100_000
WEIGHT_SPREAD = 0.25  # each weight drawn uniformly within +-25% of nominal, then rescaled


def _setup_monte_carlo(opts: Options) -> Prepared:
    """Data: ``matrix`` (icb_code + ind_01..ind_20, polars), ``weights`` (N_DRAWS x 20,
    each row summing to 1), ``reference_draws`` (the subset the pandas reference runs)."""
    matrix = synthetic_indicator_matrix(42, 20, seed=SEED)
    rng = np.random.default_rng(SEED)
    nominal = np.full(20, 1 / 20)
    weights = nominal * rng.uniform(1 - WEIGHT_SPREAD, 1 + WEIGHT_SPREAD, (N_DRAWS, 20))
    weights /= weights.sum(axis=1, keepdims=True)
    subset = 200 if opts.quick else 1_000
    data = {
        "matrix": matrix,
        "pd_matrix": matrix.drop("data_origin").to_pandas().set_index("icb_code"),
        "weights": weights,
        "reference_draws": subset,
    }
    note = f"reference scaled linearly from {subset:,} of {N_DRAWS:,} draws"
    return Prepared(data, reference_scale=N_DRAWS / subset, note=note)


def ours_weight_monte_carlo(d: dict[str, Any]) -> pl.DataFrame:
    """The toolkit's vectorised weight Monte Carlo over ``d["weights"]`` (all draws):
    min-max normalise once, score every draw as a matrix product, rank per row."""
    from ics_model.uncertainty import rank_summary, score_draws

    m = d["matrix"]
    x = m.drop("icb_code", "data_origin").to_numpy()
    norm = (x - x.min(0)) / (x.max(0) - x.min(0))
    res = score_draws(
        norm, d["weights"], np.ones(1), np.zeros(x.shape[1], dtype=np.intp), ties="min"
    )
    return rank_summary(res.ranks, m["icb_code"].to_list())


def reference_weight_monte_carlo(d: dict[str, Any]) -> pd.DataFrame:
    """pandas, per draw as COINr per replication: normalise, weight, aggregate, rank."""
    x = d["pd_matrix"]
    weights = d["weights"][: d["reference_draws"]]
    ranks = np.empty((len(weights), len(x)))
    for i, w in enumerate(weights):
        norm = (x - x.min()) / (x.max() - x.min())
        score = (norm * w).sum(axis=1)
        ranks[i] = score.rank(ascending=False, method="min").to_numpy()
    return pd.DataFrame(
        {
            "icb_code": x.index,
            "rank_median": np.median(ranks, axis=0),
            "rank_p05": np.percentile(ranks, 5, axis=0),
            "rank_p95": np.percentile(ranks, 95, axis=0),
        }
    )


# ----------------------------------------------------------------------------- case 2

N_PROVIDERS = 50_000
N_THRESHOLDS = 1_000


def _setup_gate_sweep(opts: Options) -> Prepared:
    """Data: ``ratings`` (long: provider_id, icb_code, key_question, rating, ...),
    ``indicators`` (provider_id, home_system_share), ``thresholds`` (N_THRESHOLDS in
    [0, 1]), ``reference_thresholds`` (how many of them the pandas reference runs)."""
    ratings = synthetic_gate_locations(N_PROVIDERS, seed=SEED)
    subset = 100 if opts.quick else N_THRESHOLDS
    data = {
        "ratings": ratings,
        "indicators": gate_indicators(ratings).drop("data_origin"),
        "pd_ratings": ratings.drop("home_system_share", "data_origin").to_pandas(),
        "pd_indicators": gate_indicators(ratings).drop("data_origin").to_pandas(),
        "thresholds": np.linspace(0.0, 1.0, N_THRESHOLDS),
        "reference_thresholds": subset,
    }
    note = "" if subset == N_THRESHOLDS else f"reference scaled from {subset} thresholds"
    return Prepared(data, reference_scale=N_THRESHOLDS / subset, note=note)


def ours_gate_sweep(d: dict[str, Any]) -> pl.DataFrame:
    """The toolkit's vectorised sweep of an overall gate (home_system_share >= t) over
    ``d["thresholds"]``: national and per-ICS Outstanding lost and not assessable."""
    from ics_model.scenarios import threshold_sweep

    spec = {
        "name": "bench_overall_gate",
        "sector": "nhs_trust",
        "gates": [
            {
                "name": "home",
                "level": "overall",
                "indicator": "home_system_share",
                "scope": "provider",
                "threshold": 0.5,
            }
        ],
    }
    mapped = d["ratings"].with_columns(pl.lit("nhs_trust").alias("sector"))
    return threshold_sweep(mapped, spec, d["thresholds"], provider_indicators=d["indicators"])


def reference_gate_sweep(d: dict[str, Any]) -> pd.DataFrame:
    """pandas: pivot once; per threshold, filter the capped and count per ICB x rating."""
    r = d["pd_ratings"]
    overall = r[r["key_question"].astype(str) == "Overall"][["provider_id", "icb_code", "rating"]]
    wide = overall.merge(d["pd_indicators"], on="provider_id", how="left")
    rating = wide["rating"].astype(str)
    share = wide["home_system_share"]
    outstanding = rating == "Outstanding"
    missing = outstanding & share.isna()
    out = []
    for t in d["thresholds"][: d["reference_thresholds"]]:
        after = rating.mask(outstanding & (share < t), "Good").mask(missing, "not_assessable")
        counts = wide.assign(rating_after=after).groupby(["icb_code", "rating_after"]).size()
        out.append(counts.rename("n").reset_index().assign(threshold=t))
    return pd.concat(out, ignore_index=True)


CASES: list[Case] = [
    Case(
        number="1",
        name="weight_monte_carlo",
        title="weight Monte Carlo: 100,000 draws over 42 ICSs x 20 indicators, with ranks",
        setup=_setup_monte_carlo,
        ours=ours_weight_monte_carlo,
        reference=reference_weight_monte_carlo,
        repeat=5,
        reference_repeat=3,
        target_s=1.0,
        target_ratio=20.0,
    ),
    Case(
        number="2",
        name="gate_sweep",
        title="gate sweep: 1,000 thresholds over 50,000 SYNTHETIC providers",
        setup=_setup_gate_sweep,
        ours=ours_gate_sweep,
        reference=reference_gate_sweep,
        repeat=5,
        reference_repeat=3,
        target_s=1.0,
        target_ratio=20.0,
    ),
]
