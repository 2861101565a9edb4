"""The specification curve of the collaboration association (ics_model.effects.curve).

Hand frames whose answers are known, the grid and its skipped combinations, the placebo
sentences, the joint permutation test on synthetic designs with and without a planted
effect, executor invariance, the chart, and one run on the real data. The models of
``ics_model.effects.models`` are injected: a small statsmodels fitter is written here.
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PathCollection
from scipy.stats import norm
from statsmodels.miscmodels.ordinal_model import OrderedModel

from ics_model.config import RunConfig
from ics_model.contracts import validate
from ics_model.data import cqc
from ics_model.data.sources import SOURCES
from ics_model.effects import curve_contracts as cc
from ics_model.effects import joint as J
from ics_model.effects.curve import effect_curve, prepare, specification_grid
from ics_model.effects.curve_summary import (
    curve_summary,
    placebo_comparison,
    placebo_summary,
    placebo_verdict,
)
from ics_model.effects.models import ModelFit as Fit
from ics_model.effects.rows import analysis_rows
from ics_model.effects.spec import (
    MODEL_OUTCOME_KINDS,
    VERDICTS,
    EffectCurveConfig,
    combination_problem,
)
from ics_model.pipeline import run
from ics_model.plot import specification_curve
from ics_model.ratings import RATING_LABELS
from ics_model.spec import ConfigError, validate_as

# ----------------------------------------------------------------------------- test fitter


def sm_fit(model, y, x, z, clusters, *, ordinal=False, x_between=None, confidence=0.95, rng=None):
    """Logistic GLM (binary) or OrderedModel logit (ordinal), cluster-robust Wald SE by ICS."""
    cols = [x, *([] if x_between is None else [x_between]), z]
    X = np.column_stack(cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of tiny designs
        if ordinal:
            res = OrderedModel(y, X, distr="logit").fit(
                method="bfgs",
                disp=False,
                maxiter=1000,
                cov_type="cluster",
                cov_kwds={"groups": clusters},
            )
            b, se, conv = res.params[0], res.bse[0], bool(res.mle_retvals["converged"])
            bb = res.params[1] if x_between is not None else None
        else:
            design = np.column_stack([np.ones(len(y)), X])
            res = sm.GLM(y, design, family=sm.families.Binomial()).fit(
                cov_type="cluster", cov_kwds={"groups": clusters}
            )
            b, se, conv = res.params[1], res.bse[1], bool(res.converged)
            bb = res.params[2] if x_between is not None else None
    q = norm.ppf(0.5 + confidence / 2)
    return Fit(
        model,
        math.exp(b),
        math.exp(b - q * se),
        math.exp(b + q * se),
        float(2 * norm.sf(abs(b / se))),
        len(y),
        int(clusters.max()) + 1,
        int(np.sum(y == y.max())),
        conv,
        None,
        None if bb is None else math.exp(bb),
    )


# ----------------------------------------------------------------------------- hand frames

CODES = [f"Q{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(60)]


def _mapped(records: list[dict]) -> pl.DataFrame:
    schema = {
        "sector": pl.String,
        "provider_id": pl.String,
        "key_question": pl.String,
        "rating": pl.Enum(list(RATING_LABELS)),
        "publication_date": pl.Date,
        "publication_year": pl.Int32,
        "icb_code": pl.String,
        "trust_type": pl.String,
    }
    full = [{k: r.get(k) for k in schema} for r in records]
    return pl.DataFrame(full, schema=schema, orient="row")


def _metrics(values: dict[str, float], metric: str = "self_containment") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "icb_code": list(values),
            "metric": [metric] * len(values),
            "value": list(values.values()),
            "vintage": ["synthetic"] * len(values),
        }
    )


def _gp(pid, icb, rating, year, **kw):
    return {"sector": "gp_practice", "provider_id": pid, "key_question": "Overall",
            "rating": rating, "publication_year": year, "icb_code": icb, **kw}  # fmt: skip


def test_rows_periods_codings_and_accounts_by_hand():
    mapped = _mapped(
        [
            _gp("G1", "QAA", "Outstanding", 2023),
            _gp("G2", "QAA", "Inadequate", 2021),
            _gp("G3", "QAB", "Good", 2022),  # the year straddles 1 July 2022
            _gp("G4", "QAB", None, 2023),  # no rating
            _gp("G5", "QAC", "Requires improvement", None),  # no year
            {
                "sector": "nhs_trust",
                "provider_id": "R1",
                "key_question": "Overall",
                "rating": "Good",
                "publication_date": date(2018, 3, 1),
                "icb_code": "QAA",
                "trust_type": "acute",
            },
            {
                "sector": "nhs_trust",
                "provider_id": "R1",
                "key_question": "Well-led",
                "rating": "Outstanding",
                "publication_date": date(2018, 3, 1),
                "icb_code": "QAA",
            },
            {
                "sector": "independent_healthcare",
                "provider_id": "1-1",
                "key_question": "Overall",
                "rating": "Good",
                "publication_date": date(2022, 7, 1),
                "icb_code": "QAB",
            },
            {
                "sector": "independent_healthcare",
                "provider_id": "1-2",
                "key_question": "Overall",
                "rating": "Outstanding",
                "publication_date": date(2022, 6, 30),
                "icb_code": "QAC",
            },
        ]
    )
    gp = pl.DataFrame(
        {"practice_code": ["G1", "G2"], "imd_score": [10.0, 30.0], "imd_quintile": [4, 1]}
    )
    metrics = _metrics({"QAA": 0.7, "QAB": 0.8, "QAC": 0.9, "QAD": 1.0, "ENGLAND": 0.5})
    rows = analysis_rows(
        mapped,
        metrics,
        populations=("gp_practice", "nhs_trust", "independent_healthcare"),
        exposures=("self_containment",),
        gp_practices=gp,
    )
    f = rows.frame
    assert f.select("population", "provider_id", "period").rows() == [
        ("gp_practice", "G1", "post_ics"),
        ("gp_practice", "G2", "pre_ics"),
        ("independent_healthcare", "1-1", "post_ics"),  # on 1 July 2022: post
        ("independent_healthcare", "1-2", "pre_ics"),
        ("nhs_trust", "R1", "pre_ics"),
    ]
    assert f["rating_ordinal"].to_list() == [3, 0, 2, 3, 2]
    assert f["good_or_outstanding"].to_list() == [1, 0, 1, 1, 1]
    assert f["outstanding"].to_list() == [1, 0, 0, 1, 0]
    assert f["well_led_ordinal"].to_list() == [None, None, None, None, 3]
    assert f["imd_score"].to_list() == [10.0, 30.0, None, None, None]
    assert f["rating_year"].to_list() == ["2023", "2021", "2022", "2022", "2018"]
    # ICS-level exposure: SD across the four ICSs with a value (ENGLAND is not an ICS)
    sd = float(np.std([0.7, 0.8, 0.9, 1.0], ddof=1))
    assert f["x__self_containment"].to_list() == pytest.approx(
        [(v - 0.85) / sd for v in (0.7, 0.7, 0.8, 0.9, 0.7)]
    )
    assert rows.ics_codes == ("QAA", "QAB", "QAC", "QAD")  # QAD: a value, no providers
    assert rows.ics_exposures["cluster"].to_list() == [0, 1, 2, 3]
    acc = {(p, o): n for p, o, n in rows.accounts.rows()}
    assert acc == {
        ("gp_practice", "no_rating"): 1,
        ("gp_practice", "no_publication_date"): 1,
        ("gp_practice", "published_in_ics_start_year"): 1,
        ("gp_practice", "used_post_ics"): 1,
        ("gp_practice", "used_pre_ics"): 1,
        ("independent_healthcare", "used_post_ics"): 1,
        ("independent_healthcare", "used_pre_ics"): 1,
        ("nhs_trust", "used_pre_ics"): 1,
    }
    validate(rows.accounts, cc.CURVE_ACCOUNTS)


def test_rows_provider_level_exposure_within_and_between():
    mapped = _mapped(
        [
            _gp(f"G{i}", icb, "Good", 2023)
            for i, icb in enumerate(["QAA", "QAA", "QAB", "QAB", "QAC", "QAC"])
        ]
    )
    share = pl.DataFrame({"provider_id": [f"G{i}" for i in range(6)],
                          "list_share": [1.0, 3.0, 2.0, 2.0, 5.0, None]})  # fmt: skip
    rows = analysis_rows(
        mapped,
        _metrics({"QAA": 0.7, "QAB": 0.8, "QAC": 0.9}),
        populations=("gp_practice",),
        exposures=("list_share",),
        provider_exposures=share,
    )
    v = np.array([1.0, 3.0, 2.0, 2.0, 5.0])
    x = (v - v.mean()) / v.std(ddof=1)
    assert rows.frame["x__list_share"].to_list()[:5] == pytest.approx(x.tolist())
    assert rows.frame["x__list_share"][5] is None
    means = np.array([2.0, 2.0, 5.0])  # ICS means over the practices with a value
    xb = (means - means.mean()) / means.std(ddof=1)
    assert rows.frame["xb__list_share"].to_list()[:5] == pytest.approx(
        [xb[0], xb[0], xb[1], xb[1], xb[2]]
    )
    assert rows.frame["xb__list_share"][5] is None
    info = rows.exposures.row(0, named=True)
    assert (info["level"], info["population"], info["n_units"]) == ("provider", "gp_practice", 5)


def test_rows_nof_segments_and_bad_inputs():
    nof = pl.DataFrame(
        {
            "org_code": ["R1", "R2", "R3"],
            "icb_code": ["QAA", "QAB", "QAC"],
            "adjusted_segment": [1, 4, None],
            "nhs_trust_type": ["Acute trust"] * 3,
            "data_month": ["2026-03"] * 3,
        }
    )
    rows = analysis_rows(
        _mapped([]),
        _metrics({"QAA": 0.7, "QAB": 0.8, "QAC": 0.9}),
        populations=("nof_trust",),
        exposures=("self_containment",),
        nof_trusts=nof,
    )
    assert rows.frame["nof_segment_ordinal"].to_list() == [4, 1]  # 5 - segment
    assert set(rows.frame["period"]) == {"post_ics"}
    assert dict(rows.accounts.select("outcome", "n_rows").rows()) == {
        "no_rating": 1,
        "used_post_ics": 2,
    }
    with pytest.raises(ValueError, match="neither an ICS metric"):
        analysis_rows(
            _mapped([]), _metrics({"QAA": 1.0}), populations=("nof_trust",),
            exposures=("nope",), nof_trusts=nof,
        )  # fmt: skip
    with pytest.raises(ValueError, match="needs nof_trusts"):
        analysis_rows(_mapped([]), _metrics({"QAA": 1.0}), populations=("nof_trust",), exposures=())
    both = pl.DataFrame({"provider_id": ["R1"], "self_containment": [1.0]})
    with pytest.raises(ValueError, match="both an ICS metric and a provider column"):
        analysis_rows(
            _mapped([]), _metrics({"QAA": 1.0}), populations=("nof_trust",),
            exposures=("self_containment",), nof_trusts=nof, provider_exposures=both,
        )  # fmt: skip


# ----------------------------------------------------------------------------- config, grid


def test_config_defaults_and_errors_name_allowed_values():
    cfg = EffectCurveConfig()
    assert cfg.periods == ("post_ics", "pre_ics")
    with pytest.raises(ConfigError, match=r"models: Value error, unknown model \['ols'\]"):
        validate_as(EffectCurveConfig, {"models": ["ols"]}, "curve")
    with pytest.raises(ConfigError, match="allowed: gp_practice, nhs_trust"):
        validate_as(EffectCurveConfig, {"populations": ["gps"]}, "curve")
    with pytest.raises(ConfigError, match="unknown key"):
        validate_as(EffectCurveConfig, {"permutation": 9}, "curve")
    with pytest.raises(ConfigError, match="repeat"):
        validate_as(EffectCurveConfig, {"outcomes": ["outstanding", "outstanding"]}, "curve")
    with pytest.raises(ConfigError, match="greater than or equal to 99"):
        validate_as(EffectCurveConfig, {"permutations": 10}, "curve")


def _design(
    G: int = 30,
    per: int = 24,
    beta: float = 0.0,
    seed: int = 1,
    post_share: float = 0.5,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """GP-like providers in G ICSs: latent = beta * x_std + logistic, cut into ratings."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(0.8, 0.1, G)
    x = (raw - raw.mean()) / raw.std(ddof=1)
    records, imd = [], []
    for g in range(G):
        for j in range(per):
            latent = beta * x[g] + rng.logistic()
            code = int(np.digitize(latent, [-3.0, -1.5, 1.5]))
            post = rng.random() < post_share
            year = int(rng.integers(2023, 2025) if post else rng.integers(2016, 2022))
            pid = f"P{g:02d}{j:03d}"
            records.append(_gp(pid, CODES[g], RATING_LABELS[code], year))
            imd.append((pid, float(rng.normal(20, 5)), int(rng.integers(1, 6))))
    gp = pl.DataFrame(imd, schema=["practice_code", "imd_score", "imd_quintile"], orient="row")
    partners = rng.integers(0, 3, G).astype(float)
    metrics = pl.concat(
        [
            _metrics(dict(zip(CODES[:G], raw, strict=True))),
            _metrics(dict(zip(CODES[:G], partners, strict=True)), "n_partner_icss"),
        ]
    )
    return _mapped(records), metrics, gp


