"""Real marginals that the SYNTHETIC generators of :mod:`ics_model.synthetic` draw from.

Holds :class:`Calibration` and :func:`calibration`, which loads it once (cached) from the
embedded processed tables: Overall rating marginals and real key-question profiles
(``cqc_trust_ratings``, ``cqc_gp_practices``), core-service use, sub-ICB and ICB
populations (``sub_icb_population``, ``icb_codes``), open trusts with their host ICB
(``ods_trusts_2025``), GP publication years and inherited rates, and the Beta fit of the
real provider ``home_system_share`` (RTT flows). What each marginal feeds is described in
the :mod:`ics_model.synthetic` docstring. Nothing here is generated data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl

from ics_model.ratings import KEY_QUESTIONS, RATING_LABELS


@dataclass(frozen=True)
class Calibration:
    """Real marginals the generators draw from (see the :mod:`ics_model.synthetic` docstring).

    Attributes
    ----------
    trust_overall, core_overall, gp_overall : probabilities of (Inadequate, Requires
        improvement, Good, Outstanding) for trust-level, core-service and GP Overall.
    trust_profiles, core_profiles : int8 arrays (m, 6): Safe .. Well-led, Overall codes
        (0 = Inadequate .. 3 = Outstanding) of the real complete profiles.
    core_services, core_weights : real core-service names and their relative use.
    sub_icb : sub_icb_gss, sub_icb_name, icb_gss, region_name, population (106 rows).
    icbs : icb_code, icb_gss, weight (population share), 42 rows.
    trusts : org_code, icb_gss of the open trusts with a host ICB.
    pub_years, pub_year_weights : GP publication years and their shares.
    inherited_rate : share of GP rows with an inherited rating.
    home_share_beta : (alpha, beta) of ``home_system_share``.
    home_share_missing : share of trusts whose ``home_system_share`` is null.
    """

    trust_overall: np.ndarray
    core_overall: np.ndarray
    gp_overall: np.ndarray
    trust_profiles: np.ndarray
    core_profiles: np.ndarray
    core_services: tuple[str, ...]
    core_weights: np.ndarray
    sub_icb: pl.DataFrame
    icbs: pl.DataFrame
    trusts: pl.DataFrame
    pub_years: np.ndarray
    pub_year_weights: np.ndarray
    inherited_rate: float
    home_share_beta: tuple[float, float]
    home_share_missing: float


def _codes(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).replace_strict(
        {r: i for i, r in enumerate(RATING_LABELS)}, return_dtype=pl.Int8
    )


def _marginal(ratings: pl.Series) -> np.ndarray:
    counts = np.bincount(ratings.drop_nulls().to_numpy(), minlength=4).astype(float)
    return counts / counts.sum()


def _profiles(long: pl.DataFrame, index: list[str]) -> np.ndarray:
    wide = (
        long.filter(pl.col("rating").is_not_null())
        .select(*index, pl.col("key_question").cast(pl.String), _codes(pl.col("rating")))
        .pivot(on="key_question", index=index, values="rating")
    )
    return wide.select(*KEY_QUESTIONS).drop_nulls().to_numpy().astype(np.int8)


def _home_share_fit() -> tuple[tuple[float, float], float]:
    """Method-of-moments Beta fit of the real ``home_system_share`` and its missing rate."""
    from ics_model.data.build import load_processed
    from ics_model.metrics import partnership
    from ics_model.metrics.partnership_inputs import flow_table

    table = flow_table(
        load_processed("rtt_flows"),
        load_processed("ods_trusts_2025"),
        load_processed("ods_sub_icbs"),
    )
    share = partnership.provider_partnership_metrics(table)["home_system_share"]
    x = share.drop_nulls()
    m, v = float(x.mean()), float(x.var())
    k = m * (1 - m) / v - 1
    return (m * k, (1 - m) * k), share.null_count() / share.len()


@cache
def calibration() -> Calibration:
    """Load the real marginals once (embedded processed tables; cached)."""
    from ics_model.data.build import load_processed

    trust = load_processed("cqc_trust_ratings")
    top = trust.filter(pl.col("service") == "Overall")
    core = trust.filter(pl.col("service") != "Overall")
    gp = load_processed("cqc_gp_practices").filter(pl.col("key_question") == "Overall")
    code = _codes(pl.col("rating"))
    kq_overall = pl.col("key_question") == "Overall"
    services = core.group_by("service").agg(pl.col("provider_id").n_unique().alias("n"))
    services = services.sort("n", "service", descending=[True, False])
    sub = load_processed("sub_icb_population").select(
        "sub_icb_gss", "sub_icb_name", "icb_gss", "region_name", "population"
    )
    icb_codes = load_processed("icb_codes")
    icbs = (
        icb_codes.select("icb_code", "icb_gss")
        .join(sub.group_by("icb_gss").agg(pl.col("population").sum()), on="icb_gss")
        .with_columns((pl.col("population") / pl.col("population").sum()).alias("weight"))
        .sort("icb_code")
    )
    trusts = (
        load_processed("ods_trusts_2025")
        .filter(pl.col("is_open"))
        .join(icb_codes.select("icb_code", "icb_gss"), on="icb_code")
        .select("org_code", "icb_gss")
        .sort("org_code")
    )
    years = gp["publication_year"].value_counts().sort("publication_year")
    beta, missing = _home_share_fit()
    return Calibration(
        trust_overall=_marginal(top.filter(kq_overall).select(code).to_series()),
        core_overall=_marginal(core.filter(kq_overall).select(code).to_series()),
        gp_overall=_marginal(gp.select(code).to_series()),
        trust_profiles=_profiles(top, ["provider_id"]),
        core_profiles=_profiles(core, ["provider_id", "service"]),
        core_services=tuple(services["service"]),
        core_weights=(services["n"] / services["n"].sum()).to_numpy(),
        sub_icb=sub,
        icbs=icbs,
        trusts=trusts,
        pub_years=years["publication_year"].to_numpy(),
        pub_year_weights=(years["count"] / years["count"].sum()).to_numpy(),
        inherited_rate=float(gp["inherited"].mean()),
        home_share_beta=beta,
        home_share_missing=missing,
    )
