import polars as pl
import pytest

from ics_model.rules import ics_modelled_ratings
from ics_model.rules.rulesets import get_rule_set
from ics_model.spec import ConfigError


def _view(rows):
    cols = ["icb_code", "n_outstanding", "n_good", "n_requires_improvement", "n_inadequate"]
    df = pl.DataFrame(rows, schema=cols, orient="row")
    return df.with_columns(
        pl.lit("gp_practice").alias("sector"),
        pl.lit("Overall").alias("key_question"),
        (
            pl.col("n_outstanding")
            + pl.col("n_good")
            + pl.col("n_requires_improvement")
            + pl.col("n_inadequate")
        ).alias("n_rated"),
    )


VIEW = _view(
    [
        ("QA", 30, 65, 5, 0),  # 30% O, 95% G/O, no I -> Outstanding; mean code 1.75 -> seg 2
        ("QB", 5, 80, 10, 5),  # 85% G/O, 5% I -> Good
        ("QC", 0, 70, 20, 10),  # 70% G/O, 10% I -> RI; 10% Inadequate caps segment at 3
        ("QD", 0, 40, 40, 20),  # 40% G/O but only 20% I -> RI (version 1: Inadequate)
        ("QE", 1, 1, 0, 0),  # 2 rated < min_rated 3 -> null with note
        ("QF", 0, 2, 1, 1),  # 25% Inadequate -> Inadequate (rule 3)
        ("QG", 0, 0, 3, 0),  # three trusts all RI -> RI, never Inadequate
        ("QH", 25, 74, 0, 1),  # 25% O, 99% G/O but one Inadequate -> Good, not Outstanding
    ]
)


def test_share_rule_set_by_hand():
    out = ics_modelled_ratings(VIEW, "ics_shares")
    got = dict(zip(out["icb_code"], out["modelled_ics_rating"], strict=True))
    assert got == {
        "QA": "Outstanding",
        "QB": "Good",
        "QC": "Requires improvement",
        "QD": "Requires improvement",
        "QE": None,
        "QF": "Inadequate",
        "QG": "Requires improvement",
        "QH": "Good",
    }
    rule = dict(zip(out["icb_code"], out["rule"], strict=True))
    assert rule["QF"] == "3: Inadequate" and rule["QG"] == "4: Requires improvement"
    worst = dict(zip(out["icb_code"], out["worst_provider_rating"], strict=True))
    assert worst["QA"] == "Requires improvement" and worst["QG"] == "Requires improvement"
    assert out.filter(pl.col("icb_code") == "QE")["note"][0] == "fewer than 3 rated providers"
    assert out.filter(pl.col("icb_code") != "QE")["note"].is_null().all()  # no floor needed
    assert out["label"].str.contains("modelled").all()
    assert set(out["rule_set"]) == {"ics_shares"}


#: version 1 of ics_shares (below 60% Good or Outstanding -> Inadequate), as a rule set
V1 = {
    "kind": "share_thresholds",
    "name": "v1",
    "rules": [
        {"rating": "Outstanding", "min_share_outstanding": 0.2,
         "min_share_good_or_outstanding": 0.9},
        {"rating": "Good", "min_share_good_or_outstanding": 0.8, "max_share_inadequate": 0.05},
        {"rating": "Requires improvement", "min_share_good_or_outstanding": 0.6},
        {"rating": "Inadequate"},
    ],
}  # fmt: skip


def test_the_floor_keeps_a_system_at_its_worst_provider():
    out = ics_modelled_ratings(VIEW, V1)
    qg = out.filter(pl.col("icb_code") == "QG").row(0, named=True)
    # three trusts all RI: rule 4 says Inadequate, the floor raises it to RI and says so
    assert qg["rule"] == "4: Inadequate"
    assert qg["modelled_ics_rating"] == "Requires improvement"
    assert qg["note"].startswith("raised from Inadequate (rule 4)")
    # QD has Inadequate providers: rule 4's Inadequate stands, no note
    qd = out.filter(pl.col("icb_code") == "QD").row(0, named=True)
    assert qd["modelled_ics_rating"] == "Inadequate" and qd["note"] is None
    off = ics_modelled_ratings(VIEW, {**V1, "floor_at_worst_provider": False})
    assert off.filter(pl.col("icb_code") == "QG")["modelled_ics_rating"][0] == "Inadequate"