def _rows(cfg: EffectCurveConfig, design):
    mapped, metrics, gp = design
    return analysis_rows(
        mapped, metrics, populations=cfg.populations, exposures=cfg.exposures, gp_practices=gp
    )


def test_default_grid_has_30_per_period_and_lists_every_skip():
    cfg = EffectCurveConfig()
    specs, skipped = specification_grid(cfg, _rows(cfg, _design(G=6, per=5)))
    per_period = {p: sum(s.period == p for s in specs) for p in cfg.periods}
    assert per_period == {"post_ics": 30, "pre_ics": 30}  # at least 24 per period
    assert len({s.spec_id for s in specs}) == 30  # shared by the two periods
    # 3 outcomes x 3 models: 4 invalid, x 2 exposures x 3 control sets x 2 periods
    assert skipped.height == 4 * 2 * 3 * 2
    reasons = set(skipped["reason"])
    assert reasons == {
        "glm_cluster fits binary outcomes only; rating_ordinal is ordinal",
        "gee_exchangeable fits binary outcomes only; rating_ordinal is ordinal",
        "ordinal_logit fits ordinal outcomes only; good_or_outstanding is binary",
        "ordinal_logit fits ordinal outcomes only; outstanding is binary",
    }
    assert skipped["spec_id"].null_count() == skipped.height
    validate(skipped, cc.CURVE_SKIPPED)


