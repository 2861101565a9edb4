"""NHS Oversight Framework 2025/26 segments: the reader and the placement (issue 14, part 1)."""

import polars as pl
import pytest

from ics_model.contracts import DataContractError
from ics_model.data import geography, ods
from ics_model.data.nof import NOF_SEGMENTS, read_nof_segments
from ics_model.data.sources import SOURCES
from ics_model.mapping.nof import place_nof
from ics_model.ratings import NOF_DOMAINS

HEADER = [
    "org_code", "org_name", "data_month", "Trust_type", "rating_overall",
    "overall_adjusted_segment", "overall_avg_metric_score", "lt_rank", "lt_segment",
    "lt_avg_score", "lt_in_deficit", "fin_in_deficit",
    *(f"domain_score_{d}" for d in NOF_DOMAINS),
    *(f"domain_segment_{d}" for d in NOF_DOMAINS),
]  # fmt: skip


def _write(tmp_path, rows):
    lines = [",".join(HEADER)] + [",".join(r) for r in rows]
    path = tmp_path / "nof.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _row(code, seg="3.0", score="2.5", deficit="1.0", rating="Good"):
    domains = ["2.2"] * 5 + ["2.0"] * 5
    return [code, f"Trust {code}", "2026-03", "Acute trust", rating, seg, score,
            "7", seg, score, deficit, deficit, *domains]  # fmt: skip


def test_reader_parses_segments_scores_and_flags(tmp_path):
    path = _write(tmp_path, [_row("RA1"), _row("RB1", seg="", score="", deficit="")])
    ld = read_nof_segments(path)
    assert ld.frame.columns == NOF_SEGMENTS.column_names
    a, b = ld.frame.sort("org_code").to_dicts()
    assert (a["adjusted_segment"], a["avg_metric_score"], a["league_rank"]) == (3, 2.5, 7)
    assert (a["in_deficit"], a["league_in_deficit"]) == (True, True)
    assert a["domain_segment_access"] == 2 and a["domain_score_patient_safety"] == 2.2
    assert b["adjusted_segment"] is None and b["in_deficit"] is None
    assert "rating_overall" not in ld.frame.columns  # one site's CQC rating: never read
    assert "lower is better" in ld.notes[0]


def test_reader_reports_every_bad_value_with_its_row(tmp_path):
    rows = [_row("RA1", seg="2.5"), _row("RB1", score="x"), _row("RC1", seg="6.0"),
            _row("RD1", deficit="maybe")]  # fmt: skip
    path = _write(tmp_path, rows)
    with pytest.raises(DataContractError) as err:
        read_nof_segments(path)
    msg = str(err.value)
    assert "8 violation(s) of contract 'nof_segments'" in msg
    for line in (
        "row 2, column 'adjusted_segment', value '2.5': not a whole number",
        "row 3, column 'avg_metric_score', value 'x': not a number",
        "row 4, column 'adjusted_segment', value '6': above the maximum 5",
        "row 5, column 'in_deficit', value 'maybe': not a deficit flag (expected 0 or 1)",
    ):
        assert line in msg
    lenient = read_nof_segments(path, mode="lenient")
    assert lenient.frame.height + lenient.quarantine["source_row"].n_unique() == 4
    assert lenient.frame.height == 0


def test_reader_names_a_missing_column(tmp_path):
    path = tmp_path / "nof.csv"
    path.write_text("org_code,org_name\nRA1,A\n")
    with pytest.raises(DataContractError, match="overall_adjusted_segment"):
        read_nof_segments(path)


def test_place_nof_places_open_english_trusts_and_reports_the_rest():
    frame = read_nof_segments().frame.head(0)
    base = {c: None for c in frame.columns}
    rows = [
        base | {"org_code": "RA1", "adjusted_segment": 2, "data_month": "2026-03", "source_row": 2},
        base | {"org_code": "RB1", "adjusted_segment": None, "data_month": "2026-03",
                "source_row": 3},
        base | {"org_code": "RC1", "adjusted_segment": 3, "data_month": "2026-03", "source_row": 4},
        base | {"org_code": "RD1", "adjusted_segment": 4, "data_month": "2026-03", "source_row": 5},
        base | {"org_code": "W01", "adjusted_segment": 1, "data_month": "2026-03", "source_row": 6},
    ]  # fmt: skip
    nof = pl.DataFrame(rows, schema=frame.schema)
    etr = pl.DataFrame(
        {
            "org_code": ["RA1", "RB1", "RC1", "W01"],
            "icb_code": ["QAA", "QAA", "QAA", None],
            "is_open": [True, True, False, True],
        }
    )
    icbs = pl.DataFrame({"icb_code": ["QAA"], "icb_gss": ["E54000001"], "icb_name": ["A ICB"]})
    out = place_nof(nof, etr, icbs)
    assert out.placed["org_code"].to_list() == ["RA1"]
    assert out.placed["icb_name"].to_list() == ["A ICB"]
    got = dict(zip(out.unplaced["org_code"], out.unplaced["reason"], strict=True))
    assert got == {
        "RB1": "no NOF segment in this extract",
        "RC1": "closed in ODS etr",
        "RD1": "not an NHS trust in ODS etr",
        "W01": "no host ICB in ODS etr (outside England)",
    }
    assert out.placed.height + out.unplaced.height == nof.height


@pytest.fixture(scope="module")
def reference():
    etr = ods.read_ods_trusts(SOURCES["ods_etr_2025"].path, vintage="2025").frame
    icbs = geography.read_icb_codes(SOURCES["icb_codes_2024"].path).frame
    succ = ods.read_ods_successors(SOURCES["ods_succ"].path).frame
    return etr, icbs, succ


def test_real_nof_extract_counts_and_placement(reference):
    ld = read_nof_segments()
    f = ld.frame
    assert (ld.n_input_rows, f.height, ld.quarantine.height) == (221, 221, 0)
    assert set(f["data_month"]) == {"2026-03"}
    seg = dict(f["adjusted_segment"].value_counts().rows())
    assert seg == {None: 71, 1: 26, 2: 13, 3: 73, 4: 38}  # PROVENANCE: 150 segmented
    league = f.filter(pl.col("league_rank").is_not_null())
    assert league.height == 129 and set(league["nhs_trust_type"]) == {"Acute trust"}
    # ranks of the published league table (ties share a rank): 95 distinct, 3 to 134
    ranks = league["league_rank"]
    assert (ranks.min(), ranks.max(), ranks.n_unique()) == (3, 134, 95)
    # PROVENANCE: no trust in segments 1-2 is flagged in deficit on the league table
    top = league.filter(pl.col("league_segment") <= 2)
    assert top["league_in_deficit"].sum() == 0 and top.height == 23
    etr, icbs, succ = reference
    out = place_nof(f, etr, icbs)
    assert (out.placed.height, out.placed["icb_code"].n_unique(), out.unplaced.height) == (
        150,
        42,
        71,
    )
    out26 = place_nof(f, etr, icbs, successors=succ, icb_vintage="2026")
    lost = out26.unplaced.filter(pl.col("adjusted_segment").is_not_null())
    assert out26.placed.height == 142 and out26.placed["icb_code"].n_unique() == 36
    assert lost.height == 8 and lost["reason"].str.contains("not guessed").all()