def test_a_rule_may_go_below_the_worst_provider_only_explicitly():
    explicit = {
        **V1,
        "rules": [
            *V1["rules"][:3],
            {
                "rating": "Inadequate",
                "below_worst_provider": True,
                "rationale": "a test: below 60% Good or Outstanding is a system failure",
            },
        ],
    }
    out = ics_modelled_ratings(VIEW, explicit)
    qg = out.filter(pl.col("icb_code") == "QG").row(0, named=True)
    assert qg["modelled_ics_rating"] == "Inadequate"
    assert qg["note"] == (
        "below the worst rated provider (Requires improvement) by rule 4, which says so explicitly"
    )
    bare = {"rating": "Inadequate", "below_worst_provider": True}
    no_reason = {**explicit, "rules": [*V1["rules"][:3], bare]}
    with pytest.raises(ConfigError, match="must say why in its rationale"):
        get_rule_set(no_reason)


def test_segmentation_by_hand():
    out = ics_modelled_ratings(VIEW, "ics_nof_segments")
    seg = dict(zip(out["icb_code"], out["modelled_ics_segment"], strict=True))
    mean = dict(zip(out["icb_code"], out["mean_code"], strict=True))
    assert mean["QA"] == (30 + 2 * 65 + 3 * 5) / 100  # 1.75
    assert seg["QA"] == 2
    # QC: mean (140 + 60 + 40) / 100 = 2.4 -> segment 2, but 10% Inadequate caps at 3
    assert seg["QC"] == 3
    assert seg["QD"] == 3  # mean 2.8
    assert seg["QE"] is None


def test_quartile_segmentation_uses_national_quartiles():
    rs = {"kind": "segmentation", "name": "q", "method": "quartiles", "cap_share_inadequate": None}
    out = ics_modelled_ratings(VIEW, rs)
    seg = dict(zip(out["icb_code"], out["modelled_ics_segment"], strict=True))
    assert seg["QA"] == 1 and seg["QD"] == 4


# --------------------------------------------------------------------------- real data
_SCORE = {"Outstanding": 4, "Good": 3, "Requires improvement": 2, "Inadequate": 1}


@pytest.fixture(scope="module")
def trust_view():
    """The ICS view of the 2018 trust ratings with ambulance trusts in their host ICB (as
    when version 1 was assessed); sharing them does not change the distribution below."""
    from ics_model.config import RunConfig, with_overrides
    from ics_model.pipeline import run

    cfg = with_overrides(
        RunConfig(),
        {
            "mapping.ambulance": "host",
            "views.sectors": ["nhs_trust"],
            "metrics.enabled": False,
            "composite": None,
            "uncertainty": None,
            "scenarios": [],
            "effect.enabled": False,
        },
    )
    return run(cfg).views.ics_view.filter(pl.col("key_question") == "Overall")


def _below_worst(out):
    return out.filter(
        pl.col("modelled_ics_rating").replace_strict(_SCORE, default=None)
        < pl.col("worst_provider_rating").replace_strict(_SCORE, default=None)
    )


def test_version_1_made_systems_without_an_inadequate_trust_inadequate(trust_view):
    old = ics_modelled_ratings(trust_view, {**V1, "floor_at_worst_provider": False})
    inadequate = old.filter(pl.col("modelled_ics_rating") == "Inadequate")
    assert inadequate.height == 14
    assert _below_worst(old).height == 10  # 10 of them have no Inadequate trust
    # e.g. three trusts all rated Requires improvement
    all_ri = trust_view.filter((pl.col("n_rated") == 3) & (pl.col("n_requires_improvement") == 3))[
        "icb_code"
    ]
    assert all_ri.len() >= 1
    assert set(inadequate["icb_code"]) >= set(all_ri)


def test_ics_shares_on_the_2018_trusts_is_never_below_the_worst_trust(trust_view):
    out = ics_modelled_ratings(trust_view, "ics_shares")
    assert _below_worst(out).is_empty()
    dist = dict(out.group_by("modelled_ics_rating").len().iter_rows())
    assert dist == {"Good": 6, "Requires improvement": 24, "Inadequate": 2, None: 10}
    inadequate = out.filter(pl.col("modelled_ics_rating") == "Inadequate")
    assert (inadequate["worst_provider_rating"] == "Inadequate").all()
    assert set(inadequate["rule"]) == {"3: Inadequate"}
    # version 1's thresholds with the floor: never below; with the explicit rule: below, said
    floored = ics_modelled_ratings(trust_view, V1)
    assert _below_worst(floored).is_empty()
    assert floored["note"].str.starts_with("raised from Inadequate").sum() == 10
    below = {"rating": "Inadequate", "below_worst_provider": True, "rationale": "test"}
    explicit = {**V1, "rules": [*V1["rules"][:3], below]}
    fired = _below_worst(ics_modelled_ratings(trust_view, explicit))
    assert fired.height == 10 and fired["note"].str.contains("says so explicitly").all()