def test_grid_skips_well_led_for_gps_and_trusts_after_ics_with_reasons():
    cfg = EffectCurveConfig(
        populations=("gp_practice", "nhs_trust"),
        outcomes=("well_led_good_or_outstanding",),
        exposures=("self_containment",),
        controls={"deprivation": ("imd_score",)},
        models=("glm_cluster",),
    )
    mapped, metrics, gp = _design(G=4, per=4)
    trusts = _mapped(
        [
            {"sector": "nhs_trust", "provider_id": f"R{i}", "key_question": kq,
             "rating": "Good", "publication_date": date(2017, 1, 1), "icb_code": CODES[i % 4]}
            for i in range(8) for kq in ("Overall", "Well-led")
        ]
    )  # fmt: skip
    rows = analysis_rows(
        pl.concat([mapped, trusts]),
        metrics,
        populations=cfg.populations,
        exposures=cfg.exposures,
        gp_practices=gp,
    )
    specs, skipped = specification_grid(cfg, rows)
    assert specs == []
    why = {(r["population"], r["period"]): r["reason"] for r in skipped.iter_rows(named=True)}
    assert why[("gp_practice", "post_ics")] == (
        "well_led_good_or_outstanding exists for nhs_trust only"
    )
    assert why[("nhs_trust", "post_ics")].startswith("no nhs_trust ratings in the post_ics period")
    assert "pre-ICS placebo period only" in why[("nhs_trust", "post_ics")]
    assert why[("nhs_trust", "pre_ics")] == "control imd_score is not available for nhs_trust"
    assert combination_problem("nof_trust", "outstanding", "glm_cluster") == (
        "nof_trust is rated by its NOF segment, not by CQC ratings"
    )


