import polars as pl

from ics_model.rules import ics_modelled_ratings


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
        ("QA", 30, 65, 5, 0),  # 30% O, 95% G/O -> Outstanding; mean code 1.75 -> seg 2
        ("QB", 5, 80, 10, 5),  # 85% G/O, 5% I -> Good
        ("QC", 0, 70, 20, 10),  # 70% -> RI; 10% Inadequate caps segment at 3
        ("QD", 0, 40, 40, 20),  # 40% -> Inadequate
        ("QE", 1, 1, 0, 0),  # 2 rated < min_rated 3 -> null with note
    ]
)


def test_share_rule_set_by_hand():
    out = ics_modelled_ratings(VIEW, "ics_shares")
    got = dict(zip(out["icb_code"], out["modelled_ics_rating"], strict=True))
    assert got == {
        "QA": "Outstanding",
        "QB": "Good",
        "QC": "Requires improvement",
        "QD": "Inadequate",
        "QE": None,
    }
    assert out.filter(pl.col("icb_code") == "QE")["note"][0] == "fewer than 3 rated providers"
    assert out["label"].str.contains("modelled").all()
    assert set(out["rule_set"]) == {"ics_shares"}


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