# ----------------------------------------------------------------------------- fits


def test_curve_reproduces_a_two_by_two_odds_ratio_by_hand():
    # 4 ICSs, raw exposure 0, 0, 1, 1: low ICSs 2 of 10 Outstanding, high ICSs 5 of 10
    records = []
    for g, n_out in enumerate([1, 1, 2, 3]):
        for j in range(5):
            rating = "Outstanding" if j < n_out else "Good"
            records.append(_gp(f"P{g}{j}", CODES[g], rating, 2023))
    metrics = _metrics({CODES[g]: float(v) for g, v in enumerate([0, 0, 1, 1])})
    cfg = EffectCurveConfig(
        outcomes=("outstanding",),
        exposures=("self_containment",),
        controls={"none": ()},
        models=("glm_cluster",),
        periods=("post_ics",),
        permutations=99,
    )
    rows = analysis_rows(
        _mapped(records), metrics, populations=cfg.populations, exposures=cfg.exposures
    )
    res = effect_curve(rows, cfg, fit=sm_fit)
    row = res.curve.row(0, named=True)
    # OR per unit (5/5) / (2/8) = 4; per SD (0.57735 across the 4 ICSs): 4 ** 0.57735
    assert row["estimate"] == pytest.approx(4 ** float(np.std([0, 0, 1, 1], ddof=1)))
    assert (row["n"], row["n_clusters"], row["n_events"]) == (20, 4, 7)
    assert row["exposure_level"] == "ics" and row["exposure_sd"] == pytest.approx(0.57735, 1e-4)
    assert row["dropped"] is None and row["spec_id"] == 1
    validate(res.curve, cc.SPECIFICATION_CURVE)


def test_fitter_receives_recoded_arrays_and_its_failures_are_kept():
    seen = []

    def recorder(model, y, x, z, clusters, *, ordinal=False, x_between=None, rng=None):
        seen.append((model, y.copy(), z.shape, ordinal, x_between, rng.integers(1 << 30)))
        if model == "gee_exchangeable":
            raise ValueError("separation")
        return Fit(model, 1.5, 1.1, 2.0, 0.01, len(y), int(clusters.max()) + 1, 0, True, "ok")

    records = [
        _gp(f"P{g}{j}", CODES[g], RATING_LABELS[1 + (j % 3)], 2023)
        for g in range(4)
        for j in range(3)
    ]  # ratings 1..3 only: recoded 0..2
    records.append(_gp("PX", CODES[0], "Good", 2023))  # no IMD score: dropped
    gp = pl.DataFrame(
        {"practice_code": [r["provider_id"] for r in records[:-1]],
         "imd_score": [float(i) for i in range(12)], "imd_quintile": [1] * 12}
    )  # fmt: skip
    cfg = EffectCurveConfig(
        outcomes=("rating_ordinal", "good_or_outstanding"),
        exposures=("self_containment",),
        controls={"deprivation": ("imd_score",)},
        models=("ordinal_logit", "gee_exchangeable"),
        periods=("post_ics",),
        permutations=99,
    )
    metrics = _metrics({CODES[g]: 0.1 * g for g in range(4)})
    rows = analysis_rows(
        _mapped(records), metrics, populations=cfg.populations, exposures=cfg.exposures,
        gp_practices=gp,
    )  # fmt: skip
    res = effect_curve(rows, cfg, fit=recorder)
    ordinal = next(s for s in seen if s[0] == "ordinal_logit")
    assert sorted(set(ordinal[1])) == [0.0, 1.0, 2.0] and ordinal[2] == (12, 1) and ordinal[3]
    assert ordinal[4] is None  # ICS-level exposure: no between part
    c = res.curve.sort("spec_id")
    assert c["estimate"].to_list() == [1.5, None]
    assert c["note"][0] == "3 outcome categories present; ok"
    assert c["note"][1] == "fit failed: ValueError: separation"
    assert c["dropped"].to_list() == ["missing_imd_score 1"] * 2
    assert c["n_events"].to_list() == [4, 8]  # top category present; Good or Outstanding
    # each specification's generator comes from the seed, not from the order of fitting
    first = [s[5] for s in seen]
    seen.clear()
    effect_curve(rows, cfg.model_copy(update={"models": ("gee_exchangeable", "ordinal_logit")}),
                 fit=recorder)  # fmt: skip
    assert sorted(s[5] for s in seen) == sorted(first)


# ----------------------------------------------------------------------------- placebo


@pytest.mark.parametrize(
    ("post", "pre", "verdict", "phrase"),
    [
        ((1.8, 1.2, 2.7, True), (1.9, 1.3, 2.8, True), "pre_as_strong", "geography or history"),
        ((1.8, 1.2, 2.7, True), (2.5, 0.9, 6.0, False), "pre_as_strong", "as strongly"),
        ((1.8, 1.3, 2.5, True), (1.2, 0.9, 1.6, False), "overlapping", "intervals overlap"),
        ((1.8, 1.5, 2.2, True), (0.95, 0.8, 1.1, False), "post_only", "only after ICSs"),
        ((1.1, 0.9, 1.3, False), (0.9, 0.7, 1.2, False), "neither", "Neither"),
        ((1.1, 0.9, 1.3, False), (1.6, 1.2, 2.1, True), "pre_only", "predates"),
        ((1.5, 1.1, 2.0, True), (0.7, 0.5, 0.9, True), "opposite", "opposite directions"),
        ((2.5, 2.1, 3.0, True), (1.3, 1.1, 1.5, True), "stronger_post", "stronger after"),
    ],
)
def test_placebo_verdicts(post, pre, verdict, phrase):
    v, sentence = placebo_verdict(post, pre)
    assert v == verdict and phrase in sentence
    assert f"{post[0]:.2f} ({post[1]:.2f} to {post[2]:.2f})" in sentence


def test_placebo_comparison_pairs_periods_and_says_why_one_is_missing():
    key = {"population": "gp_practice", "outcome": "outstanding", "exposure": "e",
           "controls": "none", "model": "glm_cluster"}  # fmt: skip
    curve = pl.DataFrame(
        [
            {**key, "spec_id": 1, "period": "post_ics", "estimate": 2.0, "ci_lower": 1.5,
             "ci_upper": 2.6, "p_value": 0.001, "significant": True, "n": 700},
            {**key, "spec_id": 1, "period": "pre_ics", "estimate": 2.1, "ci_lower": 1.6,
             "ci_upper": 2.7, "p_value": 0.001, "significant": True, "n": 4000},
            {**key, "spec_id": 2, "period": "post_ics", "estimate": 1.1, "ci_lower": 0.8,
             "ci_upper": 1.4, "p_value": 0.5, "significant": False, "n": 700},
        ]
    )  # fmt: skip
    skipped = pl.DataFrame(
        [{**key, "spec_id": 2, "period": "pre_ics", "stage": "data", "reason": "too few ICSs"}]
    )
    placebo = placebo_comparison(curve, skipped)
    assert placebo["verdict"].to_list() == ["pre_as_strong", "not_comparable"]
    assert placebo["sentence"][1] == "No pre-ICS estimate: too few ICSs."
    assert placebo.select("n_post", "n_pre").rows() == [(700, 4000), (700, None)]
    text = placebo_summary(placebo)
    assert "of 1 specifications estimated in both periods" in text
    assert "not ICS collaboration" in text and "1 specification(s) were estimated in one" in text
    validate(placebo, cc.CURVE_PLACEBO)


@given(
    st.tuples(*[st.floats(-3, 3)] * 3, st.booleans()),
    st.tuples(*[st.floats(-3, 3)] * 3, st.booleans()),
)
@settings(max_examples=200, deadline=None)
def test_placebo_verdict_always_answers_in_words(a, b):
    def side(t):
        lo, est, hi = sorted(t[:3])
        return (math.exp(est), math.exp(lo), math.exp(hi), t[3])

    v, s = placebo_verdict(side(a), side(b))
    assert v in VERDICTS and v != "not_comparable" and s.endswith(".")


def test_summary_shares_by_hand():
    curve = pl.DataFrame(
        {
            "period": ["post_ics"] * 4 + ["pre_ics"],
            "estimate": [2.0, 1.5, 0.5, None, 1.2],
            "significant": [True, False, True, None, False],
        }
    )
    s = curve_summary(curve).row(0, named=True)
    assert (s["n_specifications"], s["n_estimated"]) == (4, 3)
    assert s["share_positive"] == pytest.approx(2 / 3)
    assert s["share_significant_positive"] == pytest.approx(1 / 3)
    assert s["share_significant_negative"] == pytest.approx(1 / 3)
    assert s["median_estimate"] == 1.5
    assert "2 (67%) are significant at 5% (1 positive, 1 negative)" in s["sentence"]


# ----------------------------------------------------------------------------- joint test

JOINT_CFG = EffectCurveConfig(
    outcomes=("rating_ordinal", "good_or_outstanding", "outstanding"),
    exposures=("self_containment",),
    controls={"none": (), "year": ("publication_year",)},
    models=("glm_cluster", "ordinal_logit"),
    permutations=199,
    chunk_size=50,
    seed=7,
)


def _joint(result, period="post_ics"):
    j = result.joint.filter(pl.col("period") == period)
    return dict(zip(j["statistic"], j["p_value"], strict=True))


def test_joint_test_finds_a_planted_effect_and_not_a_null_one():
    strong = effect_curve(_rows(JOINT_CFG, _design(beta=math.log(3.0), seed=3)), JOINT_CFG,
                          fit=sm_fit)  # fmt: skip
    p = _joint(strong)
    # no permutation gives as large a median or Stouffer Z; the count of significant
    # specifications saturates (6 of 6), so a few permutations reach it too
    assert p["median_odds_ratio"] == p["stouffer_z"] == pytest.approx(1 / 200)
    assert p["n_significant_dominant"] <= 0.02
    assert strong.summary.filter(pl.col("period") == "post_ics")["median_estimate"][0] > 2
    null = effect_curve(_rows(JOINT_CFG, _design(beta=0.0, seed=3)), JOINT_CFG, fit=sm_fit)
    assert min(_joint(null).values()) > 0.05
    assert min(_joint(null, "pre_ics").values()) > 0.05
    validate(strong.joint, cc.CURVE_JOINT)
    validate(strong.summary, cc.CURVE_SUMMARY)


def test_joint_test_p_values_under_the_null_are_spread_out():
    cfg = JOINT_CFG.model_copy(update={"permutations": 99, "periods": ("post_ics",)})
    ps = []
    for seed in range(20):
        rows = _rows(cfg, _design(G=20, per=15, seed=100 + seed))
        specs, _ = specification_grid(cfg, rows)
        inputs = [J.JointInput(s.spec_id, s.population, s.exposure, s.period, s.ordinal,
                               prepare(s, rows)) for s in specs]  # fmt: skip
        j = J.joint_test(rows, inputs, periods=("post_ics",), permutations=99, chunk_size=99,
                         seed=seed)  # fmt: skip
        ps.append(j.filter(pl.col("statistic") == "median_odds_ratio")["p_value"][0])
    ps = np.array(ps)
    assert np.sum(ps <= 0.05) <= 3 and np.sum(ps > 0.5) >= 6  # roughly uniform


def test_score_approximation_matches_the_fitted_models():
    mapped, metrics, gp = _design(G=30, per=30, beta=0.25, seed=11)
    rows = analysis_rows(
        mapped, metrics, populations=("gp_practice",), exposures=("self_containment",),
        gp_practices=gp,
    )  # fmt: skip
    cfg = JOINT_CFG.model_copy(update={"controls": {"year": ("publication_year",)}})
    specs, _ = specification_grid(cfg, rows)
    inputs = [J.JointInput(s.spec_id, s.population, s.exposure, s.period, s.ordinal,
                           prepare(s, rows)) for s in specs]  # fmt: skip
    ctx, excluded = J._build(rows, inputs, ("post_ics", "pre_ics"))
    assert excluded == []
    observed = J._observed(ctx)
    for inp, spec in zip(inputs, ctx.specs, strict=True):
        z, b = J._spec_statistics(spec, observed[spec.source][:, spec.cluster_ids])
        d = inp.data
        fit = sm_fit("m", d.y, d.x, d.z, d.clusters, ordinal=inp.ordinal)
        assert b[0] == pytest.approx(math.log(fit.estimate), abs=0.03)  # one-step vs MLE
        wald = math.log(fit.estimate) / (math.log(fit.ci_upper / fit.ci_lower) / (2 * 1.96))
        # the score statistic's variance is taken at the null, so it is the smaller one
        assert abs(wald) * 0.7 - 0.05 <= abs(z[0]) <= abs(wald) + 0.05
        assert np.sign(z[0]) == np.sign(wald)


def test_binary_null_scores_are_the_logistic_ones():
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.3).astype(float)
    z = rng.normal(size=(200, 1))
    theta, gamma, problem = J.fit_null(y, z)
    assert problem is None
    ns = J.null_scores(y, z, theta, gamma)
    p = 1 / (1 + np.exp(theta[0] - z @ gamma))
    assert ns.e == pytest.approx(y - p)
    assert ns.w == pytest.approx(p * (1 - p))
    assert ns.s.sum(axis=0) == pytest.approx([0, 0], abs=1e-6)  # nuisance scores vanish


@given(st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_permutations_keep_values_and_ics_membership(seed):
    rng = np.random.default_rng(seed)
    n_ics = 7
    have = np.array([0, 2, 3, 5, 6])
    values = np.full(n_ics, np.nan)
    values[have] = rng.normal(size=len(have))
    mc = np.sort(rng.choice(have, size=15))
    dev = rng.normal(size=15)
    src_ics = J._Source(values, have)
    src_prov = J._Source(values, have, member_cluster=mc, deviation=dev, mean=0.0, sd=1.0)
    ctx = J._Context(n_ics, {"a": src_ics, "b": src_prov}, [], 1, ("a", "b"))
    draws = J._draw(ctx, rng, 5)
    for row in draws["a"]:
        assert np.isnan(row[[1, 4]]).all()
        assert sorted(row[have]) == pytest.approx(sorted(values[have]))
    for row, ics_row in zip(draws["b"], draws["a"], strict=True):
        shuffled = row - ics_row[mc]  # the deviations left after the permuted ICS means
        for g in np.unique(mc):
            assert sorted(shuffled[mc == g]) == pytest.approx(sorted(dev[mc == g]))


def test_provider_level_exposure_joint_test_and_between_part():
    mapped, metrics, gp = _design(G=25, per=12, seed=5)
    rng = np.random.default_rng(5)
    ids = mapped["provider_id"].to_list()
    latent_hi = mapped["rating"].to_physical().to_numpy() >= 3
    share = pl.DataFrame({"provider_id": ids,
                          "list_share": rng.normal(size=len(ids)) + 1.5 * latent_hi})  # fmt: skip
    cfg = JOINT_CFG.model_copy(update={"exposures": ("list_share",)})
    rows = analysis_rows(
        mapped, metrics, populations=cfg.populations, exposures=cfg.exposures,
        gp_practices=gp, provider_exposures=share,
    )  # fmt: skip
    res = effect_curve(rows, cfg, fit=sm_fit)
    assert set(res.curve["exposure_level"]) == {"provider"}
    assert res.curve["between"].null_count() == 0
    assert _joint(res)["stouffer_z"] == pytest.approx(1 / 200)


def test_results_are_identical_with_a_thread_pool():
    rows = _rows(JOINT_CFG, _design(beta=0.3, seed=9))
    alone = effect_curve(rows, JOINT_CFG, fit=sm_fit)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pooled = effect_curve(rows, JOINT_CFG, fit=sm_fit, executor=pool)
    assert alone.curve.equals(pooled.curve)
    assert alone.joint.equals(pooled.joint)
    other = effect_curve(rows, JOINT_CFG.model_copy(update={"seed": 8}), fit=sm_fit)
    assert not other.joint["p_value"].equals(alone.joint["p_value"])


def test_the_models_fitter_follows_the_interface():
    """Runs once ics_model.effects.models exists: the default fitter on a small design."""
    models = pytest.importorskip("ics_model.effects.models")
    assert set(models.MODELS) == set(MODEL_OUTCOME_KINDS)
    cfg = JOINT_CFG.model_copy(
        update={"controls": {"none": ()}, "periods": ("post_ics",), "permutations": 99,
                "models": tuple(MODEL_OUTCOME_KINDS)}
    )  # fmt: skip
    res = effect_curve(_rows(cfg, _design(G=20, per=30, beta=0.5, seed=4)), cfg)
    assert res.curve.height == 1 + 2 * 3  # ordinal x 1 model, binary x 3 models
    assert res.curve["estimate"].null_count() == 0, res.curve["note"].to_list()
    validate(res.curve, cc.SPECIFICATION_CURVE)


# ----------------------------------------------------------------------------- the chart


def test_chart_draws_both_periods_sorted_with_indicators():
    res = effect_curve(_rows(JOINT_CFG, _design(beta=0.3, seed=9)), JOINT_CFG, fit=sm_fit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = specification_curve(res.curve, footnote="synthetic data")
    fig = ax.figure
    assert len(fig.axes) == 2 and ax.get_yscale() == "log"
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(c.get_offsets().shape[0] for c in points) == res.curve.height
    post = res.curve.filter(pl.col("period") == "post_ics").sort("estimate")
    xs = np.concatenate([c.get_offsets()[:, 0] for c in points])
    ys = np.concatenate([c.get_offsets()[:, 1] for c in points])
    post_ys = ys[np.isclose(xs % 1, 0.85)]  # post-ICS markers sit left of each position
    order = np.argsort(xs[np.isclose(xs % 1, 0.85)])
    assert post_ys[order].tolist() == pytest.approx(post["estimate"].to_list())
    foot = fig.get_supxlabel()
    assert "Association, not causal" in foot and "synthetic data" in foot
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert "model: ordinal_logit" in labels and "controls: year" in labels
    plt.close(fig)
    fig2, given_ax = plt.subplots(layout="constrained")
    assert specification_curve(res.curve, ax=given_ax) is given_ax and len(fig2.axes) == 2
    plt.close(fig2)
    with pytest.raises(ValueError, match="needs columns"):
        specification_curve(res.curve.drop("ci_lower"))


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real():
    result = run(RunConfig.model_validate({"metrics": {"sii_repetitions": 1000}}))
    gp = cqc.read_gp_practices(SOURCES["cqc_gp_practices_2024"].path)
    return result, gp


def _real_rows(real, cfg):
    result, gp = real
    return analysis_rows(
        result.views.mapped,
        result.metrics.ics_metrics,
        populations=cfg.populations,
        exposures=cfg.exposures,
        gp_practices=gp,
        nof_trusts=result.metrics.nof_trusts,
        provider_exposures=result.metrics.provider_partnership,
    )


def test_real_default_curve(real):
    cfg = EffectCurveConfig()
    res = effect_curve(_real_rows(real, cfg), cfg, fit=sm_fit)
    acc = dict(res.accounts.select("outcome", "n_rows").rows())
    assert acc == {"used_post_ics": 718, "used_pre_ics": 4874, "published_in_ics_start_year": 570}
    c = res.curve
    assert c.height == 60 and c["n_clusters"].unique().to_list() == [42]
    main = c.filter((pl.col("outcome") == "outstanding") & (pl.col("model") == "glm_cluster"))
    pinned = {
        (r["exposure"], r["controls"], r["period"]): (r["n"], r["n_clusters"], r["n_events"])
        for r in main.iter_rows(named=True)
    }
    for exposure in ("self_containment", "n_partner_icss"):
        for controls in ("none", "year"):
            assert pinned[(exposure, controls, "post_ics")] == (718, 42, 5)
            assert pinned[(exposure, controls, "pre_ics")] == (4874, 42, 269)
        assert pinned[(exposure, "year_and_deprivation", "post_ics")] == (714, 42, 5)
        assert pinned[(exposure, "year_and_deprivation", "pre_ics")] == (4872, 42, 268)
    goo = c.filter((pl.col("outcome") == "good_or_outstanding") & (pl.col("controls") == "none"))
    assert sorted(set(zip(goo["period"], goo["n_events"], strict=True))) == [
        ("post_ics", 508),
        ("pre_ics", 4842),
    ]
    sc = c.filter(
        (pl.col("outcome") == "outstanding") & (pl.col("exposure") == "self_containment")
        & (pl.col("controls") == "none") & (pl.col("model") == "glm_cluster")
    )  # fmt: skip
    est = dict(zip(sc["period"], sc["estimate"], strict=True))
    assert est["post_ics"] == pytest.approx(0.711, abs=0.002)  # 5 events: a wide interval
    assert est["pre_ics"] == pytest.approx(1.154, abs=0.002)
    assert res.summary["n_specifications"].to_list() == [30, 30]
    assert set(res.placebo["verdict"]) <= set(VERDICTS) and res.placebo.height == 30
    assert res.joint.height == 6 and res.joint["n_excluded"].sum() == 0
    for frame, contract in [
        (c, cc.SPECIFICATION_CURVE),
        (res.skipped, cc.CURVE_SKIPPED),
        (res.summary, cc.CURVE_SUMMARY),
        (res.placebo, cc.CURVE_PLACEBO),
        (res.joint, cc.CURVE_JOINT),
        (res.accounts, cc.CURVE_ACCOUNTS),
    ]:
        validate(frame, contract)


def test_real_trusts_enter_the_placebo_only_and_nof_the_post_period_only(real):
    cfg = EffectCurveConfig(
        populations=("nhs_trust", "independent_healthcare", "nof_trust"),
        outcomes=("good_or_outstanding", "well_led_good_or_outstanding", "nof_segment_ordinal"),
        exposures=("self_containment", "home_system_share"),
        controls={"none": ()},
        models=("glm_cluster", "ordinal_logit"),
        permutations=99,
    )
    res = effect_curve(_real_rows(real, cfg), cfg, fit=sm_fit)
    acc = {(p, o): n for p, o, n in res.accounts.rows()}
    assert acc[("nhs_trust", "used_pre_ics")] == 188 and ("nhs_trust", "used_post_ics") not in acc
    assert acc[("independent_healthcare", "used_post_ics")] == 603
    assert acc[("independent_healthcare", "used_pre_ics")] == 855
    assert acc[("nof_trust", "used_post_ics")] == 150
    got = {
        (r["population"], r["outcome"], r["exposure"], r["period"]): (r["n"], r["n_clusters"])
        for r in res.curve.iter_rows(named=True)
    }
    assert got[("nhs_trust", "good_or_outstanding", "self_containment", "pre_ics")] == (188, 42)
    # 2018 trusts merged since have no home-system share in the 2026 flows
    assert got[("nhs_trust", "good_or_outstanding", "home_system_share", "pre_ics")] == (144, 42)
    assert got[("independent_healthcare", "good_or_outstanding", "self_containment",
                "post_ics")] == (603, 41)  # fmt: skip
    assert got[("nof_trust", "nof_segment_ordinal", "home_system_share", "post_ics")] == (134, 42)
    trusts_post = res.skipped.filter(
        (pl.col("population") == "nhs_trust") & (pl.col("period") == "post_ics")
        & pl.col("spec_id").is_not_null()
    )  # fmt: skip
    assert trusts_post.height > 0
    assert all("pre-ICS placebo period only" in r for r in trusts_post["reason"])
    assert res.curve.filter(pl.col("exposure") == "home_system_share")["between"].null_count() == 0


@pytest.mark.slow
def test_shipped_all_sectors_config_fits_every_population_in_its_periods():
    """configs/collaboration_all_sectors.yaml: GP practices in both periods, 2018 trusts in
    the placebo only (Overall and Well-led), independent providers in both, NOF trusts after
    ICSs began; provider-level exposures with their between-ICS part."""
    from ics_model.config import config_from_dict, config_to_dict, load_config
    from ics_model.data.bundled import configs_dir

    cfg = config_to_dict(load_config(configs_dir() / "collaboration_all_sectors.yaml"))
    cfg["effect"]["power"] = {"enabled": False}
    cfg["effect"]["curve"]["permutations"] = 99
    cfg["uncertainty"]["draws"] = 200
    curve = run(config_from_dict(cfg, source="all_sectors")).effect.curve
    c = curve.curve
    periods = {
        p: sorted(set(c.filter(pl.col("population") == p)["period"]))
        for p in c["population"].unique()
    }
    assert periods == {
        "gp_practice": ["post_ics", "pre_ics"],
        "nhs_trust": ["pre_ics"],
        "independent_healthcare": ["post_ics", "pre_ics"],
        "nof_trust": ["post_ics"],
    }
    trusts = c.filter(pl.col("population") == "nhs_trust")
    assert {"well_led_good_or_outstanding", "well_led_ordinal"} <= set(trusts["outcome"])
    gp_pcn = c.filter(
        (pl.col("population") == "gp_practice") & (pl.col("exposure") == "pcn_list_share")
    )
    assert gp_pcn.height > 0 and gp_pcn["between"].null_count() == 0
    assert c["estimate"].null_count() == 0
    assert curve.skipped.height > 0 and curve.skipped["reason"].null_count() == 0
    # the README's figures
    assert c.group_by("period").len().sort("period")["len"].to_list() == [99, 159]
    sig = c.filter(pl.col("p_value") < 0.05)
    assert (
        sig.filter(
            (pl.col("period") == "pre_ics") & (pl.col("exposure") == "pcn_list_share")
        ).height
        == 9
    )
    nof = c.filter(
        (pl.col("population") == "nof_trust") & (pl.col("exposure") == "home_system_share")
    )
    assert [round(v, 2) for v in nof.select("estimate", "ci_lower", "ci_upper").row(0)] == [
        0.64,
        0.42,
        0.96,
    ]
